"""The record builders window (pytest-qt, offscreen): every tab works off the UI thread through the Engine."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from inboxready.core.dns.server import DnsTestServer
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QTabBar,
    QWidget,
)

from tests.helpers.spf_catalog import GOOGLE, stub_catalog
from tests.helpers.zones import MAIL_BASE

ZONE = "\n" + MAIL_BASE + """@        IN TXT "v=spf1 mx -all"
_dmarc   IN TXT "v=DMARC1; p=quarantine; t=y; rua=mailto:dmarc@example.com"
old._domainkey IN TXT "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcYFebm1A5whLhjDOhMrZnAmVtf2w8dBPzpnEyq1cYLmFvTt/xBmiZeU/AOESwKOTmAWibtIpgxO7i3Mb6zV3lHgsJCSTfGLTFUo04CFcGOCwIDAQAB"
"""

INTERACTIVE = (QAbstractButton, QLineEdit, QComboBox, QPlainTextEdit, QListWidget, QTabBar)


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    s = DnsTestServer()
    s.start()
    s.add_zone("example.com", ZONE)
    stub_catalog(s)
    yield s
    s.stop()


@pytest.fixture
def engine(qtbot):  # type: ignore[no-untyped-def]
    from inboxready.app.engine import Engine

    e = Engine()
    yield e
    e.shutdown()


@pytest.fixture
def window(home: Path, engine, server, qtbot, theme_app):  # type: ignore[no-untyped-def]
    from inboxready.app.builders_window import BuildersWindow

    w = BuildersWindow(engine, nameservers=[server.address], timeout=1.0, domain="example.com")
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()  # before the engine shuts down


def test_spf_tab_builds_counts_live_and_flattens(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.spfUpdated, timeout=10_000,
                          check_params_cb=lambda b: b.lookups_live and "google" in b.record) as sig:
        window.set_services(["google"])
        window.ip_field.setText("192.0.2.7")
    b = sig.args[0]
    # merged with the live record; no DMARC there yet, so '~all' as the check advises
    assert b.record == "v=spf1 mx include:_spf.google.com ip4:192.0.2.7 ~all"
    assert b.lookups == 1 + GOOGLE and "counted over DNS" in window.lookup_label.text()
    assert window.spf_record.text() == b.record
    assert window.spf_copy.value() == b.record
    window.service_search.setText("micro")
    shown = [window.service_list.item(i).text() for i in range(window.service_list.count())
             if not window.service_list.item(i).isHidden()]
    assert shown and all("Microsoft" in t for t in shown)
    with qtbot.waitSignal(window.flattened, timeout=10_000) as flat:
        window.flatten_button.click()
    assert flat.args[0].record.startswith("v=spf1 ip4:") and window.flat_record.isVisible()
    assert "change" in window.flat_label.text()


def test_spf_tab_never_offers_a_draft_for_copying_when_the_current_record_cannot_be_read(  # type: ignore[no-untyped-def]
        window, server, qtbot) -> None:
    """With "merge with the current record" on and the current SPF record unreadable (SERVFAIL), the record shown
    is only a draft of what was ticked: published, it would drop the domain's own servers ('mx'). It used to be
    offered for copying like any other."""
    server.servfail_names.add("example.com/TXT")
    with qtbot.waitSignal(window.spfUpdated, timeout=10_000, check_params_cb=lambda b: b.current_unread) as sig:
        window.set_services(["google"])
    b = sig.args[0]
    assert "mx" not in b.record and b.to_json()["record"] is None and b.to_json()["draft"] == b.record
    assert not window.spf_copy.isEnabled() and "couldn't read your current SPF record" in window.spf_copy.toolTip()
    assert window.lookup_label.text().startswith("Not ready to publish")
    server.servfail_names.clear()
    with qtbot.waitSignal(window.spfUpdated, timeout=10_000,
                          check_params_cb=lambda b: b.lookups_live and not b.current_unread) as sig:
        window.set_services(["google", "microsoft365"])
    assert "mx" in sig.args[0].record and window.spf_copy.isEnabled()


def test_spf_tab_offline_without_merge(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window.merge_box.setChecked(False)
    with qtbot.waitSignal(window.spfUpdated, timeout=10_000, check_params_cb=lambda b: b.lookups_live) as sig:
        window.set_services(["google", "microsoft365", "mailgun", "freshdesk", "zendesk", "brevo"])
    b = sig.args[0]
    assert b.lookups == 13 and not b.ok
    assert "receivers stop at 10" in window.spf_status.text()


def test_dmarc_tab_marks_the_current_step(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window.tabs.setCurrentIndex(1)
    with qtbot.waitSignal(window.ladderShown, timeout=10_000) as sig:
        window.ladder_button.click()
    steps = sig.args[0]
    assert [s.stage for s in steps if s.current] == ["test-quarantine"]
    assert "2. Try quarantine" in window.dmarc_status.text()
    assert steps[-1].record == "v=DMARC1; p=reject; np=reject; rua=mailto:dmarc@example.com"
    window.rua_field.setText("not an address")
    with qtbot.waitSignal(window.ladderShown, timeout=10_000) as bad:
        window.ladder_button.click()
    assert bad.args[0] == [] and window.dmarc_status.text()


def test_dkim_tab_generates_saves_and_plans_rotation(window, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window.tabs.setCurrentIndex(2)
    window.selector_field.setText("new2026")
    window.key_box.setCurrentIndex(3)  # Ed25519: quick
    window.old_selector_field.setText("old")
    with qtbot.waitSignal(window.keyGenerated, timeout=10_000) as sig:
        window.generate_button.click()
    key = sig.args[0]
    assert key.fix.host == "new2026._domainkey.example.com" and window.save_button.isEnabled()
    texts = [w.text() for w in window.key_host.findChildren(QWidget) if hasattr(w, "text") and callable(w.text)]
    assert any("old._domainkey.example.com" in str(t) for t in texts)  # the exact removal fix is shown
    path = tmp_path / "k.pem"
    with qtbot.waitSignal(window.keySaved, timeout=10_000):
        window.save_private_key(str(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_bytes() == key.private_pem
    window.save_private_key(str(path))  # exists: refused, said in plain words
    qtbot.waitUntil(lambda: "already exists" in window.dkim_status.text(), timeout=10_000)


def test_what_if_tab_shows_cards(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window.tabs.setCurrentIndex(3)
    window.host_field.setText("_dmarc")
    window.value_field.setPlainText("v=DMARC1; p=reject; rua=mailto:dmarc@example.com")
    with qtbot.waitSignal(window.whatIfShown, timeout=15_000) as sig:
        window.whatif_button.click()
    report = sig.args[0]
    assert report.checks["dmarc"].detail["policy"] == "reject"
    assert set(window.cards) >= {"spf", "dkim", "dmarc", "mx"} and "starttls" not in window.cards
    assert window.cards["dmarc"].status == "pass"
    window.type_box.setCurrentIndex(window.type_box.findData("MX"))
    window.value_field.setPlainText("not an mx")
    with qtbot.waitSignal(window.whatIfShown, timeout=10_000) as bad:
        window.whatif_button.click()
    assert bad.args[0] is None and "not a valid MX" in window.whatif_status.text()


def test_every_control_is_named_and_focusable(window) -> None:  # type: ignore[no-untyped-def]
    problems = []
    for tab in range(window.tabs.count()):
        window.tabs.setCurrentIndex(tab)
        for w in window.findChildren(QWidget):
            if not isinstance(w, INTERACTIVE) or not w.isVisibleTo(window) or isinstance(w.parent(), INTERACTIVE):
                continue
            if isinstance(w, QTabBar):
                continue
            if not w.accessibleName().strip():
                problems.append(f"{type(w).__name__} {w.objectName()!r} has no accessible name")
            if not w.focusPolicy() & Qt.FocusPolicy.TabFocus:
                problems.append(f"{type(w).__name__} {w.accessibleName()!r} cannot take focus")
    assert not problems, problems


def test_close_cancels_work(window, engine, qtbot) -> None:  # type: ignore[no-untyped-def]
    window.tabs.setCurrentIndex(3)
    window.value_field.setPlainText("v=spf1 -all")
    job = window.check_what_if()
    assert job > 0
    window.close()
    assert not window.jobs
    qtbot.waitUntil(lambda: not engine.task_running(job), timeout=10_000)


def test_spf_tab_over_the_limit_offers_only_records_that_fit(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 item 1: the builder never offers its broken record; it shows the check's records that fit."""
    from inboxready.app.widgets import FixView

    from inboxready.core.builders.spf import find_service

    picks = ["google", "microsoft365", "mailgun", "freshdesk", "zendesk"]
    with qtbot.waitSignal(window.spfUpdated, timeout=15_000,
                          check_params_cb=lambda b: b.lookups_live and b.lookups > 10) as sig:
        window.set_services(picks)
    b = sig.args[0]
    assert b.lookups == 1 + sum(find_service(p).lookups for p in picks)  # mx + the stubbed includes
    assert b.fix is None and b.options
    assert "would not work as it is" in window.lookup_label.text()
    assert not window.spf_copy.isEnabled()  # the broken record can't be copied
    assert window.options_box.isVisibleTo(window) and len(window.option_views) == len(b.options)
    first = window.option_views[0]
    assert isinstance(first, FixView) and first.fix == b.options[0]
    assert "._spf-flat.example.com" in first.value_field.text()
    assert first.companions and first.companions[0].fix.host.endswith("._spf-flat.example.com")
    costliest = max(picks, key=lambda p: find_service(p).lookups)
    include = find_service(costliest).include
    assert f"include:{include}: {find_service(costliest).lookups} (counted over DNS)" in window.spf_status.text()
