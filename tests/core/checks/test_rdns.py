"""Reverse DNS (forward-confirmed PTR) against the loopback DNS server, with reverse zones served there."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from inboxready.core.checks import rdns
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import Severity, Status

from tests.conftest import make_ctx, run

REV4 = "2.0.192.in-addr.arpa"
REV6 = "8.b.d.0.1.0.0.2.ip6.arpa"


def check(server: DnsTestServer, domain: str = "example.com", **opts: object):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        ctx = make_ctx(server, domain, **opts)
        try:
            return await rdns.check(ctx)
        finally:
            ctx.dns.close()
    return run(go())


def codes(result) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(f.code for f in result.findings)


def by_ip(result) -> dict[str, dict]:  # type: ignore[no-untyped-def, type-arg]
    return {h["ip"]: h for h in result.detail["hosts"]}


def test_confirmed(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("example.com", """
@     TXT "v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 -all"
@     MX  10 mail
mail  A   192.0.2.20
out   A   192.0.2.10
out   AAAA 2001:db8::10
""")
    dns_server.add_zone(REV4, "10 PTR out.example.com.\n20 PTR mail.example.com.\n")
    dns_server.add_zone(REV6, "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR out.example.com.\n")
    r = check(dns_server)
    assert r.status is Status.PASS, r.findings
    assert r.findings == []
    hosts = by_ip(r)
    assert set(hosts) == {"192.0.2.10", "2001:db8::10", "192.0.2.20"}
    assert hosts["192.0.2.10"] == {"ip": "192.0.2.10", "source": "spf", "via": "ip4:192.0.2.10",
                                   "ptr": ["out.example.com"], "confirmed": True, "problem": None}
    assert hosts["192.0.2.20"]["source"] == "mx" and hosts["192.0.2.20"]["via"] == "mail.example.com"
    assert all(h["confirmed"] for h in hosts.values())
    assert r.detail["capped"] is False
    assert json.loads(json.dumps(r.to_json()))["detail"]["hosts"]


def test_missing_ptr_for_an_spf_sender_is_a_warning(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("example.com", '@ TXT "v=spf1 ip4:192.0.2.11 -all"\n')
    dns_server.add_zone(REV4, "99 PTR other.example.net.\n")
    r = check(dns_server)
    assert r.status is Status.WARN
    assert codes(r) == ["rdns.missing-ptr"]
    f = r.findings[0]
    assert f.severity is Severity.WARNING and f.fix is None
    assert "hosting or mail provider" in f.message
    assert "11.2.0.192.in-addr.arpa. PTR" in f.detail
    assert by_ip(r)["192.0.2.11"]["confirmed"] is False


def test_missing_ptr_for_a_receiving_mx_is_information(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("example.com", '@ TXT "v=spf1 -all"\n@ MX 10 mx1\nmx1 A 192.0.2.30\n')
    dns_server.add_origin(REV4)
    r = check(dns_server)
    assert r.status is Status.INFO
    assert codes(r) == ["rdns.missing-ptr"] and r.findings[0].severity is Severity.INFO
    assert "30.2.0.192.in-addr.arpa. PTR mx1.example.com." in r.findings[0].detail


def test_missing_ptr_for_the_test_message_sender_fails(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("example.com", '@ TXT "v=spf1 include:_spf.example.net -all"\n')
    dns_server.add_origin(REV4)
    r = check(dns_server, sending_ips=["192.0.2.40"])
    assert r.status is Status.FAIL
    assert codes(r) == ["rdns.missing-ptr"]
    assert by_ip(r)["192.0.2.40"]["source"] == "message"


def test_ptr_not_pointing_back_gets_the_forward_record_fix(dns_server: DnsTestServer) -> None:
    zone = '@ TXT "v=spf1 ip4:192.0.2.12 -all"\nsender A 192.0.2.99\n'
    dns_server.add_zone("example.com", zone)
    dns_server.add_zone(REV4, "12 PTR sender.example.com.\n")
    r = check(dns_server)
    assert r.status is Status.WARN
    assert codes(r) == ["rdns.not-confirmed"]
    fix = r.findings[0].fix
    assert fix is not None
    assert (fix.host, fix.type, fix.value, fix.action) == ("sender.example.com", "A", "192.0.2.12", "publish")
    assert by_ip(r)["192.0.2.12"]["problem"] == "the PTR name sender.example.com does not point back to 192.0.2.12"
    # Publish the fix: the address is now forward-confirmed.
    dns_server.replace_zone("example.com", zone + fix.zone_line + "\n")
    again = check(dns_server)
    assert again.status is Status.PASS and by_ip(again)["192.0.2.12"]["confirmed"] is True


def test_ptr_to_a_foreign_name_has_no_zone_fix(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("example.com", '@ TXT "v=spf1 ip4:192.0.2.13 -all"\n')
    dns_server.add_zone("example.net", "host A 192.0.2.200\n")
    dns_server.add_zone(REV4, "13 PTR host.example.net.\n")
    r = check(dns_server)
    assert codes(r) == ["rdns.not-confirmed"]
    assert r.findings[0].fix is None and "not in your domain" in r.findings[0].message


def test_a_and_mx_terms_are_followed(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("example.com", """
@     TXT "v=spf1 a a:relay.example.com mx:example.org -all"
@     A   192.0.2.50
relay A   192.0.2.51
""")
    dns_server.add_zone("example.org", "@ MX 5 mx.example.org.\nmx A 192.0.2.52\n")
    dns_server.add_zone(REV4, "50 PTR example.com.\n51 PTR relay.example.com.\n52 PTR mx.example.org.\n")
    r = check(dns_server)
    assert r.status is Status.PASS, r.findings
    hosts = by_ip(r)
    assert hosts["192.0.2.50"]["via"] == "a"
    assert hosts["192.0.2.51"]["via"] == "a:relay.example.com"
    assert hosts["192.0.2.52"]["via"] == "mx:example.org (mx.example.org)"
    assert {h["source"] for h in hosts.values()} == {"spf"}


def test_cap_and_ranges(dns_server: DnsTestServer) -> None:
    from inboxready.core.model import Fix

    singles = " ".join(f"ip4:192.0.2.{i}" for i in range(100, 125))
    spf = Fix("example.com", "TXT", f"v=spf1 {singles} ip4:198.51.100.0/16 -all")
    dns_server.add_zone("example.com", spf.zone_line + "\n")
    dns_server.add_zone(REV4, "".join(f"{i} PTR h{i}.example.com.\n" for i in range(100, 125)))
    dns_server.add_zone("example.com.", "".join(f"h{i} A 192.0.2.{i}\n" for i in range(100, 125)))
    r = check(dns_server)
    assert r.detail["capped"] is True
    assert len(r.detail["hosts"]) == rdns.MAX_ADDRESSES
    assert codes(r) == ["rdns.capped", "rdns.ranges-not-tested"]
    assert r.status is Status.PASS


def test_small_range_is_sampled() -> None:
    ips, skipped, lookups = rdns.spf_addresses("v=spf1 ip4:192.0.2.0/30 ip4:10.0.0.0/8 -ip4:192.0.2.9 ~all")
    assert ips == [("192.0.2.1", "ip4:192.0.2.0/30"), ("192.0.2.2", "ip4:192.0.2.0/30")]
    assert skipped == ["ip4:10.0.0.0/8"] and lookups == []


def test_reverse_lookup_timeout_is_couldnt_check(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("example.com", '@ TXT "v=spf1 ip4:192.0.2.14 -all"\n')
    dns_server.add_origin(REV4)
    dns_server.timeout_names.add("14.2.0.192.in-addr.arpa")
    r = check(dns_server, timeout=0.5)
    assert r.status is Status.ERROR
    assert codes(r) == ["rdns.lookup-failed"]
    assert by_ip(r)["192.0.2.14"]["confirmed"] is None


def test_spf_timeout_with_nothing_else_is_couldnt_check(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("example.com", '@ TXT "v=spf1 -all"\n')
    dns_server.timeout_names.add("example.com/TXT")
    r = check(dns_server, timeout=0.5)
    assert r.status is Status.ERROR and codes(r) == ["rdns.lookup-failed"]


def test_nothing_to_check(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("example.com", '@ TXT "v=spf1 include:_spf.example.net -all"\n')
    r = check(dns_server)
    assert r.status is Status.INFO and codes(r) == ["rdns.no-sending-ips"]
    assert r.detail == {"hosts": [], "capped": False, "found": 0}


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_spf_addresses_never_raises(text: str) -> None:
    ips, _, _ = rdns.spf_addresses(text)
    assert len(ips) <= 1000


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["v=spf1", "ip4:192.0.2.1", "ip4:192.0.2.0/28", "ip6:2001:db8::/124", "a",
                                 "mx", "ip4:1.2.3.4/0", "ip6:::/0", "-all", "ip4:300.1.1.1", "a:%{d}",
                                 "ip4:192.0.2.1/33", "redirect=x"]), max_size=8))
def test_spf_addresses_on_near_misses(terms: list[str]) -> None:
    ips, _, _ = rdns.spf_addresses(" ".join(terms))
    assert len(ips) <= rdns.RANGE_SAMPLE * len(terms)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=50))
def test_reverse_name_raises_only_value_error(text: str) -> None:
    try:
        assert rdns.reverse_name(text).endswith("arpa")
    except ValueError:
        pass


def test_a_count_over_partly_unchecked_addresses_says_so(dns_server: DnsTestServer) -> None:
    """Issue 13 #14: "N of M lack reverse DNS" counts only what was checked, and says what wasn't."""
    dns_server.add_zone("example.com", '@ TXT "v=spf1 ip4:192.0.2.12 ip4:192.0.2.13 -all"\n'
                                       "out A 192.0.2.13\n")
    dns_server.add_zone(REV4, "13 PTR out.example.com.\n")
    dns_server.servfail_names.add("12.2.0.192.in-addr.arpa")
    r = check(dns_server, sending_ips=["192.0.2.11"])
    assert r.status is Status.FAIL  # the server that sent the test message has no PTR
    assert r.summary == "1 of 3 mail server addresses lack working reverse DNS; 1 couldn't be checked."
