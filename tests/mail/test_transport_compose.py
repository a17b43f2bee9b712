"""The test message: token in three places, RFC 5322 headers, two parts, one-click unsubscribe."""

from __future__ import annotations

import email
import re
from datetime import datetime, timezone
from email import policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxready.core.mail.compose import TOKEN_HEADER, compose_test_message, new_token, valid_token


def parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def test_token_shape() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    for t in tokens:
        assert re.fullmatch(r"IR[2-9A-HJKMNP-Z]{10}", t) and valid_token(t)
    assert not valid_token("IR 12") and not valid_token("abc") and not valid_token("IR-7K3M9Q2X")


def test_headers_and_parts() -> None:
    m = compose_test_message("news@shop.example", "me@inbox.example", from_name="Shop Ltd",
                             date=datetime(2026, 5, 4, 10, 0, tzinfo=timezone.utc))
    raw = m.as_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    msg = parsed(raw)
    for name in ("From", "To", "Date", "Message-ID", "Subject", "MIME-Version", TOKEN_HEADER):
        assert len(msg.get_all(name) or []) == 1, name
    assert str(msg["From"]) == "Shop Ltd <news@shop.example>" and str(msg["To"]) == "me@inbox.example"
    assert msg["Date"] == "Mon, 04 May 2026 10:00:00 +0000"
    assert m.token in msg["Subject"] and msg[TOKEN_HEADER] == m.token
    assert re.fullmatch(rf"<{m.token}\.\d+\.[0-9a-f]{{12}}@shop\.example>", msg["Message-ID"])
    assert msg["Message-ID"] == m.message_id
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert all(p.get("MIME-Version") is None for p in msg.iter_parts())
    assert m.token in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"<code>{m.token}</code>" in msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "List-Unsubscribe" not in msg and "List-Unsubscribe-Post" not in msg
    head, body = raw.split(b"\r\n\r\n", 1)
    assert max(len(line) for line in head.split(b"\r\n")) <= 998
    assert max(len(line) for line in body.split(b"\r\n")) <= 78 and raw.isascii()


def test_one_click_unsubscribe() -> None:
    m = compose_test_message("news@shop.example", "me@inbox.example", unsubscribe_url="https://shop.example/u/1",
                             unsubscribe_mailto="unsub@shop.example")
    msg = parsed(m.as_bytes())
    assert msg["List-Unsubscribe"] == \
        "<https://shop.example/u/1>, <mailto:unsub@shop.example?subject=unsubscribe>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # a mailto alone can't be one-click (RFC 8058 needs an HTTPS URI to POST to)
    m = compose_test_message("news@shop.example", "me@inbox.example", unsubscribe_mailto="mailto:u@shop.example?subject=stop")
    msg = parsed(m.as_bytes())
    assert msg["List-Unsubscribe"] == "<mailto:u@shop.example?subject=stop>" and "List-Unsubscribe-Post" not in msg


@pytest.mark.parametrize("kw", [
    {"unsubscribe_url": "http://shop.example/u"},
    {"unsubscribe_url": "https://shop.example/u>x"},
    {"unsubscribe_mailto": "not an address"},
    {"token": "bad token"},
])
def test_bad_input(kw: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        compose_test_message("news@shop.example", "me@inbox.example", **kw)
    with pytest.raises(ValueError):
        compose_test_message("no-at-sign", "me@inbox.example")


def test_international_domain_in_dns_form() -> None:
    m = compose_test_message("news@bücher.example", "me@inbox.example", from_name="Bücher & Co")
    raw = m.as_bytes()
    assert raw.isascii() and m.from_addr == "news@xn--bcher-kva.example"
    assert m.message_id.endswith("@xn--bcher-kva.example>")
    assert str(parsed(raw)["From"]) == "Bücher & Co <news@xn--bcher-kva.example>"
    with pytest.raises(ValueError, match="letters, digits"):
        compose_test_message("jörg@shop.example", "me@inbox.example")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_compose_fuzz(a: str, b: str) -> None:
    try:
        m = compose_test_message(a, b)
    except ValueError:
        return
    assert m.token in m.as_bytes().decode("utf-8", "replace")
