"""Review fixes, part 1, in the app: a DMARC lookup that timed out is drawn as "couldn't check", never as
"No DMARC (you are here)", and the DMARC builder offers no ladder over a record it couldn't read."""

from __future__ import annotations

from inboxready.core.dns.server import DnsTestServer

from ..conftest import make_ctx, run
from ..helpers.zones import MAIL_BASE

ZONE = MAIL_BASE + """_dmarc   IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"
"""


def _stage_labels(card):  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QLabel

    return [w.text() for w in card.findChildren(QLabel) if w.objectName() == "Stage"]


def _dmarc_card(qtbot, dns_server: DnsTestServer):  # type: ignore[no-untyped-def]
    from inboxready.app.cards import CheckCard
    from inboxready.core.checks import dmarc

    result = run(dmarc.check(make_ctx(dns_server, "example.com", timeout=0.5)))
    card = CheckCard("dmarc")
    qtbot.addWidget(card)
    card.resize(800, 600)
    card.show()
    card.set_result(result)
    card.set_open(True)
    qtbot.waitUntil(lambda: card.body_ready, timeout=5000)
    return card, result


def test_a_dmarc_timeout_marks_no_stage(qtbot, theme_app, dns_server: DnsTestServer) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QLabel

    dns_server.add_zone("example.com", ZONE)
    dns_server.timeout_names.add("_dmarc.example.com")
    card, result = _dmarc_card(qtbot, dns_server)
    assert result.detail["stage"] == "unknown" and card.status == "error"
    labels = _stage_labels(card)
    assert labels and not any("you are here" in t for t in labels)
    texts = " ".join(w.text() for w in card.findChildren(QLabel))
    assert "don't know which stage" in texts


def test_a_dmarc_record_found_marks_its_stage(qtbot, theme_app, dns_server: DnsTestServer) -> None:  # type: ignore[no-untyped-def]
    dns_server.add_zone("example.com", ZONE)
    card, _ = _dmarc_card(qtbot, dns_server)
    assert [t for t in _stage_labels(card) if "you are here" in t] == ["● Reject (you are here)"]


def test_the_dmarc_builder_offers_no_ladder_over_a_record_it_couldnt_read(home, qtbot, theme_app,  # type: ignore[no-untyped-def]
                                                                          dns_server: DnsTestServer) -> None:
    from inboxready.app.builders_window import BuildersWindow
    from inboxready.app.engine import Engine

    dns_server.add_zone("example.com", ZONE)
    dns_server.timeout_names.add("_dmarc.example.com")
    engine = Engine()
    try:
        w = BuildersWindow(engine, nameservers=[dns_server.address], timeout=0.5, domain="example.com")
        qtbot.addWidget(w)
        w.show()
        w.tabs.setCurrentIndex(1)
        with qtbot.waitSignal(w.ladderShown, timeout=10_000) as sig:
            w.ladder_button.click()
        assert sig.args[0] == [] and w.steps == []
        assert "couldn't read your current DMARC record" in w.dmarc_status.text()
        w.close()
    finally:
        engine.shutdown()
