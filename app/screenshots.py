"""Take screenshots of the main states of the app (run by ``packaging/screenshots.sh`` under Xvfb).

    python -m inboxready.app.screenshots --out docs/screenshots [--theme light|dark]

States: empty (first start), checking (cards busy), results (a demo domain checked), a card opened
(with its fix), the SPF include tree, the DNS query log, the "couldn't check" case, the DKIM card with
a selector the user added (and its Remove button), the bulk-sender checklist card, the record builders
and the watch list. Settings and history go to a temporary
folder so the user's own are never touched.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", default="docs/screenshots")
    p.add_argument("--theme", choices=("light", "dark"), default="light")
    p.add_argument("--size", default="1180x860")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("INBOXREADY_HOME", tempfile.mkdtemp(prefix="inboxready-shots-"))

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    from .main_window import MainWindow
    from .theme import ThemeManager

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    themes = ThemeManager(app, args.theme)
    width, height = (int(x) for x in args.size.split("x"))
    window = MainWindow(theme_manager=themes, timeout=1.0)
    window.resize(width, height)
    window.show()
    suffix = "" if args.theme == "light" else "-dark"
    saved: list[Path] = []

    def shot(name: str) -> None:
        app.processEvents()
        path = out / f"{name}{suffix}.png"
        window.grab().save(str(path))
        saved.append(path)

    steps: list[Callable[[], None]] = []
    failed: list[str] = []

    def in_turn(*actions: Callable[[], object]) -> Callable[[], None]:
        """One step that runs ``actions`` one after the other."""
        def run() -> None:
            for action in actions:
                action()
        return run

    def later(ms: int, *actions: Callable[[], object]) -> None:
        """Run ``actions`` one after the other in ``ms`` milliseconds."""
        QTimer.singleShot(ms, in_turn(*actions))

    def scroll_to(card: QWidget) -> None:
        window.cards_scroll.verticalScrollBar().setValue(max(0, card.y() - 4))

    def wait_then(cond: Callable[[], bool], then: Callable[[], None], timeout_ms: int = 20_000) -> None:
        waited = [0]

        def poll() -> None:
            if cond():
                then()
            elif waited[0] > timeout_ms:
                failed.append("timed out waiting for the app")
                app.quit()
            else:
                waited[0] += 50
                QTimer.singleShot(50, poll)

        QTimer.singleShot(50, poll)

    def step_empty() -> None:
        shot("01-empty")
        window.enter_demo()  # the worker starts the demo's server, then the first example is checked
        wait_then(lambda: window.demo_server is not None and window.last_report is not None
                  and not window.checking, step_slow)

    def step_slow() -> None:
        # a moment into the check of a demo domain, before its slowest check finished (the demo's server,
        # in the worker, answers slowly for a moment)
        window.engine.run("demo", latency=0.4)
        window.demo_list.setCurrentRow(1)
        window._on_demo_item(window.demo_list.item(1))
        window.check_domain("demo-toomany.example")
        QTimer.singleShot(400, step_checking)

    def step_checking() -> None:
        shot("02-checking")
        window.engine.run("demo", latency=0.0)
        wait_then(lambda: window.last_report is not None and not window.checking, step_results)

    def step_results() -> None:
        window.cards_scroll.verticalScrollBar().setValue(0)
        shot("03-results")
        window.check_domain("demo-nodmarc.example")
        wait_then(lambda: window.last_report is not None and not window.checking, step_open)

    def step_open() -> None:
        card = window.cards.get("dmarc")
        if card is not None:
            card.set_open(True)
            card.finish_body()  # (the app builds an opened card a piece at a time)
            later(200, lambda: scroll_to(card), lambda: later(100, step_open_shot))
        else:
            step_open_shot()

    def step_open_shot() -> None:
        shot("04-card-opened")
        window.check_domain("demo-toomany.example")
        wait_then(lambda: window.last_report is not None and not window.checking, step_spf)

    def step_spf() -> None:
        card = window.cards.get("spf")
        if card is not None:
            card.set_open(True)
            card.finish_body()
        later(200, lambda: shot("05-spf-tree"), step_queries)

    def step_queries() -> None:
        for card in window.cards.values():
            card.set_open(False)
        window.queries_button.setChecked(True)
        later(150, lambda: shot("06-dns-queries"), step_timeout)

    def step_timeout() -> None:
        window.queries_button.setChecked(False)
        window.check_domain("demo-timeout.example")
        wait_then(lambda: window.last_report is not None and not window.checking,
                  in_turn(lambda: shot("07-couldnt-check"), step_selector))

    def step_selector() -> None:
        window.check_domain("demo-weakdkim.example")
        wait_then(lambda: window.last_report is not None and not window.checking, step_selector_add)

    def step_selector_add() -> None:
        window.add_selector("mail2024")  # re-checks with it and opens the DKIM card
        wait_then(lambda: window.last_report is not None and not window.checking, step_selector_shot)

    def step_selector_shot() -> None:
        card = window.cards.get("dkim")
        if card is not None:
            card.set_open(True)
            card.finish_body()
            later(200, lambda: scroll_to(card),
                  lambda: later(100, lambda: shot("08-dkim-selectors"), step_checklist))
        else:
            step_checklist()

    def step_checklist() -> None:
        for c in window.cards.values():
            c.set_open(False)
        card = window.cards.get("checklist")
        if card is None:
            step_builders()
            return
        card.set_open(True)
        card.finish_body()
        later(250, lambda: scroll_to(card), lambda: later(150, lambda: shot("10-checklist"), step_builders))

    def grab_tool(tool: QWidget, name: str) -> None:
        app.processEvents()
        path = out / f"{name}{suffix}.png"
        tool.grab().save(str(path))
        saved.append(path)

    def step_builders() -> None:
        tool = window.open_builders()
        tool.resize(1000, 760)
        later(600, lambda: grab_tool(tool, "11-builders"), tool.close, step_watch)

    def step_watch() -> None:
        from inboxready.core.monitor.watchlist import WatchList

        WatchList().add("demo-allgood.example", 6 * 3600)
        tool = window.open_watch_window()
        tool.resize(1000, 700)
        later(600, lambda: grab_tool(tool, "12-watch-list"), tool.close, app.quit)

    steps.append(step_empty)
    QTimer.singleShot(400, step_empty)
    QTimer.singleShot(90_000, app.quit)
    app.exec()
    window.shutdown()
    for path in saved:
        print(path)
    if failed or len(saved) < 11:
        print("screenshots incomplete: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
