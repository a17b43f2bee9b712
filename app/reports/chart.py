"""The overview's chart: daily volume (bars) and DMARC pass rate (line), drawn with QPainter."""

from __future__ import annotations

import itertools

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from inboxready.core.reports.summary import DayRow

from .. import theme
from .fmt import percent as _pct
from .fmt import thousands as _n


class DailyChart(QWidget):
    """Daily volume (bars, left axis) and DMARC pass rate (line, right axis, 0–100 %), drawn with QPainter.

    Only the days that have reports are drawn (a gap of weeks between two sample reports would otherwise
    leave the chart empty). Its accessible description says in words what it shows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.days: list[DayRow] = []
        self.setObjectName("DailyChart")
        self.setAccessibleName("Chart of daily messages and DMARC pass rate")
        self.setMinimumHeight(200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(250)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleDescription("No reports in this period.")

    def set_days(self, days: list[DayRow]) -> None:
        self.days = list(days)
        self.setAccessibleDescription(self.describe())
        self.setToolTip(self.describe())
        self.update()

    def describe(self) -> str:
        if not self.days:
            return "No reports in this period."
        total = sum(d.messages for d in self.days)
        busiest = max(self.days, key=lambda d: d.messages)
        worst = min(self.days, key=lambda d: d.pass_rate)
        passed = sum(d.dmarc_pass for d in self.days)
        return (f"{len(self.days)} day(s) with reports, from {self.days[0].date} to {self.days[-1].date}: "
                f"{_n(total)} messages, {_pct(passed, total)} passed DMARC. Busiest day {busiest.date} with "
                f"{_n(busiest.messages)} messages; lowest pass rate {worst.pass_rate * 100:.0f}% on {worst.date}.")

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = theme.palette(theme.current_scheme())
        text, muted, border = QColor(pal["text"]), QColor(pal["text_muted"]), QColor(pal["border"])
        bar, line = QColor(pal["accent"]), QColor(pal["pass_fg"])
        bar.setAlpha(150)
        p.fillRect(self.rect(), QColor(pal["surface"]))
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        p.setFont(font)
        fm = p.fontMetrics()
        left, right, top, bottom = fm.horizontalAdvance("0,000,000") + 10, fm.horizontalAdvance("100%") + 12, \
            fm.height() + 14, fm.height() + 10
        plot = QRectF(left, top, max(10.0, self.width() - left - right), max(10.0, self.height() - top - bottom))
        # legend
        x = plot.left()
        p.fillRect(QRectF(x, 4, 10, 10), bar)
        p.setPen(text)
        p.drawText(QPointF(x + 14, 4 + fm.ascent() - 1), "Messages a day")
        x += 14 + fm.horizontalAdvance("Messages a day") + 18
        p.setPen(QPen(line, 2))
        p.drawLine(QPointF(x, 9), QPointF(x + 14, 9))
        p.setPen(text)
        p.drawText(QPointF(x + 18, 4 + fm.ascent() - 1), "Passed DMARC (%)")
        # axes and grid
        p.setPen(QPen(border, 1))
        for frac in (0.0, 0.5, 1.0):
            y = plot.bottom() - frac * plot.height()
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
        if not self.days:
            p.setPen(muted)
            p.drawText(plot, Qt.AlignmentFlag.AlignCenter, "No reports in this period")
            p.end()
            return
        peak = max(1, max(d.messages for d in self.days))
        p.setPen(muted)
        for frac in (0.0, 0.5, 1.0):
            y = plot.bottom() - frac * plot.height()
            vol = _n(round(peak * frac))
            p.drawText(QRectF(0, y - fm.height() / 2, left - 6, fm.height()),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, vol)
            p.drawText(QRectF(plot.right() + 6, y - fm.height() / 2, right - 6, fm.height()),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, f"{frac * 100:.0f}%")
        n = len(self.days)
        slot = plot.width() / n
        gap = min(4.0, slot * 0.2)
        points: list[QPointF] = []
        for i, d in enumerate(self.days):
            h = plot.height() * d.messages / peak
            p.fillRect(QRectF(plot.left() + i * slot + gap / 2, plot.bottom() - h, max(1.0, slot - gap), h), bar)
            points.append(QPointF(plot.left() + (i + 0.5) * slot, plot.bottom() - d.pass_rate * plot.height()))
        p.setPen(QPen(line, 2))
        for a, b in itertools.pairwise(points):
            p.drawLine(a, b)
        if n <= 60:
            p.setBrush(line)
            for pt in points:
                p.drawEllipse(pt, 2.5, 2.5)
        # date labels: first, middle, last (as many as fit)
        p.setPen(muted)
        wanted = sorted({0, n // 2, n - 1}) if n > 2 else list(range(n))
        label_w = fm.horizontalAdvance("0000-00-00") + 8
        shown_right = -1e9
        for i in wanted:
            cx = plot.left() + (i + 0.5) * slot
            r = QRectF(cx - label_w / 2, plot.bottom() + 3, label_w, fm.height())
            r.moveLeft(max(0.0, min(r.left(), self.width() - label_w)))
            if r.left() < shown_right:
                continue
            p.drawText(r, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, self.days[i].date)
            shown_right = r.right()
        p.end()
