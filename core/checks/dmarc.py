"""The DMARC check (RFC 9989; records written for RFC 7489 are read too).

Discovery follows RFC 9989 §4.10 (``records.dmarc_walk``): ``_dmarc.<domain>`` first, then the DNS Tree
Walk up the labels (at most 8 queries; names longer than 8 labels jump to their last 7 labels), stopping at
a record with ``psd=y`` or ``psd=n``. From the records found we pick the Organizational Domain (§4.10.2) and the
record that applies (§4.10.1): the domain's own, else the Organizational Domain's, else the Public
Suffix Domain's. A subdomain that inherits a record gets ``sp`` (or ``np`` if it does not exist).

Then: the record's syntax and tags, the rollout stage (monitoring → quarantine → reject), report
addresses (with the external-destination verification of the aggregate-reporting spec), and one
suggested record: the exact next record to publish at ``_dmarc.<domain>``.

``detail["stage"]`` is ``none`` (no record applies), ``monitoring``, ``quarantine`` or ``reject``, and
``unknown`` when a lookup failed before the policy was known ("couldn't check" is never "no DMARC").
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field, replace
from typing import Any, TypedDict

from ..context import CheckContext
from ..dns.client import REFERRAL_ERROR, DnsAnswer, Outcome
from ..model import CheckResult, Finding, Fix, Severity, Status, derive_status
from ..records.dkim_key import DkimKeyError, normalize_selector, parse_dkim_key
from ..records.dkim_selectors import load_catalog
from ..records.dmarc_build import KEEP_URIS, build_record
from ..records.dmarc_parse import (
    DmarcProblem, DmarcRecord, DmarcSyntaxError, add_missing_mailto, fix_tag_typos, is_dmarc_record,
    looks_like_dmarc, parse_dmarc, repair_dmarc, tidy_dmarc,
)
from ..records.dmarc_walk import (
    DmarcWalkStep, Walk, WalkStep, failed_lookup_words, organizational_domain, policy_step, tree_walk,
)
from ..records.dmarc_walk import psd_step as _psd_step
from ..records.misplaced import doubled_name, zone_guesses
from ..records.misplaced import unquote_record as _unquote_record
from .posture import DMARC_REJECT, mail_use

class DmarcNextRecord(TypedDict):
    """The record to publish for the next stage (the same as the fix the findings carry)."""

    host: str
    type: str  # "TXT"
    value: str


class DmarcDestination(TypedDict):
    """A report address outside the domain, and whether it said yes (``<domain>._report._dmarc.<dest>``)."""

    destination: str
    tags: list[str]  # rua, ruf
    name: str  # the name receivers ask
    authorized: bool | None  # None: couldn't check


class DmarcDetail(TypedDict):
    """``CheckResult.detail`` of the DMARC check (every key is always there)."""

    record: str | None  # the record that applies, as published
    found_at: str | None  # "_dmarc.<policy domain>"
    policy_domain: str | None
    organizational_domain: str | None
    policy: str | None  # the policy that applies to the checked name: none | quarantine | reject
    subdomain_policy: str | None  # sp
    np: str | None
    testing: bool  # t=y
    stage: str  # none | monitoring | quarantine | reject | unknown (a lookup failed: never "none")
    next_record: DmarcNextRecord | None
    rua: list[str]
    ruf: list[str]
    tags: dict[str, str]  # every tag as written
    inherited: bool  # the record is the Organizational Domain's (or a PSD's), not the domain's own
    external_destinations: list[DmarcDestination]
    walk: list[DmarcWalkStep]


RFC = "RFC 9989"
RFC_WALK = "RFC 9989 §4.10"
RFC_DISCOVERY = "RFC 9989 §4.10.1"
RFC_ORG = "RFC 9989 §4.10.2"
RFC_TAGS = "RFC 9989 §4.7"
RFC_GRAMMAR = "RFC 9989 §4.8"
PCT_RFC = "RFC 9989 Appendix A.6"
RFC_EXTERNAL = "RFC 9990 §3 (Verifying External Destinations)"
STRENGTH = {"none": 0, "quarantine": 1, "reject": 2}
STAGES = {None: "none", "none": "monitoring", "quarantine": "quarantine", "reject": "reject"}
# Report addresses: a suggested record keeps at most KEEP_URIS (``records.dmarc_build``); a record listing more
# than MANY_URIS, or longer than LARGE_RECORD bytes, is warned about (a 54 KB record with 1,900 addresses
# is a mistake, or an attack on whoever sends reports), and only MAX_DESTINATIONS outside destinations
# are verified in DNS.
MANY_URIS = 10
LARGE_RECORD = 1024
MAX_DESTINATIONS = 10


# -- the tree walk's findings ------------------------------------------------------------------------


# -- the suggested record --------------------------------------------------------------------------


@dataclass
class Suggestion:
    host: str
    value: str
    notes: list[str]
    action: str = "publish"
    kind: str = "record"  # Fix.kind: "suggestion" when it is right only if the person confirms a fact

    def fix(self) -> Fix:
        return Fix(self.host, "TXT", self.value, action=self.action, note=" ".join(n for n in self.notes if n),
                   kind=self.kind)

    def to_json(self) -> DmarcNextRecord:
        return {"host": self.host, "type": "TXT", "value": self.value}


def _weaker(a: str | None, b: str | None) -> bool:
    return STRENGTH.get(a or "none", 0) < STRENGTH.get(b or "none", 0)


def _report_address_findings(st: _State, rec: DmarcRecord) -> None:
    """Too many report addresses, or a record too large for DNS to carry well."""
    for tag, uris in (("rua", rec.rua), ("ruf", rec.ruf)):
        n = len(uris)
        if n > KEEP_URIS:
            many = n > MANY_URIS
            st.add(_f("many-report-addresses", Severity.WARNING if many else Severity.INFO,
                      f"{tag}= lists {n} report addresses. Receivers only promise to send reports to two of them, "
                      "so the others may get nothing."
                      + (" A list this long is almost certainly a mistake (or aimed at whoever sends the reports); "
                         "keep the one or two addresses you actually read." if many else ""),
                      f"{tag}: " + ", ".join(u.uri[:80] for u in uris[:5]) + (" …" if n > 5 else ""),
                      "RFC 9989 §4.7 (rua, ruf)"))
    size = len(rec.raw.encode("utf-8", "replace"))
    if size > LARGE_RECORD:
        st.add(_f("record-too-large", Severity.WARNING,
                  f"The DMARC record is {size:,} bytes long; a normal one is well under 300. An answer this large "
                  "needs DNS over TCP, and some receivers give up on it and act as if you had no DMARC record. "
                  "Keep only the tags you need.", f"{rec.raw[:200]} …", RFC_TAGS))


def _usable_rua(rec: DmarcRecord) -> list[Any]:
    """The rua= addresses reports can actually go to (mailto:)."""
    return [u for u in rec.rua if u.is_mailto]


# -- the check -------------------------------------------------------------------------------------


def _f(code: str, sev: Severity, message: str, detail: str = "", rfc: str = RFC) -> Finding:
    return Finding(f"dmarc.{code}", sev, message, detail=detail, rfc=rfc)


def _problem_finding(prob: DmarcProblem, rec: DmarcRecord, where: str, error: bool) -> Finding:
    """A parser problem as a finding."""
    detail = f"Record at {where}: {rec.raw}"
    code = prob.code
    if code == "historic-tag":
        return _historic_finding(prob, rec, detail)
    if error and prob.tolerated:
        return _f(code, Severity.WARNING,
                  f"Your DMARC record has a slip that receivers get past: {prob.message[:1].lower()}"
                  f"{prob.message[1:]} They still apply the "
                  "record as you meant it, so this is only a tidy-up.", detail, RFC_TAGS)
    if error and code == "invalid-uri":
        # receivers skip an address they can't use and still apply the policy: like a missing rua, a warning
        none_left = (not _usable_rua(rec)) if prob.tag == "rua" else False
        return _f(code, Severity.WARNING, f"Your DMARC record has a mistake: {prob.message}"
                  + (" With no other valid report address, you get no reports." if none_left else ""),
                  detail, RFC_GRAMMAR)
    if error:
        sev = Severity.ERROR
        if code == "invalid-policy":
            effect = ("Because of this, receivers treat the whole record as p=none (monitoring only)."
                      if rec.rua else "Because of this, and with no valid report address, receivers skip DMARC "
                      "for this domain entirely.")
            return _f(code, sev, f"{prob.message} {effect}", detail, RFC_DISCOVERY)
        if code == "no-policy":
            return _f(code, sev, prob.message, detail, RFC_DISCOVERY)
        return _f(code, sev, f"Your DMARC record has a mistake: {prob.message}", detail, RFC_GRAMMAR)
    sev = {"p-missing": Severity.WARNING, "p-not-second": Severity.WARNING,
           "leading-whitespace": Severity.WARNING, "non-mailto-uri": Severity.WARNING,
           "uri-trailing-dot": Severity.WARNING}.get(code, Severity.INFO)
    rfc = {"p-missing": RFC_DISCOVERY, "unknown-tag": RFC_TAGS}.get(code, RFC_GRAMMAR)
    return _f(code, sev, prob.message, detail, rfc)


def _historic_finding(prob: DmarcProblem, rec: DmarcRecord, detail: str) -> Finding:
    tag, value = prob.tag or "", (prob.value or "").strip()
    if tag != "pct":
        what = {"rf": "the format of failure reports", "ri": "how often aggregate reports are sent"}.get(tag, tag)
        return _f("historic-tag", Severity.INFO,
                  f"{tag}={value} ({what}) was removed from DMARC by RFC 9989 in 2026 and is ignored by current "
                  "receivers. It does no harm, but you can delete it.", detail, RFC_TAGS)
    try:
        pct = int(value)
    except ValueError:
        pct = -1
    t_y = ("Its replacement is t=y (test mode), the successor of pct=0: receivers then handle failing mail one "
           "step more gently than your p= says (quarantine like none, reject like quarantine) while you watch "
           "the reports.")
    if pct == 100:
        return _f("historic-tag", Severity.INFO,
                  "pct=100 was the old default and changes nothing; RFC 9989 removed the pct tag, so you can "
                  "delete it.", detail, PCT_RFC)
    if not 0 <= pct <= 99:
        return _f("historic-tag", Severity.INFO,
                  f"pct={value} was never a valid percentage, and RFC 9989 removed pct anyway; receivers ignore "
                  "it. Delete it.", detail, PCT_RFC)
    if rec.p in (None, "none"):
        return _f("historic-tag", Severity.INFO,
                  f"pct={pct} has no effect with p=none, and RFC 9989 removed pct. Delete it.", detail,
                  PCT_RFC)
    meant = ("pct=0 asked receivers to apply your p=%s policy to none of the failing mail, which many treated "
             "as a trial mode." % rec.p) if pct == 0 else (
             f"pct={pct} asked receivers to apply your p={rec.p} policy to only {pct}% of failing mail.")
    return _f("historic-tag", Severity.WARNING,
              f"{meant} RFC 9989 (2026) removed pct because receivers applied it unreliably: those that follow "
              f"the new standard apply p={rec.p} to all failing mail, while older ones may still use the "
              "percentage, so providers treat your mail differently. Many setup guides still describe a gradual "
              "pct rollout; the standard no longer does. " + t_y,
              detail, "RFC 9989 §4.7 (t), Appendix A.6")


@dataclass
class _State:
    """Everything the check has worked out; turned into the CheckResult at the end."""

    domain: str
    findings: list[Finding] = field(default_factory=list)
    record: DmarcRecord | None = None
    policy_domain: str | None = None
    org: str | None = None
    policy: str | None = None
    sub_policy: str | None = None
    np: str | None = None
    testing: bool = False
    own: bool = False
    via_psd: bool = False
    suggestion: Suggestion | None = None
    external: list[DmarcDestination] = field(default_factory=list)
    records_seen: list[str] = field(default_factory=list)
    intent: DmarcRecord | None = None  # the domain's own (misplaced or duplicated) record we build on
    mail: str | None = None  # mx.mail_use(): "no-mail", "unused", "no-inbox" or None
    exists: bool | None = True  # False: the checked name does not exist (NXDOMAIN)
    policy_tag: str = "p"  # the tag whose policy applies: p, or sp / np for an inheriting subdomain
    reports_blocked: bool = False  # every rua address is external and not authorised: no reports arrive
    slips: list[Finding] = field(default_factory=list)  # tolerated slips whose fix is the corrected record
    removals: list[Fix] = field(default_factory=list)  # records the suggested record's fix deletes with it
    nxdomain: bool = False  # the checked name does not exist (its MX lookup said NXDOMAIN)
    failed_query: str = ""  # the tree walk's lookup that failed before the policy was known (_dmarc.example)

    @property
    def no_mail(self) -> bool:
        """The domain sends no mail (it says so), or looks unused (no MX and no SPF)."""
        return self.mail in ("no-mail", "unused")

    def add(self, f: Finding) -> None:
        self.findings.append(f)


async def _exists(ctx: CheckContext, walk: Walk) -> bool | None:
    """Does the checked domain exist (RFC 8020: NXDOMAIN means no)? ``None`` if we couldn't tell."""
    first = walk.steps[0] if walk.steps else None
    if first is not None and (first.answer.outcome in (Outcome.ANSWER, Outcome.NODATA) or first.answer.cname_chain):
        return True  # _dmarc.<domain> exists, so <domain> does too
    ans = await ctx.dns.query(walk.domain, "MX")  # MX: shared with the MX check through the cache
    if ans.failed:
        return None
    return ans.outcome is not Outcome.NXDOMAIN


async def check(ctx: CheckContext) -> CheckResult:
    """Check the DMARC set-up of ``ctx.domain``. Never raises for DNS trouble or bad records."""
    domain = ctx.domain.strip().rstrip(".").lower()
    st = _State(domain)
    apex_task = asyncio.ensure_future(ctx.dns.query(domain, "TXT")) if domain else None
    mx_task = asyncio.ensure_future(ctx.dns.query(domain, "MX")) if domain else None  # shared with MX
    try:
        walk = await tree_walk(ctx.dns, domain)
        apex = await apex_task if apex_task is not None else None
        mx_ans = await mx_task if mx_task is not None else None
    finally:
        for task in (apex_task, mx_task):
            if task is not None and not task.done():
                task.cancel()
    if apex is not None and mx_ans is not None:
        st.mail = mail_use(mx_ans, apex)
    st.nxdomain = mx_ans is not None and mx_ans.outcome is Outcome.NXDOMAIN

    first = walk.steps[0] if walk.steps else None
    if first is None or (walk.failed is first):
        ans = first.answer if first else None
        why = ans.describe if ans else "the domain name is empty"
        then = ("Receivers can't read it either until that is fixed." if ans is not None and ans.lasting
                and not ans.error.startswith(REFERRAL_ERROR) else
                "This says nothing about whether the record is right; try again later or with another DNS server.")
        st.failed_query = first.query if first is not None else ""
        st.add(_f("lookup-failed", Severity.UNKNOWN,
                  f"We couldn't look up the DMARC record of {domain or 'this domain'}: {why}. {then}",
                  f"TXT _dmarc.{domain}: {ans.outcome if ans else 'not asked'}", RFC_WALK))
        return _result(st, walk)

    _inspect_own_name(st, first, apex)
    author = first.record
    doubled = await _doubled(ctx, domain) if author is None and not (first.dmarc or first.broken) else []
    intended = author is None and _misplaced(st, first, apex, doubled)
    st.org = organizational_domain(walk)
    org_step = walk.step(st.org)
    psd_step = _psd_step(walk)

    # A failed lookup of the top-level domain's _dmarc name (only a registry's psd=y policy lives there)
    # can't change the advice for a domain without its own record, so it doesn't stop the check.
    soft = walk.failed is not None and (author is not None or "." not in walk.failed.name)
    if author is not None:
        st.record, st.policy_domain, st.own = author, domain, True
    elif walk.failed is not None and not soft:  # RFC 9989 §4.10.1: the policy is unknown, not absent
        st.failed_query = walk.failed.query
        st.add(_f("lookup-failed", Severity.UNKNOWN,
                  failed_lookup_words(walk) + " Until then we can't say which DMARC policy applies.",
                  f"TXT {walk.failed.query}: {walk.failed.answer.outcome}", RFC_WALK))
        return _result(st, walk)
    else:
        applies, how = policy_step(walk)  # the Organizational Domain's record, else a public suffix's
        if applies is not None and applies.record is not None:
            st.record, st.policy_domain, st.via_psd = applies.record, applies.name, how == "psd"

    if walk.failed is not None:  # a soft failure (see above)
        msg = (f"Your own DMARC record was found, but looking further up ({walk.failed.query}) failed, so we "
               f"couldn't confirm the organisational domain; we assume {st.org}. Your policy is not affected."
               if author is not None else
               f"We couldn't check whether the registry of .{walk.failed.name} publishes a DMARC policy for the "
               f"names under it: the lookup of {walk.failed.query} failed: {walk.failed.answer.describe}. That is "
               "the registry's name, not a record of yours, and such a policy never replaces a record of your own; "
               "try again later to see it.")
        st.add(_f("walk-incomplete", Severity.INFO, msg,
                  f"TXT {walk.failed.query}: {walk.failed.answer.describe}", RFC_ORG))

    if st.record is None:
        _no_policy(st, first)
        return _result(st, walk)

    rec = st.record
    assert st.policy_domain is not None
    if not st.own:
        st.records_seen.append(rec.raw)
        exists = await _exists(ctx, walk)
        if exists is None and rec.policy_for(subdomain=True, exists=True) != rec.policy_for(subdomain=True,
                                                                                              exists=False):
            st.add(_f("lookup-failed", Severity.UNKNOWN,
                      f"We couldn't tell whether {domain} exists in DNS, and the inherited DMARC record has "
                      "different policies for existing (sp) and non-existent (np) subdomains, so we can't say "
                      "which one applies. Try again later.", f"MX {domain}: lookup failed", RFC_DISCOVERY))
            return _result(st, walk)
        st.policy = rec.policy_for(subdomain=True, exists=exists is not False)
        st.exists = exists
        if exists is False and rec.np and not rec.policy_broken:
            st.policy_tag = "np"
        elif rec.sp and not rec.policy_broken:
            st.policy_tag = "sp"
        _inherited_findings(st, exists is not False)
    else:
        st.policy = rec.fallback_policy
    st.testing = rec.testing and st.policy not in (None, "none")
    if intended and st.suggestion is not None and not st.own and st.policy is not None:
        now = (st.intent.p if st.intent is not None else None) or "none"
        if _weaker(now, st.policy):  # never suggest less than what receivers apply today
            value, notes = build_record(domain, st.policy, st.intent, mail=st.mail)
            st.suggestion = replace(st.suggestion, value=value, notes=[
                *([f"Delete the other DMARC records at _dmarc.{domain} so that only this one remains."]
                  if first.multiple else []),
                f"Receivers now apply p={st.policy} from the record of {st.policy_domain}; this keeps it.", *notes])

    org_rec = (org_step.record if org_step is not None and org_step.record is not None
               else psd_step.record if psd_step is not None else rec)
    assert org_rec is not None
    st.sub_policy = org_rec.policy_for(subdomain=True, exists=True)
    st.np = org_rec.policy_for(subdomain=True, exists=False)
    if st.own and st.org != domain and (rec.sp or rec.np):
        st.add(_f("sp-ignored", Severity.INFO,
                  f"Your record's sp/np tags don't apply to subdomains of {domain}: under RFC 9989 the record of "
                  f"the organisational domain {st.org} decides for them.",
                  f"Organisational domain: {st.org}", RFC_DISCOVERY))

    for s in walk.found:
        if s.name not in (domain, st.policy_domain, st.org) and not (psd_step and s is psd_step):
            st.add(_f("intermediate-ignored", Severity.INFO,
                      f"There is a DMARC record at {s.query}, but it is not the one that applies to {domain}: "
                      f"under RFC 9989 the record of the organisational domain ({st.org}) is used instead.",
                      s.record.raw if s.record else "", RFC_DISCOVERY))

    if not st.via_psd:
        step = first if st.own else org_step
        _record_findings(st, rec, step.answer.cname_chain if step is not None else ())
        await _external_destinations(ctx, st, rec)
    _policy_findings(st, rec)
    if not intended:
        _suggest(st, rec, first)
        await _hold_enforcement_without_dkim(ctx, st, domain)
    return _result(st, walk)


async def _dkim_published(ctx: CheckContext, domain: str) -> bool | None:
    """Is a DKIM key published for ``domain`` at a selector we know or the user gave (or a wildcard)?
    True / False, or None when nothing was found but some lookups failed. The same names the DKIM check
    asks (shared through the client's cache when both run)."""
    user = [x for x in (normalize_selector(s) for s in ctx.options.dkim_selectors) if x]
    selectors = list(dict.fromkeys([*user, *(s.selector for s in load_catalog().selectors)]))
    hosts = [f"{s}._domainkey.{domain}" for s in selectors] + [f"*._domainkey.{domain}"]
    answers = await asyncio.gather(*(ctx.dns.query(h, "TXT") for h in hosts))
    for ans in answers:
        for txt in ans.txt if ans.ok else ():
            try:
                if not parse_dkim_key(txt).revoked:
                    return True
            except DkimKeyError:
                continue
    return None if any(a.failed for a in answers) else False


async def _hold_enforcement_without_dkim(ctx: CheckContext, st: _State, domain: str) -> None:
    """A next record that moves towards enforcement (quarantine or reject, or t=y removed) for a domain with
    no DKIM key we can find: receivers then judge its mail on SPF alone, which forwarding breaks (a
    forwarded or list message keeps the From but comes from another server), so enforcing would junk or
    refuse real mail; the bulk-sender rules also require DKIM. The record stays, as a suggestion whose note
    asks for DKIM first (DKIM selectors are guessed: "none found" is not proof, RFC 6376 §3.6.2.1)."""
    sug = st.suggestion
    if sug is None or st.no_mail or sug.kind != "record":
        return
    try:
        target = parse_dmarc(sug.value)
    except DmarcSyntaxError:
        return
    now_p = st.policy or "none"
    new_p = target.p or "none"
    enforcing = new_p in ("quarantine", "reject") and (
        _weaker(now_p, new_p) or (st.testing and not target.testing) or (now_p == "none" and new_p != "none"))
    if not enforcing:
        return
    # relaxed alignment (the default) lets a key of the organisational domain sign a subdomain's mail
    names = [domain] + ([st.org] if st.org and st.org != domain else [])
    found = [await _dkim_published(ctx, n) for n in names]
    if any(x is not False for x in found):
        return
    apply = "refused" if new_p == "reject" and not target.testing else "sent to spam"
    note = (f"Set up DKIM first: we found no DKIM key for {domain} under the selectors we know. Without DKIM, "
            "receivers judge your mail on SPF alone, and SPF fails for mail that is forwarded (a forwarding "
            f"address, a mailing list), so with p={new_p} that real mail would be {apply}. Google, Yahoo and "
            "Microsoft also require DKIM from bulk senders. Switch on DKIM signing at your mail service (if it "
            "is already on, tell us its selector), check a test message, then publish this record.")
    st.suggestion = replace(sug, notes=[note, *sug.notes], kind="suggestion")


def _inspect_own_name(st: _State, first: WalkStep, apex: DnsAnswer | None) -> None:
    """Findings about what sits at ``_dmarc.<domain>`` (and a stray record at the apex)."""
    d = st.domain
    st.records_seen.extend(first.dmarc)
    if first.multiple:
        st.add(_f("multiple-records", Severity.ERROR,
                  f"There are {len(first.dmarc)} DMARC records at _dmarc.{d}. Receivers then ignore all of them, "
                  "as if you had none. Keep exactly one.", " | ".join(first.dmarc), RFC_WALK))
    for txt, exc in first.broken:
        st.records_seen.append(txt)
        message = (f"The TXT record at _dmarc.{d} is your DMARC record written in the wrong order: v=DMARC1 must be "
                   "the first tag, so receivers ignore the record and, for them, you have no valid DMARC record. "
                   "Replace it with the same record, v=DMARC1 first." if exc.code == "version-not-first" else
                   f"The TXT record at _dmarc.{d} is meant to be a DMARC record but receivers ignore it: "
                   f"{exc.message}")
        st.add(_f("invalid-record", Severity.ERROR if first.record is None else Severity.WARNING, message,
                  f"{txt!r} ({exc.code})", RFC_TAGS if exc.code != "version-not-first" else RFC_GRAMMAR))
    others = []
    for txt in first.other:
        if txt.lower().startswith("v=spf1"):
            st.add(_f("unrelated-txt", Severity.INFO, f"The TXT record at _dmarc.{d} is an SPF record. SPF belongs at "
                      f"{d} itself; at _dmarc.{d} it does nothing.", txt, RFC_WALK))
        else:
            others.append(txt)
    if others:  # said once, however many there are (a zone may hold hundreds)
        st.add(_f("unrelated-txt", Severity.INFO,
                  f"There is a TXT record at _dmarc.{d} that is not DMARC; receivers ignore it." if len(others) == 1
                  else f"There are {len(others)} TXT records at _dmarc.{d} that are not DMARC; receivers ignore them.",
                  "\n".join(t[:200] for t in others[:5]) + (f"\n… and {len(others) - 5} more" if len(others) > 5 else ""),
                  RFC_WALK))
    if first.record is not None and first.answer.cname_chain:
        target = first.answer.cname_chain[-1]
        st.add(_f("via-cname", Severity.INFO,
                  f"_dmarc.{d} is an alias (CNAME) for {target}, where your DMARC record is kept, usually by a "
                  "DMARC service. That is allowed and receivers follow it. To change the policy, change it "
                  "there (or ask the service).", " → ".join((f"_dmarc.{d}", *first.answer.cname_chain)), RFC_WALK))
    if apex is not None and apex.ok:
        stray = [t for t in apex.txt if looks_like_dmarc(t)]
        if stray and first.record is not None:
            st.add(replace(_f("apex-copy", Severity.INFO,
                              f"There is also a DMARC-looking TXT record at {d} itself. Receivers only read "
                              f"_dmarc.{d}, so it does nothing; you can delete it.", stray[0], RFC_WALK),
                           fix=Fix(d, "TXT", stray[0], action="remove",
                                   note=f"Receivers only read _dmarc.{d}; this copy does nothing.")))


async def _doubled(ctx: CheckContext, domain: str) -> list[tuple[str, str, str]]:
    """DMARC records published at a doubled name (``_dmarc.example.com.example.com``: the full name typed
    into a host's form that adds the zone itself), for each zone the domain may be in: (name, zone, text).
    The same place ``publish/mistakes.py`` looks, through the shared ``misplaced`` helpers, so the card and
    the publish plan agree. A lookup that fails is skipped (it is only where a lost record may be)."""
    zones = zone_guesses(domain)
    names = [doubled_name(f"_dmarc.{domain}", z) for z in zones]
    answers = await asyncio.gather(*(ctx.dns.query(n, "TXT") for n in names if len(n) <= 253))
    out: list[tuple[str, str, str]] = []
    for name, zone, ans in zip(names, zones, answers):
        if ans.ok:
            found = [t for t in ans.txt if looks_like_dmarc(_unquote_record(t) or t)]
            if found:
                found = await _not_wildcard(ctx, domain, zone, found)
            out.extend((name, zone, t) for t in found)
    return out


async def _not_wildcard(ctx: CheckContext, domain: str, zone: str, texts: list[str]) -> list[str]:
    """Of the DMARC texts found at a doubled name, those nobody published there: a wildcard TXT
    (``*.example.com``) answers every made-up name below the zone, the doubled name too (RFC 4592), so the
    same text at a name that surely doesn't exist (the domain's first label replaced by a random one) means
    it came from the wildcard. A probe that fails keeps them (it is only where a lost record may be)."""
    rest = domain.split(".", 1)[1] if "." in domain else ""
    probe = doubled_name(f"_dmarc.ir-{secrets.token_hex(6)}.{rest}".rstrip("."), zone)
    if len(probe) > 253:
        return texts
    ans = await ctx.dns.query(probe, "TXT")
    if not ans.ok:
        return texts
    return [t for t in texts if t not in ans.txt]


def _misplaced(st: _State, first: WalkStep, apex: DnsAnswer | None,
               doubled: list[tuple[str, str, str]] | None = None) -> bool:
    """The domain has no usable record of its own, but meant to have one: several records at
    ``_dmarc.<domain>``, a broken one, one at the domain itself, or one at a doubled name. Adds the
    findings and the corrected record to publish; returns False when there is no trace of an own record."""
    d = st.domain
    stray = [t for t in apex.txt if looks_like_dmarc(t)] if apex is not None and apex.ok else []
    doubled = doubled or []
    if not (first.dmarc or first.broken or stray or doubled):
        return False
    candidates: list[DmarcRecord] = []
    repaired = [r for r in (repair_dmarc(t) for t, _ in first.broken) if r is not None]
    moved = [_unquote_record(t) or t for _, _, t in doubled]
    for cand in [*first.dmarc, *repaired, *stray, *moved, *(repair_dmarc(t) or t for t in moved)]:
        try:
            candidates.append(parse_dmarc(cand))
        except DmarcSyntaxError:
            continue
    # Of several records, keep the gentlest policy: today none of them applies, so jumping to the
    # strictest could start blocking mail that was never checked.
    candidates.sort(key=lambda r: STRENGTH.get(r.p or "none", 0))
    base = candidates[0] if candidates else None
    st.intent = base
    p = (base.p if base is not None else None) or "none"
    value, notes = build_record(d, p, base, mail=st.mail)
    if repaired and not first.dmarc:
        notes.insert(0, "This is your record, corrected so that receivers recognise it.")
        if p in ("quarantine", "reject"):
            notes.append(f"Receivers ignore the record today, so p={p} has never been applied: if you are not "
                         "sure that all your real mail passes DMARC, publish it with p=none first and watch "
                         "the reports.")
    if first.multiple:
        others = sorted({f"p={r.p or 'none'}" for r in candidates[1:]} - {f"p={p}"})
        notes.insert(0, f"Delete the other DMARC records at _dmarc.{d} so that only this one remains."
                     + (f" We kept the gentlest policy (p={p}); if you meant {' or '.join(others)}, publish that "
                        "instead." if others else ""))
    wrong_order = [txt for txt, _ in first.broken
                   if not txt.lstrip(" \t\"'").lower().replace(" ", "").startswith("v=")]
    # A record that doesn't start with v= (written in the wrong order) is no record a DNS host (nor our
    # publisher) sees as the DMARC record the new one replaces: the fix publishes the corrected record and
    # deletes that one explicitly, rather than saying "change the existing record" and then "delete" it.
    action = "replace" if (first.dmarc or len(first.broken) > len(wrong_order)) else "publish"
    st.suggestion = Suggestion(f"_dmarc.{d}", value, notes, action)
    for txt in wrong_order:
        st.removals.append(Fix(f"_dmarc.{d}", "TXT", txt, action="remove",
                               note="Your record in the wrong order: the corrected record replaces it."))
    if doubled:
        wrong, zone, txt = doubled[0]
        st.removals.extend(Fix(w, "TXT", t, action="remove", note=f"The record at the doubled name {w}.")
                           for w, _, t in doubled)
        st.add(_f("record-at-doubled-name", Severity.ERROR,
                  f"Your DMARC record is published at {wrong} instead of _dmarc.{d}: the full name was typed into a "
                  f"name field that adds {zone} by itself, so the domain ended up in the name twice. Receivers look "
                  f"only at _dmarc.{d}, so for them you have no DMARC record. Move it: publish it at _dmarc.{d} "
                  f"(in most DNS hosts' forms, type just the part before {zone} in the name field) and delete the "
                  "record at the doubled name.", f"TXT {wrong}: {txt[:200]}", RFC_WALK))
    if stray:
        st.add(_f("record-at-apex", Severity.ERROR,
                  f"Your DMARC record is published at {d} instead of _dmarc.{d}. Receivers only look at "
                  f"_dmarc.{d}, so they never see it. Publish it at _dmarc.{d} and delete the copy at the "
                  "domain itself.", stray[0], RFC_WALK))
        st.add(replace(_f("apex-copy", Severity.INFO,
                          f"Once the record is at _dmarc.{d}, delete the copy at {d}.", stray[0], RFC_WALK),
                       fix=Fix(d, "TXT", stray[0], action="remove",
                               note=f"Delete this once the record at _dmarc.{d} is in place.")))
    return True


def _no_policy(st: _State, first: WalkStep) -> None:
    """No DMARC record applies at all: suggest the record to start with."""
    d = st.domain
    if st.suggestion is not None:
        return  # _misplaced already said what is wrong and what to publish
    detail = f"TXT _dmarc.{d}: {first.answer.describe}; no record higher up the tree either"
    if st.nxdomain:
        # Publishing _dmarc.<name> would bring the name into being (an empty name with a child): a typo
        # would become a domain. Nothing to publish here.
        st.add(replace(_f("no-record", Severity.ERROR,
                          f"{d} does not exist in DNS, so it has no DMARC record. Check the spelling of the domain, "
                          "and whether its registration has expired.", detail, RFC_DISCOVERY),
                       no_fix=f"{d} doesn't exist in DNS, and publishing one would bring it into being: check "
                              "the spelling. If "
                              f"{d} is a subdomain, the DMARC record of its parent domain protects it with np= "
                              "(the policy for names that don't exist)."))
        return
    if st.mail == "no-mail":
        st.suggestion = Suggestion(f"_dmarc.{d}", DMARC_REJECT, [
            "For a domain that sends no mail: receivers reject anything claiming to come from it. It needs no "
            "report address. This is one of the lockdown records listed under MX."], "publish")
        st.add(_f("no-record", Severity.ERROR,
                  f"{d} has no DMARC record. The domain says it sends no mail, so the record to publish is the "
                  "one below: it tells receivers to reject any mail that claims to come from it, which stops "
                  "others from sending in its name.", detail, RFC_DISCOVERY))
        return
    if st.mail == "unused":
        st.suggestion = Suggestion(f"_dmarc.{d}", DMARC_REJECT, [
            "Only for a domain that never sends mail: receivers reject anything claiming to come from it. It "
            "needs no report address. This is one of the lockdown records listed under MX. If you will send "
            "mail from this domain, set up your mail service first, then start with p=none and a report "
            "address that receives mail."], "publish", kind="suggestion")
        st.add(_f("no-record", Severity.ERROR,
                  f"{d} has no DMARC record, and no mail server (MX) or SPF record either, so it looks unused "
                  "for email. Anyone can send mail that claims to come from it. If it never sends mail, publish "
                  "the record below, which tells receivers to reject such mail. If you plan to use it for "
                  "email, set up your mail service first; then start DMARC in monitoring mode (p=none) with a "
                  "report address.", detail, RFC_DISCOVERY))
        return
    value, notes = build_record(d, "none", None, mail=st.mail)
    st.suggestion = Suggestion(f"_dmarc.{d}", value, notes, "publish")
    st.add(_f("no-record", Severity.ERROR,
              f"{d} has no DMARC record. Anyone can send e-mail that claims to come from {d} and receivers "
              "get no instructions about it, and you get no reports. Google, Yahoo and Microsoft require a "
              "DMARC record from bulk senders. Start with the monitoring record below.", detail, RFC_DISCOVERY))


def _inherited_findings(st: _State, exists: bool) -> None:
    rec, d, pd = st.record, st.domain, st.policy_domain
    assert rec is not None and pd is not None
    which = "np (the policy for subdomains that don't exist)" if not exists and rec.np else (
        "sp (the subdomain policy)" if rec.sp else "p (no separate subdomain policy is set)")
    if st.via_psd:
        st.add(_f("psd-policy", Severity.WARNING,
                  f"{d} has no DMARC record of its own; the only one that applies is published by the operator of "
                  f"the public suffix {pd} (psd=y), so its {which} is used. That record isn't yours to change and "
                  f"sends reports to the registry, not to you. Publish your own record.",
                  f"Found at _dmarc.{pd}: {rec.raw}", RFC_DISCOVERY))
        return
    st.add(_f("inherited", Severity.INFO,
              f"{d} has no DMARC record of its own, so it follows the record of {pd}: its {which}, which is "
              f"{rec.policy_for(subdomain=True, exists=exists) or 'unusable'}.",
              f"Found at _dmarc.{pd}: {rec.raw}", RFC_DISCOVERY))


def _record_findings(st: _State, rec: DmarcRecord, cname: tuple[str, ...] = ()) -> None:
    where = f"_dmarc.{st.policy_domain}"
    tidy = tidy_dmarc(rec.raw) if rec.tolerated_errors and not rec.serious_errors else None
    for prob in rec.errors:
        if prob.code == "no-policy" and "p" in rec.invalid_tags:
            continue  # the invalid-policy finding already says receivers skip DMARC
        f = _problem_finding(prob, rec, where, True)
        if prob.tolerated and tidy is not None:
            f = replace(f, fix=_tidy_fix(st, where, tidy, cname))
        elif prob.tolerated:
            st.slips.append(f)  # the corrected record (for the real mistakes) tidies this too
        st.add(f)
    for prob in rec.warnings:
        st.add(_problem_finding(prob, rec, where, False))
    if rec.psd == "y" and st.own:
        st.add(_f("psd-y", Severity.WARNING,
                  "Your record says psd=y, which declares the domain a public suffix (like .com): every subdomain "
                  "is then treated as a separate organisation, so mail signed by one of your subdomains no longer "
                  "counts for another. Only registries should use psd=y; remove it.", rec.raw, RFC_TAGS))
    elif rec.psd == "n" and st.own:
        st.add(_f("psd-n", Severity.INFO,
                  f"Your record says psd=n: {st.domain} is its own organisational domain for DMARC.", rec.raw,
                  RFC_ORG))
    _report_address_findings(st, rec)
    if not _usable_rua(rec) and st.own and st.mail == "no-mail":
        st.add(_f("no-rua", Severity.INFO,
                  f"The record has no rua= report address. {st.domain} says it sends no mail, so that is fine: "
                  "there is no real mail to report on.", rec.raw, RFC_TAGS))
    elif not _usable_rua(rec) and st.own and st.mail == "unused":
        st.add(_f("no-rua", Severity.INFO,
                  f"The record has no rua= report address. {st.domain} has no mail server and no SPF record, so "
                  "it looks unused for email; if it never sends mail, that is fine.", rec.raw, RFC_TAGS))
    elif not _usable_rua(rec) and any(e.code == "invalid-uri" and e.tag == "rua" for e in rec.errors):
        pass  # the invalid-uri finding says the address is unusable, and that no reports come
    elif not _usable_rua(rec):
        st.add(_f("no-rua", Severity.WARNING,
                  "The record has no (valid) rua= report address, so you get no reports and can't see who sends "
                  "mail as you, including services you forgot or someone spoofing you.", rec.raw, RFC_TAGS))
    if rec.ruf:
        st.add(_f("ruf-privacy", Severity.INFO,
                  "ruf= asks for failure reports about single messages. They can contain parts of real e-mails "
                  "(personal data), and most large providers never send them. Aggregate reports (rua=) are what "
                  "you need.", ", ".join(u.uri for u in rec.ruf), "RFC 9989 §4.7 (ruf)"))
    elif rec.fo is not None:
        st.add(_f("fo-without-ruf", Severity.INFO,
                  "fo= only matters when ruf= asks for failure reports; without ruf= it does nothing.", rec.raw,
                  RFC_TAGS))
    strict = [t for t in ("adkim", "aspf") if getattr(rec, t) == "s"]
    if strict:
        st.add(_f("strict-alignment", Severity.INFO,
                  f"{' and '.join(f'{t}=s' for t in strict)}: strict alignment. Mail only counts when the signing "
                  f"or bounce domain is exactly {st.policy_domain}; services that send with a subdomain of yours "
                  f"(for example bounces.{st.policy_domain}) will fail DMARC. Check your reports before enforcing.",
                  rec.raw, "RFC 9989 §4.4"))


def _tidy_fix(st: _State, host: str, value: str, cname: tuple[str, ...]) -> Fix:
    """The record as published, without the slips receivers tolerate: the same policy, nothing added."""
    note = "The same record without the slip: receivers apply it exactly as before."
    if not st.own:
        note += f" It is the record of {st.policy_domain}, which {st.domain} follows."
    if cname:
        note += (f" {host} is an alias (CNAME) for {cname[-1]}: make the change at your DMARC service, or "
                 "replace the alias with this TXT record.")
    return Fix(host, "TXT", value, action="replace", note=note)


async def _external_destinations(ctx: CheckContext, st: _State, rec: DmarcRecord) -> None:
    """RFC 9990's check: a report address outside the organisational domain must be authorised by a
    ``<policy domain>._report._dmarc.<destination>`` TXT record."""
    pd, org = st.policy_domain, st.org or st.policy_domain
    assert pd is not None and org is not None
    dests: dict[str, list[str]] = {}
    for tag, uris in (("rua", rec.rua), ("ruf", rec.ruf)):
        for u in uris:
            if u.domain and not (u.domain == org or u.domain.endswith("." + org)):
                dests.setdefault(u.domain, [])
                if tag not in dests[u.domain]:
                    dests[u.domain].append(tag)
    if not dests:
        return
    if len(dests) > MAX_DESTINATIONS:  # 1,900 addresses must not mean 1,900 lookups
        st.add(_f("external-unverified", Severity.WARNING,
                  f"The record sends reports to {len(dests)} outside domains; we checked the first {MAX_DESTINATIONS} "
                  "only. Receivers check each one, and a list this long is almost certainly a mistake.",
                  ", ".join(list(dests)[MAX_DESTINATIONS:MAX_DESTINATIONS + 5]) + " …", RFC_EXTERNAL))
        dests = dict(list(dests.items())[:MAX_DESTINATIONS])
    names = {dest: f"{pd}._report._dmarc.{dest}" for dest in dests}
    answers = await asyncio.gather(*(ctx.dns.query(n, "TXT") for n in names.values() if len(n) <= 253))
    by_name = {a.name: a for a in answers}
    for dest, tags in dests.items():
        name = names[dest]
        ans = by_name.get(name)
        item: DmarcDestination = {"destination": dest, "tags": tags, "name": name, "authorized": None}
        fix = Fix(name, "TXT", "v=DMARC1",
                  note=f"This record goes in the DNS of {dest}, so whoever runs {dest} (your report service, or "
                       "you if it is also your domain) must publish it.")
        if ans is None:
            item["authorized"] = None
            st.add(_f("external-unverified", Severity.WARNING,
                      f"Reports for {pd} can't be sent to {dest}: the name receivers would check is too long for DNS.",
                      name, RFC_EXTERNAL))
        elif ans.failed:
            item["authorized"] = None
            st.add(_f("external-lookup-failed", Severity.UNKNOWN,
                      f"We couldn't check whether {dest} accepts DMARC reports for {pd}: {ans.describe}.",
                      f"TXT {name}", RFC_EXTERNAL))
        elif any(is_dmarc_record(t) for t in ans.txt):
            item["authorized"] = True
        else:
            item["authorized"] = False
            st.add(replace(_f(
                "external-unverified", Severity.WARNING,
                f"Your {' and '.join(tags)} report address{'es are' if len(tags) > 1 else ' is'} at {dest}, which is "
                f"not part of {org}. Receivers only send reports there if {dest} confirms it wants them, with a TXT "
                f"record at {name}, and there is none, so these reports are not being sent.",
                f"TXT {name}: {ans.describe}", RFC_EXTERNAL), fix=fix))
        st.external.append(item)
    rua_ok = [u for u in rec.rua if not (u.domain and u.domain in dests and "rua" in dests[u.domain]
                                         and any(x["destination"] == u.domain and x.get("authorized") is False
                                                 for x in st.external))]
    st.reports_blocked = bool(rec.rua) and not rua_ok


def _policy_findings(st: _State, rec: DmarcRecord) -> None:
    d, p = st.domain, st.policy
    src = "" if st.own else f" (from the record of {st.policy_domain})"
    tag = st.policy_tag
    if p is not None and not st.own and st.exists is False:
        # A name that doesn't exist sends no real mail: only np (the policy for such names) matters.
        if p == "reject":
            st.add(_f("policy-reject", Severity.INFO,
                      f"{d} does not exist in DNS. The record of {st.policy_domain} tells receivers to reject mail "
                      f"claiming to come from names under it that don't exist ({tag}=reject), so nobody can "
                      "use this name to spoof you.", rec.raw, "RFC 9989 §4.7 (np)"))
            return
        why = (f"the record of {st.policy_domain} sets np={p} for names under it that don't exist" if tag == "np"
               else f"the record of {st.policy_domain} has no np= tag, so names under it that don't exist get its "
                    f"{tag}={p}")
        st.add(_f("np-weak", Severity.WARNING,
                  f"{d} does not exist in DNS, yet mail claiming to come from it is {_gentle(p)}: {why}. Add "
                  "np=reject to that record: no real mail comes from names that don't exist.", rec.raw,
                  "RFC 9989 §4.7 (np)"))
        return
    if p is None:
        if st.own:
            return  # the parser's no-policy error already says it
        st.add(_f("unusable-record", Severity.ERROR,
                  f"The DMARC record that applies to {d}{src} can't be used by receivers, so {d} is effectively "
                  "unprotected.", rec.raw, RFC_DISCOVERY))
        return
    if p == "none":
        then = ("Set up the reports first (see above); once they show all your real mail passing, move to "
                "quarantine." if st.reports_blocked or not rec.rua else
                "Once the reports show all your real mail passing, move to quarantine.")
        reports = "you get reports, but " if rec.rua and not st.reports_blocked else ""
        st.add(_f("policy-none", Severity.WARNING,
                  f"DMARC is in monitoring mode ({tag}=none){src}: {reports}receivers still deliver mail that "
                  f"fails the checks, so spoofed mail claiming to be from {d} gets through. {then}",
                  rec.raw, RFC_TAGS))
        if rec.testing:
            st.add(_f("testing-mode", Severity.INFO, "t=y has no effect with p=none.", rec.raw, RFC_TAGS))
        return
    if st.testing:
        gentler = "none (nothing happens)" if p == "quarantine" else "quarantine (spam folder)"
        st.add(_f("testing-mode", Severity.WARNING if p == "quarantine" else Severity.INFO,
                  f"t=y (test mode) is set{src}: receivers apply {gentler} instead of {p} to failing mail. Remove "
                  "t=y when the reports look clean.", rec.raw, "RFC 9989 §4.7 (t), Appendix A.6"))
    elif p == "quarantine":
        st.add(_f("policy-quarantine", Severity.INFO,
                  f"DMARC is enforced{src}: mail that fails the checks goes to the spam folder ({tag}=quarantine). "
                  "When the reports stay clean, the last step is reject.", rec.raw, RFC_TAGS))
    else:
        st.add(_f("policy-reject", Severity.INFO,
                  f"DMARC is fully enforced{src}: receivers reject mail that fails the checks ({tag}=reject).",
                  rec.raw, RFC_TAGS))
    own_org = st.own and st.org == d
    if st.np == "none" and own_org:
        st.add(_f("np-weak", Severity.WARNING,
                  f"Made-up subdomains of {st.org} (like billing.{st.org}) have no protection: the policy for "
                  "subdomains that don't exist is none. Add np=reject: no real mail comes from names that don't "
                  "exist.", rec.raw, "RFC 9989 §4.7 (np)"))
    if st.sub_policy is not None and _weaker(st.sub_policy, p) and own_org:
        st.add(_f("sp-weaker", Severity.INFO,
                  f"Existing subdomains get a weaker policy (sp={st.sub_policy}) than {d} itself (p={p}). That's fine "
                  "if a subdomain's mail isn't ready yet; otherwise remove sp=.", rec.raw, "RFC 9989 §4.7 (sp)"))


def _gentle(p: str) -> str:
    return {"none": "delivered as usual", "quarantine": "only sent to the spam folder"}.get(p, "handled as " + p)


def _needs_tidying(st: _State, rec: DmarcRecord) -> bool:
    """True when a record at the last stage is still worth re-publishing (historic tags, p not second,
    obsolete size limits, psd=y, no report address, unprotected made-up subdomains)."""
    codes = rec.codes()
    return bool(rec.historic or "p-not-second" in codes or "leading-whitespace" in codes
                or "uri-trailing-dot" in codes
                or any(u.size for u in [*rec.rua, *rec.ruf]) or rec.psd == "y" or (not rec.rua and not (st.own and st.no_mail))
                or "non-mailto-uri" in codes or len(rec.rua) > KEEP_URIS or len(rec.ruf) > KEEP_URIS
                or (st.np == "none" and st.own and st.org == st.domain))


def _suggest(st: _State, rec: DmarcRecord, first: WalkStep) -> None:
    """The next record to publish (``st.suggestion``), following the rollout ladder."""
    d, p = st.domain, st.policy
    host = f"_dmarc.{d}"
    notes: list[str] = []
    if first.answer.cname_chain:
        notes.append(f"_dmarc.{d} is now an alias (CNAME) for {first.answer.cname_chain[-1]}: replace the alias "
                     "with this TXT record, or make the change at your DMARC service instead.")
    if st.via_psd:
        value, more = build_record(d, p or "none", None, mail=st.mail)
        st.suggestion = Suggestion(host, value, [*notes, "Your own record takes priority over the registry's.",
                                                 *more])
        return
    pd = st.policy_domain or d
    if rec.serious_errors or rec.policy_broken:
        base, renamed = fix_tag_typos(rec)
        base, completed = add_missing_mailto(base)
        intended = base.p or "none"
        value, more = build_record(pd, intended, base, testing=base.testing, mail=st.mail if st.own else None)
        if completed:
            more.insert(0, "mailto: is put in front of " + ", ".join(completed) + ", so that reports are sent there.")
        if renamed:
            more.insert(0, "Misspelt tags are written correctly: " + ", ".join(renamed) + ".")
        if "p" not in rec.tags:
            more.insert(0, "This writes p=none out: receivers that follow RFC 7489 need a p= tag.")
        elif rec.p is None:
            more.insert(0, "We couldn't tell which policy you meant, so this uses p=none; move on to quarantine "
                           "and reject once the reports look clean.")
        lead = "This corrects the mistakes listed above." if st.own else (
            f"This corrects the record of {pd}, which {d} follows.")
        st.suggestion = Suggestion(f"_dmarc.{pd}", value, [*(notes if st.own else []), lead, *more], "replace")
        return
    partial = _legacy_partial(rec)
    if not st.own and st.exists is False:
        # Nothing can be published *for* a name that doesn't exist; np= of the record it inherits decides.
        if p != "reject":
            value, more = build_record(pd, rec.p or "none", rec, testing=rec.testing, np="reject")
            st.suggestion = Suggestion(f"_dmarc.{pd}", value, [
                f"np=reject protects {d} and every other name under {pd} that doesn't exist. Your record at "
                f"_dmarc.{pd} keeps its other settings.", *more], "replace")
        return
    if st.own and st.no_mail and (p != "reject" or st.testing):
        # A domain that sends no mail has nothing that could fail: straight to the lockdown policy.
        value, more = build_record(d, "reject", rec, mail=st.mail)
        why = ("This domain says it sends no mail" if st.mail == "no-mail" else
               "This domain has no mail server and no SPF record, so it looks unused for email; if it never "
               "sends mail")
        st.suggestion = Suggestion(host, value, [
            *notes, f"{why}, so no real mail can fail DMARC: you can go straight to p=reject, which stops others "
                    "from sending in its name.", *more], "replace")
        return
    target = _next_policy(p, st.testing or partial,
                          has_rua=(bool(_usable_rua(rec)) and not st.reports_blocked) or not st.own)
    if not st.own:
        if target is not None:
            value, more = build_record(d, target[0], rec, testing=target[1], keep_sub_policies=False)
            st.suggestion = Suggestion(host, value, [
                *notes, _step_note(p, st.testing, target),
                f"This gives {d} its own record, which takes priority over the one of {pd}. You can instead "
                f"change sp= in the record at _dmarc.{pd}.", *more])
        elif _needs_tidying(st, rec):
            value, more = build_record(pd, rec.p or "none", rec, testing=rec.testing)
            st.suggestion = Suggestion(f"_dmarc.{pd}", value, [f"This tidies up the record of {pd}, which {d} "
                                                               "follows.", *more], "replace")
        return
    if target is None:
        if not _needs_tidying(st, rec):
            return
        target = (p or "none", False)
        notes.append("You are at the last stage; this record only tidies it up.")
    trial = _legacy_trial(rec) and not st.testing and target is not None and target[0] == p
    if trial:
        # pct=0 meant "a trial": keep that intent in RFC 9989's form (t=y) rather than jump to full p=.
        target = (p or "none", True)
    np = "reject" if target[0] == "reject" and st.np == "none" and st.org == d else None
    value, more = build_record(d, target[0], rec, testing=target[1], np=np, mail=st.mail)
    if _same_record(value, rec.raw):
        return  # nothing to change yet (e.g. the reports must be set up first: see the other findings)
    if np:
        more.insert(0, "np=reject is added so that made-up subdomains are rejected too.")
    if not rec.rua and target[0] == "none":
        more.insert(0, "Collect reports for a few weeks before moving on to p=quarantine.")
    if trial:
        more.insert(0, f"pct=0 was the old way to try p={p} without applying it; RFC 9989 replaced it with t=y "
                       "(test mode), which this record uses. When your reports show all your real mail passing, "
                       "remove t=y.")
    elif target[0] != p or target[1] != st.testing:
        more.insert(0, _step_note(p, st.testing, target))
    elif partial and target[0] == p:
        more.insert(0, f"Next step: p={p} for all failing mail.")
    st.suggestion = Suggestion(host, value, [*notes, *more], "replace")


def _has_policy(value: str) -> bool:
    return any(part.split("=", 1)[0].strip().lower() == "p" for part in value.split(";") if "=" in part)


def _same_record(a: str, b: str) -> bool:
    """The same tags with the same values, ignoring spaces, case of tag names and a trailing ';'."""
    def norm(text: str) -> list[str]:
        out = []
        for part in text.split(";"):
            name, _, value = part.partition("=")
            if name.strip():
                out.append(name.strip().lower() + "=" + value.strip())
        return out
    return norm(a) == norm(b)


def _legacy_partial(rec: DmarcRecord) -> bool:
    """An enforcing record with an RFC 7489 ``pct`` below 100: its owner meant a partial roll-out."""
    try:
        pct = int(rec.historic.get("pct", "100").strip())
    except ValueError:
        return False
    return rec.p in ("quarantine", "reject") and 0 <= pct <= 99


def _legacy_trial(rec: DmarcRecord) -> bool:
    """An enforcing record with ``pct=0``: RFC 7489's de-facto trial mode, whose RFC 9989 successor is t=y."""
    return _legacy_partial(rec) and rec.historic.get("pct", "").strip() == "0"


def _next_policy(p: str | None, testing: bool, *, has_rua: bool) -> tuple[str, bool] | None:
    """The next rung of the ladder: (policy, t=y?) or ``None`` at the top."""
    if p is None:
        return ("none", False)
    if p == "none":
        return ("quarantine", False) if has_rua else ("none", False)
    if testing:
        return (p, False)
    if p == "quarantine":
        return ("reject", False)
    return None


def _step_note(p: str | None, testing: bool, target: tuple[str, bool]) -> str:
    if testing and target[0] == p:
        return f"Next step: the same p={p} without test mode (t=y), so receivers apply it fully."
    if target[0] == "quarantine":
        return ("Next step: p=quarantine sends mail that fails DMARC to the spam folder. Do this only once your "
                "reports show all your real mail passing.")
    if target[0] == "reject":
        return "Next step: p=reject, so receivers refuse mail that fails DMARC."
    return ""


def _result(st: _State, walk: Walk) -> CheckResult:
    findings = list(st.findings)
    if st.suggestion is not None:
        fix = st.suggestion.fix()
        if any(f.code == "dmarc.record-at-apex" for f in findings):
            # moving the record is one fix: publish it at _dmarc and delete the copy at the domain (deleting
            # the copy alone would leave no record at all); the copy's finding shows the same fix
            removals = [f.fix for f in findings if f.code == "dmarc.apex-copy" and f.fix is not None]
            fix = replace(fix, title="Move the record to _dmarc", also_publish=tuple(removals[:1]))
            findings = [replace(f, fix=fix) if f.code == "dmarc.apex-copy" else f for f in findings]
        if st.removals:  # a record at a doubled name, or one in the wrong order: deleted with the fix
            moved = any(f.code == "dmarc.record-at-doubled-name" for f in findings)
            fix = replace(fix, title=fix.title or ("Move the record to _dmarc" if moved else ""),
                          also_publish=(*fix.also_publish, *st.removals))
        findings = _attach(findings, fix, f"_dmarc.{st.policy_domain}" if st.policy_domain else "")
        findings = [replace(f, fix=fix) if f.fix is None and f in st.slips else f for f in findings]
    status = derive_status(findings)
    # A lookup that failed before the policy was known leaves the stage unknown: never "none" (no DMARC),
    # which the app would draw as "you are here" and a builder would answer with a record starting afresh.
    unknown = st.policy is None and any(f.code == "dmarc.lookup-failed" for f in findings)
    stage = "unknown" if unknown else STAGES.get(st.policy, "none") if st.record is not None else "none"
    detail: DmarcDetail = {
        "record": st.record.raw if st.record is not None else None,
        "found_at": f"_dmarc.{st.policy_domain}" if st.policy_domain else None,
        "policy_domain": st.policy_domain,
        "organizational_domain": st.org,
        "policy": st.policy,
        "subdomain_policy": st.sub_policy,
        "np": st.np,
        "testing": st.testing,
        "stage": stage,
        "next_record": st.suggestion.to_json() if st.suggestion is not None else None,
        "rua": [u.raw for u in st.record.rua] if st.record is not None else [],
        "ruf": [u.raw for u in st.record.ruf] if st.record is not None else [],
        "tags": dict(st.record.tags) if st.record is not None else {},
        "inherited": st.record is not None and not st.own,
        "external_destinations": st.external,
        "walk": [s.to_json() for s in walk.steps],
    }
    return CheckResult(name="dmarc", status=status, summary=_summary(st, status), records=st.records_seen,
                       findings=findings, detail=dict(detail))


_CARRIERS = ("dmarc.no-record", "dmarc.multiple-records", "dmarc.record-at-apex", "dmarc.record-at-doubled-name",
             "dmarc.invalid-record",
             "dmarc.invalid-policy", "dmarc.no-policy", "dmarc.p-missing", "dmarc.syntax-error", "dmarc.duplicate-tag",
             "dmarc.invalid-value", "dmarc.invalid-uri", "dmarc.unusable-record", "dmarc.psd-policy",
             "dmarc.policy-none", "dmarc.testing-mode", "dmarc.policy-quarantine", "dmarc.no-rua", "dmarc.np-weak",
             "dmarc.historic-tag", "dmarc.p-not-second", "dmarc.psd-y", "dmarc.leading-whitespace",
             "dmarc.size-limit-obsolete", "dmarc.uri-trailing-dot", "dmarc.duplicate-tag",
             "dmarc.many-report-addresses", "dmarc.record-too-large", "dmarc.policy-reject")


# Findings about the record's wording that the suggested record (written fresh by build_record) also puts right:
# it goes on each of them too, and the front ends show it once, under the most severe (model.present).
_TIDIED = ("dmarc.uri-trailing-dot", "dmarc.p-not-second", "dmarc.leading-whitespace", "dmarc.historic-tag",
           "dmarc.size-limit-obsolete", "dmarc.psd-y", "dmarc.duplicate-tag", "dmarc.many-report-addresses",
           "dmarc.record-too-large", "dmarc.unknown-tag")


def _attach(findings: list[Finding], fix: Fix, record_host: str = "") -> list[Finding]:
    """Put the suggested record on the finding it answers best, and on the wording findings it also fixes.
    ``record_host`` is where the record that applies lives (the one the record's own findings are about)."""
    for code in _CARRIERS:
        for i, f in enumerate(findings):
            if f.code == code and f.fix is None:
                if code == "dmarc.no-rua" and "rua=" not in fix.value.lower():
                    continue  # a record without a report address doesn't answer "no report address"
                if code == "dmarc.p-missing" and (fix.host.lower() != record_host.lower()
                                                  or not _has_policy(fix.value)):
                    continue  # only a record that writes p= where it was missing answers "p= missing"
                findings[i] = replace(f, fix=fix)
                for j, g in enumerate(findings):
                    if g.code in _TIDIED and g.fix is None:
                        findings[j] = replace(g, fix=fix)
                return findings
    findings.append(Finding("dmarc.next-record", Severity.INFO, "A tidier version of your DMARC record.",
                            detail=fix.value, rfc=RFC, fix=fix))
    return findings


def _summary(st: _State, status: Status) -> str:
    d = st.domain
    if status is Status.ERROR and st.policy is None:
        return (f"DMARC for {d} could not be checked: the lookup of {st.failed_query} failed (try again later)."
                if st.failed_query else f"DMARC for {d} could not be checked: a DNS lookup failed.")
    if st.record is None:
        if any(f.code == "dmarc.multiple-records" for f in st.findings):
            return f"{d} has more than one DMARC record, so receivers ignore them all."
        if any(f.code == "dmarc.invalid-record" for f in st.findings):
            return f"{d}'s DMARC record has a mistake that makes receivers ignore it."
        if any(f.code == "dmarc.record-at-doubled-name" for f in st.findings):
            return (f"{d}'s DMARC record is at the wrong name (the domain typed twice), so receivers don't see "
                    "it.")
        if any(f.code == "dmarc.record-at-apex" for f in st.findings):
            return f"{d}'s DMARC record is in the wrong place (at the domain, not at _dmarc), so receivers don't see it."
        if st.nxdomain:
            return f"{d} does not exist in DNS."
        return f"{d} has no DMARC record: nothing stops others from sending mail in its name."
    src = "" if st.own else f" (inherited from {st.policy_domain})"
    if st.policy is None:
        return f"{d}'s DMARC record{src} has errors that make receivers ignore it."
    broken = any(f.severity is Severity.ERROR for f in st.findings)
    prefix = "DMARC has errors but receivers read it as" if broken else "DMARC is"
    test = " in test mode (t=y)" if st.testing else ""
    tag = st.policy_tag
    if not st.own and st.exists is False:
        via = f", inherited from {st.policy_domain}"
        return (f"{d} does not exist; mail claiming to come from it is rejected ({tag}=reject{via})."
                if st.policy == "reject" else
                f"{d} does not exist, yet mail claiming to come from it is {_gentle(st.policy)} ({tag}={st.policy}"
                f"{via}).")
    if test:  # t=y: receivers apply one step less than p= says
        return {
            "quarantine": f"{prefix} in test mode (t=y){src}: failing mail is still delivered, not sent to spam "
                          f"({tag}=quarantine).",
            "reject": f"{prefix} in test mode (t=y){src}: failing mail goes to spam instead of being rejected "
                      f"({tag}=reject).",
        }[st.policy]
    text = {
        "none": f"{prefix} in monitoring mode ({tag}=none){src}: spoofed mail is still delivered.",
        "quarantine": f"{prefix} enforced{src}: failing mail goes to spam ({tag}=quarantine).",
        "reject": f"{prefix} fully enforced{src}: failing mail is rejected ({tag}=reject).",
    }
    return text[st.policy]


__all__ = ["DmarcDestination", "DmarcDetail", "DmarcNextRecord", "check"]
