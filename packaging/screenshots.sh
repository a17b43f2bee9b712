#!/usr/bin/env bash
# Start InboxReady under Xvfb in demo mode and save screenshots of its main states.
#   packaging/screenshots.sh [OUT_DIR]          (default: docs/screenshots)
# Needs: Xvfb and xvfb-run (Debian: apt-get install -y xvfb), the project installed with its gui extra.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$here/docs/screenshots}"
python="${PYTHON:-python3}"
if [ -x "$here/.venv/bin/python" ] && [ -z "${PYTHON:-}" ]; then python="$here/.venv/bin/python"; fi
if ! command -v xvfb-run >/dev/null 2>&1; then
  echo "xvfb-run not found: install it with 'apt-get install -y xvfb'" >&2
  exit 2
fi
mkdir -p "$out"
export QT_QPA_PLATFORM=xcb
export QT_SCALE_FACTOR="${QT_SCALE_FACTOR:-1}"
for theme in light dark; do
  xvfb-run -a -s "-screen 0 1280x960x24 -dpi 96 -noreset" \
    "$python" -m inboxready.app.screenshots --out "$out" --theme "$theme"
done
echo "screenshots saved in $out"
