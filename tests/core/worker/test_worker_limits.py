"""The real ``inboxready worker`` process over its JSON lines, against too much work and hostile input: at most
``MAX_RUNNING`` jobs run, ``MAX_WAITING`` wait in order, more are refused in words; one report import at a time
and one watch per mailbox; a 1 GB line, a burst of 100 000 requests, invalid UTF-8 and lone surrogates, deep
nesting, a storm of cancels, and stdin closed while a job is stuck in a thread. The worker stays up (or ends by
itself when its stdin ends), its memory stays bounded and every job gets its last event."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from inboxready.core.mail.profiles import ReadProfile, Security
from inboxready.core.worker import protocol as p
from inboxready.core.worker.server import MAX_RUNNING, MAX_WAITING
from inboxready.core.worker.values import to_wire

GUARDED = Path(__file__).resolve().parents[2] / "worker_guarded.py"
BUSY = "engine is busy"


class Proc:
    """A worker subprocess; ``events`` fills in the background (the pipe never backs up)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self.reader = asyncio.ensure_future(self._read())
        self.closed = False

    @classmethod
    async def start(cls, home: Path) -> "Proc":
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(GUARDED), "worker", env=dict(os.environ, INBOXREADY_HOME=str(home)),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            limit=p.MAX_LINE)
        w = cls(proc)
        await w.until(lambda e: e["type"] == "hello")
        return w

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.events.append(p.decode(line))
        self.closed = True

    async def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        await self.proc.stdin.drain()

    async def send(self, *msgs: dict[str, Any]) -> None:
        await self.write(b"".join(p.encode(m) for m in msgs))

    async def until(self, ready: Any, timeout: float = 60) -> dict[str, Any]:
        """The first event for which ``ready(event)`` holds (an anti-hang bound around a real process)."""
        give_up = time.monotonic() + timeout
        seen = 0
        while True:
            for e in self.events[seen:]:
                if ready(e):
                    return e
            seen = len(self.events)
            assert not self.closed, f"the worker ended: {self.events[-5:]}"
            assert time.monotonic() < give_up, f"never came: {self.events[-5:]}"
            await asyncio.sleep(0.01)

    def of(self, job: int) -> list[str]:
        return [e["type"] for e in self.events if e.get("id") == job]

    def peak_kb(self) -> int:
        """The worker's peak resident memory (VmHWM)."""
        for row in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if row.startswith("VmHWM:"):
                return int(row.split()[1])
        raise AssertionError("no VmHWM")

    async def end(self, within: float = 20) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            return await asyncio.wait_for(self.proc.wait(), within)
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
            await self.reader


def _sleep(job: int, seconds: float = 120) -> dict[str, Any]:
    return p.request(job, "sleep", seconds=seconds)


def _mailbox(host: str, user: str) -> dict[str, Any]:
    return to_wire(ReadProfile(name=user, host=host, port=993, security=Security.SSL, username=user))


def test_at_most_eight_jobs_run_the_rest_wait_in_order_and_more_are_refused_in_words(private_home: Path) -> None:
    """Before: every request started at once (a front end's bug or a hostile peer could start thousands of
    checks). Now 8 run, 64 wait in order (a cancel or a stop of a waiting one ends it at once and it never
    starts), and a request beyond that is refused with a 'failed' that says why."""
    total = MAX_RUNNING + MAX_WAITING

    async def go() -> None:
        w = await Proc.start(private_home)
        await w.send(*(_sleep(i) for i in range(1, total + 4)))
        refused = [await w.until(lambda e, i=i: e.get("id") == i and e["type"] == "failed")  # type: ignore[misc]
                   for i in range(total + 1, total + 4)]
        assert all(BUSY in r["message"] and "not started" in r["message"] for r in refused), refused
        await w.until(lambda e: e.get("id") == MAX_RUNNING and e["type"] == "started")
        await w.send({"type": "cancel", "id": MAX_RUNNING + 2}, {"type": "stop", "id": MAX_RUNNING + 3})
        await w.until(lambda e: e.get("id") == MAX_RUNNING + 3 and e["type"] == "cancelled")
        assert w.of(MAX_RUNNING + 2) == ["cancelled"]  # waiting: ended at once, never started
        started = {e["id"] for e in w.events if e["type"] == "started"}
        assert started == set(range(1, MAX_RUNNING + 1)), started
        await w.send({"type": "cancel", "id": 1}, {"type": "cancel", "id": 2})
        await w.until(lambda e: e.get("id") == MAX_RUNNING + 4 and e["type"] == "started")
        assert w.of(MAX_RUNNING + 1) == ["started"]  # the first in line went first
        assert w.of(MAX_RUNNING + 2) == ["cancelled"] and w.of(MAX_RUNNING + 3) == ["cancelled"]
        # four places are free in the line again (two cancelled, two went on to run): four more are taken
        await w.send(*(_sleep(i) for i in range(1000, 1005)))
        last = await w.until(lambda e: e.get("id") == 1004)
        assert last["type"] == "failed" and BUSY in last["message"]
        assert all(w.of(i) == [] for i in range(1000, 1004))
        assert await w.end() == 0

    asyncio.run(go())


def test_one_report_import_at_a_time_and_one_watch_per_mailbox(private_home: Path) -> None:
    """Before: a second report import, or a second watch of the same mailbox, ran next to the first. Now it is
    refused in words while the first runs or waits (here: waits, behind 8 running jobs); a watch of another
    mailbox, and an import once the first is cancelled, are taken."""
    async def go() -> None:
        w = await Proc.start(private_home)
        await w.send(*(_sleep(i) for i in range(1, MAX_RUNNING + 1)))
        files = [str(private_home / "a.xml")]
        await w.send(p.request(101, "reports_import", paths=files), p.request(102, "reports_import", paths=files))
        second = await w.until(lambda e: e.get("id") == 102)
        assert second["type"] == "failed" and "report import is already running" in second["message"]
        box, other = _mailbox("imap.example.net", "dmarc"), _mailbox("imap.example.net", "other")
        await w.send(p.request(201, "reports_watch", profile=box), p.request(202, "reports_watch", profile=box),
                     p.request(203, "reports_watch", profile=other))
        again = await w.until(lambda e: e.get("id") == 202)
        assert again["type"] == "failed" and "already being watched" in again["message"]
        await w.send(p.request(301, "watch_token", read=box, token="t1"),
                     p.request(302, "watch_token", read=box, token="t2"))
        token = await w.until(lambda e: e.get("id") == 302)
        assert token["type"] == "failed" and "already being watched" in token["message"]
        await w.send({"type": "cancel", "id": 101}, p.request(103, "reports_import", paths=files))
        await w.until(lambda e: e.get("id") == 101 and e["type"] == "cancelled")
        await w.send(p.request(104, "reports_import", paths=files))  # refused because 103 was taken (and waits)
        refused = await w.until(lambda e: e.get("id") == 104)
        assert refused["type"] == "failed" and "already running" in refused["message"]
        assert w.of(103) == [] and w.of(203) == [] and w.of(301) == []  # taken: waiting for a place
        assert await w.end() == 0

    asyncio.run(go())


def test_a_1gb_line_without_a_newline_is_refused_at_once_in_bounded_memory(private_home: Path) -> None:
    """Before: the reader kept up to two 64 MB pieces of the line (the worker peaked above 300 MB). Now it keeps
    at most the protocol's limit and drops the rest; the refusal comes before the line ends, and the next
    request after its end is served."""
    async def go() -> None:
        w = await Proc.start(private_home)
        piece = b"x" * (1 << 20)
        for _ in range(1024):
            await w.write(piece)
        refusal = await w.until(lambda e: e["type"] == "failed")
        assert refusal["id"] is None and "longer than the protocol allows" in refusal["message"]
        await w.write(b"\n" + p.encode(_sleep(7, 0)))
        await w.until(lambda e: e.get("id") == 7 and e["type"] == "finished")
        peak = w.peak_kb()
        assert peak < 200_000, f"the worker peaked at {peak} kB"
        assert await w.end() == 0

    asyncio.run(go())


def test_a_burst_of_100k_requests_runs_eight_and_refuses_the_rest_in_bounded_memory(private_home: Path) -> None:
    """Before: all 100 000 started at once (the worker grew past 350 MB). Now 8 run, 64 wait, every other one
    gets its 'failed', and the lines wait in the pipe, not in memory."""
    n = 100_000

    async def go() -> None:
        w = await Proc.start(private_home)
        await w.write(b"".join(p.encode(_sleep(i)) for i in range(1, n + 1)))
        await w.until(lambda e: e.get("id") == n, timeout=120)
        await w.send(p.request(n + 1, "sleep", seconds=0))
        await w.until(lambda e: e.get("id") == n + 1)
        started = [e["id"] for e in w.events if e["type"] == "started"]
        failed = [e for e in w.events if e["type"] == "failed"]
        assert started == list(range(1, MAX_RUNNING + 1)), started[:20]
        assert len(failed) == n - MAX_RUNNING - MAX_WAITING + 1  # the last: the line is still full
        assert all(BUSY in e["message"] for e in failed)
        peak = w.peak_kb()
        assert peak < 150_000, f"the worker peaked at {peak} kB"
        assert await w.end() == 0

    asyncio.run(go())


def test_bad_text_deep_nesting_and_a_cancel_storm_get_clear_answers_and_the_worker_stays_up(private_home: Path) -> None:
    """Invalid UTF-8, a lone surrogate escape ('\\ud800', valid JSON but not text), arrays nested 900 and
    100 000 deep, and 100 000 cancels of jobs that don't exist. Before: a request with a lone surrogate made its
    own 'failed' event unwritable (UTF-8 can't hold it), so that job never ended and the window waited forever.
    Now each gets its answer and the worker serves the next request."""
    async def go() -> None:
        w = await Proc.start(private_home)
        await w.write(b'{"id": 1, "type": "sleep", "params": {"seconds": 0, "x": "\xff\xfe"}}\n')
        bad = await w.until(lambda e: e["type"] == "failed")
        assert bad["id"] is None and "UTF-8" in bad["message"]
        await w.write(b'{"id": 2, "type": "detect_host", "params": {"domain": "\\ud800.example"}}\n'
                      b'{"id": 3, "type": "check", "params": {"domain": "\\udfff"}}\n')
        for job in (2, 3):
            e = await w.until(lambda e, job=job: e.get("id") == job and e["type"] in p.LAST_EVENTS)  # type: ignore[misc]
            assert e["type"] == "failed" and "not valid Unicode" in e["message"], e
        for depth, job in ((900, 4), (100_000, 5)):
            await w.write(b'{"id": %d, "type": "check", "params": {"domain": "a.example", "options": ' % job
                          + b"[" * depth + b"]" * depth + b"}}\n")
        deep = await w.until(lambda e: e.get("id") == 4 and e["type"] == "failed")
        assert "options" in deep["message"]
        await w.until(lambda e: e.get("id") is None and "not JSON" in e.get("message", ""))
        await w.write(b"".join(p.encode({"type": "cancel", "id": i}) for i in range(10_000, 110_000)))
        await w.send(p.request(6, "sleep", seconds=0))
        await w.until(lambda e: e.get("id") == 6 and e["type"] == "finished")
        assert not [e for e in w.events if isinstance(e.get("id"), int) and e["id"] >= 10_000]
        assert w.peak_kb() < 150_000
        assert await w.end() == 0

    asyncio.run(go())


def test_stdin_closed_while_a_job_is_stuck_in_a_thread_ends_the_worker_soon(private_home: Path) -> None:
    """A connection test to a mail server that accepts and never says a word: its thread waits on the socket.
    The GUI goes away (stdin ends). Before: the worker waited for that thread at exit (until the socket's
    30-second timeout, forever for a read with none). Now it ends by itself within seconds, exit code 0."""
    silent = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    async def go() -> float:
        w = await Proc.start(private_home)
        profile = to_wire(ReadProfile(name="silent", host="127.0.0.1", port=silent.getsockname()[1],
                                      security=Security.SSL, username="u"))
        await w.send(p.request(1, "profile_test", profile=profile, password="pw"))
        await w.until(lambda e: e.get("id") == 1 and e["type"] == "started")
        conn, _ = await asyncio.get_running_loop().run_in_executor(None, silent.accept)
        held.append(conn)  # accepted, never answered
        started = time.monotonic()
        assert await w.end(within=40) == 0
        return time.monotonic() - started

    try:
        took = asyncio.run(go())
    finally:
        for c in held:
            c.close()
        silent.close()
    assert took < 12, f"the worker took {took:.1f} s to end after its stdin closed"


def test_a_lone_surrogate_in_an_event_is_escaped_never_dropped() -> None:
    """An event whose text can't be UTF-8 (a file name read with surrogate escapes) still goes out, escaped."""
    line = p.encode({"id": 1, "type": "failed", "message": "bad name \udcff.xml"})
    assert line.endswith(b"\n") and json.loads(line)["message"] == "bad name \udcff.xml"
