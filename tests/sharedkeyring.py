"""A test keyring the test process and its worker process share: a JSON file in the test's temporary folder
(``INBOXREADY_TEST_KEYRING_FILE``), read on every look-up and rewritten on every change. The real system
keyring is never used by a test's worker."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

import keyring.backend
import keyring.errors

ENV = "INBOXREADY_TEST_KEYRING_FILE"


class FileBackedStore(dict):  # type: ignore[type-arg]
    """A dict of (service, username) -> password that mirrors itself to ``path``."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = Path(path)
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = []
        super().clear()
        for service, user, password in data:
            super().__setitem__((service, user), password)

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps([[s, u, p] for (s, u), p in super().items()]), encoding="utf-8")
        tmp.replace(self.path)

    def get(self, key: Any, default: Any = None) -> Any:
        self._load()
        return super().get(key, default)

    def __getitem__(self, key: Any) -> Any:
        self._load()
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._load()
        return super().__contains__(key)

    def __iter__(self) -> Iterator[Any]:
        self._load()
        return super().__iter__()

    def values(self) -> Any:
        self._load()
        return super().values()

    def __setitem__(self, key: Any, value: Any) -> None:
        self._load()
        super().__setitem__(key, value)
        self._save()

    def __delitem__(self, key: Any) -> None:
        self._load()
        super().__delitem__(key)
        self._save()


def new_store() -> dict[tuple[str, str], str]:
    """The store a test keyring uses: shared through the file when the env names one, else a plain dict."""
    path = os.environ.get(ENV)
    return FileBackedStore(path) if path else {}


class SharedKeyring(keyring.backend.KeyringBackend):
    """The worker's side of the shared test keyring."""

    priority = 1  # type: ignore[assignment]

    def __init__(self, path: str) -> None:
        super().__init__()
        self.store = FileBackedStore(path)

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))  # type: ignore[no-any-return]

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.store[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError("no such password") from None


class SharedJsonDict(dict):  # type: ignore[type-arg]
    """A dict of str -> JSON value mirrored to ``path`` (read on every look-up, rewritten on every change):
    test-only module state the test process and its worker share (``auth.config._OVERRIDES``)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = Path(path)

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        super().clear()
        super().update(data)

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dict(super().items())), encoding="utf-8")
        tmp.replace(self.path)

    def get(self, key: Any, default: Any = None) -> Any:
        self._load()
        return super().get(key, default)

    def __getitem__(self, key: Any) -> Any:
        self._load()
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._load()
        return super().__contains__(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._load()
        super().__setitem__(key, value)
        self._save()

    def pop(self, key: Any, *default: Any) -> Any:
        self._load()
        value = super().pop(key, *default)
        self._save()
        return value
