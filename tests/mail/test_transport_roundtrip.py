"""The whole round trip against real servers on loopback: aiosmtpd (STARTTLS, AUTH, DKIM signing, the
receiving service's checks) delivering into Dovecot, read over IMAPS with IDLE, then analysed.

Each case is a scenario of the receiving server (see ``servers.Scenario``) and, where DNS matters, the
sender's zone in master-file form.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest

from inboxready.core.dns.client import DnsClient
from inboxready.core.mail.imap import Progress, Watcher, watch
from inboxready.core.mail.roundtrip import RoundTripResult, delivery_warnings, roundtrip, await_message
from inboxready.core.model import Status
from inboxready.core.mail.profiles import Security

from ..conftest import run
from .conftest import MAILBOX, SENDER, read_profile, send_profile, shop_zone
from .servers import MailWorld, Scenario


def go(w: MailWorld, *, timeout: float = 5.0, progress: list[Progress] | None = None, **kw: object) -> RoundTripResult:
    sp = kw.pop("sp", None) or send_profile(w)
    rp = kw.pop("rp", None) or read_profile(w)

    async def main() -> RoundTripResult:
        return await roundtrip(sp, rp, timeout=timeout, send_password=w.smtp.password,  # type: ignore[arg-type]
                               read_password=w.dovecot.password, dns=DnsClient([w.dns_address], timeout=1.0),
                               on_progress=progress.append if progress is not None else None, **kw)  # type: ignore[arg-type]

    return run(main())


def codes(r: RoundTripResult, check: str) -> set[str]:
    assert r.report is not None
    return {f.code for f in r.report.checks[check].findings}


def test_pass_lands_in_inbox_with_everything_passing(world: MailWorld) -> None:
    progress: list[Progress] = []
    r = go(world, progress=progress)
    assert r.status == "verified", r.error
    assert r.folder == "INBOX" and r.folder_role == "inbox"
    assert r.report is not None and r.report.receiver == "mx.inbox.test"
    assert {n: r.report.checks[n].status for n in ("spf", "dkim", "dmarc")} == \
        {"spf": Status.PASS, "dkim": Status.PASS, "dmarc": Status.PASS}
    assert r.report.checks["dkim"].detail["reverified"] is True  # our own dkimpy check agreed
    assert [f.code for f in r.findings] == ["roundtrip.inbox"]
    assert r.watch_mode == "idle"
    assert r.report.from_domain == "shop.test" and r.token in r.report.subject
    assert r.token in r.message_id and r.report.message_id == r.message_id
    assert r.send_reply.startswith("250")
    stages = [p.stage for p in progress]
    for s in ("connecting", "connected", "sending", "sent", "waiting", "found", "verified"):
        assert s in stages
    assert stages.index("sent") < stages.index("found") < stages.index("verified")
    found = next(p for p in progress if p.stage == "found")
    assert found.role == "inbox" and found.folder == "INBOX"
    assert set(r.timings) >= {"connect", "send", "wait", "analyze", "total"}
    out = r.to_json()
    assert out["checks"]["dmarc"]["status"] == "pass" and out["roundtrip"]["folder_role"] == "inbox"
    json.dumps(out)  # serialisable


def test_nothing_marked_read(world: MailWorld) -> None:
    r = go(world)
    assert r.status == "verified"
    # BODY.PEEK: the message is still unread (in new/, or in cur/ without the S flag)
    seen = [p.name for p in (world.dovecot.maildir / "cur").iterdir() if ":2," in p.name and "S" in p.name.split(":2,")[1]]
    assert seen == []


def test_dkim_broken_in_transit(world: MailWorld) -> None:
    world.smtp.scenario = Scenario(tamper_body=True)
    r = go(world)
    assert r.status == "verified" and r.folder_role == "inbox"  # SPF still aligns, DMARC passes
    assert r.report is not None
    assert r.report.checks["dkim"].status == Status.FAIL
    assert "msg.dkim-body-changed" in codes(r, "dkim")  # our second opinion says why
    assert r.report.checks["spf"].status == Status.PASS
    assert r.report.checks["dmarc"].status == Status.PASS


def test_spf_not_aligned_and_unsigned_goes_to_junk(world: MailWorld) -> None:
    # an ESP's bounce address in MAIL FROM, no DKIM signature: SPF passes for esp.test only
    world.smtp.scenario = Scenario(sign_domain=None, envelope_from="bounce-77@esp.test")
    r = go(world)
    assert r.status == "verified"
    assert r.folder == "Junk" and r.folder_role == "junk"
    assert r.findings[0].code == "roundtrip.junk"
    assert r.report is not None
    assert "msg.spf-not-aligned" in codes(r, "spf")
    assert r.report.checks["dmarc"].status == Status.FAIL
    assert "msg.dmarc-fail" in codes(r, "dmarc")


def test_spf_not_aligned_but_dkim_saves_dmarc(world: MailWorld) -> None:
    world.smtp.scenario = Scenario(envelope_from="bounce-78@esp.test")
    r = go(world)
    assert r.status == "verified" and r.folder_role == "inbox"
    assert "msg.spf-not-aligned" in codes(r, "spf")
    assert r.report is not None and r.report.checks["dmarc"].status == Status.PASS


def test_filed_in_junk_although_authentication_passes(world: MailWorld) -> None:
    world.smtp.scenario = Scenario(force_junk=True)
    r = go(world)
    assert r.status == "verified" and r.folder_role == "junk"
    assert r.report is not None and r.report.status == Status.PASS
    assert r.findings[0].code == "roundtrip.junk" and "content" in r.findings[0].message


def test_dmarc_reject_record_failing(world: MailWorld) -> None:
    dns_server = world.extra["dns_server"]
    dns_server.replace_zone("shop.test", shop_zone(world.dkim_public, spf="v=spf1 -all",
                                                   dmarc="v=DMARC1; p=reject"))
    world.smtp.scenario = Scenario(sign_domain=None)
    r = go(world)
    assert r.status == "verified" and r.folder_role == "junk"
    assert r.report is not None
    assert r.report.checks["spf"].status == Status.FAIL and "msg.spf-fail" in codes(r, "spf")
    assert r.report.checks["dmarc"].status == Status.FAIL


def test_never_arrives_times_out(world: MailWorld) -> None:
    world.smtp.scenario = Scenario(drop=True)
    progress: list[Progress] = []
    started = time.monotonic()
    r = go(world, timeout=0.6, progress=progress)
    assert time.monotonic() - started < 4
    assert r.status == "timeout" and r.report is None and r.folder is None
    t = next(f for f in r.findings if f.code == "roundtrip.timeout")
    assert "0.6 seconds" in t.message and "INBOX" in t.message and "Junk" in t.message
    assert progress[-1].stage == "timeout"
    assert r.to_json()["roundtrip"]["status"] == "timeout"


def test_arrives_late_while_idling(world: MailWorld) -> None:
    world.smtp.scenario = Scenario(deliver_delay=0.8)
    r = go(world)
    assert r.status == "verified" and r.watch_mode == "idle"
    assert r.timings["wait"] >= 700


def test_polling_when_idle_is_not_used(world: MailWorld) -> None:
    world.smtp.scenario = Scenario(deliver_delay=0.3)
    r = go(world, use_idle=False, poll_interval=0.2)
    assert r.status == "verified" and r.watch_mode == "poll" and r.folder_role == "inbox"


def test_wrong_imap_password_sends_nothing(world: MailWorld) -> None:
    before = len(world.smtp.deliveries)

    async def main() -> RoundTripResult:
        return await roundtrip(send_profile(world), read_profile(world), timeout=2, send_password=world.smtp.password,
                               read_password="not-the-password")

    r = run(main())
    assert r.status == "read-failed" and r.error is not None and r.error.code == "conn.wrong-password"
    assert len(world.smtp.deliveries) == before


def test_wrong_smtp_password(world: MailWorld) -> None:
    async def main() -> RoundTripResult:
        return await roundtrip(send_profile(world), read_profile(world), timeout=2, send_password="nope",
                               read_password=world.dovecot.password)

    r = run(main())
    assert r.status == "send-failed" and r.error is not None and r.error.code == "conn.wrong-password"
    assert "nope" not in json.dumps(r.to_json())


def test_server_closes_mid_transfer(world: MailWorld) -> None:
    world.smtp.scenario = Scenario(close_in_data=True)
    r = go(world, timeout=1)
    assert r.status == "send-failed" and r.error is not None
    assert r.error.code == "conn.server-closed" and r.error.stage == "send"
    assert "while the message was being sent" in r.error.message


def test_implicit_tls_submission_port(world: MailWorld) -> None:
    r = go(world, sp=send_profile(world, port=world.smtp.ssl_port, security=Security.SSL))
    assert r.status == "verified" and r.folder_role == "inbox"


def test_imap_starttls_port(world: MailWorld) -> None:
    r = go(world, rp=read_profile(world, port=world.dovecot.imap_port, security=Security.STARTTLS))
    assert r.status == "verified"


def test_delete_after_removes_the_test_message(world: MailWorld) -> None:
    r = go(world, delete_after=True)
    assert r.status == "verified"
    assert any("deleted" in n for n in r.notes)
    assert r.report is not None and r.report.checks["dkim"].status == Status.PASS

    async def again() -> object:  # it is gone: watching for it again times out
        return await watch(read_profile(world), r.token, password=world.dovecot.password, timeout=0.5)

    res = run(again())
    assert res.status == "timeout"  # type: ignore[attr-defined]


def test_watch_mode_finds_a_message_sent_elsewhere(world: MailWorld) -> None:
    """A platform we can't drive sends with the token in the subject; we only watch."""
    token = "IRWATCH7K3M9Q"
    raw = (f"Authentication-Results: mx.inbox.test;\r\n       dkim=none;\r\n"
           f"       spf=pass (inbox.test: domain of crm@shop.test designates 127.0.0.1 as permitted sender) "
           f"smtp.mailfrom=crm@shop.test;\r\n       dmarc=pass (p=QUARANTINE sp=QUARANTINE dis=NONE) header.from=shop.test\r\n"
           f"Received: from out.shop.test (out.shop.test [127.0.0.1]) by mx.inbox.test with ESMTP\r\n"
           f"From: Shop CRM <crm@shop.test>\r\nTo: {MAILBOX}\r\nSubject: Newsletter [{token}]\r\n"
           f"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <n1@shop.test>\r\n\r\nHello\r\n").encode()
    progress: list[Progress] = []

    async def main() -> RoundTripResult:
        task = asyncio.ensure_future(await_message(read_profile(world), token, timeout=5,
                                                     password=world.dovecot.password, on_progress=progress.append,
                                                     dns=DnsClient([world.dns_address], timeout=1.0)))
        while not any(p.stage == "waiting" for p in progress):
            await asyncio.sleep(0.02)
        world.dovecot.deliver(raw, "Junk")
        return await task

    r = run(main())
    assert r.status == "verified" and r.folder == "Junk" and r.folder_role == "junk"
    assert r.report is not None and r.report.checks["spf"].status == Status.PASS
    assert r.report.checks["dkim"].status == Status.WARN and "msg.dkim-none" in codes(r, "dkim")
    assert r.from_addr.endswith("<crm@shop.test>") and r.message_id == "<n1@shop.test>"


def test_watch_for_unknown_token_times_out(world: MailWorld) -> None:
    async def main() -> RoundTripResult:
        return await await_message(read_profile(world), "IRNEVERSENT22", timeout=0.4, password=world.dovecot.password)

    r = run(main())
    assert r.status == "timeout" and "token" in r.findings[-1].message


def test_cancel_closes_connections_cleanly(world: MailWorld) -> None:
    progress: list[Progress] = []

    async def main() -> float:
        task = asyncio.ensure_future(await_message(read_profile(world), "IRCANCEL99999", timeout=60,
                                                     password=world.dovecot.password, on_progress=progress.append))
        give_up = time.monotonic() + 20  # (an anti-hang bound: the sessions are open long before)
        while not watching() and time.monotonic() < give_up:
            await asyncio.sleep(0.02)
        assert watching(), [p.message for p in progress]
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started

    def watching() -> bool:
        """Waiting for the message, signed in to both folders (INBOX, and Junk in a session of its own)."""
        return (any(p.stage == "waiting" for p in progress)
                and world.dovecot.log.count("Login: user=") >= logins_before + 2)

    log_before = world.dovecot.log.count("Logged out")
    logins_before = world.dovecot.log.count("Login: user=")
    took = run(main())
    assert took < 2.0
    deadline = time.monotonic() + 3
    while world.dovecot.log.count("Logged out") < log_before + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert world.dovecot.log.count("Logged out") >= log_before + 2  # INBOX and Junk sessions said LOGOUT


def test_watcher_as_context_manager(world: MailWorld) -> None:
    async def main() -> tuple[list[tuple[str, str]], str]:
        async with Watcher(read_profile(world), "IRCTX2345678", password=world.dovecot.password) as w:
            res = await w.wait(0.3)
            return w.folders, res.status

    folders, status = run(main())
    assert folders == [("INBOX", "inbox"), ("Junk", "junk")] and status == "timeout"


def test_password_never_in_logs_results_or_progress(world: MailWorld, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    progress: list[Progress] = []
    r = go(world, progress=progress)
    assert r.status == "verified"
    text = caplog.text + json.dumps(r.to_json()) + repr(progress)
    assert "imapclient" in caplog.text  # the IMAP conversation was logged, LOGIN redacted
    for pw in (world.smtp.password, world.dovecot.password):
        assert pw not in text


def test_same_domain_and_same_provider_warnings(world: MailWorld) -> None:
    same = delivery_warnings("news@shop.test", "boss@shop.test")
    assert [f.code for f in same] == ["roundtrip.same-domain"]
    sp = send_profile(world, host="smtp.gmail.com", port=465, security=Security.SSL, preset="gmail")
    rp = read_profile(world, host="imap.gmail.com", preset="gmail")
    assert [f.code for f in delivery_warnings(SENDER, "me@gmail.com", sp, rp)] == ["roundtrip.same-provider"]
    # Gmail sender, recipient at gmail.com read through another host: still the same provider
    assert [f.code for f in delivery_warnings(SENDER, "me@gmail.com", sp, None)] == ["roundtrip.same-provider"]
    # different providers: no warning; an unencrypted profile is flagged
    plain = send_profile(world, security=Security.NONE)
    assert [f.code for f in delivery_warnings(SENDER, MAILBOX, plain, read_profile(world))] == \
        ["roundtrip.insecure-profile"]
    assert delivery_warnings(SENDER, MAILBOX, send_profile(world), read_profile(world)) == []
