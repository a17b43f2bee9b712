"""QA: what the review of the domain check found (assignment g7), each on a loopback zone through the engine."""

from __future__ import annotations

import pytest

from inboxready.core.checks.runner import run_check
from inboxready.core.context import CheckOptions
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import CheckResult, DomainReport, Finding, Severity, Status

from ...conftest import run

CHECKS = ("spf", "dkim", "dmarc", "mx", "mta_sts", "tls_rpt")


def check_all(server: DnsTestServer, zones: dict[str, str], domain: str,
              checks: tuple[str, ...] = CHECKS) -> DomainReport:
    server.add_origin("test")  # so that _dmarc.test is NXDOMAIN, as on the Internet
    for origin, text in zones.items():
        server.replace_zone(origin, text)
    return run(run_check(domain, CheckOptions(nameservers=[server.address], timeout=2.0, checks=checks)))


def finding(r: CheckResult, code: str) -> Finding:
    (f,) = [f for f in r.findings if f.code == code]
    return f


def codes(r: CheckResult) -> list[str]:
    return [f.code for f in r.findings]


# -- 1. a name that sends no mail, covered by DMARC p=reject ---------------------------------------------

WEB_ONLY = """$ORIGIN org.test.
@ MX 10 mx.org.test.
mx A 192.0.2.1
@ TXT "v=spf1 mx -all"
_dmarc TXT "{dmarc}"
www A 192.0.2.80
"""


@pytest.mark.parametrize("dmarc", ["v=DMARC1; p=reject", "v=DMARC1; p=none; sp=reject",
                                   "v=DMARC1; p=reject; np=none"])
def test_web_only_subdomain_under_dmarc_reject_is_a_warning_with_the_lockdown_fix(
        dns_server: DnsTestServer, dmarc: str) -> None:
    """DMARC reject (p=, or sp= for its subdomains) already has receivers refuse spoofed mail from www: no SPF
    is a warning that says so, not "anyone can send mail in its name" and an overall Fail."""
    report = check_all(dns_server, {"org.test": WEB_ONLY.format(dmarc=dmarc)}, "www.org.test")
    spf = report.checks["spf"]
    f = finding(spf, "spf.missing")
    assert f.severity is Severity.WARNING and spf.status is Status.WARN
    assert "anyone can send" not in f.message and "p=reject" in f.message and "org.test" in f.message
    assert f.fix is not None and (f.fix.host, f.fix.value) == ("www.org.test", "v=spf1 -all")
    assert "lockdown" in f.message
    assert report.status is not Status.FAIL
    # the lockdown records are still offered under MX
    lock = {(x.fix.host, x.fix.value) for x in report.checks["mx"].findings if x.fix is not None}
    assert ("www.org.test", "v=spf1 -all") in lock
    # publishing the fix makes the finding go away
    zone = WEB_ONLY.format(dmarc=dmarc) + 'www TXT "v=spf1 -all"\n'
    again = check_all(dns_server, {"org.test": zone}, "www.org.test")
    assert "spf.missing" not in codes(again.checks["spf"]) and again.checks["spf"].status is Status.PASS


def test_parked_domain_with_its_own_dmarc_reject_is_a_warning(dns_server: DnsTestServer) -> None:
    zone = '$ORIGIN parked.test.\n@ A 192.0.2.90\n_dmarc TXT "v=DMARC1; p=reject"\n'
    spf = check_all(dns_server, {"parked.test": zone}, "parked.test").checks["spf"]
    f = finding(spf, "spf.missing")
    assert f.severity is Severity.WARNING and "its DMARC record says p=reject" in f.message


@pytest.mark.parametrize("dmarc", ["v=DMARC1; p=quarantine", "v=DMARC1; p=none", "v=DMARC1; p=reject; sp=none",
                                   "v=DMARC1; p=reject; t=y", "v=spf1 not dmarc"])
def test_web_only_subdomain_without_dmarc_reject_stays_an_error(dns_server: DnsTestServer, dmarc: str) -> None:
    report = check_all(dns_server, {"org.test": WEB_ONLY.format(dmarc=dmarc)}, "www.org.test")
    f = finding(report.checks["spf"], "spf.missing")
    assert f.severity is Severity.ERROR and "anyone can send mail in its name" in f.message
    assert f.fix is not None and f.fix.value == "v=spf1 -all"
    assert report.checks["spf"].status is Status.FAIL


# -- 2. an MX target with the domain typed twice -------------------------------------------------------

def _mx_zone(mx_lines: str, extra: str = "") -> str:
    return f"$ORIGIN x.test.\n{mx_lines}\nmail A 192.0.2.25\nbackup A 192.0.2.26\nlocal A 127.0.0.1\n{extra}"


def _republish_mx(zone: str, old: str, new: str) -> str:
    return zone.replace(f"@ MX {old}", f"@ MX {new}")


def test_doubled_mx_name_gets_the_corrected_record_that_then_passes(dns_server: DnsTestServer) -> None:
    zone = _mx_zone("@ MX 10 mail.x.test.x.test.")
    mx = check_all(dns_server, {"x.test": zone}, "x.test", ("mx",)).checks["mx"]
    f = finding(mx, "mx.target-missing")
    assert f.severity is Severity.ERROR and "mail.x.test.x.test" in f.message
    assert f.fix is not None and (f.fix.host, f.fix.type, f.fix.value, f.fix.action) == (
        "x.test", "MX", "10 mail.x.test.", "replace")
    assert "10 mail.x.test.x.test." in f.fix.note and f.no_fix == ""
    again = check_all(dns_server, {"x.test": _republish_mx(zone, "10 mail.x.test.x.test.", f.fix.value)}, "x.test",
                      ("mx",)).checks["mx"]
    assert again.status is Status.PASS and codes(again) == []


def test_provider_mx_name_with_the_zone_appended_gets_the_provider_name(dns_server: DnsTestServer) -> None:
    provider = "$ORIGIN provider.test.\nmx1 CNAME mx1.pool\nmx1.pool A 198.51.100.7\n"
    zone = _mx_zone("@ MX 5 mx1.provider.test.x.test.\n@ MX 10 backup.x.test.")
    mx = check_all(dns_server, {"x.test": zone, "provider.test": provider}, "x.test", ("mx",)).checks["mx"]
    f = finding(mx, "mx.target-missing")
    # another server works: a warning, the corrected record first (the alias followed to its end), removal second
    assert f.severity is Severity.WARNING and f.fix is not None
    assert (f.fix.value, f.fix.action) == ("5 mx1.pool.provider.test.", "replace")
    assert [(a.value, a.action) for a in f.alternatives] == [("5 mx1.provider.test.x.test.", "remove")]
    fixed = _republish_mx(zone, "5 mx1.provider.test.x.test.", f.fix.value)
    again = check_all(dns_server, {"x.test": fixed, "provider.test": provider}, "x.test", ("mx",)).checks["mx"]
    assert again.status is Status.PASS and codes(again) == []


@pytest.mark.parametrize("target", ["nothere.x.test.x.test.", "local.x.test.x.test.", "mail.x.test.y.test."])
def test_no_corrected_mx_record_unless_the_meant_name_works(dns_server: DnsTestServer, target: str) -> None:
    """The guess is looked up before it is offered: a name that doesn't exist or has only a local address is not
    a fix (and a name under another zone is not the domain typed twice)."""
    zone = _mx_zone(f"@ MX 10 {target}")
    mx = check_all(dns_server, {"x.test": zone, "y.test": "$ORIGIN y.test.\n@ A 192.0.2.9\n"}, "x.test",
                   ("mx",)).checks["mx"]
    f = finding(mx, "mx.target-missing")
    assert f.severity is Severity.ERROR and f.fix is None and "Only you or your mail provider" in f.no_fix


def test_undoubled_names_takes_the_zone_off_once() -> None:
    from inboxready.core.records.misplaced import undoubled_names
    assert undoubled_names("mail.x.test.x.test.", "x.test") == ["mail.x.test"]
    assert undoubled_names("MX.Provider.Net.x.test", "x.test") == ["mx.provider.net"]
    assert undoubled_names("www.x.test", "x.test") == []  # one label left: a name of the zone, not a full name
    assert undoubled_names("mail.shop.x.test.shop.x.test", "shop.x.test")[0] == "mail.shop.x.test"
    assert undoubled_names("mail.x.test", "y.test") == []


# -- 3. the record that writes p= out goes under "p= missing" --------------------------------------------

NO_P = """$ORIGIN x.test.
_dmarc TXT "v=DMARC1; rua=mailto:d@x.test"
@ MX 10 mail.x.test.
mail A 192.0.2.25
@ TXT "v=spf1 mx -all"
shop A 192.0.2.80
shop MX 10 mail.x.test.
shop TXT "v=spf1 mx -all"
"""


@pytest.mark.parametrize("domain", ["x.test", "shop.x.test"])
def test_the_p_none_fix_is_shown_under_p_missing_not_under_move_to_quarantine(
        dns_server: DnsTestServer, domain: str) -> None:
    dmarc = check_all(dns_server, {"x.test": NO_P}, domain, ("dmarc",)).checks["dmarc"]
    missing = finding(dmarc, "dmarc.p-missing")
    assert missing.fix is not None and missing.fix.host == "_dmarc.x.test"
    assert missing.fix.value == "v=DMARC1; p=none; rua=mailto:d@x.test"
    shown = {s.finding.code: s for s in dmarc.presented()}
    assert shown["dmarc.p-missing"].fixes == (missing.fix,)
    assert all(s.fixes == () for code, s in shown.items() if code != "dmarc.p-missing")
    # published, "p= missing" is gone, and the ladder asks for its next step
    fixed = NO_P.replace('"v=DMARC1; rua=mailto:d@x.test"', f'"{missing.fix.value}"')
    again = check_all(dns_server, {"x.test": fixed}, domain, ("dmarc",)).checks["dmarc"]
    assert "dmarc.p-missing" not in codes(again)


# -- 4. rules after 'all': the words fit what they are ------------------------------------------------

def _spf_zone(record: str) -> str:
    return f'$ORIGIN x.test.\n@ MX 10 mail.x.test.\nmail A 192.0.2.25\n@ A 192.0.2.30\n@ TXT "{record}"\n'


def _spf_after_fix(server: DnsTestServer, record: str) -> CheckResult:
    spf = check_all(server, {"x.test": _spf_zone(record)}, "x.test", ("spf",)).checks["spf"]
    f = finding(spf, "spf.terms-after-all")
    assert f.fix is not None and f.fix.action == "replace"
    again = check_all(server, {"x.test": _spf_zone(f.fix.value)}, "x.test", ("spf",)).checks["spf"]
    assert "spf.terms-after-all" not in codes(again) and again.status is not Status.FAIL
    return spf


def test_a_second_all_after_all_lists_no_senders(dns_server: DnsTestServer) -> None:
    spf = _spf_after_fix(dns_server, "v=spf1 mx -all ~all")
    f = finding(spf, "spf.terms-after-all")
    assert f.severity is Severity.WARNING and spf.status is Status.WARN
    assert "1 rule ('~all') comes after '-all' and is never used" in f.message
    assert "allowing" not in f.message and "servers they list" not in f.message and "fails SPF" not in f.message
    assert f.fix is not None and f.fix.value.count("all") == 1
    assert "take effect" not in f.fix.note


def test_senders_after_all_are_named_and_the_verbs_agree(dns_server: DnsTestServer) -> None:
    spf = _spf_after_fix(dns_server, "v=spf1 -all mx a")
    f = finding(spf, "spf.terms-after-all")
    assert f.severity is Severity.ERROR
    assert "2 rules ('mx', 'a') come after '-all' and are never used" in f.message
    assert "mail from the servers listed by 'mx' and 'a' fails SPF" in f.message
    assert "starts allowing those senders" in f.message
    one = _spf_after_fix(dns_server, "v=spf1 ~all mx")
    assert "1 rule ('mx') comes after '~all' and is never used" in finding(one, "spf.terms-after-all").message


def test_a_fail_rule_after_all_is_moved_not_called_a_sender(dns_server: DnsTestServer) -> None:
    spf = _spf_after_fix(dns_server, "v=spf1 mx ~all -ip4:192.0.2.99 ?all")
    f = finding(spf, "spf.terms-after-all")
    assert f.severity is Severity.WARNING
    assert "2 rules ('-ip4:192.0.2.99', '?all') come after '~all' and are never used" in f.message
    assert "'-ip4:192.0.2.99' is moved before 'all', where it takes effect" in f.message
    assert f.fix is not None and f.fix.value == "v=spf1 mx -ip4:192.0.2.99 ~all"


# -- 5. MX localhost: one clear finding ------------------------------------------------------------------

@pytest.mark.parametrize("served", [True, False])  # resolvers answer 'localhost' themselves: 127.0.0.1 or NXDOMAIN
def test_mx_localhost_is_one_finding_not_missing_and_private(dns_server: DnsTestServer, served: bool) -> None:
    zones = {"x.test": '$ORIGIN x.test.\n@ MX 10 localhost.\n@ TXT "v=spf1 mx -all"\n'}
    if served:
        zones["localhost"] = "$ORIGIN localhost.\n@ A 127.0.0.1\n"
    mx = check_all(dns_server, zones, "x.test", ("mx",)).checks["mx"]
    assert codes(mx) == ["mx.target-private"] and mx.status is Status.FAIL
    f = mx.findings[0]
    assert f.severity is Severity.ERROR and "localhost" in f.message and "does not exist" not in f.message
    assert "Nobody can deliver mail to you" in f.message and f.fix is None and f.no_fix


def test_mx_localhost_beside_a_working_server_is_removed(dns_server: DnsTestServer) -> None:
    zone = '$ORIGIN x.test.\n@ MX 10 mail.x.test.\n@ MX 20 localhost.\nmail A 192.0.2.25\n@ TXT "v=spf1 mx -all"\n'
    mx = check_all(dns_server, {"x.test": zone}, "x.test", ("mx",)).checks["mx"]
    assert codes(mx) == ["mx.target-private"] and mx.status is Status.WARN
    f = mx.findings[0]
    assert f.fix is not None and (f.fix.value, f.fix.action) == ("20 localhost.", "remove")
    again = check_all(dns_server, {"x.test": zone.replace("@ MX 20 localhost.\n", "")}, "x.test", ("mx",))
    assert again.checks["mx"].status is Status.PASS


def test_a_missing_name_that_starts_with_localhost_is_only_missing(dns_server: DnsTestServer) -> None:
    zone = '$ORIGIN x.test.\n@ MX 10 localhost.x.test.\n@ TXT "v=spf1 mx -all"\n'
    mx = check_all(dns_server, {"x.test": zone}, "x.test", ("mx",)).checks["mx"]
    assert codes(mx) == ["mx.target-missing"]


# -- 6. a neutral ending reached through redirect= -----------------------------------------------------

def _redirect_zone(root: str, target: str, extra: str = "") -> str:
    return (f'$ORIGIN x.test.\n@ MX 10 mail.x.test.\nmail A 192.0.2.25\n@ TXT "{root}"\n_spf TXT "{target}"\n'
            + extra)


@pytest.mark.parametrize(("target", "extra", "words"), [
    ("v=spf1 ip4:192.0.2.0/24 ?all", "", "ends with '?all'"),
    ("v=spf1 ip4:192.0.2.0/24", "", "has no 'all' rule"),
    ("v=spf1 ip4:192.0.2.0/24 redirect=_spf2.x.test", '_spf2 TXT "v=spf1 ip4:198.51.100.0/24 ?all"\n',
     "(_spf.x.test → _spf2.x.test) ends with '?all'"),
])
def test_neutral_all_through_redirect_is_warned_and_fixed(dns_server: DnsTestServer, target: str, extra: str,
                                                           words: str) -> None:
    zone = _redirect_zone("v=spf1 mx redirect=_spf.x.test", target, extra)
    spf = check_all(dns_server, {"x.test": zone}, "x.test", ("spf",)).checks["spf"]
    f = finding(spf, "spf.neutral-all")
    assert f.severity is Severity.WARNING and spf.status is Status.WARN
    assert "_spf.x.test" in f.message and words in f.message
    assert f.fix is not None and f.fix.value == "v=spf1 mx include:_spf.x.test ~all"
    fixed = zone.replace('@ TXT "v=spf1 mx redirect=_spf.x.test"', f'@ TXT "{f.fix.value}"')
    again = check_all(dns_server, {"x.test": fixed}, "x.test", ("spf",)).checks["spf"]
    assert "spf.neutral-all" not in codes(again) and again.status is Status.PASS


@pytest.mark.parametrize("ending", ["~all", "-all"])
def test_a_redirect_to_a_record_that_fails_unlisted_servers_is_fine(dns_server: DnsTestServer, ending: str) -> None:
    zone = _redirect_zone("v=spf1 mx redirect=_spf.x.test", f"v=spf1 ip4:192.0.2.0/24 {ending}")
    spf = check_all(dns_server, {"x.test": zone}, "x.test", ("spf",)).checks["spf"]
    assert "spf.neutral-all" not in codes(spf)


# -- 7. plain sentences: a failed reverse lookup, and the reason there is no record ----------------------

def test_a_refused_reverse_lookup_reads_as_one_plain_sentence(dns_server: DnsTestServer) -> None:
    """The loopback server serves no reverse zone, so it answers the PTR question with REFUSED (it read "...
    the reverse lookup failed: the DNS server refused to answer for this name (REFUSED) (127.0.0.1:5353:
    REFUSED)")."""
    zone = '$ORIGIN x.test.\n@ MX 10 mail.x.test.\nmail A 192.0.2.25\n@ TXT "v=spf1 mx -all"\n'
    rdns = check_all(dns_server, {"x.test": zone}, "x.test", ("rdns",)).checks["rdns"]
    f = finding(rdns, "rdns.lookup-failed")
    assert f.severity is Severity.UNKNOWN and rdns.status is Status.ERROR
    assert f.message.count("(") == 1 and f.message.count("REFUSED") == 1 and ") (" not in f.message
    assert f.message.count(":") <= 2  # "...of 192.0.2.25: ... the DNS server 127.0.0.1:PORT refused ..."
    assert f"the DNS server {dns_server.address} refused to answer for this name (REFUSED)" in f.message


def test_describe_names_the_server_and_the_code_once() -> None:
    from inboxready.core.dns.client import DnsAnswer, Outcome
    one = DnsAnswer("x.test", "TXT", Outcome.SERVFAIL, error="192.0.2.53:53: SERVFAIL")
    assert one.describe == "the DNS server 192.0.2.53:53 reported a failure (SERVFAIL)"
    two = DnsAnswer("x.test", "TXT", Outcome.SERVFAIL, error="192.0.2.53:53: REFUSED; 192.0.2.54:53: REFUSED")
    assert two.describe == "the DNS servers 192.0.2.53:53 and 192.0.2.54:53 refused to answer for this name (REFUSED)"
    mixed = DnsAnswer("x.test", "TXT", Outcome.SERVFAIL, error="192.0.2.53:53: SERVFAIL; 192.0.2.54:53: REFUSED")
    assert mixed.describe == "the DNS servers 192.0.2.53:53 and 192.0.2.54:53 reported failures (REFUSED, SERVFAIL)"
    other = DnsAnswer("x.test", "TXT", Outcome.SERVFAIL, error="192.0.2.53:53: SERVFAIL; 192.0.2.54:53: weird")
    assert other.describe.count("SERVFAIL") == 1


def test_no_record_to_publish_is_followed_by_its_reason_not_a_second_no_record(dns_server: DnsTestServer) -> None:
    from io import StringIO

    from inboxready.app.cli.text import _Style, render_report
    zone = '$ORIGIN x.test.\n@ MX 10 mail.x.test.\nmail A 192.0.2.25\n@ TXT "v=spf1 mx -all"\n'
    report = check_all(dns_server, {"x.test": zone}, "nope.x.test", ("spf", "dmarc", "mx"))
    out = StringIO()
    render_report(report, out, _Style(False))
    text = " ".join(out.getvalue().split())
    assert text.count("No record to publish:") >= 2  # MX and DMARC of a name that doesn't exist
    assert "No record to publish: No record" not in text
    for r in report.checks.values():
        for f in r.findings:
            assert not f.no_fix.lower().startswith(("no record", "no fix")), f.no_fix
