"""Fixtures for the publishing tests: PowerDNS with its API on loopback (one per session, a fresh zone per
test), an in-memory keyring, a private home folder, and a DNS-host account that points at the server."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Iterator

import pytest

from tests.mail.conftest import MemoryKeyring, memory_keyring  # noqa: F401  (fixtures)

from .pdns import PowerDns, require_pdns
from ..helpers.cli import cli  # noqa: F401 (the publish tests import it from here)

API_KEY = "pdns-Key-7f3a9c2e51"
_zones = itertools.count(1)


@pytest.fixture(scope="session")
def pdns_session() -> Iterator[PowerDns]:
    require_pdns()
    server = PowerDns(API_KEY)
    server.start()
    # the parents of the test zones, so DMARC's tree walk (up to _dmarc.com) gets real "no such name" answers
    server.create_zone("com", [])
    server.create_zone("example.com", [])
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def pdns(pdns_session: PowerDns) -> PowerDns:
    if pdns_session.proc is None or pdns_session.proc.poll() is not None:  # a test stopped it
        pdns_session.start()
    return pdns_session


@pytest.fixture
def zone_name() -> str:
    return f"shop{next(_zones)}-{os.getpid()}.example.com"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INBOXREADY_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("INBOXREADY_PASSWORD", raising=False)
    return tmp_path / "home"




@pytest.fixture
def account(pdns: PowerDns, home: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> str:
    """A DNS account 'pd' at the PowerDNS server, its key in the (memory) keyring."""
    monkeypatch.setenv("INBOXREADY_PASSWORD", API_KEY)
    code, out, err = cli("dns-account", "add", "pd", "--provider", "powerdns", "--option", f"pdns_server={pdns.url}",
                         "--option", "pdns_server_id=localhost", "--secret", "auth_token")
    assert code == 0, err
    monkeypatch.delenv("INBOXREADY_PASSWORD")
    return "pd"
