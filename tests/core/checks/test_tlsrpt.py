"""TLS-RPT against the loopback DNS server: one zone per finding; every fix is published and re-checked."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxready.core.checks import tls_rpt as tlsrpt
from inboxready.core.records import tls_rpt as tlsrpt_records
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import CheckResult, Fix, Severity, Status

from ...conftest import make_ctx, run

D = "example.com"
BASE = """$TTL 300
@ IN MX 10 mx1.example.com.
"""
GOOD = BASE + '_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tls@example.com,https://reports.example.net/tls"\n'


def check(dns: DnsTestServer, zone: str, **opts: object) -> CheckResult:
    dns.replace_zone(D, zone)

    async def go() -> CheckResult:
        return await tlsrpt.check(make_ctx(dns, D, **opts))

    return run(go())


def codes(r: CheckResult) -> list[str]:
    return [f.code for f in r.findings]


def publish(zone: str, fix: Fix) -> str:
    assert fix.host == "_smtp._tls.example.com" and fix.type == "TXT"
    lines = [ln for ln in zone.splitlines() if not ln.startswith("_smtp._tls")]
    return "\n".join([*lines, f"_smtp._tls IN TXT {fix.zone_value}"]) + "\n"


def test_good_record_passes(dns_server: DnsTestServer) -> None:
    r = check(dns_server, GOOD)
    assert r.status is Status.PASS and r.findings == []
    assert r.detail == {"record": "v=TLSRPTv1; rua=mailto:tls@example.com,https://reports.example.net/tls",
                        "rua": ["mailto:tls@example.com", "https://reports.example.net/tls"]}
    assert r.summary == "TLS reports are sent to 2 addresses."
    assert r.name == "tls_rpt" and json.loads(json.dumps(r.to_json()))["detail"] == r.detail


def test_absent_is_info_and_fix_passes(dns_server: DnsTestServer) -> None:
    r = check(dns_server, BASE)
    assert r.status is Status.INFO and codes(r) == ["tls_rpt.not-published"]
    assert r.findings[0].severity is Severity.INFO
    fix = r.findings[0].fix
    assert fix is not None and fix.value == "v=TLSRPTv1; rua=mailto:tls-reports@example.com"
    assert check(dns_server, publish(BASE, fix)).status is Status.PASS


def test_absent_with_mta_sts_warns_and_fix_passes(dns_server: DnsTestServer) -> None:
    zone = BASE + '_mta-sts IN TXT "v=STSv1; id=1;"\n'
    r = check(dns_server, zone)
    assert r.status is Status.WARN and codes(r) == ["tls_rpt.not-published"]
    assert "MTA-STS" in r.findings[0].message
    fix = r.findings[0].fix
    assert fix is not None
    assert check(dns_server, publish(zone, fix)).status is Status.PASS


def test_timeout_is_couldnt_check(dns_server: DnsTestServer) -> None:
    dns_server.timeout_names.add("_smtp._tls.example.com/TXT")
    r = check(dns_server, GOOD, timeout=0.5)
    assert r.status is Status.ERROR and codes(r) == ["tls_rpt.lookup-failed"]


def test_two_records_fail_and_fix_passes(dns_server: DnsTestServer) -> None:
    zone = GOOD + '_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:other@example.com"\n'
    r = check(dns_server, zone)
    assert r.status is Status.FAIL and codes(r) == ["tls_rpt.multiple-records"]
    fix = r.findings[0].fix
    assert fix is not None and fix.action == "replace"
    assert "mailto:tls@example.com" in fix.value and "mailto:other@example.com" in fix.value
    assert check(dns_server, publish(zone, fix)).status is Status.PASS


def test_missing_rua_fails_and_fix_passes(dns_server: DnsTestServer) -> None:
    zone = BASE + '_smtp._tls IN TXT "v=TLSRPTv1;"\n'
    r = check(dns_server, zone)
    assert r.status is Status.FAIL and codes(r) == ["tls_rpt.record-invalid"]
    assert "rua" in r.findings[0].message
    fix = r.findings[0].fix
    assert fix is not None and fix.value == "v=TLSRPTv1; rua=mailto:tls-reports@example.com"
    assert check(dns_server, publish(zone, fix)).status is Status.PASS


def test_malformed_record_keeps_good_address_in_fix(dns_server: DnsTestServer) -> None:
    zone = BASE + '_smtp._tls IN TXT "v=TLSRPTv1 rua=mailto:tls@example.com"\n'
    r = check(dns_server, zone)
    assert codes(r) == ["tls_rpt.record-invalid"]
    fix = r.findings[0].fix
    assert fix is not None and fix.value == "v=TLSRPTv1; rua=mailto:tls@example.com"
    assert check(dns_server, publish(zone, fix)).status is Status.PASS


def test_bad_uri_beside_good_one_warns_and_fix_passes(dns_server: DnsTestServer) -> None:
    zone = BASE + '_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tls@example.com,http://insecure.example.net/r"\n'
    r = check(dns_server, zone)
    assert r.status is Status.WARN and codes(r) == ["tls_rpt.bad-uri"]
    assert "http:" in r.findings[0].message
    fix = r.findings[0].fix
    assert fix is not None and fix.value == "v=TLSRPTv1; rua=mailto:tls@example.com"
    assert check(dns_server, publish(zone, fix)).status is Status.PASS


def test_only_bad_uris_fail(dns_server: DnsTestServer) -> None:
    zone = BASE + '_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:not-an-address"\n'
    r = check(dns_server, zone)
    assert r.status is Status.FAIL and codes(r) == ["tls_rpt.record-invalid"]
    fix = r.findings[0].fix
    assert fix is not None
    assert check(dns_server, publish(zone, fix)).status is Status.PASS


def test_parser_units() -> None:
    rec = tlsrpt_records.parse_tlsrpt("v=TLSRPTv1;rua=mailto:a@example.com , https://r.example.org/x;ext=1;")
    assert rec.rua == ["mailto:a@example.com", "https://r.example.org/x"] and rec.extensions == {"ext": "1"}
    for bad in ["", "v=TLSRPTv1", "rua=mailto:a@example.com; v=TLSRPTv1", "v=tlsrptv1; rua=mailto:a@example.com",
                "v=TLSRPTv1; rua=mailto:a@example.com,", "v=TLSRPTv1; rua=ftp://x.example.com"]:
        with pytest.raises(tlsrpt_records.TlsRptSyntaxError):
            tlsrpt_records.parse_tlsrpt(bad)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parser_never_raises_anything_else(text: str) -> None:
    try:
        rec = tlsrpt_records.parse_tlsrpt(text)
    except tlsrpt_records.TlsRptSyntaxError:
        return
    assert rec.rua
    tlsrpt_records.uri_problem(text)
