"""'Test connection' and failures in plain words, against real servers on loopback: wrong password, a
provider asking for an app password, certificates that can't be trusted, closed and silent ports,
encryption settings that don't match the port, relaying refused, a server dropping the connection."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Iterator

import pytest

from inboxready.core.mail import imap, smtp
from inboxready.core.mail.compose import compose_test_message
from inboxready.core.mail.roundtrip import check_profile
from inboxready.core.store.credentials import set_password
from inboxready.core.mail.profiles import ConnectionResult, Security

from ..conftest import run
from .conftest import MAILBOX, SENDER, MemoryKeyring, read_profile, send_profile
from .servers import FlakyImapServer, MailWorld, Scenario, SilentServer, free_port, starttls_smtp

GMAIL_534 = ("534-5.7.9 Application-specific password required. For more information, go to\r\n"
             "534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor a1-20020a170902.12 - gsmtp")
M365_535 = ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit "
            "https://aka.ms/smtp_auth_disabled for more information. [AM0PR02CA0001.eurprd02.prod.outlook.com]")


def check(profile: object, password: str | None = None, timeout: float = 5.0) -> ConnectionResult:
    return run(check_profile(profile, password=password, timeout=timeout))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def other_certs(mail_world_session: MailWorld) -> Iterator[dict[str, Path]]:
    ca = mail_world_session.ca
    cert, key = ca.issue("other", ["smtp.other.test"], [])
    old_cert, old_key = ca.issue("expired", ["localhost"], ["127.0.0.1"], expired=True)
    yield {"cert": cert, "key": key, "expired_cert": old_cert, "expired_key": old_key}


# -- SMTP -------------------------------------------------------------------------------------------

def test_smtp_ok_starttls_and_implicit_tls(world: MailWorld) -> None:
    r = check(send_profile(world), world.smtp.password)
    assert r.ok and r.code == "conn.ok" and "Signed in to localhost as news@shop.test" in r.message
    assert "TLSv1." in r.message
    r = check(send_profile(world, port=world.smtp.ssl_port, security=Security.SSL), world.smtp.password)
    assert r.ok, r


def test_smtp_wrong_password_costs_one_attempt(world: MailWorld) -> None:
    before = world.smtp.auth_attempts
    r = check(send_profile(world), "wrong-password")
    assert not r.ok and r.code == "conn.wrong-password" and r.stage == "auth"
    assert "refused the user name or password for news@shop.test" in r.message
    assert r.server_reply.startswith("535")
    assert world.smtp.auth_attempts == before + 1
    assert "wrong-password" not in r.message + r.detail + r.server_reply


def test_smtp_gmail_app_password_needed(world: MailWorld) -> None:
    world.smtp.scenario = Scenario(auth_reply=GMAIL_534)
    r = check(send_profile(world, preset="gmail"), world.smtp.password)
    assert r.code == "conn.app-password-needed"
    assert "app password" in r.message and "myaccount.google.com/apppasswords" in r.message


def test_smtp_microsoft_smtp_auth_disabled(world: MailWorld) -> None:
    world.smtp.scenario = Scenario(auth_reply=M365_535)
    r = check(send_profile(world, preset="microsoft365"), world.smtp.password)
    assert r.code == "conn.smtp-auth-disabled" and "Authenticated SMTP" in r.message


def test_smtp_untrusted_certificate(world: MailWorld) -> None:
    r = check(send_profile(world, ca_file=""), world.smtp.password)
    assert r.code == "conn.tls-certificate" and r.stage == "tls"
    assert "CA file" in r.message


def test_smtp_certificate_for_another_name(world: MailWorld, other_certs: dict[str, Path]) -> None:
    server = starttls_smtp(world.ca.server_context(other_certs["cert"], other_certs["key"]))
    try:
        r = check(send_profile(world, port=server.port, username=""))
    finally:
        server.stop()
    assert r.code == "conn.tls-hostname" and "different name" in r.message


def test_smtp_expired_certificate(world: MailWorld, other_certs: dict[str, Path]) -> None:
    server = starttls_smtp(world.ca.server_context(other_certs["expired_cert"], other_certs["expired_key"]))
    try:
        r = check(send_profile(world, port=server.port, username=""))
    finally:
        server.stop()
    assert r.code == "conn.tls-certificate" and "expired" in r.message


def test_smtp_port_closed(world: MailWorld) -> None:
    r = check(send_profile(world, port=free_port()), "x")
    assert r.code == "conn.refused" and "closed or blocked" in r.message


def test_smtp_silent_port_times_out() -> None:
    silent = SilentServer()
    try:
        started = time.monotonic()
        from inboxready.core.mail.profiles import SendProfile

        r = check(SendProfile(name="s", host="127.0.0.1", port=silent.port, security=Security.STARTTLS), timeout=0.5)
        assert time.monotonic() - started < 3
    finally:
        silent.close()
    assert r.code == "conn.timeout" and r.stage == "connect" and "0.5 seconds" in r.message


def test_smtp_implicit_tls_against_a_starttls_port(world: MailWorld) -> None:
    r = check(send_profile(world, security=Security.SSL), world.smtp.password)
    assert r.code == "conn.tls-failed" and "SSL/TLS" in r.message


def test_smtp_starttls_against_an_implicit_tls_port(world: MailWorld) -> None:
    r = check(send_profile(world, port=world.smtp.ssl_port), world.smtp.password, timeout=0.5)
    assert r.code == "conn.timeout"  # we wait for a greeting, the server waits for a TLS hello


def test_smtp_no_encryption_where_sign_in_needs_it(world: MailWorld) -> None:
    r = check(send_profile(world, security=Security.NONE), world.smtp.password)
    assert r.code == "conn.auth-not-offered" and "STARTTLS" in r.message


def test_smtp_sign_in_required(world: MailWorld) -> None:
    msg = compose_test_message(SENDER, MAILBOX)
    r = run(smtp.send_message(send_profile(world, username=""), msg))
    assert r.code == "conn.auth-required" and r.server_reply.startswith("530")


def test_smtp_relay_denied(world: MailWorld) -> None:
    msg = compose_test_message(SENDER, "someone@elsewhere.test")
    r = run(smtp.send_message(send_profile(world, port=world.smtp.mx_port, username=""), msg))
    assert r.code == "conn.relay-denied" and "someone@elsewhere.test" in r.message
    assert "550 5.7.1" in r.server_reply


def test_smtp_unknown_recipient(world: MailWorld) -> None:
    msg = compose_test_message(SENDER, "bob@inbox.test")
    r = run(smtp.send_message(send_profile(world, port=world.smtp.mx_port, username=""), msg))
    assert r.code == "conn.recipient-unknown" and "bob@inbox.test" in r.message


def test_smtp_send_ok_and_server_closing_in_data(world: MailWorld) -> None:
    msg = compose_test_message(SENDER, MAILBOX)
    ok = run(smtp.send_message(send_profile(world), msg, password=world.smtp.password))
    assert ok.ok and ok.server_reply.startswith("250 2.0.0")
    world.smtp.scenario = Scenario(close_in_data=True)
    r = run(smtp.send_message(send_profile(world), compose_test_message(SENDER, MAILBOX), password=world.smtp.password))
    assert r.code == "conn.server-closed" and r.stage == "send"


def test_smtp_cancel_is_prompt() -> None:
    silent = SilentServer()
    from inboxready.core.mail.profiles import SendProfile

    async def main() -> float:
        task = asyncio.ensure_future(smtp.check_connection(
            SendProfile(name="s", host="127.0.0.1", port=silent.port), timeout=30))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started

    try:
        assert run(main()) < 1.0
    finally:
        silent.close()


def test_missing_ca_file(world: MailWorld, tmp_path: Path) -> None:
    r = check(send_profile(world, ca_file=str(tmp_path / "nope.pem")), "x")
    assert r.code == "conn.ca-file" and "nope.pem" in r.message


# -- passwords from the keyring ---------------------------------------------------------------------

def test_password_from_the_keyring(world: MailWorld, memory_keyring: MemoryKeyring) -> None:
    sp, rp = send_profile(world), read_profile(world)
    assert check(sp).code == "conn.no-password"
    assert check(rp).code == "conn.no-password"
    set_password(sp.id, world.smtp.password)
    set_password(rp.id, world.dovecot.password)
    assert check(sp).ok and check(rp).ok


def test_no_keyring_is_said_plainly(world: MailWorld, no_keyring: None) -> None:
    r = check(send_profile(world))
    assert r.code == "conn.keyring-unavailable" and "keyring" in r.message and "keyrings.alt" in r.message
    assert check(read_profile(world)).code == "conn.keyring-unavailable"


# -- IMAP -------------------------------------------------------------------------------------------

def test_imap_ok_names_the_folders(world: MailWorld) -> None:
    r = check(read_profile(world), world.dovecot.password)
    assert r.ok and "INBOX (Inbox) and Junk (Junk (spam))" in r.message and "IDLE" in r.message
    assert r.detail == "folders: INBOX=inbox, Junk=junk"
    r = check(read_profile(world, port=world.dovecot.imap_port, security=Security.STARTTLS), world.dovecot.password)
    assert r.ok and "TLSv1." in r.message


def test_imap_wrong_password(world: MailWorld) -> None:
    r = check(read_profile(world), "wrong-password")
    assert r.code == "conn.wrong-password" and "alice@inbox.test" in r.message
    assert "AUTHENTICATIONFAILED" in r.server_reply and "wrong-password" not in r.detail + r.server_reply


def test_imap_untrusted_certificate(world: MailWorld) -> None:
    r = check(read_profile(world, ca_file=""), world.dovecot.password)
    assert r.code == "conn.tls-certificate" and r.stage == "tls"


def test_imap_certificate_for_another_name(world: MailWorld, other_certs: dict[str, Path]) -> None:
    flaky = FlakyImapServer(world.ca.server_context(other_certs["cert"], other_certs["key"]), "IRX")
    try:
        r = check(read_profile(world, port=flaky.port), "x")
    finally:
        flaky.close()
    assert r.code == "conn.tls-hostname"


def test_imap_without_encryption_is_flagged(world: MailWorld) -> None:
    # Dovecot counts a loopback connection as secure, so it lets us sign in in plain text here
    r = check(read_profile(world, port=world.dovecot.imap_port, security=Security.NONE), world.dovecot.password)
    assert r.ok and "NOT encrypted" in r.message and "no encryption" in r.message


def test_imap_starttls_against_implicit_tls_port(world: MailWorld) -> None:
    r = check(read_profile(world, security=Security.STARTTLS), world.dovecot.password, timeout=0.5)
    assert r.code == "conn.timeout"


def test_imap_port_closed(world: MailWorld) -> None:
    r = check(read_profile(world, port=free_port()), "x")
    assert r.code == "conn.refused"


def test_imap_server_closes_mid_fetch(world: MailWorld) -> None:
    token = "IRFLAKY234567"
    flaky = FlakyImapServer(world.server_ctx, token)
    try:
        res = run(imap.watch(read_profile(world, port=flaky.port), token, password="x", timeout=5))
    finally:
        flaky.close()
    assert flaky.closed_mid_fetch == 1
    assert res.status == "failed" and res.error is not None
    assert res.error.code == "conn.server-closed" and res.error.stage == "watch"
    assert any("No Junk or Spam folder" in n for n in res.notes)


def test_imap_explicit_folders(world: MailWorld) -> None:
    r = check(read_profile(world, folders=["INBOX", "Nope"]), world.dovecot.password)
    assert r.ok and "Nope" in r.message and r.detail == "folders: INBOX=inbox"


def test_smtp_password_with_non_ascii_characters(world: MailWorld) -> None:
    old = world.smtp.password
    world.smtp.password = "pässwörd-" + old  # smtplib alone would fail to encode this
    try:
        r = check(send_profile(world), world.smtp.password)
        assert r.ok, r
        r = check(send_profile(world), "wrong-" + world.smtp.password)
        assert not r.ok and r.code == "conn.wrong-password", r
    finally:
        world.smtp.password = old
