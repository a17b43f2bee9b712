"""Signing in with Microsoft or Google, and the access token for a connection.

    result = await sign_in(profile, open_url=open_in_browser)        # the app; Google in the CLI too
    result = await sign_in(profile, device=show_code)                # Microsoft in the CLI (device code)
    token, fresh = await access_token(profile)                       # before each IMAP/SMTP sign-in
    sign_out(profile)                                                # forget the stored sign-in

Microsoft goes through ``msal`` (a public client: the authorization code flow with PKCE on a loopback
redirect, ``http://localhost:<port>``, or the device code flow). Google goes through
``google-auth-oauthlib``'s installed-app ``Flow`` (authorization code with PKCE, loopback redirect to
``http://127.0.0.1:<port>``; Google's device flow doesn't allow mail scopes), and ``google-auth`` renews
its tokens. The system browser opens the provider's page (``open_url``); no web view is embedded. The
redirect is taken by a one-shot HTTP listener on the loopback interface that checks the ``state``.

After a sign-in only the refresh token is kept, in the keyring (``tokens``); the access token lives in
memory and is renewed ``REFRESH_MARGIN`` seconds before it expires. Every network call has a time limit
(``HTTP_TIMEOUT``) and runs in a worker thread; a failure is a ``ConnectionResult`` in plain words
(``errors``), never a traceback: an unreachable provider is "couldn't check", a withdrawn sign-in is
"sign in again".
"""

from __future__ import annotations

import logging
import asyncio
import html
import secrets
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from ..store.credentials import KeyringUnavailable, Secret, get_password, scrub, set_password
from ..mail.profiles import ConnectionResult, Profile, TransportError, keyring_failure, run_blocking
from . import errors, tokens
from .tokens import key_for
from .config import OAuthConfigError, ProviderConfig, provider_config

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 20.0  # one request to the provider
SIGN_IN_TIMEOUT = 600.0  # how long we wait for the person to finish in the browser
MAX_REQUEST = 16384  # bytes of one request to the loopback listener


# -- which configuration a profile uses -----------------------------------------------------------------

def config_for(profile: Profile) -> ProviderConfig:
    """The provider configuration of an OAuth ``profile`` (``OAuthConfigError`` when none can be used)."""
    secret = ""
    if profile.oauth_client_id and profile.oauth_provider == "google":
        stored = get_password(tokens.client_secret_key(profile.oauth_client_id))
        secret = stored.reveal() if stored is not None else ""
    return provider_config(profile.oauth_provider, client_id=profile.oauth_client_id, tenant=profile.oauth_tenant,
                           client_secret=secret)


def _config_failure(exc: Exception) -> ConnectionResult:
    return ConnectionResult(False, "conn.oauth-client", str(exc), stage="auth")


def _session(cfg: ProviderConfig) -> Any:
    import requests

    class _Session(requests.Session):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            t = kwargs.get("timeout")
            kwargs["timeout"] = HTTP_TIMEOUT if not isinstance(t, (int, float)) else min(float(t), HTTP_TIMEOUT)
            return super().request(method, url, *args, **kwargs)

    s = _Session()
    s.verify = cfg.ca_file or True
    s.trust_env = not cfg.ca_file  # the tests' loopback server: no proxy from the environment
    return s


def _msal_app(cfg: ProviderConfig) -> Any:
    import msal

    return msal.PublicClientApplication(
        cfg.client_id, authority=cfg.authority, http_client=_session(cfg), timeout=HTTP_TIMEOUT,
        instance_discovery=False, token_cache=msal.TokenCache())


def _msal_initiate(app: Any, cfg: ProviderConfig, redirect_uri: str, state: str, user: str) -> dict[str, Any]:
    import warnings

    with warnings.catch_warnings():
        # msal suggests response_mode=form_post; the redirect goes to our own loopback listener (never a
        # web page with referrers or history to leak into), where the query form is what Google uses too
        warnings.simplefilter("ignore", UserWarning)
        return dict(app.initiate_auth_code_flow(_msal_scopes(cfg), redirect_uri=redirect_uri, state=state,
                                                login_hint=user or None, prompt="select_account"))


def _msal_scopes(cfg: ProviderConfig) -> list[str]:
    # msal adds openid, profile and offline_access itself and refuses them in the list
    return [s for s in cfg.scopes if s not in ("openid", "profile", "offline_access")]


def _is_network(exc: BaseException) -> bool:
    import requests

    if isinstance(exc, (requests.ConnectionError, requests.Timeout, OSError, TimeoutError)):
        return True
    try:
        from google.auth import exceptions as gexc

        return isinstance(exc, gexc.TransportError)
    except ImportError:  # pragma: no cover
        return False


def _is_service_error(exc: BaseException) -> bool:
    """The provider answered with a server error (HTTP 5xx) or something that isn't an OAuth reply."""
    try:
        import msal.exceptions

        if isinstance(exc, msal.exceptions.MsalServiceError):
            return True
    except ImportError:  # pragma: no cover
        pass
    import requests

    return isinstance(exc, (requests.HTTPError, requests.exceptions.JSONDecodeError))


# -- the loopback listener --------------------------------------------------------------------------------

_DONE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>InboxReady</title></head>
<body style="font-family:sans-serif;max-width:36em;margin:4em auto"><h1>{title}</h1><p>{text}</p></body></html>"""


class LoopbackRedirect:
    """A one-shot HTTP listener on 127.0.0.1 (and ::1 on the same port where possible) that waits for
    the provider's redirect carrying ``state``. Other requests (a favicon, a stale tab) get a 404 or a
    plain page and are otherwise ignored."""

    def __init__(self, state: str) -> None:
        self.state = state
        self.port = 0
        self._servers: list[asyncio.base_events.Server] = []
        self._result: asyncio.Future[dict[str, str]] | None = None

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self._result = loop.create_future()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0, limit=MAX_REQUEST)
        self._servers.append(server)
        self.port = int(server.sockets[0].getsockname()[1])
        try:
            self._servers.append(await asyncio.start_server(self._handle, "::1", self.port, limit=MAX_REQUEST))
        except OSError:
            pass  # no IPv6 loopback: browsers fall back to 127.0.0.1
        return self.port

    async def wait(self, timeout: float) -> dict[str, str]:
        assert self._result is not None
        return await asyncio.wait_for(asyncio.shield(self._result), timeout)

    async def close(self) -> None:
        for s in self._servers:
            s.close()
        for s in self._servers:
            try:
                await asyncio.wait_for(s.wait_closed(), 2.0)
            except (asyncio.TimeoutError, Exception):
                log.debug("closing the sign-in listener failed", exc_info=True)
        self._servers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10.0)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        status, page = "404 Not Found", _DONE_PAGE.format(title="Not found", text="")
        try:
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, target, _ = line.split(" ", 2)
            parts = urlsplit(target)
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
            if method == "GET" and parts.path in ("/", "") and ("code" in params or "error" in params):
                if params.get("state") != self.state or self._result is None or self._result.done():
                    status = "400 Bad Request"
                    page = _DONE_PAGE.format(title="This sign-in page is out of date",
                                             text="Go back to InboxReady and start the sign-in again.")
                else:
                    status = "200 OK"
                    if "error" in params:
                        page = _DONE_PAGE.format(title="The sign-in was not completed",
                                                 text="Go back to InboxReady: it says what happened. "
                                                      + html.escape(params.get("error", ""))[:100])
                    else:
                        page = _DONE_PAGE.format(title="InboxReady received your sign-in",
                                                 text="You can close this tab and go back to InboxReady.")
                    self._result.set_result(params)
        except ValueError:
            status = "400 Bad Request"
        body = page.encode("utf-8")
        writer.write(f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
                     "Cache-Control: no-store\r\nConnection: close\r\n\r\n".encode("ascii") + body)
        try:
            await asyncio.wait_for(writer.drain(), 5.0)
        except (asyncio.TimeoutError, ConnectionError):
            pass
        writer.close()


# -- results ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeviceCode:
    """What the person must do for the device code flow: open ``url`` and type ``user_code``."""

    user_code: str
    url: str
    expires_in: int


@dataclass(frozen=True)
class Grant:
    """A token response, reduced to what we use."""

    access_token: Secret
    refresh_token: Secret | None
    expires_in: float
    scopes: tuple[str, ...]
    account: str = ""  # who signed in (Microsoft's ID token), when known


def _grant(data: dict[str, Any], asked: tuple[str, ...]) -> Grant:
    scope = data.get("scope", "")
    granted = tuple(str(scope).split()) if isinstance(scope, str) else tuple(str(s) for s in scope or ())
    claims = data.get("id_token_claims") or {}
    account = str(claims.get("preferred_username") or claims.get("email") or "") if isinstance(claims, dict) else ""
    try:
        expires_in = float(data.get("expires_in") or 3600)
    except (TypeError, ValueError):
        expires_in = 3600.0
    rt = data.get("refresh_token")
    return Grant(Secret(str(data["access_token"])), Secret(str(rt)) if rt else None, max(0.0, expires_in),
                 granted or asked, account)


def missing_scopes(cfg: ProviderConfig, granted: tuple[str, ...]) -> list[str]:
    have = {s.lower() for s in granted}
    return [s for s in cfg.mail_scopes if s.lower() not in have]


def needed_scope(cfg: ProviderConfig, kind: str) -> str:
    """The scope a sending or reading profile can't do without."""
    if cfg.provider == "microsoft":
        want = "smtp.send" if kind == "send" else "imap.accessasuser.all"
        return next((s for s in cfg.mail_scopes if s.lower().endswith(want)), cfg.mail_scopes[0])
    return cfg.mail_scopes[0]


def _scope_words(scope: str) -> str:
    s = scope.lower()
    if s.endswith("smtp.send"):
        return "send mail"
    if s.endswith("imap.accessasuser.all"):
        return "read mail"
    return "read and send mail"


# -- signing in -------------------------------------------------------------------------------------------

def _failure(cfg: ProviderConfig, profile: Profile, data: dict[str, Any]) -> ConnectionResult:
    codes = data.get("error_codes") or []
    return errors.describe_provider_error(cfg.provider, str(data.get("error", "")),
                                          str(data.get("error_description", "")), user=profile.username,
                                          custom_client=cfg.custom_client,
                                          codes=[c for c in codes if isinstance(c, int)] if isinstance(codes, list) else [])


def _finish(cfg: ProviderConfig, profile: Profile, key: str, grant: Grant) -> ConnectionResult:
    """Check what was granted and keep the refresh token."""
    user = profile.username
    if grant.account and user and grant.account.strip().lower() != user.strip().lower():
        return ConnectionResult(False, "conn.oauth-wrong-account",
                                f"You signed in to {cfg.name} as {grant.account}, but this profile is for {user}. Sign "
                                f"in again and choose {user} in the browser, or change the profile's user name.",
                                stage="auth")
    missing = missing_scopes(cfg, grant.scopes)
    need = needed_scope(cfg, profile.kind)
    if need in missing:
        return ConnectionResult(False, "conn.oauth-scope",
                                f"{cfg.name} signed you in but didn't grant permission to {_scope_words(need)} for "
                                f"{user}. Sign in again and allow it; if the permission page didn't offer it, your "
                                "organisation's admin must allow it.", "granted: " + " ".join(grant.scopes),
                                stage="auth")
    if grant.refresh_token is None:
        return ConnectionResult(False, "conn.oauth-refused",
                                f"{cfg.name} signed you in without the permission to stay signed in (no refresh "
                                "token), so InboxReady would have to ask you again within the hour. Sign in again "
                                "and allow InboxReady to keep access.", stage="auth")
    try:
        tokens.store_refresh_token(key, grant.refresh_token)
    except KeyringUnavailable as exc:
        return keyring_failure(exc)
    except tokens.TokenTooLarge as exc:
        return ConnectionResult(False, "conn.oauth-token-too-large", str(exc), stage="keyring")
    tokens.remember_access_token(key, tokens.AccessToken(grant.access_token, time.time() + grant.expires_in,
                                                         grant.scopes))
    note = ""
    if missing:
        note = (" Note: permission to " + " and ".join(_scope_words(s) for s in missing) +
                " was not granted, so a profile that needs it won't work with this sign-in.")
    who = grant.account or user
    return ConnectionResult(True, "conn.ok", f"Signed in with {cfg.name} as {who}. The sign-in is kept in the "
                            f"system keyring; no password is stored.{note}", stage="done")


async def sign_in(profile: Profile, *, open_url: Callable[[str], None] | None = None,
                  device: Callable[[DeviceCode], None] | None = None, timeout: float = SIGN_IN_TIMEOUT,
                  client_secret: str | None = None) -> ConnectionResult:
    """Sign ``profile``'s account in: in the system browser through ``open_url`` (it is given the
    provider's page; a loopback listener takes the redirect), or, for Microsoft with ``device``, by the
    device code flow (``device`` is shown the code and the page). The refresh token goes to the keyring."""
    if not profile.uses_oauth:
        return ConnectionResult(False, "conn.oauth-not-used", "This profile signs in with a password.", stage="auth")
    try:
        if client_secret and profile.oauth_client_id and profile.oauth_provider == "google":
            set_password(tokens.client_secret_key(profile.oauth_client_id), client_secret)
        cfg = config_for(profile)
    except OAuthConfigError as exc:
        return _config_failure(exc)
    except KeyringUnavailable as exc:
        return keyring_failure(exc)
    key = key_for(profile, cfg)
    started = time.monotonic()
    try:
        if device is not None and cfg.provider == "microsoft":
            result = await _device_flow(cfg, profile, key, device, timeout)
        elif open_url is not None:
            result = await _browser_flow(cfg, profile, key, open_url, timeout)
        else:
            raise ValueError("sign_in needs open_url or device")
    except asyncio.CancelledError:
        raise
    except TransportError as exc:
        result = exc.result
    from dataclasses import replace

    return replace(_scrubbed(result), elapsed_ms=(time.monotonic() - started) * 1000)


def _scrubbed(result: ConnectionResult) -> ConnectionResult:
    """No token in any text of a result (the provider's or a library's words may quote one)."""
    from dataclasses import replace

    return replace(result, message=scrub(result.message), detail=scrub(result.detail),
                   server_reply=scrub(result.server_reply))


async def _browser_flow(cfg: ProviderConfig, profile: Profile, key: str, open_url: Callable[[str], None],
                        timeout: float) -> ConnectionResult:
    state = secrets.token_urlsafe(24)
    listener = LoopbackRedirect(state)
    port = await listener.start()
    redirect_uri = f"http://{cfg.redirect_host}:{port}/"
    try:
        if cfg.provider == "microsoft":
            app = await _blocking(cfg, lambda: _msal_app(cfg))
            flow = await _blocking(cfg, lambda: _msal_initiate(app, cfg, redirect_uri, state, profile.username))
            url = str(flow["auth_uri"])
        else:
            from google_auth_oauthlib.flow import Flow

            gflow = Flow.from_client_config(
                {"installed": {"client_id": cfg.client_id, "client_secret": cfg.client_secret,
                               "auth_uri": cfg.auth_uri, "token_uri": cfg.token_uri}},
                scopes=list(cfg.scopes), redirect_uri=redirect_uri, autogenerate_code_verifier=True)
            gflow.oauth2session.verify = cfg.ca_file or True
            gflow.oauth2session.trust_env = not cfg.ca_file
            extra = {"login_hint": profile.username} if profile.username else {}
            url, _ = gflow.authorization_url(access_type="offline", prompt="consent", state=state, **extra)
        try:
            open_url(url)
        except Exception as exc:
            return ConnectionResult(False, "conn.oauth-browser",
                                    f"The browser couldn't be opened ({type(exc).__name__}). Open this address "
                                    f"yourself: {url}", stage="auth")
        try:
            params = await listener.wait(timeout)
        except asyncio.TimeoutError:
            return ConnectionResult(False, "conn.oauth-cancelled",
                                    f"The sign-in wasn't finished in the browser within {timeout / 60:g} minutes. "
                                    f"Sign in with {cfg.name} again when you are ready.", stage="auth")
    finally:
        await listener.close()
    if "error" in params:
        return errors.describe_provider_error(cfg.provider, params.get("error", ""),
                                              params.get("error_description", ""), user=profile.username,
                                              custom_client=cfg.custom_client)
    if cfg.provider == "microsoft":
        data = await _blocking(cfg, lambda: app.acquire_token_by_auth_code_flow(flow, params))
        if "error" in data or "access_token" not in data:
            return _failure(cfg, profile, data)
        return _finish(cfg, profile, key, _grant(data, cfg.scopes))
    data = await _blocking(cfg, lambda: _google_exchange(cfg, gflow, params.get("code", "")))
    if "error" in data or "access_token" not in data:
        return _failure(cfg, profile, data)
    return _finish(cfg, profile, key, _grant(data, cfg.scopes))


def _google_exchange(cfg: ProviderConfig, gflow: Any, code: str) -> dict[str, Any]:
    from oauthlib.oauth2.rfc6749.errors import OAuth2Error

    try:
        return dict(gflow.fetch_token(code=code, verify=cfg.ca_file or True, timeout=HTTP_TIMEOUT))
    except OAuth2Error as exc:
        return {"error": exc.error, "error_description": exc.description or ""}
    except Warning as exc:  # oauthlib: "Scope has changed" (fewer scopes were granted than asked)
        token = getattr(exc, "token", None)
        if isinstance(token, dict) and "access_token" in token:
            return dict(token)
        raise


async def _device_flow(cfg: ProviderConfig, profile: Profile, key: str, show: Callable[[DeviceCode], None],
                       timeout: float) -> ConnectionResult:
    app = await _blocking(cfg, lambda: _msal_app(cfg))
    flow = await _blocking(cfg, lambda: app.initiate_device_flow(scopes=_msal_scopes(cfg)))
    if "user_code" not in flow:
        return _failure(cfg, profile, flow)
    lifetime = min(float(flow.get("expires_in") or timeout), timeout)
    flow["expires_at"] = time.time() + lifetime
    show(DeviceCode(str(flow["user_code"]), str(flow.get("verification_uri") or flow.get("verification_url") or ""),
                    int(lifetime)))

    def stop() -> None:
        flow["expires_at"] = 0  # msal's documented way to end its polling loop

    data = await _blocking(cfg, lambda: app.acquire_token_by_device_flow(flow), abort=stop, grace=3.0)
    if "error" in data or "access_token" not in data:
        if data.get("error") in ("authorization_pending", "slow_down"):
            data = {"error": "expired_token"}
        return _failure(cfg, profile, data)
    return _finish(cfg, profile, key, _grant(data, cfg.scopes))


async def _blocking(cfg: ProviderConfig, fn: Callable[[], Any], *, abort: Callable[[], None] | None = None,
                    grace: float = 1.0) -> Any:
    """``fn`` in a worker thread; a network failure becomes "couldn't reach the provider"."""
    def guarded() -> Any:
        try:
            return fn()
        except (ValueError, KeyError) as exc:  # msal: a state mismatch, a discovery document it can't use
            if _is_network(exc):
                raise
            raise TransportError(ConnectionResult(
                False, "conn.oauth-refused", f"{cfg.name}'s sign-in answered in a way InboxReady didn't expect, so "
                "the sign-in stopped. Try again.", scrub(f"{type(exc).__name__}: {exc}")[:300], stage="auth")) from None
        except TransportError:
            raise
        except Exception as exc:
            if _is_network(exc) or _is_service_error(exc):
                raise TransportError(errors.unreachable(cfg.provider, f"{type(exc).__name__}: {exc}")) from None
            raise

    return await run_blocking(guarded, abort=abort, grace=grace)


# -- access tokens ----------------------------------------------------------------------------------------

async def access_token(profile: Profile, *, force_refresh: bool = False) -> tuple[Secret, bool]:
    """An access token for ``profile`` and whether it was just renewed. From memory while it has more
    than ``REFRESH_MARGIN`` seconds left, else renewed with the stored refresh token (the provider may
    hand out a new refresh token: it replaces the old one). ``TransportError`` with plain words when the
    account isn't signed in, the sign-in was withdrawn ("sign in again") or the provider can't be reached."""
    try:
        cfg = config_for(profile)
    except OAuthConfigError as exc:
        raise TransportError(_config_failure(exc)) from None
    except KeyringUnavailable as exc:
        raise TransportError(keyring_failure(exc)) from None
    key = key_for(profile, cfg)
    if not force_refresh:
        cached = tokens.cached_access_token(key)
        if cached is not None:
            return cached.token, False
    tokens.forget_access_token(key)
    try:
        refresh = tokens.load_refresh_token(key)
    except KeyringUnavailable as exc:
        raise TransportError(keyring_failure(exc)) from None
    if refresh is None:
        raise TransportError(errors.signed_out(cfg.provider, profile.username))
    if cfg.provider == "microsoft":
        def renew() -> dict[str, Any]:
            app = _msal_app(cfg)
            return dict(app.acquire_token_by_refresh_token(refresh.reveal(), _msal_scopes(cfg)))
    else:
        def renew() -> dict[str, Any]:
            return _google_refresh(cfg, refresh.reveal())
    try:
        data = await _blocking(cfg, renew)
    except TransportError as exc:
        raise TransportError(_scrubbed(exc.result)) from None
    if "error" in data or "access_token" not in data:
        raise TransportError(_scrubbed(_failure(cfg, profile, data)))
    grant = _grant(data, cfg.scopes)
    if grant.refresh_token is not None and grant.refresh_token != refresh:
        try:
            tokens.store_refresh_token(key, grant.refresh_token)
        except (KeyringUnavailable, tokens.TokenTooLarge):
            pass  # the old one stays: providers accept it until it expires
    tokens.remember_access_token(key, tokens.AccessToken(grant.access_token, time.time() + grant.expires_in,
                                                         grant.scopes))
    return grant.access_token, True


def _google_refresh(cfg: ProviderConfig, refresh_token: str) -> dict[str, Any]:
    from google.auth import exceptions as gexc
    from google.auth.transport.requests import Request
    from google.oauth2.credentials import Credentials

    creds = Credentials(None, refresh_token=refresh_token, token_uri=cfg.token_uri, client_id=cfg.client_id,
                        client_secret=cfg.client_secret, scopes=list(cfg.scopes))
    try:
        creds.refresh(Request(_session(cfg)))
    except gexc.RefreshError as exc:
        info = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
        return {"error": str(info.get("error") or "invalid_grant"),
                "error_description": str(info.get("error_description") or exc.args[0] if exc.args else "")}
    expires_in = 3600.0
    if creds.expiry is not None:
        import datetime as dt

        expires_in = (creds.expiry.replace(tzinfo=dt.timezone.utc) - dt.datetime.now(dt.timezone.utc)).total_seconds()
    out: dict[str, Any] = {"access_token": creds.token, "expires_in": expires_in,
                           "scope": " ".join(creds.granted_scopes or creds.scopes or [])}
    if creds.refresh_token and creds.refresh_token != refresh_token:
        out["refresh_token"] = creds.refresh_token
    return out


def sign_out(profile: Profile) -> bool:
    """Forget the profile's sign-in (its refresh token and access token); False when none was stored.
    ``KeyringUnavailable`` when the keyring can't be reached."""
    return tokens.delete_refresh_token(key_for(profile))


def signed_in(profile: Profile) -> bool | None:
    """True when a sign-in is stored for the profile's account; None when the keyring can't be asked."""
    try:
        return tokens.load_refresh_token(key_for(profile)) is not None
    except KeyringUnavailable:
        return None




# -- for the SMTP and IMAP code -----------------------------------------------------------------------------

RETRY_CODES = frozenset({"conn.oauth-refused", "conn.oauth-scope"})


async def credential(profile: Profile, password: "str | Secret | None" = None) -> tuple[Secret | None, bool]:
    """What the profile signs in with, and whether it is fresh: an access token (``TransportError``
    when there is none) for an OAuth profile, else the password (given, or the keyring's:
    ``KeyringUnavailable`` propagates). A server that refuses a token that was not fresh is tried once
    more with a renewed one (``should_retry``), as Thunderbird does."""
    if profile.uses_oauth:
        return await access_token(profile)
    from ..mail.profiles import resolve_password

    return resolve_password(profile, password), True


def credential_blocking(profile: Profile, password: "str | Secret | None" = None) -> Secret | None:
    """``credential`` for blocking code (a worker thread): runs it on a private loop in its own thread."""
    import threading

    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = asyncio.run(credential(profile, password))[0]
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    t = threading.Thread(target=run, name="inboxready-oauth", daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def should_retry(profile: Profile, result: ConnectionResult, fresh: bool) -> bool:
    return profile.uses_oauth and not fresh and not result.ok and result.code in RETRY_CODES


__all__ = ["DeviceCode", "Grant", "HTTP_TIMEOUT", "LoopbackRedirect", "RETRY_CODES", "SIGN_IN_TIMEOUT", "access_token",
           "config_for", "credential", "credential_blocking", "key_for", "missing_scopes", "needed_scope", "should_retry", "sign_in", "sign_out",
           "signed_in"]
