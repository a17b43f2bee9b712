"""Every keyboard shortcut the main window advertises (in a tooltip or beside a menu entry) works: pressing
it opens its window or does its job. Each is registered once, so Qt never finds it ambiguous."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from inboxready.app.demo import DemoDnsServer
from inboxready.core.dns.server import DnsTestServer

from .conftest import add_good_zone

WAIT_MS = 20000
CTRL = Qt.KeyboardModifier.ControlModifier


def _advertised(w: QWidget) -> set[str]:
    """Shortcuts named in the window's tooltips, e.g. "(Ctrl+M)", and beside its menu entries."""
    found: set[str] = set()
    for widget in w.findChildren(QWidget):
        for m in re.finditer(r"\((Ctrl\+\w+|F\d+|Esc|Enter)\)", widget.toolTip()):
            found.add(m.group(1))
    for action in w.tools_menu.actions():
        if not action.shortcut().isEmpty():
            found.add(action.shortcut().toString())
    return found


def _press(qtbot, w: QWidget, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=5000)
    qtbot.keyClick(w, key, modifier)


def test_every_advertised_shortcut_does_its_job(make_window, qtbot, dns_server: DnsTestServer,
                                                monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from inboxready.app import export

    add_good_zone(dns_server, "keys.example")
    w = make_window(nameserver=dns_server.address)
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain("keys.example")
    exported: list[object] = []
    monkeypatch.setattr(export, "ask_path", lambda parent, report: exported.append(report))

    def about_seen() -> None:
        box = QApplication.activeModalWidget()
        seen.append(box)
        if box is not None:
            box.close()

    seen: list[object] = []
    checks = {
        "Ctrl+B": (Qt.Key.Key_B, lambda: "builders" in w.tool_windows and w.tool_windows["builders"].isVisible()),
        "Ctrl+D": (Qt.Key.Key_D, lambda: "reports" in w.tool_windows and w.tool_windows["reports"].isVisible()),
        "Ctrl+H": (Qt.Key.Key_H, lambda: "watch" in w.tool_windows and w.tool_windows["watch"].isVisible()),
        "Ctrl+E": (Qt.Key.Key_E, lambda: len(exported) == 1),
        "Ctrl+M": (Qt.Key.Key_M, lambda: w.message_window is not None and w.message_window.isVisible()),
        "Ctrl+J": (Qt.Key.Key_J, lambda: any(type(t).__name__ == "PublishHistoryDialog" and t.isVisible()
                                             for t in QApplication.topLevelWidgets())),
        "F1": (Qt.Key.Key_F1, lambda: len(seen) == 1 and isinstance(seen[0], QMessageBox)),
    }
    assert set(checks) | {"Esc", "Enter"} >= _advertised(w), "a shortcut is advertised but not tested here"
    for name, (key, done) in checks.items():
        if name == "F1":
            QTimer.singleShot(300, about_seen)  # the About box is modal
        for window in w.tool_windows.values():
            window.hide()
        _press(qtbot, w, key, Qt.KeyboardModifier.NoModifier if name.startswith("F") else CTRL)
        qtbot.waitUntil(done, timeout=5000)

    # Ctrl+L puts the cursor in the domain field, Ctrl+R checks the domain again (both in the README)
    w.check_button.setFocus()
    _press(qtbot, w, Qt.Key.Key_L, CTRL)
    assert w.domain_field.hasFocus()
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS) as again:
        _press(qtbot, w, Qt.Key.Key_R, CTRL)
    assert again.args[0].domain == "keys.example"

    # Enter checks what the field holds, Esc cancels it (a server that never answers: the check waits)
    silent = DemoDnsServer(("example",))
    silent.start()
    try:
        w.apply_settings(nameserver=silent.address)
        w.domain_field.setFocus()
        with qtbot.waitSignal(w.checkStarted, timeout=WAIT_MS):
            qtbot.keyClick(w.domain_field, Qt.Key.Key_Return)
        assert w.checking
        with qtbot.waitSignal(w.engine.cancelled, timeout=WAIT_MS):
            _press(qtbot, w, Qt.Key.Key_Escape)
        assert not w.checking
    finally:
        silent.stop()


def test_no_shortcut_is_registered_twice(make_window) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QShortcut

    w = make_window()
    actions = {id(a): a for a in [*w.actions(), *w.tools_menu.actions()]}
    keys = [s.key().toString() for s in w.findChildren(QShortcut) if isinstance(s.parent(), QWidget) and s.parent().window() is w]
    keys += [a.shortcut().toString() for a in actions.values() if not a.shortcut().isEmpty()]
    assert "Ctrl+B" in keys and len(keys) == len(set(keys)), sorted(keys)


def test_shortcut_helper_keeps_its_context(qtbot) -> None:  # type: ignore[no-untyped-def]
    """``widgets.shortcut`` sets the context it is given (PySide6's constructor taking the slot drops it, which
    would let the message screen's Ctrl+Return fire from anywhere in its window) and calls the slot."""
    from PySide6.QtGui import QKeySequence, QShortcut

    from inboxready.app.widgets import shortcut

    host = QWidget()
    qtbot.addWidget(host)
    hits: list[int] = []
    sc = shortcut(QKeySequence("Ctrl+Return"), host, lambda: hits.append(1), Qt.ShortcutContext.WidgetShortcut)
    assert isinstance(sc, QShortcut) and sc.parent() is host
    assert sc.context() == Qt.ShortcutContext.WidgetShortcut
    assert sc.key() == QKeySequence("Ctrl+Return")
    sc.activated.emit()
    assert hits == [1]
    assert shortcut("Ctrl+L", host, lambda: None).context() == Qt.ShortcutContext.WindowShortcut


def test_message_screen_shortcuts_keep_their_contexts(make_window) -> None:  # type: ignore[no-untyped-def]
    """Esc and Ctrl+Return on the Test a message screen act only inside the screen, the paste box and the
    bounce page, as they did with the keyword form."""
    from PySide6.QtGui import QShortcut

    w = make_window()
    screen = w.open_message_screen().screen_widget
    found = {(s.key().toString(), s.parent()): s.context() for s in screen.findChildren(QShortcut)}
    assert found[("Esc", screen)] == Qt.ShortcutContext.WidgetWithChildrenShortcut
    assert found[("Ctrl+Return", screen.paste_box)] == Qt.ShortcutContext.WidgetShortcut
    assert found[("Ctrl+Return", screen.bounce_page)] == Qt.ShortcutContext.WidgetWithChildrenShortcut
