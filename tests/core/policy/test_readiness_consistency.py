"""The readiness summary never contradicts itself: no "meets the rules" above a step not taken, no red
requirement on a domain whose headline says the rules don't apply; and a missing MX host is a failure when
no proper mail server is left beside it."""

from __future__ import annotations

from typing import Iterator

import pytest

from inboxready.app.demo import DemoDnsServer, start_demo_server
from inboxready.core.policy.bulk import NOT_APPLICABLE, NOT_MET, bulk_sender_readiness, readiness_headline
from inboxready.core.checks.runner import run_check
from inboxready.core.context import CheckOptions
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import DomainReport, Severity, Status

from ...conftest import run
from ..checks.test_mx import apply_fixes, check, codes, finding


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoDnsServer]:
    server, _ = start_demo_server()
    yield server
    server.stop()


def _checked(server: DemoDnsServer, domain: str) -> DomainReport:
    return run(run_check(domain, CheckOptions(nameservers=[server.address], timeout=1.0,
                                              checks=("spf", "dkim", "dmarc", "mx"), dkim_selectors=["default"])))


def test_a_recommended_step_not_taken_is_named_in_the_headline(demo: DemoDnsServer) -> None:
    report = _checked(demo, "demo-monitoring.example")  # DMARC p=none: required rules met, enforcement not
    reqs = bulk_sender_readiness(report.checks)
    assert [r.state for r in reqs if r.required] == ["met", "met", "met"]
    advised = [r for r in reqs if not r.required]
    assert [(r.label, r.state) for r in advised] == [("DMARC enforcement", NOT_MET)]
    assert readiness_headline(reqs, report.checks) == (
        "Meets the Google, Yahoo and Microsoft bulk-sender rules that DNS can show; recommended next: DMARC "
        "enforcement.")


@pytest.mark.parametrize("domain", ["demo-parked.example"])
def test_no_unmet_rule_on_a_domain_the_rules_dont_apply_to(demo: DemoDnsServer, domain: str) -> None:
    report = _checked(demo, domain)
    reqs = bulk_sender_readiness(report.checks)
    headline = readiness_headline(reqs, report.checks)
    assert "bulk-sender rules only matter once it sends mail" in headline or "don't apply" in headline
    assert not [r for r in reqs if r.state == NOT_MET]
    assert [r.state for r in reqs if r.key in ("spf", "dkim", "dmarc")] == [NOT_APPLICABLE] * 3
    assert all("sends mail" in r.detail or "sends no mail" in r.detail for r in reqs if r.state == NOT_APPLICABLE)


def test_a_domain_that_says_it_sends_no_mail_gets_no_unmet_rule(dns_server: DnsTestServer) -> None:
    dns_server.add_origin("example")
    dns_server.add_zone("locked.example", '$TTL 300\n@ IN MX 0 .\n@ IN TXT "v=spf1 -all"\n'
                                          '_dmarc IN TXT "v=DMARC1; p=reject"\n')
    report = run(run_check("locked.example", CheckOptions(nameservers=[dns_server.address], timeout=1.0,
                                                          checks=("spf", "dkim", "dmarc", "mx"))))
    reqs = bulk_sender_readiness(report.checks)
    assert readiness_headline(reqs, report.checks).startswith("This domain says it sends no mail")
    assert {r.key: r.state for r in reqs}["dkim"] == NOT_APPLICABLE and not [r for r in reqs if r.state == NOT_MET]


ALIAS_AND_MISSING = """$TTL 300
@ IN MX 10 mx1
@ IN MX 20 mx2.gone.example.
mx1 IN CNAME mail
mail IN A 192.0.2.10
@ IN TXT "v=spf1 mx -all"
"""


def test_a_missing_host_beside_an_alias_only_is_a_failure_and_its_fix_helps(dns_server: DnsTestServer) -> None:
    dns_server.add_origin("example")
    r = check(dns_server, ALIAS_AND_MISSING)
    assert r.status is Status.FAIL
    missing = finding(r, "mx.target-missing")
    assert missing.severity is Severity.ERROR and "is an alias (CNAME), which some senders refuse" in missing.message
    assert "mail still arrives" not in missing.message.lower()
    fix = missing.fix
    assert fix is not None and (fix.value, fix.action) == ("20 mx2.gone.example.", "remove")
    after = check(dns_server, apply_fixes(ALIAS_AND_MISSING, [fix]))
    assert "mx.target-missing" not in codes(after) and after.status is Status.WARN  # better, nothing worse
    assert codes(after) == ["mx.target-cname"]


def test_no_all_clear_headline_above_a_failing_mx_card(demo: DemoDnsServer) -> None:
    """Review M1: demo-brokenmx meets every rule the bar shows, but its MX card fails (mail to it can't be
    delivered): the headline (app, CLI) and the profile verdict (audit report) say so."""
    from inboxready.core.policy.compliance import evaluate

    report = _checked(demo, "demo-brokenmx.example")
    assert report.checks["mx"].status is Status.FAIL
    reqs = bulk_sender_readiness(report.checks)
    assert all(r.state != NOT_MET for r in reqs if r.required)
    head = readiness_headline(reqs, report.checks)
    assert head.startswith("MX fails") and not head.startswith("Meets")
    assert "MX fails" in evaluate("bulk-sender", report.checks).summary
    # a domain with nothing failing keeps the plain headline
    good = _checked(demo, "demo-allgood.example")
    assert readiness_headline(bulk_sender_readiness(good.checks), good.checks).startswith("Meets")
    # a failing check the bar already marks is not named twice
    spf = _checked(demo, "demo-toomany.example")
    head = readiness_headline(bulk_sender_readiness(spf.checks), spf.checks)
    assert "fix the SPF record" in head and "SPF fails" not in head
