#!/usr/bin/env bash
# Build the frozen Linux app (PyInstaller, one folder) and smoke-test it.
#
#   packaging/build-linux.sh             build + smoke test + report
#   packaging/build-linux.sh --no-build  smoke-test the last build again
#   packaging/build-linux.sh --deb       also build a .deb (desktop entry + icons) after the test
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
# Smoke test (all on this machine, nothing leaves loopback):
#   1. inboxready --version, and inboxready --self-test (timed: the cold-start proxy for the CLI)
#   2. the GUI starts offscreen (QT_QPA_PLATFORM=offscreen --demo), stays up 5 s, logs no plugin error
#   3. if Xvfb and xwininfo exist: the GUI on xcb, time from exec to its main window being mapped (3 runs)
#   4. keyring, in a throw-away HOME (never the user's real keyring):
#        a. no backend usable (D-Bus pointed nowhere): "profile add" fails with the plain message
#        b. a file backend loaded through keyringrc.cfg: "profile add" stores the password, "profile test"
#           reads it back and signs in to a fake SMTP server that records it, "profile remove" deletes it;
#           also checks that keyring's entry points load the bundled backends
#   5. sizes: installed folder, .tar.gz (download) and the budgets from issue 5
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
here="$repo/packaging"
venv="${PYI_VENV:-/tmp/pyi}"
out="${OUT_DIR:-/tmp/inboxready-build}"
python="${PYTHON:-python3}"
build=1
deb=0
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --deb) deb=1 ;;
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

# Every environment below is throw-away: HOME, config and data dirs inside $scratch.
# An array, not a function: "${iso_env[@]}" prog & then gives the program's own pid in $! (env execs it).
iso_env=(env -i PATH=/usr/bin:/bin HOME="$scratch/home" XDG_CONFIG_HOME="$scratch/home/.config"
  XDG_DATA_HOME="$scratch/home/.local/share" XDG_CACHE_HOME="$scratch/home/.cache"
  XDG_RUNTIME_DIR="$scratch/run" LANG=C.UTF-8 DBUS_SESSION_BUS_ADDRESS="unix:path=$scratch/no-bus")
mkdir -p "$scratch/home/.config" "$scratch/run" && chmod 700 "$scratch/run"

# -- 1. CLI -------------------------------------------------------------------------------------------
step "CLI"
want_version="$("$venv/bin/python" -c 'from importlib.metadata import version; print(version("inboxready"))' 2>/dev/null || echo '?')"
got_version="$("${iso_env[@]}" "$app/inboxready" --version 2>&1 || true)"
[ "$got_version" = "inboxready $want_version" ] && ok "--version: $got_version" || bad "--version said: $got_version (want $want_version)"

st_out="$scratch/selftest.txt"
t0=$(date +%s.%N)
if "${iso_env[@]}" "$app/inboxready" --self-test >"$st_out" 2>&1; then st_rc=0; else st_rc=$?; fi
selftest_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}')
if [ "$st_rc" = 0 ] && grep -q "self-test: pass" "$st_out"; then
  ok "$(head -1 "$st_out") [wall clock incl. start-up: ${selftest_s} s]"
else
  bad "--self-test exit $st_rc: $(head -5 "$st_out")"
fi

# -- 2. GUI offscreen ---------------------------------------------------------------------------------
step "GUI offscreen (--demo)"
gui_log="$scratch/gui-offscreen.log"
"${iso_env[@]}" QT_QPA_PLATFORM=offscreen "$app/inboxready-gui" --demo >"$gui_log" 2>&1 &
gpid=$!; pids+=("$gpid")
sleep 5
if kill -0 "$gpid" 2>/dev/null; then
  kill "$gpid" 2>/dev/null || true
  wait "$gpid" 2>/dev/null || true
  if grep -Eqi "could not (load|find) the qt platform plugin|traceback|error" "$gui_log"; then
    bad "GUI ran but logged: $(head -5 "$gui_log")"
  else
    ok "the GUI ran 5 s offscreen in demo mode with nothing on stderr"
  fi
else
  wait "$gpid" 2>/dev/null && rc=0 || rc=$?
  bad "the GUI exited early (code $rc): $(head -10 "$gui_log")"
fi

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
    ok "main window mapped after:${startup_times} s (first run = coldest; page cache not dropped)"
    for t in $startup_times; do awk -v t="$t" 'BEGIN{exit !(t >= 2)}' && bad "start-up ${t} s is over the 2 s budget"; done
  fi
else
  echo "  skipped: Xvfb or xwininfo not installed (apt-get install -y xvfb x11-utils)"
fi

# -- 4. keyring -----------------------------------------------------------------------------------------
step "keyring (throw-away HOME; the real keyring is never touched)"
# ASCII on purpose: smtplib's AUTH refuses non-ASCII passwords (UnicodeEncodeError), an app bug of its own.
secret="smoke-$(date +%s)-S3cr3t!"
ka_log="$scratch/keyring-none.log"
if "${iso_env[@]}" INBOXREADY_PASSWORD="$secret" "$app/inboxready" profile add nokeyring --smtp 127.0.0.1:2525 \
     --security none --user smoke@example.test >"$ka_log" 2>&1; then
  bad "profile add succeeded without any keyring: $(cat "$ka_log")"
elif grep -q "none is available" "$ka_log"; then
  ok "no usable keyring: plain message ($(grep -o "InboxReady keeps mail passwords[^.]*" "$ka_log"))"
else
  bad "no usable keyring, unexpected output: $(head -5 "$ka_log")"
fi

kdir="$scratch/smoke-keyring"
mkdir -p "$kdir" "$scratch/home/.config/python_keyring"
cp "$here/smoke/inboxready_smoke_keyring.py" "$kdir/"
printf '[backend]\ndefault-keyring = inboxready_smoke_keyring.SmokeKeyring\nkeyring-path = %s\n' "$kdir" \
  >"$scratch/home/.config/python_keyring/keyringrc.cfg"
python3 "$here/smoke/fake_smtp.py" "$scratch/smtp.port" "$scratch/smtp.password" &
spid=$!; pids+=("$spid")
for _ in $(seq 50); do [ -s "$scratch/smtp.port" ] && break; sleep 0.1; done
port="$(cat "$scratch/smtp.port")"
kenv=("${iso_env[@]}" INBOXREADY_SMOKE_DIR="$kdir")

if "${kenv[@]}" INBOXREADY_PASSWORD="$secret" "$app/inboxready" profile add smoke --smtp "127.0.0.1:$port" \
     --security none --user smoke@example.test --from smoke@example.test >"$scratch/add.log" 2>&1 \
   && grep -q "password in the system keyring" "$scratch/add.log"; then
  stored="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("InboxReady/send:smoke",""))' "$kdir/secrets.json" 2>/dev/null || true)"
  [ "$stored" = "$secret" ] && ok "stored: the frozen keyring wrote the password to the test backend" \
                            || bad "stored password mismatch ('$stored')"
else
  bad "profile add: $(cat "$scratch/add.log")"
fi
if "${kenv[@]}" "$app/inboxready" profile test smoke --timeout 5 >"$scratch/test.log" 2>&1; then
  got="$(cat "$scratch/smtp.password" 2>/dev/null || true)"
  [ "$got" = "$secret" ] && ok "read: the frozen app took the password from the keyring and signed in with it" \
                         || bad "the SMTP server got '$got', not the stored password"
else
  bad "profile test: $(cat "$scratch/test.log")"
fi
if "${kenv[@]}" "$app/inboxready" profile remove smoke >"$scratch/rm.log" 2>&1 \
   && ! grep -q "send:smoke" "$kdir/secrets.json"; then
  ok "deleted: profile remove took the password out of the keyring"
else
  bad "profile remove: $(cat "$scratch/rm.log")"
fi
if [ -s "$kdir/backends.json" ]; then
  python3 - "$kdir/backends.json" <<'EOF' || failures=$((failures + 1))
import json, sys
found = json.load(open(sys.argv[1]))
need = ["SecretService", "KWallet", "chainer", "keyring.backends.fail", "keyring.backends.null"]
missing = [n for n in need if found.get(n) != "ok"]
print("  " + ("ok    " if not missing else "FAIL  ") + "keyring entry points in the frozen app: "
      + ", ".join(f"{k}={'ok' if v == 'ok' else 'not importable'}" for k, v in sorted(found.items())))
sys.exit(1 if missing else 0)
EOF
else
  bad "the test backend did not report keyring's backends"
fi

# -- 5. sizes ---------------------------------------------------------------------------------------------
step "size"
tarball="$out/inboxready-$want_version-linux-$(uname -m).tar.gz"
tar -C "$out/dist" -czf "$tarball" inboxready
installed_mb=$(du -sm "$app" | cut -f1)
download_mb=$(awk -v b="$(stat -c %s "$tarball")" 'BEGIN{printf "%.1f", b/1048576}')
echo "  installed folder: ${installed_mb} MB (budget 150 MB)   $app"
echo "  download .tar.gz: ${download_mb} MB (budget 80 MB)    $tarball"
[ "$installed_mb" -lt 150 ] || bad "installed size over budget"
awk -v d="$download_mb" 'BEGIN{exit !(d < 80)}' || bad "download size over budget"
echo "  largest parts:"
(cd "$app/_internal" && du -sm PySide6/Qt/lib/* libpython* cryptography python3.11 2>/dev/null | sort -rn | head -6 | sed 's/^/    /')

if [ "$deb" = 1 ]; then
  step ".deb"
  "$here/linux/build-deb.sh" "$app" "$want_version" "$out" || bad ".deb build failed"
fi

step "result"
if [ "$failures" = 0 ]; then echo "  all smoke checks passed"; else echo "  $failures check(s) FAILED"; fi
exit $(( failures > 0 ))
