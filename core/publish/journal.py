"""The publish journal: every change applied at a DNS host, step by step, in SQLite (WAL, ``synchronous=FULL``).

A change (``changes`` row) is written before anything is sent to the DNS host; each step (``steps`` row: add /
replace / delete with the old and new values) is marked ``pending`` just before its API call and ``applied``
(or ``failed`` with the reason) just after, each in its own transaction. So a kill or a DNS host going away
mid-apply leaves a journal that says what was applied, and a ``pending`` step means "may have been applied":
undo then looks at what is live before acting. Also kept: when, which account, the zone, the check's verdict
before and after, and what the authoritative servers served. ``between(start, end)`` lists the changes in a
period for the audit report (``audit_changes``), ``recent()`` the newest first for the app's history.
A change still ``applying`` when no InboxReady is running was interrupted (killed, power lost): its steps
say what reached the DNS host (``applied``), what may have (``pending``) and what did not (``planned``), and
it can be undone like any other. Secrets never reach the journal (only record values and account names do).

The database is ``publish_journal.sqlite3`` in the data folder. If it can't be opened or written (locked,
full disk, damaged), ``JournalError`` says so in plain words and nothing is published: a change that couldn't
be recorded could not be undone.
"""

from __future__ import annotations

import logging
import json
import secrets
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..store.settings import data_dir
from ..store.sqlitedb import connect_durable

log = logging.getLogger(__name__)

JOURNAL_FILE = "publish_journal.sqlite3"
SCHEMA_VERSION = 2  # 2: the steps keep a TXT record's character-strings (old_strings, new_strings)

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
    old_strings TEXT,              -- JSON list: the old TXT record's character-strings as the host held them
    new_strings TEXT,              -- JSON list: the new TXT record's character-strings as sent
    PRIMARY KEY (change_id, seq)
);
CREATE INDEX IF NOT EXISTS changes_created ON changes (created);
"""


def _create_tables(db: sqlite3.Connection) -> None:
    db.executescript(_SCHEMA)
    have = {r[1] for r in db.execute("PRAGMA table_info(steps)").fetchall()}
    for col in ("old_strings", "new_strings"):  # a journal of schema 1: its steps keep the joined text only
        if col not in have:
            db.execute(f"ALTER TABLE steps ADD COLUMN {col} TEXT")


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
    # a TXT record's character-strings (the old one as the DNS host held it, the new one as sent), so undo
    # puts back exactly the strings that were there; None when not known (the host shows only the joined text)
    old_strings: tuple[str, ...] | None = None
    new_strings: tuple[str, ...] | None = None

    @property
    def old_shown(self) -> str | None:
        """The old value as a person types it back by hand: a TXT record held as several strings in zone-file
        form, each string quoted where it was split ('"v=DKIM1; k=rsa; " "p=MIIB…"'), else the value."""
        if self.old is not None and self.type.upper() == "TXT" and self.old_strings and len(self.old_strings) > 1:
            from ..model import quote_txt

            return " ".join(quote_txt(s) for s in self.old_strings)
        return self.old

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "action": self.action, "host": self.host, "type": self.type, "old": self.old,
                "new": self.new, "ttl": self.ttl, "old_ttl": self.old_ttl, "finding": self.finding,
                "state": self.state, "error": self.error, "at": self.at,
                "old_strings": list(self.old_strings) if self.old_strings is not None else None,
                "new_strings": list(self.new_strings) if self.new_strings is not None else None}


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

    @property
    def can_undo(self) -> bool:
        return not self.undone_by and bool(self.applied_steps)

    @property
    def state_words(self) -> str:
        """The state in plain words (for the history and the audit report)."""
        done = sum(1 for s in self.steps if s.state == "applied")
        maybe = sum(1 for s in self.steps if s.state == "pending")
        n = len(self.steps)
        if self.state == "applied":
            text = f"applied ({done} of {n} change{'s' if n != 1 else ''})"
        elif self.state == "applying":
            text = (f"did not finish: InboxReady stopped while applying (or is still applying); {done} of {n} "
                    "applied" + (f", {maybe} may have been" if maybe else ""))
        elif self.state == "partial":
            text = f"stopped part-way: {done} of {n} applied" + (f", {maybe} may have been" if maybe else "")
        elif self.state == "failed":
            text = "failed: nothing was applied" if not done and not maybe else f"failed after {done} of {n}"
        else:
            text = self.state
        if self.undone_by:
            text += f"; undone by {self.undone_by}"
        return text

    def to_audit(self) -> dict[str, Any]:
        """What the audit report keeps of this change (no verdict details, no server answers)."""
        return {"id": self.id, "created": self.created, "finished": self.finished, "kind": self.kind,
                "undoes": self.undoes, "undone_by": self.undone_by, "domain": self.domain, "zone": self.zone,
                "account": self.account, "provider": self.provider, "state": self.state,
                "state_words": self.state_words,
                "before": (self.before or {}).get("status") if isinstance(self.before, dict) else None,
                "after": (self.after or {}).get("status") if isinstance(self.after, dict) else None,
                "steps": [{"action": s.action, "host": s.host, "type": s.type, "old": s.old, "new": s.new,
                           "ttl": s.ttl, "finding": s.finding, "state": s.state} for s in self.steps]}

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
                                       setup=_create_tables, timeout=5.0)
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
                log.debug("closing the journal failed", exc_info=True)

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
                    log.debug("ROLLBACK failed", exc_info=True)
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
                        "INSERT INTO steps (change_id, seq, action, host, type, old, new, ttl, old_ttl, finding, state,"
                        " old_strings, new_strings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'planned', ?, ?)",
                        (change_id, i, s["action"], s["host"], s["type"], s.get("old"), s.get("new"),
                         int(s.get("ttl") or 3600), s.get("old_ttl"), s.get("finding", ""),
                         _dump_strings(s.get("old_strings")), _dump_strings(s.get("new_strings"))))
                self._db.execute("COMMIT")
            except (sqlite3.DatabaseError, OSError) as exc:
                try:
                    self._db.execute("ROLLBACK")
                except Exception:
                    log.debug("ROLLBACK failed", exc_info=True)
                raise JournalError(self._why("written", exc)) from None
        return change_id

    def step(self, change_id: str, seq: int, state: str, error: str = "", *,
             old_strings: tuple[str, ...] | list[str] | None = None) -> None:
        """Mark a step; ``old_strings``: the character-strings of the TXT record it takes away, as the DNS host
        held them just before (kept when not given)."""
        self._write("UPDATE steps SET state = ?, error = ?, at = ?, old_strings = COALESCE(?, old_strings) "
                    "WHERE change_id = ? AND seq = ?",
                    (state, error[:500], _now(), _dump_strings(old_strings), change_id, seq))

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
        rows = self._db.execute("SELECT seq, action, host, type, old, new, ttl, old_ttl, finding, state, error, at, "
                                "old_strings, new_strings FROM steps WHERE change_id = ? ORDER BY seq",
                                (cid,)).fetchall()
        e.steps = [JournalStep(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
                               _load_strings(r[12]), _load_strings(r[13])) for r in rows]
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


    def recent(self, limit: int = 200, *, domain: str | None = None) -> list[JournalEntry]:
        """The newest ``limit`` changes (of ``domain`` and its subdomains when given), newest first."""
        sql = f"SELECT {self._COLUMNS} FROM changes"
        params: list[Any] = []
        if domain:
            d = domain.strip().lower().rstrip(".")
            sql += " WHERE domain = ? OR zone = ? OR domain LIKE ?"
            params += [d, d, "%." + d]
        sql += " ORDER BY created DESC, rowid DESC LIMIT ?"
        params.append(max(1, int(limit)))
        with self._lock:
            try:
                return [self._entry(r) for r in self._db.execute(sql, params).fetchall()]
            except sqlite3.DatabaseError as exc:
                raise JournalError(self._why("read", exc)) from None


def audit_changes(domain: str, since: str, until: str, *, path: Path | None = None) -> dict[str, Any]:
    """The changes published for ``domain`` (or its zone) in [since, until) for the audit report:
    ``{"since", "until", "entries": [...], "problem"}``. A journal that can't be read is said so (never "no
    changes"); no journal file yet means no change was ever published here."""
    out: dict[str, Any] = {"since": since, "until": until, "entries": [], "problem": ""}
    p = path if path is not None else data_dir() / JOURNAL_FILE
    if not p.exists():
        return out
    try:
        j = Journal(p)
    except JournalError as exc:
        out["problem"] = str(exc).split(". Nothing was published")[0] + "."
        return out
    try:
        d = domain.strip().lower().rstrip(".")
        entries = [e for e in j.between(_utc(since), _utc(until, after=1))  # until: the report's own second too
                   if e.domain == d or e.zone == d or e.domain.endswith("." + d)]
        out["entries"] = [e.to_audit() for e in entries]
    except JournalError as exc:
        out["problem"] = str(exc).split(". Nothing was published")[0] + "."
    finally:
        j.close()
    return out


def _utc(iso: str, *, after: int = 0) -> str:
    """An ISO 8601 time as the journal stores it (UTC, seconds; ``after`` seconds later), so texts compare in
    time order."""
    from datetime import timedelta

    try:
        t = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return (t.astimezone(timezone.utc) + timedelta(seconds=after)).isoformat(timespec="seconds")


def _dump_strings(strings: Any) -> str | None:
    return json.dumps(list(strings)) if strings else None


def _load_strings(text: Any) -> tuple[str, ...] | None:
    data = _loads(text)
    if isinstance(data, list) and data and all(isinstance(s, str) for s in data):
        return tuple(data)
    return None


def _loads(text: Any) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
