"""The jobs the worker runs, one coroutine each: ``handler(job) -> JSON-able result``.

Each reads its parameters from ``job.params`` (plain JSON), sends ``query``/``result``/``progress`` events
while it runs, and returns what the ``finished`` event carries. Everything slow (DNS, SQLite, files, IMAP,
SMTP) happens here, in the worker process; the GUI only draws what comes back.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..checks.runner import make_client
from ..dns.client import QueryRecord
from ..model import CheckResult
from ..policy.diff import CheckDiff
from ..policy.compliance import verdict_result
from ..policy.pipeline import check_and_judge
from ..store.history import History
from . import protocol as p
from .server import Handler, Job, Worker
from .values import from_wire

log = logging.getLogger(__name__)

QUERY_BATCH_S = 0.06  # the query log goes out at most this often during a check (one line per batch)


def history(worker: Worker) -> History:
    """The worker's history store (opened on first use, closed when the worker ends)."""
    h = worker.state.get("history")
    if h is None:
        h = History()
        worker.state["history"] = h
        worker.closers.append(h.close)
    return h


async def check(job: Job) -> dict[str, Any]:
    """Check one domain through the pipeline (``policy.pipeline.check_and_judge``): ``params`` = {domain,
    options, record, profile, spam_rate, message (a wire value)}. Streams ``query`` batches and one ``result``
    per check (with its ``diff`` against the last stored run when ``record``); the run is stored in the history
    when ``record``. The ``finished`` data: {report, checklist (the bulk-sender checklist card), compliance
    (the profile's verdict card, or null without a profile)}, each the ``to_json`` of its object."""
    domain = job.params.get("domain")
    if not isinstance(domain, str) or not domain:
        raise p.ProtocolError("no domain to check")
    options = p.options_from_json(job.params.get("options") or {})
    record = bool(job.params.get("record", True))
    loop = asyncio.get_running_loop()
    pending: list[dict[str, Any]] = []
    flush_handle: list[asyncio.TimerHandle] = []

    def flush() -> None:
        for h in flush_handle:
            h.cancel()
        flush_handle.clear()
        if pending:
            batch = pending[:]
            pending.clear()
            job.emit(p.QUERY, queries=batch)

    def on_query(rec: QueryRecord) -> None:
        pending.append(rec.to_json())
        if not flush_handle:
            flush_handle.append(loop.call_later(QUERY_BATCH_S, flush))

    def on_result(result: CheckResult, diff: CheckDiff | None) -> None:
        flush()  # the log is never behind the cards
        job.emit(p.RESULT, data=result.to_json(), diff=diff.to_json() if diff is not None else None)

    client = make_client(options, on_query=on_query)
    try:
        spam_rate = job.params.get("spam_rate")
        judged = await check_and_judge(domain, options, history=history(job.worker) if record else None,
                                       record=record, client=client, on_result=on_result,
                                       profile=job.params.get("profile") or None,
                                       spam_rate=float(spam_rate) if isinstance(spam_rate, (int, float)) else None,
                                       message=from_wire(job.params.get("message")))
        flush()
        report = judged.report
        log.info("checked %s: %s (%d checks, %d queries)", domain, report.status, len(report.checks),
                 len(report.queries))
        compliance = verdict_result(judged.verdict, report.checks) if judged.verdict is not None else None
        return {"report": report.to_json(), "checklist": judged.checklist.to_json(),
                "compliance": compliance.to_json() if compliance is not None else None}
    finally:
        for h in flush_handle:
            h.cancel()
        client.close()


async def sleep(job: Job) -> float:
    """Wait ``params.seconds`` (at most 3600), sending a progress event every ``params.every`` seconds: a
    job to see that cancel and progress work end to end."""
    seconds = min(float(job.params.get("seconds", 1.0)), 3600.0)
    every = max(float(job.params.get("every", seconds)), 0.01)
    waited = 0.0
    while waited < seconds:
        step = min(every, seconds - waited)
        await asyncio.sleep(step)
        waited += step
        job.progress({"waited": round(waited, 3)})
    return seconds


async def find_host(domain: str, nameservers: list[str] | None, servers: list[str] | None, *,
                    timeout: float = 4.0, deadline: float = 20.0) -> dict[str, Any] | None:
    """The zone and DNS host of ``domain`` (the NS walk, without the mistakes search), or None when the walk
    didn't finish within ``deadline``: {zone, ns_names, soa_ttl, soa_minimum, problem, hosts (catalog ids,
    best match first)}."""
    from ..dns.client import DnsClient
    from ..publish.flow import inspect_domain

    client = DnsClient(nameservers, timeout=timeout, deadline=deadline)
    try:
        found = await asyncio.wait_for(inspect_domain(domain, client, servers=servers, mistakes=False), deadline)
    except (asyncio.TimeoutError, TimeoutError, OSError, ValueError):  # the box keeps its generic form
        return None
    finally:
        client.close()
    z = found.zone
    return {"zone": z.zone, "ns_names": list(z.ns_names), "soa_ttl": z.soa_ttl, "soa_minimum": z.soa_minimum,
            "problem": z.problem, "hosts": [h.id for h in found.hosts]}


async def detect_host(job: Job) -> dict[str, Any] | None:
    """``find_host`` for {domain, nameservers, servers, timeout, deadline}."""
    q = job.params
    return await find_host(str(q.get("domain") or ""), q.get("nameservers"), q.get("servers"),
                           timeout=float(q.get("timeout") or 4.0), deadline=float(q.get("deadline") or 20.0))


async def reports_summary(job: Job) -> dict[str, Any] | None:
    """The last ``params.days`` days of imported DMARC reports about ``params.domain`` (the audit report's
    summary), or None when none were imported."""
    from ..reports.store import ReportStore
    from ..reports.summary import summarize

    domain = str(job.params.get("domain") or "")
    days = int(job.params.get("days") or 30)

    def read() -> dict[str, Any] | None:
        store = ReportStore()
        try:
            summary = summarize(store, domain, days=days)
            return summary.to_json() if summary.reports else None
        finally:
            store.close()

    return await asyncio.to_thread(read)


async def watchlist_run(job: Job) -> Any:
    """A run of the watch list (``monitor.watchlist.run_watchlist``): each domain's outcome as a progress
    event as it finishes, then (outcomes, reminders) as wire values. ``params``: options, all (every enabled
    domain, not only the due ones), and the files of the watch list, the history (None: not recorded) and
    the dismissed reminders (the window's own, so a test's folders are used too)."""
    from pathlib import Path

    from ..monitor.reminders import DismissedStore, Reminder, reminders
    from ..monitor.watchlist import WatchList, run_watchlist
    from .values import to_wire

    q = job.params
    options = p.options_from_json(q.get("options") or {})
    wl = await asyncio.to_thread(WatchList, Path(q["watchlist"]) if q.get("watchlist") else None)
    store = History(Path(q["history"])) if q.get("history") else None
    dismissed = DismissedStore(Path(q["dismissed"]) if q.get("dismissed") else None)
    try:
        outcomes = await run_watchlist(options, store, only_due=not q.get("all"), watchlist=wl,
                                       on_outcome=lambda o: job.progress(to_wire(o)))
        domains = [o.domain for o in outcomes if not o.error]
        found: list[Reminder] = []
        if store is not None and domains:
            found = await asyncio.to_thread(reminders, store, domains, dismissed=dismissed)
        return to_wire((outcomes, found))
    finally:
        if store is not None:
            store.close()


def default_handlers() -> dict[str, Handler]:
    """Every job the core itself can run (the app adds the demo's DNS server and the audit export: ``app/cli/worker.py``)."""
    from .builders import HANDLERS as builders
    from .mail import HANDLERS as mail
    from .publish import HANDLERS as publish
    from .reports import HANDLERS as reports

    return {"check": check, "sleep": sleep, "detect_host": detect_host, "reports_summary": reports_summary,
            "watchlist_run": watchlist_run, **builders, **mail, **reports, **publish}


__all__ = ["QUERY_BATCH_S", "check", "default_handlers", "history", "sleep"]
