"""The record builders window: SPF, DMARC, DKIM key and "What if", one tab each.

Everything that asks DNS or generates a key runs in the engine process (the worker's builder jobs,
``core/worker/builders.py``, through ``WorkerOp``); each result comes back to the callback of the job that
asked, so a result of another window (or an older run) is ignored. Saving the private key is one small file
write (``QueryOp``). Building the SPF
record from the catalog is a few string operations and runs on the UI thread; its live lookup count is
asked from DNS after a short pause in typing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inboxready.core.worker.protocol import is_refusal
from inboxready.core.builders import dkimkeys
from inboxready.core.builders import dmarc as dmarc_builder
from inboxready.core.builders import spf as spf_builder
from inboxready.core.builders.whatif import SUPPORTED_TYPES
from inboxready.core.context import CheckOptions
from inboxready.core.dns.client import DEFAULT_TIMEOUT
from inboxready.core.worker.protocol import options_to_json
from inboxready.core.worker.values import from_wire
from inboxready.core.domain import DomainError, parse_domain
from inboxready.core.model import DomainReport
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .cards import CheckCard
from .engine import Engine
from .queryop import QueryOp, WorkerOp
from .filedialogs import save_file
from .widgets import CodeText, CopyButton, FixView, label, set_available

LIVE_COUNT_DELAY_MS = 400
KEY_CHOICES = [("RSA, 2048 bits (recommended)", "rsa", 2048), ("RSA, 4096 bits", "rsa", 4096),
               ("RSA, 1024 bits (only for DNS hosts that can't take longer records)", "rsa", 1024),
               ("Ed25519 (short; publish an RSA key too)", "ed25519", 256)]
POLICY_CHOICES = [("Same as the domain (leave out)", None), ("none (monitor)", "none"),
                  ("quarantine (spam folder)", "quarantine"), ("reject", "reject")]
NP_CHOICES = [("reject (recommended)", "reject"), ("quarantine", "quarantine"), ("none", "none"),
              ("Leave out", None)]


def _scrolled(inner: QWidget, name: str) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(inner)
    area.setAccessibleName(name)
    return area


def _button(text: str, name: str, primary: bool = False) -> QPushButton:
    b = QPushButton(text)
    b.setAccessibleName(name)
    if primary:
        b.setObjectName("Primary")
    b.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    return b


def _line(placeholder: str, name: str, text: str = "") -> QLineEdit:
    w = QLineEdit(text)
    w.setPlaceholderText(placeholder)
    w.setAccessibleName(name)
    return w


def _combo(items: list[tuple[str, Any]], name: str) -> QComboBox:
    w = QComboBox()
    for text, data in items:
        w.addItem(text, data)
    w.setAccessibleName(name)
    return w


def _clear(layout: QVBoxLayout) -> None:
    while (item := layout.takeAt(0)) is not None:
        w = item.widget()
        if w is not None:
            w.hide()
            w.deleteLater()


class BuildersWindow(QWidget):
    """Build SPF, DMARC and DKIM records, or check a record as if it were published.

    ``nameservers``/``timeout``: the DNS the window asks (None: the computer's). ``domain``: filled in
    the domain field (the main window passes the domain it shows)."""

    spfUpdated = Signal(object)  # SpfBuild (offline at once, again when counted live)
    flattened = Signal(object)  # FlattenResult
    ladderShown = Signal(object)  # list[DmarcStep]
    keyGenerated = Signal(object)  # DkimKey
    keySaved = Signal(str)  # the path
    whatIfShown = Signal(object)  # DomainReport | None (None: the record couldn't be read)
    taskError = Signal(str)

    def __init__(self, engine: Engine, *, nameservers: list[str] | None = None, timeout: float = DEFAULT_TIMEOUT,
                 domain: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.engine = engine
        self.nameservers = nameservers
        self.timeout = timeout
        self.jobs: dict[int, WorkerOp] = {}
        self.spf_build: spf_builder.SpfBuild | None = None
        self.steps: list[dmarc_builder.DmarcStep] = []
        self.key: dkimkeys.DkimKey | None = None
        self.report: DomainReport | None = None
        self.cards: dict[str, CheckCard] = {}
        self._spf_job = 0
        self._closed = False
        self.setWindowTitle("InboxReady – Record builders")
        self.setAccessibleName("Record builders")
        self.setObjectName("BuildersWindow")
        root = QVBoxLayout(self)
        root.setContentsMargins(22, 16, 22, 12)
        root.setSpacing(10)
        root.addWidget(label("Record builders", "Title", wrap=False))
        root.addWidget(label("Make the DNS records for SPF, DMARC and DKIM, or try a record before you publish it. "
                             "Nothing here changes your DNS: you copy the records to your DNS host.", "Subtitle"))
        row = QHBoxLayout()
        cap = label("Your domain", "FieldLabel", wrap=False)
        self.domain_field = _line("example.com", "Your domain", domain or "")
        cap.setBuddy(self.domain_field)
        row.addWidget(cap)
        row.addWidget(self.domain_field, 1)
        root.addLayout(row)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Builders")
        self.tabs.addTab(self._spf_tab(), "SPF")
        self.tabs.addTab(self._dmarc_tab(), "DMARC")
        self.tabs.addTab(self._dkim_tab(), "DKIM key")
        self.tabs.addTab(self._whatif_tab(), "What if")
        root.addWidget(self.tabs, 1)
        self.resize(980, 760)
        self.update_spf()

    # -- plumbing -------------------------------------------------------------------------------

    def domain(self) -> str | None:
        text = self.domain_field.text().strip()
        if not text:
            return None
        try:
            return parse_domain(text).domain
        except DomainError:
            return None

    def _run(self, kind: str, params: dict[str, Any], done: Callable[[Any], None]) -> int:
        """Run the worker's builder job ``kind`` (with this window's DNS server and timeout); ``done(result)``
        with its result (rebuilt from the wire) on the UI thread. Returns the job number (0: not started)."""
        if self._closed:
            return 0  # the window is closing: nothing to start

        def finished(data: Any) -> None:
            self.jobs.pop(op.job, None)
            done(from_wire(data))

        def cancelled() -> None:
            self.jobs.pop(op.job, None)

        op = WorkerOp(self.engine, self, kind, {"nameservers": self.nameservers, "timeout": self.timeout, **params},
                      success=finished, failure=lambda why: self._on_failed(op.job, why),
                      cancelled=cancelled)
        try:
            job = op.run()
        except RuntimeError:  # the app is shutting down
            return 0
        self.jobs[job] = op
        return job

    def _on_failed(self, job: int, why: str) -> None:
        if self.jobs.pop(job, None) is not None:
            self.taskError.emit(why)
            tab = self.tabs.currentIndex()
            target = [self.spf_status, self.dmarc_status, self.dkim_status, self.whatif_status][tab]
            target.setText(why if is_refusal(why) else f"Something went wrong inside InboxReady: {why}. Please report it.")
            for button in (self.generate_button, self.whatif_button):
                set_available(button)

    def busy(self) -> bool:
        return any(self.engine.task_running(j) for j in self.jobs)

    def closeEvent(self, event: Any) -> None:
        self._closed = True
        self._spf_timer.stop()
        for op in list(self.jobs.values()):
            op.abandon()
        self.jobs.clear()
        super().closeEvent(event)

    # -- SPF ------------------------------------------------------------------------------------

    def _spf_tab(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setSpacing(8)
        lay.addWidget(label("Tick the services that send mail as your domain and add your own servers' addresses. "
                            "The record and its DNS lookup count update as you go (receivers allow 10 lookups).",
                            "Muted"))
        self.service_search = _line("Search services…", "Search the list of sending services")
        lay.addWidget(self.service_search)
        self.service_list = QListWidget()
        self.service_list.setAccessibleName("Sending services")
        for s in spf_builder.load_catalog():
            cost = (f"include, {s.lookups} lookup{'s' if s.lookups != 1 else ''}, {s.estimate_words}"
                    if s.needs_root_include else "no include needed: own return path" if s.own_return_path
                    else "no include needed")
            item = QListWidgetItem(f"{s.name}  ({cost})")
            item.setData(Qt.ItemDataRole.UserRole, s.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            item.setToolTip(f"{s.note}\nChecked: {s.checked}\nSource: {s.source}".strip())
            self.service_list.addItem(item)
        self.service_list.setMinimumHeight(160)
        lay.addWidget(self.service_list, 1)
        row = QHBoxLayout()
        cap = label("Your own servers", "FieldLabel", wrap=False)
        self.ip_field = _line("IP addresses or ranges, e.g. 192.0.2.10, 198.51.100.0/24", "Your own servers' IP addresses")
        cap.setBuddy(self.ip_field)
        row.addWidget(cap)
        row.addWidget(self.ip_field, 1)
        lay.addLayout(row)
        row = QHBoxLayout()
        self.merge_box = QCheckBox("Keep what my domain's current SPF record allows")
        self.merge_box.setAccessibleName("Merge with the domain's current SPF record")
        self.merge_box.setChecked(True)
        row.addWidget(self.merge_box)
        self.all_box = _combo([("Keep the current ending (or ~all)", None), ("~all (soft fail, the safe choice)", "~"),
                               ("-all (fail; only once DMARC is at reject)", "-")], "How the record ends")
        row.addWidget(self.all_box)
        lay.addLayout(row)
        self.lookup_label = label("", "SectionTitle")
        lay.addWidget(self.lookup_label)
        rec_row = QHBoxLayout()
        self.spf_record = CodeText("", "SPF record to publish")
        rec_row.addWidget(self.spf_record, 1)
        self.spf_copy = CopyButton(lambda: self.spf_build.record if self.spf_build else "", "SPF record")
        rec_row.addWidget(self.spf_copy, 0, Qt.AlignmentFlag.AlignTop)
        lay.addLayout(rec_row)
        self.spf_status = label("", "", selectable=True)
        lay.addWidget(self.spf_status)
        # over the limit: the records that fit (each checked over DNS by the SPF check), and the records of the
        # services that need no include
        self.options_box = QWidget()
        self.options_layout = QVBoxLayout(self.options_box)
        self.options_layout.setContentsMargins(0, 0, 0, 0)
        self.options_box.hide()
        lay.addWidget(self.options_box)
        self.option_views: list[FixView] = []
        row = QHBoxLayout()
        self.flatten_button = _button("Flatten…", "Flatten the record (replace includes by addresses)")
        row.addWidget(self.flatten_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.flat_record = CodeText("", "Flattened SPF record")
        self.flat_record.hide()
        lay.addWidget(self.flat_record)
        self.flat_label = label("", "Muted", selectable=True)
        self.flat_label.hide()
        lay.addWidget(self.flat_label)
        self._spf_timer = QTimer(self)
        self._spf_timer.setSingleShot(True)
        self._spf_timer.setInterval(LIVE_COUNT_DELAY_MS)
        self._spf_timer.timeout.connect(self.count_live)
        self.service_search.textChanged.connect(self._filter_services)
        self.service_list.itemChanged.connect(lambda _i: self.update_spf())
        self.ip_field.textChanged.connect(lambda _t: self.update_spf())
        self.merge_box.toggled.connect(lambda _b: self.update_spf())
        self.all_box.currentIndexChanged.connect(lambda _i: self.update_spf())
        self.domain_field.textChanged.connect(lambda _t: self.update_spf())
        self.flatten_button.clicked.connect(self.start_flatten)
        return _scrolled(page, "SPF builder")

    def _filter_services(self, text: str) -> None:
        t = text.strip().lower()
        for i in range(self.service_list.count()):
            item = self.service_list.item(i)
            item.setHidden(bool(t) and t not in item.text().lower() and t not in item.toolTip().lower())

    def set_services(self, ids: list[str]) -> None:
        for i in range(self.service_list.count()):
            item = self.service_list.item(i)
            on = item.data(Qt.ItemDataRole.UserRole) in ids
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def selected_services(self) -> list[str]:
        out = []
        for i in range(self.service_list.count()):
            item = self.service_list.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return out

    def _ips(self) -> list[str]:
        return [p for p in self.ip_field.text().replace(",", " ").split() if p]

    def update_spf(self) -> None:
        """Rebuild the record offline now, and ask DNS for the exact count after a short pause."""
        try:
            b = spf_builder.build_spf(self.selected_services(), self._ips(), None,
                                      all_qualifier=self.all_box.currentData())
        except spf_builder.SpfBuildError as exc:
            self.spf_status.setText(str(exc))
            return
        self._show_spf(b)
        self._spf_timer.start()

    def count_live(self) -> int:
        services, ips, q = self.selected_services(), self._ips(), self.all_box.currentData()
        domain = self.domain() if self.merge_box.isChecked() else None

        def done(result: Any) -> None:
            if job != self._spf_job:
                return  # an older count
            if isinstance(result, str):
                self.spf_status.setText(result)
                return
            self._show_spf(result)

        self.lookup_label.setText(self.lookup_label.text().split(" –")[0] + " – counting over DNS…")
        job = self._run("spf_count", {"services": services, "ips": ips, "domain": domain, "all_qualifier": q}, done)
        self._spf_job = job
        return job

    def showEvent(self, event: Any) -> None:
        self._closed = False
        super().showEvent(event)

    def hideEvent(self, event: Any) -> None:
        self._spf_timer.stop()
        super().hideEvent(event)

    def _show_spf(self, b: spf_builder.SpfBuild) -> None:
        self.spf_build = b
        how = ("counted over DNS" if b.lookups_live else "estimated from our list of services" if b.lookups_known
               else "at least; some includes are not in our list")
        over = b.lookups > spf_builder.LOOKUP_LIMIT
        self.lookup_label.setText(f"This record would need {b.lookups} DNS lookups ({how}): receivers allow 10, so "
                                  "it would not work as it is" if over else f"{b.lookups} of 10 DNS lookups ({how})")
        self.spf_record.setPlainText(b.record)
        # a record that breaks SPF, or one built without the current record (it couldn't be read: published, it
        # would drop the servers that record lists), is never offered for copying
        self.spf_copy.setEnabled(not over and not b.current_unread)
        self.spf_copy.setToolTip(
            "We couldn't read your current SPF record, so this is only a draft of what you ticked: try again "
            "before you publish" if b.current_unread
            else "This record needs more than 10 lookups: use one of the records below" if over
            else "Copy the SPF record to the clipboard")
        if b.current_unread:
            self.lookup_label.setText("Not ready to publish: your current SPF record couldn't be read (see below)")
        costly = [f"{t}: {c}" + (f" ({b.cost_sources[t]})" if t in b.cost_sources else "")
                  for t, c in b.costs.items() if c]
        lines = [f"⚠ {p}" for p in b.problems] + [f"• {n}" for n in b.notes]
        if costly and (over or not b.lookups_live):
            lines.insert(len(b.problems), "Lookups per rule: " + "; ".join(costly))
        if len(b.strings) > 1:
            lines.append("As TXT strings: " + " ".join(f'"{s}"' for s in b.strings))
        if b.dkim_selectors:
            lines.append(f"DKIM selectors to expect: {', '.join(b.dkim_selectors)}")
        self.spf_status.setText("\n".join(lines))
        self._show_options(b)
        self.spfUpdated.emit(b)

    def _show_options(self, b: spf_builder.SpfBuild) -> None:
        while (item := self.options_layout.takeAt(0)) is not None:
            if (w := item.widget()) is not None:
                w.deleteLater()
        self.option_views = []
        if b.options:
            self.options_layout.addWidget(label("Records that fit, each checked over DNS, cheapest first:",
                                                "SectionTitle", parent=self.options_box))
        for i, option in enumerate(b.options, 1):
            self.options_layout.addWidget(label(f"Option {i} of {len(b.options)}: {option.title}", "OptionTitle",
                                                parent=self.options_box))
            view = FixView(option, parent=self.options_box)
            self.options_layout.addWidget(view)
            self.option_views.append(view)
        for setup in b.setups:
            for record in setup.records:
                view = FixView(record, f"For {setup.service.name}", parent=self.options_box)
                self.options_layout.addWidget(view)
                self.option_views.append(view)
        self.options_box.setVisible(bool(self.option_views))

    def start_flatten(self) -> int:
        record = self.spf_build.record if self.spf_build else "v=spf1 ~all"
        domain = self.domain()

        def done(result: Any) -> None:
            self.flat_record.setPlainText(result.record or "")
            self.flat_record.setVisible(bool(result.record))
            text = "\n".join([f"⚠ {result.warning}", *(f"⚠ {p}" for p in result.problems)])
            if result.record:
                text = f"{result.lookups} DNS lookups after flattening.\n" + text
            self.flat_label.setText(text)
            self.flat_label.show()
            self.flattened.emit(result)

        return self._run("spf_flatten", {"record": record, "domain": domain}, done)

    # -- DMARC ----------------------------------------------------------------------------------

    def _dmarc_tab(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setSpacing(8)
        lay.addWidget(label("DMARC is switched on in steps: first you watch the reports, then you ask receivers to "
                            "quarantine, then to reject mail that fails. Each step below is the whole record to "
                            "publish at _dmarc.<your domain>.", "Muted"))
        row = QHBoxLayout()
        cap = label("Reports to", "FieldLabel", wrap=False)
        self.rua_field = _line("dmarc-reports@example.com (several: separate with commas)",
                               "Address for DMARC reports")
        cap.setBuddy(self.rua_field)
        row.addWidget(cap)
        row.addWidget(self.rua_field, 1)
        lay.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(label("Subdomains", "FieldLabel", wrap=False))
        self.sp_box = _combo(POLICY_CHOICES, "Policy for existing subdomains")
        row.addWidget(self.sp_box)
        row.addWidget(label("Names that don't exist", "FieldLabel", wrap=False))
        self.np_box = _combo(NP_CHOICES, "Policy for subdomains that don't exist")
        row.addWidget(self.np_box)
        row.addStretch(1)
        self.ladder_button = _button("Show the steps", "Show the DMARC steps for my domain", primary=True)
        row.addWidget(self.ladder_button)
        lay.addLayout(row)
        self.dmarc_status = label("", "", selectable=True)
        lay.addWidget(self.dmarc_status)
        self.ladder_host = QWidget()
        self.ladder_layout = QVBoxLayout(self.ladder_host)
        self.ladder_layout.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.ladder_host)
        lay.addStretch(1)
        self.ladder_button.clicked.connect(self.show_ladder)
        return _scrolled(page, "DMARC builder")

    def show_ladder(self) -> int:
        domain = self.domain()
        if domain is None:
            self.dmarc_status.setText("Type your domain at the top first.")
            return 0
        rua_text = self.rua_field.text().strip()
        sp, np = self.sp_box.currentData(), self.np_box.currentData()

        self.dmarc_status.setText("Looking up your current DMARC record…")
        return self._run("dmarc_ladder", {"domain": domain, "rua": rua_text or None, "sp": sp, "np": np},
                         self._show_ladder)

    def _show_ladder(self, result: Any) -> None:
        _clear(self.ladder_layout)
        if isinstance(result, str):
            self.dmarc_status.setText(result)
            self.steps = []
            self.ladderShown.emit([])
            return
        steps, current, note = result
        self.steps = steps
        at = next((s for s in steps if s.current), None)
        head = (f"Your domain is at step {at.title}." if at else
                "" if note else  # several records, or one receivers ignore: the note says so
                "Your domain has no DMARC record yet: start with step 1." if current is None else
                "Your current record doesn't match a step exactly.")
        self.dmarc_status.setText("\n".join(x for x in (head, note) if x))
        for s in steps:
            box = QFrame()
            box.setObjectName("Card")
            bl = QVBoxLayout(box)
            bl.setContentsMargins(12, 10, 12, 10)
            title = s.title + ("   ← you are here" if s.current else "")
            bl.addWidget(label(title, "CardTitle", parent=box))
            bl.addWidget(label(s.text, "", parent=box))
            if s.wait:
                bl.addWidget(label(f"Stay at this step for {s.wait} while you read the reports.", "Muted", parent=box))
            for n in s.notes:
                bl.addWidget(label(n, "Muted", parent=box))
            bl.addWidget(FixView(s.fix, parent=box))
            self.ladder_layout.addWidget(box)
        if steps and steps[0].extra_fixes:
            for f in steps[0].extra_fixes:
                self.ladder_layout.addWidget(FixView(f, "The report destination must publish this"))
        self.ladderShown.emit(steps)

    # -- DKIM -----------------------------------------------------------------------------------

    def _dkim_tab(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setSpacing(8)
        lay.addWidget(label("Make a new DKIM key on this computer. The private key is saved only where you choose and "
                            "never leaves this computer; the public half is the DNS record to publish.", "Muted"))
        row = QHBoxLayout()
        cap = label("Selector", "FieldLabel", wrap=False)
        self.selector_field = _line(dkimkeys.suggest_selector(), "DKIM selector name")
        cap.setBuddy(self.selector_field)
        row.addWidget(cap)
        row.addWidget(self.selector_field, 1)
        self.key_box = _combo([(t, (k, b)) for t, k, b in KEY_CHOICES], "Key type")
        row.addWidget(self.key_box)
        lay.addLayout(row)
        row = QHBoxLayout()
        cap = label("Selector in use now", "FieldLabel", wrap=False)
        self.old_selector_field = _line("optional, e.g. google or selector1", "Selector you sign with now")
        cap.setBuddy(self.old_selector_field)
        row.addWidget(cap)
        row.addWidget(self.old_selector_field, 1)
        self.generate_button = _button("Generate key", "Generate a new DKIM key", primary=True)
        row.addWidget(self.generate_button)
        self.save_button = _button("Save private key…", "Save the private key to a file")
        set_available(self.save_button, "generate a key first.")
        row.addWidget(self.save_button)
        lay.addLayout(row)
        self.dkim_status = label("", "", selectable=True)
        lay.addWidget(self.dkim_status)
        self.key_host = QWidget()
        self.key_layout = QVBoxLayout(self.key_host)
        self.key_layout.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.key_host)
        lay.addStretch(1)
        self.generate_button.clicked.connect(self.generate_key)
        self.save_button.clicked.connect(self._ask_save)
        return _scrolled(page, "DKIM key builder")

    def generate_key(self) -> int:
        domain = self.domain()
        if domain is None:
            self.dkim_status.setText("Type your domain at the top first.")
            return 0
        selector = self.selector_field.text().strip() or None
        kind, bits = self.key_box.currentData()
        old = self.old_selector_field.text().strip() or None

        set_available(self.generate_button, "a key is being generated.")
        self.dkim_status.setText("Generating the key…")
        return self._run("dkim_generate", {"domain": domain, "selector": selector, "kind": kind, "bits": bits,
                                           "old_selector": old}, self._show_key)

    def _show_key(self, result: Any) -> None:
        set_available(self.generate_button)
        _clear(self.key_layout)
        if isinstance(result, str):
            self.dkim_status.setText(result)
            return
        key, plan = result
        self.key = key
        set_available(self.save_button)
        self.dkim_status.setText(f"New {key.key_type.upper()} key ({key.bits} bits) at selector {key.selector}. "
                                 "Save the private key before you close this window: it is not kept anywhere else.")
        self.key_layout.addWidget(FixView(key.fix, "Publish this record at your DNS host"))
        self.key_layout.addWidget(label("Rotation plan", "SectionTitle"))
        for i, s in enumerate(plan, 1):
            self.key_layout.addWidget(label(f"{i}. {s.title}: {s.text}", "", selectable=True))
            if s.fix is not None and s.fix.action == "remove":
                self.key_layout.addWidget(FixView(s.fix, "Then remove the old key"))
        self.keyGenerated.emit(key)

    def _ask_save(self) -> None:
        if self.key is None:
            return
        path, _ = save_file(self, "Save the private key", f"{self.key.selector}.private.pem",
                            "PEM private key (*.pem);;All files (*)")
        if path:
            self.save_private_key(path, overwrite=True)  # the dialog already asked before replacing a file

    def save_private_key(self, path: str, *, overwrite: bool = False) -> int:
        """Write the private key (mode 0600): one small file, at the next turn of the event loop. Returns 1
        when a save was started, 0 when there is no key."""
        key = self.key
        if key is None:
            return 0

        def failed(exc: BaseException) -> None:
            self.dkim_status.setText(str(exc) if isinstance(exc, (dkimkeys.DkimKeyError, OSError)) else
                                     f"The key could not be saved ({type(exc).__name__}: {exc}).")

        def done(result: Any) -> None:
            self.dkim_status.setText(f"Private key saved to {result} (readable by you only). Give it to your mail "
                                     "server and keep it secret.")
            self.keySaved.emit(result)

        QueryOp(self, lambda: str(key.save_private_key(path, overwrite=overwrite)), success=done,
                failure=failed).run()
        return 1

    # -- What if --------------------------------------------------------------------------------

    def _whatif_tab(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setSpacing(8)
        lay.addWidget(label("Paste a record you are about to publish: we check your domain as if it were already "
                            "live. A TXT record starting with v=spf1 or v=DMARC1 replaces the one you have now.",
                            "Muted"))
        row = QHBoxLayout()
        cap = label("Host", "FieldLabel", wrap=False)
        self.host_field = _line("@ for the domain itself, or e.g. _dmarc", "Record host name", "@")
        cap.setBuddy(self.host_field)
        row.addWidget(cap)
        row.addWidget(self.host_field, 1)
        row.addWidget(label("Type", "FieldLabel", wrap=False))
        self.type_box = _combo([(t, t) for t in SUPPORTED_TYPES], "Record type")
        row.addWidget(self.type_box)
        lay.addLayout(row)
        self.value_field = QPlainTextEdit()
        self.value_field.setPlaceholderText("The record's value, e.g. v=spf1 include:_spf.google.com ~all")
        self.value_field.setAccessibleName("Record value")
        self.value_field.setTabChangesFocus(True)
        self.value_field.setFixedHeight(80)
        lay.addWidget(self.value_field)
        row = QHBoxLayout()
        row.addStretch(1)
        self.whatif_button = _button("Check", "Check my domain as if this record were published", primary=True)
        row.addWidget(self.whatif_button)
        lay.addLayout(row)
        self.whatif_status = label("", "", selectable=True)
        lay.addWidget(self.whatif_status)
        self.cards_host = QWidget()
        self.cards_layout = QVBoxLayout(self.cards_host)
        self.cards_layout.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.cards_host)
        lay.addStretch(1)
        self.whatif_button.clicked.connect(self.check_what_if)
        return _scrolled(page, "What if")

    def check_what_if(self) -> int:
        domain = self.domain()
        if domain is None:
            self.whatif_status.setText("Type your domain at the top first.")
            return 0
        host, rdtype = self.host_field.text().strip() or "@", str(self.type_box.currentData())
        value = self.value_field.toPlainText().strip()
        if not value:
            self.whatif_status.setText("Paste the record's value first.")
            return 0
        options = CheckOptions(nameservers=self.nameservers, timeout=self.timeout, deadline=60.0)

        set_available(self.whatif_button, "the record is being checked.")
        self.whatif_status.setText("Checking…")
        return self._run("whatif", {"domain": domain, "host": host, "rdtype": rdtype, "value": value,
                                    "options": options_to_json(options)}, self._show_what_if)

    def _show_what_if(self, result: Any) -> None:
        set_available(self.whatif_button)
        _clear(self.cards_layout)
        self.cards = {}
        if isinstance(result, str):
            self.whatif_status.setText(result)
            self.report = None
            self.whatIfShown.emit(None)
            return
        self.report = result
        words = {"pass": "everything passes", "warn": "it passes with warnings", "fail": "something still fails",
                 "error": "something couldn't be checked", "info": "it was checked"}
        self.whatif_status.setText(f"With this record published, {words.get(str(result.status), str(result.status))}.")
        for name, check in result.checks.items():
            card = CheckCard(name)
            card.set_result(check)
            self.cards_layout.addWidget(card)
            self.cards[name] = card
        self.whatIfShown.emit(result)


__all__ = ["BuildersWindow"]
