"""The report-import results read back what they wrote (the worker sends them as JSON lines)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxready.core.mail.profiles import ConnectionResult
from inboxready.core.model import JsonShapeError
from inboxready.core.reports.report_mailbox import ReportMailboxOutcome
from inboxready.core.reports.importjob import JobOutcome, outcome_events, outcome_from_events
from inboxready.core.reports.store import ImportResult, ReportInfo

from ..jsonshapes import millis, text

ints = st.integers(0, 2**40)
infos = st.builds(ReportInfo, name=text, kind=st.sampled_from(["dmarc", "tlsrpt"]), org=text, report_id=text,
                  domain=text, begin=ints, end=ints, messages=ints, problem=text)
results = st.builds(ImportResult, imported=st.lists(infos, max_size=3), duplicate=st.lists(infos, max_size=2),
                    rejected=st.lists(st.tuples(text, text), max_size=3), files=ints,
                    repeated=st.lists(infos, max_size=2), conflicting=st.lists(infos, max_size=2))
seconds = st.floats(min_value=0, max_value=1e5, allow_nan=False).map(lambda x: round(x, 3))


def _outcome(result: ImportResult, cancelled: bool, **kw: Any) -> JobOutcome:
    result.cancelled = cancelled
    return JobOutcome(result=result, cancelled=cancelled, **kw)


outcomes = st.builds(_outcome, results, st.booleans(), total=ints, done=ints, seconds=seconds, problem=text,
                     stopped=st.booleans())
connection = st.builds(ConnectionResult, ok=st.booleans(), code=text, message=text, detail=text, stage=text,
                       server_reply=text, elapsed_ms=millis)
watch_outcomes = st.builds(ReportMailboxOutcome, ok=st.booleans(), folder=text, uidvalidity=ints, last_uid=ints, read=ints,
                           moved=ints, result=results, error=st.none() | connection)


def wire(obj: Any) -> Any:
    return json.loads(json.dumps(obj.to_json()))


@settings(max_examples=80, deadline=None)
@given(results)
def test_import_result_round_trip(result: ImportResult) -> None:
    assert ImportResult.from_json(wire(result)) == result


@settings(max_examples=80, deadline=None)
@given(outcomes)
def test_job_outcome_round_trip(outcome: JobOutcome) -> None:
    assert JobOutcome.from_json(wire(outcome)) == outcome
    # the import job's event stream reads back the same outcome
    events = [json.loads(json.dumps(e)) for e in outcome_events(outcome)]
    assert outcome_from_events(events) == outcome


@settings(max_examples=60, deadline=None)
@given(watch_outcomes)
def test_report_mailbox_outcome_round_trip(outcome: ReportMailboxOutcome) -> None:
    assert ReportMailboxOutcome.from_json(wire(outcome)) == outcome


def test_a_report_of_another_shape_is_refused() -> None:
    with pytest.raises(JsonShapeError, match="'begin'"):
        ImportResult.from_json({"imported": [{"name": "a.xml", "kind": "dmarc", "begin": "yesterday"}]})
    with pytest.raises(JsonShapeError, match="'cancelled'"):
        JobOutcome.from_json({"result": {}, "cancelled": "no"})
