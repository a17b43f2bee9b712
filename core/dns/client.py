"""The DNS layer: one ``DnsClient`` per run.

- our own client over dnspython's message building and parsing, with nameservers given as ``IP[:PORT]``
  (``[v6]:port`` for IPv6);
- a per-query timeout and an optional overall deadline for the run;
- UDP retransmitted on an adaptive timer: the retransmission timeout comes from the round-trip times
  measured on each nameserver (RFC 6298's estimator), and doubles with each try of a query, so a lost
  datagram costs about one round trip, not half the query's lifetime;
- at most ``MAX_IN_FLIGHT`` queries waiting on one nameserver at once, across every client of the
  event loop (a batch of domains, the watch list), so a big batch never floods a resolver;
- each query from a random source port (a small pool of UDP sockets per nameserver, each bound to a
  random port and replaced after a few dozen queries) with a random ID, and an answer is accepted only
  from the server's address and port, with the same ID and the same question (name, type, class);
- TCP fallback when a UDP answer is truncated;
- CNAME chains followed across zones, with loops and chains longer than ``MAX_CNAME_CHAIN`` ended as
  "couldn't check" at once (a loop never waits on itself);
- a per-run cache: the same (name, type) is asked once, and concurrent askers share the one query;
- a log of every query actually sent (name, type, outcome, answer, time, server) for the details view;
- typed outcomes: an answer, NXDOMAIN, NODATA, a timeout and SERVFAIL stay distinct all the way up;
- a nameserver that stops answering is noticed (a query timed out with no word from it): a small test
  question (the root's SOA) decides whether it is down, and while it is, queries to it fail at once
  instead of each waiting for its own timeout. ``diagnose`` tells "your DNS server does not answer"
  apart from "this domain's DNS servers do not answer".

A timeout or SERVFAIL is "couldn't check" (``DnsAnswer.failed``), never "the record is missing".
"""

from __future__ import annotations

import logging
import asyncio
import contextvars
import errno
import ipaddress
import re
import secrets
import socket
import time
import weakref
from collections import deque
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Callable, cast

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

from ..model import DnsTrouble, json_enum, json_int, json_num, json_object, json_str, json_strs

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 4.0

# Retransmission (seconds). The first try to a server we know nothing about waits INITIAL_RTO; after
# that the wait is the server's smoothed round trip plus four times its variation (RFC 6298 §2), never
# below MIN_RTO, doubled for each further try of the same query, and never more than MAX_RTO at once.
MIN_RTO = 0.15
INITIAL_RTO = 0.4
MAX_RTO = 1.0
MAX_IN_FLIGHT = 64  # queries waiting on one nameserver at once, per event loop (all clients together)
POOL_SIZE = 8  # UDP sockets (random source ports) per nameserver per client
SOCKET_USES = 48  # queries sent from one socket before it is replaced by one on a new random port
MAX_CNAME_CHAIN = 16  # CNAMEs followed for one name (resolvers give up at 8 to 16)
PROBE_EVERY = 5.0  # a server found down is asked the test question again at most this often
PROBE_TIMEOUT = 3.0  # the test question's own time limit (a resolver answers it from its cache)
PROBE_NAME = ""  # the root: every recursive resolver answers its SOA at once
ROOT_LIE_ERROR = "says that no name exists, not even the root of DNS"  # see _ServerState.lies_about_root


class Outcome(StrEnum):
    ANSWER = "answer"
    NXDOMAIN = "nxdomain"  # the name does not exist
    NODATA = "nodata"  # the name exists but has no record of this type
    TIMEOUT = "timeout"  # no answer in time: couldn't check
    SERVFAIL = "servfail"  # the server failed (or refused): couldn't check
    ERROR = "error"  # anything else that stops us (bad name, network down, a CNAME loop): couldn't check

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

_RCODE_REPLY = re.compile(r"^(\S+): (SERVFAIL|REFUSED|NOTIMP|FORMERR)$")


def _rcode_replies(error: str) -> list[tuple[str, str]] | None:
    """``[(server, rcode)]`` when ``error`` is only replies with a failure code ("127.0.0.1:53: REFUSED; ..."),
    else None."""
    parts = [p.strip() for p in error.split(";") if p.strip()]
    matches = [_RCODE_REPLY.match(p) for p in parts]
    if not parts or not all(matches):
        return None
    return [(m.group(1), m.group(2)) for m in matches if m is not None]


LOOP_ERROR = "its CNAME records go round in a loop"
REFERRAL_ERROR = "the DNS server doesn't look up names outside its own zones"
CHAIN_ERROR = f"its chain of CNAME records is longer than {MAX_CNAME_CHAIN} names"


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
    server: str = ""  # the nameserver whose reply this is ("" when none replied)
    sent: int = 0  # datagrams (and TCP queries) sent for it, retransmissions included

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.ANSWER

    @property
    def failed(self) -> bool:
        return self.outcome.failed

    @property
    def lasting(self) -> bool:
        """A failure that asking again later won't cure: the records themselves loop or chain on too long
        (fix the records), or the DNS server doesn't look names up (use another)."""
        return self.outcome is Outcome.ERROR and self.error.startswith((LOOP_ERROR, CHAIN_ERROR, REFERRAL_ERROR))

    @property
    def describe(self) -> str:
        """Plain words for the outcome, e.g. for a "couldn't check" message."""
        text = _PLAIN[self.outcome]
        if self.outcome is Outcome.ERROR and self.error.startswith((LOOP_ERROR, CHAIN_ERROR)):
            return f"the name can't be looked up: {self.error}"
        pairs = _rcode_replies(self.error) if self.outcome is Outcome.SERVFAIL else None
        if pairs:  # "127.0.0.1:53: REFUSED": the server named in the sentence, the code said once
            servers = list(dict.fromkeys(server for server, _ in pairs))
            codes = sorted(set(code for _, code in pairs))
            who = (f"the DNS server {servers[0]}" if len(servers) == 1 else
                   f"the DNS servers {', '.join(servers[:-1])} and {servers[-1]}")
            if codes == ["REFUSED"]:
                return f"{who} refused to answer for this name (REFUSED)"
            return f"{who} reported {'a failure' if len(codes) == 1 else 'failures'} ({', '.join(codes)})"
        if self.outcome is Outcome.SERVFAIL and self.error:  # the code is in the error text: say it once
            text = ("the DNS server refused to answer for this name" if "REFUSED" in self.error
                    and "SERVFAIL" not in self.error else "the DNS server reported a failure")
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
    server: str = ""  # the nameserver that replied ("" when none did)
    sent: int = 0  # datagrams sent (1 when the first one was answered)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.rdtype,
            "outcome": str(self.outcome),
            "answer": list(self.answer),
            "elapsed_ms": round(self.elapsed_ms, 1),
            "started_ms": round(self.started_ms, 1),
            "error": self.error,
            "server": self.server,
            "sent": self.sent,
        }

    @classmethod
    def from_json(cls, data: Any) -> "QueryRecord":
        """The query ``to_json`` wrote (times are kept to a tenth of a millisecond there)."""
        d = json_object(data, "query")
        return cls(name=json_str(d, "name"), rdtype=json_str(d, "type"), outcome=json_enum(Outcome, d, "outcome"),
                   answer=tuple(json_strs(d, "answer")), elapsed_ms=json_num(d, "elapsed_ms"),
                   started_ms=json_num(d, "started_ms"), error=json_str(d, "error", ""),
                   server=json_str(d, "server", ""), sent=json_int(d, "sent"))


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


def server_label(ip: str, port: int) -> str:
    """How a nameserver is shown: ``192.0.2.53``, ``192.0.2.53:5353``, ``[2001:db8::53]:5353``."""
    if port == 53:
        return ip
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


# -- per-nameserver state, shared by every client of one event loop ----------------------------------


class _Limiter:
    """A counting limit whose ``acquire`` gives up after a time, without ever losing a slot."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.free = size
        self.waiters: deque[asyncio.Future[None]] = deque()
        self.most = 0  # the most slots ever taken at once

    def take(self) -> bool:
        """A slot now, if one is free and nobody waits (no coroutine needed)."""
        if self.free > 0 and not self.waiters:
            self.free -= 1
            if self.size - self.free > self.most:
                self.most = self.size - self.free
            return True
        return False

    async def acquire(self, timeout: float | None, urgent: bool = False) -> bool:
        """Take a slot, waiting at most ``timeout`` seconds (None: as long as it takes). ``urgent``: ahead
        of the others waiting (a retransmission: its query is late already)."""
        if self.free > 0 and not self.waiters:
            self.free -= 1
            self.most = max(self.most, self.size - self.free)
            return True
        if timeout is not None and timeout <= 0:
            return False
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if urgent:
            self.waiters.appendleft(fut)
        else:
            self.waiters.append(fut)
        try:
            async with asyncio.timeout(timeout):
                await fut
            return True
        except TimeoutError:
            if fut.done() and not fut.cancelled():
                return True  # handed over just as the time ran out: it is ours
            self._forget(fut)
            return False
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()
            else:
                self._forget(fut)
            raise

    def _forget(self, fut: asyncio.Future[None]) -> None:
        try:
            self.waiters.remove(fut)
        except ValueError:
            pass

    def release(self) -> None:
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_result(None)  # the slot goes straight to the next in line
                return
        self.free += 1


class _ServerState:
    """What we know about one nameserver: its round-trip times, the queries waiting on it, and whether
    it answers at all. One per (event loop, address, port)."""

    def __init__(self, ip: str, port: int) -> None:
        self.ip, self.port = ip, port
        self.label = server_label(ip, port)
        self.srtt: float | None = None
        self.rttvar = 0.0
        self.streak = 0  # retransmission timers run out since its last reply
        self.backoff = 1  # the timer's multiplier: doubled when one runs out (RFC 6298 §5.5), back to 1
        self.expired_at = float("-inf")  # with a round trip measured on a datagram sent since then
        self.last_reply = float("-inf")
        self.limiter = _Limiter(MAX_IN_FLIGHT)
        self.down = ""  # why we believe it does not answer ("" = it does, or we don't know otherwise)
        self.down_at = float("-inf")
        self.probe_task: asyncio.Task[DnsAnswer] | None = None
        self.probe: DnsAnswer | None = None  # the last answer to the test question
        self.probe_at = float("-inf")
        self.sent = 0  # datagrams sent (statistics for the benchmarks)
        self.retransmitted = 0

    def rto(self) -> float:
        base = INITIAL_RTO if self.srtt is None else self.srtt + max(0.01, 4 * self.rttvar)
        base = min(max(base, MIN_RTO), MAX_RTO)
        return min(base * self.backoff, MAX_RTO)

    def expired(self) -> None:
        """A retransmission timer ran out: back off until a round trip measured since says otherwise (so a
        server that slows down under a burst is not flooded with retransmissions of datagrams it still has)."""
        self.streak += 1
        self.backoff = min(self.backoff * 2, 8)
        self.expired_at = time.monotonic()

    def sample(self, rtt: float, sent_at: float) -> None:
        """RFC 6298 §2: a round trip measured on a datagram that was answered (each try has its own ID,
        so the sample is never ambiguous)."""
        if sent_at > self.expired_at:
            self.backoff = 1
        if self.srtt is None:
            self.srtt, self.rttvar = rtt, rtt / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt

    def replied(self) -> None:
        self.last_reply = time.monotonic()
        self.streak = 0
        self.down = ""

    def refused(self, why: str) -> None:
        """An ICMP "port unreachable" or "network unreachable": nothing answers there."""
        self.down = why
        self.down_at = time.monotonic()

    async def ready(self, timeout: float, wait: float | None, fresh: bool = False) -> str:
        """"" when queries may go to this server; else why not. While a test question is out, wait for
        it (at most ``wait`` seconds). ``fresh``: a new run that has not asked it yet: a server found down
        is asked the test question again at once (the user may have fixed the network since)."""
        if not self.down and self.probe_task is None:
            return ""
        now = time.monotonic()
        if self.probe_task is None and (fresh or now - max(self.down_at, self.probe_at) >= PROBE_EVERY):
            self.start_probe(timeout)
        if not await self._await_probe(wait):
            return f"{self.label} has not answered a test question yet"
        return self.down

    async def lies_about_root(self, timeout: float) -> bool:
        """True when this server answers the test question (the root's SOA) with "does not exist": no real
        resolver does, so a blocking or broken one (a captive portal, a filter, a sandbox) is saying it, and
        its "does not exist" for any other name can't be believed either. Asked once, then remembered like
        the test question's other answers; False when it can't be told in time."""
        if self.probe is None or not self.probe.server:
            if self.probe_task is None:
                self.start_probe(timeout)
            if not await self._await_probe(timeout):
                return False
        return self.probe is not None and self.probe.outcome is Outcome.NXDOMAIN

    async def _await_probe(self, wait: float | None) -> bool:
        """Wait for the test question that is out, if one is (at most ``wait`` seconds; None: until it
        ends). Waiting never cancels it for the others waiting on it (one probe per server, shared). False
        when it did not end in time; True when it ended (or none was out, or it was stopped by something
        other than our own cancellation, which still reaches us)."""
        task = self.probe_task
        if task is None:
            return True
        try:
            await asyncio.wait_for(asyncio.shield(task), wait)
        except (TimeoutError, asyncio.TimeoutError):
            return False
        except asyncio.CancelledError:
            if not task.cancelled():
                raise
        return True

    def suspect(self, timeout: float) -> None:
        """A query timed out without a word from this server since it was sent: ask the test question."""
        if self.probe_task is None:
            self.start_probe(timeout)

    def start_probe(self, timeout: float) -> None:
        self.probe_task = asyncio.get_running_loop().create_task(self._probe(min(timeout, PROBE_TIMEOUT)))

    async def _probe(self, timeout: float) -> DnsAnswer:
        client = DnsClient([self.label], timeout=timeout, deadline=None, max_concurrency=0)
        client._probing = True
        try:
            ans = await client._query(PROBE_NAME, "SOA")
        finally:
            client.close()
            self.probe_task = None
        self.probe, self.probe_at = ans, time.monotonic()
        if ans.server:
            self.replied()
        elif not self.down:
            self.down = f"{self.label} does not answer (a test question: {ans.error or ans.outcome})"
            self.down_at = time.monotonic()
        return ans


_STATES: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, int], _ServerState]]" = \
    weakref.WeakKeyDictionary()


def _state(ip: str, port: int) -> _ServerState:
    loop = asyncio.get_running_loop()
    states = _STATES.get(loop)
    if states is None:
        states = _STATES[loop] = {}
    st = states.get((ip, port))
    if st is None:
        st = states[(ip, port)] = _ServerState(ip, port)
    return st


def server_stats(nameserver: str) -> dict[str, Any]:
    """Round-trip estimate and datagram counts for a nameserver on the running loop (benchmarks, tests)."""
    ip, port = parse_nameserver(nameserver)
    st = _state(ip, port)
    return {"srtt_ms": None if st.srtt is None else round(st.srtt * 1000, 2), "rto_ms": round(st.rto() * 1000, 1),
            "sent": st.sent, "retransmitted": st.retransmitted, "down": st.down,
            "most_in_flight": st.limiter.most}


# -- the client ---------------------------------------------------------------------------------------

# The lookups a task is inside of, innermost last: ((client id, name, type), ...). A lookup that would
# wait on one of these is a CNAME loop.
_CHAIN: contextvars.ContextVar[tuple[tuple[int, str, str], ...]] = contextvars.ContextVar(
    "inboxready_dns_chain", default=())


class DnsClient:
    """Asks DNS for one run of checks. Create one per run; it caches and logs everything it asks.

    ``nameservers``: ``["IP[:PORT]", ...]``, or ``None`` for the system's resolvers.
    ``timeout``: the time one query may take once sent (all retransmissions included).
    ``deadline``: seconds for the whole run, from creation; queries after it are timeouts.
    ``max_concurrency``: queries of this run in flight at once (each nameserver also takes at most
    ``MAX_IN_FLIGHT`` from all runs together).
    ``on_query``: called with each ``QueryRecord`` as it completes (from the event loop).

    Call ``close()`` (or use ``async with``) when done; a client left open closes its sockets when it is
    garbage-collected.
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
        self._tasks: set[asyncio.Task[None]] = set()
        self._waits: dict[tuple[str, str], tuple[str, str]] = {}  # lookup -> the lookup it waits on
        self._pools: dict[tuple[str, int], _Pool] = {}
        self._closed = False
        self._probing = False  # the test question of a server: never waits on the server's health
        self._retested: set[_ServerState] = set()  # servers found down that this run asked again
        self.log: list[QueryRecord] = []
        self.on_query = on_query
        if nameservers:
            self._servers = [parse_nameserver(n) for n in nameservers]
        else:
            self._servers = system_nameservers()
        self.nameservers = [server_label(ip, port) for ip, port in self._servers]

    # -- public API -----------------------------------------------------------------------------

    def remaining(self) -> float | None:
        if self._deadline is None:
            return None
        return self._deadline - time.monotonic()

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Look up (name, rdtype) once per run; every later call gets the same answer."""
        key = (normalize_name(name), rdtype.upper())
        chain = _CHAIN.get()
        mine = [(n, t) for c, n, t in chain if c == id(self)]
        if key in mine:  # asked again while following its own CNAME chain
            return self._loop_answer(key, mine[mine.index(key):] + [key])
        if len(mine) > MAX_CNAME_CHAIN:
            return DnsAnswer(key[0], key[1], Outcome.ERROR, error=CHAIN_ERROR)
        fut = self._cache.get(key)
        if fut is None:
            if self._closed:
                return DnsAnswer(key[0], key[1], Outcome.ERROR, error="the DNS client was closed")
            fut = asyncio.get_running_loop().create_future()
            self._cache[key] = fut
            task = asyncio.get_running_loop().create_task(self._lookup(key, fut, chain))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if fut.done():
            return fut.result()
        me = mine[-1] if mine else None
        if me is not None:
            cycle = self._cycle(me, key)
            if cycle:
                return self._loop_answer(key, cycle)
            self._waits[me] = key
        try:
            return await asyncio.shield(fut)
        finally:
            if me is not None:
                self._waits.pop(me, None)

    async def txt(self, name: str) -> DnsAnswer:
        return await self.query(name, "TXT")

    def cached(self, name: str, rdtype: str) -> DnsAnswer | None:
        fut = self._cache.get((normalize_name(name), rdtype.upper()))
        if fut is not None and fut.done() and not fut.cancelled():
            return fut.result()
        return None

    def queries_json(self) -> list[dict[str, Any]]:
        return [q.to_json() for q in self.log]

    async def diagnose(self, domain: str, wait: float = PROBE_TIMEOUT + 1) -> DnsTrouble | None:
        """When every lookup of names at or under ``domain`` in this run failed: whose fault it is.

        "resolver": the configured DNS server(s) gave no usable reply to anything, not even to a test
        question about the root of DNS (no answer at all, connection refused, REFUSED or SERVFAIL for
        everything). "domain": the server answers other names, but this domain's lookups time out or
        fail (its own DNS servers are down or broken). None when the domain's lookups worked."""
        domain = normalize_name(domain)
        own = [q for q in self.log if q.name == domain or q.name.endswith("." + domain)]
        if not own or not all(q.outcome.failed for q in own):
            return None
        if any(q.error.startswith((LOOP_ERROR, CHAIN_ERROR)) for q in own):
            return None  # the domain's own data is at fault, and its cards say how
        if all(REFERRAL_ERROR in q.error for q in own if q.server) and any(q.server for q in own) and \
                not any(not q.outcome.failed for q in self.log):
            return _referral_trouble(tuple(self.nameservers))
        if all(not q.server and not q.sent and "time limit" in q.error for q in own):
            return None  # nothing was asked before the run's own deadline: no evidence either way
        servers = tuple(self.nameservers)
        if not self._servers:
            return DnsTrouble("resolver", servers, "none", "No DNS server is configured on this computer, so "
                              "nothing could be checked.", "Connect to a network, or choose a DNS server.")
        if any(ROOT_LIE_ERROR in q.error for q in own):
            who = _who(servers, start=True)
            return DnsTrouble("resolver", servers, "nxdomain",
                              f"{who} {ROOT_LIE_ERROR}, so nothing could be checked: its 'does not exist' can't be "
                              "believed. It is blocking lookups (a filter, or a hotel or café network waiting for "
                              "you to sign in) or broken.",
                              "Sign in to the network if it asks you to, or choose another DNS server.",
                              "; ".join(dict.fromkeys(q.error for q in own if q.error))[:300])
        reasons = _reason_words(own)
        if any(not q.outcome.failed for q in self.log):  # it answers other names
            return _domain_trouble(domain, servers, reasons)
        probes = [p for p in await self._probes(wait) if p is not None]
        if any(not p.failed for p in probes):
            return _domain_trouble(domain, servers, reasons)
        replied = [p for p in probes if p.server]  # it replied to the test question, if only with a refusal
        if replied:
            refuses = all("REFUSED" in p.error for p in replied)
            own_replied = [q for q in own if q.server]
            if own_replied and len(own_replied) == len(own):  # it refused or failed everything we asked
                if refuses and all("REFUSED" in q.error for q in own):
                    return _resolver_trouble(servers, replied, own)
                if not refuses:
                    return _resolver_trouble(servers, replied, own)
            return _domain_trouble(domain, servers, reasons)  # alive; the domain's lookups fail
        if probes:
            return _resolver_trouble(servers, probes, own)
        if all(not q.server and ("connection refused" in q.error or "unreachable" in q.error) for q in own):
            return _resolver_trouble(servers, [], own)
        return None  # no word from the test question in time: we can't tell whose fault it is

    def close(self) -> None:
        """Close the sockets and stop the lookups still running. The cache and the log stay readable."""
        self._closed = True
        for key, fut in list(self._cache.items()):
            if not fut.done():
                fut.set_result(DnsAnswer(key[0], key[1], Outcome.ERROR, error="the DNS client was closed"))
        for task in list(self._tasks):
            task.cancel()
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    async def __aenter__(self) -> "DnsClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            for pool in self._pools.values():
                pool.close()
        except Exception:
            log.debug("closing a socket pool failed", exc_info=True)

    # -- lookups, CNAME chains and loops ------------------------------------------------------------

    async def _lookup(self, key: tuple[str, str], fut: asyncio.Future[DnsAnswer],
                      chain: tuple[tuple[int, str, str], ...]) -> None:
        """One lookup, as a task of its own: a caller that gives up (a check cancelled at its deadline)
        never cancels it under another caller's feet."""
        _CHAIN.set(chain + ((id(self), key[0], key[1]),))
        try:
            ans = await self._query(*key)
        except asyncio.CancelledError:
            if not fut.done():
                fut.set_result(DnsAnswer(key[0], key[1], Outcome.ERROR, error="the lookup was stopped"))
            raise
        except Exception as exc:  # a bug must show as "couldn't check", never hang the askers
            ans = DnsAnswer(key[0], key[1], Outcome.ERROR, error=f"{type(exc).__name__}: {exc}")
        if not fut.done():
            fut.set_result(ans)

    def _cycle(self, me: tuple[str, str], key: tuple[str, str]) -> list[tuple[str, str]]:
        """The loop ``me`` would close by waiting on ``key`` (whose lookup may wait on others), or []."""
        path = [me, key]
        seen = {me}
        k: tuple[str, str] | None = key
        while k is not None and k not in seen:
            seen.add(k)
            k = self._waits.get(k)
            if k is not None:
                path.append(k)
        if k == me:
            return path
        return []

    def _loop_answer(self, key: tuple[str, str], path: list[tuple[str, str]]) -> DnsAnswer:
        names = " → ".join(n for n, _ in path)
        return DnsAnswer(key[0], key[1], Outcome.ERROR, error=f"{LOOP_ERROR} ({names})")

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
        query = dns.message.make_query(qname, qtype, use_edns=0, payload=1232)
        try:
            got = await self._exchange(name, rdtype, query, started, lifetime)
            assert isinstance(got, DnsAnswer)
            ans = got
        except (dns.exception.DNSException, OSError, ValueError, EOFError) as exc:
            ans = DnsAnswer(name, rdtype, Outcome.ERROR, error=f"{type(exc).__name__}: {exc}",
                            elapsed_ms=_ms(started))
        if ans.outcome is Outcome.NXDOMAIN and not self._probing and ans.server and name:
            ans = await self._believable_nxdomain(ans, started)
        self._record(ans, started)
        return ans

    async def _believable_nxdomain(self, ans: DnsAnswer, started: float) -> DnsAnswer:
        """``ans`` (a "does not exist"), or "couldn't check" when the server that said it says the same of
        the root of DNS (``_ServerState.lies_about_root``): a missing domain is never concluded from it."""
        why = await self._root_lie(ans.server)
        return replace(ans, outcome=Outcome.ERROR, elapsed_ms=_ms(started), error=why) if why else ans

    async def _root_lie(self, server: str) -> str:
        """Why a "does not exist" from ``server`` can't be believed ("" when it can)."""
        st = next((_state(ip, port) for ip, port in self._servers if server_label(ip, port) == server), None)
        if st is None or not await st.lies_about_root(PROBE_TIMEOUT):
            return ""
        return (f"the DNS server {st.label} {ROOT_LIE_ERROR}: it is blocking lookups or broken, so its 'does not "
                "exist' can't be believed")

    # -- the exchange: UDP with retransmission, TCP when truncated -----------------------------------

    async def raw(self, name: str | dns.name.Name, rdtype: str | int, *, dnssec: bool = False,
                  cd: bool = False) -> "RawReply":
        """One query whose whole reply the caller reads (the DNSSEC check: RRSIGs, NSEC proofs). Not
        cached and not logged (the caller logs it); it goes through the same sockets, timers, limits and
        checks as every other query, and honours the run's deadline."""
        started = time.monotonic()
        qname = name if isinstance(name, dns.name.Name) else (dns.name.from_text(name) if name else dns.name.root)
        qtype = cast(dns.rdatatype.RdataType, rdtype if isinstance(rdtype, int) else dns.rdatatype.from_text(rdtype))
        text, ttext = qname.to_text().rstrip(".").lower(), dns.rdatatype.to_text(qtype)
        remaining = self.remaining()
        if remaining is not None and remaining <= 0:
            return RawReply(Outcome.TIMEOUT, None, "the overall time limit was reached")
        if not self._servers:
            return RawReply(Outcome.ERROR, None, "no DNS server is configured on this computer")
        query = dns.message.make_query(qname, qtype, want_dnssec=dnssec, use_edns=0, payload=1232)
        if cd:
            query.flags |= dns.flags.CD  # a validating resolver must hand us bogus data, not SERVFAIL
        lifetime = self.timeout if remaining is None else min(self.timeout, remaining)
        try:
            got = await self._exchange(text, ttext, query, started, lifetime, raw=True)
        except (dns.exception.DNSException, OSError, ValueError, EOFError) as exc:
            return RawReply(Outcome.ERROR, None, f"{type(exc).__name__}: {exc}", elapsed_ms=_ms(started))
        if isinstance(got, RawReply):
            if got.outcome is Outcome.NXDOMAIN and got.server and text:
                why = await self._root_lie(got.server)
                if why:
                    return RawReply(Outcome.ERROR, None, why, server=got.server, sent=got.sent,
                                    elapsed_ms=_ms(started))
            return got
        return RawReply(got.outcome, None, got.error, server=got.server, sent=got.sent, elapsed_ms=_ms(started))

    async def _exchange(self, name: str, rdtype: str, query: dns.message.Message, started: float,
                        lifetime: float, raw: bool = False) -> "DnsAnswer | RawReply":
        wire = query.to_wire()
        ex = _Exchange(wire, raw)
        states = [_state(ip, port) for ip, port in self._servers]
        skipped: dict[int, str] = {}  # server index -> why this query does not use it (any more)
        problems: list[str] = []
        first_sent: dict[int, float] = {}
        until: float | None = None  # the query's lifetime runs from its first datagram
        tries = 0
        last: int | None = None
        try:
            while True:
                now = time.monotonic()
                if until is not None and now >= until:
                    break
                remaining = self.remaining()
                if remaining is not None and remaining <= 0:
                    break
                if len(states) == 1:
                    if skipped:
                        break
                    i = 0
                else:
                    order = [i for i in _preference(states) if i not in skipped]
                    if not order:
                        break
                    if last is None:
                        i = order[0]
                    else:  # the next server after the last one tried, in the configured order
                        i = min(order, key=lambda j: (j - last - 1) % len(states))  # type: ignore[operator]
                last = i
                st = states[i]
                limit = _soonest(until, remaining, now)
                if (st.down or st.probe_task is not None) and not self._probing:
                    fresh = st not in self._retested
                    self._retested.add(st)
                    why = await st.ready(self.timeout, limit if limit is not None else self.timeout, fresh)
                    if why:
                        skipped[i] = why
                        continue
                if st not in ex.held:  # a slot on this server until it replies or its timer runs out
                    if not st.limiter.take() and not await st.limiter.acquire(limit, urgent=tries > 0):
                        break
                    ex.held.add(st)
                if until is None:
                    until = time.monotonic() + lifetime
                try:
                    pool = self._pool(i)
                    channel = pool.pick() or await pool.channel()
                    channel.send(ex, st)
                except OSError as exc:
                    if isinstance(exc, _REFUSED) or getattr(exc, "errno", None) in _UNREACHABLE:
                        st.refused(_oserror_words(st.label, exc))
                    skipped[i] = _oserror_words(st.label, exc)
                    continue
                first_sent.setdefault(i, time.monotonic())
                if tries:
                    st.retransmitted += 1
                # at least four tries fit in the query's lifetime, however slow the round trips measured
                longest = max(MIN_RTO / 2, min(MAX_RTO, lifetime / 4))
                wait = min(st.rto() * (1 << min(tries // len(states), 6)), longest,
                           max(0.0, until - time.monotonic()))
                if remaining is not None:
                    wait = min(wait, max(0.0, self._deadline - time.monotonic()))  # type: ignore[operator]
                tries += 1
                got = await ex.next(wait)
                if got is None:  # the datagram is taken for lost: its slot goes to the next one
                    st.expired()
                    if st.last_reply == float("-inf") and not self._probing:
                        st.suspect(self.timeout)  # never heard from it at all: ask the test question now
                    if st in ex.held:
                        ex.held.discard(st)
                        st.limiter.release()
                    continue
                while got is not None:
                    result = await self._handle(got, ex, query, states, skipped, problems, name, rdtype,
                                                started, until)
                    if result is not None:
                        return result
                    got = ex.take()  # another reply already waiting (a late one, or another server's)
        finally:
            ex.close()
            for st in ex.held:
                st.limiter.release()
            ex.held.clear()
        answered_by_none = not any(st.last_reply >= first_sent.get(i, float("inf"))
                                   for i, st in enumerate(states))
        if until is not None and answered_by_none and not self._probing and \
                (self.remaining() is None or self.remaining() > 0):  # type: ignore[operator]
            for i, t in first_sent.items():
                if states[i].last_reply < t:
                    states[i].suspect(self.timeout)
        sent = ex.sent
        rcode_failure = any(p.endswith((": SERVFAIL", ": REFUSED", ": NOTIMP", ": FORMERR")) for p in problems)
        if rcode_failure:
            return DnsAnswer(name, rdtype, Outcome.SERVFAIL, error="; ".join(list(dict.fromkeys(problems))[:3]),
                             elapsed_ms=_ms(started), server=ex.replied_by, sent=sent)
        if problems:
            return DnsAnswer(name, rdtype, Outcome.ERROR, error="; ".join(list(dict.fromkeys(problems))[:3]),
                             elapsed_ms=_ms(started), server=ex.replied_by, sent=sent)
        if until is None and skipped:  # every server is known to be down, or could not be reached
            return DnsAnswer(name, rdtype, Outcome.ERROR if all("refused" in w or "unreachable" in w
                                                                 for w in skipped.values()) else Outcome.TIMEOUT,
                             error="; ".join(list(dict.fromkeys(skipped.values()))[:3]), elapsed_ms=_ms(started))
        if skipped and all("refused" in w or "unreachable" in w for w in skipped.values()):
            return DnsAnswer(name, rdtype, Outcome.ERROR, error="; ".join(list(dict.fromkeys(skipped.values()))[:3]),
                             elapsed_ms=_ms(started), sent=sent)
        remaining = self.remaining()
        if until is None or (remaining is not None and remaining <= 0 and (until is None or
                                                                          time.monotonic() < until)):
            return DnsAnswer(name, rdtype, Outcome.TIMEOUT, error="the overall time limit was reached",
                             elapsed_ms=_ms(started), sent=sent)
        return DnsAnswer(name, rdtype, Outcome.TIMEOUT,
                         error=f"no answer within {lifetime:.1f} s" + (f", {sent} tries" if sent > 1 else ""),
                         elapsed_ms=_ms(started), sent=sent)

    async def _handle(self, got: tuple["_Tx", bytes | BaseException], ex: "_Exchange", query: dns.message.Message,
                      states: list[_ServerState], skipped: dict[int, str], problems: list[str], name: str,
                      rdtype: str, started: float, until: float | None) -> "DnsAnswer | RawReply | None":
        """One reply (or a socket error) for the exchange: the answer, or None to go on asking."""
        tx, data = got
        st = tx.state
        i = states.index(st)
        if isinstance(data, BaseException):
            if isinstance(data, _REFUSED) or getattr(data, "errno", None) in _UNREACHABLE:
                st.refused(_oserror_words(st.label, data))
            skipped[i] = _oserror_words(st.label, data)
            return None
        st.replied()
        st.sample(tx.received - tx.sent_at, tx.sent_at)
        ex.replied_by = st.label
        negative = None if ex.raw else _fast_negative(data, ex.wire)
        if negative is not None:  # NXDOMAIN / NODATA with no records: no need to parse it all
            return DnsAnswer(name, rdtype, negative, elapsed_ms=_ms(started), server=st.label, sent=ex.sent)
        try:
            response = dns.message.from_wire(data)
        except dns.exception.DNSException as exc:
            problems.append(f"{st.label}: an unreadable answer ({type(exc).__name__})")
            skipped[i] = problems[-1]
            return None
        if not query.is_response(response):
            return None  # cannot happen after the checks in _UdpChannel; ignore it if it does
        if response.flags & dns.flags.TC:
            left = max(0.1, (until or 0) - time.monotonic())
            try:  # again over TCP, in a slot of its own on the server
                if not await st.limiter.acquire(left):
                    raise dns.exception.Timeout()
                try:
                    ex.sent += 1
                    response = await dns.asyncquery.tcp(query, st.ip, port=st.port,
                                                        timeout=max(0.1, (until or 0) - time.monotonic()))
                finally:
                    st.limiter.release()
            except (dns.exception.Timeout, TimeoutError):
                problems.append(f"{st.label}: the answer was too big for UDP and TCP did not answer in time")
                skipped[i] = problems[-1]
                return None
            except (dns.exception.DNSException, OSError, EOFError) as exc:
                problems.append(f"{st.label}: TCP: {type(exc).__name__}: {exc}")
                skipped[i] = problems[-1]
                return None
        rcode = response.rcode()
        if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            if ex.raw:
                if not response.answer and _is_referral(response):  # not an answer: couldn't check
                    return RawReply(Outcome.ERROR, None, f"{REFERRAL_ERROR} (it answered with a referral)",
                                    server=st.label, sent=ex.sent, elapsed_ms=_ms(started))
                return RawReply(Outcome.NXDOMAIN if rcode == dns.rcode.NXDOMAIN else Outcome.ANSWER, response,
                                server=st.label, sent=ex.sent, elapsed_ms=_ms(started))
            qname, qtype = query.question[0].name, query.question[0].rdtype
            ans = await self._from_response(name, rdtype, qname, qtype, response, started)
            return _with_server(ans, st.label, ex.sent)  # (_from_response always makes a new answer)
        problems.append(f"{st.label}: {dns.rcode.to_text(rcode)}")
        skipped[i] = problems[-1]  # this server said no: SERVFAIL is an answer, not something to retry
        return None

    def _pool(self, i: int) -> "_Pool":
        key = self._servers[i]
        pool = self._pools.get(key)
        if pool is None:
            if self._closed:
                raise ConnectionError("the DNS client was closed")
            pool = self._pools[key] = _Pool(*key)
        return pool

    async def _from_response(self, name: str, rdtype: str, qname: dns.name.Name, qtype: int,
                             response: dns.message.Message, started: float) -> DnsAnswer:
        chain: list[str] = []
        current = qname
        rrset = None
        seen = {qname}
        for _ in range(MAX_CNAME_CHAIN + 1):
            rrset = response.get_rrset(response.answer, current, dns.rdataclass.IN, cast(dns.rdatatype.RdataType, qtype))
            if rrset is not None or qtype == dns.rdatatype.CNAME:
                break
            cname = response.get_rrset(response.answer, current, dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None:
                break
            current = cname[0].target
            chain.append(current.to_text().rstrip(".").lower())
            if current in seen:
                return DnsAnswer(name, rdtype, Outcome.ERROR, cname_chain=tuple(chain),
                                 error=f"{LOOP_ERROR} ({' → '.join([name, *chain])})", elapsed_ms=_ms(started))
            seen.add(current)
        if len(chain) > MAX_CNAME_CHAIN:
            return DnsAnswer(name, rdtype, Outcome.ERROR, cname_chain=tuple(chain), error=CHAIN_ERROR,
                             elapsed_ms=_ms(started))
        canonical = chain[-1] if chain else ""
        if response.rcode() == dns.rcode.NXDOMAIN:
            return DnsAnswer(name, rdtype, Outcome.NXDOMAIN, canonical_name=canonical, cname_chain=tuple(chain),
                             elapsed_ms=_ms(started))
        if rrset is None and chain and not _has_soa_for(response, current):
            # An authoritative server stops at the edge of its zone: ask for the target ourselves. A name
            # already being looked up on the way here is a loop (``query`` says so at once).
            mine = sum(1 for c, _, _ in _CHAIN.get() if c == id(self))
            if mine + len(chain) > MAX_CNAME_CHAIN:
                return DnsAnswer(name, rdtype, Outcome.ERROR, cname_chain=tuple(chain), error=CHAIN_ERROR,
                                 elapsed_ms=_ms(started))
            target = await self.query(canonical, rdtype)
            full = tuple(chain) + target.cname_chain
            if len(full) > MAX_CNAME_CHAIN and not target.error.startswith((LOOP_ERROR, CHAIN_ERROR)):
                return DnsAnswer(name, rdtype, Outcome.ERROR, cname_chain=full, error=CHAIN_ERROR,
                                 elapsed_ms=_ms(started))
            return DnsAnswer(
                name, rdtype, target.outcome, records=target.records, txt=target.txt,
                txt_strings=target.txt_strings, canonical_name=target.canonical_name or canonical,
                cname_chain=full, ttl=target.ttl, error=target.error, elapsed_ms=_ms(started),
            )
        if rrset is None and _is_referral(response):
            # A server that only answers for its own zones (a domain's authoritative server given as the
            # resolver) points elsewhere instead of answering: we learnt nothing about the record.
            return DnsAnswer(name, rdtype, Outcome.ERROR, canonical_name=canonical, cname_chain=tuple(chain),
                             error=f"{REFERRAL_ERROR} (it answered with a referral); use a resolving DNS "
                                   "server, such as your computer's own",
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
            server=ans.server, sent=ans.sent,
        )
        self._log(rec)

    def _log(self, rec: QueryRecord) -> None:
        self.log.append(rec)
        if self.on_query is not None:
            try:
                self.on_query(rec)
            except Exception:  # a front end's callback must never break a check
                log.debug("the on_query callback failed", exc_info=True)

    async def _probes(self, wait: float) -> list[DnsAnswer | None]:
        """The test question's answer from each configured server: a recent one, or asked now (waiting
        at most ``wait`` seconds for it)."""
        out: list[DnsAnswer | None] = []
        states = [_state(ip, port) for ip, port in self._servers]
        for st in states:
            if st.probe_task is None and (st.probe is None or time.monotonic() - st.probe_at > PROBE_EVERY):
                st.start_probe(self.timeout)
        for st in states:
            await st._await_probe(max(0.0, wait))  # what it has by then (a late answer is remembered)
            if st.probe is not None:
                p = st.probe
                self._log(QueryRecord(".", "SOA", p.outcome, p.records, p.elapsed_ms,
                                      max(0.0, (st.probe_at - self._t0) * 1000 - p.elapsed_ms),
                                      error=p.error or "a test question: does the DNS server answer at all?",
                                      server=p.server, sent=p.sent))
            out.append(st.probe)
        return out


def _with_server(ans: DnsAnswer, server: str, sent: int) -> DnsAnswer:
    object.__setattr__(ans, "server", server)  # a fresh answer of ours, not yet seen by anyone
    object.__setattr__(ans, "sent", sent)
    return ans


def _preference(states: list[_ServerState]) -> list[int]:
    """Servers in the order to try: the configured order, but one whose timers keep running out (or
    that is down) after the ones that answer."""
    return sorted(range(len(states)), key=lambda i: (bool(states[i].down), states[i].streak > 0, i))


def _soonest(until: float | None, remaining: float | None, now: float) -> float | None:
    limits = [x for x in ((until - now) if until is not None else None, remaining) if x is not None]
    return max(0.0, min(limits)) if limits else None


_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, getattr(errno, "EADDRNOTAVAIL", -1)}
# ICMP "port unreachable" on a connected UDP socket: ECONNREFUSED (Linux, macOS), WSAECONNRESET (Windows)
_REFUSED = (ConnectionRefusedError, ConnectionResetError)


def _oserror_words(label: str, exc: BaseException) -> str:
    if isinstance(exc, _REFUSED):
        return f"{label}: nothing answers there (connection refused)"
    if getattr(exc, "errno", None) in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return f"{label}: the network is unreachable from this computer"
    return f"{label}: {type(exc).__name__}: {exc}"


# -- the wire: exchanges, transmissions and the UDP socket pool ----------------------------------------


class _Tx:
    """One datagram sent for an exchange: its socket, ID and time (for the round-trip sample)."""

    __slots__ = ("exchange", "state", "channel", "qid", "sent_at", "received")

    def __init__(self, exchange: "_Exchange", state: _ServerState, channel: "_UdpChannel", qid: int) -> None:
        self.exchange, self.state, self.channel, self.qid = exchange, state, channel, qid
        self.sent_at = time.monotonic()
        self.received = 0.0


@dataclass(frozen=True)
class RawReply:
    """The whole reply to ``DnsClient.raw``: ``response`` for NOERROR (outcome ANSWER, whatever the answer
    section holds) and NXDOMAIN; otherwise None, with the failure's outcome and plain-words error."""

    outcome: Outcome
    response: dns.message.Message | None
    error: str = ""
    server: str = ""
    sent: int = 0
    elapsed_ms: float = 0.0


class _Exchange:
    """The replies for one query, from whichever of its datagrams is answered first."""

    def __init__(self, wire: bytes, raw: bool = False) -> None:
        self.raw = raw  # the caller wants the whole reply (no shortcut for negative answers)
        self.wire = wire  # with the query's own ID; each datagram carries a fresh random one
        self.question = _question(wire)
        self.txs: list[_Tx] = []
        self.held: set[_ServerState] = set()  # servers on which it holds an in-flight slot
        self.inbox: deque[tuple[_Tx, bytes | BaseException]] = deque()
        self.waiter: asyncio.Future[None] | None = None
        self.sent = 0
        self.replied_by = ""

    def deliver(self, tx: _Tx, data: bytes | BaseException) -> None:
        if isinstance(data, bytes):
            data = self.wire[:2] + data[2:]  # the caller's ID back (the parser compares it)
        tx.received = time.monotonic()
        if tx.state in self.held:  # the server is done with it: its slot goes to the next query now,
            self.held.discard(tx.state)  # not when this task next gets to run
            tx.state.limiter.release()
        self.inbox.append((tx, data))
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def take(self) -> tuple[_Tx, bytes | BaseException] | None:
        return self.inbox.popleft() if self.inbox else None

    async def next(self, timeout: float) -> tuple[_Tx, bytes | BaseException] | None:
        """The next reply, or None when ``timeout`` runs out first."""
        if not self.inbox and timeout > 0:
            loop = asyncio.get_running_loop()
            waiter = self.waiter = loop.create_future()
            timer = loop.call_later(timeout, _wake, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self.waiter = None
        return self.take()

    def close(self) -> None:
        for tx in self.txs:
            tx.channel.forget(tx.qid)
        self.txs.clear()


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class _Pool:
    """A few UDP sockets to one nameserver, each on a random local port; a query takes one at random."""

    def __init__(self, ip: str, port: int) -> None:
        self.ip, self.port = ip, port
        self.slots: list[_UdpChannel | asyncio.Future[_UdpChannel] | None] = [None] * POOL_SIZE
        self.closed = False
        self.draw: int | None = None  # the slot ``pick`` drew, for ``channel`` to fill

    def pick(self) -> "_UdpChannel | None":
        """A socket of the pool at random, if the one drawn is open and usable (else None: ``channel``)."""
        self.draw = secrets.randbelow(POOL_SIZE)
        entry = self.slots[self.draw]
        if isinstance(entry, _UdpChannel) and not entry.closed and entry.uses < SOCKET_USES:
            return entry
        return None

    async def channel(self) -> "_UdpChannel":
        i = self.draw if self.draw is not None else secrets.randbelow(POOL_SIZE)
        self.draw = None
        entry = self.slots[i]
        if isinstance(entry, _UdpChannel):
            if not entry.closed and entry.uses < SOCKET_USES:
                return entry
            entry.retire()
        elif entry is not None:
            return await asyncio.shield(entry)
        fut = asyncio.ensure_future(_open_channel(self.ip, self.port))
        self.slots[i] = fut
        try:
            ch = await asyncio.shield(fut)
        except BaseException:
            if self.slots[i] is fut:
                self.slots[i] = None
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                fut.result().close()
            raise
        if self.closed:
            ch.close()
            raise ConnectionError("the DNS client was closed")
        if self.slots[i] is fut:
            self.slots[i] = ch
        return ch

    def close(self) -> None:
        self.closed = True
        for entry in self.slots:
            if isinstance(entry, _UdpChannel):
                entry.close()
            elif entry is not None:
                entry.add_done_callback(_close_when_open)
        self.slots = [None] * POOL_SIZE


def _close_when_open(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled() and fut.exception() is None:
        fut.result().close()


def _ephemeral_range() -> tuple[int, int]:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as fh:
            lo, hi = (int(x) for x in fh.read().split())
        if 1024 <= lo < hi <= 65535:
            return lo, hi
    except (OSError, ValueError):
        pass
    return 49152, 65535  # IANA's dynamic ports (RFC 6335)


_PORTS = _ephemeral_range()


async def _open_channel(ip: str, port: int) -> "_UdpChannel":
    """A UDP socket bound to a random port of the ephemeral range and connected to the nameserver (so the
    system drops datagrams from anywhere else, and reports "port unreachable" to us)."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        any_addr = "::" if family == socket.AF_INET6 else "0.0.0.0"
        lo, hi = _PORTS
        for _ in range(10):
            try:
                sock.bind((any_addr, lo + secrets.randbelow(hi - lo + 1)))
                break
            except OSError as exc:
                if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                    raise
        else:
            sock.bind((any_addr, 0))  # the system's choice (also random on every current system)
        sock.connect((ip, port))
        loop = asyncio.get_running_loop()
        _, channel = await loop.create_datagram_endpoint(lambda: _UdpChannel(ip, port), sock=sock)
    except BaseException:
        sock.close()
        raise
    return channel


class _UdpChannel(asyncio.DatagramProtocol):
    """One connected UDP socket to one nameserver; a datagram reaches its exchange only if it comes from
    the server's address and port and carries the ID and the question of one of ours."""

    def __init__(self, ip: str, port: int) -> None:
        self.ip = ipaddress.ip_address(ip)
        self.host = str(self.ip)  # as the system reports a datagram's source (compared first: cheap)
        self.port = port
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, _Tx] = {}
        self.closed = False
        self.retiring = False
        self.uses = 0
        self.ignored = 0  # datagrams that matched nothing of ours (late, duplicated or forged)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, exchange: _Exchange, state: _ServerState) -> _Tx:
        if self.transport is None or self.closed:
            raise ConnectionError("the DNS socket is closed")
        qid = secrets.randbits(16)
        while qid in self.pending:
            qid = secrets.randbits(16)
        tx = _Tx(exchange, state, self, qid)
        self.pending[qid] = tx
        exchange.txs.append(tx)
        self.uses += 1
        exchange.sent += 1
        state.sent += 1
        self.transport.sendto(qid.to_bytes(2, "big") + exchange.wire[2:])
        return tx

    def datagram_received(self, data: bytes, addr: Any) -> None:
        tx = self.pending.get(int.from_bytes(data[:2], "big")) if len(data) >= 12 else None
        if tx is None or not self._from_server(addr) or not _answers(data, tx.exchange.question):
            self.ignored += 1
            return
        del self.pending[tx.qid]
        tx.exchange.deliver(tx, data)
        if self.retiring and not self.pending:
            self.close()

    def _from_server(self, addr: Any) -> bool:
        try:
            if addr[1] != self.port:
                return False
            return addr[0] == self.host or ipaddress.ip_address(str(addr[0]).split("%", 1)[0]) == self.ip
        except (ValueError, TypeError, IndexError):
            return False

    def forget(self, qid: int) -> None:
        self.pending.pop(qid, None)
        if self.retiring and not self.pending:
            self.close()

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: nobody is listening there. Tell the askers now.
        pending, self.pending = self.pending, {}
        for tx in pending.values():
            tx.exchange.deliver(tx, exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        pending, self.pending = self.pending, {}
        for tx in pending.values():
            tx.exchange.deliver(tx, exc or ConnectionError("the DNS socket was closed"))

    def retire(self) -> None:
        """No new queries; close once the ones waiting have their answer (or give up)."""
        self.retiring = True
        if not self.pending:
            self.close()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()


def _question(wire: bytes) -> bytes:
    qlen = _question_length(wire)
    return wire[12:12 + qlen] if qlen is not None else b""


def _same_question(got: bytes, ours: bytes) -> bool:
    """The question section ``got`` (from a reply) is ``ours``: the name in any letter case (label
    lengths are below 64, so only letters change case), then the type and class byte for byte."""
    return len(got) == len(ours) and got[:-4].lower() == ours[:-4].lower() and got[-4:] == ours[-4:]


def _answers(data: bytes, question: bytes) -> bool:
    """A reply (QR) to a standard query whose one question is ours (name, type, class); a reply without
    a question is taken only for a refusal (FORMERR, NOTIMP, REFUSED)."""
    if not data[2] & 0x80 or (data[2] >> 3) & 0x0F != 0:
        return False
    qdcount = int.from_bytes(data[4:6], "big")
    if qdcount == 0:
        return (data[3] & 0x0F) in (1, 4, 5)
    return qdcount == 1 and bool(question) and _same_question(data[12:12 + len(question)], question)


def _reason_words(own: list[QueryRecord]) -> tuple[str, str]:
    """(token, words) for how the domain's lookups failed."""
    kinds = {q.outcome for q in own}
    if Outcome.SERVFAIL in kinds and any("REFUSED" in q.error for q in own) and \
            not any("SERVFAIL" in q.error for q in own):
        return "refused", "it refuses to answer (REFUSED)"
    if Outcome.SERVFAIL in kinds:
        return "servfail", "it reports a failure (SERVFAIL)"
    if Outcome.TIMEOUT in kinds:
        return "timeout", "no answer comes in time"
    return "error", "the lookups fail"


def _domain_trouble(domain: str, servers: tuple[str, ...], reason: tuple[str, str]) -> DnsTrouble:
    who = _who(servers)
    verb = "answer" if len(servers) > 1 else "answers"
    return DnsTrouble(
        "domain", servers, reason[0],
        f"The DNS servers of {domain} do not answer: {who} {verb} other names, but for {domain} {reason[1]}. "
        "This is not a problem with your computer or network: the domain's DNS hosting may be down, or its "
        "delegation or DNSSEC broken.",
        "Try again later, or ask whoever hosts the domain's DNS.",
        f"Every lookup of {domain} and the names under it failed.")


NETWORK_ADVICE = "Check your internet connection, or choose another DNS server."


def _referral_trouble(servers: tuple[str, ...]) -> DnsTrouble:
    who = _who(servers, start=True)
    many = len(servers) > 1
    return DnsTrouble("resolver", servers, "referral",
                      f"{who} {'do' if many else 'does'} not look names up: {'they answer' if many else 'it answers'} "
                      f"only for {'their' if many else 'its'} own zones (with referrals for the rest), so nothing "
                      "could be checked. It looks like a domain's own DNS server, not a resolver.",
                      "Choose a resolving DNS server, such as your computer's own or your network's.")


def _resolver_trouble(servers: tuple[str, ...], probes: list[DnsAnswer], own: list[QueryRecord]) -> DnsTrouble:
    who = _who(servers, start=True)
    many = len(servers) > 1
    errors = "; ".join(dict.fromkeys([p.error for p in probes if p.error] + [q.error for q in own if q.error]))
    if probes and all(p.outcome is Outcome.SERVFAIL for p in probes):
        if all("REFUSED" in p.error for p in probes) and all("REFUSED" in q.error for q in own if q.server):
            return DnsTrouble("resolver", servers, "refused",
                              f"{who} {'refuse' if many else 'refuses'} to answer our questions (REFUSED), so "
                              "nothing could be checked.",
                              "It may only serve another network: choose another DNS server.", errors[:300])
        return DnsTrouble("resolver", servers, "servfail",
                          f"{who} {'answer' if many else 'answers'}, but {'fail' if many else 'fails'} for "
                          "every name we ask, even the root of DNS, so nothing could be checked. It may have "
                          "lost its own connection to the internet.", NETWORK_ADVICE, errors[:300])
    parts = [e for e in errors.split("; ") if e]
    if parts and all("TCP" in e for e in parts):  # it does answer, but only with truncated answers (TC)
        refused = any("Refused" in e or "refused" in e or "reset" in e.lower() for e in parts)
        return DnsTrouble("resolver", servers, "unreachable" if refused else "timeout",
                          f"{who} {'answer' if many else 'answers'}, but only with answers cut short (too big "
                          f"for UDP), and {'they' if many else 'it'} can't be reached over TCP, which DNS uses "
                          "for longer answers, so nothing could be checked. A firewall may be blocking DNS over "
                          "TCP (port 53).", "Allow DNS over TCP, or choose another DNS server.", errors[:300])
    if "connection refused" in errors:
        return DnsTrouble("resolver", servers, "unreachable",
                          f"{who} can't be reached: nothing answers at that address (connection refused), so "
                          "nothing could be checked.", NETWORK_ADVICE, errors[:300])
    if "unreachable" in errors:
        return DnsTrouble("resolver", servers, "unreachable",
                          f"{who} can't be reached: the network is unreachable from this computer, so nothing "
                          "could be checked.", NETWORK_ADVICE, errors[:300])
    return DnsTrouble("resolver", servers, "timeout",
                      f"{who} {'do' if many else 'does'} not answer: none of our questions got a reply, so "
                      "nothing could be checked.", NETWORK_ADVICE, errors[:300])


def _who(servers: tuple[str, ...], start: bool = False) -> str:
    if not servers:
        text = "your DNS server"
    elif len(servers) == 1:
        text = f"your DNS server ({servers[0]})"
    else:
        text = f"your DNS servers ({', '.join(servers)})"
    return text[0].upper() + text[1:] if start else text


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
    if qlen is None or not _same_question(data[12:12 + qlen], query_wire[12:12 + qlen]):
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


