""""Check until live" for any fix, also one the user published by hand at the DNS host (issue 16 §3).

``LiveCheckDialog`` asks every authoritative server of the record's zone directly (NS names → addresses, no
cache; or the servers given, as with ``--nameserver``) whether it serves the record, and keeps asking with
backoff (1, 2, 4 … 30 s) until every server does or the wait ends (``LIVE_WAIT``). It shows each server as it
goes (serves it / not yet, and what it serves now / couldn't be asked), and how long resolvers may still give
the old answer: the old record's TTL, or the zone's negative-caching time when the name had no such record
(``core.publish.propagation.watch_fix``). Stop ends the polling at once; Check again starts over.

The polling runs on a private asyncio loop in a worker thread that holds no Qt object: results come back as
queued signals of a relay that lives on the UI thread. A server that doesn't answer is "couldn't ask", never
"not live".
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSizePolicy, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from inboxready.core.model import Fix

log = logging.getLogger(__name__)

LIVE_WAIT = 20 * 60.0  # keep asking this long at most (a hand-published record may take the host a while)
SERVERS: list[str] | None = None  # tests: ask these servers as the authoritative ones


class _Relay(QObject):
    round = Signal(object)  # Propagation
    zone = Signal(object)  # ZoneInfo
    done = Signal(object, str)  # Propagation | None, how it ended: live | timeout | stopped | failed: why


class _Worker:
    """One polling run on its own loop and thread; ``stop()`` from the UI thread cancels it."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self._work = work
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[Any] | None = None
        self.thread = threading.Thread(target=self._run, name="inboxready-live", daemon=True)
        self._stop = threading.Event()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        try:
            self.task = loop.create_task(self._work())
            if self._stop.is_set():
                self.task.cancel()
            loop.run_until_complete(self.task)
        except BaseException:  # the work reports its own outcome; a cancel is a stop
            log.debug("the live check's loop ended", exc_info=True)
        finally:
            loop.close()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        loop, task = self.loop, self.task
        if loop is not None and task is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:
                pass

    def join(self, timeout: float) -> None:
        if self.thread.is_alive():
            self.thread.join(timeout)


class LiveCheckDialog(QDialog):
    """Watch one record go live on every authoritative server (see the module doc)."""

    def __init__(self, fix: Fix, parent: QWidget | None = None, *, zone: Any = None,
                 nameservers: list[str] | None = None, servers: list[str] | None = None,
                 wait: float = LIVE_WAIT, timeout: float = 3.0, start: bool = True) -> None:
        super().__init__(parent)
        self.fix = fix
        self.zone = zone
        self.nameservers = nameservers
        self.servers = servers if servers is not None else SERVERS
        self.wait = wait
        self.timeout = timeout
        self.state = "idle"  # idle | running | live | timeout | stopped | failed
        self.last: Any = None
        self._worker: _Worker | None = None
        self.setWindowTitle(f"Is it live? {fix.type} {fix.host}")
        self.setObjectName("LiveCheckDialog")
        self.resize(720, 420)
        self._relay = _Relay(self)
        self._relay.round.connect(self._on_round, Qt.ConnectionType.QueuedConnection)
        self._relay.zone.connect(self._on_zone, Qt.ConnectionType.QueuedConnection)
        self._relay.done.connect(self._on_done, Qt.ConnectionType.QueuedConnection)
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
        fix, zone, ns, servers, wait, timeout = (self.fix, self.zone, self.nameservers, self.servers, self.wait,
                                                 self.timeout)
        relay = weakref.ref(self._relay)  # the worker holds no strong reference to a Qt object

        def emit(name: str, *args: Any) -> None:
            r = relay()
            if r is not None:
                try:
                    getattr(r, name).emit(*args)
                except RuntimeError:  # the dialog is gone
                    pass

        async def work() -> None:
            from inboxready.core.dns.client import DnsClient
            from inboxready.core.publish.propagation import watch_fix, wait_until_live
            from inboxready.core.publish.zone import find_zone

            last: list[Any] = [None]
            try:
                z = zone
                if z is None or not z.servers:
                    client = DnsClient(ns, timeout=timeout, deadline=timeout * 6)
                    try:
                        z = await find_zone(client, fix.host, servers=servers)
                    finally:
                        client.close()
                emit("zone", z)
                if not z.servers:
                    emit("done", None, "failed: " + (z.problem or "no authoritative server to ask"))
                    return
                expect = await watch_fix(fix, z, timeout=timeout)

                def on_round(p: Any) -> None:
                    last[0] = p
                    emit("round", p)

                p = await wait_until_live(z, expect, wait=wait, on_round=on_round, timeout=timeout)
                emit("done", p, "live" if p.live else ("failed: " + p.problem if p.problem else "timeout"))
            except asyncio.CancelledError:
                emit("done", last[0], "stopped")
                raise
            except Exception as exc:  # say so, never leave the dialog spinning
                emit("done", last[0], f"failed: {type(exc).__name__}: {exc}")

        self._worker = _Worker(work)
        self._worker.start()

    def stop(self) -> None:
        if self._worker is not None and self.state == "running":
            self.status.setText("Stopping…")
            self._worker.stop()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt)
        if self._worker is not None:
            self._worker.stop()
            self._worker.join(2.0)
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
