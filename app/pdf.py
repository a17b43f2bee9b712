"""HTML → PDF with Qt's own writer (QTextDocument + QPdfWriter): A4, margins, page numbers, real text.

Works offscreen and from the CLI: ``ensure_gui_app()`` creates a ``QGuiApplication`` when none exists
(fonts need one). Thread use: ``html_to_pdf`` may run in a worker thread (it only uses QTextDocument and
QPdfWriter, which are reentrant), as long as a QGuiApplication exists; call ``ensure_gui_app()`` first on
the main thread.

- ``html_to_pdf(html, path, *, title="", footer_text="", attachments=()) -> Path``
- ``write_audit_pdf(audit: AuditReport, path) -> Path``: the report's print page, with the JSON copy
  attached (``inboxready-report.json``) so ``inboxready verify FILE.pdf`` can check it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from inboxready.core.policy.audit import ATTACHMENT_NAME, AuditReport
from PySide6.QtCore import QMarginsF, QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextDocument,
    QTextOption,
)

PDF_RESOLUTION = 300
MARGINS_MM = (16.0, 14.0, 16.0, 12.0)  # left, top, right, bottom
FOOTER_PT = 22.0  # room for the page number line at the bottom of each page
_APP: Any = None  # keeps a QGuiApplication made here alive


def ensure_gui_app() -> QGuiApplication:
    """The running QGuiApplication, or a new one (offscreen when there is no display)."""
    global _APP
    app = QGuiApplication.instance()
    if app is not None:
        return app  # type: ignore[return-value]
    if not os.environ.get("QT_QPA_PLATFORM") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) \
            and sys.platform.startswith("linux"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    # A QApplication (not only a QGuiApplication), so widgets made later in the same process still work.
    from PySide6.QtWidgets import QApplication

    _APP = QApplication(sys.argv[:1] or ["inboxready"])
    return _APP  # type: ignore[no-any-return]


def html_to_pdf(html: str, path: str | os.PathLike[str], *, title: str = "", footer_text: str = "",
                attachments: Iterable[tuple[str, bytes, str]] = ()) -> Path:
    """Write ``html`` (Qt rich-text subset of HTML/CSS) as an A4 PDF with "Page n of N" (and
    ``footer_text`` on the left) at the bottom of every page.

    ``attachments``: (file name, data, MIME type) embedded in the PDF. Raises ``OSError`` when the file
    can't be written."""
    ensure_gui_app()
    out = Path(path)
    writer = QPdfWriter(str(out))
    writer.setResolution(PDF_RESOLUTION)
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    left, top, right, bottom = MARGINS_MM
    writer.setPageMargins(QMarginsF(left, top, right, bottom), QPageLayout.Unit.Millimeter)
    writer.setTitle(title)
    writer.setCreator("InboxReady")
    for name, data, mime in attachments:
        if hasattr(writer, "addFileAttachment"):  # Qt 6.8+; older: the PDF still shows the hash
            writer.addFileAttachment(name, data, mime)

    doc = QTextDocument()
    # Lay the text out for the writer itself (its resolution), so point sizes come out right on paper.
    doc.documentLayout().setPaintDevice(writer)
    font = QFont("DejaVu Sans")
    font.setPointSizeF(9.5)
    doc.setDefaultFont(font)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    doc.setDefaultTextOption(option)
    doc.setDocumentMargin(0)
    doc.setHtml(html)

    area = writer.pageLayout().paintRectPixels(PDF_RESOLUTION)
    width, height = float(area.width()), float(area.height())
    footer = FOOTER_PT * PDF_RESOLUTION / 72.0
    page_height = height - footer
    doc.setPageSize(QSizeF(width, page_height))
    pages = max(1, doc.pageCount())

    painter = QPainter()
    if not painter.begin(writer):
        raise OSError(f"the PDF could not be written to {out}")
    try:
        small = QFont("DejaVu Sans")
        small.setPointSizeF(7.5)
        for i in range(pages):
            if i:
                writer.newPage()
            painter.save()
            painter.translate(0, -i * page_height)
            doc.drawContents(painter, QRectF(0, i * page_height, width, page_height))
            painter.restore()
            painter.setFont(small)
            painter.setPen(QColor("#57606a"))
            box = QRectF(0, height - footer * 0.8, width, footer * 0.8)
            painter.drawLine(QPointF(0, height - footer * 0.85), QPointF(width, height - footer * 0.85))
            if footer_text:
                painter.drawText(box, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), footer_text)
            painter.drawText(box, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                             f"Page {i + 1} of {pages}")
    finally:
        painter.end()
    del writer  # finishes the file
    if not out.exists() or out.stat().st_size == 0:
        raise OSError(f"the PDF could not be written to {out}")
    return out


def write_audit_pdf(audit: AuditReport, path: str | os.PathLike[str]) -> Path:
    """The audit report as PDF, with its JSON copy attached (checked by ``inboxready.core.policy.audit verify``)."""
    import json

    doc = audit.to_document()
    data = json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
    title = f"Email authentication report: {doc['report'].get('domain_display') or doc['report'].get('domain')}"
    footer = f"{doc['report'].get('domain')} · SHA-256 {doc['sha256']}"
    return html_to_pdf(audit.to_print_html(), path, title=title, footer_text=footer,
                       attachments=[(ATTACHMENT_NAME, data, "application/json")])


__all__ = ["ensure_gui_app", "html_to_pdf", "write_audit_pdf"]
