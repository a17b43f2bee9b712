"""Shared fixtures: a loopback authoritative DNS server, and helpers to run a check against it."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Iterator

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from inboxready.core.context import CheckContext, CheckOptions  # noqa: E402
from inboxready.core.dns import DnsClient  # noqa: E402
from inboxready.core.dnsserver import DnsTestServer  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CONFORMANCE = (REPO.parent / "shared" / "conformance").resolve()


def conformance_dir(*parts: str) -> Path:
    """A folder of ../shared/conformance; skips the test, loudly, only when it is absent."""
    path = CONFORMANCE.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"conformance data not found at {path} (expected ../shared/conformance beside the repo)")
    return path


@pytest.fixture
def dns_server() -> Iterator[DnsTestServer]:
    """A fresh authoritative server on 127.0.0.1 (free port). Add zones with ``add_zone``."""
    server = DnsTestServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def make_ctx(server: DnsTestServer, domain: str, **options: object) -> CheckContext:
    """A CheckContext whose DNS client asks only ``server``. Call inside a running loop."""
    opts = CheckOptions(nameservers=[server.address], timeout=float(options.pop("timeout", 2.0)), **options)  # type: ignore[arg-type]
    client = DnsClient(opts.nameservers, timeout=opts.timeout, deadline=opts.deadline)
    return CheckContext(domain=domain, dns=client, options=opts)


def run(coro):  # type: ignore[no-untyped-def]
    """Run a coroutine to completion (tests are plain functions)."""
    return asyncio.run(coro)
