"""DMARC policy discovery (RFC 9989 §4.10): the DNS Tree Walk and the Organizational Domain.

``tree_walk(client, domain)`` asks ``_dmarc.<domain>`` first, then walks up the labels (at most 8
queries; names longer than 8 labels jump to their last 7 labels), stopping at a record with ``psd=y`` or
``psd=n``. ``organizational_domain(walk)`` picks the Organizational Domain from the records found
(§4.10.2). The DMARC check, the SPF check (its ``-all`` advice follows the policy), BIMI and the message
verdict all discover the policy this way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

from ..dns.client import DnsAnswer, DnsClient
from .cname_loop import loop_words
from .dmarc_parse import DmarcRecord, DmarcSyntaxError, is_dmarc_record, looks_like_dmarc, parse_dmarc


MAX_WALK = 8


def walk_names(domain: str) -> list[str]:
    """The names whose ``_dmarc`` TXT records the RFC 9989 Tree Walk asks for, in order.

    The domain itself, then (§4.10.1) its parent if it has 8 labels or fewer, else its last 7 labels,
    then one label less each time down to the top-level domain: never more than 8 names.
    """
    labels = [x for x in domain.strip(".").lower().split(".") if x]
    if not labels:
        return []
    names = [".".join(labels)]
    n = len(labels)
    start = n - 1 if n <= MAX_WALK else MAX_WALK - 1
    for k in range(start, 0, -1):
        names.append(".".join(labels[-k:]))
    return names


class DmarcWalkStep(TypedDict):
    """One name asked on the DNS tree walk, as the DMARC check's detail lists it."""

    name: str
    outcome: str  # the DNS outcome (answer, nxdomain, nodata, timeout, servfail, error)
    records: list[str]  # the TXT records there
    cname: list[str]  # the CNAME chain followed
    used: bool  # a DMARC record was read there


@dataclass
class WalkStep:
    """What one ``_dmarc.<name>`` query returned."""

    name: str
    answer: DnsAnswer
    dmarc: list[str] = field(default_factory=list)  # TXT records receivers accept as DMARC
    broken: list[tuple[str, DmarcSyntaxError]] = field(default_factory=list)  # DMARC-looking, unusable
    other: list[str] = field(default_factory=list)  # unrelated TXT records
    record: DmarcRecord | None = None  # the one record, when there is exactly one

    @property
    def query(self) -> str:
        return f"_dmarc.{self.name}"

    @property
    def multiple(self) -> bool:
        return len(self.dmarc) > 1

    def to_json(self) -> DmarcWalkStep:
        return {"name": self.query, "outcome": str(self.answer.outcome), "records": list(self.answer.txt),
                "cname": list(self.answer.cname_chain), "used": self.record is not None}


@dataclass
class Walk:
    domain: str
    steps: list[WalkStep]
    failed: WalkStep | None = None  # the step whose query timed out / SERVFAILed (walk stopped there)

    @property
    def found(self) -> list[WalkStep]:
        return [s for s in self.steps if s.record is not None]

    def step(self, name: str) -> WalkStep | None:
        return next((s for s in self.steps if s.name == name), None)


def _classify(step: WalkStep) -> None:
    for txt in step.answer.txt:
        if is_dmarc_record(txt):
            step.dmarc.append(txt)
        elif looks_like_dmarc(txt):
            try:
                parse_dmarc(txt)
            except DmarcSyntaxError as exc:
                step.broken.append((txt, exc))
        else:
            step.other.append(txt)
    if len(step.dmarc) == 1:
        step.record = parse_dmarc(step.dmarc[0])


async def tree_walk(client: DnsClient, domain: str) -> Walk:
    """Run the RFC 9989 DNS Tree Walk for ``domain`` (one query at a time, as the spec orders it)."""
    walk = Walk(domain, [])
    for name in walk_names(domain):
        answer = await client.query(f"_dmarc.{name}", "TXT")
        step = WalkStep(name, answer)
        walk.steps.append(step)
        if answer.failed:
            walk.failed = step
            break
        _classify(step)
        if step.record is not None and step.record.psd in ("y", "n"):
            break
    return walk


def failed_lookup_words(walk: Walk) -> str:
    """Which lookup of the tree walk failed and what to do, in plain words, for a "couldn't check" message
    ("" when none failed). RFC 9989 §4.10.1: only an answer that there is no record ends the search without a
    policy; a DNS error on the way (a timeout, SERVFAIL) leaves the policy unknown, and receivers handle it at
    their discretion (deliver, or defer with a 4xx and ask again)."""
    step = walk.failed
    if step is None:
        return ""
    name = walk.domain
    why = step.answer.describe
    loop = loop_words(step.answer, name)  # a CNAME loop or endless chain: waiting won't fix it
    if loop:
        if walk.steps and step is walk.steps[0]:
            return f"The lookup of {step.query}, where {name}'s own DMARC record would be, failed: {loop}"
        return (f"{name} has no DMARC record of its own, and the lookup higher up that RFC 9989 asks for, "
                f"{step.query}, failed: {loop}")
    if walk.steps and step is walk.steps[0]:
        return (f"The lookup of {step.query}, where {name}'s own DMARC record would be, failed: {why}. Until it "
                "answers, nobody (receivers included) can tell which DMARC policy applies. Try again later.")
    if "." not in step.name:  # a top-level domain: only its registry can publish there
        return (f"{name} has no DMARC record of its own, and the next lookup RFC 9989 asks for, {step.query} (where "
                f"the registry of .{step.name} could publish a DMARC policy for the names under it), failed: {why}. "
                "That is a DNS problem at the registry's name, not in a record of yours: try again later. "
                "A DMARC record of your own ends the search before that lookup, so receivers never need it.")
    return (f"{name} has no DMARC record of its own, and the lookup higher up that RFC 9989 asks for, {step.query} "
            f"(the DMARC record of {step.name}, which applies to {name} when it has none of its own), failed: "
            f"{why}. That is a DNS problem, not a mistake in a record: try again later; if it keeps failing, the DNS "
            f"servers of {step.name} are not answering for that name.")


def organizational_domain(walk: Walk) -> str:
    """RFC 9989 §4.10.2 over the records the walk found (longest name first)."""
    found = walk.found
    for s in found:
        assert s.record is not None
        if s.record.psd == "n":
            return s.name
        if s.record.psd == "y" and s.name != walk.domain:
            labels = walk.domain.split(".")
            return ".".join(labels[-(s.name.count(".") + 2):])
    if found:
        return found[-1].name
    return walk.domain


def psd_step(walk: Walk) -> WalkStep | None:
    """The record of a public suffix above the walked domain (``psd=y``), if the walk found one."""
    return next((s for s in walk.found if s.record is not None and s.record.psd == "y" and s.name != walk.domain),
                None)


def policy_step(walk: Walk) -> tuple[WalkStep | None, str]:
    """The record whose policy applies to the walked domain (RFC 9989 §4.10) and how it applies: ``"own"``
    (the domain's own record), ``"org"`` (inherited from the Organizational Domain), ``"psd"`` (inherited
    from a public suffix's ``psd=y`` record); ``(None, "")`` when none applies. The DMARC check and the
    SPF check's advice both use this, so they give one answer."""
    own = walk.step(walk.domain)
    if own is not None and own.record is not None:
        return own, "own"
    org = organizational_domain(walk)
    step = walk.step(org)
    if org != walk.domain and step is not None and step.record is not None:
        return step, "org"
    psd = psd_step(walk)
    if psd is not None:
        return psd, "psd"
    return None, ""


__all__ = ["MAX_WALK", "DmarcWalkStep", "Walk", "WalkStep", "failed_lookup_words", "organizational_domain",
           "policy_step", "psd_step", "tree_walk", "walk_names"]
