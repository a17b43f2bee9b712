"""The report store under faults: another process importing, a full disk, damage while open (issue 13, items
2 and 10): a sentence and an exit code, waiting where it makes sense, nothing moved, nothing lost."""

from __future__ import annotations

import io
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from inboxready.app.cli import main
from inboxready.core.reports import importjob
from inboxready.core.reports import store as store_mod
from inboxready.core.reports.store import ImportStopped, ReportStore
from inboxready.core.reports.summary import summarize
from tests.dbhold import hold, require_tmpfs, run_on_small_disk
from tests.reports.reports_util import good_row, report_xml

NOW = int(time.time())
PTR_WRITE = "INSERT OR REPLACE INTO ptr (ip, name, status, checked) VALUES ('192.0.2.200', NULL, 'none', 0)"


def _reports(folder: Path, n: int, *, start: int = 0, rows: int = 3) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(start, start + n):
        p = folder / f"r{i:04d}.xml"
        p.write_bytes(report_xml("google.com", f"id-{i}", "shop.test", NOW - (i % 20 + 1) * 86400,
                                 [good_row(f"203.0.113.{k + 1}", k + 1) for k in range(rows)]))
        out.append(p)
    return out


def _aside(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".damaged-" in p.name)


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def test_while_another_process_imports_a_summary_opens_at_once_and_an_import_waits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "reports.sqlite3"
    files = _reports(tmp_path / "in", 12)
    with ReportStore(db) as s:
        assert len(s.import_paths(files[:10]).imported) == 10
    monkeypatch.setattr(store_mod, "IMPORT_WAIT_S", 1.0)
    with hold(db, PTR_WRITE):  # a long import elsewhere: a write transaction held (longer than the old 10 s)
        started = time.monotonic()
        code, out, err = _cli("reports", "summary", "shop.test", "--store", str(db), "--offline")
        assert time.monotonic() - started < 5, "the summary waited for the other process"
        assert code in (0, 1) and "10 report(s)" in out and "damaged" not in err, err
        # a second import waits (and says so), then stops with a sentence: nothing moved, nothing lost
        code, out, err = _cli("reports", "import", "--store", str(db), *map(str, files[10:]))
        assert code == 2 and "Traceback" not in err
        assert "waiting" in err and "in use by another InboxReady" in err, err
        waits: list[str] = []
        s = ReportStore(db, on_wait=waits.append)
        assert s.available and s.problem == ""
        with pytest.raises(ImportStopped) as stopped:
            s.import_paths(files[10:])
        assert stopped.value.kind == "busy" and stopped.value.result.imported == []
        assert len(waits) == 1 and "waiting" in waits[0]
        assert summarize(s, "shop.test", days=30).reports == 10
        s.close()
        assert db.exists() and _aside(tmp_path) == []
    with ReportStore(db) as s:  # released: the import goes through, everything is there
        assert len(s.import_paths(files).imported) == 2
        assert s.counts()["dmarc"] == 12 and s.ptr_get(["192.0.2.200"]) == {"192.0.2.200": (None, "none")}


def test_an_import_waits_for_the_other_one_to_finish(tmp_path: Path) -> None:
    db = tmp_path / "reports.sqlite3"
    files = _reports(tmp_path / "in", 3)
    ReportStore(db).close()
    waits: list[str] = []
    with hold(db, PTR_WRITE) as other:
        threading.Timer(1.5, lambda: (other.stdin.write("go\n"), other.stdin.flush())).start()  # type: ignore[union-attr]
        s = ReportStore(db, on_wait=waits.append)
        started = time.monotonic()
        res = s.import_paths(files)
        assert len(res.imported) == 3 and time.monotonic() - started >= 1.0
        assert len(waits) == 1 and "waiting" in waits[0]
        s.close()


def test_reverse_names_while_busy_are_kept_for_the_session(tmp_path: Path) -> None:
    db = tmp_path / "reports.sqlite3"
    with ReportStore(db) as s:
        with hold(db, PTR_WRITE):
            s.ptr_put([("198.51.100.7", "mail.example", "ok")])  # no wait, no error: kept in memory
            assert s.ptr_get(["198.51.100.7"]) == {"198.51.100.7": ("mail.example", "ok")}
        s.ptr_put([("198.51.100.8", None, "none")])
        assert s.ptr_get(["198.51.100.7", "198.51.100.8"]) == {"198.51.100.7": ("mail.example", "ok"),
                                                               "198.51.100.8": (None, "none")}


def test_a_damaged_store_that_another_process_has_open_is_not_moved(tmp_path: Path) -> None:
    db = tmp_path / "reports.sqlite3"
    with ReportStore(db) as s:
        s.import_bytes("a.xml", report_xml("r.test", "1", "shop.test", NOW - 86400, [good_row("192.0.2.1", 1)]))
    with hold(db, "SELECT count(*) FROM reports", write=False):
        with open(db, "r+b") as fh:
            fh.write(b"garbage " * 16)
        code, _out, err = _cli("reports", "summary", "shop.test", "--store", str(db), "--offline")
        assert code == 2 and "another program has it open" in err and "Traceback" not in err
        assert db.exists() and _aside(tmp_path) == []
    s = ReportStore(db)  # nobody has it open: moved aside, a new store started
    assert s.available and s.moved_to is not None and s.moved_to.exists() and "new one was started" in s.problem
    s.close()


def _fill_up(store: ReportStore) -> None:
    """Make the store's disk "full" a few pages from now (SQLITE_FULL, as on a full disk)."""
    pages = store.query("PRAGMA page_count")[0][0]
    assert store._db is not None
    store._db.execute(f"PRAGMA max_page_count={pages + 3}")


def test_disk_full_during_an_import_is_a_sentence_and_keeps_what_was_committed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "reports.sqlite3"
    first = _reports(tmp_path / "a", 5)
    more = _reports(tmp_path / "b", 300, start=100, rows=20)
    with ReportStore(db) as s:
        s.import_paths(first)
    monkeypatch.setattr(store_mod, "BATCH_SECONDS", 0.0)  # commit after every file
    s = ReportStore(db)
    _fill_up(s)
    with pytest.raises(ImportStopped) as stopped:
        s.import_paths(more)
    text = str(stopped.value)
    assert stopped.value.kind == "full" and "The disk is full" in text and "The import stopped" in text
    kept = stopped.value.result.imported
    assert s.counts()["dmarc"] == 5 + len(kept)  # every file reported as imported is there, whole
    s.close()
    # through the import job (what the app runs): the same sentence, exit code 2, the result kept
    real = ReportStore._connect

    def small(self: ReportStore) -> sqlite3.Connection:
        db_ = real(self)
        pages = db_.execute("PRAGMA page_count").fetchone()[0]
        db_.execute(f"PRAGMA max_page_count={pages + 3}")
        return db_

    monkeypatch.setattr(ReportStore, "_connect", small)
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    code = importjob.main(["--store", str(db), str(tmp_path / "b")])
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    done = events[-1]
    assert code == 2 and done["event"] == "done" and done["stopped"] and "The disk is full" in done["problem"]
    with ReportStore(db) as s:
        assert s.query("PRAGMA integrity_check")[0][0] == "ok" and _aside(tmp_path) == []


IMPORT_ON_SMALL_DISK = r"""
import io, sys
from inboxready.app.cli import main
out, err = io.StringIO(), io.StringIO()
code = main(["reports", "import", "--store", sys.argv[1] if len(sys.argv) > 1 else "{store}", "{folder}"],
            out=out, err=err)
print("code", code)
print("out", out.getvalue())
print("err", err.getvalue())
"""


def test_full_disk_for_real_at_open_and_during_an_import(tmp_path: Path) -> None:
    require_tmpfs()
    folder = tmp_path / "in"
    _reports(folder, 400, rows=30)
    mount = tmp_path / "disk"
    store = mount / "reports.sqlite3"
    script = IMPORT_ON_SMALL_DISK.replace("{store}", str(store)).replace("{folder}", str(folder))
    # at open: the disk is full before anything is written
    res = run_on_small_disk(mount, 64, script, fill_kb=1024)
    assert "Traceback" not in res.stderr + res.stdout, res.stderr
    assert "code 2" in res.stdout and "The disk is full" in res.stdout, res.stdout
    # during the import: room for the schema and some reports only
    res = run_on_small_disk(mount, 400, script)
    assert "Traceback" not in res.stderr + res.stdout, res.stderr
    assert "code 2" in res.stdout and "The disk is full" in res.stdout and "The import stopped" in res.stdout, \
        res.stdout


def test_app_import_says_it_is_waiting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The import job (the app's child process) reports the wait as an event, then the refusal."""
    db = tmp_path / "reports.sqlite3"
    files = _reports(tmp_path / "in", 2)
    ReportStore(db).close()
    monkeypatch.setattr(store_mod, "IMPORT_WAIT_S", 0.5)
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    with hold(db, PTR_WRITE):
        code = importjob.main(["--store", str(db), *map(str, files)])
    events: list[dict[str, Any]] = [json.loads(line) for line in out.getvalue().splitlines()]
    kinds = [e["event"] for e in events]
    assert "waiting" in kinds and kinds[-1] == "done" and code == 2
    assert "in use by another InboxReady" in events[-1]["problem"]
    got = importjob.outcome_from_events(events)
    assert isinstance(got, importjob.JobOutcome) and got.stopped and not got.result.imported
