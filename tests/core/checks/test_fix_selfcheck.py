"""Every fix really fixes (issue 12 items 11 and 12).

For the demo domains, an explicit corpus of varied zones, and every zone set the rest of the test suite served
(recorded by tests/conftest.py; that test runs last), each offered fix (alternatives and companion records
included) is published into a loopback DNS server and the domain is checked again: the finding must be gone,
or a staged finding (DMARC p=none...) must now ask for the next, different record, and no check may get worse.
Every error finding of SPF, DMARC and MX must have a fix or say why no record can fix it.
"""

from __future__ import annotations

import asyncio
from typing import Iterator

import pytest

from inboxready import resources
from inboxready.app.demo import load_demo
from inboxready.core.dns.server import DnsTestServer, _origin_from_text
from tests.conftest import ZONE_SETS
from tests.fixcheck import ZoneSet, self_check


@pytest.fixture
def replay_server() -> Iterator[DnsTestServer]:
    server = DnsTestServer()
    server.no_zone_record = True  # type: ignore[attr-defined]  # its edited zones are not test zones
    server.start()
    try:
        yield server
    finally:
        server.stop()


class _Only(ZoneSet):
    """A zone set whose domains to check are given."""

    def __init__(self, base: ZoneSet, domains: list[str]) -> None:
        super().__init__(base.label, base.origins, base.rrsets)
        self.only = domains

    def domains(self, limit: int = 4) -> list[str]:
        return list(self.only)


def demo_zone_sets() -> list[ZoneSet]:
    demo = load_demo()
    zones = {}
    for name in demo.zone_files:
        text = (resources.zones_dir() / name).read_text(encoding="utf-8")
        zones[_origin_from_text(text) or name] = text
    base = ZoneSet.from_zones(zones, "demo")
    return [_Only(base, [d.domain]) for d in demo.domains if d.domain not in demo.never_answers]


KEY = ("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAs5vQEUY9RF3uazn0ijhJypaZqSkMzObmiRk75VSpC7HRXRcG8wulivsC+MPngs"
       "rAY0WVvIK1gWt4Ytg11dyhNuWmpFBZyPOMVa7hencuKLMHVOSUzxEfp6aRrlhOIti+dWHuce7seRZZYUIWJLU5ePQX2UBc7jXnUm6lvN"
       "FSl+we87aGoqxd4yuSyROPru4Am6e4qPiHnHFbuRjSebWPmqwG8MmMqNBVvPVcE9UPX04m1qp9HAOg5e031U+aB9kma0ETdiXzy8AZy1Ue"
       "68I8Mgd1rtQ/7oQJT/Nr9QhZb7sfRvmkc9pY8eUfismIGPo43e7M5scIyPZqYh/9wUruVwIDAQAB")
DKIM = "default._domainkey IN TXT " + " ".join(f'"{KEY[i:i + 200]}"' if i else f'"v=DKIM1; k=rsa; p={KEY[:200]}"'
                                              for i in range(0, len(KEY), 200)) + "\n"
MAIL = "@ IN MX 10 mail\nmail IN A 192.0.2.10\n"
GOOD_SPF = '@ IN TXT "v=spf1 ip4:192.0.2.10 -all"\n'
GOOD_DMARC = '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@{d}"\n'
PROVIDER = ('_spf IN TXT "v=spf1 ip4:198.51.100.0/24 ~all"\n'
            'big IN TXT "v=spf1 include:a.provider.test include:b.provider.test include:c.provider.test -all"\n'
            + "".join(f'{x} IN TXT "v=spf1 a:h1.provider.test a:h2.provider.test -all"\n' for x in "abc")
            + "h1 IN A 198.51.100.1\nh2 IN A 198.51.100.2\n")

# name -> the zone of that domain (the domain is the name); every zone set also serves provider.test
CORPUS = {
    "dkim-quoted.test": MAIL + GOOD_SPF + GOOD_DMARC + f'default._domainkey IN TXT "\\"v=DKIM1; k=rsa; p={KEY[:180]}" '
                        f'"{KEY[180:]}\\""\n',
    "dmarc-apex.test": MAIL + GOOD_SPF + DKIM + '@ IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@dmarc-apex.test"\n',
    "dmarc-dot.test": MAIL + GOOD_SPF + DKIM + '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@dmarc-dot.test."\n',
    "dmarc-none.test": MAIL + GOOD_SPF + DKIM + '_dmarc IN TXT "v=DMARC1; p=none; rua=mailto:d@dmarc-none.test"\n',
    "dmarc-norua.test": MAIL + GOOD_SPF + DKIM + '_dmarc IN TXT "v=DMARC1; p=none"\n',
    "dmarc-two.test": MAIL + GOOD_SPF + DKIM + '_dmarc IN TXT "v=DMARC1; p=none"\n_dmarc IN TXT "v=DMARC1; p=reject"\n',
    "dmarc-quoted.test": MAIL + GOOD_SPF + DKIM + '_dmarc IN TXT "\\"v=DMARC1; p=none; rua=mailto:d@dmarc-quoted.test\\""\n',
    "dmarc-pct.test": MAIL + GOOD_SPF + DKIM + '_dmarc IN TXT "v=DMARC1; p=quarantine; pct=50; rua=mailto:d@dmarc-pct.test"\n',
    "mx-literal.test": '@ IN MX 10 192.0.2.1.\n' + GOOD_SPF + DKIM + GOOD_DMARC,
    "mx-cname.test": '@ IN MX 10 mx1\nmx1 IN CNAME mail\nmail IN A 192.0.2.10\n' + GOOD_SPF + DKIM + GOOD_DMARC,
    "mx-dup.test": MAIL + "@ IN MX 20 mail\n@ IN MX 30 gone.mx-dup.test.\n" + GOOD_SPF + DKIM + GOOD_DMARC,
    "mx-nullmix.test": MAIL + "@ IN MX 0 .\n" + GOOD_SPF + DKIM + GOOD_DMARC,
    "null-only.test": "@ IN MX 0 .\n@ IN A 192.0.2.99\n",
    "parked.test": "@ IN A 192.0.2.99\nwww IN A 192.0.2.99\n",
    "spf-rrtype.test": MAIL + '@ IN SPF "v=spf1 ip4:192.0.2.10 -all"\n' + DKIM + GOOD_DMARC,
    "spf-quoted.test": MAIL + '@ IN TXT "\\"v=spf1 ip4:192.0.2.10 -all\\""\n' + DKIM + GOOD_DMARC,
    "spf-two.test": MAIL + '@ IN TXT "v=spf1 include:_spf.provider.test ~all"\n@ IN TXT "v=spf1 +all"\n' + DKIM
                    + GOOD_DMARC,
    "spf-messy.test": MAIL + '@ IN TXT "v=spf1 a:none.spf-messy.test ptr mx mx include:gone.spf-messy.test ?all"\n'
                      + DKIM + GOOD_DMARC,
    "spf-glued.test": MAIL + '@ IN TXT "v=spf1 ip4:192.0.2.10 include:_spf.provider.test" "~all"\n' + DKIM
                      + GOOD_DMARC,
    "spf-toomany.test": MAIL + '@ IN A 192.0.2.10\n@ IN TXT "v=spf1 a mx include:big.provider.test '
                        'include:_spf.provider.test -all"\n' + DKIM + '_dmarc IN TXT "v=DMARC1; p=quarantine; '
                        'rua=mailto:d@spf-toomany.test"\n',
    "spf-none.test": MAIL + DKIM + GOOD_DMARC,
    "tlsrpt-bad.test": MAIL + GOOD_SPF + DKIM + GOOD_DMARC + '_smtp._tls IN TXT "v=TLSRPTv1; rua=tls@tlsrpt-bad.test"\n',
}


def corpus_zone_sets() -> list[ZoneSet]:
    out: list[ZoneSet] = []
    for domain, text in CORPUS.items():
        base = ZoneSet.from_zones({"provider.test": PROVIDER, domain: text.replace("{d}", domain)}, domain)
        out.append(_Only(base, [domain]))
    return out


def _run(zone_sets: list[ZoneSet], server: DnsTestServer) -> tuple[list[str], list[str], int]:
    return asyncio.run(self_check(zone_sets, server))


def test_every_fix_offered_for_the_demo_domains_really_fixes(replay_server: DnsTestServer) -> None:
    problems, unexplained, tried = _run(demo_zone_sets(), replay_server)
    assert tried >= 20  # the demo domains offer fixes on every card that has a problem
    assert not problems, "\n".join(problems)
    assert not unexplained, "\n".join(unexplained)


def test_every_fix_offered_for_a_varied_corpus_really_fixes(replay_server: DnsTestServer) -> None:
    """22 small zones, one problem or a few each, that together reach every kind of fix the record checks give."""
    zone_sets = corpus_zone_sets()
    assert len(zone_sets) >= 20
    problems, unexplained, tried = _run(zone_sets, replay_server)
    assert tried >= 60
    assert not problems, "\n".join(problems)
    assert not unexplained, "\n".join(unexplained)


@pytest.mark.fixcheck_last
def test_every_fix_offered_for_every_zone_of_the_test_suite_really_fixes(replay_server: DnsTestServer) -> None:
    """The zone sets every other test of this run served (run alone, the demo zones stand in for them)."""
    recorded = [zs for zs in ZONE_SETS.values() if isinstance(zs, ZoneSet)]
    zone_sets = recorded or demo_zone_sets()
    problems, unexplained, tried = _run(zone_sets, replay_server)
    assert tried >= len(zone_sets) // 2  # most test zones have something to fix
    assert not problems, f"{len(problems)} fixes don't fix:\n" + "\n".join(problems)
    assert not unexplained, f"{len(unexplained)} errors unexplained:\n" + "\n".join(unexplained)
