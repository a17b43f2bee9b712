"""Plain data that every check returns and every front end consumes.

Nothing here does I/O. The app, the CLI and the tests all read these objects; ``to_json`` gives the
stable JSON form the CLI prints with ``--json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Iterable


class Status(StrEnum):
    """The verdict of one check. ``ERROR`` means "couldn't check", never "misconfigured"."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    INFO = "info"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    Status.PASS: "Pass",
    Status.WARN: "Warning",
    Status.FAIL: "Fail",
    Status.ERROR: "Couldn't check",
    Status.INFO: "Info",
}


class Severity(StrEnum):
    """How much a single finding matters.

    ``ERROR`` makes the check fail, ``WARNING`` makes it warn, ``INFO`` is advice or context, and
    ``UNKNOWN`` marks something we could not look up (DNS timeout, SERVFAIL): it turns the check into
    "couldn't check" unless a real failure was also found.
    """

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    UNKNOWN = "unknown"


MAX_TXT_STRING = 255


def split_txt(value: str, size: int = MAX_TXT_STRING) -> list[str]:
    """Split a TXT value into character-strings of at most ``size`` bytes (RFC 1035 3.3.14).

    Splits on UTF-8 byte length, never inside a multi-byte character. An empty value is one empty
    string (a TXT record always has at least one string).
    """
    if value == "":
        return [""]
    parts: list[str] = []
    current: list[str] = []
    current_len = 0
    for ch in value:
        n = len(ch.encode("utf-8"))
        if current_len + n > size:
            parts.append("".join(current))
            current, current_len = [], 0
        current.append(ch)
        current_len += n
    if current:
        parts.append("".join(current))
    return parts


def quote_txt(s: str) -> str:
    """One zone-file character-string: quoted; quote and backslash escaped, and any byte outside
    printable ASCII written as ``\\DDD`` (RFC 1035 §5.1) so the line survives any editor."""
    out = []
    for b in s.encode("utf-8"):
        if b in (0x22, 0x5C):
            out.append("\\" + chr(b))
        elif 0x20 <= b <= 0x7E:
            out.append(chr(b))
        else:
            out.append(f"\\{b:03d}")
    return '"' + "".join(out) + '"'


@dataclass(frozen=True)
class Fix:
    """A DNS record to publish (or, with ``action="remove"``, to delete).

    ``host`` is fully qualified without the trailing dot (``_dmarc.example.com``); ``value`` is the
    whole record text exactly as it should be published (for TXT: the joined text, unquoted).

    ``kind`` says whether the record can be published as it is: ``record`` (yes), ``starting-point`` (a
    draft the person must complete first, e.g. an SPF record that covers only the mail servers we could
    see) or ``suggestion`` (right only if the person confirms a fact we can't know, e.g. "this domain never
    sends mail"). Publishing for the user (``core.publish.plan``) leaves the last two out; it reads this
    field, never the wording of ``note``.
    """

    host: str
    type: str
    value: str
    ttl: int = 3600
    action: str = "publish"  # "publish" | "replace" | "remove"
    note: str = ""
    kind: str = "record"  # "record" | "starting-point" | "suggestion"

    @property
    def strings(self) -> list[str]:
        """The TXT value split into strings of at most 255 bytes (TXT only; others: the value)."""
        if self.type.upper() == "TXT":
            return split_txt(self.value)
        return [self.value]

    @property
    def zone_value(self) -> str:
        """The RDATA as written in a zone file (TXT quoted and split)."""
        if self.type.upper() == "TXT":
            return " ".join(quote_txt(s) for s in self.strings)
        return self.value

    @property
    def zone_line(self) -> str:
        """A master-file line (RFC 1035) that can be pasted into a zone file as is."""
        host = self.host.rstrip(".") + "."
        return f"{host}\t{self.ttl}\tIN\t{self.type.upper()}\t{self.zone_value}"

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "type": self.type.upper(),
            "value": self.value,
            "ttl": self.ttl,
            "action": self.action,
            "note": self.note,
            "kind": self.kind,
            "strings": self.strings,
            "zone_line": self.zone_line,
        }


@dataclass(frozen=True)
class Finding:
    """One thing we found. ``code`` is stable (``spf.too-many-lookups``) so scripts can rely on it."""

    code: str
    severity: Severity
    message: str  # plain English for a small-business admin
    detail: str = ""  # the why, for the curious
    rfc: str = ""  # e.g. "RFC 7208 §4.6.4"
    fix: Fix | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "detail": self.detail,
            "rfc": self.rfc,
            "fix": self.fix.to_json() if self.fix else None,
        }


def derive_status(findings: Iterable[Finding], *, default: Status = Status.PASS) -> Status:
    """The status a set of findings implies: any error → fail; else any unknown → couldn't check;
    else any warning → warn; else ``default``."""
    sev = {f.severity for f in findings}
    if Severity.ERROR in sev:
        return Status.FAIL
    if Severity.UNKNOWN in sev:
        return Status.ERROR
    if Severity.WARNING in sev:
        return Status.WARN
    return default


@dataclass
class CheckResult:
    """The result of one check (``spf``, ``dkim``, ``dmarc``, ``mx``...)."""

    name: str
    status: Status
    summary: str
    records: list[str] = field(default_factory=list)  # the records as seen in DNS
    findings: list[Finding] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)  # protocol specifics, JSON-able
    elapsed_ms: float = 0.0

    @property
    def fixes(self) -> list[Fix]:
        seen: list[Fix] = []
        for f in self.findings:
            if f.fix is not None and f.fix not in seen:
                seen.append(f.fix)
        return seen

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": str(self.status),
            "summary": self.summary,
            "records": list(self.records),
            "findings": [f.to_json() for f in self.findings],
            "fixes": [x.to_json() for x in self.fixes],
            "detail": self.detail,
            "elapsed_ms": round(self.elapsed_ms, 1),
        }


# The records every sender needs; the other checks are optional extras (see DomainReport.status).
CORE_CHECKS: tuple[str, ...] = ("spf", "dkim", "dmarc", "mx")


@dataclass
class DomainReport:
    """Everything we learned about one domain in one run.

    The overall ``status`` is the worst of the checks, with one exception: the optional checks (MTA-STS, TLS
    reporting, BIMI, DNSSEC, reverse DNS, STARTTLS) count only with a warning or a failure. One that is not
    set up (info) or couldn't run from here (a blocked port 25, a DNS server refusing reverse lookups) says
    so on its own card but does not turn the whole domain into "info" or "couldn't check"."""

    domain: str
    checks: dict[str, CheckResult] = field(default_factory=dict)
    queries: list[dict[str, Any]] = field(default_factory=list)
    started: str = ""  # ISO 8601 with time zone
    elapsed_ms: float = 0.0
    nameservers: list[str] = field(default_factory=list)

    @property
    def status(self) -> Status:
        """The worst status over all checks (info counts as pass; see the class note on optional checks)."""
        order = [Status.PASS, Status.INFO, Status.WARN, Status.ERROR, Status.FAIL]
        worst = Status.PASS
        for name, r in self.checks.items():
            s = r.status
            if name not in CORE_CHECKS and s in (Status.ERROR, Status.INFO):
                s = Status.PASS  # an optional extra not set up, or not checkable from here: its card says so
            if order.index(s) > order.index(worst):
                worst = s
        return worst

    @property
    def unchecked_optional(self) -> list[str]:
        """Optional checks that couldn't run (their cards say why)."""
        return [n for n, r in self.checks.items() if r.status is Status.ERROR and n not in CORE_CHECKS]

    def to_json(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "status": str(self.status),
            "started": self.started,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "nameservers": list(self.nameservers),
            "checks": {k: v.to_json() for k, v in self.checks.items()},
            "queries": list(self.queries),
        }
