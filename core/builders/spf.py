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

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..context import CheckContext, CheckOptions
from ..dns.client import DnsClient, normalize_name
from ..model import CheckResult, Fix, Severity, split_txt
from ..records.spf_catalog import CatalogService, include_cost, load_catalog
from ..records.spf_flat import FLATTEN_WARNING, PLACEHOLDER_DOMAIN, FlattenResult, flatten
from ..records.spf_macro import SpfSyntaxError
from ..records.spf_parse import Mechanism, Modifier, Term, is_spf_record, parse_record_lenient, parse_term
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


class SpfBuildError(ValueError):
    """Input the builder can't use (an unknown service, an IP that isn't one). ``str()`` is plain English."""


def _key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def find_service(name: str, catalog: Iterable[CatalogService] | None = None) -> CatalogService:
    """A catalog service by id, name or alias (case, spaces and punctuation ignored)."""
    cat = tuple(catalog) if catalog is not None else load_catalog()
    k = _key(name)
    for s in cat:
        if k and k in {_key(s.id), _key(s.name), *(_key(a) for a in s.aliases)}:
            return s
    close = [s.name for s in cat if k and (k in _key(s.name) or _key(s.id) in k)]
    hint = f" Did you mean {' or '.join(close[:3])}?" if close else " Use --service with a name from the list."
    raise SpfBuildError(f"'{name[:40]}' is not in our list of sending services.{hint} You can also add its include "
                        "yourself (as an extra include).")


def _known(include: str, catalog: Iterable[CatalogService]) -> tuple[CatalogService, int] | None:
    """The catalog's service and lookup count for an include (its own or a known older one)."""
    return include_cost(include, tuple(catalog))


@dataclass(frozen=True)
class ServiceSetup:
    """How a service that sends with its own return path is really set up (no include on your domain)."""

    service: CatalogService
    text: str  # plain words
    records: tuple[Fix, ...] = ()  # the catalog's records for it, at the user's domain (with a domain only)

    def to_json(self) -> dict[str, Any]:
        return {"service": self.service.id, "name": self.service.name, "text": self.text,
                "return_path_domain": self.service.return_path_domain, "source": self.service.source,
                "records": [r.to_json() for r in self.records]}


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
    # where each cost comes from: "counted over DNS" (the check's own branch count) or "estimate from DATE"
    # (the catalog, offline)
    cost_sources: dict[str, str] = field(default_factory=dict)
    fix: Fix | None = None  # with a domain: the record to publish there (None when it would not work)
    # over the limit, with a domain: records that fit, each checked by the SPF check, cheapest first
    options: list[Fix] = field(default_factory=list)
    setups: list[ServiceSetup] = field(default_factory=list)  # services that need no include, and why
    check: CheckResult | None = None  # the live SPF check of the record, when counted live
    # with a domain: its current record couldn't be read (a timeout, SERVFAIL), so ``record`` is only a draft of
    # the services and addresses given: published, it would drop whatever the current record lists
    current_unread: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and self.lookups <= LOOKUP_LIMIT

    @property
    def strings(self) -> list[str]:
        return split_txt(self.record)

    def to_json(self) -> dict[str, Any]:
        return {
            # never a record to publish when the current one couldn't be read: the draft is said as one
            "record": None if self.current_unread else self.record,
            "draft": self.record if self.current_unread else None,
            "current_unread": self.current_unread, "lookups": self.lookups, "lookup_limit": LOOKUP_LIMIT,
            "lookups_known": self.lookups_known, "lookups_live": self.lookups_live, "ok": self.ok,
            "services": [s.id for s in self.services], "includes": list(self.includes), "notes": list(self.notes),
            "problems": list(self.problems), "dkim_selectors": list(self.dkim_selectors), "strings": self.strings,
            "costs": dict(self.costs), "cost_sources": dict(self.cost_sources),
            "fix": self.fix.to_json() if self.fix else None,
            "options": [o.to_json() for o in self.options], "setups": [x.to_json() for x in self.setups],
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


def _cost(t: Term, catalog: Iterable[CatalogService]) -> tuple[int | None, str]:
    """The lookups a term costs, itself included, and where that comes from ("" for a fixed cost); None
    when unknown (an include not in the catalog)."""
    if isinstance(t, Modifier):
        if t.name == "redirect":
            known = _known(t.value, catalog)
            return (known[1], known[0].estimate_words) if known is not None else (None, "")
        return 0, ""
    if t.kind == "include":
        known = _known(t.domain_spec or "", catalog)
        return (known[1], known[0].estimate_words) if known is not None else (None, "")
    return (1 if t.costs_lookup else 0), ""


def _setup_words(s: CatalogService) -> str:
    where = f" ({s.return_path_domain})" if s.return_path_domain else ""
    how = s.setup or s.note
    if how:
        text = f"{s.name}: no include on your domain (it sends with its own return path{where}). {how}"
    else:
        text = (f"{s.name}: no include on your domain. It sends with its own return path{where}, so receivers check "
                "SPF for its mail against that domain, never yours; an include would only cost lookups. Its mail "
                "passes DMARC through DKIM: publish the DKIM records it gives you.")
    if s.dkim_selectors:
        text += f" DKIM selectors it uses: {', '.join(s.dkim_selectors)}."
    if s.source:
        text += f" Source: {s.source}."
    return text


def _setup_records(s: CatalogService, domain: str | None) -> tuple[Fix, ...]:
    """The catalog's set-up records at ``domain`` (``{domain}`` filled in; a host without it is relative to the
    domain). A record with another placeholder (``{region}``) can't be pasted as it is: its words in
    ``setup`` say what to fill in, so it is left out here."""
    if not domain:
        return ()
    d = normalize_name(domain)
    out = []
    for r in s.setup_records:
        host = r.host.replace("{domain}", d)
        if host in ("", "@"):
            host = d
        elif "{domain}" not in r.host and not host.endswith("."):
            host = f"{normalize_name(host)}.{d}"
        host, value = normalize_name(host), r.value.replace("{domain}", d)
        if "{" in host + value:
            continue
        out.append(Fix(host, r.type, value, note=(r.note[0].upper() + r.note[1:] if r.note else "")
                       + (": " if r.note else "") + f"part of {s.name}'s set-up."))
    return tuple(out)


def build_spf(services: list[str], ips: list[str] | None = None, existing: str | None = None, *,
              all_qualifier: str | None = None, extra_includes: list[str] | None = None,
              domain: str | None = None, catalog: Iterable[CatalogService] | None = None) -> SpfBuild:
    """One SPF record for ``services`` (catalog ids or names) and ``ips``, merged with ``existing``.

    The existing record's own mechanisms are kept in their order, duplicates dropped, new terms added
    before ``all``; its ``all`` is kept unless ``all_qualifier`` ("~", "-", "?") is given (default "~"
    for a new record). A ``redirect=`` in force becomes an include so it keeps working. A service that
    sends with its own return path gets no include: its real set-up is explained instead (``setups``).
    Lookups are counted from the catalog's known costs, each an "estimate from" the date the entry was
    checked (``lookups_known`` is False when an include's cost is not known); ``build_spf_live`` counts
    them over DNS. Raises ``SpfBuildError`` for an unknown service, a bad IP or include.
    """
    cat = tuple(catalog) if catalog is not None else load_catalog()
    if all_qualifier is not None and all_qualifier not in ("~", "-", "?", "+"):
        raise SpfBuildError("The ending must be ~all, -all or ?all.")
    chosen: list[CatalogService] = []
    for name in services:
        s = find_service(name, cat)
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
    setups: list[ServiceSetup] = []
    for s in chosen:
        if s.needs_root_include:
            added.append(parse_term(_include_term(s.include or "")))
        elif s.own_return_path:
            setups.append(ServiceSetup(s, _setup_words(s), _setup_records(s, domain)))
            notes.append(_setup_words(s))
        else:
            notes.append(f"{s.name}: no include needed. {s.note}".strip())
    for inc in extra_includes or []:
        added.append(parse_term(_include_term(inc)))
    for ip in ips or []:
        added.append(parse_term(_ip_term(ip)))
    for s in chosen:
        if s.needs_root_include and s.note:
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
    sources: dict[str, str] = {}
    total, known = 0, True
    for t in terms:
        if isinstance(t, Mechanism) and t.kind in ("ip4", "ip6"):
            continue
        c, where = _cost(t, cat)
        if c is None:
            known = False
            c = 1
            costs[t.text] = None
        elif c:
            costs[t.text] = c
            if where:
                sources[t.text] = where
        total += c
    includes = [t.text[len("include:"):] for t in terms if isinstance(t, Mechanism) and t.kind == "include"]
    selectors: list[str] = []
    for s in chosen:
        for sel in s.dkim_selectors:
            if sel not in selectors:
                selectors.append(sel)
    b = SpfBuild(record=record, lookups=total, lookups_known=known, services=chosen, includes=includes,
                 notes=notes, problems=problems, dkim_selectors=selectors, costs=costs, cost_sources=sources,
                 setups=setups)
    _lookup_problems(b)
    _size_notes(b)
    if domain:
        d = normalize_name(domain)
        b.fix = Fix(d, "TXT", record, action="replace" if existing else "publish",
                    note="Publish this as the only SPF record of your domain (one TXT record starting v=spf1)."
                    + (" " + _split_note(record) if len(record.encode()) > 255 else ""))
        if b.lookups > LOOKUP_LIMIT:
            b.fix = None  # never offer a record that would break SPF: the live count offers ones that fit
        elif existing and _same_record(existing, record):
            b.fix = None  # "replace with" the very record that is there would be a change that changes nothing
            b.notes.insert(0, f"Your current SPF record at {d} already says this: nothing to change there.")
    return b


def _same_record(a: str, b: str) -> bool:
    """The same SPF terms in the same order (case and spacing aside)."""
    return a.lower().split() == b.lower().split()


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


def _cost_words(b: SpfBuild, term: str, cost: int) -> str:
    where = "" if b.lookups_live else b.cost_sources.get(term, "")
    return f"{term} ({cost}{', ' + where if where else ''})"


def _lookup_problems(b: SpfBuild) -> None:
    b.problems = [p for p in b.problems if "lookups" not in p]
    if b.lookups <= LOOKUP_LIMIT:
        if not b.lookups_known and not b.lookups_live:
            unknown = [k for k, v in b.costs.items() if v is None]
            b.notes.append(f"At least {b.lookups} of 10 DNS lookups: we don't know what {', '.join(unknown)} "
                           "costs. Check the domain to count it exactly.")
        return
    over = b.lookups - LOOKUP_LIMIT
    ranked = sorted(((v if v is not None else 1, k) for k, v in b.costs.items()), key=lambda x: -x[0])
    drop: list[str] = []
    saved = 0
    for cost, term in ranked:
        if saved >= over:
            break
        drop.append(_cost_words(b, term, cost))
        saved += cost
    how = ("The records below fit, each checked over DNS; pick the one that suits you."
           if b.options else
           "Check it with your domain to get records that fit (flattened copies or subdomains for your senders), "
           "each checked over DNS." if not b.lookups_live else
           "Give your domain to get records that fit: they are named after it.")
    b.problems.append(
        f"This record needs {b.lookups} DNS lookups, and receivers stop at 10 (RFC 7208 §4.6.4): SPF then fails for "
        f"all your mail. Drop services you no longer use: removing {', '.join(drop)} would bring it to "
        f"{b.lookups - saved}. " + how)


async def count_lookups(record: str, dns: DnsClient, domain: str | None = None,
                        options: CheckOptions | None = None) -> CheckResult:
    """The engine's own SPF check of ``record`` as if it were published at ``domain`` (any existing SPF
    record there is replaced in the overlay, nothing is published). ``detail["lookups"]`` is the count."""
    from ..checks import spf as spf_check
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
        from ..checks.spf import merge_records

        return merge_records(recs)[0], ""
    return (recs[0] if recs else None), ""


def _live_costs(result: CheckResult) -> dict[str, int]:
    """Term text (lower case) → the branch cost the SPF check counted for it (its own a/mx/exists: 1)."""
    tree = result.detail.get("tree") if isinstance(result.detail, dict) else None
    out: dict[str, int] = {}
    if not isinstance(tree, dict):
        return out
    for c in tree.get("children") or []:
        if isinstance(c, dict) and isinstance(c.get("mechanism"), str) and isinstance(c.get("branch"), int):
            out[c["mechanism"].lower()] = c["branch"]
    return out


async def build_spf_live(services: list[str], ips: list[str] | None = None, existing: str | None = None, *,
                         dns: DnsClient, domain: str | None = None, all_qualifier: str | None = None,
                         extra_includes: list[str] | None = None,
                         catalog: Iterable[CatalogService] | None = None, all_advice: bool = True) -> SpfBuild:
    """``build_spf`` with the lookups counted by the SPF check over ``dns``: each include's cost is the branch
    cost the check computes (the catalog's value only when DNS couldn't tell). With ``domain`` and no
    ``existing``, the domain's live record is merged in. Over the limit, the check's own records that fit
    (with a domain) are ``options``. A lookup that fails says so in ``problems``. Without ``all_qualifier``,
    a domain whose DMARC is not yet at p=reject gets '~all' as the SPF check advises (``all_advice``; False
    keeps the existing ending: a fix that changes only what it names)."""
    cat = tuple(catalog) if catalog is not None else load_catalog()
    if existing is None and domain:
        existing, why = await live_record(dns, domain)
        if why:
            b = build_spf(services, ips, None, all_qualifier=all_qualifier, extra_includes=extra_includes,
                          domain=domain, catalog=cat)
            b.problems.append(f"We couldn't read the current SPF record of {domain} ({why}), so this record does not "
                              "include it yet. Try again before you publish it.")
            b.fix = None
            b.current_unread = True
            return b
    b = build_spf(services, ips, existing, all_qualifier=all_qualifier, extra_includes=extra_includes, domain=domain,
                  catalog=cat)
    opts = CheckOptions(nameservers=list(dns.nameservers), spf_catalog=cat)
    result = await count_lookups(b.record, dns, domain, opts)
    if all_advice and all_qualifier is None and domain and \
            any(f.code == "spf.all-hardfail-early" for f in result.findings):
        # The check advises '~all' until DMARC is at p=reject: the builder says the same, never "keep -all"
        from ..checks.spf import SOFTALL_NOTE

        b = build_spf(services, ips, existing, all_qualifier="~", extra_includes=extra_includes, domain=domain,
                      catalog=cat)
        b.notes.append("'-all' became '~all': " + SOFTALL_NOTE)
        result = await count_lookups(b.record, dns, domain, opts)
    b.check = result
    if any(f.severity is Severity.UNKNOWN for f in result.findings):
        b.problems.append("Some includes couldn't be looked up, so the count of DNS lookups is from our list and may be "
                          "off: " + "; ".join(f.message for f in result.findings if f.severity is Severity.UNKNOWN))
        return b
    b.lookups = int(result.detail.get("lookups", b.lookups))
    b.lookups_known = True
    b.lookups_live = True
    live = _live_costs(result)
    for term in list(b.costs):
        try:
            t = parse_term(term)
        except SpfSyntaxError:
            continue
        if isinstance(t, Mechanism) and t.kind == "include":
            key = f"include:{normalize_name(t.domain_spec or '')}"
        elif isinstance(t, Modifier) and t.name == "redirect":
            key = f"include:{normalize_name(t.value)}"  # a redirect was merged as an include
        else:
            continue
        if key in live:
            b.costs[term] = live[key]
            b.cost_sources[term] = "counted over DNS"
    b.notes = [n for n in b.notes if not n.startswith("At least")]
    too_many = next((f for f in result.findings if f.code == "spf.too-many-lookups"), None)
    if domain and too_many is not None:
        b.options = list(too_many.options)
        b.fix = None
    _lookup_problems(b)
    for f in result.findings:
        if f.severity is Severity.ERROR and f.code != "spf.too-many-lookups":
            b.problems.append(f.message)
    return b
