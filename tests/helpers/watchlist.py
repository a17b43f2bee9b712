"""The watch list's test domain (tests/core/monitor/test_watchlist.py and the app's watch window)."""

from __future__ import annotations

# a domain with a name server and a mail server; the tests add the records they are about
ZONE = """$TTL 300
@        IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@        IN NS  ns1
ns1      IN A   192.0.2.53
@        IN MX  10 mail
mail     IN A   192.0.2.10
"""
SPF = '@ IN TXT "v=spf1 ip4:192.0.2.0/24 -all"\n'
DMARC = '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"\n'
