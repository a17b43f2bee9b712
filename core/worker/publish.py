"""Publishing jobs (the app's "Publish at <host>…", Undo, the history of changes, "Check until live"): the
DNS host's API, the publish journal (SQLite) and the polling of the authoritative servers run here. A plan
is kept in the worker until it is applied (the window names it by its key): the plan applied is the plan
shown. Arguments and results are wire values; progress (each polling round) is sent as it comes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..context import CheckOptions
from .server import Handler, Job
from .values import from_wire, to_wire

LOST_PLAN = ("The plan is no longer there (InboxReady's checking engine was restarted meanwhile): close this "
             "window and make the plan again.")


def _publisher(job: Job, journal: Any = None) -> Any:
    from ..publish.flow import Publisher

    ns = job.params.get("nameservers")
    return Publisher(from_wire(job.params.get("account")), CheckOptions(nameservers=ns, timeout=3.0, deadline=45.0),
                     servers=ns, journal=journal)


def _journal(job: Job) -> Any:
    from ..publish.journal import Journal

    path = job.params.get("journal")
    return Journal(Path(path)) if path else None


def _round(job: Job) -> Any:
    return lambda p: job.progress(to_wire(p))


async def publish_plan(job: Job) -> Any:
    """The plan for {account, domain, fixes}: {"key": to apply it with, "run": PublishRun}."""
    async with _publisher(job) as pub:
        run = await pub.plan(str(job.params.get("domain") or ""), fixes=from_wire(job.params.get("fixes")))
    key = f"plan-{job.id}"
    job.worker.state.setdefault("publish_plans", {})[key] = run
    return {"key": key, "run": to_wire(run)}


async def publish_apply(job: Job) -> Any:
    """Apply the plan ``key`` (confirmed by the click that sent this) and check until live (``wait``)."""
    run = job.worker.state.get("publish_plans", {}).pop(str(job.params.get("key")), None)
    if run is None:
        return {"error": LOST_PLAN}
    async with _publisher(job) as pub:
        done = await pub.apply(run, confirmed=True, wait=float(job.params.get("wait") or 0.0), on_round=_round(job))
    return {"run": to_wire(done)}


async def publish_undo(job: Job) -> Any:
    """Undo the change ``change_id`` (with the journal file given, else the default one)."""
    journal = _journal(job)
    try:
        async with _publisher(job, journal) as pub:
            done = await pub.undo(str(job.params.get("change_id")), confirmed=True,
                                  wait=float(job.params.get("wait") or 0.0), on_round=_round(job))
    finally:
        if journal is not None:
            journal.close()
    return {"run": to_wire(done)}


async def journal_recent(job: Job) -> Any:
    """The latest 500 changes of the publish journal (of ``domain`` when given)."""
    import asyncio

    from ..publish.journal import JOURNAL_FILE, Journal
    from ..store.settings import data_dir

    path = Path(job.params["journal"]) if job.params.get("journal") else data_dir() / JOURNAL_FILE

    def read() -> Any:
        if not path.exists():
            return []
        j = Journal(path)
        try:
            return j.recent(500, domain=job.params.get("domain") or None)
        finally:
            j.close()

    return to_wire(await asyncio.to_thread(read))


async def live_watch(job: Job) -> Any:
    """"Check until live" for {fix, zone, nameservers, servers, timeout, wait}: progress {"zone": ZoneInfo}
    once, then {"round": Propagation} per round; the result {"how": live | timeout | failed: why,
    "last": Propagation | None}."""
    from ..dns.client import DnsClient
    from ..publish.propagation import wait_until_live, watch_fix
    from ..publish.zone import find_zone

    q = job.params
    fix = from_wire(q.get("fix"))
    z = from_wire(q.get("zone"))
    timeout = float(q.get("timeout") or 3.0)
    if z is None or not z.servers:
        client = DnsClient(q.get("nameservers"), timeout=timeout, deadline=timeout * 6)
        try:
            z = await find_zone(client, fix.host, servers=q.get("servers"))
        finally:
            client.close()
    job.progress({"zone": to_wire(z)})
    if not z.servers:
        return {"how": "failed: " + (z.problem or "no authoritative server to ask"), "last": None}
    expect = await watch_fix(fix, z, timeout=timeout)
    p = await wait_until_live(z, expect, wait=float(q.get("wait") or 60.0),
                              on_round=lambda r: job.progress({"round": to_wire(r)}), timeout=timeout)
    return {"how": "live" if p.live else ("failed: " + p.problem if p.problem else "timeout"), "last": to_wire(p)}


HANDLERS: dict[str, Handler] = {"publish_plan": publish_plan, "publish_apply": publish_apply,
                                "publish_undo": publish_undo, "journal_recent": journal_recent,
                                "live_watch": live_watch}

__all__ = ["HANDLERS", "LOST_PLAN"]
