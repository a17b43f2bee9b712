"""The GUI's engine process (app/engine.py): a real ``inboxready worker`` driven over QProcess, offscreen.

Killed mid-check it is survivable (the window says so, a new worker takes over, the next check works,
nothing stored is lost); a cancel is confirmed before any slow answer; closing the window ends it; a
worker that talks nonsense or another protocol version never crashes the GUI; the GUI process runs no
thread of its own (the demo's DNS server is in the worker)."""

from __future__ import annotations

import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from inboxready.app.engine import WORKER_LOST, CheckRequest, Engine
from inboxready.core.context import CheckOptions
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.store.history import History

from .conftest import add_good_zone

WAIT_MS = 30_000


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (not yet reaped) is gone for our purpose
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


def test_a_killed_worker_is_said_restarted_and_loses_nothing(make_window, qtbot, dns_server: DnsTestServer) -> None:  # type: ignore[no-untyped-def]
    add_good_zone(dns_server, "shop.example")
    w = make_window(nameserver=dns_server.address, timeout=2.0)
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain("shop.example")  # recorded in the history by the worker
    first_pid = w.engine.pid
    assert first_pid and _alive(first_pid)

    dns_server.latency = 1.5  # the next check is still waiting for answers when the worker dies
    seen_queries: list[int] = []
    w.engine.queriesLogged.connect(lambda job, recs: seen_queries.append(job))
    w.check_domain("shop.example")
    qtbot.waitUntil(lambda: w.engine.busy and w.engine.ready, timeout=WAIT_MS)
    with qtbot.waitSignal(w.engine.workerReady, timeout=WAIT_MS) as ready:
        with qtbot.waitSignal(w.engine.workerLost, timeout=WAIT_MS) as lost:
            os.kill(first_pid, signal.SIGKILL)
    assert lost.args == [WORKER_LOST]
    assert ready.args[0] != first_pid and _alive(ready.args[0])
    # the window says so: on the cards and in the status bar, and the check is over
    assert not w.checking and not w.engine.busy
    assert "checking engine stopped" in w.statusBar().currentMessage()
    stopped = [c for c in w.cards.values() if c.result is None]
    assert stopped and all("checking engine stopped" in c.summary_label.text() for c in stopped)
    assert not w.readiness.isVisibleTo(w)  # no "Checking…" left on the bulk-sender bar

    # the next check works, and the run stored before the crash is still there
    dns_server.latency = 0.0
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS) as done:
        w.check_domain("shop.example")
    assert done.args[0].checks["spf"].status == "pass"
    with History() as h:
        assert len(h.runs("shop.example")) == 2  # the first run and this one; the killed one left nothing


def test_cancel_is_confirmed_before_any_slow_answer(make_window, qtbot, dns_server: DnsTestServer) -> None:  # type: ignore[no-untyped-def]
    add_good_zone(dns_server, "slow.example")
    dns_server.latency = 3.0
    w = make_window(nameserver=dns_server.address, timeout=5.0)
    events: list[str] = []
    w.engine.resultReady.connect(lambda *_: events.append("result"))
    w.engine.queriesLogged.connect(lambda *_: events.append("query"))
    w.engine.cancelled.connect(lambda *_: events.append("cancelled"))
    job = w.check_domain("slow.example")
    with qtbot.waitSignal(w.engine.cancelled, timeout=WAIT_MS) as got:
        w.cancel_check()
    assert got.args == [job]
    assert events == ["cancelled"]  # nothing of the slow check came before it
    assert not w.checking and not w.engine.busy
    qtbot.wait(200)
    assert events == ["cancelled"]  # nor after it


def test_a_check_the_busy_engine_refuses_is_said_on_the_cards_and_nothing_spins(make_window, qtbot,  # type: ignore[no-untyped-def]
                                                                                 dns_server: DnsTestServer) -> None:
    """The worker already has as much as it takes (8 running, 64 waiting). Before: it took every request, so
    there was no refusal to show. Now the check is refused with a 'failed' that says why: the window stops
    checking, the cards and the status bar say the engine is busy (not 'an internal problem, report it'),
    and once the others are cancelled the next check runs."""
    from inboxready.core.worker.server import MAX_RUNNING, MAX_WAITING

    add_good_zone(dns_server, "shop.example")
    w = make_window(nameserver=dns_server.address, timeout=2.0)
    fillers = [w.engine.run("sleep", seconds=300) for _ in range(MAX_RUNNING + MAX_WAITING)]
    with qtbot.waitSignal(w.engine.failed, timeout=WAIT_MS) as refused:
        job = w.check_domain("shop.example")
    assert refused.args[0] == job and "engine is busy" in refused.args[1]
    assert not w.checking and not w.engine.busy
    assert "engine is busy" in w.statusBar().currentMessage()
    assert "internal problem" not in w.statusBar().currentMessage()
    stopped = [c for c in w.cards.values() if c.result is None]
    assert stopped and all("engine is busy" in c.summary_label.text() for c in stopped)
    for filler in fillers:
        w.engine.cancel_task(filler)
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS) as done:
        w.check_domain("shop.example")
    assert done.args[0].checks["spf"].status == "pass"


def test_closing_the_window_ends_the_worker(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    w = make_window()
    pid = w.engine.pid
    assert pid and _alive(pid)
    w.close()
    assert w._closed
    assert not _alive(pid)


def test_the_demo_server_runs_in_the_worker_and_the_gui_has_no_thread(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    before = set(threading.enumerate())  # (other tests' servers may still be winding down)
    w = make_window(demo=True, timeout=None, deadline=None)
    qtbot.waitUntil(lambda: w.demo_server is not None and w.last_report is not None and not w.checking,
                    timeout=WAIT_MS)
    assert w.last_report.checks["spf"].status in ("pass", "warn", "fail")
    assert [t.name for t in set(threading.enumerate()) - before] == []  # no engine thread, no DNS server here
    # it answers from the worker: the worker's demo server counts the queries of the check
    stats: list[Any] = []
    w.engine.taskFinished.connect(lambda job, data: stats.append(data))
    with qtbot.waitSignal(w.engine.taskFinished, timeout=WAIT_MS):
        w.engine.run("demo_stats")
    assert stats[-1]["running"] and stats[-1]["queries"] > 0


def _fake_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    script = tmp_path / "fake_worker.py"
    script.write_text("import sys, json\n" + body, encoding="utf-8")
    monkeypatch.setenv("INBOXREADY_WORKER", shlex.join([sys.executable, str(script)]))


def _fake_check_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reply: str) -> None:
    """A fake worker that says hello and answers each check request with ``reply`` (Python run with ``req``,
    the request, and ``json``/``sys`` at hand; its lines indented by four spaces)."""
    _fake_worker(tmp_path, monkeypatch, """
print(json.dumps({"type": "hello", "version": 1, "pid": 0}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    if req.get("type") != "check":
        continue
""" + reply)


def test_a_worker_talking_nonsense_never_crashes_the_gui(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    _fake_check_worker(tmp_path, monkeypatch, """
    print("this is not json", flush=True)
    print("[1, 2]", flush=True)
    print(json.dumps({"id": req["id"], "type": "result", "data": {"name": 5}}), flush=True)
    print(json.dumps({"id": req["id"] + 99, "type": "finished", "data": None}), flush=True)
""")
    engine = Engine()
    try:
        failed: list[tuple[int, str]] = []
        engine.failed.connect(lambda job, why: failed.append((job, why)))
        with qtbot.waitSignal(engine.failed, timeout=WAIT_MS):
            job = engine.check(CheckRequest("x.example", CheckOptions(nameservers=["127.0.0.1:9"])))
        assert failed[0][0] == job and "could not read" in failed[0][1]
        assert len(engine.protocol_errors) >= 3 and not engine.busy
    finally:
        engine.shutdown()


def test_another_protocol_version_is_refused_in_plain_words(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    _fake_worker(tmp_path, monkeypatch, """
print(json.dumps({"type": "hello", "version": 999, "pid": 0}), flush=True)
sys.stdin.read()
""")
    engine = Engine()
    try:
        with qtbot.waitSignal(engine.workerLost, timeout=WAIT_MS) as lost:
            pass
        assert "keeps stopping" in lost.args[0] and not engine.ready
        with qtbot.waitSignal(engine.taskFailed, timeout=WAIT_MS) as refused:
            engine.run("sleep", seconds=0.01)  # nothing is started again: the job is refused at once
        assert "keeps stopping" in refused.args[1]
    finally:
        engine.shutdown()


def test_the_checklist_and_the_profile_verdict_are_judged_in_the_worker(make_window, qtbot,
                                                                         dns_server: DnsTestServer) -> None:  # type: ignore[no-untyped-def]
    add_good_zone(dns_server, "judged.example")
    w = make_window(nameserver=dns_server.address, timeout=2.0)
    judged: list[Any] = []
    w.engine.judged.connect(lambda job, checklist, compliance: judged.append((job, checklist, compliance)))
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        job = w.check_domain("judged.example")
    assert [j[0] for j in judged] == [job]
    _, checklist, compliance = judged[0]
    assert checklist.name == "checklist" and compliance is not None and compliance.name == "compliance"
    # the cards show the worker's judgement as it came
    assert w.cards["checklist"].result.to_json() == checklist.to_json()
    assert w.cards["compliance"].result.to_json() == compliance.to_json()
    # a spam rate typed afterwards is judged here again, at once
    w.cards["checklist"].spamRateEntered.emit(0.5)
    assert w.cards["checklist"].result.to_json() != checklist.to_json()


def _burst_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, names: tuple[str, ...]) -> None:
    """A worker that answers a check with a passing result for each of ``names``, all in one write."""
    _fake_check_worker(tmp_path, monkeypatch, f"""
    from inboxready.core.model import CheckResult, Status
    burst = "".join(json.dumps({{"id": req["id"], "type": "result",
                                "data": CheckResult(name, Status.PASS, "Fine.").to_json()}}) + "\\n"
                    for name in {names!r})
    sys.stdout.write(burst)
    sys.stdout.flush()
""")


def test_a_burst_of_results_is_handed_over_one_a_turn(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Each result a window shows is laid out and painted with the cards around it: a worker that sends a
    check's results in one burst has them handed over one per turn of the event loop, not all in one."""
    _burst_worker(tmp_path, monkeypatch, ("spf", "dkim", "dmarc"))
    from PySide6.QtCore import QTimer

    engine = Engine()
    try:
        order: list[str] = []

        def result(_job: int, r: Any, _diff: Any) -> None:
            order.append(r.name)
            QTimer.singleShot(0, lambda: order.append("turn"))

        engine.resultReady.connect(result)
        engine.check(CheckRequest("x.example", CheckOptions(nameservers=["127.0.0.1:9"])))
        qtbot.waitUntil(lambda: order.count("turn") == 3, timeout=WAIT_MS)
        assert order == ["spf", "turn", "dkim", "turn", "dmarc", "turn"]
    finally:
        engine.shutdown()


def test_a_read_in_the_same_pass_as_a_hand_over_waits_for_the_posted_events(qtbot, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Under load the rest of a burst can be read, or the engine's timer can come due, in the same pass of the
    event loop as a hand-over, before Qt has delivered the posted events that lay out and paint it: the
    engine hands over nothing more until they are delivered."""
    _burst_worker(tmp_path, monkeypatch, ("spf", "dkim"))
    engine = Engine()
    try:
        order: list[str] = []

        def result(_job: int, r: Any, _diff: Any) -> None:
            order.append(r.name)
            if r.name == "spf":
                engine._drain()  # as a read or the engine's timer would, before any posted event is delivered
                order.append("same pass")

        engine.resultReady.connect(result)
        engine.check(CheckRequest("x.example", CheckOptions(nameservers=["127.0.0.1:9"])))
        qtbot.waitUntil(lambda: "dkim" in order, timeout=WAIT_MS)
        assert order == ["spf", "same pass", "dkim"], order
    finally:
        engine.shutdown()


def test_a_finished_check_is_shown_a_piece_a_turn_and_then_said_done(make_window, qtbot,
                                                                      dns_server: DnsTestServer) -> None:  # type: ignore[no-untyped-def]
    """When the worker says a check is done, the summary bar, the checklist and the profile's verdict are
    shown on turns of their own (each lays out and paints the cards); only then is the check over:
    ``checking`` False, ``last_report`` set and ``checkFinished`` emitted, with every card filled."""
    add_good_zone(dns_server, "staged.example")
    w = make_window(nameserver=dns_server.address, timeout=2.0)
    at_end: list[Any] = []
    w.engine.finished.connect(lambda job, report: at_end.append(
        (w.checking, w.last_report, w.cards["checklist"].result if "checklist" in w.cards else None)))
    done: list[Any] = []
    w.checkFinished.connect(lambda report: done.append(
        (w.checking, w.cards["checklist"].result, w.cards["compliance"].result)))
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain("staged.example")
    assert at_end == [(True, None, None)]  # the turn the worker's answer came: nothing shown yet
    checking, checklist, compliance = done[0]
    assert not checking and checklist is not None and compliance is not None
    assert w.last_report is not None and w.last_report.domain == "staged.example"
    w.cancel_check()  # nothing to cancel once done: the cards keep what they show
    assert w.cards["checklist"].result is checklist


def test_an_engine_with_events_left_to_hand_over_is_freed_at_once(qtbot, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The rest of a burst waits for the next turn on a timer of the engine's own: a pending single-shot call
    held the engine alive, so an engine shut down with events still unread was not freed when let go."""
    _fake_check_worker(tmp_path, monkeypatch, """
    from inboxready.core.model import CheckResult, Status
    sys.stdout.write("".join(json.dumps({"id": req["id"], "type": "result",
                                         "data": CheckResult(name, Status.PASS, "Fine.").to_json()}) + "\\n"
                             for name in ("spf", "dkim", "dmarc")))
    sys.stdout.flush()
""")
    engine = Engine()
    got: list[str] = []
    engine.resultReady.connect(lambda _job, r, _diff: got.append(r.name))
    with qtbot.waitSignal(engine.resultReady, timeout=WAIT_MS):
        engine.check(CheckRequest("x.example", CheckOptions(nameservers=["127.0.0.1:9"])))
    assert got == ["spf"]  # the others wait for the next turn
    engine.shutdown()
    freed: list[str] = []
    engine.destroyed.connect(lambda *_: freed.append(threading.current_thread().name),
                             Qt.ConnectionType.DirectConnection)
    del engine
    assert freed == [threading.main_thread().name]
