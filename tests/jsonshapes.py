"""Hypothesis strategies for the plain result types, shared by the ``from_json`` round-trip tests.

Numbers that ``to_json`` rounds (milliseconds to a tenth, seconds to a thousandth) are drawn already rounded,
so a round trip must give back an equal object."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from inboxready.core.dns.client import Outcome, QueryRecord
from inboxready.core.model import CheckResult, DnsTrouble, DomainReport, Finding, Fix, Severity, Status

text = st.text(max_size=40)
short = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
millis = st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda x: round(x, 1))
json_scalar = st.none() | st.booleans() | st.integers(-2**53, 2**53) | text | millis
json_value = st.recursive(json_scalar, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(short, inner, max_size=3), max_leaves=8)
details = st.dictionaries(short, json_value, max_size=4)

plain_fix = st.builds(Fix, host=text, type=st.sampled_from(["TXT", "MX", "CNAME", "A"]), value=text,
                      ttl=st.integers(0, 2**31 - 1), action=st.sampled_from(["publish", "replace", "remove"]),
                      note=text, kind=st.sampled_from(["record", "starting-point", "suggestion"]), title=text)
fixes = st.builds(lambda f, more: Fix(**{**f.__dict__, "also_publish": tuple(more)}), plain_fix,
                  st.lists(plain_fix, max_size=2))
findings = st.builds(Finding, code=text, severity=st.sampled_from(list(Severity)), message=text, detail=text,
                     rfc=text, fix=st.none() | fixes, alternatives=st.lists(fixes, max_size=2).map(tuple),
                     no_fix=text)
check_results = st.builds(CheckResult, name=short, status=st.sampled_from(list(Status)), summary=text,
                          records=st.lists(text, max_size=3), findings=st.lists(findings, max_size=4),
                          detail=details, elapsed_ms=millis)
query_records = st.builds(QueryRecord, name=text, rdtype=st.sampled_from(["TXT", "MX", "A", "AAAA", "PTR"]),
                          outcome=st.sampled_from(list(Outcome)), answer=st.lists(text, max_size=3).map(tuple),
                          elapsed_ms=millis, started_ms=millis, error=text, server=text, sent=st.integers(0, 99))
dns_troubles = st.builds(DnsTrouble, kind=st.sampled_from(["resolver", "domain"]),
                         servers=st.lists(text, max_size=2).map(tuple), reason=text, message=text, advice=text,
                         detail=text)


def _report(domain: str, checks: list[CheckResult], queries: list[QueryRecord], **kw: Any) -> DomainReport:
    return DomainReport(domain, {c.name: c for c in checks}, [q.to_json() for q in queries], **kw)


domain_reports = st.builds(_report, text, st.lists(check_results, max_size=4), st.lists(query_records, max_size=3),
                           started=text, elapsed_ms=millis, nameservers=st.lists(text, max_size=2),
                           dns_trouble=st.none() | dns_troubles)
