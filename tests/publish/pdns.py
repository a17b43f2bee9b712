"""PowerDNS Authoritative on loopback for the publishing tests: a generated configuration, a fresh sqlite
database made from the schema Debian's pdns-backend-sqlite3 ships, the HTTP API on a free port and DNS on
another, no daemon, no guardian, its socket folder in a temp folder.

``require_pdns()`` skips with a message on a developer machine without PowerDNS and FAILS under CI
(``CI=true``), so CI can never skip these tests silently (``.ci/run`` installs pdns-server and
pdns-backend-sqlite3).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

SCHEMAS = ("/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql",
           "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql")


def pdns_binary() -> str | None:
    return shutil.which("pdns_server") or next((p for p in ("/usr/sbin/pdns_server",) if os.path.exists(p)), None)


def pdns_schema() -> str | None:
    return next((p for p in SCHEMAS if os.path.exists(p)), None)


def require_pdns() -> None:
    if pdns_binary() is not None and pdns_schema() is not None:
        return
    msg = ("PowerDNS (pdns-server with pdns-backend-sqlite3) is not installed, so the publishing tests against a "
           "real DNS host API can't run. Install it with: apt-get install -y pdns-server pdns-backend-sqlite3")
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(msg + " (CI=true: these tests must not be skipped)")
    pytest.skip(msg)


def _free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            u.close()
            t.close()
        return port
    raise RuntimeError("no free port")


class PowerDns:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.dir = Path(tempfile.mkdtemp(prefix="ir-pdns-"))
        self.db = self.dir / "pdns.sqlite3"
        self.api_port = _free_port()
        self.dns_port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        con = sqlite3.connect(self.db)
        con.executescript(Path(pdns_schema() or "").read_text())
        con.close()
        (self.dir / "pdns.conf").write_text("\n".join([
            "launch=gsqlite3", f"gsqlite3-database={self.db}", "api=yes", f"api-key={api_key}", "webserver=yes",
            "webserver-address=127.0.0.1", f"webserver-port={self.api_port}", "webserver-allow-from=127.0.0.0/8",
            "local-address=127.0.0.1", f"local-port={self.dns_port}", "daemon=no", "guardian=no",
            f"socket-dir={self.dir}", "disable-syslog=yes", "loglevel=3", "cache-ttl=0", "query-cache-ttl=0",
            "negquery-cache-ttl=0", "zone-cache-refresh-interval=0",
            "primary=no", "secondary=no", ""]))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def nameserver(self) -> str:
        return f"127.0.0.1:{self.dns_port}"

    def start(self) -> None:
        self.proc = subprocess.Popen([pdns_binary() or "pdns_server", f"--config-dir={self.dir}"],
                                     stdout=subprocess.DEVNULL, stderr=open(self.dir / "pdns.log", "ab"))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("pdns_server exited: " + (self.dir / "pdns.log").read_text()[-2000:])
            try:
                self.api("GET", "/api/v1/servers/localhost")
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        raise RuntimeError("pdns_server did not start: " + (self.dir / "pdns.log").read_text()[-2000:])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"X-API-Key": self.api_key, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def create_zone(self, zone: str, records: list[tuple[str, str, list[str]]], *, ttl: int = 3600) -> None:
        """``records``: (name relative to the zone or '@', type, [contents in zone-file form])."""
        z = zone.rstrip(".") + "."
        rrsets = []
        for name, rtype, contents in records:
            fq = z if name == "@" else f"{name}.{z}"
            rrsets.append({"name": fq, "type": rtype, "ttl": ttl, "changetype": "REPLACE",
                           "records": [{"content": c, "disabled": False} for c in contents]})
        self.api("POST", "/api/v1/servers/localhost/zones",
                 {"name": z, "kind": "Native", "nameservers": [f"ns1.{z}", f"ns2.{z}"]})
        if rrsets:
            self.api("PATCH", f"/api/v1/servers/localhost/zones/{z}", {"rrsets": rrsets})

    def rrsets(self, zone: str, *, with_soa: bool = False) -> dict[tuple[str, str], tuple[int, tuple[str, ...]]]:
        data = self.api("GET", f"/api/v1/servers/localhost/zones/{zone.rstrip('.')}.")
        return {(r["name"], r["type"]): (r["ttl"], tuple(sorted(x["content"] for x in r["records"])))
                for r in data["rrsets"] if with_soa or r["type"] != "SOA"}
