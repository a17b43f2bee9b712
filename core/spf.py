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
import re
from dataclasses import dataclass, field
from typing import Any

from .context import CheckContext
from .dmarc import Walk, organizational_domain, tree_walk
from .dns import DnsAnswer, Outcome
from .model import CheckResult, Finding, Fix, Severity, Status, derive_status
from .spfeval import SpfEvaluation, check_helo, check_host
from .spfmacro import (
    MacroContext,
    SpfSyntaxError,
    expand_parts,
    is_valid_domain_name,
    macro_letters,
    parse_macro_string,
    truncate_domain,
)
from .spfparse import (
    Mechanism,
    Modifier,
    SpfRecord,
    Term,
    is_spf_record,
    parse_record,
    parse_record_lenient,
    parse_term,
)

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
]

LOOKUP_LIMIT = 10
VOID_LIMIT = 2
RECORD_SIZE_ADVICE = 450  # RFC 7208 §3.4
MAX_FETCHES = 60  # SPF records fetched while walking one tree
MAX_DEPTH = 12
MAX_PROBES = 40  # a/mx/exists targets looked up while walking one tree

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

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "testing": self.testing, "record_domain": self.record_domain}


async def _dmarc_walk(ctx: CheckContext, domain: str) -> Walk | None:
    try:
        return await tree_walk(ctx.dns, domain)
    except Exception:  # the DMARC check reports DMARC trouble; SPF only loses its advice
        return None


def dmarc_stage(walk: Walk | None) -> DmarcStage | None:
    """The DMARC stage the RFC 9989 tree walk shows for the walked domain; None when it couldn't be
    looked up (then SPF gives no advice that depends on it)."""
    if walk is None:
        return None
    own = walk.step(walk.domain)
    if own is not None and own.record is not None:
        return DmarcStage(own.record.policy_for(subdomain=False), own.record.testing, walk.domain)
    # A walk that stopped at the top-level domain (whose _dmarc name many servers refuse to answer) is
    # complete enough: no record there changes the policy of the names below (as in the DMARC check).
    stopped = walk.failed is not None and "." in walk.failed.name
    if not walk.found:
        return None if stopped else DmarcStage(None, False, None)
    org = organizational_domain(walk)
    step = walk.step(org) if org != walk.domain else None
    if step is None or step.record is None:
        return None if stopped else DmarcStage(None, False, None)
    return DmarcStage(step.record.policy_for(subdomain=True), step.record.testing, org)


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

    def to_json(self) -> dict[str, Any]:
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


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _static_target(spec: str | None, domain: str, top: str) -> str | None:
    """A domain-spec expanded without knowing the sender: only %{d} and %{o} can be expanded
    (the domain being evaluated and the domain checked). None when it depends on the sender."""
    if spec is None:
        return domain
    try:
        parts = parse_macro_string(spec)
    except SpfSyntaxError:
        return None
    if not macro_letters(parts) <= {"d", "o"}:
        return None
    ctx = MacroContext(sender=f"postmaster@{top}", domain=domain, ip=ipaddress.IPv4Address("192.0.2.0"))
    return truncate_domain(expand_parts(parts, ctx)).lower()


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
        self.fetches = 0
        self.probes = 0
        self.void_terms: set[str] = set()  # lower-case texts of root terms that are void
        self.dead_includes: set[str] = set()  # root include terms whose target has no SPF record
        self.loop_terms: set[str] = set()  # root terms that point back at the domain itself
        self.include_sites: dict[str, list[str]] = {}  # include target -> domains including it
        self.mx: DnsAnswer | None = None  # the domain's MX answer (for starting points in fixes)
        self.all_target: str | None = None  # "~" or "-": the 'all' the DMARC stage calls for; None: unknown

    def add(self, code: str, severity: Severity, message: str, detail: str = "", rfc: str = "",
            fix: Fix | None = None, fixable: bool = False) -> None:
        if any(i.finding.code == code and i.finding.message == message for i in self.issues):
            return
        self.issues.append(_Issue(Finding(code, severity, message, detail, rfc, fix), fixable))

    # -- fetching -------------------------------------------------------------------------------

    async def fetch(self, name: str, via: str) -> tuple[str | None, str | None, Severity | None]:
        """(record, error, severity) for the SPF record at ``name`` reached through ``via``
        ("include:x" or "redirect=x")."""
        ans = await self.ctx.dns.query(name, "TXT")
        kind = via.split(":")[0].split("=")[0]
        if ans.failed:
            return None, f"couldn't look it up: {ans.describe}", Severity.UNKNOWN
        records = [t for t in ans.txt if is_spf_record(t)] if ans.ok else []
        if not records:
            why = "the name does not exist" if ans.outcome is Outcome.NXDOMAIN else "it has no SPF record"
            return None, f"no SPF record ({why}); every check of your SPF ends in an error ({kind} of a " \
                         "domain without SPF is a permanent error)", Severity.ERROR
        if len(records) > 1:
            return None, f"{len(records)} SPF records at {name}; exactly one is allowed", Severity.ERROR
        return records[0], None, None

    # -- the walk -------------------------------------------------------------------------------

    async def walk(self, domain: str, text: str | None, mechanism: str, chain: tuple[str, ...],
                   depth: int, record: SpfRecord | None = None) -> Node:
        node = Node(domain=domain, record=text, mechanism=mechanism)
        is_root = depth == 0
        if record is None:
            if text is None:
                if self.fetches >= MAX_FETCHES or depth > MAX_DEPTH:
                    node.note = "not followed: too many nested records"
                    return node
                self.fetches += 1
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
        if sev is Severity.UNKNOWN:
            self.add(f"spf.{kind}-lookup-failed", Severity.UNKNOWN,
                     f"We couldn't fetch the SPF record of {node.domain} (used through '{via}'). Until it can be "
                     "looked up, receivers may also fail to check your mail and ask the sender to retry.",
                     detail=f"{node.domain}: {err}", rfc=RFC_INCLUDE if kind == "include" else RFC_REDIRECT)
        elif err.startswith("no SPF record"):
            self.add(f"spf.{kind}-no-record", Severity.ERROR,
                     f"'{via}' in {'your' if parent == self.domain else 'the SPF record of ' + parent} record "
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
        target = _static_target(spec, domain, self.domain)
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
        if target in here:
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
        if not is_valid_domain_name(target):
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
        target = _static_target(m.domain_spec, domain, self.domain)
        if target is None or not is_valid_domain_name(target, multi_label=False) or self.probes >= MAX_PROBES:
            return
        self.probes += 1
        dns = self.ctx.dns
        if m.kind == "mx":
            ans = await dns.query(target, "MX")
            answers = [ans]
            hosts = [r for r in ans.records if r.split()[-1:] != ["."]] if ans.ok else []
            if ans.ok and len(hosts) > 10:
                self.add("spf.mx-too-many", Severity.ERROR,
                         f"'{m.text}' {'in your record' if is_root else 'in the SPF record of ' + domain} refers to "
                         f"{len(hosts)} mail servers; SPF allows at most 10, so checks of mail from servers "
                         "beyond those end in an error. List your sending servers with ip4:/ip6: instead.",
                         detail=f"MX of {target}: {', '.join(ans.records)}", rfc=RFC_LIMITS)
            void = ans.outcome.void or (ans.ok and not hosts)
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
        if first_all is None:
            if rec.redirect is None:
                self.add("spf.no-all", Severity.WARNING,
                         "Your SPF record does not end with an 'all' rule, so mail from servers you did not list "
                         "gets a 'neutral' result, as if you had no opinion. End it with ~all.",
                         detail="With no 'all' and no 'redirect', the default result is neutral.", rfc=RFC_ALL,
                         fixable=True)
        else:
            q = first_all.qualifier
            if q == "+":
                self.add("spf.plus-all", Severity.ERROR,
                         f"Your SPF record ends with '{first_all.text}', which {ALL_WORDS['+']}: anyone can send "
                         "mail that passes SPF as your domain. Replace it with ~all.",
                         detail="+all makes every IP address pass (RFC 7208 §5.1).", rfc=RFC_ALL, fixable=True)
            elif q == "?":
                self.add("spf.neutral-all", Severity.WARNING,
                         f"Your SPF record ends with '{first_all.text}', which {ALL_WORDS['?']}, so it does not "
                         "protect your domain from forgery. Use ~all.",
                         detail="?all gives 'neutral' to every unlisted server.", rfc=RFC_ALL, fixable=True)
            after = [m for m in mechs if m.start > first_all.start]
            if after:
                self.add("spf.terms-after-all", Severity.ERROR,
                         f"{_plural(len(after), 'rule')} ({', '.join(repr(m.text) for m in after)}) come after "
                         f"'{first_all.text}' and are never used: checking stops at 'all', so mail from the "
                         "servers they list fails SPF. The suggested record moves 'all' to the end (this starts "
                         "allowing those senders).",
                         detail="Mechanisms after 'all' MUST be ignored (RFC 7208 §5.1).", rfc=RFC_ALL,
                         fixable=True)
            if rec.redirect is not None:
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
    an = _Analysis(ctx)
    domain = an.domain
    txt, spf_rr, mx, walk = await asyncio.gather(ctx.dns.query(domain, "TXT"), ctx.dns.query(domain, "SPF"),
                                                 ctx.dns.query(domain, "MX"), _dmarc_walk(ctx, domain))
    stage = dmarc_stage(walk)
    an.all_target = all_for_stage(stage)
    an.mx = mx
    detail: dict[str, Any] = {
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
    for rr in rr_records:
        an.add("spf.spf-rr-type", Severity.WARNING,
               "Your DNS also has a record of the old 'SPF' type. RFC 7208 retired that type and receivers read "
               "only the TXT record, so it is ignored and only causes confusion when you edit SPF; delete it.",
               detail=f"SPF (type 99) {domain}: {rr}", rfc=RFC_SPF_RR,
               fix=Fix(domain, "SPF", rr, action="remove", note="Remove the record of type SPF; keep the TXT one."))

    if not records:
        return _no_record(an, detail, txt, mx, rr_records, null_mx)

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
        text, strings = merged, ()
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
    if len(records) > 1:
        root.record = None
        root.error = f"{len(records)} SPF records (only one is allowed); the tree shows the combined record"
    elif rec.errors:
        root.error = f"syntax error: {rec.errors[0]}"
    _tree_findings(an, root)
    detail["tree"] = root.to_json()
    detail["lookups"] = root.total
    detail["void_lookups"] = sum(n.void_lookups for n in root.walk())
    fix_value = _corrected(an, rec, merged is not None) if syntax_ok else None
    if fix_value is not None:
        value, notes = await _settle(ctx, fix_value[0], fix_value[1])
        if merged is not None or value != text:
            notes = ([string_note] if string_note else []) + notes
            _attach(an, Fix(domain, "TXT", value, action="replace", note=" ".join(notes)))
    return _result(an, detail, [t for t, _ in records], lookups=root.total)


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
               f"costs: {', '.join(parts) or 'your own rules'}. Remove services you no longer use, replace a/mx "
               "rules with ip4:/ip6: addresses, or move bulk mail (newsletters, billing) to a subdomain with its "
               "own SPF. 'Flattening' includes into IP addresses works only if kept up to date automatically, "
               "because providers change their addresses without notice.",
               detail="Lookups per include (the include itself + what it uses): "
                      + "; ".join(f"{c.mechanism}: {1 + c.total}" for c in costs),
               rfc=RFC_LIMITS)
    elif total >= LOOKUP_LIMIT - 1:
        an.add("spf.near-lookup-limit", Severity.INFO,
               f"Your SPF uses {total} of the {LOOKUP_LIMIT} DNS lookups allowed. Adding another service would "
               "break it; remove services you no longer use before adding new ones.", rfc=RFC_LIMITS)
    if voids > VOID_LIMIT:
        an.add("spf.too-many-void-lookups", Severity.ERROR,
               f"{voids} rules in your SPF point at names that don't exist or have no records; more than "
               f"{VOID_LIMIT} makes receivers stop with a permanent error. Remove the rules that point nowhere.",
               detail="; ".join(f"{n.domain}: {n.void_lookups}" for n in root.walk() if n.void_lookups),
               rfc=RFC_LIMITS)
    for target, sites in an.include_sites.items():
        if len(sites) > 1 and len(set(sites)) > 1:
            an.add("spf.duplicate-include", Severity.INFO,
                   f"include:{target} is reached {len(sites)} times in your SPF tree (from "
                   f"{', '.join(sorted(set(sites)))}); each time costs lookups again.",
                   detail="Duplicate includes across the tree each count toward the limit.", rfc=RFC_LIMITS)


def _corrected(an: _Analysis, rec: SpfRecord, merged: bool) -> tuple[str, list[str]] | None:
    """The one record that fixes every fixable record-level issue, and notes on what changed."""
    codes = {i.finding.code for i in an.issues if i.fixable}
    if not codes:
        return None
    notes: list[str] = []
    if merged:
        notes.append("Replaces all your SPF records with one that keeps every sender.")
    drop = an.void_terms | an.dead_includes | an.loop_terms
    terms: list[Term] = []
    dropped_ptr = False
    for t in rec.terms:
        if isinstance(t, Mechanism) and t.kind == "ptr":
            dropped_ptr = True
            continue
        if t.text.lower() in drop:
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
        if isinstance(t, Modifier) and t.name == "redirect" and rec.all is not None:
            terms.append(parse_term(f"include:{t.value}"))
            notes.append(f"'{t.text}' became 'include:{t.value}', because a redirect next to 'all' is ignored.")
            continue
        terms.append(t)
    if dropped_ptr:
        notes.append("'ptr' was removed: add ip4:/ip6: entries for the servers it covered before publishing.")
    if an.void_terms:
        notes.append("Removed rules that point at names with nothing to match (no such name, or no address "
                     "or mail server there): " + ", ".join(sorted(an.void_terms)) + ".")
    if an.dead_includes or an.loop_terms:
        notes.append("Removed includes that cannot work: " + ", ".join(sorted(an.dead_includes | an.loop_terms))
                     + ". If you still use such a service, add its correct include.")
    if "spf.terms-after-all" in codes:
        notes.append("'all' now comes last, so the rules that were after it take effect.")
    q = rec.all.qualifier if rec.all is not None else None
    has_redirect = any(isinstance(t, Modifier) and t.name == "redirect" for t in terms)
    had_senders = any(m.kind != "all" for m in rec.mechanisms) or rec.redirect is not None
    nobody = not has_redirect and not any(isinstance(t, Mechanism) and t.kind != "all" for t in terms)
    if nobody and (had_senders or q in ("+", "?", None)):
        # The record lists nobody ('v=spf1 +all', or every rule removed above): '~all' alone would make all
        # the domain's mail fail SPF, so start from the mail provider its MX records show.
        what_was = "no working servers" if had_senders else "no servers"
        if an.mx is not None and an.mx.ok and any(r.split()[-1] != "." for r in an.mx.records):
            starter, what = _starter(an.mx)
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
        notes = notes + ["Also removed, because they cannot work: " + ", ".join(sorted(bad)) + "."]
    return value, notes


def _attach(an: _Analysis, fix: Fix) -> None:
    for i, issue in enumerate(an.issues):
        if issue.fixable and issue.finding.fix is None:
            f = issue.finding
            an.issues[i] = _Issue(Finding(f.code, f.severity, f.message, f.detail, f.rfc, fix), True)


def _no_record(an: _Analysis, detail: dict[str, Any], txt: DnsAnswer, mx: DnsAnswer, rr: list[str],
               null_mx: bool) -> CheckResult:
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
        an.add("spf.missing", Severity.ERROR,
               "Your domain has no SPF record, the DNS entry that lists the servers allowed to send your mail. "
               "Without it, Gmail, Yahoo and others treat your mail with suspicion or reject it. The record below "
               f"is a starting point that covers {what}; add every other service that sends mail as you "
               "(website, newsletter, invoicing) before you publish it.",
               rfc="RFC 7208 §4.5",
               fix=Fix(domain, "TXT", value, note=f"Starting point only: it covers {what}. Add an include or "
                       "ip4: entry for each other service that sends mail from your domain, or their mail will "
                       "fail SPF.", kind="starting-point"))
    else:
        an.add("spf.missing", Severity.ERROR,
               "Your domain has no SPF record, the DNS entry that lists the servers allowed to send your mail. "
               "If it sends mail, list those services (each provider's help pages give an 'include:' to add, "
               "e.g. v=spf1 include:... ~all). If it never sends mail, publish 'v=spf1 -all' so nobody can "
               "send in its name.",
               rfc="RFC 7208 §4.5")
    return _result(an, detail, [], summary="No SPF record: receivers can't tell which servers may send as you.")


_SHORT = {
    "spf.multiple-records": "there is more than one SPF record",
    "spf.syntax-error": "the record has a syntax error",
    "spf.string-join": "the record's pieces are joined without a needed space",
    "spf.whitespace": "a tab or line break sits where a space belongs",
    "spf.too-many-lookups": "it needs too many DNS lookups",
    "spf.too-many-void-lookups": "too many rules point at names that don't exist",
    "spf.plus-all": "'+all' lets anyone send as you",
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


def _result(an: _Analysis, detail: dict[str, Any], records: list[str], *, summary: str | None = None,
            lookups: int | None = None, status: Status | None = None) -> CheckResult:
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
    return CheckResult(name="spf", status=st, summary=summary, records=records, findings=findings, detail=detail)
