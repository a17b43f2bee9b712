"""Refresh tokens in the system keyring, access tokens in memory.

Only the refresh token is stored (never the access token, the ID token or the account's details), in
the keyring under the service ``"InboxReady"`` and a key per account and app registration
(``oauth:microsoft:<client>:<tenant>:<user>``), so a sending and a reading profile of one mailbox share
one sign-in, as in Thunderbird. There is no file fallback: no keyring, no stored sign-in
(``KeyringUnavailable`` says so).

Windows Credential Manager holds at most 2,560 bytes per secret (``CRED_MAX_CREDENTIAL_BLOB_SIZE``), and
keyring stores text there as UTF-16: 1,280 characters. Microsoft's refresh tokens are opaque and often
longer than that. So a token is split into parts of at most ``CHUNK`` characters (2,000 bytes as UTF-16):
the first entry holds a small header (``ir1:<parts>:<sha256 prefix>:``) and the first part, the others
live under ``<key>#1``, ``<key>#2``... The parts are written last-first, so a reader never sees a new
header with old parts; the hash makes a mixed or partial set read as "not signed in" (sign in again),
never as a wrong token. A token longer than ``MAX_TOKEN`` characters is refused with a plain message
(no provider issues such tokens; a hostile or broken server might).
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from ..store.credentials import KEYRING_SERVICE, KeyringUnavailable, Secret, _backend, _keyring_failed, reveal
from .config import OAuthConfigError, ProviderConfig, provider_config

HEADER = "ir1"
CHUNK = 1000  # characters per keyring entry (2,000 bytes as UTF-16, under Windows' 2,560)
MAX_PARTS = 16
MAX_TOKEN = CHUNK * MAX_PARTS - 64  # 15,936 characters
REFRESH_MARGIN = 300.0  # refresh an access token this many seconds before it expires


class TokenTooLarge(ValueError):
    """The provider's refresh token is too large to keep in the keyring."""


class OAuthAccount(Protocol):
    """What the keyring key of a sign-in is made of (a mail profile that signs in with OAuth has these)."""

    @property
    def oauth_provider(self) -> str: ...
    @property
    def oauth_client_id(self) -> str: ...
    @property
    def oauth_tenant(self) -> str: ...
    @property
    def username(self) -> str: ...


def account_key(provider: str, client_id: str, tenant: str, username: str) -> str:
    """The keyring key of an account's sign-in (the user name in lower case)."""
    return f"oauth:{provider}:{client_id}:{tenant or '-'}:{username.strip().lower()}"


def key_for(profile: OAuthAccount, cfg: ProviderConfig | None = None) -> str:
    """The keyring key of the profile's sign-in (shared by the profiles of one account and app)."""
    if cfg is None:
        try:
            cfg = provider_config(profile.oauth_provider, client_id=profile.oauth_client_id,
                                  tenant=profile.oauth_tenant)
        except OAuthConfigError:
            return account_key(profile.oauth_provider, profile.oauth_client_id or "-",
                                      profile.oauth_tenant, profile.username)
    return account_key(cfg.provider, cfg.client_id, cfg.tenant if cfg.provider == "microsoft" else "",
                              profile.username)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def split_token(value: str) -> list[str]:
    """The keyring entries for ``value``: a header plus the first part, then the other parts."""
    if not value:
        raise ValueError("empty token")
    if len(value) > MAX_TOKEN:
        raise TokenTooLarge(
            f"The provider gave a sign-in token of {len(value):,} characters; InboxReady keeps at most "
            f"{MAX_TOKEN:,} in the system keyring, so this sign-in can't be kept. This is unusual: try again, "
            "and if it keeps happening, report it.")
    if any(ord(c) < 32 or ord(c) > 126 for c in value):
        raise TokenTooLarge("The provider gave a sign-in token with characters a token can't contain; it was "
                            "not kept. Try signing in again.")
    parts = [value[i:i + CHUNK] for i in range(0, len(value), CHUNK)]
    return [f"{HEADER}:{len(parts)}:{_digest(value)}:{parts[0]}", *parts[1:]]


def store_refresh_token(key: str, value: "str | Secret") -> None:
    """Keep ``value`` in the keyring under ``key`` (``KeyringUnavailable``, ``TokenTooLarge``)."""
    token = reveal(value)
    entries = split_token(token)
    kr = _backend()
    try:
        for i in range(len(entries) - 1, -1, -1):  # parts first, the header last
            kr.set_password(KEYRING_SERVICE, key if i == 0 else f"{key}#{i}", entries[i])
    except Exception as exc:
        raise _keyring_failed("store the sign-in", exc, token) from None
    for i in range(len(entries), MAX_PARTS):  # parts of an older, longer token
        if not _delete(kr, f"{key}#{i}"):
            break


def load_refresh_token(key: str) -> Secret | None:
    """The refresh token stored under ``key``; None when none is (or the stored parts don't fit together:
    a sign-in again stores a whole one)."""
    kr = _backend()
    try:
        first = kr.get_password(KEYRING_SERVICE, key)
    except Exception as exc:
        raise _keyring_failed("give the sign-in", exc) from None
    if not first:
        return None
    bits = first.split(":", 3)
    if len(bits) != 4 or bits[0] != HEADER or not bits[1].isdigit() or not 1 <= int(bits[1]) <= MAX_PARTS:
        return None
    parts = [bits[3]]
    try:
        for i in range(1, int(bits[1])):
            part = kr.get_password(KEYRING_SERVICE, f"{key}#{i}")
            if part is None:
                return None
            parts.append(part)
    except Exception as exc:
        raise _keyring_failed("give the sign-in", exc) from None
    token = "".join(parts)
    return Secret(token) if _digest(token) == bits[2] else None


def delete_refresh_token(key: str) -> bool:
    """Forget the sign-in stored under ``key`` (every part); False when none was stored."""
    kr = _backend()
    found = _delete(kr, key)
    for i in range(1, MAX_PARTS):
        if not _delete(kr, f"{key}#{i}"):
            break
    forget_access_token(key)
    return found


def _delete(kr: object, name: str) -> bool:
    import keyring.errors

    try:
        kr.delete_password(KEYRING_SERVICE, name)  # type: ignore[attr-defined]
    except keyring.errors.PasswordDeleteError:
        return False
    except Exception as exc:
        raise _keyring_failed("delete the sign-in", exc) from None
    return True


def client_secret_key(client_id: str) -> str:
    return f"oauth-client:google:{client_id}"


# -- access tokens: memory only -----------------------------------------------------------------------

@dataclass(frozen=True)
class AccessToken:
    token: Secret
    expires_at: float  # time.time()
    scopes: tuple[str, ...] = ()

    def fresh(self, margin: float = REFRESH_MARGIN) -> bool:
        return time.time() < self.expires_at - margin


_ACCESS: dict[str, AccessToken] = {}
_LOCK = threading.Lock()


def cached_access_token(key: str) -> AccessToken | None:
    with _LOCK:
        t = _ACCESS.get(key)
    return t if t is not None and t.fresh() else None


def remember_access_token(key: str, token: AccessToken) -> None:
    with _LOCK:
        _ACCESS[key] = token


def forget_access_token(key: str) -> None:
    with _LOCK:
        _ACCESS.pop(key, None)


def forget_all_access_tokens() -> None:
    with _LOCK:
        _ACCESS.clear()


__all__ = ["AccessToken", "CHUNK", "KeyringUnavailable", "MAX_TOKEN", "REFRESH_MARGIN", "TokenTooLarge",
           "account_key", "cached_access_token", "client_secret_key", "delete_refresh_token", "forget_access_token",
           "forget_all_access_tokens", "load_refresh_token", "remember_access_token", "split_token",
           "store_refresh_token"]
