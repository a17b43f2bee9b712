"""Linking what a received message shows to the fixes the domain check offers.

When a receiver failed SPF, DKIM or DMARC for a message, the answer is usually a DNS record. This module
checks the From domain with the same engine as ``inboxready check`` and attaches, to each message card
that did not pass, the fixes that the domain check found for the same protocol, so the user sees the
record to publish next to the problem.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from ..checks.registry import CHECK_TITLES
from ..checks.runner import run_check
from ..context import CheckOptions
from ..dns.client import DnsClient
from ..model import DomainReport, Finding, Severity, Status
from .message import MessageReport

LINKED = ("spf", "dkim", "dmarc")


def _client_ip(report: MessageReport) -> str | None:
    """The sending server's address as the receiving service's own Received line names it
    (``detail["sending_ip"]``), if it is an address. Never an address written in a verdict header (SPF's
    "designates …" words, ``client-ip=``): anyone can write one."""
    ip = report.detail.get("sending_ip") if report.receiver is not None else None
    if not isinstance(ip, str):
        return None
    try:
        return str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        return None


async def link_domain_fixes(report: MessageReport, *, client: DnsClient,
                            options: CheckOptions | None = None) -> DomainReport | None:
    """Check ``report.from_domain`` and attach its fixes to the message's failing cards (in place).

    Returns the domain report (also summarised in ``report.detail["domain_check"]``), or None when the
    message has no From domain. When the receiving service's Received line names the sending server's
    address, its reverse DNS is checked too (forward-confirmed, as Google and Yahoo require) and added as the message's "rdns" card. SPF fixes are linked only when SPF was judged on the From domain itself:
    a bounce address at another domain (a mailing service's) is fixed at that service, not in your DNS.
    """
    domain = report.from_domain
    if not domain:
        return None
    client_ip = _client_ip(report)
    if client_ip is not None:
        # the address the message really came from: Google and Yahoo want its reverse DNS to point back
        opts = replace(options or CheckOptions(), checks=(*LINKED, "rdns"), sending_ips=[client_ip])
    else:
        opts = replace(options or CheckOptions(), checks=LINKED)
    domain_report = await run_check(domain, opts, client=client)
    if "rdns" in domain_report.checks:
        report.checks["rdns"] = domain_report.checks["rdns"]
    for name in LINKED:
        card = report.checks.get(name)
        check = domain_report.checks.get(name)
        if card is None or check is None or card.status in (Status.PASS, Status.INFO):
            continue
        card.detail["domain_check"] = {"status": str(check.status), "summary": check.summary}
        if name == "spf":
            mailfrom = card.detail.get("mailfrom_domain")
            if mailfrom and mailfrom != domain:
                continue
        fixes = check.fixes
        if not fixes:
            continue
        card.detail["domain_fixes"] = [f.to_json() for f in fixes]
        title = CHECK_TITLES.get(name, name.upper())
        for fix in fixes:
            card.findings.append(Finding(
                f"msg.{name}-domain-fix", Severity.INFO,
                f"The domain check of {domain} says what to publish for {title}: {check.summary}",
                detail=fix.note, rfc="", fix=fix,
            ))
    report.detail["domain_check"] = {
        "domain": domain, "status": str(domain_report.status),
        "checks": {n: {"status": str(c.status), "summary": c.summary} for n, c in domain_report.checks.items()},
    }
    return domain_report
