"""What changed in a domain's checks since the last stored run: the status trend, the records added,
removed or edited, the problems that appeared or went away (``CheckDiff``), in plain words for the card.

The diff works on the JSON form of results (``CheckResult.to_json``), so a run stored long ago (read back
from the history as JSON) and a fresh ``CheckResult`` compare the same way. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..model import CheckResult, DomainReport, Status
from ..store.history import StoredCheck


_RANK = {"fail": 0, "warn": 1, "info": 2, "pass": 2}


@dataclass
class CheckDiff:
    """What changed in one check between the previous stored run and this one."""

    name: str
    previous_status: str | None  # None: never checked before
    status: str
    trend: str  # "new" | "same" | "better" | "worse" | "unknown" (couldn't check on one side)
    records_added: list[str] = field(default_factory=list)
    records_removed: list[str] = field(default_factory=list)
    records_edited: list[tuple[str, str]] = field(default_factory=list)  # (before, after)
    findings_appeared: list[str] = field(default_factory=list)  # finding codes
    findings_gone: list[str] = field(default_factory=list)
    previous_started: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.trend not in ("same", "new") or self.records_added or self.records_removed
                    or self.records_edited or self.findings_appeared or self.findings_gone)

    def summary(self) -> str:
        """One line in plain words for the card."""
        if self.previous_status is None:
            return "First check of this domain: nothing to compare with yet."
        if not self.changed:
            return "No change since the last check."
        parts: list[str] = []
        if self.trend == "better":
            parts.append(f"Better than last time (was {_status_word(self.previous_status)})")
        elif self.trend == "worse":
            parts.append(f"Worse than last time (was {_status_word(self.previous_status)})")
        elif self.trend == "unknown" and self.previous_status != self.status:
            parts.append(f"Last time: {_status_word(self.previous_status)}")
        n = len(self.records_edited)
        if n:
            parts.append(f"{n} record{'s' if n > 1 else ''} edited")
        n = len(self.records_added)
        if n:
            parts.append(f"{n} record{'s' if n > 1 else ''} added")
        n = len(self.records_removed)
        if n:
            parts.append(f"{n} record{'s' if n > 1 else ''} removed")
        n = len(self.findings_appeared)
        if n:
            parts.append(f"{n} new problem{'s' if n > 1 else ''}")
        n = len(self.findings_gone)
        if n:
            parts.append(f"{n} problem{'s' if n > 1 else ''} gone")
        text = "; ".join(p for p in parts if p)
        return (text[0].upper() + text[1:] + ".") if text else "No change since the last check."

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "previous_status": self.previous_status, "status": self.status,
            "trend": self.trend, "records_added": list(self.records_added),
            "records_removed": list(self.records_removed),
            "records_edited": [list(p) for p in self.records_edited],
            "findings_appeared": list(self.findings_appeared), "findings_gone": list(self.findings_gone),
            "previous_started": self.previous_started, "changed": self.changed, "summary": self.summary(),
        }


def _status_word(status: str) -> str:
    try:
        return Status(status).label.lower()
    except ValueError:
        return status


def _as_json(result: CheckResult | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if result is None:
        return None
    if isinstance(result, CheckResult):
        return result.to_json()
    return dict(result)


def _record_key(record: str) -> str:
    """What makes two records "the same record, edited": their first token (``v=spf1``,
    ``v=DMARC1``, an MX host after its preference...)."""
    text = record.strip()
    head = text.split(";", 1)[0].split()
    if not head:
        return ""
    first = head[0].lower()
    if first.isdigit() and len(head) > 1:  # "10 mx.example.com." -> the host
        return "mx:" + head[1].lower().rstrip(".")
    return first


def _codes(data: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for f in data.get("findings") or []:
        if isinstance(f, dict) and isinstance(f.get("code"), str) and f["code"] not in out:
            out.append(f["code"])
    return out


def _records(data: Mapping[str, Any]) -> list[str]:
    return [r for r in (data.get("records") or []) if isinstance(r, str)]


def diff_check(previous: CheckResult | Mapping[str, Any] | None, current: CheckResult | Mapping[str, Any],
               *, previous_started: str = "") -> CheckDiff:
    """Compare one check's previous stored result with the current one."""
    cur = _as_json(current) or {}
    name = str(cur.get("name", ""))
    status = str(cur.get("status", ""))
    prev = _as_json(previous)
    if prev is None:
        return CheckDiff(name, None, status, "new")
    pstatus = str(prev.get("status", ""))
    if pstatus == status:
        trend = "same"
    elif pstatus == "error" or status == "error" or pstatus not in _RANK or status not in _RANK:
        trend = "unknown"
    elif _RANK[status] > _RANK[pstatus]:
        trend = "better"
    elif _RANK[status] < _RANK[pstatus]:
        trend = "worse"
    else:
        trend = "same"
    old_records, new_records = _records(prev), _records(cur)
    removed = [r for r in old_records if r not in new_records]
    added = [r for r in new_records if r not in old_records]
    edited: list[tuple[str, str]] = []
    for old in list(removed):
        key = _record_key(old)
        match = next((new for new in added if key and _record_key(new) == key), None)
        if match is not None:
            edited.append((old, match))
            removed.remove(old)
            added.remove(match)
    # A "couldn't check" side tells nothing about records or findings: report only the status.
    if "error" in (pstatus, status):
        added, removed, edited = [], [], []
        appeared: list[str] = []
        gone: list[str] = []
    else:
        old_codes, new_codes = _codes(prev), _codes(cur)
        appeared = [c for c in new_codes if c not in old_codes]
        gone = [c for c in old_codes if c not in new_codes]
    return CheckDiff(name, pstatus, status, trend, added, removed, edited, appeared, gone, previous_started)


def diff_report(previous: StoredCheck | None, current: DomainReport) -> dict[str, CheckDiff]:
    """``diff_check`` for every check of ``current``."""
    return {name: diff_check(previous.result(name) if previous is not None else None, result,
                             previous_started=previous.started if previous else "")
            for name, result in current.checks.items()}


__all__ = ["CheckDiff", "diff_check", "diff_report"]
