"""The "Test a message" screen: send a test message, watch for one sent by a platform, paste headers, or
paste a bounce (``bounce_view``: why it bounced and the record that fixes it).

All mail work runs in the engine process (the worker's mail jobs, ``core/worker/mail.py``); progress
lines and the result come back as signals tagged with a job number (wire values, rebuilt here with
``from_wire``), and anything from a job that is no longer current is ignored. The result is the summary line, the message-level findings, and one ``CheckCard`` per check
of the ``MessageReport``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, cast, overload

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QComboBox, QDialog, QFrame, QHBoxLayout, QLineEdit, QListWidget, QMessageBox, QPlainTextEdit, QScrollArea,
    QTabWidget, QVBoxLayout, QWidget,
)

from inboxready.core.bounce import BounceReport
from inboxready.core.mail.compose import new_token
from inboxready.core.mail.details import MessageDkimDetail, MessageDmarcDetail, MessageSpfDetail
from inboxready.core.mail.imap import Progress
from inboxready.core.mail.message import MessageReport
from inboxready.core.mail.roundtrip import RoundTripResult
from inboxready.core.worker.protocol import is_refusal, options_to_json
from inboxready.core.worker.values import WireError, from_wire, to_wire
from inboxready.core.model import CheckResult, Finding, present
from inboxready.core.textsafe import has_rtl, isolate, isolate_rtl, visible
from inboxready.core.mail.profiles import Profile, ProfileStore, ReadProfile, SendProfile

from .bounce_view import BouncePage, show_bounce
from .cards import STATUS_WORDS, CheckCard
from .cards.common import _section
from .engine import Engine
from .profile_dialog import ProfileDialog
from .widgets import (
    Badge, CodeText, CopyButton, FindingView, KeyButton, code_line, compact_table, label, set_available, shortcut, shown,
)

MAX_PASTE_BYTES = 5 * 1024 * 1024
SEND_TIMEOUT = 120.0
WATCH_TIMEOUT = 600.0

# the cards that show what the receiver wrote (``_receiver_section``)
ReceiverCardDetail = MessageSpfDetail | MessageDkimDetail | MessageDmarcDetail

STAGE_MARKS = {"connecting": "…", "connected": "✔", "sending": "…", "sent": "✔", "waiting": "…", "found": "✔",
               "verified": "✔", "timeout": "✘", "failed": "✘"}


class MessageScreen(QWidget):
    """The three ways to test a message, live progress, Cancel, and the verdict.

    ``nameservers``/``dns_timeout``: the DNS the analysis asks (None: the computer's). ``send_timeout``
    and ``watch_timeout`` bound the wait for the message (tests use small ones)."""

    reportShown = Signal(object)  # MessageReport (or None when no message was analysed)
    bounceShown = Signal(object)  # BounceReport
    finishedRun = Signal(object)  # RoundTripResult | MessageReport | None

    def __init__(self, engine: Engine, *, store: ProfileStore | None = None,
                 nameservers: list[str] | None = None, dns_timeout: float | None = None,
                 send_timeout: float = SEND_TIMEOUT, watch_timeout: float = WATCH_TIMEOUT,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.store = store if store is not None else ProfileStore()
        self.nameservers = nameservers
        self.dns_timeout = dns_timeout
        self.send_timeout = send_timeout
        self.watch_timeout = watch_timeout
        self.job = 0
        self.cards: dict[str, CheckCard] = {}
        self.finding_views: list[FindingView] = []
        self.last_result: Any = None
        self.last_report: MessageReport | None = None
        self.last_bounce: Any = None  # BounceReport of the "Paste a bounce" way
        self.token = new_token()
        self.setObjectName("MessageScreen")
        self.setAccessibleName("Test a message")
        self._build()
        self._connect()
        self.reload_profiles()

    # -- construction ---------------------------------------------------------------------------

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(22, 16, 22, 10)
        root.setSpacing(10)
        root.addWidget(label("Test a message", "Title", wrap=False))
        root.addWidget(label("See how a real message is judged: where it lands (Inbox or Junk) and whether "
                             "SPF, DKIM and DMARC passed for it.", "Subtitle"))
        if self.store.problem:
            note = label(self.store.problem, "InputNote")
            note.setProperty("error", True)
            root.addWidget(note)

        self.modes = QTabWidget()
        self.modes.setAccessibleName("How to test a message")
        self.modes.setDocumentMode(True)
        self.modes.addTab(self._build_send(), "Send a test")
        self.modes.addTab(self._build_watch(), "Watch for a message")
        self.modes.addTab(self._build_paste(), "Paste headers")
        self.bounce_page = BouncePage()
        self.modes.addTab(self.bounce_page, "Paste a bounce")
        root.addWidget(self.modes)

        row = QHBoxLayout()
        self.status_label = label("", "CardSummary", selectable=True)
        self.status_label.setAccessibleName("What is happening")
        row.addWidget(self.status_label, 1)
        self.cancel_button = KeyButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel the message test")
        self.cancel_button.setToolTip("Stop this test (Esc)")
        self.cancel_button.setEnabled(False)
        self.cancel_button.hide()  # shown only while a test runs: no "Cancel" beside "Done."
        row.addWidget(self.cancel_button)
        # a round trip or watch whose Microsoft/Google sign-in expired or was withdrawn: one click to sign in
        self.signin_again_button = KeyButton("Sign in again")
        self.signin_again_button.setAccessibleName("Sign in again with the mail provider")
        self.signin_again_button.hide()
        self.signin_again_button.clicked.connect(self.sign_in_again)
        self._signin_again: tuple[str, QComboBox] | None = None
        row.addWidget(self.signin_again_button)
        root.addLayout(row)

        self.progress = QListWidget()
        self.progress.setAccessibleName("Progress of the message test")
        self.progress.setMaximumHeight(110)
        self.progress.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.progress.hide()  # shown when the first line arrives (a pasted message has none)
        root.addWidget(self.progress)

        self.cards_scroll = QScrollArea()
        self.cards_scroll.setObjectName("CardsScroll")
        self.cards_scroll.setWidgetResizable(True)
        self.cards_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.cards_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cards_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        host = QWidget()
        host.setObjectName("CardsHost")
        self.result_layout = QVBoxLayout(host)
        self.result_layout.setContentsMargins(0, 0, 6, 0)
        self.result_layout.setSpacing(10)
        verdict_row = QWidget(host)
        verdict_lay = QHBoxLayout(verdict_row)
        verdict_lay.setContentsMargins(0, 0, 0, 0)
        verdict_lay.setSpacing(10)
        self.verdict_badge = Badge(verdict_row)  # the verdict's word and icon (never colour alone)
        self.verdict_badge.hide()
        verdict_lay.addWidget(self.verdict_badge, 0, Qt.AlignmentFlag.AlignTop)
        self.summary_label = label("", "CardTitle", selectable=True)
        self.summary_label.setAccessibleName("Verdict on the message")
        self.summary_label.hide()
        verdict_lay.addWidget(self.summary_label, 1)
        self.result_layout.addWidget(verdict_row)
        self.about_label = label("", "Muted", selectable=True)
        self.about_label.setAccessibleName("About the message")
        self.about_label.hide()
        self.result_layout.addWidget(self.about_label)
        self.result_layout.addStretch(1)
        self.cards_scroll.setWidget(host)
        root.addWidget(self.cards_scroll, 1)

    def _profile_row(self, kind: str, what: str) -> tuple[QHBoxLayout, QComboBox]:
        row = QHBoxLayout()
        row.setSpacing(6)
        box = QComboBox()
        box.setAccessibleName(f"{what} profile")
        box.setMinimumWidth(220)
        box.setPlaceholderText("No profile yet: press Add…")
        row.addWidget(box, 1)
        for caption, verb, slot in (("Add…", "Add a", self._add_profile), ("Edit…", "Edit the", self._edit_profile),
                                    ("Remove", "Remove the", self._remove_profile)):
            b = KeyButton(caption)
            b.setAccessibleName(f"{verb} {what.lower()} profile")
            b.clicked.connect(lambda _=False, k=kind, bx=box, s=slot: s(k, bx))
            row.addWidget(b)
        return row, box

    def _build_send(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setSpacing(6)
        lay.addWidget(label("InboxReady sends a test message from your sending account to your reading "
                            "mailbox, waits for it, and reads how the receiver judged it.", "Muted"))
        row, self.send_box = self._profile_row("send", "Sending")
        lay.addWidget(label("Send from", "SectionTitle"))
        lay.addLayout(row)
        row, self.read_box = self._profile_row("read", "Reading")
        lay.addWidget(label("Deliver to and read from", "SectionTitle"))
        lay.addLayout(row)
        extra = QHBoxLayout()
        self.to_field = QLineEdit()
        self.to_field.setAccessibleName("Send to (optional)")
        self.to_field.setPlaceholderText("Send to (optional; default: the reading mailbox)")
        self.to_field.setClearButtonEnabled(True)
        extra.addWidget(self.to_field, 1)
        self.unsub_field = QLineEdit()
        self.unsub_field.setAccessibleName("List-Unsubscribe address (optional)")
        self.unsub_field.setPlaceholderText("List-Unsubscribe URL (optional), https://…")
        self.unsub_field.setClearButtonEnabled(True)
        extra.addWidget(self.unsub_field, 1)
        lay.addLayout(extra)
        go = QHBoxLayout()
        self.send_button = KeyButton("Send test message")
        self.send_button.setObjectName("Primary")
        self.send_button.setAccessibleName("Send the test message")
        go.addWidget(self.send_button)
        go.addStretch(1)
        lay.addLayout(go)
        lay.addStretch(1)
        return page

    def _build_watch(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setSpacing(6)
        lay.addWidget(label("For a platform InboxReady can't drive (your shop, newsletter or CRM): send a "
                            "message from it to the address below with the code in its subject.", "Muted"))
        row, self.watch_box = self._profile_row("read", "Watched mailbox")
        lay.addWidget(label("Mailbox to watch", "SectionTitle"))
        lay.addLayout(row)
        grid = QHBoxLayout()
        grid.addWidget(label("Send to:", "", wrap=False))
        self.seed_field = code_line("", "Address to send the message to")
        grid.addWidget(self.seed_field, 2)
        grid.addWidget(CopyButton(lambda: self.seed_field.text(), "address to send to"))
        grid.addWidget(label("Subject code:", "", wrap=False))
        self.token_field = code_line(self.token, "Code to put in the subject")
        grid.addWidget(self.token_field, 1)
        grid.addWidget(CopyButton(lambda: self.token_field.text(), "code for the subject"))
        self.new_token_button = KeyButton("New code")
        self.new_token_button.setAccessibleName("Make a new code")
        grid.addWidget(self.new_token_button)
        lay.addLayout(grid)
        go = QHBoxLayout()
        self.watch_button = KeyButton("Start watching")
        self.watch_button.setObjectName("Primary")
        self.watch_button.setAccessibleName("Start watching the mailbox")
        go.addWidget(self.watch_button)
        go.addStretch(1)
        lay.addLayout(go)
        lay.addStretch(1)
        return page

    def _build_paste(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setSpacing(6)
        lay.addWidget(label("Open the message in your mail program, show its original or raw source "
                            "(\"Show original\", \"View source\"), and paste the headers here.", "Muted"))
        self.paste_box = QPlainTextEdit()
        self.paste_box.setAccessibleName("Pasted message headers")
        self.paste_box.setPlaceholderText("Authentication-Results: …\nReceived: …\nFrom: …")
        self.paste_box.setTabChangesFocus(True)
        self.paste_box.setMaximumHeight(140)
        lay.addWidget(self.paste_box)
        go = QHBoxLayout()
        self.analyse_button = KeyButton("Analyse")
        self.analyse_button.setObjectName("Primary")
        self.analyse_button.setAccessibleName("Analyse the pasted headers")
        self.analyse_button.setToolTip("Analyse the pasted headers (Ctrl+Enter)")
        go.addWidget(self.analyse_button)
        go.addStretch(1)
        lay.addLayout(go)
        lay.addStretch(1)
        return page

    def _connect(self) -> None:
        self.engine.taskProgress.connect(self._on_progress)
        self.engine.taskFinished.connect(self._on_finished)
        self.engine.taskCancelled.connect(self._on_cancelled)
        self.engine.taskFailed.connect(self._on_failed)
        self.send_button.clicked.connect(self.start_send)
        self.watch_button.clicked.connect(self.start_watch)
        self.analyse_button.clicked.connect(self.start_paste)
        self.bounce_page.analyseRequested.connect(self.start_bounce)
        self.cancel_button.clicked.connect(self.cancel)
        self.new_token_button.clicked.connect(self._new_token)
        self.watch_box.currentIndexChanged.connect(self._update_seed)
        shortcut(QKeySequence(Qt.Key.Key_Escape), self, self._escape, Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut(QKeySequence("Ctrl+Return"), self.paste_box, self.start_paste, Qt.ShortcutContext.WidgetShortcut)
        shortcut(QKeySequence("Ctrl+Return"), self.bounce_page, self.start_bounce,
                 Qt.ShortcutContext.WidgetWithChildrenShortcut)

    # -- profiles -------------------------------------------------------------------------------

    def reload_profiles(self) -> None:
        for box, names in ((self.send_box, sorted(self.store.send)), (self.read_box, sorted(self.store.read)),
                           (self.watch_box, sorted(self.store.read))):
            current = box.currentText()
            box.blockSignals(True)
            box.clear()
            box.addItems(names)
            if current in names:
                box.setCurrentText(current)
            elif names:
                box.setCurrentIndex(0)
            box.blockSignals(False)
        self._update_seed()
        self._update_buttons()

    @overload
    def _profile_of(self, kind: Literal["send"], box: QComboBox) -> SendProfile | None: ...
    @overload
    def _profile_of(self, kind: Literal["read"], box: QComboBox) -> ReadProfile | None: ...
    @overload
    def _profile_of(self, kind: str, box: QComboBox) -> Profile | None: ...

    def _profile_of(self, kind: str, box: QComboBox) -> Profile | None:
        """The profile of ``kind`` ("send" or "read") chosen in ``box``, if any."""
        name = box.currentText()
        if kind == "send":
            return self.store.send.get(name)
        return self.store.read.get(name)

    def open_profile_dialog(self, kind: str, profile: Profile | None = None) -> ProfileDialog:
        """Make (not show) the dialog; tests drive it directly."""
        return ProfileDialog(self.store, kind, profile, engine=self.engine, parent=self)

    def _run_dialog(self, dlg: ProfileDialog, box: QComboBox) -> None:
        if dlg.exec() == QDialog.DialogCode.Accepted and dlg.saved is not None:
            self.reload_profiles()
            box.setCurrentText(dlg.saved.name)

    def _add_profile(self, kind: str, box: QComboBox) -> None:
        self._run_dialog(self.open_profile_dialog(kind), box)

    def _edit_profile(self, kind: str, box: QComboBox) -> None:
        p = self._profile_of(kind, box)
        if p is None:
            self._add_profile(kind, box)
            return
        self._run_dialog(self.open_profile_dialog(kind, p), box)

    def _remove_profile(self, kind: str, box: QComboBox) -> None:
        p = self._profile_of(kind, box)
        if p is None:
            return
        what = "its sign-in (unless another profile uses it)" if p.uses_oauth else "its saved password"
        answer = QMessageBox.question(self, "Remove profile", f"Remove the profile {p.name!r} and {what}?")
        if answer == QMessageBox.StandardButton.Yes:
            self.store.remove(p)
            self.reload_profiles()

    def _update_seed(self, *_: object) -> None:
        p = self._profile_of("read", self.watch_box)
        address = p.mailbox_address if p is not None else ""
        self.seed_field.setText(address or "(add a reading profile with a mailbox address)")  # copied as is
        self.seed_field.setCursorPosition(0)

    def _new_token(self) -> None:
        self.token = new_token()
        self.token_field.setText(self.token)

    def _update_buttons(self) -> None:
        running = bool(self.job) and self.engine.task_running(self.job)
        busy = "a test is running; wait for it or cancel it." if running else ""
        no_read = "" if self.read_box.count() else "add a reading profile (the mailbox to look in) first."
        no_send = "" if self.send_box.count() else "add a sending profile (your mail server) first."
        self.cancel_button.setEnabled(running)
        self.cancel_button.setVisible(running)
        set_available(self.send_button, busy or no_send or no_read)
        set_available(self.watch_button, busy or (no_read if not self.watch_box.count() else ""))
        set_available(self.analyse_button, busy)
        set_available(self.bounce_page.analyse_button, busy)

    # -- running --------------------------------------------------------------------------------

    def _start(self, what: str, kind: str, params: dict[str, Any]) -> int:
        """Run the worker's mail job ``kind`` (``core/worker/mail.py``) with this screen's DNS settings."""
        if self.job:
            self.engine.cancel_task(self.job)
        self._clear_result()
        self.progress.clear()
        self.progress.hide()
        self.status_label.setText(shown(what))
        self.job = self.engine.run(kind, nameservers=self.nameservers, dns_timeout=self.dns_timeout, **params)
        self._update_buttons()
        self.cancel_button.setEnabled(True)
        self.cancel_button.show()
        return self.job

    def start_send(self) -> int:
        send = self._profile_of("send", self.send_box)
        read = self._profile_of("read", self.read_box)
        if send is None or read is None:
            self.status_label.setText("Add a sending and a reading profile first.")
            return 0
        to = self.to_field.text().strip() or None
        unsub = self.unsub_field.text().strip() or None
        return self._start("Sending the test message…", "roundtrip",
                           {"send": to_wire(send), "read": to_wire(read), "to": to, "timeout": self.send_timeout,
                            "unsubscribe_url": unsub})

    def start_watch(self) -> int:
        read = self._profile_of("read", self.watch_box)
        if read is None:
            self.status_label.setText("Add a reading profile first.")
            return 0
        token = self.token
        return self._start(f"Watching for a message with {token} in its subject…", "watch_token",
                           {"read": to_wire(read), "token": token, "timeout": self.watch_timeout})

    def start_paste(self) -> int:
        raw = self.paste_box.toPlainText().strip().encode("utf-8", "surrogateescape")
        if not raw:
            self.status_label.setText("Paste the headers of a message first.")
            return 0
        if len(raw) > MAX_PASTE_BYTES:
            self.status_label.setText("That is more than 5 MB; paste the headers only.")
            return 0
        raw = raw.replace(b"\r\n", b"\n") + b"\n"
        return self._start("Analysing the pasted headers…", "analyze_paste", {"raw": to_wire(raw)})

    def start_bounce(self) -> int:
        """Read the pasted (or dropped) bounce and check what it points at (``core.bounce``)."""
        raw, domain = self.bounce_page.payload()
        if not raw.strip():
            self.status_label.setText("Paste a bounce, or drop a saved bounce file, first.")
            return 0
        from inboxready.core.context import CheckOptions

        opts = CheckOptions(nameservers=self.nameservers, deadline=60.0)
        if self.dns_timeout is not None:
            opts.timeout = self.dns_timeout
        return self._start("Reading the bounce and checking what it points at…", "bounce",
                           {"raw": to_wire(raw), "domain": domain or None, "options": options_to_json(opts)})

    def cancel(self) -> None:
        if self.job and self.engine.cancel_task(self.job):
            self.status_label.setText("Stopping…")

    def _escape(self) -> None:
        """Esc stops the test that is running; with none running, it closes the window."""
        if self.job and self.engine.task_running(self.job):
            self.cancel()
        elif self.window() is not self:
            self.window().close()

    # -- results --------------------------------------------------------------------------------

    def _on_progress(self, job: int, data: Any) -> None:
        if job != self.job:
            return
        try:
            p = from_wire(data)
        except WireError:
            p = data
        if isinstance(p, Progress):
            mark, secs, text = STAGE_MARKS.get(p.stage, "·"), p.elapsed_ms / 1000, p.message
        else:  # a line the worker sent as plain text
            mark, secs, text = "·", 0.0, str(p)
        # a server's reply may be in it: shown escaped
        self.progress.addItem(f"{mark} {secs:5.1f} s  {shown(text)}")
        self.progress.show()
        self.progress.scrollToBottom()

    def _on_finished(self, job: int, data: Any) -> None:
        if job != self.job:
            return
        try:
            result = from_wire(data)
        except WireError as exc:
            self._on_failed(job, f"its answer could not be read ({exc})")
            return
        if not isinstance(result, (BounceReport, MessageReport, RoundTripResult)):
            self._on_failed(job, f"its answer was not a result ({type(result).__name__})")
            return
        self.last_result = result
        if isinstance(result, BounceReport):
            self.status_label.setText("Done.")
            show_bounce(self, result)
            self._update_buttons()
            self.finishedRun.emit(result)
            return
        report = result if isinstance(result, MessageReport) else result.report
        findings: list[Finding] = []
        if isinstance(result, MessageReport):
            self.status_label.setText("Done.")
            summary = _report_summary(result)
        else:
            self.status_label.setText("Done." if result.ok else "The test did not complete.")
            summary = result.summary
            findings.extend(result.findings)
        if report is not None:
            findings.extend(report.findings)
        self._offer_sign_in(result)
        self.show_result(summary, findings, report)
        self._update_buttons()
        self.finishedRun.emit(result)

    def _offer_sign_in(self, result: MessageReport | RoundTripResult) -> None:
        """Show "Sign in again with ..." when the run stopped on a withdrawn or expired sign-in."""
        from inboxready.core.auth.errors import SIGN_IN_AGAIN

        error = result.error if isinstance(result, RoundTripResult) else None
        self._signin_again = None
        if isinstance(result, RoundTripResult) and error is not None and error.code in (SIGN_IN_AGAIN,
                                                                                        "conn.oauth-scope"):
            if result.status == "send-failed":
                kind, box = "send", self.send_box
            else:
                kind, box = "read", (self.watch_box if self.modes.currentIndex() == 1 else self.read_box)
            p = self._profile_of(kind, box)
            if p is not None and p.uses_oauth:
                self._signin_again = (kind, box)
                self.signin_again_button.setText(
                    f"Sign in again with {'Microsoft' if p.oauth_provider == 'microsoft' else 'Google'}")
        self.signin_again_button.setVisible(self._signin_again is not None)

    def sign_in_again(self) -> ProfileDialog | None:
        """Open the profile's dialog and start its sign-in at once (the browser opens)."""
        if self._signin_again is None:
            return None
        kind, box = self._signin_again
        p = self._profile_of(kind, box)
        if p is None:
            return None
        dlg = self.open_profile_dialog(kind, p)
        dlg.sign_in()
        self.signin_again_button.hide()
        if not getattr(self, "_no_exec", False):
            self._run_dialog(dlg, box)
        return dlg

    def _on_cancelled(self, job: int) -> None:
        if job != self.job:
            return
        self.status_label.setText("Cancelled. Nothing more will be sent or read.")
        self.progress.addItem("✘ cancelled")
        self.progress.show()
        self._update_buttons()
        self.finishedRun.emit(None)

    def _on_failed(self, job: int, message: str) -> None:
        if job != self.job:
            return
        self.status_label.setText(shown(message if is_refusal(message) else  # busy, or this mailbox watched already
                                        f"The test stopped on an internal error: {message}"))
        self._update_buttons()
        self.finishedRun.emit(None)

    def _clear_result(self) -> None:
        for w in [*self.finding_views, *self.cards.values()]:
            self.result_layout.removeWidget(w)
            w.deleteLater()
        self.finding_views = []
        self.cards = {}
        self.summary_label.hide()
        self.verdict_badge.hide()
        self.about_label.hide()
        self.last_report = None
        self.last_bounce = None

    def show_result(self, summary: str, findings: list[Finding], report: MessageReport | None) -> None:
        self._clear_result()
        self.last_report = report
        self.summary_label.setText(shown(summary))
        self.summary_label.show()
        if report is not None and report.checks:
            status = str(report.status)
            self.verdict_badge.set_status(status, STATUS_WORDS.get(status, report.status.label))
            self.verdict_badge.show()
            self.summary_label.setAccessibleName(f"Verdict on the message: {self.verdict_badge.word}")
        if report is not None:
            who = (report.receiver if report.receiver else "the receiving service" if report.receiver == ""
                   else "nobody we can trust (no Authentication-Results from the receiver)")
            # the subject and From are the sender's text: a control or bidi character in them is shown
            # escaped, on one line, and right-to-left text in them is a bidi isolate (FSI…PDI), so a Hebrew or
            # Arabic subject or name never reorders the line around it (only such letters can: visible() has
            # escaped every bidi control). A subject is isolated whole (laid out in its own direction); in From
            # only the right-to-left words are, so the address and its brackets stay in reading order.
            subject = visible(report.subject or "(none)")
            one_line = [isolate(subject) if has_rtl(subject) else subject,
                        isolate_rtl(visible(report.from_ or "(none)")), isolate_rtl(visible(who))]
            self.about_label.setText(f"Subject: {one_line[0]}   ·   From: {one_line[1]}   ·   Judged by: {one_line[2]}")
            self.about_label.show()
        at = 2
        for f in present(findings):  # problem first, each fix once (as on the cards)
            view = FindingView(f)
            self.result_layout.insertWidget(at, view)
            self.finding_views.append(view)
            at += 1
        if report is not None:
            for name, check in report.checks.items():
                card = CheckCard(name, sections=MESSAGE_SECTIONS.get(name))
                card.set_result(check)
                self.result_layout.insertWidget(at, card)
                self.cards[name] = card
                at += 1
        self.reportShown.emit(report)


def _receiver_section(card: CheckCard, r: CheckResult) -> QWidget | None:
    """What the receiving service wrote for this method (its own reason text) and alignment in words."""
    d = cast(ReceiverCardDetail, r.detail)  # the message cards' shapes (core/mail/details.py)
    said, header, align = d.get("receiver_said"), d["header"], d.get("alignment")
    if not (said or header or align):
        return None
    box, lay = _section(card, "What the receiving service wrote")
    if said:
        lay.addWidget(label(f"The receiver wrote: {said}", "", selectable=True, parent=box))
    if align:
        lay.addWidget(label(align, "Muted", selectable=True, parent=box))
    if header:
        lay.addWidget(CodeText(header, f"{card.title} header as the receiver wrote it", box))
    return box


def _signatures_section(card: CheckCard, r: CheckResult) -> QWidget | None:
    """The message's DKIM signatures: who signed, what the receiver said, what our own check found."""
    rows = cast(MessageDkimDetail, r.detail).get("signatures", [])
    if not rows:
        return None
    box, lay = _section(card, "Signatures in this message")
    table = []
    for x in rows:
        receiver = x["receiver_result"] or "not reported"
        if x["receiver_comment"]:
            receiver += f" ({x['receiver_comment']})"
        ours = x["our_result"] or "not re-checked"
        if x["our_reason"] and ours != "pass":
            ours += f" ({x['our_reason']})"
        aligned = "yes" if x["aligned"] is True else "no" if x["aligned"] is False else ""
        table.append([x["d"] or "", x["s"] or "", receiver, ours, aligned])
    lay.addWidget(compact_table(["Signed by", "Selector", "The receiver said", "Our own check", "Matches From"],
                                table, "DKIM signatures in this message", box))
    return box


# A received message's cards: what the receiver wrote, never the domain check's controls (selector box).
MESSAGE_SECTIONS: dict[str, list[Callable[[CheckCard, CheckResult], QWidget | None]]] = {
    "spf": [_receiver_section],
    "dkim": [_receiver_section, _signatures_section],
    "dmarc": [_receiver_section],
}


def _report_summary(report: MessageReport) -> str:
    """The verdict on the message (DMARC first, then the rest: see core.mail.message), in plain words."""
    if not report.checks:
        return "No authentication results were found in what was pasted."
    return report.headline


class MessageWindow(QWidget):
    """The screen in a window of its own (opened from the main window)."""

    def __init__(self, screen: MessageScreen, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("InboxReady – Test a message")
        self.setAccessibleName("Test a message")
        self.screen_widget = screen
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(screen)
        self.resize(1000, 800)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self.screen_widget.cancel()
        super().closeEvent(event)


__all__ = ["MessageScreen", "MessageWindow"]

