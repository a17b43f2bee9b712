"""Where a record lands when it is typed into a DNS host's form the wrong way: the records layer that the
checks (which look there when a record is missing, so their card says "move it", not "publish a new one")
and ``publish/mistakes.py`` (which plans the correction) share.

- ``doubled_name(name, zone)``: the full name typed into a field that adds the zone itself
  (``_dmarc.example.com`` → ``_dmarc.example.com.example.com``);
- ``undoubled_names(name, domain)``: the reverse, for a name found in a record (an MX target
  ``mail.example.com.example.com``): the full names it may have been meant as, the zone taken off once;
- ``zone_guesses(domain)``: the zones a check that doesn't know the zone tries for that (the domain, then
  its parents down to two labels: at most three);
- ``record_kind(text)``: ``spf1``, ``dmarc1``, ``dkim1`` for a TXT value that starts with that version tag
  (quotes pasted around it ignored), else ``""``;
- ``unquote_record(text)``: a value typed with quotes into a form that adds its own (``"v=spf1 …"`` as the
  text) without them, or None;
- ``not_from_wildcard(dns, name, domain, zone, texts)``: of the texts found at ``doubled_name(name, zone)``,
  those a wildcard (``*.example.com``) didn't put there: the one lookup here, through the run's ``DnsClient``.

Pure functions over names and text, but for that one lookup; no imports from the checks or from ``publish``.
"""

from __future__ import annotations

import re
import secrets

from ..dns.client import DnsClient

__all__ = ["doubled_name", "not_from_wildcard", "record_kind", "undoubled_names", "unquote_record", "zone_guesses"]

_TAG = re.compile(r"^\s*v\s*=\s*(spf1|dmarc1|dkim1)\b", re.I)
MAX_ZONE_GUESSES = 3


def _norm(name: str) -> str:
    return name.strip().rstrip(".").lower()


def doubled_name(name: str, zone: str) -> str:
    """Where a record meant for ``name`` ends up when its full name is typed into a form of ``zone`` that
    appends the zone by itself."""
    return f"{_norm(name)}.{_norm(zone)}"


def undoubled_names(name: str, domain: str) -> list[str]:
    """The full names ``name`` (a name that doesn't exist, found in a record of ``domain``) may have been
    typed as into a form that added the zone by itself: for each zone ``domain`` may be in, ``name`` with that
    zone taken off once, when what is left is a name of two labels or more (``mail.x.test.x.test`` →
    ``mail.x.test``; ``mx.provider.net.x.test`` → ``mx.provider.net``). Names left inside the zone (the
    zone typed twice) come first. Nothing proves the guess: look each one up before offering it."""
    n = _norm(name)
    inside: list[str] = []
    outside: list[str] = []
    for zone in zone_guesses(domain):
        if not n.endswith("." + zone):
            continue
        left = n[: -len(zone) - 1]
        if left.count(".") < 1:
            continue
        into = inside if left == zone or left.endswith("." + zone) else outside
        if left not in inside and left not in outside:
            into.append(left)
    return inside + outside


def zone_guesses(domain: str) -> list[str]:
    """The zones ``domain`` may be in, most likely first: the domain itself, then its parents with at least
    two labels (``shop.example.co.uk`` → itself, ``example.co.uk``, ``co.uk``), at most ``MAX_ZONE_GUESSES``."""
    labels = [x for x in _norm(domain).split(".") if x]
    out = [".".join(labels[i:]) for i in range(len(labels) - 1)]
    return out[:MAX_ZONE_GUESSES]


def record_kind(text: str) -> str:
    """``spf1`` / ``dmarc1`` / ``dkim1`` for a value that starts with that version tag (quotes around it
    ignored), else ``""``."""
    m = _TAG.match(text.strip().strip('"').strip())
    return m.group(1).lower() if m else ""


def unquote_record(text: str) -> str | None:
    """``"v=spf1 … ~all"`` (quotes inside the text) → the text without them, or None."""
    t = text.strip()
    if t.count('"') < 2:
        return None
    inner = re.sub(r'"\s*"', "", t).strip()
    if inner.startswith('"') and inner.endswith('"'):
        inner = inner[1:-1]
    inner = inner.replace('\\"', '"')
    if '"' in inner or not record_kind(inner):
        return None
    return inner.strip()


async def not_from_wildcard(dns: DnsClient, name: str, domain: str, zone: str, texts: list[str]) -> list[str]:
    """Of ``texts`` found at ``doubled_name(name, zone)`` (``name`` is ``domain`` or a name under it), those
    nobody published there. A wildcard TXT (``*.example.com``) answers every made-up name below the zone, the
    doubled name too (RFC 4592), so the same text at a name that surely doesn't exist, the same doubled name
    with the domain's first label replaced by a random one, means it came from the wildcard. A record really
    at the doubled name makes its parents exist, so the wildcard no longer covers that sibling and the record
    is kept even when its text is the wildcard's. A probe that fails keeps them all (it is only where a lost
    record may be)."""
    if not texts:
        return texts
    n, d = _norm(name), _norm(domain)
    if n != d and not n.endswith("." + d):
        return texts
    head = n[: len(n) - len(d)]
    rest = d.split(".", 1)[1] if "." in d else ""
    probe = doubled_name(f"{head}ir-{secrets.token_hex(6)}.{rest}".rstrip("."), zone)
    if len(probe) > 253:
        return texts
    ans = await dns.query(probe, "TXT")
    if not ans.ok:
        return texts
    return [t for t in texts if t not in ans.txt]
