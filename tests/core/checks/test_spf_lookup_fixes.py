"""Too many SPF lookups comes with records that fit (issue 12 item 1, issue 18 item 1).

Each option is re-checked by the SPF check before it is offered, cheapest first, with its trade-off: includes a
service with its own return path never needs are dropped (the catalog says which; a catalog of our own is
injected here), the costliest includes are copied into records of the domain's own (and every later check
compares the copy with the live include), or senders move to a subdomain. The builder uses the check's branch
costs. Every option is published into the test DNS server here and checked again.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from inboxready.core.checks import spf
from inboxready.core.builders.spf import build_spf, build_spf_live
from inboxready.core.context import CheckOptions
from inboxready.core.dns.client import DnsClient
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.store.history import History
from inboxready.core.model import CheckResult, Fix, Severity, Status
from inboxready.core.records.spf_catalog import parse_catalog
from inboxready.core.monitor.watchlist import WatchEntry, changes_between, check_entry
from tests.conftest import make_ctx, run
from tests.fixcheck import ZoneSet

CATALOG = parse_catalog({"services": [
    {"id": "bulkmail", "name": "BulkMail", "include": "spf.bulkmail.test", "lookups": 3, "own_return_path": True,
     "return_path_domain": "bounces.bulkmail.test",
     "setup": "Publish the two DKIM CNAME records BulkMail shows under Settings > Domains.",
     "source": "https://bulkmail.test/help/spf", "checked": "2026-01-02", "dkim_selectors": ["bm1"]},
    {"id": "relay", "name": "Relay Mail", "include": "_spf.relay.test", "lookups": 2, "own_return_path": False,
     "source": "https://relay.test/docs/spf", "checked": "2026-01-02"},
]})

PROVIDERS = {
    # include:_spf.relay.test costs 5: itself and four nested records
    "relay.test": "\n".join(
        ['_spf IN TXT "v=spf1 include:r1.relay.test include:r2.relay.test include:r3.relay.test '
         'include:r4.relay.test -all"']
        + [f'r{i} IN TXT "v=spf1 ip4:203.0.113.{16 * i}/28 -all"' for i in range(1, 5)]),
    # include:spf.bulkmail.test costs 3
    "bulkmail.test": ('spf IN TXT "v=spf1 include:b1.bulkmail.test include:b2.bulkmail.test ~all"\n'
                      'b1 IN TXT "v=spf1 ip4:198.51.100.0/26 ~all"\nb2 IN TXT "v=spf1 ip6:2001:db8:77::/48 ~all"'),
    # include:_spf.crm.test costs 3: itself and two a: rules
    "crm.test": '_spf IN TXT "v=spf1 a:o1.crm.test a:o2.crm.test ~all"\no1 IN A 192.0.2.71\no2 IN A 192.0.2.72',
}
SHOP = """@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@ IN MX 10 mail
mail IN A 192.0.2.10
@ IN TXT "v=spf1 mx include:_spf.relay.test include:spf.bulkmail.test include:_spf.crm.test ~all"
@ IN TXT "google-site-verification=abc"
_dmarc IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@shop.test"
"""


def zones(shop: str = SHOP, **changed: str) -> ZoneSet:
    texts = {**PROVIDERS, **changed, "shop.test": shop}
    return ZoneSet.from_zones(texts, "lookup fixes")


def check(server: DnsTestServer, zs: ZoneSet, catalog: object = CATALOG) -> CheckResult:
    zs.serve(server)

    async def go() -> CheckResult:
        return await spf.check(make_ctx(server, "shop.test", spf_catalog=catalog))

    return run(go())


def too_many(r: CheckResult):  # type: ignore[no-untyped-def]
    return next(f for f in r.findings if f.code == "spf.too-many-lookups")


def test_options_fit_are_checked_and_cheapest_first(dns_server: DnsTestServer) -> None:
    base = zones()
    r = check(dns_server, base)
    assert r.status is Status.FAIL and r.detail["lookups"] == 12
    f = too_many(r)
    # the problem itself carries the records (before, it carried none)
    assert f.fix is not None and [o.title for o in f.options] == [
        "Remove includes you don't need",
        "Copy the most expensive includes into records of your own (flatten)",
        "Move senders to a subdomain of their own"]
    drop, flat, move = f.options
    assert drop.value == "v=spf1 mx include:_spf.relay.test include:_spf.crm.test ~all" and not drop.also_publish
    for words in ("BulkMail sends with its own return path (bounces.bulkmail.test)", "never makes SPF pass for you",
                  "DKIM", "Settings > Domains", "https://bulkmail.test/help/spf", "checked 2026-01-02", "9 of the 10"):
        assert words in drop.note, words
    # the costliest include (5) becomes a copy of its addresses at a self-describing name: one lookup
    assert flat.value == ("v=spf1 mx include:_spf.relay.test._spf-flat.shop.test include:spf.bulkmail.test "
                          "include:_spf.crm.test ~all")
    (copy,) = flat.also_publish
    assert copy.host == "_spf.relay.test._spf-flat.shop.test" and copy.action == "publish"
    assert copy.value == "v=spf1 ip4:203.0.113.16/28 ip4:203.0.113.32/27 ip4:203.0.113.64/28 -all"
    assert "snapshot" in flat.note and "watch list" in flat.note
    assert move.value == "v=spf1 mx include:spf.bulkmail.test include:_spf.crm.test ~all"
    assert [(x.host, x.value) for x in move.also_publish] == [("bounce-relay.shop.test",
                                                               "v=spf1 include:_spf.relay.test ~all")]
    assert "return-path" in move.note and "DKIM" in move.note
    # published, each option fixes the problem and leaves SPF passing within the limit
    for option in f.options:
        after = check(dns_server, base.applied(option))
        assert after.status is Status.PASS, (option.title, after.findings)
        assert after.detail["lookups"] <= 10 and "spf.too-many-lookups" not in {x.code for x in after.findings}
    assert r.detail["lookup_fixes"]["unneeded"] == [{"include": "spf.bulkmail.test", "service": "bulkmail",
                                                     "lookups": 3}]


def test_without_catalog_knowledge_nothing_is_dropped(dns_server: DnsTestServer) -> None:
    f = too_many(check(dns_server, zones(), catalog=()))
    assert [o.title.split()[0] for o in f.options] == ["Copy", "Move"]


def test_a_branch_that_would_change_who_passes_is_not_flattened(dns_server: DnsTestServer) -> None:
    # r1 refuses one address before it lists the range around it: a copy of the pass ranges would let it pass
    relay = PROVIDERS["relay.test"].replace('r1 IN TXT "v=spf1 ip4:203.0.113.16/28 -all"',
                                            'r1 IN TXT "v=spf1 -ip4:203.0.113.17 ip4:203.0.113.16/28 -all"')
    base = zones(**{"relay.test": relay})
    r = check(dns_server, base)
    flat = next(o for o in too_many(r).options if o.title.startswith("Copy"))
    assert "_spf.relay.test._spf-flat" not in flat.value  # the next costliest ones are copied instead
    assert any("change who passes" in x["why"] for x in r.detail["lookup_fixes"]["left_out"])
    assert check(dns_server, base.applied(flat)).status is Status.PASS


def test_corrections_ride_along_and_the_note_no_longer_carries_a_broken_record(dns_server: DnsTestServer) -> None:
    shop = SHOP.replace('"v=spf1 mx ', '"v=spf1 a:nothing.shop.test mx ').replace("~all", "-all", 1)
    r = check(dns_server, zones(shop))
    f = too_many(r)
    assert f.fix is not None and "a:nothing.shop.test" not in f.fix.value and f.fix.value.endswith("~all")
    # the void rule and the -all advice are solved by the same record, shown once under the problem
    shown = {s.finding.code: s for s in r.presented()}
    assert shown["spf.too-many-lookups"].fixes == f.options
    assert {x.code for x in shown["spf.too-many-lookups"].also_solves} >= {"spf.void-lookup",
                                                                           "spf.all-hardfail-early"}
    assert shown["spf.void-lookup"].solved_by is f and not shown["spf.void-lookup"].fixes
    assert r.presented()[0].finding is f  # the problem first


def test_no_record_fits_says_why(dns_server: DnsTestServer) -> None:
    rules = " ".join(f"exists:%{{i}}.e{i}.shop.test" for i in range(11))
    record = " ".join(f'"{p}"' for p in Fix("x", "TXT", f"v=spf1 {rules} ~all").strings)
    r = check(dns_server, zones(SHOP.replace(
        '"v=spf1 mx include:_spf.relay.test include:spf.bulkmail.test include:_spf.crm.test ~all"', record)))
    f = too_many(r)
    assert not f.options and "None of the records we could build" in f.no_fix


def test_a_stale_copy_is_found_and_refreshed_and_the_watch_list_says_so(dns_server: DnsTestServer,
                                                                         tmp_path: Path) -> None:
    base = zones()
    flat = too_many(check(dns_server, base)).options[1]
    published = base.applied(flat)
    fresh = check(dns_server, published)
    assert fresh.status is Status.PASS
    (copy,) = fresh.detail["flattened"]
    assert copy["include"] == "_spf.relay.test" and copy["current"] is True
    # the provider moves one of its ranges
    moved = PROVIDERS["relay.test"].replace("203.0.113.64/28", "203.0.113.128/28")
    later = ZoneSet(published.label, published.origins,
                    {**published.rrsets, **{k: v for k, v in zones(**{"relay.test": moved}).rrsets.items()
                                            if str(k[0]).endswith("relay.test.")}})
    stale = check(dns_server, later)
    f = next(x for x in stale.findings if x.code == "spf.flattened-stale")
    assert stale.status is Status.WARN and f.severity is Severity.WARNING
    assert "203.0.113.128/28" in f.message and "203.0.113.64/28" in f.message
    assert f.fix is not None and f.fix.host == "_spf.relay.test._spf-flat.shop.test" and f.fix.action == "replace"
    assert "ip4:203.0.113.128/28" in f.fix.value and "203.0.113.64" not in f.fix.value
    assert check(dns_server, later.applied(f.fix)).status is Status.PASS
    # the watch list: a run before and a run after the provider's change; the change says what to publish
    options = CheckOptions(nameservers=[dns_server.address], timeout=2.0, checks=("spf",), spf_catalog=CATALOG)
    history = History(tmp_path / "history.sqlite3")
    try:
        entry = WatchEntry("shop.test")
        published.serve(dns_server)
        first = asyncio.run(check_entry(entry, options, history))
        later.serve(dns_server)
        second = asyncio.run(check_entry(entry, options, history))
    finally:
        history.close()
    assert first.status == "pass" and not first.changes
    (change,) = [c for c in second.changes if c.kind == "spf-flattened-stale"]
    assert change.worse and second.worse and change.fix is not None
    assert change.fix["host"] == "_spf.relay.test._spf-flat.shop.test" and "203.0.113.128/28" in change.fix["value"]
    assert "203.0.113.64/28" in (change.before or "") and "203.0.113.128/28" in (change.after or "")
    # a copy that stays stale is one change, not one at every run
    stale_twice, _ = changes_between(stale_report(dns_server, later), stale_report(dns_server, later))
    assert not [c for c in stale_twice if c.kind == "spf-flattened-stale"]


def stale_report(server: DnsTestServer, zs: ZoneSet) -> dict:  # type: ignore[type-arg]
    from inboxready.core.model import DomainReport

    result = check(server, zs)
    return DomainReport("shop.test", {"spf": result}, started="2026-01-02T00:00:00+00:00").to_json()


def test_builder_counts_each_include_as_the_check_does_and_offers_only_records_that_fit(
        dns_server: DnsTestServer) -> None:
    zones().serve(dns_server)

    async def go():  # type: ignore[no-untyped-def]
        c = DnsClient([dns_server.address], timeout=2.0)
        try:
            return await build_spf_live([], [], dns=c, domain="shop.test", catalog=CATALOG)
        finally:
            c.close()

    b = run(go())
    assert b.lookups_live and b.lookups == 12
    assert b.costs["include:_spf.relay.test"] == 5 and b.cost_sources["include:_spf.relay.test"] == "counted over DNS"
    assert b.costs["include:spf.bulkmail.test"] == 3 and b.costs["include:_spf.crm.test"] == 3
    # never the broken record as "replace with": the check's records that fit instead
    assert b.fix is None and [o.title.split()[0] for o in b.options] == ["Remove", "Copy", "Move"]
    assert "removing include:_spf.relay.test (5) would bring it to 7" in b.problems[0]


def test_builder_gives_no_root_include_for_a_service_with_its_own_return_path() -> None:
    b = build_spf(["BulkMail", "relay"], [], domain="shop.test", catalog=CATALOG)
    assert b.record == "v=spf1 include:_spf.relay.test ~all"  # no include:spf.bulkmail.test
    (setup,) = b.setups
    assert setup.service.id == "bulkmail" and "bounces.bulkmail.test" in setup.text and "DKIM" in setup.text
    assert "Settings > Domains" in setup.text
    # offline, a cost is the catalog's, dated
    assert b.costs == {"include:_spf.relay.test": 2}
    assert b.cost_sources == {"include:_spf.relay.test": "estimate from 2026-01-02"}
    # a catalog entry that gives the set-up records: they are offered at the user's domain
    with_records = parse_catalog({"services": [{
        "id": "bulkmail", "name": "BulkMail", "include": "spf.bulkmail.test", "own_return_path": True,
        "setup_records": [{"host": "bm1._domainkey", "type": "CNAME", "value": "bm1.dkim.bulkmail.test."}]}]})
    b2 = build_spf(["bulkmail"], [], domain="shop.test", catalog=with_records)
    assert [(r.host, r.type, r.value) for r in b2.setups[0].records] == [
        ("bm1._domainkey.shop.test", "CNAME", "bm1.dkim.bulkmail.test.")]


def test_fix_json_says_which_findings_a_record_also_solves(dns_server: DnsTestServer) -> None:
    shop = SHOP.replace('"v=spf1 mx ', '"v=spf1 a:nothing.shop.test mx ')
    data = check(dns_server, zones(shop)).to_json()
    first = data["findings"][0]
    assert first["code"] == "spf.too-many-lookups" and first["fix"] is not None
    assert "spf.void-lookup" in first["also_solves"] and len(first["alternatives"]) == 2
    assert first["alternatives"][0]["also_publish"][0]["host"].endswith("._spf-flat.shop.test")
    void = next(x for x in data["findings"] if x["code"] == "spf.void-lookup")
    assert void["solved_by"] == "spf.too-many-lookups" and void["fix"] == first["fix"]  # kept for old scripts


def test_a_copy_name_says_where_it_came_from() -> None:
    host = spf.flat_host("_spf.relay.test", "shop.test")
    assert host == "_spf.relay.test._spf-flat.shop.test"
    assert spf.flat_source(host, "shop.test") == "_spf.relay.test"
    assert spf.flat_source("_p2._spf.relay.test._spf-flat.shop.test", "shop.test") is None
    assert spf.flat_source("_spf.relay.test", "shop.test") is None
    long = spf.flat_records("_spf.relay.test", "shop.test", [f"10.{2 * i}.0.0/16" for i in range(60)])
    assert long is not None and len(long) > 1 and all(len(v) <= spf.FLAT_RECORD_BYTES for _, v in long)
    assert long[0][1].endswith(f"include:{long[1][0]} -all") and long[1][0].startswith("_p2.")
    assert replace(Fix("a", "TXT", "v"), also_publish=(Fix("b", "TXT", "w"),)).records[1].host == "b"


def test_lookups_behind_a_redirect_are_fixed_where_the_redirect_points(dns_server: DnsTestServer) -> None:
    shop = SHOP.replace('"v=spf1 mx include:_spf.relay.test include:spf.bulkmail.test include:_spf.crm.test ~all"',
                        '"v=spf1 redirect=_spf.shop.test"') + (
        '_spf IN TXT "v=spf1 mx include:_spf.relay.test include:spf.bulkmail.test include:_spf.crm.test ~all"\n')
    f = too_many(check(dns_server, zones(shop), catalog=()))
    assert not f.options and "'redirect=' points to, _spf.shop.test" in f.no_fix


def test_known_and_obsolete_includes_are_recognised_and_set_up_records_filled_in(dns_server: DnsTestServer) -> None:
    """The catalog's known includes (old instructions): an obsolete one, or one of a service with its own return
    path, is dropped first, with the catalog's words; set-up records get the domain, never a placeholder."""
    catalog = parse_catalog({"services": [
        {"id": "crm", "name": "CRM Co", "include": "_spf.new-crm.test", "own_return_path": False, "checked": "2026-01-02",
         "known_includes": [{"include": "_spf.crm.test", "lookups": 3, "obsolete": True,
                             "note": "CRM Co's old method: it no longer authenticates its mail; remove it."}]},
        {"id": "relay", "name": "Relay Mail", "include": None, "own_return_path": True,
         "return_path_domain": "bounces.relay.test",
         "known_includes": [{"include": "_spf.relay.test", "lookups": 5, "note": "Not needed for DMARC."}],
         "setup_records": [
             {"host": "r1._domainkey.{domain}", "type": "CNAME", "value": "r1.dkim.relay.test.", "note": "DKIM"},
             {"host": "bounce.{domain}", "type": "MX", "value": "10 feedback.{region}.relay.test.",
              "note": "{region} is your region"}]},
    ]})
    f = too_many(check(dns_server, zones(), catalog=catalog))
    drop = f.options[0]
    assert drop.value == "v=spf1 mx include:spf.bulkmail.test ~all"
    assert "CRM Co's old method" in drop.note and "Not needed for DMARC." in drop.note
    b = build_spf(["relay"], [], domain="shop.test", catalog=catalog)
    assert b.record == "v=spf1 ~all" and not b.costs
    assert [(r.host, r.type, r.value) for r in b.setups[0].records] == [
        ("r1._domainkey.shop.test", "CNAME", "r1.dkim.relay.test.")]  # the {region} one is left to the words
    offline = build_spf([], [], "v=spf1 include:_spf.crm.test ~all", catalog=catalog)
    assert offline.costs == {"include:_spf.crm.test": 3} and offline.lookups_known
