"""The engine process without Qt: the JSON-lines protocol, the worker loop in-process, and a real
``inboxready worker`` subprocess checking a domain on the loopback DNS server, cancelled mid-check, and
ending with its stdin."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxready.core.context import CheckOptions
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.store.history import History
from inboxready.core.worker import protocol as p
from inboxready.core.worker.server import Job, Worker

from ...app.conftest import GOOD_ZONE

GUARDED = Path(__file__).resolve().parents[2] / "worker_guarded.py"


# -- the wire format -------------------------------------------------------------------------------------

def test_lines_round_trip_and_hold_no_raw_newline() -> None:
    msg = {"id": 3, "type": "result", "data": {"text": "two\nlines", "n": float("nan"), "t": (1, 2)}}
    line = p.encode(msg)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    back = p.decode(line)
    assert back["data"] == {"text": "two\nlines", "n": None, "t": [1, 2]}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_decode_to_an_object_or_a_protocol_error(data: bytes) -> None:
    try:
        value = p.decode(data)
    except p.ProtocolError:
        return
    assert isinstance(value, dict) and isinstance(value["type"], str)


@pytest.mark.parametrize("line", [b"", b"[]", b"{}", b'{"type": 3}', b'{"type": "x", "id": "7"}',
                                  b'{"type": "x", "id": true}', b"\xff\xfe", b"[" * 100_000])
def test_lines_that_are_not_protocol_objects_are_protocol_errors(line: bytes) -> None:
    with pytest.raises(p.ProtocolError):
        p.decode(line)


def test_options_travel_as_json() -> None:
    opts = CheckOptions(nameservers=["127.0.0.1:5353"], timeout=1.5, deadline=9.0, dkim_selectors=["s1"],
                        checks=("spf", "dmarc"))
    assert p.options_from_json(json.loads(json.dumps(p.options_to_json(opts)))) == opts
    with pytest.raises(p.ProtocolError):
        p.options_from_json({"nameservers": "127.0.0.1"})
    with pytest.raises(p.ProtocolError):
        p.options_from_json({"timeout": 1, "bogus_type": object} | {"max_concurrency": "x", "checks": 5})


# -- the loop, in-process --------------------------------------------------------------------------------

Events = list[dict[str, Any]]


class Until:
    """A step of ``_serve``'s input: send the next line only once ``ready(events)`` holds (no wall clock:
    the test says what must have happened first)."""

    def __init__(self, ready: Callable[[Events], bool]) -> None:
        self.ready = ready


def seen(job_id: int, kind: str) -> Until:
    return Until(lambda events: any(e.get("id") == job_id and e["type"] == kind for e in events))


async def _wait(ready: Callable[[], bool], what: str) -> None:
    """Until ``ready()``: a turn of the loop at a time, bounded so that a bug fails instead of hanging."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + 10
    while not ready():
        if loop.time() > give_up:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.005)


def _all_answered(requests: list[dict[str, Any]], events: Events) -> bool:
    """Every job request sent has had its last event (finished, cancelled or failed)."""
    jobs = [r for r in requests if isinstance(r.get("id"), int) and r["type"] not in (p.CANCEL, p.STOP)]
    return len([e for e in events if isinstance(e.get("id"), int) and e["type"] in p.LAST_EVENTS]) >= len(jobs)


async def _serve(steps: list[dict[str, Any] | bytes | Until], handlers: dict[str, Any], *,
                 done: Callable[[Events], bool] = lambda events: True) -> Events:
    """Feed ``steps`` to a worker (each line once the ``Until`` before it holds) and end its input once
    every job request sent has had its last event and ``done(events)`` holds."""
    events: Events = []
    sent: list[dict[str, Any]] = []

    async def source() -> AsyncIterator[bytes]:
        for step in steps:
            if isinstance(step, Until):
                await _wait(lambda: step.ready(events), "a step's condition")
            elif isinstance(step, bytes):
                yield step
            else:
                sent.append(step)
                yield p.encode(step)
        await _wait(lambda: _all_answered(sent, events) and done(events), "the end of the jobs")

    worker = Worker(handlers, lambda data: events.append(p.decode(data)))
    await worker.run(source())
    return events


def test_every_job_ends_once_and_a_cancel_is_answered_at_once() -> None:
    async def slow(job: Job) -> str:
        job.progress({"step": 1})
        await asyncio.sleep(60)
        return "never"

    async def quick(job: Job) -> dict[str, int]:
        return {"answer": 42}

    async def broken(job: Job) -> None:
        raise KeyError("a bug")

    events = asyncio.run(_serve([
        {"id": 1, "type": "slow"}, {"id": 2, "type": "quick"}, {"id": 3, "type": "broken"},
        {"id": 4, "type": "nosuch"}, b"not json\n", seen(2, "finished"), {"id": 2, "type": "quick"},
        {"type": "quick"}, seen(1, "progress"), {"id": 1, "type": "cancel"},
    ], {"slow": slow, "quick": quick, "broken": broken}))
    assert events[0]["type"] == "hello" and events[0]["version"] == p.PROTOCOL_VERSION
    by_job: dict[Any, list[str]] = {}
    for e in events[1:]:
        by_job.setdefault(e.get("id"), []).append(e["type"])
    assert by_job[1] == ["started", "progress", "cancelled"]
    assert by_job[2] == ["started", "finished", "started", "finished"]  # id 2 was free again
    assert by_job[3] == ["started", "failed"] and by_job[4] == ["failed"]
    assert by_job[None] == ["failed", "failed"]  # the bad line and the request without an id
    finished = next(e for e in events if e.get("id") == 2 and e["type"] == "finished")
    assert finished["data"] == {"answer": 42}
    failed = next(e for e in events if e.get("id") == 3 and e["type"] == "failed")
    assert "KeyError" in failed["message"]


def test_a_job_stuck_in_a_thread_is_cancelled_at_once_and_says_nothing_after() -> None:
    import threading

    released = threading.Event()

    async def stuck(job: Job) -> str:
        def work() -> str:
            job.progress("in the thread")
            job.cancel_event.wait(10)
            job.progress("after the cancel")  # dropped: the job is over
            released.set()
            return "late"

        return await asyncio.to_thread(work)

    # the input ends once the thread has tried its late progress (handed to the loop, which runs it before
    # it sees that the thread is done: the check below covers it)
    events = asyncio.run(_serve([{"id": 9, "type": "stuck"}, seen(9, "progress"), {"id": 9, "type": "cancel"}],
                                {"stuck": stuck}, done=lambda events: released.is_set()))
    assert [e["type"] for e in events if e.get("id") == 9] == ["started", "progress", "cancelled"]
    assert released.is_set()  # the thread saw the cancel too


# -- a real worker process -------------------------------------------------------------------------------

class Proc:
    """A worker subprocess with helpers to send requests and read events."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.events: list[dict[str, Any]] = []

    @classmethod
    async def start(cls, home: Path) -> "Proc":
        env = dict(os.environ, INBOXREADY_HOME=str(home))
        proc = await asyncio.create_subprocess_exec(sys.executable, str(GUARDED), "worker", env=env,
                                                    stdin=asyncio.subprocess.PIPE,
                                                    stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.DEVNULL, limit=p.MAX_LINE)
        return cls(proc)

    async def send(self, msg: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(p.encode(msg))
        await self.proc.stdin.drain()

    async def next(self, timeout: float = 30) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        assert line, "the worker closed its stdout"
        event = p.decode(line)
        self.events.append(event)
        return event

    async def until(self, job: int, kinds: set[str], timeout: float = 30) -> dict[str, Any]:
        while True:
            e = await self.next(timeout)
            if e.get("id") == job and e["type"] in kinds:
                return e


def test_the_worker_checks_streams_records_and_ends_with_its_stdin(home_dir: Path, dns_server: DnsTestServer) -> None:
    dns_server.add_zone("shop.example", GOOD_ZONE.format(origin="shop.example"))
    opts = CheckOptions(nameservers=[dns_server.address], timeout=1.0, deadline=15.0,
                        checks=("spf", "dmarc", "mx"))

    async def go() -> tuple[list[dict[str, Any]], int | None]:
        w = await Proc.start(home_dir)
        hello = await w.next()
        assert hello["type"] == "hello" and hello["version"] == p.PROTOCOL_VERSION and "check" in hello["jobs"]
        await w.send(p.request(1, "check", domain="shop.example", options=p.options_to_json(opts), record=True))
        await w.until(1, {"finished", "failed", "cancelled"})
        # a second run: each result now carries what changed since the first
        await w.send(p.request(2, "check", domain="shop.example", options=p.options_to_json(opts), record=True))
        await w.until(2, {"finished", "failed", "cancelled"})
        assert w.proc.stdin is not None
        w.proc.stdin.close()  # the GUI went away: the worker ends
        code = await asyncio.wait_for(w.proc.wait(), 15)
        return w.events, code

    events, code = asyncio.run(go())
    assert code == 0
    first = [e for e in events if e.get("id") == 1]
    kinds = [e["type"] for e in first]
    assert kinds[0] == "started" and kinds[-1] == "finished" and kinds.count("finished") == 1
    assert sorted(e["data"]["name"] for e in first if e["type"] == "result") == ["dmarc", "mx", "spf"]
    queries = [q for e in first if e["type"] == "query" for q in e["queries"]]
    report = first[-1]["data"]["report"]
    assert report["domain"] == "shop.example" and report["checks"]["spf"]["status"] == "pass"
    assert first[-1]["data"]["checklist"]["name"] == "checklist"  # judged in the worker too
    assert first[-1]["data"]["compliance"] is None  # no profile was asked for
    assert len(queries) == len(report["queries"]) > 0  # every query was streamed before the end
    # the log is never behind the cards: every query of a check went out before its result
    assert all(e["diff"] is None for e in first if e["type"] == "result")
    second = [e for e in events if e.get("id") == 2 and e["type"] == "result"]
    assert second and all(e["diff"]["previous_status"] == e["data"]["status"] for e in second)
    stored = History(home_dir / "history.sqlite3") if (home_dir / "history.sqlite3").exists() else History()
    try:
        runs = stored.runs("shop.example")
        assert len(runs) == 2
    finally:
        stored.close()


def test_a_cancel_mid_check_is_confirmed_before_any_slow_answer(home_dir: Path, dns_server: DnsTestServer) -> None:
    dns_server.add_zone("slow.example", GOOD_ZONE.format(origin="slow.example"))
    dns_server.latency = 3.0  # every answer takes 3 s: nothing can finish before the cancel
    opts = CheckOptions(nameservers=[dns_server.address], timeout=5.0, deadline=30.0)

    async def go() -> list[dict[str, Any]]:
        w = await Proc.start(home_dir)
        await w.next()
        await w.send(p.request(5, "check", domain="slow.example", options=p.options_to_json(opts), record=True))
        await w.until(5, {"started"})
        await w.send({"type": "cancel", "id": 5})
        await w.until(5, {"cancelled", "finished", "failed"}, timeout=10)
        # the worker is still there and serves the next request
        await w.send(p.request(6, "sleep", seconds=0.05))
        await w.until(6, {"finished"})
        await w.send({"type": "shutdown"})
        await asyncio.wait_for(w.proc.wait(), 15)
        return w.events

    events = asyncio.run(go())
    mine = [e["type"] for e in events if e.get("id") == 5]
    assert mine == ["started", "cancelled"]  # no result, query batch or report came before (or after) it
    stored = History()
    try:
        assert stored.runs("slow.example") == []  # a cancelled check is not recorded
    finally:
        stored.close()


@pytest.fixture
def home_dir(private_home: Path) -> Path:
    return private_home


# -- typed values on the wire ----------------------------------------------------------------------------

def test_wire_values_come_back_as_the_same_objects(dns_server: DnsTestServer) -> None:
    import re as _re
    from datetime import datetime, timezone

    from inboxready.core.checks.runner import run_check
    from inboxready.core.model import Fix, Status
    from inboxready.core.monitor.reminders import Reminder
    from inboxready.core.worker.values import from_wire, to_wire

    dns_server.add_zone("wire.example", GOOD_ZONE.format(origin="wire.example"))
    report = asyncio.run(run_check("wire.example", CheckOptions(nameservers=[dns_server.address], timeout=1.0,
                                                                 checks=("spf", "dmarc", "mx"))))
    values = [report, Reminder("k", "d.example", "dkim-rotate", "t", "x", "2026-01-01",
                               Fix("h.example", "TXT", "v=spf1 -all"), ("a", "b")),
              (Status.FAIL, b"\x00\xff", Path("/tmp/x"), datetime(2026, 1, 2, tzinfo=timezone.utc)),
              {"__dc__": "not a tag in a plain dict's value"}, {(1, 2): "tuple key"}, _re.compile("a+b", _re.I)]
    for value in values:
        line = p.encode({"id": 1, "type": "finished", "data": to_wire(value)})
        back = from_wire(p.decode(line)["data"])
        assert back == value
    assert isinstance(from_wire(to_wire(report)).checks["spf"].status, Status)


@pytest.mark.parametrize("data", [
    {"__dc__": "subprocess:Popen", "f": {"args": ["sh"]}},  # outside inboxready.core: never constructed
    {"__dc__": "os:system", "f": {}},
    {"__dc__": "inboxready.core.model:split_txt", "f": {}},  # not a class
    {"__dc__": "inboxready.core.model:Fix.__class__", "f": {}},
    {"__enum__": "inboxready.core.model:Status", "v": "nonsense"},
    {"__dc__": "inboxready.core.model:Fix", "f": {"host": "h"}},  # a required field missing
    {"__tuple__": "not a list"}, {"__map__": [[["unhashable"], 1]]}, {"__bytes__": "!!"}, {"__re__": "("},
    {"__datetime__": "yesterday"},
])
def test_wire_values_of_foreign_or_broken_shape_are_refused(data: Any) -> None:
    from inboxready.core.worker.values import WireError, from_wire

    with pytest.raises(WireError):
        from_wire(data)


def test_a_shutdown_with_jobs_waiting_ends_every_job_with_its_last_event() -> None:
    """One job runs (the limit set to 1), two wait, then the worker is told to shut down. Before: the running
    job said 'cancelled' but the waiting ones were dropped without a word, so a window waiting on them (or the
    app's record of its jobs) never heard that they ended. Now every job ends with exactly one last event."""
    async def hold(job: Job) -> None:
        await asyncio.sleep(30)

    async def go() -> Events:
        events: Events = []

        async def source() -> AsyncIterator[bytes]:
            for i in (1, 2, 3):
                yield p.encode({"id": i, "type": "hold"})
            await _wait(lambda: any(e.get("id") == 1 and e["type"] == p.STARTED for e in events), "job 1 starts")
            yield p.encode({"type": p.SHUTDOWN})

        worker = Worker({"hold": hold}, lambda data: events.append(p.decode(data)))
        worker.max_running = 1
        await worker.run(source())
        return events

    events = asyncio.run(go())
    for i in (1, 2, 3):
        last = [e["type"] for e in events if e.get("id") == i and e["type"] in p.LAST_EVENTS]
        assert last == [p.CANCELLED], (i, events)
    assert not [e for e in events if e.get("id") in (2, 3) and e["type"] == p.STARTED], events
