"""The bulk-sender summary derives only from what the checks returned."""

from __future__ import annotations

from inboxready.core.policy.bulk import MET, NOT_MET, PENDING, UNKNOWN, bulk_sender_readiness, readiness_headline
from inboxready.core.model import CheckResult, Status


def _r(name: str, status: Status, **detail: object) -> CheckResult:
    return CheckResult(name, status, "", detail=dict(detail))


def states(checks: dict[str, CheckResult]) -> dict[str, str]:
    return {r.key: r.state for r in bulk_sender_readiness(checks)}


def test_everything_in_place() -> None:
    checks = {
        "spf": _r("spf", Status.PASS, record="v=spf1 -all"),
        "dkim": _r("dkim", Status.PASS, found=[{"selector": "s1", "status": "pass", "revoked": False}]),
        "dmarc": _r("dmarc", Status.PASS, record="v=DMARC1; p=reject", policy="reject", testing=False),
    }
    assert states(checks) == {"spf": MET, "dkim": MET, "dmarc": MET, "enforcement": MET}
    assert readiness_headline(bulk_sender_readiness(checks)).startswith("Meets")


def test_missing_and_broken_records_are_not_met_and_named() -> None:
    checks = {
        "spf": _r("spf", Status.FAIL, record="v=spf1 +all"),
        "dkim": _r("dkim", Status.FAIL, found=[{"selector": "s1", "status": "fail", "revoked": False}]),
        "dmarc": _r("dmarc", Status.FAIL, record=None, policy=None, stage="none"),
    }
    assert states(checks) == {"spf": NOT_MET, "dkim": NOT_MET, "dmarc": NOT_MET, "enforcement": NOT_MET}
    head = readiness_headline(bulk_sender_readiness(checks))
    assert "SPF record, DKIM signing key and DMARC record" in head


def test_monitoring_meets_the_rule_but_not_enforcement() -> None:
    checks = {"dmarc": _r("dmarc", Status.WARN, record="v=DMARC1; p=none", policy="none", stage="monitoring")}
    s = states(checks)
    assert s["dmarc"] == MET and s["enforcement"] == NOT_MET and s["spf"] == PENDING


def test_couldnt_check_is_unknown_never_not_met() -> None:
    checks = {n: _r(n, Status.ERROR) for n in ("spf", "dkim", "dmarc")}
    assert set(states(checks).values()) == {UNKNOWN}
    assert "Could not confirm" in readiness_headline(bulk_sender_readiness(checks))


def test_no_dkim_key_found_is_unknown_because_selectors_are_guessed() -> None:
    checks = {"dkim": _r("dkim", Status.WARN, found=[], selectors_tried=45)}
    req = next(r for r in bulk_sender_readiness(checks) if r.key == "dkim")
    assert req.state == UNKNOWN and "45 selectors" in req.detail
