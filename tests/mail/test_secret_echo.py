"""Issue 13, item 6: no output of ``profile test`` (text or JSON) carries the password in any encoding,
even when the server echoes the login exchange back: AUTH PLAIN (base64 of user\\0user\\0password),
AUTH LOGIN (base64 of the password alone), IMAP LOGIN (the password quoted), URL-encoded."""

from __future__ import annotations

import base64
import json
import socket
import threading
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import quote, quote_plus

import pytest

from inboxready.core.store.credentials import scrub

from .conftest import MemoryKeyring
from ..helpers.cli import cli

USER = "alice@shop.test"


class LineServer:
    """A tiny threaded TCP server on loopback: ``greeting``, then ``reply(line, conn)`` per line read."""

    def __init__(self, greeting: bytes, reply: Callable[[bytes, "LineServer"], bytes | None]) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.greeting, self.reply = greeting, reply
        self.state: dict[str, object] = {}
        self.heard: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        self.state.clear()
        with conn:
            conn.sendall(self.greeting)
            buf = b""
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buf += data
                while b"\r\n" in buf:
                    line, buf = buf.split(b"\r\n", 1)
                    self.heard.append(line)
                    answer = self.reply(line, self)
                    if answer is None:
                        return
                    conn.sendall(answer)

    def close(self) -> None:
        self.sock.close()


def smtp_echo(mechanisms: str) -> Callable[[bytes, LineServer], bytes | None]:
    """An SMTP server that repeats everything the client sent during AUTH in its refusal."""
    def reply(line: bytes, srv: LineServer) -> bytes | None:
        text = line.decode("utf-8", "replace")
        step = srv.state.get("auth")
        if step is not None:
            srv.state["said"] = f"{srv.state.get('said', '')} {text}"
            if step == "login-user":
                srv.state["auth"] = "login-pass"
                return b"334 UGFzc3dvcmQ6\r\n"
            srv.state.pop("auth")
            said = str(srv.state.get("said", ""))
            decoded = " / ".join(base64.b64decode(w + "==").decode("utf-8", "replace")
                                 for w in said.split() if w not in ("AUTH", "PLAIN", "LOGIN"))
            return f"535 5.7.8 Authentication failed for{said} (decoded: {decoded})\r\n".encode()
        verb = text.split(" ", 1)[0].upper()
        if verb in ("EHLO", "HELO"):
            return f"250-echo.test\r\n250-AUTH {mechanisms}\r\n250 8BITMIME\r\n".encode()
        if verb == "AUTH":
            parts = text.split()
            srv.state["said"] = " " + text
            if parts[1].upper() == "LOGIN":
                srv.state["auth"] = "login-user"
                return b"334 VXNlcm5hbWU6\r\n"
            if len(parts) == 3:
                decoded = base64.b64decode(parts[2]).decode("utf-8", "replace")
                return f"535 5.7.8 Bad credentials: {text} = {decoded!r} = {quote(decoded)}\r\n".encode()
            srv.state["auth"] = "plain"
            return b"334 \r\n"
        if verb == "QUIT":
            srv.state.clear()
            return b"221 bye\r\n"
        return b"250 ok\r\n"
    return reply


def imap_echo(line: bytes, srv: LineServer) -> bytes | None:
    """An IMAP server that repeats the LOGIN command (password quoted) in its NO."""
    text = line.decode("utf-8", "replace")
    tag, _, rest = text.partition(" ")
    cmd = rest.split(" ", 1)[0].upper()
    if cmd == "CAPABILITY":
        return f"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n".encode()
    if cmd == "LOGIN":
        password = rest.split(" ", 2)[2]
        raw = password.strip('"').replace('\\"', '"').replace("\\\\", "\\")
        return (f"{tag} NO [AUTHENTICATIONFAILED] you sent {rest} "
                f"(b64 {base64.b64encode(raw.encode()).decode()}, url {quote_plus(raw)})\r\n").encode()
    if cmd == "LOGOUT":
        return f"* BYE\r\n{tag} OK bye\r\n".encode()
    return f"{tag} BAD what\r\n".encode()


def forms(password: str) -> list[str]:
    """The encodings the password must never appear in."""
    p, u = password.encode(), USER.encode()
    out = {password, quote(password, safe=""), quote_plus(password), password.replace("\\", "\\\\").replace('"', '\\"'),
           json.dumps(password)[1:-1], base64.b64encode(p).decode(), base64.b64encode(b"\0" + u + b"\0" + p).decode(),
           base64.b64encode(u + b"\0" + u + b"\0" + p).decode()}
    return sorted(out)


@pytest.fixture
def servers() -> Iterator[dict[str, LineServer]]:
    made = {"plain": LineServer(b"220 echo.test ESMTP\r\n", smtp_echo("PLAIN LOGIN")),
            "login": LineServer(b"220 echo.test ESMTP\r\n", smtp_echo("LOGIN")),
            "imap": LineServer(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] echo ready\r\n", imap_echo)}
    yield made
    for s in made.values():
        s.close()




@pytest.mark.parametrize("password", ['Tr0ub4dor&3 "quoted" back\\slash %+/=', "pässwörd-ünicode!",
                                      "short1"])
def test_profile_test_never_shows_the_password(password: str, servers: dict[str, LineServer],
                                               memory_keyring: MemoryKeyring, profile_home: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INBOXREADY_PASSWORD", password)
    for name, kind in (("plain", "--smtp"), ("login", "--smtp"), ("imap", "--imap")):
        if name == "imap" and not password.isascii():
            continue  # IMAP LOGIN is ASCII (imaplib refuses other letters before sending anything)
        code, _, err = cli("profile", "add", name, kind, f"127.0.0.1:{servers[name].port}", "--security", "none",
                           "--user", USER)
        assert code == 0, err
    heard = b"\n".join(line for s in servers.values() for line in s.heard)
    for name in ("plain", "login", "imap"):
        if name == "imap" and not password.isascii():
            continue
        code, out, err = cli("profile", "test", name, "--json")
        text_code, text_out, text_err = cli("profile", "test", name)
        assert code == 1 and text_code == 1
        shown = out + err + text_out + text_err
        assert "Authentication failed" in shown or "AUTHENTICATIONFAILED" in shown or "refused" in shown
        for form in forms(password):
            assert form not in shown, (name, form)
        data = json.loads(out)
        assert data[0]["code"] == "conn.wrong-password"
        assert "***" in data[0]["server_reply"]  # the echo is there, with the secret scrubbed
    heard = b"\n".join(line for s in servers.values() for line in s.heard)
    assert base64.b64encode(password.encode()) in heard or password.encode() in heard  # the servers did echo it


def test_scrub_finds_the_password_inside_any_base64_blob() -> None:
    pw = "correct horse battery staple"
    blob = base64.b64encode(b"prefix-" + b"\0" + USER.encode() + b"\0" + pw.encode() + b"-suffix").decode()
    for k in range(3):  # at every alignment, even inside a longer base64 text
        shifted = base64.b64encode(b"x" * k + pw.encode() + b"tail").decode()
        assert scrub(f"echo {shifted}", pw, user=USER) == "echo ***"
    assert scrub(f"535 {blob}", pw, user=USER) == "535 ***"
    assert scrub("535 " + base64.urlsafe_b64encode(pw.encode()).decode().rstrip("="), pw) == "535 ***"
    assert scrub("you sent " + pw.encode().hex(), pw) == "you sent ***"
    assert scrub("login " + pw.upper(), pw) == "login ***"
    # a short password does not eat ordinary words
    assert scrub("Signed in as alice, all fine", "zq") == "Signed in as alice, all fine"
