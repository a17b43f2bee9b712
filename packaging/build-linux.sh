#!/usr/bin/env bash
# Build the frozen Linux app (PyInstaller, one folder) from the lock, smoke-test it, and write its SBOM and sums.
#
#   packaging/build-linux.sh             build + smoke test + SBOM + SHA256SUMS
#   packaging/build-linux.sh --no-build  smoke-test the last build again
#   packaging/build-linux.sh --deb       also build a .deb (desktop entry + icons) after the test
#   packaging/build-linux.sh --cold      time the GUI start with the page cache dropped before each run
#                                        (a true cold start; needs root: writes /proc/sys/vm/drop_caches)
#                                        and fail when it is over the 2 s budget (otherwise only reported)
#
# Environment:
#   PYI_VENV   build venv (default /tmp/pyi; created with PyInstaller + the app's dependencies if absent)
#   SBOM_VENV  venv with cyclonedx-bom (default $PYI_VENV-sbom; created if absent)
#   OUT_DIR    where build/, dist/ and the archives go (default /tmp/inboxready-build)
#   PYTHON     the Python that creates the venvs (default python3; the frozen app uses its version)
#
# Needs patchelf (the RUNPATHs the build machine's Python carries are removed from the bundle), and for
# --deb dpkg-deb; the smoke test's xcb check needs Xvfb and xwininfo (apt-get install patchelf
# xvfb x11-utils).
#
# Every package comes from constraints.txt (the lock the tests ran with): pip install -c, then
# packaging/lockcheck.py fails the build if anything in the build venv differs from it. The venv is kept
# apart from the development one. The project is installed into it NON-editable from a snapshot of the
# working tree, because PyInstaller cannot follow setuptools' editable-install mapping (package-dir
# inboxready.core -> core/ ...): with -e the app's own modules are silently missing.
#
# Smoke test (all on this machine, nothing leaves loopback): packaging/smoke.py, the same script the release
# workflow runs on Windows and macOS: --version, --self-test, the GUI offscreen and on xcb under Xvfb (time
# to the main window, budget 2 s, enforced with --cold), the keyring round trip through the frozen keyring
# with a test backend, sizes against the budgets.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
here="$repo/packaging"
lock="$repo/constraints.txt"
venv="${PYI_VENV:-/tmp/pyi}"
sbom_venv="${SBOM_VENV:-$venv-sbom}"
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
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

app="$out/dist/inboxready"
failures=0
ok()   { printf '  ok    %s\n' "$*"; }
bad()  { printf '  FAIL  %s\n' "$*"; failures=$((failures + 1)); }
step() { printf '\n== %s\n' "$*"; }
cleanup() { [ -n "${scratch:-}" ] && rm -rf "$scratch"; }
trap cleanup EXIT
scratch="$(mktemp -d /tmp/inboxready-smoke.XXXXXX)"
# pip, quiet unless it fails (and without this machine's notes about unused local package folders)
pipq() { "$@" >"$scratch/pip.log" 2>&1 || { grep -v '^WARNING: Location' "$scratch/pip.log" >&2; return 1; }; }

# -- build ------------------------------------------------------------------------------------------
if [ "$build" = 1 ]; then
  step "build venv: $venv"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  pipq "$venv/bin/pip" install -q -c "$lock" pyinstaller
  snap="$scratch/src"
  mkdir -p "$snap"
  tar -C "$repo" --exclude=.git --exclude=build --exclude=dist --exclude='*.egg-info' \
      --exclude=__pycache__ --exclude=.venv --exclude=benchmarks -cf - . | tar -C "$snap" -xf -
  "$venv/bin/pip" uninstall -q -y inboxready >/dev/null 2>&1 || true
  pipq "$venv/bin/pip" install -q -c "$lock" "$snap[gui]"
  "$venv/bin/python" -c "import inboxready.core, inboxready.app.gui; print('  installed', inboxready.core.__file__)"
  "$venv/bin/python" "$here/lockcheck.py" --lock "$lock"

  step "PyInstaller"
  mkdir -p "$out"
  t0=$(date +%s)
  (cd "$repo" && "$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
      --distpath "$out/dist" --workpath "$out/work" "$here/inboxready.spec")
  echo "  built in $(( $(date +%s) - t0 )) s: $app"

  # The build machine's Python carries a RUNPATH to where it was installed (e.g. /root/.pyenv/.../lib,
  # /opt/hostedtoolcache/...): a search path into someone else's machine. Keep only $ORIGIN-relative entries
  # (Qt's). Only _internal/: the two executables carry the app's archive appended and are left alone.
  step "RUNPATH: only \$ORIGIN-relative entries"
  command -v patchelf >/dev/null || { echo "  patchelf is needed (apt-get install patchelf)" >&2; exit 1; }
  fixed=0
  while IFS= read -r -d '' f; do
    rp="$(patchelf --print-rpath "$f" 2>/dev/null)" || continue
    [ -n "$rp" ] || continue
    keep="$(tr ':' '\n' <<<"$rp" | grep '^\$ORIGIN' | paste -sd: - || true)"
    [ "$keep" = "$rp" ] && continue
    if [ -n "$keep" ]; then patchelf --set-rpath "$keep" "$f"; else patchelf --remove-rpath "$f"; fi
    fixed=$((fixed + 1))
  done < <(find "$app/_internal" -type f -name '*.so*' -print0)
  echo "  $fixed libraries had a search path outside the bundle; removed"
fi
[ -x "$app/inboxready" ] && [ -x "$app/inboxready-gui" ] || { echo "no build at $app" >&2; exit 1; }

want_version="$("$venv/bin/python" -c 'from importlib.metadata import version; print(version("inboxready"))' 2>/dev/null || echo '?')"
py_version="$("$venv/bin/python" -c 'import platform; print(platform.python_version())')"
tarball="$out/inboxready-$want_version-linux-$(uname -m).tar.gz"
# Reproducible archive: sorted names, no owner, file times from the commit (SOURCE_DATE_EPOCH) or now.
epoch="${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}"
tar -C "$out/dist" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -cf - inboxready \
  | gzip -9n >"$tarball"

# -- smoke test: CLI, GUI offscreen and on xcb, keyring, sizes (packaging/smoke.py) --------------------
smoke_args=()
[ "$cold" = 1 ] && smoke_args+=(--cold --enforce-startup-budget)  # the measurement: a quiet machine
python3 "$here/smoke.py" "$app" --expect-version "$want_version" --artifact "$tarball" "${smoke_args[@]}" \
  || failures=$((failures + 1))
echo "  largest parts:"
(cd "$app/_internal" && du -sm PySide6/Qt/lib/* libpython* cryptography python3.11 2>/dev/null | sort -rn | head -6 | sed 's/^/    /') || true  # (a listing only)

# -- SBOM: what is inside, for each artifact (cyclonedx-py on the build venv, then packaging/sbom.py) ----
step "SBOM (CycloneDX)"
if [ ! -x "$sbom_venv/bin/cyclonedx-py" ]; then
  "$python" -m venv "$sbom_venv"
  pipq "$sbom_venv/bin/pip" install -q -c "$lock" cyclonedx-bom
fi
export SOURCE_DATE_EPOCH="$epoch"
env_sbom="$out/sbom-environment.cdx.json"
"$sbom_venv/bin/cyclonedx-py" environment "$venv/bin/python" --pyproject "$repo/pyproject.toml" \
  --output-reproducible -o "$env_sbom" || bad "cyclonedx-py failed"
"$sbom_venv/bin/python" "$here/sbom.py" "$env_sbom" --bundle "$app" --python "$py_version" \
  --artifact "$tarball" -o "$tarball.cdx.json" || bad "SBOM of the .tar.gz failed"

if [ "$deb" = 1 ]; then
  step ".deb"
  SBOM_ENV="$env_sbom" SBOM_PYTHON="$sbom_venv/bin/python" PY_VERSION="$py_version" SOURCE_DATE_EPOCH="$epoch" \
    "$here/linux/build-deb.sh" "$app" "$want_version" "$out" || bad ".deb build failed"
fi

step "SHA-256 sums"
# the artifacts of this run only (not a .deb or an archive of another version left in $out by an earlier one)
artifacts=("$(basename "$tarball")")
if [ "$deb" = 1 ]; then
  for f in "$out"/inboxready_"$want_version"_*.deb; do [ -e "$f" ] && artifacts+=("$(basename "$f")"); done
fi
(cd "$out" && for f in "${artifacts[@]}"; do sha256sum "$f" "$f.cdx.json"; done >SHA256SUMS \
   && sed 's/^/  /' SHA256SUMS) || bad "sums failed"

step "result"
if [ "$failures" = 0 ]; then echo "  all smoke checks passed"; else echo "  $failures check(s) FAILED"; fi
exit $(( failures > 0 ))
