"""The reminders' test domain, keys and stored runs (tests/core/monitor/test_reminders.py and the app's
watch window)."""

from __future__ import annotations

from datetime import datetime

from inboxready.core.checks.runner import run_check
from inboxready.core.context import CheckOptions
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import Fix
from inboxready.core.store.history import History

from ..conftest import run
from ..core.records.test_dkim_parse import rsa_b64
from .zones import MAIL_BASE, SPF_LINE

KEY_A = rsa_b64(2048, seed=21)
KEY_B = rsa_b64(2048, seed=22)

ZONE = MAIL_BASE + SPF_LINE
REJECT = '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"\n'
NONE = '_dmarc IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@example.com"\n'
QUARANTINE = '_dmarc IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"\n'


def txt(value: str) -> str:
    return Fix("x", "TXT", value).zone_value


def key(k: str, selector: str = "google") -> str:
    """A DKIM key record line at ``selector``."""
    return f"{selector}._domainkey IN TXT {txt('v=DKIM1; k=rsa; p=' + k)}\n"


def store(server: DnsTestServer, h: History, zone: str, when: datetime, domain: str = "example.com",
          **opts: object) -> None:
    """Check ``zone`` for real and store the run as if it had been made at ``when``."""
    server.replace_zone(domain, zone)
    options = CheckOptions(nameservers=[server.address], timeout=3.0, deadline=30.0, **opts)  # type: ignore[arg-type]
    report = run(run_check(domain, options))
    report.started = when.isoformat()
    assert h.add(report) is not None
