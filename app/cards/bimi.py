"""The BIMI card's section: the logo and its certificate."""

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


# -- BIMI ------------------------------------------------------------------------------------------


def bimi_section(card: Any, r: CheckResult) -> QWidget | None:
    d = r.detail
    if not d.get("record"):
        return None
    box, lay = _box(card, "Logo and certificate")
    rows = [["Logo (SVG)", _s(d.get("logo_url")) or "none"],
            ["Certificate (VMC/CMC)", _s(d.get("authority_url")) or "none"],
            ["DMARC at enforcement", _yes_no(d.get("dmarc_enforced"))]]
    svg = _d(d.get("svg"))
    if svg:
        problems = [_s(p) for p in _l(svg.get("problems"))]
        rows.append(["Logo file", f"{_s(svg.get('size'))} bytes; "
                     + ("meets the SVG Tiny PS rules" if svg.get("profile_ok") and not problems
                        else "; ".join(problems) or "not SVG Tiny PS")])
    cert = _d(d.get("certificate"))
    if cert:
        rows.append(["Certificate valid", f"{_s(cert.get('not_before'))[:10]} to {_s(cert.get('not_after'))[:10]}"])
        rows.append(["Certificate names", ", ".join(_s(n) for n in _l(cert.get("names"))) or "none"])
    lay.addWidget(compact_table(["", ""], rows, "BIMI logo and certificate", box))
    return box
