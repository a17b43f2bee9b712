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

Each command is a module of this package with ``register(sub, common)``, listed in ``COMMAND_MODULES``
(``check.py``, ``spf.py``, ``headers.py``, ``profile.py``, ``roundtrip.py``, ``watch.py``, ``bounce.py``...);
``--self-test`` is ``selftest.py``. What they share: ``out.py`` (the output streams, option types, the
deadline) and ``text.py`` (colours, and how reports, findings and messages read as text).

Exit codes: 0 everything passed; 1 something to fix was found (a failure or a warning);
2 something could not be checked (and nothing to fix was found), or the command was used wrongly.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Sequence, TextIO, cast

from inboxready.core import __version__
from inboxready.core.dns.client import DEFAULT_TIMEOUT

from . import (
    bounce, build, check, headers, profile, publish, reports, roundtrip, selftest, spf, verify, watch, watchlist, worker,
)
from .check import _pyside_missing  # noqa: F401 - looked up here by check (a test stands in for it)
from .out import DNS_TIMEOUT, Noted, Parser, json_error, nameserver, shown, write_json

EXIT_UNCHECKED = 2


# The commands, each a module of this package (``app/cli/<name>.py``) with ``register(sub, common)`` that adds
# its sub-parser and sets ``handler=fn(args, out, err) -> exit code`` as a default; ``--help`` lists them in
# this order: what a newcomer needs first (check), then reading messages and bounces, building and publishing
# records, reports and the watch list, the mail profiles, and last the app's own worker. A new command is a
# module with a ``register`` and one entry here.
COMMAND_MODULES = (check, spf, headers, bounce, build, publish, reports, watchlist, profile, roundtrip, watch, verify,
                   worker)


def _command_modules() -> list[Any]:
    return [module.register for module in COMMAND_MODULES]


def build_parser() -> argparse.ArgumentParser:
    common = Parser(add_help=False)
    common.add_argument("--nameserver", "-n", action="append", type=nameserver, metavar="IP[:PORT]",
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
        epilog="Start with 'inboxready check example.com' (your domain), or 'inboxready check --demo' to see "
               "example domains with typical problems (no network needed). 'inboxready COMMAND --help' says more "
               "about each command. Exit codes: 0 all passed, 1 something to fix was found, 2 couldn't check or "
               "usage error.",
    )
    parser.add_argument("--version", action="version", version=f"inboxready {__version__}")
    selftest.register(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in _command_modules():
        register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    # every byte printed goes through a stream that shows control characters escaped (app/cli/out.py)
    noted_out, noted_err = Noted(out or sys.stdout), Noted(err or sys.stderr)
    args = list(sys.argv[1:] if argv is None else argv)
    code = _main(args, cast(TextIO, noted_out), cast(TextIO, noted_err))
    # --json: a command that stopped before printing its JSON prints the error as JSON, so a script reading
    # standard output never takes an empty output (or nothing at all) for a success
    if code != 0 and _wants_json(args) and not noted_out.written and args[:1] != ["worker"]:
        try:
            write_json(json_error(noted_err.text, code), cast(TextIO, noted_out))
        except BrokenPipeError:  # the reader went away (| true): stop quietly, as _main does
            _quiet_stdout()
    return code


def _wants_json(args: list[str]) -> bool:
    """``--json`` among the options (before a ``--``), or a prefix of it argparse takes for it (``--js``)."""
    options = args[:args.index("--")] if "--" in args else args
    return any(len(a) >= 4 and "--json".startswith(a) for a in options)


def _quiet_stdout() -> None:
    """Standard output's reader has gone: point it at /dev/null so the interpreter's last flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _main(argv: list[str], out: TextIO, err: TextIO) -> int:
    parser = build_parser()
    try:
        with Parser.using(out, err):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2, --help/--version exit 0
        return int(exc.code or 0)
    if args.self_test:
        return selftest.cmd_self_test(out, err)
    if args.command is None:
        parser.print_help(out)
        return EXIT_UNCHECKED
    try:
        handler = getattr(args, "handler", None)
        if handler is not None:
            return int(handler(args, out, err))
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
