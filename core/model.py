"""Plain data that every check returns and every front end consumes.

Nothing here does I/O. The app, the CLI and the tests all read these objects; ``to_json`` gives the
stable JSON form the CLI prints with ``--json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Iterable, TypeVar

from .domain import display_names


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


_E = TypeVar("_E", bound=StrEnum)


class JsonShapeError(ValueError):
    """A JSON document that is not the ``to_json`` form of the type it is read as (``from_json``)."""


def json_object(data: Any, what: str) -> dict[str, Any]:
    """``data`` when it is a JSON object (a dict with string keys), else ``JsonShapeError``."""
    if not isinstance(data, dict):
        raise JsonShapeError(f"{what}: expected a JSON object, got {type(data).__name__}")
    return data


def json_str(data: dict[str, Any], key: str, default: str | None = None) -> str:
    """The string ``data[key]`` (``default`` when the key is missing or null and a default is given)."""
    value = data.get(key)
    if value is None and default is not None:
        return default
    if not isinstance(value, str):
        raise JsonShapeError(f"{key!r}: expected a string, got {type(value).__name__}")
    return value


def json_num(data: dict[str, Any], key: str, default: float = 0.0) -> float:
    """The number ``data[key]`` (``default`` when missing or null)."""
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise JsonShapeError(f"{key!r}: expected a number, got {type(value).__name__}")
    return float(value)


def json_int(data: dict[str, Any], key: str, default: int = 0) -> int:
    """The integer ``data[key]`` (``default`` when missing or null)."""
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise JsonShapeError(f"{key!r}: expected an integer, got {type(value).__name__}")
    return value


def json_list(data: dict[str, Any], key: str) -> list[Any]:
    """The list ``data[key]`` (empty when missing or null)."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise JsonShapeError(f"{key!r}: expected a list, got {type(value).__name__}")
    return value


def json_strs(data: dict[str, Any], key: str) -> list[str]:
    """The list of strings ``data[key]`` (empty when missing or null)."""
    items = json_list(data, key)
    if not all(isinstance(x, str) for x in items):
        raise JsonShapeError(f"{key!r}: expected a list of strings")
    return items


def json_dict(data: dict[str, Any], key: str) -> dict[str, Any]:
    """The object ``data[key]`` (empty when missing or null)."""
    value = data.get(key)
    if value is None:
        return {}
    return json_object(value, key)


def json_enum(enum: type[_E], data: dict[str, Any], key: str) -> _E:
    """The member of ``enum`` named by the string ``data[key]``."""
    text = json_str(data, key)
    try:
        return enum(text)
    except ValueError:
        raise JsonShapeError(f"{key!r}: {text!r} is not one of {[str(m.value) for m in enum]}") from None


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
    # When a finding offers several ways to fix it: the option's name in a few words ("Flatten the most
    # expensive includes"); the note then says its trade-off.
    title: str = ""
    # Records that belong to this fix and must be published with it (e.g. the SPF record of the subdomain
    # a sender moves to). Each is a whole record of its own; the fix works only with all of them.
    also_publish: tuple["Fix", ...] = ()

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
            "title": self.title,
            "also_publish": [x.to_json() for x in self.also_publish],
        }

    @classmethod
    def from_json(cls, data: Any) -> "Fix":
        """The fix ``to_json`` wrote (``strings`` and ``zone_line`` are derived, so not read)."""
        d = json_object(data, "fix")
        return cls(host=json_str(d, "host"), type=json_str(d, "type"), value=json_str(d, "value"),
                   ttl=json_int(d, "ttl", 3600), action=json_str(d, "action", "publish"),
                   note=json_str(d, "note", ""), kind=json_str(d, "kind", "record"), title=json_str(d, "title", ""),
                   also_publish=tuple(cls.from_json(x) for x in json_list(d, "also_publish")))

    @property
    def records(self) -> tuple["Fix", ...]:
        """Every record of this fix on its own: this one (without its title and companions), then the records
        published with it."""
        if not self.also_publish and not self.title:
            return (self,)
        return (replace(self, title="", also_publish=()), *self.also_publish)


@dataclass(frozen=True)
class Finding:
    """One thing we found. ``code`` is stable (``spf.too-many-lookups``) so scripts can rely on it."""

    code: str
    severity: Severity
    message: str  # plain English for a small-business admin
    detail: str = ""  # the why, for the curious
    rfc: str = ""  # e.g. "RFC 7208 §4.6.4"
    fix: Fix | None = None  # the record to publish (the first, cheapest option when there are several)
    alternatives: tuple[Fix, ...] = ()  # other ways to fix it, each a complete fix, cheapest first
    no_fix: str = ""  # when there is no fix: why no record can fix it (plain words)

    @property
    def options(self) -> tuple[Fix, ...]:
        """Every fix offered for this finding: ``fix`` then the alternatives."""
        return ((self.fix,) if self.fix is not None else ()) + tuple(self.alternatives)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "detail": self.detail,
            "rfc": self.rfc,
            "fix": self.fix.to_json() if self.fix else None,
            "alternatives": [x.to_json() for x in self.alternatives],
            "no_fix": self.no_fix,
        }

    @classmethod
    def from_json(cls, data: Any) -> "Finding":
        """The finding ``to_json`` (or ``ShownFinding.to_json``, whose extra keys are derived) wrote."""
        d = json_object(data, "finding")
        fix = d.get("fix")
        return cls(code=json_str(d, "code"), severity=json_enum(Severity, d, "severity"),
                   message=json_str(d, "message"), detail=json_str(d, "detail", ""), rfc=json_str(d, "rfc", ""),
                   fix=Fix.from_json(fix) if fix is not None else None,
                   alternatives=tuple(Fix.from_json(x) for x in json_list(d, "alternatives")),
                   no_fix=json_str(d, "no_fix", ""))


def gist(text: str, limit: int = 110) -> str:
    """The first sentence of a message, shortened to ``limit`` characters: how one finding is named
    under another ("also solves: ...")."""
    t = " ".join(text.split())
    for end in (". ", "; ", ": "):
        i = t.find(end)
        if 0 < i < limit:
            t = t[:i]
            break
    t = t.rstrip(".")
    if len(t) <= limit:
        return t
    cut = t[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(",;: ") + "…"


# Problems first: what breaks mail, then what couldn't be checked, then what should be tidied, then advice.
SEVERITY_ORDER: dict[Severity, int] = {Severity.ERROR: 0, Severity.UNKNOWN: 1, Severity.WARNING: 2,
                                       Severity.INFO: 3}


def by_severity(findings: Iterable[Finding]) -> list[Finding]:
    """``findings`` with the most severe first; findings of one severity keep their order."""
    return sorted(findings, key=lambda f: SEVERITY_ORDER.get(f.severity, 4))


@dataclass(frozen=True)
class ShownFinding:
    """One finding as every front end shows it (``present``): in severity order, with the fixes shown
    under it, the other findings those fixes also solve, and, when its fix is shown under a more severe
    finding, that finding."""

    finding: Finding
    fixes: tuple[Fix, ...] = ()  # the options shown here (empty: none, or shown under ``solved_by``)
    also_solves: tuple[Finding, ...] = ()  # less severe findings whose fix is one of the options shown here
    solved_by: Finding | None = None  # the finding under which this one's fix is shown

    def to_json(self) -> dict[str, Any]:
        data = self.finding.to_json()
        data["also_solves"] = list(dict.fromkeys(f.code for f in self.also_solves))
        data["solved_by"] = self.solved_by.code if self.solved_by is not None else None
        return data


def _covers(shown: Fix, fix: Fix) -> bool:
    """True when publishing ``shown`` (with its companion records) publishes every record of ``fix``."""
    if fix == shown:
        return True
    have = {(r.host.lower(), r.type.upper(), r.value, r.action) for r in shown.records}
    return all((r.host.lower(), r.type.upper(), r.value, r.action) in have for r in fix.records)


def present(findings: Iterable[Finding]) -> list[ShownFinding]:
    """The findings in severity order (problem first), each fix shown once: under the most severe finding
    it solves, which names the other findings it also solves; those say where their fix is."""
    ordered = by_severity(findings)
    out: list[ShownFinding] = []
    owners: list[tuple[Fix, int]] = []  # every option shown so far, and the index of its finding in out
    for f in ordered:
        owner = None
        if f.fix is not None:
            owner = next((i for shown, i in owners if _covers(shown, f.fix)), None)
        if owner is None:
            out.append(ShownFinding(f, f.options))
            for x in f.options:
                owners.append((x, len(out) - 1))
            continue
        first = out[owner]
        rest = tuple(x for x in f.alternatives if not any(_covers(s, x) for s, _ in owners))
        out.append(ShownFinding(f, rest, solved_by=first.finding))
        for x in rest:
            owners.append((x, len(out) - 1))
        out[owner] = ShownFinding(first.finding, first.fixes, first.also_solves + (f,), first.solved_by)
    return out


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
        """The fixes as they are shown: the first one under each finding that shows any, most severe finding
        first, each once (a fix whose records another one already publishes is not repeated)."""
        seen: list[Fix] = []
        for sf in self.presented():
            if sf.fixes and sf.fixes[0] not in seen:
                seen.append(sf.fixes[0])
        return seen

    @property
    def offered_fixes(self) -> list[Fix]:
        """Every fix offered, alternatives included, each once."""
        seen: list[Fix] = []
        for f in by_severity(self.findings):
            for x in f.options:
                if x not in seen:
                    seen.append(x)
        return seen

    def presented(self) -> list[ShownFinding]:
        """The findings as the app, the CLI and the reports show them (see ``present``)."""
        return present(self.findings)

    def names_shown(self) -> "CheckResult":
        """The result with every internationalized domain name in its summary and its findings' messages in
        the Unicode form people typed (``domain.display_names``); records, fixes and details keep the ASCII
        form DNS uses, so what is pasted still works."""
        findings = [replace(f, message=display_names(f.message)) for f in self.findings]
        return replace(self, summary=display_names(self.summary), findings=findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": str(self.status),
            "summary": self.summary,
            "records": list(self.records),
            # most severe first; a fix solving several findings is on each, ``also_solves``/``solved_by`` say
            # under which one it is shown
            "findings": [s.to_json() for s in self.presented()],
            "fixes": [x.to_json() for x in self.fixes],
            "detail": self.detail,
            "elapsed_ms": round(self.elapsed_ms, 1),
        }

    @classmethod
    def from_json(cls, data: Any) -> "CheckResult":
        """The result ``to_json`` wrote. The findings come back in the order they are shown (most severe
        first, as ``to_json`` lists them); ``fixes`` and each finding's ``also_solves``/``solved_by`` are
        derived from them, so they are not read."""
        d = json_object(data, "check result")
        return cls(name=json_str(d, "name"), status=json_enum(Status, d, "status"), summary=json_str(d, "summary", ""),
                   records=json_strs(d, "records"),
                   findings=[Finding.from_json(x) for x in json_list(d, "findings")],
                   detail=json_dict(d, "detail"), elapsed_ms=json_num(d, "elapsed_ms"))


@dataclass(frozen=True)
class DnsTrouble:
    """Why (nearly) nothing about a domain could be looked up, said once instead of on every card.

    ``kind`` "resolver": your DNS server does not answer (every question timed out, was refused, or the
    network is unreachable; or it fails for every name, even the root of DNS): the checks say nothing
    about the domain. ``kind`` "domain": your DNS server answers other names, but this domain's lookups
    fail (SERVFAIL or no answer): the domain's own DNS servers are down or broken."""

    kind: str  # "resolver" | "domain"
    servers: tuple[str, ...]  # the DNS servers asked, as "IP" or "IP:PORT"
    reason: str  # "timeout" | "unreachable" | "refused" | "servfail" | "nxdomain" (says nothing exists) | "referral" | "error" | "none" (no server)
    message: str  # what happened, for a small-business admin, naming the server
    advice: str = ""  # what to do about it (front ends add where: Settings, --nameserver)
    detail: str = ""  # the errors behind it, for the curious and for support

    @property
    def text(self) -> str:
        return f"{self.message} {self.advice}".strip()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "servers": list(self.servers), "reason": self.reason, "message": self.message,
                "advice": self.advice, "detail": self.detail}

    @classmethod
    def from_json(cls, data: Any) -> "DnsTrouble":
        d = json_object(data, "dns trouble")
        return cls(kind=json_str(d, "kind"), servers=tuple(json_strs(d, "servers")), reason=json_str(d, "reason"),
                   message=json_str(d, "message"), advice=json_str(d, "advice", ""), detail=json_str(d, "detail", ""))


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
    dns_trouble: DnsTrouble | None = None  # set when the DNS server, or the domain's, did not answer at all

    @property
    def status(self) -> Status:
        """The worst status over all checks (info counts as pass; see the class note on optional checks)."""
        order = [Status.PASS, Status.INFO, Status.WARN, Status.ERROR, Status.FAIL]
        worst = Status.PASS
        # With only optional checks run (`--only rdns`), nothing else carries the verdict: their own
        # "couldn't check" is the answer, never a Pass.
        lenient = any(name in CORE_CHECKS for name in self.checks)
        for name, r in self.checks.items():
            s = r.status
            if name not in CORE_CHECKS and (s is Status.INFO or (lenient and s is Status.ERROR)):
                s = Status.PASS  # an optional extra not set up, or not checkable from here: its card says so
            if order.index(s) > order.index(worst):
                worst = s
        return worst

    @property
    def unchecked_optional(self) -> list[str]:
        """Optional checks that couldn't run (their cards say why)."""
        return [n for n, r in self.checks.items() if r.status is Status.ERROR and n not in CORE_CHECKS]

    @property
    def unchecked(self) -> list[str]:
        """Every check that couldn't run: the ones every sender needs first, then the optional ones."""
        errors = [n for n, r in self.checks.items() if r.status is Status.ERROR]
        return [n for n in errors if n in CORE_CHECKS] + [n for n in errors if n not in CORE_CHECKS]

    def to_json(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "status": str(self.status),
            "started": self.started,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "nameservers": list(self.nameservers),
            "dns_trouble": self.dns_trouble.to_json() if self.dns_trouble is not None else None,
            "checks": {k: v.to_json() for k, v in self.checks.items()},
            "queries": list(self.queries),
        }

    @classmethod
    def from_json(cls, data: Any) -> "DomainReport":
        """The report ``to_json`` wrote (``status`` is derived from the checks, so not read)."""
        d = json_object(data, "domain report")
        trouble = d.get("dns_trouble")
        queries = json_list(d, "queries")
        for q in queries:
            json_object(q, "query")
        return cls(domain=json_str(d, "domain"),
                   checks={k: CheckResult.from_json(v) for k, v in json_dict(d, "checks").items()},
                   queries=queries, started=json_str(d, "started", ""), elapsed_ms=json_num(d, "elapsed_ms"),
                   nameservers=json_strs(d, "nameservers"),
                   dns_trouble=DnsTrouble.from_json(trouble) if trouble is not None else None)
