"""A fake clock for tests that wait on our own timers: an event loop on virtual time.

``VirtualTimeLoop`` is an ordinary selector loop whose clock (``loop.time()``, what ``asyncio.sleep``,
``asyncio.wait(timeout=)`` and ``wait_for`` use) jumps ahead to the next timer whenever nothing is ready
to run, so a 1.5 s deadline passes at once and a test can say exactly *when* (on that clock) something
happened, however busy the machine. Only for code that waits on timers: a wait on a real socket or a
thread would see its timeouts fire early (use the real loop and a deadline as an anti-hang guard there).
"""

from __future__ import annotations

import asyncio
from typing import Any, Coroutine, TypeVar

T = TypeVar("T")


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        super().__init__()
        self.skipped = 0.0  # seconds the clock jumped

    def time(self) -> float:
        return super().time() + self.skipped

    def _run_once(self) -> None:
        ready: Any = self._ready  # (CPython's BaseEventLoop: the callbacks due now, the timers)
        scheduled: Any = self._scheduled
        if not ready:
            due = [h.when() for h in scheduled if not h.cancelled()]
            if due:
                self.skipped += max(0.0, min(due) - self.time())
        super()._run_once()  # type: ignore[misc]


def run_virtual(coro: Coroutine[Any, Any, T]) -> tuple[T, VirtualTimeLoop]:
    """Run ``coro`` on a fresh ``VirtualTimeLoop`` (closed afterwards); returns its result and the loop."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(coro), loop
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
