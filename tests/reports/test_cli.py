"""``inboxready reports import / summary`` (``watch`` is in test_report_mailbox.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from inboxready.core.dns.server import DnsTestServer
from tests.conftest import conformance_dir
from tests.reports.reports_util import good_row, report_xml
from ..helpers.cli import cli




@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INBOXREADY_HOME", str(tmp_path / "home"))
    return tmp_path


def _recent_reports(folder: Path, *, sendgrid: bool = True) -> None:
    folder.mkdir(exist_ok=True)
    now = int(time.time())
    for d in range(10):
        rows = [good_row("203.0.113.5", 100), good_row("192.0.2.66", 3, dkim="fail", spf="fail", dkim_domain="x.example",
                                                        dkim_result="fail", spf_domain="x.example", spf_result="fail")]
        if sendgrid:
            rows.append(good_row("167.89.10.20", 20, dkim="fail", spf="fail", dkim_domain="sendgrid.net",
                                 dkim_result="pass", spf_domain="sendgrid.net", spf_result="pass"))
        (folder / f"r{d}.xml").write_bytes(report_xml("google.com", f"id{d}", "shop.test", now - (d + 1) * 86400, rows))


def test_import_prints_imported_duplicates_and_rejections(home: Path) -> None:
    root = conformance_dir("dmarc-reports")
    code, out, err = cli("reports", "import", str(root / "parsedmarc"))
    assert code == 1  # some files were rejected
    # 17 aggregate reports read; nice-input.xml.zip repeats a report of this import, invalid_utf_8.xml has the
    # id of another report (a bad byte in it): the first one is kept, and both are said
    assert "Imported 19 report(s) (15 DMARC, 4 TLS) from 24 file(s)." in out
    assert "1 report(s) came more than once in these files" in out
    assert ("1 report(s) have the same reporter, report id, domain and period as a report imported earlier, but other "
            "content") in out
    assert "  invalid_utf_8.xml: accurateplastics.com report " in out
    assert "invalid_xml.xml: the XML is damaged" in out and "empty.xml: the file is empty" in out
    code, out, _ = cli("reports", "import", str(root / "parsedmarc" / "aggregate" / "twilight.eml"))
    assert code == 0 and "Imported 0 report(s)" in out and "1 report(s) were already imported" in out
    code, out, _ = cli("reports", "import", "--json", str(root / "cry-inc"))
    data = json.loads(out)
    # acme.xml has acme.com's report id of parsedmarc's old_draft_from_wiki.xml, with other content: the first
    # one stays, and the JSON says so
    assert len(data["imported"]) == 8 + 2 - 1
    assert [d["name"] for d in data["conflicting"]] == ["acme.xml"] and data["duplicate"] == []
    assert {r["name"] for r in data["rejected"]} == {"LICENSE"}
    assert (home / "home" / "data" / "reports.sqlite3").exists()


def test_import_of_nothing_is_an_error(home: Path) -> None:
    code, out, err = cli("reports", "import", str(home / "missing"))
    assert code == 1 and "no such file or folder" in out


def test_summary_text_json_and_csv(home: Path, dns_server: DnsTestServer) -> None:
    _recent_reports(home / "in")
    assert cli("reports", "import", str(home / "in"))[0] == 0
    dns_server.add_zone("shop.test", '_dmarc IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@shop.test"\n'
                                     "mail IN A 203.0.113.5\n")  # (reverse DNS counts when confirmed)
    dns_server.add_zone("113.0.203.in-addr.arpa", "5 IN PTR mail.shop.test.\n")
    code, out, err = cli("reports", "summary", "shop.test", "--days", "30", "-n", dns_server.address,
                         "--timeout", "0.5", "--csv", str(home / "sources.csv"))
    assert code == 1, err  # SendGrid passes but is not aligned
    assert "10 report(s), 1,230 message(s)" in out
    assert "SendGrid" in out and "not for your domain" in out
    assert "p=quarantine: Not yet" in out
    assert "mail.shop.test" not in out or "unknown (mail.shop.test)" in out
    lines = (home / "sources.csv").read_text().splitlines()
    assert lines[0].startswith("ip,reverse_dns,service") and len(lines) == 4
    assert any(line.startswith("203.0.113.5,mail.shop.test,") for line in lines)
    code, out, _ = cli("reports", "summary", "shop.test", "--json", "--offline")
    data = json.loads(out)
    assert data["messages"] == 1230 and data["dmarc_pass"] == 1000
    assert [e["verdict"] for e in data["enforcement"]] == ["not-yet", "not-yet"]
    assert data["not_aligned"][0]["service_id"] == "sendgrid"


def test_summary_safe_to_enforce_uses_the_published_record(home: Path, dns_server: DnsTestServer) -> None:
    _recent_reports(home / "in", sendgrid=False)
    cli("reports", "import", str(home / "in"))
    dns_server.add_zone("shop.test", '_dmarc IN TXT "v=DMARC1; p=none; pct=100; rua=mailto:reports@shop.test"\n')
    code, out, err = cli("reports", "summary", "shop.test", "-n", dns_server.address, "--timeout", "0.5")
    assert code == 0, err
    # RFC 9989 and the builder: no pct, t=y first, np=reject from the first enforcing step
    assert ('Next record: _dmarc.shop.test TXT "v=DMARC1; p=quarantine; np=reject; t=y; rua=mailto:reports@shop.test"'
            in out)


def test_summary_without_reports_and_bad_days(home: Path) -> None:
    code, _, err = cli("reports", "summary", "nothing.test", "--offline")
    assert code == 2 and "no DMARC reports about nothing.test" in err
    code, _, err = cli("reports", "summary", "shop.test", "--days", "0", "--offline")
    assert code == 2 and "--days" in err
    code, _, err = cli("reports")
    assert code == 2 and "import" in err
