"""Small building blocks: read-only code fields, Copy buttons, the status badge, a finding, a fix.

Sizes and colours are left to Qt's layouts and the style sheet; Python runs only when something changes
(cheaper, though no longer a rule: the GUI process has no engine thread contending for the interpreter
lock, the checks run in the worker process)."""

from __future__ import annotations

import time
from typing import Callable, Iterator

from PySide6.QtCore import QEvent, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor, QFont, QFontDatabase, QFontMetrics, QGuiApplication, QIcon, QKeyEvent, QKeySequence, QPainter, QPainterPath,
    QPaintEvent, QPixmap, QShortcut, QTextOption,
)
from PySide6.QtWidgets import (
    QAbstractItemView, QFrame, QGridLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QSizePolicy,
    QTableWidget,
    QTableWidgetItem, QTextEdit, QToolButton, QTreeWidget, QVBoxLayout, QWidget,
)

from inboxready.core.model import Finding, Fix, ShownFinding, gist
from inboxready.core.textsafe import isolate_rtl, visible


from . import theme


def monospace_font():  # type: ignore[no-untyped-def]
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    return font


def shortcut(key: QKeySequence | QKeySequence.StandardKey | str, parent: QWidget, slot: Callable[[], object],
             context: Qt.ShortcutContext = Qt.ShortcutContext.WindowShortcut) -> QShortcut:
    """A keyboard shortcut on ``parent`` that calls ``slot``, in ``context``. (PySide6's constructor that takes
    the slot ignores a context given with it, and the ``activated=`` keyword form is unknown to its type stubs:
    this sets both explicitly.)"""
    sc = QShortcut(key if isinstance(key, QKeySequence) else QKeySequence(key), parent)
    sc.setContext(context)
    sc.activated.connect(slot)
    return sc


def shown(text: object) -> str:
    """Text for a label or field: control and format characters (a terminal escape, a bidi override that
    reverses what is shown, a zero-width character) written visibly as ``\\x1b``, ``\\u202e``; line breaks
    kept; a run of right-to-left words (a Hebrew or Arabic name in a sentence) as a bidi isolate, so it can't
    reorder the sentence around it (``textsafe.isolate_rtl``). What a Copy button copies is never this: it is
    the value itself, byte for byte."""
    return isolate_rtl(visible(text, keep_newlines=True))


def tip(text: object) -> str:
    """A tooltip that shows ``text`` literally: escaped like ``shown``, and never read as HTML (Qt reads a
    tooltip that starts like a tag as rich text)."""
    import html

    value = shown(text)
    if "<" in value or "&" in value:
        return '<p style="white-space: pre-wrap;">' + html.escape(value, quote=False) + "</p>"
    return value


class WrapLabel(QLabel):
    """A word-wrapped label that remembers its height for each width it was asked about.

    Qt's layouts ask a wrapped label its height for a width many times per layout pass (its size hint, its
    minimum, at its natural and at its real width, once per enclosing layout) and ``QLabel`` lays the text
    out again every time (a selectable one twice: it lays the text out at the width asked, then again at
    the width it had). In a card with many labels that was most of the UI thread's time whenever anything
    in the card changed. The answers are kept until the text, the font, the style, the margins or any
    other setting that changes the text's layout changes."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[call-overload]
        self._hfw: dict[int, int] = {}

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt's name)
        h = self._hfw.get(width)
        if h is None:
            h = super().heightForWidth(width)
            if len(self._hfw) > 16:
                self._hfw.clear()
            self._hfw[width] = h
        return h

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt's name)
        # font, style (a style sheet's padding or font), contents margins, enabled, palette...
        self._hfw.clear()
        super().changeEvent(event)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        self._hfw.clear()
        super().setText(text)

    def clear(self) -> None:
        self._hfw.clear()
        super().clear()

    def setWordWrap(self, on: bool) -> None:  # noqa: N802 (Qt's name)
        self._hfw.clear()
        super().setWordWrap(on)

    def setTextFormat(self, fmt: Qt.TextFormat) -> None:  # noqa: N802 (Qt's name)
        self._hfw.clear()
        super().setTextFormat(fmt)

    def setTextInteractionFlags(self, flags: Qt.TextInteractionFlag) -> None:  # noqa: N802 (Qt's name)
        self._hfw.clear()
        super().setTextInteractionFlags(flags)

    def setAlignment(self, alignment: Qt.AlignmentFlag) -> None:  # noqa: N802 (Qt's name)
        self._hfw.clear()
        super().setAlignment(alignment)

    def setIndent(self, indent: int) -> None:  # noqa: N802 (Qt's name)
        self._hfw.clear()
        super().setIndent(indent)

    def setMargin(self, margin: int) -> None:  # noqa: N802 (Qt's name)
        self._hfw.clear()
        super().setMargin(margin)


def label(text: str, name: str = "", *, wrap: bool = True, selectable: bool = False,
          parent: QWidget | None = None) -> QLabel:
    """A plain label (``name`` is its style object name). Rich text is never interpreted, and control
    characters are shown escaped (``shown``); use ``set_text`` to change it.

    Give the ``parent`` it will live in when it is known: a styled widget moved to another parent is
    styled again, with everything inside it."""
    w = WrapLabel(shown(text), parent) if wrap else QLabel(shown(text), parent)
    w.setTextFormat(Qt.TextFormat.PlainText)
    if name:
        w.setObjectName(name)
    w.setWordWrap(wrap)
    if selectable:
        w.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return w


def set_available(widget: QWidget, why_not: str = "") -> None:
    """Enable ``widget``, or disable it and say why in its tooltip ("Not available: ..."). Its usual
    tooltip is kept and comes back when it is enabled again."""
    usual = widget.property("usualToolTip")
    if usual is None:
        usual = widget.toolTip()
        widget.setProperty("usualToolTip", usual)
    widget.setEnabled(not why_not)
    if why_not:
        widget.setToolTip(f"Not available: {why_not}" + (f"\n\n{usual}" if usual else ""))
    else:
        widget.setToolTip(str(usual))


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
        self.setPlainText(shown(text))  # what is shown; a Copy button beside it copies the value itself
        self.document().setDocumentMargin(4)
        # the document re-wraps when the field's width changes, and says so: the height follows (no
        # Python override of resizeEvent/sizeHint runs on every layout pass)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._fit()

    def text(self) -> str:
        return self.toPlainText()

    def _fit(self, *_: object) -> None:
        doc_h = self.document().size().height()
        frame = self.frameWidth() * 2 + 4
        height = max(26, int(doc_h) + frame)
        if height != self.height() or self.minimumHeight() != height:
            self.setFixedHeight(height)


def code_line(text: str, accessible_name: str, parent: QWidget | None = None) -> QLineEdit:
    """A read-only, selectable, monospace one-line field (the whole text is in its tooltip too)."""
    w = QLineEdit(visible(text), parent)
    w.setObjectName("Code")
    w.setReadOnly(True)
    w.setFont(monospace_font())
    w.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    w.setAccessibleName(accessible_name)
    w.setToolTip(tip(text))
    w.setCursorPosition(0)
    return w


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
        self.copied.emit(text)

    def on_theme_changed(self, scheme: str) -> None:
        self.setIcon(theme.themed_icon("copy", scheme))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.click()
            return
        super().keyPressEvent(event)


BADGE_COLOURS = {  # status -> (background, text) theme tokens (resources/themes.json)
    "pass": ("pass_bg", "pass_fg"), "warn": ("warn_bg", "warn_fg"), "fail": ("fail_bg", "fail_fg"),
    "error": ("error_bg", "error_fg"), "info": ("info_bg", "info_fg"), "pending": ("error_bg", "text_muted"),
    "na": ("error_bg", "text_muted"),
}
STRIPE_COLOURS = {"pass": "pass_fg", "warn": "warn_fg", "fail": "fail_fg", "error": "error_fg", "info": "info_fg"}


class Badge(QWidget):
    """Status badge: an icon and a word (never colour alone) on a pill of the status's colour.

    It paints itself with the current theme's colours: a new status is one repaint of this widget (styling
    it through a style-sheet property re-applied the style, font and palette to it and its labels on every
    check, which cost a third of a new check's UI time). A theme switch repaints it."""

    SPACING = 5  # between the icon and the word
    ICON = 16

    def __init__(self, parent: QWidget | None = None, status: str = "pending", word: str = "Checking…") -> None:
        super().__init__(parent)
        self.setObjectName("Badge")
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.status = ""
        self.word = ""
        self._look: tuple[tuple[object, ...], QPixmap] | None = None  # (what it shows, how it looks)
        self._font: QFont | None = None
        self._hint: QSize | None = None  # layouts ask many times a pass; the word is shaped once
        self.set_status(status, word)

    @staticmethod
    def margins() -> tuple[int, int, int, int]:
        return (6, 2, 10, 2)

    def text(self) -> str:
        return self.word

    def icon_for(self, status: str) -> QIcon:
        return theme.status_icon(status)

    def word_font(self) -> QFont:
        if self._font is None:  # the widget's font (the style sheet's size), semi-bold
            self._font = QFont(self.font())
            self._font.setWeight(QFont.Weight.DemiBold)
        return self._font

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        if self._hint is None:
            fm = QFontMetrics(self.word_font())
            left, top, right, bottom = self.margins()
            word = fm.boundingRect(0, 0, 2000, 2000, int(Qt.AlignmentFlag.AlignLeft), self.word).width()  # as QLabel
            self._hint = QSize(left + self.ICON + self.SPACING + word + right,
                               top + max(self.ICON, fm.height()) + bottom)
        return QSize(self._hint)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return self.sizeHint()

    def set_status(self, status: str, word: str) -> None:
        if word != self.word:
            self.word = word
            self._hint = None
            self.setAccessibleName(word)
            self.updateGeometry()
            self.update()
        if status != self.status:
            self.status = status
            self.update()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt's name)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._font = self._look = self._hint = None
            self.updateGeometry()
        super().changeEvent(event)

    _LOOKS: "dict[tuple[object, ...], QPixmap]" = {}  # every badge's looks: "Checking…" is drawn once, not per card
    _MAX_LOOKS = 256

    def look(self) -> tuple[object, ...]:
        """What the pixmap shows besides size, theme and font (a subclass adds what its icon depends on)."""
        return (self.status, self.word)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        # drawn once per look (status, word, size, theme, font) into a pixmap, shared by every badge of the
        # class: repainting the window (every new check repaints every card and chip) then copies it instead
        # of shaping and drawing the word again
        scheme, dpr = theme.current_scheme(), self.devicePixelRatioF()
        key = (*self.look(), self.width(), self.height(), scheme, dpr)
        if self._look is None or self._look[0] != key:
            font = self.word_font()
            shared = (type(self), *key, font.key(), self.margins())
            pixmap = self._LOOKS.get(shared)
            if pixmap is None:
                if len(self._LOOKS) >= self._MAX_LOOKS:
                    self._LOOKS.clear()
                pixmap = self._LOOKS[shared] = self._draw(scheme, font, dpr)
            self._look = (key, pixmap)
        p = QPainter(self)
        p.drawPixmap(0, 0, self._look[1])
        p.end()

    def _draw(self, scheme: str, font: QFont, dpr: float) -> QPixmap:
        tokens = theme.palette(scheme)
        bg, fg = BADGE_COLOURS.get(self.status, BADGE_COLOURS["pending"])
        left, top, right, bottom = self.margins()
        pm = QPixmap(QSize(max(1, round(self.width() * dpr)), max(1, round(self.height() * dpr))))
        pm.setDevicePixelRatio(dpr)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(tokens[bg]))
        radius = min(10.0, self.height() / 2)
        p.drawRoundedRect(QRectF(self.rect()), radius, radius)
        inner = self.rect().adjusted(left, top, -right, -bottom)
        icon = self.icon_for(self.status).pixmap(QSize(self.ICON, self.ICON), dpr)
        p.drawPixmap(inner.left(), inner.top() + (inner.height() - self.ICON) // 2, icon)
        p.setFont(font)
        p.setPen(QColor(tokens[fg]))
        text_rect = inner.adjusted(self.ICON + self.SPACING, 0, 0, 0)
        p.drawText(text_rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), self.word)
        p.end()
        return pm


class StatusStripe(QWidget):
    """The coloured left edge of a card (its status colour; none while checking). It paints itself with the
    current theme's colour: a new status is one repaint of this narrow widget, nothing is re-styled."""

    RADIUS = 9.0  # the card's corner (10 px) inside its 1 px border

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CardStripe")
        self.setFixedWidth(5)
        self.status = "pending"

    def set_status(self, status: str) -> None:
        if status != self.status:
            self.status = status
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        token = STRIPE_COLOURS.get(self.status)
        if token is None:  # checking, or a status without a colour: no stripe
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(theme.palette(theme.current_scheme())[token]))
        path = QPainterPath()  # rounded on the left only, like the card's corners
        path.addRoundedRect(QRectF(0, 0, self.width() + self.RADIUS, self.height()), self.RADIUS, self.RADIUS)
        p.setClipRect(self.rect())
        p.drawPath(path)
        p.end()


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
    publish_hook: "Callable[[Fix, QWidget], QWidget | None] | None" = None  # set by the app at start-up
    # the record as the domain's DNS host's form wants it, above the generic fields (app/dns_host_forms.py);
    # it may hide ``generic`` (the fields below) behind a "Show the generic record" button
    host_form_hook: "Callable[[Fix, FixView], QWidget | None] | None" = None

    def __init__(self, fix: Fix, heading: str = "", parent: QWidget | None = None, *, companion: bool = False,
                 later: bool = False) -> None:
        """``later``: make the heading only; ``rest_steps()`` adds the rest (the record's fields, the host's
        form, the records that go with it, the publish bar) a step at a time."""
        super().__init__(parent)
        self.fix = fix
        self._companion = companion
        self.setObjectName("Fix")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 10)
        lay.setSpacing(6)
        lay.addWidget(label(heading or ACTION_WORDS.get(fix.action, ACTION_WORDS["publish"]), "SectionTitle",
                            parent=self))
        if fix.note:
            lay.addWidget(label(fix.note, "Muted", parent=self))
        self._lay = lay
        self.host_form_view: QWidget | None = None
        self.companions: list[FixView] = []
        self._rest: Iterator[None] | None = None
        self._later = later
        self.generic: QWidget | None = None  # made by ``_make_fields`` (at once, or as the first later step)
        if not later:
            for _ in self.rest_steps():
                pass

    def _make_fields(self) -> None:
        """The record for any DNS host, hidden when made later for a host's form (the next step shows it or
        keeps it behind its button): no field shows before the form that may hide it."""
        fix, lay = self.fix, self._lay
        # the record for any DNS host (host, type, value, TTL, zone-file line); its widgets are made in it (a
        # widget moved to another parent is styled again, with everything in it)
        self.generic = generic = QWidget(self)
        glay = QVBoxLayout(generic)
        glay.setContentsMargins(0, 0, 0, 0)
        glay.setSpacing(6)
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(6)
        glay.addLayout(grid)
        # each field is created just before its Copy button: the default tab order is then row by row.
        # Host and type are one short line: a read-only line edit (a text document for the value only).
        self.host_field = code_line(fix.host, f"Host name for the {fix.type} record", generic)
        self.copy_host = CopyButton(fix.host, f"host name {fix.host}", parent=generic)
        self.type_field = code_line(fix.type, f"Record type for {fix.host}", generic)
        self.copy_type = CopyButton(fix.type, f"record type for {fix.host}", parent=generic)
        self.value_field = CodeText(fix.value, f"{fix.type} value for {fix.host}", generic)
        self.copy_value = CopyButton(fix.value, f"{fix.type} value for {fix.host}", parent=generic)
        rows = [("Host", self.host_field, self.copy_host), ("Type", self.type_field, self.copy_type),
                ("Value", self.value_field, self.copy_value)]
        for i, (name, field, button) in enumerate(rows):
            cap = label(name, "FieldLabel", wrap=False, parent=generic)
            cap.setBuddy(field)
            grid.addWidget(cap, i, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(field, i, 1)
            grid.addWidget(button, i, 2, Qt.AlignmentFlag.AlignTop)
        grid.setColumnStretch(1, 1)
        row = QHBoxLayout()
        glay.addLayout(row)
        ttl = label(f"TTL {fix.ttl} seconds (any value your DNS host offers is fine)", "Muted", parent=generic)
        row.addWidget(ttl, 1)
        self.copy_zone = CopyButton(fix.zone_line, f"zone file line for {fix.host}", "Copy as zone file line",
                                    parent=generic)
        row.addWidget(self.copy_zone, 0, Qt.AlignmentFlag.AlignRight)
        if self._later and FixView.host_form_hook is not None:
            generic.hide()  # hidden before it is in the box: nothing of it is shown or laid out yet
        lay.addWidget(generic)
        for b in (self.copy_host, self.copy_type, self.copy_value, self.copy_zone):
            b.copied.connect(self.copied)

    def rest_steps(self) -> Iterator[None]:
        """Add the rest of the box, yielding after each piece: the record as the domain's DNS host's form
        wants it (above the generic fields, which it shows or hides), the records that belong to this fix (a
        subdomain's SPF, a flattened copy), each with its own fields, then the publish bar. Once only."""
        if self._rest is None:
            self._rest = self._rest_pieces()
        return self._rest

    def _rest_pieces(self) -> Iterator[None]:
        self._make_fields()
        if self._later:  # a turn of their own: made hidden, they cost Python only, no layout or paint
            yield
        assert self.generic is not None
        if FixView.host_form_hook is not None:
            self.host_form_view = FixView.host_form_hook(self.fix, self)
            if self.host_form_view is not None:
                self._lay.insertWidget(self._lay.indexOf(self.generic), self.host_form_view)
                yield
            else:
                self.generic.show()
        for extra in self.fix.also_publish:
            verb = {"replace": "And replace this record", "remove": "And remove this record"}.get(
                extra.action, "And publish this record too")
            view = FixView(extra, verb, self, companion=True, later=True)
            view.setObjectName("FixCompanion")
            view.copied.connect(self.copied)
            self._lay.addWidget(view)
            self.companions.append(view)
            yield
            yield from view.rest_steps()  # its host's form on a turn of its own
        # "Publish at <host>…" / "Set up publishing…" (app/publish_dialog.py): once per fix, for all its records
        if FixView.publish_hook is not None and not self._companion:
            hook = FixView.publish_hook(self.fix, self)
            if hook is not None:
                self._lay.addWidget(hook)
                yield

    def buttons(self) -> list[CopyButton]:
        if self.generic is None:  # not made yet (a box built in steps)
            return []
        return [self.copy_host, self.copy_type, self.copy_value, self.copy_zone,
                *(b for c in self.companions for b in c.buttons())]


class FindingView(QFrame):
    """One finding: severity (icon and word), the plain message, the technical why, the RFC, the fixes.

    Given a ``ShownFinding`` (``CheckResult.presented()``), it shows the fixes shown under it (each option with
    its name when there are several), which other findings they also solve, or where its fix is shown."""

    copied = Signal(str)

    def __init__(self, finding: Finding | ShownFinding, parent: QWidget | None = None, *,
                 with_fix: bool = True) -> None:
        super().__init__(parent)
        presented = finding if isinstance(finding, ShownFinding) else ShownFinding(finding, finding.options)
        finding = presented.finding
        self.presented = presented
        self.finding = finding
        self.setObjectName("Finding")
        sev = str(finding.severity)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 10)
        lay.setSpacing(4)
        top = QHBoxLayout()
        top.setSpacing(8)
        badge = Badge(self, _severity_status(sev), theme.SEVERITY_WORDS.get(sev, sev.title()))
        top.addWidget(badge, 0, Qt.AlignmentFlag.AlignTop)
        msg = label(finding.message, "FindingMessage", selectable=True, parent=self)
        top.addWidget(msg, 1)
        lay.addLayout(top)
        if finding.detail:
            lay.addWidget(label(finding.detail, "", selectable=True, parent=self))
        refs = []
        if finding.rfc:
            refs.append(f"Reference: {finding.rfc}")
        refs.append(f"Code: {finding.code}")
        lay.addWidget(label("   ·   ".join(refs), "Rfc", selectable=True, parent=self))
        if presented.solved_by is not None:
            lay.addWidget(label(f"Fix: the record shown under “{gist(presented.solved_by.message)}” solves this too.",
                                "SolvedBy", selectable=True, parent=self))
        if not finding.options and finding.no_fix:
            lay.addWidget(label(f"No record to publish: {finding.no_fix}", "Muted", selectable=True, parent=self))
        self._lay = lay
        self.fix_view: FixView | None = None  # the first fix shown here
        self.fix_views: list[FixView] = []
        if with_fix:
            self.add_fix()

    @property
    def has_fix(self) -> bool:
        return bool(self.presented.fixes)

    def add_fix(self) -> None:
        """Add the fixes' fields (``with_fix=False`` leaves this for later, to build a card in steps)."""
        for _ in self.fix_steps():
            pass

    def fix_steps(self) -> Iterator[FixView]:
        """Add the fixes a piece at a time (a fix's fields, each record that goes with it, its publish bar),
        yielding the ``FixView`` each piece went to: a card's body is built a piece per turn of the event
        loop."""
        if not self.presented.fixes or self.fix_views:
            return
        n = len(self.presented.fixes)
        for i, fix in enumerate(self.presented.fixes):
            heading = ""
            if n > 1:
                self._lay.addWidget(label(f"Option {i + 1} of {n}: {fix.title or 'another record'}", "OptionTitle",
                                          parent=self))
            elif fix.title:
                words = ACTION_WORDS.get(fix.action, ACTION_WORDS["publish"])
                heading = f"{fix.title}: {words[0].lower()}{words[1:]}"
                if fix.also_publish:
                    heading += ", and the ones below"
            view = FixView(fix, heading, parent=self, later=True)
            view.copied.connect(self.copied)
            self._lay.addWidget(view)
            self.fix_views.append(view)
            if self.fix_view is None:
                self.fix_view = view
            yield view
            for _ in view.rest_steps():  # the rest of the box a piece a turn
                yield view
        if self.presented.also_solves:
            self._lay.addWidget(label("This also solves: " + "; ".join(f"“{gist(x.message)}”"
                                                                       for x in self.presented.also_solves) + ".",
                                      "AlsoSolves", selectable=True, parent=self))
            yield self.fix_views[-1]


class BusyBar(QFrame):
    """A thin "still working" bar: a short segment sliding along a track, while ``active``.

    It stays in the layout when idle (no height, nothing drawn), because showing a hidden widget lays out
    all its ancestors at once. Every active bar moves on one shared timer at ``FPS`` frames a second, by
    moving the segment (a child frame): Qt draws it, no Python paints. An indeterminate ``QProgressBar``
    would repaint at the screen's frame rate.
    """

    FPS = 12
    PERIOD_S = 1.6  # one sweep across the track
    HEIGHT = 4
    _active: "set[BusyBar]" = set()
    _timer: QTimer | None = None

    def __init__(self, accessible_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("BusyTrack")
        self.active = False
        self.setFixedHeight(0)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName(accessible_name)
        self.chunk = QFrame(self)
        self.chunk.setObjectName("BusyChunk")
        self.chunk.hide()

    def set_active(self, active: bool) -> None:
        if active == self.active:
            return
        self.active = active
        self.setFixedHeight(self.HEIGHT if active else 0)
        self.chunk.setVisible(active)
        cls = BusyBar
        if active:
            self._step(time.monotonic())
            cls._active.add(self)
            if cls._timer is None:
                cls._timer = QTimer()
                cls._timer.setInterval(1000 // self.FPS)
                cls._timer.timeout.connect(cls._tick)
            if not cls._timer.isActive():
                cls._timer.start()
        else:
            cls._active.discard(self)
            if not cls._active and cls._timer is not None:
                cls._timer.stop()

    def _step(self, now: float) -> None:
        w = self.width()
        seg = max(24, w // 4)
        phase = (now % self.PERIOD_S) / self.PERIOD_S
        self.chunk.setGeometry(int(-seg + phase * (w + seg)), 0, seg, self.HEIGHT)

    @classmethod
    def _tick(cls) -> None:
        now = time.monotonic()
        for bar in list(cls._active):
            try:
                if bar.isVisible():
                    bar._step(now)
            except RuntimeError:  # deleted while active
                cls._active.discard(bar)
        if not cls._active and cls._timer is not None:
            cls._timer.stop()


def _severity_status(sev: str) -> str:
    return {"error": "fail", "warning": "warn", "info": "info", "unknown": "error"}.get(sev, "info")


class KeyButton(QPushButton):
    """A push button that Enter activates too (Space already does)."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
            self.click()
            return
        super().keyPressEvent(event)


def fit_widths(natural: list[int], available: int, *, minimum: int = 48, grow: int = -1) -> list[int]:
    """Column widths that fill ``available`` pixels: each column's natural width when they all fit (column
    ``grow``, the last by default, takes what is left), else the widest columns are narrowed first, to one
    common cap, until the table fits (never below ``minimum``). So no column is pushed out of sight and none
    is clipped while another keeps more room than it needs."""
    if not natural:
        return []
    total = sum(natural)
    if total <= available:
        out = list(natural)
        out[grow] += available - total
        return out
    ordered = sorted(natural)
    cap, spent = 0, 0
    for i, w in enumerate(ordered):  # the largest cap such that sum(min(w, cap)) <= available
        left = len(ordered) - i
        cap = (available - spent) // left
        if cap < w:
            break
        spent += w
    cap = max(cap, minimum)
    return [min(w, cap) for w in natural]


class FittedColumns:
    """Mix into a QTableView/QTreeView subclass (before the Qt class): its columns are fitted to the
    view's width with ``fit_widths`` whenever it is resized (rows taller when a wrapping table needs it)."""

    grow_column = -1  # the column that takes the room left over

    def minimum_width(self) -> int:
        """No column is narrowed below this (the view scrolls sideways instead)."""
        return 48

    def natural_widths(self) -> list[int]:
        view = self  # a QAbstractItemView
        model = view.model()  # type: ignore[attr-defined]
        header = view.header() if hasattr(view, "header") else view.horizontalHeader()  # type: ignore[attr-defined]
        count = model.columnCount() if model is not None else 0
        return [max(view.sizeHintForColumn(c), header.sectionSizeHint(c)) for c in range(count)]  # type: ignore[attr-defined]

    def fit_columns(self) -> None:
        view = self
        widths = fit_widths(self.natural_widths(), view.viewport().width(),  # type: ignore[attr-defined]
                            minimum=self.minimum_width(), grow=self.grow_column)
        for c, w in enumerate(widths):
            view.setColumnWidth(c, w)  # type: ignore[attr-defined]
        self.columns_fitted()

    def columns_fitted(self) -> None:
        pass

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802 - Qt's name
        super().resizeEvent(event)  # type: ignore[misc]
        self.fit_columns()


class CompactTable(FittedColumns, QTableWidget):
    """A read-only table inside a card: columns fitted to the card's width, long cells wrapped, and the
    table as tall as its rows (no inner scrolling)."""

    def columns_fitted(self) -> None:
        self.resizeRowsToContents()
        fit_height(self)


class FittedTree(FittedColumns, QTreeWidget):
    """A tree whose columns are fitted to its width (long names elided in the middle, whole in the
    tooltip)."""


def compact_table(headers: list[str], rows: list[list[str]], accessible_name: str,
                  parent: QWidget | None = None) -> QTableWidget:
    """A read-only table sized to its rows (no inner scrolling inside a card)."""
    t = CompactTable(len(rows), len(headers), parent)
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
            item = QTableWidgetItem(visible(text))
            item.setToolTip(tip(text))
            t.setItem(r, c, item)
    hh = t.horizontalHeader()
    hh.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)  # over its cells
    hh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # fitted to the width on every resize
    t.fit_columns()
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
        row_h = view.sizeHintForRow(0) if rows else 0
        h += rows * (row_h if row_h > 0 else 20)
    view.setFixedHeight(max(h, 40))




__all__ = ["Badge", "BusyBar", "CodeText", "CopyButton", "FindingView", "FixView", "KeyButton", "StatusStripe", "WrapLabel",
           "code_line", "compact_table", "fit_height", "label", "monospace_font", "shown", "tip"]
