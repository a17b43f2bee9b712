"""Export a domain check as an audit report (PDF or self-contained HTML) from the app.

``export_report(parent, report, *, message=None, reports_summary=None, profile="bulk-sender",
path=None) -> Path | None`` asks where to save (a QFileDialog offering .pdf and .html; ``path`` skips the
dialog), builds the report and writes it in a worker thread while a local event loop keeps the window
painting, then says in the window's status bar where it went and the report's SHA-256. It returns the
path written, or None when the user cancelled or the file could not be written (the status bar says why).

The main window calls it from its Export button with the report on screen, the latest round-trip
``MessageReport`` (if any) and the DMARC-report summary (``ReportSummary.to_json()``, if any).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from inboxready.core.policy.audit import AuditReport
from inboxready.core.policy.compliance import DEFAULT_PROFILE
from inboxready.core.model import DomainReport
from PySide6.QtCore import QEventLoop, QObject, Qt, Signal
from PySide6.QtWidgets import QMainWindow, QWidget

PDF_FILTER = "PDF document (*.pdf)"
HTML_FILTER = "Web page, self-contained (*.html)"


class _Done(QObject):
    finished = Signal(object, object)  # sha256 | None, error message | None


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
    """Write ``audit`` to ``path`` (PDF or HTML by extension); returns its SHA-256. Safe in a worker
    thread once a QGuiApplication exists. Raises OSError."""
    if path.suffix.lower() == ".pdf":
        from .pdf import write_audit_pdf

        write_audit_pdf(audit, path)
    else:
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(audit.to_html(), encoding="utf-8", newline="\n")
        tmp.replace(path)
    return audit.sha256


def run_off_ui_thread(work: Callable[[], Any]) -> tuple[Any, str | None]:
    """Run ``work`` in a worker thread; the UI keeps painting (a local event loop) until it is done.
    Returns (result, None) or (None, plain-words error)."""
    done = _Done()
    loop = QEventLoop()
    outcome: dict[str, Any] = {}

    def finished(result: object, error: object) -> None:
        outcome["result"], outcome["error"] = result, error
        loop.quit()

    done.finished.connect(finished, Qt.ConnectionType.QueuedConnection)

    def worker() -> None:
        try:
            result = work()
        except OSError as exc:
            done.finished.emit(None, exc.strerror or str(exc))
        except Exception as exc:  # a bug: say so rather than freeze the window
            done.finished.emit(None, f"{type(exc).__name__}: {exc}")
        else:
            done.finished.emit(result, None)

    thread = threading.Thread(target=worker, name="inboxready-export", daemon=True)
    thread.start()
    if "error" not in outcome:
        loop.exec()
    thread.join()
    return outcome.get("result"), outcome.get("error")


def export_report(parent: QWidget | None, report: DomainReport, *, message: Any = None,
                  reports_summary: Mapping[str, Any] | None = None, profile: str = DEFAULT_PROFILE,
                  path: str | Path | None = None, dns_host: Mapping[str, Any] | None = None) -> Path | None:
    """Save ``report`` as an audit report; see the module docstring. ``dns_host`` (``Inspection.for_audit()``)
    shows each fix in that host's form; the DNS changes published in the report's period are read from the
    publish journal in the worker thread."""
    target = Path(path) if path is not None else ask_path(parent, report)
    if target is None:
        return None
    from .pdf import ensure_gui_app

    ensure_gui_app()
    _status(parent, f"Saving the report to {target.name}…", 0)

    def work() -> Any:
        from datetime import UTC

        from inboxready.core.policy.audit import changes_in_period, record_export

        now = datetime.now(UTC)
        audit = AuditReport.build(report, message=message, reports_summary=reports_summary, profile=profile,
                                  generated=now, dns_host=dns_host,
                                  changes=changes_in_period(report, reports_summary=reports_summary, generated=now))
        digest = write_report(audit, target)
        # the SHA-256 of the exact file, kept in the history with the time and the domain: what
        # "inboxready verify" compares (the hash printed inside covers the data only)
        return record_export(target, report.domain, digest)

    done, error = run_off_ui_thread(work)
    if error is not None:
        _status(parent, f"The report could not be saved to {target}: {error}")
        return None
    file_digest, problem = done
    kept = " (not kept in the history: note it)" if problem else ""
    _status(parent, f"Report saved to {target}. File SHA-256 {file_digest}{kept}.", 20000)
    return target


__all__ = ["HTML_FILTER", "PDF_FILTER", "ask_path", "default_file_name", "export_report", "run_off_ui_thread",
           "write_report"]
