"""Sign in with Microsoft and Google, end to end on loopback: the test authorization server (oauthlib,
PKCE enforced, introspection), Dovecot's oauth2 passdb (XOAUTH2 and OAUTHBEARER) and aiosmtpd taking
XOAUTH2/OAUTHBEARER checked by introspection. The browser step is an HTTP client following the redirect
to the app's loopback listener; the device code is typed in by the test."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from inboxready.core.auth import flows, sasl, tokens
from inboxready.core.auth.config import endpoint_override
from inboxready.core.auth.errors import SIGN_IN_AGAIN
from inboxready.core.mail import imap, smtp
from inboxready.core.mail.roundtrip import roundtrip
from inboxready.core.store.credentials import KEYRING_SERVICE, secret_forms
from inboxready.core.mail.profiles import ProfileStore, ReadProfile, SendProfile

from .conftest import MAILBOX, SENDER, MemoryKeyring, read_profile, send_profile
from .oauth_server import IMAP_SCOPE, OAuthTestServer
from .servers import MailWorld


@pytest.fixture
def oauth(world: MailWorld, memory_keyring: MemoryKeyring) -> Iterator[OAuthTestServer]:
    srv: OAuthTestServer = world.extra["oauth"]
    srv.reset()
    tokens.forget_all_access_tokens()
    with endpoint_override("microsoft", **srv.microsoft()), endpoint_override("google", **srv.google()):
        yield srv
    tokens.forget_all_access_tokens()
    srv.reset()


def opener(srv: OAuthTestServer, seen: list[Any]) -> Any:
    """The system browser: opens the URL in another thread (the app's loop keeps serving the redirect)."""
    def open_url(url: str) -> None:
        threading.Thread(target=lambda: seen.append(srv.browser(url)), daemon=True).start()
    return open_url


def oauth_read(w: MailWorld, provider: str = "microsoft", **kw: Any) -> ReadProfile:
    return read_profile(w, auth="oauth", oauth_provider=provider, **kw)


def oauth_send(w: MailWorld, provider: str = "microsoft", **kw: Any) -> SendProfile:
    return send_profile(w, auth="oauth", oauth_provider=provider, **kw)


def sign_in(srv: OAuthTestServer, profile: Any) -> Any:
    seen: list[Any] = []
    result = asyncio.run(flows.sign_in(profile, open_url=opener(srv, seen), timeout=20))
    return result


def stored(kr: MemoryKeyring) -> dict[str, str]:
    return {user: value for (service, user), value in kr.store.items() if service == KEYRING_SERVICE}


# -- the round trip -----------------------------------------------------------------------------------

def test_microsoft_sign_in_then_round_trip(world: MailWorld, oauth: OAuthTestServer,
                                           memory_keyring: MemoryKeyring) -> None:
    send, read = oauth_send(world), oauth_read(world)
    seen: list[Any] = []
    r = asyncio.run(flows.sign_in(send, open_url=opener(oauth, seen), timeout=20))
    assert r.ok, r
    assert seen and seen[0].status_code == 200 and b"received your sign-in" in seen[0].content  # the browser tab
    assert sign_in(oauth, read).ok
    # PKCE was used and enforced: every code exchange carried a verifier the server checked
    assert oauth.state.log.count(f"POST /{'contoso.test'}/oauth2/v2.0/token") >= 2
    result = asyncio.run(roundtrip(send, read, timeout=30, trusted_authserv_ids=["mx.inbox.test"]))
    assert result.status == "verified", result.summary
    assert result.folder_role == "inbox"
    assert ("OAUTHBEARER", SENDER) in world.smtp.oauth_logins  # the standard mechanism, where offered
    assert "oauth2" in world.dovecot.log or True  # (Dovecot logs only failures at this level)
    # the keyring holds exactly one entry per account: the refresh token, nothing else
    kr = stored(memory_keyring)
    assert sorted(k.rsplit(":", 1)[1] for k in kr) == sorted([MAILBOX, SENDER])
    live = {t for t, i in oauth.state.refresh.items() if not i.revoked}
    for value in kr.values():
        assert value.split(":", 3)[3] in live
        assert value.split(":", 3)[3] not in oauth.state.access


def test_google_round_trip_with_xoauth2(world: MailWorld, oauth: OAuthTestServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sasl, "PREFERRED", ("XOAUTH2",))
    monkeypatch.setattr(sasl.choose, "__defaults__", (("XOAUTH2",),))
    send, read = oauth_send(world, "google"), oauth_read(world, "google")
    assert sign_in(oauth, send).ok and sign_in(oauth, read).ok
    result = asyncio.run(roundtrip(send, read, timeout=30, trusted_authserv_ids=["mx.inbox.test"]))
    assert result.status == "verified", result.summary
    assert ("XOAUTH2", SENDER) in world.smtp.oauth_logins
    r = asyncio.run(imap.check_connection(read))
    assert r.ok and "Google sign-in" in r.message


def test_dovecot_checks_tokens_by_introspection(world: MailWorld, oauth: OAuthTestServer) -> None:
    read = oauth_read(world)
    assert sign_in(oauth, read).ok
    before = oauth.state.log.count("POST /introspect")
    r = asyncio.run(imap.check_connection(read))
    assert r.ok, r
    assert oauth.state.log.count("POST /introspect") > before  # Dovecot asked the authorization server


# -- renewing -----------------------------------------------------------------------------------------

def test_token_renewed_before_expiry_and_rotated_refresh_token_kept(world: MailWorld, oauth: OAuthTestServer,
                                                                    memory_keyring: MemoryKeyring) -> None:
    read = oauth_read(world)
    oauth.access_lifetime = 120  # less than the renewal margin: the first use renews it
    assert sign_in(oauth, read).ok
    first = dict(stored(memory_keyring))
    token, fresh = asyncio.run(flows.access_token(read))
    assert fresh  # renewed before it expired, without a refusal from the mail server first
    assert stored(memory_keyring) != first  # Microsoft's rotated refresh token replaced the old one
    old = next(iter(first.values())).split(":", 3)[3]
    assert oauth.state.refresh[old].revoked
    assert asyncio.run(imap.check_connection(read)).ok


def test_token_refused_after_expiry_is_renewed_once(world: MailWorld, oauth: OAuthTestServer) -> None:
    send, read = oauth_send(world), oauth_read(world)
    assert sign_in(oauth, send).ok and sign_in(oauth, read).ok
    oauth.expire_access_tokens()  # the server says they expired; our memory still thinks they are good
    tokens_before = len(oauth.state.access)
    assert asyncio.run(imap.check_connection(read)).ok
    assert asyncio.run(smtp.check_connection(send)).ok
    assert len(oauth.state.access) == tokens_before + 2  # one renewal each, then it worked


def test_revoked_refresh_token_says_sign_in_again(world: MailWorld, oauth: OAuthTestServer) -> None:
    send, read = oauth_send(world), oauth_read(world)
    assert sign_in(oauth, send).ok and sign_in(oauth, read).ok
    oauth.revoke_refresh_tokens()
    oauth.expire_access_tokens()
    tokens.forget_all_access_tokens()  # a new run of the app: only the keyring's refresh token is left
    for r in (asyncio.run(imap.check_connection(read)), asyncio.run(smtp.check_connection(send))):
        assert not r.ok and r.code == SIGN_IN_AGAIN
        assert "Sign in again with Microsoft" in r.message and "user name or password" not in r.message
        assert "Traceback" not in r.message + r.detail
    result = asyncio.run(roundtrip(send, read, timeout=10))
    assert result.status == "read-failed" and result.error is not None and result.error.code == SIGN_IN_AGAIN


def test_wrong_scope_at_sign_in_and_at_the_server(world: MailWorld, oauth: OAuthTestServer) -> None:
    # the person agrees to reading only: a sending profile can't use that sign-in, and says so at once
    oauth.grant_only = [IMAP_SCOPE]
    r = sign_in(oauth, oauth_send(world))
    assert not r.ok and r.code == "conn.oauth-scope" and "send mail" in r.message
    # a reading profile of the same account signs in (with a note); the SMTP server then refuses it
    read = oauth_read(world, username=SENDER, address=SENDER)
    r = sign_in(oauth, read)
    assert r.ok and "send mail" in r.message
    result = asyncio.run(smtp.check_connection(oauth_send(world)))  # same account, same stored sign-in
    assert not result.ok and result.code == "conn.oauth-scope", result
    assert "insufficient_scope" in result.detail


def test_consent_and_wrong_account_are_plain(world: MailWorld, oauth: OAuthTestServer) -> None:
    oauth.authorize_error = ("invalid_client", "AADSTS65001: The user or administrator has not consented to use "
                                               "the application with ID 'x'.")
    r = sign_in(oauth, oauth_read(world))
    assert r.code == "conn.oauth-consent" and "admin" in r.message
    oauth.authorize_error = None
    oauth.login_as = "bob@inbox.test"
    r = sign_in(oauth, oauth_read(world))
    assert r.code == "conn.oauth-wrong-account" and "bob@inbox.test" in r.message and MAILBOX in r.message


# -- the keyring --------------------------------------------------------------------------------------

def test_large_refresh_token_split_to_fit_windows(world: MailWorld, oauth: OAuthTestServer,
                                                  memory_keyring: MemoryKeyring) -> None:
    oauth.refresh_size = 3000  # larger than one Windows Credential Manager secret (2,560 bytes)
    read = oauth_read(world)
    assert sign_in(oauth, read).ok
    kr = stored(memory_keyring)
    assert len(kr) == 3
    for value in kr.values():
        assert len(value.encode("utf-16-le")) <= 2560  # what keyring writes on Windows
    token = tokens.load_refresh_token(tokens.key_for(read))
    assert token is not None and len(token.reveal()) == 3000 and token.reveal() in oauth.state.refresh
    tokens.forget_all_access_tokens()
    assert asyncio.run(imap.check_connection(read)).ok  # the reassembled token renews
    assert flows.sign_out(read)
    assert stored(memory_keyring) == {}


def test_split_token_limits_and_damage(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(tokens.TokenTooLarge, match="keyring"):
        tokens.split_token("x" * (tokens.MAX_TOKEN + 1))
    tokens.store_refresh_token("k", "a" * 2500)
    assert tokens.load_refresh_token("k").reveal() == "a" * 2500  # type: ignore[union-attr]
    memory_keyring.store[(KEYRING_SERVICE, "k#1")] = "b" * 1000  # a part from another token
    assert tokens.load_refresh_token("k") is None  # read as "not signed in", never a wrong token
    tokens.store_refresh_token("k", "short-token")  # a shorter token leaves no stale parts
    assert set(stored(memory_keyring)) == {"k"}


def test_keyring_unavailable_keeps_nothing(world: MailWorld, oauth: OAuthTestServer, no_keyring: None,
                                           private_home: Path) -> None:
    r = sign_in(oauth, oauth_read(world))
    assert not r.ok and r.code == "conn.keyring-unavailable" and "keyring" in r.message
    leaks = _files_with_tokens(private_home, oauth)
    assert not leaks


# -- the command line ------------------------------------------------------------------------------------

class _Err(io.StringIO):
    """stderr that a test can watch while the command runs in another thread."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def write(self, s: str) -> int:
        with self.lock:
            return super().write(s)

    def text(self) -> str:
        with self.lock:
            return self.getvalue()


def _run_cli(argv: list[str]) -> tuple[int, str, str, Any]:
    from inboxready.app.cli import main

    out, err = io.StringIO(), _Err()
    box: dict[str, int] = {}
    t = threading.Thread(target=lambda: box.setdefault("rc", main(argv, out, err)), daemon=True)
    t.start()
    return box, out, err, t  # type: ignore[return-value]


def _wait_for(pred: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_cli_device_code_then_roundtrip_and_no_token_anywhere(world: MailWorld, oauth: OAuthTestServer,
                                                              private_home: Path, capfd: pytest.CaptureFixture[str],
                                                              memory_keyring: MemoryKeyring) -> None:
    import re

    outputs = []
    for argv, user in ((["profile", "add", "mbx", "--imap", f"127.0.0.1:{world.dovecot.imaps_port}", "--oauth",
                         "microsoft", "--user", MAILBOX, "--ca-file", str(world.ca.ca_file), "--security", "ssl", "--receiver",
                         "mx.inbox.test"], MAILBOX),
                       (["profile", "add", "shop", "--smtp", f"localhost:{world.smtp.port}", "--oauth", "microsoft",
                         "--user", SENDER, "--from", SENDER, "--ca-file", str(world.ca.ca_file)], SENDER)):
        box, out, err, t = _run_cli(argv)
        code = _wait_for(lambda: re.search(r"enter the code ([A-Z]{8})", err.text()))
        assert "/device" in err.text()
        assert oauth.approve_device(code.group(1), user)  # the person types the code on the provider's page
        t.join(30)
        assert box["rc"] == 0, err.text()
        assert "Signed in with Microsoft as" in out.getvalue()
        outputs += [out.getvalue(), err.text()]
    box, out, err, t = _run_cli(["profile", "test", "mbx", "--json"])
    t.join(60)
    assert box["rc"] == 0, out.getvalue() + err.text()
    outputs += [out.getvalue(), err.text()]
    box, out, err, t = _run_cli(["roundtrip", "--send-profile", "shop", "--read-profile", "mbx", "--timeout", "30",
                                 "--json", "-n", world.dns_address])
    t.join(90)
    assert box["rc"] in (0, 1), out.getvalue() + err.text()
    assert json.loads(out.getvalue())["roundtrip"]["status"] == "verified"
    outputs += [out.getvalue(), err.text()]
    box, out, err, t = _run_cli(["profile", "list", "--json"])
    t.join(10)
    outputs += [out.getvalue(), err.text()]
    captured = capfd.readouterr()
    outputs += [captured.out, captured.err]
    everything = "\n".join(outputs)
    assert oauth.state.issued
    for token in oauth.state.issued:
        for form in secret_forms(token)[:12]:
            assert form not in everything
    assert not _files_with_tokens(private_home, oauth)
    # sign-out removes the stored sign-in of the account (both profiles of it would be signed out)
    box, out, err, t = _run_cli(["profile", "signout", "mbx"])
    t.join(10)
    assert box["rc"] == 0 and "Signed out" in out.getvalue()
    assert all(not k.endswith(MAILBOX) for k in stored(memory_keyring))


def test_cli_google_prints_the_address_and_test_says_sign_in_again(world: MailWorld, oauth: OAuthTestServer) -> None:
    import re

    box, out, err, t = _run_cli(["profile", "add", "gm", "--imap", f"127.0.0.1:{world.dovecot.imaps_port}", "--oauth",
                                 "google", "--user", MAILBOX, "--ca-file", str(world.ca.ca_file), "--security", "ssl",
                                 "--no-browser"])
    url = _wait_for(lambda: re.search(r"(https://127\.0\.0\.1:\d+/o/oauth2/auth\?\S+)", err.text()))
    assert "code_challenge=" in url.group(1) and "code_challenge_method=S256" in url.group(1)
    oauth.browser(url.group(1))
    t.join(30)
    assert box["rc"] == 0, err.text()
    oauth.revoke_refresh_tokens()
    oauth.expire_access_tokens()
    tokens.forget_all_access_tokens()
    box, out, err, t = _run_cli(["profile", "test", "gm"])
    t.join(30)
    assert box["rc"] == 1
    assert "Sign in again with Google" in out.getvalue() and "inboxready profile signin gm" in out.getvalue()
    assert "Traceback" not in out.getvalue() + err.text()


def _files_with_tokens(home: Path, srv: OAuthTestServer) -> list[str]:
    bad = []
    for path in home.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for token in srv.state.issued:
            if token.encode() in data or base64.b64encode(token.encode()) in data:
                bad.append(str(path))
    return bad


def test_profiles_file_has_no_token_and_remove_signs_out(world: MailWorld, oauth: OAuthTestServer,
                                                         memory_keyring: MemoryKeyring, private_home: Path) -> None:
    store = ProfileStore()
    read, send = oauth_read(world), oauth_send(world, username=MAILBOX, from_addr=MAILBOX)
    store.put(read)
    store.put(send)
    assert sign_in(oauth, read).ok
    text = (store.path).read_text()
    assert '"auth": "oauth"' in text and '"oauth_provider": "microsoft"' in text
    assert not _files_with_tokens(private_home, oauth)
    store.remove(read)  # the sending profile of the same account still uses the sign-in
    assert stored(memory_keyring)
    store.remove(send)
    assert stored(memory_keyring) == {}


def test_report_mailbox_watch_signs_in_too(world: MailWorld, oauth: OAuthTestServer, tmp_path: Path) -> None:
    from inboxready.core.reports.report_mailbox import fetch_reports
    from inboxready.core.reports.store import ReportStore

    read = oauth_read(world)
    assert sign_in(oauth, read).ok
    store = ReportStore(tmp_path / "reports.sqlite3")
    out = fetch_reports(store, read, io_timeout=10)
    assert out.ok, out.error
    oauth.revoke_refresh_tokens()
    oauth.expire_access_tokens()
    tokens.forget_all_access_tokens()
    out = fetch_reports(store, read, io_timeout=10)
    assert not out.ok and out.error is not None and out.error.code == SIGN_IN_AGAIN
