"""The Watch list window: the watched domains, each domain's history with what changed, and reminders.

The checks themselves run in the engine process (through ``WatchService``). Reading the history, working
out the diffs and the reminders are short store reads, run at the next turn of the event loop through
``QueryOp`` and tagged with a request number, so a late answer for an old request is ignored.
Editing the watch list writes a small JSON file (atomically); that is the only file work done here.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView, QLineEdit, QListWidget, QListWidgetItem,
    QPlainTextEdit, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)

from inboxready.core.worker.protocol import is_refusal
from inboxready.core.checks.registry import CHECK_TITLES
from inboxready.core.model import CORE_CHECKS
from inboxready.core.dns.client import DEFAULT_TIMEOUT
from inboxready.core.domain import DomainError
from inboxready.core.store.history import History, StoredCheck, parse_time
from inboxready.core.model import Fix, JsonShapeError, Status
from inboxready.core.monitor.reminders import CleanWeeks, DismissedStore, Reminder, reminders
from inboxready.core.monitor.watchlist import (
    Change, IntervalError, WatchList, WatchOutcome, changes_between, describe_interval,
)

from .engine import Engine
from .queryop import QueryOp
from .tray import WatchService
from .widgets import KeyButton, label, set_available

INTERVALS: list[tuple[str, int]] = [
    ("Every 30 minutes", 1800), ("Every hour", 3600), ("Every 6 hours", 6 * 3600), ("Every 12 hours", 12 * 3600),
    ("Every day", 86400), ("Every week", 7 * 86400),
]
HISTORY_LIMIT = 60

log = logging.getLogger(__name__)


def _status_word(status: str) -> str:
    try:
        return Status(status).label
    except ValueError:
        return status or "—"


def _when(text: str) -> str:
    """A stored time in the computer's time zone, to the minute."""
    t = parse_time(text) if text else None
    return t.astimezone().strftime("%Y-%m-%d %H:%M") if t is not None else (text or "never")


def what_failed(run: StoredCheck) -> str:
    """Which checks made the run's result what it is, e.g. "DMARC failed; warning: SPF" ("" when all passed).
    An optional check that couldn't run from here doesn't count (as in the run's own status)."""
    groups: dict[Status, list[str]] = {Status.FAIL: [], Status.WARN: [], Status.ERROR: []}
    for name, check in run.domain_report.checks.items():
        if check.status is Status.ERROR and name not in CORE_CHECKS:
            continue
        if check.status in groups:
            groups[check.status].append(CHECK_TITLES.get(name, name.upper()))
    parts = []
    if groups[Status.FAIL]:
        parts.append(f"{', '.join(groups[Status.FAIL])} failed")
    if groups[Status.ERROR]:
        parts.append(f"couldn't check {', '.join(groups[Status.ERROR])}")
    if groups[Status.WARN]:
        parts.append(f"warning: {', '.join(groups[Status.WARN])}")
    return "; ".join(parts)


def run_line(run: StoredCheck, previous: StoredCheck | None, changes: list[Change]) -> str:
    """One line of the history list: when, the result and what made it so, and what changed."""
    why = what_failed(run)
    line = f"{_when(run.started)}  {_status_word(run.status)}" + (f" ({why})" if why else "")
    if previous is None:
        return line + " — first check"
    if changes:
        worse = any(c.worse for c in changes)
        return line + f" — {len(changes)} change{'s' if len(changes) > 1 else ''}" + (", worse" if worse else "")
    return line + " — no change"


def run_summary(outcomes: list[WatchOutcome]) -> str:
    """A finished run of the watch list in a few words: "1 checked for the first time, 2 unchanged"."""
    counts = {"with changes": sum(1 for o in outcomes if not o.error and o.changed),
              "checked for the first time": sum(1 for o in outcomes if not o.error and not o.changed
                                                and o.previous_status is None),
              "couldn't be checked": sum(1 for o in outcomes if o.error)}
    counts["unchanged"] = len(outcomes) - sum(counts.values())
    return ", ".join(f"{n} {what}" for what, n in counts.items() if n)


def diff_text(run: StoredCheck, previous: StoredCheck | None, changes: list[Change]) -> str:
    """What changed in ``run`` since ``previous``, in plain words (the history view's text)."""
    why = what_failed(run)
    head = f"Check of {_when(run.started)}: {_status_word(run.status)}" + (f" ({why})." if why else ".")
    if previous is None:
        return head + "\n\nThis is the first stored check of this domain, so there is nothing to compare it with."
    lines = [head, f"Compared with the check before it ({_when(previous.started)}, "
                   f"{_status_word(previous.status)}):", ""]
    for name, cur in run.domain_report.checks.items():
        title = CHECK_TITLES.get(name, name.upper())
        mine = [c for c in changes if c.check == name]
        old = previous.result(name)
        if old is None:
            lines.append(f"{title}: checked for the first time ({cur.status.label}).")
            continue
        if not mine:
            if Status.ERROR in (cur.status, old.status) and cur.status is not old.status:
                lines.append(f"{title}: {old.status.label} before, {cur.status.label.lower()} this time "
                             "(so we can't say what changed).")
            else:
                lines.append(f"{title}: no change ({cur.status.label}).")
            continue
        lines.append(f"{title}:")
        for c in mine:
            lines.append(f"  • {c.text}")
            for i, rec in enumerate(_fix_records(c)):
                verb = {"replace": "Replace with", "remove": "Remove"}.get(rec.action, "Publish")
                lines.append(f"    {'And ' + verb.lower() if i else verb}: {rec.type} record at "
                             f"{rec.host}: {rec.value}")
    return "\n".join(lines)


def _fix_records(change: Change) -> tuple[Fix, ...]:
    """The records that fix a change, the fix first, then those published with it (``Change.fix`` is the
    fix as JSON, as notifications carry it); none when it has no fix, or one we can't read."""
    if change.fix is None:
        return ()
    try:
        return Fix.from_json(change.fix).records
    except JsonShapeError as exc:
        log.debug("watch window: the fix of a %s change is not readable (%s)", change.check, exc)
        return ()


class WatchWindow(QWidget):
    """The watch list, the history per domain with its diffs, and the reminders with Dismiss.

    ``service``: the app's ``WatchService`` (a private one without a tray is made when None)."""

    loaded = Signal(int, str, object)  # request number, what, result (or the exception it raised)
    historyShown = Signal(str)  # domain, after its runs are listed
    remindersShown = Signal(int)  # how many

    def __init__(self, engine: Engine, history: History | None, *, nameservers: list[str] | None = None,
                 timeout: float = DEFAULT_TIMEOUT, parent: QWidget | None = None,
                 service: WatchService | None = None, watchlist: WatchList | None = None,
                 dismissed: DismissedStore | None = None, clean_weeks: CleanWeeks | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.engine = engine
        self.history = history
        if service is None:
            service = WatchService(engine, history, nameservers=nameservers, timeout=timeout,
                                   watchlist=watchlist, use_tray=False, parent=self)
        self.service = service
        self.watchlist = watchlist if watchlist is not None else service.watchlist
        self.dismissed = dismissed if dismissed is not None else DismissedStore()
        self.clean_weeks = clean_weeks
        self._request = 0
        self._latest: dict[str, int] = {}
        self.runs: list[tuple[StoredCheck, StoredCheck | None, list[Change]]] = []
        self.reminder_items: list[Reminder] = []
        self.setWindowTitle("InboxReady – Watch list")
        self.setAccessibleName("Watch list")
        self.setObjectName("WatchWindow")
        self._build()
        self.loaded.connect(self._on_loaded)
        service.runStarted.connect(self._run_started)
        service.runFinished.connect(self._run_finished)
        service.runFailed.connect(self._run_failed)
        service.noticeShown.connect(self.show_notice)
        self.refresh_list()
        self.refresh_history_domains()
        self.refresh_reminders()
        self.resize(920, 680)

    # -- construction ---------------------------------------------------------------------------

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(22, 16, 22, 12)
        root.setSpacing(10)
        root.addWidget(label("Watch list", "Title", wrap=False, parent=self))
        root.addWidget(label("InboxReady re-checks these domains on a schedule while it runs and tells you when "
                             "something changes. Every check is kept, so you can see what changed and when.",
                             "Subtitle", parent=self))
        self.notice = label("", "InputNote", selectable=True, parent=self)
        self.notice.setAccessibleName("Latest notice")
        self.notice.hide()
        root.addWidget(self.notice)
        if self.watchlist.problem:
            root.addWidget(label(self.watchlist.problem, "InputNote", parent=self))
        self.tabs = QTabWidget(self)
        self.tabs.setAccessibleName("Watch list sections")
        self.tabs.addTab(self._domains_tab(), "Domains")
        self.tabs.addTab(self._history_tab(), "History")
        self.tabs.addTab(self._reminders_tab(), "Reminders")
        root.addWidget(self.tabs, 1)

    def _interval_combo(self, name: str) -> QComboBox:
        box = QComboBox(self)
        for text, seconds in INTERVALS:
            box.addItem(text, seconds)
        box.setCurrentIndex(4)  # every day
        box.setAccessibleName(name)
        return box

    def _domains_tab(self) -> QWidget:
        page = QWidget(self)
        lay = QVBoxLayout(page)
        row = QHBoxLayout()
        self.domain_edit = QLineEdit(page)
        self.domain_edit.setPlaceholderText("example.com")
        self.domain_edit.setAccessibleName("Domain to watch")
        self.interval_box = self._interval_combo("How often to check the new domain")
        self.selector_edit = QLineEdit(page)
        self.selector_edit.setPlaceholderText("DKIM selectors (optional)")
        self.selector_edit.setAccessibleName("DKIM selectors for the new domain, separated by commas (optional)")
        self.add_button = KeyButton("Add", page)
        self.add_button.setAccessibleName("Add the domain to the watch list")
        self.add_button.clicked.connect(self.add_domain)
        self.domain_edit.returnPressed.connect(self.add_domain)
        row.addWidget(self.domain_edit, 2)
        row.addWidget(self.interval_box)
        row.addWidget(self.selector_edit, 1)
        row.addWidget(self.add_button)
        lay.addLayout(row)
        self.add_error = label("", "InputNote", parent=page)
        self.add_error.setAccessibleName("Problem with the domain to add")
        self.add_error.hide()
        lay.addWidget(self.add_error)

        self.table = QTableWidget(0, 5, page)
        self.table.setHorizontalHeaderLabels(["Domain", "How often", "Watching", "Last checked", "Last result"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAccessibleName("Watched domains")
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        lay.addWidget(self.table, 1)

        edit = QHBoxLayout()
        self.selected_interval = self._interval_combo("How often to check the selected domain")
        self.selected_interval.activated.connect(self._interval_changed)
        self.enabled_box = QCheckBox("Watch this domain", page)
        self.enabled_box.setAccessibleName("Watch the selected domain (switch off to pause it)")
        self.enabled_box.toggled.connect(self._enabled_changed)
        self.remove_button = KeyButton("Remove", page)
        self.remove_button.setAccessibleName("Remove the selected domain from the watch list")
        self.remove_button.clicked.connect(self.remove_selected)
        self.check_button = KeyButton("Check all now", page)
        self.check_button.setAccessibleName("Check every watched domain now")
        self.check_button.clicked.connect(self.check_now)
        edit.addWidget(label("Selected domain:", parent=page, wrap=False))
        edit.addWidget(self.selected_interval)
        edit.addWidget(self.enabled_box)
        edit.addWidget(self.remove_button)
        edit.addStretch(1)
        edit.addWidget(self.check_button)
        lay.addLayout(edit)
        self.tray_box = QCheckBox("Keep InboxReady running in the system tray when its window is closed", page)
        self.tray_box.setAccessibleName("Keep running in the system tray when the window is closed")
        self.tray_box.setChecked(self.service.minimize_to_tray)
        if not self.service.has_tray:
            self.tray_box.setToolTip("This desktop shows no system tray, so InboxReady closes with its window.")
        self.tray_box.toggled.connect(self.service.set_minimize_to_tray)
        lay.addWidget(self.tray_box)
        self.run_state = label("", "Muted", parent=page)
        self.run_state.setAccessibleName("Watch run progress")
        lay.addWidget(self.run_state)
        self._selection_changed()
        return page

    def _history_tab(self) -> QWidget:
        page = QWidget(self)
        lay = QVBoxLayout(page)
        row = QHBoxLayout()
        row.addWidget(label("Domain:", parent=page, wrap=False))
        self.history_domain = QComboBox(page)
        self.history_domain.setAccessibleName("Domain whose past checks to show")
        self.history_domain.currentTextChanged.connect(self.load_history)
        row.addWidget(self.history_domain, 1)
        lay.addLayout(row)
        body = QHBoxLayout()
        self.run_list = QListWidget(page)
        self.run_list.setAccessibleName("Past checks, newest first")
        self.run_list.currentRowChanged.connect(self._run_selected)
        self.diff_view = QPlainTextEdit(page)
        self.diff_view.setReadOnly(True)
        self.diff_view.setAccessibleName("What changed in the selected check")
        body.addWidget(self.run_list, 1)
        body.addWidget(self.diff_view, 2)
        lay.addLayout(body, 1)
        return page

    def _reminders_tab(self) -> QWidget:
        page = QWidget(self)
        lay = QVBoxLayout(page)
        self.reminder_list = QListWidget(page)
        self.reminder_list.setAccessibleName("Reminders")
        self.reminder_list.currentRowChanged.connect(self._reminder_selected)
        self.reminder_view = QPlainTextEdit(page)
        self.reminder_view.setReadOnly(True)
        self.reminder_view.setAccessibleName("The selected reminder: what to do")
        row = QHBoxLayout()
        self.dismiss_button = KeyButton("Dismiss", page)
        self.dismiss_button.setAccessibleName("Dismiss the selected reminder")
        self.dismiss_button.clicked.connect(self.dismiss_selected)
        self.dismiss_button.setEnabled(False)
        row.addStretch(1)
        row.addWidget(self.dismiss_button)
        self.no_reminders = label("Looking for reminders…", "Muted", parent=page)
        self.no_reminders.setAccessibleName("Reminders")
        for widget in (self.reminder_list, self.reminder_view, self.dismiss_button):
            widget.hide()  # until the reminders are read: no empty boxes meanwhile
        lay.addWidget(self.no_reminders)
        lay.addWidget(self.reminder_list, 1)
        lay.addWidget(self.reminder_view, 1)
        lay.addLayout(row)
        lay.addStretch(0)
        return page

    # -- background work ------------------------------------------------------------------------

    def _background(self, what: str, fn: Callable[[], Any]) -> int:
        """Run ``fn`` (a short store read) at the next turn of the event loop (``QueryOp``); its result (or
        its exception) arrives as ``loaded(request, what, result)``. Only the latest request of each kind
        is shown."""
        self._request += 1
        request = self._request
        self._latest[what] = request
        QueryOp(self, fn, success=lambda result: self.loaded.emit(request, what, result),
                failure=lambda exc: self.loaded.emit(request, what, exc)).run()
        return request

    def _on_loaded(self, request: int, what: str, result: Any) -> None:
        if self._latest.get(what) != request:
            return  # an answer to an older request
        if isinstance(result, BaseException):
            self.show_notice("Something went wrong", f"{type(result).__name__}: {result}")
            return
        if what == "domains":
            self._set_history_domains(result)
        elif what == "history":
            self._show_runs(*result)
        elif what == "reminders":
            self._show_reminders(result)
        elif what == "dismiss":
            self.refresh_reminders()

    # -- the list -------------------------------------------------------------------------------

    def refresh_list(self) -> None:
        self.watchlist.reload()
        current = self.selected_domain()
        self.table.setRowCount(len(self.watchlist.entries))
        for r, e in enumerate(self.watchlist.entries):
            cells = [e.domain, describe_interval(e.interval).capitalize(), "Yes" if e.enabled else "Paused",
                     _when(e.last_run) if e.last_run else "Not yet", _status_word(e.last_status) if e.last_status
                     else "—"]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(r, c, item)
            if e.domain == current:
                self.table.selectRow(r)
        self._selection_changed()

    def selected_domain(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return item.text() if item is not None else None

    def _selection_changed(self) -> None:
        d = self.selected_domain()
        entry = self.watchlist.get(d) if d else None
        for w in (self.selected_interval, self.enabled_box, self.remove_button):
            w.setEnabled(entry is not None)
        if entry is not None:
            self.enabled_box.blockSignals(True)
            self.enabled_box.setChecked(entry.enabled)
            self.enabled_box.blockSignals(False)
            idx = self.selected_interval.findData(entry.interval)
            if idx < 0:
                self.selected_interval.addItem(describe_interval(entry.interval).capitalize(), entry.interval)
                idx = self.selected_interval.count() - 1
            self.selected_interval.setCurrentIndex(idx)

    def add_domain(self) -> bool:
        text = self.domain_edit.text().strip()
        selectors = [s.strip() for s in self.selector_edit.text().replace(";", ",").split(",") if s.strip()]
        try:
            entry = self.watchlist.add(text, int(self.interval_box.currentData()), selectors)
        except (DomainError, IntervalError, ValueError) as exc:
            self.add_error.setText(str(exc))
            self.add_error.show()
            return False
        self.add_error.hide()
        self.domain_edit.clear()
        self.selector_edit.clear()
        self.refresh_list()
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            if item is not None and item.text() == entry.domain:
                self.table.selectRow(r)
        self.refresh_history_domains()
        return True

    def remove_selected(self) -> None:
        d = self.selected_domain()
        if d and self.watchlist.remove(d):
            self.refresh_list()

    def _interval_changed(self, index: int) -> None:
        d = self.selected_domain()
        if d:
            self.watchlist.update(d, interval=int(self.selected_interval.itemData(index)))
            self.refresh_list()

    def _enabled_changed(self, on: bool) -> None:
        d = self.selected_domain()
        if d:
            self.watchlist.update(d, enabled=on)
            self.refresh_list()

    def check_now(self) -> None:
        if not self.service.check_now(all_domains=True):
            self.run_state.setText(self.service.paused or "A check of the watched domains is already running.")

    def _run_started(self, all_domains: bool) -> None:
        set_available(self.check_button, "the watched domains are being checked.")
        self.run_state.setText("Checking the watched domains…" if all_domains else "Checking the domains that are due…")

    def _run_finished(self, outcomes: list[WatchOutcome]) -> None:
        set_available(self.check_button)
        if not outcomes:
            self.run_state.setText("No domain was due for a check.")
        else:
            n = len(outcomes)
            self.run_state.setText(f"Checked {n} domain{'s' if n > 1 else ''}: {run_summary(outcomes)}.")
        self.refresh_list()
        self.refresh_history_domains()
        self.refresh_reminders()

    def _run_failed(self, why: str) -> None:
        set_available(self.check_button)
        self.run_state.setText(why if is_refusal(why) else
                               f"The check stopped because of an internal problem ({why}). Please report it.")

    def show_notice(self, title: str, text: str) -> None:
        self.notice.setText(f"{title}\n{text}" if text else title)
        self.notice.show()

    # -- history --------------------------------------------------------------------------------

    def refresh_history_domains(self) -> None:
        history = self.history
        watched = [e.domain for e in self.watchlist.entries]

        def work() -> list[str]:
            stored = history.domains() if history is not None else []
            return watched + [d for d in stored if d not in watched]

        self._background("domains", work)

    def _set_history_domains(self, domains: list[str]) -> None:
        current = self.history_domain.currentText()
        self.history_domain.blockSignals(True)
        self.history_domain.clear()
        self.history_domain.addItems(domains)
        idx = self.history_domain.findText(current) if current else -1
        self.history_domain.setCurrentIndex(idx if idx >= 0 else (0 if domains else -1))
        self.history_domain.blockSignals(False)
        self.load_history(self.history_domain.currentText())

    def load_history(self, domain: str) -> None:
        history = self.history

        def work() -> tuple[str, list[tuple[StoredCheck, StoredCheck | None, list[Change]]]]:
            if history is None or not domain:
                return domain, []
            runs = history.runs(domain, limit=HISTORY_LIMIT + 1)
            out = []
            for i, run in enumerate(runs[:HISTORY_LIMIT]):
                prev = runs[i + 1] if i + 1 < len(runs) else None
                changes, _ = changes_between(prev, run.domain_report)
                out.append((run, prev, changes))
            return domain, out

        self._background("history", work)

    def _show_runs(self, domain: str, runs: list[tuple[StoredCheck, StoredCheck | None, list[Change]]]) -> None:
        self.runs = runs
        self.run_list.clear()
        for run, prev, changes in runs:
            item = QListWidgetItem(run_line(run, prev, changes))
            item.setToolTip(item.text())
            self.run_list.addItem(item)
        if runs:
            self.run_list.setCurrentRow(0)
        else:
            self.diff_view.setPlainText("No stored checks for this domain yet." if domain else
                                        "Add a domain to the watch list to start its history.")
        self.historyShown.emit(domain)

    def _run_selected(self, row: int) -> None:
        if 0 <= row < len(self.runs):
            run, prev, changes = self.runs[row]
            self.diff_view.setPlainText(diff_text(run, prev, changes))

    # -- reminders ------------------------------------------------------------------------------

    def refresh_reminders(self) -> None:
        history, dismissed, clean = self.history, self.dismissed, self.clean_weeks

        def work() -> list[Reminder]:
            if history is None:
                return []
            return reminders(history, now=datetime.now().astimezone(), clean_weeks=clean, dismissed=dismissed)

        self._background("reminders", work)

    def _show_reminders(self, items: list[Reminder]) -> None:
        self.reminder_items = items
        self.reminder_list.clear()
        for r in items:
            self.reminder_list.addItem(QListWidgetItem(f"{r.domain}: {r.title} (since {r.since})"))
        for widget in (self.reminder_list, self.reminder_view, self.dismiss_button):
            widget.setVisible(bool(items))  # no empty boxes when there is nothing to do
        self.no_reminders.setText("No reminders: nothing to do for now.")
        self.no_reminders.setVisible(not items)
        if items:
            self.reminder_list.setCurrentRow(0)
        else:
            self.reminder_view.clear()
        self.dismiss_button.setEnabled(bool(items))
        self.tabs.setTabText(2, f"Reminders ({len(items)})" if items else "Reminders")
        self.remindersShown.emit(len(items))

    def _reminder_selected(self, row: int) -> None:
        if not (0 <= row < len(self.reminder_items)):
            return
        r = self.reminder_items[row]
        lines = [r.text, ""]
        lines += [f"{i}. {s}" for i, s in enumerate(r.steps, 1)]
        if r.fix is not None:
            verb = {"replace": "Replace with", "remove": "Remove"}.get(r.fix.action, "Publish")
            lines += ["", f"{verb}: {r.fix.type} record at {r.fix.host}", r.fix.value]
            if r.fix.note:
                lines.append(r.fix.note)
        self.reminder_view.setPlainText("\n".join(lines))

    def dismiss_selected(self) -> None:
        row = self.reminder_list.currentRow()
        if not (0 <= row < len(self.reminder_items)):
            return
        key = self.reminder_items[row].key
        self.reminder_list.takeItem(row)
        del self.reminder_items[row]
        self.dismiss_button.setEnabled(bool(self.reminder_items))
        dismissed = self.dismissed  # the worker must not hold the window (see ``_background``)
        self._background("dismiss", lambda: dismissed.dismiss(key))


__all__ = ["WatchWindow", "diff_text"]
