"""The GUI's side of the engine process: one long-lived ``inboxready worker`` driven with ``QProcess``.

The GUI process runs no asyncio loop and no engine thread. ``Engine`` starts the worker (the same
``inboxready`` executable as the CLI: next to the app's executable when frozen, ``python -m
inboxready.app.cli worker`` otherwise), writes requests as JSON lines to its stdin and turns the events on
its stdout into Qt signals, all on the UI thread (see docs/WORKER.md for the protocol). The worker's stderr
goes to a log file (``worker.log`` in the data folder), never to the pipe parser.

Every job has a number. ``check`` runs a domain check (starting one cancels the one in flight); ``run``
runs any other job by name with JSON parameters (report import, watch-list run, round trip, what-if...).
A late event of a job that is over is ignored.

The worker dying (a crash, a kill) is survivable: every job in flight ends with ``failed`` saying so in
plain words, ``workerLost`` tells the windows, and a new worker is started; what the worker stored (the
history, imported reports) is in SQLite, committed per run, so nothing stored is lost. A cancel is sent at
once; a worker that does not confirm it within ``CANCEL_GRACE_MS`` is killed and restarted. ``shutdown()``
(closing the app) ends the worker.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QIODevice, QObject, QProcess, QTimer, Signal

from inboxready.core.context import CheckOptions
from inboxready.core.dns.client import QueryRecord
from inboxready.core.model import CheckResult, DomainReport
from inboxready.core.policy.diff import CheckDiff
from inboxready.core.worker import protocol as p
from inboxready.core.worker.values import to_wire

log = logging.getLogger(__name__)

CANCEL_GRACE_MS = 3000  # a worker that has not confirmed a cancel by then is restarted
HELLO_TIMEOUT_MS = 30_000  # a worker that has not said hello by then is restarted (a frozen start can be slow)
MAX_RESTARTS = 3  # within RESTART_WINDOW_S: after that the worker is not started again (said plainly)
RESTART_WINDOW_S = 60.0
DISPATCH_BUDGET_S = 0.006  # events handed to the windows per turn of the event loop, at most this long
LOG_FILE = "worker.log"
LOG_KEEP_BYTES = 1 << 20  # the log is started afresh when it is bigger than this
WORKER_LOST = ("InboxReady's checking engine stopped unexpectedly, so this was not finished. It has been "
               "restarted: try again.")
WORKER_GONE = ("InboxReady's checking engine keeps stopping, so nothing can be checked right now. Restart "
               "InboxReady; if it happens again, please report it (the log is {log}).")


@dataclass(frozen=True)
class CheckRequest:
    """One check to run: the normalized domain, its options, whether to record it in history, and how to
    judge it (the compliance profile, the spam rate typed, the latest test message from the domain): the
    worker makes the checklist and the profile's verdict too."""

    domain: str
    options: CheckOptions
    record: bool = True
    profile: str | None = None
    spam_rate: float | None = None
    message: Any = None


def worker_command() -> tuple[str, list[str]]:
    """The program and arguments that start ``inboxready worker``: the frozen folder's own ``inboxready``
    executable when the app is frozen, else this Python with the CLI module. ``INBOXREADY_WORKER`` names
    another command line (the tests' guarded worker); ``worker`` is appended to it."""
    override = os.environ.get("INBOXREADY_WORKER")
    if override:
        program, *args = shlex.split(override, posix=sys.platform != "win32")
        return program, [*args, "worker"]
    if getattr(sys, "frozen", False):
        name = "inboxready.exe" if sys.platform == "win32" else "inboxready"
        return str(Path(sys.executable).resolve().parent / name), ["worker"]
    return sys.executable, ["-m", "inboxready.app.cli", "worker"]


def log_path() -> Path:
    from inboxready.core.store.settings import data_dir

    return data_dir() / LOG_FILE


@dataclass
class _Job:
    kind: str  # "check" or the task's job type
    check: bool
    cancelling: bool = False


_PASS_OVER = QEvent.Type(QEvent.registerEventType())  # Qt delivered the events posted since a hand-over


class Engine(QObject):
    """The engine process, as signals (job number first). Every slot runs on the UI thread."""

    started = Signal(int, str)  # job, domain
    # job, CheckResult, CheckDiff | None: one per check as each finishes, with what changed since the
    # previous stored run (None when nothing was stored or the run is not recorded)
    resultReady = Signal(int, object, object)
    queriesLogged = Signal(int, object)  # job, list[QueryRecord]: the DNS queries completed since the last batch
    judged = Signal(int, object, object)  # job, the checklist CheckResult, the profile's CheckResult | None (before finished)
    finished = Signal(int, object)  # job, DomainReport
    cancelled = Signal(int)  # job
    failed = Signal(int, str)  # job, plain-words reason

    # every other job (``run``): its own numbers, independent of the domain check in flight
    taskProgress = Signal(int, object)  # job, the progress data (JSON)
    taskFinished = Signal(int, object)  # job, the result (JSON)
    taskCancelled = Signal(int)  # job
    taskFailed = Signal(int, str)  # job, plain-words reason

    workerReady = Signal(int)  # pid: a worker said hello (the first, or one started after a loss)
    workerLost = Signal(str)  # plain words: the worker stopped unexpectedly (jobs in flight failed)

    def __init__(self, parent: QObject | None = None, *, start: bool = True) -> None:
        super().__init__(parent)
        self._job = 0
        self._current_job = 0
        self._jobs: dict[int, _Job] = {}
        self._closing = False
        self._gave_up = False
        self._restarts: list[float] = []
        self._buffer = b""
        # the rest of what was read, on the next turn (a timer of the engine's own: a single-shot call would
        # hold the engine alive until it ran)
        self._drain_timer = QTimer(self)
        self._drain_timer.setSingleShot(True)
        self._drain_timer.setInterval(0)
        self._drain_timer.timeout.connect(self._drain)
        # True from a result's hand-over until Qt next delivers posted events (where the layout and paint that
        # result asked for are done): a timer or a read later in the same pass of the event loop must not hand
        # over another one before that
        self._shown_this_pass = False
        self._queue: list[bytes] = []  # requests written before the worker said hello
        self._ready = False
        self.pid = 0
        self.protocol_errors: list[str] = []  # lines that did not parse (also logged)
        self._process: QProcess | None = None
        self._hello_timer = QTimer(self)
        self._hello_timer.setSingleShot(True)
        self._hello_timer.setInterval(HELLO_TIMEOUT_MS)
        self._hello_timer.timeout.connect(self._no_hello)
        self._cancel_timer = QTimer(self)
        self._cancel_timer.setSingleShot(True)
        self._cancel_timer.setInterval(CANCEL_GRACE_MS)
        self._cancel_timer.timeout.connect(self._cancel_overdue)
        if start:
            self._start_process()

    # -- the process ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.state() != QProcess.ProcessState.NotRunning

    @property
    def ready(self) -> bool:
        """True once the worker in use has said hello."""
        return self._ready

    def _start_process(self) -> None:
        program, args = worker_command()
        proc = QProcess(self)
        path = log_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() and path.stat().st_size > LOG_KEEP_BYTES:
                path.replace(path.with_suffix(".log.1"))
            proc.setStandardErrorFile(str(path), QIODevice.OpenModeFlag.Append)
        except OSError:  # no writable data folder: the log is dropped, the worker still runs
            proc.setStandardErrorFile(QProcess.nullDevice())
        if sys.platform == "win32":  # the console executable must not open a console window
            def no_window(args: Any) -> None:
                args.flags |= 0x08000000  # CREATE_NO_WINDOW

            proc.setCreateProcessArgumentsModifier(no_window)
        proc.readyReadStandardOutput.connect(self._read)
        proc.finished.connect(self._on_exit)
        proc.errorOccurred.connect(self._on_error)
        self._process = proc
        self._buffer = b""
        self._ready = False
        self._hello_timer.start()
        proc.start(program, args)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._lost(f"the engine could not be started ({self._process.errorString() if self._process else error})")

    def _on_exit(self, code: int, status: QProcess.ExitStatus) -> None:
        self._lost(f"the engine stopped (exit code {code}"
                   f"{', crashed' if status == QProcess.ExitStatus.CrashExit else ''})")

    def _no_hello(self) -> None:
        self._lost("the engine did not start in time")

    def _lost(self, why: str) -> None:
        """The worker is gone (or useless): fail what was in flight, say so, start a new one."""
        proc = self._process
        if proc is None:
            return
        self._process = None
        self._ready = False
        self._hello_timer.stop()
        self._cancel_timer.stop()
        for signal in (proc.readyReadStandardOutput, proc.finished, proc.errorOccurred):
            try:
                signal.disconnect()
            except (RuntimeError, TypeError):
                pass
        if proc.state() != QProcess.ProcessState.NotRunning:
            proc.kill()
            proc.waitForFinished(1000)
        proc.deleteLater()
        if self._closing:
            return
        log.warning("worker lost: %s", why)
        queued, self._queue = self._queue, []
        jobs, self._jobs = self._jobs, {}
        now = time.monotonic()
        self._restarts = [t for t in self._restarts if now - t < RESTART_WINDOW_S] + [now]
        self._gave_up = self._gave_up or len(self._restarts) > MAX_RESTARTS
        message = WORKER_GONE.format(log=log_path()) if self._gave_up else WORKER_LOST
        for job, info in jobs.items():
            if info.cancelling:
                (self.cancelled if info.check else self.taskCancelled).emit(job)
            else:
                (self.failed if info.check else self.taskFailed).emit(job, message)
        del queued  # their jobs were in ``jobs`` and failed above
        self.workerLost.emit(message)
        if not self._gave_up:
            self._start_process()

    def _write(self, message: dict[str, Any]) -> None:
        line = p.encode(message)
        if self._gave_up:  # no worker will run: a job fails at once (on the next turn, after its number is known)
            job = message.get("id")
            if message.get("type") not in (p.CANCEL, p.STOP) and isinstance(job, int):
                QTimer.singleShot(0, self, lambda: self._refuse(job))
            return
        if self._process is None and not self._closing:
            self._start_process()
        if not self._ready:
            self._queue.append(line)
        elif self._process is not None:
            self._process.write(line)

    def _refuse(self, job: int) -> None:
        info = self._jobs.pop(job, None)
        if info is not None:
            (self.failed if info.check else self.taskFailed).emit(job, WORKER_GONE.format(log=log_path()))

    def _read(self) -> None:
        proc = self._process
        if proc is None:
            return
        self._buffer += bytes(proc.readAllStandardOutput().data())
        self._drain()

    def _drain(self) -> None:
        """Hand the complete lines read so far to the windows, for at most ``DISPATCH_BUDGET_S`` per turn of
        the event loop and at most one result or end of a job (each changes what a window shows, which Qt then
        lays out and paints in the same turn): the rest waits for the next turn, so a burst of events (every
        result of a check at once) never holds up a frame."""
        self._drain_timer.stop()
        proc = self._process
        deadline = time.perf_counter() + DISPATCH_BUDGET_S
        shown = self._shown_this_pass  # a result or a job's end was handed over this turn
        while proc is not None and proc is self._process:
            nl = self._buffer.find(b"\n")
            if nl < 0:
                if len(self._buffer) > p.MAX_LINE:
                    self._protocol_error(f"a line longer than {p.MAX_LINE} bytes")
                    self._buffer = b""
                break
            if shown or time.perf_counter() > deadline:
                if not self._drain_timer.isActive():
                    self._drain_timer.start()
                break
            line, self._buffer = self._buffer[:nl], self._buffer[nl + 1:]
            if line.strip():
                shown = self._dispatch_line(line) in (p.RESULT, p.FINISHED)

    def event(self, e: QEvent) -> bool:
        if e.type() == _PASS_OVER:
            self._shown_this_pass = False
            return True
        return super().event(e)

    def _protocol_error(self, what: str) -> None:
        log.warning("worker protocol: %s", what)
        self.protocol_errors.append(what)

    def _dispatch_line(self, line: bytes) -> str | None:
        """Hand one event line over; returns its type (None: not an event)."""
        try:
            event = p.decode(line)
        except p.ProtocolError as exc:
            self._protocol_error(str(exc))
            return None
        if event.get("type") in (p.RESULT, p.FINISHED) and not self._shown_this_pass:
            # before the window's slot runs: a drain from inside it (a nested event loop) waits too. A posted
            # event to the engine itself says when the pass is over (Qt drops it with the engine: nothing
            # holds the engine alive, as a single-shot call would)
            self._shown_this_pass = True
            QCoreApplication.postEvent(self, QEvent(_PASS_OVER))
        try:
            self._dispatch(event)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # an event of the wrong shape
            self._protocol_error(f"{event.get('type')} event of job {event.get('id')}: {type(exc).__name__}: {exc}")
            job = event.get("id")
            if isinstance(job, int) and job in self._jobs:
                info = self._jobs.pop(job)
                (self.failed if info.check else self.taskFailed).emit(
                    job, f"InboxReady's engine sent an answer it could not read ({exc}). Please report it.")
        kind = event.get("type")
        return kind if isinstance(kind, str) else None

    def _dispatch(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == p.HELLO:
            self._hello(event)
            return
        job = event.get("id")
        info = self._jobs.get(job) if isinstance(job, int) else None
        if info is None:  # a job that is over (or never was ours): e.g. a late event after a cancel
            if kind == p.FAILED and job is None:
                self._protocol_error(str(event.get("message", "")))
            return
        assert isinstance(job, int)
        if kind in p.LAST_EVENTS:
            del self._jobs[job]
            if not any(i.cancelling for i in self._jobs.values()):
                self._cancel_timer.stop()
        if info.check:
            self._check_event(job, kind, event)
        else:
            self._task_event(job, kind, event)

    def _hello(self, event: dict[str, Any]) -> None:
        self._hello_timer.stop()
        if event.get("version") != p.PROTOCOL_VERSION:
            self._gave_up = True
            self._lost(f"the engine speaks protocol version {event.get('version')}, not {p.PROTOCOL_VERSION}")
            return
        self._ready = True
        self.pid = int(event.get("pid") or 0)
        queued, self._queue = self._queue, []
        for line in queued:
            if self._process is not None:
                self._process.write(line)
        self.workerReady.emit(self.pid)

    def _check_event(self, job: int, kind: str, event: dict[str, Any]) -> None:
        if kind == p.QUERY:
            self.queriesLogged.emit(job, [QueryRecord.from_json(q) for q in event.get("queries") or []])
        elif kind == p.RESULT:
            diff = event.get("diff")
            self.resultReady.emit(job, CheckResult.from_json(event["data"]),
                                  _diff_from_json(diff) if diff is not None else None)
        elif kind == p.FINISHED:
            data = event["data"]
            report = DomainReport.from_json(data["report"])
            compliance = data.get("compliance")
            self.judged.emit(job, CheckResult.from_json(data["checklist"]),
                             CheckResult.from_json(compliance) if compliance is not None else None)
            self.finished.emit(job, report)
        elif kind == p.CANCELLED:
            self.cancelled.emit(job)
        elif kind == p.FAILED:
            self.failed.emit(job, str(event.get("message") or "unknown problem"))

    def _task_event(self, job: int, kind: str, event: dict[str, Any]) -> None:
        if kind == p.PROGRESS:
            self.taskProgress.emit(job, event.get("data"))
        elif kind == p.FINISHED:
            self.taskFinished.emit(job, event.get("data"))
        elif kind == p.CANCELLED:
            self.taskCancelled.emit(job)
        elif kind == p.FAILED:
            self.taskFailed.emit(job, str(event.get("message") or "unknown problem"))

    # -- checks ---------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while the current check runs (False already in the slots of its last signal)."""
        return self._current_job in self._jobs

    @property
    def current_job(self) -> int:
        return self._current_job

    def _new_job(self, kind: str, check: bool) -> int:
        if self._closing:
            raise RuntimeError("the engine has been shut down")
        self._job += 1
        self._jobs[self._job] = _Job(kind, check)
        return self._job

    def check(self, request: CheckRequest) -> int:
        """Start checking ``request.domain``; cancels the check in flight. Returns the job number."""
        self.cancel()
        job = self._new_job("check", True)
        self._current_job = job
        self._write(p.request(job, "check", domain=request.domain, options=p.options_to_json(request.options),
                              record=request.record, profile=request.profile, spam_rate=request.spam_rate,
                              message=to_wire(request.message)))
        self.started.emit(job, request.domain)
        return job

    def cancel(self) -> bool:
        """Cancel the check in flight (if any). Returns True when something was cancelled."""
        return self._cancel(self._current_job, check=True)

    def _cancel(self, job: int, *, check: bool) -> bool:
        info = self._jobs.get(job)
        if info is None or info.check != check or info.cancelling:
            return False
        info.cancelling = True
        self._write({"type": p.CANCEL, "id": job})
        if not self._cancel_timer.isActive():
            self._cancel_timer.start()
        return True

    def _cancel_overdue(self) -> None:
        """A cancel the worker did not confirm in time: it is stuck; a new one takes over."""
        if any(i.cancelling for i in self._jobs.values()):
            self._lost("the engine did not stop a job when asked")

    # -- other jobs -----------------------------------------------------------------------------

    def run(self, job_type: str, /, **params: Any) -> int:
        """Run job ``job_type`` with ``params`` (JSON-able) in the worker; its events arrive as ``task*``
        signals. Returns the job number."""
        job = self._new_job(job_type, False)
        self._write({"id": job, "type": job_type, "params": params})
        return job

    def cancel_task(self, job: int) -> bool:
        """Cancel job ``job`` if it is still running."""
        return self._cancel(job, check=False)

    def stop_task(self, job: int) -> bool:
        """Ask job ``job`` to stop at its next safe point; it still finishes (with what it did)."""
        info = self._jobs.get(job)
        if info is None or info.check:
            return False
        self._write({"type": p.STOP, "id": job})
        return True

    def task_running(self, job: int) -> bool:
        """True while job ``job`` runs (False already in the slots of its last signal)."""
        info = self._jobs.get(job)
        return info is not None and not info.check

    # -- shutdown -------------------------------------------------------------------------------

    def kill_worker(self) -> None:
        """Kill the worker at once (as a crash would): for tests and for a stuck worker."""
        if self._process is not None:
            self._process.kill()

    def shutdown(self, timeout_ms: int = 3000) -> None:
        """Ask the worker to stop (it cancels what runs and closes its stores), wait a little, then kill it.
        Idempotent; no signal is sent after it."""
        if self._closing:
            return
        self._closing = True
        self._hello_timer.stop()
        self._cancel_timer.stop()
        self._jobs.clear()
        proc = self._process
        if proc is None:
            return
        if self._ready and proc.state() == QProcess.ProcessState.Running:
            proc.write(p.encode({"type": p.SHUTDOWN}))
            proc.closeWriteChannel()
            if not proc.waitForFinished(timeout_ms):
                proc.kill()
                proc.waitForFinished(1000)
        else:
            proc.kill()
            proc.waitForFinished(1000)
        self._lost("closing")


_SHARED: list[Engine] = []  # the app's engine (set by the main window); dialogs made elsewhere use it


def set_shared(engine: Engine | None) -> None:
    """Make ``engine`` the one ``shared()`` gives (None: forget it)."""
    _SHARED[:] = [engine] if engine is not None else []


def shared(owner: QObject) -> Engine:
    """The app's engine, or (a dialog made on its own, as in a test) a new one that ends with ``owner``."""
    if _SHARED and not _SHARED[0]._closing:
        return _SHARED[0]
    engine = Engine(owner)
    owner.destroyed.connect(lambda *_: engine.shutdown())
    return engine


def _diff_from_json(data: Any) -> CheckDiff:
    """A ``CheckDiff`` from its ``to_json`` (the computed ``changed``/``summary`` are left out)."""
    if not isinstance(data, dict):
        raise ValueError("a diff is not an object")
    return CheckDiff(
        name=str(data["name"]), previous_status=data.get("previous_status"), status=str(data["status"]),
        trend=str(data["trend"]), records_added=list(data.get("records_added") or []),
        records_removed=list(data.get("records_removed") or []),
        records_edited=[(str(a), str(b)) for a, b in data.get("records_edited") or []],
        findings_appeared=list(data.get("findings_appeared") or []),
        findings_gone=list(data.get("findings_gone") or []), previous_started=str(data.get("previous_started", "")))


__all__ = ["CheckRequest", "Engine", "set_shared", "shared", "worker_command"]
