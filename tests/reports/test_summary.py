"""Summary figures, services, not-aligned fixes and "safe to enforce?" on made-up reports; reverse DNS."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from inboxready.core.checks import dkim as dkim_check
from inboxready.core.checks import dmarc as dmarc_check
from inboxready.core.dns.client import DnsClient
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import Severity, Status
from inboxready.core.reports.sources import UNKNOWN_PENDING, load_catalog, resolve_sources
from inboxready.core.reports.store import ReportStore
from inboxready.core.reports.summary import summarize
from tests.conftest import make_ctx, run
from tests.reports.reports_util import good_row, report_xml

DAY = 86400
NOW = 1_767_225_600  # 2026-01-01 00:00 UTC
OWN, GOOGLE, SENDGRID, MAILCHIMP, SPOOF = "203.0.113.5", "209.85.220.41", "167.89.10.20", "198.2.140.10", "192.0.2.66"


def _store(tmp_path: Path, *, days: int = 10, third_parties: bool = True, domain: str = "shop.test",
           p: str = "none", adkim: str | None = None, extra: list | None = None,  # type: ignore[type-arg]
           spoof: int = 30, sp: str | None = None) -> ReportStore:
    store = ReportStore(tmp_path / "db.sqlite3")
    for d in range(days):
        begin = NOW - (d + 1) * DAY
        rows = [good_row(OWN, 100, domain=domain), good_row(GOOGLE, 50, domain=domain),
                good_row(SPOOF, spoof, domain=domain, dkim="fail", spf="fail", dkim_domain=None,
                         spf_domain="spoof.example", disposition="none")]
        if third_parties:
            rows += [good_row(SENDGRID, 20, domain=domain, dkim="fail", spf="fail", dkim_domain="sendgrid.net",
                              dkim_result="pass", spf_domain="sendgrid.net", spf_result="pass"),
                     good_row(MAILCHIMP, 5, domain=domain, dkim="fail", spf="fail", dkim_domain="mcsv.net",
                              dkim_result="pass", spf_domain="mail9.mcsv.net", spf_result="pass")]
        rows += extra or []
        res = store.import_bytes(f"{d}.xml", report_xml("google.com", f"{domain}-{d}", domain, begin, rows, p=p,
                                                        adkim=adkim, sp=sp))
        assert res.imported
    # an old report outside the 30-day window must not count
    store.import_bytes("old.xml", report_xml("google.com", "old", domain, NOW - 90 * DAY, [good_row(SPOOF, 999)]))
    return store


def test_figures_services_and_rates(tmp_path: Path) -> None:
    store = _store(tmp_path)
    s = summarize(store, "shop.test", days=30, now=NOW)
    assert s.reports == 10
    assert s.messages == 10 * (100 + 50 + 30 + 20 + 5)
    assert s.dmarc_pass == 10 * 150
    assert (s.spf_aligned, s.dkim_aligned) == (1500, 1500)
    assert (s.spf_pass, s.dkim_pass) == (1750, 1750)
    assert s.rates["dmarc_pass"] == round(1500 / 2050, 4)
    by_ip = {r.ip: r for r in s.sources}
    assert by_ip[OWN].messages == 1000 and by_ip[OWN].dmarc_pass == 1000
    assert by_ip[GOOGLE].service_id == "google"
    assert by_ip[SENDGRID].service_id == "sendgrid"
    assert by_ip[MAILCHIMP].service_id == "mailchimp"
    assert by_ip[OWN].service == UNKNOWN_PENDING and by_ip[SPOOF].service == UNKNOWN_PENDING
    assert s.pending_lookups == 2
    services = {v.service_id: v for v in s.services}
    assert services["google"].messages == 500 and services["google"].dmarc_pass == 500
    assert services["unknown"].sources == 2 and services["unknown"].messages == 1300
    assert [d.messages for d in s.daily] == [205] * 10
    assert s.daily[0].date == "2025-12-22" and s.daily[-1].date == "2025-12-31"
    assert [r.ip for r in s.unknown_failing] == [SPOOF]
    j = s.to_json()
    json.dumps(j)  # serialisable
    assert j["messages"] == 2050 and len(j["sources"]) == 5
    rows = list(csv.DictReader(io.StringIO(s.to_csv("sources"))))
    assert {r["ip"]: int(r["messages"]) for r in rows}[OWN] == 1000
    daily = list(csv.reader(io.StringIO(s.to_csv("daily"))))
    assert daily[0] == ["date", "messages", "dmarc_pass", "pass_rate"] and len(daily) == 11
    store.close()


def test_not_aligned_sources_get_fixes_that_pass_our_own_check(tmp_path: Path, dns_server: DnsTestServer) -> None:
    store = _store(tmp_path)
    s = summarize(store, "shop.test", days=30, now=NOW)
    na = {n.service_id: n for n in s.not_aligned}
    assert set(na) == {"sendgrid", "mailchimp"}
    assert na["sendgrid"].messages == 200
    assert "sendgrid.net" in na["sendgrid"].why and "not shop.test" in na["sendgrid"].why
    assert not na["sendgrid"].fixes and "Sender Authentication" in na["sendgrid"].advice
    fixes = [(f.host, f.type, f.value) for f in na["mailchimp"].fixes]
    assert fixes == [("k2._domainkey.shop.test", "CNAME", "dkim2.mcsv.net"),
                     ("k3._domainkey.shop.test", "CNAME", "dkim3.mcsv.net")]
    # publish the CNAMEs (and a stand-in for Mailchimp's key) and check DKIM with our engine
    key = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + "A" * 300 + "IDAQAB"
    dns_server.add_zone("mcsv.net", f'dkim2 IN TXT "{key[:250]}" "{key[250:]}"\n'
                                    f'dkim3 IN TXT "{key[:250]}" "{key[250:]}"\n')
    dns_server.add_zone("shop.test", "".join(f"{f.host.removesuffix('.shop.test')} IN {f.type} {f.value}.\n"
                                             for f in na["mailchimp"].fixes) + '@ IN TXT "v=spf1 -all"\n')

    async def go():  # type: ignore[no-untyped-def]
        return await dkim_check.check(make_ctx(dns_server, "shop.test", dkim_selectors=["k2", "k3"]))

    result = run(go())
    assert result.status is not Status.ERROR
    found = json.dumps(result.detail)
    assert "k2" in found and "k3" in found
    assert not [f for f in result.findings if f.code.endswith(("no-key", "not-found", "missing-key"))
                and ("k2" in f.message or "k3" in f.message)]
    store.close()


def test_strict_alignment_fix_relaxes_the_record(tmp_path: Path, dns_server: DnsTestServer) -> None:
    sub = good_row("203.0.113.7", 40, domain="strict.test", dkim="fail", spf="fail",
                   dkim_domain="news.strict.test", dkim_result="pass", spf_domain="news.strict.test", spf_result="pass")
    store = _store(tmp_path, domain="strict.test", adkim="s", third_parties=False, extra=[sub])
    current = "v=DMARC1; p=none; adkim=s; rua=mailto:dmarc@strict.test"
    s = summarize(store, "strict.test", days=30, now=NOW, current_record=current)
    (n,) = s.not_aligned
    assert n.ip == "203.0.113.7" and "strict alignment" in n.advice
    (fix,) = n.fixes
    assert fix.host == "_dmarc.strict.test" and fix.type == "TXT" and fix.action == "replace"
    assert "adkim=s" not in fix.value and "rua=mailto:dmarc@strict.test" in fix.value
    dns_server.add_zone("strict.test", f'_dmarc IN TXT "{fix.value}"\n')

    async def go():  # type: ignore[no-untyped-def]
        return await dmarc_check.check(make_ctx(dns_server, "strict.test"))

    result = run(go())
    assert result.detail["record"] == fix.value
    assert result.detail["tags"].get("adkim", "r") == "r"
    assert not [f for f in result.findings if f.severity in (Severity.ERROR, Severity.UNKNOWN)]
    store.close()


def test_not_safe_while_legitimate_mail_fails(tmp_path: Path) -> None:
    store = _store(tmp_path)
    s = summarize(store, "shop.test", days=30, now=NOW)
    q, r = s.enforcement
    assert (q.policy, q.verdict, q.safe) == ("quarantine", "not-yet", False)
    assert (r.policy, r.verdict, r.safe) == ("reject", "not-yet", False)
    assert q.legit_messages == 1750 and q.affected_messages == 250
    assert q.affected_share == round(250 / 1750, 4)
    assert q.affected_sources[0].startswith("SendGrid") and "200" in q.affected_sources[0]
    assert q.next_record is None and "14.3%" in q.message
    store.close()


def test_safe_to_enforce_gives_the_next_record(tmp_path: Path, dns_server: DnsTestServer) -> None:
    store = _store(tmp_path, third_parties=False, spoof=3)  # 2% of the mail fails, from an unknown server
    current = "v=DMARC1; p=none; pct=100; rua=mailto:dmarc@shop.test"
    s = summarize(store, "shop.test", days=30, now=NOW, current_record=current)
    q, r = s.enforcement
    assert (q.verdict, r.verdict) == ("safe", "safe")
    assert q.legit_messages == 1500 and q.affected_messages == 0
    assert q.next_record is not None and r.next_record is not None
    # RFC 9989 and the DMARC builder's ladder: np=reject from the first enforcing step, no pct, t=y first
    assert q.next_record.value == "v=DMARC1; p=quarantine; np=reject; t=y; rua=mailto:dmarc@shop.test"
    assert "pct" not in q.next_record.value  # RFC 9989: pct is historic
    assert r.next_record.value == "v=DMARC1; p=reject; np=reject; t=y; rua=mailto:dmarc@shop.test"
    assert "quarantine first" in r.next_record.note
    for fix, policy in ((q.next_record, "quarantine"), (r.next_record, "reject")):
        dns_server.replace_zone("shop.test", f'_dmarc IN TXT "{fix.value}"\n')

        async def go():  # type: ignore[no-untyped-def]
            return await dmarc_check.check(make_ctx(dns_server, "shop.test"))

        result = run(go())
        assert result.status in (Status.PASS, Status.WARN, Status.INFO)
        assert result.detail["policy"] == policy and result.detail["testing"] in (True, "y")
        assert not [f for f in result.findings if f.severity in (Severity.ERROR, Severity.UNKNOWN)]
    # after the test phase: the same policy without t=y
    s2 = summarize(store, "shop.test", days=30, now=NOW,
                   current_record="v=DMARC1; p=quarantine; t=y; rua=mailto:dmarc@shop.test")
    q2 = s2.enforcement[0]
    assert q2.next_record is not None
    assert q2.next_record.value == "v=DMARC1; p=quarantine; np=reject; rua=mailto:dmarc@shop.test"
    s3 = summarize(store, "shop.test", days=30, now=NOW, current_record="v=DMARC1; p=reject; rua=mailto:d@shop.test")
    assert [e.verdict for e in s3.enforcement] == ["already", "already"]
    store.close()


def test_not_enough_data(tmp_path: Path) -> None:
    store = _store(tmp_path, days=2, third_parties=False)
    s = summarize(store, "shop.test", days=30, now=NOW)
    assert [e.verdict for e in s.enforcement] == ["not-enough-data", "not-enough-data"]
    assert "2 day(s)" in s.enforcement[0].message
    empty = summarize(store, "nothing.test", days=30, now=NOW)
    assert empty.reports == 0 and empty.messages == 0 and not empty.sources
    store.close()


def test_reverse_dns_fills_the_cache_and_names_sources(tmp_path: Path, dns_server: DnsTestServer) -> None:
    store = _store(tmp_path, third_parties=False)
    dns_server.add_zone("113.0.203.in-addr.arpa", "5 IN PTR mail.shop.test.\n")
    dns_server.add_zone("2.0.192.in-addr.arpa", "1 IN PTR other.example.\n")
    dns_server.add_zone("220.85.209.in-addr.arpa", "41 IN PTR mail-sor-f41.google.com.\n")
    # the names resolve back to the addresses (forward-confirmed reverse DNS; see test_review_reports)
    dns_server.add_zone("shop.test", "mail IN A 203.0.113.5\n")
    dns_server.add_zone("google.com", "mail-sor-f41 IN A 209.85.220.41\n")
    dns_server.add_zone("sendgrid.net", "o1.ptr1234 IN A 192.0.2.66\n")
    dns_server.timeout_names.add("66.2.0.192.in-addr.arpa")
    before = summarize(store, "shop.test", days=30, now=NOW)
    assert before.pending_lookups == 2

    async def go(ips: list[str]):  # type: ignore[no-untyped-def]
        client = DnsClient([dns_server.address], timeout=0.3, deadline=5.0)
        try:
            return await resolve_sources(store, client, ips, timeout=0.5)
        finally:
            client.close()

    names = run(go([r.ip for r in before.sources]))
    assert names == {OWN: "mail.shop.test", GOOGLE: "mail-sor-f41.google.com", SPOOF: None}
    assert store.ptr_get([SPOOF]) == {SPOOF: (None, "failed")}  # a timeout is remembered as failed...
    after = summarize(store, "shop.test", days=30, now=NOW)
    by_ip = {r.ip: r for r in after.sources}
    assert by_ip[OWN].ptr == "mail.shop.test" and by_ip[OWN].service == "unknown (mail.shop.test)"
    # Issue 12 #6: a lookup that timed out is "couldn't look up", never "no reverse DNS name"
    assert by_ip[SPOOF].service == "unknown (reverse DNS couldn't be looked up)" and by_ip[SPOOF].ptr is None
    assert after.pending_lookups == 0 and after.failed_lookups == 1
    assert after.to_json()["failed_lookups"] == 1
    dns_server.timeout_names.clear()
    dns_server.add_zone("2.0.192.in-addr.arpa", "1 IN PTR other.example.\n66 IN PTR o1.ptr1234.sendgrid.net.\n")
    names = run(go([SPOOF]))  # ...and asked again next time
    assert names == {SPOOF: "o1.ptr1234.sendgrid.net"}
    assert summarize(store, "shop.test", days=30, now=NOW).sources[-1].service_id in ("sendgrid", "unknown")
    assert {r.ip: r.service_id for r in summarize(store, "shop.test", days=30, now=NOW).sources}[SPOOF] == "sendgrid"
    store.close()


def test_catalog_entries_have_source_and_date() -> None:
    cat = load_catalog()
    ids = {s.id for s in cat.services}
    assert {"google", "microsoft", "amazon-ses", "sendgrid", "mailchimp", "mailgun", "postmark", "zoho",
            "salesforce", "hubspot", "zendesk"} <= ids
    for s in cat.services:
        assert s.source and s.checked and s.name
        assert s.ptr_suffixes or s.networks or s.auth_domains
    assert cat.match("40.107.22.5").id == "microsoft"  # type: ignore[union-attr]
    assert cat.match("2a00:1450:4864:20::42b").id == "google"  # type: ignore[union-attr]
    assert cat.match("10.0.0.1") is None
    assert cat.match("10.0.0.1", ptr="a8-1.smtp-out.amazonses.com").id == "amazon-ses"  # type: ignore[union-attr]
    assert cat.match("10.0.0.1", auth_domains=["contoso.onmicrosoft.com"]).id == "microsoft"  # type: ignore[union-attr]


def test_long_ranges_are_described_by_their_dates(tmp_path: Path) -> None:
    store = _store(tmp_path)
    short = summarize(store, "shop.test", days=30, now=NOW)
    assert "in the last 30 days" in short.enforcement[0].message and short.period == "in the last 30 days"
    everything = summarize(store, "shop.test", days=20784, now=NOW)  # "all time" back to a 1970 sample
    first, last = everything.daily[0].date, everything.daily[-1].date
    assert everything.period == f"between {first} and {last}"
    assert all("20784" not in e.message for e in everything.enforcement)
    assert f"between {first} and {last}" in everything.enforcement[0].message
    store.close()


def test_reverse_lookup_servfail_is_not_a_missing_name(tmp_path: Path, dns_server: DnsTestServer) -> None:
    store = _store(tmp_path, third_parties=False)
    dns_server.add_zone("113.0.203.in-addr.arpa", "7 IN PTR other.shop.test.\n")  # 5 has no PTR: NXDOMAIN
    dns_server.servfail_names.add("66.2.0.192.in-addr.arpa")

    async def go(ips: list[str]):  # type: ignore[no-untyped-def]
        client = DnsClient([dns_server.address], timeout=0.3, deadline=5.0)
        try:
            return await resolve_sources(store, client, ips, timeout=0.5)
        finally:
            client.close()

    run(go([OWN, SPOOF]))
    by_ip = {r.ip: r for r in summarize(store, "shop.test", days=30, now=NOW).sources}
    assert by_ip[OWN].service == "unknown (no reverse DNS name)"  # a real "no such name"
    assert by_ip[SPOOF].service == "unknown (reverse DNS couldn't be looked up)"  # SERVFAIL: couldn't check
    store.close()


def test_unidentified_senders_are_never_named_looking_up_in_the_advice(tmp_path: Path) -> None:
    # names not looked up (the reports window with lookups off): the advice is written once and stays
    store = _store(tmp_path, third_parties=False, spoof=400)
    s = summarize(store, "shop.test", days=30, now=NOW)
    assert any(r.service == UNKNOWN_PENDING for r in s.sources)
    review = [e for e in s.enforcement if e.verdict == "review"]
    assert review, [e.verdict for e in s.enforcement]
    for e in review:
        assert f"unknown ({SPOOF})" in e.message
        assert "looking up" not in e.message and not any("looking up" in a for a in e.affected_sources)
    store.close()
