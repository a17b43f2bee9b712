"""One card per check. A card only displays a ``CheckResult``; it knows nothing about DNS.

A card appears as soon as a check starts (busy bar, "Checking…" badge) and fills in when its result
streams in. Its header is a button (Space or Enter opens it); opened, it shows what changed since the
last check, the protocol's own view (SPF include tree, DKIM keys, DMARC stage, MX hosts), the findings
with their explanation, RFC reference and fix, and the records as seen.

A card's body is built only when it is first opened, and then a section at a time: ``BodyBuilder`` adds
widgets until a few milliseconds are spent and lets the event loop paint before it goes on, so opening
every card at once never freezes the window. ``CheckCard.finish_body()`` completes it at once (tests,
screenshots).

Protocol detail is read defensively: a missing or oddly shaped ``detail`` only hides that section.
"""

from __future__ import annotations

import sys
from collections import deque
from typing import Any, Callable, Iterator

from PySide6.QtCore import QCoreApplication, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView, QFrame, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QSizePolicy,
    QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget,
)

from inboxready.core.checks.registry import CHECK_TITLES
from inboxready.core.store.history import CheckDiff
from inboxready.core.model import CheckResult, DnsTrouble, Fix, Status

from . import theme
from .sections_extra import SECTIONS as EXTRA_SECTIONS
from .widgets import (
    Badge, BusyBar, CodeText, FindingView, FittedTree, FixView, KeyButton, StatusStripe, compact_table, fit_height,
    label, monospace_font, shown, tip,
)

SUBTITLES = {
    "spf": "Which servers may send mail for you",
    "dkim": "The keys that sign your mail",
    "dmarc": "What receivers do with mail that fails",
    "mx": "Where your incoming mail goes",
}

STATUS_WORDS = {"pass": "Pass", "warn": "Warning", "fail": "Fail", "error": "Couldn't check", "info": "Info"}


def check_title(name: str) -> str:
    return CHECK_TITLES.get(name, name.upper())


class BodyBuilder(QObject):
    """Builds the bodies of opened cards a step (a section, a finding, a fix) at a time, oldest request
    first. One per application.

    A turn of the event loop runs one step: what a step adds costs two or three times as much again to
    show, lay out and paint once the event loop gets to it, so steps are not batched."""

    _instance: "BodyBuilder | None" = None

    def __init__(self) -> None:
        super().__init__()
        self._jobs: deque[tuple[CheckCard, Iterator[None]]] = deque()
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._tick)

    @classmethod
    def shared(cls) -> "BodyBuilder":
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def start(self, card: "CheckCard", steps: Iterator[None]) -> None:
        self.cancel(card)
        self._jobs.append((card, steps))
        if not self._timer.isActive():
            self._timer.start()

    def cancel(self, card: "CheckCard") -> None:
        if any(c is card for c, _ in self._jobs):
            self._jobs = deque(j for j in self._jobs if j[0] is not card)

    def pending(self, card: "CheckCard") -> bool:
        return any(c is card for c, _ in self._jobs)

    def finish(self, card: "CheckCard") -> None:
        """Run the rest of ``card``'s steps now."""
        for c, steps in list(self._jobs):
            if c is card:
                self.cancel(card)
                for _ in steps:
                    pass
                card._body_finished()

    def _tick(self) -> None:
        if self._jobs:
            card, steps = self._jobs[0]
            try:
                next(steps)
            except StopIteration:
                self._jobs.popleft()
                card._body_finished()
            except Exception as exc:  # never retry a failing step forever
                self._jobs.popleft()
                if not isinstance(exc, RuntimeError):  # RuntimeError: the card was deleted meanwhile
                    sys.excepthook(type(exc), exc, exc.__traceback__)
        if not self._jobs:
            self._timer.stop()


class DnsTroubleBanner(QFrame):
    """One message when DNS itself did not answer, instead of a grey "couldn't check" on every card.

    "resolver" (your DNS server does not answer): names the server and offers its setting and another
    try; the window hides the cards that could only say "couldn't check". "domain" (this domain's DNS
    servers do not answer): says it is not the user's computer, above the cards."""

    settingsRequested = Signal()
    retryRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("DnsTrouble")
        self.trouble: DnsTrouble | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(16, 12, 16, 12)
        lay.setSpacing(6)
        self.title = label("", "DnsTroubleTitle", parent=self)
        lay.addWidget(self.title)
        self.text = label("", "", selectable=True, parent=self)
        lay.addWidget(self.text)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.settings_button = KeyButton("DNS server settings…", self)
        self.settings_button.setAccessibleName("Open Settings to choose another DNS server")
        self.settings_button.clicked.connect(self.settingsRequested)
        row.addWidget(self.settings_button)
        self.retry_button = KeyButton("Check again", self)
        self.retry_button.setAccessibleName("Check the domain again")
        self.retry_button.clicked.connect(self.retryRequested)
        row.addWidget(self.retry_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.hide()

    def show_trouble(self, trouble: DnsTrouble | None) -> None:
        self.trouble = trouble
        if trouble is None:
            self.hide()
            return
        resolver = trouble.kind == "resolver"
        many = len(trouble.servers) > 1
        if resolver:
            title = "Your DNS servers don't answer" if many else "Your DNS server doesn't answer"
            advice = trouble.advice
            if advice.endswith("DNS server."):
                advice = advice[:-1] + " in Settings."
            else:
                advice += " You can choose another DNS server in Settings."
            text = f"{trouble.message} {advice}"
        else:
            title = "This domain's DNS servers don't answer"
            text = trouble.text
        self.title.setText(title)
        self.text.setText(text)
        self.settings_button.setVisible(resolver)
        self.setAccessibleName(title)
        self.setAccessibleDescription(text)
        self.show()


class CardHeader(KeyButton):
    """The always-visible part of a card; a flat button so it is focusable and opens with Space/Enter.

    Its height comes from the layout inside it: ``QWidget``'s own ``hasHeightForWidth``/``heightForWidth``
    ask the layout, and the layout sets the button's minimum size, all in Qt (no Python on layout)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CardHeader")
        self.setCheckable(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)


class CheckCard(QFrame):
    """The card of one check (``spf``, ``dkim``, ... or any name the engine adds later)."""

    toggled = Signal(bool)
    copied = Signal(str)
    selectorRequested = Signal(str)  # DKIM: a selector typed by the user, to add and re-check
    selectorRemoveRequested = Signal(str)  # DKIM: a saved selector the user wants to forget
    spamRateEntered = Signal(object)  # checklist: the spam rate (percent, float) the user typed, or None
    bodyBuilt = Signal()  # the opened body is complete (its controls exist: the tab order may change)

    def __init__(self, name: str, parent: QWidget | None = None,
                 sections: list[Callable[["CheckCard", CheckResult], QWidget | None]] | None = None) -> None:
        super().__init__(parent)
        self.name = name
        # the body's own sections (default: the domain check's for this name; a received message's cards
        # pass theirs: no selector box on a message's DKIM card)
        self.sections = PROTOCOL_SECTIONS.get(name, []) if sections is None else list(sections)
        self.title = check_title(name)
        self.result: CheckResult | None = None
        self.diff: CheckDiff | None = None
        self.saved_selectors: list[str] = []  # DKIM: the extra selectors the user added for this domain
        self.scheme = "light"
        self._built = False  # the body shows the current result (complete, or being built)
        self._fresh: QWidget | None = None  # what the last build step added (maybe not styled yet)
        self.setObjectName("Card")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        # The status colour is a painted stripe (and the badge is painted): a new status is a repaint,
        # where a style-sheet property on the card would re-apply palette and font to every widget in it.
        self.stripe = StatusStripe()
        row.addWidget(self.stripe)
        outer = QVBoxLayout()
        outer.setContentsMargins(4, 4, 4, 4)
        outer.setSpacing(0)
        row.addLayout(outer, 1)

        self.header = CardHeader()
        head = QHBoxLayout(self.header)
        head.setContentsMargins(10, 10, 12, 10)
        head.setSpacing(10)
        self.chevron = QLabel()
        self.chevron.setFixedSize(16, 16)
        head.addWidget(self.chevron, 0, Qt.AlignmentFlag.AlignTop)
        text_col = QVBoxLayout()
        text_col.setSpacing(2)
        title_row = QHBoxLayout()
        title_row.setSpacing(10)
        self.title_label = label(self.title, "CardTitle", wrap=False)
        title_row.addWidget(self.title_label)
        sub = SUBTITLES.get(name, "")
        self.subtitle_label = label(sub, "Muted", wrap=False)
        self.subtitle_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.subtitle_label.setMinimumWidth(0)
        title_row.addWidget(self.subtitle_label, 1)
        self.badge = Badge()
        title_row.addWidget(self.badge)
        text_col.addLayout(title_row)
        self.summary_label = label("Checking…", "CardSummary")
        text_col.addWidget(self.summary_label)
        self.change_label = label("", "Change")
        self.change_label.hide()
        text_col.addWidget(self.change_label)
        self.busy = BusyBar(f"{self.title} check in progress")
        text_col.addWidget(self.busy)
        head.addLayout(text_col, 1)
        for w in (self.chevron, self.title_label, self.subtitle_label, self.badge, self.summary_label,
                  self.change_label, self.busy):
            w.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        outer.addWidget(self.header)

        self.body = QWidget()
        self.body.setObjectName("CardBody")
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(38, 0, 14, 14)
        self.body_layout.setSpacing(8)
        self.body.hide()
        outer.addWidget(self.body)

        self.header.toggled.connect(self._on_toggled)
        self.header.setEnabled(True)
        self._update_chevron()
        self._update_accessible()

    # -- state ----------------------------------------------------------------------------------

    @property
    def status(self) -> str:
        return str(self.result.status) if self.result is not None else "pending"

    @property
    def is_open(self) -> bool:
        return self.header.isChecked()

    def set_open(self, opened: bool) -> None:
        self.header.setChecked(opened)

    def set_pending(self) -> None:
        self.result = None
        self.diff = None
        self._clear_body()
        self.stripe.set_status("pending")
        self.badge.set_status("pending", "Checking…")
        self.summary_label.setText(f"Checking {self.title}…")
        self.change_label.hide()
        self.busy.set_active(True)
        self._update_accessible()

    def set_stopped(self, summary: str) -> None:
        """No result will come (cancelled, or the check stopped)."""
        self.busy.set_active(False)
        self.badge.set_status("pending", "Not checked")
        self.summary_label.setText(shown(summary))
        self._update_accessible()

    def set_result(self, result: CheckResult, diff: CheckDiff | None = None) -> None:
        """Show ``result`` (and what changed since the last check, when ``diff`` is given)."""
        self.result = result
        self.diff = diff
        status = str(result.status)
        self.stripe.set_status(status)
        self.badge.set_status(status, STATUS_WORDS.get(status, result.status.label))
        self.summary_label.setText(shown(result.summary or f"{self.title}: {result.status.label}."))
        self.busy.set_active(False)
        self._show_change()
        self._rebuild_body()
        self._update_accessible()

    def set_diff(self, diff: CheckDiff | None) -> None:
        self.diff = diff
        self._show_change()
        if self.result is not None and self._built:
            self._rebuild_body()
        self._update_accessible()

    def set_saved_selectors(self, selectors: list[str]) -> None:
        """DKIM: the selectors the user added (shown with a Remove button once the body is built)."""
        if list(selectors) != self.saved_selectors:
            self.saved_selectors = list(selectors)
            if self.result is not None and self._built:
                self._rebuild_body()

    def _show_change(self) -> None:
        diff = self.diff
        if diff is None or diff.previous_status is None:
            self.change_label.hide()
        else:
            self.change_label.setText(shown("Since the last check: " + diff.summary()))
            self.change_label.show()

    def on_theme_changed(self, scheme: str) -> None:
        self.scheme = scheme
        self._update_chevron()

    # -- header ---------------------------------------------------------------------------------

    def _on_toggled(self, opened: bool) -> None:
        if opened and self.result is not None and not self._built:
            self._rebuild_body()
        self.body.setVisible(opened)
        self._update_chevron()
        self._update_accessible()
        self.toggled.emit(opened)

    def _update_chevron(self) -> None:
        name = "chevron-down" if self.is_open else "chevron-right"
        self.chevron.setPixmap(theme.themed_icon(name, self.scheme).pixmap(QSize(16, 16),
                                                                              self.devicePixelRatioF()))

    def _update_accessible(self) -> None:
        word = self.badge.word
        summary = self.summary_label.text()
        action = "Press Space to close the details." if self.is_open else "Press Space to open the details."
        self.header.setAccessibleName(f"{self.title}: {word}")
        self.header.setAccessibleDescription(f"{summary} {action}")
        self.header.setToolTip(f"{self.title}: {word}. {action}")

    # -- body -----------------------------------------------------------------------------------

    @property
    def body_ready(self) -> bool:
        """The body shows the whole current result (False while it is still being built)."""
        return self._built and not BodyBuilder.shared().pending(self)

    def finish_body(self) -> None:
        """Build the rest of the body now (when opened; a closed card's body waits to be opened)."""
        if self.is_open and self.result is not None and not self._built:
            self._rebuild_body()
        BodyBuilder.shared().finish(self)

    def _clear_body(self) -> None:
        BodyBuilder.shared().cancel(self)
        self._built = False
        fresh, self._fresh = self._fresh, None
        if fresh is not None:  # about to be deleted: do not style it first (its polish is still queued)
            try:
                for w in [fresh, *fresh.findChildren(QWidget)]:
                    QCoreApplication.removePostedEvents(w)
            except RuntimeError:
                pass
        while self.body_layout.count():
            item = self.body_layout.takeAt(0)
            w = item.widget()
            if w is not None:
                w.hide()
                w.deleteLater()
        for w in self.body.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly):
            w.deleteLater()  # a section that failed half-way

    def _rebuild_body(self) -> None:
        self._clear_body()
        if self.result is None or not self.is_open:
            return  # built when opened: a check of many domains never builds what nobody looks at
        self._built = True
        BodyBuilder.shared().start(self, self._body_steps(self.result, self.diff))

    def _body_finished(self) -> None:
        self.bodyBuilt.emit()

    def _body_steps(self, r: CheckResult, diff: CheckDiff | None) -> Iterator[None]:
        """Add the body's widgets one at a time, yielding after each: showing a widget in a visible body
        lays out the card and the cards around it, so each turn of the event loop shows one."""
        # every widget is made in the body it goes to (moving a styled widget styles it all again)
        body = self.body

        def add(w: QWidget) -> None:
            self.body_layout.addWidget(w)
            self._fresh = w

        if diff is not None and diff.changed:
            add(self._diff_section(diff))
            yield
        for make in self.sections:
            try:
                section = make(self, r)
            except Exception:  # a detail shape we do not know: show the rest anyway
                section = None
            if section is not None:
                add(section)
                yield
        if r.findings:
            add(label("What we found", "SectionTitle", parent=body))
            yield
            for presented in r.presented():  # problem first; each fix once, under the most severe finding it solves
                view = FindingView(presented, body, with_fix=False)
                view.copied.connect(self.copied)
                add(view)
                yield
                if view.has_fix:
                    view.add_fix()
                    self._fresh = view.fix_view
                    yield
        elif r.status is Status.PASS:
            add(label("Nothing to fix here.", "Muted", parent=body))
            yield
        if r.records:
            box, lay = _section(self, "Records as seen in DNS")
            # one record a line: a line break inside a record is shown as \\n, not as a second record
            lay.addWidget(CodeText("\n".join(shown(x).replace("\n", "\\n") for x in r.records),
                                   f"{self.title} records as seen in DNS", box))
            add(box)
            yield
        add(label(f"Checked in {r.elapsed_ms / 1000:.1f} s.", "Muted", parent=body))

    def _diff_section(self, d: CheckDiff) -> QWidget:
        box = QWidget(self.body)
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        lay.addWidget(label("What changed since the last check", "SectionTitle", parent=box))
        lines: list[str] = [d.summary()]
        for old, new in d.records_edited:
            lines.append(f"Edited: {old}  →  {new}")
        lines += [f"Added: {x}" for x in d.records_added]
        lines += [f"Removed: {x}" for x in d.records_removed]
        lines += [f"New problem: {c}" for c in d.findings_appeared]
        lines += [f"Gone: {c}" for c in d.findings_gone]
        for text in lines:
            lay.addWidget(label(text, "", selectable=True, parent=box))
        return box

    # -- keyboard -------------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.header.toggle()
            return
        super().keyPressEvent(event)


# -- protocol sections ----------------------------------------------------------------------------


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


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


def _section(card: CheckCard, title: str) -> tuple[QWidget, QVBoxLayout]:
    """A section of ``card``'s body, made in the body (see ``label``)."""
    box = QWidget(card.body)
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(6)
    if title:
        lay.addWidget(_label(box, title, "SectionTitle"))
    return box, lay


SPF_OWN_TERMS = ("a", "mx", "ptr", "exists")


def _own_terms(record: str) -> list[str]:
    """The terms of an SPF record that cost a lookup of their own (not include/redirect), for a label."""
    out: list[str] = []
    for token in record.split()[1:]:
        name = token.lstrip("+-~?").split(":", 1)[0].split("/", 1)[0].lower()
        if name in SPF_OWN_TERMS and name not in out:
            out.append(name)
    return out


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def spf_section(card: CheckCard, r: CheckResult) -> QWidget | None:
    d = r.detail
    tree = _as_dict(d.get("tree"))
    if not tree and d.get("lookups") is None:
        return None
    box, lay = _section(card, "Include tree and DNS lookups")
    limit = d.get("lookup_limit") or 10
    lookups = d.get("lookups")
    if isinstance(lookups, int):
        over = lookups > int(limit)
        text = (f"Uses {lookups} of the {limit} DNS lookups SPF allows"
                + (" — over the limit, so receivers treat the record as broken." if over else "."))
        voids = d.get("void_lookups")
        if isinstance(voids, int) and voids:
            text += f" {voids} lookup{'s' if voids != 1 else ''} found nothing (at most 2 are allowed)."
        lay.addWidget(_label(box, text, "", selectable=True))
    for copy in [c for c in _as_list(d.get("flattened")) if isinstance(c, dict)]:
        state = {True: "it matches what the include lists today", False: "the include has changed since (see below)",
                 None: "we couldn't compare it with the include this time"}.get(copy.get("current"), "")
        lay.addWidget(_label(box, f"{_text(copy.get('host'))} is a copy of the addresses 'include:"
                                  f"{_text(copy.get('include'))}' lists: {state}.", "Muted", selectable=True))
    if tree:
        view = FittedTree(box)
        view.setColumnCount(4)
        view.setHeaderLabels(["Domain", "Reached by", "Lookups", "Problem"])
        view.headerItem().setToolTip(2, "The DNS lookups this branch costs out of the limit of 10: the "
                                        "include itself and everything below it. The rows under your record "
                                        "add up to its total.")
        view.headerItem().setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        view.setAccessibleName("SPF include tree with the DNS lookups of each branch")
        view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        view.setTextElideMode(Qt.TextElideMode.ElideRight)  # a narrow card keeps a name's start (tooltip: all)
        view.setRootIsDecorated(True)
        view.setUniformRowHeights(True)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)

        def add_node(node: dict[str, Any], parent: QTreeWidget | QTreeWidgetItem, depth: int) -> None:
            if depth > 12:
                return
            count = node.get("branch", node.get("total", node.get("lookups")))
            mechanism = _text(node.get("mechanism"))
            how = mechanism.split(":", 1)[0].split("=", 1)[0] if mechanism else "your record"
            item = QTreeWidgetItem([_text(node.get("domain")), how, _text(count), _text(node.get("error"))])
            rec = _text(node.get("record"))
            item.setToolTip(0, tip(rec or _text(node.get("domain"))))
            if mechanism:
                item.setToolTip(1, tip(mechanism))
            if node.get("error"):
                item.setToolTip(3, tip(_text(node.get("error"))))
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if isinstance(parent, QTreeWidget):
                parent.addTopLevelItem(item)
            else:
                parent.addChild(item)
            children = [c for c in _as_list(node.get("children")) if isinstance(c, dict)]
            total = _int(node.get("total"))
            branches = [_int(c.get("branch")) for c in children]
            if children and total is not None and None not in branches:
                own = total - sum(b for b in branches if b is not None)
                if own > 0:  # the record's own a/mx/ptr/exists terms: with them the rows add up
                    terms = ", ".join(_own_terms(rec)) or "other terms"
                    mine = QTreeWidgetItem([terms, "this record's own terms", str(own), ""])
                    mine.setToolTip(0, tip(f"Terms of {_text(node.get('domain'))}'s own record that need a DNS "
                                           "lookup each"))
                    mine.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    item.addChild(mine)
            for child in children:
                add_node(child, item, depth + 1)

        add_node(tree, view, 0)
        view.expandAll()
        header = view.header()
        header.setStretchLastSection(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # fitted to the card's width on resize
        view.fit_columns()
        fit_height(view)
        lay.addWidget(view)
    return box


def dkim_section(card: CheckCard, r: CheckResult) -> QWidget | None:
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


def dkim_selectors_section(card: CheckCard, r: CheckResult) -> QWidget | None:
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


STAGES = [
    ("none", "No DMARC"),
    ("monitoring", "Monitoring (p=none)"),
    ("quarantine", "Quarantine"),
    ("reject", "Reject"),
]


def dmarc_section(card: CheckCard, r: CheckResult) -> QWidget | None:
    d = r.detail
    stage = d.get("stage")
    if not isinstance(stage, str) and not d.get("next_record"):
        return None
    box, lay = _section(card, "Rollout stage")
    row = QHBoxLayout()
    row.setSpacing(6)
    keys = [k for k, _ in STAGES]
    current = keys.index(stage) if stage in keys else -1
    for i, (key, text) in enumerate(STAGES):
        w = QLabel(("● " + text + " (you are here)") if i == current else text, box)
        w.setObjectName("Stage")
        w.setProperty("current", i == current)
        w.setProperty("done", i < current)
        w.setTextFormat(Qt.TextFormat.PlainText)
        w.setWordWrap(True)
        w.setAlignment(Qt.AlignmentFlag.AlignCenter)
        row.addWidget(w)
        if i < len(STAGES) - 1:
            arrow = QLabel("→", box)
            arrow.setObjectName("Muted")
            arrow.setAlignment(Qt.AlignmentFlag.AlignCenter)
            row.addWidget(arrow)
    row.addStretch(1)
    lay.addLayout(row)
    facts = []
    if d.get("policy"):
        facts.append(f"Policy: p={_text(d.get('policy'))}")
    if d.get("subdomain_policy"):
        facts.append(f"subdomains: sp={_text(d.get('subdomain_policy'))}")
    if d.get("np"):
        facts.append(f"names that don't exist: np={_text(d.get('np'))}")
    if d.get("testing"):
        facts.append("test mode (t=y)")
    if d.get("found_at"):
        facts.append(f"found at {_text(d.get('found_at'))}")
    if d.get("rua"):
        facts.append(f"reports to {_text(d.get('rua'))}")
    if facts:
        lay.addWidget(_label(box, "; ".join(facts) + ".", "Muted", selectable=True))
    nxt = _as_dict(d.get("next_record"))
    shown = {(f.host, f.type.upper(), f.value) for f in r.fixes}
    if nxt.get("host") and nxt.get("type") and isinstance(nxt.get("value"), str) and (
            str(nxt["host"]), str(nxt["type"]).upper(), str(nxt["value"])) in shown:
        lay.addWidget(_label(box, "The record to publish for the next stage is shown below, under “What we found”.", ""))
    elif nxt.get("host") and nxt.get("type") and isinstance(nxt.get("value"), str):
        fix = Fix(host=str(nxt["host"]), type=str(nxt["type"]), value=str(nxt["value"]),
                  action="replace" if d.get("record") else "publish")
        view = FixView(fix, "Next step: publish this record", box)
        view.copied.connect(card.copied)
        lay.addWidget(view)
    elif current == len(STAGES) - 1:
        lay.addWidget(_label(box, "You are at the last stage: spoofed mail is rejected.", ""))
    return box


def mx_section(card: CheckCard, r: CheckResult) -> QWidget | None:
    d = r.detail
    notes = []
    if d.get("null_mx"):
        notes.append("This domain says it receives no mail (null MX, RFC 7505).")
    if d.get("implicit"):
        notes.append("There is no MX record, so senders fall back to the domain's own address.")
    if d.get("parked"):
        notes.append("This domain looks parked: it neither sends nor receives mail.")
    hosts = [h for h in _as_list(d.get("hosts")) if isinstance(h, dict)]
    if not notes and not hosts:
        return None
    box, lay = _section(card, "Mail servers")
    for n in notes:
        lay.addWidget(_label(box, n, ""))
    if hosts:
        rows = []
        for h in hosts:
            problem = _text(h.get("error"))
            if h.get("cname"):
                problem = "; ".join(p for p in (problem, f"is an alias (CNAME) of {_text(h.get('cname'))}") if p)
            rows.append([_text(h.get("preference")), _text(h.get("host")), _text(h.get("addresses")), problem])
        lay.addWidget(compact_table(["Priority", "Mail server", "Addresses", "Problem"], rows, "Mail servers", box))
    return box


# Each protocol's own sections, in order; each is one step of building a card's body.
PROTOCOL_SECTIONS = {
    "spf": [spf_section],
    "dkim": [dkim_section, dkim_selectors_section],
    "dmarc": [dmarc_section],
    "mx": [mx_section],
    **EXTRA_SECTIONS,
}

__all__ = ["CheckCard", "check_title"]
