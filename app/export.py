"""Export a domain check as an audit report (PDF or self-contained HTML) from the app.

``export_report(parent, report, *, message=None, reports_summary=None, profile="bulk-sender",
path=None) -> Path | None`` asks where to save (a QFileDialog offering .pdf and .html; ``path`` skips the
dialog); the engine process (the worker's ``audit_export`` job) builds the report and writes it, then the
window's status bar says where it went and the report's SHA-256, or why it could not be written. It returns
the path being written, or None when the user cancelled.

The main window calls it from its Export button with the report on screen, the latest round-trip
``MessageReport`` (if any) and the DMARC-report summary (``ReportSummary.to_json()``, if any).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from inboxready.core.policy.audit import AuditReport
from inboxready.core.policy.compliance import DEFAULT_PROFILE
from inboxready.core.model import DomainReport
from inboxready.core.worker.values import to_wire
from PySide6.QtWidgets import QMainWindow, QWidget

from .engine import Engine
from .queryop import WorkerOp

PDF_FILTER = "PDF document (*.pdf)"
HTML_FILTER = "Web page, self-contained (*.html)"


def default_file_name(report: DomainReport, ext: str = ".pdf") -> str:
    day = (report.started or datetime.now().astimezone().isoformat())[:10]
    safe = re.sub(r"[^A-Za-z0-9.-]+", "_", report.domain) or "domain"
    return f"inboxready-{safe}-{day}{ext}"


def _status(parent: QWidget | None, text: str, ms: int = 8000) -> None:
    window = parent.window() if parent is not None else None
    if isinstance(window, QMainWindow):
        window.statusBar().showMessage(text, ms)


def ask_path(parent: QWidget | None, report: DomainReport) -> Path | None:
    """The save dialog: .pdf or .html; adds the extension of the chosen type when the name has none."""
    from .filedialogs import save_file

    name, chosen = save_file(parent, "Save the report", default_file_name(report), f"{PDF_FILTER};;{HTML_FILTER}")
    if not name:
        return None
    path = Path(name)
    if path.suffix.lower() not in (".pdf", ".html", ".htm"):
        path = path.with_name(path.name + (".html" if chosen == HTML_FILTER else ".pdf"))
    return path


def write_report(audit: AuditReport, path: Path) -> str:
    """Write ``audit`` to ``path`` (PDF or HTML by extension); returns its SHA-256. Safe in a thread of the
    worker once a QGuiApplication exists there. Raises OSError."""
    if path.suffix.lower() == ".pdf":
        from .pdf import write_audit_pdf

        write_audit_pdf(audit, path)
    else:
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(audit.to_html(), encoding="utf-8", newline="\n")
        tmp.replace(path)
    return audit.sha256


def export_report(parent: QWidget | None, report: DomainReport, *, engine: Engine, message: Any = None,
                  reports_summary: Mapping[str, Any] | None = None, profile: str = DEFAULT_PROFILE,
                  path: str | Path | None = None, dns_host: Mapping[str, Any] | None = None,
                  on_done: Callable[[Path | None], None] | None = None) -> Path | None:
    """Save ``report`` as an audit report; see the module docstring. ``dns_host`` (``Inspection.for_audit()``)
    shows each fix in that host's form; the DNS changes published in the report's period are read from the
    publish journal by the worker. Returns the file being written (None: the user cancelled the dialog);
    ``on_done(path or None)`` once it is written (or could not be)."""
    target = Path(path) if path is not None else ask_path(parent, report)
    if target is None:
        return None
    _status(parent, f"Saving the report to {target.name}…", 0)

    def done(data: Any) -> None:
        error = data.get("error") if isinstance(data, dict) else "no answer"
        if error:
            failed(str(error))
            return
        kept = " (not kept in the history: note it)" if data.get("problem") else ""
        _status(parent, f"Report saved to {target}. File SHA-256 {data.get('sha256')}{kept}.", 20000)
        if on_done is not None:
            on_done(target)

    def failed(error: str) -> None:
        _status(parent, f"The report could not be saved to {target}: {error or 'stopped'}")
        if on_done is not None:
            on_done(None)

    WorkerOp(engine, parent if parent is not None else engine, "audit_export",
             {"report": report.to_json(), "message": to_wire(message), "reports_summary": reports_summary,
              "profile": profile, "target": str(target), "dns_host": dns_host},
             success=done, failure=failed, cancelled=lambda: failed("")).run()
    return target


__all__ = ["HTML_FILTER", "PDF_FILTER", "ask_path", "default_file_name", "export_report", "write_report"]
