"""Who may send: the set of addresses an SPF record gives each result to (RFC 7208 §4–§6).

``check_host()`` (``spf_eval``) answers for one address. ``reach(dns, domain)`` answers for all of them
at once: it evaluates the record over *sets* of addresses, in the evaluator's order (first match wins,
an ``include`` matches where its target gives ``pass`` (§5.2), a ``redirect`` hands every address
nothing matched to its target (§6.1), ``all`` takes the rest), and returns, for each result, the
addresses that get it. From that:

- ``Reach.open``: the record lets a huge share of the Internet pass (``+all`` anywhere it is reached,
  an include or redirect of such a record, ``ip4:0.0.0.0/1``, ``mx/0``...). Measured over globally
  routable space only (private, loopback, multicast and documentation ranges can't send mail over the
  Internet): at least a /8 of IPv4 (``OPEN_V4``, 1/256 of all addresses, 64 to 256 times the largest
  block a real mail provider publishes, /14 to /16) or a /16 of IPv6 (``OPEN_V6``; providers publish
  /32 to /56).
- ``Reach.contributions``: which term of the record itself lets how many addresses pass, with the term
  deepest down that does it (the ``+all`` inside an included record), so a message can name the term
  that opens the door and a fix can remove it.
- ``Reach.default(family)``: the result most of the Internet gets, i.e. the one for addresses nobody
  listed (``softfail`` for a record ending ``~all``); ``widens(before, after)`` says whether a change
  of record lets more unlisted senders through.

The pass set is a lower bound: what depends on the sender (macros other than %{d}/%{o}, ``ptr``,
``exists`` with a macro) matches nothing here, and a lookup that fails gives the rest ``temperror``, as
the evaluator would. Lookup and void-lookup limits (§4.6.4) are applied along the path of an address
that matches nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..dns.client import DnsAnswer, DnsClient
from .spf_macro import (
    SpfSyntaxError, is_valid_domain_name, static_target,
)
from .spf_parse import Mechanism, SpfRecord, parse_record
from .spf_walk import (
    MAX_MX, LookupTally, SpfStop, TreeBudget, fetch_record, follow_problem, mx_hosts,
)

__all__ = ["AddrSet", "Contribution", "OPEN_V4", "OPEN_V6", "Reach", "reach", "widens"]

_V4 = 1 << 128  # IPv4 addresses live at [_V4, _V4 + 2**32) of one integer space; IPv6 at [0, 2**128)
_END = _V4 + (1 << 32)
OPEN_V4 = 1 << 24  # a /8
OPEN_V6 = 1 << 112  # a /16
RESULTS = ("pass", "fail", "softfail", "neutral", "none", "temperror", "permerror")
_STRENGTH = {"pass": 0, "neutral": 1, "none": 1, "temperror": 1, "permerror": 1, "softfail": 2, "fail": 2}


class AddrSet:
    """A set of IPv4 and IPv6 addresses as sorted, disjoint half-open integer intervals."""

    __slots__ = ("spans",)

    def __init__(self, spans: Iterable[tuple[int, int]] = ()) -> None:
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted(s for s in spans if s[0] < s[1]):
            if merged and lo <= merged[-1][1]:
                if hi > merged[-1][1]:
                    merged[-1] = (merged[-1][0], hi)
            else:
                merged.append((lo, hi))
        self.spans: tuple[tuple[int, int], ...] = tuple(merged)

    @staticmethod
    def of(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> "AddrSet":
        base = _V4 if net.version == 4 else 0
        lo = base + int(net.network_address)
        return AddrSet([(lo, lo + net.num_addresses)])

    @staticmethod
    def family(version: int) -> "AddrSet":
        return AddrSet([(_V4, _END)] if version == 4 else [(0, _V4)])

    def __bool__(self) -> bool:
        return bool(self.spans)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AddrSet) and self.spans == other.spans

    def __hash__(self) -> int:
        return hash(self.spans)

    def __or__(self, other: "AddrSet") -> "AddrSet":
        return AddrSet(self.spans + other.spans)

    def __and__(self, other: "AddrSet") -> "AddrSet":
        out: list[tuple[int, int]] = []
        a, b = self.spans, other.spans
        i = j = 0
        while i < len(a) and j < len(b):
            lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
            if lo < hi:
                out.append((lo, hi))
            if a[i][1] < b[j][1]:
                i += 1
            else:
                j += 1
        return AddrSet(out)

    def __sub__(self, other: "AddrSet") -> "AddrSet":
        return self & other.complement()

    def complement(self) -> "AddrSet":
        out: list[tuple[int, int]] = []
        at = 0
        for lo, hi in self.spans:
            if lo > at:
                out.append((at, lo))
            at = hi
        if at < _END:
            out.append((at, _END))
        return AddrSet(out)

    def size(self, version: int) -> int:
        """How many addresses of IP version ``version`` are in the set."""
        fam = AddrSet.family(version)
        return sum(hi - lo for lo, hi in (self & fam).spans)

    def networks(self) -> list[str]:
        """The set as CIDR networks (IPv4 first)."""
        v4: list[str] = []
        v6: list[str] = []
        for lo, hi in self.spans:
            for version, base, top, out in ((4, _V4, _END, v4), (6, 0, _V4, v6)):
                a, b = max(lo, base), min(hi, top)
                if a >= b:
                    continue
                cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
                out.extend(str(n) for n in ipaddress.summarize_address_range(cls(a - base), cls(b - 1 - base)))
        return v4 + v6


EMPTY = AddrSet()
EVERYONE = AddrSet([(0, _END)])

_SPECIAL = ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
            "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
            "203.0.113.0/24", "224.0.0.0/3", "2001:db8::/32")
# Where mail can come from over the Internet: IPv4 without its special-use ranges (RFC 6890), IPv6 global
# unicast (2000::/3) without the documentation prefix.
GLOBAL = (AddrSet.family(4) | AddrSet.of(ipaddress.IPv6Network("2000::/3"))) - AddrSet(
    s for n in _SPECIAL for s in AddrSet.of(ipaddress.ip_network(n)).spans)


def _wide(s: AddrSet) -> bool:
    g = s & GLOBAL
    return g.size(4) >= OPEN_V4 or g.size(6) >= OPEN_V6


def _share(s: AddrSet) -> float:
    g = s & GLOBAL
    return g.size(4) / GLOBAL.size(4) + g.size(6) / GLOBAL.size(6)


@dataclass(frozen=True)
class Contribution:
    """The addresses one term of the checked record lets pass, and the term deepest down that does it."""

    term: str  # as written in the record
    kind: str  # all include a mx ip4 ip6 exists redirect
    passes: AddrSet
    source_domain: str  # whose record holds the term that does it (the checked domain for its own terms)
    source_term: str

    @property
    def wide(self) -> bool:
        return _wide(self.passes)

    def to_json(self) -> dict[str, Any]:
        g = self.passes & GLOBAL
        return {"term": self.term, "kind": self.kind, "ipv4": g.size(4), "ipv6": g.size(6),
                "source_domain": self.source_domain, "source_term": self.source_term}


@dataclass
class Reach:
    domain: str
    results: dict[str, AddrSet]
    contributions: list[Contribution] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)  # terms that depend on the sender (matched nothing here)

    @property
    def passes(self) -> AddrSet:
        return self.results.get("pass", EMPTY)

    @property
    def open(self) -> bool:
        """A huge share of the Internet passes (see the module's docstring for the thresholds)."""
        return _wide(self.passes)

    def open_terms(self) -> list[Contribution]:
        """The record's own terms that open it: the biggest contributions, until what is left passes for no
        more than a /8 (IPv4) or a /16 (IPv6)."""
        out: list[Contribution] = []
        left = self.passes
        for c in sorted(self.contributions, key=lambda c: -_share(c.passes)):
            if not _wide(left):
                break
            out.append(c)
            left = left - c.passes
        return out

    def default(self, version: int) -> str:
        """The result most routable addresses of IP version ``version`` get: the one for senders nobody listed."""
        fam = GLOBAL & AddrSet.family(version)
        return max(RESULTS, key=lambda r: (self.results.get(r, EMPTY) & fam).size(version))

    def to_json(self) -> dict[str, Any]:
        return {"open": self.open, "default_ipv4": self.default(4), "default_ipv6": self.default(6),
                "contributions": [c.to_json() for c in self.contributions if c.passes],
                "uncertain": list(self.uncertain)}


def widens(before: Reach, after: Reach) -> str | None:
    """Why ``after`` lets more unlisted senders through than ``before`` (None when it doesn't): it is open
    and ``before`` wasn't, or senders nobody listed get a weaker result (pass < neutral < softfail/fail)."""
    if after.open and not before.open:
        return "it would let any server on the internet pass SPF as you"
    for v in (4, 6):
        b, a = before.default(v), after.default(v)
        if _STRENGTH[a] < _STRENGTH[b]:
            return f"servers you never listed would get '{a}' instead of '{b}'"
    return None


class _Stop(SpfStop):
    """The evaluation of the addresses of ``scope`` still unmatched ends here with ``result`` (temperror or
    permerror). ``check_host`` ends for its one address with a reason (``SpfStop``); here a step can end the
    evaluation for some addresses (those of one IP version, those a host didn't match) while the others go
    on, so the stop says for which."""

    def __init__(self, result: str, scope: AddrSet) -> None:
        super().__init__(result)
        self.scope = scope


@dataclass
class _Part:
    term: str
    kind: str
    passes: AddrSet
    source: tuple[str, str]


class _Reacher:
    def __init__(self, dns: DnsClient, top: str) -> None:
        self.dns = dns
        self.top = top
        # one tally per IP version: an address of each version is one evaluation in check_host's sense. They
        # count the same lookups (every address goes through the same terms) but their own void lookups (an
        # 'a' finds IPv4 addresses and no IPv6 ones, say)
        self.tallies = {4: LookupTally(), 6: LookupTally()}
        self.budget = TreeBudget()
        self.uncertain: list[str] = []

    def static(self, spec: str | None, domain: str) -> str | None:
        return static_target(spec, domain, self.top)

    def count(self, remaining: AddrSet) -> None:
        over = [t.lookup() for t in self.tallies.values()]
        if any(over):
            raise _Stop("permerror", remaining)

    def void(self, versions: tuple[int, ...], remaining: AddrSet) -> AddrSet:
        """Count a void lookup for these IP versions; the addresses now over the limit end in permerror."""
        over = EMPTY
        for v in versions:
            if self.tallies[v].void():
                over = over | (remaining & AddrSet.family(v))
        return over

    def blocked(self, target: str, chain: tuple[str, ...]) -> bool:
        """An include or redirect to ``target`` ends in permerror: a loop, not a domain name, or past the walk's
        own bound (``TreeBudget``)."""
        return follow_problem(target, chain) is not None or not self.budget.allows(len(chain))

    async def fetch(self, domain: str, scope: AddrSet) -> SpfRecord | None:
        self.budget.fetched()
        got = await fetch_record(self.dns, domain)
        if got.result == "none":
            return None
        if got.result:
            raise _Stop(got.result, scope)
        try:
            return parse_record(got.records[0])
        except SpfSyntaxError:
            raise _Stop("permerror", scope) from None

    async def record(self, domain: str, scope: AddrSet, chain: tuple[str, ...], text: str | None = None,
                     parts: list[_Part] | None = None) -> dict[str, AddrSet]:
        """Each result and the addresses of ``scope`` that get it, for the record at ``domain``."""
        out: dict[str, AddrSet] = {}

        def give(result: str, s: AddrSet) -> None:
            if s:
                out[result] = out.get(result, EMPTY) | s

        remaining = scope
        try:
            if text is not None:
                try:
                    rec: SpfRecord | None = parse_record(text)
                except SpfSyntaxError:
                    raise _Stop("permerror", scope) from None
            else:
                rec = await self.fetch(domain, scope)
            if rec is None:
                give("none", scope)
                return out
            for m in rec.mechanisms:
                if not remaining:
                    break
                match, errors, source = await self.match(m, domain, remaining, chain)
                for result, s in errors.items():
                    give(result, s & remaining)
                    remaining = remaining - s
                hit = match & remaining
                give(m.result, hit)
                if parts is not None:
                    parts.append(_Part(m.text, m.kind, hit if m.result == "pass" else EMPTY,
                                       source or (domain, m.text)))
                remaining = remaining - match
            red = rec.redirect
            if remaining and red is not None and rec.all is None:
                self.count(remaining)
                target = self.static(red.value, domain)
                if target is None:
                    self.uncertain.append(red.text)
                    give("neutral", remaining)  # unknown: not counted as passing
                    return out
                if self.blocked(target, chain):
                    raise _Stop("permerror", remaining)
                sub_parts: list[_Part] = []
                sub = await self.record(target, remaining, chain + (target,), parts=sub_parts)
                top = max(sub_parts, key=lambda p: _share(p.passes), default=None)
                for result, s in sub.items():
                    give("permerror" if result == "none" else result, s)
                if parts is not None:
                    parts.append(_Part(red.text, "redirect", sub.get("pass", EMPTY),
                                       top.source if top is not None and top.passes else (target, "")))
                remaining = EMPTY
            give("neutral", remaining)
        except _Stop as stop:
            give(stop.result, stop.scope & remaining)
        return out

    async def match(self, m: Mechanism, domain: str, remaining: AddrSet,
                    chain: tuple[str, ...]) -> tuple[AddrSet, dict[str, AddrSet], tuple[str, str] | None]:
        """(addresses the mechanism matches, {result: addresses for which it ends the evaluation}, for an
        include: (domain, term) of the term deepest down that lets the most of them pass)."""
        self._last_source = None
        match, errors = await self._match(m, domain, remaining, chain)
        return match, errors, self._last_source if m.kind == "include" else None

    _last_source: tuple[str, str] | None = None

    async def _match(self, m: Mechanism, domain: str, remaining: AddrSet,
                     chain: tuple[str, ...]) -> tuple[AddrSet, dict[str, AddrSet]]:
        kind = m.kind
        if kind == "all":
            return EVERYONE, {}
        if kind in ("ip4", "ip6"):
            net = m.network
            return (AddrSet.of(net) if net is not None else EMPTY), {}
        self.count(remaining)
        target = self.static(m.domain_spec, domain)
        if kind == "ptr" or target is None:
            self.uncertain.append(m.text)
            return EMPTY, {}
        if kind == "include":
            if self.blocked(target, chain):
                return EMPTY, {"permerror": remaining}
            sub_parts: list[_Part] = []
            sub = await self.record(target, remaining, chain + (target,), parts=sub_parts)
            top = max(sub_parts, key=lambda p: _share(p.passes), default=None)
            self._last_source = top.source if top is not None and top.passes else (target, "")
            errors = {"temperror": sub.get("temperror", EMPTY),
                      "permerror": sub.get("permerror", EMPTY) | sub.get("none", EMPTY)}
            return sub.get("pass", EMPTY), errors
        if not is_valid_domain_name(target, multi_label=False):
            return EMPTY, {}
        if kind == "exists":
            ans = await self.dns.query(target, "A")
            if ans.failed:
                return EMPTY, {"temperror": remaining}
            if ans.outcome.void:
                return EMPTY, {"permerror": self.void((4, 6), remaining)}
            return (EVERYONE if ans.ok and ans.records else EMPTY), {}
        if kind == "a":
            return await self.hosts([target], m, remaining, count_void=True)
        # mx
        ans = await self.dns.query(target, "MX")
        if ans.failed:
            return EMPTY, {"temperror": remaining}
        if ans.outcome.void:
            return EMPTY, {"permerror": self.void((4, 6), remaining)}
        names = [h for h in mx_hosts(ans) if h]
        match, errors = await self.hosts(names[:MAX_MX], m, remaining, count_void=False)
        if len(names) > MAX_MX:
            errors["permerror"] = errors.get("permerror", EMPTY) | (remaining - match)
        return match, errors

    async def hosts(self, names: list[str], m: Mechanism, remaining: AddrSet,
                    count_void: bool) -> tuple[AddrSet, dict[str, AddrSet]]:
        """The networks (address/cidr) of these hosts, per IP version; a failed lookup ends the evaluation of
        the addresses of that version not matched by an earlier host."""
        match = EMPTY
        errors: dict[str, AddrSet] = {}
        for name in names:
            if not is_valid_domain_name(name, multi_label=False):
                continue
            a, aaaa = await asyncio.gather(self.dns.query(name, "A"), self.dns.query(name, "AAAA"))
            for version, ans, cidr in ((4, a, m.ip4_cidr), (6, aaaa, m.ip6_cidr)):
                fam = AddrSet.family(version)
                if ans.failed:
                    errors["temperror"] = errors.get("temperror", EMPTY) | ((remaining & fam) - match)
                    continue
                if count_void and ans.outcome.void:
                    over = self.void((version,), remaining)
                    if over:
                        errors["permerror"] = errors.get("permerror", EMPTY) | (over - match)
                match = match | _networks(ans, version, cidr)
        return match, errors


def _networks(ans: DnsAnswer, version: int, cidr: int | None) -> AddrSet:
    out = EMPTY
    for r in ans.records if ans.ok else ():
        try:
            addr = ipaddress.ip_address(r)
        except ValueError:
            continue
        if addr.version != version:
            continue
        full = 32 if version == 4 else 128
        out = out | AddrSet.of(ipaddress.ip_network(f"{addr}/{full if cidr is None else cidr}", strict=False))
    return out


async def reach(dns: DnsClient, domain: str, record: str | None = None) -> Reach:
    """Who gets which SPF result for ``domain``: its published record, or ``record`` as if it were
    published (includes and redirects are looked up). Never raises for DNS trouble or bad records."""
    dom = domain.strip().rstrip(".").lower()
    r = _Reacher(dns, dom)
    parts: list[_Part] = []
    results = await r.record(dom, EVERYONE, (dom,), text=record, parts=parts)
    contributions = [Contribution(p.term, p.kind, p.passes, p.source[0] or dom, p.source[1] or p.term)
                     for p in parts]
    return Reach(dom, results, contributions, r.uncertain)
