"""The main window's tools: the Tools menu opens each window, Export writes the audit report, and the
bulk-sender checklist card takes the spam rate the user types in."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import GOOD_ZONE, add_good_zone

WAIT_MS = 20000


def _checked(make_window, qtbot, dns_server, domain: str = "tools.example"):  # type: ignore[no-untyped-def]
    add_good_zone(dns_server, domain)
    w = make_window(nameserver=dns_server.address)
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain(domain)
    return w


def test_tools_menu_opens_each_window_once(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    from inboxready.app.builders_window import BuildersWindow
    from inboxready.app.reports import ReportsWindow
    from inboxready.app.watch_window import WatchWindow

    w = make_window()
    titles = [a.text() for a in w.tools_menu.actions()]
    assert titles == ["Record builders (SPF, DMARC, DKIM keys, what if)…", "DMARC reports…",
                      "Watch list and history…", "Export report…", "DNS changes published (history, undo)…"]
    kinds = {"Record builders": BuildersWindow, "DMARC reports": ReportsWindow, "Watch list": WatchWindow}
    for action in w.tools_menu.actions()[:3]:
        action.trigger()
    assert set(w.tool_windows) == {"builders", "reports", "watch"}
    for key, kind in zip(("builders", "reports", "watch"), kinds.values()):
        assert isinstance(w.tool_windows[key], kind) and w.tool_windows[key].isVisible()
    first = w.tool_windows["builders"]
    assert w.open_builders() is first  # shown again, not made twice
    assert w.watch_service is not None  # opening the watch list starts its schedule


def test_export_writes_the_audit_report(make_window, qtbot, dns_server, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from inboxready.app import export
    from inboxready.core.policy.audit import verify

    w = make_window()
    assert not w.export_button.isEnabled()
    w = _checked(make_window, qtbot, dns_server)
    assert w.export_button.isEnabled()
    target = tmp_path / "report.html"
    monkeypatch.setattr(export, "ask_path", lambda parent, report: target)
    w.export_report()
    qtbot.waitUntil(target.exists, timeout=WAIT_MS)
    html = target.read_text(encoding="utf-8")
    assert "tools.example" in html and "v=spf1 ip4:192.0.2.0/24 -all" in html
    assert verify(html)


def test_spam_rate_typed_in_the_checklist_changes_its_verdict(make_window, qtbot, dns_server) -> None:  # type: ignore[no-untyped-def]
    w = _checked(make_window, qtbot, dns_server)

    def spam_item() -> dict:
        return next(i for i in w.cards["checklist"].result.detail["items"] if i["key"] == "spam-rate")

    assert spam_item()["state"] == "cant-see"
    w.cards["checklist"].spamRateEntered.emit(0.5)
    assert spam_item()["state"] == "not-met" and w.spam_rates == {"tools.example": 0.5}
    w.cards["checklist"].spamRateEntered.emit(0.05)
    assert spam_item()["state"] == "met"
    w.cards["checklist"].spamRateEntered.emit(None)
    assert spam_item()["state"] == "cant-see"


def test_checklist_card_shows_the_rules_and_the_spam_rate_field(make_window, qtbot, dns_server) -> None:  # type: ignore[no-untyped-def]
    w = _checked(make_window, qtbot, dns_server)
    card = w.cards["checklist"]
    card.set_open(True)
    qtbot.waitUntil(lambda: card.body_ready, timeout=WAIT_MS)
    assert card.spam_rate_field.accessibleName().startswith("Your spam rate")
    card.spam_rate_field.setValue(0.4)
    card.spam_rate_button.click()
    assert w.spam_rates == {"tools.example": 0.4}
    assert w.cards["checklist"].is_open  # stays open when it is judged again


def test_compliance_profile_from_settings_judges_the_check(make_window, qtbot, dns_server) -> None:  # type: ignore[no-untyped-def]
    from inboxready.app.main_window import SettingsDialog
    from inboxready.core.store.settings import Settings

    w = _checked(make_window, qtbot, dns_server)
    card = w.cards["compliance"]
    # no DKIM key among the known selectors and no test message yet: not judged yet (info), not a failure
    assert card.result.detail["profile"] == "bulk-sender" and card.result.status.value == "info"
    assert card.result.detail["state"] == "incomplete"
    dlg = SettingsDialog("", w, profile="hipaa")
    assert dlg.profile() == "hipaa" and dlg.profile_box.count() >= 3
    dlg.profile_box.setCurrentIndex(dlg.profile_box.findData("soc2"))
    assert dlg.profile() == "soc2"
    w.settings.compliance_profile = "hipaa"
    w._show_checklist()
    verdict = w.cards["compliance"].result
    # p=reject, but no DKIM key among the known selectors and no TLS evidence yet: HIPAA can't be met yet
    assert verdict.detail["profile"] == "hipaa" and verdict.detail["state"] == "incomplete"
    # a domain whose DMARC only monitors does not meet HIPAA's "DMARC enforced" rule
    dns_server.replace_zone("tools.example", GOOD_ZONE.replace("{origin}", "tools.example").replace(
        "p=reject", "p=none"))
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain("tools.example")
    verdict = w.cards["compliance"].result
    assert verdict.detail["profile"] == "hipaa" and verdict.detail["state"] == "not-met"
    assert verdict.status.value == "warn" and any(f.code.startswith("compliance.") for f in verdict.findings)
    assert Settings.from_json(w.settings.to_json()).compliance_profile == "hipaa"
