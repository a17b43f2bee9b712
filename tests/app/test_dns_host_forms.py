"""Every fix box in the DNS host's own words ("At Cloudflare: Name _dmarc, Content …, TTL Auto"), the generic
record one click away; the main window finds the host when a check starts and the exported report shows it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Iterator

import pytest

from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import Fix

WAIT_MS = 30000
CF_ZONE = """
$TTL 300
@        IN SOA ada.ns.cloudflare.com. dns.cloudflare.com. 1 7200 3600 1209600 300
@        IN NS  ada.ns.cloudflare.com.
@        IN NS  bob.ns.cloudflare.com.
@        IN MX  10 mail
mail     IN A   192.0.2.10
@        IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
"""


@pytest.fixture
def hooks() -> Iterator[object]:
    from inboxready.app.dns_host_forms import directory, host_form_hook
    from inboxready.app.widgets import FixView

    d = directory()
    d.clear()
    FixView.host_form_hook = host_form_hook
    try:
        yield d
    finally:
        FixView.host_form_hook = None
        d.clear()
        d.servers = d.nameservers = None


def _detect(server: DnsTestServer, domain: str) -> object:
    from inboxready.app.dns_host_forms import inspection_from_json
    from inboxready.core.worker.handlers import find_host

    return inspection_from_json(domain, asyncio.run(find_host(domain, [server.address], None, timeout=1.0)))


def test_fix_box_shows_the_record_in_the_hosts_form(qtbot, hooks, dns_server: DnsTestServer) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QApplication, QLineEdit

    from inboxready.app.dns_host_forms import HostFormPanel
    from inboxready.app.widgets import FixView

    dns_server.add_zone("cf-shop.test", CF_ZONE)
    value = "v=DMARC1; p=none; rua=mailto:dmarc@cf-shop.test"
    hooks.looking_up("cf-shop.test")
    box = FixView(Fix("_dmarc.cf-shop.test", "TXT", value))
    qtbot.addWidget(box)
    box.show()
    panel = box.findChild(HostFormPanel)
    assert panel is not None
    texts = lambda: " ".join(w.text() for w in panel.findChildren(QLineEdit)) + " " + " ".join(  # noqa: E731
        lab.text() for lab in panel.findChildren(__import__("PySide6.QtWidgets").QtWidgets.QLabel))
    assert "Finding out who hosts" in texts() and box.generic.isVisible()  # generic until the host is known

    hooks.set_inspection("cf-shop.test", _detect(dns_server, "cf-shop.test"))
    qtbot.waitUntil(lambda: "At Cloudflare" in texts(), timeout=5000)
    fields = {f.accessibleName().split(" at ")[0]: f.text() for f in panel.findChildren(QLineEdit) if f.isVisible()}
    assert fields == {"Type": "TXT", "Name": "_dmarc", "Content": value, "TTL": "Auto"}
    assert "Paste the value without quotes." in texts() and "cf-shop.test.cf-shop.test" in texts()
    assert not box.generic.isVisible()  # one click away
    copy = [b for b in panel.copy_buttons if "content" in b.accessibleName().lower()][0]
    copy.click()
    assert QApplication.clipboard().text() == value  # exactly what the form wants, nothing added
    panel.toggle.click()
    assert box.generic.isVisible() and box.host_field.text() == "_dmarc.cf-shop.test"
    assert panel.toggle.text() == "Hide the generic record"
    panel.toggle.click()
    assert not box.generic.isVisible()
    if __import__("os").environ.get("IR_SHOT"):
        box.grab().save(__import__("os").environ["IR_SHOT"])


def test_unknown_host_keeps_the_generic_record(qtbot, hooks, dns_server: DnsTestServer) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QLabel

    from inboxready.app.dns_host_forms import HostFormPanel
    from inboxready.app.widgets import FixView

    dns_server.add_zone("own.test", CF_ZONE.replace("ada.ns.cloudflare.com.", "ns1.own.test.")
                        .replace("bob.ns.cloudflare.com.", "ns2.own.test."))
    hooks.set_inspection("own.test", _detect(dns_server, "own.test"))
    box = FixView(Fix("_dmarc.own.test", "TXT", "v=DMARC1; p=none"))
    qtbot.addWidget(box)
    box.show()
    panel = box.findChild(HostFormPanel)
    text = " ".join(lab.text() for lab in panel.findChildren(QLabel))
    assert "not one InboxReady knows" in text and "'_dmarc'" in text
    assert box.generic.isVisible() and not panel.toggle.isVisible()


def test_main_window_finds_the_host_and_the_report_shows_it(make_window, qtbot, hooks, dns_server,  # type: ignore[no-untyped-def]
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from inboxready.app import export
    from inboxready.app.dns_host_forms import HostFormPanel
    from inboxready.core.policy.audit import verify

    dns_server.add_origin("test")
    dns_server.add_zone("cfmain.test", CF_ZONE)
    w = make_window(nameserver=dns_server.address)
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain("cfmain.test")
    qtbot.waitUntil(lambda: hooks.state("cfmain.test") == "known", timeout=WAIT_MS)
    card = w.cards["dmarc"]
    card.set_open(True)

    def cloudflare_panels() -> list[HostFormPanel]:
        return [p for p in card.findChildren(HostFormPanel) if p.host_id.endswith(":cloudflare")]
    qtbot.waitUntil(lambda: bool(cloudflare_panels()), timeout=WAIT_MS)
    if __import__("os").environ.get("IR_SHOT_WINDOW"):
        w.resize(1100, 1000)
        card.ensurePolished()
        qtbot.wait(300)
        w.grab().save(__import__("os").environ["IR_SHOT_WINDOW"])
    target = tmp_path / "report.html"
    monkeypatch.setattr(export, "ask_path", lambda parent, report: target)
    w.export_report()
    qtbot.waitUntil(target.exists, timeout=WAIT_MS)
    raw = target.read_text(encoding="utf-8")
    page = raw.replace("&#x27;", "'")
    assert "At Cloudflare: Type `TXT`, Name `_dmarc`" in page and "DNS host</td><td>Cloudflare" in page
    assert "Changes published at the DNS host" in page and "No change was published" in page
    assert verify(raw)
