"""MTA-STS records and policies (RFC 8461).

- ``parse_sts_record(text)`` parses the ``_mta-sts`` TXT record (``v=STSv1; id=...``); raises only
  ``StsSyntaxError``. ``is_sts_record``/``looks_like_sts`` recognise one (TLS reporting needs to know).
- ``parse_policy(text)`` parses the policy file; never raises: problems are listed in ``errors`` /
  ``warnings``. ``format_policy`` writes one and ``new_id`` a fresh ``id=``.
- ``mx_matches(pattern, host)`` is the §4.1 host match (``*.example.com`` covers exactly one label more).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TypedDict

MAX_AGE_LIMIT = 31557600  # §3.2: at most one year
MODES = ("enforce", "testing", "none")


_ID = re.compile(r"[A-Za-z0-9]{1,32}\Z")


_EXT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}\Z")


_EXT_VALUE = re.compile(r"[\x21-\x3a\x3c\x3e-\x7e]+\Z")


_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)\Z")


_VERSION_START = re.compile(r"v=STSv1(?:[ \t]*;|[ \t]*\Z)")


class StsSyntaxError(ValueError):
    """The ``_mta-sts`` TXT record can't be used; ``message`` is plain English."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class StsRecord:
    raw: str
    id: str
    extensions: dict[str, str] = field(default_factory=dict)


def is_sts_record(text: str) -> bool:
    """True for a TXT record senders consider (it begins with ``v=STSv1`` then ``;`` or the end)."""
    return _VERSION_START.match(text or "") is not None


def looks_like_sts(text: str) -> bool:
    return re.match(r"\s*v\s*=\s*stsv1", text or "", re.IGNORECASE) is not None


def parse_sts_record(text: str) -> StsRecord:
    """``"v=STSv1; id=20240101;"`` → ``StsRecord``; raises only ``StsSyntaxError``."""
    if not isinstance(text, str):
        raise StsSyntaxError("The record is not text.")
    fields = [f.strip(" \t") for f in text.split(";")]
    if fields and fields[-1] == "":
        fields.pop()
    if not fields or fields[0] != "v=STSv1":
        raise StsSyntaxError("The record must begin with exactly 'v=STSv1' (capital S, T, S) followed by ';'.")
    rec_id: str | None = None
    ext: dict[str, str] = {}
    for part in fields[1:]:
        name, sep, value = part.partition("=")
        if not sep:
            raise StsSyntaxError(f"'{part[:40]}' is not a 'name=value' field.")
        if name == "id":
            if rec_id is not None:
                raise StsSyntaxError("The record has more than one 'id' field.")
            if not _ID.match(value):
                raise StsSyntaxError(f"The id '{value[:40]}' must be 1 to 32 letters or digits (no dashes, dots or "
                                     "spaces).")
            rec_id = value
        elif name == "v":
            raise StsSyntaxError("The record has more than one 'v' field.")
        else:
            if not _EXT_NAME.match(name) or not _EXT_VALUE.match(value):
                raise StsSyntaxError(f"'{part[:40]}' is not a valid field.")
            ext.setdefault(name, value)
    if rec_id is None:
        raise StsSyntaxError("The record has no 'id' field (for example 'id=20240101000000').")
    return StsRecord(text, rec_id, ext)


class StsPolicyDetail(TypedDict):
    """A policy file as read (``StsPolicy.to_json()``)."""

    version: str | None
    mode: str | None  # enforce | testing | none; None: missing or not one of those
    max_age: int | None  # seconds
    mx: list[str]  # the valid patterns, lower case
    valid: bool  # no errors


@dataclass
class StsPolicy:
    version: str | None = None
    mode: str | None = None
    max_age: int | None = None
    mx: list[str] = field(default_factory=list)  # valid patterns, lower case
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    extensions: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors

    def to_json(self) -> StsPolicyDetail:
        return {"version": self.version, "mode": self.mode, "max_age": self.max_age, "mx": list(self.mx),
                "valid": self.valid}


def valid_pattern(pattern: str) -> bool:
    """An ``mx`` value: a host name, or ``*.`` followed by one (§3.2)."""
    name = pattern[2:] if pattern.startswith("*.") else pattern
    labels = name.rstrip(".").split(".")
    return len(labels) >= 2 and all(_LABEL.match(lb) for lb in labels) and len(name) <= 253


def mx_matches(pattern: str, host: str) -> bool:
    """RFC 8461 §4.1: a literal pattern matches that name; ``*.example.com`` matches one extra label
    (``mx1.example.com``), not ``example.com`` nor ``a.b.example.com``. Case-insensitive."""
    p = pattern.lower().rstrip(".")
    h = host.lower().rstrip(".")
    if p.startswith("*."):
        head, _, rest = h.partition(".")
        return bool(head) and rest == p[2:]
    return p == h


def parse_policy(text: str) -> StsPolicy:
    """Parse a policy file (``key: value`` lines, LF or CRLF). Never raises."""
    pol = StsPolicy()
    seen: set[str] = set()
    if not isinstance(text, str):
        pol.errors.append("The policy is not text.")
        return pol
    for n, raw in enumerate(text.split("\n"), start=1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        value = value.strip(" \t")
        if not sep:
            pol.errors.append(f"Line {n} ('{line[:40]}') is not 'key: value'.")
            continue
        if key != key.strip() or not key:
            pol.errors.append(f"Line {n}: the key '{key[:30]}' has spaces around it or is empty.")
            continue
        lower = key.lower()
        if lower in ("version", "mode", "max_age", "mx") and key != lower:
            pol.errors.append(f"Line {n}: '{key}' must be written in lower case ('{lower}').")
            continue
        if key in ("version", "mode", "max_age") and key in seen:
            pol.warnings.append(f"Line {n}: '{key}' appears more than once; remove the extra line.")
            continue
        seen.add(key)
        if key == "version":
            if value == "STSv1":
                pol.version = value
            else:
                pol.errors.append(f"Line {n}: the version must be 'STSv1', not '{value[:30]}'.")
        elif key == "mode":
            if value in MODES:
                pol.mode = value
            else:
                pol.errors.append(f"Line {n}: the mode must be enforce, testing or none, not '{value[:30]}'.")
        elif key == "max_age":
            if value.isascii() and value.isdigit() and len(value) <= 10 and int(value) <= MAX_AGE_LIMIT:
                pol.max_age = int(value)
            else:
                pol.errors.append(f"Line {n}: max_age must be a number of seconds from 0 to {MAX_AGE_LIMIT} (one "
                                  f"year), not '{value[:30]}'.")
        elif key == "mx":
            if valid_pattern(value):
                pol.mx.append(value.lower().rstrip("."))
            else:
                pol.errors.append(f"Line {n}: '{value[:60]}' is not a mail server name or a '*.' pattern.")
        else:
            pol.extensions.setdefault(key, value)
    if pol.version is None and "version" not in seen:
        pol.errors.append("The 'version: STSv1' line is missing (it must be there).")
    if pol.mode is None and "mode" not in seen:
        pol.errors.append("The 'mode:' line is missing (enforce, testing or none).")
    if pol.max_age is None and "max_age" not in seen:
        pol.errors.append("The 'max_age:' line is missing (how many seconds senders remember the policy).")
    if not pol.mx and pol.mode in ("enforce", "testing") and "mx" not in seen:
        pol.errors.append("There is no 'mx:' line, so no mail server is allowed.")
    return pol


def format_policy(mode: str, max_age: int, mx: list[str]) -> str:
    """A policy file as it must be hosted (CRLF line endings, version first)."""
    lines = ["version: STSv1", f"mode: {mode}", *[f"mx: {p}" for p in mx], f"max_age: {max_age}"]
    return "\r\n".join(lines) + "\r\n"


def new_id(now: dt.datetime | None = None) -> str:
    """A fresh policy id: the current UTC time as 14 digits."""
    return (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%d%H%M%S")


__all__ = [
    "MAX_AGE_LIMIT", "MODES", "StsPolicy", "StsRecord", "StsSyntaxError", "format_policy", "is_sts_record",
    "looks_like_sts", "mx_matches", "new_id", "parse_policy", "parse_sts_record", "valid_pattern",
]
