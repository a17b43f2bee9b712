"""The DNS host catalog and its forms, the host-form mistakes found in DNS, and per-server propagation."""

from __future__ import annotations

import asyncio
import io

from inboxready.core.dns.client import DnsClient
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import Fix
from inboxready.core.publish.hosts import host_form, load_hosts, match_hosts
from inboxready.core.publish.mistakes import find_mistakes
from inboxready.core.publish.propagation import Expect, probe
from inboxready.core.publish.zone import AuthServer, ZoneInfo, find_zone

SOA = "@ IN SOA ns1.example.com. h.example.com. 1 3600 600 86400 300\n@ IN NS ns1.example.com.\n"
REQUIRED = {"Cloudflare", "GoDaddy", "Namecheap", "Squarespace Domains", "Amazon Route 53", "Google Cloud DNS",
            "Azure DNS", "DigitalOcean", "OVHcloud", "IONOS", "Gandi", "Hetzner DNS", "Porkbun", "Name.com", "Hover",
            "Wix", "Network Solutions", "Bluehost"}


def test_catalog_has_every_host_with_its_source_and_a_real_lexicon_provider() -> None:
    from lexicon._private.discovery import find_providers

    hosts = load_hosts()
    assert REQUIRED <= {h.name for h in hosts}
    providers = find_providers()
    for h in hosts:
        assert h.source.startswith("https://") and h.checked == "2026-12-07" and h.confidence, h.id
        assert h.form.name_field and h.form.value_field and h.form.ttl_choices, h.id
        if h.lexicon:
            assert h.lexicon in providers, h.id
            assert h.permission and h.token_steps and h.secrets, h.id


def test_host_detected_from_ns_names() -> None:
    assert [h.id for h in match_hosts(["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"])] == ["cloudflare"]
    assert match_hosts(["ns-123.awsdns-15.com", "ns-900.awsdns-40.net"])[0].id == "route53"
    assert match_hosts(["ns51.domaincontrol.com"])[0].id == "godaddy"
    shared = [h.id for h in match_hosts(["ns-cloud-a1.googledomains.com"])]
    assert "googleclouddns" in shared and "squarespace" in shared
    assert match_hosts(["ns1.example.net"]) == []


def test_fix_in_the_form_of_each_host() -> None:
    cf = next(h for h in load_hosts() if h.id == "cloudflare")
    fix = Fix("_dmarc.example.com", "TXT", "v=DMARC1; p=none")
    form = host_form(fix, "example.com", cf)
    assert form.text.startswith("At Cloudflare: Type `TXT`, Name `_dmarc`, Content `v=DMARC1; p=none`, TTL `Auto`")
    assert any("example.com.example.com" in n for n in form.notes)
    root = host_form(Fix("example.com", "TXT", "v=spf1 -all"), "example.com", cf)
    assert ("Name", "@") in root.fields
    r53 = next(h for h in load_hosts() if h.id == "route53")
    key = "v=DKIM1; k=rsa; p=" + "A" * 400
    value = dict(host_form(Fix("s1._domainkey.example.com", "TXT", key), "example.com", r53).fields)["Value"]
    assert value.startswith('"v=DKIM1') and value.count('" "') == 1  # two quoted parts of at most 255
    porkbun = next(h for h in load_hosts() if h.id == "porkbun")
    assert ("Host", "") in host_form(Fix("example.com", "TXT", "v=spf1 -all"), "example.com", porkbun).fields
    sub = host_form(Fix("_dmarc.mail.example.com", "TXT", "v=DMARC1; p=none"), "example.com", cf)
    assert ("Name", "_dmarc.mail") in sub.fields


def _mistakes(server: DnsTestServer, domain: str) -> list:
    async def go() -> list:
        async with DnsClient([server.address], timeout=2) as c:
            return await find_mistakes(c, domain, domain)
    return asyncio.run(go())


def test_mistakes_made_at_the_host_are_named_with_their_correction(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("example.com", SOA +
                        '_dmarc.example.com IN TXT "v=DMARC1; p=reject"\n'
                        'example.com IN TXT "v=spf1 include:_spf.google.com ~all"\n'
                        's1._domainkey.example.com IN TXT "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC"\n')
    found = {m.code: m for m in _mistakes(dns_server, "example.com")}
    assert set(found) == {"publish.doubled-name"} or "publish.doubled-name" in found
    codes = [(m.code, m.fixes[0].host) for m in _mistakes(dns_server, "example.com")]
    assert ("publish.doubled-name", "_dmarc.example.com.example.com") in codes
    assert ("publish.doubled-name", "example.com.example.com") in codes
    assert ("publish.doubled-name", "s1._domainkey.example.com.example.com") in codes
    m = next(m for m in _mistakes(dns_server, "example.com") if m.check == "dmarc")
    assert [(f.action, f.host, f.value) for f in m.fixes] == [
        ("remove", "_dmarc.example.com.example.com", "v=DMARC1; p=reject"),
        ("publish", "_dmarc.example.com", "v=DMARC1; p=reject")]


def test_quotes_split_values_dkim_spaces_and_dmarc_at_root(dns_server: DnsTestServer) -> None:
    key = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC1" * 3
    dns_server.add_zone("shop.test", SOA.replace("example.com", "shop.test") +
                        '@ IN TXT "\\"v=spf1 ip4:192.0.2.1 -all\\""\n'
                        '@ IN TXT "v=DMARC1; p=none"\n'
                        f's1._domainkey IN TXT "v=DKIM1; k=rsa; p={key[:60]}" \n'
                        f's1._domainkey IN TXT "{key[60:]}"\n'
                        f'google._domainkey IN TXT "v=DKIM1; k=rsa; p={key[:50]} {key[50:]}"\n')
    dns_server.add_zone("glued.test", SOA.replace("example.com", "glued.test") +
                        '@ IN TXT "v=spf1 include:_spf.google.com" "include:sendgrid.net ~all"\n')
    got = {m.code: m for m in _mistakes(dns_server, "shop.test")}
    assert got["publish.literal-quotes"].fixes[-1].value == "v=spf1 ip4:192.0.2.1 -all"
    assert got["publish.dmarc-at-root"].fixes[-1].host == "_dmarc.shop.test"
    split = got["publish.split-records"]
    assert split.fixes[-1].value == f"v=DKIM1; k=rsa; p={key}" and len(split.fixes) == 3
    assert got["publish.dkim-whitespace"].fixes[-1].value == f"v=DKIM1; k=rsa; p={key}"
    glued = {m.code: m for m in _mistakes(dns_server, "glued.test")}["publish.split-glued"]
    assert glued.fixes[-1].value == "v=spf1 include:_spf.google.com include:sendgrid.net ~all"


def test_clean_domain_has_no_mistakes_and_a_failed_lookup_is_not_one(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("ok.test", SOA.replace("example.com", "ok.test") +
                        '@ IN TXT "v=spf1 -all"\n_dmarc IN TXT "v=DMARC1; p=reject"\n')
    assert _mistakes(dns_server, "ok.test") == []
    dns_server.add_zone("slow.test", SOA.replace("example.com", "slow.test"))
    dns_server.drop("_dmarc.slow.test") if hasattr(dns_server, "drop") else None
    assert all(m.code != "publish.dmarc-at-root" for m in _mistakes(dns_server, "slow.test"))


def test_each_authoritative_server_asked_directly() -> None:
    a, b = DnsTestServer(), DnsTestServer()
    a.start()
    b.start()
    try:
        zone_text = SOA + "@ IN TXT \"v=spf1 -all\"\n"
        a.add_zone("example.com", zone_text + '_dmarc IN TXT "v=DMARC1; p=none"\n')
        b.add_zone("example.com", zone_text)
        info = ZoneInfo("example.com", ("ns1.example.com",),
                        (AuthServer("a", a.address), AuthServer("b", b.address), AuthServer("gone", "127.0.0.1:9")),
                        3600, 300)
        expect = [Expect("_dmarc.example.com", "TXT", "v=DMARC1; p=none", stale_for=info.negative_ttl)]
        p = asyncio.run(probe(info, expect, timeout=0.5))
        live = {s.name: p.server_live(s) for s in p.servers}
        assert live == {"a": True, "b": False, "gone": None}
        assert not p.live and "Live on 1 of 3" in p.summary() and "couldn't ask" in p.summary()
        assert info.negative_ttl == 300
    finally:
        a.stop()
        b.stop()


def test_zone_found_by_walking_up(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("example.com", SOA + "mail IN A 192.0.2.1\nns1 IN A 127.0.0.1\n")

    async def go() -> ZoneInfo:
        async with DnsClient([dns_server.address], timeout=2) as c:
            return await find_zone(c, "mail.example.com")
    z = asyncio.run(go())
    assert z.zone == "example.com" and z.ns_names == ("ns1.example.com",)
    assert [s.address for s in z.servers] == ["127.0.0.1"] and z.negative_ttl == 300


def test_check_shows_the_host_form_and_authoritative_answers(dns_server: DnsTestServer) -> None:
    from inboxready.app.cli import main

    dns_server.add_zone("example.com", SOA.replace("ns1.example.com. h", "ada.ns.cloudflare.com. h").replace(
        "NS ns1.example.com.", "NS ada.ns.cloudflare.com.") + '@ IN TXT "v=spf1 -all"\n@ IN MX 0 .\n')
    out, err = io.StringIO(), io.StringIO()
    main(["check", "example.com", "--nameserver", dns_server.address, "--only", "spf,dmarc", "--authoritative",
          "--timeout", "1", "--color", "never"], out, err)
    text = out.getvalue()
    assert "DNS host: Cloudflare" in text
    assert "At Cloudflare" in text and "Name `_dmarc`" in text
    assert "Authoritative servers of example.com" in text and "– TXT _dmarc.example.com: no record" in text  # review: no ✓ beside a missing record


WILD_ZONE = (SOA.replace("example.com", "wild.test") +
             '* IN TXT "v=spf1 -all"\n* IN TXT "v=DMARC1; p=reject"\n* IN TXT "v=DKIM1; p="\n'
             'shop IN A 192.0.2.80\n')


def test_a_wildcard_txt_is_no_record_at_a_doubled_name(dns_server: DnsTestServer) -> None:
    """``*.wild.test`` answers every made-up name below the zone, the doubled ones too (RFC 4592), but nobody
    published anything there. Before: "Your SPF record is published at wild.test.wild.test" (and the DMARC
    record and a DKIM key for every selector at shop.wild.test's doubled names) with a fix deleting records
    that don't exist."""
    dns_server.add_zone("wild.test", WILD_ZONE)
    for domain in ("wild.test", "shop.wild.test"):
        async def go(domain: str = domain) -> list:
            async with DnsClient([dns_server.address], timeout=2) as c:
                return await find_mistakes(c, domain, "wild.test")
        found = asyncio.run(go())
        doubled = [(m.check, m.fixes[0].host) for m in found if m.code == "publish.doubled-name"]
        assert doubled == [], doubled
        assert not any(f.action == "remove" and f.host.endswith(".wild.test.wild.test")
                       for m in found for f in m.fixes), found


def test_a_record_really_at_a_doubled_name_is_found_beside_a_wildcard_with_the_same_text(
        dns_server: DnsTestServer) -> None:
    """The probe only drops what the wildcard answers: a record typed in at the doubled name is found even when
    its text is the wildcard's (a real name there makes its parents exist, so a random sibling isn't covered)."""
    dns_server.add_zone("wild.test", WILD_ZONE +
                        'shop.wild.test IN TXT "v=spf1 -all"\n'
                        '_dmarc.shop.wild.test IN TXT "v=DMARC1; p=reject"\n'
                        's1._domainkey.shop.wild.test IN TXT "v=DKIM1; p="\n')

    async def go() -> list:
        async with DnsClient([dns_server.address], timeout=2) as c:
            return await find_mistakes(c, "shop.wild.test", "wild.test")
    doubled = {(m.check, m.fixes[0].host) for m in asyncio.run(go()) if m.code == "publish.doubled-name"}
    assert doubled == {("spf", "shop.wild.test.wild.test"), ("dmarc", "_dmarc.shop.wild.test.wild.test"),
                       ("dkim", "s1._domainkey.shop.wild.test.wild.test")}, doubled
