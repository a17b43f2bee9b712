"""The suite-wide guard (tests/conftest.py) keeps every test on loopback."""

from __future__ import annotations

import asyncio
import socket

import pytest

from tests import conftest


def test_public_tcp_connect_is_refused_without_leaving_the_machine() -> None:
    before = len(conftest.BLOCKED)
    with socket.socket() as s, pytest.raises(ConnectionRefusedError):
        s.connect(("192.0.2.10", 25))
    with socket.socket() as s2:
        assert s2.connect_ex(("198.51.100.1", 443)) == 111
    assert ("192.0.2.10", 25) in conftest.BLOCKED[before:]


def test_public_udp_sendto_is_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, pytest.raises(ConnectionRefusedError):
        s.sendto(b"x", ("8.8.8.8", 53))


def test_asyncio_connections_go_through_the_guard() -> None:
    async def go() -> None:
        await asyncio.wait_for(asyncio.open_connection("203.0.113.5", 25), 2)

    with pytest.raises(ConnectionRefusedError):
        asyncio.run(go())


def test_loopback_still_works() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.socket() as client:
            client.connect(server.getsockname())
            conn, _ = server.accept()
            conn.close()
