"""One card per check. A card only displays a ``CheckResult``; it knows nothing about DNS.

The card itself is here; each check's own sections are in a module of their own named like the check
(``cards/spf.py``, ``cards/mta_sts.py``, ``cards/checklist.py``...), listed in ``cards/sections.py``; what
they share is in ``cards/common.py``.

A card appears as soon as a check starts (busy bar, "Checking…" badge) and fills in when its result
streams in. Its header is a button (Space or Enter opens it); opened, it shows what changed since the
last check, the protocol's own view (SPF include tree, DKIM keys, DMARC stage, MX hosts), the findings
with their explanation, RFC reference and fix, and the records as seen.

A card's body is built only when it is first opened, and then a section at a time: ``BodyBuilder`` adds
widgets until a few milliseconds are spent and lets the event loop paint before it goes on, so opening
every card at once never freezes the window. ``CheckCard.finish_body()`` completes it at once (tests,
screenshots).

Each section reads its check's ``detail`` through the check's TypedDict (``SpfDetail``, ``MxDetail``...;
``tests/core/checks/test_detail_shapes.py`` keeps them true); an empty ``detail`` (a check stopped at the deadline
or by a bug) hides the section, and a shape we do not know (a bug) only hides that section too.
"""

from __future__ import annotations

import sys
from collections import deque
from typing import Callable, Iterator

from PySide6.QtCore import QCoreApplication, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from inboxready.core.checks.registry import CHECK_TITLES
from inboxready.core.policy.diff import CheckDiff
from inboxready.core.model import CheckResult, DnsTrouble, Status

from .. import theme
from ..widgets import Badge, BusyBar, CodeText, FindingView, KeyButton, StatusStripe, label, shown
from .common import STATUS_WORDS, _section, later_steps
from .sections import PROTOCOL_SECTIONS

SUBTITLES = {
    "spf": "Which servers may send mail for you",
    "dkim": "The keys that sign your mail",
    "dmarc": "What receivers do with mail that fails",
    "mx": "Where your incoming mail goes",
}


def check_title(name: str) -> str:
    return CHECK_TITLES.get(name, name.upper())


class BodyBuilder(QObject):
    """Builds the bodies of opened cards a step (a section, a finding, a fix) at a time, oldest request
    first. One per application.

    A turn of the event loop runs one step: what a step adds costs two or three times as much again to
    show, lay out and paint once the event loop gets to it, so steps are not batched. Steps come from a
    1 ms timer, not a zero one: a zero-interval timer runs again before any other due timer (a busy bar's
    frame, another window's timer), so those would wait until the whole body was built.

    It also lets go of the bodies cards no longer show (``discard``): one a turn, when no body is being
    built, instead of deleting every card's old widgets in the turn that starts a new check.

    A step the timer says is due runs after the other events of that pass of the event loop (``_due``: a
    queued call): when a click or a timer in the same pass starts a new check (``cancel``), the old body's
    step is not run at all instead of costing its Python in the new check's first, longest turn."""

    _run_later = Signal()

    _instance: "BodyBuilder | None" = None

    def __init__(self) -> None:
        super().__init__()
        self._jobs: deque[tuple[CheckCard, Iterator[None]]] = deque()
        self._discarded: deque[QWidget] = deque()  # old bodies, hidden, to delete
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(1)
        self._timer.timeout.connect(self._due)
        self._head: object = None  # what was first in line when the timer said a step is due (None: nothing)
        self._run_later.connect(self._run_due, Qt.ConnectionType.QueuedConnection)

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

    def discard(self, body: QWidget) -> None:
        """Delete ``body`` (hidden, out of its card's layout) on a later turn."""
        self._discarded.append(body)
        if not self._timer.isActive():
            self._timer.start()

    def discarded(self) -> list[QWidget]:
        """The old bodies waiting to be deleted (hidden: not part of what a card shows)."""
        return list(self._discarded)

    @property
    def busy(self) -> bool:
        """A body is being built or an old one waits to be deleted."""
        return bool(self._jobs or self._discarded)

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

    def _first(self) -> object:
        return self._jobs[0] if self._jobs else self._discarded[0] if self._discarded else None

    def _due(self) -> None:
        if self._head is None:  # else the last one has not run yet
            self._head = self._first()
            if self._head is not None:
                self._run_later.emit()

    def _run_due(self) -> None:
        head, self._head = self._head, None
        if head is not None and self._first() is head:  # still first in line: nothing cancelled it meanwhile
            self._tick()
        elif not self._jobs and not self._discarded:
            self._timer.stop()

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
        elif self._discarded:
            body = self._discarded.popleft()
            try:
                body.deleteLater()
            except RuntimeError:  # gone already, with its card
                pass
        if not self._jobs and not self._discarded:
            self._timer.stop()


def resolver_title(reason: str, many: bool) -> str:
    """The banner's title for the user's own DNS server(s), by what went wrong (``DnsTrouble.reason``): one
    that answers "no such name" for everything, or only points elsewhere, does answer."""
    server = "Your DNS servers" if many else "Your DNS server"
    if reason == "nxdomain":
        return f"{server} {'say' if many else 'says'} no domain exists"
    if reason == "referral":
        return f"{server} {'do' if many else 'does'} not look up other domains"
    if reason == "refused":
        return f"{server} {'refuse' if many else 'refuses'} to answer"
    return f"{server} {'don' if many else 'doesn'}'t answer"


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
            title = resolver_title(trouble.reason, many)
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

        self._outer = outer
        # the body is made when something goes in it (``body``): a closed card, or one whose old body was just
        # let go by a new check, has none, so a new check neither makes nor styles an empty body per card
        self._body: QWidget | None = None
        self._body_layout: QVBoxLayout | None = None
        self._chevron: tuple[str, str, float] | None = None  # the chevron's look now

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
        if opened:
            self.body.setVisible(True)
        elif self._body is not None:
            self._body.setVisible(False)
        self._update_chevron()
        self._update_accessible()
        self.toggled.emit(opened)

    _CHEVRONS: dict[tuple[str, str, float], QPixmap] = {}  # drawn once per look for every card

    def _update_chevron(self) -> None:
        look = ("chevron-down" if self.is_open else "chevron-right", self.scheme, self.devicePixelRatioF())
        if look == self._chevron:
            return
        pixmap = self._CHEVRONS.get(look)
        if pixmap is None:
            pixmap = theme.themed_icon(look[0], look[1]).pixmap(QSize(16, 16), look[2])
            self._CHEVRONS[look] = pixmap
        self._chevron = look
        self.chevron.setPixmap(pixmap)

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

    @property
    def body(self) -> QWidget:
        """The body (made now if the card has none: shown when the card is open)."""
        if self._body is None:
            body = QWidget(self)
            body.setObjectName("CardBody")
            lay = QVBoxLayout(body)
            lay.setContentsMargins(38, 0, 14, 14)
            lay.setSpacing(8)
            body.hide()
            self._outer.addWidget(body)
            self._body, self._body_layout = body, lay
            body.setVisible(self.is_open)
        return self._body

    @property
    def body_layout(self) -> QVBoxLayout:
        self.body  # noqa: B018 (made if missing)
        assert self._body_layout is not None
        return self._body_layout

    def _clear_body(self) -> None:
        """Let go of the body: the old one is hidden, taken out of the card and deleted on a later turn
        (``BodyBuilder.discard``), all its widgets at once, without laying out or re-styling anything in the
        card; the next one is made when something goes in it."""
        BodyBuilder.shared().cancel(self)
        self._built = False
        fresh, self._fresh = self._fresh, None
        if fresh is not None:  # about to be deleted: do not style it first (its polish is still queued)
            try:
                for w in [fresh, *fresh.findChildren(QWidget)]:
                    QCoreApplication.removePostedEvents(w)
            except RuntimeError:
                pass
        old, lay = self._body, self._body_layout
        if old is None or lay is None:
            return
        if not lay.count() and not old.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly):
            return  # nothing shown (a section that failed half-way is a child outside the layout): kept
        old.hide()
        self._outer.removeWidget(old)
        self._body = self._body_layout = None
        BodyBuilder.shared().discard(old)

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
                for more in later_steps(section):  # the rest of a section that is built in steps
                    more()
                    self._fresh = section
                    yield
        if r.findings:
            add(label("What we found", "SectionTitle", parent=body))
            yield
            for presented in r.presented():  # problem first; each fix once, under the most severe finding it solves
                view = FindingView(presented, body, with_fix=False)
                view.copied.connect(self.copied)
                add(view)
                yield
                for fix_view in view.fix_steps():  # a fix (its fields, its Copy buttons) a turn
                    self._fresh = fix_view
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


__all__ = ["CheckCard", "check_title"]
