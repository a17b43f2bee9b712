"""The DMARC reports window: import reports, see who sends as you, and learn when it is safe to enforce.

Everything that touches the report store (SQLite), the files being imported, DNS or the mailbox runs in the
engine process: the worker's reports jobs (``core/worker/reports.py``: the domains, a view, the senders'
names, an import in a thread of the worker, the mailbox watch). Their results come back as wire values to
the callbacks of the job that asked; the window never opens the store itself. A view is put on screen in
steps (one table, one card per turn of the event loop). Writing an export is one small file (``QueryOp``).
Closing the window only hides it; call ``shutdown()`` when the app exits.

Public API::

    ReportsWindow(engine, *, store_path=None, nameservers=None, timeout=2.0, lookups=True,
                  profile_store=None, theme_manager=None, parent=None)
        .import_paths(paths)            # the slot a drop or the Import buttons call
        .cancel_import()
        .select_domain(domain); .set_range_days(days | None)
        .export_csv(path, table="sources"); .export_json(path)
        .start_watch(); .stop_watch()
        .shutdown()                     # stop what runs (the worker closes the store when it ends)
    signals: importFinished(ImportOutcome), viewShown(ReportView), exportFinished(str path, str error),
             domainsLoaded(list)
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inboxready.core.worker.protocol import is_refusal
from inboxready.core.reports.sources import UNKNOWN_PENDING
from inboxready.core.worker.reports import (
    DAY,
    NO_DOMAIN,
    WATCH_EVERY_S,
    DomainInfo,
    ImportOutcome,
    ReportView,
    WatchRound,
)
from inboxready.core.worker.values import WireError, from_wire, to_wire
from inboxready.core.reports.summary import (
    Enforcement,
    NotAligned,
    ReportSummary,
)
from PySide6.QtCore import (
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QScrollArea,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .. import theme
from ..engine import Engine
from ..filedialogs import open_files, open_folder, save_file
from ..queryop import QueryOp, WorkerOp
from ..widgets import Badge, CopyButton, FixView, KeyButton, label, set_available, shortcut, shown
from .chart import DailyChart
from .fmt import percent as _pct
from .fmt import thousands as _n
from .importer import ImportPanel
from .tables import (
    CSV_TABLES, SERVICE_COLUMNS, SOURCE_COLUMNS, TLS_COLUMNS, TLS_UNNAMED_COLUMNS, UNKNOWN_COLUMNS, RowsModel,
    make_table, tls_failure_words,
)

MAX_NOT_ALIGNED = 25       # "passes but not aligned" entries shown with their fixes (all are exported)
MAX_AFFECTED = 8
NO_READ_PROFILE = "add a reading profile for the mailbox your DMARC reports go to (in Test a message) first."
RANGES: list[tuple[str, int | None]] = [("Last 7 days", 7), ("Last 30 days", 30), ("Last 90 days", 90),
                                        ("All time", None)]


ENFORCE_TITLES = {"quarantine": "Quarantine: failing mail goes to spam", "reject": "Reject: failing mail is refused"}
VERDICT_BADGES = {"safe": ("pass", "Safe"), "already": ("pass", "Already on"), "not-yet": ("warn", "Not yet"),
                  "review": ("warn", "Check first"), "not-enough-data": ("info", "Not enough data")}


def _page(spacing: int, *, right: int = 0) -> tuple[QWidget, QVBoxLayout]:
    """A tab's page and its column (``right``: room for the scroll bar of a scrolled page)."""
    page = QWidget()
    lay = QVBoxLayout(page)
    lay.setContentsMargins(0, 10, right, 0)
    lay.setSpacing(spacing)
    return page, lay


def _labelled(row: QHBoxLayout, caption: str, field: QWidget, name: str, stretch: int = 0) -> None:
    """``field`` with its caption before it in ``row`` (the caption's mnemonic focuses it; ``name`` is read
    out by screen readers)."""
    caption_label = label(caption, "FieldLabel", wrap=False)
    field.setAccessibleName(name)
    caption_label.setBuddy(field)
    row.addWidget(caption_label)
    row.addWidget(field, stretch)


def _card(parent: QWidget | None = None) -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame(parent)
    frame.setObjectName("Card")
    lay = QVBoxLayout(frame)
    lay.setContentsMargins(14, 10, 14, 12)
    lay.setSpacing(6)
    return frame, lay


class Figure(QFrame):
    """One big number with a caption (a tile of the overview)."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(14, 10, 14, 10)
        lay.setSpacing(2)
        self.caption = caption
        self.value = label("–", "Title", wrap=False, selectable=True, parent=self)
        self.note = label("", "Muted", parent=self)
        lay.addWidget(label(caption, "Muted", wrap=False, parent=self))
        lay.addWidget(self.value)
        lay.addWidget(self.note)
        self.setAccessibleName(caption)

    def set(self, value: str, note: str = "") -> None:
        self.value.setText(value)
        self.note.setText(note)
        self.value.setAccessibleName(f"{self.caption}: {value}")
        self.setAccessibleDescription(f"{value}. {note}".strip())


# -- the window ------------------------------------------------------------------------------------------


class ReportsWindow(QMainWindow):
    """DMARC aggregate and SMTP TLS reports: import, see, export, watch the mailbox."""

    importFinished = Signal(object)   # ImportOutcome
    importProgress = Signal(int, int)  # done, total
    viewShown = Signal(object)        # ReportView
    domainsLoaded = Signal(object)    # list[DomainInfo]
    exportFinished = Signal(str, str)  # path, error ("" when written)
    watchRound = Signal(object)       # WatchRound

    def __init__(self, engine: Engine, *, store_path: Path | None = None, nameservers: list[str] | None = None,
                 timeout: float = 2.0, lookups: bool = True, profile_store: Any = None,
                 theme_manager: theme.ThemeManager | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.store_path = store_path
        self.nameservers = nameservers
        self.timeout = timeout
        self._profile_store = profile_store
        self._ops: dict[int, WorkerOp] = {}
        self._view_seq = 0
        self._show_seq = 0
        self._tables: list[tuple[RowsModel, QTableView, list[Any]]] = []
        self._names_job = 0
        self._watch_job = 0
        self._range_chosen = False
        self._closing = False
        self.domains: list[DomainInfo] = []
        self.view: ReportView | None = None
        self.copy_buttons: list[CopyButton] = []
        self.setWindowTitle("DMARC reports – InboxReady")
        self.setAccessibleName("DMARC reports")
        self.setAcceptDrops(True)
        self.resize(1100, 820)
        self._build(lookups)
        if theme_manager is not None:
            theme_manager.listeners.append(self)
        shortcut(QKeySequence("Ctrl+O"), self, self.choose_files)
        shortcut(QKeySequence("Ctrl+Shift+O"), self, self.choose_folder)
        shortcut(QKeySequence(Qt.Key.Key_Escape), self, self.cancel_import)
        self.reload_profiles()
        self.refresh_domains()

    # -- construction ---------------------------------------------------------------------------

    def _build(self, lookups: bool) -> None:
        central = QWidget(self)
        central.setObjectName("Central")
        root = QVBoxLayout(central)
        root.setContentsMargins(22, 16, 22, 12)
        root.setSpacing(10)
        root.addWidget(label("DMARC reports", "Title", wrap=False))
        root.addWidget(label("Receivers such as Gmail and Outlook send daily reports of the mail they saw "
                             "with your domain in the From address. Import them here to see who sends as you, "
                             "what fails, and when it is safe to make DMARC stricter. Drop report files or "
                             "folders anywhere on this window.", "Subtitle"))
        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.import_files_button = KeyButton("Import files…")
        self.import_files_button.setObjectName("Primary")
        self.import_files_button.setAccessibleName("Import report files")
        self.import_files_button.setToolTip("Import report files: XML, .xml.gz, .zip, .eml, mbox or JSON (Ctrl+O)")
        self.import_folder_button = KeyButton("Import folder…")
        self.import_folder_button.setAccessibleName("Import a folder of reports")
        self.import_folder_button.setToolTip("Import every report in a folder and its subfolders (Ctrl+Shift+O)")
        bar.addWidget(self.import_files_button)
        bar.addWidget(self.import_folder_button)
        bar.addStretch(1)
        pick = QHBoxLayout()  # the domain and the period on a row of their own: the domain box has room
        pick.setSpacing(6)
        self.domain_box = QComboBox()
        self.domain_box.setMinimumWidth(260)
        self.domain_box.setPlaceholderText("No reports yet")
        _labelled(pick, "Domain", self.domain_box, "Domain to show", 1)
        self.range_box = QComboBox()
        for caption, days in RANGES:
            self.range_box.addItem(caption, days)
        self.range_box.setCurrentIndex(1)
        pick.addSpacing(12)
        _labelled(pick, "Period", self.range_box, "Period to show")
        self.export_csv_button = KeyButton("Export CSV…")
        self.export_csv_button.setAccessibleName("Export the senders table as CSV")
        self.export_json_button = KeyButton("Export JSON…")
        self.export_json_button.setAccessibleName("Export everything shown as JSON")
        bar.addWidget(self.export_csv_button)
        bar.addWidget(self.export_json_button)
        root.addLayout(bar)
        root.addLayout(pick)

        names = QHBoxLayout()
        self.lookup_box = QCheckBox("Look up senders' names")
        self.lookup_box.setAccessibleName("Look up senders' names with reverse DNS")
        self.lookup_box.setToolTip("Ask DNS for the name behind each sending server's IP address, in the "
                                   "background. The tables work before the names arrive.")
        self.lookup_box.setChecked(lookups)
        names.addWidget(self.lookup_box)
        self.names_label = label("", "Muted", wrap=False)
        self.names_label.setAccessibleName("Senders' names")
        names.addWidget(self.names_label, 1)
        self.status_label = label("", "Muted", selectable=True)
        self.status_label.setAccessibleName("What is happening")
        names.addWidget(self.status_label, 2)
        root.addLayout(names)

        # import progress and result
        self.importer = ImportPanel(self.engine, self._run, self._say, self._track)
        self.import_panel = self.importer
        root.addWidget(self.import_panel)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setAccessibleName("Report views")
        self.tabs.addTab(self._scroll(self._build_overview()), "Overview")
        self.tabs.addTab(self._build_senders(), "Who sends as you")
        self.tabs.addTab(self._scroll(self._build_problems()), "Fix these")
        self.tabs.addTab(self._scroll(self._build_enforce()), "Safe to enforce?")
        self.tls_page = self._build_tls()
        self.tabs.addTab(self.tls_page, "TLS reports")
        self.tabs.addTab(self._build_watch(), "Watch the mailbox")
        root.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.import_files_button.clicked.connect(self.choose_files)
        self.import_folder_button.clicked.connect(self.choose_folder)
        self.importer.progressed.connect(self.importProgress.emit)
        self.importer.finished.connect(self._import_finished)
        self.domain_box.currentIndexChanged.connect(lambda _i: self.load_view())
        self.range_box.activated.connect(self._range_picked)
        self.lookup_box.toggled.connect(self._lookup_toggled)
        self.export_csv_button.clicked.connect(self.choose_export_csv)
        self.export_json_button.clicked.connect(self.choose_export_json)
        self._set_export_enabled(False)

    def _scroll(self, inner: QWidget) -> QScrollArea:
        area = QScrollArea()
        area.setObjectName("CardsScroll")
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        inner.setObjectName("CardsHost")
        area.setWidget(inner)
        return area

    def _build_overview(self) -> QWidget:
        page, lay = _page(10, right=6)
        self.overview_title = label("No reports yet. Drop report files or folders on this window, or press "
                                    "Import files…", "CardTitle", selectable=True)
        self.overview_title.setAccessibleName("Overview")
        lay.addWidget(self.overview_title)
        tiles = QHBoxLayout()
        tiles.setSpacing(10)
        self.fig_messages = Figure("Messages")
        self.fig_dmarc = Figure("Passed DMARC")
        self.fig_spf = Figure("SPF aligned")
        self.fig_dkim = Figure("DKIM aligned")
        for f in (self.fig_messages, self.fig_dmarc, self.fig_spf, self.fig_dkim):
            tiles.addWidget(f, 1)
        lay.addLayout(tiles)
        chart_card, cl = _card()
        cl.addWidget(label("Messages and DMARC pass rate per day", "SectionTitle"))
        self.chart = DailyChart()
        cl.addWidget(self.chart)
        lay.addWidget(chart_card)
        self.policy_label = label("", "Muted", selectable=True)
        self.policy_label.setAccessibleName("Policy receivers saw")
        lay.addWidget(self.policy_label)
        self.notes_label = label("", "", selectable=True)
        self.notes_label.setAccessibleName("What the figures leave out")
        self.notes_label.hide()
        lay.addWidget(self.notes_label)
        row = QHBoxLayout()
        row.setSpacing(10)
        top_card, tl = _card()
        tl.addWidget(label("Who sends the most as you", "SectionTitle", parent=top_card))
        self.top_services = label("", "", selectable=True, parent=top_card)
        self.top_services.setAccessibleName("Busiest sending services")
        tl.addWidget(self.top_services)
        tl.addStretch(1)
        row.addWidget(top_card, 1)
        enf_card, el = _card()
        el.addWidget(label("Safe to enforce?", "SectionTitle", parent=enf_card))
        self.verdict_badges: dict[str, tuple[Badge, QLabel]] = {}
        for policy, caption in (("quarantine", "Quarantine (failing mail goes to spam)"),
                                ("reject", "Reject (failing mail is refused)")):
            line = QHBoxLayout()
            badge = Badge(enf_card, "pending", "–")
            text = label(caption, "", parent=enf_card)
            line.addWidget(badge, 0, Qt.AlignmentFlag.AlignTop)
            line.addWidget(text, 1)
            el.addLayout(line)
            self.verdict_badges[policy] = (badge, text)
        self.verdict_label = label("", "Muted", selectable=True, parent=enf_card)
        self.verdict_label.setAccessibleName("Safe to enforce, in short")
        el.addWidget(self.verdict_label)
        el.addStretch(1)
        row.addWidget(enf_card, 1)
        lay.addLayout(row)
        lay.addStretch(1)
        return page

    def _build_senders(self) -> QWidget:
        page, lay = _page(6)
        lay.addWidget(label("By sending service", "SectionTitle"))
        self.services_view, self.services_model = make_table(SERVICE_COLUMNS, "Messages by sending service",
                                                             height=120)
        self.services_view.setMaximumHeight(190)
        lay.addWidget(self.services_view)
        lay.addWidget(label("By sending server (click a column title to sort)", "SectionTitle"))
        self.sources_view, self.sources_model = make_table(SOURCE_COLUMNS, "Messages by sending server")
        lay.addWidget(self.sources_view, 1)
        return page

    def _build_problems(self) -> QWidget:
        page, lay = _page(8, right=6)
        lay.addWidget(label("Passes, but not for your domain", "CardTitle"))
        lay.addWidget(label("These services send as you and pass SPF or DKIM, but for their own domain, so "
                            "DMARC fails. This is the usual set-up mistake with newsletter, shop and CRM "
                            "services. Fix them before you make DMARC stricter.", "Muted"))
        self.not_aligned_host = QVBoxLayout()
        self.not_aligned_host.setSpacing(8)
        lay.addLayout(self.not_aligned_host)
        self.not_aligned_empty = label("None: every sender that passes SPF or DKIM does so for your domain.",
                                       "CardSummary")
        lay.addWidget(self.not_aligned_empty)
        lay.addSpacing(10)
        lay.addWidget(label("Unknown senders that fail", "CardTitle"))
        lay.addWidget(label("Servers no known service runs, whose mail failed SPF, DKIM and DMARC. This is most "
                            "likely forged mail (or mail forwarded by a mailing list). Making DMARC stricter "
                            "stops the forged mail.", "Muted"))
        self.unknown_view, self.unknown_model = make_table(UNKNOWN_COLUMNS, "Unknown senders that fail",
                                                           height=160)
        lay.addWidget(self.unknown_view)
        lay.addStretch(1)
        self.not_aligned_views: list[QWidget] = []  # a frame per source, and the "… more" line
        return page

    def _build_enforce(self) -> QWidget:
        page, lay = _page(10, right=6)
        self.enforce_intro = label("", "Muted", selectable=True)
        lay.addWidget(self.enforce_intro)
        self.enforce_host = QVBoxLayout()
        self.enforce_host.setSpacing(10)
        lay.addLayout(self.enforce_host)
        lay.addStretch(1)
        self.enforce_views: list[QWidget] = []
        self.enforce_fixes: list[FixView] = []
        return page

    def _build_tls(self) -> QWidget:
        page, lay = _page(6)
        self.tls_label = label("", "CardSummary", selectable=True)
        self.tls_label.setAccessibleName("SMTP TLS reports, in short")
        lay.addWidget(self.tls_label)
        lay.addWidget(label("SMTP TLS reports (RFC 8460) tell you whether other mail servers could deliver to "
                            "you over an encrypted, verified connection.", "Muted"))
        self.tls_view, self.tls_model = make_table(TLS_COLUMNS, "SMTP TLS reports by policy", height=160)
        lay.addWidget(self.tls_view, 1)
        # the period's TLS reports that name no domain (as the import card lists them): in no domain's figures
        self.tls_unnamed_title = label("", "SectionTitle", selectable=True)
        self.tls_unnamed_title.setAccessibleName("TLS reports that name no domain")
        lay.addWidget(self.tls_unnamed_title)
        self.tls_unnamed_note = label("", "Muted", selectable=True)
        lay.addWidget(self.tls_unnamed_note)
        self.tls_unnamed_view, self.tls_unnamed_model = make_table(TLS_UNNAMED_COLUMNS,
                                                                   "TLS reports that name no domain", height=110)
        lay.addWidget(self.tls_unnamed_view, 1)
        self.tls_words = label("", "", selectable=True)
        self.tls_words.setAccessibleName("What the TLS failures mean")
        lay.addWidget(self.tls_words)
        for w in (self.tls_unnamed_title, self.tls_unnamed_note, self.tls_unnamed_view):
            w.hide()
        return page

    def _build_watch(self) -> QWidget:
        page, lay = _page(6)
        lay.addWidget(label("Read new reports from the mailbox your DMARC record's rua= address delivers to. "
                            "InboxReady remembers what it has read and looks again every five minutes while "
                            "it is running.", "Muted"))
        row = QHBoxLayout()
        self.watch_profile_box = QComboBox()
        self.watch_profile_box.setPlaceholderText("No reading profile yet (add one in Test a message)")
        self.watch_profile_box.setMinimumWidth(240)
        _labelled(row, "Reading profile", self.watch_profile_box, "Reading profile of the report mailbox", 1)
        self.watch_folder = QLineEdit("INBOX")
        _labelled(row, "Folder", self.watch_folder, "Mailbox folder the reports arrive in")
        self.watch_move = QLineEdit()
        self.watch_move.setPlaceholderText("leave them where they are")
        _labelled(row, "Move read reports to", self.watch_move, "Folder to move read report mails to (optional)")
        lay.addLayout(row)
        go = QHBoxLayout()
        self.watch_start = KeyButton("Start watching")
        self.watch_start.setObjectName("Primary")
        self.watch_start.setAccessibleName("Start watching the report mailbox")
        self.watch_stop = KeyButton("Stop")
        self.watch_stop.setAccessibleName("Stop watching the report mailbox")
        self.watch_stop.setEnabled(False)
        go.addWidget(self.watch_start)
        go.addWidget(self.watch_stop)
        self.watch_state = label("Not watching.", "Muted")
        self.watch_state.setAccessibleName("Mailbox watch state")
        go.addWidget(self.watch_state, 1)
        lay.addLayout(go)
        self.watch_log = QListWidget()
        self.watch_log.setAccessibleName("What the mailbox watch did")
        self.watch_log.setWordWrap(True)
        lay.addWidget(self.watch_log, 1)
        self.watch_start.clicked.connect(lambda: self.start_watch())
        self.watch_stop.clicked.connect(lambda: self.stop_watch())
        return page

    # -- engine plumbing ------------------------------------------------------------------------

    def _run(self, kind: str, params: dict[str, Any], done: Callable[[Any], None],
             progress: Callable[[Any], None] | None = None, failed: Callable[[str], None] | None = None) -> int:
        """Run the worker's job ``kind`` on this window's store; ``done``/``progress`` get wire values rebuilt
        (``from_wire``), ``failed`` plain words ("" when it was cancelled). Returns the job (0: not started)."""
        if self._closing:
            return 0

        def rebuilt(fn: Callable[[Any], None]) -> Callable[[Any], None]:
            def call(data: Any) -> None:
                try:
                    value = from_wire(data)
                except WireError as exc:
                    on_failure(f"its answer could not be read ({exc})")
                    return
                fn(value)
            return call

        def on_failure(reason: str) -> None:
            self._ops.pop(op.job, None)
            if failed is not None:
                failed(reason)
            elif reason:
                self._say(reason if is_refusal(reason) else f"Something went wrong inside InboxReady: {reason}")

        def on_done(value: Any) -> None:
            self._ops.pop(op.job, None)
            done(value)

        op = WorkerOp(self.engine, self, kind, {"store": str(self.store_path) if self.store_path else None, **params},
                      success=rebuilt(on_done), progress=rebuilt(progress) if progress is not None else None,
                      failure=on_failure, cancelled=lambda: on_failure(""))
        try:
            job = op.run()
        except RuntimeError as exc:  # the engine has been shut down
            if failed is not None:
                failed(str(exc))
            return 0
        self._ops[job] = op
        return job

    def _say(self, text: str) -> None:
        self.status_label.setText(text)

    # -- importing (importer.py) ----------------------------------------------------------------

    @property
    def importing(self) -> bool:
        return self.importer.importing

    @property
    def last_import(self) -> ImportOutcome | None:
        return self.importer.last_import

    def import_paths(self, paths: list[str] | list[Path]) -> None:
        """Import files and folders (what a drop and the Import buttons call). A second import waits for
        the one running."""
        self.importer.import_paths(paths)

    def cancel_import(self) -> None:
        self.importer.cancel_import()

    def rejected_text(self) -> str:
        return self.importer.rejected_text()

    def _import_finished(self, outcome: ImportOutcome) -> None:
        self.importFinished.emit(outcome)
        if outcome.result.imported:
            self.refresh_domains()

    def choose_files(self) -> None:
        files = open_files(self, "Import DMARC or TLS report files",
                           "Reports (*.xml *.gz *.zip *.eml *.mbox *.json *.msg *.txt);;All files (*)")
        if files:
            self.import_paths(files)

    def choose_folder(self) -> None:
        folder = open_folder(self, "Import every report in a folder")
        if folder:
            self.import_paths([folder])

    # drag and drop anywhere on the window
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: Any) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.import_paths(paths)

    # -- domains and the view -------------------------------------------------------------------

    def refresh_domains(self) -> None:
        self._run("reports_domains", {}, self._domains_loaded)

    def _domains_loaded(self, value: tuple[list[DomainInfo], str]) -> None:
        domains, problem = value
        if problem:
            self._say(problem)
        current = self.current_domain()
        self.domains = domains
        self.domain_box.blockSignals(True)
        self.domain_box.clear()
        for info in domains:
            self.domain_box.addItem(info.caption, info.domain)
        idx = self.domain_box.findData(current) if current else -1
        self.domain_box.setCurrentIndex(idx if idx >= 0 else (0 if domains else -1))
        self.domain_box.blockSignals(False)
        self.domainsLoaded.emit(domains)
        if domains:
            self.load_view()

    def current_domain(self) -> str:
        data = self.domain_box.currentData()
        return str(data) if data else ""

    def info_for(self, domain: str) -> DomainInfo | None:
        return next((i for i in self.domains if i.domain == domain), None)

    def select_domain(self, domain: str) -> None:
        idx = self.domain_box.findData(domain)
        if idx >= 0:
            self.domain_box.setCurrentIndex(idx)

    def set_range_days(self, days: int | None) -> None:
        for i in range(self.range_box.count()):
            if self.range_box.itemData(i) == days:
                self.range_box.setCurrentIndex(i)
                self._range_picked(i)
                return

    def _range_picked(self, _index: int) -> None:
        self._range_chosen = True
        self.load_view()

    def _days(self) -> int | None:
        data = self.range_box.currentData()
        return int(data) if data is not None else None

    def load_view(self) -> None:
        domain = self.current_domain()
        if not domain:
            return
        info = self.info_for(domain)
        days = self._days()
        if not self._range_chosen and days is not None and info is not None and info.newest \
                and info.newest < time.time() - days * DAY:
            self.range_box.setCurrentIndex(len(RANGES) - 1)  # nothing recent: show all (the user can narrow)
            days = None
        self._view_seq += 1
        seq = self._view_seq
        record = self.view.current_record if self.view is not None and self.view.domain == domain else None
        self._say(f"Reading the reports about {domain}…")
        self._run("reports_view", {"domain": domain, "days": days, "info": to_wire(info), "current_record": record},
                  functools.partial(self._view_ready, seq))

    def _view_ready(self, seq: int, view: ReportView) -> None:
        if seq != self._view_seq:
            return  # an older request
        self.show_view(view)
        if self.lookup_box.isChecked() and not view.looked_up:
            self._look_up_names(view)

    def show_view(self, view: ReportView) -> None:
        """Show ``view`` in steps, one per turn of the event loop (overview, tables, a few fixes at a time,
        enforcement and TLS), so that no single step keeps the UI busy for long; ``viewShown`` at the end."""
        self._show_seq += 1
        seq = self._show_seq
        s = view.summary
        steps: list[Callable[[], None]] = [lambda: self._show_overview(view), lambda: self._prepare_tables(view),
                                           lambda: self._fill_table(0), lambda: self._fill_table(1),
                                           lambda: self._fill_table(2),
                                           lambda: self._clear(self.not_aligned_views)]
        shown = s.not_aligned[:MAX_NOT_ALIGNED]
        for i in range(0, len(shown), 3):
            steps.append(functools.partial(self._add_not_aligned, shown[i:i + 3]))
        steps.append(lambda: self._end_not_aligned(s.not_aligned))
        steps.append(lambda: self._show_enforcement(s, view))
        for e in s.enforcement:
            steps.append(functools.partial(self._add_enforcement, e))
        steps.append(lambda: self._show_tls(view))

        def finish() -> None:
            self.view = view
            self._names_state(s, view)
            self._set_export_enabled(view.domain != NO_DOMAIN)  # the exports are a domain's DMARC figures
            self.viewShown.emit(view)

        steps.append(finish)

        def run(i: int) -> None:
            if seq != self._show_seq or self._closing:
                return  # a newer view is being shown
            steps[i]()
            if i + 1 < len(steps):
                QTimer.singleShot(0, lambda: run(i + 1))

        run(0)

    def _show_overview(self, view: ReportView) -> None:
        s = view.summary
        period = "all time" if view.days is None else f"the last {view.days} days"
        self._say("")
        if view.domain == NO_DOMAIN:
            self.overview_title.setText(f"{_n(len(view.tls_unnamed))} SMTP TLS report(s) over {period} don't say "
                                        "which domain they are about; they are listed in the TLS reports tab. No "
                                        "DMARC report is without a domain.")
            self.tabs.setCurrentWidget(self.tls_page)
        elif s.reports:
            self.overview_title.setText(f"{s.domain}: {_n(s.reports)} DMARC report{'s' if s.reports != 1 else ''} "
                                        f"over {period}, {_n(s.messages)} messages from {_n(len(s.sources))} "
                                        f"sending server{'s' if len(s.sources) != 1 else ''}.")
        else:
            self.overview_title.setText(f"No DMARC reports about {s.domain} in {period}."
                                        + (" Choose All time in Period to see older ones."
                                           if view.days is not None else ""))
        known = s.evaluated  # messages whose DMARC result is known
        self.fig_messages.set(_n(s.messages), f"in {_n(s.reports)} report(s)")
        self.fig_dmarc.set(_pct(s.dmarc_pass, known), f"{_n(s.dmarc_pass)} passed, {_n(known - s.dmarc_pass)} failed"
                           + (f", {_n(s.unknown)} unknown" if s.unknown else ""))
        self.fig_spf.set(_pct(s.spf_aligned, known), f"SPF passed for any domain: {_pct(s.spf_pass, known)}")
        self.fig_dkim.set(_pct(s.dkim_aligned, known), f"DKIM passed for any domain: {_pct(s.dkim_pass, known)}")
        also = [f"    also {p['org']} report {p['report_id']} ({p['name']}): {p['skipped']}" for p in s.partial[1:]]
        self.notes_label.setText(shown("\n".join([f"Note: {n}" for n in s.notes] + also)))
        self.notes_label.setVisible(bool(s.notes))
        self.chart.set_days(s.daily)
        pol = s.policy or {}
        if pol:
            text = f"Receivers saw your DMARC policy as p={pol.get('p') or '?'}"
            if pol.get("testing"):
                text += f" (t={pol['testing']})"
            self.policy_label.setText(text + (f". Published now: {view.current_record}" if view.current_record
                                              else "."))
        else:
            self.policy_label.setText("")
        words = {"safe": "safe", "already": "already on", "not-yet": "not yet", "review": "check first",
                 "not-enough-data": "not enough data"}
        self.verdict_label.setText("The Safe to enforce? tab has the details, the senders affected and the record "
                                   "to publish." if s.enforcement else "")
        self.verdict_label.setAccessibleDescription(
            "; ".join(f"{e.policy}: {words.get(e.verdict, e.verdict)}" for e in s.enforcement))
        for e in s.enforcement:
            if e.policy not in self.verdict_badges:
                continue
            badge, caption = self.verdict_badges[e.policy]
            st, word = VERDICT_BADGES.get(e.verdict, ("info", e.verdict))
            badge.set_status(st, word)
            share = (f": {e.affected_share * 100:.1f}% of legitimate-looking mail would be affected"
                     if e.legit_messages and e.verdict in ("safe", "not-yet") else
                     ": first check the unidentified servers that fail" if e.verdict == "review" else "")
            caption.setText(f"{ENFORCE_TITLES.get(e.policy, e.policy)}{share}.")
        top = s.services[:6]
        self.top_services.setText("\n".join(
            f"{v.service}: {_n(v.messages)} message{'s' if v.messages != 1 else ''}, "
            f"{_pct(v.dmarc_pass, v.messages)} passed DMARC" for v in top) or "No mail in this period.")

    def _prepare_tables(self, view: ReportView) -> None:
        s = view.summary
        if not self.lookup_box.isChecked():
            for r in s.sources:
                if r.service == UNKNOWN_PENDING:
                    r.service = "unknown"
        # grouped by sending service (the busiest service first), then by messages
        rank = {v.service_id: i for i, v in enumerate(s.services)}
        grouped = sorted(s.sources, key=lambda r: (rank.get(r.service_id or "unknown", len(rank)), -r.messages))
        self._tables = [(self.services_model, self.services_view, s.services),
                        (self.sources_model, self.sources_view, grouped),
                        (self.unknown_model, self.unknown_view, s.unknown_failing)]

    def _fill_table(self, i: int) -> None:
        model, table, rows = self._tables[i]
        model.set_rows(rows)
        model.fit_columns(table)

    def _track(self, buttons: list[CopyButton]) -> None:
        """Copy buttons follow the theme (their icon), from the start and when it changes."""
        scheme = theme.current_scheme()
        for b in buttons:
            b.on_theme_changed(scheme)
            self.copy_buttons.append(b)

    def _clear(self, views: list[QWidget]) -> None:
        for w in views:
            for b in w.findChildren(CopyButton):
                if b in self.copy_buttons:
                    self.copy_buttons.remove(b)
            w.setParent(None)
            w.deleteLater()
        views.clear()

    def _add_not_aligned(self, items: list[NotAligned]) -> None:
        for n in items:
            frame, lay = _card()
            frame.setAccessibleName(f"{n.service} ({n.ip}) passes but not for your domain")
            lay.addWidget(label(f"{n.service} ({n.ip}): {_n(n.messages)} message(s) failed DMARC", "CardTitle",
                                selectable=True, parent=frame))
            lay.addWidget(label(n.why, "", selectable=True, parent=frame))
            lay.addWidget(label(n.advice, "Muted", selectable=True, parent=frame))
            for f in n.fixes:
                fv = FixView(f, parent=frame)
                self._track(fv.buttons())
                lay.addWidget(fv)
            self.not_aligned_host.addWidget(frame)
            self.not_aligned_views.append(frame)

    def _end_not_aligned(self, items: list[NotAligned]) -> None:
        if len(items) > MAX_NOT_ALIGNED:
            more = label(f"… and {len(items) - MAX_NOT_ALIGNED} more (all of them are in the JSON export).", "Muted")
            self.not_aligned_host.addWidget(more)
            self.not_aligned_views.append(more)
        self.not_aligned_empty.setVisible(not items)

    def _show_enforcement(self, s: ReportSummary, view: ReportView) -> None:
        self._clear(self.enforce_views)
        self.enforce_fixes = []
        period = "all the reports" if view.days is None else f"the last {view.days} days of reports"
        self.enforce_intro.setText(
            f"Legitimate-looking mail is mail from a service you use or a server that passes DMARC at least "
            f"sometimes. Looking at {period}: this is how much of it would have gone to spam (quarantine) or been "
            f"refused (reject) with a stricter policy.")

    def _add_enforcement(self, e: Enforcement) -> None:
        titles, badges = ENFORCE_TITLES, VERDICT_BADGES
        frame, lay = _card()
        frame.setAccessibleName(titles.get(e.policy, e.policy))
        top = QHBoxLayout()
        st, word = badges.get(e.verdict, ("info", e.verdict))
        top.addWidget(Badge(frame, st, word), 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(label(titles.get(e.policy, e.policy), "CardTitle", parent=frame), 1)
        lay.addLayout(top)
        lay.addWidget(label(e.message, "CardSummary", selectable=True, parent=frame))
        if e.legit_messages:
            share = label(f"Would have been affected: {e.affected_share * 100:.1f}% of legitimate-looking mail "
                          f"({_n(e.affected_messages)} of {_n(e.legit_messages)} messages).", "",
                          selectable=True, parent=frame)
            share.setAccessibleName(f"Share affected by {e.policy}")
            lay.addWidget(share)
        if e.affected_sources:
            lay.addWidget(label("From these senders:", "SectionTitle", parent=frame))
            shown = e.affected_sources[:MAX_AFFECTED]
            extra = len(e.affected_sources) - len(shown)
            lay.addWidget(label("\n".join(f"•  {x} message(s)" for x in shown)
                                + (f"\n… and {extra} more" if extra > 0 else ""), "", selectable=True,
                                parent=frame))
        if e.next_record is not None:
            fv = FixView(e.next_record, heading="Next DMARC record to publish", parent=frame)
            self._track(fv.buttons())
            self.enforce_fixes.append(fv)
            lay.addWidget(fv)
        self.enforce_host.addWidget(frame)
        self.enforce_views.append(frame)

    def _show_tls(self, view: ReportView) -> None:
        self.tls_model.set_rows(view.tls)
        self.tls_model.fit_columns(self.tls_view)
        self._show_tls_unnamed(view)
        words = tls_failure_words([*view.tls, *view.tls_unnamed])
        self.tls_words.setText(shown(f"What the failures mean:\n{words}") if words else "")
        if view.domain == NO_DOMAIN:
            self.tls_view.hide()
            self.tls_label.setText(f"{_n(len(view.tls_unnamed))} SMTP TLS report(s) in this period don't say which "
                                   "domain they are about." if view.tls_unnamed else
                                   "No SMTP TLS report without a domain in this period.")
            return
        self.tls_view.setVisible(bool(view.tls) or not view.tls_unnamed)
        if view.tls:
            # the summary's totals count each session once (a sender listing it under both its MTA-STS and
            # DANE policy is one delivery); the table shows each policy's own counts
            tls = view.summary.tls
            ok, bad = int(tls.get("successful_sessions", 0)), int(tls.get("failed_sessions", 0))
            self.tls_label.setText(f"{_n(bad)} of {_n(ok + bad)} encrypted deliveries to {view.domain} failed "
                                   f"({_pct(bad, ok + bad)}), in {_n(int(tls.get('reports', 0)))} TLS report(s).")
        else:
            self.tls_label.setText(f"No SMTP TLS reports about {view.domain} in this period. Publish a TLS-RPT "
                                   "record (_smtp._tls) to receive them.")

    def _show_tls_unnamed(self, view: ReportView) -> None:
        """The period's TLS reports that name no domain, listed as the import card lists them: imported for an
        unknown domain and in no domain's figures (under a domain, they may be about it or another one)."""
        rows = view.tls_unnamed
        self.tls_unnamed_model.set_rows(rows)
        self.tls_unnamed_model.fit_columns(self.tls_unnamed_view)
        for w in (self.tls_unnamed_title, self.tls_unnamed_note, self.tls_unnamed_view):
            w.setVisible(bool(rows))
        if not rows:
            return
        ok, bad = sum(r.successful for r in rows), sum(r.failed for r in rows)
        self.tls_unnamed_title.setText(f"TLS reports that name no domain ({_n(len(rows))})")
        maybe = "" if view.domain == NO_DOMAIN else f" They may be about {view.domain} or another of your domains."
        self.tls_unnamed_note.setText(
            "These TLS reports don't say which domain they are about (no policy-domain, and neither their mail nor "
            f"their file name names one), so they were imported for an unknown domain and are in no domain's "
            f"figures: {_n(bad)} of {_n(ok + bad)} connections failed.{maybe}")

    def _set_export_enabled(self, on: bool) -> None:
        self.export_csv_button.setEnabled(on)
        self.export_json_button.setEnabled(on)

    # -- reverse DNS ----------------------------------------------------------------------------

    def _names_state(self, s: ReportSummary, view: ReportView) -> None:
        if not self.lookup_box.isChecked():
            self.names_label.setText("Names are not looked up: senders are named from the built-in list of "
                                     "services only.")
        elif s.pending_lookups and not view.looked_up:
            self.names_label.setText(f"Looking up the names of {_n(s.pending_lookups)} sending server(s)…")
        elif view.looked_up:
            unnamed = sum(1 for r in s.sources if not r.ptr) - s.failed_lookups
            parts = ([f"{_n(unnamed)} without a name"] if unnamed else []) + (
                [f"{_n(s.failed_lookups)} couldn't be looked up: the DNS server didn't answer; they are asked "
                 "again next time"] if s.failed_lookups else [])
            self.names_label.setText("Senders' names looked up" + (f" ({'; '.join(parts)})." if parts else "."))
        else:
            self.names_label.setText("")

    def _lookup_toggled(self, on: bool) -> None:
        if on and self.view is not None and not self.view.looked_up:
            self._look_up_names(self.view)
        elif self.view is not None:
            self._names_state(self.view.summary, self.view)

    def _look_up_names(self, view: ReportView) -> None:
        if view.domain == NO_DOMAIN:
            return  # no senders, no DMARC record to look up
        if self._names_job and self.engine.task_running(self._names_job):
            self.engine.cancel_task(self._names_job)
        domain, days, seq = view.domain, view.days, self._view_seq
        info = self.info_for(domain)
        ips = [r.ip for r in view.summary.sources]
        self._names_job = self._run("reports_view", {"domain": domain, "days": days, "info": to_wire(info),
                                                     "lookup": True, "ips": ips, "nameservers": self.nameservers,
                                                     "timeout": self.timeout},
                                    lambda v: self._names_ready(seq, v),
                                    failed=lambda r: self.names_label.setText(
                                        "Names could not be looked up" + (f": {r}" if r else ".")))

    def _names_ready(self, seq: int, view: ReportView) -> None:
        self._names_job = 0
        if seq != self._view_seq:
            return
        self.show_view(view)

    # -- export ---------------------------------------------------------------------------------

    def choose_export_csv(self) -> None:
        if self.view is None:
            return
        filters = [f"{caption} (*.csv)" for caption, _table in CSV_TABLES]
        path, chosen = save_file(self, "Export a table as CSV", f"dmarc-senders-{self.view.domain}.csv",
                                 ";;".join(filters))
        if path:
            table = next((t for (caption, t), f in zip(CSV_TABLES, filters, strict=True) if f == chosen), "sources")
            self.export_csv(path, table)

    def choose_export_json(self) -> None:
        if self.view is None:
            return
        path, _ = save_file(self, "Export the report summary as JSON", f"dmarc-summary-{self.view.domain}.json",
                            "JSON files (*.json)")
        if path:
            self.export_json(path)

    def export_csv(self, path: str | Path, table: str = "sources") -> None:
        """Write one table as CSV, off the UI thread: "sources" (one row per sending server, the default),
        "services", "daily", "unknown_failing" or "not_aligned" (with the fixes)."""
        if self.view is None:
            return
        text_of = self.view.summary.to_csv
        self._export(Path(path), lambda: text_of(table))

    def export_json(self, path: str | Path) -> None:
        """Write the whole summary (sources, services, daily, fixes, enforcement, TLS) as JSON."""
        if self.view is None:
            return
        view = self.view

        def text() -> str:
            doc = view.summary.to_json()
            doc["period"] = "all" if view.days is None else f"{view.days} days"
            doc["current_record"] = view.current_record
            doc["tls_policies"] = [{"policy_type": t.policy_type, "policy_domain": t.policy_domain,
                                    "reports": t.reports, "successful": t.successful, "failed": t.failed,
                                    "failure_types": t.failure_types} for t in view.tls]
            return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"

        self._export(Path(path), text)

    def _export(self, path: Path, text: Callable[[], str]) -> None:
        def work() -> str:
            try:
                tmp = path.with_name(path.name + ".part")
                tmp.write_text(text(), encoding="utf-8", newline="")
                tmp.replace(path)
            except OSError as exc:
                return exc.strerror or str(exc)
            return ""

        def done(error: str) -> None:
            self._say(f"Could not write {path.name}: {error}" if error else f"Saved {path}.")
            self.exportFinished.emit(str(path), error)

        self._say(f"Saving {path.name}…")
        QueryOp(self, work, success=done, failure=lambda exc: done(str(exc))).run()

    # -- watching the mailbox -------------------------------------------------------------------

    def reload_profiles(self) -> None:
        if self._profile_store is None:
            from inboxready.core.mail.profiles import ProfileStore
            self._profile_store = ProfileStore()
        current = self.watch_profile_box.currentText()
        self.watch_profile_box.clear()
        for name in sorted(self._profile_store.read):
            self.watch_profile_box.addItem(name)
        idx = self.watch_profile_box.findText(current) if current else -1
        self.watch_profile_box.setCurrentIndex(idx if idx >= 0 else (0 if self.watch_profile_box.count() else -1))
        set_available(self.watch_start, "the mailbox is being watched." if self._watch_job else
                      "" if self.watch_profile_box.count() else NO_READ_PROFILE)

    @property
    def watching(self) -> bool:
        return self._watch_job != 0

    def start_watch(self, *, every: float = WATCH_EVERY_S, password: str | None = None) -> None:
        name = self.watch_profile_box.currentText()
        if not name or self.watching or self._profile_store is None:
            return
        try:
            profile = self._profile_store.get_read(name)
        except Exception as exc:  # noqa: BLE001 - ProfileError: plain words
            self.watch_state.setText(str(exc))
            return
        folder = self.watch_folder.text().strip() or "INBOX"
        move_to = self.watch_move.text().strip() or None

        def ended(reason: str) -> None:
            self._watch_job = 0
            self.watch_state.setText("Not watching." if not reason else f"Watching stopped: {reason}")
            set_available(self.watch_start, "" if self.watch_profile_box.count() else NO_READ_PROFILE)
            self.watch_stop.setEnabled(False)

        self._watch_job = self._run("reports_watch", {"profile": to_wire(profile), "password": password,
                                                      "folder": folder, "move_to": move_to, "every": every},
                                    lambda _v: ended(""), self._watch_progress, ended)
        if self._watch_job:
            self.watch_state.setText(f"Watching {folder} with the profile {name}…")
            set_available(self.watch_start, "the mailbox is being watched.")
            self.watch_stop.setEnabled(True)

    def _watch_progress(self, value: Any) -> None:
        if not isinstance(value, WatchRound):
            return
        self.watch_log.insertItem(0, value.text)
        self.watch_state.setText(value.text)
        self.watchRound.emit(value)
        if value.imported:
            self.refresh_domains()

    def stop_watch(self) -> None:
        if self._watch_job:
            self.engine.cancel_task(self._watch_job)

    # -- theme and shutdown ---------------------------------------------------------------------

    def on_theme_changed(self, scheme: str) -> None:
        for b in list(self.copy_buttons):
            try:
                b.on_theme_changed(scheme)
            except RuntimeError:
                self.copy_buttons.remove(b)
        self.chart.update()

    def shutdown(self) -> None:
        """Stop the import, the name lookups and the watch (the worker closes the store when it ends)."""
        if self._closing:
            return
        for op in list(self._ops.values()):  # the import, the name lookups, the watch, a view being read
            op.abandon()
        self._ops.clear()
        self.importer.forget()
        self._names_job = self._watch_job = 0
        self._closing = True

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing only hides the window: an import or a mailbox watch goes on (``shutdown`` at app exit).
        With ``WA_DeleteOnClose`` set, the window is going away, so everything stops."""
        if self.testAttribute(Qt.WidgetAttribute.WA_DeleteOnClose):
            self.shutdown()
        super().closeEvent(event)


__all__ = ["ReportsWindow"]
