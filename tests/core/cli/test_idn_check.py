"""``inboxready check bücher.example``: the domain is named as typed (Unicode) in the headline, the summaries
and the findings' words, while every record and fix keeps the ASCII (xn--) form a DNS host accepts."""

from __future__ import annotations

import io
import json

from inboxready.app.cli import main
from inboxready.core.dns.server import DnsTestServer

ACE = "xn--bcher-kva.example"
ZONE = """
@    SOA ns1 hostmaster 1 3600 600 86400 300
@    MX 10 mail
mail A 192.0.2.1
@    TXT "v=spf1 mx -all"
"""


def test_idn_domain_check_words_in_unicode_records_in_ascii(dns_server: DnsTestServer) -> None:
    dns_server.add_zone(ACE, ZONE)
    args = ["check", "bücher.example", "-n", dns_server.address, "--only", "spf,dmarc,mx", "--timeout", "1"]
    out = io.StringIO()
    code = main([*args, "--color", "never"], out=out, err=io.StringIO())
    text = out.getvalue()
    assert code == 1, text
    assert text.startswith(f"✗ bücher.example ({ACE})")
    dmarc_line = next(line for line in text.splitlines() if line.lstrip().startswith("✗ DMARC"))
    assert dmarc_line.split("Fail", 1)[1].strip().startswith("bücher.example has no DMARC record")
    assert "Mail for bücher.example goes to 1 server: mail.bücher.example." in text
    assert f"Publish: TXT record at _dmarc.{ACE}" in text  # the fix: ASCII
    assert f"v=DMARC1; p=none; rua=mailto:dmarc-reports@{ACE}" in text
    out = io.StringIO()
    main([*args, "--json"], out=out, err=io.StringIO())
    report = json.loads(out.getvalue())[0]
    dmarc = report["checks"]["dmarc"]
    assert report["domain"] == ACE and dmarc["summary"].startswith("bücher.example has no DMARC record")
    fixes = [f for finding in dmarc["findings"] for f in [finding.get("fix")] if f]
    assert fixes and all(f["host"].isascii() and f["value"].isascii() for f in fixes)
    assert report["checks"]["mx"]["records"] == [f"10 mail.{ACE}."]
