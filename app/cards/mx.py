"""The MX card's section: the mail servers, their addresses and problems."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QWidget,
)

from inboxready.core.model import CheckResult

from ..widgets import (
    compact_table,
)

from .common import _as_list, _label, _section, _text


def mx_section(card: Any, r: CheckResult) -> QWidget | None:
    d = r.detail
    notes = []
    if d.get("null_mx"):
        notes.append("This domain says it receives no mail (null MX, RFC 7505).")
    if d.get("implicit"):
        notes.append("There is no MX record, so senders fall back to the domain's own address.")
    if d.get("parked"):
        notes.append("This domain looks parked: it neither sends nor receives mail.")
    hosts = [h for h in _as_list(d.get("hosts")) if isinstance(h, dict)]
    if not notes and not hosts:
        return None
    box, lay = _section(card, "Mail servers")
    for n in notes:
        lay.addWidget(_label(box, n, ""))
    if hosts:
        rows = []
        for h in hosts:
            problem = _text(h.get("error"))
            if h.get("cname"):
                problem = "; ".join(p for p in (problem, f"is an alias (CNAME) of {_text(h.get('cname'))}") if p)
            rows.append([_text(h.get("preference")), _text(h.get("host")), _text(h.get("addresses")), problem])
        lay.addWidget(compact_table(["Priority", "Mail server", "Addresses", "Problem"], rows, "Mail servers", box))
    return box
