"""STARTTLS on the MX hosts, against local aiosmtpd servers with certificates from a test CA made now."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from hypothesis import given, settings
from hypothesis import strategies as st
from inboxready.core.checks import starttls
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import Severity, Status

from tests.conftest import make_ctx, run
from tests.detailshape import assert_shape
from tests.mail.servers import CertAuthority, free_port

ZONE = "@ MX 10 mx.example.com.\nmx A 127.0.0.1\n"


class _Sink:
    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        return "250 OK"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertAuthority:
    return CertAuthority(tmp_path_factory.mktemp("starttls-ca"))


@pytest.fixture
def smtp(ca: CertAuthority) -> Iterator:  # type: ignore[type-arg]
    """``start(names=[...], expired=False, tls=True)`` → port of a running aiosmtpd."""
    running: list[Controller] = []

    def start(names: list[str] | None = None, *, expired: bool = False, tls: bool = True) -> int:
        ctx = None
        if tls:
            cert, key = ca.issue(f"mx-{len(running)}-{time.monotonic_ns()}", names or ["mx.example.com"], [],
                                 expired=expired)
            ctx = ca.server_context(cert, key)
        port = free_port()
        c = Controller(_Sink(), hostname="127.0.0.1", port=port, tls_context=ctx, server_hostname="mx.example.com")
        c.start()
        running.append(c)
        return port

    yield start
    for c in running:
        c.stop()


def check(server: DnsTestServer, **opts: object):  # type: ignore[no-untyped-def]
    opts.setdefault("connect_timeout", 2.0)

    async def go():  # type: ignore[no-untyped-def]
        ctx = make_ctx(server, "example.com", **opts)
        try:
            return await starttls.check(ctx)
        finally:
            ctx.dns.close()
    result = run(go())
    assert assert_shape(result)  # the detail the STARTTLS card reads directly (StarttlsDetail), every time
    return result


def codes(result) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(f.code for f in result.findings)


def test_starttls_with_a_valid_certificate(dns_server: DnsTestServer, smtp, ca: CertAuthority) -> None:  # type: ignore[no-untyped-def]
    port = smtp()
    dns_server.add_zone("example.com", ZONE)
    r = check(dns_server, smtp_port=port, ca_file=str(ca.ca_file))
    assert r.status is Status.PASS, r.findings
    # The test certificate lives one day: valid, with a reminder that it expires soon.
    assert codes(r) == ["starttls.cert-expiring"] and r.findings[0].severity is Severity.INFO
    assert r.detail["blocked"] is False
    [h] = r.detail["hosts"]
    assert h["host"] == "mx.example.com" and h["ip"] == "127.0.0.1" and h["port"] == port
    assert h["starttls"] is True and h["cert_valid"] is True
    assert h["tls_version"] in ("TLSv1.2", "TLSv1.3") and h["cipher"]
    assert h["cert_names"] == ["mx.example.com"]
    assert h["cert_not_after"] and h["cert_not_after"][:2] == "20"
    assert h["banner"] and h["error"] is None
    assert json.loads(json.dumps(r.to_json()))["detail"]["hosts"][0]["starttls"] is True


def test_no_starttls_fails(dns_server: DnsTestServer, smtp) -> None:  # type: ignore[no-untyped-def]
    port = smtp(tls=False)
    dns_server.add_zone("example.com", ZONE)
    r = check(dns_server, smtp_port=port)
    assert r.status is Status.FAIL
    assert codes(r) == ["starttls.not-offered"]
    assert r.detail["hosts"][0]["starttls"] is False and r.detail["hosts"][0]["tls_version"] is None


def test_certificate_for_another_name_is_a_warning(dns_server: DnsTestServer, smtp, ca: CertAuthority) -> None:  # type: ignore[no-untyped-def]
    port = smtp(["other.example.net"])
    dns_server.add_zone("example.com", ZONE)
    r = check(dns_server, smtp_port=port, ca_file=str(ca.ca_file))
    assert r.status is Status.WARN
    assert codes(r) == ["starttls.cert-name-mismatch"]
    assert "MTA-STS" in r.findings[0].message
    h = r.detail["hosts"][0]
    assert h["starttls"] is True and h["cert_valid"] is False
    assert h["cert_names"] == ["other.example.net"] and h["tls_version"]


def test_expired_certificate_is_a_warning(dns_server: DnsTestServer, smtp, ca: CertAuthority) -> None:  # type: ignore[no-untyped-def]
    port = smtp(expired=True)
    dns_server.add_zone("example.com", ZONE)
    r = check(dns_server, smtp_port=port, ca_file=str(ca.ca_file))
    assert r.status is Status.WARN
    assert codes(r) == ["starttls.cert-expired"]
    assert r.detail["hosts"][0]["cert_valid"] is False


def test_untrusted_certificate_is_a_warning(dns_server: DnsTestServer, smtp) -> None:  # type: ignore[no-untyped-def]
    port = smtp()
    dns_server.add_zone("example.com", ZONE)
    r = check(dns_server, smtp_port=port)  # the test CA is not trusted
    assert r.status is Status.WARN
    assert codes(r) == ["starttls.cert-untrusted"]


def test_closed_port_is_couldnt_check_from_this_network(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("example.com", ZONE)
    r = check(dns_server, smtp_port=free_port())
    assert r.status is Status.ERROR
    assert codes(r) == ["starttls.blocked"]
    assert r.detail["blocked"] is True
    assert r.detail["hosts"][0]["starttls"] is None
    assert "this network" in r.findings[0].message and "port 25" in r.findings[0].message


def test_silent_server_never_hangs(dns_server: DnsTestServer) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        dns_server.add_zone("example.com", ZONE)
        began = time.monotonic()
        r = check(dns_server, smtp_port=listener.getsockname()[1], connect_timeout=0.5)
        assert time.monotonic() - began < 5
        assert r.status is Status.ERROR
        assert codes(r) == ["starttls.no-answer"]
        assert r.detail["blocked"] is False
    finally:
        stop.set()
        t.join(2)
        for s in held:
            s.close()
        listener.close()


def test_one_of_two_hosts_unreachable(dns_server: DnsTestServer, smtp, ca: CertAuthority) -> None:  # type: ignore[no-untyped-def]
    port = smtp()
    dns_server.add_zone("example.com", ZONE + "@ MX 20 mx2.example.com.\nmx2 A 127.0.0.2\n")
    r = check(dns_server, smtp_port=port, ca_file=str(ca.ca_file))
    assert r.detail["blocked"] is False
    assert codes(r) == ["starttls.cert-expiring", "starttls.connect-failed"]
    assert r.status is Status.ERROR
    assert [h["host"] for h in r.detail["hosts"]] == ["mx.example.com", "mx2.example.com"]
    assert r.detail["hosts"][0]["cert_valid"] is True


def test_null_mx_and_no_mx_are_information(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("example.com", "@ MX 0 .\n")
    r = check(dns_server)
    assert r.status is Status.INFO and codes(r) == ["starttls.null-mx"] and r.detail["hosts"] == []
    dns_server.replace_zone("example.com", '@ TXT "v=spf1 -all"\n')
    r = check(dns_server)
    assert r.status is Status.INFO and codes(r) == ["starttls.no-mx"]


def test_mx_lookup_timeout_is_couldnt_check(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("example.com", ZONE)
    dns_server.timeout_names.add("example.com/MX")
    r = check(dns_server, timeout=0.5)
    assert r.status is Status.ERROR and codes(r) == ["starttls.lookup-failed"]
    assert r.findings[0].severity is Severity.UNKNOWN


def test_mx_without_address(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("example.com", "@ MX 10 gone.example.com.\n")
    r = check(dns_server, smtp_port=free_port())
    assert codes(r) == ["starttls.no-address"] and r.status is Status.WARN
    assert r.detail["blocked"] is False


class Scripted:
    """A tiny SMTP server in a thread that plays a script: the banner, then a reply per command."""

    def __init__(self, banner: bytes, replies: dict[bytes, bytes], after_starttls: bytes = b"") -> None:
        self.banner, self.replies, self.after = banner, replies, after_starttls
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    conn.sendall(self.banner)
                    buf = b""
                    while True:
                        data = conn.recv(1024)
                        if not data:
                            break
                        buf += data
                        while b"\r\n" in buf:
                            line, buf = buf.split(b"\r\n", 1)
                            verb = line.split(b" ", 1)[0].upper()
                            conn.sendall(self.replies.get(verb, b"502 no\r\n"))
                            if verb == b"STARTTLS" and self.after:
                                conn.sendall(self.after)
                                raise OSError("done")
                            if verb == b"QUIT":
                                raise OSError("done")
                except OSError:
                    pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


def test_server_that_rejects_us_is_couldnt_check(dns_server: DnsTestServer) -> None:
    srv = Scripted(b"554 5.7.1 no service for your network\r\n", {b"QUIT": b"221 bye\r\n"})
    try:
        dns_server.add_zone("example.com", ZONE)
        r = check(dns_server, smtp_port=srv.port)
    finally:
        srv.close()
    assert r.status is Status.ERROR and codes(r) == ["starttls.rejected"]
    assert r.detail["hosts"][0]["banner"] == "5.7.1 no service for your network"
    assert r.detail["blocked"] is False


def test_broken_tls_after_starttls_fails(dns_server: DnsTestServer) -> None:
    srv = Scripted(b"220 mx.example.com ESMTP\r\n",
                   {b"EHLO": b"250-mx.example.com\r\n250 STARTTLS\r\n", b"STARTTLS": b"220 go ahead\r\n"},
                   after_starttls=b"this is not TLS at all\r\n" * 4)
    try:
        dns_server.add_zone("example.com", ZONE)
        r = check(dns_server, smtp_port=srv.port)
    finally:
        srv.close()
    assert r.status is Status.FAIL and codes(r) == ["starttls.handshake-failed"]
    assert r.detail["hosts"][0]["starttls"] is True and r.detail["hosts"][0]["tls_version"] is None


def test_only_five_hosts_are_tested(dns_server: DnsTestServer, smtp, ca: CertAuthority) -> None:  # type: ignore[no-untyped-def]
    names = [f"mx{i}.example.com" for i in range(1, 7)]
    port = smtp(names)
    dns_server.add_zone("example.com", "".join(f"@ MX {i * 10} {n}.\n{n.split('.')[0]} A 127.0.0.1\n"
                                                for i, n in enumerate(names, 1)))
    r = check(dns_server, smtp_port=port, ca_file=str(ca.ca_file))
    assert [h["host"] for h in r.detail["hosts"]] == names[:5]
    assert all(h["cert_valid"] for h in r.detail["hosts"])
    assert "starttls.more-hosts" in codes(r) and r.status is Status.PASS
    # a verdict over part of the servers says so (issue 13 #14), not "All 5 mail servers"
    assert r.summary == "The 5 mail servers we tested (of 6) offer encryption with a valid certificate."


# -- parsers --------------------------------------------------------------------------------------


def test_reply_lines_and_keywords() -> None:
    assert starttls.parse_reply_line(b"250-STARTTLS\r\n") == (250, False, "STARTTLS")
    assert starttls.parse_reply_line("220 mx ready") == (220, True, "mx ready")
    assert starttls.parse_reply_line("250") == (250, True, "")
    assert starttls.ehlo_keywords(["mx hello", "SIZE 1000", "starttls", "8BITMIME"]) == {"SIZE", "STARTTLS",
                                                                                       "8BITMIME"}
    for bad in ["", "25", "abc", "250x", "650 no", "２５０ x"]:
        with pytest.raises(starttls.SmtpReplyError):
            starttls.parse_reply_line(bad)


def test_name_matching() -> None:
    assert starttls.name_matches("mx.example.com", ["*.example.com"])
    assert not starttls.name_matches("a.mx.example.com", ["*.example.com"])
    assert starttls.name_matches("MX.example.com.", ["mx.example.com"])
    assert not starttls.name_matches("mx.example.com", ["example.com"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=80), st.text(max_size=80)))
def test_reply_parser_never_raises_anything_else(line: bytes | str) -> None:
    try:
        code, _, text = starttls.parse_reply_line(line)
    except starttls.SmtpReplyError:
        return
    assert 200 <= code <= 599 and isinstance(text, str)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=8), st.text(max_size=30), st.lists(st.text(max_size=30), max_size=4))
def test_keywords_and_names_never_raise(texts: list[str], host: str, names: list[str]) -> None:
    assert isinstance(starttls.ehlo_keywords(texts), set)
    assert isinstance(starttls.name_matches(host, names), bool)
