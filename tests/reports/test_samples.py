"""Every shared report sample imports, or is rejected with a reason; figures checked against the files."""

from __future__ import annotations

import gzip
import json
import re
import zipfile
from pathlib import Path

import pytest

from inboxready.core.reports.aggregate import ReportError, parse_aggregate
from inboxready.core.reports.extract import Payload, Rejected, extract_file, iter_input_files
from inboxready.core.reports.store import ReportStore
from inboxready.core.reports.tlsrpt import parse_tlsrpt
from tests.conftest import conformance_dir

# (path under dmarc-reports, rows, messages, messages passing DMARC, policy domain, reporter)
AGGREGATE = [
    ("cry-inc/dmarc-reports/acme.xml", 1, 2, 2, "example.com", "acme.com"),
    ("cry-inc/dmarc-reports/aol.xml", 1, 1, 1, "website.com", "AOL"),
    ("cry-inc/dmarc-reports/gmxnet.xml", 1, 1, 1, "myserver.com", "GMX"),
    ("cry-inc/dmarc-reports/google.xml", 1, 1, 1, "foo-bar.io", "google.com"),
    ("cry-inc/dmarc-reports/invalid_casing.xml", 1, 1, 0, "mydomain.org", "reporting org"),
    ("cry-inc/dmarc-reports/outlook.xml", 2, 3, 3, "random.net", "Outlook.com"),
    ("cry-inc/dmarc-reports/webde.xml", 1, 1, 1, "foobar.com", "WEB.DE"),
    ("cry-inc/dmarc-reports/yahoo.xml", 1, 1, 1, "random.org", "Yahoo"),
    ("parsedmarc/aggregate/!example.com!1538204542!1538463818.xml", 1, 1, 0, "example.com", "accurateplastics.com"),
    ("parsedmarc/aggregate/!large-example.com!1711897200!1711983600.xml", 2286, 2286, 0, "example.com",
     "accurateplastics.com"),
    ("parsedmarc/aggregate/empty_reason.xml", 1, 2, 2, "example.com", "example.org"),
    ("parsedmarc/aggregate/estadocuenta1.infonacot.gob.mx!example.com!1536853302!1536939702!2940.xml.zip", 1, 1, 0,
     "example.com", "XYZ Corporation"),
    ("parsedmarc/aggregate/fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz", 1, 1, 0, "indemed.com",
     "FastMail Pty Ltd"),
    ("parsedmarc/aggregate/google.com-report-949348866075514174.eml", 1, 1, 0, "borschow.com", "google.com"),
    ("parsedmarc/aggregate/ikea.com!example.de!1538690400!1538776800.xml", 1, 1, 0, "example.de", "ikea.com"),
    ("parsedmarc/aggregate/invalid_utf_8.xml", 1, 1, 0, "example.com", "accurateplastics.com"),
    ("parsedmarc/aggregate/mimecast-weird-gzip.eml", 1, 1, 1, "ab.id.au", "Mimecast"),
    ("parsedmarc/aggregate/old_draft_from_wiki.xml", 1, 2, 2, "example.com", "acme.com"),
    ("parsedmarc/aggregate/protection.outlook.com!example.com!1711756800!1711843200.xml", 1, 1, 0, "example.com",
     "Outlook.com"),
    ("parsedmarc/aggregate/rfc9990-example.net!example.com!1700000000!1700086399.xml", 2, 7, 5, "example.com",
     "example.net"),
    ("parsedmarc/aggregate/rfc9990-sample.xml", 1, 123, 123, "example.com", "Sample Reporter"),
    ("parsedmarc/aggregate/twilight.eml", 1, 1, 1, "twlnet.com", "google.com"),
    ("parsedmarc/aggregate_invalid/report_with_upper_cased_pass.xml", 1, 1, 1, "example.com", "example.com"),
    ("parsedmarc/extract_report/nice-input.xml.gz", 20, 3047, 3047, "example.com", "google.com"),
    ("parsedmarc/extract_report/nice-input.xml.zip", 20, 3047, 3047, "example.com", "google.com"),
    ("stalwart/dmarc-feedback/001.xml", 1, 123, 123, "example.com", "Sample Reporter"),
    ("stalwart/dmarc-feedback/002.xml", 1, 2, 2, "example.org", "google.com"),
    ("stalwart/dmarc-feedback/003.xml", 4, 9, 1, "stalw.art", "Fastmail Pty Ltd"),
    ("stalwart/dmarc-feedback/004.xml", 1, 123, 123, "example.com", "Sample Reporter"),
    ("stalwart/dmarc-feedback/005.xml", 1, 1, 1, "example.com", "Legacy Reporter"),
    ("stalwart/dmarc-feedback/100.eml", 1, 1, 1, "stalw.art", "google.com"),
    ("stalwart/dmarc-feedback/101.eml", 1, 1, 0, "stalw.art", '"backschues.NET'),
    ("stalwart/dmarc-feedback/102.eml", 1, 1, 0, "stalw.art", "Mail.Ru"),
    ("stalwart/dmarc-feedback/103.eml", 1, 1, 0, "stalw.art", "Outlook.com"),
    ("stalwart/dmarc-feedback/104.eml", 1, 1, 0, "stalw.art", "AMAZON-SES"),
]

# (path, reason must contain)
REJECTED = [
    ("parsedmarc/empty.xml", "empty"),
    ("parsedmarc/aggregate/invalid_xml.xml", "XML is damaged"),
    ("cry-inc/LICENSE", "not a DMARC or TLS report"),
    ("parsedmarc/LICENSE", "not a DMARC or TLS report"),
]

# TLS reports: (path, policies, successful sessions, failed sessions)
TLS = [
    ("cry-inc/smtp-tls-reports/google.json", None, None, None),
    ("cry-inc/smtp-tls-reports/microsoft.json", None, None, None),
    ("parsedmarc/smtp_tls/mail.ru.json", None, None, None),
    ("parsedmarc/smtp_tls/rfc8460.json", 1, 5326, 303),
    ("parsedmarc/smtp_tls/smtp_tls.json", None, None, None),
    ("parsedmarc/smtp_tls/google.com_smtp_tls_report.eml", None, None, None),
    ("stalwart/tlsrpt/rpt01.eml", None, None, None),
    ("stalwart/tlsrpt/rpt02.eml", None, None, None),
    ("stalwart/tlsrpt/rpt03.json", 2, 2, 0),
]


def _root() -> Path:
    return conformance_dir("dmarc-reports")


def _payloads(path: Path) -> list[Payload]:
    items = list(extract_file(path))
    assert all(isinstance(i, Payload) for i in items), items
    return [i for i in items if isinstance(i, Payload)]


def _raw_xml(path: Path) -> bytes:
    """The report XML, unpacked here with the standard library (independently of extract.py)."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:2] == b"PK":
        with zipfile.ZipFile(path) as zf:
            return zf.read(zf.namelist()[0])
    return data


def _regex_figures(xml: bytes) -> tuple[int, int, int]:
    """Rows, messages, DMARC-passing messages counted with regular expressions on the text."""
    text = xml.decode("utf-8", errors="replace")
    records = re.findall(r"<record>(.*?)</record>", text, re.S)
    msgs = passed = 0
    for rec in records:
        n = int(re.search(r"<count>\s*(\d+)\s*</count>", rec).group(1))  # type: ignore[union-attr]
        pe = re.search(r"<policy_evaluated>(.*?)</policy_evaluated>", rec, re.S).group(1)  # type: ignore[union-attr]
        dk = re.search(r"<dkim>\s*(\w+)\s*</dkim>", pe)
        sp = re.search(r"<spf>\s*(\w+)\s*</spf>", pe)
        msgs += n
        if (dk and dk.group(1).lower() == "pass") or (sp and sp.group(1).lower() == "pass"):
            passed += n
    return len(records), msgs, passed


@pytest.mark.parametrize("rel,rows,messages,passed,domain,org", AGGREGATE, ids=[a[0] for a in AGGREGATE])
def test_aggregate_sample_figures(rel: str, rows: int, messages: int, passed: int, domain: str, org: str) -> None:
    path = _root() / rel
    (payload,) = _payloads(path)
    report = parse_aggregate(payload.data)
    assert (len(report.rows), report.message_count, report.dmarc_pass_count) == (rows, messages, passed)
    assert report.domain == domain
    assert report.org == org
    assert report.report_id
    assert report.begin <= report.end
    if path.suffix != ".eml":  # cross-check with a count made on the raw text
        assert _regex_figures(_raw_xml(path)) == (rows, messages, passed)


@pytest.mark.parametrize("rel,reason", REJECTED, ids=[r[0] for r in REJECTED])
def test_rejected_samples_have_a_reason(rel: str, reason: str) -> None:
    items = list(extract_file(_root() / rel))
    reasons: list[str] = []
    for item in items:
        if isinstance(item, Rejected):
            reasons.append(item.reason)
        else:
            with pytest.raises(ReportError) as exc:
                parse_aggregate(item.data)
            reasons.append(exc.value.reason)
    assert reasons and all(r for r in reasons)
    assert any(reason in r for r in reasons), reasons


STALWART_ENUM = {"Pass": "pass", "Fail": "fail", "None": "none", "Quarantine": "quarantine", "Reject": "reject",
                 "SoftFail": "softfail", "Neutral": "neutral", "TempError": "temperror", "PermError": "permerror",
                 "Policy": "policy", "Unspecified": None}


@pytest.mark.parametrize("stem", ["001", "002", "003", "004", "005", "100", "101", "102", "103", "104"])
def test_stalwart_expected_results(stem: str) -> None:
    folder = _root() / "stalwart" / "dmarc-feedback"
    src = folder / (f"{stem}.xml" if int(stem) < 100 else f"{stem}.eml")
    expected = json.loads((folder / f"{stem}.json").read_text())
    (payload,) = _payloads(src)
    r = parse_aggregate(payload.data)
    meta, pol = expected["report_metadata"], expected["policy_published"]
    assert r.report_id == meta["report_id"]
    assert (r.begin, r.end) == (meta["date_range"]["begin"], meta["date_range"]["end"])
    assert r.org_name == meta["org_name"]
    assert r.domain == pol["domain"]
    assert r.p == STALWART_ENUM[pol["p"]]
    assert len(r.rows) == len(expected["record"])
    for row, exp in zip(r.rows, expected["record"]):
        er = exp["row"]
        assert row.source_ip == er["source_ip"]
        assert row.count == er["count"]
        assert row.dkim == (STALWART_ENUM[er["policy_evaluated"]["dkim"]] or "")
        assert row.spf == (STALWART_ENUM[er["policy_evaluated"]["spf"]] or "")
        assert row.disposition == (STALWART_ENUM[er["policy_evaluated"]["disposition"]] or "")
        assert row.header_from == exp["identifiers"]["header_from"].lower()
        assert [d.result for d in row.dkim_auth] == [STALWART_ENUM[d["result"]] for d in exp["auth_results"]["dkim"]]
        assert [s.result for s in row.spf_auth] == [STALWART_ENUM[s["result"]] for s in exp["auth_results"]["spf"]]
        assert [d.domain for d in row.dkim_auth] == [d["domain"].lower() for d in exp["auth_results"]["dkim"]]


def test_upper_and_pascal_case_results_are_normalised() -> None:
    (p,) = _payloads(_root() / "parsedmarc/aggregate_invalid/report_with_upper_cased_pass.xml")
    row = parse_aggregate(p.data).rows[0]
    assert "pass" in (row.dkim, row.spf)
    (p,) = _payloads(_root() / "cry-inc/dmarc-reports/invalid_casing.xml")
    results = {s.result for s in parse_aggregate(p.data).rows[0].spf_auth} | \
        {d.result for d in parse_aggregate(p.data).rows[0].dkim_auth}
    assert results and all(r == r.lower() for r in results)


def test_rfc9990_fields() -> None:
    (p,) = _payloads(_root() / "stalwart/dmarc-feedback/004.xml")
    r = parse_aggregate(p.data)
    assert r.schema == "rfc9990"
    assert (r.np, r.testing, r.generator) == ("none", "n", "Example DMARC Aggregate Reporter v1.2")
    (p,) = _payloads(_root() / "stalwart/dmarc-feedback/005.xml")
    r = parse_aggregate(p.data)
    assert r.pct == 100 or r.pct is not None
    assert r.rows[0].spf_auth[0].scope == "helo"
    assert r.rows[0].reasons and r.rows[0].reasons[0][0] == "sampled_out"


@pytest.mark.parametrize("rel,policies,ok,failed", TLS, ids=[t[0] for t in TLS])
def test_tls_samples(rel: str, policies: int | None, ok: int | None, failed: int | None) -> None:
    path = _root() / rel
    (payload,) = _payloads(path)
    r = parse_tlsrpt(payload.data)
    doc = json.loads(payload.data)
    assert r.report_id == doc["report-id"]
    assert len(r.policies) == len(doc["policies"])
    assert r.successful == sum(p["summary"].get("total-successful-session-count", 0) for p in doc["policies"])
    assert r.failed == sum(p["summary"].get("total-failure-session-count", 0) for p in doc["policies"])
    details = sum(len(p.get("failure-details", [])) for p in doc["policies"])
    assert sum(len(p.failures) for p in r.policies) == details
    if policies is not None:
        assert (len(r.policies), r.successful, r.failed) == (policies, ok, failed)


@pytest.mark.parametrize("stem", ["rpt01", "rpt02"])
def test_stalwart_tls_expected(stem: str) -> None:
    folder = _root() / "stalwart" / "tlsrpt"
    (payload,) = _payloads(folder / f"{stem}.eml")
    r = parse_tlsrpt(payload.data)
    exp = json.loads((folder / f"{stem}.json").read_text())
    assert r.report_id == exp["report-id"]
    assert [p.policy_domain for p in r.policies] == [p["policy"]["policy-domain"] for p in exp["policies"]]
    assert [p.failed for p in r.policies] == [p["summary"]["total-failure-session-count"] for p in exp["policies"]]


def test_whole_sample_folder_imports_or_rejects_with_reasons(tmp_path: Path) -> None:
    root = _root()
    store = ReportStore(tmp_path / "r.sqlite3")
    res = store.import_paths([root])
    files = [f for f in iter_input_files([root]) if not isinstance(f, Rejected)]
    assert res.files == len(files)
    # every aggregate sample above and every TLS report is in, plus Stalwart's rpt01/rpt02.json (its expected
    # results are themselves valid TLS reports). Copies of one report (same reporter and report id) count once:
    # the same report again in this import is "repeated"; a report with the same reporter, id, domain and period
    # but other content is "conflicting" (the first one is kept and the result says so). Stalwart's 001.xml has
    # the RFC 9990 sample's id but its own period: a report of its own, imported.
    assert len(res.imported) + len(res.repeated) + len(res.conflicting) == len(AGGREGATE) + len(TLS) + 2
    assert not res.duplicate  # nothing was in the store before this import
    assert sorted(d.name for d in res.repeated) == sorted([
        "nice-input.xml.zip › nice-input.xml", "004.xml",  # 004.xml: the RFC 9990 sample again
        "rpt02.json"])
    assert sorted(d.name for d in res.conflicting) == sorted([
        "invalid_utf_8.xml",            # accurateplastics.com's report id of !example.com!…xml, a bad byte in it
        "old_draft_from_wiki.xml",      # acme.com's report id of cry-inc acme.xml, other selector and reasons
        "rpt01.eml › mail.sender.example!example.com!1013662812!1013749130.json.gz", "rpt01.json"])
    # the samples dated 1970, 1975 and 1979 are kept but flagged: left out of every summary, with the reason
    assert sorted((i.name, i.problem.split(",")[0]) for i in res.flagged) == [
        ("001.xml", "it is dated 1975-02-09"), ("005.xml", "it is dated 1970-01-01"),
        ("rfc9990-sample.xml", "it is dated 1979-08-07")]
    # every rejection has a reason; the Stalwart expected-result JSON files are not reports
    assert all(reason for _, reason in res.rejected)
    rejected_names = {n for n, _ in res.rejected}
    assert {"empty.xml", "invalid_xml.xml"} <= rejected_names
    assert sum(1 for n in rejected_names if re.fullmatch(r"\d{3}\.json", n)) == 10
    assert len(res.rejected) == 4 + 10
    counts = store.counts()
    assert counts["tlsrpt"] == len({r for r in res.imported if r.kind == "tlsrpt"})
    duplicate_rows = 1 + 20 + 1 + 1  # (001.xml's one row is stored: a report of its own)
    assert counts["rows"] == sum(a[1] for a in AGGREGATE) - duplicate_rows
    assert counts["dmarc"] == len(AGGREGATE) - 4
    store.close()
