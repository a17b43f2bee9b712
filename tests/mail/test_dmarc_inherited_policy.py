"""The message verdict's own DMARC policy follows the same RFC 9989 discovery as the domain check
(``dmarc_walk.policy_step``): a From domain that does not exist gets its Organizational Domain's ``np``, and
a domain without a record of its own under a public suffix that publishes ``psd=y`` gets that policy.
Before, a forged From at a non-existent name under ``p=none; np=reject`` was said to meet p=none, and a name
under a ``psd=y`` suffix was said to have no DMARC policy at all."""

from __future__ import annotations

from inboxready.core.dns.server import DnsTestServer

from .test_message import analyze

HD = '@ IN TXT "v=spf1 -all"\n_dmarc IN TXT "v=DMARC1; p=none; np=reject"\nwww IN A 192.0.2.1\n'


def message(frm: str) -> bytes:
    return (f"From: Shop <news@{frm}>\r\nTo: someone@gmail.example\r\nSubject: Invoice 42\r\n"
            f"Date: Mon, 07 Dec 2026 05:00:00 +0000\r\nMessage-ID: <x1@{frm}>\r\n\r\nHello there.\r\n").encode()


def ours(server: DnsTestServer, frm: str) -> dict[str, object]:
    return analyze(server, message(frm)).checks["dmarc"].detail["ours"]  # type: ignore[no-any-return]


def test_a_from_domain_that_does_not_exist_gets_np(dns_server: DnsTestServer) -> None:
    dns_server.add_origin("example")
    dns_server.add_zone("hd.example", HD)
    assert ours(dns_server, "ghost.hd.example")["policy"] == "reject"  # np: the name does not exist
    assert ours(dns_server, "www.hd.example")["policy"] == "none"  # sp (= p): the name exists
    assert ours(dns_server, "hd.example")["policy"] == "none"


def test_a_public_suffix_policy_applies_to_a_domain_without_its_own(dns_server: DnsTestServer) -> None:
    dns_server.add_origin("example")
    dns_server.add_records("_dmarc.example", "TXT", ['"v=DMARC1; p=reject; psd=y"'])
    dns_server.add_zone("shop.example", '@ IN TXT "v=spf1 -all"\nwww IN A 192.0.2.1\n')
    said = ours(dns_server, "shop.example")
    assert said["result"] != "none" and said["policy"] == "reject" and said["record_domain"] == "example"


def test_unknown_existence_with_differing_np_is_couldnt_check(dns_server: DnsTestServer) -> None:
    dns_server.add_origin("example")
    dns_server.add_zone("hd.example", HD)
    dns_server.timeout_names.add("ghost.hd.example")  # every lookup of the name itself times out
    said = ours(dns_server, "ghost.hd.example")
    assert said["result"] == "temperror" and said["policy"] is None
