"""The audit report's HTML: what it shows, that it is self-contained and escaped, and that its hash
catches any change to a copy."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inboxready.core.policy import audit as A
from inboxready.core.checks.runner import run_check
from inboxready.core.context import CORE_CHECKS, CheckOptions
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import DomainReport

from ...conftest import run
from ...helpers.compliance import message

DOMAIN = "acme.test"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'

ZONE = r"""$TTL 300
@        IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@        IN NS  ns1
ns1      IN A   192.0.2.53
@        IN MX  10 mail
mail     IN A   192.0.2.10
@        IN TXT "v=spf1 ip4:192.0.2.0/24 ~all"
@        IN TXT "<script>alert(\"x\")</script><img src=x onerror=alert(1)>"
@        IN TXT "bell\007here"
_dmarc   IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@acme.test"
"""
WHEN = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


@pytest.fixture
def report(dns_server: DnsTestServer) -> DomainReport:
    dns_server.add_origin("test")
    dns_server.add_zone(DOMAIN, ZONE)
    options = CheckOptions(nameservers=[dns_server.address], timeout=1.0, checks=CORE_CHECKS)
    return run(run_check(DOMAIN, options))


def test_html_shows_records_findings_fixes_and_verdict(report: DomainReport) -> None:
    a = A.AuditReport.build(report, profile="hipaa", generated=WHEN)
    page = a.to_html()
    # when, where from, which profile
    assert "25 November 2026, 09:30:00 (UTC+00:00)" in page
    assert html.escape(report.nameservers[0]) in page
    assert "HIPAA technical safeguards" in page and "not legal advice" in page
    # every record as seen, every finding and its fix as a zone line
    for result in report.checks.values():
        for rec in result.records:
            assert A._e(rec) in page, rec
        for f in result.findings:
            assert html.escape(f.message) in page and f.code in page
            if f.fix is not None:
                assert html.escape(f.fix.zone_line) in page
    assert html.escape("v=spf1 ip4:192.0.2.0/24 ~all") in page
    assert report.checks["dmarc"].findings and report.checks["dkim"].findings
    # the verdict: p=none is not enough for HIPAA, and its rule carries the DMARC fix
    verdict = a.verdict
    assert verdict.state == "not-met"
    rule = next(r for r in verdict.rules if r.key == "dmarc-enforced")
    assert rule.fix is not None and html.escape(rule.fix.zone_line) in page
    # the hash printed is the hash of the content
    assert a.sha256 == A.content_hash(a.to_json())
    assert page.count(a.sha256) >= 2


def test_html_is_self_contained(report: DomainReport) -> None:
    page = A.AuditReport.build(report, generated=WHEN).to_html()
    lower = page.lower()
    for bad in ("<script", "<link", "url(", "@import", "<iframe", "<object", "<embed", "<img"):
        assert bad not in lower, bad
    assert not re.search(r"<[^>]*\b(src|href|action|on[a-z]+)\s*=", lower)  # no attribute pulls anything in
    assert "<style>" in page and page.startswith("<!DOCTYPE html>")


def test_hostile_record_text_is_escaped(report: DomainReport) -> None:
    a = A.AuditReport.build(report, generated=WHEN)
    content = a.to_json()
    answers = [x for q in content["queries"] for x in q["answer"]]
    assert any("<script>" in x for x in answers)  # kept exactly in the content
    page = a.to_html()
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;" in page
    assert "\x07" not in page and html.escape('"bell\\007here"') in page  # as the DNS answer presents it
    assert A.verify(page)


def test_verify_accepts_copies_and_catches_tampering(report: DomainReport, tmp_path: Path) -> None:
    a = A.AuditReport.build(report, profile="soc2", generated=WHEN)
    page = a.to_html()
    assert A.verify(page) and A.verify(page.encode("utf-8"))
    assert A.verify(page.replace("\n", "\r\n"))  # saved on Windows
    assert A.verify(page, a.sha256) and not A.verify(page, "0" * 64)
    doc = json.dumps(a.to_document())
    assert A.verify(doc)

    # the visible text changed (a record edited on the page)
    record = html.escape("v=spf1 ip4:192.0.2.0/24 ~all")
    assert not A.verify(page.replace(record, html.escape("v=spf1 ip4:192.0.2.0/24 -all"), 1))
    # the verdict changed
    assert not A.verify(page.replace("Not met", "Met", 1)) or "Not met" not in page
    assert not A.verify(page.replace("Incomplete", "Met", 1))
    # the embedded content changed (so it no longer matches the printed hash)
    assert not A.verify(page.replace("~all", "-all"))
    # the printed hash changed
    assert not A.verify(page.replace(a.sha256, "f" * 64))
    # a forgery with a recomputed hash verifies as intact, but not against the recorded hash
    forged_content = a.to_json()
    forged_content["checks"]["spf"]["summary"] = "All good."
    forged = A.render_html(forged_content, A.content_hash(forged_content))
    assert A.verify(forged) and not A.verify(forged, a.sha256)
    # the JSON copy
    tampered = a.to_document()
    tampered["report"]["domain"] = "evil.test"
    assert not A.verify(json.dumps(tampered))
    ok, why = A.explain(page.replace(record, "x", 1))
    assert not ok and "changed" in why

    # the command-line way
    f = tmp_path / "r.html"
    f.write_text(page, encoding="utf-8")
    assert A.main(["verify", str(f), "--sha256", a.sha256]) == 0
    f.write_text(page.replace(record, "x", 1), encoding="utf-8")
    assert A.main(["verify", str(f)]) == 1


def test_message_and_reports_summary_are_included(report: DomainReport) -> None:
    summary = {"domain": DOMAIN, "days": 30, "since": 1761955200, "until": 1764547200, "reports": 14,
               "messages": 5230, "dmarc_pass": 5100, "spf_aligned": 5000, "dkim_aligned": 5100,
               "services": [{"service_id": "m365", "service": "Microsoft 365", "sources": 3, "messages": 5100,
                             "dmarc_pass": 5100}],
               "unknown_failing": [{"ip": "203.0.113.9", "ptr": "<b>spoof</b>.example", "messages": 130}],
               "enforcement": [{"policy": "quarantine", "message": "Safe to move to p=quarantine."}],
               "daily": [{"date": "2026-11-01", "messages": 170, "dmarc_pass": 165}], "custom_note": "kept"}
    a = A.AuditReport.build(report, profile="soc2", message=message(tls=True), reports_summary=summary,
                            generated=WHEN)
    page = a.to_html()
    assert "Latest test message" in page and "&lt;1@acme.test&gt;" in page
    assert "DMARC report summary" in page and "5230" in page and "5100 (97.5%)" in page
    assert "01 November 2025 to 01 December 2025 (30 days)" in page
    assert "Microsoft 365" in page and "203.0.113.9" in page and "&lt;b&gt;spoof&lt;/b&gt;" in page
    assert "Safe to move to p=quarantine." in page and "kept" in page
    rules = {r.key: r.state for r in a.verdict.rules}
    assert rules["dmarc-reports-collected"] == "met"
    assert A.verify(page)


def test_hash_is_deterministic(report: DomainReport) -> None:
    one = A.AuditReport.build(report, generated=WHEN)
    two = A.AuditReport.build(report, generated=WHEN)
    assert one.sha256 == two.sha256 and one.to_html() == two.to_html()
    assert len(one.sha256) == 64 and re.fullmatch(r"[0-9a-f]{64}", one.sha256)
    later = A.AuditReport.build(report, generated=datetime(2026, 11, 26, tzinfo=UTC))
    assert later.sha256 != one.sha256


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=300))
def test_verify_never_raises_on_arbitrary_input(data: str | bytes) -> None:
    assert A.verify(data) is False


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_any_text_renders_escaped(text: str) -> None:
    content = {"format": A.FORMAT, "domain": text, "checks": {"spf": {"title": "SPF", "status": "pass",
               "status_label": "Pass", "summary": text, "records": [text], "findings": []}}, "queries": []}
    page = A.render_html(content, "0" * 64)
    body = page.split("<body>", 1)[1]
    assert "<script" not in body.lower() and "<img" not in body.lower()
    shown = body.split('id="inboxready-report-data"')[0]
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]", shown)  # shown as \xNN instead
    assert A.verify(page) is False  # a hash that doesn't match
    assert A.verify(A.render_html(content, A.content_hash(content)))


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["reports", "messages", "since", "until", "days", "services",
                                        "unknown_failing", "enforcement", "dmarc_pass", "other"]),
                       st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=6),
                                    lambda i: st.lists(i, max_size=3) | st.dictionaries(st.text(max_size=6), i,
                                                                                        max_size=3),
                                    max_leaves=10), max_size=6))
def test_any_reports_summary_renders(summary: dict) -> None:  # type: ignore[type-arg]
    content = {"format": A.FORMAT, "domain": DOMAIN, "checks": {}, "queries": [], "reports_summary": summary}
    page = A.render_html(content, A.content_hash(content))
    assert "DMARC report summary" in page and A.verify(page)


def test_findings_are_problem_first_and_a_shared_record_is_shown_once(report: DomainReport) -> None:
    """Issue 12 item 2 in the exported report: severity order, options numbered, companion records with their
    fix, a record shared by several findings printed once and named from the others."""
    from inboxready.core.model import CheckResult, Finding, Fix, Severity, Status

    rec = Fix(DOMAIN, "TXT", "v=spf1 mx include:x._spf-flat.acme.test ~all", action="replace",
              title="Copy the most expensive includes", also_publish=(Fix("x._spf-flat.acme.test", "TXT",
                                                                          "v=spf1 ip4:192.0.2.0/24 -all"),))
    alt = Fix(DOMAIN, "TXT", "v=spf1 mx ~all", action="replace", title="Move senders to a subdomain")
    report.checks["spf"] = CheckResult("spf", Status.FAIL, "Broken.", findings=[
        Finding("spf.all-hardfail-early", Severity.INFO, "Use ~all for now. Details.", fix=rec),
        Finding("spf.too-many-lookups", Severity.ERROR, "It takes 15 lookups. Too many.", fix=rec,
                alternatives=(alt,)),
        Finding("spf.syntax-error", Severity.ERROR, "A broken rule.", no_fix="Correct the rule by hand."),
    ])
    a = A.AuditReport.build(report, generated=WHEN)
    spf = a.to_json()["checks"]["spf"]
    assert [f["code"] for f in spf["findings"]] == ["spf.too-many-lookups", "spf.syntax-error",
                                                  "spf.all-hardfail-early"]
    assert spf["findings"][0]["also_solves"] == ["spf.all-hardfail-early"]
    page = a.to_html()
    start = page.index("<h2>SPF: ")
    page = page[start:page.index("<h2>", start + 5)]  # the SPF section (the verdict may show its fix too)
    part = page[page.index("It takes 15 lookups"):]
    assert part.index("Option 1 of 2: Copy the most expensive includes") < part.index("Option 2 of 2: Move senders")
    assert page.count(html.escape(rec.zone_line)) == 1 and html.escape(rec.also_publish[0].zone_line) in page
    assert "<b>This also solves:</b> “Use ~all for now”" in page
    assert "the record shown under “It takes 15 lookups” solves this too" in page
    assert "<b>No record to publish:</b> Correct the rule by hand." in page
    assert A.content_hash(a.to_json()) == a.sha256
