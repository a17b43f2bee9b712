"""The summary line across the top: the Google / Yahoo / Microsoft bulk-sender rules a domain check can
see. The judgement is the core's (``inboxready.core.policy.bulk``, which reads the rules, who asks and since when
from ``rules/bulk_sender_rules.json``); when that module is absent the bar hides."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QFrame, QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from inboxready.core.model import CheckResult

from . import theme
from .widgets import Badge, label

try:  # guarded: the bulk-sender module may not exist yet in every build
    from inboxready.core.policy.bulk import bulk_sender_readiness as _readiness
except Exception:  # pragma: no cover - exercised only when the module is missing
    _readiness = None  # type: ignore[assignment]

try:
    from inboxready.core.policy.bulk import readiness_headline as _headline
except Exception:  # pragma: no cover
    _headline = None  # type: ignore[assignment]

try:
    from inboxready.core.policy.checklist import WHO_NAMES
except Exception:  # pragma: no cover
    WHO_NAMES = {}

readiness_fn: Callable[[Mapping[str, CheckResult]], list[Any]] | None = _readiness


class RequirementChip(Badge):
    """One requirement: its icon and "label: Met / Not met / Unknown" (the detail is in the tooltip)."""

    @staticmethod
    def margins() -> tuple[int, int, int, int]:
        return (6, 3, 10, 3)

    def __init__(self, parent: QWidget | None = None) -> None:
        self.state = "pending"
        super().__init__(parent, "pending", "")
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def look(self) -> tuple[object, ...]:
        return (self.status, self.word, self.state)  # the icon follows the requirement's state

    def icon_for(self, status: str) -> QIcon:
        if self.state == "not-met" and status == "warn":  # a recommended step not taken yet
            return theme.icon("warn")
        return theme.icon(theme.REQUIREMENT_ICONS.get(self.state, "error"))

    def set_requirement(self, req: Any) -> None:
        state = str(getattr(req, "state", "unknown"))
        required = getattr(req, "required", True)
        word = theme.REQUIREMENT_WORDS.get(state, state)
        status = {"met": "pass", "not-met": "fail", "unknown": "error", "pending": "pending",
                  "not-applicable": "na"}.get(state, "error")
        if required:
            text = f"{getattr(req, 'label', '')}: {word}"
        else:  # "recommended" belongs to the rule, not to the state; not done yet is a warning, not a failure
            if state == "not-met":
                word, status = "Not yet", "warn"
            text = f"{getattr(req, 'label', '')} (recommended): {word}"
        detail = str(getattr(req, "detail", ""))
        who = [WHO_NAMES.get(str(w), str(w)) for w in getattr(req, "who", ()) or ()]
        since = str(getattr(req, "since", "") or "")
        if who:  # who asks and since when: from the same rules file as the checklist
            asked = who[0] if len(who) == 1 else ", ".join(who[:-1]) + " and " + who[-1]
            detail += f"\nAsked by {asked}" + (f" since {since}." if since else ".")
        elif since or getattr(req, "source", ""):
            detail += "\nOur advice, not a provider rule."
        if self.toolTip() != detail:
            self.setToolTip(detail)
            self.setAccessibleDescription(detail)
        if state != self.state or status != self.status:
            self.state = state
            self.status = ""  # the icon follows the state: redraw it even when the colour stays
        self.set_status(status, text)


class ReadinessBar(QFrame):
    """Headline plus one chip per requirement (icon and word; the detail is in the tooltip)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Readiness")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(14, 10, 14, 10)
        lay.setSpacing(6)
        self.headline = label("", "ReadinessHeadline")
        lay.addWidget(self.headline)
        # the chips in rows, as many in a row as fit the bar's width (re-flowed only when the bar is resized;
        # Qt lays out the rows themselves: no Python runs then)
        self.chips_rows = QVBoxLayout()
        self.chips_rows.setSpacing(6)
        lay.addLayout(self.chips_rows)
        self.flow: list[int] = []  # how many chips in each row
        self.chips: dict[str, RequirementChip] = {}
        self.requirements: list[Any] = []
        self.hide()

    @staticmethod
    def available() -> bool:
        return readiness_fn is not None

    def update_from(self, checks: Mapping[str, CheckResult]) -> None:
        if readiness_fn is None:
            self.hide()
            return
        try:
            reqs = list(readiness_fn(dict(checks)))
        except Exception:  # the bar is a summary: never let it break the window
            self.hide()
            return
        self.requirements = reqs
        if _headline is not None:
            try:
                self.headline.setText(_headline(reqs, checks))
            except Exception:
                self.headline.setText("Bulk-sender rules (Google, Yahoo, Microsoft)")
        else:
            self.headline.setText("Bulk-sender rules (Google, Yahoo, Microsoft)")
        keys = [str(getattr(r, "key", "")) for r in reqs]
        if keys != list(self.chips):  # (only the first time, in practice) make the chips
            for key in [k for k in self.chips if k not in keys]:
                self.chips.pop(key).deleteLater()
            self.chips = {k: self.chips.get(k) or RequirementChip(self) for k in keys}
            self.flow = []
        for key, req in zip(keys, reqs):
            self.chips[key].set_requirement(req)
        self._arrange()
        self.setAccessibleName(self.headline.text())
        self.show()

    def clear(self) -> None:
        self.hide()

    def _arrange(self) -> None:
        """As many chips in a row as fit the bar's width, in order: a chip is never cut off."""
        chips = list(self.chips.values())
        if not chips:
            return
        layout = self.layout()
        if layout is None:
            return
        margins = layout.contentsMargins()
        room = self.width() - margins.left() - margins.right()
        gap = 8
        flow: list[int] = []
        used = 0
        for chip in chips:
            w = chip.sizeHint().width()
            if flow and used + gap + w <= room:
                flow[-1] += 1
                used += gap + w
            else:
                flow.append(1)
                used = w
        if flow == self.flow:
            return
        self.flow = flow
        while self.chips_rows.count():
            item = self.chips_rows.takeAt(0)
            row = item.layout() if item is not None else None
            if row is not None:
                while row.count():
                    row.takeAt(0)
                row.deleteLater()
        placed = iter(chips)
        for n in flow:
            row = QHBoxLayout()
            row.setSpacing(gap)
            for _ in range(n):
                row.addWidget(next(placed))
            row.addStretch(1)
            self.chips_rows.addLayout(row)

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._arrange()


__all__ = ["ReadinessBar"]
