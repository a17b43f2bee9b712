"""The DMARC rollout ladder (RFC 9989): monitor → test quarantine → quarantine → test reject → reject.

Each step is the whole record to publish at ``_dmarc.<domain>``. Testing uses ``t=y`` (RFC 9989 §4.7):
receivers apply the next gentler policy, which replaces the historic ``pct`` (never written here).
``sp`` (existing subdomains) and ``np`` (subdomains that don't exist) are optional; ``np=reject`` is
suggested from the first enforcing step because no real mail comes from names that don't exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..dns.client import DnsClient, normalize_name
from ..records.dmarc_parse import (
    DmarcRecord, DmarcSyntaxError, format_record, is_dmarc_record, looks_like_dmarc, parse_dmarc, parse_report_uri,
    repair_dmarc,
)
from ..model import Fix

__all__ = [
    "STAGES",
    "CurrentRecord",
    "DmarcBuildError",
    "DmarcStep",
    "current_stage",
    "dmarc_ladder",
    "normalize_rua",
    "read_current",
    "report_authorization",
]

STAGES = ("monitor", "test-quarantine", "quarantine", "test-reject", "reject")
_POLICY = {"monitor": ("none", False), "test-quarantine": ("quarantine", True), "quarantine": ("quarantine", False),
           "test-reject": ("reject", True), "reject": ("reject", False)}
_TITLES = {
    "monitor": "1. Monitor",
    "test-quarantine": "2. Try quarantine",
    "quarantine": "3. Quarantine",
    "test-reject": "4. Try reject",
    "reject": "5. Reject",
}
_TEXT = {
    "monitor": ("Receivers deliver everything as before and send you daily reports of who sends mail as your "
                "domain. Read them for two to four weeks and make sure every service you use passes."),
    "test-quarantine": ("Test mode for quarantine (t=y): receivers treat failing mail as if the policy were still "
                        "none but report it as quarantine, so you can see what would be affected without losing "
                        "mail."),
    "quarantine": ("Mail that fails DMARC goes to the recipient's spam folder. Stay here until the reports show "
                   "no real mail failing for a few weeks."),
    "test-reject": ("Test mode for reject (t=y): receivers put failing mail in spam rather than rejecting it, "
                    "while you watch the reports."),
    "reject": ("Full protection: receivers refuse mail that fails DMARC, so nobody can send mail that looks "
               "like it comes from your domain."),
}
_WAIT = {"monitor": "2–4 weeks", "test-quarantine": "1–2 weeks", "quarantine": "2–4 weeks", "test-reject": "1–2 weeks",
         "reject": ""}
_VALID_POLICIES = ("none", "quarantine", "reject")


class DmarcBuildError(ValueError):
    """Bad input to the builder (a report address or policy we can't use). Plain English."""


@dataclass(frozen=True)
class DmarcStep:
    """One rung of the ladder: the record and what it means."""

    stage: str  # one of STAGES
    title: str
    record: str
    fix: Fix
    text: str
    policy: str  # p=
    testing: bool  # t=y
    wait: str = ""  # how long to stay before the next step
    current: bool = False  # the domain's live record is at this step
    notes: list[str] = field(default_factory=list)
    extra_fixes: list[Fix] = field(default_factory=list)  # report authorizations at other domains

    def to_json(self) -> dict[str, Any]:
        return {"stage": self.stage, "title": self.title, "record": self.record, "policy": self.policy,
                "testing": self.testing, "wait": self.wait, "current": self.current, "text": self.text,
                "notes": list(self.notes), "fix": self.fix.to_json(),
                "extra_fixes": [f.to_json() for f in self.extra_fixes]}


MAX_URIS = 10  # per tag; receivers only promise to send to two (RFC 7489 §6.2, kept by RFC 9989)


def normalize_rua(addresses: str | list[str]) -> list[str]:
    """``"a@x.com, mailto:b@y.com"`` → ``["mailto:a@x.com", "mailto:b@y.com"]``. Raises
    ``DmarcBuildError`` for an address that can't be a report destination: not a mailto: URI (a
    ``javascript:``, ``file:`` or ``https:`` address gets no reports, and the check warns about it), or
    more than ``MAX_URIS`` of them."""
    items = addresses.split(",") if isinstance(addresses, str) else [x for a in addresses for x in a.split(",")]
    out: list[str] = []
    for raw in items:
        a = raw.strip()
        if not a:
            continue
        if ":" not in a.split("@", 1)[0]:
            a = "mailto:" + a
        try:
            u = parse_report_uri(a)
        except DmarcSyntaxError as exc:
            raise DmarcBuildError(exc.message) from None
        if not u.is_mailto:
            raise DmarcBuildError(f"{a[:80]!r} is not an e-mail address: DMARC reports are only sent by e-mail, so "
                                  "give a mailto: address (or just the address, like dmarc@example.com).")
        if u.size:
            u = parse_report_uri(u.uri)
        if u.uri not in out:
            out.append(u.uri)
    if len(out) > MAX_URIS:
        raise DmarcBuildError(f"{len(out)} report addresses are too many: receivers only promise to send reports "
                              "to two. Give the one or two you read.")
    return out


def _kept(uris: list[Any], tag: str, notes: list[str]) -> list[str]:
    """The current record's addresses worth keeping: mailto: only, the first two (with a note for what is
    left out)."""
    mailto = list(dict.fromkeys(u.uri for u in uris if u.is_mailto))
    others = [u.uri for u in uris if not u.is_mailto]
    if others:
        notes.append(f"{tag}= addresses that are not mailto: are left out ({', '.join(x[:60] for x in others[:3])}"
                     + (" …" if len(others) > 3 else "") + "): receivers only send reports by e-mail.")
    if len(mailto) > 2:
        notes.append(f"{tag}= keeps the first 2 of its {len(mailto)} addresses: receivers only promise to send "
                     "reports to two.")
    return mailto[:2]


def report_authorization(domain: str, rua: list[str]) -> list[Fix]:
    """The ``<domain>._report._dmarc.<destination>`` records that destinations outside ``domain`` must
    publish before receivers send them reports (RFC 9990 §3)."""
    d = normalize_name(domain)
    fixes: list[Fix] = []
    for uri in rua:
        try:
            u = parse_report_uri(uri)
        except DmarcSyntaxError:
            continue
        dest = u.domain
        if not dest or dest == d or dest.endswith("." + d) or d.endswith("." + dest):
            continue
        f = Fix(f"{d}._report._dmarc.{dest}", "TXT", "v=DMARC1",
                note=f"Reports go to {dest}, outside {d}: whoever runs {dest} (your report service, or you) must "
                     "publish this record there, or receivers won't send the reports. Report services usually "
                     "have it already.")
        if f not in fixes:
            fixes.append(f)
    return fixes


def current_stage(record: str | None) -> str | None:
    """The ladder step a live record is at (``None``: no usable record). A historic pct below 100 counts
    as the test step of its policy, since t=y is what replaced it."""
    if not record:
        return None
    rec = parse_dmarc_safe(record)
    if rec is None or rec.p is None:
        return None
    if rec.p == "none":
        return "monitor"
    pct = rec.historic.get("pct", "").strip()
    partial = pct.isdigit() and int(pct) < 100
    if rec.testing or partial:
        return f"test-{rec.p}"
    return rec.p


def parse_dmarc_safe(text: str) -> DmarcRecord | None:
    try:
        return parse_dmarc(text)
    except DmarcSyntaxError:
        return None


@dataclass(frozen=True)
class CurrentRecord:
    """What is published at ``_dmarc.<domain>`` now, for the ladder.

    ``state``: ``found`` (one record receivers use: ``record``), ``none`` (no DMARC record), ``several``
    (receivers ignore them all), ``broken`` (meant as DMARC but ignored; ``record`` is its repaired form
    when its intent is certain, e.g. ``p=reject; v=DMARC1``), or ``unknown``: the lookup failed, so we
    don't know, and no step may be offered as if there were no record (it could replace a stricter one).
    ``message`` says it in plain words (empty for ``found`` and ``none``)."""

    state: str
    record: str | None = None
    message: str = ""
    found: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        return self.state != "unknown"

    @property
    def ignored(self) -> bool:
        """Something is published that receivers ignore (several records, or a broken one)."""
        return self.state in ("several", "broken")


async def read_current(dns: DnsClient, domain: str) -> CurrentRecord:
    """Look up ``_dmarc.<domain>`` through ``dns`` (a failed lookup is ``unknown``, never ``none``)."""
    d = normalize_name(domain)
    ans = await dns.query(f"_dmarc.{d}", "TXT")
    if ans.failed:
        return CurrentRecord("unknown", message=(
            f"We couldn't read your current DMARC record: {ans.describe}. Without it we can't tell which step "
            "you are at, and publishing an early step over a record you already have (say p=reject) would weaken "
            "it. Try again later or with another DNS server."))
    recs = [t for t in ans.txt if is_dmarc_record(t)]
    broken = [t for t in ans.txt if not is_dmarc_record(t) and looks_like_dmarc(t)]
    if len(recs) == 1:
        return CurrentRecord("found", recs[0], found=(recs[0],))
    if len(recs) > 1:
        return CurrentRecord("several", message=(
            f"There are {len(recs)} DMARC records at _dmarc.{d}, so receivers ignore them all. Each step below "
            "replaces them: keep exactly one record."), found=tuple(recs))
    if broken:
        repaired = repair_dmarc(broken[0])
        return CurrentRecord("broken", repaired, message=(
            f"The record at _dmarc.{d} is meant as DMARC but written so that receivers ignore it"
            + (f" (it should read: {repaired})." if repaired else ".")
            + " Each step below replaces it."), found=tuple(broken))
    return CurrentRecord("none")


def dmarc_ladder(domain: str, rua: str | list[str] | None, *, current: str | None = None, sp: str | None = None,
                 np: str | None = "reject", ruf: str | list[str] | None = None,
                 ignored: bool = False) -> list[DmarcStep]:
    """The five steps for ``domain``, each a complete record for ``_dmarc.<domain>``.

    ``rua``: report addresses (``a@b.com`` or ``mailto:a@b.com``, several comma-separated); ``None`` keeps
    the ones in ``current``. ``current``: the live record, if any: its step is marked ``current`` and
    its ``adkim``/``aspf``/``ruf``/``fo`` are kept. ``sp``: the policy for existing subdomains (``None``:
    they follow ``p``). ``np``: the policy for subdomains that don't exist, written from the first
    enforcing step (``None``: leave it out). ``ignored``: what is published at ``_dmarc`` is ignored by
    receivers (several records, or one written wrongly), so each step replaces it; ``current`` is then its
    repaired form (or None), whose settings are kept but whose step is not marked. Raises ``DmarcBuildError`` for
    bad input. A caller that looked the record up and failed must not call this as if there were none
    (``read_current`` says ``unknown``).
    """
    d = normalize_name(domain)
    if not d or "." not in d:
        raise DmarcBuildError("Give the domain the record is for, for example example.com.")
    for name, val in (("sp", sp), ("np", np)):
        if val is not None and val not in _VALID_POLICIES:
            raise DmarcBuildError(f"{name} must be none, quarantine or reject.")
    base = parse_dmarc_safe(current) if current else None
    kept_notes: list[str] = []
    if rua is None:
        addresses = _kept(base.rua, "rua", kept_notes) if base is not None else []
    else:
        addresses = normalize_rua(rua)
    if ruf is None:
        failure = _kept(base.ruf, "ruf", kept_notes) if base is not None else []
    else:
        failure = normalize_rua(ruf)
    at = None if ignored else current_stage(current)
    auth = report_authorization(d, addresses + failure)
    steps: list[DmarcStep] = []
    for stage in STAGES:
        p, testing = _POLICY[stage]
        tags: list[tuple[str, str]] = [("p", p)]
        if sp is not None:
            tags.append(("sp", sp))
        if np is not None and p != "none":
            tags.append(("np", np))
        if testing:
            tags.append(("t", "y"))
        if base is not None:
            for t in ("adkim", "aspf"):
                v = getattr(base, t)
                if v:
                    tags.append((t, v))
        if addresses:
            tags.append(("rua", ",".join(addresses)))
        if failure:
            tags.append(("ruf", ",".join(failure)))
            if base is not None and base.fo:
                tags.append(("fo", ":".join(base.fo)))
        record = format_record(tags)
        notes: list[str] = []
        if not addresses:
            notes.append("Without a report address (rua) you can't see who sends as your domain, so you can't tell "
                         "when it is safe to move up. Add one: a mailbox of yours or a DMARC report service.")
        if auth:
            notes.append("Your reports go to another domain; it must publish the authorization record shown.")
        if base is not None and base.historic:
            notes.append(f"{', '.join(sorted(base.historic))} from your current record is left out: RFC 9989 "
                         "removed it (t=y replaces pct).")
        notes.extend(kept_notes)
        action = "replace" if current or ignored else "publish"
        fix = Fix(f"_dmarc.{d}", "TXT", record, action=action,
                  note=f"{_TITLES[stage]}: "
                       f"{'replace your current DMARC record with' if action == 'replace' else 'publish'} this.")
        steps.append(DmarcStep(stage=stage, title=_TITLES[stage], record=record, fix=fix, text=_TEXT[stage],
                               policy=p, testing=testing, wait=_WAIT[stage], current=stage == at, notes=notes,
                               extra_fixes=list(auth)))
    return steps
