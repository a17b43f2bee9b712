"""How a domain stands against the Google / Yahoo / Microsoft bulk-sender rules that DNS can show (the
bar across the top of the window and the CLI's summary line).

The rules, their labels, who asks and since when come from ``rules/bulk_sender_rules.json`` (the entries
marked ``"readiness_bar": true``) and are judged by the same code as the full checklist
(``core/checklist.py``), so the bar and the checklist never disagree. Rules that need a real message
(alignment, one-click unsubscribe, TLS, spam rate) are only on the checklist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .checklist import MET, NOT_MET, PENDING, UNKNOWN, judge, load_rules
from ..checks.registry import CHECK_TITLES
from ..model import CheckResult, Status

__all__ = ["MET", "NOT_MET", "UNKNOWN", "PENDING", "NOT_APPLICABLE", "SOURCES", "Requirement",
           "bulk_sender_readiness", "failing_beyond", "no_mail_reason", "readiness_headline"]

NOT_APPLICABLE = "not-applicable"  # a rule not met by a domain that sends no mail: it doesn't apply there


def _sources() -> str:
    seen: list[str] = []
    for rule in load_rules().rules:
        if rule.readiness_bar:
            for src in rule.sources:
                text = f"{src['name']}: {src['title']} ({src['url']})"
                if text not in seen:
                    seen.append(text)
    return "; ".join(seen)


SOURCES = _sources()


@dataclass(frozen=True)
class Requirement:
    key: str
    label: str
    state: str  # met | not-met | unknown | pending | not-applicable (not met, but the domain sends no mail)
    detail: str
    required: bool = True  # False: recommended, not required by the providers
    who: tuple[str, ...] = ()  # google | yahoo | microsoft
    since: str = ""  # "February 2024"
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "state": self.state, "detail": self.detail,
                "required": self.required, "who": list(self.who), "since": self.since, "source": self.source}


def no_mail_reason(checks: Mapping[str, CheckResult] | None) -> str | None:
    """Why the sender rules don't apply to this domain (it doesn't exist, says it sends no mail, or looks
    unused for email), in one sentence; None when it sends mail or the MX check hasn't told yet."""
    mx = checks.get("mx") if checks is not None else None
    if mx is None:
        return None
    if any(f.code == "mx.domain-not-found" for f in mx.findings):
        return "This domain does not exist in DNS, so it can't send mail at all; check the spelling."
    if mx.detail.get("parked"):
        spf = checks.get("spf") if checks is not None else None
        if (spf is not None and spf.detail.get("record")) or mx.detail.get("null_mx"):
            return "This domain says it sends no mail, so the bulk-sender rules don't apply to it."
        return ("This domain looks unused for email (no MX and no SPF record); the bulk-sender rules only "
                "matter once it sends mail.")
    return None


def bulk_sender_readiness(checks: Mapping[str, CheckResult]) -> list[Requirement]:
    """The bulk-sender requirements a domain check can judge, in the order people fix them. For a domain
    that sends no mail, a rule it doesn't meet is "not-applicable" (the headline says the rules don't
    apply: no red mark may say otherwise)."""
    no_mail = no_mail_reason(checks)
    out: list[Requirement] = []
    for rule in load_rules().rules:
        if not rule.readiness_bar:
            continue
        v = judge(rule, checks)
        state, why = v.state, v.why
        couldnt = any(checks[c].status is Status.ERROR for c in rule.judged.get("checks") or [rule.key]
                      if c in checks)  # a DNS failure stays "couldn't check", never "doesn't apply"
        if no_mail and (state == NOT_MET or state == UNKNOWN and not couldnt):
            state, why = NOT_APPLICABLE, f"{why} {no_mail}"
        out.append(Requirement(rule.key, rule.label, state, why, rule.required, rule.who, rule.since_words,
                               rule.source))
    return out


def failing_beyond(checks: Mapping[str, CheckResult] | None, covered: set[str] | frozenset[str] = frozenset()) -> str:
    """"MX fails (see the MX check)."-style words for the checks that fail outright (status fail) and that no
    unmet requirement above already names (``covered``: their check names), or "" when there are none. A
    headline or verdict that says "meets the rules" must not sit, unqualified, above a failing card: a
    broken MX (mail to the domain can't be delivered, bounces and replies are lost) or DNSSEC that doesn't
    validate is not part of the sender rules, yet it is not "ready" either."""
    if not checks:
        return ""
    names = [CHECK_TITLES.get(n, n) for n, r in checks.items()
             if r.status is Status.FAIL and n not in covered and n not in ("checklist", "compliance")]
    if not names:
        return ""
    see = f"see the {names[0]} check" if len(names) == 1 else "see those checks"
    return f"{_join(names)} {'fails' if len(names) == 1 else 'fail'} ({see})."


def _covered(reqs: list[Requirement]) -> set[str]:
    """The checks whose result an unmet requirement already shows."""
    rules = {r.key: r for r in load_rules().rules}
    out: set[str] = set()
    for req in reqs:
        if req.state == NOT_MET and req.key in rules:
            out.update(rules[req.key].judged.get("checks") or [req.key])
    return out


def readiness_headline(reqs: list[Requirement], checks: Mapping[str, CheckResult] | None = None) -> str:
    """One sentence for the top of the window or report, never contradicting the requirements under it.
    With ``checks``, a domain that sends no mail (or looks unused: no MX and no SPF) is told the rules don't
    apply, rather than to fix SPF and DKIM; a recommended step not taken yet is named, not hidden behind
    "meets the rules"."""
    required = [r for r in reqs if r.required]
    if any(r.state == PENDING for r in required):
        return "Checking against the Google, Yahoo and Microsoft sender rules…"
    no_mail = no_mail_reason(checks)
    if no_mail:
        return no_mail
    missing = [r.label for r in required if r.state == NOT_MET]
    unknown = [r.label for r in required if r.state == UNKNOWN]
    advised = [r.label for r in reqs if not r.required and r.state == NOT_MET]
    beyond = failing_beyond(checks, _covered(reqs))
    if missing:
        return "Not ready for the Google, Yahoo and Microsoft bulk-sender rules yet: fix the " + \
            _join(missing) + "." + (f" Also, {beyond}" if beyond else "")
    if unknown:
        return "Could not confirm everything for the bulk-sender rules: " + ", ".join(unknown) + " unknown." + \
            (f" Also, {beyond}" if beyond else "")
    if beyond:  # the rules are met, but something else is broken: never an all-clear above a failing card
        return (f"{beyond[:-1]}; otherwise this domain meets the Google, Yahoo and Microsoft bulk-sender rules "
                "that DNS can show.")
    if advised:
        return ("Meets the Google, Yahoo and Microsoft bulk-sender rules that DNS can show; recommended next: "
                + _join(advised) + ".")
    return "Meets the Google, Yahoo and Microsoft bulk-sender rules that DNS can show."


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
