"""``inboxready roundtrip --send-profile NAME --read-profile NAME``: send a test message through a sending
profile, find it with a reading profile (Inbox or Junk) and explain the receiver's verdict. What it
shares with ``watch`` (awaiting a message another platform sends) is here too: the mail commands'
options and how the result is printed.

Exit 0 the message passed; 1 something to fix; 2 it couldn't be sent, found or judged.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any, TextIO

from inboxready.core.dns.client import DEFAULT_TIMEOUT, DnsClient

from . import oauth as cli_oauth
from .out import MAIL_WAIT, Parser, nameserver, safe_stream, shown, write_json
from .text import _findings, _message_exit, _Style, _use_colour, render_message

EXIT_UNCHECKED = 2


def mail_options() -> argparse.ArgumentParser:
    """The options of the mail commands (roundtrip, watch). They take --timeout as the time to wait for the
    message (as people expect there); DNS queries use the default per-query timeout."""
    mail_common = Parser(add_help=False)
    mail_common.add_argument("--nameserver", "-n", action="append", type=nameserver, metavar="IP[:PORT]",
                             help="ask this DNS server for DKIM keys and the domain check (repeatable)")
    mail_common.add_argument("--json", action="store_true", help="print JSON instead of text")
    mail_common.add_argument("--color", choices=["auto", "always", "never"], default="auto",
                             help="colour the text output (default: when printing to a terminal)")
    return mail_common


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    mail_common = mail_options()
    rt = sub.add_parser("roundtrip", parents=[mail_common], help="send a test message and read the verdict back",
                        description="Send a test message through a sending profile, find it with a reading "
                                    "profile (Inbox or Junk) and explain the receiver's verdict. Passwords come "
                                    "from the keyring, or from INBOXREADY_SMTP_PASSWORD / "
                                    "INBOXREADY_IMAP_PASSWORD.",
                        epilog="Exit codes: 0 the message passed; 1 something to fix (DMARC failed or passed only one way); 2 the message didn't arrive in time, couldn't be read, or couldn't be checked.")
    rt.add_argument("--send-profile", required=True, metavar="NAME",
                    help="the sending profile that sends the test message ('inboxready profile add NAME --smtp ...')")
    rt.add_argument("--read-profile", required=True, metavar="NAME",
                    help="the reading profile of the mailbox it goes to ('inboxready profile add NAME --imap ...')")
    rt.add_argument("--to", metavar="ADDR", help="send to this address (default: the reading profile's mailbox)")
    rt.add_argument("--timeout", "--wait", dest="wait", type=MAIL_WAIT, default=120.0, metavar="SECONDS",
                    help="how long to wait for the message to arrive (default 120)")
    rt.add_argument("--unsubscribe-url", metavar="URL",
                    help="add List-Unsubscribe with this https URL and one-click List-Unsubscribe-Post")
    rt.add_argument("--delete", action="store_true", help="delete the test message afterwards")
    rt.set_defaults(handler=cmd_roundtrip)


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
