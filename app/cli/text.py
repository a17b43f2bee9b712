"""The text output several commands share: colours (``_Style``), status marks, wrapping, and how a domain
report, its findings and fixes, a DNS server that did not answer, and a received message read on a
terminal. Every piece of outside text goes through ``out.shown``/``safe_stream`` (see ``out.py``)."""

from __future__ import annotations

import os
import re
from typing import Any, Sequence, TextIO

from inboxready.core.checks.registry import CHECK_TITLES
from inboxready.core.domain import to_unicode
from inboxready.core.model import DomainReport, Fix, Severity, ShownFinding, Status, by_severity, gist
from inboxready.core.policy.bulk import bulk_sender_readiness, readiness_headline

from .out import ESC, safe_stream, shown, wrap_lines

EXIT_OK, EXIT_FINDINGS, EXIT_UNCHECKED = 0, 1, 2


class _Style:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, code: str) -> str:
        # ESC is a token only this run knows; the output stream turns it into the escape character and
        # shows any other escape character (from a record, a subject...) as text (app/cli/out.py)
        return f"{ESC}[{code}m{text}{ESC}[0m" if self.enabled else text


_STATUS_LOOK = {
    Status.PASS: ("✓", "32"),
    Status.INFO: ("i", "36"),
    Status.WARN: ("!", "33"),
    Status.FAIL: ("✗", "31"),
    Status.ERROR: ("?", "35"),
}


_SEV_LOOK = {
    Severity.ERROR: ("✗", "31"),
    Severity.WARNING: ("!", "33"),
    Severity.UNKNOWN: ("?", "35"),
    Severity.INFO: ("i", "36"),
}


def _use_colour(stream: TextIO, choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def _status_column(word: str) -> str:
    """A status word padded to the column (as wide as the longest status word), then two spaces."""
    width = max(len(s.label) for s in Status)
    return f"{word:<{width}}  "


def _wrap(text: str, indent: str, width: int = 100) -> list[str]:
    return wrap_lines(text, indent, width)


def host_form_lines(form: Any, indent: str) -> list[str]:
    """A fix as the DNS host's form wants it: what to do and the short fields wrapped, then the value on a
    line of its own, whole (a record must never be cut where a terminal wraps it)."""
    fields = list(getattr(form, "fields", ()))
    i = getattr(form, "value_index", -1)
    if not fields or not 0 <= i < len(fields) or not fields[i][1]:
        return _wrap(str(getattr(form, "text", form)), indent)
    label, value = fields[i]
    rest = ", ".join(f"{k} {('`' + v + '`') if v else '(leave it empty)'}" for j, (k, v) in enumerate(fields) if j != i)
    lines = _wrap(f"{form.lead}: {rest}, and {label}:", indent)
    return lines + [f"{indent}  {shown(value)}"]


_BLOB = re.compile(r"[A-Za-z0-9+/]{60,}={0,2}")


def _elide(text: str) -> str:
    """Records with a long base64 key (DKIM) shown with the key shortened; everything else (SPF, DMARC)
    whole, because people read and compare those. --json always has them whole."""
    def short(m: re.Match[str]) -> str:
        k = m.group(0)
        return f"{k[:24]}…{k[-12:]} ({len(k)} characters)"
    return _BLOB.sub(short, shown(text))  # control characters (tabs, line breaks, ESC...) shown escaped


def render_trouble(trouble: Any, out: TextIO, style: _Style, indent: str = "  ") -> None:
    """The one message for a DNS server (or a domain's servers) that did not answer."""
    out = safe_stream(out)
    lines = _wrap(shown(trouble.text), indent + "  ")
    lines[0] = indent + style("?", "35") + " " + lines[0][len(indent) + 2:]
    out.write("\n".join(lines) + "\n")
    if trouble.kind == "resolver":
        out.write(style(f"{indent}  Ask another DNS server with --nameserver IP[:PORT].", "1") + "\n")


def render_report(report: DomainReport, out: TextIO, style: _Style, *, quiet: bool = False,
                  host_form: Any = None, trouble_said: bool = False) -> None:
    """One domain's report as text. ``trouble_said``: the DNS server's trouble was printed once above."""
    out = safe_stream(out)
    sym, code = _STATUS_LOOK[report.status]
    display = shown(to_unicode(report.domain))
    title = f"{display} ({shown(report.domain)})" if display != report.domain else display
    out.write(style(f"{sym} {title}", f"1;{code}") + style(f"  ({report.status.label})", code) + "\n")
    trouble = report.dns_trouble
    resolver_down = trouble is not None and trouble.kind == "resolver"
    if resolver_down:  # one message, not a "couldn't check" per check
        if trouble_said:
            out.write(style("  Not checked: your DNS server did not answer (see above).", "35") + "\n")
        else:
            render_trouble(trouble, out, style)
    else:
        if all(n in report.checks for n in ("spf", "dkim", "dmarc")):
            out.write("  " + readiness_headline(bulk_sender_readiness(report.checks), report.checks) + "\n")
        else:  # --only / --skip left out what the rules are judged on
            out.write("  The bulk-sender rules are not judged in this run (they need the SPF, DKIM and DMARC "
                      "checks).\n")
        if trouble is not None:
            render_trouble(trouble, out, style)
        unchecked = report.unchecked
        if unchecked and len(unchecked) > len(report.unchecked_optional):
            names = ", ".join(CHECK_TITLES.get(n, n) for n in unchecked)
            out.write(style(f"  Couldn't check: {names} (their parts below say why).", "2") + "\n")
        elif unchecked:
            names = ", ".join(CHECK_TITLES.get(n, n) for n in unchecked)
            out.write(style(f"  Couldn't check from here: {names} (their parts below say why).", "2") + "\n")
    width = max([6, *(len(CHECK_TITLES.get(n, n)) for n in report.checks)])
    for name, result in report.checks.items():
        if resolver_down and result.status is Status.ERROR:
            continue
        sym, code = _STATUS_LOOK[result.status]
        label = CHECK_TITLES.get(name, name.upper())
        out.write(f"  {style(f'{sym} {label:<{width}}', code)} {style(_status_column(result.status.label), code)}"
                  f"{shown(result.summary)}\n")
        if quiet:
            continue
        for rec in result.records:
            out.write(style(f"      record: {_elide(rec)}", "2") + "\n")
        render_findings(result.presented(), out, style, host_form=host_form)
        if name == "mta_sts":
            render_policy_file(result, out, style)
    out.write("\n")


def render_policy_file(result: Any, out: TextIO, style: _Style, indent: str = "      ") -> None:
    """The MTA-STS policy file the check suggests (``detail["policy_fix"]``: a file on the web server, not a DNS
    record, so no ``Fix``), each line whole, then the ``_mta-sts`` record with a new id to publish once the file
    is reachable (senders that remember the old policy fetch the new file only when the id changes)."""
    pf = (result.detail or {}).get("policy_fix") if isinstance(result.detail, dict) else None
    if not isinstance(pf, dict) or not pf.get("text"):
        return
    out = safe_stream(out)
    url = str(pf.get("url", ""))
    kind = str(pf.get("content_type") or "text/plain")
    out.write(style(f"{indent}Policy file to host at {shown(url)}", "1") + "\n")
    out.write("\n".join(_wrap(f"(served as {kind}, over HTTPS with a valid certificate for its name, no "
                               "redirect):", indent + "  ")) + "\n")
    for line in str(pf["text"]).splitlines():
        out.write(f"{indent}  {shown(line)}\n")
    record, host = pf.get("record"), pf.get("record_host")
    if record and host:
        verb = "Replace with" if getattr(result, "records", None) else "Publish"
        out.write(style(f"{indent}Then, once the file is reachable: {verb}: TXT record at {shown(str(host))}",
                        "1") + "\n")
        out.write(f"{indent}  {shown(str(record))}\n")
        out.write("\n".join(_wrap("A new id tells sending servers to fetch the new file; without it, those that "
                                   "remember your old policy keep using it.", indent + "  ")) + "\n")


def render_fix(fix: Fix, out: TextIO, style: _Style, indent: str = "      ", host_form: Any = None) -> None:
    """A fix: what to do, where, the value (copy it as is), how the user's DNS host's form wants it (when
    ``host_form`` gives it), its note, and the records published with it."""
    for i, rec in enumerate(fix.records):
        verb = {"replace": "Replace with", "remove": "Remove"}.get(rec.action, "Publish")
        if i:
            verb = "and " + verb[0].lower() + verb[1:]
        out.write(style(f"{indent}{verb}: {shown(rec.type)} record at {shown(rec.host)}", "1") + "\n")
        out.write(f"{indent}  {shown(rec.value)}\n")
        form = host_form(rec) if host_form is not None else None
        if form:
            out.write("\n".join(host_form_lines(form, indent + "  ")) + "\n")
        if rec.note:
            out.write("\n".join(_wrap(rec.note, indent + "  ")) + "\n")


def render_findings(presented: Sequence[ShownFinding], out: TextIO, style: _Style, host_form: Any = None) -> None:
    """Findings most severe first; each fix once, under the most severe finding it solves, with the others it
    solves named (``model.present``)."""
    out = safe_stream(out)
    for sf in presented:
        f = sf.finding
        fsym, fcode = _SEV_LOOK[f.severity]
        lines = _wrap(f.message, "      ")
        lines[0] = "    " + style(fsym, fcode) + " " + lines[0][6:]
        out.write("\n".join(lines) + "\n")
        if f.rfc:
            out.write(style(f"      ({f.rfc})", "2") + "\n")
        if sf.solved_by is not None:
            out.write(style(f"      Fix: the record shown under “{gist(sf.solved_by.message)}” solves this too.", "1")
                      + "\n")
        for i, fix in enumerate(sf.fixes):
            if len(sf.fixes) > 1:
                out.write(style(f"      Option {i + 1} of {len(sf.fixes)}: {fix.title or 'another record'}", "1;4")
                          + "\n")
            render_fix(fix, out, style, "      " if len(sf.fixes) == 1 else "        ", host_form)
        if sf.also_solves:
            out.write("\n".join(_wrap("This also solves: " + "; ".join(f"“{gist(x.message)}”" for x in sf.also_solves)
                                       + ".", "      ")) + "\n")
        if not f.options and f.no_fix:
            out.write("\n".join(_wrap("No record to publish: " + f.no_fix, "      ")) + "\n")


def _findings(findings: Sequence[Any], out: TextIO, style: _Style) -> None:
    out = safe_stream(out)
    for f in by_severity(findings):
        fsym, fcode = _SEV_LOOK[f.severity]
        lines = _wrap(f.message, "      ")
        lines[0] = "    " + style(fsym, fcode) + " " + lines[0][6:]
        out.write("\n".join(lines) + "\n")
        if f.fix is not None:
            verb = {"replace": "Replace with", "remove": "Remove"}.get(f.fix.action, "Publish")
            out.write(style(f"      {verb}: {shown(f.fix.type)} record at {shown(f.fix.host)}", "1") + "\n")
            out.write(f"        {shown(f.fix.value)}\n")


def render_message(report: Any, out: TextIO, style: _Style) -> None:
    """A MessageReport as text: who judged it, then one line per protocol with its findings. Everything
    from the message (subject, From, the receiver's id, SpamAssassin's rules) is shown escaped."""
    out = safe_stream(out)
    sym, code = _STATUS_LOOK[report.status]
    who = report.receiver if report.receiver else "the receiving service" if report.receiver == "" else None
    out.write(style(f"{sym} {shown(report.subject) or '(no subject)'}", f"1;{code}") + "\n")
    out.write(f"  From: {shown(report.from_) or '(none)'}\n")
    out.write(f"  Judged by: {shown(who) or 'nobody we can trust (no Authentication-Results from the receiver)'}\n")
    headline = _wrap(f"{report.status.label}: {shown(report.headline)}", "  ")
    out.write(style("\n".join(headline), code) + "\n")
    _findings(report.findings, out, style)
    width = max([8, *(len(CHECK_TITLES.get(n, n)) for n in report.checks)])
    for name, result in report.checks.items():
        sym, code = _STATUS_LOOK[result.status]
        label = CHECK_TITLES.get(name, name.upper())
        wrote = result.detail.get("result")
        out.write(f"  {style(f'{sym} {label:<{width}}', code)} {style(_status_column(result.status.label), code)}"
                  f"{shown(result.summary)}" + (style(f"  [{shown(wrote)}]", "2") if wrote else "") + "\n")
        _findings(result.findings, out, style)
        sa = result.detail.get("spamassassin") if name == "content" else None
        if isinstance(sa, dict) and sa.get("rules"):
            out.write(style(f"      SpamAssassin rules that fired (score {shown(sa.get('score'))}, spam from "
                            f"{shown(sa.get('required'))}):", "1") + "\n")
            for rule in sa["rules"]:
                if isinstance(rule, dict):
                    name, why = shown(rule.get("name")), shown(rule.get("description"))
                    out.write(f"        {name} ({rule.get('score'):+g}): {why}\n"
                              if isinstance(rule.get("score"), (int, float)) else f"        {name}: {why}\n")


def _message_exit(report: Any) -> int:
    """From the message's verdict (DMARC first, see core.mail.message): a side check that couldn't run
    (reverse DNS, our own DKIM re-check) doesn't make a passing message "couldn't check"."""
    if not report.checks or report.status is Status.ERROR:
        return EXIT_UNCHECKED
    return EXIT_FINDINGS if report.status in (Status.FAIL, Status.WARN) else EXIT_OK
