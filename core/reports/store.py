"""The report store: DMARC aggregate and SMTP TLS reports in SQLite, in the user data folder.

Public API::

    REPORTS_FILE = "reports.sqlite3"                      # in settings.data_dir() (INBOXREADY_HOME/data)
    @dataclass class ReportInfo(name, kind, org, report_id, domain, begin, end, messages)
    @dataclass class ImportResult(imported: list[ReportInfo], duplicate: list[ReportInfo],
                                  rejected: list[tuple[str, str]], files: int)   # .to_json()
    class ReportStore(path: Path | None = None)
        .import_paths(paths, *, on_progress=None, limits=None, workers=1, cancel=None) -> ImportResult
              on_progress(done_files: int, total_files: int, name: str) -> None
              workers > 1: unpack and parse in that many "spawn" processes; storing stays here, in order
              cancel() -> bool, asked after each file: commit what is stored and stop (result.cancelled)
        .import_bytes(name: str, data: bytes, *, limits=None) -> ImportResult   # one mail's or file's bytes
        .domains() -> list[str]
        .counts() -> {"dmarc": int, "tlsrpt": int, "rows": int}
        .query(sql, params=()) -> list[tuple]                      # read-only use by summary / tests
        .ptr_get(ips) -> {ip: (name | None, "ok" | "none" | "failed")};  .ptr_put([(ip, name, status)])
        .imap_state(account, folder) -> (uidvalidity, last_uid) | None;  .set_imap_state(account, folder, v, uid)
        .problem: str   # plain words when a damaged file was moved aside;  .available: bool
        .close()

A report is stored once: (kind, organisation, report id) is unique; importing it again counts it as a
duplicate. The database uses WAL and ``synchronous=FULL``: a commit is on disk before it returns, so a
power cut (not only an app crash, which ``NORMAL`` would also survive) keeps every committed file; with
commits batched every ``BATCH_SECONDS`` that costs one fsync per batch, and ``NORMAL`` measured no faster
on the 10,060-file benchmark (SQLite is ~25% of an import's CPU, nearly all of it building pages, not
syncing). Every input file is all-or-nothing (commits happen only between files, and an error rolls the open
batch back); files are committed in small batches (at most ``BATCH_SECONDS`` apart), so a crash in the middle
of a folder import loses at most the last fraction of a second of work, never anything committed, and
importing the folder again adds exactly what is missing. A file SQLite cannot read is moved aside
(``reports.sqlite3.damaged-<time>``) and a fresh one started, as the check history does.

Safe to use from several threads (one lock); the UI must call it off the UI thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..settings import data_dir
from ..sqlitedb import connect_durable, open_or_start_afresh
from .aggregate import AggregateReport, ReportError, parse_aggregate, parse_aggregate_flat
from .extract import Limits, Payload, Rejected, extract_bytes, extract_file, iter_input_files
from .tlsrpt import TlsReport, parse_tlsrpt

REPORTS_FILE = "reports.sqlite3"
SCHEMA_VERSION = 1
BATCH_SECONDS = 0.5

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
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
    UNIQUE (kind, org, report_id)
);
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
    status TEXT NOT NULL,            -- 'ok', 'none' (no PTR), 'failed' (timeout / server failure)
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


@dataclass
class ImportResult:
    imported: list[ReportInfo] = field(default_factory=list)
    duplicate: list[ReportInfo] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    files: int = 0
    cancelled: bool = False   # import_paths was asked to stop before the last file (not in to_json)

    def merge(self, other: "ImportResult") -> None:
        self.imported += other.imported
        self.duplicate += other.duplicate
        self.rejected += other.rejected
        self.files += other.files
        self.cancelled = self.cancelled or other.cancelled

    def to_json(self) -> dict[str, Any]:
        return {"files": self.files, "imported": [asdict(i) for i in self.imported],
                "duplicate": [asdict(i) for i in self.duplicate],
                "rejected": [{"name": n, "reason": r} for n, r in self.rejected]}


ParsedReport = AggregateReport | TlsReport


def parse_payload(p: Payload) -> ParsedReport:
    """An aggregate (XML) or TLS (JSON) report from one payload; raises ``ReportError``."""
    if p.kind == "xml":
        return parse_aggregate(p.data)
    return parse_tlsrpt(p.data)


def _parse_for_store(p: Payload) -> ParsedReport:
    """As ``parse_payload``, with an aggregate report's rows in the store's form (``flat_rows``)."""
    if p.kind == "xml":
        return parse_aggregate_flat(p.data)
    return parse_tlsrpt(p.data)


class ReportStore:
    """The SQLite store of imported reports."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else data_dir() / REPORTS_FILE
        self.problem = ""
        self.moved_to: Path | None = None
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._open()

    # -- opening, repairing ---------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        return connect_durable(self.path, schema_version=SCHEMA_VERSION, setup=lambda db: db.executescript(_SCHEMA),
                               timeout=10.0)

    def _open(self) -> None:
        opened = open_or_start_afresh(self.path, self._connect)
        self._db, self.moved_to = opened.db, opened.moved_to
        if opened.error is not None:
            self.problem = f"The report store could not be opened ({opened.error}); reports cannot be imported."
        elif opened.damaged is not None:
            where = f" It was kept as {self.moved_to.name}." if self.moved_to else ""
            self.problem = f"The report store could not be read ({opened.damaged}), so a new one was started.{where}"

    @property
    def available(self) -> bool:
        return self._db is not None

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> "ReportStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise sqlite3.OperationalError(self.problem or "the report store is closed")
        return self._db

    # -- importing ------------------------------------------------------------------------------

    def import_paths(self, paths: Iterable[str | Path | Rejected], *,
                     on_progress: Callable[[int, int, str], None] | None = None,
                     limits: Limits | None = None, workers: int = 1,
                     cancel: Callable[[], bool] | None = None) -> ImportResult:
        """Import files and folders. Never raises for bad input: bad files are listed in ``rejected``.

        ``workers`` > 1 unpacks and parses the files in that many worker processes (``spawn``; worth it from a
        few hundred files on a multi-core machine with idle cores); storing stays in this process, in the same
        order. ``cancel()`` is asked after each file: when true, what is stored is committed and the import
        stops (``result.cancelled``). ``on_progress(done, total, name)`` after each input file."""
        result = ImportResult()
        items = list(iter_input_files(paths))
        total = len(items)
        files = [i for i in items if not isinstance(i, Rejected)]
        parsed: Iterator[list[tuple[str, ParsedReport] | Rejected]]
        pool = None
        if workers > 1 and len(files) >= 2 * workers:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
            parsed = _pooled(pool, workers, files, limits)
        else:
            parsed = (_parse_file(f, limits) for f in files)
        try:
            with self._lock:
                db = self._conn()
                batch_started = time.monotonic()
                db.execute("BEGIN IMMEDIATE")
                try:
                    for done, item in enumerate(items, 1):
                        if isinstance(item, Rejected):
                            result.rejected.append((item.name, item.reason))
                        else:
                            result.files += 1
                            self._store_file(db, next(parsed), result)
                            if time.monotonic() - batch_started >= BATCH_SECONDS:
                                db.execute("COMMIT")
                                db.execute("BEGIN IMMEDIATE")
                                batch_started = time.monotonic()
                        if on_progress is not None:
                            on_progress(done, total, item.name)
                        if cancel is not None and done < total and cancel():
                            result.cancelled = True
                            break
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        return result

    def import_bytes(self, name: str, data: bytes, *, limits: Limits | None = None) -> ImportResult:
        """Import the reports in one file's (or one mail's) bytes, in one transaction."""
        result = ImportResult(files=1)
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                self._import_file(db, name, extract_bytes(name, data, limits), result)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return result

    def _import_file(self, db: sqlite3.Connection, name: str, items: Iterator[Payload | Rejected],
                     result: ImportResult) -> None:
        self._store_file(db, _parse_items(items), result)

    def _store_file(self, db: sqlite3.Connection, items: Iterable[tuple[str, ParsedReport] | Rejected],
                    result: ImportResult) -> None:
        """Store one input file's reports inside the caller's transaction. All of them or none: commits happen
        only between files, and any error here makes the caller roll the whole open batch back (so no
        savepoint per file is needed; it cost a sixth of the store's time)."""
        local = ImportResult()
        for item in items:
            if isinstance(item, Rejected):
                local.rejected.append((item.name, item.reason))
                continue
            info, fresh = self._insert(db, item[0], item[1])
            (local.imported if fresh else local.duplicate).append(info)
        result.imported += local.imported
        result.duplicate += local.duplicate
        result.rejected += local.rejected

    def _insert(self, db: sqlite3.Connection, name: str, report: ParsedReport) -> tuple[ReportInfo, bool]:
        now = int(time.time())
        if isinstance(report, AggregateReport):
            info = ReportInfo(name, "dmarc", report.org, report.report_id, report.domain, report.begin, report.end,
                              report.flat_messages)
            cur = db.execute(
                "INSERT OR IGNORE INTO reports (kind, org, report_id, domain, begin, end, email, policy, source, "
                "imported, messages) VALUES ('dmarc', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (info.org, info.report_id, info.domain, info.begin, info.end, report.email,
                 json.dumps(report.policy_json()), name, now, info.messages))
            if cur.rowcount == 0:
                return info, False
            rid = cur.lastrowid
            db.executemany(
                "INSERT INTO rows (report, source_ip, count, disposition, dkim, spf, header_from, envelope_from, "
                "dkim_domain, dkim_selector, dkim_result, spf_domain, spf_result, reasons) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(rid, *r) for r in report.flat_rows])
            return info, True
        info = ReportInfo(name, "tlsrpt", report.org, report.report_id, report.domain, report.begin, report.end,
                          report.successful + report.failed)
        cur = db.execute(
            "INSERT OR IGNORE INTO reports (kind, org, report_id, domain, begin, end, email, policy, source, "
            "imported, messages) VALUES ('tlsrpt', ?, ?, ?, ?, ?, ?, '{}', ?, ?, ?)",
            (info.org, info.report_id, info.domain, info.begin, info.end, report.contact_info, name, now,
             info.messages))
        if cur.rowcount == 0:
            return info, False
        rid = cur.lastrowid
        db.executemany(
            "INSERT INTO tls_policies (report, policy_type, policy_domain, successful, failed, details) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(rid, p.policy_type, p.policy_domain, p.successful, p.failed,
              json.dumps([asdict(d) for d in p.failures])) for p in report.policies])
        return info, True

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
        """Cached reverse names: ip → (name or None, status 'ok' / 'none' / 'failed')."""
        wanted = list(dict.fromkeys(ips))
        out: dict[str, tuple[str | None, str]] = {}
        with self._lock:
            db = self._conn()
            for i in range(0, len(wanted), 500):
                chunk = wanted[i:i + 500]
                marks = ",".join("?" * len(chunk))
                for ip, name, status in db.execute(f"SELECT ip, name, status FROM ptr WHERE ip IN ({marks})", chunk):
                    out[ip] = (name, status)
        return out

    def ptr_put(self, entries: Iterable[tuple[str, str | None, str]]) -> None:
        now = int(time.time())
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("INSERT OR REPLACE INTO ptr (ip, name, status, checked) VALUES (?, ?, ?, ?)",
                               [(ip, name, status, now) for ip, name, status in entries])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    # -- IMAP watch state -----------------------------------------------------------------------

    def imap_state(self, account: str, folder: str) -> tuple[int, int] | None:
        """(uidvalidity, last UID read) for a mailbox folder, or None the first time."""
        with self._lock:
            row = self._conn().execute("SELECT uidvalidity, last_uid FROM imap_state WHERE account=? AND folder=?",
                                       (account, folder)).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def set_imap_state(self, account: str, folder: str, uidvalidity: int, last_uid: int) -> None:
        with self._lock:
            db = self._conn()
            db.execute("INSERT OR REPLACE INTO imap_state (account, folder, uidvalidity, last_uid) VALUES (?, ?, ?, ?)",
                       (account, folder, uidvalidity, last_uid))


def _parse_items(items: Iterable[Payload | Rejected]) -> list[tuple[str, ParsedReport] | Rejected]:
    out: list[tuple[str, ParsedReport] | Rejected] = []
    for item in items:
        if isinstance(item, Rejected):
            out.append(item)
            continue
        try:
            out.append((item.name, _parse_for_store(item)))
        except ReportError as exc:
            out.append(Rejected(item.name, exc.reason))
    return out


def _parse_files(paths: list[Path], limits: Limits | None) -> list[list[tuple[str, ParsedReport] | Rejected]]:
    return [_parse_file(p, limits) for p in paths]


def _pooled(pool: Any, workers: int, files: list[Path], limits: Limits | None, chunk: int = 32,
            ahead: int = 3) -> Iterator[list[tuple[str, ParsedReport] | Rejected]]:
    """``_parse_file`` over ``files`` in ``pool``, in order, with at most ``ahead`` chunks per worker parsed and
    not yet stored (memory stays bounded when storing is slower than parsing)."""
    from collections import deque

    chunks = iter([files[i:i + chunk] for i in range(0, len(files), chunk)])
    pending: deque[Any] = deque()
    for c in chunks:
        pending.append(pool.submit(_parse_files, c, limits))
        if len(pending) >= ahead * workers:
            break
    while pending:
        done = pending.popleft().result()
        nxt = next(chunks, None)
        if nxt is not None:
            pending.append(pool.submit(_parse_files, nxt, limits))
        yield from done


def _parse_file(path: Path, limits: Limits | None) -> list[tuple[str, ParsedReport] | Rejected]:
    """Unpack and parse one input file (runs in a worker process when importing with ``workers``)."""
    return _parse_items(extract_file(path, limits))


__all__ = ["REPORTS_FILE", "ReportInfo", "ImportResult", "ReportStore", "parse_payload"]
