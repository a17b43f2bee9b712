"""The test message: a unique token, correct RFC 5322 headers, a text and an HTML part.

    msg = compose_test_message("news@shop.example", "me@gmail.com",
                               unsubscribe_url="https://shop.example/u/1", unsubscribe_mailto="unsub@shop.example")
    msg.token, msg.message_id, msg.as_bytes()

The token (``IR`` + 10 letters/digits, one word so IMAP SEARCH finds it) is in the Subject, in the
Message-ID and in an ``X-InboxReady-Token`` header. Headers: Date, Message-ID, exactly one From, To,
Subject, MIME-Version; optionally ``List-Unsubscribe`` (an https URI and/or a mailto) and, with an https
URI, ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058). Built with the stdlib ``email``
package (policy SMTP: CRLF line ends, lines folded at 78).
"""

from __future__ import annotations

import html
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

TOKEN_HEADER = "X-InboxReady-Token"
TOKEN_PREFIX = "IR"
TOKEN_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: easy to read aloud and type
TOKEN_LENGTH = 10
_SERIALIZE = policy.SMTP.clone(max_line_length=998)


def new_token() -> str:
    """A fresh token such as ``IR7K3M9Q2XDP`` (about 50 bits of randomness)."""
    return TOKEN_PREFIX + "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def valid_token(text: str) -> bool:
    """A token a user typed: letters and digits only, 6 to 40 of them (tokens of other tools are fine)."""
    t = text.strip()
    return 6 <= len(t) <= 40 and t.isascii() and t.isalnum()


@dataclass(frozen=True)
class ComposedMessage:
    """A test message ready to send."""

    token: str
    message_id: str  # with angle brackets
    subject: str
    from_addr: str
    to_addr: str
    message: EmailMessage

    def as_bytes(self) -> bytes:
        """The message with CRLF line ends. Header lines are not folded at 78 (RFC 5322 allows 998):
        Python's folder would start a long List-Unsubscribe on a line of its own."""
        return self.message.as_bytes(policy=_SERIALIZE)


_LOCAL_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL_RE = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


def _address(addr: str, name: str = "") -> Address:
    """A plain address; an internationalised domain is written in its DNS (xn--) form. A local part
    outside ASCII would need SMTPUTF8, which the test message doesn't use: ``ValueError``."""
    addr = addr.strip()
    if addr.count("@") != 1:
        raise ValueError(f"{addr!r} is not an e-mail address")
    local, domain = addr.split("@")
    if not _LOCAL_RE.match(local) or len(local) > 64:
        raise ValueError(f"{addr!r} is not an e-mail address InboxReady can send to (letters, digits and "
                         ". _ - + before the @)")
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii") if not domain.isascii() else domain.rstrip(".")
    except UnicodeError:
        raise ValueError(f"{addr!r} is not an e-mail address (its domain isn't a valid name)") from None
    if not ascii_domain or not all(_LABEL_RE.match(x) for x in ascii_domain.split(".")):
        raise ValueError(f"{addr!r} is not an e-mail address (its domain isn't a valid name)")
    clean_name = "".join(c for c in name if c.isprintable()).strip()
    return Address(display_name=clean_name, username=local, domain=ascii_domain)


def _unsubscribe_mailto(text: str) -> str:
    t = text.strip()
    if t.lower().startswith("mailto:"):
        t = t[7:]
    addr, _, query = t.partition("?")
    _address(addr)  # validates
    return f"mailto:{addr}" + (f"?{query}" if query else "?subject=unsubscribe")


def compose_test_message(from_addr: str, to_addr: str, *, token: str | None = None, from_name: str = "",
                         unsubscribe_url: str | None = None, unsubscribe_mailto: str | None = None,
                         date: datetime | None = None) -> ComposedMessage:
    """Build a test message from ``from_addr`` to ``to_addr``. ``ValueError`` for an address that
    isn't one, or an unsubscribe URL that isn't ``https://``."""
    token = token or new_token()
    if not valid_token(token):
        raise ValueError("a token is 6 to 40 letters and digits")
    sender = _address(from_addr, from_name)
    rcpt = _address(to_addr)
    subject = f"InboxReady test {token}"
    stamp = int(time.time())
    message_id = f"<{token}.{stamp}.{secrets.token_hex(6)}@{sender.domain}>"

    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender
    msg["To"] = rcpt
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date if date is not None else datetime.now().astimezone())
    msg["Message-ID"] = message_id
    msg[TOKEN_HEADER] = token

    unsub: list[str] = []
    if unsubscribe_url:
        u = unsubscribe_url.strip()
        if not u.lower().startswith("https://") or any(c in u for c in " <>\"\r\n"):
            raise ValueError("the unsubscribe link must be an https:// address")
        unsub.append(f"<{u}>")
    if unsubscribe_mailto:
        unsub.append(f"<{_unsubscribe_mailto(unsubscribe_mailto)}>")
    if unsub:
        msg["List-Unsubscribe"] = ", ".join(unsub)
        if unsubscribe_url:  # one-click needs an HTTPS URI to POST to (RFC 8058 §3.1)
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"

    text = (f"This is a test message from InboxReady.\n\n"
            f"Token: {token}\n"
            f"Sent from {sender.addr_spec} to {rcpt.addr_spec}.\n\n"
            "InboxReady sent it to check how the receiving mail service judges mail from this sender "
            "(SPF, DKIM and DMARC). You can delete it.\n")
    body_html = (
        "<!DOCTYPE html>\n<html><body>\n"
        "<p>This is a test message from <b>InboxReady</b>.</p>\n"
        f"<p>Token: <code>{html.escape(token)}</code><br>\n"
        f"Sent from {html.escape(sender.addr_spec)} to {html.escape(rcpt.addr_spec)}.</p>\n"
        "<p>InboxReady sent it to check how the receiving mail service judges mail from this sender "
        "(SPF, DKIM and DMARC). You can delete it.</p>\n"
        "</body></html>\n")
    msg.set_content(text)
    msg.add_alternative(body_html, subtype="html")
    for part in msg.iter_parts():
        del part["MIME-Version"]  # belongs in the top-level header only
    return ComposedMessage(token=token, message_id=message_id, subject=subject, from_addr=sender.addr_spec,
                           to_addr=rcpt.addr_spec, message=msg)


__all__ = ["ComposedMessage", "TOKEN_HEADER", "compose_test_message", "new_token", "valid_token"]
