"""Reminders from history: ages come from stored runs with made-up dates (the runs themselves are real
checks of loopback zones, stored as if they had been made on those dates)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxready.core.checks import dkim, dmarc
from inboxready.core.store import history as history_mod
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.store.history import History, key_fingerprint
from inboxready.core.model import Fix, Status
from inboxready.core.monitor.reminders import DismissedStore, reminders, reminders_for

from ...conftest import make_ctx, run
from ...helpers.reminders import KEY_A, KEY_B, NONE, QUARANTINE, REJECT, ZONE, key, store, txt

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def kinds(items: list) -> list[str]:  # type: ignore[type-arg]
    return [r.kind for r in items]


# -- DKIM key age -----------------------------------------------------------------------------------


def test_key_first_seen_over_6_months_ago_gets_a_rotate_reminder(dns_server: DnsTestServer, tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    store(dns_server, h, ZONE + REJECT + key(KEY_A), NOW - timedelta(days=200))
    store(dns_server, h, ZONE + REJECT + key(KEY_A), NOW - timedelta(days=30))
    store(dns_server, h, ZONE + REJECT + key(KEY_A), NOW - timedelta(hours=1))
    [r] = reminders_for(h, "example.com", now=NOW)
    assert r.kind == "dkim-rotate" and r.domain == "example.com"
    assert r.since == (NOW - timedelta(days=200)).date().isoformat()
    assert "selector 'google'" in r.text and "7 months" in r.text
    assert r.key == f"dkim-rotate:example.com:google:{key_fingerprint('p=' + KEY_A)[:16]}"  # type: ignore[index]
    assert len(r.steps) == 4 and "new DKIM key" in r.steps[0]
    assert r.fix == Fix("google._domainkey.example.com", "TXT", "v=DKIM1; p=", action="replace",
                        note=r.fix.note)  # type: ignore[union-attr]


def test_young_key_and_a_replaced_key_get_no_reminder(dns_server: DnsTestServer, tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    store(dns_server, h, ZONE + REJECT + key(KEY_A), NOW - timedelta(days=150))  # 5 months: not yet
    assert reminders_for(h, "example.com", now=NOW) == []
    store(dns_server, h, ZONE + REJECT + key(KEY_A), NOW - timedelta(days=300))  # an older run stored late
    assert kinds(reminders_for(h, "example.com", now=NOW)) == ["dkim-rotate"]
    # rotated a month ago: the same selector, a new key → its age starts again
    store(dns_server, h, ZONE + REJECT + key(KEY_B), NOW - timedelta(days=30))
    assert reminders_for(h, "example.com", now=NOW) == []


def test_first_seen_survives_the_pruning_of_old_runs(dns_server: DnsTestServer, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_mod, "KEEP_PER_DOMAIN", 2)
    h = History(tmp_path / "h.sqlite3")
    for days in (400, 100, 10):
        store(dns_server, h, ZONE + REJECT + key(KEY_A), NOW - timedelta(days=days))
    assert len(h.runs("example.com")) == 2  # the run of 400 days ago is gone...
    [r] = reminders_for(h, "example.com", now=NOW)  # ...but not when the key was first seen
    assert r.since == (NOW - timedelta(days=400)).date().isoformat()


def test_key_behind_a_provider_cname_is_rotated_at_the_provider(dns_server: DnsTestServer, tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    target = "selector1-example-com._domainkey.example.onmicrosoft.com"
    dns_server.add_zone("example.onmicrosoft.com", f"$TTL 300\n{target}. IN TXT {txt('v=DKIM1; k=rsa; p=' + KEY_A)}\n")
    zone = ZONE + REJECT + f"selector1._domainkey IN CNAME {target}.\n"
    store(dns_server, h, zone, NOW - timedelta(days=190))
    store(dns_server, h, zone, NOW)
    [r] = reminders_for(h, "example.com", now=NOW)
    assert r.kind == "dkim-rotate" and r.fix is None and "nothing to change in your DNS" in r.steps[1]


def test_the_revoke_fix_passes_our_own_check_once_the_new_key_is_live(dns_server: DnsTestServer,
                                                                       tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    store(dns_server, h, ZONE + REJECT + key(KEY_A), NOW - timedelta(days=200))
    [r] = reminders_for(h, "example.com", now=NOW)
    assert r.fix is not None
    line = r.fix.zone_line.replace("google._domainkey.example.com.", "google._domainkey")
    dns_server.replace_zone("example.com", ZONE + REJECT + key(KEY_B, "s202611") + line + "\n")

    async def go():  # type: ignore[no-untyped-def]
        return await dkim.check(make_ctx(dns_server, "example.com", dkim_selectors=["s202611"]))

    result = run(go())
    assert result.status is Status.PASS
    found = {e["selector"]: e for e in result.detail["found"]}
    assert found["google"]["revoked"] is True and found["s202611"]["key_type"] == "rsa"


# -- DMARC p=none -------------------------------------------------------------------------------------


def test_dmarc_none_for_4_weeks(dns_server: DnsTestServer, tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    store(dns_server, h, ZONE + NONE, NOW - timedelta(days=20))
    assert reminders_for(h, "example.com", now=NOW) == []  # under 4 weeks
    store(dns_server, h, ZONE + NONE, NOW - timedelta(days=35))
    [r] = reminders_for(h, "example.com", now=NOW)
    assert r.kind == "dmarc-next-step" and r.since == (NOW - timedelta(days=35)).date().isoformat()
    assert "p=none" in r.text and "5 weeks" in r.text
    assert r.fix is not None and r.fix.host == "_dmarc.example.com" and "p=quarantine" in r.fix.value


def test_dmarc_next_step_with_clean_reports(dns_server: DnsTestServer, tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    store(dns_server, h, ZONE + NONE, NOW - timedelta(days=60))
    store(dns_server, h, ZONE + NONE, NOW - timedelta(days=1))
    asked: list[str] = []

    def clean(domain: str) -> float:
        asked.append(domain)
        return 6.0

    [r] = reminders_for(h, "example.com", now=NOW, clean_weeks=clean)
    assert asked == ["example.com"]
    assert r.title == "Take the next DMARC step" and "clean for 6 weeks" in r.text and r.key.endswith(":clean")
    assert r.fix is not None and "p=quarantine" in r.fix.value
    [dirty] = reminders_for(h, "example.com", now=NOW, clean_weeks=lambda d: 1.0)
    assert dirty.fix is None and "only 1 clean weeks" in dirty.text
    [unknown] = reminders_for(h, "example.com", now=NOW, clean_weeks=lambda d: None)
    assert unknown.title == "DMARC is still in monitoring mode" and unknown.fix is not None

    def broken(domain: str) -> float:
        raise RuntimeError("no summary")

    assert kinds(reminders_for(h, "example.com", now=NOW, clean_weeks=broken)) == ["dmarc-next-step"]


def test_a_policy_change_restarts_the_p_none_clock(dns_server: DnsTestServer, tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    store(dns_server, h, ZONE + NONE, NOW - timedelta(days=90))
    store(dns_server, h, ZONE + QUARANTINE, NOW - timedelta(days=40))
    assert reminders_for(h, "example.com", now=NOW) == []
    store(dns_server, h, ZONE + NONE, NOW - timedelta(days=10))  # back to none 10 days ago
    assert reminders_for(h, "example.com", now=NOW) == []
    assert h.first_seen("example.com", "dmarc-policy", "none") == (NOW - timedelta(days=10)).isoformat()


def test_the_next_dmarc_record_passes_our_own_check(dns_server: DnsTestServer, tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    store(dns_server, h, ZONE + NONE, NOW - timedelta(days=60))
    [r] = reminders_for(h, "example.com", now=NOW, clean_weeks=lambda d: 5.0)
    assert r.fix is not None
    dns_server.replace_zone("example.com", ZONE + f"_dmarc IN TXT {r.fix.zone_value}\n")

    async def go():  # type: ignore[no-untyped-def]
        return await dmarc.check(make_ctx(dns_server, "example.com"))

    result = run(go())
    assert result.detail["policy"] == "quarantine" and result.status is not Status.FAIL
    assert "dmarc.policy-none" not in [f.code for f in result.findings]


# -- selectors that stopped answering, dismissing ---------------------------------------------------


def test_selector_that_stopped_resolving(dns_server: DnsTestServer, tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    store(dns_server, h, ZONE + REJECT + key(KEY_A, "mykey2026"), NOW - timedelta(days=3), dkim_selectors=["mykey2026"])
    assert reminders_for(h, "example.com", now=NOW) == []
    store(dns_server, h, ZONE + REJECT, NOW - timedelta(days=1), dkim_selectors=["mykey2026"])
    [r] = reminders_for(h, "example.com", now=NOW)
    assert r.kind == "selector-gone" and "'mykey2026'" in r.text
    assert r.since == (NOW - timedelta(days=3)).date().isoformat()
    # a later check that did not ask about s1 says nothing about it
    store(dns_server, h, ZONE + REJECT, NOW, dkim_selectors=[])
    assert reminders_for(h, "example.com", now=NOW) == []


def test_dismissed_reminders_stay_dismissed(dns_server: DnsTestServer, tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    store(dns_server, h, ZONE + NONE + key(KEY_A), NOW - timedelta(days=200))
    store(dns_server, h, ZONE + NONE + key(KEY_A), NOW)
    d = DismissedStore(tmp_path / "reminders.json")
    all_ = reminders(h, now=NOW, dismissed=d)
    assert sorted(kinds(all_)) == ["dkim-rotate", "dmarc-next-step"]
    d.dismiss(all_[0].key)
    assert [r.key for r in reminders(h, now=NOW, dismissed=DismissedStore(tmp_path / "reminders.json"))] == [
        all_[1].key]
    d.restore(all_[0].key)
    assert len(reminders(h, now=NOW, dismissed=d)) == 2
    (tmp_path / "reminders.json").write_text("[broken")
    assert len(reminders(h, now=NOW, dismissed=d)) == 2


def test_sightings_are_rebuilt_for_a_history_made_before_they_existed(dns_server: DnsTestServer,
                                                                      tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    h = History(path)
    store(dns_server, h, ZONE + REJECT + key(KEY_A), NOW - timedelta(days=250))
    h.close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE sightings")
    db.commit()
    db.close()
    h = History(path)
    assert kinds(reminders_for(h, "example.com", now=NOW)) == ["dkim-rotate"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_key_fingerprint_never_raises(text: str) -> None:
    fp = key_fingerprint(text)
    assert fp is None or len(fp) == 64


def test_cli_reminders(dns_server: DnsTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import json

    from inboxready.app.cli import main
    from inboxready.core.store.settings import HOME_ENV

    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    out = io.StringIO()
    assert main(["watchlist", "reminders"], out=out, err=io.StringIO()) == 0
    assert "No reminders" in out.getvalue()
    with History() as h:
        now = datetime.now(timezone.utc)
        store(dns_server, h, ZONE + NONE + key(KEY_A), now - timedelta(days=220))
        store(dns_server, h, ZONE + NONE + key(KEY_A), now - timedelta(hours=2))
    out = io.StringIO()
    assert main(["watchlist", "reminders", "--json"], out=out, err=io.StringIO()) == 0
    data = json.loads(out.getvalue())["reminders"]
    assert sorted(r["kind"] for r in data) == ["dkim-rotate", "dmarc-next-step"]
    rotate = next(r for r in data if r["kind"] == "dkim-rotate")
    assert rotate["fix"]["zone_line"] == 'google._domainkey.example.com.\t3600\tIN\tTXT\t"v=DKIM1; p="'
    DismissedStore().dismiss(rotate["key"])
    out = io.StringIO()
    assert main(["watchlist", "reminders"], out=out, err=io.StringIO()) == 0
    text = out.getvalue()
    assert "DMARC is still in monitoring mode" in text and "Rotate" not in text
    assert "Replace with: TXT record at _dmarc.example.com" in text


def test_p_none_without_reports_asks_for_reports_first(dns_server: DnsTestServer, tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    store(dns_server, h, ZONE + '_dmarc IN TXT "v=DMARC1; p=none"\n', NOW - timedelta(days=45))
    [r] = reminders_for(h, "example.com", now=NOW, clean_weeks=lambda d: None)
    assert r.title == "Ask for DMARC reports" and "no rua= address" in r.text
    assert r.fix is not None and "rua=mailto:" in r.fix.value and "p=none" in r.fix.value
    dns_server.replace_zone("example.com", ZONE + f"_dmarc IN TXT {r.fix.zone_value}\n")

    async def go():  # type: ignore[no-untyped-def]
        return await dmarc.check(make_ctx(dns_server, "example.com"))

    result = run(go())  # the fix passes our own check: reports are asked for now
    assert result.detail["rua"] and "dmarc.no-rua" not in [f.code for f in result.findings]
