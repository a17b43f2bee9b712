"""Review M2 and the bounce minors: the record that lets the sending server pass changes only what it says
(the user's '-all' kept), sits under the error it fixes, and says every change it makes; no stricter DMARC
policy while the bounced mail fails SPF or DKIM; a block-list bounce never offers to authorise the listed
server; the SPF domain in Gmail's words is used when nothing else names the domain; "Sent as" in words."""

from __future__ import annotations

import io
from pathlib import Path

from inboxready.app.cli import main
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import Severity, Status

from .dsnmaker import IP, postfix_dsn
from .test_act import GMAIL, UNAUTH, ZONE, analyze, publish, serve

# DMARC at quarantine, '-all', and no DKIM key: the reviewer's demo-nodkim story
QUARANTINE = ZONE.replace("p=reject", "p=quarantine")


def cli(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue()


def test_the_record_for_the_sending_server_changes_only_that(dns_server: DnsTestServer) -> None:
    serve(dns_server, QUARANTINE)
    r = analyze(dns_server, postfix_dsn(UNAUTH.format(ip=IP), recipient=GMAIL[0], remote_mta=GMAIL[1]))
    spf = r.checks["spf"]
    err = next(f for f in spf.findings if f.code == "bounce.sender-not-in-spf")
    assert err.fix is not None and err.fix.value == "v=spf1 mx ip4:192.0.2.55 -all"  # '-all' kept
    assert "It also" not in err.fix.note
    note = next(f for f in spf.findings if f.code == "spf.all-hardfail-early")  # the suggestion keeps its own record
    assert note.fix is not None and note.fix != err.fix and note.fix.value.endswith("~all")
    shown = spf.presented()
    assert shown[0].finding.code == "bounce.sender-not-in-spf" and list(shown[0].fixes) == [err.fix]
    # published, the sending server passes and nothing gets worse
    serve(dns_server, publish(dns_server, QUARANTINE, err.fix))
    again = analyze(dns_server, postfix_dsn(UNAUTH.format(ip=IP), recipient=GMAIL[0], remote_mta=GMAIL[1]))
    assert any(f.code == "bounce.spf-passes-now" for f in again.checks["spf"].findings)


def test_a_correction_carried_over_is_said(dns_server: DnsTestServer) -> None:
    """When the SPF card's corrected record fixes a real problem (here a rule that points at nothing), the
    record for the sending server carries it, and its note says so."""
    serve(dns_server, ZONE.replace("v=spf1 mx -all", "v=spf1 mx a:gone.shop.example -all"))
    r = analyze(dns_server, postfix_dsn(UNAUTH.format(ip=IP), recipient=GMAIL[0], remote_mta=GMAIL[1]))
    err = next(f for f in r.checks["spf"].findings if f.code == "bounce.sender-not-in-spf")
    assert err.fix is not None and "a:gone.shop.example" not in err.fix.value and IP in err.fix.value
    assert "It also removes 'a:gone.shop.example'" in err.fix.note


def test_no_stricter_dmarc_while_the_bounced_mail_fails(dns_server: DnsTestServer, tmp_path: Path) -> None:
    serve(dns_server, QUARANTINE)
    raw = postfix_dsn(UNAUTH.format(ip=IP), recipient=GMAIL[0], remote_mta=GMAIL[1])
    r = analyze(dns_server, raw)
    dmarc = r.checks["dmarc"]
    assert not any("p=reject" in fx.value for f in dmarc.findings for fx in f.options)
    assert not any(fx.host.startswith("_dmarc.") for fx in r.fixes)
    held = next(f for f in dmarc.findings if f.code == "dmarc.policy-quarantine")
    assert "not yet" in held.no_fix and "SPF and DKIM" in held.no_fix
    f = tmp_path / "b.eml"
    f.write_bytes(raw)
    code, text = cli("bounce", str(f), "-n", dns_server.address, "--timeout", "1.5", "--color", "never")
    assert "Next step: p=reject" not in text and "No record to publish: not yet" in text
    # the record under the error, never "the same record as above"
    lines = text.splitlines()
    i = next(i for i, x in enumerate(lines) if "✗ The server that sent this message" in x)
    assert any("v=spf1 mx ip4:192.0.2.55 -all" in x for x in lines[i:i + 8]), lines[i:i + 8]
    assert "same record as above" not in text


def test_a_block_list_bounce_never_offers_to_authorise_the_listed_server(dns_server: DnsTestServer) -> None:
    serve(dns_server)
    raw = postfix_dsn(f"550 5.7.1 Service unavailable, Client host [{IP}] blocked using Spamhaus. To request removal "
                      f"from this list see https://www.spamhaus.org/query/ip/{IP} AS(1442)",
                      recipient="bob@outlook.com", remote_mta="outlook-com.olc.protection.outlook.com")
    r = analyze(dns_server, raw)
    assert r.context and r.classification.category == "reputation"
    assert not any(IP in fx.value and fx.value.lower().startswith("v=spf1") for fx in r.fixes)
    spf = r.checks["spf"]
    f = next(x for x in spf.findings if x.code == "bounce.blocked-server-not-in-spf")
    assert f.fix is None and f.severity is Severity.WARNING and "don't add it" in f.message
    assert "SPF also needs" not in r.explanation and "SPF and" not in r.explanation.split("also need")[0][-40:]
    assert "someone else may be sending mail in your name" in r.explanation


def test_the_spf_domain_in_gmails_words_is_checked_when_nothing_else_names_it(dns_server: DnsTestServer,
                                                                              tmp_path: Path) -> None:
    serve(dns_server)
    text = UNAUTH.format(ip=IP)  # pasted words only: no returned message, no From
    r = analyze(dns_server, text)
    assert r.domain == "shop.example" and r.domain_how == "envelope" and set(r.checks) >= {"spf", "dkim", "dmarc"}
    assert not any(f.code == "bounce.no-domain" for f in r.findings)
    assert any(f.code == "bounce.domain-from-spf" for f in r.findings)
    assert r.from_domain_how.startswith("the domain SPF was checked for")
    f = tmp_path / "b.txt"
    f.write_text(text)
    code, out = cli("bounce", str(f), "-n", dns_server.address, "--timeout", "1.5", "--color", "never")
    assert "Sent as: shop.example (the domain SPF was checked for, from the receiver's words)" in out
    assert "couldn't tell which domain" not in out
    code, out = cli("bounce", str(f), "--domain", "shop.example", "-n", dns_server.address, "--timeout", "1.5",
                    "--color", "never")
    assert "Sent as: shop.example (you gave it)" in out and "from you gave it" not in out
    assert r.checks["spf"].status is Status.FAIL


def test_a_suggestion_about_the_spf_record_never_takes_the_sending_server_away(dns_server: DnsTestServer) -> None:
    """Two SPF records offered on one card (the sending server added; '-all' to '~all'): publishing the second
    after the first must not drop the server again. The suggestion's record builds on the first, is checked as
    if published, and says so."""
    serve(dns_server, QUARANTINE)
    r = analyze(dns_server, postfix_dsn(UNAUTH.format(ip=IP), recipient=GMAIL[0], remote_mta=GMAIL[1]))
    spf = r.checks["spf"]
    err = next(f for f in spf.findings if f.code == "bounce.sender-not-in-spf")
    note = next(f for f in spf.findings if f.code == "spf.all-hardfail-early")
    assert err.fix is not None and note.fix is not None
    assert note.fix.value == f"v=spf1 mx ip4:{IP} ~all", note.fix.value
    assert f"also adds ip4:{IP}" in note.fix.note and "not both" in note.fix.note
    spf_records = [fx.value for f in spf.findings for fx in f.options if fx.value.startswith("v=spf1")]
    assert all(f"ip4:{IP}" in v for v in spf_records), spf_records
    serve(dns_server, publish(dns_server, QUARANTINE, note.fix))  # published, the server passes
    again = analyze(dns_server, postfix_dsn(UNAUTH.format(ip=IP), recipient=GMAIL[0], remote_mta=GMAIL[1]))
    assert any(f.code == "bounce.spf-passes-now" for f in again.checks["spf"].findings)


def test_rebase_spf_applies_the_suggestions_change_to_the_new_record() -> None:
    from inboxready.core.bounce.act import _rebase_spf

    live = "v=spf1 mx a:old.example -all"
    assert _rebase_spf(live, "v=spf1 mx a:old.example ~all", "v=spf1 mx a:old.example ip4:192.0.2.9 -all") == \
        "v=spf1 mx a:old.example ip4:192.0.2.9 ~all"
    assert _rebase_spf(live, "v=spf1 mx include:_spf.x.example -all",
                       "v=spf1 mx a:old.example ip4:192.0.2.9 -all") == \
        "v=spf1 mx ip4:192.0.2.9 include:_spf.x.example -all"
    assert _rebase_spf("v=spf1 mx redirect=_spf.x.example", "v=spf1 mx include:y.example redirect=_spf.x.example",
                       "v=spf1 mx ip4:192.0.2.9 redirect=_spf.x.example") == \
        "v=spf1 mx ip4:192.0.2.9 include:y.example redirect=_spf.x.example"
    assert _rebase_spf("", "v=spf1 ~all", "v=spf1 -all") == ""


def test_the_suggestion_builds_on_a_record_that_carries_a_correction_too(dns_server: DnsTestServer) -> None:
    """The record for the sending server carries the card's correction (a rule that points at nothing); the
    '-all' suggestion's record keeps both the correction and the server."""
    serve(dns_server, QUARANTINE.replace("v=spf1 mx -all", "v=spf1 mx a:gone.shop.example -all"))
    r = analyze(dns_server, postfix_dsn(UNAUTH.format(ip=IP), recipient=GMAIL[0], remote_mta=GMAIL[1]))
    spf = r.checks["spf"]
    err = next(f for f in spf.findings if f.code == "bounce.sender-not-in-spf")
    assert err.fix is not None and "a:gone.shop.example" not in err.fix.value and IP in err.fix.value
    assert "changes '-all' to '~all'" in err.fix.note and "removes 'a:gone.shop.example'" in err.fix.note
    for f in spf.findings:
        for fx in f.options:
            if fx.value.startswith("v=spf1"):
                assert IP in fx.value and "a:gone.shop.example" not in fx.value, (f.code, fx.value)
