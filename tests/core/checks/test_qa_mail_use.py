"""QA: how a domain is used for mail (sends, receives, neither) and advice that agrees across the cards.

Realistic zones as small businesses have them, checked with every check at once, the way the app and the
CLI run them. Every record a card suggests is published and the domain checked again.
"""

from __future__ import annotations

from inboxready.core.checks.runner import run_check
from inboxready.core.context import CheckOptions
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import DomainReport, Fix, Status

from ...conftest import run

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


def test_null_mx_sender_dmarc_report_address_note_says_it_cannot_receive(dns_server: DnsTestServer) -> None:
    rep = check_all(dns_server, {"google.com": GOOGLE, "nullmx-sender.com": NULL_MX_SENDER}, "nullmx-sender.com")
    dmarc = rep.checks["dmarc"]
    fix = dmarc.fixes[0]
    assert fix.value == "v=DMARC1; p=none; rua=mailto:dmarc-reports@nullmx-sender.com"
    assert "can't receive mail yet" in fix.note


# -- parked domains: SPF, DMARC, DKIM and MX agree ---------------------------------------------------

PARKED_SHOP = """$ORIGIN parked-shop.com.
@ A 203.0.113.80
www A 203.0.113.80
"""


def test_parked_domain_dmarc_offers_the_lockdown_record_like_mx(dns_server: DnsTestServer) -> None:
    rep = check_all(dns_server, {"parked-shop.com": PARKED_SHOP}, "parked-shop.com")
    dmarc, mx = rep.checks["dmarc"], rep.checks["mx"]
    assert dmarc.status is Status.FAIL and codes(rep, "dmarc") == ["dmarc.no-record"]
    assert "looks unused" in dmarc.findings[0].message
    # The same DMARC record as the MX card's lockdown kit: no p=none with a mailbox nobody can receive.
    mx_dmarc = [f for x in mx.fixes for f in x.records if f.host == "_dmarc.parked-shop.com"]
    assert [f.value for f in dmarc.fixes] == [f.value for f in mx_dmarc] == ["v=DMARC1; p=reject;"]
    assert "dmarc-reports@" not in " ".join(f.value + f.note for f in dmarc.fixes)
    # DKIM: no "tell us your selector" nagging for a domain that looks unused; it points at the kit.
    dkim = rep.checks["dkim"]
    assert dkim.status is Status.INFO and codes(rep, "dkim") == ["dkim.no-mail"]
    # The whole kit, published, checks clean on every card.
    zone = zone_with("parked-shop.com", PARKED_SHOP, [f for x in mx.fixes for f in x.records])
    again = check_all(dns_server, {"parked-shop.com": zone}, "parked-shop.com")
    assert again.checks["dmarc"].status is Status.PASS and again.checks["dmarc"].fixes == []
    assert "dmarc.no-rua" in codes(again, "dmarc")
    assert again.checks["mx"].status is Status.INFO and codes(again, "mx")[-1] == "mx.locked-down"
    assert again.checks["spf"].status is Status.PASS and again.checks["dkim"].status is Status.INFO


def test_parked_domain_dmarc_fix_alone_passes(dns_server: DnsTestServer) -> None:
    rep = check_all(dns_server, {"parked-shop.com": PARKED_SHOP}, "parked-shop.com")
    zone = zone_with("parked-shop.com", PARKED_SHOP, rep.checks["dmarc"].fixes)
    again = check_all(dns_server, {"parked-shop.com": zone}, "parked-shop.com")
    dmarc = again.checks["dmarc"]
    assert dmarc.status is Status.PASS and dmarc.detail["policy"] == "reject" and dmarc.fixes == []


SPF_ONLY_LOCK = """$ORIGIN spf-only-lock.com.
@ TXT "v=spf1 -all"
@ A 203.0.113.99
"""


def test_domain_declaring_no_mail_gets_reject_not_monitoring(dns_server: DnsTestServer) -> None:
    rep = check_all(dns_server, {"spf-only-lock.com": SPF_ONLY_LOCK}, "spf-only-lock.com")
    dmarc = rep.checks["dmarc"]
    assert codes(rep, "dmarc") == ["dmarc.no-record"] and "says it sends no mail" in dmarc.findings[0].message
    assert [f.value for f in dmarc.fixes] == ["v=DMARC1; p=reject;"]
    zone = zone_with("spf-only-lock.com", SPF_ONLY_LOCK, dmarc.fixes)
    again = check_all(dns_server, {"spf-only-lock.com": zone}, "spf-only-lock.com")
    assert again.checks["dmarc"].status is Status.PASS and again.checks["dmarc"].fixes == []


def test_parked_domain_with_monitoring_record_goes_straight_to_reject(dns_server: DnsTestServer) -> None:
    zone = SPF_ONLY_LOCK + '_dmarc TXT "v=DMARC1; p=none"\n'
    rep = check_all(dns_server, {"spf-only-lock.com": zone}, "spf-only-lock.com")
    dmarc = rep.checks["dmarc"]
    assert "dmarc.no-rua" in codes(rep, "dmarc")
    assert [f.value for f in dmarc.fixes] == ["v=DMARC1; p=reject"]  # no report mailbox at a no-mail domain
    again = check_all(dns_server, {"spf-only-lock.com": zone_with("spf-only-lock.com", zone, dmarc.fixes)},
                      "spf-only-lock.com")
    assert again.checks["dmarc"].status is Status.PASS and again.checks["dmarc"].fixes == []


def test_each_card_of_a_parked_domain_offers_its_own_lockdown_record(dns_server: DnsTestServer) -> None:
    """Issue 12 item 3: the fix for a domain that sends no mail is on every card it concerns. The SPF card said
    "no SPF record" with no fix while the MX card held v=spf1 -all; now SPF, DMARC and DKIM each offer their
    own lockdown record, the same as the MX card's set, which holds all four together."""
    from inboxready.core.checks.posture import lockdown_fixes

    rep = check_all(dns_server, {"parked-shop.com": PARKED_SHOP}, "parked-shop.com")
    spf_fix, dmarc_fix, _null, dkim_fix = lockdown_fixes("parked-shop.com")
    spf = rep.checks["spf"].findings[0]
    assert spf.code == "spf.missing" and spf.fix is not None
    assert (spf.fix.host, spf.fix.type, spf.fix.value) == (spf_fix.host, spf_fix.type, spf_fix.value)
    assert "never sends mail" in spf.fix.note
    assert [(f.host, f.value) for f in rep.checks["dmarc"].fixes] == [(dmarc_fix.host, dmarc_fix.value)]
    assert [(f.host, f.value) for f in rep.checks["dkim"].fixes] == [(dkim_fix.host, dkim_fix.value)]
    (bundle,) = rep.checks["mx"].fixes
    assert {(f.host, f.type, f.value) for f in bundle.records} == {(f.host, f.type, f.value)
                                                                   for f in lockdown_fixes("parked-shop.com")}
    # published on its own, the SPF card's record makes the SPF problem go away and no card worse
    again = check_all(dns_server, {"parked-shop.com": zone_with("parked-shop.com", PARKED_SHOP, [spf.fix])},
                      "parked-shop.com")
    assert again.checks["spf"].status is Status.PASS and again.checks["mx"].status in (Status.INFO, Status.PASS)
