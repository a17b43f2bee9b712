"""SPF (RFC 7208): the domain check.

``check(ctx)`` finds the domain's SPF record, walks its include/redirect tree counting DNS lookups
(RFC 7208 §4.6.4) per node, and reports what is wrong in plain words with the record to publish.
The parser lives in ``spfparse``, macros in ``spfmacro``, and ``check_host()`` (evaluation for one
sending IP) in ``spfeval``; the names are re-exported here.

Fixes: the record-level problems that can be fixed without guessing (several records, +all/?all or
no all, ptr, duplicate terms, terms after all, a redirect that is ignored, terms pointing at names
that do not exist) are fixed together in ONE corrected record, attached to each finding it fixes,
so the user publishes a single replacement. Too many lookups and syntax errors get an explanation,
not an invented record.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from dataclasses import dataclass, field, replace
from typing import Any, TypedDict

from ..context import CheckContext
from ..records.dmarc_walk import Walk, organizational_domain, policy_step, tree_walk
from ..dns.client import CHAIN_ERROR, LOOP_ERROR, DnsAnswer, Outcome
from .posture import lockdown_fixes
from ..model import CheckResult, Finding, Fix, Severity, Status, derive_status, quote_txt, split_txt
from ..records.spf_catalog import CatalogService, checked_date, find_include, load_catalog, unneeded_include
from ..records.spf_eval import SpfEvaluation, check_helo, check_host
from ..records.spf_macro import (
    SpfSyntaxError, is_valid_domain_name, static_target,
)
from ..records.spf_parse import (
    Mechanism, Modifier, SpfRecord, Term, is_spf_record, parse_record, parse_record_lenient, parse_term,
)
from ..records.spf_flat import collapse, range_terms, ranges_of, resolve_term
from ..records.spf_reach import GLOBAL, Contribution, Reach, reach, widens
from ..records.spf_walk import (
    MAX_LOOKUPS, MAX_MX, MAX_VOID_LOOKUPS, TreeBudget, fetch_record, follow_problem, mx_hosts,
)

log = logging.getLogger(__name__)

__all__ = [
    "check",
    "check_host",
    "check_helo",
    "SpfEvaluation",
    "SpfSyntaxError",
    "SpfRecord",
    "parse_record",
    "parse_record_lenient",
    "is_spf_record",
    "merge_records",
    "LOOKUP_LIMIT",
    "VOID_LIMIT",
    "SpfDetail",
    "SpfNodeDetail",
    "SpfFlattenedCopy",
    "DmarcStageDetail",
]


class SpfNodeDetail(TypedDict):
    """One SPF record in the include/redirect tree, as the SPF card draws it."""

    domain: str
    record: str | None  # the record's text; None when it couldn't be read (see ``error``)
    mechanism: str  # "" at the root, else the term that reached it ("include:x" / "redirect=x")
    lookups: int  # this record's own lookup-costing terms
    total: int  # own + every descendant's
    branch: int  # what this branch costs its parent out of the 10 (the root: its total)
    error: str | None
    note: str | None
    void_lookups: int
    children: list[SpfNodeDetail]


class SpfFlattenedCopy(TypedDict):
    """A flattened copy of an include (``include:<source>._spf-flat.<domain>``) compared with the live include."""

    include: str  # the include it copies
    host: str  # the copy's own name
    published: list[str]  # the networks the copy lists
    live: list[str] | None  # the networks the include lists today; None: couldn't be resolved
    current: bool | None  # the copy matches the include; None: couldn't compare this time
    problems: list[str]


class DmarcStageDetail(TypedDict):
    """The DMARC policy that applies to the domain, as far as SPF's advice depends on it."""

    policy: str | None  # none | quarantine | reject; None: no DMARC record applies
    testing: bool
    record_domain: str | None


class _SpfDetailSometimes(TypedDict, total=False):
    # keys only some results have (a TypedDict base, not NotRequired: Python 3.11 can't see NotRequired in
    # postponed annotations and would count them as required)
    flattened: list[SpfFlattenedCopy]  # only once the tree was walked
    lookup_fixes: dict[str, Any]  # only over the limit: the options tried and those left out


class SpfDetail(_SpfDetailSometimes):
    """``CheckResult.detail`` of the SPF check (every key is always there, except the two of its base)."""

    record: str | None  # the one SPF record (None: none, or several: see ``records``)
    records: list[str]  # every SPF record found
    lookups: int
    lookup_limit: int
    void_lookups: int
    void_lookup_limit: int
    tree: SpfNodeDetail
    terms: list[dict[str, Any]]  # ``Mechanism.to_json()`` / ``Modifier.to_json()``
    errors: list[dict[str, Any]]  # ``SpfSyntaxError.to_json()``
    txt_strings: list[str]  # the record's strings as published (a record split in pieces)
    all: str | None  # the result of its 'all' term, or None without one
    spf_rr: list[str]  # records of the retired SPF type
    sender_id: list[str]  # Sender ID records (spf2.0/...)
    merged_record: str | None  # several records: the one combined record offered instead
    dmarc_stage: DmarcStageDetail | None  # None: DMARC couldn't be looked up
    all_advice: str | None  # the 'all' term advised for that DMARC stage

LOOKUP_LIMIT = MAX_LOOKUPS
VOID_LIMIT = MAX_VOID_LOOKUPS
RECORD_SIZE_ADVICE = 450  # RFC 7208 §3.4
MAX_PROBES = 40  # a/mx/exists targets looked up while walking one tree
MAX_MX_ADDRESS_HOSTS = 30  # mail servers of mx terms whose addresses are looked up while walking one tree

RFC_RECORD = "RFC 7208 §4.5"
RFC_LIMITS = "RFC 7208 §4.6.4"
RFC_ALL = "RFC 7208 §5.1"
RFC_PTR = "RFC 7208 §5.5"
RFC_INCLUDE = "RFC 7208 §5.2"
RFC_REDIRECT = "RFC 7208 §6.1"
RFC_SYNTAX = "RFC 7208 §4.6"
RFC_SPF_RR = "RFC 7208 §3.1, §14.1"
RFC_SIZE = "RFC 7208 §3.4"
RFC_STRINGS = "RFC 7208 §3.3"

# Mail hosting providers recognised from MX host names, and the include their help pages give.
PROVIDERS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("google.com", "googlemail.com"), "include:_spf.google.com", "Google Workspace"),
    (("protection.outlook.com", "mx.microsoft"), "include:spf.protection.outlook.com", "Microsoft 365"),
    (("messagingengine.com",), "include:spf.messagingengine.com", "Fastmail"),
    (("protonmail.ch",), "include:_spf.protonmail.ch", "Proton Mail"),
)

ALL_WORDS = {
    "+": "allows every server on the internet to send as you",
    "?": "says nothing about servers that are not listed (neutral)",
    "~": "marks mail from unlisted servers as suspicious (soft fail)",
    "-": "tells receivers to reject mail from unlisted servers (fail)",
}

RFC_ALL_STAGE = "RFC 7208 §8.4; RFC 9989 §7.2"

SOFTALL_NOTE = (
    "~all (soft fail) is the safe ending while your DMARC policy is not yet p=reject: mail from an "
    "unlisted server is treated as suspicious and DMARC decides what happens to it. Once DMARC is at "
    "p=reject and its reports show all your services passing, you may change it to -all.")


HARDALL_NOTE = (
    "-all (fail) matches your DMARC policy of p=reject: mail from servers you did not list is refused "
    "either way. Keep ~all instead if you know your mail is forwarded a lot (mailing lists, forwarding "
    "addresses), since a receiver may refuse a forwarded message on SPF alone before DKIM can save it.")


@dataclass(frozen=True)
class DmarcStage:
    """The DMARC policy receivers apply to mail from the domain (its own record or the one it inherits)."""

    policy: str | None  # none | quarantine | reject; None: no DMARC record applies
    testing: bool  # t=y
    record_domain: str | None  # where the record was found

    @property
    def enforcing_reject(self) -> bool:
        return self.policy == "reject" and not self.testing

    def to_json(self) -> DmarcStageDetail:
        return {"policy": self.policy, "testing": self.testing, "record_domain": self.record_domain}


async def _dmarc_walk(ctx: CheckContext, domain: str) -> Walk | None:
    try:
        return await tree_walk(ctx.dns, domain)
    except Exception:  # the DMARC check reports DMARC trouble; SPF only loses its advice
        return None


def dmarc_stage(walk: Walk | None, *, exists: bool = True) -> DmarcStage | None:
    """The DMARC stage the RFC 9989 tree walk shows for the walked domain (the record the DMARC check uses:
    ``policy_step``, its own, its Organizational Domain's or a public suffix's, with ``sp``, or ``np`` for a
    name that doesn't exist, when inherited); None when it couldn't be looked up (then SPF gives no advice
    that depends on it)."""
    if walk is None:
        return None
    step, how = policy_step(walk)
    if step is not None and step.record is not None:
        own = how == "own"
        return DmarcStage(step.record.policy_for(subdomain=not own, exists=exists), step.record.testing, step.name)
    # A walk that stopped at the top-level domain (whose _dmarc name many servers refuse to answer) is
    # complete enough: no record there changes the policy of the names below (as in the DMARC check).
    stopped = walk.failed is not None and "." in walk.failed.name
    return None if stopped else DmarcStage(None, False, None)


def all_for_stage(stage: DmarcStage | None) -> str | None:
    """The 'all' qualifier to advise at this DMARC stage: '-' at an enforced p=reject, else '~';
    None when the stage is unknown."""
    if stage is None:
        return None
    return "-" if stage.enforcing_reject else "~"


def _stage_words(stage: DmarcStage) -> str:
    if stage.policy is None:
        return "your domain has no DMARC policy yet"
    words = f"your DMARC policy is p={stage.policy}"
    return words + " in testing mode (t=y)" if stage.testing else words


# -- the include tree -----------------------------------------------------------------------------


@dataclass
class Node:
    """One SPF record in the include/redirect tree (``to_json`` is the shape the app draws)."""

    domain: str
    record: str | None
    mechanism: str  # "" at the root, else "include:x" / "redirect=x"
    lookups: int = 0  # this record's own lookup-costing terms
    total: int = 0  # own + all descendants
    error: str | None = None
    note: str | None = None
    void_lookups: int = 0
    children: list["Node"] = field(default_factory=list)

    def to_json(self) -> SpfNodeDetail:
        return {
            "domain": self.domain, "record": self.record, "mechanism": self.mechanism,
            "lookups": self.lookups, "total": self.total, "branch": self.branch, "error": self.error,
            "note": self.note,
            "void_lookups": self.void_lookups, "children": [c.to_json() for c in self.children],
        }

    @property
    def branch(self) -> int:
        """What this branch costs out of the 10: the include/redirect term itself plus everything
        below it (the root: its total). The branches of a node's children add up to its total."""
        return self.total + (1 if self.mechanism else 0)

    def walk(self) -> list["Node"]:
        out = [self]
        for c in self.children:
            out.extend(c.walk())
        return out


MAX_REDIRECTS = 10  # a chain of redirects followed for the ending it gives (each costs a lookup anyway)


def _redirect_ending(root: Node) -> tuple[str | None, list[str]] | None:
    """What unlisted servers get from a record without 'all' that hands over with redirect= (RFC 7208 §6.1:
    the redirected record's result is the result): (the qualifier of the first 'all' down the chain of
    redirects, or None when the chain ends in a record with neither, which gives neutral; the domains of the
    chain). None when there is no redirect to follow or a record of the chain couldn't be read (other findings
    say why)."""
    node, chain = root, list[str]()
    for _ in range(MAX_REDIRECTS):
        if node.record is None or node.error:
            return None
        try:
            rec = parse_record(node.record)
        except SpfSyntaxError:
            return None
        if rec.all is not None:
            return (rec.all.qualifier, chain) if chain else None
        if rec.redirect is None:
            return (None, chain) if chain else None
        nxt = next((c for c in node.children if c.mechanism.lower().startswith("redirect=")), None)
        if nxt is None:
            return None
        node = nxt
        chain.append(node.domain)
    return None


def _redirect_all_findings(an: _Analysis, rec: SpfRecord, root: Node) -> None:
    """spf.neutral-all for a record whose redirect= hands unlisted servers a neutral result ('?all' at the end of
    the redirected record, or no 'all' there at all), as for '?all' in the record itself: what receivers
    evaluate is what counts."""
    if rec.all is not None or rec.redirect is None:
        return
    ending = _redirect_ending(root)
    if ending is None or ending[0] not in ("?", None):
        return
    q, chain = ending
    end = "-all" if an.all_target == "-" else "~all"
    why = " (your DMARC policy is p=reject)" if end == "-all" else ""
    via = " → ".join(chain)
    what = (f"ends with '?all', which {ALL_WORDS['?']}" if q == "?" else
            "has no 'all' rule, so servers it doesn't list get 'neutral', as if you had no opinion")
    an.neutral_redirect = chain[0]
    an.add("spf.neutral-all", Severity.WARNING,
           f"Your SPF record has no 'all' of its own and hands over to {chain[0]} ('{rec.redirect.text}'). The "
           f"record {'at the end of that chain (' + via + ')' if len(chain) > 1 else 'there'} {what}. Receivers "
           "apply that ending to mail from your domain, so SPF does not protect it from forgery. The "
           f"suggested record includes {chain[0]} and ends with your own {end}{why}.",
           detail=f"RFC 7208 §6.1: with no 'all', the result of the redirected record is the result. Chain: "
                  f"{an.domain} → {via}.", rfc=RFC_REDIRECT, fixable=True)


def _after_all(rec: SpfRecord) -> tuple[list[Mechanism], list[Mechanism], list[Mechanism]]:
    """The mechanisms after the record's first 'all' (never evaluated, RFC 7208 §5.1), as (those that would let
    servers pass, those with a -, ~ or ? qualifier, further 'all's)."""
    if rec.all is None:
        return [], [], []
    after = [m for m in rec.mechanisms if m.start > rec.all.start]
    alls = [m for m in after if m.kind == "all"]
    senders = [m for m in after if m.kind != "all" and m.qualifier == "+"]
    others = [m for m in after if m.kind != "all" and m.qualifier != "+"]
    return senders, others, alls


def _quoted_list(terms: list[Mechanism]) -> str:
    """'a', 'b' and 'c': terms named in a sentence, in the record's order."""
    names = [f"'{m.text}'" for m in terms]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


@dataclass
class _Issue:
    """A finding waiting for its fix (the corrected record is built once all issues are known)."""

    finding: Finding
    fixable: bool = False


class _Analysis:
    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.domain = ctx.domain.rstrip(".").lower()
        self.issues: list[_Issue] = []
        self.budget = TreeBudget()  # SPF records fetched while walking the tree
        self.probes = 0
        self.mx_address_hosts = 0  # mail servers of mx terms whose addresses were looked up (MAX_MX_ADDRESS_HOSTS)
        self.void_terms: set[str] = set()  # lower-case texts of root terms that are void
        self.dead_includes: set[str] = set()  # root include terms whose target has no SPF record
        self.loop_terms: set[str] = set()  # root terms that point back at the domain itself
        self.include_sites: dict[str, list[str]] = {}  # include target -> domains including it
        self.mx: DnsAnswer | None = None  # the domain's MX answer (for starting points in fixes)
        self.all_target: str | None = None  # "~" or "-": the 'all' the DMARC stage calls for; None: unknown
        self.starter: list[str] = []  # terms the corrected record took from the MX records (a record that listed nobody)
        self.nobody = False  # the corrected record had to start from a record that listed no working sender
        self.open_terms: set[str] = set()  # root terms (lower case) that let any server pass: dropped by the fix
        self.open_swaps: dict[str, str] = {}  # root a/mx terms with a huge prefix length -> the term without it
        self.reach_now: Reach | None = None  # who passes with the record receivers see today (None: unknown)
        self.unsafe_redirect: Contribution | None = None  # an ignored redirect whose record would let anyone pass
        self.neutral_redirect: str | None = None  # the redirect whose record ends neutral for unlisted servers

    def add(self, code: str, severity: Severity, message: str, detail: str = "", rfc: str = "",
            fix: Fix | None = None, fixable: bool = False, no_fix: str = "") -> None:
        if any(i.finding.code == code and i.finding.message == message for i in self.issues):
            return
        self.issues.append(_Issue(Finding(code, severity, message, detail, rfc, fix, no_fix=no_fix), fixable))

    # -- fetching -------------------------------------------------------------------------------

    async def fetch(self, name: str, via: str) -> tuple[str | None, str | None, Severity | None]:
        """(record, error, severity) for the SPF record at ``name`` reached through ``via``
        ("include:x" or "redirect=x")."""
        got = await fetch_record(self.ctx.dns, name)
        ans = got.answer
        kind = via.split(":")[0].split("=")[0]
        if got.result == "temperror":
            return None, f"couldn't look it up: {ans.describe}", Severity.UNKNOWN
        if got.result == "none":
            why = "the name does not exist" if ans.outcome is Outcome.NXDOMAIN else "it has no SPF record"
            return None, f"no SPF record ({why}); every check of your SPF ends in an error ({kind} of a " \
                         "domain without SPF is a permanent error)", Severity.ERROR
        if got.result == "permerror":
            return None, f"{len(got.records)} SPF records at {name}; exactly one is allowed", Severity.ERROR
        return got.records[0], None, None

    # -- the walk -------------------------------------------------------------------------------

    async def walk(self, domain: str, text: str | None, mechanism: str, chain: tuple[str, ...],
                   depth: int, record: SpfRecord | None = None) -> Node:
        node = Node(domain=domain, record=text, mechanism=mechanism)
        is_root = depth == 0
        if record is None:
            if text is None:
                if not self.budget.allows(depth):
                    node.note = "not followed: too many nested records"
                    return node
                self.budget.fetched()
                text, err, sev = await self.fetch(domain, mechanism)
                node.record = text
                if err is not None:
                    node.error = err
                    self._child_error(node, err, sev or Severity.ERROR, chain)
                    return node
            assert text is not None
            try:
                record = parse_record_lenient(text)
            except SpfSyntaxError as exc:  # pragma: no cover - fetch only returns SPF records
                node.error = str(exc)
                return node
            if record.errors and not is_root:
                node.error = f"syntax error: {record.errors[0]}"
                self.add(f"spf.{_kind(mechanism)}-syntax-error", Severity.ERROR,
                         f"The SPF record of {domain}, which your record uses through '{mechanism}', has an "
                         f"error, so receivers treat your whole SPF as broken: {record.errors[0]}.",
                         detail=f"{domain}: {text}", rfc=RFC_SYNTAX)
        node.lookups = record.lookup_count
        tasks: list[asyncio.Task[Node]] = []
        lookups: list[asyncio.Task[None]] = []
        for m in record.evaluated_mechanisms:
            if m.kind == "include":
                tasks.append(asyncio.ensure_future(self._follow(m.text, m.domain_spec, domain, chain, depth,
                                                                 is_root)))
            elif m.kind in ("a", "mx", "exists"):
                lookups.append(asyncio.ensure_future(self._probe(node, m, domain, is_root)))
        red = record.effective_redirect
        if red is not None:
            tasks.append(asyncio.ensure_future(self._follow(red.text, red.value, domain, chain, depth, is_root)))
        if lookups:
            await asyncio.gather(*lookups)
        node.children = list(await asyncio.gather(*tasks)) if tasks else []
        node.total = node.lookups + sum(c.total for c in node.children)
        return node

    def _child_error(self, node: Node, err: str, sev: Severity, chain: tuple[str, ...]) -> None:
        kind = _kind(node.mechanism)
        via = node.mechanism
        parent = chain[-1] if chain else self.domain
        if sev is Severity.UNKNOWN and (LOOP_ERROR in err or CHAIN_ERROR in err):
            # a CNAME loop or an endless chain: receivers' lookups fail the same way, and waiting never cures it
            self.add(f"spf.{kind}-lookup-failed", Severity.UNKNOWN,
                     f"We couldn't fetch the SPF record of {node.domain} (used through '{via}'): "
                     f"{LOOP_ERROR if LOOP_ERROR in err else CHAIN_ERROR}. Receivers can't look it up either, so "
                     "they treat your SPF as a temporary error and may delay or refuse your mail. Waiting won't "
                     "help: the CNAME records at that name need correcting (by whoever runs it), or remove "
                     f"'{via}' if you no longer use that service.",
                     detail=f"{node.domain}: {err}", rfc=RFC_INCLUDE if kind == "include" else RFC_REDIRECT)
        elif sev is Severity.UNKNOWN:
            self.add(f"spf.{kind}-lookup-failed", Severity.UNKNOWN,
                     f"We couldn't fetch the SPF record of {node.domain} (used through '{via}'). Until it can be "
                     "looked up, receivers may also fail to check your mail and ask the sender to retry.",
                     detail=f"{node.domain}: {err}", rfc=RFC_INCLUDE if kind == "include" else RFC_REDIRECT)
        elif err.startswith("no SPF record"):
            self.add(f"spf.{kind}-no-record", Severity.ERROR,
                     f"'{via}' in {'your record' if parent == self.domain else 'the SPF record of ' + parent} "
                     f"points at {node.domain}, which has no SPF record. Receivers treat that as a permanent "
                     "error, so SPF fails for all your mail. Check the spelling, or remove it if you no longer "
                     "use that service.",
                     detail=f"{node.domain}: {err}", rfc=RFC_INCLUDE if kind == "include" else RFC_REDIRECT,
                     fixable=parent == self.domain)
        else:
            self.add(f"spf.{kind}-invalid", Severity.ERROR,
                     f"The SPF record of {node.domain}, used through '{via}', is not usable ({err}), so "
                     "receivers treat your whole SPF as broken.",
                     detail=f"{node.domain}: {err}", rfc=RFC_RECORD)

    async def _follow(self, term: str, spec: str | None, domain: str, chain: tuple[str, ...], depth: int,
                      from_root: bool) -> Node:
        target = static_target(spec, domain, self.domain)
        kind = "redirect" if term.lower().startswith("redirect") else "include"
        if target is None:
            if from_root:
                self.add(f"spf.macro-{kind}", Severity.INFO,
                         f"'{term}' builds its target from details of each message (a macro such as %{{i}}, the sending "
                         "server's IP address), so we can't check where it leads; we count it as 1 lookup. For every "
                         f"server it doesn't list, the name it builds must still have an SPF record (a wildcard "
                         "record is the usual way), or receivers get a permanent error instead of a plain fail.",
                         detail=f"{term}: an {kind} whose target has no SPF record is a permanent error "
                                "(RFC 7208 §5.2, §6.1).", rfc=RFC_INCLUDE if kind == "include" else RFC_REDIRECT)
            return Node(domain=spec or "", record=None, mechanism=term,
                        note="depends on who is sending (macro), so it cannot be followed here; it costs at "
                             "least 1 lookup")
        mech = f"{kind}:{target}" if kind == "include" else f"redirect={target}"
        here = chain + (domain,)
        problem = follow_problem(target, here)
        if problem == "loop":
            node = Node(domain=target, record=None, mechanism=mech,
                        error=f"loop: {target} is already being evaluated")
            where = "your record" if domain == self.domain else f"the SPF record of {domain}"
            self.add(f"spf.{kind}-loop", Severity.ERROR,
                     f"'{term}' in {where} leads back to {target}, which is already being checked: an endless "
                     "loop. Receivers stop with a permanent error, so SPF fails for all your mail.",
                     detail=" -> ".join(here + (target,)), rfc=RFC_LIMITS, fixable=from_root and target == self.domain)
            if from_root and target == self.domain:
                self.loop_terms.add(term.lower())
            return node
        if problem == "invalid":
            self.add(f"spf.{kind}-no-record", Severity.ERROR,
                     f"'{term}' points at '{target}', which is not a valid domain name, so receivers treat your "
                     "SPF as broken.", rfc=RFC_INCLUDE, fixable=from_root)
            if from_root:
                self.dead_includes.add(term.lower())
            return Node(domain=target, record=None, mechanism=mech, error="not a valid domain name")
        if kind == "include":
            self.include_sites.setdefault(target, []).append(domain)
        child = await self.walk(target, None, mech, here, depth + 1)
        if from_root and child.error and child.error.startswith("no SPF record"):
            self.dead_includes.add(term.lower())
        return child

    async def _probe(self, node: Node, m: Mechanism, domain: str, is_root: bool) -> None:
        target = static_target(m.domain_spec, domain, self.domain)
        if target is None or not is_valid_domain_name(target, multi_label=False) or self.probes >= MAX_PROBES:
            return
        self.probes += 1
        dns = self.ctx.dns
        if m.kind == "mx":
            ans = await dns.query(target, "MX")
            answers = [ans]
            hosts = [h for h in mx_hosts(ans) if h] if ans.ok else []
            if ans.ok and len(hosts) > MAX_MX:
                self.add("spf.mx-too-many", Severity.ERROR,
                         f"'{m.text}' {'in your record' if is_root else 'in the SPF record of ' + domain} refers to "
                         f"{len(hosts)} mail servers; SPF allows at most {MAX_MX}, so checks of mail from servers "
                         "beyond those end in an error. List your sending servers with ip4:/ip6: instead.",
                         detail=f"MX of {target}: {', '.join(ans.records)}", rfc=RFC_LIMITS)
            void = ans.outcome.void or (ans.ok and not hosts)
            if ans.ok and hosts and len(hosts) <= MAX_MX and self.mx_address_hosts + len(hosts) <= MAX_MX_ADDRESS_HOSTS:
                self.mx_address_hosts += len(hosts)
                # §5.4: each mail server's addresses are looked up too, and one that fails ends check_host in
                # temperror for every sender not matched before it (§5: an A/AAAA lookup error)
                looked = await asyncio.gather(*(dns.query(h, t) for h in hosts for t in ("A", "AAAA")))
                lost = [x for x in looked if x.failed]
                if lost:
                    self.add("spf.lookup-failed", Severity.UNKNOWN,
                             f"We couldn't look up the address of the mail server {lost[0].name} that "
                             f"'{m.text}' {'in your record' if is_root else 'in the SPF record of ' + domain} "
                             "uses. Receivers hitting the same problem treat your SPF as a temporary error.",
                             detail=f"{lost[0].rdtype} {lost[0].name}: {lost[0].describe}", rfc=RFC_LIMITS)
                    return
        elif m.kind == "a":
            a, aaaa = await asyncio.gather(dns.query(target, "A"), dns.query(target, "AAAA"))
            answers = [a, aaaa]
            void = a.outcome.void and aaaa.outcome.void
        else:  # exists
            ans = await dns.query(target, "A")
            answers = [ans]
            void = ans.outcome.void
        failed = [x for x in answers if x.failed]
        if failed:
            self.add("spf.lookup-failed", Severity.UNKNOWN,
                     f"We couldn't look up {target} for '{m.text}'. Receivers hitting the same problem treat "
                     "your SPF as a temporary error.", detail=f"{failed[0].rdtype} {target}: {failed[0].describe}",
                     rfc=RFC_LIMITS)
            return
        if void:
            node.void_lookups += 1
            what = "has no mail servers (MX)" if m.kind == "mx" else "has no addresses" if m.kind == "a" else \
                "does not exist"
            if is_root:
                self.void_terms.add(m.text.lower())
                self.add("spf.void-lookup", Severity.WARNING,
                         f"'{m.text}' in your record points at {target}, which {what}, so it never matches "
                         "anything. Such 'void' lookups are limited to 2 per check; remove it.",
                         detail=f"{target}: {answers[0].describe}", rfc=RFC_LIMITS, fixable=True)

    # -- record-level checks ----------------------------------------------------------------------

    def record_checks(self, rec: SpfRecord) -> None:
        mechs = rec.mechanisms
        first_all = rec.all
        # the ending the corrected record uses: -all once DMARC is at p=reject, else ~all (see _all_advice)
        end = "-all" if self.all_target == "-" else "~all"
        why = " (your DMARC policy is p=reject)" if end == "-all" else ""
        if first_all is None:
            if rec.redirect is None:
                self.add("spf.no-all", Severity.WARNING,
                         "Your SPF record does not end with an 'all' rule, so mail from servers you did not list "
                         f"gets a 'neutral' result, as if you had no opinion. End it with {end}{why}.",
                         detail="With no 'all' and no 'redirect', the default result is neutral.", rfc=RFC_ALL,
                         fixable=True)
        else:
            q = first_all.qualifier
            if q == "+":
                self.add("spf.plus-all", Severity.ERROR,
                         f"Your SPF record ends with '{first_all.text}', which {ALL_WORDS['+']}: anyone can send "
                         f"mail that passes SPF as your domain. Replace it with {end}{why}.",
                         detail="+all makes every IP address pass (RFC 7208 §5.1).", rfc=RFC_ALL, fixable=True)
            elif q == "?":
                self.add("spf.neutral-all", Severity.WARNING,
                         f"Your SPF record ends with '{first_all.text}', which {ALL_WORDS['?']}, so it does not "
                         f"protect your domain from forgery. Use {end}{why}.",
                         detail="?all gives 'neutral' to every unlisted server.", rfc=RFC_ALL, fixable=True)
            after = [m for m in mechs if m.start > first_all.start]
            if after:
                senders, others, alls = _after_all(rec)
                one = len(after) == 1
                words = (f"{_plural(len(after), 'rule')} ({', '.join(repr(m.text) for m in after)}) "
                         f"{'comes' if one else 'come'} after '{first_all.text}' and {'is' if one else 'are'} "
                         "never used: checking stops at the first 'all'")
                if senders:
                    words += (f", so mail from the servers listed by {_quoted_list(senders)} fails SPF. The "
                              "suggested record moves 'all' to the end, which starts allowing those senders.")
                else:
                    words += (f". {'It allows' if one else 'They allow'} no server to send, so your mail is not "
                              "affected; tidy the record with the suggested one.")
                if others:
                    words += (f" {_quoted_list(others)} {'is' if len(others) == 1 else 'are'} moved before 'all', "
                              f"where {'it takes' if len(others) == 1 else 'they take'} effect.")
                if alls:
                    words += " The suggested record keeps one 'all' rule, at the end."
                self.add("spf.terms-after-all", Severity.ERROR if senders else Severity.WARNING, words,
                         detail="Mechanisms after 'all' MUST be ignored (RFC 7208 §5.1).", rfc=RFC_ALL,
                         fixable=True)
            if rec.redirect is not None and self.unsafe_redirect is not None:
                # Ignored, and it must stay so: there are no senders to restore, only a trap to remove.
                self.add("spf.redirect-ignored", Severity.WARNING,
                         f"'{rec.redirect.text}' is ignored because your record also has '{first_all.text}', and "
                         f"it must stay unused: {_what_opens(self.unsafe_redirect)}, so if it were used any server "
                         "on the internet would pass SPF as you. Remove it (the suggested record does).",
                         detail="Any redirect modifier MUST be ignored when the record has an 'all' mechanism "
                                "(RFC 7208 §6.1).", rfc=RFC_REDIRECT, fixable=True)
            elif rec.redirect is not None:
                self.add("spf.redirect-ignored", Severity.ERROR,
                         f"'{rec.redirect.text}' is ignored because your record also has '{first_all.text}', so "
                         f"mail from the servers of {rec.redirect.value} fails SPF. If you meant to add those "
                         f"senders, the suggested record uses 'include:{rec.redirect.value}' instead.",
                         detail="Any redirect modifier MUST be ignored when the record has an 'all' mechanism "
                                "(RFC 7208 §6.1).", rfc=RFC_REDIRECT, fixable=True)
        for m in mechs:
            v4 = _mapped_ip4_term(m)
            if v4 is not None:
                self.add("spf.ip6-mapped", Severity.ERROR,
                         f"'{m.text}' is an IPv4 address written in IPv6 form. Receivers always check an IPv4 "
                         f"sender against ip4: rules, so this rule never matches and mail from that server fails "
                         f"SPF. Write it as '{v4}'.",
                         detail="An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is an IPv4 connection for SPF "
                                "(RFC 7208 test suite: *-ip4mapped cases); ip6: only matches IPv6 senders.",
                         rfc="RFC 7208 §5.6", fixable=True)
        ptrs = [m for m in mechs if m.kind == "ptr"]
        if ptrs:
            self.add("spf.ptr", Severity.WARNING,
                     f"Your record uses '{ptrs[0].text}', a rule RFC 7208 says not to use: it is slow, "
                     "unreliable, and some receivers ignore it. List the servers it was meant to cover with "
                     "ip4:/ip6: instead.",
                     detail="RFC 7208 §5.5: 'This mechanism SHOULD NOT be published.'", rfc=RFC_PTR, fixable=True)
        seen: dict[str, Term] = {}
        for t in rec.terms:
            key = t.text.lower()
            if isinstance(t, Mechanism) and t.kind == "all":
                continue
            if key in seen:
                if isinstance(t, Mechanism) and t.kind == "include":
                    self.add("spf.duplicate-include", Severity.WARNING,
                             f"'{t.text}' appears more than once in your record. The repeat adds nothing but "
                             "costs another DNS lookup; remove it.", rfc=RFC_LIMITS, fixable=True)
                else:
                    self.add("spf.duplicate-term", Severity.WARNING if t.costs_lookup else Severity.INFO,
                             f"'{t.text}' appears more than once in your record; the repeat adds nothing"
                             + (" but costs another DNS lookup." if t.costs_lookup else "."),
                             rfc=RFC_LIMITS, fixable=True)
            seen[key] = t
        for mod in rec.unknown_modifiers:
            if mod.name in ("include", "a", "mx", "ptr", "ip4", "ip6", "exists", "all"):
                fixable = _typo_term(mod) is not None
                self.add("spf.modifier-typo", Severity.ERROR,
                         f"'{mod.text}' is written with '=' so receivers ignore it, and the servers it was meant "
                         f"to allow fail SPF. Write it as '{mod.name}:{mod.value}'"
                         + (" (the suggested record does)." if fixable else "."),
                         detail="name=value is an unknown modifier, which is ignored (RFC 7208 §6).",
                         rfc="RFC 7208 §6", fixable=fixable)


def _all_advice(an: _Analysis, rec: SpfRecord, stage: DmarcStage | None) -> None:
    """'~all' until DMARC is at an enforced p=reject, '-all' from then on (RFC 7208 §8.4: a receiver
    may refuse a message on an SPF fail during the SMTP conversation, before DKIM and DMARC are looked
    at, so a forwarded message that DKIM would have saved is lost)."""
    first_all = rec.all
    if stage is None or first_all is None or rec.errors:
        return
    if not any(m.kind != "all" for m in rec.mechanisms) and rec.redirect is None:
        return  # 'v=spf1 -all': a domain that sends no mail; -all is right whatever DMARC says
    where = f" (inherited from {stage.record_domain})" if stage.record_domain not in (None, an.domain) else ""
    if first_all.qualifier == "-" and not stage.enforcing_reject:
        an.add("spf.all-hardfail-early", Severity.INFO,
               f"Your SPF record ends with '-all' while {_stage_words(stage)}{where}. Some receivers refuse a "
               "message as soon as SPF fails, before they look at DKIM or DMARC, so forwarded mail (mailing "
               "lists, forwarding addresses) that DKIM would have saved can bounce. Use '~all' until DMARC is "
               "at p=reject.",
               detail="RFC 7208 §8.4 lets receivers reject on an SPF fail during the SMTP transaction; RFC 9989 "
                      "notes that receivers may run SPF before DMARC, so a '-' qualifier can cause rejection "
                      "before DMARC processing. With '~all', DMARC decides (quarantine or reject only when "
                      "neither SPF nor DKIM passes aligned).",
               rfc="RFC 7208 §8.4; RFC 9989", fixable=True)
    elif first_all.qualifier == "~" and stage.enforcing_reject:
        an.add("spf.all-hardfail-ok", Severity.INFO,
               f"Your DMARC policy is p=reject{where}, so you may end your SPF record with '-all' instead of "
               "'~all': mail from servers you did not list is refused either way. This is optional; if much "
               "of your mail is forwarded, '~all' is the gentler choice.",
               detail="At p=reject, unaligned mail is rejected by DMARC anyway; '-all' states the same for SPF. "
                      "RFC 7208 §8.4: a receiver may then reject during the SMTP transaction, before DKIM is "
                      "checked.",
               rfc="RFC 7208 §8.4; RFC 9989", fixable=True)


def _mapped_ip4_term(m: Mechanism) -> str | None:
    """``ip6:::ffff:192.0.2.1`` (an IPv4-mapped address, /96 or longer) as the ip4: term it means."""
    if m.kind != "ip6" or m.address is None:
        return None
    try:
        net = m.network
    except ValueError:
        return None
    if not isinstance(net, ipaddress.IPv6Network) or net.prefixlen < 96:
        return None
    v4 = net.network_address.ipv4_mapped
    if v4 is None:
        return None
    q = m.qualifier if m.explicit_qualifier else ""
    cidr = "" if m.ip6_cidr is None or m.ip6_cidr == 128 else f"/{m.ip6_cidr - 96}"
    return f"{q}ip4:{v4}{cidr}"


def _typo_term(mod: Modifier) -> Term | None:
    """``include=x`` (a mechanism written as a modifier) as the mechanism ``include:x``, if that parses."""
    if mod.name not in ("include", "a", "mx", "ptr", "ip4", "ip6", "exists", "all") or not mod.value:
        return None
    try:
        return parse_term(f"{mod.name}:{mod.value}")
    except SpfSyntaxError:
        return None


def _kind(mechanism: str) -> str:
    return "redirect" if mechanism.lower().startswith("redirect") else "include"


# -- building records -----------------------------------------------------------------------------


def _norm(term: str) -> str:
    return term.lower()


def merge_records(records: list[str]) -> tuple[str, list[str]]:
    """One record that keeps every sender of ``records`` (every mechanism, in first-seen order,
    duplicates once), ending in -all when every record ended in -all, else ~all. A ``redirect=x``
    that was in force becomes ``include:x``. Unparseable terms are left out and named in the notes.
    Returns (record, notes)."""
    terms: list[Term] = []
    notes: list[str] = []
    quals: list[str] = []
    for text in records:
        try:
            rec = parse_record_lenient(text)
        except SpfSyntaxError:
            notes.append(f"'{text[:60]}' was not an SPF record and was left out.")
            continue
        for e in rec.errors:
            notes.append(f"'{e.term}' was left out because it is not valid ({e}).")
        for t in rec.terms:
            if isinstance(t, Modifier) and t.name == "redirect":
                if rec.all is None:
                    terms.append(parse_term(f"include:{t.value}"))
                    notes.append(f"'{t.text}' became 'include:{t.value}' so the other senders keep working.")
                continue
            if isinstance(t, Mechanism) and t.kind == "all":
                continue
            terms.append(t)
        quals.append(rec.all.qualifier if rec.all is not None else "")
    final = "-" if quals and all(q == "-" for q in quals) else "~"
    return _assemble(terms, final), notes


def _assemble(terms: list[Term], all_qualifier: str | None, extra_mods: list[Term] | None = None) -> str:
    """v=spf1 + mechanisms (deduplicated, order kept) + all + modifiers (first exp, first of each
    unknown one, redirect last)."""
    out: list[str] = []
    seen: set[str] = set()
    mods: list[Modifier] = []
    mod_names: set[str] = set()
    for t in terms + (extra_mods or []):
        if isinstance(t, Modifier):
            if t.name not in mod_names:
                mods.append(t)
                mod_names.add(t.name)
            continue
        if t.kind == "all":
            continue
        k = _norm(t.text)
        if k in seen:
            continue
        seen.add(k)
        out.append(t.text)
    if all_qualifier:
        out.append(("" if all_qualifier == "+" else all_qualifier) + "all")
    mods.sort(key=lambda m: m.name == "redirect")
    out.extend(m.text for m in mods)
    return " ".join(["v=spf1"] + out)


def _starter(mx: DnsAnswer) -> tuple[str, str]:
    """A starting record for a domain without SPF, from its MX hosts: the includes of recognised
    providers, or "mx". Returns (record, what it covers)."""
    hosts = [r.split()[-1].rstrip(".").lower() for r in mx.records] if mx.ok else []
    includes: list[str] = []
    names: list[str] = []
    unknown = False
    for h in hosts:
        if h in ("", "."):
            continue
        for suffixes, inc, name in PROVIDERS:
            if any(h == s or h.endswith("." + s) for s in suffixes):
                if inc not in includes:
                    includes.append(inc)
                    names.append(name)
                break
        else:
            unknown = True
    parts = list(includes)
    if unknown or not parts:
        parts.append("mx")
    what = " and ".join(names) if names else ""
    if unknown or not names:
        what = (what + " and " if what else "") + "your own mail servers (MX)"
    return "v=spf1 " + " ".join(parts) + " ~all", what


def _looks_like_spf(text: str) -> bool:
    t = text.strip().strip('"\'').strip().lower()
    return t.startswith("v=spf") or t.startswith("spf1") or t.startswith("v = spf")


def _repair_lookalike(text: str) -> str | None:
    """A near-miss SPF record ("\"v=spf1 ...\"", " v=spf1 ...", "v=spf1  ... ") repaired, if the
    repair is certain."""
    t = text.strip()
    while len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'":
        t = t[1:-1].strip()
    t = re.sub(r"^v\s*=\s*spf1(?=\s|$)", "v=spf1", t, flags=re.IGNORECASE)
    t = " ".join(t.split())  # tabs and line breaks where spaces belong
    if not is_spf_record(t):
        return None
    try:
        parse_record(t)
    except SpfSyntaxError:
        return None
    return t


_QUAL = "+-~?"


def _term_repair(text: str) -> tuple[str, list[str]] | None:
    """The record with its unambiguous slips corrected, when that makes it valid, and what was changed:
    an address where a host name belongs ('include:192.0.2.1', 'a:192.0.2.1' → 'ip4:192.0.2.1'), a host name
    where an address belongs ('ip4:mail.example.com' → 'a:mail.example.com'), a comma or semicolon after a term
    ('ip4:192.0.2.1,'), and a space after the colon ('ip4: 192.0.2.1'). Anything else: None (no guessing)."""
    tokens = text.split(" ")
    out: list[str] = []
    notes: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if not tok or tok.lower() == "v=spf1":
            out.append(tok)
            continue
        new = tok
        if new[-1] in ",;" and new.rstrip(",;"):
            new = new.rstrip(",;")
        if re.fullmatch(r"[+\-~?]?(ip4|ip6|a|mx|include|exists|ptr):", new, re.I) and i < len(tokens) and tokens[i]:
            new += tokens[i].rstrip(",;")  # 'ip4: 192.0.2.1'
            i += 1
        q = new[0] if new[0] in _QUAL else ""
        name, sep, value = new[len(q):].partition(":")
        addr, slash, cidr = value.partition("/")
        if sep and name.lower() in ("include", "a", "mx"):
            try:
                ip = ipaddress.ip_address(addr)
            except ValueError:
                ip = None
            if ip is not None:
                new = f"{q}ip{ip.version}:{addr}{slash}{cidr}"
        elif sep and name.lower() == "ip4" and re.search(r"[A-Za-z]", addr) and "." in addr and ":" not in addr:
            new = f"{q}a:{addr}{slash}{cidr}"
        if new != tok:
            try:
                parse_term(new)
            except SpfSyntaxError:
                return None
            shown = tok if i - 1 < len(tokens) and tokens[i - 1] == tok else f"{tok} {tokens[i - 1]}"
            notes.append(f"'{shown}' became '{new}'")
        out.append(new)
    fixed = " ".join(t for t in out if t)
    if not notes or not is_spf_record(fixed):
        return None
    try:
        parse_record(fixed)
    except SpfSyntaxError:
        return None
    return fixed, notes


def _whitespace_repair(text: str) -> str | None:
    """The record with every run of whitespace (tab, line break, several spaces) made one space, when
    that is what makes it valid."""
    if not any(c in text for c in "\t\r\n\v\f"):
        return None
    fixed = " ".join(text.split())
    try:
        parse_record(fixed)
    except SpfSyntaxError:
        return None
    return fixed


def _boundary_repair(strings: tuple[bytes, ...]) -> str | None:
    """When the record's TXT strings were glued without the space the publisher meant
    ("...include:a" "include:b..."), the record with a space at each boundary that needs one."""
    if len(strings) < 2:
        return None
    texts = [s.decode("utf-8", errors="replace") for s in strings]
    out = texts[0]
    changed = False
    for s in texts[1:]:
        if out and s and not out.endswith(" ") and not s.startswith(" "):
            glued = _last_term(out) + _first_term(s)
            try:
                parse_term(glued)
                ok_glued = not _starts_with_term_name(_first_term(s))
            except SpfSyntaxError:
                ok_glued = False
            if not ok_glued:
                try:
                    parse_term(_last_term(out))
                    parse_term(_first_term(s))
                    out += " " + s
                    changed = True
                    continue
                except SpfSyntaxError:
                    pass
        out += s
    if not changed or not is_spf_record(out):
        return None
    try:
        parse_record(out)
    except SpfSyntaxError:
        return None
    return out


_TERM_START = re.compile(r"[+\-~?]?(?:all|include:|a|a:|a/|mx|mx:|mx/|ptr|ptr:|ip4:|ip6:|exists:|redirect=|exp=)",
                         re.IGNORECASE)


def _starts_with_term_name(token: str) -> bool:
    """'include:x', '-all', 'ip4:...', 'mx', 'redirect=x': a piece that starts a new rule, so a string
    boundary right before it is a missing space, even when the glued text happens to parse
    ('include:a.cominclude:b' is a valid but nonsensical domain)."""
    m = _TERM_START.match(token)
    if m is None:
        return False
    rest = token[m.end():]
    return m.group(0).endswith((":", "=", "/")) or rest == "" or rest[0] in "/:"


def _last_term(text: str) -> str:
    return text.rsplit(" ", 1)[-1]


def _first_term(text: str) -> str:
    return text.split(" ", 1)[0]


# -- the check ------------------------------------------------------------------------------------


async def check(ctx: CheckContext) -> CheckResult:
    """The "spf" check of ``ctx.domain``."""
    domain = ctx.domain.rstrip(".").lower()
    txt, spf_rr, mx, walk = await asyncio.gather(ctx.dns.query(domain, "TXT"), ctx.dns.query(domain, "SPF"),
                                                 ctx.dns.query(domain, "MX"), _dmarc_walk(ctx, domain))
    return await _analyse(ctx, _Answers(txt, spf_rr, mx, walk))


@dataclass(frozen=True)
class _Answers:
    """What the check looked up at the domain itself (the rest it asks while walking the tree)."""

    txt: DnsAnswer
    spf_rr: DnsAnswer
    mx: DnsAnswer
    walk: Walk | None


async def _analyse(ctx: CheckContext, got: _Answers, *, offer_fixes: bool = True) -> CheckResult:
    """The check over answers already looked up. ``offer_fixes=False`` when checking a record we are about
    to offer (it is judged exactly as a published one, without working out fixes of its own)."""
    an = _Analysis(ctx)
    domain = an.domain
    txt, spf_rr, mx, walk = got.txt, got.spf_rr, got.mx, got.walk
    stage = dmarc_stage(walk, exists=txt.outcome is not Outcome.NXDOMAIN)
    an.all_target = all_for_stage(stage)
    an.mx = mx
    detail: SpfDetail = {
        "record": None, "records": [], "lookups": 0, "lookup_limit": LOOKUP_LIMIT, "void_lookups": 0,
        "void_lookup_limit": VOID_LIMIT, "tree": Node(domain, None, "").to_json(), "terms": [], "errors": [],
        "txt_strings": [], "all": None, "spf_rr": [], "sender_id": [], "merged_record": None,
        "dmarc_stage": stage.to_json() if stage is not None else None,
        "all_advice": an.all_target + "all" if an.all_target else None,
    }
    if txt.failed:
        an.add("spf.lookup-failed", Severity.UNKNOWN,
               f"We couldn't look up the TXT records of {domain}, where SPF lives, so we can't tell whether "
               "your SPF is right. Receivers with the same problem ask senders to retry later.",
               detail=f"TXT {domain}: {txt.describe}", rfc="RFC 7208 §4.4")
        detail["tree"]["error"] = f"couldn't look up: {txt.describe}"
        return _result(an, detail, [], summary=f"SPF couldn't be checked: {txt.describe}.")

    records = [(t, s) for t, s in zip(txt.txt, txt.txt_strings or ((),) * len(txt.txt)) if is_spf_record(t)]
    detail["records"] = [t for t, _ in records]
    sender_id = [t for t in txt.txt if t.lower().startswith("spf2.0/")]
    detail["sender_id"] = sender_id
    rr_records = list(spf_rr.txt) if spf_rr.ok else []
    detail["spf_rr"] = rr_records
    null_mx = mx.ok and bool(mx.records) and all(r.split()[-1] == "." for r in mx.records)

    for sid in sender_id:
        an.add("spf.sender-id", Severity.INFO,
               "You still publish a Sender ID record (spf2.0/...). Sender ID was abandoned years ago and "
               "receivers ignore it; you can delete it.",
               detail=f"TXT {domain}: {sid}", rfc="RFC 7208 Appendix A",
               fix=Fix(domain, "TXT", sid, action="remove", note="Sender ID is obsolete; removing it changes "
                       "nothing for delivery."))
    if rr_records:  # one finding, one fix that removes every record of the old type
        removals = [Fix(domain, "SPF", rr, action="remove", note="Remove the record of type SPF; keep the TXT one.")
                    for rr in rr_records]
        many = len(rr_records) > 1
        an.add("spf.spf-rr-type", Severity.WARNING,
               f"Your DNS also has {len(rr_records) if many else 'a'} record{'s' if many else ''} of the old 'SPF' "
               "type. RFC 7208 retired that type and receivers read only the TXT record, so "
               f"{'they are' if many else 'it is'} ignored and only cause{'' if many else 's'} confusion when you "
               f"edit SPF; delete {'them' if many else 'it'}.",
               detail="SPF (type 99) " + domain + ": " + " | ".join(rr_records), rfc=RFC_SPF_RR,
               fix=replace(removals[0], also_publish=tuple(removals[1:])) if many else removals[0])

    if not records:
        return await _no_record(an, detail, txt, mx, rr_records, null_mx, got)

    merged: str | None = None
    if len(records) > 1:
        merged, merge_notes = merge_records([t for t, _ in records])
        detail["merged_record"] = merged
        an.add("spf.multiple-records", Severity.ERROR,
               f"Your domain has {len(records)} SPF records. Only one is allowed, so receivers treat SPF as "
               "broken and it fails for all your mail. Replace them with the single combined record below, "
               "which keeps every sender the separate records listed.",
               detail="RFC 7208 §4.5: two or more records give a permanent error. Records: "
                      + " | ".join(t for t, _ in records) + (" Notes: " + " ".join(merge_notes) if merge_notes else ""),
               rfc=RFC_RECORD, fixable=True)
        text, strings = merged, tuple[bytes, ...]()
    else:
        text, strings = records[0]
        detail["record"] = text
        detail["txt_strings"] = [s.decode("utf-8", errors="replace") for s in strings]

    rec = parse_record_lenient(text)
    detail["terms"] = [t.to_json() for t in rec.terms]
    detail["errors"] = [e.to_json() for e in rec.errors]
    detail["all"] = rec.all.result if rec.all is not None else None
    syntax_ok = not rec.errors
    repaired: str | None = None
    string_note = ""
    if rec.errors or len(strings) > 1:
        repaired = _boundary_repair(strings) if strings else None
        if repaired is not None:
            an.add("spf.string-join", Severity.ERROR,
                   "Your SPF record is stored as several pieces of text, and receivers join the pieces without "
                   "adding spaces. A space is missing where two pieces meet, so two rules run together and the "
                   "record is broken. Publish the corrected record below.",
                   detail="TXT strings: " + " | ".join(repr(s) for s in detail["txt_strings"]), rfc=RFC_STRINGS,
                   fixable=True)
            string_note = "Adds the missing space where the pieces of your record meet."
            rec = parse_record_lenient(repaired)
            syntax_ok = True
        elif rec.errors and _whitespace_repair(text) is not None:
            repaired = _whitespace_repair(text) or ""
            an.add("spf.whitespace", Severity.ERROR,
                   "Your SPF record has a tab or line break between its rules where only a plain space is allowed, "
                   "so receivers treat the record as broken and SPF fails for every message. Publish the "
                   "corrected record below (the same rules, separated by spaces).",
                   detail=f"Record: {text!r}", rfc="RFC 7208 §4.6.1", fixable=True)
            string_note = "Tabs and line breaks are replaced by spaces."
            rec = parse_record_lenient(repaired)
            syntax_ok = True
        elif rec.errors and _term_repair(text) is not None:
            repaired, changed = _term_repair(text) or ("", [])
            errs = list(rec.errors)
            an.add("spf.term-slip", Severity.ERROR,
                   f"Your SPF record has an error, so receivers ignore all of it and SPF fails for every message: "
                   f"{errs[0]}. Publish the corrected record below.",
                   detail="; ".join(str(e) for e in errs) + f" Record: {text}", rfc=RFC_SYNTAX, fixable=True)
            string_note = "; ".join(changed) + "."
            string_note = string_note[0].upper() + string_note[1:]
            rec = parse_record_lenient(repaired)
            syntax_ok = True
        elif rec.errors:
            errs = list(rec.errors)
            more = f" ({_plural(len(errs) - 1, 'more problem')} listed in the details.)" if len(errs) > 1 else ""
            an.add("spf.syntax-error", Severity.ERROR,
                   f"Your SPF record has an error, so receivers ignore all of it and SPF fails for every "
                   f"message: {errs[0]}.{more}",
                   detail="; ".join(str(e) for e in errs) + f" Record: {text}", rfc=RFC_SYNTAX)
    if strings and len(strings) == 1 and len(strings[0]) == 255 and (rec.errors or rec.all is None):
        an.add("spf.possibly-truncated", Severity.WARNING,
               "Your SPF record is exactly 255 characters long and looks cut off. Some DNS providers cut long "
               "text at 255 characters; enter it again, split into pieces of up to 255 characters.",
               rfc=RFC_STRINGS)
    size = len(text.encode("utf-8"))
    if size > RECORD_SIZE_ADVICE:
        an.add("spf.record-too-long", Severity.WARNING,
               f"Your SPF record is {size} characters long. RFC 7208 advises staying under 450 so the DNS answer "
               "fits in one small packet; longer answers can fail on some networks. Remove services you no "
               "longer use.", detail=f"{size} bytes", rfc=RFC_SIZE)

    if rec.all is not None and rec.redirect is not None and syntax_ok:
        target = static_target(rec.redirect.value, domain, domain)
        try:
            opened = (await reach(ctx.dns, target)).open_terms() if target else []
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the fix guard still compares the corrected record as a whole
            log.debug("working out who %s lets send failed", target, exc_info=True)
            opened = []
        an.unsafe_redirect = opened[0] if opened else None
    an.record_checks(rec)
    if null_mx and any(m.kind != "all" or m.qualifier in "+?" for m in rec.mechanisms):
        an.add("spf.parked-allows-senders", Severity.INFO,
               "Your domain says it receives no mail (a 'null MX'), which usually means it is parked, yet its SPF "
               "record still allows servers to send as it. If this domain never sends mail, publish "
               "'v=spf1 -all' instead so nobody can send in its name.",
               detail=f"MX {domain}: 0 . ; SPF: {text}", rfc="RFC 7505 §4, RFC 7208 §5.1")
    if not null_mx:
        _all_advice(an, rec, stage)
    root = await an.walk(domain, text, "", (), 0, record=rec)
    if len(records) == 1 and not rec.errors and not null_mx:
        _redirect_all_findings(an, rec, root)
    if len(records) > 1:
        root.record = None
        root.error = f"{len(records)} SPF records (only one is allowed); the tree shows the combined record"
    elif rec.errors:
        root.error = f"syntax error: {rec.errors[0]}"
    _tree_findings(an, root)
    if syntax_ok:
        try:
            mine = await reach(ctx.dns, domain, repaired or text)
            an.reach_now = mine if len(records) == 1 and repaired is None else await reach(ctx.dns, domain)
            _open_findings(an, mine)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - never at the cost of the check itself
            log.debug("working out who may send for %s failed", domain, exc_info=True)
    detail["tree"] = root.to_json()
    detail["lookups"] = root.total
    detail["void_lookups"] = sum(n.void_lookups for n in root.walk())
    try:
        detail["flattened"] = await _flattened_copies(an, root)
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - comparing copies is extra: never at the cost of the check
        detail["flattened"] = []
    if not offer_fixes:
        return _result(an, detail, [t for t, _ in records], lookups=root.total)
    fix_value = _corrected(an, rec, merged is not None) if syntax_ok else None
    base: Fix | None = None
    if fix_value is not None:
        value, notes = await _settle(ctx, fix_value[0], fix_value[1])
        if an.starter:  # the terms guessed from the MX records must work too, or they are left out
            had = {i.finding.code for i in an.issues}
            broken = [f for f in await _works(an, got, value) if f.code not in had]
            if broken:
                value = _edit(value, set(an.starter))
                notes = [n for n in notes if "(from your MX records)" not in n] + [
                    "Your record listed nobody, so this one allows none yet: add an include or ip4: entry for each "
                    f"service that sends mail as you before you publish it (your mail servers can't be listed with "
                    f"'mx': {broken[0].message})"]
        refused = await _widens(an, value)
        if refused:
            _refuse(an, refused)
        elif merged is not None or value != text:
            notes = ([string_note] if string_note else []) + notes
            # a record that listed nobody: the corrected one is a draft until the person adds their senders
            base = Fix(domain, "TXT", value, action="replace", note=" ".join(notes),
                       kind="starting-point" if an.nobody else "record")
            _attach(an, base)
    if syntax_ok and root.total > LOOKUP_LIMIT:
        start = base.value if base is not None else (repaired or text)
        try:
            detail["lookup_fixes"] = await _offer_lookup_fixes(an, got, start, base, stage)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug here must not cost the user the check itself
            info = {"left_out": [{"why": f"we couldn't work out a record that fits this time ({type(exc).__name__})"}]}
            _attach_lookup_fixes(an, [], base, info)
            detail["lookup_fixes"] = info
    return _result(an, detail, [t for t, _ in records], lookups=root.total)


LOOKUP_ADVICE = (
    "Remove services you no longer use, replace a/mx rules with ip4:/ip6: addresses, or move bulk mail "
    "(newsletters, billing) to a subdomain with its own SPF. 'Flattening' includes into IP addresses works only "
    "if kept up to date, because providers change their addresses without notice.")
LOOKUP_OPTIONS = (
    "The records below bring it within the limit and keep the senders you need, cheapest first; each says "
    "what it costs you. Also remove any service you no longer use.")


def _tree_findings(an: _Analysis, root: Node) -> None:
    total = root.total
    voids = sum(n.void_lookups for n in root.walk())
    if total > LOOKUP_LIMIT:
        costs = sorted(root.children, key=lambda c: -c.total)
        parts = [f"{c.mechanism} ({1 + c.total})" for c in costs][:5]
        own = root.lookups - len(root.children)
        if own > 0:
            parts.append(f"a/mx/ptr/exists rules in your own record ({own})")
        an.add("spf.too-many-lookups", Severity.ERROR,
               f"Checking your SPF takes {total} DNS lookups; the limit is {LOOKUP_LIMIT}. Receivers stop at the "
               f"limit with a permanent error, so SPF fails for mail from servers not found before it. Biggest "
               f"costs: {', '.join(parts) or 'your own rules'}. " + LOOKUP_ADVICE,
               detail="Lookups per include (the include itself + what it uses): "
                      + "; ".join(f"{c.mechanism}: {1 + c.total}" for c in costs),
               rfc=RFC_LIMITS)
    elif total >= LOOKUP_LIMIT - 1:
        an.add("spf.near-lookup-limit", Severity.INFO,
               f"Your SPF uses {total} of the {LOOKUP_LIMIT} DNS lookups allowed. Adding another service would "
               "break it; remove services you no longer use before adding new ones.", rfc=RFC_LIMITS)
    if voids > VOID_LIMIT:
        own_voids = root.void_lookups
        an.add("spf.too-many-void-lookups", Severity.ERROR,
               f"{voids} rules in your SPF point at names that don't exist or have no records; more than "
               f"{VOID_LIMIT} makes receivers stop with a permanent error. Remove the rules that point nowhere.",
               detail="; ".join(f"{n.domain}: {n.void_lookups}" for n in root.walk() if n.void_lookups),
               rfc=RFC_LIMITS, fixable=bool(own_voids) and voids - own_voids <= VOID_LIMIT)
    for target, sites in an.include_sites.items():
        if len(sites) > 1 and len(set(sites)) > 1:
            an.add("spf.duplicate-include", Severity.INFO,
                   f"include:{target} is reached {len(sites)} times in your SPF tree (from "
                   f"{', '.join(sorted(set(sites)))}); each time costs lookups again.",
                   detail="Duplicate includes across the tree each count toward the limit.", rfc=RFC_LIMITS)


# -- fixes for too many lookups -------------------------------------------------------------------
#
# Three ways to get under the limit, each built on the corrected record (so it also fixes what that one
# fixes), each checked by this same check before it is offered, cheapest first:
#   1. drop the includes of services that send with their own return path (catalog: own_return_path): SPF
#      for their mail is checked against their domain, never yours, so the include only costs lookups;
#   2. flatten the most expensive includes: each becomes a record of your own at
#      ``<include>._spf-flat.<domain>`` listing the ip4:/ip6: ranges it gives today (one lookup instead of
#      the whole branch). The name says which include the copy was made from, so every later check
#      re-resolves that include and says when the copy went stale (``spf.flattened-stale``), with the
#      refreshed record; the watch list sees that as a change;
#   3. move senders to a subdomain of their own (their return-path domain), with its own SPF record.

FLAT_LABEL = "_spf-flat"
FLAT_RECORD_BYTES = 400  # one flattened record stays well under the 450 RFC 7208 §3.4 advises
_SLUG_SKIP = {"spf", "spf1", "spf2", "mail", "email", "smtp", "servers", "netblocks", "send", "mx", "www"}


def flat_host(source: str, domain: str, part: int = 1) -> str | None:
    """Where the flattened copy of ``include:source`` lives (``part`` > 1: its continuation records);
    None when the name would be too long."""
    host = f"{source}.{FLAT_LABEL}.{domain}" if part == 1 else f"_p{part}.{source}.{FLAT_LABEL}.{domain}"
    return host if len(host) <= 253 and all(0 < len(x) <= 63 for x in host.split(".")) else None


def flat_source(host: str, domain: str) -> str | None:
    """The include a flattened copy at ``host`` was made from (``x.example._spf-flat.<domain>`` → x.example);
    None for any other name, continuation records included."""
    suffix = f".{FLAT_LABEL}.{domain}"
    h = host.lower().rstrip(".")
    if not h.endswith(suffix):
        return None
    source = h[: -len(suffix)]
    if not source or re.match(r"_p\d+\.", source):
        return None
    return source


def flat_records(source: str, domain: str, networks: list[str], ending: str = "-all") -> list[tuple[str, str]] | None:
    """The records of a flattened copy: (host, value) each, the first at ``flat_host(source, domain)``,
    each under ``FLAT_RECORD_BYTES``, chained by an include when the ranges need more than one."""
    terms = range_terms(networks)
    chunks: list[list[str]] = [[]]
    for t in terms:
        size = len(" ".join(["v=spf1", *chunks[-1], t, f"include:{flat_host(source, domain, 99) or ''}", ending]))
        if chunks[-1] and size > FLAT_RECORD_BYTES:
            chunks.append([])
        chunks[-1].append(t)
    out: list[tuple[str, str]] = []
    for i, chunk in enumerate(chunks, start=1):
        host = flat_host(source, domain, i)
        nxt = flat_host(source, domain, i + 1) if i < len(chunks) else None
        if host is None or (i < len(chunks) and nxt is None):
            return None
        out.append((host, " ".join(["v=spf1", *chunk, *([f"include:{nxt}"] if nxt else []), ending])))
    return out


class _Overlay:
    """The run's DNS client with some TXT record sets replaced "as if published", so a record we are about
    to offer is checked exactly like a published one. Nothing is published."""

    def __init__(self, base: Any, txt: dict[str, list[str]]) -> None:
        self.base = base
        self.txt = {k.lower().rstrip("."): list(v) for k, v in txt.items()}

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        n = name.lower().rstrip(".")
        t = rdtype.upper()
        if t == "TXT" and n in self.txt:
            values = self.txt[n]
            if not values:
                return DnsAnswer(n, t, Outcome.NODATA)
            parts = [split_txt(v) for v in values]
            return DnsAnswer(n, t, Outcome.ANSWER, records=tuple(" ".join(quote_txt(s) for s in p) for p in parts),
                             txt=tuple(values), txt_strings=tuple(tuple(s.encode("utf-8") for s in p) for p in parts),
                             ttl=3600)
        ans: DnsAnswer = await self.base.query(name, rdtype)
        if ans.outcome is Outcome.NXDOMAIN and any(k == n or k.endswith("." + n) for k in self.txt):
            return DnsAnswer(n, t, Outcome.NODATA)
        return ans

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.base, attr)


def _catalog(ctx: CheckContext) -> tuple[CatalogService, ...]:
    cat = ctx.options.spf_catalog
    return tuple(cat) if cat is not None else load_catalog()


def _term_texts(record: str, domain: str) -> dict[str, str]:
    """Root include target → the include term as written in ``record``."""
    out: dict[str, str] = {}
    try:
        rec = parse_record_lenient(record)
    except SpfSyntaxError:
        return out
    for m in rec.mechanisms:
        if m.kind == "include" and m.qualifier == "+":
            target = static_target(m.domain_spec, domain, domain)
            if target is not None:
                out.setdefault(target, m.text)
    return out


def _edit(record: str, drop: set[str] = frozenset(), swap: dict[str, str] | None = None) -> str:  # type: ignore[assignment]
    """``record`` without the terms in ``drop`` and with the terms in ``swap`` replaced (texts, any case)."""
    low_drop = {t.lower() for t in drop}
    low_swap = {k.lower(): v for k, v in (swap or {}).items()}
    out = []
    for token in record.split():
        k = token.lower()
        if k in low_drop:
            continue
        out.append(low_swap.get(k, token))
    return " ".join(out)


def _slug(source: str, service: CatalogService | None) -> str:
    if service is not None:
        text = service.id
    else:
        labels = [x for x in source.split(".")[:-1] if x and not x.startswith("_") and x not in _SLUG_SKIP]
        text = labels[0] if labels else source.split(".")[0]
    slug = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:40].strip("-")
    return slug or "sender"


def _aspf_strict(walk: Walk | None) -> bool:
    """The DMARC record that applies asks for strict SPF alignment (aspf=s)."""
    if walk is None:
        return False
    for name in (walk.domain, organizational_domain(walk) if walk.found else walk.domain):
        step = walk.step(name)
        if step is not None and step.record is not None:
            return getattr(step.record, "aspf", None) == "s"
    return False


# Mailbox providers: people's own mail goes out through them with the domain itself as the return path, and
# they offer no return-path subdomain, so their include stays in the root record.
MAILBOX_INCLUDES = frozenset({
    "_spf.google.com", "spf.protection.outlook.com", "spf.messagingengine.com", "_spf.protonmail.ch", "zoho.com",
    "zoho.eu", "zohomail.com", "zohomail.eu", "icloud.com", "_spf.mail.yahoo.com", "secureserver.net",
})


def _provider_includes(mx: DnsAnswer) -> set[str]:
    """The includes of mailbox providers: the known ones, and the one the MX records show."""
    hosts = [r.split()[-1].rstrip(".").lower() for r in mx.records] if mx.ok else []
    out: set[str] = set(MAILBOX_INCLUDES)
    for h in hosts:
        for suffixes, inc, _name in PROVIDERS:
            if any(h == s or h.endswith("." + s) for s in suffixes):
                out.add(inc.split(":", 1)[1])
    return out


async def _judge(an: _Analysis, got: _Answers, value: str, extra: tuple[Fix, ...],
                 allowed: set[str], *, strict: bool = True) -> Any:
    """This check of ``value`` as the domain's SPF record, with ``extra`` published too: the result, or None
    when it is not good enough to offer (over the limit, an error, something we couldn't look up, a
    warning the current record doesn't have, or a problem in an extra record)."""
    ctx = an.ctx
    keep = [t for t in got.txt.txt if not is_spf_record(t)] if got.txt.ok else []
    txt: dict[str, list[str]] = {an.domain: keep + [value]}
    for f in extra:
        if f.type.upper() == "TXT" and f.action != "remove":
            there = await ctx.dns.query(f.host, "TXT")
            others = [t for t in there.txt if not is_spf_record(t)] if there.ok else []
            txt[f.host] = others + [f.value]
        elif f.type.upper() == "TXT":
            txt[f.host] = []
    overlay = _Overlay(ctx.dns, txt)
    octx = CheckContext(an.domain, overlay, ctx.options)  # type: ignore[arg-type]
    result = await _analyse(octx, _Answers(await overlay.query(an.domain, "TXT"), got.spf_rr, got.mx, got.walk),
                            offer_fixes=False)
    if not strict:
        return result
    if int(result.detail.get("lookups") or 0) > LOOKUP_LIMIT:
        return None
    for finding in result.findings:
        if finding.severity in (Severity.ERROR, Severity.UNKNOWN) or (finding.severity is Severity.WARNING
                                                                        and finding.code not in allowed):
            return None
    if await _widens(an, value, overlay):  # never lets more unlisted servers pass than today's record
        return None
    for f in extra:
        if f.type.upper() != "TXT" or f.action == "remove":
            continue
        sctx = CheckContext(f.host, overlay, ctx.options)  # type: ignore[arg-type]
        sub = await _analyse(sctx, _Answers(await overlay.query(f.host, "TXT"), DnsAnswer(f.host, "SPF", Outcome.NODATA),
                                            DnsAnswer(f.host, "MX", Outcome.NODATA), got.walk), offer_fixes=False)
        if any(x.severity in (Severity.ERROR, Severity.UNKNOWN, Severity.WARNING) for x in sub.findings):
            return None
    return result


async def _offer_lookup_fixes(an: _Analysis, got: _Answers, start: str, base: Fix | None,
                              stage: DmarcStage | None) -> dict[str, Any]:
    """Work out, check and attach the records that bring the SPF record within 10 lookups (see above).
    Returns what the detail shows: the options with their cost, and why others were left out."""
    ctx, domain = an.ctx, an.domain
    catalog = _catalog(ctx)
    allowed = {i.finding.code for i in an.issues if i.finding.severity is Severity.WARNING}
    info: dict[str, Any] = {"start": start, "options": [], "left_out": []}
    probe = _Analysis(ctx)
    try:
        tree = await probe.walk(domain, start, "", (), 0, record=parse_record(start))
    except SpfSyntaxError:  # pragma: no cover - built from valid terms
        return info
    total = tree.total
    info["lookups"] = total
    corrections = (" Also in this record: " + base.note) if base is not None and base.note else ""
    options: list[Fix] = []
    if total <= LOOKUP_LIMIT and base is not None:
        if await _judge(an, got, start, (), allowed) is not None:
            options.append(Fix(domain, "TXT", start, action="replace", title="Publish the corrected record",
                               note=f"With the corrections below it needs {total} of the {LOOKUP_LIMIT} lookups."
                                    + corrections))
            info["options"].append({"kind": "corrected", "lookups": total, "record": start})
        _attach_lookup_fixes(an, options, base, info)
        return info
    texts = _term_texts(start, domain)
    branches = [c for c in tree.children if c.mechanism.startswith("include:") and c.domain in texts]
    redirect = next((c for c in tree.children if c.mechanism.startswith("redirect=")), None)
    if redirect is not None and redirect.branch > LOOKUP_LIMIT // 2:
        info["redirect"] = {"domain": redirect.domain, "lookups": redirect.branch}
    ending = "-all" if (an.all_target == "-") else "~all"

    # 1. includes a service with its own return path never needs
    unneeded: list[tuple[Node, CatalogService, str]] = []
    for c in branches:
        found = unneeded_include(c.domain, catalog)
        if found is not None and c.branch > 0:
            unneeded.append((c, found[0], found[1]))
    dropped = {texts[c.domain] for c, _, _ in unneeded}
    saved_drop = sum(c.branch for c, _, _ in unneeded)
    drop_words = [
        (f"{why} " if why else "")
        + (f"{svc.name} sends with its own return path"
           + (f" ({svc.return_path_domain})" if svc.return_path_domain else "")
           + f", so receivers check SPF for its mail against that domain, never yours: '{texts[c.domain]}' costs "
             f"{_plural(c.branch, 'lookup')} and never makes SPF pass for you. DMARC passes for its mail through "
             "DKIM, so make sure its DKIM records are published"
           + (f" ({svc.setup})" if svc.setup else "") + "."
           if svc.own_return_path else f"'{texts[c.domain]}' costs {_plural(c.branch, 'lookup')}.")
        + (f" Source: {svc.source}" + (f", checked {checked_date(svc.checked)}" if checked_date(svc.checked) else "")
           + "." if svc.source else "")
        for c, svc, why in unneeded]
    if unneeded:
        info["unneeded"] = [{"include": c.domain, "service": svc.id, "lookups": c.branch} for c, svc, _ in unneeded]
        value = _edit(start, dropped)
        if total - saved_drop <= LOOKUP_LIMIT:
            got_ok = await _judge(an, got, value, (), allowed)
            if got_ok is not None:
                n = int(got_ok.detail.get("lookups") or 0)
                options.append(Fix(domain, "TXT", value, action="replace", title="Remove includes you don't need",
                                   note=" ".join(drop_words) + f" Nothing else changes: the record then needs {n} of "
                                        f"the {LOOKUP_LIMIT} lookups." + corrections))
                info["options"].append({"kind": "drop", "lookups": n, "record": value})
    keep_start = start if (options and options[0].title.startswith("Remove")) else _edit(start, dropped)
    pre_words = (" It also leaves out " + ", ".join(f"'{texts[c.domain]}'" for c, _, _ in unneeded)
                 + ": " + " ".join(drop_words)) if keep_start != start else ""
    base_total = total - (saved_drop if keep_start != start else 0)
    # includes a service never needs are neither copied nor moved: option 1 drops them (and, when it alone isn't
    # enough, the others leave them out too)
    movable = sorted((c for c in branches if texts[c.domain] not in dropped), key=lambda c: -c.branch)

    # 2. flatten the most expensive includes into records of our own
    resolved = await asyncio.gather(*(resolve_term(f"include:{c.domain}", ctx.dns, domain) for c in movable))
    picks: list[tuple[Node, list[tuple[str, str]]]] = []
    saved = 0
    for c, r in zip(movable, resolved):
        if base_total - saved <= LOOKUP_LIMIT:
            break
        if not r.ok:
            info["left_out"].append({"include": c.domain, "why": r.problems[0]})
            continue
        recs = flat_records(c.domain, domain, r.networks)
        if recs is None or c.branch - len(recs) <= 0:
            continue
        picks.append((c, recs))
        saved += c.branch - len(recs)
    if picks and base_total - saved <= LOOKUP_LIMIT:
        swap = {texts[c.domain]: f"include:{recs[0][0]}" for c, recs in picks}
        value = _edit(keep_start, set(), swap)
        extra = tuple(Fix(h, "TXT", v, action="publish",
                          note=f"A copy of the addresses 'include:{c.domain}' lists today"
                               + (" (continued)" if i else "") + ".")
                      for c, recs in picks for i, (h, v) in enumerate(recs))
        judged = await _judge(an, got, value, extra, allowed)
        if judged is not None:
            n = int(judged.detail.get("lookups") or 0)
            names = ", ".join(f"'include:{c.domain}' ({_plural(c.branch, 'lookup')})" for c, _ in picks)
            options.append(Fix(
                domain, "TXT", value, action="replace",
                title="Copy the most expensive includes into records of your own (flatten)",
                note=f"{names} {'is' if len(picks) == 1 else 'are'} replaced by a record of your own listing the "
                     f"addresses {'it gives' if len(picks) == 1 else 'they give'} today, so your record needs {n} "
                     f"of the {LOOKUP_LIMIT} lookups. Publish the records below it too. The trade-off: the copied "
                     "addresses are a snapshot. When the provider changes its sending addresses, mail from the new "
                     "ones fails SPF until you update the copy. InboxReady compares the copy with the live include "
                     "at every check (add the domain to the watch list to hear about it) and gives you the "
                     "refreshed record." + pre_words + corrections,
                also_publish=extra))
            info["options"].append({"kind": "flatten", "lookups": n, "record": value,
                                    "flattened": {c.domain: [h for h, _ in recs] for c, recs in picks}})
        else:
            info["left_out"].append({"option": "flatten", "why": "the record with the copies did not pass our own "
                                                                 "check"})

    # 3. move senders to a subdomain of their own
    protected = _provider_includes(got.mx)
    moves: list[Node] = []
    saved = 0
    for c in movable:
        if base_total - saved <= LOOKUP_LIMIT:
            break
        if c.domain in protected or c.error:
            continue
        moves.append(c)
        saved += c.branch
    if moves and base_total - saved <= LOOKUP_LIMIT:
        extra_l: list[Fix] = []
        for c in moves:
            svc = find_include(c.domain, catalog)
            slug = _slug(c.domain, svc)
            host = f"bounce-{slug}.{domain}"
            want = f"v=spf1 include:{c.domain} {ending}"
            for k in range(2, 6):  # a name whose own SPF record says something else is taken
                there = await ctx.dns.query(host, "TXT")
                if not [t for t in (there.txt if there.ok else ()) if is_spf_record(t) and t != want]:
                    break
                host = f"bounce-{slug}-{k}.{domain}"
            extra_l.append(Fix(host, "TXT", want, action="publish",
                               note=f"SPF for the subdomain that {svc.name if svc else 'this sender'} uses as its "
                                    "return path (bounce address)."))
        value = _edit(keep_start, {texts[c.domain] for c in moves})
        judged = await _judge(an, got, value, tuple(extra_l), allowed)
        if judged is not None:
            n = int(judged.detail.get("lookups") or 0)
            pairs = "; ".join(f"'include:{c.domain}' ({_plural(c.branch, 'lookup')}) moves to {f.host}"
                              for c, f in zip(moves, extra_l))
            strict = _aspf_strict(got.walk)
            options.append(Fix(
                domain, "TXT", value, action="replace", title="Move senders to a subdomain of their own",
                kind="suggestion",  # right once each service uses the subdomain, which only the person can set
                note=f"{pairs}. Your record then needs {n} of the {LOOKUP_LIMIT} lookups. Publish the records below "
                     "it too, then in each service's settings set that subdomain as its return-path (bounce, MAIL "
                     "FROM) domain. The trade-off: a setting to change at each service, and until it is changed its "
                     "mail no longer passes SPF for your domain and passes DMARC only through DKIM. "
                     + ("Your DMARC record asks for strict SPF alignment (aspf=s), so SPF on the subdomain won't "
                        "count for DMARC: these services' mail must pass DKIM."
                        if strict else
                        "SPF that passes on the subdomain counts for DMARC (relaxed alignment, the default).")
                     + pre_words + corrections,
                also_publish=tuple(extra_l)))
            info["options"].append({"kind": "subdomain", "lookups": n, "record": value,
                                    "moved": {c.domain: f.host for c, f in zip(moves, extra_l)}})
        else:
            info["left_out"].append({"option": "subdomain", "why": "on a subdomain of their own, "
                                     + ", ".join(f"'include:{c.domain}'" for c in moves)
                                     + " would still not pass our check (too many lookups there, or an error)"})
    _attach_lookup_fixes(an, options, base, info)
    return info


def _attach_lookup_fixes(an: _Analysis, options: list[Fix], base: Fix | None, info: dict[str, Any]) -> None:
    """The first option on the too-many-lookups finding (the rest as alternatives), and on every finding
    the corrected record fixed (each option includes those corrections); without an option, say why."""
    for i, issue in enumerate(an.issues):
        f = issue.finding
        if f.code == "spf.too-many-lookups":
            if options:
                an.issues[i] = _Issue(replace(f, message=f.message.replace(LOOKUP_ADVICE, LOOKUP_OPTIONS),
                                              fix=options[0], alternatives=tuple(options[1:])), issue.fixable)
            else:
                why = "; ".join(x["why"] for x in info.get("left_out", []))
                red = info.get("redirect")
                an.issues[i] = _Issue(replace(f, no_fix=(
                    "None of the records we could build keeps every sender within the limit"
                    + (f" ({why})" if why else "")
                    + (f". Most of the lookups ({red['lookups']}) are in the record your 'redirect=' points to, "
                       f"{red['domain']}: bring that one within the limit (check {red['domain']} itself to get "
                       "records that fit)" if red else "")
                    + ". Remove the services you no longer use, or ask the providers of the biggest includes for a "
                      "cheaper one.")), issue.fixable)
        elif options and base is not None and f.fix == base:
            an.issues[i] = _Issue(replace(f, fix=options[0]), issue.fixable)
        elif base is not None and f.fix == base and not options:
            note = (f"{base.note} This record still needs {info.get('lookups')} DNS lookups, so it does not fix the "
                    "lookup problem.").strip()
            an.issues[i] = _Issue(replace(f, fix=replace(base, note=note)), issue.fixable)


async def _flattened_copies(an: _Analysis, root: Node) -> list[SpfFlattenedCopy]:
    """For each include of the root record that is a flattened copy (``<include>._spf-flat.<domain>``):
    the include is resolved again and compared with the copy; a stale copy is a warning with the
    refreshed record. What was compared goes in the detail."""
    out: list[SpfFlattenedCopy] = []
    for child in root.children:
        source = flat_source(child.domain, an.domain) if child.mechanism.startswith("include:") else None
        if source is None:
            continue
        hosts = [n for n in child.walk() if n.domain == child.domain or n.domain.endswith(f".{source}.{FLAT_LABEL}.{an.domain}")]
        published = collapse(x for n in hosts if n.record for x in ranges_of(n.record))
        live = await resolve_term(f"include:{source}", an.ctx.dns, an.domain)
        entry: SpfFlattenedCopy = {"include": source, "host": child.domain, "published": published,
                                 "live": live.networks if live.ok else None, "current": None,
                                 "problems": list(live.problems)}
        out.append(entry)
        if child.error:
            continue
        if not live.ok:
            an.add("spf.flattened-unchecked", Severity.INFO,
                   f"{child.domain} is a copy of the addresses 'include:{source}' lists, and we couldn't compare it "
                   f"with the live include this time: {live.problems[0]}",
                   detail=f"Published copy: {' '.join(range_terms(published))}", rfc=RFC_INCLUDE)
            continue
        entry["current"] = published == live.networks
        if entry["current"]:
            continue
        new = [n for n in live.networks if n not in published]
        gone = [n for n in published if n not in live.networks]
        recs = flat_records(source, an.domain, live.networks)
        fix = None
        if recs is not None:
            old_hosts = [n.domain for n in hosts]
            fixes = [Fix(h, "TXT", v, action="replace" if h in old_hosts else "publish",
                         note=f"The addresses 'include:{source}' lists today.") for h, v in recs]
            fixes += [Fix(h, "TXT", next((n.record for n in hosts if n.domain == h and n.record), ""), action="remove",
                          note="No longer needed: the copy is shorter now.")
                      for h in old_hosts if h not in {x for x, _ in recs}]
            fix = replace(fixes[0], title="Refresh the copy", also_publish=tuple(fixes[1:]))
        words = []
        if new:
            words.append(f"it now also lists {', '.join(range_terms(new)[:6])}{' and more' if len(new) > 6 else ''}, "
                         "so mail from those addresses fails SPF")
        if gone:
            words.append(f"it no longer lists {', '.join(range_terms(gone)[:6])}{' and more' if len(gone) > 6 else ''}, "
                         "which your copy still allows to send as you")
        an.add("spf.flattened-stale", Severity.WARNING,
               f"Your record {child.domain} is a copy of the addresses 'include:{source}' lists, and the include has "
               f"changed since: {'; '.join(words)}. Replace the copy with the record below.",
               detail=f"Copy: {' '.join(range_terms(published))} | Live: {' '.join(range_terms(live.networks))}",
               rfc=RFC_INCLUDE, fix=fix)
    return out


def _quoted(terms: set[str] | frozenset[str]) -> str:
    """Terms named in a note, each in quotes: a bare 'a' or 'mx' at the end of a sentence reads as a word."""
    return ", ".join(f"'{t}'" for t in sorted(terms))


def _corrected(an: _Analysis, rec: SpfRecord, merged: bool) -> tuple[str, list[str]] | None:
    """The one record that fixes every fixable record-level issue, and notes on what changed."""
    codes = {i.finding.code for i in an.issues if i.fixable}
    if not codes:
        return None
    notes: list[str] = []
    if merged:
        notes.append("Replaces all your SPF records with one that keeps every sender.")
    drop = an.void_terms | an.dead_includes | an.loop_terms | an.open_terms
    terms: list[Term] = []
    dropped_ptr = False
    for t in rec.terms:
        if isinstance(t, Mechanism) and t.kind == "ptr":
            dropped_ptr = True
            continue
        if t.text.lower() in drop:
            continue
        if t.text.lower() in an.open_swaps:
            swapped = an.open_swaps[t.text.lower()]
            terms.append(parse_term(swapped))
            notes.append(f"'{t.text}' became '{swapped}', so it covers your servers, not whole networks.")
            continue
        if isinstance(t, Mechanism) and _mapped_ip4_term(t) is not None:
            v4 = _mapped_ip4_term(t) or ""
            terms.append(parse_term(v4))
            notes.append(f"'{t.text}' became '{v4}'.")
            continue
        if isinstance(t, Modifier) and "spf.modifier-typo" in codes and _typo_term(t) is not None:
            fixed = _typo_term(t)
            assert fixed is not None
            terms.append(fixed)
            notes.append(f"'{t.text}' became '{fixed.text}'.")
            continue
        if isinstance(t, Modifier) and t.name == "redirect" and rec.all is not None and an.unsafe_redirect is not None:
            notes.append(f"'{t.text}' was removed (not made an include): {_what_opens(an.unsafe_redirect)}.")
            continue
        if isinstance(t, Modifier) and t.name == "redirect" and rec.all is not None:
            terms.append(parse_term(f"include:{t.value}"))
            notes.append(f"'{t.text}' became 'include:{t.value}', because a redirect next to 'all' is ignored.")
            continue
        if (isinstance(t, Modifier) and t.name == "redirect" and rec.all is None and "spf.neutral-all" in codes
                and an.neutral_redirect is not None):
            terms.append(parse_term(f"include:{t.value}"))
            notes.append(f"'{t.text}' became 'include:{t.value}' followed by your own 'all', so servers that "
                         f"record doesn't list no longer get its neutral result.")
            continue
        terms.append(t)
    if dropped_ptr:
        notes.append("'ptr' was removed: add ip4:/ip6: entries for the servers it covered before publishing.")
    if an.void_terms:
        notes.append("Removed rules that point at names with nothing to match (no such name, or no address "
                     "or mail server there): " + _quoted(an.void_terms) + ".")
    if an.open_terms:
        notes.append("Removed what let any server on the internet pass SPF as you: " + _quoted(an.open_terms) + "."
                     + (" If you use such a service, ask it for its correct include." if any(
                         t.startswith(("include:", "+include:", "redirect=")) for t in an.open_terms) else ""))
    if an.dead_includes or an.loop_terms:
        notes.append("Removed includes that cannot work: " + _quoted(an.dead_includes | an.loop_terms)
                     + ". If you still use such a service, add its correct include.")
    if "spf.terms-after-all" in codes:
        senders, others, alls = _after_all(rec)
        if senders or others:
            notes.append("'all' now comes last, so the rules that were after it take effect.")
        if alls:
            notes.append("Only one 'all' rule is kept, at the end.")
    q = rec.all.qualifier if rec.all is not None else ("?" if an.neutral_redirect is not None
                                                        and "spf.neutral-all" in codes else None)
    has_redirect = any(isinstance(t, Modifier) and t.name == "redirect" for t in terms)
    had_senders = any(m.kind != "all" for m in rec.mechanisms) or rec.redirect is not None
    nobody = not has_redirect and not any(isinstance(t, Mechanism) and t.kind != "all" for t in terms)
    if nobody and (had_senders or q in ("+", "?", None)):
        an.nobody = True
        # The record lists nobody ('v=spf1 +all', or every rule removed above): '~all' alone would make all
        # the domain's mail fail SPF, so start from the mail provider its MX records show.
        what_was = "no working servers" if had_senders else "no servers"
        if an.mx is not None and an.mx.ok and any(r.split()[-1] != "." for r in an.mx.records):
            starter, what = _starter(an.mx)
            an.starter = starter.split()[1:-1]
            terms = [parse_term(x) for x in starter.split()[1:-1]] + terms
            notes.append(f"Your record listed {what_was}, so this one starts with {what} (from your MX records). "
                         "Add an include or ip4: entry for every other service that sends mail as you (website, "
                         "newsletter, invoicing) before you publish it.")
        else:
            notes.append(f"Your record listed {what_was}, so this one allows none yet: add an include or ip4: "
                         "entry for each service that sends mail as you before you publish it.")
    target = an.all_target or "~"
    if q in ("+", "?") or (q is None and not has_redirect):
        q = target
        notes.append(SOFTALL_NOTE if target == "~" else HARDALL_NOTE)
    elif q == "-" and target == "~" and "spf.all-hardfail-early" in codes:
        q = "~"
        notes.append("'-all' became '~all': " + SOFTALL_NOTE)
    elif q == "~" and target == "-" and "spf.all-hardfail-ok" in codes:
        q = "-"
        notes.append("'~all' became '-all': " + HARDALL_NOTE)
    value = _assemble(terms, q)
    try:
        parse_record(value)
    except SpfSyntaxError:  # pragma: no cover - built from valid terms
        return None
    return value, notes


async def _settle(ctx: CheckContext, value: str, notes: list[str]) -> tuple[str, list[str]]:
    """Re-analyse the corrected record (DNS answers are cached) and drop terms that would now be
    void, loop or point at a domain without SPF (e.g. ones that sat after 'all' and were never
    evaluated before), so the record we suggest passes our own check."""
    for _ in range(3):
        probe = _Analysis(ctx)
        try:
            rec = parse_record(value)
        except SpfSyntaxError:  # pragma: no cover - built from valid terms
            break
        await probe.walk(probe.domain, value, "", (), 0, record=rec)
        bad = probe.void_terms | probe.dead_includes | probe.loop_terms
        if not bad:
            break
        value = " ".join(t for t in value.split(" ") if t.lower() not in bad)
        notes = notes + ["Also removed, because they cannot work: " + _quoted(bad) + "."]
    # A term the correction brought in (a redirect made an include) must not let any server pass.
    try:
        opened = [c for c in (await reach(ctx.dns, ctx.domain, value)).open_terms() if c.kind != "all"]
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - the guard in _analyse still compares the record as a whole
        log.debug("working out who the corrected record lets send failed", exc_info=True)
        opened = []
    if opened:
        gone = {c.term.lower() for c in opened}
        value = " ".join(t for t in value.split(" ") if t.lower() not in gone)
        notes = [n for n in notes if not any(f"became '{t}'" in n.lower() for t in gone)]
        notes = notes + ["Left out: " + "; ".join(f"'{c.term}', because {_door_words(c, ctx.domain)}" for c in opened)
                         + ". Including it would let any server on the internet pass SPF as you."]
    return value, notes


async def _widens(an: _Analysis, value: str, dns: Any = None) -> str:
    """Why publishing ``value`` (looked up through ``dns``, by default the run's client) would let more servers
    nobody listed pass SPF than the record receivers see today ("" when it doesn't, or when we can't tell
    who passes today)."""
    if an.reach_now is None:
        return ""
    try:
        after = await reach(dns if dns is not None else an.ctx.dns, an.domain, value)
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - then we can't vouch for the record: don't offer it
        log.debug("working out who %r lets send failed", value, exc_info=True)
        return "we couldn't work out which servers it would let send as you"
    return widens(an.reach_now, after) or ""


def _refuse(an: _Analysis, why: str) -> None:
    """No corrected record is offered: say why on each finding it would have fixed."""
    for i, issue in enumerate(an.issues):
        f = issue.finding
        if issue.fixable and f.fix is None and not f.no_fix:
            an.issues[i] = _Issue(replace(f, no_fix=f"The record we could build to fix this would be worse: {why}. "
                                                    "Correct the record by hand, or build it again with the SPF "
                                                    "builder."), issue.fixable)


def _share_words(c: Contribution) -> str:
    """How much of the internet a contribution lets pass, in plain words."""
    g = c.passes & GLOBAL
    v4 = g.size(4) * 100 / GLOBAL.size(4)
    v6 = g.size(6)
    parts = []
    if v4 >= 1:
        parts.append(f"{v4:.0f}% of all IPv4 addresses on the internet")
    elif g.size(4):
        parts.append(f"{g.size(4) / 1e6:.0f} million IPv4 addresses")
    if v6:
        parts.append(f"a block of IPv6 addresses as big as a /{128 - v6.bit_length() + 1}")
    return " and ".join(parts) or "a huge share of the internet"


def _door_words(c: Contribution, domain: str) -> str:
    """Why a term lets any server pass: the term deepest down that does it."""
    if c.source_domain != domain.rstrip(".").lower() and c.source_term:
        return _what_opens(c, " it leads to")
    return f"it covers {_share_words(c)}"


def _what_opens(c: Contribution, via: str = "") -> str:
    """'the SPF record of x.example ends with '+all', which passes every server' (or the range that does it)."""
    src = c.source_term
    what = (f"ends with '{src}', which passes every server" if src.lower().lstrip("+") == "all"
            else f"lists '{src}', which covers {_share_words(c)}")
    return f"the SPF record of {c.source_domain}{via} {what}"


def _open_findings(an: _Analysis, mine: Reach) -> None:
    """spf.plus-all for each term of the record (other than its own 'all', see record_checks) that lets a huge
    share of the internet pass: an include or redirect of a '+all' record, a huge ip4:/ip6: range, mx/0..."""
    end = "-all" if an.all_target == "-" else "~all"
    for c in mine.open_terms():
        if c.kind == "all":
            continue
        swap = None
        if c.kind in ("a", "mx") and "/" in c.term:
            swap = c.term.split("/", 1)[0]
            an.open_swaps[c.term.lower()] = swap
        else:
            an.open_terms.add(c.term.lower())
        how = (f"Write it as '{swap}' (the suggested record does): the part after '/' widens each address of "
               "your servers to a whole network." if swap else
               ("Remove it (the suggested record does). If you use that service, ask it for its correct SPF "
                "include." if c.kind in ("include", "redirect") else "Remove it (the suggested record does) and "
                "list the addresses of your own servers instead."))
        an.add("spf.plus-all", Severity.ERROR,
               f"'{c.term}' in your record lets any server on the internet pass SPF as your domain: "
               f"{_door_words(c, an.domain)}. Anyone can send mail that passes SPF as you. {how}",
               detail=f"Passes through '{c.term}': " + ", ".join(c.passes.networks()[:6])
                      + (" …" if len(c.passes.networks()) > 6 else "")
                      + f". An include matches where its record gives pass (RFC 7208 §5.2); a redirect hands "
                        f"every unlisted server to its record (§6.1). Unlisted servers should get {end}.",
               rfc="RFC 7208 §5.2, §5.6, §6.1", fixable=True)


def _attach(an: _Analysis, fix: Fix) -> None:
    for i, issue in enumerate(an.issues):
        if issue.fixable and issue.finding.fix is None:
            f = issue.finding
            an.issues[i] = _Issue(Finding(f.code, f.severity, f.message, f.detail, f.rfc, fix), True)


async def _works(an: _Analysis, got: _Answers, value: str) -> list[Finding]:
    """The problems this check finds in ``value`` as the domain's SPF record (errors and lookups it couldn't
    do); empty when it works."""
    judged = await _judge(an, got, value, (), set(), strict=False)
    return [f for f in judged.findings if f.severity in (Severity.ERROR, Severity.UNKNOWN)]


async def _no_record(an: _Analysis, detail: SpfDetail, txt: DnsAnswer, mx: DnsAnswer, rr: list[str],
                     null_mx: bool, got: _Answers) -> CheckResult:
    domain = an.domain
    looks = [t for t in txt.txt if not is_spf_record(t) and _looks_like_spf(t)]
    detail["tree"]["error"] = "no SPF record"
    for t in looks:
        repaired = _repair_lookalike(t)
        quoted = t.strip()[:1] in ("\"", "'")
        tabbed = re.match(r"v=spf1[\t\r\n\v\f]", t, re.IGNORECASE) is not None
        an.add("spf.bad-version", Severity.ERROR,
               (f"Your SPF record is wrapped in quotation marks that became part of its text (this happens when it "
                f"is pasted with quotes into a DNS panel that adds its own), so receivers ignore it: '{t[:80]}'."
                if quoted else
                f"Your SPF record has a tab or line break right after 'v=spf1' where a plain space must be, so "
                f"receivers don't recognise it as SPF: {t[:80]!r}."
                if tabbed else
                f"You have a TXT record that looks like SPF but does not start exactly with 'v=spf1' followed by "
                f"a space, so receivers ignore it: '{t[:80]}'.")
               + (" Publish the corrected record below in its place." if repaired else ""),
               detail=f"TXT {domain}: {t}", rfc=RFC_RECORD,
               fix=Fix(domain, "TXT", repaired, action="replace", note="The same record without the stray "
                       "characters around it.") if repaired else None)
    valid_rr = [r for r in rr if is_spf_record(r)]
    if looks:
        return _result(an, detail, [], summary="SPF record is not recognised: it does not start with 'v=spf1'.")
    if valid_rr:
        an.add("spf.missing", Severity.ERROR,
               "Your SPF record is published only as the old 'SPF' record type, which receivers no longer read. "
               "Publish the same text as a TXT record.",
               detail=f"SPF (type 99) {domain}: {valid_rr[0]}", rfc=RFC_SPF_RR,
               fix=Fix(domain, "TXT", valid_rr[0], note="The same record, as the TXT type that receivers read."))
        return _result(an, detail, [], summary="No SPF record that receivers read (only the old SPF type).")
    if null_mx:
        an.add("spf.missing", Severity.INFO,
               "Your domain has no SPF record. It also says it receives no mail (a 'null MX'), so it is probably "
               "not used for mail at all. To stop others from sending mail in its name, publish 'v=spf1 -all' "
               "(part of the lockdown records in the MX section).",
               rfc="RFC 7208 §4.5, RFC 7505",
               fix=Fix(domain, "TXT", "v=spf1 -all", note="Only for a domain that never sends mail: it tells "
                       "receivers that no server may send as this domain.", kind="suggestion"))
        return _result(an, detail, [], summary="No SPF record; this domain is not used for mail (null MX).",
                       status=Status.INFO)
    if txt.outcome is Outcome.NXDOMAIN:
        an.add("spf.missing", Severity.ERROR,
               f"{domain} does not exist in DNS, so it has no SPF record. Check the spelling of the domain.",
               detail=f"TXT {domain}: {txt.describe}", rfc="RFC 7208 §4.3")
        return _result(an, detail, [], summary="The domain does not exist in DNS.")
    has_mx = mx.ok and bool(mx.records)
    if has_mx:
        value, what = _starter(mx)
        broken = await _works(an, got, value)
        if broken and value != "v=spf1 mx ~all":  # a provider's include that doesn't work from here: own MX only
            value, what = "v=spf1 mx ~all", "your own mail servers (MX)"
            broken = await _works(an, got, value)
        an.add("spf.missing", Severity.ERROR,
               "Your domain has no SPF record, the DNS entry that lists the servers allowed to send your mail. "
               "Without it, Gmail, Yahoo and others treat your mail with suspicion or reject it. "
               + ("The record below "
                  f"is a starting point that covers {what}; add every other service that sends mail as you "
                  "(website, newsletter, invoicing) before you publish it." if not broken else
                  "List the services that send mail as you (each provider's help pages give an 'include:' to add, "
                  "e.g. v=spf1 include:... ~all; the SPF builder makes the record)."),
               rfc="RFC 7208 §4.5",
               fix=None if broken else Fix(
                   domain, "TXT", value, note=f"Starting point only: it covers {what}. Add an include or "
                   "ip4: entry for each other service that sends mail from your domain, or their mail will "
                   "fail SPF.", kind="starting-point"),
               no_fix="" if not broken else
               f"A starting record from your mail servers doesn't work from here: {broken[0].message}")
    elif mx.failed:
        an.add("spf.missing", Severity.ERROR,
               "Your domain has no SPF record, the DNS entry that lists the servers allowed to send your mail. "
               "If it sends mail, list those services (each provider's help pages give an 'include:' to add, "
               "e.g. v=spf1 include:... ~all). If it never sends mail, publish 'v=spf1 -all' so nobody can "
               "send in its name.",
               rfc="RFC 7208 §4.5",
               no_fix="We couldn't look up its mail servers (MX), so we can't tell which record fits: the services "
                      "that send as you, or 'v=spf1 -all' if it never sends mail.")
    else:
        # No MX and no SPF: it looks unused for email. The lockdown record (the same one the MX card lists with
        # the other lockdown records) is offered here too, for the case it doesn't send mail.
        lock = lockdown_fixes(domain)[0]
        stage = dmarc_stage(got.walk)
        if stage is not None and stage.enforcing_reject:
            # DMARC p=reject (its own, or sp= of the record it inherits) already has receivers refuse mail
            # that claims to come from it: no SPF record is a gap to close, not an open door.
            where = ("its DMARC record says p=reject" if stage.record_domain == domain else
                     f"the DMARC record of {stage.record_domain} applies p=reject to it")
            an.add("spf.missing", Severity.WARNING,
                   "Your domain has no SPF record, the DNS entry that lists the servers allowed to send your mail, "
                   f"and no mail server (MX) either, so it looks unused for email. Spoofing it is already blocked: "
                   f"{where}, so receivers that check DMARC refuse mail that claims to come from it. "
                   "If it never sends mail, publish the record below (with the other lockdown records listed under "
                   "MX) so that receivers that check only SPF refuse such mail too. If it does send mail, list "
                   "those services instead (each provider's help pages give an 'include:' to add, e.g. "
                   "v=spf1 include:... -all; the SPF builder makes the record).",
                   rfc="RFC 7208 §4.5, RFC 9989 §4.10",
                   fix=replace(lock, kind="suggestion",
                               note="Only for a domain that never sends mail: no server may send as it. It is "
                                    "one of the lockdown records listed under MX. If this domain sends mail, "
                                    "list its services instead, or their mail will fail SPF."))
            return _result(an, detail, [], summary="No SPF record, but DMARC p=reject already has receivers "
                                                   "refuse mail that spoofs this domain.")
        an.add("spf.missing", Severity.ERROR,
               "Your domain has no SPF record, the DNS entry that lists the servers allowed to send your mail, and "
               "no mail server (MX) either, so it looks unused for email, and anyone can send mail in its name. If "
               "it never sends mail, publish the record below, which says no server may send as it. If it does "
               "send mail, list those services instead (each provider's help pages give an 'include:' to add, "
               "e.g. v=spf1 include:... ~all; the SPF builder makes the record).",
               rfc="RFC 7208 §4.5",
               fix=replace(lock, kind="suggestion",
                           note="Only for a domain that never sends mail: no server may send as it. It is "
                                      "one of the lockdown records listed under MX. If this domain sends mail, "
                                      "list its services instead, or their mail will fail SPF."))
    return _result(an, detail, [], summary="No SPF record: receivers can't tell which servers may send as you.")


_SHORT = {
    "spf.multiple-records": "there is more than one SPF record",
    "spf.syntax-error": "the record has a syntax error",
    "spf.string-join": "the record's pieces are joined without a needed space",
    "spf.whitespace": "a tab or line break sits where a space belongs",
    "spf.term-slip": "a rule is written wrongly",
    "spf.too-many-lookups": "it needs too many DNS lookups",
    "spf.too-many-void-lookups": "too many rules point at names that don't exist",
    "spf.plus-all": "it lets any server on the internet send as you",
    "spf.include-loop": "an include loops back on itself",
    "spf.redirect-loop": "a redirect loops back on itself",
    "spf.include-no-record": "an include points at a domain without SPF",
    "spf.redirect-no-record": "the redirect points at a domain without SPF",
    "spf.include-invalid": "an included record is unusable",
    "spf.redirect-invalid": "the redirected record is unusable",
    "spf.include-syntax-error": "an included record has a syntax error",
    "spf.redirect-syntax-error": "the redirected record has a syntax error",
    "spf.mx-too-many": "an mx rule covers more than 10 mail servers",
    "spf.missing": "there is no SPF record",
    "spf.bad-version": "the record does not start with 'v=spf1'",
}
# Errors that leave the record working for the senders it lists right, but not for others the owner listed.
_LEFT_OUT = {
    "spf.terms-after-all": "rules after 'all' are never used",
    "spf.redirect-ignored": "a redirect next to 'all' is ignored",
    "spf.modifier-typo": "a rule written with '=' is ignored",
    "spf.ip6-mapped": "an IPv4 address written as IPv6 never matches",
}


# Why no record can fix a problem (item 12 of issue 12: every error has a fix or says why it has none).
_THEIRS = ("That record belongs to whoever runs that domain (usually one of your mail services), so only they can "
           "correct it; if you no longer use that service, remove its include from your record.")
_NO_FIX = {
    "spf.syntax-error": "We can't tell what the broken rule was meant to say, so we don't guess a record: correct the "
                        "rule named above by hand, or build the record again with the SPF builder (Tools → Record "
                        "builders, or 'inboxready build spf').",
    "spf.include-syntax-error": _THEIRS, "spf.redirect-syntax-error": _THEIRS,
    "spf.include-invalid": _THEIRS, "spf.redirect-invalid": _THEIRS,
    "spf.include-no-record": _THEIRS, "spf.redirect-no-record": _THEIRS,
    "spf.include-loop": _THEIRS, "spf.redirect-loop": _THEIRS,
    "spf.mx-too-many": "Only you know which of those mail servers also send mail: list the ones that do with "
                       "ip4:/ip6: (their addresses are on the MX card) instead of 'mx'.",
    "spf.too-many-void-lookups": "Some of the rules that point nowhere are in the records of other domains your "
                                 "record includes, which only their owners can correct; remove the includes of "
                                 "services you no longer use.",
    "spf.bad-version": "We can't tell for sure what the record was meant to say, so we don't guess: publish it again "
                       "starting exactly with 'v=spf1 ', or build it with the SPF builder.",
    "spf.missing": "The domain does not exist in DNS, so there is nowhere to publish one until it is registered: "
                   "check the spelling.",
}


def _result(an: _Analysis, detail: SpfDetail, records: list[str], *, summary: str | None = None,
            lookups: int | None = None, status: Status | None = None) -> CheckResult:
    broken = any(i.finding.code == "spf.syntax-error" for i in an.issues)
    for k, issue in enumerate(an.issues):
        f = issue.finding
        if f.severity is Severity.ERROR and not f.options and not f.no_fix:
            why = ("Correct the syntax error first (see above): then the check can build the corrected record."
                   if broken and f.code != "spf.syntax-error" else _NO_FIX.get(f.code, ""))
            if why:
                an.issues[k] = _Issue(replace(f, no_fix=why), issue.fixable)
    findings = [i.finding for i in an.issues]
    st = status or derive_status(findings)
    if summary is None:
        partial = any(f.severity is Severity.UNKNOWN for f in findings)  # some of the tree couldn't be read
        used = (f"{'at least ' if partial else ''}{lookups} of the {LOOKUP_LIMIT} allowed DNS lookups used"
                if lookups is not None else "")
        errors = [f for f in findings if f.severity is Severity.ERROR]
        warnings = [f for f in findings if f.severity is Severity.WARNING]
        if st is Status.FAIL and all(f.code in _LEFT_OUT for f in errors):
            summary = (f"SPF fails for some senders you listed: {_LEFT_OUT[errors[0].code]}"
                       + (f" ({used})." if used else "."))
        elif st is Status.FAIL:
            why = _SHORT.get(next((f.code for f in errors if f.code not in _LEFT_OUT), errors[0].code),
                             "it has an error")
            summary = f"SPF is broken: {why}" + (f" ({used})." if used else ".")
        elif st is Status.ERROR:
            summary = "SPF couldn't be fully checked: a DNS lookup it needs failed" + (f" ({used})." if used else ".")
        elif st is Status.WARN:
            summary = (f"SPF works, but {_plural(len(warnings), 'thing')} should be tidied up"
                       + (f" ({used})." if used else "."))
        else:
            summary = f"SPF is set up: {used}." if used else "SPF is set up."
    return CheckResult(name="spf", status=st, summary=summary, records=records, findings=findings,
                       detail=dict(detail))
