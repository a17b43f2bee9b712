"""Mail account profiles: sending (SMTP) and reading (IMAP), their passwords, presets, and what a
connection attempt tells the user.

Profiles live in ``profiles.json`` in the config folder (``settings.config_dir()``; ``INBOXREADY_HOME``
moves it), written atomically. Passwords never go there: they are kept in the operating system's
keyring (``keyring``; service ``"InboxReady"``, user name = the profile id, ``send:NAME`` or
``read:NAME``). When the computer has no usable keyring (a headless Linux box without a Secret
Service), ``KeyringUnavailable`` says so and how to fix it; there is no silent fallback to a file.

``ConnectionResult`` is the typed outcome of a connection attempt ("Test connection", a send, a
watch): ``ok``, a stable ``code`` (``conn.wrong-password`` ...) and a ``message`` in plain words. The
SMTP and IMAP modules build it with the classifiers here; passwords are scrubbed from every text.
"""

from __future__ import annotations

import logging
import asyncio
import errno
import json
import re
import socket
import ssl
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable, ClassVar, TypeVar

from ..store.credentials import (
    KeyringUnavailable, Secret, delete_password, get_password, reveal, scrub, set_password,
)
from ..store.settings import atomic_write_text, config_dir, file_object, read_json_file
from ..model import JsonShapeError, json_num, json_object, json_str

log = logging.getLogger(__name__)

PROFILES_FILE = "profiles.json"
PROFILES_VERSION = 1
PRESETS_FILE = "mail_providers.json"
MAX_NAME = 64

T = TypeVar("T")


# -- secrets (kept in the keyring: ``store.credentials``) ----------------------------------------

def scrub_result(result: "ConnectionResult", secret: "str | Secret | None", user: str = "") -> "ConnectionResult":
    """``result`` with the secret scrubbed from its message, detail and server reply."""
    from dataclasses import replace

    if not reveal(secret):
        return result
    return replace(result, message=scrub(result.message, secret, user=user),
                   detail=scrub(result.detail, secret, user=user),
                   server_reply=scrub(result.server_reply, secret, user=user))


# -- profiles ---------------------------------------------------------------------------------------

class Security(StrEnum):
    """How the connection is protected."""

    SSL = "ssl"  # implicit TLS: encrypted from the first byte (ports 465, 993)
    STARTTLS = "starttls"  # plain connection upgraded with STARTTLS (ports 587, 143)
    NONE = "none"  # no encryption: password and mail cross the network readable by anyone on the way

    @classmethod
    def parse(cls, text: str) -> "Security":
        t = str(text).strip().lower().replace("-", "").replace("_", "").replace("/", "")
        aliases = {"ssl": cls.SSL, "tls": cls.SSL, "ssltls": cls.SSL, "implicit": cls.SSL, "implicittls": cls.SSL,
                   "smtps": cls.SSL, "imaps": cls.SSL, "starttls": cls.STARTTLS, "none": cls.NONE,
                   "plain": cls.NONE, "insecure": cls.NONE, "off": cls.NONE}
        if t not in aliases:
            raise ProfileError(f"{text!r} is not a security setting; use ssl, starttls or none.")
        return aliases[t]


def security_for_port(port: int) -> Security:
    """The usual setting for a port: 465 and 993 are encrypted from the start, the others use STARTTLS."""
    return Security.SSL if port in (465, 993, 995, 2465) else Security.STARTTLS


def split_host_port(text: str, default_port: int) -> tuple[str, int]:
    """``"smtp.example.com:465"`` → ``("smtp.example.com", 465)``; ``"[::1]:993"`` and a bare host work
    too. ``ProfileError`` when the port isn't a number."""
    t = text.strip()
    if t.startswith("["):
        host, _, rest = t[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif t.count(":") == 1:
        host, port_text = t.split(":")
    else:
        host, port_text = t, ""
    port = _check_port(port_text) if port_text else default_port
    return _check_host(host), port


INSECURE_WARNING = ("This profile uses no encryption: your password and the test message cross the network "
                    "where anyone on the way can read them. Use it only on a network you control.")


class ProfileError(ValueError):
    """A profile that can't be used as given (the message says why, in plain words)."""


_HOST_RE = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:]+:[0-9A-Fa-f:.]*|[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252}))$")
_ADDR_RE = re.compile(r"^[^\s@<>\"(),;:]+@[^\s@<>\"(),;:\[\]]+\.[^\s@<>\"(),;:\[\]]+$|^[^\s@<>\"(),;:]+@(?:localhost|\[[0-9.:A-Fa-f]+\])$")


def valid_address(text: str) -> bool:
    """A plain ``local@domain`` address (no display name, no spaces)."""
    return bool(_ADDR_RE.match(text.strip())) and len(text) <= 254


def _check_name(name: str) -> str:
    n = name.strip()
    if not n:
        raise ProfileError("Give the profile a name.")
    if len(n) > MAX_NAME:
        raise ProfileError(f"A profile name can be at most {MAX_NAME} characters.")
    if any(ord(c) < 32 or ord(c) == 127 for c in n):
        raise ProfileError("A profile name can't contain control characters.")
    return n


def _check_host(host: str) -> str:
    h = host.strip().rstrip(".")
    if not h:
        raise ProfileError("Give the server's host name (for example smtp.example.com).")
    if "://" in h or "/" in h or " " in h or not _HOST_RE.match(h):
        raise ProfileError(f"{host.strip()!r} is not a server host name; type just the name, like "
                           "smtp.example.com, without http:// or a path.")
    return h.strip("[]")


def _check_port(port: Any) -> int:
    try:
        p = int(port)
    except (TypeError, ValueError, OverflowError):
        raise ProfileError(f"{port!r} is not a port number.") from None
    if not 1 <= p <= 65535:
        raise ProfileError(f"{p} is not a port number (1 to 65535).")
    return p


def _check_ca(path: str) -> str:
    p = path.strip()
    if p and len(p) > 4096:
        raise ProfileError("The CA file path is too long.")
    return p


class _ServerAccount:
    """What sending and reading profiles share: the server, its security and the account's id."""

    name: str
    host: str
    port: int
    security: Security
    username: str
    auth: str
    oauth_provider: str
    oauth_client_id: str
    oauth_tenant: str
    kind: ClassVar[str]

    def _check_server(self) -> None:
        self.name = _check_name(self.name)
        self.host = _check_host(self.host)
        self.port = _check_port(self.port)
        self.security = Security.parse(str(self.security))
        self.username = self.username.strip()
        self._check_auth()

    def _check_auth(self) -> None:
        """``auth`` is "password" or "oauth" (sign in with ``oauth_provider``: microsoft or google, with
        InboxReady's app registration unless ``oauth_client_id``/``oauth_tenant`` name the organisation's)."""
        from ..auth.config import OAuthConfigError, check_client_id, check_provider, check_tenant

        self.auth = (self.auth or "password").strip().lower()
        if self.auth not in ("password", "oauth"):
            raise ProfileError(f"{self.auth!r} is not a way to sign in; use password or oauth.")
        if self.auth == "password":
            self.oauth_provider = self.oauth_client_id = self.oauth_tenant = ""
            return
        try:
            self.oauth_provider = check_provider(self.oauth_provider)
            self.oauth_client_id = check_client_id(self.oauth_client_id)
            self.oauth_tenant = check_tenant(self.oauth_tenant) if self.oauth_provider == "microsoft" else ""
        except OAuthConfigError as exc:
            raise ProfileError(str(exc)) from None
        if not self.username:
            raise ProfileError("Give the mailbox's address as the user name: sign-in with "
                               f"{self.oauth_provider.title()} needs it.")
        if self.security is Security.NONE:
            raise ProfileError("Sign-in with Microsoft or Google needs an encrypted connection: choose SSL/TLS or "
                               "STARTTLS.")

    @property
    def uses_oauth(self) -> bool:
        return self.auth == "oauth"

    def _auth_json(self) -> dict[str, Any]:
        if not self.uses_oauth:
            return {}
        return {"auth": "oauth", "oauth_provider": self.oauth_provider, "oauth_client_id": self.oauth_client_id,
                "oauth_tenant": self.oauth_tenant}

    @staticmethod
    def _auth_args(data: dict[str, Any]) -> dict[str, Any]:
        return {k: str(data.get(k, "") or "") for k in ("auth", "oauth_provider", "oauth_client_id", "oauth_tenant")}

    @property
    def id(self) -> str:
        """The key of the password in the keyring: ``send:NAME`` or ``read:NAME``."""
        return f"{self.kind}:{self.name}"

    @property
    def insecure(self) -> bool:
        return self.security is Security.NONE

    @property
    def warnings(self) -> list[str]:
        return [INSECURE_WARNING] if self.insecure else []


@dataclass
class SendProfile(_ServerAccount):
    """How to send mail: an SMTP submission server and the account on it."""

    name: str
    host: str
    port: int = 587
    security: Security = Security.STARTTLS
    username: str = ""
    from_addr: str = ""  # the From address of test messages
    from_name: str = ""
    ca_file: str = ""  # a PEM file of extra CAs to trust (a private CA), in addition to the system's
    preset: str = ""  # id of the provider preset it was made from ("" = custom)
    auth: str = "password"  # "password" | "oauth"
    oauth_provider: str = ""  # "microsoft" | "google"
    oauth_client_id: str = ""  # the organisation's own app registration ("" = InboxReady's)
    oauth_tenant: str = ""  # Microsoft: the organisation's tenant ("" = common)

    kind: ClassVar[str] = "send"

    def __post_init__(self) -> None:
        self._check_server()
        self.from_addr = self.from_addr.strip()
        if self.from_addr and not valid_address(self.from_addr):
            raise ProfileError(f"{self.from_addr!r} is not an e-mail address (like news@example.com).")
        self.from_name = self.from_name.strip()
        self.ca_file = _check_ca(self.ca_file)

    @property
    def sender(self) -> str:
        """The From address: ``from_addr``, else the user name when it is an address."""
        if self.from_addr:
            return self.from_addr
        return self.username if valid_address(self.username) else ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "host": self.host, "port": self.port, "security": str(self.security),
                "username": self.username, "from_addr": self.from_addr, "from_name": self.from_name,
                "ca_file": self.ca_file, "preset": self.preset, **self._auth_json()}

    @classmethod
    def from_json(cls, data: Any) -> "SendProfile":
        if not isinstance(data, dict):
            raise ProfileError("a sending profile must be a JSON object")
        return cls(name=str(data.get("name", "")), host=str(data.get("host", "")), port=data.get("port", 587),
                   security=Security.parse(str(data.get("security", "starttls"))),
                   username=str(data.get("username", "")), from_addr=str(data.get("from_addr", "")),
                   from_name=str(data.get("from_name", "")), ca_file=str(data.get("ca_file", "")),
                   preset=str(data.get("preset", "")), **cls._auth_args(data))


@dataclass
class ReadProfile(_ServerAccount):
    """How to read mail: an IMAP server and the mailbox that receives the test messages."""

    name: str
    host: str
    port: int = 993
    security: Security = Security.SSL
    username: str = ""
    address: str = ""  # the mailbox's e-mail address (where test messages go); default: the user name
    folders: list[str] = field(default_factory=list)  # folders to watch; [] = INBOX and the Junk folder
    ca_file: str = ""
    preset: str = ""
    authserv_ids: list[str] = field(default_factory=list)  # the receiver's Authentication-Results ids
    auth: str = "password"
    oauth_provider: str = ""
    oauth_client_id: str = ""
    oauth_tenant: str = ""

    kind: ClassVar[str] = "read"

    def __post_init__(self) -> None:
        self._check_server()
        self.address = self.address.strip()
        if self.address and not valid_address(self.address):
            raise ProfileError(f"{self.address!r} is not an e-mail address.")
        self.folders = [f.strip() for f in self.folders if isinstance(f, str) and f.strip()]
        self.ca_file = _check_ca(self.ca_file)
        self.authserv_ids = [a.strip().lower().rstrip(".") for a in self.authserv_ids
                             if isinstance(a, str) and a.strip()]

    @property
    def mailbox_address(self) -> str:
        """Where test messages are sent: ``address``, else the user name when it is an address."""
        if self.address:
            return self.address
        return self.username if valid_address(self.username) else ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "host": self.host, "port": self.port, "security": str(self.security),
                "username": self.username, "address": self.address, "folders": list(self.folders),
                "ca_file": self.ca_file, "preset": self.preset, "authserv_ids": list(self.authserv_ids),
                **self._auth_json()}

    @classmethod
    def from_json(cls, data: Any) -> "ReadProfile":
        if not isinstance(data, dict):
            raise ProfileError("a reading profile must be a JSON object")
        folders = data.get("folders", [])
        ids = data.get("authserv_ids", [])
        return cls(name=str(data.get("name", "")), host=str(data.get("host", "")), port=data.get("port", 993),
                   security=Security.parse(str(data.get("security", "ssl"))),
                   username=str(data.get("username", "")), address=str(data.get("address", "")),
                   folders=[str(f) for f in folders] if isinstance(folders, list) else [],
                   ca_file=str(data.get("ca_file", "")), preset=str(data.get("preset", "")),
                   authserv_ids=[str(i) for i in ids] if isinstance(ids, list) else [], **cls._auth_args(data))


Profile = SendProfile | ReadProfile


# -- presets ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ServerPreset:
    host: str
    port: int
    security: Security
    alternatives: tuple[tuple[int, Security], ...] = ()
    junk_folder: str = ""


@dataclass(frozen=True)
class Preset:
    """A provider's servers and sign-in guidance (``rules/mail_providers.json``)."""

    id: str
    name: str
    kind: str  # "mailbox" (send and read) | "relay" (send only)
    domains: tuple[str, ...]
    smtp: ServerPreset | None
    imap: ServerPreset | None
    authserv_ids: tuple[str, ...]
    username: str  # what to type as user name
    password_help: str  # which password to use, and where to create it
    app_password_url: str = ""
    notes: str = ""
    oauth: str = ""  # "microsoft" | "google": profiles made from this preset sign in with it by default
    oauth_help: str = ""  # what signing in involves (shown instead of password_help when it is used)

    def _auth(self, oauth: bool | None) -> dict[str, Any]:
        use = bool(self.oauth) if oauth is None else (oauth and bool(self.oauth))
        return {"auth": "oauth", "oauth_provider": self.oauth} if use else {}

    def send_profile(self, name: str, *, username: str = "", from_addr: str = "", from_name: str = "",
                     oauth: bool | None = None) -> SendProfile:
        if self.smtp is None:
            raise ProfileError(f"{self.name} has no sending server preset.")
        return SendProfile(name=name, host=self.smtp.host, port=self.smtp.port, security=self.smtp.security,
                           username=username, from_addr=from_addr, from_name=from_name, preset=self.id,
                           **self._auth(oauth))

    def read_profile(self, name: str, *, username: str = "", address: str = "", oauth: bool | None = None) -> ReadProfile:
        if self.imap is None:
            raise ProfileError(f"{self.name} is a sending service only; it has no mailbox to read.")
        return ReadProfile(name=name, host=self.imap.host, port=self.imap.port, security=self.imap.security,
                           username=username, address=address, preset=self.id,
                           authserv_ids=list(self.authserv_ids), **self._auth(oauth))


def _server(data: Any) -> ServerPreset | None:
    if not isinstance(data, dict):
        return None
    alts = tuple((int(a["port"]), Security.parse(a["security"])) for a in data.get("alternatives", []))
    return ServerPreset(host=str(data["host"]), port=int(data["port"]), security=Security.parse(data["security"]),
                        alternatives=alts, junk_folder=str(data.get("junk_folder", "")))


@lru_cache(maxsize=1)
def load_presets() -> tuple[Preset, ...]:
    """The built-in provider presets, in display order."""
    text = resources.files("inboxready.core.rules").joinpath(PRESETS_FILE).read_text(encoding="utf-8")
    data = json.loads(text)
    return tuple(
        Preset(id=str(p["id"]), name=str(p["name"]), kind=str(p["kind"]),
               domains=tuple(str(d).lower() for d in p.get("domains", [])), smtp=_server(p.get("smtp")),
               imap=_server(p.get("imap")), authserv_ids=tuple(str(a).lower() for a in p.get("authserv_ids", [])),
               username=str(p.get("username", "")), password_help=str(p.get("password_help", "")),
               app_password_url=str(p.get("app_password_url", "")), notes=str(p.get("notes", "")),
               oauth=str(p.get("oauth", "")), oauth_help=str(p.get("oauth_help", "")))
        for p in data["providers"])


def get_preset(preset_id: str) -> Preset | None:
    for p in load_presets():
        if p.id == preset_id:
            return p
    return None


def org_of_host(host: str) -> str:
    """A host's organizational domain by the simple rule (``smtp.gmail.com`` → ``gmail.com``); an IP
    address stays as it is."""
    import ipaddress

    from .trust import simple_org_domain

    h = host.strip().strip("[]").lower()
    try:
        return str(ipaddress.ip_address(h))
    except ValueError:
        return simple_org_domain(h)


def preset_for_host(host: str) -> Preset | None:
    """The preset whose SMTP or IMAP server shares ``host``'s organizational domain."""
    org = org_of_host(host)
    for p in load_presets():
        for s in (p.smtp, p.imap):
            if s is not None and org_of_host(s.host) == org:
                return p
    return None


def trusted_ids_for(profile: ReadProfile) -> list[str] | None:
    """The authserv-ids to believe for mail read through ``profile``: its own list, else its
    provider's (by preset, else by host name); None when unknown (the topmost header is believed)."""
    if profile.authserv_ids:
        return list(profile.authserv_ids)
    p = get_preset(profile.preset) if profile.preset else preset_for_host(profile.host)
    return list(p.authserv_ids) if p is not None and p.authserv_ids else None


def preset_for_domain(domain: str) -> Preset | None:
    """The mailbox provider that owns the address domain ``domain`` (gmail.com → Gmail)."""
    d = domain.strip().lower().rstrip(".")
    for p in load_presets():
        if any(d == x or d.endswith("." + x) for x in p.domains):
            return p
    return None


# -- the store --------------------------------------------------------------------------------------

class ProfileStore:
    """Sending and reading profiles in ``profiles.json`` (default: ``config_dir()/profiles.json``).

    ``load()`` is tolerant: a damaged file is moved aside (``problem`` says so), a bad entry is
    skipped. Every change is saved at once, atomically."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else config_dir() / PROFILES_FILE
        self.send: dict[str, SendProfile] = {}
        self.read: dict[str, ReadProfile] = {}
        self.problem = ""
        self.load()

    def load(self) -> None:
        self.send, self.read = {}, {}
        read = read_json_file(self.path, file_object,
                              unreadable="Your mail profiles could not be read ({reason}).",
                              damaged="Your mail profiles file was damaged, so it was set aside.")
        self.problem, data = read.problem, read.value
        if data is None:
            return
        skipped = 0
        for key, cls, target in (("send", SendProfile, self.send), ("read", ReadProfile, self.read)):
            items = data.get(key, [])
            for item in items if isinstance(items, list) else []:
                try:
                    p = cls.from_json(item)
                except (ProfileError, ValueError, TypeError, KeyError):
                    skipped += 1
                    continue
                target[p.name] = p  # type: ignore[assignment]
        if skipped:
            self.problem = f"{skipped} mail profile(s) in the profiles file could not be read and were skipped."

    def save(self) -> None:
        data = {"version": PROFILES_VERSION,
                "send": [p.to_json() for p in sorted(self.send.values(), key=lambda p: p.name.lower())],
                "read": [p.to_json() for p in sorted(self.read.values(), key=lambda p: p.name.lower())]}
        atomic_write_text(self.path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    # access
    def get_send(self, name: str) -> SendProfile:
        p = self.send.get(name.strip())
        if p is None:
            raise ProfileError(f"There is no sending profile called {name.strip()!r}.")
        return p

    def get_read(self, name: str) -> ReadProfile:
        p = self.read.get(name.strip())
        if p is None:
            raise ProfileError(f"There is no reading profile called {name.strip()!r}.")
        return p

    def find(self, name: str) -> list[Profile]:
        """Every profile called ``name`` (a sending and a reading profile may share a name)."""
        n = name.strip()
        return [p for p in (self.send.get(n), self.read.get(n)) if p is not None]

    def all(self) -> list[Profile]:
        return [*sorted(self.send.values(), key=lambda p: p.name.lower()),
                *sorted(self.read.values(), key=lambda p: p.name.lower())]

    def put(self, profile: Profile, password: "str | Secret | None" = None) -> None:
        """Add or replace ``profile``; with ``password``, store it in the keyring first (if the keyring
        refuses, nothing is saved and ``KeyringUnavailable`` says why)."""
        if password is not None:
            set_password(profile.id, password)
        if isinstance(profile, SendProfile):
            self.send[profile.name] = profile
        else:
            self.read[profile.name] = profile
        self.save()

    def remove(self, profile: Profile) -> None:
        """Delete ``profile`` and its password (a keyring that can't be reached doesn't stop the removal)."""
        if isinstance(profile, SendProfile):
            self.send.pop(profile.name, None)
        else:
            self.read.pop(profile.name, None)
        self.save()
        try:
            delete_password(profile.id)
            if profile.uses_oauth:  # the account's sign-in goes too, unless another profile still uses it
                from ..auth.tokens import delete_refresh_token, key_for

                if not any(p.uses_oauth and key_for(p) == key_for(profile) for p in self.all()):
                    delete_refresh_token(key_for(profile))  # (auth.flows.sign_out)
        except KeyringUnavailable:
            pass


# -- connection outcomes ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ConnectionResult:
    """What a connection attempt came to. ``code`` is stable; ``message`` is for people; ``detail`` is
    the technical reason (the server's reply or the error), with passwords scrubbed."""

    ok: bool
    code: str
    message: str
    detail: str = ""
    stage: str = ""  # connect | tls | auth | send | select | watch | keyring
    server_reply: str = ""
    elapsed_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "code": self.code, "message": self.message, "detail": self.detail,
                "stage": self.stage, "server_reply": self.server_reply, "elapsed_ms": round(self.elapsed_ms, 1)}

    @classmethod
    def from_json(cls, data: Any) -> "ConnectionResult":
        d = json_object(data, "connection result")
        ok = d.get("ok")
        if not isinstance(ok, bool):
            raise JsonShapeError("'ok': expected true or false")
        return cls(ok=ok, code=json_str(d, "code"), message=json_str(d, "message"), detail=json_str(d, "detail", ""),
                   stage=json_str(d, "stage", ""), server_reply=json_str(d, "server_reply", ""),
                   elapsed_ms=json_num(d, "elapsed_ms"))


class TransportError(Exception):
    """A failed connection step, carrying its ``ConnectionResult`` (``str()`` is the plain message)."""

    def __init__(self, result: ConnectionResult) -> None:
        super().__init__(result.message)
        self.result = result


def ssl_context(profile: Profile) -> ssl.SSLContext:
    """Certificate verification with the system's CAs, plus the profile's CA file when it has one."""
    ctx = ssl.create_default_context()
    if profile.ca_file:
        try:
            ctx.load_verify_locations(cafile=profile.ca_file)
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise TransportError(ConnectionResult(
                False, "conn.ca-file",
                f"The CA file {profile.ca_file} could not be used; check that it exists and holds PEM "
                "certificates.", f"{type(exc).__name__}: {exc}", stage="tls")) from None
    return ctx


def _where(profile: Profile) -> str:
    return f"{profile.host} port {profile.port}"


def _password_hint(profile: Profile) -> str:
    p = get_preset(profile.preset) if profile.preset else preset_for_host(profile.host)
    return f" {p.password_help}" if p is not None and p.password_help else ""


def _port_hint(profile: Profile) -> str:
    if profile.security is Security.SSL:
        return (f" The profile expects an encrypted connection from the start (SSL/TLS), which ports "
                f"{'465' if profile.kind == 'send' else '993'} use; if this port expects STARTTLS or plain text, "
                "change the security setting.")
    return (" The profile starts in plain text; if this port expects encryption from the start (ports 465 "
            "and 993), choose SSL/TLS.")


def network_error(exc: BaseException, profile: Profile, *, stage: str, timeout: float | None = None,
                  secret: "str | Secret | None" = None) -> ConnectionResult | None:
    """Plain words for a network or TLS failure, or None when ``exc`` is not one."""
    where = _where(profile)
    tech = scrub(f"{type(exc).__name__}: {exc}", secret)[:500]
    if isinstance(exc, ssl.SSLCertVerificationError):
        vcode = getattr(exc, "verify_code", 0)
        vmsg = getattr(exc, "verify_message", "") or ""
        if vcode in (62, 64) or "mismatch" in vmsg.lower():
            return ConnectionResult(False, "conn.tls-hostname",
                                    f"The server at {where} showed a security certificate for a different name, "
                                    f"so the connection was stopped. Check the host name (it must be the name the "
                                    f"certificate is made for; the provider's help page gives it).", tech, stage)
        if vcode == 10 or "expired" in vmsg.lower():
            return ConnectionResult(False, "conn.tls-certificate",
                                    f"The security certificate of {where} has expired, so the connection was "
                                    "stopped. The server's owner must renew it.", tech, stage)
        return ConnectionResult(False, "conn.tls-certificate",
                                f"The security certificate of {where} could not be verified (it is self-signed or "
                                "issued by an authority this computer doesn't trust), so the connection was "
                                "stopped. If the server uses your organisation's own certificate authority, add "
                                "its certificate as the profile's CA file.", tech, stage)
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)) and stage == "tls":
        return ConnectionResult(False, "conn.tls-failed",
                                f"The server at {where} closed the connection while setting up encryption."
                                + _port_hint(profile), tech, stage)
    if isinstance(exc, ssl.SSLError):
        return ConnectionResult(False, "conn.tls-failed",
                                f"Encryption could not be set up with {where}." + _port_hint(profile), tech, stage)
    if isinstance(exc, ConnectionRefusedError):
        return ConnectionResult(False, "conn.refused",
                                f"Nothing accepted the connection at {where}: the port is closed or blocked. Check "
                                "the host name and port; a firewall may also be blocking it.", tech, stage)
    if isinstance(exc, socket.gaierror):
        return ConnectionResult(False, "conn.host-not-found",
                                f"The server name {profile.host} could not be found. Check the spelling, and that "
                                "this computer is online.", tech, stage)
    if isinstance(exc, (TimeoutError, socket.timeout)):
        secs = f" within {timeout:g} seconds" if timeout else ""
        if stage == "connect":
            text = (f"No answer from {where}{secs}. A firewall or your internet provider may be blocking the port "
                    "(many block port 25; use 587 or 465 to send), or the host name is wrong.")
            if profile.port in (465, 993) and profile.security is not Security.SSL:
                text += (f" Port {profile.port} usually expects encryption from the start: try the SSL/TLS "
                         "security setting.")
        else:
            text = f"The server at {where} stopped answering{secs}."
        return ConnectionResult(False, "conn.timeout", text, tech, stage)
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, EOFError,
                        ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        return server_closed(profile, stage, tech)
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
        return ConnectionResult(False, "conn.unreachable",
                                f"{where} can't be reached from this computer (no route to it). Check that the "
                                "computer is online.", tech, stage)
    return None


def server_closed(profile: Profile, stage: str, tech: str) -> ConnectionResult:
    during = {"connect": " before greeting us", "tls": " while setting up encryption", "auth": " while signing in",
              "send": " while the message was being sent", "watch": " while we were waiting for the message",
              "select": " while opening the mailbox"}.get(stage, "")
    extra = " The message was probably not sent." if stage == "send" else ""
    return ConnectionResult(False, "conn.server-closed",
                            f"The server at {_where(profile)} closed the connection{during}.{extra} Try again; if "
                            "it keeps happening, the server may be limiting connections from you.", tech, stage)


def auth_failure(reply: str, profile: Profile, *, stage: str = "auth") -> ConnectionResult:
    """Plain words for a refused sign-in, from the server's reply text (SMTP or IMAP)."""
    t = reply.lower()
    where = _where(profile)
    user = profile.username or "(no user name)"
    if ("application-specific password" in t or "5.7.9" in t or "app password" in t or "apppassword" in t
            or "log in via your web browser" in t or "5.7.14" in t or "web login required" in t):
        p = get_preset(profile.preset) if profile.preset else preset_for_host(profile.host)
        how = f" {p.password_help}" if p is not None else (
            " Create an app password in your account's security settings and use it here instead of your "
            "normal password.")
        return ConnectionResult(False, "conn.app-password-needed",
                                f"{where} won't accept your normal password for {user}: this account needs an app "
                                f"password.{how}", reply, stage, server_reply=reply)
    if "smtpclientauthentication is disabled" in t or "smtp_auth_disabled" in t:
        return ConnectionResult(False, "conn.smtp-auth-disabled",
                                f"Microsoft 365 has sending from mail apps (SMTP AUTH) turned off for {user}. An "
                                "admin can turn on 'Authenticated SMTP' for this mailbox in the Microsoft 365 admin "
                                "center (Users > Mail > Manage email apps), if the organisation allows it.",
                                reply, stage, server_reply=reply)
    if ("basic authentication is disabled" in t or "security defaults" in t or "basicauthblocked" in t
            or "5.7.30" in t or "basic authentication is not supported" in t):
        p = get_preset(profile.preset) if profile.preset else preset_for_host(profile.host)
        who = {"microsoft": "Microsoft", "google": "Google"}.get(p.oauth if p is not None else "", "Microsoft")
        return ConnectionResult(False, "conn.password-sign-in-disabled",
                                f"{where} doesn't accept a password for {user} any more (the provider requires "
                                f"modern sign-in). Switch the profile to 'Sign in with {who}': in the app, edit the "
                                "profile and choose it under 'Sign in'; on the command line, add the profile again "
                                f"with --oauth {who.lower()}.", reply, stage, server_reply=reply)
    if ("starttls" in t and ("must" in t or "first" in t)) or "encryption required" in t or \
            "privacy required" in t or t.startswith("530") and "tls" in t:
        return ConnectionResult(False, "conn.tls-required",
                                f"{where} only accepts a password over an encrypted connection. Choose STARTTLS "
                                "(port 587 or 143) or SSL/TLS (port 465 or 993).", reply, stage, server_reply=reply)
    if t.startswith("454") or t.startswith("4") or "[unavailable]" in t or "temporar" in t or "try again" in t:
        return ConnectionResult(False, "conn.auth-temporary",
                                f"{where} couldn't check the password just now (a temporary problem on its side). "
                                "Try again in a few minutes.", reply, stage, server_reply=reply)
    return ConnectionResult(False, "conn.wrong-password",
                            f"{where} refused the user name or password for {user}. Check both (the user name is "
                            f"usually the full e-mail address).{_password_hint(profile)}", reply, stage,
                            server_reply=reply)


def unexpected(exc: BaseException, profile: Profile, stage: str, secret: "str | Secret | None" = None) -> ConnectionResult:
    tech = scrub(f"{type(exc).__name__}: {exc}", secret)[:500]
    return ConnectionResult(False, "conn.protocol-error",
                            f"Something unexpected happened while talking to {_where(profile)}; the details below "
                            "may help the server's owner.", tech, stage)


def no_password(profile: Profile) -> ConnectionResult:
    return ConnectionResult(False, "conn.no-password",
                            f"No password is stored for the profile {profile.name!r}. Edit the profile and enter "
                            "its password again.", stage="keyring")


def keyring_failure(exc: KeyringUnavailable) -> ConnectionResult:
    return ConnectionResult(False, "conn.keyring-unavailable", str(exc), stage="keyring")


def resolve_password(profile: Profile, password: "str | Secret | None") -> Secret | None:
    """``password`` when given, else the keyring's (``KeyringUnavailable`` propagates)."""
    if password is not None:
        return password if isinstance(password, Secret) else Secret(password)
    if not profile.username:
        return None
    return get_password(profile.id)


# -- blocking work in a thread, cancellable ---------------------------------------------------------

async def run_blocking(fn: Callable[[], T], *, abort: Callable[[], None] | None = None, grace: float = 5.0) -> T:
    """Run ``fn`` in a worker thread. If the caller is cancelled, call ``abort`` (it must make ``fn``
    return soon, e.g. by setting a stop flag or shutting a socket) and wait up to ``grace`` seconds for
    the thread to finish its clean-up before the cancellation goes on."""
    fut = asyncio.ensure_future(asyncio.to_thread(fn))
    fut.add_done_callback(_consume)
    try:
        return await asyncio.shield(fut)
    except asyncio.CancelledError:
        if abort is not None:
            try:
                abort()
            except Exception:
                log.debug("aborting the blocking call failed", exc_info=True)
        await asyncio.wait({fut}, timeout=grace)
        raise


def _consume(fut: "asyncio.Future[Any]") -> None:
    if not fut.cancelled():
        fut.exception()


def shutdown_socket(sock: socket.socket | None) -> None:
    """Wake a thread blocked on ``sock`` (used to abort on cancellation)."""
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


__all__ = [
    "ConnectionResult", "INSECURE_WARNING", "Preset", "Profile", "ProfileError", "ProfileStore", "ReadProfile",
    "Security", "SendProfile", "ServerPreset", "TransportError", "auth_failure", "get_preset", "load_presets",
    "network_error", "preset_for_domain", "preset_for_host", "resolve_password", "run_blocking", "scrub_result",
    "security_for_port", "split_host_port", "ssl_context", "trusted_ids_for", "valid_address"
]
