"""The publish journal survives SIGKILL: a real child process running ``inboxready publish … --yes`` against
PowerDNS is killed in the middle of applying its plan (its next API call is held by a loopback proxy, so the
kill lands between two changes, deterministically). The journal is intact, says which change reached the DNS
host and which was under way, and ``inboxready publish --undo`` restores the zone exactly."""

from __future__ import annotations

import http.server
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from inboxready.core.publish.journal import JOURNAL_FILE, Journal
from inboxready.core.store.settings import data_dir

from .conftest import API_KEY, cli
from .pdns import PowerDns
from .test_publish_pdns import make_zone

REPO = Path(__file__).resolve().parents[2]

# The child: the real CLI entry point, in its own process, with the API key in a keyring of its own (from
# the environment of this child only: the key is never written to a file).
CHILD = r"""
import os, sys
import keyring, keyring.backend

class ChildKeyring(keyring.backend.KeyringBackend):
    priority = 1
    def __init__(self):
        super().__init__()
        self.store = {("InboxReady", "dns:pd:auth_token"): os.environ.pop("IR_TEST_PDNS_KEY")}
    def get_password(self, service, username):
        return self.store.get((service, username))
    def set_password(self, service, username, password):
        self.store[(service, username)] = password
    def delete_password(self, service, username):
        self.store.pop((service, username), None)

keyring.set_keyring(ChildKeyring())
from inboxready.app.cli import main
sys.exit(main(sys.argv[1:]))
"""


class HoldingProxy:
    """A loopback HTTP proxy in front of the PowerDNS API that holds the ``hold_at``-th PATCH (a change)
    until released, and then drops it (it never reaches PowerDNS)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.hold_at = 0
        self.patches = 0
        self.held = threading.Event()
        self.release = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
                if self.command == "PATCH":
                    proxy.patches += 1
                    if proxy.patches == proxy.hold_at:
                        proxy.held.set()
                        proxy.release.wait(120)
                        self.send_error(503, "dropped by the test proxy")
                        return
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("x-api-key", "content-type",
                                                                                  "accept")}
                req = urllib.request.Request(proxy.upstream + self.path, data=body, method=self.command,
                                             headers=headers)
                try:
                    with urllib.request.urlopen(req, timeout=10) as resp:
                        code, data, ctype = resp.status, resp.read(), resp.headers.get("Content-Type", "")
                except urllib.error.HTTPError as exc:
                    code, data, ctype = exc.code, exc.read(), exc.headers.get("Content-Type", "")
                self.send_response(code)
                if ctype:
                    self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PATCH = do_PUT = do_POST = do_DELETE = _forward  # noqa: N815

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "HoldingProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _account(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INBOXREADY_PASSWORD", API_KEY)
    code, out, err = cli("dns-account", "add", "pd", "--provider", "powerdns", "--option", f"pdns_server={url}",
                         "--option", "pdns_server_id=localhost", "--secret", "auth_token")
    monkeypatch.delenv("INBOXREADY_PASSWORD")
    assert code == 0, err


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX only")
def test_journal_survives_sigkill_mid_apply_and_undo_restores_the_zone(  # type: ignore[no-untyped-def]
        pdns: PowerDns, home: Path, memory_keyring, zone_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    z = zone_name
    make_zone(pdns, z, [("@", "TXT", ['"v=spf1 ip4:192.0.2.1 -all"', '"v=spf1 ip4:198.51.100.7 ~all"',
                                      '"google-site-verification=abc123"']),
                        ("@", "MX", [f"10 mail.{z}."]), ("mail", "A", ["192.0.2.1"])])
    snapshot = pdns.rrsets(z)
    with HoldingProxy(pdns.url) as proxy:
        _account(proxy.url, monkeypatch)
        code, out, err = cli("publish", z, "--account", "pd", "--nameserver", pdns.nameserver, "--timeout", "2",
                             "--dry-run", "--json")
        plan = json.loads(out)["plan"]
        assert len(plan) >= 2, plan
        assert proxy.patches == 0 and pdns.rrsets(z) == snapshot  # the dry run changed nothing
        proxy.hold_at = 1  # every change is one PATCH at PowerDNS (a replace swaps the record in its set at once)
        proxy.hold_at += 1  # hold the first API call of the second change

        env = {**os.environ, "INBOXREADY_HOME": str(home), "IR_TEST_PDNS_KEY": API_KEY, "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))}
        env.pop("INBOXREADY_PASSWORD", None)
        child = subprocess.Popen([sys.executable, "-c", CHILD, "publish", z, "--account", "pd", "--nameserver",
                                  pdns.nameserver, "--timeout", "2", "--yes", "--json"], env=env, cwd=str(REPO),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            if not proxy.held.wait(90):
                child.kill()
                out_b, err_b = child.communicate(10)
                pytest.fail(f"the child never reached its second change: {err_b.decode()[-2000:]}")
            # the child is inside its second change's API call: the journal (WAL) says so already
            path = data_dir() / JOURNAL_FILE  # the child's data folder: the same INBOXREADY_HOME
            reader = Journal(path)
            live = reader.recent(1)[0]
            reader.close()
            assert [s.state for s in live.steps][:2] == ["applied", "pending"] and live.state == "applying"
            os.kill(child.pid, signal.SIGKILL)
            child.wait(30)
            assert child.returncode == -signal.SIGKILL
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(10)
            for stream in (child.stdout, child.stderr):
                if stream is not None:
                    stream.close()
            proxy.release.set()

    # the journal survived the kill intact, and says what was applied and what was under way
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
    j = Journal(path)
    try:
        entry = j.recent(1)[0]
    finally:
        j.close()
    assert entry.state == "applying" and entry.kind == "apply" and entry.domain == z
    states = [s.state for s in entry.steps]
    assert states[0] == "applied" and states[1] == "pending" and set(states[2:]) <= {"planned"}
    assert [(s.action, s.host, s.type) for s in entry.steps] == [(p["action"], p["host"], p["type"]) for p in plan]
    assert "did not finish" in entry.state_words and "1 of" in entry.state_words
    assert API_KEY not in path.read_bytes().decode("latin-1")
    assert pdns.rrsets(z) != snapshot  # the first change reached PowerDNS, the held one did not
    first, second = entry.steps[0], entry.steps[1]
    served = pdns.rrsets(z).get((first.host + ".", first.type), (0, ()))[1]
    if first.new is not None:
        assert f'"{first.new}"' in served  # the first change is at the DNS host
    if first.old is not None:
        assert f'"{first.old}"' not in served
    if second.old is not None and second.type == "TXT":  # the held one is not
        assert f'"{second.old}"' in pdns.rrsets(z).get((second.host + ".", second.type), (0, ()))[1]

    # undo from the journal with the same account (now straight to PowerDNS): the zone is back exactly
    _account(pdns.url, monkeypatch)
    code, out, err = cli("publish", "--undo", entry.id, "--account", "pd", "--nameserver", pdns.nameserver,
                         "--timeout", "2", "--yes")
    assert code in (0, 1), err
    assert pdns.rrsets(z) == snapshot
    j = Journal(path)
    try:
        assert j.get(entry.id).undone_by
    finally:
        j.close()
