"""A private Xvfb X server for tests that start the real GUI on Qt's ``xcb`` platform.

``Xvfb`` listens only on its Unix socket (``-nolisten tcp``); the display number is the first free one
(``-displayfd``). Windows are found and closed through libX11 (ctypes, the library Qt's xcb plugin loads
anyway), as a window manager would: "close" is a ``WM_DELETE_WINDOW`` message, the title-bar button.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import time
from typing import Iterator

import pytest


def require_xvfb() -> str:
    """The Xvfb binary; skipped with the install line on a developer machine, failed under CI."""
    binary = shutil.which("Xvfb")
    if binary is not None and ctypes.util.find_library("X11"):
        return binary
    msg = "Xvfb is not installed, so the GUI can't be started on the xcb platform. Install it with: apt-get install -y xvfb"
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(msg + " (CI=true: this test must not be skipped)")
    pytest.skip(msg)


class _ClientMessage(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                ("format", ctypes.c_int), ("data", ctypes.c_long * 5)]


class _Event(ctypes.Union):
    _fields_ = [("xclient", _ClientMessage), ("pad", ctypes.c_long * 24)]


class _Attributes(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("width", ctypes.c_int), ("height", ctypes.c_int),
                ("border_width", ctypes.c_int), ("depth", ctypes.c_int), ("visual", ctypes.c_void_p),
                ("root", ctypes.c_ulong), ("class", ctypes.c_int), ("bit_gravity", ctypes.c_int),
                ("win_gravity", ctypes.c_int), ("backing_store", ctypes.c_int), ("backing_planes", ctypes.c_ulong),
                ("backing_pixel", ctypes.c_ulong), ("save_under", ctypes.c_int), ("colormap", ctypes.c_ulong),
                ("map_installed", ctypes.c_int), ("map_state", ctypes.c_int), ("all_event_masks", ctypes.c_long),
                ("your_event_mask", ctypes.c_long), ("do_not_propagate_mask", ctypes.c_long),
                ("override_redirect", ctypes.c_int), ("screen", ctypes.c_void_p)]


IS_VIEWABLE = 2


class XDisplay:
    """A connection to one X display: the viewable top-level windows and their titles; close one."""

    def __init__(self, display: str) -> None:
        x = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
        x.XOpenDisplay.restype = ctypes.c_void_p
        x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x.XDefaultRootWindow.restype = ctypes.c_ulong
        x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong),
                                 ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)),
                                 ctypes.POINTER(ctypes.c_uint)]
        x.XFetchName.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_char_p)]
        x.XGetWindowAttributes.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(_Attributes)]
        x.XInternAtom.restype = ctypes.c_ulong
        x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        x.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.POINTER(_Event)]
        x.XFlush.argtypes = [ctypes.c_void_p]
        x.XFree.argtypes = [ctypes.c_void_p]
        x.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self._x = x
        self._dpy = x.XOpenDisplay(display.encode())
        if not self._dpy:
            raise RuntimeError(f"cannot open X display {display}")

    def close(self) -> None:
        if self._dpy:
            self._x.XCloseDisplay(self._dpy)
            self._dpy = None

    def windows(self) -> dict[int, str]:
        """Viewable top-level windows (no window manager here: the root's children) and their titles."""
        root, parent = ctypes.c_ulong(), ctypes.c_ulong()
        children = ctypes.POINTER(ctypes.c_ulong)()
        count = ctypes.c_uint()
        self._x.XQueryTree(self._dpy, self._x.XDefaultRootWindow(self._dpy), ctypes.byref(root),
                           ctypes.byref(parent), ctypes.byref(children), ctypes.byref(count))
        out: dict[int, str] = {}
        for i in range(count.value):
            wid = children[i]
            attrs = _Attributes()
            if not self._x.XGetWindowAttributes(self._dpy, wid, ctypes.byref(attrs)):
                continue
            if attrs.map_state != IS_VIEWABLE:
                continue
            name = ctypes.c_char_p()
            if self._x.XFetchName(self._dpy, wid, ctypes.byref(name)) and name.value is not None:
                out[int(wid)] = name.value.decode("utf-8", "replace")
                self._x.XFree(name)
            else:
                out[int(wid)] = ""
        if children:
            self._x.XFree(children)
        return out

    def wait_for(self, title: str, timeout: float) -> int:
        """The id of a viewable top-level window whose title contains ``title`` (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        seen: dict[int, str] = {}
        while time.monotonic() < deadline:
            seen = self.windows()
            for wid, name in seen.items():
                if title in name:
                    return wid
            time.sleep(0.05)
        raise AssertionError(f"no window titled {title!r} was mapped within {timeout} s (viewable: {seen})")

    def request_close(self, wid: int) -> None:
        """What a window manager sends when the user clicks the title bar's close button."""
        protocols = self._x.XInternAtom(self._dpy, b"WM_PROTOCOLS", 0)
        delete = self._x.XInternAtom(self._dpy, b"WM_DELETE_WINDOW", 0)
        event = _Event()
        event.xclient.type = 33  # ClientMessage
        event.xclient.window = wid
        event.xclient.message_type = protocols
        event.xclient.format = 32
        event.xclient.data[0] = delete
        event.xclient.data[1] = 0  # CurrentTime
        self._x.XSendEvent(self._dpy, wid, 0, 0, ctypes.byref(event))
        self._x.XFlush(self._dpy)


def start_xvfb(binary: str) -> Iterator[str]:
    """Run Xvfb on the first free display; yields ":N"."""
    read, write = os.pipe()
    # -noreset: an X server resets when its last client leaves and refuses a client that connects meanwhile.
    proc = subprocess.Popen([binary, "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp",
                             "-nolisten", "local", "-noreset"], pass_fds=(write,), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        number = b""
        deadline = time.monotonic() + 20
        while not number.endswith(b"\n") and time.monotonic() < deadline:
            chunk = os.read(read, 16)
            if not chunk:
                break
            number += chunk
        assert number.strip(), "Xvfb did not start"
        yield ":" + number.decode().strip()
    finally:
        os.close(read)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
