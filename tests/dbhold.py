"""Helpers for the database fault tests: a second real process holding an SQLite file, a tiny file system."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

_HOLDER = r"""
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
mode = sys.argv[2]
if mode == "write":
    db.execute("BEGIN IMMEDIATE")
    db.execute(sys.argv[3])
else:
    db.execute(sys.argv[3]).fetchall()
print("holding", flush=True)
sys.stdin.readline()              # until the test says so, or goes away
if mode == "write":
    db.execute("COMMIT")
db.close()
print("released", flush=True)
"""


@contextmanager
def hold(path: Path, sql: str, *, write: bool = True) -> Iterator[subprocess.Popen[str]]:
    """Another process with ``path`` open: in a write transaction that ran ``sql`` (``write``), or just open
    after reading with ``sql``; it lets go when the block ends."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path), "write" if write else "read", sql],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdin is not None
    try:
        line = proc.stdout.readline()
        assert line.strip() == "holding", line
        yield proc
    finally:
        try:
            proc.stdin.write("go\n")
            proc.stdin.close()
        except OSError:
            pass
        proc.wait(30)


@functools.cache
def _unshare_flag() -> str | None:
    """How this machine lets a test mount a tmpfs of its own: an unprivileged user namespace (``unshare -rm``),
    or, for root where user namespaces are off, a plain mount namespace (``unshare -m``); None: neither."""
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return None
    flags = ["-rm"] + (["-m"] if os.geteuid() == 0 else [])
    for flag in flags:
        try:
            if subprocess.run(["unshare", flag, "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                              capture_output=True, timeout=20).returncode == 0:
                return flag
        except (OSError, subprocess.SubprocessError):
            pass
    return None


def can_mount_tmpfs() -> bool:
    """True when this machine lets a test mount a tmpfs in a mount namespace of its own."""
    return _unshare_flag() is not None


def require_tmpfs() -> None:
    """Skip (fail under CI) unless ``can_mount_tmpfs``: the full-disk tests have no other way to fill a disk."""
    if not can_mount_tmpfs():
        from tests.helpers import needs

        needs.missing("mounting a tmpfs with unshare -rm is not allowed here (Linux user namespaces), so a full "
                      "disk can't be made: allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)")


def run_on_small_disk(mount: Path, size_kb: int, script: str, *, fill_kb: int = 0,
                      env: dict[str, str] | None = None, read_only: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the Python ``script`` in a child with a tmpfs of ``size_kb`` mounted at ``mount`` (its own mount
    namespace: nothing outside sees it), first filled with ``fill_kb`` of zeros; or ``mount`` bound read-only
    (``read_only``). The script's stdout/stderr come back."""
    mount.mkdir(parents=True, exist_ok=True)
    script_file = mount.parent / f"{mount.name}-script.py"
    script_file.write_text(script, encoding="utf-8")
    if read_only:
        prep = f"mount --bind '{mount}' '{mount}' && mount -o remount,bind,ro '{mount}'"
    else:
        prep = f"mount -t tmpfs -o size={size_kb}k tmpfs '{mount}'"
        if fill_kb:
            prep += f" && dd if=/dev/zero of='{mount}/filler' bs=1k count={fill_kb} 2>/dev/null; true"
    cmd = ["unshare", _unshare_flag() or "-rm", "sh", "-c", f"{prep} && exec '{sys.executable}' '{script_file}'"]
    full_env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), **(env or {})}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=full_env)
