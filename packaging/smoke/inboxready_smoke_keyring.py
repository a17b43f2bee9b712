"""A file-backed keyring backend for the frozen app's smoke test (never shipped inside the app).

build-linux.sh points keyring at this module through a throw-away ``keyringrc.cfg``
(``[backend] default-keyring=inboxready_smoke_keyring.SmokeKeyring`` and ``keyring-path=<this folder>``),
so the frozen ``inboxready`` stores and reads a real secret through its own bundled ``keyring`` package.
On import it also writes ``backends.json``: which keyring backends the frozen app can import through
keyring's entry points (proves the hidden imports and the copied metadata work).
"""

from __future__ import annotations

import importlib
import json
import os
from importlib.metadata import entry_points
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

STORE = Path(os.environ["INBOXREADY_SMOKE_DIR"])


def _report_backends() -> None:
    found: dict[str, str] = {}
    for ep in entry_points(group="keyring.backends"):
        try:
            ep.load()
            found[ep.name] = "ok"
        except Exception as exc:  # a platform's backend may legitimately fail to import elsewhere
            found[ep.name] = f"{type(exc).__name__}: {exc}"
    for name in ("keyring.backends.fail", "keyring.backends.null", "keyring.backends.chainer"):
        try:
            importlib.import_module(name)
            found[name] = "ok"
        except Exception as exc:
            found[name] = f"{type(exc).__name__}: {exc}"
    (STORE / "backends.json").write_text(json.dumps(found, indent=1, sort_keys=True), encoding="utf-8")


class SmokeKeyring(KeyringBackend):
    """Secrets in a JSON file; also counts reads so the test can see the app asked for the password."""

    priority = 1  # type: ignore[assignment]

    @property
    def _file(self) -> Path:
        return STORE / "secrets.json"

    def _load(self) -> dict[str, str]:
        try:
            return dict(json.loads(self._file.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return {}

    def _save(self, data: dict[str, str]) -> None:
        self._file.write_text(json.dumps(data, indent=1), encoding="utf-8")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        self._save(data)

    def get_password(self, service: str, username: str) -> str | None:
        with open(STORE / "reads.log", "a", encoding="utf-8") as log:
            log.write(f"{service}/{username}\n")
        return self._load().get(f"{service}/{username}")

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError("no such password")
        self._save(data)


_report_backends()
