"""A report imported without the rows that could not be read keeps saying so: the store keeps how many rows
were left out and why (schema 4, added in place to a store of schema 3), importing it again repeats the note,
and the summary (CLI text and JSON) names the partial reports of its period."""

from __future__ import annotations

import io
import json
import sqlite3
import time
from pathlib import Path

from inboxready.app.cli import main
from inboxready.core.reports.store import SCHEMA_VERSION, ReportStore
from inboxready.core.reports.summary import summarize
from tests.reports.reports_util import good_row, report_xml

DAY = 86400
NOW = int(time.time()) // DAY * DAY
OWN = "203.0.113.5"
SKIPPED = ("2 of its 4 rows could not be read and were skipped (at least 4 messages, left out of the figures): "
           "row 2 has a source IP address that is not valid ('unknown'); row 4 has a message count that is out of "
           "range (-3)")


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def _partial(report_id: str = "bad-rows") -> bytes:
    rows = [good_row(OWN, 10), good_row("unknown", 4), good_row("203.0.113.6", 7), good_row("203.0.113.7", -3)]
    return report_xml("google.com", report_id, "shop.test", NOW - DAY, rows)


def test_the_skipped_rows_are_stored_and_said_again_when_the_same_file_is_imported_again(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    (tmp_path / "bad-rows.xml").write_bytes(_partial())
    with ReportStore(db) as store:
        (info,) = store.import_paths([tmp_path / "bad-rows.xml"]).partial
        assert (info.skipped_rows, info.skipped) == (2, SKIPPED)
        assert store.query("SELECT skipped_rows, skipped FROM reports") == [(2, SKIPPED)]
        again = store.import_paths([tmp_path / "bad-rows.xml"])
        assert not again.imported and [i.name for i in again.duplicate] == ["bad-rows.xml"]
        (before,) = again.partial_before
        assert (before.skipped_rows, before.skipped) == (2, SKIPPED)
        # twice in one import: imported once (partial), the second copy "repeated", not said twice
        (tmp_path / "copy.xml").write_bytes(_partial("other"))
        (tmp_path / "copy2.xml").write_bytes(_partial("other"))
        both = store.import_paths([tmp_path / "copy.xml", tmp_path / "copy2.xml"])
        assert [i.name for i in both.partial] == ["copy.xml"] and not both.partial_before
        assert [i.name for i in both.repeated] == ["copy2.xml"]
    code, out, _ = _cli("reports", "import", "--store", str(db), str(tmp_path / "bad-rows.xml"))
    assert code == 1  # something to look at, as on the first import
    assert "1 report(s) were already imported before and were skipped." in out
    assert ("1 report(s) already imported were stored without rows that could not be read; those 2 row(s) are not "
            f"in the figures:\n  bad-rows.xml: {SKIPPED}\n") in out
    code, out, _ = _cli("reports", "import", "--store", str(db), "--json", str(tmp_path / "bad-rows.xml"))
    (dup,) = json.loads(out)["duplicate"]
    assert code == 1 and (dup["skipped_rows"], dup["skipped"]) == (2, SKIPPED)


def test_the_summary_names_the_partial_reports_of_its_period(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    with ReportStore(db) as store:
        store.import_bytes("a.xml", _partial("a"))
        store.import_bytes("b.xml", _partial("b"))
        store.import_bytes("whole.xml", report_xml("google.com", "whole", "shop.test", NOW - DAY,
                                                   [good_row(OWN, 5)]))
        s = summarize(store, "shop.test", days=30)
    assert (s.partial_count, s.partial_rows, s.messages) == (2, 4, 17 + 17 + 5)
    assert {p["name"] for p in s.partial} == {"a.xml", "b.xml"}
    note = s.notes[-1]
    assert note.startswith("2 report(s) of this period were imported without 4 row(s) that could not be read; their "
                           "messages are not in the figures: google.com report ")
    assert note.endswith(f": {SKIPPED} (and 1 more report(s)).")
    code, out, _ = _cli("reports", "summary", "shop.test", "--store", str(db), "--offline")
    assert code == 0 and f"  Note: {note}\n" in out
    assert "    also google.com report " in out and out.count(SKIPPED) == 2
    code, out, _ = _cli("reports", "summary", "shop.test", "--store", str(db), "--offline", "--json")
    doc = json.loads(out)
    assert (doc["partial_count"], doc["partial_rows"]) == (2, 4) and note in doc["notes"]
    assert sorted(p["report_id"] for p in doc["partial"]) == ["a", "b"]


def _as_schema_3(db: Path) -> None:
    """Make ``db`` what InboxReady with schema 3 wrote: no skipped_rows / skipped columns."""
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("ALTER TABLE reports DROP COLUMN skipped_rows")
    con.execute("ALTER TABLE reports DROP COLUMN skipped")
    con.execute("PRAGMA user_version=3")
    con.close()


def test_a_schema_3_store_with_reports_is_upgraded_in_place_and_keeps_every_report(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    with ReportStore(db) as store:
        store.import_bytes("bad-rows.xml", _partial())
        store.import_bytes("whole.xml", report_xml("google.com", "whole", "shop.test", NOW - DAY,
                                                   [good_row(OWN, 5)]))
        store.import_bytes("t.json", json.dumps({
            "organization-name": "Google Inc.", "report-id": "t1", "contact-info": "x@y.test",
            "date-range": {"start-datetime": time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(NOW - DAY)),
                           "end-datetime": time.strftime("%Y-%m-%dT23:59:59Z", time.gmtime(NOW - DAY))},
            "policies": [{"policy": {"policy-type": "sts", "policy-domain": "shop.test"},
                          "summary": {"total-successful-session-count": 3, "total-failure-session-count": 0}}]
        }).encode())
        store.ptr_put([(OWN, "mail.shop.test", "ok")])
        before_reports = store.query("SELECT id, kind, org, report_id, domain, begin, end, messages FROM reports "
                                     "ORDER BY id")
        before_rows = store.query("SELECT * FROM rows ORDER BY rowid")
        before_tls = store.query("SELECT * FROM tls_policies ORDER BY rowid")
    _as_schema_3(db)
    con = sqlite3.connect(db)
    assert "skipped_rows" not in {r[1] for r in con.execute("PRAGMA table_info(reports)")}
    con.close()
    with ReportStore(db) as store:
        assert not store.problem and store.moved_to is None
        assert store.query("SELECT id, kind, org, report_id, domain, begin, end, messages FROM reports "
                           "ORDER BY id") == before_reports
        assert store.query("SELECT * FROM rows ORDER BY rowid") == before_rows
        assert store.query("SELECT * FROM tls_policies ORDER BY rowid") == before_tls
        assert store.ptr_get([OWN]) == {OWN: ("mail.shop.test", "ok")}  # a schema-3 cache is kept
        # schema 3 did not keep the skipped rows: the report reads as whole until its file comes again...
        assert store.query("SELECT skipped_rows, skipped FROM reports ORDER BY id") == [(0, "")] * 3
        again = store.import_bytes("bad-rows.xml", _partial())
        assert [(i.skipped_rows, i.skipped) for i in again.partial_before] == [(2, SKIPPED)]
        # ...which fills the note in (the stored rows are the same ones), for the summaries from now on
        assert store.query("SELECT skipped_rows, skipped FROM reports WHERE report_id='bad-rows'") == [(2, SKIPPED)]
        assert summarize(store, "shop.test", days=30).partial_count == 1
    assert [p for p in tmp_path.iterdir() if "damaged" in p.name] == []
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    con.close()
