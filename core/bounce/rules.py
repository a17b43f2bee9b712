"""Classifying a bounce with the reviewed rules file ``core/rules/bounce_codes.json``.

The file's ``about`` says how a rule matches. In short: every field a rule sets must match (the provider,
the enhanced status code, the SMTP reply code, the provider's own code, a pattern on the receiver's
words), and the most specific rule wins. A code no rule knows gets the category "other" and is shown as
it is: it is never guessed into an authentication problem. ``detect_provider`` names the receiving
service from the receiver's words (Google's "gsmtp", Microsoft's "AS(...)" and outlook.com hosts,
Yahoo's "[TSS04]"), then the remote server, then the recipient's domain.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["CATEGORIES", "BounceRule", "Classification", "Provider", "classify", "deferring", "detect_provider",
           "is_temporary", "load_rules", "provider_code", "status_meaning"]

RULES_FILE = "bounce_codes.json"
CATEGORIES = ("authentication", "reverse-dns", "tls", "reputation", "content", "mailbox", "policy", "other")
# The categories whose cause is not in your DNS: the bounce says so, and no domain check is run for them.
NO_DNS_FIX = frozenset({"mailbox", "content", "tls"})
MAX_WORDS = 4000  # characters of the receiver's words a pattern looks at


@dataclass(frozen=True)
class BounceRule:
    id: str
    provider: str
    status: tuple[str, ...]
    reply: tuple[str, ...]
    provider_code: tuple[str, ...]
    pattern: re.Pattern[str] | None
    category: str
    part: str
    checks: tuple[str, ...]
    meaning: str
    action: str
    example: str
    source: str
    checked: str
    confidence: str
    wording: str
    note: str = ""
    meaning_temporary: str = ""  # the meaning for a 4xx deferral, where ``meaning`` speaks of a refusal

    def matches(self, *, provider: str | None, status: str, reply: str, code: str, words: str) -> bool:
        if self.provider != "any" and self.provider != provider:
            return False
        if self.status and status not in self.status:
            return False
        if self.reply and reply not in self.reply:
            return False
        if self.provider_code and code.upper() not in self.provider_code:
            return False
        if self.pattern is not None and not self.pattern.search(words[:MAX_WORDS]):
            return False
        return bool(self.status or self.reply or self.provider_code or self.pattern)

    @property
    def score(self) -> int:
        return ((100 if self.provider != "any" else 0) + (50 if self.provider_code else 0)
                + (20 if self.pattern is not None else 0) + (10 if self.status else 0) + (1 if self.reply else 0))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "provider": self.provider, "category": self.category, "part": self.part,
                "checks": list(self.checks), "meaning": self.meaning, "action": self.action, "source": self.source,
                "checked": self.checked, "confidence": self.confidence}


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    markers: tuple[re.Pattern[str], ...]
    hosts: tuple[str, ...]
    recipient_domains: tuple[str, ...]


@dataclass(frozen=True)
class Classification:
    rule: BounceRule | None
    category: str
    part: str
    checks: tuple[str, ...]
    meaning: str
    action: str

    @property
    def known(self) -> bool:
        return self.rule is not None

    @property
    def dns_fixable(self) -> bool:
        """False for a bounce no DNS record of the sender fixes (mailbox, content, TLS)."""
        return self.category not in NO_DNS_FIX


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    text = resources.files("inboxready.core.rules").joinpath(RULES_FILE).read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def load_rules() -> tuple[BounceRule, ...]:
    out = []
    for r in _data()["rules"]:
        out.append(BounceRule(
            id=r["id"], provider=r["provider"], status=tuple(r.get("status") or ()), reply=tuple(r.get("reply") or ()),
            provider_code=tuple(c.upper() for c in r.get("provider_code") or ()),
            pattern=re.compile(r["pattern"], re.IGNORECASE) if r.get("pattern") else None,
            category=r["category"], part=r.get("part", ""), checks=tuple(r.get("checks") or ()), meaning=r["meaning"],
            action=r["action"], example=r["example"], source=r["source"], checked=r["checked"],
            confidence=r.get("confidence", "confirmed"), wording=r.get("wording", "exact"), note=r.get("note", ""),
            meaning_temporary=r.get("meaning_temporary", "")))
    return tuple(out)


@lru_cache(maxsize=1)
def load_providers() -> tuple[Provider, ...]:
    return tuple(Provider(pid, p["name"], tuple(re.compile(m, re.IGNORECASE) for m in p["markers"]),
                          tuple(p["hosts"]), tuple(p["recipient_domains"]))
                 for pid, p in _data()["providers"].items())


def provider_name(pid: str | None) -> str:
    for p in load_providers():
        if p.id == pid:
            return p.name
    return ""


def _in(host: str, suffixes: tuple[str, ...]) -> bool:
    h = host.lower().rstrip(".")
    return any(h == s or h.endswith("." + s) for s in suffixes)


def detect_provider(words: str, remote_mta: str = "", recipient: str = "") -> str | None:
    """The receiving service: "google", "microsoft", "yahoo", or None (another one, or unknown)."""
    providers = load_providers()
    text = words[:MAX_WORDS]
    for p in providers:
        if any(m.search(text) for m in p.markers):
            return p.id
    if remote_mta:
        for p in providers:
            if _in(remote_mta, p.hosts):
                return p.id
    rdom = recipient.rsplit("@", 1)[-1].lower().strip(">") if "@" in recipient else ""
    if rdom:
        for p in providers:
            if rdom in p.recipient_domains:
                return p.id
    return None


_YAHOO_CODE = re.compile(r"\[([A-Z]{2,5}\d{2,3})\]")
_MS_AS = re.compile(r"\bAS\((\d{3,12})\)")
_MS_BLOCK = re.compile(r"\b((?:SC|DY|OU)-\d{3})\b|\((S\d{4})\)")
_MS_COMPONENT = re.compile(r"\b((?:RESOLVER|STOREDRV|ROUTING|SMTPSEND|AMBIENT|QUEUE)\.[A-Za-z]{2,10}\.[A-Za-z]{2,40})\b")


def provider_code(words: str) -> str:
    """The provider's own code in its words: Yahoo's ``TSS04``, Microsoft's ``RESOLVER.ADR.RecipNotFound``,
    ``S3150`` / ``OU-002`` or ``AS(7171)``; "" when there is none."""
    text = words[:MAX_WORDS]
    m = _YAHOO_CODE.search(text)
    if m:
        return m.group(1)
    m2 = _MS_COMPONENT.search(text)
    if m2:
        return m2.group(1)
    mb = _MS_BLOCK.search(text)
    if mb:
        return mb.group(1) or mb.group(2)
    m3 = _MS_AS.search(text)
    if m3:
        return f"AS({m3.group(1)})"
    return ""


# RFC 3463 subjects, for a code no rule knows (shown as a hint, never as a category).
_SUBJECTS = {"0": "other or undefined", "1": "addressing (the sender's or the recipient's address)",
             "2": "the recipient's mailbox", "3": "the receiving mail system", "4": "network and routing",
             "5": "the mail protocol", "6": "the message content or its format", "7": "security or policy"}


def status_meaning(status: str) -> str:
    """What the standard (RFC 3463) says about a code's class and subject, in words."""
    parts = status.split(".")
    if len(parts) != 3:
        return ""
    kind = {"2": "success", "4": "a temporary failure", "5": "a permanent failure"}.get(parts[0], "")
    subject = _SUBJECTS.get(parts[1], "")
    if not kind:
        return ""
    return f"{status} is {kind}" + (f" about {subject}" if subject else "") + " (RFC 3463)."


def is_temporary(status: str, reply: str) -> bool:
    """A 4.x.x status (or, without one, a 4xx reply): a deferral the sending server retries, not a refusal."""
    return status[:1] == "4" or (not status and reply[:1] == "4")


# A rule written for the permanent refusal, read for a deferral: "refused" becomes "is holding back".
_DEFERRING = (
    (re.compile(r"\brefused \(or is holding back\)"), "is holding back"),
    (re.compile(r"\bso it refused\b"), "so it is holding back"),
    (re.compile(r"\brefused the (message|connection)\b"), r"is holding back the \1"),
    (re.compile(r"\brefused the sending server\b"), "is holding back mail from the sending server"),
    (re.compile(r"\brefused (mail|it)\b"), r"is holding back \1"),
    (re.compile(r"\brefused the app or device\b"), "is holding back mail from the app or device"),
    (re.compile(r"\brefused to pass the message on\b"), "is not passing the message on for now"),
)


def deferring(meaning: str) -> str:
    """``meaning`` reworded for a temporary failure (no "refused": the receiver only deferred the message)."""
    for pat, repl in _DEFERRING:
        meaning = pat.sub(repl, meaning)
    return meaning


def classify(*, status: str, reply: str, words: str, provider: str | None, code: str = "") -> Classification:
    """The best rule for this bounce, or the "other" category for a code no rule knows. For a 4xx deferral
    the meaning says the receiver is holding the message back, never that it refused it."""
    best: BounceRule | None = None
    for rule in load_rules():
        if rule.matches(provider=provider, status=status, reply=reply, code=code, words=words):
            if best is None or rule.score > best.score:
                best = rule
    if best is None:
        hint = status_meaning(status)
        meaning = ("We don't know this code" + (f" ({status})" if status else "") + ", so we can't say for sure why the "
                   "message bounced. The receiver's own words are shown below." + (f" By the standard, {hint}" if hint
                                                                                   else ""))
        return Classification(None, "other", "", (), meaning,
                              "Read the receiver's words; if they don't explain it, ask the recipient's mail "
                              "administrator (or your mail provider) what the code means.")
    meaning = best.meaning
    if is_temporary(status, reply):
        meaning = best.meaning_temporary or deferring(meaning)
    return Classification(best, best.category, best.part, best.checks, meaning, best.action)
