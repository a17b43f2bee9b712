"""Splitting a received message into header fields, and small helpers for addresses and Received.

Our own splitter (not ``email``): we need every field in order, exactly as written (folding kept),
and we must survive anything: binary junk, a pasted header block without a body, an mbox ``From ``
line, LF or CRLF line ends, header lines that are not fields. Nothing here raises on bad input.
"""

from __future__ import annotations

import email.header
import email.utils
import ipaddress
import re
from dataclasses import dataclass, field

from .authres import unfold

MAX_FIELDS = 5000  # more header fields than this are ignored (and said so), except the ones below
# Fields a verdict depends on are kept past MAX_FIELDS (up to MAX_KEPT_PAST_CAP of each name): a flood of
# other fields (10,000 Authentication-Results) must never hide the From header or the signatures.
KEPT_PAST_CAP = frozenset({
    "from", "sender", "reply-to", "to", "cc", "subject", "date", "message-id", "dkim-signature", "received",
    "return-path", "list-unsubscribe", "list-unsubscribe-post", "mime-version", "content-type",
    "content-transfer-encoding",
})
MAX_KEPT_PAST_CAP = 50

_FIELD_LINE = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]*:")
_BLANK_LINES = re.compile(rb"(?:[ \t]*\r?\n)*")
MAX_ADDRESS_FIELD = 16 * 1024  # longer From / Subject values are read only this far


@dataclass(frozen=True)
class HeaderField:
    """One header field. ``value`` is the text after the colon with folding kept (lines joined by
    ``\\n``, the final line end removed); ``index`` is its position from the top (0 = topmost, newest),
    counting every field of the message, also those not kept (see ``MAX_FIELDS``)."""

    name: str
    value: str
    index: int

    @property
    def lname(self) -> str:
        return self.name.lower()

    @property
    def unfolded(self) -> str:
        return unfold(self.value).strip()

    @property
    def text(self) -> str:
        """The field as written (``Name: value``), for showing the user."""
        return f"{self.name}:{self.value}"


@dataclass
class ParsedMessage:
    fields: list[HeaderField]
    body: bytes | None  # None: there was no blank line after the headers (a pasted header block)
    raw: bytes  # the message as handed to DKIM verification (leading blank lines / mbox line removed)
    defects: list[str] = field(default_factory=list)

    def get_all(self, name: str) -> list[HeaderField]:
        n = name.lower()
        return [f for f in self.fields if f.lname == n]

    def first(self, name: str) -> HeaderField | None:
        n = name.lower()
        return next((f for f in self.fields if f.lname == n), None)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace")


def parse_message(raw: bytes | str) -> ParsedMessage:
    """Split ``raw`` into header fields and body. Never raises."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    elif not isinstance(raw, (bytes, bytearray, memoryview)):
        return ParsedMessage([], None, b"", ["the message is not text"])
    data = bytes(raw)
    defects: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    # Leading blank lines (pasted text often has them) and an mbox "From " separator line.
    m = _BLANK_LINES.match(data)
    start = m.end() if m else 0
    if data.startswith(b"From ", start):
        nl = data.find(b"\n", start)
        start = len(data) if nl < 0 else nl + 1
    data = data[start:]

    fields: list[HeaderField] = []
    name: bytes | None = None
    parts: list[bytes] = []
    body: bytes | None = None
    pos = 0
    n = len(data)
    skipped = 0
    position = 0
    kept_past: dict[bytes, int] = {}

    def flush() -> None:
        nonlocal name, parts, skipped, position
        if name is not None:
            low = name.lower()
            keep = len(fields) < MAX_FIELDS
            if not keep and low.decode("ascii", "replace") in KEPT_PAST_CAP:
                keep = kept_past.get(low, 0) < MAX_KEPT_PAST_CAP
                kept_past[low] = kept_past.get(low, 0) + 1
            if keep:
                value = b"\n".join(parts)
                fields.append(HeaderField(_decode(name), _decode(value), position))
            else:
                skipped += 1
            position += 1
        name, parts = None, []

    while pos < n:
        nl = data.find(b"\n", pos)
        end = n if nl < 0 else nl + 1
        line = data[pos:end].rstrip(b"\r\n")
        pos = end
        if line == b"" and nl >= 0:
            flush()
            body = data[pos:]
            break
        if line == b"":
            break
        if line[:1] in (b" ", b"\t"):
            if name is not None:
                parts.append(line)
            else:
                defects.append("a header line starts with a space but follows no field")
            continue
        m = _FIELD_LINE.match(line)
        if m:
            flush()
            name = m.group(1)
            parts = [line[m.end():]]
        else:
            flush()
            if len(defects) < 20:
                defects.append(f"not a header line: {_decode(line[:60])!r}")
    else:
        flush()
    flush()
    if skipped:
        defects.append(f"more than {MAX_FIELDS} header fields: {skipped} further ones were ignored (From, "
                       "Subject, DKIM-Signature and the other fields a verdict needs were still read)")
    return ParsedMessage(fields, body, data, defects)


# -- comments, Received, addresses -----------------------------------------------------------------


def strip_comments(text: str) -> str:
    """Remove (nested) parenthesised comments, respecting quoted strings and backslash escapes."""
    out: list[str] = []
    depth = 0
    quoted = False
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            if depth == 0:
                out.append(text[i:i + 2])
            i += 2
            continue
        if quoted:
            out.append(c)
            if c == '"':
                quoted = False
        elif c == '"' and depth == 0:
            quoted = True
            out.append(c)
        elif c == "(":
            depth += 1
            out.append(" ")
        elif c == ")" and depth > 0:
            depth -= 1
        elif depth == 0:
            out.append(c)
        i += 1
    return "".join(out)


_BY = re.compile(r"(?:^|\s)by\s+([^\s;]+)", re.IGNORECASE)
_FROM = re.compile(r"(?:^|\s)from\s+([^\s;]+)", re.IGNORECASE)


def received_by(value: str) -> str | None:
    """The host named in a Received field's ``by`` clause (lower-case, no trailing dot), or None."""
    m = _BY.search(strip_comments(unfold(value)))
    return m.group(1).strip("[]").rstrip(".").lower() if m else None


def received_from(value: str) -> str | None:
    m = _FROM.search(strip_comments(unfold(value)))
    return m.group(1).strip("[]").rstrip(".").lower() if m else None


def is_ip_literal(host: str) -> bool:
    h = host.strip("[]")
    if h.lower().startswith("ipv6:"):
        h = h[5:]
    try:
        ipaddress.ip_address(h)
    except ValueError:
        return False
    return True


_ADDR_RE = re.compile(r"[^\s<>@\",;:()]{1,64}@([^\s<>@\",;:()]{1,255})")  # bounded: no quadratic scans


def _mailboxes(text: str) -> list[str]:
    """An address list split at its top-level commas (and a group's ``name:`` and ``;``), outside quoted
    strings, comments and angle brackets."""
    parts: list[str] = []
    buf: list[str] = []
    depth = 0
    quoted = angle = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            buf.append(text[i:i + 2])
            i += 2
            continue
        if quoted:
            quoted = c != '"'
        elif depth:
            depth += {"(": 1, ")": -1}.get(c, 0)
        elif c == '"':
            quoted = True
        elif c == "(":
            depth = 1
        elif angle:
            angle = c != ">"
        elif c == "<":
            angle = True
        elif c in ",;":
            parts.append("".join(buf))
            buf = []
            i += 1
            continue
        elif c == ":":  # a group's display name ends here
            buf = []
            i += 1
            continue
        buf.append(c)
        i += 1
    parts.append("".join(buf))
    return [p for p in parts if p.strip()]


def _angle_addr(mailbox: str) -> str | None:
    """The address inside a mailbox's top-level ``<…>`` (route removed), or None when it has none."""
    text = strip_comments(mailbox)
    inner: str | None = None
    quoted = False
    start = -1
    for i, c in enumerate(text):
        if quoted:
            quoted = c != '"' or text[i - 1] == "\\"
        elif c == '"' and start < 0:
            quoted = True
        elif c == "<":
            start = i
        elif c == ">" and start >= 0:
            inner = text[start + 1:i]
            start = -1
    if inner is None:
        return None
    inner = inner.strip()
    if inner.startswith("@") and ":" in inner:  # obsolete route: <@relay.example:user@example.com>
        inner = inner.split(":", 1)[1].strip()
    return inner if '"' in inner else "".join(inner.split())


def addresses(value: str) -> list[str]:
    """The e-mail addresses in an address-list field (From, Reply-To…), as written.

    A mailbox written with an angle address is that address alone, whatever its display name holds:
    ``ceo@bank.example <x@evil.example>`` (an unquoted ``@`` in the name, which RFC 5322 doesn't allow but
    senders write to deceive) is the mailbox ``x@evil.example``, as receivers and DMARC read it."""
    text = unfold(value[:MAX_ADDRESS_FIELD])
    found: list[str] = []
    try:
        for box in _mailboxes(text):
            addr = _angle_addr(box)
            if addr is not None:
                if "@" in addr:
                    found.append(addr)
                continue
            found.extend(a for _, a in email.utils.getaddresses([box]) if "@" in a)
    except Exception:  # the stdlib parser on hostile input; fall back to a plain pattern
        found = []
    if not found:
        found = [m.group(0) for m in _ADDR_RE.finditer(strip_comments(text))]
    return found


def domain_of(text: str | None) -> str:
    """``"Name <user@Example.COM.>"`` / ``user@example.com`` / ``example.com`` → ``example.com``
    (lower-case, no trailing dot, IDN as A-labels when possible); ``""`` when there is none."""
    if not text:
        return ""
    t = text.strip().strip("<>").strip().strip('"')
    if "@" in t:
        t = t.rsplit("@", 1)[1]
    t = t.strip().strip("<>[]").rstrip(".").lower()
    if not t or any(c in t for c in " \t<>()\",;"):
        return ""
    if not t.isascii():
        try:
            t = t.encode("idna").decode("ascii")
        except UnicodeError:
            return t
    return t


def decode_words(value: str) -> str:
    """RFC 2047 encoded words (``=?utf-8?q?…?=``) decoded, folding removed; the text as is when it
    can't be decoded."""
    text = unfold(value[:MAX_ADDRESS_FIELD]).strip()
    if "=?" not in text:
        return text
    try:
        return str(email.header.make_header(email.header.decode_header(text)))
    except Exception:  # malformed encoded words, unknown charsets
        return text
