"""A disabled button looks disabled (primary ones too: they kept their accent colour), and says why it is
disabled in its tooltip; its usual tooltip comes back when it is enabled again."""

from __future__ import annotations

from PySide6.QtGui import QColor

from inboxready.core.dns.server import DnsTestServer

from .conftest import add_good_zone

WAIT_MS = 20000


def _fill(button) -> QColor:  # type: ignore[no-untyped-def]
    """The button's background colour (a pixel between its border and its text)."""
    image = button.grab().toImage()
    return image.pixelColor(4, image.height() // 2)


def _far(a: QColor, b: QColor) -> bool:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue()) > 60


def test_a_disabled_primary_button_looks_disabled(theme_app, qtbot) -> None:  # type: ignore[no-untyped-def]
    from inboxready.app import theme
    from inboxready.app.widgets import KeyButton

    before = theme_app.scheme
    try:
        for scheme in ("light", "dark"):
            theme_app.apply(scheme)
            accent = QColor(theme.palette(scheme)["accent"])
            on, off = KeyButton("Send"), KeyButton("Send")
            for b in (on, off):
                b.setObjectName("Primary")
                b.resize(120, 34)
                qtbot.addWidget(b)
                b.show()
            off.setEnabled(False)
            assert not _far(_fill(on), accent), scheme  # enabled: the accent colour
            assert _far(_fill(off), accent) and _far(_fill(off), _fill(on)), scheme  # disabled: visibly not
    finally:
        theme_app.apply(before)


def test_disabled_buttons_say_why(make_window, qtbot, dns_server: DnsTestServer) -> None:  # type: ignore[no-untyped-def]
    add_good_zone(dns_server, "why.example")
    w = make_window(nameserver=dns_server.address)
    assert not w.export_button.isEnabled() and "Not available: check a domain first." in w.export_button.toolTip()
    assert "Not available: nothing is being checked." in w.cancel_button.toolTip()
    usual = "Save this check as an audit-ready PDF or HTML report (Ctrl+E)"
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain("why.example")
        assert w.cancel_button.isEnabled() and w.cancel_button.toolTip() == "Stop this check (Esc)"
        assert "wait until the check is done" in w.export_button.toolTip()
    assert w.export_button.isEnabled() and w.export_button.toolTip() == usual

    screen = w.open_message_screen().screen_widget  # no mail profiles yet
    assert not screen.send_button.isEnabled()
    assert "Not available: add a sending profile (your mail server) first." in screen.send_button.toolTip()
    assert not screen.watch_button.isEnabled() and "add a reading profile" in screen.watch_button.toolTip()
    assert screen.analyse_button.isEnabled() and "Not available" not in screen.analyse_button.toolTip()

    builders = w.open_builders()
    assert not builders.save_button.isEnabled()
    assert "Not available: generate a key first." in builders.save_button.toolTip()
    reports = w.open_reports()
    assert not reports.watch_start.isEnabled() and "add a reading profile" in reports.watch_start.toolTip()
