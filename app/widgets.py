"""Small building blocks: read-only code fields, Copy buttons, the status badge, a finding, a fix."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication, QKeyEvent, QTextOption
from PySide6.QtWidgets import (
    QAbstractItemView, QFrame, QGridLayout, QHBoxLayout, QHeaderView, QLabel, QLayout, QLayoutItem, QPushButton,
    QSizePolicy,
    QTableWidget, QTableWidgetItem, QTextEdit, QToolButton, QVBoxLayout, QWidget,
)

from inboxready.core.model import Finding, Fix

from . import theme
from .qtcompat import emit, null


def monospace_font():  # type: ignore[no-untyped-def]
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    return font


def label(text: str, name: str = "", *, wrap: bool = True, selectable: bool = False) -> QLabel:
    """A plain label (``name`` is its style object name). Rich text is never interpreted."""
    w = QLabel(text)
    w.setTextFormat(Qt.TextFormat.PlainText)
    if name:
        w.setObjectName(name)
    w.setWordWrap(wrap)
    if selectable:
        w.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return w


class CodeText(QTextEdit):
    """A read-only, selectable, monospace field that wraps anywhere and grows to fit its text, so a
    2048-bit DKIM key or a long SPF record stays readable without a horizontal scroll bar."""

    def __init__(self, text: str, accessible_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Code")
        self.setReadOnly(True)
        self.setAcceptRichText(False)
        self.setFont(monospace_font())
        self.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                     | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setTabChangesFocus(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName(accessible_name)
        self.setPlainText(text)
        self.document().setDocumentMargin(4)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._fit()

    def text(self) -> str:
        return self.toPlainText()

    def _fit(self, *_: object) -> None:
        doc_h = self.document().size().height()
        frame = self.frameWidth() * 2 + 4
        self.setFixedHeight(max(26, int(doc_h) + frame))

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().resizeEvent(event)
        self._fit()

    def sizeHint(self) -> QSize:
        return QSize(200, self.height())


class CopyButton(QToolButton):
    """Puts exactly ``text`` on the clipboard and says "Copied" for a moment."""

    copied = Signal(str)

    def __init__(self, text: str | Callable[[], str], what: str, caption: str = "Copy",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = text
        self._caption = caption
        self.setObjectName("Small")
        self.setText(caption)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setIcon(theme.themed_icon("copy", "light"))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName(f"{caption} {what}")
        self.setToolTip(f"Copy the {what} to the clipboard")
        self.clicked.connect(self._copy)
        self._reset = QTimer(self)
        self._reset.setSingleShot(True)
        self._reset.setInterval(1500)
        self._reset.timeout.connect(lambda: self.setText(self._caption))

    def value(self) -> str:
        return self._text() if callable(self._text) else self._text

    def _copy(self) -> None:
        text = self.value()
        QGuiApplication.clipboard().setText(text)
        self.setText("Copied")
        self._reset.start()
        emit(self.copied, text)

    def on_theme_changed(self, scheme: str) -> None:
        self.setIcon(theme.themed_icon("copy", scheme))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.click()
            return
        super().keyPressEvent(event)


class Badge(QFrame):
    """Status badge: an icon and a word (never colour alone)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Badge")
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 10, 2)
        lay.setSpacing(5)
        self.icon_label = QLabel()
        self.icon_label.setFixedSize(16, 16)
        self.text_label = QLabel()
        self.text_label.setObjectName("BadgeText")
        self.text_label.setTextFormat(Qt.TextFormat.PlainText)
        lay.addWidget(self.icon_label)
        lay.addWidget(self.text_label)
        self.status = ""
        self.word = ""
        self.set_status("pending", "Checking…")

    def text(self) -> str:
        return self.word

    def set_status(self, status: str, word: str) -> None:
        self.status = status
        self.word = word
        self.setProperty("status", status)
        self.text_label.setText(word)
        self.icon_label.setPixmap(theme.status_icon(status).pixmap(QSize(16, 16), self.devicePixelRatioF()))
        self.setAccessibleName(word)
        theme.repolish(self)
        theme.repolish(self.text_label)


ACTION_WORDS = {
    "publish": "Publish this record at your DNS host",
    "replace": "Replace the existing record with this one",
    "remove": "Remove this record from your DNS",
}


class FixView(QFrame):
    """Host, type and value as separate read-only fields, each with its own Copy button, and "Copy as
    zone file line". What is copied is exactly ``Fix.host``, ``Fix.type``, ``Fix.value`` and
    ``Fix.zone_line``."""

    copied = Signal(str)

    def __init__(self, fix: Fix, heading: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fix = fix
        self.setObjectName("Fix")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 10)
        lay.setSpacing(6)
        lay.addWidget(label(heading or ACTION_WORDS.get(fix.action, ACTION_WORDS["publish"]), "SectionTitle"))
        if fix.note:
            lay.addWidget(label(fix.note, "Muted"))
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(6)
        self.host_field = CodeText(fix.host, f"Host name for the {fix.type} record")
        self.type_field = CodeText(fix.type, f"Record type for {fix.host}")
        self.value_field = CodeText(fix.value, f"{fix.type} value for {fix.host}")
        self.copy_host = CopyButton(fix.host, f"host name {fix.host}")
        self.copy_type = CopyButton(fix.type, f"record type for {fix.host}")
        self.copy_value = CopyButton(fix.value, f"{fix.type} value for {fix.host}")
        rows = [("Host", self.host_field, self.copy_host), ("Type", self.type_field, self.copy_type),
                ("Value", self.value_field, self.copy_value)]
        for i, (name, field, button) in enumerate(rows):
            cap = label(name, "FieldLabel", wrap=False)
            cap.setBuddy(field)
            grid.addWidget(cap, i, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(field, i, 1)
            grid.addWidget(button, i, 2, Qt.AlignmentFlag.AlignTop)
        grid.setColumnStretch(1, 1)
        lay.addLayout(grid)
        row = QHBoxLayout()
        ttl = label(f"TTL {fix.ttl} seconds (any value your DNS host offers is fine)", "Muted")
        row.addWidget(ttl, 1)
        self.copy_zone = CopyButton(fix.zone_line, f"zone file line for {fix.host}", "Copy as zone file line")
        row.addWidget(self.copy_zone, 0, Qt.AlignmentFlag.AlignRight)
        lay.addLayout(row)
        for b in (self.copy_host, self.copy_type, self.copy_value, self.copy_zone):
            b.copied.connect(self.copied)

    def buttons(self) -> list[CopyButton]:
        return [self.copy_host, self.copy_type, self.copy_value, self.copy_zone]


class FindingView(QFrame):
    """One finding: severity (icon and word), the plain message, the technical why, the RFC, the fix."""

    copied = Signal(str)

    def __init__(self, finding: Finding, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.finding = finding
        self.setObjectName("Finding")
        sev = str(finding.severity)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 10)
        lay.setSpacing(4)
        top = QHBoxLayout()
        top.setSpacing(8)
        badge = Badge()
        badge.set_status(_severity_status(sev), theme.SEVERITY_WORDS.get(sev, sev.title()))
        top.addWidget(badge, 0, Qt.AlignmentFlag.AlignTop)
        msg = label(finding.message, "FindingMessage", selectable=True)
        top.addWidget(msg, 1)
        lay.addLayout(top)
        if finding.detail:
            lay.addWidget(label(finding.detail, "", selectable=True))
        refs = []
        if finding.rfc:
            refs.append(f"Reference: {finding.rfc}")
        refs.append(f"Code: {finding.code}")
        lay.addWidget(label("   ·   ".join(refs), "Rfc", selectable=True))
        self.fix_view: FixView | None = None
        if finding.fix is not None:
            self.fix_view = FixView(finding.fix)
            self.fix_view.copied.connect(self.copied)
            lay.addWidget(self.fix_view)


def _severity_status(sev: str) -> str:
    return {"error": "fail", "warning": "warn", "info": "info", "unknown": "error"}.get(sev, "info")


class KeyButton(QPushButton):
    """A push button that Enter activates too (Space already does)."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
            self.click()
            return
        super().keyPressEvent(event)


def compact_table(headers: list[str], rows: list[list[str]], accessible_name: str) -> QTableWidget:
    """A read-only table sized to its rows (no inner scrolling inside a card)."""
    t = QTableWidget(len(rows), len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().setVisible(False)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setWordWrap(True)
    t.setAccessibleName(accessible_name)
    t.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    t.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    t.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    t.setAlternatingRowColors(False)
    t.setShowGrid(False)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            t.setItem(r, c, item)
    hh = t.horizontalHeader()
    for c in range(len(headers)):
        hh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
    hh.setSectionResizeMode(len(headers) - 1, QHeaderView.ResizeMode.Stretch)
    t.resizeRowsToContents()
    fit_height(t)
    return t


def fit_height(view: QAbstractItemView) -> None:
    """Fix a table's or tree's height to show all its rows."""
    from PySide6.QtWidgets import QTableView, QTreeView

    h = view.frameWidth() * 2 + 2
    if isinstance(view, QTableView):
        h += view.horizontalHeader().sizeHint().height()
        model = view.model()
        for r in range(model.rowCount() if model is not None else 0):
            h += view.rowHeight(r)
    elif isinstance(view, QTreeView):
        h += view.header().sizeHint().height() if not view.isHeaderHidden() else 0
        rows = 0
        model = view.model()
        stack = [view.rootIndex()]
        while stack and model is not None:
            parent = stack.pop()
            for r in range(model.rowCount(parent)):
                rows += 1
                idx = model.index(r, 0, parent)
                if view.isExpanded(idx):
                    stack.append(idx)
        row_h = view.sizeHintForRow(0) if rows else 20
        h += rows * max(row_h, 20)
    view.setFixedHeight(max(h, 40))




class FlowLayout(QLayout):
    """Lays widgets out left to right and wraps to a new line when the width runs out."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 8) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # type: ignore[override]
        return self._items[index] if 0 <= index < len(self._items) else null()

    def takeAt(self, index: int) -> QLayoutItem | None:  # type: ignore[override]
        return self._items.pop(index) if 0 <= index < len(self._items) else null()

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._do_layout(QRect(0, 0, width, 0), test=True)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._do_layout(rect, test=False)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _do_layout(self, rect: QRect, *, test: bool) -> int:
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, line_h = area.x(), area.y(), 0
        for item in self._items:
            w = item.widget()
            if w is not None and w.isHidden():
                continue
            hint = item.sizeHint()
            if x + hint.width() > area.right() + 1 and line_h > 0:
                x = area.x()
                y += line_h + self._spacing
                line_h = 0
            if not test:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            line_h = max(line_h, hint.height())
        return y + line_h - rect.y() + m.bottom()


__all__ = ["Badge", "CodeText", "CopyButton", "FindingView", "FixView", "FlowLayout", "KeyButton", "compact_table",
           "fit_height", "label", "monospace_font"]
