"""The BIMI card's section: the logo and its certificate."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtWidgets import (
    QWidget,
)

from inboxready.core.checks.bimi import BimiDetail
from inboxready.core.model import CheckResult

from ..widgets import (
    compact_table,
)

from .common import _box, _s, _yes_no


# -- BIMI ------------------------------------------------------------------------------------------


def bimi_section(card: Any, r: CheckResult) -> QWidget | None:
    if not r.detail:  # stopped before it could look (the card shows why)
        return None
    d = cast(BimiDetail, r.detail)  # the BIMI check's shape (tests/core/checks/test_detail_shapes.py)
    if not d["record"]:
        return None
    box, lay = _box(card, "Logo and certificate")
    rows = [["Logo (SVG)", _s(d["logo_url"]) or "none"],
            ["Certificate (VMC/CMC)", _s(d["authority_url"]) or "none"],
            ["DMARC at enforcement", _yes_no(d["dmarc_enforced"])]]
    svg = d["svg"]
    if svg:
        problems = svg["problems"]
        rows.append(["Logo file", f"{svg['size']} bytes; "
                     + ("meets the SVG Tiny PS rules" if svg["profile_ok"] and not problems
                        else "; ".join(problems) or "not SVG Tiny PS")])
    cert = d["certificate"]
    if cert:
        rows.append(["Certificate valid", f"{cert['not_before'][:10]} to {cert['not_after'][:10]}"])
        rows.append(["Certificate names", ", ".join(cert["names"]) or "none"])
    lay.addWidget(compact_table(["", ""], rows, "BIMI logo and certificate", box))
    return box
