"""Issue 13, item 4: ``inboxready verify`` says "intact" only for a file byte for byte the one exported.

The export records the SHA-256 of the exact file (printed, and kept in the local history with the time
and the domain). Two standard PDF edits are made here by the test: an incremental update appended to the
exported file (a new page content painting "Overall result: PASS", a new xref section and trailer), and a
rewrite that keeps the attached report data but drops every page but the first. Neither verifies, with or
without the hash printed at export."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from inboxready.core.policy import audit as A
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.store.history import History
from inboxready.core.store.settings import HOME_ENV
from ..helpers.cli import cli

ZONE = """
@        SOA ns1 hostmaster 1 3600 600 86400 300
@        MX 10 mx1
mx1      A 192.0.2.1
@        TXT "v=spf1 +all"
_dmarc   TXT "v=DMARC1; p=none"
"""




@pytest.fixture
def exported(dns_server: DnsTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, str]:
    """A PDF exported by ``check --report``: (path, content SHA-256 printed inside, file SHA-256)."""
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    dns_server.add_zone("fail.test", ZONE)
    path = tmp_path / "report.pdf"
    code, out, err = cli("check", "fail.test", "-n", dns_server.address, "--timeout", "1", "--only",
                         "spf,dmarc,mx", "--report", str(path))
    assert code == 1, err
    content = re.search(r"\(SHA-256 ([0-9a-f]{64})\)", err).group(1)  # type: ignore[union-attr]
    file_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    assert f"File SHA-256: {file_hash}" in err and "kept in this computer's history" in err
    return path, content, file_hash


def incremental_update(data: bytes) -> bytes:
    """What a PDF editor appends to save a change: a new content stream for page one, the page object
    again pointing at it, an xref section for those objects and a trailer with /Prev."""
    prev = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    size = int(re.search(rb"/Size (\d+)", data).group(1))  # type: ignore[union-attr]
    root = re.search(rb"/Root (\d+ \d+ R)", data).group(1)  # type: ignore[union-attr]
    page = re.search(rb"/Kids\s*\[\s*(\d+) 0 R", data).group(1)  # type: ignore[union-attr]
    paint = b"BT /F1 24 Tf 72 720 Td (Overall result: PASS) Tj ET 0 1 0 rg 0 0 595 842 re f"
    new = size
    body = (b"\n%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (new, len(paint), paint)
            + b"%s 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R >>\nendobj\n"
            % (page, new))
    start = len(data) + 1
    xref_at = len(data) + len(body)
    xref = (b"xref\n%s 1\n%010d 00000 n \n%d 1\n%010d 00000 n \n" % (page, start + body.index(page + b" 0 obj"),
                                                                     new, start))
    trailer = b"trailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (new + 1, root, prev, xref_at)
    return data + body + xref + trailer


def drop_pages(data: bytes) -> bytes:
    """A rewrite that keeps only the first page (and the attached report data), with one xref and one
    trailer, as a tool that rewrites the whole file makes it."""
    m = re.search(rb"/Kids\s*\[\s*(\d+ 0 R)[^\]]*\]\s*/Count (\d+)", data)
    assert m is not None and int(m.group(2)) >= 2
    return data[:m.start()] + b"/Kids [" + m.group(1) + b"] /Count 1" + data[m.end():]


def verify(path: Path, *extra: str) -> tuple[int, str]:
    code, out, err = cli("verify", str(path), *extra)
    return code, out + err


def test_the_exported_file_is_intact_and_recorded(exported: tuple[Path, str, str]) -> None:
    path, content, file_hash = exported
    code, text = verify(path)
    assert code == 0 and "intact" in text and "fail.test" in text
    assert verify(path, "--sha256", file_hash)[0] == 0
    with History() as h:
        [record] = h.exports(file_sha256=file_hash)
    assert record.domain == "fail.test" and record.content_sha256 == content and record.format == "pdf"
    assert record.path == str(path.resolve()) and record.created


@pytest.mark.parametrize("edit", [incremental_update, drop_pages])
def test_standard_pdf_edits_are_never_intact(exported: tuple[Path, str, str], edit, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    path, content, file_hash = exported
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(edit(path.read_bytes()))
    assert A.verify(tampered.read_bytes())  # the attached data is untouched: the content check alone passes
    for extra in ((), ("--sha256", content), ("--sha256", file_hash)):
        code, text = verify(tampered, *extra)
        assert code == 1 and "intact" not in text.lower(), (extra, text)
    code, text = verify(tampered)
    assert "not the file" in text and "covers its data only" in text
    # on another computer (no history): the content hash printed inside is not enough for a PDF
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "elsewhere"))
    for extra in ((), ("--sha256", content)):
        code, text = verify(tampered, *extra)
        assert code == 1 and "intact" not in text.lower(), (extra, text)
    code, text = verify(path, "--sha256", file_hash)
    assert code == 0 and "intact" in text  # the untouched file, with its file hash: fine anywhere
    code, text = verify(path, "--sha256", content)
    assert code == 1 and "Not confirmed" in text  # the content hash can't vouch for a PDF's pages


def test_an_edited_html_report_is_changed_and_an_html_copy_checks_with_its_content_hash(
        dns_server: DnsTestServer, tmp_path: Path) -> None:
    dns_server.add_zone("fail.test", ZONE)
    path = tmp_path / "r.html"
    code, _, err = cli("check", "fail.test", "-n", dns_server.address, "--only", "spf", "--report", str(path))
    content = re.search(r"\(SHA-256 ([0-9a-f]{64})\)", err).group(1)  # type: ignore[union-attr]
    copy = tmp_path / "copy.html"
    copy.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))  # saved on Windows: same page
    assert verify(copy, "--sha256", content)[0] == 0
    copy.write_text(path.read_text(encoding="utf-8").replace("Fail", "Pass"), encoding="utf-8")
    code, text = verify(copy)
    assert code == 1 and "intact" not in text.lower()


def test_a_saved_email_given_to_verify_is_pointed_to_headers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A newcomer's ``inboxready verify message.eml`` said only "not an InboxReady HTML report": `verify` checks
    exported reports; a saved email is read by `headers`, and the answer now says so (text and JSON). A file that
    is no email gets no such hint."""
    import json

    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    eml = tmp_path / "message.eml"
    eml.write_bytes(b"Received: from a.example\r\n\tby b.example\r\nFrom: x@shop.example\r\nSubject: hi\r\n\r\nbody\r\n")
    code, out, _ = cli("verify", str(eml))
    assert code == 1 and f"use: inboxready headers {eml}" in out, out
    code, out, _ = cli("verify", str(eml), "--json")
    assert code == 1 and json.loads(out)["hint"].endswith(f"inboxready headers {eml}")
    other = tmp_path / "notes.txt"
    other.write_text("just some notes: nothing more\n")
    code, out, _ = cli("verify", str(other))
    assert code == 1 and "headers" not in out, out
