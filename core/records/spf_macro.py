"""SPF macro-strings (RFC 7208 §7): parsing, validation and expansion.

A macro-string is the text of a domain-spec (``%{ir}.%{v}._spf.%{d2}``), of an unknown modifier's
value, or of an explanation (the TXT record named by ``exp=``). Parsing checks the syntax and never
raises anything but :class:`SpfSyntaxError`; expanding needs a :class:`MacroContext` (who is sending,
from where) and is pure: the validated domain name ``%{p}`` is looked up by the caller (the
evaluator) and handed in, because that needs DNS.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from typing import Union

__all__ = [
    "SpfSyntaxError",
    "MacroExpand",
    "MacroPart",
    "MacroContext",
    "parse_macro_string",
    "expand_parts",
    "expand_macro_string",
    "macro_letters",
    "truncate_domain",
    "static_target",
    "is_valid_domain_name",
    "ip_for_spf",
]

# Letters allowed everywhere, and the three allowed only in explanation text (RFC 7208 §7.1).
DOMAIN_LETTERS = frozenset("slodiphv")
EXPLAIN_ONLY_LETTERS = frozenset("crt")
DELIMITERS = frozenset(".-+,/_=")
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
MAX_DOMAIN = 253
MAX_LABEL = 63

_LETTER_NAMES = {
    "s": "the sender's address",
    "l": "the sender's local part",
    "o": "the sender's domain",
    "d": "the domain being checked",
    "i": "the sending IP address",
    "p": "the sending server's verified host name",
    "v": "'in-addr' or 'ip6'",
    "h": "the HELO/EHLO name",
    "c": "the sending IP address (readable form)",
    "r": "the receiving server's name",
    "t": "the current time",
}


class SpfSyntaxError(ValueError):
    """A syntax error in an SPF record or macro-string, in plain words.

    ``position`` is the 0-based offset in the text that was parsed (the whole record when the
    record parser raised it), ``term`` the term it is about, ``code`` a short stable id of the
    kind of error (``bad-ip4``, ``unknown-mechanism``, ``bad-macro``...).
    """

    def __init__(self, message: str, *, position: int | None = None, term: str | None = None,
                 code: str = "syntax") -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.term = term
        self.code = code

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict[str, object]:
        return {"message": self.message, "position": self.position, "term": self.term, "code": self.code}


@dataclass(frozen=True)
class MacroExpand:
    """One ``%{...}`` expression."""

    letter: str  # lower-case macro letter
    url_escape: bool  # the letter was upper-case
    digits: int | None  # keep this many right-hand parts (None: all)
    reverse: bool
    delimiters: str  # "" means the default "."
    text: str  # as written
    start: int  # offset in the parsed text


MacroPart = Union[str, MacroExpand]


def _where(pos: int) -> str:
    return f"at character {pos + 1}"


def parse_macro_string(text: str, *, explain: bool = False, offset: int = 0) -> tuple[MacroPart, ...]:
    """Parse a macro-string (or, with ``explain=True``, an explain-string, which may also hold
    spaces and the letters c, r and t). Literal runs come back as ``str``; ``%%``, ``%_`` and ``%-``
    are already turned into their literal text. ``offset`` is added to positions in errors.

    Raises only :class:`SpfSyntaxError`.
    """
    parts: list[MacroPart] = []
    literal: list[str] = []
    i = 0
    n = len(text)
    allowed_letters = DOMAIN_LETTERS | EXPLAIN_ONLY_LETTERS if explain else DOMAIN_LETTERS
    while i < n:
        ch = text[i]
        if ch == "%":
            if i + 1 >= n:
                raise SpfSyntaxError(
                    f"a '%' {_where(offset + i)} ends the text; a literal percent sign must be written '%%'",
                    position=offset + i, code="bad-macro")
            nxt = text[i + 1]
            if nxt == "%":
                literal.append("%")
                i += 2
                continue
            if nxt == "_":
                literal.append(" ")
                i += 2
                continue
            if nxt == "-":
                literal.append("%20")
                i += 2
                continue
            if nxt != "{":
                raise SpfSyntaxError(
                    f"'%{nxt}' {_where(offset + i)} is not a valid macro; a '%' must be followed by '{{', "
                    "'%', '_' or '-' (write '%%' for a literal percent sign)",
                    position=offset + i, code="bad-macro")
            close = text.find("}", i + 2)
            if close < 0:
                raise SpfSyntaxError(f"the macro starting {_where(offset + i)} is missing its closing '}}'",
                                     position=offset + i, code="bad-macro")
            body = text[i + 2:close]
            macro = _parse_macro_body(body, text[i:close + 1], offset + i, allowed_letters, explain)
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(macro)
            i = close + 1
            continue
        o = ord(ch)
        if ch == " " and explain:
            literal.append(ch)
        elif 0x21 <= o <= 0x7E:
            literal.append(ch)
        else:
            raise SpfSyntaxError(_bad_char_message(ch, offset + i), position=offset + i, code="bad-character")
        i += 1
    if literal:
        parts.append("".join(literal))
    return tuple(parts)


def _bad_char_message(ch: str, pos: int) -> str:
    o = ord(ch)
    if ch == " ":
        what = "a space"
    elif o < 0x20 or o == 0x7F:
        what = f"an invisible control character (code {o})"
    else:
        what = f"the non-ASCII character {ch!r}"
    return f"{what} {_where(pos)} is not allowed here (SPF records may use only plain visible ASCII characters)"


def _parse_macro_body(body: str, whole: str, pos: int, allowed: frozenset[str], explain: bool) -> MacroExpand:
    if not body:
        raise SpfSyntaxError(f"the macro '{whole}' {_where(pos)} is empty", position=pos, code="bad-macro")
    letter_raw = body[0]
    letter = letter_raw.lower()
    if letter not in allowed:
        if letter in EXPLAIN_ONLY_LETTERS:
            raise SpfSyntaxError(
                f"the macro '{whole}' {_where(pos)} may only be used in explanation text, not in a domain "
                "name or mechanism", position=pos, code="bad-macro")
        raise SpfSyntaxError(
            f"the macro '{whole}' {_where(pos)} uses the unknown letter '{letter_raw}' (known: "
            f"{', '.join(sorted(allowed))})", position=pos, code="bad-macro")
    j = 1
    while j < len(body) and body[j].isascii() and body[j].isdigit():
        j += 1
    digits_text = body[1:j]
    digits: int | None = None
    if digits_text:
        if len(digits_text) > 6:
            digits = 10**6  # "more parts than available": all of them
        else:
            digits = int(digits_text)
        if digits == 0:
            raise SpfSyntaxError(f"the macro '{whole}' {_where(pos)} asks for 0 parts; the number must be 1 or more",
                                 position=pos, code="bad-macro")
    reverse = False
    if j < len(body) and body[j] in "rR":
        reverse = True
        j += 1
    delims = body[j:]
    for d in delims:
        if d not in DELIMITERS:
            raise SpfSyntaxError(
                f"the macro '{whole}' {_where(pos)} has '{d}' where only a number, 'r' or the delimiters "
                "'.-+,/_=' may follow the letter", position=pos, code="bad-macro")
    return MacroExpand(letter=letter, url_escape=letter_raw.isupper(), digits=digits, reverse=reverse,
                       delimiters=delims, text=whole, start=pos)


def macro_letters(parts: tuple[MacroPart, ...]) -> frozenset[str]:
    """The (lower-case) macro letters used in ``parts``."""
    return frozenset(p.letter for p in parts if isinstance(p, MacroExpand))


def ip_for_spf(ip: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """Parse an IP; an IPv4-mapped IPv6 address (``::ffff:192.0.2.1``) is an IPv4 address for SPF
    (RFC 7208 §5). Raises ``ValueError`` for text that is not an IP address."""
    addr = ip if isinstance(ip, (ipaddress.IPv4Address, ipaddress.IPv6Address)) else ipaddress.ip_address(str(ip).strip())
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


@dataclass(frozen=True)
class MacroContext:
    """What macros expand to. ``sender`` is the full <sender> with "postmaster" already substituted
    for a missing local part; ``domain`` the <domain> currently evaluated; ``validated`` the
    validated host name for ``%{p}`` (looked up by the caller; None gives "unknown")."""

    sender: str
    domain: str
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    helo: str = ""
    receiver: str = "unknown"
    validated: str | None = None
    timestamp: int | None = None

    @property
    def local_part(self) -> str:
        local, _, _ = self.sender.rpartition("@")
        return local or "postmaster"

    @property
    def sender_domain(self) -> str:
        _, at, dom = self.sender.rpartition("@")
        return dom if at else self.sender

    def value(self, letter: str) -> str:
        ip = self.ip
        if letter == "s":
            return self.sender
        if letter == "l":
            return self.local_part
        if letter == "o":
            return self.sender_domain
        if letter == "d":
            return self.domain
        if letter == "i":
            if isinstance(ip, ipaddress.IPv6Address):
                return ".".join(ip.exploded.replace(":", ""))
            return str(ip)
        if letter == "p":
            return self.validated or "unknown"
        if letter == "v":
            return "ip6" if isinstance(ip, ipaddress.IPv6Address) else "in-addr"
        if letter == "h":
            return self.helo
        if letter == "c":
            return str(ip)
        if letter == "r":
            return self.receiver or "unknown"
        if letter == "t":
            return str(self.timestamp if self.timestamp is not None else int(time.time()))
        raise SpfSyntaxError(f"unknown macro letter '{letter}'", code="bad-macro")


def _url_escape(value: str) -> str:
    out: list[str] = []
    for ch in value:
        if ch in UNRESERVED:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)


def _transform(value: str, m: MacroExpand) -> str:
    if m.digits is None and not m.reverse and not m.delimiters:
        return value
    delims = m.delimiters or "."
    parts: list[str] = []
    current: list[str] = []
    for ch in value:
        if ch in delims:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    if m.reverse:
        parts.reverse()
    if m.digits is not None and m.digits < len(parts):
        parts = parts[len(parts) - m.digits:]
    return ".".join(parts)


def expand_parts(parts: tuple[MacroPart, ...], ctx: MacroContext) -> str:
    """Expand parsed macro parts (RFC 7208 §7.3, §7.4)."""
    out: list[str] = []
    for p in parts:
        if isinstance(p, str):
            out.append(p)
            continue
        value = _transform(ctx.value(p.letter), p)
        out.append(_url_escape(value) if p.url_escape else value)
    return "".join(out)


def expand_macro_string(text: str, ctx: MacroContext, *, explain: bool = False) -> str:
    """Parse and expand ``text``. Raises only :class:`SpfSyntaxError`."""
    return expand_parts(parse_macro_string(text, explain=explain), ctx)


def truncate_domain(name: str) -> str:
    """An expanded domain name ready to query: one trailing dot removed, and, when longer than 253
    characters, labels removed from the left until it fits (RFC 7208 §7.3)."""
    if name.endswith("."):
        name = name[:-1]
    while len(name) > MAX_DOMAIN:
        dot = name.find(".")
        if dot < 0:
            return name[-MAX_DOMAIN:]
        name = name[dot + 1:]
    return name


def static_target(spec: str | None, domain: str, top: str) -> str | None:
    """A domain-spec expanded without knowing the sender or the address: only %{d} and %{o} can be expanded
    (``domain``, the one being evaluated, and ``top``, the one checked). ``spec`` None is ``domain``; None
    when the target depends on the sender or the address, or the spec is not valid."""
    if spec is None:
        return domain
    try:
        parts = parse_macro_string(spec)
    except SpfSyntaxError:
        return None
    if not macro_letters(parts) <= {"d", "o"}:
        return None
    ctx = MacroContext(sender=f"postmaster@{top}", domain=domain, ip=ipaddress.IPv4Address("192.0.2.0"))
    return truncate_domain(expand_parts(parts, ctx)).lower()


def is_valid_domain_name(name: str, *, multi_label: bool = True) -> bool:
    """True when ``name`` (no trailing dot, or one) can be asked in DNS: non-empty labels of at most
    63 octets, at most 253 characters, printable ASCII only; with ``multi_label`` at least two labels
    and not an address literal."""
    if name.endswith("."):
        name = name[:-1]
    if not name or len(name) > MAX_DOMAIN:
        return False
    if not name.isascii() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return False
    labels = name.split(".")
    if any(not label or len(label) > MAX_LABEL for label in labels):
        return False
    if multi_label:
        if len(labels) < 2:
            return False
        if name.startswith("[") or labels[-1].isdigit():
            return False
    return True


def letter_description(letter: str) -> str:
    return _LETTER_NAMES.get(letter.lower(), letter)
