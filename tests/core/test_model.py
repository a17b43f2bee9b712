"""Fix formatting: what the user pastes must be exactly what DNS will serve."""

from __future__ import annotations

import dns.rdata
import dns.rdataclass
import dns.rdatatype
from hypothesis import given
from hypothesis import strategies as st

from inboxready.core.model import CheckResult, Finding, Fix, Severity, Status, derive_status, split_txt


def _parse_zone_value(fix: Fix) -> bytes:
    rd = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(fix.type), fix.zone_value)
    return b"".join(rd.strings)  # type: ignore[attr-defined]


def test_short_txt_zone_line() -> None:
    fix = Fix("_dmarc.example.com", "TXT", "v=DMARC1; p=none; rua=mailto:d@example.com")
    assert fix.zone_line == '_dmarc.example.com.\t3600\tIN\tTXT\t"v=DMARC1; p=none; rua=mailto:d@example.com"'
    assert fix.strings == ["v=DMARC1; p=none; rua=mailto:d@example.com"]


def test_long_txt_is_split_into_255_byte_strings_that_join_back() -> None:
    key = "v=DKIM1; k=rsa; p=" + "A" * 392
    fix = Fix("s1._domainkey.example.com", "TXT", key)
    assert [len(s) for s in fix.strings] == [255, len(key) - 255]
    assert _parse_zone_value(fix).decode() == key


def test_quotes_and_backslashes_survive_the_zone_line() -> None:
    fix = Fix("example.com", "TXT", 'v=spf1 exp=explain."%{d}" \\ -all')
    assert _parse_zone_value(fix).decode() == fix.value


@given(st.text(max_size=1200))
def test_split_txt_never_exceeds_255_bytes_and_round_trips(value: str) -> None:
    parts = split_txt(value)
    assert "".join(parts) == value
    assert all(len(p.encode()) <= 255 for p in parts)
    fix = Fix("example.com", "TXT", value)
    assert _parse_zone_value(fix) == value.encode()


def test_non_txt_fix_is_unquoted() -> None:
    assert Fix("example.com", "MX", "0 .").zone_line == "example.com.\t3600\tIN\tMX\t0 ."


def test_derive_status_order() -> None:
    f = lambda s: Finding("x.y", s, "m")  # noqa: E731
    assert derive_status([]) is Status.PASS
    assert derive_status([f(Severity.INFO)]) is Status.PASS
    assert derive_status([f(Severity.WARNING)]) is Status.WARN
    assert derive_status([f(Severity.WARNING), f(Severity.UNKNOWN)]) is Status.ERROR
    assert derive_status([f(Severity.UNKNOWN), f(Severity.ERROR)]) is Status.FAIL


def test_check_result_json_has_findings_and_unique_fixes() -> None:
    fix = Fix("example.com", "TXT", "v=spf1 -all")
    r = CheckResult("spf", Status.FAIL, "s", findings=[Finding("a.b", Severity.ERROR, "m", fix=fix),
                                                      Finding("a.c", Severity.ERROR, "m", fix=fix)])
    data = r.to_json()
    assert data["status"] == "fail" and len(data["findings"]) == 2 and len(data["fixes"]) == 1
    assert data["findings"][0]["fix"]["zone_line"] == fix.zone_line
