"""DNS-host accounts: a provider (dns-lexicon's name for it) and its options in a profile, its secrets only in
the system keyring.

Accounts live in ``dns_accounts.json`` in the config folder (``settings.config_dir()``), written atomically;
a secret (an API token, a key's secret half) never goes there, nor into a log or JSON output: it is kept in
the keyring (service ``"InboxReady"``, user name ``dns:ACCOUNT:OPTION``) through the same functions as the
mail profiles' passwords, so a missing keyring backend is explained (``KeyringUnavailable``) and there is
never a file fallback. Options are lexicon's own names for that provider (for PowerDNS: ``pdns_server``,
``pdns_server_id`` and the secret ``auth_token``); ``provider_options(provider)`` lists them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..store.credentials import (
    NO_KEYRING_HELP, KeyringUnavailable, Secret, delete_password, get_password, set_password,
)
from ..store.settings import atomic_write_text, config_dir, file_object, read_json_file

NO_KEYRING_FOR_TOKENS = (
    "InboxReady keeps the API tokens of DNS accounts only in your system's keyring, and none is available on "
    "this computer, so nothing was saved. On a Linux desktop, install and unlock a Secret Service (GNOME Keyring "
    "or KWallet) and try again. On a server without a desktop, you can install an alternative store with 'pip "
    "install keyrings.alt' and select it deliberately in keyring's configuration file (keyringrc.cfg, see "
    "'python -m keyring diagnose'); note that some of its stores keep secrets in a file that anyone with access "
    "to your account can read. Publishing needs the token stored: there is no way to give it for one run only.")


def _for_tokens(exc: KeyringUnavailable) -> KeyringUnavailable:
    """The keyring's trouble in the words of DNS accounts (tokens, not mail passwords)."""
    text = str(exc)
    if text == NO_KEYRING_HELP:
        return KeyringUnavailable(NO_KEYRING_FOR_TOKENS)
    return KeyringUnavailable(text.replace("store the password", "store the token").replace(
        "give the password", "give the token").replace("delete the password", "delete the token"))

ACCOUNTS_FILE = "dns_accounts.json"
ACCOUNTS_VERSION = 1
MAX_NAME = 64
_SECRET_WORDS = re.compile(r"(token|secret|password|passwd|api_key|apikey|auth_key|private|credential|"
                           r"service_account_info|consumer_key)", re.I)

__all__ = ["AccountError", "DnsAccount", "AccountStore", "KeyringUnavailable", "provider_options",
           "looks_secret"]


class AccountError(ValueError):
    """An account that can't be used as given (the message says why, in plain words)."""


def looks_secret(option: str) -> bool:
    """True for option names that hold a credential (``auth_token``, ``auth_secret``, ``api_key`` …)."""
    return bool(_SECRET_WORDS.search(option))


def provider_options(provider: str) -> list[str]:
    """The option names lexicon's ``provider`` takes (AccountError when lexicon has no such provider)."""
    from .lexicon_adapter import provider_option_names

    return provider_option_names(provider)


def _check_name(name: str) -> str:
    n = name.strip()
    if not n:
        raise AccountError("Give the account a name.")
    if len(n) > MAX_NAME:
        raise AccountError(f"An account name can be at most {MAX_NAME} characters.")
    if any(ord(c) < 32 or ord(c) == 127 for c in n) or ":" in n:
        raise AccountError("An account name can't contain control characters or ':'.")
    return n


@dataclass
class DnsAccount:
    name: str
    provider: str
    options: dict[str, str] = field(default_factory=dict)  # lexicon option → value (never a secret)
    secrets: list[str] = field(default_factory=list)  # names of the options kept in the keyring
    domains: list[str] = field(default_factory=list)  # zones published through this account

    def __post_init__(self) -> None:
        self.name = _check_name(self.name)
        self.provider = self.provider.strip().lower()
        if not self.provider:
            raise AccountError("Say which DNS host this account is at (--provider, lexicon's name for it).")
        self.options = {str(k).strip(): str(v) for k, v in self.options.items() if str(k).strip()}
        self.secrets = list(dict.fromkeys(str(s).strip() for s in self.secrets if str(s).strip()))
        self.domains = list(dict.fromkeys(str(d).strip().lower().rstrip(".") for d in self.domains if str(d).strip()))

    def secret_id(self, option: str) -> str:
        return f"dns:{self.name}:{option}"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "provider": self.provider, "options": dict(self.options),
                "secrets": list(self.secrets), "domains": list(self.domains)}

    @classmethod
    def from_json(cls, data: Any) -> "DnsAccount":
        if not isinstance(data, dict):
            raise AccountError("an account must be a JSON object")
        opts = data.get("options", {})
        return cls(name=str(data.get("name", "")), provider=str(data.get("provider", "")),
                   options={str(k): str(v) for k, v in opts.items()} if isinstance(opts, dict) else {},
                   secrets=[str(s) for s in data.get("secrets", []) if isinstance(s, str)],
                   domains=[str(d) for d in data.get("domains", []) if isinstance(d, str)])

    def read_secrets(self) -> dict[str, Secret]:
        """Every secret of the account from the keyring; AccountError names one that is missing."""
        out: dict[str, Secret] = {}
        for opt in self.secrets:
            try:
                value = get_password(self.secret_id(opt))
            except KeyringUnavailable as exc:
                raise _for_tokens(exc) from None
            if value is None:
                raise AccountError(f"The keyring has no {opt} for the DNS account {self.name!r}; add the account "
                                   "again to store it.")
            out[opt] = value
        return out


class AccountStore:
    """The accounts file (default ``config_dir()/dns_accounts.json``); tolerant load, atomic save."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else config_dir() / ACCOUNTS_FILE
        self.accounts: dict[str, DnsAccount] = {}
        self.problem = ""
        self.load()

    def load(self) -> None:
        self.accounts = {}
        read = read_json_file(self.path, file_object,
                              unreadable="Your DNS accounts could not be read ({reason}).",
                              damaged="Your DNS accounts file was damaged, so it was set aside.")
        self.problem, data = read.problem, read.value
        if data is None:
            return
        skipped = 0
        for item in data.get("accounts", []) if isinstance(data.get("accounts"), list) else []:
            try:
                acc = DnsAccount.from_json(item)
            except (AccountError, ValueError, TypeError):
                skipped += 1
                continue
            self.accounts[acc.name] = acc
        if skipped:
            self.problem = f"{skipped} DNS account(s) in the accounts file could not be read and were skipped."

    def save(self) -> None:
        data = {"version": ACCOUNTS_VERSION,
                "accounts": [a.to_json() for a in sorted(self.accounts.values(), key=lambda a: a.name.lower())]}
        atomic_write_text(self.path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def get(self, name: str) -> DnsAccount:
        acc = self.accounts.get(name.strip())
        if acc is None:
            known = ", ".join(sorted(self.accounts)) or "none yet"
            raise AccountError(f"There is no DNS account called {name.strip()!r} (accounts: {known}).")
        return acc

    def all(self) -> list[DnsAccount]:
        return sorted(self.accounts.values(), key=lambda a: a.name.lower())

    def for_provider(self, provider: str) -> list[DnsAccount]:
        return [a for a in self.all() if a.provider == provider]

    def put(self, account: DnsAccount, secrets: dict[str, "str | Secret"] | None = None) -> None:
        """Add or replace ``account``; its secrets go to the keyring first (if the keyring refuses, nothing is
        saved and ``KeyringUnavailable`` says why)."""
        for opt, value in (secrets or {}).items():
            if opt not in account.secrets:
                account.secrets.append(opt)
            try:
                set_password(account.secret_id(opt), value)
            except KeyringUnavailable as exc:
                raise _for_tokens(exc) from None
        old = self.accounts.get(account.name)
        self.accounts[account.name] = account
        self.save()
        if old is not None:  # secrets the new version no longer has
            for opt in old.secrets:
                if opt not in account.secrets:
                    try:
                        delete_password(old.secret_id(opt))
                    except KeyringUnavailable:
                        pass

    def remember_domain(self, account: DnsAccount, zone: str) -> None:
        z = zone.strip().lower().rstrip(".")
        if z and z not in account.domains:
            account.domains.append(z)
            self.accounts[account.name] = account
            self.save()

    def remove(self, account: DnsAccount) -> None:
        """Delete ``account`` and its secrets (a keyring that can't be reached doesn't stop the removal)."""
        self.accounts.pop(account.name, None)
        self.save()
        for opt in account.secrets:
            try:
                delete_password(account.secret_id(opt))
            except KeyringUnavailable:
                pass
