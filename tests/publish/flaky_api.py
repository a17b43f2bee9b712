"""A DNS host's API that misbehaves: a loopback HTTP proxy in front of the test PowerDNS API that passes
requests through until a rule says otherwise. Rules act on the Nth request of a method (counting from 1):
answer it with a status and body of our own (401, 403, 404, 429, 500, an HTML error page) without passing
it on; pass it on and then never answer (the host applied it, the answer was lost); or never answer at all.
Used to see what a person is told, and what the journal says, when the API fails half-way."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from contextlib import contextmanager
from typing import Any, Iterator


@dataclass
class Rule:
    method: str  # GET | PATCH | ... ("*" any)
    nth: int  # the Nth request of that method (1 = the first); 0 = every one
    status: int = 0  # answer with this status (not passed on)
    body: str = ""
    content_type: str = "application/json"
    forward_then_hang: bool = False  # pass it on (the host applies it), then never answer
    hang: bool = False  # never answer, never pass it on


class FlakyApi:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.rules: list[Rule] = []
        self.counts: dict[str, int] = {}
        self.seen: list[tuple[str, str]] = []
        # called after each request passed on to the host has been applied there (before its answer is sent):
        # a test sees every state the zone goes through, one write at a time
        self.after_forward: Any = None
        self._release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                outer.serve(self)

            do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "FlakyApi":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def _rule(self, method: str) -> Rule | None:
        n = self.counts[method] = self.counts.get(method, 0) + 1
        return next((r for r in self.rules if r.method in (method, "*") and r.nth in (0, n)), None)

    def serve(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else None
        self.seen.append((h.command, h.path))
        rule = self._rule(h.command)
        if rule is not None and rule.hang:
            self._release.wait(60)
            return
        if rule is not None and rule.status:
            self._answer(h, rule.status, rule.body.encode(), rule.content_type)
            return
        headers = {k: v for k, v in h.headers.items() if k.lower() in ("x-api-key", "content-type", "accept")}
        req = urllib.request.Request(self.upstream + h.path, data=body, method=h.command, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                status, data, ctype = resp.status, resp.read(), resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            status, data, ctype = exc.code, exc.read(), exc.headers.get("Content-Type", "")
        if self.after_forward is not None:
            self.after_forward(h.command, h.path, status)
        if rule is not None and rule.forward_then_hang:
            self._release.wait(60)
            return
        self._answer(h, status, data, ctype)

    @staticmethod
    def _answer(h: BaseHTTPRequestHandler, status: int, data: bytes, ctype: str) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype or "application/octet-stream")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)


HTML_502 = ("<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title><style>body{font:13px sans-serif}</style>"
            "</head>\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center>\n"
            "<script>var x = 1;</script></body></html>\n")


@contextmanager
def proxied_account(name: str, pdns_url: str, monkeypatch: Any) -> Iterator["FlakyApi"]:
    """A PowerDNS account ``name`` (added with the CLI, its key from the environment only while it is added)
    whose API calls go through a ``FlakyApi`` in front of ``pdns_url``."""
    from .conftest import API_KEY, cli

    with FlakyApi(pdns_url) as api:
        monkeypatch.setenv("INBOXREADY_PASSWORD", API_KEY)
        code, _out, err = cli("dns-account", "add", name, "--provider", "powerdns", "--option",
                              f"pdns_server={api.url}", "--option", "pdns_server_id=localhost", "--secret",
                              "auth_token")
        assert code == 0, err
        monkeypatch.delenv("INBOXREADY_PASSWORD")
        yield api
