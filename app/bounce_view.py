"""The "Paste a bounce" way into the Test a message screen, and how a bounce's report is shown there.

``BouncePage`` is the tab: a box to paste the bounce (the whole message, or just the error text) or to drop
a saved ``.eml`` on, an optional sending domain, and the buttons. ``show_bounce(screen, report)`` fills the
screen's result area: the headline and a badge, what the bounce is about, the receiver's own words and what
was read from the bounce (``BounceSummary``), then one card per check that was run. The work itself is
``core.bounce.analyze_bounce`` on the engine's loop (``MessageScreen.start_bounce``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog, QFrame, QGridLayout, QHBoxLayout, QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget,
)

from inboxready.core.bounce import BounceReport

from .cards import CheckCard
from .cards.dkim import dkim_section
from .cards.dmarc import dmarc_section
from .cards.spf import spf_section
from .widgets import CodeText, FindingView, KeyButton, label, shown

if TYPE_CHECKING:  # pragma: no cover
    from .message_screen import MessageScreen

MAX_BOUNCE_FILE = 25 * 1024 * 1024
SHOWN_BYTES = 64 * 1024  # of a loaded file, shown in the box (the whole file is read)
BOUNCE_FILES = "Bounce messages (*.eml *.msg *.txt);;All files (*)"

CATEGORY_WORDS = {"authentication": "Authentication (SPF, DKIM, DMARC)", "reverse-dns": "Reverse DNS of the sending server",
                  "tls": "Encryption (TLS)", "reputation": "Reputation or sending rate",
                  "content": "The message's content", "mailbox": "The recipient's address or mailbox",
                  "policy": "The receiver's policy", "other": "Something else"}
PART_WORDS = {"spf": "SPF", "dkim": "DKIM", "dmarc": "DMARC", "alignment": "alignment with the From domain",
              "spf-or-dkim": "SPF and DKIM", "all": "SPF, DKIM and DMARC", "arc": "ARC"}

# The cards of a bounce show the domain's records; the DKIM card without the selector box (the selector
# the message was signed with is already checked).
BOUNCE_SECTIONS: dict[str, list[Any]] = {"spf": [spf_section], "dkim": [dkim_section], "dmarc": [dmarc_section]}


class _DropBox(QPlainTextEdit):
    """The paste box; a file dropped on it is loaded whole (``fileDropped``)."""

    fileDropped = Signal(str)

    def dragEnterEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
            return
        super().dragEnterEvent(event)

    def dragMoveEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
            return
        super().dragMoveEvent(event)

    def dropEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()] if event.mimeData().hasUrls() else []
        if files:
            event.acceptProposedAction()
            self.fileDropped.emit(files[0])
            return
        super().dropEvent(event)


class BouncePage(QWidget):
    """The "Paste a bounce" tab."""

    analyseRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loaded: bytes | None = None  # a dropped or opened file, used whole
        self.loaded_name = ""
        lay = QVBoxLayout(self)
        lay.setSpacing(6)
        lay.addWidget(label("Got a message back saying your mail couldn't be delivered? Paste it here (the whole "
                            "message, or just the error text such as 550 5.7.26 …), or drop the saved .eml file. "
                            "InboxReady says why it bounced and checks the part of your domain it points at.",
                            "Muted"))
        self.box = _DropBox()
        self.box.setAccessibleName("Pasted bounce")
        self.box.setPlaceholderText("550-5.7.26 This mail has been blocked because the sender is unauthenticated…\n"
                                    "(or drop a saved bounce .eml here)")
        self.box.setTabChangesFocus(True)
        self.box.setMaximumHeight(140)
        self.box.setAcceptDrops(True)
        lay.addWidget(self.box)
        self.file_note = label("", "InputNote")
        self.file_note.hide()
        lay.addWidget(self.file_note)
        row = QHBoxLayout()
        self.domain_field = QLineEdit()
        self.domain_field.setAccessibleName("Your sending domain (optional)")
        self.domain_field.setPlaceholderText("Your sending domain, if the bounce doesn't show it (optional)")
        self.domain_field.setClearButtonEnabled(True)
        row.addWidget(self.domain_field, 1)
        self.open_button = KeyButton("Open a saved bounce…")
        self.open_button.setAccessibleName("Open a saved bounce file")
        row.addWidget(self.open_button)
        self.clear_button = KeyButton("Clear")
        self.clear_button.setAccessibleName("Clear the bounce")
        row.addWidget(self.clear_button)
        lay.addLayout(row)
        go = QHBoxLayout()
        self.analyse_button = KeyButton("Explain the bounce")
        self.analyse_button.setObjectName("Primary")
        self.analyse_button.setAccessibleName("Explain the bounce")
        self.analyse_button.setToolTip("Read the bounce and check what it points at (Ctrl+Enter)")
        go.addWidget(self.analyse_button)
        go.addStretch(1)
        lay.addLayout(go)
        lay.addStretch(1)
        self.box.fileDropped.connect(self.load_file)
        self.open_button.clicked.connect(self._open)
        self.clear_button.clicked.connect(self.clear)
        self.analyse_button.clicked.connect(self.analyseRequested)

        self.setAcceptDrops(True)  # a file dropped anywhere on the tab, not only on the box

    def dragEnterEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()] if event.mimeData().hasUrls() else []
        if files:
            event.acceptProposedAction()
            self.load_file(files[0])

    # -- input ----------------------------------------------------------------------------------------

    def load_file(self, path: str) -> bool:
        """Load a bounce file whole (shown in the box in part, read-only until cleared)."""
        try:
            size = Path(path).stat().st_size
            if size > MAX_BOUNCE_FILE:
                self._note(f"{Path(path).name} is larger than {MAX_BOUNCE_FILE // (1024 * 1024)} MB; save the "
                           "bounce without its attachments, or paste the error text.", error=True)
                return False
            data = Path(path).read_bytes()
        except OSError as exc:
            self._note(f"Couldn't open {Path(path).name}: {exc.strerror or exc}", error=True)
            return False
        self.loaded, self.loaded_name = data, Path(path).name
        text = data[:SHOWN_BYTES].decode("utf-8", "replace")
        self.box.setPlainText(shown(text) + ("\n…" if len(data) > SHOWN_BYTES else ""))  # shown; the bytes are read
        self.box.setReadOnly(True)
        self._note(f"Loaded {self.loaded_name} ({max(1, len(data) // 1024)} KB); the whole file is read. Clear to "
                   "paste something else.")
        return True

    def _open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a saved bounce", "", BOUNCE_FILES)
        if path:
            self.load_file(path)

    def clear(self) -> None:
        self.loaded, self.loaded_name = None, ""
        self.box.setReadOnly(False)
        self.box.clear()
        self.file_note.hide()

    def _note(self, text: str, *, error: bool = False) -> None:
        self.file_note.setText(shown(text))
        self.file_note.setProperty("error", error)
        self.file_note.style().unpolish(self.file_note)
        self.file_note.style().polish(self.file_note)
        self.file_note.show()

    def payload(self) -> tuple[bytes, str]:
        """(the bounce as bytes, the domain typed or "")."""
        if self.loaded is not None:
            raw = self.loaded
        else:
            raw = self.box.toPlainText().strip().encode("utf-8", "surrogateescape")
        return raw, self.domain_field.text().strip()


# -- the result ---------------------------------------------------------------------------------------------

def verdict(report: BounceReport) -> tuple[str, str]:
    """(badge status, badge word) for a bounce's report."""
    if not report.readable:
        return "error", "Couldn't read"
    if not report.bounced:
        return "pass", "Delivered"
    code = report.exit_code
    if code == 1:
        return "fail", "Something to fix"
    if code == 2:
        return "error", "Couldn't check"
    if report.checks:
        return "pass", "Nothing to fix in DNS"
    return "info", "No DNS fix"


class BounceSummary(QFrame):
    """What was read from the bounce: its meaning, the receiver's words, and the facts with their sources."""

    def __init__(self, report: BounceReport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        self.setAccessibleName("What the bounce says")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(14, 12, 14, 12)
        lay.setSpacing(8)
        c = report.classification
        if report.bounced:
            what = CATEGORY_WORDS.get(c.category, c.category)
            if c.part:
                what += f": {PART_WORDS.get(c.part, c.part)}"
            lay.addWidget(label(f"About: {what}" + ("" if c.known else " (a code we don't know)"), "SectionTitle",
                                parent=self))
        self.explanation = label(report.explanation, "", selectable=True, parent=self)
        self.explanation.setAccessibleName("What it means and what to change")
        lay.addWidget(self.explanation)
        if report.diagnostic:
            lay.addWidget(label("The receiver said", "SectionTitle", parent=self))
            self.words = CodeText(report.diagnostic, "The receiver's own words", self)
            lay.addWidget(self.words)
        rows = _facts(report)
        if rows:
            lay.addWidget(label("What the bounce shows", "SectionTitle", parent=self))
            facts = QWidget(self)
            facts.setAccessibleName("What the bounce shows")
            grid = QGridLayout(facts)
            grid.setContentsMargins(0, 0, 0, 0)
            grid.setHorizontalSpacing(14)
            grid.setVerticalSpacing(4)
            for i, (what, value, source) in enumerate(rows):
                grid.addWidget(label(what, "", wrap=False, parent=facts), i, 0, Qt.AlignmentFlag.AlignTop)
                v = label(value, "", selectable=True, parent=facts)
                v.setAccessibleName(what)
                grid.addWidget(v, i, 1, Qt.AlignmentFlag.AlignTop)
                src = source if source in ("you gave it",) or source.startswith("the domain SPF") else f"from {source}"
                grid.addWidget(label(src if source else "", "Muted", parent=facts), i, 2, Qt.AlignmentFlag.AlignTop)
            grid.setColumnStretch(1, 2)
            grid.setColumnStretch(2, 1)
            self.facts = facts
            lay.addWidget(facts)
        if c.rule is not None:
            conf = "" if c.rule.confidence == "confirmed" else f" ({c.rule.confidence})"
            lay.addWidget(label(f"Rule {c.rule.id}: {c.rule.source}, checked {c.rule.checked}{conf}", "Muted",
                                selectable=True, parent=self))
        if report.checks:
            title = ("Worth ruling out, checked from this network" if report.context
                     else "Checked from this network")
            lay.addWidget(label(f"{title}: {report.domain}", "SectionTitle", parent=self))


def _facts(report: BounceReport) -> list[list[str]]:
    f = report.bounce.facts
    rows: list[list[str]] = []
    m = report.main
    if m is None:
        return rows
    codes = " ".join(x for x in (m.reply_code, m.status) if x)
    if codes:
        rows.append(["Codes", codes + (" (permanent)" if report.permanent else " (temporary)" if report.permanent is
                                       False else ""), "the bounce"])
    if report.provider_code:
        rows.append(["The provider's code", report.provider_code, "the receiver's words"])
    if report.receiving_service:
        rows.append(["Receiving service", report.receiving_service, "the bounce"])
    if m.recipient:
        rows.append(["Recipient", m.recipient, "the bounce"])
    if report.from_domain:
        how = report.from_domain_how
        rows.append(["Sent as", report.from_domain, how.removeprefix("from ")])
    if f.mailfrom_domain and f.mailfrom_domain != report.from_domain:
        rows.append(["Envelope (bounce) domain", f.mailfrom_domain, f.mailfrom_source])
    if f.sending_ip:
        rows.append(["Sending server", f.sending_ip, f.sending_ip_source])
    if f.embedded:
        rows.append(["The receiver's results", ", ".join(f"{k}={v}" for k, v in f.embedded.items()),
                     "the receiver's words or headers"])
    for s in f.signatures:
        rows.append(["DKIM signature", f"d={s.d} s={s.s}", "the returned message"])
    if f.subject:
        rows.append(["Subject", f.subject, "the returned message"])
    return rows


def show_bounce(screen: "MessageScreen", report: BounceReport) -> None:
    """Fill ``screen``'s result area with ``report`` (the screen's own widgets, cleared first)."""
    screen._clear_result()
    screen.last_bounce = report
    screen.summary_label.setText(shown(report.headline))
    screen.summary_label.show()
    status, word = verdict(report)
    screen.verdict_badge.set_status(status, word)
    screen.verdict_badge.show()
    screen.summary_label.setAccessibleName(f"Verdict on the bounce: {word}")
    at = 2
    summary = BounceSummary(report)
    screen.result_layout.insertWidget(at, summary)
    screen.finding_views.append(summary)  # type: ignore[arg-type]
    at += 1
    for f in report.findings:
        if f.code == "bounce.no-domain":
            continue  # said in the explanation
        view = FindingView(f)
        screen.result_layout.insertWidget(at, view)
        screen.finding_views.append(view)
        at += 1
    for name, check in report.checks.items():
        card = CheckCard(name, sections=BOUNCE_SECTIONS.get(name))
        card.set_result(check)
        if check.status.value in ("fail", "warn") and not report.context:
            card.set_open(True)  # what to change, open at once
        screen.result_layout.insertWidget(at, card)
        screen.cards[name] = card
        at += 1
    screen.bounceShown.emit(report)


__all__ = ["BouncePage", "BounceSummary", "show_bounce", "verdict"]
