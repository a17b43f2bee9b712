"""Who may send (``records.spf_reach``) and the SPF check's verdicts built on it (review 2, C1 and C2):
an SPF record that lets any server pass is an error wherever in the tree the door opens, the fix removes
the term that opens it, and no fix we offer lets more unlisted servers pass than the record it replaces."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest

from inboxready.core.checks import spf
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import CheckResult, Fix, Severity, Status
from inboxready.core.records.spf_eval import check_host
from inboxready.core.records.spf_reach import (
    EMPTY, EVERYONE, GLOBAL, AddrSet, Reach, reach, widens,
)

from ..conftest import make_ctx, run

D = "example.com"
BASE = """@ 300 IN MX 10 mail.example.com.
mail 300 IN A 192.0.2.10
mail 300 IN AAAA 2001:db8::10
_dmarc 300 IN TXT "v=DMARC1; p=reject"
"""
UNLISTED = ("203.0.113.99", "8.8.8.8", "2a00:1450::1", "151.101.1.1")  # addresses no record here lists
CAPTURES = json.loads((Path(__file__).parent / "spf_captures.json").read_text(encoding="utf-8"))


def serve(server: DnsTestServer, zone: str) -> None:
    server.replace_zone(D, BASE + zone)


def check(server: DnsTestServer, zone: str) -> CheckResult:
    serve(server, zone)
    return run(spf.check(make_ctx(server, D)))


def host(server: DnsTestServer, ip: str, domain: str = D) -> str:
    async def go() -> str:
        return (await check_host(ip, domain, f"x@{domain}", dns=make_ctx(server, domain).dns)).result
    return run(go())


def who(server: DnsTestServer, domain: str = D, record: str | None = None) -> Reach:
    async def go() -> Reach:
        return await reach(make_ctx(server, domain).dns, domain, record)
    return run(go())


def with_fix(zone: str, fix: Fix) -> str:
    """``zone`` with its apex SPF record replaced by ``fix``."""
    assert fix.host == D and fix.type == "TXT" and fix.action == "replace"
    kept = [ln for ln in zone.splitlines() if not (ln.startswith("@ ") and "v=spf1" in ln)]
    return "\n".join(kept + [f"@ 300 IN TXT {fix.zone_value}"]) + "\n"


def errors(r: CheckResult) -> list[str]:
    return [f.code for f in r.findings if f.severity in (Severity.ERROR, Severity.UNKNOWN)]


# -- the set arithmetic -------------------------------------------------------------------------------


def test_address_sets() -> None:
    a = AddrSet.of(ipaddress.ip_network("192.0.2.0/24"))
    b = AddrSet.of(ipaddress.ip_network("192.0.2.128/25"))
    assert (a - b).networks() == ["192.0.2.0/25"] and (a & b) == b and (a | b) == a
    assert (a | AddrSet.of(ipaddress.ip_network("192.0.3.0/24"))).networks() == ["192.0.2.0/23"]
    assert EVERYONE.size(4) == 2 ** 32 and EVERYONE.size(6) == 2 ** 128 and not EMPTY
    assert (EVERYONE - a).size(4) == 2 ** 32 - 256 and (EVERYONE - EVERYONE) == EMPTY
    six = AddrSet.of(ipaddress.ip_network("2001:db8::/32"))
    assert six.size(4) == 0 and six.size(6) == 2 ** 96 and six.networks() == ["2001:db8::/32"]
    assert not (GLOBAL & AddrSet.of(ipaddress.ip_network("10.0.0.0/8")))  # private space sends nothing


# -- the reach agrees with check_host, address by address ----------------------------------------------


AGREE = """@ 300 IN TXT "v=spf1 -ip4:198.51.100.7 include:_inc.example.com mx ~ip4:198.51.100.0/24 redirect=_red.example.com"
_inc 300 IN TXT "v=spf1 ip4:198.51.100.0/28 ?ip4:203.0.113.0/24 -all"
_red 300 IN TXT "v=spf1 a:mail.example.com/24 ip6:2001:db8:1::/48 ?all"
"""


@pytest.mark.parametrize("ip", ["198.51.100.7", "198.51.100.3", "198.51.100.20", "203.0.113.5", "192.0.2.10",
                                "192.0.2.77", "8.8.8.8", "2001:db8::10", "2001:db8:1::5", "2a00:1450::1"])
def test_reach_gives_each_address_the_result_check_host_gives(dns_server: DnsTestServer, ip: str) -> None:
    serve(dns_server, AGREE)
    r = who(dns_server)
    addr = AddrSet.of(ipaddress.ip_network(ip))
    got = [res for res, s in r.results.items() if s & addr]
    assert got == [host(dns_server, ip)], (ip, got)


# -- C1: a record that lets any server pass is an error, wherever the door opens ----------------------


OPEN = [
    pytest.param('@ 300 IN TXT "v=spf1 mx include:_a.example.com -all"\n_a 300 IN TXT "v=spf1 +all"\n',
                 "include:_a.example.com", "ends with '+all'", "v=spf1 mx -all", id="include-of-plus-all"),
    pytest.param('@ 300 IN TXT "v=spf1 mx redirect=_a.example.com"\n_a 300 IN TXT "v=spf1 ip4:0.0.0.0/0 -all"\n',
                 "redirect=_a.example.com", "'ip4:0.0.0.0/0'", "v=spf1 mx -all", id="redirect-to-everyone"),
    pytest.param('@ 300 IN TXT "v=spf1 mx ip4:0.0.0.0/1 ip4:128.0.0.0/1 -all"\n',
                 "ip4:0.0.0.0/1", "of all IPv4 addresses", "v=spf1 mx -all", id="two-halves"),
    pytest.param('@ 300 IN TXT "v=spf1 mx ip6:2000::/3 -all"\n', "ip6:2000::/3", "IPv6", "v=spf1 mx -all",
                 id="ipv6-everything"),
    pytest.param('@ 300 IN TXT "v=spf1 include:_a.example.com -all"\n_a 300 IN TXT "v=spf1 include:_b.example.com -all"\n'
                 '_b 300 IN TXT "v=spf1 ip4:10.0.0.0/8 ip4:0.0.0.0/2 -all"\n',
                 "include:_a.example.com", "_b.example.com", "v=spf1 mx -all", id="nested-wide-range"),
    pytest.param('@ 300 IN TXT "v=spf1 mx/0 -all"\n', "mx/0", "of all IPv4 addresses", "v=spf1 mx -all",
                 id="mx-slash-zero"),
]


@pytest.mark.parametrize(("zone", "term", "why", "fixed"), OPEN)
def test_a_record_that_lets_anyone_send_is_an_error_and_its_fix_closes_it(
        dns_server: DnsTestServer, zone: str, term: str, why: str, fixed: str) -> None:
    serve(dns_server, zone)
    assert "pass" in {host(dns_server, ip) for ip in UNLISTED}  # the door really is open
    r = check(dns_server, zone)
    assert r.status is Status.FAIL and "lets any server on the internet send as you" in r.summary
    f = next(f for f in r.findings if f.code == "spf.plus-all" and f"'{term}'" in f.message)
    assert f.severity is Severity.ERROR and why in f.message, f.message
    assert f.fix is not None and f.fix.value == fixed, f.fix
    # published: the finding goes, nothing else breaks, unlisted servers fail and the mail server still passes
    after_zone = with_fix(zone, f.fix)
    after = check(dns_server, after_zone)
    assert "spf.plus-all" not in [x.code for x in after.findings] and not errors(after), after.to_json()
    assert {host(dns_server, ip) for ip in UNLISTED} == {"fail"}
    assert host(dns_server, "192.0.2.10") == "pass"


def test_real_providers_never_open_the_door(dns_server: DnsTestServer) -> None:
    """The captured records of real sending services (tests/core/spf_captures.json), one at a time and all
    their ranges together, stay far below the thresholds."""
    union = EMPTY
    for tree in CAPTURES["trees"]:
        for name in tree["records"]:
            labels = name.split(".")
            for k in range(1, len(labels)):
                dns_server.add_origin(".".join(labels[-k:]))
        for name, record in tree["records"].items():
            dns_server.add_records(name, "TXT", ['"' + record.replace('"', '\\"') + '"'])
    for tree in CAPTURES["trees"]:
        r = who(dns_server, tree["include"])
        assert not r.open and not r.open_terms(), tree["include"]
        union = union | r.passes
        result = check(dns_server, f'@ 300 IN TXT "v=spf1 mx include:{tree["include"]} -all"\n')
        assert "spf.plus-all" not in [x.code for x in result.findings], (tree["include"], result.to_json())
    assert (union & GLOBAL).size(4) < 2 ** 24 // 4  # every captured provider together: under a /10


def test_private_ranges_and_rules_that_depend_on_the_sender_are_not_an_open_door(dns_server: DnsTestServer) -> None:
    zone = ('@ 300 IN TXT "v=spf1 mx ip4:10.0.0.0/8 ip4:172.16.0.0/12 exists:%{i}._spf.example.com -all"\n')
    r = check(dns_server, zone)
    assert "spf.plus-all" not in [x.code for x in r.findings], r.to_json()
    assert who(dns_server).uncertain == ["exists:%{i}._spf.example.com"]


# -- C2: a fix never lets more unlisted servers pass -------------------------------------------------


RDA = '@ 300 IN TXT "v=spf1 mx redirect=_a.example.com ~all"\n_a 300 IN TXT "v=spf1 +all"\n'


def test_an_ignored_redirect_to_plus_all_is_removed_not_made_an_include(dns_server: DnsTestServer) -> None:
    serve(dns_server, RDA)
    assert host(dns_server, "203.0.113.99") == "softfail"
    r = check(dns_server, RDA)
    f = next(f for f in r.findings if f.code == "spf.redirect-ignored")
    # RFC 7208 §6.1 ignores it; nothing to restore, only a trap to remove: a warning
    assert f.severity is Severity.WARNING and "'+all'" in f.message and r.status is Status.WARN
    assert f.fix is not None and f.fix.value == "v=spf1 mx -all", f.fix
    assert "include:_a.example.com" not in f.fix.value and "not made an include" in f.fix.note
    after = check(dns_server, with_fix(RDA, f.fix))
    assert not errors(after) and "spf.redirect-ignored" not in [x.code for x in after.findings]
    assert {host(dns_server, ip) for ip in UNLISTED} == {"fail"} and host(dns_server, "192.0.2.10") == "pass"


def test_an_ignored_redirect_to_real_senders_still_becomes_an_include(dns_server: DnsTestServer) -> None:
    zone = '@ 300 IN TXT "v=spf1 mx redirect=_a.example.com ~all"\n_a 300 IN TXT "v=spf1 ip4:198.51.100.0/24 -all"\n'
    r = check(dns_server, zone)
    f = next(f for f in r.findings if f.code == "spf.redirect-ignored")
    assert f.severity is Severity.ERROR and f.fix is not None
    assert f.fix.value == "v=spf1 mx include:_a.example.com -all"
    check(dns_server, with_fix(zone, f.fix))
    assert host(dns_server, "198.51.100.9") == "pass" and host(dns_server, "203.0.113.99") == "fail"


def test_widens_compares_what_unlisted_servers_get(dns_server: DnsTestServer) -> None:
    serve(dns_server, '_open 300 IN TXT "v=spf1 +all"\n')
    soft = who(dns_server, record="v=spf1 mx ~all")
    assert soft.default(4) == "softfail" and soft.default(6) == "softfail" and not soft.open
    assert widens(soft, who(dns_server, record="v=spf1 mx -all")) is None  # fail is as strict
    assert widens(who(dns_server, record="v=spf1 mx -all"), soft) is None  # -all to ~all: still protected
    assert "'neutral' instead of 'softfail'" in (widens(soft, who(dns_server, record="v=spf1 mx ?all")) or "")
    assert "any server" in (widens(soft, who(dns_server, record="v=spf1 mx include:_open.example.com ~all")) or "")
    # a fix may add senders the owner listed (a bounded range): not a widening
    assert widens(soft, who(dns_server, record="v=spf1 mx ip4:198.51.100.0/24 ~all")) is None


def test_the_fix_self_check_refuses_a_record_that_widens(dns_server: DnsTestServer,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard itself: were the corrected record to let more unlisted servers pass (here the steps that
    build and tidy it are made to keep an include of '+all'), no record is offered and the finding says why."""
    zone = '@ 300 IN TXT "v=spf1 mx ptr ~all"\n_a 300 IN TXT "v=spf1 +all"\n'

    def corrected(an: Any, rec: Any, merged: bool) -> tuple[str, list[str]]:
        return "v=spf1 mx include:_a.example.com ~all", []

    async def settle(ctx: Any, value: str, notes: list[str]) -> tuple[str, list[str]]:
        return value, notes

    monkeypatch.setattr(spf, "_corrected", corrected)
    monkeypatch.setattr(spf, "_settle", settle)
    r = check(dns_server, zone)
    f = next(f for f in r.findings if f.code == "spf.ptr")
    assert f.fix is None and "any server on the internet" in f.no_fix, f
    monkeypatch.undo()
    r = check(dns_server, zone)  # and without the sabotage, the ptr fix is offered
    f = next(f for f in r.findings if f.code == "spf.ptr")
    assert f.fix is not None and f.fix.value == "v=spf1 mx -all"
