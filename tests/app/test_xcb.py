"""The real desktop start: ``inboxready-gui`` on Qt's xcb platform under Xvfb (not only ``offscreen``), a
plain sentence instead of Qt's abort when the platform plugin can't load, and a clean exit."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from inboxready.app import platformcheck
from tests.xserver import XDisplay, require_xvfb, start_xvfb

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 (xcb) is Linux's platform")


def _entry_point(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    assert path.exists(), f"{path} is missing: install the project (pip install -e '.[test]') to get it"
    return str(path)


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QT_", "PYTHONWARNINGS", "WAYLAND", "XDG_SESSION"))}
    runtime = home / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env.update(INBOXREADY_HOME=str(home), HOME=str(home), XDG_RUNTIME_DIR=str(runtime), **extra)
    return env


@pytest.fixture
def xvfb() -> Iterator[str]:
    binary = require_xvfb()
    yield from start_xvfb(binary)


def test_gui_opens_its_window_on_xcb_and_closes_cleanly(xvfb: str, tmp_path: Path) -> None:
    problem = platformcheck.platform_problem(dict(os.environ, DISPLAY=xvfb, QT_QPA_PLATFORM="xcb"))
    if problem:  # the system libraries of the README's apt line are not installed here
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail(problem + " (CI=true: .ci/run installs them)")
        pytest.skip(problem)
    start = time.monotonic()
    proc = subprocess.Popen([_entry_point("inboxready-gui")], env=_env(tmp_path, DISPLAY=xvfb),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    display = XDisplay(xvfb)
    try:
        try:
            window = display.wait_for("InboxReady", timeout=30)
        except AssertionError:
            proc.kill()
            out, err = proc.communicate(timeout=10)
            raise AssertionError(f"no window; exit {proc.returncode}, stderr:\n{err}") from None
        mapped_after = time.monotonic() - start
        time.sleep(0.5)  # a user's first look: the window is drawn and idle
        display.request_close(window)  # the title bar's close button
        out, err = proc.communicate(timeout=30)
    finally:
        display.close()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert err == "", f"the app printed on stderr (library warnings, Qt warnings at exit):\n{err}"
    assert out == ""
    assert mapped_after < 30


def _broken_plugin(tmp_path: Path) -> Path:
    """A copy of the real xcb plugin that needs a library no system has (one byte of its needed-list
    changed: libxcb-icccm.so.4 -> .so.9), as on a minimal Debian without libxcb-icccm4."""
    real = platformcheck.plugin_file("xcb", {})
    assert real is not None, "PySide6's xcb plugin is missing"
    data = real.read_bytes()
    needed = b"libxcb-icccm.so.4\x00"
    assert data.count(needed) == 1
    folder = tmp_path / "platforms"
    folder.mkdir()
    (folder / "libqxcb.so").write_bytes(data.replace(needed, b"libxcb-icccm.so.9\x00"))
    return folder


def test_a_missing_system_library_is_one_plain_sentence_with_the_install_line(tmp_path: Path) -> None:
    folder = _broken_plugin(tmp_path)
    from PySide6.QtCore import QLibraryInfo

    qt_libs = QLibraryInfo.path(QLibraryInfo.LibraryPath.LibrariesPath)  # the copy's own $ORIGIN/../../lib
    env = _env(tmp_path, DISPLAY=":99", QT_QPA_PLATFORM_PLUGIN_PATH=str(folder),
               LD_LIBRARY_PATH=os.pathsep.join(filter(None, [qt_libs, os.environ.get("LD_LIBRARY_PATH")])))
    start = time.monotonic()
    proc = subprocess.run([_entry_point("inboxready-gui")], env=env, capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - start
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr  # one sentence: no Qt abort, no "xcb-cursor0 is needed" hint
    sentence = lines[0]
    assert "libxcb-icccm.so.9" in sentence and "missing" in sentence, sentence
    expected = platformcheck.install_line(["libxcb-icccm.so.9"])
    assert (f"install it with: {expected}" in sentence) if expected else ("your distribution" in sentence)
    assert "qt.qpa" not in proc.stderr and "Aborted" not in proc.stderr
    assert elapsed < 20


def test_install_lines_for_each_distribution() -> None:
    missing = ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    debian = {"ID": "debian"}
    assert platformcheck.install_line(missing, debian) == "sudo apt install libxcb-icccm4 libxcb-keysyms1"
    assert platformcheck.install_line(missing, {"ID": "linuxmint", "ID_LIKE": "ubuntu debian"}) == \
        "sudo apt install libxcb-icccm4 libxcb-keysyms1"
    assert platformcheck.install_line(missing, {"ID": "fedora"}) == "sudo dnf install xcb-util-wm xcb-util-keysyms"
    assert platformcheck.install_line(["libglib-2.0.so.0", "libgthread-2.0.so.0"], debian) == \
        "sudo apt install libglib2.0-0"  # one package for both
    assert platformcheck.install_line(["libfoo-2.so.0", "libbar.so.3"], debian) == "sudo apt install libfoo-2-0 libbar3"
    assert platformcheck.install_line(missing, {"ID": "arch"}) is None
    assert platformcheck.install_line(["libunknown.so.1"], {"ID": "fedora"}) is None


def _fake_plugins(monkeypatch: pytest.MonkeyPatch, missing: dict[str, list[str]]) -> None:
    monkeypatch.setattr(platformcheck, "plugin_file", lambda name, env=None: Path(f"/plugins/libq{name}.so"))
    monkeypatch.setattr(platformcheck, "missing_libraries", lambda path: missing[path.stem[4:]])
    monkeypatch.setattr(platformcheck, "display_problem", lambda display: None)  # as if the display answers


def test_no_display_is_said_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_plugins(monkeypatch, {"xcb": []})
    problem = platformcheck.platform_problem({})
    assert problem is not None and "no desktop display" in problem and "inboxready check" in problem


def test_other_platforms_are_left_to_qt(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_plugins(monkeypatch, {"xcb": ["libxcb-icccm.so.4"]})
    assert platformcheck.platform_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert platformcheck.platform_problem({"QT_QPA_PLATFORM": "vnc:size=800x600"}) is None


def test_in_a_wayland_session_the_plugin_that_loads_is_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_plugins(monkeypatch, {"wayland": ["libwayland-cursor.so.0"], "xcb": []})
    env = {"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}
    assert platformcheck.platform_problem(env) is None
    assert env["QT_QPA_PLATFORM"] == "xcb"
    _fake_plugins(monkeypatch, {"wayland": [], "xcb": ["libxcb-icccm.so.4"]})
    env = {"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}
    assert platformcheck.platform_problem(env) is None and "QT_QPA_PLATFORM" not in env


def test_every_missing_library_is_named_once(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_plugins(monkeypatch, {"xcb": ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]})
    problem = platformcheck.platform_problem({"DISPLAY": ":0"}, {"ID": "ubuntu"})
    assert problem == ("InboxReady can't open its window because the system libraries libxcb-icccm.so.4 and "
                       "libxcb-keysyms.so.1 are missing; install them with: sudo apt install libxcb-icccm4 "
                       "libxcb-keysyms1")


EXIT_SCRIPT = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from inboxready.app import gui, main_window

shown = main_window.MainWindow.show

def show(self):
    shown(self)
    def tools():
        self.open_builders(); self.open_watch_window(); self.open_message_screen(); self.open_reports()
        QTimer.singleShot(300, self.close)
    QTimer.singleShot(200, tools)

main_window.MainWindow.show = show
code = gui.main(["--demo"])
left = [type(w).__name__ for w in QApplication.topLevelWidgets()]
print("left:", left)
sys.exit(code)
"""


def test_exit_frees_every_window_while_qt_is_still_there(tmp_path: Path) -> None:
    """Windows (and what was handed to deleteLater) left for the interpreter's exit are destroyed after the
    QApplication, where Qt prints QBasicTimer warnings: the app frees them itself once its loop ends."""
    env = _env(tmp_path, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-W", "ignore", "-c", EXIT_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "left: []" in proc.stdout, proc.stdout + proc.stderr
    assert "QBasicTimer" not in proc.stderr and "QObject::" not in proc.stderr, proc.stderr


def test_a_platform_without_its_plugin_falls_to_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    """A frozen build has no wayland plugin: in a Wayland session the xcb plugin is checked instead."""
    monkeypatch.setattr(platformcheck, "plugin_file",
                        lambda name, env=None: Path("/plugins/libqxcb.so") if name == "xcb" else None)
    monkeypatch.setattr(platformcheck, "missing_libraries", lambda path: ["libxcb-keysyms.so.1"])
    problem = platformcheck.platform_problem({"XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"}, {"ID": "debian"})
    assert problem is not None and problem.endswith("sudo apt install libxcb-keysyms1")


def test_the_readme_and_ci_install_the_same_system_libraries() -> None:
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    setup = readme.split("## Set up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    # the app's libraries (one line), then git and python3-venv for the set-up, then the tests' tools
    apt_lines = [set(words.split()) for words in re.findall(r"`sudo apt install ([^`]+)`", setup)]
    gui_line = [words for words in apt_lines if "libegl1" in words]
    dnf_line = [line for line in setup.splitlines() if "sudo dnf install" in line]
    assert len(gui_line) == 1 and len(dnf_line) == 1
    readme_apt = gui_line[0]
    ci = (root / ".ci" / "run").read_text(encoding="utf-8")
    install = ci.split("apt-get install", 1)[1].split(">/dev/null", 1)[0].replace("\\\n", " ")
    ci_packages = {w for w in install.split() if not w.startswith("-")}
    assert readme_apt <= ci_packages and "xvfb" in ci_packages
    extra = ci_packages - readme_apt  # the test tools (xvfb, Dovecot, ...): no GUI library the README lacks
    assert not [p for p in extra if p.startswith(("lib", "fonts-"))], extra
    # what CI installs beyond the app's libraries, the README names too (a newcomer's tests would skip)
    assert extra <= set().union(*apt_lines) and "python3-venv" in ci_packages
    # the names the missing-library sentence uses are the README's for every library Qt's xcb plugin
    # links to directly (the rest of the README's packages bring them in)
    debian_names = {deb for deb, _ in platformcheck.PACKAGES.values()}
    assert readme_apt - {"fonts-dejavu-core"} <= debian_names
    fedora = set(dnf_line[0].strip(" `").split("sudo dnf install ", 1)[1].split())
    assert fedora - {"dejavu-sans-fonts"} <= {fed for _, fed in platformcheck.PACKAGES.values()}


def _unused_display() -> str:
    import random

    for _ in range(100):
        n = random.randint(3000, 9000)
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return f":{n}"
    pytest.skip("no free display number")


def test_a_display_nobody_answers_is_said_plainly_not_a_qt_abort(tmp_path: Path) -> None:
    # a DISPLAY left over from a session that ended: Qt aborted (exit 134, a core dump) blaming libxcb-cursor0,
    # which was installed all along (h11)
    display = _unused_display()
    problem = platformcheck.display_problem(display)
    assert problem is not None and f"the desktop display {display} (DISPLAY) can't be reached" in problem
    assert "inboxready check DOMAIN" in problem
    assert platformcheck.display_problem("remote.example:0") is None  # another host: never waited for here
    libraries = platformcheck.platform_problem({"QT_QPA_PLATFORM": "xcb", "DISPLAY": display})
    if libraries is not None and "missing" in libraries:
        pytest.skip(libraries)  # the README's apt line is not installed here: that sentence comes first
    assert libraries == problem
    proc = subprocess.run([_entry_point("inboxready-gui"), "--demo"], env=_env(tmp_path, DISPLAY=display),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert f"display {display} (DISPLAY) can't be reached" in proc.stderr and "xcb-cursor" not in proc.stderr


def test_a_display_that_answers_is_no_problem(xvfb: str) -> None:
    assert platformcheck.display_problem(xvfb) is None
