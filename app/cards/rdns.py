"""The reverse DNS card's section: each address, its name, and whether the name leads back."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtWidgets import (
    QWidget,
)

from inboxready.core.checks.rdns import RdnsDetail
from inboxready.core.model import CheckResult

from ..widgets import (
    compact_table,
    label,
)

from .common import _box, _s, _yes_no


# -- reverse DNS -----------------------------------------------------------------------------------

SOURCE_WORDS = {"spf": "in your SPF record", "mx": "mail server (MX)", "message": "sent your test message"}


def rdns_section(card: Any, r: CheckResult) -> QWidget | None:
    d = cast(RdnsDetail, r.detail)  # the reverse DNS check's shape (tests/core/checks/test_detail_shapes.py)
    hosts = d["hosts"]
    if not hosts:
        return None
    box, lay = _box(card, "Sending addresses and their names")
    rows = [[_s(h["ip"]), (f"sent your {_s(h['via'])}" if h["source"] == "message" and h["via"]
                           else SOURCE_WORDS.get(h["source"], _s(h["source"]))),
             ", ".join(_s(p) for p in h["ptr"]) or "none",
             _yes_no(h["confirmed"], "yes", "NO"), _s(h["problem"])] for h in hosts]
    lay.addWidget(compact_table(["Address", "Where from", "Name (PTR)", "Points back", "Problem"], rows,
                                "Reverse DNS of the sending addresses", box))
    if d["capped"]:
        lay.addWidget(label("Only the first addresses were tested.", "Muted", parent=box))
    return box
