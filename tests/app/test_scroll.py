"""After choosing another domain, its cards are shown from the top (not at the last domain's scroll
position), and the first failing card is brought into view when the check is done."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect

from inboxready.core.dns.server import DnsTestServer

from .conftest import GOOD_ZONE, add_good_zone

WAIT_MS = 20000


def _in_view(w, widget) -> bool:  # type: ignore[no-untyped-def]
    viewport = w.cards_scroll.viewport()
    top_left = widget.mapTo(viewport, QPoint(0, 0))
    return viewport.rect().intersects(QRect(top_left, widget.size())) and top_left.y() >= 0


def test_another_domain_starts_at_the_top_and_shows_its_first_failure(make_window, qtbot,
                                                                       dns_server: DnsTestServer) -> None:  # type: ignore[no-untyped-def]
    add_good_zone(dns_server, "good.example")
    dns_server.add_zone("bad.example", GOOD_ZONE.replace("{origin}", "bad.example").replace(
        '_dmarc   IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@bad.example"', ""))
    w = make_window(nameserver=dns_server.address)
    w.resize(900, 600)
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain("good.example")
    for card in w.cards.values():
        card.set_open(True)  # a long page
    bar = w.cards_scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=WAIT_MS)
    bar.setValue(bar.maximum())  # the user read down to the end
    assert bar.value() > 0

    with qtbot.waitSignal(w.checkStarted, timeout=WAIT_MS):
        w.check_domain("bad.example")
    assert bar.value() == 0  # the new domain's cards from the top
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        pass
    qtbot.waitUntil(lambda: _in_view(w, w.cards["dmarc"].header), timeout=5000)
    assert w.cards["dmarc"].result.status == "fail"

    # checking the same domain again keeps the place the user scrolled to
    bar.setValue(min(bar.maximum(), 40))
    kept = bar.value()
    assert kept > 0, "the page is long enough to scroll"
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.recheck()
    assert bar.value() == kept
