"""The bulk-sender rules added by the fact-check (issue 18): Gmail's From-impersonation rule, ARC/List-Id for
forwarders and mailing lists, Gmail's rejections from November 2025, Microsoft's dates (550 5.7.515 from
2025-05-05), Yahoo's missing threshold and Microsoft's only recommended visible unsubscribe link."""

from __future__ import annotations

from inboxready.core.policy.checklist import build_checklist, load_rules
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import Severity, Status

from .test_checklist import HEADERS, ONE_CLICK, domain_checks, item, message, states, status_result, zone

GMAIL_FROM = HEADERS.replace("From: Shop <news@shop.test>", "From: Shop <shop.owner@gmail.com>")
ARC = ("ARC-Seal: i=1; a=rsa-sha256; cv=none; d=lists.example; s=arc1; t=1764000000; b=AAAA\n"
       "ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=lists.example; s=arc1; h=from:to; bh=AAAA; b=AAAA\n"
       "ARC-Authentication-Results: i=1; lists.example; spf=pass smtp.mailfrom=shop.test; dkim=pass header.d=shop.test\n"
       "List-Id: Shop news <news.lists.example>\n")


def test_the_new_rules_are_in_the_file_with_their_facts() -> None:
    rules = load_rules()
    keys = {r.key for r in rules.rules}
    assert {"no-gmail-from", "forwarding-arc", "gmail-enforcement"} <= keys
    enf = rules.get("gmail-enforcement")
    assert enf.since == "2025-11-01" and "temporar" in enf.why and "permanent" in enf.why
    assert any("14229414" in s["url"] for s in enf.sources)
    arc = rules.get("forwarding-arc")
    assert arc.conditional and arc.required and "List-Id" in arc.why and "ARC" in arc.why
    for key in ("spf", "dkim", "dmarc", "alignment"):
        assert dict(rules.get(key).since_by) == {"google": "2024-02-01", "yahoo": "2024-02-01",
                                                 "microsoft": "2025-05-05"}, key
    assert "Yahoo publishes no number" in rules.bulk_threshold
    vis = rules.get("visible-unsubscribe")
    assert "microsoft" not in vis.who and "Microsoft only recommends" in vis.why


def test_microsofts_start_date_is_in_the_finding(dns_server: DnsTestServer) -> None:
    r = build_checklist(domain_checks(dns_server, zone(dmarc=None)))
    f = next(f for f in r.findings if f.code == "checklist.dmarc")
    assert "since February 2024 (Microsoft: May 2025)" in f.detail and "5.7.515" in f.detail


def test_gmail_from_address_sent_from_elsewhere_is_not_met(dns_server: DnsTestServer) -> None:
    checks = domain_checks(dns_server, zone())
    r = build_checklist(checks, message(headers=GMAIL_FROM, dmarc="fail"), spam_rate=0.05)
    assert states(r)["no-gmail-from"] == "not-met"
    f = next(f for f in r.findings if f.code == "checklist.no-gmail-from")
    assert f.severity is Severity.ERROR and "gmail.com" in f.message and "own domain" in f.message
    # the same address sent through Gmail itself passes DMARC: that is fine
    ok = build_checklist(checks, message(headers=GMAIL_FROM, dmarc="pass"), spam_rate=0.05)
    assert states(ok)["no-gmail-from"] == "met" and "Gmail itself" in item(ok, "no-gmail-from")["why"]
    assert states(build_checklist(checks, message()))["no-gmail-from"] == "met"
    assert states(build_checklist(checks))["no-gmail-from"] == "needs-test-message"


def test_forwarders_rule_is_seen_only_on_forwarded_mail(dns_server: DnsTestServer) -> None:
    checks = domain_checks(dns_server, zone())
    checks["rdns"] = status_result("rdns", Status.PASS)
    none = build_checklist(checks)
    assert states(none)["forwarding-arc"] == "cant-see" and "forward" in item(none, "forwarding-arc")["why"]
    sealed = build_checklist(checks, message(extra=ONE_CLICK + ARC), spam_rate=0.05)
    assert states(sealed)["forwarding-arc"] == "met" and "1 hop" in item(sealed, "forwarding-arc")["why"]
    own = build_checklist(checks, message(), spam_rate=0.05)
    assert states(own)["forwarding-arc"] == "cant-see"
    assert own.status is Status.PASS  # a conditional rule that can't be seen doesn't hold the verdict back


def test_gmail_enforcement_sums_up_the_google_rules(dns_server: DnsTestServer) -> None:
    bad = build_checklist(domain_checks(dns_server, zone(spf=False, bits=None, dmarc=None)))
    assert states(bad)["gmail-enforcement"] == "not-met"
    why = item(bad, "gmail-enforcement")["why"]
    assert "DMARC record" in why and "refuse" in why
    f = next(f for f in bad.findings if f.code == "checklist.gmail-enforcement")
    assert f.severity is Severity.INFO  # a consequence, not one more rule to fix
    good = domain_checks(dns_server, zone())
    assert states(build_checklist(good))["gmail-enforcement"] == "needs-test-message"
    good["rdns"] = status_result("rdns", Status.PASS)
    assert states(build_checklist(good, message(), spam_rate=0.05))["gmail-enforcement"] == "met"
    assert states(build_checklist(good, message()))["gmail-enforcement"] == "cant-see"  # no spam rate typed in
    assert states(build_checklist(None))["gmail-enforcement"] == "pending"
    failing = domain_checks(dns_server, zone(), timeout=0.3)
    failing["dmarc"] = status_result("dmarc", Status.ERROR)
    assert states(build_checklist(failing))["gmail-enforcement"] == "unknown"


def test_the_items_say_when_each_provider_started(dns_server: DnsTestServer) -> None:
    r = build_checklist(domain_checks(dns_server, zone()))
    assert item(r, "spf")["since_text"] == "2024-02-01 (Microsoft: 2025-05-05)"
    assert item(r, "spf")["since_by"]["microsoft"] == "2025-05-05"
    assert item(r, "spf-or-dkim")["since_text"] == "2024-02-01"
