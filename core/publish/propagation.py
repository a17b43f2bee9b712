"""Is it live? Ask every authoritative server of the zone directly, and say how long caches may lag.

``probe(zone, expectations)`` asks each server in ``zone.servers`` (NS addresses, or the ``--nameserver``
given) with a fresh ``DnsClient`` pointed at that one server (no cache, never the system resolver) whether it
serves each expected record (``Expect``: a record that must be there, or with ``absent=True`` one that must be
gone). A server that doesn't answer is "couldn't ask" (``live=None``), never "not live".
``wait_until_live`` polls with backoff (1, 2, 4 … 30 s) until every server agrees or the wait ends.

``Expect.stale_for`` is how long resolvers may still give the old answer once every server has the new one:
the old record's TTL, or the zone's negative-caching time (RFC 2308: the lower of the SOA's TTL and MINIMUM)
for a name that did not exist; ``Expect.stale_basis`` says which. ``fill_stale`` gives expectations without
one the zone's negative-caching time (a record added where there was none).

``watch_fix(fix, zone)`` turns any fix (one the user published by hand, too) into expectations: the new
value served, a removed value gone, and for records of which a name may hold only one (SPF, DMARC, DKIM,
MTA-STS, TLS-RPT, BIMI) the other values of that kind gone; the old answer's TTL is read from the
authoritative servers first.
"""

from __future__ import annotations

import logging
import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..dns.client import DnsAnswer, DnsClient
from .zone import AuthServer, ZoneInfo

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 3.0
MIN_ROUND = 1.0  # seconds a polling round needs at least; with less time left, no round is started


def normalize_rdata(rtype: str, text: str) -> str:
    """A record value in a form two sources can be compared in (MX/CNAME names lower case, final dot)."""
    t = text.strip()
    up = rtype.upper()
    if up == "MX":
        parts = t.split()
        if len(parts) == 2:
            return f"{int(parts[0]) if parts[0].isdigit() else parts[0]} {parts[1].rstrip('.').lower()}."
    if up in ("CNAME", "NS", "PTR"):
        return t.rstrip(".").lower() + "."
    if up in ("A", "AAAA"):
        import ipaddress

        try:
            return str(ipaddress.ip_address(t))
        except ValueError:
            return t
    return t


def answer_values(ans: DnsAnswer) -> tuple[str, ...]:
    if ans.rdtype.upper() in ("TXT", "SPF"):
        return ans.txt
    return tuple(normalize_rdata(ans.rdtype, r) for r in ans.records)


@dataclass(frozen=True)
class Expect:
    host: str
    type: str
    value: str
    absent: bool = False  # True: the record must be gone (a delete, or the old value of a replace)
    stale_for: int | None = None  # seconds resolvers may keep the old answer
    stale_basis: str = ""  # why: "the old record's TTL" | "the zone's negative-caching time"

    def satisfied_by(self, values: tuple[str, ...]) -> bool:
        want = normalize_rdata(self.type, self.value)
        have = {normalize_rdata(self.type, v) for v in values}
        return (want not in have) if self.absent else (want in have)

    @property
    def describe(self) -> str:
        return f"{self.type} {self.host} {'gone: ' if self.absent else ''}{self.value}"


@dataclass(frozen=True)
class ServerResult:
    server: AuthServer
    live: bool | None  # None: couldn't ask this server
    seen: tuple[str, ...] = ()
    error: str = ""


@dataclass(frozen=True)
class ExpectResult:
    expect: Expect
    servers: tuple[ServerResult, ...]

    @property
    def live(self) -> bool:
        return bool(self.servers) and all(s.live is True for s in self.servers)


@dataclass
class Propagation:
    zone: str
    results: list[ExpectResult] = field(default_factory=list)
    rounds: int = 0
    elapsed: float = 0.0
    problem: str = ""

    @property
    def servers(self) -> list[AuthServer]:
        seen: dict[str, AuthServer] = {}
        for r in self.results:
            for s in r.servers:
                seen.setdefault(s.server.address, s.server)
        return list(seen.values())

    def server_live(self, server: AuthServer) -> bool | None:
        """True when this server serves every expected change; None when it couldn't be asked."""
        states = [s.live for r in self.results for s in r.servers if s.server.address == server.address]
        if any(v is None for v in states):
            return None
        return all(states)

    @property
    def live(self) -> bool:
        return not self.problem and bool(self.results) and all(r.live for r in self.results)

    @property
    def stale_for(self) -> int | None:
        vals = [r.expect.stale_for for r in self.results if r.expect.stale_for is not None]
        return max(vals) if vals else None

    @property
    def stale_basis(self) -> str:
        """Why resolvers may keep the old answer that long (the basis of the longest ``stale_for``)."""
        best = max((r.expect for r in self.results if r.expect.stale_for is not None),
                   key=lambda e: e.stale_for or 0, default=None)
        return best.stale_basis if best is not None else ""

    def stale_text(self) -> str:
        """"Resolvers that asked before may still give the old answer for up to 1 hours (the old record's
        TTL)." or "" when not known."""
        if not self.stale_for:
            return ""
        basis = f" ({self.stale_basis})" if self.stale_basis else ""
        return (f"Resolvers that asked before may still give the old answer for up to {_duration(self.stale_for)}"
                f"{basis}.")

    def summary(self) -> str:
        if self.problem:
            return self.problem
        servers = self.servers
        live = [s for s in servers if self.server_live(s) is True]
        unasked = [s for s in servers if self.server_live(s) is None]
        if self.live:
            text = (f"Live on all {len(servers)} authoritative servers." if len(servers) != 1 else
                    "Live on the authoritative server.")
            if self.stale_for:
                text += " " + self.stale_text()
            return text
        text = f"Live on {len(live)} of {len(servers)} authoritative servers"
        if unasked:
            text += f"; couldn't ask {', '.join(s.label for s in unasked)}"
        return text + "."

    def to_json(self) -> list[dict[str, Any]]:
        """The CLI contract: ``[{"server", "live"}]`` (plus what each server serves, per record)."""
        out = []
        for s in self.servers:
            out.append({"server": s.address, "name": s.name, "live": self.server_live(s),
                        "records": [{"host": r.expect.host, "type": r.expect.type, "value": r.expect.value,
                                     "absent": r.expect.absent,
                                     "live": next((x.live for x in r.servers if x.server.address == s.address), None),
                                     "seen": list(next((x.seen for x in r.servers if x.server.address == s.address), ())),
                                     "error": next((x.error for x in r.servers if x.server.address == s.address), "")}
                                    for r in self.results]})
        return out


OLD_TTL = "the old record's TTL"
NEGATIVE_TTL = "the zone's negative-caching time, because the name had no such record"
EITHER_TTL = "the record's TTL or the zone's negative-caching time, whichever applied before the change"


def fill_stale(expectations: list[Expect], zone: ZoneInfo) -> list[Expect]:
    """``expectations`` with the zone's negative-caching time where no old TTL is known (a new record:
    resolvers may have cached "no such record" for that long)."""
    from dataclasses import replace

    neg = zone.negative_ttl
    return [e if e.stale_for is not None or neg is None else replace(e, stale_for=neg, stale_basis=NEGATIVE_TTL)
            for e in expectations]


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    if seconds < 7200:
        return f"{round(seconds / 60)} minutes"
    if seconds < 172800:
        return f"{round(seconds / 3600)} hours"
    return f"{round(seconds / 86400)} days"


async def ask_server(server: AuthServer, questions: list[tuple[str, str]], *,
                     timeout: float = DEFAULT_TIMEOUT, deadline: float | None = None) -> dict[tuple[str, str], DnsAnswer]:
    """Ask one server (fresh client: no cache) every (host, type); answers by question. All of it within
    ``deadline`` seconds (default: three times the per-query ``timeout``)."""
    limit = timeout * 3 if deadline is None else max(0.05, min(deadline, timeout * 3))
    client = DnsClient([server.address], timeout=min(timeout, limit), deadline=limit)
    try:
        answers = await asyncio.gather(*(client.query(h, t) for h, t in questions))
    finally:
        client.close()
    return dict(zip(questions, answers))


async def probe(zone: ZoneInfo, expectations: list[Expect], *, timeout: float = DEFAULT_TIMEOUT,
                deadline: float | None = None) -> Propagation:
    """One round: every server asked for every expectation (a server that doesn't answer within
    ``deadline`` seconds is "couldn't ask" for that round)."""
    if not zone.servers:
        return Propagation(zone.zone, problem=zone.problem or "no authoritative server to ask")
    questions = list(dict.fromkeys((e.host.rstrip(".").lower(), e.type.upper()) for e in expectations))
    per_server = await asyncio.gather(*(ask_server(s, questions, timeout=timeout, deadline=deadline)
                                        for s in zone.servers))
    results = []
    for e in expectations:
        key = (e.host.rstrip(".").lower(), e.type.upper())
        states = []
        for server, answers in zip(zone.servers, per_server):
            ans = answers[key]
            if ans.failed:
                states.append(ServerResult(server, None, error=ans.describe))
            else:
                values = answer_values(ans) if ans.ok else ()
                states.append(ServerResult(server, e.satisfied_by(values), values))
        results.append(ExpectResult(e, tuple(states)))
    return Propagation(zone.zone, results)


async def wait_until_live(zone: ZoneInfo, expectations: list[Expect], *, wait: float,
                          on_round: Callable[[Propagation], None] | None = None,
                          timeout: float = DEFAULT_TIMEOUT, first_delay: float = 1.0,
                          max_delay: float = 30.0) -> Propagation:
    """Probe until every server serves every expectation or ``wait`` seconds have passed (at least one round).

    Every round is bounded by the time left (its DNS client's deadline), so the whole wait ends within
    ``wait`` seconds (the first round, with a short ``wait``, within one query's time); a round that would
    have less than ``MIN_ROUND`` seconds is not started: the last round's result is the answer."""
    started = time.monotonic()
    end = started + wait
    delay = first_delay
    rounds = 0
    while True:
        left = end - time.monotonic()
        per_query = min(timeout, max(0.5, left))
        result = await probe(zone, expectations, timeout=per_query, deadline=max(left, per_query) if rounds == 0 else left)
        rounds += 1
        result.rounds = rounds
        result.elapsed = time.monotonic() - started
        if on_round is not None:
            try:
                on_round(result)
            except Exception:
                log.debug("the on_round callback failed", exc_info=True)
        left = end - time.monotonic()
        if result.live or left < MIN_ROUND or result.problem:
            return result
        await asyncio.sleep(min(delay, left - MIN_ROUND))
        delay = min(delay * 2, max_delay)


async def current_answers(zone: ZoneInfo, host: str, rtype: str, *,
                          timeout: float = DEFAULT_TIMEOUT) -> list[DnsAnswer]:
    """What each of the zone's authoritative servers serves now at (host, type) (the answers that didn't
    fail)."""
    if not zone.servers:
        return []
    q = (host.rstrip(".").lower(), rtype.upper())
    answers = await asyncio.gather(*(ask_server(s, [q], timeout=timeout) for s in zone.servers))
    return [a[q] for a in answers if not a[q].failed]


_TAGS = ("spf1", "dmarc1", "dkim1", "stsv1", "tlsrptv1", "bimi1")


def txt_family(host: str, value: str) -> str:
    """The kind of TXT record (one per name): spf1, dmarc1, dkim1 … or 'exact:<value>' for others."""
    m = re.match(r"^\s*v\s*=\s*([A-Za-z0-9]+)", value)
    tag = m.group(1).lower() if m else ""
    if tag in _TAGS:
        return tag
    if "._domainkey." in f".{host.lower()}." and ("p=" in value or "k=" in value):
        return "dkim1"
    return "exact:" + value


def family(host: str, rtype: str, value: str) -> str:
    t = rtype.upper()
    if t == "TXT":
        return txt_family(host, value)
    if t == "MX":
        return "mx"
    return f"exact:{normalize_rdata(t, value)}"


async def watch_fix(fix: Any, zone: ZoneInfo, *, timeout: float = DEFAULT_TIMEOUT) -> list[Expect]:
    """The expectations that say ``fix`` (a ``model.Fix``) is live, with how long the old answer may stay
    cached (the TTL of what the servers serve now, or the negative-caching time for a name with none)."""
    host, rtype = fix.host.rstrip(".").lower(), fix.type.upper()
    answers = await current_answers(zone, host, rtype, timeout=timeout)
    target = Expect(host, rtype, fix.value, absent=fix.action == "remove")

    def vals(a: DnsAnswer) -> tuple[str, ...]:
        return answer_values(a) if a.ok else ()

    # the old answer is what a server that doesn't serve the change yet still serves
    before = next((a for a in answers if not target.satisfied_by(vals(a))), None)
    if before is not None:
        values = vals(before)
        stale, basis = (before.ttl, OLD_TTL) if values and before.ttl else (zone.negative_ttl, NEGATIVE_TTL)
    elif answers:  # every server serves the change already: what was there before can't be seen any more
        values = vals(answers[0])
        known = [t for t in (answers[0].ttl if values else None, zone.negative_ttl) if t]
        stale, basis = (max(known), EITHER_TTL) if known else (None, "")
    else:
        values, stale, basis = (), None, ""
    if fix.action == "remove":
        return [Expect(host, rtype, fix.value, absent=True, stale_for=stale, stale_basis=basis)]
    out = [Expect(host, rtype, fix.value, stale_for=stale, stale_basis=basis)]
    fam = family(host, rtype, fix.value)
    if not fam.startswith("exact:") and rtype != "MX":
        want = normalize_rdata(rtype, fix.value)
        for v in values:
            if family(host, rtype, v) == fam and normalize_rdata(rtype, v) != want:
                out.append(Expect(host, rtype, v, absent=True, stale_for=stale, stale_basis=basis))
    elif rtype == "MX" and fix.action == "replace" and fix.value.strip() == "0 .":
        out += [Expect(host, rtype, v, absent=True, stale_for=stale, stale_basis=basis)
                for v in values if normalize_rdata(rtype, v) != normalize_rdata(rtype, fix.value)]
    return out
