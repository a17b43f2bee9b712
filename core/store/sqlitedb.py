"""Opening the app's SQLite files (check history, report store) the same careful way.

``connect_durable`` opens a database in WAL mode with ``synchronous=FULL`` (a committed transaction survives
a crash or a power cut), checks it (``quick_check``), refuses one made by a newer InboxReady, runs the
caller's ``setup`` (its schema, written so that it changes nothing when the schema is already there) and
stamps the schema version only when it changed. Opening an up-to-date database writes nothing, so it never
waits for another process that is writing (an import): WAL lets readers in while a writer works.

Every failure is a ``DbProblem`` with a ``kind`` and a sentence for the user:

* ``busy``: another process holds the database (SQLITE_BUSY / SQLITE_LOCKED) past the wait allowed;
* ``readonly``, ``full`` (SQLITE_FULL, ENOSPC, EDQUOT), ``permission``, ``folder`` (the path is a folder),
  ``newer`` (made by a newer InboxReady), ``foreign`` (a database of another program), ``io``;
* ``damaged``: not a database (SQLITE_NOTADB), SQLITE_CORRUPT, or ``quick_check`` fails;
* ``in-use``: damaged, but another process has it open, so it was left where it is.

Only ``damaged`` is ever moved aside (by ``open_or_start_afresh``: ``NAME.damaged-…`` with its
``-wal``/``-shm``, then a fresh file), and never while another process has the file open (``in_use``
tries a lock that conflicts with every SQLite connection's: in WAL mode each open connection holds a read
lock on the database file's shared-lock range). Busy, read-only, full or permission problems leave every
file where it is and say what to do.

Files are private: a new database is created 0600 (its ``-wal``/``-shm`` take the same mode, as SQLite
does), an existing one is narrowed to 0600, in a folder made 0700 (``settings.private_dir``: the app's data
folder is narrowed to 0700 too).
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import stat
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Self
from pathlib import Path

from .settings import move_aside, private_dir

FILE_MODE = 0o600
_BUSY_STEP_S = 1.0           # one attempt's busy timeout while waiting for another process
_LOW_SPACE = 64 * 1024       # an I/O error with less free space than this is a full disk

# SQLite primary result codes
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _AUTH, _NOTADB = 3, 5, 6, 8, 10, 11, 13, 14, 23, 26


class DbProblem(sqlite3.DatabaseError):
    """Why a database could not be opened or written. ``kind``: see the module text; ``str()`` is a
    sentence for the user; ``detail`` is SQLite's or the OS's own words. (An ``sqlite3.DatabaseError``, so
    callers that catch those keep working.)"""

    def __init__(self, kind: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.detail = detail


def kind_of(exc: BaseException, path: Path | None = None) -> str:
    """The ``DbProblem`` kind of an ``sqlite3.Error`` or ``OSError`` (``io`` when nothing more is known)."""
    if isinstance(exc, DbProblem):
        return exc.kind
    if isinstance(exc, OSError):
        code = exc.errno
        if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
            return "full"
        if code in (errno.EACCES, errno.EPERM):
            return "permission"
        if code == errno.EROFS:
            return "readonly"
        if code == errno.EISDIR:
            return "folder"
        return "io"
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        text = str(exc).lower()
        primary = code & 0xFF if isinstance(code, int) else None
        if primary in (_BUSY, _LOCKED) or "database is locked" in text or "database table is locked" in text:
            return "busy"
        if primary == _FULL or "database or disk is full" in text:
            return "full"
        if primary == _READONLY or "readonly database" in text:
            return "readonly"
        if primary in (_PERM, _AUTH):
            return "permission"
        if primary in (_CORRUPT, _NOTADB) or "file is not a database" in text or "malformed" in text:
            return "damaged"
        if primary == _CANTOPEN or "unable to open" in text:
            if path is not None and path.is_dir():
                return "folder"
            if path is not None and _read_only_fs(path):
                return "readonly"
            if path is not None and _low_space(path):
                return "full"
            if path is not None and not _writable(path):
                return "permission"
            return "io"
        if primary == _IOERR or "disk i/o error" in text:
            return "full" if path is not None and _low_space(path) else "io"
        return "io"
    return "io"


def _low_space(path: Path) -> bool:
    for p in (path.parent, *path.parents):
        if p.exists():
            try:
                return shutil.disk_usage(p).free < _LOW_SPACE
            except OSError:
                return False
    return False


def _read_only_fs(path: Path) -> bool:
    try:
        return bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def _writable(path: Path) -> bool:
    target = path if path.exists() else path.parent
    return os.access(target, os.W_OK)


def explain(kind: str, what: str, path: Path, detail: str = "") -> str:
    """The sentence for a problem of ``kind`` with ``what`` ("the report store") at ``path``."""
    what_cap = what[:1].upper() + what[1:]
    said = f" ({detail})" if detail else ""
    if kind == "busy":
        return (f"{what_cap} is in use by another InboxReady (an import or a check is writing to it); try again "
                f"when it has finished. Nothing was changed. ({path})")
    if kind == "full":
        return (f"The disk is full: {what} can't be written ({path}). Free some space and try again; nothing "
                "already saved was lost.")
    if kind == "readonly":
        return f"{what_cap} is read-only ({path}): InboxReady can't write to it{said}."
    if kind == "permission":
        return f"InboxReady is not allowed to open {what} ({path}): check the file's and its folder's permissions."
    if kind == "folder":
        return (f"{path} is a folder, not a database file: give a file name for {what}, e.g. "
                f"{path / 'reports.sqlite3'}. Nothing was changed.")
    if kind == "newer":
        return (f"{what_cap} was made by a newer InboxReady{said}; update InboxReady to use it. It was left as it "
                f"is ({path}).")
    if kind == "foreign":
        return (f"{path} is a database of another program, not {what}{said}; it was left as it is. Choose "
                "another file.")
    if kind == "in-use":
        return (f"{what_cap} looks damaged{said}, but another program has it open, so it was left where it is "
                f"({path}). Close the other InboxReady and try again.")
    if kind == "damaged":
        return f"{what_cap} could not be read{said} ({path})."
    return f"{what_cap} could not be opened or written ({path}){said}."


def problem_of(exc: BaseException, what: str, path: Path) -> DbProblem:
    """``exc`` (``sqlite3.Error`` / ``OSError``) as a ``DbProblem`` worded for ``what`` at ``path``."""
    if isinstance(exc, DbProblem):
        return exc
    kind = kind_of(exc, path)
    detail = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
    return DbProblem(kind, explain(kind, what, path, detail if kind in ("readonly", "io", "damaged") else ""),
                     detail)


def _private_file(path: Path) -> None:
    """Create ``path`` 0600 when missing (so SQLite's -wal/-shm are 0600 too); narrow an existing one."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), FILE_MODE)
    try:
        if os.name == "posix":
            st = os.fstat(fd)
            if stat.S_IMODE(st.st_mode) & 0o077 and st.st_uid == os.getuid():
                os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    if os.name == "posix":
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            try:
                st = side.stat()
                if stat.S_IMODE(st.st_mode) & 0o077 and st.st_uid == os.getuid():
                    os.chmod(side, FILE_MODE)
            except OSError:
                pass


def _connect_once(path: Path, schema_version: int, setup: Callable[[sqlite3.Connection], None],
                  busy_s: float, timeout: float) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), timeout=busy_s, isolation_level=None, check_same_thread=False)
    try:
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        row = db.execute("PRAGMA quick_check").fetchone()
        if row is None or row[0] != "ok":
            raise DbProblem("damaged", "", f"integrity check failed: {row[0] if row else 'no answer'}")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > schema_version:
            raise DbProblem("newer", "", f"schema {version}")
        try:
            setup(db)
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorcode", None) == 1:  # SQLITE_ERROR: our schema doesn't fit its tables
                raise DbProblem("foreign", "", str(exc)) from None
            raise
        if version != schema_version:
            db.execute(f"PRAGMA user_version={schema_version}")
        db.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    except BaseException:
        db.close()
        raise
    return db


def connect_durable(path: Path, *, schema_version: int, setup: Callable[[sqlite3.Connection], None],
                    timeout: float = 5.0, what: str = "the database", wait: float = 0.0,
                    on_wait: Callable[[str], None] | None = None) -> sqlite3.Connection:
    """Open ``path`` (autocommit mode, usable from several threads under the caller's lock), or raise
    ``DbProblem``. ``setup(db)`` must write nothing when the schema is already there. While another process
    holds the file (busy), keep trying for up to ``wait`` seconds (``on_wait(sentence)`` once, when the
    waiting starts). ``timeout``: the connection's busy timeout afterwards, for the caller's statements."""
    if path.is_dir():
        raise DbProblem("folder", explain("folder", what, path))
    deadline = time.monotonic() + max(0.0, wait)
    told = False
    while True:
        try:
            private_dir(path.parent)
            _private_file(path)
            return _connect_once(path, schema_version, setup, min(_BUSY_STEP_S, max(0.05, wait)) if wait else
                                 timeout, timeout)
        except DbProblem as p:
            raise DbProblem(p.kind, explain(p.kind, what, path, p.detail), p.detail) from None
        except (sqlite3.Error, OSError) as exc:
            problem = problem_of(exc, what, path)
            if problem.kind != "busy" or time.monotonic() >= deadline:
                raise problem from None
            if not told and on_wait is not None:
                told = True
                on_wait(f"{what[:1].upper() + what[1:]} is busy: another InboxReady is writing to it; waiting "
                        f"(up to {_duration(wait)})…")
            time.sleep(0.05)


def _duration(seconds: float) -> str:
    if seconds >= 90:
        return f"{round(seconds / 60)} minutes"
    return f"{round(seconds)} seconds"


def in_use(path: Path) -> bool:
    """True when another connection (another process, or another connection in this one) has the SQLite
    database ``path`` open: a write lock on its shared-lock range, or on its ``-shm`` file's "in use" byte,
    would conflict. On Windows an open database can't be renamed anyway (False here)."""
    if os.name != "posix":
        return False
    import fcntl
    import struct

    linux = sys.platform.startswith("linux")
    # Open-file-description locks (Linux) belong to the probe's descriptor: closing it drops nothing. Classic
    # POSIX locks belong to the process: closing any descriptor of the file would drop the locks this
    # process's own SQLite connections hold, so there the probe's descriptor is kept open.
    cmd = getattr(fcntl, "F_OFD_GETLK", None) if linux else None
    pending = 0x40000000  # SQLite's PENDING_BYTE; its shared-lock range is PENDING_BYTE + 2, 510 bytes
    for target, start, length in ((path, pending + 2, 510), (path.with_name(path.name + "-shm"), 128, 1)):
        try:
            fd = os.open(target, os.O_RDWR)
        except OSError:
            continue
        try:
            if linux:
                got = fcntl.fcntl(fd, cmd or fcntl.F_GETLK,
                                  struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, start, length, 0))
                l_type = struct.unpack_from("h", got)[0]
            else:  # BSD / macOS: off_t l_start, off_t l_len, pid_t l_pid, short l_type, short l_whence
                got = fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack("qqihh", start, length, 0, fcntl.F_WRLCK,
                                                                 os.SEEK_SET))
                l_type = struct.unpack_from("qqihh", got)[3]
            busy = l_type != fcntl.F_UNLCK
        except OSError:
            busy = True  # can't tell: be careful
        if cmd is not None:
            os.close(fd)
        else:
            _KEPT_OPEN.append(fd)
        if busy:
            return True
    return False


_KEPT_OPEN: list[int] = []


@dataclass
class Opened:
    """What ``open_or_start_afresh`` did: ``db`` (None when it could not open: ``error``), and when the old
    file was damaged, why (``damaged``) and where it was kept (``moved_to``)."""

    db: sqlite3.Connection | None
    damaged: str | None = None
    moved_to: Path | None = None
    error: DbProblem | None = None


def open_or_start_afresh(path: Path, connect: Callable[[], sqlite3.Connection], *,
                         what: str = "the database") -> Opened:
    """``connect()`` (which raises ``DbProblem``); when the file is damaged and nobody else has it open,
    move it aside and start a fresh one. Anything else (busy, full, read-only, …) is returned as ``error``
    with every file left in place."""
    try:
        return Opened(connect())
    except DbProblem as first:
        if first.kind != "damaged":
            return Opened(None, error=first)
        reason = first.detail or "damaged"
    except (sqlite3.Error, OSError) as exc:  # a connect that did not word it
        p = problem_of(exc, what, path)
        if p.kind != "damaged":
            return Opened(None, error=p)
        reason = p.detail or "damaged"
    if in_use(path):
        return Opened(None, reason, None, DbProblem("in-use", explain("in-use", what, path, reason), reason))
    moved = move_aside(path, ("-wal", "-shm"))
    if moved is None:
        return Opened(None, reason, None, DbProblem("io", explain("damaged", what, path, reason) +
                                                    " It could not be moved aside.", reason))
    try:
        return Opened(connect(), reason, moved)
    except DbProblem as exc:
        return Opened(None, reason, moved, exc)
    except (sqlite3.Error, OSError) as exc:
        return Opened(None, reason, moved, problem_of(exc, what, path))


def begin_write(db: sqlite3.Connection, *, what: str, path: Path, wait: float,
                on_wait: Callable[[str], None] | None = None, cancel: Callable[[], bool] | None = None,
                busy_s: float = _BUSY_STEP_S) -> None:
    """``BEGIN IMMEDIATE``, waiting up to ``wait`` seconds while another process writes (``on_wait`` once,
    as soon as the file is found busy; ``cancel()`` ends the wait early). Raises ``DbProblem`` (``busy`` after
    the wait, or whatever else stopped it). The connection's busy timeout is restored afterwards."""
    deadline = time.monotonic() + max(0.0, wait)
    restore = db.execute("PRAGMA busy_timeout").fetchone()[0]
    db.execute(f"PRAGMA busy_timeout={int(min(0.2, max(0.0, wait)) * 1000)}")  # notice a busy file quickly
    told = False
    try:
        while True:
            try:
                db.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.Error as exc:
                p = problem_of(exc, what, path)
                if p.kind != "busy":
                    raise p from None
                left = deadline - time.monotonic()
                if left <= 0 or (cancel is not None and cancel()):
                    raise p from None
                if not told:
                    told = True
                    if on_wait is not None:
                        on_wait(f"Another InboxReady is writing to {what} (an import?); waiting for it "
                                f"(up to {_duration(wait)})…")
                db.execute(f"PRAGMA busy_timeout={int(max(0.05, min(busy_s, left)) * 1000)}")
    finally:
        db.execute(f"PRAGMA busy_timeout={int(restore)}")


__all__ = ["DbProblem", "OpenStore", "Opened", "begin_write", "connect_durable", "explain", "in_use", "kind_of",
           "open_or_start_afresh", "problem_of"]


class OpenStore:
    """What the history and the report store share once opened: ``_db`` (None when it couldn't be opened) and
    the ``_lock`` that guards it; ``available``, ``close`` and use as a context manager."""

    _db: sqlite3.Connection | None
    _lock: AbstractContextManager[Any]  # a Lock or an RLock

    @property
    def available(self) -> bool:
        return self._db is not None

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
