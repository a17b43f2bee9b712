"""Parsing DMARC policy records (RFC 9989, reading RFC 7489 records too).

``parse_dmarc(text)`` turns one TXT record into a ``DmarcRecord``. It raises ``DmarcSyntaxError`` only
when the text is not a DMARC record at all (it does not start with ``v=DMARC1``): receivers discard
such records (RFC 9989 §4.7, ``v``). Everything else is parsed as far as it goes and reported as
``DmarcProblem``s on the record, because RFC 9989 §4.8 tells receivers to drop a broken tag and keep
the rest of the record:

- ``record.errors``: the record breaks the RFC 9989 grammar, or is unusable (no ``p`` and no report
  address: receivers then skip DMARC for the domain, §4.10.1). An error whose ``tolerated`` flag is set
  is a slip receivers get past while still applying what the owner meant (an empty entry ``;;``, a stray
  word without ``=``, ``adkim=relaxed`` where the default ``r`` is what it says anyway): it is reported as a
  warning with ``tidy_dmarc`` as the fix, never as a failure. ``record.serious_errors`` are the others;
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
from dataclasses import dataclass, field, replace
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
    """Something wrong or noteworthy in a record. ``code`` becomes the finding code ``dmarc.<code>``.

    ``tolerated`` (errors only): receivers drop the broken part and still apply what the owner meant
    (RFC 9989 §4.7: syntax errors in the rest of the record are discarded in favour of the defaults), so
    it is a tidy-up, not a failure."""

    code: str
    message: str
    tag: str | None = None
    value: str | None = None
    tolerated: bool = False


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
    def serious_errors(self) -> list[DmarcProblem]:
        """The errors that make receivers apply something other than what the owner meant."""
        return [e for e in self.errors if not e.tolerated]

    @property
    def tolerated_errors(self) -> list[DmarcProblem]:
        """Grammar slips receivers get past while applying what the owner meant (see ``tidy_dmarc``)."""
        return [e for e in self.errors if e.tolerated]

    @property
    def problems(self) -> list[DmarcProblem]:
        return [*self.errors, *self.warnings]

    def codes(self) -> list[str]:
        return [p.code for p in self.problems]


# v=DMARC1 as a tag of its own somewhere after the start (``p=reject; v=DMARC1``): the record written in the
# wrong order, which receivers ignore (RFC 9989 §4.8: v must come first).
_VERSION_LATER = re.compile(r";[ \t]*v[ \t]*=[ \t]*dmarc1[ \t]*(?:;|$)", re.IGNORECASE)


def looks_like_dmarc(text: str) -> bool:
    """True for text that seems meant as a DMARC record even if it is broken (``v=dmarc1``,
    ``v=DMARC1 p=none``, ``p=reject; v=DMARC1``): used to tell "broken DMARC record" from "some other TXT
    record"."""
    t = text or ""
    return re.match(r"[\s\"']*v\s*=\s*dmarc", t, re.IGNORECASE) is not None or (
        _VERSION_LATER.search(t.strip().strip("\"'")) is not None and not re.match(r"\s*v\s*=", t, re.IGNORECASE))


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
    if not local.startswith('"') and (local.startswith(".") or local.endswith(".") or ".." in local):
        # RFC 5321 §4.1.2: an unquoted mailbox name is dot-separated words, never a lone or doubled dot
        raise DmarcSyntaxError("invalid-uri", f"{raw!r}: {local!r} is not a valid mailbox name (before the '@').")
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


# An e-mail address written without its mailto: (``rua=dmarc@example.com``).
_BARE_ADDRESS = re.compile(r"[^\s:@,;!\"'<>]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.?\Z")


def bare_address(item: str) -> bool:
    """True for a report address written as a plain e-mail address, without ``mailto:``."""
    t = item.strip(WSP)
    return ":" not in t and _BARE_ADDRESS.match(t) is not None


def _parse_uris(rec: DmarcRecord, tag: str, value: str) -> None:
    uris: list[ReportUri] = []
    for item in value.split(","):
        try:
            u = parse_report_uri(item)
        except DmarcSyntaxError as exc:
            rec.invalid_tags.add(tag)
            if bare_address(item):
                a = item.strip(WSP)
                rec.errors.append(DmarcProblem(
                    "invalid-uri", f"{tag}: {a} has no mailto: in front, so receivers don't read it as an address "
                    f"and send no reports there. Write it as mailto:{a}.", tag, a))
                continue
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


# The default receivers use when a tag is absent or invalid (RFC 9989 §4.7).
DEFAULTS: dict[str, str] = {"adkim": "r", "aspf": "r", "t": "n", "psd": "u", "fo": "0"}
_MEANT: dict[str, dict[str, str]] = {
    "adkim": {"relaxed": "r", "relax": "r", "strict": "s"},
    "aspf": {"relaxed": "r", "relax": "r", "strict": "s"},
    "t": {"yes": "y", "true": "y", "1": "y", "on": "y", "no": "n", "false": "n", "0": "n", "off": "n"},
    "psd": {"yes": "y", "true": "y", "no": "n", "false": "n", "unknown": "u"},
}


def meant_value(name: str, value: str) -> str | None:
    """What an invalid value of a tag with fixed choices plainly means (``adkim=relaxed`` → ``r``,
    ``t=yes`` → ``y``), or None when we can't tell."""
    v = value.strip(WSP).strip("\"'").strip(WSP).lower()
    allowed = _CHOICES.get(name, ())
    if v in allowed:
        return v
    return _MEANT.get(name, {}).get(v)


def _names_a_tag(text: str) -> str | None:
    """The DMARC tag a broken entry starts with (``rua mailto:…`` → ``rua``, ``p:reject`` → ``p``), or
    None: then the entry is noise receivers skip without losing anything the owner meant."""
    m = re.match(r"[ \t]*([A-Za-z]+)", text)
    if m is None:
        return None
    word = m.group(1).lower()
    return word if word in KNOWN_TAGS or word in HISTORIC_TAGS else None


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
            rec.errors.append(DmarcProblem(
                "empty-entry", "There is an empty entry (two ';' with nothing between them). Receivers skip it "
                "and read the rest of the record.", tolerated=True))
            continue
        kv = _split_tag(part)
        if kv is None:
            word = part.strip(WSP)
            tag = _names_a_tag(word)
            rec.errors.append(DmarcProblem(
                "syntax-error", f"{word!r} has no '=': every entry must look like tag=value. "
                + (f"It looks like the {tag} tag, which receivers therefore ignore." if tag else
                   "Receivers skip it and read the rest of the record."), None, word, tolerated=tag is None))
            continue
        name, value = kv
        if not _TAG_NAME.match(name):
            tag = _names_a_tag(name)
            rec.errors.append(DmarcProblem(
                "syntax-error", f"{name!r} is not a valid tag name (letters only). "
                + (f"It looks like the {tag} tag, which receivers therefore ignore." if tag else
                   "Receivers skip the entry and read the rest of the record."), None, part.strip(WSP),
                tolerated=tag is None))
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
            policy = name in ("p", "sp", "np")
            rec.errors.append(DmarcProblem(
                "syntax-error", f"The tag {name} has no value" + ("." if policy else
                                                                  "; receivers ignore it and use the default."),
                name, value, tolerated=not policy))
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
            if name in ("p", "sp", "np"):
                rec.errors.append(DmarcProblem(
                    "invalid-policy", f"{name}={value} is not valid; it must be one of: {', '.join(allowed)}.",
                    name, value))
                return
            default = DEFAULTS[name]
            same = meant_value(name, value) == default
            rec.errors.append(DmarcProblem(
                "invalid-value", f"{name}={value} is not valid; it must be one of: {', '.join(allowed)}. Receivers "
                f"ignore it and use the default, {name}={default}"
                + (", which is what it says anyway." if same else "."), name, value, tolerated=same))
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
        near = _near_tag(name)
        if near is not None:  # a typo of a real tag: what the owner set there is not applied
            rec.errors.append(DmarcProblem(
                "unknown-tag", f"{name} is not a DMARC tag, so receivers ignore it; it looks like a typo of "
                f"{near}, which therefore doesn't apply. Write {near}={value}.", name, value))
            return
        rec.warnings.append(DmarcProblem(
            "unknown-tag", f"{name} is not a DMARC tag, so receivers ignore it (a typo?).", name, value))


def _near_tag(name: str) -> str | None:
    """The one tag of three letters or more that ``name`` is a single typo away from (a letter changed,
    added, dropped, or two swapped): ``rau`` → ``rua``, ``adkm`` → ``adkim``. None otherwise."""
    if len(name) < 3:
        return None
    found = [t for t in KNOWN_TAGS if len(t) >= 3 and _one_typo(name, t)]
    return found[0] if len(found) == 1 else None


def _one_typo(a: str, b: str) -> bool:
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def _check_policy(rec: DmarcRecord) -> None:
    if "fo" in rec.invalid_tags and not rec.ruf:
        # fo= only shapes failure reports (ruf=): without ruf= an unreadable fo= changes nothing.
        rec.errors = [replace(e, tolerated=True, message=e.message + " It only matters with ruf=, which this "
                              "record doesn't have.")
                      if e.tag == "fo" and e.code in ("invalid-value", "syntax-error") and not e.tolerated else e
                      for e in rec.errors]
    repeated = {n for n in rec.order if rec.order.count(n) > 1}
    if repeated:  # with the tag written twice, receivers may drop the whole record: nothing there is a slip
        rec.errors = [replace(e, tolerated=False) if e.tolerated and e.tag in repeated else e for e in rec.errors]
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


def tidy_dmarc(text: str) -> str | None:
    """``text`` without the slips receivers tolerate (``DmarcProblem.tolerated``) and without a leading
    space: empty entries and stray words dropped, ``adkim=relaxed`` written ``adkim=r``, a useless broken
    ``fo=`` dropped. Everything else stays exactly as written (a serious mistake is not guessed at here).
    None when ``text`` is not a DMARC record or has nothing to tidy."""
    try:
        rec = parse_dmarc(text)
    except DmarcSyntaxError:
        return None
    if not rec.tolerated_errors and "leading-whitespace" not in rec.codes():
        return None
    out = ["v=DMARC1"]
    repeated = {n for n in rec.order if rec.order.count(n) > 1}  # a real mistake: left exactly as written
    for part in text.split(";")[1:]:
        entry = part.strip(WSP)
        if not entry:
            continue
        kv = _split_tag(entry)
        if kv is None or not _TAG_NAME.match(kv[0]):
            if _names_a_tag(entry if kv is None else kv[0]):
                out.append(entry)  # a known tag written wrongly: a real mistake, reported as such
            continue
        name, value = kv
        low = name.lower()
        if low in repeated:
            out.append(entry)
            continue
        if not value:
            if low in ("p", "sp", "np"):
                out.append(entry)
            continue
        if low in _CHOICES and _printable(value) and value.lower() not in _CHOICES[low] and low in DEFAULTS:
            if meant_value(low, value) == DEFAULTS[low]:
                out.append(f"{low}={DEFAULTS[low]}")
            else:
                out.append(entry)
            continue
        if low == "fo" and "fo" in rec.invalid_tags and not rec.ruf:
            continue
        out.append(f"{name}={value}")
    return "; ".join(out)


def fix_tag_typos(rec: DmarcRecord) -> tuple[DmarcRecord, list[str]]:
    """``rec`` with the tags whose names are a plain typo of a real tag (``rau=`` for ``rua=``) renamed,
    when the real tag is not already there; and the renames made (``["rau → rua"]``)."""
    renames = {n: t for n in rec.unknown if (t := _near_tag(n)) is not None and t not in rec.tags}
    if not renames:
        return rec, []
    parts = []
    for part in rec.raw.split(";"):
        kv = _split_tag(part)
        if kv is not None and kv[0].lower() in renames:
            parts.append(f" {renames[kv[0].lower()]}={kv[1]}")
        else:
            parts.append(part)
    try:
        fixed = parse_dmarc(";".join(parts))
    except DmarcSyntaxError:  # pragma: no cover - the version part is untouched
        return rec, []
    return fixed, [f"{a} → {b}" for a, b in renames.items()]


def add_missing_mailto(rec: DmarcRecord) -> tuple[DmarcRecord, list[str]]:
    """``rec`` with ``mailto:`` put in front of report addresses written without it (``rua=d@example.com``),
    and the addresses so completed. The record is otherwise as written."""
    fixed: list[str] = []
    parts = []
    for part in rec.raw.split(";"):
        kv = _split_tag(part)
        if kv is not None and kv[0].lower() in ("rua", "ruf") and any(bare_address(x) for x in kv[1].split(",")):
            items = []
            for x in kv[1].split(","):
                if bare_address(x):
                    items.append("mailto:" + x.strip(WSP))
                    fixed.append(x.strip(WSP))
                else:
                    items.append(x)
            parts.append(f" {kv[0]}={','.join(items)}")
        else:
            parts.append(part)
    if not fixed:
        return rec, []
    try:
        return parse_dmarc(";".join(parts)), fixed
    except DmarcSyntaxError:  # pragma: no cover - the version part is untouched
        return rec, []


def repair_dmarc(text: str) -> str | None:
    """A broken DMARC record whose intent is certain, repaired: quotation marks pasted around it, spaces
    before it, the version in the wrong case (``v=dmarc1``) or after other tags (``p=reject; v=DMARC1``),
    or the ';' after the version missing (``v=DMARC1 p=none``). None when the text is not such a record or still doesn't parse."""
    if not isinstance(text, str):
        return None
    t = text.strip()
    while len(t) >= 2 and t[0] in "\"'" and t[-1] == t[0]:
        t = t[1:-1].strip()
    t = t.strip("\"'").strip()
    later = _VERSION_LATER.search(t)
    if later is not None and not re.match(r"v\s*=", t, re.IGNORECASE):
        # the version written after other tags: put it first, keep the rest in its order
        rest = (t[:later.start()] + ";" + t[later.end():]).strip(" \t;")
        t = "v=DMARC1; " + rest if rest else "v=DMARC1"
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
    "ReportUri", "add_missing_mailto", "bare_address", "format_record", "is_dmarc_record", "looks_like_dmarc",
    "parse_dmarc", "parse_report_uri", "fix_tag_typos", "repair_dmarc", "tidy_dmarc",
]
