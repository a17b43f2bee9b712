"""The mistakes people make in their DNS host's form, found where they end up in DNS.

When an expected record is missing, we look where it lands by mistake and say exactly what happened:

- ``publish.doubled-name``: the full name typed into a field that adds the domain itself, so the record is at
  ``_dmarc.example.com.example.com`` (SPF at ``example.com.example.com``, DKIM at
  ``s1._domainkey.example.com.example.com``; not what a wildcard TXT answers there, ``not_from_wildcard``);
- ``publish.dmarc-at-root``: the DMARC record published at the domain itself instead of ``_dmarc``;
- ``publish.literal-quotes``: a value wrapped in quotation marks that became part of the text;
- ``publish.split-records``: one value split into several TXT records instead of one record of several parts;
- ``publish.split-glued``: a value split into parts where a space was needed, so two words run together;
- ``publish.dkim-whitespace``: a DKIM key pasted with spaces or line breaks inside the key.

Each ``Mistake`` carries the changes that correct it (``fixes``: delete the wrong record, publish the right
one), which the front ends render in the detected host's form (``hosts.host_form``) and the publisher can
apply. Lookups go through the run's ``DnsClient``; one that fails is skipped, never reported as a mistake.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from ..dns.client import DnsAnswer, DnsClient
from ..records.misplaced import doubled_name, not_from_wildcard
from ..records.misplaced import record_kind as _kind
from ..records.misplaced import unquote_record as _unquote
from ..model import Finding, Fix, Severity

COMMON_SELECTORS = ("google", "selector1", "selector2", "s1", "s2", "k1", "k2", "default", "dkim", "mail", "mxvault")


@dataclass(frozen=True)
class Mistake:
    code: str
    severity: Severity
    message: str
    detail: str
    fixes: tuple[Fix, ...] = ()
    check: str = ""  # the check whose card it belongs to (spf, dmarc, dkim)

    def finding(self) -> Finding:
        """As a ``Finding`` (its fix: the record to publish; the delete is in ``fixes``)."""
        publish = next((f for f in self.fixes if f.action != "remove"), None)
        return Finding(self.code, self.severity, self.message, self.detail, fix=publish or
                       (self.fixes[0] if self.fixes else None))

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "severity": str(self.severity), "message": self.message, "detail": self.detail,
                "check": self.check, "fixes": [f.to_json() for f in self.fixes]}


def _spf_errors(text: str) -> int:
    from ..records.spf_parse import SpfSyntaxError, parse_record_lenient

    try:
        rec = parse_record_lenient(text)
    except SpfSyntaxError:
        return 1000
    except Exception:
        return 1000
    return len(rec.errors)


def _glued(strings: tuple[bytes, ...]) -> str | None:
    """Parts joined with no space where the text needs one (``…_spf.google.com`` + ``include:…``): the value
    with the spaces put back, or None when the parts join cleanly. SPF: a space at a boundary counts when it
    leaves fewer broken terms; DMARC: a part that starts a new tag right after one that didn't end it."""
    if len(strings) < 2:
        return None
    parts = [s.decode("utf-8", "replace") for s in strings]
    kind = _kind(parts[0])
    if kind not in ("spf1", "dmarc1"):
        return None
    out = parts[0]
    changed = False
    for p in parts[1:]:
        if out and p and not out[-1].isspace() and not p[0].isspace():
            if kind == "spf1":
                starts_term = re.match(r"^[-~?+]?(include:|ip4:|ip6:|exists:|redirect=|exp=|a[:/]|mx[:/]|"
                                       r"(a|mx|ptr|all)(\s|$))", p, re.I)
                if (starts_term and out[-1] not in ":=/") or _spf_errors(out + " " + p) < _spf_errors(out + p):
                    out += " " + p
                    changed = True
                    continue
            elif out.rstrip()[-1:] != ";" and re.match(r"^[a-z]{1,5}\s*=", p, re.I):
                out += "; " + p
                changed = True
                continue
        out += p
    return out if changed else None


async def _txt(dns: DnsClient, name: str) -> DnsAnswer:
    return await dns.query(name, "TXT")


async def find_mistakes(dns: DnsClient, domain: str, zone: str = "", *, selectors: list[str] | None = None,
                        ttl: int = 3600) -> list[Mistake]:
    """Look for the usual host-form mistakes for ``domain`` (in ``zone``; the domain itself when unknown)."""
    d = domain.strip().rstrip(".").lower()
    z = (zone or d).strip().rstrip(".").lower()
    sels = list(dict.fromkeys([*(selectors or []), *COMMON_SELECTORS]))
    root, dmarc = await asyncio.gather(_txt(dns, d), _txt(dns, f"_dmarc.{d}"))
    out: list[Mistake] = []

    spf_records = [t for t in root.txt if _kind(t) == "spf1"] if root.ok else []
    dmarc_records = [t for t in dmarc.txt if _kind(t) == "dmarc1"] if dmarc.ok else []
    spf_missing = not root.failed and not spf_records
    dmarc_missing = not dmarc.failed and not dmarc_records

    # Doubled names: the full name typed into a field that appends the zone.
    doubled: list[tuple[str, str, str]] = []  # (wrong name, right name, check)
    if spf_missing:
        doubled.append((doubled_name(d, z), d, "spf"))
    if dmarc_missing:
        doubled.append((doubled_name(f"_dmarc.{d}", z), f"_dmarc.{d}", "dmarc"))
    for s in sels:
        doubled.append((doubled_name(f"{s}._domainkey.{d}", z), f"{s}._domainkey.{d}", "dkim"))
    wrong_answers = await asyncio.gather(*(_txt(dns, w) for w, _, _ in doubled))
    right_dkim = await asyncio.gather(*(_txt(dns, r) for w, r, c in doubled if c == "dkim"))
    dkim_missing = {r: (not a.failed and not any(_kind(t) == "dkim1" or "p=" in t for t in a.txt))
                    for (_w, r, _c), a in zip([x for x in doubled if x[2] == "dkim"], right_dkim)}
    found: list[tuple[str, str, str, list[str]]] = []  # (wrong name, right name, check, texts there)
    for (wrong, right, check), ans in zip(doubled, wrong_answers):
        if not ans.ok:
            continue
        want = {"spf": "spf1", "dmarc": "dmarc1", "dkim": "dkim1"}[check]
        hits = [t for t in ans.txt if _kind(t) == want or (check == "dkim" and "p=" in t and not _kind(t))]
        if hits and (check != "dkim" or dkim_missing.get(right, False)):
            found.append((wrong, right, check, hits))
    # A wildcard TXT (*.example.com) answers the doubled names too: what a random sibling also gets is its.
    published = await asyncio.gather(*(not_from_wildcard(dns, right, d, z, hits) for _w, right, _c, hits in found))
    for (wrong, right, check, _all), hits in zip(found, published):
        if not hits:
            continue
        value = _unquote(hits[0]) or hits[0]
        what = {"spf": "SPF record", "dmarc": "DMARC record", "dkim": "DKIM key"}[check]
        out.append(Mistake(
            "publish.doubled-name", Severity.ERROR,
            f"Your {what} is published at {wrong} instead of {right}: the full name was typed into a name field "
            f"that adds {z} by itself, so the domain ended up in the name twice. Receivers look only at {right}, "
            f"so for them the {what} is missing. Move it: delete the record at {wrong} and add it again with just "
            f"the part before {z} in the name field.",
            f"TXT {wrong}: {hits[0][:200]}",
            (Fix(wrong, "TXT", hits[0], ttl=ttl, action="remove", note="The record at the doubled name."),
             Fix(right, "TXT", value, ttl=ttl, action="publish", note="The same record at the right name.")),
            check))

    # DMARC published at the domain itself.
    if dmarc_missing and root.ok:
        at_root = [t for t in root.txt if _kind(t) == "dmarc1"]
        if at_root:
            out.append(Mistake(
                "publish.dmarc-at-root", Severity.ERROR,
                f"Your DMARC record is published at {d} itself instead of at _dmarc.{d}, where receivers look for "
                f"it, so for them you have no DMARC policy. Move it: delete it at {d} and add it with the name "
                "_dmarc.",
                f"TXT {d}: {at_root[0][:200]}",
                (Fix(d, "TXT", at_root[0], ttl=ttl, action="remove", note="The DMARC record at the wrong name."),
                 Fix(f"_dmarc.{d}", "TXT", _unquote(at_root[0]) or at_root[0], ttl=ttl, action="publish",
                     note="The same record where receivers look for it.")),
                "dmarc"))

    # Values as published: literal quotes, split records, glued parts, DKIM keys with spaces.
    checks: list[tuple[str, DnsAnswer, str]] = [(d, root, "spf1"), (f"_dmarc.{d}", dmarc, "dmarc1")]
    for (_w, r, _c), a in zip([x for x in doubled if x[2] == "dkim"], right_dkim):
        checks.append((r, a, "dkim1"))
    for name, ans, kind in checks:
        if not ans.ok:
            continue
        out.extend(_value_mistakes(name, ans, kind, ttl))
    return out


def _value_mistakes(name: str, ans: DnsAnswer, kind: str, ttl: int) -> list[Mistake]:
    out: list[Mistake] = []
    check = {"spf1": "spf", "dmarc1": "dmarc", "dkim1": "dkim"}[kind]
    what = {"spf1": "SPF record", "dmarc1": "DMARC record", "dkim1": "DKIM key"}[kind]
    texts = list(ans.txt)
    strings = list(ans.txt_strings) or [(t.encode(),) for t in texts]
    for text, parts in zip(texts, strings):
        fixed = _unquote(text)
        if fixed is not None and _kind(fixed) == kind and text.strip() != fixed:
            if kind == "dkim1":
                continue  # the DKIM check reports quotes inside a key itself (dkim.malformed-key)
            out.append(Mistake(
                "publish.literal-quotes", Severity.ERROR,
                f"Your {what} at {name} has quotation marks inside its text: it was typed with quotes into a form "
                "that adds its own, so receivers read '\"v=…' and ignore the record. Replace it with the same text "
                "without the quotes.",
                f"TXT {name}: {text[:200]}",
                (Fix(name, "TXT", text, ttl=ttl, action="remove", note="The record with the quotes."),
                 Fix(name, "TXT", fixed, ttl=ttl, action="publish", note="The same text without the quotes.")),
                check))
            continue
        glued = _glued(tuple(parts))
        if glued is not None:
            out.append(Mistake(
                "publish.split-glued", Severity.ERROR,
                f"Your {what} at {name} was split into parts where a space was needed: receivers join the parts "
                "with nothing between them, so two terms run together and the record breaks. Publish it as one "
                "value and let the form split it, or start each part with a space.",
                f"TXT {name}: " + " | ".join(p.decode('utf-8', 'replace')[:80] for p in parts),
                (Fix(name, "TXT", text, ttl=ttl, action="remove", note="The record whose parts run together."),
                 Fix(name, "TXT", glued, ttl=ttl, action="publish", note="The same record with the spaces back.")),
                check))
            continue
        if kind == "dkim1" and _kind(text) == "dkim1":
            m = re.search(r"(?:^|;)\s*p\s*=\s*([^;]*)", text)
            key = m.group(1) if m else ""
            if re.search(r"\S\s+\S", key.strip()) or "\n" in key or "\r" in key or "\t" in key:
                clean = text[:m.start(1)] + re.sub(r"\s+", "", key) + text[m.end(1):] if m else text
                out.append(Mistake(
                    "publish.dkim-whitespace", Severity.WARNING,
                    f"The DKIM key at {name} has spaces or line breaks inside the key: it was copied from a "
                    "wrapped page or e-mail. The standard lets receivers skip them, but some don't, and their "
                    "DKIM check fails. Replace it with the same key in one piece.",
                    f"TXT {name}: {text[:200]}",
                    (Fix(name, "TXT", text, ttl=ttl, action="remove", note="The key with spaces in it."),
                     Fix(name, "TXT", clean, ttl=ttl, action="publish", note="The same key in one piece.")),
                    check))
    # One value split into several records (the start has the tag, the rest doesn't).
    tagged = [t for t in texts if _kind(t) == kind]
    loose = [t for t in texts if not _kind(t) and not re.match(r"^\s*v\s*=", t, re.I)]
    if len(tagged) == 1 and loose and kind in ("dkim1", "spf1", "dmarc1"):
        candidates = [t for t in loose if (kind == "dkim1" and re.fullmatch(r"[A-Za-z0-9+/=\s]+", t))
                      or (kind == "spf1" and re.match(r"^\s*(include:|ip4:|ip6:|a\b|mx\b|[~?+-]?all\b)", t))]
        if candidates:
            joined = tagged[0] + "".join(candidates) if kind == "dkim1" else \
                tagged[0].rstrip() + " " + " ".join(c.strip() for c in candidates)
            fixes = [Fix(name, "TXT", t, ttl=ttl, action="remove", note="A piece of the split value.")
                     for t in [tagged[0], *candidates]]
            fixes.append(Fix(name, "TXT", joined, ttl=ttl, action="publish",
                             note="One record: the pieces joined in order."))
            out.append(Mistake(
                "publish.split-records", Severity.ERROR,
                f"Your {what} at {name} was split into {1 + len(candidates)} separate records instead of one record "
                "made of several parts, so receivers read only the first piece and it is broken. Delete the pieces "
                "and publish the value as one record.",
                f"TXT {name}: " + " | ".join(t[:60] for t in [tagged[0], *candidates]),
                tuple(fixes), check))
    return out
