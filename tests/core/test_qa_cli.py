"""QA: the text the CLI prints, read as the small-business admin reads it."""

from __future__ import annotations

import io

from inboxready.app.cli import _elide, main
from inboxready.core.dnsserver import DnsTestServer

from .test_dkim_parse import rsa_b64


def cli(server: DnsTestServer, *argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([*argv, "-n", server.address, "--timeout", "1", "--color", "never"], out, err)
    return code, out.getvalue()


IDN = """$ORIGIN xn--bckerei-mller-bfb28a.de.
@ MX 10 mx.xn--bckerei-mller-bfb28a.de.
mx A 192.0.2.10
@ TXT "v=spf1 mx -all"
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:info@xn--bckerei-mller-bfb28a.de"
"""


def test_idn_domain_is_shown_as_typed_with_its_dns_form(dns_server: DnsTestServer) -> None:
    dns_server.add_origin("de")
    dns_server.add_zone("xn--bckerei-mller-bfb28a.de", IDN)
    code, text = cli(dns_server, "check", "bäckerei-müller.de")
    assert text.splitlines()[0].startswith("! bäckerei-müller.de (xn--bckerei-mller-bfb28a.de)")
    assert code == 1  # no DKIM key found: a warning


LONG_SPF = ("v=spf1 ip4:198.51.100.1 ip4:198.51.100.2 ip4:198.51.100.3 ip4:198.51.100.4 ip4:198.51.100.5 "
            "ip4:198.51.100.6 ip4:198.51.100.7 ip4:198.51.100.8 include:_spf.google.com ~all")


def test_spf_record_is_printed_whole_and_dkim_key_shortened(dns_server: DnsTestServer) -> None:
    key = "v=DKIM1; k=rsa; p=" + rsa_b64(2048)
    zone = ("$ORIGIN longspf.com.\n@ MX 10 mx.longspf.com.\nmx A 192.0.2.20\n"
            f'@ TXT "{LONG_SPF}"\n'
            f'default._domainkey TXT "{key[:200]}" "{key[200:]}"\n'
            '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:d@longspf.com"\n')
    dns_server.add_origin("com")
    dns_server.add_zone("google.com", '$ORIGIN google.com.\n_spf TXT "v=spf1 ip4:64.233.160.0/19 ~all"\n')
    dns_server.add_zone("longspf.com", zone)
    code, text = cli(dns_server, "check", "longspf.com")
    assert f"record: {LONG_SPF}\n" in text  # an SPF record is read and compared: never cut
    dkim_line = next(ln for ln in text.splitlines() if "default._domainkey" in ln)
    assert "…" in dkim_line and "characters)" in dkim_line and len(dkim_line) < 160


def test_elide_only_touches_base64_runs() -> None:
    assert _elide("v=DMARC1; p=none; rua=mailto:" + "a" * 50 + "@example.com").count("…") == 0
    assert _elide("v=DKIM1; p=" + "A" * 300).startswith("v=DKIM1; p=" + "A" * 24 + "…")


def test_one_record_that_fixes_two_findings_is_printed_once(dns_server: DnsTestServer) -> None:
    zone = ("$ORIGIN migrating.com.\n@ MX 10 mx.migrating.com.\nmx A 192.0.2.30\n"
            '@ TXT "v=spf1 include:_spf.google.com include:_spf.google.com ip4:203.0.113.90 ptr ~all"\n')
    dns_server.add_origin("com")
    dns_server.add_zone("google.com", '$ORIGIN google.com.\n_spf TXT "v=spf1 ip4:64.233.160.0/19 ~all"\n')
    dns_server.add_zone("migrating.com", zone)
    _, text = cli(dns_server, "check", "migrating.com")
    spf = text.split("  ✗ DKIM")[0].split("DKIM")[0]
    assert spf.count("v=spf1 include:_spf.google.com ip4:203.0.113.90 ~all") == 1
    assert "Fix: the record shown under “" in spf and "solves this too." in spf and "This also solves: “" in spf


def test_parked_domain_headline_says_the_bulk_rules_do_not_apply(dns_server: DnsTestServer) -> None:
    dns_server.add_origin("com")
    dns_server.add_zone("parked-shop.com", "$ORIGIN parked-shop.com.\n@ A 203.0.113.80\n")
    dns_server.add_zone("locked.com", '$ORIGIN locked.com.\n@ MX 0 .\n@ TXT "v=spf1 -all"\n'
                                      '_dmarc TXT "v=DMARC1; p=reject;"\n*._domainkey TXT "v=DKIM1; p="\n')
    dns_server.add_zone("parked-null.com", "$ORIGIN parked-null.com.\n@ MX 0 .\n")
    dns_server.add_zone("real.com", "$ORIGIN real.com.\n@ MX 0 .\n")
    _, text = cli(dns_server, "check", "parked-shop.com", "locked.com", "parked-null.com", "ghost.real.com", "-q")
    heads = [ln.strip() for ln in text.splitlines() if ln.startswith("  ") and not ln.startswith("   ")
             and ln.strip()[:1] not in "✓✗!?i"]
    assert heads == [
        "This domain looks unused for email (no MX and no SPF record); the bulk-sender rules only matter once "
        "it sends mail.",
        "This domain says it sends no mail, so the bulk-sender rules don't apply to it.",
        "This domain says it sends no mail, so the bulk-sender rules don't apply to it.",
        "This domain does not exist in DNS, so it can't send mail at all; check the spelling.",
    ]


def test_spf_command_names_the_matching_rule_once(dns_server: DnsTestServer) -> None:
    dns_server.add_origin("com")
    dns_server.add_zone("one.com", '$ORIGIN one.com.\n@ TXT "v=spf1 ip4:192.0.2.1 -all"\n')
    code, text = cli(dns_server, "spf", "one.com", "--ip", "192.0.2.1")
    assert code == 0 and "  matched:" not in text and "(matched 'ip4:192.0.2.1')" in text
