"""The worker's loop: read requests, run each as an asyncio task, write its events; cancel on request.

``Worker`` is transport-free (``run(lines)`` reads from any async iterator of lines and ``write`` gets every
encoded event) so the protocol is tested without a process and without Qt; ``main()`` wires it to the
process's stdin/stdout. Every job ends with exactly one of ``finished``/``cancelled``/``failed``. A cancel
request is answered at once with ``cancelled`` (the job's task is cancelled too; whatever it still emits is
dropped), so the GUI never waits on a job that is stuck in a thread or a slow socket.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, BinaryIO

from . import protocol as p
from .params import check_params

log = logging.getLogger(__name__)


class Job:
    """One running request, as its handler sees it: the parameters, and the way to send events."""

    def __init__(self, worker: "Worker", job_id: int, kind: str, params: dict[str, Any]) -> None:
        self.worker = worker
        self.id = job_id
        self.kind = kind
        self.params = params
        self.over = False  # its last event was sent (or it was cancelled): nothing more goes out
        self.cancel_event = threading.Event()  # for work in a thread: set when the job is cancelled or stopped
        self.task: asyncio.Task[Any] | None = None

    def emit(self, kind: str, **fields: Any) -> None:
        """Send an event of this job (from the loop; from a thread it is handed to the loop)."""
        if self.worker.loop is not None and threading.get_ident() != self.worker.loop_thread:
            self.worker.loop.call_soon_threadsafe(functools.partial(self.emit, kind, **fields))
            return
        if self.over:
            return
        if kind in p.LAST_EVENTS:
            self.over = True
        self.worker.send({"id": self.id, "type": kind, **fields})

    def progress(self, data: Any) -> None:
        """A progress event (any thread)."""
        self.emit(p.PROGRESS, data=data)


Handler = Callable[[Job], Awaitable[Any]]


class Worker:
    """Runs requests with ``handlers[type](job)``; a handler's return value is the ``finished`` data."""

    def __init__(self, handlers: dict[str, Handler], write: Callable[[bytes], None]) -> None:
        self.handlers = handlers
        self.write = write
        self.jobs: dict[int, Job] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.loop_thread = 0
        self.closers: list[Callable[[], Any]] = []  # run once at the end (a handler's server, a store)
        self.state: dict[str, Any] = {}  # what handlers keep between requests (the demo server...)
        self._stopping = False

    def send(self, message: dict[str, Any]) -> None:
        try:
            self.write(p.encode(message))
        except (OSError, ValueError):  # the GUI went away: the end of stdin stops us soon
            log.warning("could not write an event", exc_info=True)

    async def run(self, lines: AsyncIterator[bytes]) -> None:
        """Say hello, then serve requests until ``shutdown`` or the end of ``lines``."""
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self.send({"type": p.HELLO, "version": p.PROTOCOL_VERSION, "pid": os.getpid(),
                   "jobs": sorted(self.handlers)})
        try:
            async for line in lines:
                if not line.strip():
                    continue
                if not self.handle_line(line):
                    break
        finally:
            await self.close()

    def handle_line(self, line: bytes) -> bool:
        """Act on one request line; False when the worker should stop."""
        try:
            msg = p.decode(line)
        except p.ProtocolError as exc:
            log.warning("bad request line: %s", exc)
            self.send({"type": p.FAILED, "id": None, "message": f"The engine could not read a request ({exc})."})
            return True
        kind = msg["type"]
        job_id = msg.get("id")
        if kind == p.SHUTDOWN:
            return False
        if kind == p.CANCEL:
            if isinstance(job_id, int):
                self.cancel(job_id)
            return True
        if kind == p.STOP:
            job = self.jobs.get(job_id) if isinstance(job_id, int) else None
            if job is not None:
                job.cancel_event.set()
            return True
        if not isinstance(job_id, int) or job_id <= 0:
            self.send({"type": p.FAILED, "id": None, "message": f"A {kind!r} request came without an id."})
            return True
        if job_id in self.jobs:  # never answered under that id: the running job's events stay its own
            self.send({"type": p.FAILED, "id": None, "message": f"A second {kind!r} request came with the job number "
                       f"{job_id} while job {job_id} is still running: it was not run (job {job_id} goes on)."})
            return True
        handler = self.handlers.get(kind)
        params = msg.get("params") or {}
        if handler is None or not isinstance(params, dict):
            what = f"unknown job type {kind!r}" if handler is None else "its parameters are not an object"
            self.send({"type": p.FAILED, "id": job_id, "message": f"The engine can't run this request ({what})."})
            return True
        problem = check_params(kind, params)
        if problem:
            log.warning("request %s (%s) refused: %s", job_id, kind, problem)
            self.send({"type": p.FAILED, "id": job_id, "message": f"The engine can't run this {kind!r} request: {problem}."})
            return True
        job = Job(self, job_id, kind, params)
        self.jobs[job_id] = job
        job.task = asyncio.ensure_future(self._run_job(job, handler))
        return True

    async def _run_job(self, job: Job, handler: Handler) -> None:
        job.emit(p.STARTED)
        try:
            data = await handler(job)
        except asyncio.CancelledError:
            job.emit(p.CANCELLED)
        except p.ProtocolError as exc:
            job.emit(p.FAILED, message=f"The engine can't run this request ({exc}).")
        except Exception as exc:  # a bug in the core: say so, never leave the window waiting
            text = _scrubbed(job, f"{type(exc).__name__}: {exc}")
            log.error("job %s (%s) failed: %s", job.id, job.kind, _scrubbed(job, _where(exc)))
            job.emit(p.FAILED, message=f"The engine couldn't finish this {job.kind!r} request ({text}).")
        else:
            job.emit(p.FINISHED, data=data)
        finally:
            self.jobs.pop(job.id, None)

    def cancel(self, job_id: int) -> None:
        """Cancel job ``job_id``: ``cancelled`` goes out now, its task is cancelled, later events dropped."""
        job = self.jobs.get(job_id)
        if job is None or job.over:
            return
        job.emit(p.CANCELLED)
        job.cancel_event.set()
        if job.task is not None:
            job.task.cancel()

    async def close(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        tasks = [j.task for j in self.jobs.values() if j.task is not None]
        for job in list(self.jobs.values()):
            job.cancel_event.set()
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        for closer in reversed(self.closers):
            try:
                result = closer()
                if asyncio.iscoroutine(result):
                    await asyncio.wait_for(result, 5)
            except Exception:  # noqa: BLE001 - closing must go on with the next
                log.warning("closing failed", exc_info=True)


def _secrets_of(value: Any, depth: int = 0) -> list[str]:
    """The secret strings a request carries (a password typed for a connection test, a token): every string
    value under a key that names a secret, at any depth."""
    out: list[str] = []
    if depth > 20:
        return out
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, str) and any(w in str(k).lower() for w in _SECRET_KEYS):
                out.append(v)
            else:
                out.extend(_secrets_of(v, depth + 1))
    elif isinstance(value, list):
        for v in value:
            out.extend(_secrets_of(v, depth + 1))
    return out


_SECRET_KEYS = ("password", "secret", "token", "api_key", "apikey", "passphrase")


def _scrubbed(job: Job, text: str) -> str:
    """``text`` (an exception, a traceback) without the job's secrets or any token (``credentials.scrub``)."""
    from ..store.credentials import scrub

    return scrub(text, *_secrets_of(job.params))


def _where(exc: BaseException) -> str:
    import traceback

    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-8))


async def _stdin_lines(stream: BinaryIO) -> AsyncIterator[bytes]:
    """The lines of ``stream`` (read in a helper thread: a pipe can't be awaited portably on Windows)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def reader() -> None:
        skipping = False  # inside a line longer than the protocol allows: its rest is never a request
        try:
            for line in iter(lambda: stream.readline(p.MAX_LINE + 1), b""):
                if skipping:
                    skipping = not line.endswith(b"\n")
                    continue
                if len(line) > p.MAX_LINE and not line.endswith(b"\n"):
                    skipping = True  # the first part is refused (too long); the rest is dropped up to its end
                loop.call_soon_threadsafe(queue.put_nowait, line)
        except (OSError, ValueError):
            pass
        finally:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, None)
            except RuntimeError:  # the loop is closed already
                pass

    threading.Thread(target=reader, name="worker-stdin", daemon=True).start()
    while True:
        line = await queue.get()
        if line is None:
            return
        yield line


def main(handlers: dict[str, Handler]) -> int:
    """``inboxready worker``: serve the protocol on stdin/stdout with ``handlers`` (``handlers.default_handlers()``
    and the app's, see ``app/cli/worker.py``) until told to stop or stdin ends.

    The protocol gets the real stdout; file descriptor 1 and ``sys.stdout`` are pointed at stderr, so a stray
    ``print`` anywhere in the core can't break a line. stderr is the log (the GUI sends it to a file)."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    logging.basicConfig(level=os.environ.get("INBOXREADY_WORKER_LOG", "WARNING").upper(), stream=sys.stderr,
                        format="%(asctime)s worker %(process)d %(levelname)s %(name)s: %(message)s")

    def write(data: bytes) -> None:
        out.write(data)
        out.flush()

    log.info("worker %d started (executable %s, frozen %s, protocol %d)", os.getpid(),
             os.path.realpath(sys.executable), bool(getattr(sys, "frozen", False)), p.PROTOCOL_VERSION)
    worker = Worker(handlers, write)
    try:
        asyncio.run(worker.run(_stdin_lines(sys.stdin.buffer)))
    except KeyboardInterrupt:
        return 1
    return 0


__all__ = ["Handler", "Job", "Worker", "main"]
