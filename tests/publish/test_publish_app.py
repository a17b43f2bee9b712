"""The app's publishing: the fix box offers "Set up publishing…" or "Publish at <host>…", the plan dialog
applies only after Apply is clicked, shows each server going live, and Undo restores the zone."""

from __future__ import annotations

from pathlib import Path

import pytest

from inboxready.core.model import Fix  # noqa: E402
from inboxready.core.publish.accounts import AccountStore  # noqa: E402

from .pdns import PowerDns  # noqa: E402
from .test_publish_pdns import make_zone  # noqa: E402


def test_fix_box_offers_setup_then_publish(qtbot, home: Path, memory_keyring, pdns: PowerDns, account: str) -> None:
    from inboxready.app.publish_dialog import publish_bar
    from inboxready.app.widgets import FixView

    FixView.publish_hook = publish_bar
    try:
        box = FixView(Fix("_dmarc.example.com", "TXT", "v=DMARC1; p=none"))
        qtbot.addWidget(box)
        from PySide6.QtWidgets import QPushButton

        names = [b.text() for b in box.findChildren(QPushButton)]
        assert "Publish at PowerDNS (your own server)…" in names
    finally:
        FixView.publish_hook = None


def test_plan_dialog_applies_only_on_apply_and_undoes(qtbot, home: Path, memory_keyring, pdns: PowerDns,
                                                      account: str, zone_name: str, tmp_path: Path) -> None:
    from inboxready.app.publish_dialog import PublishDialog

    z = zone_name
    make_zone(pdns, z)
    snapshot = pdns.rrsets(z)
    fix = Fix(f"_dmarc.{z}", "TXT", "v=DMARC1; p=none; rua=mailto:d@" + z)
    dlg = PublishDialog(AccountStore().get(account), z, [(fix, "dmarc.no-record", "no DMARC")],
                        nameservers=[pdns.nameserver], wait=5)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: dlg.state != "planning", timeout=20000)
    assert dlg.state == "planned" and dlg.apply_button.isEnabled()
    assert pdns.rrsets(z) == snapshot  # nothing before Apply
    assert f"_dmarc.{z}" in dlg.view.toPlainText()
    dlg.apply_button.click()
    qtbot.waitUntil(lambda: dlg.state not in ("planned", "applying"), timeout=30000)
    assert dlg.state == "applied", dlg.status.text()
    assert pdns.rrsets(z)[(f"_dmarc.{z}.", "TXT")][1] == (f'"{fix.value}"',)
    assert "✓" in dlg.live.text() and pdns.nameserver in dlg.live.text()
    dlg.grab().save(str(tmp_path / "publish-dialog.png"))
    if __import__("os").environ.get("IR_SHOT"):
        dlg.grab().save(__import__("os").environ["IR_SHOT"])
    dlg.undo_button.click()
    qtbot.waitUntil(lambda: dlg.state not in ("undoing",), timeout=30000)
    assert dlg.state == "undone", dlg.status.text()
    assert pdns.rrsets(z) == snapshot


def test_setup_asks_for_every_secret_and_keeps_them_in_the_keyring_only(qtbot, home: Path, memory_keyring) -> None:  # type: ignore[no-untyped-def]
    from inboxready.app.publish_dialog import SetupDialog

    dlg = SetupDialog(provider="ovh")
    qtbot.addWidget(dlg)
    assert list(dlg.secret_fields) == ["auth_application_secret", "auth_consumer_key"]  # OVHcloud needs two
    assert "GET on /domain/zone/" in dlg.steps.text()
    dlg.name.setText("ovh-shop")
    dlg.options.setText("auth_entrypoint=ovh-eu, auth_application_key=AK123")
    dlg.secret_fields["auth_application_secret"].setText("s3cret-AS")
    dlg.save()
    assert "auth_consumer_key" in dlg.error.text() and not AccountStore().accounts  # nothing saved half-way
    dlg.options.setText("auth_entrypoint=ovh-eu, auth_consumer_key=oops")
    dlg.secret_fields["auth_consumer_key"].setText("s3cret-CK")
    dlg.save()
    assert "is a secret" in dlg.error.text() and not AccountStore().accounts
    dlg.options.setText("auth_entrypoint=ovh-eu, auth_application_key=AK123")
    dlg.save()
    acc = AccountStore().get("ovh-shop")
    assert acc.options == {"auth_entrypoint": "ovh-eu", "auth_application_key": "AK123"}
    assert set(acc.secrets) == {"auth_application_secret", "auth_consumer_key"}
    assert memory_keyring.store[("InboxReady", "dns:ovh-shop:auth_consumer_key")] == "s3cret-CK"
    text = (home / "config" / "dns_accounts.json").read_text()
    assert "s3cret" not in text and all(not f.text() for f in dlg.secret_fields.values())


def test_fix_boxes_read_the_accounts_file_once_and_see_every_change(qtbot, home: Path, memory_keyring,  # type: ignore[no-untyped-def]
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A card's body makes many fix boxes on the UI thread: the DNS accounts file is read for the first one
    only, and again when an account is saved in "Set up publishing" or changed from a terminal."""
    from PySide6.QtWidgets import QPushButton

    from inboxready.app.publish_dialog import SetupDialog, publish_bar
    from inboxready.app.widgets import FixView
    from inboxready.core.publish import accounts as accounts_module

    loads: list[Path] = []
    real_load = accounts_module.AccountStore.load

    def counted(store: AccountStore) -> None:
        loads.append(store.path)
        real_load(store)

    monkeypatch.setattr(accounts_module.AccountStore, "load", counted)

    def bar_buttons() -> list[str]:
        box = FixView(Fix("_dmarc.shop.example", "TXT", "v=DMARC1; p=none"))
        qtbot.addWidget(box)
        return [b.text() for b in box.findChildren(QPushButton) if b.objectName() != "LiveCheckButton"]

    monkeypatch.setattr(FixView, "publish_hook", publish_bar)
    accounts_module.AccountStore().put(accounts_module.DnsAccount("first", "powerdns", {"pdns_server": "x"}))
    loads.clear()
    for _ in range(6):
        assert bar_buttons() == ["Publish at PowerDNS (your own server)…"]
    assert len(loads) == 1, loads  # six fix boxes, one read

    # removed from a terminal (``inboxready dns-account remove``): the next fix box offers to set up again
    store = accounts_module.AccountStore()
    store.remove(store.get("first"))
    loads.clear()
    assert bar_buttons() == bar_buttons() == ["Set up publishing…"]
    assert len(loads) == 1  # read again once

    # saved in "Set up publishing": the next fix box offers to publish there
    dlg = SetupDialog(provider="powerdns")
    qtbot.addWidget(dlg)
    dlg.name.setText("pd-shop")
    dlg.options.setText("pdns_server=http://127.0.0.1:1")
    for f in dlg.secret_fields.values():
        f.setText("k3y")
    dlg.save()
    assert not dlg.error.text()
    loads.clear()
    assert bar_buttons() == bar_buttons() == ["Publish at PowerDNS (your own server)…"]
    assert len(loads) == 1
