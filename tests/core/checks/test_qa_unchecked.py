"""QA: a lookup that gets no answer is "couldn't check", never "fail", on every card of a real setup."""

from __future__ import annotations

import pytest

from inboxready.core.checks.runner import run_check
from inboxready.core.context import CheckOptions
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import DomainReport, Fix, Status

from ...conftest import run
from ..records.test_dkim_parse import rsa_b64

KEY = Fix("x", "TXT", "v=DKIM1; k=rsa; p=" + rsa_b64(2048)).zone_value

ZONES = {
    "google.com": """$ORIGIN google.com.
_spf TXT "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com include:_netblocks3.google.com ~all"
_netblocks TXT "v=spf1 ip4:64.233.160.0/19 ~all"
_netblocks2 TXT "v=spf1 ip6:2001:4860:4000::/36 ~all"
_netblocks3 TXT "v=spf1 ip4:172.217.0.0/19 ~all"
smtp A 142.250.27.26
""",
    "dmarc-service.example": '$ORIGIN dmarc-service.example.\ngw-bakery.com._report._dmarc TXT "v=DMARC1"\n',
    "gw-bakery.com": """$ORIGIN gw-bakery.com.
@ MX 1 smtp.google.com.
@ TXT "v=spf1 include:_spf.google.com ~all"
google._domainkey TXT {key}
_dmarc TXT "v=DMARC1; p=quarantine; rua=mailto:x@dmarc-service.example"
""",
    "nullmx-sender.com": '$ORIGIN nullmx-sender.com.\n@ MX 0 .\n@ TXT "v=spf1 include:_spf.google.com ~all"\n',
    "parked-shop.com": "$ORIGIN parked-shop.com.\n@ A 203.0.113.80\n",
}


def check_all(server: DnsTestServer, domain: str, silent: set[str]) -> DomainReport:
    for tld in ("com", "example"):
        server.add_origin(tld)
    for origin, text in ZONES.items():
        server.replace_zone(origin, text.replace("{key}", KEY))
    server.timeout_names.update(silent)
    return run(run_check(domain, CheckOptions(nameservers=[server.address], timeout=0.3)))


@pytest.mark.parametrize("silent, check", [
    ("_spf.google.com", "spf"),
    ("_netblocks2.google.com", "spf"),
    ("gw-bakery.com/TXT", "spf"),
    ("gw-bakery.com/MX", "mx"),
    ("smtp.google.com", "mx"),
    ("_dmarc.gw-bakery.com", "dmarc"),
    ("gw-bakery.com._report._dmarc.dmarc-service.example", "dmarc"),
    ("google._domainkey.gw-bakery.com", "dkim"),
])
def test_silent_name_makes_only_its_card_couldnt_check(dns_server: DnsTestServer, silent: str, check: str) -> None:
    rep = check_all(dns_server, "gw-bakery.com", {silent})
    assert rep.checks[check].status is Status.ERROR, rep.checks[check].summary
    assert all(r.status is not Status.FAIL for r in rep.checks.values())


def test_null_mx_with_unanswered_txt_is_not_called_a_no_mail_domain(dns_server: DnsTestServer) -> None:
    rep = check_all(dns_server, "nullmx-sender.com", {"nullmx-sender.com/TXT"})
    assert rep.checks["spf"].status is Status.ERROR
    assert "sends no mail" not in rep.checks["dkim"].summary
    assert rep.checks["mx"].detail["parked"] is False


def test_parked_domain_with_unanswered_mx_gets_no_lockdown_guess(dns_server: DnsTestServer) -> None:
    rep = check_all(dns_server, "parked-shop.com", {"parked-shop.com/MX"})
    assert rep.checks["mx"].status is Status.ERROR
    assert "looks unused" not in " ".join(f.message for f in rep.checks["dmarc"].findings)
    assert "looks unused" not in rep.checks["dkim"].summary


def test_unanswered_report_authorisation_does_not_make_the_dmarc_record_unknown(dns_server: DnsTestServer) -> None:
    from inboxready.core.policy.bulk import MET, bulk_sender_readiness

    rep = check_all(dns_server, "gw-bakery.com", {"gw-bakery.com._report._dmarc.dmarc-service.example"})
    assert rep.checks["dmarc"].status is Status.ERROR and rep.checks["dmarc"].detail["policy"] == "quarantine"
    states = {r.key: r.state for r in bulk_sender_readiness(rep.checks)}
    assert states["dmarc"] == MET and states["enforcement"] == MET
