"""Turning what people paste into a domain name we can check."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import dns.name

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


class DomainError(ValueError):
    """The text is not something we can turn into a domain name; the message says why, plainly."""


@dataclass(frozen=True)
class DomainInput:
    domain: str  # ASCII (A-label) form, lower case, no trailing dot
    display: str  # what to show the user (Unicode form for internationalized names)
    note: str = ""  # e.g. "Checking example.com (taken from the e-mail address you pasted)"


def to_unicode(domain: str) -> str:
    try:
        return dns.name.from_text(domain).to_unicode(omit_final_dot=True)
    except Exception:
        return domain


def _did_you_mean(guess: str) -> str:
    """The sentence " Did you mean example.com?" when the guess is a domain name we could check, else ""."""
    try:
        return f" Did you mean {parse_domain(guess).display}?" if guess else ""
    except DomainError:
        return ""


def parse_domain(text: str) -> DomainInput:
    """Accept ``example.com``, ``https://www.example.com/path``, ``user@example.com``,
    ``mailto:user@example.com``, ``bücher.example`` and return the domain to check.

    ``www.`` is kept when typed as a host on its own, but a URL's ``www.`` host is reduced to the
    domain people send mail from, and the note says so.
    """
    raw = (text or "").strip().strip("<>\"'").strip()
    if not raw:
        raise DomainError("Type a domain name, for example example.com.")
    note = ""
    host = raw
    if raw.lower().startswith("mailto:"):
        host = raw[7:]
    if "://" in host:
        parts = urlsplit(host)
        host = parts.hostname or ""
        if not host:
            raise DomainError(f"There is no domain name in {raw!r}.")
        if host.startswith("www."):
            host = host[4:]
            note = "the web address you pasted, without www"
        else:
            note = "the web address you pasted"
    if "@" in host:
        host = host.rsplit("@", 1)[1]
        note = "the e-mail address you pasted"
    host = host.split("/", 1)[0].split("?", 1)[0]
    if ":" in host and host.count(":") == 1:
        host = host.split(":", 1)[0]
    host = host.strip().rstrip(".")
    if not host:
        raise DomainError(f"There is no domain name in {raw!r}.")
    if any(c.isspace() for c in host):
        raise DomainError(f"{host!r} has a space in it; a domain name cannot.")
    if "," in host:  # a slip of the finger: example,com
        raise DomainError(f"{host!r} has a comma in it; the parts of a domain name are separated by dots."
                          + _did_you_mean(host.replace(",", ".")))
    if host.startswith(".") or ".." in host:
        raise DomainError(f"{host!r} has an empty part (two dots in a row, or a dot at the start); a domain "
                          "name cannot." + _did_you_mean(re.sub(r"\.{2,}", ".", host).strip(".")))
    try:
        name = dns.name.from_unicode(host) if not host.isascii() else dns.name.from_text(host)
        ascii_name = name.to_text(omit_final_dot=True).lower()
    except dns.name.LabelTooLong:
        raise DomainError(f"{host!r} is not a valid domain name: a part between two dots can be at most 63 "
                          "characters long.") from None
    except dns.name.NameTooLong:
        raise DomainError(f"{host!r} is not a valid domain name: it is longer than the 253 characters a domain "
                          "name can have.") from None
    except Exception as exc:
        raise DomainError(f"{host!r} is not a valid domain name ({str(exc).rstrip('.')}).") from None
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise DomainError(f"{host!r} is not a full domain name; add the ending, for example {host}.com.")
    for label in labels:
        if not _LABEL.match(label):
            raise DomainError(f"{host!r} is not a valid domain name (the part {label!r} is not allowed).")
    if labels[-1].isdigit():
        raise DomainError(f"{host!r} looks like an IP address; type the domain name you send mail from.")
    display = to_unicode(ascii_name)
    if display != ascii_name and not note:
        note = f"internationalized name, looked up as {ascii_name}"
    return DomainInput(ascii_name, display, note)
