"""The MTA-STS card's section: the mail servers against the policy, and the policy file to host."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QHBoxLayout, QWidget,
)

from inboxready.core.model import CheckResult

from ..widgets import (
    CodeText, CopyButton, compact_table,
    label,
)

from .common import _box, _d, _l, _s, _yes_no


# -- MTA-STS ---------------------------------------------------------------------------------------


def mta_sts_section(card: Any, r: CheckResult) -> QWidget | None:
    d = r.detail
    hosts = [_d(h) for h in _l(d.get("mx_hosts"))]
    fix = _d(d.get("policy_fix"))
    if not hosts and not fix:
        return None
    box, lay = _box(card, "Your mail servers and the policy")
    policy = _d(d.get("policy"))
    if policy:
        lay.addWidget(label(f"Mode: {_s(policy.get('mode')) or '?'}; senders remember it for "
                            f"{_s(policy.get('max_age')) or '?'} seconds.", "", parent=box))
    if hosts:
        rows = [[_s(h.get("host")), _yes_no(h.get("matched"), "covered", "NOT covered"), _s(h.get("pattern"))]
                for h in hosts]
        lay.addWidget(compact_table(["Mail server", "In the policy", "Matching line"], rows,
                                    "Mail servers against the MTA-STS policy", box))
    if fix and fix.get("text"):
        url = _s(fix.get("url"))
        lay.addWidget(label(f"Put this file on your web server at {url} (served as "
                            f"{_s(fix.get('content_type')) or 'text/plain'}, over HTTPS with a valid "
                            "certificate). Publish the _mta-sts record only after the file is reachable.",
                            "", selectable=True, parent=box))
        text = _s(fix.get("text"))
        lay.addWidget(CodeText(text, "MTA-STS policy file to host", box))
        row = QHBoxLayout()
        copy = CopyButton(text, "the MTA-STS policy file", parent=box)
        copy.copied.connect(card.copied)
        row.addWidget(label("Copy the policy file", "Muted", parent=box))
        row.addWidget(copy)
        row.addStretch(1)
        lay.addLayout(row)
    return box
