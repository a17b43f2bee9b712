"""One small way to leave the UI thread's current turn, in the spirit of Anki's ``QueryOp``.

``WorkerOp(engine, parent, kind, params, success=..., failure=..., progress=...)`` runs job ``kind`` in
the worker process (anything slow: DNS, SMTP/IMAP, a report import, a big store query) and calls back on
the UI thread with its result, its failure (plain words) or its progress. ``QueryOp(parent, op, success=...,
failure=...)`` runs a short synchronous ``op`` (a small store read) on the UI thread at the next turn of
the event loop, so the click that asked for it is drawn first, and turns an exception into ``failure``.

Neither blocks nor nests an event loop, and neither uses a thread. Both are children of ``parent``: once it
is destroyed (its window closed) nothing is called back, and a WorkerOp still running is cancelled.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QTimer

from .engine import Engine

log = logging.getLogger(__name__)


class WorkerOp(QObject):
    """A worker job with callbacks (see the module doc). ``run()`` starts it and returns the job number."""

    def __init__(self, engine: Engine, parent: QObject, kind: str, params: dict[str, Any] | None = None, *,
                 success: Callable[[Any], None] | None = None, failure: Callable[[str], None] | None = None,
                 progress: Callable[[Any], None] | None = None,
                 cancelled: Callable[[], None] | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.kind = kind
        self.params = params or {}
        self._success = success
        self._failure = failure
        self._progress = progress
        self._cancelled = cancelled
        self.job = 0
        self.done = False
        self._live = [True]  # emptied when the job is over (read by the destroyed handler)

    def run(self) -> int:
        e = self.engine
        e.taskFinished.connect(self._on_finished)
        e.taskFailed.connect(self._on_failed)
        e.taskCancelled.connect(self._on_cancelled)
        e.taskProgress.connect(self._on_progress)
        self.job = e.run(self.kind, **self.params)
        # a plain function, not a method of this object: it runs while the object is being destroyed
        engine, job, live = self.engine, self.job, self._live
        self.destroyed.connect(lambda *_: _cancel_if_running(engine, job, live))
        return self.job

    @property
    def running(self) -> bool:
        return bool(self.job) and not self.done and self.engine.task_running(self.job)

    def cancel(self) -> bool:
        """Cancel the job (its ``cancelled`` callback follows when the worker confirms)."""
        return bool(self.job) and not self.done and self.engine.cancel_task(self.job)

    def abandon(self) -> None:
        """Cancel the job and forget the callbacks now (the owner is going away): none of them is called,
        and this object no longer refers to the owner."""
        if self.job and not self.done:
            self.engine.cancel_task(self.job)
        self._end()

    def _end(self) -> None:
        """Over: no more callbacks, nothing of the owner held, disconnected, deleted on a later turn."""
        self.done = True
        self._live.clear()
        self._success = self._failure = self._progress = self._cancelled = None
        e = self.engine
        for signal, slot in ((e.taskFinished, self._on_finished), (e.taskFailed, self._on_failed),
                             (e.taskCancelled, self._on_cancelled), (e.taskProgress, self._on_progress)):
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        self.deleteLater()

    def _on_finished(self, job: int, data: Any) -> None:
        if job == self.job and not self.done:
            call = self._success
            self._end()
            if call is not None:
                call(data)

    def _on_failed(self, job: int, message: str) -> None:
        if job == self.job and not self.done:
            call = self._failure
            self._end()
            if call is not None:
                call(message)
            else:
                log.warning("%s failed: %s", self.kind, message)

    def _on_cancelled(self, job: int) -> None:
        if job == self.job and not self.done:
            call = self._cancelled
            self._end()
            if call is not None:
                call()

    def _on_progress(self, job: int, data: Any) -> None:
        if job == self.job and not self.done and self._progress is not None:
            self._progress(data)


def _cancel_if_running(engine: Engine, job: int, live: list[bool]) -> None:
    """The owner of a WorkerOp went away while its job ran: cancel the job."""
    if live:
        try:
            engine.cancel_task(job)
        except RuntimeError:  # the engine is gone too
            pass


class QueryOp:
    """A short synchronous ``op`` run on the UI thread at the next turn of the event loop (see module doc).
    Nothing runs if ``parent`` is destroyed first."""

    def __init__(self, parent: QObject, op: Callable[[], Any], *, success: Callable[[Any], None] | None = None,
                 failure: Callable[[BaseException], None] | None = None) -> None:
        self.parent = parent
        self._op = op
        self._success = success
        self._failure = failure

    def run(self) -> None:
        op, success, failure = self._op, self._success, self._failure
        parent = weakref.ref(self.parent)
        del self.parent  # held weakly from now on

        def call() -> None:
            owner = parent()
            if owner is None or not shiboken6.isValid(owner):
                return  # its window went away first: nothing to do
            del owner
            try:
                result = op()
            except Exception as exc:  # noqa: BLE001 - handed to ``failure`` (or logged), never raised into Qt
                if failure is not None:
                    failure(exc)
                else:
                    log.warning("a UI operation failed", exc_info=True)
            else:
                if success is not None:
                    success(result)

        # no context object: the window a callback refers to may be freed when this call is over, which
        # must not happen to the context of the call that is running
        QTimer.singleShot(0, call)


__all__ = ["QueryOp", "WorkerOp"]
