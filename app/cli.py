"""The ``inboxready`` command line: a thin front end over the same core calls as the app.

    inboxready check DOMAIN... [--json] [--nameserver IP[:PORT]]... [--timeout S] [--dkim-selector NAME]...
    inboxready spf DOMAIN --ip IP [--sender ADDR] [--helo NAME] [--json]
    inboxready headers FILE|- [--receiver AUTHSERV-ID]... [--offline] [--json]

Exit codes: 0 everything passed; 1 something to fix was found (a failure or a warning);
2 something could not be checked (and nothing to fix was found), or the command was used wrongly.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import re
import sys
from typing import Any, Sequence, TextIO

from inboxready.core import __version__
from inboxready.core.bulk import bulk_sender_readiness, readiness_headline
from inboxready.core.checks import CHECK_TITLES, run_many
from inboxready.core.context import CheckOptions
from inboxready.core.dns import DEFAULT_TIMEOUT, DnsClient, parse_nameserver
from inboxready.core.domain import DomainError, parse_domain, to_unicode
from inboxready.core.model import DomainReport, Severity, Status

EXIT_OK, EXIT_FINDINGS, EXIT_UNCHECKED = 0, 1, 2


class _Style:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled else text


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


def _nameserver(value: str) -> str:
    try:
        parse_nameserver(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _positive(value: str) -> float:
    try:
        f = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if f <= 0:
        raise argparse.ArgumentTypeError("the timeout must be more than 0 seconds")
    return f


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--nameserver", "-n", action="append", type=_nameserver, metavar="IP[:PORT]",
                        help="ask this DNS server instead of the system's (repeatable)")
    common.add_argument("--timeout", type=_positive, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"time one DNS query may take (default {DEFAULT_TIMEOUT:g})")
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    common.add_argument("--color", choices=["auto", "always", "never"], default="auto",
                        help="colour the text output (default: when printing to a terminal)")

    parser = argparse.ArgumentParser(
        prog="inboxready",
        description="Check a domain's email authentication (SPF, DKIM, DMARC, MX) and get the exact DNS "
                    "records that fix what is wrong.",
        epilog="Exit codes: 0 all passed, 1 something to fix was found, 2 couldn't check or usage error.",
    )
    parser.add_argument("--version", action="version", version=f"inboxready {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check", parents=[common], help="check one or more domains",
                           description="Check the SPF, DKIM, DMARC and MX records of each DOMAIN.")
    check.add_argument("domains", nargs="+", metavar="DOMAIN",
                       help="a domain, web address or e-mail address")
    check.add_argument("--dkim-selector", "-s", action="append", default=[], metavar="NAME",
                       help="also look for a DKIM key at this selector (repeatable)")
    check.add_argument("--deadline", type=_positive, default=60.0, metavar="SECONDS",
                       help="give up on a domain's remaining lookups after this long (default 60)")
    check.add_argument("--concurrency", type=int, default=10, metavar="N",
                       help="domains checked at once (default 10)")
    check.add_argument("--quiet", "-q", action="store_true", help="only the one-line summary per check")

    spf = sub.add_parser("spf", parents=[common], help="evaluate SPF for a sending IP (check_host)",
                         description="Run the RFC 7208 check_host() for IP sending as DOMAIN and say why.")
    spf.add_argument("domain", metavar="DOMAIN", help="the domain to evaluate (usually the MAIL FROM domain)")
    spf.add_argument("--ip", required=True, help="the sending server's IPv4 or IPv6 address")
    spf.add_argument("--sender", help="the MAIL FROM address (default postmaster@DOMAIN)")
    spf.add_argument("--helo", help="the HELO/EHLO name the server used")
    headers = sub.add_parser("headers", parents=[common], help="explain the verdict in a received message",
                             description="Read a received message (or just its headers) and explain what the "
                                         "receiving service decided for SPF, DKIM and DMARC, with our own "
                                         "re-check of every DKIM signature.")
    headers.add_argument("file", metavar="FILE", help="the message or its headers; - reads standard input")
    headers.add_argument("--receiver", action="append", default=[], metavar="AUTHSERV-ID",
                         help="trust only Authentication-Results from this receiving service (e.g. "
                              "mx.google.com; repeatable); default: the topmost one")
    headers.add_argument("--offline", action="store_true",
                         help="don't look up DKIM keys to re-check the signatures")
    return parser


# -- check ---------------------------------------------------------------------------------------


def _exit_code(reports: Sequence[DomainReport]) -> int:
    statuses = {r.status for rep in reports for r in rep.checks.values()}
    if Status.FAIL in statuses or Status.WARN in statuses:
        return EXIT_FINDINGS
    if Status.ERROR in statuses:
        return EXIT_UNCHECKED
    return EXIT_OK


def _report_json(report: DomainReport) -> dict[str, Any]:
    data = report.to_json()
    data["bulk_sender"] = [r.to_json() for r in bulk_sender_readiness(report.checks)]
    return data


def _wrap(text: str, indent: str, width: int = 100) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent) or [indent]


_BLOB = re.compile(r"[A-Za-z0-9+/]{60,}={0,2}")


def _elide(text: str) -> str:
    """Records with a long base64 key (DKIM) shown with the key shortened; everything else (SPF, DMARC)
    whole, because people read and compare those. --json always has them whole."""
    def short(m: re.Match[str]) -> str:
        k = m.group(0)
        return f"{k[:24]}…{k[-12:]} ({len(k)} characters)"
    text = text.replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")  # invisible, yet they matter
    return _BLOB.sub(short, text)


def render_report(report: DomainReport, out: TextIO, style: _Style, *, quiet: bool = False) -> None:
    sym, code = _STATUS_LOOK[report.status]
    shown = to_unicode(report.domain)
    title = f"{shown} ({report.domain})" if shown != report.domain else report.domain
    out.write(style(f"{sym} {title}", f"1;{code}") + style(f"  ({report.status.label})", code) + "\n")
    out.write("  " + readiness_headline(bulk_sender_readiness(report.checks), report.checks) + "\n")
    for name, result in report.checks.items():
        sym, code = _STATUS_LOOK[result.status]
        label = CHECK_TITLES.get(name, name.upper())
        out.write(f"  {style(f'{sym} {label:<6}', code)} {style(f'{result.status.label:<15}', code)}"
                  f"{result.summary}\n")
        if quiet:
            continue
        for rec in result.records:
            out.write(style(f"      record: {_elide(rec)}", "2") + "\n")
        shown_fixes: list[object] = []
        for f in result.findings:
            fsym, fcode = _SEV_LOOK[f.severity]
            lines = _wrap(f.message, "      ")
            lines[0] = "    " + style(fsym, fcode) + " " + lines[0][6:]
            out.write("\n".join(lines) + "\n")
            if f.rfc:
                out.write(style(f"      ({f.rfc})", "2") + "\n")
            if f.fix is not None and f.fix in shown_fixes:
                out.write(style("      Fix: the same record as above.", "1") + "\n")
            elif f.fix is not None:
                shown_fixes.append(f.fix)
                verb = {"replace": "Replace with", "remove": "Remove"}.get(f.fix.action, "Publish")
                out.write(style(f"      {verb}: {f.fix.type} record at {f.fix.host}", "1") + "\n")
                out.write(f"        {f.fix.value}\n")
                if f.fix.note:
                    out.write("\n".join(_wrap(f.fix.note, "        ")) + "\n")
    out.write("\n")


async def _check(args: argparse.Namespace) -> tuple[list[DomainReport], list[tuple[str, str]]]:
    options = CheckOptions(nameservers=args.nameserver, timeout=args.timeout, deadline=args.deadline,
                           dkim_selectors=list(args.dkim_selector))
    domains: list[str] = []
    bad: list[tuple[str, str]] = []
    for text in args.domains:
        try:
            domains.append(parse_domain(text).domain)
        except DomainError as exc:
            bad.append((text, str(exc)))
    reports = await run_many(domains, options, concurrency=max(1, args.concurrency)) if domains else []
    return reports, bad


def cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    reports, bad = asyncio.run(_check(args))
    for text, why in bad:
        err.write(f"inboxready: {text}: {why}\n")
    if args.json:
        json.dump([_report_json(r) for r in reports], out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        style = _Style(_use_colour(out, args.color))
        for r in reports:
            render_report(r, out, style, quiet=args.quiet)
    code = _exit_code(reports)
    if bad:
        code = max(code, EXIT_UNCHECKED) if code != EXIT_FINDINGS else code
        if not reports:
            code = EXIT_UNCHECKED
    return code


# -- spf -----------------------------------------------------------------------------------------

_SPF_EXIT = {"pass": EXIT_OK, "none": EXIT_FINDINGS, "neutral": EXIT_FINDINGS, "softfail": EXIT_FINDINGS,
             "fail": EXIT_FINDINGS, "permerror": EXIT_FINDINGS, "temperror": EXIT_UNCHECKED}


def cmd_spf(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.spf import check_host

    try:
        ipaddress.ip_address(args.ip)
    except ValueError:
        err.write(f"inboxready: {args.ip!r} is not an IP address\n")
        return EXIT_UNCHECKED
    try:
        domain = parse_domain(args.domain).domain
    except DomainError as exc:
        err.write(f"inboxready: {exc}\n")
        return EXIT_UNCHECKED
    sender = args.sender or f"postmaster@{domain}"

    async def go() -> Any:
        client = DnsClient(args.nameserver, timeout=args.timeout, deadline=60.0)
        return await check_host(args.ip, domain, sender, helo=args.helo, dns=client)

    ev = asyncio.run(go())
    data = ev.to_json()
    if args.json:
        json.dump(data, out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        style = _Style(_use_colour(out, args.color))
        code = {"pass": "32", "fail": "31", "softfail": "33", "neutral": "33", "none": "33",
                "temperror": "35", "permerror": "31"}.get(data["result"], "0")
        out.write(style(f"SPF {data['result']}", f"1;{code}") + f" for {args.ip} sending as {sender}\n")
        if data.get("explanation"):
            out.write("\n".join(_wrap(str(data["explanation"]), "  ")) + "\n")
        if data.get("mechanism") and f"'{data['mechanism']}'" not in str(data.get("explanation") or ""):
            out.write(f"  matched: {data['mechanism']}\n")
        for step in data.get("trace", []):
            out.write(style(f"    {step}", "2") + "\n")
    return _SPF_EXIT.get(data["result"], EXIT_FINDINGS)


# -- headers -------------------------------------------------------------------------------------

MAX_MESSAGE_BYTES = 50 * 1024 * 1024


def cmd_headers(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.mail.message import analyze_message

    try:
        if args.file == "-":
            raw = sys.stdin.buffer.read(MAX_MESSAGE_BYTES + 1)
        else:
            with open(args.file, "rb") as fh:
                raw = fh.read(MAX_MESSAGE_BYTES + 1)
    except OSError as exc:
        err.write(f"inboxready: can't read {args.file}: {exc.strerror or exc}\n")
        return EXIT_UNCHECKED
    if len(raw) > MAX_MESSAGE_BYTES:
        err.write(f"inboxready: {args.file} is larger than {MAX_MESSAGE_BYTES // (1024 * 1024)} MB; "
                  "give the headers only\n")
        return EXIT_UNCHECKED

    async def go() -> Any:
        client = None if args.offline else DnsClient(args.nameserver, timeout=args.timeout, deadline=60.0)
        try:
            return await analyze_message(raw, dns=client, trusted_authserv_ids=args.receiver or None)
        finally:
            if client is not None:
                client.close()

    report = asyncio.run(go())
    if args.json:
        json.dump(report.to_json(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        style = _Style(_use_colour(out, args.color))
        sym, code = _STATUS_LOOK[report.status]
        who = report.receiver if report.receiver else "the receiving service" if report.receiver == "" else None
        out.write(style(f"{sym} {report.subject or '(no subject)'}", f"1;{code}") + "\n")
        out.write(f"  From: {report.from_ or '(none)'}\n")
        out.write(f"  Judged by: {who or 'nobody we can trust (no Authentication-Results from the receiver)'}\n")
        for f in report.findings:
            fsym, fcode = _SEV_LOOK[f.severity]
            lines = _wrap(f.message, "      ")
            lines[0] = "    " + style(fsym, fcode) + " " + lines[0][6:]
            out.write("\n".join(lines) + "\n")
        for name, result in report.checks.items():
            sym, code = _STATUS_LOOK[result.status]
            label = CHECK_TITLES.get(name, name.upper())
            wrote = result.detail.get("result")
            out.write(f"  {style(f'{sym} {label:<8}', code)} {style(f'{result.status.label:<15}', code)}"
                      f"{result.summary}" + (style(f"  [{wrote}]", "2") if wrote else "") + "\n")
            for f in result.findings:
                fsym, fcode = _SEV_LOOK[f.severity]
                lines = _wrap(f.message, "      ")
                lines[0] = "    " + style(fsym, fcode) + " " + lines[0][6:]
                out.write("\n".join(lines) + "\n")
    statuses = {r.status for r in report.checks.values()}
    if not report.checks or statuses == {Status.ERROR}:
        return EXIT_UNCHECKED
    if Status.FAIL in statuses or Status.WARN in statuses:
        return EXIT_FINDINGS
    return EXIT_UNCHECKED if Status.ERROR in statuses else EXIT_OK


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2, --help/--version exit 0
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(out)
        return EXIT_UNCHECKED
    try:
        if args.command == "check":
            return cmd_check(args, out, err)
        if args.command == "spf":
            return cmd_spf(args, out, err)
        if args.command == "headers":
            return cmd_headers(args, out, err)
    except KeyboardInterrupt:
        err.write("inboxready: interrupted\n")
        return EXIT_UNCHECKED
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - so the interpreter's final flush stays quiet
        except OSError:
            pass
        return EXIT_UNCHECKED
    parser.print_help(err)
    return EXIT_UNCHECKED


if __name__ == "__main__":
    sys.exit(main())
