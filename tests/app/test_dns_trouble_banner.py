"""The window when DNS itself did not answer (issue 14.7): one banner naming the DNS server with the way
to Settings, instead of ten grey "couldn't check" cards; the domain's own servers told apart."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialog

from inboxready.app import main_window
from inboxready.core.dns.server import DnsTestServer

from .conftest import add_good_zone

WAIT_MS = 20_000


def dead_address() -> str:
    srv = DnsTestServer()
    srv.start()
    address = srv.address
    srv.stop()
    return address


def test_a_dns_server_that_does_not_answer_is_one_banner_with_the_way_to_settings(
        make_window, qtbot, dns_server, monkeypatch: pytest.MonkeyPatch) -> None:
    ns = dead_address()
    w = make_window(nameserver=ns, timeout=0.5, deadline=10.0)
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS) as blocker:
        w.check_domain("example.test")
    report = blocker.args[0]
    assert report.dns_trouble is not None and report.dns_trouble.kind == "resolver"
    banner = w.dns_trouble
    assert banner.isVisible()
    assert banner.title.text() == "Your DNS server doesn't answer"
    assert ns in banner.text.text() and "Settings" in banner.text.text()
    assert banner.settings_button.isVisible() and banner.retry_button.isVisible()
    # no grey card per check, no readiness bar, no checklist judged from nothing
    assert all(c.status == "error" and not c.isVisible() for c in w.cards.values())
    assert not w.readiness.isVisible() and "checklist" not in w.cards
    assert banner.accessibleName() == "Your DNS server doesn't answer"

    opened: list[object] = []
    monkeypatch.setattr(main_window.SettingsDialog, "exec",
                        lambda self: (opened.append(self), QDialog.DialogCode.Rejected)[1])
    banner.settings_button.click()
    assert len(opened) == 1 and opened[0].field.text() == ns  # the setting to change, filled in

    # the user picks a DNS server that works and checks again from the banner
    add_good_zone(dns_server, "example.test")
    w.settings.nameserver = dns_server.address
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS) as blocker:
        banner.retry_button.click()
    assert blocker.args[0].dns_trouble is None
    assert not banner.isVisible()
    qtbot.waitUntil(lambda: all(c.isVisible() for c in w.cards.values()), timeout=2000)
    assert w.cards["dmarc"].status == "pass"


def test_when_only_the_domains_servers_fail_the_banner_says_so_above_the_cards(make_window, qtbot,
                                                                                 dns_server) -> None:
    add_good_zone(dns_server, "broken.test")
    dns_server.servfail_names.add(".broken.test")
    w = make_window(nameserver=dns_server.address, timeout=0.5)
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain("broken.test")
    banner = w.dns_trouble
    assert banner.isVisible()
    assert banner.title.text() == "This domain's DNS servers don't answer"
    assert "not a problem with your computer" in banner.text.text()
    assert not banner.settings_button.isVisible() and banner.retry_button.isVisible()
    # each card still says what it could not check (new cards show on the next turn of the event loop)
    qtbot.waitUntil(lambda: all(c.isVisible() for c in w.cards.values()), timeout=2000)


@pytest.mark.parametrize(("reason", "servers", "title"), [
    ("nxdomain", ("10.255.255.53",), "Your DNS server says no domain exists"),
    ("nxdomain", ("10.0.0.1", "10.0.0.2"), "Your DNS servers say no domain exists"),
    ("referral", ("10.0.0.1",), "Your DNS server does not look up other domains"),
    ("refused", ("10.0.0.1",), "Your DNS server refuses to answer"),
    ("timeout", ("10.0.0.1",), "Your DNS server doesn't answer"),
    ("unreachable", ("10.0.0.1", "10.0.0.2"), "Your DNS servers don't answer"),
])
def test_the_banner_title_says_what_the_dns_server_did(qtbot, reason: str, servers: tuple[str, ...],
                                                       title: str) -> None:
    """A server that answers 'no such name' for everything (a filter, a captive portal) does answer: its
    banner never says it doesn't (it did, above the message 'it says even the root of DNS doesn't exist')."""
    from inboxready.app.cards import DnsTroubleBanner
    from inboxready.core.model import DnsTrouble

    banner = DnsTroubleBanner()
    qtbot.addWidget(banner)
    banner.show_trouble(DnsTrouble("resolver", servers, reason, "What happened.", "Choose another DNS server."))
    assert banner.title.text() == title and banner.accessibleName() == title
