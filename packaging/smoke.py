"""Smoke-test a frozen InboxReady on any platform (Linux, Windows, macOS). Standard library only.

    python packaging/smoke.py APP_DIR [--expect-version X.Y.Z] [--artifact FILE ...] [--json OUT]

APP_DIR is the folder that holds the two executables: ``dist/inboxready`` (Linux, Windows) or
``InboxReady.app/Contents/MacOS`` (macOS). Everything runs in a throw-away HOME / APPDATA with loopback
servers only; the user's real keyring is never touched. Checks:

1. ``inboxready --version`` (matches ``--expect-version`` when given) and ``inboxready --self-test``.
2. ``inboxready-gui --demo`` on the offscreen Qt platform stays up 5 s and logs nothing alarming, and its
   demo check ran in the frozen ``inboxready worker`` next to it (the worker's log names its executable). On Linux,
   also the real X11 path: ``inboxready-gui`` on the ``xcb`` platform under Xvfb, the time from exec until its
   main window is mapped (``xwininfo``), 3 runs, reported against the 2 s budget; a run over it fails only
   with ``--enforce-startup-budget`` (a figure for a quiet machine, e.g. ``build-linux.sh --cold``, not for a
   busy CI machine; ``--cold`` drops the page cache before each run; needs root). No window within 20 s
   fails. Without Xvfb and xwininfo this check FAILS (``--skip xcb`` to leave it out).
3. Keyring. (a) Linux only: with no usable backend (D-Bus pointed nowhere) ``profile add`` fails with the
   plain "no keyring" message. (b) Everywhere: with ``keyringrc.cfg`` selecting a test file backend
   (``smoke/inboxready_smoke_keyring.py``, loaded from outside the bundle through keyring-path),
   ``profile add`` stores a password, ``profile test`` reads it back and signs in with it to a loopback
   SMTP server that records it, ``profile remove`` deletes it; keyring's entry points must import the
   platform's bundled backends inside the frozen app.
4. Sizes: the installed folder and each ``--artifact`` against the budgets (150 MB installed, 80 MB
   download).

Exit status 0 when every check passed. Used by ``build-linux.sh`` and the release workflow.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "smoke"))
from fake_smtp import serve  # noqa: E402  (the loopback SMTP server that records the password)

INSTALLED_BUDGET_MB = 150
DOWNLOAD_BUDGET_MB = 80
STARTUP_BUDGET_S = 2.0  # exec until the main window is mapped, on xcb
EXE = ".exe" if os.name == "nt" else ""
# keyring backends that must import inside the frozen app, per platform (entry-point names or modules)
NEEDED_BACKENDS = {
    "Linux": ["SecretService", "KWallet", "chainer", "keyring.backends.fail", "keyring.backends.null"],
    "Windows": ["Windows", "chainer", "keyring.backends.fail", "keyring.backends.null"],
    "Darwin": ["macOS", "chainer", "keyring.backends.fail", "keyring.backends.null"],
}


class Smoke:
    def __init__(self, app: Path) -> None:
        self.app = app
        self.failures: list[str] = []
        self.results: list[dict[str, object]] = []
        self.scratch = Path(tempfile.mkdtemp(prefix="inboxready-smoke-"))
        self.home = self.scratch / "home"
        self.home.mkdir()

    # -- reporting -----------------------------------------------------------------------------------
    def ok(self, what: str) -> None:
        print(f"  ok    {what}", flush=True)
        self.results.append({"ok": True, "what": what})

    def bad(self, what: str) -> None:
        print(f"  FAIL  {what}", flush=True)
        self.failures.append(what)
        self.results.append({"ok": False, "what": what})

    @staticmethod
    def step(what: str) -> None:
        print(f"\n== {what}", flush=True)

    # -- environment -----------------------------------------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        """A throw-away environment: HOME and the per-OS config/data folders inside the scratch folder."""
        keep = ("PATH", "SYSTEMROOT", "SystemRoot", "WINDIR", "TEMP", "TMP", "COMSPEC", "PATHEXT", "TMPDIR")
        env = {k: v for k, v in os.environ.items() if k in keep}
        home = str(self.home)
        env.update(HOME=home, USERPROFILE=home, APPDATA=str(self.home / "AppData" / "Roaming"),
                   LOCALAPPDATA=str(self.home / "AppData" / "Local"), LANG="C.UTF-8",
                   XDG_CONFIG_HOME=str(self.home / ".config"), XDG_DATA_HOME=str(self.home / ".local/share"),
                   XDG_CACHE_HOME=str(self.home / ".cache"))
        if platform.system() == "Linux":
            run = self.scratch / "run"
            run.mkdir(mode=0o700, exist_ok=True)
            env.update(XDG_RUNTIME_DIR=str(run), DBUS_SESSION_BUS_ADDRESS=f"unix:path={self.scratch}/no-bus")
        env.update(extra)
        return env

    def keyring_config_dir(self) -> Path:
        """Where the frozen keyring reads keyringrc.cfg (keyring.util.platform_.config_root)."""
        if platform.system() == "Windows":
            return self.home / "AppData" / "Local" / "Python Keyring"
        return self.home / ".config" / "python_keyring"  # Linux and macOS (XDG convention)

    def exe(self, name: str) -> Path:
        return self.app / f"{name}{EXE}"

    def run(self, args: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
        try:
            p = subprocess.run([str(self.exe("inboxready")), *args], env=env, capture_output=True, text=True,
                               encoding="utf-8", errors="replace", timeout=timeout)
        except subprocess.TimeoutExpired:
            return -1, f"timed out after {timeout:g} s"
        return p.returncode, (p.stdout + p.stderr).strip()

    # -- the checks ------------------------------------------------------------------------------------
    def cli(self, expect_version: str | None) -> None:
        self.step("CLI")
        rc, out = self.run(["--version"], self.env())
        if rc == 0 and out.startswith("inboxready ") and (expect_version is None or out == f"inboxready {expect_version}"):
            self.ok(f"--version: {out}")
        else:
            self.bad(f"--version said {out!r} (exit {rc}; want {expect_version or 'a version'})")
        started = time.monotonic()
        rc, out = self.run(["--self-test"], self.env(), timeout=120)
        wall = time.monotonic() - started
        if rc == 0 and "self-test: pass" in out:
            self.ok(f"{out.splitlines()[0]} [wall clock incl. start-up: {wall:.2f} s]")
        else:
            self.bad(f"--self-test exit {rc}: {out[:600]}")

    def gui_offscreen(self) -> None:
        self.step("GUI offscreen (--demo)")
        log = self.scratch / "gui.log"
        with log.open("w", encoding="utf-8") as fh:
            # INBOXREADY_HOME: where the worker's log goes (INFO: it says which executable it is, and each check)
            proc = subprocess.Popen([str(self.exe("inboxready-gui")), "--demo"], stdout=fh, stderr=subprocess.STDOUT,
                                    env=self.env(QT_QPA_PLATFORM="offscreen", INBOXREADY_WORKER_LOG="INFO",
                                                 INBOXREADY_HOME=str(self.scratch / "gui-home")))
            try:
                proc.wait(5)
                early = True
            except subprocess.TimeoutExpired:
                early = False
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        text = log.read_text(encoding="utf-8", errors="replace")
        alarming = [line for line in text.splitlines()
                    if any(w in line.lower() for w in ("could not load the qt platform plugin",
                                                       "could not find the qt platform plugin", "traceback",
                                                       "error"))]
        if early:
            self.bad(f"the GUI exited early (code {proc.returncode}): {_tail(text)}")
        elif alarming:
            self.bad(f"the GUI ran but logged: {' | '.join(alarming[:5])}")
        else:
            self.ok("the GUI ran 5 s offscreen in demo mode with nothing alarming on stderr")
        self.gui_worker()

    def gui_worker(self) -> None:
        """The frozen GUI ran its checks in the frozen ``inboxready worker`` (the worker's log says so)."""
        log = self.scratch / "gui-home" / "data" / "worker.log"
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        started = [line for line in text.splitlines() if " started (executable " in line]
        want = str(self.exe("inboxready").resolve())
        checked = [line for line in text.splitlines() if " checked demo-" in line]
        if not started:
            self.bad(f"the GUI started no worker (no {log.name}: {text[:300]!r})")
        elif not any(f"executable {want}" in line and "frozen True" in line for line in started):
            self.bad(f"the worker was not the frozen {want}: {started[0][:300]}")
        elif not checked:
            self.bad(f"the worker checked no demo domain within 5 s: {text[-600:]}")
        else:
            self.ok(f"the GUI's checks ran in the frozen inboxready worker ({checked[0].split(' checked ', 1)[1][:80]})")

    def gui_xcb(self, cold: bool = False, runs: int = 3, enforce_budget: bool = False) -> None:
        """The GUI on X11 (Qt's xcb platform plugin and the system libraries it loads) under Xvfb."""
        self.step("GUI on xcb under Xvfb: time to the main window")
        missing = [tool for tool in ("Xvfb", "xwininfo") if shutil.which(tool) is None]
        if missing:
            self.bad(f"{' and '.join(missing)} not installed (apt-get install xvfb x11-utils), or pass --skip xcb")
            return
        read_fd, write_fd = os.pipe()
        # -displayfd: Xvfb picks a free display itself and writes its number once it accepts clients.
        # -noreset: by default an X server resets when its last client leaves, and a client connecting meanwhile
        # (the next run's GUI, while xwininfo of the last run closes) is refused: "could not connect to display".
        xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x960x24",
                                 "-nolisten", "tcp", "-noreset"], pass_fds=(write_fd,), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        os.close(write_fd)
        try:
            with os.fdopen(read_fd, "r") as fh:
                number = fh.readline().strip()
            if not number.isdigit():
                self.bad(f"Xvfb did not start (exit {xvfb.poll()})")
                return
            display = f":{number}"
            times = []
            for run in range(1, runs + 1):
                if cold:
                    try:
                        os.sync()
                        Path("/proc/sys/vm/drop_caches").write_text("3\n", encoding="ascii")
                    except OSError as exc:
                        self.bad(f"could not drop the page cache (needs root): {exc}")
                        return
                shown, log = self._time_window(display, run)
                if shown is None:
                    self.bad(f"run {run}: no window on {display}: {_tail(log)}")
                else:
                    times.append(shown)
            if times:
                how = "page cache dropped before each run: cold starts" if cold else "first run = coldest"
                line = f"main window mapped after: {' '.join(f'{s:.2f}' for s in times)} s ({how})"
                slow = [s for s in times if s >= STARTUP_BUDGET_S]
                if not slow:
                    self.ok(f"{line}; budget {STARTUP_BUDGET_S:g} s")
                elif enforce_budget:
                    self.bad(f"{line}; over the {STARTUP_BUDGET_S:g} s budget")
                else:
                    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
                    self.ok(f"{line}; over the {STARTUP_BUDGET_S:g} s budget on this machine (load {load:.1f}): "
                            "reported, not enforced (measure with --enforce-startup-budget on a quiet machine)")
        finally:
            xvfb.terminate()
            try:
                xvfb.wait(10)
            except subprocess.TimeoutExpired:
                xvfb.kill()
                xvfb.wait()

    def _time_window(self, display: str, run: int) -> tuple[float | None, str]:
        log = self.scratch / f"gui-xcb-{run}.log"
        marker = '("inboxready-gui" "InboxReady")'

        def window() -> str | None:
            tree = subprocess.run(["xwininfo", "-root", "-tree"], env={**os.environ, "DISPLAY": display},
                                  capture_output=True, text=True, errors="replace").stdout
            return next((line.split()[0] for line in tree.splitlines() if marker in line), None)

        with log.open("w", encoding="utf-8") as fh:
            started = time.monotonic()
            proc = subprocess.Popen([str(self.exe("inboxready-gui"))], stdout=fh, stderr=subprocess.STDOUT,
                                    env=self.env(DISPLAY=display, QT_QPA_PLATFORM="xcb"))
            shown = None
            try:
                while time.monotonic() - started < 20 and proc.poll() is None:
                    wid = window()
                    if wid and "IsViewable" in subprocess.run(
                            ["xwininfo", "-id", wid], env={**os.environ, "DISPLAY": display},
                            capture_output=True, text=True, errors="replace").stdout:
                        shown = time.monotonic() - started
                        break
                    time.sleep(0.02)
            finally:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            for _ in range(100):  # let the X server drop the window before the next run looks for one
                if window() is None:
                    break
                time.sleep(0.05)
        return shown, log.read_text(encoding="utf-8", errors="replace")

    def keyring(self) -> None:
        self.step("keyring (throw-away home; the real keyring is never touched)")
        secret = f"smoke-{int(time.time())}-{secrets.token_hex(4)}!"
        if platform.system() == "Linux":
            rc, out = self.run(["profile", "add", "nokeyring", "--smtp", "127.0.0.1:2525", "--security", "none",
                                "--user", "smoke@example.test"], self.env(INBOXREADY_PASSWORD=secret))
            # the profile is kept without its password (kept nowhere else), and the run says so, exit 1
            if rc == 1 and "without its password" in out and "no keyring" in out and secret not in out:
                self.ok("no usable keyring: the profile kept without its password, and the plain 'no keyring' message")
            else:
                self.bad(f"no usable keyring, unexpected result (exit {rc}): {out[:400]}")

        kdir = self.scratch / "smoke-keyring"
        kdir.mkdir()
        shutil.copy(HERE / "smoke" / "inboxready_smoke_keyring.py", kdir)
        cfg = self.keyring_config_dir()
        cfg.mkdir(parents=True, exist_ok=True)
        (cfg / "keyringrc.cfg").write_text(
            f"[backend]\ndefault-keyring = inboxready_smoke_keyring.SmokeKeyring\nkeyring-path = {kdir}\n",
            encoding="utf-8")
        password_file = self.scratch / "smtp.password"
        server, port = serve(password_file)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        env = self.env(INBOXREADY_SMOKE_DIR=str(kdir))
        try:
            rc, out = self.run(["profile", "add", "smoke", "--smtp", f"127.0.0.1:{port}", "--security", "none",
                                "--user", "smoke@example.test", "--from", "smoke@example.test"],
                               {**env, "INBOXREADY_PASSWORD": secret})
            stored = _json(kdir / "secrets.json").get("InboxReady/send:smoke")
            if rc == 0 and stored == secret:
                self.ok("stored: the frozen keyring wrote the password to the test backend")
            else:
                self.bad(f"profile add (exit {rc}, stored {stored!r}): {out[:400]}")
            rc, out = self.run(["profile", "test", "smoke", "--timeout", "5"], env)
            got = password_file.read_text(encoding="utf-8") if password_file.exists() else None
            if rc == 0 and got == secret:
                self.ok("read: the frozen app took the password from the keyring and signed in with it")
            else:
                self.bad(f"profile test (exit {rc}; the server got {got!r}): {out[:400]}")
            rc, out = self.run(["profile", "remove", "smoke"], env)
            if rc == 0 and "InboxReady/send:smoke" not in _json(kdir / "secrets.json"):
                self.ok("deleted: profile remove took the password out of the keyring")
            else:
                self.bad(f"profile remove (exit {rc}): {out[:400]}")
        finally:
            server.shutdown()
        found = _json(kdir / "backends.json")
        need = NEEDED_BACKENDS.get(platform.system(), ["chainer"])
        missing = [n for n in need if found.get(n) != "ok"]
        listing = ", ".join(f"{k}={'ok' if v == 'ok' else 'not importable'}" for k, v in sorted(found.items()))
        if not found:
            self.bad("the test backend did not report keyring's backends")
        elif missing:
            self.bad(f"keyring backends missing from the frozen app: {', '.join(missing)} ({listing})")
        else:
            self.ok(f"keyring entry points in the frozen app: {listing}")

    def sizes(self, artifacts: list[Path]) -> dict[str, float]:
        self.step("size")
        root = self.app.parent.parent if self.app.name == "MacOS" else self.app  # the whole .app on macOS
        installed = sum(f.stat().st_size for f in root.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20
        figures = {"installed_mb": round(installed, 1)}
        line = f"installed: {installed:.1f} MB (budget {INSTALLED_BUDGET_MB} MB)  {root}"
        (self.ok if installed < INSTALLED_BUDGET_MB else self.bad)(line)
        for art in artifacts:
            mb = art.stat().st_size / 2**20
            figures[art.name] = round(mb, 1)
            line = f"download {art.name}: {mb:.1f} MB (budget {DOWNLOAD_BUDGET_MB} MB)"
            (self.ok if mb < DOWNLOAD_BUDGET_MB else self.bad)(line)
        return figures

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def _tail(text: str, limit: int = 800) -> str:
    """The end of a log, where the reason is (warnings printed at start-up come first)."""
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def _json(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("app", type=Path, help="folder with the inboxready and inboxready-gui executables")
    ap.add_argument("--expect-version")
    ap.add_argument("--artifact", type=Path, action="append", default=[], help="installer or archive to size")
    ap.add_argument("--skip", action="append", default=[], choices=["cli", "gui", "xcb", "keyring", "size"])
    ap.add_argument("--cold", action="store_true", help="drop the page cache before each xcb run (root)")
    ap.add_argument("--enforce-startup-budget", action="store_true",
                    help=f"fail when the main window takes {STARTUP_BUDGET_S:g} s or more to appear")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    smoke = Smoke(args.app.resolve())
    if not smoke.exe("inboxready").exists():
        print(f"no frozen app in {smoke.app}", file=sys.stderr)
        return 2
    figures: dict[str, float] = {}
    try:
        if "cli" not in args.skip:
            smoke.cli(args.expect_version)
        if "gui" not in args.skip:
            smoke.gui_offscreen()
        if "xcb" not in args.skip and "gui" not in args.skip and platform.system() == "Linux":
            smoke.gui_xcb(cold=args.cold, enforce_budget=args.enforce_startup_budget)
        if "keyring" not in args.skip:
            smoke.keyring()
        if "size" not in args.skip:
            figures = smoke.sizes(args.artifact)
    finally:
        smoke.close()
    print("\n== result\n  " + ("all smoke checks passed" if not smoke.failures
                                else f"{len(smoke.failures)} check(s) FAILED"))
    if args.json:
        args.json.write_text(json.dumps({"platform": platform.platform(), "results": smoke.results,
                                         "sizes": figures}, indent=1), encoding="utf-8")
    return 1 if smoke.failures else 0


if __name__ == "__main__":
    sys.exit(main())
