"""The SASL messages that carry an OAuth access token to a mail server.

XOAUTH2 (Google's and Microsoft's): ``user=<user>^Aauth=Bearer <token>^A^A``.
OAUTHBEARER (RFC 7628 §3.1): ``n,a=<user>,^Ahost=<host>^Aport=<port>^Aauth=Bearer <token>^A^A``.

When the server refuses the token it sends one more challenge holding a JSON error (RFC 7628 §3.2.2:
``{"status":"invalid_token","scope":...}``; Google's XOAUTH2: ``{"status":"401",...}``) and waits for the
client to answer: an empty response for XOAUTH2, ``^A`` for OAUTHBEARER; then the final refusal
follows. ``Exchange`` plays that part and keeps the error for the message shown to the user.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

PREFERRED = ("OAUTHBEARER", "XOAUTH2")  # the standard one first, where the server offers it


def gs2_name(user: str) -> str:
    """A user name as RFC 5801's ``saslname`` (``,`` → ``=2C``, ``=`` → ``=3D``)."""
    return user.replace("=", "=3D").replace(",", "=2C")


def xoauth2(user: str, token: str) -> bytes:
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode("utf-8")


def oauthbearer(user: str, token: str, host: str = "", port: int = 0) -> bytes:
    parts = [f"n,a={gs2_name(user)},"]
    if host:
        parts.append(f"host={host}")
    if port:
        parts.append(f"port={port}")
    parts.append(f"auth=Bearer {token}")
    return ("\x01".join(parts) + "\x01\x01").encode("utf-8")


def choose(advertised: list[str] | set[str] | tuple[str, ...], preferred: tuple[str, ...] = PREFERRED) -> str | None:
    """The mechanism to use among those the server advertises (upper case); None when it offers none."""
    offered = {m.upper() for m in advertised}
    return next((m for m in preferred if m in offered), None)


@dataclass
class Exchange:
    """One SASL exchange: the first call returns the initial response; a later challenge is the
    server's error, kept in ``error``, answered as the mechanism requires."""

    mechanism: str
    initial: bytes
    calls: int = 0
    error: dict[str, object] = field(default_factory=dict)
    raw_error: str = ""

    def __call__(self, challenge: bytes | None = None) -> bytes:
        self.calls += 1
        if self.calls == 1:
            return self.initial
        text = (challenge or b"").decode("utf-8", "replace")
        self.raw_error = text[:2000]
        try:
            data = json.loads(text) if text.strip() else {}
            if isinstance(data, dict):
                self.error = data
        except ValueError:
            pass
        return b"\x01" if self.mechanism == "OAUTHBEARER" else b""

    @property
    def summary(self) -> str:
        """The server's error in a few words (``status``/``scope`` of its JSON), for the detail line."""
        if not self.error:
            return ""
        bits = [f"{k}={self.error[k]}" for k in ("status", "scope", "schemes") if k in self.error]
        return ", ".join(str(b)[:200] for b in bits)


def exchange(mechanism: str, user: str, token: str, host: str = "", port: int = 0) -> Exchange:
    m = mechanism.upper()
    blob = oauthbearer(user, token, host, port) if m == "OAUTHBEARER" else xoauth2(user, token)
    return Exchange(m, blob)


__all__ = ["Exchange", "PREFERRED", "choose", "exchange", "gs2_name", "oauthbearer", "xoauth2"]
