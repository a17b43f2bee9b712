"""SPF record parser (RFC 7208 §4.5, §4.6, §5, §6, §12).

``parse_record`` turns a TXT value into an :class:`SpfRecord` whose terms carry their positions
(0-based ``start``/``end`` offsets into the record text), or raises :class:`SpfSyntaxError` with
a plain-English message naming the term and the character where it starts.
``parse_record_lenient`` keeps going after a bad term and collects every error, for the analyser.
Nothing here raises anything but ``SpfSyntaxError``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Union

from .spf_macro import MacroExpand, SpfSyntaxError, macro_letters, parse_macro_string

__all__ = [
    "SpfSyntaxError",
    "Mechanism",
    "Modifier",
    "Term",
    "SpfRecord",
    "is_spf_record",
    "parse_record",
    "parse_record_lenient",
    "parse_term",
    "parse_domain_spec",
    "MECHANISMS",
    "LOOKUP_MECHANISMS",
    "QUALIFIER_RESULTS",
]

VERSION = "v=spf1"
MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
LOOKUP_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})
QUALIFIER_RESULTS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
_MODIFIER_RE = re.compile(r"([A-Za-z][A-Za-z0-9_.\-]*)=")
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*")
_IP4_RE = re.compile(r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])"
                     r"(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])){3}")
_CIDR_RE = re.compile(r"0|[1-9][0-9]{0,2}")
_DUAL_CIDR_RE = re.compile(r"(?:/([0-9]+))?(?://([0-9]+))?")
_TOPLABEL_RE = re.compile(r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9]")
_KNOWN = "all, include:, a, mx, ptr, ip4:, ip6:, exists:, redirect= and exp="


@dataclass(frozen=True)
class Mechanism:
    """A directive: qualifier + mechanism (RFC 7208 §4.6.2, §5)."""

    kind: str  # all include a mx ptr ip4 ip6 exists (lower-case)
    qualifier: str  # "+", "-", "~" or "?"
    text: str  # the term exactly as written
    start: int
    end: int
    domain_spec: str | None = None  # include/a/mx/ptr/exists (None: the current domain)
    ip4_cidr: int | None = None  # a/mx/ip4, only when written
    ip6_cidr: int | None = None  # a/mx/ip6, only when written
    address: str | None = None  # ip4/ip6: the address as written
    explicit_qualifier: bool = False

    @property
    def result(self) -> str:
        return QUALIFIER_RESULTS[self.qualifier]

    @property
    def costs_lookup(self) -> bool:
        return self.kind in LOOKUP_MECHANISMS

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
        if self.address is None:
            return None
        if self.kind == "ip4":
            return ipaddress.IPv4Network(f"{self.address}/{32 if self.ip4_cidr is None else self.ip4_cidr}",
                                         strict=False)
        return ipaddress.IPv6Network(f"{self.address}/{128 if self.ip6_cidr is None else self.ip6_cidr}",
                                     strict=False)

    @property
    def has_macros(self) -> bool:
        return self.domain_spec is not None and "%" in self.domain_spec

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "mechanism", "mechanism": self.kind, "qualifier": self.qualifier, "result": self.result,
            "text": self.text, "start": self.start, "end": self.end, "domain_spec": self.domain_spec,
            "ip4_cidr": self.ip4_cidr, "ip6_cidr": self.ip6_cidr, "address": self.address,
            "lookup": self.costs_lookup,
        }


@dataclass(frozen=True)
class Modifier:
    """``name=value`` (RFC 7208 §6). ``name`` is lower-case; ``raw_name`` as written."""

    name: str
    value: str
    text: str
    start: int
    end: int
    raw_name: str = ""

    @property
    def costs_lookup(self) -> bool:
        return self.name == "redirect"

    @property
    def has_macros(self) -> bool:
        return "%" in self.value

    def to_json(self) -> dict[str, Any]:
        return {"kind": "modifier", "name": self.name, "value": self.value, "text": self.text,
                "start": self.start, "end": self.end, "lookup": self.costs_lookup}


Term = Union[Mechanism, Modifier]


@dataclass(frozen=True)
class SpfRecord:
    text: str
    terms: tuple[Term, ...]
    errors: tuple[SpfSyntaxError, ...] = field(default=())  # only from parse_record_lenient

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def mechanisms(self) -> tuple[Mechanism, ...]:
        return tuple(t for t in self.terms if isinstance(t, Mechanism))

    @property
    def modifiers(self) -> tuple[Modifier, ...]:
        return tuple(t for t in self.terms if isinstance(t, Modifier))

    def _modifier(self, name: str) -> Modifier | None:
        for t in self.terms:
            if isinstance(t, Modifier) and t.name == name:
                return t
        return None

    @property
    def redirect(self) -> Modifier | None:
        return self._modifier("redirect")

    @property
    def exp(self) -> Modifier | None:
        return self._modifier("exp")

    @property
    def unknown_modifiers(self) -> tuple[Modifier, ...]:
        return tuple(t for t in self.modifiers if t.name not in ("redirect", "exp"))

    @property
    def all(self) -> Mechanism | None:
        """The first ``all`` mechanism (later ones are never reached)."""
        for m in self.mechanisms:
            if m.kind == "all":
                return m
        return None

    @property
    def effective_redirect(self) -> Modifier | None:
        """``redirect=`` unless an ``all`` makes it ignored (RFC 7208 §6.1)."""
        return None if self.all is not None else self.redirect

    @property
    def evaluated_mechanisms(self) -> tuple[Mechanism, ...]:
        """The mechanisms that can be reached: those up to and including the first ``all``."""
        out: list[Mechanism] = []
        for m in self.mechanisms:
            out.append(m)
            if m.kind == "all":
                break
        return tuple(out)

    @property
    def lookup_count(self) -> int:
        """Lookup-costing terms of this record alone, as evaluated when nothing matches
        (RFC 7208 §4.6.4): include, a, mx, ptr, exists up to the first ``all``, and an effective
        ``redirect``."""
        n = sum(1 for m in self.evaluated_mechanisms if m.costs_lookup)
        return n + (1 if self.effective_redirect is not None else 0)

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "terms": [t.to_json() for t in self.terms],
                "errors": [e.to_json() for e in self.errors]}


def is_spf_record(text: str) -> bool:
    """RFC 7208 §4.5: the record starts with "v=spf1" (any case) followed by a space or its end."""
    return text[:6].lower() == VERSION and (len(text) == 6 or text[6] == " ")


def _where(pos: int) -> str:
    return f"at character {pos + 1}"


def _term_error(msg: str, term: str, start: int, code: str) -> SpfSyntaxError:
    return SpfSyntaxError(msg, position=start, term=term, code=code)


def parse_domain_spec(spec: str, *, term: str, start: int, offset: int) -> str:
    """Validate a domain-spec (RFC 7208 §7.1): a macro-string ending in "." + a top label
    (optionally followed by a dot) or in a macro. ``offset`` is where ``spec`` starts in the
    record. Returns ``spec``."""
    if spec == "":
        raise _term_error(f"the term '{term}' {_where(start)} has nothing after the separator; it needs a "
                          "domain name", term, start, "empty-domain")
    parts = parse_macro_string(spec, offset=offset)
    last = parts[-1] if parts else ""
    if isinstance(last, MacroExpand):
        return spec
    # The last literal run must end with "." toplabel ["."]; "%%", "%_" and "%-" are macro-expands
    # too, and the raw text tells us whether the spec ends with one of them.
    if len(spec) >= 2 and spec[-2] == "%" and spec[-1] in "%_-" and _ends_with_escape(spec):
        return spec
    body = spec[:-1] if spec.endswith(".") else spec
    dot = body.rfind(".")
    top = body[dot + 1:] if dot >= 0 else ""
    if dot < 0 or not _TOPLABEL_RE.fullmatch(top) or "%" in top:
        if _IP4_RE.fullmatch(spec):
            hint = " (it is an IP address: use ip4:" + spec + " for an address)"
        elif dot < 0:
            hint = " (it needs at least one dot, e.g. example.com)"
        elif top.isdigit():
            hint = " (the last part of a domain name cannot be all digits)"
        else:
            hint = f" (the last part, '{top}', is not a valid top-level name)"
        raise _term_error(f"'{spec}' in the term '{term}' {_where(start)} is not a valid domain name{hint}",
                          term, start, "bad-domain")
    return spec


def _ends_with_escape(spec: str) -> bool:
    """True when the spec's final two characters are a "%%", "%_" or "%-" escape (not the tail
    of "%%%" ambiguity): count the run of '%' before the last character."""
    run = 0
    i = len(spec) - 2
    while i >= 0 and spec[i] == "%":
        run += 1
        i -= 1
    return run % 2 == 1


def _cidr(text: str, limit: int, term: str, start: int, family: str) -> int:
    if not _CIDR_RE.fullmatch(text) or int(text) > limit:
        raise _term_error(
            f"the prefix length '/{text}' in '{term}' {_where(start)} is not valid ({family} allows /0 to "
            f"/{limit}, without leading zeros)", term, start, "bad-cidr")
    return int(text)


def _split_dual_cidr(rest: str) -> tuple[str, str | None, str | None]:
    """Split "domain/24//64" into ("domain", "24", "64"); the CIDR part is only digits."""
    m = re.search(r"(?:/([0-9]+))?(?://([0-9]+))?$", rest)
    if m is None or m.group(0) == "":
        return rest, None, None
    return rest[: m.start()], m.group(1), m.group(2)


def parse_term(text: str, start: int = 0) -> Term:
    """Parse one term (no spaces inside). ``start`` is its offset in the record."""
    if text == "":
        raise _term_error(f"empty term {_where(start)}", text, start, "empty-term")
    for i, ch in enumerate(text):
        o = ord(ch)
        if not 0x21 <= o <= 0x7E:
            raise SpfSyntaxError(
                f"the term '{text.encode('ascii', 'backslashreplace').decode()}' {_where(start)} contains "
                f"{_char_words(ch)} {_where(start + i)}; SPF records may use only plain visible ASCII "
                "characters separated by single spaces", position=start, term=text, code="bad-character")
    mod = _MODIFIER_RE.match(text)
    if mod is not None:
        return _parse_modifier(text, start, mod.group(1))
    qualifier = "+"
    explicit = False
    body = text
    if text[0] in "+-~?":
        qualifier, explicit, body = text[0], True, text[1:]
        if _MODIFIER_RE.match(body):
            raise _term_error(f"the term '{text}' {_where(start)} puts a qualifier ('{text[0]}') in front of a "
                              "modifier; only mechanisms take one", text, start, "qualified-modifier")
    name_m = re.match(r"[A-Za-z][A-Za-z0-9]*", body)
    name = name_m.group(0).lower() if name_m else ""
    rest = body[name_m.end():] if name_m else body
    if name not in MECHANISMS or (rest and rest[0] not in ":/"):
        raise _unknown_term(text, start)
    body_off = start + (1 if explicit else 0) + len(name)
    kw: dict[str, Any] = {"kind": name, "qualifier": qualifier, "text": text, "start": start,
                          "end": start + len(text), "explicit_qualifier": explicit}
    if name == "all":
        if rest:
            raise _term_error(f"the term '{text}' {_where(start)} is not valid: 'all' takes nothing after it",
                              text, start, "bad-all")
        return Mechanism(**kw)
    if name in ("include", "exists"):
        if not rest.startswith(":"):
            raise _term_error(f"the term '{text}' {_where(start)} needs a domain after a colon, e.g. "
                              f"{name}:_spf.example.com", text, start, "missing-domain")
        kw["domain_spec"] = parse_domain_spec(rest[1:], term=text, start=start, offset=body_off + 1)
        return Mechanism(**kw)
    if name == "ptr":
        if rest.startswith("/"):
            raise _term_error(f"the term '{text}' {_where(start)} is not valid: 'ptr' takes no prefix length",
                              text, start, "bad-cidr")
        if rest:
            kw["domain_spec"] = parse_domain_spec(rest[1:], term=text, start=start, offset=body_off + 1)
        return Mechanism(**kw)
    if name in ("a", "mx"):
        spec: str | None = None
        cidr_text = rest
        if rest.startswith(":"):
            spec, c4, c6 = _split_dual_cidr(rest[1:])
            cidr_text = ("/" + c4 if c4 is not None else "") + ("//" + c6 if c6 is not None else "")
            kw["domain_spec"] = parse_domain_spec(spec, term=text, start=start, offset=body_off + 1)
        m = _DUAL_CIDR_RE.fullmatch(cidr_text)
        if m is None:
            raise _term_error(f"the term '{text}' {_where(start)} has an invalid prefix length; write "
                              f"{name}/24 for IPv4, {name}//64 for IPv6 or {name}/24//64 for both",
                              text, start, "bad-cidr")
        if m.group(1) is not None:
            kw["ip4_cidr"] = _cidr(m.group(1), 32, text, start, "IPv4")
        if m.group(2) is not None:
            kw["ip6_cidr"] = _cidr(m.group(2), 128, text, start, "IPv6")
        return Mechanism(**kw)
    # ip4 / ip6
    if not rest.startswith(":") or len(rest) == 1:
        raise _term_error(f"the term '{text}' {_where(start)} needs an address after a colon, e.g. "
                          f"{'ip4:192.0.2.1' if name == 'ip4' else 'ip6:2001:db8::1'}", text, start,
                          "missing-address")
    value = rest[1:]
    if name == "ip4":
        addr, slash, cidr = value.partition("/")
        if not _IP4_RE.fullmatch(addr):
            raise _term_error(_bad_ip4_message(text, addr, start), text, start, "bad-ip4")
        kw["address"] = addr
        if slash:
            kw["ip4_cidr"] = _cidr(cidr, 32, text, start, "IPv4")
        return Mechanism(**kw)
    addr, slash, cidr = value.partition("/")
    if not _valid_ip6(addr):
        hint = ""
        if _IP4_RE.fullmatch(addr):
            hint = " (it is an IPv4 address: use ip4:" + addr + ")"
        raise _term_error(f"the term '{text}' {_where(start)} does not contain a valid IPv6 address{hint}",
                          text, start, "bad-ip6")
    kw["address"] = addr
    if slash:
        kw["ip6_cidr"] = _cidr(cidr, 128, text, start, "IPv6")
    return Mechanism(**kw)


def _char_words(ch: str) -> str:
    o = ord(ch)
    if o < 0x20 or o == 0x7F:
        return f"an invisible control character (code {o})"
    return f"the non-ASCII character {ch!r}"


def _valid_ip6(addr: str) -> bool:
    if not addr or "%" in addr or not re.fullmatch(r"[0-9A-Fa-f:.]+", addr):
        return False
    try:
        ipaddress.IPv6Address(addr)
    except ValueError:
        return False
    return True


def _bad_ip4_message(term: str, addr: str, start: int) -> str:
    hint = ""
    if re.fullmatch(r"[0-9]+(\.[0-9]+){0,2}", addr):
        hint = " (all four parts are needed; use a prefix length such as /24 for a range)"
    elif ":" in addr and _valid_ip6(addr):
        hint = f" (it is an IPv6 address: use ip6:{addr})"
    elif re.search(r"[~+?-]all$", addr, re.IGNORECASE):
        hint = " (is a space missing before '" + addr[-4:] + "'?)"
    elif ":" in addr:
        hint = " (a port number is not allowed)"
    elif re.search(r"[A-Za-z]", addr):
        hint = " (it is a host name: use a:" + addr + " for a host name)"
    return f"the term '{term}' {_where(start)} is not a valid IPv4 address{hint}"


def _unknown_term(text: str, start: int) -> SpfSyntaxError:
    hint = ""
    low = text.lower().lstrip("+-~?")
    if re.match(r"(redirect|exp):", low):
        hint = f" ('{low.split(':')[0]}' is a modifier and is written with '=', e.g. {low.split(':')[0]}=...)"
    elif re.match(r"(include|a|mx|ptr|ip4|ip6|exists)=", low):
        hint = " (mechanisms are written with ':', not '=')"
    elif low.startswith("ip:"):
        hint = " (use ip4: or ip6:)"
    elif re.search(r"[~+?-]all$", low) and len(low) > 4:
        hint = " (is a space missing before '" + text[-4:] + "'?)"
    elif low.startswith("spf2.0") or low.startswith("v=spf"):
        hint = " (a version tag can only appear once, at the start)"
    return SpfSyntaxError(f"the term '{text}' {_where(start)} is not something SPF understands{hint}; "
                          f"known terms are {_KNOWN}", position=start, term=text, code="unknown-mechanism")


def _parse_modifier(text: str, start: int, raw_name: str) -> Modifier:
    name = raw_name.lower()
    value = text[len(raw_name) + 1:]
    offset = start + len(raw_name) + 1
    if name in ("redirect", "exp"):
        if value == "":
            raise _term_error(f"the modifier '{text}' {_where(start)} needs a domain name after '='",
                              text, start, "empty-domain")
        parse_domain_spec(value, term=text, start=start, offset=offset)
    else:
        parse_macro_string(value, offset=offset)
    return Modifier(name=name, value=value, text=text, start=start, end=start + len(text), raw_name=raw_name)


def _split_terms(text: str) -> list[tuple[str, int]]:
    """(term, start) for every space-separated term after the version."""
    out: list[tuple[str, int]] = []
    i = len(VERSION)
    n = len(text)
    while i < n:
        if text[i] == " ":
            i += 1
            continue
        j = text.find(" ", i)
        if j < 0:
            j = n
        out.append((text[i:j], i))
        i = j
    return out


def _check_version(text: str) -> None:
    if not is_spf_record(text):
        shown = text[:20].encode("ascii", "backslashreplace").decode()
        raise SpfSyntaxError(f"this is not an SPF record: it must start with exactly 'v=spf1' followed by a "
                             f"space (found '{shown}')", position=0, term=text[:6], code="bad-version")


def parse_record_lenient(text: str) -> SpfRecord:
    """Parse as much as possible: bad terms are left out and their errors collected in
    ``errors`` (also duplicate redirect=/exp=). Raises ``SpfSyntaxError`` only when the text is not
    an SPF record at all (wrong version)."""
    _check_version(text)
    terms: list[Term] = []
    errors: list[SpfSyntaxError] = []
    seen: dict[str, Modifier] = {}
    for raw, start in _split_terms(text):
        try:
            term = parse_term(raw, start)
        except SpfSyntaxError as exc:
            errors.append(exc)
            continue
        if isinstance(term, Modifier) and term.name in ("redirect", "exp"):
            if term.name in seen:
                errors.append(_term_error(
                    f"'{term.name}=' appears twice (again at character {start + 1}); it may appear only once",
                    raw, start, "duplicate-modifier"))
                continue
            seen[term.name] = term
        terms.append(term)
    return SpfRecord(text=text, terms=tuple(terms), errors=tuple(errors))


def parse_record(text: str) -> SpfRecord:
    """Parse a whole record strictly: the first syntax error raises :class:`SpfSyntaxError`."""
    rec = parse_record_lenient(text)
    if rec.errors:
        raise rec.errors[0]
    return rec


def spec_letters(spec: str) -> frozenset[str]:
    """Macro letters used in a (valid) domain-spec or macro-string."""
    try:
        return macro_letters(parse_macro_string(spec))
    except SpfSyntaxError:
        return frozenset()


def spf_records(txts: tuple[str, ...] | list[str]) -> list[str]:
    """The TXT strings that are SPF records (start with ``v=spf1`` then a space or the end)."""
    return [t for t in txts if is_spf_record(t)]
