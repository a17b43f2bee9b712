"""The summary line across the top: the Google / Yahoo / Microsoft bulk-sender rules a domain check can
see. The judgement is the core's (``inboxready.core.bulk``); when that module is absent the bar hides."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from inboxready.core.model import CheckResult

from . import theme
from .widgets import FlowLayout, label

try:  # guarded: the bulk-sender module may not exist yet in every build
    from inboxready.core.bulk import bulk_sender_readiness as _readiness
except Exception:  # pragma: no cover - exercised only when the module is missing
    _readiness = None  # type: ignore[assignment]

try:
    from inboxready.core.bulk import readiness_headline as _headline
except Exception:  # pragma: no cover
    _headline = None  # type: ignore[assignment]

readiness_fn: Callable[[Mapping[str, CheckResult]], list[Any]] | None = _readiness


class RequirementChip(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Badge")
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 3, 10, 3)
        lay.setSpacing(5)
        self.icon_label = QLabel()
        self.icon_label.setFixedSize(16, 16)
        self.text_label = QLabel()
        self.text_label.setObjectName("BadgeText")
        self.text_label.setTextFormat(Qt.TextFormat.PlainText)
        lay.addWidget(self.icon_label)
        lay.addWidget(self.text_label)
        self.state = ""

    def set_requirement(self, req: Any) -> None:
        state = str(getattr(req, "state", "unknown"))
        self.state = state
        word = theme.REQUIREMENT_WORDS.get(state, state)
        text = f"{getattr(req, 'label', '')}: {word}"
        if not getattr(req, "required", True):
            text += " (recommended)"
        self.text_label.setText(text)
        self.icon_label.setPixmap(theme.icon(theme.REQUIREMENT_ICONS.get(state, "error"))
                                  .pixmap(QSize(16, 16), self.devicePixelRatioF()))
        status = {"met": "pass", "not-met": "fail", "unknown": "error", "pending": "pending"}.get(state, "error")
        self.setProperty("status", status)
        self.setToolTip(str(getattr(req, "detail", "")))
        self.setAccessibleName(text)
        self.setAccessibleDescription(str(getattr(req, "detail", "")))
        theme.repolish(self)
        theme.repolish(self.text_label)


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
        self.chips_row = FlowLayout(spacing=8)
        lay.addLayout(self.chips_row)
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
                self.headline.setText(_headline(reqs))
            except Exception:
                self.headline.setText("Bulk-sender rules (Google, Yahoo, Microsoft)")
        else:
            self.headline.setText("Bulk-sender rules (Google, Yahoo, Microsoft)")
        for req in reqs:
            key = str(getattr(req, "key", ""))
            chip = self.chips.get(key)
            if chip is None:
                chip = RequirementChip()
                self.chips[key] = chip
                self.chips_row.addWidget(chip)
            chip.set_requirement(req)
        for key in [k for k in self.chips if k not in {str(getattr(r, "key", "")) for r in reqs}]:
            self.chips.pop(key).deleteLater()
        self.setAccessibleName(self.headline.text())
        self.show()

    def clear(self) -> None:
        self.hide()


__all__ = ["ReadinessBar"]
