"""Settings: platformdirs location (overridable), atomic writes, tolerant and damage-proof reading."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from inboxready.core.store.settings import (
    HOME_ENV, Settings, SettingsStore, atomic_write_text, config_dir, data_dir, valid_selector,
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    return tmp_path


def test_home_override_puts_config_and_data_under_one_folder(home: Path) -> None:
    assert config_dir() == home / "config"
    assert data_dir() == home / "data"
    assert SettingsStore().path == home / "config" / "settings.json"


def test_without_override_uses_platformdirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HOME_ENV, raising=False)
    assert "InboxReady" in str(config_dir())
    assert "InboxReady" in str(data_dir())


def test_missing_file_gives_defaults(home: Path) -> None:
    store = SettingsStore()
    s = store.load()
    assert s == Settings()
    assert store.problem == ""


def test_round_trip(home: Path) -> None:
    store = SettingsStore()
    s = Settings(nameserver="192.0.2.53:5353", window_geometry="AAAA")
    s.add_recent("example.com")
    s.add_recent("example.org")
    s.add_recent("EXAMPLE.com")
    assert s.add_selector("example.com", " Mail2024._domainkey.example.com. ") == "mail2024"
    store.save(s)
    loaded = SettingsStore().load()
    assert loaded.recent_domains == ["example.com", "example.org"]
    assert loaded.nameserver == "192.0.2.53:5353"
    assert loaded.selectors_for("example.com") == ["mail2024"]
    assert loaded.window_geometry == "AAAA"
    data = json.loads(store.path.read_text(encoding="utf-8"))
    assert data["version"] == 1
    assert "password" not in json.dumps(data).lower()


def test_recent_list_is_bounded() -> None:
    s = Settings()
    for i in range(30):
        s.add_recent(f"d{i}.example")
    assert len(s.recent_domains) == 12
    assert s.recent_domains[0] == "d29.example"


def test_bad_selector_is_refused_and_remove_works() -> None:
    s = Settings()
    with pytest.raises(ValueError):
        s.add_selector("example.com", "not a selector!")
    s.add_selector("example.com", "s1")
    s.add_selector("example.com", "s1")
    assert s.selectors_for("example.com") == ["s1"]
    s.remove_selector("example.com", "s1")
    assert s.selectors_for("example.com") == []
    assert valid_selector("google") and valid_selector("s1.eu") and not valid_selector("") and not valid_selector("a..b")


def test_damaged_file_is_moved_aside_with_a_clear_message(home: Path) -> None:
    store = SettingsStore()
    store.path.parent.mkdir(parents=True)
    store.path.write_text("{ this is not json", encoding="utf-8")
    s = store.load()
    assert s == Settings()
    assert "damaged" in store.problem
    assert store.moved_to is not None and store.moved_to.exists()
    assert store.moved_to.read_text(encoding="utf-8") == "{ this is not json"
    assert not store.path.exists()
    store.save(s)  # and the next save works
    assert SettingsStore().load() == Settings()


def test_a_file_that_is_not_utf8_is_moved_aside_too(home: Path) -> None:
    store = SettingsStore()
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(b"\xff\xfe")
    assert store.load() == Settings() and "damaged" in store.problem and store.moved_to is not None


def test_wrong_types_fall_back_field_by_field(home: Path) -> None:
    store = SettingsStore()
    store.path.parent.mkdir(parents=True)
    store.path.write_text(json.dumps({"recent_domains": "x", "nameserver": 5, "window_geometry": "G",
                                      "dkim_selectors": {"a.example": ["ok", 3, "bad one"], "b": "x"}}))
    s = store.load()
    assert s.recent_domains == [] and s.nameserver == "" and s.window_geometry == "G"
    assert s.dkim_selectors == {"a.example": ["ok"]}
    assert store.problem == ""


def test_atomic_write_leaves_old_content_when_writing_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "f.json"
    atomic_write_text(target, "old")

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_text(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]  # no temp file left behind


@hsettings(max_examples=200, deadline=None)
@given(st.text())
def test_from_json_never_raises_anything_but_value_error(text: str) -> None:
    try:
        data = json.loads(text)
    except ValueError:
        data = text
    try:
        Settings.from_json(data)
    except ValueError:
        pass


@hsettings(max_examples=100, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda c: st.lists(c) | st.dictionaries(st.text(), c), max_leaves=20))
def test_from_json_tolerates_any_json_shape(data: object) -> None:
    try:
        s = Settings.from_json({"recent_domains": data, "nameserver": data, "dkim_selectors": data,
                                "window_geometry": data})
    except ValueError:
        pytest.fail("a JSON object must always load")
    assert isinstance(s.recent_domains, list)
