"""Hostile settings-like files (h11): a named pipe, a symlink to /dev/zero or a file of hundreds of MB where a
settings, profiles, accounts or watch-list file should be. Each is said in plain words at once, without
reading it whole; a pipe or a device is left where it is, a huge regular file is kept under a .damaged name."""

from __future__ import annotations

import os
import sys
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from inboxready.core.store.settings import MAX_JSON_FILE
from tests.core.store.test_json_files import STORES, _save

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="named pipes and /dev/zero are POSIX")


def _within(seconds: float, fn: Any, *args: Any) -> Any:
    """``fn(*args)`` in a daemon thread: its result, or a test failure when it is still running after
    ``seconds`` (a hang, e.g. open() of a named pipe waiting for a writer that never comes)."""
    box: list[Any] = []
    t = threading.Thread(target=lambda: box.append(fn(*args)), daemon=True)
    t.start()
    t.join(seconds)
    if not box:
        pytest.fail(f"still reading after {seconds:g} s (a hang)")
    return box[0]


@posix_only
@pytest.mark.parametrize("what", ["named pipe", "/dev/zero"])
@pytest.mark.parametrize("kind", STORES)
def test_a_pipe_or_a_device_is_said_at_once_and_left_where_it_is(tmp_path: Path, kind: str, what: str) -> None:
    load, name, _, unreadable = STORES[kind]
    path = tmp_path / name
    if what == "named pipe":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    problem, empty = _within(5.0, load, path)
    assert problem.startswith(unreadable) and "a pipe, a device or a socket" in problem and empty
    assert [p.name for p in tmp_path.iterdir()] == [name]  # nothing moved aside
    assert path.is_fifo() if what == "named pipe" else os.readlink(path) == "/dev/zero"


@pytest.mark.parametrize("kind", STORES)
def test_a_huge_file_is_not_read_whole_and_is_kept_aside(tmp_path: Path, kind: str) -> None:
    load, name, damaged, _ = STORES[kind]
    path = tmp_path / name
    size = 256 * 1024 * 1024
    with open(path, "wb") as fh:  # sparse: costs no disk
        fh.write(b'{"domains": [')
        fh.truncate(size)
    tracemalloc.start()
    try:
        problem, empty = _within(10.0, load, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * MAX_JSON_FILE, f"read {peak / 2**20:.0f} MB into memory"
    kept = list(tmp_path.glob(f"{name}.damaged-*"))
    assert len(kept) == 1 and kept[0].stat().st_size == size and empty
    assert problem.startswith(damaged) and "over 16 MB" in problem and kept[0].name in problem
    _save(kind, path)  # the next save writes a fresh file beside the kept one
    assert load(path)[0] == "" and kept[0].stat().st_size == size


def test_a_file_just_under_the_limit_is_still_read(tmp_path: Path) -> None:
    load, name, _, _ = STORES["settings"]
    path = tmp_path / name
    path.write_text('{"theme": "dark"' + " " * (MAX_JSON_FILE - 40) + "}")
    assert load(path)[0] == "" and path.exists()
