"""Getting report documents out of files: mbox, e-mails, folders, mislabelled files."""

from __future__ import annotations

import gzip
import io
import zipfile
from email.message import EmailMessage
from pathlib import Path

from inboxready.core.reports.aggregate import parse_aggregate
from inboxready.core.reports.extract import Payload, Rejected, extract_bytes, extract_file, iter_input_files
from inboxready.core.reports.store import ReportStore
from tests.reports.reports_util import good_row, report_xml


def mail(report_id: str | None, *, how: str = "gzip") -> bytes:
    msg = EmailMessage()
    msg["From"] = "dmarc@reporter.test"
    msg["To"] = "rua@shop.test"
    msg["Subject"] = f"Report {report_id}" if report_id else "Lunch?"
    msg.set_content("Aggregate report attached." if report_id else "From the office: lunch at noon?")
    if report_id:
        xml = report_xml("reporter.test", report_id, "shop.test", 1_700_000_000, [good_row("192.0.2.1", 2)])
        if how == "gzip":
            msg.add_attachment(gzip.compress(xml), maintype="application", subtype="gzip", filename=f"{report_id}.xml.gz")
        elif how == "zip":
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as zf:
                zf.writestr(f"{report_id}.xml", xml)
            msg.add_attachment(buf.getvalue(), maintype="application", subtype="zip", filename=f"{report_id}.zip")
        else:  # plain XML, labelled as a generic binary (some reporters do)
            msg.add_attachment(xml, maintype="application", subtype="octet-stream", filename=f"{report_id}.bin")
    return msg.as_bytes()


def test_mbox_with_report_mails_and_other_mail(tmp_path: Path) -> None:
    box = b"".join(b"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n" + mail(rid, how=how).replace(b"\nFrom ", b"\n>From ")
                   + b"\n" for rid, how in (("m1", "gzip"), (None, ""), ("m2", "zip"), ("m3", "xml")))
    (tmp_path / "reports.mbox").write_bytes(box)
    items = list(extract_file(tmp_path / "reports.mbox"))
    payloads = [i for i in items if isinstance(i, Payload)]
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert [parse_aggregate(p.data).report_id for p in payloads] == ["m1", "m2", "m3"]
    assert payloads[0].name == "reports.mbox › message 1 › m1.xml.gz"
    assert payloads[1].name == "reports.mbox › message 3 › m2.zip › m2.xml"
    assert len(rejected) == 1 and rejected[0].name == "reports.mbox › message 2"
    assert "no DMARC or TLS report attached (subject: Lunch?)" in rejected[0].reason


def test_folders_are_walked_recursively_and_hidden_files_skipped(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "one.eml").write_bytes(mail("f1"))
    (tmp_path / "a" / "two.xml").write_bytes(report_xml("r.test", "f2", "shop.test", 1_700_000_000, [good_row("192.0.2.1", 1)]))
    (tmp_path / "a" / ".hidden.xml").write_bytes(b"<feedback/>")
    (tmp_path / "report.txt").write_bytes(gzip.compress(b"<feedback/>"))  # mislabelled: opened by content
    found = list(iter_input_files([tmp_path, tmp_path / "missing.xml"]))
    names = [f.name for f in found if isinstance(f, Path)]
    assert names == ["report.txt", "two.xml", "one.eml"]  # a folder's files (by name), then its subfolders
    assert [r.reason for r in found if isinstance(r, Rejected)] == ["no such file or folder"]
    store = ReportStore(tmp_path / "db.sqlite3")
    res = store.import_paths([tmp_path / "a", tmp_path / "report.txt"])
    assert sorted(i.report_id for i in res.imported) == ["f1", "f2"]
    assert res.rejected == [("report.txt", "the report has no report_metadata part")]
    store.close()


def test_email_without_attachment_and_garbage() -> None:
    (item,) = extract_bytes("x.eml", mail(None))
    assert isinstance(item, Rejected) and "no DMARC or TLS report attached" in item.reason
    (item,) = extract_bytes("x.bin", b"\x00\x01\x02 binary")
    assert isinstance(item, Rejected) and "not a DMARC or TLS report" in item.reason
