"""The first hour, continued (h11): what a newcomer met on the command line with the network gone or
misbehaving, each fixed and kept fixed here."""

from __future__ import annotations

import io
import json

import pytest

from inboxready.app.cli import main
from inboxready.core.dns.server import DnsTestServer
from tests.helpers.zones import MAIL_BASE


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("how", ["servfail", "timeout"])
def test_build_spf_offers_no_record_when_the_current_one_cannot_be_read(dns_server: DnsTestServer, how: str) -> None:
    # the domain already has an SPF record listing its own servers; the TXT lookup fails. The builder used to
    # print "SPF record: v=spf1 include:_spf.google.com ~all" as the record: pasted, it wipes out mx and
    # ip4:192.0.2.77, and their mail stops passing SPF
    dns_server.add_zone("example.com", "\n" + MAIL_BASE + '@ IN TXT "v=spf1 mx ip4:192.0.2.77 ~all"\n')
    getattr(dns_server, f"{how}_names").add("example.com/TXT")
    code, out, err = _run("build", "spf", "--service", "google", "--domain", "example.com", "--flatten",
                          "-n", dns_server.address, "--timeout", "0.5")
    assert code == 2, out + err
    text = " ".join(out.split())
    assert "Not ready to publish: we couldn't read the current SPF record of example.com" in text
    assert "v=spf1" not in out and "Publish:" not in out and "Flattened" not in out
    # the same run with the record readable still gives the merged record to publish
    getattr(dns_server, f"{how}_names").clear()
    code, out, _ = _run("build", "spf", "--service", "google", "--domain", "example.com", "-n", dns_server.address,
                        "--timeout", "0.5", "--json")
    data = json.loads(out)
    assert "ip4:192.0.2.77" in data["record"] and data["fix"]["action"] == "replace"
