"""The watch list: domains re-checked on a schedule, and what changed since their previous check.

The list is a small JSON file in the settings folder (``watchlist.json`` beside ``settings.json``),
written atomically like the settings. Each entry has the domain, how often to check it, extra DKIM
selectors, whether it is on, and when it last ran.

``run_watchlist(options, history)`` checks every due domain (``checks.run_check``), stores the run in the
history and compares it with the previous stored run of that domain: records added, removed or edited, a
status that got worse (or better), a DKIM key that appeared, vanished or was replaced. Each of those is a
``Change`` with a plain-words sentence for a desktop notification. No Qt here.
"""

from __future__ import annotations

import asyncio
import logging
import json
import re
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from ..checks.registry import CHECK_TITLES
from ..context import ALL_CHECKS, CheckOptions
from ..domain import parse_domain
from ..policy.diff import CheckDiff, diff_report
from ..policy.pipeline import check_and_judge
from ..store.history import History, StoredCheck, dkim_keys, parse_time
from ..model import CORE_CHECKS, DomainReport, Fix, Status
from ..records.mta_sts import new_id
from ..store.settings import atomic_write_text, config_dir, read_json_file, valid_selector

log = logging.getLogger(__name__)

WATCHLIST_FILE = "watchlist.json"
WATCHLIST_VERSION = 1
DEFAULT_INTERVAL = 24 * 3600
MIN_INTERVAL = 5 * 60
MAX_INTERVAL = 90 * 24 * 3600
MAX_SELECTORS = 32
CLOCK_SKEW = timedelta(minutes=5)  # a last run this far in the future is believed (clocks differ a little)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_INTERVAL_RE = re.compile(r"^\s*(\d{1,6})\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|"
                          r"w|wk|wks|weeks?)?\s*$", re.IGNORECASE)


class IntervalError(ValueError):
    """Text that is not an interval ("6h", "1d", "30m", "2w")."""


def _watch_list_file(data: Any) -> dict[str, Any]:
    """The watch list file's object (``read_json_file``'s parse): ValueError when it is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("domains"), list):
        raise ValueError("not a watch list")
    return data


class WatchListError(OSError):
    """The watch list file could not be written; ``strerror`` says so in plain words."""


def parse_interval(text: str) -> int:
    """Seconds in an interval such as ``6h``, ``1d``, ``30m``, ``2w`` (a bare number is hours).
    Raises ``IntervalError`` (only) for anything else or outside 5 minutes .. 90 days."""
    m = _INTERVAL_RE.match(str(text))
    if not m:
        raise IntervalError(f"{str(text)[:40]!r} is not an interval; write it like 30m, 6h, 1d or 1w.")
    unit = (m.group(2) or "h")[0].lower()
    seconds = int(m.group(1)) * _UNITS[unit]
    if seconds < MIN_INTERVAL:
        raise IntervalError("Check at most every 5 minutes (5m).")
    if seconds > MAX_INTERVAL:
        raise IntervalError("Check at least every 90 days (90d).")
    return seconds


def format_interval(seconds: int) -> str:
    """``86400`` → ``1d``; the largest unit that divides it."""
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNITS[unit] == 0 and seconds >= _UNITS[unit]:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def describe_interval(seconds: int) -> str:
    """``21600`` → ``every 6 hours``."""
    words = {"w": "week", "d": "day", "h": "hour", "m": "minute", "s": "second"}
    text = format_interval(seconds)
    n, unit = int(text[:-1]), text[-1]
    return f"every {words[unit]}" if n == 1 else f"every {n} {words[unit]}s"


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def check_names(names: Any) -> tuple[str, ...] | None:
    """Check names from a file or an option (``mta-sts`` or ``mta_sts``), in the usual order; None for
    something that is not a list of known names."""
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        return None
    wanted = {n.strip().lower().replace("-", "_") for n in names}
    if not wanted <= set(ALL_CHECKS):
        return None
    return tuple(n for n in ALL_CHECKS if n in wanted)


@dataclass
class WatchEntry:
    """One watched domain. ``only``/``skip`` are its own choice of checks (e.g. leave STARTTLS out where
    port 25 is blocked), kept for every run; a run's own ``--only``/``--skip`` narrow it further."""

    domain: str
    interval: int = DEFAULT_INTERVAL  # seconds
    selectors: list[str] = field(default_factory=list)
    enabled: bool = True
    last_run: str = ""  # UTC ISO 8601 of the last watch run ("" never)
    last_status: str = ""  # overall status of that run
    added: str = ""
    only: tuple[str, ...] | None = None  # None: every check
    skip: tuple[str, ...] = ()

    def last_run_time(self, now: datetime | None = None) -> datetime | None:
        """The last run as a time; None when it never ran, the text is not a time, or it lies in the
        future (a hand-edited file or a clock that went back: the domain is then checked at once rather
        than never)."""
        last = parse_time(self.last_run) if self.last_run else None
        if last is None:
            return None
        if last > _aware(now or now_utc()) + CLOCK_SKEW:
            return None
        return last

    def last_run_in_future(self, now: datetime | None = None) -> bool:
        last = parse_time(self.last_run) if self.last_run else None
        return last is not None and last > _aware(now or now_utc()) + CLOCK_SKEW

    def next_due(self, now: datetime | None = None) -> datetime | None:
        """When the next check is due (None: now: it never ran, or its last run can't be believed)."""
        last = self.last_run_time(now)
        if last is None:
            return None
        try:
            return last + timedelta(seconds=self.interval)
        except OverflowError:  # a last run near the end of time (year 9999): can't be believed, so due now
            return None

    def is_due(self, now: datetime) -> bool:
        if not self.enabled:
            return False
        nxt = self.next_due(now)
        return nxt is None or _aware(now) >= nxt

    def checks(self, only: tuple[str, ...] | None = None, skip: tuple[str, ...] = ()) -> tuple[str, ...]:
        """The checks a run does for this domain: its own choice, narrowed by the run's ``only``/``skip``
        (may be empty: the run then says so)."""
        return tuple(n for n in ALL_CHECKS if n in (self.only or ALL_CHECKS) and n in (only or ALL_CHECKS)
                     and n not in self.skip and n not in skip)

    def to_json(self) -> dict[str, Any]:
        return {"domain": self.domain, "interval": self.interval, "every": format_interval(self.interval),
                "selectors": list(self.selectors), "enabled": self.enabled, "last_run": self.last_run,
                "last_status": self.last_status, "added": self.added,
                "only": list(self.only) if self.only is not None else None, "skip": list(self.skip)}

    @classmethod
    def from_json(cls, data: Any) -> "WatchEntry | None":
        """Tolerant: None for something that is not an entry; bad fields fall back to defaults."""
        if not isinstance(data, dict) or not isinstance(data.get("domain"), str):
            return None
        try:
            domain = parse_domain(data["domain"]).domain
        except Exception:  # noqa: BLE001 - a hand-edited file: skip the entry
            return None
        e = cls(domain)
        interval = data.get("interval")
        if isinstance(interval, int) and not isinstance(interval, bool) and MIN_INTERVAL <= interval <= MAX_INTERVAL:
            e.interval = interval
        sels = data.get("selectors")
        if isinstance(sels, list):
            e.selectors = [s.strip().lower() for s in sels if isinstance(s, str) and valid_selector(s)][:MAX_SELECTORS]
        if isinstance(data.get("enabled"), bool):
            e.enabled = data["enabled"]
        for name in ("last_run", "last_status", "added"):
            if isinstance(data.get(name), str) and len(data[name]) <= 64:
                setattr(e, name, data[name])
        if e.last_run and parse_time(e.last_run) is None:
            e.last_run = ""  # not a time: as if it never ran (it is checked at the next run)
        only = check_names(data.get("only"))
        if only:
            e.only = only
        e.skip = check_names(data.get("skip")) or ()
        return e


def _aware(when: datetime) -> datetime:
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when


class WatchList:
    """The watch list file. Every change is saved at once (atomically). ``problem`` says in plain words
    when the file could not be read (it is then moved aside and an empty list is used)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else config_dir() / WATCHLIST_FILE
        self.problem = ""
        self.unreadable = False  # the file exists but could not be read (a folder in its place, no access)
        self.entries: list[WatchEntry] = []
        # entries of the file we can't use (a domain with a control character, a hand edit gone wrong): kept
        # exactly as they are and written back on every save, never dropped without the user's say
        self.unusable: list[Any] = []
        self.minimize_to_tray = False  # the app's "keep running in the system tray when closed"
        self._lock = threading.RLock()  # runs finishing at once record their time one after another
        self.reload()

    def reload(self) -> None:
        self.entries = self._read()

    def _read(self) -> list[WatchEntry]:
        self.unreadable = False
        self.unusable = []
        read = read_json_file(self.path, _watch_list_file,
                              unreadable="The watch list could not be read ({reason}).",
                              damaged="The watch list file was damaged, so an empty list is used.")
        data = read.value
        if data is None:
            if read.problem:
                self.problem = read.problem
            self.unreadable = read.unreadable
            return []
        self.minimize_to_tray = data.get("minimize_to_tray") is True
        out: list[WatchEntry] = []
        for item in data["domains"]:
            e = WatchEntry.from_json(item)
            if e is None:
                self.unusable.append(item)
            elif all(x.domain != e.domain for x in out):
                out.append(e)
        if self.unusable:
            n = len(self.unusable)
            names = ", ".join(repr(x.get("domain"))[:60] if isinstance(x, dict) else repr(x)[:60]
                              for x in self.unusable[:3]) + (" …" if n > 3 else "")
            self.problem = (f"{n} entr{'y' if n == 1 else 'ies'} of the watch list can't be used ({names}): not a "
                            f"domain name. {'It is' if n == 1 else 'They are'} kept in {self.path} as "
                            f"{'it is' if n == 1 else 'they are'}; correct or delete "
                            f"{'it' if n == 1 else 'them'} there, or with 'watchlist remove'.")
        return out

    def unusable_names(self) -> list[str]:
        """The "domain" text of each entry that can't be used (for showing; outside text)."""
        return [str(x.get("domain")) if isinstance(x, dict) else str(x) for x in self.unusable]

    def save(self) -> None:
        """Write the list (atomically). Raises ``WatchListError`` (an ``OSError``) in plain words when the
        file can't be written; the file on disk is then unchanged."""
        data = {"version": WATCHLIST_VERSION, "minimize_to_tray": self.minimize_to_tray,
                "domains": [*(e.to_json() for e in self.entries), *self.unusable]}
        try:
            atomic_write_text(self.path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise WatchListError(exc.errno or 0, f"The watch list could not be saved to {self.path} "
                                 f"({exc.strerror or exc}).") from exc

    def get(self, domain: str) -> WatchEntry | None:
        d = _normal(domain)
        return next((e for e in self.entries if e.domain == d), None)

    def add(self, domain: str, interval: int = DEFAULT_INTERVAL, selectors: list[str] | None = None,
            *, enabled: bool = True, only: tuple[str, ...] | None = None,
            skip: tuple[str, ...] | None = None) -> WatchEntry:
        """Add ``domain`` (or update it when already watched). ``ValueError`` for text that is not a
        domain or a selector, ``IntervalError`` for a bad interval, ``WatchListError`` when the list
        can't be saved. ``only``/``skip``: the domain's own choice of checks (None: keep it as it is)."""
        d = parse_domain(domain).domain
        if not (MIN_INTERVAL <= interval <= MAX_INTERVAL):
            raise IntervalError("Check between every 5 minutes and every 90 days.")
        sels: list[str] = []
        for s in selectors or []:
            if not valid_selector(s):
                raise ValueError(f"{s.strip()!r} is not a DKIM selector (letters, digits, '-' and '_').")
            c = s.strip().strip(".").lower().split("._domainkey", 1)[0]
            if c not in sels:
                sels.append(c)
        chosen_only = check_names(list(only)) if only is not None else None
        chosen_skip = check_names(list(skip)) if skip is not None else None
        if (only is not None and not chosen_only) or (skip is not None and chosen_skip is None):
            raise ValueError("Name the checks to run or leave out from: " + ", ".join(ALL_CHECKS) + ".")
        with self._lock:
            self.reload()
            entry = self.get(d)
            if entry is None:
                entry = WatchEntry(d, interval, sels, enabled, added=now_utc().isoformat(timespec="seconds"))
                self.entries.append(entry)
            else:
                entry.interval = interval
                entry.enabled = enabled
                for s in sels:
                    if s not in entry.selectors:
                        entry.selectors.append(s)
            if only is not None:
                entry.only = chosen_only
            if skip is not None:
                entry.skip = chosen_skip or ()
            if not entry.checks():
                raise ValueError(f"With only {', '.join(entry.only or ALL_CHECKS)} and leaving out "
                                 f"{', '.join(entry.skip)}, no check is left for {d}.")
            self.save()
            return entry

    def update(self, domain: str, *, interval: int | None = None, enabled: bool | None = None,
               selectors: list[str] | None = None) -> WatchEntry | None:
        if interval is not None and not (MIN_INTERVAL <= interval <= MAX_INTERVAL):
            raise IntervalError("Check between every 5 minutes and every 90 days.")
        with self._lock:
            self.reload()
            entry = self.get(domain)
            if entry is None:
                return None
            if interval is not None:
                entry.interval = interval
            if enabled is not None:
                entry.enabled = enabled
            if selectors is not None:
                entry.selectors = [s for s in selectors if valid_selector(s)][:MAX_SELECTORS]
            self.save()
            return entry

    def set_minimize_to_tray(self, on: bool) -> None:
        with self._lock:
            self.reload()
            self.minimize_to_tray = bool(on)
            self.save()

    def remove(self, domain: str) -> bool:
        d = _normal(domain)
        with self._lock:
            self.reload()
            before = len(self.entries) + len(self.unusable)
            self.entries = [e for e in self.entries if e.domain != d]
            # an entry that can't be used is removed by its text exactly as written
            self.unusable = [x for x in self.unusable
                             if not (isinstance(x, dict) and isinstance(x.get("domain"), str)
                                     and x["domain"].strip() in (domain.strip(), d))]
            if len(self.entries) + len(self.unusable) == before:
                return False
            self.save()
            return True

    def due(self, now: datetime | None = None) -> list[WatchEntry]:
        """The enabled entries whose next check is due at ``now`` (never-run entries first)."""
        when = _aware(now or now_utc())
        due = [e for e in self.entries if e.is_due(when)]
        return sorted(due, key=lambda e: e.next_due(when) or datetime.min.replace(tzinfo=timezone.utc))

    def mark_run(self, domain: str, when: datetime, status: str) -> bool:
        """Record a finished run (re-reads the file first, so an edit made meanwhile is kept). Never
        raises: when the list can't be saved, ``problem`` says so and False is returned (the domain is
        then checked again at the next run, which loses nothing)."""
        with self._lock:
            self.reload()
            entry = self.get(domain)
            if entry is None:
                return True
            entry.last_run = _aware(when).astimezone(timezone.utc).isoformat(timespec="seconds")
            entry.last_status = status
            try:
                self.save()
            except OSError as exc:
                self.problem = (f"{exc.strerror or exc} The time of this run was not recorded, so the domains "
                                "will be checked again at the next run.")
                return False
            return True


def _normal(domain: str) -> str:
    try:
        return parse_domain(domain).domain
    except Exception:  # noqa: BLE001
        return domain.strip().lower().rstrip(".")


# -- changes --------------------------------------------------------------------------------------

WORSE_KINDS = ("status-worse", "dkim-key-vanished", "record-removed", "spf-flattened-stale", "mta-sts-same-id")


@dataclass(frozen=True)
class Change:
    """One thing that changed between two checks of a domain, in plain words."""

    domain: str
    check: str  # "spf", "dkim", "dmarc", "mx"...
    kind: str  # record-added | record-removed | record-edited | status-worse | status-better |
    #            dkim-key-appeared | dkim-key-vanished | dkim-key-replaced | spf-flattened-stale |
    #            mta-sts-same-id (the policy file changed, the record's id did not)
    text: str  # one sentence for a notification
    before: str | None = None
    after: str | None = None
    fix: dict[str, Any] | None = field(default=None, compare=False, hash=False)  # Fix.to_json() to publish

    @property
    def worse(self) -> bool:
        return self.kind in WORSE_KINDS

    def to_json(self) -> dict[str, Any]:
        return {"domain": self.domain, "check": self.check, "kind": self.kind, "text": self.text,
                "before": self.before, "after": self.after, "worse": self.worse, "fix": self.fix}


def _title(name: str) -> str:
    return CHECK_TITLES.get(name, name.upper())


def _status_words(status: str | None) -> str:
    try:
        return Status(status or "").label.lower()
    except ValueError:
        return status or "unknown"


def _short(text: str, n: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _dkim_changes(domain: str, previous: StoredCheck, current: DomainReport) -> tuple[list[Change], set[str]]:
    """Key-level DKIM changes, and the selectors they cover (their record changes are not repeated)."""
    before, after = dkim_keys(previous.domain_report), dkim_keys(current)
    prev, cur = previous.report, current.to_json()
    if not _checked(prev, "dkim") or not _checked(cur, "dkim"):
        return [], set()
    unchecked, tried = _dkim_asked(cur)
    out: list[Change] = []
    covered: set[str] = set()
    for sel in sorted(set(before) | set(after)):
        old, new = before.get(sel), after.get(sel)
        if sel in unchecked or (sel not in after and tried is not None and sel not in tried):
            covered.add(sel)  # not asked (or no answer) this time: nothing is known about it
            continue
        if old == new:
            continue
        if old and new:
            out.append(Change(domain, "dkim", "dkim-key-replaced",
                              f"The DKIM key at selector '{sel}' of {domain} was replaced by a new one. If you "
                              "rotated it, all is well; if not, find out who changed it.", old[:16], new[:16]))
        elif new:
            out.append(Change(domain, "dkim", "dkim-key-appeared",
                              f"A new DKIM key appeared at selector '{sel}' of {domain}. A mail service can now "
                              "sign mail for your domain with it.", None, new[:16]))
        elif old:
            gone = "is no longer published" if sel not in after else "was revoked or damaged"
            out.append(Change(domain, "dkim", "dkim-key-vanished",
                              f"The DKIM key at selector '{sel}' of {domain} {gone}. Mail still signed with it "
                              "will now fail DKIM.", old[:16], None))
        else:
            continue
        covered.add(sel)
    return out, covered


def _dkim_asked(report: Mapping[str, Any]) -> tuple[set[str], set[str] | None]:
    """The selectors a stored DKIM result got no answer for, and those it asked (None: not recorded)."""
    checks = report.get("checks")
    dkim = checks.get("dkim") if isinstance(checks, dict) else None
    detail = dkim.get("detail") if isinstance(dkim, dict) else None
    if not isinstance(detail, dict):
        return set(), None
    unchecked = {s for s in detail.get("unchecked") or [] if isinstance(s, str)}
    sels = detail.get("selectors")
    return unchecked, ({s for s in sels if isinstance(s, str)} if isinstance(sels, list) else None)


def _checked(report: Mapping[str, Any], name: str) -> bool:
    checks = report.get("checks")
    c = checks.get(name) if isinstance(checks, dict) else None
    return isinstance(c, dict) and c.get("status") not in (None, "error")


def changes_between(previous: StoredCheck | Mapping[str, Any] | None,
                    current: DomainReport | Mapping[str, Any]) -> tuple[list[Change], dict[str, CheckDiff]]:
    """The plain-words changes between a previous run (stored or its JSON) and the current one, with
    ``diff_report``'s per-check diffs. No previous run: no changes."""
    report = current if isinstance(current, DomainReport) else DomainReport.from_json(current)
    cur = report.to_json()
    if previous is None:
        return [], diff_report(None, report)
    stored = previous if isinstance(previous, StoredCheck) else StoredCheck(
        0, str(previous.get("domain", "")), str(previous.get("started", "")), str(previous.get("status", "")),
        dict(previous))
    prev = stored.report
    domain = report.domain
    diffs = diff_report(stored, report)
    out: list[Change] = []
    key_changes, covered = _dkim_changes(domain, stored, report)
    for name, d in diffs.items():
        title = _title(name)
        if d.trend == "worse":
            out.append(Change(domain, name, "status-worse",
                              f"{title} for {domain} got worse: it was {_status_words(d.previous_status)}, now "
                              f"it is {_status_words(d.status)}.", d.previous_status, d.status))
        elif d.trend == "better":
            out.append(Change(domain, name, "status-better",
                              f"{title} for {domain} got better: it was {_status_words(d.previous_status)}, now "
                              f"it is {_status_words(d.status)}.", d.previous_status, d.status))

        def is_covered(record: str, name: str = name) -> bool:
            return name == "dkim" and any(record.startswith(f"{s}._domainkey.") for s in covered)

        for old, new in d.records_edited:
            if is_covered(old) or is_covered(new):
                continue
            out.append(Change(domain, name, "record-edited",
                              f"The {title} record of {domain} was edited. Before: {_short(old)} Now: {_short(new)}",
                              old, new))
        for r in d.records_removed:
            if not is_covered(r):
                out.append(Change(domain, name, "record-removed",
                                  f"A {title} record of {domain} was removed: {_short(r)}", r, None))
        for r in d.records_added:
            if not is_covered(r):
                out.append(Change(domain, name, "record-added",
                                  f"A {title} record was added to {domain}: {_short(r)}", None, r))
        if name == "dkim":
            out.extend(key_changes)
        if name == "spf":
            out.extend(_stale_copies(domain, prev, cur))
        if name == "mta_sts":
            out.extend(_sts_same_id(domain, prev, cur))
    return out, diffs


def _spf_findings(report: Mapping[str, Any], code: str) -> list[dict[str, Any]]:
    checks = report.get("checks")
    spf = checks.get("spf") if isinstance(checks, dict) else None
    found = spf.get("findings") if isinstance(spf, dict) else None
    return [f for f in found or [] if isinstance(f, dict) and f.get("code") == code]


def _stale_copies(domain: str, prev: Mapping[str, Any], cur: Mapping[str, Any]) -> list[Change]:
    """A flattened copy of an include (``<include>._spf-flat.<domain>``) that no longer matches the live
    include: the SPF check compares them at every run (``spf.flattened-stale``); a copy that went stale since
    the previous run is a change, with the refreshed record."""
    before = {str(f.get("message")) for f in _spf_findings(prev, "spf.flattened-stale")}
    out = []
    for f in _spf_findings(cur, "spf.flattened-stale"):
        if str(f.get("message")) in before:
            continue
        detail = str(f.get("detail") or "")
        old, _, new = detail.partition(" | Live: ")
        out.append(Change(domain, "spf", "spf-flattened-stale",
                          f"SPF of {domain}: {f.get('message')}", old.removeprefix("Copy: ") or None, new or None,
                          fix=f.get("fix") if isinstance(f.get("fix"), dict) else None))
    return out


def _sts_detail(report: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(the id of the ``_mta-sts`` record, the policy file as read) from a run's MTA-STS result; None when
    either is missing (not set up, not fetched, couldn't check)."""
    checks = report.get("checks")
    sts = checks.get("mta_sts") if isinstance(checks, dict) else None
    detail = sts.get("detail") if isinstance(sts, dict) and sts.get("status") != "error" else None
    if not isinstance(detail, dict):
        return None
    sid, policy = detail.get("id"), detail.get("policy")
    if not isinstance(sid, str) or not sid or not isinstance(policy, dict) or not policy.get("valid"):
        return None
    return sid, policy


def _policy_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What a sender's copy of the policy gets wrong, in words ("mode testing → enforce", ...)."""
    words: list[str] = []
    for key in ("mode", "max_age"):
        if old.get(key) != new.get(key):
            words.append(f"{key} {old.get(key)} → {new.get(key)}")
    before = [str(m).lower() for m in old.get("mx") or []]
    after = [str(m).lower() for m in new.get("mx") or []]
    added = [m for m in after if m not in before]
    gone = [m for m in before if m not in after]
    if added:
        words.append("mx added: " + ", ".join(added[:5]) + (" and more" if len(added) > 5 else ""))
    if gone:
        words.append("mx removed: " + ", ".join(gone[:5]) + (" and more" if len(gone) > 5 else ""))
    return words


def _days(seconds: object) -> str:
    if not isinstance(seconds, int) or seconds <= 0:
        return "as long as its max_age says"
    days = seconds / 86400
    if days >= 1:
        n = round(days)
        return f"up to {n} day{'s' if n != 1 else ''}"
    hours = max(1, round(seconds / 3600))
    return f"up to {hours} hour{'s' if hours != 1 else ''}"


def _sts_same_id(domain: str, prev: Mapping[str, Any], cur: Mapping[str, Any]) -> list[Change]:
    """An MTA-STS policy file that changed since the previous run while the id of the ``_mta-sts`` record did
    not: sending servers that cached the old policy fetch the file again only when the id changes (RFC 8461
    §3.1, §5.1), so they keep applying the old one until its max_age runs out. The fix is the record with a
    new id."""
    before, after = _sts_detail(prev), _sts_detail(cur)
    if before is None or after is None or before[0] != after[0]:
        return []
    what = _policy_changes(before[1], after[1])
    if not what:
        return []
    sid = before[0]
    fix = Fix(f"_mta-sts.{domain}", "TXT", f"v=STSv1; id={new_id()};", action="replace",
              note="The same record with a new id: sending servers that cached the old policy fetch the new file "
                   "the next time they send to you.")
    return [Change(domain, "mta_sts", "mta-sts-same-id",
                   f"The MTA-STS policy file of {domain} changed ({'; '.join(what)}), but the id in its _mta-sts "
                   f"record is still '{sid}'. Sending servers that cached the old policy keep using it for "
                   f"{_days(before[1].get('max_age'))} (its max_age) without fetching the new file. Publish the "
                   "_mta-sts record below with a new id.", fix=fix.to_json())]


@dataclass
class WatchOutcome:
    """One watched domain's run: its status, what changed, and whether it could be checked."""

    domain: str
    status: str  # overall status of this run ("error": couldn't check)
    previous_status: str | None  # None: the first stored run
    started: str
    run_id: int | None = None
    changes: list[Change] = field(default_factory=list)
    diffs: dict[str, CheckDiff] = field(default_factory=dict)
    unchecked: list[str] = field(default_factory=list)  # checks that couldn't be done this time
    error: str = ""  # plain words when the run itself failed

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def worse(self) -> bool:
        return any(c.worse for c in self.changes)

    @property
    def couldnt_check(self) -> bool:
        return bool(self.error or self.unchecked)

    @property
    def first_problem(self) -> bool:
        """The first check of a domain found something broken (fail): there is nothing to compare with, but
        the scheduler must hear about it (exit 1), as it hears about a change. (Points to improve, a warning,
        are not news for the scheduler; a change later is.)"""
        return self.previous_status is None and not self.error and self.status == "fail"

    def headline(self) -> str:
        """The notification title."""
        if self.error:
            return f"{self.domain} couldn't be checked"
        if self.worse:
            return f"{self.domain}: something got worse"
        if self.changed:
            return f"{self.domain}: something changed"
        if self.unchecked:
            return f"{self.domain}: part of the check couldn't be done"
        if self.previous_status is None:
            return f"{self.domain}: first check ({_status_words(self.status)})"
        return f"{self.domain}: no change"

    def message(self, limit: int = 3) -> str:
        """The notification text: the first changes, and how many more."""
        if self.error:
            return self.error
        if not self.changes:
            if self.unchecked:
                return ("We couldn't check " + ", ".join(_title(n) for n in self.unchecked)
                        + " this time (DNS didn't answer). We'll try again at the next check.")
            if self.first_problem:
                return (f"First check of {self.domain}: something is broken (see its cards in the app, or "
                        f"'inboxready check {self.domain}'). From now on you'll hear about any change.")
            if self.previous_status is None:
                return f"First check of {self.domain}: from now on you'll hear about any change."
            return f"Nothing changed since the last check of {self.domain}."
        ordered = sorted(self.changes, key=lambda c: not c.worse)
        lines = [c.text for c in ordered[:limit]]
        if len(ordered) > limit:
            lines.append(f"…and {len(ordered) - limit} more change{'s' if len(ordered) - limit > 1 else ''}.")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "domain": self.domain, "status": self.status, "previous_status": self.previous_status,
            "started": self.started, "run_id": self.run_id, "changed": self.changed, "worse": self.worse,
            "couldnt_check": self.couldnt_check, "first_problem": self.first_problem,
            "unchecked": list(self.unchecked), "error": self.error,
            "headline": self.headline(), "message": self.message(),
            "changes": [c.to_json() for c in self.changes],
            "diffs": {k: v.to_json() for k, v in self.diffs.items()},
        }


def outcome_for(previous: StoredCheck | None, report: DomainReport, run_id: int | None = None) -> WatchOutcome:
    """Compare a fresh report with the previous stored run of its domain."""
    changes, diffs = changes_between(previous, report)
    # only the checks every sender needs: an optional one that can't run from here (STARTTLS with port 25
    # blocked) would otherwise make every scheduled run "couldn't check" (its card says so)
    unchecked = [n for n, r in report.checks.items() if r.status is Status.ERROR and n in CORE_CHECKS]
    trouble = report.dns_trouble
    error = trouble.text if trouble is not None and trouble.kind == "resolver" else ""  # said as it is
    return WatchOutcome(report.domain, str(report.status), previous.status if previous else None, report.started,
                        run_id, changes, diffs, unchecked, error)


async def check_entry(entry: WatchEntry, options: CheckOptions, history: History | None, *,
                      only: tuple[str, ...] | None = None, skip: tuple[str, ...] = ()) -> WatchOutcome:
    """Check one watched domain, store the run and compare it with the previous one. Never raises for
    DNS trouble (a bug in the core shows as ``error``). The checks are the entry's own choice narrowed by
    ``only``/``skip`` and ``options.checks``."""
    loop = asyncio.get_running_loop()

    async def previous_status() -> str | None:
        previous = await loop.run_in_executor(None, history.last, entry.domain) if history is not None else None
        return previous.status if previous is not None else None

    checks = tuple(n for n in entry.checks(only, skip) if n in options.checks)
    if not checks:
        return WatchOutcome(entry.domain, "error", await previous_status(), now_utc().isoformat(timespec="seconds"),
                            error=f"No check is left for {entry.domain}: its own choice of checks and this run's "
                                  "--only/--skip leave nothing to run.")
    opts = replace(options, checks=checks,
                   dkim_selectors=list(dict.fromkeys([*options.dkim_selectors, *entry.selectors])))
    try:
        # Every selector that ever had a record for this domain is asked again (known_selectors), so a key
        # found once (say by a manual check with a selector typed in) is followed, and its disappearance noticed.
        judged = await check_and_judge(entry.domain, opts, history=history, known_selectors=True)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - a bug must not stop the other domains
        log.exception("checking %s failed", entry.domain)
        return WatchOutcome(entry.domain, "error", await previous_status(), now_utc().isoformat(timespec="seconds"),
                            error=f"InboxReady hit an unexpected problem checking {entry.domain} ({type(exc).__name__}).")
    return outcome_for(judged.previous, judged.report, judged.run_id)


async def run_watchlist(options: CheckOptions, history: History | None, *, now: datetime | None = None,
                        only_due: bool = True, watchlist: WatchList | None = None, concurrency: int = 4,
                        on_outcome: Callable[[WatchOutcome], None] | None = None,
                        only: tuple[str, ...] | None = None, skip: tuple[str, ...] = ()) -> list[WatchOutcome]:
    """Check the watched domains (only the due ones unless ``only_due=False``; disabled entries are
    skipped either way), store each run and return what changed, in watch-list order. ``now`` is the
    time used for "due" and for the entries' last run (default: the clock). ``only``/``skip`` narrow
    every domain's own choice of checks for this run. A watch list that can't be saved doesn't stop the
    run (``watchlist.problem`` says so)."""
    wl = watchlist if watchlist is not None else await asyncio.get_running_loop().run_in_executor(None, WatchList)
    when = _aware(now or now_utc())
    entries = wl.due(when) if only_due else [e for e in wl.entries if e.enabled]
    order = {e.domain: i for i, e in enumerate(wl.entries)}
    entries.sort(key=lambda e: order.get(e.domain, 0))
    sem = asyncio.Semaphore(max(1, concurrency))
    loop = asyncio.get_running_loop()

    async def one(entry: WatchEntry) -> WatchOutcome:
        async with sem:
            outcome = await check_entry(entry, options, history, only=only, skip=skip)
        await loop.run_in_executor(None, wl.mark_run, entry.domain, when, outcome.status)
        if on_outcome is not None:
            on_outcome(outcome)
        return outcome

    return list(await asyncio.gather(*(one(e) for e in entries)))


def exit_code(outcomes: list[WatchOutcome]) -> int:
    """For the OS scheduler: 1 when something changed (or got worse), or a domain's first check found
    problems; else 2 when something couldn't be checked; else 0."""
    if any(o.changed or o.first_problem for o in outcomes):
        return 1
    if any(o.couldnt_check for o in outcomes):
        return 2
    return 0


__all__ = ["Change", "IntervalError", "WatchEntry", "WatchList", "WatchListError", "check_names", "WatchOutcome", "changes_between", "check_entry",
           "describe_interval", "exit_code", "format_interval", "outcome_for", "parse_interval", "run_watchlist"]
