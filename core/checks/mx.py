"""MX: where the domain's mail is delivered (RFC 5321 §5.1, RFC 7505 null MX, RFC 2181 §10.3).

Also spots domains that are not used for mail (no MX and no SPF, a null MX, or ``v=spf1 -all``) and
offers the "lockdown" records that stop others from sending mail in their name (``posture.lockdown_fixes``).
The MX records themselves are read by ``records.mx`` (``parse_mx``).

- ``check(ctx)`` returns the "mx" result.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field, replace
from typing import TypedDict

from ..context import CheckContext
from ..records.dkim_key import DkimKeyError, parse_dkim_key
from ..dns.client import CHAIN_ERROR, LOOP_ERROR, DnsAnswer, Outcome, normalize_name
from ..model import CheckResult, Finding, Fix, Severity, Status, derive_status
from ..records.misplaced import undoubled_names
from ..records.mx import NULL_MX, MxParseError, MxRecord, parse_mx, unreachable_address
from ..records.spf_parse import spf_records
from .posture import is_reject_all_spf, lockdown_fixes, meant_as_spf, spf_allows_senders


class MxHostDetail(TypedDict):
    """One mail server as the MX card shows it."""

    preference: int
    host: str
    addresses: list[str]
    error: str | None  # why its addresses couldn't be had, or None
    cname: str | None  # the name it is an alias of (RFC 2181 §10.3 forbids that), or None


class MxDetail(TypedDict):
    """``CheckResult.detail`` of the MX check (every key is always there)."""

    hosts: list[MxHostDetail]
    null_mx: bool  # a null MX (RFC 7505): the domain receives no mail
    implicit: bool  # no MX record: senders fall back to the domain's own address
    parked: bool  # neither MX nor SPF: looks unused

RFC_MX = "RFC 5321 §5.1"
RFC_NULL = "RFC 7505 §3"



# -- the check --------------------------------------------------------------------------------------


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


@dataclass
class _Host:
    preference: int
    host: str
    addresses: list[str] = field(default_factory=list)
    error: str | None = None
    cname: str | None = None
    unchecked: bool = False
    broken_chain: bool = False  # unchecked because its CNAME records loop or chain on too long: waiting won't help
    ip_literal: str | None = None
    missing: bool = False  # the name does not exist (NXDOMAIN)

    @property
    def works(self) -> bool:
        return bool(self.addresses) and not any(unreachable_address(a) for a in self.addresses)

    def to_json(self) -> MxHostDetail:
        return {"preference": self.preference, "host": self.host, "addresses": list(self.addresses),
                "error": self.error, "cname": self.cname}


async def _resolve(ctx: CheckContext, h: _Host) -> None:
    a, aaaa = await asyncio.gather(ctx.dns.query(h.host, "A"), ctx.dns.query(h.host, "AAAA"))
    for ans in (a, aaaa):
        if ans.ok:
            h.addresses.extend(ans.records)
        if ans.cname_chain and h.cname is None:
            h.cname = ans.cname_chain[-1]
    if h.addresses:
        return
    if a.failed or aaaa.failed:
        bad = a if a.failed else aaaa
        h.unchecked = True
        h.broken_chain = bad.outcome is Outcome.ERROR and bad.error.startswith((LOOP_ERROR, CHAIN_ERROR))
        h.error = "couldn't check: " + bad.describe
    elif Outcome.NXDOMAIN in (a.outcome, aaaa.outcome):
        h.error = "the name does not exist"
        h.missing = True
    else:
        h.error = "the name has no IPv4 or IPv6 address"


def _local_name(host: str) -> bool:
    """``localhost`` and names under it (RFC 6761 §6.3): every resolver answers them itself."""
    return host == "localhost" or host.endswith(".localhost")


MAX_MEANT_HOSTS = 5  # missing MX targets looked at for a doubled name (each costs up to six lookups)


async def _meant_hosts(ctx: CheckContext, domain: str, missing: list[_Host]) -> dict[str, _Host]:
    """For MX targets that don't exist: the name each was meant as when the zone was added to a full name a
    second time (``mail.x.test.x.test`` → ``mail.x.test``), only where that name was looked up and has a
    working address (its own, or through an alias: then the alias's target is what the record should name)."""
    guesses = [(h.host, _Host(h.preference, name)) for h in missing[:MAX_MEANT_HOSTS]
               for name in undoubled_names(h.host, domain) if name != h.host]
    await asyncio.gather(*(_resolve(ctx, g) for _, g in guesses))
    out: dict[str, _Host] = {}
    for host, g in guesses:
        if host not in out and g.works and not g.unchecked:
            out[host] = g
    return out


def _remove_fix(domain: str, h: _Host, others_work: bool, aliases: list[_Host]) -> Fix | None:
    """Removing the MX record of a server that can't receive mail: when another server works, or when a
    working alias of another MX record can take its place (then that record is pointed at the alias's
    target). None when removing it would leave the domain with no working mail server."""
    if not (others_work or aliases):
        return None
    return Fix(host=domain, type="MX", value=f"{h.preference} {h.host}.", action="remove",
               note="Remove this record; your other mail server(s) keep working." if others_work else
                    f"Remove this record, and point the MX record that names {aliases[0].host} at "
                    f"{aliases[0].cname} instead (see above).")


def _count(n: int, word: str) -> str:
    words = {1: "one", 2: "two", 3: "three", 4: "four"}
    return f"{words.get(n, str(n))} {word}{'' if n == 1 else 's'}"


async def check(ctx: CheckContext) -> CheckResult:
    """The "mx" check."""
    domain = normalize_name(ctx.domain)
    mx_ans, txt_ans = await asyncio.gather(ctx.dns.query(domain, "MX"), ctx.dns.query(domain, "TXT"))
    findings: list[Finding] = []
    detail: MxDetail = {"hosts": [], "null_mx": False, "implicit": False, "parked": False}

    if mx_ans.failed and mx_ans.lasting:  # a CNAME loop, or a server that doesn't resolve: waiting won't help
        findings.append(Finding(
            "mx.lookup-failed", Severity.UNKNOWN,
            f"We couldn't look up where this domain's mail goes: {mx_ans.describe}.",
            detail=f"{domain} MX: {mx_ans.describe}.", rfc=RFC_MX))
        return CheckResult("mx", Status.ERROR, f"MX couldn't be checked: {mx_ans.describe}.",
                           findings=findings, detail=dict(detail))
    if mx_ans.failed:
        findings.append(Finding(
            "mx.lookup-failed", Severity.UNKNOWN,
            "We couldn't look up where this domain's mail goes, because DNS didn't answer properly. "
            "Try again later.", detail=f"{domain} MX: {mx_ans.describe}.", rfc=RFC_MX))
        return CheckResult("mx", Status.ERROR, "MX couldn't be checked: DNS didn't answer.",
                           findings=findings, detail=dict(detail))
    if mx_ans.outcome is Outcome.NXDOMAIN:
        findings.append(Finding(
            "mx.domain-not-found", Severity.ERROR,
            f"The domain {domain} does not exist in DNS, so it can't send or receive mail. Check the "
            "spelling, and whether the domain's registration has expired.",
            detail=f"{domain} MX: the name does not exist (NXDOMAIN).", rfc=RFC_MX,
            no_fix=f"{domain} does not exist in DNS, so there is nowhere to publish one: check the spelling, or "
                   "renew the domain's registration."))
        return CheckResult("mx", Status.FAIL, f"{domain} does not exist in DNS.", findings=findings,
                           detail=dict(detail))

    records: list[MxRecord] = []
    for text in mx_ans.records:
        try:
            records.append(parse_mx(text))
        except MxParseError:
            findings.append(Finding("mx.unreadable-record", Severity.WARNING,
                                    "One of your MX records could not be read.", detail=text, rfc=RFC_MX))
    records.sort(key=lambda r: (r.preference, r.host))
    nulls = [r for r in records if r.null]
    real = [r for r in records if not r.null]
    spf = spf_records(txt_ans.txt) if txt_ans.ok else []
    spf_known = not txt_ans.failed
    spf_reject_all = len(spf) == 1 and is_reject_all_spf(spf[0])
    sends = any(spf_allows_senders(r) for r in spf)  # SPF lets at least one server send as this domain
    detail["null_mx"] = bool(nulls)

    # Hosts, with duplicates and IP literals spotted before any lookup.
    hosts: list[_Host] = []
    seen: dict[str, _Host] = {}
    extra: dict[str, list[MxRecord]] = {}  # host -> its records after the first
    for r in real:
        if r.host in seen:
            extra.setdefault(r.host, []).append(r)
            continue
        h = _Host(r.preference, r.host, ip_literal=_ip_literal(r.host))
        seen[r.host] = h
        hosts.append(h)
    for host, dups in extra.items():  # one finding per host; its fix removes every extra record at once
        keep = seen[host]
        removals = [Fix(host=domain, type="MX", value=r.text, action="remove",
                        note=f"Remove this record; keep '{keep.preference} {host}.'.") for r in dups]
        findings.append(Finding(
            "mx.duplicate-host", Severity.WARNING,
            f"The mail server {host} is listed {'twice' if len(dups) == 1 else f'{len(dups) + 1} times'} in your "
            f"MX records. That does no good and can confuse some senders; remove the extra "
            f"record{'s' if len(dups) > 1 else ''}.",
            detail=f"{host} appears with preference {keep.preference} and "
                   + ", ".join(str(r.preference) for r in dups) + ".",
            rfc=RFC_MX, fix=replace(removals[0], also_publish=tuple(removals[1:])) if len(removals) > 1
            else removals[0]))

    implicit = not records
    if implicit:
        hosts = [_Host(0, domain)]
        detail["implicit"] = True

    # Is this domain meant to have no mail at all? Then check the lockdown records too.
    meant = txt_ans.ok and any(meant_as_spf(t) for t in txt_ans.txt)  # an SPF record, maybe a damaged one
    no_mail = not real and spf_known and ((not spf and not meant) or spf_reject_all)
    dmarc_ans: DnsAnswer | None = None
    wild_ans: DnsAnswer | None = None
    lookups = [_resolve(ctx, h) for h in hosts if h.ip_literal is None and not _local_name(h.host)]
    if no_mail:
        async def _extra() -> None:
            nonlocal dmarc_ans, wild_ans
            dmarc_ans, wild_ans = await asyncio.gather(
                ctx.dns.query(f"_dmarc.{domain}", "TXT"), ctx.dns.query(f"*._domainkey.{domain}", "TXT"))
        lookups.append(_extra())
    await asyncio.gather(*lookups)
    meant_hosts = await _meant_hosts(ctx, domain, [h for h in hosts if not implicit and h.missing])

    working = [h for h in hosts if h.works]
    # -- findings about the hosts ---------------------------------------------------------------
    if nulls and real:
        findings.append(Finding(
            "mx.null-mx-mixed", Severity.ERROR,
            "Your domain has a 'null MX' record, which says 'this domain accepts no email', and also "
            "normal mail servers. That contradicts itself, and senders may refuse to deliver to you. "
            "If you receive mail at the servers listed, remove the null MX.",
            detail="RFC 7505 §3: a domain that advertises a null MX must not advertise any other MX "
                   "records.", rfc=RFC_NULL,
            fix=Fix(host=domain, type="MX", value=nulls[0].text, action="remove",
                    note="Remove the null MX; keep your real mail servers.")))
    elif nulls:
        findings.append(Finding(
            "mx.null-mx", Severity.INFO,
            "This domain says it accepts no email (a 'null MX' record). Mail sent to it bounces at once "
            "with a clear message. That's right if nobody should ever write to an address here.",
            detail="MX 0 . (RFC 7505).", rfc=RFC_NULL))
        if sends:
            findings.append(Finding(
                "mx.null-mx-with-senders", Severity.WARNING,
                "Your domain says it accepts no email (null MX), yet its SPF record allows servers to send "
                "mail as it. Receivers may refuse mail from a domain that can't receive replies or bounces. "
                "If you send mail from this domain, replace the null MX with the MX records your mail "
                "service gives you; if it never sends mail, change its SPF record to 'v=spf1 -all'.",
                detail=f"MX {domain}: 0 . ; SPF: {spf[0]}. RFC 7505 §4.2: mail whose return address is at a "
                       "null-MX domain is likely to be rejected, so a domain that sends mail should not "
                       "publish a null MX.", rfc="RFC 7505 §4.2"))
        if nulls[0].preference != 0 or len(nulls) > 1:
            findings.append(Finding(
                "mx.null-mx-preference", Severity.WARNING,
                "Your 'null MX' record is not written the standard way (it should be exactly '0 .'), so "
                "some senders may not recognise it.",
                detail=", ".join(n.text for n in nulls) + ": RFC 7505 requires a single record with "
                       "preference 0 and the target '.'.", rfc=RFC_NULL,
                fix=Fix(host=domain, type="MX", value=NULL_MX, action="replace",
                        note="Replace your MX record(s) with this single null MX.")))

    for h in hosts:
        if implicit:
            break
        # another server takes the mail only when it works and is not an alias (which some senders refuse)
        others_work = any(o is not h and not o.cname for o in working)
        aliases = [o for o in working if o is not h and o.cname]
        sev = Severity.WARNING if others_work else Severity.ERROR
        if others_work:
            consequence = " Mail still arrives through your other server(s), but this one is useless."
        elif aliases:
            consequence = (f" Your only other mail server, {aliases[0].host}, is an alias (CNAME), which some "
                           "senders refuse: they can't deliver mail to you at all.")
        else:
            consequence = " Nobody can deliver mail to you."
        if h.ip_literal is not None:
            h.error = "an IP address was written where a host name belongs"
            _ip_literal_findings(findings, domain, h, sev, consequence, others_work)
        elif _local_name(h.host):
            # RFC 6761 §6.3: 'localhost' is the machine asking; nothing to look up, one finding that says so
            h.error = "localhost always means the computer that looks it up"
            findings.append(Finding(
                "mx.target-private", sev,
                f"Your MX record points to {h.host}, a name that always means the computer that looks it up: a "
                "server sending you mail would try to deliver it to itself." + consequence,
                detail=f"{h.host}: a special-use name (RFC 6761 §6.3), answered by every resolver itself with a "
                       "loopback address or 'no such name'; it is never a server on the Internet.",
                rfc="RFC 6761 §6.3, " + RFC_MX,
                fix=_remove_fix(domain, h, others_work, aliases),
                no_fix="" if (others_work or aliases) else
                "Only you or your mail provider know which server receives your mail: replace the MX record "
                "with the one your mail service gives you."))
            continue
        elif h.unchecked and h.broken_chain:
            # a CNAME loop (or an endless chain): still "couldn't check", but one that waiting never cures
            why = h.error.removeprefix("couldn't check: ") if h.error else "its CNAME records loop"
            findings.append(Finding(
                "mx.target-unchecked", Severity.UNKNOWN,
                f"We couldn't look up the address of your mail server {h.host}: {why}. "
                "Sending servers can't look it up either, so mail to it is delayed and then bounced"
                + (" (mail still reaches your other server" + ("s" if len(working) > 1 else "") + ")"
                   if working else "") + ". Waiting won't help: the CNAME records at that name need correcting "
                "(point the MX record at a name with an address).", detail=f"{h.host}: {h.error}.", rfc=RFC_MX))
        elif h.unchecked:
            # couldn't check, even beside a working server: the card must not pass a server nobody looked at
            findings.append(Finding(
                "mx.target-unchecked", Severity.UNKNOWN,
                f"We couldn't look up the address of your mail server {h.host}, because DNS didn't answer "
                "properly, so we can't say whether it works"
                + (" (mail still reaches your other server" + ("s" if len(working) > 1 else "") + ")"
                   if working else "") + ". Try again later.", detail=f"{h.host}: {h.error}.", rfc=RFC_MX))
        elif not h.addresses and h.host in meant_hosts:
            # the full name typed into a form that added the zone again: the name meant exists and works
            guess = meant_hosts[h.host]
            target = guess.cname or guess.host
            removal = Fix(host=domain, type="MX", value=f"{h.preference} {h.host}.", action="remove",
                          note="Or remove this record; your other mail server(s) keep working.")
            findings.append(Finding(
                "mx.target-missing", sev,
                f"Your MX record points to {h.host}, but {h.error}." + consequence + f" It looks like "
                f"{guess.host} with .{h.host[len(guess.host) + 1:]} added to its end (DNS hosts' forms add the "
                "domain by themselves unless the name ends with a dot), and that name has a working address: "
                "replace the record with the one below.",
                detail=f"{h.host} A/AAAA: {h.error}. {guess.host} A/AAAA: " + ", ".join(guess.addresses[:4])
                       + (f" (through the alias {guess.host} → {guess.cname})" if guess.cname else "") + ".",
                rfc=RFC_MX,
                fix=Fix(host=domain, type="MX", value=f"{h.preference} {target}.", action="replace",
                        note=f"Replace the MX record '{h.preference} {h.host}.' with this one, the whole record. "
                             f"If your DNS host's form adds {domain} by itself, type the name with a final dot "
                             f"('{target}.') so that it isn't added again."),
                alternatives=(removal,) if others_work else ()))
        elif not h.addresses:
            findings.append(Finding(
                "mx.target-missing", sev,
                f"Your MX record points to {h.host}, but {h.error}." + consequence,
                detail=f"{h.host} A/AAAA: {h.error}.", rfc=RFC_MX,
                fix=_remove_fix(domain, h, others_work, aliases),
                no_fix="" if (others_work or aliases) else
                f"Only you or your mail provider know which server receives your mail: publish the address "
                f"(A/AAAA) of {h.host}, or replace the MX record with the one your mail service gives you."))
        if h.addresses and all(unreachable_address(a) for a in h.addresses):
            findings.append(Finding(
                "mx.target-private", Severity.WARNING,
                f"Your mail server {h.host} has only a private or local address ("
                + ", ".join(h.addresses[:5]) + (f" and {len(h.addresses) - 5} more" if len(h.addresses) > 5 else "")
                + "), which other servers on the Internet can't reach.",
                detail="Loopback, private (RFC 1918), shared, link-local and unique-local addresses are not "
                       "reachable from the Internet.", rfc=RFC_MX))
        if h.cname and h.addresses:
            findings.append(Finding(
                "mx.target-cname", Severity.WARNING,
                f"Your MX record points to {h.host}, which is an alias (CNAME) for {h.cname}. The rules "
                f"don't allow that and some senders refuse it; point the MX record at {h.cname} directly.",
                detail="RFC 2181 §10.3: the target of an MX record must not be an alias.",
                rfc="RFC 2181 §10.3, RFC 5321 §5.1",
                fix=Fix(host=domain, type="MX", value=f"{h.preference} {h.cname}.", action="replace",
                        note=f"Replace '{h.preference} {h.host}.' with this record. (Or keep the MX record and "
                             f"give {h.host} its own A/AAAA records instead of the alias.)")))
    if hosts and not implicit and working and not any(
            ipaddress.ip_address(a).version == 4 for h in working for a in h.addresses):
        findings.append(Finding(
            "mx.no-ipv4", Severity.WARNING,
            "Your mail servers only have IPv6 addresses. Many senders can only deliver over IPv4, so some "
            "mail won't reach you. Give at least one mail server an IPv4 (A) record.",
            detail="No MX target has an A record.", rfc=RFC_MX))

    # -- no MX at all: the implicit MX ----------------------------------------------------------
    parked = False
    if implicit:
        h = hosts[0]
        parked = spf_known and not spf and not meant
        if h.unchecked:
            findings.append(Finding(
                "mx.lookup-failed", Severity.UNKNOWN,
                "We couldn't look up this domain's address, because DNS didn't answer properly. Try again "
                "later.", detail=f"{domain} A/AAAA: {h.error}.", rfc=RFC_MX))
        elif h.addresses:
            if sends:
                advice = ("It sends mail (its SPF record lists servers), so replies and bounces need a real mail "
                          "server: publish the MX record your mail service gives you. (A null MX is not the "
                          "answer here: receivers may refuse mail from a domain that says it accepts none.)")
            else:
                advice = ("If you receive mail for this domain, publish the MX record your mail service gives "
                          "you; if nobody should ever write to it, publish a null MX"
                          + (" (below)." if no_mail else "."))
            findings.append(Finding(
                "mx.implicit", Severity.INFO if (parked or spf_reject_all) else Severity.WARNING,
                "This domain has no MX record, so senders deliver its mail to the domain's own address ("
                + ", ".join(h.addresses[:3]) + "), usually a web server that doesn't accept mail. " + advice,
                detail="RFC 5321 §5.1: with no MX records, the domain's A/AAAA address is the implicit MX "
                       "with preference 0." + (" RFC 7505 §4.2: a domain that sends mail should not publish a "
                                               "null MX." if sends else ""), rfc=RFC_MX,
                fix=None if (no_mail or sends) else Fix(
                    host=domain, type="MX", value=NULL_MX,
                    note="Only if this domain should receive no mail: a null MX (RFC 7505) makes senders "
                         "bounce at once instead of trying the web server.", kind="suggestion")))
        elif not no_mail:
            if sends:
                findings.append(Finding(
                    "mx.no-mail-server", Severity.WARNING,
                    "This domain has no mail server: no MX record and no address. It sends mail (its SPF record "
                    "lists servers), but replies and bounces to its addresses can't be delivered, and some "
                    "receivers refuse mail they can't reply to. Publish the MX record your mail service gives "
                    "you.",
                    detail=f"{domain} has neither MX nor A/AAAA records, but its SPF record allows senders. "
                           "RFC 7505 §4.2: a domain that sends mail should not publish a null MX instead.",
                    rfc=RFC_MX))
            else:
                findings.append(Finding(
                    "mx.no-mail-server", Severity.WARNING,
                    "This domain has no mail server: no MX record and no address. Replies and bounces to its "
                    "addresses can't be delivered. If it should never receive mail, publish a null MX so "
                    "senders find out at once.",
                    detail=f"{domain} has neither MX nor A/AAAA records.", rfc=RFC_MX,
                    fix=Fix(host=domain, type="MX", value=NULL_MX, kind="suggestion",
                            note="Only if this domain should never receive mail: a null MX (RFC 7505) says it "
                                 "accepts no mail.")))
        if not spf_known:
            findings.append(Finding(
                "mx.spf-unchecked", Severity.INFO,
                "We couldn't look up this domain's SPF record, so we can't tell whether it is a parked "
                "domain that should be locked down.", detail=f"{domain} TXT: {txt_ans.describe}.",
                rfc="RFC 7208 §4.4"))

    if no_mail:
        detail["parked"] = True
        _lockdown_findings(findings, domain, nulls, spf_reject_all, dmarc_ans, wild_ans,
                           undeclared=parked)

    detail["hosts"] = [h.to_json() for h in hosts]
    default = Status.INFO if (no_mail or (nulls and not real) or (implicit and not hosts[0].addresses)) else Status.PASS
    status = derive_status(findings, default=default)
    return CheckResult(
        name="mx", status=status, summary=_summary(status, domain, hosts, nulls, implicit, no_mail, parked),
        records=sorted(mx_ans.records, key=_by_preference), findings=findings, detail=dict(detail))


def _by_preference(text: str) -> tuple[int, str]:
    """MX records as senders try them (lowest preference first), not in the order this answer listed them."""
    head, _, rest = text.strip().partition(" ")
    return (int(head), rest.lower()) if head.isdigit() else (1 << 16, text)


def _ip_literal_findings(findings: list[Finding], domain: str, h: _Host, sev: Severity, consequence: str,
                         others_work: bool) -> None:
    ip = h.ip_literal or ""
    message = (f"Your MX record points to '{h.host}.', which is an IP address written where a host name "
               "belongs. Senders look it up as a name, find nothing, and can't deliver." + consequence)
    detail = "RFC 5321 §5.1 and RFC 7505: the MX target is a domain name; an address literal is not allowed."
    if others_work:
        findings.append(Finding(
            "mx.target-ip-literal", sev, message, detail=detail, rfc=RFC_MX,
            fix=Fix(host=domain, type="MX", value=f"{h.preference} {h.host}.", action="remove",
                    note="Remove this record; your other mail server(s) keep working.")))
        return
    target = f"mail.{domain}"
    rtype = "AAAA" if ":" in ip else "A"
    # one fix, two records: the MX pointing at a name works only once that name has the address
    address = Fix(host=target, type=rtype, value=ip, note="The address your MX record pointed to, as a name.")
    both = Fix(host=domain, type="MX", value=f"{h.preference} {target}.", action="replace",
               note=f"Replace '{h.preference} {h.host}.' with this record, and publish the address record for "
                    f"{target} with it. If {target} is already used for something else, pick another name.",
               title="Give the mail server a name", also_publish=(address,))
    findings.append(Finding(
        "mx.target-ip-literal", sev, message + f" Give the server a name ({target}) and point the MX at it.",
        detail=detail, rfc=RFC_MX, fix=both))
    findings.append(Finding(
        "mx.target-ip-literal-address", sev,
        f"Publish the address of your mail server under the name {target}.",
        detail=f"{target} {rtype} {ip}", rfc=RFC_MX, fix=both))


def _lockdown_findings(findings: list[Finding], domain: str, nulls: list[MxRecord], spf_reject_all: bool,
                       dmarc_ans: DnsAnswer | None, wild_ans: DnsAnswer | None, *, undeclared: bool) -> None:
    spf_fix, dmarc_fix, null_fix, dkim_fix = lockdown_fixes(domain)
    missing: list[Finding] = []
    if not spf_reject_all:
        missing.append(Finding(
            "mx.lockdown-spf", Severity.INFO,
            "Publish an SPF record that allows no server to send mail for this domain.",
            detail="v=spf1 -all: every sending server fails SPF.", rfc="RFC 7208 §5.1", fix=spf_fix))
    unchecked: list[str] = []
    if dmarc_ans is not None and dmarc_ans.failed:
        unchecked.append(f"_dmarc.{domain}")
    elif dmarc_ans is not None:
        dmarc = [t for t in dmarc_ans.txt if t.strip().lower().startswith("v=dmarc1")] if dmarc_ans.ok else []
        if not (len(dmarc) == 1 and _dmarc_policy(dmarc[0]) == "reject"):
            missing.append(Finding(
                "mx.lockdown-dmarc", Severity.INFO,
                "Publish a DMARC policy that tells receivers to reject any mail claiming to come from this "
                "domain." + (" It replaces your current DMARC record." if dmarc else ""),
                detail="p=reject: mail that fails SPF and DKIM alignment is refused (RFC 9989).",
                rfc="RFC 9989",
                fix=dmarc_fix if not dmarc else Fix(dmarc_fix.host, dmarc_fix.type, dmarc_fix.value,
                                                    action="replace", note=dmarc_fix.note
                                                    + " Replace your existing DMARC record with this one.")))
    if not nulls:
        missing.append(Finding(
            "mx.lockdown-null-mx", Severity.INFO,
            "Publish a 'null MX' record: it tells every sender that this domain accepts no email.",
            detail="MX 0 . (RFC 7505).", rfc=RFC_NULL, fix=null_fix))
    if wild_ans is not None and wild_ans.failed:
        unchecked.append(f"*._domainkey.{domain}")
    elif wild_ans is not None and not _revoked(wild_ans):
        missing.append(Finding(
            "mx.lockdown-dkim", Severity.INFO,
            "Publish a revoked DKIM key for every selector, stating that no DKIM signature of this domain "
            "is valid.", detail="*._domainkey TXT v=DKIM1; p= (an empty key is a revoked key, RFC 6376 "
                                "§3.6.1).", rfc="RFC 6376 §3.6.1", fix=dkim_fix))
    if unchecked:
        findings.append(Finding(
            "mx.lockdown-unchecked", Severity.INFO,
            "We couldn't check all of this domain's anti-spoofing records, because DNS didn't answer "
            "properly for: " + ", ".join(unchecked) + ".", rfc=RFC_NULL))
    # The warning (or note) that asks for the lockdown carries the records it asks for, all together (null MX
    # first on this card); each record is also on its own finding, which then says where it is shown.
    bundle = sorted((f.fix for f in missing if f.fix is not None), key=lambda x: x.type != "MX")
    together = replace(bundle[0], title="The lockdown records", also_publish=tuple(bundle[1:])) if bundle else None
    if undeclared:
        n = len(missing)
        findings.append(Finding(
            "mx.parked-lockdown", Severity.WARNING,
            "This domain has no mail server (MX) and no SPF record, so it looks unused for email. If this "
            f"domain never sends mail, publish {'these ' + _count(n, 'record') if n else 'the records'} "
            "so nobody can send mail pretending to be it. If you plan to use it for email, set up your "
            "mail service instead.",
            detail="A parked domain without SPF, DMARC and a null MX can be used by anyone as a From: "
                   "address. The lockdown set: v=spf1 -all, DMARC p=reject, null MX, revoked DKIM wildcard "
                   "(M3AAWG parked-domain practice; RFC 7505, RFC 7208, RFC 9989).",
            rfc=RFC_NULL, fix=together))
    elif missing:
        findings.append(Finding(
            "mx.lockdown-incomplete", Severity.INFO,
            f"This domain says it sends no mail. To stop others from sending in its name, also publish "
            f"{'this record' if len(missing) == 1 else 'these ' + _count(len(missing), 'record')}.",
            detail="The lockdown set: v=spf1 -all, DMARC p=reject, null MX, revoked DKIM wildcard.",
            rfc=RFC_NULL, fix=together if len(bundle) > 1 else None))
    elif not unchecked:
        findings.append(Finding(
            "mx.locked-down", Severity.INFO,
            "This domain is locked down: it accepts no mail, allows no sender, tells receivers to reject "
            "mail in its name, and has no valid DKIM key.",
            detail="null MX, v=spf1 -all, DMARC p=reject and a revoked DKIM wildcard are all published.",
            rfc=RFC_NULL))
    findings.extend(missing)


def _dmarc_policy(record: str) -> str | None:
    for part in record.split(";"):
        name, _, value = part.partition("=")
        if name.strip().lower() == "p":
            return value.strip().lower()
    return None


def _revoked(ans: DnsAnswer) -> bool:
    if not ans.ok or len(ans.txt) != 1:
        return False
    try:
        return parse_dkim_key(ans.txt[0]).revoked
    except DkimKeyError:
        return False


def _summary(status: Status, domain: str, hosts: list[_Host], nulls: list[MxRecord], implicit: bool,
             no_mail: bool, parked: bool) -> str:
    if nulls and not hosts:
        return "This domain says it accepts no email (null MX)."
    if implicit:
        h = hosts[0]
        if parked:
            return "This domain doesn't seem to be used for email (no MX and no SPF record)."
        if h.addresses:
            return f"No MX record: mail for {domain} goes to the domain's own address ({h.addresses[0]})."
        if status is Status.ERROR:
            return "MX couldn't be fully checked: DNS didn't answer."
        return f"No MX record and no address: {domain} can't receive mail."
    names = ", ".join(h.host for h in hosts[:3]) + (f" and {len(hosts) - 3} more" if len(hosts) > 3 else "")
    servers = "1 server" if len(hosts) == 1 else f"{len(hosts)} servers"
    if status is Status.PASS:
        return f"Mail for {domain} goes to {servers}: {names}."
    if status is Status.ERROR:
        return f"Mail for {domain} goes to {servers} ({names}), but we couldn't check them all."
    if status is Status.FAIL:
        return f"Mail for {domain} can't be delivered as set up: check the MX records."
    return f"Mail for {domain} goes to {servers} ({names}), with something to improve."


__all__ = ["check"]
