"""The compliance profile card: each rule of the profile with its verdict."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtWidgets import (
    QWidget,
)

from inboxready.core.model import CheckResult
from inboxready.core.policy.compliance import ComplianceDetail, ComplianceRuleDetail

from ..widgets import (
    label,
)

from .common import CHUNK, _box, _rule_grid


COMPLIANCE_MARKS = {"met": "✓ Met", "not-met": "✗ Not met", "unknown": "? Couldn't check",
                    "not-checked": "… Not checked yet"}


def _detail(r: CheckResult) -> ComplianceDetail:
    return cast(ComplianceDetail, r.detail)  # the compliance card's shape (tests/core/checks/test_detail_shapes.py)


def _compliance_rules(r: CheckResult) -> list[ComplianceRuleDetail]:
    return _detail(r)["rules"] if r.detail else []


def compliance_head(card: Any, r: CheckResult) -> QWidget | None:
    if not _compliance_rules(r):
        return None
    box, _lay = _box(card, _detail(r)["title"] or "Compliance profile")
    return box


def _compliance_chunk(n: int) -> Any:
    def section(card: Any, r: CheckResult) -> QWidget | None:
        rules = _compliance_rules(r)[n * CHUNK:(n + 1) * CHUNK]
        if not rules:
            return None
        rows = []
        for rule in rules:
            state = rule["state"]
            level = "required" if rule["level"] == "required" else "recommended"
            control = rule["control"]
            rows.append((state, COMPLIANCE_MARKS.get(state, state), f"{rule['label']} ({level})", "",
                         (f"{control}. " if control else "") + rule["why"], rule["reason"]))
        return _rule_grid(card, rows)

    return section


def compliance_tail(card: Any, r: CheckResult) -> QWidget | None:
    if not _compliance_rules(r):
        return None
    box, lay = _box(card, "")
    statement = _detail(r)["statement"]
    if statement:
        lay.addWidget(label(statement, "Muted", parent=box))
    lay.addWidget(label("Choose the profile in Settings; exported audit reports use the same one.", "Muted",
                        parent=box))
    return box
