"""The app's "Check until live" for a record published by hand (per server, stale time, Stop, Check again) and
its history of published changes with Undo for any past one (against PowerDNS)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import Fix  # noqa: E402
from inboxready.core.publish.zone import AuthServer, ZoneInfo  # noqa: E402

from .conftest import cli  # noqa: E402
from .pdns import PowerDns  # noqa: E402
from .test_publish_pdns import make_zone  # noqa: E402

SOA = "$TTL 600\n@ IN SOA ns1.hand.test. h.hand.test. 1 3600 600 86400 180\n@ IN NS ns1.hand.test.\n"
DMARC = "v=DMARC1; p=none; rua=mailto:dmarc@hand.test"


def _rows(dlg) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    t = dlg.table
    return {t.item(r, 0).text(): (t.item(r, 1).text(), t.item(r, 2).text()) for r in range(t.rowCount())
            if t.item(r, 0) is not None}


def test_check_until_live_for_a_record_published_by_hand(qtbot) -> None:  # type: ignore[no-untyped-def]
    from inboxready.app.live_check import LiveCheckDialog

    a, b = DnsTestServer(), DnsTestServer()
    a.start()
    b.start()
    try:
        a.add_zone("hand.test", SOA + f'_dmarc IN TXT "{DMARC}"\n')
        b.add_zone("hand.test", SOA)
        zone = ZoneInfo("hand.test", ("ns1.hand.test",), (AuthServer("ns-a", a.address), AuthServer("ns-b", b.address)),
                        600, 180)
        dlg = LiveCheckDialog(Fix("_dmarc.hand.test", "TXT", DMARC), zone=zone, wait=60, timeout=0.5)
        qtbot.addWidget(dlg)
        dlg.show()
        qtbot.waitUntil(lambda: len(_rows(dlg)) == 2, timeout=15000)
        rows = _rows(dlg)
        assert rows[f"ns-a ({a.address})"][0] == "✓ yes" and rows[f"ns-b ({b.address})"] == ("… not yet", "(no record)")
        assert "Live on 1 of 2" in dlg.status.text() and dlg.state == "running"
        assert "3 minutes" in dlg.stale.text() and "negative-caching" in dlg.stale.text()  # SOA MINIMUM 180
        if os.environ.get("IR_SHOT"):
            dlg.grab().save(os.environ["IR_SHOT"])
        started = time.monotonic()
        dlg.stop_button.click()
        qtbot.waitUntil(lambda: dlg.state == "stopped", timeout=5000)
        assert time.monotonic() - started < 5 and "Stopped" in dlg.status.text()
        assert dlg.again_button.isEnabled() and not dlg.stop_button.isEnabled()
        # the user publishes it at the second server too, and checks again: live everywhere
        b.add_records("_dmarc.hand.test", "TXT", [f'"{DMARC}"'])
        dlg.again_button.click()
        qtbot.waitUntil(lambda: dlg.state == "live", timeout=15000)
        assert all(v[0] == "✓ yes" for v in _rows(dlg).values())
        assert "Live on all 2 authoritative servers" in dlg.status.text()
        dlg.close()
    finally:
        a.stop()
        b.stop()


def test_live_check_finds_the_zone_itself_and_says_when_it_cant(qtbot, dns_server: DnsTestServer) -> None:  # type: ignore[no-untyped-def]
    from inboxready.app.live_check import LiveCheckDialog

    dns_server.add_zone("self.test", SOA.replace("hand.test", "self.test") + "ns1 IN A 127.0.0.1\n")
    dlg = LiveCheckDialog(Fix("self.test", "TXT", "v=spf1 -all"), nameservers=[dns_server.address],
                          servers=[dns_server.address], wait=1, timeout=0.5)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.state in ("timeout", "live", "failed"), timeout=15000)
    assert dlg.state == "timeout" and dlg.zone.zone == "self.test"
    assert "Stopped asking" in dlg.status.text()
    dns_server.timeout_names.add("nowhere.test")
    lost = LiveCheckDialog(Fix("nowhere.test", "TXT", "v=spf1 -all"), nameservers=[dns_server.address], wait=1,
                           timeout=0.3)
    qtbot.addWidget(lost)
    qtbot.waitUntil(lambda: lost.state == "failed", timeout=15000)
    assert "Couldn't check whether it is live" in lost.status.text() and "not live" not in lost.status.text()


def _publish(z: str, pdns: PowerDns, *extra: str) -> dict:
    code, out, err = cli("publish", z, "--account", "pd", "--nameserver", pdns.nameserver, "--timeout", "2", "--json",
                         "--yes", *extra)
    data = json.loads(out)
    assert data["applied"] is True, (data.get("message"), err)
    return data


def test_history_lists_every_change_and_undoes_any_past_one(qtbot, home: Path, memory_keyring, pdns: PowerDns,  # type: ignore[no-untyped-def]
                                                            account: str, zone_name: str) -> None:
    from inboxready.app.publish_history import PublishHistoryDialog

    z = zone_name
    make_zone(pdns, z, [("@", "TXT", ['"v=spf1 ip4:192.0.2.1 -all"', '"v=spf1 ip4:198.51.100.7 ~all"']),
                        ("@", "MX", [f"10 mail.{z}."]), ("mail", "A", ["192.0.2.1"])])
    snapshot = pdns.rrsets(z)
    first = _publish(z, pdns, "--only", "dmarc")  # adds a DMARC record
    after_first = pdns.rrsets(z)
    second = _publish(z, pdns, "--only", "spf")  # merges the two SPF records
    assert (z + ".", "TXT") in pdns.rrsets(z) and pdns.rrsets(z) != after_first

    dlg = PublishHistoryDialog(nameservers=[pdns.nameserver], wait=5, ask=False)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: dlg.state == "ready", timeout=15000)
    assert [e.id for e in dlg.entries] == [second["change_id"], first["change_id"]]  # newest first
    assert "applied (" in dlg.table.item(0, 4).text() and dlg.table.item(1, 1).text() == z
    assert dlg.select(first["change_id"])
    assert f"_dmarc.{z}" in dlg.detail.toPlainText() and dlg.undo_button.isEnabled()
    assert dlg.undo_selected() is False and pdns.rrsets(z) == pdns.rrsets(z)  # no confirmation: nothing done
    if os.environ.get("IR_SHOT"):
        dlg.grab().save(os.environ["IR_SHOT"])
    # undo the older change, not the last one: its DMARC record goes, the SPF merge of the later one stays
    assert dlg.undo_selected(confirmed=True)
    qtbot.waitUntil(lambda: dlg.state in ("undone", "failed"), timeout=30000)
    assert dlg.state == "undone", dlg.status.text()
    now = pdns.rrsets(z)
    assert (f"_dmarc.{z}.", "TXT") not in now
    spf = [t for t in now[(z + ".", "TXT")][1] if t.startswith('"v=spf1')]
    assert len(spf) == 1 and "198.51.100.7" in spf[0]
    assert "Undid" in dlg.status.text() and "✓" in dlg.live.text()
    ids = [e.id for e in dlg.entries]
    assert len(ids) == 3 and dlg.entries[0].kind == "undo" and dlg.entries[0].undoes == first["change_id"]
    assert dlg.select(first["change_id"])
    assert not dlg.undo_button.isEnabled() and "undone by" in dlg.table.item(ids.index(first["change_id"]), 4).text()
    # the later change can still be undone: the zone is back where it started
    assert dlg.select(second["change_id"]) and dlg.undo_selected(confirmed=True)
    qtbot.waitUntil(lambda: dlg.state in ("undone", "failed"), timeout=30000)
    assert dlg.state == "undone", dlg.status.text()
    assert pdns.rrsets(z) == snapshot


def test_history_says_when_the_account_is_gone(qtbot, home: Path, memory_keyring, pdns: PowerDns,  # type: ignore[no-untyped-def]
                                               account: str, zone_name: str) -> None:
    from inboxready.app.publish_history import PublishHistoryDialog

    make_zone(pdns, zone_name)
    data = _publish(zone_name, pdns, "--only", "dmarc")
    assert cli("dns-account", "remove", "pd")[0] == 0
    before = pdns.rrsets(zone_name)
    dlg = PublishHistoryDialog(nameservers=[pdns.nameserver], wait=5, ask=False)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.state == "ready", timeout=15000)
    assert dlg.select(data["change_id"])
    assert dlg.undo_selected(confirmed=True) is False
    assert "no DNS account called 'pd'" in dlg.status.text() and "again" in dlg.status.text()
    assert pdns.rrsets(zone_name) == before
