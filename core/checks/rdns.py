"""Reverse DNS: does each server that sends (or receives) mail for the domain have a PTR record that
points to a name which points back to the same address (forward-confirmed reverse DNS, FCrDNS)?

Google and Yahoo require FCrDNS for the IP addresses that send to them (their 2024 sender rules), and many
receivers score mail from addresses without reverse DNS as spam. The addresses we can learn: the domain's
own SPF record (its ``ip4``/``ip6`` single hosts and the first few addresses of small ranges, the
addresses of its ``a`` and ``mx`` terms), its MX hosts, and the addresses seen sending a real test message
(``ctx.options.sending_ips``).

PTR records live in the reverse zone of whoever owns the address (the hosting or mail provider), not in the
domain's own zone: the advice says so, and the only fix we give in the user's zone is the forward A/AAAA
record when the PTR already names a host in their domain.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import dataclass, field
from typing import TypedDict

import dns.exception
import dns.reversename

from ..context import CheckContext
from ..dns.client import DnsAnswer
from ..model import CheckResult, Finding, Fix, Severity, Status, derive_status
from ..records.mx import MxParseError, parse_mx
from ..records.spf_parse import spf_records
from ..records.spf_parse import Mechanism, SpfSyntaxError, parse_record_lenient


class SendingIpDetail(TypedDict):
    """One sending address as the reverse DNS card shows it."""

    ip: str
    source: str  # "spf" | "mx" | "message"
    via: str
    ptr: list[str]
    confirmed: bool | None  # the name points back to the address; None: couldn't check
    problem: str | None


class RdnsDetail(TypedDict):
    """``CheckResult.detail`` of the reverse DNS check (every key is always there)."""

    hosts: list[SendingIpDetail]
    capped: bool  # more addresses were found than are checked
    found: int  # how many were found

__all__ = ["MAX_ADDRESSES", "RANGE_SAMPLE", "SendingIp", "check", "check_sending_ips", "reverse_name", "spf_addresses"]

MAX_ADDRESSES = 20  # addresses checked per run
RANGE_SAMPLE = 4  # addresses taken from a small ip4/ip6 range
SMALL_RANGE = 16  # ranges of at most this many addresses are sampled; larger ones are not tested
MAX_PTR_NAMES = 3  # PTR names followed per address
RFC = "RFC 8601 §3 / M3AAWG; Google and Yahoo sender requirements (2024)"
_ORDER = {"message": 0, "spf": 1, "mx": 2}


@dataclass
class SendingIp:
    ip: str
    source: str  # "spf" | "mx" | "message"
    via: str
    ptr: list[str] = field(default_factory=list)
    confirmed: bool | None = None
    problem: str | None = None

    def to_json(self) -> SendingIpDetail:
        return {"ip": self.ip, "source": self.source, "via": self.via, "ptr": list(self.ptr),
                "confirmed": self.confirmed, "problem": self.problem}


def reverse_name(ip: str) -> str:
    """``192.0.2.1`` → ``1.2.0.192.in-addr.arpa`` (no trailing dot). Raises ``ValueError`` for a bad IP."""
    ipaddress.ip_address(ip)
    return dns.reversename.from_address(ip).to_text().rstrip(".")


def spf_addresses(record: str) -> tuple[list[tuple[str, str]], list[str], list[Mechanism]]:
    """From one SPF record: ([(ip, term)...] to test, [ranges too large to test], [a/mx terms]).

    Only terms that let mail pass (qualifier ``+``) count. Never raises."""
    try:
        rec = parse_record_lenient(record)
    except (SpfSyntaxError, ValueError):
        return [], [], []
    ips: list[tuple[str, str]] = []
    skipped: list[str] = []
    lookups: list[Mechanism] = []
    for m in rec.mechanisms:
        if m.qualifier != "+":
            continue
        if m.kind in ("a", "mx"):
            if not m.has_macros:
                lookups.append(m)
            continue
        if m.kind not in ("ip4", "ip6"):
            continue
        try:
            net = m.network
        except ValueError:
            continue
        if net is None:
            continue
        if net.num_addresses == 1:
            ips.append((str(net.network_address), m.text))
        elif net.num_addresses <= SMALL_RANGE:
            hosts = list(net.hosts()) or [net.network_address]
            ips.extend((str(h), m.text) for h in hosts[:RANGE_SAMPLE])
        else:
            skipped.append(m.text)
    return ips, skipped, lookups


def _addresses(*answers: DnsAnswer) -> list[str]:
    out: list[str] = []
    for ans in answers:
        if ans.ok:
            for r in ans.records:
                try:
                    out.append(str(ipaddress.ip_address(r.strip())))
                except ValueError:
                    continue
    return out


async def _host_addresses(ctx: CheckContext, host: str) -> tuple[list[str], bool]:
    """(addresses of ``host``, True when a lookup failed)."""
    a, aaaa = await asyncio.gather(ctx.dns.query(host, "A"), ctx.dns.query(host, "AAAA"))
    return _addresses(a, aaaa), a.failed or aaaa.failed


async def _mx_hosts(ctx: CheckContext, name: str) -> tuple[list[str], bool]:
    ans = await ctx.dns.query(name, "MX")
    hosts: list[str] = []
    for r in ans.records if ans.ok else ():
        try:
            mx = parse_mx(r)
        except MxParseError:
            continue
        if not mx.null and mx.host not in hosts:
            hosts.append(mx.host)
    return hosts, ans.failed


class _Collector:
    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.found: dict[str, SendingIp] = {}
        self.skipped_ranges: list[str] = []
        self.failed_lookups: list[str] = []

    def add(self, ip: str, source: str, via: str) -> None:
        try:
            ip = str(ipaddress.ip_address(ip.strip()))
        except ValueError:
            return
        have = self.found.get(ip)
        if have is None or _ORDER[source] < _ORDER[have.source]:
            self.found[ip] = SendingIp(ip, source, via)

    async def collect(self) -> None:
        domain = self.ctx.domain
        for ip in self.ctx.options.sending_ips:
            self.add(ip, "message", self.ctx.options.sending_ip_label)
        txt = await self.ctx.dns.txt(domain)
        if txt.failed:
            self.failed_lookups.append(f"the SPF record of {domain}: {txt.describe}")
        spf = spf_records(txt.txt) if txt.ok else []
        if len(spf) == 1:
            ips, skipped, lookups = spf_addresses(spf[0])
            self.skipped_ranges = skipped
            for ip, term in ips:
                self.add(ip, "spf", term)
            for m in lookups:
                target = (m.domain_spec or domain).rstrip(".").lower()
                if m.kind == "a":
                    addrs, failed = await _host_addresses(self.ctx, target)
                    if failed:
                        self.failed_lookups.append(f"the addresses of {target}")
                    for ip in addrs:
                        self.add(ip, "spf", m.text)
                else:
                    hosts, failed = await _mx_hosts(self.ctx, target)
                    if failed:
                        self.failed_lookups.append(f"the MX records of {target}")
                    for host, (addrs, _failed) in zip(hosts, await asyncio.gather(
                            *(_host_addresses(self.ctx, h) for h in hosts))):
                        for ip in addrs:
                            self.add(ip, "spf", f"{m.text} ({host})")
        hosts, failed = await _mx_hosts(self.ctx, domain)
        if failed:
            self.failed_lookups.append(f"the MX records of {domain}")
        for host, (addrs, hfailed) in zip(hosts, await asyncio.gather(*(_host_addresses(self.ctx, h) for h in hosts))):
            if hfailed and not addrs:
                self.failed_lookups.append(f"the addresses of {host}")
            for ip in addrs:
                self.add(ip, "mx", host)

    def ordered(self) -> list[SendingIp]:
        return sorted(self.found.values(), key=lambda h: _ORDER[h.source])  # stable: discovery order within


async def _verify(ctx: CheckContext, host: SendingIp) -> bool:
    """Fill in ``ptr``/``confirmed``/``problem``. Returns True when a lookup failed (couldn't check)."""
    try:
        rev = reverse_name(host.ip)
    except (ValueError, dns.exception.DNSException):
        host.problem = "not an IP address"
        return False
    ptr = await ctx.dns.query(rev, "PTR")
    if ptr.failed:
        host.problem = f"the reverse lookup failed because {ptr.describe}"
        return True
    if not ptr.ok:
        host.confirmed = False
        host.problem = "no PTR record (no reverse DNS name)"
        return False
    host.ptr = [r.rstrip(".").lower() for r in ptr.records]
    family = "AAAA" if ":" in host.ip else "A"
    any_failed = False
    for name in host.ptr[:MAX_PTR_NAMES]:
        fwd = await ctx.dns.query(name, family)
        if fwd.failed:
            any_failed = True
            continue
        if host.ip in _addresses(fwd):
            host.confirmed = True
            host.problem = None
            return False
    if any_failed:
        host.problem = "the PTR name could not be looked up"
        return True
    host.confirmed = False
    host.problem = f"the PTR name {host.ptr[0]} does not point back to {host.ip}"
    return False


def _in_domain(name: str, domain: str) -> bool:
    return name == domain or name.endswith("." + domain)


def _severity(source: str) -> Severity:
    return {"message": Severity.ERROR, "spf": Severity.WARNING, "mx": Severity.INFO}[source]


def _who(h: SendingIp) -> str:
    if h.source == "message":
        return f"The server {h.ip} that sent your {h.via}"
    if h.source == "spf":
        return f"The sending address {h.ip} (from your SPF record, {h.via})"
    return f"Your mail server {h.via} ({h.ip})"


_PROVIDER = ("Reverse DNS (PTR) records are set by whoever owns the IP address, usually your hosting or mail "
             "provider, not in your own DNS zone: ask them to set it.")


def _finding(ctx: CheckContext, h: SendingIp) -> Finding:
    sev = _severity(h.source)
    consequence = ("Google, Yahoo and others require it for servers that send mail, and may reject or junk "
                   "mail from it." if h.source != "mx" else
                   "This only matters if this server also sends mail; receiving works without it.")
    family = "AAAA" if ":" in h.ip else "A"
    rev = reverse_name(h.ip)
    if h.confirmed is False and h.ptr:
        name = h.ptr[0]
        fix = None
        if _in_domain(name, ctx.domain):
            fix = Fix(host=name, type=family, value=h.ip, action="publish",
                      note=f"Publish this in your own DNS zone so that {name} points back to {h.ip}. The "
                           f"reverse record ({rev}. PTR {name}.) is already in place at your provider. If "
                           f"{name} is also your incoming mail server, give this sender its own name instead "
                           f"and ask your provider to change the PTR record to it.")
            tail = f"Publish the {family} record below so that {name} points back to {h.ip}."
        else:
            tail = (f"{name} is not in your domain: ask your provider to point the PTR record of {h.ip} to a "
                    f"name that resolves back to it.")
        return Finding(
            "rdns.not-confirmed", sev,
            f"{_who(h)} has a reverse DNS name ({name}) that does not point back to it. {consequence} {tail}",
            detail=f"PTR {rev} → {', '.join(h.ptr)}; no {family} record of those names is {h.ip} "
                   f"(forward-confirmed reverse DNS fails).", rfc=RFC, fix=fix)
    if h.source == "mx":
        ask = f"{rev}. PTR {h.via}."
    else:
        ask = (f"{rev}. PTR <a host name in your domain, e.g. mail.{ctx.domain}>, and that name needs an "
               f"{family} record {h.ip} in your zone")
    return Finding(
        "rdns.missing-ptr", sev,
        f"{_who(h)} has no reverse DNS name. {consequence} {_PROVIDER}",
        detail=f"No PTR record at {rev}. The record to ask for: {ask}.", rfc=RFC)


async def check_sending_ips(ctx: CheckContext, ips: list[str], label: str = "message") -> CheckResult:
    """The "rdns" result for just these sending addresses (a message or a bounce showed them), without the
    domain's SPF and MX addresses: forward-confirmed reverse DNS for each, findings as ``check`` gives them."""
    started = time.monotonic()
    col = _Collector(ctx)
    for ip in ips:
        col.add(ip, "message", label)
    hosts = col.ordered()[:MAX_ADDRESSES]
    failed = await asyncio.gather(*(_verify(ctx, h) for h in hosts))
    findings: list[Finding] = []
    for h, f in zip(hosts, failed):
        if f:
            findings.append(Finding("rdns.lookup-failed", Severity.UNKNOWN,
                                    f"We couldn't check the reverse DNS of {h.ip}: {h.problem}.",
                                    detail=f"{h.source} ({h.via})", rfc=RFC))
        elif h.confirmed is False:
            findings.append(_finding(ctx, h))
    status = derive_status(findings, default=Status.PASS if hosts else Status.INFO)
    if not hosts:
        summary = "No sending address to check reverse DNS for."
    elif status is Status.ERROR:
        summary = "Couldn't check the reverse DNS of the sending server."
    elif all(h.confirmed for h in hosts):
        summary = ("The sending server's address has reverse DNS that points back to it." if len(hosts) == 1 else
                   f"All {len(hosts)} sending addresses have reverse DNS that points back to them.")
    else:
        summary = ("The sending server lacks working reverse DNS." if len(hosts) == 1 else
                   f"{sum(1 for h in hosts if not h.confirmed)} of {len(hosts)} sending addresses lack working "
                   "reverse DNS.")
    records = [f"{reverse_name(h.ip)} PTR {p}" for h in hosts for p in h.ptr]
    return CheckResult(name="rdns", status=status, summary=summary, records=records, findings=findings,
                       detail={"hosts": [h.to_json() for h in hosts], "capped": False, "found": len(hosts)},
                       elapsed_ms=(time.monotonic() - started) * 1000)


async def check(ctx: CheckContext) -> CheckResult:
    """Forward-confirmed reverse DNS for every sending/receiving address we can learn."""
    started = time.monotonic()
    findings: list[Finding] = []
    col = _Collector(ctx)
    await col.collect()
    everything = col.ordered()
    hosts = everything[:MAX_ADDRESSES]
    capped = len(everything) > MAX_ADDRESSES
    failed = await asyncio.gather(*(_verify(ctx, h) for h in hosts))
    for h, f in zip(hosts, failed):
        if f:
            findings.append(Finding(
                "rdns.lookup-failed", Severity.UNKNOWN,
                f"We couldn't check the reverse DNS of {h.ip}: {h.problem}.",
                detail=f"{h.source} ({h.via})", rfc=RFC))
        elif h.confirmed is False:
            findings.append(_finding(ctx, h))
    if col.failed_lookups and not hosts:
        findings.append(Finding(
            "rdns.lookup-failed", Severity.UNKNOWN,
            "We couldn't find out which servers send mail for this domain, so reverse DNS wasn't checked.",
            detail="Failed: " + "; ".join(col.failed_lookups)))
    if capped:
        findings.append(Finding(
            "rdns.capped", Severity.INFO,
            f"Your domain lists {len(everything)} mail server addresses; we checked the first {MAX_ADDRESSES}.",
            detail=f"Not checked: {', '.join(h.ip for h in everything[MAX_ADDRESSES:][:20])}"))
    if col.skipped_ranges:
        findings.append(Finding(
            "rdns.ranges-not-tested", Severity.INFO,
            "Your SPF record allows whole ranges of addresses; we don't test every address in a range. "
            "Make sure the addresses that actually send have reverse DNS.",
            detail="Ranges: " + ", ".join(col.skipped_ranges[:10])))
    if not hosts and not col.failed_lookups:
        findings.append(Finding(
            "rdns.no-sending-ips", Severity.INFO,
            "We found no mail server addresses to check: your SPF record names no addresses of its own and "
            "the domain has no mail servers. Send a test message to check the server that really sends.",
            detail="No ip4/ip6/a/mx terms in the SPF record, no MX hosts, no addresses from a test message."))
    all_good = bool(hosts) and all(h.confirmed for h in hosts)
    status = derive_status(findings, default=Status.PASS if all_good else Status.INFO)
    confirmed = sum(1 for h in hosts if h.confirmed)
    unknown = sum(1 for f in failed if f)
    lacking = sum(1 for h, f in zip(hosts, failed) if not f and not h.confirmed)
    partial = f"; {unknown} couldn't be checked" if unknown else ""
    if status is Status.ERROR:
        summary = "Couldn't check reverse DNS for all of your mail servers."
    elif not hosts:
        summary = "No mail server addresses to check reverse DNS for."
    elif capped:  # never "all 20" when there are 300: say how many were checked of how many
        of = f"the {len(hosts)} mail server addresses we checked (of {len(everything)}; the first {MAX_ADDRESSES} only)"
        summary = (f"All {of} have reverse DNS that points back to them." if confirmed == len(hosts) else
                   f"{lacking} of {of} lack working reverse DNS{partial}.")
    elif confirmed == len(hosts):
        summary = (f"All {len(hosts)} mail server addresses have reverse DNS that points back to them."
                   if len(hosts) > 1 else "Your mail server's address has reverse DNS that points back to it.")
    else:
        summary = f"{lacking} of {len(hosts)} mail server addresses lack working reverse DNS{partial}."
    records = [f"{reverse_name(h.ip)} PTR {p}" for h in hosts for p in h.ptr]
    detail: RdnsDetail = {"hosts": [h.to_json() for h in hosts], "capped": capped, "found": len(everything)}
    return CheckResult(name="rdns", status=status, summary=summary, records=records, findings=findings,
                       detail=dict(detail), elapsed_ms=(time.monotonic() - started) * 1000)
