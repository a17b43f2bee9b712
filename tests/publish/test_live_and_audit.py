"""Is a fix live (also one published by hand)? What every authoritative server serves, how long the old answer
may stay cached, and stopping; and the audit report with each fix in the DNS host's form and the DNS changes
published in its period."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from inboxready.core.policy import audit as A
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import CheckResult, DomainReport, Finding, Fix, Severity, Status
from inboxready.core.publish.journal import Journal, audit_changes
from inboxready.core.publish.propagation import NEGATIVE_TTL, OLD_TTL, probe, watch_fix, wait_until_live
from inboxready.core.publish.zone import AuthServer, ZoneInfo

from ..helpers import needs

SOA = "$TTL 600\n@ IN SOA ns1.shop.test. h.shop.test. 1 3600 600 86400 120\n@ IN NS ns1.shop.test.\n"
OLD_SPF = "v=spf1 ip4:192.0.2.1 -all"
NEW_SPF = "v=spf1 ip4:192.0.2.1 include:_spf.example.net -all"


def _servers(*names: str) -> tuple[list[DnsTestServer], ZoneInfo]:
    servers = [DnsTestServer() for _ in names]
    for s in servers:
        s.start()
    info = ZoneInfo("shop.test", ("ns1.shop.test",), tuple(AuthServer(n, s.address) for n, s in zip(names, servers)),
                    600, 120)
    return servers, info


def test_watch_fix_expects_the_new_value_and_the_old_one_of_its_kind_gone() -> None:
    (a, b), info = _servers("a", "b")
    try:
        a.add_zone("shop.test", SOA + f'@ 900 IN TXT "{NEW_SPF}"\n@ 900 IN TXT "google-site-verification=x"\n')
        b.add_zone("shop.test", SOA + f'@ 900 IN TXT "{OLD_SPF}"\n@ 900 IN TXT "google-site-verification=x"\n')
        fix = Fix("shop.test", "TXT", NEW_SPF, action="replace")
        expect = asyncio.run(watch_fix(fix, info, timeout=1))
        # a answers first: its TTL is the old answer's; the other SPF value b still serves must go
        assert {(e.value, e.absent) for e in expect} >= {(NEW_SPF, False)}
        p = asyncio.run(probe(info, asyncio.run(watch_fix(fix, ZoneInfo("shop.test", (), (info.servers[1],), 600, 120),
                                                          timeout=1)) + expect, timeout=1))
        live = {s.name: p.server_live(s) for s in p.servers}
        assert live == {"a": True, "b": False}
        old_gone = [e for e in asyncio.run(watch_fix(fix, ZoneInfo("shop.test", (), (info.servers[1],), 600, 120),
                                                     timeout=1)) if e.absent]
        assert [e.value for e in old_gone] == [OLD_SPF]  # the verification TXT is not of its kind: left alone
        assert all(e.stale_for == 900 and e.stale_basis == OLD_TTL for e in expect)
        # a name with no such record: the zone's negative-caching time (SOA: min of TTL 600 and MINIMUM 120)
        dmarc = asyncio.run(watch_fix(Fix("_dmarc.shop.test", "TXT", "v=DMARC1; p=none"), info, timeout=1))
        assert [(e.absent, e.stale_for, e.stale_basis) for e in dmarc] == [(False, 120, NEGATIVE_TTL)]
        p = asyncio.run(wait_until_live(info, dmarc, wait=0, timeout=1))
        assert not p.live and "negative-caching" in p.stale_text() and "2 minutes" in p.stale_text()
        removed = asyncio.run(watch_fix(Fix("shop.test", "TXT", "google-site-verification=x", action="remove"),
                                        info, timeout=1))
        assert [(e.absent, e.value) for e in removed] == [(True, "google-site-verification=x")]
    finally:
        a.stop()
        b.stop()


def _report(started: str = "2026-12-01T10:00:00+00:00") -> DomainReport:
    fix = Fix("_dmarc.shop.test", "TXT", "v=DMARC1; p=none; rua=mailto:d@shop.test")
    return DomainReport("shop.test", {"dmarc": CheckResult("dmarc", Status.FAIL, "No DMARC record.", findings=[
        Finding("dmarc.no-record", Severity.ERROR, "No DMARC record.", fix=fix)])},
        started=started, nameservers=["127.0.0.1"])


def _journal_with_changes(path: Path) -> tuple[str, str]:
    j = Journal(path)
    try:
        inside = j.start(kind="apply", domain="shop.test", zone="shop.test", account="cf", provider="cloudflare",
                         steps=[{"action": "add", "host": "_dmarc.shop.test", "type": "TXT", "old": None,
                                 "new": "v=DMARC1; p=none", "ttl": 3600, "finding": "dmarc.no-record"}],
                         before={"status": "fail"})
        j.step(inside, 0, "pending")
        j.step(inside, 0, "applied")
        j.finish(inside, "applied", message="1 change(s) applied", after={"status": "pass"})
        other = j.start(kind="apply", domain="other.test", zone="other.test", account="cf", provider="cloudflare",
                        steps=[{"action": "add", "host": "other.test", "type": "TXT", "old": None, "new": "v=spf1 -all"}])
        j.finish(other, "applied")
        return inside, other
    finally:
        j.close()


def test_audit_report_shows_the_host_form_and_the_changes_of_its_period(tmp_path: Path) -> None:
    inside, other = _journal_with_changes(tmp_path / "j.sqlite3")
    now = datetime.now(UTC)
    changes = A.changes_in_period(_report(), generated=now, journal_path=tmp_path / "j.sqlite3")
    assert [e["id"] for e in changes["entries"]] == [inside]  # not the other domain's
    assert changes["entries"][0]["state_words"].startswith("applied (1 of 1")
    dns_host = {"zone": "shop.test", "host": "cloudflare", "host_name": "Cloudflare", "nameservers": ["a.ns.cloudflare.com"]}
    report = A.AuditReport.build(_report(), generated=now, dns_host=dns_host, changes=changes)
    page = report.to_html()
    assert "At Cloudflare: Type `TXT`, Name `_dmarc`, Content `v=DMARC1; p=none; rua=mailto:d@shop.test`, TTL `Auto`" \
        in page.replace("&#x27;", "'")
    assert "_dmarc.shop.test.\t3600\tIN\tTXT" in page  # the generic zone-file line is still there
    assert "Changes published at the DNS host" in page and inside in page and other not in page
    assert "DNS host</td><td>Cloudflare" in page
    assert A.verify(page)
    content = report.to_json()
    fx = content["checks"]["dmarc"]["findings"][0]["fix"]
    assert fx["host_form"]["host"] == "cloudflare" and fx["host_form"]["fields"][1] == {"label": "Name", "value": "_dmarc"}
    # a report made without them is the same page as before (old copies still verify)
    plain = A.AuditReport.build(_report(), generated=now)
    assert "Changes published" not in plain.to_html() and "host_form" not in plain.to_json()["checks"]["dmarc"]["findings"][0]["fix"]
    # outside the period: not listed, and the report says there were none
    later = A.changes_in_period(_report("2031-01-01T10:00:00+00:00"), generated=datetime(2031, 1, 2, tzinfo=UTC),
                                journal_path=tmp_path / "j.sqlite3")
    assert later["since"].startswith("2030-10-03") and later["until"].startswith("2031-01-02")
    assert later["entries"] == [] and not later["problem"]
    assert "No change was published" in A.AuditReport.build(_report(), generated=now, changes=later).to_html()


def test_a_journal_that_cant_be_read_is_said_so_not_no_changes(tmp_path: Path) -> None:
    bad = tmp_path / "j.sqlite3"
    bad.write_bytes(b"this is not a database" * 100)
    got = audit_changes("shop.test", "2026-01-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00", path=bad)
    assert got["problem"] and got["entries"] == []
    page = A.AuditReport.build(_report(), changes=got).to_html()
    assert "could not be read" in page and "No change was published" not in page


def test_pdf_report_shows_the_host_form_and_changes(tmp_path: Path, qapp) -> None:  # type: ignore[no-untyped-def]
    needs.program("pdftotext", "poppler-utils")
    from inboxready.app.pdf import write_audit_pdf

    inside, _ = _journal_with_changes(tmp_path / "j.sqlite3")
    now = datetime.now(UTC)
    report = A.AuditReport.build(_report(), generated=now, changes=A.changes_in_period(
        _report(), generated=now, journal_path=tmp_path / "j.sqlite3"),
        dns_host={"zone": "shop.test", "host": "route53", "host_name": "Amazon Route 53", "nameservers": []})
    pdf = tmp_path / "r.pdf"
    write_audit_pdf(report, pdf)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    assert "At Amazon Route 53" in flat and "Record name `_dmarc`" in flat
    assert "Changes published at the DNS host" in flat and inside in flat
    assert A.verify(pdf.read_bytes())
