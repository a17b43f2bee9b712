"""QA: DMARC as small businesses publish it (quoted records, report services, subdomains, odd spelling).

Each case is a zone; every record the check suggests is published and checked again.
"""

from __future__ import annotations

from inboxready.core.checks import dmarc
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import CheckResult, Fix, Status

from ...conftest import make_ctx, run

MX = "@ MX 10 mx.example.net.\n"  # every domain here receives mail


def check(server: DnsTestServer, zones: dict[str, str], domain: str) -> CheckResult:
    for tld in ("com", "net", "example"):
        server.add_origin(tld)
    for origin, text in zones.items():
        server.replace_zone(origin, text)

    async def go() -> CheckResult:
        return await dmarc.check(make_ctx(server, domain))

    return run(go())


def codes(r: CheckResult) -> list[str]:
    return [f.code for f in r.findings]


def finding(r: CheckResult, code: str):  # type: ignore[no-untyped-def]
    found = [f for f in r.findings if f.code == code]
    assert found, f"{code} not in {codes(r)}"
    return found[0]


def with_fix(zone: str, origin: str, fix: Fix) -> str:
    """``zone`` with the TXT at ``fix.host`` replaced by the fix."""
    rel = fix.host[: -len(origin) - 1] if fix.host != origin else "@"
    kept = [ln for ln in zone.splitlines() if not ln.startswith(rel + " TXT")]
    return "\n".join(kept + [fix.zone_line]) + "\n"


# -- a record pasted with its quotes ----------------------------------------------------------------

QUOTED = '$ORIGIN quoted.com.\n' + MX + '_dmarc TXT "\\"v=DMARC1; p=none; rua=mailto:dmarc@quoted.com\\""\n'


def test_quoted_record_is_named_as_such_and_repaired_keeping_its_report_address(dns_server: DnsTestServer) -> None:
    r = check(dns_server, {"quoted.com": QUOTED}, "quoted.com")
    assert r.status is Status.FAIL and "dmarc.unrelated-txt" not in codes(r)
    f = finding(r, "dmarc.invalid-record")
    assert "quotation marks" in f.message
    assert f.fix is not None and f.fix.action == "replace"
    assert f.fix.value == "v=DMARC1; p=none; rua=mailto:dmarc@quoted.com"  # not dmarc-reports@: theirs kept
    again = check(dns_server, {"quoted.com": with_fix(QUOTED, "quoted.com", f.fix)}, "quoted.com")
    assert again.status is Status.WARN and again.detail["policy"] == "none" and again.detail["rua"] == [
        "mailto:dmarc@quoted.com"]


# -- a report address with a trailing dot -----------------------------------------------------------

TRAILING = '$ORIGIN trailing.com.\n' + MX + '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@trailing.com."\n'


def test_report_address_ending_in_a_dot_warns_and_the_fix_drops_the_dot(dns_server: DnsTestServer) -> None:
    r = check(dns_server, {"trailing.com": TRAILING}, "trailing.com")
    assert r.status is Status.WARN
    assert "ends with a dot" in finding(r, "dmarc.uri-trailing-dot").message
    fix = r.fixes[0]
    assert fix.value == "v=DMARC1; p=reject; rua=mailto:dmarc@trailing.com"
    again = check(dns_server, {"trailing.com": with_fix(TRAILING, "trailing.com", fix)}, "trailing.com")
    assert again.status is Status.PASS and again.fixes == []


# -- an inheriting subdomain: the tag that applies is named -------------------------------------------

ACME = ('$ORIGIN acme-parts.com.\n' + MX
        + '_dmarc TXT "v=DMARC1; p=reject; sp=quarantine; rua=mailto:dmarc@acme-parts.com"\n'
        + 'news MX 10 mx.example.net.\n')


def test_subdomain_inheriting_sp_names_sp_not_p(dns_server: DnsTestServer) -> None:
    r = check(dns_server, {"acme-parts.com": ACME}, "news.acme-parts.com")
    assert r.detail["policy"] == "quarantine" and r.detail["inherited"] is True
    assert "(sp=quarantine)" in r.summary and "p=quarantine)" not in r.summary.replace("sp=quarantine", "")
    assert "(sp=quarantine)" in finding(r, "dmarc.policy-quarantine").message


# -- a subdomain that does not exist: np decides, and the fix goes to the organisational record -------

NP_NONE = '$ORIGIN shop-np.com.\n' + MX + '_dmarc TXT "v=DMARC1; p=reject; np=none; rua=mailto:d@shop-np.com"\n'


def test_nonexistent_subdomain_is_fixed_with_np_in_the_parent_record(dns_server: DnsTestServer) -> None:
    r = check(dns_server, {"shop-np.com": NP_NONE}, "ghost.shop-np.com")
    assert r.status is Status.WARN and r.detail["policy"] == "none"
    assert "does not exist" in r.summary and "np=none" in r.summary
    assert "dmarc.policy-none" not in codes(r)  # "once the reports show all your real mail..." is nonsense here
    f = finding(r, "dmarc.np-weak")
    assert f.fix is not None and f.fix.host == "_dmarc.shop-np.com" and f.fix.action == "replace"
    assert f.fix.value == "v=DMARC1; p=reject; np=reject; rua=mailto:d@shop-np.com"
    again = check(dns_server, {"shop-np.com": with_fix(NP_NONE, "shop-np.com", f.fix)}, "ghost.shop-np.com")
    assert again.status is Status.PASS and again.detail["policy"] == "reject" and again.fixes == []


# -- external report address: authorised or not -------------------------------------------------------

SERVICE = '$ORIGIN dmarc-service.example.\nallowed.com._report._dmarc TXT "v=DMARC1"\n'
EXTERNAL = '$ORIGIN {d}.\n' + MX + '_dmarc TXT "v=DMARC1; p=none; rua=mailto:x@dmarc-service.example"\n'


def test_external_report_address_authorised_moves_on_to_quarantine(dns_server: DnsTestServer) -> None:
    zone = EXTERNAL.format(d="allowed.com")
    r = check(dns_server, {"dmarc-service.example": SERVICE, "allowed.com": zone}, "allowed.com")
    assert r.detail["external_destinations"][0]["authorized"] is True
    assert "dmarc.external-unverified" not in codes(r)
    assert "you get reports" in finding(r, "dmarc.policy-none").message
    assert r.fixes[0].value == "v=DMARC1; p=quarantine; rua=mailto:x@dmarc-service.example"


def test_external_report_address_not_authorised_says_no_reports_and_no_quarantine_yet(
        dns_server: DnsTestServer) -> None:
    zone = EXTERNAL.format(d="denied.com")
    r = check(dns_server, {"dmarc-service.example": SERVICE, "denied.com": zone}, "denied.com")
    assert r.detail["external_destinations"][0]["authorized"] is False
    f = finding(r, "dmarc.external-unverified")
    assert f.fix is not None and f.fix.host == "denied.com._report._dmarc.dmarc-service.example"
    none = finding(r, "dmarc.policy-none")
    assert "you get reports" not in none.message and "Set up the reports first" in none.message
    # No "move to quarantine once the reports show..." while no report can arrive: the only fix is the
    # authorisation record, which (published by the service) makes the domain move on.
    assert [x.host for x in r.fixes] == ["denied.com._report._dmarc.dmarc-service.example"]
    service = SERVICE + f.fix.zone_line + "\n"
    again = check(dns_server, {"dmarc-service.example": service, "denied.com": zone}, "denied.com")
    assert again.detail["external_destinations"][0]["authorized"] is True
    assert again.fixes[0].value == "v=DMARC1; p=quarantine; rua=mailto:x@dmarc-service.example"


def test_monitoring_without_rua_does_not_claim_reports_arrive(dns_server: DnsTestServer) -> None:
    zone = '$ORIGIN norua.com.\n' + MX + '_dmarc TXT "v=DMARC1; p=none"\n'
    r = check(dns_server, {"norua.com": zone}, "norua.com")
    assert "you get reports" not in finding(r, "dmarc.policy-none").message
    assert r.fixes[0].value == "v=DMARC1; p=none; rua=mailto:dmarc-reports@norua.com"


# -- mixed case and odd spacing are valid (RFC 9989 ABNF: only DMARC1 is case-sensitive) ---------------

def test_mixed_case_and_spacing_read_as_written(dns_server: DnsTestServer) -> None:
    zone = ('$ORIGIN oddcase.com.\n' + MX
            + '_dmarc TXT "V=DMARC1 ; P = Quarantine ; RUA = mailto:DMARC@oddcase.com ;"\n')
    r = check(dns_server, {"oddcase.com": zone}, "oddcase.com")
    assert r.status is Status.PASS and r.detail["policy"] == "quarantine"
    assert r.fixes[0].value == "v=DMARC1; p=reject; rua=mailto:DMARC@oddcase.com"


# -- a CNAME'd _dmarc (hosted by a DMARC service) -------------------------------------------------------

def test_cname_dmarc_is_followed_and_the_service_record_judged(dns_server: DnsTestServer) -> None:
    service = ('$ORIGIN dmarc-service.example.\nhosted TXT "v=DMARC1; p=quarantine; rua=mailto:agg@dmarc-service.example"\n'
               '*._report._dmarc TXT "v=DMARC1"\n')
    zone = '$ORIGIN cname-dmarc.com.\n' + MX + '_dmarc CNAME hosted.dmarc-service.example.\n'
    r = check(dns_server, {"dmarc-service.example": service, "cname-dmarc.com": zone}, "cname-dmarc.com")
    assert r.status is Status.PASS and r.detail["policy"] == "quarantine"
    assert "dmarc.via-cname" in codes(r) and "dmarc.external-unverified" not in codes(r)
    assert "alias (CNAME)" in r.fixes[0].note


def test_test_mode_summary_says_what_receivers_do(dns_server: DnsTestServer) -> None:
    zone = '$ORIGIN testmode.com.\n' + MX + '_dmarc TXT "v=DMARC1; p=reject; t=y; rua=mailto:d@testmode.com"\n'
    r = check(dns_server, {"testmode.com": zone}, "testmode.com")
    assert r.summary == "DMARC is in test mode (t=y): failing mail goes to spam instead of being rejected (p=reject)."
    zone = '$ORIGIN testmode.com.\n' + MX + '_dmarc TXT "v=DMARC1; p=quarantine; t=y; rua=mailto:d@testmode.com"\n'
    r = check(dns_server, {"testmode.com": zone}, "testmode.com")
    assert "failing mail is still delivered" in r.summary and r.status is Status.WARN


def test_strict_alignment_example_uses_the_domain_itself(dns_server: DnsTestServer) -> None:
    zone = '$ORIGIN strict.com.\n' + MX + '_dmarc TXT "v=DMARC1; p=none; adkim=s; rua=mailto:d@strict.com"\n'
    r = check(dns_server, {"strict.com": zone}, "strict.com")
    assert "bounces.strict.com" in finding(r, "dmarc.strict-alignment").message


def test_nonexistent_subdomain_without_np_explains_the_fallback(dns_server: DnsTestServer) -> None:
    zone = '$ORIGIN spnone.com.\n' + MX + '_dmarc TXT "v=DMARC1; p=reject; sp=none; rua=mailto:d@spnone.com"\n'
    r = check(dns_server, {"spnone.com": zone}, "ghost.spnone.com")
    f = finding(r, "dmarc.np-weak")
    assert "has no np= tag" in f.message and "sp=none" in f.message
    assert f.fix is not None and f.fix.value == "v=DMARC1; p=reject; sp=none; np=reject; rua=mailto:d@spnone.com"
    again = check(dns_server, {"spnone.com": with_fix(zone, "spnone.com", f.fix)}, "ghost.spnone.com")
    assert again.status is Status.PASS and again.detail["policy"] == "reject"
    # The existing subdomains keep sp=none: the fix changed only what the owner asked about.
    shop = check(dns_server, {"spnone.com": with_fix(zone, "spnone.com", f.fix) + "shop MX 10 mx.example.net.\n"},
                 "shop.spnone.com")
    assert shop.detail["policy"] == "none"
