"""The pieces the three SPF walks share (``records/spf_walk``): the record a name publishes, the lookup limits,
whether an include/redirect can be followed, the order of MX hosts; and that the walks built on them agree:
``check_host()`` for one address, ``reach()`` for all of them, the SPF check's tree."""

from __future__ import annotations

import ipaddress

import pytest

from inboxready.core.checks import spf
from inboxready.core.dns.client import DnsClient
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.records import spf_eval, spf_reach, spf_walk
from inboxready.core.records.spf_reach import AddrSet, reach
from inboxready.core.records.spf_walk import (
    MAX_LOOKUPS, MAX_MX, MAX_VOID_LOOKUPS, LookupTally, SpfStop, TreeBudget, fetch_record, follow_problem, mx_hosts,
)
from tests.conftest import make_ctx, run

D = "example.com"


def _client(server: DnsTestServer) -> DnsClient:
    return DnsClient([server.address], timeout=0.3)


# -- the shared pieces ----------------------------------------------------------------------------------------

SELECT_ZONE = """
one     300 IN TXT "v=spf1 -all"
one     300 IN TXT "google-site-verification=abc"
two     300 IN TXT "v=spf1 ip4:192.0.2.1 -all"
two     300 IN TXT "v=spf1 -all"
other   300 IN TXT "v=spf10 -all"
other   300 IN TXT "hello"
noTxt   300 IN A 192.0.2.1
slow    300 IN TXT "v=spf1 -all"
broken  300 IN TXT "v=spf1 -all"
"""


@pytest.mark.parametrize(("name", "result", "text"), [
    pytest.param("one", "", "v=spf1 -all", id="one-spf-record-among-others"),
    pytest.param("two", "permerror", None, id="two-spf-records"),
    pytest.param("other", "none", None, id="only-lookalikes"),
    pytest.param("notxt", "none", None, id="name-without-txt"),
    pytest.param("gone", "none", None, id="nxdomain"),
    pytest.param("slow", "temperror", None, id="timeout"),
    pytest.param("broken", "temperror", None, id="servfail"),
])
def test_fetch_record_selects_as_rfc7208_4_5_says(dns_server: DnsTestServer, name: str, result: str,
                                                  text: str | None) -> None:
    dns_server.replace_zone(D, SELECT_ZONE)
    dns_server.timeout_names.add(f"slow.{D}")
    dns_server.servfail_names.add(f"broken.{D}")

    got = run(fetch_record(_client(dns_server), f"{name}.{D}"))
    assert (got.result, got.text) == (result, text)
    assert got.answer.failed is (result == "temperror")  # a failed lookup is never "none": couldn't check


def test_mx_hosts_in_preference_order_with_the_null_mx_as_empty(dns_server: DnsTestServer) -> None:
    dns_server.replace_zone(D, """
@     300 IN MX 30 C.example.com.
@     300 IN MX 10 b.example.com.
@     300 IN MX 20 a.example.com.
null  300 IN MX 0 .
""")

    async def go() -> tuple[list[str], list[str]]:
        c = _client(dns_server)
        return mx_hosts(await c.query(D, "MX")), mx_hosts(await c.query(f"null.{D}", "MX"))
    assert run(go()) == (["b.example.com", "a.example.com", "c.example.com"], [""])


@pytest.mark.parametrize(("target", "chain", "problem"), [
    pytest.param("a.example.com", ("example.com",), None, id="fine"),
    pytest.param("example.com", ("example.com", "a.example.com"), "loop", id="back-to-the-top"),
    pytest.param("a.example.com", ("example.com", "a.example.com"), "loop", id="to-itself"),
    pytest.param("com", ("example.com",), "invalid", id="single-label"),
    pytest.param("a..example.com", ("example.com",), "invalid", id="empty-label"),
    pytest.param("192.0.2.1", ("example.com",), "invalid", id="address"),
    pytest.param("x" * 64 + ".example.com", ("example.com",), "invalid", id="label-too-long"),
])
def test_follow_problem(target: str, chain: tuple[str, ...], problem: str | None) -> None:
    assert follow_problem(target, chain) == problem


def test_lookup_tally_is_over_on_the_eleventh_lookup_and_the_third_void() -> None:
    t = LookupTally()
    assert [t.lookup() for _ in range(MAX_LOOKUPS + 1)] == [False] * MAX_LOOKUPS + [True]
    assert [t.void() for _ in range(MAX_VOID_LOOKUPS + 1)] == [False] * MAX_VOID_LOOKUPS + [True]
    assert (t.lookups, t.voids) == (11, 3)


def test_tree_budget_bounds_fetches_and_depth() -> None:
    b = TreeBudget()
    assert b.allows(spf_walk.MAX_DEPTH) and not b.allows(spf_walk.MAX_DEPTH + 1)
    for _ in range(spf_walk.MAX_FETCHES):
        assert b.allows(0)
        b.fetched()
    assert not b.allows(0)


def test_one_set_of_limits_and_one_stop_for_every_walk() -> None:
    """The limits of RFC 7208 §4.6.4 are written once; the set-wise stop is a kind of check_host's."""
    assert (spf.LOOKUP_LIMIT, spf.VOID_LIMIT) == (MAX_LOOKUPS, MAX_VOID_LOOKUPS) == (10, 2)
    assert (spf_eval.MAX_LOOKUPS, spf_eval.MAX_VOID_LOOKUPS, spf_reach.MAX_MX) == (10, 2, MAX_MX)
    assert issubclass(spf_reach._Stop, SpfStop)
    stop = spf_reach._Stop("permerror", AddrSet.family(4))
    assert (stop.result, stop.scope) == ("permerror", AddrSet.family(4))


# -- the walks agree ------------------------------------------------------------------------------------------

BASE = """@ 300 IN MX 10 mail.example.com.
mail 300 IN A 192.0.2.10
mail 300 IN AAAA 2001:db8::10
"""
MANY_MX = "".join(f"many 300 IN MX {i} m{i}.example.com.\nm{i} 300 IN A 10.0.0.{i}\n" for i in range(12))
DEEP = "".join(f'd{i} 300 IN TXT "v=spf1 include:d{i + 1}.example.com -all"\n' for i in range(14))
WIDE = "".join(f'w{i} 300 IN TXT "v=spf1 a:h{i}.example.com -all"\nh{i} 300 IN A 10.1.0.{i}\n'
               f'h{i} 300 IN AAAA 2001:db8:1::{i}\n' for i in range(12))

# (the apex record and the rest of the zone, the result an unlisted address gets)
CASES = {
    "plain": ('"v=spf1 mx ip4:198.51.100.0/24 ~all"', "", "softfail"),
    "include-loop": ('"v=spf1 include:l1.example.com -all"',
                     'l1 300 IN TXT "v=spf1 include:l2.example.com -all"\n'
                     'l2 300 IN TXT "v=spf1 include:l1.example.com -all"\n', "permerror"),
    "redirect-to-itself": ('"v=spf1 mx redirect=example.com"', "", "permerror"),
    "include-without-record": ('"v=spf1 include:nothing.example.com -all"', "", "permerror"),
    "redirect-without-record": ('"v=spf1 mx redirect=nothing.example.com"', "", "permerror"),
    "two-records-below": ('"v=spf1 include:two.example.com -all"',
                          'two 300 IN TXT "v=spf1 -all"\ntwo 300 IN TXT "v=spf1 ~all"\n', "permerror"),
    "include-servfail": ('"v=spf1 include:broken.example.com -all"', "", "temperror"),
    "eleven-lookups": ('"v=spf1 ' + " ".join(f"include:w{i}.example.com" for i in range(6)) + '" "'
                       + " ".join(f"include:w{i}.example.com" for i in range(6, 11)) + ' -all"',
                       WIDE, "permerror"),
    "ten-lookups": ('"v=spf1 ' + " ".join(f"include:w{i}.example.com" for i in range(5)) + ' -all"',
                    WIDE, "fail"),
    "nested-too-deep": ('"v=spf1 include:d0.example.com -all"', DEEP, "permerror"),
    "three-voids": ('"v=spf1 a:v1.example.com a:v2.example.com exists:v3.example.com -all"', "", "permerror"),
    "twelve-mx": ('"v=spf1 mx:many.example.com -all"', MANY_MX, "permerror"),
    "redirect-chain": ('"v=spf1 redirect=r1.example.com"',
                       'r1 300 IN TXT "v=spf1 redirect=r2.example.com"\nr2 300 IN TXT "v=spf1 ?all"\n', "neutral"),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("ip", ["203.0.113.99", "2a00:1450::1"], ids=["v4", "v6"])
def test_check_host_and_reach_give_an_unlisted_address_the_same_result(dns_server: DnsTestServer, case: str,
                                                                        ip: str) -> None:
    record, rest, want = CASES[case]
    dns_server.replace_zone(D, BASE + f"@ 300 IN TXT {record}\n" + rest)
    dns_server.servfail_names.add(f"broken.{D}")

    async def go() -> tuple[spf_eval.SpfEvaluation, spf_reach.Reach]:
        c = _client(dns_server)
        return await spf_eval.check_host(ip, D, f"x@{D}", dns=c), await reach(c, D)
    ev, who = run(go())
    me = AddrSet.of(ipaddress.ip_network(ip))
    got = [r for r, s in who.results.items() if s & me]
    assert ev.result == want, ev.trace
    assert got == [want]


@pytest.mark.parametrize("case", ["plain", "ten-lookups", "eleven-lookups", "redirect-chain"])
def test_the_tree_counts_the_lookups_check_host_makes_for_an_unlisted_address(dns_server: DnsTestServer,
                                                                               case: str) -> None:
    record, rest, _ = CASES[case]
    dns_server.replace_zone(D, BASE + f"@ 300 IN TXT {record}\n" + rest)
    result = run(spf.check(make_ctx(dns_server, D)))

    async def go() -> spf_eval.SpfEvaluation:
        return await spf_eval.check_host("203.0.113.99", D, f"x@{D}", dns=_client(dns_server))
    ev = run(go())
    tree = int(result.detail["lookups"])
    # check_host stops at the eleventh: the tree goes on to measure the whole record
    assert ev.lookups == min(tree, MAX_LOOKUPS + 1)
    assert (tree > MAX_LOOKUPS) is any(f.code == "spf.too-many-lookups" for f in result.findings)
