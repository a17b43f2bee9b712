"""Is this Python environment built from the lock? Every installed distribution must be pinned in
constraints.txt (for this platform and Python) at exactly the installed version.

    BUILD_VENV/bin/python packaging/lockcheck.py [--lock constraints.txt] [--allow NAME ...]

Run with the interpreter of the environment to check (the installers' build venvs: build-linux.sh and the
release workflow). Needs ``packaging`` in that environment (PyInstaller depends on it). Exit 1 with the list of
differences; ``pip`` and ``inboxready`` itself are not in the lock and are allowed.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import re
import sys
from pathlib import Path

from packaging.markers import Marker, default_environment
from packaging.utils import canonicalize_name

ALWAYS_ALLOWED = {"pip", "inboxready"}


def pins(lock: Path) -> dict[str, str]:
    env = {**default_environment(), "extra": ""}
    out: dict[str, str] = {}
    for raw in lock.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)\s*(?:;\s*(.+))?", line)
        if not m:
            raise SystemExit(f"{lock}: not an exact pin: {raw!r}")
        if m[3] is None or Marker(m[3]).evaluate(env):
            out[canonicalize_name(m[1])] = m[2]
    return out


def differences(lock: Path, allowed: set[str]) -> list[str]:
    pinned = pins(lock)
    problems = []
    for dist in md.distributions():
        name = canonicalize_name(dist.metadata["Name"] or "")
        if not name or name in allowed:
            continue
        if name not in pinned:
            problems.append(f"{name} {dist.version} is installed but not in the lock")
        elif dist.version != pinned[name]:
            problems.append(f"{name} {dist.version} is installed; the lock says {pinned[name]}")
    return sorted(problems)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lock", type=Path, default=Path(__file__).resolve().parents[1] / "constraints.txt")
    ap.add_argument("--allow", action="append", default=[], help="a distribution that may be installed unpinned")
    args = ap.parse_args(argv)
    problems = differences(args.lock, ALWAYS_ALLOWED | {canonicalize_name(a) for a in args.allow})
    for p in problems:
        print(f"  lock: {p}", file=sys.stderr)
    if problems:
        print(f"  this environment ({sys.prefix}) is not the locked one: rebuild it with pip install -c "
              f"{args.lock.name}", file=sys.stderr)
        return 1
    print(f"  lock: every package in {sys.prefix} is the version {args.lock.name} names")
    return 0


if __name__ == "__main__":
    sys.exit(main())
