"""User settings: a small JSON file in the user's config folder, written atomically.

What is kept: recent domains, an optional custom nameserver, extra DKIM selectors per domain, the
compliance profile, the colour theme and the window geometry. Nothing secret is ever stored here (credentials go through ``keyring`` only).

Where: ``platformdirs`` (``~/.config/InboxReady`` on Linux, ``%APPDATA%`` on Windows, ...). Setting the
environment variable ``INBOXREADY_HOME`` puts both the config and the data folder under that one folder
(tests and portable installs use it).

Writing is atomic: the new content goes to a temporary file in the same folder, is flushed to disk, then
``os.replace`` swaps it in, so a crash leaves either the old or the new file, never half of one. A file
that cannot be read (bad JSON, wrong shape) is moved aside and the defaults are used; ``problem`` says so
in plain words for the front end to show.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Generic, TypeVar

import platformdirs

APP_NAME = "InboxReady"
HOME_ENV = "INBOXREADY_HOME"
SETTINGS_FILE = "settings.json"
MAX_RECENT = 12
MAX_SELECTORS = 32
SETTINGS_VERSION = 1
# the most a settings-like JSON file may hold: InboxReady writes a few KB (a watch list of 10,000 domains is
# about 2 MB); anything bigger is not ours and is never read whole into memory
MAX_JSON_FILE = 16 * 1024 * 1024
THEMES = ("system", "light", "dark")


def config_dir() -> Path:
    """The folder for settings (``$INBOXREADY_HOME/config`` when that variable is set)."""
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home) / "config"
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False, roaming=True))


def data_dir() -> Path:
    """The folder for data such as the check history (``$INBOXREADY_HOME/data`` when set)."""
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home) / "data"
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False, roaming=False))


def _clean_selector(text: str) -> str:
    """A DKIM selector as typed: trimmed, lower case, without a pasted ``._domainkey...`` tail."""
    s = text.strip().strip(".").lower()
    if "._domainkey" in s:
        s = s.split("._domainkey", 1)[0]
    return s


def valid_selector(text: str) -> bool:
    """True for a selector made of DNS labels (letters, digits, '-', '_', dots between labels)."""
    s = _clean_selector(text)
    if not s or len(s) > 200:
        return False
    for label in s.split("."):
        if not label or len(label) > 63:
            return False
        if not all(c.isascii() and (c.isalnum() or c in "-_") for c in label):
            return False
    return True


@dataclass
class Settings:
    """Everything the front ends remember between runs."""

    recent_domains: list[str] = field(default_factory=list)  # newest first
    nameserver: str = ""  # "" means the computer's own DNS resolvers; else "IP[:PORT]"
    dkim_selectors: dict[str, list[str]] = field(default_factory=dict)  # domain -> extra selectors
    window_geometry: str = ""  # opaque (base64) text from the front end
    compliance_profile: str = "bulk-sender"  # the profile the app judges checks and audit reports against
    theme: str = "system"  # the app's colours: "system" (follow the computer), "light" or "dark"

    def add_recent(self, domain: str, limit: int = MAX_RECENT) -> None:
        d = domain.strip().lower()
        if not d:
            return
        self.recent_domains = [d] + [x for x in self.recent_domains if x != d]
        del self.recent_domains[limit:]

    def selectors_for(self, domain: str) -> list[str]:
        return list(self.dkim_selectors.get(domain.strip().lower(), []))

    def add_selector(self, domain: str, selector: str) -> str:
        """Remember ``selector`` for ``domain``; returns the cleaned selector. ``ValueError`` if the
        text cannot be a selector."""
        if not valid_selector(selector):
            raise ValueError(f"{selector.strip()!r} is not a DKIM selector (letters, digits, '-' and '_').")
        s = _clean_selector(selector)
        d = domain.strip().lower()
        current = self.dkim_selectors.setdefault(d, [])
        if s not in current:
            current.append(s)
            del current[:-MAX_SELECTORS]
        return s

    def remove_selector(self, domain: str, selector: str) -> None:
        d = domain.strip().lower()
        current = [x for x in self.dkim_selectors.get(d, []) if x != _clean_selector(selector)]
        if current:
            self.dkim_selectors[d] = current
        else:
            self.dkim_selectors.pop(d, None)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": SETTINGS_VERSION,
            "recent_domains": list(self.recent_domains),
            "nameserver": self.nameserver,
            "dkim_selectors": {k: list(v) for k, v in sorted(self.dkim_selectors.items())},
            "window_geometry": self.window_geometry,
            "compliance_profile": self.compliance_profile,
            "theme": self.theme,
        }

    @classmethod
    def from_json(cls, data: Any) -> "Settings":
        """Tolerant reading: a value of the wrong type falls back to its default, one by one.
        Raises ``ValueError`` only when ``data`` is not a JSON object at all."""
        if not isinstance(data, dict):
            raise ValueError("the settings file does not hold a JSON object")
        s = cls()
        recent = data.get("recent_domains")
        if isinstance(recent, list):
            s.recent_domains = [x.strip().lower() for x in recent if isinstance(x, str) and x.strip()][:MAX_RECENT]
        ns = data.get("nameserver")
        if isinstance(ns, str):
            s.nameserver = ns.strip()
        sels = data.get("dkim_selectors")
        if isinstance(sels, dict):
            for dom, values in sels.items():
                if isinstance(dom, str) and isinstance(values, list):
                    good = [_clean_selector(v) for v in values if isinstance(v, str) and valid_selector(v)]
                    if good:
                        s.dkim_selectors[dom.strip().lower()] = list(dict.fromkeys(good))[:MAX_SELECTORS]
        geo = data.get("window_geometry")
        if isinstance(geo, str):
            s.window_geometry = geo
        profile = data.get("compliance_profile")
        if isinstance(profile, str) and profile.strip():
            s.compliance_profile = profile.strip()  # an unknown name falls back to the default where used
        theme = data.get("theme")
        if theme in THEMES:
            s.theme = theme
        return s


def move_aside(path: Path, sidecars: tuple[str, ...] = ()) -> Path | None:
    """Rename a damaged file to ``NAME.damaged-YYYYmmdd-HHMMSS[-N]`` beside it (never overwriting an earlier
    one), with its ``sidecars`` (e.g. SQLite's ``-wal``/``-shm``) renamed alike. Returns the new path, or
    None when there was nothing to move or it could not be moved."""
    if not path.exists():
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    try:
        os.replace(path, target)
    except OSError:
        return None
    for suffix in sidecars:
        side = path.with_name(path.name + suffix)
        if side.exists():
            try:
                os.replace(side, target.with_name(target.name + suffix))
            except OSError:
                pass
    return target


T = TypeVar("T")


@dataclass
class JsonFile(Generic[T]):
    """What ``read_json_file`` found."""

    value: T | None = None  # what ``parse`` made of the file; None when missing, unreadable or damaged
    problem: str = ""  # plain words for the front end ("" when read, or when there is no file yet)
    unreadable: bool = False  # the file is there but could not be read (permissions, I/O): left as it is
    moved_to: Path | None = None  # a damaged file, kept under this name (None: not damaged, or not movable)


def read_json_file(path: Path, parse: Callable[[Any], T], *, unreadable: str, damaged: str) -> JsonFile[T]:
    """Read a small JSON settings-like file (settings, mail profiles, DNS accounts, the watch list) the one
    way they are all read: no file is no problem; a file that can't be read (permissions, I/O) is left as it
    is and ``unreadable`` says so (``{reason}`` in it is the system's reason); a damaged one (not UTF-8, not
    JSON, or ``parse`` raises ``ValueError`` for its shape) is moved aside (``NAME.damaged-<time>``, never
    overwritten by the next save) and ``damaged`` says so, naming the kept copy. Never raises for the file's
    content."""
    try:
        raw = _read_small_file(path)
    except FileNotFoundError:
        return JsonFile()
    except _TooBig:
        moved = move_aside(path)
        where = f" The old file was kept as {moved.name}." if moved else ""
        return JsonFile(problem=f"{damaged} (It is over {MAX_JSON_FILE // (1024 * 1024)} MB, far bigger than "
                                f"InboxReady ever writes.){where}", moved_to=moved)
    except OSError as exc:
        return JsonFile(problem=unreadable.format(reason=exc.strerror or exc), unreadable=True)
    try:
        return JsonFile(parse(json.loads(raw.decode("utf-8"))))  # UnicodeDecodeError is a ValueError
    except (ValueError, RecursionError):
        moved = move_aside(path)
        where = f" The old file was kept as {moved.name}." if moved else ""
        return JsonFile(problem=damaged + where, moved_to=moved)


class _TooBig(Exception):
    pass


def _read_small_file(path: Path) -> bytes:
    """The bytes of ``path`` when it is a regular file of at most ``MAX_JSON_FILE`` bytes. Never blocks on a
    named pipe and never reads a device (or a symlink to /dev/zero) for ever: those raise ``OSError``
    ("not a regular file"), a folder too; a bigger file raises ``_TooBig`` after reading just past the limit."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "a folder is where the file should be", str(path))
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "a pipe, a device or a socket is where the file should be",
                          str(path))
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, MAX_JSON_FILE + 1 - total))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            total += len(chunk)
            if total > MAX_JSON_FILE:
                raise _TooBig
    finally:
        os.close(fd)


def file_object(data: Any) -> dict[str, Any]:
    """``data`` when it is a JSON object (a ``parse`` for ``read_json_file``); ValueError otherwise."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def private_dir(folder: Path) -> None:
    """Make ``folder`` if needed, readable by its owner only (0700); our own config and data folders are
    tightened to 0700 when an older version left them open. Raises ``OSError``."""
    if not folder.is_dir():
        if folder.exists() or folder.is_symlink():
            raise NotADirectoryError(errno.ENOTDIR, "a file is in the way of the folder", str(folder))
        folder.parent.mkdir(parents=True, exist_ok=True)  # the folders above: as the system makes them
        folder.mkdir(mode=0o700, exist_ok=True)
    if os.name == "posix" and folder in (config_dir(), data_dir()):
        try:
            st = folder.stat()
            if st.st_mode & 0o077 and st.st_uid == os.getuid():
                os.chmod(folder, 0o700)
        except OSError:
            pass


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash leaves the old or the new content, never a mix. The file
    is readable by its owner only (0600), in a folder that is too (``private_dir``). Raises ``OSError``
    (a read-only folder, a full disk, a directory in the file's place) with nothing changed."""
    private_dir(path.parent)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "a folder is in the way of the file", str(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable where the platform allows it
        dfd = os.open(str(path.parent), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


class SettingsStore:
    """Loads and saves ``Settings`` at ``path`` (default: ``config_dir()/settings.json``)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else config_dir() / SETTINGS_FILE
        self.problem = ""  # plain words when the file could not be read (it was moved aside)
        self.moved_to: Path | None = None

    def load(self) -> Settings:
        read = read_json_file(self.path, Settings.from_json,
                              unreadable="Your InboxReady settings could not be read ({reason}); using defaults.",
                              damaged="Your InboxReady settings file was damaged, so the defaults are used.")
        self.problem, self.moved_to = read.problem, read.moved_to
        return read.value if read.value is not None else Settings()

    def save(self, settings: Settings) -> None:
        atomic_write_text(self.path, json.dumps(settings.to_json(), indent=2, ensure_ascii=False) + "\n")



__all__ = ["HOME_ENV", "JsonFile", "Settings", "SettingsStore", "atomic_write_text", "config_dir", "data_dir",
           "file_object", "move_aside", "private_dir", "read_json_file", "valid_selector"]
