"""Review of the report import and summary (g4): forged mail is never credited to a sending service, one
report id used for several reports keeps every one of them, IPv4 addresses written as IPv6 are IPv4."""

from __future__ import annotations

from pathlib import Path

from inboxready.core.reports.store import ReportStore
from inboxready.core.reports.summary import summarize
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
