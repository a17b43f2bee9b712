"""Run the checks for a domain concurrently and stream each result as it finishes.

The checks are those of ``registry.CHECKS``, looked up by name (``check_function``); each one gets the same
``CheckContext`` with one shared DNS client."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import AsyncIterator, Callable, Iterable

from ..context import CheckContext, CheckOptions
from ..dns.client import PROBE_TIMEOUT, DnsClient, QueryRecord
from ..model import CheckResult, DomainReport, Finding, Severity, Status
from .registry import CHECK_TITLES, check_function


def make_client(options: CheckOptions, on_query: Callable[[QueryRecord], None] | None = None) -> DnsClient:
    """The DNS client a run of ``options`` uses (``on_query`` sees every query it sends)."""
    return DnsClient(options.nameservers, timeout=options.timeout, deadline=options.deadline,
                     max_concurrency=options.max_concurrency, on_query=on_query)


async def _run_one(name: str, ctx: CheckContext) -> CheckResult:
    started = time.monotonic()
    try:
        result = await check_function(name)(ctx)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bug must show as "couldn't check", never crash the run
        result = CheckResult(
            name=name, status=Status.ERROR,
            summary=f"{CHECK_TITLES.get(name, name)} could not be checked because of an internal error.",
            findings=[Finding(f"{name}.internal-error", Severity.UNKNOWN,
                              "InboxReady hit an unexpected problem while checking this. Please report it.",
                              detail=f"{type(exc).__name__}: {exc}")],
        )
    result = result.names_shown()  # bücher.example in the words, xn--bcher-kva.example in the records
    result.elapsed_ms = (time.monotonic() - started) * 1000
    return result


# How long past the run's deadline a check may still take to wrap up before it is stopped (its queries
# already end at the deadline; this bounds everything else: an HTTPS fetch, a STARTTLS probe, a bug).
DEADLINE_GRACE = 1.0


def _out_of_time(name: str, seconds: float) -> CheckResult:
    title = CHECK_TITLES.get(name, name)
    return CheckResult(
        name=name, status=Status.ERROR,
        summary=f"{title} could not be finished within the time limit ({seconds:g} s).",
        findings=[Finding(f"{name}.deadline", Severity.UNKNOWN,
                          f"{title} could not be finished within the time limit of {seconds:g} seconds, so we "
                          "can't say whether it is right. Try again, or allow more time.",
                          detail="stopped at the run's deadline")],
    )


async def check_domain(
    domain: str, options: CheckOptions | None = None, *, client: DnsClient | None = None
) -> AsyncIterator[CheckResult]:
    """Yield one ``CheckResult`` per check, in the order they finish.

    ``domain`` must already be normalized (``parse_domain``). Cancelling the consumer cancels
    every check (the queries in flight end when the client is closed). With a deadline (``options.deadline``, or the client's), every check has a
    result by then (plus ``DEADLINE_GRACE``) whatever the DNS data: one still running is stopped and
    reported as "couldn't check".
    """
    options = options or CheckOptions()
    client = client or make_client(options)
    ctx = CheckContext(domain=domain, dns=client, options=options)
    names = list(options.checks)
    tasks = {asyncio.ensure_future(_run_one(n, ctx)): n for n in names}
    remaining = client.remaining()
    if remaining is None and options.deadline:
        remaining = options.deadline
    clock = asyncio.get_running_loop().time  # the loop's clock (what asyncio.wait times), so a test can run it fast
    stop_at = None if remaining is None else clock() + max(0.0, remaining) + DEADLINE_GRACE
    limit = options.deadline or remaining or 0.0
    try:
        pending = set(tasks)
        while pending:
            timeout = None if stop_at is None else max(0.0, stop_at - clock())
            done, pending = await asyncio.wait(pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if not done:  # the deadline: whatever is still running is stopped and said so
                for t in pending:
                    t.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                for t in sorted(pending, key=lambda t: names.index(tasks[t])):
                    yield _out_of_time(tasks[t], limit)
                return
            for t in sorted(done, key=lambda t: names.index(tasks[t])):
                yield t.result()
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def run_check(
    domain: str, options: CheckOptions | None = None, *,
    on_result: Callable[[CheckResult], None] | None = None,
    client: DnsClient | None = None,
) -> DomainReport:
    """Run every check for ``domain`` and return the whole report (``on_result`` sees each as it
    finishes)."""
    options = options or CheckOptions()
    started = time.monotonic()
    report = DomainReport(domain=domain, started=datetime.now(timezone.utc).astimezone().isoformat(),
                          nameservers=[])
    own_client = client is None
    client = client or make_client(options)
    try:
        async for result in check_domain(domain, options, client=client):
            report.checks[result.name] = result
            if on_result is not None:
                on_result(result)
        if any(r.status is Status.ERROR for r in report.checks.values()):
            try:
                left = client.remaining()
                report.dns_trouble = await client.diagnose(
                    domain, wait=max(0.5, left + DEADLINE_GRACE) if left is not None else PROBE_TIMEOUT + 1)
            except Exception:  # the diagnosis is a courtesy: never let it cost the report
                report.dns_trouble = None
    finally:
        if own_client:
            client.close()
    report.nameservers = list(client.nameservers)
    report.checks = {n: report.checks[n] for n in options.checks if n in report.checks}
    report.queries = client.queries_json()
    report.elapsed_ms = (time.monotonic() - started) * 1000
    return report


async def run_many(
    domains: Iterable[str], options: CheckOptions | None = None, *, concurrency: int = 20
) -> list[DomainReport]:
    """Check many domains with at most ``concurrency`` running at once; results in input order."""
    options = options or CheckOptions()
    sem = asyncio.Semaphore(concurrency)

    async def one(d: str) -> DomainReport:
        async with sem:
            return await run_check(d, options)

    return list(await asyncio.gather(*(one(d) for d in domains)))


__all__ = ["DEADLINE_GRACE", "check_domain", "make_client", "run_check", "run_many"]
