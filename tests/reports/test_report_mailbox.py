"""Watching the rua mailbox against the real Dovecot fixture of tests/mail (report mails put in its Maildir)."""

from __future__ import annotations

import gzip
import io
import json

from email.message import EmailMessage
from pathlib import Path

import pytest

from inboxready.app.cli import main
from inboxready.core.mail.profiles import ProfileStore
from inboxready.core.reports.report_mailbox import account_key, fetch_reports, watch_reports
from inboxready.core.reports.store import ReportStore
from tests.conftest import run
from tests.mail.conftest import mail_world_session, read_profile  # noqa: F401 - the fixture is used by name
from tests.mail.servers import MailWorld
from tests.reports.reports_util import good_row, report_xml


def report_mail(report_id: str, *, gz: bool = True) -> bytes:
    xml = report_xml("google.com", report_id, "shop.test", 1_760_000_000, [good_row("203.0.113.5", 7)])
    msg = EmailMessage()
    msg["From"] = "noreply-dmarc-support@google.com"
    msg["To"] = "dmarc@shop.test"
    msg["Subject"] = f"Report domain: shop.test Submitter: google.com Report-ID: {report_id}"
    msg.set_content("This is an aggregate report from google.com.")
    if gz:
        msg.add_attachment(gzip.compress(xml), maintype="application", subtype="gzip",
                           filename=f"google.com!shop.test!1760000000!1760086399!{report_id}.xml.gz")
    else:
        msg.add_attachment(xml, maintype="text", subtype="xml", filename=f"{report_id}.xml")
    return msg.as_bytes()


def plain_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = "someone@example.com"
    msg["To"] = "dmarc@shop.test"
    msg["Subject"] = "Hello"
    msg.set_content("Not a report.")
    return msg.as_bytes()


@pytest.fixture
def mailbox(mail_world_session: MailWorld) -> MailWorld:  # noqa: F811
    """This module's Dovecot with an empty INBOX."""
    w = mail_world_session
    for sub in ("cur", "new"):
        for f in (w.dovecot.maildir / sub).iterdir():
            f.unlink()
    return w


def test_incremental_watch_with_move(mailbox: MailWorld, tmp_path: Path) -> None:
    w = mailbox
    for i in range(3):
        w.dovecot.deliver(report_mail(f"r{i}", gz=i != 1))
    w.dovecot.deliver(plain_mail())
    store = ReportStore(tmp_path / "db.sqlite3")
    rp = read_profile(w)
    progress: list[tuple[int, int]] = []
    first = fetch_reports(store, rp, password=w.dovecot.password, move_to="DMARC-done", io_timeout=10,
                          on_progress=lambda d, t: progress.append((d, t)))
    assert first.ok, first.error
    assert first.read == 4 and first.moved == 3
    assert sorted(i.report_id for i in first.result.imported) == ["r0", "r1", "r2"]
    assert len(first.result.rejected) == 1 and "no DMARC or TLS report attached" in first.result.rejected[0][1]
    assert progress[-1] == (4, 4)
    assert w.dovecot.count("INBOX") == 1  # the ordinary mail stays
    assert w.dovecot.count("DMARC-done") == 3
    assert store.imap_state(account_key(rp), "INBOX") == (first.uidvalidity, first.last_uid)
    # second run: nothing new is read
    second = fetch_reports(store, rp, password=w.dovecot.password, move_to="DMARC-done", io_timeout=10)
    assert second.ok and second.read == 0 and not second.result.imported and not second.result.rejected
    # a new mail arrives: only it is read
    w.dovecot.deliver(report_mail("r3"))
    third = run(watch_reports(store, rp, password=w.dovecot.password, io_timeout=10))
    assert third.ok and third.read == 1 and [i.report_id for i in third.result.imported] == ["r3"]
    assert third.moved == 0 and w.dovecot.count("INBOX") == 2
    fourth = fetch_reports(store, rp, password=w.dovecot.password, io_timeout=10)
    assert fourth.read == 0
    # the folder was recreated (new UIDVALIDITY): everything is read again, nothing stored twice
    store.set_imap_state(account_key(rp), "INBOX", first.uidvalidity + 1000, 10_000)
    again = fetch_reports(store, rp, password=w.dovecot.password, io_timeout=10)
    assert again.ok and again.read == 2
    assert not again.result.imported and [i.report_id for i in again.result.duplicate] == ["r3"]
    assert store.counts()["dmarc"] == 4
    json.dumps(again.to_json())
    store.close()


def test_wrong_password_is_reported_in_plain_words(mailbox: MailWorld, tmp_path: Path) -> None:
    store = ReportStore(tmp_path / "db.sqlite3")
    out = fetch_reports(store, read_profile(mailbox), password="wrong", io_timeout=10)
    assert not out.ok and out.error is not None
    assert out.error.stage == "auth" and out.error.message
    assert "wrong" not in out.error.detail
    store.close()


def test_cli_watch_once(mailbox: MailWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INBOXREADY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("INBOXREADY_IMAP_PASSWORD", mailbox.dovecot.password)
    profiles = ProfileStore()
    profiles.put(read_profile(mailbox, name="rua"))
    mailbox.dovecot.deliver(report_mail("cli-1"))
    out, err = io.StringIO(), io.StringIO()
    code = main(["reports", "watch", "--read-profile", "rua", "--once"], out=out, err=err)
    assert code == 0, err.getvalue()
    assert "read 1 new mail(s); imported 1 report(s)" in out.getvalue()
    out2 = io.StringIO()
    assert main(["reports", "watch", "--read-profile", "rua", "--once", "--json"], out=out2, err=io.StringIO()) == 0
    assert json.loads(out2.getvalue())["read"] == 0
    out3, err3 = io.StringIO(), io.StringIO()
    assert main(["reports", "watch", "--read-profile", "nope", "--once"], out=out3, err=err3) == 2

