"""A replace at the DNS host, seen from the zone: undo puts back exactly the character-strings that were there
(a DKIM key held as '"v=DKIM1; k=rsa; " "p=…part1" "part2"' comes back as those three strings, not re-split
at 255 bytes), and no moment of a replace has two SPF records at the name (PowerDNS: the record is swapped
within its set in one PATCH; a host that can't: SPF's old record goes first). Every write the DNS host
receives is observed through a loopback proxy in front of the real PowerDNS API, so each state the zone
passes through is seen."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from inboxready.core.publish.journal import Journal
from inboxready.core.publish.lexicon_adapter import ProviderSession, content_for
from inboxready.core.publish.plan import Change, Plan, apply_plan, undo_change

from .conftest import API_KEY, cli
from .flaky_api import FlakyApi, Rule, proxied_account
from .pdns import PowerDns
from .test_publish_pdns import make_zone

KEY1 = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwW5AjbTO7Ejp2xG5hJ5aQ1yXkqB1mUpF3Gk0rN2wQn3oGz8sXh1nHk4"
KEY2 = "Jx0xN6cNqQ7v1lE9zJ8yF0kY1vX2rQIDAQAB"
# a DKIM key as its owner published it: three strings, split where they chose (not at 255 bytes)
DKIM_STRINGS = ("v=DKIM1; k=rsa; ", "p=" + KEY1, KEY2)
DKIM_CONTENT = " ".join(f'"{s}"' for s in DKIM_STRINGS)
NEW_KEY = "v=DKIM1; k=rsa; p=" + "A" * 300 + "IDAQAB"


def _session(url: str, zone: str) -> ProviderSession:
    return ProviderSession("powerdns", {"pdns_server": url, "pdns_server_id": "localhost"}, {"auth_token": API_KEY},
                           zone)


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def _apply_and_undo(url: str, z: str, journal: Journal, change: Change) -> tuple[Any, Any]:
    host = change.host

    async def go() -> tuple[Any, Any]:
        s = _session(url, z)
        await asyncio.to_thread(s.__enter__)
        try:
            before = {(host, change.type): [(r.value, r.ttl) for r in await asyncio.to_thread(s.list, change.type,
                                                                                               host)]}
            plan = Plan(z, z, "pd", "powerdns", changes=[change], before=before)
            res = await apply_plan(plan, s, journal, confirmed=True)
            assert res.applied, res.message
            entry = journal.get(res.change_id)
            assert entry is not None
            await asyncio.to_thread(s.refresh)
            undone, _ = await undo_change(entry, s, journal, confirmed=True)
            return entry, undone
        finally:
            await asyncio.to_thread(s.__exit__, None, None, None)

    return _run(go())


@pytest.mark.parametrize("one_request", [True, False])
def test_undo_puts_back_a_multi_string_dkim_key_string_for_string(
        pdns: PowerDns, home: Path, zone_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        one_request: bool) -> None:
    """Before: the journal kept the joined text and undo re-split it into 255-byte strings, so the key came
    back as '"v=DKIM1; k=rsa; p=MIIB…(255 bytes)" "…"': two strings where there were three. Now the journal
    keeps the strings the host held, and undo (one PATCH, or a host's two calls) sends exactly those."""
    if not one_request:
        monkeypatch.setattr(ProviderSession, "replace_in_set", lambda self, *a, **k: False)
    z = zone_name
    make_zone(pdns, z, [("s1._domainkey", "TXT", [DKIM_CONTENT]), ("@", "TXT", ['"v=spf1 -all"'])])
    snapshot = pdns.rrsets(z)
    assert snapshot[(f"s1._domainkey.{z}.", "TXT")][1] == (DKIM_CONTENT,)
    joined = "".join(DKIM_STRINGS)
    journal = Journal(tmp_path / "journal.sqlite3")
    try:
        entry, undone = _apply_and_undo(pdns.url, z, journal, Change("replace", f"s1._domainkey.{z}", "TXT", joined,
                                                                     NEW_KEY, 3600, 3600, "dkim.test"))
        assert entry.steps[0].old_strings == DKIM_STRINGS  # the journal has the strings, not only the text
        assert entry.steps[0].old == joined
        assert undone.applied, undone.message
        assert pdns.rrsets(z) == snapshot  # the same three strings, in the same order
        again = Journal(tmp_path / "journal.sqlite3")  # read back from the file
        try:
            step = again.get(entry.id).steps[0]  # type: ignore[union-attr]
            assert step.old_strings == DKIM_STRINGS
            assert step.old_shown == DKIM_CONTENT  # what a person types back by hand
            assert step.to_json()["old_strings"] == list(DKIM_STRINGS)
            undo_entry = again.get(undone.change_id)
            assert undo_entry is not None and undo_entry.steps[0].new_strings == DKIM_STRINGS
        finally:
            again.close()
    finally:
        journal.close()


def test_cli_undo_lists_the_strings_and_restores_them(pdns: PowerDns, account: str, zone_name: str) -> None:
    """Through the CLI: two SPF records, the first held as three strings; publish merges them (a replace of the
    first, a delete of the second), undo lists the first 'back to' its strings and puts it back string for
    string."""
    z = zone_name
    spf_strings = '"v=spf1 " "ip4:192.0.2.1 " "-all"'
    make_zone(pdns, z, [("@", "TXT", [spf_strings, '"v=spf1 ip4:198.51.100.7 ~all"', '"verify=1"']),
                        ("_dmarc", "TXT", ['"v=DMARC1; p=none"'])])
    snapshot = pdns.rrsets(z)
    code, out, err = cli("publish", z, "--account", "pd", "--nameserver", pdns.nameserver, "--timeout", "2",
                         "--only", "spf", "--yes", "--json")
    data = json.loads(out)
    assert data["applied"] is True, (data.get("message"), err)
    assert pdns.rrsets(z) != snapshot
    code, out, err = cli("publish", "--undo", data["change_id"], "--account", "pd", "--nameserver", pdns.nameserver,
                         "--timeout", "2", "--yes")
    assert code in (0, 1), err
    assert f"back to {spf_strings}" in out, out
    assert pdns.rrsets(z) == snapshot


def test_content_for_uses_the_strings_only_where_the_api_takes_them() -> None:
    joined = "".join(DKIM_STRINGS)
    assert content_for("powerdns", "TXT", joined, DKIM_STRINGS) == DKIM_CONTENT
    assert content_for("powerdns", "TXT", joined) == f'"{joined}"'  # our own record: split only at 255 bytes
    # strings that don't make up the value, or a string over 255 bytes, are never sent
    assert content_for("powerdns", "TXT", joined, ("v=DKIM1;", "x")) != '"v=DKIM1;" "x"'
    assert content_for("powerdns", "TXT", "a" * 300, ("a" * 300,)) == f'"{"a" * 255}" "{"a" * 45}"'
    # a host whose API takes plain text splits it itself (its listing shows no strings either)
    assert content_for("cloudflare", "TXT", joined, DKIM_STRINGS) == joined


def _spf_count(pdns: PowerDns, z: str) -> int:
    return sum(1 for v in pdns.rrsets(z).get((f"{z}.", "TXT"), (0, ()))[1] if v.lower().startswith('"v=spf1'))


@pytest.fixture
def observed(pdns: PowerDns, home: Path, memory_keyring, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """An account 'ob' whose API calls pass through a proxy that reads the zone after every write."""
    with proxied_account("ob", pdns.url, monkeypatch) as api:
        yield api


def _watch(api: FlakyApi, pdns: PowerDns, z: str) -> list[int]:
    counts: list[int] = []

    def after(method: str, path: str, status: int) -> None:
        if method != "GET":
            counts.append(_spf_count(pdns, z))

    api.after_forward = after
    return counts


@pytest.mark.parametrize("one_request", [True, False])
def test_no_moment_of_an_spf_replace_has_two_spf_records(
        pdns: PowerDns, observed: FlakyApi, zone_name: str, monkeypatch: pytest.MonkeyPatch, one_request: bool) -> None:
    """An SPF record replaced by a wider one (publish, then undo). Before: the new record was added first, so
    between the two calls the name had two SPF records (a permerror for every receiver that looked). Now
    PowerDNS gets one PATCH that swaps it within the set (the verification record untouched); a host that can't
    gets the old record deleted first. Every state after every write has at most one SPF record."""
    if not one_request:
        monkeypatch.setattr(ProviderSession, "replace_in_set", lambda self, *a, **k: False)
    z = zone_name
    make_zone(pdns, z, [("@", "TXT", ['"v=spf1 ip4:192.0.2.1 -all"', '"google-site-verification=abc"']),
                        ("_dmarc", "TXT", ['"v=DMARC1; p=none"'])])
    snapshot = pdns.rrsets(z)
    counts = _watch(observed, pdns, z)
    journal = Journal()
    try:
        entry, undone = _apply_and_undo(observed.url, z, journal, Change(
            "replace", z, "TXT", "v=spf1 ip4:192.0.2.1 -all", "v=spf1 ip4:192.0.2.1 ip4:198.51.100.7 -all", 3600,
            3600, "spf.test"))
    finally:
        journal.close()
    assert undone.applied, undone.message
    assert pdns.rrsets(z) == snapshot
    patches = [m for m, _ in observed.seen if m == "PATCH"]
    assert len(patches) == (2 if one_request else 4)  # one per replace, or two
    assert len(counts) == len(patches) and max(counts) == 1, counts  # never two SPF records, at any moment
    if not one_request:
        assert 0 in counts  # the moment between the two calls has none


def test_a_replace_refused_in_one_request_changes_nothing(
        pdns: PowerDns, observed: FlakyApi, zone_name: str) -> None:
    """The one request is refused (500): nothing changed at the host (no half-way state to put back), the step
    'failed' with nothing to undo."""
    z = zone_name
    make_zone(pdns, z, [("@", "TXT", ['"v=spf1 ip4:192.0.2.1 -all"', '"verify=1"'])])
    snapshot = pdns.rrsets(z)
    change = Change("replace", z, "TXT", "v=spf1 ip4:192.0.2.1 -all", "v=spf1 ip4:192.0.2.9 -all", 3600, 3600, "x")

    async def go(rules: list[Rule]) -> Any:
        s = _session(observed.url, z)
        await asyncio.to_thread(s.__enter__)
        try:
            plan = Plan(z, z, "pd", "powerdns", changes=[change],
                        before={(z, "TXT"): [(r.value, r.ttl) for r in await asyncio.to_thread(s.list, "TXT", z)]})
            observed.rules[:] = rules
            return await apply_plan(plan, s, journal, confirmed=True)
        finally:
            observed.rules.clear()
            await asyncio.to_thread(s.__exit__, None, None, None)

    journal = Journal()
    try:
        res = _run(go([Rule("PATCH", 0, 500, '{"error": "Internal Server Error"}')]))
        assert res.state == "failed" and pdns.rrsets(z) == snapshot, res
        entry = journal.get(res.change_id)
        assert entry is not None and not entry.applied_steps and not entry.can_undo
        assert [m for m, _ in observed.seen].count("PATCH") == 1  # one request, refused: nothing else was sent
    finally:
        journal.close()


def test_a_journal_of_schema_1_opens_and_its_steps_have_no_strings(tmp_path: Path) -> None:
    """A journal written before the strings were kept (schema 1) still opens, and its changes can be listed and
    undone (their TXT records as the joined text, all that was kept)."""
    import sqlite3

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE changes (id TEXT PRIMARY KEY, created TEXT NOT NULL, finished TEXT, kind TEXT NOT NULL,
            undoes TEXT, undone_by TEXT, domain TEXT NOT NULL, zone TEXT NOT NULL, account TEXT NOT NULL,
            provider TEXT NOT NULL, state TEXT NOT NULL, message TEXT NOT NULL DEFAULT '', before TEXT, after TEXT,
            propagation TEXT);
        CREATE TABLE steps (change_id TEXT NOT NULL REFERENCES changes(id), seq INTEGER NOT NULL,
            action TEXT NOT NULL, host TEXT NOT NULL, type TEXT NOT NULL, old TEXT, new TEXT, ttl INTEGER NOT NULL,
            old_ttl INTEGER, finding TEXT NOT NULL DEFAULT '', state TEXT NOT NULL, error TEXT NOT NULL DEFAULT '',
            at TEXT, PRIMARY KEY (change_id, seq));
        INSERT INTO changes VALUES ('c1', '2026-01-01T00:00:00+00:00', NULL, 'apply', NULL, NULL, 'a.example',
            'a.example', 'pd', 'powerdns', 'applied', '', NULL, NULL, NULL);
        INSERT INTO steps VALUES ('c1', 0, 'replace', 'a.example', 'TXT', 'v=spf1 -all', 'v=spf1 mx -all', 3600,
            3600, 'x', 'applied', '', NULL);
        PRAGMA user_version=1;
    """)
    db.close()
    j = Journal(path)
    try:
        e = j.get("c1")
        assert e is not None and e.can_undo and e.steps[0].old_strings is None
        assert e.steps[0].old_shown == "v=spf1 -all"
    finally:
        j.close()
