"""A DNS server that misbehaves (h11): it answers only with truncated replies and its TCP is dead or silent,
it answers SERVFAIL to everything, it answers with another ID or another question, with garbage, with a cut
packet, or with 64 KB over TCP. Every command that uses DNS ends within its deadline, says "couldn't check"
(exit code 2) and never "missing" or "misconfigured"; the truncated-only server is named for what it does."""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from tests.core.dns.test_dns_hostile import cli

MODES = ("tc-tcp-refused", "tc-tcp-silent", "servfail", "wrong-id", "wrong-question", "garbage", "cut",
         "huge-tcp")


class Misbehaving:
    """A loopback DNS server (UDP and TCP on one port) that answers every question wrongly in one way."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.port = self.udp.getsockname()[1]
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", self.port))  # bound, so nobody else takes the port; listening or not
        self.held: list[socket.socket] = []
        self.closed = False
        if mode in ("tc-tcp-silent", "huge-tcp"):
            self.tcp.listen(64)
            threading.Thread(target=self._tcp, daemon=True).start()
        threading.Thread(target=self._udp, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _reply(self, wire: bytes) -> bytes | None:
        try:
            q = dns.message.from_wire(wire)
        except Exception:  # noqa: BLE001
            return None
        r = dns.message.make_response(q)
        if self.mode.startswith("tc-") or self.mode == "huge-tcp":
            r.flags |= dns.flags.TC
            return r.to_wire()
        if self.mode == "servfail":
            r.set_rcode(dns.rcode.SERVFAIL)
            return r.to_wire()
        if self.mode == "wrong-id":
            w = bytearray(r.to_wire())
            w[0] ^= 0x5A
            return bytes(w)
        if self.mode == "wrong-question":
            other = dns.message.make_query("other.invalid", "A")
            other.id = q.id
            return dns.message.make_response(other).to_wire()
        if self.mode == "garbage":
            return wire[:2] + os.urandom(60)
        return wire[:7]  # cut

    def _udp(self) -> None:
        while not self.closed:
            try:
                wire, peer = self.udp.recvfrom(4096)
            except OSError:
                return
            out = self._reply(wire)
            if out is not None:
                self.udp.sendto(out, peer)

    def _tcp(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            self.held.append(conn)
            if self.mode == "huge-tcp":
                threading.Thread(target=self._huge, args=(conn,), daemon=True).start()

    def _huge(self, conn: socket.socket) -> None:
        try:
            (n,) = struct.unpack("!H", conn.recv(2))
            q = dns.message.from_wire(conn.recv(n))
            r = dns.message.make_response(q)
            r.answer.append(dns.rrset.from_text(q.question[0].name, 60, "IN", "TXT",
                                                *[f'"{i:03d}' + "a" * 250 + '"' for i in range(235)]))
            wire = r.to_wire(max_size=65535)
            conn.sendall(struct.pack("!H", 65535) + wire + b"\0" * (65535 - len(wire)))  # 64 KB, then junk
        except OSError:
            pass

    def close(self) -> None:
        self.closed = True
        for s in (self.udp, self.tcp, *self.held):
            s.close()


@pytest.fixture(params=MODES)
def bad(request: pytest.FixtureRequest) -> Iterator[Misbehaving]:
    server = Misbehaving(request.param)
    yield server
    server.close()


@pytest.fixture(params=["tc-tcp-silent", "servfail", "wrong-id"])
def some_bad(request: pytest.FixtureRequest) -> Iterator[Misbehaving]:
    """A few of the shapes, for the commands other than check (each run is a process of its own)."""
    server = Misbehaving(request.param)
    yield server
    server.close()


DEADLINE = 20.0
WITHIN = 15.0  # start-up of the child included


def _common(server: Misbehaving) -> list[str]:
    return ["-n", server.address, "--timeout", "1"]


def test_check_says_couldnt_check_and_never_missing(bad: Misbehaving, tmp_path: Path) -> None:
    proc, took = cli(["check", "shop.test", "--json", "--skip", "starttls", "--deadline", f"{DEADLINE:g}",
                      *_common(bad)], tmp_path)
    assert took < WITHIN, f"{bad.mode}: {took:.1f} s"
    (report,) = json.loads(proc.stdout)
    assert proc.returncode == 2, (bad.mode, proc.stderr)
    assert report["status"] == "error" and report["dns_trouble"]["kind"] == "resolver", bad.mode
    statuses = {name: c["status"] for name, c in report["checks"].items()}
    assert set(statuses.values()) == {"error"}, (bad.mode, statuses)
    words = json.dumps(report).lower()
    assert "no spf record" not in words and "misconfigured" not in words
    if bad.mode.startswith("tc-") or bad.mode == "huge-tcp":
        message = report["dns_trouble"]["message"]
        # it does answer: never "none of our questions got a reply"
        assert "cut short" in message and "over TCP" in message and "got a reply" not in message, message


@pytest.mark.parametrize("argv", [
    ["spf", "shop.test", "--ip", "192.0.2.1", "--json"],
    ["build", "dmarc", "shop.test", "--rua", "d@shop.test", "--json"],
    ["build", "spf", "--service", "google", "--domain", "shop.test"],
    ["bounce", "-", "--domain", "shop.test", "--json"],
], ids=["spf", "build-dmarc", "build-spf", "bounce"])
def test_other_commands_say_couldnt_check(some_bad: Misbehaving, tmp_path: Path, argv: list[str]) -> None:
    bad = some_bad
    if argv[0] == "bounce":
        text = "550 5.7.26 This mail has been blocked because the sender is unauthenticated.\n"
        bounce = tmp_path / "bounce.txt"
        bounce.write_text(text)
        argv = [*argv[:1], str(bounce), *argv[2:]]
    proc, took = cli([*argv, *_common(bad)], tmp_path)
    assert took < WITHIN, f"{bad.mode}: {took:.1f} s"
    assert proc.returncode == 2, (bad.mode, proc.stdout, proc.stderr)
    if argv[0] == "spf":
        assert json.loads(proc.stdout)["result"] == "temperror"
    if argv[:2] == ["build", "spf"]:
        assert "Not ready to publish" in " ".join(proc.stdout.split()) and "v=spf1" not in proc.stdout
    if argv[0] == "bounce":
        data = json.loads(proc.stdout)
        assert {c["status"] for c in data["checks"].values()} <= {"error", "skipped", "info"}, data["checks"]
        assert not data["fixes"]


def test_the_truncating_server_really_truncates_and_refuses_tcp() -> None:
    # the servers above really misbehave: a well-formed question to the truncating one gets TC back at once
    server = Misbehaving("tc-tcp-refused")
    try:
        q = dns.message.make_query("shop.test", "TXT")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        start = time.monotonic()
        s.sendto(q.to_wire(), ("127.0.0.1", server.port))
        reply = dns.message.from_wire(s.recv(4096))
        s.close()
        assert reply.flags & dns.flags.TC and time.monotonic() - start < 1
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", server.port), timeout=2)
    finally:
        server.close()
