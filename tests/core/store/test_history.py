"""History: SQLite storage that survives damage, and the Qt-free "what changed" diff."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

from inboxready.core.policy.diff import diff_check, diff_report
from inboxready.core.store.history import History
from inboxready.core.model import CheckResult, DomainReport, Finding, Severity, Status
from inboxready.core.store.settings import HOME_ENV


def _report(domain: str, spf_status: Status, spf_records: list[str], codes: list[str]) -> DomainReport:
    findings = [Finding(c, Severity.WARNING, "m") for c in codes]
    return DomainReport(
        domain=domain, started="2026-05-01T10:00:00+00:00",
        checks={"spf": CheckResult("spf", spf_status, "s", records=spf_records, findings=findings),
                "mx": CheckResult("mx", Status.PASS, "ok", records=["10 mx.example.com."])},
    )


def test_default_path_honours_home_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    with History() as h:
        assert h.path == tmp_path / "data" / "history.sqlite3"
        assert h.available


def test_add_and_read_back_with_wal_and_full_sync(tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    first = h.add(_report("example.com", Status.WARN, ["v=spf1 ~all"], ["spf.softfail-all"]))
    second = h.add(_report("example.com", Status.PASS, ["v=spf1 -all"], []))
    h.add(_report("example.org", Status.PASS, [], []))
    assert first is not None and second is not None and second > first
    last = h.last("EXAMPLE.com")
    assert last is not None and last.id == second
    assert last.check("spf") is not None and last.check("spf")["status"] == "pass"  # type: ignore[index]
    assert h.last("example.com", before=second).id == first  # type: ignore[union-attr]
    assert h.domains() == ["example.org", "example.com"]
    assert len(h.runs("example.com")) == 2 and len(h.runs()) == 3
    assert h._db is not None
    assert h._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert h._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    h.close()
    assert History(tmp_path / "h.sqlite3").last("example.org") is not None


def test_garbage_file_is_moved_aside_and_a_new_history_starts(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not a database at all" * 100)
    h = History(path)
    assert h.available
    assert "could not be read" in h.problem and "new one was started" in h.problem
    assert h.moved_to is not None and h.moved_to.exists()
    assert h.add(_report("example.com", Status.PASS, [], [])) is not None
    assert h.last("example.com") is not None


def test_truncated_database_is_handled(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    h = History(path)
    for i in range(50):
        h.add(_report(f"d{i}.example", Status.PASS, ["v=spf1 -all"] * 5, []))
    h.close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] + b"\x00" * 100)
    h2 = History(path)  # must not raise
    assert h2.available
    if h2.problem:
        assert h2.moved_to is not None
    h2.runs()  # reading never raises either


def test_unopenable_location_reports_a_problem_but_does_not_raise(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    h = History(blocker / "sub" / "history.sqlite3")
    assert not h.available
    assert h.problem
    assert h.add(_report("example.com", Status.PASS, [], [])) is None
    assert h.last("example.com") is None and h.runs() == [] and h.domains() == []


def test_diff_first_check() -> None:
    d = diff_check(None, CheckResult("spf", Status.PASS, "s"))
    assert d.trend == "new" and d.previous_status is None and not d.changed
    assert "First check" in d.summary()


def test_diff_better_with_edited_record_and_gone_finding() -> None:
    old = _report("example.com", Status.WARN, ["v=spf1 include:a.example ~all"], ["spf.softfail-all"])
    new = _report("example.com", Status.PASS, ["v=spf1 include:a.example -all"], [])
    d = diff_check(old.checks["spf"], new.checks["spf"])
    assert d.trend == "better"
    assert d.records_edited == [("v=spf1 include:a.example ~all", "v=spf1 include:a.example -all")]
    assert d.records_added == [] and d.records_removed == []
    assert d.findings_gone == ["spf.softfail-all"] and d.findings_appeared == []
    assert d.changed
    assert d.summary() == "Better than last time (was warning); 1 record edited; 1 problem gone."


def test_diff_worse_added_removed_and_appeared() -> None:
    old = CheckResult("mx", Status.PASS, "", records=["10 a.example.com."])
    new = CheckResult("mx", Status.FAIL, "", records=["20 b.example.com."],
                      findings=[Finding("mx.host-missing", Severity.ERROR, "m")])
    d = diff_check(old.to_json(), new)
    assert d.trend == "worse"
    assert d.records_added == ["20 b.example.com."] and d.records_removed == ["10 a.example.com."]
    assert d.findings_appeared == ["mx.host-missing"]
    assert "Worse than last time" in d.summary()


def test_diff_same_and_couldnt_check() -> None:
    r = CheckResult("dmarc", Status.PASS, "", records=["v=DMARC1; p=reject"])
    assert not diff_check(r, r).changed
    assert diff_check(r, r).summary() == "No change since the last check."
    err = CheckResult("dmarc", Status.ERROR, "", findings=[Finding("dmarc.dns-timeout", Severity.UNKNOWN, "m")])
    d = diff_check(r, err)
    assert d.trend == "unknown" and d.findings_appeared == [] and d.records_removed == []
    assert d.changed and "Last time: pass" in d.summary()


def test_diff_report_against_stored(tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    h.add(_report("example.com", Status.WARN, ["v=spf1 ~all"], ["spf.softfail-all"]))
    prev = h.last("example.com")
    diffs = diff_report(prev, _report("example.com", Status.PASS, ["v=spf1 -all"], []))
    assert diffs["spf"].trend == "better" and diffs["mx"].trend == "same"
    assert diffs["spf"].previous_started == "2026-05-01T10:00:00+00:00"
    assert diff_report(None, _report("x.example", Status.PASS, [], []))["spf"].trend == "new"
    assert diffs["spf"].to_json()["changed"] is True


# A run as the first version of the history stored it (DomainReport.to_json() of then): no dns_trouble,
# findings without alternatives or no_fix, fixes without kind, title or also_publish; written straight into
# a history file of that time (the checks table only: no sightings, no exports).
OLD_DKIM_RECORD = "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAoldkey"
OLD_ROW = {
    "domain": "old.example", "status": "fail", "started": "2025-03-01T09:00:00+00:00", "elapsed_ms": 812.4,
    "nameservers": ["192.0.2.53"],
    "checks": {
        "spf": {"name": "spf", "status": "fail", "summary": "SPF is broken.", "records": ["v=spf1 +all"],
                "findings": [{"code": "spf.plus-all", "severity": "error", "message": "Anyone may send as you.",
                              "detail": "+all", "rfc": "RFC 7208 §5.1",
                              "fix": {"host": "old.example", "type": "TXT", "value": "v=spf1 -all", "ttl": 3600,
                                      "action": "replace", "note": "", "strings": ["v=spf1 -all"],
                                      "zone_line": "old.example. 3600 IN TXT \"v=spf1 -all\""}}],
                "fixes": [], "detail": {"record": "v=spf1 +all", "lookups": 0}, "elapsed_ms": 10.0},
        "dkim": {"name": "dkim", "status": "pass", "summary": "1 key.", "records": [], "findings": [], "fixes": [],
                 "detail": {"selectors_tried": 3, "found": [{"selector": "s1", "record": OLD_DKIM_RECORD,
                                                             "key_type": "rsa", "revoked": False}]},
                 "elapsed_ms": 5.0},
        "dmarc": {"name": "dmarc", "status": "warn", "summary": "p=none.", "records": [], "findings": [],
                  "fixes": [], "detail": {"policy": "none"}, "elapsed_ms": 5.0},
    },
    "queries": [{"name": "old.example", "type": "TXT", "outcome": "answer"}],
}


def _old_history(path: Path, rows: list[object]) -> None:
    import json

    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE checks (id INTEGER PRIMARY KEY AUTOINCREMENT, domain TEXT NOT NULL, "
                     "started TEXT NOT NULL, status TEXT NOT NULL, report TEXT NOT NULL);")
    for row in rows:
        db.execute("INSERT INTO checks (domain, started, status, report) VALUES (?, ?, ?, ?)",
                   ("old.example", "2025-03-01T09:00:00+00:00", "fail", json.dumps(row)))
    db.commit()
    db.close()


def test_a_run_stored_in_the_old_shape_reads_back_as_a_domain_report(tmp_path: Path) -> None:
    from inboxready.core.monitor.reminders import reminders_for

    path = tmp_path / "history.sqlite3"
    _old_history(path, [OLD_ROW])
    with History(path) as h:
        run = h.last("old.example")
        assert run is not None and h.problem == ""
        report = run.domain_report
        assert isinstance(report, DomainReport) and report.domain == "old.example" and report.dns_trouble is None
        spf = run.result("spf")
        assert spf is not None and spf.status is Status.FAIL
        (finding,) = spf.findings
        assert finding.severity is Severity.ERROR and finding.alternatives == () and finding.no_fix == ""
        assert finding.fix is not None and finding.fix.value == "v=spf1 -all" and finding.fix.kind == "record"
        # the sightings of a history made before they existed are filled from the old run
        assert [s.key for s in h.sightings("old.example", "dkim-selector")] == ["s1"]
        assert [s.key for s in h.sightings("old.example", "dmarc-policy")] == ["none"]
        # and what changed since then is worked out against a run of today
        now = DomainReport("old.example", started="2026-05-01T10:00:00+00:00", checks={
            "spf": CheckResult("spf", Status.PASS, "SPF is set up.", records=["v=spf1 -all"])})
        diff = diff_report(run, now)["spf"]
        assert (diff.trend, diff.records_edited, diff.findings_gone) == (
            "better", [("v=spf1 +all", "v=spf1 -all")], ["spf.plus-all"])
        # reminders read it without tripping over the old detail: p=none for over a year, a key as old
        kinds = {r.kind for r in reminders_for(h, "old.example", now=datetime(2026, 5, 1, tzinfo=timezone.utc))}
        assert "dmarc-next-step" in kinds and len(kinds) == 2, kinds


def test_a_stored_row_that_is_not_a_report_is_left_out(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    _old_history(path, [OLD_ROW, {"checks": "not a mapping"}, ["not", "a", "report"]])
    with History(path) as h:
        run = h.last("old.example")
        assert run is not None and run.id == 1 and run.domain_report.checks["dkim"].status is Status.PASS
        assert [r.id for r in h.runs("old.example")] == [1]
        assert h.add(DomainReport("old.example", started="2026-05-01T10:00:00+00:00")) is not None
