"""How a domain is used for mail, as far as its DNS says: whether it declares that it sends no mail
(``v=spf1 -all``, a null MX with no SPF senders), looks unused (no MX and no SPF: parked), or sends but
can't receive (``mail_use``), and the "lockdown" records that stop others from sending mail in the name of
a domain that sends none (``lockdown_fixes``).

The SPF, DKIM and DMARC checks read it so that a domain that sends no mail is judged as such; the MX check
offers the lockdown kit. It builds on the record layer only (MX, SPF and DKIM key records), never on a
check, so no check has to import another.
"""

from __future__ import annotations

from ..dns.client import DnsAnswer, Outcome, normalize_name
from ..model import Fix
from ..records.dkim_key import revoked_wildcard_fix
from ..records.mx import NULL_MX, MxParseError, MxRecord, parse_mx
from ..records.spf_macro import SpfSyntaxError
from ..records.spf_parse import parse_record_lenient, spf_records

SPF_REJECT_ALL = "v=spf1 -all"
DMARC_REJECT = "v=DMARC1; p=reject;"


def is_reject_all_spf(record: str) -> bool:
    """True for ``v=spf1 -all`` (any case and spacing): no server may send for this domain."""
    return record.lower().split() == ["v=spf1", "-all"]


def spf_allows_senders(record: str) -> bool:
    """True when an SPF record can let some server pass: it has a rule other than 'all' (or a redirect),
    or ends in +all / ?all. ``v=spf1 -all`` and ``v=spf1 ~all`` allow nobody."""
    try:
        rec = parse_record_lenient(record)
    except SpfSyntaxError:
        return False
    if rec.redirect is not None:
        return True
    return any(m.kind != "all" or m.qualifier in "+?" for m in rec.mechanisms)


def has_null_mx(answer: DnsAnswer) -> bool:
    """True when the domain's only MX record(s) are null MX (``0 .``): it accepts no mail. A null MX
    next to real mail servers is a mistake, not a statement (the MX check reports it)."""
    records: list[MxRecord] = []
    for r in answer.records if answer.ok else ():
        try:
            records.append(parse_mx(r))
        except MxParseError:
            continue
    return bool(records) and all(r.null for r in records)


def receives_no_mail(domain: str, mx: DnsAnswer) -> str | None:
    """Why ``domain`` receives no mail, in words (it doesn't exist, it has a null MX, or it has no MX record),
    or None when it has mail servers, or the lookup failed (then we don't know). What the checks of incoming
    mail (MTA-STS, TLS reporting) need: for such a domain they don't apply, and an address at it can't
    receive reports. (With no MX, senders may still try the domain's own address, RFC 5321 §5.1; a domain
    that means to receive mail publishes an MX record.)"""
    if mx.failed:
        return None
    if mx.outcome is Outcome.NXDOMAIN:
        return f"{domain} does not exist in DNS"
    if has_null_mx(mx):
        return f"{domain} has a null MX record (RFC 7505): it accepts no mail"
    if not (mx.ok and mx.records):
        return f"{domain} has no mail server (MX record)"
    return None


def declares_no_mail(mx: DnsAnswer, txt: DnsAnswer) -> bool:
    """The domain says it sends no mail: the SPF record ``v=spf1 -all``, or a null MX and no SPF record
    that allows senders (a null MX only says the domain *receives* no mail; with SPF senders next to it
    the domain does send, and the MX check warns about the contradiction)."""
    spf = spf_records(txt.txt) if txt.ok else []
    if len(spf) == 1 and is_reject_all_spf(spf[0]):
        return True
    if txt.failed:  # can't tell whether SPF lets servers send: a null MX alone says nothing about sending
        return False
    return has_null_mx(mx) and not any(spf_allows_senders(r) for r in spf)


def meant_as_spf(text: str) -> bool:
    """A TXT record that is an SPF record, or was meant as one (pasted with quotes, spaces or a tab after
    v=spf1): the domain means to send mail, even if receivers can't read the record yet."""
    t = "".join(text.strip().strip("\"'").split()).lower()
    return t.startswith("v=spf1")


def looks_unused(mx: DnsAnswer, txt: DnsAnswer) -> bool:
    """The domain exists but has no MX record at all and no SPF record (not even a damaged one): probably
    parked. Both lookups must have answered (a failed lookup proves nothing)."""
    if mx.failed or txt.failed or mx.outcome is Outcome.NXDOMAIN:
        return False
    return not (mx.ok and mx.records) and not any(meant_as_spf(t) for t in (txt.txt if txt.ok else ()))


def mail_use(mx: DnsAnswer, txt: DnsAnswer) -> str | None:
    """How the domain is used for mail, as far as DNS says: ``"no-mail"`` (it declares it sends none),
    ``"unused"`` (no MX and no SPF: looks parked), ``"no-inbox"`` (SPF lets servers send, but it has a
    null MX or no MX, so it can't receive mail such as DMARC reports), or None (receives mail, or
    unknown)."""
    if declares_no_mail(mx, txt):
        return "no-mail"
    if looks_unused(mx, txt):
        return "unused"
    if mx.failed or txt.failed or mx.outcome is Outcome.NXDOMAIN:
        return None
    if has_null_mx(mx) or not (mx.ok and mx.records):
        spf = spf_records(txt.txt if txt.ok else ())
        return "no-inbox" if any(spf_allows_senders(r) for r in spf) else None
    return None


def lockdown_fixes(domain: str) -> list[Fix]:
    """The four records that lock down a domain that never sends or receives mail:
    SPF ``v=spf1 -all``, DMARC ``p=reject``, null MX ``0 .``, and a revoked DKIM wildcard key."""
    d = normalize_name(domain)
    return [
        Fix(host=d, type="TXT", value=SPF_REJECT_ALL,
            note="SPF: no server is allowed to send mail for this domain."),
        Fix(host=f"_dmarc.{d}", type="TXT", value=DMARC_REJECT,
            note="DMARC: receivers should reject any mail that claims to come from this domain."),
        Fix(host=d, type="MX", value=NULL_MX,
            note="Null MX (RFC 7505): this domain accepts no mail, so senders get a clear bounce at once."),
        revoked_wildcard_fix(d),
    ]


__all__ = [
    "DMARC_REJECT", "SPF_REJECT_ALL", "declares_no_mail", "has_null_mx", "is_reject_all_spf", "lockdown_fixes",
    "looks_unused", "mail_use", "meant_as_spf", "receives_no_mail", "spf_allows_senders",
]
