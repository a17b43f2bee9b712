"""The DMARC card's section: the policy, the stage towards enforcement, the walk up the tree."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QWidget,
)

from inboxready.core.checks.dmarc import DmarcDetail
from inboxready.core.model import CheckResult, Fix

from ..widgets import (
    FixView,
)

from .common import _label, _section, _text


STAGES = [
    ("none", "No DMARC"),
    ("monitoring", "Monitoring (p=none)"),
    ("quarantine", "Quarantine"),
    ("reject", "Reject"),
]


def dmarc_section(card: Any, r: CheckResult) -> QWidget | None:
    if not r.detail:  # stopped before it could look (the card shows why)
        return None
    d = cast(DmarcDetail, r.detail)  # the DMARC check's shape (tests/core/checks/test_detail_shapes.py)
    stage = d["stage"]
    box, lay = _section(card, "Rollout stage")
    row = QHBoxLayout()
    row.setSpacing(6)
    keys = [k for k, _ in STAGES]
    current = keys.index(stage) if stage in keys else -1  # "unknown" (a lookup failed): no step is marked
    for i, (_key, text) in enumerate(STAGES):
        w = QLabel(("● " + text + " (you are here)") if i == current else text, box)
        w.setObjectName("Stage")
        w.setProperty("current", i == current)
        w.setProperty("done", i < current)
        w.setTextFormat(Qt.TextFormat.PlainText)
        w.setWordWrap(True)
        w.setAlignment(Qt.AlignmentFlag.AlignCenter)
        row.addWidget(w)
        if i < len(STAGES) - 1:
            arrow = QLabel("→", box)
            arrow.setObjectName("Muted")
            arrow.setAlignment(Qt.AlignmentFlag.AlignCenter)
            row.addWidget(arrow)
    row.addStretch(1)
    lay.addLayout(row)
    facts = []
    if d["policy"]:
        facts.append(f"Policy: p={_text(d['policy'])}")
    if d["subdomain_policy"]:
        facts.append(f"subdomains: sp={_text(d['subdomain_policy'])}")
    if d["np"]:
        facts.append(f"names that don't exist: np={_text(d['np'])}")
    if d["testing"]:
        facts.append("test mode (t=y)")
    if d["found_at"]:
        facts.append(f"found at {_text(d['found_at'])}")
    if d["rua"]:
        facts.append(f"reports to {_text(d['rua'])}")
    if facts:
        lay.addWidget(_label(box, "; ".join(facts) + ".", "Muted", selectable=True))
    if stage == "unknown":
        lay.addWidget(_label(box, "We couldn't look up the DMARC record, so we don't know which stage you are at. "
                                  "Don't publish a new record until a check succeeds: it could replace a stricter "
                                  "one you already have.", ""))
    nxt = d["next_record"]
    shown = {(f.host, f.type.upper(), f.value) for f in r.fixes}
    if nxt is not None and (nxt["host"], nxt["type"].upper(), nxt["value"]) in shown:
        lay.addWidget(_label(box, "The record to publish for the next stage is shown below, under “What we found”.", ""))
    elif nxt is not None:
        fix = Fix(host=nxt["host"], type=nxt["type"], value=nxt["value"],
                  action="replace" if d["record"] else "publish")
        view = FixView(fix, "Next step: publish this record", box)
        view.copied.connect(card.copied)
        lay.addWidget(view)
    elif current == len(STAGES) - 1:
        lay.addWidget(_label(box, "You are at the last stage: spoofed mail is rejected.", ""))
    return box
