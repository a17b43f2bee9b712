"""A failing message card carries the fix the domain check offers for the same protocol."""

from __future__ import annotations

from inboxready.core.dns.client import DnsClient
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.mail.links import link_domain_fixes
from inboxready.core.mail.message import analyze_message
from inboxready.core.model import Status

from ..conftest import run

MESSAGE = b"""Authentication-Results: mx.receiver.test; spf=pass smtp.mailfrom=sender.test;
 dkim=none; dmarc=fail (p=NONE) header.from=sender.test
Received: from out.sender.test (out.sender.test [192.0.2.7]) by mx.receiver.test; Mon, 2 Nov 2026 10:00:00 +0000
From: Shop <news@sender.test>
To: someone@receiver.test
Subject: Hello
Message-ID: <abc@sender.test>
Date: Mon, 2 Nov 2026 10:00:00 +0000

Hi
"""

ZONE = """
@        MX 10 mx
mx       A 192.0.2.1
@        TXT "v=spf1 mx ip4:192.0.2.0/24 -all"
"""


def test_dmarc_failure_links_to_the_record_to_publish(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("sender.test", ZONE)
    dns_server.add_origin("test")

    async def go():  # type: ignore[no-untyped-def]
        client = DnsClient([dns_server.address], timeout=1)
        report = await analyze_message(MESSAGE, dns=None, trusted_authserv_ids=["mx.receiver.test"])
        domain_report = await link_domain_fixes(report, client=client)
        client.close()
        return report, domain_report

    report, domain_report = run(go())
    assert domain_report is not None and domain_report.domain == "sender.test"
    dmarc = report.checks["dmarc"]
    assert dmarc.status is Status.FAIL
    linked = [f for f in dmarc.findings if f.code == "msg.dmarc-domain-fix"]
    assert linked and linked[0].fix is not None
    assert linked[0].fix.host == "_dmarc.sender.test" and linked[0].fix.value.startswith("v=DMARC1")
    assert dmarc.detail["domain_fixes"][0]["zone_line"] == linked[0].fix.zone_line
    assert report.checks["spf"].status is Status.PASS and "domain_fixes" not in report.checks["spf"].detail
    assert report.detail["domain_check"]["domain"] == "sender.test"


def test_no_from_domain_means_nothing_to_link() -> None:
    async def go():  # type: ignore[no-untyped-def]
        report = await analyze_message(b"Subject: x\r\n\r\nbody", dns=None)
        return await link_domain_fixes(report, client=DnsClient(["127.0.0.1:9"], timeout=0.2))

    assert run(go()) is None


def _linked(dns_server: DnsTestServer, message: bytes):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        client = DnsClient([dns_server.address], timeout=1)
        report = await analyze_message(message, dns=None, trusted_authserv_ids=["mx.receiver.test"])
        await link_domain_fixes(report, client=client)
        client.close()
        return report

    return run(go())


CLIENT_IP_MESSAGE = MESSAGE.replace(b"spf=pass smtp.mailfrom=sender.test;",
                                    b"spf=pass (sender IP is 192.0.2.7) smtp.mailfrom=sender.test;")


def test_the_sending_address_of_the_message_gets_its_reverse_dns_checked(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("sender.test", ZONE + "out A 192.0.2.7\n")
    dns_server.add_origin("test")
    dns_server.add_zone("2.0.192.in-addr.arpa", "7 PTR out.sender.test.\n1 PTR mx.sender.test.\n")
    report = _linked(dns_server, CLIENT_IP_MESSAGE)
    rdns = report.checks["rdns"]
    assert rdns.status is Status.PASS
    hosts = {h["ip"]: h for h in rdns.detail["hosts"]}
    assert hosts["192.0.2.7"]["source"] == "message" and hosts["192.0.2.7"]["confirmed"] is True


def test_a_sending_address_without_reverse_dns_fails_the_message(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("sender.test", ZONE)
    dns_server.add_origin("test")
    dns_server.add_zone("2.0.192.in-addr.arpa", "1 PTR mx.sender.test.\n")
    report = _linked(dns_server, CLIENT_IP_MESSAGE)
    rdns = report.checks["rdns"]
    assert rdns.status is Status.FAIL
    assert any(f.code == "rdns.missing-ptr" and "192.0.2.7" in f.message for f in rdns.findings)


NO_ADDRESS_MESSAGE = MESSAGE.replace(b"(out.sender.test [192.0.2.7])", b"(out.sender.test)")


def test_no_sending_address_means_no_reverse_dns_card(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("sender.test", ZONE)
    dns_server.add_origin("test")
    assert "rdns" not in _linked(dns_server, NO_ADDRESS_MESSAGE).checks
    # the header's own words are never the address: anyone can write "sender IP is ..."
    said_only = CLIENT_IP_MESSAGE.replace(b"(out.sender.test [192.0.2.7])", b"(out.sender.test)")
    assert "rdns" not in _linked(dns_server, said_only).checks


def test_reverse_dns_checks_the_address_the_receivers_received_line_names(dns_server: DnsTestServer) -> None:
    """Review C3: the header names 192.0.2.10, the receiver's own Received line 192.0.2.7: the card checks .7."""
    dns_server.add_zone("sender.test", ZONE)
    dns_server.add_origin("test")
    dns_server.add_zone("2.0.192.in-addr.arpa", "7 PTR out.sender.test.\n1 PTR mx.sender.test.\n")
    lying = MESSAGE.replace(b"spf=pass smtp.mailfrom=sender.test;",
                            b"spf=pass (sender IP is 192.0.2.10) smtp.mailfrom=sender.test;")
    report = _linked(dns_server, lying)
    assert report.detail["sending_ip"] == "192.0.2.7"
    hosts = {h["ip"] for h in report.checks["rdns"].detail["hosts"] if h.get("source") == "message"}
    assert hosts == {"192.0.2.7"}
