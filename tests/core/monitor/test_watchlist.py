"""Watch list: intervals and "due", and the Change items a changed zone produces between two checks."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxready.core.context import CheckOptions
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.store.history import History
from inboxready.core.model import Fix
from inboxready.core.store.settings import HOME_ENV
from inboxready.core.monitor.watchlist import (
    IntervalError, WatchEntry, WatchList, WatchOutcome, exit_code, format_interval, parse_interval, run_watchlist,
)

from ...conftest import run
from ...helpers.watchlist import DMARC, SPF, ZONE
from ..records.test_dkim_parse import rsa_b64
from ...helpers.cli import cli

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
KEY_A = rsa_b64(2048, seed=11)
KEY_B = rsa_b64(2048, seed=12)


def txt(value: str) -> str:
    return Fix("x", "TXT", value).zone_value


def dkim_line(key: str, selector: str = "google") -> str:
    return f"{selector}._domainkey IN TXT {txt('v=DKIM1; k=rsa; p=' + key)}\n"


def options(server: DnsTestServer, **kw: object) -> CheckOptions:
    return CheckOptions(nameservers=[server.address], timeout=float(kw.pop("timeout", 3.0)), deadline=30.0, **kw)  # type: ignore[arg-type]


def twice(server: DnsTestServer, tmp_path: Path, before: str, after: str,
          domain: str = "example.com") -> WatchOutcome:
    """Check ``domain`` with zone ``before``, then again with ``after``; the second run's outcome."""
    wl = WatchList(tmp_path / "watchlist.json")
    wl.add(domain, 3600)
    history = History(tmp_path / "history.sqlite3")
    server.replace_zone(domain, before)
    first = run(run_watchlist(options(server), history, now=T0, watchlist=wl))
    assert len(first) == 1 and first[0].previous_status is None and first[0].changes == []
    server.replace_zone(domain, after)
    second = run(run_watchlist(options(server), history, now=T0 + timedelta(hours=1), watchlist=wl))
    assert len(second) == 1
    history.close()
    return second[0]


def kinds(outcome: WatchOutcome) -> list[tuple[str, str]]:
    return sorted((c.check, c.kind) for c in outcome.changes)


# -- changes --------------------------------------------------------------------------------------


def test_no_change_gives_no_change_items_and_exit_0(dns_server: DnsTestServer, tmp_path: Path) -> None:
    o = twice(dns_server, tmp_path, ZONE + SPF + DMARC, ZONE + SPF + DMARC)
    assert o.changes == [] and not o.changed and o.previous_status == o.status
    assert exit_code([o]) == 0
    assert o.headline() == "example.com: no change"


def test_spf_record_edited(dns_server: DnsTestServer, tmp_path: Path) -> None:
    edited = '@ IN TXT "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 -all"\n'
    o = twice(dns_server, tmp_path, ZONE + SPF + DMARC, ZONE + edited + DMARC)
    assert kinds(o) == [("spf", "record-edited")]
    c = o.changes[0]
    assert c.before == "v=spf1 ip4:192.0.2.0/24 -all"
    assert c.after == "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 -all"
    assert "SPF record of example.com was edited" in c.text and not c.worse
    assert exit_code([o]) == 1 and "something changed" in o.headline()


def test_dmarc_record_removed_and_status_worse(dns_server: DnsTestServer, tmp_path: Path) -> None:
    o = twice(dns_server, tmp_path, ZONE + SPF + DMARC, ZONE + SPF)
    assert ("dmarc", "record-removed") in kinds(o) and ("dmarc", "status-worse") in kinds(o)
    worse = next(c for c in o.changes if c.kind == "status-worse")
    assert worse.before == "pass" and worse.after == "fail"
    assert "DMARC for example.com got worse: it was pass, now it is fail." == worse.text
    assert o.worse and exit_code([o]) == 1 and "got worse" in o.headline()
    assert o.message().splitlines()[0] == worse.text or o.changes[0].worse


def test_status_worse_with_the_record_edited(dns_server: DnsTestServer, tmp_path: Path) -> None:
    o = twice(dns_server, tmp_path, ZONE + SPF + DMARC, ZONE + '@ IN TXT "v=spf1 +all"\n' + DMARC)
    assert kinds(o) == [("spf", "record-edited"), ("spf", "status-worse")]
    assert o.diffs["spf"].trend == "worse"


def test_dkim_key_appeared(dns_server: DnsTestServer, tmp_path: Path) -> None:
    o = twice(dns_server, tmp_path, ZONE + SPF + DMARC, ZONE + SPF + DMARC + dkim_line(KEY_A))
    # the key change, not a second "record added" line for the same key
    assert ("dkim", "dkim-key-appeared") in kinds(o)
    assert ("dkim", "record-added") not in kinds(o)
    c = next(c for c in o.changes if c.kind == "dkim-key-appeared")
    assert "selector 'google'" in c.text and c.after and len(c.after) == 16


def test_dkim_key_vanished(dns_server: DnsTestServer, tmp_path: Path) -> None:
    o = twice(dns_server, tmp_path, ZONE + SPF + DMARC + dkim_line(KEY_A), ZONE + SPF + DMARC)
    assert ("dkim", "dkim-key-vanished") in kinds(o)
    assert ("dkim", "record-removed") not in kinds(o)
    c = next(c for c in o.changes if c.kind == "dkim-key-vanished")
    assert c.worse and "no longer published" in c.text and "fail DKIM" in c.text
    assert exit_code([o]) == 1


def test_dkim_key_replaced(dns_server: DnsTestServer, tmp_path: Path) -> None:
    o = twice(dns_server, tmp_path, ZONE + SPF + DMARC + dkim_line(KEY_A), ZONE + SPF + DMARC + dkim_line(KEY_B))
    assert kinds(o) == [("dkim", "dkim-key-replaced")]


def test_dkim_key_at_a_watched_selector(dns_server: DnsTestServer, tmp_path: Path) -> None:
    """A selector no catalog knows, given in the watch entry, is checked and its key followed."""
    wl = WatchList(tmp_path / "watchlist.json")
    wl.add("example.com", 3600, ["mykey2026"])
    history = History(tmp_path / "h.sqlite3")
    dns_server.replace_zone("example.com", ZONE + SPF + DMARC + dkim_line(KEY_A, "mykey2026"))
    run(run_watchlist(options(dns_server), history, now=T0, watchlist=wl))
    dns_server.replace_zone("example.com", ZONE + SPF + DMARC)
    [o] = run(run_watchlist(options(dns_server), history, now=T0 + timedelta(days=1), watchlist=wl))
    assert [(c.kind, "mykey2026" in c.text) for c in o.changes if c.kind.startswith("dkim-key")] == [
        ("dkim-key-vanished", True)]
    # the selector the user named is now missing: DKIM warns, which is worse than before
    assert ("dkim", "status-worse") in kinds(o)


def test_a_key_found_by_a_manual_check_is_followed_by_the_watch(dns_server: DnsTestServer, tmp_path: Path) -> None:
    """The app's own check found a key at a selector the watch entry doesn't name: the watch asks it
    again (from the history), so there is no false "vanished", and a real removal is seen."""
    from inboxready.core.checks.runner import run_check

    history = History(tmp_path / "h.sqlite3")
    dns_server.replace_zone("example.com", ZONE + SPF + DMARC + dkim_line(KEY_A, "mykey2026"))
    manual = run(run_check("example.com", options(dns_server, dkim_selectors=["mykey2026"])))
    assert manual.checks["dkim"].status.value == "pass"
    history.add(manual)
    wl = WatchList(tmp_path / "w.json")
    wl.add("example.com", 3600)  # no selector given
    [o] = run(run_watchlist(options(dns_server), history, now=T0, watchlist=wl))
    assert o.changes == []
    dns_server.replace_zone("example.com", ZONE + SPF + DMARC)
    [o] = run(run_watchlist(options(dns_server), history, now=T0 + timedelta(days=1), watchlist=wl))
    assert ("dkim", "dkim-key-vanished") in kinds(o)


def test_a_selector_not_asked_this_time_is_not_reported_gone() -> None:
    from inboxready.core.monitor.watchlist import changes_between

    record = "v=DKIM1; k=rsa; p=" + KEY_A
    found = {"selector": "mykey2026", "host": "mykey2026._domainkey.example.com", "cname": None, "key_type": "rsa",
             "key_bits": 2048, "testing": False, "revoked": False, "provider": None, "record": record,
             "status": "pass"}

    def report(selectors: list[str], with_key: bool) -> dict:  # type: ignore[type-arg]
        return {"domain": "example.com", "started": "2026-11-01T08:00:00+00:00", "status": "pass", "checks": {
            "dkim": {"name": "dkim", "status": "pass" if with_key else "info", "summary": "", "findings": [],
                     "records": [f"mykey2026._domainkey.example.com: {record}"] if with_key else [],
                     "detail": {"selectors": selectors, "found": [found] if with_key else [], "unchecked": []}}}}

    changes, _ = changes_between(report(["mykey2026", "google"], True), report(["google"], False))
    assert changes == []
    changes, _ = changes_between(report(["mykey2026", "google"], True), report(["mykey2026", "google"], False))
    assert [c.kind for c in changes] == ["dkim-key-vanished"]


def test_couldnt_check_is_not_a_change_and_exits_2(dns_server: DnsTestServer, tmp_path: Path) -> None:
    wl = WatchList(tmp_path / "watchlist.json")
    wl.add("example.com", 3600)
    history = History(tmp_path / "h.sqlite3")
    dns_server.replace_zone("example.com", ZONE + SPF + DMARC)
    run(run_watchlist(options(dns_server), history, now=T0, watchlist=wl))
    dns_server.servfail_names.add("example.com/TXT")
    [o] = run(run_watchlist(options(dns_server, timeout=0.5), history, now=T0 + timedelta(days=1), watchlist=wl))
    assert "spf" in o.unchecked and o.couldnt_check
    assert not any(c.check == "spf" for c in o.changes)
    assert exit_code([o]) == 2 and "couldn't" in o.headline()


# -- the list, intervals, due ---------------------------------------------------------------------


@pytest.mark.parametrize("text,seconds", [("6h", 21600), ("1d", 86400), ("30m", 1800), ("2w", 1209600),
                                          ("12", 43200), (" 3 days ", 259200), ("90d", 90 * 86400)])
def test_parse_interval(text: str, seconds: int) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "1y", "0h", "1m", "91d", "h", "-1d", "1.5h"])
def test_bad_interval(text: str) -> None:
    with pytest.raises(IntervalError):
        parse_interval(text)


def test_format_interval_round_trips() -> None:
    for s in (300, 1800, 3600, 21600, 86400, 604800):
        assert parse_interval(format_interval(s)) == s


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_parse_interval_never_raises_anything_else(text: str) -> None:
    try:
        parse_interval(text)
    except IntervalError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4),
                    max_leaves=12))
def test_entry_from_arbitrary_json_never_raises(data: object) -> None:
    e = WatchEntry.from_json(data)
    assert e is None or isinstance(e, WatchEntry)


def test_due_follows_the_interval_and_enabled(tmp_path: Path) -> None:
    wl = WatchList(tmp_path / "w.json")
    wl.add("https://mail.Example.com/contact", 6 * 3600, ["s1"])
    wl.add("example.org", 86400)
    wl.add("example.net", 86400, enabled=False)
    assert [e.domain for e in wl.entries] == ["mail.example.com", "example.org", "example.net"]
    assert [e.domain for e in wl.due(T0)] == ["mail.example.com", "example.org"]  # never run: due now
    wl.mark_run("mail.example.com", T0, "pass")
    wl.mark_run("example.org", T0, "warn")
    assert wl.due(T0 + timedelta(hours=5, minutes=59)) == []
    assert [e.domain for e in wl.due(T0 + timedelta(hours=6))] == ["mail.example.com"]
    assert {e.domain for e in wl.due(T0 + timedelta(days=1))} == {"mail.example.com", "example.org"}
    again = WatchList(tmp_path / "w.json")  # saved at once
    e = again.get("mail.example.com")
    assert e is not None and e.last_run == "2026-11-01T08:00:00+00:00" and e.selectors == ["s1"]
    assert again.get("example.net").enabled is False  # type: ignore[union-attr]
    assert again.remove("example.org") and not again.remove("example.org")
    assert [x.domain for x in WatchList(tmp_path / "w.json").entries] == ["mail.example.com", "example.net"]


def test_add_rejects_bad_input(tmp_path: Path) -> None:
    wl = WatchList(tmp_path / "w.json")
    with pytest.raises(ValueError):
        wl.add("not a domain", 3600)
    with pytest.raises(ValueError):
        wl.add("example.com", 3600, ["bad selector!"])
    with pytest.raises(IntervalError):
        wl.add("example.com", 60)
    assert wl.entries == []


def test_damaged_file_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text("{ not json")
    wl = WatchList(path)
    assert wl.entries == [] and "damaged" in wl.problem
    assert list(tmp_path.glob("w.json.damaged-*"))
    wl.add("example.com")
    assert json.loads(path.read_text())["domains"][0]["domain"] == "example.com"


def test_run_only_due_and_marks_last_run(dns_server: DnsTestServer, tmp_path: Path) -> None:
    dns_server.replace_zone("example.com", ZONE + SPF + DMARC)
    wl = WatchList(tmp_path / "w.json")
    wl.add("example.com", 86400)
    history = History(tmp_path / "h.sqlite3")
    assert len(run(run_watchlist(options(dns_server), history, now=T0, watchlist=wl))) == 1
    assert run(run_watchlist(options(dns_server), history, now=T0 + timedelta(hours=2), watchlist=wl)) == []
    forced = run(run_watchlist(options(dns_server), history, now=T0 + timedelta(hours=2), watchlist=wl,
                               only_due=False))
    assert len(forced) == 1 and forced[0].previous_status is not None
    assert len(history.runs("example.com")) == 2
    assert WatchList(tmp_path / "w.json").get("example.com").last_run.startswith("2026-11-01T10:00")  # type: ignore[union-attr]


# -- the CLI --------------------------------------------------------------------------------------




def test_cli_add_list_remove(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    assert cli("watchlist", "add", "example.com", "--every", "6h", "-s", "s1")[0] == 0
    assert cli("watchlist", "add", "example.org")[0] == 0
    code, out, _ = cli("watchlist", "list", "--json")
    data = json.loads(out)
    assert code == 0 and [(d["domain"], d["every"], d["selectors"]) for d in data["domains"]] == [
        ("example.com", "6h", ["s1"]), ("example.org", "1d", [])]
    code, out, _ = cli("watchlist", "list")
    assert code == 0 and "example.com" in out and "every 6 hours" in out
    assert cli("watchlist", "add", "example.com", "--every", "1y")[0] == 2
    assert cli("watchlist", "remove", "example.org")[0] == 0
    code, _, err = cli("watchlist", "remove", "example.org")
    assert code == 2 and "not on the watch list" in err


def test_cli_run_exit_codes(dns_server: DnsTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    ns = ["-n", dns_server.address, "--timeout", "0.5"]
    dns_server.replace_zone("example.com", ZONE + SPF + DMARC)
    assert cli("watchlist", "add", "example.com", "--every", "1d")[0] == 0
    code, out, _ = cli("watchlist", "run", *ns)
    assert code == 0 and out.startswith("example.com: first check (warning)")  # nothing to compare with yet
    code, out, _ = cli("watchlist", "run", *ns)
    assert code == 0 and "no domain is due" in out.lower()  # checked a moment ago
    code, out, _ = cli("watchlist", "run", "--all", *ns)
    assert code == 0 and "no change" in out.lower()
    dns_server.replace_zone("example.com", ZONE + SPF)
    code, out, _ = cli("watchlist", "run", "--all", "--json", *ns)
    data = json.loads(out)
    assert code == 1 and data["exit_code"] == 1
    assert {c["kind"] for c in data["outcomes"][0]["changes"]} >= {"record-removed", "status-worse"}
    dns_server.servfail_names.add("example.com/TXT")
    code, out, _ = cli("watchlist", "run", "--all", *ns)
    assert code == 2 and "couldn't" in out.lower()


@pytest.mark.parametrize("how", ["timeout", "servfail"])
def test_a_selector_that_cannot_be_looked_up_is_not_gone(dns_server: DnsTestServer, tmp_path: Path,
                                                         how: str) -> None:
    """Issue 12 #6: a DKIM selector whose lookup times out or SERVFAILs is neither "vanished" in the watch
    list nor "stopped answering" in the reminders, while another key still answers."""
    from inboxready.core.monitor.reminders import reminders_for

    wl = WatchList(tmp_path / "watchlist.json")
    wl.add("example.com", 3600)
    history = History(tmp_path / "history.sqlite3")
    dns_server.replace_zone("example.com", ZONE + SPF + DMARC + dkim_line(KEY_A) + dkim_line(KEY_B, "selector1"))
    run(run_watchlist(options(dns_server), history, now=T0, watchlist=wl))
    getattr(dns_server, f"{how}_names").add("selector1._domainkey.example.com")
    [o] = run(run_watchlist(options(dns_server, timeout=0.3), history, now=T0 + timedelta(days=1), watchlist=wl))
    assert not [c for c in o.changes if c.check == "dkim"], [c.text for c in o.changes]
    assert not [r for r in reminders_for(history, "example.com", now=T0 + timedelta(days=2))
                if r.kind == "selector-gone"]
    history.close()


def test_an_entry_that_cant_be_used_is_kept_shown_and_removable(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Review: a domain with a control character made 'list' say "empty", and the next 'add' rewrote the
    file without it. It stays in the file, 'list' names it (exit 2), and 'remove' takes it out."""
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    from inboxready.core.store.settings import config_dir

    path = config_dir() / "watchlist.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    bad = {"domain": "exa\u0001mple.com", "interval": 3600, "note": "hand-edited"}
    path.write_text(json.dumps({"version": 1, "domains": [bad]}), encoding="utf-8")
    code, out, err = cli("watchlist", "list")
    assert code == 2 and "empty" not in out.lower()
    assert "can't be used" in out and "can't be used" in err and "\x01" not in out + err
    code, out, _ = cli("watchlist", "list", "--json")
    assert code == 2 and json.loads(out)["unusable"] == ["exa\u0001mple.com"]
    assert cli("watchlist", "add", "example.org")[0] == 0
    kept = json.loads(path.read_text(encoding="utf-8"))["domains"]
    assert bad in kept and any(d.get("domain") == "example.org" for d in kept)
    code, out, _ = cli("watchlist", "run", "-n", "127.0.0.1:9", "--timeout", "0.2")  # example.org can't be checked
    assert code == 2
    assert cli("watchlist", "remove", "exa\u0001mple.com")[0] == 0
    assert [d["domain"] for d in json.loads(path.read_text(encoding="utf-8"))["domains"]] == ["example.org"]


def test_a_failing_first_check_is_news_for_the_scheduler(dns_server: DnsTestServer, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    ns = ["-n", dns_server.address, "--timeout", "0.5"]
    dns_server.replace_zone("example.com", ZONE + '@ IN TXT "v=spf1 +all"\n' + DMARC)  # SPF fails
    assert cli("watchlist", "add", "example.com", "--only", "spf,dmarc,mx")[0] == 0
    code, out, _ = cli("watchlist", "run", "--json", *ns)
    data = json.loads(out)
    assert code == 1 and data["exit_code"] == 1
    (o,) = data["outcomes"]
    assert o["status"] == "fail" and o["first_problem"] is True and "broken" in o["message"]
    code, out, _ = cli("watchlist", "run", "--all", *ns)
    assert code == 0 and "no change" in out.lower()  # the same failure again is not news


# -- an MTA-STS policy file that changed while the record's id did not -------------------------------------

STS_ZONE = """$TTL 300
@        IN MX  10 mx1.example.com.
@        IN MX  20 mx2.example.com.
mx1      IN A   192.0.2.25
mx2      IN A   192.0.2.26
_mta-sts IN TXT "v=STSv1; id={id};"
mta-sts  IN A   127.0.0.1
"""
STS_PATH = "/.well-known/mta-sts.txt"


def _sts_policy(mode: str, *mx: str, max_age: int = 604800) -> str:
    return "version: STSv1\r\nmode: " + mode + "\r\n" + "".join(f"mx: {m}\r\n" for m in mx) + f"max_age: {max_age}\r\n"


def test_changed_mta_sts_policy_with_the_same_id_is_a_change_with_a_new_id_to_publish(
        dns_server: DnsTestServer, tmp_path: Path) -> None:
    from inboxready.core.monitor.watchlist import check_entry
    from inboxready.core.records.mta_sts import parse_sts_record

    from ...httpsserver import HttpsTestServer

    with HttpsTestServer(tmp_path, ["mta-sts.example.com"]) as web:
        options = CheckOptions(nameservers=[dns_server.address], timeout=2.0, checks=("mta_sts",),
                               ca_file=str(web.ca_file), https_port=web.port, connect_timeout=2.0)
        history = History(tmp_path / "history.sqlite3")
        entry = WatchEntry("example.com")

        def one_run(policy: str, sid: str):  # type: ignore[no-untyped-def]
            web.route(STS_PATH, policy)
            dns_server.replace_zone("example.com", STS_ZONE.replace("{id}", sid))
            return run(check_entry(entry, options, history))

        try:
            first = one_run(_sts_policy("testing", "mx1.example.com", max_age=86400), "20260101")
            assert not first.changes  # nothing to compare with yet
            # the file changes (enforce, a new server), the id stays: senders keep the cached testing policy
            second = one_run(_sts_policy("enforce", "mx1.example.com", "mx2.example.com"), "20260101")
            (change,) = [c for c in second.changes if c.kind == "mta-sts-same-id"]
            assert change.worse and second.worse
            assert "mode testing → enforce" in change.text and "mx added: mx2.example.com" in change.text
            assert "'20260101'" in change.text and "up to 1 day" in change.text  # the cached (old) max_age
            fix = change.fix
            assert fix is not None and fix["host"] == "_mta-sts.example.com" and fix["action"] == "replace"
            new = parse_sts_record(fix["value"]).id
            assert new and new != "20260101"
            # the same changed file once more: no new change (it was said once)
            third = one_run(_sts_policy("enforce", "mx1.example.com", "mx2.example.com"), "20260101")
            assert not [c for c in third.changes if c.kind == "mta-sts-same-id"]
            # the file changes again and the id with it: all is well
            fourth = one_run(_sts_policy("enforce", "mx1.example.com", "mx2.example.com", max_age=1209600), new)
            assert not [c for c in fourth.changes if c.kind == "mta-sts-same-id"]
            # the id unchanged and only the line endings of the file differ: nothing a sender would see
            fifth = one_run(_sts_policy("enforce", "mx1.example.com", "mx2.example.com", max_age=1209600)
                            .replace("\r\n", "\n"), new)
            assert not [c for c in fifth.changes if c.kind == "mta-sts-same-id"]
        finally:
            history.close()
