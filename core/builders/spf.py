"""The SPF builder: one record for the services you send with, your own servers, and what you have now.

- ``build_spf(...)`` works offline: the record, and the DNS lookups it costs from the catalog's known
  costs (``core/rules/spf_catalog.json``), with the problems (over 10 lookups: which includes to drop,
  or that flattening is possible) in plain words.
- ``build_spf_live(..., dns=client)`` asks DNS: it merges with the domain's live record when a domain
  is given, and counts the lookups with the engine's own SPF check (the record is served through the
  "what if" overlay, so nothing is published).
- ``flatten(record, dns)`` replaces includes by the addresses they list today, on request only: the
  providers change their addresses, so a flattened record goes stale without warning.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from ..context import CheckContext, CheckOptions
from ..dns import DnsClient, normalize_name
from ..model import CheckResult, Fix, Severity, split_txt
from ..spfmacro import SpfSyntaxError
from ..spfparse import (
    Mechanism,
    Modifier,
    SpfRecord,
    Term,
    is_spf_record,
    parse_record_lenient,
    parse_term,
)
from .whatif import OverlayDns

__all__ = [
    "FLATTEN_WARNING",
    "LOOKUP_LIMIT",
    "CatalogService",
    "FlattenResult",
    "SpfBuild",
    "SpfBuildError",
    "build_spf",
    "build_spf_live",
    "count_lookups",
    "find_service",
    "flatten",
    "load_catalog",
]

LOOKUP_LIMIT = 10
RECORD_SIZE_ADVICE = 450
PLACEHOLDER_DOMAIN = "spf-builder.invalid"
FLATTEN_WARNING = (
    "A flattened record lists the providers' addresses as they are today. Providers add and change their "
    "sending addresses without telling you, and then your mail from the new addresses fails SPF. Only flatten "
    "if you can't get under 10 lookups otherwise, and rebuild the record every month (or use a service that "
    "does it for you).")


class SpfBuildError(ValueError):
    """Input the builder can't use (an unknown service, an IP that isn't one). ``str()`` is plain English."""


@dataclass(frozen=True)
class CatalogService:
    id: str
    name: str
    include: str | None  # None: the service uses its own return-path domain
    lookups: int  # the include's cost, itself included, as far as known (0 without include)
    dkim_selectors: tuple[str, ...]
    own_return_path: bool
    aliases: tuple[str, ...]
    note: str
    checked: str
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "include": self.include, "lookups": self.lookups,
                "dkim_selectors": list(self.dkim_selectors), "own_return_path": self.own_return_path,
                "note": self.note, "checked": self.checked, "source": self.source}


@lru_cache(maxsize=1)
def load_catalog() -> tuple[CatalogService, ...]:
    """The services of ``core/rules/spf_catalog.json``."""
    text = resources.files("inboxready.core.rules").joinpath("spf_catalog.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return tuple(CatalogService(
        id=s["id"], name=s["name"], include=s.get("include"), lookups=int(s.get("lookups") or 0),
        dkim_selectors=tuple(s.get("dkim_selectors") or ()), own_return_path=bool(s.get("own_return_path")),
        aliases=tuple(s.get("aliases") or ()), note=s.get("note", ""), checked=s.get("checked", ""),
        source=s.get("source", "")) for s in data["services"])


def _key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def find_service(name: str) -> CatalogService:
    """A catalog service by id, name or alias (case, spaces and punctuation ignored)."""
    k = _key(name)
    for s in load_catalog():
        if k and k in {_key(s.id), _key(s.name), *(_key(a) for a in s.aliases)}:
            return s
    close = [s.name for s in load_catalog() if k and (k in _key(s.name) or _key(s.id) in k)]
    hint = f" Did you mean {' or '.join(close[:3])}?" if close else " Use --service with a name from the list."
    raise SpfBuildError(f"'{name[:40]}' is not in our list of sending services.{hint} You can also add its include "
                        "yourself (as an extra include).")


def _known_cost(include: str) -> int | None:
    d = normalize_name(include)
    for s in load_catalog():
        if s.include and normalize_name(s.include) == d:
            return s.lookups
    return None


@dataclass
class SpfBuild:
    """What the builder made: the record and everything the user should know about it."""

    record: str
    lookups: int
    lookups_known: bool  # False: some includes' costs are unknown (offline), so ``lookups`` is a minimum
    lookups_live: bool = False  # counted by the SPF check over DNS
    services: list[CatalogService] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    dkim_selectors: list[str] = field(default_factory=list)
    costs: dict[str, int | None] = field(default_factory=dict)  # lookup-costing term → its cost (None: unknown)
    fix: Fix | None = None  # with a domain: the record to publish there
    check: CheckResult | None = None  # the live SPF check of the record, when counted live

    @property
    def ok(self) -> bool:
        return not self.problems and self.lookups <= LOOKUP_LIMIT

    @property
    def strings(self) -> list[str]:
        return split_txt(self.record)

    def to_json(self) -> dict[str, Any]:
        return {
            "record": self.record, "lookups": self.lookups, "lookup_limit": LOOKUP_LIMIT,
            "lookups_known": self.lookups_known, "lookups_live": self.lookups_live, "ok": self.ok,
            "services": [s.id for s in self.services], "includes": list(self.includes), "notes": list(self.notes),
            "problems": list(self.problems), "dkim_selectors": list(self.dkim_selectors), "strings": self.strings,
            "costs": dict(self.costs), "fix": self.fix.to_json() if self.fix else None,
            "check": self.check.to_json() if self.check else None,
        }


def _ip_term(ip: str) -> str:
    text = ip.strip()
    low = text.lower()
    if low.startswith(("ip4:", "ip6:")):
        text = text[4:]
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise SpfBuildError(f"'{ip[:50]}' is not an IP address or range (for example 192.0.2.10 or "
                            "198.51.100.0/24).") from None
    if net.version == 4:
        return f"ip4:{net.network_address}" + ("" if net.prefixlen == 32 else f"/{net.prefixlen}")
    return f"ip6:{net.network_address}" + ("" if net.prefixlen == 128 else f"/{net.prefixlen}")


def _include_term(include: str) -> str:
    inc = include.strip()
    if inc.lower().startswith("include:"):
        inc = inc[8:]
    inc = inc.rstrip(".")
    try:
        term = parse_term(f"include:{inc}")
    except SpfSyntaxError as exc:
        raise SpfBuildError(f"'{include[:60]}' can't be an SPF include: {exc}.") from None
    return term.text


def _same(a: Term, b: Term) -> bool:
    if isinstance(a, Mechanism) and isinstance(b, Mechanism):
        if a.kind in ("ip4", "ip6") and b.kind == a.kind:
            return a.network == b.network and a.qualifier == b.qualifier
        return (a.kind, a.qualifier, (a.domain_spec or "").lower().rstrip("."), a.ip4_cidr, a.ip6_cidr) == (
            b.kind, b.qualifier, (b.domain_spec or "").lower().rstrip("."), b.ip4_cidr, b.ip6_cidr)
    if isinstance(a, Modifier) and isinstance(b, Modifier):
        return a.name == b.name
    return False


def _cost(t: Term) -> int | None:
    """The lookups a term costs, itself included; None when unknown (an include not in the catalog)."""
    if isinstance(t, Modifier):
        if t.name == "redirect":
            known = _known_cost(t.value)
            return known if known is not None else None
        return 0
    if t.kind == "include":
        return _known_cost(t.domain_spec or "")
    return 1 if t.costs_lookup else 0


def build_spf(services: list[str], ips: list[str] | None = None, existing: str | None = None, *,
              all_qualifier: str | None = None, extra_includes: list[str] | None = None,
              domain: str | None = None) -> SpfBuild:
    """One SPF record for ``services`` (catalog ids or names) and ``ips``, merged with ``existing``.

    The existing record's own mechanisms are kept in their order, duplicates dropped, new terms added
    before ``all``; its ``all`` is kept unless ``all_qualifier`` ("~", "-", "?") is given (default "~"
    for a new record). A ``redirect=`` in force becomes an include so it keeps working. Lookups are
    counted from the catalog's known costs (``lookups_known`` is False when an include's cost is not
    known). Raises ``SpfBuildError`` for an unknown service, a bad IP or include.
    """
    if all_qualifier is not None and all_qualifier not in ("~", "-", "?", "+"):
        raise SpfBuildError("The ending must be ~all, -all or ?all.")
    chosen: list[CatalogService] = []
    for name in services:
        s = find_service(name)
        if s not in chosen:
            chosen.append(s)
    notes: list[str] = []
    problems: list[str] = []
    terms: list[Term] = []
    existing_all: str | None = None
    exp: Modifier | None = None
    others: list[Modifier] = []
    if existing is not None and existing.strip():
        try:
            rec = parse_record_lenient(existing.strip())
        except SpfSyntaxError:
            raise SpfBuildError("The existing record is not an SPF record (it must start with v=spf1).") from None
        for e in rec.errors:
            notes.append(f"'{e.term}' from your current record is left out: it is not valid ({e}).")
        if rec.all is not None:
            existing_all = rec.all.qualifier
        for t in rec.terms:
            if isinstance(t, Modifier):
                if t.name == "redirect":
                    if rec.all is None:
                        terms.append(parse_term(f"include:{t.value}"))
                        notes.append(f"'{t.text}' became 'include:{t.value}' so the senders it covers keep working "
                                     "next to the new ones.")
                    continue
                if t.name == "exp":
                    exp = t
                else:
                    others.append(t)
                continue
            if t.kind == "all":
                continue
            if t.kind == "ptr":
                notes.append("'ptr' from your current record is left out: RFC 7208 §5.5 says not to use it (slow, "
                             "unreliable, and some receivers ignore it).")
                continue
            terms.append(t)
    added: list[Term] = []
    for s in chosen:
        if s.include:
            added.append(parse_term(_include_term(s.include)))
        else:
            notes.append(f"{s.name}: no include needed. {s.note}")
    for inc in extra_includes or []:
        added.append(parse_term(_include_term(inc)))
    for ip in ips or []:
        added.append(parse_term(_ip_term(ip)))
    for s in chosen:
        if s.include and s.note:
            notes.append(f"{s.name}: {s.note}")
    for t in added:
        if not any(_same(t, x) for x in terms):
            terms.append(t)
    deduped: list[Term] = []
    for t in terms:
        if not any(_same(t, x) for x in deduped):
            deduped.append(t)
    terms = deduped
    q = all_qualifier or existing_all or "~"
    if q == "+":
        problems.append("+all lets every server on the internet send as you, which makes SPF useless; use ~all.")
    out = ["v=spf1", *(t.text for t in terms), ("" if q == "+" else q) + "all"]
    if exp is not None:
        out.append(exp.text)
    out.extend(m.text for m in others)
    record = " ".join(out)

    costs: dict[str, int | None] = {}
    total, known = 0, True
    for t in terms:
        c = _cost(t)
        if isinstance(t, Mechanism) and t.kind in ("ip4", "ip6"):
            continue
        if c is None:
            known = False
            c = 1
            costs[t.text] = None
        elif c:
            costs[t.text] = c
        total += c
    includes = [t.text[len("include:"):] for t in terms if isinstance(t, Mechanism) and t.kind == "include"]
    selectors: list[str] = []
    for s in chosen:
        for sel in s.dkim_selectors:
            if sel not in selectors:
                selectors.append(sel)
    b = SpfBuild(record=record, lookups=total, lookups_known=known, services=chosen, includes=includes,
                 notes=notes, problems=problems, dkim_selectors=selectors, costs=costs)
    _lookup_problems(b)
    _size_notes(b)
    if domain:
        d = normalize_name(domain)
        b.fix = Fix(d, "TXT", record, action="replace" if existing else "publish",
                    note="Publish this as the only SPF record of your domain (one TXT record starting v=spf1)."
                    + (" " + _split_note(record) if len(record.encode()) > 255 else ""))
    return b


def _split_note(record: str) -> str:
    n = len(split_txt(record))
    return (f"It is longer than 255 characters, so it is stored as {n} strings in one TXT record; most DNS hosts "
            "split it for you, others want it entered as quoted pieces (see the zone line). The pieces are joined "
            "without spaces, so the split must not drop one.")


def _size_notes(b: SpfBuild) -> None:
    size = len(b.record.encode("utf-8"))
    if size > 255:
        b.notes.append(_split_note(b.record))
    if size > RECORD_SIZE_ADVICE:
        b.problems.append(f"The record is {size} characters; RFC 7208 §3.4 advises staying under 450 so the answer "
                          "fits in one small DNS packet. Remove services you no longer use.")


def _lookup_problems(b: SpfBuild) -> None:
    b.problems = [p for p in b.problems if "lookups" not in p]
    if b.lookups <= LOOKUP_LIMIT:
        if not b.lookups_known and not b.lookups_live:
            unknown = [k for k, v in b.costs.items() if v is None]
            b.notes.append(f"At least {b.lookups} of 10 DNS lookups: we don't know what {', '.join(unknown)} "
                           "costs. Check the domain to count it exactly.")
        return
    over = b.lookups - LOOKUP_LIMIT
    ranked = sorted(((v if v is not None else 1, k) for k, v in b.costs.items()), reverse=True)
    drop: list[str] = []
    saved = 0
    for cost, term in ranked:
        if saved >= over:
            break
        drop.append(f"{term} ({cost})")
        saved += cost
    own = [s.name for s in b.services if s.include and s.own_return_path]
    b.problems.append(
        f"This record needs {b.lookups} DNS lookups, and receivers stop at 10 (RFC 7208 §4.6.4): SPF then fails for "
        f"all your mail. Drop services you no longer use; removing {', '.join(drop)} would bring it to "
        f"{b.lookups - saved}. "
        + (f"{', '.join(own)} can send with their own bounce domain, so their include may not be needed. " if own else "")
        + "Flattening (replacing includes by the addresses they list) also works, with the risk explained there.")


async def count_lookups(record: str, dns: DnsClient, domain: str | None = None,
                        options: CheckOptions | None = None) -> CheckResult:
    """The engine's own SPF check of ``record`` as if it were published at ``domain`` (any existing SPF
    record there is replaced in the overlay, nothing is published). ``detail["lookups"]`` is the count."""
    from .. import spf as spf_check
    from .whatif import merged_rrset

    d = normalize_name(domain) if domain else PLACEHOLDER_DOMAIN
    existing = await dns.query(d, "TXT") if domain else None
    overrides: dict[tuple[str, str], list[str]] = {(d, "TXT"): merged_rrset(existing, "TXT", record)}
    if not domain:  # the placeholder name exists nowhere: answer its other lookups ourselves
        overrides[(d, "SPF")] = []
        overrides[(d, "MX")] = []
    overlay = OverlayDns(dns, overrides)
    ctx = CheckContext(domain=d, dns=overlay, options=options or CheckOptions(nameservers=list(dns.nameservers)))
    return await spf_check.check(ctx)


async def live_record(dns: DnsClient, domain: str) -> tuple[str | None, str]:
    """The domain's live SPF record (None if there is none) and, if the lookup failed, why."""
    ans = await dns.query(normalize_name(domain), "TXT")
    if ans.failed:
        return None, ans.describe
    recs = [t for t in ans.txt if is_spf_record(t)]
    if len(recs) > 1:
        from ..spf import merge_records

        return merge_records(recs)[0], ""
    return (recs[0] if recs else None), ""


async def build_spf_live(services: list[str], ips: list[str] | None = None, existing: str | None = None, *,
                         dns: DnsClient, domain: str | None = None, all_qualifier: str | None = None,
                         extra_includes: list[str] | None = None) -> SpfBuild:
    """``build_spf`` with the lookups counted by the SPF check over ``dns``. With ``domain`` and no
    ``existing``, the domain's live record is merged in. A lookup that fails says so in ``problems``."""
    if existing is None and domain:
        existing, why = await live_record(dns, domain)
        if why:
            b = build_spf(services, ips, None, all_qualifier=all_qualifier, extra_includes=extra_includes,
                          domain=domain)
            b.problems.append(f"We couldn't read the current SPF record of {domain} ({why}), so this record does not "
                              "include it yet. Try again before you publish it.")
            return b
    b = build_spf(services, ips, existing, all_qualifier=all_qualifier, extra_includes=extra_includes, domain=domain)
    result = await count_lookups(b.record, dns, domain)
    b.check = result
    if any(f.severity is Severity.UNKNOWN for f in result.findings):
        b.problems.append("Some includes couldn't be looked up, so the count below is from our list and may be "
                          "off: " + "; ".join(f.message for f in result.findings if f.severity is Severity.UNKNOWN))
        return b
    b.lookups = int(result.detail.get("lookups", b.lookups))
    b.lookups_known = True
    b.lookups_live = True
    b.notes = [n for n in b.notes if not n.startswith("At least")]
    _lookup_problems(b)
    for f in result.findings:
        if f.severity is Severity.ERROR and f.code != "spf.too-many-lookups":
            b.problems.append(f.message)
    return b


# -- flattening ------------------------------------------------------------------------------------


@dataclass
class FlattenResult:
    """A flattened record (or why it couldn't be made)."""

    record: str | None
    lookups: int
    networks: list[str] = field(default_factory=list)
    sources: dict[str, list[str]] = field(default_factory=dict)  # include → the addresses it gave
    kept: list[str] = field(default_factory=list)  # terms left as they are (macros, exists, ...)
    problems: list[str] = field(default_factory=list)
    warning: str = FLATTEN_WARNING

    @property
    def ok(self) -> bool:
        return self.record is not None and not self.problems

    @property
    def strings(self) -> list[str]:
        return split_txt(self.record) if self.record else []

    def to_json(self) -> dict[str, Any]:
        return {"record": self.record, "lookups": self.lookups, "networks": list(self.networks),
                "sources": {k: list(v) for k, v in self.sources.items()}, "kept": list(self.kept),
                "problems": list(self.problems), "warning": self.warning, "ok": self.ok, "strings": self.strings}


class _Flattener:
    def __init__(self, dns: DnsClient) -> None:
        self.dns = dns
        self.problems: list[str] = []
        self.fetches = 0

    async def record(self, domain: str) -> SpfRecord | None:
        self.fetches += 1
        if self.fetches > 40:
            self.problems.append("The include tree is too large to flatten safely (over 40 records).")
            return None
        ans = await self.dns.query(domain, "TXT")
        if ans.failed:
            self.problems.append(f"We couldn't look up {domain}: {ans.describe}.")
            return None
        recs = [t for t in ans.txt if is_spf_record(t)]
        if len(recs) != 1:
            self.problems.append(f"{domain} has {len(recs)} SPF records, so it can't be flattened.")
            return None
        return parse_record_lenient(recs[0])

    async def addresses(self, name: str, cidr4: int | None, cidr6: int | None) -> list[str]:
        a, aaaa = await asyncio.gather(self.dns.query(name, "A"), self.dns.query(name, "AAAA"))
        out: list[str] = []
        for ans, cidr, fam in ((a, cidr4, "4"), (aaaa, cidr6, "6")):
            if ans.failed:
                self.problems.append(f"We couldn't look up {name}: {ans.describe}.")
            for r in ans.records if ans.ok else ():
                suffix = f"/{cidr}" if cidr is not None else ""
                out.append(str(ipaddress.ip_network(f"{r}{suffix}", strict=False)))
        return out

    async def terms(self, rec: SpfRecord, domain: str, depth: int) -> tuple[list[str], list[str]]:
        """(networks, kept terms) for the pass mechanisms of ``rec`` at ``domain``."""
        nets: list[str] = []
        kept: list[str] = []
        if depth > 10:
            self.problems.append("The includes nest too deeply to flatten.")
            return nets, kept
        for m in rec.evaluated_mechanisms:
            if m.kind == "all":
                break
            if m.qualifier != "+":
                if depth == 0:
                    kept.append(m.text)
                continue
            target = (m.domain_spec or domain).rstrip(".")
            if m.has_macros or m.kind in ("exists", "ptr"):
                if depth == 0:
                    kept.append(m.text)
                else:
                    self.problems.append(f"'{m.text}' in the record of {domain} depends on the sender and can't "
                                         "be replaced by addresses.")
                continue
            if m.kind in ("ip4", "ip6") and m.network is not None:
                nets.append(str(m.network))
            elif m.kind == "a":
                nets.extend(await self.addresses(target, m.ip4_cidr, m.ip6_cidr))
            elif m.kind == "mx":
                ans = await self.dns.query(target, "MX")
                if ans.failed:
                    self.problems.append(f"We couldn't look up the MX of {target}: {ans.describe}.")
                hosts = [r.split()[-1].rstrip(".") for r in (ans.records if ans.ok else ()) if r.split()[-1] != "."]
                for h in hosts[:10]:
                    nets.extend(await self.addresses(h, m.ip4_cidr, m.ip6_cidr))
            elif m.kind == "include":
                sub = await self.record(target)
                if sub is not None:
                    n, _ = await self.terms(sub, target, depth + 1)
                    nets.extend(n)
        red = rec.effective_redirect
        if red is not None and not red.has_macros:
            sub = await self.record(red.value.rstrip("."))
            if sub is not None:
                n, _ = await self.terms(sub, red.value.rstrip("."), depth + 1)
                nets.extend(n)
        return nets, kept


def _collapse(nets: list[str]) -> list[str]:
    v4 = [ipaddress.IPv4Network(n) for n in nets if ":" not in n]
    v6 = [ipaddress.IPv6Network(n) for n in nets if ":" in n]
    out = [*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6)]
    return [str(n) for n in out]


def _net_term(net: str) -> str:
    n = ipaddress.ip_network(net)
    full = 32 if n.version == 4 else 128
    return f"ip{n.version}:{n.network_address}" + ("" if n.prefixlen == full else f"/{n.prefixlen}")


async def flatten(record: str, dns: DnsClient, domain: str | None = None) -> FlattenResult:
    """``record`` with every include (and a, mx, redirect) replaced by the addresses it gives today.

    Terms that depend on the sender (macros, exists) stay as they are. Only on request: see
    ``FLATTEN_WARNING``. A lookup that fails makes ``record`` None (a partial list would drop senders).
    """
    try:
        rec = parse_record_lenient(record.strip())
    except SpfSyntaxError as exc:
        return FlattenResult(None, 0, problems=[f"This is not an SPF record: {exc}."])
    if rec.errors:
        return FlattenResult(None, 0, problems=[f"Fix the record first: {rec.errors[0]}."])
    fl = _Flattener(dns)
    d = normalize_name(domain) if domain else PLACEHOLDER_DOMAIN
    sources: dict[str, list[str]] = {}
    kept: list[str] = []
    nets: list[str] = []
    for m in rec.evaluated_mechanisms:
        if m.kind == "all":
            break
        if m.kind in ("include", "a", "mx") and m.qualifier == "+" and not m.has_macros:
            single = SpfRecord(text=m.text, terms=(m,))
            n, _ = await fl.terms(single, d, 0)
            sources[m.text] = _collapse(n) if n else []
            nets.extend(n)
        elif m.kind in ("ip4", "ip6") and m.qualifier == "+" and m.network is not None:
            nets.append(str(m.network))
        else:
            kept.append(m.text)
    red = rec.effective_redirect
    if red is not None:
        n, _ = await fl.terms(SpfRecord(text=red.text, terms=(red,)), d, 0)
        sources[red.text] = _collapse(n)
        nets.extend(n)
    if fl.problems:
        return FlattenResult(None, 0, sources=sources, kept=kept, problems=fl.problems)
    collapsed = _collapse(nets)
    q = rec.all.qualifier if rec.all is not None else "~"
    parts = ["v=spf1", *(_net_term(n) for n in collapsed), *kept, ("" if q == "+" else q) + "all"]
    if rec.exp is not None:
        parts.append(rec.exp.text)
    text = " ".join(parts)
    lookups = sum(1 for t in kept if parse_term(t).costs_lookup)
    problems: list[str] = []
    size = len(text.encode())
    if size > RECORD_SIZE_ADVICE:
        problems.append(f"The flattened record is {size} characters, over the 450 RFC 7208 §3.4 advises; split the "
                        "addresses over a few records of your own (include:spf1.yourdomain, ...) instead.")
    return FlattenResult(text, lookups, networks=collapsed, sources=sources, kept=kept, problems=problems)
