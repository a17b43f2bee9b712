"""``inboxready verify FILE [--sha256 HASH]``: check that a saved audit report (.html, .json or .pdf) is
unchanged since InboxReady wrote it (``inboxready.core.audit.explain``). Exit 0 intact, 1 changed or not
a report, 2 the file could not be read."""

from __future__ import annotations

import argparse
from typing import TextIO

MAX_BYTES = 100 * 1024 * 1024


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("verify", help="check that a saved audit report has not been changed",
                       description="Check that an audit report saved with --report or the app's Export "
                                   "(PDF, HTML or JSON) is unchanged: its SHA-256 is recomputed from the "
                                   "content and compared with the one printed in it.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--sha256", metavar="HASH",
                   help="also compare with this hash, recorded elsewhere when the report was made")
    p.set_defaults(handler=cmd_verify)


def cmd_verify(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.audit import explain

    try:
        with open(args.file, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        err.write(f"inboxready: can't read {args.file}: {exc.strerror or exc}\n")
        return 2
    if len(data) > MAX_BYTES:
        out.write(f"{args.file}: too large to be an InboxReady report.\n")
        return 1
    ok, why = explain(data, args.sha256)
    out.write(f"{args.file}: {why}\n")
    return 0 if ok else 1
