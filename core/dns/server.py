"""A small authoritative DNS server for loopback: the tests, the demo mode and the self-test use it.

It serves zones written in RFC 1035 master-file format (or records added one by one) over UDP and TCP,
truncates UDP answers that do not fit (so clients must retry over TCP), follows CNAMEs inside its own
zones (stopping where they loop, as authoritative servers do), synthesizes wildcard answers, and can be
told to add latency, to never answer some names (a timeout for the client), to answer SERVFAIL for
them, or to drop a fraction of the UDP queries at random (``drop_rate``, seeded: a lossy network).
``add_cname_loop`` and ``add_cname_chain`` build hostile CNAME data; ``client_ports`` records the source
port of every UDP query (to see that a client varies them).

It never listens anywhere but the address it is given, which should be a loopback address.

DNSSEC: zones signed with ``dns.dnssec.sign_zone`` can be loaded as they are. A query with the DO bit
gets the RRSIG records covering its answer (and its SOA), and a negative answer gets the NSEC/NSEC3
records that prove it with their RRSIGs. Queries without the DO bit get exactly what they got before.

    server = DnsTestServer()
    server.add_zone("example.com", ZONE_TEXT)
    server.start()                      # binds 127.0.0.1 on a free port, in a background thread
    client = DnsClient([server.address])
    ...
    server.stop()
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
import socket
import struct
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, cast

import dns.dnssec
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone

IN = dns.rdataclass.IN


@dataclass
class _Node:
    rdatasets: dict[int, dns.rdataset.Rdataset] = field(default_factory=dict)


class DnsTestServer:
    """An authoritative loopback DNS server running in a background thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency: float = 0.0,
        udp_payload: int | None = None,
        drop_rate: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.latency = latency  # seconds added before every answer
        self.udp_payload = udp_payload  # force a smaller UDP limit (e.g. 512) to test truncation
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError("drop_rate must be from 0 up to (not including) 1")
        self.drop_rate = drop_rate  # the fraction of UDP queries never answered (a lossy network)
        self._rng = random.Random(seed)
        self.dropped = 0  # UDP queries dropped so far
        self.client_ports: deque[int] = deque(maxlen=1 << 16)  # the source ports of the latest UDP queries
        self._busy: dict[bytes, int] = {}  # UDP questions not yet answered once (retransmissions count once)
        self._answered: deque[bytes] = deque(maxlen=1 << 14)  # recently answered questions
        self.max_concurrent = 0  # the most different UDP questions it was answering at once
        self._origins: set[dns.name.Name] = set()
        self._nodes: dict[dns.name.Name, _Node] = {}
        self._ents: set[dns.name.Name] = set()  # names that exist only because a child exists
        # DNSSEC material, kept beside the nodes (a name holds one RRSIG set per covered type, and a
        # delegation point holds the parent's NSEC and the child's): name -> covered type -> RRSIGs,
        # and zone -> owner -> NSEC/NSEC3 type -> records.
        self._sigs: dict[dns.name.Name, dict[int, dns.rdataset.Rdataset]] = {}
        self._denial: dict[dns.name.Name, dict[dns.name.Name, dict[int, dns.rdataset.Rdataset]]] = {}
        self._cache: dict[tuple[bytes, bool], bytes] = {}  # query minus ID -> answer minus ID
        # "name", "name/TYPE" or ".domain" (the domain and all below it): never answered / SERVFAIL
        self.timeout_names: set[str] = _WatchedSet(self._cache.clear)
        self.servfail_names: set[str] = _WatchedSet(self._cache.clear)
        self.query_count = 0
        self.tcp_query_count = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    # -- zone data ------------------------------------------------------------------------------

    def add_zone(self, origin: str, text: str) -> None:
        """Add a zone from master-file text. Names in ``text`` are relative to ``origin`` unless
        they end in a dot. SOA and NS records are optional."""
        if "$TTL" not in text.upper():
            text = "$TTL 300\n" + text  # so records may leave out their TTL
        zone = dns.zone.from_text(text, origin=origin, relativize=False, check_origin=False)
        with self._lock:
            assert zone.origin is not None  # from_text was given one
            self._origins.add(zone.origin)
            for name, node in zone.nodes.items():
                for rds in node.rdatasets:
                    self._add_rdataset(name, rds, zone.origin)
            self._rebuild_ents()
            self._cache.clear()

    def add_zone_file(self, path: str, origin: str | None = None) -> None:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        if origin is None:
            origin = _origin_from_text(text) or _origin_from_filename(path)
        self.add_zone(origin, text)

    def add_origin(self, origin: str) -> None:
        """Declare a zone this server is authoritative for, without records."""
        with self._lock:
            self._origins.add(dns.name.from_text(origin))
            self._cache.clear()

    def add_records(self, name: str, rdtype: str, values: Iterable[str], ttl: int = 300) -> None:
        """Add records by hand: ``add_records("example.com", "TXT", ['"v=spf1 -all"'])``.
        The name's zone must have been declared (``add_zone`` or ``add_origin``)."""
        n = dns.name.from_text(name)
        t = dns.rdatatype.from_text(rdtype)
        rds = dns.rdataset.Rdataset(IN, t, ttl=ttl)
        for v in values:
            rds.add(dns.rdata.from_text(IN, t, v, origin=dns.name.root, relativize=False))
        with self._lock:
            self._add_rdataset(n, rds)
            self._rebuild_ents()
            self._cache.clear()

    def add_cname_loop(self, *names: str) -> None:
        """CNAMEs that go round: ``add_cname_loop("a.x", "b.x")`` makes a.x → b.x → a.x (one name: a CNAME
        to itself). The names' zones must have been declared."""
        for i, name in enumerate(names):
            self.add_records(name, "CNAME", [names[(i + 1) % len(names)].rstrip(".") + "."])

    def add_cname_chain(self, start: str, length: int, target: str, zone: str | None = None) -> list[str]:
        """A chain of ``length`` CNAMEs from ``start`` ending at ``target``: start → c1 → … → target. The
        intermediate names go under ``zone`` (default: ``start``'s parent). Returns the names in order."""
        base = zone or start.split(".", 1)[1]
        names = [start] + [f"chain{i}.{base}" for i in range(1, length)] + [target]
        for here, there in zip(names, names[1:]):
            self.add_records(here, "CNAME", [there.rstrip(".") + "."])
        return names

    def clear(self) -> None:
        with self._lock:
            self._origins.clear()
            self._nodes.clear()
            self._ents.clear()
            self._sigs.clear()
            self._denial.clear()
            self.timeout_names.clear()
            self.servfail_names.clear()
            self._cache.clear()

    def replace_zone(self, origin: str, text: str) -> None:
        """Drop every record at or under ``origin`` and load ``text`` in its place."""
        o = dns.name.from_text(origin)
        with self._lock:
            for name in [n for n in self._nodes if n.is_subdomain(o)]:
                del self._nodes[name]
            for name in [n for n in self._sigs if n.is_subdomain(o)]:
                del self._sigs[name]
            for zname in [z for z in self._denial if z.is_subdomain(o)]:
                del self._denial[zname]
        self.add_zone(origin, text)

    def _add_rdataset(self, name: dns.name.Name, rds: dns.rdataset.Rdataset,
                      origin: dns.name.Name | None = None) -> None:
        if rds.rdtype == dns.rdatatype.RRSIG:
            sigs = self._sigs.setdefault(name, {})
            have = sigs.get(rds.covers)
            if have is None:
                sigs[rds.covers] = rds.copy()
            else:
                have.union_update(rds)
            return
        if rds.rdtype in (dns.rdatatype.NSEC, dns.rdatatype.NSEC3):
            zone = origin if origin is not None else self._zone_of(name)
            if zone is not None:
                owners = self._denial.setdefault(zone, {})
                types = owners.setdefault(name, {})
                have = types.get(rds.rdtype)
                if have is None:
                    types[rds.rdtype] = rds.copy()
                else:
                    have.union_update(rds)
                return
        node = self._nodes.setdefault(name, _Node())
        existing = node.rdatasets.get(rds.rdtype)
        if existing is None:
            node.rdatasets[rds.rdtype] = rds.copy()
        else:
            existing.union_update(rds)

    def _rebuild_ents(self) -> None:
        ents: set[dns.name.Name] = set()
        for name in self._nodes:
            parent = name
            while len(parent) > 1:
                parent = parent.parent()
                if parent not in self._nodes:
                    ents.add(parent)
        self._ents = ents

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """``IP:PORT``, as ``DnsClient`` and ``--nameserver`` take it."""
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"

    def start(self) -> "DnsTestServer":
        self._thread = threading.Thread(target=self._run, name="dns-test-server", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        if not self._ready.is_set():
            raise RuntimeError("the DNS test server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(5)
        self._thread = None

    def __enter__(self) -> "DnsTestServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaced to start()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stop = asyncio.Event()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # UDP and TCP share one port. With port 0, take a free UDP port and try TCP on it; another
        # program may hold that TCP port already, so try again with a new one a few times.
        for attempt in range(50):
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(self.host, self.port), family=family
            )
            port = transport.get_extra_info("sockname")[1]
            try:
                tcp = await asyncio.start_server(self._handle_tcp, self.host, port, family=family,
                                                 reuse_address=True)
            except OSError:
                transport.close()
                if self.port or attempt == 49:
                    raise
                continue
            self.port = port
            break
        _grow_receive_buffer(transport.get_extra_info("socket"))
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            transport.close()
            tcp.close()
            await tcp.wait_closed()

    # -- answering ------------------------------------------------------------------------------

    def _matches(self, names: set[str], qname: dns.name.Name, rdtype: int) -> bool:
        """``name`` or ``name/TYPE`` in ``names``; an entry with a leading dot (``.example.test``) stands for
        the name and every name under it (a whole domain whose servers are down)."""
        if not names:
            return False
        text = qname.to_text().rstrip(".").lower()
        if text in names or f"{text}/{dns.rdatatype.to_text(cast(dns.rdatatype.RdataType, rdtype))}" in names:
            return True
        labels = text.split(".")
        return any("." + ".".join(labels[i:]) in names for i in range(len(labels)))

    def answer(self, query: dns.message.Message) -> dns.message.Message | None:
        """Build the response to ``query``; ``None`` means "do not answer" (a timeout)."""
        self.query_count += 1
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        response.flags &= ~dns.flags.RA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        q = query.question[0]
        qname, rdtype = q.name, q.rdtype
        if self._matches(self.timeout_names, qname, rdtype):
            return None
        if self._matches(self.servfail_names, qname, rdtype):
            response.flags &= ~dns.flags.AA
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        with self._lock:
            if query.ednsflags & dns.flags.DO and query.edns >= 0:
                response.use_edns(0, dns.flags.DO, max(512, query.payload))
                if rdtype == dns.rdatatype.RRSIG:
                    self._answer_rrsig(response, qname)
                else:
                    self._resolve_into(response, qname, rdtype)
                    self._add_dnssec(response, qname, rdtype)
            else:
                self._resolve_into(response, qname, rdtype)
        return response

    # -- DNSSEC (only for queries with the DO bit) ------------------------------------------------

    def _answer_rrsig(self, response: dns.message.Message, qname: dns.name.Name) -> None:
        if self._zone_of(qname) is None:
            response.flags &= ~dns.flags.AA
            response.set_rcode(dns.rcode.REFUSED)
            return
        sigs = self._sigs.get(qname, {})
        for rds in sigs.values():
            response.answer.append(_rrset(qname, rds))
        if not sigs:
            _, exists = self._lookup(qname)
            if not exists:
                response.set_rcode(dns.rcode.NXDOMAIN)
            zone = self._zone_of(qname)
            if zone is not None:
                self._add_soa(response, zone)

    def _signatures(self, name: dns.name.Name, rdtype: int,
                    signer: dns.name.Name | None = None) -> dns.rrset.RRset | None:
        rds = self._sigs.get(name, {}).get(rdtype)
        if rds is None:
            return None
        rrset = dns.rrset.RRset(name, rds.rdclass, dns.rdatatype.RRSIG, cast(dns.rdatatype.RdataType, rdtype))
        for rd in rds:
            if signer is None or rd.signer == signer:
                rrset.add(rd)
        rrset.ttl = rds.ttl
        return rrset if len(rrset) else None

    def _add_dnssec(self, response: dns.message.Message, qname: dns.name.Name, rdtype: int) -> None:
        """Add the RRSIGs of every answer and authority RRset, and the denial of existence proof."""
        for section in (response.answer, response.authority):
            extra: list[dns.rrset.RRset] = []
            for rrset in section:
                if rrset.rdtype == dns.rdatatype.RRSIG:
                    continue
                sig = self._signatures(rrset.name, rrset.rdtype)
                if sig is not None:
                    extra.append(sig)
            section.extend(extra)
        answered = any(r.rdtype == rdtype or r.rdtype == dns.rdatatype.CNAME for r in response.answer)
        if rdtype == dns.rdatatype.ANY or (answered and response.rcode() == dns.rcode.NOERROR):
            return
        name = qname
        for rrset in response.answer:  # a CNAME chain: the proof is about where it ends
            if rrset.rdtype == dns.rdatatype.CNAME:
                name = rrset[0].target
        zone = self._zone_of(name)
        if zone is None:
            return
        if rdtype == dns.rdatatype.DS and name == zone and len(name) > 1:
            parent = self._zone_of(name.parent())
            if parent is not None:  # a DS lives in the parent zone: so does the proof of its absence
                zone = parent
                response.authority.clear()
                self._add_soa(response, zone)
                sig = self._signatures(zone, dns.rdatatype.SOA, zone)
                if sig is not None:
                    response.authority.append(sig)
        owners = self._denial.get(zone)
        if not owners:
            return
        nxdomain = response.rcode() == dns.rcode.NXDOMAIN
        proof: list[tuple[dns.name.Name, int]] = []
        nsec3 = [o for o, t in owners.items() if dns.rdatatype.NSEC3 in t]
        if nsec3:
            proof += self._nsec3_proof(zone, owners, name, nxdomain)
        else:
            if not nxdomain and name in owners:
                proof.append((name, dns.rdatatype.NSEC))
            else:
                cover = _covering(owners, name)
                if cover is not None:
                    proof.append((cover, dns.rdatatype.NSEC))
                encloser = name.parent() if len(name) > 1 else name
                while encloser not in owners and len(encloser) > len(zone):
                    encloser = encloser.parent()
                wild = dns.name.Name((b"*",) + encloser.labels)
                wcover = _covering(owners, wild)
                if wcover is not None:
                    proof.append((wcover, dns.rdatatype.NSEC))
        seen: set[tuple[dns.name.Name, int]] = set()
        for owner, t in proof:
            if (owner, t) in seen:
                continue
            seen.add((owner, t))
            response.authority.append(_rrset(owner, owners[owner][t]))
            sig = self._signatures(owner, t, zone)
            if sig is not None:
                response.authority.append(sig)

    def _nsec3_proof(self, zone: dns.name.Name, owners: dict[dns.name.Name, dict[int, dns.rdataset.Rdataset]],
                     name: dns.name.Name, nxdomain: bool) -> list[tuple[dns.name.Name, int]]:
        first = next(rd for t in owners.values() for rd in t.get(dns.rdatatype.NSEC3, []))
        salt = first.salt.hex() if first.salt else None
        iterations = first.iterations

        def hashed(n: dns.name.Name) -> dns.name.Name:
            label = dns.dnssec.nsec3_hash(n, salt, iterations, first.algorithm)
            return dns.name.Name((label.lower().encode(),) + zone.labels)

        out: list[tuple[dns.name.Name, int]] = []
        if not nxdomain:
            h = hashed(name)
            if h in owners:
                out.append((h, dns.rdatatype.NSEC3))
            return out
        encloser = name.parent()
        while len(encloser) > len(zone) and hashed(encloser) not in owners:
            encloser = encloser.parent()
        h = hashed(encloser)
        if h in owners:
            out.append((h, dns.rdatatype.NSEC3))
        next_closer = dns.name.Name(name.labels[-(len(encloser) + 1):])
        for target in (next_closer, dns.name.Name((b"*",) + encloser.labels)):
            cover = _covering(owners, hashed(target), dns.rdatatype.NSEC3)
            if cover is not None:
                out.append((cover, dns.rdatatype.NSEC3))
        return out

    def _zone_of(self, name: dns.name.Name) -> dns.name.Name | None:
        """The deepest served origin at or above ``name`` (a hash lookup per label)."""
        labels = name.labels
        for i in range(len(labels)):
            candidate = dns.name.Name(labels[i:])
            if candidate in self._origins:
                return candidate
        return None

    def _lookup(self, name: dns.name.Name) -> tuple[_Node | None, bool]:
        """(node, exists): wildcard-expanded node for ``name``; exists is False for NXDOMAIN."""
        node = self._nodes.get(name)
        if node is not None:
            return node, True
        if name in self._ents or name in self._origins:
            return None, True
        # Wildcard: find the closest encloser, then look for *.<encloser> (RFC 4592).
        zone = self._zone_of(name)
        encloser = name.parent() if len(name) > 1 else name
        while zone is not None and encloser.is_subdomain(zone):
            if encloser in self._nodes or encloser in self._ents or encloser == zone:
                wild = dns.name.Name((b"*",) + encloser.labels)
                wnode = self._nodes.get(wild)
                return (wnode, True) if wnode is not None else (None, False)
            if len(encloser) <= 1:
                break
            encloser = encloser.parent()
        return None, False

    def _resolve_into(self, response: dns.message.Message, qname: dns.name.Name, rdtype: int) -> None:
        zone = self._zone_of(qname)
        if zone is None:
            response.flags &= ~dns.flags.AA
            response.set_rcode(dns.rcode.REFUSED)
            return
        name = qname
        seen = {qname}
        for _ in range(12):  # follow CNAMEs inside our zones (not round a loop)
            node, exists = self._lookup(name)
            if not exists:
                response.set_rcode(dns.rcode.NXDOMAIN)
                self._add_soa(response, zone)
                return
            if node is None:
                self._add_soa(response, zone)
                return
            if rdtype == dns.rdatatype.ANY:
                for rds in node.rdatasets.values():
                    response.answer.append(_rrset(name, rds))
                return
            found = node.rdatasets.get(rdtype)
            if found is not None:
                response.answer.append(_rrset(name, found))
                return
            cname = node.rdatasets.get(dns.rdatatype.CNAME)
            if cname is not None and rdtype != dns.rdatatype.CNAME:
                response.answer.append(_rrset(name, cname))
                target = cname[0].target
                tzone = self._zone_of(target)
                if tzone is None or target in seen:
                    return  # out of our zones (the resolver follows it), or round a loop (it sees that)
                seen.add(target)
                name, zone = target, tzone
                continue
            self._add_soa(response, zone)  # NODATA
            return

    def _add_soa(self, response: dns.message.Message, zone: dns.name.Name) -> None:
        node = self._nodes.get(zone)
        if node is not None and dns.rdatatype.SOA in node.rdatasets:
            response.authority.append(_rrset(zone, node.rdatasets[dns.rdatatype.SOA]))

    async def respond(self, wire: bytes, max_size: int | None) -> bytes | None:
        """The answer to one query in wire format (``max_size`` None: TCP), or None to stay silent.

        Answers are cached by the query's bytes (less its ID) until the zones or the timeout /
        SERVFAIL sets change, so a burst of identical questions costs little."""
        if len(wire) < 12:
            return None
        key = (wire[2:], max_size is None)
        cached = self._cache.get(key)
        if cached is not None:
            self.query_count += 1
            if self.latency:
                await asyncio.sleep(self.latency)
            return wire[:2] + cached
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if self.latency:
            await asyncio.sleep(self.latency)
        response = self.answer(query)
        if response is None:
            return None
        out = self._render(query, response, max_size)
        if response.rcode() != dns.rcode.SERVFAIL:
            self._cache[key] = out[2:]
        return out

    def _render(self, query: dns.message.Message, response: dns.message.Message, max_size: int | None) -> bytes:
        if max_size is None:  # TCP: up to 64 KiB whatever the EDNS payload says
            return response.to_wire(max_size=65535)
        limit = 512
        if query.edns >= 0:
            limit = max(512, query.payload)
        if self.udp_payload is not None:
            limit = min(limit, self.udp_payload)
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.AA | dns.flags.TC
            truncated.flags &= ~dns.flags.RA
            return truncated.to_wire()

    async def _handle_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readexactly(2)
                (length,) = struct.unpack("!H", head)
                wire = await reader.readexactly(length)
                self.tcp_query_count += 1
                out = await self.respond(wire, None)
                if out is None:
                    continue
                writer.write(struct.pack("!H", len(out)) + out)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class _WatchedSet(set):  # type: ignore[type-arg]
    """A set that calls ``on_change`` whenever it is modified (to drop cached answers)."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        super().__init__()
        self._on_change = on_change

    def _changed(self) -> None:
        self._on_change()


for _method in ("add", "discard", "remove", "pop", "clear", "update", "difference_update",
                "intersection_update", "symmetric_difference_update", "__ior__", "__iand__", "__isub__",
                "__ixor__"):
    def _wrap(name: str) -> Any:
        base = getattr(set, name)

        def method(self: _WatchedSet, *args: Any) -> Any:
            result = base(self, *args)
            self._changed()
            return self if name.startswith("__i") else result

        method.__name__ = name
        return method

    setattr(_WatchedSet, _method, _wrap(_method))


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsTestServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        server = self.server
        server.client_ports.append(addr[1])
        if server.drop_rate and server._rng.random() < server.drop_rate:
            server.dropped += 1  # lost on the way: the client must ask again
            return
        task = asyncio.ensure_future(self._reply(data, addr))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reply(self, data: bytes, addr: tuple[str, int]) -> None:
        server, key = self.server, data[2:]
        late = key in server._answered  # a retransmission of a question already answered: not a new one
        if not late:
            server._busy[key] = server._busy.get(key, 0) + 1
            server.max_concurrent = max(server.max_concurrent, len(server._busy))
        try:
            out = await server.respond(data, 65535)
        finally:
            if not late and server._busy.pop(key, None) is not None:  # its first answer: the client is done
                server._answered.append(key)
        if out is not None and self.transport is not None:
            self.transport.sendto(out, addr)


def _grow_receive_buffer(sock: socket.socket | None, size: int = 8 << 20) -> None:
    """A burst of queries (a batch check sends hundreds at once) must queue, not be dropped, while
    this single-threaded server works through them."""
    if sock is None:
        return
    force = getattr(socket, "SO_RCVBUFFORCE", None)
    for opt in ([force] if force is not None else []) + [socket.SO_RCVBUF]:
        try:
            sock.setsockopt(socket.SOL_SOCKET, opt, size)
            return
        except OSError:
            continue


def _covering(owners: dict[dns.name.Name, dict[int, dns.rdataset.Rdataset]], name: dns.name.Name,
              rdtype: int = dns.rdatatype.NSEC) -> dns.name.Name | None:
    """The owner of the NSEC (or NSEC3, with ``name`` already hashed) whose span holds ``name``:
    the greatest owner before it in canonical order (RFC 4034 §6.1), wrapping round to the last."""
    ordered = sorted(o for o, t in owners.items() if rdtype in t)
    if not ordered:
        return None
    best = ordered[-1]
    for owner in ordered:
        if owner < name:
            best = owner
        else:
            break
    return best


def _rrset(name: dns.name.Name, rds: dns.rdataset.Rdataset) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(name, rds.rdclass, rds.rdtype)
    rrset.update(rds)
    rrset.ttl = rds.ttl
    return rrset


def _origin_from_text(text: str) -> str | None:
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].upper() == "$ORIGIN":
            return parts[1]
    return None


def _origin_from_filename(path: str) -> str:
    import os

    base = os.path.basename(path)
    for suffix in (".zone", ".db", ".txt"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return base


def serve_directory(directory: str, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0,
                    drop_rate: float = 0.0, seed: int | None = None, origins: Iterable[str] = ()) -> DnsTestServer:
    """Start a server with every ``*.zone`` file of ``directory`` (origin from ``$ORIGIN`` or the
    file name), authoritative for ``origins`` too (a name there that no zone file has does not exist,
    NXDOMAIN, where it would be refused)."""
    import glob
    import os

    server = DnsTestServer(host, port, latency=latency, drop_rate=drop_rate, seed=seed)
    for origin in origins:
        server.add_origin(origin)
    for path in sorted(glob.glob(os.path.join(directory, "*.zone"))):
        server.add_zone_file(path)
    return server.start()


def main(argv: list[str] | None = None) -> int:
    """``python -m inboxready.core.dns.server ZONEDIR [--host 127.0.0.1] [--port 5353] [--latency 0.03]
    [--drop 0.05 --seed 1] [--origin example]``

    Serves the zone files of a folder on a loopback address until interrupted (benchmarks, manual
    testing). Prints the address it listens on.
    """
    import argparse
    import ipaddress
    import time

    p = argparse.ArgumentParser(prog="python -m inboxready.core.dns.server")
    p.add_argument("zonedir")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    p.add_argument("--drop", type=float, default=0.0, help="fraction of UDP queries dropped at random (0-0.99)")
    p.add_argument("--seed", type=int, default=None, help="seed for the random drops")
    p.add_argument("--origin", action="append", default=[], metavar="ZONE",
                   help="also be authoritative for ZONE, so a name under it that no zone file has does not exist "
                        "(NXDOMAIN) instead of being refused; '--origin example' serves the demo zones as the "
                        "app's demo does")
    args = p.parse_args(argv)
    if not ipaddress.ip_address(args.host).is_loopback:
        p.error("only loopback addresses are allowed")
    if not 0.0 <= args.drop < 1.0:
        p.error("--drop must be from 0 up to (not including) 1")
    server = serve_directory(args.zonedir, args.host, args.port, args.latency, args.drop, args.seed,
                             origins=args.origin)
    print(server.address, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
