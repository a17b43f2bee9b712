"""The DNSSEC card's section: the chain of trust."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QWidget,
)

from inboxready.core.model import CheckResult

from ..widgets import (
    compact_table,
    label,
)

from .common import _box, _d, _l, _s


# -- DNSSEC ----------------------------------------------------------------------------------------


def dnssec_section(card: Any, r: CheckResult) -> QWidget | None:
    chain = [_d(z) for z in _l(r.detail.get("chain"))]
    if not chain:
        return None
    box, lay = _box(card, "Chain of trust")
    rows = [[_s(z.get("zone")) or ".", "ok" if z.get("ok") else "problem", _s(z.get("problem"))] for z in chain]
    lay.addWidget(compact_table(["Zone", "Signed and valid", "Problem"], rows, "DNSSEC chain of trust", box))
    if r.detail.get("algorithm"):
        lay.addWidget(label(f"Signing algorithm: {_s(r.detail.get('algorithm'))}", "Muted", parent=box))
    return box
