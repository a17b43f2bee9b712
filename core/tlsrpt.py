"""SMTP TLS Reporting (RFC 8460): where sending servers send daily reports about encrypted delivery.

- ``parse_tlsrpt(text)`` parses a ``_smtp._tls`` TXT record; raises only ``TlsRptSyntaxError``.
- ``check(ctx)`` returns the "tls_rpt" result.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from .context import CheckContext
from .model import CheckResult, Finding, Fix, Severity, Status, derive_status
from .mtasts import is_sts_record
from .mx import receives_no_mail

RFC = "RFC 8460 §3"
REPORT_MAILBOX = "tls-reports"

_EXT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}\Z")
_EXT_VALUE = re.compile(r"[\x21-\x3a\x3c\x3e-\x7e]+\Z")
_VERSION_START = re.compile(r"v=TLSRPTv1(?:[ \t]*;|[ \t]*\Z)")
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]+\Z")
_HOST = re.compile(r"(?=.{1,253}\Z)(?:(?!-)[A-Za-z0-9-]{1,63}(?<!-)\.)+[A-Za-z][A-Za-z0-9-]{0,62}\Z")


class TlsRptSyntaxError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class TlsRptRecord:
    raw: str
    rua: list[str] = field(default_factory=list)  # usable URIs (mailto: or https:)
    bad_uris: list[str] = field(default_factory=list)  # written but unusable
    extensions: dict[str, str] = field(default_factory=dict)


def is_tlsrpt_record(text: str) -> bool:
    return _VERSION_START.match(text or "") is not None


def looks_like_tlsrpt(text: str) -> bool:
    return re.match(r"\s*v\s*=\s*tlsrptv1", text or "", re.IGNORECASE) is not None


def uri_problem(uri: str) -> str | None:
    """Why a ``rua`` URI can't receive reports (``None`` when it can)."""
    scheme, sep, rest = uri.partition(":")
    if not sep:
        return f"'{uri[:60]}' is not an address (it needs mailto: or https:)."
    s = scheme.lower()
    if s == "mailto":
        addr = unquote(rest.split("?")[0])
        local, at, host = addr.rpartition("@")
        if not at or not _LOCAL.match(local) or not _HOST.match(host.rstrip(".")):
            return f"'{uri[:60]}' is not a valid e-mail address."
        return None
    if s == "https":
        try:
            host = urlsplit(uri).hostname or ""
        except ValueError:
            host = ""
        if not host or any(c.isspace() for c in uri):
            return f"'{uri[:60]}' is not a valid https address."
        return None
    return f"'{uri[:60]}' uses '{scheme[:20]}:'; only mailto: and https: addresses receive reports."


def parse_tlsrpt(text: str) -> TlsRptRecord:
    """``"v=TLSRPTv1; rua=mailto:tls@example.com"`` → ``TlsRptRecord``; raises only ``TlsRptSyntaxError``
    (a record senders ignore). Unusable URIs beside usable ones are listed in ``bad_uris``."""
    if not isinstance(text, str):
        raise TlsRptSyntaxError("The record is not text.")
    fields = [f.strip(" \t") for f in text.split(";")]
    if fields and fields[-1] == "":
        fields.pop()
    if not fields or fields[0] != "v=TLSRPTv1":
        raise TlsRptSyntaxError("The record must begin with exactly 'v=TLSRPTv1' followed by ';'.")
    rec = TlsRptRecord(text)
    seen_rua = False
    for part in fields[1:]:
        name, sep, value = part.partition("=")
        if not sep:
            raise TlsRptSyntaxError(f"'{part[:40]}' is not a 'name=value' field.")
        if name == "rua":
            if seen_rua:
                raise TlsRptSyntaxError("The record has more than one 'rua' field; put all addresses in one, "
                                        "separated by commas.")
            seen_rua = True
            for uri in (u.strip(" \t") for u in value.split(",")):
                if not uri:
                    raise TlsRptSyntaxError("The rua field has an empty address (two commas, or a comma at the end).")
                (rec.bad_uris if uri_problem(uri) else rec.rua).append(uri)
        elif name == "v":
            raise TlsRptSyntaxError("The record has more than one 'v' field.")
        else:
            if not _EXT_NAME.match(name) or not _EXT_VALUE.match(value):
                raise TlsRptSyntaxError(f"'{part[:40]}' is not a valid field.")
            rec.extensions.setdefault(name, value)
    if not seen_rua:
        raise TlsRptSyntaxError("The record has no 'rua=' field saying where reports go.")
    if not rec.rua:
        raise TlsRptSyntaxError(uri_problem(rec.bad_uris[0]) or "No usable report address.")
    return rec


def format_record(rua: list[str]) -> str:
    return f"v=TLSRPTv1; rua={','.join(rua)}"


def _salvage(texts: list[str]) -> list[str]:
    """Usable URIs found in broken or duplicate records, in order, without repeats."""
    out: list[str] = []
    for t in texts:
        m = re.search(r"rua\s*=\s*([^;]*)", t, re.IGNORECASE)
        for uri in (m.group(1).split(",") if m else []):
            u = uri.strip(" \t")
            if u and uri_problem(u) is None and u not in out:
                out.append(u)
    return out


def _f(code: str, sev: Severity, message: str, detail: str = "", fix: Fix | None = None) -> Finding:
    return Finding(f"tls_rpt.{code}", sev, message, detail=detail, rfc=RFC, fix=fix)


async def check(ctx: CheckContext) -> CheckResult:
    loop = asyncio.get_running_loop()
    started = loop.time()
    domain = ctx.domain.rstrip(".").lower()
    host = f"_smtp._tls.{domain}"
    ans, sts, mx = await asyncio.gather(ctx.dns.query(host, "TXT"), ctx.dns.query(f"_mta-sts.{domain}", "TXT"),
                                        ctx.dns.query(domain, "MX"))  # MX: shared with the MX check
    no_inbox = receives_no_mail(domain, mx)
    findings: list[Finding] = []
    detail: dict[str, Any] = {"record": None, "rua": []}
    records: list[str] = []
    default_fix = Fix(host, "TXT", format_record([f"mailto:{REPORT_MAILBOX}@{domain}"]),
                      note=f"Reports will go to {REPORT_MAILBOX}@{domain}: create that mailbox first, or use the "
                           "address a TLS report service gives you.")
    status: Status
    if ans.failed:
        findings.append(_f("lookup-failed", Severity.UNKNOWN, "We couldn't look up your TLS reporting record, so we "
                           "don't know whether it is set up.", f"{host} TXT: {ans.describe}"))
        status = Status.ERROR
    else:
        candidates = [t for t in ans.txt if is_tlsrpt_record(t) or looks_like_tlsrpt(t)]
        records = list(candidates)
        sts_on = sts.ok and any(is_sts_record(t) for t in sts.txt)
        if no_inbox:
            # TLS reports are about mail delivered *to* the domain: none is, and an address at it gets nothing
            if candidates:
                findings.append(_f(
                    "no-inbox", Severity.INFO, f"{no_inbox}, so no sending server ever delivers to it and no TLS "
                    "report will be sent: this TLS reporting record does nothing. You can delete it, or keep it "
                    "for when the domain gets mail servers.", f"{host}: {candidates[0][:200]}"))
            else:
                findings.append(_f(
                    "not-needed", Severity.INFO, f"TLS reporting doesn't apply: {no_inbox}. TLS reports are about "
                    "mail delivered to a domain, so there is nothing to set up here.", f"{host}: {ans.describe}"))
            status = Status.INFO
        elif not candidates:
            if sts_on:
                findings.append(_f(
                    "not-published", Severity.WARNING, "You use MTA-STS but have no TLS reporting record, so you "
                    "won't hear about mail that couldn't be delivered securely to you. Publish the record shown.",
                    f"{host}: {ans.describe}", default_fix))
                status = Status.WARN
            else:
                findings.append(_f(
                    "not-published", Severity.INFO, "TLS reporting is not set up. It is optional: it asks other "
                    "mail services to send you a daily report about problems with encrypted delivery to your "
                    "domain, which is useful once you use MTA-STS.", f"{host}: {ans.describe}", default_fix))
                status = Status.INFO
        elif len(candidates) > 1:
            rua = _salvage(candidates) or default_fix.value.split("rua=")[1].split(",")
            findings.append(_f(
                "multiple-records", Severity.ERROR, "You have more than one TLS reporting record, so sending "
                "servers ignore all of them. Replace them with the single record shown.",
                f"{host} has {len(candidates)} v=TLSRPTv1 records; RFC 8460 §3 requires exactly one.",
                Fix(host, "TXT", format_record(rua), action="replace")))
            status = derive_status(findings)
        else:
            detail["record"] = candidates[0]
            try:
                rec = parse_tlsrpt(candidates[0])
            except TlsRptSyntaxError as exc:
                rua = _salvage(candidates)
                fix = Fix(host, "TXT", format_record(rua), action="replace") if rua else \
                    Fix(host, "TXT", default_fix.value, action="replace", note=default_fix.note)
                findings.append(_f("record-invalid", Severity.ERROR, "Your TLS reporting record is written "
                                   f"wrongly, so sending servers ignore it: {exc.message}",
                                   f"{host} TXT \"{candidates[0][:200]}\"", fix))
            else:
                detail["rua"] = list(rec.rua)
                if rec.bad_uris:
                    findings.append(_f(
                        "bad-uri", Severity.WARNING, "Some report addresses in your TLS reporting record can't be "
                        "used: " + " ".join(p for p in (uri_problem(u) for u in rec.bad_uris) if p),
                        f"unusable: {', '.join(rec.bad_uris)}",
                        Fix(host, "TXT", format_record(rec.rua), action="replace")))
            status = derive_status(findings)
    summary = {
        Status.ERROR: "We couldn't check TLS reporting.",
        Status.INFO: (f"TLS reporting doesn't apply: {no_inbox}." if no_inbox else
                      "TLS reporting is not set up (optional)."),
        Status.FAIL: "A TLS reporting record is published but can't be used.",
    }.get(status)
    if summary is None:
        if detail["rua"]:
            n = len(detail["rua"])
            summary = f"TLS reports are sent to {n} address{'es' if n != 1 else ''}." if status == Status.PASS \
                else "TLS reporting works, with points to improve."
        else:
            summary = "TLS reporting is not set up, but MTA-STS is: publish a reporting record."
    result = CheckResult("tls_rpt", status, summary, records, findings, detail)
    result.elapsed_ms = (loop.time() - started) * 1000
    return result
