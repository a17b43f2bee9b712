"""Cancel takes effect inside a file, not only between files: a 10,000-mail mbox, one huge report, a big report
being stored. The import stops within a fraction of a second, keeps every whole unit stored before (a file,
or a mail of an mbox), keeps nothing of the one being read or stored when Cancel came, and lets go of the
store, so a second import proceeds at once. The inputs are generated here."""

from __future__ import annotations

import base64
import gzip
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from inboxready.core.reports import store as store_mod
from inboxready.core.reports.importjob import run_import
from inboxready.core.reports.store import ReportStore
from inboxready.core.store.sqlitedb import begin_write
from tests.reports.reports_util import good_row, report_xml

ROWS = 3  # rows in each small report


def _mbox(path: Path, n: int) -> Path:
    """An mbox of ``n`` report mails, each with a gzipped report of ``ROWS`` rows (written as plain MIME text:
    ten thousand ``EmailMessage`` objects would take most of the test's time)."""
    with path.open("wb") as out:
        for i in range(n):
            xml = report_xml("google.com", f"id-{i}", "shop.test", 1_700_000_000 + (i % 200) * 86400,
                             [good_row(f"192.0.2.{r + 1}", 2) for r in range(ROWS)])
            data = base64.encodebytes(gzip.compress(xml, 1)).decode("ascii")
            out.write((f"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n"
                       f"From: noreply-dmarc-support@google.com\nTo: rua@shop.test\n"
                       f"Subject: Report domain: shop.test Submitter: google.com Report-ID: id-{i}\n"
                       f"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b{i}\"\n\n"
                       f"--b{i}\nContent-Type: text/plain\n\nAggregate report attached.\n"
                       f"--b{i}\nContent-Type: application/gzip\nContent-Transfer-Encoding: base64\n"
                       f"Content-Disposition: attachment; filename=\"google.com!shop.test!{i}.xml.gz\"\n\n"
                       f"{data}--b{i}--\n\n").encode("ascii"))
    return path


def _counts(db: Path) -> tuple[int, int]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return (con.execute("SELECT count(*) FROM reports").fetchone()[0],
                con.execute("SELECT count(*) FROM rows").fetchone()[0])
    finally:
        con.close()


def _import_in_thread(store: ReportStore, paths: list[Path], cancel: threading.Event) -> tuple[threading.Thread, dict]:
    box: dict[str, Any] = {}

    def go() -> None:
        box["out"] = run_import(store, paths, cancel=cancel.is_set, every=0.05)
        box["ended"] = time.monotonic()

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t, box


def test_cancel_in_a_10000_mail_mbox_stops_at_once_keeps_whole_mails_and_frees_the_store(tmp_path: Path) -> None:
    """Before: Cancel was looked at only after each input file, so a 10,000-mail mbox (one file) was imported
    to its end while the store stayed locked. Now Cancel is looked at between mails: the import stops within
    a fraction of a second, every mail stored before is whole, and another import can write at once."""
    box_path = _mbox(tmp_path / "google.mbox", 10_000)
    db = tmp_path / "reports.sqlite3"
    store = ReportStore(db)
    cancel = threading.Event()
    t, box = _import_in_thread(store, [box_path], cancel)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _counts(db)[0] < 200:  # some mails committed: under way
        time.sleep(0.02)
    assert t.is_alive(), "the import ended before it could be cancelled: make the mbox bigger"
    asked = time.monotonic()
    cancel.set()
    t.join(30)
    assert not t.is_alive()
    out = box["out"]
    stopped_in = box["ended"] - asked
    assert out.cancelled and not out.stopped and out.problem == ""
    reports, rows = _counts(db)
    assert 200 <= reports < 10_000 and len(out.result.imported) == reports  # what is kept is what is said
    assert rows == ROWS * reports  # only whole mails
    assert stopped_in < 1.5, f"Cancel took {stopped_in:.2f} s to take effect"
    # the store is free: another InboxReady's import begins writing without waiting
    other = sqlite3.connect(db, isolation_level=None, timeout=0)
    try:
        begin_write(other, what="the report store", path=db, wait=0.0)
        other.execute("ROLLBACK")
    finally:
        other.close()
    # the mails before Cancel, in order, each whole: importing the same file again adds exactly the rest
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        ids = {r[0] for r in con.execute("SELECT report_id FROM reports")}
    finally:
        con.close()
    assert ids == {f"id-{i}" for i in range(reports)}
    store.close()


def _big_report(path: Path, rows: int, report_id: str = "big") -> Path:
    path.write_bytes(report_xml("big-reporter.test", report_id, "shop.test", 1_700_000_000,
                                [good_row(f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}", 1) for i in range(rows)]))
    return path


def test_cancel_while_one_huge_report_is_read_keeps_nothing_of_it(tmp_path: Path) -> None:
    """One report of 75,000 rows (45 MB), one input file: Cancel is looked at every megabyte while it is
    parsed, so the import stops before it is stored (before: it was read and stored to the end, seconds)."""
    big = _big_report(tmp_path / "huge.xml", 75_000)
    db = tmp_path / "reports.sqlite3"
    store = ReportStore(db)
    calls = {"n": 0}

    def cancel() -> bool:  # the person presses Cancel once the import has looked a few times
        calls["n"] += 1
        return calls["n"] > 3

    out = run_import(store, [big], cancel=cancel)
    assert out.cancelled and out.done == 0 and out.result.imported == []
    assert _counts(db) == (0, 0)
    again = store.import_paths([big])  # nothing half-stored stands in the way
    assert len(again.imported) == 1 and _counts(db) == (1, 75_000)
    store.close()


def test_cancel_while_a_big_report_is_stored_rolls_back_only_it(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A small file, then a report big enough to be stored in a batch of its own: Cancel comes while its rows
    are being written. The small file stays (committed whole); the big one is rolled back, nothing of it kept."""
    monkeypatch.setattr(store_mod, "ROW_CHUNK", 1000)
    small = tmp_path / "a-small.xml"
    small.write_bytes(report_xml("r.test", "small", "shop.test", 1_700_000_000, [good_row("192.0.2.1", 5)]))
    big = _big_report(tmp_path / "b-big.xml", 25_000)
    db = tmp_path / "reports.sqlite3"
    store = ReportStore(db)
    storing = threading.Event()
    real = ReportStore._insert

    def insert(self: ReportStore, db_: Any, name: str, report: Any, batch: Any) -> Any:
        if report.report_id == "big":
            storing.set()  # Cancel is pressed while the big report's rows go in
        return real(self, db_, name, report, batch)

    monkeypatch.setattr(ReportStore, "_insert", insert)
    out = run_import(store, [small, big], cancel=storing.is_set)
    assert storing.is_set() and out.cancelled
    assert [i.report_id for i in out.result.imported] == ["small"]
    assert _counts(db) == (1, 1)
    store.close()
