"""Sign-in pieces that need no servers: provider refusals in plain words, token scrubbing, the loopback
listener, the profile fields, the client-ID configuration and the release build's injection."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from pathlib import Path

import pytest

from inboxready.core.auth import sasl
from inboxready.core.auth.config import OAuthConfigError, provider_config
from inboxready.core.auth.errors import SIGN_IN_AGAIN, describe_provider_error, server_refused_token
from inboxready.core.auth.flows import LoopbackRedirect
from inboxready.core.store.credentials import scrub
from inboxready.core.mail.profiles import ProfileError, ReadProfile, SendProfile, auth_failure, scrub_result
from inboxready.core.mail.profiles import ConnectionResult

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("error, description, code, words", [
    ("invalid_grant", "AADSTS65001: The user or administrator has not consented to use the application", "conn.oauth-consent", "admin"),
    ("invalid_request", "AADSTS90094: The grant requires admin permission.", "conn.oauth-consent", "admin consent"),
    ("interaction_required", "AADSTS50076: Due to a configuration change made by your administrator, or because you "
     "moved to a new location, you must use multi-factor authentication", SIGN_IN_AGAIN, "multi-factor"),
    ("unauthorized_client", "AADSTS700016: Application with identifier 'x' was not found in the directory",
     "conn.oauth-client", "isn't known"),
    ("invalid_grant", "AADSTS700082: The refresh token has expired due to inactivity.", SIGN_IN_AGAIN, "Sign in again"),
    ("invalid_grant", "AADSTS50173: The provided grant has expired due to it being revoked", SIGN_IN_AGAIN, "Sign in again"),
    ("invalid_grant", "AADSTS53003: Access has been blocked by Conditional Access policies.", "conn.oauth-blocked",
     "Conditional Access"),
    ("invalid_client", "AADSTS7000218: The request body must contain client_assertion or client_secret",
     "conn.oauth-client", "public client"),
    ("invalid_grant", "Token has been expired or revoked.", SIGN_IN_AGAIN, "Sign in again"),
    ("admin_policy_enforced", "", "conn.oauth-consent", "Admin console"),
    ("access_denied", "The user denied access", "conn.oauth-cancelled", "cancelled"),
    ("temporarily_unavailable", "", "conn.oauth-unavailable", "Try again"),
])
def test_provider_refusals_in_plain_words(error: str, description: str, code: str, words: str) -> None:
    provider = "google" if error in ("admin_policy_enforced",) or "Token has been" in description else "microsoft"
    r = describe_provider_error(provider, error, description, user="anna@example.com")
    assert r.code == code and words in r.message and not r.ok
    assert description[:20] in r.detail  # the provider's own words stay in the detail line


def test_codes_list_alone_is_enough() -> None:
    r = describe_provider_error("microsoft", "invalid_grant", "", codes=[700082])
    assert r.code == SIGN_IN_AGAIN


@pytest.mark.parametrize("reply, kind, code", [
    ("535 5.7.3 Authentication unsuccessful [SN4PR0201CA0010.namprd02.prod.outlook.com]", "send", "conn.oauth-refused"),
    ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.", "send",
     "conn.smtp-auth-disabled"),
    ("AUTHENTICATE failed.", "read", "conn.oauth-refused"),
    ("535 5.7.3 Authentication unsuccessful (server said: status=insufficient_scope)", "send", "conn.oauth-scope"),
])
def test_mail_server_refusals_of_a_token(reply: str, kind: str, code: str) -> None:
    r = server_refused_token(reply, provider="microsoft", user="anna@example.com", where="outlook.office365.com port 993",
                             kind=kind)
    assert r.code == code and r.server_reply == reply


def test_password_profile_told_to_sign_in_on_5_7_30() -> None:
    p = SendProfile(name="m", host="smtp.office365.com", username="anna@example.com", preset="microsoft365")
    r = auth_failure("550 5.7.30 Basic authentication is not supported for Client Submission.", p)
    assert r.code == "conn.password-sign-in-disabled"
    assert "Sign in with Microsoft" in r.message and "--oauth microsoft" in r.message


def test_sasl_messages() -> None:
    assert sasl.xoauth2("a@b.c", "tok") == b"user=a@b.c\x01auth=Bearer tok\x01\x01"
    assert sasl.oauthbearer("a,b=c@d", "tok", "h", 993) == b"n,a=a=2Cb=3Dc@d,\x01host=h\x01port=993\x01auth=Bearer tok\x01\x01"
    assert sasl.choose(["PLAIN", "XOAUTH2"]) == "XOAUTH2"
    assert sasl.choose(["XOAUTH2", "OAUTHBEARER"]) == "OAUTHBEARER"
    assert sasl.choose(["PLAIN", "LOGIN"]) is None
    ex = sasl.exchange("XOAUTH2", "a@b.c", "tok")
    assert ex() == sasl.xoauth2("a@b.c", "tok")
    assert ex(b'{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}') == b""  # then the refusal
    assert ex.error["status"] == "401" and "status=401" in ex.summary
    ob = sasl.exchange("OAUTHBEARER", "a@b.c", "tok")
    ob()
    assert ob(b'{"status":"invalid_token"}') == b"\x01"


def test_tokens_scrubbed_in_every_form() -> None:
    token = "EwBwA8l6BAAUbDba3x2OMJElkF7gJ4z/VbCPEz0AAZ0gTHwPQ2W1pDLxB7f1ck8zq9DQqz0l+token"
    blob = base64.b64encode(sasl.xoauth2("anna@example.com", token)).decode()
    bearer_blob = base64.b64encode(sasl.oauthbearer("anna@example.com", token, "h", 587)).decode()
    for text in (f"535 5.7.3 bad: AUTH XOAUTH2 {blob}", f"echo {bearer_blob}", f"Authorization: Bearer {token}",
                 json.dumps({"access_token": token, "refresh_token": token}), f"x {token} y",
                 f"{blob[:10]} {blob[10:]}"):
        out = scrub(text, token, user="anna@example.com")
        assert token not in out and blob not in out and bearer_blob not in out
        assert token[5:40] not in out
    # tokens we were not given (another account's) still don't pass in the SASL or HTTP forms
    assert "S3cr3tT0k3n" not in scrub_bearer_words(f"AUTH XOAUTH2 {base64.b64encode(sasl.xoauth2('x@y.z', 'S3cr3tT0k3nValue')).decode()}")
    assert "S3cr3tT0k3nValue" not in scrub("Bearer S3cr3tT0k3nValue")
    r = scrub_result(ConnectionResult(False, "x", f"m {token}", f"d {blob}", server_reply=token), token, "anna@example.com")
    assert token not in r.message + r.detail + r.server_reply


def scrub_bearer_words(text: str) -> str:
    from inboxready.core.store.credentials import scrub_bearer

    return scrub_bearer(text)


def test_profile_fields_round_trip_and_checks() -> None:
    p = ReadProfile(name="m", host="outlook.office365.com", username="anna@example.com", auth="oauth",
                    oauth_provider="Microsoft", oauth_client_id="3f6c0b5e-1a2b-4c3d-9e8f-0123456789ab",
                    oauth_tenant="example.com")
    data = p.to_json()
    assert data["auth"] == "oauth" and data["oauth_provider"] == "microsoft"
    assert ReadProfile.from_json(data) == p
    old = SendProfile.from_json({"name": "x", "host": "smtp.example.com"})  # profiles saved before sign-in existed
    assert old.auth == "password" and "auth" not in old.to_json()
    with pytest.raises(ProfileError, match="user name"):
        ReadProfile(name="m", host="h.example", auth="oauth", oauth_provider="google")
    with pytest.raises(ProfileError, match="encrypted"):
        ReadProfile(name="m", host="h.example", username="a@b.c", security="none", auth="oauth", oauth_provider="google")
    with pytest.raises(ProfileError, match="client ID"):
        ReadProfile(name="m", host="h.example", username="a@b.c", auth="oauth", oauth_provider="google",
                    oauth_client_id="bad id with spaces")
    with pytest.raises(ProfileError, match="microsoft or google"):
        ReadProfile(name="m", host="h.example", username="a@b.c", auth="oauth", oauth_provider="yahoo")


def test_presets_sign_in_by_default() -> None:
    from inboxready.core.mail.profiles import get_preset

    for pid, provider in (("gmail", "google"), ("microsoft365", "microsoft"), ("outlook", "microsoft")):
        preset = get_preset(pid)
        assert preset is not None and preset.oauth == provider and preset.oauth_help
        rp = preset.read_profile("r", username="anna@example.com")
        assert rp.uses_oauth and rp.oauth_provider == provider
        assert not preset.read_profile("r", username="anna@example.com", oauth=False).uses_oauth
    yahoo = get_preset("yahoo")
    assert yahoo is not None and not yahoo.read_profile("r", username="a@yahoo.com").uses_oauth


def test_no_built_in_client_says_where_to_enter_one() -> None:
    with pytest.raises(OAuthConfigError, match="Client ID"):
        provider_config("microsoft")
    cfg = provider_config("microsoft", client_id="3f6c0b5e-1a2b-4c3d-9e8f-0123456789ab", tenant="example.com")
    assert cfg.custom_client and cfg.authority == "https://login.microsoftonline.com/example.com"
    assert "offline_access" in cfg.scopes and "https://outlook.office.com/SMTP.Send" in cfg.scopes


def test_release_build_injects_client_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("inject", ROOT / "packaging" / "inject_oauth_clients.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    target = tmp_path / "oauth_clients.json"
    target.write_text((ROOT / "core" / "rules" / "oauth_clients.json").read_text())
    monkeypatch.setenv("INBOXREADY_MS_CLIENT_ID", "3f6c0b5e-1a2b-4c3d-9e8f-0123456789ab")
    monkeypatch.delenv("INBOXREADY_GOOGLE_CLIENT_ID", raising=False)
    assert mod.main(target) == 0
    data = json.loads(target.read_text())
    assert data["providers"]["microsoft"]["client_id"] == "3f6c0b5e-1a2b-4c3d-9e8f-0123456789ab"
    assert data["providers"]["google"]["client_id"] == ""
    monkeypatch.setenv("INBOXREADY_GOOGLE_CLIENT_ID", "bad value; rm -rf")
    assert mod.main(target) == 1
    workflow = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    step = workflow.split("OAuth client IDs from secrets", 1)[1].split("- name:", 1)[0]
    assert "secrets.INBOXREADY_MS_CLIENT_ID" in step and "run: python packaging/inject_oauth_clients.py" in step
    assert "${{" not in step.split("run:", 1)[1]  # secrets through env only, never inside run


def test_loopback_listener_checks_state_and_survives_junk() -> None:
    async def go() -> dict[str, str]:
        listener = LoopbackRedirect("good-state")
        port = await listener.start()
        loop = asyncio.get_running_loop()

        def get(path: str) -> bytes:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
                return s.recv(65536)

        def junk() -> None:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"\x16\x03\x01" + b"A" * 40000)  # not HTTP, and too long
                try:
                    s.recv(100)
                except OSError:
                    pass

        assert b"404" in (await loop.run_in_executor(None, get, "/favicon.ico")).split(b"\r\n")[0]
        await loop.run_in_executor(None, junk)
        stale = await loop.run_in_executor(None, get, "/?code=x&state=other")
        assert b"400" in stale.split(b"\r\n")[0] and b"out of date" in stale
        page = await loop.run_in_executor(None, get, "/?code=the-code&state=good-state")
        assert b"200" in page.split(b"\r\n")[0] and b"close this tab" in page
        params = await listener.wait(5)
        await listener.close()
        return params

    params = asyncio.run(go())
    assert params["code"] == "the-code"


def test_sign_in_wait_times_out_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    from inboxready.core.auth import flows
    from inboxready.core.auth.config import endpoint_override

    p = ReadProfile(name="m", host="imap.gmail.com", username="anna@gmail.com", auth="oauth", oauth_provider="google")
    with endpoint_override("google", client_id="123456789012-x.apps.googleusercontent.com", client_secret="s",
                           auth_uri="https://127.0.0.1:9/auth", token_uri="https://127.0.0.1:9/token"):
        urls: list[str] = []
        r = asyncio.run(flows.sign_in(p, open_url=urls.append, timeout=0.5))
    assert urls and "code_challenge_method=S256" in urls[0] and "login_hint=anna%40gmail.com" in urls[0]
    assert r.code == "conn.oauth-cancelled" and "wasn't finished" in r.message
