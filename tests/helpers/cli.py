"""The command line run in the test's own process: ``cli(*argv)`` → (exit code, standard output, standard
error), as a user would see them."""

from __future__ import annotations

import io

from inboxready.app.cli import main


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()
