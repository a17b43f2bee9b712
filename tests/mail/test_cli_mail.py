"""The mail commands of the CLI, end to end against the loopback SMTP server and Dovecot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inboxready.core.mail.profiles import ProfileStore

from .conftest import MAILBOX, SENDER, MemoryKeyring
from ..helpers.cli import cli




def _add_profiles(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INBOXREADY_PASSWORD", world.smtp.password)
    code, out, err = cli("profile", "add", "shop", "--smtp", f"localhost:{world.smtp.port}", "--security",
                         "starttls", "--user", SENDER, "--from", SENDER, "--ca-file", str(world.ca.ca_file))
    assert code == 0, err
    monkeypatch.setenv("INBOXREADY_PASSWORD", world.dovecot.password)
    code, out, err = cli("profile", "add", "inbox", "--imap", f"127.0.0.1:{world.dovecot.imaps_port}", "--security", "ssl",
                         "--user", MAILBOX, "--address", MAILBOX, "--ca-file", str(world.ca.ca_file),
                         "--receiver", "inbox.test")
    assert code == 0, err
    monkeypatch.delenv("INBOXREADY_PASSWORD")


def test_profiles_keep_passwords_only_in_the_keyring(world: Any, memory_keyring: MemoryKeyring,
                                                     profile_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _add_profiles(world, monkeypatch)
    settings_text = "".join(p.read_text(errors="replace") for p in profile_home.rglob("*") if p.is_file())
    assert world.smtp.password not in settings_text and world.dovecot.password not in settings_text
    assert set(memory_keyring.store.values()) == {world.smtp.password, world.dovecot.password}
    code, out, _ = cli("profile", "list", "--json")
    listed = json.loads(out)
    assert {(p["kind"], p["name"]) for p in listed} == {("send", "shop"), ("read", "inbox")}
    assert world.smtp.password not in out
    code, out, _ = cli("profile", "test", "shop")
    assert code == 0 and "✓" in out
    code, out, _ = cli("profile", "remove", "shop")
    assert code == 0 and "shop" not in {p.name for p in ProfileStore().all()}
    assert world.smtp.password not in memory_keyring.store.values()


def test_roundtrip_command_json(world: Any, memory_keyring: MemoryKeyring, profile_home: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    _add_profiles(world, monkeypatch)
    code, out, err = cli("roundtrip", "--send-profile", "shop", "--read-profile", "inbox", "--json",
                         "--timeout", "20", "-n", world.dns_address)
    data = json.loads(out)
    assert data["roundtrip"]["status"] == "verified", (data["roundtrip"], err)
    assert data["checks"]["spf"]["status"] == "pass", data["checks"]["spf"]
    assert data["checks"]["dkim"]["status"] in ("pass", "warn"), data["checks"]["dkim"]
    assert data["checks"]["dmarc"]["result"] == "pass"
    assert data["roundtrip"]["folder_role"] == "inbox"
    assert world.smtp.password not in out + err and world.dovecot.password not in out + err


def test_missing_profile_and_password_are_clear(memory_keyring: MemoryKeyring, profile_home: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = cli("roundtrip", "--send-profile", "nope", "--read-profile", "nope")
    assert code == 2 and "no sending profile called 'nope'" in err
    monkeypatch.delenv("INBOXREADY_PASSWORD", raising=False)
    code, _, err = cli("profile", "add", "x", "--smtp", "smtp.example.test", "--user", "me@example.test")
    assert code == 2 and "INBOXREADY_PASSWORD" in err


def test_roundtrip_command_text_shows_progress_and_cards(world: Any, memory_keyring: MemoryKeyring,
                                                         profile_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _add_profiles(world, monkeypatch)
    code, out, err = cli("roundtrip", "--send-profile", "shop", "--read-profile", "inbox", "--timeout", "20",
                         "-n", world.dns_address, "--color", "never")
    assert "arrived in" in out and "Judged by: mx.inbox.test" in out
    assert "SPF" in out and "DKIM" in out and "DMARC" in out
    assert "…" in err  # live progress goes to stderr, so --json output stays clean
    assert code == 0
