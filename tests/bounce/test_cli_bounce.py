"""``inboxready bounce``: JSON with exactly the issue's keys, text an admin can act on, exit codes as elsewhere,
and the bounce's outside text never acting on the terminal."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from inboxready.app.cli import main
from inboxready.core.bounce import JSON_KEYS
from inboxready.core.dns.server import DnsTestServer

from .dsnmaker import IP, google_dsn, postfix_dsn, returned_headers
from .test_act import GMAIL, UNAUTH, serve


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_json_output_and_exit_code(dns_server: DnsTestServer, tmp_path: Path) -> None:
    serve(dns_server)
    f = tmp_path / "bounce.eml"
    f.write_bytes(postfix_dsn(UNAUTH.format(ip=IP), recipient=GMAIL[0], remote_mta=GMAIL[1]))
    code, out, err = cli("bounce", str(f), "--json", "-n", dns_server.address, "--timeout", "1.5")
    data = json.loads(out)
    assert code == 1 and tuple(data) == JSON_KEYS
    assert (data["status"], data["provider"], data["category"], data["sending_ip"]) == (
        "5.7.26", "google", "authentication", IP)
    assert any(x["value"] == "v=spf1 mx ip4:192.0.2.55 -all" for x in data["fixes"])


def test_text_output_names_the_failure_the_words_and_the_record(dns_server: DnsTestServer, tmp_path: Path) -> None:
    serve(dns_server)
    f = tmp_path / "bounce.eml"
    f.write_bytes(postfix_dsn(UNAUTH.format(ip=IP), recipient=GMAIL[0], remote_mta=GMAIL[1]))
    code, out, _ = cli("bounce", str(f), "-n", dns_server.address, "--timeout", "1.5", "--skip", "rdns")
    assert code == 1
    assert out.splitlines()[0].endswith("Permanent failure (550 5.7.26) from Gmail / Google Workspace "
                                        "(gmail-smtp-in.l.google.com) for alice@gmail.com.")
    assert "The receiver said: “This mail has been blocked because the sender is unauthenticated." in out
    assert "Sending server: 192.0.2.55 (from the receiver's words)" in out
    assert "Replace with: TXT record at shop.example" in out and "v=spf1 mx ip4:192.0.2.55 -all" in out
    assert "Reverse DNS" not in out  # skipped
    assert "Rule google-unauthenticated (https://support.google.com/a/answer/3726730, checked 2026-12-07)" in out


def test_mailbox_bounce_from_stdin(dns_server: DnsTestServer, monkeypatch: pytest.MonkeyPatch) -> None:
    serve(dns_server)
    raw = google_dsn("550 5.1.1 <dave@receiver.example>: Recipient address rejected: User unknown",
                     recipient="dave@receiver.example")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    code, out, _ = cli("bounce", "-", "-n", dns_server.address)
    assert code == 0
    assert "About: the recipient's address or mailbox" in out and "No DNS record fixes this" in out
    assert "Checked from this network" not in out


def test_nothing_readable_and_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "note.txt"
    f.write_text("my mail didn't arrive, help")
    code, out, _ = cli("bounce", str(f), "-n", "127.0.0.1:9")
    assert code == 2 and "found no delivery failure" in out
    assert cli("bounce", str(tmp_path / "missing.eml"))[0] == 2
    code, _, err = cli("bounce", str(f), "--skip", "nonsense")
    assert code == 2 and "unknown check" in err + capsys.readouterr().err
    code, _, err = cli("bounce", str(f), "--domain", "not a domain")
    assert code == 2 and "--domain" in err


def test_pasted_text_with_domain(dns_server: DnsTestServer, tmp_path: Path) -> None:
    serve(dns_server)
    f = tmp_path / "error.txt"
    f.write_text("550-5.7.26 This mail has been blocked because the sender is\n550-5.7.26 unauthenticated. Gmail "
                 "requires all senders to authenticate with\n550 5.7.26 either SPF or DKIM. - gsmtp\n")
    code, out, _ = cli("bounce", str(f), "-n", dns_server.address, "--json")
    assert code == 2 and json.loads(out)["checks"] == {}
    code, out, _ = cli("bounce", str(f), "-n", dns_server.address, "--json", "--domain", "shop.example")
    data = json.loads(out)
    assert code == 1 and data["from_domain"] == "shop.example" and set(data["checks"]) == {"spf", "dkim", "dmarc"}


def test_hostile_text_never_reaches_the_terminal_raw(dns_server: DnsTestServer, tmp_path: Path) -> None:
    serve(dns_server)
    evil = "\x1b[2J\x1b[32mAll good\x1b[0m\r\u202eevil"
    hb = returned_headers(extra=f"X-Evil: {evil}\r\n").replace("Subject: Spring sale", f"Subject: {evil}")
    diag = f"550 5.1.1 <dave@receiver.example>: {evil} User unknown"
    f = tmp_path / "evil.eml"
    f.write_bytes(postfix_dsn(diag, recipient="dave@receiver.example", remote_mta="mx.receiver.example", headers=hb))
    code, out, _ = cli("bounce", str(f), "-n", dns_server.address)
    assert code == 0 and "\x1b" not in out and "\u202e" not in out and "\r" not in out
    assert "\\x1b[2J" in out
    code, out, _ = cli("bounce", str(f), "-n", dns_server.address, "--json")
    assert "\x1b" not in out and json.loads(out)["category"] == "mailbox"


def test_a_bounce_carrying_a_hostile_message_through_the_cli(dns_server: DnsTestServer, tmp_path: Path) -> None:
    """10,000 header fields, escape sequences, a bad charset and MIME nested 3,000 deep in the returned message:
    a clear answer, no crash, nothing raw on the terminal."""
    serve(dns_server)
    flood = "".join(f"X-F{i}: \x1b[31mred\x1b[0m\r\n" for i in range(10_000))
    nest = "".join(f'--n{i}\r\nContent-Type: multipart/mixed; boundary="n{i + 1}"\r\n\r\n' for i in range(3000))
    returned = (flood + returned_headers().replace("Content-Type: text/plain; charset=utf-8",
                                                   'Content-Type: multipart/mixed; charset=x-evil; boundary="n0"')
                + "\r\n" + nest + "--n3000\r\nContent-Type: text/plain; charset=x-evil\r\n\r\n\xff\xfe550 5.7.1 fake\r\n")
    f = tmp_path / "hostile.eml"
    f.write_bytes(postfix_dsn(UNAUTH.format(ip=IP), recipient=GMAIL[0], remote_mta=GMAIL[1], returned="message",
                              headers=returned))
    code, out, _ = cli("bounce", str(f), "-n", dns_server.address, "--timeout", "1.5", "--skip", "rdns")
    assert code == 1 and "\x1b" not in out
    assert "5.7.26" in out.splitlines()[0] and "Sent as: shop.example" in out
    code, out, _ = cli("bounce", str(f), "-n", dns_server.address, "--timeout", "1.5", "--json", "--skip", "rdns")
    data = json.loads(out)
    assert data["status"] == "5.7.26" and data["from_domain"] == "shop.example" and data["category"] == "authentication"
