"""The STARTTLS card's section: each mail server's TLS."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QWidget,
)

from inboxready.core.model import CheckResult

from ..widgets import (
    compact_table,
)

from .common import _box, _d, _l, _s, _yes_no


# -- STARTTLS --------------------------------------------------------------------------------------


def starttls_section(card: Any, r: CheckResult) -> QWidget | None:
    hosts = [_d(h) for h in _l(r.detail.get("hosts"))]
    if not hosts:
        return None
    box, lay = _box(card, "Encryption on each mail server")
    rows = []
    for h in hosts:
        tls = " ".join(x for x in (_s(h.get("tls_version")), _s(h.get("cipher"))) if x)
        rows.append([_s(h.get("host")), _yes_no(h.get("starttls"), "offered", "NOT offered"), tls or "-",
                     _yes_no(h.get("cert_valid"), "valid", "NOT valid"), _s(h.get("cert_not_after"))[:10],
                     _s(h.get("error"))])
    lay.addWidget(compact_table(["Mail server", "STARTTLS", "TLS", "Certificate", "Expires", "Problem"], rows,
                                "STARTTLS on each mail server", box))
    return box
