"""A report store of schema 3 that can't be upgraded (the upgrade to 4 must write) because the disk is full or
read-only: it is opened read-only and shown as it is, with a plain note; never moved aside, never changed;
importing says it is off; once the disk can be written it is upgraded as usual.

How the failures are made: the tests run as root, where a chmod'ed file is still writable, and mounting a
read-only or full file system needs privileges CI may not have. So the failure is injected at the connection
factory (``sqlite3.connect``, which ``sqlitedb.connect_durable`` calls):

* read-only: the store's read-write connection is opened by SQLite with ``mode=ro``, so the upgrade fails with
  SQLite's own SQLITE_READONLY (a real read-only open, not a made-up error);
* full: SQLite can't be made to run out of room for ``ALTER TABLE ADD COLUMN`` (it rewrites a row of the
  schema table in place; ``max_page_count`` never triggers), so a ``Connection`` subclass raises SQLite's
  "database or disk is full" for every statement that writes.

The store's own read-only fallback opens with a ``file:`` URI and is not touched by either."""

from __future__ import annotations

import hashlib
import io
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from inboxready.app.cli import main
from inboxready.core.reports.store import SCHEMA_VERSION, ImportStopped, ReportStore
from inboxready.core.reports.summary import summarize
from tests.reports.reports_util import good_row, report_xml
from tests.reports.test_partial_reports import DAY, NOW, OWN, _as_schema_3, _partial

_real_connect = sqlite3.connect
_WRITES = ("ALTER", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "REPLACE")


class _FullDisk(sqlite3.Connection):
    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        if sql.lstrip().upper().startswith(_WRITES) or sql.lstrip().upper().startswith("PRAGMA USER_VERSION="):
            raise sqlite3.OperationalError("database or disk is full")
        return super().execute(sql, *args)

    def executescript(self, sql: str) -> sqlite3.Cursor:  # type: ignore[override]
        raise sqlite3.OperationalError("database or disk is full")


def _inject(monkeypatch: pytest.MonkeyPatch, db: Path, how: str) -> None:
    def connect(database: Any, *args: Any, **kw: Any) -> sqlite3.Connection:
        if kw.get("uri") or str(database) != str(db):
            return _real_connect(database, *args, **kw)
        if how == "readonly":
            return _real_connect(f"file:{database}?mode=ro", *args, uri=True, **kw)
        return _real_connect(database, *args, factory=_FullDisk, **kw)

    monkeypatch.setattr(sqlite3, "connect", connect)


def _schema_3_store(tmp_path: Path) -> Path:
    db = tmp_path / "reports.sqlite3"
    with ReportStore(db) as store:
        store.import_bytes("bad-rows.xml", _partial())
        store.import_bytes("whole.xml", report_xml("google.com", "whole", "shop.test", NOW - DAY, [good_row(OWN, 5)]))
        store.ptr_put([(OWN, "mail.shop.test", "ok")])
    _as_schema_3(db)
    con = _real_connect(db, isolation_level=None)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return db


def _digest(db: Path) -> str:
    return hashlib.sha256(db.read_bytes()).hexdigest()


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


@pytest.mark.parametrize("how, words", [("readonly", "read-only"), ("full", "the disk is full")])
def test_a_schema_3_store_that_cant_be_upgraded_is_shown_read_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str, words: str) -> None:
    """Before: 'No reports can be imported or shown until then' and an empty window. Now everything it has is
    shown (the schema-4 note on partial reports absent), said plainly, and the file is left byte for byte."""
    db = _schema_3_store(tmp_path)
    digest = _digest(db)
    _inject(monkeypatch, db, how)
    with ReportStore(db) as store:
        assert store.available and store.read_only and store.moved_to is None
        assert words in store.problem and "shown as it is, read-only" in store.problem
        assert "upgraded when" in store.problem and "Importing is off" in store.problem
        assert store.counts() == {"dmarc": 2, "tlsrpt": 0, "rows": 3}
        assert store.domains() == ["shop.test"]
        assert store.ptr_get([OWN]) == {OWN: ("mail.shop.test", "ok")}
        s = summarize(store, "shop.test", days=30)
        assert s.messages == 17 + 5 and s.partial_count == 0  # schema 3 kept no note of the skipped rows
        with pytest.raises(ImportStopped, match="Importing is off"):
            store.import_paths([tmp_path / "nothing-here.xml"])
        store.ptr_put([("192.0.2.9", "x.test", "ok")])  # a cache only: kept in memory, nothing written
    code, out, err = _cli("reports", "summary", "shop.test", "--store", str(db), "--offline")
    assert code == 0 and words in err and "22" in out.replace(",", ""), (out, err)
    assert _digest(db) == digest  # not changed, not moved
    assert sorted(p.name for p in tmp_path.iterdir() if "damaged" in p.name) == []
    # once the disk can be written again, it is upgraded in place as usual
    monkeypatch.undo()
    with ReportStore(db) as store:
        assert not store.read_only and not store.problem and store.counts()["dmarc"] == 2
    con = _real_connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    con.close()


def test_a_store_older_than_schema_3_is_not_shown_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Schema 2 cached reverse names that were never forward-confirmed: shown read-only they would read as
    confirmed senders, so such a store keeps the plain 'can't be opened' message until it can be upgraded."""
    db = _schema_3_store(tmp_path)
    con = _real_connect(db, isolation_level=None)
    con.execute("PRAGMA user_version=2")
    con.close()
    _inject(monkeypatch, db, "readonly")
    with ReportStore(db) as store:
        assert not store.available and not store.read_only and "read-only" in store.problem
