"""Which zone a name is in, and which servers are authoritative for it (the DNS walk publishing starts from).

``find_zone(dns, name)`` asks SOA at the name and then at each parent until one answers (the zone apex), then
the zone's NS names and their addresses, all through the run's ``DnsClient`` (never the system resolver
directly). A timeout or SERVFAIL on the way is "couldn't find the zone" with the reason, never "no zone".
``servers=`` replaces the NS addresses by the given ``IP[:PORT]`` list (the CLI's ``--nameserver``: how
tests point at their own server, and how an admin asks one server).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from ..dns.client import DnsClient, normalize_name


@dataclass(frozen=True)
class AuthServer:
    """One authoritative server: its NS name (or the address when given by hand) and address ``IP[:PORT]``."""

    name: str
    address: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.address})" if self.name != self.address else self.address


@dataclass(frozen=True)
class ZoneInfo:
    zone: str  # "" when it couldn't be found
    ns_names: tuple[str, ...] = ()
    servers: tuple[AuthServer, ...] = ()
    soa_ttl: int | None = None
    soa_minimum: int | None = None
    problem: str = ""  # plain words when the zone or its servers couldn't be found

    @property
    def negative_ttl(self) -> int | None:
        """How long resolvers may cache "no such record" (RFC 2308 §5: the SOA's TTL or MINIMUM, the lower)."""
        vals = [v for v in (self.soa_ttl, self.soa_minimum) if v is not None]
        return min(vals) if vals else None

    def to_json(self) -> dict[str, Any]:
        return {"zone": self.zone, "nameservers": list(self.ns_names),
                "servers": [{"name": s.name, "address": s.address} for s in self.servers],
                "negative_ttl": self.negative_ttl, "problem": self.problem}


def _parents(name: str) -> list[str]:
    labels = normalize_name(name).split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)] or [normalize_name(name)]


def one_level(text: str) -> str:
    """``text`` with parentheses inside parentheses turned into commas, so a reason quoted inside another
    reads plainly: "no answer (within 1.0 s (4 tries))" -> "no answer (within 1.0 s, 4 tries)"."""
    out: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
            if depth > 1:
                while out and out[-1] == " ":
                    out.pop()
                out.append(", ")
                continue
        elif ch == ")" and depth:
            depth -= 1
            if depth >= 1:
                continue
        out.append(ch)
    return "".join(out)


async def find_zone(dns: DnsClient, name: str, *, servers: list[str] | None = None) -> ZoneInfo:
    zone = ""
    soa_ttl = soa_min = None
    for candidate in _parents(name):
        ans = await dns.query(candidate, "SOA")
        if ans.failed:
            return ZoneInfo("", problem=f"couldn't find the zone of {name}: the SOA lookup for {candidate} failed: "
                                        f"{one_level(ans.describe)}")
        if ans.ok and not ans.cname_chain:
            zone = candidate
            soa_ttl = ans.ttl
            try:
                soa_min = int(ans.records[0].split()[-1])
            except (IndexError, ValueError):
                soa_min = None
            break
    if not zone:
        return ZoneInfo("", problem=f"couldn't find the zone of {name}: no SOA record at it or any parent")
    ns = await dns.query(zone, "NS")
    if ns.failed:
        return ZoneInfo(zone, soa_ttl=soa_ttl, soa_minimum=soa_min,
                        problem=f"couldn't read the NS records of {zone}: {one_level(ns.describe)}")
    ns_names = tuple(sorted({r.rstrip(".").lower() for r in ns.records}))
    if servers:
        chosen = tuple(AuthServer(s, s) for s in servers)
        return ZoneInfo(zone, ns_names, chosen, soa_ttl, soa_min)
    found: list[AuthServer] = []
    problems: list[str] = []

    async def addresses(n: str) -> None:
        a, aaaa = await asyncio.gather(dns.query(n, "A"), dns.query(n, "AAAA"))
        ips = [*a.records, *aaaa.records]
        if not ips:
            why = a.describe if a.failed else (aaaa.describe if aaaa.failed else "it has no address")
            problems.append(f"{n}: {one_level(why)}")
        for ip in ips:
            found.append(AuthServer(n, f"[{ip}]" if ":" in ip else ip))

    await asyncio.gather(*(addresses(n) for n in ns_names))
    found.sort(key=lambda s: (s.name, s.address))
    problem = ""
    if not found:
        problem = f"couldn't find the address of any name server of {zone}" + (f": {'; '.join(problems)}"
                                                                             if problems else "")
    return ZoneInfo(zone, ns_names, tuple(found), soa_ttl, soa_min, problem)
