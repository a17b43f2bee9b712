"""Review of the report import and summary (g4): forged mail is never credited to a sending service, one
report id used for several reports keeps every one of them, IPv4 addresses written as IPv6 are IPv4."""

from __future__ import annotations

from pathlib import Path

from inboxready.core.dns.client import DnsClient
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.reports.sources import resolve_sources
from inboxready.core.reports.store import ReportStore
from inboxready.core.reports.summary import summarize
from tests.conftest import run
from tests.reports.reports_util import good_row, report_xml

DAY = 86400
NOW = 1_767_225_600  # 2026-01-01 00:00 UTC
OWN, FORGER = "203.0.113.5", "198.51.100.7"


def _forged_store(tmp_path: Path, forged_rows: list) -> ReportStore:  # type: ignore[type-arg]
    store = ReportStore(tmp_path / "db.sqlite3")
    for d in range(10):
        rows = [good_row(OWN, 100)] + forged_rows
        assert store.import_bytes(f"{d}.xml", report_xml("google.com", f"r-{d}", "shop.test", NOW - (d + 1) * DAY,
                                                          rows)).imported
    return store


def test_forged_mail_with_a_failing_gmail_envelope_is_not_credited_to_google(tmp_path: Path) -> None:
    # spam forging the From address, its envelope sender @gmail.com (SPF softfail) and a DKIM signature that
    # claims google.com but fails: nothing of Google's passed, so it is not Google's mail, and it must not
    # count as "legitimate-looking mail that would go to spam"
    forged = good_row(FORGER, 40, dkim="fail", spf="fail", dkim_domain="google.com", dkim_result="fail",
                      spf_domain="gmail.com", spf_result="softfail")
    with _forged_store(tmp_path, [forged]) as store:
        s = summarize(store, "shop.test", days=30, now=NOW)
        src = {r.ip: r for r in s.sources}[FORGER]
        assert src.service_id == "unknown", src.service
        assert [r.ip for r in s.unknown_failing] == [FORGER]
        quarantine = s.enforcement[0]
        assert quarantine.verdict != "not-yet" and quarantine.affected_messages == 0, quarantine.message
        assert "google" not in {v.service_id for v in s.services}


def test_a_passing_service_signature_still_names_the_service(tmp_path: Path) -> None:
    # the same server, but SendGrid's own signature passes: that is SendGrid sending for you (not aligned)
    sent = good_row(FORGER, 40, dkim="fail", spf="fail", dkim_domain="sendgrid.net", dkim_result="pass",
                    spf_domain="gmail.com", spf_result="softfail")
    with _forged_store(tmp_path, [sent]) as store:
        s = summarize(store, "shop.test", days=30, now=NOW)
        assert {r.ip: r for r in s.sources}[FORGER].service_id == "sendgrid"
        na = {n.ip: n for n in s.not_aligned}[FORGER]
        assert "DKIM passes for sendgrid.net" in na.why and "SPF passes" not in na.why


def test_not_aligned_names_the_domain_that_passed(tmp_path: Path) -> None:
    # one day the server's own-domain signature failed (a broken key), the other days the ESP's passed: the
    # explanation names the passing domain, never "DKIM passes for shop.test ... that domain is not shop.test"
    store = ReportStore(tmp_path / "db.sqlite3")
    for d in range(10):
        if d == 9:  # the earliest day: its row is read first
            row = good_row(FORGER, 5, dkim="fail", spf="fail", dkim_domain="shop.test", dkim_result="fail",
                           spf_domain="bounce.esp.example", spf_result="fail")
        else:
            row = good_row(FORGER, 5, dkim="fail", spf="fail", dkim_domain="esp.example", dkim_result="pass",
                           spf_domain="bounce.esp.example", spf_result="fail")
        store.import_bytes(f"{d}.xml", report_xml("google.com", f"n-{d}", "shop.test", NOW - (d + 1) * DAY,
                                                  [good_row(OWN, 100), row], adkim="s"))
    with store:
        s = summarize(store, "shop.test", days=30, now=NOW)
        na = {n.ip: n for n in s.not_aligned}[FORGER]
        assert "DKIM passes for esp.example" in na.why, na.why
        assert not na.fixes or all("adkim" not in f.value for f in na.fixes)  # relaxing would not help


def test_one_report_id_for_two_domains_or_two_periods_keeps_both(tmp_path: Path) -> None:
    # reporters reuse a report id for their reports about several domains, and (Google, Mimecast) for
    # consecutive days: each is a report of its own, never "the same id, other content: skipped"
    db = tmp_path / "db.sqlite3"
    docs = {"shop.xml": report_xml("mimecast.com", "same-id", "shop.test", NOW - DAY, [good_row(OWN, 10)]),
            "blog.xml": report_xml("mimecast.com", "same-id", "blog.test", NOW - DAY,
                                   [good_row(OWN, 7, domain="blog.test")]),
            "shop-2.xml": report_xml("mimecast.com", "same-id", "shop.test", NOW - 2 * DAY, [good_row(OWN, 10)])}
    for name, data in docs.items():
        (tmp_path / name).write_bytes(data)
    with ReportStore(db) as store:
        res = store.import_paths([tmp_path / n for n in docs])
        assert len(res.imported) == 3 and not res.conflicting and not res.duplicate, res
        assert summarize(store, "shop.test", days=30, now=NOW).messages == 20
        assert summarize(store, "blog.test", days=30, now=NOW).messages == 7
        again = store.import_paths([tmp_path / n for n in docs])  # importing again adds nothing
        assert not again.imported and len(again.duplicate) == 3
        assert summarize(store, "shop.test", days=30, now=NOW).messages == 20


def test_a_store_of_the_previous_schema_is_upgraded_without_losing_a_report(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "db.sqlite3"
    with ReportStore(db) as store:
        assert store.import_bytes("a.xml", report_xml("mimecast.com", "same-id", "shop.test", NOW - DAY,
                                                      [good_row(OWN, 10)])).imported
    # the table as schema 2 made it: unique by reporter and id alone
    con = sqlite3.connect(db, isolation_level=None)
    ddl = con.execute("SELECT sql FROM sqlite_master WHERE name='reports'").fetchone()[0]
    assert "UNIQUE (kind, org, report_id, domain, begin, end)" in ddl
    con.execute("BEGIN")
    con.execute(ddl.replace("CREATE TABLE reports", "CREATE TABLE old_reports")
                .replace("UNIQUE (kind, org, report_id, domain, begin, end)", "UNIQUE (kind, org, report_id)"))
    con.execute("INSERT INTO old_reports SELECT * FROM reports")
    con.execute("DROP TABLE reports")
    con.execute("ALTER TABLE old_reports RENAME TO reports")
    con.execute("CREATE INDEX reports_domain ON reports (domain, end)")
    con.execute("COMMIT")
    con.execute("PRAGMA user_version=2")
    con.close()
    with ReportStore(db) as store:
        assert not store.problem, store.problem
        assert summarize(store, "shop.test", days=30, now=NOW).messages == 10
        res = store.import_bytes("b.xml", report_xml("mimecast.com", "same-id", "blog.test", NOW - DAY,
                                                     [good_row(OWN, 7, domain="blog.test")]))
        assert res.imported and not res.conflicting
        assert store.query("SELECT count(*) FROM rows")[0][0] == 2
    with ReportStore(db) as store:  # opening the upgraded store again writes nothing and keeps both
        assert store.counts()["dmarc"] == 2


def test_an_ipv4_address_written_as_ipv6_is_the_ipv4_sender(tmp_path: Path) -> None:
    # dual-stack receivers write an IPv4 sender as ::ffff:a.b.c.d: it is that IPv4 server (Google's here), in
    # the fast reader and the general one alike, and it is one source with the same server written plainly
    from inboxready.core.reports.aggregate import parse_aggregate

    rows = [good_row("::ffff:209.85.220.41", 30), good_row("209.85.220.41", 12)]
    xml = report_xml("google.com", "mapped", "shop.test", NOW - DAY, rows)
    assert [r.source_ip for r in parse_aggregate(xml).rows] == ["209.85.220.41"] * 2
    slow = xml.replace(b"<feedback>", b"<!-- any comment sends it the general way --><feedback>")
    assert [r.source_ip for r in parse_aggregate(slow).rows] == ["209.85.220.41"] * 2
    with ReportStore(tmp_path / "db.sqlite3") as store:
        assert store.import_bytes("m.xml", xml).imported
        s = summarize(store, "shop.test", days=30, now=NOW)
        assert [(r.ip, r.messages, r.service_id) for r in s.sources] == [("209.85.220.41", 42, "google")]


def test_a_reverse_dns_name_counts_only_when_its_forward_lookup_confirms_it(tmp_path: Path,
                                                                               dns_server: DnsTestServer) -> None:
    # whoever runs an address writes its reverse DNS name, so a forger can call his server
    # mail-sor-f41.google.com: the name counts only when it resolves back to the address (forward-confirmed)
    forged = good_row(FORGER, 40, dkim="fail", spf="fail", dkim_domain=None, spf_domain="forger.example",
                      spf_result="fail")
    dns_server.add_zone("7.100.51.198.in-addr.arpa", "@ IN PTR mail-sor-f41.google.com.\n")
    dns_server.add_zone("5.113.0.203.in-addr.arpa", "@ IN PTR mail.shop.test.\n")
    dns_server.add_zone("google.com", "mail-sor-f41 IN A 209.85.220.41\n")
    dns_server.add_zone("shop.test", "mail IN A 203.0.113.5\n")
    with _forged_store(tmp_path, [forged]) as store:
        async def go() -> dict[str, str | None]:
            client = DnsClient([dns_server.address], timeout=0.3, deadline=5.0)
            try:
                return await resolve_sources(store, client, [OWN, FORGER], timeout=0.5)
            finally:
                client.close()

        assert run(go()) == {OWN: "mail.shop.test", FORGER: None}
        s = summarize(store, "shop.test", days=30, now=NOW)
        by_ip = {r.ip: r for r in s.sources}
        assert by_ip[OWN].service == "unknown (mail.shop.test)"
        assert by_ip[FORGER].service_id == "unknown"
        assert "mail-sor-f41.google.com" in by_ip[FORGER].service and "not confirmed" in by_ip[FORGER].service
        assert [r.ip for r in s.unknown_failing] == [FORGER]
        assert s.enforcement[0].affected_messages == 0
