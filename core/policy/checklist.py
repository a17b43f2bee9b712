"""The bulk-sender checklist: every Google, Yahoo and Microsoft (Outlook.com) sender rule, judged from
what we have (the domain checks, a test message, the spam rate the user typed in).

The rules themselves (label, who asks, since when, the source, the plain-words explanation, which check
and finding codes judge them) live in one reviewed file, ``rules/bulk_sender_rules.json``. This module
only knows how to judge each ``judged.kind`` of that file.

    result = build_checklist(report.checks, message_report, spam_rate=0.08)
    result.detail["items"][0]["state"]  # met | not-met | needs-test-message | cant-see | unknown | pending

It works with partial input: a check that has not finished yet is ``pending``, a check that couldn't
look something up is ``unknown`` (never ``not-met``), a rule that only a received message can show is
``needs-test-message`` until one is given, and the spam rate is ``cant-see`` unless typed in.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Callable, Mapping, TypedDict

from ..frontend import APP, FrontEnd
from ..model import CheckResult, Finding, Fix, Severity, Status, derive_status

if TYPE_CHECKING:  # pragma: no cover - typing only (mail.message imports the domain checks)
    from ..mail.message import MessageReport

RULES_FILE = "bulk_sender_rules.json"

MET = "met"
NOT_MET = "not-met"
NEEDS_MESSAGE = "needs-test-message"
CANT_SEE = "cant-see"
UNKNOWN = "unknown"  # the check ran but couldn't look it up
PENDING = "pending"  # the check has not finished yet
STATES = (MET, NOT_MET, NEEDS_MESSAGE, CANT_SEE, UNKNOWN, PENDING)

STATE_WORDS = {MET: "Met", NOT_MET: "Not met", NEEDS_MESSAGE: "Needs a test message",
               CANT_SEE: "Can't be seen from here", UNKNOWN: "Couldn't check", PENDING: "Checking…"}

WHO_NAMES = {"google": "Google", "yahoo": "Yahoo", "microsoft": "Microsoft"}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


# -- the rules file --------------------------------------------------------------------------------


class ChecklistItem(TypedDict):
    """One rule of the checklist card with its state (``CheckResult.detail["items"]``)."""

    key: str
    label: str
    who: list[str]  # google | yahoo | microsoft; empty: our own advice
    applies: str  # "all" | "bulk"
    since: str  # ISO date
    since_by: dict[str, str]  # provider -> ISO date, where the providers' start dates differ
    since_text: str  # "2024-02-01 (Microsoft: 2025-05-05)"
    source: str  # the providers' pages, for display
    state: str  # one of STATES
    why: str  # why this state, in words
    fix_check: str | None  # the check whose fix meets the rule
    required: bool
    conditional: bool
    explain: str  # why the rule matters
    checked: str  # when the rule was last checked against the providers' pages (ISO date)
    facts: dict[str, Any]


class ChecklistDetail(TypedDict):
    """``CheckResult.detail`` of the checklist (every key is always there)."""

    items: list[ChecklistItem]
    spam_rate: float | None  # percent, as typed in; None: not entered


@dataclass(frozen=True)
class Rule:
    """One entry of ``bulk_sender_rules.json``."""

    key: str
    label: str
    who: tuple[str, ...]
    applies: str  # "all" | "bulk"
    since: str  # ISO date
    sources: tuple[dict[str, str], ...]  # {"name", "title", "url", "checked"}
    required: bool
    judged: dict[str, Any]
    why: str
    checked: str
    readiness_bar: bool = False
    rfc: str = ""
    since_by: tuple[tuple[str, str], ...] = ()  # (provider, ISO date) where the providers' start dates differ
    conditional: bool = False  # binds only some senders (forwarders, lists): "can't see" doesn't hold the verdict back

    @property
    def kind(self) -> str:
        return str(self.judged.get("kind", ""))

    @property
    def source(self) -> str:
        """"Google: Email sender guidelines (https://…); Yahoo: …" for display."""
        return "; ".join(f"{s.get('name', '')}: {s.get('title', '')} ({s.get('url', '')})" for s in self.sources)

    @property
    def who_words(self) -> str:
        names = [WHO_NAMES.get(w, w) for w in self.who]
        return _join(names) if names else "no provider (our advice)"

    @property
    def since_text(self) -> str:
        """"2024-02-01", or "2024-02-01 (Microsoft: 2025-05-05)" where a provider started later."""
        later = [f"{WHO_NAMES.get(w, w)}: {d}" for w, d in self.since_by if w in self.who and d != self.since]
        return self.since + (f" ({'; '.join(later)})" if later else "")

    @property
    def since_words(self) -> str:
        """"February 2024" from "2024-02-01"; with per-provider dates that differ, the later ones follow:
        "February 2024 (Microsoft: May 2025)"."""
        first = _month_words(self.since)
        later = [f"{WHO_NAMES.get(w, w)}: {_month_words(d)}" for w, d in self.since_by
                 if w in self.who and _month_words(d) != first]
        return first + (f" ({'; '.join(later)})" if later else "")


@dataclass(frozen=True)
class Rules:
    rules: tuple[Rule, ...]
    checked: str
    bulk_threshold: str

    def get(self, key: str) -> Rule:
        return next(r for r in self.rules if r.key == key)


def parse_rules(data: Mapping[str, Any]) -> Rules:
    """Read the rules file's JSON (raises ``ValueError`` when an entry lacks something we need)."""
    if not isinstance(data, Mapping):
        raise ValueError("the bulk-sender rules file is not a JSON object")
    sources = data.get("sources") or {}
    entries = data.get("rules") or []
    if not isinstance(sources, Mapping) or not isinstance(entries, list):
        raise ValueError("the bulk-sender rules file needs 'sources' (an object) and 'rules' (a list)")
    out: list[Rule] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise ValueError(f"bulk-sender rule {entry!r:.80} is not an object")
        try:
            srcs = tuple({"name": str(sources[s]["name"]), "title": str(sources[s]["title"]),
                          "url": str(sources[s]["url"]), "checked": str(sources[s].get("checked", ""))}
                         for s in entry["sources"])
            since_by = entry.get("since_by") or {}
            rule = Rule(key=str(entry["key"]), label=str(entry["label"]), who=tuple(entry["who"]),
                        applies=str(entry["applies"]), since=str(entry["since"]), sources=srcs,
                        required=bool(entry["required"]), judged=dict(entry["judged"]), why=str(entry["why"]),
                        checked=str(entry["checked"]), readiness_bar=bool(entry.get("readiness_bar", False)),
                        rfc=str(entry.get("rfc", "")),
                        since_by=tuple((str(k), str(v)) for k, v in dict(since_by).items()),
                        conditional=bool(entry.get("conditional", False)))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"bulk-sender rule {entry!r:.80}: missing {exc}") from exc
        if rule.applies not in ("all", "bulk") or rule.kind not in _JUDGES:
            raise ValueError(f"bulk-sender rule {rule.key}: unknown 'applies' or 'judged.kind'")
        out.append(rule)
    return Rules(tuple(out), str(data.get("checked", "")), str(data.get("bulk_threshold", "")))


@lru_cache(maxsize=1)
def load_rules() -> Rules:
    """The built-in rules (``inboxready.core.rules/bulk_sender_rules.json``), read once."""
    text = resources.files("inboxready.core.rules").joinpath(RULES_FILE).read_text(encoding="utf-8")
    return parse_rules(json.loads(text))


# -- judging ---------------------------------------------------------------------------------------


@dataclass
class Verdict:
    """The state of one rule and why, with the fix that the relevant check offers (if any)."""

    state: str
    why: str
    fix_check: str | None = None
    fix: Fix | None = None
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Input:
    checks: Mapping[str, CheckResult] | None
    message: "MessageReport | None"
    spam_rate: float | None
    rules: "Rules | None" = None  # the whole rule set (for the rules that sum up others)
    front: FrontEnd = APP

    def check(self, name: str) -> CheckResult | None:
        return self.checks.get(name) if self.checks is not None else None

    def card(self, name: str) -> CheckResult | None:
        return self.message.checks.get(name) if self.message is not None else None


def _first_fix(result: CheckResult | None, *, codes: tuple[str, ...] | None = None) -> Fix | None:
    """The fix of the most serious finding that has one (optionally only among ``codes``)."""
    if result is None:
        return None
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.UNKNOWN: 2, Severity.INFO: 3}
    with_fix = [f for f in result.findings if f.fix is not None and (codes is None or f.code in codes)]
    with_fix.sort(key=lambda f: order.get(f.severity, 4))
    return with_fix[0].fix if with_fix else None


def _waiting(result: CheckResult | None, check: str, looked_up: str) -> Verdict | None:
    """Pending while ``check`` (e.g. "dkim") has not finished; unknown when it couldn't look ``looked_up``
    (e.g. "DKIM keys") up; None when there is a result to judge."""
    if result is None:
        return Verdict(PENDING, f"Waiting for the {check.upper()} check.", check)
    if result.status is Status.ERROR:
        return Verdict(UNKNOWN, f"The {looked_up} could not be looked up, so we can't tell yet.", check)
    return None


def _judge_spf(rule: Rule, inp: _Input) -> Verdict:
    spf = inp.check("spf")
    waiting = _waiting(spf, "spf", "SPF record")
    if waiting is not None:
        return waiting
    assert spf is not None
    if not spf.detail.get("record") and not spf.detail.get("merged_record"):
        return Verdict(NOT_MET, "No SPF record is published.", "spf", _first_fix(spf))
    if spf.status is Status.FAIL:
        return Verdict(NOT_MET, "An SPF record exists but receivers will treat it as broken.", "spf",
                       _first_fix(spf))
    return Verdict(MET, "An SPF record is published and valid.", "spf")


def _dkim_keys(dkim: CheckResult) -> list[dict[str, Any]]:
    return [k for k in dkim.detail.get("found", []) if isinstance(k, dict) and not k.get("revoked")]


def _judge_dkim(rule: Rule, inp: _Input) -> Verdict:
    dkim = inp.check("dkim")
    waiting = _waiting(dkim, "dkim", "DKIM keys")
    if waiting is not None:
        return waiting
    assert dkim is not None
    found = _dkim_keys(dkim)
    usable = [k for k in found if k.get("status") != "fail"]
    if usable:
        names = ", ".join(sorted({str(k.get("selector")) for k in usable}))
        return Verdict(MET, f"DKIM key found (selector {names}).", "dkim")
    if found:
        return Verdict(NOT_MET, "A DKIM key was found but it is too weak or broken to be trusted.", "dkim",
                       _first_fix(dkim))
    tried = dkim.detail.get("selectors_tried", 0)
    return Verdict(UNKNOWN, f"No DKIM key found among the {tried} selectors we tried; it may use one we don't "
                   "know. Add your selector to check it.", "dkim")


def _judge_spf_or_dkim(rule: Rule, inp: _Input) -> Verdict:
    spf, dkim = _judge_spf(rule, inp), _judge_dkim(rule, inp)
    if MET in (spf.state, dkim.state):
        which = " and ".join(n for n, v in (("SPF", spf), ("DKIM", dkim)) if v.state == MET)
        verb = "are" if " and " in which else "is"
        return Verdict(MET, f"{which} {verb} set up.", "spf" if spf.state == MET else "dkim")
    if PENDING in (spf.state, dkim.state):
        return Verdict(PENDING, "Waiting for the SPF and DKIM checks.", "spf")
    if UNKNOWN in (spf.state, dkim.state):
        return Verdict(UNKNOWN, "Neither SPF nor DKIM could be confirmed: " + spf.why + " " + dkim.why, "spf",
                       spf.fix)
    return Verdict(NOT_MET, "Neither SPF nor DKIM is working: " + spf.why + " " + dkim.why, "spf",
                   spf.fix or dkim.fix)


def _judge_dkim_size(rule: Rule, inp: _Input) -> Verdict:
    dkim = inp.check("dkim")
    waiting = _waiting(dkim, "dkim", "DKIM keys")
    if waiting is not None:
        return waiting
    assert dkim is not None
    minimum = int(rule.judged.get("minimum_bits", 1024))
    recommended = int(rule.judged.get("recommended_bits", 2048))
    rsa = [(str(k.get("selector")), int(k["key_bits"])) for k in _dkim_keys(dkim)
           if k.get("key_type") == "rsa" and isinstance(k.get("key_bits"), int)]
    others = [k for k in _dkim_keys(dkim) if k.get("key_type") not in (None, "rsa")]
    facts = {"keys": [{"selector": s, "bits": b} for s, b in rsa]}
    if not rsa and not others:
        return Verdict(UNKNOWN, "We found no DKIM key to measure.", "dkim", facts=facts)
    weak = [(s, b) for s, b in rsa if b < minimum]
    if weak:
        names = ", ".join(f"{s} ({b} bits)" for s, b in weak)
        return Verdict(NOT_MET, f"These DKIM keys are shorter than {minimum} bits: {names}. Ask your mail "
                       f"service for a new {recommended}-bit key and publish it under a new selector.", "dkim",
                       facts=facts)
    unchecked = [x for x in dkim.detail.get("unchecked") or [] if isinstance(x, str)]
    partial = (f" ({len(unchecked)} of the {dkim.detail.get('selectors_tried') or len(unchecked)} selectors "
               "couldn't be checked, so a key there isn't counted.)" if unchecked else "")
    short = [(s, b) for s, b in rsa if b < recommended]
    if short:
        names = ", ".join(f"{s} ({b} bits)" for s, b in short)
        return Verdict(MET, f"Long enough, but {recommended} bits is recommended: {names}. Move to a "
                       f"{recommended}-bit key when you next change keys.{partial}", "dkim", facts=facts)
    return Verdict(MET, f"Every DKIM key we found is long enough.{partial}", "dkim", facts=facts)


def _judge_dmarc(rule: Rule, inp: _Input) -> Verdict:
    dmarc = inp.check("dmarc")
    waiting = _waiting(dmarc, "dmarc", "DMARC record")
    if waiting is not None and waiting.state == UNKNOWN and dmarc is not None and dmarc.detail.get("policy"):
        waiting = None  # the record and its policy are known; only a side lookup (report address) failed
    if waiting is not None:
        return waiting
    assert dmarc is not None
    policy = dmarc.detail.get("policy")
    if dmarc.detail.get("record") and policy in ("none", "quarantine", "reject"):
        return Verdict(MET, f"A DMARC record is published (p={policy}).", "dmarc")
    if dmarc.detail.get("record"):
        return Verdict(NOT_MET, "A DMARC record exists but it is not valid.", "dmarc", _first_fix(dmarc))
    return Verdict(NOT_MET, "No DMARC record is published.", "dmarc", _first_fix(dmarc))


def _judge_enforcement(rule: Rule, inp: _Input) -> Verdict:
    dmarc = inp.check("dmarc")
    if dmarc is None:
        return Verdict(PENDING, "Waiting for the DMARC check.", "dmarc")
    policy = dmarc.detail.get("policy")
    if dmarc.status is Status.ERROR and not policy:
        return Verdict(UNKNOWN, "The DMARC record could not be looked up.", "dmarc")
    if policy in ("quarantine", "reject") and not dmarc.detail.get("testing"):
        return Verdict(MET, f"DMARC is enforced (p={policy}): spoofed mail is stopped.", "dmarc")
    stage = dmarc.detail.get("stage") or "none"
    why = ("DMARC is in monitoring mode: allowed for bulk senders, but spoofed mail is not stopped yet."
           if stage in ("monitoring", "quarantine") else "DMARC is not enforced.")
    return Verdict(NOT_MET, why, "dmarc", _first_fix(dmarc))


def _no_message(rule: Rule, inp: _Input) -> Verdict:
    return Verdict(NEEDS_MESSAGE, f"Only a real message shows this: send a test message "
                   f"({inp.front.test_message}) to check it.")


def _judge_message_dmarc(rule: Rule, inp: _Input) -> Verdict:
    if inp.message is None:
        return _no_message(rule, inp)
    card = inp.card(str(rule.judged.get("message_check", "dmarc")))
    result = (card.detail.get("result") if card is not None else None) or ""
    fix = _first_fix(card)
    if card is None or card.status is Status.ERROR and result not in ("pass", "fail"):
        return Verdict(UNKNOWN, "The test message doesn't show a DMARC result we can believe.", None)
    if result == "pass":
        return Verdict(MET, "The test message passed DMARC: its From domain matches a passing SPF or DKIM.")
    if result == "fail":
        return Verdict(NOT_MET, "The test message failed DMARC: neither SPF nor DKIM passed for the domain in "
                       "its From address. See the message's DMARC card.", "dmarc" if fix else None, fix)
    return Verdict(UNKNOWN, f"The receiver's DMARC result was '{result or 'none'}', so alignment isn't shown.")


def _status_verdict(name: str, result: CheckResult) -> Verdict:
    if result.status in (Status.PASS, Status.INFO):
        return Verdict(MET, result.summary, name)
    if result.status in (Status.WARN, Status.FAIL):
        return Verdict(NOT_MET, result.summary, name, _first_fix(result))
    return Verdict(UNKNOWN, result.summary or f"The {name} check couldn't run.", name)


def _judge_check_status(rule: Rule, inp: _Input) -> Verdict:
    name = str((rule.judged.get("checks") or [rule.key])[0])
    result = inp.check(name)
    if result is not None:
        return _status_verdict(name, result)
    if inp.message is None:
        return Verdict(NEEDS_MESSAGE, "Not checked yet: a test message shows the address your mail is sent "
                       "from, whose reverse DNS we can then check.")
    return Verdict(CANT_SEE, "This wasn't checked for the servers that send your mail.")


def _judge_tls(rule: Rule, inp: _Input) -> Verdict:
    card = inp.card(str(rule.judged.get("message_check", "delivery")))
    fact = card.detail.get(str(rule.judged.get("message_fact", "tls"))) if card is not None else None
    if fact is True:
        return Verdict(MET, "The test message arrived over an encrypted (TLS) connection.")
    if fact is False:
        return Verdict(NOT_MET, "The test message arrived without encryption (no TLS): turn TLS on at your mail "
                       "service.")
    name = str((rule.judged.get("checks") or ["starttls"])[0])
    result = inp.check(name)
    if result is not None:
        v = _status_verdict(name, result)
        if v.state == MET:
            v.why = ("Your mail servers accept encrypted (TLS) connections. A test message shows whether the "
                     "service that sends your mail uses TLS too.")
        return v
    if inp.message is None:
        return _no_message(rule, inp)
    return Verdict(CANT_SEE, "The test message's headers don't show whether it came over TLS.")


def _judge_message_codes(rule: Rule, inp: _Input) -> Verdict:
    if inp.message is None:
        return _no_message(rule, inp)
    name = str(rule.judged.get("message_check", "delivery"))
    card = inp.card(name)
    if card is None:
        return Verdict(CANT_SEE, "The test message couldn't be judged for this (see the message's cards).")
    codes = tuple(rule.judged.get("codes") or ())
    bad = [f for f in card.findings if f.code in codes and f.severity in (Severity.ERROR, Severity.WARNING)]
    if bad:
        return Verdict(NOT_MET, " ".join(f.message for f in bad), None, _first_fix(card, codes=codes))
    return Verdict(MET, "The test message is fine on this point.")


def _judge_one_click(rule: Rule, inp: _Input) -> Verdict:
    if inp.message is None:
        return _no_message(rule, inp)
    card = inp.card(str(rule.judged.get("message_check", "delivery")))
    if card is None:
        return Verdict(CANT_SEE, "The test message couldn't be judged for this (see the message's cards).")
    if card.detail.get(str(rule.judged.get("message_fact", "one_click"))) is True:
        return Verdict(MET, "The test message offers one-click unsubscribe (RFC 8058).")
    codes = tuple(rule.judged.get("codes") or ())
    said = [f.message for f in card.findings if f.code in codes]
    return Verdict(NOT_MET, (said[0] + " " if said else "") + "If the test message was personal or "
                   "transactional mail, this rule doesn't apply to it: test with your marketing mail.")


def _judge_spam_rate(rule: Rule, inp: _Input) -> Verdict:
    rate = inp.spam_rate
    limit = float(rule.judged.get("limit_percent", 0.3))
    target = float(rule.judged.get("target_percent", 0.1))
    if rate is None or not math.isfinite(rate) or rate < 0:
        return Verdict(CANT_SEE, "Only Gmail and Outlook.com know how many people mark your mail as spam: read "
                       "it in Google Postmaster Tools or Microsoft SNDS and " + inp.front.spam_rate + ".")
    shown = f"{rate:.2f}".rstrip("0").rstrip(".") if rate else "0"
    if rate >= limit:
        return Verdict(NOT_MET, f"Your spam rate of {shown}% is at or above the {limit:g}% limit: mail may be "
                       "refused or sent to spam. Send only to people who asked for your mail, and make "
                       "unsubscribing easy.", facts={"spam_rate": rate})
    if rate >= target:
        return Verdict(MET, f"Your spam rate of {shown}% is under the {limit:g}% limit, but above the "
                       f"{target:g}% the providers ask you to stay under.", facts={"spam_rate": rate})
    return Verdict(MET, f"Your spam rate of {shown}% is under {target:g}%.", facts={"spam_rate": rate})


def _judge_gmail_from(rule: Rule, inp: _Input) -> Verdict:
    if inp.message is None:
        return _no_message(rule, inp)
    domains = {str(d).lower() for d in rule.judged.get("domains") or ("gmail.com", "googlemail.com")}
    from_domain = (inp.message.from_domain or "").lower().rstrip(".")
    if not from_domain:
        return Verdict(UNKNOWN, "The test message has no From address we could read.")
    if from_domain not in domains:
        return Verdict(MET, f"The From address is on {from_domain}, not a Gmail address.")
    card = inp.card(str(rule.judged.get("message_check", "dmarc")))
    result = (card.detail.get("result") if card is not None else None) or ""
    if result == "pass":
        return Verdict(MET, f"The From address is a {from_domain} address and the message passed DMARC, so it was "
                       "sent through Gmail itself.")
    return Verdict(NOT_MET, f"The From address is a {from_domain} address but the message "
                   f"{'failed DMARC' if result == 'fail' else 'did not pass DMARC'}: it was sent from outside Gmail. "
                   "Gmail's DMARC policy sends such mail to spam or refuses it; send from an address on your own "
                   "domain.", "dmarc" if card is not None else None)


def _judge_forwarder(rule: Rule, inp: _Input) -> Verdict:
    if inp.message is None:
        return Verdict(CANT_SEE, "Applies only if you forward mail or run a mailing list. To check it, send a test "
                       "message through your forwarder or list.")
    card = inp.card(str(rule.judged.get("message_check", "arc")))
    chain = card.detail.get("chain") if card is not None else None
    hops = len({c.get("i") for c in chain if isinstance(c, dict)}) if isinstance(chain, list) else 0
    if hops:
        return Verdict(MET, f"The test message carries ARC headers ({hops} hop{'s' if hops != 1 else ''}): the "
                       "services that forwarded it vouch for the checks it passed before.")
    return Verdict(CANT_SEE, "The test message carries no ARC headers, which is right for mail you send yourself. If "
                   "it came through your forwarder or mailing list, that service should add them (and a List-Id "
                   "header, for a list).")


_SUMMED_UP = ("gmail-enforcement",)  # kinds that judge other rules, never themselves


def _judge_gmail_enforcement(rule: Rule, inp: _Input) -> Verdict:
    rules = inp.rules or load_rules()
    verdicts = [(r, _JUDGES[r.kind](r, inp)) for r in rules.rules
                if "google" in r.who and r.required and not r.conditional and r.kind not in _SUMMED_UP]
    failing = [r.label for r, v in verdicts if v.state == NOT_MET]
    if failing:
        return Verdict(NOT_MET, "Gmail may refuse your mail (temporarily, then for good) because of: "
                       f"{_join(failing)}. Fix those rules first.")
    states = {v.state for _, v in verdicts}
    if PENDING in states:
        return Verdict(PENDING, "Waiting for the checks.")
    if UNKNOWN in states:
        return Verdict(UNKNOWN, "Some of Gmail's rules couldn't be checked, so we can't tell yet.")
    if NEEDS_MESSAGE in states:
        return Verdict(NEEDS_MESSAGE, "Nothing DNS shows would make Gmail refuse your mail; a test message shows the "
                       "rest.")
    if CANT_SEE in states:
        return Verdict(CANT_SEE, "Nothing we can see would make Gmail refuse your mail; some rules (such as the spam "
                       "rate) can't be seen from here.")
    return Verdict(MET, "Every Gmail rule we can check is met, so Gmail has no reason to refuse your mail.")


_JUDGES: dict[str, Callable[[Rule, _Input], Verdict]] = {
    "spf-record": _judge_spf,
    "dkim-key": _judge_dkim,
    "spf-or-dkim": _judge_spf_or_dkim,
    "dkim-key-size": _judge_dkim_size,
    "dmarc-record": _judge_dmarc,
    "dmarc-enforcement": _judge_enforcement,
    "message-dmarc": _judge_message_dmarc,
    "check-status": _judge_check_status,
    "tls": _judge_tls,
    "message-codes": _judge_message_codes,
    "one-click": _judge_one_click,
    "spam-rate": _judge_spam_rate,
    "gmail-from": _judge_gmail_from,
    "forwarder": _judge_forwarder,
    "gmail-enforcement": _judge_gmail_enforcement,
}


def judge(rule: Rule, domain_checks: Mapping[str, CheckResult] | None, message: "MessageReport | None" = None,
          *, spam_rate: float | None = None, rules: Rules | None = None, front: FrontEnd = APP) -> Verdict:
    """One rule's verdict (never raises for odd check details: a judge that trips is 'unknown'). ``front``:
    the app or the CLI, whose places the texts name."""
    try:
        return _JUDGES[rule.kind](rule, _Input(domain_checks, message, spam_rate, rules, front))
    except Exception as exc:  # a summary must never break the report
        return Verdict(UNKNOWN, f"We couldn't judge this ({type(exc).__name__}).")


# -- the card --------------------------------------------------------------------------------------


def _severity(rule: Rule) -> Severity:
    if not rule.required:
        return Severity.INFO
    return Severity.ERROR if rule.applies == "all" else Severity.WARNING


def build_checklist(domain_checks: Mapping[str, CheckResult] | None, message: "MessageReport | None" = None,
                    *, spam_rate: float | None = None, rules: Rules | None = None,
                    front: FrontEnd = APP) -> CheckResult:
    """The "checklist" card: each rule with its state, and a finding (with the fix the relevant check
    offers, when it has one) for each rule not met.

    ``spam_rate``: the complaint rate in percent (0.12 means 0.12 %), as Postmaster Tools shows it.
    Status: fail when a rule for all senders is not met, warn when a bulk-sender rule is not met,
    "couldn't check" when a required rule is unknown, pass when every required rule is met, else info
    (some rules still need a test message or can't be seen from here)."""
    rules = rules or load_rules()
    items: list[ChecklistItem] = []
    findings: list[Finding] = []
    for rule in rules.rules:
        v = judge(rule, domain_checks, message, spam_rate=spam_rate, rules=rules, front=front)
        items.append({
            "key": rule.key, "label": rule.label, "who": list(rule.who), "applies": rule.applies,
            "since": rule.since, "since_by": dict(rule.since_by), "since_text": rule.since_text,
            "source": rule.source, "state": v.state,
            "why": v.why, "fix_check": v.fix_check, "required": rule.required, "conditional": rule.conditional,
            "explain": rule.why, "checked": rule.checked, "facts": v.facts,
        })
        if v.state == NOT_MET:
            who = f"asked by {rule.who_words} since {rule.since_words}" if rule.who else "our advice"
            scope = "every sender" if rule.applies == "all" else "bulk senders"
            findings.append(Finding(
                f"checklist.{rule.key}", _severity(rule), f"{rule.label}: {v.why}",
                detail=f"{rule.why} ({'Required' if rule.required else 'Recommended'} for {scope}, {who}. "
                       f"Source: {rule.source}.)",
                rfc=rule.rfc, fix=v.fix))
    status = derive_status(findings)
    # a conditional rule (forwarders, mailing lists) we can't see doesn't hold the verdict back
    required = [i for i in items if i["required"] and not (i["conditional"] and i["state"] == CANT_SEE)]
    if status is Status.PASS:
        if any(i["state"] == UNKNOWN for i in required):
            status = Status.ERROR
        elif not all(i["state"] == MET for i in required):
            status = Status.INFO
    detail: ChecklistDetail = {"items": items, "spam_rate": spam_rate}
    return CheckResult("checklist", status, _summary(items), findings=findings, detail=dict(detail))


def _summary(items: list[ChecklistItem]) -> str:
    counts = {s: sum(1 for i in items if i["state"] == s) for s in STATES}
    if counts[PENDING]:
        return "Checking against the Google, Yahoo and Microsoft sender rules…"
    parts = [f"{counts[MET]} of {len(items)} sender rules met"]
    if counts[NOT_MET]:
        parts.append(f"{counts[NOT_MET]} not met")
    if counts[UNKNOWN]:
        parts.append(f"{counts[UNKNOWN]} couldn't be checked")
    if counts[NEEDS_MESSAGE]:
        parts.append(f"{counts[NEEDS_MESSAGE]} need a test message")
    if counts[CANT_SEE]:
        parts.append(f"{counts[CANT_SEE]} can't be seen from here")
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] + "."


def _month_words(iso: str) -> str:
    parts = iso.split("-")
    try:
        return f"{_MONTHS[int(parts[1]) - 1]} {int(parts[0])}"
    except (IndexError, ValueError):
        return iso


def _join(items: list[str]) -> str:
    if not items:
        return ""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


__all__ = [
    "ChecklistDetail", "ChecklistItem", "build_checklist", "load_rules", "parse_rules", "judge", "Rule", "Rules", "Verdict",
    "MET", "NOT_MET", "NEEDS_MESSAGE", "CANT_SEE", "UNKNOWN", "PENDING", "STATES", "STATE_WORDS",
]
