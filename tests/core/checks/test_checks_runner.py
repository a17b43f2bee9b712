"""The runner streams results as each check finishes, contains bugs, and cancels cleanly."""

from __future__ import annotations

import asyncio

import pytest

from inboxready.core.checks import runner as checks
from inboxready.core.context import CheckContext, CheckOptions
from inboxready.core.model import CheckResult, Status

from ...conftest import run


def _fake(delays: dict[str, float], cancelled: list[str]):  # type: ignore[no-untyped-def]
    def factory(name: str):  # type: ignore[no-untyped-def]
        async def check(ctx: CheckContext) -> CheckResult:
            if name == "boom":
                raise RuntimeError("bug")
            try:
                await asyncio.sleep(delays[name])
            except asyncio.CancelledError:
                cancelled.append(name)
                raise
            return CheckResult(name, Status.PASS, f"{name} ok")
        return check
    return factory


def test_results_stream_in_finishing_order(monkeypatch: pytest.MonkeyPatch) -> None:
    cancelled: list[str] = []
    monkeypatch.setattr(checks, "check_function", _fake({"slow": 0.3, "fast": 0.01, "mid": 0.1}, cancelled))
    opts = CheckOptions(nameservers=["127.0.0.1:9"], checks=("slow", "fast", "mid"))

    async def go() -> list[str]:
        return [r.name async for r in checks.check_domain("example.test", opts)]

    assert run(go()) == ["fast", "mid", "slow"]


def test_a_bug_in_one_check_is_couldnt_check_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "check_function", _fake({"fast": 0.0}, []))
    opts = CheckOptions(nameservers=["127.0.0.1:9"], checks=("boom", "fast"))
    report = run(checks.run_check("example.test", opts))
    assert list(report.checks) == ["boom", "fast"]
    assert report.checks["boom"].status is Status.ERROR
    assert report.checks["boom"].findings[0].code == "boom.internal-error"
    assert report.checks["fast"].status is Status.PASS


def test_stopping_the_consumer_cancels_the_checks_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    cancelled: list[str] = []
    monkeypatch.setattr(checks, "check_function", _fake({"slow": 5.0, "fast": 0.0}, cancelled))
    opts = CheckOptions(nameservers=["127.0.0.1:9"], checks=("slow", "fast"))

    async def go() -> None:
        task = asyncio.ensure_future(checks.run_check("example.test", opts))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(go())
    assert cancelled == ["slow"]
