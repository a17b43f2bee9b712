"""The test-message round trip: send through a sending profile, find the message through a reading
profile, and explain what the receiving service decided.

    result = await roundtrip(send_profile, read_profile, timeout=120, on_progress=show, dns=client)
    result.status         # "verified" | "timeout" | "send-failed" | "read-failed"
    result.folder_role    # "inbox" | "junk" | "other"
    result.report         # MessageReport: the SPF / DKIM / DMARC cards (message.analyze_message)

    result = await await_message(read_profile, "IR7K3M9Q2XDP", timeout=600)   # awaiting a message
    outcome = await check_profile(profile)                                      # "Test connection"

The reading side connects first (a wrong password there costs no message), then the message is sent,
then the Inbox and Junk folders are watched (IDLE where offered) until it shows up or ``timeout``.
Cancelling the task closes every connection (SMTP socket shut, IDLE ended, IMAP logged out).
"""

from __future__ import annotations

import logging
import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from ..dns.client import DnsClient
from ..model import Finding, Severity
from ..store.credentials import Secret
from .profiles import (
    ConnectionResult, Profile, ReadProfile, SendProfile, TransportError, org_of_host, preset_for_domain, preset_for_host, get_preset, trusted_ids_for,
)
from . import imap, smtp
from .compose import compose_test_message, new_token
from .imap import Progress, ProgressFn, Watcher, role_words
from .message import MessageReport, analyze_message

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 120.0
WATCH_TIMEOUT = 600.0


@dataclass
class RoundTripResult:
    """What happened to one test message (sent by us, or watched for)."""

    status: str  # "verified" | "timeout" | "send-failed" | "read-failed"
    token: str
    message_id: str = ""
    from_addr: str = ""
    to_addr: str = ""
    folder: str | None = None
    folder_role: str | None = None  # "inbox" | "junk" | "other"
    report: MessageReport | None = None
    error: ConnectionResult | None = None
    findings: list[Finding] = field(default_factory=list)  # folder, same-domain, time-out, insecure profile
    timings: dict[str, float] = field(default_factory=dict)  # ms: connect, send, wait, analyze, total
    watch_mode: str = ""  # "idle" | "poll" | "idle+poll"
    notes: list[str] = field(default_factory=list)
    send_reply: str = ""  # the sending server's final answer (queue id)

    @property
    def ok(self) -> bool:
        return self.status == "verified"

    @property
    def summary(self) -> str:
        if self.status == "verified" and self.report is not None:
            return f"The test message arrived in {role_words(self.folder_role)}. {self.report.headline}"
        if self.error is not None:
            return self.error.message
        for f in self.findings:
            if f.code == "roundtrip.timeout":
                return f.message
        return self.status

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = self.report.to_json() if self.report is not None else {"checks": {}}
        out["roundtrip"] = {
            "status": self.status, "summary": self.summary, "token": self.token, "message_id": self.message_id,
            "from": self.from_addr, "to": self.to_addr, "folder": self.folder, "folder_role": self.folder_role,
            "timings_ms": {k: round(v, 1) for k, v in self.timings.items()}, "watch_mode": self.watch_mode,
            "findings": [f.to_json() for f in self.findings], "notes": list(self.notes),
            "error": self.error.to_json() if self.error is not None else None, "send_reply": self.send_reply,
        }
        return out


# -- warnings ---------------------------------------------------------------------------------------

def _domain(addr: str) -> str:
    return addr.rsplit("@", 1)[-1].strip().lower().rstrip(".") if "@" in addr else ""


def delivery_warnings(from_addr: str, to_addr: str, send_profile: SendProfile | None = None,
                      read_profile: ReadProfile | None = None) -> list[Finding]:
    """Warnings about the test itself: sender and recipient at the same domain or provider (internal
    delivery can skip authentication), or a profile without encryption."""
    out: list[Finding] = []
    fd, td = _domain(from_addr), _domain(to_addr)
    same_org = bool(fd and td) and org_of_host(fd) == org_of_host(td)
    if same_org:
        out.append(Finding(
            "roundtrip.same-domain", Severity.WARNING,
            f"The test goes from {fd} to an address at {td}, the same domain. Mail that stays inside one mail "
            "service is often delivered without the SPF, DKIM and DMARC checks outside receivers make, so the "
            "result can look better than what your customers' mail services see. Send the test to a mailbox at "
            "another provider.",
            "Internal delivery: the receiving service may trust its own submission path and skip or short-cut "
            "authentication."))
    elif send_profile is not None:
        sender_p = get_preset(send_profile.preset) if send_profile.preset else preset_for_host(send_profile.host)
        reader_p = None
        if read_profile is not None:
            reader_p = get_preset(read_profile.preset) if read_profile.preset else preset_for_host(read_profile.host)
        to_p = preset_for_domain(td) if td else None
        same_hosts = read_profile is not None and org_of_host(send_profile.host) == org_of_host(read_profile.host)
        same_preset = sender_p is not None and sender_p.kind == "mailbox" and sender_p in (reader_p, to_p)
        if same_hosts or same_preset:
            who = sender_p.name if sender_p is not None else org_of_host(send_profile.host)
            out.append(Finding(
                "roundtrip.same-provider", Severity.WARNING,
                f"The test is sent and received by the same provider ({who}). Inside one provider a message can "
                "be delivered without the checks other services make, so the result may look better than "
                "reality. For a fair test, receive it at a different provider.",
                f"sending server {send_profile.host}, reading server "
                f"{read_profile.host if read_profile is not None else '-'}, recipient domain {td}"))
    for p in (send_profile, read_profile):
        if p is not None and p.insecure:
            out.append(Finding("roundtrip.insecure-profile", Severity.WARNING,
                               f"The profile {p.name!r} connects without encryption: its password and the test "
                               "message cross the network readable by anyone on the way.",
                               f"{p.host} port {p.port}, security none"))
    return out


def _folder_finding(role: str | None, folder: str | None, read_profile: ReadProfile) -> Finding:
    if role == "junk":
        return Finding("roundtrip.junk", Severity.WARNING,
                       f"The test message landed in the Junk (spam) folder of {read_profile.mailbox_address or read_profile.host}. "
                       "Mail to people at this provider is likely to go unseen. The cards below show whether "
                       "authentication is the reason; if it all passes, the content or the sender's reputation is.",
                       f"folder {folder}")
    if role == "inbox":
        return Finding("roundtrip.inbox", Severity.INFO, "The test message landed in the Inbox.", f"folder {folder}")
    return Finding("roundtrip.other-folder", Severity.INFO,
                   f"The test message was filed in the folder {folder} (not the Inbox, not Junk).", f"folder {folder}")


def _timeout_finding(timeout: float, watched: list[tuple[str, str]], sent: bool) -> Finding:
    where = " or ".join(f"{n}" for n, _ in watched) or "the mailbox"
    if sent:
        text = (f"The test message didn't show up in {where} within {timeout:g} seconds. It may still arrive later; "
                "the receiving service may have rejected it (look for a bounce message in the sending account), "
                "or held it for a closer look.")
    else:
        text = (f"No message with the token appeared in {where} within {timeout:g} seconds. Check that the "
                "token is in the subject and that the message was sent to this mailbox.")
    return Finding("roundtrip.timeout", Severity.UNKNOWN, text, f"watched: {', '.join(n for n, _ in watched)}")


# -- the round trip ---------------------------------------------------------------------------------

def _emit(cb: ProgressFn | None, stage: str, message: str, started: float, **kw: Any) -> None:
    if cb is None:
        return
    try:
        cb(Progress(stage, message, elapsed_ms=(time.monotonic() - started) * 1000, **kw))
    except Exception:
        log.debug("the progress callback failed", exc_info=True)


async def roundtrip(send_profile: SendProfile, read_profile: ReadProfile, *, to: str | None = None,
                    timeout: float = DEFAULT_TIMEOUT, on_progress: ProgressFn | None = None,
                    dns: DnsClient | None = None, send_password: str | Secret | None = None,
                    read_password: str | Secret | None = None, delete_after: bool = False,
                    unsubscribe_url: str | None = None, unsubscribe_mailto: str | None = None,
                    use_idle: bool | None = None, trusted_authserv_ids: list[str] | None = None,
                    io_timeout: float = imap.IO_TIMEOUT, poll_interval: float = imap.POLL_INTERVAL) -> RoundTripResult:
    """Send a test message through ``send_profile`` to ``to`` (default: the reading profile's address),
    watch ``read_profile`` for it and analyse it. Passwords come from the keyring unless given.
    ``trusted_authserv_ids`` default to the reading profile's, else its provider's (``trusted_ids_for``)."""
    started = time.monotonic()
    timings: dict[str, float] = {}
    from_addr = send_profile.sender
    to_addr = (to or read_profile.mailbox_address).strip()
    token = new_token()
    if not from_addr:
        err = ConnectionResult(False, "conn.no-from", f"Add a From address to the sending profile {send_profile.name!r}.",
                               stage="send")
        return RoundTripResult("send-failed", token, error=err)
    if not to_addr:
        err = ConnectionResult(False, "conn.no-recipient",
                               f"Add the mailbox's e-mail address to the reading profile {read_profile.name!r}, or "
                               "give the address to send to.", stage="send")
        return RoundTripResult("send-failed", token, from_addr=from_addr, error=err)
    try:
        composed = compose_test_message(from_addr, to_addr, token=token, from_name=send_profile.from_name,
                                        unsubscribe_url=unsubscribe_url, unsubscribe_mailto=unsubscribe_mailto)
    except ValueError as exc:
        err = ConnectionResult(False, "conn.bad-message", f"The test message couldn't be written: {exc}.", stage="send")
        return RoundTripResult("send-failed", token, from_addr=from_addr, to_addr=to_addr, error=err)
    result = RoundTripResult("send-failed", token, message_id=composed.message_id, from_addr=from_addr,
                             to_addr=to_addr, timings=timings,
                             findings=delivery_warnings(from_addr, to_addr, send_profile, read_profile))

    watcher = Watcher(read_profile, token, password=read_password, delete=delete_after, use_idle=use_idle,
                      poll_interval=poll_interval, on_progress=on_progress, io_timeout=io_timeout, clock_start=started)
    try:
        try:
            await watcher.start()
        except TransportError as exc:
            result.status, result.error = "read-failed", exc.result
            _emit(on_progress, "failed", exc.result.message, started)
            return result
        timings["connect"] = (time.monotonic() - started) * 1000

        _emit(on_progress, "sending", f"Sending the test message through {send_profile.host}...", started)
        t_send = time.monotonic()
        sent = await smtp.send_message(send_profile, composed, password=send_password)
        timings["send"] = (time.monotonic() - t_send) * 1000
        if not sent.ok:
            result.status, result.error = "send-failed", sent
            _emit(on_progress, "failed", sent.message, started)
            return result
        result.send_reply = sent.server_reply
        _emit(on_progress, "sent", f"Sent to {to_addr}.", started)

        watched = await watcher.wait(timeout)
        _take_watch(result, watched, timings)
        if watched.status == "timeout":
            result.status = "timeout"
            result.findings.append(_timeout_finding(timeout, watched.folders, sent=True))
            _emit(on_progress, "timeout", result.findings[-1].message, started)
            return result
        if watched.status != "found" or watched.found is None:
            result.status, result.error = "read-failed", watched.error
            _emit(on_progress, "failed", watched.error.message if watched.error else "Watching failed.", started)
            return result
        closing = asyncio.ensure_future(watcher.close())  # log the other folders out while we analyse
        await _analyse(result, watched.found, read_profile, dns, trusted_authserv_ids, timings, on_progress, started)
        await closing
        return result
    finally:
        await watcher.close()
        timings["total"] = (time.monotonic() - started) * 1000


def _take_watch(result: RoundTripResult, watched: imap.WatchResult, timings: dict[str, float]) -> None:
    result.watch_mode = watched.mode
    result.notes.extend(watched.notes)
    timings["wait"] = watched.elapsed_ms


async def _analyse(result: RoundTripResult, found: imap.FoundMessage, read_profile: ReadProfile,
                   dns: DnsClient | None, trusted: list[str] | None, timings: dict[str, float],
                   on_progress: ProgressFn | None, started: float) -> None:
    result.folder, result.folder_role = found.folder, found.role
    result.findings.insert(0, _folder_finding(found.role, found.folder, read_profile))
    if found.deleted:
        result.notes.append("The test message was deleted from the mailbox after reading.")
    t = time.monotonic()
    ids = trusted if trusted is not None else trusted_ids_for(read_profile)
    result.report = await analyze_message(found.raw, dns=dns, trusted_authserv_ids=ids,
                                          content=True, spamassassin=True)
    timings["analyze"] = (time.monotonic() - t) * 1000
    result.status = "verified"
    if not result.from_addr:
        result.from_addr = result.report.from_
    if not result.message_id:
        result.message_id = result.report.message_id
    _emit(on_progress, "verified", result.summary, started, folder=found.folder, role=found.role)


async def await_message(read_profile: ReadProfile, token: str, *, timeout: float = WATCH_TIMEOUT,
                         on_progress: ProgressFn | None = None, dns: DnsClient | None = None,
                         password: str | Secret | None = None, delete_after: bool = False,
                         use_idle: bool | None = None, trusted_authserv_ids: list[str] | None = None,
                         io_timeout: float = imap.IO_TIMEOUT, poll_interval: float = imap.POLL_INTERVAL) -> RoundTripResult:
    """Await a message (CLI ``watch``; not the monitor nor the report mailbox): wait for a message with
    ``token`` in its subject (sent by a platform we can't drive) in ``read_profile``'s Inbox and Junk, then
    analyse it."""
    started = time.monotonic()
    timings: dict[str, float] = {}
    result = RoundTripResult("read-failed", token.strip(), to_addr=read_profile.mailbox_address, timings=timings)
    watcher = Watcher(read_profile, token.strip(), password=password, delete=delete_after, use_idle=use_idle,
                      poll_interval=poll_interval, on_progress=on_progress, io_timeout=io_timeout, clock_start=started)
    try:
        try:
            await watcher.start()
        except TransportError as exc:
            result.error = exc.result
            _emit(on_progress, "failed", exc.result.message, started)
            return result
        timings["connect"] = (time.monotonic() - started) * 1000
        watched = await watcher.wait(timeout)
        _take_watch(result, watched, timings)
        if watched.status == "timeout":
            result.status = "timeout"
            result.findings.append(_timeout_finding(timeout, watched.folders, sent=False))
            _emit(on_progress, "timeout", result.findings[-1].message, started)
            return result
        if watched.found is None:
            result.error = watched.error
            _emit(on_progress, "failed", watched.error.message if watched.error else "Watching failed.", started)
            return result
        closing = asyncio.ensure_future(watcher.close())
        await _analyse(result, watched.found, read_profile, dns, trusted_authserv_ids, timings, on_progress, started)
        await closing
        frm = result.report.from_domain if result.report is not None else ""
        if frm:  # the platform's From domain against our mailbox: internal delivery skips checks
            result.findings[1:1] = delivery_warnings(f"sender@{frm}", result.to_addr)
        return result
    finally:
        await watcher.close()
        timings["total"] = (time.monotonic() - started) * 1000


async def check_profile(profile: Profile, *, password: str | Secret | None = None,
                        timeout: float = 15.0) -> ConnectionResult:
    """"Test connection": connect, encrypt, sign in (and for a reading profile, find Inbox and Junk)."""
    if isinstance(profile, SendProfile):
        return await smtp.check_connection(profile, password=password, timeout=timeout)
    return await imap.check_connection(profile, password=password, timeout=timeout)


__all__ = ["DEFAULT_TIMEOUT", "RoundTripResult", "WATCH_TIMEOUT", "check_profile", "delivery_warnings",
           "roundtrip", "await_message"]
