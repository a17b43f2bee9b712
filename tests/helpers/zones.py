"""The small test domain many tests start from: a name server and one mail server (192.0.2.10), and the
sender-policy record most of them add. Tests add the records they are about."""

from __future__ import annotations

MAIL_BASE = """$TTL 300
@        IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@        IN NS  ns1
ns1      IN A   192.0.2.53
@        IN MX  10 mail
mail     IN A   192.0.2.10
"""
SPF_LINE = '@        IN TXT "v=spf1 ip4:192.0.2.0/24 -all"\n'
