"""The act step against the loopback DNS server: the checks for exactly the part that failed, fixes that the
engine checked before showing them (each one published into the test zone and checked again here: the
finding goes away and nothing gets worse), "couldn't check" for DNS trouble, and no check at all where no
DNS record helps."""

from __future__ import annotations

import base64
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from inboxready.core.bounce import JSON_KEYS, BounceReport, analyze_bounce
from inboxready.core.context import CheckOptions
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import Fix, Status, quote_txt, split_txt

from ..conftest import run
from .dsnmaker import IP, fill, google_dsn, microsoft_ndr, postfix_dsn, returned_headers

ZONE = """
@        MX 10 mail
mail     A 192.0.2.1
@        TXT "v=spf1 mx -all"
_dmarc   TXT "v=DMARC1; p=reject; rua=mailto:dmarc@shop.example"
"""
REVERSE = "55 PTR out.shop.example.\n1 PTR mail.shop.example.\n"
GOOGLE_SPF = """
_spf     TXT "v=spf1 ip4:209.85.128.0/17 ip4:74.125.0.0/16 ~all"
"""
UNAUTH = ("550-5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail requires all senders "
          "to authenticate with either SPF or DKIM. Authentication results: DKIM = did not pass SPF [shop.example] "
          "with ip: [{ip}] = did not pass For instructions on setting up authentication, go to "
          "https://support.google.com/mail/answer/81126#authentication - gsmtp")
GMAIL = ("alice@gmail.com", "gmail-smtp-in.l.google.com")
_ORDER = [Status.PASS, Status.INFO, Status.WARN, Status.ERROR, Status.FAIL]


def txt(value: str) -> str:
    return " ".join(quote_txt(s) for s in split_txt(value))


def dkim_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


def serve(server: DnsTestServer, zone: str = ZONE, reverse: str = REVERSE) -> None:
    server.replace_zone("shop.example", zone)
    server.replace_zone("2.0.192.in-addr.arpa", reverse)
    server.add_zone("google.com", GOOGLE_SPF)
    server.add_origin("example")


def analyze(server: DnsTestServer, raw: bytes | str, **kw) -> BounceReport:  # type: ignore[no-untyped-def]
    opts = CheckOptions(nameservers=[server.address], timeout=float(kw.pop("timeout", 1.5)), deadline=20.0)
    return run(analyze_bounce(raw, options=opts, **kw))


def publish(server: DnsTestServer, zone: str, fix: Fix) -> str:
    """The zone with ``fix`` published (a TXT with a version tag replaces the one of its kind)."""
    rel = fix.host[: -len(".shop.example")] if fix.host.endswith(".shop.example") else "@"
    lines = zone.strip().splitlines()
    if fix.type == "TXT" and fix.value.lower().startswith("v=spf1"):
        lines = [ln for ln in lines if not (ln.split()[0] == rel and "v=spf1" in ln)]
    value = txt(fix.value) if fix.type == "TXT" else fix.value
    return "\n".join([*lines, f"{rel} {fix.type} {value}"]) + "\n"


def not_worse(before: BounceReport, after: BounceReport) -> None:
    for name, r in before.checks.items():
        if name in after.checks:
            assert _ORDER.index(after.checks[name].status) <= _ORDER.index(r.status), (name, r.status,
                                                                                      after.checks[name].status)


def test_unauthenticated_gmail_bounce_gives_the_spf_record_that_lets_the_sender_pass(dns_server: DnsTestServer) -> None:
    serve(dns_server)
    raw = postfix_dsn(UNAUTH.format(ip=IP), recipient=GMAIL[0], remote_mta=GMAIL[1])
    r = analyze(dns_server, raw)
    assert (r.bounced, r.permanent, r.status, r.provider, r.classification.category) == (
        True, True, "5.7.26", "google", "authentication")
    assert list(r.checks) == ["spf", "dkim", "dmarc", "rdns"] and r.sending_ip == IP
    spf = r.checks["spf"]
    assert spf.status is Status.FAIL
    finding = next(f for f in spf.findings if f.code == "bounce.sender-not-in-spf")
    assert finding.fix is not None and finding.fix.value == "v=spf1 mx ip4:192.0.2.55 -all"
    assert "Only publish it if you sent the message that bounced" in finding.fix.note
    assert spf.detail["sending_ip_spf"]["result"] == "fail"
    assert spf.detail["bounce_said"].startswith("This mail has been blocked because the sender is unauthenticated")
    assert any(f.code == "bounce.receiver-said-spf" for f in spf.findings)
    # DKIM: the message was signed with s1, and there is no key there
    dkim = r.checks["dkim"]
    assert dkim.status is Status.FAIL
    assert [f.code for f in dkim.findings if f.severity.value == "error"] == ["bounce.signing-key-missing"]
    assert "s1._domainkey.shop.example" in dkim.findings[-1].message
    assert r.exit_code == 1 and finding.fix in r.fixes

    # publish the SPF fix, the A record that confirms the PTR, and the DKIM key: everything passes, nothing worse
    zone = publish(dns_server, ZONE, finding.fix)
    rdns_fix = next(f.fix for f in r.checks["rdns"].findings if f.fix is not None)
    zone = publish(dns_server, zone, rdns_fix)
    zone += f"s1._domainkey TXT {txt(dkim_key())}\n"
    serve(dns_server, zone)
    again = analyze(dns_server, raw)
    assert again.checks["spf"].status is Status.PASS
    assert not any(f.code == "bounce.sender-not-in-spf" for f in again.checks["spf"].findings)
    assert any(f.code == "bounce.spf-passes-now" for f in again.checks["spf"].findings)
    assert again.checks["dkim"].status is Status.PASS and again.checks["rdns"].status is Status.PASS
    not_worse(r, again)
    assert again.exit_code == 0 and "pass from here now" in again.explanation


def test_an_address_of_a_known_service_gets_the_services_include(dns_server: DnsTestServer) -> None:
    serve(dns_server)
    ip = "209.85.220.41"
    raw = postfix_dsn(UNAUTH.format(ip=ip), recipient=GMAIL[0], remote_mta=GMAIL[1])
    r = analyze(dns_server, raw, skip=("dkim", "rdns"))
    assert list(r.checks) == ["spf", "dmarc"]
    fix = next(f.fix for f in r.checks["spf"].findings if f.code == "bounce.sender-not-in-spf")
    assert fix is not None and fix.value == "v=spf1 mx include:_spf.google.com -all"
    assert "Google" in fix.note
    serve(dns_server, publish(dns_server, ZONE, fix))
    again = analyze(dns_server, raw, skip=("dkim", "rdns"))
    assert again.checks["spf"].status is Status.PASS
    not_worse(r, again)


def test_no_dmarc_record_gives_one_and_it_then_passes(dns_server: DnsTestServer) -> None:
    zone = ZONE.replace('_dmarc   TXT "v=DMARC1; p=reject; rua=mailto:dmarc@shop.example"', "")
    serve(dns_server, zone)
    raw = postfix_dsn("421-4.7.31 The sending domain did not have a DMARC policy in place. Gmail requires all bulk "
                      "email senders to publish a DMARC policy. - gsmtp", recipient=GMAIL[0], remote_mta=GMAIL[1],
                      action="delayed")
    r = analyze(dns_server, raw)
    assert r.permanent is False and r.classification.part == "dmarc" and list(r.checks) == ["dmarc"]
    assert r.headline.startswith("Delayed")
    dmarc = r.checks["dmarc"]
    assert dmarc.status is Status.FAIL and dmarc.fixes
    fix = dmarc.fixes[0]
    assert fix.host == "_dmarc.shop.example" and fix in r.fixes
    serve(dns_server, publish(dns_server, zone, fix))
    again = analyze(dns_server, raw)
    assert again.checks["dmarc"].status in (Status.PASS, Status.INFO, Status.WARN)
    assert not any(f.code == "dmarc.no-record" for f in again.checks["dmarc"].findings)
    not_worse(r, again)


def test_reverse_dns_bounce_checks_the_sending_address(dns_server: DnsTestServer) -> None:
    serve(dns_server)
    raw = postfix_dsn(fill("550-5.7.25 [{ip}] The IP address sending this message does not have a PTR record setup, "
                           "or the corresponding forward DNS entry does not match the sending IP. As a policy, Gmail "
                           "does not accept messages from IPs with missing PTR records. - gsmtp"),
                      recipient=GMAIL[0], remote_mta=GMAIL[1])
    r = analyze(dns_server, raw)
    assert r.classification.category == "reverse-dns" and list(r.checks) == ["rdns"]
    rd = r.checks["rdns"]
    assert rd.status is Status.FAIL and rd.detail["hosts"][0]["ip"] == IP
    assert "message that bounced" in rd.findings[0].message
    fix = next(f.fix for f in rd.findings if f.fix is not None)
    assert (fix.host, fix.type, fix.value) == ("out.shop.example", "A", IP)
    serve(dns_server, publish(dns_server, ZONE, fix))
    again = analyze(dns_server, raw)
    assert again.checks["rdns"].detail["hosts"][0]["confirmed"] is True
    not_worse(r, again)


def test_a_mailbox_bounce_runs_no_check_and_says_no_record_fixes_it(dns_server: DnsTestServer) -> None:
    serve(dns_server)
    before = dns_server.query_count
    raw = google_dsn("550 5.1.1 <dave@receiver.example>: Recipient address rejected: User unknown",
                     recipient="dave@receiver.example")
    r = analyze(dns_server, raw)
    assert dns_server.query_count == before  # nothing to look up
    data = r.to_json()
    assert tuple(data) == JSON_KEYS
    assert data["category"] == "mailbox" and data["checks"] == {} and data["fixes"] == []
    assert "no dns record" in data["explanation"].lower() and r.exit_code == 0
    assert data["recipient"] == "dave@receiver.example" and data["from_domain"] == "shop.example"


def test_dns_trouble_is_couldnt_check_never_missing(dns_server: DnsTestServer) -> None:
    serve(dns_server)
    dns_server.timeout_names.add("shop.example/TXT")
    raw = postfix_dsn(fill("550 5.7.23 The message was rejected because of Sender Policy Framework violation"),
                      recipient="bob@contoso.example", remote_mta="contoso-example.mail.protection.outlook.com")
    r = analyze(dns_server, raw, timeout=0.3)
    spf = r.checks["spf"]
    assert spf.status is Status.ERROR
    assert not any(f.code in ("spf.no-record", "bounce.sender-not-in-spf") for f in spf.findings)
    assert r.exit_code == 2 and "couldn't check" in r.explanation.lower()


def test_pasted_text_without_a_domain_asks_for_it(dns_server: DnsTestServer) -> None:
    serve(dns_server)
    text = ("550-5.7.26 This mail has been blocked because the sender is\n550-5.7.26 unauthenticated. Gmail requires"
            " all senders to authenticate with\n550 5.7.26 either SPF or DKIM. - gsmtp")
    r = analyze(dns_server, text)
    assert r.checks == {} and r.exit_code == 2
    assert any(f.code == "bounce.no-domain" for f in r.findings) and "--domain" in r.explanation
    given = analyze(dns_server, text, domain="shop.example")
    assert given.from_domain == "shop.example" and set(given.checks) == {"spf", "dkim", "dmarc"}
    assert given.to_json()["sending_ip"] is None


def test_the_envelope_domain_of_a_service_is_not_fixed_in_your_dns(dns_server: DnsTestServer) -> None:
    serve(dns_server)
    ar = ("spf=fail (sender IP is 192.0.2.55) smtp.mailfrom=bounce.mailservice.example; dkim=none (message not "
          "signed) header.d=none;dmarc=fail action=oreject header.from=shop.example;compauth=fail reason=001")
    raw = microsoft_ndr("550 5.7.509 Access denied, sending domain shop.example does not pass DMARC verification and "
                        "has a DMARC policy of reject.", recipient="bob@contoso.example",
                        remote_mta="contoso-example.mail.protection.outlook.com", auth_results=ar,
                        headers=returned_headers(selector=None, to="bob@contoso.example",
                                                 extra=f"Authentication-Results: {ar}\r\n"))
    r = analyze(dns_server, raw)
    assert r.provider == "microsoft" and r.classification.part == "dmarc"
    assert r.embedded_results == {"spf": "fail", "dkim": "none", "dmarc": "fail", "compauth": "fail"}
    spf = r.checks["spf"]
    f = next(x for x in spf.findings if x.code == "bounce.spf-service-domain")
    assert f.fix is None and "bounce.mailservice.example" in f.message
    assert not any(x.fix is not None and x.fix.host == "shop.example" for x in spf.findings)
    assert any(x.code == "bounce.no-signature" for x in r.checks["dkim"].findings)


def test_a_message_signed_by_the_service_only(dns_server: DnsTestServer) -> None:
    serve(dns_server)
    hb = returned_headers(selector="k1").replace("d=shop.example", "d=mailservice.example")
    raw = postfix_dsn(fill("550 5.7.32 The From: header (RFC5322) in this message isn't aligned with either the "
                           "authenticated SPF or DKIM organizational domain. - gsmtp"),
                      recipient=GMAIL[0], remote_mta=GMAIL[1], headers=hb)
    r = analyze(dns_server, raw)
    assert r.classification.part == "alignment"
    dkim = r.checks["dkim"]
    assert any(f.code == "bounce.signed-by-another-domain" and "mailservice.example" in f.message
               for f in dkim.findings)
    assert dkim.status in (Status.WARN, Status.FAIL)


def test_reputation_bounce_checks_authentication_only_as_worth_ruling_out(dns_server: DnsTestServer) -> None:
    serve(dns_server, ZONE.replace("v=spf1 mx -all", "v=spf1 mx ip4:192.0.2.55 -all")
          + f"s1._domainkey TXT {txt(dkim_key())}\n")
    raw = postfix_dsn(fill("421 4.7.0 [TSS04] Messages from {ip} temporarily deferred due to unexpected volume or "
                           "user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes"),
                      recipient="carol@yahoo.com", remote_mta="mta7.am0.yahoodns.net", action="delayed")
    r = analyze(dns_server, raw, skip=("rdns",))
    assert r.classification.category == "reputation" and r.context and r.provider_code == "TSS04"
    assert set(r.checks) == {"spf", "dkim", "dmarc"}
    assert "DNS records are probably not the cause" in r.explanation and "no dns record lifts this" in r.explanation.lower()
    assert r.exit_code == 0


def test_unknown_code_and_no_failure_at_all(dns_server: DnsTestServer) -> None:
    serve(dns_server)
    before = dns_server.query_count
    r = analyze(dns_server, postfix_dsn("550 5.9.77 Weird", recipient="dave@receiver.example",
                                        remote_mta="mx.receiver.example"))
    assert r.classification.category == "other" and not r.classification.known and r.checks == {}
    assert "don't know this code" in r.explanation and r.exit_code == 0
    assert dns_server.query_count == before
    nothing = analyze(dns_server, "Hello, my mail didn't arrive, can you help?")
    assert not nothing.bounced and nothing.exit_code == 2 and nothing.to_json()["status"] is None
    delivered = analyze(dns_server, postfix_dsn("250 2.0.0 OK", recipient="dave@receiver.example",
                                                remote_mta="mx.receiver.example", action="relayed", status="2.0.0"))
    assert not delivered.bounced and delivered.exit_code == 0 and "nothing bounced" in delivered.headline


def test_json_is_exactly_the_issues_keys_and_serialisable(dns_server: DnsTestServer) -> None:
    serve(dns_server)
    r = analyze(dns_server, postfix_dsn(UNAUTH.format(ip=IP), recipient=GMAIL[0], remote_mta=GMAIL[1]))
    data = json.loads(json.dumps(r.to_json()))
    assert tuple(data) == JSON_KEYS == ("bounced", "permanent", "status", "provider_code", "provider", "category",
                                        "explanation", "recipient", "from_domain", "sending_ip", "embedded_results",
                                        "checks", "fixes")
    assert data["embedded_results"] == {"dkim": "fail", "spf": "fail"}
    assert {f["zone_line"] for f in data["fixes"]} >= {'shop.example.\t3600\tIN\tTXT\t"v=spf1 mx ip4:192.0.2.55 -all"'}


def test_a_bounce_without_returned_headers_still_checks_the_domain(dns_server: DnsTestServer) -> None:
    """No copy of the message: the domain comes from the receiver's words; without the sending address or the
    signature, SPF and DKIM are the domain's checks as they are, and nothing is made up."""
    serve(dns_server)
    raw = postfix_dsn(fill("550-5.7.26 Unauthenticated email from {domain} is not accepted due to domain's DMARC "
                           "policy. Please contact the administrator of {domain} domain if this was a legitimate "
                           "mail. To learn about the DMARC initiative, go to "
                           "https://support.google.com/mail/?p=DmarcRejection - gsmtp"),
                      recipient=GMAIL[0], remote_mta=GMAIL[1], returned=None)
    r = analyze(dns_server, raw)
    assert r.bounce.returned is None and r.from_domain == "shop.example" and r.sending_ip is None
    assert r.classification.rule is not None and r.classification.rule.id == "google-dmarc-policy"
    assert list(r.checks) == ["dmarc", "spf", "dkim"]
    assert "sending_ip_spf" not in r.checks["spf"].detail
    assert not any(f.code.startswith("bounce.signing") or f.code == "bounce.no-signature"
                   for f in r.checks["dkim"].findings)


def test_a_selector_that_couldnt_be_looked_up_is_never_called_missing(dns_server: DnsTestServer) -> None:
    serve(dns_server)
    dns_server.timeout_names.add("s1._domainkey.shop.example")
    raw = postfix_dsn(UNAUTH.format(ip=IP), recipient=GMAIL[0], remote_mta=GMAIL[1])
    r = analyze(dns_server, raw, timeout=0.3, skip=("rdns",))
    dkim = r.checks["dkim"]
    assert not any(f.code == "bounce.signing-key-missing" for f in dkim.findings)
    assert "s1" in dkim.detail["unchecked"]
