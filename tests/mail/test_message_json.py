"""``MessageReport.from_json`` reads back what ``to_json`` wrote (``headers --json``, the worker's events)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxready.core.mail.message import MessageReport, analyze_message
from inboxready.core.mail.profiles import ConnectionResult
from inboxready.core.model import JsonShapeError

from ..conftest import run
from ..jsonshapes import check_results, details, findings, millis, text


def _report(cards: list[Any], **kw: Any) -> MessageReport:
    # a message's cards have no DNS records and no time of their own (verdict.py): to_json leaves them out
    return MessageReport(checks={c.name: replace(c, records=[], elapsed_ms=0.0) for c in cards}, **kw)


reports = st.builds(_report, st.lists(check_results, max_size=4), from_=text, from_domain=text, subject=text,
                    message_id=text, receiver=st.none() | text, findings=st.lists(findings, max_size=3),
                    detail=details, elapsed_ms=millis)


def wire(obj: Any) -> Any:
    return json.loads(json.dumps(obj.to_json()))


@settings(max_examples=80, deadline=None)
@given(reports)
def test_message_report_round_trip(report: MessageReport) -> None:
    back = MessageReport.from_json(wire(report))
    assert back == report
    assert back.status is report.status and back.headline == report.headline


@settings(max_examples=80, deadline=None)
@given(st.builds(ConnectionResult, ok=st.booleans(), code=text, message=text, detail=text, stage=text,
                 server_reply=text, elapsed_ms=millis))
def test_connection_result_round_trip(result: ConnectionResult) -> None:
    assert ConnectionResult.from_json(wire(result)) == result


def test_a_real_verdict_survives_the_trip() -> None:
    raw = (b"Authentication-Results: mx.google.com; dkim=pass header.i=@example.com header.s=s1;"
           b" spf=pass smtp.mailfrom=example.com; dmarc=pass (p=REJECT) header.from=example.com\r\n"
           b"From: Shop <news@example.com>\r\nSubject: Hello\r\nMessage-ID: <1@example.com>\r\n\r\nHi\r\n")
    report = run(analyze_message(raw, trusted_authserv_ids=["mx.google.com"]))
    assert report.checks
    # times are kept to a tenth of a millisecond
    assert MessageReport.from_json(wire(report)) == replace(report, elapsed_ms=round(report.elapsed_ms, 1))


def test_a_card_of_another_shape_is_refused() -> None:
    with pytest.raises(JsonShapeError, match="'status'"):
        MessageReport.from_json({"checks": {"spf": {"summary": "x"}}})
