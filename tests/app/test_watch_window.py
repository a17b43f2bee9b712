"""The watch service (schedule, tray, notifications) and the Watch list window (pytest-qt, offscreen)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLineEdit, QListWidget, QPlainTextEdit, QTableWidget, QWidget

from inboxready.core.checks.runner import run_check
from inboxready.core.context import CheckOptions
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.store.history import History
from inboxready.core.monitor.reminders import DismissedStore
from inboxready.core.monitor.watchlist import WatchList
from tests.conftest import run
from tests.helpers.watchlist import DMARC, SPF, ZONE

INTERACTIVE = (QAbstractButton, QLineEdit, QComboBox, QPlainTextEdit, QListWidget, QTableWidget)


@pytest.fixture
def engine(qtbot):  # type: ignore[no-untyped-def]
    from inboxready.app.engine import Engine

    e = Engine()
    yield e
    e.shutdown()


@pytest.fixture
def service(engine) -> Iterator[Callable[..., Any]]:  # type: ignore[no-untyped-def]
    """``service(history, server, **kw)`` → a WatchService on the test's engine; each one is stopped (its
    run in flight cancelled, its tray icon and menu removed) before the engine shuts down."""
    from inboxready.app.tray import WatchService

    made: list[WatchService] = []

    def factory(history: History, server: DnsTestServer, **kw: Any) -> WatchService:
        svc = WatchService(engine, history, nameservers=[server.address], timeout=0.5, deadline=10.0, **kw)
        made.append(svc)
        return svc

    yield factory
    for svc in made:
        svc.stop()


class FakeTray:
    """Stands in for QSystemTrayIcon where the platform has no tray (offscreen)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def supportsMessages(self) -> bool:  # noqa: N802 - Qt's name
        return True

    def showMessage(self, title: str, text: str, icon: Any = None, msecs: int = 0) -> None:  # noqa: N802
        self.messages.append((title, text))


def test_a_change_reaches_the_in_app_notice_without_a_tray(home: Path, service, dns_server: DnsTestServer,
                                                            qtbot) -> None:  # type: ignore[no-untyped-def]
    dns_server.replace_zone("example.com", ZONE + SPF + DMARC)
    wl = WatchList()
    wl.add("example.com", 3600)
    history = History()
    svc = service(history, dns_server, watchlist=wl)
    assert not svc.has_tray  # offscreen: no system tray
    with qtbot.waitSignal(svc.runFinished, timeout=20000) as first:
        assert svc.check_now()
    assert [o.domain for o in first.args[0]] == ["example.com"] and svc.notices == []
    dns_server.replace_zone("example.com", ZONE + SPF)  # the DMARC record is gone
    with qtbot.waitSignal(svc.noticeShown, timeout=20000) as shown:
        svc.check_now()
    title, text = shown.args
    assert title == "example.com: something got worse"
    assert "DMARC for example.com got worse: it was pass, now it is fail." in text
    assert svc.notices == [(title, text)]
    assert len(history.runs("example.com")) == 2


def test_a_change_reaches_the_tray(home: Path, service, dns_server: DnsTestServer, qtbot) -> None:  # type: ignore[no-untyped-def]
    dns_server.replace_zone("example.com", ZONE + SPF + DMARC)
    wl = WatchList()
    wl.add("example.com", 3600)
    svc = service(History(), dns_server, watchlist=wl)
    tray = FakeTray()
    svc.tray = tray
    with qtbot.waitSignal(svc.runFinished, timeout=20000):
        svc.check_now()
    dns_server.replace_zone("example.com", ZONE + '@ IN TXT "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.7 -all"\n' + DMARC)
    with qtbot.waitSignal(svc.notified, timeout=20000):
        svc.check_now()
    assert tray.messages and tray.messages[0][0] == "example.com: something changed"
    assert "SPF record of example.com was edited" in tray.messages[0][1]
    assert svc.notices == []  # shown by the tray, not in the app


def test_the_schedule_runs_due_domains_by_itself(home: Path, service, dns_server: DnsTestServer,
                                                 qtbot) -> None:  # type: ignore[no-untyped-def]
    dns_server.replace_zone("example.com", ZONE + SPF + DMARC)
    wl = WatchList()
    wl.add("example.com", 3600)
    svc = service(History(), dns_server, watchlist=wl, tick_ms=100)
    with qtbot.waitSignal(svc.runFinished, timeout=20000) as done:
        svc.start()
    assert [o.domain for o in done.args[0]] == ["example.com"]
    # checked a moment ago: the following ticks find nothing due
    with qtbot.waitSignal(svc.runFinished, timeout=5000) as later:
        pass
    assert later.args[0] == []
    svc.stop()
    assert not svc.timer.isActive()
    assert WatchList().get("example.com").last_run  # type: ignore[union-attr]


def test_minimize_to_tray_hides_the_window_instead_of_closing(home: Path, service, dns_server: DnsTestServer,
                                                              qtbot) -> None:  # type: ignore[no-untyped-def]
    svc = service(History(), dns_server)
    w = QWidget()
    qtbot.addWidget(w)
    w.show()
    event = QCloseEvent()
    assert not svc.handle_close(w, event)  # off by default
    svc.set_minimize_to_tray(True)
    assert WatchList().minimize_to_tray is True  # saved
    assert not svc.handle_close(w, QCloseEvent())  # no tray here: closing really closes
    svc.tray = FakeTray()
    event = QCloseEvent()
    assert svc.handle_close(w, event) and not event.isAccepted() and not w.isVisible()
    assert svc.tray.messages[0][0] == "InboxReady is still watching"  # type: ignore[union-attr]


def test_watch_window_list_history_diff_and_reminders(home: Path, engine, service, dns_server: DnsTestServer, qtbot,
                                                      theme_app) -> None:  # type: ignore[no-untyped-def]
    from inboxready.app.watch_window import WatchWindow

    history = History()
    # a made-up past: example.org has been at p=none for 40 days → a reminder
    dns_server.replace_zone("example.org", ZONE + '_dmarc IN TXT "v=DMARC1; p=none; rua=mailto:d@example.org"\n'
                            + SPF)
    report = run(run_check("example.org", CheckOptions(nameservers=[dns_server.address], timeout=0.5)))
    report.started = (datetime.now(timezone.utc) - timedelta(days=40)).isoformat()
    history.add(report)

    dns_server.replace_zone("example.com", ZONE + SPF + DMARC)
    svc = service(history, dns_server)
    w = WatchWindow(engine, history, nameservers=[dns_server.address], timeout=0.5, service=svc)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.reminder_items != [], timeout=10000)
    assert [r.kind for r in w.reminder_items] == ["dmarc-next-step"]
    assert "p=none" in w.reminder_view.toPlainText() and "p=quarantine" in w.reminder_view.toPlainText()
    assert w.tabs.tabText(2) == "Reminders (1)"

    # add a domain through the form
    w.domain_edit.setText("not a domain")
    qtbot.mouseClick(w.add_button, Qt.MouseButton.LeftButton)
    assert w.add_error.isVisibleTo(w) and w.table.rowCount() == 0
    w.domain_edit.setText("Example.com")
    w.selector_edit.setText("s1, s2")
    w.interval_box.setCurrentIndex(2)  # every 6 hours
    qtbot.mouseClick(w.add_button, Qt.MouseButton.LeftButton)
    assert w.table.rowCount() == 1 and w.table.item(0, 0).text() == "example.com"
    assert w.table.item(0, 1).text() == "Every 6 hours"
    entry = WatchList().get("example.com")
    assert entry is not None and entry.interval == 21600 and entry.selectors == ["s1", "s2"]
    w.enabled_box.setChecked(False)
    assert WatchList().get("example.com").enabled is False  # type: ignore[union-attr]
    w.enabled_box.setChecked(True)

    # two checks with a change in between
    with qtbot.waitSignal(svc.runFinished, timeout=20000):
        qtbot.mouseClick(w.check_button, Qt.MouseButton.LeftButton)
    dns_server.replace_zone("example.com", ZONE + SPF)
    with qtbot.waitSignal(svc.runFinished, timeout=20000):
        qtbot.mouseClick(w.check_button, Qt.MouseButton.LeftButton)
    assert "something got worse" in w.notice.text() and w.notice.isVisibleTo(w)
    assert "1 domain: 1 with changes" in w.run_state.text()
    assert w.table.item(0, 4).text() == "Fail"

    w.tabs.setCurrentIndex(1)
    idx = w.history_domain.findText("example.com")
    assert idx >= 0
    if w.history_domain.currentIndex() != idx:
        w.history_domain.setCurrentIndex(idx)
    qtbot.waitUntil(lambda: w.history_domain.currentText() == "example.com" and w.run_list.count() == 2,
                    timeout=10000)
    assert "Fail" in w.run_list.item(0).text() and "worse" in w.run_list.item(0).text()
    text = w.diff_view.toPlainText()
    assert "Compared with the check before it" in text
    assert "A DMARC record of example.com was removed: v=DMARC1; p=reject" in text
    assert "DMARC for example.com got worse" in text and "SPF: no change (Pass)." in text
    w.run_list.setCurrentRow(1)
    assert "first stored check" in w.diff_view.toPlainText()

    # dismiss the reminder: gone now and after a reload
    w.tabs.setCurrentIndex(2)
    key = w.reminder_items[0].key
    with qtbot.waitSignal(w.remindersShown, timeout=10000):
        qtbot.mouseClick(w.dismiss_button, Qt.MouseButton.LeftButton)
    assert w.reminder_items == [] and key in DismissedStore().keys()  # noqa: SIM118 - a set, not a dict
    assert not w.dismiss_button.isEnabled()

    # remove the domain
    w.tabs.setCurrentIndex(0)
    w.table.selectRow(0)
    qtbot.mouseClick(w.remove_button, Qt.MouseButton.LeftButton)
    assert w.table.rowCount() == 0 and WatchList().entries == []


def test_every_control_has_an_accessible_name(home: Path, engine, dns_server: DnsTestServer, qtbot,
                                              theme_app) -> None:  # type: ignore[no-untyped-def]
    from inboxready.app.watch_window import WatchWindow

    w = WatchWindow(engine, History(), nameservers=[dns_server.address], timeout=0.5)
    qtbot.addWidget(w)
    w.show()
    controls = [c for c in w.findChildren(QWidget) if isinstance(c, INTERACTIVE) and c.parent() is not None
                and type(c).__name__ not in ("QTabBar",) and c.objectName() != "qt_scrollarea_viewport"]
    unnamed = [f"{type(c).__name__} {c.text() if hasattr(c, 'text') else ''}" for c in controls
               if not c.accessibleName() and c.isVisibleTo(w) and not type(c).__name__.startswith("QHeader")
               and type(c).__name__ not in ("QTableCornerButton", "QToolButton")]
    assert len(controls) >= 12 and unnamed == []


def test_tray_menu_actions(home: Path, service, dns_server: DnsTestServer, qtbot) -> None:  # type: ignore[no-untyped-def]
    """The tray icon and its menu, made even where the platform shows no tray (offscreen)."""
    dns_server.replace_zone("example.com", ZONE + SPF + DMARC)
    wl = WatchList()
    wl.add("example.com", 3600)
    svc = service(History(), dns_server, watchlist=wl)
    svc._make_tray()
    assert svc.has_tray and svc.menu is not None
    assert [a.text() for a in svc.menu.actions() if not a.isSeparator()] == [
        "Open InboxReady", "Check watched domains now", "Quit"]
    with qtbot.waitSignal(svc.openRequested, timeout=1000):
        svc.open_action.trigger()
    with qtbot.waitSignal(svc.quitRequested, timeout=1000):
        svc.quit_action.trigger()
    with qtbot.waitSignal(svc.runFinished, timeout=20000) as done:
        svc.check_action.trigger()
    assert [o.domain for o in done.args[0]] == ["example.com"]
    # whatever the platform says about balloon messages, a notification is never lost
    svc.notify("Title", "Text")
    shown_by_tray = svc.tray.supportsMessages()  # type: ignore[union-attr]
    assert svc.notices == ([] if shown_by_tray else [("Title", "Text")])
    svc.stop()


def test_a_window_closed_while_it_loads_is_freed_on_the_ui_thread(home: Path, engine, dns_server: DnsTestServer,
                                                                  qtbot, theme_app) -> None:  # type: ignore[no-untyped-def]
    """A new window loads its history and reminders at the next turns of the event loop (``QueryOp``). Closed
    before they run, it is freed here (the GUI process has no other thread), by the next turn at the latest,
    and the loads meant for it are dropped without an error."""
    from inboxready.app.watch_window import WatchWindow

    freed: list[str] = []
    for i in range(8):
        w = WatchWindow(engine, History(), nameservers=[dns_server.address], timeout=0.5)
        w.show()
        w.destroyed.connect(lambda *_: freed.append(threading.current_thread().name),
                            Qt.ConnectionType.DirectConnection)
        del w  # its loads have not run yet
        qtbot.waitUntil(lambda: len(freed) == i + 1, timeout=5000)  # freed by this thread
        qtbot.wait(30)  # nothing is left to run for a window that is gone
    assert set(freed) == {threading.main_thread().name}


def test_a_stopped_service_is_freed_at_once_on_the_ui_thread(home: Path, engine, dns_server: DnsTestServer,
                                                             qtbot) -> None:  # type: ignore[no-untyped-def]
    """Nothing on the engine's thread (a run's callbacks) holds the service, and it is in no reference cycle:
    its last reference frees it, with its timer, tray icon and menu, here, not later in the garbage collector
    (which runs on whichever thread allocates: the engine's, the DNS server's)."""
    from inboxready.app.tray import WatchService

    dns_server.replace_zone("example.com", ZONE + SPF + DMARC)
    wl = WatchList()
    wl.add("example.com", 3600)
    svc = WatchService(engine, History(), nameservers=[dns_server.address], timeout=0.5, deadline=10.0, watchlist=wl)
    svc._make_tray()
    freed: list[str] = []
    svc.destroyed.connect(lambda *_: freed.append(threading.current_thread().name), Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(svc.runFinished, timeout=20000):
        svc.check_action.trigger()
    with qtbot.waitSignal(svc.runFinished, timeout=20000):
        svc.check_now()
    svc.stop()
    assert svc.tray is None and svc.menu is None  # removed (deleted on this thread's next loop turn)
    del svc
    assert freed == [threading.main_thread().name]


def test_a_reminder_is_notified_once_per_session(home: Path, service, dns_server: DnsTestServer,
                                                 qtbot) -> None:  # type: ignore[no-untyped-def]
    """A DKIM key first seen over six months ago: the run after which the history shows it raises one
    notification; the next run does not repeat it; a dismissed reminder is never notified."""
    from datetime import datetime, timedelta, timezone

    from inboxready.core.monitor.reminders import DismissedStore
    from tests.helpers.reminders import KEY_A, REJECT, key
    from tests.helpers.reminders import ZONE as RZONE
    from tests.helpers.reminders import store as store_run

    history = History()
    store_run(dns_server, history, RZONE + REJECT + key(KEY_A), datetime.now(timezone.utc) - timedelta(days=200))
    wl = WatchList()
    wl.add("example.com", 3600, ["google"])
    svc = service(history, dns_server, watchlist=wl)
    with qtbot.waitSignal(svc.remindersFound, timeout=20000) as found:
        svc.check_now()
    [r] = found.args[0]
    assert r.kind == "dkim-rotate" and r.domain == "example.com"
    assert svc.notices == [(f"Reminder for example.com: {r.title}", r.text)]
    with qtbot.waitSignal(svc.runFinished, timeout=20000):
        svc.check_now()
    assert len(svc.notices) == 1  # not repeated in the same session
    DismissedStore().dismiss(r.key)
    fresh = service(history, dns_server, watchlist=wl)  # a new session
    with qtbot.waitSignal(fresh.runFinished, timeout=20000):
        fresh.check_now()
    assert fresh.notices == []


def test_history_lines_say_what_failed_first_checks_say_so_and_no_empty_reminder_box(
        home: Path, engine, service, dns_server: DnsTestServer, qtbot, theme_app) -> None:  # type: ignore[no-untyped-def]
    from inboxready.app.watch_window import WatchWindow

    history = History()
    wl = WatchList()
    wl.add("example.com", 3600)
    dns_server.replace_zone("example.com", ZONE + SPF + DMARC)
    svc = service(history, dns_server, watchlist=wl)
    w = WatchWindow(engine, history, nameservers=[dns_server.address], timeout=0.5, service=svc, watchlist=wl)
    qtbot.addWidget(w)
    w.show()
    w.tabs.setCurrentIndex(2)
    assert not w.reminder_list.isVisible()  # not even while the reminders are being read
    qtbot.waitUntil(lambda: w.no_reminders.text().startswith("No reminders"), timeout=10000)
    assert not w.reminder_list.isVisible() and not w.reminder_view.isVisible()  # no empty boxes
    assert not w.dismiss_button.isVisible() and w.no_reminders.text() == "No reminders: nothing to do for now."

    with qtbot.waitSignal(svc.runFinished, timeout=20000):
        w.check_now()
    assert w.run_state.text() == "Checked 1 domain: 1 checked for the first time."  # not "no change"
    dns_server.replace_zone("example.com", ZONE + SPF)  # the DMARC record is gone
    with qtbot.waitSignal(svc.runFinished, timeout=20000):
        w.check_now()
    w.tabs.setCurrentIndex(1)
    w.load_history("example.com")
    qtbot.waitUntil(lambda: w.run_list.count() == 2, timeout=10000)
    newest, first = w.run_list.item(0).text(), w.run_list.item(1).text()
    assert "Fail (DMARC failed" in newest and "worse" in newest  # what failed, not only "Fail"
    assert first.endswith("— first check")
    w.run_list.setCurrentRow(0)
    assert "Fail (DMARC failed" in w.diff_view.toPlainText().splitlines()[0]


# -- the history texts read the stored runs as typed reports (StoredCheck.domain_report) -----------------------

def _stored(run_id: int, started: str, checks: dict[str, tuple[str, list[dict[str, Any]]]], *,
            sparse: bool = False) -> Any:
    """A stored run as the history hands it back. ``sparse``: as an older version wrote it (no queries,
    name servers, DNS trouble or times; each check only its name, status, summary and findings)."""
    from inboxready.core.model import CheckResult, DomainReport, Finding, Status
    from inboxready.core.store.history import StoredCheck

    report = DomainReport("shop.test", {name: CheckResult(name, Status(status), f"{name} summary",
                                                          records=[f"v={name}"],
                                                          findings=[Finding.from_json(f) for f in findings],
                                                          detail={"result": status}, elapsed_ms=12.0)
                                        for name, (status, findings) in checks.items()},
                          queries=[{"name": "shop.test", "type": "TXT"}], started=started, elapsed_ms=80.0,
                          nameservers=["127.0.0.1"])
    data = report.to_json()
    if sparse:
        data = {"domain": data["domain"], "status": data["status"], "started": data["started"],
                "checks": {n: {k: c[k] for k in ("name", "status", "summary", "findings")}
                           for n, c in data["checks"].items()}}
    return StoredCheck(run_id, "shop.test", started, str(report.status), data)


_FIX = {"host": "_dmarc.shop.test", "type": "TXT", "value": "v=DMARC1; p=none", "action": "replace",
        "also_publish": [{"host": "shop.test", "type": "TXT", "value": "v=spf1 -all"}]}


@pytest.mark.parametrize("sparse", [False, True], ids=["full", "stored-by-an-older-version"])
def test_history_texts_read_the_typed_runs_full_or_with_optional_parts_missing(sparse: bool) -> None:
    from inboxready.app.watch_window import diff_text, run_line, what_failed
    from inboxready.core.monitor.watchlist import Change, changes_between

    dmarc_missing = {"code": "dmarc.missing", "severity": "error", "message": "No DMARC record.", "fix": _FIX}
    previous = _stored(1, "2026-11-01T10:00:00+00:00", {
        "spf": ("pass", []), "dmarc": ("pass", []), "mx": ("error", []), "starttls": ("error", [])}, sparse=sparse)
    run = _stored(2, "2026-11-02T10:00:00+00:00", {
        "spf": ("pass", []), "dmarc": ("fail", [dmarc_missing]), "mx": ("pass", []), "dkim": ("warn", []),
        "starttls": ("error", []), "bimi": ("fail", [])}, sparse=sparse)
    assert what_failed(run) == "DMARC, BIMI (logo) failed; warning: DKIM"  # STARTTLS can't run from here: left out
    assert what_failed(previous) == "couldn't check MX"
    changes, _ = changes_between(previous, run.domain_report)
    dmarc = [c for c in changes if c.check == "dmarc"]
    assert dmarc and all(c.fix is None for c in dmarc)
    changes.append(Change("shop.test", "dmarc", "record-edited", "The DMARC record changed.", fix=_FIX))
    changes.append(Change("shop.test", "dmarc", "record-edited", "A fix we can't read.", fix={"host": 1}))
    lines = diff_text(run, previous, changes).splitlines()
    assert lines[0].startswith("Check of ") and lines[0].endswith(": Fail (DMARC, BIMI (logo) failed; warning: DKIM).")
    assert lines[1].startswith("Compared with the check before it (") and lines[1].endswith(", Couldn't check):")
    body = lines[3:]
    assert body[0] == "SPF: no change (Pass)."
    assert body[1] == "DMARC:"
    assert [x for x in body if x.startswith("    ")] == [
        "    Replace with: TXT record at _dmarc.shop.test: v=DMARC1; p=none",
        "    And publish: TXT record at shop.test: v=spf1 -all"]
    assert "  • A fix we can't read." in body and body[-1] != "    "
    assert "MX: Couldn't check before, pass this time (so we can't say what changed)." in body
    assert "DKIM: checked for the first time (Warning)." in body
    assert "STARTTLS: no change (Couldn't check)." in body
    assert "BIMI (logo): checked for the first time (Fail)." in body
    line = run_line(run, previous, changes)
    assert line.endswith(" Fail (DMARC, BIMI (logo) failed; warning: DKIM) — " + f"{len(changes)} changes, worse")
    assert run_line(previous, None, []).endswith(" Couldn't check (couldn't check MX) — first check")
