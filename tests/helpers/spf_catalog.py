"""The sending-service catalog's includes served by the loopback DNS server at the cost the catalog gives
(tests/core/builders/test_builders_spf.py and the app's builders window)."""

from __future__ import annotations

import ipaddress

from inboxready.core.builders.spf import find_service, load_catalog
from inboxready.core.dns.server import DnsTestServer

SOA = "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
SERVICES = [s for s in load_catalog()]
WITH_INCLUDE = [s for s in SERVICES if s.include]
GOOGLE = find_service("google").lookups  # _spf.google.com's cost, as the catalog has it (checked against DNS)


def stub_ip(i: int, j: int) -> str:
    return str(ipaddress.IPv4Address("198.18.0.0") + i * 256 + j)


def stub_catalog(server: DnsTestServer) -> None:
    """Every catalog include as a zone whose record costs exactly the catalog's lookups: the include itself
    plus (lookups - 1) flat nested includes, each listing one test address."""
    for i, s in enumerate(WITH_INCLUDE):
        assert s.include is not None
        nested = [f"n{k}.{s.include}" for k in range(1, s.lookups)]
        lines = [SOA, f'@ IN TXT "v=spf1 ip4:{stub_ip(i, 0)} ' + " ".join(f"include:{n}" for n in nested) + ' -all"']
        for k, n in enumerate(nested, start=1):
            lines.append(f'{n}. IN TXT "v=spf1 ip4:{stub_ip(i, k)} -all"')
        server.add_zone(s.include, "\n".join(lines) + "\n")
