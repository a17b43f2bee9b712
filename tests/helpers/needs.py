"""What a test needs from the machine (a program, a kernel feature) and does not find.

On a developer's machine the test is skipped with the line that installs what is missing; under CI
(``CI=true``, set by ``.ci/run``) it fails instead: CI installs everything the suite uses, so a missing
program there is a broken set-up, and a suite that passes by running fewer tests must not look green."""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing(msg: str) -> NoReturn:
    """Skip with ``msg``; fail with it under CI."""
    if in_ci():
        pytest.fail(msg + " (CI=true: this test must not be skipped)", pytrace=False)
    pytest.skip(msg)


def program(name: str, package: str) -> str:
    """The path of the program ``name`` (from the Debian package ``package``), or a skip/CI failure."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed: apt-get install -y {package}")
    return path
