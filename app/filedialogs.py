"""Where the file dialogs open: the last folder the user chose in one (remembered between runs), else their
Documents folder, else their home folder; never the process's working directory (for an app started from
a launcher that is "/" or the install folder).

The last folder is kept in ``folders.json`` beside the settings (its own small file: the main window saves
its settings as a whole, and a dialog in another window must not race with it). Nothing else is stored
there; a file that can't be read or written is ignored (the dialogs still open somewhere sensible).
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog, QWidget

from inboxready.core.store.settings import atomic_write_text, config_dir

FOLDERS_FILE = "folders.json"
_last: dict[str, str] = {}  # this run's memory of the file (by its path), once read


def _file() -> Path:
    return config_dir() / FOLDERS_FILE


def _read_last() -> str:
    key = str(_file())
    if key not in _last:
        try:
            data = json.loads(_file().read_text(encoding="utf-8"))
            folder = data.get("last_folder", "") if isinstance(data, dict) else ""
        except (OSError, ValueError):
            folder = ""
        _last[key] = folder if isinstance(folder, str) else ""
    return _last[key]


def start_folder() -> str:
    """The folder a file dialog opens in."""
    last = _read_last()
    if last and Path(last).is_dir():
        return last
    docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    if docs and Path(docs).is_dir():
        return docs
    return str(Path.home())


def remember(path: str | Path) -> None:
    """Remember the folder of ``path`` (a chosen file, or a chosen folder) for the next dialog."""
    p = Path(path)
    folder = str(p if p.is_dir() else p.parent)
    if not folder or folder == _read_last():
        return
    _last[str(_file())] = folder
    try:
        atomic_write_text(_file(), json.dumps({"last_folder": folder}) + "\n")
    except OSError:
        pass  # remembered for this run only


def save_file(parent: QWidget | None, title: str, name: str, filters: str) -> tuple[str, str]:
    """``QFileDialog.getSaveFileName`` opened in ``start_folder()`` with ``name`` proposed."""
    path, chosen = QFileDialog.getSaveFileName(parent, title, str(Path(start_folder()) / name), filters)
    if path:
        remember(path)
    return path, chosen


def open_files(parent: QWidget | None, title: str, filters: str) -> list[str]:
    files, _ = QFileDialog.getOpenFileNames(parent, title, start_folder(), filters)
    if files:
        remember(files[0])
    return list(files)


def open_folder(parent: QWidget | None, title: str) -> str:
    folder = QFileDialog.getExistingDirectory(parent, title, start_folder())
    if folder:
        remember(folder)
    return folder


__all__ = ["open_files", "open_folder", "remember", "save_file", "start_folder"]
