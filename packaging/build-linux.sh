#!/usr/bin/env bash
# Build the frozen Linux app (PyInstaller, one folder) and smoke-test it.
#
#   packaging/build-linux.sh             build + smoke test + report
#   packaging/build-linux.sh --no-build  smoke-test the last build again
#   packaging/build-linux.sh --deb       also build a .deb (desktop entry + icons) after the test
#   packaging/build-linux.sh --cold      time the GUI start with the page cache dropped before each run
#                                        (a true cold start; needs root: writes /proc/sys/vm/drop_caches)
#
# Environment:
#   PYI_VENV   build venv (default /tmp/pyi; created with PyInstaller + the app's dependencies if absent)
#   OUT_DIR    where build/, dist/ and the archives go (default /tmp/inboxready-build)
#   PYTHON     the Python that creates the venv (default python3; the frozen app uses its version)
#
# The venv is kept apart from the development one. The project is installed into it NON-editable from a
# snapshot of the working tree, because PyInstaller cannot follow setuptools' editable-install mapping
# (package-dir inboxready.core -> core/ ...): with -e the app's own modules are silently missing.
#
# Smoke test (all on this machine, nothing leaves loopback): packaging/smoke.py (the same script the release
# workflow runs on Windows and macOS: --version, --self-test, the GUI offscreen, the keyring round trip
# through the frozen keyring with a test backend, sizes against the budgets), then, with Xvfb and
# xwininfo, the time from exec until the GUI's main window is mapped on xcb (3 runs, budget 2 s).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
here="$repo/packaging"
venv="${PYI_VENV:-/tmp/pyi}"
out="${OUT_DIR:-/tmp/inboxready-build}"
python="${PYTHON:-python3}"
build=1
deb=0
cold=0
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --deb) deb=1 ;;
    --cold) cold=1 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

app="$out/dist/inboxready"
failures=0
ok()   { printf '  ok    %s\n' "$*"; }
bad()  { printf '  FAIL  %s\n' "$*"; failures=$((failures + 1)); }
step() { printf '\n== %s\n' "$*"; }
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  [ -n "${scratch:-}" ] && rm -rf "$scratch"
}
trap cleanup EXIT
scratch="$(mktemp -d /tmp/inboxready-smoke.XXXXXX)"

# -- build ------------------------------------------------------------------------------------------
if [ "$build" = 1 ]; then
  step "build venv: $venv"
  if [ ! -x "$venv/bin/pyinstaller" ]; then
    "$python" -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q pyinstaller
  fi
  snap="$scratch/src"
  mkdir -p "$snap"
  tar -C "$repo" --exclude=.git --exclude=build --exclude=dist --exclude='*.egg-info' \
      --exclude=__pycache__ --exclude=.venv --exclude=benchmarks -cf - . | tar -C "$snap" -xf -
  "$venv/bin/pip" uninstall -q -y inboxready >/dev/null 2>&1 || true
  "$venv/bin/pip" install -q "$snap[gui]" 2>&1 | grep -v '^WARNING: Location' || true
  "$venv/bin/python" -c "import inboxready.core, inboxready.app.gui; print('  installed', inboxready.core.__file__)"

  step "PyInstaller"
  mkdir -p "$out"
  t0=$(date +%s)
  (cd "$repo" && "$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
      --distpath "$out/dist" --workpath "$out/work" "$here/inboxready.spec")
  echo "  built in $(( $(date +%s) - t0 )) s: $app"
fi
[ -x "$app/inboxready" ] && [ -x "$app/inboxready-gui" ] || { echo "no build at $app" >&2; exit 1; }

want_version="$("$venv/bin/python" -c 'from importlib.metadata import version; print(version("inboxready"))' 2>/dev/null || echo '?')"
tarball="$out/inboxready-$want_version-linux-$(uname -m).tar.gz"
tar -C "$out/dist" -czf "$tarball" inboxready

# -- smoke test: CLI, GUI offscreen, keyring, sizes (packaging/smoke.py) ------------------------------
python3 "$here/smoke.py" "$app" --expect-version "$want_version" --artifact "$tarball" || failures=$((failures + 1))
echo "  largest parts:"
(cd "$app/_internal" && du -sm PySide6/Qt/lib/* libpython* cryptography python3.11 2>/dev/null | sort -rn | head -6 | sed 's/^/    /')

# An array, not a function: "${iso_env[@]}" prog & then gives the program's own pid in $! (env execs it).
iso_env=(env -i PATH=/usr/bin:/bin HOME="$scratch/home" XDG_CONFIG_HOME="$scratch/home/.config"
  XDG_DATA_HOME="$scratch/home/.local/share" XDG_CACHE_HOME="$scratch/home/.cache"
  XDG_RUNTIME_DIR="$scratch/run" LANG=C.UTF-8 DBUS_SESSION_BUS_ADDRESS="unix:path=$scratch/no-bus")
mkdir -p "$scratch/home/.config" "$scratch/run" && chmod 700 "$scratch/run"

# -- 3. GUI on X (time to first window) ---------------------------------------------------------------
step "GUI on xcb under Xvfb: time to the main window"
startup_times=""
if command -v Xvfb >/dev/null && command -v xwininfo >/dev/null; then
  # -displayfd: Xvfb picks a free display itself and says which once it is ready (no race with other
  # X servers, e.g. a concurrent xvfb-run -a).
  Xvfb -displayfd 3 -screen 0 1280x960x24 -nolisten tcp 3>"$scratch/xdisplay" >/dev/null 2>&1 &
  xpid=$!; pids+=("$xpid")
  for _ in $(seq 200); do [ -s "$scratch/xdisplay" ] && break; sleep 0.05; done
  disp=":$(tr -d '[:space:]' <"$scratch/xdisplay")"
  [ "$disp" != ":" ] || bad "Xvfb did not start"
  for run in $([ "$disp" != ":" ] && echo 1 2 3); do
    if [ "$cold" = 1 ]; then
      sync && echo 3 >/proc/sys/vm/drop_caches || bad "could not drop the page cache (needs root)"
    fi
    t0=$(date +%s.%N)
    "${iso_env[@]}" DISPLAY="$disp" QT_QPA_PLATFORM=xcb "$app/inboxready-gui" >"$scratch/gui-x$run.log" 2>&1 &
    gpid=$!; pids+=("$gpid")
    shown=""
    for _ in $(seq 1000); do  # up to ~20 s
      wid=$(DISPLAY=$disp xwininfo -root -tree 2>/dev/null | awk '/\("inboxready-gui" "InboxReady"\)/ {print $1; exit}')
      if [ -n "$wid" ] && DISPLAY=$disp xwininfo -id "$wid" 2>/dev/null | grep -q "IsViewable"; then
        shown=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}'); break
      fi
      kill -0 "$gpid" 2>/dev/null || break
      sleep 0.02
    done
    kill "$gpid" 2>/dev/null || true
    wait "$gpid" 2>/dev/null || true
    for _ in $(seq 100); do  # let the X server drop the window before the next run looks for one
      DISPLAY=$disp xwininfo -root -tree 2>/dev/null | grep -q '("inboxready-gui" "InboxReady")' || break
      sleep 0.05
    done
    if [ -n "$shown" ]; then startup_times="$startup_times $shown"; else bad "run $run: no window ($(head -c 600 "$scratch/gui-x$run.log"))"; fi
  done
  kill "$xpid" 2>/dev/null || true
  wait "$xpid" 2>/dev/null || true
  if [ -n "$startup_times" ]; then
    if [ "$cold" = 1 ]; then how="page cache dropped before each run: cold starts"; else how="first run = coldest; page cache not dropped"; fi
    ok "main window mapped after:${startup_times} s ($how)"
    for t in $startup_times; do awk -v t="$t" 'BEGIN{exit !(t >= 2)}' && bad "start-up ${t} s is over the 2 s budget"; done
  fi
else
  echo "  skipped: Xvfb or xwininfo not installed (apt-get install -y xvfb x11-utils)"
fi

if [ "$deb" = 1 ]; then
  step ".deb"
  "$here/linux/build-deb.sh" "$app" "$want_version" "$out" || bad ".deb build failed"
fi

step "result"
if [ "$failures" = 0 ]; then echo "  all smoke checks passed"; else echo "  $failures check(s) FAILED"; fi
exit $(( failures > 0 ))
