"""The history of DNS changes published through InboxReady, with Undo for any of them (issue 16 §4).

``PublishHistoryDialog`` reads the publish journal (``core.publish.journal``, newest first) in the engine
process (the worker's ``journal_recent`` job): when, which domain and account, each step (add / replace / delete, old and new value, its state), the
check's verdict before and after, and whether it was undone. A change that did not finish (the program was
killed, the DNS host went away) says what was applied and what may have been. "Undo this change…" shows
exactly what will be reversed, asks for confirmation, and runs ``Publisher.undo`` with the account that made
the change (its secret from the keyring): the same refusals as the CLI (already undone, changed since, wrong
account), then each authoritative server as it goes live.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QHeaderView, QLabel, QMessageBox, QPushButton, QSplitter,
                               QTableWidget, QTableWidgetItem, QTextBrowser, QVBoxLayout, QWidget)

from inboxready.core.worker.values import to_wire

from . import publish_dialog
from .engine import Engine, shared
from .publish_dialog import run_job

UNDO_WAIT = 60.0  # how long Undo watches the authoritative servers before it reports


def _e(text: Any) -> str:
    return html.escape(str(text if text is not None else ""))


def _when(iso: str) -> str:
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return iso or "?"


class PublishHistoryDialog(QDialog):
    """Every change published at a DNS host, newest first, with Undo."""

    def __init__(self, parent: QWidget | None = None, *, journal_path: Any = None, domain: str = "",
                 nameservers: list[str] | None = None, wait: float = UNDO_WAIT, ask: bool = True,
                 engine: Engine | None = None) -> None:
        super().__init__(parent)
        self.engine = engine if engine is not None else shared(self)
        self.setWindowTitle("DNS changes published through InboxReady")
        self.setObjectName("PublishHistoryDialog")
        self.resize(980, 560)
        self.journal_path = journal_path
        self.domain = domain
        self.nameservers = nameservers if nameservers is not None else publish_dialog.NAMESERVERS
        self.wait = wait
        self.ask = ask  # False in tests: the confirmation is given by calling undo_selected(confirmed=True)
        self.entries: list[Any] = []
        self.state = "loading"
        self.undo_run: Any = None
        self._after: tuple[str, str] | None = None  # the undo's outcome, shown once the list is read again
        lay = QVBoxLayout(self)
        intro = QLabel("Every change InboxReady made at your DNS hosts, newest first. Select one to see exactly "
                       "what changed; Undo puts the records back as they were before it.", self)
        intro.setWordWrap(True)
        lay.addWidget(intro)
        split = QSplitter(Qt.Orientation.Vertical, self)
        self.table = QTableWidget(0, 5, split)
        self.table.setHorizontalHeaderLabels(["When", "Domain", "What", "Account", "Result"])
        self.table.setAccessibleName("Published changes")
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        hh = self.table.horizontalHeader()
        for c in (0, 1, 3):
            hh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(4, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._selected)
        self.detail = QTextBrowser(split)
        self.detail.setAccessibleName("The selected change")
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setSizes([300, 220])
        lay.addWidget(split, 1)
        self.status = QLabel("Reading the journal…", self)
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Status")
        lay.addWidget(self.status)
        self.live = QLabel("", self)
        self.live.setWordWrap(True)
        self.live.setAccessibleName("Propagation per server")
        lay.addWidget(self.live)
        row = QHBoxLayout()
        row.addStretch(1)
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.clicked.connect(self.load)
        self.undo_button = QPushButton("Undo this change…", self)
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(lambda: self.undo_selected())
        close = QPushButton("Close", self)
        close.clicked.connect(self.reject)
        for b in (self.refresh_button, self.undo_button, close):
            row.addWidget(b)
        lay.addLayout(row)
        self.load()

    # -- reading --------------------------------------------------------------------------------

    def load(self) -> None:
        self.state = "loading"
        run_job(self, self.engine, "journal_recent",
                {"journal": str(self.journal_path) if self.journal_path else None, "domain": self.domain},
                self._loaded)

    def _loaded(self, result: Any) -> None:
        if isinstance(result, Exception):
            self.state = "failed"
            self.status.setText(f"The publish journal couldn't be read: {result}")
            return
        self.entries = list(result)
        self.state = "ready"
        self.table.setRowCount(len(self.entries))
        for i, e in enumerate(self.entries):
            what = "; ".join(f"{s.action} {s.type} {s.host}" for s in e.steps[:3]) + \
                (f" (+{len(e.steps) - 3} more)" if len(e.steps) > 3 else "")
            if e.kind == "undo":
                what = f"undo of {e.undoes}: " + what
            for col, text in enumerate((_when(e.created), e.domain, what, e.account, e.state_words)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(i, col, item)
        self.status.setText(f"{len(self.entries)} change{'s' if len(self.entries) != 1 else ''} in the journal."
                            if self.entries else "Nothing has been published through InboxReady yet.")
        if self._after is not None:
            (text, self.state), self._after = self._after, None
            self.status.setText(text)
        if self.entries:
            self.table.selectRow(0)
        self.undo_button.setEnabled(bool(self.entries) and self.entries[0].can_undo)

    def selected(self) -> Any:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.entries[rows[0].row()] if rows else None

    def select(self, change_id: str) -> bool:
        for i, e in enumerate(self.entries):
            if e.id == change_id:
                self.table.selectRow(i)
                return True
        return False

    def _selected(self) -> None:
        e = self.selected()
        if e is None:
            self.detail.clear()
            self.undo_button.setEnabled(False)
            return
        self.detail.setHtml(self._detail_html(e))
        self.undo_button.setEnabled(e.can_undo and self.state != "undoing")
        self.undo_button.setToolTip("" if e.can_undo else (f"Already undone by {e.undone_by}." if e.undone_by else
                                                            "Nothing of it reached the DNS host."))

    def _detail_html(self, e: Any) -> str:
        parts = [f"<p><b>{_e(e.id)}</b> — {_e(e.kind)} at zone <b>{_e(e.zone)}</b> ({_e(e.provider)}, account "
                 f"{_e(e.account)}), {_e(_when(e.created))}. {_e(e.state_words)}.</p>"]
        if e.message:
            parts.append(f"<p>{_e(e.message)}</p>")
        parts.append("<table cellpadding='3'><tr><th align='left'>Step</th><th align='left'>Record</th>"
                     "<th align='left'>Old</th><th align='left'>New</th><th align='left'>State</th></tr>")
        words = {"applied": "applied", "pending": "may have been applied", "planned": "not applied",
                 "failed": "failed", "skipped": "skipped"}
        for s in e.steps:
            parts.append(f"<tr><td>{_e(s.action)}</td><td>{_e(s.type)} {_e(s.host)}</td>"
                         f"<td><code>{_e(s.old or '—')}</code></td><td><code>{_e(s.new or '—')}</code></td>"
                         f"<td>{_e(words.get(s.state, s.state))}{(': ' + _e(s.error)) if s.error else ''}</td></tr>")
        parts.append("</table>")
        before = (e.before or {}).get("status") if isinstance(e.before, dict) else None
        after = (e.after or {}).get("status") if isinstance(e.after, dict) else None
        if before or after:
            parts.append(f"<p>The check before: {_e(before or '?')}; after: {_e(after or 'not checked again')}.</p>")
        return "".join(parts)

    # -- undo -----------------------------------------------------------------------------------

    def undo_selected(self, *, confirmed: bool | None = None) -> bool:
        """Undo the selected change after a confirmation (``confirmed`` given: no question asked)."""
        e = self.selected()
        if e is None or not e.can_undo or self.state == "undoing":
            return False
        from inboxready.core.publish.accounts import AccountError, AccountStore
        from inboxready.core.publish.plan import undo_changes

        try:
            account = AccountStore().get(e.account)
        except (AccountError, OSError) as exc:
            self.status.setText(f"Can't undo {e.id}: {exc} Add the account {e.account!r} again (the same name), "
                                "then undo.")
            return False
        if confirmed is None:
            if not self.ask:
                return False
            lines = "\n".join(f"  • {c.action} {c.type} {c.host}" + (f" (back to {c.new})" if c.new else "")
                              for c in undo_changes(e))
            answer = QMessageBox.question(
                self, "Undo this change?",
                f"Undo {e.id} at {e.zone} with the account {e.account}? These records are put back as they were "
                f"before it:\n\n{lines}\n\nNothing changes if someone changed these records since.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
            confirmed = answer == QMessageBox.StandardButton.Yes
        if not confirmed:
            self.status.setText("Nothing was undone.")
            return False
        self.state = "undoing"
        self.undo_button.setEnabled(False)
        self.status.setText(f"Undoing {e.id} at {e.zone}…")
        def on_round(p: Any) -> None:
            lines = [p.summary()] + [f"{'✓' if v else ('?' if v is None else '…')} {s.label}"
                                     for s in p.servers for v in [p.server_live(s)]]
            self._progress("\n".join(lines))

        run_job(self, self.engine, "publish_undo",
                {"account": to_wire(account), "nameservers": self.nameservers, "change_id": e.id, "wait": self.wait,
                 "journal": str(self.journal_path) if self.journal_path else None}, self._undone, on_round)
        return True

    def _progress(self, text: str) -> None:
        self.live.setText(text)

    def _undone(self, run: Any) -> None:
        self.undo_run = run
        if isinstance(run, Exception):
            after = (f"Undo stopped: {run}", "failed")
        elif run.error is not None or run.result is None:
            after = (f"Undo stopped: {run.error}", "failed")
        else:
            text = run.result.message
            if run.after is not None:
                text += f" Checked again: {run.after.status.label}."
            after = (text, "undone" if run.result.applied else "failed")
        self._after = after
        self.status.setText(after[0])
        self.load()  # the list shows the undo, and the change as undone


__all__ = ["PublishHistoryDialog", "UNDO_WAIT"]
