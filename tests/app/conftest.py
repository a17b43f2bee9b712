"""Fixtures for the Qt tests: an isolated settings/data folder, and windows that always shut down."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Callable, Iterator

import pytest

from inboxready.core.dns.server import DnsTestServer
from inboxready.core.store.history import History
from inboxready.core.store.settings import HOME_ENV, Settings, SettingsStore

from tests.helpers.zones import MAIL_BASE, SPF_LINE

GOOD_ZONE = "\n" + MAIL_BASE + SPF_LINE + '_dmarc   IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@{origin}"\n'


@pytest.fixture(autouse=True)
def free_qt_garbage_here() -> Iterator[None]:
    """After each test (its windows closed, its engines shut down: this fixture is torn down last), free
    what it left in reference cycles now, on the UI thread. Left to the garbage collector, a window or an
    engine in a cycle is freed during some later test on whichever thread happens to trigger a collection
    (an engine's loop thread, a DNS test server's thread): a Qt object destroyed off the UI thread."""
    yield
    gc.collect()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings and history in a temporary folder (never the user's own)."""
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    return tmp_path


@pytest.fixture
def theme_app(qapp):  # type: ignore[no-untyped-def]
    from inboxready.app.theme import ThemeManager

    manager = getattr(qapp, "_inboxready_theme", None)
    if manager is None:
        manager = ThemeManager(qapp, "light")
        qapp._inboxready_theme = manager
    return manager


@pytest.fixture
def make_window(home: Path, qtbot, theme_app) -> Iterator[Callable[..., object]]:  # type: ignore[no-untyped-def]
    """``make_window(nameserver="127.0.0.1:5353", timeout=1.0, demo=False)`` → a shown MainWindow."""
    from inboxready.app.main_window import MainWindow

    made: list[MainWindow] = []

    def factory(nameserver: str | None = None, timeout: float = 1.0, demo: bool = False,
                deadline: float | None = 15.0) -> MainWindow:
        store = SettingsStore()
        if nameserver is not None:
            s = store.load()
            s.nameserver = nameserver
            store.save(s)
        w = MainWindow(settings_store=store, history=History(), demo=demo, timeout=timeout, deadline=deadline,
                       theme_manager=theme_app)
        qtbot.addWidget(w)
        w.show()
        made.append(w)
        # the engine process says hello first (as it has long before a user types a domain in the app)
        qtbot.waitUntil(lambda: w.engine.ready, timeout=30_000)
        return w

    yield factory
    for w in made:
        w.shutdown()


def add_good_zone(server: DnsTestServer, origin: str) -> None:
    server.add_origin(origin.rsplit(".", 1)[-1])
    server.add_zone(origin, GOOD_ZONE.replace("{origin}", origin))


__all__ = ["GOOD_ZONE", "Settings", "add_good_zone"]

