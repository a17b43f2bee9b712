"""``inboxready worker``: the engine process the desktop app drives (JSON lines on stdin/stdout).

Not meant to be typed by people: the app starts it (the same executable as the CLI, also in the frozen
folder) and talks to it as described in docs/WORKER.md. Besides the core's jobs it serves the demo: the
demo's loopback DNS server runs here, in the worker, never in the GUI process.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from inboxready.core.worker.server import Handler, Job, main as worker_main


def _demo_server(job: Job) -> Any:
    return job.worker.state.get("demo")


async def demo_start(job: Job) -> dict[str, Any]:
    """Start the demo's DNS server (once; a second request gets the same one): its address. ``latency``
    (seconds) slows its answers down."""
    from .demo import start_demo_server

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


def app_handlers() -> dict[str, Handler]:
    from inboxready.core.worker.handlers import default_handlers

    handlers = default_handlers()
    handlers.update({"demo": demo_start, "demo_stop": demo_stop, "demo_stats": demo_stats})
    return handlers


def cmd_worker(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    return worker_main(app_handlers())


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]", common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("worker", help="the engine process of the desktop app (JSON lines on stdin/stdout; "
                                      "started by the app, not by hand)")
    p.set_defaults(handler=cmd_worker)


__all__ = ["app_handlers", "cmd_worker", "register"]
