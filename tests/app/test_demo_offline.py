"""The demo is offline ("no internet needed"), and the DNS server setting is honoured everywhere.

Every window and background job asks the resolver the main window asks: the demo's loopback server during
the demo, else the one set in Settings; a change is followed at once, without a restart. The suite-wide
guard of tests/conftest.py refuses (and records in ``BLOCKED``) every packet to a non-loopback address, and
the windows' engine process runs under the same guard (``guarded_worker``: what it refused is listed in a
file), so "nothing left the machine" is checked on the real sockets of both processes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inboxready.core.monitor.watchlist import WatchList
from tests.conftest import BLOCKED, CONFORMANCE

from .conftest import add_good_zone

WAIT_MS = 30000
PASTED = ("Authentication-Results: mx.google.com; spf=pass smtp.mailfrom=news@demo-allgood.example; "
          "dkim=pass header.d=demo-allgood.example header.s=default; dmarc=pass header.from=demo-allgood.example\n"
          "From: Shop <news@demo-allgood.example>\nTo: you@example.net\nSubject: Hello\n"
          "DKIM-Signature: v=1; a=rsa-sha256; d=demo-allgood.example; s=default; h=from; bh=x; b=y\n")


def _demo_queries(qtbot: Any, window: Any) -> int:
    """How many queries the demo's server (in the worker) has answered so far."""
    got: list[Any] = []
    job = window.engine.run("demo_stats")
    window.engine.taskFinished.connect(lambda j, data: got.append(data) if j == job else None)
    qtbot.waitUntil(lambda: got != [], timeout=WAIT_MS)
    return int(got[0]["queries"])


def _settle(qtbot: Any, window: Any) -> None:
    qtbot.waitUntil(lambda: not window.checking, timeout=WAIT_MS)


def test_the_demo_with_every_window_open_sends_nothing_off_the_machine(make_window, qtbot, guarded_worker: Path) -> None:  # type: ignore[no-untyped-def]
    from inboxready.app import publish_dialog  # loaded at start-up, as inboxready-gui does (its publish hook)

    WatchList().add("watched-for-real.example.com")  # the schedule would check it over the real DNS
    blocked_before = len(BLOCKED)
    w = make_window(demo=True, timeout=None, deadline=None)
    qtbot.waitUntil(lambda: w.demo_server is not None and w.current_domain != "", timeout=WAIT_MS)
    _settle(qtbot, w)
    demo_ns = [w.demo_server.address]
    assert publish_dialog.NAMESERVERS == demo_ns  # "Publish at <host>…" looks the zone up there too

    # the watch list's schedule: started while the demo runs, paused, and "check now" says why
    w.start_watch_service()
    watch = w.open_watch_window()
    assert w.watch_service.paused and not w.watch_service.check_now()
    watch.check_now()
    assert "paused during the demo" in watch.run_state.text()

    # record builders: the live SPF count and the DMARC ladder ask the demo's server
    builders = w.open_builders()
    assert builders.nameservers == demo_ns
    builders.domain_field.setText("demo-allgood.example")
    before = _demo_queries(qtbot, w)
    with qtbot.waitSignal(builders.spfUpdated, timeout=WAIT_MS):
        builders.count_live()
    with qtbot.waitSignal(builders.ladderShown, timeout=WAIT_MS):
        builders.show_ladder()
    assert _demo_queries(qtbot, w) > before

    # DMARC reports: an imported report's senders are looked up (reverse DNS) on the demo's server
    reports = w.open_reports()
    assert reports.nameservers == demo_ns
    sample = CONFORMANCE / "dmarc-reports" / "cry-inc" / "dmarc-reports" / "google.xml"
    with qtbot.waitSignal(reports.importFinished, timeout=WAIT_MS):
        reports.import_paths([sample])
    before = _demo_queries(qtbot, w)
    qtbot.waitUntil(lambda: reports.view is not None and reports.view.looked_up, timeout=WAIT_MS)
    assert _demo_queries(qtbot, w) > before

    # Test a message: the pasted headers' DNS checks (DKIM key, the domain's fixes) too
    message = w.open_message_screen().screen_widget
    assert message.nameservers == demo_ns
    message.paste_box.setPlainText(PASTED)
    before = _demo_queries(qtbot, w)
    with qtbot.waitSignal(message.finishedRun, timeout=WAIT_MS):
        message.start_paste()
    assert _demo_queries(qtbot, w) > before

    # and the main window itself, for another demo domain
    w.demo_next_domain()
    _settle(qtbot, w)
    assert BLOCKED[blocked_before:] == [], "the demo sent packets off the machine"
    assert guarded_worker.read_text(encoding="utf-8") == "", "the worker sent packets off the machine"


def test_a_new_dns_server_in_settings_is_followed_by_every_window_at_once(make_window, qtbot, dns_server,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from inboxready.app import publish_dialog  # loaded at start-up, as inboxready-gui does

    add_good_zone(dns_server, "shop.example")
    w = make_window(nameserver="127.0.0.1:9")
    assert publish_dialog.NAMESERVERS == ["127.0.0.1:9"]
    w.start_watch_service()
    builders, reports, message = w.open_builders(), w.open_reports(), w.open_message_screen().screen_widget
    w.open_watch_window()
    for ns in (builders.nameservers, reports.nameservers, message.nameservers, w.watch_service.nameservers):
        assert ns == ["127.0.0.1:9"]
    w.apply_settings(nameserver=dns_server.address)
    for ns in (builders.nameservers, reports.nameservers, message.nameservers, w.watch_service.nameservers,
               publish_dialog.NAMESERVERS):
        assert ns == [dns_server.address]
    with qtbot.waitSignal(builders.whatIfShown, timeout=WAIT_MS) as shown:
        builders.domain_field.setText("shop.example")
        builders.value_field.setPlainText("v=DMARC1; p=reject")
        builders.host_field.setText("_dmarc")
        builders.check_what_if()
    assert shown.args[0] is not None and shown.args[0].checks["spf"].status == "pass"  # the new server answered

    # the demo switches them all to its own server, and leaving it switches them back
    w.enter_demo()  # the worker starts the demo's server; the windows follow once it answers
    qtbot.waitUntil(lambda: w.demo_server is not None, timeout=WAIT_MS)
    demo_ns = [w.demo_server.address]
    assert builders.nameservers == reports.nameservers == message.nameservers == demo_ns
    assert w.watch_service.paused and w.watch_service.nameservers == [dns_server.address]
    _settle(qtbot, w)
    w.leave_demo()
    assert builders.nameservers == reports.nameservers == message.nameservers == [dns_server.address]
    assert not w.watch_service.paused
    w.apply_settings(nameserver="")
    assert builders.nameservers is None and w.watch_service.nameservers is None
    assert publish_dialog.NAMESERVERS is None


def test_the_watch_schedule_is_paused_while_the_demo_s_server_starts(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Between "Demo" and the worker's answer with the demo server's address, the schedule must not run the
    watched domains over the computer's DNS (on a busy machine the schedule's first tick fell in that gap,
    and the demo sent queries off the machine); if the demo can't start, the schedule goes on."""
    w = make_window()
    w.start_watch_service()
    service = w.watch_service
    qtbot.waitUntil(lambda: not service.running, timeout=WAIT_MS)  # its first look (nothing is watched)
    assert not service.paused
    started: list[bool] = []
    service.runStarted.connect(started.append)
    w.enter_demo()
    assert w.demo_server is None and w._demo_job  # the worker has not answered yet
    assert "paused during the demo" in service.paused
    service.tick()
    assert not service.check_now() and started == []
    qtbot.waitUntil(lambda: w.demo_server is not None, timeout=WAIT_MS)
    assert service.paused and started == []
    _settle(qtbot, w)
    w.leave_demo()
    assert not service.paused

    # a demo that could not start lifts the pause again
    w.enter_demo()
    assert service.paused
    w._on_task_failed(w._demo_job, "no port free")
    assert not service.paused and w.demo_server is None
