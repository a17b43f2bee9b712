"""The watch list's test domain (tests/core/monitor/test_watchlist.py and the app's watch window)."""

from __future__ import annotations

from .zones import MAIL_BASE

# a domain with a name server and a mail server; the tests add the records they are about
ZONE = MAIL_BASE
SPF = '@ IN TXT "v=spf1 ip4:192.0.2.0/24 -all"\n'
DMARC = '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"\n'
