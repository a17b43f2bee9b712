"""Sending through a sending profile (SMTP submission), and "Test connection" for it.

    result = await send_message(profile, composed, to="me@gmail.com")   # a ConnectionResult
    result = await check_connection(profile)                              # sign in, then QUIT

smtplib runs in a worker thread. Certificates are always verified (``ssl.create_default_context`` plus
the profile's CA file). Sign-in uses one mechanism (PLAIN, else LOGIN), so a wrong password costs one
failed attempt, not three. A profile that signs in with Microsoft or Google sends an access token
(``core.auth``) with OAUTHBEARER where the server offers it, else XOAUTH2; a token the server refuses
that was not just renewed is renewed and tried once more (nothing has been sent at that point). The password comes from the keyring unless given; it never appears in a
result, a log line or an exception text. Cancelling the calling task shuts the socket, so the worker
thread ends at once.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
import threading
import time
from typing import Any

from ..store.credentials import KeyringUnavailable, Secret, reveal, scrub
from .profiles import (
    ConnectionResult, Security, SendProfile, TransportError, auth_failure, keyring_failure, network_error, no_password, run_blocking, scrub_result, server_closed, shutdown_socket, ssl_context, unexpected,
)
from ..auth import errors as oauth_errors
from ..auth import sasl
from ..auth.flows import credential, should_retry
from .compose import ComposedMessage

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0


def _local_name() -> str:
    name = socket.gethostname()
    if name and name.isascii() and all(c.isalnum() or c in "-." for c in name) and not name.startswith("-"):
        return name
    return "localhost"


def _reply(code: int, resp: bytes | str) -> str:
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
    return f"{code} {text}".strip()


class _Aborted(Exception):
    pass


class _Job:
    """One SMTP session in a worker thread; ``abort()`` may be called from any thread."""

    def __init__(self, profile: SendProfile, password: Secret | None, timeout: float) -> None:
        self.profile = profile
        self.password = password
        self.timeout = timeout
        self.smtp: smtplib.SMTP | None = None
        self.stop = threading.Event()
        self.stage = "connect"
        self.tls_version = ""
        self.exchange: sasl.Exchange | None = None  # the OAuth SASL exchange, for the error it carries

    def abort(self) -> None:
        self.stop.set()
        smtp = self.smtp
        shutdown_socket(getattr(smtp, "sock", None) if smtp is not None else None)

    def _check_stop(self) -> None:
        if self.stop.is_set():
            raise _Aborted()

    def open(self) -> smtplib.SMTP:
        p = self.profile
        if p.username and self.password is None:
            raise TransportError(no_password(p))
        ctx = ssl_context(p) if p.security is not Security.NONE else None
        s: smtplib.SMTP
        if p.security is Security.SSL:
            s = smtplib.SMTP_SSL(local_hostname=_local_name(), timeout=self.timeout, context=ctx)
        else:
            s = smtplib.SMTP(local_hostname=_local_name(), timeout=self.timeout)
        s._host = p.host  # type: ignore[attr-defined]  # the name TLS verifies (set by __init__ when it connects)
        self.smtp = s
        self.stage = "tls" if p.security is Security.SSL else "connect"
        try:
            code, msg = s.connect(p.host, p.port)
        except ssl.SSLError:
            raise
        except OSError:
            self.stage = "connect"
            raise
        self.stage = "connect"
        if code != 220:
            raise smtplib.SMTPConnectError(code, msg)
        self._check_stop()
        s.ehlo_or_helo_if_needed()
        if p.security is Security.STARTTLS:
            if not s.has_extn("starttls"):
                raise TransportError(ConnectionResult(
                    False, "conn.starttls-unsupported",
                    f"{p.host} port {p.port} doesn't offer encryption (STARTTLS). If this port expects encryption "
                    "from the start (465), choose SSL/TLS; otherwise check with the server's owner.",
                    stage="tls"))
            self.stage = "tls"
            s.starttls(context=ctx)
            s.ehlo()
        if isinstance(s.sock, ssl.SSLSocket):
            self.tls_version = s.sock.version() or ""
        self._check_stop()
        if p.username:
            self.stage = "auth"
            if p.uses_oauth:
                self._oauth_login(s)
                self._check_stop()
                return s
            if not s.has_extn("auth"):
                hint = (" It offers sign-in only on an encrypted connection: choose STARTTLS or SSL/TLS."
                        if p.security is Security.NONE else
                        " Is this the provider's sending (submission) server? Those use port 587 or 465.")
                raise TransportError(ConnectionResult(
                    False, "conn.auth-not-offered",
                    f"{p.host} port {p.port} doesn't offer signing in with a user name and password.{hint}",
                    stage="auth"))
            self._login(s)
        self._check_stop()
        return s

    def _login(self, s: smtplib.SMTP) -> None:
        advertised = (s.esmtp_features.get("auth", "") or "").upper().split()
        mech = next((m for m in ("PLAIN", "LOGIN", "CRAM-MD5") if m in advertised), "PLAIN")
        user, password = self.profile.username, reveal(self.password)
        if not (user.isascii() and password.isascii()):
            # smtplib encodes credentials as ASCII; send them as UTF-8 ourselves (RFC 4616 for PLAIN).
            _auth_utf8(s, "LOGIN" if mech == "LOGIN" else "PLAIN", user, password)
            return
        s.user, s.password = user, password
        auth_object: Any = {"PLAIN": s.auth_plain, "LOGIN": s.auth_login,
                                           "CRAM-MD5": s.auth_cram_md5}[mech]
        try:
            s.auth(mech, auth_object)
        finally:
            s.password = ""

    def _oauth_login(self, s: smtplib.SMTP) -> None:
        """AUTH OAUTHBEARER (RFC 7628) where offered, else XOAUTH2, with the access token."""
        import base64

        p = self.profile
        advertised = (s.esmtp_features.get("auth", "") or "").upper().split()
        mech = sasl.choose(advertised)
        if mech is None:
            raise TransportError(ConnectionResult(
                False, "conn.oauth-not-offered",
                f"{p.host} port {p.port} doesn't offer signing in with a {p.oauth_provider.title()} sign-in "
                "(XOAUTH2 or OAUTHBEARER). Check the server name (Microsoft 365: smtp.office365.com port 587; Gmail: "
                "smtp.gmail.com port 465), or use a password profile for this server.", stage="auth"))
        ex = self.exchange = sasl.exchange(mech, p.username, reveal(self.password), p.host, p.port)
        code, resp = s.docmd("AUTH", f"{mech} {base64.b64encode(ex()).decode('ascii')}")
        while code == 334 and ex.calls < 4:
            try:
                challenge = base64.b64decode(resp, validate=False)
            except ValueError:
                challenge = b""
            code, resp = s.docmd(base64.b64encode(ex(challenge)).decode("ascii"))
        if code not in (235, 503):
            raise smtplib.SMTPAuthenticationError(code, resp)

    def close(self, s: smtplib.SMTP | None) -> None:
        if s is None:
            return
        try:
            s.quit()
        except Exception:
            try:
                s.close()
            except Exception:
                log.debug("closing the SMTP connection failed", exc_info=True)

    def classify(self, exc: BaseException) -> ConnectionResult:
        """Plain words for a failure, with the password scrubbed from every text in every encoding
        (a server may echo the AUTH exchange back: base64 of the password or of user\\0user\\0password)."""
        return scrub_result(self._classify(exc), self.password, self.profile.username)

    def _classify(self, exc: BaseException) -> ConnectionResult:
        p = self.profile
        stage = self.stage
        if isinstance(exc, TransportError):
            return exc.result
        if isinstance(exc, KeyringUnavailable):
            return keyring_failure(exc)
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            reply = scrub(_reply(exc.smtp_code, exc.smtp_error), self.password, user=p.username)
            if p.uses_oauth:
                ex = self.exchange
                extra = f" (server said: {ex.summary})" if ex is not None and ex.summary else ""
                return oauth_errors.server_refused_token(
                    reply + extra, provider=p.oauth_provider, user=p.username, where=f"{p.host} port {p.port}",
                    kind="send", scope_hint="scope" if ex is not None and "scope" in str(ex.error.get("status", "")) else "")
            return auth_failure(reply, p)
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            cause = exc.__cause__ or exc.__context__  # smtplib turns a time-out or TLS error into this
            if isinstance(cause, OSError) and not isinstance(cause, (ConnectionResetError, BrokenPipeError)):
                net = network_error(cause, p, stage=stage, timeout=self.timeout, secret=self.password)
                if net is not None and net.code != "conn.server-closed":
                    return net
            return server_closed(p, stage, scrub(f"{type(exc).__name__}: {exc}", self.password))
        if isinstance(exc, smtplib.SMTPSenderRefused):
            reply = _reply(exc.smtp_code, exc.smtp_error)
            if exc.smtp_code == 530 or "authentication required" in reply.lower():
                return _auth_required(p, reply, stage)
            return _sender_rejected(p, str(exc.sender), reply)
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            rcpt, (code, resp) = next(iter(exc.recipients.items()))
            return _recipient_rejected(p, rcpt, _reply(code, resp))
        if isinstance(exc, smtplib.SMTPDataError):
            reply = _reply(exc.smtp_code, exc.smtp_error)
            t = reply.lower()
            if "sendasdenied" in t or "5.7.60" in t or "send as" in t or "not owned" in t:
                return _sender_rejected(p, "", reply)
            if exc.smtp_code == 354 or stage != "send":
                return unexpected(exc, p, stage, self.password)
            return ConnectionResult(False, "conn.message-rejected",
                                    f"{p.host} refused the test message itself. Its reply: {reply}", reply,
                                    stage, server_reply=reply)
        if isinstance(exc, smtplib.SMTPConnectError):
            reply = _reply(exc.smtp_code, exc.smtp_error)
            return ConnectionResult(False, "conn.server-refused",
                                    f"{p.host} port {p.port} answered but refused to talk to us: {reply}", reply,
                                    "connect", server_reply=reply)
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return ConnectionResult(False, "conn.starttls-unsupported" if stage == "tls" else "conn.protocol-error",
                                    f"{p.host} port {p.port} doesn't support what we asked ({exc}).", str(exc), stage)
        if isinstance(exc, smtplib.SMTPResponseException):
            reply = _reply(exc.smtp_code, exc.smtp_error)
            t = reply.lower()
            if exc.smtp_code == 530 or "authentication required" in t:
                return _auth_required(p, reply, stage)
            if stage == "tls":
                return ConnectionResult(False, "conn.tls-failed",
                                        f"{p.host} port {p.port} refused to start encryption: {reply}", reply, stage,
                                        server_reply=reply)
            return ConnectionResult(False, "conn.protocol-error",
                                    f"{p.host} answered with an error we didn't expect: {reply}", reply, stage,
                                    server_reply=reply)
        if isinstance(exc, ssl.SSLError) and stage == "connect":
            stage = "tls"
        if isinstance(exc, BaseException):
            net = network_error(exc, p, stage=stage, timeout=self.timeout, secret=self.password)
            if net is not None:
                return net
        return unexpected(exc, p, stage, self.password)


def _auth_required(p: SendProfile, reply: str, stage: str) -> ConnectionResult:
    t = reply.lower()
    if "starttls" in t or "tls" in t.split("authentication")[0]:
        return auth_failure(reply, p, stage=stage)
    return ConnectionResult(False, "conn.auth-required",
                            f"{p.host} wants you to sign in before sending: add the user name and password to the "
                            "profile.", reply, stage, server_reply=reply)


def _sender_rejected(p: SendProfile, sender: str, reply: str) -> ConnectionResult:
    who = f" as {sender}" if sender else ""
    return ConnectionResult(False, "conn.sender-rejected",
                            f"{p.host} won't let {p.username or 'this account'} send{who}. Send from an address the "
                            "account owns, or add this address as an allowed sender (a verified sender or "
                            "'send as' permission) at the provider.", reply, "send", server_reply=reply)


def _recipient_rejected(p: SendProfile, rcpt: str, reply: str) -> ConnectionResult:
    t = reply.lower()
    if "relay" in t or " 5.7.1" in f" {t}" or t.startswith("554 5.7.1"):
        return ConnectionResult(False, "conn.relay-denied",
                                f"{p.host} refused to pass the message on to {rcpt} ('relaying denied'). Usually the "
                                "profile isn't signed in (add the user name and password), or this server only "
                                "delivers to its own mailboxes: use the provider's sending (submission) server.",
                                reply, "send", server_reply=reply)
    if "5.1.1" in t or "unknown" in t or "does not exist" in t or "no such" in t:
        return ConnectionResult(False, "conn.recipient-unknown",
                                f"The address {rcpt} doesn't exist, says {p.host}. Check the test address.",
                                reply, "send", server_reply=reply)
    return ConnectionResult(False, "conn.recipient-rejected",
                            f"{p.host} refused to send to {rcpt}. Its reply: {reply}", reply, "send",
                            server_reply=reply)


def _ok(job: _Job, text: str, started: float, reply: str = "") -> ConnectionResult:
    p = job.profile
    how = f" (encrypted, {job.tls_version})" if job.tls_version else " (NOT encrypted)"
    warn = " " + " ".join(p.warnings) if p.warnings else ""
    return ConnectionResult(True, "conn.ok", f"{text}{how}.{warn}", stage="done", server_reply=reply,
                            elapsed_ms=(time.monotonic() - started) * 1000)


async def check_connection(profile: SendProfile, *, password: str | Secret | None = None,
                           timeout: float = 15.0) -> ConnectionResult:
    """Connect, start encryption, sign in, then QUIT: nothing is sent."""
    started = time.monotonic()
    try:
        secret, fresh = await credential(profile, password)
    except KeyringUnavailable as exc:
        return keyring_failure(exc)
    except TransportError as exc:
        return exc.result
    result = await _check_once(profile, secret, timeout, started)
    if should_retry(profile, result, fresh):  # a token the server no longer takes: renew it, try once more
        try:
            secret, fresh = await _renewed(profile)
        except TransportError as exc:
            return exc.result
        result = await _check_once(profile, secret, timeout, started)
    return result


async def _renewed(profile: SendProfile) -> tuple[Secret | None, bool]:
    from ..auth.flows import access_token

    return await access_token(profile, force_refresh=True)


async def _check_once(profile: SendProfile, secret: Secret | None, timeout: float, started: float) -> ConnectionResult:
    job = _Job(profile, secret, timeout)

    def work() -> ConnectionResult:
        s = None
        try:
            s = job.open()
            job.stage = "done"
            how = f" with your {profile.oauth_provider.title()} sign-in" if profile.uses_oauth else ""
            who = f"Signed in to {profile.host} as {profile.username}{how}" if profile.username else \
                f"Connected to {profile.host} (no sign-in configured)"
            return _ok(job, who, started)
        except _Aborted:
            return ConnectionResult(False, "conn.cancelled", "Cancelled.", stage=job.stage)
        except Exception as exc:
            r = job.classify(exc)
            return _with_time(r, started)
        finally:
            job.close(s)

    return scrub_result(await run_blocking(work, abort=job.abort), secret, profile.username)


async def send_message(profile: SendProfile, message: ComposedMessage | bytes, *, to: str | list[str] | None = None,
                       mail_from: str | None = None, password: str | Secret | None = None,
                       timeout: float = DEFAULT_TIMEOUT) -> ConnectionResult:
    """Send ``message`` (a composed test message, or raw bytes with CRLF line ends) through ``profile``.
    ``to`` defaults to the composed message's recipient; ``mail_from`` (the envelope sender) to the
    profile's From address. The result's ``server_reply`` is the server's final answer (often with
    its queue id)."""
    started = time.monotonic()
    if isinstance(message, ComposedMessage):
        raw = message.as_bytes()
        rcpts = [message.to_addr] if to is None else ([to] if isinstance(to, str) else list(to))
        sender = mail_from or message.from_addr
    else:
        raw = message
        rcpts = [] if to is None else ([to] if isinstance(to, str) else list(to))
        sender = mail_from or profile.sender
    if not rcpts:
        return ConnectionResult(False, "conn.no-recipient", "Give an address to send the test message to.",
                                stage="send")
    try:
        secret, fresh = await credential(profile, password)
    except KeyringUnavailable as exc:
        return keyring_failure(exc)
    except TransportError as exc:
        return exc.result
    result = await _send_once(profile, secret, timeout, started, raw, rcpts, sender)
    if should_retry(profile, result, fresh) and result.stage == "auth":  # nothing was sent: renew, try once more
        try:
            secret, fresh = await _renewed(profile)
        except TransportError as exc:
            return exc.result
        result = await _send_once(profile, secret, timeout, started, raw, rcpts, sender)
    return result


async def _send_once(profile: SendProfile, secret: Secret | None, timeout: float, started: float, raw: bytes,
                     rcpts: list[str], sender: str) -> ConnectionResult:
    job = _Job(profile, secret, timeout)

    def work() -> ConnectionResult:
        s = None
        try:
            s = job.open()
            job.stage = "send"
            code, resp = s.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, resp, sender)
            refused: dict[str, tuple[int, bytes]] = {}
            for r in rcpts:
                code, resp = s.rcpt(r)
                if code not in (250, 251):
                    refused[r] = (code, resp)
            if len(refused) == len(rcpts):
                s.rset()
                raise smtplib.SMTPRecipientsRefused(refused)
            job._check_stop()
            code, resp = s.data(raw)
            if code != 250:
                raise smtplib.SMTPDataError(code, resp)
            reply = _reply(code, resp)
            job.stage = "done"
            note = f"; refused: {', '.join(refused)}" if refused else ""
            return _ok(job, f"Sent to {', '.join(r for r in rcpts if r not in refused)} through {profile.host}{note}",
                       started, reply)
        except _Aborted:
            return ConnectionResult(False, "conn.cancelled", "Cancelled.", stage=job.stage)
        except Exception as exc:
            return _with_time(job.classify(exc), started)
        finally:
            job.close(s)

    return scrub_result(await run_blocking(work, abort=job.abort), secret, profile.username)


def _with_time(r: ConnectionResult, started: float) -> ConnectionResult:
    from dataclasses import replace

    return replace(r, elapsed_ms=(time.monotonic() - started) * 1000)


__all__ = ["DEFAULT_TIMEOUT", "check_connection", "send_message"]


def _auth_utf8(s: smtplib.SMTP, mech: str, user: str, password: str) -> None:
    """AUTH PLAIN or LOGIN with UTF-8 credentials (smtplib only sends ASCII ones)."""
    import base64

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    if mech == "PLAIN":
        token = b64(b"\0" + user.encode("utf-8") + b"\0" + password.encode("utf-8"))
        code, resp = s.docmd("AUTH", "PLAIN " + token)
        if code == 334:  # the server asked for the credentials on their own line
            code, resp = s.docmd(token)
    else:
        code, resp = s.docmd("AUTH", "LOGIN")
        if code == 334:
            code, resp = s.docmd(b64(user.encode("utf-8")))
        if code == 334:
            code, resp = s.docmd(b64(password.encode("utf-8")))
    if code not in (235, 503):  # 503: already signed in
        raise smtplib.SMTPAuthenticationError(code, resp)
