"""The TLS reporting card's section: where TLS reports go."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtWidgets import (
    QWidget,
)

from inboxready.core.checks.tls_rpt import TlsRptDetail
from inboxready.core.model import CheckResult

from ..widgets import (
    label,
)

from .common import _box, _s


# -- TLS reporting ---------------------------------------------------------------------------------


def tls_rpt_section(card: Any, r: CheckResult) -> QWidget | None:
    rua = [_s(u) for u in cast(TlsRptDetail, r.detail)["rua"]]
    if not rua:
        return None
    box, lay = _box(card, "Where TLS reports go")
    for u in rua:
        lay.addWidget(label(u, "", selectable=True, parent=box))
    return box
