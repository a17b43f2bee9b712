"""``inboxready headers FILE|- [--receiver AUTHSERV-ID]... [--offline]``: read a received message (or just
its headers) and explain what the receiving service decided for SPF, DKIM and DMARC, with our own
re-check of every DKIM signature and the records that fix what failed.

Exit 0 the message passed; 1 something to fix; 2 couldn't check (or the file can't be read).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from inboxready.core.dns.client import DnsClient

from .out import OutOfTime, add_deadline, run_within, shown, write_json
from .text import _message_exit, _Style, _use_colour, render_message

EXIT_UNCHECKED = 2


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    headers = sub.add_parser("headers", parents=[common], help="explain the verdict in a received message",
                             description="Read a received message (or just its headers) and explain what the "
                                         "receiving service decided for SPF, DKIM and DMARC, with our own "
                                         "re-check of every DKIM signature.",
                             epilog="Exit codes (from the verdict on the message, DMARC first): 0 it passed; 1 "
                                    "something to fix; 2 the message couldn't be read or its verdict couldn't "
                                    "be checked (a side check that couldn't run doesn't count).")
    headers.add_argument("file", metavar="FILE", help="the message or its headers; - reads standard input")
    headers.add_argument("--receiver", action="append", default=[], metavar="AUTHSERV-ID",
                         help="trust only Authentication-Results from this receiving service (e.g. "
                              "mx.google.com; repeatable); default: the topmost one")
    headers.add_argument("--offline", action="store_true",
                         help="don't look up DKIM keys to re-check the signatures")
    add_deadline(headers, what="the message's")
    headers.set_defaults(handler=cmd_headers)


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
