"""What every walk of an SPF record tree shares: the record a name publishes, the lookup limits, whether an
include or redirect may be followed, and the order an ``mx`` looks at its hosts (RFC 7208 §4.4–§4.6.4, §5.2,
§5.4, §6.1).

Three walks use it, and they stay three because they answer different questions:

- ``spf_eval.check_host()`` evaluates for one address and stops at the first match (the RFC's algorithm);
- ``spf_reach.reach()`` evaluates for every address at once, as sets, so one step can end the evaluation
  for some addresses and not others;
- ``checks/spf.py`` walks the whole tree, every branch whatever matches, to measure it (lookups per node,
  void lookups, loops) and explain each problem.

What they have in common lives here, once: ``LookupTally`` (counting against the limits of §4.6.4),
``SpfStop`` (the evaluation ends in ``temperror`` / ``permerror``), ``select_record`` / ``fetch_record``
(§4.5: the one ``v=spf1`` record at a name), ``follow_problem`` (a loop or a target that is not a domain
name), ``TreeBudget`` (our own bound on how many records a set-wise or whole-tree walk fetches, and how
deep) and ``mx_hosts``. How each walk *reports* what these find (a sentence, a set of addresses, a finding)
stays with the walk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..dns.client import DnsAnswer, DnsClient
from .spf_macro import is_valid_domain_name
from .spf_parse import is_spf_record

__all__ = [
    "MAX_DEPTH", "MAX_FETCHES", "MAX_LOOKUPS", "MAX_MX", "MAX_PTR", "MAX_VOID_LOOKUPS", "LookupTally",
    "SelectedRecord", "SpfStop", "TreeBudget", "fetch_record", "follow_problem", "mx_hosts", "select_record",
]

# RFC 7208 §4.6.4
MAX_LOOKUPS = 10  # lookup-costing terms (include, a, mx, ptr, exists, redirect) per evaluation
MAX_VOID_LOOKUPS = 2  # lookups that find nothing (no such name, or no records)
MAX_MX = 10  # hosts an ``mx`` looks at
MAX_PTR = 10  # names a ``ptr`` / ``%{p}`` looks at

# Ours, not the RFC's: a walk that does not stop at the lookup limit (the tree is measured past it, or every
# address is followed at once) is still bounded.
MAX_FETCHES = 60  # SPF records fetched in one walk
MAX_DEPTH = 12  # includes/redirects nested


class SpfStop(Exception):
    """The evaluation ends here with ``result`` (``temperror`` or ``permerror``, RFC 7208 §4.4–§4.6).

    ``check_host`` raises it as is, with ``why`` in plain words; ``spf_reach`` raises a subclass that also
    says for which addresses it ends."""

    def __init__(self, result: str, why: str = "") -> None:
        super().__init__(why or result)
        self.result = result
        self.why = why


@dataclass
class LookupTally:
    """The counts of one evaluation against the limits of RFC 7208 §4.6.4. ``lookup()`` and ``void()`` count
    one more and say whether that one is over the limit (the evaluation then ends in ``permerror``)."""

    lookups: int = 0
    voids: int = 0

    def lookup(self) -> bool:
        self.lookups += 1
        return self.lookups > MAX_LOOKUPS

    def void(self) -> bool:
        self.voids += 1
        return self.voids > MAX_VOID_LOOKUPS


@dataclass(frozen=True)
class SelectedRecord:
    """The SPF record of a name, chosen from its TXT answer as RFC 7208 §4.5 says: ``result`` is ``""`` with
    ``text`` the one ``v=spf1`` record, else ``temperror`` (the lookup failed), ``none`` (no such record,
    or the name has none at all) or ``permerror`` (more than one)."""

    answer: DnsAnswer
    records: tuple[str, ...]

    @property
    def result(self) -> str:
        if self.answer.failed:
            return "temperror"
        if not self.records:
            return "none"
        return "permerror" if len(self.records) > 1 else ""

    @property
    def text(self) -> str | None:
        return self.records[0] if len(self.records) == 1 and not self.answer.failed else None


def select_record(answer: DnsAnswer) -> SelectedRecord:
    """Pick the SPF record out of a TXT answer (RFC 7208 §4.5)."""
    records = tuple(t for t in answer.txt if is_spf_record(t)) if answer.ok else ()
    return SelectedRecord(answer, records)


async def fetch_record(dns: DnsClient, domain: str) -> SelectedRecord:
    """Look up the TXT records of ``domain`` and pick its SPF record (RFC 7208 §4.4, §4.5)."""
    return select_record(await dns.query(domain, "TXT"))


def follow_problem(target: str, chain: tuple[str, ...]) -> Literal["loop", "invalid"] | None:
    """Why an include or redirect to ``target`` (lower case) can't be followed: ``loop`` when it is already
    being evaluated (``chain``: the domains from the top down to the one holding the term), ``invalid`` when
    it is not a domain name one can look up; None when it can be. Either way the evaluation ends in
    ``permerror`` (RFC 7208 §4.6.4, §5.2, §6.1)."""
    if target in chain:
        return "loop"
    if not is_valid_domain_name(target):
        return "invalid"
    return None


@dataclass
class TreeBudget:
    """Our bound on a walk that does not stop at the first match: at most ``MAX_FETCHES`` records fetched
    and ``MAX_DEPTH`` levels of include/redirect. ``check_host`` needs none: its lookup limit ends it."""

    fetches: int = 0

    def allows(self, depth: int) -> bool:
        """Whether a record at ``depth`` (the top record is 0) may still be fetched."""
        return self.fetches < MAX_FETCHES and depth <= MAX_DEPTH

    def fetched(self) -> None:
        self.fetches += 1


def mx_hosts(answer: DnsAnswer) -> list[str]:
    """The hosts of an MX answer in the order to try them (lowest preference first; an unreadable preference
    last), lower case without the trailing dot; the null MX of RFC 7505 (``0 .``) is ``""``."""
    hosts: list[tuple[int, str]] = []
    for r in answer.records:
        pref, _, host = r.partition(" ")
        try:
            p = int(pref)
        except ValueError:
            p = 65535
        hosts.append((p, host.strip().rstrip(".").lower()))
    hosts.sort(key=lambda h: h[0])
    return [h for _, h in hosts]
