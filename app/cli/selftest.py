"""``inboxready --self-test``: check the bundled demo domains on a loopback DNS server and say in one line
whether this installation works (no network needed). A flag of the main parser, not a command:
``register(parser)`` adds it and ``main`` runs ``cmd_self_test`` before any command.

Exit 0 pass; 1 a result was not the one expected; 2 the DNS server or the engine didn't start.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TextIO

from inboxready.core import __version__
from inboxready.core.checks.runner import run_many
from inboxready.core.context import CheckOptions
from inboxready.core.model import Status

EXIT_OK, EXIT_FINDINGS, EXIT_UNCHECKED = 0, 1, 2


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--self-test", action="store_true",
                        help="check the bundled demo domains on a loopback DNS server and say whether this "
                             "installation works (no network needed)")


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
    try:  # the public-suffix data the From-name check reads (package data a frozen build must carry)
        from inboxready.core.mail.sendername import display_name_claims

        if display_name_claims('"paypal.co.uk" <x@shop.example>', "x@shop.example", "shop.example") != ["paypal.co.uk"]:
            problems.append("the From-name check did not see the domain in a sender's name")
    except Exception as exc:
        problems.append(f"the From-name check stopped ({type(exc).__name__}: {exc})")
    elapsed = _time.monotonic() - started
    if problems:
        out.write(f"InboxReady {__version__} self-test: FAIL ({'; '.join(problems)})\n")
        return EXIT_FINDINGS
    out.write(f"InboxReady {__version__} self-test: pass ({len(SELF_TEST_EXPECT)} results on "
              f"{len(domains)} demo domains as expected, {elapsed:.1f} s)\n")
    return EXIT_OK
