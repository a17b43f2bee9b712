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
from collections.abc import Callable
from typing import Any

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

    def run(self) -> int:
        e = self.engine
        e.taskFinished.connect(self._on_finished)
        e.taskFailed.connect(self._on_failed)
        e.taskCancelled.connect(self._on_cancelled)
        e.taskProgress.connect(self._on_progress)
        self.destroyed.connect(self._cancel_job)
        self.job = e.run(self.kind, **self.params)
        return self.job

    @property
    def running(self) -> bool:
        return bool(self.job) and not self.done and self.engine.task_running(self.job)

    def cancel(self) -> bool:
        """Cancel the job (its ``cancelled`` callback follows when the worker confirms)."""
        return bool(self.job) and not self.done and self.engine.cancel_task(self.job)

    def _cancel_job(self, *_: Any) -> None:
        try:
            if self.job and not self.done:
                self.engine.cancel_task(self.job)
        except RuntimeError:  # the engine is gone too
            pass

    def _end(self) -> None:
        self.done = True
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
            self._end()
            if self._success is not None:
                self._success(data)

    def _on_failed(self, job: int, message: str) -> None:
        if job == self.job and not self.done:
            self._end()
            if self._failure is not None:
                self._failure(message)
            else:
                log.warning("%s failed: %s", self.kind, message)

    def _on_cancelled(self, job: int) -> None:
        if job == self.job and not self.done:
            self._end()
            if self._cancelled is not None:
                self._cancelled()

    def _on_progress(self, job: int, data: Any) -> None:
        if job == self.job and not self.done and self._progress is not None:
            self._progress(data)


class QueryOp(QObject):
    """A short synchronous ``op`` run on the UI thread at the next turn of the event loop (see module doc)."""

    def __init__(self, parent: QObject, op: Callable[[], Any], *, success: Callable[[Any], None] | None = None,
                 failure: Callable[[BaseException], None] | None = None) -> None:
        super().__init__(parent)
        self._op = op
        self._success = success
        self._failure = failure

    def run(self) -> None:
        QTimer.singleShot(0, self, self._run)

    def _run(self) -> None:
        try:
            result = self._op()
        except Exception as exc:  # noqa: BLE001 - handed to ``failure`` (or logged), never raised into Qt
            if self._failure is not None:
                self._failure(exc)
            else:
                log.warning("a UI operation failed", exc_info=True)
        else:
            if self._success is not None:
                self._success(result)
        finally:
            self.deleteLater()


__all__ = ["QueryOp", "WorkerOp"]
