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


def test_present_orders_by_severity_and_shows_each_fix_once_under_the_most_severe() -> None:
    """Issue 12 item 2: problem first; a record that solves several findings is shown under the most severe,
    which names the others (``also_solves``); they name it (``solved_by``); JSON keeps the fix on each."""
    from inboxready.core.model import by_severity, present

    rec = Fix("example.com", "TXT", "v=spf1 mx ~all", action="replace")
    alt = Fix("example.com", "TXT", "v=spf1 mx include:x ~all", action="replace", title="Other way")
    note = Finding("spf.all-hardfail-early", Severity.INFO, "Use ~all. More words.", fix=rec)
    warn = Finding("spf.void-lookup", Severity.WARNING, "'a' points nowhere.", fix=rec)
    unknown = Finding("spf.lookup-failed", Severity.UNKNOWN, "Couldn't look up x.")
    err = Finding("spf.too-many-lookups", Severity.ERROR, "15 lookups.", fix=rec, alternatives=(alt,))
    alone = Finding("spf.ptr", Severity.WARNING, "ptr.", no_fix="Only you know the servers.")
    assert [f.code for f in by_severity([note, warn, unknown, err, alone])] == [
        "spf.too-many-lookups", "spf.lookup-failed", "spf.void-lookup", "spf.ptr", "spf.all-hardfail-early"]
    shown = present([note, warn, unknown, err, alone])
    first = shown[0]
    assert first.finding is err and first.fixes == (rec, alt) and first.also_solves == (warn, note)
    assert shown[2].finding is warn and shown[2].solved_by is err and shown[2].fixes == ()
    assert shown[4].solved_by is err
    result = CheckResult("spf", Status.FAIL, "x", findings=[note, warn, unknown, err, alone])
    data = result.to_json()
    assert [f["code"] for f in data["findings"]][0] == "spf.too-many-lookups"
    assert data["findings"][0]["also_solves"] == ["spf.void-lookup", "spf.all-hardfail-early"]
    assert data["findings"][0]["alternatives"][0]["title"] == "Other way"
    assert data["findings"][2]["solved_by"] == "spf.too-many-lookups" and data["findings"][2]["fix"] is not None
    assert data["findings"][3]["no_fix"] == "Only you know the servers."
    assert result.fixes == [rec] and result.offered_fixes == [rec, alt]


def test_a_fix_whose_records_another_fix_publishes_is_shown_with_that_one() -> None:
    from inboxready.core.model import present

    spf_rec = Fix("example.com", "TXT", "v=spf1 -all")
    null = Fix("example.com", "MX", "0 .")
    bundle = Fix("example.com", "MX", "0 .", title="The lockdown records", also_publish=(spf_rec,))
    warn = Finding("mx.parked-lockdown", Severity.WARNING, "Looks unused.", fix=bundle)
    a = Finding("mx.lockdown-spf", Severity.INFO, "Publish SPF.", fix=spf_rec)
    b = Finding("mx.lockdown-null-mx", Severity.INFO, "Publish a null MX.", fix=null)
    shown = present([a, b, warn])
    assert shown[0].finding is warn and shown[0].also_solves == (a, b)
    assert shown[1].solved_by is warn and shown[2].solved_by is warn
    assert bundle.records == (null, spf_rec)


def test_only_optional_checks_that_couldnt_run_are_never_a_pass() -> None:
    from inboxready.core.model import DomainReport

    rdns = CheckResult("rdns", Status.ERROR, "Couldn't check reverse DNS.")
    alone = DomainReport("example.com", {"rdns": rdns})
    assert alone.status is Status.ERROR  # `check --only rdns` on a dead DNS server: not "✓ Pass"
    spf_ok = CheckResult("spf", Status.PASS, "SPF passes.")
    beside = DomainReport("example.com", {"spf": spf_ok, "rdns": rdns})
    assert beside.status is Status.PASS and beside.unchecked_optional == ["rdns"]
