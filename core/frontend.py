"""Where the user does what a verdict asks, so the same rule reads right in the app and on the command line.

The bulk-sender checklist and the compliance profiles tell people to send a test message or to give their
spam rate, and the app and the CLI do those in different places. Callers say which front end they are
(``APP`` by default); the core keeps one text per rule with the place filled in.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FrontEnd:
    test_message: str  # where a test message is sent and its verdict read back
    spam_rate: str  # ends "read it in Google Postmaster Tools or Microsoft SNDS and ..."


APP = FrontEnd(test_message="Test a message", spam_rate="enter it here")
CLI = FrontEnd(test_message="inboxready roundtrip",
               spam_rate="give it to inboxready check with --spam-rate (for example --spam-rate 0.08)")

__all__ = ["APP", "CLI", "FrontEnd"]
