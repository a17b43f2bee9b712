"""Work-arounds for bugs in specific PySide6 releases.

PySide6 6.12.0 returns the result of ``Signal.emit()`` (a ``bool``) without taking a reference, so every
``emit`` from Python drops one reference to ``True``. On Python 3.11 (where ``True`` is not immortal) a
few hundred emits later the interpreter aborts with "bool_dealloc: deallocating True or False". All
signal emission in the app goes through ``emit()`` below, which measures the bug once and gives the
reference back when (and only when) this PySide6 has it.
"""

from __future__ import annotations

import ctypes

import PySide6
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLayout, QSpacerItem


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




class _NoneProbe(QLayout):  # type: ignore[misc]
    def addItem(self, item: object) -> None:
        pass

    def count(self) -> int:
        return 1

    def itemAt(self, index: int) -> None:  # type: ignore[override]
        return None

    def takeAt(self, index: int) -> None:  # type: ignore[override]
        return None


def _measure_none() -> bool:
    """PySide6 6.12.0 also drops a reference to ``None`` when a Python override of a C++ virtual returns
    ``None`` (a null pointer, an empty QVariant)."""
    probe = _NoneProbe()
    w = QSpacerItem(0, 0)
    before = sys.getrefcount(None)
    for _ in range(8):
        probe.indexOf(w)  # type: ignore[call-overload]
    leaked = before - sys.getrefcount(None)
    if leaked >= 8:
        for _ in range(leaked):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
        return True
    return False


def null() -> None:
    """Return this instead of ``None`` from a Python override of a C++ virtual (see above)."""
    if NONE_RETURN_LEAKS:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
    return None


# The layout probe above cannot make C++ call the override without a widget tree, so the release is
# matched by version (giving an extra reference to None where there is no bug is harmless).
NONE_RETURN_LEAKS: bool = PySide6.__version__ == "6.12.0"

__all__ = ["EMIT_LEAKS_BOOL", "NONE_RETURN_LEAKS", "emit", "null"]
