"""Hostile DNS data: CNAME loops and long chains end at once as "couldn't check", and every entry point
(check, spf, headers, watchlist run) finishes well within its deadline whatever the data (issue 13.1)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inboxready.core.checks import runner as checks
from inboxready.core.context import CheckContext, CheckOptions
from inboxready.core.dns.client import MAX_CNAME_CHAIN, DnsClient, Outcome
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import CheckResult, Status

from ...conftest import REPO, run
from ...helpers.clock import run_virtual

SOA = "@ SOA ns1 hostmaster 1 3600 600 86400 300\n"
GUARD = 10.0  # a test that waits longer than this has found a hang


def bounded(coro):  # type: ignore[no-untyped-def]
    """Run ``coro``; a hang fails the test instead of blocking the suite."""
    return run(asyncio.wait_for(coro, GUARD))


@pytest.fixture
def loops(dns_server: DnsTestServer) -> DnsTestServer:
    for zone in ("one.test", "two.test"):
        dns_server.add_zone(zone, SOA)
    dns_server.add_cname_loop("self.one.test")  # a CNAME to itself
    dns_server.add_cname_loop("a.one.test", "b.one.test")  # inside one zone: the server stops at the loop
    dns_server.add_cname_loop("x.one.test", "y.two.test")  # across zones: the client follows each step
    dns_server.add_records("end.two.test", "TXT", ['"v=spf1 -all"'])
    # chains whose every step leaves the zone, so the client itself must follow them
    for length, start in ((20, "long.one.test"), (10, "ten.one.test")):
        names = [start] + [f"{start.split('.')[0]}{i}.{'two' if i % 2 else 'one'}.test" for i in range(1, length)]
        for here, there in zip(names, names[1:] + ["end.two.test"]):
            dns_server.add_records(here, "CNAME", [there + "."])
    return dns_server


@pytest.mark.parametrize("name", ["self.one.test", "a.one.test", "x.one.test", "y.two.test"])
def test_a_cname_loop_ends_at_once_as_couldnt_check(loops: DnsTestServer, name: str) -> None:
    async def go():  # type: ignore[no-untyped-def]
        async with DnsClient([loops.address], timeout=2) as c:
            t = time.monotonic()
            ans = await c.query(name, "TXT")
            return ans, time.monotonic() - t

    ans, took = bounded(go())
    assert ans.outcome is Outcome.ERROR and ans.failed
    assert "loop" in ans.error and name in ans.error
    assert "loop" in ans.describe
    assert took < 1.0  # it is seen, not waited out


def test_both_ends_of_a_loop_asked_at_once_do_not_wait_on_each_other(loops: DnsTestServer) -> None:
    # x → y and y → x asked concurrently: each lookup's chase would wait on the other's shared query.
    async def go():  # type: ignore[no-untyped-def]
        async with DnsClient([loops.address], timeout=2) as c:
            return await asyncio.gather(c.query("x.one.test", "TXT"), c.query("y.two.test", "TXT"),
                                        c.query("x.one.test", "A"), c.query("y.two.test", "A"))

    for ans in bounded(go()):
        assert ans.outcome is Outcome.ERROR and "loop" in ans.error


def test_a_long_chain_is_cut_and_a_short_one_followed(loops: DnsTestServer) -> None:
    async def go():  # type: ignore[no-untyped-def]
        async with DnsClient([loops.address], timeout=2) as c:
            return await c.query("long.one.test", "TXT"), await c.query("ten.one.test", "TXT")

    long, ten = bounded(go())
    assert long.outcome is Outcome.ERROR and f"longer than {MAX_CNAME_CHAIN}" in long.error
    assert ten.ok and ten.txt == ("v=spf1 -all",)
    assert len(ten.cname_chain) == 10 and ten.canonical_name == "end.two.test"


def test_a_pasted_cname_loop_in_what_if_ends(loops: DnsTestServer) -> None:
    from inboxready.core.builders.whatif import OverlayDns

    async def go():  # type: ignore[no-untyped-def]
        async with DnsClient([loops.address], timeout=2) as base:
            over = OverlayDns(base, {("_dmarc.one.test", "CNAME"): ["_dmarc.one.test."],
                                     ("p.one.test", "CNAME"): ["q.one.test."],
                                     ("q.one.test", "CNAME"): ["p.one.test."]})
            return await over.query("_dmarc.one.test", "TXT"), await over.query("p.one.test", "TXT")

    for ans in bounded(go()):
        assert ans.failed and "loop" in ans.error


def test_a_check_that_never_ends_is_stopped_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    async def forever(ctx: CheckContext) -> CheckResult:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def quick(ctx: CheckContext) -> CheckResult:
        return CheckResult("quick", Status.PASS, "ok")

    monkeypatch.setattr(checks, "check_function", lambda name: forever if name == "stuck" else quick)
    opts = CheckOptions(nameservers=["127.0.0.1:9"], checks=("stuck", "quick"), deadline=0.5)
    arrived: dict[str, float] = {}

    async def go():  # type: ignore[no-untyped-def]
        loop = asyncio.get_running_loop()
        start = loop.time()
        return await asyncio.wait_for(checks.run_check(
            "example.test", opts, on_result=lambda r: arrived.setdefault(r.name, loop.time() - start)), GUARD)

    # on a fake clock (no wall clock: a busy machine changes nothing): the quick check's result at once,
    # the stuck one's exactly at the deadline plus its grace, neither before nor after
    report, _ = run_virtual(go())
    assert arrived["quick"] < 0.01
    assert 0.5 + checks.DEADLINE_GRACE <= arrived["stuck"] < 0.5 + checks.DEADLINE_GRACE + 0.05
    assert report.checks["quick"].status is Status.PASS
    stuck = report.checks["stuck"]
    assert stuck.status is Status.ERROR and stuck.findings[0].code == "stuck.deadline"
    assert "time limit" in stuck.summary


# -- every entry point of the command line, in its own process, under a timeout ----------------------

SHAPES = {
    # a loop at _dmarc of the checked domain (across two zones: the client follows it)
    "dmarc-loop": "dl.one.test",
    # a loop inside a third party's SPF include target
    "include-loop": "il.one.test",
    # the domain itself is a loop
    "domain-loop": "x.one.test",
    # the domain is the start of a 20-long chain
    "chain": "long.one.test",
}


@pytest.fixture
def hostile(loops: DnsTestServer) -> DnsTestServer:
    s = loops
    s.add_records("dl.one.test", "TXT", ['"v=spf1 ip4:192.0.2.1 -all"'])
    s.add_records("dl.one.test", "MX", ["10 mx.one.test."])
    s.add_records("mx.one.test", "A", ["127.0.0.1"])
    s.add_cname_loop("_dmarc.dl.one.test", "_dmarc.dl.two.test")
    s.add_records("il.one.test", "TXT", ['"v=spf1 include:_spf.vendor.two.test -all"'])
    s.add_records("il.one.test", "MX", ["10 mx.one.test."])
    s.add_records("_dmarc.il.one.test", "TXT", ['"v=DMARC1; p=reject"'])
    s.add_cname_loop("_spf.vendor.two.test", "_spf.vendor.one.test")
    return s


def cli(args: list[str], home: Path, timeout: float = 40.0) -> tuple[subprocess.CompletedProcess[str], float]:
    """The real command line in a child process (with this suite's loopback guard), killed on timeout."""
    code = "import sys, tests.conftest; from inboxready.app.cli import main; sys.exit(main(sys.argv[1:]))"
    env = dict(os.environ, INBOXREADY_HOME=str(home), PYTHONWARNINGS="ignore", NO_COLOR="1")
    t = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"inboxready {' '.join(args)} did not finish within {timeout:g} s (a hang)")
    return proc, time.monotonic() - t


DEADLINE = 20.0
WELL_WITHIN = 12.0  # the child's start-up included; a loop must never be waited out to the deadline


def common(server: DnsTestServer) -> list[str]:
    return ["-n", server.address, "--timeout", "2", "--deadline", f"{DEADLINE:g}"]


def test_check_ends_for_every_hostile_shape(hostile: DnsTestServer, tmp_path: Path) -> None:
    proc, took = cli(["check", *SHAPES.values(), "--json", *common(hostile)], tmp_path)
    assert took < WELL_WITHIN, proc.stderr
    reports = {r["domain"]: r for r in json.loads(proc.stdout)}
    assert proc.returncode in (1, 2)
    assert reports["dl.one.test"]["checks"]["dmarc"]["status"] == "error"
    assert "loop" in json.dumps(reports["dl.one.test"]["checks"]["dmarc"])
    assert reports["il.one.test"]["checks"]["spf"]["status"] == "error"
    assert "loop" in json.dumps(reports["il.one.test"]["checks"]["spf"])
    for d in ("x.one.test", "long.one.test"):
        assert reports[d]["checks"]["spf"]["status"] == "error"
        assert reports[d]["checks"]["mx"]["status"] == "error"
    assert "longer than" in json.dumps(reports["long.one.test"]["checks"]["spf"])
    # a loop is no passing DNS trouble: the messages name it and don't say "try again later"
    dmarc = reports["dl.one.test"]["checks"]["dmarc"]["findings"][0]["message"]
    assert "go round in a loop" in dmarc and "try again later" not in dmarc
    mx = reports["x.one.test"]["checks"]["mx"]
    assert "loop" in mx["summary"] and "Try again later" not in mx["findings"][0]["message"]


@pytest.mark.parametrize("shape", list(SHAPES))
def test_spf_ends_for_every_hostile_shape(hostile: DnsTestServer, tmp_path: Path, shape: str) -> None:
    domain = SHAPES[shape]
    proc, took = cli(["spf", domain, "--ip", "192.0.2.1", "--json", *common(hostile)], tmp_path)
    assert took < WELL_WITHIN
    data = json.loads(proc.stdout)
    if shape == "dmarc-loop":  # SPF itself is fine there
        assert data["result"] == "pass" and proc.returncode == 0
    else:  # RFC 7208 §5.2 / §4.4: a lookup that fails is a temporary error
        assert data["result"] == "temperror" and proc.returncode == 2
        assert "loop" in json.dumps(data) or "longer than" in json.dumps(data)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_headers_ends_for_every_hostile_shape(hostile: DnsTestServer, tmp_path: Path, shape: str) -> None:
    domain = SHAPES[shape]
    message = tmp_path / "message.eml"
    message.write_bytes(
        f"From: News <news@{domain}>\r\nTo: someone@example.test\r\nSubject: hello\r\n"
        f"Date: Tue, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@{domain}>\r\n"
        f"DKIM-Signature: v=1; a=rsa-sha256; d={domain}; s=sel; h=from:subject; bh=AAAA; b=AAAA\r\n"
        f"Authentication-Results: mx.example.test; spf=pass smtp.mailfrom={domain}; "
        f"dkim=fail header.d={domain}; dmarc=pass header.from={domain}\r\n\r\nHello\r\n".encode())
    proc, took = cli(["headers", str(message), "--json", *common(hostile)], tmp_path)
    assert took < WELL_WITHIN
    data = json.loads(proc.stdout)
    assert data["from_domain"] == domain and set(data["checks"]) >= {"spf", "dkim", "dmarc"}


def test_watchlist_run_ends_for_every_hostile_shape(hostile: DnsTestServer, tmp_path: Path) -> None:
    for domain in SHAPES.values():
        added, _ = cli(["watchlist", "add", domain], tmp_path)
        assert added.returncode == 0, added.stderr
    proc, took = cli(["watchlist", "run", "--all", "--json", *common(hostile)], tmp_path)
    assert took < WELL_WITHIN
    data = json.loads(proc.stdout)
    assert {o["domain"] for o in data["outcomes"]} == set(SHAPES.values())
    assert all(o["couldnt_check"] for o in data["outcomes"])
    # couldn't check (2), unless a first check also found something broken for certain (a domain that is
    # itself a loop has no _dmarc record): that is news for the scheduler (1), as a change is
    news = any(o["first_problem"] for o in data["outcomes"])
    assert data["exit_code"] == proc.returncode == (1 if news else 2)
