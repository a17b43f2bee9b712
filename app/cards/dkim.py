"""The DKIM card's sections: the keys found, and the selectors asked."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QHBoxLayout, QLineEdit,
    QWidget,
)

from inboxready.core.model import CheckResult

from ..widgets import (
    KeyButton, compact_table,
    label, monospace_font,
)

from .common import STATUS_WORDS, _as_list, _label, _section, _text


def dkim_section(card: Any, r: CheckResult) -> QWidget | None:
    d = r.detail
    box, lay = _section(card, "Signing keys found")
    found = [k for k in _as_list(d.get("found")) if isinstance(k, dict)]
    if found:
        rows = []
        for k in found:
            kind = _text(k.get("key_type")).upper() or "?"
            bits = k.get("key_bits")
            size = f"{bits}-bit" if isinstance(bits, int) and bits else ""
            notes = []
            if k.get("revoked"):
                notes.append("revoked (empty key)")
            if k.get("testing"):
                notes.append("test mode (t=y)")
            if k.get("provider"):
                notes.append(_text(k.get("provider")))
            if k.get("cname"):
                notes.append(f"via CNAME {_text(k.get('cname'))}")
            rows.append([_text(k.get("selector")), f"{kind} {size}".strip(),
                         STATUS_WORDS.get(_text(k.get("status")), _text(k.get("status"))), "; ".join(notes)])
        lay.addWidget(compact_table(["Selector", "Key", "Verdict", "Notes"], rows, "DKIM keys found", box))
    else:
        lay.addWidget(_label(box, "No DKIM key was found under the selectors we tried.", ""))
    tried = d.get("selectors_tried")
    if isinstance(tried, list):
        n = len(tried)
    elif isinstance(tried, int):
        n = tried
    else:
        n = 0
    if n:
        lay.addWidget(_label(box, f"We looked under {n} common selector names.", "Muted"))
    unchecked = _as_list(d.get("unchecked"))
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
