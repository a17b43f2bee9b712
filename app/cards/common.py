"""What the card sections share: showing outside text on one line, and making a section's box in a card's
body. The sections read each check's typed ``detail`` (the TypedDict in the check's module) directly."""

from __future__ import annotations

import weakref
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGridLayout, QLabel, QVBoxLayout, QWidget,
)


from ..widgets import (
    label, shown,
)


STATUS_WORDS = {"pass": "Pass", "warn": "Warning", "fail": "Fail", "error": "Couldn't check", "info": "Info"}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return shown(str(value)).replace("\n", "\\n")  # outside text: shown escaped, on one line


def _label(parent: QWidget, *args: Any, **kwargs: Any) -> QLabel:
    return label(*args, parent=parent, **kwargs)


def _section(card: Any, title: str) -> tuple[QWidget, QVBoxLayout]:
    """A section of ``card``'s body, made in the body (see ``label``)."""
    box = QWidget(card.body)
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(6)
    if title:
        lay.addWidget(_label(box, title, "SectionTitle"))
    return box, lay


_LATER: "weakref.WeakKeyDictionary[QWidget, list[Callable[[], None]]]" = weakref.WeakKeyDictionary()


def later(box: QWidget, step: Callable[[], None]) -> None:
    """Add more to the section ``box`` on a later turn of the event loop: a card's body is built a step a
    turn (``CheckCard._body_steps`` runs them in order, after the box is shown)."""
    _LATER.setdefault(box, []).append(step)


def later_steps(box: QWidget) -> list[Callable[[], None]]:
    """The steps ``later`` left for ``box`` (taken: each runs once)."""
    return _LATER.pop(box, [])


def _s(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _box(card: Any, title: str) -> tuple[QWidget, QVBoxLayout]:
    box = QWidget(card.body)
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(6)
    if title:
        lay.addWidget(label(title, "SectionTitle", parent=box))
    return box, lay


def _yes_no(value: Any, yes: str = "yes", no: str = "no", unknown: str = "couldn't check") -> str:
    return yes if value is True else no if value is False else unknown


STATE_COLUMN = 200  # px, wide enough for "… Needs a test message"
CHUNK = 4  # rules per body step: the card adds its body one widget per event-loop turn (UI stays responsive)


def _rule_grid(card: Any, rows: list[tuple[str, str, str, str, str, str]]) -> QWidget:
    """Rules one under the other: (state, state words, rule, its accessible name, the muted line, tooltip)."""
    box = QWidget(card.body)
    grid = QGridLayout(box)
    grid.setContentsMargins(0, 0, 0, 0)
    grid.setHorizontalSpacing(12)
    grid.setVerticalSpacing(2)
    grid.setColumnStretch(1, 1)
    for n, (state, words, rule, accessible, line, tip) in enumerate(rows):
        mark = label(words, "ChecklistState", wrap=False, parent=box)
        mark.setFixedWidth(STATE_COLUMN)  # the same in every chunk (each chunk is a grid of its own)
        mark.setProperty("state", state)
        title = label(rule, "ChecklistRule", selectable=True, parent=box)
        if accessible:
            title.setAccessibleName(accessible)
        meta = label(line, "Muted", selectable=True, parent=box)
        for w in (title, meta):
            w.setToolTip(tip)
        grid.addWidget(mark, 3 * n, 0, 2, 1, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(title, 3 * n, 1)
        grid.addWidget(meta, 3 * n + 1, 1)
        grid.setRowMinimumHeight(3 * n + 2, 8)
    return box
