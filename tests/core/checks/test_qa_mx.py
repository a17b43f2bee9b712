"""QA: MX as hosted mail services publish it, and the mistakes small businesses make with it."""

from __future__ import annotations

from inboxready.core.checks import mx
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import CheckResult, Status

from ...conftest import make_ctx, run


def check(server: DnsTestServer, zones: dict[str, str], domain: str) -> CheckResult:
    for tld in ("com", "de"):
        server.add_origin(tld)
    for origin, text in zones.items():
        server.replace_zone(origin, text)

    async def go() -> CheckResult:
        return await mx.check(make_ctx(server, domain))

    return run(go())


def codes(r: CheckResult) -> list[str]:
    return [f.code for f in r.findings]


GOOGLE = "$ORIGIN google.com.\nsmtp A 142.250.27.26\nghs CNAME ghs.googlehosted.com.\n"
GHS = "$ORIGIN googlehosted.com.\nghs A 142.250.74.19\n"


def test_google_workspace_single_mx_passes(dns_server: DnsTestServer) -> None:
    r = check(dns_server, {"google.com": GOOGLE, "gw.com": "$ORIGIN gw.com.\n@ MX 1 smtp.google.com.\n"}, "gw.com")
    assert r.status is Status.PASS and codes(r) == [] and r.summary == "Mail for gw.com goes to 1 server: smtp.google.com."


def test_mx_on_a_cname_fix_points_at_the_target_and_passes(dns_server: DnsTestServer) -> None:
    zone = "$ORIGIN mxcname.com.\n@ MX 10 mail.mxcname.com.\nmail CNAME ghs.google.com.\n"
    zones = {"google.com": GOOGLE, "googlehosted.com": GHS, "mxcname.com": zone}
    r = check(dns_server, zones, "mxcname.com")
    assert r.status is Status.WARN and codes(r) == ["mx.target-cname"]
    fix = r.findings[0].fix
    # The alias chain is followed to its end: ghs.google.com is itself an alias.
    assert fix is not None and (fix.host, fix.value, fix.action) == ("mxcname.com", "10 ghs.googlehosted.com.", "replace")
    assert "A/AAAA" in fix.note
    zones["mxcname.com"] = "$ORIGIN mxcname.com.\n" + fix.zone_line + "\n"
    again = check(dns_server, zones, "mxcname.com")
    assert again.status is Status.PASS and codes(again) == []


def test_idn_domain_mx_is_checked_under_its_dns_name(dns_server: DnsTestServer) -> None:
    zone = "$ORIGIN xn--bckerei-mller-bfb28a.de.\n@ MX 10 mx.xn--bckerei-mller-bfb28a.de.\nmx A 192.0.2.10\n"
    r = check(dns_server, {"xn--bckerei-mller-bfb28a.de": zone}, "xn--bckerei-mller-bfb28a.de")
    assert r.status is Status.PASS and r.detail["hosts"][0]["host"] == "mx.xn--bckerei-mller-bfb28a.de"


def test_mixed_case_mx_target_is_one_host(dns_server: DnsTestServer) -> None:
    zone = "$ORIGIN oddcase.com.\n@ MX 10 MAIL.OddCase.com.\n@ MX 20 mail.oddcase.com.\nmail A 203.0.113.40\n"
    r = check(dns_server, {"oddcase.com": zone}, "oddcase.com")
    assert codes(r) == ["mx.duplicate-host"] and r.status is Status.WARN


def test_mx_host_in_a_cname_loop_is_couldnt_check_that_names_the_loop(dns_server: DnsTestServer) -> None:
    """A CNAME loop at the mail server's name is "couldn't check" that says so, never "try again later" (it
    said "DNS didn't answer properly... Try again later": waiting never cures a loop)."""
    zone = "$ORIGIN loopmx.com.\n@ MX 10 mail.loopmx.com.\nmail CNAME mail2\nmail2 CNAME mail\n"
    r = check(dns_server, {"loopmx.com": zone}, "loopmx.com")
    assert r.status is Status.ERROR and codes(r) == ["mx.target-unchecked"]
    msg = r.findings[0].message
    assert "loop" in msg and "mail.loopmx.com" in msg and "Try again later" not in msg
    assert "correct" in msg  # what to do: the records need correcting
