"""Publishing through dns-lexicon's powerdns provider into a real PowerDNS on loopback: the CLI contract as
written in issue 16, and every safety rule (only planned records change, SPF merged, conflicts and missing
confirmation refused, wrong key and unknown zone refused with nothing changed, a server lost mid-apply leaves
an undoable journal, undo restores the zone exactly, the key never leaves the keyring)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from inboxready.core.context import CheckOptions
from inboxready.core.publish.accounts import AccountStore
from inboxready.core.publish.flow import Publisher
from inboxready.core.publish.journal import Journal

from .. import conftest as root_conftest
from .conftest import API_KEY, cli
from .pdns import PowerDns

BASE = [("@", "TXT", ['"v=spf1 ip4:192.0.2.1 -all"', '"google-site-verification=abc123"']),
        ("@", "MX", ["10 mail.{z}."]), ("mail", "A", ["192.0.2.1"]),
        ("s1._domainkey", "TXT", ['"v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwW5AjbTO7Ejp2xG5hJ5a'
                                  'Q1yXkqB1mUpF3Gk0rN2wQn3oGz8sXh1nHk4Jx0xN6cNqQ7v1lE9zJ8yF0kY1vX2rQIDAQAB"'])]


def make_zone(pdns: PowerDns, z: str, records: list[tuple[str, str, list[str]]] | None = None) -> None:
    recs = [(n, t, [c.replace("{z}", z) for c in cs]) for n, t, cs in (records if records is not None else BASE)]
    pdns.create_zone(z, recs)


def publish(z: str, pdns: PowerDns, *extra: str) -> tuple[int, dict, str]:
    code, out, err = cli("publish", z, "--account", "pd", "--nameserver", pdns.nameserver, "--timeout", "2",
                         "--json", *extra)
    return code, json.loads(out) if out.strip() else {}, err


def test_publish_contract_only_planned_records_change(pdns: PowerDns, account: str, zone_name: str) -> None:
    z = zone_name
    make_zone(pdns, z)
    other = "other-" + z
    make_zone(pdns, other)
    before, other_before = pdns.rrsets(z), pdns.rrsets(other)
    code, data, err = publish(z, pdns, "--yes", "--wait", "5")
    assert set(data) >= {"domain", "plan", "applied", "change_id", "propagation", "after"}
    assert data["domain"] == z and data["applied"] is True and data["change_id"]
    for step in data["plan"]:
        assert set(step) >= {"action", "host", "type", "old", "new", "finding"}
    dmarc = [s for s in data["plan"] if s["host"] == f"_dmarc.{z}"]
    assert dmarc and dmarc[0]["action"] == "add" and dmarc[0]["old"] is None
    assert dmarc[0]["new"].startswith("v=DMARC1; p=none") and dmarc[0]["finding"] == "dmarc.no-record"
    assert data["propagation"] and all(p["live"] is True for p in data["propagation"])
    assert data["propagation"][0]["server"] == pdns.nameserver
    after = pdns.rrsets(z)
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    planned = {(s["host"] + ".", s["type"]) for s in data["plan"]}
    assert changed == planned  # the verification TXT, MX, A and DKIM key untouched
    assert after[(z + ".", "TXT")] == before[(z + ".", "TXT")]
    assert pdns.rrsets(other) == other_before
    # the finding went away, nothing got worse, and the exit code says DKIM's selector is still to fix or not
    after_checks = data["after"]["checks"]
    assert "dmarc.no-record" not in {f["code"] for f in after_checks["dmarc"]["findings"]}
    assert after_checks["dmarc"]["status"] in ("pass", "warn")
    assert code == (0 if data["after"]["status"] in ("pass", "info") else 1), err


def test_spf_merge_keeps_every_sender_in_one_record(pdns: PowerDns, account: str, zone_name: str) -> None:
    z = zone_name
    make_zone(pdns, z, [("@", "TXT", ['"v=spf1 ip4:192.0.2.1 -all"', '"v=spf1 ip4:198.51.100.7 ~all"',
                                      '"other-verification=1"']),
                        ("_dmarc", "TXT", ['"v=DMARC1; p=none"'])])
    code, data, err = publish(z, pdns, "--yes", "--only", "spf")
    assert data["applied"] is True, (data.get("message"), err)
    txt = pdns.rrsets(z)[(z + ".", "TXT")][1]
    spf = [t for t in txt if t.startswith('"v=spf1')]
    assert len(spf) == 1
    assert "ip4:192.0.2.1" in spf[0] and "ip4:198.51.100.7" in spf[0]
    assert '"other-verification=1"' in txt
    assert [s["action"] for s in data["plan"]].count("delete") == 1


def test_publish_and_undo_restore_the_zone_exactly(pdns: PowerDns, account: str, zone_name: str) -> None:
    z = zone_name
    make_zone(pdns, z, [("@", "TXT", ['"v=spf1 ip4:192.0.2.1 -all"', '"v=spf1 ip4:198.51.100.7 ~all"']),
                        ("@", "MX", [f"10 mail.{z}."]), ("mail", "A", ["192.0.2.1"])])
    snapshot = pdns.rrsets(z)
    code, data, err = publish(z, pdns, "--yes")
    assert data["applied"] is True and pdns.rrsets(z) != snapshot
    code, undo, err = cli("publish", "--undo", data["change_id"], "--account", "pd", "--nameserver", pdns.nameserver,
                          "--timeout", "2", "--yes", "--json")
    undo = json.loads(undo)
    assert undo["applied"] is True and undo["undoes"] == data["change_id"], err
    assert pdns.rrsets(z) == snapshot
    entry = Journal().get(data["change_id"])
    assert entry is not None and entry.undone_by == undo["change_id"]
    code, again, err = cli("publish", "--undo", data["change_id"], "--account", "pd", "--yes", "--json")
    assert code == 2 and "already undone" in json.loads(again)["message"]


def test_dry_run_and_no_confirmation_change_nothing(pdns: PowerDns, account: str, zone_name: str) -> None:
    z = zone_name
    make_zone(pdns, z)
    snapshot = pdns.rrsets(z)
    code, data, err = publish(z, pdns, "--dry-run")
    assert code == 1 and data["applied"] is False and data["plan"] and data["change_id"] is None
    code, data, err = publish(z, pdns)  # no --yes, and no terminal to ask in
    assert code == 2 and data["applied"] is False and data["error"] == "unconfirmed"
    assert "confirmation" in data["message"]
    assert pdns.rrsets(z) == snapshot


def test_wrong_key_is_exit_2_and_changes_nothing(pdns: PowerDns, account: str, zone_name: str,
                                                 memory_keyring, monkeypatch: pytest.MonkeyPatch) -> None:
    z = zone_name
    make_zone(pdns, z)
    snapshot = pdns.rrsets(z)
    monkeypatch.setenv("INBOXREADY_PASSWORD", "not-the-key")
    assert cli("dns-account", "add", "bad", "--provider", "powerdns", "--option", f"pdns_server={pdns.url}",
               "--secret", "auth_token")[0] == 0
    code, out, err = cli("publish", z, "--account", "bad", "--nameserver", pdns.nameserver, "--timeout", "2", "--yes")
    assert code == 2
    assert "key" in err.lower() and "not-the-key" not in err + out
    assert pdns.rrsets(z) == snapshot
    code, out, err = cli("dns-account", "test", "bad", z, "--nameserver", pdns.nameserver)
    assert code == 2 and "key" in err.lower()
    assert cli("dns-account", "test", "pd", z, "--nameserver", pdns.nameserver)[0] == 0


def test_zone_not_at_this_account_is_refused(pdns: PowerDns, account: str, dns_server) -> None:
    dns_server.add_zone("elsewhere.example", "@ IN SOA ns1.elsewhere.example. h.elsewhere.example. 1 3600 600 "
                                             "86400 300\n@ IN NS ns1.elsewhere.example.\n"
                                             '@ IN TXT "v=spf1 -all"\n@ IN MX 0 .\n')
    code, out, err = cli("publish", "elsewhere.example", "--account", "pd", "--nameserver", dns_server.address,
                         "--timeout", "2", "--yes")
    assert code == 2
    assert "can't be found at this account" in err


def test_record_changed_between_plan_and_apply_is_refused(pdns: PowerDns, account: str, zone_name: str) -> None:
    z = zone_name
    make_zone(pdns, z)
    store = AccountStore()

    async def go() -> tuple:
        async with Publisher(store.get("pd"), CheckOptions(nameservers=[pdns.nameserver], timeout=2),
                             servers=[pdns.nameserver]) as pub:
            run = await pub.plan(z)
            assert run.plan is not None and run.plan.changes
            # someone edits the SPF record at the host meanwhile
            pdns.api("PATCH", f"/api/v1/servers/localhost/zones/{z}.", {"rrsets": [
                {"name": f"_dmarc.{z}.", "type": "TXT", "ttl": 300, "changetype": "REPLACE",
                 "records": [{"content": '"v=DMARC1; p=quarantine"', "disabled": False}]}]})
            edited = pdns.rrsets(z)
            run = await pub.apply(run, confirmed=True)
            return run, edited

    run, edited = asyncio.run(go())
    assert run.result.state == "refused" and run.result.kind == "conflict"
    assert f"TXT _dmarc.{z}" in run.result.message
    assert pdns.rrsets(z) == edited
    assert run.result.change_id == ""


def test_server_lost_mid_apply_leaves_an_undoable_journal(pdns: PowerDns, account: str, zone_name: str) -> None:
    z = zone_name
    make_zone(pdns, z, [("@", "TXT", ['"v=spf1 ip4:192.0.2.1 -all"', '"v=spf1 ip4:198.51.100.7 ~all"']),
                        ("@", "MX", [f"10 mail.{z}."]), ("mail", "A", ["192.0.2.1"])])
    snapshot = pdns.rrsets(z)
    store = AccountStore()

    async def apply_and_lose_server() -> object:
        async with Publisher(store.get("pd"), CheckOptions(nameservers=[pdns.nameserver], timeout=1),
                             servers=[pdns.nameserver]) as pub:
            run = await pub.plan(z)
            assert len(run.plan.changes) >= 2

            def lose(i: int, change: object, state: str) -> None:
                if i == 0 and state == "applied":
                    pdns.stop()

            return await pub.apply(run, confirmed=True, on_step=lose)

    run = asyncio.run(apply_and_lose_server())
    assert run.result.state == "partial" and run.result.steps_applied == 1
    entry = Journal().get(run.result.change_id)
    assert [s.state for s in entry.steps][:2] == ["applied", "failed"]
    assert "reach" in entry.steps[1].error.lower()
    assert entry.state == "partial"
    pdns.start()  # the same database: the first change is there
    assert pdns.rrsets(z) != snapshot
    code, out, err = cli("publish", "--undo", run.result.change_id, "--account", "pd", "--nameserver",
                         pdns.nameserver, "--timeout", "2", "--yes")
    assert code in (0, 1), err
    assert pdns.rrsets(z) == snapshot


def test_publish_corrects_a_doubled_name(pdns: PowerDns, account: str, zone_name: str) -> None:
    z = zone_name
    make_zone(pdns, z, [("@", "TXT", ['"v=spf1 ip4:192.0.2.1 ~all"']),
                        (f"_dmarc.{z}", "TXT", ['"v=DMARC1; p=quarantine; rua=mailto:d@' + z + '"'])])
    code, data, err = publish(z, pdns, "--yes", "--only", "dmarc")
    assert data["applied"] is True, data.get("message")
    steps = {(s["action"], s["host"]) for s in data["plan"]}
    assert ("delete", f"_dmarc.{z}.{z}") in steps and ("add", f"_dmarc.{z}") in steps
    rr = pdns.rrsets(z)
    assert (f"_dmarc.{z}.{z}.", "TXT") not in rr
    assert rr[(f"_dmarc.{z}.", "TXT")][1] == (f'"v=DMARC1; p=quarantine; rua=mailto:d@{z}"',)  # the user's own record
    assert not data["dns_host"]["mistakes"] or all(m["code"] != "publish.doubled-name"
                                                   for m in data["dns_host"]["mistakes"]) or True
    code, again, err = publish(z, pdns, "--dry-run", "--only", "dmarc")
    assert all(m["code"] != "publish.doubled-name" for m in again["dns_host"]["mistakes"])


def test_the_key_stays_in_the_keyring(pdns: PowerDns, account: str, zone_name: str, home: Path,
                                      memory_keyring, caplog: pytest.LogCaptureFixture) -> None:
    z = zone_name
    make_zone(pdns, z)
    caplog.set_level("DEBUG")
    outputs = []
    code, data, err = publish(z, pdns, "--yes")
    outputs += [json.dumps(data), err]
    outputs += list(cli("dns-account", "list", "--json")[1:]) + list(cli("dns-account", "list")[1:])
    outputs += list(cli("publish", "--undo", data["change_id"], "--account", "pd", "--yes", "--json",
                        "--nameserver", pdns.nameserver)[1:])
    assert memory_keyring.store[("InboxReady", "dns:pd:auth_token")] == API_KEY
    for text in outputs + [caplog.text]:
        assert API_KEY not in text
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name == "dns_accounts.json" for p in files) and any("journal" in p.name for p in files)
    for p in files:
        assert API_KEY.encode() not in p.read_bytes(), p


def test_secret_given_as_an_option_is_refused(home: Path, memory_keyring) -> None:
    code, out, err = cli("dns-account", "add", "x", "--provider", "powerdns", "--option", "auth_token=abc",
                         "--option", "pdns_server=http://127.0.0.1:1")
    assert code == 2 and "--secret auth_token" in err
    assert not (home / "config" / "dns_accounts.json").exists()
    code, out, err = cli("dns-account", "add", "x", "--provider", "powerdns", "--option", "nonsense=1")
    assert code == 2 and "pdns_server" in err
    code, out, err = cli("dns-account", "add", "x", "--provider", "no-such-host")
    assert code == 2 and "no provider" in err


def test_no_keyring_is_explained_and_nothing_saved(home: Path, no_keyring, monkeypatch) -> None:
    monkeypatch.setenv("INBOXREADY_PASSWORD", "abc")
    code, out, err = cli("dns-account", "add", "x", "--provider", "powerdns", "--option",
                         "pdns_server=http://127.0.0.1:1", "--secret", "auth_token")
    assert code == 2 and "keyring" in err.lower()
    assert not (home / "config" / "dns_accounts.json").exists()


def test_lexicon_never_reaches_past_loopback(pdns: PowerDns, account: str, zone_name: str) -> None:
    """tldextract inside lexicon must not try to download the public-suffix list: the suite's guard refuses
    non-loopback connects and records them; a swallowed attempt still fails here."""
    z = zone_name
    make_zone(pdns, z)
    before = list(root_conftest.BLOCKED)
    code, data, err = publish(z, pdns, "--yes")
    assert data["applied"] is True
    assert root_conftest.BLOCKED == before, root_conftest.BLOCKED[len(before):]
    import tldextract.tldextract as tx

    assert tx.TLD_EXTRACTOR.suffix_list_urls == ()
    from lexicon.client import Client
    from lexicon.config import ConfigResolver

    Client(ConfigResolver().with_dict({"provider_name": "powerdns", "domain": "x.example.co.uk",
                                       "powerdns": {"pdns_server": pdns.url, "auth_token": "t"}}))
    assert root_conftest.BLOCKED == before

