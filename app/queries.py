"""The details view: every DNS query of the current check (name, type, answer or error, time).

Queries arrive in batches (the engine sends them at most every few tens of milliseconds); each batch is
appended with one ``beginInsertRows``, and the texts of a row are computed once, when it arrives.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QHeaderView, QTableView, QVBoxLayout, QWidget

from inboxready.core.dns.client import Outcome, QueryRecord

from .widgets import FittedColumns, KeyButton, label, monospace_font

OUTCOME_WORDS = {
    Outcome.ANSWER: "Answer",
    Outcome.NXDOMAIN: "No such name",
    Outcome.NODATA: "No record of this type",
    Outcome.TIMEOUT: "No reply (timeout)",
    Outcome.SERVFAIL: "Server failure",
    Outcome.ERROR: "Error",
}

HEADERS = ["At (ms)", "Name", "Type", "Result", "Answer or error", "Took (ms)"]


class QueryLogModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[QueryRecord] = []
        self._rows: list[tuple[str, ...]] = []  # the cells' texts, computed once per row

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:  # each title over its cells
            return int((Qt.AlignmentFlag.AlignRight if section in (0, 5) else Qt.AlignmentFlag.AlignLeft)
                       | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (0, 5):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def cell(rec: QueryRecord, column: int) -> str:
        if column == 0:
            return f"{rec.started_ms:.0f}"
        if column == 1:
            return rec.name
        if column == 2:
            return rec.rdtype
        if column == 3:
            return OUTCOME_WORDS.get(rec.outcome, str(rec.outcome))
        if column == 4:
            return rec.error if rec.error else " | ".join(rec.answer)
        return f"{rec.elapsed_ms:.0f}"

    def add(self, rec: QueryRecord) -> None:
        self.add_many([rec])

    def add_many(self, recs: list[QueryRecord]) -> None:
        """Append a batch of queries (one insertion for the whole batch)."""
        if not recs:
            return
        n = len(self.records)
        self.beginInsertRows(QModelIndex(), n, n + len(recs) - 1)
        self.records.extend(recs)
        self._rows.extend(tuple(self.cell(rec, c) for c in range(len(HEADERS))) for rec in recs)
        self.endInsertRows()

    def clear(self) -> None:
        if not self.records:
            return
        self.beginResetModel()
        self.records = []
        self._rows = []
        self.endResetModel()

    def as_text(self) -> str:
        """Tab-separated text of the whole log, for a support ticket."""
        lines = ["\t".join(HEADERS)]
        lines += ["\t".join(row) for row in self._rows]
        return "\n".join(lines) + "\n"


class _LogTable(FittedColumns, QTableView):
    """The log's table: columns fitted to its width from the font (not from the rows, which can be
    thousands): the numbers, the type and the result whole, the name and the answer sharing the rest."""

    grow_column = 4  # the answer

    def minimum_width(self) -> int:
        return self.fontMetrics().horizontalAdvance("x" * 20)  # narrower, the table scrolls sideways

    def natural_widths(self) -> list[int]:
        fm, hfm = self.fontMetrics(), self.horizontalHeader().fontMetrics()

        def fits(*texts: str) -> int:
            return max(fm.horizontalAdvance(t) for t in texts) + 16

        heads = [hfm.horizontalAdvance(h) + 24 for h in HEADERS]
        cells = [fits("00000"), fits("x" * 34), fits("DNSKEY+DO"), fits(*OUTCOME_WORDS.values()), fits("x" * 40),
                 fits("00000")]
        return [max(h, c) for h, c in zip(heads, cells)]


class QueryLogView(QWidget):
    """The query table and a "Copy all" button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = QueryLogModel()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        top = QHBoxLayout()
        self.caption = label("Every DNS question asked during this check, in order.", "Muted")
        top.addWidget(self.caption, 1)
        self.copy_button = KeyButton("Copy all (for a support ticket)")
        self.copy_button.setAccessibleName("Copy the DNS query log")
        self.copy_button.clicked.connect(self.copy_all)
        top.addWidget(self.copy_button)
        lay.addLayout(top)
        self.table = _LogTable()
        self.table.setModel(self.model)
        self.table.setAccessibleName("DNS queries made during this check")
        self.table.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a long name keeps both ends (tooltip: all)
        self.table.setFont(monospace_font())
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # fitted on resize
        self.table.fit_columns()
        self.table.setMinimumHeight(180)
        lay.addWidget(self.table)

    def add(self, rec: QueryRecord) -> None:
        self.model.add(rec)

    def add_many(self, recs: list[QueryRecord]) -> None:
        self.model.add_many(recs)

    def clear(self) -> None:
        self.model.clear()

    def copy_all(self) -> None:
        QGuiApplication.clipboard().setText(self.model.as_text())


__all__ = ["QueryLogModel", "QueryLogView"]
