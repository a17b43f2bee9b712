"""A loopback HTTPS server for the MTA-STS and BIMI tests (no network; certificates made at run time).

    with HttpsTestServer(tmp_path, names=["mta-sts.example.com"]) as web:
        web.route("/.well-known/mta-sts.txt", "version: STSv1\\r\\n...", content_type="text/plain")
        ctx = make_ctx(dns_server, "example.com", https_port=web.port, ca_file=web.ca_file)

Routes are keyed by path, or by ``host + path`` (``"bimi.example.com/logo.svg"``) when one server plays
several hosts. Each route sets the body, content type, status, extra headers, chunked transfer and a
delay before answering. ``cert="expired"|"self-signed"`` or other ``names`` give a bad certificate.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .mail.servers import CertAuthority


@dataclass
class Route:
    body: bytes
    content_type: str = "text/plain"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False
    delay: float = 0.0


def self_signed(folder: Path, names: list[str]) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "self-signed.crt", folder / "self-signed.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: "HttpsTestServer"

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = self.socket.accept()
        # The handshake happens in the handler thread (first read), so a failing client can't block accept().
        return self.owner.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that reject our certificate are the point of some tests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        path = self.path
        owner.requests.append((host, path))
        route = owner.routes.get(host + path) or owner.routes.get(path)
        if route is None:
            route = Route(b"not here\n", status=404)
        if route.delay:
            time.sleep(route.delay)
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        for k, v in route.headers.items():
            self.send_header(k, v)
        self.send_header("Connection", "close")
        if route.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            step = 100
            for i in range(0, len(route.body), step):
                part = route.body[i:i + step]
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body)
        self.close_connection = True


class HttpsTestServer:
    """HTTPS on 127.0.0.1 (free port), in a background thread."""

    def __init__(self, folder: Path, names: list[str], *, cert: str = "good",
                 ca: CertAuthority | None = None) -> None:
        self.folder = folder
        self.ca = ca or CertAuthority(folder)
        self.ca_file = str(self.ca.ca_file)
        if cert == "self-signed":
            cert_path, key_path = self_signed(folder, names)
        else:
            cert_path, key_path = self.ca.issue(f"web-{abs(hash(tuple(names)))}-{cert}", names, [],
                                                expired=(cert == "expired"))
        self.ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # no system CA store needed (fast)
        self.ssl_context.load_cert_chain(str(cert_path), str(key_path))
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str]] = []
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def route(self, path: str, body: str | bytes, *, content_type: str = "text/plain", status: int = 200,
              headers: dict[str, str] | None = None, chunked: bool = False, delay: float = 0.0) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(data, content_type, status, dict(headers or {}), chunked, delay)

    def start(self) -> "HttpsTestServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "HttpsTestServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def closed_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
