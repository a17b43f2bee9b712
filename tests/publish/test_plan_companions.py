"""A fix of several records (issue 12: a flattened copy, a subdomain's SPF, the lockdown set) is planned whole:
publishing only its first record would leave, say, an include pointing at a copy that doesn't exist."""

from __future__ import annotations

import asyncio

from inboxready.core.model import CheckResult, DomainReport, Finding, Fix, Severity, Status
from inboxready.core.publish.plan import make_plan


class _EmptyHost:
    """A DNS host with nothing published yet (make_plan only lists records)."""

    provider = "memory"

    def list(self, rtype: str, host: str) -> list:  # type: ignore[type-arg]
        return []


def test_a_fix_and_its_companion_records_are_planned_together() -> None:
    copy = Fix("news.example.net._spf-flat.example.com", "TXT", "v=spf1 ip4:198.51.100.0/26 -all")
    fix = Fix("example.com", "TXT", "v=spf1 mx include:news.example.net._spf-flat.example.com ~all",
              action="replace", title="Copy the most expensive includes", also_publish=(copy,))
    report = DomainReport("example.com", {"spf": CheckResult("spf", Status.FAIL, "x", findings=[
        Finding("spf.too-many-lookups", Severity.ERROR, "Too many lookups.", fix=fix)])})
    plan = asyncio.run(make_plan(report, "example.com", _EmptyHost(), account="a"))  # type: ignore[arg-type]
    assert [(c.action, c.host, c.new) for c in plan.changes] == [
        ("add", "example.com", fix.value), ("add", copy.host, copy.value)]
    only = asyncio.run(make_plan(report, "example.com", _EmptyHost(), account="a",  # type: ignore[arg-type]
                                 fixes=[(fix, "spf.too-many-lookups", "Too many lookups.")]))
    assert {c.host for c in only.changes} == {"example.com", copy.host}
