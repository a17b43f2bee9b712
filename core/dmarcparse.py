"""Parsing DMARC policy records (RFC 9989, reading RFC 7489 records too).

``parse_dmarc(text)`` turns one TXT record into a ``DmarcRecord``. It raises ``DmarcSyntaxError`` only
when the text is not a DMARC record at all (it does not start with ``v=DMARC1``): receivers discard
such records (RFC 9989 §4.7, ``v``). Everything else is parsed as far as it goes and reported as
``DmarcProblem``s on the record, because RFC 9989 §4.8 tells receivers to drop a broken tag and keep
the rest of the record:

- ``record.errors``: the record breaks the RFC 9989 grammar, or is unusable (no ``p`` and no report
  address: receivers then skip DMARC for the domain, §4.10.1);
- ``record.warnings``: legal but worth changing (historic ``pct``/``rf``/``ri``, ``p`` not right after
  ``v``, unknown tags, the obsolete ``!size`` suffix on report addresses...).

Differences between the two RFCs, as implemented here (RFC 9989 wins):

- ``pct``, ``rf``, ``ri`` are historic: kept in ``record.historic`` and never validated.
- ``p`` may appear anywhere after ``v`` (RFC 7489 wanted it second): a warning, not an error.
- Unknown tags are ignored (a warning naming them: they are often typos).
- The ``!size`` suffix on ``rua``/``ruf`` URIs is obsolete syntax that reporters ignore: accepted,
  with a warning. A ``!`` that is not a well-formed size suffix is an error (it must be %-encoded).
- A missing or invalid ``p`` (or an invalid ``sp``/``np``) makes receivers act as if the record said
  ``p=none`` when at least one valid ``rua`` URI is present, and skip DMARC otherwise (§4.10.1):
  ``record.fallback_policy`` gives the policy receivers actually use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

WSP = " \t"
POLICIES: tuple[str, ...] = ("none", "quarantine", "reject")
KNOWN_TAGS: tuple[str, ...] = ("v", "p", "sp", "np", "t", "psd", "adkim", "aspf", "rua", "ruf", "fo")
HISTORIC_TAGS: tuple[str, ...] = ("pct", "rf", "ri")

_TAG_NAME = re.compile(r"[A-Za-z]+\Z")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*\Z")
# RFC 3986 characters allowed after the scheme, minus "," and "!" (RFC 9989 §4.8: they must be %-encoded).
_URI_REST = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@$&'()*+=]|%[0-9A-Fa-f]{2})+\Z")
_SIZE = re.compile(r"[0-9]+[kmgtKMGT]?\Z")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")


class DmarcSyntaxError(ValueError):
    """The text is not a DMARC record (or, from ``parse_report_uri``, not a valid report URI).

    ``code`` is stable: ``empty``, ``no-version``, ``version-not-first``, ``version-case``,
    ``bad-version``, ``missing-separator``, ``spf-record``, ``not-text``, ``invalid-uri``, ``quoted``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DmarcProblem:
    """Something wrong or noteworthy in a record. ``code`` becomes the finding code ``dmarc.<code>``."""

    code: str
    message: str
    tag: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class ReportUri:
    """One ``rua``/``ruf`` destination."""

    raw: str  # as written (trimmed), size suffix included
    uri: str  # without the obsolete size suffix
    scheme: str  # lower case
    address: str | None = None  # mailto: the e-mail address (percent-decoded)
    domain: str | None = None  # mailto: the address's domain, lower case
    size: str | None = None  # obsolete "!10m" suffix, lower case, without "!"
    trailing_dot: bool = False  # mailto: the domain was written with a trailing dot (``uri`` has it removed)

    @property
    def is_mailto(self) -> bool:
        return self.scheme == "mailto"


@dataclass
class DmarcRecord:
    """A parsed DMARC record. Policy fields hold only valid values (lower case); ``None`` = absent or
    invalid (see ``errors``)."""

    raw: str
    tags: dict[str, str] = field(default_factory=dict)  # every tag as written, first occurrence
    order: list[str] = field(default_factory=list)  # tag names in the order written (duplicates too)
    p: str | None = None
    sp: str | None = None
    np: str | None = None
    t: str | None = None  # "y" | "n"
    psd: str | None = None  # "y" | "n" | "u"
    adkim: str | None = None  # "r" | "s"
    aspf: str | None = None
    fo: list[str] | None = None
    rua: list[ReportUri] = field(default_factory=list)  # valid URIs only
    ruf: list[ReportUri] = field(default_factory=list)
    historic: dict[str, str] = field(default_factory=dict)  # pct, rf, ri as written
    unknown: dict[str, str] = field(default_factory=dict)
    invalid_tags: set[str] = field(default_factory=set)  # tags whose value was rejected
    errors: list[DmarcProblem] = field(default_factory=list)
    warnings: list[DmarcProblem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """No grammar errors and usable by receivers."""
        return not self.errors

    @property
    def testing(self) -> bool:
        return self.t == "y"

    @property
    def psd_flag(self) -> str:
        return self.psd or "u"

    @property
    def policy_broken(self) -> bool:
        """True when §4.10.1's fallback applies: ``p`` missing or invalid, or ``sp``/``np`` invalid."""
        return self.p is None or bool(self.invalid_tags & {"p", "sp", "np"})

    @property
    def fallback_policy(self) -> str | None:
        """The ``p`` receivers use: ``p`` itself; ``"none"`` if §4.10.1's fallback applies and a valid
        ``rua`` exists; ``None`` (no DMARC processing at all) otherwise."""
        if not self.policy_broken:
            return self.p
        return "none" if self.rua else None

    def policy_for(self, *, subdomain: bool, exists: bool = True) -> str | None:
        """The policy for the record's own domain (``subdomain=False``) or for a subdomain that
        inherits it (``sp``, or ``np`` when the subdomain does not exist), RFC 9989 §4.10.1."""
        base = self.fallback_policy
        if base is None or self.policy_broken or not subdomain:
            return base
        if not exists and self.np:
            return self.np
        return self.sp or self.p

    def effective_tags(self) -> dict[str, tuple[str, bool]]:
        """The RFC 9989 tags a receiver works with: ``{tag: (value, explicit)}`` with defaults filled in
        (``np`` defaults to ``sp``, then ``p``). Historic and unknown tags are not included."""
        out: dict[str, tuple[str, bool]] = {"v": ("DMARC1", True)}
        p = self.fallback_policy
        if p is not None:
            out["p"] = (p, self.p is not None and not self.policy_broken)
            sp = self.policy_for(subdomain=True, exists=True) or p
            out["sp"] = (sp, self.sp is not None and not self.policy_broken)
            np = self.policy_for(subdomain=True, exists=False) or sp
            out["np"] = (np, self.np is not None and not self.policy_broken)
        out["adkim"] = (self.adkim or "r", self.adkim is not None)
        out["aspf"] = (self.aspf or "r", self.aspf is not None)
        out["fo"] = (":".join(self.fo) if self.fo else "0", self.fo is not None)
        out["psd"] = (self.psd or "u", self.psd is not None)
        out["t"] = (self.t or "n", self.t is not None)
        if self.rua:
            out["rua"] = (",".join(u.raw for u in self.rua), True)
        if self.ruf:
            out["ruf"] = (",".join(u.raw for u in self.ruf), True)
        return out

    @property
    def problems(self) -> list[DmarcProblem]:
        return [*self.errors, *self.warnings]

    def codes(self) -> list[str]:
        return [p.code for p in self.problems]


def looks_like_dmarc(text: str) -> bool:
    """True for text that seems meant as a DMARC record even if it is broken (``v=dmarc1``,
    ``v=DMARC1 p=none``): used to tell "broken DMARC record" from "some other TXT record"."""
    return re.match(r"[\s\"']*v\s*=\s*dmarc", text or "", re.IGNORECASE) is not None


def is_dmarc_record(text: str) -> bool:
    """True when receivers would accept ``text`` as a DMARC record (it starts with ``v=DMARC1``)."""
    try:
        parse_dmarc(text)
    except DmarcSyntaxError:
        return False
    return True


def _split_tag(part: str) -> tuple[str, str] | None:
    if "=" not in part:
        return None
    name, _, value = part.partition("=")
    return name.strip(WSP), value.strip(WSP)


def _printable(value: str) -> bool:
    # dmarc-value is %x20-7E; a tab is also allowed where the grammar allows WSP (around ',' and ':').
    return all(0x20 <= ord(c) <= 0x7E or c == "\t" for c in value)


def _check_version(text: str, first: str) -> None:
    stripped = text.strip(WSP)
    if not stripped:
        raise DmarcSyntaxError("empty", "The record is empty.")
    if re.match(r"v\s*=\s*spf1", stripped, re.IGNORECASE):
        raise DmarcSyntaxError("spf-record", "This is an SPF record (v=spf1), not a DMARC record.")
    if stripped[0] in "\"'" and re.match(r"[\"'\s]+v\s*=\s*DMARC1", stripped):
        raise DmarcSyntaxError(
            "quoted", "The record is wrapped in quotation marks that became part of its text (usually because "
            "it was pasted with quotes into a DNS panel that adds its own), so it does not start with v=DMARC1.")
    kv = _split_tag(first)
    if kv is None or kv[0].lower() != "v":
        if re.search(r"(^|;)\s*v\s*=\s*DMARC1\s*(;|$)", stripped):
            raise DmarcSyntaxError("version-not-first", "v=DMARC1 must be the first tag of the record.")
        raise DmarcSyntaxError("no-version", "The record does not start with v=DMARC1.")
    value = kv[1]
    if value == "DMARC1":
        return
    if value.lower() == "dmarc1":
        raise DmarcSyntaxError("version-case",
                               f"The version must be written exactly DMARC1 (upper case), not {value!r}.")
    if re.match(r"DMARC1[ \t]", value, re.IGNORECASE):
        raise DmarcSyntaxError("missing-separator",
                               "A ';' is missing after v=DMARC1, so the version reads as "
                               f"{value!r} and the record is not recognised.")
    raise DmarcSyntaxError("bad-version", f"The version is {value!r}; the only valid version is DMARC1.")


def parse_report_uri(text: str) -> ReportUri:
    """One DMARC report URI (``mailto:reports@example.com``, optionally with the obsolete ``!10m``
    size suffix). Raises ``DmarcSyntaxError`` (code ``invalid-uri``) with a plain reason."""
    if not isinstance(text, str):
        raise DmarcSyntaxError("invalid-uri", "A report address must be text.")
    raw = text.strip(WSP)
    if not raw:
        raise DmarcSyntaxError("invalid-uri", "A report address is empty.")
    uri, size = raw, None
    if "!" in raw:
        uri, _, size = raw.rpartition("!")
        if "!" in uri or not _SIZE.match(size):
            raise DmarcSyntaxError(
                "invalid-uri",
                f"{raw!r}: a '!' in a report address must be followed by a size such as 10m "
                "(an obsolete limit); any other '!' must be written %21.")
        size = size.lower()
    scheme, colon, rest = uri.partition(":")
    if not colon or not _SCHEME.match(scheme):
        raise DmarcSyntaxError("invalid-uri",
                               f"{raw!r} is not a URI: a report address must start with mailto:")
    if not rest or not _URI_REST.match(rest):
        raise DmarcSyntaxError("invalid-uri", f"{raw!r} contains characters a URI cannot contain.")
    scheme = scheme.lower()
    if scheme != "mailto":
        return ReportUri(raw=raw, uri=uri, scheme=scheme, size=size)
    addr = unquote(rest.split("?", 1)[0], errors="replace")
    local, at, domain = addr.rpartition("@")
    if not at or not local:
        raise DmarcSyntaxError("invalid-uri", f"{raw!r}: the mailto: address has no '@'.")
    labels = domain.rstrip(".").split(".")
    if len(labels) < 2 or not all(_LABEL.match(lb) for lb in labels):
        raise DmarcSyntaxError("invalid-uri",
                               f"{raw!r}: {domain!r} is not a valid domain name for an e-mail address.")
    dot = domain.endswith(".")
    if dot:  # an e-mail address can't end in a dot (RFC 5321 §4.1.2); ``uri`` is the address without it
        at_pos = uri.rfind("@")
        query = uri.find("?", at_pos)
        end = len(uri) if query < 0 else query
        uri = uri[:at_pos + 1] + uri[at_pos + 1:end].rstrip(".") + uri[end:]
    return ReportUri(raw=raw, uri=uri, scheme=scheme, address=addr.rstrip("."), domain=domain.rstrip(".").lower(),
                     size=size, trailing_dot=dot)


def _parse_fo(rec: DmarcRecord, value: str) -> None:
    items = [s.strip(WSP).lower() for s in value.split(":")]
    bad = [s for s in items if s not in ("0", "1", "d", "s")]
    if bad or len(set(items)) != len(items):
        what = f"{bad[0]!r} is not an option" if bad else "an option is repeated"
        rec.invalid_tags.add("fo")
        rec.errors.append(DmarcProblem(
            "invalid-value", f"fo={value} is not valid ({what}); it takes 0, 1, d and s separated by ':'. "
            "Receivers ignore it and use fo=0.", "fo", value))
        return
    rec.fo = items
    if "0" in items and "1" in items:
        rec.warnings.append(DmarcProblem(
            "fo-conflict", f"fo={value} combines 0 and 1, which RFC 9989 says are mutually exclusive; "
            "1 already covers what 0 asks for, so 0 is redundant.", "fo", value))


def _parse_uris(rec: DmarcRecord, tag: str, value: str) -> None:
    uris: list[ReportUri] = []
    for item in value.split(","):
        try:
            u = parse_report_uri(item)
        except DmarcSyntaxError as exc:
            rec.invalid_tags.add(tag)
            rec.errors.append(DmarcProblem("invalid-uri", f"{tag}: {exc.message}", tag, item.strip(WSP)))
            continue
        if u.size is not None:
            rec.warnings.append(DmarcProblem(
                "size-limit-obsolete", f"{tag}: the size limit !{u.size} on {u.uri} is obsolete; RFC 9989 "
                "tells reporters to ignore it.", tag, u.raw))
        if u.trailing_dot:
            rec.warnings.append(DmarcProblem(
                "uri-trailing-dot", f"{tag}: the address {u.address}. ends with a dot, which an e-mail address "
                "can't have; some report senders will not deliver to it. Write it without the dot.", tag, u.raw))
        if not u.is_mailto:
            rec.warnings.append(DmarcProblem(
                "non-mailto-uri", f"{tag}: {u.uri} is not a mailto: address; receivers only have to support "
                "mailto:, so reports will probably never be sent there.", tag, u.raw))
        uris.append(u)
    if tag == "rua":
        rec.rua = uris
    else:
        rec.ruf = uris


_CHOICES: dict[str, tuple[str, ...]] = {
    "p": POLICIES, "sp": POLICIES, "np": POLICIES,
    "t": ("y", "n"), "psd": ("y", "n", "u"), "adkim": ("r", "s"), "aspf": ("r", "s"),
}


def parse_dmarc(text: str) -> DmarcRecord:
    """Parse one DMARC record (the TXT strings already joined). See the module docstring."""
    if not isinstance(text, str):
        raise DmarcSyntaxError("not-text", "A DMARC record must be text.")
    parts = text.split(";")
    _check_version(text, parts[0].lstrip(" \t\r\n"))
    rec = DmarcRecord(raw=text)
    if text[:1] in (" ", "\t", "\r", "\n"):
        rec.warnings.append(DmarcProblem(
            "leading-whitespace", "The record starts with a space; strict receivers may not recognise it. "
            "Remove the space before v=DMARC1."))
    rec.tags["v"] = "DMARC1"
    rec.order.append("v")
    body = parts[1:]
    for i, part in enumerate(body):
        if not part.strip(WSP):
            if i == len(body) - 1:
                continue  # one trailing ';' is allowed
            rec.errors.append(DmarcProblem("syntax-error", "There is an empty entry (two ';' in a row)."))
            continue
        kv = _split_tag(part)
        if kv is None:
            rec.errors.append(DmarcProblem(
                "syntax-error", f"{part.strip(WSP)!r} has no '=': every entry must look like tag=value.",
                None, part.strip(WSP)))
            continue
        name, value = kv
        if not _TAG_NAME.match(name):
            rec.errors.append(DmarcProblem(
                "syntax-error", f"{name!r} is not a valid tag name (letters only).", None, part.strip(WSP)))
            continue
        name = name.lower()
        rec.order.append(name)
        if name in rec.tags:
            rec.errors.append(DmarcProblem(
                "duplicate-tag", f"The tag {name} appears more than once; receivers may ignore the whole "
                "record. Keep only one.", name, value))
            continue
        rec.tags[name] = value
        if not value:
            rec.invalid_tags.add(name)
            rec.errors.append(DmarcProblem("syntax-error", f"The tag {name} has no value.", name, value))
            continue
        if not _printable(value):
            rec.invalid_tags.add(name)
            rec.errors.append(DmarcProblem(
                "syntax-error", f"The value of {name} contains characters that are not allowed "
                "(only printable ASCII).", name, value))
            continue
        _parse_tag(rec, name, value)
    _check_policy(rec)
    return rec


def _parse_tag(rec: DmarcRecord, name: str, value: str) -> None:
    if name in _CHOICES:
        v = value.lower()
        allowed = _CHOICES[name]
        if v not in allowed:
            rec.invalid_tags.add(name)
            code = "invalid-policy" if name in ("p", "sp", "np") else "invalid-value"
            rec.errors.append(DmarcProblem(
                code, f"{name}={value} is not valid; it must be one of: {', '.join(allowed)}.", name, value))
            return
        setattr(rec, name, v)
    elif name == "fo":
        _parse_fo(rec, value)
    elif name in ("rua", "ruf"):
        _parse_uris(rec, name, value)
    elif name in HISTORIC_TAGS:
        rec.historic[name] = value
        rec.warnings.append(DmarcProblem(
            "historic-tag", f"{name} was removed from DMARC by RFC 9989; current receivers ignore it.",
            name, value))
    elif name == "v":  # a second v= is caught as a duplicate above
        pass
    else:
        rec.unknown[name] = value
        rec.warnings.append(DmarcProblem(
            "unknown-tag", f"{name} is not a DMARC tag, so receivers ignore it (a typo?).", name, value))


def _check_policy(rec: DmarcRecord) -> None:
    if "p" not in rec.tags:
        if rec.rua:
            rec.warnings.append(DmarcProblem(
                "p-missing", "The record has no p= policy. RFC 9989 receivers treat it as p=none because "
                "it has a report address; receivers following the older RFC 7489 may reject it.", "p"))
        else:
            rec.errors.append(DmarcProblem(
                "no-policy", "The record has no p= policy and no valid rua= report address, so receivers "
                "skip DMARC for this domain entirely.", "p"))
    elif "p" in rec.invalid_tags and not rec.rua:
        rec.errors.append(DmarcProblem(
            "no-policy", "The p= policy is invalid and there is no valid rua= report address, so receivers "
            "skip DMARC for this domain entirely.", "p"))
    elif rec.order.index("p") != 1:
        rec.warnings.append(DmarcProblem(
            "p-not-second", "p= is not right after v=DMARC1. RFC 9989 allows that, but receivers that "
            "follow the older RFC 7489 expect p second and may ignore the record.", "p", rec.tags["p"]))


def repair_dmarc(text: str) -> str | None:
    """A broken DMARC record whose intent is certain, repaired: quotation marks pasted around it, spaces
    before it, the version in the wrong case (``v=dmarc1``), or the ';' after the version missing
    (``v=DMARC1 p=none``). None when the text is not such a record or still doesn't parse."""
    if not isinstance(text, str):
        return None
    t = text.strip()
    while len(t) >= 2 and t[0] in "\"'" and t[-1] == t[0]:
        t = t[1:-1].strip()
    t = t.strip("\"'").strip()
    m = re.match(r"v\s*=\s*dmarc1\b[ \t]*(;?)", t, re.IGNORECASE)
    if m is None:
        return None
    rest = t[m.end():].lstrip(" \t")
    t = "v=DMARC1" + ("; " + rest if rest else "")
    try:
        parse_dmarc(t)
    except DmarcSyntaxError:
        return None
    return t


def format_record(tags: list[tuple[str, str]]) -> str:
    """``[("p", "none"), ("rua", "mailto:a@b")]`` → ``v=DMARC1; p=none; rua=mailto:a@b``."""
    return "; ".join(["v=DMARC1", *(f"{k}={v}" for k, v in tags if k != "v")])


__all__ = [
    "DmarcProblem", "DmarcRecord", "DmarcSyntaxError", "HISTORIC_TAGS", "KNOWN_TAGS", "POLICIES",
    "ReportUri", "format_record", "is_dmarc_record", "looks_like_dmarc", "parse_dmarc", "parse_report_uri",
    "repair_dmarc",
]
