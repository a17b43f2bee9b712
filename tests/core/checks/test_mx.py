"""The MX check and the parked-domain lockdown, against the loopback DNS server: one zone per finding.

Every fix the check suggests is published in a test zone and the domain is checked again.
"""

from __future__ import annotations

import time

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxready.core.checks import dkim, mx, posture
from inboxready.core.checks.registry import check_function
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import CheckResult, Fix, Severity, Status
from inboxready.core.records.mx import MxParseError, parse_mx, unreachable_address
from inboxready.core.records.spf_parse import spf_records

from ...conftest import make_ctx, run

D = "example.com"


def check(server: DnsTestServer, zone: str, domain: str = D, **opts: object) -> CheckResult:
    server.replace_zone(domain, zone)

    async def go() -> CheckResult:
        return await mx.check(make_ctx(server, domain, **opts))

    return run(go())


def codes(result: CheckResult) -> list[str]:
    return [f.code for f in result.findings]


def finding(result: CheckResult, code: str):  # type: ignore[no-untyped-def]
    matches = [f for f in result.findings if f.code == code]
    assert len(matches) == 1, (code, codes(result))
    return matches[0]


def apply_fixes(zone_text: str, fixes: list[Fix], replace: dict[str, str] | None = None) -> str:
    """The zone with the fixes applied. ``publish`` adds a record; ``remove`` deletes exactly that
    record; ``replace`` swaps the record given in ``replace[fix.value]`` (or, if none is given, the
    whole RRset) for the fix's value."""
    z = dns.zone.from_text(zone_text, origin=D, relativize=False, check_origin=False)
    for fix in fixes:
        rdtype = dns.rdatatype.from_text(fix.type)
        new = dns.rdata.from_text(dns.rdataclass.IN, rdtype, fix.zone_value, origin=dns.name.root,
                                  relativize=False)
        node = z.find_node(dns.name.from_text(fix.host), create=True)
        rds = node.find_rdataset(dns.rdataclass.IN, rdtype, create=True)
        if fix.action == "remove":
            assert new in rds, f"{fix.value} is not published"
            rds.discard(new)
            continue
        if fix.action == "replace":
            old = (replace or {}).get(fix.value)
            if old is None:
                assert len(rds), "nothing to replace"
                rds.clear()
            else:
                old_rd = dns.rdata.from_text(dns.rdataclass.IN, rdtype, old, origin=dns.name.root,
                                             relativize=False)
                assert old_rd in rds, f"{old} is not published"
                rds.discard(old_rd)
        rds.add(new, ttl=fix.ttl)
    return z.to_text()


# -- mail servers -----------------------------------------------------------------------------------

GOOD = """$TTL 300
@     IN MX   20 mx2.example.com.
@     IN MX   10 mx1.example.com.
@     IN TXT  "v=spf1 mx -all"
mx1   IN A    192.0.2.1
mx2   IN A    192.0.2.2
mx2   IN AAAA 2001:db8::2
"""


def test_good_mx_passes_with_hosts_in_preference_order(dns_server: DnsTestServer) -> None:
    r = check(dns_server, GOOD)
    assert r.status is Status.PASS and r.findings == []
    assert r.detail == {
        "hosts": [
            {"preference": 10, "host": "mx1.example.com", "addresses": ["192.0.2.1"], "error": None, "cname": None},
            {"preference": 20, "host": "mx2.example.com", "addresses": ["192.0.2.2", "2001:db8::2"], "error": None,
             "cname": None},
        ],
        "null_mx": False, "implicit": False, "parked": False,
    }
    assert sorted(r.records) == ["10 mx1.example.com.", "20 mx2.example.com."]
    assert r.summary == "Mail for example.com goes to 2 servers: mx1.example.com, mx2.example.com."


def test_mx_pointing_at_cname_warns_and_fix_passes(dns_server: DnsTestServer) -> None:
    zone = """$TTL 300
@     IN MX    10 mail.example.com.
@     IN TXT   "v=spf1 mx -all"
mail  IN CNAME real.example.com.
real  IN A     192.0.2.1
"""
    r = check(dns_server, zone)
    assert r.status is Status.WARN and codes(r) == ["mx.target-cname"]
    assert r.detail["hosts"][0]["cname"] == "real.example.com"
    fix = r.findings[0].fix
    assert fix is not None and (fix.host, fix.type, fix.value, fix.action) == (D, "MX", "10 real.example.com.", "replace")
    again = check(dns_server, apply_fixes(zone, [fix], {fix.value: "10 mail.example.com."}))
    assert again.status is Status.PASS, again.findings


def test_ip_address_as_only_mx_fails_and_fixes_pass(dns_server: DnsTestServer) -> None:
    zone = """$TTL 300
@     IN MX    10 192.0.2.1.
@     IN TXT   "v=spf1 ip4:192.0.2.1 -all"
"""
    r = check(dns_server, zone)
    assert r.status is Status.FAIL
    assert codes(r) == ["mx.target-ip-literal", "mx.target-ip-literal-address"]
    assert r.detail["hosts"][0]["host"] == "192.0.2.1" and r.detail["hosts"][0]["error"]
    (both,) = r.fixes  # one fix on both findings: the MX works only with the name's address (issue 12)
    assert r.findings[0].fix is both and r.findings[1].fix is both
    mx_fix, a_fix = both.records
    assert (mx_fix.value, mx_fix.action) == ("10 mail.example.com.", "replace")
    assert (a_fix.host, a_fix.type, a_fix.value, a_fix.action) == ("mail.example.com", "A", "192.0.2.1", "publish")
    again = check(dns_server, apply_fixes(zone, [mx_fix, a_fix], {mx_fix.value: "10 192.0.2.1."}))
    assert again.status is Status.PASS, again.findings


def test_ip_address_beside_a_working_mx_warns_and_fix_passes(dns_server: DnsTestServer) -> None:
    zone = GOOD + "@ IN MX 30 198.51.100.7.\n"
    r = check(dns_server, zone)
    assert r.status is Status.WARN and codes(r) == ["mx.target-ip-literal"]
    fix = r.findings[0].fix
    assert fix is not None and (fix.value, fix.action) == ("30 198.51.100.7.", "remove")
    assert check(dns_server, apply_fixes(zone, [fix])).status is Status.PASS


def test_duplicate_host_warns_and_fix_passes(dns_server: DnsTestServer) -> None:
    zone = GOOD + "@ IN MX 30 mx1.example.com.\n"
    r = check(dns_server, zone)
    assert r.status is Status.WARN and codes(r) == ["mx.duplicate-host"]
    fix = r.findings[0].fix
    assert fix is not None and (fix.value, fix.action) == ("30 mx1.example.com.", "remove")
    assert [h["host"] for h in r.detail["hosts"]] == ["mx1.example.com", "mx2.example.com"]
    assert check(dns_server, apply_fixes(zone, [fix])).status is Status.PASS


def test_only_target_missing_fails(dns_server: DnsTestServer) -> None:
    r = check(dns_server, '$TTL 300\n@ IN MX 10 mx.example.com.\n@ IN TXT "v=spf1 mx -all"\n')
    assert r.status is Status.FAIL and codes(r) == ["mx.target-missing"]
    assert r.detail["hosts"][0]["error"] == "the name does not exist"
    assert r.findings[0].fix is None  # we can't know the right server


def test_backup_target_without_address_warns_and_fix_passes(dns_server: DnsTestServer) -> None:
    zone = GOOD + "@ IN MX 30 old.example.com.\nold IN TXT \"retired\"\n"
    r = check(dns_server, zone)
    assert r.status is Status.WARN and codes(r) == ["mx.target-missing"]
    assert finding(r, "mx.target-missing").severity is Severity.WARNING
    assert r.detail["hosts"][2]["error"] == "the name has no IPv4 or IPv6 address"
    fix = r.findings[0].fix
    assert fix is not None and (fix.value, fix.action) == ("30 old.example.com.", "remove")
    assert check(dns_server, apply_fixes(zone, [fix])).status is Status.PASS


def test_private_address_warns(dns_server: DnsTestServer) -> None:
    r = check(dns_server, '$TTL 300\n@ IN MX 10 mx.example.com.\n@ IN TXT "v=spf1 mx -all"\nmx IN A 10.1.2.3\n')
    assert r.status is Status.WARN and codes(r) == ["mx.target-private"]
    assert "10.1.2.3" in r.findings[0].message


def test_localhost_target_warns(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("localhost", "$TTL 300\nlocalhost. IN A 127.0.0.1\n")
    r = check(dns_server, GOOD + "@ IN MX 5 localhost.\n")
    assert r.status is Status.WARN and codes(r) == ["mx.target-private"]


def test_ipv6_only_warns(dns_server: DnsTestServer) -> None:
    r = check(dns_server, '$TTL 300\n@ IN MX 10 mx.example.com.\n@ IN TXT "v=spf1 mx -all"\nmx IN AAAA 2001:db8::25\n')
    assert r.status is Status.WARN and codes(r) == ["mx.no-ipv4"]


def test_domain_that_does_not_exist_fails(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("example.net", "$TTL 300\nwww IN A 192.0.2.80\n")
    r = check(dns_server, GOOD, domain="example.com")
    assert r.status is Status.PASS

    async def go() -> CheckResult:
        return await mx.check(make_ctx(dns_server, "nope.example.net"))

    r = run(go())
    assert r.status is Status.FAIL and codes(r) == ["mx.domain-not-found"]


# -- couldn't check ---------------------------------------------------------------------------------


def test_mx_timeout_is_couldnt_check(dns_server: DnsTestServer) -> None:
    dns_server.timeout_names.add("example.com/MX")
    started = time.monotonic()
    r = check(dns_server, GOOD, timeout=0.5)
    assert time.monotonic() - started < 5
    assert r.status is Status.ERROR and codes(r) == ["mx.lookup-failed"]


def test_only_target_servfail_is_couldnt_check(dns_server: DnsTestServer) -> None:
    dns_server.servfail_names.add("mx.example.com")
    r = check(dns_server, '$TTL 300\n@ IN MX 10 mx.example.com.\n@ IN TXT "v=spf1 mx -all"\nmx IN A 192.0.2.1\n')
    assert r.status is Status.ERROR and codes(r) == ["mx.target-unchecked"]
    assert r.detail["hosts"][0]["error"].startswith("couldn't check")


def test_backup_target_timeout_beside_working_server_is_couldnt_check_never_pass(dns_server: DnsTestServer) -> None:
    # review: a Pass card said "mail goes to 2 servers" about a server nobody could look up
    dns_server.timeout_names.add("mx2.example.com")
    r = check(dns_server, GOOD, timeout=0.5)
    assert r.status is Status.ERROR and codes(r) == ["mx.target-unchecked"]
    assert r.findings[0].severity is Severity.UNKNOWN and "other server" in r.findings[0].message
    assert "couldn't check them all" in r.summary


# -- no MX: implicit MX -----------------------------------------------------------------------------


def test_implicit_mx_on_a_sending_domain_warns_without_a_null_mx_fix(dns_server: DnsTestServer) -> None:
    # RFC 7505 §4.2: a domain that sends mail should not publish a null MX (receivers may refuse its mail),
    # so a domain whose SPF lists senders is told to publish its real MX, and gets no null MX to paste.
    zone = '$TTL 300\n@ IN A 192.0.2.80\n@ IN TXT "v=spf1 ip4:192.0.2.80 -all"\n'
    r = check(dns_server, zone)
    assert r.status is Status.WARN and codes(r) == ["mx.implicit"]
    assert r.findings[0].fix is None and r.fixes == []
    assert "publish the MX record your mail service gives you" in r.findings[0].message
    assert r.detail["implicit"] is True and r.detail["parked"] is False
    assert r.detail["hosts"] == [{"preference": 0, "host": D, "addresses": ["192.0.2.80"], "error": None,
                                  "cname": None}]
    assert "192.0.2.80" in r.summary


def test_implicit_mx_without_senders_suggests_null_mx_and_fix_passes(dns_server: DnsTestServer) -> None:
    zone = '$TTL 300\n@ IN A 192.0.2.80\n@ IN TXT "v=spf1 ~all"\n'
    r = check(dns_server, zone)
    assert r.status is Status.WARN and codes(r) == ["mx.implicit"]
    fix = r.findings[0].fix
    assert fix is not None and (fix.host, fix.type, fix.value, fix.action) == (D, "MX", "0 .", "publish")
    again = check(dns_server, apply_fixes(zone, [fix]))
    assert again.status is Status.INFO and codes(again) == ["mx.null-mx"]


def test_no_mail_server_but_sending_asks_for_real_mx_not_null_mx(dns_server: DnsTestServer) -> None:
    # RFC 7505 §4.2 (see above): no null MX for a domain that sends mail.
    zone = '$TTL 300\n@ IN TXT "v=spf1 include:_spf.example.net -all"\nwww IN A 192.0.2.80\n'
    r = check(dns_server, zone)
    assert r.status is Status.WARN and codes(r) == ["mx.no-mail-server"] and r.fixes == []
    assert "Publish the MX record your mail service gives you" in r.findings[0].message


def test_no_mail_server_without_senders_suggests_null_mx_and_fix_passes(dns_server: DnsTestServer) -> None:
    zone = '$TTL 300\n@ IN TXT "v=spf1 ~all"\nwww IN A 192.0.2.80\n'
    r = check(dns_server, zone)
    assert r.status is Status.WARN and codes(r) == ["mx.no-mail-server"]
    fix = r.findings[0].fix
    assert fix is not None and (fix.host, fix.type, fix.value) == (D, "MX", "0 .")
    again = check(dns_server, apply_fixes(zone, [fix]))
    assert again.status is Status.INFO and codes(again) == ["mx.null-mx"]
    assert again.detail["null_mx"] is True and again.detail["parked"] is False


# -- null MX ----------------------------------------------------------------------------------------


def test_null_mx_mixed_with_real_mx_fails_and_fix_passes(dns_server: DnsTestServer) -> None:
    zone = GOOD + "@ IN MX 0 .\n"
    r = check(dns_server, zone)
    assert r.status is Status.FAIL and codes(r) == ["mx.null-mx-mixed"]
    fix = r.findings[0].fix
    assert fix is not None and (fix.value, fix.action) == ("0 .", "remove")
    assert check(dns_server, apply_fixes(zone, [fix])).status is Status.PASS


def test_null_mx_with_wrong_preference_warns_and_fix_passes(dns_server: DnsTestServer) -> None:
    zone = '$TTL 300\n@ IN MX 10 .\n@ IN TXT "v=spf1 ~all"\n'
    r = check(dns_server, zone)
    assert r.status is Status.WARN and codes(r) == ["mx.null-mx", "mx.null-mx-preference"]
    fix = finding(r, "mx.null-mx-preference").fix
    assert (fix.value, fix.action) == ("0 .", "replace")
    again = check(dns_server, apply_fixes(zone, [fix]))
    assert again.status is Status.INFO and codes(again) == ["mx.null-mx"]


# -- parked domains and the lockdown kit --------------------------------------------------------------


def test_lockdown_fixes_are_the_four_records() -> None:
    fixes = posture.lockdown_fixes("Example.COM.")
    assert [(f.host, f.type, f.value, f.action) for f in fixes] == [
        ("example.com", "TXT", "v=spf1 -all", "publish"),
        ("_dmarc.example.com", "TXT", "v=DMARC1; p=reject;", "publish"),
        ("example.com", "MX", "0 .", "publish"),
        ("*._domainkey.example.com", "TXT", "v=DKIM1; p=", "publish"),
    ]
    assert [f.zone_line for f in fixes] == [
        'example.com.\t3600\tIN\tTXT\t"v=spf1 -all"',
        '_dmarc.example.com.\t3600\tIN\tTXT\t"v=DMARC1; p=reject;"',
        "example.com.\t3600\tIN\tMX\t0 .",
        '*._domainkey.example.com.\t3600\tIN\tTXT\t"v=DKIM1; p="',
    ]
    assert all(f.note for f in fixes)


PARKED = "$TTL 300\n@ IN A 192.0.2.80\nwww IN A 192.0.2.80\n"


def test_parked_domain_gets_the_lockdown_kit(dns_server: DnsTestServer) -> None:
    r = check(dns_server, PARKED)
    assert r.status is Status.WARN
    assert codes(r) == ["mx.implicit", "mx.parked-lockdown", "mx.lockdown-spf", "mx.lockdown-dmarc",
                        "mx.lockdown-null-mx", "mx.lockdown-dkim"]
    assert "publish these four records so nobody can send mail pretending to be it" in \
        finding(r, "mx.parked-lockdown").message
    # issue 12 item 2: the warning carries the four records it asks for (null MX first on this card); each record
    # is on its own note too, which the front ends show as solved by the warning's records
    (bundle,) = r.fixes
    assert bundle is finding(r, "mx.parked-lockdown").fix and bundle.type == "MX"
    assert sorted(bundle.records, key=str) == sorted(posture.lockdown_fixes(D), key=str)
    assert all(finding(r, c).fix in bundle.records for c in ("mx.lockdown-spf", "mx.lockdown-dmarc",
                                                              "mx.lockdown-null-mx", "mx.lockdown-dkim"))
    shown = r.presented()
    assert shown[0].finding.code == "mx.parked-lockdown" and len(shown[0].also_solves) == 4
    assert all(x.solved_by is shown[0].finding for x in shown if x.finding.code.startswith("mx.lockdown-"))
    assert r.detail["parked"] is True and r.detail["implicit"] is True
    assert r.summary == "This domain doesn't seem to be used for email (no MX and no SPF record)."


def test_parked_domain_without_address_gets_the_lockdown_kit(dns_server: DnsTestServer) -> None:
    r = check(dns_server, '$TTL 300\n@ IN NS ns.example.net.\n')
    assert r.status is Status.WARN and "mx.parked-lockdown" in codes(r) and "mx.implicit" not in codes(r)
    assert sorted(r.fixes[0].records, key=str) == sorted(posture.lockdown_fixes(D), key=str)


def _run_all(server: DnsTestServer, names: list[str]) -> dict[str, CheckResult]:
    async def go() -> dict[str, CheckResult]:
        ctx = make_ctx(server, D)
        out = {}
        for name in names:
            out[name] = await check_function(name)(ctx)
        return out

    return run(go())


def test_published_lockdown_kit_passes_our_own_checks(dns_server: DnsTestServer) -> None:
    dns_server.add_origin("com")  # so the DMARC tree walk's _dmarc.com gets NXDOMAIN, not REFUSED
    dns_server.replace_zone(D, apply_fixes(PARKED, posture.lockdown_fixes(D)))
    results = _run_all(dns_server, ["mx", "dkim", "spf", "dmarc"])
    r = results["mx"]
    assert r.status is Status.INFO and codes(r) == ["mx.null-mx", "mx.locked-down"] and r.fixes == []
    assert r.detail["null_mx"] is True and r.detail["parked"] is True
    d = results["dkim"]
    assert d.status is Status.INFO and codes(d) == ["dkim.wildcard-revoked", "dkim.no-mail"] and d.fixes == []
    spf_r = results["spf"]
    assert spf_r.status in (Status.PASS, Status.INFO) and spf_r.fixes == [], spf_r.findings
    dm = results["dmarc"]
    assert dm.detail.get("policy") == "reject", dm.detail
    # A domain that sends no mail needs no rua= reports: nothing above info, and nothing to publish.
    assert dm.status is Status.PASS, dm.findings
    assert all(f.severity is Severity.INFO for f in dm.findings), dm.findings
    assert dm.fixes == [] and dm.detail["next_record"] is None


def test_null_mx_alone_suggests_the_missing_lockdown_records_and_they_pass(dns_server: DnsTestServer) -> None:
    zone = "$TTL 300\n@ IN MX 0 .\n"
    r = check(dns_server, zone)
    assert r.status is Status.INFO
    assert codes(r) == ["mx.null-mx", "mx.lockdown-incomplete", "mx.lockdown-spf", "mx.lockdown-dmarc",
                        "mx.lockdown-dkim"]
    assert "these three records" in finding(r, "mx.lockdown-incomplete").message
    kit = posture.lockdown_fixes(D)
    (bundle,) = r.fixes  # on the note that asks for them, all three together
    assert bundle.records == (kit[0], kit[1], kit[3])
    again = check(dns_server, apply_fixes(zone, list(bundle.records)))
    assert codes(again) == ["mx.null-mx", "mx.locked-down"] and again.fixes == []


def test_null_mx_with_weak_dmarc_suggests_replacing_it(dns_server: DnsTestServer) -> None:
    zone = ('$TTL 300\n@ IN MX 0 .\n@ IN TXT "v=spf1 -all"\n_dmarc IN TXT "v=DMARC1; p=none; rua=mailto:d@example.com"\n'
            '*._domainkey IN TXT "v=DKIM1; p="\n')
    r = check(dns_server, zone)
    assert codes(r) == ["mx.null-mx", "mx.lockdown-incomplete", "mx.lockdown-dmarc"]
    fix = r.findings[2].fix
    assert fix is not None and (fix.host, fix.value, fix.action) == ("_dmarc.example.com", "v=DMARC1; p=reject;", "replace")
    assert codes(check(dns_server, apply_fixes(zone, [fix]))) == ["mx.null-mx", "mx.locked-down"]


def test_spf_reject_all_without_mx_suggests_the_rest(dns_server: DnsTestServer) -> None:
    r = check(dns_server, '$TTL 300\n@ IN TXT "v=spf1 -all"\n')
    assert r.status is Status.INFO
    assert codes(r) == ["mx.lockdown-incomplete", "mx.lockdown-dmarc", "mx.lockdown-null-mx", "mx.lockdown-dkim"]


def test_null_mx_on_a_sending_domain_warns_and_gets_no_lockdown_advice(dns_server: DnsTestServer) -> None:
    # RFC 7505 §4.2: mail from a domain with a null MX is likely to be rejected; the user must pick one of
    # the two (real MX, or SPF -all), so there is no record to paste, and no lockdown kit either.
    r = check(dns_server, '$TTL 300\n@ IN MX 0 .\n@ IN TXT "v=spf1 include:_spf.example.net -all"\n')
    assert r.status is Status.WARN and codes(r) == ["mx.null-mx", "mx.null-mx-with-senders"] and r.fixes == []
    assert r.detail["parked"] is False


def test_lockdown_lookup_timeout_is_reported_not_guessed(dns_server: DnsTestServer) -> None:
    dns_server.timeout_names.add("_dmarc.example.com")
    r = check(dns_server, '$TTL 300\n@ IN MX 0 .\n@ IN TXT "v=spf1 -all"\n*._domainkey IN TXT "v=DKIM1; p="\n',
              timeout=0.5)
    assert codes(r) == ["mx.null-mx", "mx.lockdown-unchecked"] and r.fixes == []


def test_spf_lookup_failure_on_domain_without_mx(dns_server: DnsTestServer) -> None:
    dns_server.servfail_names.add("example.com/TXT")
    r = check(dns_server, "$TTL 300\n@ IN A 192.0.2.80\n")
    assert codes(r) == ["mx.implicit", "mx.spf-unchecked"] and r.detail["parked"] is False


def test_shared_client_asks_the_domain_txt_once(dns_server: DnsTestServer) -> None:
    dns_server.replace_zone(D, PARKED)

    async def go() -> int:
        ctx = make_ctx(dns_server, D)
        await mx.check(ctx)
        await dkim.check(ctx)
        return sum(1 for q in ctx.dns.log if q.name == D and q.rdtype in ("TXT", "MX"))

    assert run(go()) == 2


# -- the parser -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "pref", "host", "null"), [
    ("10 mx.example.com.", 10, "mx.example.com", False), ("0 .", 0, ".", True),
    ("5 MX.Example.COM", 5, "mx.example.com", False),
])
def test_parse_mx(text: str, pref: int, host: str, null: bool) -> None:
    rec = parse_mx(text)
    assert (rec.preference, rec.host, rec.null) == (pref, host, null)


@pytest.mark.parametrize("text", ["", "10", "x mx.example.com.", "70000 mx.", "10 a..b", "1 2 3", "١ mx."])
def test_parse_mx_errors(text: str) -> None:
    with pytest.raises(MxParseError):
        parse_mx(text)


def test_helpers() -> None:
    assert spf_records(("v=spf1 -all", "v=spf10 x", "google-site-verification=1", "V=SPF1")) == ["v=spf1 -all", "V=SPF1"]
    assert posture.is_reject_all_spf("V=SPF1   -ALL") and not posture.is_reject_all_spf("v=spf1 ~all")
    assert unreachable_address("10.0.0.1") and unreachable_address("::ffff:192.168.1.1")
    assert unreachable_address("fe80::1") and not unreachable_address("192.0.2.1")
    assert not unreachable_address("8.8.8.8") and not unreachable_address("not an ip")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80) | st.from_regex(r"[0-9]{1,6} [a-z0-9.\-]{0,20}", fullmatch=True))
def test_parse_mx_never_raises_anything_else(text: str) -> None:
    try:
        rec = parse_mx(text)
        assert rec.text
    except MxParseError:
        pass
    posture.is_reject_all_spf(text)
    spf_records([text])
    unreachable_address(text)
