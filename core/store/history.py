"""Check history in SQLite, and "what changed since the last check of this domain".

The database lives in the user data folder (``settings.data_dir()``). It is opened in WAL mode with
``synchronous=FULL`` and every write is one transaction, so a crash or a power cut leaves the last
committed check in place and never a damaged file. A file that SQLite cannot read is moved aside
(``history.sqlite3.damaged-<time>``) and a fresh one is started, unless another process has it open;
``History.problem`` then says so in plain words. A history that another InboxReady is writing to is waited
for (``WAIT_S``) and never moved; full, read-only or forbidden files are left alone and explained
(``sqlitedb``). The file is private (0600, in a 0700 folder). Nothing here raises on a damaged database.

What changed between two runs is worked out in ``policy.diff``; this module only stores and reads runs.
A run goes in as a ``DomainReport`` and comes back as one (``StoredCheck.domain_report``, read with
``DomainReport.from_json``, which fills what older versions didn't write: a row stored by any version
reads back). A row that is not a readable report (damaged by hand) is left out, as unreadable JSON is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, cast

from ..model import CheckResult, DomainReport, Status
from .settings import data_dir
from .sqlitedb import OpenStore, connect_durable, open_or_start_afresh, problem_of

log = logging.getLogger(__name__)

HISTORY_FILE = "history.sqlite3"
SCHEMA_VERSION = 1
KEEP_PER_DOMAIN = 200
WAIT_S = 10.0   # how long opening or saving waits while another InboxReady writes to the history

_SCHEMA = """
CREATE TABLE IF NOT EXISTS checks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    domain TEXT NOT NULL,
    started TEXT NOT NULL,
    status TEXT NOT NULL,
    report TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS checks_domain ON checks (domain, id);
"""

# Added in this round (additive; the checks table is unchanged): what was seen when, kept beyond the
# KEEP_PER_DOMAIN pruning of full runs, so "first seen more than 6 months ago" survives. One row per
# (domain, kind, key); kinds: "dkim-key" (key "<selector> <sha256 of p=>"), "dkim-selector" (a selector
# with any record), "dmarc-policy" (the current p=; a change of policy restarts it). Times are UTC ISO 8601.
_SIGHTINGS = """
CREATE TABLE IF NOT EXISTS sightings (
    domain TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    first_run INTEGER NOT NULL,
    last_run INTEGER NOT NULL,
    PRIMARY KEY (domain, kind, key)
);
"""


# Added later (additive, created when missing; older versions ignore it): every audit report exported
# (CLI --report, the app's Export), with the SHA-256 of the exact file written, so ``inboxready verify``
# can say a copy is byte for byte what was exported. Times are UTC ISO 8601.
_EXPORTS = """
CREATE TABLE IF NOT EXISTS exports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    domain TEXT NOT NULL,
    created TEXT NOT NULL,
    path TEXT NOT NULL,
    format TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS exports_file ON exports (file_sha256);
CREATE INDEX IF NOT EXISTS exports_content ON exports (content_sha256);
"""


@dataclass(frozen=True)
class ExportRecord:
    """One exported audit report: where, when, for which domain, and the SHA-256 of the exact file."""

    id: int
    domain: str
    created: str  # UTC ISO 8601
    path: str
    format: str  # "pdf" | "html" | "json"
    file_sha256: str
    content_sha256: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "domain": self.domain, "created": self.created, "path": self.path,
                "format": self.format, "file_sha256": self.file_sha256, "content_sha256": self.content_sha256,
                "size": self.size}


@dataclass(frozen=True)
class StoredCheck:
    """One past run of every check for a domain, as stored."""

    id: int
    domain: str
    started: str
    status: str
    report: dict[str, Any]  # the stored run as JSON, as the version that stored it wrote it
    # the typed run, read from ``report`` when first asked (not a constructor field: the JSON is the run)
    parsed: DomainReport | None = field(default=None, init=False, compare=False, repr=False)

    @property
    def domain_report(self) -> DomainReport:
        """The stored run (``DomainReport.from_json``: a run stored by an older version reads back too)."""
        report = self.parsed
        if report is None:
            report = DomainReport.from_json(self.report)
            object.__setattr__(self, "parsed", report)
        return report

    def result(self, name: str) -> CheckResult | None:
        """The stored result of one check, or None when it was not run."""
        return self.domain_report.checks.get(name)

    def check(self, name: str) -> dict[str, Any] | None:
        """The stored result of one check as JSON (``result`` is the typed one)."""
        checks = self.report.get("checks")
        if isinstance(checks, dict):
            value = checks.get(name)
            if isinstance(value, dict):
                return value
        return None


class History(OpenStore):
    """The check history. Safe to use from one thread at a time or several (a lock guards it)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else data_dir() / HISTORY_FILE
        self.problem = ""  # plain words when the old file was unreadable and moved aside
        self.moved_to: Path | None = None
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._open()

    # -- opening, repairing ---------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        def setup(db: sqlite3.Connection) -> None:
            db.executescript(_SCHEMA)
            fresh = db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='sightings'"
                               ).fetchone() is None
            db.executescript(_SIGHTINGS)
            if fresh:
                _backfill_sightings(db)
            db.executescript(_EXPORTS)

        return connect_durable(self.path, schema_version=SCHEMA_VERSION, setup=setup, timeout=WAIT_S,
                               what="the check history", wait=WAIT_S)

    def _open(self) -> None:
        opened = open_or_start_afresh(self.path, self._connect, what="the check history")
        self._db, self.moved_to = opened.db, opened.moved_to
        if opened.error is not None:
            self.problem = f"{opened.error} Checks still work, but this session's checks will not be remembered."
        elif opened.damaged is not None:
            where = f" It was kept as {self.moved_to.name}." if self.moved_to else ""
            self.problem = (f"The check history file could not be read ({opened.damaged}), so a new one was "
                            f"started.{where}")


    # -- reading and writing --------------------------------------------------------------------

    def add(self, report: DomainReport) -> int | None:
        """Store one run; returns its id (``None`` when the history is unavailable)."""
        data = report.to_json()
        domain = report.domain.lower()
        with self._lock:
            if self._db is None:
                return None
            try:
                with _transaction(self._db):
                    cur = self._db.execute(
                        "INSERT INTO checks (domain, started, status, report) VALUES (?, ?, ?, ?)",
                        (domain, report.started, str(report.status), json.dumps(data, ensure_ascii=False)),
                    )
                    new_id = int(cur.lastrowid or 0)
                    _record_sightings(self._db, domain, report, new_id)
                    self._db.execute(
                        "DELETE FROM checks WHERE domain = ? AND id NOT IN "
                        "(SELECT id FROM checks WHERE domain = ? ORDER BY id DESC LIMIT ?)",
                        (domain, domain, KEEP_PER_DOMAIN),
                    )
                return new_id
            except (sqlite3.Error, OSError) as exc:
                self.problem = (f"This check could not be saved to the history: "
                                f"{problem_of(exc, 'the check history', self.path)}")
                return None

    def add_export(self, domain: str, path: str, fmt: str, file_sha256: str, content_sha256: str, size: int,
                   created: datetime | None = None) -> int | None:
        """Remember an exported report (its file's SHA-256); the id, or None when the history is
        unavailable or can't be written (``problem`` then says so)."""
        when = (created or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds")
        with self._lock:
            if self._db is None:
                return None
            try:
                with _transaction(self._db):
                    cur = self._db.execute(
                        "INSERT INTO exports (domain, created, path, format, file_sha256, content_sha256, size) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (domain.lower(), when, path, fmt, file_sha256.lower(), content_sha256.lower(), int(size)))
                return int(cur.lastrowid or 0)
            except sqlite3.DatabaseError as exc:
                self.problem = f"The export could not be recorded in the history ({exc})."
                return None

    def exports(self, *, file_sha256: str | None = None, content_sha256: str | None = None,
                limit: int = 20) -> list[ExportRecord]:
        """Exported reports, newest first: those whose file (or content) has this SHA-256, or all."""
        sql = "SELECT id, domain, created, path, format, file_sha256, content_sha256, size FROM exports"
        args: list[Any] = []
        if file_sha256 is not None:
            sql += " WHERE file_sha256 = ?"
            args.append(file_sha256.lower())
        elif content_sha256 is not None:
            sql += " WHERE content_sha256 = ?"
            args.append(content_sha256.lower())
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        with self._lock:
            if self._db is None:
                return []
            try:
                rows = self._db.execute(sql, args).fetchall()
            except sqlite3.DatabaseError:
                return []
        return [ExportRecord(int(a), str(b), str(c), str(d), str(e), str(f), str(g), int(h))
                for a, b, c, d, e, f, g, h in rows]

    def last(self, domain: str, *, before: int | None = None) -> StoredCheck | None:
        """The most recent stored run for ``domain`` (older than id ``before`` when given)."""
        sql = "SELECT id, domain, started, status, report FROM checks WHERE domain = ?"
        args: list[Any] = [domain.lower()]
        if before is not None:
            sql += " AND id < ?"
            args.append(before)
        sql += " ORDER BY id DESC"
        rows = self._select(sql, args, limit=1)
        return rows[0] if rows else None

    def runs(self, domain: str | None = None, limit: int = 50) -> list[StoredCheck]:
        """Stored runs, newest first (all domains, or one)."""
        if domain is None:
            return self._select("SELECT id, domain, started, status, report FROM checks ORDER BY id DESC", [],
                                limit=limit)
        return self._select("SELECT id, domain, started, status, report FROM checks WHERE domain = ? "
                            "ORDER BY id DESC", [domain.lower()], limit=limit)

    def domains(self) -> list[str]:
        """Every domain with a stored run, most recently checked first."""
        with self._lock:
            if self._db is None:
                return []
            try:
                rows = self._db.execute(
                    "SELECT domain FROM checks GROUP BY domain ORDER BY MAX(id) DESC").fetchall()
            except sqlite3.DatabaseError:
                return []
        return [str(r[0]) for r in rows]

    def get(self, run_id: int) -> StoredCheck | None:
        """One stored run by its id."""
        rows = self._select("SELECT id, domain, started, status, report FROM checks WHERE id = ?", [run_id])
        return rows[0] if rows else None

    def runs_between(self, domain: str, start: datetime | None = None, end: datetime | None = None,
                     ) -> list[StoredCheck]:
        """The stored runs of ``domain`` whose start time is in [start, end), oldest first. Times are
        compared as instants (a stored start without a zone counts as UTC)."""
        rows = self._select("SELECT id, domain, started, status, report FROM checks WHERE domain = ? ORDER BY id",
                            [domain.lower()])
        out = []
        for r in rows:
            when = parse_time(r.started)
            if when is None:
                continue
            if (start is None or when >= _utc(start)) and (end is None or when < _utc(end)):
                out.append(r)
        return out

    def sightings(self, domain: str, kind: str | None = None) -> list[Sighting]:
        """What was seen for ``domain`` (DKIM keys, selectors, the DMARC policy), first seen first."""
        sql = ("SELECT domain, kind, key, first_seen, last_seen, first_run, last_run FROM sightings "
               "WHERE domain = ?")
        args: list[Any] = [domain.lower()]
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        sql += " ORDER BY first_seen, key"
        with self._lock:
            if self._db is None:
                return []
            try:
                rows = self._db.execute(sql, args).fetchall()
            except sqlite3.DatabaseError:
                return []
        return [Sighting(str(a), str(b), str(c), str(d), str(e), int(f), int(g)) for a, b, c, d, e, f, g in rows]

    def first_seen(self, domain: str, kind: str, key: str) -> str | None:
        """When ``key`` of ``kind`` was first seen for ``domain`` (UTC ISO 8601), or None."""
        for s in self.sightings(domain, kind):
            if s.key == key:
                return s.first_seen
        return None

    def _select(self, sql: str, args: list[Any], limit: int | None = None) -> list[StoredCheck]:
        """The runs ``sql`` selects, in its order, up to ``limit`` readable ones (a row that is not a report is
        left out, and the next one taken in its place)."""
        out: list[StoredCheck] = []
        with self._lock:
            if self._db is None:
                return []
            try:
                cursor = self._db.execute(sql, args)
                while limit is None or len(out) < limit:
                    rows = cursor.fetchmany(max(1, (limit or 50) - len(out)))
                    if not rows:
                        break
                    for rid, dom, started, status, text in rows:
                        read = _read_report(text, rid, dom, started)
                        if read is not None:
                            stored = StoredCheck(int(rid), str(dom), str(started), str(status), read[0])
                            object.__setattr__(stored, "parsed", read[1])  # read once, here
                            out.append(stored)
            except sqlite3.DatabaseError as exc:
                self.problem = f"The check history could not be read ({exc})."
                return []
        return out


@dataclass(frozen=True)
class Sighting:
    """Something seen in the checks of a domain, with when it was first and last seen."""

    domain: str
    kind: str  # "dkim-key" | "dkim-selector" | "dmarc-policy"
    key: str
    first_seen: str  # UTC ISO 8601
    last_seen: str
    first_run: int
    last_run: int


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime (no zone: UTC); None when it is not a time."""
    try:
        when = datetime.fromisoformat(str(text).strip())
    except ValueError:
        return None
    return _utc(when)


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        return when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


def _tags(record: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in record.split(";"):
        name, sep, value = part.partition("=")
        if sep and name.strip():
            out.setdefault(name.strip().lower(), "".join(value.split()))
    return out


def key_fingerprint(record: str) -> str | None:
    """SHA-256 (hex) of a DKIM key record's public key (the p= value without spaces); None when the
    record has no usable p= (not a key, or revoked)."""
    p = _tags(record).get("p", "")
    if not p:
        return None
    return hashlib.sha256(p.encode("ascii", "replace")).hexdigest()


def dkim_keys(report: DomainReport) -> dict[str, str | None]:
    """The DKIM selectors of a run that have a record: selector -> key fingerprint (None for a record that is
    not a live key). Empty when DKIM was not checked or couldn't be checked."""
    dkim = report.checks.get("dkim")
    if dkim is None or dkim.status is Status.ERROR:
        return {}
    out: dict[str, str | None] = {}
    # a run stored by an older version may lack keys of today's DkimDetail: each one is read with a default
    for e in _dicts(dkim.detail.get("found")):
        sel, record = e.get("selector"), e.get("record")
        if not isinstance(sel, str) or sel == "*" or not isinstance(record, str) or not record:
            continue
        live = bool(e.get("key_type")) and not e.get("revoked")
        out[sel] = key_fingerprint(record) if live else None
    return out


def dmarc_policy(report: DomainReport) -> str | None:
    """The DMARC policy (p=) of a run; "" for no record; None when not (or couldn't be) checked."""
    dmarc = report.checks.get("dmarc")
    if dmarc is None or dmarc.status is Status.ERROR or not dmarc.detail:
        return None
    policy = dmarc.detail.get("policy")
    return policy if isinstance(policy, str) else ""


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [cast(dict[str, Any], v) for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _read_report(text: str, run_id: object, domain: object, started: object,
                 ) -> tuple[dict[str, Any], DomainReport] | None:
    """A stored run, as its JSON and as a ``DomainReport`` (written by this version or an older one; the row's
    own domain and start time stand in where its JSON lacks them); None for a row that is not one (damaged
    by hand), which is left out."""
    try:
        data = json.loads(text)
        if isinstance(data, dict):
            data.setdefault("domain", str(domain))
            data.setdefault("started", str(started))
        return data, DomainReport.from_json(data)
    except (ValueError, TypeError) as exc:
        log.debug("history: run %s is not a readable report (%s); left out", run_id, exc)
        return None


def _record_sightings(db: sqlite3.Connection, domain: str, report: DomainReport, run_id: int) -> None:
    """Update the sightings for one run (inside the caller's transaction)."""
    when = parse_time(report.started)
    if when is None:
        return
    stamp = when.isoformat()
    seen: list[tuple[str, str]] = []
    for sel, fp in dkim_keys(report).items():
        seen.append(("dkim-selector", sel))
        if fp:
            seen.append(("dkim-key", f"{sel} {fp}"))
    policy = dmarc_policy(report)
    if policy is not None:
        db.execute("DELETE FROM sightings WHERE domain = ? AND kind = 'dmarc-policy' AND key != ?",
                   (domain, policy))
        seen.append(("dmarc-policy", policy))
    for kind, key in seen:
        db.execute(
            "INSERT INTO sightings (domain, kind, key, first_seen, last_seen, first_run, last_run) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (domain, kind, key) DO UPDATE SET "
            "first_seen = MIN(first_seen, excluded.first_seen), last_seen = MAX(last_seen, excluded.last_seen), "
            "last_run = MAX(last_run, excluded.last_run)",
            (domain, kind, key, stamp, stamp, run_id, run_id))


def _backfill_sightings(db: sqlite3.Connection) -> None:
    """Fill the sightings table from the runs already stored (a history made before it existed)."""
    try:
        rows = db.execute("SELECT id, domain, started, report FROM checks ORDER BY id").fetchall()
        with _transaction(db):
            for rid, dom, started, text in rows:
                read = _read_report(text, rid, dom, started)
                if read is not None:
                    _record_sightings(db, str(dom), read[1], int(rid))
    except sqlite3.DatabaseError:
        pass


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any exception (the connection is in autocommit mode)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")


__all__ = ["ExportRecord", "History", "Sighting", "StoredCheck", "dkim_keys", "dmarc_policy", "key_fingerprint",
           "parse_time"]
