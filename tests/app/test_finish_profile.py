"""A finished check is shown a piece a turn (``_on_finished`` → ``_finish_steps``). The profile's verdict the
worker judged with the check was shown even when Settings named another profile by then: chosen while the
check ran, or in the turns between "finished" and the verdict card. The verdict card now always judges by
the profile Settings name when it is shown."""

from __future__ import annotations

from .conftest import add_good_zone

WAIT_MS = 20000


def test_a_profile_chosen_while_the_finished_check_is_shown_is_the_one_judged(make_window, qtbot, dns_server) -> None:  # type: ignore[no-untyped-def]
    add_good_zone(dns_server, "tools.example")
    w = make_window(nameserver=dns_server.address)
    seen: list[str] = []

    def change_profile(_job: int, _report: object) -> None:  # runs right after the window's own slot
        seen.append(w.settings.compliance_profile)
        w.apply_settings(profile="hipaa")

    w.engine.finished.connect(change_profile)
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain("tools.example")
    assert seen == ["bulk-sender"]  # the change came after the worker had judged by the old profile
    assert w.cards["compliance"].result.detail["profile"] == "hipaa"


def test_a_profile_chosen_while_the_check_runs_is_the_one_judged(make_window, qtbot, dns_server) -> None:  # type: ignore[no-untyped-def]
    add_good_zone(dns_server, "tools.example")
    w = make_window(nameserver=dns_server.address)
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain("tools.example")
        w.apply_settings(profile="soc2")  # the worker was asked to judge by bulk-sender
    assert w.cards["compliance"].result.detail["profile"] == "soc2"
