"""Light/dark/system in Settings (not only --theme); file dialogs open in the Documents folder or the last
folder used, never in the working directory; Esc closes the Test a message window, and no "Cancel" stays
beside "Done." once a test has finished."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from inboxready.core.store.settings import SettingsStore

WAIT_MS = 20000


class FakeThemes:
    """Stands in for the app's ThemeManager where a test must not change the shared one."""

    def __init__(self, pinned: bool) -> None:
        self.pinned, self.scheme, self.listeners, self.choices = pinned, "light", [], []

    def set_choice(self, choice: str) -> None:
        self.choices.append(choice)


def test_the_theme_is_chosen_in_settings_saved_and_used_at_the_next_start(make_window, qtbot, home: Path,
                                                                          theme_app) -> None:  # type: ignore[no-untyped-def]
    from inboxready.app.gui import parse_args
    from inboxready.app.main_window import MainWindow, SettingsDialog

    w = make_window()
    dialog = SettingsDialog("", w, theme=w.settings.theme)
    qtbot.addWidget(dialog)
    assert [dialog.theme_box.itemData(i) for i in range(dialog.theme_box.count())] == ["system", "light", "dark"]
    assert dialog.theme() == "system"  # the default: follow the computer
    try:
        w.apply_settings(theme="dark")
        assert theme_app.scheme == "dark"  # at once, every window
        assert SettingsStore().load().theme == "dark"  # and saved
    finally:
        theme_app.set_choice("light")
        theme_app.pinned = True

    # the next start uses the saved theme, unless --theme says otherwise for that run
    follows = FakeThemes(pinned=False)
    w2 = MainWindow(theme_manager=follows)  # type: ignore[arg-type]
    qtbot.addWidget(w2)
    assert follows.choices == ["dark"]
    pinned = FakeThemes(pinned=True)
    w3 = MainWindow(theme_manager=pinned)  # type: ignore[arg-type]
    qtbot.addWidget(w3)
    assert pinned.choices == []
    for window in (w2, w3):
        window.shutdown()
    assert parse_args([]).theme is None and parse_args(["--theme", "light"]).theme == "light"


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A home with a Documents folder, and a working directory elsewhere (as for an app started from a
    launcher, whose working directory is "/" or the install folder)."""
    user = tmp_path / "user"
    (user / "Documents").mkdir(parents=True)
    (user / ".config").mkdir()
    monkeypatch.setenv("HOME", str(user))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(user / ".config"))
    monkeypatch.delenv("XDG_DOCUMENTS_DIR", raising=False)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    chosen = tmp_path / "reports-folder"
    chosen.mkdir()
    return {"documents": user / "Documents", "cwd": elsewhere, "chosen": chosen}


def test_file_dialogs_open_in_documents_then_in_the_last_folder_used(make_window, qtbot, places: dict[str, Path],
                                                                     monkeypatch: pytest.MonkeyPatch, home: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QFileDialog

    from inboxready.app import filedialogs

    asked: list[tuple[str, str]] = []

    def fake_save(parent: Any, title: str, start: str, filters: str = "") -> tuple[str, str]:
        asked.append(("save", start))
        return str(places["chosen"] / Path(start).name), ""

    def fake_open(parent: Any, title: str, start: str, filters: str = "") -> tuple[list[str], str]:
        asked.append(("open", start))
        return [], ""

    def fake_folder(parent: Any, title: str, start: str) -> str:
        asked.append(("folder", start))
        return ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", fake_save)
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", fake_open)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", fake_folder)
    w = make_window()
    reports = w.open_reports()
    reports.choose_files()
    reports.choose_folder()
    assert asked == [("open", str(places["documents"])), ("folder", str(places["documents"]))]

    with qtbot.waitSignal(w.open_builders().spfUpdated, timeout=WAIT_MS):  # its first count, done before we go on
        pass
    builders = w.open_builders()
    builders.domain_field.setText("example.com")
    with qtbot.waitSignal(builders.keyGenerated, timeout=WAIT_MS):
        builders.generate_key()
    monkeypatch.setattr(builders, "save_private_key", lambda path, overwrite=False: 0)
    builders._ask_save()
    assert Path(asked[-1][1]).parent == places["documents"] and asked[-1][1].endswith(".private.pem")
    # the key was "saved" in another folder: the next dialog opens there, in this run and the next
    reports.choose_files()
    assert asked[-1] == ("open", str(places["chosen"]))
    filedialogs._last.clear()  # as after a restart
    reports.choose_folder()
    assert asked[-1] == ("folder", str(places["chosen"]))
    assert all(not start.startswith(str(places["cwd"])) for _, start in asked)
    assert json.loads((home / "config" / "folders.json").read_text())["last_folder"] == str(places["chosen"])


def test_escape_closes_the_test_a_message_window_and_no_cancel_beside_done(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    w = make_window()
    window = w.open_message_screen()
    screen = window.screen_widget
    qtbot.waitUntil(window.isVisible, timeout=5000)
    assert not screen.cancel_button.isVisible()  # nothing running: no Cancel
    screen.modes.setCurrentIndex(2)
    screen.paste_box.setPlainText("Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=a@b.example\n"
                                  "From: a@b.example\nSubject: hi\n")
    with qtbot.waitSignal(screen.finishedRun, timeout=WAIT_MS):
        screen.start_paste()
        assert screen.cancel_button.isVisible()  # while it runs
    assert screen.status_label.text() == "Done." and not screen.cancel_button.isVisible()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    screen.paste_box.setFocus()
    qtbot.keyClick(screen.paste_box, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
