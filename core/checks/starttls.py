"""STARTTLS on the domain's mail servers: does each MX host offer encryption (STARTTLS, RFC 3207) on port
25, with a certificate that is valid for its name?

Google, Yahoo and Microsoft require TLS for mail sent to them, and senders of mail to this domain use it
when the MX host offers it. Senders do not check certificates unless the domain publishes MTA-STS (RFC 8461)
or DANE: a bad certificate is a warning, missing STARTTLS is a failure.

Many networks (home ISPs, offices, cloud providers) block outbound connections to port 25. When we cannot
reach any MX host we say "couldn't check from this network", never "no TLS".
"""

from __future__ import annotations

import logging
import asyncio
import datetime as dt
import ipaddress
import ssl
import time
from dataclasses import dataclass, field
from typing import TypedDict

from ..context import CheckContext
from ..dns.client import DnsAnswer
from ..model import CheckResult, Finding, Severity, Status, derive_status
from ..records.mx import MxParseError, MxRecord, parse_mx

log = logging.getLogger(__name__)

__all__ = ["MAX_HOSTS", "HostResult", "StarttlsDetail", "StarttlsHostDetail", "SmtpReplyError", "check", "ehlo_keywords", "parse_reply_line"]

MAX_HOSTS = 5
MAX_REPLY_LINES = 100
EXPIRY_SOON_DAYS = 14
RFC = "RFC 3207"
RFC_CERT = "RFC 8461 §4.2 / RFC 7672"
_MTA_STS = ("Senders only check the certificate when your domain publishes an MTA-STS policy in 'enforce' mode "
            "(or DANE): then they refuse to deliver. Without it, encryption still works, because senders "
            "accept any certificate.")


class SmtpReplyError(ValueError):
    """A line that is not an SMTP reply line (``NNN-text`` or ``NNN text``)."""


def parse_reply_line(line: bytes | str) -> tuple[int, bool, str]:
    """``b"250-STARTTLS\\r\\n"`` → ``(250, False, "STARTTLS")``: (code, last line?, text).

    Raises only ``SmtpReplyError``."""
    text = line.decode("utf-8", errors="replace") if isinstance(line, bytes) else str(line)
    text = text.rstrip("\r\n")
    if len(text) < 3 or not text[:3].isascii() or not text[:3].isdigit() or text[0] not in "2345":
        raise SmtpReplyError(f"not an SMTP reply: {text[:60]!r}")
    if len(text) > 3 and text[3] not in " -":
        raise SmtpReplyError(f"not an SMTP reply: {text[:60]!r}")
    return int(text[:3]), len(text) == 3 or text[3] == " ", text[4:]


def ehlo_keywords(texts: list[str]) -> set[str]:
    """The extension keywords of an EHLO reply (its texts without the first, greeting line), upper-case."""
    out: set[str] = set()
    for t in texts[1:]:
        word = t.strip().split(" ", 1)[0].upper() if t.strip() else ""
        if word:
            out.add(word)
    return out


class StarttlsHostDetail(TypedDict):
    """One mail server's port 25 as the STARTTLS card shows it (None: not reached that far)."""

    host: str
    ip: str | None
    port: int
    banner: str | None
    starttls: bool | None  # offered in the EHLO reply
    tls_version: str | None
    cipher: str | None
    cert_valid: bool | None  # verified for the MX name
    cert_names: list[str]
    cert_not_after: str | None  # ISO 8601
    error: str | None


class StarttlsDetail(TypedDict):
    """``CheckResult.detail`` of the STARTTLS check (every key is always there)."""

    blocked: bool  # no mail server could be reached at all from this network: couldn't check
    hosts: list[StarttlsHostDetail]


@dataclass
class HostResult:
    host: str
    ip: str | None = None
    port: int = 25
    banner: str | None = None
    starttls: bool | None = None
    tls_version: str | None = None
    cipher: str | None = None
    cert_valid: bool | None = None
    cert_names: list[str] = field(default_factory=list)
    cert_not_after: str | None = None
    error: str | None = None
    # not in the JSON:
    reached: bool = False
    tls_started: bool = False  # the server said 220 to STARTTLS: anything failing now is the handshake
    verify_error: str | None = None
    verify_code: int | None = None
    not_after: dt.datetime | None = None
    handshake_failed: bool = False
    rejected: bool = False
    lookup_failed: bool = False

    def to_json(self) -> StarttlsHostDetail:
        return {"host": self.host, "ip": self.ip, "port": self.port, "banner": self.banner,
                "starttls": self.starttls, "tls_version": self.tls_version, "cipher": self.cipher,
                "cert_valid": self.cert_valid, "cert_names": list(self.cert_names),
                "cert_not_after": self.cert_not_after, "error": self.error}


class _Smtp:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        self.reader, self.writer, self.timeout = reader, writer, timeout

    async def reply(self) -> tuple[int, list[str]]:
        texts: list[str] = []
        for _ in range(MAX_REPLY_LINES):
            line = await asyncio.wait_for(self.reader.readline(), self.timeout)
            if not line:
                raise ConnectionError("the server closed the connection")
            code, last, text = parse_reply_line(line[:1000])
            texts.append(text)
            if last:
                return code, texts
        raise SmtpReplyError("the reply is too long")

    async def command(self, text: str) -> tuple[int, list[str]]:
        self.writer.write(text.encode("ascii") + b"\r\n")
        await asyncio.wait_for(self.writer.drain(), self.timeout)
        return await self.reply()

    async def close(self) -> None:
        try:
            self.writer.write(b"QUIT\r\n")
            await asyncio.wait_for(self.writer.drain(), 1.0)
        except Exception:
            log.debug("QUIT was not sent", exc_info=True)
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 1.0)
        except Exception:
            log.debug("the connection did not close cleanly", exc_info=True)


def _client_context(ca_file: str | None, verify: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if ca_file:
        try:
            ctx.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError):
            pass  # a missing test CA file: the system's CAs still apply
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _helo_name(writer: asyncio.StreamWriter) -> str:
    sock = writer.get_extra_info("sockname")
    ip = sock[0] if sock else "127.0.0.1"
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return "[127.0.0.1]"
    return f"[IPv6:{addr}]" if addr.version == 6 else f"[{addr}]"


def _cert_details(res: HostResult, der: bytes | None) -> None:
    if not der:
        return
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        cert = x509.load_der_x509_certificate(der)
        names: list[str] = []
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = [str(n) for n in san.get_values_for_type(x509.DNSName)]
        except x509.ExtensionNotFound:
            names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        res.cert_names = names[:50]
        res.not_after = cert.not_valid_after_utc
        res.cert_not_after = res.not_after.isoformat()
    except Exception:  # a certificate we cannot read: the names stay unknown
        return


def name_matches(host: str, names: list[str]) -> bool:
    """RFC 6125 matching of ``host`` against certificate DNS names (one left-most ``*`` label)."""
    host = host.rstrip(".").lower()
    for n in names:
        n = n.rstrip(".").lower()
        if n == host:
            return True
        if n.startswith("*.") and "." in host and host.split(".", 1)[1] == n[2:]:
            return True
    return False


async def _session(res: HostResult, ctx: CheckContext, verify: bool) -> None:
    timeout = ctx.options.connect_timeout
    assert res.ip is not None
    reader, writer = await asyncio.wait_for(asyncio.open_connection(res.ip, res.port), timeout)
    res.reached = True
    smtp = _Smtp(reader, writer, timeout)
    try:
        code, texts = await smtp.reply()
        res.banner = " ".join(texts)[:300]
        if code != 220:
            res.rejected = True
            res.error = f"the server greeted us with {code} {res.banner}"
            return
        code, texts = await smtp.command(f"EHLO {_helo_name(writer)}")
        if code != 250:
            res.rejected = True
            res.error = f"the server answered EHLO with {code} {' '.join(texts)[:200]}"
            return
        res.starttls = "STARTTLS" in ehlo_keywords(texts)
        if not res.starttls:
            return
        code, texts = await smtp.command("STARTTLS")
        if code != 220:
            res.handshake_failed = True
            res.error = f"STARTTLS was refused: {code} {' '.join(texts)[:200]}"
            return
        tls = _client_context(ctx.options.ca_file, verify)
        res.tls_started = True
        await writer.start_tls(tls, server_hostname=res.host, ssl_handshake_timeout=timeout)
        obj = writer.get_extra_info("ssl_object")
        if obj is not None:
            res.tls_version = obj.version()
            cipher = obj.cipher()
            res.cipher = cipher[0] if cipher else None
            _cert_details(res, obj.getpeercert(binary_form=True))
        if verify:
            res.cert_valid = True
        res.tls_started = False  # the handshake is done
        try:
            await smtp.command(f"EHLO {_helo_name(writer)}")
        except Exception:
            log.debug("EHLO after STARTTLS failed", exc_info=True)
    finally:
        await smtp.close()


async def _probe(res: HostResult, ctx: CheckContext) -> None:
    try:
        await _session(res, ctx, verify=True)
        return
    except ssl.SSLCertVerificationError as exc:
        res.cert_valid = False
        res.verify_code = exc.verify_code
        res.verify_error = exc.verify_message or str(exc)
    except ssl.SSLError as exc:
        res.handshake_failed = True
        res.error = f"the TLS handshake failed: {exc.reason or exc}"
        return
    except SmtpReplyError as exc:
        res.rejected = True
        res.error = f"the server did not speak SMTP ({exc})"
        return
    except (OSError, EOFError) as exc:  # TimeoutError and ConnectionError are OSErrors too
        if res.tls_started:
            res.handshake_failed = True
            res.error = f"the TLS handshake failed ({type(exc).__name__} {exc})".replace(" )", ")")
        elif isinstance(exc, TimeoutError):
            res.error = ("no answer in time" if res.reached else
                         f"could not connect within {ctx.options.connect_timeout:g} s")
        elif isinstance(exc, ConnectionRefusedError):
            res.error = "the connection was refused"
        else:
            res.error = f"{type(exc).__name__}: {exc}"
        return
    # The certificate did not verify: look again without verifying, to report what the server presents.
    try:
        await _session(res, ctx, verify=False)
    except Exception as exc:  # the details are a bonus; the verdict is already known
        res.error = f"the certificate is not valid: {res.verify_error} ({type(exc).__name__} on a second look)"
        return
    res.cert_valid = False
    res.error = f"the certificate is not valid: {res.verify_error}"


async def _address(ctx: CheckContext, host: str) -> tuple[str | None, DnsAnswer]:
    a = await ctx.dns.query(host, "A")
    for r in a.records if a.ok else ():
        return r.strip(), a
    aaaa = await ctx.dns.query(host, "AAAA")
    for r in aaaa.records if aaaa.ok else ():
        return r.strip(), aaaa
    return None, a if a.failed else aaaa


async def _host(ctx: CheckContext, host: str) -> HostResult:
    res = HostResult(host=host, port=ctx.options.smtp_port)
    ip, ans = await _address(ctx, host)
    if ip is None:
        res.lookup_failed = ans.failed
        res.error = f"no address for {host}: {ans.describe}"
        return res
    res.ip = ip
    budget = ctx.options.connect_timeout * 4 + 2
    try:
        await asyncio.wait_for(_probe(res, ctx), budget)
    except TimeoutError:
        res.error = res.error or f"the server did not finish within {budget:g} s"
    except Exception as exc:  # never let one odd server break the whole check
        res.error = f"{type(exc).__name__}: {exc}"
    return res


def _cert_findings(h: HostResult) -> list[Finding]:
    out: list[Finding] = []
    now = dt.datetime.now(dt.UTC)
    expired = h.verify_code == 10 or (h.not_after is not None and h.not_after < now)
    mismatch = h.verify_code == 62 or (bool(h.cert_names) and not name_matches(h.host, h.cert_names))
    if expired:
        when = h.not_after.strftime("%Y-%m-%d") if h.not_after else "an earlier date"
        out.append(Finding(
            "starttls.cert-expired", Severity.WARNING,
            f"The encryption certificate of your mail server {h.host} expired on {when}. {_MTA_STS} Renew it.",
            detail=f"{h.host} ({h.ip}): {h.verify_error}", rfc=RFC_CERT))
    if mismatch:
        names = ", ".join(h.cert_names[:5]) or "other names"
        out.append(Finding(
            "starttls.cert-name-mismatch", Severity.WARNING,
            f"The encryption certificate of your mail server {h.host} is for {names}, not for {h.host}. "
            f"{_MTA_STS} Get a certificate that includes {h.host}.",
            detail=f"{h.host} ({h.ip}): {h.verify_error}", rfc=RFC_CERT))
    if not out:
        out.append(Finding(
            "starttls.cert-untrusted", Severity.WARNING,
            f"The encryption certificate of your mail server {h.host} is not from a trusted authority "
            f"(for example self-signed). {_MTA_STS} Use a certificate from a public authority such as "
            f"Let's Encrypt.", detail=f"{h.host} ({h.ip}): {h.verify_error}", rfc=RFC_CERT))
    return out


def _findings(h: HostResult) -> list[Finding]:
    where = f"{h.host} ({h.ip})" if h.ip else h.host
    if h.ip is None:
        if h.lookup_failed:
            return [Finding("starttls.lookup-failed", Severity.UNKNOWN,
                            f"We couldn't look up the address of your mail server {h.host}, so we couldn't test it.",
                            detail=h.error or "", rfc=RFC)]
        return [Finding("starttls.no-address", Severity.WARNING,
                        f"Your mail server {h.host} has no address in DNS, so nobody can deliver mail to it.",
                        detail=h.error or "", rfc="RFC 5321 §5.1")]
    if not h.reached:
        return [Finding("starttls.connect-failed", Severity.UNKNOWN,
                        f"We couldn't connect to your mail server {h.host} on port {h.port} from this network "
                        f"({h.error}). Many networks block outgoing connections to port 25; this says nothing "
                        f"about your server.", detail=where, rfc=RFC)]
    if h.rejected:
        return [Finding("starttls.rejected", Severity.UNKNOWN,
                        f"Your mail server {h.host} would not talk to us ({h.error}), so we couldn't test "
                        f"encryption. It may be refusing connections from this network.", detail=where, rfc=RFC)]
    if h.starttls is None and not h.handshake_failed:
        return [Finding("starttls.no-answer", Severity.UNKNOWN,
                        f"Your mail server {h.host} accepted our connection but did not finish the conversation "
                        f"({h.error}), so we couldn't test encryption.", detail=where, rfc=RFC)]
    if h.starttls is False:
        return [Finding("starttls.not-offered", Severity.ERROR,
                        f"Your mail server {h.host} does not offer encryption (STARTTLS). Mail to you travels "
                        f"unencrypted, and Google, Yahoo and Microsoft expect TLS. Turn on STARTTLS with a "
                        f"certificate for {h.host}, or ask your mail provider to.",
                        detail=f"{where}: the EHLO reply lists no STARTTLS extension.", rfc=RFC)]
    if h.handshake_failed or (h.starttls and h.tls_version is None and h.cert_valid is not False):
        return [Finding("starttls.handshake-failed", Severity.ERROR,
                        f"Your mail server {h.host} offers encryption but the secure connection fails, so "
                        f"senders deliver unencrypted or not at all. Check its TLS settings and certificate.",
                        detail=f"{where}: {h.error}", rfc=RFC)]
    out: list[Finding] = []
    if h.cert_valid is False:
        out += _cert_findings(h)
    if h.cert_valid and h.not_after is not None:
        left = h.not_after - dt.datetime.now(dt.UTC)
        if left < dt.timedelta(days=EXPIRY_SOON_DAYS):
            out.append(Finding("starttls.cert-expiring", Severity.INFO,
                               f"The certificate of your mail server {h.host} expires in {max(0, left.days)} days "
                               f"({h.not_after:%Y-%m-%d}). Make sure it renews.", detail=where, rfc=RFC_CERT))
    return out


def _mx_hosts(ans: DnsAnswer) -> tuple[list[MxRecord], list[MxRecord]]:
    good: list[MxRecord] = []
    nulls: list[MxRecord] = []
    for r in ans.records if ans.ok else ():
        try:
            mx = parse_mx(r)
        except MxParseError:
            continue
        (nulls if mx.null else good).append(mx)
    good.sort(key=lambda m: (m.preference, m.host))
    return good, nulls


def _result(ctx: CheckContext, started: float, status: Status, summary: str, findings: list[Finding],
            hosts: list[HostResult], blocked: bool, records: list[str]) -> CheckResult:
    detail: StarttlsDetail = {"blocked": blocked, "hosts": [h.to_json() for h in hosts]}
    return CheckResult(name="starttls", status=status, summary=summary, records=records, findings=findings,
                       detail=dict(detail),
                       elapsed_ms=(time.monotonic() - started) * 1000)


async def check(ctx: CheckContext) -> CheckResult:
    """STARTTLS and the certificate on up to five MX hosts of ``ctx.domain``, tested concurrently."""
    started = time.monotonic()
    d = ctx.domain
    mx = await ctx.dns.query(d, "MX")
    records = list(mx.records) if mx.ok else []
    if mx.failed:
        f = Finding("starttls.lookup-failed", Severity.UNKNOWN,
                    f"We couldn't look up the mail servers of {d}, so encryption wasn't tested.",
                    detail=mx.describe, rfc=RFC)
        return _result(ctx, started, Status.ERROR, f"Couldn't check encryption for {d}.", [f], [], False, records)
    good, nulls = _mx_hosts(mx)
    if not good:
        if nulls:
            f = Finding("starttls.null-mx", Severity.INFO,
                        f"{d} says it accepts no mail (null MX), so there is no mail server to test.",
                        rfc="RFC 7505")
        else:
            f = Finding("starttls.no-mx", Severity.INFO,
                        f"{d} has no mail servers (MX records), so there is nothing to test.", rfc="RFC 5321 §5.1")
        return _result(ctx, started, Status.INFO, f"No mail servers to test for {d}.", [f], [], False, records)
    hosts = await asyncio.gather(*(_host(ctx, m.host) for m in good[:MAX_HOSTS]))
    findings: list[Finding] = []
    with_ip = [h for h in hosts if h.ip is not None]
    blocked = bool(with_ip) and not any(h.reached for h in with_ip)
    if blocked:
        findings.append(Finding(
            "starttls.blocked", Severity.UNKNOWN,
            "We couldn't check encryption from this network: "
            + ("your mail server could not" if len(with_ip) == 1 else f"none of your {len(with_ip)} mail servers could")
            + f" be reached on port {ctx.options.smtp_port}. Many internet providers and offices block outgoing "
            f"port 25; this says nothing about your servers. Try from another network.",
            detail="; ".join(f"{h.host} ({h.ip}): {h.error}" for h in with_ip), rfc=RFC))
        for h in hosts:
            if h.ip is None:
                findings += _findings(h)
    else:
        for h in hosts:
            findings += _findings(h)
    if len(good) > MAX_HOSTS:
        findings.append(Finding("starttls.more-hosts", Severity.INFO,
                                f"{d} has {len(good)} mail servers; we tested the first {MAX_HOSTS}.",
                                detail=", ".join(m.host for m in good[MAX_HOSTS:])))
    status = derive_status(findings)
    tested = [h for h in hosts if h.starttls is not None]
    if blocked:
        summary = f"Couldn't check encryption from this network (port {ctx.options.smtp_port} seems blocked)."
    elif status is Status.PASS and len(good) > len(tested):  # only the first MAX_HOSTS were tested
        summary = (f"The {len(tested)} mail servers we tested (of {len(good)}) offer encryption with a valid "
                   "certificate.")
    elif status is Status.PASS:
        summary = (f"All {len(tested)} mail servers offer encryption with a valid certificate."
                   if len(tested) > 1 else "Your mail server offers encryption with a valid certificate.")
    elif status is Status.FAIL:
        n = sum(1 for h in hosts if h.starttls is False or h.handshake_failed)
        untested = sum(1 for h in hosts if h.starttls is None and not h.handshake_failed)
        summary = (f"{n} of {len(hosts)} mail servers don't offer working encryption (STARTTLS)"
                   + (f"; {untested} couldn't be tested." if untested else "."))
    elif status is Status.WARN and any(f.code.startswith("starttls.cert-") for f in findings):
        summary = "Your mail servers offer encryption, but there is a certificate problem."
    elif status is Status.WARN:
        summary = "Your mail servers offer encryption, with problems to look at."
    else:
        summary = f"Couldn't check encryption on all of the mail servers of {d}."
    return _result(ctx, started, status, summary, findings, list(hosts), blocked, records)
