"""Issue 13, items 10, 11, 12, 17: faults are a sentence and an exit code, options are checked, the watch
list survives odd times and leaves checks out on request, and a private key is never written through a
link. Config files are 0600 in 0700 folders."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path

import pytest

from inboxready.core.dns.server import DnsTestServer
from inboxready.core.store.settings import HOME_ENV
from inboxready.core.monitor.watchlist import WatchEntry, WatchList
from ...helpers.cli import cli

ZONE = """
@        SOA ns1 hostmaster 1 3600 600 86400 300
@        MX 10 mx1
mx1      A 192.0.2.1
@        TXT "v=spf1 mx -all"
_dmarc   TXT "v=DMARC1; p=reject; rua=mailto:d@watch.test"
"""




@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    return tmp_path


@pytest.fixture
def zone(dns_server: DnsTestServer) -> DnsTestServer:
    dns_server.add_zone("watch.test", ZONE)
    return dns_server


# -- item 11: options ------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["check", "x.test", "--timeout", "nan"],
    ["check", "x.test", "--timeout", "inf", "--deadline", "inf"],
    ["check", "x.test", "--deadline", "inf"],
    ["check", "x.test", "--deadline", "nan"],
    ["check", "x.test", "--timeout", "-1"],
    ["check", "x.test", "--timeout", "1e309"],
    ["check", "x.test", "--concurrency", "0"],
    ["check", "x.test", "-n", "bogus"],
    ["reports", "summary", "x.test", "--nameserver", "bogus"],
    ["reports", "summary", "x.test", "--timeout", "nan"],
    ["reports", "summary", "x.test", "--days", "99999999999"],
    ["reports", "watch", "--read-profile", "p", "--every", "nan"],
    ["reports", "watch", "--read-profile", "p", "--every", "inf"],
    ["watchlist", "run", "--timeout", "inf"],
    ["roundtrip", "--send-profile", "a", "--read-profile", "b", "--timeout", "nan"],
    ["watch", "--read-profile", "b", "--timeout", "inf"],
    ["build", "spf", "--service", "google", "--timeout", "nan"],
])
def test_bad_numbers_and_nameservers_are_refused_before_anything_runs(argv: list[str], home: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(*argv)
    assert code == 2
    assert "error: argument" in err and "Traceback" not in err + capsys.readouterr().err


def test_only_and_skip_that_leave_nothing_are_an_error(home: Path, zone: DnsTestServer) -> None:
    code, out, err = cli("check", "watch.test", "--only", "spf", "--skip", "spf", "-n", zone.address)
    assert code == 2 and out == "" and "leaves no check to run" in err
    code, out, err = cli("check", "watch.test", "--only", "spf,dmarc", "--skip", "spf,dmarc", "--json")
    assert code == 2 and "leaves no check to run" in json.loads(out)["error"]  # the error as JSON, not nothing
    code, out, err = cli("watchlist", "run", "--only", "spf", "--skip", "spf")
    assert code == 2 and "leaves no check to run" in err


def test_reports_summary_with_a_good_nameserver_still_works(home: Path) -> None:
    code, _, err = cli("reports", "summary", "nothing.test", "--nameserver", "127.0.0.1:9")
    assert code == 2 and "no DMARC reports about nothing.test" in err  # gets past the option check


# -- item 12: the watch list ---------------------------------------------------------------------------


def _set_last_run(home: Path, value: str) -> None:
    path = home / "config" / "watchlist.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["domains"][0]["last_run"] = value
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59+00:00", "2099-01-01T00:00:00+00:00", "not a time",
                                  "0001-01-01T00:00:00"])
def test_a_last_run_in_the_far_future_or_unreadable_is_checked_now(when: str, home: Path,
                                                                    zone: DnsTestServer) -> None:
    assert cli("watchlist", "add", "watch.test", "--only", "spf,dmarc")[0] == 0
    _set_last_run(home, when)
    code, out, err = cli("watchlist", "run", "--json", "-n", zone.address, "--timeout", "1")
    data = json.loads(out)
    assert [o["domain"] for o in data["outcomes"]] == ["watch.test"], err  # due now, not never, no crash
    assert data["outcomes"][0]["status"] == "pass"
    entry = WatchList().get("watch.test")
    assert entry is not None and entry.last_run[:4] not in ("9999", "2099")
    code, out, err = cli("watchlist", "run", "-n", zone.address)
    assert code == 0 and "No domain is due" in out  # and then not again until its interval has passed
    assert WatchEntry("x.test", last_run="9999-12-31T23:59:59+00:00").next_due() is None


def test_watchlist_run_only_skip_and_a_domains_own_choice(home: Path, zone: DnsTestServer) -> None:
    code, out, _ = cli("watchlist", "add", "watch.test", "--skip", "starttls,rdns,mta-sts")
    assert code == 0 and "without MTA-STS, Reverse DNS, STARTTLS" in out
    code, out, _ = cli("watchlist", "list", "--json")
    assert json.loads(out)["domains"][0]["skip"] == ["mta_sts", "rdns", "starttls"]
    code, out, err = cli("watchlist", "run", "--all", "--json", "-n", zone.address, "--timeout", "1",
                         "--skip", "bimi,dnssec,tls-rpt")
    checks = set(json.loads(out)["outcomes"][0]["diffs"])
    assert checks == {"spf", "dkim", "dmarc", "mx"}  # its own choice kept, the run's added to it
    code, out, err = cli("watchlist", "run", "--all", "--json", "-n", zone.address, "--timeout", "1",
                         "--only", "spf,starttls")
    assert set(json.loads(out)["outcomes"][0]["diffs"]) == {"spf"}  # STARTTLS stays out for this domain
    code, out, err = cli("watchlist", "run", "--all", "--json", "-n", zone.address, "--only", "starttls")
    outcome = json.loads(out)["outcomes"][0]
    assert code == 2 and outcome["error"] and "No check is left" in outcome["error"]


# -- item 10: faults -----------------------------------------------------------------------------------


def _refuse_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The config folder as on a read-only file system (root ignores permission bits, so the refusal is
    made where the file is created)."""
    def mkstemp(*args: object, **kwargs: object) -> tuple[int, str]:
        raise OSError(30, "Read-only file system")
    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


def test_read_only_config_folder_is_a_sentence(home: Path, zone: DnsTestServer, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("watchlist", "add", "watch.test", "--only", "spf")[0] == 0
    before = (home / "config" / "watchlist.json").read_bytes()
    _refuse_writes(monkeypatch)
    code, out, err = cli("watchlist", "add", "other.test")
    assert code == 2 and "could not be saved" in err and "Read-only file system" in err
    code, out, err = cli("watchlist", "run", "-n", zone.address, "--timeout", "1")
    assert code == 2 and "watch.test" in out  # checked, and said that the time couldn't be kept
    assert "The time of this run was not recorded" in err
    code, out, err = cli("watchlist", "remove", "watch.test")
    assert code == 2 and "Nothing was changed" in err
    assert "Traceback" not in capsys.readouterr().err
    assert (home / "config" / "watchlist.json").read_bytes() == before  # nothing lost


def test_state_files_that_are_folders(home: Path, zone: DnsTestServer, capsys: pytest.CaptureFixture[str]) -> None:
    (home / "config" / "watchlist.json").mkdir(parents=True)
    code, out, err = cli("watchlist", "add", "watch.test")
    assert code == 2 and "could not be read" in err and "folder is in the way" in err
    code, out, err = cli("watchlist", "run", "-n", zone.address)
    assert code == 2 and "could not be read" in err and "empty" not in out
    code, out, err = cli("watchlist", "list")
    assert code == 2
    assert (home / "config" / "watchlist.json").is_dir()  # nothing moved away
    # the config folder itself a file
    (home / "config" / "watchlist.json").rmdir()
    (home / "config").rmdir()
    (home / "config").write_text("not a folder")
    code, out, err = cli("watchlist", "add", "watch.test")
    assert code == 2 and "a file is in the way of the folder" in err
    assert "Traceback" not in capsys.readouterr().err


def test_config_files_are_private(home: Path) -> None:
    assert cli("watchlist", "add", "watch.test")[0] == 0
    folder, path = home / "config", home / "config" / "watchlist.json"
    if os.name == "posix":
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        os.chmod(folder, 0o755)  # left open by an older version: tightened at the next save
        assert cli("watchlist", "add", "watch.test", "--every", "6h")[0] == 0
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


# -- item 17: never write a private key through a link -----------------------------------------------------


def test_build_dkim_overwrite_does_not_follow_a_symlink(tmp_path: Path) -> None:
    precious = tmp_path / "authorized_keys"
    precious.write_text("ssh-ed25519 AAAA precious\n")
    link = tmp_path / "dkim.pem"
    link.symlink_to(precious)
    code, out, err = cli("build", "dkim", "example.com", "--type", "ed25519", "--private-key-out", str(link),
                         "--overwrite")
    assert code == 2 and "symbolic link" in err
    assert precious.read_text() == "ssh-ed25519 AAAA precious\n" and link.is_symlink()
    code, out, err = cli("build", "dkim", "example.com", "--type", "ed25519", "--private-key-out", str(link))
    assert code == 2 and precious.read_text() == "ssh-ed25519 AAAA precious\n"
    # a dangling link is refused too (it would create the file wherever it points)
    dangling = tmp_path / "dangling.pem"
    dangling.symlink_to(tmp_path / "elsewhere.pem")
    assert cli("build", "dkim", "example.com", "--type", "ed25519", "--private-key-out", str(dangling))[0] == 2
    assert not (tmp_path / "elsewhere.pem").exists()


def test_build_dkim_overwrite_replaces_a_file_and_not_its_hard_links(tmp_path: Path) -> None:
    old = tmp_path / "old.pem"
    old.write_text("old key\n")
    other = tmp_path / "other-name"
    os.link(old, other)
    code, out, err = cli("build", "dkim", "example.com", "--type", "ed25519", "--private-key-out", str(old),
                         "--overwrite")
    assert code == 0, err
    assert old.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert other.read_text() == "old key\n"  # the other name keeps its content
    if os.name == "posix":
        assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_check_ends_within_its_deadline_on_a_slow_dns_server(zone: DnsTestServer, home: Path) -> None:
    """--deadline bounds the whole command: the DNS host lookup that follows the checks gets only what is
    left of it (it took up to 4 x --timeout more: 12 s for --deadline 2 on a server answering in 1.2 s)."""
    import time

    zone.add_zone("watch.test", "@ NS ns1\nns1 A 192.0.2.53\n")
    zone.latency = 1.2
    started = time.monotonic()
    code, out, _ = cli("check", "watch.test", "-n", zone.address, "--timeout", "4", "--deadline", "2",
                       "--only", "spf,mx", "--color", "never")
    took = time.monotonic() - started
    assert "SPF" in out and "MX" in out  # the checks ran (and said what they could)
    assert took < 2 + 1 + 1.5, f"--deadline 2 took {took:.1f} s"  # the deadline, its grace, start-up
