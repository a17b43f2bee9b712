"""The MX card's section: the mail servers, their addresses and problems."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtWidgets import (
    QWidget,
)

from inboxready.core.checks.mx import MxDetail
from inboxready.core.model import CheckResult

from ..widgets import (
    compact_table,
)

from .common import _label, _section, _text


def mx_section(card: Any, r: CheckResult) -> QWidget | None:
    d = cast(MxDetail, r.detail)  # the MX check's shape (tests/core/checks/test_detail_shapes.py)
    notes = []
    if d["null_mx"]:
        notes.append("This domain says it receives no mail (null MX, RFC 7505).")
    if d["implicit"]:
        notes.append("There is no MX record, so senders fall back to the domain's own address.")
    if d["parked"]:
        notes.append("This domain looks parked: it neither sends nor receives mail.")
    hosts = d["hosts"]
    if not notes and not hosts:
        return None
    box, lay = _section(card, "Mail servers")
    for n in notes:
        lay.addWidget(_label(box, n, ""))
    if hosts:
        rows = []
        for h in hosts:
            problem = _text(h["error"])
            if h["cname"]:
                problem = "; ".join(p for p in (problem, f"is an alias (CNAME) of {_text(h['cname'])}") if p)
            rows.append([_text(h["preference"]), _text(h["host"]), _text(h["addresses"]), problem])
        lay.addWidget(compact_table(["Priority", "Mail server", "Addresses", "Problem"], rows, "Mail servers", box))
    return box
