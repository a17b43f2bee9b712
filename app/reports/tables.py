"""The reports window's tables: a read-only model of Python objects sorted in Python, the table view, and
the columns of the senders, services, unknown senders and TLS tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from inboxready.core.reports.tlsrpt import result_words
from inboxready.core.worker.reports import TlsRow, TlsUnnamed

from .fmt import percent as _pct
from .fmt import rate as _rate
from .fmt import thousands as _n



@dataclass(frozen=True)
class Column:
    header: str
    show: Callable[[Any], str]
    key: Callable[[Any], Any]
    number: bool = False
    tip: str = ""


_ROOT = QModelIndex()  # the invisible root of a table model


class RowsModel(QAbstractTableModel):
    """A read-only table of Python objects; sorting is done in Python on the keys (one pass, not a
    comparison per call into ``data``)."""

    def __init__(self, columns: list[Column], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns = columns
        self.rows: list[Any] = []
        self._sort: tuple[int, Qt.SortOrder] | None = None

    def set_rows(self, rows: list[Any]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        if self._sort is not None:
            self._apply_sort(*self._sort)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        col = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.header
        if role == Qt.ItemDataRole.ToolTipRole and col.tip:
            return col.tip
        if role == Qt.ItemDataRole.TextAlignmentRole:  # each title over its cells: numbers right, text left
            return int((Qt.AlignmentFlag.AlignRight if col.number else Qt.AlignmentFlag.AlignLeft)
                       | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        col = self.columns[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return col.show(self.rows[index.row()])
        if role == Qt.ItemDataRole.TextAlignmentRole and col.number:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def fit_columns(self, view: QTableView, sample: int = 80, widest: int = 320) -> None:
        """Size the columns to the header and the first ``sample`` rows (not every row: a table of
        thousands of sources would otherwise call ``data`` for each on the UI thread)."""
        fm = view.fontMetrics()
        hfm = view.horizontalHeader().fontMetrics()
        header = view.horizontalHeader()
        widths: list[int] = []
        for c, col in enumerate(self.columns):
            w = hfm.horizontalAdvance(col.header) + 34
            for row in self.rows[:sample]:
                w = max(w, fm.horizontalAdvance(col.show(row)) + 18)
            widths.append(min(w, widest))
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.Interactive)
            view.setColumnWidth(c, widths[-1])
        # the room left over goes to the widest text column (not to a number column, whose right-aligned
        # figures would drift away from their title); the numbers keep their width
        text = [c for c, col in enumerate(self.columns) if not col.number]
        if text:
            header.setSectionResizeMode(max(text, key=lambda c: widths[c]), QHeaderView.ResizeMode.Stretch)

    def text(self, row: int, column: int) -> str:
        return self.columns[column].show(self.rows[row])

    def _apply_sort(self, column: int, order: Qt.SortOrder) -> None:
        key = self.columns[column].key
        self.rows.sort(key=key, reverse=order == Qt.SortOrder.DescendingOrder)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns):
            return
        self.layoutAboutToBeChanged.emit()
        self._sort = (column, order)
        self._apply_sort(column, order)
        self.layoutChanged.emit()


def make_table(columns: list[Column], accessible_name: str, parent: QWidget | None = None,
               *, sortable: bool = True, height: int = 240) -> tuple[QTableView, RowsModel]:
    model = RowsModel(columns, parent)
    view = QTableView(parent)
    view.setModel(model)
    view.setAccessibleName(accessible_name)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setTabKeyNavigation(False)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(24)
    view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    view.setMinimumHeight(height)
    hh = view.horizontalHeader()
    hh.setAccessibleName(f"Column titles of {accessible_name.lower()} (click one to sort)")
    view.verticalHeader().setAccessibleName(f"Row numbers of {accessible_name.lower()}")
    hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    hh.setStretchLastSection(not any(not c.number for c in columns))  # else a text column stretches
    view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    hh.setHighlightSections(False)
    if sortable:
        hh.setSortIndicator(-1, Qt.SortOrder.DescendingOrder)  # the rows come in a meaningful order
        hh.setSortIndicatorShown(True)
        hh.setSectionsClickable(True)
        hh.sortIndicatorChanged.connect(lambda c, o: model.sort(c, o))
    return view, model


SOURCE_COLUMNS = [
    Column("Sending service", lambda r: r.service, lambda r: (r.service.lower(), -r.messages)),
    Column("IP address", lambda r: r.ip, lambda r: r.ip),
    Column("Reverse DNS name", lambda r: r.ptr or ("looking up…" if r.service.endswith("looking up…") else "–"),
           lambda r: r.ptr or "", tip="The name the sending server's IP address points back to (PTR record)"),
    Column("Messages", lambda r: _n(r.messages), lambda r: r.messages, True),
    Column("Passed DMARC", lambda r: _rate(r.dmarc_pass, r.messages), lambda r: r.dmarc_pass / max(1, r.messages),
           True),
    Column("SPF aligned", lambda r: _pct(r.spf_aligned, r.messages), lambda r: r.spf_aligned / max(1, r.messages),
           True, "SPF passed for your own domain (so it counts for DMARC)"),
    Column("DKIM aligned", lambda r: _pct(r.dkim_aligned, r.messages),
           lambda r: r.dkim_aligned / max(1, r.messages), True,
           "DKIM signed by your own domain (so it counts for DMARC)"),
    Column("SPF passed", lambda r: _pct(r.spf_pass, r.messages), lambda r: r.spf_pass / max(1, r.messages), True,
           "SPF passed for any domain, yours or not"),
    Column("DKIM passed", lambda r: _pct(r.dkim_pass, r.messages), lambda r: r.dkim_pass / max(1, r.messages),
           True, "DKIM passed for any domain, yours or not"),
    Column("Signed or sent as", lambda r: ", ".join(dict.fromkeys([*r.dkim_domains, *r.spf_domains])) or "–",
           lambda r: ",".join(r.dkim_domains + r.spf_domains)),
]

SERVICE_COLUMNS = [
    Column("Sending service", lambda v: v.service, lambda v: v.service.lower()),
    Column("Servers", lambda v: _n(v.sources), lambda v: v.sources, True),
    Column("Messages", lambda v: _n(v.messages), lambda v: v.messages, True),
    Column("Passed DMARC", lambda v: _rate(v.dmarc_pass, v.messages), lambda v: v.dmarc_pass / max(1, v.messages),
           True),
    Column("SPF aligned", lambda v: _pct(v.spf_aligned, v.messages), lambda v: v.spf_aligned / max(1, v.messages),
           True),
    Column("DKIM aligned", lambda v: _pct(v.dkim_aligned, v.messages),
           lambda v: v.dkim_aligned / max(1, v.messages), True),
]

UNKNOWN_COLUMNS = [
    Column("IP address", lambda r: r.ip, lambda r: r.ip),
    Column("Reverse DNS name", lambda r: r.ptr or "–", lambda r: r.ptr or ""),
    Column("Messages", lambda r: _n(r.messages), lambda r: r.messages, True),
    Column("Sent as", lambda r: ", ".join(dict.fromkeys([*r.spf_domains, *r.dkim_domains])) or "–",
           lambda r: ",".join(r.spf_domains)),
]

TLS_COLUMNS = [
    Column("Policy", lambda t: {"sts": "MTA-STS", "tlsa": "DANE (TLSA)", "no-policy-found": "No policy"}.get(
        t.policy_type, t.policy_type), lambda t: t.policy_type),
    Column("For", lambda t: t.policy_domain, lambda t: t.policy_domain),
    Column("Reports", lambda t: _n(t.reports), lambda t: t.reports, True),
    Column("Successful connections", lambda t: _n(t.successful), lambda t: t.successful, True),
    Column("Failed connections", lambda t: _n(t.failed), lambda t: t.failed, True),
    Column("Why they failed", lambda t: _why_failed(t.failure_types), lambda t: t.failed,
           tip="The result types the senders reported; what each means is listed below the table"),
]


def _why_failed(failure_types: dict[str, int]) -> str:
    return "; ".join(f"{_n(v)} × {k}" for k, v in sorted(failure_types.items(), key=lambda kv: -kv[1])) or "–"


def _dates(begin: int, end: int) -> str:
    first, last = (datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d") for t in (begin, end))
    return first if first == last else f"{first} to {last}"


TLS_UNNAMED_COLUMNS = [
    Column("Reporter", lambda t: t.org, lambda t: t.org),
    Column("Report id", lambda t: t.report_id, lambda t: t.report_id),
    Column("File", lambda t: t.name, lambda t: t.name),
    Column("Period", lambda t: _dates(t.begin, t.end), lambda t: t.begin),
    Column("Successful connections", lambda t: _n(t.successful), lambda t: t.successful, True),
    Column("Failed connections", lambda t: _n(t.failed), lambda t: t.failed, True),
    Column("Why they failed", lambda t: _why_failed(t.failure_types), lambda t: t.failed,
           tip="The result types the sender reported; what each means is listed below the table"),
]


def tls_failure_words(rows: Sequence[TlsRow | TlsUnnamed]) -> str:
    """What each reported TLS failure means, in words, most frequent first ("" when nothing failed)."""
    totals: dict[str, int] = {}
    for t in rows:
        for k, v in t.failure_types.items():
            totals[k] = totals.get(k, 0) + v
    return "\n".join(f"•  {k} ({_n(v)} connection{'s' if v != 1 else ''}): {result_words(k)}."
                     for k, v in sorted(totals.items(), key=lambda kv: -kv[1]))


CSV_TABLES = [("Senders, one row per server", "sources"), ("Senders, one row per service", "services"),
              ("Messages per day", "daily"), ("Unknown senders that fail", "unknown_failing"),
              ("Passes but not aligned, with the fixes", "not_aligned")]
