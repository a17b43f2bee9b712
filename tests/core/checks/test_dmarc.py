"""The DMARC check against the loopback DNS server: one zone per finding, and every suggested record
is published and checked again."""

from __future__ import annotations

import json

import pytest

from inboxready.core.records.dmarc_build import build_record
from inboxready.core.checks.dmarc import check
from inboxready.core.records.dmarc_walk import walk_names
from inboxready.core.records.dmarc_parse import parse_dmarc
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import CheckResult, Fix, Severity, Status

from ...conftest import make_ctx, run

TTL = "$TTL 300\n"
HOST = "www IN A 192.0.2.10\n@ IN MX 10 mx.example.net.\n"  # example.com receives mail (and has more than _dmarc)


def serve(server: DnsTestServer, **zones: str) -> None:
    """Load zones (keyword = origin with '_' for '.') and declare the TLDs, so that the tree walk's
    ``_dmarc.com`` is a real NXDOMAIN (as on the internet) rather than a refusal."""
    for tld in ("com", "net", "org"):
        server.add_origin(tld)
    for origin, text in zones.items():
        server.add_zone(origin.replace("_", "."), TTL + text)


def dmarc(server: DnsTestServer, domain: str = "example.com", **opts: object) -> CheckResult:
    async def go() -> CheckResult:
        return await check(make_ctx(server, domain, **opts))
    return run(go())


def republish(server: DnsTestServer, origin: str, zone: str, fix: Fix, domain: str = "example.com") -> CheckResult:
    """Replace ``origin``'s zone by ``zone`` plus the fix's own zone line, and check again."""
    server.replace_zone(origin, TTL + zone + "\n" + fix.zone_line + "\n")
    return dmarc(server, domain)


def codes(r: CheckResult) -> set[str]:
    return {f.code for f in r.findings}


def finding(r: CheckResult, code: str):  # type: ignore[no-untyped-def]
    found = [f for f in r.findings if f.code == code]
    assert found, f"{code} not in {sorted(codes(r))}"
    return found[0]


def record_fix(r: CheckResult, host: str = "_dmarc.example.com") -> Fix:
    fixes = [f for f in r.fixes if f.host == host and f.action != "remove"]
    assert len(fixes) == 1, r.fixes
    return fixes[0]


def errors(r: CheckResult) -> list[str]:
    return [f.code for f in r.findings if f.severity in (Severity.ERROR, Severity.UNKNOWN)]


# -- no record, and the ladder ----------------------------------------------------------------------


def test_no_record_fails_with_starter_record_that_then_checks_as_monitoring(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST)
    r = dmarc(dns_server)
    assert r.status is Status.FAIL
    assert "dmarc.no-record" in codes(r)
    assert r.detail["stage"] == "none" and r.detail["record"] is None and r.detail["policy"] is None
    fix = record_fix(r)
    assert fix.value == "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com"
    assert fix.action == "publish" and fix.type == "TXT"
    assert "dmarc-reports@example.com" in fix.note and "mailbox" in fix.note
    assert r.detail["next_record"] == {"host": "_dmarc.example.com", "type": "TXT", "value": fix.value}
    assert r.detail["organizational_domain"] == "example.com"
    again = republish(dns_server, "example.com", HOST, fix)
    assert again.status is Status.WARN and not errors(again)
    assert again.detail["stage"] == "monitoring" and again.detail["policy"] == "none"
    json.dumps(again.to_json())


def test_monitoring_warns_and_suggests_quarantine_keeping_tags(dns_server: DnsTestServer) -> None:
    rec = "v=DMARC1; p=none; rua=mailto:d@example.com; adkim=s; sp=none; fo=1; ruf=mailto:f@example.com"
    serve(dns_server, example_com=HOST + f'_dmarc IN TXT "{rec}"\n')
    r = dmarc(dns_server)
    assert r.status is Status.WARN
    f = finding(r, "dmarc.policy-none")
    assert f.severity is Severity.WARNING and f.fix is not None
    assert f.fix.value == ("v=DMARC1; p=quarantine; sp=none; adkim=s; rua=mailto:d@example.com; "
                           "ruf=mailto:f@example.com; fo=1")
    assert f.fix.action == "replace"
    assert r.detail["stage"] == "monitoring" and r.detail["rua"] == ["mailto:d@example.com"]
    assert r.detail["tags"]["adkim"] == "s" and r.detail["found_at"] == "_dmarc.example.com"
    again = republish(dns_server, "example.com", HOST, f.fix)
    assert again.detail["stage"] == "quarantine" and not errors(again)


def test_quarantine_passes_and_suggests_reject_then_reject_passes_with_nothing_left(
        dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server)
    assert r.status is Status.PASS and r.detail["stage"] == "quarantine"
    f = finding(r, "dmarc.policy-quarantine")
    assert f.severity is Severity.INFO and f.fix is not None
    assert f.fix.value == "v=DMARC1; p=reject; rua=mailto:d@example.com"
    again = republish(dns_server, "example.com", HOST, f.fix)
    assert again.status is Status.PASS and again.detail["stage"] == "reject"
    assert again.detail["next_record"] is None and again.fixes == []
    assert again.detail["subdomain_policy"] == "reject" and again.detail["np"] == "reject"
    assert "dmarc.policy-reject" in codes(again)


def test_monitoring_without_rua_first_adds_reports(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=none"\n')
    r = dmarc(dns_server)
    assert {"dmarc.no-rua", "dmarc.policy-none"} <= codes(r)
    fix = record_fix(r)
    assert fix.value == "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com"
    assert "few weeks" in fix.note
    again = republish(dns_server, "example.com", HOST, fix)
    assert "dmarc.no-rua" not in codes(again) and again.detail["stage"] == "monitoring"


def test_reject_without_rua_warns_and_fix_adds_reports(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=reject"\n')
    r = dmarc(dns_server)
    assert r.status is Status.WARN
    f = finding(r, "dmarc.no-rua")
    assert "can't see who sends" in f.message
    assert record_fix(r).value == "v=DMARC1; p=reject; rua=mailto:dmarc-reports@example.com"
    again = republish(dns_server, "example.com", HOST, record_fix(r))
    assert again.status is Status.PASS and again.fixes == []


# -- test mode and the historic tags ----------------------------------------------------------------


def test_quarantine_in_test_mode_warns_and_next_drops_t(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=quarantine; t=y; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server)
    assert r.status is Status.WARN and r.detail["testing"] is True and r.detail["stage"] == "quarantine"
    f = finding(r, "dmarc.testing-mode")
    assert f.severity is Severity.WARNING and f.fix is not None
    assert f.fix.value == "v=DMARC1; p=quarantine; rua=mailto:d@example.com"
    again = republish(dns_server, "example.com", HOST, f.fix)
    assert again.status is Status.PASS and again.detail["testing"] is False


def test_reject_in_test_mode_is_info_and_next_drops_t(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=reject; t=y; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server)
    assert r.status is Status.PASS and r.detail["testing"] is True
    assert finding(r, "dmarc.testing-mode").severity is Severity.INFO
    assert record_fix(r).value == "v=DMARC1; p=reject; rua=mailto:d@example.com"


def test_pct_rollout_is_explained_as_historic_and_dropped(dns_server: DnsTestServer) -> None:
    rec = "v=DMARC1; p=quarantine; pct=25; rua=mailto:d@example.com"
    serve(dns_server, example_com=HOST + f'_dmarc IN TXT "{rec}"\n')
    r = dmarc(dns_server)
    assert r.status is Status.WARN
    f = finding(r, "dmarc.historic-tag")
    assert f.severity is Severity.WARNING
    assert "25%" in f.message and "RFC 9989" in f.message and "t=y" in f.message
    fix = record_fix(r)
    assert fix.value == "v=DMARC1; p=quarantine; rua=mailto:d@example.com"  # full quarantine first
    assert "pct" in fix.note
    again = republish(dns_server, "example.com", HOST, fix)
    assert again.status is Status.PASS and "dmarc.historic-tag" not in codes(again)
    assert record_fix(again).value == "v=DMARC1; p=reject; rua=mailto:d@example.com"


def test_pct_zero_points_to_t_y(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=reject; pct=0; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server)
    f = finding(r, "dmarc.historic-tag")
    assert "pct=0" in f.message and "t=y" in f.message and f.rfc.endswith("Appendix A.6")
    # the trial is kept in RFC 9989's form, not dropped: pct=0 becomes t=y ...
    fix = record_fix(r)
    assert fix.value == "v=DMARC1; p=reject; t=y; rua=mailto:d@example.com"
    assert "pct=0" in fix.note and "t=y" in fix.note
    again = republish(dns_server, "example.com", HOST, fix)
    assert again.detail["testing"] is True and "dmarc.historic-tag" not in codes(again)
    # ... and the step after that drops t=y
    assert record_fix(again).value == "v=DMARC1; p=reject; rua=mailto:d@example.com"


def test_rf_ri_and_pct_100_are_harmless_info_but_tidied_at_the_last_stage(dns_server: DnsTestServer) -> None:
    rec = "v=DMARC1; p=reject; rua=mailto:d@example.com; pct=100; rf=afrf; ri=86400"
    serve(dns_server, example_com=HOST + f'_dmarc IN TXT "{rec}"\n')
    r = dmarc(dns_server)
    hist = [f for f in r.findings if f.code == "dmarc.historic-tag"]
    assert len(hist) == 3 and all(f.severity is Severity.INFO for f in hist)
    assert r.status is Status.PASS
    fix = record_fix(r)
    assert fix.value == "v=DMARC1; p=reject; rua=mailto:d@example.com"
    assert "pct, rf, ri are left out" in fix.note


# -- broken or misplaced records --------------------------------------------------------------------


def test_multiple_records_count_as_none(dns_server: DnsTestServer) -> None:
    zone = HOST + ('_dmarc IN TXT "v=DMARC1; p=none; rua=mailto:d@example.com"\n'
                   '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"\n')
    serve(dns_server, example_com=zone)
    r = dmarc(dns_server)
    assert r.status is Status.FAIL and r.detail["record"] is None and r.detail["stage"] == "none"
    f = finding(r, "dmarc.multiple-records")
    assert f.fix is not None and f.fix.action == "replace"
    assert f.fix.value == "v=DMARC1; p=none; rua=mailto:d@example.com"
    assert "Delete the other" in f.fix.note and "p=reject" in f.fix.note
    assert len(r.records) == 2
    again = republish(dns_server, "example.com", HOST, f.fix)
    assert not errors(again) and again.detail["stage"] == "monitoring"


def test_record_at_the_apex_instead_of_dmarc(dns_server: DnsTestServer) -> None:
    zone = '@ IN TXT "v=spf1 -all"\n' + HOST
    serve(dns_server, example_com=zone + '@ IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server)
    assert r.status is Status.FAIL
    f = finding(r, "dmarc.record-at-apex")
    assert f.severity is Severity.ERROR and f.fix is not None
    assert f.fix.host == "_dmarc.example.com" and f.fix.value == "v=DMARC1; p=quarantine; rua=mailto:d@example.com"
    # one fix moves it: the record at _dmarc and, with it, the copy at the domain deleted (issue 12 item 11)
    assert finding(r, "dmarc.apex-copy").fix is f.fix
    (removal,) = f.fix.also_publish
    assert removal.action == "remove" and removal.host == "example.com"
    again = republish(dns_server, "example.com", zone, f.fix)  # moved, apex copy deleted
    assert again.status is Status.PASS and again.detail["stage"] == "quarantine"


def test_stray_apex_copy_next_to_a_real_record_is_info(dns_server: DnsTestServer) -> None:
    zone = HOST + ('@ IN TXT "v=DMARC1; p=none"\n'
                   '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"\n')
    serve(dns_server, example_com=zone)
    r = dmarc(dns_server)
    assert r.status is Status.PASS
    f = finding(r, "dmarc.apex-copy")
    assert f.severity is Severity.INFO and f.fix is not None and f.fix.action == "remove"


def test_spf_record_at_dmarc_name(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=spf1 include:example.net -all"\n')
    r = dmarc(dns_server)
    assert r.status is Status.FAIL and "dmarc.no-record" in codes(r)
    assert "SPF record" in finding(r, "dmarc.unrelated-txt").message


def test_broken_version_makes_receivers_ignore_the_record(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1 p=reject; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server)
    assert r.status is Status.FAIL and r.detail["record"] is None
    f = finding(r, "dmarc.invalid-record")
    assert "';' is missing" in f.message and f.fix is not None and f.fix.action == "replace"
    # The repair keeps what the owner wrote (policy and report address), and warns that the policy was
    # never applied while the record was broken.
    assert f.fix.value == "v=DMARC1; p=reject; rua=mailto:d@example.com"
    assert "never been applied" in f.fix.note
    again = republish(dns_server, "example.com", HOST, f.fix)
    assert again.status is Status.PASS and again.detail["stage"] == "reject"


def test_invalid_p_with_rua_is_read_as_none_and_fails(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=rejcet; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server)
    assert r.status is Status.FAIL and r.detail["policy"] == "none" and r.detail["stage"] == "monitoring"
    f = finding(r, "dmarc.invalid-policy")
    assert "p=none" in f.message and f.fix is not None
    assert f.fix.value == "v=DMARC1; p=none; rua=mailto:d@example.com"
    assert "couldn't tell which policy" in f.fix.note
    again = republish(dns_server, "example.com", HOST, f.fix)
    assert not errors(again) and again.status is Status.WARN


def test_invalid_sp_downgrades_the_whole_record_and_fix_keeps_p(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=reject; sp=never; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server)
    assert r.status is Status.FAIL and r.detail["policy"] == "none"
    f = finding(r, "dmarc.invalid-policy")
    assert "sp=never" in f.message and "whole record as p=none" in f.message
    fix = record_fix(r)
    assert fix.value == "v=DMARC1; p=reject; rua=mailto:d@example.com" and "sp" in fix.note
    again = republish(dns_server, "example.com", HOST, fix)
    assert again.status is Status.PASS and again.detail["stage"] == "reject"


def test_no_policy_and_no_rua_means_no_dmarc_at_all(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; adkim=s"\n')
    r = dmarc(dns_server)
    assert r.status is Status.FAIL and r.detail["policy"] is None and r.detail["stage"] == "none"
    assert r.detail["record"] == "v=DMARC1; adkim=s"
    f = finding(r, "dmarc.no-policy")
    assert f.fix is not None and f.fix.value == "v=DMARC1; p=none; adkim=s; rua=mailto:dmarc-reports@example.com"
    again = republish(dns_server, "example.com", HOST, f.fix)
    assert not errors(again) and again.detail["stage"] == "monitoring"


def test_missing_p_with_rua_is_monitoring_with_a_warning(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server)
    assert r.status is Status.WARN and r.detail["policy"] == "none"
    assert finding(r, "dmarc.p-missing").severity is Severity.WARNING
    fix = record_fix(r)
    assert fix.value == "v=DMARC1; p=none; rua=mailto:d@example.com" and "RFC 7489" in fix.note
    again = republish(dns_server, "example.com", HOST, fix)
    assert "dmarc.p-missing" not in codes(again)
    assert record_fix(again).value == "v=DMARC1; p=quarantine; rua=mailto:d@example.com"


def test_bad_tag_value_fails_and_fix_drops_it(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=quarantine; adkim=x; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server)
    assert r.status is Status.FAIL and r.detail["policy"] == "quarantine"
    f = finding(r, "dmarc.invalid-value")
    assert "adkim=x" in f.message and f.fix is not None
    assert f.fix.value == "v=DMARC1; p=quarantine; rua=mailto:d@example.com" and "adkim" in f.fix.note
    assert republish(dns_server, "example.com", HOST, f.fix).status is Status.PASS


def test_duplicate_tag_fails(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=reject; p=none; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server)
    assert r.status is Status.FAIL and "dmarc.duplicate-tag" in codes(r)
    assert record_fix(r).value == "v=DMARC1; p=reject; rua=mailto:d@example.com"


@pytest.mark.parametrize("record", [
    "v=DMARC1; p=reject; rua=mailto:d@example.com;;",
    "v=DMARC1;; p=reject; rua=mailto:d@example.com",
    "v=DMARC1; p=reject; ; rua=mailto:d@example.com; ",
    "v=DMARC1; p=reject; DMARC; rua=mailto:d@example.com",
    "v=DMARC1; p=reject; adkim=relaxed; rua=mailto:d@example.com",
    "v=DMARC1; p=reject; t=no; fo=2; rua=mailto:d@example.com",
])
def test_a_slip_receivers_tolerate_is_a_warning_with_a_tidy_record(dns_server: DnsTestServer, record: str) -> None:
    """Issue 12 #4: ';;' and other slips receivers read past are a warning (never a red card that also says
    "fully enforced"), and the fix is the same record without the slip, which checks clean."""
    serve(dns_server, example_com=HOST + f'_dmarc IN TXT "{record}"\n')
    r = dmarc(dns_server)
    assert r.status is Status.WARN, r.to_json()
    assert not [f for f in r.findings if f.severity is Severity.ERROR]
    assert r.summary == "DMARC is fully enforced: failing mail is rejected (p=reject)."
    slips = [f for f in r.findings if f.severity is Severity.WARNING]
    assert slips and all(f.fix is not None for f in slips)
    fix = record_fix(r)
    assert fix.action == "replace" and ";;" not in fix.value and "; ;" not in fix.value
    assert parse_dmarc(fix.value).p == "reject" and [u.uri for u in parse_dmarc(fix.value).rua] == ["mailto:d@example.com"]
    again = republish(dns_server, "example.com", HOST, fix)
    assert again.status is Status.PASS, again.to_json()
    assert again.detail["policy"] == "reject" and not again.findings[1:]


@pytest.mark.parametrize("record, code", [
    ("v=DMARC1; p=reject; rua mailto:d@example.com", "dmarc.syntax-error"),  # the reports are lost
    ("v=DMARC1; p=reject; t=yes; rua=mailto:d@example.com", "dmarc.invalid-value"),  # meant test mode
    ("v=DMARC1; p=reject; aspf=strict; rua=mailto:d@example.com", "dmarc.invalid-value"),  # meant strict
])
def test_a_slip_that_loses_what_the_owner_meant_still_fails(dns_server: DnsTestServer, record: str, code: str) -> None:
    serve(dns_server, example_com=HOST + f'_dmarc IN TXT "{record}"\n')
    r = dmarc(dns_server)
    assert r.status is Status.FAIL and finding(r, code).severity is Severity.ERROR


def test_slip_next_to_a_real_mistake_gets_the_one_corrected_record(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1;; p=quarantine; adkim=x; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server)
    assert r.status is Status.FAIL
    slip, bad = finding(r, "dmarc.empty-entry"), finding(r, "dmarc.invalid-value")
    assert slip.severity is Severity.WARNING and slip.fix is not None and slip.fix == bad.fix
    assert record_fix(r).value == "v=DMARC1; p=quarantine; rua=mailto:d@example.com"


def test_slip_in_an_inherited_record_is_tidied_where_it_lives(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=reject;; rua=mailto:d@example.com"\n'
          + "shop IN A 192.0.2.11\n")
    r = dmarc(dns_server, "shop.example.com")
    assert r.status is Status.WARN
    fix = finding(r, "dmarc.empty-entry").fix
    assert fix is not None and fix.host == "_dmarc.example.com" and "shop.example.com follows" in fix.note
    assert fix.value == "v=DMARC1; p=reject; rua=mailto:d@example.com"


def test_rua_without_mailto_warns_and_the_fix_adds_mailto(dns_server: DnsTestServer) -> None:
    # Receivers skip an address they can't read and still apply p=reject: a warning, as a missing rua is
    # (review M8); the fix keeps the owner's address and puts mailto: in front of it.
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=reject; rua=reports@example.com"\n')
    r = dmarc(dns_server)
    assert r.status is Status.WARN and r.detail["policy"] == "reject"
    f = finding(r, "dmarc.invalid-uri")
    assert f.severity is Severity.WARNING and "mailto:reports@example.com" in f.message
    assert "dmarc.no-rua" not in codes(r)
    fix = record_fix(r)
    assert fix.value == "v=DMARC1; p=reject; rua=mailto:reports@example.com"
    assert "dmarc-reports" not in fix.value and "mailto: is put in front of reports@example.com" in fix.note
    again = republish(dns_server, "example.com", HOST, fix)
    assert again.status is Status.PASS and not errors(again)


def test_unreadable_rua_uri_warns_and_is_left_out(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=reject; rua=__mailto:reports@example.com"\n')
    r = dmarc(dns_server)
    assert r.status is Status.WARN
    fix = record_fix(r)
    assert fix.value == "v=DMARC1; p=reject; rua=mailto:dmarc-reports@example.com"
    assert "Invalid report addresses left out: __mailto:reports@example.com" in fix.note


def test_p_not_second_warns_and_fix_reorders(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; rua=mailto:d@example.com; p=reject"\n')
    r = dmarc(dns_server)
    assert r.status is Status.WARN and r.detail["policy"] == "reject"
    f = finding(r, "dmarc.p-not-second")
    assert "RFC 7489" in f.message
    fix = record_fix(r)
    assert fix.value == "v=DMARC1; p=reject; rua=mailto:d@example.com"
    assert republish(dns_server, "example.com", HOST, fix).status is Status.PASS


def test_unknown_tag_is_info_and_dropped_from_the_suggestion(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=quarantine; rue=mailto:d@example.com; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server)
    f = finding(r, "dmarc.unknown-tag")
    assert f.severity is Severity.INFO and "rue" in f.message
    fix = record_fix(r)
    assert fix.value == "v=DMARC1; p=reject; rua=mailto:d@example.com" and "rue" in fix.note


def test_record_split_over_several_strings_is_joined(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=rej" "ect; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server)
    assert r.status is Status.PASS and r.detail["policy"] == "reject"


def test_obsolete_size_limit_and_non_mailto(dns_server: DnsTestServer) -> None:
    rec = "v=DMARC1; p=reject; rua=mailto:d@example.com!10m,https://example.com/dmarc"
    serve(dns_server, example_com=HOST + f'_dmarc IN TXT "{rec}"\n')
    r = dmarc(dns_server)
    assert finding(r, "dmarc.size-limit-obsolete").severity is Severity.INFO
    assert finding(r, "dmarc.non-mailto-uri").severity is Severity.WARNING
    fix = record_fix(r)
    # the https: address the check warns about is not kept in the suggested record (issue 13)
    assert fix.value == "v=DMARC1; p=reject; rua=mailto:d@example.com"
    assert "!size" in fix.note and "not mailto:" in fix.note


# -- advice on tags ---------------------------------------------------------------------------------


def test_ruf_privacy_and_strict_alignment_are_info(dns_server: DnsTestServer) -> None:
    rec = "v=DMARC1; p=reject; adkim=s; aspf=s; rua=mailto:d@example.com; ruf=mailto:f@example.com"
    serve(dns_server, example_com=HOST + f'_dmarc IN TXT "{rec}"\n')
    r = dmarc(dns_server)
    assert r.status is Status.PASS
    assert finding(r, "dmarc.ruf-privacy").severity is Severity.INFO
    assert "adkim=s and aspf=s" in finding(r, "dmarc.strict-alignment").message
    assert r.detail["ruf"] == ["mailto:f@example.com"] and r.fixes == []


def test_fo_without_ruf_is_info(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=reject; fo=1; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server)
    assert r.status is Status.PASS and finding(r, "dmarc.fo-without-ruf").severity is Severity.INFO


def test_unprotected_made_up_subdomains_warn_and_fix_adds_np(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=reject; sp=none; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server)
    assert r.status is Status.WARN and r.detail["subdomain_policy"] == "none" and r.detail["np"] == "none"
    assert finding(r, "dmarc.np-weak").severity is Severity.WARNING
    assert finding(r, "dmarc.sp-weaker").severity is Severity.INFO
    fix = record_fix(r)
    assert fix.value == "v=DMARC1; p=reject; sp=none; np=reject; rua=mailto:d@example.com"
    again = republish(dns_server, "example.com", HOST, fix)
    assert again.status is Status.PASS and again.detail["np"] == "reject" and again.fixes == []


def test_psd_y_on_an_ordinary_domain_warns(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=reject; psd=y; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server)
    assert r.status is Status.WARN and "dmarc.psd-y" in codes(r)
    fix = record_fix(r)
    assert fix.value == "v=DMARC1; p=reject; rua=mailto:d@example.com"
    assert republish(dns_server, "example.com", HOST, fix).status is Status.PASS


# -- external report destinations -------------------------------------------------------------------


EXT = '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com,mailto:r@reports.example.net"\n'


def test_external_rua_without_authorisation_warns_with_fix_for_the_destination(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + EXT, example_net="www IN A 192.0.2.20\n")
    r = dmarc(dns_server)
    assert r.status is Status.WARN
    f = finding(r, "dmarc.external-unverified")
    assert f.fix is not None
    assert f.fix.host == "example.com._report._dmarc.reports.example.net"
    assert f.fix.type == "TXT" and f.fix.value == "v=DMARC1"
    assert r.detail["external_destinations"][0]["authorized"] is False
    dns_server.add_zone("example.net", TTL + f.fix.zone_line + "\n")
    again = dmarc(dns_server)
    assert again.status is Status.PASS and "dmarc.external-unverified" not in codes(again)
    assert again.detail["external_destinations"][0]["authorized"] is True


def test_external_rua_authorised_by_wildcard(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + EXT,
          example_net='*._report._dmarc.reports IN TXT "v=DMARC1;"\n')
    r = dmarc(dns_server)
    assert r.status is Status.PASS and "dmarc.external-unverified" not in codes(r)


def test_rua_inside_the_organisation_needs_no_authorisation(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@reports.example.com"\n')

    async def go() -> tuple[CheckResult, list[str]]:
        ctx = make_ctx(dns_server, "example.com")
        return await check(ctx), [q.name for q in ctx.dns.log]
    r, asked = run(go())
    assert r.status is Status.PASS and r.detail["external_destinations"] == []
    assert not any("_report._dmarc" in name for name in asked)


def test_external_check_timeout_is_couldnt_check(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + EXT, example_net="www IN A 192.0.2.20\n")
    dns_server.timeout_names.add("example.com._report._dmarc.reports.example.net")
    r = dmarc(dns_server, timeout=0.5)
    assert r.status is Status.ERROR
    assert finding(r, "dmarc.external-lookup-failed").severity is Severity.UNKNOWN


# -- DNS trouble ------------------------------------------------------------------------------------


def test_timeout_on_the_dmarc_name_is_couldnt_check_never_fail(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST)
    dns_server.timeout_names.add("_dmarc.example.com")
    r = dmarc(dns_server, timeout=0.5)
    assert r.status is Status.ERROR
    assert errors(r) == ["dmarc.lookup-failed"]
    assert "could not be checked" in r.summary and r.fixes == []


def test_servfail_up_the_tree_without_own_record_is_couldnt_check(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + "mail IN A 192.0.2.30\n")
    dns_server.servfail_names.add("_dmarc.example.com")
    r = dmarc(dns_server, "mail.example.com")
    assert r.status is Status.ERROR and "dmarc.lookup-failed" in codes(r)
    assert "_dmarc.example.com" in finding(r, "dmarc.lookup-failed").message


def test_a_parent_dmarc_lookup_timing_out_names_that_lookup(dns_server: DnsTestServer) -> None:
    """RFC 9989 §4.10.1: mail.example.com has no record of its own and the walk's next lookup, the record of
    example.com that would apply to it, times out: couldn't check, saying which lookup and what to do."""
    serve(dns_server, example_com=HOST + "mail IN A 192.0.2.30\n")
    dns_server.timeout_names.add("_dmarc.example.com")
    r = dmarc(dns_server, "mail.example.com", timeout=0.5)
    assert r.status is Status.ERROR and r.detail["stage"] == "unknown" and r.fixes == []
    assert r.summary == ("DMARC for mail.example.com could not be checked: the lookup of _dmarc.example.com failed "
                         "(try again later).")
    message = finding(r, "dmarc.lookup-failed").message
    assert message.startswith("mail.example.com has no DMARC record of its own, and the lookup higher up that "
                              "RFC 9989 asks for, _dmarc.example.com (the DMARC record of example.com, which "
                              "applies to mail.example.com when it has none of its own), failed: the DNS server "
                              "did not answer in time")
    assert "try again later" in message


def test_the_registrys_dmarc_name_timing_out_says_it_is_not_your_record(dns_server: DnsTestServer) -> None:
    """example.com has no record and _dmarc.com times out: the missing record is still the failure (it is the
    owner's to fix, and a registry's policy never replaces it); the note says which lookup failed, how, that
    it is not the owner's record, and to try again."""
    serve(dns_server, example_com=HOST)
    dns_server.timeout_names.add("_dmarc.com")
    r = dmarc(dns_server, timeout=0.5)
    assert r.status is Status.FAIL and "dmarc.no-record" in errors(r)
    note = finding(r, "dmarc.walk-incomplete")
    assert note.severity is Severity.INFO
    assert ("the lookup of _dmarc.com failed: the DNS server did not answer in time" in note.message
            and "not a record of yours" in note.message and "try again later" in note.message)


def test_servfail_above_an_own_record_does_not_hide_the_verdict(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"\n')
    dns_server.servfail_names.add("_dmarc.com")
    r = dmarc(dns_server)
    assert r.status is Status.PASS and r.detail["policy"] == "reject"
    assert finding(r, "dmarc.walk-incomplete").severity is Severity.INFO


# -- subdomains, the tree walk and the organisational domain ----------------------------------------


ORG = HOST + "shop IN A 192.0.2.40\n"


def test_subdomain_inherits_sp_from_the_organisational_domain(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=ORG + '_dmarc IN TXT "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server, "shop.example.com")
    assert r.status is Status.PASS
    d = r.detail
    assert d["policy"] == "quarantine" and d["stage"] == "quarantine" and d["inherited"] is True
    assert d["policy_domain"] == "example.com" and d["found_at"] == "_dmarc.example.com"
    assert d["organizational_domain"] == "example.com"
    assert "sp (the subdomain policy)" in finding(r, "dmarc.inherited").message
    fix = record_fix(r, "_dmarc.shop.example.com")
    assert fix.value == "v=DMARC1; p=reject; rua=mailto:d@example.com"
    zone = ORG + '_dmarc IN TXT "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com"\n'
    again = republish(dns_server, "example.com", zone, fix, "shop.example.com")
    assert again.status is Status.PASS and again.detail["inherited"] is False
    assert again.detail["stage"] == "reject" and again.detail["organizational_domain"] == "example.com"
    assert not errors(again) and again.fixes == []


def test_subdomain_with_weak_sp_gets_its_own_record(dns_server: DnsTestServer) -> None:
    zone = ORG + '_dmarc IN TXT "v=DMARC1; p=reject; sp=none; np=reject; rua=mailto:d@example.com"\n'
    serve(dns_server, example_com=zone)
    r = dmarc(dns_server, "shop.example.com")
    assert r.status is Status.WARN and r.detail["policy"] == "none"
    fix = record_fix(r, "_dmarc.shop.example.com")
    assert fix.value == "v=DMARC1; p=quarantine; rua=mailto:d@example.com"
    assert "sp=" in fix.note
    again = republish(dns_server, "example.com", zone, fix, "shop.example.com")
    assert again.status is Status.PASS and again.detail["stage"] == "quarantine"


def test_non_existent_subdomain_gets_np(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=ORG + '_dmarc IN TXT "v=DMARC1; p=reject; sp=none; np=quarantine; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server, "ghost.example.com")
    assert r.detail["policy"] == "quarantine" and r.detail["inherited"] is True
    assert "np (the policy for subdomains that don't exist)" in finding(r, "dmarc.inherited").message


def test_existence_unknown_when_sp_and_np_differ_is_couldnt_check(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=ORG + '_dmarc IN TXT "v=DMARC1; p=reject; sp=none; np=quarantine; rua=mailto:d@example.com"\n')
    dns_server.timeout_names.add("ghost.example.com/MX")
    r = dmarc(dns_server, "ghost.example.com", timeout=0.5)
    assert r.status is Status.ERROR and "dmarc.lookup-failed" in codes(r)


def test_broken_record_of_the_organisation_is_fixed_there(dns_server: DnsTestServer) -> None:
    zone = ORG + '_dmarc IN TXT "v=DMARC1; p=reject; adkim=q; rua=mailto:d@example.com"\n'
    serve(dns_server, example_com=zone)
    r = dmarc(dns_server, "shop.example.com")
    assert r.status is Status.FAIL
    fix = record_fix(r, "_dmarc.example.com")
    assert fix.value == "v=DMARC1; p=reject; rua=mailto:d@example.com" and "example.com" in fix.note
    server_zone = ORG  # the fix replaces the broken record
    again = republish(dns_server, "example.com", server_zone, fix, "shop.example.com")
    assert again.status is Status.PASS and not errors(again)


def test_intermediate_record_is_not_used_for_a_deeper_name(dns_server: DnsTestServer) -> None:
    zone = (ORG + "a.mail IN A 192.0.2.50\n"
            '_dmarc.mail IN TXT "v=DMARC1; p=none; rua=mailto:d@example.com"\n'
            '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"\n')
    serve(dns_server, example_com=zone)
    r = dmarc(dns_server, "a.mail.example.com")
    d = r.detail
    assert d["organizational_domain"] == "example.com" and d["policy_domain"] == "example.com"
    assert d["policy"] == "reject"
    assert "_dmarc.mail.example.com" in finding(r, "dmarc.intermediate-ignored").message
    assert [s["name"] for s in d["walk"]] == ["_dmarc.a.mail.example.com", "_dmarc.mail.example.com",
                                             "_dmarc.example.com", "_dmarc.com"]


def test_psd_n_makes_a_subdomain_its_own_organisational_domain(dns_server: DnsTestServer) -> None:
    zone = (ORG + "a.mail IN A 192.0.2.50\n"
            '_dmarc.mail IN TXT "v=DMARC1; p=quarantine; psd=n; rua=mailto:d@example.com"\n'
            '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"\n')
    serve(dns_server, example_com=zone)
    r = dmarc(dns_server, "a.mail.example.com")
    d = r.detail
    assert d["organizational_domain"] == "mail.example.com" and d["policy_domain"] == "mail.example.com"
    assert d["policy"] == "quarantine"
    assert [s["name"] for s in d["walk"]] == ["_dmarc.a.mail.example.com", "_dmarc.mail.example.com"]


def test_own_subdomain_record_sp_is_ignored_under_rfc_9989(dns_server: DnsTestServer) -> None:
    zone = (ORG + '_dmarc.shop IN TXT "v=DMARC1; p=reject; sp=none; rua=mailto:d@example.com"\n'
            '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"\n')
    serve(dns_server, example_com=zone)
    r = dmarc(dns_server, "shop.example.com")
    assert r.detail["organizational_domain"] == "example.com" and r.detail["subdomain_policy"] == "reject"
    assert "example.com decides" in finding(r, "dmarc.sp-ignored").message


def test_subdomain_without_parent_record_is_its_own_organisation_for_reports(dns_server: DnsTestServer) -> None:
    # No record at example.com: shop.example.com is its own organisational domain (RFC 9989), so reports to
    # example.com are external and must be authorised.
    serve(dns_server, example_com=ORG + '_dmarc.shop IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server, "shop.example.com")
    assert r.detail["organizational_domain"] == "shop.example.com"
    f = finding(r, "dmarc.external-unverified")
    assert f.fix is not None and f.fix.host == "shop.example.com._report._dmarc.example.com"
    zone = ORG + '_dmarc.shop IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"\n'
    again = republish(dns_server, "example.com", zone, f.fix, "shop.example.com")
    assert again.status is Status.PASS


def test_policy_from_a_public_suffix_operator(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("com", TTL + '_dmarc IN TXT "v=DMARC1; p=reject; psd=y"\n')
    serve(dns_server, example_com=HOST)
    r = dmarc(dns_server)
    assert r.status is Status.WARN
    d = r.detail
    assert d["policy"] == "reject" and d["policy_domain"] == "com" and d["organizational_domain"] == "example.com"
    f = finding(r, "dmarc.psd-policy")
    assert f.fix is not None and f.fix.host == "_dmarc.example.com"
    assert f.fix.value == "v=DMARC1; p=reject; rua=mailto:dmarc-reports@example.com"
    again = republish(dns_server, "example.com", HOST, f.fix)
    assert again.status is Status.PASS and again.detail["policy_domain"] == "example.com"


def test_long_names_walk_at_most_eight_queries() -> None:
    names = walk_names("a.b.c.d.e.f.g.h.i.j.mail.example.com")
    assert names == ["a.b.c.d.e.f.g.h.i.j.mail.example.com", "g.h.i.j.mail.example.com", "h.i.j.mail.example.com",
                     "i.j.mail.example.com", "j.mail.example.com", "mail.example.com", "example.com", "com"]
    assert walk_names("a.b.c.d.e.f.g.example") == ["a.b.c.d.e.f.g.example", "b.c.d.e.f.g.example",
                                                   "c.d.e.f.g.example", "d.e.f.g.example", "e.f.g.example",
                                                   "f.g.example", "g.example", "example"]
    assert walk_names("example.com") == ["example.com", "com"]
    assert walk_names("") == []


def test_long_name_walk_on_the_wire(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"\n')
    domain = "a.b.c.d.e.f.g.h.i.j.mail.example.com"

    async def go() -> tuple[CheckResult, list[str]]:
        ctx = make_ctx(dns_server, domain)
        res = await check(ctx)
        return res, [q.name for q in ctx.dns.log if q.name.startswith("_dmarc.")]
    r, asked = run(go())
    walk = [n for n in asked if n.count("example.com") <= 1]  # not where a lost record may be (doubled names)
    assert walk == [f"_dmarc.{n}" for n in walk_names(domain)] and len(walk) == 8
    assert r.detail["policy"] == "reject" and r.detail["inherited"] is True


def test_record_reached_through_a_cname_is_fine_and_explained(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=HOST + "_dmarc IN CNAME example-com.dmarc.example.net.\n",
          example_net='example-com.dmarc IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@example.com"\n')
    r = dmarc(dns_server)
    assert r.status is Status.PASS and r.detail["policy"] == "quarantine"
    assert "example-com.dmarc.example.net" in finding(r, "dmarc.via-cname").message
    fix = record_fix(r)
    assert "alias (CNAME)" in fix.note


# -- the record builder -----------------------------------------------------------------------------


def test_build_record_output_always_parses_clean() -> None:
    base = parse_dmarc("v=DMARC1; sp=none; p=none; pct=10; rf=afrf; ri=3600; zz=1; adkim=s; aspf=r; "
                       "rua=mailto:a@example.com!5m; ruf=mailto:f@example.com; fo=0:1:d; psd=y; np=bogus")
    for p in ("none", "quarantine", "reject"):
        value, notes = build_record("example.com", p, base, testing=p != "none")
        rec = parse_dmarc(value)
        assert rec.valid and not rec.warnings, (value, rec.problems)
        assert rec.p == p and rec.sp == "none" and rec.adkim == "s" and rec.fo == ["1", "d"]
        assert rec.psd is None and rec.historic == {} and rec.unknown == {}
        assert any("pct, rf, ri" in n for n in notes) and any("zz" in n for n in notes)


def test_two_records_on_a_subdomain_fail_even_though_the_parent_policy_applies(dns_server: DnsTestServer) -> None:
    zone = ORG + ('_dmarc.shop IN TXT "v=DMARC1; p=none; rua=mailto:d@example.com"\n'
                  '_dmarc.shop IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@example.com"\n'
                  '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"\n')
    serve(dns_server, example_com=zone)
    r = dmarc(dns_server, "shop.example.com")
    assert r.status is Status.FAIL and r.detail["policy"] == "reject" and r.detail["inherited"] is True
    f = finding(r, "dmarc.multiple-records")
    assert f.fix is not None and f.fix.host == "_dmarc.shop.example.com"
    assert f.fix.value == "v=DMARC1; p=reject; rua=mailto:d@example.com"  # not weaker than what applies now
    assert "keeps it" in f.fix.note
    base = ORG + '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"\n'
    again = republish(dns_server, "example.com", base, f.fix, "shop.example.com")
    assert again.status is Status.PASS and again.detail["inherited"] is False and again.detail["policy"] == "reject"


def test_failed_tld_lookup_does_not_hide_a_missing_record(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("example.com", TTL + HOST)  # no "com" zone: _dmarc.com is refused (SERVFAIL)
    r = dmarc(dns_server)
    assert r.status is Status.FAIL and "dmarc.no-record" in codes(r)
    f = finding(r, "dmarc.walk-incomplete")
    assert f.severity is Severity.INFO and "registry of .com" in f.message


def test_tidying_an_inherited_record_happens_at_the_organisational_domain(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=ORG + '_dmarc IN TXT "v=DMARC1; p=reject; ri=3600"\n')
    r = dmarc(dns_server, "shop.example.com")
    assert r.status is Status.WARN and r.detail["policy"] == "reject"
    assert "dmarc.no-rua" in codes(r)
    fix = record_fix(r, "_dmarc.example.com")
    assert fix.value == "v=DMARC1; p=reject; rua=mailto:dmarc-reports@example.com" and fix.action == "replace"
    again = republish(dns_server, "example.com", ORG, fix, "shop.example.com")
    assert again.status is Status.PASS and again.fixes == []


def test_misspelt_tag_fails_and_the_fix_spells_it(dns_server: DnsTestServer) -> None:
    """A typo of a real tag (rau= for rua=) loses what the owner set there: a failure, and the corrected
    record writes the tag they meant."""
    serve(dns_server, example_com=HOST + '_dmarc IN TXT "v=DMARC1; p=reject; rau=mailto:d@example.com"\n')
    r = dmarc(dns_server)
    f = finding(r, "dmarc.unknown-tag")
    assert r.status is Status.FAIL and f.severity is Severity.ERROR and "rua" in f.message
    fix = record_fix(r)
    assert fix.value == "v=DMARC1; p=reject; rua=mailto:d@example.com" and "rau → rua" in fix.note
    assert republish(dns_server, "example.com", HOST, fix).status is Status.PASS
