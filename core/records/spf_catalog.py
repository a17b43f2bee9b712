"""The sending-service catalog (``core/rules/spf_catalog.json``), shared by the SPF check and the SPF builder.

Each entry says what a service documents for SPF: its ``include`` (None when it documents none), the
lookups that include costs (an offline estimate, dated by ``checked``), whether the service sends with its
own return path (``own_return_path``: the envelope sender, which SPF checks, is a domain of the service or
a subdomain of yours with its own SPF, so an include in your root record never makes SPF pass for its mail;
DMARC passes for it through DKIM), the domain it uses as return path (``return_path_domain``), its real
set-up in plain words (``setup``), and the page all this comes from (``source``).

The file's content is reviewed separately; this module reads it tolerantly (a missing or oddly typed field
falls back to "unknown"). Tests pass a catalog of their own (``parse_catalog``) to the check
(``CheckOptions.spf_catalog``) and to the builder (``catalog=``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable, Mapping

from ..dns.client import normalize_name

__all__ = ["CatalogService", "KnownInclude", "SetupRecord", "checked_date", "find_include", "include_cost",
           "load_catalog", "parse_catalog", "unneeded_include"]


@dataclass(frozen=True)
class SetupRecord:
    """A record of a service's own set-up (a DKIM CNAME, a return-path subdomain), when the catalog gives
    it: ``host`` relative to the user's domain ("" for the domain itself)."""

    host: str
    type: str
    value: str
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "type": self.type, "value": self.value, "note": self.note}


@dataclass(frozen=True)
class KnownInclude:
    """Another include of a service found in people's records (older instructions)."""

    include: str
    lookups: int | None = None  # None: unknown
    note: str = ""
    obsolete: bool = False  # it no longer authorises anything

    def to_json(self) -> dict[str, Any]:
        return {"include": self.include, "lookups": self.lookups, "note": self.note, "obsolete": self.obsolete}


@dataclass(frozen=True)
class CatalogService:
    id: str
    name: str
    include: str | None  # the include the service documents (None: none)
    lookups: int  # the include's cost, itself included, as far as known offline (0 without include)
    dkim_selectors: tuple[str, ...]
    own_return_path: bool  # sends with its own return path: no include needed in your root record
    aliases: tuple[str, ...]
    note: str
    checked: str  # when the entry was last compared with ``source`` (ISO date, maybe with words after it)
    source: str
    return_path_domain: str | None = None  # the domain the service uses as return path, if known
    setup: str = ""  # the service's real set-up in plain words (DKIM CNAMEs, return-path subdomain)
    setup_records: tuple[SetupRecord, ...] = ()
    known_includes: tuple[KnownInclude, ...] = ()

    @property
    def needs_root_include(self) -> bool:
        """True when the service's mail can pass SPF for your domain only through an include in your
        root record."""
        return bool(self.include) and not self.own_return_path

    @property
    def estimate_words(self) -> str:
        """"estimate from 2026-11-25": how old the catalog's lookup count is."""
        day = checked_date(self.checked)
        return f"estimate from {day}" if day else "estimate"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "include": self.include, "lookups": self.lookups,
                "dkim_selectors": list(self.dkim_selectors), "own_return_path": self.own_return_path,
                "return_path_domain": self.return_path_domain, "setup": self.setup,
                "setup_records": [r.to_json() for r in self.setup_records],
                "known_includes": [k.to_json() for k in self.known_includes],
                "note": self.note, "checked": self.checked, "source": self.source}


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def checked_date(text: str) -> str:
    """The ISO date at the start of a ``checked`` value ("" when there is none)."""
    m = _DATE.match(str(text or "").strip())
    return m.group(0) if m else ""


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(x for x in value if isinstance(x, str)) if isinstance(value, list) else ()


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(0, value)
    try:
        return max(0, int(str(value)))
    except ValueError:
        return 0


def _include(value: Any) -> str | None:
    text = _text(value)
    if text.lower().startswith("include:"):
        text = text[8:]
    text = text.rstrip(".").lower()
    return text or None


def _setup_records(value: Any) -> tuple[SetupRecord, ...]:
    out: list[SetupRecord] = []
    for r in value if isinstance(value, list) else []:
        if isinstance(r, dict) and _text(r.get("type")) and _text(r.get("value")):
            out.append(SetupRecord(_text(r.get("host")), _text(r.get("type")).upper(), _text(r.get("value")),
                                   _text(r.get("note"))))
    return tuple(out)


def _known_includes(value: Any) -> tuple[KnownInclude, ...]:
    out: list[KnownInclude] = []
    for k in value if isinstance(value, list) else []:
        inc = _include(k.get("include")) if isinstance(k, dict) else None
        if inc:
            n = k.get("lookups")
            out.append(KnownInclude(inc, n if isinstance(n, int) and not isinstance(n, bool) and n >= 0 else None,
                                    _text(k.get("note")), k.get("obsolete") is True))
    return tuple(out)


def parse_catalog(data: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> tuple[CatalogService, ...]:
    """The services of a catalog document (``{"services": [...]}``) or of a list of entries. Entries
    without an id or a name are skipped."""
    entries = data.get("services") if isinstance(data, Mapping) else data
    out: list[CatalogService] = []
    for s in entries if isinstance(entries, (list, tuple)) else []:
        if not isinstance(s, Mapping) or not _text(s.get("id")) or not _text(s.get("name")):
            continue
        out.append(CatalogService(
            id=_text(s.get("id")), name=_text(s.get("name")), include=_include(s.get("include")),
            lookups=_int(s.get("lookups")), dkim_selectors=_strings(s.get("dkim_selectors")),
            own_return_path=s.get("own_return_path") is True, aliases=_strings(s.get("aliases")),
            note=_text(s.get("note")), checked=_text(s.get("checked")), source=_text(s.get("source")),
            return_path_domain=_include(s.get("return_path_domain")), setup=_text(s.get("setup")),
            setup_records=_setup_records(s.get("setup_records")),
            known_includes=_known_includes(s.get("known_includes"))))
    return tuple(out)


@lru_cache(maxsize=1)
def load_catalog() -> tuple[CatalogService, ...]:
    """The services of the shipped ``core/rules/spf_catalog.json``."""
    text = resources.files("inboxready.core.rules").joinpath("spf_catalog.json").read_text(encoding="utf-8")
    return parse_catalog(json.loads(text))


def _base(domain: str) -> str:
    """The last two labels of a provider's domain (``bnc3.mailjet.com`` → ``mailjet.com``)."""
    return ".".join(domain.split(".")[-2:])


def find_include(include: str, catalog: Iterable[CatalogService] | None = None) -> CatalogService | None:
    """The service an include belongs to (a domain, or ``include:domain``): the one that documents exactly
    that include, else one that lists it among the includes found in people's records, else a service with
    its own return path whose return-path domain the include is under (``include:servers.mcsv.net`` and
    Mailchimp's ``mcsv.net``)."""
    found = _lookup(include, catalog)
    return found[0] if found is not None else None


def _lookup(include: str, catalog: Iterable[CatalogService] | None) -> tuple[CatalogService, KnownInclude | None] | None:
    d = _include(include)
    if not d:
        return None
    d = normalize_name(d)
    services = tuple(catalog) if catalog is not None else load_catalog()
    for s in services:
        if s.include and normalize_name(s.include) == d:
            return s, None
    for s in services:
        for k in s.known_includes:
            if normalize_name(k.include) == d:
                return s, k
    for s in services:
        base = _base(s.return_path_domain) if s.own_return_path and s.return_path_domain else ""
        if base and "." in base and (d == base or d.endswith("." + base)):
            return s, None
    return None


def unneeded_include(include: str, catalog: Iterable[CatalogService] | None = None,
                     ) -> tuple[CatalogService, str] | None:
    """When an include in a root SPF record never makes SPF pass for that domain's mail: the service and why
    (its return path is its own, or the include is an old one that no longer authorises anything)."""
    found = _lookup(include, catalog)
    if found is None:
        return None
    s, known = found
    if known is not None and known.obsolete:
        return s, known.note or f"'include:{known.include}' is an old include of {s.name} that no longer authorises " \
                                "anything."
    if s.own_return_path:
        return s, known.note if known is not None and known.note else ""
    return None


def include_cost(include: str, catalog: Iterable[CatalogService] | None = None,
                 ) -> tuple[CatalogService, int] | None:
    """The catalog's lookup count for an include (its own or a known include's), when it has one."""
    found = _lookup(include, catalog)
    if found is None:
        return None
    s, known = found
    if known is None:
        return (s, s.lookups) if s.include and normalize_name(s.include) == normalize_name(_include(include) or "") \
            else None
    return (s, known.lookups) if known.lookups is not None else None
