"""The reports window's import: the worker's ``reports_import`` job and the card that shows its progress and
result (how many reports, which files could not be imported and why, with a Copy button). A second import
waits for the one running; Cancel stops after the files being read now and says how far it got."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QAbstractItemView, QFrame, QHBoxLayout, QListWidget, QProgressBar, QVBoxLayout, QWidget

from inboxready.core.worker.reports import ImportOutcome, ImportWaiting

from ..engine import Engine
from ..widgets import CopyButton, KeyButton, label, shown
from .fmt import thousands as _n

# the window's way of running a worker job on its store: (kind, params, done, progress, failed) -> job (0: none)
RunJob = Callable[[str, dict[str, Any], Callable[[Any], None], Callable[[Any], None] | None,
                   Callable[[str], None] | None], int]


STARTING = -1  # ImportPanel.job while the request waits for the next turn


class ImportPanel(QFrame):
    """The import card (hidden until an import starts) and the import job it shows."""

    finished = Signal(object)   # ImportOutcome
    progressed = Signal(int, int)  # done, total

    def __init__(self, engine: Engine, run: RunJob, say: Callable[[str], None],
                 track: Callable[[list[CopyButton]], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self._run = run
        self._say = say
        self.job = 0
        self.pending: list[list[str]] = []
        self.last_import: ImportOutcome | None = None
        self.setObjectName("Card")
        ip = QVBoxLayout(self)
        ip.setContentsMargins(14, 10, 14, 12)
        ip.setSpacing(6)
        row = QHBoxLayout()
        self.import_label = label("", "CardSummary", selectable=True)
        self.import_label.setAccessibleName("Import progress")
        row.addWidget(self.import_label, 1)
        self.cancel_button = KeyButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel the import")
        self.cancel_button.setToolTip("Stop the import (Esc); what was imported so far is kept")
        row.addWidget(self.cancel_button)
        self.hide_import_button = KeyButton("Hide")
        self.hide_import_button.setAccessibleName("Hide the import result")
        row.addWidget(self.hide_import_button)
        ip.addLayout(row)
        self.progress_bar = QProgressBar()
        self.progress_bar.setAccessibleName("Import progress bar")
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setFixedHeight(8)
        ip.addWidget(self.progress_bar)
        rej_row = QHBoxLayout()
        self.rejected_title = label("", "SectionTitle", wrap=False)
        rej_row.addWidget(self.rejected_title, 1)
        self.copy_rejected = CopyButton(self.rejected_text, "list of files that could not be imported",
                                        "Copy the list")
        track([self.copy_rejected])
        rej_row.addWidget(self.copy_rejected)
        ip.addLayout(rej_row)
        self.rejected_list = QListWidget()
        self.rejected_list.setAccessibleName("Files that could not be imported, with the reason")
        self.rejected_list.setMaximumHeight(110)
        self.rejected_list.setWordWrap(True)
        self.rejected_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        ip.addWidget(self.rejected_list)
        self._show_rejected(False)
        self.hide()
        self.cancel_button.clicked.connect(self.cancel_import)
        self.hide_import_button.clicked.connect(self.hide)

    @property
    def importing(self) -> bool:
        return self.job != 0

    def import_paths(self, paths: list[str] | list[Path]) -> None:
        """Import files and folders (what a drop and the Import buttons call). A second import waits for
        the one running."""
        wanted = [s for s in map(str, paths) if s]
        if not wanted:
            return
        if self.importing:
            self.pending.append(wanted)
            self._say(f"{len(self.pending)} more import(s) will start when this one ends.")
            return
        self.show()
        self._show_rejected(False)
        self.cancel_button.setEnabled(True)
        self.cancel_button.show()
        self.hide_import_button.hide()
        self.progress_bar.show()
        self.progress_bar.setRange(0, 0)
        self.import_label.setText("Looking for reports…")
        # the request (every path, as one line to the worker: a few ms for 10,000 files) goes on the next turn,
        # after the card above is drawn, not in the same stall
        self.job = STARTING
        QTimer.singleShot(0, self, lambda: self._start(wanted))

    def _start(self, wanted: list[str]) -> None:
        if self.job != STARTING:  # cancelled, or the window shut down, before the request went
            return
        self.job = self._run("reports_import", {"paths": wanted}, self._import_done, self._import_progress,
                             self._import_failed)

    def _import_progress(self, value: Any) -> None:
        if isinstance(value, ImportWaiting):
            self.import_label.setText(value.message)
            return
        done, total, _name = value
        if total:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(done)
            self.import_label.setText(f"Importing: {_n(done)} of {_n(total)} file{'s' if total != 1 else ''}…")
        self.progressed.emit(int(done), int(total))

    def cancel_import(self) -> None:
        if not self.importing:
            return
        self.pending.clear()
        if self.job == STARTING:  # nothing sent yet: nothing was imported
            self.job = 0
            self._import_failed("")
            return
        self.engine.stop_task(self.job)  # it stops within a moment (between reports), and says how far it got
        self.cancel_button.setEnabled(False)
        self.import_label.setText("Stopping…")

    def forget(self) -> None:
        """The window is shutting down (its jobs were abandoned): nothing is being imported any more."""
        self.job = 0

    def _import_failed(self, reason: str) -> None:
        self.job = 0
        self.import_label.setText(f"The import stopped: {reason}" if reason else "The import was stopped.")
        self._import_ended()

    def _import_done(self, outcome: ImportOutcome) -> None:
        self.job = 0
        self.last_import = outcome
        r = outcome.result
        dmarc = sum(1 for i in r.imported if i.kind == "dmarc")
        tls = len(r.imported) - dmarc
        parts = []
        if outcome.problem and not (r.imported or r.duplicate or r.repeated or r.conflicting or r.rejected):
            text = outcome.problem
        else:
            head = "Import stopped" if outcome.cancelled or outcome.stopped else "Import finished"
            if outcome.cancelled:
                head += f" after {_n(outcome.done)} of {_n(outcome.total)} files"
            parts.append(f"{_n(len(r.imported))} report{'s' if len(r.imported) != 1 else ''} imported "
                         f"({_n(dmarc)} DMARC, {_n(tls)} TLS)")
            if r.duplicate or not (r.repeated or r.conflicting):
                parts.append(f"{_n(len(r.duplicate))} already there from earlier imports")
            if r.partial_before:
                parts.append(f"{_n(len(r.partial_before))} of those already there with rows that could not be read "
                             "(those rows not in the figures)")
            if r.repeated:
                parts.append(f"{_n(len(r.repeated))} more than once in these files (imported once)")
            if r.conflicting:
                parts.append(f"{_n(len(r.conflicting))} skipped: a report with the same reporter, id, domain and "
                             "period but other content was already imported")
            if r.partial:
                parts.append(f"{_n(len(r.partial))} with rows that could not be read (those rows skipped)")
            if r.flagged:
                parts.append(f"{_n(len(r.flagged))} with impossible dates (kept, left out of the figures)")
            parts.append(f"{_n(len(r.rejected))} could not be imported")
            text = f"{head}: " + ", ".join(parts) + "."
            if outcome.cancelled:
                text += (" Every report imported before you pressed Cancel is kept; the file (or mail) being read "
                         "then was not imported at all. Importing the same files again adds what is missing.")
            if outcome.problem:
                text += " " + outcome.problem
        self.import_label.setText(text)
        self.rejected_list.clear()
        for name, reason in r.rejected:
            self.rejected_list.addItem(shown(f"{name}: {reason}"))
        for i in r.conflicting:
            self.rejected_list.addItem(shown(f"{i.name}: skipped: {i.org} report {i.report_id} was already imported "
                                             "with other content; the first one was kept"))
        for i in r.partial:
            self.rejected_list.addItem(shown(f"{i.name}: imported, but {i.skipped}"))
        for i in r.partial_before:
            self.rejected_list.addItem(shown(f"{i.name}: already imported, without some rows: {i.skipped}"))
        for i in r.imported:
            if i.kind == "tlsrpt" and not i.domain:
                self.rejected_list.addItem(shown(f"{i.name}: imported for an unknown domain: this TLS report doesn't "
                                                 "say which domain it is about, so it is in no domain's figures"))
        for i in r.flagged:
            self.rejected_list.addItem(shown(f"{i.name}: imported, but left out of the figures: {i.problem}"))
        n = self.rejected_list.count()
        self.rejected_title.setText(f"Files that could not be imported ({_n(n)})" if n == len(r.rejected) else
                                    f"Files to look at ({_n(n)})")
        self._show_rejected(bool(n))
        self._import_ended()
        self.finished.emit(outcome)

    def _import_ended(self) -> None:
        self.progress_bar.hide()
        self.cancel_button.hide()
        self.hide_import_button.show()
        if self.pending:
            nxt = self.pending.pop(0)
            self.import_paths(nxt)

    def _show_rejected(self, shown: bool) -> None:
        for w in (self.rejected_title, self.copy_rejected, self.rejected_list):
            w.setVisible(shown)

    def rejected_text(self) -> str:
        return "\n".join(item.text() for i in range(self.rejected_list.count())
                         if (item := self.rejected_list.item(i)) is not None)


__all__ = ["ImportPanel", "RunJob"]
