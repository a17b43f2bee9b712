"""Where sign-in happens: the providers' endpoints, scopes and InboxReady's public client IDs.

One configuration place: ``core/rules/oauth_clients.json``. Its client IDs are empty in the source tree
and written at release build time from the release workflow's secrets (``packaging/inject_oauth_clients.py``).
A profile may name its own client ID (and, for Microsoft, its tenant): organisations that let users
consent only to apps their admin approved register their own app and enter its ID there.

``endpoint_override`` points a provider somewhere else (the loopback authorization server of the tests,
with its own CA file); nothing in the app or the CLI sets it.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Any, Iterator

PROVIDERS = ("microsoft", "google")
CLIENTS_FILE = "oauth_clients.json"
PROVIDER_NAMES = {"microsoft": "Microsoft", "google": "Google"}

_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,200}$")
_TENANT_RE = re.compile(r"^[A-Za-z0-9.-]{1,100}$")


class OAuthConfigError(ValueError):
    """A provider, client ID or tenant that can't be used (the message says why, in plain words)."""


@dataclass(frozen=True)
class ProviderConfig:
    """Everything a sign-in with one provider needs (resolved for one profile)."""

    provider: str  # "microsoft" | "google"
    client_id: str
    scopes: tuple[str, ...]
    tenant: str = ""  # Microsoft: "common", "organizations", a domain or a tenant GUID
    authority_host: str = ""  # Microsoft: https://login.microsoftonline.com
    client_secret: str = ""  # Google installed apps (not a secret; see the JSON file's note)
    auth_uri: str = ""  # Google
    token_uri: str = ""  # Google
    revoke_uri: str = ""
    redirect_host: str = "localhost"  # the loopback name the browser is sent back to
    ca_file: str = ""  # extra CA to trust for the provider's HTTPS (tests' loopback server only)
    custom_client: bool = False  # the client ID came from the profile, not from InboxReady's build

    @property
    def name(self) -> str:
        return PROVIDER_NAMES.get(self.provider, self.provider)

    @property
    def authority(self) -> str:
        return f"{self.authority_host.rstrip('/')}/{self.tenant or 'common'}"

    @property
    def mail_scopes(self) -> tuple[str, ...]:
        """The scopes that name mail access (not ``offline_access``, which the token response omits)."""
        return tuple(s for s in self.scopes if s not in ("offline_access", "openid", "profile", "email"))


@lru_cache(maxsize=1)
def _built_in() -> dict[str, dict[str, Any]]:
    text = resources.files("inboxready.core.rules").joinpath(CLIENTS_FILE).read_text(encoding="utf-8")
    data = json.loads(text)
    return {k: dict(v) for k, v in data["providers"].items()}


_OVERRIDES: dict[str, dict[str, Any]] = {}


@contextlib.contextmanager
def endpoint_override(provider: str, **fields: Any) -> Iterator[None]:
    """Point ``provider`` at other endpoints (and client) while the block runs: the tests' loopback
    authorization server. Fields are those of ``ProviderConfig``."""
    old = _OVERRIDES.get(provider)
    _OVERRIDES[provider] = dict(fields)
    try:
        yield
    finally:
        if old is None:
            _OVERRIDES.pop(provider, None)
        else:
            _OVERRIDES[provider] = old


def check_provider(provider: str) -> str:
    p = (provider or "").strip().lower()
    if p not in PROVIDERS:
        raise OAuthConfigError(f"{provider!r} is not a sign-in provider; use microsoft or google.")
    return p


def check_client_id(client_id: str) -> str:
    c = (client_id or "").strip()
    if c and not _CLIENT_ID_RE.match(c):
        raise OAuthConfigError(
            f"{client_id!r} doesn't look like a client ID (the 'Application (client) ID' of an app "
            "registration, like 3f6c0b5e-1a2b-4c3d-9e8f-0123456789ab, or a Google client ID ending in "
            ".apps.googleusercontent.com).")
    return c


def check_tenant(tenant: str) -> str:
    t = (tenant or "").strip()
    if t and not _TENANT_RE.match(t):
        raise OAuthConfigError(f"{tenant!r} is not a tenant: use your organisation's domain (example.com), its "
                               "tenant ID, 'organizations' or 'common'.")
    return t


def provider_config(provider: str, *, client_id: str = "", tenant: str = "", client_secret: str = "") -> ProviderConfig:
    """The configuration for ``provider``: InboxReady's own client unless the profile names its own
    ``client_id`` (and ``tenant``). ``OAuthConfigError`` when there is no client ID to use."""
    p = check_provider(provider)
    base = dict(_built_in()[p])
    base.update(_OVERRIDES.get(p, {}))
    custom = bool(client_id.strip())
    cfg = ProviderConfig(
        provider=p, client_id=str(base.get("client_id", "")), scopes=tuple(base.get("scopes", ())),
        tenant=str(base.get("tenant", "")), authority_host=str(base.get("authority_host", "")),
        client_secret=str(base.get("client_secret", "")), auth_uri=str(base.get("auth_uri", "")),
        token_uri=str(base.get("token_uri", "")), revoke_uri=str(base.get("revoke_uri", "")),
        redirect_host=str(base.get("redirect_host", "localhost")), ca_file=str(base.get("ca_file", "")))
    if custom:
        cfg = replace(cfg, client_id=check_client_id(client_id), custom_client=True,
                      client_secret=client_secret if p == "google" else "")
    if tenant.strip() and p == "microsoft":
        cfg = replace(cfg, tenant=check_tenant(tenant))
    if not cfg.client_id:
        where = ("the profile's 'Client ID' field (app) or --client-id (command line)")
        if p == "microsoft":
            raise OAuthConfigError(
                "This copy of InboxReady has no Microsoft app registration built in (a build from source). "
                "Register an app in your organisation's Microsoft Entra admin center (a public client with the "
                "redirect URI http://localhost and the IMAP.AccessAsUser.All and SMTP.Send permissions of "
                f"Office 365 Exchange Online) and enter its Application (client) ID in {where}.")
        raise OAuthConfigError(
            "This copy of InboxReady has no Google app registration built in (a build from source). Create a "
            "'Desktop app' OAuth client in your Google Cloud console with the https://mail.google.com/ scope and "
            f"enter its client ID in {where}.")
    return cfg


__all__ = ["OAuthConfigError", "PROVIDERS", "PROVIDER_NAMES", "ProviderConfig", "check_client_id", "check_provider",
           "check_tenant", "endpoint_override", "provider_config"]
