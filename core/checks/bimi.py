"""BIMI (Brand Indicators for Message Identification): your logo beside your mail in the inbox.

- ``parse_bimi(text)`` parses a ``default._bimi`` TXT record; raises only ``BimiSyntaxError``.
- ``check_svg(data)`` checks a logo against the SVG Tiny Portable/Secure rules that matter; never raises.
- ``inspect_certificate(pem, domain)`` reads a VMC/CMC (PEM chain); raises only ``BimiCertError``.
- ``check(ctx)`` returns the "bimi" result: the record (at the domain, else at its organisational domain),
  the logo fetched over verified HTTPS, the mark certificate at ``a=`` and DMARC at enforcement.

The certificate's chain is not validated against the BIMI mark-certificate roots (we have no reviewed list
of them): presence, dates, the logotype extension and the names are checked.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, TypedDict

from ..context import CheckContext
from ..records.dmarc_build import build_record
from ..records.dmarc_walk import organizational_domain, tree_walk
from ..records.dmarc_parse import DmarcRecord
from ..dns.client import DnsAnswer
from ..net.https import HttpsError, fetch
from ..model import CheckResult, Finding, Fix, Severity, Status, derive_status

RFC = "draft-brand-indicators-for-message-identification"
RFC_SVG = "BIMI Group, SVG Tiny Portable/Secure (draft-svg-tiny-ps-abrotman)"
RFC_DMARC = "draft-brand-indicators-for-message-identification §4.3 (DMARC at enforcement); RFC 9989 §4.7"
SVG_NS = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
MAX_SVG = 32 * 1024  # the BIMI Group's recommended limit
FETCH_LIMIT = 512 * 1024  # we fetch more, to say how large it is
CERT_LIMIT = 256 * 1024
EXPIRY_WARN_DAYS = 30
LOGOTYPE_OID = "1.3.6.1.5.5.7.1.12"
FORBIDDEN = {"script": "a script", "foreignObject": "embedded foreign content (foreignObject)",
             "image": "an embedded image (<image>)", "animate": "animation", "animateColor": "animation",
             "animateMotion": "animation", "animateTransform": "animation", "set": "animation",
             "audio": "audio", "video": "video", "iframe": "an embedded page", "handler": "a script",
             "listener": "a script", "prefetch": "a reference to outside files (prefetch)",
             "discard": "animation", "filter": "filter effects (<filter>)"}

_VERSION_START = re.compile(r"v=BIMI1(?:[ \t]*;|[ \t]*\Z)")


class BimiSyntaxError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BimiCertError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class BimiRecord:
    raw: str
    logo: str | None  # None: no l= tag; "": l= left empty (declined)
    authority: str | None  # None: no a= tag; "": empty
    extensions: dict[str, str] = field(default_factory=dict)

    @property
    def declined(self) -> bool:
        return not self.logo and not self.authority


def is_bimi_record(text: str) -> bool:
    return _VERSION_START.match(text or "") is not None


def looks_like_bimi(text: str) -> bool:
    return re.match(r"\s*v\s*=\s*bimi", text or "", re.IGNORECASE) is not None


def _https(uri: str) -> bool:
    return re.match(r"https://[A-Za-z0-9.-]+(?::\d+)?(?:[/?#][\x21-\x7e]*)?\Z", uri) is not None


def parse_bimi(text: str) -> BimiRecord:
    """``"v=BIMI1; l=https://example.com/logo.svg; a=https://example.com/vmc.pem"`` → ``BimiRecord``."""
    if not isinstance(text, str):
        raise BimiSyntaxError("The record is not text.")
    fields = [f.strip(" \t") for f in text.split(";")]
    if fields and fields[-1] == "":
        fields.pop()
    if not fields or fields[0] != "v=BIMI1":
        raise BimiSyntaxError("The record must begin with exactly 'v=BIMI1' followed by ';'.")
    tags: dict[str, str] = {}
    for part in fields[1:]:
        name, sep, value = part.partition("=")
        name, value = name.strip(" \t").lower(), value.strip(" \t")
        if not sep or not re.match(r"[a-z][a-z0-9_]*\Z", name):
            raise BimiSyntaxError(f"'{part[:40]}' is not a 'tag=value' entry.")
        if name in tags or name == "v":
            raise BimiSyntaxError(f"The tag '{name}' appears more than once.")
        tags[name] = value
    logo, auth = tags.pop("l", None), tags.pop("a", None)
    if logo is None and auth is None:
        raise BimiSyntaxError("The record has no 'l=' tag with the address of your logo.")
    if logo:
        first = logo.split(",")[0].strip()
        if not _https(first):
            raise BimiSyntaxError(f"The logo address '{first[:80]}' must be a full https:// address.")
        logo = first
    if auth and not _https(auth):
        raise BimiSyntaxError(f"The certificate address '{auth[:80]}' must be a full https:// address.")
    return BimiRecord(text, logo, auth, tags)


def format_record(logo: str, authority: str | None) -> str:
    return f"v=BIMI1; l={logo};" + (f" a={authority};" if authority else "")


class BimiSvgDetail(TypedDict):
    """The logo file against the SVG Tiny PS rules (``SvgReport.to_json()``)."""

    size: int  # bytes
    profile_ok: bool
    problems: list[str]


class BimiCertDetail(TypedDict):
    """The mark certificate (VMC/CMC) as the BIMI card shows it (``CertInfo.to_json()``)."""

    subject: str
    not_before: str  # ISO 8601
    not_after: str
    logotype: bool  # carries the logotype extension with the logo
    names: list[str]


class BimiDetail(TypedDict):
    """``CheckResult.detail`` of the BIMI check (every key is always there; None: not reached)."""

    record: str | None
    record_host: str | None  # where the record was looked for (default._bimi.<domain>, or the org domain's)
    logo_url: str | None
    authority_url: str | None
    svg: BimiSvgDetail | None
    certificate: BimiCertDetail | None
    dmarc_enforced: bool | None  # None: not judged (no record, or DMARC couldn't be looked up)


def _empty_detail() -> BimiDetail:
    return {"record": None, "logo_url": None, "authority_url": None, "svg": None, "certificate": None,
            "dmarc_enforced": None, "record_host": None}


# -- the logo --------------------------------------------------------------------------------------


@dataclass
class SvgReport:
    size: int
    profile_ok: bool
    problems: list[str] = field(default_factory=list)
    too_large: bool = False

    def to_json(self) -> BimiSvgDetail:
        return {"size": self.size, "profile_ok": self.profile_ok, "problems": list(self.problems)}


def _local(tag: Any) -> str:
    return tag.split("}", 1)[1] if isinstance(tag, str) and tag.startswith("{") else str(tag)


def check_svg(data: bytes) -> SvgReport:
    """The SVG Tiny PS rules that decide whether mailbox providers show the logo. Never raises."""
    from xml.etree.ElementTree import Element

    import defusedxml.ElementTree as SafeET

    problems: list[str] = []
    size = len(data)
    try:
        root: Element = SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except Exception as exc:
        return SvgReport(size, False, [f"The file is not a readable SVG image ({type(exc).__name__})."],
                         size > MAX_SVG)
    if root.tag != SVG_NS + "svg":
        problems.append("The file is not an SVG image (its top element is not <svg> in the SVG namespace).")
    if root.get("baseProfile") != "tiny-ps":
        problems.append('The <svg> element must say baseProfile="tiny-ps" (the SVG Tiny Portable/Secure profile).')
    if root.get("version") != "1.2":
        problems.append('The <svg> element must say version="1.2".')
    if root.get("x") is not None or root.get("y") is not None:
        problems.append("The <svg> element must not have x or y attributes.")
    title = next((c for c in list(root) if c.tag == SVG_NS + "title"), None)
    if title is None or not (title.text or "").strip():
        problems.append("The image needs a <title> with your brand name, directly inside <svg>.")
    box = (root.get("viewBox") or "").replace(",", " ").split()
    try:
        nums = [float(x) for x in box]
    except ValueError:
        nums = []
    if len(nums) != 4 or nums[2] <= 0 or nums[3] <= 0:
        problems.append("The <svg> element needs a viewBox (for example viewBox=\"0 0 100 100\").")
    elif abs(nums[2] - nums[3]) > 1e-9 * max(nums[2], nums[3]):
        problems.append(f"The image must be square; its viewBox is {nums[2]:g} wide and {nums[3]:g} high.")
    found: set[str] = set()
    external = False
    handlers = False
    for el in root.iter():
        name = _local(el.tag)
        if name in FORBIDDEN:
            found.add(FORBIDDEN[name])
        for attr, value in el.attrib.items():
            a = _local(attr)
            if a.lower().startswith("on"):
                handlers = True
            if (attr == XLINK_HREF or a == "href") and not value.strip().startswith("#"):
                external = True
            if re.search(r"url\(\s*['\"]?\s*(?:https?:|//|data:)", value, re.IGNORECASE):
                external = True
        if name == "style" and re.search(r"(?:@import|url\(\s*['\"]?\s*(?:https?:|//))", el.text or "", re.I):
            external = True
    if "a script" in found or handlers:
        problems.append("The image contains scripts, which are not allowed.")
        found.discard("a script")
    if external:
        problems.append("The image refers to outside files or web addresses; everything must be inside the file.")
    for what in sorted(found):
        problems.append(f"The image contains {what}, which is not allowed.")
    profile_ok = not problems
    too_large = size > MAX_SVG
    if too_large:
        problems.append(f"The file is {size / 1024:.1f} KB; keep it under {MAX_SVG // 1024} KB.")
    return SvgReport(size, profile_ok, problems, too_large)


# -- the mark certificate ---------------------------------------------------------------------------


@dataclass
class CertInfo:
    subject: str
    not_before: dt.datetime
    not_after: dt.datetime
    logotype: bool
    names: list[str]
    chain_length: int

    def to_json(self) -> BimiCertDetail:
        return {"subject": self.subject, "not_before": self.not_before.isoformat(),
                "not_after": self.not_after.isoformat(), "logotype": self.logotype, "names": list(self.names)}


def inspect_certificate(pem: bytes) -> CertInfo:
    """The first certificate of a PEM chain (the mark certificate itself). Raises only ``BimiCertError``."""
    from cryptography import x509

    try:
        certs = x509.load_pem_x509_certificates(pem)
    except Exception as exc:
        raise BimiCertError(f"The file is not a PEM certificate chain ({exc.__class__.__name__}).") from None
    if not certs:
        raise BimiCertError("The file contains no certificate.")
    leaf = certs[0]
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n).lower().rstrip(".") for n in san.get_values_for_type(x509.DNSName)]
    except (x509.ExtensionNotFound, ValueError):
        names = []
    try:
        logotype = any(e.oid.dotted_string == LOGOTYPE_OID for e in leaf.extensions)
        subject = leaf.subject.rfc4514_string()
    except ValueError:
        logotype, subject = False, ""
    return CertInfo(subject, leaf.not_valid_before_utc, leaf.not_valid_after_utc, logotype, names, len(certs))


# -- the check -------------------------------------------------------------------------------------


def _f(code: str, sev: Severity, message: str, detail: str = "", rfc: str = RFC, fix: Fix | None = None) -> Finding:
    return Finding(f"bimi.{code}", sev, message, detail=detail, rfc=rfc, fix=fix)


@dataclass
class _State:
    domain: str
    findings: list[Finding] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    detail: BimiDetail = field(default_factory=_empty_detail)


def _candidates(ans: DnsAnswer) -> list[str]:
    return [t for t in ans.txt if is_bimi_record(t) or looks_like_bimi(t)] if ans.ok else []


async def check(ctx: CheckContext) -> CheckResult:
    loop = asyncio.get_running_loop()
    started = loop.time()
    domain = ctx.domain.rstrip(".").lower()
    st = _State(domain)
    status = await _run(ctx, st)
    result = CheckResult("bimi", status, _summary(st, status), st.records, st.findings, dict(st.detail))
    result.elapsed_ms = (loop.time() - started) * 1000
    return result


async def _run(ctx: CheckContext, st: _State) -> Status:
    ans, walk = await asyncio.gather(ctx.dns.query(f"default._bimi.{st.domain}", "TXT"), tree_walk(ctx.dns, st.domain))
    host = f"default._bimi.{st.domain}"
    if ans.failed:
        st.findings.append(_f("lookup-failed", Severity.UNKNOWN, "We couldn't look up your BIMI record, so we don't "
                              "know whether it is set up.", f"{host} TXT: {ans.describe}"))
        return Status.ERROR
    found = _candidates(ans)
    org = organizational_domain(walk) if walk.failed is None else st.domain
    if not found and org != st.domain:
        org_ans = await ctx.dns.query(f"default._bimi.{org}", "TXT")
        if org_ans.failed:
            st.findings.append(_f("lookup-failed", Severity.UNKNOWN, "We couldn't look up the BIMI record of "
                                  f"{org}, so we don't know whether it applies to you.",
                                  f"default._bimi.{org} TXT: {org_ans.describe}"))
            return Status.ERROR
        if _candidates(org_ans):
            found, host = _candidates(org_ans), f"default._bimi.{org}"
    st.records = list(found)
    if not found:
        st.findings.append(_f(
            "not-published", Severity.INFO, "BIMI is not set up. It is optional: it lets some mailbox providers show "
            "your logo beside your messages, and needs DMARC at quarantine or reject first.",
            f"{host}: {ans.describe}"))
        return Status.INFO
    record_domain = host.split("._bimi.", 1)[1]
    st.detail["record_host"] = host
    if len(found) > 1:
        fix = None
        usable: list[BimiRecord] = []
        for t in sorted(found):
            try:
                usable.append(parse_bimi(t))
            except BimiSyntaxError:
                continue
        usable = [u for u in usable if u.logo]
        if usable:  # keep the most complete one (with a certificate); the user can pick another
            best = max(usable, key=lambda u: bool(u.authority))
            fix = Fix(host, "TXT", format_record(best.logo or "", best.authority or None), action="replace",
                      note="This keeps the record with a certificate (if any); keep another one instead if that "
                           "is the logo you want.")
        st.findings.append(_f("multiple-records", Severity.ERROR, "You have more than one BIMI record, so mailbox "
                              "providers ignore all of them. Keep exactly one.",
                              f"{host} has {len(found)} v=BIMI1 records", fix=fix))
        await _dmarc(st, walk, record_domain)
        return derive_status(st.findings)
    st.detail["record"] = found[0]
    try:
        rec = parse_bimi(found[0])
    except BimiSyntaxError as exc:
        st.findings.append(_f("record-invalid", Severity.ERROR, f"Your BIMI record is written wrongly, so mailbox "
                              f"providers ignore it: {exc.message}", f"{host} TXT \"{found[0][:200]}\"",
                              fix=_repair(host, found[0])))
        await _dmarc(st, walk, record_domain)
        return derive_status(st.findings)
    st.detail["logo_url"] = rec.logo or None
    st.detail["authority_url"] = rec.authority or None
    if rec.declined:
        st.findings.append(_f("declined", Severity.INFO, "Your BIMI record says you choose not to show a logo "
                              "(its l= and a= are empty).", f"{host} TXT \"{found[0]}\""))
        return Status.INFO
    logo: list[Finding] = []
    cert: list[Finding] = []
    await asyncio.gather(_logo(ctx, st, rec, logo), _certificate(ctx, st, rec, record_domain, cert))
    st.findings += logo + cert  # a stable order, whichever fetch finished first
    await _dmarc(st, walk, record_domain)
    return derive_status(st.findings)


def _repair(host: str, text: str) -> Fix | None:
    logo = re.search(r"\bl\s*=\s*(https://[^;,\s]+)", text, re.IGNORECASE)
    auth = re.search(r"\ba\s*=\s*(https://[^;,\s]+)", text, re.IGNORECASE)
    if not logo or not _https(logo.group(1)):
        return None
    value = format_record(logo.group(1), auth.group(1) if auth and _https(auth.group(1)) else None)
    try:
        parse_bimi(value)
    except BimiSyntaxError:
        return None
    return Fix(host, "TXT", value, action="replace")


def _fetch_finding(kind: str, what: str, exc: HttpsError) -> Finding:
    if exc.couldnt_check:
        return _f(f"{kind}-unreachable", Severity.UNKNOWN, f"We couldn't fetch your {what}: {exc.message}",
                  f"GET {exc.url}: {exc.detail}")
    return _f(f"{kind}-fetch-failed", Severity.ERROR, f"Mailbox providers can't fetch your {what}: {exc.message}",
              f"GET {exc.url}: {exc.detail}")


async def _logo(ctx: CheckContext, st: _State, rec: BimiRecord, out: list[Finding]) -> None:
    if not rec.logo:
        out.append(_f("no-logo", Severity.ERROR, "Your BIMI record has no logo address (l= is empty).",
                              f"l= is empty in \"{rec.raw}\""))
        return
    try:
        resp = await fetch(ctx, rec.logo, max_bytes=FETCH_LIMIT, max_redirects=3, accept="image/svg+xml")
    except HttpsError as exc:
        out.append(_fetch_finding("logo", "logo", exc))
        return
    if resp.content_type not in ("image/svg+xml", "image/svg+xml-compressed") and resp.content_type:
        out.append(_f("logo-content-type", Severity.WARNING, f"Your logo is served as "
                              f"'{resp.content_type}' instead of image/svg+xml; some providers may not accept it.",
                              f"Content-Type: {resp.headers.get('content-type')}", RFC_SVG))
    report = check_svg(resp.body)
    st.detail["svg"] = report.to_json()
    if not report.profile_ok:
        out.append(_f("svg-invalid", Severity.ERROR, "Your logo file doesn't follow the SVG Tiny PS rules "
                              "that mailbox providers require: " + " ".join(p for p in report.problems
                                                                             if "KB;" not in p),
                              "; ".join(report.problems), RFC_SVG))
    if report.too_large:
        out.append(_f("svg-too-large", Severity.WARNING, f"Your logo file is {report.size / 1024:.1f} KB; "
                              f"keep it under {MAX_SVG // 1024} KB, as mailbox providers may refuse larger ones.",
                              f"{report.size} bytes", RFC_SVG))


async def _certificate(ctx: CheckContext, st: _State, rec: BimiRecord, record_domain: str,
                       out: list[Finding]) -> None:
    if not rec.authority:
        out.append(_f(
            "no-certificate", Severity.WARNING, "Your BIMI record has no mark certificate (a=). Gmail and Apple "
            "Mail show logos only with a Verified Mark Certificate (VMC) or Common Mark Certificate (CMC), bought "
            "from a certificate authority; without one your logo appears at few providers.",
            f"no a= URL in \"{rec.raw}\""))
        return
    try:
        resp = await fetch(ctx, rec.authority, max_bytes=CERT_LIMIT, max_redirects=3)
    except HttpsError as exc:
        out.append(_fetch_finding("certificate", "mark certificate", exc))
        return
    try:
        info = inspect_certificate(resp.body)
    except BimiCertError as exc:
        out.append(_f("certificate-invalid", Severity.ERROR, f"The file at your certificate address "
                              f"isn't a mark certificate: {exc.message}", f"GET {rec.authority}"))
        return
    st.detail["certificate"] = info.to_json()
    now = dt.datetime.now(dt.timezone.utc)
    day = info.not_after.date().isoformat()
    if info.not_after < now:
        out.append(_f("certificate-expired", Severity.ERROR, f"Your mark certificate expired on {day}, so "
                              "providers stop showing your logo. Renew it with your certificate authority.",
                              f"notAfter {info.not_after.isoformat()}"))
    elif info.not_before > now:
        out.append(_f("certificate-not-yet-valid", Severity.ERROR, "Your mark certificate is not valid "
                              f"yet (it starts on {info.not_before.date().isoformat()}).",
                              f"notBefore {info.not_before.isoformat()}"))
    elif info.not_after - now < dt.timedelta(days=EXPIRY_WARN_DAYS):
        out.append(_f("certificate-expiring", Severity.WARNING, f"Your mark certificate expires on {day}; "
                              "renew it soon so your logo keeps showing.", f"notAfter {info.not_after.isoformat()}"))
    if not info.logotype:
        out.append(_f("certificate-no-logotype", Severity.ERROR, "The certificate at your a= address has no "
                              "logo inside, so it is not a mark certificate (VMC or CMC); it may be an ordinary "
                              "web certificate.", f"no extension {LOGOTYPE_OID} (logotype, RFC 3709)",
                              "RFC 3709; BIMI VMC guidelines"))
    if record_domain not in info.names:
        shown = ", ".join(info.names[:6]) or "no domain names"
        out.append(_f("certificate-name-mismatch", Severity.ERROR, f"Your mark certificate is for {shown}, "
                              f"not for {record_domain}, so providers won't use it for your mail.",
                              f"subjectAltName dNSName: {info.names}"))


async def _dmarc(st: _State, walk: Any, record_domain: str) -> None:
    own = walk.found[0] if walk.found and walk.found[0].name == st.domain else None
    if walk.failed is not None and own is None:
        st.findings.append(_f("dmarc-lookup-failed", Severity.UNKNOWN, "We couldn't look up your DMARC record, so "
                              "we couldn't tell whether BIMI can work.", f"{walk.failed.query}: "
                              f"{walk.failed.answer.describe}", RFC_DMARC))
        return
    found = walk.found
    rec: DmarcRecord | None = found[0].record if found else None
    name = found[0].name if found else organizational_domain(walk)
    policy = rec.policy_for(subdomain=found[0].name != st.domain) if rec is not None else None
    pct = rec.historic.get("pct") if rec is not None else None
    reasons: list[str] = []
    if rec is None:
        reasons.append("you have no DMARC record")
    elif policy not in ("quarantine", "reject"):
        reasons.append(f"your DMARC policy is '{policy or 'none'}' (it must be quarantine or reject)")
    if rec is not None and rec.testing:
        reasons.append("your DMARC record is in testing mode (t=y)")
    if pct is not None and pct.strip() != "100":
        reasons.append(f"your DMARC record applies to only {pct.strip()}% of mail (pct={pct.strip()})")
    if rec is not None and name == st.domain and rec.sp == "none":
        reasons.append("your DMARC record exempts subdomains (sp=none)")
    enforced = not reasons
    st.detail["dmarc_enforced"] = enforced
    if enforced:
        return
    value, notes = build_record(name, "quarantine", rec, keep_sub_policies=rec is None or rec.sp != "none")
    fix = Fix(f"_dmarc.{name}", "TXT", value, action="replace" if rec is not None else "publish",
              note=" ".join(["Move to quarantine only once your DMARC reports show that all your real mail passes.",
                             *notes]))
    st.findings.append(_f("dmarc-not-enforced", Severity.ERROR, "Mailbox providers show BIMI logos only for "
                          "domains whose DMARC policy is at enforcement, but " + "; ".join(reasons) + ".",
                          f"DMARC at {name}: {rec.raw if rec else '(none)'}", RFC_DMARC, fix))


def _summary(st: _State, status: Status) -> str:
    codes = {f.code for f in st.findings}
    if "bimi.not-published" in codes:
        return "BIMI (your logo in the inbox) is not set up (optional)."
    if "bimi.declined" in codes:
        return "BIMI is published to say you show no logo."
    if status == Status.ERROR:
        return "We couldn't check BIMI."
    if status == Status.FAIL:
        return "BIMI is published but your logo won't show yet."
    if status == Status.PASS:
        return "BIMI is set up: your logo, certificate and DMARC policy are in order."
    return "BIMI is set up, with points to improve."
