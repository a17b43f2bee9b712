"""``from_json`` reads back what ``to_json`` wrote, for every result type the front ends and the worker
exchange: ``to_json`` → ``json.dumps``/``loads`` → ``from_json`` gives an equal object."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings

from inboxready.core.dns.client import QueryRecord
from inboxready.core.model import (
    CheckResult, DnsTrouble, DomainReport, Finding, Fix, JsonShapeError, Severity, Status, by_severity,
)

from ..jsonshapes import check_results, dns_troubles, domain_reports, findings, fixes, query_records


def wire(obj: Any) -> Any:
    """``obj.to_json()`` as it comes out of a JSON line."""
    return json.loads(json.dumps(obj.to_json()))


def shown_order(result: CheckResult) -> CheckResult:
    """``result`` with its findings in the order they are shown (and ``to_json`` lists them)."""
    return replace(result, findings=by_severity(result.findings))


@settings(max_examples=150, deadline=None)
@given(fixes)
def test_fix_round_trip(fix: Fix) -> None:
    assert Fix.from_json(wire(fix)) == fix


@settings(max_examples=150, deadline=None)
@given(findings)
def test_finding_round_trip(finding: Finding) -> None:
    assert Finding.from_json(wire(finding)) == finding


@settings(max_examples=100, deadline=None)
@given(check_results)
def test_check_result_round_trip(result: CheckResult) -> None:
    back = CheckResult.from_json(wire(result))
    assert back == shown_order(result)
    # what every front end reads is the same: the findings as shown, the fixes, the whole JSON form
    assert back.to_json() == result.to_json() and back.fixes == result.fixes


@settings(max_examples=150, deadline=None)
@given(query_records)
def test_query_record_round_trip(record: QueryRecord) -> None:
    assert QueryRecord.from_json(wire(record)) == record


@settings(max_examples=100, deadline=None)
@given(dns_troubles)
def test_dns_trouble_round_trip(trouble: DnsTrouble) -> None:
    assert DnsTrouble.from_json(wire(trouble)) == trouble


@settings(max_examples=60, deadline=None)
@given(domain_reports)
def test_domain_report_round_trip(report: DomainReport) -> None:
    back = DomainReport.from_json(wire(report))
    assert back == replace(report, checks={k: shown_order(v) for k, v in report.checks.items()})
    assert back.status is report.status and back.to_json() == report.to_json()
    assert [QueryRecord.from_json(q).to_json() for q in back.queries] == report.queries


def test_shown_order_is_kept_and_derived_keys_ignored() -> None:
    """A fix shown under a more severe finding stays there after the trip (``also_solves``/``solved_by``)."""
    fix = Fix("example.com", "TXT", "v=spf1 -all")
    r = CheckResult("spf", Status.FAIL, "s", findings=[Finding("spf.b", Severity.WARNING, "b", fix=fix),
                                                       Finding("spf.a", Severity.ERROR, "a", fix=fix)])
    data = wire(r)
    assert [f["code"] for f in data["findings"]] == ["spf.a", "spf.b"]
    assert data["findings"][1]["solved_by"] == "spf.a"
    back = CheckResult.from_json(data)
    assert back.to_json() == data and back.presented()[0].also_solves[0].code == "spf.b"


@pytest.mark.parametrize("doc, problem", [
    ([], "expected a JSON object"),
    ({"name": "spf", "status": "maybe", "summary": ""}, "'status'"),
    ({"name": "spf", "status": "pass", "findings": [{"code": 1}]}, "'code'"),
    ({"name": "spf", "status": "pass", "findings": [{"code": "x", "severity": "warning", "message": "m",
                                                     "fix": {"host": "h", "type": "TXT", "value": "v",
                                                             "ttl": "3600"}}]}, "'ttl'"),
    ({"name": "spf", "status": "pass", "records": "v=spf1 -all"}, "'records'"),
    ({"name": "spf", "status": "pass", "elapsed_ms": True}, "'elapsed_ms'"),
])
def test_a_document_of_another_shape_is_refused_clearly(doc: Any, problem: str) -> None:
    with pytest.raises(JsonShapeError, match=problem):
        CheckResult.from_json(doc)


def test_domain_report_refuses_a_query_that_is_not_an_object() -> None:
    with pytest.raises(JsonShapeError):
        DomainReport.from_json({"domain": "example.com", "queries": ["TXT example.com"]})
