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


__all__ = ["MAX_WALK", "DmarcWalkStep", "Walk", "WalkStep", "organizational_domain", "tree_walk", "walk_names"]
