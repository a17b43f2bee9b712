"""``inboxready-gui``: the desktop app's entry point."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="inboxready-gui", description="InboxReady: check a domain's e-mail set-up.")
    p.add_argument("domain", nargs="?", help="a domain to check right away")
    p.add_argument("--demo", action="store_true", help="check the bundled example domains (no network needed)")
    p.add_argument("--theme", choices=("system", "light", "dark"), default=None,
                   help="colour scheme for this run (default: the one chosen in Settings, which follows the "
                        "system unless you changed it)")
    return p.parse_args(list(argv) if argv is not None else None)


def prepare_qt() -> None:
    """What must be set before the QApplication exists. Qt's raster engine hands every fill of 96 rows or
    more (a card's background, the scroll bar) to a pool of threads and waits for them: on two cores shared
    with the engine process, the hand-off costs more than the fill, and a busy core makes the window wait
    (``benchmarks/bench_gui.py``). With ``QT_NO_GUI_THREADPOOL`` (Qt's own switch) fills stay on the UI
    thread: the GUI process runs no thread of ours and none of Qt's for painting."""
    os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")


def install_fix_hooks() -> None:
    """Every fix box gets the domain's DNS host's form and the "Publish at <host>…" / "Check until live…"
    bar (the hooks keep app/widgets.py free of the publishing windows)."""
    from inboxready.app.dns_host_forms import host_form_hook
    from inboxready.app.publish_dialog import publish_bar
    from inboxready.app.widgets import FixView

    FixView.publish_hook = publish_bar
    FixView.host_form_hook = host_form_hook


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv if argv is not None else sys.argv[1:])
    from .qtcompat import unsupported_pyside

    problem = unsupported_pyside()
    if problem is None:
        from .platformcheck import platform_problem

        problem = platform_problem()  # before Qt aborts with a misleading hint
    if problem:
        print(problem, file=sys.stderr)
        return 2
    prepare_qt()
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow
    from .theme import ThemeManager, icon

    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setApplicationName("InboxReady")
    app.setApplicationDisplayName("InboxReady")
    app.setOrganizationName("InboxReady")
    app.setDesktopFileName("inboxready")
    app.setWindowIcon(icon("app"))
    themes = ThemeManager(app, args.theme if args.theme in ("light", "dark") else None, pinned=args.theme is not None)
    install_fix_hooks()
    window = MainWindow(demo=args.demo, theme_manager=themes)
    window.show()
    if args.domain and not args.demo:
        window.check_domain(args.domain)
    code = app.exec()
    window.shutdown()
    release_windows(app)
    return int(code)


def release_windows(app: "QApplication") -> None:
    """Free every window, and everything handed to ``deleteLater`` (the tray icon and its menu, closed tool
    windows), while the QApplication still exists. Left to the interpreter's exit, they would be destroyed
    after it, in whatever order, with their timers still set: Qt then prints QBasicTimer warnings."""
    from PySide6.QtCore import QEvent

    for widget in app.topLevelWidgets():
        widget.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
