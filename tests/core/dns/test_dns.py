"""The DNS layer against the loopback server: typed outcomes, cache, log, TCP fallback, deadline."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from inboxready.core.dns.client import DnsClient, Outcome, parse_nameserver
from inboxready.core.dns.server import DnsTestServer

from ...conftest import run

ZONE = """
@      300 IN SOA ns1 hostmaster 1 3600 600 86400 300
@          TXT "v=spf1 -all"
www        CNAME web
web        A 192.0.2.10
web        AAAA 2001:db8::10
dangling   CNAME missing
big        TXT {big}
""".format(big=" ".join('"' + "a" * 250 + '"' for _ in range(6)))

@pytest.fixture
def server(dns_server: DnsTestServer) -> DnsTestServer:
    dns_server.add_zone("example.test", ZONE)
    dns_server.timeout_names.add("slow.example.test")
    dns_server.servfail_names.add("broken.example.test")
    return dns_server

def test_outcomes_stay_distinct(server: DnsTestServer) -> None:
    async def go() -> dict[str, Outcome]:
        c = DnsClient([server.address], timeout=0.5)
        names = {
            "answer": ("example.test", "TXT"),
            "nxdomain": ("nope.example.test", "TXT"),
            "nodata": ("web.example.test", "TXT"),
            "timeout": ("slow.example.test", "TXT"),
            "servfail": ("broken.example.test", "TXT"),
        }
        return {k: (await c.query(*v)).outcome for k, v in names.items()}

    got = run(go())
    assert got == {"answer": Outcome.ANSWER, "nxdomain": Outcome.NXDOMAIN, "nodata": Outcome.NODATA,
                   "timeout": Outcome.TIMEOUT, "servfail": Outcome.SERVFAIL}
    assert Outcome.TIMEOUT.failed and Outcome.SERVFAIL.failed
    assert not Outcome.NXDOMAIN.failed and Outcome.NXDOMAIN.void and Outcome.NODATA.void

def test_cname_is_followed_and_reported(server: DnsTestServer) -> None:
    async def go():  # type: ignore[no-untyped-def]
        c = DnsClient([server.address])
        return await c.query("www.example.test", "A"), await c.query("dangling.example.test", "A")

    a, d = run(go())
    assert a.ok and a.records == ("192.0.2.10",)
    assert a.cname_chain == ("web.example.test",) and a.canonical_name == "web.example.test"
    assert d.outcome is Outcome.NXDOMAIN

def test_same_question_is_asked_once_even_concurrently(server: DnsTestServer) -> None:
    async def go() -> DnsClient:
        c = DnsClient([server.address])
        await asyncio.gather(*(c.query("Example.test.", "txt") for _ in range(20)))
        await c.query("example.test", "TXT")
        return c

    before = server.query_count
    c = run(go())
    assert server.query_count - before == 1
    assert len(c.log) == 1
    q = c.log[0]
    assert (q.name, q.rdtype, q.outcome) == ("example.test", "TXT", Outcome.ANSWER)
    assert q.answer == ('"v=spf1 -all"',) and q.elapsed_ms >= 0

def test_truncated_udp_answer_retries_over_tcp(server: DnsTestServer) -> None:
    async def go():  # type: ignore[no-untyped-def]
        return await DnsClient([server.address]).query("big.example.test", "TXT")

    before = server.tcp_query_count
    ans = run(go())
    assert ans.ok and len(ans.txt[0]) == 1500
    assert [len(s) for s in ans.txt_strings[0]] == [250] * 6
    assert server.tcp_query_count > before

def test_timeout_is_bounded(server: DnsTestServer) -> None:
    async def go():  # type: ignore[no-untyped-def]
        return await DnsClient([server.address], timeout=0.4).query("slow.example.test", "A")

    t = time.monotonic()
    ans = run(go())
    assert ans.outcome is Outcome.TIMEOUT and ans.failed
    assert time.monotonic() - t < 3

def test_overall_deadline_turns_later_queries_into_timeouts(server: DnsTestServer) -> None:
    async def go():  # type: ignore[no-untyped-def]
        c = DnsClient([server.address], timeout=5, deadline=0.3)
        first = await c.query("slow.example.test", "TXT")
        second = await c.query("example.test", "TXT")
        return first, second

    t = time.monotonic()
    first, second = run(go())
    assert first.outcome is Outcome.TIMEOUT and second.outcome is Outcome.TIMEOUT
    assert "time limit" in second.error
    assert time.monotonic() - t < 3

def test_dead_nameserver_is_a_timeout_not_a_missing_record() -> None:
    # Nothing listens on this port: a server that is down is "couldn't check".
    srv = DnsTestServer()
    srv.start()
    address = srv.address
    srv.stop()

    async def go():  # type: ignore[no-untyped-def]
        return await DnsClient([address], timeout=0.5).query("example.test", "TXT")

    ans = run(go())
    assert ans.failed

def test_name_outside_served_zones_is_refused_as_servfail(server: DnsTestServer) -> None:

    async def go():  # type: ignore[no-untyped-def]
        return await DnsClient([server.address]).query("example.org", "A")

    assert run(go()).outcome is Outcome.SERVFAIL

@pytest.mark.parametrize(
    "spec,expected",
    [("192.0.2.1", ("192.0.2.1", 53)), ("192.0.2.1:5353", ("192.0.2.1", 5353)),
     ("2001:db8::1", ("2001:db8::1", 53)), ("[2001:db8::1]:5353", ("2001:db8::1", 5353)),
     (" 127.0.0.2:53 ", ("127.0.0.2", 53))],
)
def test_parse_nameserver(spec: str, expected: tuple[str, int]) -> None:
    assert parse_nameserver(spec) == expected

@pytest.mark.parametrize("spec", ["dns.google", "192.0.2.1:0", "192.0.2.1:99999", "[2001:db8::1", "1.2.3.4:x", ""])
def test_parse_nameserver_rejects_with_a_message(spec: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_nameserver(spec)
    assert str(info.value)


def test_negative_answers_read_from_the_header_match_full_parsing() -> None:
    import dns.message
    import dns.rcode
    import dns.rrset

    from inboxready.core.dns.client import _fast_negative

    q = dns.message.make_query("s1._domainkey.Example.test", "TXT", use_edns=0, payload=1232)
    wire = q.to_wire()
    import dns.flags

    for rcode, expected in ((dns.rcode.NXDOMAIN, Outcome.NXDOMAIN), (dns.rcode.NOERROR, Outcome.NODATA)):
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        r.set_rcode(rcode)
        r.authority.append(dns.rrset.from_text("example.test.", 300, "IN", "SOA", "ns. h. 1 2 3 4 5"))
        assert _fast_negative(r.to_wire(), wire) is expected
    # NOERROR without AA or RA may be a referral: parsed in full
    r = dns.message.make_response(q)
    r.authority.append(dns.rrset.from_text("example.test.", 300, "IN", "NS", "ns1.example.test."))
    assert _fast_negative(r.to_wire(), wire) is None
    # An answer with records, a different question, another ID, or SERVFAIL is parsed in full.
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_text(q.question[0].name, 300, "IN", "TXT", '"x"'))
    assert _fast_negative(r.to_wire(), wire) is None
    other = dns.message.make_response(dns.message.make_query("s2._domainkey.example.test", "TXT"))
    other.id = q.id
    assert _fast_negative(other.to_wire(), wire) is None
    r = dns.message.make_response(q)
    r.set_rcode(dns.rcode.SERVFAIL)
    assert _fast_negative(r.to_wire(), wire) is None
    r = dns.message.make_response(q)
    r.id = (q.id + 1) & 0xFFFF
    assert _fast_negative(r.to_wire(), wire) is None


def test_a_small_pool_of_sockets_per_nameserver_closed_with_the_client(server: DnsTestServer) -> None:
    # Random source ports need more than one socket, but not one per query: at most POOL_SIZE are open
    # at once, even when many queries start together, and close() closes them all.
    from inboxready.core.dns.client import POOL_SIZE

    async def go() -> tuple[int, bool]:
        loop = asyncio.get_running_loop()
        # the first "does not exist" from a server asks it the test question once (does it say that of the
        # root too?): asked here, before the sockets are counted
        async with DnsClient([server.address]) as warm:
            assert (await warm.query("warm.example.test", "TXT")).outcome is Outcome.NXDOMAIN
        real = loop.create_datagram_endpoint
        opened: list[object] = []

        async def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
            result = await real(*args, **kwargs)
            opened.append(result[0])
            return result

        loop.create_datagram_endpoint = counting  # type: ignore[method-assign]
        c = DnsClient([server.address])
        answers = await asyncio.gather(*(c.query(f"n{i}.example.test", "TXT") for i in range(50)))
        assert all(a.outcome is Outcome.NXDOMAIN for a in answers)
        c.close()
        return len(opened), all(t.is_closing() for t in opened)  # type: ignore[attr-defined]

    count, closed = run(go())
    assert 1 < count <= POOL_SIZE and closed


class ReferralServer:
    """A loopback DNS server that answers like a domain's authoritative server asked for a name it doesn't
    serve: NOERROR, no answer, not authoritative, NS records pointing elsewhere (a referral)."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        import dns.message
        import dns.rrset

        while self.running:
            try:
                data, addr = self.sock.recvfrom(4096)
            except OSError:
                continue
            q = dns.message.from_wire(data)
            r = dns.message.make_response(q)
            top = q.question[0].name.split(2)[1]  # the top-level domain of the name asked
            r.authority.append(dns.rrset.from_text(top, 300, "IN", "NS", "a.tld-servers.test."))
            self.sock.sendto(r.to_wire(), addr)

    def close(self) -> None:
        self.running = False
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def referral() -> Any:
    srv = ReferralServer()
    yield srv
    srv.close()


def test_a_referral_from_a_server_that_does_not_resolve_is_couldnt_check(referral: Any) -> None:
    """A domain's own authoritative server given as the resolver answers other names with a referral: that
    is "couldn't check", never "the record does not exist" (it made the SPF builder say an include had no
    SPF record)."""
    async def go():  # type: ignore[no-untyped-def]
        client = DnsClient([referral.address], timeout=1.0)
        try:
            return await client.query("_spf.google.com", "TXT")
        finally:
            client.close()

    ans = run(go())
    assert ans.failed and ans.outcome is Outcome.ERROR and "referral" in ans.error


def test_a_timeout_reads_as_one_plain_phrase(server: DnsTestServer) -> None:
    """'no answer within 1.0 s, 4 tries': the wait and the count, never 'within 1.0 s to 4 tries'."""
    ans = run(DnsClient([server.address], timeout=0.5).query("slow.example.test", "TXT"))
    assert ans.outcome is Outcome.TIMEOUT and ans.error is not None
    assert ans.sent > 1  # the client asks again within the query's lifetime
    assert " to " not in ans.error and ans.error.startswith("no answer within ")
    assert ans.error.endswith(f", {ans.sent} tries")


def test_the_zone_server_run_by_hand_can_serve_the_demo_zones_as_the_app_does() -> None:
    """``python -m inboxready.core.dns.server resources/zones --origin example`` (the README's way to try the
    other commands on the demo domains): a name under ``example`` that no zone has does not exist (NXDOMAIN),
    as in the app's demo, so the "Broken MX" demo's missing mail server is said to be missing, not
    "couldn't check" (without ``--origin`` it is refused)."""
    import subprocess
    import sys

    import dns.message
    import dns.query
    import dns.rcode

    from inboxready import resources

    zones = str(resources.zones_dir())
    for origin, expected in ((["--origin", "example"], dns.rcode.NXDOMAIN), ([], dns.rcode.REFUSED)):
        proc = subprocess.Popen([sys.executable, "-m", "inboxready.core.dns.server", zones, *origin],
                                stdout=subprocess.PIPE, text=True)
        try:
            host, port = proc.stdout.readline().strip().rsplit(":", 1)  # type: ignore[union-attr]
            reply = dns.query.udp(dns.message.make_query("mx2.demo-gone.example", "A"), host, port=int(port),
                                  timeout=5)
            assert reply.rcode() == expected
            mx = dns.query.udp(dns.message.make_query("demo-brokenmx.example", "MX"), host, port=int(port), timeout=5)
            assert mx.rcode() == dns.rcode.NOERROR and mx.answer
        finally:
            proc.terminate()
            proc.wait(timeout=10)
