"""The report store: DMARC aggregate and SMTP TLS reports in SQLite, in the user data folder.

Public API::

    REPORTS_FILE = "reports.sqlite3"                      # in settings.data_dir() (INBOXREADY_HOME/data)
    @dataclass class ReportInfo(name, kind, org, report_id, domain, begin, end, messages, problem="",
                                skipped_rows=0, skipped="")   # domain "": a TLS report that names none
                                                              # messages: DMARC messages; TLS sessions, each once
    @dataclass class ImportResult(imported: list[ReportInfo], duplicate: list[ReportInfo],
                                  rejected: list[tuple[str, str]], files: int,
                                  repeated: list[ReportInfo], conflicting: list[ReportInfo])   # .to_json()
        .flagged (imported, impossible dates), .partial (imported, some rows unreadable and skipped),
        .partial_before (stored before, without such rows: the note said again)
    class ImportStopped(DbProblem)   # .result: what was stored (committed) before the store failed
    class ReportStore(path: Path | None = None, *, on_wait=None)
        .import_paths(paths, *, on_progress=None, limits=None, workers=1, cancel=None) -> ImportResult
              on_progress(done_files: int, total_files: int, name: str) -> None
              workers > 1: unpack and parse in that many "spawn" processes; storing stays here, in order
              cancel() -> bool, asked between files, between the mails of an mbox, between reports and every
              megabyte of a report: commit every whole file/mail stored, drop the one being read, stop
              (result.cancelled); a unit of BIG_UNIT_ROWS rows or more is committed on its own, so Cancel
              while it is being stored rolls back only it
              raises ImportStopped when the database fails (disk full, busy past the wait, I/O error)
        .import_bytes(name: str, data: bytes, *, limits=None) -> ImportResult   # one mail's or file's bytes
        .domains() -> list[str]
        .counts() -> {"dmarc": int, "tlsrpt": int, "rows": int}
        .query(sql, params=()) -> list[tuple]                      # read-only use by summary / tests
        .ptr_get(ips) -> {ip: (name | None, "ok" | "none" | "failed" | "unconfirmed")};  .ptr_put([(ip, name, status)])
        .imap_state(account, folder) -> (uidvalidity, last_uid) | None;  .set_imap_state(account, folder, v, uid)
        .problem: str   # plain words when the store could not be opened or a damaged file was moved aside
        .available: bool
        .close()

A report is stored once: (kind, organisation, report id, domain, period) is unique. A report id alone is
not: reporters reuse one id for their reports about several domains, or for consecutive periods (seen from
Google and Mimecast), and each of those is a report of its own. Importing a report again counts it as a
``duplicate`` when it was stored before this import, as ``repeated`` when it came twice in this import (the
same report in a .zip and an .xml.gz), and as ``conflicting`` when a report with the same reporter, id,
domain and period but different content is already stored: the first one is kept and the result says so.
Stores of schema 2 (unique by reporter and id alone) are upgraded in place (one transaction), and their
reverse DNS cache is emptied: its names were stored before a name had to be forward-confirmed, so each is
looked up again under that rule. A report whose dates
can't be right (``aggregate.date_problem``: ends before it begins, before 2012, in the future, longer than a
month) is stored with its ``problem`` and left out of every summary's range; ``ReportInfo.problem`` says why.
A report some of whose rows could not be read is stored with the rest and with how many rows were left out and
why (``skipped_rows``, ``skipped``: schema 4, added in place to a store of schema 3, whose partial reports get
their note when the same file is imported again); importing it again says so again (``partial_before``).

The database uses WAL and ``synchronous=FULL``: a commit is on disk before it returns, so a power cut (not
only an app crash, which ``NORMAL`` would also survive) keeps every committed file; with commits batched every
``BATCH_SECONDS`` that costs one fsync per batch, and ``NORMAL`` measured no faster on the 10,060-file
benchmark (SQLite is ~25% of an import's CPU, nearly all of it building pages, not syncing). Every input file
is all-or-nothing (commits happen only between files; an error rolls the open batch back); files are committed
in small batches (at most ``BATCH_SECONDS`` apart), so a crash in the middle of a folder import loses at most
the last fraction of a second of work, never anything committed, and importing the folder again adds exactly
what is missing.

Nothing one file holds can stop an import: reading errors become that file's rejection (``extract``), and an
error while storing one file (an odd value the database refuses, a bug) rolls the batch back, stores the
batch's other files again and rejects that file alone. Only the database failing stops an import
(``ImportStopped``, with what was committed before).

Opening and waiting (``sqlitedb``): opening an up-to-date store writes nothing, so a summary opens at once
while another process imports. An import waits up to ``IMPORT_WAIT_S`` while another InboxReady imports into
the same store (``on_wait(sentence)`` once when it starts waiting), then stops with a clear message. A busy,
full, read-only or forbidden store is never moved: only a damaged file is (``reports.sqlite3.damaged-<time>``,
a fresh one started), and never while another process has it open. The file is 0600 in a 0700 folder.

Safe to use from several threads (one lock); the UI must call it off the UI thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from ..model import json_int, json_list, json_object, json_str
from ..store.settings import data_dir
from ..store.sqlitedb import DbProblem, OpenStore, begin_write, connect_durable, open_or_start_afresh, problem_of
from .aggregate import AggregateReport, ParseBudget, ReportError, date_problem, parse_aggregate, parse_aggregate_flat
from .extract import Cancelled, Limits, Payload, Rejected, clean_name, extract_bytes, extract_file, iter_input_files
from .tlsrpt import TlsReport, name_the_domain, parse_tlsrpt

REPORTS_FILE = "reports.sqlite3"
SCHEMA_VERSION = 4
PTR_CONFIRMED_SINCE = 3  # reverse names cached by older stores were not forward-confirmed (emptied on upgrade)
BATCH_SECONDS = 0.5
BIG_UNIT_ROWS = 20_000  # a unit (file, or mail of an mbox) with this many rows is stored and committed on its own
ROW_CHUNK = 20_000      # rows stored between two looks at Cancel
IMPORT_WAIT_S = 300.0   # an import waits this long for another process importing into the same store
OPEN_WAIT_S = 30.0      # opening waits this long when the store must be created or upgraded meanwhile
WHAT = "the report store"

_REPORTS_TABLE = """(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,              -- 'dmarc' or 'tlsrpt'
    org TEXT NOT NULL,
    report_id TEXT NOT NULL,
    domain TEXT NOT NULL,
    begin INTEGER NOT NULL,
    end INTEGER NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    policy TEXT NOT NULL DEFAULT '{}',
    source TEXT NOT NULL DEFAULT '',
    imported INTEGER NOT NULL,
    messages INTEGER NOT NULL DEFAULT 0,
    problem TEXT,                    -- why the dates can't be right (left out of summaries); NULL when fine
    derived INTEGER NOT NULL DEFAULT 0,  -- messages whose DMARC result InboxReady worked out (auth_results)
    skipped_rows INTEGER NOT NULL DEFAULT 0,  -- rows (records) that could not be read and were left out
    skipped TEXT NOT NULL DEFAULT '',         -- that in words, with the first reasons ('' when none)
    UNIQUE (kind, org, report_id, domain, begin, end)
)"""

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS reports {_REPORTS_TABLE};
CREATE INDEX IF NOT EXISTS reports_domain ON reports (domain, end);
CREATE TABLE IF NOT EXISTS rows (
    report INTEGER NOT NULL REFERENCES reports (id),
    source_ip TEXT NOT NULL,
    count INTEGER NOT NULL,
    disposition TEXT NOT NULL,
    dkim TEXT NOT NULL,
    spf TEXT NOT NULL,
    header_from TEXT NOT NULL,
    envelope_from TEXT,
    dkim_domain TEXT,
    dkim_selector TEXT,
    dkim_result TEXT,
    spf_domain TEXT,
    spf_result TEXT,
    reasons TEXT
);
CREATE INDEX IF NOT EXISTS rows_report ON rows (report);
CREATE TABLE IF NOT EXISTS tls_policies (
    report INTEGER NOT NULL REFERENCES reports (id),
    policy_type TEXT NOT NULL,
    policy_domain TEXT NOT NULL,
    successful INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tls_report ON tls_policies (report);
CREATE TABLE IF NOT EXISTS ptr (
    ip TEXT PRIMARY KEY,
    name TEXT,
    status TEXT NOT NULL,            -- 'ok' (forward-confirmed), 'none' (no PTR), 'failed' (timeout / server
                                     -- failure), 'unconfirmed' (the name does not resolve back to the address)
    checked INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS imap_state (
    account TEXT NOT NULL,
    folder TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    last_uid INTEGER NOT NULL,
    PRIMARY KEY (account, folder)
);
"""


@dataclass(frozen=True)
class ReportInfo:
    name: str
    kind: str          # "dmarc" or "tlsrpt"
    org: str
    report_id: str
    domain: str
    begin: int
    end: int
    messages: int      # DMARC: messages; TLS: sessions
    problem: str = ""  # why its dates can't be right (it is left out of summaries), or ""
    skipped_rows: int = 0  # DMARC: rows (records) that could not be read and were left out
    skipped: str = ""      # that in words, with the reasons ("" when none)

    @classmethod
    def from_json(cls, data: Any) -> "ReportInfo":
        """The report ``asdict`` (``ImportResult.to_json``) wrote."""
        d = json_object(data, "report")
        return cls(name=json_str(d, "name"), kind=json_str(d, "kind"), org=json_str(d, "org", ""),
                   report_id=json_str(d, "report_id", ""), domain=json_str(d, "domain", ""),
                   begin=json_int(d, "begin"), end=json_int(d, "end"), messages=json_int(d, "messages"),
                   problem=json_str(d, "problem", ""), skipped_rows=json_int(d, "skipped_rows", 0),
                   skipped=json_str(d, "skipped", ""))


@dataclass
class ImportResult:
    imported: list[ReportInfo] = field(default_factory=list)
    duplicate: list[ReportInfo] = field(default_factory=list)     # stored before this import
    rejected: list[tuple[str, str]] = field(default_factory=list)
    files: int = 0
    cancelled: bool = False   # import_paths was asked to stop before the last file (not in to_json)
    repeated: list[ReportInfo] = field(default_factory=list)      # came more than once in this import
    conflicting: list[ReportInfo] = field(default_factory=list)   # same reporter and id, other content: skipped

    def merge(self, other: "ImportResult") -> None:
        self.imported += other.imported
        self.duplicate += other.duplicate
        self.rejected += other.rejected
        self.repeated += other.repeated
        self.conflicting += other.conflicting
        self.files += other.files
        self.cancelled = self.cancelled or other.cancelled

    @property
    def flagged(self) -> list[ReportInfo]:
        """Imported reports whose dates can't be right (kept, left out of summaries)."""
        return [i for i in self.imported if i.problem]

    @property
    def partial(self) -> list[ReportInfo]:
        """Imported reports some of whose rows could not be read (those were skipped; ``skipped`` says why)."""
        return [i for i in self.imported if i.skipped_rows]

    @property
    def partial_before(self) -> list[ReportInfo]:
        """Reports stored before this import (``duplicate``) without some of their rows: the note their first
        import gave, said again (a ``repeated`` one is in ``partial`` already)."""
        return [i for i in self.duplicate if i.skipped_rows]

    def to_json(self) -> dict[str, Any]:
        return {"files": self.files, "imported": [asdict(i) for i in self.imported],
                "duplicate": [asdict(i) for i in self.duplicate],
                "repeated": [asdict(i) for i in self.repeated],
                "conflicting": [asdict(i) for i in self.conflicting],
                "rejected": [{"name": n, "reason": r} for n, r in self.rejected]}

    @classmethod
    def from_json(cls, data: Any) -> "ImportResult":
        """The result ``to_json`` wrote (``cancelled`` is not in it: it comes back false)."""
        d = json_object(data, "import result")

        def infos(key: str) -> list[ReportInfo]:
            return [ReportInfo.from_json(x) for x in json_list(d, key)]

        rejected = [json_object(x, "rejected file") for x in json_list(d, "rejected")]
        return cls(imported=infos("imported"), duplicate=infos("duplicate"), repeated=infos("repeated"),
                   conflicting=infos("conflicting"),
                   rejected=[(json_str(x, "name"), json_str(x, "reason")) for x in rejected],
                   files=json_int(d, "files"))


class ImportStopped(DbProblem):
    """The store failed in the middle of an import (disk full, busy past the wait, an I/O error): ``result``
    holds what was committed before (every file of it complete); the rest can be imported again later."""

    def __init__(self, problem: DbProblem, result: ImportResult, done: int, total: int) -> None:
        kept = (f" The {len(result.imported):,} report(s) imported before were kept; importing the same files "
                "again adds what is missing." if result.imported else "")
        where = f"The import stopped at file {done:,} of {total:,}" if done else "The import could not start"
        super().__init__(problem.kind, f"{where}: {problem.message}{kept}", problem.detail)
        self.result = result


ParsedReport = AggregateReport | TlsReport
Parsed = list[tuple[str, ParsedReport] | Rejected]


def parse_payload(p: Payload) -> ParsedReport:
    """An aggregate (XML) or TLS (JSON) report from one payload; raises ``ReportError``. A TLS report's missing
    policy-domain is taken from its mail or file name when that is certain (``tlsrpt.name_the_domain``)."""
    if p.kind == "xml":
        return parse_aggregate(p.data)
    return _tls_of(p)


def _parse_for_store(p: Payload, budget: ParseBudget) -> ParsedReport:
    """As ``parse_payload``, with an aggregate report's rows in the store's form (``flat_rows``)."""
    if p.kind == "xml":
        return parse_aggregate_flat(p.data, budget)
    return _tls_of(p)


def _tls_of(p: Payload) -> TlsReport:
    report = parse_tlsrpt(p.data)
    name_the_domain(report, file_name=p.name, mail_domain=p.report_domain)
    return report


def _setup(db: sqlite3.Connection) -> None:
    """The schema (nothing is written when it is there) and the upgrades from versions 1, 2 and 3 (one
    transaction; ``sqlitedb`` writes the new version number after it)."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if not _has_table(db):
        db.executescript(_SCHEMA)
    columns = {r[1] for r in db.execute("PRAGMA table_info(reports)")}
    stale_ptr = version < PTR_CONFIRMED_SINCE and db.execute("SELECT 1 FROM ptr LIMIT 1").fetchone() is not None
    if {"problem", "derived", "skipped_rows", "skipped"} <= columns and not _narrow_identity(db) and not stale_ptr:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        if version < PTR_CONFIRMED_SINCE:
            # reverse names cached before names had to be forward-confirmed were stored as 'ok' unchecked (a
            # forger's mail-x.google.com among them): the cache is emptied so every name is looked up again
            # under the rule; nothing of the user's is lost, the names come back on the next lookup
            db.execute("DELETE FROM ptr")
        columns = {r[1] for r in db.execute("PRAGMA table_info(reports)")}
        if "problem" not in columns:
            db.execute("ALTER TABLE reports ADD COLUMN problem TEXT")
            flagged = []
            for rid, begin, end, imported in db.execute("SELECT id, begin, end, imported FROM reports").fetchall():
                why = date_problem(int(begin), int(end), float(imported))
                if why:
                    flagged.append((why, rid))
            db.executemany("UPDATE reports SET problem=? WHERE id=?", flagged)
        if "derived" not in columns:
            db.execute("ALTER TABLE reports ADD COLUMN derived INTEGER NOT NULL DEFAULT 0")
        if "skipped_rows" not in columns:
            # schema 4: the rows left out of a partial report are said with it (stores of schema 3 did not keep
            # them: their reports read as whole until the same file is imported again, which fills them in)
            db.execute("ALTER TABLE reports ADD COLUMN skipped_rows INTEGER NOT NULL DEFAULT 0")
        if "skipped" not in columns:
            db.execute("ALTER TABLE reports ADD COLUMN skipped TEXT NOT NULL DEFAULT ''")
        if _narrow_identity(db):
            _widen_identity(db)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


_REPORT_COLUMNS = ("id, kind, org, report_id, domain, begin, end, email, policy, source, imported, messages, problem, "
                   "derived")


def _narrow_identity(db: sqlite3.Connection) -> bool:
    """True for a store of schema 2 or older: its reports are unique by (kind, org, report_id) alone."""
    for _seq, name, unique, *_ in db.execute("PRAGMA index_list(reports)").fetchall():
        if unique and [r[2] for r in db.execute(f"PRAGMA index_info('{name}')")] == ["kind", "org", "report_id"]:
            return True
    return False


def _widen_identity(db: sqlite3.Connection) -> None:
    """Rebuild the reports table with the identity (kind, org, report_id, domain, begin, end), keeping every
    row and its id (the rows and TLS policies point at it); inside the caller's transaction."""
    db.execute("DROP TABLE IF EXISTS reports_widened")
    db.execute(f"CREATE TABLE reports_widened {_REPORTS_TABLE}")
    db.execute(f"INSERT INTO reports_widened ({_REPORT_COLUMNS}) SELECT {_REPORT_COLUMNS} FROM reports")
    db.execute("DROP TABLE reports")
    db.execute("ALTER TABLE reports_widened RENAME TO reports")
    db.execute("CREATE INDEX IF NOT EXISTS reports_domain ON reports (domain, end)")


def _has_table(db: sqlite3.Connection) -> bool:
    """True when every table and index of the schema is there (then creating them would write nothing)."""
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")}
    return {"reports", "reports_domain", "rows", "rows_report", "tls_policies", "tls_report", "ptr",
            "imap_state"} <= names


def _stop_kind(exc: BaseException) -> bool:
    """True for an error of the database itself (stop the import); False for one file's odd data."""
    if isinstance(exc, (sqlite3.IntegrityError, sqlite3.DataError, sqlite3.InterfaceError,
                        sqlite3.ProgrammingError)):
        return False
    return isinstance(exc, (sqlite3.Error, OSError, DbProblem))


class ReportStore(OpenStore):
    """The SQLite store of imported reports."""

    def __init__(self, path: Path | None = None, *, on_wait: Callable[[str], None] | None = None) -> None:
        self.path = path if path is not None else data_dir() / REPORTS_FILE
        self.problem = ""
        self.moved_to: Path | None = None
        self.read_only = False  # opened read-only: the store can't be written (or upgraded) now; shown as it is
        self.on_wait = on_wait
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._ptr_mem: dict[str, tuple[str | None, str]] = {}   # names found while the store was busy
        self._open()

    # -- opening, repairing ---------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        return connect_durable(self.path, schema_version=SCHEMA_VERSION, setup=_setup, timeout=10.0, what=WHAT,
                               wait=OPEN_WAIT_S, on_wait=self.on_wait)

    def _open(self) -> None:
        opened = open_or_start_afresh(self.path, self._connect, what=WHAT)
        self._db, self.moved_to = opened.db, opened.moved_to
        if opened.error is not None and opened.error.kind in ("readonly", "full", "permission") \
                and opened.moved_to is None and self._open_read_only(opened.error):
            return
        if opened.error is not None:
            self.problem = str(opened.error)
            if opened.error.kind in ("busy", "full", "readonly", "permission", "io", "in-use"):
                self.problem += " No reports can be imported or shown until then."
        elif opened.damaged is not None:
            where = f" It was kept as {self.moved_to.name}." if self.moved_to else ""
            self.problem = (f"The report store could not be read ({opened.damaged}), so a new one was started."
                            f"{where}")


    def _open_read_only(self, error: DbProblem) -> bool:
        """The store opened read-only when it can't be opened for writing (a read-only or full disk, a file
        InboxReady may not write): a store of schema 3, whose upgrade to 4 must write, or an up-to-date one on
        read-only media. What it has is shown; the columns schema 4 added (the rows a partial report left
        out) read as none, through a temporary view (temp objects live outside the file, so nothing is
        written to it). Never moved aside, never changed: the next open with room upgrades it as usual.
        False (and the caller's problem stands) when it can't be read that way either, or it is older than
        schema 3 (its reverse-DNS cache holds names never forward-confirmed: not shown as if they were)."""
        if not self.path.is_file():
            return False
        from urllib.parse import quote

        where = quote(str(self.path.resolve()))
        db = None
        # mode=ro needs the WAL's -shm file (created next to it when the folder can be written); read-only
        # media without one: immutable (the file is read as it is, without the last -wal pages)
        for uri in (f"file:{where}?mode=ro", f"file:{where}?immutable=1"):
            try:
                db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=10.0)
                version = int(db.execute("PRAGMA user_version").fetchone()[0])
                ok = db.execute("PRAGMA quick_check").fetchone()
                names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                if ok is None or ok[0] != "ok" or not {"reports", "rows", "tls_policies", "ptr", "imap_state"} <= names:
                    db.close()
                    return False
                break
            except sqlite3.Error:
                if db is not None:
                    db.close()
                db = None
        if db is None:
            return False
        if not PTR_CONFIRMED_SINCE <= version <= SCHEMA_VERSION:
            db.close()
            return False
        columns = {r[1] for r in db.execute("PRAGMA main.table_info(reports)")}
        extras = {"problem": "NULL", "derived": "0", "skipped_rows": "0", "skipped": "''"}
        missing = [f"{default} AS {name}" for name, default in extras.items() if name not in columns]
        try:
            if missing:  # unqualified names find temp objects first: every query reads the view
                db.execute(f"CREATE TEMP VIEW reports AS SELECT *, {', '.join(missing)} FROM main.reports")
        except sqlite3.Error:
            db.close()
            return False
        self._db, self.read_only = db, True
        why = {"full": "the disk is full", "readonly": "the disk or the file is read-only",
               "permission": "InboxReady is not allowed to write to the file"}[error.kind]
        until = {"full": "there is room on the disk", "readonly": "it can be written again",
                 "permission": "InboxReady may write to it"}[error.kind]
        if version < SCHEMA_VERSION:
            self.problem = (f"The report store needs an upgrade that writes to it, and {why} ({self.path}). It is "
                            f"shown as it is, read-only: every report imported before is there, but not which "
                            f"reports had rows that couldn't be read (this version notes that). Nothing was moved "
                            f"or changed; it is upgraded when {until}. Importing is off until then.")
        else:
            self.problem = (f"The report store can't be written now: {why} ({self.path}). It is shown as it is, "
                            f"read-only; nothing was moved or changed. Importing is off until {until}.")
        return True

    def _refuse_write(self) -> DbProblem:
        return DbProblem("readonly", self.problem or "The report store is open read-only.")

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise DbProblem("io", self.problem or "The report store is closed.")
        return self._db

    def _begin(self, db: sqlite3.Connection, cancel: Callable[[], bool] | None = None) -> None:
        begin_write(db, what=WHAT, path=self.path, wait=IMPORT_WAIT_S, on_wait=self.on_wait, cancel=cancel)

    # -- importing ------------------------------------------------------------------------------

    def import_paths(self, paths: Iterable[str | Path | Rejected], *,
                     on_progress: Callable[[int, int, str], None] | None = None,
                     limits: Limits | None = None, workers: int = 1,
                     cancel: Callable[[], bool] | None = None) -> ImportResult:
        """Import files and folders. Never raises for bad input: bad files are listed in ``rejected``; raises
        ``ImportStopped`` only when the database fails (with what was committed before).

        ``workers`` > 1 unpacks and parses the files in that many worker processes (``spawn``; worth it from a
        few hundred files on a multi-core machine with idle cores); storing stays in this process, in the same
        order. ``cancel()`` is asked between files and, inside one, between mails and reports and every megabyte
        of a report (``Cancelled``): when true, every whole unit stored is committed, the unit being read or
        stored is left out, and the import stops at once (``result.cancelled``), letting go of the store. ``on_progress(done, total, name)`` after each input file."""
        result = ImportResult()
        items = list(iter_input_files(paths))
        total = len(items)
        if self.read_only:
            raise ImportStopped(self._refuse_write(), result, 0, total)
        files = [i for i in items if not isinstance(i, Rejected)]
        parsed: Iterator[Iterable[Parsed]]   # per input file, its units (one, or one per mail of an mbox)
        pool = None
        if workers > 1 and len(files) >= 2 * workers:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
            parsed = _pooled(pool, workers, files, limits, cancel=cancel)
        else:
            parsed = (_parse_units(f, limits, cancel=cancel) for f in files)
        done = 0
        try:
            with self._lock:
                storing_alone = False  # a big unit is being stored in a batch of its own (Cancel rolls it back)
                try:
                    db = self._conn()
                    batch = _Batch()
                    self._begin(db, cancel)
                    for done, item in enumerate(items, 1):
                        if isinstance(item, Rejected):
                            result.rejected.append((item.name, item.reason))
                        else:
                            result.files += 1
                            for index, unit in enumerate(next(parsed)):
                                if cancel is not None and cancel():
                                    raise Cancelled()  # between two mails of an mbox: those before are whole
                                big = _rows_in(unit) >= BIG_UNIT_ROWS
                                if big and batch.files:  # commit the batch first: Cancel while storing this
                                    db.execute("COMMIT")  # one then rolls back this one alone
                                    batch.committed(result)
                                    self._begin(db, cancel)
                                storing_alone = big
                                self._store_batched(db, batch, clean_name(item.name), unit, cancel,
                                                    _Source(item, index, limits), watch=big)
                                storing_alone = False
                                if time.monotonic() - batch.started >= BATCH_SECONDS or big:
                                    db.execute("COMMIT")
                                    batch.committed(result)
                                    self._begin(db, cancel)
                        if on_progress is not None:
                            on_progress(done, total, item.name)
                        if cancel is not None and done < total and cancel():
                            result.cancelled = True
                            break
                    db.execute("COMMIT")
                    batch.committed(result)
                except Cancelled:
                    # Cancel inside a file: keep every whole unit (a file, or a mail of an mbox) stored so far,
                    # not the one being read or stored when Cancel came; then let go of the store at once
                    result.cancelled = True
                    if storing_alone:
                        self._rollback()
                        batch.reset()
                    else:
                        try:
                            db.execute("COMMIT")
                            batch.committed(result)
                        except BaseException as exc:
                            self._rollback()
                            if _stop_kind(exc):
                                raise ImportStopped(problem_of(exc, WHAT, self.path), result, done, total) from None
                            raise
                except BaseException as exc:
                    self._rollback()
                    if _stop_kind(exc):
                        raise ImportStopped(problem_of(exc, WHAT, self.path), result, done, total) from None
                    raise
        finally:
            if pool is not None:  # cancelled: don't wait for the workers' files (they hold no lock)
                pool.shutdown(wait=not result.cancelled, cancel_futures=True)
        return result

    def _rollback(self) -> None:
        db = self._db
        if db is not None and db.in_transaction:
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # SQLite may have rolled back itself (disk full); nothing of the batch was committed

    def _store_batched(self, db: sqlite3.Connection, batch: "_Batch", name: str, parsed: Parsed,
                       cancel: Callable[[], bool] | None, source: "_Source | None" = None, *,
                       watch: bool = False) -> None:
        """Store one unit (a file, or a mail of an mbox) in the open batch. An error of the database propagates;
        any other error (a value SQLite refuses, a bug) rolls the batch back, stores the batch's other units
        again (read again from their files: the batch keeps only where they came from, so it holds no parsed
        reports) and rejects this one."""
        local = ImportResult()
        try:
            batch.cancel = cancel if watch else None
            self._store_file(db, parsed, local, batch)
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - one odd file must never stop an import
            if _stop_kind(exc):
                raise
            self._rollback()
            self._begin(db, cancel)
            earlier = batch.files
            batch.reset()
            for src, again in _read_again([s for s, _r in earlier]):
                result = ImportResult()
                if again is not None:
                    self._store_file(db, again, result, batch)
                batch.files.append((src, result))
            local = ImportResult(rejected=[(name, f"this file could not be stored ({type(exc).__name__}: "
                                                  f"{clean_name(str(exc))[:100]}); it was skipped")])
        batch.files.append((source, local))

    def import_bytes(self, name: str, data: bytes, *, limits: Limits | None = None) -> ImportResult:
        """Import the reports in one file's (or one mail's) bytes, in one transaction. Raises ``DbProblem``
        when the database fails (nothing of this file is then stored)."""
        result = ImportResult(files=1)
        if self.read_only:
            raise self._refuse_write()
        parsed = _parse_items(extract_bytes(name, data, limits))
        with self._lock:
            try:
                db = self._conn()
                batch = _Batch()
                self._begin(db)
                self._store_batched(db, batch, clean_name(name), parsed, None)
                db.execute("COMMIT")
                batch.committed(result)
            except BaseException as exc:
                self._rollback()
                if _stop_kind(exc):
                    raise problem_of(exc, WHAT, self.path) from None
                raise
        return result

    def _store_file(self, db: sqlite3.Connection, items: Iterable[tuple[str, ParsedReport] | Rejected],
                    result: ImportResult, batch: "_Batch") -> None:
        """Store one input file's reports inside the caller's transaction. All of them or none: commits happen
        only between files, and an error here makes the caller roll the open batch back (so no savepoint per
        file is needed; it cost a sixth of the store's time). ``batch.cancel``: asked between reports and every
        ``ROW_CHUNK`` rows (set for a big unit, stored in a batch of its own: ``Cancelled`` rolls back only it)."""
        for item in items:
            if isinstance(item, Rejected):
                result.rejected.append((item.name, item.reason))
                continue
            if batch.cancel is not None and batch.cancel():
                raise Cancelled()
            info, outcome = self._insert(db, item[0], item[1], batch)
            {"new": result.imported, "duplicate": result.duplicate, "repeated": result.repeated,
             "conflicting": result.conflicting}[outcome].append(info)

    def _insert(self, db: sqlite3.Connection, name: str, report: ParsedReport,
                batch: "_Batch") -> tuple[ReportInfo, str]:
        now = int(time.time())
        name = clean_name(name)
        problem = date_problem(report.begin, report.end, now) or ""
        if isinstance(report, AggregateReport):
            kind = "dmarc"
            info = ReportInfo(name, kind, clean_name(report.org), clean_name(report.report_id),
                              clean_name(report.domain), report.begin, report.end, report.flat_messages, problem,
                              report.skipped_rows, clean_name(report.skipped))
            cur = db.execute(
                "INSERT OR IGNORE INTO reports (kind, org, report_id, domain, begin, end, email, policy, source, "
                "imported, messages, problem, derived, skipped_rows, skipped) "
                "VALUES ('dmarc', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (report.org, report.report_id, report.domain, report.begin, report.end, report.email,
                 json.dumps(report.policy_json()), name, now, info.messages, problem or None,
                 report.derived_messages, info.skipped_rows, info.skipped))
            if cur.rowcount == 0:
                return info, self._again(db, kind, report, batch)
            rid = cur.lastrowid
            rows = report.flat_rows
            cancel = batch.cancel
            step = ROW_CHUNK if cancel is not None else max(1, len(rows))
            for i in range(0, len(rows), step):
                if i and cancel is not None and cancel():
                    raise Cancelled()
                db.executemany(
                    "INSERT INTO rows (report, source_ip, count, disposition, dkim, spf, header_from, envelope_from, "
                    "dkim_domain, dkim_selector, dkim_result, spf_domain, spf_result, reasons) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    ((rid, *r) for r in rows[i:i + step]))
            batch.keys.add(_key(kind, report))
            return info, "new"
        kind = "tlsrpt"
        info = ReportInfo(name, kind, clean_name(report.org), clean_name(report.report_id), clean_name(report.domain),
                          report.begin, report.end, report.sessions, problem)
        cur = db.execute(
            "INSERT OR IGNORE INTO reports (kind, org, report_id, domain, begin, end, email, policy, source, "
            "imported, messages, problem) VALUES ('tlsrpt', ?, ?, ?, ?, ?, ?, '{}', ?, ?, ?, ?)",
            (report.org, report.report_id, report.domain, report.begin, report.end, report.contact_info, name, now,
             info.messages, problem or None))
        if cur.rowcount == 0:
            return info, self._again(db, kind, report, batch)
        rid = cur.lastrowid
        db.executemany(
            "INSERT INTO tls_policies (report, policy_type, policy_domain, successful, failed, details) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(rid, *row) for row in _tls_rows(report)])
        batch.keys.add(_key(kind, report))
        return info, "new"

    def _again(self, db: sqlite3.Connection, kind: str, report: ParsedReport, batch: "_Batch") -> str:
        """A report whose identity (``_key``) is stored: "repeated" (stored by this import), "duplicate"
        (stored before), or "conflicting" when its content differs (the stored one is kept)."""
        row = db.execute("SELECT id, domain, begin, end, policy, skipped_rows FROM reports WHERE kind=? AND org=? "
                         "AND report_id=? AND domain=? AND begin=? AND end=?",
                         (kind, report.org, report.report_id, report.domain, report.begin, report.end)).fetchone()
        if row is None:
            return "duplicate"
        rid, domain, begin, end, policy, stored_skips = row
        if isinstance(report, AggregateReport):
            same = (domain, begin, end) == (report.domain, report.begin, report.end) and \
                _same_json(policy, report.policy_json()) and \
                sorted(db.execute("SELECT source_ip, count, disposition, dkim, spf, header_from, envelope_from, "
                                  "dkim_domain, dkim_selector, dkim_result, spf_domain, spf_result, reasons FROM rows "
                                  "WHERE report=?", (rid,)).fetchall(), key=repr) == \
                sorted(report.flat_rows, key=repr)
        else:
            same = (domain, begin, end) == (report.domain, report.begin, report.end) and \
                sorted(db.execute("SELECT policy_type, policy_domain, successful, failed, details FROM tls_policies "
                                  "WHERE report=?", (rid,)).fetchall(), key=repr) == \
                sorted(_tls_rows(report), key=repr)
        if not same:
            return "conflicting"
        if isinstance(report, AggregateReport) and report.skipped_rows and not stored_skips:
            # stored by a store of schema 3, which did not keep the rows it skipped: the same rows were left out
            # then (the stored rows are these), so the note is kept from now on
            db.execute("UPDATE reports SET skipped_rows=?, skipped=? WHERE id=?",
                       (report.skipped_rows, clean_name(report.skipped), rid))
        return "repeated" if _key(kind, report) in batch.run_keys | batch.keys else "duplicate"

    # -- reading --------------------------------------------------------------------------------

    def domains(self) -> list[str]:
        """Domains that have reports, sorted."""
        with self._lock:
            if self._db is None:
                return []
            return [r[0] for r in self._db.execute(
                "SELECT DISTINCT domain FROM reports WHERE domain != '' ORDER BY domain")]

    def counts(self) -> dict[str, int]:
        with self._lock:
            db = self._conn()
            reports = db.execute("SELECT kind, count(*) FROM reports GROUP BY kind").fetchall()
            rows = db.execute("SELECT count(*) FROM rows").fetchone()[0]
        out = {k: n for k, n in reports}
        return {"dmarc": out.get("dmarc", 0), "tlsrpt": out.get("tlsrpt", 0), "rows": rows}

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read-only access for the summary and tests."""
        with self._lock:
            return self._conn().execute(sql, params).fetchall()

    # -- reverse DNS cache ----------------------------------------------------------------------

    def ptr_get(self, ips: Iterable[str]) -> dict[str, tuple[str | None, str]]:
        """Cached reverse names: ip → (name or None, status 'ok' / 'none' / 'failed' / 'unconfirmed')."""
        wanted = list(dict.fromkeys(ips))
        out: dict[str, tuple[str | None, str]] = {}
        with self._lock:
            db = self._conn()
            for i in range(0, len(wanted), 500):
                chunk = wanted[i:i + 500]
                marks = ",".join("?" * len(chunk))
                for ip, name, status in db.execute(f"SELECT ip, name, status FROM ptr WHERE ip IN ({marks})", chunk):
                    out[ip] = (name, status)
            for ip in wanted:
                if ip in self._ptr_mem:
                    out[ip] = self._ptr_mem[ip]
        return out

    def ptr_put(self, entries: Iterable[tuple[str, str | None, str]]) -> None:
        """Cache reverse names. A cache only: when the store is busy (another import) or full, the names are
        kept in memory for this session instead of waiting or failing."""
        now = int(time.time())
        rows = [(ip, name, status, now) for ip, name, status in entries]
        with self._lock:
            db = self._conn()
            try:
                begin_write(db, what=WHAT, path=self.path, wait=0.0)
                try:
                    db.executemany("INSERT OR REPLACE INTO ptr (ip, name, status, checked) VALUES (?, ?, ?, ?)", rows)
                    db.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise
                for ip, _name, _status, _now in rows:
                    self._ptr_mem.pop(ip, None)
            except (sqlite3.Error, OSError, DbProblem):
                for ip, name, status, _now in rows:
                    self._ptr_mem[ip] = (name, status)

    # -- IMAP watch state -----------------------------------------------------------------------

    def imap_state(self, account: str, folder: str) -> tuple[int, int] | None:
        """(uidvalidity, last UID read) for a mailbox folder, or None the first time."""
        with self._lock:
            row = self._conn().execute("SELECT uidvalidity, last_uid FROM imap_state WHERE account=? AND folder=?",
                                       (account, folder)).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def set_imap_state(self, account: str, folder: str, uidvalidity: int, last_uid: int) -> None:
        """Remember the last UID read; raises ``DbProblem`` when the store can't be written."""
        with self._lock:
            db = self._conn()
            try:
                self._begin(db)
                db.execute("INSERT OR REPLACE INTO imap_state (account, folder, uidvalidity, last_uid) "
                           "VALUES (?, ?, ?, ?)", (account, folder, uidvalidity, last_uid))
                db.execute("COMMIT")
            except (sqlite3.Error, OSError) as exc:
                self._rollback()
                raise problem_of(exc, WHAT, self.path) from None
            except BaseException:
                self._rollback()
                raise


def _key(kind: str, report: ParsedReport) -> tuple[str, str, str, str, int, int]:
    """A report's identity in the store (the table's UNIQUE constraint)."""
    return (kind, report.org, report.report_id, report.domain, report.begin, report.end)


def _same_json(stored: str, policy: dict[str, Any]) -> bool:
    try:
        return bool(json.loads(stored) == json.loads(json.dumps(policy)))
    except ValueError:
        return False


def _tls_rows(report: TlsReport) -> list[tuple[Any, ...]]:
    return [(p.policy_type, p.policy_domain, p.successful, p.failed, json.dumps([asdict(d) for d in p.failures]))
            for p in report.policies]


class _Source(NamedTuple):
    """Where a stored unit came from: the input file and the unit's place in it."""

    path: Path
    index: int  # type: ignore[assignment]  # (a field named like tuple.index)
    limits: Limits | None


def _read_again(sources: list["_Source | None"]) -> Iterator[tuple["_Source | None", Parsed | None]]:
    """The units at ``sources`` parsed again from their files, in order (None for a source that can't be read
    again, or a unit no longer there)."""
    i = 0
    while i < len(sources):
        src = sources[i]
        if src is None:
            yield None, None
            i += 1
            continue
        wanted = []
        while i < len(sources) and sources[i] is not None and sources[i].path == src.path:  # type: ignore[union-attr]
            wanted.append(sources[i])
            i += 1
        by_index = {w.index: w for w in wanted if w is not None}
        found: dict[int, Parsed] = {}
        for k, unit in enumerate(_parse_units(src.path, src.limits)):
            if k in by_index:
                found[k] = unit
            if k >= max(by_index):
                break
        for w in wanted:
            yield w, found.get(w.index) if w is not None else None


class _Batch:
    """The units stored since the last commit (where they came from, to store them again if one unit of the
    batch has to be taken out) and the report keys they added."""

    def __init__(self) -> None:
        self.files: list[tuple[_Source | None, ImportResult]] = []
        self.keys: set[tuple[str, str, str, str, int, int]] = set()
        self.run_keys: set[tuple[str, str, str, str, int, int]] = set()   # committed by this import
        self.started = time.monotonic()
        self.cancel: Callable[[], bool] | None = None  # asked while a big unit is stored (``_store_file``)

    def reset(self) -> None:
        self.files = []
        self.keys = set()

    def committed(self, result: ImportResult) -> None:
        for _source, local in self.files:
            result.merge(local)
        self.run_keys |= self.keys
        self.reset()
        self.started = time.monotonic()


def _parse_items(items: Iterable[Payload | Rejected]) -> Parsed:
    """Parse the payloads of one input file (with one ``ParseBudget`` for all of them)."""
    out: Parsed = []
    budget = ParseBudget()
    for item in items:
        if isinstance(item, Rejected):
            out.append(item)
            continue
        try:
            out.append((item.name, _parse_for_store(item, budget)))
        except ReportError as exc:
            out.append(Rejected(item.name, exc.reason))
    return out


def _parse_files(paths: list[Path], limits: Limits | None) -> list[list[Parsed]]:
    return [_parse_file(p, limits) for p in paths]


def _pooled(pool: Any, workers: int, files: list[Path], limits: Limits | None, chunk: int = 32,
            ahead: int = 3, cancel: Callable[[], bool] | None = None) -> Iterator[list[Parsed]]:
    """``_parse_file`` over ``files`` in ``pool``, in order, with at most ``ahead`` chunks per worker parsed and
    not yet stored (memory stays bounded when storing is slower than parsing). A worker that dies (killed,
    out of memory) does not stop the import: its files and the rest are read here instead."""
    from collections import deque
    from concurrent.futures.process import BrokenProcessPool

    chunks = iter([files[i:i + chunk] for i in range(0, len(files), chunk)])
    pending: deque[tuple[Any, list[Path]]] = deque()
    for c in chunks:
        pending.append((pool.submit(_parse_files, c, limits), c))
        if len(pending) >= ahead * workers:
            break
    broken = False
    while pending:
        future, paths = pending.popleft()
        try:
            done = _wait_for(future, cancel) if not broken else None
        except BrokenProcessPool:
            broken = True
            done = None
        if done is None:
            done = _parse_files(paths, limits)
        if not broken:
            nxt = next(chunks, None)
            if nxt is not None:
                try:
                    pending.append((pool.submit(_parse_files, nxt, limits), nxt))
                except (BrokenProcessPool, RuntimeError):
                    broken = True
                    pending.append((None, nxt))
        yield from done
    for rest in chunks:
        yield from _parse_files(rest, limits)


def _rows_in(unit: Parsed) -> int:
    return sum(len(item[1].flat_rows) for item in unit
               if not isinstance(item, Rejected) and isinstance(item[1], AggregateReport))


def _wait_for(future: Any, cancel: Callable[[], bool] | None) -> Any:
    """A worker's result, looking at Cancel while it parses (``Cancelled``)."""
    from concurrent.futures import TimeoutError as FutureTimeout

    if future is None:
        return None
    while True:
        try:
            return future.result(timeout=0.1 if cancel is not None else None)
        except FutureTimeout:
            if cancel is not None and cancel():
                raise Cancelled() from None


def _parse_units(path: Path, limits: Limits | None, *, one_budget: bool = False,
                 cancel: Callable[[], bool] | None = None) -> Iterator[Parsed]:
    """Unpack and parse one input file, unit by unit: the whole file, or each mail of an mbox (stored on its
    own, so a big mailbox file is never held whole). Never raises: anything that goes wrong becomes a
    rejection. ``one_budget``: one ``ParseBudget`` for the whole file (when all its units are held at once).
    ``cancel``: asked before each report and every megabyte inside one (raises ``Cancelled``)."""
    name = clean_name(path.name)
    unit: Parsed = []
    budget = ParseBudget(cancel=cancel)
    try:
        for item in extract_file(path, limits, units=True):
            budget.check()
            if not isinstance(item, (Payload, Rejected)):  # UNIT_END
                if unit:
                    yield unit
                unit = []
                if not one_budget:
                    budget = ParseBudget(cancel=cancel)
                continue
            if isinstance(item, Rejected):
                unit.append(item)
                continue
            try:
                unit.append((item.name, _parse_for_store(item, budget)))
            except ReportError as exc:
                unit.append(Rejected(item.name, exc.reason))
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - one odd file must never stop an import
        unit.append(Rejected(name, f"this file could not be read ({type(exc).__name__}); it was skipped"))
    yield unit


def _parse_file(path: Path, limits: Limits | None) -> list[Parsed]:
    """All the units of one input file (runs in a worker process when importing with ``workers``; one parse
    budget for the whole file, since the worker sends it back whole)."""
    return list(_parse_units(path, limits, one_budget=True))


__all__ = ["REPORTS_FILE", "ImportResult", "ImportStopped", "ReportInfo", "ReportStore", "parse_payload"]
