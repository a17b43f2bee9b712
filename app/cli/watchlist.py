"""``inboxready watchlist``: the watch list from the command line, and the run for the OS scheduler.

    inboxready watchlist add DOMAIN [--every 1d|6h|30m|1w] [-s SELECTOR]... [--off] [--only LIST] [--skip LIST]
    inboxready watchlist remove DOMAIN
    inboxready watchlist list [--json]
    inboxready watchlist run [--all] [--json] [-n IP[:PORT]] [--timeout S] [--deadline S] [--only LIST] [--skip LIST]
    inboxready watchlist reminders [--json]

``run`` exit codes: 0 nothing changed, 1 something changed or got worse (or a domain's first check found
something broken), 2 couldn't check (or usage).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any, TextIO

from inboxready.core.context import CheckOptions
from inboxready.core.domain import DomainError
from inboxready.core.store.history import History
from inboxready.core.monitor.reminders import DismissedStore, reminders
from inboxready.core.monitor.watchlist import (
    DEFAULT_INTERVAL, IntervalError, WatchList, describe_interval, exit_code, format_interval, parse_interval,
    run_watchlist,
)

from .out import shown, shown_lines, write_json

EXIT_OK, EXIT_CHANGED, EXIT_UNCHECKED = 0, 1, 2


def _interval(value: str) -> int:
    try:
        return parse_interval(value)
    except IntervalError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("watchlist", parents=[common],
                       help="the monitor: re-check a list of domains on a schedule and hear about changes",
                       description="The monitor: keep a list of domains to re-check on a schedule. 'run' is meant for the OS "
                                   "scheduler (see docs/WATCHLIST.md).",
                       epilog="run exits 0 when nothing changed, 1 when something changed or got worse (or a "
                              "domain's first check found something broken), 2 when a domain couldn't be checked.")
    p.set_defaults(handler=cmd_watchlist, watch_command=None)
    wsub = p.add_subparsers(dest="watch_command", metavar="ACTION")
    add = wsub.add_parser("add", parents=[common], help="watch a domain (or change how often)",
                          description="Add DOMAIN to the watch list, or change how it is watched.")
    add.add_argument("domain", help="the domain to watch")
    add.add_argument("--every", type=_interval, default=DEFAULT_INTERVAL, metavar="INTERVAL",
                     help="how often to check: 30m, 6h, 1d (default), 1w")
    add.add_argument("-s", "--selector", action="append", default=[], metavar="SELECTOR",
                     help="a DKIM selector your mail is signed with (repeatable)")
    add.add_argument("--off", action="store_true", help="add it switched off")
    add.add_argument("--only", type=_checks, metavar="LIST",
                     help="run only these checks for this domain, every time (e.g. spf,dkim,dmarc,mx)")
    add.add_argument("--skip", type=_checks, metavar="LIST",
                     help="leave these checks out for this domain, every time (e.g. starttls where port 25 is "
                          "blocked)")
    rm = wsub.add_parser("remove", parents=[common], help="stop watching a domain",
                         description="Remove DOMAIN from the watch list (its history stays).")
    rm.add_argument("domain", help="the domain to stop watching")
    wsub.add_parser("list", parents=[common], help="show the watched domains",
                    description="Show the watched domains, how often each is checked and when it was last.")
    run = wsub.add_parser("run", parents=[common], help="check the domains that are due and report changes",
                          description="Check the domains that are due (or --all) and report what changed since "
                                      "their last check. Meant for the OS scheduler (see docs/WATCHLIST.md).",
                          epilog="Exit codes: 0 nothing changed; 1 something changed or got worse (or a "
                                 "domain's first check found something broken); 2 a domain couldn't be checked.")
    run.add_argument("--all", action="store_true", help="check every switched-on domain, due or not")
    run.add_argument("--only", type=_checks, metavar="LIST",
                     help="this run: only these checks (each domain's own choice still applies)")
    run.add_argument("--skip", type=_checks, default=(), metavar="LIST",
                     help="this run: leave these checks out, e.g. starttls where port 25 is blocked")
    from .out import add_deadline

    add_deadline(run)
    wsub.add_parser("reminders", parents=[common], help="show what to do next (key rotation, DMARC steps)",
                    description="Show what is due for the watched domains: DKIM keys to rotate, DMARC steps to "
                                "take, selectors that stopped resolving.")


def _checks(text: str) -> tuple[str, ...]:
    from .check import _check_list

    return _check_list(text)


def _choice(e: Any) -> str:
    """", only SPF, DMARC" / ", without STARTTLS": a domain's own choice of checks, in words."""
    from inboxready.core.checks.registry import CHECK_TITLES

    parts = []
    if e.only:
        parts.append("only " + ", ".join(CHECK_TITLES.get(n, n) for n in e.only))
    if e.skip:
        parts.append("without " + ", ".join(CHECK_TITLES.get(n, n) for n in e.skip))
    return (", " + "; ".join(parts)) if parts else ""


def cmd_watchlist(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    action = args.watch_command
    if action is None:
        err.write("inboxready watchlist: say what to do: add, remove, list, run or reminders\n")
        return EXIT_UNCHECKED
    wl = WatchList()
    if wl.problem:
        err.write(f"inboxready: {shown(wl.problem)}\n")
    try:
        return _action(wl, action, args, out, err)
    except OSError as exc:  # the watch list or the history can't be written: nothing half done
        err.write(f"inboxready: {shown(exc.strerror or exc)} Nothing was changed.\n")
        return EXIT_UNCHECKED


def _action(wl: WatchList, action: str, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if action == "add":
        try:
            e = wl.add(args.domain, args.every, list(args.selector), enabled=not args.off, only=args.only,
                       skip=args.skip)
        except (DomainError, ValueError) as exc:
            err.write(f"inboxready: {shown(exc)}\n")
            return EXIT_UNCHECKED
        state = "" if e.enabled else " (switched off)"
        out.write(f"Watching {shown(e.domain)}, checked {describe_interval(e.interval)}{_choice(e)}{state}.\n")
        return EXIT_OK
    if action == "remove":
        if wl.remove(args.domain):
            out.write(f"Stopped watching {shown(args.domain)}.\n")
            return EXIT_OK
        err.write(f"inboxready: {shown(args.domain)} is not on the watch list\n")
        return EXIT_UNCHECKED
    if action == "list":
        return _list(wl, args, out)
    if action == "run":
        return _run(wl, args, out, err)
    if action == "reminders":
        return _reminders(args, out, err)
    return EXIT_UNCHECKED


def _list(wl: WatchList, args: argparse.Namespace, out: TextIO) -> int:
    if wl.unreadable:  # the problem was said; an empty list here would not be the truth
        return EXIT_UNCHECKED
    unusable = wl.unusable_names()  # said on stderr (wl.problem); never listed as "empty"
    code = EXIT_UNCHECKED if unusable else EXIT_OK
    if args.json:
        write_json({"domains": [e.to_json() for e in wl.entries], "unusable": unusable}, out)
        return code
    if not wl.entries and not unusable:
        out.write("The watch list is empty. Add a domain: inboxready watchlist add example.com --every 1d\n")
        return EXIT_OK
    for e in wl.entries:
        last = f"last checked {shown(e.last_run.replace('T', ' '))}" if e.last_run else "not checked yet"
        if e.last_run_in_future():
            last += " (a time in the future: it is checked at the next run)"
        status = f" ({shown(e.last_status)})" if e.last_status else ""
        off = "" if e.enabled else ", switched off"
        sels = f", selectors {shown(', '.join(e.selectors))}" if e.selectors else ""
        out.write(f"{shown(e.domain)}: {describe_interval(e.interval)} [{format_interval(e.interval)}]{off}{sels}"
                  f"{_choice(e)}; {last}{status}\n")
    for name in unusable:
        out.write(f"{shown(name)}: can't be used (not a domain name); kept in the file, not checked\n")
    return code


def _run(wl: WatchList, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .check import chosen_checks, nothing_chosen

    if not chosen_checks(args.only, args.skip):
        err.write(f"inboxready: {nothing_chosen(args.only, args.skip)}\n")
        return EXIT_UNCHECKED
    if wl.unreadable:
        return EXIT_UNCHECKED
    options = CheckOptions(nameservers=args.nameserver, timeout=args.timeout, deadline=args.deadline)
    before = wl.problem
    with History() as history:
        if history.problem:
            err.write(f"inboxready: {shown(history.problem)}\n")
        opened = history.problem
        outcomes = asyncio.run(run_watchlist(options, history, only_due=not args.all, watchlist=wl,
                                             only=args.only, skip=tuple(args.skip)))
        lost = history.problem if history.problem != opened else ""
    code = exit_code(outcomes)
    if lost:  # a run not kept (another program held the history past the wait, a full disk): never "no change"
        err.write(f"inboxready: {shown(lost)} The next run compares with the last check that was kept.\n")
        code = code or EXIT_UNCHECKED
    if wl.problem and wl.problem != before:  # the run times couldn't be saved
        err.write(f"inboxready: {shown(wl.problem)}\n")
        code = code or EXIT_UNCHECKED
    if args.json:
        write_json({"exit_code": code, "outcomes": [o.to_json() for o in outcomes]}, out)
        return code
    if wl.unusable:  # said on stderr: entries that can't be used were not checked
        code = code or EXIT_UNCHECKED
    if not outcomes:
        if not wl.entries and wl.unusable:
            out.write("No usable domain on the watch list (see above).\n")
        elif not wl.entries:
            out.write("The watch list is empty. Add a domain: inboxready watchlist add example.com\n")
        else:
            out.write("No domain is due for a check yet (use --all to check them all now).\n")
        return code
    for o in outcomes:
        out.write(shown(o.headline()) + "\n")
        for line in shown_lines(o.message(limit=50)).split("\n"):
            out.write(f"  {line}\n")
        for c in o.changes:
            _write_change_fix(c.fix, out)
    return code


def _write_change_fix(fix: dict | None, out: TextIO, indent: str = "  ") -> None:  # type: ignore[type-arg]
    """The record a change asks for (a refreshed flattened copy), as the check gives it."""
    if not isinstance(fix, dict):
        return
    records = [fix, *[x for x in fix.get("also_publish") or [] if isinstance(x, dict)]]
    for i, rec in enumerate(records):
        verb = {"replace": "Replace with", "remove": "Remove"}.get(str(rec.get("action")), "Publish")
        if i:
            verb = "and " + verb[0].lower() + verb[1:]
        out.write(f"{indent}{verb}: {rec.get('type')} record at {rec.get('host')}\n{indent}  {rec.get('value')}\n")


def _reminders(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with History() as history:
        if history.problem:
            err.write(f"inboxready: {shown(history.problem)}\n")
        if not history.available:
            return EXIT_UNCHECKED  # no history to read: "no reminders" would not be true
        items = reminders(history, dismissed=DismissedStore())
    if args.json:
        write_json({"reminders": [r.to_json() for r in items]}, out)
        return EXIT_OK
    if not items:
        out.write("No reminders: nothing to do for now.\n")
        return EXIT_OK
    for r in items:
        out.write(f"{shown(r.domain)}: {shown(r.title)} (since {shown(r.since)})\n  {shown(r.text)}\n")
        for i, step in enumerate(r.steps, 1):
            out.write(f"  {i}. {shown(step)}\n")
        if r.fix is not None:
            verb = {"replace": "Replace with", "remove": "Remove"}.get(r.fix.action, "Publish")
            out.write(f"  {verb}: {shown(r.fix.type)} record at {shown(r.fix.host)}\n    {shown(r.fix.value)}\n")
    return EXIT_OK


__all__ = ["cmd_watchlist", "register"]
