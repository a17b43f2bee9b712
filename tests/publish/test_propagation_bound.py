"""``wait_until_live`` ends within its wait: every round is bounded by the time left (before: the last round
ran its full three query times after the wait, so ``publish --wait`` overran by ~9 s). g10 item 6."""

from __future__ import annotations

import asyncio
import time

from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import Fix
from inboxready.core.publish.propagation import Expect, Propagation, wait_until_live
from inboxready.core.publish.zone import AuthServer, ZoneInfo

SOA = "$TTL 600\n@ IN SOA ns1.shop.test. h.shop.test. 1 3600 600 86400 120\n@ IN NS ns1.shop.test.\n"


def _zone(*servers: DnsTestServer) -> ZoneInfo:
    return ZoneInfo("shop.test", ("ns1.shop.test",), tuple(AuthServer(f"ns{i}", s.address) for i, s in
                                                          enumerate(servers)), 600, 120)


def _timed(coro) -> tuple[Propagation, float]:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    result = asyncio.run(coro)
    return result, time.monotonic() - t0


def test_a_silent_server_never_makes_the_wait_overrun() -> None:
    silent, good = DnsTestServer(), DnsTestServer()
    for s in (silent, good):
        s.start()
        s.add_zone("shop.test", SOA + '_dmarc 300 IN TXT "v=DMARC1; p=none"\n')
    silent.timeout_names.add("_dmarc.shop.test")
    expect = [Expect(host="_dmarc.shop.test", type="TXT", value="v=DMARC1; p=reject")]
    try:
        rounds: list[Propagation] = []
        p, took = _timed(wait_until_live(_zone(silent, good), expect, wait=2.5, timeout=2.0, on_round=rounds.append))
        assert took < 2.5 + 0.6, took  # before: ~6 s (one round of three 2-second query times)
        assert not p.live and p.rounds >= 1 and rounds
        assert {s.name: p.server_live(s) for s in p.servers} == {"ns0": None, "ns1": False}
        p, took = _timed(wait_until_live(_zone(silent, good), expect, wait=6.0, timeout=3.0))
        assert took < 6.0 + 0.6, took  # before: a last round started near the end ran 9 s more
        assert p.rounds >= 2
    finally:
        silent.stop()
        good.stop()


def test_a_live_record_ends_the_wait_at_once_and_a_zero_wait_asks_once() -> None:
    server = DnsTestServer()
    server.start()
    server.add_zone("shop.test", SOA + '_dmarc 300 IN TXT "v=DMARC1; p=none"\n')
    try:
        fix = Fix("_dmarc.shop.test", "TXT", "v=DMARC1; p=none")
        expect = [Expect(host=fix.host, type="TXT", value=fix.value)]
        p, took = _timed(wait_until_live(_zone(server), expect, wait=30, timeout=1.0))
        assert p.live and p.rounds == 1 and took < 2
        p, took = _timed(wait_until_live(_zone(server), [Expect(host=fix.host, type="TXT", value="v=DMARC1; p=reject")],
                                         wait=0, timeout=1.0))
        assert not p.live and p.rounds == 1 and took < 2
    finally:
        server.stop()
