"""Light and dark themes following the system, and the icons.

The colours live in ``resources/themes.json`` and the style sheet in ``resources/style.qss``; widgets
never hard-code a colour. The scheme follows ``QStyleHints.colorScheme()`` (Qt 6.5+) and changes live
when the system switches.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from inboxready import resources

STATUS_ICONS = {"pass": "pass", "warn": "warn", "fail": "fail", "error": "error", "info": "info",
                "pending": "pending"}
SEVERITY_ICONS = {"error": "fail", "warning": "warn", "info": "info", "unknown": "error"}
SEVERITY_WORDS = {"error": "Problem", "warning": "Warning", "info": "Note", "unknown": "Couldn't check"}
REQUIREMENT_ICONS = {"met": "pass", "not-met": "fail", "unknown": "error", "pending": "pending",
                     "not-applicable": "info"}
REQUIREMENT_WORDS = {"met": "Met", "not-met": "Not met", "unknown": "Unknown", "pending": "Checking",
                     "not-applicable": "Doesn't apply"}


@lru_cache(maxsize=None)
def _palettes() -> dict[str, dict[str, str]]:
    data = json.loads(resources.read_text("themes.json"))
    return {k: dict(v) for k, v in data.items()}


_current = {"scheme": "light"}


def current_scheme() -> str:
    """The scheme last applied by a ``ThemeManager`` ("light" before any), for widgets that paint
    themselves."""
    return _current["scheme"]


def palette(scheme: str) -> dict[str, str]:
    return _palettes()["dark" if scheme == "dark" else "light"]


def stylesheet(scheme: str) -> str:
    tokens = palette(scheme)
    text = resources.read_text("style.qss")
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"\{\{(\w+)\}\}", lambda m: tokens.get(m.group(1), "#ff00ff"), text)


@lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
    """An SVG icon from resources (crisp at any device pixel ratio)."""
    return QIcon(str(resources.icon_path(name)))


def themed_icon(name: str, scheme: str) -> QIcon:
    return icon(f"{name}-{'dark' if scheme == 'dark' else 'light'}")


def status_icon(status: str) -> QIcon:
    return icon(STATUS_ICONS.get(status, "info"))


def system_scheme() -> str:
    """"dark" or "light" as the system says (light when it does not say)."""
    hints = QGuiApplication.styleHints()
    try:
        if hints.colorScheme() == Qt.ColorScheme.Dark:
            return "dark"
    except AttributeError:  # Qt < 6.5
        pass
    return "light"


class ThemeManager(QObject):
    """Applies the theme to the application and re-applies it when the system scheme changes."""

    def __init__(self, app: QApplication, forced: str | None = None, *, pinned: bool | None = None) -> None:
        super().__init__(app)
        self.app = app
        self.forced = forced
        # pinned: chosen for this run (--theme, a test, the screenshots): the main window does not replace it
        # with the theme saved in Settings (a change made in Settings still applies)
        self.pinned = forced is not None if pinned is None else pinned
        self.scheme = ""
        self.listeners: list[object] = []
        app.setStyle("Fusion")
        try:
            app.styleHints().colorSchemeChanged.connect(lambda *_: self.apply())
        except AttributeError:
            pass
        self.apply()

    def set_choice(self, choice: str) -> None:
        """Use the theme chosen in Settings: "system" (follow the computer), "light" or "dark"."""
        self.forced = choice if choice in ("light", "dark") else None
        self.apply()

    def apply(self, scheme: str | None = None) -> None:
        if scheme is not None:
            self.forced = scheme
        chosen = self.forced or system_scheme()
        if chosen == self.scheme:
            return
        self.scheme = chosen
        _current["scheme"] = chosen
        tokens = palette(chosen)
        pal = QPalette()
        pal.setColor(QPalette.ColorRole.Window, QColor(tokens["window"]))
        pal.setColor(QPalette.ColorRole.WindowText, QColor(tokens["text"]))
        pal.setColor(QPalette.ColorRole.Base, QColor(tokens["surface"]))
        pal.setColor(QPalette.ColorRole.AlternateBase, QColor(tokens["surface_alt"]))
        pal.setColor(QPalette.ColorRole.Text, QColor(tokens["text"]))
        pal.setColor(QPalette.ColorRole.Button, QColor(tokens["surface"]))
        pal.setColor(QPalette.ColorRole.ButtonText, QColor(tokens["text"]))
        pal.setColor(QPalette.ColorRole.Highlight, QColor(tokens["selection"]))
        pal.setColor(QPalette.ColorRole.HighlightedText, QColor(tokens["text"]))
        pal.setColor(QPalette.ColorRole.ToolTipBase, QColor(tokens["surface"]))
        pal.setColor(QPalette.ColorRole.ToolTipText, QColor(tokens["text"]))
        pal.setColor(QPalette.ColorRole.PlaceholderText, QColor(tokens["text_muted"]))
        pal.setColor(QPalette.ColorRole.Link, QColor(tokens["accent"]))
        self.app.setPalette(pal)
        self.app.setStyleSheet(stylesheet(chosen))
        for listener in list(self.listeners):
            if isinstance(listener, QObject) and not shiboken6.isValid(listener):
                self.listeners.remove(listener)  # a window freed without saying so: forget it
                continue
            fn = getattr(listener, "on_theme_changed", None)
            if callable(fn):
                fn(chosen)


def repolish(widget: object) -> None:
    """Re-apply the style sheet after a dynamic property (``status``, ``state``) changed (nothing to do
    for a widget not styled yet: it will be, with the new value, when it is first shown)."""
    if not widget.testAttribute(Qt.WidgetAttribute.WA_WState_Polished):  # type: ignore[attr-defined]
        return
    style = widget.style()  # type: ignore[attr-defined]
    style.unpolish(widget)
    style.polish(widget)


__all__ = ["ThemeManager", "current_scheme", "icon", "palette", "repolish", "status_icon", "stylesheet", "system_scheme",
           "themed_icon"]
