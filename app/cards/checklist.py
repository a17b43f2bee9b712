"""The bulk-sender checklist card: each rule with its state, a few rules per body step."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtWidgets import (
    QDoubleSpinBox, QHBoxLayout, QWidget,
)

from inboxready.core.model import CheckResult
from inboxready.core.policy.checklist import ChecklistDetail, ChecklistItem

from ..widgets import (
    KeyButton, label,
)

from .common import CHUNK, _box, _rule_grid


# -- the bulk-sender checklist ----------------------------------------------------------------------

STATE_MARKS = {"met": "✓ Met", "not-met": "✗ Not met", "needs-test-message": "… Needs a test message",
               "cant-see": "? Can't be seen from here", "unknown": "? Couldn't check", "pending": "… Checking"}




def _checklist_items(r: CheckResult) -> list[ChecklistItem]:
    if not r.detail:
        return []
    return cast(ChecklistDetail, r.detail)["items"]  # the checklist's shape (tests/core/checks/test_detail_shapes.py)


def _checklist_rows(card: Any, items: list[ChecklistItem]) -> QWidget:
    rows = []
    for i in items:
        state = i["state"]
        words = STATE_MARKS.get(state, state)
        who = ", ".join(w.capitalize() for w in i["who"]) or "InboxReady's advice"
        applies = "all senders" if i["applies"] == "all" else "bulk senders"
        tip = "\n".join(x for x in (i["explain"], "Source: " + i["source"] if i["source"] else "",
                                     f"Checked: {i['checked']}" if i["checked"] else "") if x)
        since = i["since_text"] or i["since"]  # "2024-02-01 (Microsoft: 2025-05-05)"
        rows.append((state, words, i["label"], f"{i['label']}: {words.lstrip('✓✗…? ')}",
                     f"{who}, {applies}, since {since}. {i['why']}", tip))
    return _rule_grid(card, rows)


def checklist_head(card: Any, r: CheckResult) -> QWidget | None:
    if not _checklist_items(r):
        return None
    box, _lay = _box(card, "Google, Yahoo and Microsoft sender rules")
    return box


def _checklist_chunk(n: int) -> Any:
    def section(card: Any, r: CheckResult) -> QWidget | None:
        items = _checklist_items(r)[n * CHUNK:(n + 1) * CHUNK]
        return _checklist_rows(card, items) if items else None

    return section


def checklist_tail(card: Any, r: CheckResult) -> QWidget | None:
    if not _checklist_items(r):
        return None
    box, lay = _box(card, "")
    lay.addWidget(label("Rules that need a test message are judged once you test one (Test a message, Ctrl+M). "
                        "Point at a rule to see why it matters and the provider's page it comes from.", "Muted",
                        parent=box))
    row = QHBoxLayout()
    row.addWidget(label("Your spam rate from Google Postmaster Tools:", "", parent=box))
    spin = QDoubleSpinBox(box)
    spin.setRange(-0.01, 100.0)
    spin.setDecimals(2)
    spin.setSingleStep(0.05)
    spin.setSuffix(" %")
    spin.setSpecialValueText("not entered")
    rate = cast(ChecklistDetail, r.detail)["spam_rate"]
    spin.setValue(float(rate) if rate is not None else -0.01)
    spin.setAccessibleName("Your spam rate in percent, from Google Postmaster Tools")
    spin.setToolTip("Google and Yahoo ask bulk senders to stay under 0.3 % (and never reach 0.3 %); it can't be "
                    "seen from outside, so type it in from Postmaster Tools")
    apply = KeyButton("Apply", box)
    apply.setAccessibleName("Use this spam rate in the checklist")
    apply.clicked.connect(lambda: card.spamRateEntered.emit(None if spin.value() < 0 else round(spin.value(), 2)))
    row.addWidget(spin)
    row.addWidget(apply)
    row.addStretch(1)
    lay.addLayout(row)
    card.spam_rate_field = spin
    card.spam_rate_button = apply
    return box
