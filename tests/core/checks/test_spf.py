"""The "spf" domain check: one zone per finding, and every fix published and re-checked."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inboxready.core.checks import spf
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import CheckResult, Fix, Severity, Status
from inboxready.core.records.spf_parse import parse_record
from tests.conftest import make_ctx, run

PROVIDER = """
_spf.provider.test.  300 IN TXT "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:100::/48 -all"
big.provider.test.   300 IN TXT "v=spf1 include:a.provider.test include:b.provider.test -all"
a.provider.test.     300 IN TXT "v=spf1 a:h1.provider.test a:h2.provider.test a:h3.provider.test -all"
b.provider.test.     300 IN TXT "v=spf1 a:h1.provider.test a:h2.provider.test a:h3.provider.test -all"
h1.provider.test.    300 IN A 198.51.100.1
h2.provider.test.    300 IN A 198.51.100.2
h3.provider.test.    300 IN A 198.51.100.3
"""

GOOGLE = """
_spf.google.com. 300 IN TXT "v=spf1 include:_netblocks.google.com ~all"
_netblocks.google.com. 300 IN TXT "v=spf1 ip4:35.190.247.0/24 ip6:2001:4860:4000::/36 ~all"
"""


def analyse(server: DnsTestServer, zone: str, *, domain: str = "example.com", **opts: Any) -> CheckResult:
    server.replace_zone("example.com", zone)
    if "provider.test" not in {str(o).rstrip(".") for o in server._origins}:  # noqa: SLF001
        server.add_zone("provider.test", PROVIDER)
        server.add_zone("google.com", GOOGLE)

    async def go() -> CheckResult:
        return await spf.check(make_ctx(server, domain, **opts))

    return run(go())


def codes(result: CheckResult) -> list[str]:
    return [f.code for f in result.findings]


def finding(result: CheckResult, code: str):  # type: ignore[no-untyped-def]
    found = [f for f in result.findings if f.code == code]
    assert found, f"{code} not in {codes(result)}"
    return found[0]


def republish(server: DnsTestServer, zone: str, fix: Fix) -> CheckResult:
    """Apply ``fix`` to ``zone`` (drop the SPF-ish records at the apex, add the fix) and re-check."""
    assert fix.host == "example.com"
    kept = []
    for line in zone.strip().splitlines():
        parts = line.split()
        at_apex = parts and parts[0] in ("@", "example.com.")
        if at_apex and fix.action in ("replace", "publish") and fix.type in parts \
                and "spf" in line.lower() and "spf2.0" not in line.lower():
            continue
        if at_apex and fix.action == "remove" and fix.type in parts and fix.value in line:
            continue
        kept.append(line)
    if fix.action != "remove":
        kept.append(fix.zone_line)
    return analyse(server, "\n".join(kept) + "\n")


def assert_fixed(server: DnsTestServer, zone: str, result: CheckResult, code: str) -> CheckResult:
    """The finding carries a fix; publishing it makes that finding go away and leaves no error."""
    f = finding(result, code)
    assert f.fix is not None, f"{code} has no fix"
    after = republish(server, zone, f.fix)
    assert code not in codes(after), after.to_json()
    assert after.status in (Status.PASS, Status.WARN, Status.INFO), after.to_json()
    assert not [x for x in after.findings if x.severity in (Severity.ERROR, Severity.UNKNOWN)]
    if f.fix.type == "TXT" and f.fix.action != "remove":
        parse_record(f.fix.value)
    return after


# -- a healthy record -----------------------------------------------------------------------------

GOOD = """
@    300 IN TXT "v=spf1 ip4:192.0.2.0/24 mx include:_spf.provider.test -all"
@    300 IN MX 10 mail.example.com.
mail 300 IN A 192.0.2.10
_dmarc 300 IN TXT "v=DMARC1; p=reject"
"""


def test_good_record_passes_with_tree(dns_server: DnsTestServer) -> None:
    r = analyse(dns_server, GOOD)
    assert r.status is Status.PASS, r.to_json()
    assert r.findings == []
    assert r.summary == "SPF is set up: 2 of the 10 allowed DNS lookups used."
    assert r.records == ["v=spf1 ip4:192.0.2.0/24 mx include:_spf.provider.test -all"]
    d = r.detail
    assert d["record"] == r.records[0]
    assert (d["lookups"], d["lookup_limit"], d["void_lookups"]) == (2, 10, 0)
    tree = d["tree"]
    assert set(tree) >= {"domain", "record", "mechanism", "lookups", "total", "error", "children"}
    assert (tree["domain"], tree["mechanism"], tree["lookups"], tree["total"]) == ("example.com", "", 2, 2)
    (child,) = tree["children"]
    assert child["mechanism"] == "include:_spf.provider.test"
    assert child["record"].startswith("v=spf1 ip4:198.51.100.0/24")
    assert (child["lookups"], child["total"], child["error"], child["children"]) == (0, 0, None, [])
    assert d["all"] == "fail"
    assert [t["text"] for t in d["terms"]][:2] == ["ip4:192.0.2.0/24", "mx"]
    assert d["terms"][0]["start"] == 7
    import json
    json.dumps(r.to_json())


def test_redirect_record_is_fine(dns_server: DnsTestServer) -> None:
    zone = '@ 300 IN TXT "v=spf1 redirect=_spf.example.com"\n_spf 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"\n'
    r = analyse(dns_server, zone)
    assert r.status is Status.PASS, r.to_json()
    assert r.detail["tree"]["children"][0]["mechanism"] == "redirect=_spf.example.com"
    assert r.detail["lookups"] == 1


def test_macro_include_is_counted_but_not_followed(dns_server: DnsTestServer) -> None:
    zone = '@ 300 IN TXT "v=spf1 include:%{ir}.%{v}._spf.%{d} exists:%{i}.bl.example.com -all"\n'
    r = analyse(dns_server, zone)
    assert r.status is Status.PASS, r.to_json()
    assert r.detail["lookups"] == 2
    child = r.detail["tree"]["children"][0]
    assert child["record"] is None and "macro" in child["note"]


# -- no record ------------------------------------------------------------------------------------

MX_GOOGLE = "@ 300 IN MX 1 aspmx.l.google.com.\n@ 300 IN MX 5 alt1.aspmx.l.google.com.\n"
MX_OWN = "@ 300 IN MX 10 mail.example.com.\nmail 300 IN A 192.0.2.10\n"


def test_missing_with_google_mx_offers_google_include(dns_server: DnsTestServer) -> None:
    r = analyse(dns_server, MX_GOOGLE)
    assert r.status is Status.FAIL
    f = finding(r, "spf.missing")
    assert f.severity is Severity.ERROR and "Google Workspace" in f.message
    assert f.fix is not None and f.fix.value == "v=spf1 include:_spf.google.com ~all"
    assert "Starting point only" in f.fix.note
    assert_fixed(dns_server, MX_GOOGLE, r, "spf.missing")


def test_missing_with_own_mx_offers_mx_as_starting_point(dns_server: DnsTestServer) -> None:
    r = analyse(dns_server, MX_OWN)
    f = finding(r, "spf.missing")
    assert f.fix is not None and f.fix.value == "v=spf1 mx ~all"
    assert "Add an include" in f.fix.note
    assert_fixed(dns_server, MX_OWN, r, "spf.missing")


def test_missing_without_mx_offers_the_lockdown_record(dns_server: DnsTestServer) -> None:
    # issue 12 item 3: a domain that looks unused gets the lockdown SPF record on the SPF card too (the same
    # record the MX card lists), said to be only for a domain that never sends mail
    r = analyse(dns_server, "www 300 IN A 192.0.2.80\n@ 300 IN TXT \"google-site-verification=abc\"\n")
    assert r.status is Status.FAIL
    f = finding(r, "spf.missing")
    assert f.fix is not None and f.fix.value == "v=spf1 -all" and f.fix.host == "example.com"
    assert "never sends mail" in f.fix.note and "never sends mail" in f.message
    assert r.detail["record"] is None and r.detail["tree"]["error"] == "no SPF record"


def test_missing_with_null_mx_is_info(dns_server: DnsTestServer) -> None:
    zone = "@ 300 IN MX 0 .\n"
    r = analyse(dns_server, zone)
    assert r.status is Status.INFO
    f = finding(r, "spf.missing")
    assert f.severity is Severity.INFO and f.fix is not None and f.fix.value == "v=spf1 -all"
    assert_fixed(dns_server, zone, r, "spf.missing")


def test_domain_that_does_not_exist(dns_server: DnsTestServer) -> None:
    r = analyse(dns_server, GOOD, domain="nope.example.com")
    assert r.status is Status.FAIL
    assert "does not exist" in finding(r, "spf.missing").message


def test_record_only_as_spf_type(dns_server: DnsTestServer) -> None:
    zone = '@ 300 IN SPF "v=spf1 ip4:192.0.2.1 -all"\n'
    r = analyse(dns_server, zone)
    f = finding(r, "spf.missing")
    assert f.fix is not None and (f.fix.type, f.fix.value) == ("TXT", "v=spf1 ip4:192.0.2.1 -all")
    assert "spf.spf-rr-type" in codes(r)
    after = republish(dns_server, zone, f.fix)
    assert "spf.missing" not in codes(after) and after.status is Status.WARN  # the SPF-type record is still there


def test_txt_lookup_timeout_is_couldnt_check(dns_server: DnsTestServer) -> None:
    dns_server.timeout_names.add("example.com/TXT")
    r = analyse(dns_server, GOOD, timeout=0.3)
    assert r.status is Status.ERROR
    assert finding(r, "spf.lookup-failed").severity is Severity.UNKNOWN
    assert "couldn't" in r.summary


# -- record selection and syntax ------------------------------------------------------------------

MULTI = """
@ 300 IN TXT "v=spf1 include:_spf.provider.test ip4:192.0.2.1 -all"
@ 300 IN TXT "v=spf1 mx a:relay.example.com ip6:2001:db8::/32 ~all"
@ 300 IN TXT "v=spf1 redirect=_spf.example.com"
@ 300 IN MX 10 mail.example.com.
mail 300 IN A 192.0.2.10
relay 300 IN A 192.0.2.11
_spf 300 IN TXT "v=spf1 ip4:203.0.113.0/24 -all"
"""


def test_multiple_records_merged_keeping_every_sender(dns_server: DnsTestServer) -> None:
    r = analyse(dns_server, MULTI)
    assert r.status is Status.FAIL
    assert r.detail["record"] is None and len(r.detail["records"]) == 3
    f = finding(r, "spf.multiple-records")
    assert f.fix is not None and f.fix.action == "replace"
    merged = parse_record(f.fix.value)
    kept = {t.text for t in merged.mechanisms}
    for old in r.detail["records"]:
        for t in parse_record(old).mechanisms:
            if t.kind != "all":
                assert t.text in kept, (t.text, f.fix.value)
    assert "include:_spf.example.com" in kept  # the redirect became an include
    assert f.fix.value.endswith(" ~all")
    assert_fixed(dns_server, MULTI, r, "spf.multiple-records")


def test_merge_records_ending() -> None:
    value, notes = spf.merge_records(["v=spf1 a -all", "v=spf1 mx a -all", "v=spf1 ip4:1.2.3.4 bad -all"])
    assert value == "v=spf1 a mx ip4:1.2.3.4 -all"
    assert any("'bad'" in n for n in notes)


def test_syntax_error_is_reported_with_position(dns_server: DnsTestServer) -> None:
    zone = '@ 300 IN TXT "v=spf1 mx ip4:192.0.2 -all"\n'
    r = analyse(dns_server, zone)
    assert r.status is Status.FAIL
    f = finding(r, "spf.syntax-error")
    assert "the term 'ip4:192.0.2' at character 11 is not a valid IPv4 address" in f.message
    assert f.fix is None
    assert r.detail["errors"][0]["position"] == 10
    assert r.detail["tree"]["error"].startswith("syntax error")


def test_strings_glued_without_space(dns_server: DnsTestServer) -> None:
    zone = '@ 300 IN TXT "v=spf1 ip4:192.0.2.1" "include:_spf.provider.test -all"\n'
    r = analyse(dns_server, zone)
    assert r.status is Status.FAIL
    f = finding(r, "spf.string-join")
    assert f.fix is not None and f.fix.value == "v=spf1 ip4:192.0.2.1 include:_spf.provider.test ~all"
    assert r.detail["txt_strings"] == ["v=spf1 ip4:192.0.2.1", "include:_spf.provider.test -all"]
    assert_fixed(dns_server, zone, r, "spf.string-join")


def test_possibly_truncated_at_255(dns_server: DnsTestServer) -> None:
    body = "v=spf1 " + " ".join(f"ip4:192.0.2.{i}" for i in range(1, 30))
    body = body[:255]
    r = analyse(dns_server, f'@ 300 IN TXT "{body}"\n')
    assert "spf.possibly-truncated" in codes(r)


def test_record_over_450_bytes(dns_server: DnsTestServer) -> None:
    ips = " ".join(f"ip4:198.51.100.{i}" for i in range(1, 33))
    value = f"v=spf1 {ips} -all"
    quoted = " ".join(f'"{value[i:i + 200]}"' for i in range(0, len(value), 200))
    r = analyse(dns_server, f"@ 300 IN TXT {quoted}\n")
    assert r.status is Status.WARN, r.to_json()
    assert finding(r, "spf.record-too-long").severity is Severity.WARNING
    assert len(r.detail["txt_strings"]) == 3


def test_obsolete_spf_type_and_sender_id(dns_server: DnsTestServer) -> None:
    zone = ('@ 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"\n@ 300 IN SPF "v=spf1 ip4:192.0.2.1 -all"\n'
            '@ 300 IN TXT "spf2.0/pra ip4:192.0.2.1 -all"\n')
    r = analyse(dns_server, zone)
    assert r.status is Status.WARN
    rr = finding(r, "spf.spf-rr-type")
    assert rr.fix is not None and (rr.fix.type, rr.fix.action) == ("SPF", "remove")
    sid = finding(r, "spf.sender-id")
    assert sid.severity is Severity.INFO and sid.fix is not None and sid.fix.action == "remove"
    after = assert_fixed(dns_server, zone, r, "spf.spf-rr-type")
    assert after.status is Status.PASS and "spf.sender-id" in codes(after)
    after2 = republish(dns_server, zone.replace('@ 300 IN SPF "v=spf1 ip4:192.0.2.1 -all"\n', ""), sid.fix)
    # (no DMARC in this zone, so the -all ending gets the advice to use ~all for now)
    assert codes(after2) == ["spf.all-hardfail-early"] and after2.status is Status.PASS


# -- lookups --------------------------------------------------------------------------------------

TOO_MANY = """
@ 300 IN TXT "v=spf1 include:big.provider.test include:_spf.provider.test a mx ~all"
@ 300 IN A 192.0.2.1
@ 300 IN MX 10 mail.example.com.
mail 300 IN A 192.0.2.10
"""


def test_too_many_lookups_names_the_costly_include(dns_server: DnsTestServer) -> None:
    r = analyse(dns_server, TOO_MANY)
    assert r.status is Status.FAIL
    assert r.detail["lookups"] == 12
    f = finding(r, "spf.too-many-lookups")
    assert "include:big.provider.test (9)" in f.message and "12 DNS lookups" in f.message
    # issue 12 item 1: the problem itself carries records that fix it (tests/core/checks/test_spf_lookup_fixes.py)
    assert "records below" in f.message and f.fix is not None and f.fix.also_publish
    big = r.detail["tree"]["children"][0]
    assert (big["mechanism"], big["lookups"], big["total"]) == ("include:big.provider.test", 2, 8)
    assert [c["total"] for c in big["children"]] == [3, 3]
    assert "12 of the 10" in r.summary


def test_near_the_limit_is_info(dns_server: DnsTestServer) -> None:
    zone = '@ 300 IN TXT "v=spf1 include:big.provider.test -all"\n'
    r = analyse(dns_server, zone)
    assert r.detail["lookups"] == 9
    assert r.status is Status.PASS and finding(r, "spf.near-lookup-limit").severity is Severity.INFO


def test_too_many_void_lookups(dns_server: DnsTestServer) -> None:
    zone = '@ 300 IN TXT "v=spf1 a:old1.example.com a:old2.example.com mx:old3.example.com ip4:192.0.2.1 -all"\n'
    r = analyse(dns_server, zone)
    assert r.status is Status.FAIL and r.detail["void_lookups"] == 3
    assert finding(r, "spf.too-many-void-lookups").severity is Severity.ERROR
    after = assert_fixed(dns_server, zone, r, "spf.void-lookup")
    assert after.status is Status.PASS


def test_mx_with_more_than_ten_hosts(dns_server: DnsTestServer) -> None:
    mx = "".join(f"@ 300 IN MX {i} mx{i}.example.com.\nmx{i} 300 IN A 192.0.2.{i}\n" for i in range(11))
    r = analyse(dns_server, '@ 300 IN TXT "v=spf1 mx -all"\n' + mx)
    assert r.status is Status.FAIL
    assert "11 mail servers" in finding(r, "spf.mx-too-many").message


def test_include_loop(dns_server: DnsTestServer) -> None:
    zone = '@ 300 IN TXT "v=spf1 ip4:192.0.2.1 include:example.com -all"\n'
    r = analyse(dns_server, zone)
    assert r.status is Status.FAIL
    f = finding(r, "spf.include-loop")
    assert r.detail["tree"]["children"][0]["error"].startswith("loop")
    assert f.fix is not None and f.fix.value == "v=spf1 ip4:192.0.2.1 ~all"
    assert_fixed(dns_server, zone, r, "spf.include-loop")


def test_redirect_loop_deeper(dns_server: DnsTestServer) -> None:
    zone = ('@ 300 IN TXT "v=spf1 redirect=_a.example.com"\n_a 300 IN TXT "v=spf1 redirect=_b.example.com"\n'
            '_b 300 IN TXT "v=spf1 redirect=_a.example.com"\n')
    r = analyse(dns_server, zone)
    assert r.status is Status.FAIL
    assert "_a.example.com -> _b.example.com -> _a.example.com" in finding(r, "spf.redirect-loop").detail


def test_redirect_without_record(dns_server: DnsTestServer) -> None:
    r = analyse(dns_server, '@ 300 IN TXT "v=spf1 redirect=_spf.gone.example.com"\n')
    assert r.status is Status.FAIL and "spf.redirect-no-record" in codes(r)


def test_include_timeout_is_couldnt_check(dns_server: DnsTestServer) -> None:
    dns_server.timeout_names.add("_spf.slow.example.com")
    r = analyse(dns_server, '@ 300 IN TXT "v=spf1 include:_spf.slow.example.com -all"\n', timeout=0.3)
    assert r.status is Status.ERROR, r.to_json()
    assert finding(r, "spf.include-lookup-failed").severity is Severity.UNKNOWN


def test_include_with_broken_record(dns_server: DnsTestServer) -> None:
    zone = ('@ 300 IN TXT "v=spf1 include:_a.example.com include:_b.example.com -all"\n'
            '_a 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"\n_a 300 IN TXT "v=spf1 ip4:192.0.2.2 -all"\n'
            '_b 300 IN TXT "v=spf1 ip4:192.0.2.300 -all"\n')
    r = analyse(dns_server, zone)
    assert r.status is Status.FAIL
    assert "spf.include-invalid" in codes(r) and "spf.include-syntax-error" in codes(r)


# -- the all rule and friends ---------------------------------------------------------------------


# (the apex record, the check's status, the finding, its severity, the fix's value, what the finding's message
#  and the fix's note say, detail values)
ONE_FIX = [
    pytest.param('"v=spf1 include:_spf.provider.test +all"', Status.FAIL, "spf.plus-all", Severity.ERROR,
                 "v=spf1 include:_spf.provider.test ~all", "", "p=reject", {}, id="plus-all"),
    pytest.param('"v=spf1 ip4:192.0.2.1 ?all"', Status.WARN, "spf.neutral-all", Severity.WARNING,
                 "v=spf1 ip4:192.0.2.1 ~all", "", "", {}, id="neutral-all"),
    pytest.param('"v=spf1 ip4:192.0.2.1"', Status.WARN, "spf.no-all", Severity.WARNING, "v=spf1 ip4:192.0.2.1 ~all",
                 "", "", {}, id="no-all"),
    pytest.param('"v=spf1 ptr ip4:192.0.2.1 -all"', Status.WARN, "spf.ptr", Severity.WARNING,
                 "v=spf1 ip4:192.0.2.1 ~all", "", "ip4:/ip6:", {}, id="ptr"),
    pytest.param('"v=spf1 include:_spf.gone.example.com ip4:192.0.2.1 -all"', Status.FAIL, "spf.include-no-record",
                 Severity.ERROR, "v=spf1 ip4:192.0.2.1 ~all", "_spf.gone.example.com", "", {},
                 id="include-without-record"),
    # RFC 7208 §5.1: terms after 'all' are never reached
    pytest.param('"v=spf1 -all include:_spf.provider.test"', Status.FAIL, "spf.terms-after-all", Severity.ERROR,
                 "v=spf1 include:_spf.provider.test ~all", "", "", {"lookups": 0}, id="terms-after-all"),
    # an unknown modifier is ignored (RFC 7208 §6): the provider's servers fail SPF, which is a failure
    pytest.param('"v=spf1 ip4:192.0.2.1 include=_spf.provider.test -all"', Status.FAIL, "spf.modifier-typo",
                 Severity.ERROR, "v=spf1 ip4:192.0.2.1 include:_spf.provider.test ~all", "include:_spf.provider.test",
                 "", {}, id="modifier-written-like-mechanism"),
    pytest.param('"v=spf1 a:old.example.com ip4:192.0.2.1 -all"', Status.WARN, "spf.void-lookup", Severity.WARNING,
                 "v=spf1 ip4:192.0.2.1 ~all", "", "", {"void_lookups": 1}, id="void-lookup"),
    pytest.param('"\\"v=spf1 ip4:192.0.2.1 -all\\""', Status.FAIL, "spf.bad-version", Severity.ERROR,
                 "v=spf1 ip4:192.0.2.1 -all", "", "", {}, id="lookalike-record-with-quotes"),
]


@pytest.mark.parametrize(("record", "status", "code", "severity", "value", "says", "note", "detail"), ONE_FIX)
def test_one_problem_and_its_fix(dns_server: DnsTestServer, record: str, status: Status, code: str,
                                 severity: Severity, value: str, says: str, note: str, detail: dict[str, Any]) -> None:
    """A record with one problem: the finding, the corrected record offered, and publishing it fixes that."""
    zone = f"@ 300 IN TXT {record}\n"
    r = analyse(dns_server, zone)
    assert r.status is status
    f = finding(r, code)
    assert f.severity is severity and says in f.message
    assert f.fix is not None and f.fix.value == value and note in f.fix.note
    assert {k: r.detail[k] for k in detail} == detail
    assert_fixed(dns_server, zone, r, code)


def test_redirect_ignored_because_of_all(dns_server: DnsTestServer) -> None:
    zone = '@ 300 IN TXT "v=spf1 ip4:192.0.2.1 redirect=_spf.provider.test ~all"\n'
    r = analyse(dns_server, zone)
    # The servers of the redirect's domain are meant to be allowed, and receivers never allow them
    # (RFC 7208 §6.1): a failure for those senders, not a tidy-up.
    assert r.status is Status.FAIL and finding(r, "spf.redirect-ignored").severity is Severity.ERROR
    assert r.summary.startswith("SPF fails for some senders you listed: a redirect next to 'all' is ignored")
    assert r.detail["lookups"] == 0  # the redirect is never used
    f = finding(r, "spf.redirect-ignored")
    assert f.fix is not None and f.fix.value == "v=spf1 ip4:192.0.2.1 include:_spf.provider.test ~all"
    assert_fixed(dns_server, zone, r, "spf.redirect-ignored")


def test_duplicate_include_and_term(dns_server: DnsTestServer) -> None:
    zone = ('@ 300 IN TXT "v=spf1 include:_spf.provider.test ip4:192.0.2.1 include:_spf.provider.test '
            'ip4:192.0.2.1 -all"\n')
    r = analyse(dns_server, zone)
    assert r.status is Status.WARN
    assert finding(r, "spf.duplicate-term").severity is Severity.INFO
    f = finding(r, "spf.duplicate-include")
    assert f.fix is not None and f.fix.value == "v=spf1 include:_spf.provider.test ip4:192.0.2.1 ~all"
    assert r.detail["lookups"] == 2
    assert_fixed(dns_server, zone, r, "spf.duplicate-include")


def test_duplicate_include_across_tree_is_info(dns_server: DnsTestServer) -> None:
    zone = '@ 300 IN TXT "v=spf1 include:a.provider.test include:big.provider.test -all"\n'
    r = analyse(dns_server, zone)
    f = finding(r, "spf.duplicate-include")
    assert f.severity is Severity.INFO and f.fix is None


def test_parked_domain_allowing_senders(dns_server: DnsTestServer) -> None:
    r = analyse(dns_server, '@ 300 IN MX 0 .\n@ 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"\n')
    f = finding(r, "spf.parked-allows-senders")
    assert f.severity is Severity.INFO and "parked" in f.message


def test_one_fix_for_several_problems(dns_server: DnsTestServer) -> None:
    zone = ('@ 300 IN TXT "v=spf1 ptr include:_spf.provider.test a:gone.example.com include:_spf.provider.test '
            '+all"\n')
    r = analyse(dns_server, zone)
    assert len(r.fixes) == 1
    assert r.fixes[0].value == "v=spf1 include:_spf.provider.test ~all"
    after = republish(dns_server, zone, r.fixes[0])
    assert after.status is Status.PASS and after.findings == []


def test_check_never_raises_on_odd_records(dns_server: DnsTestServer) -> None:
    for value in ["v=spf1 %{", "v=spf1 include:", "v=spf1 ip6:::1/129 a//200", "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d}",
                  "v=spf1 a:%{p}.example.com mx:%{d2} -all", "V=SPF1", "v=spf1 \\001"]:
        r = analyse(dns_server, f'@ 300 IN TXT "{value}"\n')
        assert r.name == "spf" and r.status in Status


TERMS = st.sampled_from(["a", "mx", "ptr", "-all", "~all", "+all", "?all", "include:_spf.provider.test",
                         "include:example.com", "include:gone.example.com", "redirect=_spf.provider.test",
                         "a:gone.example.com", "ip4:192.0.2.1", "ip4:192.0.2", "ip6:2001:db8::/32", "exp=x.example.com",
                         "exists:%{i}.example.com", "include:%{d}.example.com", "mx/24", "moo", "a:%{x}", "foo=bar"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(TERMS, max_size=8), st.lists(TERMS, max_size=4), st.booleans())
def test_check_is_total_and_fixes_are_valid(dns_server: DnsTestServer, terms: list[str], second: list[str],
                                            two: bool) -> None:
    zone = "@ 300 IN TXT \"" + " ".join(["v=spf1"] + terms) + "\"\n"
    if two:
        zone += "@ 300 IN TXT \"" + " ".join(["v=spf1"] + second) + "\"\n"
    r = analyse(dns_server, zone)
    assert r.status in Status
    for fix in r.fixes:
        if fix.type == "TXT" and fix.action != "remove":
            parse_record(fix.value)
            fixed = {f.code for f in r.findings if f.fix == fix}
            after = republish(dns_server, zone, fix)
            assert not fixed & set(codes(after)), (zone, fix.value, after.to_json())
            assert not [f for f in after.findings if f.severity is Severity.ERROR and f.code != "spf.too-many-lookups"]


# -- the 'all' ending follows the DMARC stage (issue 6) -------------------------------------------


def test_hardfail_without_dmarc_advises_softfail(dns_server: DnsTestServer) -> None:
    zone = '@ 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"\n'
    r = analyse(dns_server, zone)
    assert r.status is Status.PASS and codes(r) == ["spf.all-hardfail-early"]
    f = finding(r, "spf.all-hardfail-early")
    assert f.severity is Severity.INFO and "no DMARC policy" in f.message and "RFC 7208 §8.4" in f.rfc
    assert f.fix is not None and (f.fix.value, f.fix.action) == ("v=spf1 ip4:192.0.2.1 ~all", "replace")
    assert r.detail["all_advice"] == "~all" and r.detail["dmarc_stage"]["policy"] is None
    after = assert_fixed(dns_server, zone, r, "spf.all-hardfail-early")
    assert after.findings == []


def test_hardfail_at_quarantine_advises_softfail(dns_server: DnsTestServer) -> None:
    zone = ('@ 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"\n'
            '_dmarc 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@example.com"\n')
    r = analyse(dns_server, zone)
    f = finding(r, "spf.all-hardfail-early")
    assert "p=quarantine" in f.message and f.fix is not None and f.fix.value.endswith(" ~all")
    assert_fixed(dns_server, zone, r, "spf.all-hardfail-early")


def test_hardfail_at_reject_in_testing_mode_advises_softfail(dns_server: DnsTestServer) -> None:
    zone = '@ 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"\n_dmarc 300 IN TXT "v=DMARC1; p=reject; t=y"\n'
    r = analyse(dns_server, zone)
    f = finding(r, "spf.all-hardfail-early")
    assert "testing mode (t=y)" in f.message
    assert_fixed(dns_server, zone, r, "spf.all-hardfail-early")


def test_softfail_at_reject_may_become_hardfail(dns_server: DnsTestServer) -> None:
    zone = '@ 300 IN TXT "v=spf1 ip4:192.0.2.1 ~all"\n_dmarc 300 IN TXT "v=DMARC1; p=reject"\n'
    r = analyse(dns_server, zone)
    assert r.status is Status.PASS
    f = finding(r, "spf.all-hardfail-ok")
    assert f.severity is Severity.INFO and "optional" in f.message.lower()
    assert f.fix is not None and f.fix.value == "v=spf1 ip4:192.0.2.1 -all"
    after = assert_fixed(dns_server, zone, r, "spf.all-hardfail-ok")
    assert after.findings == [] and after.detail["all_advice"] == "-all"


def test_plus_all_at_reject_is_replaced_by_hardfail(dns_server: DnsTestServer) -> None:
    zone = '@ 300 IN TXT "v=spf1 ip4:192.0.2.1 +all"\n_dmarc 300 IN TXT "v=DMARC1; p=reject"\n'
    r = analyse(dns_server, zone)
    f = finding(r, "spf.plus-all")
    assert f.fix is not None and f.fix.value == "v=spf1 ip4:192.0.2.1 -all"
    after = assert_fixed(dns_server, zone, r, "spf.plus-all")
    assert after.findings == []


def test_inherited_reject_counts_for_a_subdomain(dns_server: DnsTestServer) -> None:
    zone = ('news 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"\n'
            '_dmarc 300 IN TXT "v=DMARC1; p=reject; sp=quarantine"\n')
    r = analyse(dns_server, zone, domain="news.example.com")
    f = finding(r, "spf.all-hardfail-early")  # sp=quarantine applies to the subdomain
    assert "inherited from example.com" in f.message
    assert r.detail["dmarc_stage"] == {"policy": "quarantine", "testing": False, "record_domain": "example.com"}


def test_public_suffix_policy_counts_as_the_dmarc_check_says(dns_server: DnsTestServer) -> None:
    """Review 2, M2: under a public suffix's record (psd=y) the SPF advice follows the policy the DMARC check
    finds (RFC 9989 §4.10), not "no DMARC policy yet"."""
    from inboxready.core.checks import dmarc

    zone = ('_dmarc 300 IN TXT "v=DMARC1; p=reject; psd=y; np=reject"\n'
            'shop 300 IN MX 10 mail.shop.example.com.\n'
            'mail.shop 300 IN A 192.0.2.10\n'
            'shop 300 IN TXT "v=spf1 mx -all"\n')
    r = analyse(dns_server, zone, domain="shop.example.com")
    assert r.detail["dmarc_stage"] == {"policy": "reject", "testing": False, "record_domain": "example.com"}
    assert r.detail["all_advice"] == "-all"
    assert r.status is Status.PASS and codes(r) == [], r.to_json()
    d = run(dmarc.check(make_ctx(dns_server, "shop.example.com")))
    assert d.detail["policy"] == "reject" and d.detail["policy_domain"] == "example.com"
    # the registry name itself: the tidied record (psd=y left out) adds no rua=, so it isn't offered as the
    # answer to "no report address" (the fix self-check found it didn't fix that)
    top = run(dmarc.check(make_ctx(dns_server, "example.com")))
    assert [f.fix for f in top.findings if f.code == "dmarc.no-rua"] == [None]


def test_domain_that_sends_nothing_keeps_hardfail(dns_server: DnsTestServer) -> None:
    r = analyse(dns_server, '@ 300 IN TXT "v=spf1 -all"\n')
    assert "spf.all-hardfail-early" not in codes(r)


def test_dmarc_lookup_failure_gives_no_all_advice(dns_server: DnsTestServer) -> None:
    dns_server.timeout_names.add("_dmarc.example.com/TXT")
    try:
        r = analyse(dns_server, '@ 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"\n', timeout=0.3)
    finally:
        dns_server.timeout_names.discard("_dmarc.example.com/TXT")
    assert r.status is Status.PASS and codes(r) == [] and r.detail["all_advice"] is None


def test_lookup_count_over_a_tree_with_an_unreadable_branch_says_at_least(dns_server: DnsTestServer) -> None:
    """Issue 13 #14: a count over a tree with a branch we couldn't read is a minimum, and says so."""
    dns_server.timeout_names.add("_netblocks.google.com")
    r = analyse(dns_server, '@ 300 IN TXT "v=spf1 include:_spf.google.com mx ~all"\n@ 300 IN MX 10 mx.provider.test.\n',
                timeout=0.3)
    assert r.status is Status.ERROR
    assert "at least 3 of the 10 allowed DNS lookups used" in r.summary
    r = analyse(dns_server, '@ 300 IN TXT "v=spf1 include:_spf.google.com +all"\n', timeout=0.3)
    assert r.status is Status.FAIL and "at least 2 of the 10" in r.summary


def test_fix_note_quotes_the_rules_it_removed(dns_server: DnsTestServer) -> None:
    # A bare 'a' at the end of a sentence read as "… there): a. '-all' became '~all'".
    zone = '@ 300 IN TXT "v=spf1 a ip4:192.0.2.1 -all"\n'
    r = analyse(dns_server, zone)
    f = finding(r, "spf.void-lookup")
    assert f.fix is not None and f.fix.value == "v=spf1 ip4:192.0.2.1 ~all"
    assert "mail server there): 'a'." in f.fix.note
    assert "): a." not in f.fix.note
