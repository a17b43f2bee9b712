"""SMTP TLS report parser (RFC 8460 JSON; gzipped files are unpacked by ``extract``).

Public API::

    @dataclass class FailureDetail(result_type, sending_mta_ip, receiving_mx_hostname, receiving_ip,
                                   failed_session_count, failure_reason_code, additional_information)
    @dataclass class TlsPolicy(policy_type, policy_domain, policy_strings, mx_hosts, successful, failed,
                               failures: list[FailureDetail])
    @dataclass class TlsReport(org_name, report_id, contact_info, begin, end, policies: list[TlsPolicy])
        .domain (the first policy domain, or ""), .successful, .failed (the policies' counts added up),
        .sessions (each session once: count_once per domain), .unnamed (a policy without a domain)
    def count_once(policies: Iterable[(policy_type, successful, failed)]) -> (successful, failed)
                                                        # one domain's sessions in one report, each once
    def parse_tlsrpt(data: bytes) -> TlsReport          # raises only ReportError
    def name_the_domain(report, *, file_name="", mail_domain="") -> str   # fills a missing policy-domain when
                                                        # certain; says where from ("" when not filled)
    def domain_from_file_name(name: str) -> str         # RFC 8460 5.1 "sender!domain!begin!end.json" → domain
    def result_words(result_type: str) -> str           # an RFC 8460 result type in plain words

The JSON may be UTF-8 (with or without a byte order mark), UTF-16 or UTF-32; a report larger than
``MAX_BYTES`` is refused unread (real ones are a few kilobytes). Text values are cleaned (no lone surrogates,
no control characters), so whatever a hostile report holds can be stored and shown.

Dates are RFC 3339 strings in the file and Unix seconds here. Unknown policy types (RFC 8460 has
"tlsa", "sts" and "no-policy-found") are kept as written, as are missing counts (0).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

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

    @property
    def sessions(self) -> int:
        """The sessions the report counts, each once (``count_once`` per policy domain)."""
        by_domain: dict[str, list[tuple[str, int, int]]] = {}
        for p in self.policies:
            by_domain.setdefault(p.policy_domain, []).append((p.policy_type, p.successful, p.failed))
        return sum(sum(count_once(v)) for v in by_domain.values())

    @property
    def unnamed(self) -> bool:
        """True when a policy of the report does not say which domain it is about (no policy-domain)."""
        return any(not p.policy_domain for p in self.policies)


OVERLAPPING_TYPES = ("sts", "tlsa")


def count_once(policies: Iterable[tuple[str, int, int]]) -> tuple[int, int]:
    """(successful, failed) sessions to one policy domain in one report, from its policies' (policy type,
    successful, failed) counts, each session counted once.

    RFC 8460 gives the counts per policy applied (each entry of the report's "policies" array has its own
    summary). A sender that validates both DANE and MTA-STS for a domain that publishes both (RFC 8461 section 2:
    a passing MTA-STS check must not override a failing DANE one, so both are checked) lists the same sessions
    under the ``tlsa`` and the ``sts`` policy: a real Microsoft report says 2 successful sessions under each for
    random.net, for 2 deliveries, not 4 (people comparing postfix-tlspol's reports, which name the one policy
    it used, with Microsoft's note that Microsoft "includes both when available"). So ``sts`` and ``tlsa`` are
    not added up: the larger of the two counts. Every other entry is sessions of their own and is added: a
    ``no-policy-found`` entry (no policy applied to those sessions: they are under neither), and within one
    type the entries with different policy strings (a policy changed during the day). A session that failed
    under either policy failed: failed is the larger of the two types' failures, and successful what is left."""
    per_type: dict[str, list[int]] = {}
    for ptype, ok, failed in policies:
        tot = per_type.setdefault(ptype, [0, 0])
        tot[0] += ok
        tot[1] += failed
    both = [per_type.pop(t) for t in OVERLAPPING_TYPES if t in per_type]
    total = sum(ok + failed for ok, failed in per_type.values())
    failed_n = sum(failed for _ok, failed in per_type.values())
    if both:
        seen = max(ok + failed for ok, failed in both)
        bad = min(seen, max(failed for _ok, failed in both))
        total += seen
        failed_n += bad
    return total - failed_n, failed_n


_DOMAIN = re.compile(r"(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def _domain_or_empty(text: str) -> str:
    d = text.strip().rstrip(".").lower()
    return d if _DOMAIN.fullmatch(d) and not d.replace(".", "").isdigit() else ""


def domain_from_file_name(name: str) -> str:
    """The policy domain in an RFC 8460 section 5.1 file name (``sender!policy-domain!begin!end[!id].json``,
    also gzipped); "" when the name is not one. ``name`` may be a path inside a container ("a.eml › x.json")."""
    last = name.rsplit(" › ", 1)[-1].rsplit("/", 1)[-1]
    parts = last.split("!")
    if len(parts) < 4 or not parts[2].isdigit():
        return ""
    if not (parts[3].isdigit() or parts[3].split(".", 1)[0].isdigit()):
        return ""
    return _domain_or_empty(parts[1])


def name_the_domain(report: TlsReport, *, file_name: str = "", mail_domain: str = "") -> str:
    """Give the policies without a policy-domain the report's domain when that is certain; returns where it
    came from in words ("" when nothing was filled in).

    RFC 8460 makes policy-domain required, but some reporters leave it out (Google's no-policy-found entries,
    Stalwart's ``rpt03.json`` sample); such sessions would be stored for no domain and be in no summary. The
    domain is taken from what names the report's domain outside the policy: the mail it came in (section 5.3:
    ``TLS-Report-Domain`` and the Subject's "Report Domain:", agreeing), its file name (section 5.1:
    ``sender!policy-domain!begin!end``), and the domain the report's other policies name, but only when every
    one of these that is present names the same single domain. The policy-string's ``mx:`` lines are not used:
    they name mail servers, often the provider's (``*.mail.protection.outlook.com``), not the domain. Otherwise
    nothing is filled in and the report stays "for an unknown domain" (the summary lists such reports)."""
    if not report.unnamed:
        return ""
    named = {p.policy_domain for p in report.policies if p.policy_domain}
    sources: list[tuple[str, str]] = []
    mail = _domain_or_empty(mail_domain)
    if mail:
        sources.append((mail, "the mail it came in (TLS-Report-Domain)"))
    from_name = domain_from_file_name(file_name)
    if from_name:
        sources.append((from_name, "its file name"))
    if len(named) == 1:
        sources.append((next(iter(named)), "the report's other policies"))
    elif len(named) > 1:
        return ""  # a report about several domains: which one the unnamed policy is about is not known
    if not sources or len({d for d, _ in sources}) != 1:
        return ""
    domain = sources[0][0]
    for p in report.policies:
        if not p.policy_domain:
            p.policy_domain = domain
    return " and ".join(w for _, w in sources)


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


__all__ = ["FailureDetail", "TlsPolicy", "TlsReport", "parse_tlsrpt", "ReportError", "name_the_domain",
           "domain_from_file_name", "count_once"]
