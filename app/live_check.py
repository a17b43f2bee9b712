""""Check until live" for any fix, also one the user published by hand at the DNS host (issue 16 §3).

``LiveCheckDialog`` asks every authoritative server of the record's zone directly (NS names → addresses, no
cache; or the servers given, as with ``--nameserver``) whether it serves the record, and keeps asking with
backoff (1, 2, 4 … 30 s) until every server does or the wait ends (``LIVE_WAIT``). It shows each server as it
goes (serves it / not yet, and what it serves now / couldn't be asked), and how long resolvers may still give
the old answer: the old record's TTL, or the zone's negative-caching time when the name had no such record
(``core.publish.propagation.watch_fix``). Stop ends the polling at once; Check again starts over.

The polling runs in the engine process (the worker's ``live_watch`` job); the zone and each round come back
as its progress, the end as its result. A server that doesn't answer is "couldn't ask", never "not live".
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSizePolicy, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from inboxready.core.model import Fix
from inboxready.core.worker.values import WireError, from_wire, to_wire

from .engine import Engine, shared
from .queryop import WorkerOp

LIVE_WAIT = 20 * 60.0  # keep asking this long at most (a hand-published record may take the host a while)
SERVERS: list[str] | None = None  # tests: ask these servers as the authoritative ones


class LiveCheckDialog(QDialog):
    """Watch one record go live on every authoritative server (see the module doc)."""

    def __init__(self, fix: Fix, parent: QWidget | None = None, *, zone: Any = None,
                 nameservers: list[str] | None = None, servers: list[str] | None = None,
                 wait: float = LIVE_WAIT, timeout: float = 3.0, start: bool = True,
                 engine: Engine | None = None) -> None:
        super().__init__(parent)
        self.engine = engine if engine is not None else shared(self)
        self.fix = fix
        self.zone = zone
        self.nameservers = nameservers
        self.servers = servers if servers is not None else SERVERS
        self.wait = wait
        self.timeout = timeout
        self.state = "idle"  # idle | running | live | timeout | stopped | failed
        self.last: Any = None
        self._op: WorkerOp | None = None
        self.setWindowTitle(f"Is it live? {fix.type} {fix.host}")
        self.setObjectName("LiveCheckDialog")
        self.resize(720, 420)
        lay = QVBoxLayout(self)
        what = {"remove": "no longer serves", "replace": "serves the new"}.get(fix.action, "serves")
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        self.intro.setTextFormat(Qt.TextFormat.PlainText)
        self.intro.setText(f"Asking every authoritative server of this domain directly (no cache) whether it {what} "
                           f"record {fix.type} {fix.host}: {_short(fix.value)}")
        lay.addWidget(self.intro)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(["Server", "Live?", "What it serves now"])
        self.table.setAccessibleName("Each authoritative server")
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.table, 1)
        self.stale = QLabel("", self)
        self.stale.setWordWrap(True)
        self.stale.setTextFormat(Qt.TextFormat.PlainText)
        self.stale.setAccessibleName("How long resolvers may keep the old answer")
        lay.addWidget(self.stale)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setAccessibleName("Status")
        lay.addWidget(self.status)
        for lab in (self.intro, self.stale, self.status):  # wrapped text keeps its lines when the table grows
            lab.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.MinimumExpanding)
        row = QHBoxLayout()
        row.addStretch(1)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setAccessibleName("Stop checking")
        self.stop_button.clicked.connect(self.stop)
        self.again_button = QPushButton("Check again", self)
        self.again_button.clicked.connect(self.start)
        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.close)
        for b in (self.stop_button, self.again_button, self.close_button):
            row.addWidget(b)
        lay.addLayout(row)
        if start:
            self.start()

    # -- running --------------------------------------------------------------------------------

    def start(self) -> None:
        if self.state == "running":
            return
        self.state = "running"
        self.started_at = time.monotonic()
        self.stop_button.setEnabled(True)
        self.again_button.setEnabled(False)
        self.status.setText("Finding the zone and its authoritative servers…" if self.zone is None else
                            "Asking the authoritative servers…")
        self._op = WorkerOp(self.engine, self, "live_watch",
                            {"fix": to_wire(self.fix), "zone": to_wire(self.zone), "nameservers": self.nameservers,
                             "servers": self.servers, "wait": self.wait, "timeout": self.timeout},
                            success=self._finished, progress=self._progress,
                            failure=lambda why: self._on_done(self.last, f"failed: {why}"),
                            cancelled=lambda: self._on_done(self.last, "stopped"))
        self._op.run()

    def _progress(self, data: Any) -> None:
        try:
            if isinstance(data, dict) and "zone" in data:
                self._on_zone(from_wire(data["zone"]))
            elif isinstance(data, dict) and "round" in data:
                self._on_round(from_wire(data["round"]))
        except WireError:
            pass

    def _finished(self, data: Any) -> None:
        try:
            last = from_wire(data.get("last")) if isinstance(data, dict) else None
        except WireError as exc:
            self._on_done(self.last, f"failed: its answer could not be read ({exc})")
            return
        self._on_done(last, str(data.get("how") or "failed: no answer") if isinstance(data, dict) else "failed")

    def stop(self) -> None:
        if self._op is not None and self.state == "running":
            self.status.setText("Stopping…")
            self._op.cancel()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt)
        if self._op is not None and self.state == "running":
            self._op.abandon()
            self.state = "stopped"
        super().closeEvent(event)

    # -- results (UI thread) ----------------------------------------------------------------------

    def _on_zone(self, zone: Any) -> None:
        self.zone = zone
        if zone.zone:
            self.intro.setText(self.intro.text().replace("this domain", zone.zone, 1))

    def _on_round(self, p: Any) -> None:
        if self.state != "running":
            return
        self.last = p
        self._show(p)
        left = max(0, int(self.wait - (time.monotonic() - self.started_at)))
        self.status.setText(f"{p.summary()} Asked {p.rounds} time{'s' if p.rounds != 1 else ''}; still asking, "
                            f"less often as time goes on (gives up in {_minutes(left)}).")

    def _show(self, p: Any) -> None:
        rows = p.to_json()
        self.table.setRowCount(len(rows))
        for i, s in enumerate(rows):
            live = s["live"]
            mark = "✓ yes" if live else ("? couldn't ask" if live is None else "… not yet")
            recs = s["records"]
            errors = [r["error"] for r in recs if r.get("error")]
            seen = sorted({v for r in recs for v in r.get("seen", [])})
            now = errors[0] if live is None and errors else ("; ".join(_short(v, 90) for v in seen) or "(no record)")
            for col, text in enumerate((f"{s['name']} ({s['server']})" if s["name"] != s["server"] else s["server"],
                                        mark, now)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(i, col, item)
        self.stale.setText(p.stale_text() if p.stale_for else "")

    def _on_done(self, p: Any, how: str) -> None:
        if p is not None:
            self.last = p
            self._show(p)
        self.state = how.split(":", 1)[0]
        self.stop_button.setEnabled(False)
        self.again_button.setEnabled(True)
        if how == "live":
            self.status.setText(p.summary())
        elif how == "timeout":
            self.status.setText(f"{p.summary()} Stopped asking after {_minutes(int(self.wait))}: check the record at "
                                "your DNS host, then Check again.")
        elif how == "stopped":
            self.status.setText("Stopped. " + (p.summary() if p is not None else "") + " Check again to start over.")
        else:
            self.status.setText(f"Couldn't check whether it is live: {how.split(':', 1)[1].strip()}")


def _short(text: str, n: int = 120) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _minutes(seconds: int) -> str:
    return f"{seconds} seconds" if seconds < 120 else f"{round(seconds / 60)} minutes"


__all__ = ["LIVE_WAIT", "LiveCheckDialog"]
