"""The first hour, continued (h11): what a newcomer met on the command line with the network gone or
misbehaving, each fixed and kept fixed here."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from inboxready.app.cli import main
from inboxready.core.dns.server import DnsTestServer
from tests.helpers.zones import MAIL_BASE


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("how", ["servfail", "timeout"])
def test_build_spf_offers_no_record_when_the_current_one_cannot_be_read(dns_server: DnsTestServer, how: str) -> None:
    # the domain already has an SPF record listing its own servers; the TXT lookup fails. The builder used to
    # print "SPF record: v=spf1 include:_spf.google.com ~all" as the record: pasted, it wipes out mx and
    # ip4:192.0.2.77, and their mail stops passing SPF
    dns_server.add_zone("example.com", "\n" + MAIL_BASE + '@ IN TXT "v=spf1 mx ip4:192.0.2.77 ~all"\n')
    getattr(dns_server, f"{how}_names").add("example.com/TXT")
    code, out, err = _run("build", "spf", "--service", "google", "--domain", "example.com", "--flatten",
                          "-n", dns_server.address, "--timeout", "0.5")
    assert code == 2, out + err
    text = " ".join(out.split())
    assert "Not ready to publish: we couldn't read the current SPF record of example.com" in text
    assert "v=spf1" not in out and "Publish:" not in out and "Flattened" not in out
    # nor in JSON: "record" is null there, the draft is said as one
    code, out, _ = _run("build", "spf", "--service", "google", "--domain", "example.com", "-n", dns_server.address,
                        "--timeout", "0.5", "--json")
    data = json.loads(out)
    assert code == 2 and data["record"] is None and data["current_unread"] is True and data["fix"] is None
    assert data["draft"] == "v=spf1 include:_spf.google.com ~all"
    # the same run with the record readable still gives the merged record to publish
    getattr(dns_server, f"{how}_names").clear()
    code, out, _ = _run("build", "spf", "--service", "google", "--domain", "example.com", "-n", dns_server.address,
                        "--timeout", "0.5", "--json")
    data = json.loads(out)
    assert "ip4:192.0.2.77" in data["record"] and data["fix"]["action"] == "replace"


def test_watchlist_run_says_when_its_check_could_not_be_kept(dns_server: DnsTestServer, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # another program holds the history in a write transaction for longer than a save waits: the run used to
    # print "no change", exit 0 (nothing to do, for the scheduler) and keep nothing, without a word
    from inboxready.core.store import history as history_mod
    from tests.core.cli.test_cli_faults import ZONE
    from tests.dbhold import hold

    monkeypatch.setenv("INBOXREADY_HOME", str(tmp_path))
    dns_server.add_zone("watch.test", ZONE)
    common = ["-n", dns_server.address, "--timeout", "1", "--only", "spf,dmarc,mx"]
    assert _run("watchlist", "add", "watch.test")[0] == 0
    code, out, err = _run("watchlist", "run", "--all", *common)
    assert code == 0 and "first check" in out, out + err
    path = tmp_path / "data" / "history.sqlite3"
    monkeypatch.setattr(history_mod, "WAIT_S", 0.5)
    with hold(path, "INSERT INTO checks (domain, started, status, report) VALUES ('x.test', '', 'pass', '{}')"):
        code, out, err = _run("watchlist", "run", "--all", *common)
        assert code == 2, out + err
        text = " ".join(err.split())
        assert "could not be saved to the history" in text and "in use by another InboxReady" in text
        assert "compares with the last check that was kept" in text
        code, out, err = _run("watchlist", "run", "--all", *common, "--json")
        assert code == 2 and json.loads(out)["exit_code"] == 2
    # nothing was moved aside, and the next run is kept again
    assert sorted(p.name for p in path.parent.iterdir() if ".damaged" in p.name) == []
    code, out, err = _run("watchlist", "run", "--all", *common)
    assert code == 0 and "no change" in out and err == "", out + err


def _old_report(begin: int, end: int) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <report_metadata><org_name>receiver.test</org_name><email>dmarc@receiver.test</email>
    <report_id>old-1</report_id><date_range><begin>{begin}</begin><end>{end}</end></date_range></report_metadata>
  <policy_published><domain>shop.test</domain><p>none</p></policy_published>
  <record><row><source_ip>192.0.2.10</source_ip><count>3</count>
    <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>
    <identifiers><header_from>shop.test</header_from></identifiers>
    <auth_results><dkim><domain>shop.test</domain><result>pass</result></dkim>
      <spf><domain>shop.test</domain><result>pass</result></spf></auth_results></record>
</feedback>
"""


def test_old_reports_are_found_by_the_summary_the_import_suggests(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # a newcomer imports last year's reports and runs the "Next:" line: it said "no DMARC reports in the last
    # 30 days" and nothing more, as if the import had lost them
    import time

    monkeypatch.setenv("INBOXREADY_HOME", str(tmp_path))
    begin = int(time.time()) - 400 * 86400
    path = tmp_path / "old.xml"
    path.write_text(_old_report(begin, begin + 86400))
    code, out, err = _run("reports", "import", str(path))
    assert code == 0, out + err
    (next_line,) = [line for line in out.splitlines() if line.startswith("Next: ")]
    command = next_line.removeprefix("Next: inboxready ").split()
    assert command[:3] == ["reports", "summary", "shop.test"] and command[3] == "--days"
    assert 400 <= int(command[4]) <= 402
    code, out, err = _run(*command, "--offline")
    assert code == 0 and "DMARC reports for shop.test" in out, out + err
    # without --days: the summary says where the reports are and how to see them
    code, out, err = _run("reports", "summary", "shop.test", "--offline")
    text = " ".join(err.split())
    assert code == 2 and "no DMARC reports about shop.test in the last 30 days" in text
    assert "The 1 stored report(s) about shop.test are older" in text
    assert f"inboxready reports summary shop.test --days {command[4]}" in text
    # recent reports need no --days
    path.write_text(_old_report(int(time.time()) - 2 * 86400, int(time.time()) - 86400).replace("old-1", "new-1"))
    code, out, _ = _run("reports", "import", str(path))
    assert code == 0 and "Next: inboxready reports summary shop.test\n" in out


def test_a_profile_on_a_computer_without_keyring_is_saved_without_its_password(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_keyring: None) -> None:
    # the help said "for a single run, the command line reads the password from INBOXREADY_PASSWORD", but
    # `profile add` refused to save anything without a keyring, so no run could ever name the profile
    monkeypatch.setenv("INBOXREADY_HOME", str(tmp_path))
    monkeypatch.setenv("INBOXREADY_PASSWORD", "pw-8Hq2-secret")
    code, out, err = _run("profile", "add", "shop", "--smtp", "127.0.0.1:9", "--security", "none",
                          "--user", "news@shop.test")
    text = " ".join(out.split())
    assert code == 1, out + err
    assert "Saved sending profile 'shop'" in text and "without its password" in text
    assert "INBOXREADY_SMTP_PASSWORD=... inboxready roundtrip --send-profile shop" in text
    saved = (tmp_path / "config" / "profiles.json").read_text()
    assert '"shop"' in saved and "pw-8Hq2-secret" not in saved + out + err
    code, out, _ = _run("profile", "list", "--json")
    assert code == 0 and [p["name"] for p in json.loads(out)] == ["shop"]
    # `profile test` takes the password from the environment as roundtrip does: it gets as far as the server
    # (nothing listens there), never to "no keyring"
    monkeypatch.setenv("INBOXREADY_SMTP_PASSWORD", "pw-8Hq2-secret")
    code, out, err = _run("profile", "test", "shop", "--timeout", "1")
    assert code == 1 and "keyring" not in (out + err).lower() and "pw-8Hq2-secret" not in out + err, out + err
    # the help for a computer without keyring names the variables the commands really read
    from inboxready.core.store.credentials import NO_KEYRING_HELP

    assert "INBOXREADY_SMTP_PASSWORD" in NO_KEYRING_HELP and "from the INBOXREADY_PASSWORD" not in NO_KEYRING_HELP


@pytest.mark.parametrize("ext", [".json", ".html"])
def test_a_report_that_cannot_be_written_leaves_the_one_saved_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     ext: str) -> None:
    # the disk fills up half way through `check --report audit.json`, which was last month's audit report:
    # the file was opened with "w" (emptied) first, so the old report was gone and a cut-off one was left
    import errno

    from inboxready.app.cli import check as check_mod
    from inboxready.core.policy.audit import AuditReport

    monkeypatch.setenv("INBOXREADY_HOME", str(tmp_path / "home"))
    path = tmp_path / f"audit{ext}"
    path.write_text("last month's report\n")

    def full(*_a: object, **_k: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    real_dump, real_html = json.dump, AuditReport.to_html

    def half_dump(obj: object, fh: Any, **kw: object) -> None:
        fh.write('{"report": ')
        fh.flush()
        full()

    def half_html(self: AuditReport) -> str:
        full()
        return ""

    monkeypatch.setattr(check_mod.json, "dump", half_dump)
    monkeypatch.setattr(AuditReport, "to_html", half_html)
    code, out, err = _run("check", "--demo", "demo-allgood.example", "--report", str(path), "-q")
    assert code == 2 and "couldn't save the report" in err and "No space left on device" in err, err
    assert path.read_text() == "last month's report\n"
    assert {p.name for p in tmp_path.iterdir()} - {"home"} == {path.name}  # no cut-off part left
    # with room again the report replaces the old one whole
    monkeypatch.setattr(check_mod.json, "dump", real_dump)
    monkeypatch.setattr(AuditReport, "to_html", real_html)
    code, out, err = _run("check", "--demo", "demo-allgood.example", "--report", str(path), "-q")
    assert code == 0 and "Report saved to" in err, err
    assert "demo-allgood.example" in path.read_text() and oct(path.stat().st_mode & 0o777) != "0o600"
    assert {p.name for p in tmp_path.iterdir()} - {"home"} == {path.name}
