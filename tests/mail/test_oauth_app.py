"""The profile dialog's "Sign in with Microsoft/Google" on the real loopback world: the system browser is
QDesktopServices (replaced by the test's HTTP client that follows the redirect), the wait runs on the
engine's loop while the window stays live, "Sign in again" after a withdrawn sign-in, and sign-out."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from inboxready.core.auth import tokens
from inboxready.core.auth.config import endpoint_override

from .conftest import MAILBOX, MemoryKeyring
from .oauth_server import OAuthTestServer
from .servers import MailWorld


@pytest.fixture
def engine(qtbot: Any) -> Any:
    from inboxready.app.engine import Engine

    e = Engine()
    yield e
    e.shutdown()


def test_dialog_signs_in_tests_and_signs_out(world: MailWorld, memory_keyring: MemoryKeyring, engine: Any,
                                             qtbot: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from PySide6.QtGui import QDesktopServices

    from inboxready.app import profile_dialog
    from inboxready.core.mail.profiles import ProfileStore

    srv: OAuthTestServer = world.extra["oauth"]
    srv.reset()
    tokens.forget_all_access_tokens()
    opened: list[str] = []

    def browser(url: Any) -> bool:  # the system browser: the person signs in and is sent back
        opened.append(url.toString())
        threading.Thread(target=lambda: srv.browser(url.toString()), daemon=True).start()
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(browser))
    with endpoint_override("microsoft", **srv.microsoft()):
        store = ProfileStore(tmp_path / "profiles.json")
        dlg = profile_dialog.ProfileDialog(store, "read", engine=engine)
        qtbot.addWidget(dlg)
        dlg.preset_box.setCurrentIndex(dlg.preset_box.findData("microsoft365"))
        assert dlg.auth_box.currentData() == "microsoft"  # the preset signs in with Microsoft by default
        assert dlg.signin_button.isVisibleTo(dlg) and not dlg.password_field.isVisibleTo(dlg)
        assert dlg.tenant_field.isVisibleTo(dlg) and "admin" in dlg.admin_note.text()
        dlg.name_field.setText("mbx")
        dlg.host_field.setText("127.0.0.1")
        dlg.port_field.setValue(world.dovecot.imaps_port)
        dlg.user_field.setText(MAILBOX)
        dlg.address_field.setText(MAILBOX)
        dlg.original = None
        dlg.sign_in()
        assert dlg.signin_button.text() == "Cancel sign-in"  # the UI thread is free while the browser is open
        qtbot.waitUntil(lambda: dlg.last_signin is not None, timeout=20_000)
        assert opened and opened[0].startswith(srv.base)
        assert dlg.last_signin.ok, dlg.last_signin
        assert dlg.signin_status.text().startswith("✔ Signed in with Microsoft as " + MAILBOX)
        assert dlg.signout_button.isEnabled()
        dlg.grab().save(str(tmp_path / "signed-in.png"))
        # the profile needs the test CA for the loopback Dovecot
        monkeypatch.setattr(dlg, "profile", _with_ca(dlg.profile, str(world.ca.ca_file)))
        dlg.test_connection()
        qtbot.waitUntil(lambda: dlg.last_connection is not None, timeout=20_000)
        assert dlg.last_connection.ok, dlg.last_connection
        # the sign-in is withdrawn at the provider: the test says so and the button offers to sign in again
        srv.revoke_refresh_tokens()
        srv.expire_access_tokens()
        tokens.forget_all_access_tokens()
        dlg.last_connection = None
        dlg.test_connection()
        qtbot.waitUntil(lambda: dlg.last_connection is not None, timeout=20_000)
        assert not dlg.last_connection.ok and "Sign in again" in dlg.test_result.text()
        assert dlg.signin_button.text() == "Sign in again with Microsoft"
        dlg._save()
        assert dlg.saved is not None and dlg.saved.uses_oauth
        assert "refresh" not in (tmp_path / "profiles.json").read_text().lower()
        assert not any(t in (tmp_path / "profiles.json").read_text() for t in srv.state.issued)
        dlg.sign_out()
        assert "Signed out" in dlg.signin_status.text()
        assert not [k for k in memory_keyring.store if k[1].startswith("oauth:")]
    srv.reset()


def _with_ca(make: Any, ca: str) -> Any:
    def profile() -> Any:
        p = make()
        p.ca_file = ca
        return p
    return profile


def test_message_screen_offers_sign_in_again(world: MailWorld, memory_keyring: MemoryKeyring, engine: Any,
                                             qtbot: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from PySide6.QtGui import QDesktopServices

    from inboxready.app.message_screen import MessageScreen
    from inboxready.core.auth import flows
    from inboxready.core.mail.profiles import ProfileStore

    from .conftest import read_profile, send_profile

    srv: OAuthTestServer = world.extra["oauth"]
    srv.reset()
    tokens.forget_all_access_tokens()
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toString()) or True))
    with endpoint_override("microsoft", **srv.microsoft()):
        store = ProfileStore(tmp_path / "profiles.json")
        send = send_profile(world, auth="oauth", oauth_provider="microsoft")
        read = read_profile(world, auth="oauth", oauth_provider="microsoft")
        store.put(send)
        store.put(read)
        for p in (send, read):
            import asyncio

            r = asyncio.run(flows.sign_in(p, open_url=lambda u: threading.Thread(
                target=lambda: srv.browser(u), daemon=True).start(), timeout=20))
            assert r.ok
        srv.revoke_refresh_tokens()
        srv.expire_access_tokens()
        tokens.forget_all_access_tokens()
        s = MessageScreen(engine, store=store, send_timeout=10)
        qtbot.addWidget(s)
        s.show()
        s.start_send()
        qtbot.waitUntil(lambda: s.last_result is not None, timeout=30_000)
        assert s.last_result.error.code == "conn.oauth-signin-needed"
        assert s.signin_again_button.isVisible() and s.signin_again_button.text() == "Sign in again with Microsoft"
        s._no_exec = True
        dlg = s.sign_in_again()
        assert dlg is not None
        qtbot.addWidget(dlg)
        qtbot.waitUntil(lambda: bool(opened), timeout=10_000)  # the provider's page opened in the browser
        assert opened[0].startswith(srv.base) and "login_hint=alice" in opened[0]
        dlg.reject()
    srv.reset()
