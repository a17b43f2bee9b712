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
from ..reports.tlsrpt import count_once
from .server import Handler, Job, Worker
from .values import from_wire, to_wire

DAY = 86400
NO_DOMAIN = "(no domain named)"   # the domain list's entry for the TLS reports that name no domain (never a name)
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
        if not parts:
            parts.append("only reports with dates that can't be right")
        if self.domain == NO_DOMAIN:
            return f"No domain named  ({', '.join(parts)})"
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
class TlsUnnamed:
    """A TLS report (of the period) with sessions no policy-domain names: they are in no domain's figures."""

    org: str
    report_id: str
    name: str          # the file (or mail part) it came in
    begin: int
    end: int
    successful: int    # the unnamed policies' sessions, each once (``count_once``)
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
    tls_unnamed: list[TlsUnnamed] = field(default_factory=list)   # the period's TLS reports that name no domain


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
    """The domains in the store, the one with the most DMARC messages first: every domain a DMARC report is
    about or a TLS report's policy names (a TLS report about several domains is under each), and last
    ``NO_DOMAIN`` when TLS reports name none."""
    # reports with impossible dates (1970, the far future) don't count and don't stretch "All time"
    rows = store.query(
        "SELECT domain, sum(problem IS NULL), sum(CASE WHEN problem IS NULL THEN messages ELSE 0 END), "
        "min(CASE WHEN problem IS NULL THEN begin END), max(CASE WHEN problem IS NULL THEN end END) FROM reports "
        "WHERE kind='dmarc' AND domain != '' GROUP BY domain")
    out = {str(d): DomainInfo(str(d), int(n or 0), int(m or 0), int(lo or 0), int(hi or 0), 0)
           for d, n, m, lo, hi in rows}
    tls = store.query(
        "SELECT p.policy_domain, count(DISTINCT CASE WHEN r.problem IS NULL THEN r.id END), "
        "min(CASE WHEN r.problem IS NULL THEN r.begin END), max(CASE WHEN r.problem IS NULL THEN r.end END) "
        "FROM tls_policies p JOIN reports r ON r.id = p.report WHERE r.kind='tlsrpt' GROUP BY p.policy_domain")
    for d, t, lo, hi in tls:
        name = str(d) or NO_DOMAIN
        info = out.setdefault(name, DomainInfo(name, 0, 0, int(lo or 0), int(hi or 0), 0))
        info.tls_reports = int(t or 0)
        info.oldest = min(info.oldest, int(lo or 0)) or int(lo or 0)
        info.newest = max(info.newest, int(hi or 0))
    return sorted(out.values(), key=lambda i: (i.domain == NO_DOMAIN, -i.messages, -i.tls_reports, i.domain))


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
        _add_failures(row.failure_types, details)
    return sorted(out.values(), key=lambda r: (-(r.successful + r.failed), r.policy_type))


def unnamed_tls(store: ReportStore, since: int, until: int) -> list[TlsUnnamed]:
    """The TLS reports of the period with policies that name no domain (the summary's ``unknown_domain``, with
    the file, the dates and the failures), oldest first."""
    out: dict[int, TlsUnnamed] = {}
    counts: dict[int, list[tuple[str, int, int]]] = {}
    for rid, org, rep, source, begin, end, ptype, ok, failed, details in store.query(
            "SELECT r.id, r.org, r.report_id, r.source, r.begin, r.end, p.policy_type, p.successful, p.failed, "
            "p.details FROM tls_policies p JOIN reports r ON r.id = p.report WHERE r.kind='tlsrpt' "
            "AND p.policy_domain='' AND r.end>=? AND r.begin<=? AND r.problem IS NULL ORDER BY r.begin, r.id",
            (since, until)):
        row = out.setdefault(int(rid), TlsUnnamed(str(org), str(rep), str(source), int(begin), int(end), 0, 0, {}))
        counts.setdefault(int(rid), []).append((str(ptype), int(ok or 0), int(failed or 0)))
        _add_failures(row.failure_types, details)
    for rid, row in out.items():
        row.successful, row.failed = count_once(counts[rid])
    return list(out.values())


def _add_failures(into: dict[str, int], details: Any) -> None:
    """Add a stored policy's failure details (JSON) to ``into``: failed sessions by result type."""
    try:
        for d in json.loads(details or "[]"):
            key = str(d.get("result_type") or "unknown")
            into[key] = into.get(key, 0) + int(d.get("failed_session_count") or 0)
    except (ValueError, TypeError, AttributeError):
        return


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
    if domain == NO_DOMAIN:  # the TLS reports that name no domain: nothing else is about "no domain"
        span = days_for(info, days, now)
        until = int(now)
        empty = ReportSummary(domain=domain, days=span, since=max(0, until - span * DAY), until=until)
        return ReportView(domain=domain, days=days, summary=empty,
                          tls_unnamed=unnamed_tls(store, empty.since, empty.until))
    summary = summarize(store, domain, days=days_for(info, days, now), now=now, current_record=current_record)
    return ReportView(domain=domain, days=days, summary=summary,
                      tls=tls_rows(store, domain, summary.since, summary.until), current_record=current_record,
                      looked_up=looked_up, tls_unnamed=unnamed_tls(store, summary.since, summary.until))


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

__all__ = ["DAY", "DomainInfo", "HANDLERS", "ImportOutcome", "ImportWaiting", "NO_DOMAIN", "ReportView", "TlsRow",
           "TlsUnnamed", "WatchRound", "build_view", "days_for", "import_files", "list_domains", "lookup_names",
           "store_for", "tls_rows", "unnamed_tls"]
