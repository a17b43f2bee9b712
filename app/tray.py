"""Watching while the app runs: a schedule, the system-tray icon, and notifications for changes.

``WatchService`` owns a ``QTimer`` on the UI thread that only *submits* the watch-list run
(``core.watchlist.run_watchlist``) to the engine's asyncio loop; the checks, the history reads and writes
and the watch-list file updates all happen there (or in its executor). Each outcome and the result come
back through ``engine.ui_call`` / ``engine.when_done``, which hold the service weakly: nothing on the
engine's thread keeps it alive, so it is never freed there (with its timer, tray icon and menu).

When the desktop has a system tray, a ``QSystemTrayIcon`` shows a menu (Open, Check watched domains now,
Quit) and the notifications (``showMessage``). Without one (offscreen, some Linux desktops), each
notification becomes an in-app notice: kept in ``notices`` and sent with ``noticeShown`` for the window to
show. "Minimize to tray" (keep running when the main window is closed) is stored in the watch-list file.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any, Callable, Protocol

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from inboxready.core.context import CheckOptions
from inboxready.core.dns.client import DEFAULT_TIMEOUT
from inboxready.core.store.history import History
from inboxready.core.monitor.reminders import DismissedStore, Reminder, reminders
from inboxready.core.monitor.watchlist import WatchList, WatchOutcome, run_watchlist

from . import theme
from .engine import Engine

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
        self._future: concurrent.futures.Future[Any] | None = None
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
        if self._future is not None and not self._future.done():
            self._future.cancel()
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
        return self._future is not None and not self._future.done()

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
        if self.running or self.paused:
            return False

        # called on the engine's thread; runs ``_outcome`` on the UI thread, holding the service weakly
        on_outcome = self.engine.ui_call(self._outcome)
        options, history, watchlist, dismissed = self._options(), self.history, self.watchlist, self.dismissed

        async def job() -> tuple[list[WatchOutcome], list[Reminder]]:
            # plain values only: this coroutine runs on the engine's thread and must not hold the service
            outcomes = await run_watchlist(options, history, only_due=not all_domains, watchlist=watchlist,
                                           on_outcome=on_outcome)
            domains = [o.domain for o in outcomes if not o.error]
            found: list[Reminder] = []
            if history is not None and domains:
                found = await asyncio.to_thread(reminders, history, domains, dismissed=dismissed)
            return outcomes, found

        try:
            fut = self.engine.submit(job())
        except RuntimeError:  # the engine is shutting down
            return False
        self._future = fut
        self.runStarted.emit(all_domains)
        self.engine.when_done(fut, self._finished)
        return True

    def _outcome(self, outcome: WatchOutcome) -> None:
        self.outcomeReady.emit(outcome)
        if outcome.changed or outcome.error:
            self.notify(outcome.headline(), outcome.message())

    def _finished(self, fut: concurrent.futures.Future[Any]) -> None:
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is not None:
            self.runFailed.emit(f"{type(exc).__name__}: {exc}")
            return
        outcomes, found = fut.result() or ([], [])
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
