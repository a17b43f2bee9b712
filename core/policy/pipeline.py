"""One pipeline from a domain to everything a front end shows about it:
check → checklist → profile verdict → what changed since the last stored run.

    judged = await check_and_judge("example.com", options, history=History(), profile="bulk-sender")
    judged.report, judged.checklist, judged.verdict, judged.diffs

The CLI (``check``), the monitor (the watch list of domains re-checked on a schedule) and the app's engine
call this, so the three can't drift apart. The history is optional (the CLI's ``check`` keeps none); with
one, the previous run is read first (``on_previous`` sees it, so a window can show "last time" before the
first result), each result arrives with its diff (``on_result``), and the run is stored unless
``record=False``. Blocking store calls run in the loop's default executor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..checks.runner import run_check
from ..context import CheckOptions
from ..dns.client import DnsClient
from ..frontend import APP, FrontEnd
from ..model import CheckResult, DomainReport
from ..store.history import History, StoredCheck
from .checklist import build_checklist
from .compliance import Profile, ProfileVerdict, evaluate
from .diff import CheckDiff, diff_check

if TYPE_CHECKING:
    from ..mail.message import MessageReport


@dataclass
class Judged:
    """A domain's check with every judgement over it."""

    report: DomainReport
    checklist: CheckResult  # the bulk-sender checklist card (``build_checklist``)
    verdict: ProfileVerdict | None = None  # the compliance profile's verdict, when a profile was asked for
    previous: StoredCheck | None = None  # the last stored run before this one (None: none, or no history)
    diffs: dict[str, CheckDiff] = field(default_factory=dict)  # per check, against ``previous``
    run_id: int | None = None  # the stored run (None: not stored)


async def check_and_judge(
    domain: str, options: CheckOptions | None = None, *,
    history: History | None = None, record: bool = True, known_selectors: bool = False,
    profile: str | Profile | None = None, spam_rate: float | None = None,
    message: MessageReport | None = None, reports_summary: Mapping[str, object] | None = None,
    front: FrontEnd = APP, client: DnsClient | None = None,
    on_previous: Callable[[StoredCheck | None], None] | None = None,
    on_result: Callable[[CheckResult, CheckDiff | None], None] | None = None,
) -> Judged:
    """Check ``domain`` and judge the result.

    ``history``: read the previous run, diff against it and (with ``record``) store this one.
    ``known_selectors``: also ask every DKIM selector the history has ever seen a record for, so a key found
    once is followed and its disappearance noticed (the monitor does this). ``profile``: also judge against
    this compliance profile. ``spam_rate``, ``message``, ``reports_summary``: the evidence the checklist and
    the profile use besides DNS. ``front``: whose places (app or CLI) the texts name. ``client``: the DNS
    client to use (its ``on_query`` sees every query)."""
    options = options or CheckOptions()
    loop = asyncio.get_running_loop()
    previous: StoredCheck | None = None
    if history is not None:
        previous = await loop.run_in_executor(None, history.last, domain)
        if known_selectors:
            seen = await loop.run_in_executor(None, history.sightings, domain, "dkim-selector")
            options = replace(options, dkim_selectors=list(dict.fromkeys([*options.dkim_selectors,
                                                                           *(s.key for s in seen)])))
    if on_previous is not None:
        on_previous(previous)
    diffs: dict[str, CheckDiff] = {}

    def each(result: CheckResult) -> None:
        diff = None
        if history is not None:
            diff = diff_check(previous.result(result.name) if previous is not None else None, result,
                              previous_started=previous.started if previous is not None else "")
            diffs[result.name] = diff
        if on_result is not None:
            on_result(result, diff if previous is not None else None)

    report = await run_check(domain, options, on_result=each, client=client)
    run_id = None
    if history is not None and record:
        run_id = await loop.run_in_executor(None, history.add, report)
    return judge(report, profile=profile, spam_rate=spam_rate, message=message, reports_summary=reports_summary,
                 front=front, previous=previous, diffs={n: diffs[n] for n in report.checks if n in diffs},
                 run_id=run_id)


def judge(report: DomainReport, *, profile: str | Profile | None = None, spam_rate: float | None = None,
          message: MessageReport | None = None, reports_summary: Mapping[str, object] | None = None,
          front: FrontEnd = APP, previous: StoredCheck | None = None,
          diffs: dict[str, CheckDiff] | None = None, run_id: int | None = None) -> Judged:
    """The judgements over a report already made (checklist and profile verdict); no I/O."""
    checklist = build_checklist(report.checks, message, spam_rate=spam_rate, front=front)
    verdict = None
    if profile is not None:
        verdict = evaluate(profile, report.checks, message=message, reports_summary=reports_summary, front=front)
    return Judged(report, checklist, verdict, previous, dict(diffs or {}), run_id)


__all__ = ["Judged", "check_and_judge", "judge"]
