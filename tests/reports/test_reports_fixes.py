"""Second review of the report import (g9): one bad record no longer loses a report, a HELO-only SPF result
says nothing about SPF alignment, reverse names cached before the forward-confirmed rule are looked up again,
a TLS report without a policy-domain is never invisible, and sessions listed under both an MTA-STS and a DANE
policy are counted once."""

from __future__ import annotations

import io
import json
import sqlite3
import time
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from inboxready.app.cli import main
from inboxready.core.reports.aggregate import ReportError, parse_aggregate, parse_aggregate_flat
from inboxready.core.reports.store import SCHEMA_VERSION, ReportStore
from inboxready.core.reports.summary import summarize
from inboxready.core.reports.tlsrpt import parse_tlsrpt
from tests.conftest import conformance_dir
from tests.reports.reports_util import good_row, report_xml

DAY = 86400
NOW = int(time.time()) // DAY * DAY
OWN = "203.0.113.5"


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def _general_way(xml: bytes) -> bytes:
    """The same report sent the general (streaming) way: a comment keeps it off the fast path."""
    return xml.replace(b"<feedback>", b"<!-- general way --><feedback>", 1)


# -- 1. one bad record ------------------------------------------------------------------------------


def _with_bad_rows() -> bytes:
    rows = [good_row(OWN, 10), good_row("unknown", 4), good_row("203.0.113.6", 7),
            good_row("203.0.113.7", -3), good_row("203.0.113.8", 10**12 + 1)]
    return report_xml("google.com", "bad-rows", "shop.test", NOW - DAY, rows)


@pytest.mark.parametrize("way", ["fast", "general"])
def test_a_bad_record_is_skipped_and_the_rest_of_the_report_is_read(way: str) -> None:
    xml = _with_bad_rows() if way == "fast" else _general_way(_with_bad_rows())
    for report in (parse_aggregate(xml), parse_aggregate_flat(xml)):
        got = [r.source_ip for r in report.rows] or [r[0] for r in report.flat_rows]
        assert got == [OWN, "203.0.113.6"]
        assert report.skipped_rows == 3 and report.skipped_messages == 4
        assert report.skipped.startswith("3 of its 5 rows could not be read and were skipped (at least 4 messages")
        assert "row 2 has a source IP address that is not valid ('unknown')" in report.skipped
        assert "row 4 has a message count that is out of range (-3)" in report.skipped
        assert "row 5 has a message count that is out of range (1000000000001)" in report.skipped


def test_a_report_none_of_whose_records_can_be_read_is_refused_with_the_reasons() -> None:
    xml = report_xml("google.com", "all-bad", "shop.test", NOW - DAY, [good_row("unknown", 4), good_row("::x", 2)])
    with pytest.raises(ReportError) as exc:
        parse_aggregate(xml)
    assert exc.value.reason == ("none of the report's 2 rows could be read: row 1 has a source IP address that is "
                                "not valid ('unknown'); row 2 has a source IP address that is not valid ('::x')")
    many = report_xml("google.com", "many-bad", "shop.test", NOW - DAY,
                      [good_row(OWN, 1)] + [good_row(f"bad-{i}", 1) for i in range(5)])
    assert parse_aggregate(many).skipped.endswith("row 4 has a source IP address that is not valid ('bad-2'); "
                                                  "and 2 more")


def test_import_keeps_the_good_rows_and_says_how_many_were_skipped_and_why(tmp_path: Path) -> None:
    (tmp_path / "bad-rows.xml").write_bytes(_with_bad_rows())
    (tmp_path / "all-bad.xml").write_bytes(report_xml("google.com", "all-bad", "shop.test", NOW - 2 * DAY,
                                                      [good_row("unknown", 4)]))
    db = str(tmp_path / "db.sqlite3")
    code, out, _ = _cli("reports", "import", "--store", db, str(tmp_path / "bad-rows.xml"),
                        str(tmp_path / "all-bad.xml"))
    assert code == 1  # something to look at
    assert "Imported 1 report(s) (1 DMARC, 0 TLS) from 2 file(s)." in out
    assert ("1 imported report(s) have rows that could not be read; those 3 row(s) were skipped and the rest "
            "imported:\n  bad-rows.xml: 3 of its 5 rows could not be read and were skipped") in out
    assert "row 2 has a source IP address that is not valid ('unknown')" in out
    assert ("all-bad.xml: the report's only row could not be read: row 1 has a source IP address that is not "
            "valid ('unknown')") in out
    with ReportStore(Path(db)) as store:
        assert summarize(store, "shop.test", days=30).messages == 17
    (tmp_path / "again.xml").write_bytes(_with_bad_rows())
    code, out, _ = _cli("reports", "import", "--json", "--store", db, str(tmp_path / "again.xml"))
    doc = json.loads(out)
    assert code == 1 and [d["name"] for d in doc["duplicate"]] == ["again.xml"]  # stored without 3 rows: said again
    assert doc["duplicate"][0]["skipped_rows"] == 3
    (tmp_path / "other.xml").write_bytes(_with_bad_rows().replace(b"bad-rows", b"bad-rows-2"))
    code, out, _ = _cli("reports", "import", "--json", "--store", db, str(tmp_path / "other.xml"))
    (info,) = json.loads(out)["imported"]
    assert code == 1 and info["skipped_rows"] == 3 and info["messages"] == 17
    assert "row 4 has a message count that is out of range (-3)" in info["skipped"]


# -- 2. SPF alignment from a HELO-only result ------------------------------------------------------------


def _no_evaluation(spf_checks: str, *, dkim_result: str = "fail") -> bytes:
    """A report that leaves the receiver's DMARC result out (old AOL style), with the given SPF checks."""
    begin = NOW - DAY
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feedback><report_metadata><org_name>aol.com</org_name><email>dmarc@aol.com</email><report_id>helo-1</report_id>
<date_range><begin>{begin}</begin><end>{begin + DAY - 1}</end></date_range></report_metadata>
<policy_published><domain>shop.test</domain><p>none</p></policy_published>
<record><row><source_ip>{OWN}</source_ip><count>12</count><policy_evaluated><disposition>none</disposition>
</policy_evaluated></row><identifiers><header_from>shop.test</header_from></identifiers>
<auth_results><dkim><domain>shop.test</domain><result>{dkim_result}</result></dkim>{spf_checks}</auth_results>
</record></feedback>""".encode()


HELO_PASS = "<spf><domain>shop.test</domain><scope>helo</scope><result>pass</result></spf>"
HELO_FAIL = "<spf><domain>shop.test</domain><scope>helo</scope><result>fail</result></spf>"
MFROM_PASS = "<spf><domain>shop.test</domain><scope>mfrom</scope><result>pass</result></spf>"


@pytest.mark.parametrize("helo", [HELO_PASS, HELO_FAIL])
def test_a_helo_only_spf_result_leaves_spf_alignment_unknown(helo: str, tmp_path: Path) -> None:
    for xml in (_no_evaluation(helo), _general_way(_no_evaluation(helo))):
        (row,) = parse_aggregate(xml).rows
        assert (row.dkim, row.spf) == ("fail", "")  # DKIM worked out; SPF: nothing says
    with ReportStore(tmp_path / "db.sqlite3") as store:
        assert store.import_bytes("helo.xml", _no_evaluation(helo)).imported
        s = summarize(store, "shop.test", days=30)
        assert (s.messages, s.unknown, s.dmarc_pass, s.spf_aligned) == (12, 12, 0, 0)


def test_the_mail_from_check_still_counts_next_to_a_helo_check() -> None:
    (row,) = parse_aggregate(_no_evaluation(HELO_FAIL + MFROM_PASS)).rows
    assert (row.dkim, row.spf) == ("fail", "pass")
    (row,) = parse_aggregate(_no_evaluation(HELO_PASS, dkim_result="pass")).rows
    assert (row.dkim, row.spf) == ("pass", "") and row.dmarc_pass


# -- 3. the reverse DNS cache of an older store ---------------------------------------------------------


def test_reverse_names_cached_by_a_store_before_schema_3_are_looked_up_again(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    with ReportStore(db) as store:
        assert store.import_bytes("a.xml", report_xml("google.com", "r1", "shop.test", NOW - DAY,
                                                      [good_row(OWN, 10)])).imported
        store.ptr_put([(OWN, "mail-sor-f41.google.com", "ok"), ("198.51.100.7", None, "none")])
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA user_version=2")  # the 'ok' names of a schema-2 store were never forward-confirmed
    con.close()
    with ReportStore(db) as store:
        assert not store.problem
        assert store.ptr_get([OWN, "198.51.100.7"]) == {}  # asked again under the forward-confirmed rule
        assert store.counts()["dmarc"] == 1  # nothing of the user's is lost
        store.ptr_put([(OWN, "mail.shop.test", "ok")])
    with ReportStore(db) as store:  # a current store keeps its cache
        assert store.ptr_get([OWN]) == {OWN: ("mail.shop.test", "ok")}
    con = sqlite3.connect(db, isolation_level=None)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    con.close()


# -- 4. a TLS report without a policy-domain ------------------------------------------------------------


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _recent(doc: dict[str, Any], begin: int = NOW - DAY) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc))
    doc["date-range"] = {"start-datetime": _iso(begin), "end-datetime": _iso(begin + DAY - 1)}
    return doc


def _rpt03() -> dict[str, Any]:
    """Stalwart's rpt03.json (Google, 2019): two policies, neither with a policy-domain."""
    doc: dict[str, Any] = json.loads(conformance_dir("dmarc-reports", "stalwart", "tlsrpt", "rpt03.json").read_text())
    assert all("policy-domain" not in p["policy"] for p in doc["policies"])
    return _recent(doc)


def _tls_mail(doc: dict[str, Any], *, header: str | None, subject_domain: str | None) -> bytes:
    msg = EmailMessage()
    msg["From"] = "noreply-smtp-tls-reporting@google.com"
    msg["To"] = "tls@example.org"
    msg["Subject"] = (f"Report Domain: {subject_domain} Submitter: google.com Report-ID: <x>" if subject_domain
                      else "SMTP TLS report")
    if header is not None:
        msg["TLS-Report-Domain"] = header
    msg.set_content("An SMTP TLS report.")
    msg.add_attachment(json.dumps(doc).encode(), maintype="application", subtype="tlsrpt+json",
                       filename="report.json")
    return msg.as_bytes()


def test_a_tls_report_without_a_domain_is_imported_for_an_unknown_domain_and_listed(tmp_path: Path) -> None:
    db = str(tmp_path / "db.sqlite3")
    (tmp_path / "rpt03.json").write_text(json.dumps(_rpt03()))
    (tmp_path / "shop.xml").write_bytes(report_xml("google.com", "r1", "shop.test", NOW - DAY, [good_row(OWN, 10)]))
    code, out, _ = _cli("reports", "import", "--store", db, str(tmp_path / "rpt03.json"), str(tmp_path / "shop.xml"))
    assert code == 0
    assert ("1 TLS report(s) don't say which domain they are about (no policy-domain, and neither their mail nor "
            "their file name names one); they are imported for an unknown domain") in out
    assert "  rpt03.json: Google Inc. report 2019-04-14T00:00:00Z_example.org, 2 session(s)" in out
    code, out, _ = _cli("reports", "summary", "shop.test", "--store", db, "--offline")
    assert ("1 SMTP TLS report(s) of this period don't say which domain they are about (2 session(s), not in any "
            "domain's figures") in out
    assert "  Google Inc. report 2019-04-14T00:00:00Z_example.org: 2 session(s)" in out
    code, out, _ = _cli("reports", "summary", "shop.test", "--store", db, "--offline", "--json")
    assert json.loads(out)["tls"]["unknown_domain"] == [
        {"org": "Google Inc.", "report_id": "2019-04-14T00:00:00Z_example.org", "sessions": 2}]
    # a domain with no DMARC report in the period still shows it
    code, out, err = _cli("reports", "summary", "other.test", "--store", db, "--offline")
    assert code == 2 and "no DMARC reports about other.test" in err
    assert "1 SMTP TLS report(s) of this period don't say which domain they are about" in out


def test_the_domain_is_taken_from_the_mail_or_the_file_name_when_certain(tmp_path: Path) -> None:
    doc = _rpt03()
    cases = {  # where it comes from → the domain it is stored for
        "header.eml": (_tls_mail(doc, header="example.org", subject_domain=None), "example.org"),
        "subject.eml": (_tls_mail(doc, header=None, subject_domain="Example.ORG."), "example.org"),
        "both.eml": (_tls_mail(doc, header="example.org", subject_domain="example.org"), "example.org"),
        "disagree.eml": (_tls_mail(doc, header="example.org", subject_domain="example.net"), ""),
        "nothing.eml": (_tls_mail(doc, header=None, subject_domain=None), ""),
        "not-a-name.eml": (_tls_mail(doc, header="<script>", subject_domain=None), ""),
        "google.com!example.org!1555200000!1555286399!001.json": (json.dumps(doc).encode(), "example.org"),
        "report!1.2.3.4!1555200000!1555286399.json": (json.dumps(doc).encode(), ""),
    }
    for i, (name, (data, want)) in enumerate(cases.items()):
        with ReportStore(tmp_path / f"db{i}.sqlite3") as store:
            res = store.import_bytes(name, data)
            assert [(r.domain, r.messages) for r in res.imported] == [(want, 2)], name
            assert store.query("SELECT DISTINCT policy_domain FROM tls_policies") == [(want,)], name
    # the file name and the mail must agree
    with ReportStore(tmp_path / "mixed.sqlite3") as store:
        mail = _tls_mail(doc, header="example.org", subject_domain=None)
        res = store.import_bytes("m.eml", mail.replace(b'filename="report.json"',
                                                       b'filename="google.com!example.net!1!2!x.json"'))
        assert [r.domain for r in res.imported] == [""]


def test_an_unnamed_policy_next_to_named_ones_gets_their_domain_only_when_there_is_one(tmp_path: Path) -> None:
    def policy(domain: str | None, ptype: str, ok: int) -> dict[str, Any]:
        pol: dict[str, Any] = {"policy-type": ptype}
        if domain is not None:
            pol["policy-domain"] = domain
        return {"policy": pol, "summary": {"total-successful-session-count": ok, "total-failure-session-count": 0}}

    base = _rpt03()
    one = dict(base, policies=[policy("example.org", "sts", 5), policy(None, "no-policy-found", 1)])
    two = dict(base, **{"report-id": "two"},
               policies=[policy("example.org", "sts", 5), policy("example.net", "sts", 2),
                         policy(None, "no-policy-found", 1)])
    with ReportStore(tmp_path / "db.sqlite3") as store:
        store.import_bytes("one.json", json.dumps(one).encode())
        store.import_bytes("two.json", json.dumps(two).encode())
        assert summarize(store, "example.org", days=30).tls["successful_sessions"] == 5 + 1 + 5
        unknown = summarize(store, "example.org", days=30).tls["unknown_domain"]
        assert unknown == [{"org": "Google Inc.", "report_id": "two", "sessions": 1}]


# -- 5. sessions under both an MTA-STS and a DANE policy -----------------------------------------------------


def test_sessions_listed_under_sts_and_tlsa_are_counted_once(tmp_path: Path) -> None:
    doc = _recent(json.loads(conformance_dir("dmarc-reports", "cry-inc", "smtp-tls-reports",
                                             "microsoft.json").read_text()))
    assert [(p["policy"]["policy-type"], p["summary"]["total-successful-session-count"])
            for p in doc["policies"]] == [("sts", 2), ("tlsa", 2)]
    db = tmp_path / "db.sqlite3"
    (tmp_path / "microsoft.json").write_text(json.dumps(doc))
    with ReportStore(db) as store:
        (info,) = store.import_paths([tmp_path / "microsoft.json"]).imported
        assert info.messages == 2  # the report says 2 sessions, not 4
        t = summarize(store, "random.net", days=30).tls
        assert (t["reports"], t["successful_sessions"], t["failed_sessions"]) == (1, 2, 0)
    code, out, err = _cli("reports", "summary", "random.net", "--store", str(db), "--offline")
    assert "SMTP TLS reports: 1 report(s), 0 of 2 encrypted deliveries to you failed." in out


def test_a_failure_under_either_policy_is_one_failed_session(tmp_path: Path) -> None:
    def policy(ptype: str, ok: int, failed: int, kinds: dict[str, int]) -> dict[str, Any]:
        return {"policy": {"policy-type": ptype, "policy-domain": "shop.test"},
                "summary": {"total-successful-session-count": ok, "total-failure-session-count": failed},
                "failure-details": [{"result-type": k, "failed-session-count": n} for k, n in kinds.items()]}

    doc = _recent({"organization-name": "Microsoft Corporation", "report-id": "m-1", "contact-info": "x@y.test",
                   "policies": [policy("sts", 9, 1, {"certificate-expired": 1}),
                                policy("tlsa", 7, 3, {"certificate-expired": 1, "tlsa-invalid": 2}),
                                policy("no-policy-found", 4, 0, {})]})
    with ReportStore(tmp_path / "db.sqlite3") as store:
        (info,) = store.import_bytes("m.json", json.dumps(doc).encode()).imported
        assert info.messages == 10 + 4  # sts and tlsa are the same 10 sessions; no policy: 4 more
        t = summarize(store, "shop.test", days=30).tls
        assert (t["successful_sessions"], t["failed_sessions"]) == (7 + 4, 3)
        assert t["failure_types"] == {"tlsa-invalid": 2, "certificate-expired": 1}
    from inboxready.core.reports.tlsrpt import count_once

    assert count_once([("sts", 2, 0), ("sts", 3, 0), ("tlsa", 4, 1)]) == (4, 1)  # sts policy changed midday
    r = parse_tlsrpt(json.dumps(doc).encode())
    assert (r.successful, r.failed, r.sessions) == (20, 4, 14)  # as written; each session once

