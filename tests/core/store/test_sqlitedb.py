"""The careful SQLite opener: busy, full, read-only, damaged-but-open files are explained, never moved aside;
files are private (issue 13, items 2 and 17)."""

from __future__ import annotations

import io
import os
import sqlite3
import stat
import time
from pathlib import Path

import pytest

from inboxready.app.cli import main
from inboxready.core.store import history as history_mod
from inboxready.core.store.history import History
from inboxready.core.model import CheckResult, DomainReport, Status
from inboxready.core.store.sqlitedb import DbProblem, connect_durable, in_use, kind_of
from tests.dbhold import hold, require_tmpfs, run_on_small_disk


def _report(domain: str = "example.com") -> DomainReport:
    return DomainReport(domain=domain, started="2026-11-01T10:00:00+00:00",
                        checks={"spf": CheckResult("spf", Status.PASS, "ok", records=["v=spf1 -all"])})


def _aside(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".damaged-" in p.name)


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def test_a_locked_history_is_read_at_once_and_never_moved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process holds a write transaction on the history (longer than the old 5 s busy timeout):
    `watchlist reminders` reads it at once, saving a check waits a bounded time and says why; nothing moves."""
    monkeypatch.setenv("INBOXREADY_HOME", str(tmp_path))
    with History() as h:
        assert h.add(_report()) is not None
        path = h.path
    with hold(path, "INSERT INTO checks (domain, started, status, report) VALUES ('x.test', '', 'pass', '{}')"):
        started = time.monotonic()
        code, out, err = _cli("watchlist", "reminders")
        assert time.monotonic() - started < 4, "opening the history waited for the other process"
        assert code == 0 and "in use" not in err and "damaged" not in err, err
        monkeypatch.setattr(history_mod, "WAIT_S", 0.5)
        h = History()
        assert h.available and h.problem == ""
        assert h.last("example.com") is not None          # reading works while the other process writes
        assert h.add(_report("new.example")) is None       # writing waits 0.5 s, then says why
        assert "in use by another InboxReady" in h.problem and "try again" in h.problem
        h.close()
        assert path.exists() and _aside(path.parent) == []
    with History() as h3:  # released: everything is still there, and writing works again
        assert h3.last("example.com") is not None and h3.add(_report("new.example")) is not None
        assert h3.last("x.test") is not None  # the other process's write was committed, not lost


def test_damaged_file_that_another_process_has_open_is_left_where_it_is(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with History(path) as h:
        h.add(_report())
    with hold(path, "SELECT count(*) FROM checks", write=False):
        assert in_use(path)
        with open(path, "r+b") as fh:  # the file is damaged under the open connection
            fh.write(b"not a database any more " * 8)
        h = History(path)
        assert not h.available and h.moved_to is None
        assert "another program has it open" in h.problem and "left where it is" in h.problem
        assert path.exists() and _aside(tmp_path) == []
    assert not in_use(path)
    with History(path) as h:  # nobody has it open now: moved aside, a fresh history started
        assert h.available and h.moved_to is not None and h.moved_to.exists()
        assert "new one was started" in h.problem


def test_folder_given_as_the_database_is_refused_not_renamed(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    code, out, err = _cli("reports", "import", "--store", str(folder), str(tmp_path / "nothing.xml"))
    assert code == 2 and "is a folder, not a database file" in err and "Traceback" not in err
    assert folder.is_dir() and (folder / "keep.txt").read_text() == "mine" and _aside(tmp_path) == []
    with pytest.raises(DbProblem) as exc:
        connect_durable(folder, schema_version=1, setup=lambda db: None)
    assert exc.value.kind == "folder"


def test_a_database_of_a_newer_inboxready_is_refused_not_moved(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()
    h = History(path)
    assert not h.available and "newer InboxReady" in h.problem and "left as it is" in h.problem
    assert path.exists() and _aside(tmp_path) == []


def test_files_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INBOXREADY_HOME", str(tmp_path / "home"))
    old = os.umask(0o022)
    try:
        with History() as h:
            h.add(_report())
            files = [h.path, h.path.with_name(h.path.name + "-wal"), h.path.with_name(h.path.name + "-shm")]
            for f in files:
                assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
            assert stat.S_IMODE(h.path.parent.stat().st_mode) == 0o700
        # files and the data folder made by an older version (0644 / 0755) are narrowed
        os.chmod(h.path, 0o644)
        os.chmod(h.path.parent, 0o755)
        with History() as h2:
            assert stat.S_IMODE(h2.path.stat().st_mode) == 0o600
            assert stat.S_IMODE(h2.path.parent.stat().st_mode) == 0o700
    finally:
        os.umask(old)


def test_error_kinds() -> None:
    assert kind_of(sqlite3.OperationalError("database is locked")) == "busy"
    assert kind_of(sqlite3.OperationalError("database or disk is full")) == "full"
    assert kind_of(sqlite3.OperationalError("attempt to write a readonly database")) == "readonly"
    assert kind_of(sqlite3.DatabaseError("file is not a database")) == "damaged"
    assert kind_of(OSError(28, "No space left on device")) == "full"
    assert kind_of(OSError(13, "Permission denied")) == "permission"
    assert kind_of(OSError(30, "Read-only file system")) == "readonly"


SMALL_DISK = r"""
import sys
from pathlib import Path
from inboxready.core.store.history import History
h = History(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("{mount}/history.sqlite3"))
print("available", h.available)
print("problem", h.problem)
"""


def test_full_disk_and_read_only_folder_are_said_never_moved(tmp_path: Path) -> None:
    require_tmpfs()
    mount = tmp_path / "disk"
    # a full disk at open: no history can be created; the sentence says the disk is full
    res = run_on_small_disk(mount, 64, SMALL_DISK.replace("{mount}", str(mount)), fill_kb=1024)
    assert "available False" in res.stdout, res.stdout + res.stderr
    assert "The disk is full" in res.stdout and "Traceback" not in res.stderr
    # a read-only folder holding a history: explained, left where it is
    ro = tmp_path / "ro"
    ro.mkdir()
    with History(ro / "history.sqlite3") as h:
        h.add(_report())
    (ro / "history.sqlite3-wal").unlink(missing_ok=True)
    res = run_on_small_disk(ro, 0, SMALL_DISK.replace("{mount}", str(ro)), read_only=True)
    assert "Traceback" not in res.stderr, res.stderr
    assert "available False" in res.stdout and "read-only" in res.stdout, res.stdout
    assert (ro / "history.sqlite3").exists() and _aside(ro) == []
