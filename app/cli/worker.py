"""``inboxready worker``: the engine process the desktop app drives (JSON lines on stdin/stdout).

Not meant to be typed by people: the app starts it (the same executable as the CLI, also in the frozen
folder) and talks to it as described in docs/WORKER.md. Besides the core's jobs it serves the demo: the
demo's loopback DNS server runs here, in the worker, never in the GUI process; so does the audit export
(its PDF is drawn with Qt, which lives in the app layer).
"""

from __future__ import annotations

import argparse
import os
from typing import Any, TextIO

from inboxready.core.worker.server import Handler, Job, main as worker_main


def _demo_server(job: Job) -> Any:
    return job.worker.state.get("demo")


async def demo_start(job: Job) -> dict[str, Any]:
    """Start the demo's DNS server (once; a second request gets the same one): its address. ``latency``
    (seconds) slows its answers down."""
    from ..demo import start_demo_server

    server = _demo_server(job)
    if server is None:
        server, _demo = start_demo_server()
        job.worker.state["demo"] = server
        job.worker.closers.append(lambda: _stop_demo(job.worker.state))
    latency = job.params.get("latency")
    if isinstance(latency, (int, float)) and 0 <= latency <= 10:  # the screenshots show a check in flight
        server.latency = float(latency)
    return {"address": server.address, "queries": server.query_count}


def _stop_demo(state: dict[str, Any]) -> None:
    server = state.pop("demo", None)
    if server is not None:
        server.stop()


async def demo_stop(job: Job) -> dict[str, Any]:
    """Stop the demo's DNS server (nothing to do when it is not running)."""
    _stop_demo(job.worker.state)
    return {}


async def demo_stats(job: Job) -> dict[str, Any]:
    """How many queries the demo's server answered so far (the tests see that a window asked it)."""
    server = _demo_server(job)
    return {"running": server is not None, "queries": server.query_count if server is not None else 0}


async def audit_export(job: Job) -> dict[str, Any]:
    """Build the audit report of {report (``DomainReport.to_json``), message, reports_summary, profile,
    dns_host} and write it to ``target`` (PDF or HTML by extension), recording the file's SHA-256 in the
    history: {sha256, problem} or {error} in plain words. PDF drawing needs Qt: the worker makes a windowless
    QApplication for it on first use (the GUI process draws nothing of it)."""
    import asyncio
    from datetime import UTC, datetime
    from pathlib import Path

    from inboxready.core.model import DomainReport
    from inboxready.core.policy.audit import AuditReport, changes_in_period, record_export
    from inboxready.core.worker.values import from_wire

    from ..export import write_report

    q = job.params
    report = DomainReport.from_json(q.get("report"))
    message = from_wire(q.get("message"))
    summary = q.get("reports_summary")
    target = Path(str(q.get("target") or ""))
    if target.suffix.lower() == ".pdf":
        from ..pdf import ensure_gui_app

        if not os.environ.get("QT_QPA_PLATFORM"):
            os.environ["QT_QPA_PLATFORM"] = "offscreen"  # the worker shows no window
        ensure_gui_app()  # on the worker's main thread; the drawing itself runs in a thread below

    def work() -> tuple[str, str]:
        now = datetime.now(UTC)
        audit = AuditReport.build(report, message=message, reports_summary=summary, profile=str(q.get("profile")),
                                  generated=now, dns_host=q.get("dns_host"),
                                  changes=changes_in_period(report, reports_summary=summary, generated=now))
        digest = write_report(audit, target)
        return record_export(target, report.domain, digest)  # type: ignore[no-any-return]

    try:
        file_digest, problem = await asyncio.to_thread(work)
    except OSError as exc:
        return {"error": exc.strerror or str(exc)}
    return {"sha256": file_digest, "problem": problem}


def app_handlers() -> dict[str, Handler]:
    from inboxready.core.worker.handlers import default_handlers

    handlers = default_handlers()
    handlers.update({"demo": demo_start, "demo_stop": demo_stop, "demo_stats": demo_stats, "audit_export": audit_export})
    return handlers


def cmd_worker(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    return worker_main(app_handlers())


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]", common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("worker", help="the engine process of the desktop app (JSON lines on stdin/stdout; "
                                      "started by the app, not by hand)",
                       description="The engine process of the desktop app: it reads JSON requests on standard "
                                   "input and writes JSON events on standard output (docs/WORKER.md). The app "
                                   "starts it; there is nothing to type here.")
    p.set_defaults(handler=cmd_worker)


__all__ = ["app_handlers", "cmd_worker", "register"]
