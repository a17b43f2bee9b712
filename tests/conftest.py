"""Shared fixtures: a loopback authoritative DNS server, and helpers to run a check against it."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pytest
from hypothesis import HealthCheck, settings

# Property tests judge what comes out, never how fast: on a machine busy with other work Hypothesis's
# 200 ms per-example deadline and its "too slow" check failed tests whose assertions held.
settings.register_profile("inboxready", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("inboxready")

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from inboxready.core.context import CheckContext, CheckOptions  # noqa: E402
from inboxready.core.dns.client import DnsClient
from inboxready.core.dns.server import DnsTestServer

REPO = Path(__file__).resolve().parent.parent
CONFORMANCE = REPO / "tests" / "data" / "conformance"


# -- no test may reach a public address ------------------------------------------------------------------
# Every connect()/sendto() of every test goes through this guard: a destination that is not loopback (or a
# Unix socket) is refused at once, as a closed port would be. A check that would try the real network (an
# MX host on TEST-NET, the system resolver) then sees "connection refused" instead of leaving the machine.

def _is_local(address: object) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths, abstract sockets
        return True
    host = str(address[0]).split("%", 1)[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: tests always connect to addresses


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_sendto = socket.socket.sendto
BLOCKED: list[object] = []  # destinations refused during the run (inspected by the guard's own test)


def _refuse(address: object) -> None:
    BLOCKED.append(address)
    raise ConnectionRefusedError(111, f"tests stay on loopback: refused {address!r}")


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_local(address):
        _refuse(address)
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_local(address):
        BLOCKED.append(address)
        return 111  # ECONNREFUSED
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


def _guarded_sendto(self: socket.socket, data: bytes, *args: object) -> int:
    address = args[-1]
    if not _is_local(address):
        _refuse(address)
    return _real_sendto(self, data, *args)  # type: ignore[arg-type]


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.socket.sendto = _guarded_sendto  # type: ignore[method-assign,assignment]


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own settings and data folder (INBOXREADY_HOME), so nothing a test does (a
    recorded export, a history, a watch list) lands in the real user's folders. A test may set its own."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("INBOXREADY_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def guarded_worker(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The windows' engine process is ``tests/worker_guarded.py``: the loopback guard holds in it too, and
    what it refused is listed in the returned file (a test asserts it stays empty where it matters); it uses
    a keyring file it shares with the test's ``memory_keyring`` (never the system keyring), and the OAuth
    endpoints a test points the sign-in at."""
    import shlex
    import sys

    blocked = tmp_path_factory.mktemp("worker") / "blocked.txt"
    blocked.touch()
    script = Path(__file__).resolve().parent / "worker_guarded.py"
    monkeypatch.setenv("INBOXREADY_WORKER", shlex.join([sys.executable, str(script)]))
    monkeypatch.setenv("INBOXREADY_TEST_BLOCKED_FILE", str(blocked))
    monkeypatch.setenv("INBOXREADY_TEST_KEYRING_FILE", str(blocked.parent / "keyring.json"))
    # the tests' OAuth endpoints (``endpoint_override``) reach the worker through a file too
    from inboxready.core.auth import config as oauth_config

    from .sharedkeyring import SharedJsonDict

    overrides = blocked.parent / "oauth-overrides.json"
    monkeypatch.setenv("INBOXREADY_TEST_OAUTH_FILE", str(overrides))
    monkeypatch.setattr(oauth_config, "_OVERRIDES", SharedJsonDict(str(overrides)))
    yield blocked


def conformance_dir(*parts: str) -> Path:
    """A file or folder of the conformance data kept in the repository (tests/data/conformance/).

    Missing data fails the test that needs it, with the file's name; it never skips: a clone that lost a
    file must not pass by running fewer tests."""
    path = CONFORMANCE.joinpath(*parts)
    if not path.exists():
        rel = path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else str(path)
        pytest.fail(f"test data missing: {rel} (the conformance files are part of the repository, listed in "
                    "tests/data/conformance/SOURCES.md; restore them with git)", pytrace=False)
    return path


def conformance_cases(load: Callable[[], Iterable[Any]], *, width: int = 1) -> list[Any]:
    """Parameters for ``pytest.mark.parametrize`` read from conformance data while tests are collected.

    When the data is missing, one placeholder case (``width`` values of None) that fails in its set-up with
    the missing file's name: raising here instead would be a collection error, and pytest then runs no test
    at all."""
    try:
        return list(load())
    except pytest.fail.Exception as missing:
        return [pytest.param(*([None] * width), id="conformance-data-missing",
                             marks=pytest.mark.conformance_missing(str(missing)))]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance_missing(reason): the conformance data of this case is missing")
    config.addinivalue_line("markers", "fixcheck_last: runs after every other test (it replays their zones)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    mark = item.get_closest_marker("conformance_missing")
    if mark is not None:
        pytest.fail(mark.args[0], pytrace=False)


@pytest.fixture
def dns_server() -> Iterator[DnsTestServer]:
    """A fresh authoritative server on 127.0.0.1 (free port). Add zones with ``add_zone``."""
    server = DnsTestServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def make_ctx(server: DnsTestServer, domain: str, **options: object) -> CheckContext:
    """A CheckContext whose DNS client asks only ``server``. Call inside a running loop."""
    opts = CheckOptions(nameservers=[server.address], timeout=float(options.pop("timeout", 2.0)), **options)  # type: ignore[arg-type]
    client = DnsClient(opts.nameservers, timeout=opts.timeout, deadline=opts.deadline)
    return CheckContext(domain=domain, dns=client, options=opts)


def run(coro):  # type: ignore[no-untyped-def]
    """Run a coroutine to completion (tests are plain functions)."""
    return asyncio.run(coro)


# -- every zone set the suite serves, for the fix self-check (tests/fixcheck.py, issue 12 item 11) -------
# Each DnsTestServer's zone data is recorded when it stops and before a zone of it is replaced or cleared, so
# the self-check that runs last (marker ``fixcheck_last``) can publish every offered fix into each of them.
ZONE_SETS: dict[str, object] = {}  # ZoneSet.key -> ZoneSet
_CURRENT = {"test": ""}


def _record_zone_set(server: DnsTestServer) -> None:
    if getattr(server, "no_zone_record", False):
        return
    from tests.fixcheck import ZoneSet

    try:
        zs = ZoneSet.from_server(server, _CURRENT["test"] or "a test")
    except Exception:  # noqa: BLE001 - recording must never break the test that is running
        return
    if zs.rrsets and zs.key not in ZONE_SETS:
        ZONE_SETS[zs.key] = zs


def _recording(method):  # type: ignore[no-untyped-def]
    def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        _record_zone_set(self)
        return method(self, *args, **kwargs)
    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


for _name in ("stop", "replace_zone", "clear"):
    setattr(DnsTestServer, _name, _recording(getattr(DnsTestServer, _name)))


@pytest.fixture(autouse=True)
def _name_the_zone_sets(request: pytest.FixtureRequest) -> Iterator[None]:
    _CURRENT["test"] = request.node.nodeid
    yield
    _CURRENT["test"] = ""



EMPTY_PARAMETERS = "got empty parameter set"  # pytest's reason when a parametrisation produced no case


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A parametrisation that produced no case is a failure, not pytest's skip: the test would never run.
    for item in items:
        empty = [m for m in item.own_markers if m.name == "skip" and EMPTY_PARAMETERS in str(m.kwargs.get("reason", ""))]
        if empty:
            item.own_markers[:] = [m for m in item.own_markers if m not in empty]
            item.add_marker(pytest.mark.conformance_missing(
                f"{item.name}: its parametrisation produced no case, so the test would never run"))
    last = [i for i in items if i.get_closest_marker("fixcheck_last") is not None]
    if last:
        items[:] = [i for i in items if i.get_closest_marker("fixcheck_last") is None] + last


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """No keyring on this computer (keyring's own "fail" backend), for the test's duration."""
    import keyring
    from keyring.backends import fail

    old = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(old)
