"""DKIM keys made on this computer: the key pair, the DNS record to publish, and a rotation plan.

The private key stays here: it is written only to the path the caller gives (mode 0600), never logged,
never part of ``repr`` or JSON. The public half becomes ``v=DKIM1; k=rsa|ed25519; p=...`` at
``<selector>._domainkey.<domain>`` (RFC 6376 §3.6.1; Ed25519 keys per RFC 8463).
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from ..dns.client import DnsClient, normalize_name
from ..model import Fix

__all__ = [
    "KEY_TYPES",
    "RSA_SIZES",
    "DkimKey",
    "DkimKeyError",
    "RotationStep",
    "current_key",
    "lookup_current_key",
    "dkim_record",
    "generate_key",
    "rotation_plan",
    "suggest_selector",
    "write_private_key",
]

KEY_TYPES = ("rsa", "ed25519")
RSA_SIZES = (1024, 2048, 4096)
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$")
WAIT_HOURS = 48


class DkimKeyError(ValueError):
    """A request we can't fulfil (bad selector, key type or size, unwritable path). Plain English."""


@dataclass(frozen=True)
class DkimKey:
    """A generated key pair. ``private_pem`` is never shown in ``repr`` nor in ``to_json``."""

    domain: str
    selector: str
    key_type: str  # "rsa" | "ed25519"
    bits: int  # 1024/2048/4096 for RSA, 256 for Ed25519
    public_b64: str  # the p= value
    fix: Fix  # the TXT record to publish
    private_pem: bytes = field(repr=False, compare=False)

    @property
    def record(self) -> str:
        return self.fix.value

    def save_private_key(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        return write_private_key(self, path, overwrite=overwrite)

    def private_key_base64_raw(self) -> bytes:
        """Ed25519 only: the 32-byte seed in base64, the form OpenDKIM and dkimpy read."""
        key = serialization.load_pem_private_key(self.private_pem, password=None)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise DkimKeyError("Only an Ed25519 key has a raw form.")
        raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
        return base64.b64encode(raw)

    def to_json(self) -> dict[str, Any]:
        return {"domain": self.domain, "selector": self.selector, "key_type": self.key_type, "bits": self.bits,
                "host": self.fix.host, "record": self.fix.value, "fix": self.fix.to_json()}


@dataclass(frozen=True)
class RotationStep:
    """One step of a key rotation: what to do, when, and the exact record change if there is one."""

    title: str
    text: str
    fix: Fix | None = None
    wait_hours: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "text": self.text, "fix": self.fix.to_json() if self.fix else None,
                "wait_hours": self.wait_hours}


def suggest_selector(today: date | None = None, prefix: str = "ir") -> str:
    """A selector that names its month, e.g. ``ir2026-11``, so a later key gets a different one."""
    d = today or date.today()
    return f"{prefix}{d.year:04d}-{d.month:02d}"


def _check_selector(selector: str) -> str:
    sel = selector.strip().rstrip(".").lower()
    labels = sel.split(".") if sel else []
    if not labels or len(sel) > 63 * 2 or not all(_LABEL.match(x) for x in labels):
        raise DkimKeyError(f"'{selector[:40]}' can't be a DKIM selector: use letters, digits and '-', for "
                           f"example {suggest_selector()}.")
    return sel


def dkim_record(key_type: str, public_b64: str) -> str:
    """The TXT value to publish for a public key (``p=`` is the base64 SubjectPublicKeyInfo for RSA and
    the raw 32-byte key for Ed25519)."""
    return f"v=DKIM1; k={key_type}; p={public_b64}"


def generate_key(domain: str, selector: str | None = None, key_type: str = "rsa", bits: int = 2048) -> DkimKey:
    """A new key pair for ``domain`` at ``selector`` (default: ``suggest_selector()``)."""
    d = normalize_name(domain)
    if not d or " " in d:
        raise DkimKeyError("Give the domain the key is for, for example example.com.")
    kt = key_type.strip().lower()
    if kt not in KEY_TYPES:
        raise DkimKeyError(f"'{key_type}' is not a key type we make; choose rsa or ed25519.")
    sel = _check_selector(selector) if selector else suggest_selector()
    pem_args = (serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    if kt == "rsa":
        if bits not in RSA_SIZES:
            raise DkimKeyError("An RSA key must be 1024, 2048 or 4096 bits; 2048 is the usual choice.")
        priv = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        pub = priv.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
        pem = priv.private_bytes(*pem_args)
        size = bits
    else:
        epriv = ed25519.Ed25519PrivateKey.generate()
        pub = epriv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        pem = epriv.private_bytes(*pem_args)
        size = 256
    p = base64.b64encode(pub).decode("ascii")
    value = dkim_record(kt, p)
    note = (f"Publish this as a TXT record at {sel}._domainkey.{d}. Your DNS host may need it in pieces of up "
            "to 255 characters; the zone line shows them." if len(value) > 255 else
            f"Publish this as a TXT record at {sel}._domainkey.{d}.")
    if kt == "ed25519":
        note += (" Ed25519 keys are not yet checked by every receiver (RFC 8463): sign with an RSA key as well "
                 "and publish both.")
    fix = Fix(f"{sel}._domainkey.{d}", "TXT", value, note=note)
    return DkimKey(domain=d, selector=sel, key_type=kt, bits=size, public_b64=p, fix=fix, private_pem=pem)


def write_private_key(key: DkimKey, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write the PEM private key to ``path`` readable by its owner only (0600). Refuses to replace an
    existing file unless ``overwrite``. Raises ``DkimKeyError`` with plain words on failure.

    A link is never followed: a symbolic link at ``path`` (even with ``overwrite``) is refused, so the key
    can't be written into whatever file the link points at. A new file is created with ``O_EXCL`` and
    ``O_NOFOLLOW``; an existing one is replaced by renaming a new file over it (a hard link to another
    file keeps that file's content)."""
    target = Path(path).expanduser()
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise DkimKeyError(f"The private key could not be saved to {target}: {exc.strerror}.") from None
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise DkimKeyError(f"{target} is a symbolic link; InboxReady never writes a private key through a link. "
                           "Give the path of a new file.")
    if st is not None and not overwrite:
        raise DkimKeyError(f"{target} already exists; choose another file name so no key is lost.")
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise DkimKeyError(f"{target} is not a regular file; give the path of a new file.")
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    if st is None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | nofollow
        try:
            fd = os.open(target, flags, 0o600)
        except FileExistsError:
            raise DkimKeyError(f"{target} already exists; choose another file name so no key is lost.") from None
        except OSError as exc:
            raise DkimKeyError(f"The private key could not be saved to {target}: {exc.strerror}.") from None
        try:
            _write_all(fd, key.private_pem)
        except OSError as exc:
            os.close(fd)
            try:
                os.unlink(target)
            except OSError:
                pass
            raise DkimKeyError(f"The private key could not be saved to {target}: {exc.strerror}.") from None
        os.close(fd)
        return target
    # overwrite: a new file beside it, then renamed over it (the rename replaces a link itself, never its
    # target, should one appear meanwhile)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | nofollow, 0o600)
    except OSError as exc:
        raise DkimKeyError(f"The private key could not be saved to {target}: {exc.strerror}.") from None
    try:
        try:
            _write_all(fd, key.private_pem)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise DkimKeyError(f"The private key could not be saved to {target}: {exc.strerror}.") from None
    return target


def _write_all(fd: int, data: bytes) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(fd, 0o600)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.fsync(fd)


async def current_key(dns: DnsClient, domain: str, selector: str) -> str | None:
    """The DKIM record published now at ``selector`` (for the exact removal fix), or None (see
    ``lookup_current_key`` to tell "no key there" from "couldn't look it up")."""
    return (await lookup_current_key(dns, domain, selector))[0]


async def lookup_current_key(dns: DnsClient, domain: str, selector: str) -> tuple[str | None, str]:
    """(the DKIM record published now at ``selector``, "") when there is one; (None, "missing") when DNS
    says there is none; (None, why in plain words) when the lookup failed (timeout, SERVFAIL): couldn't
    check, which is not the same as "no key"."""
    ans = await dns.query(f"{selector}._domainkey.{normalize_name(domain)}", "TXT")
    if ans.failed:
        return None, ans.describe
    keys = [t for t in ans.txt if "p=" in t] if ans.ok else []
    return (keys[0], "") if keys else (None, "missing")


def rotation_plan(new: DkimKey | Fix, old_selector: str | None = None, old_value: str | None = None,
                  *, domain: str | None = None, old_state: str | None = None) -> list[RotationStep]:
    """The steps to move signing to ``new`` without a gap: publish the new key beside the old one, check
    it, switch signing, wait 48 hours for mail in transit, then remove the old record (the exact removal
    fix when ``old_value`` is known). ``old_state`` is the second value of ``lookup_current_key`` when
    the old key was looked up: "missing" (no key there) or why the lookup failed."""
    fix = new.fix if isinstance(new, DkimKey) else new
    host = fix.host
    sel = host.split("._domainkey.", 1)[0]
    d = domain or host.split("._domainkey.", 1)[-1]
    steps = [
        RotationStep("Publish the new key",
                     f"Add the TXT record at {host}. Keep the old key published: mail already sent with it "
                     "still needs it.", fix=fix),
        RotationStep("Check that it is live",
                     f"Wait for DNS to update (usually under an hour), then run InboxReady with selector {sel} "
                     "until the DKIM check finds the new key.", wait_hours=1),
        RotationStep("Switch signing",
                     f"In your mail server or service, sign with the new private key and the selector {sel}. "
                     "Send yourself a test message and check that DKIM passes."),
        RotationStep("Wait 48 hours",
                     "Messages signed with the old key may still be queued or being read by receivers; give "
                     "them two days.", wait_hours=WAIT_HOURS),
    ]
    if old_selector:
        old_host = f"{old_selector}._domainkey.{normalize_name(d)}"
        if old_value:
            rm = Fix(old_host, "TXT", old_value, action="remove",
                     note="Delete this record only after signing has used the new key for 48 hours.")
            text = f"Delete the old key at {old_host}."
        elif old_state == "missing":
            rm = None
            text = (f"There is no DKIM key at {old_host} now, so there is nothing to delete there. Check the old "
                    "selector's name (the s= tag of the DKIM-Signature header of a message signed with the old "
                    "key).")
        elif old_state:
            rm = None
            text = (f"Delete the old key at {old_host}. We couldn't look it up just now ({old_state}), so we "
                    "can't show the exact record: find it at your DNS host. Some admins publish 'v=DKIM1; p=' "
                    "there for a while instead, which marks the key as revoked.")
        else:
            rm = None
            text = (f"Delete the old key at {old_host} (we couldn't read it, so check the selector). Some admins "
                    "publish 'v=DKIM1; p=' there for a while instead, which marks the key as revoked.")
        steps.append(RotationStep("Remove the old key", text, fix=rm))
    else:
        steps.append(RotationStep("Remove the old key",
                                  "If an older key was published under another selector, delete its record now."))
    steps.append(RotationStep("Plan the next rotation",
                              "Make a new key in about six months; a new selector name each time keeps the "
                              "steps above simple.", wait_hours=24 * 182))
    return steps
