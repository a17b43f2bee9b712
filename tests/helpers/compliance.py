"""The compliance profiles' test domain and fakes (tests/core/policy/test_compliance.py, test_audit.py, the
app's PDF export)."""

from __future__ import annotations

from typing import Any

from inboxready.core.mail.message import MessageReport
from inboxready.core.model import CheckResult, Fix, Status

from ..core.records.test_dkim_parse import rsa_b64

DOMAIN = "acme.test"


def key_txt(bits: int) -> str:
    """A DKIM key record of ``bits`` bits as zone-file TXT strings."""
    return Fix("x", "TXT", f"v=DKIM1; k=rsa; p={rsa_b64(bits)}").zone_value


def fake(name: str, status: Status, detail: dict[str, Any]) -> CheckResult:
    return CheckResult(name=name, status=status, summary="", detail=detail)


def message(tls: bool | None, dmarc: Status = Status.PASS, one_click: bool = False) -> MessageReport:
    """A received message's report with only what the profiles read: DMARC, TLS and one-click unsubscribe."""
    return MessageReport(
        checks={"dmarc": fake("dmarc", dmarc, {"result": "pass" if dmarc is Status.PASS else "fail"}),
                "delivery": fake("delivery", Status.PASS, {"tls": tls, "one_click": one_click})},
        from_="news@acme.test", from_domain=DOMAIN, subject="Test", message_id="<1@acme.test>", receiver="mx.test")
