"""The "Paste a bounce" way into Test a message (pytest-qt, offscreen): paste or drop a bounce, see why it
bounced, the receiver's words, and the cards with the records that fix it."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from inboxready.core.dns.server import DnsTestServer
from tests.bounce.dsnmaker import IP, google_dsn, postfix_dsn
from tests.bounce.test_act import GMAIL, UNAUTH, serve

from .test_message_screen import _unnamed_controls


@pytest.fixture
def engine(qtbot):  # type: ignore[no-untyped-def]
    from inboxready.app.engine import Engine

    e = Engine()
    yield e
    e.shutdown()


@pytest.fixture
def screen(home: Path, engine, qtbot, theme_app, dns_server: DnsTestServer):  # type: ignore[no-untyped-def]
    from inboxready.app.message_screen import MessageScreen

    serve(dns_server)
    s = MessageScreen(engine, nameservers=[dns_server.address], dns_timeout=1.5)
    qtbot.addWidget(s)
    s.resize(1000, 900)
    s.show()
    s.modes.setCurrentWidget(s.bounce_page)
    return s


def _drop(widget, path: Path) -> None:  # type: ignore[no-untyped-def]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(event)


def test_a_dropped_bounce_is_explained_with_the_cards_that_fix_it(screen, qtbot, tmp_path: Path) -> None:
    from inboxready.app.bounce_view import BounceSummary

    f = tmp_path / "bounce.eml"
    f.write_bytes(postfix_dsn(UNAUTH.format(ip=IP), recipient=GMAIL[0], remote_mta=GMAIL[1]))
    _drop(screen.bounce_page.box, f)
    assert screen.bounce_page.loaded == f.read_bytes() and screen.bounce_page.box.isReadOnly()
    assert "bounce.eml" in screen.bounce_page.file_note.text()
    with qtbot.waitSignal(screen.bounceShown, timeout=30_000) as sig:
        assert screen.start_bounce() > 0
    report = sig.args[0]
    assert report.status == "5.7.26" and screen.last_bounce is report
    assert screen.summary_label.text().startswith("Permanent failure (550 5.7.26) from Gmail")
    assert screen.verdict_badge.word == "Something to fix"
    assert list(screen.cards) == ["spf", "dkim", "dmarc", "rdns"]
    summary = next(w for w in screen.finding_views if isinstance(w, BounceSummary))
    assert summary.words.toPlainText().startswith("This mail has been blocked because the sender is unauthenticated")
    assert "Gmail refused the message" in summary.explanation.text()
    spf = screen.cards["spf"]
    assert spf.result is not None and any(f.fix is not None and f.fix.value == "v=spf1 mx ip4:192.0.2.55 -all"
                                          for f in spf.result.findings)
    checked, problems = _unnamed_controls(screen)
    assert checked and not problems
    screen.bounce_page.clear()
    assert screen.bounce_page.loaded is None and not screen.bounce_page.box.isReadOnly()


def test_a_pasted_mailbox_bounce_says_no_dns_record_fixes_it(screen, qtbot) -> None:
    raw = google_dsn("550 5.1.1 <dave@receiver.example>: Recipient address rejected: User unknown",
                     recipient="dave@receiver.example")
    screen.bounce_page.box.setPlainText(raw.decode())
    with qtbot.waitSignal(screen.bounceShown, timeout=30_000) as sig:
        screen.start_bounce()
    assert sig.args[0].classification.category == "mailbox"
    assert screen.cards == {} and screen.verdict_badge.word == "No DNS fix"
    assert "No DNS record fixes this" in screen.finding_views[0].explanation.text()  # type: ignore[attr-defined]


def test_pasted_error_text_with_the_domain_typed(screen, qtbot) -> None:
    screen.bounce_page.box.setPlainText("550-5.7.26 This mail has been blocked because the sender is\n550-5.7.26 "
                                        "unauthenticated. Gmail requires all senders to authenticate with\n"
                                        "550 5.7.26 either SPF or DKIM. - gsmtp")
    screen.bounce_page.domain_field.setText("shop.example")
    with qtbot.waitSignal(screen.bounceShown, timeout=30_000) as sig:
        screen.start_bounce()
    assert sig.args[0].from_domain == "shop.example"
    assert set(screen.cards) == {"spf", "dkim", "dmarc"}
    from inboxready.app.bounce_view import BounceSummary

    summary = next(w for w in screen.finding_views if isinstance(w, BounceSummary))
    texts = [lbl.text() for lbl in summary.facts.findChildren(type(screen.summary_label))]
    assert "you gave it" in texts and not any("from you gave it" in t for t in texts), texts  # review: in words


def test_nothing_pasted_and_a_file_too_big(screen, tmp_path: Path) -> None:
    assert screen.start_bounce() == 0 and "first" in screen.status_label.text()
    big = tmp_path / "big.eml"
    with open(big, "wb") as fh:
        fh.truncate(26 * 1024 * 1024)
    assert not screen.bounce_page.load_file(str(big))
    assert "larger than" in screen.bounce_page.file_note.text() and screen.bounce_page.loaded is None


def test_hostile_text_in_a_bounce_is_shown_escaped(screen, qtbot) -> None:
    from inboxready.app.bounce_view import BounceSummary
    from tests.bounce.dsnmaker import returned_headers

    evil = "\x1b[2J\u202eevil"
    raw = postfix_dsn(f"550 5.1.1 <dave@receiver.example>: {evil} User unknown", recipient=f"dave{evil}@receiver.example",
                      remote_mta="mx.receiver.example",
                      headers=returned_headers().replace("Subject: Spring sale", f"Subject: {evil}"))
    screen.bounce_page.box.setPlainText(raw.decode())
    with qtbot.waitSignal(screen.bounceShown, timeout=30_000):
        screen.start_bounce()
    summary = next(w for w in screen.finding_views if isinstance(w, BounceSummary))
    texts = [summary.words.toPlainText(), screen.summary_label.text(),
             *(lbl.text() for lbl in summary.facts.findChildren(type(screen.summary_label)))]
    assert any("\\x1b[2J" in t for t in texts)
    assert not any("\x1b" in t or "\u202e" in t for t in texts)


def test_a_file_dropped_anywhere_on_the_tab(screen, tmp_path: Path) -> None:
    f = tmp_path / "b.eml"
    f.write_bytes(b"550 5.1.1 user unknown\n")
    _drop(screen.bounce_page, f)
    assert screen.bounce_page.loaded == f.read_bytes()
