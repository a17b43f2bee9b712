"""Every settings-like JSON file is read the one way (``store.settings.read_json_file``): the settings, the
mail profiles, the DNS accounts and the watch list. No file is no problem; a file that can't be read is left
as it is and said so; a damaged one is said so in plain words and kept, byte for byte, under a
``.damaged-<time>`` name that the next save never overwrites."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from inboxready.core.mail.profiles import ProfileStore, SendProfile
from inboxready.core.monitor.watchlist import WatchList
from inboxready.core.publish.accounts import AccountStore, DnsAccount
from inboxready.core.store.settings import Settings, SettingsStore, file_object, read_json_file


def _settings(path: Path) -> tuple[str, bool]:
    store = SettingsStore(path)
    loaded = store.load()
    return store.problem, loaded == Settings()


def _profiles(path: Path) -> tuple[str, bool]:
    store = ProfileStore(path)
    return store.problem, not store.send and not store.read


def _accounts(path: Path) -> tuple[str, bool]:
    store = AccountStore(path)
    return store.problem, not store.accounts


def _watchlist(path: Path) -> tuple[str, bool]:
    wl = WatchList(path)
    return wl.problem, wl.entries == []


def _save(kind: str, path: Path) -> None:
    if kind == "settings":
        SettingsStore(path).save(Settings())
    elif kind == "profiles":
        ProfileStore(path).put(SendProfile(name="shop", host="smtp.shop.test", username="u"))
    elif kind == "accounts":
        AccountStore(path).put(DnsAccount("main", "pdns", {"pdns_server": "http://127.0.0.1:1"}))
    else:
        WatchList(path).add("shop.test", 3600)


STORES: dict[str, tuple[Callable[[Path], tuple[str, bool]], str, str, str]] = {
    # loader, the file's name, what a damaged file says, what an unreadable one says
    "settings": (_settings, "settings.json", "Your InboxReady settings file was damaged, so the defaults are used.",
                 "Your InboxReady settings could not be read ("),
    "profiles": (_profiles, "profiles.json", "Your mail profiles file was damaged, so it was set aside.",
                 "Your mail profiles could not be read ("),
    "accounts": (_accounts, "dns_accounts.json", "Your DNS accounts file was damaged, so it was set aside.",
                 "Your DNS accounts could not be read ("),
    "watchlist": (_watchlist, "watchlist.json", "The watch list file was damaged, so an empty list is used.",
                  "The watch list could not be read ("),
}
DAMAGED = {
    "not json": b"{ this is not json",
    "not utf-8": b'{"send": ["\xff\xfe"]}',
    "a list": b"[1, 2, 3]",
    "nested too deep": b"[" * 100_000 + b"]" * 100_000,
    "empty": b"",
}


@pytest.mark.parametrize("kind", STORES)
def test_no_file_is_no_problem(tmp_path: Path, kind: str) -> None:
    load, name, _, _ = STORES[kind]
    problem, empty = load(tmp_path / name)
    assert problem == "" and empty and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", DAMAGED, ids=list(DAMAGED))
@pytest.mark.parametrize("kind", STORES)
def test_a_damaged_file_is_said_plainly_and_kept_byte_for_byte(tmp_path: Path, kind: str, content: str) -> None:
    load, name, damaged, _ = STORES[kind]
    path = tmp_path / name
    path.write_bytes(DAMAGED[content])
    problem, empty = load(path)
    kept = list(tmp_path.glob(f"{name}.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == DAMAGED[content]
    assert problem == f"{damaged} The old file was kept as {kept[0].name}." and empty
    _save(kind, path)  # the next save writes a new file and never touches the kept one
    assert kept[0].read_bytes() == DAMAGED[content] and json.loads(path.read_text())
    assert load(path)[0] == ""


@pytest.mark.parametrize("kind", STORES)
def test_a_file_that_cannot_be_read_is_left_as_it_is(tmp_path: Path, kind: str) -> None:
    load, name, _, unreadable = STORES[kind]
    path = tmp_path / name
    path.mkdir()  # there, but not a file we can read
    (path / "inside").write_text("the user's")
    problem, empty = load(path)
    assert problem.startswith(unreadable) and empty
    assert path.is_dir() and (path / "inside").read_text() == "the user's"
    assert [p.name for p in tmp_path.iterdir()] == [name]  # nothing moved aside


def test_the_watch_list_says_when_its_file_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "watchlist.json"
    path.mkdir()
    assert WatchList(path).unreadable is True
    assert WatchList(tmp_path / "none.json").unreadable is False


def test_the_reader_itself(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    assert read_json_file(path, file_object, unreadable="u {reason}", damaged="d").value is None
    path.write_text('{"a": 1}')
    got = read_json_file(path, file_object, unreadable="u {reason}", damaged="d")
    assert got.value == {"a": 1} and got.problem == "" and got.moved_to is None and not got.unreadable

    def shape(data: Any) -> int:
        if not isinstance(data, dict) or not isinstance(data.get("a"), int):
            raise ValueError("no a")
        return int(data["a"])

    path.write_text('{"a": "one"}')
    got2 = read_json_file(path, shape, unreadable="u {reason}", damaged="Damaged.")
    assert got2.value is None and got2.moved_to is not None and not path.exists()
    assert got2.problem == f"Damaged. The old file was kept as {got2.moved_to.name}."
