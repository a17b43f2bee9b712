"""The DNS host catalog (``rules/dns_hosts.json``): who hosts a zone, and how their record form wants a
record typed.

Each host has NS-name patterns (``*.ns.cloudflare.com``), a display name, the dns-lexicon provider name
(empty when lexicon can't publish there), the console link, the form's conventions (what the name field
takes, ``@`` or blank for the zone itself, TXT values with or without quotes, how long values are split, the
TTL choices) and, for publishing, which secrets and options the account needs and which least permission to
grant, the lexicon options InboxReady sets when the account leaves them out (``option_defaults``) and how the
host's API wants TXT content (``api_txt``). Every entry has its ``source`` page (and ``also_read``), the date
``checked`` and a ``confidence`` (confirmed | partly confirmed | unconfirmed, with ``confidence_note`` saying
what is not confirmed); ``core/rules/CHECKED.md`` logs the fact-check.

``match_hosts(ns_names)`` recognises the host from a zone's NS names; ``host_form(fix, zone, host)`` renders
one ``Fix`` the way that host's form wants it (``HostForm``), with the generic zone-file line kept beside it.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from ..model import Fix, quote_txt, split_txt

CATALOG_FILE = "dns_hosts.json"


@dataclass(frozen=True)
class HostFormRules:
    name_field: str = "Name"
    value_field: str = "Value"
    ttl_field: str = "TTL"
    name_style: str = "relative"  # relative | fqdn-dot
    root: str = "@"  # what the name field takes for the zone itself ("" = leave it empty)
    txt_quotes: str = "without"  # without | with | either
    long_values: str = "whole"  # whole | split-quoted
    ttl_choices: tuple[str, ...] = ()
    ttl_default: str = ""
    max_value: int = 0  # longest value the form accepts (0: not known)
    long_hint: str = ""  # what to do instead when a value is longer than ``max_value``


@dataclass(frozen=True)
class DnsHost:
    id: str
    name: str
    ns_patterns: tuple[str, ...]
    lexicon: str  # dns-lexicon provider name ("" = can't publish through lexicon)
    console: str
    form: HostFormRules
    secrets: tuple[str, ...]
    options: tuple[str, ...]
    permission: str
    token_steps: str
    notes: str = ""
    source: str = ""
    checked: str = ""
    confidence: str = ""
    confidence_note: str = ""
    also_read: tuple[str, ...] = ()
    option_defaults: tuple[tuple[str, str], ...] = ()  # lexicon options set when the account has none
    api_txt: str = "plain"  # plain | quoted: TXT content through lexicon as text, or as quoted 255-byte strings

    @property
    def can_publish(self) -> bool:
        return bool(self.lexicon)

    def matches(self, ns_name: str) -> bool:
        n = ns_name.strip().rstrip(".").lower()
        return any(fnmatch.fnmatchcase(n, p.lower()) for p in self.ns_patterns)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "lexicon": self.lexicon, "console": self.console,
                "can_publish": self.can_publish, "permission": self.permission, "token_steps": self.token_steps,
                "source": self.source, "checked": self.checked, "confidence": self.confidence,
                "confidence_note": self.confidence_note}


@lru_cache(maxsize=1)
def load_hosts() -> tuple[DnsHost, ...]:
    text = resources.files("inboxready.core.rules").joinpath(CATALOG_FILE).read_text(encoding="utf-8")
    data = json.loads(text)
    out = []
    for h in data["hosts"]:
        f = h.get("form", {})
        form = HostFormRules(
            name_field=str(f.get("name_field", "Name")), value_field=str(f.get("value_field", "Value")),
            ttl_field=str(f.get("ttl_field", "TTL")), name_style=str(f.get("name_style", "relative")),
            root=str(f.get("root", "@")), txt_quotes=str(f.get("txt_quotes", "without")),
            long_values=str(f.get("long_values", "whole")),
            ttl_choices=tuple(str(t) for t in f.get("ttl_choices", [])), ttl_default=str(f.get("ttl_default", "")),
            max_value=int(f.get("max_value", 0) or 0), long_hint=str(f.get("long_hint", "")))
        tok = h.get("token", {})
        out.append(DnsHost(
            id=str(h["id"]), name=str(h["name"]), ns_patterns=tuple(str(p) for p in h.get("ns_patterns", [])),
            lexicon=str(h.get("lexicon", "")), console=str(h.get("console", "")), form=form,
            secrets=tuple(str(s) for s in tok.get("secrets", [])), options=tuple(str(o) for o in tok.get("options", [])),
            permission=str(tok.get("permission", "")), token_steps=str(tok.get("steps", "")),
            notes=str(h.get("notes", "")), source=str(h.get("source", "")), checked=str(h.get("checked", "")),
            confidence=str(h.get("confidence", "")), confidence_note=str(h.get("confidence_note", "")),
            also_read=tuple(str(u) for u in h.get("also_read", [])),
            option_defaults=tuple((str(k), str(v)) for k, v in (tok.get("option_defaults") or {}).items()),
            api_txt=str(h.get("api_txt", "plain"))))
    return tuple(out)


def get_host(host_id: str) -> DnsHost | None:
    for h in load_hosts():
        if h.id == host_id:
            return h
    return None


def host_for_provider(provider: str) -> DnsHost | None:
    """The catalog entry whose lexicon provider is ``provider`` (for an account's token steps)."""
    for h in load_hosts():
        if h.lexicon and h.lexicon == provider:
            return h
    return None


def match_hosts(ns_names: list[str] | tuple[str, ...]) -> list[DnsHost]:
    """The hosts whose patterns match the most of ``ns_names``, best first (several when the same servers are
    shared, e.g. Google Cloud DNS and domains moved from Google Domains to Squarespace)."""
    scored: list[tuple[int, int, DnsHost]] = []
    for i, h in enumerate(load_hosts()):
        hits = sum(1 for n in ns_names if h.matches(n))
        if hits:
            scored.append((-hits, i, h))
    scored.sort(key=lambda t: (t[0], t[1]))
    if not scored:
        return []
    best = scored[0][0]
    return [h for s, _, h in scored if s == best]


# -- how a record is typed at that host -------------------------------------------------------------


def relative_name(host: str, zone: str) -> str:
    """``_dmarc.example.com`` in zone ``example.com`` → ``_dmarc``; the zone itself → ``""``."""
    h = host.strip().rstrip(".").lower()
    z = zone.strip().rstrip(".").lower()
    if h == z:
        return ""
    if z and h.endswith("." + z):
        return h[: -len(z) - 1]
    return h  # outside the zone: the caller says so


@dataclass(frozen=True)
class HostForm:
    """One record as a host's form wants it: ``fields`` in the form's order, and the sentence that says it."""

    host_id: str
    host_name: str
    fields: tuple[tuple[str, str], ...]
    notes: tuple[str, ...] = ()
    outside_zone: bool = False
    action: str = "publish"
    kind: str = ""  # a record of which only one may exist at its name: "SPF", "DMARC", "DKIM key" ...
    value_index: int = 2  # which of ``fields`` is the record's value

    @property
    def lead(self) -> str:
        """What to do at the host, in words (without the fields)."""
        if self.action == "remove":
            return f"At {self.host_name}, delete the record with"
        if self.action == "replace" and self.kind:
            return (f"At {self.host_name}, change the {self.kind} record at this name to this one, and delete any "
                    f"other {self.kind} record there (only one may exist)")
        if self.action == "replace":
            return f"At {self.host_name}, change the existing record to"
        return f"At {self.host_name}"

    @property
    def text(self) -> str:
        parts = ", ".join(f"{label} {('`' + value + '`') if value else '(leave it empty)'}"
                          for label, value in self.fields)
        return f"{self.lead}: {parts}"

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host_id, "host_name": self.host_name, "action": self.action, "text": self.text,
                "lead": self.lead, "fields": [{"label": k, "value": v} for k, v in self.fields],
                "notes": list(self.notes)}


def _ttl_words(ttl: int, rules: HostFormRules) -> str:
    if rules.ttl_default and not rules.ttl_default[0].isdigit() and rules.ttl_default != "(set by Squarespace)":
        return rules.ttl_default
    if "seconds" in rules.ttl_choices or not rules.ttl_choices:
        return str(ttl)
    return rules.ttl_default or str(ttl)


def form_value(fix: Fix, rules: HostFormRules) -> str:
    """The value as the host's value field wants it typed."""
    if fix.type.upper() != "TXT":
        return fix.value
    if rules.long_values == "split-quoted" or rules.txt_quotes == "with":
        return " ".join(quote_txt(s) for s in split_txt(fix.value))
    return fix.value


def host_form(fix: Fix, zone: str, host: DnsHost | None) -> HostForm:
    """``fix`` typed into ``host``'s form for ``zone`` (``host`` None: a generic relative-name form)."""
    rules = host.form if host else HostFormRules()
    name = host.name if host else "your DNS host"
    rel = relative_name(fix.host, zone) if zone else fix.host
    outside = bool(zone) and rel == fix.host.strip().rstrip(".").lower() and fix.host.rstrip(".").lower() != zone
    notes: list[str] = []
    if rules.name_style == "fqdn-dot" or outside:
        shown_name = fix.host.rstrip(".") + "."
    elif rel == "":
        shown_name = rules.root
        if rules.root == "@":
            notes.append("'@' stands for the domain itself.")
    else:
        shown_name = rel
        notes.append(f"Type only '{rel}': the form adds .{zone} itself (typing the full name would make it "
                     f"{fix.host}.{zone}).")
    if outside:
        notes = [f"{fix.host} is not in the zone {zone}: this record goes to the DNS host of that other domain."]
    value = form_value(fix, rules)
    fields: list[tuple[str, str]] = [("Type", fix.type.upper()), (rules.name_field, shown_name),
                                     (rules.value_field, value), (rules.ttl_field, _ttl_words(fix.ttl, rules))]
    if fix.type.upper() == "TXT":
        if rules.txt_quotes == "without":
            notes.append("Paste the value without quotes.")
        elif rules.long_values == "split-quoted" and len(split_txt(fix.value)) > 1:
            notes.append("Keep the quotes: the value is longer than 255 characters, so it is typed as several "
                         "quoted parts on one line.")
        elif rules.txt_quotes == "with":
            notes.append("Keep the quotes around the value.")
        if rules.max_value and len(fix.value) > rules.max_value:
            notes.append(f"{name} accepts at most {rules.max_value} characters here; this value has "
                         f"{len(fix.value)}." + (f" {rules.long_hint}" if rules.long_hint else ""))
    return HostForm(host.id if host else "", name, tuple(fields), tuple(notes), outside, fix.action,
                    _one_per_name(fix))


_KINDS = {"spf1": "SPF", "dmarc1": "DMARC", "dkim1": "DKIM key", "stsv1": "MTA-STS", "tlsrptv1": "TLS reporting",
          "bimi1": "BIMI"}


def _one_per_name(fix: Fix) -> str:
    """The kind of a TXT record of which only one may exist at its name, in words ('' for others)."""
    if fix.type.upper() != "TXT":
        return ""
    head = fix.value.strip().split(";", 1)[0].split(None, 1)
    tag = "".join(head[0].lower().split()) if head else ""
    if tag.startswith("v="):
        return _KINDS.get(tag[2:], "")
    if "._domainkey." in f".{fix.host.lower()}." and "p=" in fix.value:
        return "DKIM key"
    return ""
