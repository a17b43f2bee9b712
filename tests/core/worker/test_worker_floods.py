"""Floods on the worker's stdin (h11): a gigabyte of empty lines, and a stream of random bytes. Before: every
empty line went through the loop one at a time (300 MB of newlines took over two minutes before the next
request was served) and random bytes got a "could not read" answer per line for as long as they came. Now blank
lines are dropped as they are read, and a thousand unreadable lines in a row end the worker, said once."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from inboxready.core.worker import protocol as p
from inboxready.core.worker.server import MAX_UNREADABLE
from tests.core.worker.test_worker_limits import Proc, _sleep


def test_a_gigabyte_of_empty_lines_passes_in_seconds_and_the_next_request_is_served(private_home: Path) -> None:
    async def go() -> None:
        w = await Proc.start(private_home)
        blank = b"\n" * (1 << 20) + b" \r\n\t\n" * 1000
        started = time.monotonic()

        async def flood() -> None:
            for _ in range(1024):
                await w.write(blank)

        try:
            await asyncio.wait_for(flood(), 40)  # the pipe backs up while the worker is slow
        except TimeoutError:
            w.proc.kill()
            raise AssertionError("1 GB of blank lines was not read within 40 s") from None
        await w.send(_sleep(7, 0))
        await w.until(lambda e: e.get("id") == 7 and e["type"] == "finished", timeout=60)
        took = time.monotonic() - started
        assert took < 40, f"{took:.0f} s for 1 GB of blank lines"
        assert not [e for e in w.events if e["type"] == "failed"], w.events[-3:]
        assert w.peak_kb() < 200_000
        assert await w.end() == 0

    asyncio.run(go())


def test_a_stream_of_random_bytes_ends_the_worker_with_one_sentence(private_home: Path) -> None:
    async def go() -> None:
        w = await Proc.start(private_home)
        await w.send(_sleep(3, 0))
        await w.until(lambda e: e.get("id") == 3 and e["type"] == "finished")
        # garbage lines, each unreadable, then more than the worker takes: it stops reading and ends
        garbage = b"".join(os.urandom(200).replace(b"\n", b"-") + b"\n" for _ in range(MAX_UNREADABLE * 3))
        w.proc.stdin.write(garbage)  # type: ignore[union-attr]
        try:
            await asyncio.wait_for(w.proc.stdin.drain(), 30)  # type: ignore[union-attr]
        except (BrokenPipeError, ConnectionResetError):
            pass  # it stopped reading: the rest had nowhere to go
        code = await asyncio.wait_for(w.proc.wait(), 30)
        await w.reader
        failed = [e for e in w.events if e["type"] == "failed"]
        assert code == 0 and len(failed) == MAX_UNREADABLE
        assert "The engine stops" in failed[-1]["message"] and "not InboxReady's window" in failed[-1]["message"]
        assert all("could not read a request" in e["message"] for e in failed[:-1])

    asyncio.run(go())


def test_an_unreadable_line_now_and_then_never_stops_the_worker(private_home: Path) -> None:
    async def go() -> None:
        w = await Proc.start(private_home)
        for i in range(3):
            await w.write(b"not json\n" * (MAX_UNREADABLE - 1))
            await w.send(_sleep(10 + i, 0))
            await w.until(lambda e, i=i: e.get("id") == 10 + i and e["type"] == "finished")  # type: ignore[misc]
        assert not w.closed and not [e for e in w.events if "engine stops" in e.get("message", "")]
        assert await w.end() == 0

    asyncio.run(go())


def test_blank_lines_between_and_around_requests_change_nothing() -> None:
    """The reader itself: requests split across pieces, blank runs, a last line without a newline."""
    import io

    from inboxready.core.worker import server

    async def go() -> list[bytes]:
        stream = io.BytesIO(b"\n\n  \n" + p.encode(_sleep(1, 0)) + b"\n" * 5000 + b'   {"type": "shutdown"}')
        return [line async for line in server._stdin_lines(stream)]  # type: ignore[arg-type]

    lines = asyncio.run(go())
    assert [p.decode(x)["type"] for x in lines] == ["sleep", "shutdown"]
