"""Fixtures for the transport tests: an in-memory keyring, a private config folder, and the mail world
(test CA, Dovecot, the receiving SMTP server and the loopback DNS server), started once per session.

Dovecot must be installed (Debian: ``apt-get install dovecot-imapd``). Without it the tests that need it
are skipped with a message on a developer machine, and FAIL under CI (``CI=true``), so CI can never
skip them silently.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import keyring
import keyring.backend
import keyring.errors
import pytest

from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import quote_txt, split_txt
from inboxready.core.mail.profiles import ReadProfile, Security, SendProfile

from ..sharedkeyring import new_store
from .oauth_server import OAuthTestServer
from .servers import CertAuthority, Dovecot, MailWorld, ReceivingServer, Scenario, dkim_keypair, dovecot_binary

SENDER = "news@shop.test"
MAILBOX = "alice@inbox.test"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that forgets everything when the test ends."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        # shared with the app tests' worker process when they set INBOXREADY_TEST_KEYRING_FILE
        self.store: dict[tuple[str, str], str] = new_store()

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.store[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError("no such password") from None


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    old = keyring.get_keyring()
    kr = MemoryKeyring()
    keyring.set_keyring(kr)
    try:
        yield kr
    finally:
        keyring.set_keyring(old)


@pytest.fixture
def profile_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INBOXREADY_HOME", str(tmp_path))
    return tmp_path


def require_dovecot() -> None:
    if dovecot_binary() is not None:
        return
    msg = ("Dovecot is not installed, so the round-trip tests against a real IMAP server can't run. Install it "
           "with: apt-get install -y dovecot-imapd")
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(msg + " (CI=true: these tests must not be skipped)")
    pytest.skip(msg)


def shop_zone(dkim_public: str, *, dmarc: str = "v=DMARC1; p=quarantine; rua=mailto:dmarc@shop.test",
              spf: str = "v=spf1 ip4:127.0.0.1 -all") -> str:
    key = " ".join(quote_txt(s) for s in split_txt(f"v=DKIM1; k=rsa; p={dkim_public}"))
    return (f'@               IN TXT {quote_txt(spf)}\n'
            f's1._domainkey   IN TXT {key}\n'
            f'_dmarc          IN TXT {quote_txt(dmarc)}\n')


ESP_ZONE = '@ IN TXT "v=spf1 ip4:127.0.0.1 -all"\n'


@pytest.fixture(scope="session")
def mail_world_session() -> Iterator[MailWorld]:
    require_dovecot()
    folder = Path(tempfile.mkdtemp(prefix="ir-mailworld-"))
    ca = CertAuthority(folder)
    cert, key = ca.issue("server", ["localhost"], ["127.0.0.1"])
    dns_server = DnsTestServer()
    dns_server.start()
    # the sign-in provider (Microsoft's and Google's roles) that Dovecot and the SMTP server ask about tokens
    oauth = OAuthTestServer(*ca.issue("oauth", ["localhost"], ["127.0.0.1"]), ca.ca_file).start()
    intro = oauth.introspection_url.replace("https://", f"https://dovecot:{oauth.dovecot_secret}@")
    dovecot = Dovecot(cert, key, user=MAILBOX, oauth=(intro, ca.ca_file))
    smtp = None
    try:
        dovecot.start()
        pem, public = dkim_keypair()
        dns_server.add_zone("shop.test", shop_zone(public))
        dns_server.add_zone("esp.test", ESP_ZONE)
        dns_server.add_origin("inbox.test")
        # the sending server (127.0.0.1) has reverse DNS that points back, as Google and Yahoo require
        dns_server.add_zone("127.in-addr.arpa", "1.0.0 IN PTR smtp.esp.test.\n")
        dns_server.add_records("smtp.esp.test", "A", ["127.0.0.1"])
        ctx = ca.server_context(cert, key)
        smtp = ReceivingServer(dovecot, dns_server.address, ctx, username=SENDER, dkim_key=pem)
        smtp.oauth = (oauth.introspection_url, "smtp", oauth.smtp_secret, str(ca.ca_file))
        smtp.start()
        world = MailWorld(ca=ca, dovecot=dovecot, smtp=smtp, dns_address=dns_server.address, dkim_public=public,
                          folder=folder, server_ctx=ctx, extra={"dns_server": dns_server, "oauth": oauth})
        yield world
    finally:
        if smtp is not None:
            smtp.stop()
        dovecot.stop()
        oauth.stop()
        dns_server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def world(mail_world_session: MailWorld) -> Iterator[MailWorld]:
    """The session's mail world with a fresh scenario and the default DNS zones."""
    w = mail_world_session
    w.smtp.scenario = Scenario()
    dns_server: DnsTestServer = w.extra["dns_server"]
    dns_server.replace_zone("shop.test", shop_zone(w.dkim_public))
    dns_server.timeout_names.clear()
    yield w
    w.smtp.scenario = Scenario()


def send_profile(w: MailWorld, **kw: Any) -> SendProfile:
    args: dict[str, Any] = dict(name="test-send", host="localhost", port=w.smtp.port, security=Security.STARTTLS,
                                username=SENDER, from_addr=SENDER, from_name="Shop", ca_file=str(w.ca.ca_file))
    args.update(kw)
    return SendProfile(**args)


def read_profile(w: MailWorld, **kw: Any) -> ReadProfile:
    args: dict[str, Any] = dict(name="test-read", host="127.0.0.1", port=w.dovecot.imaps_port, security=Security.SSL,
                                username=MAILBOX, address=MAILBOX, ca_file=str(w.ca.ca_file),
                                authserv_ids=["inbox.test"])
    args.update(kw)
    return ReadProfile(**args)
