#!/usr/bin/env bash
# Refresh constraints.txt, the lock every install builds from (README, .ci/run, build-linux.sh, the release
# workflow). One universal resolution for Linux, Windows and macOS and every Python from 3.11 up (uv writes
# environment markers where a platform or a Python version needs more: colorama, pywin32-ctypes, macholib...).
#
#   packaging/maintainer/refresh-lock.sh                          keep every pin that still fits pyproject.toml
#                                                                 (after adding or changing a requirement)
#   packaging/maintainer/refresh-lock.sh --upgrade                newest versions that fit pyproject.toml's bounds
#   packaging/maintainer/refresh-lock.sh --upgrade-package NAME   only NAME (and what it needs) moves
#
# Then: reinstall (the README's test command), run the whole suite and .ci/run (it builds and smoke-tests the
# Linux app and the .deb from the lock), and commit constraints.txt with what moved and why.
# uv runs from a throw-away venv, at the version pinned in the lock itself.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q -c constraints.txt uv 2>&1 | grep -v '^WARNING: Location' || true
header="$(sed -n '/^# ---- end of header/q;p' constraints.txt 2>/dev/null || true)"
"$tmp/venv/bin/uv" pip compile --quiet --universal --python-version 3.11 --no-header \
  pyproject.toml --extra gui --extra test packaging/tools.in -o "$tmp/lock.txt" "$@"
{
  printf '%s\n' "$header"
  echo "# ---- end of header (written by hand; uv's output follows) ----"
  cat "$tmp/lock.txt"
} > constraints.txt
git --no-pager diff --stat -- constraints.txt || true
echo "constraints.txt refreshed. Now: .venv/bin/pip install -c constraints.txt -e '.[test]' && .venv/bin/python -m pytest"
