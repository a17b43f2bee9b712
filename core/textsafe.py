"""Text from outside (DNS records, report files, message headers, server replies) made safe to show.

A TXT record, a report's organisation name or a message subject can hold terminal escape sequences
(``ESC [ 2 J`` clears the screen and can paint a fake "all green" report), a carriage return that
overwrites the line it is on, or Unicode direction overrides that show text in another order than it
is. ``visible()`` writes every such character as a visible escape instead, so what is shown is what was
received, and nothing in it acts on the screen:

- C0 and C1 control characters and DEL as ``\\x1b``, ``\\x9b`` (``\\n``, ``\\r``, ``\\t`` by name);
- format characters (bidi overrides and isolates, zero-width characters, the byte-order mark...), line and
  paragraph separators and lone surrogates (undecodable bytes) as ``\\u202e``, ``\\U000e0041``.

Printable text, including every other non-ASCII letter, is left exactly as it is. ``dumps_json()`` is
``json.dumps`` whose output carries those characters as ``\\uXXXX`` escapes: the JSON still decodes to
the very same data, and a terminal showing it is safe.

Used by the command line (every print of outside text) and the desktop app (labels and fields that show
it); what is *copied* (a fix value) stays byte for byte what it is.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Unicode categories Cc (controls), Cf (format), Cs (surrogates), Zl and Zp (line and paragraph separators),
# as ranges; tests/core/test_textsafe.py checks this against the running Python's unicodedata.
_UNSAFE_RANGES = (
    "\x00-\x1f\x7f-\x9f\xad"
    "\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
    "\ud800-\udfff\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
)
UNSAFE = re.compile(f"[{_UNSAFE_RANGES}]")
UNSAFE_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f{_UNSAFE_RANGES[len(chr(0) + '-' + chr(0x1f)):]}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_char(c: str) -> str:
    """One unsafe character as its visible escape (``\\x1b``, ``\\u202e``, ``\\U000e0041``)."""
    if c in _NAMED:
        return _NAMED[c]
    n = ord(c)
    if n < 0x100:
        return f"\\x{n:02x}"
    if n < 0x10000:
        return f"\\u{n:04x}"
    return f"\\U{n:08x}"


def _sub(m: re.Match[str]) -> str:
    return escape_char(m.group(0))


def visible(value: Any, *, keep_newlines: bool = False) -> str:
    """``value`` as text with every control, format and separator character written as a visible
    escape. ``keep_newlines`` leaves ``\\n`` alone (for text that is meant to have several lines) and
    shows a CRLF line break (an MTA-STS policy file, a message) as a line break; every other character, a
    lone ``\\r`` included, is escaped either way. ``None`` is ``""``."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    if keep_newlines and "\r\n" in text:
        text = text.replace("\r\n", "\n")
    pattern = UNSAFE_BUT_NEWLINE if keep_newlines else UNSAFE
    return pattern.sub(_sub, text) if pattern.search(text) else text


def has_unsafe(text: str) -> bool:
    return UNSAFE.search(text) is not None


def _json_escape(m: re.Match[str]) -> str:
    n = ord(m.group(0))
    if n < 0x10000:
        return f"\\u{n:04x}"
    n -= 0x10000  # JSON has only \\uXXXX: a surrogate pair
    return f"\\u{0xd800 + (n >> 10):04x}\\u{0xdc00 + (n & 0x3ff):04x}"


def dumps_json(data: Any, **kwargs: Any) -> str:
    """``json.dumps(data, ensure_ascii=False, **kwargs)`` with every unsafe character as a ``\\u``
    escape (valid JSON that decodes to the same data; readable letters stay as they are)."""
    kwargs.setdefault("ensure_ascii", False)
    text = json.dumps(data, **kwargs)
    # unsafe characters can only be inside JSON strings (the syntax itself is printable ASCII and the line
    # breaks of ``indent``, which json.dumps never leaves raw inside a string), where a \\uXXXX escape
    # means the same character
    return UNSAFE_BUT_NEWLINE.sub(_json_escape, text) if UNSAFE_BUT_NEWLINE.search(text) else text


__all__ = ["UNSAFE", "dumps_json", "escape_char", "has_unsafe", "visible"]
