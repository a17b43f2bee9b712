""""What if": check a record before it is published.

``OverlayDns`` is a ``DnsClient`` whose answers for some (name, type) pairs come from a table of
records "as if published"; every other question goes to the real client it wraps. The checks only use
``query`` (and ``txt``/``cached``/``remaining``/``queries_json``/``nameservers``/``close``), and since
the overlay subclasses ``DnsClient`` and replaces only the step that asks the network, the per-run
cache, the log and all those members behave exactly as they do for a normal run.

``what_if(domain, host, type, value, options)`` runs the normal checks with one record overridden.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT

from ..checks.runner import make_client, run_check
from ..context import ALL_CHECKS, CheckOptions
from ..dns.client import DnsAnswer, DnsClient, Outcome, normalize_name
from ..domain import parse_domain
from ..model import DomainReport, Finding, Severity, split_txt

__all__ = [
    "SUPPORTED_TYPES",
    "OverlayDns",
    "WhatIfError",
    "absolute_host",
    "merged_rrset",
    "parse_record_line",
    "what_if",
]

# The checks a pasted record can change: the DNS-record checks. STARTTLS and reverse DNS (which connect to
# or look up the sending hosts) and DNSSEC are left out unless the caller asks for them explicitly.
RECORD_CHECKS = ("spf", "dkim", "dmarc", "mx", "mta_sts", "tls_rpt", "bimi")
WHAT_IF_CHECKS: tuple[str, ...] = tuple(n for n in RECORD_CHECKS if n in ALL_CHECKS or n in ("spf", "dkim", "dmarc", "mx"))
SUPPORTED_TYPES = ("TXT", "CNAME", "MX", "A", "AAAA", "NS", "PTR", "SPF", "CAA", "TLSA", "DS", "DNSKEY")
OVERLAY_TTL = 3600
MAX_CNAME = 8


class WhatIfError(ValueError):
    """A record that can't be overlaid (bad type, bad value, bad host). ``str()`` is plain English."""


def _rdata(rdtype: str, value: str) -> dns.rdata.Rdata:
    """One rdata from what a user pastes: TXT as plain text (or zone-file quoted strings), others in
    presentation form; names without a trailing dot are taken as absolute."""
    try:
        if rdtype in ("TXT", "SPF"):
            v = value.strip()
            if v.startswith('"'):
                return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), v,
                                           origin=dns.name.root)
            strings = [s.encode("utf-8") for s in split_txt(value)]
            cls = dns.rdtypes.ANY.TXT.TXT if rdtype == "TXT" else dns.rdata.get_rdata_class(
                dns.rdataclass.IN, dns.rdatatype.SPF)
            return cls(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), strings)
        # absolute names, as a real answer has them (relativized, the root of a null MX "0 ." would read "@")
        return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), value.strip(),
                                   origin=dns.name.root, relativize=False)
    except (dns.exception.DNSException, ValueError, TypeError, UnicodeError) as exc:
        raise WhatIfError(f"'{value[:80]}' is not a valid {rdtype} record value ({exc}).") from None


def _answer(name: str, rdtype: str, rdatas: list[dns.rdata.Rdata]) -> DnsAnswer:
    if not rdatas:
        return DnsAnswer(name, rdtype, Outcome.NODATA)
    records = tuple(r.to_text() for r in rdatas)
    txt: tuple[str, ...] = ()
    strings: tuple[tuple[bytes, ...], ...] = ()
    if rdtype in ("TXT", "SPF"):
        strings = tuple(tuple(r.strings) for r in rdatas)  # type: ignore[attr-defined]
        txt = tuple(b"".join(x).decode("utf-8", errors="replace") for x in strings)
    return DnsAnswer(name, rdtype, Outcome.ANSWER, records=records, txt=txt, txt_strings=strings, ttl=OVERLAY_TTL)


class OverlayDns(DnsClient):
    """A ``DnsClient`` that answers ``overrides`` as if they were published and asks ``base`` for the rest.

    ``overrides`` maps (name, type) to the whole record set to serve for it (values as a user would
    paste them: TXT text unquoted, MX "10 mail.example.com", ...); an empty list serves "no record of
    this type" (to try a removal). A CNAME override makes the name an alias for every type, as DNS does.
    A name that has any override (or has one below it) exists, so other types there answer NODATA
    instead of NXDOMAIN. ``base`` is not closed by this client; its log is shared.
    """

    def __init__(self, base: DnsClient, overrides: Mapping[tuple[str, str], list[str]]) -> None:
        super().__init__(list(base.nameservers) or ["127.0.0.1"], timeout=base.timeout, deadline=None,
                         max_concurrency=0, on_query=None)
        self.base = base
        self.log = base.log  # one log for the run: the overlay's answers are added to it too
        self._over: dict[tuple[str, str], list[dns.rdata.Rdata]] = {}
        for (name, rdtype), values in overrides.items():
            t = rdtype.strip().upper()
            if t not in SUPPORTED_TYPES:
                raise WhatIfError(f"Records of type {rdtype!r} can't be tried here; use one of "
                                  f"{', '.join(SUPPORTED_TYPES)}.")
            key = (normalize_name(name), t)
            self._over[key] = [_rdata(t, v) for v in values]
        self._names = {n for n, _ in self._over}

    @property
    def overrides(self) -> dict[tuple[str, str], list[str]]:
        """The overlaid record sets in presentation form."""
        return {k: [r.to_text() for r in v] for k, v in self._over.items()}

    def remaining(self) -> float | None:
        return self.base.remaining()

    def _exists_here(self, name: str) -> bool:
        return any(n == name or n.endswith("." + name) for n in self._names)

    async def _query(self, name: str, rdtype: str) -> DnsAnswer:
        started = time.monotonic()
        ans = await self._resolve(name, rdtype, 0)
        if self.base.cached(name, rdtype) is not ans:  # the base client logged its own answers already
            self._record(ans, started)
        return ans

    async def _resolve(self, name: str, rdtype: str, depth: int) -> DnsAnswer:
        over = self._over.get((name, rdtype))
        if over is not None:
            return _answer(name, rdtype, over)
        cname = self._over.get((name, "CNAME"))
        if cname and rdtype != "CNAME" and depth < MAX_CNAME:
            target = normalize_name(cname[0].target.to_text())  # type: ignore[attr-defined]
            sub = await self.query(target, rdtype)
            return replace(sub, name=name, canonical_name=sub.canonical_name or target,
                           cname_chain=(target,) + sub.cname_chain)
        if name in self._names and rdtype != "CNAME" and (name, "CNAME") not in self._over:
            base = await self.base.query(name, rdtype)
            if base.outcome is Outcome.NXDOMAIN or (base.cname_chain and not base.ok):
                return DnsAnswer(name, rdtype, Outcome.NODATA)
            return base
        base = await self.base.query(name, rdtype)
        if base.outcome is Outcome.NXDOMAIN and self._exists_here(name):
            return DnsAnswer(name, rdtype, Outcome.NODATA)
        if base.cname_chain and base.canonical_name:
            # The real answer went through an alias: if the target is overlaid, serve the overlay.
            tgt = base.canonical_name
            if (tgt, rdtype) in self._over or (tgt, "CNAME") in self._over:
                sub = await self.query(tgt, rdtype)
                return replace(sub, name=name, canonical_name=sub.canonical_name or tgt,
                               cname_chain=base.cname_chain + sub.cname_chain)
        return base

    def close(self) -> None:
        super().close()  # the overlay has no sockets of its own; base belongs to the caller


def _tag(text: str) -> str:
    """The version tag a TXT record starts with ("v=spf1", "v=dmarc1", "v=dkim1"...), or ""."""
    head = text.strip().split(";", 1)[0].split(None, 1)
    first = head[0].lower() if head else ""
    return first if first.startswith("v=") else ""


def merged_rrset(existing: DnsAnswer | None, rdtype: str, value: str) -> list[str]:
    """The record set to overlay when ``value`` is published at a name that already has ``existing``.

    A TXT record that starts with a version tag (``v=spf1``, ``v=DMARC1``...) replaces the records with
    the same tag and keeps the others (site verifications and such); other TXT records are added. A
    CNAME, and any other type, replaces the whole set.
    """
    if rdtype not in ("TXT", "SPF") or existing is None or not existing.ok:
        return [value]
    tag = _tag(value)
    keep = [t for t in existing.txt if not tag or _tag(t) != tag]
    if value in keep:
        return keep
    return keep + [value]


def absolute_host(host: str, domain: str) -> str:
    """``@`` → the domain; a name ending in the domain (or a dot) is kept; anything else is relative to
    the domain (``_dmarc`` → ``_dmarc.example.com``)."""
    h = host.strip()
    d = normalize_name(domain)
    if h in ("", "@"):
        return d
    if h.endswith("."):
        return normalize_name(h)
    n = normalize_name(h)
    if n == d or n.endswith("." + d):
        return n
    return f"{n}.{d}"


def parse_record_line(text: str) -> tuple[str, str, str]:
    """``'HOST TYPE VALUE'`` (a zone-file line without class and TTL works too: ``HOST [TTL] [IN] TYPE
    VALUE``) → (host, TYPE, value). A quoted TXT value is unquoted and its strings joined. Raises
    ``WhatIfError`` for anything it can't read."""
    parts = text.strip().split(None)
    if len(parts) < 3:
        raise WhatIfError("Give the record as HOST TYPE VALUE, for example: _dmarc TXT \"v=DMARC1; p=none\".")
    host = parts[0]
    i = 1
    if i < len(parts) and parts[i].isdigit():
        i += 1
    if i < len(parts) and parts[i].upper() == "IN":
        i += 1
    if i >= len(parts) - 0 or parts[i].upper() not in SUPPORTED_TYPES:
        found = parts[i] if i < len(parts) else ""
        raise WhatIfError(f"'{found[:20]}' is not a record type we can try; use one of "
                          f"{', '.join(SUPPORTED_TYPES)}.")
    rdtype = parts[i].upper()
    # The value is the rest of the original text after the type word.
    rest = text.strip()
    for p in parts[: i + 1]:
        rest = rest[rest.index(p) + len(p):]
    value = rest.strip()
    if not value:
        raise WhatIfError("The record has no value after its type.")
    if rdtype in ("TXT", "SPF") and value.startswith('"'):
        rd = _rdata(rdtype, value)
        value = b"".join(rd.strings).decode("utf-8", errors="replace")  # type: ignore[attr-defined]
    else:
        _rdata(rdtype, value)  # validate
    return host, rdtype, value


async def what_if(domain: str, record_host: str, record_type: str, value: str,
                  options: CheckOptions | None = None, *, client: DnsClient | None = None) -> DomainReport:
    """Run the normal checks of ``domain`` as if ``record_host record_type value`` were published.

    The checks run are ``options.checks`` when the caller chose them, else ``WHAT_IF_CHECKS`` (the checks
    a DNS record can change; no connections to mail servers). A TXT record with a version tag replaces the live record of the same kind at that name (see
    ``merged_rrset``); other types replace the live set. A DKIM key at ``<selector>._domainkey.<domain>``
    also makes the DKIM check look at that selector. Raises ``WhatIfError`` for a record that can't be
    read or a domain that isn't one.
    """
    try:
        d = parse_domain(domain).domain
    except ValueError as exc:
        raise WhatIfError(str(exc)) from None
    rdtype = record_type.strip().upper()
    if rdtype not in SUPPORTED_TYPES:
        raise WhatIfError(f"Records of type {record_type!r} can't be tried here; use one of "
                          f"{', '.join(SUPPORTED_TYPES)}.")
    host = absolute_host(record_host, d)
    _rdata(rdtype, value)
    opts = replace(options) if options is not None else CheckOptions()
    suffix = f"._domainkey.{d}"
    if host.endswith(suffix) and host != "*" + suffix:
        sel = host[: -len(suffix)]
        if sel and sel not in opts.dkim_selectors:
            opts.dkim_selectors = [sel, *opts.dkim_selectors]
    if options is None or tuple(opts.checks) == tuple(ALL_CHECKS) or not opts.checks:
        opts.checks = WHAT_IF_CHECKS
    own = client is None
    base = client or make_client(opts)
    try:
        existing = await base.query(host, rdtype) if rdtype in ("TXT", "SPF") else None
        overlay = OverlayDns(base, {(host, rdtype): merged_rrset(existing, rdtype, value)})
        report = await run_check(d, opts, client=overlay)
    finally:
        if own:
            base.close()
    if existing is not None and existing.failed:
        _note_existing_unknown(report, host, rdtype, value, existing)
    return report


def _owner_check(host: str, rdtype: str, value: str, domain: str) -> str:
    """The check a record at ``host`` belongs to (for a note about it)."""
    tag = _tag(value)
    if host.endswith("._domainkey." + domain) or tag == "v=dkim1":
        return "dkim"
    if host.startswith("_dmarc.") or tag == "v=dmarc1":
        return "dmarc"
    if host.startswith("_mta-sts."):
        return "mta_sts"
    if host.startswith("_smtp._tls."):
        return "tls_rpt"
    if "._bimi." in host or host.startswith("_bimi."):
        return "bimi"
    if rdtype == "MX":
        return "mx"
    return "spf"


def _note_existing_unknown(report: DomainReport, host: str, rdtype: str, value: str, existing: DnsAnswer) -> None:
    """The records already at ``host`` couldn't be read: say that the result shows the pasted record with
    no others of its kind beside it (couldn't check, never "there are none")."""
    name = _owner_check(host, rdtype, value, report.domain)
    check = report.checks.get(name) or next(iter(report.checks.values()), None)
    if check is None:
        return
    check.findings.append(Finding(
        "whatif.existing-unknown", Severity.INFO,
        f"We couldn't read the {rdtype} records published at {host} now ({existing.describe}), so this result "
        "shows your record as the only one of its kind there. If another one is published there, the real "
        "result can differ: check again once DNS answers.", detail=f"{rdtype} {host}: {existing.outcome}"))
