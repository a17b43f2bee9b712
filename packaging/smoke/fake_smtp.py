"""A tiny plain-text SMTP server for the smoke test: offers AUTH PLAIN, records the password it is given.

    python3 fake_smtp.py PORT_FILE PASSWORD_FILE      (or, in-process: ``server, port = serve(PASSWORD_FILE)``)

Listens on 127.0.0.1 (a free port, written to PORT_FILE), answers one connection after another until
killed. Whatever password a client sends with AUTH PLAIN is written to PASSWORD_FILE; the sign-in is
accepted. Nothing is ever delivered.
"""

from __future__ import annotations

import base64
import os
import socketserver
import sys


class Handler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self) -> None:
        self.reply("220 smoke.test ESMTP ready")
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode(errors="replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250-smoke.test\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n")
                self.wfile.flush()
            elif verb == "AUTH":
                parts = line.split()
                blob = parts[2] if len(parts) > 2 else ""
                if not blob:
                    self.reply("334 ")
                    blob = self.rfile.readline().decode().strip()
                try:
                    _authzid, _user, password = base64.b64decode(blob).decode("utf-8").split("\0", 2)
                except ValueError:
                    self.reply("501 bad AUTH PLAIN")
                    continue
                with open(self.server.password_file, "w", encoding="utf-8") as out:  # type: ignore[attr-defined]
                    out.write(password)
                self.reply("235 2.7.0 Authentication successful")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            elif verb in ("NOOP", "RSET"):
                self.reply("250 OK")
            else:
                self.reply("502 not implemented")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    password_file = ""


def serve(password_file: "str | os.PathLike[str]") -> "tuple[Server, int]":
    """A bound server on a free loopback port (call ``serve_forever()`` on it) and that port."""
    server = Server(("127.0.0.1", 0), Handler)
    server.password_file = os.fspath(password_file)
    return server, server.server_address[1]


if __name__ == "__main__":
    server, port = serve(sys.argv[2])
    with server:
        with open(sys.argv[1], "w", encoding="utf-8") as f:
            f.write(str(port))
        server.serve_forever()
