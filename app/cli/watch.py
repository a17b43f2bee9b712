"""``inboxready watch --read-profile NAME [--token TOKEN]``: await a test message (not the monitor: that is
``watchlist``). Wait in a reading profile's mailbox for a message whose subject holds TOKEN, sent by a
platform we can't drive (a newsletter tool, a CRM), and explain its verdict as ``roundtrip`` does.

Exit 0 the message passed; 1 something to fix; 2 it didn't arrive or couldn't be judged.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any, TextIO

from inboxready.core.dns.client import DEFAULT_TIMEOUT, DnsClient

from .out import MAIL_WAIT, shown
from .roundtrip import _progress_printer, _render_roundtrip, _sign_in_hint, mail_options

EXIT_UNCHECKED = 2


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    mail_common = mail_options()
    wt = sub.add_parser("watch", parents=[mail_common],
                        help="await a test message: wait in a mailbox for a message another platform sends",
                        description="Await a test message (not the monitor: that is 'watchlist'). Wait for a "
                                    "message whose subject contains TOKEN (send it from your "
                                    "newsletter tool or CRM to the reading profile's address) and explain its "
                                    "verdict. Without --token, a new token is made and shown.",
                        epilog="Exit codes: 0 the message passed; 1 something to fix (DMARC failed or passed only one way); 2 the message didn't arrive in time, couldn't be read, or couldn't be checked.")
    wt.add_argument("--read-profile", required=True, metavar="NAME",
                    help="the reading profile of the mailbox the message goes to ('inboxready profile add NAME "
                         "--imap ...')")
    wt.add_argument("--token", metavar="TOKEN",
                    help="wait for a message whose subject contains TOKEN (default: a new token, shown to put "
                         "in the subject)")
    wt.add_argument("--timeout", "--wait", dest="wait", type=MAIL_WAIT, default=600.0, metavar="SECONDS",
                    help="how long to wait for the message (default 600)")
    wt.add_argument("--delete", action="store_true", help="delete the message afterwards")
    wt.set_defaults(handler=cmd_watch)


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
