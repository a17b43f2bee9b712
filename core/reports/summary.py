"""What the reports say about one domain over a time range.

Public API::

    def summarize(store: ReportStore, domain: str, *, days: int = 30, now: float | None = None,
                  current_record: str | None = None, catalog: Catalog | None = None) -> ReportSummary
    @dataclass class ReportSummary            # .to_json() -> dict, .to_csv(table="sources") -> str
        domain, days, since, until, reports, messages, dmarc_pass, spf_aligned, dkim_aligned, spf_pass,
        dkim_pass, rates (dict of 0..1 floats), sources: list[SourceRow], services: list[ServiceRow],
        daily: list[DayRow], unknown_failing: list[SourceRow], not_aligned: list[NotAligned],
        enforcement: list[Enforcement] (quarantine, reject), policy (latest policy_published),
        pending_lookups (sources whose reverse DNS is not known yet), tls (TLS report totals: reports,
        successful_sessions, failed_sessions, failure_types, failure_words, and unknown_domain: the period's TLS
        reports that name no domain, [{org, report_id, sessions}]),
        unknown (messages whose DMARC result the reporter did not give and that could not be worked out),
        derived (messages whose result InboxReady worked out from the reports' auth results),
        flagged (reports about the domain left out because their dates can't be right, with why),
        partial, partial_count, partial_rows (reports of the period stored without rows that could not be
        read: the first 20 with the file, how many rows and why),
        notes (plain sentences about all of these)
    def csv_cell(value) -> value     # a text cell that a spreadsheet would run as a formula, made inert

Definitions, all counted in messages (a report row's ``count``):

* *aligned SPF / DKIM* is the report's ``policy_evaluated`` result (the receiver's DMARC evaluation), or,
  when the reporter left it out, the one worked out from the record's auth results (``derived``; the
  summary says so); *SPF / DKIM pass* is the raw ``auth_results`` result, aligned or not; *DMARC pass* =
  aligned SPF or aligned DKIM passes. Messages whose result is unknown (left out and not derivable) count
  neither as passing nor as failing: rates are over the messages whose result is known.
* reports whose dates can't be right (``aggregate.date_problem``: 1970, the far future, ending before they
  begin, longer than a month) are kept in the store but left out of every figure, the chart and the "safe to
  enforce?" range; ``flagged`` lists them with the reason.
* *passes but not aligned*: DMARC fails while raw SPF or DKIM passes: mail signed or bounced through a
  service under the service's own domain (the usual third-party set-up mistake).
* *legitimate-looking* mail comes from a source that passes DMARC for at least some of its mail, or from a
  known sending service (catalog), or passes DKIM for your domain or a subdomain. Mail from other sources
  that fails everything is most likely forged (or forwarded) and is what enforcement is for.
* *safe to enforce*: the share of legitimate-looking mail that fails DMARC (and so would go to spam with
  p=quarantine, or be refused with p=reject) is at most ``QUARANTINE_MAX_SHARE`` / ``REJECT_MAX_SHARE``,
  over at least ``MIN_MESSAGES`` messages and ``MIN_DAYS`` days of reports. Even then the verdict is
  "review", never "safe", while more than ``REVIEW_SHARE`` of all the mail fails DMARC from servers not
  recognised as yours (they may be forged, or yours and forgotten: the user must look). The next record
  follows RFC 9989 and the DMARC builder: no ``pct``; a new, stricter policy starts with ``t=y`` (test mode:
  receivers apply the next milder policy), then the same policy without ``t=y``; ``np=reject`` (subdomains
  that don't exist send no mail) and no ``sp`` milder than the new ``p``.

A source's service comes from the catalog: its addresses, the cached reverse DNS names
(``sources.resolve_sources``), or a domain of the service whose SPF or DKIM check *passed* for that source
(forged mail names gmail.com in its envelope or google.com in a failing signature: that names no service);
sources not yet looked up show ``"unknown, looking up…"`` and are counted in ``pending_lookups``; a source whose
reverse lookup failed (timeout, SERVFAIL) shows ``"unknown (reverse DNS couldn't be looked up)"``, never "no
reverse DNS name", and is counted in ``failed_lookups``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..records.dmarc_build import build_record
from ..records.dmarc_parse import DmarcRecord, parse_dmarc
from ..model import Fix
from .sources import UNKNOWN, UNKNOWN_LOOKUP_FAILED, UNKNOWN_PENDING, Catalog, Service, load_catalog
from .store import ReportStore
from .tlsrpt import count_once, result_words

QUARANTINE_MAX_SHARE = 0.02
REJECT_MAX_SHARE = 0.005
REVIEW_SHARE = 0.05     # failing mail from unrecognised servers, of all mail, above which "safe" becomes "review"
MIN_MESSAGES = 100
MIN_DAYS = 7
LONG_RANGE_DAYS = 400   # longer ranges (all time) are described by the dates the reports cover
DAY = 86400
LEVEL = {"none": 0, "quarantine": 1, "reject": 2}


@dataclass
class SourceRow:
    ip: str
    ptr: str | None
    service_id: str
    service: str
    messages: int = 0
    dmarc_pass: int = 0
    spf_aligned: int = 0
    dkim_aligned: int = 0
    spf_pass: int = 0
    dkim_pass: int = 0
    quarantined: int = 0
    rejected: int = 0
    dkim_domains: list[str] = field(default_factory=list)
    spf_domains: list[str] = field(default_factory=list)
    unknown: int = 0              # messages whose DMARC result is not known (neither pass nor fail)

    @property
    def dmarc_fail(self) -> int:
        return self.messages - self.dmarc_pass - self.unknown


@dataclass
class ServiceRow:
    service_id: str
    service: str
    sources: int = 0
    messages: int = 0
    dmarc_pass: int = 0
    spf_aligned: int = 0
    dkim_aligned: int = 0


@dataclass
class DayRow:
    date: str
    messages: int = 0
    dmarc_pass: int = 0
    unknown: int = 0

    @property
    def pass_rate(self) -> float:
        known = self.messages - self.unknown
        return self.dmarc_pass / known if known else 0.0


@dataclass
class NotAligned:
    ip: str
    service_id: str
    service: str
    messages: int
    why: str                      # plain words
    advice: str                   # what to do, plain words
    fixes: list[Fix] = field(default_factory=list)


@dataclass
class Enforcement:
    policy: str                   # "quarantine" or "reject"
    verdict: str                  # "safe", "review", "not-yet", "not-enough-data", "already"
    safe: bool
    legit_messages: int
    affected_messages: int
    affected_share: float
    affected_sources: list[str]   # "service (ip)" of the legitimate-looking sources that would be hit
    message: str                  # plain words
    next_record: Fix | None = None


@dataclass
class ReportSummary:
    domain: str
    days: int
    since: int
    until: int
    reports: int = 0
    messages: int = 0
    dmarc_pass: int = 0
    spf_aligned: int = 0
    dkim_aligned: int = 0
    spf_pass: int = 0
    dkim_pass: int = 0
    sources: list[SourceRow] = field(default_factory=list)
    services: list[ServiceRow] = field(default_factory=list)
    daily: list[DayRow] = field(default_factory=list)
    unknown_failing: list[SourceRow] = field(default_factory=list)
    not_aligned: list[NotAligned] = field(default_factory=list)
    enforcement: list[Enforcement] = field(default_factory=list)
    policy: dict[str, Any] = field(default_factory=dict)
    pending_lookups: int = 0
    failed_lookups: int = 0  # sources whose reverse DNS lookup failed (timeout, SERVFAIL): asked again next time
    tls: dict[str, Any] = field(default_factory=dict)
    unknown: int = 0
    derived: int = 0
    flagged: list[dict[str, Any]] = field(default_factory=list)   # org, report_id, begin, end, problem
    flagged_count: int = 0
    partial: list[dict[str, Any]] = field(default_factory=list)   # org, report_id, name, skipped_rows, skipped
    partial_count: int = 0     # reports of the period stored without some of their rows (they could not be read)
    partial_rows: int = 0      # the rows left out of them

    @property
    def evaluated(self) -> int:
        """Messages whose DMARC result is known (pass or fail)."""
        return self.messages - self.unknown

    @property
    def notes(self) -> list[str]:
        """Plain sentences about what the figures leave out or worked out."""
        out = []
        if self.derived:
            out.append(f"{self.derived:,} message(s) came in reports without the receiver's DMARC result; InboxReady "
                       "worked it out from the reports' own SPF and DKIM results and the From domain.")
        if self.unknown:
            out.append(f"{self.unknown:,} message(s) came in reports that give no DMARC result and not enough to work "
                       "it out; they are counted neither as passing nor as failing.")
        if self.flagged_count:
            first = self.flagged[0]
            more = f" (and {self.flagged_count - 1:,} more)" if self.flagged_count > 1 else ""
            out.append(f"{self.flagged_count:,} report(s) about {self.domain} are left out because their dates can't be "
                       f"right: {first['org']} report {first['report_id']}: {first['problem']}{more}.")
        if self.partial_count:
            first = self.partial[0]
            more = f" (and {self.partial_count - 1:,} more report(s))" if self.partial_count > 1 else ""
            out.append(f"{self.partial_count:,} report(s) of this period were imported without {self.partial_rows:,} "
                       f"row(s) that could not be read; their messages are not in the figures: {first['org']} "
                       f"report {first['report_id']} ({first['name']}): {first['skipped']}{more}.")
        return out

    @property
    def period(self) -> str:
        """The range in words: "in the last 30 days"; for a long range (all time) the dates the reports cover,
        "between 2024-01-03 and 2026-11-20" (or "over this period" when there are none)."""
        if self.days <= LONG_RANGE_DAYS:
            return f"in the last {self.days} day{'s' if self.days != 1 else ''}"
        if self.daily:
            first, last = self.daily[0].date, self.daily[-1].date
            return f"on {first}" if first == last else f"between {first} and {last}"
        return "over this period"

    @property
    def rates(self) -> dict[str, float]:
        """Shares of the messages whose DMARC result is known."""
        m = self.evaluated
        def r(n: int) -> float:
            return round(n / m, 4) if m else 0.0
        return {"dmarc_pass": r(self.dmarc_pass), "spf_aligned": r(self.spf_aligned),
                "dkim_aligned": r(self.dkim_aligned), "spf_pass": r(self.spf_pass), "dkim_pass": r(self.dkim_pass)}

    def to_json(self) -> dict[str, Any]:
        def fix(f: Fix | None) -> dict[str, Any] | None:
            return None if f is None else {"host": f.host, "type": f.type, "value": f.value, "ttl": f.ttl,
                                           "action": f.action, "note": f.note}
        return {
            "domain": self.domain, "days": self.days, "since": self.since, "until": self.until,
            "reports": self.reports, "messages": self.messages, "dmarc_pass": self.dmarc_pass,
            "spf_aligned": self.spf_aligned, "dkim_aligned": self.dkim_aligned, "spf_pass": self.spf_pass,
            "dkim_pass": self.dkim_pass, "rates": self.rates, "policy": self.policy,
            "pending_lookups": self.pending_lookups, "failed_lookups": self.failed_lookups,
            "unknown": self.unknown, "derived": self.derived, "flagged": self.flagged,
            "flagged_count": self.flagged_count, "partial": self.partial, "partial_count": self.partial_count,
            "partial_rows": self.partial_rows, "notes": self.notes,
            "sources": [asdict(s) for s in self.sources],
            "services": [asdict(s) for s in self.services],
            "daily": [{**asdict(d), "pass_rate": round(d.pass_rate, 4)} for d in self.daily],
            "unknown_failing": [asdict(s) for s in self.unknown_failing],
            "not_aligned": [{**{k: v for k, v in asdict(n).items() if k != "fixes"},
                             "fixes": [fix(f) for f in n.fixes]} for n in self.not_aligned],
            "enforcement": [{**{k: v for k, v in asdict(e).items() if k != "next_record"},
                             "next_record": fix(e.next_record)} for e in self.enforcement],
            "tls": self.tls,
        }

    def to_csv(self, table: str = "sources") -> str:
        """One table as CSV: "sources", "services", "daily", "unknown_failing" or "not_aligned"."""
        buf = io.StringIO()
        w = _SafeWriter(csv.writer(buf))
        if table in ("sources", "unknown_failing"):
            rows = self.sources if table == "sources" else self.unknown_failing
            w.writerow(["ip", "reverse_dns", "service", "messages", "dmarc_pass", "spf_aligned", "dkim_aligned",
                        "spf_pass", "dkim_pass", "quarantined", "rejected", "dkim_domains", "spf_domains"])
            for s in rows:
                w.writerow([s.ip, s.ptr or "", s.service, s.messages, s.dmarc_pass, s.spf_aligned, s.dkim_aligned,
                            s.spf_pass, s.dkim_pass, s.quarantined, s.rejected, " ".join(s.dkim_domains),
                            " ".join(s.spf_domains)])
        elif table == "services":
            w.writerow(["service", "sources", "messages", "dmarc_pass", "spf_aligned", "dkim_aligned"])
            for v in self.services:
                w.writerow([v.service, v.sources, v.messages, v.dmarc_pass, v.spf_aligned, v.dkim_aligned])
        elif table == "daily":
            w.writerow(["date", "messages", "dmarc_pass", "pass_rate"])
            for d in self.daily:
                w.writerow([d.date, d.messages, d.dmarc_pass, f"{d.pass_rate:.4f}"])
        elif table == "not_aligned":
            w.writerow(["ip", "service", "messages", "why", "advice", "fix_host", "fix_type", "fix_value"])
            for n in self.not_aligned:
                if not n.fixes:
                    w.writerow([n.ip, n.service, n.messages, n.why, n.advice, "", "", ""])
                for f in n.fixes:
                    w.writerow([n.ip, n.service, n.messages, n.why, n.advice, f.host, f.type, f.value])
        else:
            raise ValueError(f"unknown table {table!r}")
        return buf.getvalue()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will show as text: a text starting with =, +, -, @, a tab or a carriage return
    (a formula, e.g. ``=HYPERLINK(...)`` or ``+cmd|...`` in a hostile report) gets a leading apostrophe
    (OWASP's rule); numbers and other text are left as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class _SafeWriter:
    """A ``csv.writer`` whose every text cell goes through ``csv_cell``."""

    def __init__(self, writer: Any) -> None:
        self._w = writer

    def writerow(self, row: list[Any]) -> None:
        self._w.writerow([csv_cell(v) for v in row])


def _under(name: str | None, domain: str) -> bool:
    if not name:
        return False
    n = name.lower().rstrip(".")
    return n == domain or n.endswith("." + domain)


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d")


def summarize(store: ReportStore, domain: str, *, days: int = 30, now: float | None = None,
              current_record: str | None = None, catalog: Catalog | None = None) -> ReportSummary:
    """Summarise the stored reports about ``domain`` whose period ends within the last ``days`` days.

    ``current_record`` is the DMARC record published now (if the caller looked it up); without it the
    enforcement advice starts from the policy the latest report shows. Runs SQL: call off the UI thread.
    """
    domain = domain.strip().rstrip(".").lower()
    cat = catalog or load_catalog()
    until = int(now if now is not None else time.time())
    since = max(0, until - max(1, int(days)) * DAY)
    s = ReportSummary(domain=domain, days=int(days), since=since, until=until)
    in_range = "r.kind='dmarc' AND r.domain=? AND r.end>=? AND r.begin<=? AND r.problem IS NULL"
    s.reports, derived = store.query(f"SELECT count(*), coalesce(sum(r.derived), 0) FROM reports r WHERE {in_range}",
                                     (domain, since, until))[0]
    s.derived = int(derived or 0)
    latest = store.query(f"SELECT r.policy FROM reports r WHERE {in_range} ORDER BY r.end DESC LIMIT 1",
                         (domain, since, until))
    if latest:
        try:
            s.policy = json.loads(latest[0][0])
        except ValueError:
            s.policy = {}
    flagged = store.query("SELECT org, report_id, begin, end, problem FROM reports WHERE kind='dmarc' AND domain=? "
                          "AND problem IS NOT NULL ORDER BY imported DESC, id DESC", (domain,))
    s.flagged_count = len(flagged)
    s.flagged = [{"org": o, "report_id": i, "begin": b, "end": e, "problem": why} for o, i, b, e, why in flagged[:20]]
    partial = store.query(f"SELECT r.org, r.report_id, r.source, r.skipped_rows, r.skipped FROM reports r WHERE "
                          f"{in_range} AND r.skipped_rows > 0 ORDER BY r.end DESC, r.id DESC", (domain, since, until))
    s.partial_count = len(partial)
    s.partial_rows = sum(int(n) for _o, _i, _s, n, _w in partial)
    s.partial = [{"org": o, "report_id": i, "name": src, "skipped_rows": int(n), "skipped": why}
                 for o, i, src, n, why in partial[:20]]
    rows = store.query(
        "SELECT r.begin, w.source_ip, w.dkim, w.spf, w.dkim_domain, w.dkim_result, w.spf_domain, w.spf_result, "
        f"w.disposition, sum(w.count) FROM rows w JOIN reports r ON r.id = w.report WHERE {in_range} "
        "GROUP BY r.begin / 86400, w.source_ip, w.dkim, w.spf, w.dkim_domain, w.dkim_result, w.spf_domain, "
        "w.spf_result, w.disposition", (domain, since, until))
    src: dict[str, SourceRow] = {}
    passed_dkim: dict[str, list[str]] = {}  # per source: the DKIM domains whose signature passed
    passed_spf: dict[str, list[str]] = {}   # per source: the SPF domains that passed
    daily: dict[str, DayRow] = {}
    first_day, last_day = None, None
    for begin, ip, dkim, spf, dkim_domain, dkim_result, spf_domain, spf_result, disp, count in rows:
        n = int(count or 0)
        row = src.get(ip)
        if row is None:
            row = src[ip] = SourceRow(ip=ip, ptr=None, service_id="", service="")
        passed = dkim == "pass" or spf == "pass"
        unknown = not passed and (not dkim or not spf)  # the reporter gave no result, none could be worked out
        row.messages += n
        row.dmarc_pass += n if passed else 0
        row.unknown += n if unknown else 0
        row.spf_aligned += n if spf == "pass" else 0
        row.dkim_aligned += n if dkim == "pass" else 0
        row.spf_pass += n if spf_result == "pass" else 0
        row.dkim_pass += n if dkim_result == "pass" else 0
        row.quarantined += n if disp == "quarantine" else 0
        row.rejected += n if disp == "reject" else 0
        if dkim_domain and dkim_domain not in row.dkim_domains:
            row.dkim_domains.append(dkim_domain)
        if spf_domain and spf_domain not in row.spf_domains:
            row.spf_domains.append(spf_domain)
        if dkim_domain and dkim_result == "pass":
            ok = passed_dkim.setdefault(ip, [])
            if dkim_domain not in ok:
                ok.append(dkim_domain)
        if spf_domain and spf_result == "pass":
            ok = passed_spf.setdefault(ip, [])
            if spf_domain not in ok:
                ok.append(spf_domain)
        d = _day(int(begin))
        day = daily.setdefault(d, DayRow(d))
        day.messages += n
        day.dmarc_pass += n if passed else 0
        day.unknown += n if unknown else 0
        first_day = begin if first_day is None else min(first_day, begin)
        last_day = begin if last_day is None else max(last_day, begin)

    ptrs = store.ptr_get(src.keys()) if src else {}
    services: dict[str, ServiceRow] = {}
    svc_of: dict[str, Service | None] = {}
    for ip, row in src.items():
        cached = ptrs.get(ip)
        unconfirmed = cached is not None and cached[1] == "unconfirmed"
        row.ptr = cached[0] if cached and not unconfirmed else None
        # a domain names the service only when its check passed: forged mail claims gmail.com or google.com in
        # its envelope or in a signature that fails, and is not Google's mail
        svc = cat.match(ip, ptr=row.ptr, auth_domains=[*passed_dkim.get(ip, ()), *passed_spf.get(ip, ())])
        svc_of[ip] = svc
        if svc is not None:
            row.service_id, row.service = svc.id, svc.name
        elif cached is None:
            row.service_id, row.service = UNKNOWN, UNKNOWN_PENDING
            s.pending_lookups += 1
        elif cached[1] == "failed":  # a timeout or SERVFAIL: couldn't check, not "no name"
            row.service_id, row.service = UNKNOWN, UNKNOWN_LOOKUP_FAILED
            s.failed_lookups += 1
        elif unconfirmed:  # the address's owner wrote that name; the name doesn't point back: it proves nothing
            row.service_id = UNKNOWN
            row.service = f"unknown (its reverse DNS says {cached[0]}, not confirmed by that name)"
        else:
            row.service_id = UNKNOWN
            row.service = f"unknown ({row.ptr})" if row.ptr else "unknown (no reverse DNS name)"
        key = row.service_id if svc is not None else UNKNOWN
        v = services.setdefault(key, ServiceRow(key, svc.name if svc else "Unknown senders"))
        v.sources += 1
        v.messages += row.messages
        v.dmarc_pass += row.dmarc_pass
        v.spf_aligned += row.spf_aligned
        v.dkim_aligned += row.dkim_aligned
        s.messages += row.messages
        s.dmarc_pass += row.dmarc_pass
        s.unknown += row.unknown
        s.spf_aligned += row.spf_aligned
        s.dkim_aligned += row.dkim_aligned
        s.spf_pass += row.spf_pass
        s.dkim_pass += row.dkim_pass

    s.sources = sorted(src.values(), key=lambda r: (-r.messages, r.ip))
    s.services = sorted(services.values(), key=lambda v: (-v.messages, v.service))
    s.daily = [daily[k] for k in sorted(daily)]
    own_dkim = {ip for ip, ds in passed_dkim.items() if any(_under(d, domain) for d in ds)}
    s.unknown_failing = [r for r in s.sources if svc_of.get(r.ip) is None and r.dmarc_pass == 0 and r.dmarc_fail > 0
                         and r.ip not in own_dkim]
    base = _base_record(current_record, s.policy, domain)
    s.not_aligned = [_not_aligned(r, svc_of.get(r.ip), domain, base, passed_dkim.get(r.ip, []),
                                  passed_spf.get(r.ip, [])) for r in s.sources
                     if r.dmarc_fail > 0 and (r.spf_pass > 0 or r.dkim_pass > 0)]
    covered_days = 0 if first_day is None else int((last_day - first_day) // DAY) + 1
    s.enforcement = _enforcement(s, svc_of, domain, base, covered_days, own_dkim)
    s.tls = _tls(store, domain, since, until)
    return s


def _base_record(current: str | None, policy: dict[str, Any], domain: str) -> DmarcRecord | None:
    text = current
    if not text and policy:
        tags = ["v=DMARC1", f"p={policy.get('p') or 'none'}"]
        for t in ("sp", "np"):
            if policy.get(t):
                tags.append(f"{t}={policy[t]}")
        for t in ("adkim", "aspf"):
            if policy.get(t) == "s":  # r is the default: leave it out
                tags.append(f"{t}=s")
        if policy.get("testing") == "y":
            tags.append("t=y")
        text = "; ".join(tags)
    if not text:
        return None
    try:
        return parse_dmarc(text)
    except Exception:  # noqa: BLE001 - a broken current record: start from a clean one
        return None


def _dmarc_fix(domain: str, p: str, base: DmarcRecord | None, *, testing: bool, note: str,
               enforcing: bool = False) -> Fix:
    """The record to publish. ``enforcing`` (a stricter ``p``): never weaker than the DMARC builder's ladder for
    subdomains: ``np=reject`` (names that don't exist send no mail), and an ``sp`` milder than ``p`` is left
    out so existing subdomains follow ``p``."""
    extra: list[str] = []
    np = None
    if enforcing:
        np = "reject"
        if base is not None and base.sp and LEVEL.get(base.sp, 0) < LEVEL.get(p, 0):
            extra.append(f"sp={base.sp} is left out, so your subdomains are protected like {domain} (p={p}), as the "
                         f"DMARC builder recommends; if a subdomain sends mail that fails DMARC, fix that first.")
            base = dataclasses.replace(base, sp=None)
        if base is None or base.np != "reject":
            extra.append("np=reject: names under your domain that don't exist send no mail, so mail from them is "
                         "refused.")
    value, notes = build_record(domain, p, base, testing=testing, np=np)
    return Fix(host=f"_dmarc.{domain}", type="TXT", value=value, action="replace" if base else "publish",
               note=" ".join([note, *extra, *notes]).strip())


def _not_aligned(r: SourceRow, svc: Service | None, domain: str, base: DmarcRecord | None,
                 dkim_ok: list[str], spf_ok: list[str]) -> NotAligned:
    """Why a source fails DMARC although SPF or DKIM passes (``dkim_ok``/``spf_ok``: the domains that
    passed), and what to do."""
    who = svc.name if svc else (f"the server {r.ip}" + (f" ({r.ptr})" if r.ptr else ""))
    # the domain that passed (a signature of the same server that failed is not what passes)
    dk = next((d for d in dkim_ok if d), None)
    sp = next((d for d in spf_ok if d), None)
    parts = []
    if r.dkim_pass:
        parts.append(f"DKIM passes for {dk or 'another domain'}")
    if r.spf_pass:
        parts.append(f"SPF passes for {sp or 'another domain'}")
    why = (f"{r.dmarc_fail} message(s) from {who} failed DMARC although {' and '.join(parts)}: that domain is "
           f"not {domain}, so it does not count for your From address (alignment).")
    fixes: list[Fix] = []
    strict_dkim = base is not None and base.adkim == "s"
    strict_spf = base is not None and base.aspf == "s"
    if (r.dkim_pass and _under(dk, domain) and strict_dkim) or (r.spf_pass and _under(sp, domain) and strict_spf):
        relaxed = parse_dmarc(_relax(base)) if base is not None else None
        fixes.append(_dmarc_fix(domain, (base.p if base and base.p else "none"), relaxed,
                                testing=bool(base and base.testing),
                                note="Relaxed alignment lets a subdomain of yours count for your From address."))
        advice = (f"{who} already uses a subdomain of {domain}, but your DMARC record asks for an exact match "
                  "(strict alignment). Switch to relaxed alignment with the record below.")
    elif svc is not None and svc.dkim_setup:
        for host, rtype, value in svc.dkim_setup:
            fixes.append(Fix(host=host.format(domain=domain), type=rtype, value=value.format(domain=domain),
                             note=f"Lets {svc.name} sign your mail as {domain}."))
        advice = f"Make {svc.name} sign your mail with your own domain. {svc.setup_help}"
    elif svc is not None:
        advice = f"Make {svc.name} sign your mail with your own domain. {svc.setup_help}"
    else:
        advice = (f"Find out which service runs {r.ip}{' (' + r.ptr + ')' if r.ptr else ''} for you and turn on "
                  f"DKIM signing for {domain} there (its setup page shows the record to publish). If you do not "
                  "know this sender, ignore it: enforcement will stop it.")
    return NotAligned(ip=r.ip, service_id=r.service_id, service=r.service, messages=r.dmarc_fail, why=why,
                      advice=advice, fixes=fixes)


def _relax(base: DmarcRecord | None) -> str:
    raw = base.raw if base is not None and base.raw else "v=DMARC1; p=none"
    parts = [p.strip() for p in raw.split(";") if p.strip()]
    kept = [p for p in parts if p.split("=", 1)[0].strip().lower() not in ("adkim", "aspf")]
    return "; ".join(kept)


def _legit(r: SourceRow, svc: Service | None, own_dkim: set[str]) -> bool:
    """Mail that looks like yours: some of it passes DMARC, a known service sent it (an address of its own,
    or its own domain passed SPF or DKIM), or a signature of your domain passed."""
    return r.dmarc_pass > 0 or svc is not None or r.ip in own_dkim


def _enforcement(s: ReportSummary, svc_of: dict[str, Service | None], domain: str, base: DmarcRecord | None,
                 covered_days: int, own_dkim: set[str]) -> list[Enforcement]:
    legit = [r for r in s.sources if _legit(r, svc_of.get(r.ip), own_dkim)]
    legit_n = sum(r.messages - r.unknown for r in legit)
    hit = [r for r in legit if r.dmarc_fail > 0]
    hit_n = sum(r.dmarc_fail for r in hit)
    share = hit_n / legit_n if legit_n else 0.0
    names = [f"{r.service} ({r.ip}): {r.dmarc_fail}" for r in sorted(hit, key=lambda r: -r.dmarc_fail)]
    # failing mail from servers not recognised as yours: forged, or yours and forgotten (the user must look)
    known = {id(r) for r in legit}
    strangers = sorted((r for r in s.sources if id(r) not in known and r.dmarc_fail > 0), key=lambda r: -r.dmarc_fail)
    stranger_n = sum(r.dmarc_fail for r in strangers)
    stranger_share = stranger_n / s.evaluated if s.evaluated else 0.0
    cur_p = (base.p if base is not None and base.p else (s.policy.get("p") or "none")).lower()
    cur_t = bool(base is not None and base.testing)
    out: list[Enforcement] = []
    for policy, limit in (("quarantine", QUARANTINE_MAX_SHARE), ("reject", REJECT_MAX_SHARE)):
        action = "go to spam" if policy == "quarantine" else "be refused"
        pct = f"{share * 100:.1f}%"
        next_fix: Fix | None = None
        affected = names
        if LEVEL.get(cur_p, 0) > LEVEL[policy] or (cur_p == policy and not cur_t):
            verdict, safe = "already", True
            msg = f"Your policy is already p={cur_p}."
        elif legit_n < MIN_MESSAGES or covered_days < MIN_DAYS:
            verdict, safe = "not-enough-data", False
            msg = (f"Not enough reports yet to be sure: {legit_n} legitimate-looking message(s) over {covered_days} "
                   f"day(s); wait for at least {MIN_MESSAGES} messages over {MIN_DAYS} days.")
        elif share <= limit:
            testing = not (cur_p == policy and cur_t)
            step = ("It starts in test mode (t=y): receivers treat it one step milder while you watch the "
                    "reports; remove t=y after a few clean weeks." if testing else
                    "This removes test mode (t=y), so receivers apply the policy fully.")
            if policy == "reject" and cur_p == "none":
                step += " Going from none straight to reject is a big step; quarantine first is safer."
            if stranger_share > REVIEW_SHARE:
                verdict, safe = "review", False
                who = ", ".join(f"{_sender_name(r)} ({r.ip})" for r in strangers[:3])
                more = f" and {len(strangers) - 3} more" if len(strangers) > 3 else ""
                msg = (f"Check first: the senders InboxReady recognises are ready (only {hit_n:,} of {legit_n:,} "
                       f"legitimate-looking messages, {pct}, {s.period} would {action}), but "
                       f"{stranger_share * 100:.0f}% of all your mail ({stranger_n:,} messages) fails DMARC and comes "
                       f"from {len(strangers)} server(s) InboxReady can't identify: {who}{more}. If any of them is "
                       f"yours (an office server, a shop or booking system, a forwarding mailbox), make it pass "
                       f"first: with p={policy} its mail would {action}. If none is yours, it is forged mail and "
                       "the record below stops it.")
                step = "Publish this only when none of the unidentified servers is yours. " + step
                affected = names + [f"{_sender_name(r)} ({r.ip}): {r.dmarc_fail}" for r in strangers]
            else:
                verdict, safe = "safe", True
                msg = (f"Safe to move to p={policy}: only {hit_n} of {legit_n} legitimate-looking messages ({pct}) "
                       f"{s.period} would {action}.")
            next_fix = _dmarc_fix(domain, policy, base, testing=testing, note=step, enforcing=True)
        else:
            verdict, safe = "not-yet", False
            msg = (f"Not yet: {hit_n} of {legit_n} legitimate-looking messages ({pct}) {s.period} "
                   f"fail DMARC and would {action} with p={policy}. Fix the sources listed first.")
        out.append(Enforcement(policy=policy, verdict=verdict, safe=safe, legit_messages=legit_n,
                               affected_messages=hit_n, affected_share=round(share, 4), affected_sources=affected,
                               message=msg, next_record=next_fix))
    return out


def _sender_name(r: SourceRow) -> str:
    """A sender's name in a sentence that stays as written: never "looking up…" (the names may never be looked
    up, e.g. with lookups switched off) nor the lookup's own state."""
    return "unknown" if not r.service or r.service in (UNKNOWN_PENDING, UNKNOWN_LOOKUP_FAILED) else r.service


def _tls(store: ReportStore, domain: str, since: int, until: int) -> dict[str, Any]:
    """The TLS report totals for ``domain``: sessions counted once per report (see ``_report_sessions``), the
    failure types, and the TLS reports of the period that name no domain at all (listed, never invisible)."""
    by_report: dict[int, list[tuple[str, int, int, str]]] = {}
    for rid, ptype, ok, failed, details in store.query(
            "SELECT r.id, p.policy_type, p.successful, p.failed, p.details FROM tls_policies p "
            "JOIN reports r ON r.id = p.report WHERE r.kind='tlsrpt' AND p.policy_domain=? "
            "AND r.end>=? AND r.begin<=? AND r.problem IS NULL", (domain, since, until)):
        by_report.setdefault(int(rid), []).append((str(ptype), int(ok or 0), int(failed or 0), str(details)))
    ok_total = failed_total = 0
    failures: dict[str, int] = {}
    for policies in by_report.values():
        ok, failed, kinds = _report_sessions(policies)
        ok_total += ok
        failed_total += failed
        for k, n in kinds.items():
            failures[k] = failures.get(k, 0) + n
    ordered = dict(sorted(failures.items(), key=lambda kv: -kv[1]))
    unnamed: dict[int, tuple[str, str, list[tuple[str, int, int]]]] = {}
    for rid, org, rep, ptype, ok, failed in store.query(
            "SELECT r.id, r.org, r.report_id, p.policy_type, p.successful, p.failed FROM tls_policies p "
            "JOIN reports r ON r.id = p.report WHERE r.kind='tlsrpt' AND p.policy_domain='' "
            "AND r.end>=? AND r.begin<=? AND r.problem IS NULL ORDER BY r.begin, r.id", (since, until)):
        unnamed.setdefault(int(rid), (str(org), str(rep), []))[2].append((str(ptype), int(ok or 0), int(failed or 0)))
    return {"reports": len(by_report), "successful_sessions": ok_total, "failed_sessions": failed_total,
            "failure_types": ordered, "failure_words": {k: result_words(k) for k in ordered},
            "unknown_domain": [{"org": org, "report_id": rep, "sessions": sum(count_once(counts))}
                               for org, rep, counts in unnamed.values()]}


def _report_sessions(policies: list[tuple[str, int, int, str]]) -> tuple[int, int, dict[str, int]]:
    """One report's sessions to one domain: (successful, failed, failed sessions by result type), each session
    counted once although a sender that checks both DANE and MTA-STS lists it under both policies
    (``tlsrpt.count_once`` says why)."""
    counts: list[tuple[str, int, int]] = []
    kinds: dict[str, dict[str, int]] = {}
    for ptype, ok, failed, details in policies:
        counts.append((ptype, ok, failed))
        try:
            for d in json.loads(details):
                mine = kinds.setdefault(str(d["result_type"]), {})
                mine[ptype] = mine.get(ptype, 0) + int(d["failed_session_count"])
        except (ValueError, KeyError, TypeError):
            continue
    ok, failed = count_once(counts)
    merged = {k: count_once([(t, 0, n) for t, n in per_type.items()])[1] for k, per_type in kinds.items()}
    return ok, failed, merged


__all__ = ["summarize", "ReportSummary", "SourceRow", "ServiceRow", "DayRow", "NotAligned", "Enforcement",
           "QUARANTINE_MAX_SHARE", "REJECT_MAX_SHARE", "REVIEW_SHARE", "MIN_MESSAGES", "MIN_DAYS", "csv_cell"]
