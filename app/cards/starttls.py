"""The STARTTLS card's section: each mail server's TLS."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtWidgets import (
    QWidget,
)

from inboxready.core.checks.starttls import StarttlsDetail
from inboxready.core.model import CheckResult

from ..widgets import (
    compact_table,
)

from .common import _box, _s, _yes_no


# -- STARTTLS --------------------------------------------------------------------------------------


def starttls_section(card: Any, r: CheckResult) -> QWidget | None:
    if not r.detail:  # stopped before it could look (the card shows why)
        return None
    d = cast(StarttlsDetail, r.detail)  # the STARTTLS check's shape (tests/core/checks/test_detail_shapes.py)
    hosts = d["hosts"]
    if not hosts:
        return None
    box, lay = _box(card, "Encryption on each mail server")
    rows = []
    for h in hosts:
        tls = " ".join(x for x in (_s(h["tls_version"]), _s(h["cipher"])) if x)
        rows.append([h["host"], _yes_no(h["starttls"], "offered", "NOT offered"), tls or "-",
                     _yes_no(h["cert_valid"], "valid", "NOT valid"), _s(h["cert_not_after"])[:10],
                     _s(h["error"])])
    lay.addWidget(compact_table(["Mail server", "STARTTLS", "TLS", "Certificate", "Expires", "Problem"], rows,
                                "STARTTLS on each mail server", box))
    return box
