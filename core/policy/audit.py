"""Audit-ready reports: one domain check (plus, when present, the latest round-trip message and the
DMARC-report summary) with its verdict against a compliance profile, as self-contained HTML.

The report's *content* is a plain JSON document (``AuditReport.to_json()``): the domain, when it was
checked (ISO 8601 with time zone), the resolver used, every record and DNS answer exactly as seen, each
finding with its fix, the profile verdict, and the "guidance, not legal advice" statement. Its SHA-256 is
defined as::

    sha256(json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))

and is printed in the report. The HTML is rendered from that content alone (``render_html``) and carries
the content itself in a hidden block, so a copy can be checked later:

- ``verify(text) -> bool`` (also ``explain(text) -> (ok, why)``) accepts the HTML file or the JSON
  document (``to_document()``: ``{"format", "version", "sha256", "report"}``). It recomputes the hash of
  the embedded content, compares it with the printed one, and re-renders the HTML from the content: any
  edit to the visible text, the records or the hash makes it fail.
- From a shell: ``inboxready verify FILE [--sha256 HEX]`` (also ``python -m inboxready.core.policy.audit verify``;
  exit 0: intact; 1: not).
  ``--sha256`` also compares with a hash recorded elsewhere (e.g. in your audit log), which is what makes
  a re-computed forgery detectable: the hash proves the copy is unchanged, not who made it.

A PDF (``inboxready.app.pdf``) shows the same text and hash and carries the JSON document as an
attachment (``inboxready-report.json``); ``verify`` accepts a PDF too and checks that attachment.

When the domain's DNS host is known (``dns_host``: the zone and the catalog host found from its NS records),
every fix also carries ``host_form``: the record as that host's form wants it ("At Cloudflare: Name
``_dmarc``, Content ``v=DMARC1; …``, TTL Auto"), shown above the generic zone-file line. ``changes`` lists
what was published at the DNS host through InboxReady in the report's period (``changes_in_period``: from
the publish journal; a journal that can't be read is said so). Both are part of the hashed content, and a
report made without them renders exactly as before.

Nothing here touches Qt or the network.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import re
import sys
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .. import __version__
from ..checks.registry import CHECK_TITLES
from .compliance import DEFAULT_PROFILE, STATE_LABELS, ProfileVerdict, evaluate
from ..domain import to_unicode
from ..frontend import APP, FrontEnd
from ..model import DomainReport, gist

FORMAT = "inboxready-audit-report"
# 2: the summary table first, the DKIM selectors tried without a key in an appendix, "inboxready verify".
# A copy is re-rendered with the layout of its own version (a version-1 copy still verifies).
VERSION = 2
ATTACHMENT_NAME = "inboxready-report.json"
_DATA_ID = "inboxready-report-data"

# -- content and hash -----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON-only copy (dicts/lists/str/int/float/bool/None); anything else becomes its str()."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def canonical_bytes(content: Mapping[str, Any]) -> bytes:
    """The canonical JSON of the report content: sorted keys, no spaces, UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def content_hash(content: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(content)).hexdigest()


def _message_json(message: Any) -> dict[str, Any]:
    checks = {}
    for name, r in message.checks.items():
        checks[name] = {"title": CHECK_TITLES.get(name, name.upper()), "status": str(r.status),
                        "status_label": r.status.label, "result": r.detail.get("result"), "summary": r.summary,
                        "findings": [f.to_json() for f in r.findings]}
    return {"subject": message.subject, "from": message.from_, "from_domain": message.from_domain,
            "message_id": message.message_id, "receiver": message.receiver, "status": str(message.status),
            "status_label": message.status.label, "findings": [f.to_json() for f in message.findings],
            "checks": checks, "check_order": list(checks)}


@dataclass
class AuditReport:
    """What an audit report shows. Build it with ``AuditReport.build(report, ...)``."""

    report: DomainReport
    verdict: ProfileVerdict
    message: Any = None  # MessageReport | None
    reports_summary: Mapping[str, Any] | None = None
    generated: str = ""  # ISO 8601 with time zone
    dns_host: Mapping[str, Any] | None = None  # {"zone", "host", "host_name", "nameservers"}
    changes: Mapping[str, Any] | None = None  # journal.audit_changes(): {"since", "until", "entries", "problem"}

    @classmethod
    def build(cls, report: DomainReport, *, message: Any = None, reports_summary: Mapping[str, Any] | None = None,
              profile: str = DEFAULT_PROFILE, generated: datetime | None = None,
              dns_host: Mapping[str, Any] | None = None, changes: Mapping[str, Any] | None = None,
              front: FrontEnd = APP) -> AuditReport:
        verdict = evaluate(profile, report.checks, message=message, reports_summary=reports_summary, front=front)
        when = (generated or datetime.now(UTC)).astimezone()
        return cls(report, verdict, message, reports_summary, when.isoformat(timespec="seconds"), dns_host, changes)

    def to_json(self) -> dict[str, Any]:
        """The report content (what the hash covers)."""
        r = self.report
        checks = {}
        for name, c in r.checks.items():
            checks[name] = {"title": CHECK_TITLES.get(name, name.upper()), "status": str(c.status),
                            "status_label": c.status.label, "summary": c.summary, "records": list(c.records),
                            # problem first, each fix under the most severe finding it solves (model.present)
                            "findings": [x.to_json() for x in c.presented()]}
        content = {
            "format": FORMAT,
            "version": VERSION,
            "tool": f"InboxReady {__version__}",
            "generated": self.generated,
            "domain": r.domain,
            "domain_display": to_unicode(r.domain),
            "checked_at": r.started,
            "elapsed_ms": round(r.elapsed_ms, 1),
            "resolver": list(r.nameservers),
            "status": str(r.status),
            "status_label": r.status.label,
            "checks": checks,
            "check_order": list(checks),
            "queries": list(r.queries),
            "message": _message_json(self.message) if self.message is not None else None,
            "reports_summary": dict(self.reports_summary) if self.reports_summary is not None else None,
            "profile": self.verdict.to_json(),
        }
        if self.dns_host is not None and self.dns_host.get("zone"):
            content["dns_host"] = dict(self.dns_host)
            _add_host_forms(content, self.dns_host)
        if self.changes is not None:
            content["changes"] = dict(self.changes)
        # key order as after a round trip through the canonical form, so a re-render of a loaded copy is
        # byte for byte the same page
        return json.loads(canonical_bytes(_plain(content)))  # type: ignore[no-any-return]

    @property
    def sha256(self) -> str:
        return content_hash(self.to_json())

    def to_document(self) -> dict[str, Any]:
        """The JSON copy: ``{"format", "version", "sha256", "report": content}``."""
        content = self.to_json()
        return {"format": FORMAT, "version": VERSION, "sha256": content_hash(content), "report": content}

    def to_html(self) -> str:
        """Self-contained HTML (inline CSS, no scripts, no external references)."""
        content = self.to_json()
        return render_html(content, content_hash(content))

    def to_print_html(self) -> str:
        """The same page for Qt's rich-text engine (PDF): no hidden data block, simpler CSS."""
        content = self.to_json()
        return render_html(content, content_hash(content), for_print=True)


def _add_host_forms(content: dict[str, Any], dns_host: Mapping[str, Any]) -> None:
    """Give every fix in ``content`` its ``host_form`` for the domain's DNS host."""
    from ..model import Fix
    from ..publish.hosts import get_host, host_form

    zone = str(dns_host.get("zone") or "")
    host = get_host(str(dns_host.get("host") or ""))

    def add(fx: Any) -> None:
        if isinstance(fx, dict) and fx.get("host") and fx.get("type"):
            fix = Fix(str(fx["host"]), str(fx["type"]), str(fx.get("value", "")), int(fx.get("ttl") or 3600),
                      str(fx.get("action") or "publish"))
            fx["host_form"] = host_form(fix, zone, host).to_json()

    for ch in content["checks"].values():
        for f in ch["findings"]:
            add(f.get("fix"))
    for r in content["profile"].get("rules", []):
        add(r.get("fix"))


CHANGE_DAYS = 90  # the period of an audit report's change list when there is no DMARC-report period


def change_period(report: DomainReport, *, reports_summary: Mapping[str, Any] | None = None,
                  generated: datetime | None = None) -> tuple[str, str]:
    """The period whose DNS changes an audit report lists: from ``CHANGE_DAYS`` before the check (or the start
    of the DMARC-report summary, if earlier) until the report is made."""
    until = (generated or datetime.now(UTC)).astimezone(UTC)
    try:
        checked = datetime.fromisoformat(report.started) if report.started else until
        if checked.tzinfo is None:
            checked = checked.replace(tzinfo=UTC)
    except ValueError:
        checked = until
    since = checked.astimezone(UTC) - timedelta(days=CHANGE_DAYS)
    start = (reports_summary or {}).get("since")
    if isinstance(start, int) and not isinstance(start, bool):
        try:
            since = min(since, datetime.fromtimestamp(start, UTC))
        except (OverflowError, OSError, ValueError):
            pass
    return since.isoformat(timespec="seconds"), until.isoformat(timespec="seconds")


def changes_in_period(report: DomainReport, *, reports_summary: Mapping[str, Any] | None = None,
                      generated: datetime | None = None, journal_path: Path | None = None) -> dict[str, Any]:
    """The publish journal's changes of ``report.domain`` in the report's period (``change_period``)."""
    from ..publish.journal import audit_changes

    since, until = change_period(report, reports_summary=reports_summary, generated=generated)
    return audit_changes(report.domain, since, until, path=journal_path)


# -- rendering ------------------------------------------------------------------------------------

_COLOURS = {"pass": "#1a7f37", "met": "#1a7f37", "warn": "#9a6700", "warning": "#9a6700", "fail": "#cf222e",
            "error": "#cf222e", "not-met": "#cf222e", "unknown": "#8250df", "incomplete": "#8250df",
            "info": "#0969da", "not-checked": "#57606a"}
_SEVERITY_LABELS = {"error": "Problem", "warning": "Warning", "unknown": "Couldn't check", "info": "Note"}
# "error" as a check status means "couldn't check"
_STATUS_COLOURS = dict(_COLOURS, error="#8250df")

_CSS = """
body { font-family: 'DejaVu Sans', 'Segoe UI', Helvetica, Arial, sans-serif; color: #1f2328; font-size: 10pt;
       margin: 0; padding: 0; }
.page { max-width: 62em; margin: 0 auto; padding: 1.5em; }
h1 { font-size: 18pt; margin: 0 0 4pt 0; color: #0b3d91; }
h2 { font-size: 13pt; margin: 16pt 0 4pt 0; color: #0b3d91; border-bottom: 1px solid #d0d7de; }
h3 { font-size: 11pt; margin: 10pt 0 3pt 0; }
p { margin: 3pt 0; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0; }
th { text-align: left; background-color: #eef2f7; font-weight: bold; }
td, th { padding: 3pt 5pt; vertical-align: top; border: 1px solid #d0d7de; }
.banner td { border: none; padding: 8pt 10pt; }
.meta td { border: none; padding: 1pt 6pt 1pt 0; }
.meta td.k { color: #57606a; width: 11em; }
.badge { font-weight: bold; }
.mono { font-family: 'DejaVu Sans Mono', Consolas, 'Courier New', monospace; font-size: 8.5pt; }
.rec { font-family: 'DejaVu Sans Mono', Consolas, 'Courier New', monospace; font-size: 8.5pt;
       background-color: #f6f8fa; padding: 3pt 5pt; margin: 2pt 0; word-break: break-all;
       overflow-wrap: anywhere; white-space: pre-wrap; }
.muted { color: #57606a; }
.small { font-size: 8.5pt; }
.verdict { padding: 6pt 8pt; margin: 6pt 0; border: 1px solid #d0d7de; background-color: #f6f8fa; }
.hash { font-family: 'DejaVu Sans Mono', Consolas, 'Courier New', monospace; font-size: 9pt;
        word-break: break-all; }
.statement { border-left: 4px solid #9a6700; padding: 4pt 8pt; background-color: #fff8c5; margin: 6pt 0; }
"""

_TABLE = '<table width="100%" cellspacing="0" cellpadding="4">'

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def _visible(text: str) -> str:
    """Control and direction characters written as \\xNN / \\uNNNN so what was seen is what is shown."""
    def esc(m: re.Match[str]) -> str:
        c = ord(m.group(0))
        return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"
    return _CONTROL.sub(esc, text.replace("\\", "\\\\")) if _CONTROL.search(text) else text


def _e(value: Any) -> str:
    return html.escape(_visible("" if value is None else str(value)), quote=True)


def _when(iso: str) -> str:
    """"25 November 2026, 09:14:03 (UTC+01:00)" from an ISO 8601 time; the text as is if it isn't one."""
    try:
        t = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso or "unknown"
    if t.tzinfo is None:
        return t.strftime("%d %B %Y, %H:%M:%S") + " (time zone unknown)"
    off = t.strftime("%z")
    zone = f"UTC{off[:3]}:{off[3:]}" if off else "UTC"
    return t.strftime("%d %B %Y, %H:%M:%S") + f" ({zone})"


def _badge(state: str, label: str, colours: Mapping[str, str] = _COLOURS) -> str:
    colour = colours.get(state, "#57606a")
    return f'<span class="badge" style="color: {colour};">{_e(label)}</span>'


def _fix_html(fix: Mapping[str, Any], first: bool = True) -> str:
    verb = {"replace": "Replace with", "remove": "Remove"}.get(str(fix.get("action")), "Publish")
    if not first:
        verb = "And " + verb[0].lower() + verb[1:]
    out = [f'<p><b>{_e(verb)}</b> a {_e(fix.get("type"))} record at <span class="mono">{_e(fix.get("host"))}</span>'
           f' (TTL {_e(fix.get("ttl"))}):</p>']
    form = fix.get("host_form")
    if isinstance(form, Mapping):
        out.append(f'<div class="rec">{_e(form.get("text"))}</div>')
        out.extend(f'<p class="small muted">{_e(n)}</p>' for n in form.get("notes") or [])
        out.append('<p class="small muted">The same record at any DNS host, as a zone-file line:</p>')
    out.append(f'<div class="rec">{_e(fix.get("zone_line"))}</div>')
    if fix.get("note"):
        out.append(f'<p class="small muted">{_e(fix.get("note"))}</p>')
    for extra in fix.get("also_publish") or []:  # records published together with this one
        if isinstance(extra, Mapping):
            out.append(_fix_html(extra, first=False))
    return "\n".join(out)


def _gist(text: Any) -> str:
    return gist(str(text or ""))


def _findings_html(findings: Sequence[Mapping[str, Any]]) -> str:
    """Findings in the order given (a domain check's are problem first); a fix shown under a more severe
    finding is named, not repeated (``solved_by``), and the options of a finding are numbered."""
    if not findings:
        return '<p class="muted">No findings.</p>'
    rows = [f'{_TABLE}<tr><th width="14%">Severity</th><th width="86%">Finding</th></tr>']
    by_code = {str(f.get("code")): f for f in findings}
    for f in findings:
        sev = str(f.get("severity"))
        body = [f'<p>{_e(f.get("message"))}</p>',
                f'<p class="small muted">Code <span class="mono">{_e(f.get("code"))}</span>'
                + (f' · {_e(f.get("rfc"))}' if f.get("rfc") else "") + "</p>"]
        if f.get("detail"):
            body.append(f'<p class="small muted">{_e(f.get("detail"))}</p>')
        solved_by = by_code.get(str(f.get("solved_by"))) if f.get("solved_by") else None
        options = [x for x in [f.get("fix"), *(f.get("alternatives") or [])] if isinstance(x, Mapping)]
        if solved_by is not None:
            body.append(f'<p class="small"><b>Fix:</b> the record shown under “{_e(_gist(solved_by.get("message")))}” '
                        "solves this too.</p>")
        elif len(options) > 1:
            for i, option in enumerate(options, 1):
                body.append(f'<p><b>Option {i} of {len(options)}: {_e(option.get("title") or "another record")}</b></p>')
                body.append(_fix_html(option))
        elif options:
            body.append(_fix_html(options[0]))
        elif f.get("no_fix"):
            body.append(f'<p class="small"><b>No record to publish:</b> {_e(f.get("no_fix"))}</p>')
        also = [by_code[c] for c in f.get("also_solves") or [] if c in by_code and c != f.get("code")]
        if also:
            body.append('<p class="small"><b>This also solves:</b> '
                        + "; ".join(f"“{_e(_gist(x.get('message')))}”" for x in also) + ".</p>")
        rows.append(f"<tr><td>{_badge(sev, _SEVERITY_LABELS.get(sev, sev))}</td><td>{''.join(body)}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _changes_html(ch: Mapping[str, Any]) -> str:
    """The changes published at the DNS host in the report's period (``content["changes"]``)."""
    out = [f'<p>Records changed at the DNS host through InboxReady between {_e(_when(str(ch.get("since"))))} and '
           f'{_e(_when(str(ch.get("until"))))}, from its publish journal.</p>']
    if ch.get("problem"):
        out.append(f'<p><b>The journal could not be read:</b> {_e(ch.get("problem"))} Changes in this period can\'t '
                   'be listed.</p>')
    entries = [e for e in ch.get("entries") or [] if isinstance(e, Mapping)]
    if not entries:
        if not ch.get("problem"):
            out.append('<p class="muted">No change was published through InboxReady in this period.</p>')
        return "\n".join(out)
    out.append(f'{_TABLE}<tr><th width="17%">When</th><th width="21%">Change</th><th width="44%">What</th>'
               '<th width="18%">Result</th></tr>')
    for e in entries:
        steps = []
        for st in e.get("steps") or []:
            if not isinstance(st, Mapping):
                continue
            old = f' <span class="muted">was</span> <span class="mono">{_e(st.get("old"))}</span>' \
                if st.get("old") is not None else ""
            new = f' <span class="mono">{_e(st.get("new"))}</span>' if st.get("new") is not None else ""
            steps.append(f'<div class="small">{_e(st.get("action"))} {_e(st.get("type"))} '
                         f'<span class="mono">{_e(st.get("host"))}</span>:{new}{old} '
                         f'<span class="muted">[{_e(st.get("state"))}]</span></div>')
        what = (f'<p class="small">{_e(e.get("kind"))} at zone <span class="mono">{_e(e.get("zone"))}</span>, '
                f'account {_e(e.get("account"))} ({_e(e.get("provider"))})'
                + (f', undoing {_e(e.get("undoes"))}' if e.get("undoes") else "") + "</p>" + "".join(steps))
        verdicts = ""
        if e.get("before") or e.get("after"):
            verdicts = f'<p class="small muted">Check before: {_e(e.get("before") or "?")}, after: {_e(e.get("after") or "?")}</p>'
        out.append(f'<tr><td>{_e(_when(str(e.get("created"))))}</td><td class="mono">{_e(e.get("id"))}</td>'
                   f'<td>{what}</td><td>{_e(e.get("state_words"))}{verdicts}</td></tr>')
    out.append("</table>")
    return "\n".join(out)


def _verdict_html(v: Mapping[str, Any]) -> str:
    state = str(v.get("state"))
    out = [f'<h2>Verdict: {_e(v.get("title"))} profile</h2>',
           f'<div class="verdict"><p>{_badge(state, STATE_LABELS.get(state, state))} — {_e(v.get("summary"))}</p></div>',
           f'{_TABLE}<tr><th width="20%">Rule</th><th width="18%">Level</th><th width="12%">Result</th>'
           '<th width="50%">Why</th></tr>']
    for r in v.get("rules", []):
        st = str(r.get("state"))
        why = [f'<p>{_e(r.get("why"))}</p>', f'<p class="small muted">{_e(r.get("reason"))}</p>',
               f'<p class="small"><b>Supports:</b> {_e(r.get("control"))}</p>']
        if isinstance(r.get("fix"), Mapping):
            why.append(_fix_html(r["fix"]))
        out.append(f'<tr><td>{_e(r.get("label"))}</td><td>{_e(str(r.get("level")).capitalize())}</td>'
                   f'<td>{_badge(st, STATE_LABELS.get(st, st))}</td><td>{"".join(why)}</td></tr>')
    out.append("</table>")
    return "\n".join(out)


def _value_html(value: Any) -> str:
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1)
        if len(text) > 4000:
            text = text[:4000] + " …"
        return f'<div class="rec">{_e(text)}</div>'
    return _e(value)


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _share(part: Any, whole: Any) -> str:
    p, w = _int(part), _int(whole)
    if p is None:
        return ""
    return f"{p}" + (f" ({100 * p / w:.1f}%)" if w else "")


def _day(v: Any) -> str:
    t = _int(v)
    if t is None:
        return str(v) if v is not None else "?"
    try:
        return datetime.fromtimestamp(t, UTC).strftime("%d %B %Y")
    except (OverflowError, OSError, ValueError):
        return str(t)


_SUMMARY_SHOWN = {"domain", "days", "since", "until", "reports", "messages", "dmarc_pass", "spf_aligned",
                  "dkim_aligned", "spf_pass", "dkim_pass", "services", "unknown_failing", "enforcement",
                  "not_aligned", "sources", "daily", "rates", "policy", "pending_lookups", "failed_lookups", "tls"}


def _generic_html(summary: Mapping[str, Any], skip: set[str]) -> str:
    rows = [f'<tr><td class="k" width="20%">{_e(str(k).replace("_", " ").capitalize())}</td><td>{_value_html(v)}</td></tr>'
            for k, v in summary.items() if k not in skip]
    return '<table class="meta" cellspacing="0" cellpadding="1">' + "".join(rows) + "</table>" if rows else ""


def _reports_html(s: Mapping[str, Any]) -> str:
    """The DMARC-report summary (``ReportSummary.to_json()``): the figures an auditor reads, the services
    seen, unknown senders failing DMARC and the enforcement advice; other keys as they are."""
    msgs = s.get("messages")
    rows = []
    if "since" in s or "until" in s:
        days = f" ({_e(s.get('days'))} days)" if s.get("days") is not None else ""
        rows.append(("Period", f"{_e(_day(s.get('since')))} to {_e(_day(s.get('until')))}{days}"))
    elif s.get("days") is not None:
        rows.append(("Period", f"the last {_e(s.get('days'))} days"))
    for key, label in (("reports", "Reports received"), ("messages", "Messages covered")):
        if key in s:
            rows.append((label, _e(s.get(key))))
    for key, label in (("dmarc_pass", "Passed DMARC"), ("spf_aligned", "SPF aligned"),
                       ("dkim_aligned", "DKIM aligned")):
        if _int(s.get(key)) is not None:
            rows.append((label, _e(_share(s.get(key), msgs))))
    out = ['<table class="meta" cellspacing="0" cellpadding="1">']
    out += [f'<tr><td class="k" width="20%">{k}</td><td>{v}</td></tr>' for k, v in rows]
    out.append("</table>")
    services = [x for x in s.get("services") or [] if isinstance(x, Mapping)]
    if services:
        out.append("<h3>Services sending as this domain</h3>")
        out.append(f'{_TABLE}<tr><th width="46%">Service</th><th width="14%">Sources</th><th width="14%">Messages</th>'
                   '<th width="26%">Passed DMARC</th></tr>')
        for row in services[:20]:
            out.append(f'<tr><td>{_e(row.get("service"))}</td><td>{_e(row.get("sources"))}</td>'
                       f'<td>{_e(row.get("messages"))}</td><td>{_e(_share(row.get("dmarc_pass"), row.get("messages")))}</td></tr>')
        out.append("</table>")
        if len(services) > 20:
            out.append(f'<p class="small muted">and {len(services) - 20} more services.</p>')
    failing = [x for x in s.get("unknown_failing") or [] if isinstance(x, Mapping)]
    if failing:
        out.append("<h3>Unknown senders failing DMARC</h3>")
        out.append(f'{_TABLE}<tr><th width="30%">Address</th><th width="50%">Reverse DNS</th><th width="20%">Messages</th></tr>')
        for row in failing[:15]:
            out.append(f'<tr><td class="mono">{_e(row.get("ip"))}</td><td class="mono">{_e(row.get("ptr") or "")}</td>'
                       f'<td>{_e(row.get("messages"))}</td></tr>')
        out.append("</table>")
        if len(failing) > 15:
            out.append(f'<p class="small muted">and {len(failing) - 15} more.</p>')
    advice = [x for x in s.get("enforcement") or [] if isinstance(x, Mapping) and x.get("message")]
    if advice:
        out.append("<h3>Enforcement</h3>")
        out += [f'<p>{_e(x.get("message"))}</p>' for x in advice]
    extra = {k: v for k, v in s.items() if k not in _SUMMARY_SHOWN}
    if extra:
        out.append(_generic_html(extra, set()))
    return "\n".join(out)


def _split_selector_misses(queries: list[Any], domain: str) -> tuple[list[Any], list[str]]:
    """The query log without the DKIM selectors that had no key (NXDOMAIN or no TXT at
    SELECTOR._domainkey.DOMAIN), and those selectors. Timeouts and failures stay in the log."""
    suffix = f"._domainkey.{domain}".lower().rstrip(".")
    kept: list[Any] = []
    misses: list[str] = []
    for q in queries:
        name = str(q.get("name", "")).lower().rstrip(".") if isinstance(q, Mapping) else ""
        selector = name[: -len(suffix)] if name.endswith(suffix) else ""
        if (selector and "*" not in selector and str(q.get("type")) == "TXT"
                and str(q.get("outcome")) in ("nxdomain", "nodata")):
            misses.append(selector)
        else:
            kept.append(q)
    return kept, misses


def render_html(content: Mapping[str, Any], sha256: str, *, for_print: bool = False) -> str:
    """The report page from its content alone (so ``verify`` can re-render and compare). The content is
    read in its canonical key order, so the page never depends on how a mapping happened to be built."""
    c = json.loads(canonical_bytes(content))
    content = c
    domain = str(c.get("domain", ""))
    shown = str(c.get("domain_display") or domain)
    title = f"{shown} ({domain})" if shown != domain else domain
    resolver = ", ".join(str(x) for x in c.get("resolver") or []) or "the computer's own DNS resolvers"
    status = str(c.get("status"))
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta name="inboxready-sha256" content="{_e(sha256)}">',
        f"<title>Email authentication report: {_e(title)}</title>",
        f"<style>{_CSS}</style></head><body>" + ("<div>" if for_print else '<div class="page">'),
        '<table class="banner" width="100%" cellspacing="0" cellpadding="10"><tr>'
        '<td style="background-color: #0b3d91; color: #ffffff;">'
        f'<span style="font-size: 9pt; color: #dbe6ff;">Email authentication report · {_e(c.get("tool"))}</span><br>'
        f'<span style="font-size: 18pt; font-weight: bold; color: #ffffff;">{_e(title)}</span></td></tr></table>',
        f'<p style="margin-top: 8pt;">Overall result: {_badge(status, str(c.get("status_label")), _STATUS_COLOURS)}</p>',
        '<table class="meta" cellspacing="0" cellpadding="1">',
        f'<tr><td class="k" width="20%">Checked</td><td>{_e(_when(str(c.get("checked_at"))))}</td></tr>',
        f'<tr><td class="k" width="20%">Report made</td><td>{_e(_when(str(c.get("generated"))))}</td></tr>',
        f'<tr><td class="k" width="20%">DNS resolver used</td><td class="mono">{_e(resolver)}</td></tr>',
        f'<tr><td class="k" width="20%">Profile</td><td>{_e((c.get("profile") or {}).get("title"))}</td></tr>',
        *([f'<tr><td class="k" width="20%">DNS host</td><td>{_e(c["dns_host"].get("host_name") or "not one we know")}'
           f' (zone <span class="mono">{_e(c["dns_host"].get("zone"))}</span>)</td></tr>']
          if isinstance(c.get("dns_host"), Mapping) else []),
        f'<tr><td class="k" width="20%">Content SHA-256</td><td class="hash">{_e(sha256)}</td></tr>',
        "</table>",
    ]
    layout = c.get("version") if isinstance(c.get("version"), int) else 1
    checks = c.get("checks") or {}
    order = [n for n in c.get("check_order") or [] if n in checks] + sorted(n for n in checks
                                                                       if n not in (c.get("check_order") or []))
    summary_table = [f'{_TABLE}<tr><th width="12%">Check</th><th width="16%">Result</th><th width="72%">In short</th></tr>']
    for ch in (checks[n] for n in order):
        st = str(ch.get("status"))
        summary_table.append(f'<tr><td>{_e(ch.get("title"))}</td><td>{_badge(st, str(ch.get("status_label")), _STATUS_COLOURS)}'
                             f'</td><td>{_e(ch.get("summary"))}</td></tr>')
    summary_table.append("</table>")
    if layout >= 2:  # the summary on the first page, above the profile's rules
        parts.append("<h2>Summary</h2>")
        parts.extend(summary_table)
    profile = c.get("profile")
    if isinstance(profile, Mapping):
        parts.append(_verdict_html(profile))
        if profile.get("statement"):
            parts.append(f'<div class="statement"><p>{_e(profile.get("statement"))}</p></div>')
    if layout < 2:
        parts.append("<h2>Summary</h2>")
        parts.extend(summary_table)

    for ch in (checks[n] for n in order):
        st = str(ch.get("status"))
        parts.append(f'<h2>{_e(ch.get("title"))}: {_badge(st, str(ch.get("status_label")), _STATUS_COLOURS)}</h2>')
        parts.append(f"<p>{_e(ch.get('summary'))}</p>")
        parts.append("<h3>Records as seen</h3>")
        records = ch.get("records") or []
        if records:
            parts.extend(f'<div class="rec">{_e(rec)}</div>' for rec in records)
        else:
            parts.append('<p class="muted">No record was found.</p>')
        parts.append("<h3>Findings</h3>")
        parts.append(_findings_html(ch.get("findings") or []))

    msg = c.get("message")
    if isinstance(msg, Mapping):
        st = str(msg.get("status"))
        parts.append(f'<h2>Latest test message: {_badge(st, str(msg.get("status_label")), _STATUS_COLOURS)}</h2>')
        parts.append('<table class="meta" cellspacing="0" cellpadding="1">'
                     f'<tr><td class="k" width="20%">Subject</td><td>{_e(msg.get("subject") or "(no subject)")}</td></tr>'
                     f'<tr><td class="k" width="20%">From</td><td>{_e(msg.get("from"))}</td></tr>'
                     f'<tr><td class="k" width="20%">Message-ID</td><td class="mono">{_e(msg.get("message_id"))}</td></tr>'
                     f'<tr><td class="k" width="20%">Judged by</td><td>{_e(msg.get("receiver") or "unknown")}</td></tr></table>')
        if msg.get("findings"):
            parts.append(_findings_html(msg.get("findings") or []))
        mchecks = msg.get("checks") or {}
        for ch in (mchecks[n] for n in msg.get("check_order") or sorted(mchecks) if n in mchecks):
            st = str(ch.get("status"))
            res = f' [{_e(ch.get("result"))}]' if ch.get("result") else ""
            parts.append(f'<h3>{_e(ch.get("title"))}: {_badge(st, str(ch.get("status_label")), _STATUS_COLOURS)}{res}</h3>')
            parts.append(f"<p>{_e(ch.get('summary'))}</p>")
            if ch.get("findings"):
                parts.append(_findings_html(ch.get("findings") or []))

    summary = c.get("reports_summary")
    if isinstance(summary, Mapping):
        parts.append("<h2>DMARC report summary</h2>")
        try:
            parts.append(_reports_html(summary))
        except (TypeError, ValueError, AttributeError, KeyError, ZeroDivisionError, OverflowError):
            parts.append(_generic_html(summary, set()))

    changes = c.get("changes")
    if isinstance(changes, Mapping):
        parts.append("<h2>Changes published at the DNS host</h2>")
        parts.append(_changes_html(changes))

    queries = c.get("queries") or []
    misses: list[str] = []
    if layout >= 2:
        queries, misses = _split_selector_misses(queries, domain)
    if misses:
        parts.append(f"<h2>DNS queries ({len(queries)}, and {len(misses)} DKIM selectors in the appendix)</h2>")
        parts.append('<p class="small muted">Every question asked while checking, with the answer exactly as '
                     "received (control characters are shown as \\xNN); the DKIM selectors where no key was found "
                     "are listed in the appendix.</p>")
    else:
        parts.append(f"<h2>DNS queries ({len(queries)})</h2>")
        parts.append('<p class="small muted">Every question asked while checking, with the answer exactly as received '
                     "(control characters are shown as \\xNN).</p>")
    parts.append('<table class="small" width="100%" cellspacing="0" cellpadding="3"><tr><th width="30%">Name</th>'
                 '<th width="8%">Type</th><th width="12%">Outcome</th><th width="50%">Answer</th></tr>')
    for q in queries:
        answer = q.get("answer") or []
        cell = "".join(f'<div class="mono">{_e(a)}</div>' for a in answer) or _e(q.get("error") or "")
        parts.append(f'<tr><td class="mono">{_e(q.get("name"))}</td><td>{_e(q.get("type"))}</td>'
                     f'<td>{_e(q.get("outcome"))}</td><td>{cell}</td></tr>')
    parts.append("</table>")

    parts.append("<h2>Checking this copy</h2>")
    parts.append(f'<p>SHA-256 of the report content: <span class="hash">{_e(sha256)}</span></p>')
    if layout >= 2:
        parts.append('<p class="small muted">The hash covers the canonical JSON of everything this report shows. '
                     "To check a copy of this report (PDF, HTML or JSON) with InboxReady: "
                     "<span class=\"mono\">inboxready verify FILE --sha256 HASH</span> (the PDF carries the same "
                     "content as an attached JSON file, which the same command checks). Record the hash where the "
                     "report can't change it.</p>")
    else:  # the words of version 1 reports, byte for byte (their copies must re-render the same)
        parts.append('<p class="small muted">The hash covers the canonical JSON of everything this report shows. '
                     "To check a copy of the HTML report: <span class=\"mono\">python -m inboxready.core.audit verify "
                     "FILE --sha256 HASH</span> (the PDF carries the same content as an attached JSON file, which the "
                     "same command checks). Record the hash where the report can't change it.</p>")
    if misses:
        parts.append("<h2>Appendix: DKIM selectors without a key</h2>")
        parts.append(f'<p class="small">InboxReady looked for a DKIM key under {len(misses)} selectors that mail '
                     f"services commonly use; there is none at these (each name is "
                     f'<span class="mono">SELECTOR._domainkey.{_e(domain)}</span>, TXT; the answer was "no such '
                     'name" or "no TXT record"):</p>')
        parts.append(f'<p class="mono">{_e(", ".join(misses))}</p>')
    if not for_print:
        data = canonical_bytes(content).decode("utf-8")
        parts.append(f'<div id="{_DATA_ID}" hidden style="display: none;">{html.escape(data, quote=False)}</div>')
    parts.append("</div></body></html>")
    page = "\n".join(parts) + "\n"
    if for_print:  # Qt lays the PDF out at the writer's 300 dpi, where cell padding counts in dots
        page = page.replace("td, th { padding: 3pt 5pt;", "td, th { padding: 4px 6px;")
        page = page.replace(".banner td { border: none; padding: 8pt 10pt; }",
                            ".banner td { border: none; padding: 10px 14px; }")
        page = page.replace(".meta td { border: none; padding: 1pt 6pt 1pt 0; }",
                            ".meta td { border: none; padding: 1px 8px 1px 0; }")
    return page


# -- verifying ------------------------------------------------------------------------------------

_DATA_RE = re.compile(r'<div id="' + _DATA_ID + r'" hidden style="display: none;">(.*?)</div>', re.DOTALL)
_META_RE = re.compile(r'<meta name="inboxready-sha256" content="([0-9a-f]{64})">')


# Limits for reading a PDF (a file from anywhere): how much one stream may unpack to (our attachment is a
# few hundred KB), how much all of them may, how many streams are looked at, and how far back a stream's
# dictionary is looked for. A crafted 2 MB PDF once unpacked to 4.2 GB.
MAX_STREAM_UNPACKED = 16 * 1024 * 1024
MAX_TOTAL_UNPACKED = 64 * 1024 * 1024
MAX_STREAMS = 5000
_DICT_LOOKBACK = 4096


class PdfRefused(ValueError):
    """A PDF that would take unbounded work to read; the message says why in plain words."""


def _inflate(raw: bytes, limit: int) -> bytes | None:
    """``raw`` unpacked (zlib), or None when it would be larger than ``limit`` bytes or isn't zlib."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(raw, limit)
    except zlib.error:
        return b""
    if d.unconsumed_tail:
        return None
    return out


def _pdf_attachment(data: bytes) -> bytes | None:
    """The JSON document attached to one of our PDFs: the first stream (inflated when compressed) that
    is an InboxReady report document. Page streams hold glyph codes, never this JSON. Bounded in work
    and memory: raises ``PdfRefused`` past the limits above."""
    pos = 0
    marker = b'"format": "' + FORMAT.encode() + b'"'
    compact = b'"format":"' + FORMAT.encode() + b'"'
    streams = 0
    unpacked = 0
    while True:
        start = data.find(b"stream", pos)
        if start < 0:
            return None
        pos = start + 6
        if data[start - 3:start] == b"end":
            continue
        streams += 1
        if streams > MAX_STREAMS:
            raise PdfRefused(f"This PDF has more than {MAX_STREAMS:,} parts; InboxReady's reports have far fewer, so "
                             "it was not read further.")
        at = data.rfind(b"obj", max(0, start - _DICT_LOOKBACK), start)
        header = data[at:start] if at >= 0 else b""
        body = start + 6
        if data[body:body + 2] == b"\r\n":
            body += 2
        elif data[body:body + 1] in (b"\n", b"\r"):
            body += 1
        end = data.find(b"endstream", body)
        if end < 0:
            return None
        raw = data[body:end]
        if b"FlateDecode" in header:
            room = min(MAX_STREAM_UNPACKED, MAX_TOTAL_UNPACKED - unpacked)
            inflated = _inflate(raw, room + 1)
            if inflated is None or len(inflated) > room:
                if room < MAX_STREAM_UNPACKED:
                    raise PdfRefused(f"This PDF's compressed parts unpack to more than "
                                     f"{MAX_TOTAL_UNPACKED // (1024 * 1024)} MB; InboxReady's reports never do, so "
                                     "it was not unpacked further.")
                raise PdfRefused(f"A compressed part of this PDF unpacks to more than "
                                 f"{MAX_STREAM_UNPACKED // (1024 * 1024)} MB; InboxReady's reports never have one "
                                 "that large, so it was not unpacked.")
            unpacked += len(inflated)
            raw = inflated
        if raw.lstrip()[:1] == b"{" and (marker in raw or compact in raw):
            return raw.strip()
        pos = end


def pdf_was_updated(data: bytes) -> bool:
    """True when something was appended to a PDF after it was written: an incremental update (a second
    ``startxref``/``%%EOF``), as PDF editors save a change. Qt writes a PDF in one piece."""
    return data.count(b"startxref") > 1 or data.rstrip().count(b"%%EOF") > 1


def _check_content(copy: str | bytes) -> tuple[bool, str, str | None, str]:
    """The content check: (consistent?, why, the content's SHA-256 when it could be read, kind), kind
    being "pdf", "html", "json" or "unknown"."""
    kind = "unknown"
    if isinstance(copy, bytes):
        if copy.startswith(b"%PDF"):
            kind = "pdf"
            try:
                attached = _pdf_attachment(copy)
            except PdfRefused as exc:
                return False, str(exc), None, kind
            if attached is None:
                return False, "This PDF has no InboxReady report attached, so it can't be checked.", None, kind
            copy = attached
        try:
            text = copy.decode("utf-8")
        except UnicodeDecodeError:
            return False, "This file is not an InboxReady report (not UTF-8 text).", None, kind
    else:
        text = copy
    stripped = text.lstrip("\ufeff \t\r\n")
    try:
        if stripped.startswith("{"):
            kind = "json" if kind == "unknown" else kind
            doc = json.loads(stripped)
            if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("report"), dict):
                return False, "This JSON is not an InboxReady report.", None, kind
            content, printed = doc["report"], str(doc.get("sha256", ""))
            actual = content_hash(content)
            if actual != printed:
                return False, "The content does not match its SHA-256: the report was changed.", actual, kind
        else:
            text = text.replace("\r\n", "\n")
            m, meta = _DATA_RE.search(text), _META_RE.search(text)
            if m is None or meta is None:
                return False, "This is not an InboxReady HTML report (its content block is missing).", None, kind
            kind = "html"
            content = json.loads(html.unescape(m.group(1)))
            if not isinstance(content, dict) or content.get("format") != FORMAT:
                return False, "This is not an InboxReady HTML report.", None, kind
            printed, actual = meta.group(1), content_hash(content)
            if actual != printed:
                return False, "The content does not match the printed SHA-256: the report was changed.", actual, kind
            if render_html(content, actual) != text:
                return False, "The page differs from its content: the visible report was changed.", actual, kind
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError):
        return False, "This report is damaged: its content can't be read.", None, kind
    return True, f"The report's content matches its SHA-256 ({actual}).", actual, kind


def explain(copy: str | bytes, expected_sha256: str | None = None) -> tuple[bool, str]:
    """Check a copy's *content* (HTML, JSON document or PDF): the embedded data against the SHA-256
    printed in it, and for HTML the page against that data. Returns (consistent?, why) in plain words.

    This shows the data was not edited on its own; it can't show that a file is the one exported (anyone
    can edit a PDF's pages and keep the data, or make a new report with a new hash): ``check_file`` does
    that, from the whole file's SHA-256."""
    ok, why, actual, _kind = _check_content(copy)
    if not ok:
        return False, why
    if expected_sha256 is not None and expected_sha256.strip().lower() != actual:
        return False, f"The report's content has the SHA-256 {actual}, not the one you recorded."
    return True, f"The report is intact (SHA-256 {actual})."


def verify(copy: str | bytes, expected_sha256: str | None = None) -> bool:
    """True when the copy's content (HTML, JSON document or PDF bytes) is consistent; see ``explain``."""
    return explain(copy, expected_sha256)[0]


# -- the whole file -------------------------------------------------------------------------------

WHAT_THE_HASH_PROVES = (
    "The SHA-256 printed inside a report covers its data only: it shows the data was not edited on its own, "
    "but anyone can edit the pages, or make a new report with a new hash. Only the SHA-256 of the whole file, "
    "recorded when it was exported (in this computer's history, or by you), shows that a file is the one "
    "exported.")


@dataclass
class FileCheck:
    """What ``check_file`` found. ``state``: "intact" (byte for byte the file exported), "changed" (not
    that file, or damaged, or not a report), or "unconfirmed" (nothing recorded to compare with)."""

    state: str
    message: str
    file_sha256: str
    content_sha256: str | None = None
    kind: str = "unknown"
    export: dict[str, Any] | None = None

    @property
    def intact(self) -> bool:
        return self.state == "intact"

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "intact": self.intact, "message": self.message, "file_sha256": self.file_sha256,
                "content_sha256": self.content_sha256, "kind": self.kind, "export": self.export}


_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _exports(history: Any, **where: str) -> list[Any]:
    if history is None:
        return []
    try:
        return list(history.exports(**where))
    except Exception:  # noqa: BLE001 - a history that can't be read confirms nothing
        return []


def _when_words(iso: str) -> str:
    return _when(iso).replace(" (UTC+00:00)", " UTC").replace(" (UTC)", " UTC")


def check_file(data: bytes, expected_sha256: str | None = None, *, history: Any = None) -> FileCheck:
    """Is ``data`` byte for byte an exported report? It is when the SHA-256 of the whole file is one
    recorded at export (``history.exports(file_sha256=...)``, see ``core.history``) or the one given.
    For HTML and JSON, whose bytes follow from their content alone, a recorded *content* SHA-256 is
    enough too; for a PDF it is not (its pages can be edited while the attached data stays)."""
    file_hash = hashlib.sha256(data).hexdigest()
    expected = expected_sha256.strip().lower() if expected_sha256 is not None else None
    if expected is not None and not _HEX64.match(expected):
        return FileCheck("unconfirmed", f"'{(expected_sha256 or '').strip()[:80]}' is not a SHA-256 (64 hexadecimal "
                         "characters), so there is nothing to compare with.", file_hash)
    ok, why, content, kind = _check_content(data)
    recorded = _exports(history, file_sha256=file_hash)
    if expected == file_hash or recorded:
        export = recorded[0].to_json() if recorded else None
        where = (f"the report exported for {export['domain']} on {_when_words(export['created'])}"
                 if export else "the file you recorded")
        return FileCheck("intact", f"The file is intact: byte for byte {where} (SHA-256 {file_hash}).",
                         file_hash, content, kind, export)
    if not ok:
        return FileCheck("changed", why, file_hash, content, kind)
    if kind == "pdf" and pdf_was_updated(data):
        return FileCheck("changed", "This PDF was edited after InboxReady wrote it: an update was appended to it (the "
                         "way PDF editors save a change), so it is not the file that was exported, whatever its "
                         "pages show. " + WHAT_THE_HASH_PROVES, file_hash, content, kind)
    same_content = [e for e in _exports(history, content_sha256=content or "") if e.file_sha256 != file_hash]
    if kind in ("html", "json") and (same_content or expected == content):
        # an HTML or JSON report is its content: a page that is exactly what a recorded content renders to
        # is that report (saved with other line endings, perhaps)
        export = same_content[0].to_json() if same_content else None
        where = (f"the report exported for {export['domain']} on {_when_words(export['created'])}" if export
                 else "the report you recorded")
        return FileCheck("intact", f"The report is intact: its content is exactly that of {where} (content "
                         f"SHA-256 {content}), and the {'page is exactly what that content shows' if kind == 'html' else 'file holds nothing else'}.",
                         file_hash, content, kind, export)
    if same_content:
        e = same_content[0]
        return FileCheck("changed", f"This is not the file InboxReady exported: the report for {e.domain} exported on "
                         f"{_when_words(e.created)} has the file SHA-256 {e.file_sha256}, and this file's is "
                         f"{file_hash}. It was changed or re-saved after export, even though the data inside still "
                         "matches. " + WHAT_THE_HASH_PROVES, file_hash, content, kind, e.to_json())
    if expected is not None and expected == content:
        return FileCheck("unconfirmed", f"Not confirmed: the hash you gave is the content SHA-256 printed inside the "
                         f"report. The data attached to this PDF matches it, but a PDF's pages can be edited while "
                         f"that data stays, so this doesn't show the file is the one exported. This file's SHA-256 "
                         f"is {file_hash}: compare it with the file SHA-256 printed when the report was exported. "
                         + WHAT_THE_HASH_PROVES, file_hash, content, kind)
    if expected is not None:
        return FileCheck("changed", f"This is not the report you recorded: the file's SHA-256 is {file_hash} (its "
                         f"content's: {content}), and neither is {expected}.", file_hash, content, kind)
    return FileCheck("unconfirmed", f"Not confirmed: this file is not in this computer's record of exported reports "
                     f"and no SHA-256 was given, so we can't say it is unchanged. Its data matches the hash printed "
                     f"in it ({content}). The file's SHA-256 is {file_hash}: compare it with the one recorded when "
                     "it was exported (inboxready verify FILE --sha256 HASH). " + WHAT_THE_HASH_PROVES,
                     file_hash, content, kind)


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of the whole file at ``path`` (raises ``OSError``)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def record_export(path: str | Path, domain: str, content_sha256: str, *, history: Any = None) -> tuple[str, str]:
    """After an export: the SHA-256 of the exact file written, kept in the local history with the time
    and the domain (``check_file`` looks it up). Returns (file SHA-256, problem): the problem in plain
    words when it could not be recorded (the export itself stands). Raises ``OSError`` when the file
    can't be read back."""
    digest = file_sha256(path)
    fmt = Path(path).suffix.lower().lstrip(".") or "file"
    fmt = "html" if fmt == "htm" else fmt
    size = Path(path).stat().st_size
    own = history is None
    if own:
        from ..store.history import History

        history = History()
    try:
        if not history.available:
            return digest, history.problem or "the check history is not available"
        if history.add_export(domain, str(Path(path).resolve()), fmt, digest, content_sha256, size) is None:
            return digest, history.problem or "the check history could not be written"
        return digest, ""
    finally:
        if own:
            history.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inboxready.core.policy.audit",
                                     description="Check that a saved InboxReady audit report is unchanged.")
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="check a report file (.html, .json or .pdf)")
    v.add_argument("file")
    v.add_argument("--sha256", help="also compare with this hash (recorded when the report was made)")
    args = parser.parse_args(argv)
    try:
        with open(args.file, "rb") as fh:
            data = fh.read(100 * 1024 * 1024)
    except OSError as exc:
        print(f"can't read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    from ..store.history import History

    with History() as history:
        result = check_file(data, args.sha256, history=history)
    print(result.message)
    return 0 if result.intact else 1


__all__ = [
    "ATTACHMENT_NAME",
    "FORMAT",
    "WHAT_THE_HASH_PROVES",
    "AuditReport",
    "FileCheck",
    "PdfRefused",
    "check_file",
    "file_sha256",
    "pdf_was_updated",
    "record_export",
    "canonical_bytes",
    "content_hash",
    "explain",
    "main",
    "render_html",
    "verify",
]


if __name__ == "__main__":
    sys.exit(main())
