"""``inboxready verify FILE [--sha256 HASH]``: is a saved audit report (.pdf, .html or .json) byte for byte
the file InboxReady exported?

It is when the SHA-256 of the whole file is one this computer recorded at export (``check --report`` and
the app's Export keep it in the local history with the time and the domain), or the one given with
``--sha256``. The SHA-256 printed *inside* a report covers its data only: for HTML and JSON, whose bytes
follow from that data, it is enough; for a PDF it is not, since its pages can be edited while the
attached data stays (``inboxready.core.audit.check_file``).

Exit 0 intact; 1 changed, not a report, or not confirmed (nothing recorded to compare with); 2 the file
could not be read.
"""

from __future__ import annotations

import argparse
import re
import shlex
from typing import TextIO

from .out import shown, write_json

MAX_BYTES = 100 * 1024 * 1024


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("verify", help="check that a saved audit report has not been changed",
                       description="Check that an audit report saved with --report or the app's Export "
                                   "(PDF, HTML or JSON) is byte for byte the file that was exported: its "
                                   "SHA-256 is compared with the one recorded at export (this computer's "
                                   "history, or --sha256).",
                       epilog="Exit codes: 0 intact; 1 changed, or not confirmed (no SHA-256 recorded for it); 2 "
                              "the file can't be read.")
    p.add_argument("file", metavar="FILE", help="the saved report (.pdf, .html or .json)")
    p.add_argument("--sha256", metavar="HASH",
                   help="the file's SHA-256, printed and recorded when the report was exported")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=cmd_verify)


def cmd_verify(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.policy.audit import check_file
    from inboxready.core.store.history import History

    try:
        with open(args.file, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        err.write(f"inboxready: can't read {shown(args.file)}: {shown(exc.strerror or exc)}\n")
        return 2
    if len(data) > MAX_BYTES:
        out.write(f"{shown(args.file)}: larger than {MAX_BYTES // (1024 * 1024)} MB, so not an InboxReady report "
                  "(not read further).\n")
        return 1
    with History() as history:
        result = check_file(data, args.sha256, history=history if history.available else None)
    hint = ""
    if not result.intact and _MESSAGE_HEAD.match(data[:4096]):
        # `verify` checks InboxReady's own exported reports; a saved email is checked with `headers`
        hint = (f"This looks like an email message. To check how it was authenticated, use: inboxready headers "
                f"{shlex.quote(str(args.file))}")
    if getattr(args, "json", False):
        write_json(dict(result.to_json(), file=str(args.file), **({"hint": hint} if hint else {})), out)
    else:
        out.write(f"{shown(args.file)}: {shown(result.message)}\n")
        if hint:
            out.write(shown(hint) + "\n")
    return 0 if result.intact else 1


# the start of an RFC 5322 message: header fields ("Name: value", folded lines), one of them a mail header
_MESSAGE_HEAD = re.compile(rb"\A(?:[\x21-\x39\x3b-\x7e]+:[^\r\n]*\r?\n(?:[ \t][^\r\n]*\r?\n)*){2,}", re.S)
