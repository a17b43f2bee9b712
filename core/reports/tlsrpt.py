"""SMTP TLS report parser (RFC 8460 JSON; gzipped files are unpacked by ``extract``).

Public API::

    @dataclass class FailureDetail(result_type, sending_mta_ip, receiving_mx_hostname, receiving_ip,
                                   failed_session_count, failure_reason_code, additional_information)
    @dataclass class TlsPolicy(policy_type, policy_domain, policy_strings, mx_hosts, successful, failed,
                               failures: list[FailureDetail])
    @dataclass class TlsReport(org_name, report_id, contact_info, begin, end, policies: list[TlsPolicy])
        .domain (the first policy domain, or ""), .successful, .failed
    def parse_tlsrpt(data: bytes) -> TlsReport          # raises only ReportError
    def result_words(result_type: str) -> str           # an RFC 8460 result type in plain words

The JSON may be UTF-8 (with or without a byte order mark), UTF-16 or UTF-32; a report larger than
``MAX_BYTES`` is refused unread (real ones are a few kilobytes). Text values are cleaned (no lone surrogates,
no control characters), so whatever a hostile report holds can be stored and shown.

Dates are RFC 3339 strings in the file and Unix seconds here. Unknown policy types (RFC 8460 has
"tlsa", "sts" and "no-policy-found") are kept as written, as are missing counts (0).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .aggregate import ReportError
from .extract import clean_name, wide_encoding

MAX_POLICIES = 10_000
MAX_DETAILS = 100_000
MAX_BYTES = 5 * 1024 * 1024

# RFC 8460 section 4.3 result types, in words for a mail admin
RESULT_WORDS = {
    "starttls-not-supported": "your mail server did not offer encryption (STARTTLS)",
    "certificate-host-mismatch": "your mail server's certificate is for another host name than the one in your MX "
                                 "record or MTA-STS policy",
    "certificate-expired": "your mail server's certificate has expired",
    "certificate-not-trusted": "your mail server's certificate is not signed by an authority senders trust "
                               "(self-signed, or the intermediate certificate is missing)",
    "validation-failure": "the sender could not verify your mail server's certificate (a general failure: check "
                          "the certificate, its chain and the host names)",
    "tlsa-invalid": "your DANE (TLSA) record does not match your mail server's certificate",
    "dnssec-invalid": "the DNSSEC signatures of your DANE records could not be verified",
    "dane-required": "the sender requires DANE, but your mail server has no valid TLSA record",
    "sts-policy-fetch-error": "the sender could not download your MTA-STS policy (https://mta-sts.<your domain>/"
                              ".well-known/mta-sts.txt): the web site is down, or its address or certificate is wrong",
    "sts-policy-invalid": "your MTA-STS policy file has an error, so senders could not use it",
    "sts-webpki-invalid": "the certificate of your MTA-STS policy web site (mta-sts.<your domain>) is not valid",
}


def result_words(result_type: str) -> str:
    """An RFC 8460 result type (``validation-failure``, ``sts-policy-fetch-error``, ...) in plain words."""
    return RESULT_WORDS.get(result_type.strip().lower(), f"{result_type} (a result type InboxReady does not know)")


@dataclass(frozen=True)
class FailureDetail:
    result_type: str
    sending_mta_ip: str | None = None
    receiving_mx_hostname: str | None = None
    receiving_ip: str | None = None
    failed_session_count: int = 0
    failure_reason_code: str | None = None
    additional_information: str | None = None


@dataclass
class TlsPolicy:
    policy_type: str
    policy_domain: str
    policy_strings: list[str] = field(default_factory=list)
    mx_hosts: list[str] = field(default_factory=list)
    successful: int = 0
    failed: int = 0
    failures: list[FailureDetail] = field(default_factory=list)


@dataclass
class TlsReport:
    org_name: str
    report_id: str
    contact_info: str
    begin: int
    end: int
    policies: list[TlsPolicy] = field(default_factory=list)

    @property
    def org(self) -> str:
        return self.org_name or self.contact_info or "unknown reporter"

    @property
    def domain(self) -> str:
        for p in self.policies:
            if p.policy_domain:
                return p.policy_domain
        return ""

    @property
    def successful(self) -> int:
        return sum(p.successful for p in self.policies)

    @property
    def failed(self) -> int:
        return sum(p.failed for p in self.policies)


def _time(value: Any, what: str) -> int:
    if not isinstance(value, str) or not value.strip():
        raise ReportError(f"the TLS report has no {what}")
    v = value.strip()
    if v.endswith(("Z", "z")):
        v = v[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(v)
    except ValueError:
        raise ReportError(f"the TLS report's {what} is not a date ({value[:40]!r})") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    try:
        return int(dt.timestamp())
    except (OverflowError, OSError, ValueError):
        raise ReportError(f"the TLS report's {what} is out of range") from None


def _count(value: Any, what: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ReportError(f"the TLS report's {what} is not a number")
    if value != value or value < 0 or value > 10**12:
        raise ReportError(f"the TLS report's {what} is out of range")
    return int(value)


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return clean_name(str(value)[:10_000])
    return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [clean_name(value[:10_000])]
    if isinstance(value, list):
        return [clean_name(str(v)[:10_000]) for v in value if isinstance(v, (str, int, float))]
    return []


def parse_tlsrpt(data: bytes) -> TlsReport:
    """Parse one RFC 8460 report; raises only ``ReportError``."""
    try:
        if not isinstance(data, (bytes, bytearray)):
            raise ReportError("not bytes")
        if not bytes(data).strip():
            raise ReportError("the file is empty")
        if len(data) > MAX_BYTES:
            raise ReportError(f"the SMTP TLS report is larger than {MAX_BYTES // (1024 * 1024)} MB; real ones are a "
                              "few kilobytes, so it was not read")
        wide = wide_encoding(bytes(data[:4]))
        try:
            text = bytes(data).decode(wide or "utf-8-sig")
        except UnicodeDecodeError:
            raise ReportError("the JSON file is not UTF-8 text") from None
        try:
            doc = json.loads(text.lstrip("\ufeff"))
        except (json.JSONDecodeError, ValueError) as exc:
            raise ReportError(f"the JSON is damaged ({clean_name(str(exc))[:200]})") from None
        return _build(doc)
    except ReportError:
        raise
    except RecursionError:
        raise ReportError("the JSON is nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 - never anything but ReportError
        raise ReportError(f"the TLS report could not be read ({type(exc).__name__})") from None


def _build(doc: Any) -> TlsReport:
    if not isinstance(doc, dict) or "policies" not in doc or "report-id" not in doc:
        raise ReportError("this JSON is not an SMTP TLS report (RFC 8460): it has no report-id and policies")
    rid = _str(doc.get("report-id"))
    if not rid:
        raise ReportError("the TLS report has no report-id")
    dr = doc.get("date-range")
    if not isinstance(dr, dict):
        raise ReportError("the TLS report has no date-range")
    begin = _time(dr.get("start-datetime"), "start date")
    end = _time(dr.get("end-datetime"), "end date")
    policies_raw = doc.get("policies")
    if not isinstance(policies_raw, list):
        raise ReportError("the TLS report's policies are not a list")
    if len(policies_raw) > MAX_POLICIES:
        raise ReportError("the TLS report has too many policies")
    report = TlsReport(org_name=_str(doc.get("organization-name")) or "", report_id=rid,
                       contact_info=_str(doc.get("contact-info")) or "", begin=begin, end=end)
    for i, item in enumerate(policies_raw, 1):
        if not isinstance(item, dict):
            raise ReportError(f"policy {i} of the TLS report is not an object")
        pol = item.get("policy")
        if not isinstance(pol, dict):
            raise ReportError(f"policy {i} of the TLS report has no policy part")
        summ = item.get("summary")
        summ = summ if isinstance(summ, dict) else {}
        details_raw = item.get("failure-details") or []
        if not isinstance(details_raw, list) or len(details_raw) > MAX_DETAILS:
            raise ReportError(f"policy {i} of the TLS report has unreadable failure details")
        details: list[FailureDetail] = []
        for d in details_raw:
            if not isinstance(d, dict):
                raise ReportError(f"a failure detail in policy {i} is not an object")
            details.append(FailureDetail(
                result_type=(_str(d.get("result-type")) or "unknown").lower(),
                sending_mta_ip=_str(d.get("sending-mta-ip")),
                receiving_mx_hostname=_str(d.get("receiving-mx-hostname")),
                receiving_ip=_str(d.get("receiving-ip")),
                failed_session_count=_count(d.get("failed-session-count"), "failed-session-count"),
                failure_reason_code=_str(d.get("failure-reason-code")),
                additional_information=_str(d.get("additional-information"))))
        report.policies.append(TlsPolicy(
            policy_type=(_str(pol.get("policy-type")) or "").lower(),
            policy_domain=(_str(pol.get("policy-domain")) or "").strip().rstrip(".").lower(),
            policy_strings=_strings(pol.get("policy-string")),
            mx_hosts=_strings(pol.get("mx-host")),
            successful=_count(summ.get("total-successful-session-count"), "successful session count"),
            failed=_count(summ.get("total-failure-session-count"), "failed session count"),
            failures=details))
    return report


__all__ = ["FailureDetail", "TlsPolicy", "TlsReport", "parse_tlsrpt", "ReportError"]
