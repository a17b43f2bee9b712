"""A keyring store that keeps passwords in a file (keyrings.alt's, which keyring picks on its own when it is
installed and no system keyring is there) is used only when the person selected it."""

from __future__ import annotations

import sys
import types
from typing import Iterator

import keyring
import keyring.backend
import keyring.core
import pytest

from inboxready.core.store import credentials
from inboxready.core.store.credentials import KeyringUnavailable


@pytest.fixture
def file_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[type]:
    """A stand-in for keyrings.alt.file.PlaintextKeyring (a module of that name, a backend that keeps what it
    is given), made keyring's choice."""
    module = types.ModuleType("keyrings.alt.file")

    class PlaintextKeyring(keyring.backend.KeyringBackend):
        priority = 0.5  # type: ignore[assignment]
        stored: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.stored.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.stored[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.stored.pop((service, username), None)

    PlaintextKeyring.__module__ = module.__name__
    module.PlaintextKeyring = PlaintextKeyring  # type: ignore[attr-defined]
    for parent in ("keyrings", "keyrings.alt"):
        if parent not in sys.modules:
            monkeypatch.setitem(sys.modules, parent, types.ModuleType(parent))
    monkeypatch.setitem(sys.modules, "keyrings.alt.file", module)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setattr(keyring.core, "load_config", lambda: None)
    old = keyring.get_keyring()
    keyring.set_keyring(PlaintextKeyring())
    try:
        yield PlaintextKeyring
    finally:
        keyring.set_keyring(old)


def test_a_file_store_keyring_picked_on_its_own_is_refused_and_nothing_is_written(file_store: type) -> None:
    """Before: the password went into keyrings.alt's plaintext file without a word."""
    with pytest.raises(KeyringUnavailable) as info:
        credentials.set_password("profile-1", 'p"a\\ss\nwörd')
    assert "file" in str(info.value) and "deliberately" in str(info.value)
    assert file_store.stored == {}  # type: ignore[attr-defined]
    ok, words = credentials.keyring_status()
    assert not ok and "file" in words


def test_a_file_store_selected_deliberately_is_used(file_store: type, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    credentials.set_password("profile-1", 'p"a\\ss\nwörd')
    got = credentials.get_password("profile-1")
    assert got is not None and credentials.reveal(got) == 'p"a\\ss\nwörd'
