"""SPF evaluation: ``check_host()`` of RFC 7208 §4–§8, over the project's ``DnsClient``.

    ev = await check_host("192.0.2.1", "example.com", "alice@example.com", helo="mail.example.com",
                          dns=client)
    ev.result        # "pass" | "fail" | "softfail" | "neutral" | "none" | "temperror" | "permerror"
    ev.explanation   # the exp= text for a fail, else a plain-English why
    ev.mechanism     # the term that matched, or None
    ev.trace         # the steps, readable

Limits (RFC 7208 §4.6.4): at most 10 lookup-costing terms (include, a, mx, ptr, exists, redirect)
per evaluation, at most 2 void lookups, at most 10 MX hosts per ``mx`` (more is a permerror when
they are reached) and at most 10 PTR names per ``ptr`` / ``%{p}`` (the rest are ignored).
A DNS timeout or server failure is ``temperror``; an include or redirect loop is ``permerror``.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from typing import Any

import dns.reversename

from ..dns.client import DnsAnswer, DnsClient
from .spf_macro import (
    MacroContext, SpfSyntaxError, expand_parts, ip_for_spf, is_valid_domain_name, macro_letters, parse_macro_string,
    truncate_domain,
)
from .spf_parse import Mechanism, SpfRecord, parse_record
from .spf_walk import (
    MAX_LOOKUPS, MAX_MX, MAX_PTR, MAX_VOID_LOOKUPS, LookupTally, SpfStop, fetch_record, follow_problem, mx_hosts,
)

__all__ = ["SpfEvaluation", "check_host", "check_helo", "RESULTS", "MAX_LOOKUPS", "MAX_VOID_LOOKUPS"]

RESULTS = ("pass", "fail", "softfail", "neutral", "none", "temperror", "permerror")

IP = ipaddress.IPv4Address | ipaddress.IPv6Address

_WHY = {
    "pass": "The sending server is listed in the domain's SPF record.",
    "fail": "The domain's SPF record says this server is not allowed to send its mail.",
    "softfail": "The domain's SPF record says this server is probably not allowed to send its mail.",
    "neutral": "The domain's SPF record makes no statement about this server.",
    "none": "The domain has no SPF record.",
    "temperror": "A temporary DNS problem stopped the check; a receiver would try again later.",
    "permerror": "The domain's SPF record is broken, so receivers cannot use it.",
}


@dataclass
class SpfEvaluation:
    """The outcome of ``check_host``."""

    result: str
    explanation: str
    mechanism: str | None = None
    trace: list[str] = field(default_factory=list)
    domain: str = ""  # the <domain> checked
    exp_text: str | None = None  # the expanded exp= text (fail only), None when none was usable
    lookups: int = 0  # lookup-costing terms evaluated
    void_lookups: int = 0
    reason: str = ""  # why a none / temperror / permerror came about, in plain words ("" otherwise)

    def to_json(self) -> dict[str, Any]:
        return {"result": self.result, "explanation": self.explanation, "mechanism": self.mechanism,
                "reason": self.reason, "trace": list(self.trace)}


@dataclass
class _Outcome:
    result: str
    why: str
    mechanism: str | None = None
    exp_text: str | None = None
    invalid_domain: bool = False  # RFC 7208 §4.3: <domain> is not a usable FQDN, so the result is none


class _Evaluator:
    def __init__(self, dns: DnsClient, ip: IP, sender: str, helo: str, receiver: str, timestamp: int) -> None:
        self.dns = dns
        self.ip = ip
        self.sender = sender
        self.helo = helo
        self.receiver = receiver
        self.timestamp = timestamp
        self.tally = LookupTally()
        self.trace: list[str] = []
        self._validated: dict[str, str | None] = {}
        self._ptr_names: list[str] | None = None

    # -- helpers --------------------------------------------------------------------------------

    def note(self, text: str) -> None:
        if len(self.trace) < 500:
            self.trace.append(text)

    def ctx(self, domain: str, validated: str | None = None) -> MacroContext:
        return MacroContext(sender=self.sender, domain=domain, ip=self.ip, helo=self.helo,
                            receiver=self.receiver, validated=validated, timestamp=self.timestamp)

    def count_lookup(self, term: str) -> None:
        if self.tally.lookup():
            raise SpfStop("permerror", f"'{term}' would be DNS lookup number {self.tally.lookups}; SPF allows at "
                                       f"most {MAX_LOOKUPS} per check (RFC 7208 §4.6.4)")

    def count_void(self, term: str, name: str) -> None:
        over = self.tally.void()
        self.note(f"  {name} does not exist or has no records (void lookup {self.tally.voids} of "
                  f"{MAX_VOID_LOOKUPS})")
        if over:
            raise SpfStop("permerror", f"'{term}' is void lookup number {self.tally.voids}; SPF allows at most "
                                       f"{MAX_VOID_LOOKUPS} lookups that find nothing (RFC 7208 §4.6.4)")

    async def query(self, name: str, rdtype: str, term: str) -> DnsAnswer:
        ans = await self.dns.query(name, rdtype)
        if ans.failed:
            raise SpfStop("temperror", f"looking up {rdtype} for {name} (for '{term}') failed: {ans.describe}")
        return ans

    async def expand(self, spec: str, domain: str) -> str:
        """Expand a domain-spec into a name to query (may look up %{p})."""
        parts = parse_macro_string(spec)
        validated = None
        if "p" in macro_letters(parts):
            validated = await self.validated_name(domain)
        return truncate_domain(expand_parts(parts, self.ctx(domain, validated)))

    async def addresses(self, name: str, term: str, *, quiet_errors: bool = False) -> tuple[DnsAnswer, list[IP]]:
        rdtype = "AAAA" if isinstance(self.ip, ipaddress.IPv6Address) else "A"
        if quiet_errors:
            ans = await self.dns.query(name, rdtype)
        else:
            ans = await self.query(name, rdtype, term)
        out: list[IP] = []
        for r in ans.records if ans.ok else ():
            try:
                out.append(ipaddress.ip_address(r))
            except ValueError:
                continue
        return ans, out

    def ip_in(self, addrs: list[IP], cidr4: int | None, cidr6: int | None) -> bool:
        for a in addrs:
            if isinstance(self.ip, ipaddress.IPv4Address) and isinstance(a, ipaddress.IPv4Address):
                net = ipaddress.IPv4Network(f"{a}/{32 if cidr4 is None else cidr4}", strict=False)
                if self.ip in net:
                    return True
            elif isinstance(self.ip, ipaddress.IPv6Address) and isinstance(a, ipaddress.IPv6Address):
                net6 = ipaddress.IPv6Network(f"{a}/{128 if cidr6 is None else cidr6}", strict=False)
                if self.ip in net6:
                    return True
        return False

    async def ptr_names(self) -> tuple[list[str], DnsAnswer | None]:
        name = dns.reversename.from_address(str(self.ip)).to_text().rstrip(".")
        ans = await self.dns.query(name, "PTR")
        if not ans.ok:
            return [], ans
        names = [r.rstrip(".").lower() for r in ans.records]
        return names[:MAX_PTR], ans

    async def validated_names(self, names: list[str]) -> list[str]:
        out: list[str] = []
        for n in names:
            if not is_valid_domain_name(n, multi_label=False):
                continue
            ans, addrs = await self.addresses(n, "ptr", quiet_errors=True)
            if ans.failed:
                continue  # RFC 7208 §5.5: a DNS error on the address lookup skips this name
            if self.ip_in(addrs, None, None):
                out.append(n)
        return out

    async def validated_name(self, domain: str) -> str | None:
        """%{p} (RFC 7208 §7.3): a validated name equal to ``domain``, else a subdomain of it,
        else any validated name; None ("unknown") when there is none."""
        key = domain.lower()
        if key in self._validated:
            return self._validated[key]
        names, _ = await self.ptr_names()
        valid = await self.validated_names(names)
        choice: str | None = None
        for n in valid:
            if n == key:
                choice = n
                break
        if choice is None:
            for n in valid:
                if n.endswith("." + key):
                    choice = n
                    break
        if choice is None and valid:
            choice = valid[0]
        self._validated[key] = choice
        return choice

    # -- check_host -----------------------------------------------------------------------------

    async def fetch(self, domain: str) -> tuple[SpfRecord | None, str]:
        """The SPF record at ``domain``: (record, "") or (None, reason) for "none"; raises SpfStop
        for temperror/permerror (RFC 7208 §4.4, §4.5)."""
        got = await fetch_record(self.dns, domain)
        ans = got.answer
        if got.result == "temperror":
            raise SpfStop("temperror", f"the TXT lookup for {domain} failed: {ans.describe}")
        if got.result == "none":
            return None, f"{domain}: {ans.describe}" if not ans.ok else f"{domain} has no SPF record"
        if got.result == "permerror":
            raise SpfStop("permerror", f"{domain} has {len(got.records)} SPF records; exactly one is allowed "
                                       "(RFC 7208 §4.5)")
        text = got.records[0]
        self.note(f"{domain}: {text}")
        try:
            return parse_record(text), ""
        except SpfSyntaxError as exc:
            raise SpfStop("permerror", f"the SPF record of {domain} has a syntax error: {exc}") from None

    async def check(self, domain: str, chain: tuple[str, ...], want_exp: bool) -> _Outcome:
        if not is_valid_domain_name(domain):
            why = why_not_a_domain(domain)
            self.note(f"{why}: none (RFC 7208 §4.3)")
            return _Outcome("none", why, invalid_domain=True)
        record, why = await self.fetch(domain)
        if record is None:
            self.note(why)
            return _Outcome("none", why)
        for mech in record.mechanisms:
            if await self.matches(mech, domain, chain):
                self.note(f"  '{mech.text}' matched: {mech.result}")
                out = _Outcome(mech.result, "", mech.text)
                if mech.result == "fail" and want_exp and record.exp is not None:
                    out.exp_text = await self.explain(record.exp.value, domain)
                return out
            if mech.kind != "include":  # an include has said what it gave
                self.note(f"  '{mech.text}': no match")
        redirect = record.redirect
        if redirect is not None and record.all is None:
            self.count_lookup(redirect.text)
            try:
                target = await self.expand(redirect.value, domain)
            except SpfSyntaxError as exc:  # pragma: no cover - validated by the parser
                raise SpfStop("permerror", str(exc)) from None
            sub = await self.follow("redirect", target, chain, want_exp)
            if sub.result == "none":
                raise SpfStop("permerror", f"the redirect target {target} has no SPF record")
            return sub
        self.note("  nothing matched: neutral")
        return _Outcome("neutral", "no mechanism matched and there is no redirect", None)

    async def matches(self, mech: Mechanism, domain: str, chain: tuple[str, ...]) -> bool:
        kind = mech.kind
        if kind == "all":
            return True
        if kind == "ip4":
            net = mech.network
            return isinstance(self.ip, ipaddress.IPv4Address) and net is not None and self.ip in net
        if kind == "ip6":
            net = mech.network
            return isinstance(self.ip, ipaddress.IPv6Address) and net is not None and self.ip in net
        self.count_lookup(mech.text)
        target = await self.expand(mech.domain_spec if mech.domain_spec is not None else "%{d}", domain)
        if kind == "include":
            return await self.include(mech, target, chain)
        if not is_valid_domain_name(target, multi_label=False):
            self.note(f"  '{mech.text}': '{target}' is not a valid domain name; no match")
            return False
        if kind == "a":
            ans, addrs = await self.addresses(target, mech.text)
            if ans.outcome.void:
                self.count_void(mech.text, target)
            return self.ip_in(addrs, mech.ip4_cidr, mech.ip6_cidr)
        if kind == "mx":
            return await self.mx(mech, target)
        if kind == "ptr":
            return await self.ptr(mech, target)
        if kind == "exists":
            ans = await self.query(target, "A", mech.text)
            if ans.outcome.void:
                self.count_void(mech.text, target)
                return False
            return ans.ok and len(ans.records) > 0
        return False  # pragma: no cover - the parser knows no other mechanism

    async def follow(self, kind: str, target: str, chain: tuple[str, ...], want_exp: bool) -> _Outcome:
        """The outcome of the record an include or a redirect (``kind``) hands over to; a loop or a target
        that is not a domain name ends the evaluation in permerror (RFC 7208 §5.2, §6.1)."""
        t = target.lower()
        term = f"include:{target}" if kind == "include" else f"redirect={target}"
        problem = follow_problem(t, chain)
        if problem == "loop":
            raise SpfStop("permerror", f"{term} loops back to a domain already being checked")
        self.note(f"  {term}")
        if problem == "invalid":
            raise SpfStop("permerror", f"{kind} target '{target}' is not a valid domain name")
        return await self.check(t, chain + (t,), want_exp)

    async def include(self, mech: Mechanism, target: str, chain: tuple[str, ...]) -> bool:
        sub = await self.follow("include", target, chain, False)
        self.note(f"  include:{target} gave {sub.result}")
        if sub.result == "pass":
            return True
        if sub.result in ("fail", "softfail", "neutral"):
            return False
        if sub.result == "temperror":
            raise SpfStop("temperror", sub.why)
        if sub.result == "none":
            raise SpfStop("permerror", f"include:{target} points at a domain without an SPF record")
        raise SpfStop("permerror", sub.why)

    async def mx(self, mech: Mechanism, target: str) -> bool:
        ans = await self.query(target, "MX", mech.text)
        if ans.outcome.void:
            self.count_void(mech.text, target)
            return False
        for n, host in enumerate(mx_hosts(ans)):
            if host == "":
                continue  # null MX (RFC 7505): no host to match
            if n >= MAX_MX:
                raise SpfStop("permerror", f"'{mech.text}' has more than {MAX_MX} mail servers (MX) to check; "
                                          "SPF allows at most 10 (RFC 7208 §4.6.4)")
            if not is_valid_domain_name(host, multi_label=False):
                continue
            _, addrs = await self.addresses(host, mech.text)
            if self.ip_in(addrs, mech.ip4_cidr, mech.ip6_cidr):
                return True
        return False

    async def ptr(self, mech: Mechanism, target: str) -> bool:
        names, ans = await self.ptr_names()
        if ans is not None and ans.outcome.void:
            self.count_void(mech.text, ans.name)
            return False
        t = target.lower()
        candidates = [n for n in names if n == t or n.endswith("." + t)]
        return bool(await self.validated_names(candidates))

    async def explain(self, spec: str, domain: str) -> str | None:
        """The exp= explanation, or None when anything about it fails (RFC 7208 §6.2)."""
        try:
            name = await self.expand(spec, domain)
        except (SpfSyntaxError, SpfStop):
            return None
        if not is_valid_domain_name(name, multi_label=False):
            return None
        ans = await self.dns.query(name, "TXT")
        if not ans.ok or len(ans.txt_strings) != 1:
            self.note(f"  exp={spec}: no single TXT record at {name}; the default explanation is used")
            return None
        raw = b"".join(ans.txt_strings[0])
        try:
            text = raw.decode("ascii")
            parts = parse_macro_string(text, explain=True)
            validated = await self.validated_name(domain) if "p" in macro_letters(parts) else None
            return expand_parts(parts, self.ctx(domain, validated))
        except (UnicodeDecodeError, SpfSyntaxError, SpfStop):
            self.note(f"  exp={spec}: the explanation text at {name} is not valid; the default is used")
            return None


def _sender_parts(sender: str, domain: str) -> str:
    """<sender> with "postmaster" for a missing local part (RFC 7208 §4.3)."""
    s = sender.strip()
    if not s:
        return f"postmaster@{domain}"
    local, at, dom = s.rpartition("@")
    if not at:
        return f"postmaster@{s}"
    return f"{local or 'postmaster'}@{dom}"


async def check_host(ip: str, domain: str, sender: str, *, helo: str | None = None, dns: DnsClient,
                     receiver: str = "unknown", timestamp: int | None = None) -> SpfEvaluation:
    """Evaluate SPF for a connection from ``ip`` claiming ``sender`` (MAIL FROM; "" for bounces,
    then pass ``domain`` = the HELO name) for ``domain``. Never raises for DNS trouble or bad
    records; raises ``ValueError`` only when ``ip`` is not an IP address."""
    addr = ip_for_spf(ip)
    dom = domain.strip().rstrip(".").lower() if domain else ""
    full_sender = _sender_parts(sender, dom)
    ev = _Evaluator(dns, addr, full_sender, (helo if helo is not None else dom) or "", receiver,
                    int(time.time()) if timestamp is None else timestamp)
    ev.note(f"check_host(ip={addr}, domain={dom or '(empty)'}, sender={full_sender})")
    try:
        out = await ev.check(dom, (dom,), True)
    except SpfStop as exc:
        out = _Outcome(exc.result, exc.why)
        ev.note(f"{exc.result}: {exc.why}")
    explanation = out.exp_text if out.result == "fail" and out.exp_text is not None else _explain(out)
    return SpfEvaluation(result=out.result, explanation=explanation, mechanism=out.mechanism, trace=ev.trace,
                         domain=dom, exp_text=out.exp_text if out.result == "fail" else None,
                         lookups=ev.tally.lookups, void_lookups=ev.tally.voids,
                         reason=out.why if out.result in ("none", "temperror", "permerror") else "")


def why_not_a_domain(name: str) -> str:
    """Plain words for why ``name`` is not a domain SPF can check (see ``is_valid_domain_name``)."""
    n = name[:-1] if name.endswith(".") else name
    labels = n.split(".")
    long = next((x for x in labels if len(x) > 63), None)
    if not n:
        return "the domain is empty"
    if n.startswith("[") or (len(labels) > 1 and labels[-1].isdigit()):
        return f"'{n[:80]}' is an address, not a domain name (a domain literal)"
    if long is not None:
        return f"'{n[:80]}' has a label of {len(long)} characters; DNS allows at most 63"
    if any(not x for x in labels):
        return f"'{n[:80]}' has an empty label (two dots in a row, or a dot at the start)"
    if len(n) > 253:
        return f"'{n[:80]}…' is {len(n)} characters long; a domain name has at most 253"
    if not n.isascii() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in n):
        return f"{n[:80]!r} contains characters a domain name can't have"
    if len(labels) < 2:
        return f"'{n[:80]}' is a single word, not a fully qualified domain name"
    return f"'{n[:80]}' is not a valid domain name"


def _explain(out: _Outcome) -> str:
    if out.invalid_domain:
        return (f"{out.why[:1].upper()}{out.why[1:]}, so there is no SPF record to check: the result is none "
                "(RFC 7208 §4.3).")
    base = _WHY.get(out.result, "")
    if out.mechanism:
        return f"{base} (matched '{out.mechanism}')"
    if out.why and out.result in ("none", "temperror", "permerror"):
        return f"{base} ({out.why})"
    return base


async def check_helo(ip: str, helo: str, *, dns: DnsClient, receiver: str = "unknown",
                     timestamp: int | None = None) -> SpfEvaluation:
    """The HELO/EHLO identity check (RFC 7208 §2.3): ``check_host`` for the HELO name with
    ``postmaster@<helo>`` as the sender."""
    h = helo.strip()
    return await check_host(ip, h, f"postmaster@{h}", helo=h, dns=dns, receiver=receiver, timestamp=timestamp)
