"""MTA-STS (RFC 8461): tells sending mail servers to insist on an encrypted, verified connection.

The record and the policy file are read by ``records.mta_sts`` (``parse_sts_record``, ``parse_policy``,
``mx_matches``); ``check(ctx)`` returns the "mta_sts" result.

The policy file to host is not a DNS record, so it is not a ``Fix``: it is given in
``detail["policy_fix"]`` (``StsPolicyFix``: url, content_type, text, and the ``_mta-sts`` record with a new id
to publish once the file is reachable) and the findings' messages point to it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TypedDict

from ..context import CheckContext
from ..dns.client import DnsAnswer
from ..model import CheckResult, Finding, Fix, Severity, Status, derive_status
from ..net.https import HttpsError, HttpsErrorKind, fetch
from ..records.mta_sts import (
    StsPolicy, StsPolicyDetail, StsRecord, StsSyntaxError, broad_pattern, format_policy, is_sts_record,
    looks_like_sts, mx_matches, new_id, parse_policy, parse_sts_record,
)
from ..records.mx import MxParseError, parse_mx
from .posture import receives_no_mail

RFC = "RFC 8461"
RFC_TXT = "RFC 8461 §3.1"
RFC_POLICY = "RFC 8461 §3.2"
RFC_FETCH = "RFC 8461 §3.3"
RFC_MATCH = "RFC 8461 §4.1"
MAX_POLICY_BYTES = 64 * 1024
MAX_AGE_SHORT = 86400  # below a day, a cached policy protects little
MAX_AGE_SUGGESTED = 604800  # one week
POLICY_PATH = "/.well-known/mta-sts.txt"


# -- the check -------------------------------------------------------------------------------------


class StsMxHostDetail(TypedDict):
    """One mail server (MX) against the policy's mx patterns."""

    host: str
    matched: bool
    pattern: str | None  # the pattern that covers it, or None


class StsPolicyFix(TypedDict):
    """The policy file to host (a file on the web server, not a DNS record), and the ``_mta-sts`` TXT record
    to publish once it is reachable: a new ``id``, without which senders that remember the old policy never
    fetch the new file (RFC 8461 §3.1, §5.1)."""

    url: str
    content_type: str
    text: str
    record_host: str  # _mta-sts.<domain>
    record: str  # v=STSv1; id=<new>;


class _MtaStsDetailSometimes(TypedDict, total=False):
    # a TypedDict base, not NotRequired: Python 3.11 can't see NotRequired in postponed annotations
    not_needed: str  # why MTA-STS doesn't apply (the domain receives no mail)


class MtaStsDetail(_MtaStsDetailSometimes):
    """``CheckResult.detail`` of the MTA-STS check (every key is always there, except ``not_needed``)."""

    record: str | None  # the _mta-sts TXT record
    id: str | None  # its id=
    policy_url: str
    policy: StsPolicyDetail | None  # the policy file as read; None: not fetched
    policy_text: str | None  # the file as served
    mx_hosts: list[StsMxHostDetail]
    policy_fix: StsPolicyFix | None  # the file to host instead (or first)


def _f(code: str, sev: Severity, message: str, detail: str = "", rfc: str = RFC, fix: Fix | None = None) -> Finding:
    return Finding(f"mta_sts.{code}", sev, message, detail=detail, rfc=rfc, fix=fix)


@dataclass
class _State:
    domain: str
    detail: MtaStsDetail
    findings: list[Finding] = field(default_factory=list)
    records: list[str] = field(default_factory=list)


def _mx_hosts(ans: DnsAnswer) -> list[str]:
    recs = []
    for r in ans.records if ans.ok else ():
        try:
            recs.append(parse_mx(r))
        except MxParseError:
            continue
    hosts: list[str] = []
    for rec in sorted(recs, key=lambda m: (m.preference, m.host)):
        if not rec.null and rec.host not in hosts:
            hosts.append(rec.host)
    return hosts


async def check(ctx: CheckContext) -> CheckResult:
    loop = asyncio.get_running_loop()
    started = loop.time()
    domain = ctx.domain.rstrip(".").lower()
    url = f"https://mta-sts.{domain}{POLICY_PATH}"
    st = _State(domain, {"record": None, "id": None, "policy_url": url, "policy": None, "policy_text": None,
                         "mx_hosts": [], "policy_fix": None})
    txt_ans, mx_ans = await asyncio.gather(ctx.dns.query(f"_mta-sts.{domain}", "TXT"), ctx.dns.query(domain, "MX"))
    status = await _run(ctx, st, txt_ans, mx_ans, url)
    result = CheckResult("mta_sts", status, _summary(st, status), st.records, st.findings, dict(st.detail))
    result.elapsed_ms = (loop.time() - started) * 1000
    return result


async def _run(ctx: CheckContext, st: _State, txt_ans: DnsAnswer, mx_ans: DnsAnswer, url: str) -> Status:
    host = f"_mta-sts.{st.domain}"
    if txt_ans.failed:
        st.findings.append(_f("lookup-failed", Severity.UNKNOWN, "We couldn't look up your MTA-STS record, so we "
                              "don't know whether it is set up.", f"{host} TXT: {txt_ans.describe}", RFC_TXT))
        return Status.ERROR
    # §3.1: senders discard the TXT records that don't begin with "v=STSv1;" and need exactly one left; a
    # look-alike (another case, no ';') is judged on its own only when there is no proper record beside it
    strict = [t for t in txt_ans.txt if is_sts_record(t)]
    ignored = [t for t in txt_ans.txt if not is_sts_record(t) and looks_like_sts(t)]
    candidates = strict or ignored
    st.records = strict + ignored
    mx_hosts = _mx_hosts(mx_ans)
    no_inbox = receives_no_mail(st.domain, mx_ans)
    if not candidates and no_inbox:
        # MTA-STS protects mail delivered to the domain: there is none
        st.findings.append(_f(
            "not-needed", Severity.INFO, f"MTA-STS doesn't apply: {no_inbox}. It protects mail delivered to a "
            "domain, so there is nothing to set up here.", f"{host}: {txt_ans.describe}", RFC_TXT))
        st.detail["not_needed"] = no_inbox
        return Status.INFO
    if not candidates:
        st.findings.append(_f(
            "not-published", Severity.INFO, "MTA-STS is not set up. It is optional: it makes other mail services "
            "insist on an encrypted connection when they deliver to you, which stops eavesdroppers from reading "
            "or redirecting your incoming mail.",
            f"{host} has no TXT record beginning with v=STSv1 ({txt_ans.describe}). To set it up, host the policy "
            f"file shown here at {url}, then publish the TXT record.", RFC_TXT))
        if mx_hosts:
            _suggest_policy(st, url, None, mx_hosts)
        return Status.INFO
    fix_record = Fix(host, "TXT", f"v=STSv1; id={new_id()};", action="replace",
                     note="Change the id every time you change the policy file, so senders fetch it again.")
    if strict:
        for t in ignored:
            st.findings.append(_f(
                "record-ignored", Severity.WARNING, f"Sending servers ignore the TXT record '{t[:80]}' at {host}: "
                "it doesn't begin with exactly 'v=STSv1;'. They use your other MTA-STS record, so this one "
                "changes nothing (an id written there is never seen); delete it so that the next change goes "
                "into the record that counts.", f"{host} TXT \"{t[:200]}\"", RFC_TXT,
                Fix(host, "TXT", t, action="remove", note="The record sending servers ignore; keep the other one.")))
    rec: StsRecord | None = None
    if len(candidates) > 1:
        st.findings.append(_f(
            "multiple-records", Severity.ERROR, "You have more than one MTA-STS record, so sending servers ignore "
            "all of them and MTA-STS is off. Keep exactly one.",
            f"{host} has {len(candidates)} v=STSv1 TXT records; §3.1 requires exactly one.", RFC_TXT, fix_record))
    else:
        st.detail["record"] = candidates[0]
        try:
            rec = parse_sts_record(candidates[0])
            st.detail["id"] = rec.id
        except StsSyntaxError as exc:
            st.findings.append(_f(
                "record-invalid", Severity.ERROR, f"Your MTA-STS record is written wrongly, so sending servers ignore "
                f"it: {exc.message}", f"{host} TXT \"{candidates[0][:200]}\"", RFC_TXT, fix_record))
    policy = await _fetch_policy(ctx, st, url)
    if mx_ans.failed:
        st.findings.append(_f("mx-lookup-failed", Severity.UNKNOWN, "We couldn't look up your mail servers (MX), "
                              "so we couldn't compare them with the policy.", f"{st.domain} MX: {mx_ans.describe}",
                              RFC_MATCH))
    if policy is None:
        if mx_hosts:
            _suggest_policy(st, url, None, mx_hosts)
        st.detail["mx_hosts"] = [{"host": h, "matched": False, "pattern": None} for h in mx_hosts]
        return derive_status(st.findings)
    _policy_findings(st, policy, url, mx_hosts, mx_ans)
    return derive_status(st.findings)


async def _fetch_policy(ctx: CheckContext, st: _State, url: str) -> StsPolicy | None:
    where = f"mta-sts.{st.domain}"
    try:
        resp = await fetch(ctx, url, max_bytes=MAX_POLICY_BYTES, max_redirects=0, accept="text/plain")
    except HttpsError as exc:
        st.findings.append(_fetch_finding(exc, where, url))
        return None
    text = resp.text()
    st.detail["policy_text"] = text
    if resp.content_type != "text/plain":
        st.findings.append(_f(
            "policy-content-type", Severity.ERROR, f"The policy file is served as "
            f"'{resp.content_type or 'no type'}' instead of plain text, so sending servers may reject it. Set the "
            "web server to send it as text/plain.", f"Content-Type: {resp.headers.get('content-type', '(none)')}",
            RFC_POLICY))
    pol = parse_policy(text)
    st.detail["policy"] = pol.to_json()
    return pol


def _fetch_finding(exc: HttpsError, where: str, url: str) -> Finding:
    k = exc.kind
    detail = f"GET {url}: {exc.detail or exc.message}"
    if k.couldnt_check:
        return _f("policy-unreachable", Severity.UNKNOWN, f"We couldn't fetch your MTA-STS policy file: "
                  f"{exc.message}", detail, RFC_FETCH)
    if k == HttpsErrorKind.NO_ADDRESS:
        return _f("policy-host-missing", Severity.ERROR, f"The web name {where} doesn't exist, so the MTA-STS "
                  f"policy can't be fetched. Ask your web or mail provider to host the policy file at {url} and "
                  f"create {where} in DNS pointing to it.", detail, RFC_FETCH)
    if k.certificate or k == HttpsErrorKind.TLS:
        return _f("policy-certificate", Severity.ERROR, f"Sending servers won't accept your MTA-STS policy: "
                  f"{exc.message}", detail, RFC_FETCH)
    if k == HttpsErrorKind.REDIRECT:
        return _f("policy-redirect", Severity.ERROR, "The policy address redirects to another page. Sending "
                  f"servers must not follow redirects, so the file has to be served directly at {url}.", detail,
                  RFC_FETCH)
    if k == HttpsErrorKind.TOO_LARGE:
        return _f("policy-too-large", Severity.ERROR, f"The MTA-STS policy file is too large: {exc.message}",
                  detail, RFC_FETCH)
    if k in (HttpsErrorKind.NOT_FOUND, HttpsErrorKind.HTTP_STATUS):
        return _f("policy-not-found", Severity.ERROR, f"Your MTA-STS record is published but the policy file is "
                  f"missing: {exc.message} Host the policy file shown here at {url}.", detail, RFC_FETCH)
    return _f("policy-unreadable", Severity.ERROR, f"The MTA-STS policy file could not be read: {exc.message}",
              detail, RFC_FETCH)


def _policy_findings(st: _State, pol: StsPolicy, url: str, mx_hosts: list[str], mx_ans: DnsAnswer) -> None:
    if pol.errors:
        st.findings.append(_f(
            "policy-invalid", Severity.ERROR, "Your MTA-STS policy file has mistakes, so sending servers ignore it: "
            + " ".join(pol.errors[:4]) + " The corrected file is shown here.", "; ".join(pol.errors), RFC_POLICY))
    for w in pol.warnings:
        st.findings.append(_f("policy-duplicate-field", Severity.WARNING, w, "", RFC_POLICY))
    for p in pol.mx:
        if broad_pattern(p):
            st.findings.append(_f(
                "mx-pattern-broad", Severity.WARNING, f"The policy's 'mx: {p}' accepts any mail server whose name "
                f"is one label under .{p[2:]}, including servers that aren't yours, so it barely limits where mail "
                "for you may be delivered. List your own mail servers' names (or a '*.' pattern under your own "
                "domain) instead, as the corrected file shown here does.", f"mx: {p} (RFC 8461 §3.2 allows it; §4.1: '*' matches one label)", RFC_POLICY))
    if pol.max_age is not None and pol.max_age < MAX_AGE_SHORT and pol.mode != "none":
        st.findings.append(_f(
            "max-age-short", Severity.WARNING, f"Sending servers are told to remember your policy for only "
            f"{pol.max_age} seconds, so it protects little between visits. Use at least a week "
            f"({MAX_AGE_SUGGESTED} seconds).",
            f"max_age: {pol.max_age}; §3.2 recommends weeks or more", RFC_POLICY))
    if pol.mode == "testing":
        st.findings.append(_f(
            "mode-testing", Severity.INFO, "MTA-STS is in testing mode: problems are only reported, and mail is "
            "still delivered without encryption if needed. Once the TLS reports show no failures, change the "
            "mode to enforce (and change the id in the TXT record).", "mode: testing", RFC_POLICY))
    elif pol.mode == "none":
        st.findings.append(_f(
            "mode-none", Severity.INFO, "The MTA-STS policy is switched off (mode: none); sending servers forget it.",
            "mode: none", RFC_POLICY))
    rows: list[StsMxHostDetail] = []
    uncovered: list[str] = []
    for h in mx_hosts:
        pattern = next((p for p in pol.mx if mx_matches(p, h)), None)
        rows.append({"host": h, "matched": pattern is not None, "pattern": pattern})
        if pattern is None:
            uncovered.append(h)
    st.detail["mx_hosts"] = rows
    if not mx_ans.failed and not mx_hosts:
        st.findings.append(_f("no-mx", Severity.INFO, "Your domain has no mail servers (MX) to compare with the "
                              "policy.", f"{st.domain} MX: {mx_ans.describe}", RFC_MATCH))
    if uncovered and pol.mode in ("enforce", "testing"):
        enforce = pol.mode == "enforce"
        names = ", ".join(uncovered)
        st.findings.append(_f(
            "mx-not-covered", Severity.ERROR if enforce else Severity.WARNING,
            (f"The policy doesn't list your mail server{'s' if len(uncovered) > 1 else ''} {names}, so servers that "
             "honour MTA-STS will refuse to deliver mail to " + ("them." if len(uncovered) > 1 else "it.")
             if enforce else
             f"The policy doesn't list your mail server{'s' if len(uncovered) > 1 else ''} {names}; in enforce mode "
             "mail to " + ("them" if len(uncovered) > 1 else "it") + " would be refused.")
            + " Add the mx line shown in the corrected file.",
            f"policy mx patterns: {', '.join(pol.mx) or '(none)'}; MX hosts: {', '.join(mx_hosts)}", RFC_MATCH))
    if pol.errors or (uncovered and pol.mode in ("enforce", "testing")) or any(broad_pattern(p) for p in pol.mx) or \
            (pol.max_age is not None and pol.max_age < MAX_AGE_SHORT and pol.mode != "none"):
        _suggest_policy(st, url, pol, mx_hosts)


def _suggest_policy(st: _State, url: str, pol: StsPolicy | None, mx_hosts: list[str]) -> None:
    mode = pol.mode if pol is not None and pol.mode in ("enforce", "testing") else "testing"
    max_age = pol.max_age if pol is not None and pol.max_age is not None and pol.max_age >= MAX_AGE_SHORT \
        else MAX_AGE_SUGGESTED
    patterns = [p for p in pol.mx if not broad_pattern(p)] if pol is not None else []
    for h in mx_hosts:
        if not any(mx_matches(p, h) for p in patterns):
            patterns.append(h)
    st.detail["policy_fix"] = {"url": url, "content_type": "text/plain", "text": format_policy(mode, max_age, patterns),
                               "record_host": f"_mta-sts.{st.domain}", "record": f"v=STSv1; id={new_id()};"}


def _summary(st: _State, status: Status) -> str:
    codes = {f.code for f in st.findings}
    pol = st.detail["policy"]
    if "mta_sts.not-published" in codes:
        return "MTA-STS is not set up (optional)."
    if "mta_sts.not-needed" in codes:
        return f"MTA-STS doesn't apply: {st.detail.get('not_needed', '')}."
    if status == Status.ERROR:
        return "We couldn't check MTA-STS."
    if status == Status.FAIL:
        return "MTA-STS is published but doesn't work as it should."
    if pol and pol["mode"] == "enforce":
        n = len(st.detail["mx_hosts"])
        if n == 0 and status == Status.PASS:
            return "MTA-STS is on (enforce), but the domain has no mail servers to protect."
        return (f"MTA-STS is on and requires encrypted delivery to your {n} mail server{'s' if n != 1 else ''}."
                if status == Status.PASS else "MTA-STS is on, with points to improve.")
    if pol and pol["mode"] == "testing":
        return "MTA-STS is in testing mode: problems are reported but mail is not protected yet."
    if pol and pol["mode"] == "none":
        return "MTA-STS is switched off (mode none)."
    return "MTA-STS is published, with points to improve."
