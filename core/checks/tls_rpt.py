"""SMTP TLS Reporting (RFC 8460): where sending servers send daily reports about encrypted delivery.

- ``records.tls_rpt.parse_tlsrpt(text)`` parses a ``_smtp._tls`` TXT record; raises only
  ``TlsRptSyntaxError``.
- ``check(ctx)`` returns the "tls_rpt" result.
"""

from __future__ import annotations

import asyncio
import re
from typing import TypedDict

from ..context import CheckContext
from ..model import CheckResult, Finding, Fix, Severity, Status, derive_status
from ..records.mta_sts import is_sts_record
from ..records.tls_rpt import (
    TlsRptSyntaxError, format_record, is_tlsrpt_record, looks_like_tlsrpt, parse_tlsrpt, uri_problem,
)
from .posture import receives_no_mail


class TlsRptDetail(TypedDict):
    """``CheckResult.detail`` of the TLS reporting check (every key is always there)."""

    record: str | None  # the _smtp._tls record found, or None
    rua: list[str]  # where reports go

RFC = "RFC 8460 §3"
REPORT_MAILBOX = "tls-reports"


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
    detail: TlsRptDetail = {"record": None, "rua": []}
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
        # §3: senders discard the TXT records that don't begin with "v=TLSRPTv1;" and need exactly one left; a
        # look-alike (another case, no ';') is judged on its own only when there is no proper record beside it
        strict = [t for t in ans.txt if is_tlsrpt_record(t)]
        ignored = [t for t in ans.txt if not is_tlsrpt_record(t) and looks_like_tlsrpt(t)]
        candidates = strict or ignored
        records = strict + ignored
        if strict and not no_inbox:
            findings.extend(_f(
                "record-ignored", Severity.WARNING, f"Sending servers ignore the TXT record '{t[:80]}' at {host}: it "
                "doesn't begin with exactly 'v=TLSRPTv1;'. They use your other TLS reporting record, so the "
                "addresses in this one get no reports; delete it, and put any address you want reports at into "
                "the record that counts.", f"{host} TXT \"{t[:200]}\"",
                Fix(host, "TXT", t, action="remove", note="The record sending servers ignore; keep the other one."))
                for t in ignored)
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
    result = CheckResult("tls_rpt", status, summary, records, findings, dict(detail))
    result.elapsed_ms = (loop.time() - started) * 1000
    return result
