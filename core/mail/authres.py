"""Authentication-Results (RFC 8601, and the RFC 7601/7001/5451 forms), ARC-Authentication-Results
(RFC 8617 §4.1.1) and Received-SPF (RFC 7208 §9.1): lenient parsers for the forms real receivers write.

The grammar (RFC 8601 §2.2), with comments (CFWS) allowed almost everywhere::

    payload   = authserv-id [ version ] ( "; none" / 1*( ";" resinfo ) )
    resinfo   = method [ "/" version ] "=" result [ "reason=" value ] *( ptype "." property "=" value )

What real receivers write beyond it, and what we accept (each is a case from a real header):

- Microsoft 365 / Outlook.com start with a result and write no authserv-id
  (``spf=pass (sender IP is …) smtp.mailfrom=…; dkim=pass …;dmarc=pass action=none …;compauth=pass
  reason=100``). ``authserv_id`` is then ``""`` (``id_form="missing"``), or, in the older form that
  repeats the id between results (``…; outlook.com; dkim=…``), that id (``id_form="embedded"``).
- A stray authserv-id between results (``header.d=none;thehesiod.com; dmarc=…``) is skipped.
- Properties without a ptype (``action=none``, ``x-bits=1024``, ``version=TLSv1.2``) are kept, under
  their bare name; ``reason=`` (RFC 8601's reasonspec) fills ``reason``.
- Quoted strings anywhere a token may stand (``"header"."from"="example.com"``), unquoted values with
  ``:`` ``=`` ``/`` ``@`` (an IPv6 address, ``thisisa=test@example.com``), an empty header, a method
  with no result (``two;``), a missing ``;`` after the authserv-id (old Yahoo headers).

Names (method, result, ptype, property) are lower-cased; values keep their case. Comments are never part
of a value: the comment after a result is the method's ``comment`` (Gmail's "google.com: domain of …
designates …"), one after a property value is that property's.

The parsers raise only ``AuthResultsError``. Structurally broken segments (``foo . bar = x``,
``dkim = = pass``, ``none dkim=pass``) raise it; with ``recover=True`` such a segment is skipped (kept in
``AuthResults.skipped``) and the rest is still read, which is what a report on a real message wants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MAX_LENGTH = 256 * 1024  # longer header fields are refused (no real receiver writes one)

_WSP = " \t\r\n"
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_+")
_VALUE_STOP = frozenset(_WSP + ';()"')
_RESULT_STOP = frozenset(_WSP + ';()"=')

AUTH_RESULTS = "Authentication-Results"
ARC_AUTH_RESULTS = "ARC-Authentication-Results"
RECEIVED_SPF = "Received-SPF"


class AuthResultsError(ValueError):
    """The text is not a readable Authentication-Results / ARC-Authentication-Results / Received-SPF
    field. ``position`` is the offset in the (unfolded) value where reading stopped, or -1."""

    def __init__(self, message: str, position: int = -1) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass(frozen=True)
class Property:
    """One ``ptype.property=value`` (``ptype`` is ``""`` for a bare ``name=value``)."""

    ptype: str
    name: str
    value: str
    comment: str | None = None

    @property
    def key(self) -> str:
        return f"{self.ptype}.{self.name}" if self.ptype else self.name


@dataclass
class MethodResult:
    """One ``method=result`` with its reason, properties and comment.

    ``properties`` maps ``"ptype.property"`` (or a bare name) to the value; when a key repeats, the
    first value is kept there and ``items`` has them all, in order.
    """

    method: str
    result: str
    reason: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    comment: str | None = None
    version: str | None = None  # "dkim/1=pass" → "1"
    items: list[Property] = field(default_factory=list)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.properties.get(key.lower(), default)

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "result": self.result, "reason": self.reason,
                "properties": dict(self.properties), "comment": self.comment, "version": self.version}


@dataclass
class AuthResults:
    """One Authentication-Results or ARC-Authentication-Results header field."""

    authserv_id: str
    version: str | None
    results: list[MethodResult]
    raw: str
    field_name: str = AUTH_RESULTS
    instance: int | None = None  # ARC-Authentication-Results i=
    id_form: str = "leading"  # "leading" | "embedded" | "missing" (Microsoft forms, see module doc)
    comment: str | None = None  # comments around the authserv-id
    skipped: list[str] = field(default_factory=list)  # unreadable segments skipped with recover=True

    def find(self, method: str) -> list[MethodResult]:
        m = method.lower()
        return [r for r in self.results if r.method == m]

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field_name, "authserv_id": self.authserv_id, "version": self.version,
                "instance": self.instance, "id_form": self.id_form,
                "results": [r.to_json() for r in self.results], "skipped": list(self.skipped)}


@dataclass
class ReceivedSpf:
    """A Received-SPF field (RFC 7208 §9.1): ``result (comment) key=value; …``."""

    result: str
    comment: str | None
    params: dict[str, str]  # keys lower-cased, first occurrence kept
    raw: str

    @property
    def client_ip(self) -> str | None:
        return self.params.get("client-ip")

    @property
    def envelope_from(self) -> str | None:
        v = self.params.get("envelope-from")
        return v.strip().strip("<>") if v is not None else None

    @property
    def helo(self) -> str | None:
        return self.params.get("helo")

    @property
    def receiver(self) -> str | None:
        return self.params.get("receiver")

    @property
    def identity(self) -> str | None:
        v = self.params.get("identity")
        return v.lower() if v else None

    def to_json(self) -> dict[str, Any]:
        return {"result": self.result, "comment": self.comment, "params": dict(self.params)}


# -- field text helpers ---------------------------------------------------------------------------

_FIELD_RE = re.compile(r"^[ \t\r\n]*([A-Za-z][A-Za-z0-9-]*)[ \t]*:")


def split_field(text: str, names: tuple[str, ...]) -> tuple[str | None, str]:
    """``"Authentication-Results: x"`` → ``("Authentication-Results", " x")``; a bare value (or a field of
    another name) → ``(None, text)``. Only the given field names are recognised."""
    m = _FIELD_RE.match(text)
    if m and m.group(1).lower() in {n.lower() for n in names}:
        return m.group(1), text[m.end():]
    return None, text


def unfold(text: str) -> str:
    """Undo header folding: a line break followed by whitespace disappears; any other line break
    becomes a space."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"\n(?=[ \t])", "", text)
    return text.replace("\n", " ")


# -- the scanner ----------------------------------------------------------------------------------


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.n = len(text)

    def eof(self) -> bool:
        return self.pos >= self.n

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < self.n else ""

    def error(self, message: str) -> AuthResultsError:
        near = self.text[self.pos:self.pos + 30]
        where = f" at {near!r}" if near else " at the end"
        return AuthResultsError(f"{message}{where}", self.pos)

    def cfws(self) -> list[str]:
        """Skip whitespace and comments; return the comments' text (outer parentheses removed)."""
        comments: list[str] = []
        t, n = self.text, self.n
        while self.pos < n:
            c = t[self.pos]
            if c in _WSP:
                self.pos += 1
            elif c == "(":
                comments.append(self._comment())
            else:
                break
        return comments

    def _comment(self) -> str:
        t, n = self.text, self.n
        depth = 0
        start = self.pos + 1
        i = self.pos
        while i < n:
            c = t[i]
            if c == "\\":
                i += 2
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    self.pos = i + 1
                    return _squash(t[start:i])
            i += 1
        # An unterminated comment runs to the end (a truncated header); lenient.
        self.pos = n
        return _squash(t[start:])

    def quoted(self) -> str:
        t, n = self.text, self.n
        out: list[str] = []
        i = self.pos + 1
        while i < n:
            c = t[i]
            if c == "\\" and i + 1 < n:
                out.append(t[i + 1])
                i += 2
                continue
            if c == '"':
                self.pos = i + 1
                return "".join(out)
            out.append(c)
            i += 1
        raise self.error("unterminated quoted string")

    def key(self) -> tuple[str, bool] | None:
        """A keyword or a quoted string: ``(text, was_quoted)``; None if neither starts here."""
        if self.peek() == '"':
            return self.quoted(), True
        start = self.pos
        t, n = self.text, self.n
        while self.pos < n and t[self.pos] in _KEY_CHARS:
            self.pos += 1
        if self.pos == start:
            return None
        return t[start:self.pos], False

    def value(self, stop: frozenset[str] = _VALUE_STOP) -> str:
        """A value: a quoted string (optionally followed by ``@domain``) or a run of non-stop chars."""
        prefix = ""
        if self.peek() == '"':
            prefix = self.quoted()
            if self.peek() != "@":
                return prefix
        start = self.pos
        t, n = self.text, self.n
        while self.pos < n and t[self.pos] not in stop:
            self.pos += 1
        return prefix + t[start:self.pos]

    def digits(self) -> str:
        start = self.pos
        while self.pos < self.n and self.text[self.pos].isascii() and self.text[self.pos].isdigit():
            self.pos += 1
        return self.text[start:self.pos]

    def skip_segment(self) -> None:
        """Move to the next ``;`` that is outside quotes and comments (or to the end)."""
        while self.pos < self.n:
            c = self.text[self.pos]
            if c == ";":
                return
            if c == "(":
                self._comment()
            elif c == '"':
                try:
                    self.quoted()
                except AuthResultsError:
                    self.pos = self.n
            else:
                self.pos += 1


def _squash(text: str) -> str:
    return " ".join(text.split())


def _join(comments: list[str]) -> str | None:
    parts = [c for c in comments if c]
    return " ".join(f"({c})" if len(parts) > 1 else c for c in parts) if parts else None


# -- Authentication-Results -----------------------------------------------------------------------


def parse_authentication_results(text: str, *, recover: bool = False) -> AuthResults:
    """Parse an Authentication-Results field (``"Authentication-Results: …"``) or only its value."""
    if not isinstance(text, str):
        raise AuthResultsError("not text")
    name, value = split_field(text, (AUTH_RESULTS,))
    return _parse_payload(_checked(value), text, name or AUTH_RESULTS, None, recover)


_ARC_I = re.compile(r"^[ \t]*i[ \t]*=[ \t]*([0-9]{1,9})[ \t]*;")


def parse_arc_authentication_results(text: str, *, recover: bool = False) -> AuthResults:
    """Parse an ARC-Authentication-Results field (or its value): ``i=N; <authres-payload>``."""
    if not isinstance(text, str):
        raise AuthResultsError("not text")
    _, value = split_field(text, (ARC_AUTH_RESULTS,))
    value = _checked(value)
    m = _ARC_I.match(value)
    if not m:
        raise AuthResultsError("ARC-Authentication-Results must start with the instance tag i=N;", 0)
    res = _parse_payload(value[m.end():], text, ARC_AUTH_RESULTS, int(m.group(1)), recover)
    return res


def _checked(value: str) -> str:
    if len(value) > MAX_LENGTH:
        raise AuthResultsError(f"the header field is too long ({len(value)} characters)")
    return unfold(value)


def _parse_payload(value: str, raw: str, field_name: str, instance: int | None,
                   recover: bool) -> AuthResults:
    s = _Scanner(value)
    id_comments = s.cfws()
    res = AuthResults(authserv_id="", version=None, results=[], raw=raw, field_name=field_name,
                      instance=instance)
    if s.eof():  # an empty value: no authserv-id, no results (lenient, as go-msgauth)
        res.id_form = "missing"
        return res
    if s.peek() == ";":
        raise s.error("no authserv-id before the first ';'")
    start = s.pos
    first = s.value(_RESULT_STOP)
    after = s.pos
    s.cfws()
    if s.peek() == "=":
        s.pos = start  # Microsoft form: the header starts with a result, not an authserv-id
        res.id_form = "missing"
    else:
        s.pos = after
        if not first:
            raise s.error("expected an authserv-id")
        res.authserv_id = first
        id_comments += s.cfws()
        mark = s.pos
        version = s.digits()
        if version:
            id_comments += s.cfws()
            if s.eof() or s.peek() == ";":
                res.version = version
            else:
                s.pos = mark
    res.comment = _join(id_comments)
    saw_none = False
    while True:
        s.cfws()
        if s.eof():
            break
        if s.peek() == ";":
            s.pos += 1
            continue
        seg_start = s.pos
        try:
            kind, item = _segment(s)
        except AuthResultsError:
            if not recover:
                raise
            s.pos = seg_start
            s.skip_segment()
            res.skipped.append(value[seg_start:s.pos].strip())
            continue
        if kind == "none":
            saw_none = True
        elif kind == "id":
            assert isinstance(item, str)
            if not res.authserv_id:
                res.authserv_id = item
                res.id_form = "embedded"
        else:
            assert isinstance(item, MethodResult)
            res.results.append(item)
    if saw_none and res.results and not recover:
        raise AuthResultsError("'none' given together with results")
    return res


def _segment(s: _Scanner) -> tuple[str, MethodResult | str | None]:
    """One ``;``-separated segment: ``("result", MethodResult)``, ``("none", None)`` or ``("id", text)``
    for a stray authserv-id. Stops at ``;`` or the end."""
    start = s.pos
    k = s.key()
    if k is None:
        return "id", _stray_id(s, start)
    key, quoted = k
    comments = s.cfws()
    version: str | None = None
    if s.peek() == "/":
        s.pos += 1
        comments += s.cfws()
        version = s.digits()
        if not version:
            raise s.error("a method version must be a number")
        comments += s.cfws()
    c = s.peek()
    if c == "=":
        s.pos += 1
        comments += s.cfws()
        result = s.value(_RESULT_STOP)
        if s.peek() == "=":
            raise s.error("unexpected '='")
        mr = MethodResult(method=key.lower(), result=result.lower(), version=version)
        comments += s.cfws()
        _properties(s, mr, comments)
        return "result", mr
    if c == "" or c == ";":
        if key.lower() == "none" and not quoted and version is None:
            return "none", None
        return "result", MethodResult(method=key.lower(), result="", version=version, comment=_join(comments))
    if version is None and not comments:
        return "id", _stray_id(s, start)
    raise s.error(f"expected '=' after '{key[:40]}'")


def _stray_id(s: _Scanner, start: int) -> str:
    """A segment that is only a value (Microsoft repeats its authserv-id between results)."""
    s.pos = start
    v = s.value(_RESULT_STOP)
    if not v or not any(ch in v for ch in ".:["):
        raise s.error("expected method=result")
    s.cfws()
    if not (s.eof() or s.peek() == ";"):
        raise s.error("expected ';'")
    return v


def _properties(s: _Scanner, mr: MethodResult, method_comments: list[str]) -> None:
    while not s.eof() and s.peek() != ";":
        k1 = s.key()
        if k1 is None:
            raise s.error("expected a property")
        first, quoted = k1
        pre = s.cfws()
        ptype, name = "", first
        if s.peek() == ".":
            s.pos += 1
            pre += s.cfws()
            k2 = s.key()
            if k2 is None:
                raise s.error("expected a property name after '.'")
            ptype, name = first, k2[0]
            pre += s.cfws()
        elif quoted and "." in first:
            ptype, name = first.split(".", 1)
        if s.peek() != "=":
            raise s.error(f"expected '=' after '{(ptype + '.' if ptype else '') + name}'"[:80])
        s.pos += 1
        pre += s.cfws()
        value = s.value()
        post = s.cfws()
        ptype, name = ptype.lower(), name.lower()
        if not ptype and name == "reason" and mr.reason is None:
            mr.reason = value
            method_comments += pre + post
            continue
        prop = Property(ptype, name, value, _join(pre + post))
        mr.items.append(prop)
        mr.properties.setdefault(prop.key, value)
    mr.comment = _join(method_comments)


# -- Received-SPF ---------------------------------------------------------------------------------


def parse_received_spf(text: str) -> ReceivedSpf:
    """Parse a Received-SPF field (or its value): ``Pass (comment) client-ip=…; envelope-from=…``.

    Lenient: key=value pairs may be separated by ``;`` or only by whitespace (both are seen in the
    wild); a word that is not key=value is skipped. Raises ``AuthResultsError`` only when no result
    keyword starts the value."""
    if not isinstance(text, str):
        raise AuthResultsError("not text")
    _, value = split_field(text, (RECEIVED_SPF,))
    s = _Scanner(_checked(value))
    s.cfws()
    k = s.key()
    if k is None or k[1] or not k[0][:1].isalpha():
        raise s.error("expected an SPF result")
    result = k[0].lower()
    comments = s.cfws()
    params: dict[str, str] = {}
    while not s.eof():
        if s.peek() == ";":
            s.pos += 1
            s.cfws()
            continue
        start = s.pos
        kk = s.key()
        if kk is None:
            s.pos = start + 1  # a stray character: skip it
            s.cfws()
            continue
        s.cfws()
        if s.peek() != "=":
            s.cfws()
            continue
        s.pos += 1
        s.cfws()
        try:
            v = s.value()
        except AuthResultsError:
            v = s.text[s.pos + 1:]
            s.pos = s.n
        params.setdefault(kk[0].lower(), v)
        s.cfws()
    return ReceivedSpf(result=result, comment=_join(comments), params=params, raw=text)


# -- DKIM-style tag lists (DKIM-Signature, ARC-Seal, ARC-Message-Signature) ------------------------


def parse_tags(text: str) -> dict[str, str]:
    """A lenient RFC 6376 §3.2 tag=value list → dict (names lower-cased, the first of a repeated tag
    kept, values stripped; whitespace removed from ``b``, ``bh`` and ``h``). Never raises."""
    tags: dict[str, str] = {}
    if not isinstance(text, str):
        return tags
    for seg in unfold(text).split(";"):
        if "=" not in seg:
            continue
        name, value = seg.split("=", 1)
        name = name.strip(_WSP).lower()
        if not name or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            continue
        value = value.strip(_WSP)
        if name in ("b", "bh", "h"):
            value = "".join(value.split())
        tags.setdefault(name, value)
    return tags
