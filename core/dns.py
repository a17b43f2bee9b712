"""The DNS layer: one ``DnsClient`` per run.

- dnspython's asyncio resolver, with nameservers given as ``IP[:PORT]`` (``[v6]:port`` for IPv6);
- a per-query timeout and an optional overall deadline for the run;
- TCP fallback when a UDP answer is truncated (dnspython's resolver does this for us);
- a per-run cache: the same (name, type) is asked once, and concurrent askers share the one query;
- a log of every query actually sent (name, type, outcome, answer, time) for the app's details view;
- typed outcomes: an answer, NXDOMAIN, NODATA, a timeout and SERVFAIL stay distinct all the way up.

A timeout or SERVFAIL is "couldn't check" (``DnsAnswer.failed``), never "the record is missing".
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Callable

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver

DEFAULT_TIMEOUT = 4.0


class Outcome(StrEnum):
    ANSWER = "answer"
    NXDOMAIN = "nxdomain"  # the name does not exist
    NODATA = "nodata"  # the name exists but has no record of this type
    TIMEOUT = "timeout"  # no answer in time: couldn't check
    SERVFAIL = "servfail"  # the server failed (or refused): couldn't check
    ERROR = "error"  # anything else that stops us (bad name, network down): couldn't check

    @property
    def failed(self) -> bool:
        """True when we could not learn whether the record exists."""
        return self in (Outcome.TIMEOUT, Outcome.SERVFAIL, Outcome.ERROR)

    @property
    def void(self) -> bool:
        """True for an authoritative 'nothing here' (NXDOMAIN or NODATA), RFC 7208 §4.6.4."""
        return self in (Outcome.NXDOMAIN, Outcome.NODATA)


_PLAIN = {
    Outcome.ANSWER: "answered",
    Outcome.NXDOMAIN: "the name does not exist",
    Outcome.NODATA: "the name exists but has no record of this type",
    Outcome.TIMEOUT: "the DNS server did not answer in time",
    Outcome.SERVFAIL: "the DNS server reported a failure (SERVFAIL)",
    Outcome.ERROR: "the DNS lookup failed",
}


@dataclass(frozen=True)
class DnsAnswer:
    """The outcome of one (name, type) lookup."""

    name: str  # the name asked, lower-case, no trailing dot
    rdtype: str  # "TXT", "A", ...
    outcome: Outcome
    records: tuple[str, ...] = ()  # rdata in presentation form ("10 mx.example.com.")
    txt: tuple[str, ...] = ()  # TXT/SPF only: each record's strings joined, decoded
    txt_strings: tuple[tuple[bytes, ...], ...] = ()  # TXT/SPF only: the raw character-strings
    canonical_name: str = ""  # after following CNAMEs ("" if none were followed)
    cname_chain: tuple[str, ...] = ()
    ttl: int | None = None
    error: str = ""
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.ANSWER

    @property
    def failed(self) -> bool:
        return self.outcome.failed

    @property
    def describe(self) -> str:
        """Plain words for the outcome, e.g. for a "couldn't check" message."""
        text = _PLAIN[self.outcome]
        if self.outcome is Outcome.SERVFAIL and "REFUSED" in self.error and "SERVFAIL" not in self.error:
            text = "the DNS server refused to answer for this name (REFUSED)"
        return f"{text} ({self.error})" if self.error and self.outcome.failed else text


@dataclass(frozen=True)
class QueryRecord:
    """One query as it went over the wire, for the details view and support tickets."""

    name: str
    rdtype: str
    outcome: Outcome
    answer: tuple[str, ...]
    elapsed_ms: float
    started_ms: float  # since the client was created
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.rdtype,
            "outcome": str(self.outcome),
            "answer": list(self.answer),
            "elapsed_ms": round(self.elapsed_ms, 1),
            "started_ms": round(self.started_ms, 1),
            "error": self.error,
        }


def parse_nameserver(spec: str) -> tuple[str, int]:
    """``"192.0.2.1"``, ``"192.0.2.1:5353"``, ``"2001:db8::1"``, ``"[2001:db8::1]:5353"`` → (ip, port).

    Raises ``ValueError`` with a readable message for anything else.
    """
    s = spec.strip()
    port = 53
    host = s
    if s.startswith("["):
        end = s.find("]")
        if end < 0:
            raise ValueError(f"{spec!r}: missing ']' in an IPv6 nameserver")
        host = s[1:end]
        rest = s[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{spec!r}: expected ':PORT' after ']'")
            port = _port(rest[1:], spec)
    elif s.count(":") == 1:
        host, p = s.split(":")
        port = _port(p, spec)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{spec!r} is not an IP address (use IP or IP:PORT, e.g. 192.0.2.53:5353)") from None
    return host, port


def _port(text: str, spec: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{spec!r}: the port must be a number from 1 to 65535")
    return int(text)


def normalize_name(name: str) -> str:
    return name.strip().rstrip(".").lower()


class DnsClient:
    """Asks DNS for one run of checks. Create one per run; it caches and logs everything it asks.

    ``nameservers``: ``["IP[:PORT]", ...]``, or ``None`` for the system's resolvers.
    ``timeout``: the time one query may take (all retries included).
    ``deadline``: seconds for the whole run, from creation; queries after it are timeouts.
    ``max_concurrency``: queries in flight at once.
    ``on_query``: called with each ``QueryRecord`` as it completes (from the event loop).

    Queries go over one UDP socket per nameserver for the whole run (answers are matched by ID and
    question), which costs far less per query than a socket each; a truncated answer is asked again
    over TCP. Call ``close()`` (or use ``async with``) when done; a client left open closes its
    sockets when it is garbage-collected.
    """

    def __init__(
        self,
        nameservers: list[str] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float | None = None,
        max_concurrency: int = 64,
        on_query: Callable[[QueryRecord], None] | None = None,
    ) -> None:
        self.timeout = timeout
        self._t0 = time.monotonic()
        self._deadline = self._t0 + deadline if deadline else None
        self._sem = asyncio.Semaphore(max_concurrency) if max_concurrency else None
        self._cache: dict[tuple[str, str], asyncio.Future[DnsAnswer]] = {}
        self._channels: dict[tuple[str, int], _UdpChannel] = {}
        self._opening: dict[tuple[str, int], asyncio.Future[tuple[Any, _UdpChannel]]] = {}
        self._closed = False
        self.log: list[QueryRecord] = []
        self.on_query = on_query
        if nameservers:
            self._servers = [parse_nameserver(n) for n in nameservers]
        else:
            self._servers = system_nameservers()
        self.nameservers = [f"{ip}:{port}" if port != 53 else ip for ip, port in self._servers]

    # -- public API -----------------------------------------------------------------------------

    def remaining(self) -> float | None:
        if self._deadline is None:
            return None
        return self._deadline - time.monotonic()

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Look up (name, rdtype) once per run; every later call gets the same answer."""
        key = (normalize_name(name), rdtype.upper())
        fut = self._cache.get(key)
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self._cache[key] = fut
            try:
                answer = await self._query(*key)
            except BaseException as exc:  # cancelled: let the next caller retry
                del self._cache[key]
                if not fut.done():
                    fut.cancel()
                raise exc
            fut.set_result(answer)
            return answer
        return await asyncio.shield(fut)

    async def txt(self, name: str) -> DnsAnswer:
        return await self.query(name, "TXT")

    def cached(self, name: str, rdtype: str) -> DnsAnswer | None:
        fut = self._cache.get((normalize_name(name), rdtype.upper()))
        if fut is not None and fut.done() and not fut.cancelled():
            return fut.result()
        return None

    def queries_json(self) -> list[dict[str, Any]]:
        return [q.to_json() for q in self.log]

    def close(self) -> None:
        """Close the sockets. The cache and the log stay readable."""
        self._closed = True
        for ch in self._channels.values():
            ch.close()
        self._channels.clear()

    async def __aenter__(self) -> "DnsClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    # -- internals ------------------------------------------------------------------------------

    async def _query(self, name: str, rdtype: str) -> DnsAnswer:
        if self._sem is None:
            return await self._query_now(name, rdtype)
        async with self._sem:
            return await self._query_now(name, rdtype)

    async def _query_now(self, name: str, rdtype: str) -> DnsAnswer:
        started = time.monotonic()
        lifetime = self.timeout
        remaining = self.remaining()
        if remaining is not None:
            if remaining <= 0:
                ans = DnsAnswer(name, rdtype, Outcome.TIMEOUT, error="the overall time limit was reached")
                self._record(ans, started)
                return ans
            lifetime = min(lifetime, remaining)
        try:
            qname = dns.name.from_text(name) if name else dns.name.root
            qtype = dns.rdatatype.from_text(rdtype)
        except (dns.exception.DNSException, ValueError) as exc:
            ans = DnsAnswer(name, rdtype, Outcome.ERROR, error=f"not a valid DNS name: {exc}")
            self._record(ans, started)
            return ans
        if not self._servers:
            ans = DnsAnswer(name, rdtype, Outcome.ERROR, error="no DNS server is configured on this computer")
            self._record(ans, started)
            return ans
        try:
            ans = await self._exchange(name, rdtype, qname, qtype, started, started + lifetime, lifetime)
        except (dns.exception.DNSException, OSError, ValueError, EOFError) as exc:
            ans = DnsAnswer(name, rdtype, Outcome.ERROR, error=f"{type(exc).__name__}: {exc}",
                            elapsed_ms=_ms(started))
        self._record(ans, started)
        return ans

    async def _exchange(self, name: str, rdtype: str, qname: dns.name.Name, qtype: int, started: float,
                        until: float, lifetime: float) -> DnsAnswer:
        query = dns.message.make_query(qname, qtype, use_edns=0, payload=1232)
        wire = query.to_wire()
        per_try = max(0.5, lifetime / 2)
        problems: list[str] = []
        timed_out = False
        attempt = 0
        while True:
            now = time.monotonic()
            if now >= until or attempt >= max(2, len(self._servers)) * 2:
                break
            ip, port = self._servers[attempt % len(self._servers)]
            attempt += 1
            budget = min(per_try, until - now)
            try:
                channel = await self._channel(ip, port)
                data = await channel.ask(query.id, wire, budget)
                negative = _fast_negative(data, wire)
                if negative is not None:  # NXDOMAIN / NODATA with no records: no need to parse it all
                    return DnsAnswer(name, rdtype, negative, elapsed_ms=_ms(started))
                response = dns.message.from_wire(data)
                if not query.is_response(response):
                    problems.append(f"{ip}: an answer that does not match the question")
                    continue
                if response.flags & dns.flags.TC:
                    response = await dns.asyncquery.tcp(query, ip, timeout=max(0.1, until - time.monotonic()),
                                                        port=port)
            except (dns.exception.Timeout, asyncio.TimeoutError):
                timed_out = True
                continue
            except ConnectionRefusedError:
                problems.append(f"{ip} port {port}: nothing answers there (connection refused)")
                continue
            except (dns.exception.DNSException, OSError, EOFError) as exc:
                problems.append(f"{ip}: {type(exc).__name__}: {exc}")
                continue
            rcode = response.rcode()
            if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                return await self._from_response(name, rdtype, qname, qtype, response, started)
            problems.append(f"{ip}: {dns.rcode.to_text(rcode)}")
            if attempt >= len(self._servers):
                break  # every server said no: SERVFAIL is an answer, not something to retry
        rcode_failure = any(p.endswith((": SERVFAIL", ": REFUSED", ": NOTIMP", ": FORMERR")) for p in problems)
        if rcode_failure or (problems and not timed_out):
            outcome = Outcome.SERVFAIL if rcode_failure else Outcome.ERROR
            unique = list(dict.fromkeys(problems))
            return DnsAnswer(name, rdtype, outcome, error="; ".join(unique[:3]), elapsed_ms=_ms(started))
        return DnsAnswer(name, rdtype, Outcome.TIMEOUT, error=f"no answer within {lifetime:.1f} s",
                         elapsed_ms=_ms(started))

    async def _channel(self, ip: str, port: int) -> "_UdpChannel":
        """The one UDP socket to (ip, port) for this run; concurrent first askers share its creation."""
        key = (ip, port)
        ch = self._channels.get(key)
        if ch is not None and not ch.closed:
            return ch
        pending = self._opening.get(key)
        if pending is None:
            loop = asyncio.get_running_loop()
            pending = asyncio.ensure_future(loop.create_datagram_endpoint(_UdpChannel, remote_addr=key))
            self._opening[key] = pending
            try:
                _, ch = await asyncio.shield(pending)
            finally:
                self._opening.pop(key, None)
            if self._closed:
                ch.close()
                raise ConnectionError("the DNS client was closed")
            self._channels[key] = ch
            return ch
        _, ch = await asyncio.shield(pending)
        return ch

    async def _from_response(self, name: str, rdtype: str, qname: dns.name.Name, qtype: int,
                             response: dns.message.Message, started: float) -> DnsAnswer:
        chain: list[str] = []
        current = qname
        rrset = None
        for _ in range(16):
            rrset = response.get_rrset(response.answer, current, dns.rdataclass.IN, qtype)
            if rrset is not None or qtype == dns.rdatatype.CNAME:
                break
            cname = response.get_rrset(response.answer, current, dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None:
                break
            current = cname[0].target
            chain.append(current.to_text().rstrip(".").lower())
        canonical = chain[-1] if chain else ""
        if response.rcode() == dns.rcode.NXDOMAIN:
            return DnsAnswer(name, rdtype, Outcome.NXDOMAIN, canonical_name=canonical, cname_chain=tuple(chain),
                             elapsed_ms=_ms(started))
        if rrset is None and chain and not _has_soa_for(response, current):
            # An authoritative server stops at the edge of its zone: ask for the target ourselves.
            target = await self.query(canonical, rdtype)
            return DnsAnswer(
                name, rdtype, target.outcome, records=target.records, txt=target.txt,
                txt_strings=target.txt_strings, canonical_name=target.canonical_name or canonical,
                cname_chain=tuple(chain) + target.cname_chain, ttl=target.ttl, error=target.error,
                elapsed_ms=_ms(started),
            )
        if rrset is None and _is_referral(response):
            # A server that only answers for its own zones (a domain's authoritative server given as the
            # resolver) points elsewhere instead of answering: we learnt nothing about the record.
            return DnsAnswer(name, rdtype, Outcome.ERROR, canonical_name=canonical, cname_chain=tuple(chain),
                             error="the DNS server doesn't look up names outside its own zones (it answered with "
                                   "a referral); use a resolving DNS server, such as your computer's own",
                             elapsed_ms=_ms(started))
        if rrset is None or len(rrset) == 0:
            return DnsAnswer(name, rdtype, Outcome.NODATA, canonical_name=canonical, cname_chain=tuple(chain),
                             elapsed_ms=_ms(started))
        records = tuple(r.to_text() for r in rrset)
        txt: tuple[str, ...] = ()
        strings: tuple[tuple[bytes, ...], ...] = ()
        if rdtype in ("TXT", "SPF"):
            strings = tuple(tuple(r.strings) for r in rrset)
            txt = tuple(b"".join(x).decode("utf-8", errors="replace") for x in strings)
        return DnsAnswer(name, rdtype, Outcome.ANSWER, records=records, txt=txt, txt_strings=strings,
                         canonical_name=canonical, cname_chain=tuple(chain), ttl=rrset.ttl,
                         elapsed_ms=_ms(started))

    def _record(self, ans: DnsAnswer, started: float) -> None:
        rec = QueryRecord(
            name=ans.name, rdtype=ans.rdtype, outcome=ans.outcome,
            answer=ans.records if ans.ok else tuple(f"CNAME {c}" for c in ans.cname_chain),
            elapsed_ms=_ms(started), started_ms=(started - self._t0) * 1000, error=ans.error,
        )
        self.log.append(rec)
        if self.on_query is not None:
            try:
                self.on_query(rec)
            except Exception:  # a front end's callback must never break a check
                pass


class _UdpChannel(asyncio.DatagramProtocol):
    """One connected UDP socket to one nameserver; answers are handed to the asker by query ID."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, asyncio.Future[bytes]] = {}
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if len(data) < 12:
            return
        fut = self.pending.get(int.from_bytes(data[:2], "big"))
        if fut is not None and not fut.done():
            fut.set_result(data)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: nobody is listening there. Let the askers time out
        # quickly by failing them now with the error.
        for fut in self.pending.values():
            if not fut.done():
                fut.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        for fut in self.pending.values():
            if not fut.done():
                fut.set_exception(exc or ConnectionError("the DNS socket was closed"))

    async def ask(self, qid: int, wire: bytes, timeout: float) -> bytes:
        """Send ``wire`` and wait for the datagram with the same ID. The answer comes back with the
        caller's ID even if another one had to be used on the wire."""
        if self.transport is None or self.closed:
            raise ConnectionError("the DNS socket is closed")
        original = wire[:2]
        while qid in self.pending:  # two questions in flight with the same ID: pick another
            qid = (qid + 1) & 0xFFFF
        wire = qid.to_bytes(2, "big") + wire[2:]
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.pending[qid] = fut
        try:
            self.transport.sendto(wire)
            data = await asyncio.wait_for(fut, timeout)
        finally:
            self.pending.pop(qid, None)
        return original + data[2:]

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()


def system_nameservers() -> list[tuple[str, int]]:
    """The computer's configured DNS servers (resolv.conf, or the registry on Windows)."""
    try:
        r = dns.resolver.Resolver(configure=True)
    except Exception:
        return []
    out: list[tuple[str, int]] = []
    for ns in r.nameservers:
        if isinstance(ns, dns.nameserver.Do53Nameserver):
            out.append((ns.address, ns.port))
        elif isinstance(ns, str):
            out.append((ns, r.port))
    return out


def _question_length(wire: bytes) -> int | None:
    """Length of the (single) question section of a message in wire format, or None."""
    i = 12
    while i < len(wire):
        n = wire[i]
        if n == 0:
            return i + 1 + 4 - 12
        if n & 0xC0:
            return None  # compressed names never appear in the questions we send
        i += n + 1
    return None


def _fast_negative(data: bytes, query_wire: bytes) -> Outcome | None:
    """NXDOMAIN or NODATA straight from the header of an answer to ``query_wire`` with no answer
    records (most DKIM selector probes), or None when the message must be parsed in full.

    The header must say: a response (QR), same ID, not truncated, NOERROR or NXDOMAIN, one question,
    no answers; and the question must be byte for byte the one we asked. NODATA also needs the AA or
    RA flag: a NOERROR without either may be a referral from a server that doesn't resolve (parsed in
    full, where it is "couldn't check", never "no such record")."""
    if len(data) < 12 or data[:2] != query_wire[:2]:
        return None
    flags1, flags2 = data[2], data[3]
    if not flags1 & 0x80 or flags1 & 0x02 or (flags1 & 0x78) != (query_wire[2] & 0x78):
        return None
    rcode = flags2 & 0x0F
    if rcode not in (0, 3) or (rcode == 0 and not flags1 & 0x04 and not flags2 & 0x80):
        return None
    if int.from_bytes(data[4:6], "big") != 1 or int.from_bytes(data[6:8], "big") != 0:
        return None
    qlen = _question_length(query_wire)
    if qlen is None or data[12:12 + qlen].lower() != query_wire[12:12 + qlen].lower():
        return None
    return Outcome.NXDOMAIN if rcode == 3 else Outcome.NODATA


def _is_referral(response: dns.message.Message) -> bool:
    """NOERROR, not authoritative, no SOA but NS records in the authority section: a delegation, not an
    answer (RFC 1034 §4.3.1; RFC 2308 §2.2 tells a referral from NODATA by the SOA)."""
    if response.rcode() != dns.rcode.NOERROR or response.flags & dns.flags.AA:
        return False
    kinds = {rrset.rdtype for rrset in response.authority}
    return dns.rdatatype.NS in kinds and dns.rdatatype.SOA not in kinds


def _has_soa_for(response: dns.message.Message, name: dns.name.Name) -> bool:
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA and name.is_subdomain(rrset.name):
            return True
    return False


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000


