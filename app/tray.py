"""Watching while the app runs: a schedule, the system-tray icon, and notifications for changes.

``WatchService`` owns a ``QTimer`` on the UI thread that only *starts* the watch-list run (the worker's
``watchlist_run`` job, ``core.monitor.watchlist.run_watchlist``) in the engine process; the checks, the
history reads and writes and the watch-list file updates all happen there. Each outcome (a progress event)
and the result come back through a ``WorkerOp`` owned by the service.

When the desktop has a system tray, a ``QSystemTrayIcon`` shows a menu (Open, Check watched domains now,
Quit) and the notifications (``showMessage``). Without one (offscreen, some Linux desktops), each
notification becomes an in-app notice: kept in ``notices`` and sent with ``noticeShown`` for the window to
show. "Minimize to tray" (keep running when the main window is closed) is stored in the watch-list file.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from inboxready.core.context import CheckOptions
from inboxready.core.dns.client import DEFAULT_TIMEOUT
from inboxready.core.store.history import History
from inboxready.core.monitor.reminders import DismissedStore, Reminder
from inboxready.core.monitor.watchlist import WatchList, WatchOutcome
from inboxready.core.worker.protocol import options_to_json
from inboxready.core.worker.values import WireError, from_wire

from . import theme
from .engine import Engine
from .queryop import WorkerOp

TICK_MS = 60_000  # how often the schedule looks for due domains
NOTIFY_MS = 15_000
MAX_NOTICES = 50
MAX_REMINDER_NOTICES = 3  # notifications per run; the rest are summed up in one


class _Tray(Protocol):
    def showMessage(self, title: str, msg: str, icon: Any = ..., msecs: int = ...) -> None: ...  # noqa: N802
    def supportsMessages(self) -> bool: ...  # noqa: N802


class WatchService(QObject):
    """Runs the watch list on a schedule while the app runs and tells the user about changes.

    ``WatchService(engine, history, nameservers=None, timeout=..., watchlist=None, tick_ms=60000,
    use_tray=None, parent=None)``; then ``start()``. ``use_tray=None`` uses the system tray when there is
    one; ``False`` never (notices only)."""

    runStarted = Signal(bool)  # all (True: every enabled domain, False: the due ones)
    outcomeReady = Signal(object)  # WatchOutcome, one per domain as each finishes
    runFinished = Signal(object)  # list[WatchOutcome]
    runFailed = Signal(str)  # plain words (a bug: the core never raises for DNS trouble)
    noticeShown = Signal(str, str)  # title, text: a notification shown in the app (no tray)
    notified = Signal(str, str)  # title, text: every notification, tray or not
    openRequested = Signal()  # the tray's Open (or a click on the icon)
    quitRequested = Signal()  # the tray's Quit
    remindersFound = Signal(object)  # list[Reminder] not shown before in this session, after a run

    def __init__(self, engine: Engine, history: History | None, *, nameservers: list[str] | None = None,
                 timeout: float = DEFAULT_TIMEOUT, deadline: float | None = 60.0,
                 watchlist: WatchList | None = None, tick_ms: int = TICK_MS, use_tray: bool | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.history = history
        self.nameservers = nameservers
        self.timeout = timeout
        self.deadline = deadline
        self.watchlist = watchlist if watchlist is not None else WatchList()
        self.notices: list[tuple[str, str]] = []
        self.dismissed = DismissedStore()  # reminders the user dismissed in the Watch list window
        self.reminded: set[str] = set()  # reminder keys already shown in this session
        self.last_outcomes: list[WatchOutcome] = []
        self._op: WorkerOp | None = None
        self._stopped = False
        self.paused = ""  # why scheduled and "check now" runs wait (e.g. during the demo); "" when they don't
        self.timer = QTimer(self)
        self.timer.setInterval(max(50, tick_ms))
        self.timer.timeout.connect(self.tick)
        self.tray: _Tray | QSystemTrayIcon | None = None
        self.menu: QMenu | None = None
        if use_tray is not False and QSystemTrayIcon.isSystemTrayAvailable():
            self._make_tray()

    # -- the tray ---------------------------------------------------------------------------------

    def _make_tray(self) -> None:
        tray = QSystemTrayIcon(theme.icon("app"), self)
        tray.setToolTip("InboxReady: watching your domains")
        # A QMenu needs a widget parent and the service is not a widget, so the menu has none: the service
        # frees it, after the icon (the icon's platform side points at the menu's), on the UI thread.
        menu = QMenu()
        menu.setAccessibleName("InboxReady tray menu")
        self.open_action = QAction("Open InboxReady", menu)
        self.check_action = QAction("Check watched domains now", menu)
        self.quit_action = QAction("Quit", menu)
        self.open_action.triggered.connect(self.openRequested)
        self.check_action.triggered.connect(self._check_all)
        self.quit_action.triggered.connect(self.quitRequested)
        menu.addAction(self.open_action)
        menu.addAction(self.check_action)
        menu.addSeparator()
        menu.addAction(self.quit_action)
        tray.setContextMenu(menu)
        tray.activated.connect(self._activated)
        tray.messageClicked.connect(self.openRequested)
        tray.show()
        self.menu = menu
        self.tray = tray

    def _check_all(self) -> None:
        if not self.check_now(all_domains=True) and self.paused:
            self.notify("Not checked now", self.paused)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.openRequested.emit()

    @property
    def has_tray(self) -> bool:
        return self.tray is not None

    @property
    def minimize_to_tray(self) -> bool:
        return self.watchlist.minimize_to_tray

    def set_minimize_to_tray(self, on: bool) -> None:
        self.watchlist.set_minimize_to_tray(on)

    def handle_close(self, window: QWidget, event: QCloseEvent) -> bool:
        """Call from the main window's ``closeEvent``: with "minimize to tray" on and a tray present, hide
        the window and keep watching (returns True: the event was ignored); else False (close as usual)."""
        if self.minimize_to_tray and self.has_tray and not self._stopped:
            event.ignore()
            window.hide()
            self.notify("InboxReady is still watching",
                        "Your domains are still checked on schedule. Use the tray icon to open InboxReady or quit.")
            return True
        return False

    # -- the schedule -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the schedule; the first look for due domains happens right away (on the next loop turn)."""
        self._stopped = False
        self.timer.start()
        QTimer.singleShot(0, self.tick)

    def stop(self) -> None:
        """Stop the schedule, cancel a run in flight and remove the tray icon and its menu (call before the
        engine's shutdown). Call it on the UI thread; the service cannot be restarted with a tray after it."""
        self._stopped = True
        self.timer.stop()
        if self._op is not None:
            self._op.abandon()  # cancelled; it no longer refers to this service
            self._op = None
        tray, menu = self.tray, self.menu
        if isinstance(tray, QSystemTrayIcon):
            tray.hide()
            tray.setContextMenu(None)  # type: ignore[arg-type]
            tray.deleteLater()  # the icon first, then its menu (deferred deletes run in order)
            self.tray = None
        if menu is not None:
            # deleteLater hands the menu to Qt, which deletes it after the icon, never at once (stop() may
            # run inside the menu's own Quit action)
            menu.deleteLater()
            self.menu = None

    def pause(self, reason: str) -> None:
        """Hold the schedule (and "check now") for ``reason``; ``pause("")`` resumes, with a look for due
        domains right away."""
        was, self.paused = self.paused, reason
        if was and not reason and not self._stopped:
            QTimer.singleShot(0, self.tick)

    @property
    def running(self) -> bool:
        return self._op is not None and not self._op.done

    def tick(self) -> None:
        """Submit a run of the due domains (does nothing while one is in flight)."""
        if not self._stopped and not self.paused:
            self._submit(all_domains=False)

    def check_now(self, all_domains: bool = True) -> bool:
        """Check the watched domains now (every enabled one by default). False when a run is in flight or
        the service is paused."""
        return self._submit(all_domains=all_domains)

    def _options(self) -> CheckOptions:
        return CheckOptions(nameservers=self.nameservers, timeout=self.timeout, deadline=self.deadline)

    def _submit(self, all_domains: bool) -> bool:
        if self.running or self.paused or self._stopped:
            return False
        history = self.history
        params = {"options": options_to_json(self._options()), "all": all_domains,
                  "watchlist": str(self.watchlist.path), "dismissed": str(self.dismissed.path),
                  "history": str(history.path) if history is not None else None}
        op = WorkerOp(self.engine, self, "watchlist_run", params, success=self._finished,
                      failure=self._failed, progress=self._progress, cancelled=self._cancelled)
        try:
            op.run()
        except RuntimeError:  # the engine is shutting down
            return False
        self._op = op
        self.runStarted.emit(all_domains)
        return True

    def _progress(self, data: Any) -> None:
        try:
            outcome = from_wire(data)
        except WireError:
            return
        if isinstance(outcome, WatchOutcome):
            self._outcome(outcome)

    def _outcome(self, outcome: WatchOutcome) -> None:
        self.outcomeReady.emit(outcome)
        if outcome.changed or outcome.error:
            self.notify(outcome.headline(), outcome.message())

    def _cancelled(self) -> None:
        self._op = None

    def _failed(self, why: str) -> None:
        self._op = None
        self.runFailed.emit(why)

    def _finished(self, data: Any) -> None:
        self._op = None
        try:
            outcomes, found = from_wire(data) or ([], [])
        except (WireError, TypeError, ValueError) as exc:
            self.runFailed.emit(f"the run's answer could not be read ({exc})")
            return
        self.watchlist.reload()  # the worker updated the entries' last run
        self.last_outcomes = list(outcomes)
        self.runFinished.emit(self.last_outcomes)
        self._remind(list(found))

    def _remind(self, found: list[Reminder]) -> None:
        """Tell the user about reminders (a DKIM key to rotate, DMARC to move on, a selector gone) once per
        session each; the Watch list window lists them all and can dismiss them."""
        fresh = [r for r in found if r.key not in self.reminded]
        self.reminded.update(r.key for r in fresh)
        if fresh:
            self.remindersFound.emit(fresh)
        for r in fresh[:MAX_REMINDER_NOTICES]:
            self.notify(f"Reminder for {r.domain}: {r.title}", r.text)
        if len(fresh) > MAX_REMINDER_NOTICES:
            self.notify("More reminders", f"{len(fresh) - MAX_REMINDER_NOTICES} more reminders are in the Watch list "
                                          "window (Reminders tab).")

    # -- notifications ------------------------------------------------------------------------------

    def notify(self, title: str, text: str) -> None:
        """A desktop notification through the tray, or an in-app notice when there is no tray."""
        self.notified.emit(title, text)
        tray = self.tray
        if tray is not None and tray.supportsMessages():
            tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, NOTIFY_MS)
            return
        self.notices.append((title, text))
        del self.notices[:-MAX_NOTICES]
        self.noticeShown.emit(title, text)


def connect_notice(service: WatchService, show: Callable[[str], None]) -> None:
    """Show in-app notices through ``show(text)`` (e.g. a status bar's ``showMessage``)."""
    service.noticeShown.connect(lambda title, text: show(f"{title}: {text.splitlines()[0] if text else ''}"))


__all__ = ["WatchService", "connect_notice"]
