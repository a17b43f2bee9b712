"""The runner streams results as each check finishes, contains bugs, and cancels cleanly."""

from __future__ import annotations

import asyncio

import pytest

from inboxready.core.checks import runner as checks
from inboxready.core.context import CheckContext, CheckOptions
from inboxready.core.model import CheckResult, Status

from ...conftest import run


def _fake(gates: dict[str, asyncio.Event], cancelled: list[str],
          started: dict[str, asyncio.Event] | None = None):  # type: ignore[no-untyped-def]
    """Checks that finish when the test opens their gate (no wall clock: the test says who finishes when)."""
    def factory(name: str):  # type: ignore[no-untyped-def]
        async def check(ctx: CheckContext) -> CheckResult:
            if name == "boom":
                raise RuntimeError("bug")
            if started is not None and name in started:
                started[name].set()
            try:
                await gates[name].wait()
            except asyncio.CancelledError:
                cancelled.append(name)
                raise
            return CheckResult(name, Status.PASS, f"{name} ok")
        return check
    return factory


def _open(*names: str) -> dict[str, asyncio.Event]:
    gates = {n: asyncio.Event() for n in names}
    for g in gates.values():
        g.set()
    return gates


def test_results_stream_in_finishing_order(monkeypatch: pytest.MonkeyPatch) -> None:
    opts = CheckOptions(nameservers=["127.0.0.1:9"], checks=("slow", "fast", "mid"))

    async def go() -> list[str]:
        gates = {n: asyncio.Event() for n in ("slow", "fast", "mid")}
        monkeypatch.setattr(checks, "check_function", _fake(gates, []))
        out: list[str] = []
        order = iter(["fast", "mid", "slow"])
        gates[next(order)].set()
        async for r in checks.check_domain("example.test", opts):
            out.append(r.name)
            following = next(order, None)
            if following is not None:  # the next one finishes only after this result has arrived
                gates[following].set()
        return out

    # a runner that held results back would wait forever on the gates: bounded, so that fails instead of hanging
    assert run(asyncio.wait_for(go(), 10)) == ["fast", "mid", "slow"]


def test_a_bug_in_one_check_is_couldnt_check_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    opts = CheckOptions(nameservers=["127.0.0.1:9"], checks=("boom", "fast"))

    async def go():  # type: ignore[no-untyped-def]
        monkeypatch.setattr(checks, "check_function", _fake(_open("fast"), []))
        return await checks.run_check("example.test", opts)

    report = run(go())
    assert list(report.checks) == ["boom", "fast"]
    assert report.checks["boom"].status is Status.ERROR
    assert report.checks["boom"].findings[0].code == "boom.internal-error"
    assert report.checks["fast"].status is Status.PASS


def test_stopping_the_consumer_cancels_the_checks_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    cancelled: list[str] = []
    opts = CheckOptions(nameservers=["127.0.0.1:9"], checks=("slow", "fast"))

    async def go() -> None:
        gates = _open("fast")
        gates["slow"] = asyncio.Event()  # never opened: it runs until it is cancelled
        started = {"slow": asyncio.Event()}
        monkeypatch.setattr(checks, "check_function", _fake(gates, cancelled, started))
        task = asyncio.ensure_future(checks.run_check("example.test", opts))
        await asyncio.wait_for(started["slow"].wait(), 10)  # (an anti-hang bound, never reached)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(go())
    assert cancelled == ["slow"]
