"""The readiness bar: no chip contradicts the headline (a recommended step not taken is amber and says
"not yet", not a red "Not met (recommended)"; a domain the rules don't apply to shows no red chip)."""

from __future__ import annotations

from typing import Iterator

import pytest

from inboxready.app.demo import DemoDnsServer, start_demo_server
from inboxready.core.checks.runner import run_check
from inboxready.core.context import CheckOptions

from ..conftest import run


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoDnsServer]:
    server, _ = start_demo_server()
    yield server
    server.stop()


def _bar(qtbot, demo: DemoDnsServer, domain: str):  # type: ignore[no-untyped-def]
    from inboxready.app.readiness import ReadinessBar

    report = run(run_check(domain, CheckOptions(nameservers=[demo.address], timeout=1.0,
                                                checks=("spf", "dkim", "dmarc", "mx"), dkim_selectors=["default"])))
    bar = ReadinessBar()
    qtbot.addWidget(bar)
    bar.update_from(report.checks)
    return bar


def test_a_recommended_step_is_amber_and_says_not_yet(qtbot, theme_app, demo: DemoDnsServer) -> None:  # type: ignore[no-untyped-def]
    bar = _bar(qtbot, demo, "demo-monitoring.example")
    chip = bar.chips["enforcement"]
    assert chip.word == "DMARC enforcement (recommended): Not yet" and chip.status == "warn"
    assert "Not met (recommended)" not in " ".join(c.word for c in bar.chips.values())
    assert "recommended next: DMARC enforcement" in bar.headline.text()
    assert {k: c.status for k, c in bar.chips.items() if k != "enforcement"} == {"spf": "pass", "dkim": "pass",
                                                                                 "dmarc": "pass"}


def test_no_red_chip_under_a_headline_saying_the_rules_dont_apply(qtbot, theme_app, demo: DemoDnsServer) -> None:  # type: ignore[no-untyped-def]
    bar = _bar(qtbot, demo, "demo-parked.example")
    assert "only matter once it sends mail" in bar.headline.text()
    assert [c.status for c in bar.chips.values()].count("fail") == 0
    assert bar.chips["spf"].word == "SPF record: Doesn't apply" and bar.chips["spf"].status == "na"


def test_no_all_clear_above_a_failing_mx_card(qtbot, theme_app, demo: DemoDnsServer) -> None:  # type: ignore[no-untyped-def]
    bar = _bar(qtbot, demo, "demo-brokenmx.example")
    assert bar.headline.text().startswith("MX fails (see the MX check)")
    assert bar.accessibleName() == bar.headline.text()
