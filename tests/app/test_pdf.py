"""The PDF audit report (Qt's own writer) parsed back with pdftotext, the CLI's --report/--profile end to
end against the loopback DNS server, and the app's export."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from inboxready.core.policy import audit as A
from inboxready.core.checks.runner import run_check
from inboxready.core.context import CheckOptions
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import DomainReport

from ..conftest import run
from ..helpers import needs
from ..helpers.compliance import key_txt

DOMAIN = "acme.test"
# The MX host is 127.0.0.1, so the STARTTLS check the CLI runs stays on loopback (nothing listens on port
# 25 here: "couldn't check"), and the report includes every check.
ZONE = f"""$TTL 300
@        IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@        IN NS  ns1
ns1      IN A   192.0.2.53
@        IN MX  10 mail
mail     IN A   127.0.0.1
@        IN TXT "v=spf1 ip4:192.0.2.0/24 ~all"
_dmarc   IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@acme.test"
s1._domainkey IN TXT {key_txt(1024)}
"""


def pdf_text(path: Path) -> str:
    """The PDF's text, ligatures unfolded and whitespace collapsed (lines wrap anywhere in a table)."""
    tool = needs.program("pdftotext", "poppler-utils")
    out = subprocess.run([tool, "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, timeout=60)
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", out.stdout.decode("utf-8")))


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(server: DnsTestServer) -> None:
    server.add_origin("test")
    server.add_zone(DOMAIN, ZONE)


@pytest.fixture
def report(dns_server: DnsTestServer) -> DomainReport:
    serve(dns_server)
    options = CheckOptions(nameservers=[dns_server.address], timeout=1.0, dkim_selectors=["s1"],
                           connect_timeout=1.0, smtp_port=closed_port())
    return run(run_check(DOMAIN, options))


def test_pdf_text_has_records_findings_and_verdict(report: DomainReport, tmp_path: Path) -> None:
    from inboxready.app.pdf import write_audit_pdf

    audit = A.AuditReport.build(report, profile="hipaa")
    path = write_audit_pdf(audit, tmp_path / "report.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    text = pdf_text(path)
    assert "acme.test" in text and "HIPAA technical safeguards" in text
    assert "v=spf1 ip4:192.0.2.0/24 ~all" in text
    assert "v=DMARC1; p=none; rua=mailto:dmarc@acme.test" in text
    for name in ("spf", "dkim", "dmarc"):
        for f in report.checks[name].findings:
            assert f.code in text, f.code
            assert " ".join(f.message.split()[:6]) in text, f.message
    assert "dkim.short-key" in text and "Not met" in text
    assert "not legal advice" in text
    assert audit.sha256 in text  # printed in the footer of every page
    assert re.search(r"Page 1 of [2-9]", text)
    # the JSON copy is attached, and checks out
    assert A.verify(data) and A.verify(data, audit.sha256)
    # the whole file is what "verify" vouches for: its own SHA-256 confirms it, the content hash printed
    # inside can't (a PDF's pages can be edited while the attached data stays)
    assert A.main(["verify", str(path), "--sha256", hashlib.sha256(data).hexdigest()]) == 0
    assert A.main(["verify", str(path), "--sha256", audit.sha256]) == 1


def test_pdf_from_html_is_a4_with_margins(tmp_path: Path) -> None:
    from inboxready.app.pdf import html_to_pdf

    path = html_to_pdf("<h1>Hello</h1><p>" + "word " * 3000 + "</p>", tmp_path / "x.pdf", title="T",
                       footer_text="footer here")
    pdfinfo = needs.program("pdfinfo", "poppler-utils")
    info = subprocess.run([pdfinfo, str(path)], capture_output=True, text=True, check=True).stdout
    assert "595 x 842 pts (A4)" in info
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]
    assert pages >= 2
    text = pdf_text(path)
    assert "Hello" in text and "footer here" in text and "Page 2 of" in text


def test_cli_check_report_pdf_end_to_end(dns_server: DnsTestServer, tmp_path: Path) -> None:
    from inboxready.app.cli import main

    serve(dns_server)
    out_file = tmp_path / "out.pdf"
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", DOMAIN, "-n", dns_server.address, "--timeout", "1", "-s", "s1", "--color", "never",
                 "--profile", "hipaa", "--report", str(out_file)], out=out, err=err)
    assert code == 1  # p=none and a 1024-bit key: things to fix
    assert "Profile HIPAA technical safeguards: Not met" in out.getvalue()
    assert "Every DKIM key is at least 2048 bits" in out.getvalue()
    assert f"Report saved to {out_file}" in err.getvalue()
    text = pdf_text(out_file)
    assert "v=spf1 ip4:192.0.2.0/24 ~all" in text and "dmarc.policy-none" in text
    assert "HIPAA technical safeguards" in text
    digest = re.search(r"SHA-256 ([0-9a-f]{64})", err.getvalue()).group(1)  # type: ignore[union-attr]
    assert digest in text and A.verify(out_file.read_bytes(), digest)


def test_cli_check_report_html_and_json_profile(dns_server: DnsTestServer, tmp_path: Path) -> None:
    from inboxready.app.cli import main

    serve(dns_server)
    out_file = tmp_path / "out.html"
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", DOMAIN, "-n", dns_server.address, "--timeout", "1", "-s", "s1", "--json",
                 "--profile", "bulk-sender", "--report", str(out_file)], out=out, err=err)
    data = json.loads(out.getvalue())
    assert data[0]["profile"]["profile"] == "bulk-sender"
    assert data[0]["profile"]["state"] == "met", data[0]["profile"]["rules"]
    assert code == 1  # the domain check itself has warnings
    page = out_file.read_text(encoding="utf-8")
    assert A.verify(page) and "Google/Yahoo bulk sender" in page
    # without --profile the JSON has no verdict, and a report uses the default profile
    out = io.StringIO()
    main(["check", DOMAIN, "-n", dns_server.address, "--timeout", "1", "--json", "--report",
          str(tmp_path / "r.json")], out=out, err=io.StringIO())
    assert "profile" not in json.loads(out.getvalue())[0]
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert doc["report"]["profile"]["profile"] == "bulk-sender" and A.verify(json.dumps(doc))


def test_cli_report_usage_errors(dns_server: DnsTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from inboxready.app import cli

    err = io.StringIO()
    assert cli.main(["check", DOMAIN, "--report", str(tmp_path / "x.docx")], out=io.StringIO(), err=err) == 2
    assert ".pdf, .html or .json" in err.getvalue()
    err = io.StringIO()
    assert cli.main(["check", DOMAIN, "--profile", "nope"], out=io.StringIO(), err=err) == 2
    monkeypatch.setattr(cli, "_pyside_missing", lambda: True)
    err = io.StringIO()
    assert cli.main(["check", DOMAIN, "--report", str(tmp_path / "x.pdf")], out=io.StringIO(), err=err) == 2
    assert "PySide6" in err.getvalue() and "--report FILE.html" in err.getvalue()
    serve(dns_server)
    err = io.StringIO()
    code = cli.main(["check", DOMAIN, "-n", dns_server.address, "--timeout", "1", "--report",
                     str(tmp_path / "missing-folder" / "x.html")], out=io.StringIO(), err=err)
    assert code == 2 and "couldn't save the report" in err.getvalue()


def test_export_report_from_the_app(report: DomainReport, tmp_path: Path, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from inboxready.app import export
    from inboxready.app.engine import Engine
    from PySide6.QtWidgets import QFileDialog, QMainWindow

    window = QMainWindow()
    qtbot.addWidget(window)
    engine = Engine(window)  # the worker builds and writes the report (and draws the PDF)
    done: list[Path | None] = []

    def export_now(**kw: Any) -> Path | None:
        before = len(done)
        path = export.export_report(window, report, engine=engine, on_done=done.append, **kw)
        if path is not None:
            qtbot.waitUntil(lambda: len(done) > before, timeout=30_000)
        return path

    try:
        path = export_now(profile="soc2", path=tmp_path / "r.pdf")
        assert path == tmp_path / "r.pdf" == done[-1] and path.read_bytes().startswith(b"%PDF")
        assert "Report saved to" in window.statusBar().currentMessage()
        assert "SOC 2" in pdf_text(path)

        # the dialog: a name without an extension gets the chosen type's; cancel returns None
        monkeypatch.setattr(QFileDialog, "getSaveFileName",
                            staticmethod(lambda *a, **k: (str(tmp_path / "report"), export.HTML_FILTER)))
        path = export_now()
        assert path == tmp_path / "report.html" and A.verify(path.read_text(encoding="utf-8"))
        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: ("", "")))
        assert export_now() is None

        # a folder that doesn't exist: no file, the status bar says why
        assert export_now(path=tmp_path / "nope" / "r.html") == tmp_path / "nope" / "r.html" and done[-1] is None
        assert "could not be saved" in window.statusBar().currentMessage()
    finally:
        engine.shutdown()
