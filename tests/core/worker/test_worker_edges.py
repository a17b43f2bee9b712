"""The worker against hostile or broken request lines: a reused job number never ends the job that owns it,
the rest of an over-long line is never run as a request, and a failing job's message and log never carry a
secret it was given."""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Any, AsyncIterator

import pytest

from inboxready.core.worker import protocol as p
from inboxready.core.worker import server
from inboxready.core.worker.server import Job, Worker


async def _serve(source: AsyncIterator[bytes], handlers: dict[str, Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    worker = Worker(handlers, lambda data: events.append(p.decode(data)))
    await worker.run(source)
    return events


def _lines(*lines: bytes, tail: float = 0.5) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        for line in lines:
            yield line
            await asyncio.sleep(0.02)
        await asyncio.sleep(tail)

    return gen()


def test_a_reused_job_number_is_refused_without_ending_the_running_job() -> None:
    """Before: the refusal went out as 'failed' under the running job's number, so the window took that job
    (a publish, say) for failed while it went on and applied."""
    async def slow(job: Job) -> str:
        await asyncio.sleep(0.2)
        return "done"

    events = asyncio.run(_serve(_lines(p.encode(p.request(1, "slow")), p.encode(p.request(1, "slow"))),
                                {"slow": slow}))
    mine = [e["type"] for e in events if e.get("id") == 1]
    assert mine == ["started", "finished"], events
    refusal = [e for e in events if e["type"] == "failed"]
    assert len(refusal) == 1 and refusal[0]["id"] is None and "1" in refusal[0]["message"]
    assert "still running" in refusal[0]["message"]


def test_the_rest_of_an_overlong_line_is_never_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: a line longer than the protocol allows was cut at the limit, the first part refused, and what
    followed it on the same line read as a request of its own (and run)."""
    monkeypatch.setattr(p, "MAX_LINE", 1000)
    ran: list[int] = []

    async def quick(job: Job) -> int:
        ran.append(job.id)
        return job.id

    hidden = b'{"id":7,"type":"quick"}'
    stream = io.BytesIO(b"x" * 1001 + hidden + b"\n" + b"y" * 3000 + hidden + b"\n" + p.encode(p.request(8, "quick")))

    async def lines() -> AsyncIterator[bytes]:
        async for line in server._stdin_lines(stream):
            yield line
        await asyncio.sleep(0.5)  # stdin stays open a moment (its end stops the worker)

    async def go() -> list[dict[str, Any]]:
        return await _serve(lines(), {"quick": quick})

    events = asyncio.run(go())
    assert ran == [8], events
    refused = [e for e in events if e["type"] == "failed" and e["id"] is None]
    assert len(refused) == 2 and all("longer than the protocol allows" in e["message"] for e in refused)


def test_a_failing_job_never_says_or_logs_the_password_it_was_given(caplog: pytest.LogCaptureFixture) -> None:
    """A connection test gets the password just typed; a library error that echoes it (as some servers'
    and libraries' messages do) went out whole in the failed event and in the worker's log."""
    password = 'p"ä\nss w0rd!'

    async def leaky(job: Job) -> None:
        raise ValueError(f"login failed for user bob with password {job.params['password']}")

    caplog.set_level(logging.DEBUG)
    # a job of its own name: the real profile_test's parameters are checked before it runs (params.py)
    events = asyncio.run(_serve(_lines(p.encode(p.request(3, "leaky_test", password=password,
                                                          profile={"imap": {"token": "tok-123456789"}}))),
                                {"leaky_test": leaky}))
    failed = [e for e in events if e.get("id") == 3 and e["type"] == "failed"]
    assert failed and "login failed" in failed[0]["message"]
    assert password not in failed[0]["message"] and "p\"ä" not in failed[0]["message"]
    assert password not in caplog.text and 'p"ä' not in caplog.text
