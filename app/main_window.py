"""The main window: the domain field, the bulk-sender summary, one card per check, the DNS query log.

The window only displays what the core returns; it adds no checking logic. Checks run in the engine
process (``engine.Engine``, one ``inboxready worker`` driven over JSON lines); results arrive as signals
tagged with a job number, and anything from a job that is no longer current is ignored. The demo's DNS
server runs in the worker too: ``demo_server`` is the window's handle on it (its address), set once the
worker has started it.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from PySide6.QtCore import QByteArray, QSize, QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QCompleter, QDialog, QDialogButtonBox, QFrame, QHBoxLayout, QLabel, QLineEdit,
    QListWidget, QListWidgetItem, QMainWindow, QMenu, QScrollArea, QVBoxLayout, QWidget,
)

from inboxready.core.worker.protocol import is_refusal
from inboxready.core.context import CheckOptions
from inboxready.core.dns.client import DEFAULT_TIMEOUT, QueryRecord, parse_nameserver
from inboxready.core.domain import DomainError, parse_domain
from inboxready.core.policy.diff import CheckDiff
from inboxready.core.store.history import History
from inboxready.core.model import CheckResult, DomainReport, Status
from inboxready.core.store.settings import Settings, SettingsStore

from . import theme
from .cards import BodyBuilder, CheckCard, DnsTroubleBanner
from .demo import DEMO_DEADLINE, DEMO_TIMEOUT, DemoSet, load_demo
from .engine import CheckRequest, Engine, set_shared
from .queryop import WorkerOp
if TYPE_CHECKING:  # the message screen (and the mail engine under it) loads on first use, not at start-up
    from .message_screen import MessageWindow
from .queries import QueryLogView
from .readiness import ReadinessBar
from .tray import WatchService, connect_notice
from .widgets import KeyButton, label, set_available, shortcut

APP_TITLE = "InboxReady"
READINESS_DEBOUNCE_MS = 80
WATCH_START_DELAY_MS = 1500  # the watch-list schedule starts once the window is up, not during start-up
WATCH_IDLE_POLL_MS = 100  # then waits for a turn with no card body to build
WATCH_IDLE_WAIT_MS = 15_000  # but no longer than this for the window to be idle
NOTHING_TO_CANCEL = "nothing is being checked."


def _freeze_startup_objects() -> None:
    """Move everything alive once the window is up (modules, classes, Qt wrappers: tens of thousands of
    objects that live as long as the app) out of the garbage collector's sight. Otherwise every full
    collection walks them all, a 30-40 ms pause of whichever thread triggers it while it holds the GIL,
    and the window freezes for that long in the middle of a check."""
    gc.freeze()


@dataclass
class DemoServer:
    """The demo's DNS server, which runs in the worker: its address (a new one after a worker restart)."""

    address: str


@runtime_checkable
class FollowsResolver(Protocol):
    """A tool window that uses the app's DNS server (the record builders, DMARC reports)."""

    nameservers: list[str] | None
    timeout: float


THEME_CHOICES = (("Follow the system", "system"), ("Light", "light"), ("Dark", "dark"))


class SettingsDialog(QDialog):
    """The DNS server to ask (e.g. to check an internal DNS), the compliance profile and the colours."""

    def __init__(self, nameserver: str, parent: QWidget | None = None, *, profile: str = "bulk-sender",
                 theme: str = "system") -> None:
        super().__init__(parent)
        self.setWindowTitle("InboxReady settings")
        self.setAccessibleName("Settings")
        lay = QVBoxLayout(self)
        lay.setSpacing(8)
        lay.addWidget(label("DNS server to ask", "SectionTitle"))
        lay.addWidget(label("Leave empty to use your computer's own DNS servers (best for most people). "
                            "Type an address such as 192.0.2.53 or 192.0.2.53:5353 to ask one server only.",
                            "Muted"))
        self.field = QLineEdit(nameserver)
        self.field.setPlaceholderText("Your computer's DNS servers")
        self.field.setAccessibleName("Custom DNS server address")
        lay.addWidget(self.field)
        self.error = label("", "InputNote")
        self.error.setProperty("error", True)
        self.error.hide()
        lay.addWidget(self.error)
        lay.addWidget(label("Compliance profile", "SectionTitle"))
        lay.addWidget(label("How strictly checks and exported audit reports are judged. The mapping to SOC 2 and "
                            "HIPAA controls is guidance, not legal advice.", "Muted"))
        from inboxready.core.policy.compliance import DEFAULT_PROFILE, load_profiles

        self.profile_box = QComboBox()
        self.profile_box.setAccessibleName("Compliance profile")
        for key, prof in load_profiles().items():
            self.profile_box.addItem(prof.title, key)
            self.profile_box.setItemData(self.profile_box.count() - 1, prof.description, Qt.ItemDataRole.ToolTipRole)
        index = self.profile_box.findData(profile)
        self.profile_box.setCurrentIndex(index if index >= 0 else max(0, self.profile_box.findData(DEFAULT_PROFILE)))
        lay.addWidget(self.profile_box)
        lay.addWidget(label("Appearance", "SectionTitle"))
        self.theme_box = QComboBox()
        self.theme_box.setAccessibleName("Colours: follow the system, light or dark")
        for text, key in THEME_CHOICES:
            self.theme_box.addItem(text, key)
        self.theme_box.setCurrentIndex(max(0, self.theme_box.findData(theme)))
        lay.addWidget(self.theme_box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setAccessibleName("Save settings")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Close without saving")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(480, self.sizeHint().height())

    def value(self) -> str:
        return self.field.text().strip()

    def profile(self) -> str:
        return str(self.profile_box.currentData())

    def theme(self) -> str:
        return str(self.theme_box.currentData())

    def _accept(self) -> None:
        text = self.value()
        if text:
            try:
                parse_nameserver(text)
            except ValueError as exc:
                self.error.setText(str(exc))
                self.error.show()
                return
        self.accept()


class MainWindow(QMainWindow):
    """The app window. ``timeout``/``deadline`` override the DNS limits (tests use small ones)."""

    checkStarted = Signal(str)  # domain
    checkFinished = Signal(object)  # DomainReport

    def __init__(
        self,
        *,
        settings_store: SettingsStore | None = None,
        history: History | None = None,
        demo: bool = False,
        timeout: float | None = None,
        deadline: float | None = None,
        theme_manager: theme.ThemeManager | None = None,
    ) -> None:
        super().__init__()
        self.store = settings_store or SettingsStore()
        self.settings: Settings = self.store.load()
        if theme_manager is not None and not theme_manager.pinned:
            theme_manager.set_choice(self.settings.theme)  # before any widget exists: styled once
        self.history = history if history is not None else History()
        self.engine = Engine(self)
        set_shared(self.engine)  # the publish and live-check dialogs, made from the fix boxes, use it too
        self.timeout = timeout
        self.deadline = deadline
        self.theme_manager = theme_manager
        self.scheme = theme_manager.scheme if theme_manager is not None else "light"
        if theme_manager is not None:
            theme_manager.listeners.append(self)
        self.cards: dict[str, CheckCard] = {}
        # cards the check on screen doesn't use (the checklist and the verdict until it is done, a check left
        # out this time), hidden and kept for the next check that does: making a card and styling its
        # widgets for the first time costs more than showing it again
        self._spare_cards: dict[str, CheckCard] = {}
        self._judged: tuple[CheckResult, CheckResult | None] | None = None  # the worker's, for the check on screen
        self._judged_profile = ""  # the compliance profile the worker judged it by
        self._judged_rate: float | None = None  # the spam rate the worker judged the checklist with
        self._finishing: str | None = None  # the domain whose finished check is being shown (``_finish_steps``)
        self.results: dict[str, CheckResult] = {}
        self.current_job = 0
        self._scroll_mark = 0
        self.current_domain = ""
        self.last_report: DomainReport | None = None
        self.checking = False
        self.demo_server: DemoServer | None = None
        self._demo_job = 0  # the worker job starting the demo's server (0: none pending)
        self._host_job = 0  # the worker job finding the DNS host of the domain being checked
        self.demo_set: DemoSet | None = None
        self.demo_selectors: dict[str, list[str]] = {}
        self._closed = False
        self.message_window: MessageWindow | None = None
        self.tool_windows: dict[str, QWidget] = {}  # made on first use (their modules load then, too)
        self.spam_rates: dict[str, float] = {}  # domain -> the spam rate typed into the checklist (percent)
        self.watch_service: Any = None  # tray.WatchService, started shortly after the window is up

        self.setWindowTitle(APP_TITLE)
        self.setWindowIcon(theme.icon("app"))
        self.setMinimumSize(QSize(900, 600))
        self._tab_timer = QTimer(self)
        self._tab_timer.setSingleShot(True)
        self._tab_timer.setInterval(60)
        self._tab_timer.timeout.connect(self._apply_tab_order)
        # the summary bar is redrawn once per burst of results, not for each one
        self._readiness_timer = QTimer(self)
        self._readiness_timer.setSingleShot(True)
        self._readiness_timer.setInterval(READINESS_DEBOUNCE_MS)
        self._readiness_timer.timeout.connect(self._update_readiness)
        self._build()
        self._connect()
        self._resolver_changed()
        self._restore_geometry()
        self._show_problems()
        self._refresh_welcome()
        self._update_status_idle()
        if demo:
            QTimer.singleShot(0, self.enter_demo)
        QTimer.singleShot(0, _freeze_startup_objects)
        self._watch_waited_ms = 0
        QTimer.singleShot(WATCH_START_DELAY_MS, self._start_watch_service_when_idle)

    # -- construction ---------------------------------------------------------------------------

    def _build(self) -> None:
        central = QWidget()
        central.setObjectName("Central")
        self.setCentralWidget(central)
        root = QVBoxLayout(central)
        root.setContentsMargins(22, 16, 22, 10)
        root.setSpacing(10)

        head = QHBoxLayout()
        head.setSpacing(10)
        logo = QLabel()
        logo.setPixmap(theme.icon("app").pixmap(QSize(36, 36), self.devicePixelRatioF()))
        head.addWidget(logo)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(label(APP_TITLE, "Title", wrap=False))
        titles.addWidget(label("Is your domain's email set up to be trusted? Check it and get the exact fix.",
                               "Subtitle"))
        head.addLayout(titles, 1)
        self.demo_button = KeyButton("Demo")
        self.demo_button.setAccessibleName("Show the demo with example domains")
        self.demo_button.setToolTip("Check a set of example domains with typical problems (no internet needed)")
        head.addWidget(self.demo_button, 0, Qt.AlignmentFlag.AlignTop)
        self.message_button = KeyButton("Test a message…")
        self.message_button.setAccessibleName("Open the Test a message screen")
        self.message_button.setToolTip("Send, watch for or paste a message and see how it was judged (Ctrl+M)")
        head.addWidget(self.message_button, 0, Qt.AlignmentFlag.AlignTop)
        self.tools_button = KeyButton("Tools")
        self.tools_button.setAccessibleName("More tools: record builders, DMARC reports, watch list, export")
        self.tools_button.setToolTip("Record builders, DMARC reports, the watch list and history, export")
        self.tools_menu = QMenu(self.tools_button)
        self.tools_menu.setAccessibleName("Tools")
        self.tools_button.setMenu(self.tools_menu)
        head.addWidget(self.tools_button, 0, Qt.AlignmentFlag.AlignTop)
        self.settings_button = KeyButton("Settings…")
        self.settings_button.setAccessibleName("Open settings")
        head.addWidget(self.settings_button, 0, Qt.AlignmentFlag.AlignTop)
        self.about_button = KeyButton("About")
        self.about_button.setAccessibleName("About InboxReady: version and licence")
        self.about_button.setToolTip("Version and licence (F1)")
        head.addWidget(self.about_button, 0, Qt.AlignmentFlag.AlignTop)
        root.addLayout(head)

        self.notice = label("", "InputNote")
        self.notice.setProperty("error", True)
        self.notice.hide()
        root.addWidget(self.notice)

        row = QHBoxLayout()
        row.setSpacing(8)
        self.domain_field = QLineEdit()
        self.domain_field.setObjectName("DomainField")
        self.domain_field.setPlaceholderText("Your domain, e.g. example.com (or paste a web or e-mail address)")
        self.domain_field.setAccessibleName("Domain to check")
        self.domain_field.setAccessibleDescription("Type or paste a domain, a web address or an e-mail address, "
                                                   "then press Enter.")
        self.domain_field.setClearButtonEnabled(True)
        self.completer_model = QStringListModel(self.settings.recent_domains)
        completer = QCompleter(self.completer_model, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.domain_field.setCompleter(completer)
        row.addWidget(self.domain_field, 1)
        self.check_button = KeyButton("Check")
        self.check_button.setObjectName("Primary")
        self.check_button.setAccessibleName("Check the domain")
        self.check_button.setToolTip("Check the domain (Enter)")
        self.check_button.setMinimumWidth(110)
        row.addWidget(self.check_button)
        self.cancel_button = KeyButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel the check")
        self.cancel_button.setToolTip("Stop this check (Esc)")
        set_available(self.cancel_button, NOTHING_TO_CANCEL)  # enabled while checking (never hidden: no relayout)
        row.addWidget(self.cancel_button)
        root.addLayout(row)
        self.input_note = label("", "InputNote")
        self.input_note.setAccessibleName("What will be checked")
        root.addWidget(self.input_note)

        body = QHBoxLayout()
        body.setSpacing(14)
        self.demo_panel = self._build_demo_panel()
        body.addWidget(self.demo_panel)
        column = QVBoxLayout()
        column.setSpacing(10)
        self.readiness = ReadinessBar()
        column.addWidget(self.readiness)
        self.dns_trouble = DnsTroubleBanner()  # DNS did not answer: one message instead of grey cards
        column.addWidget(self.dns_trouble)
        self.cards_scroll = QScrollArea()
        self.cards_scroll.setObjectName("CardsScroll")
        self.cards_scroll.setWidgetResizable(True)
        self.cards_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.cards_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cards_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        host = QWidget()
        host.setObjectName("CardsHost")
        self.cards_layout = QVBoxLayout(host)
        self.cards_layout.setContentsMargins(0, 0, 6, 0)
        self.cards_layout.setSpacing(10)
        self.welcome = self._build_welcome()
        self.cards_layout.addWidget(self.welcome)
        self.cards_layout.addStretch(1)
        self.cards_scroll.setWidget(host)
        column.addWidget(self.cards_scroll, 1)

        qrow = QHBoxLayout()
        self.queries_button = KeyButton("Show DNS queries (0)")
        self.queries_button.setObjectName("Link")
        self.queries_button.setCheckable(True)
        self.queries_button.setAccessibleName("Show the DNS queries made")
        qrow.addWidget(self.queries_button)
        qrow.addStretch(1)
        self.export_button = KeyButton("Export report…")
        self.export_button.setAccessibleName("Export this check as a PDF or HTML report")
        self.export_button.setToolTip("Save this check as an audit-ready PDF or HTML report (Ctrl+E)")
        set_available(self.export_button, "check a domain first.")  # enabled once a check has finished
        qrow.addWidget(self.export_button)
        column.addLayout(qrow)
        self.query_view = QueryLogView()
        self.query_view.hide()
        column.addWidget(self.query_view)
        body.addLayout(column, 1)
        root.addLayout(body, 1)
        self.statusBar().setSizeGripEnabled(True)

    def _build_welcome(self) -> QFrame:
        box = QFrame()
        box.setObjectName("Welcome")
        lay = QVBoxLayout(box)
        lay.setContentsMargins(28, 24, 28, 24)
        lay.setSpacing(10)
        lay.addWidget(label("Check your domain's email set-up", "CardTitle"))
        lay.addWidget(label("Type the domain you send e-mail from and press Enter. InboxReady reads its public "
                            "DNS records (SPF, DKIM, DMARC and MX) and tells you, in plain words, what is "
                            "missing or wrong, with the exact record to publish to fix it.", ""))
        lay.addWidget(label("Nothing is sent and nothing is changed: it only reads what anyone on the internet "
                            "can already see.", "Muted"))
        row = QHBoxLayout()
        self.welcome_demo_button = KeyButton("Try the demo")
        self.welcome_demo_button.setObjectName("Primary")
        self.welcome_demo_button.setAccessibleName("Try the demo with example domains")
        row.addWidget(self.welcome_demo_button)
        row.addWidget(label("Example domains with typical problems, no internet needed.", "Muted"), 1)
        lay.addLayout(row)
        self.recent_row = QHBoxLayout()
        self.recent_row.setSpacing(4)
        lay.addLayout(self.recent_row)
        return box

    def _build_demo_panel(self) -> QFrame:
        panel = QFrame()
        panel.setObjectName("DemoPanel")
        panel.setFixedWidth(290)
        lay = QVBoxLayout(panel)
        lay.setContentsMargins(12, 12, 12, 12)
        lay.setSpacing(8)
        lay.addWidget(label("Demo domains", "SectionTitle"))
        lay.addWidget(label("Each shows a different kind of problem. Pick one to check it.", "Muted"))
        self.demo_list = QListWidget()
        self.demo_list.setAccessibleName("Demo domains")
        self.demo_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.demo_list.setSpacing(3)
        self.demo_list.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        lay.addWidget(self.demo_list, 1)
        self.demo_story = label("", "")
        self.demo_story.setAccessibleName("About this example")
        lay.addWidget(self.demo_story)
        row = QHBoxLayout()
        self.demo_next = KeyButton("Next example")
        self.demo_next.setAccessibleName("Check the next demo domain")
        row.addWidget(self.demo_next)
        self.demo_leave = KeyButton("Leave demo")
        self.demo_leave.setAccessibleName("Leave the demo")
        row.addWidget(self.demo_leave)
        lay.addLayout(row)
        panel.hide()
        return panel

    def _connect(self) -> None:
        self.engine.resultReady.connect(self._on_result)
        self.engine.queriesLogged.connect(self._on_queries)
        self.engine.judged.connect(self._on_judged)
        self.engine.finished.connect(self._on_finished)
        self.engine.cancelled.connect(self._on_cancelled)
        self.engine.failed.connect(self._on_failed)
        self.engine.taskFinished.connect(self._on_task_finished)
        self.engine.taskFailed.connect(self._on_task_failed)
        self.engine.workerLost.connect(self._on_worker_lost)
        self.engine.workerReady.connect(self._on_worker_ready)
        self.domain_field.returnPressed.connect(self.start_check)
        self.domain_field.textChanged.connect(self._on_text_changed)
        self.check_button.clicked.connect(self.start_check)
        self.cancel_button.clicked.connect(self.cancel_check)
        self.settings_button.clicked.connect(self.open_settings)
        self.dns_trouble.settingsRequested.connect(self.open_settings)
        self.dns_trouble.retryRequested.connect(self.recheck)
        self.about_button.clicked.connect(self.show_about)
        self.message_button.clicked.connect(self.open_message_screen)
        self.demo_button.clicked.connect(self.toggle_demo)
        self.welcome_demo_button.clicked.connect(self.enter_demo)
        self.queries_button.toggled.connect(self._toggle_queries)
        self.demo_list.itemActivated.connect(self._on_demo_item)
        self.demo_list.itemClicked.connect(self._on_demo_item)
        self.demo_next.clicked.connect(self.demo_next_domain)
        self.demo_leave.clicked.connect(self.leave_demo)
        shortcut(QKeySequence("Ctrl+L"), self, self.focus_domain_field)
        shortcut(QKeySequence(Qt.Key.Key_Escape), self, self.cancel_check)
        shortcut(QKeySequence("Ctrl+R"), self, self.recheck)
        shortcut(QKeySequence("Ctrl+M"), self, self.open_message_screen)
        shortcut(QKeySequence(Qt.Key.Key_F1), self, self.show_about)
        self.export_button.clicked.connect(self.export_report)
        for title, keys, slot in (
            ("Record builders (SPF, DMARC, DKIM keys, what if)…", "Ctrl+B", self.open_builders),
            ("DMARC reports…", "Ctrl+D", self.open_reports),
            ("Watch list and history…", "Ctrl+H", self.open_watch_window),
            ("Export report…", "Ctrl+E", self.export_report),
            ("DNS changes published (history, undo)…", "Ctrl+J", self.open_publish_history),
        ):
            action = self.tools_menu.addAction(title)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(slot)
            # the window holds the same action (one shortcut, so it works while the menu is closed); a
            # QShortcut beside it would make Qt find the key ambiguous and do nothing
            self.addAction(action)
        shortcut(QKeySequence.StandardKey.Refresh, self, self.recheck)

    # -- helpers --------------------------------------------------------------------------------

    def _show_problems(self) -> None:
        problems = [p for p in (self.store.problem, self.history.problem) if p]
        if problems:
            self.notice.setText(" ".join(problems))
            self.notice.show()
        else:
            self.notice.hide()

    def _restore_geometry(self) -> None:
        geo = self.settings.window_geometry
        restored = False
        if geo:
            try:
                restored = bool(self.restoreGeometry(QByteArray.fromBase64(geo.encode("ascii"))))
            except Exception:
                restored = False
        self.geometry_restored = restored
        if not restored:
            self.resize(1100, 820)

    def focus_domain_field(self) -> None:
        self.domain_field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.domain_field.selectAll()

    def _on_text_changed(self, text: str) -> None:
        was_error = bool(self.input_note.property("error"))
        self.input_note.setProperty("error", False)
        if not text.strip():
            self.input_note.setText("")
        else:
            try:
                parsed = parse_domain(text)
            except DomainError as exc:
                self.input_note.setText(str(exc))
                self.input_note.setProperty("error", True)
            else:
                note = f" ({parsed.note})" if parsed.note else ""
                self.input_note.setText(f"Will check {parsed.display}{note}.")
        if bool(self.input_note.property("error")) != was_error:  # restyled only when its look changes (a key a turn)
            theme.repolish(self.input_note)

    def _refresh_welcome(self) -> None:
        while (item := self.recent_row.takeAt(0)) is not None:
            if (w := item.widget()) is not None:
                w.deleteLater()
        recent = self.settings.recent_domains[:5]
        if recent:
            self.recent_row.addWidget(label("Recent:", "Muted", wrap=False))
            for d in recent:
                b = KeyButton(d)
                b.setObjectName("Link")
                b.setAccessibleName(f"Check {d} again")
                b.clicked.connect(lambda _=False, dom=d: self.check_domain(dom))
                self.recent_row.addWidget(b)
            self.recent_row.addStretch(1)

    def _options_for(self, domain: str) -> CheckOptions:
        if self.demo_server is not None:
            demo = self.demo_set.find(domain) if self.demo_set else None
            selectors = list(demo.selectors) if demo else []
            selectors += [s for s in self.demo_selectors.get(domain, []) if s not in selectors]
            return CheckOptions(nameservers=[self.demo_server.address],
                                timeout=self.timeout or DEMO_TIMEOUT,
                                deadline=self.deadline or DEMO_DEADLINE, dkim_selectors=selectors,
                                checks=self.demo_set.checks if self.demo_set else CheckOptions().checks)
        ns = self.settings.nameserver.strip()
        return CheckOptions(nameservers=[ns] if ns else None, timeout=self.timeout or DEFAULT_TIMEOUT,
                            deadline=self.deadline or 60.0, dkim_selectors=self.settings.selectors_for(domain))

    def _update_status_idle(self) -> None:
        if self.demo_server is not None:
            skip = f" {self.demo_set.skip_reason}" if self.demo_set is not None and self.demo_set.skip_reason else ""
            self.statusBar().showMessage("Demo mode: the example domains are answered by a DNS server built "
                                         f"into InboxReady.{skip}")
        elif self.settings.nameserver:
            self.statusBar().showMessage(f"Asking the DNS server {self.settings.nameserver} (set in Settings).")
        else:
            self.statusBar().showMessage("Asking your computer's DNS servers.")

    # -- checking -------------------------------------------------------------------------------

    def check_domain(self, text: str) -> int:
        self.domain_field.setText(text)
        return self.start_check()

    def recheck(self) -> int:
        if self.current_domain:
            return self.check_domain(self.current_domain)
        return self.start_check()

    def start_check(self) -> int:
        """Check what the field holds; cancels a check in flight. Returns the job number (0: nothing)."""
        if self._closed:
            return 0
        try:
            parsed = parse_domain(self.domain_field.text())
        except DomainError as exc:
            self.input_note.setText(str(exc))
            self.input_note.setProperty("error", True)
            theme.repolish(self.input_note)
            self.domain_field.setFocus()
            return 0
        domain = parsed.domain
        if self.demo_server is not None and self.demo_set is not None and self.demo_set.find(domain) is None:
            self.leave_demo(check=False)
        options = self._options_for(domain)
        in_demo = self.demo_server is not None
        if in_demo:
            self._select_demo_row(domain)
        if not in_demo:
            self.settings.add_recent(domain)
            self.completer_model.setStringList(self.settings.recent_domains)
            self._save_settings()
            self._refresh_welcome()
        self._reset_results(options.checks, domain)
        if domain != self.current_domain:  # another domain: its cards from the top, not where the last one was
            self.cards_scroll.verticalScrollBar().setValue(0)
        self._scroll_mark = self.cards_scroll.verticalScrollBar().value()
        self.current_domain = domain
        self.checking = True
        self.check_button.setText("Check again")
        set_available(self.cancel_button)
        self.statusBar().showMessage(f"Checking {parsed.display}…")
        self.setWindowTitle(f"{parsed.display} — {APP_TITLE}")
        self._judged = None
        self._judged_profile = self.compliance_profile()  # the profile the worker judges this check by
        self._judged_rate = self.spam_rates.get(domain)
        self.current_job = self.engine.check(CheckRequest(domain, options, record=not in_demo,
                                                          profile=self._judged_profile,
                                                          spam_rate=self.spam_rates.get(domain),
                                                          message=self._message_from(domain)))
        self._detect_dns_host(domain, options)
        self.checkStarted.emit(domain)
        return self.current_job

    def _detect_dns_host(self, domain: str, options: CheckOptions) -> None:
        """Find the domain's zone and DNS host (NS names) in the worker, so every fix box can show the
        record the way that host's form wants it (app/dns_host_forms.py)."""
        from .dns_host_forms import DETECT_TIMEOUT, directory

        d = directory()
        d.nameservers = options.nameservers
        # the demo's built-in server is the authoritative server of the demo zones
        d.servers = [self.demo_server.address] if self.demo_server is not None else None
        d.looking_up(domain)  # a host found before stays shown until the new walk answers
        if self._host_job:
            self.engine.cancel_task(self._host_job)
        self._host_domain = domain
        self._host_job = self.engine.run("detect_host", domain=domain, nameservers=options.nameservers,
                                         servers=d.servers, timeout=min(options.timeout, 4.0),
                                         deadline=DETECT_TIMEOUT)

    def _on_task_finished(self, job: int, data: Any) -> None:
        if job == self._host_job:
            from .dns_host_forms import directory, inspection_from_json

            self._host_job = 0
            directory().set_inspection(self._host_domain, inspection_from_json(self._host_domain, data))
        elif job == self._demo_job:
            self._demo_job = 0
            self._demo_started(str(data["address"]))

    def _on_task_failed(self, job: int, message: str) -> None:
        if job == self._host_job:  # the fix boxes keep the generic form
            from .dns_host_forms import directory

            self._host_job = 0
            directory().set_inspection(self._host_domain, None)
        elif job == self._demo_job:
            self._demo_job = 0
            self.statusBar().showMessage(f"The demo could not start ({message}).", 10000)
            self._resolver_changed()  # no demo after all: the watch schedule goes on

    def _on_worker_lost(self, message: str) -> None:
        """The engine process stopped: the check in flight ended with ``failed`` (which says so); a new
        engine is starting. The demo's server was in the old one: it is started again in the new one."""
        self._host_job = 0
        self.statusBar().showMessage(message, 15000)

    def _on_worker_ready(self, _pid: int) -> None:
        if self.demo_server is not None and not self._demo_job:  # a new worker after a loss: a new server
            self._demo_job = self.engine.run("demo")

    def _reset_results(self, names: tuple[str, ...], domain: str) -> None:
        self.results = {}
        self.last_report = None
        self._finishing = None
        set_available(self.export_button, "wait until the check is done.")
        self._readiness_timer.stop()
        builder = BodyBuilder.shared()
        spare = [n for n in self.cards if n not in names]  # the cards a new check needs are reused
        for name in spare:
            card = self.cards.pop(name)
            builder.cancel(card)  # what was left of its body is not built into a hidden card
            card.hide()
            card.set_open(False)
            self._spare_cards[name] = card
        if spare:  # their old content goes a turn later, not with the rest
            QTimer.singleShot(0, lambda: self._clear_spare_cards(spare))
        self.welcome.hide()
        for name in names:
            card = self._card(name)
            card.set_pending()  # the old body let go (and the rest of its steps) before the card closes
            card.set_open(False)
            card.show()  # hidden when the last check's DNS server did not answer
            if name == "dkim":
                card.set_saved_selectors(self.saved_selectors(domain))
        self.readiness.update_from({})
        self.dns_trouble.show_trouble(None)
        self.query_view.clear()
        self._update_queries_button()
        self._fix_tab_order()

    def _clear_spare_cards(self, names: list[str]) -> None:
        """Let go of what the spare cards showed (their bodies), once they are out of sight."""
        for name in names:
            card = self._spare_cards.get(name)
            if card is not None and not self._closed:
                card.set_pending()  # empties the body (hidden: nothing is drawn)
                card.busy.set_active(False)

    def _card(self, name: str) -> CheckCard:
        card = self.cards.get(name)
        if card is None and name in self._spare_cards:
            card = self._spare_cards.pop(name)
            self.cards[name] = card
            card.show()
        if card is None:
            card = CheckCard(name)
            card.on_theme_changed(self.scheme)
            card.copied.connect(self._on_copied)
            card.selectorRequested.connect(self.add_selector)
            card.selectorRemoveRequested.connect(self.remove_selector)
            card.spamRateEntered.connect(self._on_spam_rate)
            card.toggled.connect(lambda _o: self._fix_tab_order())
            card.bodyBuilt.connect(self._fix_tab_order)
            self.cards[name] = card
            # in the order made: before any spare card (the checklist and the verdict stay last)
            layout_index = [self.cards_layout.indexOf(c) for c in self._spare_cards.values()]
            at = min([i for i in layout_index if i >= 0], default=self.cards_layout.count() - 1)
            self.cards_layout.insertWidget(at, card)
        return card

    def cancel_check(self) -> None:
        if not self.checking or not self.engine.busy:  # not busy: done, and being shown (``_on_finished``)
            return
        self.engine.cancel()
        self._mark_stopped("Not checked: you cancelled the check.")
        self.statusBar().showMessage("Check cancelled.")

    def _mark_stopped(self, summary: str) -> None:
        self.checking = False
        set_available(self.cancel_button, NOTHING_TO_CANCEL)
        self.check_button.setText("Check")
        if self.last_report is None:
            set_available(self.export_button, "this check was stopped before it finished; check again first.")
        for card in self.cards.values():
            if card.result is None:
                card.set_stopped(summary)
        if not {"spf", "dkim", "dmarc"} <= set(self.results):  # the bar can't judge: no "Checking…" left on it
            self._readiness_timer.stop()
            self.readiness.clear()

    # -- engine signals (UI thread) -------------------------------------------------------------

    def _on_result(self, job: int, result: CheckResult, diff: CheckDiff | None = None) -> None:
        """One check finished (its diff against the last stored run was made in the worker)."""
        if job != self.current_job:
            return
        self.results[result.name] = result
        card = self._card(result.name)
        card.set_result(result, diff)
        if not self._readiness_timer.isActive():
            self._readiness_timer.start()
        if card.is_open:
            self._fix_tab_order()

    def _update_readiness(self) -> None:
        self._readiness_timer.stop()
        self.readiness.update_from(self.results)

    def _on_queries(self, job: int, records: list[QueryRecord]) -> None:
        if job != self.current_job:
            return
        self.query_view.add_many(records)
        self._update_queries_button()

    def _on_judged(self, job: int, checklist: CheckResult, compliance: CheckResult | None) -> None:
        """The checklist and the profile's verdict, judged in the worker: shown when the check is done."""
        if job == self.current_job:
            self._judged = (checklist, compliance)

    def _on_finished(self, job: int, report: DomainReport) -> None:
        """The check is done. What it concluded is shown a piece a turn of the event loop (the summary bar and
        any DNS banner, the checklist, the profile's verdict: each lays out and paints the cards again), then
        the window says it is done: ``checking`` is False, ``last_report`` set, ``checkFinished`` emitted."""
        if job != self.current_job:
            return
        self._finishing = report.domain
        steps: list[Callable[[], None]] = [self._update_readiness, lambda: self._show_dns_trouble(report)]
        if report.dns_trouble is None or report.dns_trouble.kind != "resolver":
            steps += self._checklist_steps(report.domain)
        steps.append(lambda: self._finished(report))
        self._finish_steps(job, steps)

    def _finish_steps(self, job: int, steps: list[Callable[[], None]]) -> None:
        """Run the first of ``steps`` on the next turn, then the rest a turn each, unless another check has
        started meanwhile (or the window closed)."""

        def step() -> None:
            if self._closed or job != self.current_job:
                return
            steps.pop(0)()
            if steps:
                QTimer.singleShot(0, step)

        QTimer.singleShot(0, step)

    def _finished(self, report: DomainReport) -> None:
        self.last_report = report
        self._finishing = None
        self.checking = False
        set_available(self.export_button)
        QTimer.singleShot(0, self._show_first_problem)
        set_available(self.cancel_button, NOTHING_TO_CANCEL)
        self.check_button.setText("Check")
        n = len(report.queries)
        self.statusBar().showMessage(
            f"Checked {report.domain} in {report.elapsed_ms / 1000:.1f} s: {len(report.checks)} checks, "
            f"{n} DNS quer{'y' if n == 1 else 'ies'} to {', '.join(report.nameservers) or 'your DNS servers'}.")
        if self.history.problem:
            self._show_problems()
        self.checkFinished.emit(report)

    def _show_dns_trouble(self, report: DomainReport) -> None:
        """Your DNS server did not answer: one banner naming it (with the way to Settings) instead of a
        grey "couldn't check" card per check. The domain's own servers did not: a banner above the cards."""
        trouble = report.dns_trouble
        self.dns_trouble.show_trouble(trouble)
        if trouble is None or trouble.kind != "resolver":
            return
        self.readiness.hide()  # nothing was learned: no requirement to show
        for card in self.cards.values():
            if card.result is not None and card.result.status is Status.ERROR:
                card.hide()
        self._fix_tab_order()

    def _show_first_problem(self) -> None:
        """Bring the first failing card (else the first with a warning) into view once the check is done,
        unless the user has scrolled meanwhile."""
        bar = self.cards_scroll.verticalScrollBar()
        if self._closed or bar.value() != self._scroll_mark:
            return
        items = (self.cards_layout.itemAt(i) for i in range(self.cards_layout.count()))
        shown = [item.widget() for item in items if item is not None]
        cards = [c for c in shown if isinstance(c, CheckCard) and c.result is not None and c.isVisible()]
        for wanted in (Status.FAIL, Status.WARN):
            card = next((c for c in cards if c.result is not None and c.result.status is wanted), None)
            if card is not None:
                self.cards_scroll.ensureWidgetVisible(card.header, 0, 12)
                self._scroll_mark = bar.value()
                return

    def _on_cancelled(self, job: int) -> None:
        if job == self.current_job and self.checking:
            self._mark_stopped("Not checked: the check was cancelled.")

    def _on_failed(self, job: int, message: str) -> None:
        if job != self.current_job:
            return
        if message.startswith("InboxReady's checking engine"):  # the worker stopped: it says so itself
            self._mark_stopped("Not checked: InboxReady's checking engine stopped. Check again.")
            self.statusBar().showMessage(message)
            return
        if is_refusal(message):  # too much running at once: the worker says why in plain words
            self._mark_stopped(f"Not checked: {message}")
            self.statusBar().showMessage(message)
            return
        self._mark_stopped("Not checked: InboxReady hit an internal problem.")
        self.statusBar().showMessage(f"The check stopped because of an internal problem ({message}). "
                                     "Please report it.")

    def _update_queries_button(self) -> None:
        n = self.query_view.model.rowCount()
        verb = "Hide" if self.queries_button.isChecked() else "Show"
        self.queries_button.setText(f"{verb} DNS queries ({n})")

    def _toggle_queries(self, on: bool) -> None:
        self.query_view.setVisible(on)
        self._update_queries_button()

    def _on_copied(self, text: str) -> None:
        shown = text if len(text) <= 60 else text[:57] + "…"
        self.statusBar().showMessage(f"Copied to the clipboard: {shown}", 4000)

    # -- DKIM selectors -------------------------------------------------------------------------

    def saved_selectors(self, domain: str) -> list[str]:
        """The extra DKIM selectors the user added for ``domain`` (in the demo: kept until it is left)."""
        if self.demo_server is not None:
            return list(self.demo_selectors.get(domain, []))
        return self.settings.selectors_for(domain)

    def add_selector(self, selector: str) -> None:
        domain = self.current_domain
        if not domain:
            return
        try:
            if self.demo_server is not None:
                s = Settings()
                cleaned = s.add_selector(domain, selector)
                sels = self.demo_selectors.setdefault(domain, [])
                if cleaned not in sels:
                    sels.append(cleaned)
            else:
                cleaned = self.settings.add_selector(domain, selector)
                self._save_settings()
        except ValueError as exc:
            self.statusBar().showMessage(str(exc), 6000)
            return
        self.statusBar().showMessage(f"Added the selector {cleaned} for {domain}; checking again…", 4000)
        self._recheck_with_dkim_open(domain)

    def remove_selector(self, selector: str) -> None:
        """Forget an extra DKIM selector of the current domain and check again without it."""
        domain = self.current_domain
        if not domain or selector not in self.saved_selectors(domain):
            return
        if self.demo_server is not None:
            self.demo_selectors[domain] = [s for s in self.demo_selectors.get(domain, []) if s != selector]
        else:
            self.settings.remove_selector(domain, selector)
            self._save_settings()
        self.statusBar().showMessage(f"Removed the selector {selector} for {domain}; checking again…", 4000)
        self._recheck_with_dkim_open(domain)

    def _recheck_with_dkim_open(self, domain: str) -> None:
        self.check_domain(domain)
        card = self.cards.get("dkim")
        if card is not None:
            card.set_open(True)
            card.header.setFocus(Qt.FocusReason.OtherFocusReason)  # the button that had focus is gone

    # -- demo -----------------------------------------------------------------------------------

    def toggle_demo(self) -> None:
        if self.demo_server is None:
            self.enter_demo()
        else:
            self.leave_demo()

    def enter_demo(self) -> None:
        """Start the demo: the worker starts its DNS server, then the first example is checked."""
        if self._closed:
            return
        if self.demo_server is None:
            if self.demo_set is None:
                self.demo_set = load_demo()
            if not self._demo_job:
                self.statusBar().showMessage("Starting the demo…")
                self._demo_job = self.engine.run("demo")
                self._resolver_changed()  # the watch schedule pauses already while the demo's server starts
            return
        self._show_demo()

    def _demo_started(self, address: str) -> None:
        """The worker's demo server answers at ``address`` (the first time, or again after a restart)."""
        if self._closed:
            return
        if self.demo_server is not None:  # a new worker: the same demo, at a new address
            self.demo_server.address = address
            self._resolver_changed()
            return
        self.demo_server = DemoServer(address)
        assert self.demo_set is not None
        self.demo_list.clear()
        for d in self.demo_set.domains:
            item = QListWidgetItem(f"{d.title}\n{d.domain}")
            item.setData(Qt.ItemDataRole.UserRole, d.domain)
            item.setToolTip(d.story)
            self.demo_list.addItem(item)
        self._show_demo()

    def _show_demo(self) -> None:
        self.demo_panel.show()
        self.demo_button.setText("Leave demo")
        self.demo_button.setAccessibleName("Leave the demo")
        self._resolver_changed()
        self._update_status_idle()
        self.demo_list.setCurrentRow(0)
        self._on_demo_item(self.demo_list.item(0))

    def leave_demo(self, check: bool = False) -> None:
        if self.demo_server is None:
            return
        self.engine.cancel()
        self._mark_stopped("Not checked.")
        self.demo_server = None
        self._resolver_changed()
        self.engine.run("demo_stop")
        self.demo_panel.hide()
        self.demo_button.setText("Demo")
        self.demo_button.setAccessibleName("Show the demo with example domains")
        self._update_status_idle()
        if not check:
            for card in [*self.cards.values(), *self._spare_cards.values()]:
                card.hide()
                self.cards_layout.removeWidget(card)
                card.deleteLater()
            self.cards = {}
            self._spare_cards = {}
            self.results = {}
            self.readiness.clear()
            self.query_view.clear()
            self._update_queries_button()
            self.domain_field.clear()
            self.current_domain = ""
            self.welcome.show()
            self.setWindowTitle(APP_TITLE)

    def _on_demo_item(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        domain = str(item.data(Qt.ItemDataRole.UserRole))
        found = self.demo_set.find(domain) if self.demo_set is not None else None
        self.demo_story.setText(f"About this example: {found.story}" if found else "")
        if domain == self.current_domain and self.checking:
            return
        self.check_domain(domain)

    def _select_demo_row(self, domain: str) -> None:
        for row in range(self.demo_list.count()):
            if self.demo_list.item(row).data(Qt.ItemDataRole.UserRole) == domain:
                if self.demo_list.currentRow() != row:
                    self.demo_list.setCurrentRow(row)
                found = self.demo_set.find(domain) if self.demo_set is not None else None
                self.demo_story.setText(f"About this example: {found.story}" if found else "")
                return

    def demo_next_domain(self) -> None:
        if self.demo_list.count() == 0:
            return
        row = (self.demo_list.currentRow() + 1) % self.demo_list.count()
        self.demo_list.setCurrentRow(row)
        self._on_demo_item(self.demo_list.item(row))

    # -- test a message -------------------------------------------------------------------------

    def open_message_screen(self) -> MessageWindow:
        """Show the "Test a message" window (made on first use; mail work runs on this engine)."""
        if self.message_window is None:
            from .message_screen import MessageScreen, MessageWindow

            screen = MessageScreen(self.engine, nameservers=self._nameservers(), dns_timeout=self._dns_timeout())
            self.message_window = MessageWindow(screen, self)
        self.message_window.show()
        self.message_window.raise_()
        self.message_window.activateWindow()
        return self.message_window

    # -- tools: watch list, export, builders, reports --------------------------------------------

    def _nameservers(self) -> list[str] | None:
        """The DNS servers every window and background job asks, as the main window does: the demo's own
        loopback server during the demo, else the one set in Settings, else the computer's (None)."""
        if self.demo_server is not None:
            return [self.demo_server.address]
        return self._settings_nameservers()

    def _dns_timeout(self) -> float:
        return self.timeout or (DEMO_TIMEOUT if self.demo_server is not None else DEFAULT_TIMEOUT)

    def _resolver_changed(self) -> None:
        """The demo started or ended, or Settings changed the DNS server: every open window and the watch
        schedule follow now (no restart). The schedule pauses during the demo: the demo's server only knows
        the example domains, and the watched domains' history must not record its answers."""
        nameservers, timeout = self._nameservers(), self._dns_timeout()
        for key in ("builders", "reports"):
            window = self.tool_windows.get(key)
            if isinstance(window, FollowsResolver):
                window.nameservers, window.timeout = nameservers, timeout
        if self.message_window is not None:
            self.message_window.screen_widget.nameservers = nameservers
            self.message_window.screen_widget.dns_timeout = timeout
        if "inboxready.app.publish_dialog" in sys.modules:  # (made on first use: not loaded here before then)
            from . import publish_dialog  # the "Publish at <host>…" dialogs look the zone up there too

            publish_dialog.NAMESERVERS = nameservers
        if self.watch_service is not None:
            in_demo = self.demo_server is not None or self._demo_job != 0  # (or its server is starting)
            self.watch_service.nameservers = self._settings_nameservers()
            self.watch_service.pause("Watching is paused during the demo: it checks your own domains again when "
                                     "you leave the demo." if in_demo else "")

    def _settings_nameservers(self) -> list[str] | None:
        """The DNS server set in Settings (None: the computer's), whatever the demo does."""
        ns = self.settings.nameserver.strip()
        return [ns] if ns else None

    def _show_tool(self, key: str, make: Callable[[], QWidget]) -> QWidget:
        window = self.tool_windows.get(key)
        if window is None:
            window = make()
            self.tool_windows[key] = window
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    def _start_watch_service_when_idle(self) -> None:
        """Start the watch schedule on a turn when no card body is being built (or after ``WATCH_IDLE_WAIT_MS``
        anyway); its module is imported with this one, at start-up, not in the middle of a check (the GUI
        process runs no Python thread)."""
        if self._closed or self.watch_service is not None:
            return
        busy = BodyBuilder.shared().busy
        if busy and self._watch_waited_ms < WATCH_IDLE_WAIT_MS:
            self._watch_waited_ms += WATCH_IDLE_POLL_MS
            QTimer.singleShot(WATCH_IDLE_POLL_MS, self._start_watch_service_when_idle)
            return
        self.start_watch_service()

    def start_watch_service(self) -> None:
        """Re-check the watched domains on their schedule while the app runs (tray icon when there is one)."""
        if self._closed or self.watch_service is not None:
            return
        service = WatchService(self.engine, self.history, nameservers=self._settings_nameservers(),
                               timeout=self.timeout or DEFAULT_TIMEOUT, parent=self)
        service.openRequested.connect(self._bring_to_front)
        service.quitRequested.connect(self._quit_from_tray)
        connect_notice(service, lambda text: self.statusBar().showMessage(text, 15000))
        self.watch_service = service
        self._resolver_changed()  # paused from the start in the demo
        service.start()

    def _bring_to_front(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def _quit_from_tray(self) -> None:
        if self.watch_service is not None:
            self.watch_service.stop()
        self.close()

    def open_watch_window(self) -> QWidget:
        self.start_watch_service()

        def make() -> QWidget:
            from .watch_window import WatchWindow

            return WatchWindow(self.engine, self.history, nameservers=self._settings_nameservers(),
                               timeout=self.timeout or DEFAULT_TIMEOUT, parent=self, service=self.watch_service)

        return self._show_tool("watch", make)

    def _message_from(self, domain: str) -> Any:
        """The last test message's verdict when it was sent from ``domain`` (else None)."""
        if self.message_window is None:
            return None
        message = getattr(self.message_window.screen_widget, "last_report", None)
        if message is None or getattr(message, "from_domain", "").lower() != domain:
            return None
        return message

    def latest_message(self) -> Any:
        """The last test message's verdict when it was sent from the domain on screen (else None)."""
        if self.message_window is None or self.last_report is None:
            return None
        message = getattr(self.message_window.screen_widget, "last_report", None)
        if message is None or getattr(message, "from_domain", "").lower() != self.last_report.domain:
            return None
        return message

    def _show_checklist(self, domain: str | None = None) -> None:
        """The bulk-sender checklist card, from this check, the latest test message and the spam rate: as the
        worker judged it with the check, or judged here again when one of those changed since (a spam rate
        typed, another profile, a new test message). ``domain``: the check being shown (default: the one
        done)."""
        if domain is None:
            if self.last_report is None:
                return
            domain = self.last_report.domain
        for step in self._checklist_steps(domain):
            step()

    def _checklist_steps(self, domain: str) -> list[Callable[[], None]]:
        """Show the checklist card, then the profile's verdict card (two steps: each is laid out and painted
        with the cards around it)."""
        if not set(self.results) & {"spf", "dkim", "dmarc"}:
            return []
        judged, self._judged = self._judged, None
        message = None
        rate = self.spam_rates.get(domain)
        if judged is not None and judged[1] is not None:
            checklist, compliance = judged[0], judged[1]
            rate = self._judged_rate
        else:
            from inboxready.core.policy.checklist import build_checklist

            message = self._message_from(domain)  # the domain being shown (``last_report`` may not be set yet)
            checklist = build_checklist(self.results, message, spam_rate=rate)
            compliance = None

        def show_checklist() -> None:
            nonlocal checklist
            if self.spam_rates.get(domain) != rate:  # a spam rate typed since it was judged (while finishing)
                from inboxready.core.policy.checklist import build_checklist

                checklist = build_checklist(self.results, self._message_from(domain),
                                            spam_rate=self.spam_rates.get(domain))
            self._card("checklist").set_result(checklist)

        judged_profile = self._judged_profile

        def show_verdict() -> None:
            # the worker's verdict only while Settings still name its profile (another may have been chosen
            # while the check ran, or in the turns since it finished): else judged here, by the one named now
            if compliance is not None and self.compliance_profile() == judged_profile:
                self._card("compliance").set_result(compliance)
            else:
                self._show_compliance(message if compliance is None else self._message_from(domain))
            self._fix_tab_order()

        return [show_checklist, show_verdict]

    def compliance_profile(self) -> str:
        from inboxready.core.policy.compliance import DEFAULT_PROFILE, load_profiles

        name = self.settings.compliance_profile
        return name if name in load_profiles() else DEFAULT_PROFILE

    def _show_compliance(self, message: Any) -> None:
        """The verdict against the compliance profile chosen in Settings, as a card under the checklist."""
        from inboxready.core.policy.compliance import evaluate, verdict_result

        verdict = evaluate(self.compliance_profile(), self.results, message=message)
        self._card("compliance").set_result(verdict_result(verdict, self.results))

    def _on_spam_rate(self, rate: float | None) -> None:
        """A spam rate typed into the checklist card: kept for the domain (the next checks judge with it) and
        the checklist judged again with it, also while the finished check is still being shown a piece a turn
        (``_finish_steps``: the checklist card may be open before the check is said done)."""
        domain = self.last_report.domain if self.last_report is not None else self._finishing
        if domain is None:
            return  # no checklist card on screen (a check is running)
        if rate is None:
            self.spam_rates.pop(domain, None)
        else:
            self.spam_rates[domain] = rate
        card = self.cards.get("checklist")
        if card is None:  # not shown yet for this check: its step judges it with the new rate
            return
        was_open = card.is_open
        self._show_checklist(domain)
        if was_open:
            self.cards["checklist"].set_open(True)

    def open_builders(self) -> QWidget:
        def make() -> QWidget:
            from .builders_window import BuildersWindow

            return BuildersWindow(self.engine, nameservers=self._nameservers(),
                                  timeout=self._dns_timeout(), domain=self.current_domain or None,
                                  parent=self)

        return self._show_tool("builders", make)

    def open_reports(self) -> QWidget:
        def make() -> QWidget:
            from .reports import ReportsWindow

            return ReportsWindow(self.engine, nameservers=self._nameservers(),
                                 timeout=self._dns_timeout(), theme_manager=self.theme_manager)

        return self._show_tool("reports", make)

    def export_report(self) -> None:
        """Save the check on screen (with the latest test-message verdict) as a PDF or HTML report. The DMARC
        reports' summary for it is read in the worker first (when reports were imported)."""
        if self.last_report is None:
            self.statusBar().showMessage("Check a domain first; then you can export the result as a report.", 5000)
            return
        from inboxready.core.reports.store import REPORTS_FILE
        from inboxready.core.store.settings import data_dir

        if not (data_dir() / REPORTS_FILE).exists():
            self._export(self.last_report, None)
            return
        report = self.last_report
        self.statusBar().showMessage("Reading the DMARC reports for the audit report…")

        def done(summary: Any) -> None:
            self._export(report, summary if isinstance(summary, dict) else None)

        # the audit report is still useful without the summary: a failure exports without it
        WorkerOp(self.engine, self, "reports_summary", {"domain": report.domain, "days": 30},
                 success=done, failure=lambda _why: done(None)).run()

    def _export(self, report: DomainReport, reports_summary: dict[str, Any] | None) -> None:
        if self._closed:
            return
        from .dns_host_forms import directory
        from .export import export_report

        export_report(self, report, engine=self.engine, message=self.latest_message(), reports_summary=reports_summary,
                      profile=self.compliance_profile(), dns_host=directory().for_audit(report.domain))

    def open_publish_history(self) -> None:
        """The DNS changes published through InboxReady, with Undo for any of them."""
        from .publish_history import PublishHistoryDialog

        dlg = PublishHistoryDialog(self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()

    # -- settings -------------------------------------------------------------------------------

    def about_text(self) -> str:
        from inboxready.core import __version__

        return (f"<h3>InboxReady {__version__}</h3>"
                "<p>Checks a domain's email authentication (SPF, DKIM, DMARC, MX) and gives the exact DNS "
                "records that fix what is wrong; sends test messages and explains how receivers judged them.</p>"
                "<p>Released under the MIT licence. Uses Qt for Python (LGPLv3), dnspython, dkimpy, "
                "cryptography, keyring, platformdirs and imapclient.</p>")

    def show_about(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(QMessageBox.Icon.NoIcon, "About InboxReady", self.about_text(),
                          QMessageBox.StandardButton.Close, self)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setAccessibleName("About InboxReady")
        box.exec()

    def open_settings(self) -> None:
        dlg = SettingsDialog(self.settings.nameserver, self, profile=self.settings.compliance_profile,
                             theme=self.settings.theme)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self.apply_settings(nameserver=dlg.value(), profile=dlg.profile(), theme=dlg.theme())

    def apply_settings(self, *, nameserver: str | None = None, profile: str | None = None,
                       theme: str | None = None) -> None:
        """Save and use new settings now: every open window and the watch schedule follow (no restart)."""
        if theme is not None and theme != self.settings.theme:
            self.settings.theme = theme
            if self.theme_manager is not None:
                self.theme_manager.set_choice(theme)
        if nameserver is not None:
            self.settings.nameserver = nameserver
        if profile is not None and profile != self.settings.compliance_profile:
            self.settings.compliance_profile = profile
            self._show_checklist()
        self._save_settings()
        self._resolver_changed()
        self._update_status_idle()

    def _save_settings(self) -> None:
        try:
            self.store.save(self.settings)
        except OSError as exc:
            self.statusBar().showMessage(f"Your settings could not be saved ({exc.strerror or exc}).", 6000)

    # -- focus order ----------------------------------------------------------------------------

    def focusable_widgets(self) -> list[QWidget]:
        """Interactive widgets in visual (layout) order; applies a pending tab-order update first."""
        if self._tab_timer.isActive():
            self._tab_timer.stop()
            self._apply_tab_order()
        return self._focusable_widgets()

    def _focusable_widgets(self) -> list[QWidget]:
        """Interactive widgets in visual (layout) order: field, buttons, demo list, cards, queries.

        One ``findChildren`` (Qt walks the tree: depth first, each parent's children in order, as the layouts
        place them) instead of asking every widget for its children from Python: with every card open the
        window holds over a thousand objects, and the walk in Python cost 10–40 ms of the UI thread."""
        central = self.centralWidget()
        if central is None:
            return []
        everything = central.findChildren(QWidget)
        # left out with all they hold: the spare cards (hidden, not part of the check on screen), the cards' old
        # bodies waiting to be deleted and any window (a completer's popup)
        skipped: set[int] = set()
        for root in [*self._spare_cards.values(), *BodyBuilder.shared().discarded(),
                     *(w for w in everything if w.isWindow())]:
            skipped.add(id(root))
            skipped.update(id(w) for w in root.findChildren(QWidget))
        tab = Qt.FocusPolicy.TabFocus
        return [w for w in everything if w.focusPolicy() & tab and id(w) not in skipped
                and not isinstance(w, QScrollArea)]

    def _fix_tab_order(self) -> None:
        """Schedule the tab chain to be rebuilt once the current burst of updates is over."""
        self._tab_timer.start()

    def _apply_tab_order(self) -> None:
        order = [w for w in self._focusable_widgets() if not w.parent() or not isinstance(w.parent(), QCompleter)]
        order = [w for w in order if w.focusProxy() is None]
        for a, b in zip(order, order[1:]):
            QWidget.setTabOrder(a, b)

    # -- theme and closing ----------------------------------------------------------------------

    def on_theme_changed(self, scheme: str) -> None:
        self.scheme = scheme
        for card in self.cards.values():
            card.on_theme_changed(scheme)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.watch_service is not None and not self._closed and self.watch_service.handle_close(self, event):
            return  # minimized to the tray: the watch list keeps running
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Cancel the check in flight, stop the engine and the demo server, save settings (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.checking = False
        if self.message_window is not None:
            self.message_window.screen_widget.cancel()
            self.message_window.close()
        for window in self.tool_windows.values():
            shutdown = getattr(window, "shutdown", None)
            if callable(shutdown):
                shutdown()
            window.close()
        if self.watch_service is not None:
            self.watch_service.stop()
        self.engine.shutdown()  # ends the worker (and the demo's server in it)
        set_shared(None)
        self.demo_server = None
        self.settings.window_geometry = bytes(self.saveGeometry().toBase64().data()).decode("ascii")
        self._save_settings()
        self.history.close()
        if self.theme_manager is not None and self in self.theme_manager.listeners:
            self.theme_manager.listeners.remove(self)


__all__ = ["MainWindow", "SettingsDialog"]
