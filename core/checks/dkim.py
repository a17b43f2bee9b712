"""DKIM: find the domain's public keys and judge them (RFC 6376, RFC 8463, RFC 8301).

DKIM keys live at ``<selector>._domainkey.<domain>``, and nothing in DNS lists the selectors a domain
uses. So we can only look where providers usually publish (``rules/dkim_selectors.json``) plus the
selectors the user names, and we say so honestly when we find nothing.

- The key records themselves are read by ``records.dkim_key`` (``parse_dkim_key``).
- ``check(ctx)`` queries every selector concurrently (following CNAMEs, as providers publish keys by
  CNAME), plus ``*._domainkey.<domain>`` to recognise a wildcard, and returns the "dkim" result.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TypedDict


from ..context import CheckContext
from ..dns.client import DnsAnswer, Outcome, normalize_name
from ..model import CheckResult, Finding, Fix, Severity, Status, derive_status
from ..records.dkim_selectors import SelectorCatalog, load_catalog
from .posture import mail_use
from ..records.dkim_key import (
    DkimKey, DkimKeyError, describe_foreign_record, normalize_selector, parse_dkim_key, repair_dkim_key,
    revoked_wildcard_fix,
)

class DkimKeyDetail(TypedDict):
    """One selector where something was published, as the DKIM card lists it."""

    selector: str
    host: str  # <selector>._domainkey.<domain>
    cname: str | None  # the name it is an alias of (providers publish keys by CNAME), or None
    key_type: str | None  # rsa | ed25519; None: no usable key (revoked, damaged, not a key)
    key_bits: int | None
    testing: bool  # t=y
    revoked: bool  # an empty p=
    provider: str | None  # the mail service the selector (or its CNAME) belongs to
    record: str | None
    status: str  # pass | warn | fail


class DkimDetail(TypedDict):
    """``CheckResult.detail`` of the DKIM check (every key is always there)."""

    selectors_tried: int
    selectors: list[str]  # the selectors asked: the user's first, then the catalog's
    found: list[DkimKeyDetail]
    unchecked: list[str]  # selectors whose lookup failed (couldn't check)


# -- the selector catalog ---------------------------------------------------------------------------

# -- parsing key records ----------------------------------------------------------------------------


# -- helpers others reuse ---------------------------------------------------------------------------


# -- the check --------------------------------------------------------------------------------------

RFC_KEY = "RFC 6376 §3.6.1"
RFC_8301 = "RFC 8301 §3.2"
_SEVERITY_STATUS = {Severity.ERROR: "fail", Severity.WARNING: "warn"}
_KEY_RECORD_ERRORS = ("dkim.malformed-key", "dkim.unknown-key-type", "dkim.multiple-records")


@dataclass
class _Entry:
    selector: str
    host: str
    cname: str | None
    record: str
    provider: str | None
    user: bool
    wildcard: bool = False
    provider_from_cname: bool = False
    key: DkimKey | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.key is None:  # not a key, a damaged key, several records, a CNAME to nothing
            return "fail"
        sev = {f.severity for f in self.findings}
        for s in (Severity.ERROR, Severity.WARNING):
            if s in sev:
                return _SEVERITY_STATUS[s]
        return "pass"

    @property
    def active(self) -> bool:
        """A key that can verify signatures today."""
        return (self.key is not None and not self.key.revoked
                and not any(f.severity is Severity.ERROR for f in self.findings))

    @property
    def broken_key(self) -> bool:
        """A DKIM key record is published here but can't be used (weak, damaged, several records...)."""
        if self.wildcard or self.active:
            return False
        if self.key is not None:
            return not self.key.revoked
        return any(f.code in _KEY_RECORD_ERRORS for f in self.findings)

    def to_json(self) -> DkimKeyDetail:
        return {
            "selector": self.selector,
            "host": self.host,
            "cname": self.cname,
            "key_type": self.key.key_type if self.key is not None and not self.key.revoked else None,
            "key_bits": self.key.key_bits if self.key is not None else None,
            "testing": bool(self.key and self.key.testing),
            "revoked": bool(self.key and self.key.revoked),
            "provider": self.provider,
            "record": self.record,
            "status": self.status,
        }

    @property
    def label(self) -> str:
        """"'s1' (SendGrid)" when its CNAME shows the provider, "'selector1' (the selector Microsoft 365
        uses)" when only the name suggests it, for messages."""
        name = "the wildcard (*)" if self.wildcard else f"'{self.selector}'"
        if not self.provider:
            return name
        if self.provider_from_cname:
            return f"{name} ({self.provider})"
        return f"{name} (the selector {self.provider} uses)"

    @property
    def short(self) -> str:
        """'s1 (SendGrid)' for summaries."""
        return f"{self.selector} ({self.provider})" if self.provider else self.selector


def _entry(catalog: SelectorCatalog, selector: str, host: str, cname: str | None, record: str,
           user: bool) -> _Entry:
    """An entry with its provider: from the CNAME target if we know it, else from the catalog."""
    if cname:
        p = catalog.provider_for_cname(cname)
        if p is not None:
            return _Entry(selector, host, cname, record, p.name, user, provider_from_cname=True)
    info = None if user else catalog.info(selector)
    return _Entry(selector, host, cname, record, info.provider_name if info else None, user)


def _analyse(e: _Entry, txts: tuple[str, ...]) -> None:
    """Parse and judge the record(s) at one selector; fills ``e.key`` and ``e.findings``."""
    where = f"{e.host}" + (f" (which points to {e.cname})" if e.cname else "")
    if len(txts) > 1:
        foreign = [t for t in txts if _not_a_key(t)]
        if len(foreign) == len(txts) - 1:
            # one key beside records that are no DKIM key (a site verification pasted at the wrong name): a
            # verifier that reads one record (many take the first of the answer) fails DKIM whenever the
            # other comes first, and the order changes from answer to answer
            kind = describe_foreign_record(foreign[0]) or "a TXT record that is not a DKIM key"
            ours = not (e.cname or e.wildcard)
            e.findings.append(Finding(
                "dkim.multiple-records", Severity.ERROR,
                f"Selector {e.label} has {len(txts)} TXT records: the DKIM key and "
                + (kind if len(foreign) == 1 else f"{len(foreign)} records that are no DKIM key")
                + ". Receivers read one of them, and those that pick the other fail DKIM for your mail, "
                "now and then. " + ("Delete the record that isn't the key." if ours else
                                    "Ask the service that publishes it to delete the record that isn't the key."),
                detail=f"{where} has {len(txts)} TXT records; RFC 6376 §3.6.2.2 says the result is undefined.",
                rfc="RFC 6376 §3.6.2.2",
                fix=Fix(e.host, "TXT", foreign[0], action="remove",
                        note="The record that isn't the DKIM key; the key stays.")
                if ours and len(foreign) == 1 else None))
            return
        e.findings.append(Finding(
            "dkim.multiple-records", Severity.ERROR,
            f"Selector {e.label} has {len(txts)} TXT records instead of one, so receivers can't tell which "
            "key to use and DKIM checks with it may fail. Keep only the current key.",
            detail=f"{where} has {len(txts)} TXT records; RFC 6376 §3.6.2.2 says the result is undefined.",
            rfc="RFC 6376 §3.6.2.2"))
        return
    text = txts[0]
    try:
        key = parse_dkim_key(text)
    except DkimKeyError as exc:
        first = _version_first(text) if exc.code == "bad-version" else None
        reordered = _parsed(first) if first else None
        if reordered is None or first is None:
            _analyse_error(e, exc, text, where)
            return
        key = reordered
        # §3.6.1 says v= MUST come first, but many verifiers (dkimpy, for one) read the tags in any order:
        # the key may work with some receivers and not with others, which is worth a fix, not "it fails"
        ours = not (e.cname or e.wildcard)
        e.findings.append(Finding(
            "dkim.version-not-first", Severity.WARNING,
            f"The DKIM key at selector {e.label} does not start with v=DKIM1, and the standard says it must: "
            "receivers that follow it strictly ignore the key and fail DKIM for your mail, while others accept "
            "it. " + ("Publish the same key with v=DKIM1 first (below)." if ours else
                      "Ask the service that publishes it to put v=DKIM1 first."),
            detail=f"{where}: {exc.message}", rfc=RFC_KEY,
            # publish + remove, not "replace": a record that doesn't start with v= is no DKIM record a DNS host
            # (or our publisher) sees as the one the new one replaces
            fix=Fix(e.host, "TXT", first, action="publish", note="The same key with v=DKIM1 as its first tag.",
                    also_publish=(Fix(e.host, "TXT", text, action="remove",
                                      note="Your key in the wrong order: the corrected record replaces it."),))
            if ours else None))
        text = first
    e.key = key
    if key.revoked:
        if e.wildcard:
            e.findings.append(Finding(
                "dkim.wildcard-revoked", Severity.INFO,
                "Your domain publishes a revoked DKIM key for every selector (a wildcard). That is the right "
                "record for a domain that sends no mail; it does not affect keys published under their own "
                "names.", detail=f"{where}: {text}", rfc=RFC_KEY))
        else:
            sev = Severity.WARNING if e.user else Severity.INFO
            e.findings.append(Finding(
                "dkim.revoked-key", sev,
                f"The DKIM key at selector {e.label} has been revoked (its key is empty). This is normal "
                "after a key change: the old key is withdrawn once mail is signed with a new one. But any "
                "mail still signed with this selector will fail DKIM."
                + (" You told us this is your selector, so check which selector your mail service signs "
                   "with now." if e.user else ""),
                detail=f"{where}: an empty p= means the key was revoked (RFC 6376 §3.6.1). When you rotate "
                       "keys, publish the new key under a new selector, switch signing to it, wait a few "
                       "days, then empty or remove the old one.",
                rfc=RFC_KEY))
        return
    if not key.for_email:
        e.findings.append(Finding(
            "dkim.not-for-email", Severity.ERROR,
            f"The DKIM key at selector {e.label} is marked as not for e-mail, so receivers won't use it to "
            "check your mail.",
            detail=f"s={':'.join(key.services)} lists neither 'email' nor '*'.", rfc=RFC_KEY))
    if not key.sha256_allowed:
        hashes = ":".join(key.hashes or ())
        if key.hashes and "sha1" in key.hashes:
            e.findings.append(Finding(
                "dkim.sha1-only", Severity.ERROR,
                f"The DKIM key at selector {e.label} may only be used with the old SHA-1 method, which "
                "receivers no longer accept. Mail signed with it fails DKIM. Set your mail service to sign "
                "with SHA-256, then publish the key without the h= tag.",
                detail=f"h={hashes}: RFC 8301 says verifiers must not accept rsa-sha1 signatures.",
                rfc=RFC_8301))
        else:
            e.findings.append(Finding(
                "dkim.unknown-hash", Severity.ERROR,
                f"The DKIM key at selector {e.label} only allows hash methods receivers don't know, so no "
                "signature made with it can be checked.",
                detail=f"h={hashes}: only sha256 is usable (RFC 8301).", rfc=RFC_KEY))
    if key.key_type == "rsa" and key.key_bits is not None:
        bits = key.key_bits
        if bits < 1024:
            e.findings.append(Finding(
                "dkim.weak-key", Severity.ERROR,
                f"The DKIM key at selector {e.label} is only {bits} bits long. Receivers reject keys this "
                "short, so your mail fails DKIM. Create a new 2048-bit key in your mail service.",
                detail="RFC 8301 §3.2: verifiers must not consider signatures with keys under 1024 bits valid.",
                rfc=RFC_8301))
        elif bits < 2048:
            e.findings.append(Finding(
                "dkim.short-key", Severity.WARNING,
                f"The DKIM key at selector {e.label} is {bits} bits long. It still works, but 2048 bits is "
                "the recommended size; when you next change keys, ask your mail service for a 2048-bit key.",
                detail="RFC 8301 §3.2: signers should use at least 2048-bit keys; verifiers must accept "
                       "1024 to 4096 bits. Some guides say 2048 bits is required; the RFC only recommends it, "
                       "so a 1024-bit key is a warning, not a failure.",
                rfc=RFC_8301))
        elif bits > 4096:
            e.findings.append(Finding(
                "dkim.oversized-key", Severity.WARNING,
                f"The DKIM key at selector {e.label} is {bits} bits long. Receivers only promise to handle "
                "keys up to 4096 bits, so some may not check it. 2048 bits is plenty.",
                detail="RFC 8301 §3.2: verifiers must be able to validate keys from 1024 to 4096 bits.",
                rfc=RFC_8301))
    if key.testing:
        fix = None
        if not e.cname and not e.wildcard:
            fix = Fix(host=e.host, type="TXT", value=key.without_testing_flag(), action="replace",
                      note="The same key without the testing flag (t=y). Replace the existing record.")
        e.findings.append(Finding(
            "dkim.testing-mode", Severity.WARNING,
            f"The DKIM key at selector {e.label} is marked as 'testing' (t=y). Receivers may treat your "
            "mail as if it were not signed at all. Once DKIM works, remove the testing flag"
            + (" (ask your mail service: the key is published on their side)." if e.cname else "."),
            detail="t=y: verifiers must not treat signed messages differently from unsigned ones "
                   "(RFC 6376 §3.6.1).", rfc=RFC_KEY, fix=fix))
    if key.strict:
        e.findings.append(Finding(
            "dkim.strict-subdomains", Severity.INFO,
            f"The DKIM key at selector {e.label} may only sign for {e.host.split('._domainkey.', 1)[-1]} "
            "itself, not for its subdomains (t=s). That is fine unless you send from a subdomain with "
            "this key.",
            detail="t=s: the i= domain of a signature must equal its d= domain.", rfc=RFC_KEY))


def _version_first(text: str) -> str | None:
    """The record with its ``v=DKIM1`` tag moved to the front (the other tags as written), or None when it has
    no such tag."""
    tags = [t.strip(" \t\r\n") for t in text.split(";")]
    tags = [t for t in tags if t]
    version = [t for t in tags if t.split("=", 1)[0].strip(" \t\r\n") == "v"]
    if len(version) != 1 or "".join(version[0].split()) != "v=DKIM1":
        return None
    return "; ".join(["v=DKIM1", *(t for t in tags if t is not version[0])])


def _parsed(text: str) -> DkimKey | None:
    try:
        return parse_dkim_key(text)
    except DkimKeyError:
        return None


def _not_a_key(text: str) -> bool:
    try:
        parse_dkim_key(text)
    except DkimKeyError as exc:
        return exc.code == "not-dkim"
    return False


def _analyse_error(e: _Entry, exc: DkimKeyError, text: str, where: str) -> None:
    repaired = repair_dkim_key(text)
    if repaired is not None:
        e.findings.append(Finding(
            "dkim.malformed-key", Severity.WARNING if e.wildcard else Severity.ERROR,
            f"The DKIM key at selector {e.label} contains quotation marks, so receivers can't read it and mail "
            "signed with it fails DKIM. This happens when the key is pasted with its quotes into a DNS panel "
            "that adds its own. "
            + ("Ask the service that publishes it to correct it." if e.cname else
               "Replace it with the same key without the quotation marks (below)."),
            detail=f"{where}: {exc.message}", rfc=RFC_KEY,
            fix=None if (e.cname or e.wildcard) else Fix(
                host=e.host, type="TXT", value=repaired, action="replace",
                note="The same key, without the quotation marks. Paste it exactly like this; your DNS panel "
                     "adds the quotes it needs.")))
        return
    if exc.code == "not-dkim":
        kind = describe_foreign_record(text) or "a TXT record that is not a DKIM key"
        if e.wildcard:
            sev, extra = Severity.INFO, " It comes from a wildcard record, so it only matters if you meant to publish a DKIM key there."
        elif e.user:
            sev, extra = Severity.ERROR, " You told us this is your selector, so mail signed with it fails DKIM."
        else:
            sev, extra = Severity.WARNING, " If your mail service signs with this selector, DKIM fails; otherwise this record is probably in the wrong place."
        e.findings.append(Finding(
            "dkim.not-a-key", sev,
            f"At selector {e.label} we found {kind}, not a DKIM key.{extra}",
            detail=f"{where}: {text[:300]}", rfc=RFC_KEY))
        return
    sev = Severity.WARNING if e.wildcard else Severity.ERROR
    if exc.code == "unknown-key-type":
        e.findings.append(Finding(
            "dkim.unknown-key-type", sev,
            f"The DKIM key at selector {e.label} has a key type receivers don't know, so mail signed with "
            "it fails DKIM.", detail=f"{where}: {exc.message}", rfc="RFC 6376 §3.6.1, RFC 8463 §4"))
        return
    e.findings.append(Finding(
        "dkim.malformed-key", sev,
        f"The DKIM key at selector {e.label} is damaged and can't be used, so mail signed with it fails "
        "DKIM. Copy the record again from your mail service, exactly as given.",
        detail=f"{where}: {exc.message}", rfc=RFC_KEY))


def _same_as_wildcard(ans: DnsAnswer, probe: DnsAnswer) -> bool:
    return (probe.ok and ans.ok and not ans.cname_chain
            and sorted(ans.records) == sorted(probe.records))


def _unguessable_note(catalog: SelectorCatalog) -> str:
    names = [catalog.providers[k].name for k in ("amazonses", "postmark") if k in catalog.providers]
    return (" Some services use selector names that cannot be guessed (" + " and ".join(names)
            + " give each domain its own random or dated name), so we can only find those if you tell us."
            if names else "")


async def check(ctx: CheckContext) -> CheckResult:
    """The "dkim" check: find keys at known and user-given selectors and judge each one."""
    domain = normalize_name(ctx.domain)
    catalog = load_catalog()
    findings: list[Finding] = []

    user: list[str] = []
    for raw in ctx.options.dkim_selectors:
        sel = normalize_selector(raw)
        if sel is None:
            findings.append(Finding(
                "dkim.invalid-selector", Severity.INFO,
                f"'{raw[:60]}' can't be a DKIM selector, so we skipped it. A selector is the short name "
                "in the s= tag of the DKIM-Signature header, such as 'google' or 'selector1'.",
                detail="Selectors are one or more DNS labels (letters, digits, '-', '_').", rfc="RFC 6376 §3.1"))
        elif sel not in user:
            user.append(sel)
    selectors = user + [s.selector for s in catalog.selectors if s.selector not in user]
    hosts = [f"{s}._domainkey.{domain}" for s in selectors]
    probe_host = f"*._domainkey.{domain}"

    # All at once: every selector, the wildcard probe, and the domain's MX and TXT (shared with the
    # MX and SPF checks through the client's cache) to tell whether the domain sends mail at all.
    *answers, probe, mx_ans, txt_ans = await asyncio.gather(
        *(ctx.dns.query(h, "TXT") for h in hosts),
        ctx.dns.query(probe_host, "TXT"), ctx.dns.query(domain, "MX"), ctx.dns.query(domain, "TXT"))

    entries: list[_Entry] = []
    unchecked: list[str] = []
    for sel, host, ans in zip(selectors, hosts, answers):
        is_user = sel in user
        cname = ans.cname_chain[-1] if ans.cname_chain else None
        if ans.failed:
            unchecked.append(sel)
            continue
        if not ans.ok:
            if cname:  # a CNAME to nothing: usually DKIM not switched on at the provider yet
                e = _entry(catalog, sel, host, cname, "", is_user)
                e.findings.append(Finding(
                    "dkim.cname-broken", Severity.WARNING,
                    f"Selector {e.label} points to {cname}, but no key is published there, so mail signed "
                    "with it fails DKIM. This usually means DKIM signing has not been switched on at your "
                    "mail service yet (for Microsoft 365: in the Defender portal, under DKIM).",
                    detail=f"{host} is a CNAME to {cname}, which answers: {ans.describe}.",
                    rfc="RFC 6376 §3.6.2.2"))
                entries.append(e)
            elif is_user:
                findings.append(Finding(
                    "dkim.selector-not-found", Severity.WARNING,
                    f"There is no DKIM key at the selector '{sel}' you gave us, so mail signed with it "
                    "fails DKIM. Check the spelling, or publish the key your mail service gives you.",
                    detail=f"{host} TXT: {ans.describe}.", rfc="RFC 6376 §3.6.2.2"))
            continue
        if not is_user and _same_as_wildcard(ans, probe):
            continue  # only the wildcard answering: reported once below
        e = _entry(catalog, sel, host, cname, "\n".join(ans.txt), is_user)
        _analyse(e, ans.txt)
        entries.append(e)
    if probe.ok:
        w = _Entry("*", probe_host, probe.cname_chain[-1] if probe.cname_chain else None,
                   "\n".join(probe.txt), None, False, wildcard=True)
        _analyse(w, probe.txt)
        entries.append(w)

    for e in entries:
        findings.extend(e.findings)
    # A wildcard that answers with some other record (e.g. SPF for every name) is not a DKIM key:
    # it stays a finding but is not listed among the keys found.
    listed = [e for e in entries if not (e.wildcard and e.key is None
                                         and all(f.code == "dkim.not-a-key" for f in e.findings))]
    active = [e for e in entries if e.active]
    use = mail_use(mx_ans, txt_ans)
    no_mail = use in ("no-mail", "unused")
    missing_domain = mx_ans.outcome is Outcome.NXDOMAIN
    n = len(selectors)
    if active:
        if unchecked:
            findings.append(Finding(
                "dkim.selectors-unchecked", Severity.INFO,
                f"We couldn't check {len(unchecked)} of the {n} selectors because DNS didn't answer in time "
                "or reported an error. The keys we did find are listed.",
                detail="Not checked: " + ", ".join(unchecked), rfc="RFC 6376 §3.6.2.2"))
        if all(e.key is not None and e.key.key_type == "ed25519" for e in active):
            findings.append(Finding(
                "dkim.ed25519-only", Severity.WARNING,
                ("Your domain only has Ed25519 DKIM keys. " if not unchecked else
                 f"Every DKIM key we could check is Ed25519, but {len(unchecked)} of the {n} selectors couldn't be "
                 "checked, so an RSA key may also be there. If it isn't: ")
                + "Not every receiver can check Ed25519 signatures yet, so also sign with an RSA key (2048 bits) "
                  "alongside it.",
                detail="RFC 8463 added Ed25519; signers should add an RSA signature until support is "
                       "universal." + (" Not checked: " + ", ".join(unchecked) if unchecked else ""),
                rfc="RFC 8463 §1"))
    elif missing_domain and not unchecked:
        findings.append(Finding(
            "dkim.domain-not-found", Severity.INFO,
            f"{domain} does not exist in DNS, so it has no DKIM keys.",
            detail=f"{domain} MX: the name does not exist (NXDOMAIN).", rfc=RFC_KEY))
    elif no_mail and not any(e.broken_key for e in entries):
        wildcard_revoked = any(e.wildcard and e.key is not None and e.key.revoked for e in entries)
        if use == "no-mail":
            message = ("No DKIM key was found" + _partial(unchecked, n) + ", which is expected: this domain says it "
                       "sends no mail."
                       + ("" if wildcard_revoked else
                          " To state that clearly, you can also publish a revoked key for every selector."))
            why = "The domain has a null MX (RFC 7505) or the SPF record 'v=spf1 -all'."
        else:
            message = ("No DKIM key was found" + _partial(unchecked, n) + ". This domain has no mail server (MX) and "
                       "no SPF record, so it looks "
                       "unused for email, and then no key is expected"
                       + (". " if wildcard_revoked else
                          ": the lockdown records under MX include a revoked key for every selector. ")
                       + "If it does send mail, tell us the selector your mail service signs with.")
            why = "No MX and no SPF record: the domain looks parked."
        findings.append(Finding(
            "dkim.no-mail", Severity.INFO, message, detail=why + _unguessable_note(catalog),
            rfc=RFC_KEY, fix=None if wildcard_revoked else revoked_wildcard_fix(domain)))
    elif unchecked:
        findings.append(Finding(
            "dkim.selectors-unchecked", Severity.UNKNOWN,
            f"We couldn't check DKIM: {len(unchecked)} of the {n} selectors got no usable answer from DNS "
            "(no answer in time, or an error), and we found no key at the others. Try again later.",
            detail="Not checked: " + ", ".join(unchecked), rfc="RFC 6376 §3.6.2.2"))
    elif not any(e.broken_key for e in entries):
        only_revoked = [e for e in entries if e.key is not None and e.key.revoked and not e.wildcard]
        waiting = _waiting(entries)
        if waiting:
            message = (f"No working DKIM key was found among the {n} selectors we tried. The "
                       + " and ".join(f"'{e.selector}'" for e in waiting)
                       + f" alias{'es are' if len(waiting) > 1 else ' is'} in place but the key isn't published "
                       "yet (see above): switch on DKIM signing at your mail service and the key appears there "
                       "by itself. If another service signs your mail, tell us its selector.")
        else:
            message = (f"No DKIM key was found among the {n} selectors we tried. DKIM may still be set up under a "
                       "selector we don't know; tell us yours (you can find it in the s= tag of the "
                       "DKIM-Signature header of a message you sent).")
        findings.append(Finding(
            "dkim.no-key-found", Severity.WARNING, message,
            detail=("Only revoked keys were found (" + ", ".join(e.selector for e in only_revoked) + "). "
                    if only_revoked else "")
                   + "DKIM keys live at <selector>._domainkey.<domain> and DNS offers no way to list them."
                   + _unguessable_note(catalog),
            rfc="RFC 6376 §3.6.2.1"))

    if active:
        status = derive_status(findings)
    else:
        status = derive_status(findings, default=Status.INFO)
    summary = _summary(status, active, entries, unchecked, n, no_mail and status is not Status.FAIL, use,
                       missing_domain)
    records = []
    for e in entries:
        if e.record:
            via = f" (CNAME {e.cname})" if e.cname else ""
            records.append(f"{e.host}{via}: {e.record}")
    detail: DkimDetail = {
        "selectors_tried": n,
        "selectors": selectors,
        "found": [e.to_json() for e in listed],
        "unchecked": unchecked,
    }
    return CheckResult(name="dkim", status=status, summary=summary, records=records, findings=findings,
                       detail=dict(detail))


def _partial(unchecked: list[str], n: int) -> str:
    """" (N of M selectors couldn't be checked)" when the answer is over part of the selectors only."""
    return f" ({len(unchecked)} of the {n} selectors couldn't be checked)" if unchecked else ""


def _waiting(entries: list[_Entry]) -> list[_Entry]:
    """Selectors whose CNAME is in place but whose key is not published yet (DKIM not switched on)."""
    return [e for e in entries if any(f.code == "dkim.cname-broken" for f in e.findings)]


def _summary(status: Status, active: list[_Entry], entries: list[_Entry], unchecked: list[str], n: int,
             no_mail: bool, use: str | None = None, missing_domain: bool = False) -> str:
    if active:
        names = ", ".join(e.short for e in active[:4]) + (f" and {len(active) - 4} more" if len(active) > 4 else "")
        keys = "1 active key" if len(active) == 1 else f"{len(active)} active keys"
        where = f"at selector{'' if len(active) == 1 else 's'} {names}"
        if unchecked:  # over part of the selectors only: there may be more keys (or other problems)
            where += f" ({len(unchecked)} of the {n} selectors couldn't be checked, so there may be more)"
        if status is Status.PASS:
            return f"DKIM is set up with {keys}, {where}."
        if status is Status.FAIL:
            return f"DKIM is set up with {keys}, {where}, but a key record has a problem to fix."
        return f"DKIM is set up with {keys}, {where}, with something to improve."
    if status is Status.FAIL and unchecked:
        return f"The DKIM key record we found has a problem to fix{_partial(unchecked, n)}."
    if status is Status.FAIL:
        return "DKIM is not working: the key record we found has a problem."
    if missing_domain and status is not Status.ERROR:
        return "The domain does not exist in DNS, so it has no DKIM keys."
    waiting = _waiting(entries)
    if waiting and status is Status.WARN:
        names = ", ".join(e.short for e in waiting)
        return (f"DKIM is prepared but not switched on: {names} point"
                + ("s to a key that isn't" if len(waiting) == 1 else " to keys that aren't") + " published yet"
                + _partial(unchecked, n) + ".")
    if no_mail:
        if use == "unused":
            return f"No DKIM key{_partial(unchecked, n)}; this domain looks unused for email (no MX and no SPF record)."
        return f"No DKIM key{_partial(unchecked, n)}, which is fine: this domain says it sends no mail."
    if status is Status.ERROR:
        return f"DKIM couldn't be checked: {len(unchecked)} of {n} selectors got no answer from DNS."
    return f"No DKIM key found among the {n} selectors we tried."


__all__ = ["DkimDetail", "DkimKeyDetail", "check"]
