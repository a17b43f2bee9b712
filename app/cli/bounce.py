"""``inboxready bounce``: read a bounce, say why it bounced, and check the part that failed.

    inboxready bounce FILE|- [--json] [--nameserver IP[:PORT]] [--skip CHECKS] [--timeout S] [--domain DOMAIN]

FILE is a bounce message (.eml, as saved from the mail program) or just the pasted error text; ``-`` reads
standard input. Exit codes as elsewhere: 0 nothing to fix, 1 something to fix, 2 couldn't read the bounce
or couldn't check.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any, TextIO

from .out import safe_stream, shown, write_json

EXIT_OK, EXIT_FINDINGS, EXIT_UNCHECKED = 0, 1, 2
MAX_BOUNCE_FILE = 25 * 1024 * 1024  # read at most this much (the core reads the first 10 MB)
BOUNCE_CHECKS = ("spf", "dkim", "dmarc", "rdns", "mx")


def _skip_list(text: str) -> tuple[str, ...]:
    """Check names as ``check --skip`` takes them (any of them; a bounce leads only to BOUNCE_CHECKS)."""
    from inboxready.core.context import ALL_CHECKS

    names = tuple(n.strip().lower().replace("-", "_") for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in ALL_CHECKS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown check {shown(', '.join(unknown))[:60] or repr(shown(text)[:40])}; "
                                         "the checks a bounce can lead to are: " + ", ".join(BOUNCE_CHECKS))
    return names


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]", common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("bounce", parents=[common], help="explain a bounce and check the part that failed",
                       description="Read a bounce (a delivery failure message, or just the pasted error text), say "
                                   "why it bounced in plain words, and check from this network exactly the part of "
                                   "your domain it points at (SPF, DKIM, DMARC, reverse DNS), with the records that "
                                   "fix it. Mailbox and content bounces are explained; no DNS record fixes those.",
                       epilog="Exit codes: 0 nothing to fix, 1 something to fix, 2 couldn't read the bounce or "
                              "couldn't check.")
    p.add_argument("file", metavar="FILE", help="the bounce (.eml or text); - reads standard input")
    p.add_argument("--skip", type=_skip_list, default=(), metavar="CHECKS",
                   help="leave these checks out, e.g. rdns (names: " + ", ".join(BOUNCE_CHECKS) + ")")
    p.add_argument("--domain", metavar="DOMAIN",
                   help="your sending domain, when the bounce doesn't show it (pasted error text)")
    p.set_defaults(handler=cmd_bounce)


def _read(path: str, err: TextIO) -> bytes | None:
    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_BOUNCE_FILE + 1)
        else:
            with open(path, "rb") as fh:
                data = fh.read(MAX_BOUNCE_FILE + 1)
    except OSError as exc:
        err.write(f"inboxready: can't read {shown(path)}: {exc.strerror or exc}\n")
        return None
    if len(data) > MAX_BOUNCE_FILE:
        err.write(f"inboxready: {shown(path)} is larger than {MAX_BOUNCE_FILE // (1024 * 1024)} MB; save the bounce "
                  "without its attachments, or paste the error text\n")
        return None
    return data


def cmd_bounce(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.bounce import analyze_bounce
    from inboxready.core.context import CheckOptions
    from inboxready.core.domain import DomainError, parse_domain

    if args.domain:
        try:
            parse_domain(args.domain)
        except (DomainError, ValueError) as exc:
            err.write(f"inboxready: --domain {shown(args.domain)[:80]}: {exc}\n")
            return EXIT_UNCHECKED
    raw = _read(args.file, err)
    if raw is None:
        return EXIT_UNCHECKED
    options = CheckOptions(nameservers=args.nameserver, timeout=args.timeout, deadline=60.0)
    report = asyncio.run(analyze_bounce(raw, options=options, domain=args.domain, skip=tuple(args.skip)))
    if args.json:
        write_json(report.to_json(), out)
    else:
        from .text import _Style, _use_colour

        render_bounce(report, out, _Style(_use_colour(out, args.color)))
    return report.exit_code


# -- text output -------------------------------------------------------------------------------------------

_CATEGORY_WORDS = {"authentication": "authentication", "reverse-dns": "reverse DNS of the sending server",
                   "tls": "encryption (TLS)", "reputation": "reputation or sending rate", "content": "the message's content",
                   "mailbox": "the recipient's address or mailbox", "policy": "the receiver's policy", "other": "other"}
_PART_WORDS = {"spf": "SPF", "dkim": "DKIM", "dmarc": "DMARC", "alignment": "alignment with the From domain",
               "spf-or-dkim": "SPF and DKIM", "all": "SPF, DKIM and DMARC", "arc": "ARC"}


def render_bounce(report: Any, out: TextIO, style: Any) -> None:
    from inboxready.core.checks.registry import CHECK_TITLES
    from inboxready.core.model import Status

    from .text import _STATUS_LOOK, _elide, _findings, _wrap, render_findings

    out = safe_stream(out)
    overall = report.status_overall if report.bounced else None
    if not report.readable:
        sym, code = _STATUS_LOOK[Status.ERROR]
    elif not report.bounced:
        sym, code = _STATUS_LOOK[Status.PASS]
    else:
        sym, code = ("✗", "31") if report.permanent else ("!", "33")
    out.write(style(f"{sym} {shown(report.headline)}", f"1;{code}") + "\n")
    c = report.classification
    if report.bounced:
        what = _CATEGORY_WORDS.get(c.category, c.category)
        if c.part:
            what += f" ({_PART_WORDS.get(c.part, c.part)})"
        out.write(f"  About: {what}" + ("" if c.known else " (a code we don't know)") + "\n")
    if report.diagnostic:
        out.write("\n".join(_wrap(f"The receiver said: “{shown(report.diagnostic)}”", "  ")) + "\n")
    facts = report.bounce.facts
    if report.bounced:
        if report.from_domain:
            how = report.from_domain_how
            out.write(f"  Sent as: {shown(report.from_domain)}" + (f" ({how})" if how else "") + "\n")
        if report.sending_ip:
            out.write(f"  Sending server: {shown(report.sending_ip)} (from {facts.sending_ip_source})\n")
        if report.embedded_results:
            out.write("  The receiver's results: " + ", ".join(f"{shown(k)}={shown(v)}"
                                                            for k, v in report.embedded_results.items()) + "\n")
        if facts.signatures:
            out.write("  Signed (DKIM) as: " + ", ".join(f"d={shown(s.d)} s={shown(s.s)}" for s in facts.signatures)
                      + "\n")
        if c.rule is not None:
            conf = "" if c.rule.confidence == "confirmed" else f", {c.rule.confidence}"
            out.write(style(f"  Rule {c.rule.id} ({c.rule.source}, checked {c.rule.checked}{conf})", "2") + "\n")
    out.write("\n".join(_wrap(report.explanation, "  ")) + "\n")
    _findings([f for f in report.findings if f.code != "bounce.no-domain"], out, style)  # in the explanation
    if report.checks:
        title = ("Worth ruling out (checked from this network)" if report.context
                 else "Checked from this network")
        out.write("\n" + style(f"  {title}: {shown(report.domain)}", "1") + "\n")
        width = max([6, *(len(CHECK_TITLES.get(n, n)) for n in report.checks)])
        for name, result in report.checks.items():
            rsym, rcode = _STATUS_LOOK[result.status]
            label = CHECK_TITLES.get(name, name.upper())
            out.write(f"  {style(f'{rsym} {label:<{width}}', rcode)} {style(f'{result.status.label:<15}', rcode)}"
                      f"{shown(result.summary)}\n")
            for rec in result.records:
                out.write(style(f"      record: {_elide(rec)}", "2") + "\n")
            # most severe first, each record once under the most severe finding it solves (as ``check`` shows it)
            render_findings(result.presented(), out, style)
    if overall is not None and report.checks:
        word = {Status.PASS: "Nothing to fix in your DNS for this bounce.",
                Status.WARN: "Something to fix (above).", Status.FAIL: "Something to fix (above).",
                Status.ERROR: "Some of it couldn't be checked from here (above)."}.get(overall, "")
        if word:
            out.write("\n  " + word + "\n")
    out.write("\n")
