"""Before ``QApplication``: can Qt open a window on this Linux desktop? If not, say why in one sentence.

When Qt's platform plugin can't load, Qt itself prints a misleading hint (on a minimal Debian it blames
``xcb-cursor0`` while ``libxcb-icccm4`` and ``libxcb-keysyms1`` were missing) and aborts the process.
``platform_problem()`` loads the plugin Qt is about to use first (a ``dlopen`` of the same file: Qt reuses
it, so start-up costs nothing more) and, only when that fails, lists every missing library with ``ldd``
and names the packages that provide them, for the user's distribution.
"""

from __future__ import annotations

import ctypes
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Mapping, MutableMapping

# soname -> (Debian/Ubuntu package, Fedora package). Every system library the xcb and wayland platform
# plugins of PySide6-Essentials (and the Qt libraries they load) link to, beyond the C/C++ runtime.
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libwayland-client.so.0": ("libwayland-client0", "libwayland-client"),
    "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor"),
    "libwayland-egl.so.1": ("libwayland-egl1", "libwayland-egl"),
}

_CHECKED = ("xcb", "wayland")  # the desktop plugins; offscreen, minimal, vnc… need nothing of the desktop's
_RTLD_LAZY = getattr(os, "RTLD_LAZY", 1)


def _debian_name(soname: str) -> str:
    """Debian's rule for a library package: libfoo.so.1 -> libfoo1, libfoo-2.so.0 -> libfoo-2-0."""
    m = re.fullmatch(r"(.+)\.so\.(\d+)(?:\..*)?", soname)
    if not m:
        return soname
    stem, version = m.group(1).lower(), m.group(2)
    return f"{stem}-{version}" if stem[-1].isdigit() else f"{stem}{version}"


def install_line(missing: list[str], os_release: Mapping[str, str] | None = None) -> str | None:
    """The command that installs ``missing`` (sonames) on this distribution (Debian, Ubuntu and their
    derivatives; Fedora, RHEL), or None where we don't know the package names."""
    if os_release is None:
        try:
            os_release = platform.freedesktop_os_release()
        except OSError:
            os_release = {}
    ids = {os_release.get("ID", "").lower(), *os_release.get("ID_LIKE", "").lower().split()}
    if ids & {"debian", "ubuntu"}:
        names = [PACKAGES[s][0] if s in PACKAGES else _debian_name(s) for s in missing]
        return "sudo apt install " + " ".join(dict.fromkeys(names))
    if ids & {"fedora", "rhel", "centos"} and all(s in PACKAGES for s in missing):
        return "sudo dnf install " + " ".join(dict.fromkeys(PACKAGES[s][1] for s in missing))
    return None


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def plugin_file(name: str, env: Mapping[str, str] | None = None) -> Path | None:
    """The platform plugin Qt would load for ``name`` (QT_QPA_PLATFORM_PLUGIN_PATH first, as Qt does)."""
    env = os.environ if env is None else env
    folders = [Path(env["QT_QPA_PLATFORM_PLUGIN_PATH"])] if env.get("QT_QPA_PLATFORM_PLUGIN_PATH") else []
    from PySide6.QtCore import QCoreApplication

    folders += [Path(p) / "platforms" for p in QCoreApplication.libraryPaths()]
    for folder in folders:
        path = folder / f"libq{name}.so"
        if path.is_file():
            return path
    return None


def missing_libraries(plugin: Path) -> list[str]:
    """The system libraries ``plugin`` needs that can't be found (empty when it loads)."""
    libdl = ctypes.CDLL(None)
    libdl.dlopen.restype = ctypes.c_void_p
    libdl.dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    libdl.dlerror.restype = ctypes.c_char_p
    if libdl.dlopen(os.fsencode(plugin), _RTLD_LAZY):
        return []  # loaded; Qt's own dlopen of the same file reuses it
    error = (libdl.dlerror() or b"").decode(errors="replace")
    missing: list[str] = []
    ldd = shutil.which("ldd")
    if ldd:
        try:
            out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        missing = list(dict.fromkeys(re.findall(r"^\s*(\S+) => not found", out, re.MULTILINE)))
    if not missing:
        m = re.match(r"([^:\s]+\.so[.\d]*): cannot open shared object file", error)
        missing = [m.group(1)] if m else [error or f"a library {plugin.name} needs"]
    return missing


def display_problem(display: str) -> str | None:
    """One sentence when the X display ``display`` (on this computer: ``:N`` or ``unix:N``) can't be
    reached, e.g. a DISPLAY left over from a session that ended; None when it can, or when it is on another
    host (a connection there could wait for minutes: Qt says what happens)."""
    if not re.fullmatch(r"(unix)?:\d+(\.\d+)?", display.strip()):
        return None
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return None
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.restype = ctypes.c_int
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    conn = xcb.xcb_connect(display.encode(), None)  # a local socket: answers or refuses at once
    try:
        failed = not conn or xcb.xcb_connection_has_error(conn) != 0
    finally:
        if conn:
            xcb.xcb_disconnect(conn)
    if not failed:
        return None
    return (f"InboxReady can't open its window because the desktop display {display} (DISPLAY) can't be "
            "reached: no display server answers there, or it refuses this user. Start InboxReady from the "
            "desktop session itself, or use the command line: inboxready check DOMAIN")


def platform_problem(env: MutableMapping[str, str] | None = None,
                     os_release: Mapping[str, str] | None = None) -> str | None:
    """One plain sentence when Qt won't be able to open a window here, else None.

    In a Wayland session where only the xcb plugin can load (or the other way round), the one that loads is
    chosen (``QT_QPA_PLATFORM`` set for this process) instead of letting Qt abort on the other."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux"):
        return None
    requested = [p.split(":", 1)[0].strip() for p in env.get("QT_QPA_PLATFORM", "").split(";") if p.strip()]
    wayland_session = env.get("XDG_SESSION_TYPE", "").lower() == "wayland" or bool(env.get("WAYLAND_DISPLAY"))
    candidates = requested or (["wayland", "xcb"] if wayland_session else ["xcb"])
    missing: list[str] = []
    no_display = False
    for name in candidates:
        if name not in _CHECKED:
            return None
        if name == "xcb" and not env.get("DISPLAY"):
            no_display = True
            continue
        plugin = plugin_file(name, env)
        if plugin is None:
            continue  # not installed (a frozen build has no wayland plugin): Qt tries the next one too
        lacking = missing_libraries(plugin)
        if not lacking:
            if name == "xcb" and name == candidates[-1]:
                unreachable = display_problem(env.get("DISPLAY", ""))
                if unreachable:  # Qt would abort blaming libxcb-cursor0 (a stale DISPLAY, an X server gone)
                    return unreachable
            if name != candidates[0]:
                env["QT_QPA_PLATFORM"] = name
            return None
        missing += [s for s in lacking if s not in missing]
    if missing:
        one = len(missing) == 1
        command = install_line(missing, os_release)
        how = (f"install {'it' if one else 'them'} with: {command}" if command else
               f"install the package{'' if one else 's'} of your distribution that provide{'s' if one else ''} "
               f"{'it' if one else 'them'}")
        return (f"InboxReady can't open its window because the system librar{'y' if one else 'ies'} "
                f"{_and(missing)} {'is' if one else 'are'} missing; {how}")
    if no_display:
        return ("InboxReady can't open its window because there is no desktop display here (DISPLAY is not "
                "set); start it from a desktop session, or use the command line: inboxready check DOMAIN")
    return None


__all__ = ["PACKAGES", "display_problem", "install_line", "missing_libraries", "platform_problem", "plugin_file"]
