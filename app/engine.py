"""The bridge between the Qt event loop and the asyncio core.

One asyncio loop runs in one worker thread for the life of the app. ``Engine`` submits core coroutines to
it with ``asyncio.run_coroutine_threadsafe`` and turns the core's plain callbacks (``on_result``,
``on_query``) into Qt signals. The window connects to them with queued connections, so every slot runs
on the UI thread and the UI never waits on DNS.

Every run has a job number. Starting a new check cancels the one in flight (cancelling its future
cancels every DNS query of it); a late signal of an old job is recognisable by its number and ignored.
``shutdown()`` cancels what is running, stops the loop and joins the thread.

Qt objects (windows, services, timers, menus) must be created, used and *freed* on the UI thread. Freeing
happens wherever the last Python reference to a wrapper goes away, so code that runs on the loop thread or
its executor (a future's done callback, a progress callback, a worker function) must never hold a strong
reference to a UI object: a window closed meanwhile would then be destroyed on the loop thread, under the
UI thread's feet (a segmentation fault). ``ui_call(method)`` and ``when_done(future, method)`` are the safe
way back: they hold the receiver weakly, and the engine (alive until its thread is joined) sends the call to
the UI thread, where it is dropped if the receiver is gone.

Everything that is not drawing happens on the loop thread (or its executor), never on the UI thread:
reading the previous run and writing this one to the history (SQLite, JSON), and diffing each result
against the previous run. Each result reaches the window with its ``CheckDiff`` ready. DNS queries are
sent to the window in batches (at most one signal every ``QUERY_BATCH_S``), not one signal per query.

PySide6.QtAsyncio is deliberately not used: dnspython's asyncio backend needs a real asyncio loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import sys
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Coroutine

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal

from inboxready.core.checks.runner import make_client, run_check
from inboxready.core.context import CheckOptions
from inboxready.core.dns.client import QueryRecord
from inboxready.core.policy.diff import CheckDiff, diff_check
from inboxready.core.store.history import History, StoredCheck
from inboxready.core.model import CheckResult, DomainReport


QUERY_BATCH_S = 0.06  # the query log is sent to the window at most this often during a check
# Every Python call Qt makes on the UI thread (a slot, a timer) must take the interpreter lock back from
# this thread; a busy thread keeps it for the switch interval (5 ms by default) each time. A shorter
# interval keeps those waits short while a check runs.
SWITCH_INTERVAL_S = 0.001


@dataclass(frozen=True)
class CheckRequest:
    """One check to run: the normalized domain, its options, and whether to record it in history."""

    domain: str
    options: CheckOptions
    record: bool = True


class Engine(QObject):
    """Runs checks on a private asyncio loop and reports through signals (job id first)."""

    started = Signal(int, str)  # job, domain
    previousLoaded = Signal(int, object)  # job, StoredCheck | None (the last stored run of the domain)
    # job, CheckResult, CheckDiff | None: one per check as each finishes, with what changed since the
    # previous stored run (None when nothing was stored or the run is not recorded)
    resultReady = Signal(int, object, object)
    queriesLogged = Signal(int, object)  # job, list[QueryRecord]: the DNS queries completed since the last batch
    finished = Signal(int, object)  # job, DomainReport
    cancelled = Signal(int)  # job
    failed = Signal(int, str)  # job, plain-words reason (a bug: the core never raises for DNS trouble)

    # mail tasks (a round trip, a watch, a pasted message, a connection test): their own job numbers,
    # independent of the domain check in flight
    taskProgress = Signal(int, object)  # job, core.mail.imap.Progress
    taskFinished = Signal(int, object)  # job, whatever the coroutine returned
    taskCancelled = Signal(int)  # job
    taskFailed = Signal(int, str)  # job, plain-words reason (a bug in the core)

    # (weak reference to a callable, args): ``ui_call``/``when_done`` from any thread to the UI thread
    _post = Signal(object, object)

    def __init__(self, history: History | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if sys.getswitchinterval() > SWITCH_INTERVAL_S:
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        self.history = history
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        # the thread gets the loop, not the Engine: it must not keep the Engine (a QObject) alive, or the
        # Engine could be freed on that thread when it ends
        self._thread = threading.Thread(target=_run_loop, args=(self._loop, self._ready), name="inboxready-engine",
                                        daemon=True)
        self._job = 0
        self._current: concurrent.futures.Future[Any] | None = None
        self._current_job = 0
        self._closing = False
        self._tasks: dict[int, concurrent.futures.Future[Any]] = {}
        # jobs (checks and tasks) whose last signal has not been sent yet: a job leaves this set *before*
        # its finished/cancelled/failed signal, so a slot of that signal sees ``busy``/``task_running``
        # False (the future itself is marked done a moment later, on the loop thread)
        self._live: set[int] = set()
        self._held: dict[int, object] = {}  # see _hold
        self._hold_keys = itertools.count(1)
        self._post.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._thread.start()
        self._ready.wait(5)

    # -- loop thread ----------------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        """Run any coroutine on the engine's loop; returns a thread-safe future. What the coroutine was
        handed (its arguments, e.g. the function of ``asyncio.to_thread(fn)``) is let go on the UI thread
        once it is done (see ``_hold``)."""
        return self._submit(coro, _arguments(coro))

    def _submit(self, coro: Coroutine[Any, Any, Any], hold: object = None) -> concurrent.futures.Future[Any]:
        if self._closing or self._loop.is_closed():
            coro.close()
            raise RuntimeError("the engine has been shut down")
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        if hold is not None:
            self._hold(fut, hold)
        return fut

    def _hold(self, fut: concurrent.futures.Future[Any], obj: object) -> None:
        """Keep ``obj`` until ``fut`` is done, then let it go on the UI thread.

        A safety net: what a coroutine or a worker function was handed (a bound method, a closure) may refer
        to a window; had the loop thread or the executor the last reference when it finishes, a window closed
        meanwhile would be freed there, under the UI thread's feet. The rule is still to hand the loop no UI
        object (``ui_call``/``when_done`` for the way back)."""
        key = next(self._hold_keys)
        self._held[key] = obj
        release = self.ui_call(self._release)
        fut.add_done_callback(lambda _f: release(key))

    def _release(self, key: int) -> None:
        self._held.pop(key, None)

    # -- back to the UI thread --------------------------------------------------------------------

    def ui_call(self, method: Callable[..., Any]) -> Callable[..., None]:
        """A stand-in for ``method`` that may be called from any thread: ``ui_call(m)(*args)`` runs
        ``m(*args)`` soon on the UI thread, unless ``m``'s object is gone by then (freed, or a QObject whose
        C++ side was deleted) or the engine is shutting down. A bound method (a Python one, or a Qt one of a
        QObject such as ``event_loop.quit``) is held weakly, so the window that owns it is never kept alive
        by, nor freed on, another thread; any other callable is held as is, so it must not refer to a UI
        object."""
        ref: Callable[[], Callable[..., Any] | None]
        owner = getattr(method, "__self__", None)
        if hasattr(method, "__func__"):
            ref = weakref.WeakMethod(method)  # type: ignore[arg-type]
        elif isinstance(owner, QObject):
            ref = _WeakQtMethod(owner, method.__name__)
        else:
            ref = _Strong(method)
        engine = weakref.ref(self)

        def call(*args: Any) -> None:
            e = engine()
            if e is not None:
                e._emit(e._post, ref, args)

        return call

    def when_done(self, future: concurrent.futures.Future[Any], method: Callable[..., Any], *args: Any) -> None:
        """Call ``method(future, *args)`` on the UI thread once ``future`` (from ``submit``) is done; same
        rules as ``ui_call``: a bound method is held weakly, and nothing is called once it is gone."""
        call = self.ui_call(method)
        future.add_done_callback(lambda f: call(f, *args))

    def _deliver(self, ref: Callable[[], Callable[..., Any] | None], args: tuple[Any, ...]) -> None:
        """UI thread: run a call sent by ``ui_call``/``when_done`` if its receiver is still there."""
        method = ref()
        if method is None or self._closing:
            return
        owner = getattr(method, "__self__", None)
        if isinstance(owner, QObject) and not shiboken6.isValid(owner):
            return
        method(*args)

    def _emit(self, signal: Any, *args: Any) -> None:
        """Emit from the loop thread unless we are closing (the receiver may be gone)."""
        if not self._closing:
            try:
                signal.emit(*args)
            except RuntimeError:  # the C++ object was deleted during shutdown
                pass

    # -- checks ---------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while the current check runs (False already in the slots of its last signal)."""
        return self._current_job in self._live

    @property
    def current_job(self) -> int:
        return self._current_job

    def check(self, request: CheckRequest) -> int:
        """Start checking ``request.domain``; cancels the check in flight. Returns the job number."""
        self.cancel()
        self._job += 1
        job = self._job
        self._current_job = job
        self._current = self._start(job, self._check(job, request))
        return job

    def _start(self, job: int, coro: Coroutine[Any, Any, Any], hold: object = None) -> concurrent.futures.Future[Any]:
        """Submit job ``job``; it is live until its coroutine sends its last signal (or never starts)."""
        live = self._live
        live.add(job)
        try:
            fut = self._submit(coro, hold)
        except RuntimeError:
            live.discard(job)
            raise
        # cancelled before it started: its coroutine never runs (only the set is held, not the Engine)
        fut.add_done_callback(lambda _f: live.discard(job))
        return fut

    def cancel(self) -> bool:
        """Cancel the check in flight (if any). Returns True when something was cancelled."""
        fut = self._current
        if fut is None or fut.done() or self._current_job not in self._live:
            return False
        fut.cancel()
        return True

    async def _check(self, job: int, request: CheckRequest) -> DomainReport | None:
        loop = asyncio.get_running_loop()
        self._emit(self.started, job, request.domain)
        pending: list[QueryRecord] = []
        flush_handle: list[asyncio.TimerHandle] = []
        emit = _weak_emitter(self)  # for the callbacks handed to the core (see _weak_emitter)

        def flush() -> None:
            flush_handle.clear()
            if pending:
                batch = pending[:]
                pending.clear()
                emit("queriesLogged", job, batch)

        def on_query(rec: QueryRecord) -> None:
            pending.append(rec)
            if not flush_handle:
                flush_handle.append(loop.call_later(QUERY_BATCH_S, flush))

        client = None
        try:
            previous: StoredCheck | None = None
            if self.history is not None and request.record:
                previous = await loop.run_in_executor(None, self.history.last, request.domain)
            self._emit(self.previousLoaded, job, previous)

            def on_result(result: CheckResult) -> None:
                diff: CheckDiff | None = None
                if previous is not None:
                    diff = diff_check(previous.check(result.name), result, previous_started=previous.started)
                flush()  # the log is never behind the cards
                emit("resultReady", job, result, diff)

            client = make_client(request.options, on_query=on_query)
            report = await run_check(request.domain, request.options, on_result=on_result, client=client)
            flush()
            if self.history is not None and request.record:
                await loop.run_in_executor(None, self.history.add, report)
            self._live.discard(job)
            self._emit(self.finished, job, report)
            return report
        except asyncio.CancelledError:
            self._live.discard(job)
            self._emit(self.cancelled, job)
            raise
        except Exception as exc:  # a bug in the core: say so, never leave the window spinning
            self._live.discard(job)
            self._emit(self.failed, job, f"{type(exc).__name__}: {exc}")
            return None
        finally:
            for handle in flush_handle:
                handle.cancel()
            if client is not None:
                client.close()

    # -- mail tasks -----------------------------------------------------------------------------

    def run_task(self, make: Callable[[Callable[[Any], None]], Coroutine[Any, Any, Any]]) -> int:
        """Run ``make(on_progress)`` on the loop; ``on_progress(p)`` emits ``taskProgress`` (from any
        thread). The result arrives as ``taskFinished``. Returns the task's job number."""
        self._job += 1
        job = self._job
        emit = _weak_emitter(self)

        def on_progress(p: Any) -> None:
            emit("taskProgress", job, p)

        coro = make(on_progress)
        # ``make`` and what the coroutine was handed are let go on the UI thread (see _hold)
        fut = self._start(job, self._task(job, coro), hold=(make, _arguments(coro)))
        if job in self._live:  # else it is over already
            self._tasks[job] = fut
        return job

    def cancel_task(self, job: int) -> bool:
        """Cancel mail task ``job`` if it is still running (its connections are closed by the core)."""
        fut = self._tasks.get(job)
        if fut is None or fut.done() or job not in self._live:
            return False
        fut.cancel()
        return True

    def task_running(self, job: int) -> bool:
        """True while task ``job`` runs (False already in the slots of its last signal)."""
        return job in self._live and job in self._tasks

    async def _task(self, job: int, coro: Coroutine[Any, Any, Any]) -> Any:
        try:
            result = await coro
        except asyncio.CancelledError:
            self._over(job)
            self._emit(self.taskCancelled, job)
            raise
        except Exception as exc:  # a bug in the core: say so, never leave the window waiting
            self._over(job)
            self._emit(self.taskFailed, job, f"{type(exc).__name__}: {exc}")
            return None
        self._over(job)
        self._emit(self.taskFinished, job, result)
        return result

    def _over(self, job: int) -> None:
        self._live.discard(job)
        self._tasks.pop(job, None)

    # -- shutdown -------------------------------------------------------------------------------

    def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel the check in flight, stop the loop and join its thread (idempotent)."""
        if self._closing:
            return
        self.cancel()
        for fut in list(self._tasks.values()):
            fut.cancel()
        self._closing = True
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._held.clear()  # on the UI thread, now that the loop thread is gone


class _WeakQtMethod:
    """A weak reference to a QObject's built-in (C++) method, e.g. ``QEventLoop.quit``."""

    __slots__ = ("name", "obj")

    def __init__(self, obj: QObject, name: str) -> None:
        self.obj = weakref.ref(obj)
        self.name = name

    def __call__(self) -> Callable[..., Any] | None:
        obj = self.obj()
        return None if obj is None else getattr(obj, self.name)


class _Strong:
    """A strong reference with the interface of a weak one (for ``ui_call`` of a plain function)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Callable[..., Any]) -> None:
        self.obj = obj

    def __call__(self) -> Callable[..., Any]:
        return self.obj


def _arguments(coro: object) -> tuple[Any, ...] | None:
    """The arguments a coroutine that has not started yet was called with (the locals of its frame)."""
    frame = getattr(coro, "cr_frame", None)
    return tuple(frame.f_locals.values()) if frame is not None else None


def _weak_emitter(engine: Engine) -> Callable[..., None]:
    """``emit(signal_name, *args)`` through a weak reference to ``engine``. The core keeps the callbacks it
    is given in reference cycles (a DNS client and its context, exception tracebacks) that only the garbage
    collector frees, later, on whichever thread it runs: a callback holding the Engine would keep the Engine
    in that garbage and have it freed there."""
    ref = weakref.ref(engine)

    def emit(name: str, *args: Any) -> None:
        e = ref()
        if e is not None:
            e._emit(getattr(e, name), *args)

    return emit


def _run_loop(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    """The engine thread: run ``loop`` until it is stopped, then finish what is left and close it."""
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    try:
        loop.run_forever()
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


__all__ = ["CheckRequest", "Engine"]
