"""Plan → confirm → apply → verify → check again, and undo from the journal.

``make_plan`` turns the fixes of a domain check (and the corrections of host-form mistakes) into changes at
the DNS host: each ``Change`` is add / replace / delete with the old and new values, the TTL and the finding
it solves. Rules (each has a test):

- only the records in the plan change: a change names the exact old value it removes;
- SPF is merged, never a second SPF record: a fix that *publishes* SPF next to an existing one is merged with
  it (``spf.merge_records``: every sender kept); a *replace* fix is the checks' corrected record (the senders
  already merged) and replaces every SPF record at the name; the same holds for DMARC, DKIM keys, MTA-STS,
  TLS-RPT and BIMI records (one record per name);
- a fix that needs a person's judgement is left out with the reason: one the checks mark as a draft to
  complete (``Fix.kind == "starting-point"``, e.g. an SPF record covering only the mail servers seen) or as
  right only under a condition the person must confirm (``Fix.kind == "suggestion"``, e.g. "only for a
  domain that never sends mail"), a DS record that goes to the registrar, a record outside the zone, an MX
  change whose old record can't be told;
- never two changes that undo each other: a record that is already exactly the value to keep is kept and the
  others deleted (no "replace A by B, then delete B"); a plan that would take away a record it publishes is
  refused;
- the plan is tried first with ``what_if``'s overlay (the normal checks run as if the plan were published):
  a plan that would make any check worse, add a new error, or leave a finding it targets in place (other than
  a DMARC ladder step now asking for the next record) is refused, and so is one whose targeted check couldn't
  be checked in the trial run (a timeout is never taken for "it works").

``apply_plan`` refuses without a confirmation, re-reads the records at the DNS host and refuses if any changed
since the plan (nothing is then changed), writes the journal before each API call, and stops at the first
failure (the journal then says what was applied). ``undo_change`` reverses a journal entry the same way,
after checking that nobody changed those records since. Everything that talks to the DNS host runs in a worker
thread (lexicon is synchronous).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Callable

from ..model import DomainReport, Fix, Severity, Status
from .journal import Journal, JournalEntry
from .lexicon_adapter import LiveRecord, ProviderSession, PublishError
from .mistakes import Mistake
from .propagation import OLD_TTL, Expect, family, normalize_rdata

PUBLISHABLE_TYPES = ("TXT", "MX", "A", "AAAA", "CNAME")
_STATUS_RANK = {Status.PASS: 0, Status.INFO: 0, Status.WARN: 1, Status.ERROR: 2, Status.FAIL: 3}
# Why a fix the checks mark as needing a person (``Fix.kind``) is not published for them.
_NEEDS_A_PERSON = {
    "starting-point": "a starting point you need to complete first (add every service that sends your mail), "
                      "so it isn't published for you",
    "suggestion": "right only if what its note says is true for your domain, which InboxReady can't know",
}
_INFO_REASON = "a suggestion, not a problem: right if it fits your domain"
_LOCKDOWN_REASON = ("one of the lockdown records, right only for a domain that never sends or receives mail, which "
                    "InboxReady can't know")
# What the person chooses to include (``make_plan(include=...)``), and what each does, in words for the plan.
INCLUDE_SUGGESTIONS, INCLUDE_LOCKDOWN = "suggestions", "lockdown"
INCLUDE_WORDS = {
    INCLUDE_SUGGESTIONS: "records that are right only under a condition you confirm (each note says which), and "
                         "improvements that fix no problem",
    INCLUDE_LOCKDOWN: "the lockdown records for a domain that never sends or receives mail: null MX (it accepts no "
                      "mail), SPF 'v=spf1 -all' (no server may send as it), DMARC p=reject (receivers refuse mail in "
                      "its name) and a revoked DKIM key for every selector",
}
# The MX check's verdict that a domain is unused for email (or says it sends none): only then --lockdown.
LOCKDOWN_FINDINGS = ("mx.parked-lockdown", "mx.lockdown-incomplete", "mx.locked-down")


@dataclass
class Change:
    action: str  # add | replace | delete
    host: str
    type: str
    old: str | None
    new: str | None
    ttl: int = 3600
    old_ttl: int | None = None
    finding: str = ""
    why: str = ""
    note: str = ""
    included: str = ""  # "" (a fix of a problem), or what the person chose to include: suggestions | lockdown
    # a TXT record's exact character-strings, when they matter (undo puts back the strings that were there)
    old_strings: tuple[str, ...] | None = None
    new_strings: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "host": self.host, "type": self.type, "old": self.old, "new": self.new,
                "finding": self.finding, "why": self.why, "ttl": self.ttl, "note": self.note,
                "included": self.included or None}

    def step(self) -> dict[str, Any]:
        return {"action": self.action, "host": self.host, "type": self.type, "old": self.old, "new": self.new,
                "ttl": self.ttl, "old_ttl": self.old_ttl, "finding": self.finding, "old_strings": self.old_strings,
                "new_strings": self.new_strings}

    @property
    def expectations(self) -> list[Expect]:
        out = []
        basis = OLD_TTL if self.old_ttl is not None else ""
        if self.new is not None:
            out.append(Expect(self.host, self.type, self.new, stale_for=self.old_ttl, stale_basis=basis))
        if self.old is not None:
            out.append(Expect(self.host, self.type, self.old, absent=True, stale_for=self.old_ttl, stale_basis=basis))
        return out


@dataclass(frozen=True)
class LeftOut:
    fix: Fix
    finding: str
    reason: str
    include: str = ""  # what would include it: suggestions | lockdown ("" when nothing: it needs a person)

    def to_json(self) -> dict[str, Any]:
        return {"host": self.fix.host, "type": self.fix.type, "value": self.fix.value, "action": self.fix.action,
                "kind": self.fix.kind, "finding": self.finding, "reason": self.reason,
                "include": self.include or None}


@dataclass
class Plan:
    domain: str
    zone: str
    account: str
    provider: str
    changes: list[Change] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)
    before: dict[tuple[str, str], list[tuple[str, int | None]]] = field(default_factory=dict)  # live at plan time
    predicted: DomainReport | None = None
    problem: str = ""  # set when the plan must not be applied (it would make things worse, or not fix it)
    # what the plan sets out to solve: (check, finding code, the finding's words, the fix) per planned fix
    targets: list[tuple[str, str, str, Fix]] = field(default_factory=list)

    @property
    def expectations(self) -> list[Expect]:
        out: list[Expect] = []
        finals = self.final_sets()
        for c in self.changes:
            for e in c.expectations:
                if e.absent and normalize_rdata(e.type, e.value) in {
                        normalize_rdata(e.type, v) for v in finals.get((c.host, c.type), [])}:
                    continue  # replaced by the same value elsewhere in the plan
                if e not in out:
                    out.append(e)
        return out

    def final_sets(self) -> dict[tuple[str, str], list[str]]:
        """The record set at each touched (host, type) once the plan is applied."""
        sets = {k: [v for v, _ in vals] for k, vals in self.before.items()}
        for c in self.changes:
            cur = sets.setdefault((c.host, c.type), [])
            if c.old is not None:
                key = normalize_rdata(c.type, c.old)
                cur[:] = [v for v in cur if normalize_rdata(c.type, v) != key]
            if c.new is not None and normalize_rdata(c.type, c.new) not in {normalize_rdata(c.type, v) for v in cur}:
                cur.append(c.new)
        return sets

    def to_json(self) -> list[dict[str, Any]]:
        return [c.to_json() for c in self.changes]

    def left_out_once(self) -> list[tuple[LeftOut, list[str]]]:
        """Each left-out record (or set of records) once, with every finding that offered it: the lockdown set is
        offered by the MX card, and its records one by one by SPF, DMARC and DKIM too (shown once, in the set)."""
        groups: dict[tuple[tuple[str, str, str], ...], tuple[LeftOut, list[str]]] = {}
        for lo in self.left_out:
            key = tuple(_rec(r) for r in lo.fix.records)
            groups.setdefault(key, (lo, []))[1].append(lo.finding)
        sets = [k for k in groups if len(k) > 1]
        out = []
        for key, (lo, codes) in groups.items():
            container = next((o for o in sets if len(key) == 1 and set(key) <= set(o)), None)
            if container is not None:
                groups[container][1].extend(codes)
                continue
            out.append((lo, codes))
        return out


# -- choosing the fixes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    fixes: tuple[Fix, ...]
    finding: str
    why: str
    check: str
    included: str = ""  # what the person chose to include for it: suggestions | lockdown


def _rec(f: Fix) -> tuple[str, str, str]:
    return f.host.lower().rstrip("."), f.type.upper(), normalize_rdata(f.type.upper(), f.value)


def candidates(report: DomainReport, mistakes: list[Mistake] | None = None,
               checks: tuple[str, ...] | None = None,
               include: frozenset[str] | set[str] = frozenset()) -> tuple[list[Candidate], list[LeftOut]]:
    """The fixes worth publishing, mistakes' corrections first. Left out unless ``include`` names them:
    suggestions (a record right only under a condition, whichever finding carries it: a record one check calls
    a suggestion is one everywhere; and improvements that fix no problem) and the lockdown records (only for a
    domain the MX check judged unused for email). A starting point is never published for the person."""
    from ..checks.posture import lockdown_fixes

    out: list[Candidate] = []
    left: list[LeftOut] = []
    for m in mistakes or []:
        if checks is None or m.check in checks:
            out.append(Candidate(m.fixes, m.code, m.message, m.check))
    conditional = {_rec(r) for res in report.checks.values() for f in res.findings for o in f.options
                   if o.kind == "suggestion" for r in o.records}
    lockdown = {_rec(r) for r in lockdown_fixes(report.domain)}
    for name, result in report.checks.items():
        if checks is not None and name not in checks:
            continue
        for f in result.findings:
            if f.fix is None:
                continue
            recs = tuple(f.fix.records)  # with its companion records
            if f.fix.kind == "starting-point":
                left.append(LeftOut(f.fix, f.code, _NEEDS_A_PERSON["starting-point"]))
                continue
            is_lockdown = f.code in LOCKDOWN_FINDINGS or {_rec(r) for r in recs} <= lockdown
            needs_choice = (f.fix.kind != "record" or f.severity not in (Severity.ERROR, Severity.WARNING)
                            or any(_rec(r) in conditional for r in recs))
            if is_lockdown and (needs_choice or f.code in LOCKDOWN_FINDINGS):
                if INCLUDE_LOCKDOWN in include:
                    out.append(Candidate(recs, f.code, f.message, name, INCLUDE_LOCKDOWN))
                else:
                    left.append(LeftOut(f.fix, f.code, _LOCKDOWN_REASON, INCLUDE_LOCKDOWN))
                continue
            if needs_choice:
                if INCLUDE_SUGGESTIONS in include and f.fix.kind in ("record", "suggestion"):
                    out.append(Candidate(recs, f.code, f.message, name, INCLUDE_SUGGESTIONS))
                elif f.fix.kind not in ("record", "suggestion"):
                    left.append(LeftOut(f.fix, f.code, "it needs your judgement before it is published, so it isn't "
                                                       "published for you"))
                else:
                    reason = _INFO_REASON if f.severity not in (Severity.ERROR, Severity.WARNING) and \
                        f.fix.kind == "record" and not any(_rec(r) in conditional for r in recs) \
                        else _NEEDS_A_PERSON["suggestion"]
                    left.append(LeftOut(f.fix, f.code, reason, INCLUDE_SUGGESTIONS))
                continue
            out.append(Candidate(recs, f.code, f.message, name))
    return out, left


def replace_candidate(c: Candidate, fixes: tuple[Fix, ...]) -> Candidate:
    return Candidate(fixes, c.finding, c.why, c.check, c.included)


def _in_zone(host: str, zone: str) -> bool:
    h, z = host.rstrip(".").lower(), zone.rstrip(".").lower()
    return h == z or h.endswith("." + z)


async def make_plan(report: DomainReport, zone: str, session: ProviderSession, *, account: str,
                    mistakes: list[Mistake] | None = None, checks: tuple[str, ...] | None = None,
                    fixes: list[tuple[Fix, str, str]] | None = None,
                    include: frozenset[str] | set[str] = frozenset()) -> Plan:
    """The changes that publish the report's fixes (or exactly ``fixes``: (fix, finding code, why)) at the
    account's DNS host, from the records the host has now (read through ``session``, in a thread).
    ``include``: what else the person chose to publish (``INCLUDE_SUGGESTIONS``, ``INCLUDE_LOCKDOWN``)."""
    if fixes is not None:  # chosen by the person from a fix box: a suggestion is theirs to take, a draft is not
        cands = [Candidate(tuple(f.records), *_finding_of(report, f, code, why)) for f, code, why in fixes
                 if f.kind != "starting-point"]
        left: list[LeftOut] = [LeftOut(f, code, "a starting point, not the finished record: complete it first (the "
                                                "SPF builder under Tools helps), then publish the finished record")
                               for f, code, _ in fixes if f.kind == "starting-point"]
    else:
        cands, left = candidates(report, mistakes, checks, include)
    plan = Plan(report.domain, zone, account, session.provider, left_out=left)
    if INCLUDE_LOCKDOWN in include and fixes is None:
        mx = report.checks.get("mx")
        if mx is None or not any(f.code in LOCKDOWN_FINDINGS for f in mx.findings):
            plan.problem = (f"--lockdown is only for a domain that never sends or receives mail, and InboxReady doesn't "
                            f"see {report.domain} that way (it has mail servers, an SPF record that lets servers send, "
                            "or its MX check couldn't run), so nothing is applied. Leave out --lockdown.")
            return plan
    taken: set[tuple[str, str, str]] = set()
    planned: set[tuple[str, str, str]] = set()  # exact records already in the plan
    usable: list[Candidate] = []
    for c in cands:
        same = [f for f in c.fixes if _rec(f) in planned]
        if same:  # the same record offered by another finding (the lockdown set and each of its records)
            c = replace_candidate(c, tuple(f for f in c.fixes if _rec(f) not in planned))
            if not c.fixes:
                continue
        problem = ""
        for f in c.fixes:
            if f.type.upper() == "DS":
                problem = "a DS record is published at your domain's registrar, not at the DNS host"
            elif f.type.upper() not in PUBLISHABLE_TYPES:
                problem = f"{f.type} records aren't published for you; add it by hand"
            elif not _in_zone(f.host, zone):
                problem = f"{f.host} is outside the zone {zone}: publish it at that domain's DNS host"
            elif f.type.upper() == "MX" and f.action == "replace" and f.value.strip() not in ("0 .",):
                pref = f.value.split()[0] if f.value.split() else ""
                if not pref.isdigit():
                    problem = "an MX record InboxReady can't read"
        keys = {(f.host.lower().rstrip("."), f.type.upper(), family(f.host, f.type, f.value)) for f in c.fixes}
        if not problem and keys & taken:
            problem = "another change to the same record comes first in this plan"
        if problem:
            plan.left_out.extend(LeftOut(f, c.finding, problem) for f in c.fixes)
            continue
        taken |= keys
        planned |= {_rec(f) for f in c.fixes}
        usable.append(c)
    # A name that is an alias (CNAME) can hold no other record: the host refuses one (or, worse, some replace
    # the alias). The record belongs at the alias's target, run by whoever the alias points to.
    hosts = sorted({f.host.lower().rstrip(".") for c in usable for f in c.fixes if f.type.upper() != "CNAME"})
    aliases = {h: r for h, r in zip(hosts, await asyncio.to_thread(lambda: [session.list("CNAME", h) for h in hosts]))
               if r}
    if aliases:
        kept = []
        for c in usable:
            alias = next(((f.host.lower().rstrip("."), aliases[f.host.lower().rstrip(".")][0].value)
                          for f in c.fixes if f.type.upper() != "CNAME" and f.host.lower().rstrip(".") in aliases),
                         None)
            if alias is None:
                kept.append(c)
                continue
            target = alias[1].rstrip(".")
            plan.left_out.extend(LeftOut(f, c.finding, f"{alias[0]} is an alias (CNAME) of {target}, so no other record "
                                                       f"can be added there: the record is published at {target} (by "
                                                       "whoever runs it), or remove the alias first and publish it "
                                                       "by hand") for f in c.fixes)
        usable = kept
    needed = sorted({(f.host.lower().rstrip("."), f.type.upper()) for c in usable for f in c.fixes})

    def read() -> dict[tuple[str, str], list[LiveRecord]]:
        return {k: session.list(k[1], k[0]) for k in needed}

    live = await asyncio.to_thread(read)
    plan.before = {k: [(r.value, r.ttl) for r in v] for k, v in live.items()}
    working = {k: list(v) for k, v in plan.before.items()}
    for c in usable:
        for f in c.fixes:
            _plan_fix(plan, working, f, c)
        if c.fixes and c.check:
            plan.targets.append((c.check, c.finding, c.why, c.fixes[0]))
    finals = plan.final_sets()
    lost = [c for c in plan.changes if c.new is not None and normalize_rdata(c.type, c.new) not in
            {normalize_rdata(c.type, v) for v in finals.get((c.host, c.type), [])}]
    if lost:  # a later change would take away what an earlier one publishes: never send such a plan
        plan.problem = (f"This plan would remove the {lost[0].type} record at {lost[0].host} that it publishes "
                        f"({(lost[0].new or '')[:80]!r}), so it is not applied. Publish the fix by hand from its fix box.")
    return plan


def _finding_of(report: DomainReport, fix: Fix, code: str, why: str) -> tuple[str, str, str]:
    """(finding code, its words, check) for a fix chosen from a fix box: the finding that offers it (the app
    knows only the fix), so the plan can say what it solves and its trial run can tell whether it does."""
    mine = {(r.host.lower().rstrip("."), r.type.upper(), r.value) for r in fix.records}
    for name, result in report.checks.items():
        for f in result.findings:
            for option in f.options:
                if option == fix or {(r.host.lower().rstrip("."), r.type.upper(), r.value)
                                     for r in option.records} == mine:
                    if not code or code == f.code:
                        return f.code, why if code and why else f.message, name
    for name, result in report.checks.items():  # a record of the person's own for a finding the check named
        for f in result.findings:
            if code and f.code == code:
                return code, why or f.message, name
    return code, why, ""


def _plan_fix(plan: Plan, working: dict[tuple[str, str], list[tuple[str, int | None]]], f: Fix, c: Candidate) -> None:
    host, rtype = f.host.lower().rstrip("."), f.type.upper()
    cur = working.setdefault((host, rtype), [])
    def norm(v: str) -> str:
        return normalize_rdata(rtype, v)

    def add(value: str) -> None:
        plan.changes.append(Change("add", host, rtype, None, value, f.ttl, None, c.finding, c.why, f.note,
                                   c.included))
        cur.append((value, f.ttl))

    def replace(old: tuple[str, int | None], value: str, note: str = "") -> None:
        plan.changes.append(Change("replace", host, rtype, old[0], value, old[1] or f.ttl, old[1], c.finding, c.why,
                                   note or f.note, c.included))
        cur.remove(old)
        cur.append((value, old[1] or f.ttl))

    def delete(old: tuple[str, int | None], note: str = "") -> None:
        plan.changes.append(Change("delete", host, rtype, old[0], None, old[1] or f.ttl, old[1], c.finding, c.why,
                                   note or f.note, c.included))
        cur.remove(old)

    if f.action == "remove":
        match = [r for r in cur if norm(r[0]) == norm(f.value)]
        for r in match:
            delete(r)
        return
    fam = family(host, rtype, f.value)
    if any(norm(r[0]) == norm(f.value) for r in cur) and not fam.startswith("exact:") and \
            len([r for r in cur if family(host, rtype, r[0]) == fam]) == 1:
        return  # already exactly as it should be
    if fam.startswith("exact:"):
        if not any(norm(r[0]) == norm(f.value) for r in cur):
            add(f.value)
        return
    same = [r for r in cur if family(host, rtype, r[0]) == fam]
    if rtype == "MX" and f.action == "replace" and f.value.strip() != "0 .":
        pref = f.value.split()[0]
        same = [r for r in cur if r[0].split()[:1] == [pref]]
        if len(same) != 1:
            plan.left_out.append(LeftOut(f, c.finding, "it isn't clear which MX record it replaces; change it by "
                                                       "hand"))
            return
    if not same:
        add(f.value)
        return
    value = f.value
    note = ""
    if fam == "spf1" and f.action != "replace":
        from ..checks.spf import merge_records

        value, notes = merge_records([r[0] for r in same] + [f.value])
        note = "Merged with your SPF record so every sender is kept (one SPF record only). " + " ".join(notes)
    keep = next((r for r in same if norm(r[0]) == norm(value)), None)
    if keep is None:
        keep = same[0]
        replace(keep, value, note.strip())
    for extra in same:  # never delete the record being kept (one may already be exactly the new value)
        if extra is not keep:
            delete(extra, "A second record of the same kind would break it: only one may exist.")


# Findings that are steps of a ladder: once their record is published the same finding may stay and ask for the
# next, different record (DMARC p=none with reports, then quarantine, then reject).
LADDER_CODES = frozenset({"dmarc.policy-none", "dmarc.testing-mode", "dmarc.policy-quarantine"})


def _unsolved(plan: Plan, base_report: DomainReport, report: DomainReport) -> list[str]:
    """The targeted findings the trial run still shows (not a ladder step asking for a next record, not a note
    that became a plain statement)."""
    published = {(c.host, c.type, normalize_rdata(c.type, c.new)) for c in plan.changes if c.new is not None}
    out: list[str] = []
    for check, code, why, _fix in plan.targets:
        before, after = base_report.checks.get(check), report.checks.get(check)
        if before is None or after is None or after.status is Status.ERROR:
            continue  # not a finding of a check, or the trial couldn't check: nothing to tell
        was = [f for f in before.findings if f.code == code]
        if not was:
            continue
        target = next((f for f in was if f.message == why), was[0])
        same = [f for f in after.findings if f.code == code]
        still = same if len(was) == 1 else [f for f in same if f.message == target.message]
        for f in still:
            next_step = code in LADDER_CODES and f.fix is not None and all(
                (r.host.lower().rstrip("."), r.type.upper(), normalize_rdata(r.type.upper(), r.value)) not in published
                for r in f.fix.records)
            statement = (target.severity is Severity.INFO and f.severity is Severity.INFO and f.fix is None
                         and f.message != target.message)
            if not (next_step or statement):
                out.append(f"{code} would still be there ({f.message[:140]})")
                break
    return out


async def predict(plan: Plan, base_report: DomainReport, options: Any, client: Any) -> None:
    """Run the checks as if the plan were published (``what_if`` overlay); set ``plan.predicted`` and, when a
    check would get worse, a new error would appear, or a finding the plan sets out to solve would still be
    there, ``plan.problem`` (the plan is then not applied)."""
    from ..builders.whatif import OverlayDns, WhatIfError
    from ..checks.runner import run_check

    if not plan.changes or plan.problem:
        return
    try:
        overlay = OverlayDns(client, plan.final_sets())
    except WhatIfError as exc:
        plan.problem = f"The plan couldn't be tried before publishing it: {exc}"
        return
    report = await run_check(plan.domain, options, client=overlay)
    plan.predicted = report
    worse = []
    for name, after in report.checks.items():
        before = base_report.checks.get(name)
        if before is None:
            continue
        if _STATUS_RANK.get(after.status, 0) > _STATUS_RANK.get(before.status, 0) and after.status is not Status.ERROR:
            worse.append(f"{name} would go from {before.status.label} to {after.status.label}")
        elif after.status is not Status.ERROR:
            was = {f.code for f in before.findings if f.severity is Severity.ERROR}
            new = [f for f in after.findings if f.severity is Severity.ERROR and f.code not in was]
            if new:
                worse.append(f"{name} would have a new problem: {new[0].message[:140]}")
    if worse:
        plan.problem = ("This plan was tried before publishing and it would make things worse (" + "; ".join(worse)
                        + "), so it is not applied.")
        return
    untried = sorted({check for check, *_ in plan.targets if (tried := report.checks.get(check)) is not None
                      and tried.status is Status.ERROR and (live := base_report.checks.get(check)) is not None
                      and live.status is not Status.ERROR})
    if untried:  # a timeout or SERVFAIL in the trial run: we can't tell that the plan fixes it, so don't send it
        plan.problem = ("This plan couldn't be tried before publishing: " + "; ".join(
            f"{n} couldn't be checked as if published ({report.checks[n].summary[:140]})" for n in untried)
            + ". It is not applied and nothing was changed: try again in a moment.")
        return
    unsolved = _unsolved(plan, base_report, report)
    if unsolved:
        plan.problem = ("This plan was tried before publishing and it wouldn't fix what it is for ("
                        + "; ".join(unsolved) + "), so it is not applied. Nothing was changed.")


# -- applying ----------------------------------------------------------------------------------------


@dataclass
class ApplyResult:
    change_id: str
    applied: bool  # every step applied
    state: str  # applied | partial | failed | refused
    message: str
    kind: str = ""  # PublishError kind when refused/failed
    steps_applied: int = 0


class Refused(RuntimeError):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _same_sets(a: list[tuple[str, int | None]], b: list[tuple[str, int | None]], rtype: str) -> bool:
    return sorted(normalize_rdata(rtype, v) for v, _ in a) == sorted(normalize_rdata(rtype, v) for v, _ in b)


# Record types whose sets may hold the old and the new record side by side for a moment: a replace there adds the
# new record first and then deletes the old, so a DNS host that fails half-way leaves the old record in place.
# (A CNAME can't stand next to anything: deleted first.)
SIDE_BY_SIDE = frozenset({"TXT", "MX", "A", "AAAA", "CAA", "SRV"})


def _delete_first(c: Change) -> bool:
    """Where the DNS host can't swap a record in one request (``ProviderSession.replace_in_set``), which of the
    two calls of a replace goes first, by what a receiver makes of the moment between them.

    SPF: the old record is deleted first. Two SPF records at a name are a permerror for every receiver that
    looks then (RFC 7208 §4.5, §3.2), which receivers may treat as a hard failure; no SPF record is "none"
    (§4.5), which is no policy at all (DMARC then rests on DKIM). The moment with none is the lesser harm,
    and so is a failure left half-way (put back at once; if that fails too, none is still better than two).

    The rest (DMARC, DKIM keys, MTA-STS, TLS-RPT, BIMI): the new record is added first. Two DMARC, MTA-STS or
    TLS-RPT records count the same as none (RFC 9989 policy discovery discards a name with more than one
    record; RFC 8461 §3.1; RFC 8460 §3), so the order changes nothing for receivers, and adding first means a
    host that refuses the new record has changed nothing. Two DKIM keys at a selector still verify for
    verifiers that try each (RFC 6376 §3.6.2.2), none verifies for nobody."""
    return c.type.upper() == "TXT" and family(c.host, c.type, c.new or c.old or "") == "spf1"


def _put_back(session: ProviderSession, c: Change, old: LiveRecord | None, created: bool, deleted: bool,
              lost: list[PublishError] | None = None) -> bool:
    """Undo the half of a replace that reached the host (take the new record away, put the old one back) and
    read the set again: True only when it is now as it was before the step. A call of it whose answer was lost
    (it may have been applied) is added to ``lost``."""
    def norm(v: str) -> str:
        return normalize_rdata(c.type, v)

    try:
        session.refresh()  # what the host has now, not the provider's copy (a refused call can leave it wrong)
        if created and c.new is not None:
            new = next((r for r in session.list(c.type, c.host) if norm(r.value) == norm(c.new)), None)
            if new is not None:
                session.delete(c.type, c.host, new.value, new.raw)
        if deleted and old is not None:
            session.create(c.type, c.host, old.value, old.ttl or c.old_ttl or c.ttl, old.strings or None)
        values = {norm(r.value) for r in session.list(c.type, c.host)}
    except PublishError as exc:
        if exc.maybe_applied and lost is not None:
            lost.append(exc)
        return False
    return (old is None or norm(old.value) in values) and (c.new is None or norm(c.new) not in values)


def _run_steps(session: ProviderSession, journal: Journal, change_id: str, changes: list[Change],
               on_step: Callable[[int, Change, str], None] | None) -> tuple[int, str, bool]:
    """Apply each change in order; journal before and after each. Returns (applied count, error or '', whether
    the failed step may have changed something at the host).

    A replace is one request where the DNS host can swap a record within its set at once
    (``ProviderSession.replace_in_set``: PowerDNS), else two calls. Then, where the old and the new record can
    stand side by side (``SIDE_BY_SIDE``) the new one is added first, so a host that refuses it has changed
    nothing, except SPF, whose old record goes first (``_delete_first`` says why). When the second call is refused after
    the first reached the host, the first is undone at once (``_put_back``) and the step is ``failed`` with
    nothing changed. Only when that fails too, or when a call's answer was lost (it may or may not have been
    applied), the step stays ``pending`` ("may have been applied") with the words saying what happened, so
    undo, which looks at what is live, puts it back."""
    done = 0
    for i, c in enumerate(changes):
        created = deleted = False
        old: LiveRecord | None = None
        try:
            if c.old is not None:
                live = session.list(c.type, c.host)
                old = next((r for r in live if normalize_rdata(c.type, r.value) == normalize_rdata(c.type, c.old)), None)
            # pending before the first call that changes anything; with the old record's strings as the host
            # holds them, so undo puts back exactly those (not the joined text split afresh)
            journal.step(change_id, i, "pending", old_strings=old.strings if old is not None else None)
            swap = (old is not None and c.new is not None
                    and normalize_rdata(c.type, old.value) != normalize_rdata(c.type, c.new))
            if swap and old is not None and c.new is not None and session.replace_in_set(
                    c.type, c.host, old, c.new, c.ttl, c.new_strings):
                created = deleted = True  # one request: all of it or nothing
            else:
                new_first = swap and c.type.upper() in SIDE_BY_SIDE and not _delete_first(c)
                if new_first and c.new is not None:
                    session.create(c.type, c.host, c.new, c.ttl, c.new_strings)
                    created = True
                if old is not None:
                    session.delete(c.type, c.host, old.value, old.raw)
                    deleted = True
                if c.new is not None and not new_first:
                    session.create(c.type, c.host, c.new, c.ttl, c.new_strings)
                    created = True
        except PublishError as exc:
            half = (created or deleted) and c.old is not None and c.new is not None
            lost: list[PublishError] = []  # a call putting it back whose answer was lost
            if half and not exc.maybe_applied and _put_back(session, c, old, created, deleted, lost):
                text = (f"{str(exc).rstrip('.')}. The {c.type} record at {c.host} was put back as it was, so this "
                        "change left nothing different")
                journal.step(change_id, i, "failed", text)
                if on_step:
                    on_step(i, c, "failed")
                return done, text, False
            if half and exc.maybe_applied:  # the second call's answer was lost: it may have been applied
                first, did, asked, may = (("new", "added", "remove the old one", "removed") if created else
                                          ("old", "removed", "add the new one", "added"))
                text = (f"The {first} {c.type} record at {c.host} was {did}, then the DNS host gave no answer when "
                        f"asked to {asked}, so it may or may not have been {may}: {exc}")
            elif half and lost:
                first, did, failed, back, may = (
                    ("new", "added", "the old one could not be removed", "taking the new one away again", "taken away")
                    if created else
                    ("old", "removed", "the new one could not be added", "putting the old one back", "put back"))
                text = (f"The {first} {c.type} record at {c.host} was {did}, but {failed} ({str(exc).rstrip('.')}); "
                        f"{back} got no answer from the DNS host, so it may or may not have been {may}: {lost[0]}")
            elif half and deleted and not created:
                text = (f"The old {c.type} record at {c.host} was removed, but the new one could not be added, and "
                        f"the old one could not be put back: {exc}")
            elif half and created and not deleted:
                text = (f"The new {c.type} record at {c.host} was added, but the old one could not be removed, and "
                        f"the new one could not be taken away again: {exc}")
            elif exc.maybe_applied or half:
                text = str(exc)
            else:
                journal.step(change_id, i, "failed", str(exc))
                if on_step:
                    on_step(i, c, "failed")
                return done, str(exc), False
            journal.step(change_id, i, "pending", text)  # part of it (or all of it) may be at the host
            if on_step:
                on_step(i, c, "failed")
            return done, text, True
        journal.step(change_id, i, "applied")
        done += 1
        if on_step:
            on_step(i, c, "applied")
    return done, "", False


async def apply_plan(plan: Plan, session: ProviderSession, journal: Journal, *, confirmed: bool,
                     before: Any = None, on_step: Callable[[int, Change, str], None] | None = None) -> ApplyResult:
    """Apply ``plan`` through ``session`` (already entered). Refuses (nothing changed) without ``confirmed``,
    when the plan has a problem, or when a record changed at the DNS host since the plan was made."""
    if not confirmed:
        return ApplyResult("", False, "refused", "Nothing was applied: the plan needs your confirmation "
                                                 "(answer yes, or use --yes).", "unconfirmed")
    if plan.problem:
        return ApplyResult("", False, "refused", plan.problem, "worse")
    if not plan.changes:
        return ApplyResult("", False, "refused", "There is nothing to publish.", "empty")

    def conflicts() -> list[str]:
        out = []
        for (host, rtype), was in plan.before.items():
            now = [(r.value, r.ttl) for r in session.list(rtype, host)]
            if not _same_sets(now, was, rtype):
                out.append(f"{rtype} {host}")
        return out

    try:
        changed = await asyncio.to_thread(conflicts)
    except PublishError as exc:
        return ApplyResult("", False, "refused", str(exc), exc.kind)
    if changed:
        return ApplyResult("", False, "refused",
                           "Nothing was applied: these records changed at the DNS host since the plan was made: "
                           + ", ".join(changed) + ". Make the plan again to see what is there now.", "conflict")
    change_id = journal.start(kind="apply", domain=plan.domain, zone=plan.zone, account=plan.account,
                              provider=plan.provider, steps=[c.step() for c in plan.changes], before=before)
    done, error, touched = await asyncio.to_thread(_run_steps, session, journal, change_id, plan.changes, on_step)
    if error:
        state = "partial" if done or touched else "failed"
        undo = f"inboxready publish --undo {change_id} --account {plan.account}"
        if not done and not touched:
            msg = f"Nothing was changed at the DNS host: {error.rstrip('.')}."
        elif not touched:
            msg = (f"Stopped after {done} of {len(plan.changes)} changes: {error.rstrip('.')}. The {done} change(s) "
                   f"before it are applied (the journal, {change_id}, lists them); undo them with: {undo}")
        else:
            msg = (f"Stopped after {done} of {len(plan.changes)} changes: {error.rstrip('.')}. The journal ({change_id}) "
                   f"says what was applied; undo it with: {undo}")
        journal.finish(change_id, state, message=msg)
        return ApplyResult(change_id, False, state, msg, "failed", done)
    journal.finish(change_id, "applied", message=f"{done} change(s) applied")
    return ApplyResult(change_id, True, "applied", f"{done} change(s) applied.", "", done)


# -- undo --------------------------------------------------------------------------------------------


def undo_changes(entry: JournalEntry) -> list[Change]:
    """The changes that reverse ``entry``'s applied (or maybe-applied) steps, last first."""
    out = []
    for s in reversed(entry.applied_steps):
        action = {"add": "delete", "delete": "add", "replace": "replace"}[s.action]
        out.append(Change(action, s.host, s.type, s.new, s.old, s.old_ttl or s.ttl, s.ttl, s.finding,
                          f"undo of {entry.id} step {s.seq + 1}", old_strings=s.new_strings,
                          new_strings=s.old_strings))
    return out


async def undo_change(entry: JournalEntry, session: ProviderSession, journal: Journal, *, confirmed: bool,
                      on_step: Callable[[int, Change, str], None] | None = None) -> tuple[ApplyResult, list[Change]]:
    """Reverse ``entry``: refuses if it was undone already, or if a record it touched changed since in a way
    undoing would overwrite (a record of the same kind that is neither its old nor its new value)."""
    if entry.undone_by:
        return ApplyResult("", False, "refused", f"{entry.id} was already undone by {entry.undone_by}.", "done"), []
    changes = undo_changes(entry)
    if not changes:
        return ApplyResult("", False, "refused", f"{entry.id} has no applied change to undo.", "empty"), []
    if not confirmed:
        return ApplyResult("", False, "refused", "Nothing was undone: it needs your confirmation (answer yes, or "
                                                 "use --yes).", "unconfirmed"), changes

    ours_by_set: dict[tuple[str, str], set[str]] = {}
    for st in entry.steps:  # every value the change meant to put or take away (applied or not), per record set
        ours_by_set.setdefault((st.host, st.type), set()).update(
            normalize_rdata(st.type, v) for v in (st.old, st.new) if v is not None)

    def prepare() -> tuple[list[Change], list[str]]:
        ready: list[Change] = []
        clash: list[str] = []
        for c in changes:
            live = session.list(c.type, c.host)
            values = {normalize_rdata(c.type, r.value) for r in live}
            has_new = c.old is not None and normalize_rdata(c.type, c.old) in values  # what the change put there
            has_old = c.new is not None and normalize_rdata(c.type, c.new) in values  # what it took away
            ours = ours_by_set[(c.host, c.type)]
            fam = family(c.host, c.type, c.new or c.old or "")
            if not fam.startswith("exact:"):
                others = [r.value for r in live if family(c.host, c.type, r.value) == fam
                          and normalize_rdata(c.type, r.value) not in ours]
                if others:
                    clash.append(f"{c.type} {c.host} is now {others[0][:80]!r}")
                    continue
            if not has_new and (c.new is None or has_old):
                continue  # already as it was
            old, new = (c.old if has_new else None), (None if has_old else c.new)
            action = "replace" if old is not None and new is not None else ("delete" if new is None else "add")
            ready.append(Change(action, c.host, c.type, old, new, c.ttl, c.old_ttl, c.finding, c.why,
                                old_strings=c.old_strings if old is not None else None,
                                new_strings=c.new_strings if new is not None else None))
        return ready, clash

    try:
        ready, clash = await asyncio.to_thread(prepare)
    except PublishError as exc:
        return ApplyResult("", False, "refused", str(exc), exc.kind), changes
    if clash:
        return ApplyResult("", False, "refused", "Nothing was undone: these records were changed since "
                                                 f"{entry.id}, and undoing would overwrite that: " + "; ".join(clash)
                           + ".", "conflict"), changes
    if not ready:
        return ApplyResult("", False, "refused", f"The records are already as they were before {entry.id}.",
                           "empty"), changes
    change_id = journal.start(kind="undo", domain=entry.domain, zone=entry.zone, account=entry.account,
                              provider=entry.provider, steps=[c.step() for c in ready], undoes=entry.id)
    done, error, touched = await asyncio.to_thread(_run_steps, session, journal, change_id, ready, on_step)
    if error:
        state = "partial" if done or touched else "failed"
        msg = f"Undo stopped after {done} of {len(ready)} changes: {error}"
        journal.finish(change_id, state, message=msg)
        return ApplyResult(change_id, False, state, msg, "failed", done), ready
    journal.finish(change_id, "applied", message=f"undid {entry.id}")
    journal.mark_undone(entry.id, change_id)
    return ApplyResult(change_id, True, "applied", f"Undid {entry.id} ({done} change(s)).", "", done), ready


def verdict_summary(report: DomainReport) -> dict[str, Any]:
    """What the journal keeps of a check: the overall status and each check's status and finding codes."""
    return {"status": str(report.status),
            "checks": {n: {"status": str(r.status), "findings": [f.code for f in r.findings]}
                       for n, r in report.checks.items()}}
