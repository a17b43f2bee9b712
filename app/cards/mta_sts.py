"""The MTA-STS card's section: the mail servers against the policy, and the policy file to host."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtWidgets import (
    QHBoxLayout, QWidget,
)

from inboxready.core.checks.mta_sts import MtaStsDetail
from inboxready.core.model import CheckResult

from ..widgets import (
    CodeText, CopyButton, compact_table,
    label,
)

from .common import _box, _s, _yes_no


# -- MTA-STS ---------------------------------------------------------------------------------------


def mta_sts_section(card: Any, r: CheckResult) -> QWidget | None:
    if not r.detail:  # stopped before it could look (the card shows why)
        return None
    d = cast(MtaStsDetail, r.detail)  # the MTA-STS check's shape (tests/core/checks/test_detail_shapes.py)
    hosts = d["mx_hosts"]
    fix = d["policy_fix"]
    if not hosts and not fix:
        return None
    box, lay = _box(card, "Your mail servers and the policy")
    policy = d["policy"]
    if policy:
        lay.addWidget(label(f"Mode: {_s(policy['mode']) or '?'}; senders remember it for "
                            f"{_s(policy['max_age']) or '?'} seconds.", "", parent=box))
    if hosts:
        rows = [[h["host"], _yes_no(h["matched"], "covered", "NOT covered"), _s(h["pattern"])] for h in hosts]
        lay.addWidget(compact_table(["Mail server", "In the policy", "Matching line"], rows,
                                    "Mail servers against the MTA-STS policy", box))
    if fix and fix["text"]:
        url = fix["url"]
        lay.addWidget(label(f"Put this file on your web server at {url} (served as "
                            f"{fix['content_type'] or 'text/plain'}, over HTTPS with a valid "
                            "certificate). Publish the _mta-sts record only after the file is reachable.",
                            "", selectable=True, parent=box))
        text = fix["text"]
        lay.addWidget(CodeText(text, "MTA-STS policy file to host", box))
        row = QHBoxLayout()
        copy = CopyButton(text, "the MTA-STS policy file", parent=box)
        copy.copied.connect(card.copied)
        row.addWidget(label("Copy the policy file", "Muted", parent=box))
        row.addWidget(copy)
        row.addStretch(1)
        lay.addLayout(row)
        record = fix["record"]
        lay.addWidget(label(f"Then, once the file is reachable, publish this TXT record at {fix['record_host']} "
                            "(in place of the one there): a new id tells sending servers to fetch the new file.",
                            "", selectable=True, parent=box))
        lay.addWidget(CodeText(record, "MTA-STS record to publish", box))
        row = QHBoxLayout()
        copy = CopyButton(record, "the MTA-STS record", parent=box)
        copy.copied.connect(card.copied)
        row.addWidget(label("Copy the record", "Muted", parent=box))
        row.addWidget(copy)
        row.addStretch(1)
        lay.addLayout(row)
    return box
