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
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Callable

import dns.asyncresolver
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
    """

    def __init__(
        self,
        nameservers: list[str] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float | None = None,
        max_concurrency: int = 64,
        on_query: Callable[[QueryRecord], None] | None = None,
        resolver: dns.asyncresolver.Resolver | None = None,
    ) -> None:
        self.timeout = timeout
        self._t0 = time.monotonic()
        self._deadline = self._t0 + deadline if deadline else None
        self._sem = asyncio.Semaphore(max_concurrency) if max_concurrency else None
        self._cache: dict[tuple[str, str], asyncio.Future[DnsAnswer]] = {}
        self.log: list[QueryRecord] = []
        self.on_query = on_query
        if resolver is not None:
            self._resolver = resolver
            self.nameservers = [str(n) for n in resolver.nameservers]
        elif nameservers:
            r = dns.asyncresolver.Resolver(configure=False)
            parsed = [parse_nameserver(n) for n in nameservers]
            r.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in parsed]
            self._resolver = r
            self.nameservers = [f"{ip}:{port}" if port != 53 else ip for ip, port in parsed]
        else:
            try:
                r = dns.asyncresolver.Resolver(configure=True)
            except Exception:  # no resolv.conf: fall back to nothing configured
                r = dns.asyncresolver.Resolver(configure=False)
            self._resolver = r
            self.nameservers = [str(n) for n in r.nameservers]
        # Retry on SERVFAIL is wrong for us: SERVFAIL is an answer ("couldn't check"), not noise.
        self._resolver.retry_servfail = False
        self._resolver.cache = None

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
                self._record(ans, started, sent=False)
                return ans
            lifetime = min(lifetime, remaining)
        try:
            qname = dns.name.from_text(name) if name else dns.name.root
        except (dns.exception.DNSException, ValueError) as exc:
            ans = DnsAnswer(name, rdtype, Outcome.ERROR, error=f"not a valid DNS name: {exc}")
            self._record(ans, started, sent=False)
            return ans
        try:
            result = await self._resolver.resolve(
                qname, rdtype, lifetime=lifetime, raise_on_no_answer=False, search=False
            )
            ans = self._from_answer(name, rdtype, result, started)
        except dns.resolver.NXDOMAIN as exc:
            chain = _cname_chain_from_nx(exc)
            ans = DnsAnswer(name, rdtype, Outcome.NXDOMAIN, cname_chain=chain, elapsed_ms=_ms(started))
        except dns.resolver.LifetimeTimeout:
            ans = DnsAnswer(name, rdtype, Outcome.TIMEOUT, error=f"no answer within {lifetime:.1f} s",
                            elapsed_ms=_ms(started))
        except dns.exception.Timeout:
            ans = DnsAnswer(name, rdtype, Outcome.TIMEOUT, error=f"no answer within {lifetime:.1f} s",
                            elapsed_ms=_ms(started))
        except dns.resolver.NoNameservers as exc:
            ans = DnsAnswer(name, rdtype, Outcome.SERVFAIL, error=_servfail_text(exc), elapsed_ms=_ms(started))
        except dns.resolver.YXDOMAIN:
            ans = DnsAnswer(name, rdtype, Outcome.ERROR, error="the name is too long after following a DNAME",
                            elapsed_ms=_ms(started))
        except dns.resolver.NoResolverConfiguration:
            ans = DnsAnswer(name, rdtype, Outcome.ERROR, error="no DNS server is configured on this computer",
                            elapsed_ms=_ms(started))
        except (dns.exception.DNSException, OSError, ValueError) as exc:
            ans = DnsAnswer(name, rdtype, Outcome.ERROR, error=f"{type(exc).__name__}: {exc}",
                            elapsed_ms=_ms(started))
        self._record(ans, started, sent=True)
        return ans

    def _from_answer(self, name: str, rdtype: str, result: dns.resolver.Answer, started: float) -> DnsAnswer:
        chain: list[str] = []
        canonical = result.canonical_name.to_text().rstrip(".").lower()
        if canonical != name:
            chain = _cname_chain(result.response, result.qname)
        rrset = result.rrset
        if rrset is None or len(rrset) == 0:
            return DnsAnswer(name, rdtype, Outcome.NODATA, canonical_name=canonical if chain else "",
                             cname_chain=tuple(chain), elapsed_ms=_ms(started))
        records = tuple(r.to_text() for r in rrset)
        txt: tuple[str, ...] = ()
        strings: tuple[tuple[bytes, ...], ...] = ()
        if rdtype in ("TXT", "SPF"):
            strings = tuple(tuple(r.strings) for r in rrset)
            txt = tuple(b"".join(s).decode("utf-8", errors="replace") for s in strings)
        return DnsAnswer(
            name, rdtype, Outcome.ANSWER, records=records, txt=txt, txt_strings=strings,
            canonical_name=canonical if chain else "", cname_chain=tuple(chain), ttl=rrset.ttl,
            elapsed_ms=_ms(started),
        )

    def _record(self, ans: DnsAnswer, started: float, *, sent: bool) -> None:
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


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000


def _cname_chain(response: dns.message.Message, qname: dns.name.Name) -> list[str]:
    chain: list[str] = []
    name = qname
    for _ in range(16):
        rr = response.get_rrset(response.answer, name, dns.rdataclass.IN, dns.rdatatype.CNAME)
        if rr is None:
            break
        name = rr[0].target
        chain.append(name.to_text().rstrip(".").lower())
    return chain


def _cname_chain_from_nx(exc: dns.resolver.NXDOMAIN) -> tuple[str, ...]:
    try:
        canon = exc.canonical_name
    except Exception:
        return ()
    qnames = exc.kwargs.get("qnames") or []
    if qnames and canon != qnames[0]:
        return (canon.to_text().rstrip(".").lower(),)
    return ()


def _servfail_text(exc: dns.resolver.NoNameservers) -> str:
    errors = exc.kwargs.get("errors") or []
    parts = []
    for err in errors[:3]:
        try:
            server, _tcp, _port, e, _resp = err
            parts.append(f"{server}: {e}")
        except Exception:
            parts.append(str(err))
    return "; ".join(parts) or "no server could answer"

