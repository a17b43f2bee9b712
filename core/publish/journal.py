"""The publish journal: every change applied at a DNS host, step by step, in SQLite (WAL, ``synchronous=FULL``).

A change (``changes`` row) is written before anything is sent to the DNS host; each step (``steps`` row: add /
replace / delete with the old and new values) is marked ``pending`` just before its API call and ``applied``
(or ``failed`` with the reason) just after, each in its own transaction. So a kill or a DNS host going away
mid-apply leaves a journal that says what was applied, and a ``pending`` step means "may have been applied":
undo then looks at what is live before acting. Also kept: when, which account, the zone, the check's verdict
before and after, and what the authoritative servers served. ``between(start, end)`` lists the changes in a
period for the audit report. Secrets never reach the journal (only record values and account names do).

The database is ``publish_journal.sqlite3`` in the data folder. If it can't be opened or written (locked,
full disk, damaged), ``JournalError`` says so in plain words and nothing is published: a change that couldn't
be recorded could not be undone.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..settings import data_dir
from ..sqlitedb import connect_durable

JOURNAL_FILE = "publish_journal.sqlite3"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    finished TEXT,
    kind TEXT NOT NULL,            -- apply | undo
    undoes TEXT,                   -- for an undo: the change it undoes
    undone_by TEXT,                -- set on a change once it has been undone
    domain TEXT NOT NULL,
    zone TEXT NOT NULL,
    account TEXT NOT NULL,
    provider TEXT NOT NULL,
    state TEXT NOT NULL,           -- applying | applied | partial | failed
    message TEXT NOT NULL DEFAULT '',
    before TEXT,                   -- JSON: the check's verdict before
    after TEXT,                    -- JSON: the check's verdict after
    propagation TEXT               -- JSON: what each authoritative server served
);
CREATE TABLE IF NOT EXISTS steps (
    change_id TEXT NOT NULL REFERENCES changes(id),
    seq INTEGER NOT NULL,
    action TEXT NOT NULL,          -- add | replace | delete
    host TEXT NOT NULL,
    type TEXT NOT NULL,
    old TEXT,
    new TEXT,
    ttl INTEGER NOT NULL,
    old_ttl INTEGER,
    finding TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,           -- planned | pending | applied | failed | skipped
    error TEXT NOT NULL DEFAULT '',
    at TEXT,
    PRIMARY KEY (change_id, seq)
);
CREATE INDEX IF NOT EXISTS changes_created ON changes (created);
"""


class JournalError(RuntimeError):
    """The journal can't be used; the message says why in plain words."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class JournalStep:
    seq: int
    action: str
    host: str
    type: str
    old: str | None
    new: str | None
    ttl: int
    old_ttl: int | None
    finding: str
    state: str
    error: str = ""
    at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "action": self.action, "host": self.host, "type": self.type, "old": self.old,
                "new": self.new, "ttl": self.ttl, "old_ttl": self.old_ttl, "finding": self.finding,
                "state": self.state, "error": self.error, "at": self.at}


@dataclass
class JournalEntry:
    id: str
    created: str
    finished: str | None
    kind: str
    undoes: str | None
    undone_by: str | None
    domain: str
    zone: str
    account: str
    provider: str
    state: str
    message: str
    before: Any = None
    after: Any = None
    propagation: Any = None
    steps: list[JournalStep] = field(default_factory=list)

    @property
    def applied_steps(self) -> list[JournalStep]:
        return [s for s in self.steps if s.state in ("applied", "pending")]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "created": self.created, "finished": self.finished, "kind": self.kind,
                "undoes": self.undoes, "undone_by": self.undone_by, "domain": self.domain, "zone": self.zone,
                "account": self.account, "provider": self.provider, "state": self.state, "message": self.message,
                "before": self.before, "after": self.after, "propagation": self.propagation,
                "steps": [s.to_json() for s in self.steps]}


class Journal:
    """The journal file; safe to use from several threads (a lock guards the connection)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else data_dir() / JOURNAL_FILE
        self._lock = threading.Lock()
        try:
            self._db = connect_durable(self.path, schema_version=SCHEMA_VERSION,
                                       setup=lambda db: db.executescript(_SCHEMA), timeout=5.0)
        except (sqlite3.DatabaseError, OSError) as exc:
            raise JournalError(self._why("opened", exc)) from None

    def _why(self, what: str, exc: BaseException) -> str:
        text = str(exc)
        if "locked" in text or "busy" in text:
            hint = "another InboxReady is using it; wait for it to finish and try again"
        elif "full" in text.lower() or "disk" in text.lower():
            hint = "the disk is full; free some space and try again"
        else:
            hint = f"it is kept at {self.path}"
        return (f"The publish journal could not be {what} ({text}): {hint}. Nothing was published, because a "
                "change that isn't recorded couldn't be undone.")

    def close(self) -> None:
        with self._lock:
            try:
                self._db.close()
            except Exception:
                pass

    def _write(self, sql: str, params: tuple[Any, ...], what: str = "written") -> None:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute(sql, params)
                self._db.execute("COMMIT")
            except (sqlite3.DatabaseError, OSError) as exc:
                try:
                    self._db.execute("ROLLBACK")
                except Exception:
                    pass
                raise JournalError(self._why(what, exc)) from None

    # -- writing ----------------------------------------------------------------------------------------

    def start(self, *, kind: str, domain: str, zone: str, account: str, provider: str, steps: list[dict[str, Any]],
              before: Any = None, undoes: str | None = None) -> str:
        """Record a change about to be applied, with its steps ``planned``; returns its id."""
        change_id = datetime.now(timezone.utc).strftime("%Y%m%d") + "-" + secrets.token_hex(4)
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute(
                    "INSERT INTO changes (id, created, kind, undoes, domain, zone, account, provider, state, before)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'applying', ?)",
                    (change_id, _now(), kind, undoes, domain, zone, account, provider,
                     json.dumps(before) if before is not None else None))
                for i, s in enumerate(steps):
                    self._db.execute(
                        "INSERT INTO steps (change_id, seq, action, host, type, old, new, ttl, old_ttl, finding, state)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'planned')",
                        (change_id, i, s["action"], s["host"], s["type"], s.get("old"), s.get("new"),
                         int(s.get("ttl") or 3600), s.get("old_ttl"), s.get("finding", "")))
                self._db.execute("COMMIT")
            except (sqlite3.DatabaseError, OSError) as exc:
                try:
                    self._db.execute("ROLLBACK")
                except Exception:
                    pass
                raise JournalError(self._why("written", exc)) from None
        return change_id

    def step(self, change_id: str, seq: int, state: str, error: str = "") -> None:
        self._write("UPDATE steps SET state = ?, error = ?, at = ? WHERE change_id = ? AND seq = ?",
                    (state, error[:500], _now(), change_id, seq))

    def finish(self, change_id: str, state: str, *, message: str = "", after: Any = None,
               propagation: Any = None) -> None:
        self._write("UPDATE changes SET state = ?, message = ?, finished = ?, after = COALESCE(?, after), "
                    "propagation = COALESCE(?, propagation) WHERE id = ?",
                    (state, message[:1000], _now(), json.dumps(after) if after is not None else None,
                     json.dumps(propagation) if propagation is not None else None, change_id))

    def set_after(self, change_id: str, *, after: Any = None, propagation: Any = None) -> None:
        self._write("UPDATE changes SET after = COALESCE(?, after), propagation = COALESCE(?, propagation) "
                    "WHERE id = ?", (json.dumps(after) if after is not None else None,
                                     json.dumps(propagation) if propagation is not None else None, change_id))

    def mark_undone(self, change_id: str, by: str) -> None:
        self._write("UPDATE changes SET undone_by = ? WHERE id = ?", (by, change_id))

    # -- reading ----------------------------------------------------------------------------------------

    def _entry(self, row: tuple[Any, ...]) -> JournalEntry:
        (cid, created, finished, kind, undoes, undone_by, domain, zone, account, provider, state, message,
         before, after, propagation) = row
        e = JournalEntry(cid, created, finished, kind, undoes, undone_by, domain, zone, account, provider, state,
                         message, _loads(before), _loads(after), _loads(propagation))
        rows = self._db.execute("SELECT seq, action, host, type, old, new, ttl, old_ttl, finding, state, error, at "
                                "FROM steps WHERE change_id = ? ORDER BY seq", (cid,)).fetchall()
        e.steps = [JournalStep(*r) for r in rows]
        return e

    _COLUMNS = ("id, created, finished, kind, undoes, undone_by, domain, zone, account, provider, state, message, "
                "before, after, propagation")

    def get(self, change_id: str) -> JournalEntry | None:
        with self._lock:
            try:
                row = self._db.execute(f"SELECT {self._COLUMNS} FROM changes WHERE id = ?",
                                       (change_id.strip(),)).fetchone()
                return self._entry(row) if row else None
            except sqlite3.DatabaseError as exc:
                raise JournalError(self._why("read", exc)) from None

    def between(self, start: str | None = None, end: str | None = None, *, domain: str | None = None) -> list[JournalEntry]:
        """Changes created in [start, end) (ISO 8601 UTC texts; None: open), oldest first."""
        sql = f"SELECT {self._COLUMNS} FROM changes WHERE 1=1"
        params: list[Any] = []
        if start:
            sql += " AND created >= ?"
            params.append(start)
        if end:
            sql += " AND created < ?"
            params.append(end)
        if domain:
            sql += " AND domain = ?"
            params.append(domain.lower())
        sql += " ORDER BY created, id"
        with self._lock:
            try:
                return [self._entry(r) for r in self._db.execute(sql, params).fetchall()]
            except sqlite3.DatabaseError as exc:
                raise JournalError(self._why("read", exc)) from None


def _loads(text: Any) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
