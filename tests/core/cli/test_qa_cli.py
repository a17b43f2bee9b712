"""QA: the text the CLI prints, read as the small-business admin reads it."""

from __future__ import annotations

import io

from inboxready.app.cli import main
from inboxready.app.cli.text import _elide
from inboxready.core.dns.server import DnsTestServer

from ..records.test_dkim_parse import rsa_b64


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


TOO_MANY = """$ORIGIN busy.com.
@ MX 10 mx.busy.com.
mx A 192.0.2.30
@ TXT "v=spf1 a:void.busy.com mx include:big.prov.com include:_spf.prov.com -all"
_dmarc TXT "v=DMARC1; p=quarantine; rua=mailto:d@busy.com"
"""
PROV = ('$ORIGIN prov.com.\n_spf TXT "v=spf1 ip4:198.51.100.0/24 ~all"\n'
        'big TXT "v=spf1 include:a.prov.com include:b.prov.com include:c.prov.com -all"\n'
        + "".join(f'{x} TXT "v=spf1 a:h1.prov.com a:h2.prov.com a:h3.prov.com -all"\n' for x in "abc")
        + "h1 A 198.51.100.1\nh2 A 198.51.100.2\nh3 A 198.51.100.3\n")


def test_the_problem_comes_first_with_its_records_and_the_notes_say_where_their_fix_is(
        dns_server: DnsTestServer) -> None:
    """Issue 12 item 2 in the text output: too many lookups (the problem) first, its options numbered, the
    warning and the note it also solves after it, each pointing at it instead of repeating the record."""
    dns_server.add_origin("com")
    dns_server.add_zone("prov.com", PROV)
    dns_server.add_zone("busy.com", TOO_MANY)
    _, text = cli(dns_server, "check", "busy.com", "--only", "spf")
    lines = [ln for ln in text.splitlines() if ln.startswith("    ") and ln[4:5] in "✗!i"]
    assert [ln[4] for ln in lines] == ["✗", "!", "i"]
    assert "Checking your SPF takes 16 DNS lookups" in lines[0]
    # one option only: moved to a subdomain, include:big.prov.com would still need 13 lookups there
    assert "Option 1" not in text and "bounce-" not in text
    assert "      Replace with: TXT record at busy.com\n" in text
    assert "and publish: TXT record at big.prov.com._spf-flat.busy.com" in text
    assert "This also solves: “'a:void.busy.com' in your record points at void.busy.com" in text
    assert text.count("Fix: the record shown under “Checking your SPF takes 16 DNS lookups") == 2
    assert text.count("v=spf1 mx include:big.prov.com._spf-flat.busy.com include:_spf.prov.com ~all") == 1
