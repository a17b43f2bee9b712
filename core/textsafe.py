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

Right-to-left text (a Hebrew or Arabic name, subject or domain) is not escaped: it is text people read. But
put into one of our sentences it takes the neutral characters around it (dots, spaces, parentheses, a
number that follows) into its own direction and reorders the sentence. ``isolate_rtl()`` wraps every run of
right-to-left words in FSI…PDI (U+2068…U+2069, Unicode's bidi isolates), so the run is laid out on its own
and the sentence around it stays as written; ``isolate()`` wraps a whole field (a subject, a From header).
Both are for the desktop app's text only (after ``visible()``, which escapes any isolate the text carried, so
none can be left open): a terminal's support for isolates varies (many show them as boxes), so the command
line prints such text as is, each field on a line of its own after its label; JSON carries the raw value.
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


FSI, PDI = "\u2068", "\u2069"
# strong right-to-left letters (bidi classes R and AL): Hebrew, Arabic, Syriac, Thaana, N'Ko, Samaritan,
# Mandaic, their presentation forms, and the right-to-left scripts of the supplementary planes
_RTL = ("\u0590-\u05ff\u0600-\u06ff\u0700-\u074f\u0750-\u077f\u0780-\u07bf\u07c0-\u07ff\u0800-\u085f"
        "\u0860-\u08ff\ufb1d-\ufdff\ufe70-\ufefe\U00010800-\U00010fff\U0001e800-\U0001efff")
_HAS_RTL = re.compile(f"[{_RTL}]")
# a run of words holding right-to-left letters (and the spaces between them); the sentence's own brackets,
# quotes and punctuation around the run stay outside the isolate
_RTL_RUN = re.compile(f"\\S*[{_RTL}]\\S*(?:\\s+\\S*[{_RTL}]\\S*)*")
_OPENING = "([{\"'\u201c\u2018\u00ab<"
_CLOSING = ".,;:!?)]}\"'\u201d\u2019\u00bb>"


def _isolated_run(m: re.Match[str]) -> str:
    run = m.group(0)
    body = run.lstrip(_OPENING)
    head = run[:len(run) - len(body)]
    core = body.rstrip(_CLOSING)
    return f"{head}{FSI}{core}{PDI}{body[len(core):]}" if core else run


def has_rtl(text: str) -> bool:
    return _HAS_RTL.search(text) is not None


def isolate(text: str) -> str:
    """A whole field of outside text (already ``visible()``) as one bidi isolate, for a sentence of ours."""
    return f"{FSI}{text}{PDI}" if text else text


def isolate_rtl(text: str) -> str:
    """Every run of right-to-left words in ``text`` (already ``visible()``) as a bidi isolate, so it can't
    reorder the sentence it sits in; text without right-to-left letters is returned as it is."""
    if not _HAS_RTL.search(text):
        return text
    return _RTL_RUN.sub(_isolated_run, text)


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


__all__ = ["FSI", "PDI", "UNSAFE", "dumps_json", "escape_char", "has_rtl", "has_unsafe", "isolate", "isolate_rtl",
           "visible"]
