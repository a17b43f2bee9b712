"""Reading a test message over IMAP is bounded: its size and header first, the whole message only up to
``imap.MAX_MESSAGE_BYTES`` (else the header only, said so), and no literal past what was asked for, whatever
the server sends (a loopback fake server that lies about the size, and Dovecot with a large message)."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from inboxready.core.mail import imap

from ..conftest import run
from .conftest import read_profile
from .servers import MailWorld, SizedImapServer


def test_a_message_over_the_limit_is_read_as_its_header_only(world: MailWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imap, "MAX_MESSAGE_BYTES", 1024 * 1024, raising=False)
    token = "IRSIZED234567"
    server = SizedImapServer(world.server_ctx, token, body_size=5 * 1024 * 1024)
    try:
        res = run(imap.watch(read_profile(world, port=server.port), token, password="x", timeout=10))
    finally:
        server.close()
    assert res.status == "found", res.error
    assert res.found is not None
    assert res.found.raw == server.head  # the header block, not 5 MB
    assert res.found.headers_only and res.found.size == len(server.message)
    assert server.body_bytes_sent == 0  # the body was never asked for
    note = next(n for n in res.notes if "only its header was read" in n)
    assert "5 MB" in note and "1 MB" in note and "body" in note


def test_a_message_under_the_limit_is_read_whole(world: MailWorld) -> None:
    token = "IRSIZED765432"
    server = SizedImapServer(world.server_ctx, token, body_size=200_000)
    try:
        res = run(imap.watch(read_profile(world, port=server.port), token, password="x", timeout=10))
    finally:
        server.close()
    assert res.status == "found" and res.found is not None
    assert res.found.raw == server.message and not res.found.headers_only and res.found.note == ""
    assert not any("header" in n for n in res.notes)
    assert any(b"RFC822.SIZE" in f.upper() for f in server.fetches)  # the size was asked first


def test_a_server_sending_a_huge_literal_is_cut_off_at_once(world: MailWorld) -> None:
    """It says the message has 2000 bytes, then answers the FETCH with a 3 GB literal and streams data."""
    token = "IRLIAR2345678"
    server = SizedImapServer(world.server_ctx, token, body_size=100, lie=3_000_000_000)
    tracemalloc.start()
    t0 = time.monotonic()
    try:
        res = run(imap.watch(read_profile(world, port=server.port), token, password="x", timeout=20, io_timeout=10))
        took = time.monotonic() - t0
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        server.close()
    assert res.status == "failed" and res.error is not None
    assert res.error.code == "conn.too-large" and res.error.stage == "watch"
    assert "2861 MB" in res.error.message and "closed the connection" in res.error.message
    assert took < 5.0
    assert peak < 20 * 1024 * 1024


def test_dovecot_large_message_is_read_as_header_only(world: MailWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imap, "MAX_MESSAGE_BYTES", 256 * 1024, raising=False)
    token = "IRDOVEBIG2345"
    raw = (f"From: Shop <crm@shop.test>\r\nTo: alice@inbox.test\r\nSubject: Test [{token}]\r\n"
           f"Message-ID: <big1@shop.test>\r\n\r\n").encode() + (b"z" * 76 + b"\r\n") * 8000  # ~620 KB
    world.dovecot.deliver(raw)
    res = run(imap.watch(read_profile(world), token, password=world.dovecot.password, timeout=10))
    assert res.status == "found" and res.found is not None
    assert res.found.headers_only and b"Subject: Test [" in res.found.raw and len(res.found.raw) < 1000
    assert res.found.size is not None and res.found.size >= len(raw)
    assert any("only its header was read" in n for n in res.notes)


def test_the_limit_is_the_message_checks_own() -> None:
    from inboxready.app.cli.headers import MAX_MESSAGE_BYTES as HEADERS_LIMIT

    assert imap.MAX_MESSAGE_BYTES == HEADERS_LIMIT  # `inboxready headers` refuses larger files
