"""`build spf --domain` ends the record as the SPF check advises: '~all' until DMARC is at p=reject."""

from __future__ import annotations

import pytest

from inboxready.core.builders.spf import SpfBuild, build_spf_live
from inboxready.core.dns.client import DnsClient
from inboxready.core.dns.server import DnsTestServer
from tests.conftest import run

SOA = "@ 300 IN SOA ns1.{d}. h.{d}. 1 7200 3600 1209600 300\n@ 300 IN NS ns1.{d}.\nns1 300 IN A 192.0.2.53\n"


def build(server: DnsTestServer, domain: str, all_qualifier: str | None = None) -> SpfBuild:
    async def go() -> SpfBuild:
        c = DnsClient([server.address], timeout=2.0)
        try:
            return await build_spf_live([], ["192.0.2.10"], dns=c, domain=domain, all_qualifier=all_qualifier)
        finally:
            c.close()

    return run(go())


@pytest.fixture
def zones(dns_server: DnsTestServer) -> DnsTestServer:
    dns_server.add_zone("nodmarc.test", SOA.format(d="nodmarc.test") + '@ 300 IN TXT "v=spf1 mx -all"\n'
                        "@ 300 IN MX 10 mail.nodmarc.test.\nmail 300 IN A 192.0.2.25\n")
    dns_server.add_zone("reject.test", SOA.format(d="reject.test") + '@ 300 IN TXT "v=spf1 mx -all"\n'
                        '_dmarc 300 IN TXT "v=DMARC1; p=reject"\n'
                        "@ 300 IN MX 10 mail.reject.test.\nmail 300 IN A 192.0.2.25\n")
    return dns_server


def test_no_dmarc_yet_the_builder_says_tilde_all_like_the_check(zones: DnsTestServer) -> None:
    b = build(zones, "nodmarc.test")
    assert b.record == "v=spf1 mx ip4:192.0.2.10 ~all"
    assert any(n.startswith("'-all' became '~all'") for n in b.notes)
    assert b.check is not None and "spf.all-hardfail-early" not in {f.code for f in b.check.findings}


def test_the_users_own_ending_and_a_reject_policy_keep_minus_all(zones: DnsTestServer) -> None:
    assert build(zones, "nodmarc.test", all_qualifier="-").record == "v=spf1 mx ip4:192.0.2.10 -all"
    assert build(zones, "reject.test").record == "v=spf1 mx ip4:192.0.2.10 -all"
