"""No clipped or misaligned columns at the window's minimum size: the readiness chips, the SPF include
tree, the MX table, the DNS query log, the reports window's domain box and its "who sends as you" tables."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QTreeWidget

from inboxready.app.widgets import fit_widths
from tests.conftest import CONFORMANCE

WAIT_MS = 20000
LEFT, RIGHT = int(Qt.AlignmentFlag.AlignLeft), int(Qt.AlignmentFlag.AlignRight)


def test_fit_widths() -> None:
    assert fit_widths([50, 100, 80], 300) == [50, 100, 150]  # all fit: the last takes the rest
    assert fit_widths([50, 100, 80], 300, grow=1) == [50, 170, 80]
    assert fit_widths([50, 300, 200], 350) == [50, 150, 150]  # too wide: the widest narrowed to one cap
    assert sum(fit_widths([40, 500, 60, 400], 600)) <= 600
    assert fit_widths([200, 200], 60, minimum=48) == [48, 48]  # never below the minimum (then it scrolls)


@pytest.fixture
def narrow(make_window, qtbot) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    w = make_window(demo=True, timeout=None, deadline=None)
    w.resize(w.minimumSize())
    qtbot.waitUntil(lambda: w.demo_server is not None and w.current_domain != "", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not w.checking, timeout=WAIT_MS)
    yield w


def _checked(qtbot, w, domain: str) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain(domain)
    qtbot.wait(50)


def _inside(outer: QRect, inner: QRect) -> bool:
    return outer.contains(inner)


def _columns_in_view(view: QAbstractItemView, count: int) -> None:
    header = view.header() if isinstance(view, QTreeWidget) else view.horizontalHeader()  # type: ignore[attr-defined]
    right = max(header.sectionViewportPosition(c) + header.sectionSize(c) for c in range(count))
    assert right <= view.viewport().width() + 1, "a column is pushed out of sight"
    for c in range(count):
        assert header.sectionSize(c) >= 40, f"column {c} squeezed to {header.sectionSize(c)} px"


def test_readiness_chips_are_never_cut_off(narrow, qtbot) -> None:  # type: ignore[no-untyped-def]
    for domain in ("demo-monitoring.example", "demo-toomany.example", "demo-nodmarc.example"):
        _checked(qtbot, narrow, domain)
        bar = narrow.readiness
        qtbot.waitUntil(lambda: bool(bar.chips) and bar.isVisible(), timeout=WAIT_MS)
        for chip in bar.chips.values():
            assert chip.width() >= chip.sizeHint().width(), chip.word
            assert chip.parentWidget() is bar and _inside(bar.rect(), chip.geometry()), chip.word


def test_spf_tree_and_mx_table_fit_the_card(narrow, qtbot) -> None:  # type: ignore[no-untyped-def]
    _checked(qtbot, narrow, "demo-toomany.example")
    card = narrow.cards["spf"]
    card.set_open(True)
    card.finish_body()
    qtbot.wait(50)
    tree = card.findChildren(QTreeWidget)[0]
    _columns_in_view(tree, 4)
    assert tree.headerItem().text(3) == "Problem" and tree.header().sectionSize(3) >= \
        tree.header().fontMetrics().horizontalAdvance("Problem")
    assert int(tree.headerItem().textAlignment(2)) & RIGHT  # the lookups' title over its figures

    _checked(qtbot, narrow, "demo-brokenmx.example")
    card = narrow.cards["mx"]
    card.set_open(True)
    card.finish_body()
    qtbot.wait(50)
    table = next(t for t in card.findChildren(QTableView) if t.model().columnCount() == 4)
    _columns_in_view(table, 4)
    assert int(table.horizontalHeader().defaultAlignment()) & LEFT  # titles over their (left-aligned) cells
    problem = table.model().index(0, 3).data()
    assert problem and table.rowHeight(0) >= table.sizeHintForRow(0)  # the wrapped text is whole


def test_the_query_log_aligns_its_titles_and_never_clips_a_column(narrow, qtbot) -> None:  # type: ignore[no-untyped-def]
    _checked(qtbot, narrow, "demo-allgood.example")
    narrow.queries_button.setChecked(True)
    qtbot.wait(50)
    table = narrow.query_view.table
    model = table.model()
    for c in range(model.columnCount()):
        align = int(model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.TextAlignmentRole))
        cell = model.data(model.index(0, c), Qt.ItemDataRole.TextAlignmentRole)
        assert bool(align & RIGHT) == bool(cell is not None and int(cell) & RIGHT), c
    header = table.horizontalHeader()
    fm = table.fontMetrics()
    assert header.sectionSize(2) >= fm.horizontalAdvance("DNSKEY+DO")  # "SOA+DO" is not cut to "SOA+…"
    total = sum(header.sectionSize(c) for c in range(model.columnCount()))
    if total > table.viewport().width():  # too narrow for every column: it scrolls sideways, nothing is lost
        assert table.horizontalScrollBar().maximum() > 0
    narrow.resize(1300, 800)
    qtbot.wait(50)
    _columns_in_view(table, model.columnCount())


def test_reports_window_domain_box_and_tables(narrow, qtbot) -> None:  # type: ignore[no-untyped-def]
    reports = narrow.open_reports()
    reports.resize(reports.minimumSizeHint().width(), 700)
    with qtbot.waitSignal(reports.importFinished, timeout=60000):
        reports.import_paths([CONFORMANCE / "dmarc-reports" / "cry-inc"])
    qtbot.waitUntil(lambda: reports.view is not None, timeout=WAIT_MS)
    box = reports.domain_box
    needed = box.fontMetrics().horizontalAdvance(box.currentText()) + 40
    assert box.width() >= needed, (box.width(), box.currentText())
    for view in reports.findChildren(QTableView):
        model = view.model()
        if not hasattr(model, "columns"):
            continue
        for c, col in enumerate(model.columns):
            align = int(model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.TextAlignmentRole))
            assert bool(align & RIGHT) == bool(col.number), (col.header, align)
        modes = [view.horizontalHeader().sectionResizeMode(c) for c in range(len(model.columns))]
        stretched = [c for c, m in enumerate(modes) if m == QHeaderView.ResizeMode.Stretch]
        assert all(not model.columns[c].number for c in stretched)  # figures stay under their titles
