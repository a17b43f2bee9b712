"""The ``inboxready`` command line: a thin front end over the same core calls as the app.

    inboxready check DOMAIN... [--json] [--nameserver IP[:PORT]]... [--timeout S] [--dkim-selector NAME]...
                     [--profile bulk-sender|soc2|hipaa] [--report FILE.pdf|FILE.html|FILE.json]
    inboxready spf DOMAIN --ip IP [--sender ADDR] [--helo NAME] [--json]
    inboxready headers FILE|- [--receiver AUTHSERV-ID]... [--offline] [--json]
    inboxready bounce FILE|- [--json] [--skip CHECKS] [--domain DOMAIN]   (app/cli/bounce.py)
    inboxready profile add NAME --smtp HOST[:PORT] | --imap HOST[:PORT] [--security ...] [--user USER] ...
                       [--oauth microsoft|google [--client-id ID] [--tenant T]]
    inboxready profile list|test|remove|signin|signout NAME
    inboxready roundtrip --send-profile NAME --read-profile NAME [--to ADDR] [--timeout S] [--json]
    inboxready watch --read-profile NAME [--token TOKEN] [--timeout S] [--json]

Exit codes: 0 everything passed; 1 something to fix was found (a failure or a warning);
2 something could not be checked (and nothing to fix was found), or the command was used wrongly.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib.util
import io
import ipaddress
import json
import os
import re
import sys
from typing import TYPE_CHECKING, Any, Sequence, TextIO

from inboxready.core import __version__
from inboxready.core.policy.bulk import bulk_sender_readiness, readiness_headline
from inboxready.core.checks.registry import CHECK_TITLES
from inboxready.core.checks.runner import run_many
from inboxready.core.context import ALL_CHECKS, CheckOptions
from inboxready.core.dns.client import DEFAULT_TIMEOUT, DnsClient
from inboxready.core.domain import DomainError, parse_domain, to_unicode
from inboxready.core.frontend import CLI
from inboxready.core.model import DomainReport, Fix, Severity, ShownFinding, Status, by_severity, gist

from . import bounce, build, publish, reports, verify, watchlist, worker
from . import oauth as cli_oauth
from .out import (
    DEADLINE, DNS_TIMEOUT, ESC, MAIL_WAIT, Parser, count, nameserver, safe_stream, shown,
    wrap_lines, write_json,
)

if TYPE_CHECKING:
    from inboxready.core.policy.pipeline import Judged

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


_nameserver = nameserver  # the option types live in cli_out (one place for every command)
_positive = DNS_TIMEOUT


# How long past --deadline a command may take to wrap up before it is stopped (the engine's own limits
# end every lookup at the deadline; this is the last guard, whatever the DNS data).
DEADLINE_GRACE = 2.0


def add_deadline(parser: argparse.ArgumentParser, default: float = 60.0, what: str = "a domain's") -> None:
    parser.add_argument("--deadline", type=DEADLINE, default=default, metavar="SECONDS",
                        help=f"give up on {what} remaining lookups after this long (default {default:g}, at "
                             "most 3600)")


class OutOfTime(Exception):
    """A command ran past its deadline (and the grace): said plainly, exit 2."""


def run_within(coro: Any, seconds: float) -> Any:
    """``asyncio.run(coro)``, stopped after ``seconds`` + ``DEADLINE_GRACE`` (raises ``OutOfTime``)."""
    async def bounded() -> Any:
        try:
            return await asyncio.wait_for(coro, seconds + DEADLINE_GRACE)
        except (TimeoutError, asyncio.TimeoutError):
            raise OutOfTime(f"stopped: not finished within the time limit of {seconds:g} s "
                            "(use --deadline to allow more)") from None

    return asyncio.run(bounded())


# Commands that live in their own module of this package (``app/cli/<name>.py``): each has
# ``register(sub, common)`` that adds its sub-parser and sets ``handler=fn(args, out, err) -> exit code`` as a
# default. A new command is a module with a ``register`` and one entry here.
COMMAND_MODULES = (reports, build, watchlist, verify, publish, bounce, worker)


def _command_modules() -> list[Any]:
    return [module.register for module in COMMAND_MODULES]


def build_parser() -> argparse.ArgumentParser:
    common = Parser(add_help=False)
    common.add_argument("--nameserver", "-n", action="append", type=_nameserver, metavar="IP[:PORT]",
                        help="ask this DNS server instead of the system's (repeatable)")
    common.add_argument("--timeout", type=DNS_TIMEOUT, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"time one DNS query may take (default {DEFAULT_TIMEOUT:g}, at most 60)")
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    common.add_argument("--color", choices=["auto", "always", "never"], default="auto",
                        help="colour the text output (default: when printing to a terminal)")

    parser = Parser(
        prog="inboxready",
        description="Check a domain's email authentication (SPF, DKIM, DMARC, MX) and get the exact DNS "
                    "records that fix what is wrong.",
        epilog="Exit codes: 0 all passed, 1 something to fix was found, 2 couldn't check or usage error.",
    )
    parser.add_argument("--version", action="version", version=f"inboxready {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="check the bundled demo domains on a loopback DNS server and say whether this "
                             "installation works (no network needed)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in _command_modules():
        register(sub, common)

    check = sub.add_parser("check", parents=[common], help="check one or more domains",
                           description="Check the SPF, DKIM, DMARC and MX records of each DOMAIN, and the "
                                       "optional extras: MTA-STS, TLS reporting, BIMI, DNSSEC, reverse DNS "
                                       "and STARTTLS on the mail servers.")
    check.add_argument("domains", nargs="*", metavar="DOMAIN",
                       help="a domain, web address or e-mail address (with --demo: a demo domain)")
    check.add_argument("--demo", action="store_true",
                       help="check the bundled example domains, answered by a DNS server built into InboxReady "
                            "(no network needed); without a DOMAIN, list them")
    check.add_argument("--dkim-selector", "-s", action="append", default=[], metavar="NAME",
                       help="also look for a DKIM key at this selector (repeatable)")
    check.add_argument("--deadline", type=DEADLINE, default=60.0, metavar="SECONDS",
                       help="give up on a domain's remaining lookups after this long (default 60, at most 3600)")
    check.add_argument("--concurrency", type=count(1, 100, "concurrency"), default=10, metavar="N",
                       help="domains checked at once (default 10, at most 100)")
    check.add_argument("--quiet", "-q", action="store_true", help="only the one-line summary per check")
    check.add_argument("--checklist", action="store_true",
                       help="also list the Google / Yahoo / Microsoft sender rules one by one (always in --json)")
    check.add_argument("--spam-rate", type=_percent, metavar="PERCENT",
                       help="your spam rate from Google Postmaster Tools, e.g. 0.08, for the checklist")
    check.add_argument("--only", type=_check_list, metavar="LIST",
                       help="run only these checks, e.g. spf,dmarc (names: " + ", ".join(ALL_CHECKS) + ")")
    check.add_argument("--skip", type=_check_list, default=(), metavar="LIST",
                       help="leave these checks out, e.g. starttls when your network blocks port 25")
    check.add_argument("--profile", choices=_profile_names(), metavar="NAME",
                       help="also judge the result against a compliance profile: "
                            + ", ".join(_profile_names()) + " (the report's default: bulk-sender)")
    check.add_argument("--authoritative", action="store_true",
                       help="also ask every authoritative server of the zone directly (no cache) what it serves, "
                            "and how long resolvers may keep the old answer (with --nameserver: that server)")
    check.add_argument("--report", metavar="FILE",
                       help="also save an audit report: FILE.pdf, FILE.html or FILE.json by its extension "
                            "(with several domains, the domain is added to each file name); PDF needs the "
                            "desktop part (PySide6)")

    spf = sub.add_parser("spf", parents=[common], help="evaluate SPF for a sending IP (check_host)",
                         description="Run the RFC 7208 check_host() for IP sending as DOMAIN and say why.")
    spf.add_argument("domain", metavar="DOMAIN", help="the domain to evaluate (usually the MAIL FROM domain)")
    spf.add_argument("--ip", required=True, help="the sending server's IPv4 or IPv6 address")
    spf.add_argument("--sender", help="the MAIL FROM address (default postmaster@DOMAIN)")
    spf.add_argument("--helo", help="the HELO/EHLO name the server used")
    add_deadline(spf, what="the evaluation's")
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
    add_deadline(headers, what="the message's")
    profile = sub.add_parser("profile", help="sending and reading profiles for test messages",
                             description="Manage the mail accounts used to send and read test messages. "
                                         "Passwords go to the system keyring only.")
    psub = profile.add_subparsers(dest="profile_command", metavar="ACTION")
    add = psub.add_parser("add", help="add or replace a profile",
                          description="Add a sending (--smtp) or reading (--imap) profile. The password is read "
                                      "from INBOXREADY_PASSWORD or asked for, and stored in the keyring.")
    where = add.add_mutually_exclusive_group(required=True)
    where.add_argument("--smtp", metavar="HOST[:PORT]", help="a sending profile on this SMTP server")
    where.add_argument("--imap", metavar="HOST[:PORT]", help="a reading profile on this IMAP server")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--security", choices=["ssl", "starttls", "none"],
                     help="implicit TLS, STARTTLS, or none (unencrypted: only for testing); default from the port")
    add.add_argument("--user", default="", metavar="USER", help="the account's user name")
    add.add_argument("--from", dest="from_addr", default="", metavar="ADDR", help="From address of test messages")
    add.add_argument("--address", default="", metavar="ADDR",
                     help="reading profile: the mailbox's address (default: the user name)")
    add.add_argument("--ca-file", default="", metavar="PEM",
                     help="also trust the CA certificates in this file (a private CA)")
    add.add_argument("--receiver", action="append", default=[], metavar="AUTHSERV-ID",
                     help="reading profile: the receiving service's Authentication-Results id (repeatable)")
    add.add_argument("--no-password", action="store_true", help="the server needs no password")
    cli_oauth.add_arguments(add)
    lst = psub.add_parser("list", help="list the profiles")
    lst.add_argument("--json", action="store_true")
    test = psub.add_parser("test", parents=[common], help="try to connect and sign in")
    test.add_argument("name", metavar="NAME")
    rm = psub.add_parser("remove", help="remove a profile and its password")
    rm.add_argument("name", metavar="NAME")
    kind = rm.add_mutually_exclusive_group()
    kind.add_argument("--send", action="store_true", help="only the sending profile of that name")
    kind.add_argument("--read", action="store_true", help="only the reading profile of that name")
    cli_oauth.register_actions(psub)

    # The mail commands take --timeout as the time to wait for the message (as people expect there);
    # DNS queries use the default per-query timeout.
    mail_common = Parser(add_help=False)
    mail_common.add_argument("--nameserver", "-n", action="append", type=_nameserver, metavar="IP[:PORT]",
                             help="ask this DNS server for DKIM keys and the domain check (repeatable)")
    mail_common.add_argument("--json", action="store_true", help="print JSON instead of text")
    mail_common.add_argument("--color", choices=["auto", "always", "never"], default="auto")

    rt = sub.add_parser("roundtrip", parents=[mail_common], help="send a test message and read the verdict back",
                        description="Send a test message through a sending profile, find it with a reading "
                                    "profile (Inbox or Junk) and explain the receiver's verdict. Passwords come "
                                    "from the keyring, or from INBOXREADY_SMTP_PASSWORD / "
                                    "INBOXREADY_IMAP_PASSWORD.")
    rt.add_argument("--send-profile", required=True, metavar="NAME")
    rt.add_argument("--read-profile", required=True, metavar="NAME")
    rt.add_argument("--to", metavar="ADDR", help="send to this address (default: the reading profile's mailbox)")
    rt.add_argument("--timeout", "--wait", dest="wait", type=MAIL_WAIT, default=120.0, metavar="SECONDS",
                    help="how long to wait for the message to arrive (default 120)")
    rt.add_argument("--unsubscribe-url", metavar="URL",
                    help="add List-Unsubscribe with this https URL and one-click List-Unsubscribe-Post")
    rt.add_argument("--delete", action="store_true", help="delete the test message afterwards")

    wt = sub.add_parser("watch", parents=[mail_common],
                        help="await a test message: wait in a mailbox for a message another platform sends",
                        description="Await a test message (not the monitor: that is 'watchlist'). Wait for a "
                                    "message whose subject contains TOKEN (send it from your "
                                    "newsletter tool or CRM to the reading profile's address) and explain its "
                                    "verdict. Without --token, a new token is made and shown.")
    wt.add_argument("--read-profile", required=True, metavar="NAME")
    wt.add_argument("--token", metavar="TOKEN")
    wt.add_argument("--timeout", "--wait", dest="wait", type=MAIL_WAIT, default=600.0, metavar="SECONDS",
                    help="how long to wait for the message (default 600)")
    wt.add_argument("--delete", action="store_true", help="delete the message afterwards")
    return parser


# -- check ---------------------------------------------------------------------------------------


def _exit_code(reports: Sequence[DomainReport]) -> int:
    """1 when something needs fixing, else 2 when a check every sender needs couldn't run, else 0 (an
    optional check that couldn't run from here, e.g. STARTTLS with port 25 blocked, is on its card only)."""
    statuses = {r.status for rep in reports for r in rep.checks.values()}
    if Status.FAIL in statuses or Status.WARN in statuses:
        return EXIT_FINDINGS
    if any(rep.status is Status.ERROR for rep in reports):
        return EXIT_UNCHECKED
    return EXIT_OK


def _status_column(word: str) -> str:
    """A status word padded to the column (as wide as the longest status word), then two spaces."""
    width = max(len(s.label) for s in Status)
    return f"{word:<{width}}  "


def _report_json(report: DomainReport) -> dict[str, Any]:
    data = report.to_json()
    data["bulk_sender"] = [r.to_json() for r in bulk_sender_readiness(report.checks)]
    return data


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


_CHECKLIST_LOOK = {"met": ("✓", "32"), "not-met": ("✗", "31"), "needs-test-message": ("…", "36"),
                   "cant-see": ("?", "2"), "unknown": ("?", "35"), "pending": ("…", "2")}


def render_checklist(result: Any, out: TextIO, style: _Style) -> None:
    """The bulk-sender rules one per line: state, rule, who asks since when, and why."""
    from inboxready.core.policy.checklist import STATE_WORDS

    out = safe_stream(out)
    out.write(style("  Sender rules (Google, Yahoo, Microsoft):", "1") + "\n")
    for item in result.detail.get("items", []):
        sym, code = _CHECKLIST_LOOK.get(item.get("state"), ("?", "2"))
        who = ", ".join(str(w).capitalize() for w in item.get("who", [])) or "InboxReady's advice"
        scope = "all senders" if item.get("applies") == "all" else "bulk senders"
        word = STATE_WORDS.get(item.get("state"), str(item.get("state")))
        out.write(f"    {style(sym + ' ' + word, code)}: {shown(item.get('label'))} ({shown(who)}, {scope}, since "
                  f"{shown(item.get('since_text') or item.get('since'))})\n")
        if item.get("why"):
            out.write("\n".join(_wrap(str(item["why"]), "        ")) + "\n")


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
    out.write("\n")


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


def _percent(value: str) -> float:
    try:
        rate = float(value.strip().rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a percentage such as 0.08") from None
    if not 0 <= rate <= 100:
        raise argparse.ArgumentTypeError(f"{value!r} is not between 0 and 100")
    return rate


def _check_list(text: str) -> tuple[str, ...]:
    names = tuple(n.strip().lower().replace("-", "_") for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in ALL_CHECKS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown check {', '.join(unknown) or repr(text)}; the checks are: "
                                         + ", ".join(ALL_CHECKS))
    return names


def chosen_checks(only: Sequence[str] | None, skip: Sequence[str] | None) -> tuple[str, ...]:
    """The checks ``--only`` and ``--skip`` leave, in the usual order (may be empty: the caller says so)."""
    return tuple(n for n in ALL_CHECKS if n in (only or ALL_CHECKS) and n not in (skip or ()))


def nothing_chosen(only: Sequence[str] | None, skip: Sequence[str] | None) -> str:
    """The sentence for ``--only``/``--skip`` that leave no check at all."""
    return (f"--only {','.join(only or ALL_CHECKS)} with --skip {','.join(skip or ())} leaves no check to run; "
            "leave one of them out or name other checks")


async def _check(args: argparse.Namespace) -> tuple[list[Judged], list[tuple[str, str]]]:
    """Check and judge every domain given (``check_and_judge``: the checks, the checklist and, with
    --profile, the profile's verdict); the texts that are no domain come back with the reason."""
    checks = chosen_checks(args.only, args.skip)
    options = CheckOptions(nameservers=args.nameserver, timeout=args.timeout, deadline=args.deadline,
                           dkim_selectors=list(args.dkim_selector), checks=checks)
    domains: list[str] = []
    bad: list[tuple[str, str]] = []
    for text in args.domains:
        try:
            domains.append(parse_domain(text).domain)
        except DomainError as exc:
            bad.append((text, str(exc)))
    from inboxready.core.policy.pipeline import check_and_judge

    own = getattr(args, "domain_selectors", None) or {}  # the demo: each domain's own DKIM selectors
    sem = asyncio.Semaphore(max(1, args.concurrency))
    profile = getattr(args, "profile", None)

    async def one(domain: str) -> Judged:
        selectors = list(dict.fromkeys([*options.dkim_selectors, *own.get(domain, ())]))
        async with sem:
            return await check_and_judge(domain, dataclasses.replace(options, dkim_selectors=selectors),
                                         profile=profile, spam_rate=args.spam_rate, front=CLI)

    return list(await asyncio.gather(*(one(d) for d in domains))), bad


def _profile_names() -> list[str]:
    from inboxready.core.policy.compliance import load_profiles

    return list(load_profiles())


REPORT_TYPES = (".pdf", ".html", ".htm", ".json")

_STATE_LOOK = {"met": ("✓", "32"), "not-met": ("✗", "31"), "unknown": ("?", "35"), "not-checked": ("-", "2"),
               "incomplete": ("?", "35")}


def render_verdict(verdict: Any, out: TextIO, style: _Style) -> None:
    """A ProfileVerdict as text: the verdict line, then each rule (why, for those not met)."""
    out = safe_stream(out)
    sym, code = _STATE_LOOK.get(verdict.state, ("?", "0"))
    out.write(style(f"  {sym} Profile {shown(verdict.title)}: {shown(verdict.label)}", f"1;{code}") + "\n")
    out.write("\n".join(_wrap(verdict.summary, "    ")) + "\n")
    for r in verdict.rules:
        rsym, rcode = _STATE_LOOK.get(r.state, ("?", "0"))
        label = {"met": "Met", "not-met": "Not met", "unknown": "Couldn't check",
                 "not-checked": "Not checked"}.get(r.state, r.state)
        level = "" if r.level == "required" else " (recommended)"
        out.write(f"    {style(rsym, rcode)} {style(_status_column(label), rcode)}{shown(r.label)}{level}\n")
        if r.state != "met":
            out.write("\n".join(_wrap(r.why, "        ")) + "\n")
        if r.fix is not None:
            verb = {"replace": "Replace with", "remove": "Remove"}.get(r.fix.action, "Publish")
            out.write(style(f"        {verb}: {shown(r.fix.type)} record at {shown(r.fix.host)}", "1") + "\n")
            out.write(f"          {shown(r.fix.value)}\n")
    out.write("\n".join(_wrap(verdict.statement, "    ")) + "\n\n" if verdict.statement else "\n")


def _report_path(path: str, domain: str, many: bool) -> str:
    if not many:
        return path
    base, dot, ext = path.rpartition(".")
    return f"{base}-{domain}.{ext}" if dot else f"{path}-{domain}"


def write_report_file(report: DomainReport, path: str, profile: str, *, inspection: Any = None) -> str:
    """Save the audit report of ``report`` as PDF, HTML or JSON (by extension), with each fix in the form of
    the DNS host ``inspection`` found and the DNS changes published in its period. Raises OSError, or
    ImportError when a PDF is asked for without PySide6."""
    from datetime import UTC, datetime

    from inboxready.core.policy.audit import AuditReport, changes_in_period

    now = datetime.now(UTC)
    dns_host = inspection.for_audit() if inspection is not None and inspection.zone.zone else None
    audit = AuditReport.build(report, profile=profile, generated=now, dns_host=dns_host,
                              changes=changes_in_period(report, generated=now), front=CLI)
    ext = os.path.splitext(path)[1].lower()
    if ext == ".pdf":
        from inboxready.app.pdf import write_audit_pdf  # needs PySide6 (the gui extra)

        write_audit_pdf(audit, path)
    elif ext == ".json":
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(audit.to_document(), fh, indent=1, ensure_ascii=False)
            fh.write("\n")
    else:
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(audit.to_html())
    return audit.sha256


def _pyside_missing() -> bool:
    return importlib.util.find_spec("PySide6") is None


def cmd_check_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``check --demo [DOMAIN...]``: the demo domains on the app's loopback DNS server (nothing leaves the
    computer), or the list of them."""
    from inboxready.app.demo import DEMO_DEADLINE, DEMO_TIMEOUT, load_demo, start_demo_server

    demo = load_demo()
    if args.nameserver:
        err.write("inboxready: --demo asks the DNS server built into InboxReady; leave out --nameserver\n")
        return EXIT_UNCHECKED
    if not args.domains:
        if args.json:
            json.dump([{"domain": d.domain, "title": d.title, "story": d.story} for d in demo.domains], out,
                      indent=2, ensure_ascii=False)
            out.write("\n")
            return EXIT_OK
        out.write("The demo domains (answered by a DNS server built into InboxReady; nothing leaves this "
                  "computer):\n")
        width = max(len(d.domain) for d in demo.domains)
        for d in demo.domains:
            out.write(f"  {d.domain:<{width}}  {d.title}. {d.story}\n")
        example = demo.domains[min(1, len(demo.domains) - 1)].domain
        out.write(f"Check one or more of them with, e.g.: inboxready check --demo {example}\n")
        return EXIT_OK
    wanted: list[str] = []
    for text in args.domains:
        try:
            domain = parse_domain(text).domain
        except DomainError:
            domain = text
        if demo.find(domain) is None:
            err.write(f"inboxready: {shown(text)} is not one of the demo domains; 'inboxready check --demo' lists "
                      "them\n")
            return EXIT_UNCHECKED
        wanted.append(domain)
    server, demo = start_demo_server(demo)
    try:
        args.domains = wanted
        args.nameserver = [server.address]
        args.timeout = DEMO_TIMEOUT
        args.deadline = min(args.deadline, DEMO_DEADLINE)
        args.skip = tuple(dict.fromkeys([*args.skip, *demo.skip_checks]))
        args.domain_selectors = {d: demo.find(d).selectors for d in wanted}  # type: ignore[union-attr]
        if not args.json and not args.quiet:
            note = f" {demo.skip_reason}" if demo.skip_reason else ""
            out.write(f"Demo: answered by a DNS server built into InboxReady; nothing leaves this computer.{note}\n\n")
        return _check_domains(args, out, err)
    finally:
        server.stop()


def cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.demo:
        return cmd_check_demo(args, out, err)
    if not args.domains:
        err.write("inboxready check: give the DOMAIN to check, e.g. inboxready check example.com (or try "
                  "inboxready check --demo)\n")
        return EXIT_UNCHECKED
    return _check_domains(args, out, err)


def _check_domains(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if not chosen_checks(args.only, args.skip):
        err.write(f"inboxready: {nothing_chosen(args.only, args.skip)}\n")
        return EXIT_UNCHECKED
    report_to = getattr(args, "report", None)
    if report_to:
        ext = os.path.splitext(report_to)[1].lower()
        if ext not in REPORT_TYPES:
            err.write(f"inboxready: --report {shown(report_to)}: the file name must end in .pdf, .html or .json\n")
            return EXIT_UNCHECKED
        if ext == ".pdf" and _pyside_missing():
            err.write("inboxready: PDF reports need the desktop part of InboxReady (PySide6), which is not "
                      "installed. Install it with: pip install 'inboxready[gui]', or save an HTML report "
                      "instead (--report FILE.html).\n")
            return EXIT_UNCHECKED
    judged, bad = asyncio.run(_check(args))
    for text, why in bad:
        err.write(f"inboxready: {shown(text)}: {shown(why)}\n")
    reports = [j.report for j in judged]
    verdicts = {j.report.domain: j.verdict for j in judged if j.verdict is not None}
    checklists = {j.report.domain: j.checklist for j in judged}
    P = publish

    own = getattr(args, "domain_selectors", {})  # the demo's selectors
    # (not where the DNS server did not answer at all: it would only wait for it again)
    asked = [r.domain for r in reports if r.dns_trouble is None or r.dns_trouble.kind != "resolver"]
    inspections = asyncio.run(P.inspect_for_check(
        asked, args.nameserver, args.timeout,
        {d: [*args.dkim_selector, *own.get(d, ())] for d in asked})) if asked else {}
    if args.json:
        data = [_report_json(r) for r in reports]
        for d, r in zip(data, reports):
            P.attach_host_forms(d, inspections.get(r.domain))
            if getattr(args, "authoritative", False):
                d["authoritative"] = P.authoritative_section(r.domain, r, inspections.get(r.domain), args.nameserver,
                                                             args.timeout, io.StringIO(), _Style(False))
            d["checklist"] = checklists[r.domain].to_json()
            if r.domain in verdicts:
                d["profile"] = verdicts[r.domain].to_json()
        write_json(data, out)
    else:
        style = _Style(_use_colour(out, args.color))
        said = _say_resolver_trouble_once(reports, out, style)
        for r in reports:
            ins = inspections.get(r.domain)
            render_report(r, out, style, quiet=args.quiet, host_form=lambda fix, ins=ins: P.host_form_for(fix, ins),
                          trouble_said=said)
            if not args.quiet:
                P.render_host_section(ins, out, style)
            if getattr(args, "authoritative", False):
                P.authoritative_section(r.domain, r, ins, args.nameserver, args.timeout, out, style)
            if args.checklist:
                render_checklist(checklists[r.domain], out, style)
            if r.domain in verdicts:
                render_verdict(verdicts[r.domain], out, style)
    code = _exit_code(reports)
    if any(v.state == "not-met" for v in verdicts.values()) and code == EXIT_OK:
        code = EXIT_FINDINGS
    if report_to:
        for r in reports:
            path = _report_path(report_to, r.domain, len(reports) > 1)
            try:
                digest = write_report_file(r, path, getattr(args, "profile", None) or "bulk-sender",
                                           inspection=inspections.get(r.domain))
                from inboxready.core.policy.audit import record_export

                file_digest, problem = record_export(path, r.domain, digest)
            except (OSError, ImportError) as exc:
                err.write(f"inboxready: couldn't save the report to {shown(path)}: "
                          f"{shown(getattr(exc, 'strerror', None) or exc)}\n")
                code = EXIT_UNCHECKED
                continue
            # the content hash (printed inside the report) first, then the file's: what verify compares
            err.write(f"Report saved to {shown(path)} (SHA-256 {digest}).\n"
                      f"  File SHA-256: {file_digest}. Keep it: 'inboxready verify {shown(path)} --sha256 "
                      f"{file_digest}' shows whether a copy is byte for byte this file.\n")
            if problem:
                err.write(f"  It could not be kept in this computer's history ({shown(problem)}); note it "
                          "yourself.\n")
            else:
                err.write("  Also kept in this computer's history, with the time and the domain.\n")
    if bad:
        code = max(code, EXIT_UNCHECKED) if code != EXIT_FINDINGS else code
        if not reports:
            code = EXIT_UNCHECKED
    return code


def _say_resolver_trouble_once(reports: Sequence[DomainReport], out: TextIO, style: _Style) -> bool:
    """With several domains and a DNS server that did not answer: say it once, at the top."""
    troubles = [r.dns_trouble for r in reports if r.dns_trouble is not None and r.dns_trouble.kind == "resolver"]
    if len(reports) < 2 or not troubles:
        return False
    for message in dict.fromkeys(t.message for t in troubles):
        render_trouble(next(t for t in troubles if t.message == message), out, style, indent="")
    safe_stream(out).write("\n")
    return True


# -- spf -----------------------------------------------------------------------------------------

_SPF_EXIT = {"pass": EXIT_OK, "none": EXIT_FINDINGS, "neutral": EXIT_FINDINGS, "softfail": EXIT_FINDINGS,
             "fail": EXIT_FINDINGS, "permerror": EXIT_FINDINGS, "temperror": EXIT_UNCHECKED}


def cmd_spf(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.checks.spf import check_host

    try:
        ipaddress.ip_address(args.ip)
    except ValueError:
        err.write(f"inboxready: {args.ip!r} is not an IP address\n")
        return EXIT_UNCHECKED
    try:
        domain = parse_domain(args.domain).domain
    except DomainError:
        # Not a usable domain name (a label over 63 octets, an empty label, a domain literal, a HELO that
        # isn't a FQDN): RFC 7208 §4.3 makes the result "none", and check_host says why.
        domain = args.domain.strip()
    sender = args.sender if args.sender is not None else f"postmaster@{domain}"

    async def go() -> Any:
        client = DnsClient(args.nameserver, timeout=args.timeout, deadline=args.deadline)
        try:
            ev = await check_host(args.ip, domain, sender, helo=args.helo, dns=client)
            trouble = await client.diagnose(domain) if ev.result == "temperror" else None
            return ev, trouble
        finally:
            client.close()

    try:
        ev, trouble = run_within(go(), args.deadline)
    except OutOfTime as exc:
        err.write(f"inboxready: SPF for {shown(domain)}: {exc}\n")
        return EXIT_UNCHECKED
    data = ev.to_json()
    if trouble is not None:
        data["dns_trouble"] = trouble.to_json()
    if args.json:
        write_json(data, out)
    else:
        style = _Style(_use_colour(out, args.color))
        code = {"pass": "32", "fail": "31", "softfail": "33", "neutral": "33", "none": "33",
                "temperror": "35", "permerror": "31"}.get(data["result"], "0")
        out.write(style(f"SPF {shown(data['result'])}", f"1;{code}") + f" for {shown(args.ip)} sending as "
                  f"{shown(sender)}\n")
        if data.get("explanation"):
            out.write("\n".join(_wrap(str(data["explanation"]), "  ")) + "\n")
        if data.get("mechanism") and f"'{data['mechanism']}'" not in str(data.get("explanation") or ""):
            out.write(f"  matched: {shown(data['mechanism'])}\n")
        for step in data.get("trace", []):
            out.write(style(f"    {shown(step)}", "2") + "\n")
        if trouble is not None:
            render_trouble(trouble, out, style)
    return _SPF_EXIT.get(data["result"], EXIT_FINDINGS)


# -- headers -------------------------------------------------------------------------------------

MAX_MESSAGE_BYTES = 50 * 1024 * 1024


def cmd_headers(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.mail.links import link_domain_fixes
    from inboxready.core.mail.message import analyze_message

    try:
        if args.file == "-":
            raw = sys.stdin.buffer.read(MAX_MESSAGE_BYTES + 1)
        else:
            with open(args.file, "rb") as fh:
                raw = fh.read(MAX_MESSAGE_BYTES + 1)
    except OSError as exc:
        err.write(f"inboxready: can't read {shown(args.file)}: {shown(exc.strerror or exc)}\n")
        return EXIT_UNCHECKED
    if len(raw) > MAX_MESSAGE_BYTES:
        err.write(f"inboxready: {shown(args.file)} is larger than {MAX_MESSAGE_BYTES // (1024 * 1024)} MB; "
                  "give the headers only\n")
        return EXIT_UNCHECKED

    async def go() -> Any:
        client = None if args.offline else DnsClient(args.nameserver, timeout=args.timeout, deadline=args.deadline)
        try:
            report = await analyze_message(raw, dns=client, trusted_authserv_ids=args.receiver or None,
                                          content=True, spamassassin=True)
            if client is not None:
                await link_domain_fixes(report, client=client)
            return report
        finally:
            if client is not None:
                client.close()

    try:
        report = run_within(go(), args.deadline)
    except OutOfTime as exc:
        err.write(f"inboxready: {shown(args.file)}: {exc}\n")
        return EXIT_UNCHECKED
    if args.json:
        write_json(report.to_json(), out)
    else:
        render_message(report, out, _Style(_use_colour(out, args.color)))
    return _message_exit(report)


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


# -- profiles, roundtrip, watch ------------------------------------------------------------------


def _password_from_env_or_prompt(err: TextIO, what: str) -> str | None:
    value = os.environ.get("INBOXREADY_PASSWORD")
    if value:
        return value
    if not sys.stdin or not sys.stdin.isatty():
        return None
    import getpass

    return getpass.getpass(f"Password for {what} (stored in the system keyring): ")


def cmd_profile(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.mail import profiles as P
    from inboxready.core.store.credentials import KeyringUnavailable
    from inboxready.core.mail.roundtrip import check_profile

    store = P.ProfileStore()
    if store.problem:
        err.write(f"inboxready: {store.problem}\n")
    action = args.profile_command
    try:
        if action == "add":
            is_send = args.smtp is not None
            host, port = P.split_host_port(args.smtp if is_send else args.imap, 587 if is_send else 993)
            security = P.Security.parse(args.security) if args.security else P.security_for_port(port)
            profile: Any
            oauth = cli_oauth.oauth_fields(args)
            if is_send:
                profile = P.SendProfile(name=args.name, host=host, port=port, security=security,
                                        username=args.user, from_addr=args.from_addr, ca_file=args.ca_file, **oauth)
            else:
                profile = P.ReadProfile(name=args.name, host=host, port=port, security=security,
                                        username=args.user, address=args.address, ca_file=args.ca_file,
                                        authserv_ids=list(args.receiver), **oauth)
            password = None
            if oauth:
                store.put(profile, None)
                kind = "sending" if is_send else "reading"
                out.write(f"Saved {kind} profile '{shown(profile.name)}' ({shown(host)}:{port}, {security}), signing "
                          f"in with {'Microsoft' if profile.oauth_provider == 'microsoft' else 'Google'}.\n")
                if args.no_signin:
                    out.write(f"Sign in when ready: inboxready profile signin {shown(profile.name)}\n")
                    return EXIT_OK
                code = cli_oauth.sign_in(profile, args, out, err)
                if code != EXIT_OK:
                    err.write(f"The profile was saved; sign in later with: inboxready profile signin "
                              f"{shown(profile.name)}\n")
                return code
            if not args.no_password and profile.username:
                password = _password_from_env_or_prompt(err, f"{profile.username} on {host}")
                if password is None:
                    err.write("inboxready: no password: set INBOXREADY_PASSWORD or run this in a terminal to be "
                              "asked (use --no-password if the server needs none)\n")
                    return EXIT_UNCHECKED
            store.put(profile, password)
            kind = "sending" if is_send else "reading"
            out.write(f"Saved {kind} profile '{shown(profile.name)}' ({shown(host)}:{port}, {security})"
                      + (", password in the system keyring" if password else "") + ".\n")
            for w in profile.warnings:
                err.write(f"inboxready: warning: {shown(w)}\n")
            return EXIT_OK
        if action == "list":
            items = store.all()
            if args.json:
                write_json([dict(p.to_json(), kind=p.kind) for p in items], out)
            elif not items:
                out.write("No profiles yet. Add one with: inboxready profile add NAME --smtp HOST:PORT --user USER\n")
            for p in items if not args.json else []:
                how = f" (sign-in: {p.oauth_provider.title()})" if p.uses_oauth else ""
                out.write(f"{p.kind:<5} {shown(p.name):<20} {shown(p.host)}:{p.port} {p.security} "
                          f"{shown(p.username)}{how}\n")
            return EXIT_OK
        if action == "test":
            found = store.find(args.name)
            if not found:
                err.write(f"inboxready: there is no profile called '{shown(args.name)}'\n")
                return EXIT_UNCHECKED

            async def go() -> list[Any]:
                return [await check_profile(p, timeout=max(5.0, args.timeout * 3)) for p in found]

            results = asyncio.run(go())
            if args.json:
                write_json([dict(r.to_json(), profile=p.id) for p, r in zip(found, results)], out, ensure_ascii=True)
            else:
                style = _Style(_use_colour(out, args.color))
                for p, r in zip(found, results):
                    mark = style("✓", "32") if r.ok else style("✗", "31")
                    out.write(f"{mark} {p.kind} profile '{shown(p.name)}': {shown(r.message)}\n")
                    hint = cli_oauth.sign_in_hint(r, p.name)
                    if hint:
                        out.write(f"  {hint}\n")
            return EXIT_OK if all(r.ok for r in results) else EXIT_FINDINGS
        if action == "remove":
            found = [p for p in store.find(args.name)
                     if not (args.send and p.kind != "send") and not (args.read and p.kind != "read")]
            if not found:
                err.write(f"inboxready: there is no profile called '{shown(args.name)}'\n")
                return EXIT_UNCHECKED
            for p in found:
                store.remove(p)
                what = "its sign-in (unless another profile uses it)" if p.uses_oauth else "its password"
                out.write(f"Removed {p.kind} profile '{shown(p.name)}' and {what}.\n")
            return EXIT_OK
        if action == "signin":
            return cli_oauth.cmd_signin(store, args, out, err)
        if action == "signout":
            return cli_oauth.cmd_signout(store, args, out, err)
    except (P.ProfileError, KeyringUnavailable) as exc:
        err.write(f"inboxready: {shown(exc)}\n")
        return EXIT_UNCHECKED
    except OSError as exc:  # the profiles file can't be written (a read-only folder, a full disk...)
        err.write(f"inboxready: the profiles could not be saved ({shown(exc.strerror or exc)}); nothing was "
                  "changed\n")
        return EXIT_UNCHECKED
    err.write("inboxready: say what to do: profile add|list|test|remove|signin|signout\n")
    return EXIT_UNCHECKED


def _progress_printer(err: TextIO) -> Any:
    def show(p: Any) -> None:
        err.write(f"  … {shown(p.message)}\n")
        err.flush()
    return show


def _render_roundtrip(result: Any, args: argparse.Namespace, out: TextIO) -> int:
    out = safe_stream(out)
    if args.json:
        write_json(result.to_json(), out)
    else:
        style = _Style(_use_colour(out, args.color))
        out.write(style(shown(result.summary), "1") + "\n")
        _findings(result.findings, out, style)
        if result.report is not None:
            render_message(result.report, out, style)
    if not result.ok:
        return EXIT_UNCHECKED
    return _message_exit(result.report) if result.report is not None else EXIT_UNCHECKED


def cmd_roundtrip(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.mail import profiles as P
    from inboxready.core.mail.links import link_domain_fixes
    from inboxready.core.mail.roundtrip import roundtrip

    store = P.ProfileStore()
    try:
        send, read = store.get_send(args.send_profile), store.get_read(args.read_profile)
    except P.ProfileError as exc:
        err.write(f"inboxready: {shown(exc)}\n")
        return EXIT_UNCHECKED

    async def go() -> Any:
        client = DnsClient(args.nameserver, timeout=DEFAULT_TIMEOUT, deadline=args.wait + 60)
        try:
            result = await roundtrip(send, read, to=args.to, timeout=args.wait, dns=client,
                                   on_progress=None if args.json else _progress_printer(err),
                                   send_password=os.environ.get("INBOXREADY_SMTP_PASSWORD") or None,
                                   read_password=os.environ.get("INBOXREADY_IMAP_PASSWORD") or None,
                                   delete_after=args.delete, unsubscribe_url=args.unsubscribe_url)
            if result.report is not None:
                await link_domain_fixes(result.report, client=client)
            return result
        finally:
            client.close()

    result = asyncio.run(go())
    _sign_in_hint(result, send if result.status == "send-failed" else read, err)
    return _render_roundtrip(result, args, out)


def _sign_in_hint(result: Any, profile: Any, err: TextIO) -> None:
    hint = cli_oauth.sign_in_hint(result.error, profile.name) if result.error is not None else ""
    if hint:
        err.write(f"inboxready: {hint}\n")


def cmd_watch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.mail import profiles as P
    from inboxready.core.mail.compose import new_token, valid_token
    from inboxready.core.mail.links import link_domain_fixes
    from inboxready.core.mail.roundtrip import await_message

    store = P.ProfileStore()
    try:
        read = store.get_read(args.read_profile)
    except P.ProfileError as exc:
        err.write(f"inboxready: {shown(exc)}\n")
        return EXIT_UNCHECKED
    token = args.token or new_token()
    if args.token and not valid_token(args.token):
        err.write(f"inboxready: '{shown(args.token)}' is not a usable token: use 6 to 40 letters and digits, like "
                  f"{new_token()}\n")
        return EXIT_UNCHECKED
    if not args.json:
        err.write(f"Send a message from your platform to {shown(read.mailbox_address) or 'the reading mailbox'} with "
                  f"{token} in the subject. Waiting up to {args.wait:g} s…\n")

    async def go() -> Any:
        client = DnsClient(args.nameserver, timeout=DEFAULT_TIMEOUT, deadline=args.wait + 60)
        try:
            result = await await_message(read, token, timeout=args.wait, dns=client,
                                         on_progress=None if args.json else _progress_printer(err),
                                         password=os.environ.get("INBOXREADY_IMAP_PASSWORD") or None,
                                         delete_after=args.delete)
            if result.report is not None:
                await link_domain_fixes(result.report, client=client)
            return result
        finally:
            client.close()

    result = asyncio.run(go())
    _sign_in_hint(result, read, err)
    return _render_roundtrip(result, args, out)


# -- self-test -----------------------------------------------------------------------------------

# What the engine must find for the bundled demo domains (resources/zones): (domain, check, status, code).
SELF_TEST_TIMEOUT = 2.5  # seconds per DNS query (demo-timeout.example waits this long once)
SELF_TEST_EXPECT = (
    ("demo-allgood.example", "spf", Status.PASS, None),
    ("demo-allgood.example", "dmarc", Status.PASS, None),
    ("demo-toomany.example", "spf", Status.FAIL, "spf.too-many-lookups"),
    ("demo-nodmarc.example", "dmarc", Status.FAIL, "dmarc.no-record"),
    ("demo-parked.example", "mx", None, "mx.parked-lockdown"),
    ("demo-timeout.example", "spf", Status.ERROR, None),
)


def cmd_self_test(out: TextIO, err: TextIO) -> int:
    """Run the engine against the demo zones on loopback; one line: pass or what went wrong."""
    import time as _time

    from inboxready.app.demo import start_demo_server

    started = _time.monotonic()
    try:
        server, demo = start_demo_server()
    except Exception as exc:  # a broken install: say so plainly
        out.write(f"InboxReady {__version__} self-test: FAIL: the built-in DNS server did not start "
                  f"({type(exc).__name__}: {exc})\n")
        return EXIT_UNCHECKED
    try:
        domains = sorted({d for d, *_ in SELF_TEST_EXPECT})
        # a longer wait than the app's demo: a busy machine must not turn a slow answer into "couldn't check"
        options = CheckOptions(nameservers=[server.address], timeout=SELF_TEST_TIMEOUT, deadline=30.0,
                               checks=demo.checks)
        reports = {r.domain: r for r in asyncio.run(run_many(domains, options, concurrency=len(domains)))}
    except Exception as exc:
        out.write(f"InboxReady {__version__} self-test: FAIL: the check engine stopped "
                  f"({type(exc).__name__}: {exc})\n")
        return EXIT_UNCHECKED
    finally:
        server.stop()
    problems = []
    for domain, check, status, code in SELF_TEST_EXPECT:
        result = reports[domain].checks.get(check)
        if result is None:
            problems.append(f"{domain} {check}: no result")
            continue
        if status is not None and result.status is not status:
            problems.append(f"{domain} {check}: {result.status} instead of {status}")
        if code is not None and code not in {f.code for f in result.findings}:
            problems.append(f"{domain} {check}: {code} not found")
    elapsed = _time.monotonic() - started
    if problems:
        out.write(f"InboxReady {__version__} self-test: FAIL ({'; '.join(problems)})\n")
        return EXIT_FINDINGS
    out.write(f"InboxReady {__version__} self-test: pass ({len(SELF_TEST_EXPECT)} results on "
              f"{len(domains)} demo domains as expected, {elapsed:.1f} s)\n")
    return EXIT_OK


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    # every byte printed goes through a stream that shows control characters escaped (app/cli/out.py)
    out = safe_stream(out or sys.stdout)
    err = safe_stream(err or sys.stderr)
    parser = build_parser()
    try:
        with Parser.using(out, err):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2, --help/--version exit 0
        return int(exc.code or 0)
    if args.self_test:
        return cmd_self_test(out, err)
    if args.command is None:
        parser.print_help(out)
        return EXIT_UNCHECKED
    try:
        handler = getattr(args, "handler", None)
        if handler is not None:
            return int(handler(args, out, err))
        if args.command == "check":
            return cmd_check(args, out, err)
        if args.command == "spf":
            return cmd_spf(args, out, err)
        if args.command == "headers":
            return cmd_headers(args, out, err)
        if args.command == "profile":
            return cmd_profile(args, out, err)
        if args.command == "roundtrip":
            return cmd_roundtrip(args, out, err)
        if args.command == "watch":
            return cmd_watch(args, out, err)
    except KeyboardInterrupt:
        err.write("inboxready: interrupted\n")
        return EXIT_UNCHECKED
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - so the interpreter's final flush stays quiet
        except OSError:
            pass
        return EXIT_UNCHECKED
    except OSError as exc:  # a folder or file we need that can't be used (read-only, a directory, full disk)
        where = f" ({shown(exc.filename)})" if getattr(exc, "filename", None) else ""
        err.write(f"inboxready: a file InboxReady needs could not be used{where}: {shown(exc.strerror or exc)}\n")
        return EXIT_UNCHECKED
    except Exception as exc:  # a bug: one sentence, not a traceback (INBOXREADY_DEBUG=1 shows it)
        if os.environ.get("INBOXREADY_DEBUG"):
            raise
        err.write(f"inboxready: stopped on an unexpected problem ({type(exc).__name__}: {shown(exc)[:300]}). "
                  "Nothing was changed by it; please report it (INBOXREADY_DEBUG=1 shows the details).\n")
        return EXIT_UNCHECKED
    parser.print_help(err)
    return EXIT_UNCHECKED


if __name__ == "__main__":
    sys.exit(main())
