"""The worker's loop: read requests, run each as an asyncio task, write its events; cancel on request.

``Worker`` is transport-free (``run(lines)`` reads from any async iterator of lines and ``write`` gets every
encoded event) so the protocol is tested without a process and without Qt; ``main()`` wires it to the
process's stdin/stdout. Every job ends with exactly one of ``finished``/``cancelled``/``failed``. A cancel
request is answered at once with ``cancelled`` (the job's task is cancelled too; whatever it still emits is
dropped), so the GUI never waits on a job that is stuck in a thread or a slow socket.

Limits (a front end's bug or a hostile peer can't start thousands of jobs): at most ``MAX_RUNNING`` jobs run at
once; up to ``MAX_WAITING`` more wait in order (a waiting job says ``started`` when it starts; a cancel ends
it at once); a request beyond that is refused with ``failed`` saying why. Some jobs are one at a time
(``EXCLUSIVE``): a second report import, or a second watch of the same mailbox, is refused while the first
runs or waits. The lines read ahead of the loop are bounded too (``READ_AHEAD``): a burst of requests waits in
the pipe, not in memory. Blank lines are dropped as they are read (a gigabyte of them passes in seconds), and
``MAX_UNREADABLE`` unreadable lines in a row (garbage, not the app) end the worker with one ``failed`` saying so.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, BinaryIO

from . import protocol as p
from .params import check_params

log = logging.getLogger(__name__)

MAX_RUNNING = 8  # jobs running at once
MAX_WAITING = 64  # jobs waiting for a free place; a request beyond that is refused
MAX_UNREADABLE = 1000  # request lines in a row that can't be read (not JSON, not UTF-8...): then the worker stops
READ_AHEAD = 256  # request lines read from stdin before the loop has taken them (then the reader waits)
READ_CHUNK = 1024 * 1024  # stdin is read in pieces of this size (a line is joined only when it fits the limit)


def _mailbox(params: dict[str, Any], name: str) -> str:
    """The mailbox a profile parameter names (its server and user name), for 'one watch per mailbox'."""
    wire = params.get(name)
    f = wire.get("f") if isinstance(wire, dict) else None
    if not isinstance(f, dict):
        return ""
    return f"{str(f.get('host', '')).lower()}/{f.get('port', '')}/{f.get('username', '') or f.get('name', '')}"


# job type -> (what makes two requests "the same", the words for one that is running); at most one at a time
EXCLUSIVE: dict[str, tuple[Callable[[dict[str, Any]], str], str]] = {
    "reports_import": (lambda params: "", "A report import is already running: wait for it to finish (or stop it), "
                                          "then import these files."),
    "reports_watch": (lambda params: _mailbox(params, "profile"),
                      "This report mailbox is already being watched: stop that watch first."),
    "watch_token": (lambda params: _mailbox(params, "read"),
                    "This mailbox is already being watched for a test message: wait for that one, or cancel it."),
}


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
        self.jobs: dict[int, Job] = {}  # running or waiting
        self.waiting: deque[tuple[Job, Handler]] = deque()
        self.running = 0
        self.max_running = MAX_RUNNING
        self.max_waiting = MAX_WAITING
        self._refused = 0  # requests refused since one was last taken
        self._unreadable = 0  # request lines in a row that could not be read
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
            self._unreadable += 1
            if self._unreadable >= MAX_UNREADABLE:  # not the app writing: a stream of garbage, said once
                log.warning("%d unreadable request lines in a row: stopping", self._unreadable)
                self.send({"type": p.FAILED, "id": None, "message": f"The engine stops: {MAX_UNREADABLE:,} requests "
                           "in a row could not be read, so what writes to it is not InboxReady's window."})
                return False
            log.log(logging.WARNING if self._unreadable == 1 else logging.DEBUG, "bad request line: %s", exc)
            self.send({"type": p.FAILED, "id": None, "message": f"The engine could not read a request ({exc})."})
            return True
        self._unreadable = 0
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
            if job is not None and job.task is None:
                self.cancel(job.id)  # a job still waiting has done nothing: stopping it is cancelling it
            elif job is not None:
                job.cancel_event.set()
            return True
        if not isinstance(job_id, int) or job_id <= 0:
            self.send({"type": p.FAILED, "id": None, "message": f"A {kind!r} request came without an id."})
            return True
        if job_id in self.jobs:  # never answered under that id: the running job's events stay its own
            self.send({"type": p.FAILED, "id": None, "message": f"A second {kind!r} request came with the job number "
                       f"{job_id} while job {job_id} is still running: it was not run (job {job_id} goes on)."})
            return True
        if p.lone_surrogate(msg):  # JSON may escape one ("\\ud800"), but it is not text: nothing could use it
            log.warning("request %s refused: a lone surrogate", job_id)
            self.send({"type": p.FAILED, "id": job_id, "message": "The engine can't run this request: it holds text "
                       "that is not valid Unicode (a lone surrogate escape such as \\ud800)."})
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
        refusal = self._refusal(kind, params)
        if refusal:  # (a burst of refusals is logged once: the log is not flooded)
            log.log(logging.DEBUG if self._refused else logging.WARNING, "request %s (%s) refused: %s", job_id, kind,
                    refusal)
            self._refused += 1
            self.send({"type": p.FAILED, "id": job_id, "message": refusal})
            return True
        self._refused = 0
        job = Job(self, job_id, kind, params)
        self.jobs[job_id] = job
        if self.running < self.max_running:
            self._start(job, handler)
        else:
            self.waiting.append((job, handler))
        return True

    def _refusal(self, kind: str, params: dict[str, Any]) -> str:
        """Why a new ``kind`` request can't be taken now ('' when it can)."""
        rule = EXCLUSIVE.get(kind)
        if rule is not None:
            same, words = rule
            key = same(params)
            if any(j.kind == kind and same(j.params) == key for j in self.jobs.values() if not j.over):
                return words
        if self.running >= self.max_running and len(self.waiting) >= self.max_waiting:
            return (f"{p.BUSY} ({self.running} tasks running and {len(self.waiting)} waiting), "
                    "so this one was not started. Nothing was changed: try again when some have finished.")
        return ""

    def _start(self, job: Job, handler: Handler) -> None:
        self.running += 1
        job.task = asyncio.ensure_future(self._run_job(job, handler))

    def _start_waiting(self) -> None:
        while self.waiting and self.running < self.max_running and not self._stopping:
            job, handler = self.waiting.popleft()
            if not job.over:  # (a cancelled one left the line already)
                self._start(job, handler)

    async def _run_job(self, job: Job, handler: Handler) -> None:
        try:
            await self._run_handler(job, handler)
        finally:
            self.running -= 1
            self.jobs.pop(job.id, None)
            self._start_waiting()

    async def _run_handler(self, job: Job, handler: Handler) -> None:
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

    def cancel(self, job_id: int) -> None:
        """Cancel job ``job_id``: ``cancelled`` goes out now, its task is cancelled, later events dropped."""
        job = self.jobs.get(job_id)
        if job is None or job.over:
            log.debug("cancel of job %s, which is not running", job_id)
            return
        job.emit(p.CANCELLED)
        job.cancel_event.set()
        if job.task is not None:
            job.task.cancel()
        else:  # still waiting for a place: it never starts
            self.jobs.pop(job_id, None)
            self.waiting = deque(w for w in self.waiting if w[0] is not job)

    async def close(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        for job, _handler in list(self.waiting):  # never started: each still ends with its last event
            self.cancel(job.id)
        self.waiting.clear()
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
    """The lines of ``stream`` (read in a helper thread: a pipe can't be awaited portably on Windows).

    Read in pieces of ``READ_CHUNK`` (blank lines are dropped here): a line longer than the protocol allows is never held whole (its first
    ``MAX_LINE`` bytes at most; then a ``p.OverlongLine`` stands for it and the rest is dropped up to its end,
    never read as a request). At most ``READ_AHEAD`` lines wait for the loop: beyond that the reader waits,
    so a burst of requests stays in the pipe, not in memory."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    room = threading.Semaphore(READ_AHEAD)

    def put(line: bytes) -> None:
        room.acquire()
        loop.call_soon_threadsafe(queue.put_nowait, line)

    def reader() -> None:
        parts: list[bytes] = []
        size = 0
        skipping = False  # inside a line longer than the protocol allows: its rest is never a request
        # whole pieces, split here: reading a line at a time costs about 0.2 s per million lines, so a flood of
        # empty lines (a gigabyte of newlines) took minutes; a piece with nothing but blanks is dropped at once
        read = getattr(stream, "read1", None) or stream.read
        try:
            for chunk in iter(lambda: read(READ_CHUNK), b""):
                if not parts and not skipping and chunk.isspace():
                    continue
                pieces = chunk.split(b"\n")
                for i, piece in enumerate(pieces):
                    ended = i < len(pieces) - 1  # a newline follows this piece
                    if not ended and not piece:
                        break
                    if not skipping:
                        parts.append(piece)
                        size += len(piece) + ended
                        if size > p.MAX_LINE:
                            parts, skipping = [], True
                            put(p.OverlongLine(size))
                    if ended:
                        if not skipping and (len(parts) > 1 or parts[0].strip()):
                            put(b"".join(parts) + b"\n")
                        parts, size, skipping = [], 0, False
            if parts and b"".join(parts).strip():
                put(b"".join(parts))
        except (OSError, ValueError, RuntimeError):  # stdin broke, or the loop is closed already
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
        room.release()
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
    loop = asyncio.new_event_loop()
    threads = ThreadPoolExecutor(thread_name_prefix=JOB_THREAD)  # the jobs' threads (``asyncio.to_thread``)
    loop.set_default_executor(threads)
    try:
        loop.run_until_complete(worker.run(_stdin_lines(sys.stdin.buffer)))
        stuck = _end_loop(loop, threads)
    except KeyboardInterrupt:
        return 1
    finally:
        loop.close()
    if stuck:  # a job's thread never came back (a file or server that never answers): it can't keep us alive
        log.warning("worker %d ends with %d job thread(s) still busy", os.getpid(), stuck)
        logging.shutdown()
        out.flush()
        os._exit(0)
    return 0


JOB_THREAD = "worker-job"
EXIT_GRACE = 1.0  # seconds what is left of the jobs gets to end once the worker is told to end (after ``close``)


def _end_loop(loop: asyncio.AbstractEventLoop, threads: ThreadPoolExecutor) -> int:
    """What ``asyncio.run`` does at the end (cancel what is left, close the generators, end the threads), but
    waiting at most ``EXIT_GRACE`` for the threads; the number of job threads still busy then."""
    left = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in left:
        t.cancel()
    if left:
        loop.run_until_complete(asyncio.wait(left, timeout=EXIT_GRACE))
    loop.run_until_complete(loop.shutdown_asyncgens())
    threads.shutdown(wait=False, cancel_futures=True)
    end = time.monotonic() + EXIT_GRACE
    busy = [th for th in threading.enumerate() if th.name.startswith(JOB_THREAD)]
    for th in busy:
        th.join(max(0.0, end - time.monotonic()))
    return sum(th.is_alive() for th in busy)


__all__ = ["Handler", "Job", "Worker", "main"]
