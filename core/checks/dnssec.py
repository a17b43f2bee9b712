"""DNSSEC: is the domain signed, and does it validate from the root trust anchor down?

DNSSEC is optional for e-mail: an unsigned domain is information, not a problem. A domain that is signed
but does not validate ("bogus": a bad or expired signature, a DS record at the registrar that matches no
key) is worth a warning, because resolvers that validate (Google Public DNS, Cloudflare, many ISPs and mail
providers) then refuse every record of the domain, and mail to or from it can bounce.

The walk (RFC 4033-4035): ask for the domain's SOA with the DO bit to learn whether answers are signed
and where the zone starts; check the root's DNSKEY set against the trust anchors; for each zone cut on the
way down, check the DS set (signed by the parent) and that a DNSKEY of the child matches it and signs the
child's DNSKEY set; finally check a signed answer from the domain's zone (its SOA and its ``_dmarc`` TXT).
Queries go straight to the run's nameservers with DO and CD set, so a validating resolver hands us the
data instead of a SERVFAIL, and we can say what is wrong.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast, TypedDict

import dns.dnssec
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from ..context import CheckContext
from ..dns.client import Outcome, QueryRecord
from ..model import CheckResult, Finding, Fix, Severity, Status, derive_status


class DnssecLink(TypedDict):
    """One zone of the chain of trust, from the root down."""

    zone: str
    ds: list[str]
    dnskey: list[str]
    ok: bool
    problem: str | None


class DnssecDetail(TypedDict):
    """``CheckResult.detail`` of the DNSSEC check (every key is always there)."""

    signed: bool | None  # None: couldn't tell
    valid: bool | None
    chain: list[DnssecLink]
    algorithm: str | None

log = logging.getLogger(__name__)

__all__ = ["ROOT_ANCHORS", "TrustAnchorError", "TrustAnchors", "check", "parse_trust_anchors"]

# IANA's root key-signing keys (https://data.iana.org/root-anchors/root-anchors.xml): KSK-2017 and KSK-2024.
ROOT_ANCHORS = (
    ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"
    ". IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16\n"
)
RFC_DS = "RFC 4035 §5.2"
RFC_SIG = "RFC 4035 §5.3"
# Algorithms RFC 8624 says must no longer be used for signing.
_WEAK = {1: "RSAMD5", 3: "DSA", 5: "RSASHA1", 6: "DSA-NSEC3-SHA1", 7: "RSASHA1-NSEC3-SHA1", 12: "ECC-GOST"}
_UNSUPPORTED = {1, 3, 6, 12}  # RSAMD5, DSA, DSA-NSEC3-SHA1, GOST: validators must not (or need not) use them
_IN = dns.rdataclass.IN
_REGISTRAR = ("A DS record is not published in your own DNS zone: you set it at the company where you "
              "registered the domain (your registrar), usually on a 'DNSSEC' page, or your DNS host does it "
              "for you.")


class TrustAnchorError(ValueError):
    """The trust anchor text is not DS or DNSKEY records for the root."""


@dataclass(frozen=True)
class TrustAnchors:
    ds: tuple[dns.rdata.Rdata, ...] = ()
    dnskey: tuple[dns.rdata.Rdata, ...] = ()


def parse_trust_anchors(text: str) -> TrustAnchors:
    """Root trust anchors from text, one record a line: ``. IN DS 20326 8 2 E06D...`` or
    ``. 172800 IN DNSKEY 257 3 8 AwEAA...`` (owner, TTL and class optional; ``;`` starts a comment).

    Raises only ``TrustAnchorError``.
    """
    ds: list[dns.rdata.Rdata] = []
    keys: list[dns.rdata.Rdata] = []
    for number, raw in enumerate(str(text).splitlines(), 1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        tokens = line.split()
        if tokens[0].endswith(".") or tokens[0] == "@":
            if tokens[0] not in (".", "@"):
                raise TrustAnchorError(f"line {number}: a trust anchor must be for the root ('.'), "
                                       f"not {tokens[0][:60]!r}.")
            tokens = tokens[1:]
        if tokens and tokens[0].isascii() and tokens[0].isdigit():
            tokens = tokens[1:]
        if tokens and tokens[0].upper() == "IN":
            tokens = tokens[1:]
        if len(tokens) < 2 or tokens[0].upper() not in ("DS", "DNSKEY"):
            raise TrustAnchorError(f"line {number}: expected a DS or DNSKEY record, found {line[:60]!r}.")
        try:
            rd = dns.rdata.from_text(_IN, tokens[0].upper(), " ".join(tokens[1:]))
        except Exception as exc:  # dnspython raises many kinds of errors for bad rdata
            raise TrustAnchorError(f"line {number}: {tokens[0].upper()} record not understood ({exc}).") from None
        (ds if rd.rdtype == dns.rdatatype.DS else keys).append(rd)
    if not ds and not keys:
        raise TrustAnchorError("no DS or DNSKEY record was found in the trust anchors.")
    return TrustAnchors(tuple(ds), tuple(keys))


# -- raw queries with the DO bit ------------------------------------------------------------------


@dataclass
class _Raw:
    outcome: Outcome
    answer: list[dns.rrset.RRset] = field(default_factory=list)
    authority: list[dns.rrset.RRset] = field(default_factory=list)
    error: str = ""
    server: str = ""  # the nameserver that replied
    sent: int = 0

    def rrset(self, name: dns.name.Name, rdtype: int) -> dns.rrset.RRset | None:
        for r in self.answer:
            if r.name == name and r.rdtype == rdtype:
                return r
        return None

    def sigs(self, name: dns.name.Name, rdtype: int, section: str = "answer") -> dns.rrset.RRset | None:
        for r in self.answer if section == "answer" else self.authority:
            if r.name == name and r.rdtype == dns.rdatatype.RRSIG and r.covers == rdtype:
                return r
        return None

    @property
    def signed(self) -> bool:
        return any(r.rdtype == dns.rdatatype.RRSIG for r in self.answer + self.authority)


class _Asker:
    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.cache: dict[tuple[str, int], _Raw] = {}
        self.t0 = time.monotonic()

    async def ask(self, name: dns.name.Name, rdtype: int) -> _Raw:
        key = (name.to_text().lower(), rdtype)
        if key not in self.cache:
            self.cache[key] = await self._ask(name, rdtype)
        return self.cache[key]

    async def _ask(self, name: dns.name.Name, rdtype: int) -> _Raw:
        started = time.monotonic()
        result = await self._exchange(name, rdtype)
        rec = QueryRecord(name=name.to_text().rstrip(".").lower() or ".",
                          rdtype=dns.rdatatype.to_text(cast(dns.rdatatype.RdataType, rdtype)) + "+DO", outcome=result.outcome,
                          answer=tuple(r.to_text() for r in result.answer if r.rdtype != dns.rdatatype.RRSIG),
                          elapsed_ms=(time.monotonic() - started) * 1000,
                          started_ms=(started - self.t0) * 1000, error=result.error, server=result.server,
                          sent=result.sent)
        self.ctx.dns.log.append(rec)
        if self.ctx.dns.on_query is not None:
            try:
                self.ctx.dns.on_query(rec)
            except Exception:
                log.debug("the on_query callback failed", exc_info=True)
        return result

    async def _exchange(self, name: dns.name.Name, rdtype: int) -> _Raw:
        """The query with the DO and CD bits, through the run's client (its sockets, retransmission
        timers, per-server limits and deadline)."""
        reply = await self.ctx.dns.raw(name, rdtype, dnssec=True, cd=True)
        response = reply.response
        if response is None:
            return _Raw(reply.outcome, error=reply.error, server=reply.server, sent=reply.sent)
        if response.rcode() == dns.rcode.NXDOMAIN:
            return _Raw(Outcome.NXDOMAIN, list(response.answer), list(response.authority), server=reply.server,
                        sent=reply.sent)
        answer = list(response.answer)
        has = any(r.name == name and r.rdtype == rdtype for r in answer)
        return _Raw(Outcome.ANSWER if has else Outcome.NODATA, answer, list(response.authority),
                    server=reply.server, sent=reply.sent)


# -- validation helpers ---------------------------------------------------------------------------


def _why_invalid(rrset: dns.rrset.RRset, sigs: dns.rrset.RRset | None,
                 keys: dict[dns.name.Name, dns.rrset.RRset], now: float) -> str | None:
    """None when ``rrset`` validates with ``keys``; else "unsigned", "expired", "not-yet-valid",
    "no-key" or "bad-signature"."""
    if sigs is None or len(sigs) == 0:
        return "unsigned"
    try:
        dns.dnssec.validate(rrset, sigs, keys, now=now)  # type: ignore[arg-type]
        return None
    except dns.dnssec.ValidationFailure:
        pass
    except Exception:  # unsupported algorithm and the like
        return "bad-signature"
    tags = {dns.dnssec.key_id(k) for ks in keys.values() for k in ks}
    usable = [s for s in sigs if s.key_tag in tags]
    if not usable:
        return "no-key"
    if all(s.expiration < now for s in usable):
        return "expired"
    if all(s.inception > now for s in usable):
        return "not-yet-valid"
    return "bad-signature"


def _ds_matches(zone: dns.name.Name, ds: Any, key: Any) -> bool:
    """``ds`` (a DS rdata) names ``key`` (a DNSKEY rdata) of ``zone``."""
    if ds.key_tag != dns.dnssec.key_id(key) or ds.algorithm != key.algorithm:
        return False
    try:
        made = dns.dnssec.make_ds(zone, key, ds.digest_type, validating=True)
    except Exception:  # unknown digest type
        return False
    return bool(made.digest == ds.digest)


def _zone_text(name: dns.name.Name) -> str:
    return name.to_text().rstrip(".").lower() or "."


def _host(name: dns.name.Name) -> str:
    return name.to_text().rstrip(".").lower()


def _expiry(sigs: dns.rrset.RRset | None) -> str | None:
    if not sigs:
        return None
    exp = min(s.expiration for s in sigs)
    return datetime.fromtimestamp(exp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _ds_fix(zone: dns.name.Name, keyset: dns.rrset.RRset, action: str) -> Fix | None:
    ksks = [k for k in keyset if k.flags & 0x0001] or list(keyset)  # SEP bit: the key-signing key
    if not ksks:
        return None
    ds = dns.dnssec.make_ds(zone, ksks[0], "SHA256")
    return Fix(host=_host(zone), type="DS", value=ds.to_text(), ttl=3600, action=action,
               note=_REGISTRAR + " Publish exactly this DS record (key tag, algorithm, digest type 2 = "
                    "SHA-256, digest); remove any other DS record that matches none of your keys.")


_PROBLEM_WORDS = {
    "unsigned": "the records carry no signature",
    "expired": "the signatures have expired",
    "not-yet-valid": "the signatures are not valid yet (their start date is in the future)",
    "no-key": "no published key made the signatures",
    "bad-signature": "the signatures do not match the records",
}


class _Walk:
    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.asker = _Asker(ctx)
        self.findings: list[Finding] = []
        self.chain: list[DnssecLink] = []
        self.records: list[str] = []
        self.keys: dict[dns.name.Name, dns.rrset.RRset] = {}
        self.now = time.time()
        self.signed: bool | None = None
        self.valid: bool | None = None
        self.algorithm: str | None = None

    def unknown(self, what: str, raw: _Raw) -> None:
        self.findings.append(Finding(
            "dnssec.lookup-failed", Severity.UNKNOWN,
            f"We couldn't check DNSSEC: the lookup of {what} got no usable answer, so we can't say whether "
            f"your domain is signed.",
            detail=f"{what}: {raw.outcome} {raw.error}".strip(), rfc="RFC 4035 §4"))

    def entry(self, zone: dns.name.Name, ds: list[str], dnskey: list[str], ok: bool, problem: str | None) -> None:
        self.chain.append({"zone": _zone_text(zone), "ds": ds, "dnskey": dnskey, "ok": ok, "problem": problem})

    async def run(self) -> None:
        domain = dns.name.from_text(self.ctx.domain)
        probe = await self.asker.ask(domain, dns.rdatatype.SOA)
        if probe.outcome.failed:
            self.unknown(f"the SOA record of {self.ctx.domain}", probe)
            return
        if probe.outcome is Outcome.NXDOMAIN:
            self.findings.append(Finding(
                "dnssec.not-found", Severity.INFO,
                f"{self.ctx.domain} does not exist in DNS, so there is no DNSSEC to check.",
                detail="The SOA query returned NXDOMAIN.", rfc="RFC 4035 §3.1.3"))
            return
        apex = self._apex(domain, probe)
        if not probe.signed:
            # Unsigned answers; a signed zone that forgot its signatures still publishes a DNSKEY.
            keyq = await self.asker.ask(apex, dns.rdatatype.DNSKEY)
            if keyq.outcome.failed:
                self.unknown(f"the DNSKEY records of {_host(apex)}", keyq)
                return
            if not (keyq.outcome is Outcome.ANSWER and keyq.rrset(apex, dns.rdatatype.DNSKEY)):
                if not await self._resolver_passes_signatures():
                    return
                self.signed, self.valid = False, None
                self.findings.append(Finding(
                    "dnssec.unsigned", Severity.INFO,
                    f"{self.ctx.domain} is not signed with DNSSEC. That is fine: DNSSEC is optional and "
                    f"no mail provider requires it.",
                    detail=f"The answers from {_zone_text(apex)} carry no RRSIG records and the zone publishes "
                           f"no DNSKEY.", rfc="RFC 4033 §4"))
                return
        self.signed = True
        if not await self._root():
            return
        cut = dns.name.root
        names = [dns.name.Name(apex.labels[i:]) for i in range(len(apex.labels) - 2, -1, -1)]
        for name in names:
            state = await self._level(name, cut, is_apex=(name == apex))
            if state == "stop":
                return
            if state == "cut":
                cut = name
        if cut != apex:  # the apex's DNSKEYs were not reached through a DS (handled in _level)
            return
        await self._answers(domain, apex, probe)

    async def _resolver_passes_signatures(self) -> bool:
        """Before calling a domain unsigned: a resolver that drops RRSIGs (some home routers, some local
        stubs) would make every domain look unsigned. The root's DNSKEY set is always signed; if it comes
        back without signatures, we can't tell. (An authoritative test server without a root: no answer,
        nothing learned, go on.)"""
        root = await self.asker.ask(dns.name.root, dns.rdatatype.DNSKEY)
        if root.outcome is Outcome.ANSWER and not root.signed:
            self.findings.append(Finding(
                "dnssec.resolver-strips-signatures", Severity.UNKNOWN,
                "We couldn't check DNSSEC: the DNS server this computer uses removes DNSSEC signatures from "
                "its answers, so every domain looks unsigned through it.",
                detail="DNSKEY . was answered without RRSIG records although the root zone is signed.",
                rfc="RFC 4035 §3.2.1"))
            return False
        return True

    def _apex(self, domain: dns.name.Name, probe: _Raw) -> dns.name.Name:
        for r in probe.answer + probe.authority:
            if r.rdtype == dns.rdatatype.SOA and domain.is_subdomain(r.name):
                return r.name
        return domain

    async def _root(self) -> bool:
        text = self.ctx.options.trust_anchors
        try:
            anchors = parse_trust_anchors(text if text is not None else ROOT_ANCHORS)
        except TrustAnchorError as exc:
            self.findings.append(Finding(
                "dnssec.bad-trust-anchor", Severity.UNKNOWN,
                "We couldn't check DNSSEC: the root trust anchor in the settings is not readable.",
                detail=str(exc), rfc="RFC 4033 §3"))
            return False
        root = dns.name.root
        raw = await self.asker.ask(root, dns.rdatatype.DNSKEY)
        if raw.outcome.failed:
            self.unknown("the root zone's keys (DNSKEY .)", raw)
            return False
        keyset = raw.rrset(root, dns.rdatatype.DNSKEY)
        anchors_text = [d.to_text() for d in anchors.ds] + [k.to_text() for k in anchors.dnskey]
        if keyset is None:
            self.findings.append(Finding(
                "dnssec.anchor-mismatch", Severity.UNKNOWN,
                "We couldn't check DNSSEC: the DNS server gave us no keys for the root of DNS.",
                detail="DNSKEY . returned no records.", rfc=RFC_DS))
            self.entry(root, anchors_text, [], False, "no root DNSKEY")
            return False
        trusted = [k for k in keyset if any(_ds_matches(root, d, k) for d in anchors.ds)
                   or any(k.to_digestable() == a.to_digestable() for a in anchors.dnskey)]
        problem: str | None = None
        if not trusted:
            problem = "no root key matches the trust anchors"
        else:
            anchor_set = dns.rrset.from_rdata_list(root, keyset.ttl, trusted)
            why = _why_invalid(keyset, raw.sigs(root, dns.rdatatype.DNSKEY), {root: anchor_set}, self.now)
            if why is not None:
                problem = f"the root keys are not signed by the anchored key ({why})"
        self.entry(root, anchors_text, [k.to_text() for k in keyset], problem is None, problem)
        if problem is not None:
            self.findings.append(Finding(
                "dnssec.anchor-mismatch", Severity.UNKNOWN,
                "We couldn't check DNSSEC: the keys of the root of DNS don't match the trust anchor this app "
                "uses. The trust anchor setting may be out of date.",
                detail=problem, rfc=RFC_DS))
            return False
        self.keys[root] = keyset
        return True

    async def _level(self, name: dns.name.Name, parent: dns.name.Name, *, is_apex: bool) -> str:
        """"cut" (a secure zone starts here), "pass" (not a zone cut) or "stop"."""
        ds_raw = await self.asker.ask(name, dns.rdatatype.DS)
        if ds_raw.outcome.failed:
            self.unknown(f"the DS records of {_host(name)}", ds_raw)
            return "stop"
        ds_set = ds_raw.rrset(name, dns.rdatatype.DS) if ds_raw.outcome is Outcome.ANSWER else None
        if ds_set is None:
            key_raw = await self.asker.ask(name, dns.rdatatype.DNSKEY)
            if key_raw.outcome.failed:
                self.unknown(f"the DNSKEY records of {_host(name)}", key_raw)
                return "stop"
            keyset = key_raw.rrset(name, dns.rdatatype.DNSKEY)
            if keyset is None and not is_apex:
                return "pass"  # not a zone cut
            self.entry(name, [], [k.to_text() for k in keyset] if keyset else [], False, "no DS at the parent")
            self.valid = False
            above = next((r.name for r in ds_raw.authority if r.rdtype == dns.rdatatype.SOA), None)
            if is_apex and ds_raw.signed:
                # The parent is signed and proves there is no DS: the registrar step is missing.
                self.findings.append(Finding(
                    "dnssec.no-ds", Severity.INFO,
                    f"{self.ctx.domain} is signed, but the link to the parent zone (a DS record at your "
                    f"registrar) is missing, so nobody checks the signatures yet. Mail works as before; add "
                    f"the DS record to finish turning DNSSEC on.",
                    detail=f"{_host(name)} publishes DNSKEY records but {_zone_text(above or parent)} has no DS "
                           f"record for it: resolvers treat the zone as unsigned (an island of security).",
                    rfc=RFC_DS, fix=_ds_fix(name, keyset, "publish") if keyset is not None else None))
            else:
                unsigned = _host(name) if not is_apex else _zone_text(above or name.parent())
                self.findings.append(Finding(
                    "dnssec.parent-unsigned", Severity.INFO,
                    f"The zone above yours ({unsigned}) is not part of the DNSSEC chain, so your signatures "
                    f"can't be checked by anyone. Nothing to fix on your side; mail works as before.",
                    detail=f"No signed DS record for {_host(name)}: the chain of trust stops above "
                           f"{self.ctx.domain}.", rfc=RFC_DS))
            return "stop"
        ds_text = [d.to_text() for d in ds_set]
        ds_sigs = ds_raw.sigs(name, dns.rdatatype.DS)
        if ds_sigs is None:
            self.entry(name, ds_text, [], False, f"{_zone_text(parent)} is not signed")
            self.valid = False
            self.findings.append(Finding(
                "dnssec.parent-unsigned", Severity.INFO,
                f"The zone above yours ({_zone_text(parent)}) does not sign its records, so your DNSSEC "
                f"signatures can't be checked by anyone. Mail works as before.",
                detail=f"The DS set of {_host(name)} comes without an RRSIG.", rfc=RFC_DS))
            return "stop"
        why = _why_invalid(ds_set, ds_sigs, self.keys, self.now)
        if why is None and all(int(d.algorithm) in _UNSUPPORTED for d in ds_set):
            # RFC 4035 §5.2: a DS set with only algorithms a resolver does not support makes the zone
            # insecure (treated as unsigned), not bogus.
            alg = int(next(iter(ds_set)).algorithm)
            self.entry(name, ds_text, [], False, f"algorithm {alg} is not supported")
            self.valid = False
            self.findings.append(self._weak(alg, insecure=True))
            return "stop"
        key_raw = await self.asker.ask(name, dns.rdatatype.DNSKEY)
        if key_raw.outcome.failed:
            self.unknown(f"the DNSKEY records of {_host(name)}", key_raw)
            return "stop"
        keyset = key_raw.rrset(name, dns.rdatatype.DNSKEY)
        key_text = [k.to_text() for k in keyset] if keyset else []
        if why is not None:
            self.entry(name, ds_text, key_text, False, f"the DS records of {_host(name)}: {_PROBLEM_WORDS[why]}")
            self._bogus(why, f"the DS records of {_host(name)} (signed by {_zone_text(parent)})",
                        ds_sigs, parent_side=True)
            return "stop"
        matching = [k for k in keyset or [] if any(_ds_matches(name, d, k) for d in ds_set)]
        if keyset is None or not matching:
            problem = "no DNSKEY matches the DS records at the parent"
            self.entry(name, ds_text, key_text, False, problem)
            self.valid = False
            fix = _ds_fix(name, keyset, "replace") if keyset is not None and is_apex else None
            if is_apex:
                msg = (f"The DNSSEC link for {_host(name)} is broken: the DS record at your registrar matches "
                       f"none of the domain's keys. Resolvers that check DNSSEC will refuse all your records, "
                       f"so mail to and from the domain may bounce.")
            else:
                msg = (f"The DNSSEC link of {_host(name)}, a zone above yours, is broken, so resolvers that "
                       f"check DNSSEC refuse its records and yours. Only its operator can fix this.")
            self.findings.append(Finding(
                "dnssec.ds-mismatch", Severity.WARNING, msg,
                detail=f"DS at {_zone_text(parent)}: {'; '.join(ds_text)}. DNSKEY key tags: "
                       f"{', '.join(str(dns.dnssec.key_id(k)) for k in keyset or []) or 'none'}.",
                rfc=RFC_DS, fix=fix))
            return "stop"
        sub = dns.rrset.from_rdata_list(name, keyset.ttl, matching)
        why = _why_invalid(keyset, key_raw.sigs(name, dns.rdatatype.DNSKEY), {name: sub}, self.now)
        if why is not None:
            self.entry(name, ds_text, key_text, False, f"the DNSKEY records of {_host(name)}: {_PROBLEM_WORDS[why]}")
            self._bogus(why, f"the DNSKEY records of {_host(name)}", key_raw.sigs(name, dns.rdatatype.DNSKEY),
                        parent_side=not is_apex)
            return "stop"
        self.entry(name, ds_text, key_text, True, None)
        self.keys[name] = keyset
        if is_apex:
            algs = sorted({k.algorithm for k in matching})
            self.algorithm = dns.dnssec.algorithm_to_text(algs[0]) if algs else None
            weak = [a for a in algs if int(a) in _WEAK]
            if weak:
                self.findings.append(self._weak(int(weak[0]), insecure=False))
        return "cut"

    def _weak(self, alg: int, *, insecure: bool) -> Finding:
        name = _WEAK.get(alg, f"algorithm {alg}")
        effect = ("resolvers don't support it and treat your domain as unsigned" if insecure else
                  "some resolvers no longer accept it and may treat your domain as unsigned")
        return Finding(
            "dnssec.weak-algorithm", Severity.INFO,
            f"Your DNSSEC keys use an old algorithm ({name}): {effect}. Ask your DNS host to move to "
            f"ECDSA P-256 (algorithm 13).", detail=f"DNSKEY/DS algorithm {alg}.", rfc="RFC 8624 §3.1")

    def _bogus(self, why: str, what: str, sigs: dns.rrset.RRset | None, parent_side: bool = False) -> None:
        self.valid = False
        who = "the operator of the zone above yours" if parent_side else "your DNS host"
        if why == "expired":
            code = "dnssec.expired-signature"
            msg = (f"The DNSSEC signatures on {what} expired on {_expiry(sigs)}. Resolvers that check DNSSEC "
                   f"now refuse these records, so mail to and from the domain may bounce. Ask {who} to "
                   f"re-sign the zone (signing must run automatically).")
        else:
            code = "dnssec.bad-signature"
            msg = (f"The DNSSEC signatures on {what} don't check out ({_PROBLEM_WORDS[why]}). Resolvers that "
                   f"check DNSSEC refuse these records, so mail to and from the domain may bounce. Ask {who} "
                   f"to re-sign the zone, or to turn DNSSEC off cleanly (remove the DS record first).")
        self.findings.append(Finding(code, Severity.WARNING, msg, detail=f"{what}: {why}", rfc=RFC_SIG))

    async def _answers(self, domain: dns.name.Name, apex: dns.name.Name, probe: _Raw) -> None:
        checked: list[tuple[str, dns.rrset.RRset, dns.rrset.RRset | None]] = []
        soa = probe.rrset(domain, dns.rdatatype.SOA)
        if soa is not None:
            checked.append((f"the SOA record of {_host(domain)}", soa, probe.sigs(domain, dns.rdatatype.SOA)))
        else:
            for r in probe.authority:
                if r.rdtype == dns.rdatatype.SOA and r.name == apex:
                    checked.append((f"the SOA record of {_host(apex)}", r,
                                    probe.sigs(apex, dns.rdatatype.SOA, "authority")))
        dmarc_name = dns.name.Name((b"_dmarc",) + domain.labels)
        dmarc = await self.asker.ask(dmarc_name, dns.rdatatype.TXT)
        if dmarc.outcome is Outcome.ANSWER:
            txt = dmarc.rrset(dmarc_name, dns.rdatatype.TXT)
            if txt is not None:
                checked.append((f"the DMARC record ({_host(dmarc_name)})", txt,
                                dmarc.sigs(dmarc_name, dns.rdatatype.TXT)))
        for what, rrset, sigs in checked:
            self.records.append(rrset.to_text())
            why = _why_invalid(rrset, sigs, self.keys, self.now)
            if why is not None:
                self.chain[-1]["ok"] = False
                self.chain[-1]["problem"] = f"{what}: {_PROBLEM_WORDS[why]}"
                self._bogus(why, what, sigs)
                return
        if not checked:
            self.valid = None
            return
        self.valid = True


def _summary(w: _Walk, status: Status) -> str:
    d = w.ctx.domain
    if status is Status.ERROR:
        return f"Couldn't check DNSSEC for {d}."
    codes = {f.code for f in w.findings}
    if "dnssec.not-found" in codes:
        return f"{d} does not exist in DNS, so there is no DNSSEC to check."
    if w.signed is False:
        return f"{d} is not signed with DNSSEC (optional)."
    if w.signed is None:  # never learned whether it is signed: say nothing about signatures
        return f"We couldn't tell whether {d} is signed with DNSSEC."
    if w.valid:
        return f"{d} is signed with DNSSEC and validates from the root down."
    if codes & {"dnssec.ds-mismatch", "dnssec.bad-signature", "dnssec.expired-signature"}:
        return f"{d} is signed with DNSSEC but does not validate: checking resolvers will refuse its records."
    if codes & {"dnssec.no-ds", "dnssec.parent-unsigned"}:
        return f"{d} is signed, but the chain of trust is not complete, so nobody checks the signatures."
    return f"{d} is signed with DNSSEC."


async def check(ctx: CheckContext) -> CheckResult:
    """Whether ``ctx.domain`` is signed with DNSSEC and validates from the root trust anchor down."""
    started = time.monotonic()
    w = _Walk(ctx)
    try:
        await w.run()
    except Exception as exc:  # a name we can't ask about, or data the crypto library can't take
        w.findings.append(Finding("dnssec.lookup-failed", Severity.UNKNOWN,
                                  "We couldn't check DNSSEC for this domain name.",
                                  detail=f"{type(exc).__name__}: {exc}"))
    status = derive_status(w.findings, default=Status.PASS if w.valid else Status.INFO)
    detail: DnssecDetail = {"signed": w.signed, "valid": w.valid, "chain": w.chain, "algorithm": w.algorithm}
    return CheckResult(name="dnssec", status=status, summary=_summary(w, status), records=w.records,
                       findings=w.findings, detail=dict(detail), elapsed_ms=(time.monotonic() - started) * 1000)
