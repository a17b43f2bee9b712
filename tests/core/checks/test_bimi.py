"""BIMI against the loopback DNS server and a loopback HTTPS server (test CA): one zone per finding.

The mark certificate is made at run time with the logotype extension (1.3.6.1.5.5.7.1.12); every fix is
published and the domain checked again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxready.core.checks import bimi
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import CheckResult, Fix, Severity, Status

from ...conftest import make_ctx, run
from ...detailshape import assert_shape
from ...httpsserver import HttpsTestServer, closed_port

D = "example.com"
LOGO = "https://bimi.example.com/logo.svg"
VMC = "https://bimi.example.com/vmc.pem"
RECORD = f"v=BIMI1; l={LOGO}; a={VMC};"
ZONE = f"""$TTL 300
@              IN MX  10 mx1.example.com.
_dmarc         IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"
default._bimi  IN TXT "{RECORD}"
bimi           IN A   127.0.0.1
"""
SVG = """<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.2" baseProfile="tiny-ps" viewBox="0 0 100 100">
  <title>Example Ltd</title>
  <rect width="100" height="100" fill="#1a73e8"/>
  <circle cx="50" cy="50" r="30" fill="#ffffff"/>
</svg>
"""


def mark_certificate(names: list[str], *, logotype: bool = True, days: tuple[int, int] = (-1, 365)) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Ltd"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Example Ltd")])
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now + dt.timedelta(days=days[0])).not_valid_after(now + dt.timedelta(days=days[1]))
         .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False))
    if logotype:
        b = b.add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier(bimi.LOGOTYPE_OID), b"\x30\x00"),
                            critical=False)
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def web(tmp_path: Path) -> Iterator[HttpsTestServer]:
    with HttpsTestServer(tmp_path, ["bimi.example.com"]) as server:
        server.route("/logo.svg", SVG, content_type="image/svg+xml")
        server.route("/vmc.pem", mark_certificate(["example.com"]), content_type="application/pem-certificate-chain")
        yield server


def check(dns: DnsTestServer, zone: str, web: HttpsTestServer | None, domain: str = D, *, port: int | None = None,
          **opts: object) -> CheckResult:
    dns.add_origin("com")  # so the DMARC tree walk's _dmarc.com is a real NXDOMAIN, as on the internet
    dns.replace_zone(D, zone)
    opts.setdefault("connect_timeout", 2.0)
    if web is not None:
        opts.setdefault("ca_file", web.ca_file)

    async def go() -> CheckResult:
        return await bimi.check(make_ctx(dns, domain, https_port=port or (web.port if web else 443), **opts))

    result = run(go())
    assert assert_shape(result)  # the detail its card reads directly, in every case
    return result


def codes(r: CheckResult) -> list[str]:
    return [f.code for f in r.findings]


def only(r: CheckResult, code: str):  # type: ignore[no-untyped-def]
    assert codes(r) == [code], codes(r)
    return r.findings[0]


def publish(zone: str, fix: Fix) -> str:
    label = fix.host.removesuffix("." + D)
    lines = [ln for ln in zone.splitlines() if not ln.startswith(label + " ")]
    return "\n".join([*lines, f"{label} IN {fix.type} {fix.zone_value}"]) + "\n"


# -- the good case ---------------------------------------------------------------------------------


def test_complete_setup_passes(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    r = check(dns_server, ZONE, web)
    assert r.status is Status.PASS and r.findings == []
    d = r.detail
    assert (d["record"], d["logo_url"], d["authority_url"], d["dmarc_enforced"]) == (RECORD, LOGO, VMC, True)
    assert d["svg"] == {"size": len(SVG.encode()), "profile_ok": True, "problems": []}
    cert = d["certificate"]
    assert cert["logotype"] is True and cert["names"] == ["example.com"] and "Example Ltd" in cert["subject"]
    assert dt.datetime.fromisoformat(cert["not_after"]) > dt.datetime.now(dt.timezone.utc)
    assert r.summary == "BIMI is set up: your logo, certificate and DMARC policy are in order."
    assert r.name == "bimi" and json.loads(json.dumps(r.to_json()))["detail"] == r.detail


def test_subdomain_uses_the_organisational_record(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    r = check(dns_server, ZONE + "news IN MX 10 mx1.example.com.\n", web, domain="news.example.com")
    assert r.status is Status.PASS, r.findings
    assert r.detail["record_host"] == "default._bimi.example.com"


# -- the record ------------------------------------------------------------------------------------


def test_absent_is_info(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    r = check(dns_server, ZONE.replace(f'default._bimi  IN TXT "{RECORD}"\n', ""), web)
    assert r.status is Status.INFO and only(r, "bimi.not-published").severity is Severity.INFO
    assert web.requests == []


def test_declined_is_info(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    r = check(dns_server, ZONE.replace(RECORD, "v=BIMI1; l=; a=;"), web)
    assert r.status is Status.INFO
    only(r, "bimi.declined")


def test_dns_timeout_is_couldnt_check(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    dns_server.timeout_names.add("default._bimi.example.com/TXT")
    r = check(dns_server, ZONE, web, timeout=0.5)
    assert r.status is Status.ERROR
    assert only(r, "bimi.lookup-failed").severity is Severity.UNKNOWN


def test_invalid_record_fails_and_fix_passes(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    zone = ZONE.replace(RECORD, f"v=BIMI1; l={LOGO}; l={LOGO}; a={VMC}")
    r = check(dns_server, zone, web)
    assert r.status is Status.FAIL
    fix = only(r, "bimi.record-invalid").fix
    assert fix is not None and fix.value == RECORD and fix.host == "default._bimi.example.com"
    assert check(dns_server, publish(zone, fix), web).status is Status.PASS


def test_http_logo_address_is_invalid(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    r = check(dns_server, ZONE.replace(LOGO, "http://bimi.example.com/logo.svg"), web)
    f = only(r, "bimi.record-invalid")
    assert "https://" in f.message and f.fix is None


def test_two_records_fail_and_fix_passes(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    zone = ZONE + 'default._bimi IN TXT "v=BIMI1; l=https://bimi.example.com/old.svg;"\n'
    r = check(dns_server, zone, web)
    assert r.status is Status.FAIL
    fix = only(r, "bimi.multiple-records").fix
    assert fix is not None
    assert check(dns_server, publish(zone, fix), web).status is Status.PASS


# -- the logo --------------------------------------------------------------------------------------


@pytest.mark.parametrize("svg, words", [
    (SVG.replace(' baseProfile="tiny-ps"', ""), "tiny-ps"),
    (SVG.replace('version="1.2"', 'version="1.1"'), 'version="1.2"'),
    (SVG.replace("<title>Example Ltd</title>", ""), "<title>"),
    (SVG.replace("<circle", '<script>alert(1)</script><circle'), "scripts"),
    (SVG.replace("<circle", '<circle onclick="x()"'), "scripts"),
    (SVG.replace("<circle", '<image href="https://cdn.example.net/a.png" width="1" height="1"/><circle'),
     "outside files"),
    (SVG.replace('fill="#ffffff"', 'fill="url(https://cdn.example.net/p.svg#g)"'), "outside files"),
    (SVG.replace("<circle", '<animate attributeName="r" from="1" to="2" dur="1s"/><circle'), "animation"),
    (SVG.replace('viewBox="0 0 100 100"', 'viewBox="0 0 200 100"'), "square"),
    (SVG.replace(' viewBox="0 0 100 100"', ""), "viewBox"),
    ("<svg", "not a readable SVG"),
])
def test_svg_rule_broken_fails(dns_server: DnsTestServer, web: HttpsTestServer, svg: str, words: str) -> None:
    web.route("/logo.svg", svg, content_type="image/svg+xml")
    r = check(dns_server, ZONE, web)
    assert r.status is Status.FAIL
    f = only(r, "bimi.svg-invalid")
    assert words in f.message
    assert r.detail["svg"]["profile_ok"] is False and r.detail["svg"]["problems"]


def test_entity_bomb_is_refused_not_expanded() -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            '<svg xmlns="http://www.w3.org/2000/svg"><title>&b;</title></svg>')
    rep = bimi.check_svg(bomb.encode())
    assert not rep.profile_ok and "not a readable SVG" in rep.problems[0]


def test_large_svg_warns(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    big = SVG.replace("</svg>", "<!--" + "x" * 40000 + "--></svg>")
    web.route("/logo.svg", big, content_type="image/svg+xml")
    r = check(dns_server, ZONE, web)
    assert r.status is Status.WARN
    only(r, "bimi.svg-too-large")
    assert r.detail["svg"]["profile_ok"] is True


def test_logo_content_type_warns(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route("/logo.svg", SVG, content_type="text/html")
    r = check(dns_server, ZONE, web)
    assert r.status is Status.WARN
    only(r, "bimi.logo-content-type")


def test_logo_missing_fails(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    del web.routes["/logo.svg"]
    r = check(dns_server, ZONE, web)
    assert r.status is Status.FAIL
    assert "404" in only(r, "bimi.logo-fetch-failed").message


def test_logo_redirect_is_followed(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route("/logo.svg", "", status=302, headers={"Location": "/brand/logo.svg"})
    web.route("/brand/logo.svg", SVG, content_type="image/svg+xml")
    r = check(dns_server, ZONE, web)
    assert r.status is Status.PASS, r.findings


def test_certificate_for_another_name_on_the_web_server_fails(dns_server: DnsTestServer, tmp_path: Path) -> None:
    with HttpsTestServer(tmp_path, ["cdn.example.net"]) as other:
        other.route("/logo.svg", SVG, content_type="image/svg+xml")
        other.route("/vmc.pem", mark_certificate(["example.com"]))
        r = check(dns_server, ZONE, other)
    assert r.status is Status.FAIL
    assert codes(r) == ["bimi.logo-fetch-failed", "bimi.certificate-fetch-failed"]
    assert "cdn.example.net" in r.findings[0].message


def test_connection_refused_is_couldnt_check(dns_server: DnsTestServer) -> None:
    r = check(dns_server, ZONE, None, port=closed_port())
    assert r.status is Status.ERROR
    assert codes(r) == ["bimi.logo-unreachable", "bimi.certificate-unreachable"]
    assert all(f.severity is Severity.UNKNOWN for f in r.findings)


# -- the mark certificate --------------------------------------------------------------------------


def test_no_certificate_warns(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    r = check(dns_server, ZONE.replace(f" a={VMC};", ""), web)
    assert r.status is Status.WARN
    only(r, "bimi.no-certificate")
    assert r.detail["certificate"] is None and r.detail["authority_url"] is None


def test_expired_mark_certificate_fails(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route("/vmc.pem", mark_certificate(["example.com"], days=(-400, -2)))
    r = check(dns_server, ZONE, web)
    assert r.status is Status.FAIL
    assert "expired" in only(r, "bimi.certificate-expired").message


def test_mark_certificate_not_yet_valid_fails(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route("/vmc.pem", mark_certificate(["example.com"], days=(3, 300)))
    r = check(dns_server, ZONE, web)
    only(r, "bimi.certificate-not-yet-valid")


def test_mark_certificate_expiring_soon_warns(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route("/vmc.pem", mark_certificate(["example.com"], days=(-300, 10)))
    r = check(dns_server, ZONE, web)
    assert r.status is Status.WARN
    only(r, "bimi.certificate-expiring")


def test_certificate_without_logotype_fails(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route("/vmc.pem", mark_certificate(["example.com"], logotype=False))
    r = check(dns_server, ZONE, web)
    only(r, "bimi.certificate-no-logotype")
    assert r.detail["certificate"]["logotype"] is False


def test_certificate_for_another_domain_fails(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route("/vmc.pem", mark_certificate(["example.org"]))
    r = check(dns_server, ZONE, web)
    assert "example.org" in only(r, "bimi.certificate-name-mismatch").message


def test_not_a_certificate_fails(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route("/vmc.pem", "hello")
    r = check(dns_server, ZONE, web)
    only(r, "bimi.certificate-invalid")


# -- DMARC -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dmarc, why", [
    ("v=DMARC1; p=none; rua=mailto:dmarc@example.com", "'none'"),
    ("v=DMARC1; p=quarantine; t=y; rua=mailto:dmarc@example.com", "t=y"),
    ("v=DMARC1; p=quarantine; pct=50; rua=mailto:dmarc@example.com", "pct=50"),
    ("v=DMARC1; p=reject; sp=none; rua=mailto:dmarc@example.com", "sp=none"),
])
def test_dmarc_not_enforced_fails_and_fix_passes(dns_server: DnsTestServer, web: HttpsTestServer, dmarc: str,
                                                 why: str) -> None:
    zone = ZONE.replace("v=DMARC1; p=reject; rua=mailto:dmarc@example.com", dmarc)
    r = check(dns_server, zone, web)
    assert r.status is Status.FAIL and r.detail["dmarc_enforced"] is False
    f = only(r, "bimi.dmarc-not-enforced")
    assert why in f.message
    assert f.fix is not None and f.fix.host == "_dmarc.example.com" and f.fix.action == "replace"
    assert f.fix.value == "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"
    assert check(dns_server, publish(zone, f.fix), web).status is Status.PASS


def test_no_dmarc_fails_and_fix_passes(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    zone = ZONE.replace('_dmarc         IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"\n', "")
    r = check(dns_server, zone, web)
    f = only(r, "bimi.dmarc-not-enforced")
    assert f.fix is not None and f.fix.action == "publish"
    assert check(dns_server, publish(zone, f.fix), web).status is Status.PASS


def test_dmarc_timeout_is_couldnt_check(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    dns_server.timeout_names.add("_dmarc.example.com/TXT")
    r = check(dns_server, ZONE, web, timeout=0.5)
    assert r.status is Status.ERROR and r.detail["dmarc_enforced"] is None
    only(r, "bimi.dmarc-lookup-failed")


# -- parsers ---------------------------------------------------------------------------------------


def test_parser_units() -> None:
    rec = bimi.parse_bimi("v=BIMI1;l=https://a.example/l.svg;a=;avp=brand")
    assert rec.logo == "https://a.example/l.svg" and rec.authority == "" and rec.extensions == {"avp": "brand"}
    assert bimi.parse_bimi("v=BIMI1; l=; a=;").declined
    for bad in ["", "v=BIMI1", "v=bimi1; l=https://a.example/l.svg", "v=BIMI1; l=ftp://a/x", "v=BIMI1; x"]:
        with pytest.raises(bimi.BimiSyntaxError):
            bimi.parse_bimi(bad)
    with pytest.raises(bimi.BimiCertError):
        bimi.inspect_certificate(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parsers_never_raise_anything_else(text: str) -> None:
    try:
        bimi.parse_bimi(text)
    except bimi.BimiSyntaxError:
        pass
    rep = bimi.check_svg(text.encode("utf-8", "surrogatepass"))
    assert rep.size >= 0 and isinstance(rep.problems, list)
    try:
        bimi.inspect_certificate(text.encode("utf-8", "surrogatepass"))
    except bimi.BimiCertError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_svg_checker_takes_any_bytes(data: bytes) -> None:
    rep = bimi.check_svg(data)
    assert rep.size == len(data) and (rep.profile_ok or rep.problems)
