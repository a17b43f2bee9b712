"""The DMARC reports window's jobs, run in the worker: the report store's domains and views, reverse DNS of
the senders, imports (``core.reports.importjob.run_import`` in a thread of the worker, stopped between files
on request) and the mailbox watch. The view data (``DomainInfo``, ``ReportView``, ``ImportOutcome``...) goes
to the window as wire values (``values``). Qt-free.

The worker keeps one ``ReportStore`` per file (``store_for``), closed when the worker ends; the window never
opens the store itself.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..reports.importjob import run_import
from ..reports.store import ImportResult, ReportStore
from ..reports.summary import ReportSummary, summarize
from .server import Handler, Job, Worker
from .values import from_wire, to_wire

DAY = 86400
PROGRESS_EVERY_S = 0.1     # at most this many progress events a second during an import
WATCH_EVERY_S = 300.0


@dataclass
class DomainInfo:
    domain: str
    dmarc_reports: int
    messages: int
    oldest: int
    newest: int
    tls_reports: int

    @property
    def caption(self) -> str:
        parts = []
        if self.dmarc_reports:
            parts.append(f"{self.dmarc_reports:,} DMARC report{'s' if self.dmarc_reports != 1 else ''}")
        if self.tls_reports:
            parts.append(f"{self.tls_reports:,} TLS report{'s' if self.tls_reports != 1 else ''}")
        return f"{self.domain}  ({', '.join(parts)})"


@dataclass
class TlsRow:
    policy_type: str
    policy_domain: str
    reports: int
    successful: int
    failed: int
    failure_types: dict[str, int]


@dataclass
class ReportView:
    """What the window shows for one domain and period (built off the UI thread)."""

    domain: str
    days: int | None            # None: all time
    summary: ReportSummary
    tls: list[TlsRow] = field(default_factory=list)
    current_record: str | None = None
    looked_up: bool = False     # reverse DNS was asked for this view
    problem: str = ""


@dataclass
class ImportOutcome:
    result: ImportResult
    total: int
    done: int
    cancelled: bool = False
    problem: str = ""
    seconds: float = 0.0
    stopped: bool = False   # the store failed during the import (``problem`` says how); ``result`` was kept


@dataclass
class ImportWaiting:
    """Sent as import progress while another InboxReady holds the report store (the import waits)."""

    message: str


@dataclass
class WatchRound:
    when: str
    text: str
    imported: int
    error: bool


# -- functions -----------------------------------------------------------------------


def list_domains(store: ReportStore) -> list[DomainInfo]:
    """The domains in the store, the one with the most DMARC messages first."""
    # reports with impossible dates (1970, the far future) don't count and don't stretch "All time"
    rows = store.query(
        "SELECT domain, sum(kind='dmarc' AND problem IS NULL), "
        "sum(CASE WHEN kind='dmarc' AND problem IS NULL THEN messages ELSE 0 END), "
        "min(CASE WHEN problem IS NULL THEN begin END), max(CASE WHEN problem IS NULL THEN end END), "
        "sum(kind='tlsrpt' AND problem IS NULL) FROM reports WHERE domain != '' GROUP BY domain")
    out = [DomainInfo(str(d), int(n or 0), int(m or 0), int(lo or 0), int(hi or 0), int(t or 0))
           for d, n, m, lo, hi, t in rows]
    return sorted(out, key=lambda i: (-i.messages, -i.tls_reports, i.domain))


def tls_rows(store: ReportStore, domain: str, since: int, until: int) -> list[TlsRow]:
    """SMTP TLS report totals per policy for ``domain``."""
    out: dict[tuple[str, str], TlsRow] = {}
    for ptype, pdomain, _rid, ok, failed, details in store.query(
            "SELECT p.policy_type, p.policy_domain, r.id, p.successful, p.failed, p.details FROM tls_policies p "
            "JOIN reports r ON r.id = p.report WHERE r.kind='tlsrpt' AND (p.policy_domain=? OR r.domain=?) "
            "AND r.end>=? AND r.begin<=? AND r.problem IS NULL", (domain, domain, since, until)):
        row = out.setdefault((str(ptype), str(pdomain)), TlsRow(str(ptype), str(pdomain), 0, 0, 0, {}))
        row.reports += 1
        row.successful += int(ok or 0)
        row.failed += int(failed or 0)
        try:
            for d in json.loads(details or "[]"):
                key = str(d.get("result_type") or "unknown")
                row.failure_types[key] = row.failure_types.get(key, 0) + int(d.get("failed_session_count") or 0)
        except (ValueError, TypeError, AttributeError):
            continue
    return sorted(out.values(), key=lambda r: (-(r.successful + r.failed), r.policy_type))


def days_for(info: DomainInfo | None, days: int | None, now: float) -> int:
    """The ``days`` to give ``summarize``: the range's, or (all time) back to the oldest report."""
    if days is not None:
        return days
    if info is None or not info.oldest:
        return 36500
    return max(1, math.ceil((now - info.oldest) / DAY) + 1)


def build_view(store: ReportStore, domain: str, days: int | None, info: DomainInfo | None, *,
               current_record: str | None = None, looked_up: bool = False) -> ReportView:
    now = time.time()
    summary = summarize(store, domain, days=days_for(info, days, now), now=now, current_record=current_record)
    return ReportView(domain=domain, days=days, summary=summary,
                      tls=tls_rows(store, domain, summary.since, summary.until), current_record=current_record,
                      looked_up=looked_up)


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


def import_files(store: ReportStore, paths: list[str], progress: Callable[[Any], None],
                 cancel: CancelFlag) -> ImportOutcome:
    """Import ``paths`` in this process (``importjob.run_import``): every file its own all-or-nothing step,
    ``cancel`` checked after each file; ``progress((done, total, name))`` at most every ``PROGRESS_EVERY_S``."""
    before = store.on_wait
    store.on_wait = lambda message: progress(ImportWaiting(message))
    try:
        job = run_import(store, paths, progress=progress, cancel=cancel.is_set, every=PROGRESS_EVERY_S)
    finally:
        store.on_wait = before
    return ImportOutcome(result=job.result, total=job.total, done=job.done, cancelled=job.cancelled,
                         seconds=job.seconds, problem=job.problem, stopped=job.stopped)


async def lookup_names(store: ReportStore, domain: str, ips: list[str], nameservers: list[str] | None,
                       timeout: float) -> str | None:
    """Reverse DNS of the sources (cached in the store) and the domain's DMARC record now; bounded in time."""
    from inboxready.core.records.dmarc_parse import is_dmarc_record
    from inboxready.core.dns.client import DnsClient
    from inboxready.core.reports.sources import resolve_sources

    client = DnsClient(nameservers, timeout=timeout, deadline=max(10.0, timeout * 6))
    try:
        record: str | None = None
        try:
            ans = await asyncio.wait_for(client.query(f"_dmarc.{domain}", "TXT"), timeout * 2)
            if ans.ok:
                found = [t for t in ans.txt if is_dmarc_record(t)]
                record = found[0] if len(found) == 1 else None
        except (TimeoutError, OSError):
            record = None
        try:
            await asyncio.wait_for(resolve_sources(store, client, ips, timeout=timeout), timeout * 6)
        except (TimeoutError, OSError):
            pass
        return record
    finally:
        client.close()




def _n(x: int) -> str:
    return f"{x:,}"


# -- the jobs --------------------------------------------------------------------------------------------


def store_for(worker: Worker, path: str | None) -> ReportStore:
    """The worker's store for ``path`` (None: the default file), opened on first use."""
    key = f"reports:{path or ''}"
    store = worker.state.get(key)
    if store is None:
        store = ReportStore(Path(path) if path else None)
        worker.state[key] = store
        worker.closers.append(store.close)
    return store


async def _store(job: Job) -> ReportStore:
    path = job.params.get("store")
    return await asyncio.to_thread(store_for, job.worker, str(path) if path else None)


async def reports_domains(job: Job) -> Any:
    """(the domains in the store, the store's problem)."""
    store = await _store(job)
    domains = await asyncio.to_thread(lambda: list_domains(store) if store.available else [])
    return to_wire((domains, store.problem))


async def reports_view(job: Job) -> Any:
    """The ``ReportView`` of {domain, days, info, current_record}; with ``lookup`` (and the window's
    nameservers/timeout) the senders' names and the domain's DMARC record are looked up first."""
    q = job.params
    store = await _store(job)
    domain = str(q.get("domain") or "")
    days = q.get("days")
    info = from_wire(q.get("info"))
    record = q.get("current_record")
    if q.get("lookup"):
        record = await lookup_names(store, domain, [str(ip) for ip in q.get("ips") or []], q.get("nameservers"),
                                    float(q.get("timeout") or 2.0))
    return to_wire(await asyncio.to_thread(build_view, store, domain, days if days is None else int(days), info,
                                           current_record=record, looked_up=bool(q.get("lookup"))))


async def reports_import(job: Job) -> Any:
    """Import {paths} into the store: progress (done, total, name) or ``ImportWaiting``; a ``stop`` request
    ends it after the files being read (the outcome says how far it got); a ``cancel`` too, unanswered."""
    paths = [str(p) for p in job.params.get("paths") or []]
    try:
        store = await _store(job)
    except Exception as exc:  # noqa: BLE001 - said in the window, never a crash
        return to_wire(ImportOutcome(ImportResult(), 0, 0, problem=f"The report store could not be opened: {exc}"))
    if not store.available:
        return to_wire(ImportOutcome(ImportResult(), 0, 0, problem=store.problem))

    def progress(value: Any) -> None:
        job.progress(to_wire(value))

    def work() -> ImportOutcome:
        try:
            return import_files(store, paths, progress, job.cancel_event)
        except Exception as exc:  # noqa: BLE001 - e.g. the store was closed as the worker ended
            return ImportOutcome(ImportResult(), 0, 0, problem=f"The import stopped: {exc}")

    return to_wire(await asyncio.to_thread(work))


async def reports_watch(job: Job) -> None:
    """Watch a mailbox for reports until cancelled: one ``WatchRound`` progress event per round."""
    from ..reports.report_mailbox import watch_reports

    q = job.params
    store = await _store(job)
    profile = from_wire(q.get("profile"))
    password = q.get("password") or None
    folder = str(q.get("folder") or "INBOX")
    move_to = q.get("move_to") or None
    every = max(0.05, float(q.get("every") or WATCH_EVERY_S))
    while True:
        outcome = await watch_reports(store, profile, password=password, folder=folder, move_to=move_to)
        stamp = time.strftime("%H:%M")
        if outcome.error is not None:
            rnd = WatchRound(stamp, f"{stamp}  Could not read the mailbox: {outcome.error.message}", 0, True)
        else:
            r = outcome.result
            rnd = WatchRound(stamp, f"{stamp}  {folder}: {_n(outcome.read)} new mail(s), "
                                    f"{_n(len(r.imported))} report(s) imported, "
                                    f"{_n(len(r.duplicate) + len(r.repeated) + len(r.conflicting))} already there"
                             + (f", {_n(outcome.moved)} moved to {move_to}" if outcome.moved else "")
                             + (f", {_n(len(r.rejected))} skipped" if r.rejected else "") + ".",
                             len(r.imported), False)
        job.progress(to_wire(rnd))
        await asyncio.sleep(every)


HANDLERS: dict[str, Handler] = {"reports_domains": reports_domains, "reports_view": reports_view,
                                "reports_import": reports_import, "reports_watch": reports_watch}

__all__ = ["DAY", "DomainInfo", "HANDLERS", "ImportOutcome", "ImportWaiting", "ReportView", "TlsRow", "WatchRound",
           "build_view", "days_for", "import_files", "list_domains", "lookup_names", "store_for", "tls_rows"]
