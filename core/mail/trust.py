"""Which Authentication-Results of a received message to believe.

Anyone can write an Authentication-Results header into a message before sending it; only the ones the
receiving service added mean anything. Every hop *prepends* its header fields, so everything the sender
wrote sits below everything the receiving service added. The rule (RFC 8601 §5 and §7.1 in practice):

0. Layout first: a header below a Received line written by a server outside the receiving service was
   already in the message when that server received it (every hop prepends its Received line, and a service
   writes its verdict above, or as Gmail does right under, the Received line of the hop it received the
   message on). So the receiver's topmost header is believed only when every Received line above it was
   written by the service itself or names no public host (an internal hop: ``by 2002:a05:...``,
   ``by compute1.internal``, ``by 10.217.151.75``, ``by sloti7d1t06``; a service under several domains,
   such as iCloud's me.com ids and icloud.com servers, is one: ``SERVICE_SIBLINGS``); otherwise nothing is believed
   (``Trusted.outsider`` names the server) and the message is "couldn't check", said in those words.
   The receiving service also writes a Received line of its own when the message comes in (by one of its
   named servers: ``mx.google.com``, ``….protection.outlook.com``), above its verdict header or, as Gmail
   does, right over it. A verdict header that no such line backs (none above it, none below it before a
   line written outside the service; internal hops name no service) is not believed either
   (``Trusted.unbacked`` names the claimed receiver, ``Trusted.seen_by`` the server that did receive the
   message): ``Authentication-Results: mx.google.com`` over a single ``Received: … by mx.hd.example`` was
   not written at Google. A message with no Received line at all (a partial paste) backs nothing.
1. The receiver. With ``trusted_authserv_ids``: an AR header belongs to the receiver when its
   authserv-id equals a trusted id or is a subdomain of one (``mx.google.com`` matches ``google.com``;
   iCloud stamps one header per filter, ``…dkimmilter005.me.com``). Without trusted ids: the
   receiver is whoever wrote the *topmost* AR header. Microsoft 365 / Outlook.com write no
   authserv-id; such a header counts as theirs when no ids are given, or when a trusted id is one of
   Microsoft's mail domains (``outlook.com``, ``protection.outlook.com``, ``office365.com``, …).
2. The topmost AR header of the receiver is believed: if the receiver added one, nothing the sender
   wrote can be above it. (Without trusted ids, an unreadable topmost header leaves the receiver
   unknown: we don't fall back to a lower header, which the sender may have written.)
3. Further AR headers of the receiver lower down are believed only above the receiver's own Received
   line: the first Received header below that topmost AR header (``Trusted.trust_limit``). A service
   writes its verdict headers together, in one block, when the message comes in (Proton, iCloud and
   Microsoft put them above the Received line they write for that hop); a Received line under them was
   written when the message entered, or before, so an AR header under it came from the sender's side
   whatever its authserv-id says. Services known to write a single AR header per message (Gmail, Yahoo:
   ``SINGLE_HEADER``; Gmail puts it *under* its own Received line) get no second one believed at all.
   Without trusted ids, "of the receiver" means the same authserv-id or the same organizational domain
   as the topmost one (Gmail's ``mx.google.com``; iCloud's one header per filter).
4. Even then, a lower header never overrides or extends a method that a higher believed header
   already reported: a forged ``dkim=pass`` directly under the real ``dkim=fail`` is ignored. DKIM is
   reported per signature (iCloud writes one header per signature): a lower ``dkim`` result is believed
   only when it is about a DKIM-Signature of the message that no higher header reported on, so a
   ``dkim=pass`` for a message with no signature (or for one already reported) never counts.
5. A ``dkim=pass`` of the topmost header too is believed only for a DKIM-Signature the message carries (by
   ``header.b``, ``d=``/``s=``, or a result that names nothing while a signature is there); one that isn't is
   kept in ``Trusted.unmatched_dkim`` and the DKIM card says so. A failure or ``none`` is kept in the
   receiver's words (it can only warn).

``receiver_inbound`` finds the Received line the service wrote for the hop from outside (top down, never
below a line written outside the service) and the address it saw: ``message`` runs our own SPF check for
that address, and a receiver's ``spf=pass`` our check contradicts is a warning (``verdict``). An address
written in a verdict header (``designates 192.0.2.10``, ``client-ip=``) is never used for that: anyone can
write one. When no header is believed, ``top_inbound`` gives the address the topmost Received line names
(what the last server says it received the message from), for our own check only.

The ``boundary`` (the first Received below the topmost AR header whose ``by`` host is a named host outside
the receiving service) is kept for other uses: the lowest Received above it is the one the service wrote
for the hop from the sender (TLS on the way in, see ``delivery``).

Limits, said plainly: when the receiving service adds no AR header at all and no trusted ids are given,
a forged header at the top cannot be told from a real one; pass ``trusted_authserv_ids`` (the reading
profile knows its provider) to close that gap. A service we don't know that writes its AR header under its
own Received line (as Gmail does) and a sender who connects to it directly leave no Received line between
the real header and a forged one right under it: rule 4 then still refuses a second verdict for a method
already reported and any DKIM result without its own signature.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from .authres import (
    AuthResults, AuthResultsError, MethodResult, ReceivedSpf, parse_authentication_results, parse_received_spf,
    parse_tags, unfold,
)
from .headers import HeaderField, ParsedMessage, domain_of, is_ip_literal, received_by, received_from

MICROSOFT_IDS = frozenset({
    "outlook.com", "protection.outlook.com", "office365.com", "outlook.office365.com", "hotmail.com",
    "live.com", "microsoft.com", "exchangelabs.com", "onmicrosoft.com",
})

# One mail service under several organizational domains: its verdict header and the Received lines its own
# servers write may name different ones (iCloud's filters stamp ``…me.com`` or ``…icloud.com`` ids, and its
# servers are named under me.com, icloud.com and apple.com). A Received line by a sibling is the service's own.
SERVICE_SIBLINGS = (
    frozenset({"icloud.com", "me.com", "mac.com", "apple.com"}),
    frozenset({"google.com", "gmail.com", "googlemail.com"}),
    frozenset({"yahoo.com", "yahoodns.net", "yahoo.net", "aol.com"}),
    frozenset({"messagingengine.com", "fastmail.com", "fastmail.fm"}),
    frozenset({"protonmail.ch", "protonmail.com", "proton.me"}),
    frozenset({"zoho.com", "zohomail.com", "zoho.eu", "zohomail.eu", "zoho.in", "zohomail.in"}),
)


def with_siblings(service: set[str]) -> set[str]:
    """``service`` (organizational domains) with the other domains of the same mail service."""
    out = set(service)
    for group in SERVICE_SIBLINGS:
        if out & group:
            out |= group
    return out


# Services that write one Authentication-Results header per message (by organizational domain).
SINGLE_HEADER = frozenset({"google.com", "yahoo.com"})

# Registered under a two-label public suffix: the organizational domain keeps three labels.
TWO_LEVEL_SUFFIXES = frozenset({
    "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk", "sch.uk", "nhs.uk",
    "com.au", "net.au", "org.au", "edu.au", "gov.au", "asn.au", "id.au", "co.nz", "net.nz", "org.nz",
    "govt.nz", "ac.nz", "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "co.kr", "or.kr", "com.br", "net.br",
    "org.br", "com.cn", "net.cn", "org.cn", "com.hk", "com.tw", "com.sg", "com.my", "co.in", "net.in",
    "org.in", "co.za", "org.za", "com.mx", "com.ar", "com.tr", "co.il", "org.il", "ac.il", "com.ua",
    "co.id", "or.id", "com.ph", "com.vn", "com.pk", "com.ng", "co.ke", "com.eg", "com.sa", "co.th",
    "in.th", "com.pe", "com.co", "com.ec", "com.uy", "com.ve", "co.at", "or.at", "ac.at", "com.pl",
    "com.es", "com.pt", "co.hu", "com.gr", "com.cy", "com.mt",
})


def simple_org_domain(domain: str) -> str:
    """The organizational domain by a simple rule (used when DNS is not available for the RFC 9989
    tree walk): the last two labels, or three when the last two are a well-known two-level public
    suffix (``co.uk``, ``com.au``, …). An approximation, labelled as such wherever it is shown."""
    labels = [x for x in domain.lower().rstrip(".").split(".") if x]
    if len(labels) <= 2:
        return ".".join(labels)
    if ".".join(labels[-2:]) in TWO_LEVEL_SUFFIXES:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


@dataclass
class Believed:
    """One AR result we believe, with the header it came from."""

    result: MethodResult
    field: HeaderField
    header: AuthResults


@dataclass
class Trusted:
    """What the receiving service wrote, by the rule in this module's doc."""

    receiver: str | None  # authserv-id ("" for Microsoft's id-less form); None: no AR header to believe
    headers: list[tuple[HeaderField, AuthResults]] = field(default_factory=list)
    results: list[Believed] = field(default_factory=list)
    ignored: list[dict[str, Any]] = field(default_factory=list)  # AR headers not believed, and why
    unreadable: list[dict[str, Any]] = field(default_factory=list)  # receiver's AR headers we couldn't parse
    received_spf: tuple[HeaderField, ReceivedSpf] | None = None
    boundary: int | None = None  # header index of the first Received written before the service
    trust_limit: int | None = None  # header index of the receiver's own Received line (under its AR block)
    outsider: str | None = None  # set when the topmost header sits below a Received line written outside
    unbacked: str | None = None  # the claimed receiver, when no Received line of its service is in the message
    seen_by: str | None = None  # then: the server that wrote the topmost Received line outside that service
    unmatched_dkim: list[Believed] = field(default_factory=list)  # the receiver's dkim results with no signature

    def find(self, method: str) -> list[Believed]:
        return [b for b in self.results if b.result.method == method]

    @property
    def top(self) -> tuple[HeaderField, AuthResults] | None:
        return self.headers[0] if self.headers else None


def _norm(s: str) -> str:
    return s.strip().lower().rstrip(".")


def _id_matches(aid: str, trusted: list[str]) -> bool:
    a = _norm(aid)
    if not a:
        return any(simple_org_domain(t) in MICROSOFT_IDS for t in trusted)
    return any(a == t or a.endswith("." + t) for t in trusted)


def select_trusted(msg: ParsedMessage, trusted_ids: list[str] | None) -> Trusted:
    """Apply the rule of this module's doc to ``msg``."""
    trusted = [_norm(t) for t in (trusted_ids or []) if isinstance(t, str) and _norm(t)]
    parsed: list[tuple[HeaderField, AuthResults | None, str]] = []
    for f in msg.get_all("Authentication-Results"):
        try:
            parsed.append((f, parse_authentication_results(f.value, recover=True), ""))
        except AuthResultsError as exc:
            parsed.append((f, None, exc.message))

    def belongs(ar: AuthResults | None, receiver: str | None) -> bool:
        if ar is None:
            return False
        if trusted:
            return _id_matches(ar.authserv_id, trusted)
        if receiver is None:
            return False
        aid = _norm(ar.authserv_id)
        if not receiver:
            return not aid or simple_org_domain(aid) in MICROSOFT_IDS
        return aid == receiver or simple_org_domain(aid) == simple_org_domain(receiver)

    top_i: int | None = None
    receiver: str | None = None
    if trusted:
        top_i = next((i for i, (_, ar, _) in enumerate(parsed) if belongs(ar, None)), None)
    elif parsed and parsed[0][1] is not None:
        top_i = 0  # an unreadable topmost header leaves the receiver unknown: a lower one may be forged
    out = Trusted(receiver=None)
    if top_i is None:
        why = ("its authserv-id is not one of the receiving service's" if trusted else
               "the topmost Authentication-Results header could not be read, so we can't tell which one the "
               "receiving service wrote")
        for f, ar, err in parsed:
            if ar is None:
                out.unreadable.append({"index": f.index, "error": err, "header": f.text})
            else:
                out.ignored.append(_ignored(f, ar, why))
        return out
    top_field, top_ar, _ = parsed[top_i]
    assert top_ar is not None
    receiver = _norm(top_ar.authserv_id)

    service = {simple_org_domain(t) for t in trusted}
    if receiver:
        service.add(simple_org_domain(receiver))
    if not receiver or (service & MICROSOFT_IDS):
        service |= MICROSOFT_IDS
    service = with_siblings(service)
    outsider = written_outside_above(msg, top_field.index, service)
    if outsider is not None:  # rule 0: the header was in the message before a server outside received it
        who = receiver or "Microsoft's id-less form"
        why = (f"it sits below a Received line written by {outsider}, a server outside {who}'s service, so it "
               f"was already in the message when {outsider} received it: an earlier server or the sender wrote "
               "it, not the receiving service")
        for i, (f, ar, err) in enumerate(parsed):
            if ar is None:
                out.unreadable.append({"index": f.index, "error": err, "header": f.text})
            else:
                out.ignored.append(_ignored(f, ar, why if i >= top_i else
                                            "its authserv-id is not the receiving service's"))
        out.outsider = outsider
        return out
    for f in msg.get_all("Received"):
        if f.index <= top_field.index:
            continue
        if out.trust_limit is None:
            out.trust_limit = f.index
        by = received_by(f.value)
        if by and "." in by and not is_ip_literal(by) and simple_org_domain(by) not in service:
            out.boundary = f.index
            break
    if not backed_by_service(msg, top_field.index, service):  # rule 1: no Received line of the service
        who = receiver or "Microsoft"
        seen = first_outside_received(msg, service)
        out.unbacked, out.seen_by = who, seen
        why = (f"no Received line in the message was written by {who}'s service"
               + (f"; the server that received it was {seen}" if seen else " (the message has no Received lines)")
               + ", so nothing shows this service received the message: the header proves nothing")
        for i, (f, ar, err) in enumerate(parsed):
            if ar is None:
                out.unreadable.append({"index": f.index, "error": err, "header": f.text})
            else:
                out.ignored.append(_ignored(f, ar, why if i >= top_i else
                                            "its authserv-id is not the receiving service's"))
        out.trust_limit = out.boundary = None
        return out
    out.receiver = receiver
    single = bool(receiver) and simple_org_domain(receiver) in SINGLE_HEADER

    sig_tags = [parse_tags(f.value) for f in msg.get_all("DKIM-Signature")]
    used_sigs: set[int] = set()
    done: set[str] = set()
    for i, (f, ar, err) in enumerate(parsed):
        if i < top_i:
            if ar is None:
                out.unreadable.append({"index": f.index, "error": err, "header": f.text})
            else:
                out.ignored.append(_ignored(f, ar, "its authserv-id is not the receiving service's"))
            continue
        if i > top_i and not belongs(ar, receiver):
            if ar is None:
                out.ignored.append(_ignored(f, ar, f"unreadable: {err}"))
            else:
                out.ignored.append(_ignored(f, ar, "its authserv-id is not the receiving service's "
                                            "(an earlier server or the sender wrote it)"))
            continue
        if i > top_i and out.trust_limit is not None and f.index > out.trust_limit:
            out.ignored.append(_ignored(f, ar, "it sits below the point where the message entered the "
                                        "receiving service (under the Received line the service wrote), so the "
                                        "sender could have written it"))
            continue
        if i > top_i and single:
            out.ignored.append(_ignored(f, ar, f"{receiver} writes one Authentication-Results header per message "
                                        "and its own is the one above, so the sender could have written this one"))
            continue
        assert ar is not None
        out.headers.append((f, ar))
        mine = {r.method for r in ar.results}
        for r in ar.results:
            if r.method == "dkim":
                sig = match_signature(r, sig_tags, used_sigs)
                if sig is None and i == top_i:
                    sig = _loose_signature(r, sig_tags, used_sigs)
                if sig is not None:
                    used_sigs.add(sig)
                    out.results.append(Believed(r, f, ar))
                elif i == top_i and r.result == "pass":  # a pass for a signature the message doesn't carry
                    out.unmatched_dkim.append(Believed(r, f, ar))
                elif i == top_i:  # "none", or a failure the receiver saw (what it says can only warn)
                    out.results.append(Believed(r, f, ar))
            elif r.method not in done:
                out.results.append(Believed(r, f, ar))
        done |= mine

    for f in msg.get_all("Received-SPF"):
        if out.trust_limit is not None and f.index > out.trust_limit:
            break  # under the receiver's own Received line: the sender could have written it
        try:
            out.received_spf = (f, parse_received_spf(f.value))
        except AuthResultsError:
            continue
        break
    return out


# Host names that are no organization's public name: a service's own internal hops (``compute1.internal``,
# ``mail.corp.local``), never "another server outside" (RFC 6761, RFC 8375 and common private suffixes).
_PRIVATE_SUFFIXES = ("internal", "local", "localdomain", "localhost", "lan", "home.arpa", "home", "intranet", "corp",
                     "private", "lcl", "intra")


def internal_name(host: str | None) -> bool:
    """A Received ``by`` host that names no public organization: missing, an IP literal, a single label,
    ``localhost`` or a private suffix."""
    h = (host or "").strip().strip("[]").rstrip(".").lower()
    if not h or "." not in h or is_ip_literal(h):
        return True
    return any(h == s or h.endswith("." + s) for s in _PRIVATE_SUFFIXES)


def written_outside_above(msg: ParsedMessage, index: int, service: set[str]) -> str | None:
    """The host of a Received line above header ``index`` that a server outside ``service`` (organizational
    domains) wrote, nearest first; None when every one above is the service's own (or names no public host).

    Every hop prepends its Received line, and a service writes its verdict headers above, or (Gmail) right
    under, the Received line of the hop it received the message on: a header below a line written by a
    server outside that service was already in the message when that server received it."""
    for f in reversed([x for x in msg.get_all("Received") if x.index < index]):
        by = received_by(f.value)
        if not internal_name(by) and simple_org_domain(by or "") not in service:
            return by
    return None


def _service_host(by: str | None, service: set[str]) -> bool:
    return not internal_name(by) and simple_org_domain(by or "") in service


def backed_by_service(msg: ParsedMessage, index: int, service: set[str]) -> bool:
    """A Received line written by a named server of ``service`` (organizational domains) backs the verdict
    header at ``index``: one above it, or one below it before the first line a named server outside the
    service wrote (Gmail writes its header under its own Received line, Microsoft and iCloud above theirs).
    Internal hops (``by 10.217.151.75``, ``by compute1.internal``) name no service, so they back nothing."""
    for f in msg.get_all("Received"):
        by = received_by(f.value)
        if _service_host(by, service):
            return True
        if f.index > index and not internal_name(by):
            return False  # written outside the service: everything below predates it
    return False


def first_outside_received(msg: ParsedMessage, service: set[str]) -> str | None:
    """The host of the topmost Received line a named server outside ``service`` wrote, else None."""
    for f in msg.get_all("Received"):
        by = received_by(f.value)
        if not internal_name(by) and not _service_host(by, service):
            return by
    return None


_PRIVATE_NETS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "0.0.0.0/8", "240.0.0.0/4", "fc00::/7"))
_RDNS_IN_RECEIVED = re.compile(r"\(\s*([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)\.?\s*\[")
_IP_IN_RECEIVED = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]{3,45})\]|\(([0-9A-Fa-f:.]{3,45})\)", re.IGNORECASE)


def public_ip(text: str) -> str | None:
    """``text`` as an address a receiver can have seen a sender at (not private, loopback, link-local,
    multicast; the documentation ranges are kept, as examples and tests use them), else None."""
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]").removeprefix("IPv6:").removeprefix("ipv6:"))
    except ValueError:
        return None
    if ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified or \
            any(ip.version == n.version and ip in n for n in _PRIVATE_NETS):
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return public_ip(str(ip.ipv4_mapped))
    return str(ip)


def receiver_inbound(msg: ParsedMessage, trusted: Trusted, trusted_ids: list[str] | None = None) -> \
        tuple[HeaderField, str] | None:
    """The Received line the receiving service wrote for the hop from outside, and the address it received
    the message from: top down, the first line written by the service (``by`` its own or an internal host)
    whose sending side is not the service (its name outside the service, or a public address only). Lines
    below one written outside the service are never read: the sender could have written them."""
    if trusted.receiver is None:
        return None
    service = {simple_org_domain(_norm(t)) for t in (trusted_ids or []) if _norm(t)}
    if trusted.receiver:
        service.add(simple_org_domain(trusted.receiver))
    if not trusted.receiver or service & MICROSOFT_IDS:
        service |= MICROSOFT_IDS
    service = with_siblings(service)
    for f in msg.get_all("Received"):
        by = received_by(f.value)
        if not internal_name(by) and simple_org_domain(by or "") not in service:
            return None  # written outside the service: everything below predates it
        name = received_from(f.value) or ""
        if name and not is_ip_literal(name) and "." in name and simple_org_domain(name) in service:
            continue  # one of the service's own hops
        head = unfold(f.value).split(" by ", 1)[0]
        looked_up = _RDNS_IN_RECEIVED.search(head)  # the name the service looked the address up as
        if (not name or internal_name(name)) and looked_up and simple_org_domain(looked_up.group(1)) in service:
            continue  # an internal host name the service itself resolved to one of its own servers
        ip = _from_ip(f)
        if ip is not None:
            return f, ip
    return None


def top_inbound(msg: ParsedMessage) -> tuple[HeaderField, str] | None:
    """When no verdict header is believed: the topmost Received line that names a public sending address,
    and that address (what the last server to handle the message says it received it from). Only for our
    own SPF check, said as "the topmost Received line says"; never a verdict of anyone."""
    for f in msg.get_all("Received"):
        ip = _from_ip(f)
        if ip is not None:
            return f, ip
    return None


def earlier_hops(msg: ParsedMessage, below: HeaderField, limit: int = 3) -> list[tuple[HeaderField, str]]:
    """The Received lines under ``below`` (older hops, top down) that name a public sending address other
    than the ones above, with that address: at most ``limit``. What they say was written before the receiving
    service got the message (by a forwarder, or by the sender), so it is only ever a hint in our own words."""
    seen = {ip for f in msg.get_all("Received") if f.index <= below.index for ip in [_from_ip(f)] if ip}
    out: list[tuple[HeaderField, str]] = []
    for f in msg.get_all("Received"):
        if f.index <= below.index:
            continue
        ip = _from_ip(f)
        if ip is not None and ip not in seen:
            seen.add(ip)
            out.append((f, ip))
            if len(out) >= limit:
                break
    return out


def _from_ip(f: HeaderField) -> str | None:
    """The first public address in the sending side (before ``by``) of a Received line."""
    name = received_from(f.value) or ""
    head = unfold(f.value).split(" by ", 1)[0]
    ips = [public_ip(m.group(1) or m.group(2)) for m in _IP_IN_RECEIVED.finditer(head)]
    if is_ip_literal(name):
        ips.insert(0, public_ip(name))
    return next((x for x in ips if x), None)


def _loose_signature(r: MethodResult, sigs: list[dict[str, str]], used: set[int]) -> int | None:
    """For the receiver's own header: a result that names the signing domain, or names nothing at all, is
    about the first unused signature of that domain (or any, for an unnamed one). Never a signature that
    isn't in the message."""
    free = [i for i in range(len(sigs)) if i not in used]
    d = domain_of(r.get("header.d")) or domain_of(r.get("header.i"))
    if d:
        return next((i for i in free if sigs[i].get("d", "").lower().rstrip(".") == d), None)
    if "".join((r.get("header.b") or "").split()) or r.get("header.s"):
        return None
    return free[0] if free else None


def match_signature(r: MethodResult, sigs: list[dict[str, str]], used: set[int]) -> int | None:
    """The DKIM-Signature (index into ``sigs``, their tags) a ``dkim`` result is about: by ``header.b``
    (the start of b=), else by d= and s=, else by d= alone when only one unused signature has it."""
    hb = "".join((r.get("header.b") or "").split())
    free = [i for i in range(len(sigs)) if i not in used]
    if len(hb) >= 6:
        for i in free:
            if sigs[i].get("b", "").startswith(hb):
                return i
    d = domain_of(r.get("header.d")) or domain_of(r.get("header.i"))
    sel = (r.get("header.s") or "").lower()
    same_d = [i for i in free if sigs[i].get("d", "").lower().rstrip(".") == d] if d else []
    if sel:
        both = [i for i in same_d if sigs[i].get("s", "").lower() == sel]
        if both:
            return both[0]
    return same_d[0] if len(same_d) == 1 else None


def _ignored(f: HeaderField, ar: AuthResults | None, why: str) -> dict[str, Any]:
    return {"index": f.index, "authserv_id": ar.authserv_id if ar is not None else None, "reason": why,
            "header": f.text}
