"""The compliance profile card: each rule of the profile with its verdict."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QWidget,
)

from inboxready.core.model import CheckResult

from ..widgets import (
    label,
)

from .common import CHUNK, _box, _d, _l, _rule_grid, _s


COMPLIANCE_MARKS = {"met": "✓ Met", "not-met": "✗ Not met", "unknown": "? Couldn't check",
                    "not-checked": "… Not checked yet"}


def _compliance_rules(r: CheckResult) -> list[dict[str, Any]]:
    return [_d(x) for x in _l(r.detail.get("rules"))]


def compliance_head(card: Any, r: CheckResult) -> QWidget | None:
    if not _compliance_rules(r):
        return None
    box, _lay = _box(card, _s(r.detail.get("title")) or "Compliance profile")
    return box


def _compliance_chunk(n: int) -> Any:
    def section(card: Any, r: CheckResult) -> QWidget | None:
        rules = _compliance_rules(r)[n * CHUNK:(n + 1) * CHUNK]
        if not rules:
            return None
        rows = []
        for rule in rules:
            state = _s(rule.get("state"))
            level = "required" if rule.get("level") == "required" else "recommended"
            control = _s(rule.get("control"))
            rows.append((state, COMPLIANCE_MARKS.get(state, state), f"{_s(rule.get('label'))} ({level})", "",
                         (f"{control}. " if control else "") + _s(rule.get("why")), _s(rule.get("reason"))))
        return _rule_grid(card, rows)

    return section


def compliance_tail(card: Any, r: CheckResult) -> QWidget | None:
    if not _compliance_rules(r):
        return None
    box, lay = _box(card, "")
    if r.detail.get("statement"):
        lay.addWidget(label(_s(r.detail.get("statement")), "Muted", parent=box))
    lay.addWidget(label("Choose the profile in Settings; exported audit reports use the same one.", "Muted",
                        parent=box))
    return box
