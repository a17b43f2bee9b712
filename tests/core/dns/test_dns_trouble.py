"""When DNS itself is the problem (issue 14.7): "your DNS server does not answer" is told apart from
"this domain's DNS servers do not answer", carried on the DomainReport, and said once, naming the server,
instead of a "couldn't check" on every card."""

from __future__ import annotations

import io
from collections.abc import Iterator
import json
import socket
import time

import pytest

from inboxready.app.cli import main
from inboxready.core.checks.runner import run_check
from inboxready.core.context import CheckOptions
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import Status

from ...conftest import run

SOA = "@ SOA ns1 hostmaster 1 3600 600 86400 300\n"
GOOD = SOA + """@ TXT "v=spf1 ip4:192.0.2.0/24 -all"
@ MX 10 mx
mx A 127.0.0.1
_dmarc TXT "v=DMARC1; p=reject"
"""


def dead_address() -> str:
    """A loopback port where nothing listens (connection refused)."""
    srv = DnsTestServer()
    srv.start()
    address = srv.address
    srv.stop()
    return address


@pytest.fixture
def silent() -> tuple[str, socket.socket]:
    """A loopback UDP port that takes every question and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield f"127.0.0.1:{sock.getsockname()[1]}", sock
    sock.close()


def check(ns: str, domain: str = "good.test", timeout: float = 1.0, deadline: float = 30.0):  # type: ignore[no-untyped-def]
    return run(run_check(domain, CheckOptions(nameservers=[ns], timeout=timeout, deadline=deadline)))


def test_a_dns_server_where_nothing_listens() -> None:
    ns = dead_address()
    report = check(ns)
    t = report.dns_trouble
    assert t is not None and t.kind == "resolver" and t.reason == "unreachable"
    assert t.servers == (ns,) and ns in t.message and "connection refused" in t.message
    assert all(r.status is Status.ERROR for r in report.checks.values())
    assert report.to_json()["dns_trouble"]["kind"] == "resolver"


def test_a_dns_server_that_never_answers(silent: tuple[str, socket.socket]) -> None:
    ns, _ = silent
    t0 = time.monotonic()
    report = check(ns, timeout=1.0)
    took = time.monotonic() - t0
    t = report.dns_trouble
    assert t is not None and t.kind == "resolver" and t.reason == "timeout"
    assert f"Your DNS server ({ns}) does not answer" in t.message
    # the first questions wait their timeout, the test question its own; the rest don't wait again
    assert took < 1.0 + 3.0 + 3.0


@pytest.mark.parametrize("serve_root", [True, False])
def test_the_domains_servers_fail_while_the_dns_server_answers(dns_server: DnsTestServer, serve_root: bool) -> None:
    dns_server.add_zone("good.test", GOOD)
    dns_server.add_zone("bad.test", GOOD)
    dns_server.servfail_names.add(".bad.test")  # every name of bad.test: SERVFAIL, as a resolver says it
    if serve_root:  # a resolver answers the root's SOA; an authoritative-only server refuses it
        dns_server.add_zone(".", "@ SOA a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400\n")
    report = check(dns_server.address, "bad.test")
    t = report.dns_trouble
    assert t is not None and t.kind == "domain" and t.reason == "servfail"
    assert t.message.startswith("The DNS servers of bad.test do not answer")
    assert dns_server.address in t.message and "not a problem with your computer" in t.message
    # the same server, a healthy domain: nothing to say
    assert check(dns_server.address, "good.test").dns_trouble is None


@pytest.mark.parametrize("serve_root", [True, False])
def test_the_domains_servers_time_out_while_the_dns_server_answers(dns_server: DnsTestServer,
                                                                   serve_root: bool) -> None:
    # (without the root: the server only refuses the test question, which shows it is there all the same)
    if serve_root:
        dns_server.add_zone(".", "@ SOA a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400\n")
    dns_server.add_zone("slow.test", GOOD)
    dns_server.timeout_names.add(".slow.test")
    report = check(dns_server.address, "slow.test", timeout=1.0)
    t = report.dns_trouble
    assert t is not None and t.kind == "domain" and t.reason == "timeout"
    assert "no answer comes in time" in t.message


def test_a_loop_in_the_domains_records_is_not_blamed_on_a_server(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("loop.test", SOA)
    dns_server.add_zone("other.test", SOA)
    dns_server.add_cname_loop("loop.test", "back.other.test")
    assert check(dns_server.address, "loop.test").dns_trouble is None


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([*argv, "--color", "never"], out, err)
    return code, out.getvalue(), err.getvalue()


def test_cli_says_the_dns_server_trouble_once_for_many_domains() -> None:
    ns = dead_address()
    code, out, _ = cli("check", "a.test", "b.test", "c.test", "-n", ns, "--timeout", "1")
    assert code == 2
    assert out.count(f"Your DNS server ({ns}) can't be reached") == 1
    assert out.count("--nameserver") == 1
    assert out.count("Not checked: your DNS server did not answer") == 3
    assert "Couldn't check SPF" not in out and "Couldn't check " not in out.replace("(Couldn't check)", "")
    code, out, _ = cli("check", "a.test", "-n", ns, "--timeout", "1", "--json")
    data = json.loads(out)
    assert data[0]["dns_trouble"]["kind"] == "resolver" and data[0]["dns_trouble"]["servers"] == [ns]


def test_cli_names_the_domain_when_only_its_servers_fail(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("bad.test", GOOD)
    dns_server.servfail_names.add(".bad.test")
    code, out, _ = cli("check", "bad.test", "-n", dns_server.address, "--timeout", "1")
    assert code == 2
    assert "The DNS servers of bad.test do not answer" in out and "--nameserver" not in out


def test_cli_couldnt_check_line_lists_the_core_checks_too(dns_server: DnsTestServer) -> None:
    # DMARC and SPF can't be looked up (SERVFAIL) and STARTTLS can't connect: the line must not name only
    # the optional checks, as if the ones every sender needs were fine.
    dns_server.add_zone("half.test", GOOD)
    dns_server.servfail_names.update({"_dmarc.half.test", "half.test/TXT"})
    code, out, _ = cli("check", "half.test", "-n", dns_server.address, "--timeout", "1")
    line = next(x for x in out.splitlines() if "Couldn't check" in x and "parts below" in x)
    assert "SPF" in line and "DMARC" in line and "STARTTLS" in line
    assert "from here" not in line
    assert code == 1  # the MX on a loopback address is something to fix


def test_cli_spf_says_why_when_the_dns_server_does_not_answer() -> None:
    ns = dead_address()
    code, out, _ = cli("spf", "a.test", "--ip", "192.0.2.1", "-n", ns, "--timeout", "1")
    assert code == 2 and "SPF temperror" in out and f"Your DNS server ({ns}) can't be reached" in out


def test_watchlist_run_says_the_dns_server_does_not_answer(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from inboxready.core.store.settings import HOME_ENV

    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    ns = dead_address()
    assert cli("watchlist", "add", "a.test")[0] == 0
    code, out, _ = cli("watchlist", "run", "--all", "-n", ns, "--timeout", "1", "--json")
    outcome = json.loads(out)["outcomes"][0]
    assert code == 2 and outcome["headline"] == "a.test couldn't be checked"
    assert f"Your DNS server ({ns}) can't be reached" in outcome["message"]


def test_a_dns_server_that_only_refers_is_said_once_not_blamed_on_the_domain() -> None:
    # A domain's own authoritative server given as "your DNS server": every other name gets a referral.
    from .test_dns import ReferralServer

    srv = ReferralServer()
    try:
        report = check(srv.address, "example.test")
    finally:
        srv.close()
    t = report.dns_trouble
    assert t is not None and t.kind == "resolver" and t.reason == "referral"
    assert f"Your DNS server ({srv.address}) does not look names up" in t.message
    assert "resolving DNS server" in t.advice
    dnssec = report.checks["dnssec"]
    assert dnssec.status is Status.ERROR  # a referral is not "unsigned"


@pytest.fixture
def says_nothing_exists() -> Iterator[str]:
    """A resolver that answers every question, the root's SOA included, with "does not exist" (a blocking
    filter, a captive portal, a sandbox): real resolvers never say it of the root."""
    import threading

    import dns.message
    import dns.rcode

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(4096)
            except OSError:
                continue
            reply = dns.message.make_response(dns.message.from_wire(data))
            reply.set_rcode(dns.rcode.NXDOMAIN)
            sock.sendto(reply.to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    thread.join()
    sock.close()


def test_a_resolver_that_says_nothing_exists_is_couldnt_check_never_missing(says_nothing_exists: str) -> None:
    report = check(says_nothing_exists, domain="example.com")
    assert report.status is Status.ERROR  # it was "✗ Fail: the domain does not exist in DNS"
    assert all(report.checks[n].status is Status.ERROR for n in ("spf", "dmarc", "mx", "dnssec"))
    t = report.dns_trouble  # said once, and blamed on the DNS server, never on the domain's own servers
    assert t is not None and t.kind == "resolver" and t.reason == "nxdomain" and says_nothing_exists in t.message
    out = io.StringIO()
    code = main(["check", "example.com", "-n", says_nothing_exists, "--only", "spf,dmarc,mx", "--json"], out=out)
    data = json.loads(out.getvalue())[0]
    assert code == 2 and data["status"] == "error" and data["checks"]["spf"]["status"] == "error"
    assert "not even the root of DNS" in json.dumps(data)
    assert "does not exist in DNS" not in json.dumps(data)


def test_a_resolver_that_answers_the_root_keeps_its_does_not_exist(dns_server: DnsTestServer) -> None:
    dns_server.add_zone(".", "@ SOA a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400\n")
    report = check(dns_server.address, domain="nothere.test")
    assert report.checks["mx"].status is Status.FAIL and "does not exist" in report.checks["mx"].summary


def test_the_test_question_is_one_per_server_and_shared_by_every_wait() -> None:
    """``ready`` and ``lies_about_root`` wait on the same test question (``_await_probe``): a wait that
    gives up leaves it running, a later wait takes its answer, and the server is asked once."""
    import asyncio

    import dns.message
    import dns.rcode

    from inboxready.core.dns.client import _state

    async def go() -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        port = sock.getsockname()[1]
        try:
            st = _state("127.0.0.1", port)
            assert await st.ready(3.0, 0.05) == ""  # nothing against it yet: no question asked
            st.suspect(3.0)  # a query timed out with no word from it: the test question goes out
            # a query's wait gives up first, and says why in plain words
            why = await st.ready(3.0, 0.05)
            assert why == f"127.0.0.1:{port} has not answered a test question yet"
            task = st.probe_task
            assert task is not None and not task.done()  # still out: giving up didn't cancel it
            data, addr = await asyncio.wait_for(loop.sock_recvfrom(sock, 4096), 5)
            query = dns.message.from_wire(data)
            assert query.question[0].name.to_text() == "."
            lies = asyncio.ensure_future(st.lies_about_root(3.0))  # waits on the same question
            await asyncio.sleep(0)
            assert st.probe_task is task
            reply = dns.message.make_response(query)
            reply.set_rcode(dns.rcode.NXDOMAIN)  # "even the root does not exist": a lying server
            await loop.sock_sendto(sock, reply.to_wire(), addr)
            assert await asyncio.wait_for(lies, 5) is True
            assert st.probe_task is None and st.probe is not None and st.probe.server
            assert await st.ready(3.0, 0.05) == ""  # it answered: queries may go there
            assert await st.lies_about_root(3.0) is True  # remembered, not asked again
            sock.settimeout(0)
            with pytest.raises(BlockingIOError):
                sock.recvfrom(4096)  # exactly one test question was sent
        finally:
            sock.close()

    run(go())
