"""Reminders that come from the check history (no DNS here: only what was stored).

- ``dkim-rotate``: a DKIM key (selector + key fingerprint) first seen more than 6 months ago → rotate it,
  with the steps.
- ``dmarc-next-step``: DMARC still at ``p=none`` for 4 weeks or more. When a DMARC report summary is
  available (``clean_weeks(domain)`` → weeks of clean reports, or None), 4+ clean weeks turn it into "take
  the next step" with the next record; reports that are not clean say so instead.
- ``selector-gone``: a DKIM selector that used to have a record and has none in the latest check.

Each ``Reminder`` has a stable ``key`` (so a dismissed one stays dismissed until the situation changes: a
new key, a new streak of ``p=none``), the domain, plain text, the date it applies since, and a fix when
there is a record to publish. Dismissed keys are kept in ``reminders.json`` in the settings folder.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from ..store.history import History, StoredCheck, dkim_keys, dmarc_policy, parse_time
from ..model import Fix
from ..store.settings import atomic_write_text, config_dir

REMINDERS_FILE = "reminders.json"
KEY_MAX_AGE = timedelta(days=183)  # "more than 6 months"
DMARC_NONE_AGE = timedelta(weeks=4)
CLEAN_WEEKS_NEEDED = 4.0

CleanWeeks = Callable[[str], "float | None"]


@dataclass(frozen=True)
class Reminder:
    """Something to do, worked out from the history of a domain."""

    key: str  # stable id, used to dismiss it
    domain: str
    kind: str  # "dkim-rotate" | "dmarc-next-step" | "selector-gone"
    title: str  # a few words
    text: str  # plain words: what, why, what to do
    since: str  # the date (YYYY-MM-DD) the reminder counts from
    fix: Fix | None = None
    steps: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "domain": self.domain, "kind": self.kind, "title": self.title, "text": self.text,
                "since": self.since, "steps": list(self.steps), "fix": self.fix.to_json() if self.fix else None}


def _date(when: datetime) -> str:
    return when.astimezone(timezone.utc).date().isoformat()


def _ago(delta: timedelta) -> str:
    days = delta.days
    if days >= 60:
        return f"{round(days / 30.44)} months"
    if days >= 14:
        return f"{days // 7} weeks"
    return f"{days} day{'s' if days != 1 else ''}"


def _dkim_reminders(history: History, domain: str, run: StoredCheck, now: datetime) -> list[Reminder]:
    out: list[Reminder] = []
    keys = dkim_keys(run.domain_report)
    latest = run.report
    checks = latest.get("checks") or {}
    dkim = checks.get("dkim") if isinstance(checks, dict) else None
    detail = dkim.get("detail") if isinstance(dkim, dict) else None
    found = detail.get("found") if isinstance(detail, dict) else None
    by_sel = {e.get("selector"): e for e in (found if isinstance(found, list) else []) if isinstance(e, dict)}
    for sel, fp in sorted(keys.items()):
        if not fp:
            continue
        first = history.first_seen(domain, "dkim-key", f"{sel} {fp}")
        when = parse_time(first) if first else None
        if when is None or now - when <= KEY_MAX_AGE:
            continue
        entry = by_sel.get(sel) or {}
        host = f"{sel}._domainkey.{domain}"
        provider = entry.get("provider") if isinstance(entry.get("provider"), str) else None
        cname = entry.get("cname") if isinstance(entry.get("cname"), str) else None
        steps: tuple[str, ...]
        if cname:
            steps = (
                f"Your mail service ({provider or cname}) holds this key: {host} points to {cname}.",
                "In its admin pages, use its 'rotate DKIM key' action; it publishes the new key behind the same "
                "name, so there is nothing to change in your DNS.",
                "Run a check afterwards: the key at selector '" + sel + "' should show as replaced.",
            )
            fix = None
        else:
            steps = (
                f"In {provider or 'your mail service'}, create a new DKIM key (2048 bits) with a new selector "
                "name, for example one with today's date in it.",
                "Publish the new key in DNS as the TXT record it gives you, at <new selector>._domainkey."
                f"{domain}, and wait until InboxReady finds it.",
                "Switch signing to the new key in your mail service.",
                f"A week later (so messages already on their way still verify), revoke the old key: replace the "
                f"record at {host} with the one below.",
            )
            fix = Fix(host, "TXT", "v=DKIM1; p=", action="replace",
                      note="Only after your mail is signed with the new key: an empty p= tells receivers this "
                           "key is withdrawn.")
        out.append(Reminder(
            key=f"dkim-rotate:{domain}:{sel}:{fp[:16]}", domain=domain, kind="dkim-rotate",
            title=f"Rotate the DKIM key '{sel}'",
            text=(f"The DKIM key at selector '{sel}' of {domain} has been in use for {_ago(now - when)} (since "
                  f"{_date(when)}). Replacing keys about every 6 months limits the harm if one ever leaks."),
            since=_date(when), fix=fix, steps=steps))

    # A selector that used to have a record and has none now (only selectors this check asked about).
    tried = detail.get("selectors") if isinstance(detail, dict) else None
    unchecked = detail.get("unchecked") if isinstance(detail, dict) else None
    if isinstance(tried, list) and dkim_checked(latest):
        for s in history.sightings(domain, "dkim-selector"):
            if s.key in keys or s.key not in tried or (isinstance(unchecked, list) and s.key in unchecked):
                continue
            last = parse_time(s.last_seen)
            if last is None:
                continue
            out.append(Reminder(
                key=f"selector-gone:{domain}:{s.key}:{s.last_run}", domain=domain, kind="selector-gone",
                title=f"DKIM selector '{s.key}' stopped answering",
                text=(f"The DKIM selector '{s.key}' of {domain} had a key until {_date(last)}, and now there is "
                      "no record there. Mail still signed with it fails DKIM. If you moved to a new key on "
                      "purpose, dismiss this; if not, publish the key again (your mail service shows it)."),
                since=_date(last),
                steps=(f"Look at {s.key}._domainkey.{domain} at your DNS host: was the record deleted or renamed?",
                       "Check which selector your mail service signs with (the s= tag of the DKIM-Signature "
                       "header of a message you sent).")))
    return out


def dkim_checked(report: dict[str, Any]) -> bool:
    checks = report.get("checks")
    c = checks.get("dkim") if isinstance(checks, dict) else None
    return isinstance(c, dict) and c.get("status") not in (None, "error")


def _dmarc_reminder(history: History, domain: str, run: StoredCheck, now: datetime,
                    clean_weeks: CleanWeeks | None) -> Reminder | None:
    if dmarc_policy(run.domain_report) != "none":
        return None
    latest = run.report
    first = history.first_seen(domain, "dmarc-policy", "none")
    since = parse_time(first) if first else None
    if since is None or now - since < DMARC_NONE_AGE:
        return None
    checks = latest.get("checks") or {}
    detail = (checks.get("dmarc") or {}).get("detail") if isinstance(checks, dict) else None
    nxt = detail.get("next_record") if isinstance(detail, dict) else None
    fix = None
    if isinstance(nxt, dict) and isinstance(nxt.get("host"), str) and isinstance(nxt.get("value"), str):
        fix = Fix(nxt["host"], "TXT", nxt["value"], action="replace",
                  note="Publish this in place of your current DMARC record once your reports show all your real "
                       "mail passing DMARC.")
    weeks: float | None = None
    if clean_weeks is not None:
        try:
            weeks = clean_weeks(domain)
        except Exception:  # noqa: BLE001 - a report summary that fails must not hide the reminder
            weeks = None
    age = _ago(now - since)
    key = f"dmarc-next-step:{domain}:{_date(since)}"
    base = (f"DMARC for {domain} has been in monitoring mode (p=none) for {age}, since {_date(since)}: receivers "
            "still deliver mail that pretends to come from you.")
    rua = detail.get("rua") if isinstance(detail, dict) else None
    if isinstance(rua, list) and not rua:
        return Reminder(
            key=key + ":no-reports", domain=domain, kind="dmarc-next-step", title="Ask for DMARC reports",
            text=base + " Your record asks for no reports (no rua= address), so nobody can tell whether all your "
                        "real mail passes, and that is what the next step depends on. Publish the record below "
                        "to start receiving them.",
            since=_date(since), fix=fix,
            steps=("Replace your DMARC record with the one below (it adds a report address).",
                   "After a few weeks of reports showing all your real mail passing, move to p=quarantine."))
    if weeks is not None and weeks >= CLEAN_WEEKS_NEEDED:
        return Reminder(
            key=key + ":clean", domain=domain, kind="dmarc-next-step", title="Take the next DMARC step",
            text=base + f" Your DMARC reports have been clean for {weeks:g} weeks, so it is time for the next "
                        "step: the record below sends mail that fails DMARC to the spam folder.",
            since=_date(since), fix=fix,
            steps=("Replace your DMARC record with the one below.",
                   "Keep reading the reports for a few weeks; then move on to p=reject."))
    if weeks is not None:
        return Reminder(
            key=key + ":not-clean", domain=domain, kind="dmarc-next-step", title="DMARC reports are not clean yet",
            text=base + f" Your DMARC reports show mail failing DMARC (only {weeks:g} clean weeks). Find which "
                        "service sends that mail and set up SPF or DKIM for it before tightening the policy.",
            since=_date(since), fix=None)
    return Reminder(
        key=key, domain=domain, kind="dmarc-next-step", title="DMARC is still in monitoring mode",
        text=base + " Look at your DMARC reports: once they show all your real mail passing for a few weeks, "
                    "publish the record below.",
        since=_date(since), fix=fix,
        steps=("Read your DMARC reports (the rua= address receives them).",
               "When every service you send with passes, replace your DMARC record with the one below."))


def reminders_for(history: History, domain: str, *, now: datetime | None = None,
                  clean_weeks: CleanWeeks | None = None) -> list[Reminder]:
    """Every reminder for ``domain`` from its stored history (dismissed ones included)."""
    latest_run = history.last(domain)
    if latest_run is None:
        return []
    when = now or datetime.now(timezone.utc)
    when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when
    out = _dkim_reminders(history, latest_run.domain, latest_run, when)
    d = _dmarc_reminder(history, latest_run.domain, latest_run, when, clean_weeks)
    if d is not None:
        out.insert(0, d)
    return out


class DismissedStore:
    """The keys of dismissed reminders (``reminders.json`` in the settings folder, written atomically)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else config_dir() / REMINDERS_FILE
        self._lock = threading.Lock()

    def keys(self) -> set[str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return set()
        items = data.get("dismissed") if isinstance(data, dict) else None
        return {k for k in items if isinstance(k, str)} if isinstance(items, list) else set()

    def dismiss(self, key: str) -> None:
        with self._lock:
            keys = self.keys()
            keys.add(key)
            atomic_write_text(self.path, json.dumps({"version": 1, "dismissed": sorted(keys)}, indent=2) + "\n")

    def restore(self, key: str) -> None:
        with self._lock:
            keys = self.keys()
            keys.discard(key)
            atomic_write_text(self.path, json.dumps({"version": 1, "dismissed": sorted(keys)}, indent=2) + "\n")


def reminders(history: History, domains: Iterable[str] | None = None, *, now: datetime | None = None,
              clean_weeks: CleanWeeks | None = None, dismissed: DismissedStore | set[str] | None = None,
              ) -> list[Reminder]:
    """The reminders for ``domains`` (default: every domain in the history) without the dismissed ones."""
    gone: set[str] = set()
    if isinstance(dismissed, DismissedStore):
        gone = dismissed.keys()
    elif dismissed is not None:
        gone = set(dismissed)
    out: list[Reminder] = []
    for d in (list(domains) if domains is not None else history.domains()):
        out.extend(r for r in reminders_for(history, d, now=now, clean_weeks=clean_weeks) if r.key not in gone)
    return out


__all__ = ["CleanWeeks", "DismissedStore", "Reminder", "reminders", "reminders_for"]
