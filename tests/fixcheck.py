"""The fix self-check (issue 12 items 11 and 12): every fix the engine offers is published into a test DNS
server, the domain is checked again, and the finding must be gone (or, for a staged finding such as DMARC
p=none, ask for the next, different record) while no check gets worse.

A ``ZoneSet`` is what one ``DnsTestServer`` served: its zone origins and record sets. ``tests/conftest.py``
records the zone set of every server the test suite starts (when it stops, and before a zone is replaced),
so the last test of a run can replay all of them; ``ZoneSet.from_zones`` builds one from zone texts.

Publishing a fix (``ZoneSet.applied``): ``replace`` puts the value in place of the record set at
``fix.host``/``fix.type`` (for TXT, in place of the records of the same kind, ``v=spf1``/``v=DMARC1``/...,
keeping site verifications and such); ``publish`` adds it; ``remove`` deletes that record, which must be
there. The records a fix publishes with it (``also_publish``) are applied too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Iterable

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.zone

from inboxready.core.checks.runner import make_client, run_check
from inboxready.core.context import CheckOptions
from inboxready.core.dns.client import DnsClient
from inboxready.core.dns.server import DnsTestServer, _Node
from inboxready.core.model import CORE_CHECKS, DomainReport, Finding, Fix, Severity, Status

# The checks whose fixes are DNS records we can publish here. STARTTLS connects to mail servers (not on
# loopback) and DNSSEC's fixes are DS records at the parent that our edits would leave unsigned.
CHECKS = ("spf", "dkim", "dmarc", "mx", "mta_sts", "tls_rpt", "bimi", "rdns")
RANK = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2, Status.INFO: 3, Status.PASS: 3}

# A fix may make another check ask for the next thing, which is not "worse": the fix revealed it. Each pair is
# (the other check's finding before, its finding after), with why it is the next step.
NEXT_STEPS: dict[tuple[str, str], str] = {
    # the domain now publishes a working SPF record, so it says it sends mail: DKIM now asks for its key
    # (before, with no SPF record a receiver reads, it looked unused, and no key was expected)
    ("dkim.no-mail", "dkim.no-key-found"): "",
    # MTA-STS now works, so TLS reporting (which tells you when it fails) becomes the recommended next step:
    # the same finding, now a warning
    ("tls_rpt.not-published", "tls_rpt.not-published"): "",
    # an SPF fix names the domain's own servers (a, mx): reverse DNS now checks them as senders, so a missing
    # PTR that was there all along (a note for a mail server) is now a warning
    ("rdns.no-sending-ips", "rdns.missing-ptr"): "spf.",
    ("rdns.no-sending-ips", "rdns.not-confirmed"): "spf.",
    ("rdns.missing-ptr", "rdns.missing-ptr"): "spf.",
    ("rdns.not-confirmed", "rdns.not-confirmed"): "spf.",
}


# Findings that are steps of a ladder: after its record is published, the same finding may stay and ask for the
# next record (p=none with a report address, then p=quarantine...).
STAGED = frozenset({"dmarc.policy-none", "dmarc.testing-mode", "dmarc.policy-quarantine"})


def _rank(name: str, status: Status) -> int:
    """An optional check that couldn't run from here counts as the domain report counts it: not against the
    domain (a reverse zone the test server doesn't serve, a logo server that isn't running)."""
    if status is Status.ERROR and name not in CORE_CHECKS:
        return RANK[Status.PASS]
    return RANK[status]
IN = dns.rdataclass.IN


def _tag(text: str) -> str:
    """The kind of a TXT record (``v=spf1``, ``v=dmarc1``...), also for one pasted with quotes or spaces, which
    a "replace" fix replaces too."""
    head = text.strip().strip("\"'").strip().split(";", 1)[0].split(None, 1)
    first = "".join(head[0].lower().split()) if head else ""
    return first if first.startswith("v=") else ""


def _text(n: dns.name.Name) -> str:
    return n.to_text().rstrip(".").lower()


def _txt_value(rd: Any) -> str:
    return b"".join(rd.strings).decode("utf-8", errors="replace")


def _rdata(rdtype: str, value: str) -> dns.rdata.Rdata:
    if rdtype in ("TXT", "SPF"):
        fix = Fix("x.invalid", "TXT", value)
        return dns.rdata.from_text(IN, dns.rdatatype.from_text(rdtype), fix.zone_value)
    return dns.rdata.from_text(IN, dns.rdatatype.from_text(rdtype), value, origin=dns.name.root, relativize=False)


def _same(rdtype: str, rd: Any, value: str) -> bool:
    if rdtype in ("TXT", "SPF"):
        return _txt_value(rd) == value
    try:
        return rd == _rdata(rdtype, value)
    except Exception:  # noqa: BLE001 - a value that is not a record never matches
        return False


@dataclass
class ZoneSet:
    """What one test DNS server served (zone data only: no injected timeouts or failures, no signatures)."""

    label: str
    origins: frozenset[dns.name.Name]
    rrsets: dict[tuple[dns.name.Name, int], dns.rdataset.Rdataset] = field(default_factory=dict)

    @classmethod
    def from_server(cls, server: DnsTestServer, label: str) -> ZoneSet:
        with server._lock:  # noqa: SLF001 - a test helper reading the test server
            rrsets = {(name, t): rds.copy() for name, node in server._nodes.items()  # noqa: SLF001
                      for t, rds in node.rdatasets.items()}
            origins = frozenset(server._origins)  # noqa: SLF001
        return cls(label, origins, rrsets)

    @classmethod
    def from_zones(cls, zones: dict[str, str], label: str) -> ZoneSet:
        rrsets: dict[tuple[dns.name.Name, int], dns.rdataset.Rdataset] = {}
        origins = set()
        for origin, text in zones.items():
            if "$TTL" not in text.upper():
                text = "$TTL 300\n" + text
            z = dns.zone.from_text(text, origin=origin, relativize=False, check_origin=False)
            origins.add(z.origin)
            for name, node in z.nodes.items():
                for rds in node.rdatasets:
                    rrsets[(name, rds.rdtype)] = rds.copy()
        return cls(label, frozenset(origins), rrsets)

    @property
    def key(self) -> str:
        """Equal for two zone sets that serve the same records."""
        lines = sorted(f"{n} {dns.rdatatype.to_text(t)} {sorted(r.to_text() for r in rds)}"
                       for (n, t), rds in self.rrsets.items() if t != dns.rdatatype.RRSIG)
        lines += sorted(str(o) for o in self.origins)
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    def domains(self, limit: int = 2) -> list[str]:
        """The mail domains worth checking, most mail-like first: zone origins of two labels or more, names
        with MX records and names with a DMARC record below them (names with an underscore label, such as
        _spf.x, are not domains); a name with MX, DMARC, SPF or DKIM records of its own ranks higher than a
        provider's zone that only holds the SPF records others include."""
        cands: list[dns.name.Name] = [o for o in sorted(self.origins) if len(o) >= 3]
        for (n, t) in sorted(self.rrsets, key=lambda k: (len(k[0]), str(k[0]))):
            if t == dns.rdatatype.MX:
                cands.append(n)
            elif t == dns.rdatatype.TXT and n.labels and n.labels[0] == b"_dmarc":
                cands.append(n.parent())
        scored: list[tuple[int, int, str]] = []
        seen: set[str] = set()
        for i, n in enumerate(cands):
            text = _text(n)
            if any(label.startswith(b"_") or label == b"*" for label in n.labels) or text in seen or "." not in text:
                continue
            seen.add(text)
            if not any(k[0].is_subdomain(n) for k in self.rrsets):
                continue
            score = 0
            if (n, dns.rdatatype.MX) in self.rrsets:
                score += 2
            if (dns.name.Name((b"_dmarc",) + n.labels), dns.rdatatype.TXT) in self.rrsets:
                score += 2
            apex = self.rrsets.get((n, dns.rdatatype.TXT))
            if apex is not None and any(_txt_value(rd).lower().startswith("v=spf1") for rd in apex):
                score += 1
            if any(k[0].is_subdomain(n) and b"_domainkey" in k[0].labels for k in self.rrsets):
                score += 1
            scored.append((-score, i, text))
        return [t for _, _, t in sorted(scored)[:limit]]

    def _index(self) -> tuple[set[str], set[str], set[str]]:
        """Names with records, names that exist only because a name below them does, and zone origins (text,
        lower case, no trailing dot)."""
        if getattr(self, "_idx", None) is None:
            names = {_text(k[0]) for k in self.rrsets}
            ents: set[str] = set()
            for x in names:
                parts = x.split(".")
                ents.update(".".join(parts[i:]) for i in range(1, len(parts)))
            self._idx = (names, ents, {_text(o) for o in self.origins})
        return self._idx  # type: ignore[return-value]

    def nx_key(self, name: str, rdtype: str) -> tuple[str, ...] | None:
        """For a name this zone set has nothing at, at or below it, and no wildcard answering for it (as the
        test server decides: closest encloser, RFC 4592): a key that equals the key of any other zone set that
        answers it the same way (NXDOMAIN with the same SOA, or REFUSED outside every zone). None otherwise."""
        names, ents, origins = self._index()
        parts = name.split(".")
        suffixes = [".".join(parts[i:]) for i in range(len(parts))] + [""]  # "": the root, a zone too
        zone = next((x for x in suffixes if x in origins), None)
        if zone is None:
            return ("refused", name, rdtype)
        if name in names or name in ents or name in origins:
            return None
        for enc in suffixes[1:]:
            if enc in names or enc in ents or enc == zone:
                if (f"*.{enc}" if enc else "*") in names:
                    return None
                break
        soas: dict[str, str] = self.__dict__.setdefault("_soas", {})
        if zone not in soas:
            soa = self.rrsets.get((dns.name.from_text(zone or "."), dns.rdatatype.SOA))
            soas[zone] = soa.to_text() if soa is not None else ""
        return ("nx", name, rdtype, zone, soas[zone])

    def serve(self, server: DnsTestServer) -> None:
        """Make ``server`` serve exactly this zone set."""
        with server._lock:  # noqa: SLF001
            server._origins = set(self.origins)  # noqa: SLF001
            server._nodes = {}  # noqa: SLF001
            for (name, t), rds in self.rrsets.items():
                if t in (dns.rdatatype.RRSIG, dns.rdatatype.NSEC, dns.rdatatype.NSEC3):
                    continue
                server._nodes.setdefault(name, _Node()).rdatasets[t] = rds.copy()  # noqa: SLF001
            server._sigs.clear()  # noqa: SLF001
            server._denial.clear()  # noqa: SLF001
            server.timeout_names.clear()
            server.servfail_names.clear()
            server._rebuild_ents()  # noqa: SLF001
            server._cache.clear()  # noqa: SLF001

    def applied(self, fix: Fix) -> ZoneSet:
        """A copy with ``fix`` and its companion records published. Raises AssertionError for a fix that can't
        be published as it says (removing a record that isn't there, a value that is not a record)."""
        rrsets = {k: v.copy() for k, v in self.rrsets.items()}
        origins = set(self.origins)
        for rec in fix.records:
            name = dns.name.from_text(rec.host)
            rdtype = rec.type.upper()
            t = dns.rdatatype.from_text(rdtype)
            if not any(name.is_subdomain(o) for o in origins):
                origins.add(name.parent())  # e.g. a PTR record in a reverse zone nobody served yet
            have = rrsets.get((name, t))
            if rec.action == "remove":
                assert have is not None and any(_same(rdtype, rd, rec.value) for rd in have), \
                    f"the fix removes '{rec.host} {rdtype} {rec.value}', which is not published"
                keep = [rd for rd in have if not _same(rdtype, rd, rec.value)]
            else:
                try:
                    new = _rdata(rdtype, rec.value)
                except Exception as exc:  # noqa: BLE001
                    raise AssertionError(f"'{rec.host} {rdtype} {rec.value}' is not a record: {exc}") from None
                keep = list(have) if have is not None else []
                if rec.action == "replace":
                    tag = _tag(rec.value) if rdtype in ("TXT", "SPF") else ""
                    keep = [rd for rd in keep if tag and _tag(_txt_value(rd)) != tag]
                if not any(rd == new for rd in keep):
                    keep.append(new)
            if keep:
                rds = dns.rdataset.Rdataset(IN, t, ttl=rec.ttl)
                for rd in keep:
                    rds.add(rd)
                rrsets[(name, t)] = rds
            else:
                rrsets.pop((name, t), None)
            if t == dns.rdatatype.CNAME and rec.action != "remove":  # a CNAME stands alone at its name
                for k in [k for k in rrsets if k[0] == name and k[1] != t]:
                    rrsets.pop(k)
        return ZoneSet(f"{self.label} + {fix.host} {fix.type}", frozenset(origins), rrsets)


class _Replay:
    """The run's DNS client, remembering every answer; given the answers of the check before a fix, it reuses
    those for names the fix can't have changed (not a host of the fix, nor above or below one, nor reached
    through one), so the check after a fix asks only what the fix may have changed. (Speed: a check asks ~60
    names, most of them DKIM selectors no fix touches.)"""

    def __init__(self, base: DnsClient, reuse: dict[tuple[str, str], Any] | None = None,
                 changed: Iterable[str] = (), zone_set: ZoneSet | None = None,
                 absent: dict[tuple[str, ...], Any] | None = None) -> None:
        self.base = base
        self.reuse = reuse or {}
        self.zone_set = zone_set
        self.absent = absent if absent is not None else {}  # nx_key -> answer, shared by every zone set
        self.changed = [h.strip().rstrip(".").lower() for h in changed]
        self.seen: dict[tuple[str, str], Any] = {}

    def _touched(self, names: Iterable[str]) -> bool:
        for n in names:
            n = n.rstrip(".").lower() if n else ""
            if n and any(n == c or n.endswith("." + c) or c.endswith("." + n) for c in self.changed):
                return True
        return False

    async def query(self, name: str, rdtype: str) -> Any:
        key = (name.strip().rstrip(".").lower(), rdtype.upper())
        old = self.reuse.get(key)
        nx = self.zone_set.nx_key(*key) if self.zone_set is not None else None
        if old is not None and not self._touched((key[0], old.canonical_name, *old.cname_chain)):
            ans = old
        elif nx is not None and nx in self.absent:
            ans = self.absent[nx]
        else:
            ans = await self.base.query(name, rdtype)
            if nx is not None and not ans.failed:
                self.absent[nx] = ans
        self.seen[key] = ans
        return ans

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.base, attr)


async def check(server: DnsTestServer, domain: str, reuse: _Replay | None = None,
                changed: Iterable[str] = (), zone_set: ZoneSet | None = None,
                absent: dict[tuple[str, ...], Any] | None = None) -> tuple[DomainReport, _Replay]:
    opts = CheckOptions(nameservers=[server.address], timeout=2.0, deadline=30.0, checks=CHECKS, connect_timeout=2.0)
    base = make_client(opts)
    client = _Replay(base, reuse.seen if reuse is not None else None, changed, zone_set, absent)
    try:
        report = await run_check(domain, opts, client=client)  # type: ignore[arg-type]
    finally:
        base.close()
    return report, client


def _codes(report: DomainReport, name: str, severity: Severity | None = None) -> list[str]:
    r = report.checks.get(name)
    return [f.code for f in r.findings if severity is None or f.severity is severity] if r is not None else []


def verdict(before: DomainReport, after: DomainReport, name: str, finding: Finding, fix: Fix) -> list[str]:
    """What is wrong with ``fix`` (published for ``finding`` of check ``name``): the finding is still there
    (not asking for a next, different record), or a check got worse."""
    problems: list[str] = []
    published = {(r.host, r.type.upper(), r.value) for r in fix.records}
    cur = after.checks.get(name)
    same_code = [f for f in (cur.findings if cur is not None else []) if f.code == finding.code]
    n_before = sum(1 for f in before.checks[name].findings if f.code == finding.code)
    still = same_code if n_before == 1 else [f for f in same_code if f.message == finding.message]
    for f in still:
        # a step of the DMARC ladder: the same finding, now asking for the next, different record
        staged = (finding.code in STAGED and f.fix is not None
                  and all((r.host, r.type.upper(), r.value) not in published for r in f.fix.records))
        # advice whose record is now published may stay as a plain statement (a note, no record, new words)
        followed = (finding.severity is Severity.INFO and f.severity is Severity.INFO and f.fix is None
                    and f.message != finding.message)
        if not (staged or followed):
            problems.append(f"{finding.code} is still there after publishing its fix: {f.message}")
    for check_name, old in before.checks.items():
        new = after.checks.get(check_name)
        if new is None:
            continue
        was = {f.code for f in old.findings}
        now = {f.code for f in new.findings}
        revealed = any(a in was and b in now and (a == b or a not in now) and finding.code.startswith(prefix)
                       for (a, b), prefix in NEXT_STEPS.items())
        if _rank(check_name, new.status) < _rank(check_name, old.status) and not revealed:
            problems.append(f"{check_name} got worse: {old.status} -> {new.status} "
                            f"({[f.code for f in new.findings if f.severity is not Severity.INFO]})")
        appeared = set(_codes(after, check_name, Severity.ERROR)) - set(_codes(before, check_name, Severity.ERROR))
        if appeared:
            problems.append(f"{check_name} has a new problem: {sorted(appeared)}")
    return problems


def offered(report: DomainReport) -> Iterable[tuple[str, Finding, Fix]]:
    """Every (check, finding, fix) offered, alternatives included; a fix shared by several findings is tried
    for each of them."""
    for name, result in report.checks.items():
        for f in result.findings:
            for fix in f.options:
                yield name, f, fix


def unexplained_errors(report: DomainReport, checks: tuple[str, ...] = ("spf", "dmarc", "mx")) -> list[str]:
    """Item 12: error findings of SPF, DMARC and MX with neither a fix nor words on why no record fixes them."""
    out = []
    for name in checks:
        r = report.checks.get(name)
        for f in r.findings if r is not None else []:
            if f.severity is Severity.ERROR and not f.options and not f.no_fix.strip():
                out.append(f"{report.domain} {f.code}: {f.message[:120]}")
    return out


async def self_check(zone_sets: Iterable[ZoneSet], server: DnsTestServer) -> tuple[list[str], list[str], int]:
    """Check every domain of every zone set, publish every fix offered and check again. Returns the problems
    with fixes (item 11), the unexplained error findings (item 12) and how many fixes were tried."""
    fix_problems: list[str] = []
    unexplained: list[str] = []
    tried = 0
    absent: dict[tuple[str, ...], Any] = {}
    for zs in zone_sets:
        for domain in zs.domains():
            zs.serve(server)
            before, asked = await check(server, domain, zone_set=zs, absent=absent)
            afters: dict[str, DomainReport] = {}  # one check per edited zone, whichever findings share the fix
            unexplained += [f"[{zs.label}] {u}" for u in unexplained_errors(before)]
            seen: set[tuple[str, str, Fix]] = set()
            for name, finding, fix in offered(before):
                if (name, finding.code + finding.message, fix) in seen:
                    continue
                seen.add((name, finding.code + finding.message, fix))
                tried += 1
                try:
                    changed = zs.applied(fix)
                except AssertionError as exc:
                    fix_problems.append(f"[{zs.label}] {domain} {finding.code}: {exc}")
                    continue
                key = changed.key
                if key not in afters:
                    changed.serve(server)
                    afters[key], _ = await check(server, domain, asked, (r.host for r in fix.records), changed, absent)
                after = afters[key]
                for p in verdict(before, after, name, finding, fix):
                    fix_problems.append(f"[{zs.label}] {domain} {finding.code} -> {fix.host} {fix.type} "
                                        f"{fix.value[:80]!r}: {p}")
    return fix_problems, unexplained, tried
