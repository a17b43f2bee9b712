"""DKIM key records (RFC 6376 §3.2 and §3.6.1, RFC 8463): the tag list and the key, read the way verifiers
read them, plus the record helpers the checks, the message verdict and the bounce reader share.

- ``parse_tag_list(text)`` and ``parse_dkim_key(text)`` parse a key record; they raise only
  ``DkimKeyError``.
- ``repair_dkim_key`` undoes zone-file quoting pasted into the record; ``normalize_selector`` reads what a
  user typed as a selector; ``revoked_wildcard_fix`` is the "no key of this domain is valid" record.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from ..dns.client import normalize_name
from ..model import Fix


class DkimKeyError(ValueError):
    """A TXT record that is not a usable DKIM key. ``code`` says which kind of problem:

    ``empty``, ``syntax``, ``duplicate-tag``, ``not-dkim`` (some other kind of record),
    ``bad-version``, ``missing-key``, ``bad-base64``, ``bad-key``, ``unknown-key-type``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_TAG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


_WSP = " \t\r\n"


KNOWN_KEY_TYPES = ("rsa", "ed25519")


def _valchar_ok(value: str) -> bool:
    # VALCHAR = %x21-3A / %x3C-7E, with whitespace (FWS) allowed between runs (RFC 6376 §3.2).
    return all((0x21 <= ord(c) <= 0x7E and c != ";") or c in _WSP for c in value)


def parse_tag_list(text: str) -> list[tuple[str, str]]:
    """RFC 6376 §3.2 tag-list → ``[(name, value), ...]`` in order; values stripped of outer
    whitespace. Empty segments (``;;``, a trailing ``;``) are tolerated, as verifiers do.
    Raises ``DkimKeyError`` (``empty``, ``syntax``, ``duplicate-tag``)."""
    if not text.strip(_WSP):
        raise DkimKeyError("empty", "The record is empty.")
    tags: list[tuple[str, str]] = []
    seen: set[str] = set()
    for segment in text.split(";"):
        if not segment.strip(_WSP):
            continue
        if "=" not in segment:
            raise DkimKeyError("syntax", f"'{segment.strip(_WSP)[:40]}' is not a tag=value pair.")
        name, value = segment.split("=", 1)
        name = name.strip(_WSP)
        value = value.strip(_WSP)
        if not _TAG_NAME.match(name):
            raise DkimKeyError("syntax", f"'{name[:40]}' is not a valid tag name.")
        if not _valchar_ok(value):
            raise DkimKeyError("syntax", f"The value of tag '{name}' contains characters that are not allowed.")
        if name in seen:
            raise DkimKeyError("duplicate-tag", f"The tag '{name}' appears more than once.")
        seen.add(name)
        tags.append((name, value))
    if not tags:
        raise DkimKeyError("empty", "The record has no tags.")
    return tags


def describe_foreign_record(text: str) -> str | None:
    """Plain words for a TXT record that is some other protocol's record, or None."""
    t = text.strip(_WSP).lower()
    kinds = (
        ("v=spf1", "an SPF record"), ("v=dmarc1", "a DMARC record"), ("v=stsv1", "an MTA-STS record"),
        ("v=tlsrptv1", "a TLS reporting record"), ("v=bimi1", "a BIMI record"),
        ("google-site-verification", "a Google site-verification record"),
        ("ms=", "a Microsoft domain-verification record"),
    )
    for prefix, words in kinds:
        if t.startswith(prefix):
            return words
    if "verification" in t.split("=", 1)[0]:
        return "a domain-verification record"
    return None


@dataclass(frozen=True)
class DkimKey:
    """A parsed DKIM key record (RFC 6376 §3.6.1). ``public_key`` is empty for a revoked key."""

    tag_list: tuple[tuple[str, str], ...]
    version: str | None
    key_type: str  # "rsa" | "ed25519"
    hashes: tuple[str, ...] | None  # h=; None: any hash algorithm
    services: tuple[str, ...]  # s=; ("*",) by default
    flags: tuple[str, ...]  # t=
    notes: str
    public_key: bytes
    key_bits: int | None  # RSA modulus size; 256 for Ed25519; None when revoked
    key_format: str  # "spki" | "pkcs1" (RSA), "raw" (Ed25519), "" (revoked)

    @property
    def tags(self) -> dict[str, str]:
        return dict(self.tag_list)

    @property
    def revoked(self) -> bool:
        return not self.public_key

    @property
    def testing(self) -> bool:
        return "y" in self.flags

    @property
    def strict(self) -> bool:
        return "s" in self.flags

    @property
    def for_email(self) -> bool:
        return "*" in self.services or "email" in self.services

    @property
    def sha256_allowed(self) -> bool:
        return self.hashes is None or "sha256" in self.hashes

    def without_testing_flag(self) -> str:
        """This record with ``y`` removed from ``t=`` (and ``t=`` dropped if empty), tags in order."""
        parts: list[str] = []
        for name, value in self.tag_list:
            if name == "t":
                rest = [f for f in (x.strip(_WSP) for x in value.split(":")) if f and f != "y"]
                if not rest:
                    continue
                value = ":".join(rest)
            elif name == "p":
                value = "".join(value.split())
            parts.append(f"{name}={value}")
        return "; ".join(parts)


def _split_list(value: str) -> tuple[str, ...]:
    return tuple(x for x in (p.strip(_WSP) for p in value.split(":")) if x)


def _load_rsa(data: bytes) -> tuple[int, str]:
    try:
        key = serialization.load_der_public_key(data)
    except Exception:  # cryptography raises ValueError, UnsupportedAlgorithm, ...
        raise DkimKeyError("bad-key", "The p= value is valid base64 but not an RSA public key (it may be "
                           "cut short or damaged).") from None
    if isinstance(key, ed25519.Ed25519PublicKey):
        raise DkimKeyError("bad-key", "The p= value is an Ed25519 key, but the record says (or defaults to) "
                           "k=rsa; an Ed25519 key needs k=ed25519 and only the 32 raw key bytes.")
    if not isinstance(key, rsa.RSAPublicKey):
        raise DkimKeyError("bad-key", "The p= value is a public key of a type DKIM does not use.")
    spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key.key_size, ("spki" if spki == data else "pkcs1")


def _load_ed25519(data: bytes) -> None:
    if len(data) != 32:
        try:
            key = serialization.load_der_public_key(data)
        except Exception:
            key = None
        if isinstance(key, ed25519.Ed25519PublicKey):
            raise DkimKeyError("bad-key", "The Ed25519 key is wrapped in a SubjectPublicKeyInfo structure; "
                               "RFC 8463 wants only the 32 raw key bytes in p=.")
        raise DkimKeyError("bad-key", f"An Ed25519 key must be 32 bytes; this one is {len(data)} bytes.")
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(data)
    except Exception:
        raise DkimKeyError("bad-key", "The p= value is not a valid Ed25519 public key.") from None


def parse_dkim_key(text: str) -> DkimKey:
    """Parse a DKIM key TXT record (RFC 6376 §3.6.1, RFC 8463 §4.2).

    Checks the tag syntax, ``v=`` (first and ``DKIM1`` when present), ``k=`` (rsa or ed25519), that
    ``p=`` is present and is valid base64 holding a key of that type (RSA in SubjectPublicKeyInfo or
    bare RSAPublicKey form; Ed25519 as 32 raw bytes). An empty ``p=`` is a revoked key, not an error.
    Raises only ``DkimKeyError``.
    """
    try:
        tags = parse_tag_list(text)
    except DkimKeyError:
        if describe_foreign_record(text) or not re.search(r"(^|;)[ \t\r\n]*p[ \t\r\n]*=", text):
            raise DkimKeyError("not-dkim", "This TXT record is not a DKIM key.") from None
        raise
    names = [n for n, _ in tags]
    values = dict(tags)
    version = values.get("v")
    if version is not None:
        if version != "DKIM1":
            if describe_foreign_record(text):
                raise DkimKeyError("not-dkim", "This TXT record is not a DKIM key.")
            raise DkimKeyError("bad-version", f"v= must be exactly 'DKIM1', not '{version[:40]}'.")
        if names[0] != "v":
            raise DkimKeyError("bad-version", "v=DKIM1 must be the first tag of the record.")
    if "p" not in values:
        if version is None and "k" not in values:
            raise DkimKeyError("not-dkim", "This TXT record is not a DKIM key.")
        raise DkimKeyError("missing-key", "The record has no p= tag (the public key).")
    key_type = values.get("k", "rsa")
    if key_type not in KNOWN_KEY_TYPES:
        raise DkimKeyError("unknown-key-type", f"k={key_type[:40]} is not a key type DKIM verifiers know "
                           "(use k=rsa or k=ed25519).")
    hashes = _split_list(values["h"]) if "h" in values else None
    services = _split_list(values["s"]) if "s" in values else ("*",)
    flags = _split_list(values["t"]) if "t" in values else ()
    b64 = "".join(values["p"].split())
    data = b""
    bits: int | None = None
    fmt = ""
    if b64:
        try:
            data = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise DkimKeyError("bad-base64", "The p= value is not valid base64 (a character is wrong or the "
                               "value was cut short).") from None
        if not data:
            raise DkimKeyError("bad-base64", "The p= value decodes to nothing.")
        if key_type == "rsa":
            bits, fmt = _load_rsa(data)
        else:
            _load_ed25519(data)
            bits, fmt = 256, "raw"
    return DkimKey(
        tag_list=tuple(tags), version=version, key_type=key_type, hashes=hashes, services=services,
        flags=flags, notes=values.get("n", ""), public_key=data, key_bits=bits, key_format=fmt,
    )


REVOKED_KEY = "v=DKIM1; p="


def revoked_wildcard_fix(domain: str) -> Fix:
    """``*._domainkey.<domain>`` TXT ``v=DKIM1; p=``: "no DKIM key of this domain is valid"."""
    d = normalize_name(domain)
    return Fix(
        host=f"*._domainkey.{d}", type="TXT", value=REVOKED_KEY,
        note="A revoked DKIM key for every selector: it says that no DKIM key of this domain is valid. "
             "Keys you publish under a real selector name still work, because a wildcard only answers "
             "for names that have no record of their own.",
    )


def normalize_selector(text: str) -> str | None:
    """What a user typed as a selector → the selector, or None if it cannot be one.

    Accepts ``google``, ``s=google``, ``google._domainkey``, ``google._domainkey.example.com``.
    """
    s = text.strip().strip(";").strip().lower().rstrip(".")
    if s.startswith("s="):
        s = s[2:].strip()
    if "._domainkey" in s:
        s = s.split("._domainkey", 1)[0]
    if not s or len(s) > 200:
        return None
    labels = s.split(".")
    if not all(re.fullmatch(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?", lab) for lab in labels):
        return None
    return s


def repair_dkim_key(text: str) -> str | None:
    """A key record that was pasted with its zone-file quoting (``"v=DKIM1; k=rsa; " "p=MIIB..."``, with or
    without parentheses) and so has quotation marks inside its text: the record without them, if that is
    a valid key. None otherwise."""
    if '"' not in text:
        return None
    t = text.strip().strip("()").strip()
    t = re.sub(r'"\s*"', "", t)  # the joins between strings
    t = t.strip().strip('"').strip()
    if '"' in t:
        return None
    try:
        parse_dkim_key(t)
    except DkimKeyError:
        return None
    return t


__all__ = [
    "DkimKey", "DkimKeyError", "KNOWN_KEY_TYPES", "REVOKED_KEY", "describe_foreign_record", "normalize_selector",
    "parse_dkim_key", "parse_tag_list", "repair_dkim_key", "revoked_wildcard_fix",
]
