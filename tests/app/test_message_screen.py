"""The "Test a message" screen and the profile dialog (pytest-qt, offscreen)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import (
    QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QListWidget, QPlainTextEdit, QTabBar, QWidget,
)

from inboxready.core.store.credentials import get_password
from inboxready.core.mail.profiles import ProfileStore, ReadProfile, Security, SendProfile
from tests.mail.conftest import (  # noqa: F401 - fixtures used by name
    MAILBOX, SENDER, MemoryKeyring, mail_world_session, memory_keyring, world,
)

MESSAGE = """Authentication-Results: mx.receiver.test; spf=pass smtp.mailfrom=bounce.sender.test;
 dkim=none; dmarc=fail (p=REJECT) header.from=sender.test
Received: from out.sender.test (out.sender.test [192.0.2.7]) by mx.receiver.test; Mon, 2 Nov 2026 10:00:00 +0000
Authentication-Results: mx.receiver.test; dmarc=pass header.from=sender.test
From: Shop <news@sender.test>
To: someone@receiver.test
Subject: Hello
Message-ID: <abc@sender.test>
Date: Mon, 2 Nov 2026 10:00:00 +0000
"""

INTERACTIVE = (QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox, QPlainTextEdit, QListWidget, QTabBar)


def _dead_dns() -> list[str]:
    """A loopback port nobody answers on: DNS look-ups time out quickly (the verdict is in the headers)."""
    return ["127.0.0.1:9"]


@pytest.fixture
def engine(qtbot):  # type: ignore[no-untyped-def]
    from inboxready.app.engine import Engine

    e = Engine()
    yield e
    e.shutdown()


@pytest.fixture
def screen(home: Path, engine, qtbot, theme_app):  # type: ignore[no-untyped-def]
    from inboxready.app.message_screen import MessageScreen

    s = MessageScreen(engine, nameservers=_dead_dns(), dns_timeout=0.3, send_timeout=20, watch_timeout=20)
    qtbot.addWidget(s)
    s.resize(1000, 800)
    s.show()
    return s


def _unnamed_controls(root: QWidget) -> tuple[int, list[str]]:
    checked, problems = 0, []
    for w in root.findChildren(QWidget):
        if not isinstance(w, INTERACTIVE) or not w.isVisibleTo(root) or isinstance(w.parent(), INTERACTIVE):
            continue
        checked += 1
        if isinstance(w, QTabBar):
            continue  # the tab bar's name comes from its QTabWidget; its tabs have their own texts
        if not w.accessibleName().strip():
            problems.append(f"{type(w).__name__} {w.objectName()!r} has no accessible name")
        if not w.focusPolicy() & w.focusPolicy().TabFocus:
            problems.append(f"{type(w).__name__} {w.accessibleName()!r} cannot take focus")
    return checked, problems


def test_paste_mode_analyses_headers_and_shows_cards_with_the_receivers_verdict(screen, qtbot) -> None:
    screen.modes.setCurrentIndex(2)
    screen.paste_box.setPlainText(MESSAGE)
    with qtbot.waitSignal(screen.reportShown, timeout=20_000) as sig:
        assert screen.start_paste() > 0
    report = sig.args[0]
    assert report is not None and report.receiver == "mx.receiver.test"
    assert set(screen.cards) >= {"spf", "dkim", "dmarc"}
    assert screen.cards["dmarc"].status == "fail"  # the receiver's first (topmost) header, not a forged one
    assert screen.cards["spf"].status == str(report.checks["spf"].status)
    assert screen.cards["spf"].result is report.checks["spf"]
    assert "failed" in screen.summary_label.text()
    assert "mx.receiver.test" in screen.about_label.text() and "Hello" in screen.about_label.text()
    assert screen.cards["dmarc"].header.accessibleName().startswith("DMARC")
    assert not screen.cancel_button.isEnabled() and screen.analyse_button.isEnabled()
    checked, problems = 0, []
    for tab in range(screen.modes.count()):  # every mode's controls, and the cards of the result
        screen.modes.setCurrentIndex(tab)
        n, p = _unnamed_controls(screen)
        checked, problems = checked + n, problems + p
    assert checked > 25 and problems == []


DKIM_BROKE = """Received: from out.sender.test (out.sender.test [192.0.2.7]) by mx.receiver.test with ESMTPS
Authentication-Results: mx.receiver.test; dkim=fail (body hash did not verify) header.d=sender.test
 header.s=s1; spf=pass smtp.mailfrom=bounce@sender.test; dmarc=pass header.from=sender.test
From: Shop <news@sender.test>
Subject: Hello
Message-ID: <abc@sender.test>
Date: Mon, 2 Nov 2026 10:00:00 +0000
"""


def test_dmarc_pass_with_broken_dkim_is_headed_as_a_warning_and_dkim_card_has_no_selector_box(screen, qtbot) -> None:
    """Issue 12 #5: the screen's headline follows DMARC and quotes the receiver; a received message's DKIM
    card shows what the receiver wrote and the signatures, never the domain check's selector box."""
    from PySide6.QtWidgets import QLabel, QTableWidget

    screen.modes.setCurrentIndex(2)
    screen.paste_box.setPlainText(DKIM_BROKE)
    with qtbot.waitSignal(screen.reportShown, timeout=20_000) as sig:
        assert screen.start_paste() > 0
    report = sig.args[0]
    assert str(report.status) == "warn"
    headline = screen.summary_label.text()
    assert headline.startswith("DMARC passed through SPF, but the DKIM signature broke") and "failed" not in headline
    assert "body hash did not verify" in headline
    assert screen.verdict_badge.isVisible() and screen.verdict_badge.word == "Warning"
    card = screen.cards["dkim"]
    card.set_open(True)
    card.finish_body()
    qtbot.waitUntil(lambda: card.body_ready, timeout=5_000)
    assert not hasattr(card, "selector_field")
    names = [w.accessibleName() for w in card.body.findChildren(QWidget)]
    assert not any("selector" in n.lower() and "add" in n.lower() for n in names), names
    texts = " ".join(w.text() for w in card.body.findChildren(QLabel))
    assert "The receiver wrote: dkim=fail (body hash did not verify)" in texts
    assert "No DKIM key was found" not in texts
    assert card.body.findChildren(QTableWidget)  # the signatures table


def test_paste_with_nothing_pasted_starts_nothing(screen) -> None:
    assert screen.start_paste() == 0
    assert "Paste" in screen.status_label.text() and not screen.cards


def test_profile_dialog_saves_password_only_in_the_keyring(screen, qtbot, home: Path,
                                                            memory_keyring: MemoryKeyring) -> None:
    dlg = screen.open_profile_dialog("send")
    qtbot.addWidget(dlg)
    dlg.preset_box.setCurrentIndex(dlg.preset_box.findData("gmail"))
    assert dlg.host_field.text() == "smtp.gmail.com" and dlg.guidance.isVisibleTo(dlg)
    assert dlg.auth_box.currentData() == "google"  # the Gmail preset signs in with Google by default
    assert not dlg.password_field.isVisibleTo(dlg) and dlg.signin_button.isVisibleTo(dlg)
    dlg.auth_box.setCurrentIndex(dlg.auth_box.findData("password"))  # an app password still works
    assert dlg.password_field.isVisibleTo(dlg) and not dlg.signin_button.isVisibleTo(dlg)
    assert "2-Step" in dlg.guidance.text() or "app password" in dlg.guidance.text().lower()
    dlg.name_field.setText("shop")
    dlg.user_field.setText("news@shop.test")
    dlg.address_field.setText("news@shop.test")
    dlg.password_field.setText("s3cret-Pa55")
    dlg.security_box.setCurrentIndex(dlg.security_box.findData(str(Security.NONE)))
    assert dlg.insecure_note.isVisibleTo(dlg)  # a visible warning for no encryption
    dlg.security_box.setCurrentIndex(dlg.security_box.findData(str(Security.SSL)))
    assert not dlg.insecure_note.isVisibleTo(dlg)
    checked, problems = _unnamed_controls(dlg)
    assert checked >= 10 and problems == []
    dlg._save()
    assert dlg.result() == dlg.DialogCode.Accepted and dlg.saved is not None
    path = home / "config" / "profiles.json"
    text = path.read_text()
    assert "s3cret-Pa55" not in text
    assert json.loads(text)["send"][0]["host"] == "smtp.gmail.com"
    assert get_password("send:shop").reveal() == "s3cret-Pa55"  # type: ignore[union-attr]
    assert ("inboxready", "send:shop") in memory_keyring.store or "s3cret-Pa55" in memory_keyring.store.values()
    screen.reload_profiles()
    assert screen.send_box.currentText() == "shop"


def test_profile_dialog_says_plainly_when_there_is_no_keyring(screen, qtbot, home: Path, no_keyring) -> None:
    dlg = screen.open_profile_dialog("read")
    qtbot.addWidget(dlg)
    dlg.name_field.setText("inbox")
    dlg.host_field.setText("imap.example.test")
    dlg.password_field.setText("pw")
    dlg._save()
    assert dlg.saved is None and dlg.error.isVisibleTo(dlg)
    assert "keyring" in dlg.error.text().lower()
    assert not (home / "config" / "profiles.json").exists()


def test_profile_dialog_test_connection_reports_the_servers_answer(screen, qtbot, home: Path,
                                                                  memory_keyring: MemoryKeyring) -> None:
    dlg = screen.open_profile_dialog("read")
    qtbot.addWidget(dlg)
    dlg.name_field.setText("nobody")
    dlg.host_field.setText("127.0.0.1")
    dlg.port_field.setValue(9)  # nothing listens there
    dlg.password_field.setText("pw")
    dlg.test_connection()
    qtbot.waitUntil(lambda: dlg.last_connection is not None, timeout=20_000)
    assert dlg.last_connection.ok is False
    assert dlg.test_result.text() == "✘ " + dlg.last_connection.message
    assert dlg.test_button.isEnabled()


def test_main_window_opens_the_screen_with_its_button(make_window, qtbot) -> None:
    w = make_window()
    assert w.message_button.accessibleName()
    w.message_button.click()
    assert w.message_window is not None and w.message_window.isVisible()
    assert w.message_window.screen_widget.engine is w.engine


def _store_profiles(world: Any, store: ProfileStore) -> None:
    store.put(SendProfile(name="shop", host="localhost", port=world.smtp.port, security=Security.STARTTLS,
                          username=SENDER, from_addr=SENDER, ca_file=str(world.ca.ca_file)), world.smtp.password)
    store.put(ReadProfile(name="inbox", host="127.0.0.1", port=world.dovecot.imaps_port, security=Security.SSL,
                          username=MAILBOX, address=MAILBOX, ca_file=str(world.ca.ca_file),
                          authserv_ids=["inbox.test"]), world.dovecot.password)


def test_send_mode_round_trip_against_the_loopback_servers(home: Path, engine, qtbot, theme_app, world: Any,
                                                           memory_keyring: MemoryKeyring) -> None:
    from inboxready.app.message_screen import MessageScreen

    store = ProfileStore()
    _store_profiles(world, store)
    s = MessageScreen(engine, store=store, nameservers=[world.dns_address], dns_timeout=1.0, send_timeout=20)
    qtbot.addWidget(s)
    s.show()
    assert s.send_box.currentText() == "shop" and s.read_box.currentText() == "inbox"
    assert s.send_button.isEnabled()
    with qtbot.waitSignal(s.finishedRun, timeout=40_000) as sig:
        s.start_send()
        assert s.cancel_button.isEnabled() and not s.send_button.isEnabled()
    result = sig.args[0]
    assert result is not None and result.status == "verified", result.summary
    lines = [s.progress.item(i).text() for i in range(s.progress.count())]
    assert any("…" in x for x in lines) and len(lines) >= 3
    assert "arrived in" in s.summary_label.text()
    assert s.cards["spf"].status == "pass" and s.cards["dmarc"].status in ("pass", "warn")
    text = (home / "config" / "profiles.json").read_text()
    assert world.smtp.password not in text and world.dovecot.password not in text


def test_cancel_stops_a_watch_cleanly(home: Path, engine, qtbot, theme_app, world: Any,
                                      memory_keyring: MemoryKeyring) -> None:
    from inboxready.app.message_screen import MessageScreen

    store = ProfileStore()
    _store_profiles(world, store)
    s = MessageScreen(engine, store=store, nameservers=[world.dns_address], dns_timeout=1.0, watch_timeout=60)
    qtbot.addWidget(s)
    s.show()
    s.modes.setCurrentIndex(1)
    assert s.seed_field.text() == MAILBOX and s.token_field.text() == s.token
    job = s.start_watch()
    qtbot.waitUntil(lambda: s.progress.count() >= 1, timeout=20_000)  # connecting / waiting lines arrive live
    with qtbot.waitSignal(s.finishedRun, timeout=20_000) as sig:
        s.cancel_button.click()
    assert sig.args[0] is None and "Cancelled" in s.status_label.text()
    assert not engine.task_running(job) and s.watch_button.isEnabled() and not s.cancel_button.isEnabled()


# -- the received message's cards read the typed shapes (core/mail/details.py) ------------------------------

AR_HEADER = ("Authentication-Results: mx.receiver.test; dkim=fail (body hash did not verify) header.d=shop.test; "
             "spf=pass smtp.mailfrom=shop.test; dmarc=pass header.from=shop.test")
_SIGNED_ROW = {"index": 0, "d": "shop.test", "s": "s1", "a": "rsa-sha256", "i": "", "c": "relaxed/relaxed",
               "l": None, "h": ["from", "subject"], "t": None, "x": None, "b": "abcdefabcdef", "result": "fail",
               "receiver_result": "fail", "receiver_comment": "body hash did not verify", "aligned": True,
               "our_result": "fail", "our_reason": "body-changed", "our_explanation": "The body changed.",
               "our_detail": "", "body_hash_ok": False, "key_bits": 2048, "suspects": [], "agree": True}
_REPORTED_ONLY_ROW = {"index": None, "d": "esp.test", "s": None, "a": None, "result": "pass",
                      "receiver_result": "pass", "receiver_comment": None, "aligned": False, "our_result": None,
                      "our_reason": None, "our_explanation": "The receiver reported this signature but we don't "
                      "see it in the message.", "agree": None}
_UNCHECKED_ROW = {**_REPORTED_ONLY_ROW, "d": None, "receiver_result": None, "result": None, "aligned": None,
                  "our_explanation": None}


def _full_report() -> Any:
    """A report with every part the message cards can show (the shapes' optional keys all there)."""
    from inboxready.core.mail.message import MessageReport
    from inboxready.core.model import CheckResult, Status

    base = {"result": "pass", "authserv_id": "mx.receiver.test", "header": AR_HEADER, "comment": None,
            "reason": None, "properties": {"smtp.mailfrom": "shop.test"}}
    spf = {**base, "source": "Authentication-Results", "from_domain": "shop.test", "mailfrom": "bounce@shop.test",
           "mailfrom_domain": "shop.test", "helo": None, "client_ip": "192.0.2.7", "aligned": True,
           "alignment_mode": "relaxed", "alignment": "SPF is for shop.test, your From domain.",
           "org_domain_method": "simple-rule", "received_spf": None, "receiver_said": "spf=pass"}
    dkim = {**base, "result": "fail", "results": ["fail", "pass"],
            "signatures": [_SIGNED_ROW, _REPORTED_ONLY_ROW, _UNCHECKED_ROW],
            "receiver_said": "dkim=fail (body hash did not verify)", "from_domain": "shop.test", "aligned_pass": False,
            "alignment_mode": "relaxed", "alignment": "DKIM is signed by shop.test.", "reverified": True,
            "org_domain_method": "simple-rule"}
    dmarc = {**base, "from_domain": "shop.test", "from_addresses": ["news@shop.test"], "header_from": "shop.test",
             "policy": "reject", "subdomain_policy": None, "disposition": None,
             "spf": {"domain": "shop.test", "result": "pass", "aligned": True},
             "dkim": [{"d": "shop.test", "result": "fail", "aligned": True}],
             "alignment": "Aligned through SPF.", "our_result": "pass",
             "ours": {"result": "pass", "aligned_by": ["spf"], "dkim_source": "ours", "policy": "reject",
                      "record": "v=DMARC1; p=reject", "record_domain": "shop.test", "looked_up": True},
             "receiver_said": "dmarc=pass", "alignment_modes": {"spf": "r", "dkim": "r"},
             "org_domains": {"shop.test": "shop.test"}, "org_domain_method": "simple-rule"}
    checks = {"spf": CheckResult("spf", Status.PASS, "SPF passed.", detail=spf),
              "dkim": CheckResult("dkim", Status.FAIL, "DKIM failed.", detail=dkim),
              "dmarc": CheckResult("dmarc", Status.PASS, "DMARC passed.", detail=dmarc)}
    return MessageReport(checks, "Shop <news@shop.test>", "shop.test", "Hello", "<1@shop.test>", "mx.receiver.test")


def _sparse_report() -> Any:
    """The same message's cards with every optional part missing: no receiver words, no alignment, no
    signatures (what a card has when nothing from the receiver could be believed), one card with no header."""
    from inboxready.core.mail.message import MessageReport
    from inboxready.core.model import CheckResult, Status

    checks = {"spf": CheckResult("spf", Status.ERROR, "No verdict.", detail={
                  "result": None, "authserv_id": None, "header": AR_HEADER}),
              "dkim": CheckResult("dkim", Status.ERROR, "No verdict.", detail={
                  "result": None, "authserv_id": None, "header": None, "receiver_said": None,
                  "alignment": "", "signatures": []}),
              "dmarc": CheckResult("dmarc", Status.ERROR, "No verdict.", detail={
                  "result": None, "authserv_id": None, "header": None})}
    return MessageReport(checks, "", "", "", "", None)


def _card_texts(card: Any, qtbot: Any) -> list[str]:
    """Every text the card's own sections (the message screen's, not the card's findings) show, in order:
    labels, code fields, table cells (row by row)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QLabel, QTableWidget

    from inboxready.app.widgets import CodeText

    card.set_open(True)
    card.finish_body()
    qtbot.waitUntil(lambda: card.body_ready, timeout=5_000)
    sections = [w for w in card.body.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
                if type(w) is QWidget]  # a section's box (cards/common.py ``_section``)
    out: list[str] = []
    for w in [x for box in sections for x in box.findChildren(QWidget)]:
        if isinstance(w, QLabel) and w.text():
            out.append(w.text())
        elif isinstance(w, CodeText):
            out.append(f"code[{w.accessibleName()}]: {w.toPlainText()}")
        elif isinstance(w, QTableWidget):
            out.append("table: " + " | ".join(w.horizontalHeaderItem(c).text() for c in range(w.columnCount())))
            out += ["row: " + " | ".join(w.item(r, c).text() for c in range(w.columnCount()))
                    for r in range(w.rowCount())]
    return out


def _show(screen: Any, report: Any) -> None:
    from inboxready.core.worker.values import to_wire

    screen.job = 77  # as the worker's answer arrives: wire value, rebuilt and dispatched by its type
    screen._on_finished(77, to_wire(report))
    assert screen.last_report is not None and set(screen.cards) == {"spf", "dkim", "dmarc"}


def test_message_cards_show_every_part_of_a_full_report(screen, qtbot) -> None:
    from tests.detailshape import assert_message_shapes

    report = _full_report()
    assert_message_shapes(report)  # the fixture is of the typed shapes the screen reads
    _show(screen, report)
    said = "What the receiving service wrote"
    assert _card_texts(screen.cards["spf"], qtbot) == [
        said, "The receiver wrote: spf=pass", "SPF is for shop.test, your From domain.",
        f"code[SPF header as the receiver wrote it]: {AR_HEADER}"]
    assert _card_texts(screen.cards["dkim"], qtbot) == [
        said, "The receiver wrote: dkim=fail (body hash did not verify)", "DKIM is signed by shop.test.",
        f"code[DKIM header as the receiver wrote it]: {AR_HEADER}",
        "Signatures in this message",
        "table: Signed by | Selector | The receiver said | Our own check | Matches From",
        "row: shop.test | s1 | fail (body hash did not verify) | fail (body-changed) | yes",
        "row: esp.test |  | pass | not re-checked | no",
        "row:  |  | not reported | not re-checked | "]
    assert _card_texts(screen.cards["dmarc"], qtbot) == [
        said, "The receiver wrote: dmarc=pass", "Aligned through SPF.",
        f"code[DMARC header as the receiver wrote it]: {AR_HEADER}"]
    assert "Judged by: mx.receiver.test" in screen.about_label.text()


def test_message_cards_with_optional_parts_missing_show_what_there_is(screen, qtbot) -> None:
    from tests.detailshape import assert_message_shapes

    report = _sparse_report()
    assert_message_shapes(report)
    _show(screen, report)
    assert _card_texts(screen.cards["spf"], qtbot) == [
        "What the receiving service wrote", f"code[SPF header as the receiver wrote it]: {AR_HEADER}"]
    assert _card_texts(screen.cards["dkim"], qtbot) == []  # nothing the receiver wrote, no signatures
    assert _card_texts(screen.cards["dmarc"], qtbot) == []
    assert "Judged by: nobody we can trust" in screen.about_label.text()


def test_an_answer_of_an_unknown_kind_is_said_plainly(screen) -> None:
    screen.job = 78
    screen._on_finished(78, {"what": "not a result"})
    assert screen.status_label.text().startswith("The test stopped on an internal error")
    assert not screen.cards


def test_a_refusal_of_the_busy_engine_is_said_as_it_is_in_the_screen_and_the_profile_dialog(
        screen, engine, qtbot, home: Path, memory_keyring: MemoryKeyring) -> None:  # noqa: F811
    """The worker has as much as it takes (8 running, 64 waiting), so it refuses the screen's analysis and the
    profile dialog's connection test (as it refuses a second watch of the same mailbox). Before: both said
    'The test stopped on an internal error: InboxReady's engine is busy…', as if InboxReady were broken. Now
    they say the refusal as it is, and the buttons are usable again."""
    from inboxready.core.worker.server import MAX_RUNNING, MAX_WAITING

    fillers = [engine.run("sleep", seconds=300) for _ in range(MAX_RUNNING + MAX_WAITING)]
    screen.modes.setCurrentIndex(2)
    screen.paste_box.setPlainText(MESSAGE)
    with qtbot.waitSignal(engine.taskFailed, timeout=20_000,
                          check_params_cb=lambda job, message: job == screen.job) as refused:
        screen.start_paste()
    assert "engine is busy" in refused.args[1]
    text = screen.status_label.text()
    assert "engine is busy" in text and "internal" not in text.lower(), text

    dlg = screen.open_profile_dialog("read")
    qtbot.addWidget(dlg)
    dlg.name_field.setText("nobody")
    dlg.host_field.setText("127.0.0.1")
    dlg.port_field.setValue(9)
    dlg.password_field.setText("pw")
    taken = {*fillers, screen.job}  # (the dialog forgets its job number as it hears the refusal)
    with qtbot.waitSignal(engine.taskFailed, timeout=20_000, check_params_cb=lambda job, message: job not in taken):
        dlg.test_connection()
    text = dlg.test_result.text()
    assert "engine is busy" in text and "internal" not in text.lower(), text
    assert dlg.test_button.isEnabled()
    for filler in fillers:
        engine.cancel_task(filler)
