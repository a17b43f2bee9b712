"""QA: how a domain is used for mail (sends, receives, neither) and advice that agrees across the cards.

Realistic zones as small businesses have them, checked with every check at once, the way the app and the
CLI run them. Every record a card suggests is published and the domain checked again.
"""

from __future__ import annotations

from inboxready.core.checks import run_check
from inboxready.core.context import CheckOptions
from inboxready.core.dnsserver import DnsTestServer
from inboxready.core.model import DomainReport, Fix, Status

from ..conftest import run

GOOGLE = """$ORIGIN google.com.
_spf TXT "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com include:_netblocks3.google.com ~all"
_netblocks TXT "v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip4:66.102.0.0/20 ip4:66.249.80.0/20 ~all"
_netblocks2 TXT "v=spf1 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 ~all"
_netblocks3 TXT "v=spf1 ip4:172.217.0.0/19 ip4:172.217.32.0/20 ~all"
smtp A 142.250.27.26
"""


def check_all(server: DnsTestServer, zones: dict[str, str], domain: str) -> DomainReport:
    server.add_origin("com")  # so that _dmarc.com is NXDOMAIN, as on the Internet
    for origin, text in zones.items():
        server.replace_zone(origin, text)
    return run(run_check(domain, CheckOptions(nameservers=[server.address], timeout=2.0)))


def codes(report: DomainReport, check: str) -> list[str]:
    return [f.code for f in report.checks[check].findings]


def zone_with(origin: str, text: str, fixes: list[Fix]) -> str:
    """The zone text plus the fixes (publish/replace of TXT and MX at names inside ``origin``)."""
    lines = []
    replaced = {(f.host, f.type) for f in fixes if f.action == "replace"}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and not line.startswith("$"):
            name = origin if parts[0] == "@" else f"{parts[0]}.{origin}"
            if (name, parts[1]) in replaced:
                continue
        lines.append(line)
    for f in fixes:
        if f.action in ("publish", "replace"):
            lines.append(f.zone_line)
    return "\n".join(lines) + "\n"


# -- a null MX next to SPF senders ------------------------------------------------------------------

NULL_MX_SENDER = """$ORIGIN nullmx-sender.com.
@ MX 0 .
@ TXT "v=spf1 include:_spf.google.com ~all"
"""


def test_null_mx_with_spf_senders_is_a_contradiction_not_a_parked_domain(dns_server: DnsTestServer) -> None:
    rep = check_all(dns_server, {"google.com": GOOGLE, "nullmx-sender.com": NULL_MX_SENDER}, "nullmx-sender.com")
    mx = rep.checks["mx"]
    assert mx.status is Status.WARN and codes(rep, "mx") == ["mx.null-mx", "mx.null-mx-with-senders"]
    assert mx.fixes == [] and mx.detail["parked"] is False
    # DKIM must not claim the domain "says it sends no mail": its SPF lets Google send.
    dkim = rep.checks["dkim"]
    assert "dkim.no-mail" not in codes(rep, "dkim")
    assert "sends no mail" not in dkim.summary
