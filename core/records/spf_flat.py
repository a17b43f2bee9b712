"""SPF flattening: an include (or an a/mx rule) replaced by the ip4:/ip6: ranges it gives today.

Shared by the SPF check (its "flatten the most expensive includes" fix), the SPF builder (flattening on
request) and the watch list (are the ranges published from a flattened include still what it gives?).

A flattened range set is a snapshot: providers add and change sending addresses without notice. Flattening
is refused where it would change who passes rather than give a wrong list: a rule that depends on the
sender (macros, ``exists``, ``ptr``), a nested record whose ``-``/``~``/``?`` rule comes before addresses it
could exclude, a nested ``+all``, several or no SPF records, and any lookup that fails (a partial list
would drop senders).
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..dns.client import DnsClient, normalize_name
from ..model import split_txt
from .spf_macro import SpfSyntaxError
from .spf_parse import Mechanism, SpfRecord, is_spf_record, parse_record_lenient, parse_term

__all__ = ["FLATTEN_WARNING", "MAX_FLAT_FETCHES", "FlattenResult", "Ranges", "collapse", "flatten", "net_term",
           "range_terms", "ranges_of", "resolve_term"]

RECORD_SIZE_ADVICE = 450
PLACEHOLDER_DOMAIN = "spf-builder.invalid"
MAX_FLAT_FETCHES = 40
MAX_FLAT_DEPTH = 10
FLATTEN_WARNING = (
    "A flattened record lists the providers' addresses as they are today. Providers add and change their "
    "sending addresses without telling you, and then your mail from the new addresses fails SPF. Only flatten "
    "if you can't get under 10 lookups otherwise, and rebuild the record every month (or use a service that "
    "does it for you).")


def collapse(nets: Iterable[str]) -> list[str]:
    """Networks merged and sorted (IPv4 first)."""
    v4: list[ipaddress.IPv4Network] = []
    v6: list[ipaddress.IPv6Network] = []
    for n in nets:
        net = ipaddress.ip_network(n, strict=False)
        (v4 if net.version == 4 else v6).append(net)  # type: ignore[arg-type]
    return [str(n) for n in (*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6))]


def net_term(net: str) -> str:
    """``192.0.2.0/24`` → ``ip4:192.0.2.0/24``; a single address without its prefix length."""
    n = ipaddress.ip_network(net, strict=False)
    full = 32 if n.version == 4 else 128
    return f"ip{n.version}:{n.network_address}" + ("" if n.prefixlen == full else f"/{n.prefixlen}")


def range_terms(nets: Iterable[str]) -> list[str]:
    return [net_term(n) for n in collapse(nets)]


def ranges_of(record: str) -> list[str]:
    """The networks of a record's pass ip4:/ip6: terms (collapsed)."""
    try:
        rec = parse_record_lenient(record)
    except SpfSyntaxError:
        return []
    return collapse(str(m.network) for m in rec.mechanisms
                    if m.kind in ("ip4", "ip6") and m.qualifier == "+" and m.network is not None)


@dataclass
class Ranges:
    """What one term gives today: its networks, or why it can't be flattened."""

    term: str
    networks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"term": self.term, "networks": list(self.networks), "problems": list(self.problems)}


class _Flattener:
    def __init__(self, dns: DnsClient) -> None:
        self.dns = dns
        self.problems: list[str] = []
        self.fetches = 0

    def problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    async def record(self, domain: str) -> SpfRecord | None:
        self.fetches += 1
        if self.fetches > MAX_FLAT_FETCHES:
            self.problem(f"The include tree is too large to flatten safely (over {MAX_FLAT_FETCHES} records).")
            return None
        ans = await self.dns.query(domain, "TXT")
        if ans.failed:
            self.problem(f"We couldn't look up {domain}: {ans.describe}.")
            return None
        recs = [t for t in ans.txt if is_spf_record(t)] if ans.ok else []
        if len(recs) != 1:
            self.problem(f"{domain} has {len(recs)} SPF records, so it can't be flattened.")
            return None
        rec = parse_record_lenient(recs[0])
        if rec.errors:
            self.problem(f"The SPF record of {domain} has an error, so it can't be flattened: {rec.errors[0]}.")
            return None
        return rec

    async def addresses(self, name: str, cidr4: int | None, cidr6: int | None) -> list[str]:
        a, aaaa = await asyncio.gather(self.dns.query(name, "A"), self.dns.query(name, "AAAA"))
        out: list[str] = []
        for ans, cidr in ((a, cidr4), (aaaa, cidr6)):
            if ans.failed:
                self.problem(f"We couldn't look up {name}: {ans.describe}.")
            for r in ans.records if ans.ok else ():
                suffix = f"/{cidr}" if cidr is not None else ""
                try:
                    out.append(str(ipaddress.ip_network(f"{r}{suffix}", strict=False)))
                except ValueError:
                    continue
        return out

    async def term(self, m: Mechanism, domain: str, depth: int) -> list[str]:
        """The networks a pass mechanism ``m`` of the record at ``domain`` matches."""
        target = normalize_name(m.domain_spec or domain)
        if m.has_macros or m.kind in ("exists", "ptr"):
            self.problem(f"'{m.text}' in the record of {domain} depends on the sender and can't be replaced by "
                         "addresses.")
            return []
        if m.kind in ("ip4", "ip6"):
            return [str(m.network)] if m.network is not None else []
        if m.kind == "a":
            return await self.addresses(target, m.ip4_cidr, m.ip6_cidr)
        if m.kind == "mx":
            ans = await self.dns.query(target, "MX")
            if ans.failed:
                self.problem(f"We couldn't look up the mail servers (MX) of {target}: {ans.describe}.")
                return []
            hosts = [r.split()[-1].rstrip(".") for r in (ans.records if ans.ok else ()) if r.split()[-1] != "."]
            if len(hosts) > 10:
                self.problem(f"'{m.text}' in the record of {domain} lists more than 10 mail servers.")
                return []
            out: list[str] = []
            for got in await asyncio.gather(*(self.addresses(h, m.ip4_cidr, m.ip6_cidr) for h in hosts)):
                out.extend(got)
            return out
        if m.kind == "include":
            sub = await self.record(target)
            return await self.record_ranges(sub, target, depth + 1) if sub is not None else []
        if m.kind == "all":
            self.problem(f"The record of {domain} ends in '{m.text}', which lets every server pass: it can't be "
                         "written as addresses.")
        return []

    async def record_ranges(self, rec: SpfRecord, domain: str, depth: int) -> list[str]:
        """The networks for which ``rec`` (an included record) gives "pass"."""
        if depth > MAX_FLAT_DEPTH:
            self.problem("The includes nest too deeply to flatten.")
            return []
        nets: list[str] = []
        blocked: Mechanism | None = None  # a non-pass rule seen before a pass rule: order would matter
        for m in rec.evaluated_mechanisms:
            if m.kind == "all":
                if m.qualifier == "+":
                    nets.extend(await self.term(m, domain, depth))
                break
            if m.qualifier != "+":
                blocked = blocked or m
                continue
            if blocked is not None:
                self.problem(f"'{blocked.text}' in the record of {domain} comes before '{m.text}' and may exclude "
                             "some of its servers: flattening it would change who passes.")
                return []
            nets.extend(await self.term(m, domain, depth))
        red = rec.effective_redirect
        if red is not None:
            if red.has_macros:
                self.problem(f"'{red.text}' in the record of {domain} depends on the sender.")
                return nets
            if blocked is not None:
                self.problem(f"'{blocked.text}' in the record of {domain} comes before its redirect: flattening "
                             "it would change who passes.")
                return []
            sub = await self.record(normalize_name(red.value))
            if sub is not None:
                nets.extend(await self.record_ranges(sub, normalize_name(red.value), depth + 1))
        return nets


async def resolve_term(term: str, dns: DnsClient, domain: str) -> Ranges:
    """The networks one pass term of the record at ``domain`` gives today (``include:x``, ``a``, ``mx``,
    ``redirect=x``, or an ip4:/ip6: term), or why it can't be flattened."""
    fl = _Flattener(dns)
    d = normalize_name(domain)
    try:
        t = parse_term(term)
    except SpfSyntaxError as exc:
        return Ranges(term, problems=[f"'{term}' is not an SPF rule: {exc}."])
    if not isinstance(t, Mechanism):
        if t.name == "redirect" and not t.has_macros:
            sub = await fl.record(normalize_name(t.value))
            nets = await fl.record_ranges(sub, normalize_name(t.value), 1) if sub is not None else []
        else:
            fl.problem(f"'{term}' can't be replaced by addresses.")
            nets = []
    elif t.qualifier != "+" or t.kind == "all":
        fl.problem(f"'{term}' is not a rule that lets servers pass.")
        nets = []
    else:
        nets = await fl.term(t, d, 0)
    if fl.problems:
        return Ranges(term, problems=fl.problems)
    if not nets:
        return Ranges(term, problems=[f"'{term}' gives no addresses today."])
    return Ranges(term, collapse(nets))


@dataclass
class FlattenResult:
    """A flattened record (or why it couldn't be made)."""

    record: str | None
    lookups: int
    networks: list[str] = field(default_factory=list)
    sources: dict[str, list[str]] = field(default_factory=dict)  # the term flattened → the addresses it gave
    kept: list[str] = field(default_factory=list)  # terms left as they are (macros, exists, ...)
    problems: list[str] = field(default_factory=list)
    warning: str = FLATTEN_WARNING

    @property
    def ok(self) -> bool:
        return self.record is not None and not self.problems

    @property
    def strings(self) -> list[str]:
        return split_txt(self.record) if self.record else []

    def to_json(self) -> dict[str, Any]:
        return {"record": self.record, "lookups": self.lookups, "networks": list(self.networks),
                "sources": {k: list(v) for k, v in self.sources.items()}, "kept": list(self.kept),
                "problems": list(self.problems), "warning": self.warning, "ok": self.ok, "strings": self.strings}


def replace_terms(record: str, ranges: dict[str, list[str]]) -> str:
    """``record`` with each term named in ``ranges`` (by its text, any case) replaced in place by its
    ip4:/ip6: terms; a range already listed earlier in the record is not repeated."""
    out: list[str] = []
    have: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    low = {k.lower(): v for k, v in ranges.items()}
    for token in record.split():
        nets = low.get(token.lower())
        if nets is None:
            out.append(token)
            try:
                t = parse_term(token) if not token.lower().startswith("v=spf1") else None
            except SpfSyntaxError:
                t = None
            if isinstance(t, Mechanism) and t.kind in ("ip4", "ip6") and t.qualifier == "+" and t.network is not None:
                have.append(t.network)
            continue
        for n in collapse(nets):
            net = ipaddress.ip_network(n)
            if any(net.version == h.version and net.subnet_of(h) for h in have):  # type: ignore[arg-type]
                continue
            have.append(net)
            out.append(net_term(n))
    return " ".join(out)


async def flatten(record: str, dns: DnsClient, domain: str | None = None) -> FlattenResult:
    """``record`` with every pass include, a, mx and redirect replaced, in place, by the addresses they give
    today. Rules that depend on the sender (macros, exists) and rules that do not pass stay as they are.
    Only on request: see ``FLATTEN_WARNING``. A lookup that fails, or a branch that can't be flattened
    without changing who passes, makes ``record`` None (a partial list would drop senders)."""
    try:
        rec = parse_record_lenient(record.strip())
    except SpfSyntaxError as exc:
        return FlattenResult(None, 0, problems=[f"This is not an SPF record: {exc}."])
    if rec.errors:
        return FlattenResult(None, 0, problems=[f"Fix the record first: {rec.errors[0]}."])
    d = normalize_name(domain) if domain else PLACEHOLDER_DOMAIN
    sources: dict[str, list[str]] = {}
    kept: list[str] = []
    problems: list[str] = []
    targets: list[str] = []
    for m in rec.evaluated_mechanisms:
        if m.kind == "all":
            break
        if m.kind in ("include", "a", "mx") and m.qualifier == "+" and not m.has_macros:
            targets.append(m.text)
        elif m.kind not in ("ip4", "ip6"):
            kept.append(m.text)
    red = rec.effective_redirect
    if red is not None:
        targets.append(red.text)
    results = await asyncio.gather(*(resolve_term(t, dns, d) for t in targets))
    for r in results:
        if r.ok:
            sources[r.term] = r.networks
        else:
            problems.extend(p for p in r.problems if p not in problems)
    if problems:
        return FlattenResult(None, 0, sources=sources, kept=kept, problems=problems)
    text = record.strip()
    if red is not None:  # the redirect's senders go before 'all' (a record with a redirect has no 'all')
        tokens = [t for t in text.split() if t.lower() != red.text.lower()]
        text = " ".join(tokens + [red.text, "~all"])
    flat = replace_terms(text, sources)
    networks = ranges_of(flat)
    lookups = sum(1 for t in kept if parse_term(t).costs_lookup)
    size = len(flat.encode())
    if size > RECORD_SIZE_ADVICE:
        problems.append(f"The flattened record is {size} characters, over the 450 RFC 7208 §3.4 advises; split the "
                        "addresses over a few records of your own (include:spf1.yourdomain, ...) instead.")
    return FlattenResult(flat, lookups, networks=networks, sources=sources, kept=kept, problems=problems)
