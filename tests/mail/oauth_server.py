"""A test OAuth 2.0 authorization server on loopback, built on oauthlib's ``Server`` (authorization code
with PKCE enforced, refresh tokens, RFC 8628 device codes, RFC 7662 introspection, RFC 7009 revocation).

It plays Microsoft's identity platform (``/<tenant>/v2.0/.well-known/openid-configuration``,
``/<tenant>/oauth2/v2.0/authorize|token|devicecode``, an ID token with ``preferred_username`` and the
``nonce``) and Google's (``/o/oauth2/auth``, ``/token``, a client secret) over HTTPS with the test CA.
The "person in the browser" is ``browser()``: an HTTP client that opens the authorization URL, is signed
in as ``login_as`` (default: the login hint) and follows the redirect to the app's loopback listener.

Mail servers introspect tokens as confidential clients: ``dovecot`` (reading: needs the IMAP scope) and
``smtp`` (sending: needs the SMTP scope); a token without the scope the asking server needs is
inactive for it (RFC 7662 §2.2). Every token handed out is recorded (``issued``) so tests can look for
them in files and output.
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
from oauthlib.oauth2 import RequestValidator, Server
from oauthlib.oauth2.rfc8628.grant_types import DeviceCodeGrant

MS_CLIENT = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
GOOGLE_CLIENT = "123456789012-testclient.apps.googleusercontent.com"
GOOGLE_SECRET = "GOCSPX-test-not-a-secret"
TENANT = "contoso.test"
IMAP_SCOPE = "https://outlook.office.com/IMAP.AccessAsUser.All"
SMTP_SCOPE = "https://outlook.office.com/SMTP.Send"
GOOGLE_SCOPE = "https://mail.google.com/"
OIDC = {"openid", "profile", "offline_access", "email"}


@dataclass
class Issued:
    user: str
    client_id: str
    scopes: list[str]
    expires_at: float
    revoked: bool = False
    nonce: str | None = None  # the sign-in's nonce (goes into Microsoft's ID token)


@dataclass
class Pending:
    """A device code waiting for the person to type the user code."""

    client_id: str
    scopes: list[str]
    user_code: str
    expires_at: float
    user: str | None = None
    denied: bool = False


@dataclass
class AuthState:
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    access: dict[str, Issued] = field(default_factory=dict)
    refresh: dict[str, Issued] = field(default_factory=dict)
    devices: dict[str, Pending] = field(default_factory=dict)
    issued: list[str] = field(default_factory=list)  # every access and refresh token ever handed out
    log: list[str] = field(default_factory=list)  # "METHOD path" of every request


class _Validator(RequestValidator):
    def __init__(self, server: "OAuthTestServer") -> None:
        self.s = server

    # clients
    def _client(self, client_id: str | None) -> dict[str, Any] | None:
        return self.s.clients.get(client_id or "")

    def client_authentication_required(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        if request.headers.get("Authorization", "").startswith("Basic "):
            return True
        c = self._client(request.client_id)
        return bool(c and c.get("secret"))

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        cid, secret = request.client_id, getattr(request, "client_secret", None)
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                return False
        c = self._client(cid)
        if c is None or not c.get("secret") or not secrets.compare_digest(str(secret or ""), c["secret"]):
            return False
        request.client_id = cid
        request.client = SimpleNamespace(client_id=cid, **c)
        return True

    def authenticate_client_id(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> bool:
        c = self._client(client_id)
        if c is None or c.get("secret"):
            return False
        request.client = SimpleNamespace(client_id=client_id, **c)
        return True

    def validate_client_id(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> bool:
        return self._client(client_id) is not None

    # authorization codes (PKCE required for everyone)
    def validate_redirect_uri(self, client_id: str, redirect_uri: str, request: Any, *args: Any, **kwargs: Any) -> bool:
        u = urlsplit(redirect_uri)
        return u.scheme == "http" and u.hostname in ("localhost", "127.0.0.1", "::1") and bool(u.port)

    def get_default_redirect_uri(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> str | None:
        return None

    def validate_response_type(self, client_id: str, response_type: str, client: Any, request: Any, *a: Any, **k: Any) -> bool:
        return response_type == "code"

    def validate_scopes(self, client_id: str, scopes: list[str], client: Any, request: Any, *a: Any, **k: Any) -> bool:
        c = self._client(client_id) or {}
        return all(s in c.get("scopes", ()) or s in OIDC for s in scopes)

    def get_default_scopes(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> list[str]:
        return []

    def is_pkce_required(self, client_id: str, request: Any) -> bool:
        return True

    def save_authorization_code(self, client_id: str, code: dict[str, str], request: Any, *a: Any, **k: Any) -> None:
        self.s.state.codes[code["code"]] = {
            "client_id": client_id, "redirect_uri": request.redirect_uri, "scopes": list(request.scopes),
            "user": request.user, "challenge": request.code_challenge,
            "method": request.code_challenge_method, "nonce": getattr(request, "nonce", None),
            "expires": time.time() + 300}

    def get_code_challenge(self, code: str, request: Any) -> str | None:
        c = self.s.state.codes.get(code)
        return c["challenge"] if c else None

    def get_code_challenge_method(self, code: str, request: Any) -> str | None:
        c = self.s.state.codes.get(code)
        return c["method"] if c else None

    def validate_code(self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any) -> bool:
        c = self.s.state.codes.get(code)
        if c is None or c["client_id"] != client_id or c["expires"] < time.time():
            return False
        request.user, request.scopes = c["user"], list(c["scopes"])
        request.nonce = c["nonce"]
        return True

    def confirm_redirect_uri(self, client_id: str, code: str, redirect_uri: str, client: Any, request: Any, *a: Any,
                             **k: Any) -> bool:
        c = self.s.state.codes.get(code)
        return c is not None and c["redirect_uri"] == redirect_uri

    def invalidate_authorization_code(self, client_id: str, code: str, request: Any, *args: Any, **kwargs: Any) -> None:
        self.s.state.codes.pop(code, None)

    def validate_grant_type(self, client_id: str, grant_type: str, client: Any, request: Any, *a: Any, **k: Any) -> bool:
        c = self._client(client_id) or {}
        return not c.get("resource")

    # tokens
    def save_bearer_token(self, token: dict[str, Any], request: Any, *args: Any, **kwargs: Any) -> None:
        scopes = list(request.scopes or [])
        issued = Issued(request.user, request.client_id, scopes, time.time() + int(token.get("expires_in", 3600)),
                        nonce=getattr(request, "nonce", None))
        self.s.state.access[token["access_token"]] = issued
        self.s.state.issued.append(token["access_token"])
        if "refresh_token" in token:
            self.s.state.refresh[token["refresh_token"]] = Issued(request.user, request.client_id, scopes,
                                                                  time.time() + 86400)
            self.s.state.issued.append(token["refresh_token"])
            old = getattr(request, "refresh_token", None)
            if old and old in self.s.state.refresh and old != token["refresh_token"]:
                self.s.state.refresh[old].revoked = True  # rotated: the old one is spent

    def validate_refresh_token(self, refresh_token: str, client: Any, request: Any, *args: Any, **kwargs: Any) -> bool:
        r = self.s.state.refresh.get(refresh_token)
        if r is None or r.revoked or r.client_id != request.client_id or r.expires_at < time.time():
            return False
        request.user = r.user
        return True

    def get_original_scopes(self, refresh_token: str, request: Any, *args: Any, **kwargs: Any) -> list[str]:
        r = self.s.state.refresh.get(refresh_token)
        return list(r.scopes) if r else []

    def is_within_original_scope(self, request_scopes: list[str], refresh_token: str, request: Any, *a: Any,
                                 **k: Any) -> bool:
        # like Microsoft: a refresh grants what was consented, never more
        original = self.get_original_scopes(refresh_token, request)
        request.scopes = [s for s in request_scopes if s in original]
        return True

    def rotate_refresh_token(self, request: Any) -> bool:
        return self.s.rotate

    def introspect_token(self, token: str, token_type_hint: str | None, request: Any, *a: Any, **k: Any) -> dict | None:
        t = self.s.state.access.get(token)
        if t is None or t.revoked or t.expires_at < time.time():
            return None
        need = (self._client(request.client_id) or {}).get("needs", ())
        if need and not any(s in t.scopes for s in need):
            return None  # not meant for this resource (RFC 7662 §2.2)
        return {"username": t.user, "scope": " ".join(t.scopes), "client_id": t.client_id, "exp": int(t.expires_at),
                "token_type": "Bearer"}

    def revoke_token(self, token: str, token_type_hint: str | None, request: Any, *args: Any, **kwargs: Any) -> None:
        for table in (self.s.state.access, self.s.state.refresh):
            if token in table:
                table[token].revoked = True

    # device codes
    def validate_device_code(self, client_id: str, code: str, request: Any) -> str | None:
        p = self.s.state.devices.get(code)
        if p is None or p.client_id != client_id:
            return None
        if p.expires_at < time.time():
            return DeviceCodeGrant.DEVICE_CODE_EXPIRED
        if p.denied:
            return DeviceCodeGrant.DEVICE_CODE_DENIED
        if p.user is None:
            return DeviceCodeGrant.DEVICE_CODE_PENDING
        request.user, request.scopes = p.user, list(p.scopes)
        del self.s.state.devices[code]
        return DeviceCodeGrant.DEVICE_CODE_AUTHORIZED


class OAuthTestServer:
    """The authorization server; ``start()`` it, ``stop()`` it. Scenario knobs are plain attributes."""

    def __init__(self, cert: Path, key: Path, ca_file: Path) -> None:
        self.ca_file = ca_file
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(str(cert), str(key))
        self.dovecot_secret = secrets.token_urlsafe(12)
        self.smtp_secret = secrets.token_urlsafe(12)
        self.clients: dict[str, dict[str, Any]] = {
            MS_CLIENT: {"scopes": [IMAP_SCOPE, SMTP_SCOPE]},
            GOOGLE_CLIENT: {"scopes": [GOOGLE_SCOPE], "secret": GOOGLE_SECRET},
            "dovecot": {"secret": self.dovecot_secret, "resource": True, "needs": [IMAP_SCOPE, GOOGLE_SCOPE]},
            "smtp": {"secret": self.smtp_secret, "resource": True},  # the SMTP server checks the scope itself
        }
        self.reset()
        self.validator = _Validator(self)
        self.oauth = Server(self.validator, token_expires_in=lambda req: self.access_lifetime,
                            refresh_token_generator=lambda req: self._refresh_value())
        self._httpd: ThreadingHTTPServer | None = None
        self.port = 0

    def reset(self) -> None:
        """A fresh scenario (tokens already issued stay valid unless revoked)."""
        self.access_lifetime = 3600
        self.refresh_size = 0  # characters of refresh tokens (0: a short random one)
        self.rotate = True  # hand out a new refresh token at each refresh (as Microsoft does)
        self.login_as: str | None = None  # who signs in in the browser (None: the login hint)
        self.grant_only: list[str] | None = None  # the scopes the person agrees to (None: all asked)
        self.authorize_error: tuple[str, str] | None = None  # (error, description) at the authorize step
        self.token_error: tuple[str, str] | None = None  # (error, description) at the token endpoint
        if not hasattr(self, "state"):
            self.state = AuthState()

    # -- addresses -------------------------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def introspection_url(self) -> str:
        return f"{self.base}/introspect"

    def microsoft(self) -> dict[str, Any]:
        """``endpoint_override`` fields for Microsoft."""
        return {"client_id": MS_CLIENT, "tenant": TENANT, "authority_host": self.base, "ca_file": str(self.ca_file)}

    def google(self) -> dict[str, Any]:
        return {"client_id": GOOGLE_CLIENT, "client_secret": GOOGLE_SECRET, "auth_uri": f"{self.base}/o/oauth2/auth",
                "token_uri": f"{self.base}/token", "ca_file": str(self.ca_file)}

    # -- the person ------------------------------------------------------------------------------
    def browser(self, url: str) -> Any:
        """Open ``url`` as the browser would: sign in, agree, follow the redirect to the app's listener."""
        import requests

        with requests.Session() as s:
            r = s.get(url, verify=str(self.ca_file), allow_redirects=False, timeout=10)
            if r.status_code != 302:
                return r
            return s.get(r.headers["Location"], allow_redirects=False, timeout=10)

    def approve_device(self, user_code: str, user: str, *, deny: bool = False) -> bool:
        for p in self.state.devices.values():
            if p.user_code == user_code:
                p.user, p.denied = (None, True) if deny else (user, False)
                return True
        return False

    def revoke_refresh_tokens(self, user: str | None = None) -> int:
        n = 0
        for r in self.state.refresh.values():
            if user is None or r.user == user:
                r.revoked = True
                n += 1
        return n

    def expire_access_tokens(self) -> None:
        for t in self.state.access.values():
            t.expires_at = time.time() - 1

    def _refresh_value(self) -> str:
        if self.refresh_size:
            return ("M." + secrets.token_urlsafe(self.refresh_size))[: self.refresh_size]
        return "1//" + secrets.token_urlsafe(32)

    # -- serving ---------------------------------------------------------------------------------
    def start(self) -> "OAuthTestServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._handle(self, "GET")

            def do_POST(self) -> None:
                server._handle(self, "POST")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.socket = self.ctx.wrap_socket(self._httpd.socket, server_side=True)
        self.port = int(self._httpd.server_address[1])
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def _reply(self, h: BaseHTTPRequestHandler, status: int, body: str | bytes, headers: dict[str, str]) -> None:
        data = body.encode() if isinstance(body, str) else body
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        try:
            length = int(h.headers.get("Content-Length") or 0)
            body = h.rfile.read(length).decode() if length else ""
            path = urlsplit(h.path).path
            self.state.log.append(f"{method} {path}")
            uri = self.base + h.path
            headers = {k: v for k, v in h.headers.items()}
            parts = [p for p in path.split("/") if p]
            if path.endswith("/v2.0/.well-known/openid-configuration"):
                t = f"{self.base}/{parts[0]}"
                doc = {"issuer": f"{t}/v2.0", "authorization_endpoint": f"{t}/oauth2/v2.0/authorize",
                       "token_endpoint": f"{t}/oauth2/v2.0/token",
                       "device_authorization_endpoint": f"{t}/oauth2/v2.0/devicecode"}
                return self._reply(h, 200, json.dumps(doc), {"Content-Type": "application/json"})
            if path.endswith("/oauth2/v2.0/authorize") or path == "/o/oauth2/auth":
                return self._authorize(h, uri)
            if path.endswith("/oauth2/v2.0/token") or path == "/token":
                if self.token_error is not None:
                    err, desc = self.token_error
                    return self._reply(h, 400, json.dumps({"error": err, "error_description": desc,
                                                           "error_codes": []}), {"Content-Type": "application/json"})
                hdrs, out, status = self.oauth.create_token_response(uri, "POST", body, headers)
                out = self._add_id_token(path, body, out)
                return self._reply(h, status, out, hdrs)
            if path.endswith("/oauth2/v2.0/devicecode"):
                return self._device(h, uri, body, headers)
            if path == "/introspect":
                hdrs, out, status = self.oauth.create_introspect_response(uri, "POST", body, headers)
                return self._reply(h, status, out, hdrs)
            if path == "/revoke":
                hdrs, out, status = self.oauth.create_revocation_response(uri, "POST", body, headers)
                return self._reply(h, status, out or "", hdrs)
            self._reply(h, 404, "not found", {"Content-Type": "text/plain"})
        except Exception as exc:  # a bug in the test server: say so in the reply
            self._reply(h, 500, json.dumps({"error": "server_error", "error_description": repr(exc)}),
                        {"Content-Type": "application/json"})

    def _authorize(self, h: BaseHTTPRequestHandler, uri: str) -> None:
        params = dict(parse_qsl(urlsplit(uri).query))
        scopes, creds = self.oauth.validate_authorization_request(uri, "GET", None, {})
        if self.authorize_error is not None:
            err, desc = self.authorize_error
            q = urlencode({"error": err, "error_description": desc, "state": params.get("state", "")})
            return self._reply(h, 302, "", {"Location": f"{creds['redirect_uri']}?{q}"})
        user = self.login_as or params.get("login_hint") or "someone@example.test"
        granted = [s for s in scopes if self.grant_only is None or s in self.grant_only or s in OIDC]
        hdrs, _, status = self.oauth.create_authorization_response(
            uri, "GET", None, {}, scopes=granted, credentials={"user": user, "nonce": params.get("nonce")})
        self._reply(h, status, "", hdrs)

    def _add_id_token(self, path: str, body: str, out: str) -> str:
        """Microsoft's token response carries an ID token when ``openid`` was granted (msal reads the
        signed-in account from it; it checks the nonce, audience and times, not the signature)."""
        if not path.endswith("/oauth2/v2.0/token"):
            return out
        data = json.loads(out)
        if "access_token" not in data:
            return out
        t = self.state.access.get(data["access_token"])
        if t is None or "openid" not in (data.get("scope") or ""):
            return out
        nonce = t.nonce
        now = int(time.time())
        tenant = path.split("/")[1]
        claims = {"iss": f"{self.base}/{tenant}/v2.0", "aud": t.client_id, "iat": now, "nbf": now, "exp": now + 3600,
                  "preferred_username": t.user, "sub": "sub-" + t.user, "oid": "oid-" + t.user, "tid": "tid-test",
                  "name": t.user}
        if nonce:
            claims["nonce"] = nonce
        data["id_token"] = jwt.encode(claims, "test-only-signing-key-of-32-bytes!!", algorithm="HS256")
        data["scope"] = " ".join(s for s in data["scope"].split() if s not in ("openid", "profile", "offline_access"))
        return json.dumps(data)

    def _device(self, h: BaseHTTPRequestHandler, uri: str, body: str, headers: dict[str, str]) -> None:
        form = dict(parse_qsl(body))
        cid = form.get("client_id", "")
        if cid not in self.clients or self.clients[cid].get("resource"):
            return self._reply(h, 400, json.dumps({"error": "invalid_client"}), {"Content-Type": "application/json"})
        device_code = secrets.token_urlsafe(24)
        user_code = "".join(secrets.choice("BCDFGHJKLMNPQRSTVWXZ") for _ in range(8))
        scopes = [s for s in form.get("scope", "").split() if self.grant_only is None or s in self.grant_only or s in OIDC]
        self.state.devices[device_code] = Pending(cid, scopes, user_code, time.time() + 600)
        out = {"device_code": device_code, "user_code": user_code, "verification_uri": f"{self.base}/device",
               "expires_in": 600, "interval": 1,
               "message": f"To sign in, open {self.base}/device and enter the code {user_code}."}
        self._reply(h, 200, json.dumps(out), {"Content-Type": "application/json"})


def introspect(url: str, client: str, secret: str, token: str, ca_file: str) -> dict[str, Any]:
    """What a mail server asks the authorization server about a token (RFC 7662)."""
    import requests

    r = requests.post(url, data={"token": token}, auth=(client, secret), verify=ca_file, timeout=10)
    try:
        data = r.json()
    except ValueError:
        return {"active": False}
    return data if isinstance(data, dict) else {"active": False}


__all__ = ["GOOGLE_CLIENT", "GOOGLE_SCOPE", "GOOGLE_SECRET", "IMAP_SCOPE", "MS_CLIENT", "OAuthTestServer", "SMTP_SCOPE",
           "TENANT", "introspect"]
