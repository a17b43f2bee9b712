"""Secrets in memory and in the operating system's keyring: ``Secret`` (a password or token that never shows
in a ``repr``), ``scrub`` (every form of a secret cut out of a text before it is shown or logged), and the
keyring itself (service ``"InboxReady"``): mail passwords (``set_password``/``get_password``/
``delete_password``) and, through ``auth.tokens``, sign-in tokens. When the computer has no usable keyring
(a headless Linux box without a Secret Service), ``KeyringUnavailable`` says so and how to fix it; there
is no silent fallback to a file.
"""

from __future__ import annotations

import logging
import re
from typing import Any

log = logging.getLogger(__name__)

KEYRING_SERVICE = "InboxReady"


class Secret:
    """A password held in memory. ``repr``/``str`` never show it; ``reveal()`` does."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


def reveal(password: "str | Secret | None") -> str:
    if password is None:
        return ""
    return password.reveal() if isinstance(password, Secret) else password


def _b64_forms(data: bytes) -> set[str]:
    import base64

    forms = set()
    for enc in (base64.b64encode(data), base64.urlsafe_b64encode(data)):
        text = enc.decode("ascii")
        forms.update({text, text.rstrip("=")})
    return forms


def _aligned_cores(data: bytes) -> set[str]:
    """The base64 characters that depend on ``data`` alone, for each of the three positions it can have
    inside a longer base64 text (so it is found inside any blob that contains it)."""
    import base64

    cores = set()
    n = len(data)
    for k in range(3):
        enc = base64.b64encode(b"\0" * k + data + b"\0\0").decode("ascii")
        first, last = -(-8 * k // 6), (8 * (k + n)) // 6  # characters fully inside the data's bits
        core = enc[first:last]
        if len(core) >= 6:  # shorter ones would match ordinary text: the token check below covers them
            cores.add(core)
            cores.add(core.replace("+", "-").replace("/", "_"))
    return cores


def secret_forms(value: str, user: str = "") -> list[str]:
    """Every form a password may take in a server's reply or an error text, longest first: as is, in
    base64 (alone, and in AUTH PLAIN's ``authzid\0user\0password`` with and without the user), at any
    base64 alignment, URL-encoded, IMAP-quoted, JSON-escaped, as Python's repr of its bytes, in hex and
    quoted-printable."""
    import json
    import quopri
    from urllib.parse import quote, quote_plus

    data = value.encode("utf-8")
    forms = {value, quote(value, safe=""), quote_plus(value), quote(value, safe="").lower(),
             quote_plus(value).lower(), value.replace("\\", "\\\\").replace('"', '\\"'),
             json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1], repr(data)[2:-1],
             repr(value)[1:-1], data.hex(), data.hex().upper(),
             quopri.encodestring(data).decode("ascii", "replace").replace("=\n", "").strip()}
    forms |= _b64_forms(data)
    u = user.encode("utf-8")
    for plain in (b"\0" + u + b"\0" + data, u + b"\0" + u + b"\0" + data, u + b"\0" + data):
        forms |= _b64_forms(plain)
    forms |= _aligned_cores(data)
    return sorted((f for f in forms if f), key=len, reverse=True)


_TOKEN: Any = None


def _decodes_to_secret(token: str, secrets_bytes: list[bytes]) -> bool:
    """True when the base64 text ``token`` (read from any of its first four positions) decodes to bytes
    holding one of the secrets: the secret alone, inside an AUTH PLAIN blob (``\\0`` separated), or, for a
    secret of four bytes or more, anywhere."""
    import base64
    import binascii

    for off in range(4):
        part = token[off:].rstrip("=")
        if len(part) % 4 == 1:
            part = part[:-1]
        if len(part) < 2:
            break
        padded = part + "=" * (-len(part) % 4)
        for alt in {padded, padded.replace("-", "+").replace("_", "/")}:
            try:
                raw = base64.b64decode(alt, validate=True)
            except (binascii.Error, ValueError):
                continue
            for sb in secrets_bytes:
                if sb and sb in raw and (len(sb) >= 4 or raw == sb or b"\0" in raw):
                    return True
    return False


_BEARER: Any = None
_B64_WORD: Any = None


def scrub_bearer(text: str) -> str:
    """``text`` without OAuth tokens we may not know: the value after ``Bearer`` or ``auth=Bearer``, a
    JSON/form ``access_token``, ``refresh_token``, ``id_token`` or ``code`` value, and any base64 word
    that decodes to an XOAUTH2/OAUTHBEARER message (``...auth=Bearer <token>...``)."""
    import base64
    import binascii

    global _BEARER, _B64_WORD
    if _BEARER is None:
        _BEARER = re.compile(r"(?i)(\bBearer\s+|\b(?:access_token|refresh_token|id_token|device_code)[\"']?\s*[:=]\s*"
                             r"[\"']?)([A-Za-z0-9\-._~+/*!]{6,}=*)")
        _B64_WORD = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")
    if "earer" in text or "_token" in text or "device_code" in text:
        text = _BEARER.sub(lambda m: m.group(1) + "***", text[:200_000])

    def word(m: re.Match[str]) -> str:
        w = m.group(0)
        padded = w.replace("-", "+").replace("_", "/") + "=" * (-len(w.rstrip("=")) % 4)
        try:
            raw = base64.b64decode(padded.rstrip("=") + "=" * (-len(padded.rstrip("=")) % 4), validate=True)
        except (binascii.Error, ValueError):
            return w
        return "***" if b"auth=Bearer" in raw or b"auth=bearer" in raw.lower() else w

    return str(_B64_WORD.sub(word, text[:200_000]))


def scrub(text: str, *secrets: "str | Secret | None", user: str = "") -> str:
    """``text`` with every secret replaced by ``***``, in every form a server or a library may write it
    (``secret_forms``), and any base64 text that decodes to something containing it (a whole AUTH PLAIN
    or LOGIN exchange echoed back)."""
    import re

    global _TOKEN
    values = [reveal(s) for s in secrets]
    values = [v for v in values if v]
    if text:
        text = scrub_bearer(text)
    if not values or not text:
        return text
    if _TOKEN is None:
        _TOKEN = re.compile(r"[A-Za-z0-9+/_-]{3,}={0,2}")
    wanted = [v.encode("utf-8") for v in values]

    def token(m: re.Match[str]) -> str:
        return "***" if _decodes_to_secret(m.group(0), wanted) else m.group(0)

    text = _TOKEN.sub(token, text[:200_000])  # whole base64 words first, then every other form
    for value in values:
        for form in secret_forms(value, user):
            if form in text:
                text = text.replace(form, "***")
        if value.lower() != value or value.upper() != value:  # a server that echoes it in other case
            text = re.sub(re.escape(value), "***", text, flags=re.IGNORECASE)
    return text


# -- the keyring ------------------------------------------------------------------------------------

class KeyringUnavailable(RuntimeError):
    """No usable keyring (or it refused): the message says what happened and how to fix it."""


NO_KEYRING_HELP = (
    "InboxReady keeps mail passwords only in your system's keyring, and none is available on this "
    "computer. On a Linux desktop, install and unlock a Secret Service (GNOME Keyring or KWallet) and "
    "try again. On a server without a desktop, you can install an alternative store with "
    "'pip install keyrings.alt' and select it deliberately in keyring's configuration file "
    "(keyringrc.cfg, see 'python -m keyring diagnose'); note that some of its stores keep passwords in a "
    "file that anyone with access to your account can read. Without a keyring, the command line's "
    "'profile add' saves a profile without its password, and 'roundtrip', 'watch' and 'reports watch' read "
    "it for each run from INBOXREADY_SMTP_PASSWORD (sending) and INBOXREADY_IMAP_PASSWORD (reading).")


def _backend() -> Any:
    import keyring
    from keyring.backends import chainer, fail, null

    kr = keyring.get_keyring()
    if isinstance(kr, (fail.Keyring, null.Keyring)):
        raise KeyringUnavailable(NO_KEYRING_HELP)
    if isinstance(kr, chainer.ChainerBackend):
        usable = [b for b in kr.backends if not isinstance(b, (fail.Keyring, null.Keyring))
                  and not (_file_store(b) and not _chosen_deliberately(b))]
        if not usable:
            raise KeyringUnavailable(NO_KEYRING_HELP)
    elif _file_store(kr) and not _chosen_deliberately(kr):
        # keyrings.alt's stores rank above "no keyring", so keyring picks one on its own when nothing better is
        # there: a password would silently land in a file. Only a store the person selected is used.
        raise KeyringUnavailable(f"keyring picked {getattr(kr, 'name', type(kr).__name__)} on its own, a store that "
                                 "keeps passwords in a file; InboxReady uses such a store only when you select it "
                                 "deliberately. " + NO_KEYRING_HELP)
    return kr


def _file_store(backend: Any) -> bool:
    """A keyring store that keeps secrets in a file of its own (keyrings.alt's plaintext, encrypted and
    legacy stores), rather than the system's keyring."""
    return type(backend).__module__.split(".")[:2] == ["keyrings", "alt"]


def _chosen_deliberately(backend: Any) -> bool:
    """``backend`` is the one named in PYTHON_KEYRING_BACKEND or keyring's configuration file."""
    import keyring.core

    try:
        chosen = keyring.core.load_env() or keyring.core.load_config()
    except Exception:
        log.debug("could not read keyring's configuration", exc_info=True)
        return False
    return chosen is not None and type(chosen) is type(backend)


def keyring_status() -> tuple[bool, str]:
    """(usable, plain words): which keyring is used, or why none can be."""
    try:
        kr = _backend()
    except KeyringUnavailable as exc:
        return False, str(exc)
    name = getattr(kr, "name", type(kr).__name__)
    return True, f"Passwords are kept in: {name}."


def _keyring_failed(action: str, exc: BaseException, secret: "str | Secret | None" = None) -> KeyringUnavailable:
    text = scrub(f"{type(exc).__name__}: {exc}", secret)[:300]
    locked = "lock" in text.lower()
    hint = ("Unlock your keyring (log in to the desktop session, or open your password manager) and try again."
            if locked else "Check that your system keyring is running and unlocked, then try again.")
    return KeyringUnavailable(f"The system keyring refused to {action} ({text}). {hint}")


def set_password(profile_id: str, password: "str | Secret") -> None:
    """Store the password of ``profile_id`` in the system keyring."""
    kr = _backend()
    try:
        kr.set_password(KEYRING_SERVICE, profile_id, reveal(password))
    except Exception as exc:
        raise _keyring_failed("store the password", exc, password) from None


def get_password(profile_id: str) -> Secret | None:
    """The password of ``profile_id`` from the keyring; None when none is stored."""
    kr = _backend()
    try:
        value = kr.get_password(KEYRING_SERVICE, profile_id)
    except Exception as exc:
        raise _keyring_failed("give the password", exc) from None
    return Secret(value) if value is not None else None


def delete_password(profile_id: str) -> bool:
    """Forget the password of ``profile_id``; False when none was stored."""
    import keyring.errors

    kr = _backend()
    try:
        kr.delete_password(KEYRING_SERVICE, profile_id)
    except keyring.errors.PasswordDeleteError:
        return False
    except Exception as exc:
        raise _keyring_failed("delete the password", exc) from None
    return True
