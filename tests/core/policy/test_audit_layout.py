"""The audit report's layout (version 2): the summary table on the first page, the DKIM selectors tried
without a key in a compact appendix instead of dozens of query rows, and "inboxready verify FILE" as the
way to check a copy. A copy made with the version-1 layout is still rendered byte for byte as it was, so
it still verifies."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from inboxready.core.policy import audit as A
from inboxready.core.model import CheckResult, DomainReport, Finding, Fix, Severity, Status

from ...helpers import needs

V1_CONTENT = Path(__file__).resolve().parents[2] / "data" / "audit-report-v1-content.json"
# sha256 of render_html(V1_CONTENT) as InboxReady 0.1.0 wrote it before the version-2 layout (screen, print)
V1_PAGES = {False: "99c8db208ff90e5a8e7d983c7c337466e485d6f79f934f05753d76140beafc91",
            True: "e5ad24bd213af374857875cfa1cc150d237d5625c89ca383a6af9886e0774c4f"}


def _q(name: str, rdtype: str, outcome: str, answer: tuple[str, ...] = (), error: str = "") -> dict[str, object]:
    return {"name": name, "type": rdtype, "outcome": outcome, "answer": list(answer), "elapsed_ms": 1.5,
            "started_ms": 0.5, "error": error}


def _report() -> DomainReport:
    fix = Fix(host="_dmarc.acme.test", type="TXT", value="v=DMARC1; p=none; rua=mailto:dmarc@acme.test")
    checks = {
        "spf": CheckResult("spf", Status.PASS, "SPF is set up.", ["v=spf1 mx -all"]),
        "dkim": CheckResult("dkim", Status.PASS, "DKIM is set up with 1 active key, at selector s1.", ["s1: v=DKIM1"]),
        "dmarc": CheckResult("dmarc", Status.FAIL, "acme.test has no DMARC record.", [],
                             [Finding("dmarc.no-record", Severity.ERROR, "No DMARC record.", "", "RFC 9989", fix)]),
    }
    selectors = ["default", "google", "selector1", "selector2", "k1", "k2", "s1", "s2", "mail", "dkim"] * 4
    queries = [_q("acme.test", "TXT", "answer", ('"v=spf1 mx -all"',)), _q("_dmarc.acme.test", "TXT", "nxdomain"),
               _q("s1._domainkey.acme.test", "TXT", "answer", ('"v=DKIM1"',)),
               _q("slow._domainkey.acme.test", "TXT", "timeout", error="no answer within 1.0 s"),
               _q("*._domainkey.acme.test", "TXT", "nxdomain")]
    queries += [_q(f"{s}{i}._domainkey.acme.test", "TXT", "nxdomain" if i % 2 else "nodata")
                for i, s in enumerate(selectors)]
    return DomainReport("acme.test", checks, queries, "2026-11-25T09:30:00+00:00", 42.0, ["127.0.0.1:5353"])


def _built() -> A.AuditReport:
    return A.AuditReport.build(_report(), profile="bulk-sender", generated=datetime(2026, 11, 25, 9, 31, tzinfo=UTC))


def test_a_version_1_copy_renders_and_verifies_as_before() -> None:
    content = json.loads(V1_CONTENT.read_text(encoding="utf-8"))
    assert content["version"] == 1
    digest = A.content_hash(content)
    for for_print, expected in V1_PAGES.items():
        page = A.render_html(content, digest, for_print=for_print)
        assert hashlib.sha256(page.encode("utf-8")).hexdigest() == expected
    assert A.explain(A.render_html(content, digest)) == (True, f"The report is intact (SHA-256 {digest}).")


def test_new_reports_put_the_summary_first_and_the_selector_misses_in_an_appendix() -> None:
    audit = _built()
    assert audit.to_json()["version"] == 2
    for page in (audit.to_html(), audit.to_print_html()):
        assert page.index("<h2>Summary</h2>") < page.index("Verdict:") < page.index("<h2>SPF")
        log = page[page.index("<h2>DNS queries"):page.index("<h2>Checking this copy")]
        start = page.index("Appendix: DKIM selectors without a key")
        appendix = page[start:page.index("</p>", page.index('<p class="mono">', start))]
        assert "DNS queries (5, and 40 DKIM selectors in the appendix)" in log
        assert "default0._domainkey" not in log and "selector11" not in log  # not one row per selector
        assert "slow._domainkey.acme.test" in log and "*._domainkey.acme.test" in log  # a timeout is not a miss
        assert "default0, google1, selector12" in appendix and "slow" not in appendix
        assert "inboxready verify FILE --sha256 HASH" in page and "python -m" not in page
    assert A.verify(audit.to_html())
    assert A.verify(json.dumps(audit.to_document()))


def test_the_pdf_has_the_summary_on_page_1_and_the_appendix_last(tmp_path: Path) -> None:
    tool = needs.program("pdftotext", "poppler-utils")
    from inboxready.app.pdf import write_audit_pdf

    path = write_audit_pdf(_built(), tmp_path / "audit.pdf")

    def page_text(first: int, last: int | None = None) -> str:
        args = [tool, "-enc", "UTF-8", "-f", str(first), "-l", str(last or first), str(path), "-"]
        return " ".join(subprocess.run(args, capture_output=True, check=True, timeout=60).stdout.decode().split())

    first = page_text(1)
    assert "Summary" in first and "acme.test has no DMARC record." in first
    assert "SPF is set up." in first and "DKIM is set up with 1 active key" in first
    everything = page_text(1, 99)
    tail = everything[everything.index("Appendix: DKIM selectors without a key"):]
    assert "default0" in tail and "dkim39" in tail
    assert "inboxready verify FILE --sha256 HASH" in everything and "python -m" not in everything
    assert A.verify(path.read_bytes())
