"""Opening the app's SQLite files (check history, report store) the same careful way.

``connect_durable`` opens a database in WAL mode with ``synchronous=FULL`` (a committed transaction survives
a crash or a power cut), checks it (``quick_check``), refuses one made by a newer InboxReady, runs the
caller's ``setup`` (its schema) and stamps the schema version. ``open_or_start_afresh`` tries that, and when
the file is damaged moves it aside (``NAME.damaged-…``, with its ``-wal``/``-shm``) and starts a new one, so
the app keeps working and nothing is deleted; the caller words the problem for the user.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .settings import move_aside


def connect_durable(path: Path, *, schema_version: int, setup: Callable[[sqlite3.Connection], None],
                    timeout: float = 5.0) -> sqlite3.Connection:
    """Open ``path`` (autocommit mode, usable from several threads under the caller's lock); raise
    ``sqlite3.DatabaseError`` when it is damaged or too new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        row = db.execute("PRAGMA quick_check").fetchone()
        if row is None or row[0] != "ok":
            raise sqlite3.DatabaseError(f"integrity check failed: {row[0] if row else 'no answer'}")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > schema_version:
            raise sqlite3.DatabaseError(f"made by a newer InboxReady (schema {version})")
        setup(db)
        db.execute(f"PRAGMA user_version={schema_version}")
    except BaseException:
        db.close()
        raise
    return db


@dataclass
class Opened:
    """What ``open_or_start_afresh`` did: ``db`` (None when even a fresh file failed: ``error``), and when
    the old file was unreadable, why (``damaged``) and where it was kept (``moved_to``)."""

    db: sqlite3.Connection | None
    damaged: str | None = None
    moved_to: Path | None = None
    error: Exception | None = None


def open_or_start_afresh(path: Path, connect: Callable[[], sqlite3.Connection]) -> Opened:
    try:
        return Opened(connect())
    except (sqlite3.DatabaseError, OSError) as first:
        reason = str(first)
    moved = move_aside(path, ("-wal", "-shm"))
    try:
        return Opened(connect(), reason, moved)
    except (sqlite3.DatabaseError, OSError) as exc:
        return Opened(None, reason, moved, exc)
