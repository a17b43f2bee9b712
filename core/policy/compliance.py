"""Compliance profiles: judge one domain check against the rules of a purpose (bulk sender, SOC 2, HIPAA).

The mapping lives in one reviewed data file, ``rules/compliance_profiles.json``; this module only knows
how to evaluate each kind of rule (``test`` in the file). Nothing here does I/O except reading that file.

- ``load_profiles() -> dict[str, Profile]`` (cached; keyed by profile key, the default first).
- ``evaluate(profile, domain_checks, *, message=None, reports_summary=None) -> ProfileVerdict``.

Rule states: ``met``, ``not-met``, ``unknown`` (the check ran but couldn't see: DNS timeout, blocked
port) and ``not-checked`` (the evidence is absent: a check that was not run or has not landed yet, no
test message, no DMARC-report summary). The verdict is ``not-met`` when a required rule is not met,
else ``incomplete`` when a required rule is unknown or not checked (unless the rule says
``if_not_checked: "note"``), else ``met``. Recommended rules never change the verdict.

``reports_summary`` is a plain mapping (the DMARC-report summary's ``to_json()``); we read the number of
reports from ``reports`` / ``report_count`` / ``reports_count`` (an int, or a list whose length counts),
the messages from ``messages`` / ``total_messages`` / ``volume``, and ``days`` when present.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, TypedDict

from ..frontend import APP, FrontEnd
from ..model import CheckResult, Finding, Fix, Severity, Status

PROFILE_FILE = "compliance_profiles.json"
DEFAULT_PROFILE = "bulk-sender"

MET = "met"
NOT_MET = "not-met"
UNKNOWN = "unknown"
NOT_CHECKED = "not-checked"
INCOMPLETE = "incomplete"

STATE_LABELS = {MET: "Met", NOT_MET: "Not met", UNKNOWN: "Couldn't check", NOT_CHECKED: "Not checked",
                INCOMPLETE: "Incomplete"}


class ProfileError(ValueError):
    """The profile file is malformed, or a profile name is unknown."""


@dataclass(frozen=True)
class Rule:
    key: str
    label: str
    check: str  # a check name, "message" or "reports"
    test: str
    params: dict[str, Any]
    level: str  # "required" | "recommended"
    reason: str
    control: str
    findings: tuple[str, ...] = ()
    detail_fields: tuple[str, ...] = ()
    if_not_checked: str = "incomplete"  # | "note"
    source: str = ""
    checked: str = ""

    @property
    def required(self) -> bool:
        return self.level == "required"


@dataclass(frozen=True)
class Profile:
    key: str
    title: str
    description: str
    rules: tuple[Rule, ...]
    sources: tuple[dict[str, str], ...] = ()
    statement: str = ""


class ComplianceRuleDetail(TypedDict):
    """One rule of the profile with its verdict (``RuleVerdict.to_json()``)."""

    key: str
    label: str
    level: str  # required | recommended
    state: str  # met | not-met | unknown | not-checked
    why: str
    reason: str  # why the rule is in the profile
    control: str  # the control it stands for ("" when none)
    fix: dict[str, Any] | None  # ``Fix.to_json()``


class ComplianceDetail(TypedDict):
    """``CheckResult.detail`` of the compliance card (``ProfileVerdict.to_json()``; every key is always there)."""

    profile: str
    title: str
    state: str  # met | not-met | incomplete
    summary: str
    rules: list[ComplianceRuleDetail]
    statement: str


@dataclass
class RuleVerdict:
    key: str
    label: str
    level: str
    state: str
    why: str
    reason: str
    control: str
    fix: Fix | None = None

    def to_json(self) -> ComplianceRuleDetail:
        return {"key": self.key, "label": self.label, "level": self.level, "state": self.state,
                "why": self.why, "reason": self.reason, "control": self.control,
                "fix": self.fix.to_json() if self.fix is not None else None}


@dataclass
class ProfileVerdict:
    profile: str
    title: str
    state: str  # met | not-met | incomplete
    summary: str
    rules: list[RuleVerdict] = field(default_factory=list)
    statement: str = ""

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    def to_json(self) -> ComplianceDetail:
        return {"profile": self.profile, "title": self.title, "state": self.state, "summary": self.summary,
                "rules": [r.to_json() for r in self.rules], "statement": self.statement}


# -- loading --------------------------------------------------------------------------------------


def _rule(raw: Mapping[str, Any]) -> Rule:
    try:
        level = str(raw.get("level", "required"))
        if level not in ("required", "recommended"):
            raise ProfileError(f"rule {raw.get('key')!r}: level must be required or recommended")
        test = str(raw["test"])
        if test not in EVALUATORS:
            raise ProfileError(f"rule {raw.get('key')!r}: unknown test {test!r}")
        return Rule(key=str(raw["key"]), label=str(raw["label"]), check=str(raw["check"]), test=test,
                    params=dict(raw.get("params") or {}), level=level, reason=str(raw["reason"]),
                    control=str(raw["control"]), findings=tuple(str(c) for c in raw.get("findings") or ()),
                    detail_fields=tuple(str(c) for c in raw.get("detail_fields") or ()),
                    if_not_checked=str(raw.get("if_not_checked", "incomplete")),
                    source=str(raw.get("source", "")), checked=str(raw.get("checked", "")))
    except (KeyError, TypeError) as exc:
        raise ProfileError(f"rule {raw.get('key') if isinstance(raw, Mapping) else raw!r}: missing {exc}") from None


def parse_profiles(data: Mapping[str, Any]) -> dict[str, Profile]:
    """Profiles from the file's JSON (raises only ``ProfileError``)."""
    try:
        statement = str(data.get("statement", ""))
        out: dict[str, Profile] = {}
        for p in data["profiles"]:
            out[str(p["key"])] = Profile(
                key=str(p["key"]), title=str(p["title"]), description=str(p.get("description", "")),
                rules=tuple(_rule(r) for r in p["rules"]),
                sources=tuple(dict(s) for s in p.get("sources") or ()), statement=statement)
    except ProfileError:
        raise
    except (KeyError, TypeError, AttributeError) as exc:
        raise ProfileError(f"malformed compliance profile file: {exc!r}") from None
    default = str(data.get("default", DEFAULT_PROFILE))
    if default in out:
        out = {default: out[default], **{k: v for k, v in out.items() if k != default}}
    return out


@lru_cache(maxsize=1)
def _load() -> dict[str, Profile]:
    text = resources.files("inboxready.core.rules").joinpath(PROFILE_FILE).read_text(encoding="utf-8")
    return parse_profiles(json.loads(text))


def load_profiles() -> dict[str, Profile]:
    """Every profile of ``rules/compliance_profiles.json``, the default (bulk-sender) first."""
    return dict(_load())


def get_profile(name: str | Profile) -> Profile:
    if isinstance(name, Profile):
        return name
    profiles = _load()
    if name not in profiles:
        raise ProfileError(f"there is no profile called {name!r}; choose one of: {', '.join(profiles)}")
    return profiles[name]


# -- evaluating -----------------------------------------------------------------------------------

Outcome = tuple[str, str]  # state, why
Evaluator = Callable[["_Evidence", Rule], Outcome]


@dataclass
class _Evidence:
    checks: Mapping[str, CheckResult]
    message: Any  # MessageReport | None
    reports: Mapping[str, Any] | None
    front: FrontEnd = APP


def _missing(name: str) -> Outcome:
    return NOT_CHECKED, f"The {name} check was not part of this run, so there is no evidence for this rule."


def _couldnt(result: CheckResult) -> bool:
    return result.status is Status.ERROR


def _spf_valid(ev: _Evidence, rule: Rule) -> Outcome:
    spf = ev.checks.get("spf")
    if spf is None:
        return _missing("SPF")
    record = spf.detail.get("record")
    if _couldnt(spf) and not record:
        return UNKNOWN, "The SPF record could not be looked up."
    if not record:
        return NOT_MET, "No SPF record is published."
    if spf.status is Status.FAIL:
        return NOT_MET, "An SPF record is published, but receivers will treat it as broken."
    if _couldnt(spf):
        return UNKNOWN, "An SPF record is published, but a lookup it needs failed, so we can't confirm it works."
    return MET, "An SPF record is published and valid."


def _usable_keys(dkim: CheckResult) -> list[Mapping[str, Any]]:
    found = [k for k in dkim.detail.get("found", []) if isinstance(k, Mapping) and not k.get("revoked")]
    return [k for k in found if k.get("status") != "fail" and k.get("key_type")]


def _dkim_key_found(ev: _Evidence, rule: Rule) -> Outcome:
    dkim = ev.checks.get("dkim")
    if dkim is None:
        return _missing("DKIM")
    usable = _usable_keys(dkim)
    if usable:
        names = ", ".join(sorted({str(k.get("selector")) for k in usable}))
        return MET, f"DKIM key found (selector {names})."
    if _couldnt(dkim):
        return UNKNOWN, "The DKIM keys could not be looked up."
    found = [k for k in dkim.detail.get("found", []) if isinstance(k, Mapping) and not k.get("revoked")]
    if found:
        return NOT_MET, "A DKIM key was found, but it is too weak or broken to be trusted."
    tried = dkim.detail.get("selectors_tried", 0)
    return UNKNOWN, (f"No DKIM key was found among the {tried} selectors we tried; the domain may use a selector "
                     "we don't know. Check again with your selector.")


def _dkim_min_bits(ev: _Evidence, rule: Rule) -> Outcome:
    dkim = ev.checks.get("dkim")
    if dkim is None:
        return _missing("DKIM")
    need = int(rule.params.get("bits", 2048))
    usable = _usable_keys(dkim)
    if not usable:
        if _couldnt(dkim):
            return UNKNOWN, "The DKIM keys could not be looked up, so their size is unknown."
        return UNKNOWN, "No working DKIM key was found, so there is no key size to measure."
    short = [k for k in usable if k.get("key_type") == "rsa" and int(k.get("key_bits") or 0) < need]
    if short:
        parts = ", ".join(f"'{k.get('selector')}' ({k.get('key_bits')} bits)" for k in short)
        return NOT_MET, f"Shorter than {need} bits: {parts}. Ask your mail service for a {need}-bit key."
    sizes = ", ".join(f"'{k.get('selector')}' ({'Ed25519' if k.get('key_type') == 'ed25519' else str(k.get('key_bits')) + ' bits'})"
                      for k in usable)
    return MET, f"Every DKIM key found is at least {need} bits or Ed25519: {sizes}.{_dkim_partial(dkim)}"


def _dkim_partial(dkim: CheckResult) -> str:
    """A verdict over the keys found says so when some selectors couldn't be looked up."""
    unchecked = [x for x in dkim.detail.get("unchecked") or [] if isinstance(x, str)]
    if not unchecked:
        return ""
    tried = dkim.detail.get("selectors_tried") or len(unchecked)
    return (f" ({len(unchecked)} of the {tried} selectors couldn't be checked, so a key there isn't "
            "counted.)")


_POLICY_ORDER = {"none": 0, "quarantine": 1, "reject": 2}


def _dmarc_policy_at_least(ev: _Evidence, rule: Rule) -> Outcome:
    dmarc = ev.checks.get("dmarc")
    if dmarc is None:
        return _missing("DMARC")
    want = str(rule.params.get("policy", "none"))
    allow_testing = bool(rule.params.get("allow_testing", True))
    policy = dmarc.detail.get("policy")
    record = dmarc.detail.get("record")
    if _couldnt(dmarc) and not policy:
        return UNKNOWN, "The DMARC record could not be looked up."
    if not record:
        return NOT_MET, "No DMARC record is published."
    if policy not in _POLICY_ORDER:
        return NOT_MET, "A DMARC record exists but it is not valid, so receivers ignore it."
    if _POLICY_ORDER[policy] < _POLICY_ORDER.get(want, 0):
        if policy == "none":
            return NOT_MET, (f"DMARC is only monitoring (p=none): forged mail is still delivered. This profile "
                             f"needs p={want} or stricter.")
        return NOT_MET, f"DMARC is at p={policy}; this profile needs p={want} or stricter."
    if dmarc.detail.get("testing") and not allow_testing and policy != "none":
        return NOT_MET, (f"DMARC says p={policy} but is in test mode (t=y), so receivers apply a weaker policy. "
                         "Remove t=y.")
    return MET, f"A DMARC record is published with p={policy}."


def _dmarc_rua(ev: _Evidence, rule: Rule) -> Outcome:
    dmarc = ev.checks.get("dmarc")
    if dmarc is None:
        return _missing("DMARC")
    if _couldnt(dmarc) and not dmarc.detail.get("record"):
        return UNKNOWN, "The DMARC record could not be looked up."
    rua = [str(u) for u in dmarc.detail.get("rua") or []]
    if not dmarc.detail.get("record"):
        return NOT_MET, "No DMARC record is published, so no reports are requested."
    if not rua:
        return NOT_MET, "The DMARC record asks for no reports (no rua= address)."
    return MET, "Aggregate reports are requested at " + ", ".join(rua) + "."


def _count(summary: Mapping[str, Any], *names: str) -> int | None:
    for n in names:
        v = summary.get(n)
        if isinstance(v, bool):
            continue
        if isinstance(v, int):
            return v
        if isinstance(v, (list, tuple)):
            return len(v)
    return None


def _reports_collected(ev: _Evidence, rule: Rule) -> Outcome:
    if ev.reports is None:
        return NOT_CHECKED, ("No DMARC-report summary was included. Import your DMARC reports and export the "
                             "report again to show them as monitoring evidence.")
    n = _count(ev.reports, "reports", "report_count", "reports_count")
    msgs = _count(ev.reports, "messages", "total_messages", "volume")
    days = ev.reports.get("days")
    period = f" over the last {days} days" if isinstance(days, int) and not isinstance(days, bool) else ""
    if n is None and msgs is None:
        return UNKNOWN, "A DMARC-report summary was included but it doesn't say how many reports it covers."
    if not n and not msgs:
        return NOT_MET, f"No DMARC reports were received{period}."
    what = f"{n} report{'s' if n != 1 else ''}" if n is not None else "reports"
    if msgs is not None:
        what += f" covering {msgs} message{'s' if msgs != 1 else ''}"
    return MET, f"{what} collected{period}."


def _hosts(result: CheckResult) -> list[Mapping[str, Any]]:
    return [h for h in result.detail.get("hosts", []) if isinstance(h, Mapping)]


def _starttls_state(result: CheckResult) -> Outcome:
    hosts = _hosts(result)
    no = [str(h.get("host")) for h in hosts if h.get("starttls") is False]
    if no:
        return NOT_MET, "These mail servers don't offer encryption (STARTTLS): " + ", ".join(no) + "."
    broken = [str(h.get("host")) for h in hosts if h.get("starttls") is True and h.get("tls_version") is None
              and h.get("cert_valid") is not False and h.get("error")]
    if broken:
        return NOT_MET, "These mail servers offer STARTTLS but the secure connection fails: " + ", ".join(broken) + "."
    if result.detail.get("blocked"):
        return UNKNOWN, "Port 25 was blocked from this network, so STARTTLS could not be tested."
    yes = [str(h.get("host")) for h in hosts if h.get("starttls") is True]
    if yes and len(yes) == len(hosts):
        bad_cert = [str(h.get("host")) for h in hosts if h.get("cert_valid") is False]
        note = (" The certificate of " + ", ".join(bad_cert) + " is not valid (see the STARTTLS findings): mail is "
                "still encrypted, but senders that insist on a valid certificate will refuse it.") if bad_cert else ""
        return MET, "Every mail server offers STARTTLS: " + ", ".join(yes) + "." + note
    if yes:
        return UNKNOWN, "Some mail servers offer STARTTLS (" + ", ".join(yes) + "); the others couldn't be tested."
    if not hosts and not _couldnt(result):
        return MET, "The domain receives no mail, so there is no server to encrypt."
    return UNKNOWN, "The mail servers could not be tested for STARTTLS."


def _starttls_offered(ev: _Evidence, rule: Rule) -> Outcome:
    result = ev.checks.get("starttls")
    if result is None:
        return _missing("STARTTLS")
    return _starttls_state(result)


def _message_tls_value(message: Any) -> bool | None:
    delivery = message.checks.get("delivery") if message is not None else None
    if delivery is None:
        return None
    tls = delivery.detail.get("tls")
    return tls if isinstance(tls, bool) else None


def _message_tls(ev: _Evidence, rule: Rule) -> Outcome:
    if ev.message is None:
        return NOT_CHECKED, f"Needs a test message ({ev.front.test_message}): no round-trip result was included."
    tls = _message_tls_value(ev.message)
    if tls is True:
        return MET, "The test message arrived over an encrypted (TLS) connection."
    if tls is False:
        return NOT_MET, "The test message arrived without encryption (no TLS)."
    return UNKNOWN, "The test message doesn't show whether it arrived over TLS."


def _message_dmarc_pass(ev: _Evidence, rule: Rule) -> Outcome:
    if ev.message is None:
        return NOT_CHECKED, f"Needs a test message ({ev.front.test_message}): no round-trip result was included."
    dmarc = ev.message.checks.get("dmarc")
    if dmarc is None or dmarc.status is Status.ERROR:
        return UNKNOWN, "The receiver's DMARC verdict on the test message is unknown."
    if dmarc.status is Status.PASS:
        return MET, "The test message passed DMARC at the receiver."
    return NOT_MET, "The test message did not pass DMARC at the receiver."


def _message_one_click(ev: _Evidence, rule: Rule) -> Outcome:
    if ev.message is None:
        return NOT_CHECKED, "Needs a test message from your newsletter tool: no round-trip result was included."
    delivery = ev.message.checks.get("delivery")
    if delivery is None:
        return UNKNOWN, "The test message's headers were not analysed."
    if delivery.detail.get("one_click"):
        return MET, "The test message offers one-click unsubscribe."
    return NOT_MET, "The test message doesn't offer one-click unsubscribe (fine for personal or transactional mail)."


def _tls_in_transit(ev: _Evidence, rule: Rule) -> Outcome:
    """Both directions: the MX hosts offer STARTTLS (mail coming in) and a test message arrived over TLS
    (mail going out). Met only with both; a missing one makes the rule "not checked"."""
    parts: list[Outcome] = []
    missing: list[str] = []
    result = ev.checks.get("starttls")
    if result is not None:
        parts.append(_starttls_state(result))
    else:
        missing.append("the STARTTLS check of your mail servers (mail coming in)")
    if ev.message is not None:
        parts.append(_message_tls(ev, rule))
    else:
        missing.append("a test message (mail going out)")
    for state in (NOT_MET, UNKNOWN):
        bad = [why for s, why in parts if s == state]
        if bad:
            return state, " ".join(bad)
    if missing:
        done = " ".join(why for _, why in parts)
        return NOT_CHECKED, ((done + " ") if done else "") + "No evidence yet from " + " or ".join(missing) + "."
    return MET, " ".join(why for _, why in parts)


def _mta_sts_enforce(ev: _Evidence, rule: Rule) -> Outcome:
    result = ev.checks.get("mta_sts")
    if result is None:
        return _missing("MTA-STS")
    policy = result.detail.get("policy")
    mode = policy.get("mode") if isinstance(policy, Mapping) else None
    if mode == "enforce":
        return MET, "MTA-STS is published in enforce mode."
    if _couldnt(result) and not mode:
        return UNKNOWN, "The MTA-STS policy could not be fetched."
    if mode:
        return NOT_MET, f"MTA-STS is published in {mode} mode, so senders still fall back to unencrypted delivery."
    return NOT_MET, "No MTA-STS policy is published."


def _rdns_confirmed(ev: _Evidence, rule: Rule) -> Outcome:
    """Forward-confirmed reverse DNS of the sending addresses: those seen sending a test message decide;
    without them, the SPF-listed addresses can only confirm (a missing PTR there may be an unused address)."""
    result = ev.checks.get("rdns")
    if result is None:
        return _missing("reverse DNS")
    hosts = _hosts(result)
    sent = [h for h in hosts if h.get("source") == "message"]
    listed = [h for h in hosts if h.get("source") == "spf"]
    for group, decisive in ((sent, True), (listed, False)):
        if not group:
            continue
        bad = [str(h.get("ip")) for h in group if h.get("confirmed") is False]
        open_ = [str(h.get("ip")) for h in group if h.get("confirmed") is None]
        if bad and decisive:
            return NOT_MET, "These sending addresses have no matching reverse DNS (PTR): " + ", ".join(bad) + "."
        if bad:
            return UNKNOWN, ("Some addresses in your SPF record have no matching reverse DNS (" + ", ".join(bad[:5])
                             + "); a test message shows which addresses really send.")
        if open_:
            return UNKNOWN, "The reverse DNS of " + ", ".join(open_[:5]) + " could not be looked up."
        return MET, ("The addresses that sent the test message" if decisive else "The addresses in your SPF record") \
            + " have forward-confirmed reverse DNS."
    if not hosts and _couldnt(result):
        return UNKNOWN, "The reverse DNS lookups failed."
    return NOT_CHECKED, ("No sending addresses are known yet (none listed one by one in SPF, no test message); "
                         "the receiving mail servers' reverse DNS doesn't count for this rule.")


def _dnssec_valid(ev: _Evidence, rule: Rule) -> Outcome:
    result = ev.checks.get("dnssec")
    if result is None:
        return _missing("DNSSEC")
    signed, valid = result.detail.get("signed"), result.detail.get("valid")
    if signed is True and valid is True:
        return MET, "The domain is signed with DNSSEC and the signatures validate."
    if signed is True and valid is False:
        return NOT_MET, "The domain is signed with DNSSEC but the signatures don't validate (see the DNSSEC findings)."
    if signed is False:
        return NOT_MET, "The domain is not signed with DNSSEC, so DNS answers about it can be forged."
    return UNKNOWN, "Whether the domain is signed with DNSSEC could not be checked."


def _tls_rpt_present(ev: _Evidence, rule: Rule) -> Outcome:
    result = ev.checks.get("tls_rpt")
    if result is None:
        return _missing("TLS reporting")
    if result.detail.get("record") and result.detail.get("rua"):
        return MET, "TLS reports are requested at " + ", ".join(str(u) for u in result.detail.get("rua") or []) + "."
    if _couldnt(result):
        return UNKNOWN, "The TLS reporting record could not be looked up."
    return NOT_MET, "No TLS reporting record (_smtp._tls) is published, so failed encrypted deliveries go unnoticed."


EVALUATORS: dict[str, Evaluator] = {
    "rdns_confirmed": _rdns_confirmed,
    "dnssec_valid": _dnssec_valid,
    "tls_rpt_present": _tls_rpt_present,
    "spf_valid": _spf_valid,
    "dkim_key_found": _dkim_key_found,
    "dkim_min_bits": _dkim_min_bits,
    "dmarc_policy_at_least": _dmarc_policy_at_least,
    "dmarc_rua": _dmarc_rua,
    "reports_collected": _reports_collected,
    "starttls_offered": _starttls_offered,
    "message_tls": _message_tls,
    "message_dmarc_pass": _message_dmarc_pass,
    "message_one_click": _message_one_click,
    "tls_in_transit": _tls_in_transit,
    "mta_sts_enforce": _mta_sts_enforce,
}


def _fix_for(rule: Rule, ev: _Evidence) -> Fix | None:
    """The fix the check itself suggests for one of the rule's finding codes (first with a fix)."""
    results: list[CheckResult] = []
    if rule.check in ev.checks:
        results.append(ev.checks[rule.check])
    if ev.message is not None:
        results.extend(ev.message.checks.values())
    for code in rule.findings:
        for r in results:
            for f in r.findings:
                if f.code == code and f.fix is not None and f.severity is not Severity.UNKNOWN:
                    return f.fix
    # DMARC: the next record of the ladder answers "not strict enough" when no listed finding carries it
    if rule.check == "dmarc" and "dmarc" in ev.checks:
        for f in ev.checks["dmarc"].findings:
            if f.fix is not None and f.code.startswith("dmarc."):
                return f.fix
    return None


def evaluate(profile: str | Profile, domain_checks: Mapping[str, CheckResult], *, message: Any = None,
             reports_summary: Mapping[str, Any] | None = None, front: FrontEnd = APP) -> ProfileVerdict:
    """Judge ``domain_checks`` (a DomainReport's ``checks``) against ``profile``. ``message``: the latest
    round-trip ``MessageReport``; ``reports_summary``: the DMARC-report summary as a plain mapping;
    ``front``: the app or the CLI, whose places the texts name."""
    prof = get_profile(profile)
    ev = _Evidence(domain_checks, message, reports_summary, front)
    rules: list[RuleVerdict] = []
    for rule in prof.rules:
        try:
            state, why = EVALUATORS[rule.test](ev, rule)
        except Exception as exc:  # a malformed detail must not hide the rest of the verdict
            state, why = UNKNOWN, f"This rule could not be evaluated ({type(exc).__name__})."
        fix = _fix_for(rule, ev) if state == NOT_MET else None
        rules.append(RuleVerdict(rule.key, rule.label, rule.level, state, why, rule.reason, rule.control, fix))

    required = {r.key: r for r in prof.rules if r.required}
    req = [v for v in rules if v.key in required]
    failing = [v for v in req if v.state == NOT_MET]
    open_ = [v for v in req if v.state == UNKNOWN
             or (v.state == NOT_CHECKED and required[v.key].if_not_checked != "note")]
    noted = [v for v in req if v.state == NOT_CHECKED and required[v.key].if_not_checked == "note"]
    if failing:
        state = NOT_MET
        summary = (f"Does not meet the {prof.title} profile: {len(failing)} required "
                   f"rule{'s' if len(failing) != 1 else ''} not met ({_join([v.label for v in failing])}).")
    elif open_:
        state = INCOMPLETE
        summary = (f"Incomplete for the {prof.title} profile: no evidence yet for "
                   f"{_join([v.label for v in open_])}.")
    else:
        state = MET
        summary = f"Meets the required rules of the {prof.title} profile."
        if noted:
            summary = (f"Meets the required rules of the {prof.title} profile that DNS can show; "
                       f"{len(noted)} more need{'s' if len(noted) == 1 else ''} a test message "
                       f"({_join([v.label for v in noted])}).")
    from .bulk import failing_beyond  # a check failing outside the profile qualifies its verdict

    beyond = failing_beyond(domain_checks, {r.check for r in prof.rules
                                            if any(v.key == r.key and v.state == NOT_MET for v in rules)})
    if beyond:
        summary += f" Outside this profile, {beyond}"
    return ProfileVerdict(prof.key, prof.title, state, summary, rules, prof.statement)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


__all__ = [
    "ComplianceDetail",
    "ComplianceRuleDetail",
    "DEFAULT_PROFILE",
    "INCOMPLETE",
    "MET",
    "NOT_CHECKED",
    "NOT_MET",
    "UNKNOWN",
    "Profile",
    "ProfileError",
    "ProfileVerdict",
    "Rule",
    "RuleVerdict",
    "evaluate",
    "get_profile",
    "load_profiles",
    "parse_profiles",
]


def verdict_result(verdict: ProfileVerdict, checks: Mapping[str, CheckResult] | None = None) -> CheckResult:
    """The verdict as a card (``CheckResult`` named "compliance"): pass when met, warn when a required rule
    is not met (with that rule's fix), "couldn't check" when a core check it was judged from (``checks``)
    couldn't run, info while evidence is only missing (e.g. no test message yet, a DKIM selector we don't
    know). ``detail`` is ``verdict.to_json()``."""
    status = {MET: Status.PASS, NOT_MET: Status.WARN}.get(verdict.state, Status.INFO)
    if status is Status.INFO and checks and any(
            c.status is Status.ERROR for n, c in checks.items() if n in ("spf", "dkim", "dmarc", "mx")):
        status = Status.ERROR  # incomplete because the records couldn't be looked up: "couldn't check"
    findings = [
        Finding(f"compliance.{r.key}", Severity.WARNING if r.level == "required" else Severity.INFO,
                f"{r.label}: {r.why}", detail=f"{r.reason} ({r.control})" if r.control else r.reason,
                fix=r.fix)
        for r in verdict.rules if r.state == NOT_MET
    ]
    return CheckResult(name="compliance", status=status, summary=verdict.summary,
                       findings=findings, detail=dict(verdict.to_json()))
