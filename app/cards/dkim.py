"""The DKIM card's sections: the keys found, and the selectors asked."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtWidgets import (
    QHBoxLayout, QLineEdit,
    QWidget,
)

from inboxready.core.checks.dkim import DkimDetail
from inboxready.core.model import CheckResult

from ..widgets import (
    KeyButton, compact_table,
    label, monospace_font,
)

from .common import STATUS_WORDS, _label, _section, _text


def dkim_section(card: Any, r: CheckResult) -> QWidget | None:
    if not r.detail:  # stopped before it could look (the card shows why)
        return None
    d = cast(DkimDetail, r.detail)  # the DKIM check's shape (tests/core/checks/test_detail_shapes.py)
    box, lay = _section(card, "Signing keys found")
    found = d["found"]
    if found:
        rows = []
        for k in found:
            kind = _text(k["key_type"]).upper() or "?"
            bits = k["key_bits"]
            size = f"{bits}-bit" if bits else ""
            notes = []
            if k["revoked"]:
                notes.append("revoked (empty key)")
            if k["testing"]:
                notes.append("test mode (t=y)")
            if k["provider"]:
                notes.append(_text(k["provider"]))
            if k["cname"]:
                notes.append(f"via CNAME {_text(k['cname'])}")
            rows.append([_text(k["selector"]), f"{kind} {size}".strip(),
                         STATUS_WORDS.get(k["status"], _text(k["status"])), "; ".join(notes)])
        lay.addWidget(compact_table(["Selector", "Key", "Verdict", "Notes"], rows, "DKIM keys found", box))
    else:
        lay.addWidget(_label(box, "No DKIM key was found under the selectors we tried.", ""))
    n = d["selectors_tried"]
    if n:
        lay.addWidget(_label(box, f"We looked under {n} common selector names.", "Muted"))
    unchecked = d["unchecked"]
    if unchecked:
        lay.addWidget(_label(box, "Could not be looked up: " + ", ".join(_text(u) for u in unchecked), "Muted"))
    return box


def dkim_selectors_section(card: Any, r: CheckResult) -> QWidget | None:
    """Adding a selector to check, and removing the ones the user added."""
    box, lay = _section(card, "")
    lay.addWidget(_label(box, "Your mail service names the selector in its DKIM set-up page (for example "
                        "“google” or “selector1”). Add it to check that key:", ""))
    row = QHBoxLayout()
    field = QLineEdit(box)
    field.setPlaceholderText("selector, e.g. mail2024")
    field.setAccessibleName("DKIM selector to add")
    field.setMaxLength(200)
    button = KeyButton("Add and check again", box)
    button.setAccessibleName("Add this DKIM selector and check again")

    def request() -> None:
        text = field.text().strip()
        if text:
            card.selectorRequested.emit(text)

    button.clicked.connect(request)
    field.returnPressed.connect(request)
    row.addWidget(field, 1)
    row.addWidget(button)
    lay.addLayout(row)
    card.selector_field = field  # type: ignore[attr-defined]
    card.selector_button = button  # type: ignore[attr-defined]
    card.remove_buttons = {}  # type: ignore[attr-defined]
    if card.saved_selectors:
        lay.addWidget(_label(box, "Selectors you added for this domain (checked every time):", ""))
        for sel in card.saved_selectors:
            line = QHBoxLayout()
            line.setSpacing(8)
            name = label(sel, "", wrap=False, selectable=True, parent=box)
            name.setFont(monospace_font())
            line.addWidget(name)
            remove = KeyButton("Remove", box)
            remove.setAccessibleName(f"Remove the DKIM selector {sel}")
            remove.setToolTip(f"Stop checking the selector {sel} for this domain, and check again")
            remove.clicked.connect(lambda _=False, s=sel: card.selectorRemoveRequested.emit(s))
            line.addWidget(remove)
            line.addStretch(1)
            lay.addLayout(line)
            card.remove_buttons[sel] = remove  # type: ignore[attr-defined]
    return box
