"""The reverse DNS card's section: each address, its name, and whether the name leads back."""

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

from .common import _box, _d, _l, _s, _yes_no


# -- reverse DNS -----------------------------------------------------------------------------------

SOURCE_WORDS = {"spf": "in your SPF record", "mx": "mail server (MX)", "message": "sent your test message"}


def rdns_section(card: Any, r: CheckResult) -> QWidget | None:
    hosts = [_d(h) for h in _l(r.detail.get("hosts"))]
    if not hosts:
        return None
    box, lay = _box(card, "Sending addresses and their names")
    rows = [[_s(h.get("ip")), (f"sent your {_s(h.get('via'))}" if _s(h.get("source")) == "message" and h.get("via")
                               else SOURCE_WORDS.get(_s(h.get("source")), _s(h.get("source")))),
             ", ".join(_s(p) for p in _l(h.get("ptr"))) or "none",
             _yes_no(h.get("confirmed"), "yes", "NO"), _s(h.get("problem"))] for h in hosts]
    lay.addWidget(compact_table(["Address", "Where from", "Name (PTR)", "Points back", "Problem"], rows,
                                "Reverse DNS of the sending addresses", box))
    if r.detail.get("capped"):
        lay.addWidget(label("Only the first addresses were tested.", "Muted", parent=box))
    return box
