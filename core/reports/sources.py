"""Who sends as you: name the sending service behind a source IP.

A source is matched against the built-in catalog (``core/rules/sending_services.json``) by, in order: its IP
address in a service's published ranges, its reverse DNS (PTR) name ending in a service's host suffix, and
the DKIM signing domain or SPF (envelope) domain the report shows for it (the summary passes only domains
whose check passed). A reverse DNS name counts only when it is forward-confirmed: the name's own A / AAAA
records hold the address (whoever runs an address writes its reverse name, so a forger can call his server
mail-x.google.com); an unconfirmed name is cached as ``unconfirmed`` and names no service. Reverse DNS is looked up in the
background (``resolve_sources``), cached in the report store; until a name is known the service is
``UNKNOWN_PENDING`` ("unknown, looking up…"), so the summary never waits for DNS.

Public API::

    @dataclass(frozen=True) class Service(id, name, kind, networks, ptr_suffixes, auth_domains,
                                          spf_include, dkim_setup, setup_help, source, checked)
    def load_catalog() -> Catalog
    class Catalog: .services; .by_id(id); .match(ip, *, ptr=None, auth_domains=()) -> Service | None
    async def resolve_sources(store: ReportStore, dns: DnsClient, ips: Iterable[str], *, timeout: float = 2.0,
                              concurrency: int = 16, refresh: bool = False) -> dict[str, str | None]
        (ip → forward-confirmed PTR name or None; only IPs not yet in the cache are asked unless refresh=True;
         a timeout or server failure is cached as 'failed' and asked again on the next call; a name that does
         not resolve back to the address as 'unconfirmed')
"""

from __future__ import annotations

import asyncio
import bisect
import ipaddress
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable

from ..dns.client import DnsClient, Outcome
from .store import ReportStore

CATALOG_FILE = "sending_services.json"
UNKNOWN = "unknown"
UNKNOWN_PENDING = "unknown, looking up…"
UNKNOWN_LOOKUP_FAILED = "unknown (reverse DNS couldn't be looked up)"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    kind: str
    networks: tuple[IPNetwork, ...]
    ptr_suffixes: tuple[str, ...]
    auth_domains: tuple[str, ...]
    spf_include: str
    dkim_setup: tuple[tuple[str, str, str], ...]   # (host template, type, value template)
    setup_help: str
    source: str
    checked: str


def _suffix_match(name: str, suffixes: Iterable[str]) -> bool:
    n = name.lower().rstrip(".")
    return any(n == s or n.endswith("." + s) for s in suffixes)


class Catalog:
    def __init__(self, services: list[Service]) -> None:
        self.services = services
        self._ranges: dict[int, list[tuple[int, int, Service]]] = {4: [], 6: []}
        for svc in services:
            for net in svc.networks:
                self._ranges[net.version].append((int(net.network_address), int(net.broadcast_address), svc))
        for v in self._ranges.values():
            v.sort(key=lambda t: t[0])
        self._starts = {v: [t[0] for t in r] for v, r in self._ranges.items()}

    def by_id(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def by_ip(self, ip: str) -> Service | None:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        n = int(addr)
        ranges = self._ranges[addr.version]
        i = bisect.bisect_right(self._starts[addr.version], n) - 1
        for lo, hi, svc in reversed(ranges[:i + 1]):  # few ranges; they may nest
            if lo <= n <= hi:
                return svc
        return None

    def match(self, ip: str, *, ptr: str | None = None, auth_domains: Iterable[str] = ()) -> Service | None:
        svc = self.by_ip(ip)
        if svc is not None:
            return svc
        if ptr:
            for s in self.services:
                if _suffix_match(ptr, s.ptr_suffixes):
                    return s
        for d in auth_domains:
            if not d:
                continue
            for s in self.services:
                if _suffix_match(d, s.auth_domains):
                    return s
        return None


def _service(data: Any) -> Service | None:
    if not isinstance(data, dict) or not data.get("id") or not data.get("name"):
        return None
    nets: list[IPNetwork] = []
    for r in data.get("ip_ranges", []):
        try:
            nets.append(ipaddress.ip_network(str(r), strict=False))
        except ValueError:
            continue
    setup = tuple((str(x.get("host", "")), str(x.get("type", "")), str(x.get("value", "")))
                  for x in data.get("dkim_setup", []) if isinstance(x, dict))
    return Service(id=str(data["id"]), name=str(data["name"]), kind=str(data.get("kind", "")), networks=tuple(nets),
                   ptr_suffixes=tuple(str(s).lower() for s in data.get("ptr_suffixes", [])),
                   auth_domains=tuple(str(s).lower() for s in data.get("auth_domains", [])),
                   spf_include=str(data.get("spf_include", "")), dkim_setup=setup,
                   setup_help=str(data.get("setup_help", "")), source=str(data.get("source", "")),
                   checked=str(data.get("checked", "")))


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    text = resources.files("inboxready.core.rules").joinpath(CATALOG_FILE).read_text(encoding="utf-8")
    doc = json.loads(text)
    services = [s for s in (_service(d) for d in doc.get("services", [])) if s is not None]
    return Catalog(services)


async def resolve_sources(store: ReportStore, dns: DnsClient, ips: Iterable[str], *, timeout: float = 2.0,
                          concurrency: int = 16, refresh: bool = False) -> dict[str, str | None]:
    """Look up the reverse DNS names of ``ips`` and cache them in ``store``. Never raises for DNS trouble."""
    wanted: list[str] = []
    for ip in dict.fromkeys(ips):
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            continue
        wanted.append(ip)
    cached = await asyncio.to_thread(store.ptr_get, wanted)
    out: dict[str, str | None] = {ip: cached[ip][0] for ip in wanted if ip in cached and cached[ip][1] == "ok"}
    todo = [ip for ip in wanted if refresh or ip not in cached or cached[ip][1] == "failed"]
    sem = asyncio.Semaphore(max(1, concurrency))

    async def one(ip: str) -> tuple[str, str | None, str]:
        async with sem:
            rev = ipaddress.ip_address(ip).reverse_pointer
            try:
                ans = await asyncio.wait_for(dns.query(rev, "PTR"), timeout)
            except (asyncio.TimeoutError, OSError):
                return ip, None, "failed"
            if ans.failed:
                return ip, None, "failed"
            if ans.outcome != Outcome.ANSWER or not ans.records:
                return ip, None, "none"
            names = list(dict.fromkeys(r.rstrip(".").lower() for r in ans.records))[:4]
            addr = ipaddress.ip_address(ip)
            failed = False
            for name in names:  # forward-confirmed: the name resolves back to the address
                try:
                    fwd = await asyncio.wait_for(dns.query(name, "A" if addr.version == 4 else "AAAA"), timeout)
                except (asyncio.TimeoutError, OSError):
                    failed = True
                    continue
                if fwd.failed:
                    failed = True
                    continue
                if any(_same_ip(r, addr) for r in fwd.records):
                    return ip, name, "ok"
            if failed:
                return ip, None, "failed"
            return ip, names[0], "unconfirmed"

    results = await asyncio.gather(*(one(ip) for ip in todo))
    if results:
        await asyncio.to_thread(store.ptr_put, results)
    for ip, name, status in results:
        out[ip] = name if status == "ok" else None
    for ip in wanted:
        out.setdefault(ip, None)
    return out


def _same_ip(text: str, addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    try:
        return ipaddress.ip_address(text.strip()) == addr
    except ValueError:
        return False


__all__ = ["Service", "Catalog", "load_catalog", "resolve_sources", "UNKNOWN", "UNKNOWN_LOOKUP_FAILED",
           "UNKNOWN_PENDING"]
