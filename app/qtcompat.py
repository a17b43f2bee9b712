"""Work-arounds for bugs in specific PySide6 releases.

PySide6 6.12.0 returns the result of ``Signal.emit()`` (a ``bool``) without taking a reference, so every
``emit`` from Python drops one reference to ``True``. On Python 3.11 (where ``True`` is not immortal) a
few hundred emits later the interpreter aborts with "bool_dealloc: deallocating True or False". All
signal emission in the app goes through ``emit()`` below, which measures the bug once and gives the
reference back when (and only when) this PySide6 has it.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal


class _Probe(QObject):
    ping = Signal()


def _measure() -> bool:
    probe = _Probe()
    probe.ping.connect(lambda: None)
    before = sys.getrefcount(True)
    results = []
    for _ in range(8):
        results.append(probe.ping.emit())
    del results
    after = sys.getrefcount(True)
    leaked = before - after
    if leaked >= 8:  # the bug: give back what the probe took
        for _ in range(leaked):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
        return True
    return False


EMIT_LEAKS_BOOL: bool = _measure()


def emit(signal: Any, *args: Any) -> None:
    """``signal.emit(*args)``, compensating the PySide6 6.12.0 reference leak on its result."""
    result = signal.emit(*args)
    if EMIT_LEAKS_BOOL and isinstance(result, bool):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(result))


__all__ = ["EMIT_LEAKS_BOOL", "emit"]
