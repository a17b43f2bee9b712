"""The demo runs every bundled example; every control is named and reachable by keyboard."""

from __future__ import annotations

import sys
import threading

import dns.zone
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractButton, QAbstractItemView, QAbstractSpinBox, QComboBox, QHeaderView, QLineEdit, QTextEdit, QWidget,
)

from inboxready import resources
from inboxready.app.demo import load_demo
from inboxready.app.engine import CheckRequest, Engine
from inboxready.app.qtcompat import unsupported_pyside
from inboxready.app.theme import stylesheet
from inboxready.core.context import CheckOptions


INTERACTIVE = (QAbstractButton, QLineEdit, QTextEdit, QAbstractItemView, QComboBox, QAbstractSpinBox)


def test_demo_zones_load_and_every_demo_domain_is_served() -> None:
    demo = load_demo()
    assert len(demo.domains) >= 9
    origins = set()
    for name in demo.zone_files:
        path = resources.zones_dir() / name
        zone = dns.zone.from_file(str(path), relativize=False, check_origin=False)
        origins.add(zone.origin.to_text(omit_final_dot=True))
    for d in demo.domains:
        assert d.domain.endswith(".example")  # reserved names only
        assert d.domain in origins or d.domain in demo.never_answers


def test_demo_checks_every_example_and_shows_each_kind_of_card(make_window, qtbot) -> None:
    w = make_window(demo=True, timeout=None, deadline=None)
    demo = load_demo()
    seen: dict[str, dict[str, str]] = {}
    qtbot.waitUntil(lambda: w.demo_server is not None and w.current_domain == demo.domains[0].domain, timeout=5000)
    qtbot.waitUntil(lambda: w.last_report is not None, timeout=20_000)
    seen[w.current_domain] = {k: c.status for k, c in w.cards.items()}
    for _ in range(len(demo.domains) - 1):
        with qtbot.waitSignal(w.checkFinished, timeout=20_000):
            w.demo_next_domain()
        seen[w.current_domain] = {k: c.status for k, c in w.cards.items()}
    assert set(seen) == {d.domain for d in demo.domains}
    assert set(seen["demo-timeout.example"].values()) == {"error"}
    assert seen["demo-allgood.example"]["mx"] == "pass"
    assert seen["demo-brokenmx.example"]["mx"] in ("fail", "warn")
    assert seen["demo-allgood.example"]["dmarc"] == "pass"
    assert seen["demo-nodmarc.example"]["dmarc"] == "fail"
    assert seen["demo-monitoring.example"]["dmarc"] in ("warn", "fail")
    assert seen["demo-allgood.example"]["dkim"] == "pass"
    assert seen["demo-weakdkim.example"]["dkim"] in ("warn", "fail")
    assert seen["demo-allgood.example"]["spf"] == "pass"
    assert seen["demo-toomany.example"]["spf"] == "fail"
    assert seen["demo-plusall.example"]["spf"] == "fail"
    assert not w.history.runs()  # demo runs are not recorded
    w.leave_demo()
    assert w.demo_server is None and not w.cards and w.welcome.isVisibleTo(w)


def test_every_interactive_control_has_a_name_and_takes_focus(make_window, qtbot) -> None:
    w = make_window(demo=True, timeout=None, deadline=None)
    qtbot.waitUntil(lambda: w.last_report is not None, timeout=20_000)
    with qtbot.waitSignal(w.checkFinished, timeout=20_000):
        w.add_selector("extra1")  # so that the DKIM card shows a saved selector with its Remove button
    w.queries_button.setChecked(True)
    for card in w.cards.values():
        card.set_open(True)
    qtbot.waitUntil(lambda: all(c.body_ready for c in w.cards.values()), timeout=5000)
    qtbot.wait(50)
    checked = 0
    problems: list[str] = []
    for widget in w.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE) or isinstance(widget, QHeaderView):
            continue
        if not widget.isVisibleTo(w) or isinstance(widget.parent(), INTERACTIVE):
            continue  # hidden, or a sub-control of another control (a line edit's clear button)
        checked += 1
        if not widget.accessibleName().strip():
            problems.append(f"{type(widget).__name__} {widget.objectName()!r} has no accessible name")
        if not widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            problems.append(f"{type(widget).__name__} {widget.accessibleName()!r} cannot take focus")
    assert checked > 15
    assert problems == []
    remove = w.cards["dkim"].remove_buttons["extra1"]
    assert remove.isVisibleTo(w) and remove.accessibleName() == "Remove the DKIM selector extra1"
    # the tab chain reaches every card header in order, after the domain field
    order = w.focusable_widgets()
    headers = [c.header for c in w.cards.values()]
    positions = [order.index(h) for h in headers]
    assert positions == sorted(positions) and order.index(w.domain_field) < positions[0]


def test_stylesheets_have_no_unfilled_tokens() -> None:
    for scheme in ("light", "dark"):
        css = stylesheet(scheme)
        assert "{{" not in css and "#ff00ff" not in css


def test_engine_runs_cancels_and_shuts_down(qtbot, dns_server) -> None:
    from .conftest import add_good_zone

    add_good_zone(dns_server, "engine.example")
    engine = Engine()
    try:
        opts = CheckOptions(nameservers=[dns_server.address], timeout=1.0, deadline=10.0)
        seen: list[tuple[bool, bool]] = []
        # in the slot of its last signal the check is already over (its future is marked done a moment
        # later, on the loop thread: the state must not depend on that race)
        engine.finished.connect(lambda *_: seen.append((engine.busy, engine.cancel())))  # noqa: F821 - runs before the del below
        with qtbot.waitSignal(engine.finished, timeout=20_000) as blocker:
            job = engine.check(CheckRequest("engine.example", opts, record=False))
            assert engine.busy
        assert blocker.args[0] == job and blocker.args[1].domain == "engine.example"
        assert seen == [(False, False)]
        assert not engine.busy and not engine.cancel()
    finally:
        engine.shutdown()
        engine.shutdown()  # idempotent
    try:
        engine.check(CheckRequest("engine.example", CheckOptions(), record=False))
    except RuntimeError:
        pass
    else:
        raise AssertionError("a shut-down engine must refuse work")
    # nothing left on the loop thread or in the core's garbage holds the engine: its last reference frees
    # it here (not the garbage collector later, on whichever thread happens to run it)
    freed: list[str] = []
    engine.destroyed.connect(lambda *_: freed.append(threading.current_thread().name),
                             Qt.ConnectionType.DirectConnection)
    del engine
    assert freed == [threading.main_thread().name]


def test_engine_tasks_are_over_in_the_slots_of_their_last_signal(qtbot) -> None:
    engine = Engine()
    try:
        seen: list[bool] = []
        engine.taskFinished.connect(lambda job, _r: seen.append(engine.task_running(job)))
        engine.taskCancelled.connect(lambda job: seen.append(engine.task_running(job)))
        with qtbot.waitSignal(engine.taskFinished, timeout=30_000) as done:
            job = engine.run("sleep", seconds=0.01)
        assert done.args == [job, 0.01] and seen == [False] and not engine.task_running(job)

        job = engine.run("sleep", seconds=30)
        assert engine.task_running(job)
        with qtbot.waitSignal(engine.taskCancelled, timeout=10_000):
            assert engine.cancel_task(job)
        assert seen == [False, False] and not engine.task_running(job) and not engine.cancel_task(job)
    finally:
        engine.shutdown()


class _Sig(QObject):
    s = Signal(object)


def test_emitting_many_signals_keeps_the_interpreter_sound() -> None:
    """The refcount bug of PySide6 6.12.0 (excluded in pyproject.toml) would show here."""
    o = _Sig()
    o.s.connect(lambda *_: None)
    before_true, before_none = sys.getrefcount(True), sys.getrefcount(None)
    for i in range(5000):
        o.s.emit(i)
    assert abs(sys.getrefcount(True) - before_true) <= 2
    assert abs(sys.getrefcount(None) - before_none) <= 50


def test_the_excluded_pyside_release_is_refused_in_plain_words() -> None:
    assert unsupported_pyside() is None  # the PySide6 in use is a good one
    message = unsupported_pyside("6.12.0")
    assert message is not None and "6.12.0" in message and "pip install" in message
    assert unsupported_pyside("6.11.3") is None
