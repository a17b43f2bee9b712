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


NEW_RUA = "v=TLSRPTv1; rua=mailto:tls-reports@example.com"


@pytest.mark.parametrize(("zone", "status", "code", "says", "value", "value_has", "action"), [
    pytest.param(BASE, Status.INFO, "tls_rpt.not-published", "", NEW_RUA, (), "publish", id="absent-is-info"),
    pytest.param(BASE + '_mta-sts IN TXT "v=STSv1; id=1;"\n', Status.WARN, "tls_rpt.not-published", "MTA-STS",
                 NEW_RUA, (), "publish", id="absent-with-mta-sts-warns"),
    pytest.param(GOOD + '_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:other@example.com"\n', Status.FAIL,
                 "tls_rpt.multiple-records", "", None, ("mailto:tls@example.com", "mailto:other@example.com"),
                 "replace", id="two-records-fail"),
    pytest.param(BASE + '_smtp._tls IN TXT "v=TLSRPTv1;"\n', Status.FAIL, "tls_rpt.record-invalid", "rua", NEW_RUA,
                 (), "replace", id="missing-rua-fails"),
    pytest.param(BASE + '_smtp._tls IN TXT "v=TLSRPTv1 rua=mailto:tls@example.com"\n', Status.FAIL,
                 "tls_rpt.record-invalid", "", "v=TLSRPTv1; rua=mailto:tls@example.com", (), "replace",
                 id="malformed-record-keeps-good-address-in-fix"),
    pytest.param(BASE + '_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tls@example.com,http://insecure.example.net/r"\n',
                 Status.WARN, "tls_rpt.bad-uri", "http:", "v=TLSRPTv1; rua=mailto:tls@example.com", (), "replace",
                 id="bad-uri-beside-good-one-warns"),
    pytest.param(BASE + '_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:not-an-address"\n', Status.FAIL,
                 "tls_rpt.record-invalid", "", NEW_RUA, (), "replace", id="only-bad-uris-fail"),
])
def test_finding_and_its_fix_passes(dns_server: DnsTestServer, zone: str, status: Status, code: str, says: str,
                                    value: str | None, value_has: tuple[str, ...], action: str) -> None:
    """One finding per zone; its fix (a value, or one holding these addresses) published makes the check pass."""
    r = check(dns_server, zone)
    assert r.status is status and codes(r) == [code]
    finding = r.findings[0]
    assert finding.severity is {Status.INFO: Severity.INFO, Status.WARN: Severity.WARNING,
                                Status.FAIL: Severity.ERROR}[status]
    assert says in finding.message
    fix = finding.fix
    assert fix is not None and fix.action == action
    assert fix.value == value if value is not None else all(v in fix.value for v in value_has)
    assert check(dns_server, publish(zone, fix)).status is Status.PASS


def test_timeout_is_couldnt_check(dns_server: DnsTestServer) -> None:
    dns_server.timeout_names.add("_smtp._tls.example.com/TXT")
    r = check(dns_server, GOOD, timeout=0.5)
    assert r.status is Status.ERROR and codes(r) == ["tls_rpt.lookup-failed"]


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
