"""An import job that reports as it goes: the desktop app runs it as a child process (no Qt in it).

    python -m inboxready.core.reports.importjob [--store FILE] [--workers N] [--every SECONDS]
                                                [--progress-fd N] [--paths-from FILE] [--stdin-control] PATH...

Imports the files and folders given (and those listed one per line in ``--paths-from``) into the report store
(``--store``, default: reports.sqlite3 in the data folder) and writes JSON lines (to stdout, or to the file
descriptor ``--progress-fd``), one object each::

    {"event": "progress", "done": 120, "total": 10060, "name": "r.xml.gz"}   # at most every --every seconds
    {"event": "waiting", "message": "..."}      # another InboxReady holds the store: waiting (bounded)
    {"event": "imported", "items": [ReportInfo as a dict, ...]}            # the result, in pieces of 500
    {"event": "duplicate", "items": [...]}      # also "repeated" and "conflicting" (see store.ImportResult)
    {"event": "rejected", "items": [{"name": ..., "reason": ...}, ...]}
    {"event": "done", "files": 10046, "total": 10060, "done": 10060, "cancelled": false, "seconds": 7.1,
     "problem": ""}
    {"event": "problem", "message": "..."}                                   # instead of "done": nothing ran

When the store fails in the middle (disk full, busy past the wait), what was committed before is written as
above and "done" carries the sentence in "problem" (exit code 2).

Stopping cleanly: on SIGTERM or SIGINT, or, with ``--stdin-control``, when a line "cancel" arrives on stdin
or stdin is closed (the parent went away), the job stops within a fraction of a second, even inside a big
file (Cancel is looked at between reports, between the mails of an mbox and every megabyte of a report),
commits every whole file or mail stored before, leaves out the one it was reading, writes the result
(``"cancelled": true``) and exits 0, letting go of the store. Every file (every mail of an mbox) is
all-or-nothing, and every committed one stays (see ``store.py``), so importing the same paths again adds
exactly what is missing. Exit codes: 0 ran (files may
have been rejected), 2 the store could not be opened or failed during the import, or the arguments are wrong.

Public API (also used in-process, e.g. by a frozen app that cannot start a Python child)::

    @dataclass class JobOutcome(result: ImportResult, total: int, done: int, cancelled: bool, seconds: float,
                                problem: str = "", stopped: bool = False)
    def run_import(store, paths, *, progress=None, cancel=None, every=0.1, workers=1, limits=None) -> JobOutcome
        progress((done, total, name)); cancel() -> bool, checked between reports and inside big ones
    def outcome_events(outcome) -> Iterator[dict]     # the result as the JSON events above
    def outcome_from_events(events) -> JobOutcome | str   # the other way round (a str: the problem)
    def main(argv=None) -> int
"""

from __future__ import annotations

if __name__ == "__main__":  # the app's child process: library warnings are for developers (-W shows them)
    import sys as _sys
    import warnings as _warnings

    if not _sys.warnoptions:
        _warnings.simplefilter("ignore")

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..model import JsonShapeError, json_dict, json_int, json_num, json_object, json_str
from ..store.sqlitedb import DbProblem
from .extract import Limits, iter_input_files
from .store import ImportResult, ImportStopped, ReportStore

PIECE = 500


@dataclass
class JobOutcome:
    result: ImportResult = field(default_factory=ImportResult)
    total: int = 0          # input files found (folders walked)
    done: int = 0           # of those, how many were dealt with (imported, duplicate or rejected)
    cancelled: bool = False
    seconds: float = 0.0
    problem: str = ""
    stopped: bool = False   # the store failed during the import (``problem`` says how); what is in ``result`` is kept

    def to_json(self) -> dict[str, Any]:
        return {"result": self.result.to_json(), "total": self.total, "done": self.done,
                "cancelled": self.cancelled, "seconds": round(self.seconds, 3), "problem": self.problem,
                "stopped": self.stopped}

    @classmethod
    def from_json(cls, data: Any) -> "JobOutcome":
        """The outcome ``to_json`` wrote (the result's ``cancelled`` is the outcome's)."""
        d = json_object(data, "import outcome")
        flags = {}
        for key in ("cancelled", "stopped"):
            value = d.get(key, False)
            if not isinstance(value, bool):
                raise JsonShapeError(f"{key!r}: expected true or false")
            flags[key] = value
        result = ImportResult.from_json(json_dict(d, "result"))
        result.cancelled = flags["cancelled"]
        return cls(result=result, total=json_int(d, "total"), done=json_int(d, "done"), cancelled=flags["cancelled"],
                   seconds=json_num(d, "seconds"), problem=json_str(d, "problem", ""), stopped=flags["stopped"])


def run_import(store: ReportStore, paths: Iterable[str | Path], *,
               progress: Callable[[tuple[int, int, str]], None] | None = None,
               cancel: Callable[[], bool] | None = None, every: float = 0.1, workers: int = 1,
               limits: Limits | None = None) -> JobOutcome:
    """Import ``paths`` into ``store``; ``progress`` at most every ``every`` seconds (and at the start and end);
    ``cancel()`` is asked after each file: when true the import commits what it has and stops."""
    started = time.monotonic()
    items = list(iter_input_files(paths))
    total = len(items)
    done_so_far = [0]
    last_told = [0.0]

    def tell(done: int, name: str, force: bool = False) -> None:
        done_so_far[0] = done
        now = time.monotonic()
        if progress is not None and (force or now - last_told[0] >= every):
            last_told[0] = now
            progress((done, total, name))

    tell(0, "", True)
    problem = store.problem
    stopped = False
    try:
        result = store.import_paths(items, on_progress=lambda d, _t, name: tell(d, name), limits=limits,
                                    workers=workers, cancel=cancel)
    except ImportStopped as exc:
        result, problem, stopped = exc.result, str(exc), True
    except DbProblem as exc:
        result, problem, stopped = ImportResult(), str(exc), True
    cancelled = result.cancelled
    tell(done_so_far[0], "", True)
    return JobOutcome(result=result, total=total, done=done_so_far[0], cancelled=cancelled,
                      seconds=time.monotonic() - started, problem=problem, stopped=stopped)


def outcome_events(outcome: JobOutcome) -> Iterator[dict[str, Any]]:
    """The outcome as JSON-ready events: the lists in pieces (one huge line would hold the reader's
    interpreter lock while it is parsed), then "done"."""
    doc = outcome.result.to_json()
    for key in ("imported", "duplicate", "repeated", "conflicting", "rejected"):
        for i in range(0, len(doc[key]), PIECE):
            yield {"event": key, "items": doc[key][i:i + PIECE]}
    yield {"event": "done", "files": doc["files"], "total": outcome.total, "done": outcome.done,
           "cancelled": outcome.cancelled, "seconds": round(outcome.seconds, 3), "problem": outcome.problem,
           "stopped": outcome.stopped}


def outcome_from_events(events: Iterable[dict[str, Any]]) -> JobOutcome | str | None:
    """Read back what ``main`` wrote (progress events are skipped): the outcome, the problem text when the job
    could not run, or None when the events end without either (the job died)."""
    parts: dict[str, list[Any]] = {"imported": [], "duplicate": [], "repeated": [], "conflicting": [],
                                   "rejected": []}
    for ev in events:
        kind = ev.get("event")
        if kind in parts:
            parts[kind].extend(ev.get("items") or [])
        elif kind == "problem":
            return str(ev.get("message") or "the import could not run")
        elif kind == "done":
            result = ImportResult.from_json({**parts, "files": int(ev.get("files", 0))})
            result.cancelled = bool(ev.get("cancelled"))
            return JobOutcome(result=result, total=int(ev.get("total", 0)), done=int(ev.get("done", 0)),
                              cancelled=bool(ev.get("cancelled")), seconds=float(ev.get("seconds", 0.0)),
                              problem=str(ev.get("problem") or ""), stopped=bool(ev.get("stopped")))
    return None


class _Writer:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, ensure_ascii=False) + "\n"
        with self.lock:
            try:
                self.out.write(line)
                self.out.flush()
            except (OSError, ValueError):
                pass  # the reader went away: the import still finishes its file and commits


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m inboxready.core.reports.importjob",
                                 description="Import DMARC aggregate and SMTP TLS reports; progress and the result "
                                             "as JSON lines.")
    ap.add_argument("paths", nargs="*", metavar="PATH", help="files or folders")
    ap.add_argument("--store", type=Path, metavar="FILE", help="the report database (default: in the data folder)")
    ap.add_argument("--paths-from", type=Path, metavar="FILE", help="more paths, one per line")
    ap.add_argument("--progress-fd", type=int, metavar="N", help="write the JSON lines to this file descriptor")
    ap.add_argument("--every", type=float, default=0.1, metavar="SECONDS", help="progress at most this often")
    ap.add_argument("--workers", type=int, default=1, metavar="N",
                    help="unpack and parse in N processes (worth it on idle cores; default 1)")
    ap.add_argument("--stdin-control", action="store_true",
                    help='stop cleanly when stdin says "cancel" or is closed')
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    a = ap.parse_args(argv)
    paths: list[str] = list(a.paths)
    if a.paths_from is not None:
        try:
            paths += [line for line in a.paths_from.read_text(encoding="utf-8").splitlines() if line]
        except OSError as exc:
            ap.error(f"cannot read {a.paths_from}: {exc.strerror or exc}")
    if a.progress_fd is not None:
        try:
            out: TextIO = os.fdopen(a.progress_fd, "w", encoding="utf-8", closefd=False)
        except OSError as exc:
            ap.error(f"cannot write to file descriptor {a.progress_fd}: {exc.strerror or exc}")
    else:
        out = sys.stdout
    send = _Writer(out)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()  # the import loop sees it after the file it is storing

    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            signal.signal(sig, on_signal)
        except (ValueError, OSError):  # not the main thread, or not on this platform
            pass
    if a.stdin_control:
        def watch() -> None:
            try:
                for line in sys.stdin:
                    if line.strip() == "cancel":
                        break
            except (OSError, ValueError):
                pass
            stop.set()  # asked to stop, or the parent is gone

        threading.Thread(target=watch, name="importjob-stdin", daemon=True).start()

    store = ReportStore(a.store, on_wait=lambda message: send({"event": "waiting", "message": message}))
    if not store.available:
        send({"event": "problem", "message": store.problem})
        return 2
    try:
        outcome = run_import(store, paths, progress=lambda p: send({"event": "progress", "done": p[0],
                                                                     "total": p[1], "name": p[2]}),
                             cancel=stop.is_set, every=a.every, workers=max(1, a.workers))
    except Exception as exc:  # noqa: BLE001 - say it on the channel the parent reads
        send({"event": "problem", "message": f"The import stopped because of an error inside InboxReady "
                                             f"({type(exc).__name__}: {exc}). Everything imported before was kept."})
        return 2
    finally:
        store.close()
    for ev in outcome_events(outcome):
        send(ev)
    return 2 if outcome.stopped else 0


__all__ = ["JobOutcome", "main", "outcome_events", "outcome_from_events", "run_import"]

if __name__ == "__main__":
    sys.exit(main())
