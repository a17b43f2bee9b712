"""QA: DKIM as Google Workspace, Microsoft 365 and small-business admins publish it."""

from __future__ import annotations

from inboxready.core.checks import dkim
from inboxready.core.records import dkim_key
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import CheckResult, Fix, Status

from ...conftest import make_ctx, run
from ..records.test_dkim_parse import rsa_b64

RSA2048 = rsa_b64(2048)


def check(server: DnsTestServer, zones: dict[str, str], domain: str) -> CheckResult:
    server.add_origin("com")
    for origin, text in zones.items():
        server.replace_zone(origin, text)

    async def go() -> CheckResult:
        return await dkim.check(make_ctx(server, domain))

    return run(go())


def codes(r: CheckResult) -> list[str]:
    return [f.code for f in r.findings]


def strings(value: str) -> str:
    return Fix("x", "TXT", value).zone_value


# -- Google Workspace: google._domainkey, 2048 bits, split into two strings ----------------------------

def test_google_workspace_2048_bit_key_split_in_strings_passes(dns_server: DnsTestServer) -> None:
    key = "v=DKIM1; k=rsa; p=" + RSA2048
    zone = ("$ORIGIN gw-bakery.com.\n@ MX 1 smtp.google.com.\n@ TXT \"v=spf1 include:_spf.google.com ~all\"\n"
            f'google._domainkey TXT "{key[:120]}" "{key[120:360]}" "{key[360:]}"\n')  # split inside the base64
    r = check(dns_server, {"gw-bakery.com": zone}, "gw-bakery.com")
    assert r.status is Status.PASS and codes(r) == []
    assert r.summary == "DKIM is set up with 1 active key, at selector google (Google Workspace)."
    (entry,) = r.detail["found"]
    assert (entry["selector"], entry["key_bits"], entry["provider"]) == ("google", 2048, "Google Workspace")


# -- Microsoft 365: selector1/selector2 by CNAME to the tenant ------------------------------------------

M365 = """$ORIGIN {d}.
@ MX 0 {dash}.mail.protection.outlook.com.
@ TXT "v=spf1 include:spf.protection.outlook.com -all"
selector1._domainkey CNAME selector1-{dash}._domainkey.{tenant}.onmicrosoft.com.
selector2._domainkey CNAME selector2-{dash}._domainkey.{tenant}.onmicrosoft.com.
"""


def test_microsoft_365_with_dkim_switched_on_passes(dns_server: DnsTestServer) -> None:
    zone = M365.format(d="contoso-law.com", dash="contoso-law-com", tenant="contosolaw")
    tenant = ("$ORIGIN onmicrosoft.com.\n"
              f"selector1-contoso-law-com._domainkey.contosolaw TXT {strings('v=DKIM1; k=rsa; p=' + RSA2048)}\n"
              f"selector2-contoso-law-com._domainkey.contosolaw TXT {strings('v=DKIM1; k=rsa; p=' + RSA2048)}\n")
    r = check(dns_server, {"contoso-law.com": zone, "onmicrosoft.com": tenant}, "contoso-law.com")
    assert r.status is Status.PASS and codes(r) == []
    assert {(e["selector"], e["provider"], e["cname"]) for e in r.detail["found"]} == {
        ("selector1", "Microsoft 365", "selector1-contoso-law-com._domainkey.contosolaw.onmicrosoft.com"),
        ("selector2", "Microsoft 365", "selector2-contoso-law-com._domainkey.contosolaw.onmicrosoft.com")}


def test_microsoft_365_with_dkim_not_switched_on_says_so_not_tell_us_your_selector(
        dns_server: DnsTestServer) -> None:
    zone = M365.format(d="fabrikam-shop.com", dash="fabrikam-shop-com", tenant="fabrikamshop")
    r = check(dns_server, {"fabrikam-shop.com": zone, "onmicrosoft.com": "$ORIGIN onmicrosoft.com.\n"},
              "fabrikam-shop.com")
    assert r.status is Status.WARN
    assert codes(r) == ["dkim.cname-broken", "dkim.cname-broken", "dkim.no-key-found"]
    assert r.summary.startswith("DKIM is prepared but not switched on: selector1 (Microsoft 365), "
                                "selector2 (Microsoft 365) point to keys")
    last = r.findings[-1].message
    assert "switch on DKIM signing" in last and "tell us yours" not in last


# -- a key pasted with its zone-file quotes ----------------------------------------------------------

def test_key_pasted_with_quotes_gets_the_unquoted_key_as_fix(dns_server: DnsTestServer) -> None:
    key = "v=DKIM1; k=rsa; p=" + RSA2048
    # What a DNS panel stores when '"v=DKIM1; k=rsa; " "p=MIIB..."' is pasted into its value box.
    pasted = f'"{key[:16]}" "{key[16:]}"'
    base = "$ORIGIN quoted.com.\n@ MX 1 smtp.google.com.\n@ TXT \"v=spf1 include:_spf.google.com ~all\"\n"
    zone = base + f"google._domainkey TXT {strings(pasted)}\n"
    r = check(dns_server, {"quoted.com": zone}, "quoted.com")
    assert r.status is Status.FAIL and codes(r) == ["dkim.malformed-key"]
    f = r.findings[0]
    assert "quotation marks" in f.message
    assert f.fix is not None and (f.fix.host, f.fix.value, f.fix.action) == (
        "google._domainkey.quoted.com", key, "replace")
    again = check(dns_server, {"quoted.com": base + f"google._domainkey TXT {f.fix.zone_value}\n"}, "quoted.com")
    assert again.status is Status.PASS and codes(again) == []


def test_repair_leaves_real_damage_alone() -> None:
    assert dkim_key.repair_dkim_key('"v=DKIM1; k=rsa; p=AAAA"') is None  # not a key even without quotes
    assert dkim_key.repair_dkim_key("v=DKIM1; k=rsa; p=" + RSA2048) is None  # nothing to repair


# -- a domain that doesn't exist; a locked-down domain -------------------------------------------------

def test_nonexistent_domain_is_not_asked_for_a_selector(dns_server: DnsTestServer) -> None:
    r = check(dns_server, {"real.com": "$ORIGIN real.com.\n@ MX 1 mx.real.com.\n"}, "ghost.real.com")
    assert r.status is Status.INFO and codes(r) == ["dkim.domain-not-found"]
    assert "does not exist" in r.summary


def test_locked_down_domain_says_it_once(dns_server: DnsTestServer) -> None:
    zone = ('$ORIGIN locked.com.\n@ MX 0 .\n@ TXT "v=spf1 -all"\n_dmarc TXT "v=DMARC1; p=reject;"\n'
            '*._domainkey TXT "v=DKIM1; p="\n')
    r = check(dns_server, {"locked.com": zone}, "locked.com")
    assert r.status is Status.INFO and codes(r) == ["dkim.wildcard-revoked", "dkim.no-mail"]
    assert "revoked" not in r.findings[1].message and r.fixes == []
