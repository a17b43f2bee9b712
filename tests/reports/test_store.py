"""The report store: stored once, transactions, a crash mid-import loses nothing committed, damage."""

from __future__ import annotations

import gzip
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

from inboxready.core.reports.store import REPORTS_FILE, ImportStopped, ReportStore
from tests.reports.reports_util import good_row, report_xml

ROW = good_row("203.0.113.5", 4)


def test_report_is_stored_once_across_forms(tmp_path: Path) -> None:
    xml = report_xml("r.test", "id-1", "shop.test", 1_700_000_000, [ROW])
    (tmp_path / "a.xml").write_bytes(xml)
    (tmp_path / "a.xml.gz").write_bytes(gzip.compress(xml))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.xml", xml)
    (tmp_path / "a.zip").write_bytes(buf.getvalue())
    store = ReportStore(tmp_path / "db.sqlite3")
    res = store.import_paths([tmp_path / "a.xml", tmp_path / "a.xml.gz", tmp_path / "a.zip"])
    assert [i.name for i in res.imported] == ["a.xml"]
    # the same report twice more in this import: "repeated", not "already imported"
    assert not res.duplicate and [i.name for i in res.repeated] == ["a.xml.gz", "a.zip › a.xml"]
    again = store.import_paths([tmp_path])
    assert not again.imported and len(again.duplicate) == 3 and not again.repeated
    assert store.counts() == {"dmarc": 1, "tlsrpt": 0, "rows": 1}
    assert store.domains() == ["shop.test"]
    # another reporter with the same report id is a different report
    other = store.import_bytes("b.xml", report_xml("other.test", "id-1", "shop.test", 1_700_000_000, [ROW]))
    assert len(other.imported) == 1
    store.close()


def test_default_location_is_the_data_folder(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("INBOXREADY_HOME", str(tmp_path))
    store = ReportStore()
    assert store.path == tmp_path / "data" / REPORTS_FILE
    assert store.path.exists()
    mode = store.query("PRAGMA journal_mode")[0][0]
    sync = store.query("PRAGMA synchronous")[0][0]
    assert (mode, sync) == ("wal", 2)  # WAL, FULL
    store.close()


def test_a_file_is_all_or_nothing(tmp_path: Path) -> None:
    """A zip whose second report breaks the store mid-file leaves none of its reports behind."""
    store = ReportStore(tmp_path / "db.sqlite3")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("1.xml", report_xml("r.test", "one", "shop.test", 1_700_000_000, [ROW]))
        zf.writestr("2.xml", report_xml("r.test", "two", "shop.test", 1_700_000_000, [ROW]))
    (tmp_path / "two.zip").write_bytes(buf.getvalue())
    calls = {"n": 0}
    real = store._insert

    def failing(db, name, report, batch):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise sqlite3.OperationalError("disk I/O error (simulated)")
        return real(db, name, report, batch)

    store._insert = failing  # type: ignore[method-assign]
    try:
        store.import_paths([tmp_path / "two.zip"])
    except ImportStopped as exc:
        assert "The import stopped" in str(exc) and exc.result.imported == []
    else:
        raise AssertionError("the simulated failure did not surface")
    store._insert = real  # type: ignore[method-assign]
    assert store.counts()["dmarc"] == 0
    res = store.import_paths([tmp_path / "two.zip"])
    assert len(res.imported) == 2
    store.close()


CHILD = r"""
import sqlite3, sys
from pathlib import Path
from typing import Any
from inboxready.core.reports import store as S
S.BATCH_SECONDS = 0.05
db = Path(sys.argv[2])
def progress(done, total, name):
    if done % 20 == 0:
        # what an independent reader sees as committed right now
        con = sqlite3.connect(str(db))
        n = con.execute("SELECT count(*) FROM reports").fetchone()[0]
        con.close()
        print(f"committed {n}", flush=True)
S.ReportStore(db).import_paths([sys.argv[1]], on_progress=progress)
print("finished", flush=True)
"""


def test_killed_mid_import_loses_nothing_committed(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(600):
        xml = report_xml("r.test", f"rep-{i:04d}", "shop.test", 1_700_000_000 + i * 86400,
                         [good_row(f"203.0.113.{i % 250 + 1}", i % 7 + 1), good_row("198.51.100.9", 2, dkim="fail")])
        if i % 3 == 0:
            (folder / f"{i:04d}.xml.gz").write_bytes(gzip.compress(xml))
        else:
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as zf:  # two reports per zip: each file is all or nothing
                zf.writestr("a.xml", xml)
                zf.writestr("b.xml", xml.replace(b"rep-", b"dup-"))
            (folder / f"{i:04d}.zip").write_bytes(buf.getvalue())
    db = tmp_path / "db.sqlite3"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(folder), str(db)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    seen = 0
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line or line.startswith("finished"):
            break
        seen = max(seen, int(line.split()[1]))
        if seen >= 150:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL, "the import finished before it could be interrupted"
    assert seen >= 150
    store = ReportStore(db)
    assert store.problem == ""  # not damaged
    assert store.query("PRAGMA integrity_check")[0][0] == "ok"
    kept = store.counts()
    assert kept["dmarc"] >= seen  # everything seen committed is still there
    # no file is half imported: a zip's two reports are both there or both missing
    ids = {r[0] for r in store.query("SELECT report_id FROM reports")}
    for i in range(600):
        if i % 3:
            assert (f"rep-{i:04d}" in ids) == (f"dup-{i:04d}" in ids), i
    assert kept["rows"] == 2 * kept["dmarc"]
    # importing the folder again adds exactly what is missing
    res = store.import_paths([folder])
    total = 600 + 400
    assert len(res.imported) == total - kept["dmarc"]
    assert len(res.duplicate) == kept["dmarc"]
    assert store.counts()["dmarc"] == total
    store.close()


def test_damaged_database_is_moved_aside(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    db.write_bytes(b"this is not a database" * 100)
    store = ReportStore(db)
    assert store.available
    assert "could not be read" in store.problem and "damaged" in store.problem
    assert store.moved_to is not None and store.moved_to.exists()
    assert store.import_bytes("a.xml", report_xml("r.test", "1", "shop.test", 1_700_000_000, [ROW])).imported
    store.close()


def test_ptr_cache_and_imap_state(tmp_path: Path) -> None:
    store = ReportStore(tmp_path / "db.sqlite3")
    store.ptr_put([("192.0.2.1", "mail.example", "ok"), ("192.0.2.2", None, "none")])
    assert store.ptr_get(["192.0.2.1", "192.0.2.2", "192.0.2.3"]) == {
        "192.0.2.1": ("mail.example", "ok"), "192.0.2.2": (None, "none")}
    assert store.imap_state("a@b:993", "INBOX") is None
    store.set_imap_state("a@b:993", "INBOX", 7, 42)
    assert store.imap_state("a@b:993", "INBOX") == (7, 42)
    store.close()


def test_worker_processes_give_the_same_result(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(40):
        xml = report_xml("r.test", f"w-{i}", "shop.test", 1_700_000_000, [good_row("203.0.113.5", i + 1)])
        (folder / f"{i:02d}.xml.gz").write_bytes(gzip.compress(xml))
    (folder / "bad.xml").write_bytes(b"<feedback>")
    (folder / "dup.xml").write_bytes(report_xml("r.test", "w-3", "shop.test", 1_700_000_000, [ROW]))
    results = []
    for workers in (1, 2):
        store = ReportStore(tmp_path / f"db{workers}.sqlite3")
        progress: list[int] = []
        res = store.import_paths([folder], workers=workers, on_progress=lambda d, t, n: progress.append(d))
        results.append((sorted((i.name, i.report_id, i.messages) for i in res.imported),
                        [(i.name, i.report_id) for i in res.repeated], res.rejected, res.files,
                        store.counts(), progress))
        store.close()
    assert results[0] == results[1]
    assert len(results[0][0]) == 40 and results[0][1] == [("dup.xml", "w-3")] and results[0][3] == 42


def test_an_error_in_the_middle_of_a_file_leaves_no_half_file(tmp_path: Path, monkeypatch: Any) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:  # one input file holding two reports
        zf.writestr("a.xml", report_xml("r.test", "z-1", "shop.test", 1_700_000_000, [ROW]))
        zf.writestr("b.xml", report_xml("r.test", "z-2", "shop.test", 1_700_000_000, [ROW]))
    (tmp_path / "two.zip").write_bytes(buf.getvalue())
    store = ReportStore(tmp_path / "db.sqlite3")
    real = ReportStore._insert
    calls = []

    def failing(self: ReportStore, db: Any, name: str, report: Any, batch: Any) -> Any:
        calls.append(name)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(self, db, name, report, batch)

    monkeypatch.setattr(ReportStore, "_insert", failing)
    try:
        store.import_paths([tmp_path / "two.zip"])
    except ImportStopped:
        pass
    else:
        raise AssertionError("the error was swallowed")
    assert store.counts() == {"dmarc": 0, "tlsrpt": 0, "rows": 0}  # not the first report alone
    monkeypatch.setattr(ReportStore, "_insert", real)
    assert len(store.import_paths([tmp_path / "two.zip"]).imported) == 2
    assert store.counts()["dmarc"] == 2
    store.close()
