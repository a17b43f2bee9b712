"""The DNSSEC card's section: the chain of trust."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtWidgets import (
    QWidget,
)

from inboxready.core.checks.dnssec import DnssecDetail
from inboxready.core.model import CheckResult

from ..widgets import (
    compact_table,
    label,
)

from .common import _box, _s


# -- DNSSEC ----------------------------------------------------------------------------------------


def dnssec_section(card: Any, r: CheckResult) -> QWidget | None:
    d = cast(DnssecDetail, r.detail)  # the DNSSEC check's shape (tests/core/checks/test_detail_shapes.py)
    chain = d["chain"]
    if not chain:
        return None
    box, lay = _box(card, "Chain of trust")
    rows = [[_s(z["zone"]) or ".", "ok" if z["ok"] else "problem", _s(z["problem"])] for z in chain]
    lay.addWidget(compact_table(["Zone", "Signed and valid", "Problem"], rows, "DNSSEC chain of trust", box))
    if d["algorithm"]:
        lay.addWidget(label(f"Signing algorithm: {_s(d['algorithm'])}", "Muted", parent=box))
    return box
