"""Judge a received message: what the receiving service decided (its Authentication-Results), and our
own second opinion (DKIM re-verified with dkimpy, DMARC alignment computed ourselves).

    report = await analyze_message(raw_bytes, dns=client, trusted_authserv_ids=["google.com"])
    report.checks["dmarc"].status, report.to_json()

Which headers are believed is explained in ``trust``; how the cards are built in ``verdict``; the DKIM
re-verification in ``dkimcheck``. Nothing here raises for bad input: binary junk, a header block without
a body, broken encodings or huge headers give a report that says what could not be read.

The verdict on the whole message (``MessageReport.status`` and its one-line ``headline``) follows DMARC
first, as receivers do (``verdict.message_verdict``):

- no Authentication-Results of the receiving service to believe: couldn't check;
- DMARC ``fail`` / ``permerror``: fail; ``temperror``: couldn't check; ``none`` (no policy): a warning when
  SPF or DKIM passed for the From domain, else fail;
- DMARC ``pass`` that our own checks contradict (SPF for the address the receiver's Received line names,
  a DKIM pass without a signature): a warning headed "Not confirmed", never a pass;
- DMARC ``pass``: pass, or a warning that names the side that broke with the receiver's own words
  ("DMARC passed through SPF, but the DKIM signature broke: ... The receiver wrote: dkim=fail (body hash
  did not verify)");
- then the rest: a problem on another card (format and delivery, content, compauth, reverse DNS) turns a
  pass into a warning, never into a failure, and a side check that couldn't run (our own DKIM re-check,
  reverse DNS) never makes the message "couldn't check": its own card says so.

The DMARC result is the receiver's; when it reported none, our own count (aligned SPF or DKIM pass, the
policy from DNS) stands in, and the headline says so.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any

from ..records.dmarc_walk import Walk, failed_lookup_words, organizational_domain, policy_step, tree_walk
from ..records.spf_eval import check_host
from ..dns.client import DnsClient, Outcome
from ..domain import display_names
from ..model import (
    CheckResult, Finding, JsonShapeError, Severity, Status, json_dict, json_enum, json_list, json_num, json_object,
    json_str,
)
from .authres import AuthResultsError, parse_arc_authentication_results, parse_tags, unfold
from .dkimcheck import dns_name_ok, second_opinion, signatures
from .content import analyze_content, spamassassin_async
from .delivery import delivery_card
from .sendername import display_name_finding
from .headers import (
    HeaderField, ParsedMessage, addresses, decode_words, domain_of, parse_message, received_by, received_from,
    strip_comments,
)
from .trust import earlier_hops, receiver_inbound, select_trusted, simple_org_domain, top_inbound
from .verdict import (
    DmarcPolicy, Evidence, dkim_result_domain, arc_card, compauth_card, dkim_card, dmarc_card, message_verdict,
    no_results, spf_card, spf_domain, spf_identity, spf_said_ip, unjudged_spf_card,
)

MAX_WALKS = 12  # distinct domains whose organizational domain we look up in DNS


@dataclass
class MessageReport:
    """The verdict on one received message (the cards are ``checks``)."""

    checks: dict[str, CheckResult]
    from_: str  # the From header as written (encoded words decoded)
    from_domain: str
    subject: str
    message_id: str
    receiver: str | None  # the authserv-id we believed; "" for Microsoft's id-less header; None: none
    findings: list[Finding] = field(default_factory=list)  # about the message as a whole
    detail: dict[str, Any] = field(default_factory=dict)
    elapsed_ms: float = 0.0

    @property
    def status(self) -> Status:
        """The verdict on the message: DMARC first, then the rest (see the module docstring)."""
        status = message_verdict(self.checks)[0]
        if status is Status.PASS and self._sender_name_warning() is not None:
            return Status.WARN
        return status

    @property
    def headline(self) -> str:
        """The verdict in one or two plain sentences, for the top of the screen and of ``headers``."""
        if not self.checks:
            return "No authentication results were found in what was given."
        status, head = message_verdict(self.checks)
        if status in (Status.PASS, Status.WARN) and self._sender_name_warning() is not None:
            head += (" Also, the sender's name in From shows another domain or address than the one it was "
                     "sent from (see below).")
        return head

    def _sender_name_warning(self) -> Finding | None:
        """The warning that the From display name imitates another sender (``sendername``): it turns a
        passing verdict into a warning, since a message can pass DMARC and still pass for someone else."""
        return next((f for f in self.findings if f.code == "msg.display-name-imitates"), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "checks": {
                name: {"status": str(r.status), "result": r.detail.get("result"), "summary": r.summary,
                       "findings": [f.to_json() for f in r.findings], "detail": r.detail}
                for name, r in self.checks.items()
            },
            "status": str(self.status),
            "headline": self.headline,
            "from": self.from_,
            "from_domain": self.from_domain,
            "subject": self.subject,
            "message_id": self.message_id,
            "receiver": self.receiver,
            "findings": [f.to_json() for f in self.findings],
            "detail": self.detail,
            "elapsed_ms": round(self.elapsed_ms, 1),
        }

    @classmethod
    def from_json(cls, data: Any) -> "MessageReport":
        """The report ``to_json`` wrote (``status``, ``headline`` and each card's ``result`` are derived, so
        not read; a card's findings keep their order; the cards of a message have no records and no time
        of their own, so none are written or read)."""
        d = json_object(data, "message report")
        checks: dict[str, CheckResult] = {}
        for name, card in json_dict(d, "checks").items():
            c = json_object(card, name)
            checks[name] = CheckResult(name, json_enum(Status, c, "status"), json_str(c, "summary", ""),
                                       findings=[Finding.from_json(x) for x in json_list(c, "findings")],
                                       detail=json_dict(c, "detail"))
        receiver = d.get("receiver")
        if receiver is not None and not isinstance(receiver, str):
            raise JsonShapeError("'receiver': expected a string or null")
        return cls(checks=checks, from_=json_str(d, "from", ""), from_domain=json_str(d, "from_domain", ""),
                   subject=json_str(d, "subject", ""), message_id=json_str(d, "message_id", ""), receiver=receiver,
                   findings=[Finding.from_json(x) for x in json_list(d, "findings")], detail=json_dict(d, "detail"),
                   elapsed_ms=json_num(d, "elapsed_ms"))


async def analyze_message(raw: bytes, *, dns: DnsClient | None = None,
                          trusted_authserv_ids: list[str] | None = None,
                          content: bool = False, spamassassin: bool = False) -> MessageReport:
    """Read ``raw`` (a whole message, or only its headers) and explain the receiver's verdict.

    ``dns``: used to re-fetch DKIM keys, find organizational domains (RFC 9989 tree walk) and the From
    domain's DMARC policy; without it the second opinion is skipped and said so. ``trusted_authserv_ids``:
    the receiving service's authserv-ids (see ``trust``). ``content``: add the "content" card (the body:
    unsubscribe link, links, images, subject; see ``content``). ``spamassassin``: with ``content``, also
    run SpamAssassin (local tests only, in a worker thread; a few seconds) when it is installed."""
    started = time.monotonic()
    try:
        report = await _analyze(raw, dns, trusted_authserv_ids, content, spamassassin)
    except Exception as exc:  # a last guard: the app and CLI get a report, never a traceback
        report = _internal_error(exc)
    report.elapsed_ms = (time.monotonic() - started) * 1000
    return report


def _inbound_received(msg: ParsedMessage, trusted: Any) -> HeaderField | None:
    """The Received header the receiving service wrote for the hop from the sender: the lowest one above
    the first Received written before the service (``trusted.boundary``)."""
    if trusted.receiver is None:
        return None
    received = msg.get_all("Received")
    if trusted.boundary is not None:
        received = [f for f in received if f.index < trusted.boundary]
    return received[-1] if received else None


def _dmarc_passed(card: CheckResult | None) -> bool | None:
    result = (card.detail.get("result") if card is not None else None) or ""
    if result == "pass":
        return True
    if result == "fail":
        return False
    return None


def _internal_error(exc: BaseException) -> MessageReport:
    f = Finding("msg.internal-error", Severity.UNKNOWN,
                "Something went wrong while reading this message, so we couldn't judge it. Please report "
                "this with the message attached.", f"{type(exc).__name__}: {exc}"[:300])
    checks = {n: CheckResult(n, Status.ERROR, "We couldn't read this message.", findings=[f],
                             detail={"result": None, "authserv_id": None, "header": None})
              for n in ("spf", "dkim", "dmarc")}
    return MessageReport(checks, "", "", "", "", None, findings=[f])


async def _analyze(raw: bytes, dns: DnsClient | None, trusted_ids: list[str] | None,
                   content: bool = False, run_sa: bool = False) -> MessageReport:
    msg = parse_message(raw)
    from_fields = msg.get_all("From")
    from_value = decode_words(from_fields[0].value) if from_fields else ""
    from_addrs = addresses(from_fields[0].value) if from_fields else []
    from_domain = domain_of(from_addrs[0]) if from_addrs else ""
    subj = msg.first("Subject")
    mid = msg.first("Message-ID")

    trusted = select_trusted(msg, trusted_ids)
    sigs = signatures(msg)
    own = await second_opinion(msg, sigs, dns)
    reverified = dns is not None and msg.body is not None and bool(sigs)
    ev = Evidence(trusted=trusted, from_fields=from_fields, from_addresses=from_addrs, from_domain=from_domain,
                  sigs=sigs, own=own, reverified=reverified)
    if dns is not None:
        await _dns_facts(ev, dns)
        ev.spf_own = await _spf_recheck(msg, ev, dns, trusted_ids)

    checks: dict[str, CheckResult] = {}
    if trusted.receiver is None:
        checks["spf"] = unjudged_spf_card(ev)
        for name, card in (("dkim", dkim_card(ev)), ("dmarc", dmarc_card(ev))):
            ours = [f for f in card.findings if f.code not in ("msg.dkim-not-reported", "msg.dmarc-not-reported")]
            missing = no_results(name, trusted).findings[0]
            summary = no_results(name, trusted).summary
            if name == "dkim" and sigs and reverified:
                ok = sum(1 for o in own if o.result == "pass")
                summary += f" Our own check: {ok} of {len(sigs)} DKIM signature(s) verify."
            checks[name] = replace(card, status=Status.ERROR, summary=summary, findings=[missing, *ours])
    else:
        checks["spf"] = spf_card(ev)
        checks["dkim"] = dkim_card(ev)
        checks["dmarc"] = dmarc_card(ev)
        chain = arc_chain(msg)
        arc = arc_card(ev, chain)
        if arc is not None:
            checks["arc"] = arc
        comp = compauth_card(ev)
        if comp is not None:
            checks["compauth"] = comp
        checks["delivery"] = delivery_card(msg, receiver_received=_inbound_received(msg, trusted),
                                           dmarc_passed=_dmarc_passed(checks.get("dmarc")),
                                           signatures=list(checks["dkim"].detail.get("signatures") or []))

    if content and msg.body is not None and msg.fields and isinstance(raw, (bytes, bytearray)):
        checks["content"] = await _content_card(bytes(raw), from_domain, dict(ev.orgs), run_sa)

    # the address the receiving service's own Received line says the message came from (never a header's words)
    inbound = receiver_inbound(msg, trusted, trusted_ids) if trusted.receiver is not None else None
    findings: list[Finding] = []
    if len(from_fields) == 1 and len(from_addrs) == 1:
        imitates = display_name_finding(from_value, from_addrs[0], from_domain, dict(ev.orgs))
        if imitates is not None:
            findings.append(imitates)
    if msg.body is None and msg.fields:
        findings.append(Finding("msg.headers-only", Severity.INFO,
                                "Only the message headers were given (no body), so we can't re-check DKIM "
                                "signatures ourselves; the receiver's verdict is still shown."))
    if not msg.fields:
        findings.append(Finding("msg.no-headers", Severity.UNKNOWN,
                                "This doesn't look like an e-mail message: we found no header fields in it. "
                                "Paste the full original message (\"Show original\" / \"View source\").",
                                "; ".join(msg.defects[:3])))
    elif msg.defects:
        findings.append(Finding("msg.malformed-headers", Severity.INFO,
                                "Some lines in the header block are not valid header fields; we skipped them.",
                                "; ".join(msg.defects[:5]), "RFC 5322 §2.2"))
    if trusted.ignored:
        ids = sorted({str(i["authserv_id"]) for i in trusted.ignored if i["authserv_id"] is not None})
        findings.append(Finding("msg.untrusted-auth-results", Severity.INFO,
                                f"We ignored {len(trusted.ignored)} Authentication-Results header(s) that the "
                                "receiving service didn't write (from an earlier server, or put in by the "
                                "sender); they prove nothing.",
                                "authserv-ids: " + (", ".join(ids) if ids else "(none)"), "RFC 8601 §5"))
    detail = {
        "trusted_headers": [{"index": f.index, "authserv_id": ar.authserv_id, "header": f.text}
                            for f, ar in trusted.headers],
        "ignored_headers": trusted.ignored,
        "unreadable_headers": trusted.unreadable,
        "received_spf": trusted.received_spf[0].text if trusted.received_spf else None,
        "boundary_index": trusted.boundary,
        "headers_only": msg.body is None,
        "dkim_reverified": reverified,
        "org_domain_method": ev.org_method,
        "header_count": len(msg.fields),
        "sending_ip": inbound[1] if inbound is not None else None,
        "sending_ip_received": inbound[0].text if inbound is not None else None,
    }
    checks = {name: card.names_shown() for name, card in checks.items()}  # bücher.example, not xn--bcher-kva…
    findings = [replace(f, message=display_names(f.message)) for f in findings]
    return MessageReport(
        checks=checks, from_=from_value, from_domain=from_domain,
        subject=decode_words(subj.value) if subj else "",
        message_id=mid.unfolded if mid else "", receiver=trusted.receiver, findings=findings, detail=detail)


async def _content_card(raw: bytes, from_domain: str, orgs: dict[str, str], run_sa: bool) -> CheckResult:
    """The "content" card; SpamAssassin (when asked for) runs in a worker thread."""
    sa = None
    if run_sa:
        try:
            sa = await spamassassin_async(raw)
        except Exception:  # SpamAssassin trouble never costs the report
            sa = None
    return analyze_content(raw, from_domain, org_domains=orgs, spamassassin=sa, spamassassin_tried=run_sa)


async def _dns_facts(ev: Evidence, dns: DnsClient) -> None:
    """Organizational domains by the RFC 9989 tree walk, and the From domain's DMARC policy."""
    doms = [ev.from_domain, spf_domain(ev)[0]] + [s.d for s in ev.sigs] + \
        [dkim_result_domain(b.result) for b in ev.trusted.find("dkim")]
    todo = [d for d in dict.fromkeys(doms) if d and dns_name_ok(d)][:MAX_WALKS]
    if not todo:
        return
    walks: list[Walk] = list(await asyncio.gather(*(tree_walk(dns, d) for d in todo)))
    ev.org_method = "dns-tree-walk"
    for d, w in zip(todo, walks):
        ev.orgs[d] = organizational_domain(w) if _walk_usable(w) else simple_org_domain(d)
    if ev.from_domain not in todo:
        return
    walk = walks[todo.index(ev.from_domain)]
    pol = DmarcPolicy(looked_up=True)
    own_step = walk.step(ev.from_domain)
    if own_step is not None and own_step.record is not None:
        pol.record, pol.record_domain = own_step.record, ev.from_domain
        pol.policy = own_step.record.policy_for(subdomain=False)
    else:  # inherited: the Organizational Domain's record, else a public suffix's psd=y record (as the check)
        step, _how = policy_step(walk)
        if step is not None and step.record is not None:
            pol.record, pol.record_domain = step.record, step.name
            rec = step.record
            exists: bool | None = True
            if rec.policy_for(subdomain=True, exists=False) != rec.policy_for(subdomain=True, exists=True):
                exists = await _from_domain_exists(dns, walk)  # np: for a From domain that doesn't exist
            if exists is None:
                pol.failed_query, pol.failed_type = ev.from_domain, "MX"
                pol.failed = (f"We couldn't tell whether {ev.from_domain} exists in DNS (the lookup failed), and the "
                              f"DMARC record of {step.name} it inherits has different policies for existing (sp) "
                              "and non-existent (np) names, so we can't say which one applies. Try again later.")
            else:
                pol.policy = rec.policy_for(subdomain=True, exists=exists)
    if pol.record is not None:
        pol.adkim = pol.record.adkim or "r"
        pol.aspf = pol.record.aspf or "r"
    elif walk.failed is not None:  # RFC 9989 §4.10.1: a DNS error leaves the policy unknown, never "none"
        pol.failed, pol.failed_query = failed_lookup_words(walk), walk.failed.query
    ev.dmarc = pol


async def _from_domain_exists(dns: DnsClient, walk: Walk) -> bool | None:
    """Does the From domain exist (RFC 8020: NXDOMAIN means no)? None when we couldn't tell."""
    first = walk.steps[0] if walk.steps else None
    if first is not None and (first.answer.outcome in (Outcome.ANSWER, Outcome.NODATA) or first.answer.cname_chain):
        return True  # _dmarc.<domain> exists, so <domain> does too
    ans = await dns.query(walk.domain, "MX")  # the same question the DMARC check asks
    if ans.failed:
        return None
    return ans.outcome is not Outcome.NXDOMAIN


SPF_RECHECK_SECONDS = 10.0


async def _spf_recheck(msg: ParsedMessage, ev: Evidence, dns: DnsClient,
                       trusted_ids: list[str] | None) -> dict[str, Any] | None:
    """Our own SPF check (RFC 7208 ``check_host``) for the domain the receiver says it checked, from the
    address the receiver's own Received line says the message came from (never from the sender's lines, and
    never from an address written in a verdict header: anyone can write one). When no verdict header is
    believed, the address the topmost Received line names is checked against the Return-Path domain, else
    the From domain (``ip_source`` "top-received"), so the "couldn't check" card can still say what that
    server is to the domain. None when there is nothing to check (no domain, no address)."""
    said_ip = spf_said_ip(ev)
    if ev.trusted.receiver is None:
        top = top_inbound(msg)
        return_path = msg.first("Return-Path")
        rp = domain_of(return_path.value) if return_path is not None else ""
        dom = rp or ev.from_domain
        if top is None or not dom or not dns_name_ok(dom):
            return None
        hop, ip, ip_source, result = top, top[1], "top-received", None
        domain_source = "return-path" if rp else "from"
        mailfrom, helo = (f"postmaster@{dom}", "")
    else:
        dom, _, result = spf_domain(ev)
        if not dom or result is None:
            return None
        found = receiver_inbound(msg, ev.trusted, trusted_ids)
        if found is None:
            return None  # the receiver's Received line names no address: its words alone are not evidence
        hop, ip, ip_source, domain_source = found, found[1], "received", "receiver"
        mailfrom, helo = spf_identity(ev)
    sender = mailfrom if "@" in (mailfrom or "") else f"postmaster@{dom}"
    try:
        out = await asyncio.wait_for(check_host(ip, dom, sender, helo=helo or None, dns=dns), SPF_RECHECK_SECONDS)
        ours, why, mech = out.result, out.explanation, out.mechanism
    except (asyncio.TimeoutError, ValueError) as exc:
        ours, why, mech = "temperror", f"our check didn't finish: {type(exc).__name__}", None
    facts: dict[str, Any] = {
        "ip": ip, "ip_source": ip_source, "received": hop[0].text, "received_by": received_by(hop[0].value),
        "said_ip": said_ip, "domain": dom, "domain_source": domain_source, "receiver_result": result,
        "result": ours, "explanation": why, "mechanism": mech}
    if ip_source == "received" and result in FORWARD_SIGNS and ours in FORWARD_SIGNS:
        facts["forwarded"] = await _earlier_pass(msg, hop[0], dom, sender, helo, dns)
    return facts


# SPF results that a forward explains: the forwarding server is not in the sender's record.
FORWARD_SIGNS = ("fail", "hardfail", "softfail", "neutral")


async def _earlier_pass(msg: ParsedMessage, inbound: HeaderField, dom: str, sender: str, helo: str,
                        dns: DnsClient) -> dict[str, Any] | None:
    """When SPF fails for the server that delivered the message: an older hop (a Received line under the
    receiver's own) whose sending address ``dom``'s SPF record does allow. Then the message left one of the
    domain's own servers and reached the receiver through another (a forward, an alias, a mailing list): the
    server that delivered it is not the one to add to the record. Those lines were written before the receiver
    got the message, so this is a hint said as such, never evidence of a pass. None when no older hop passes."""
    hops = earlier_hops(msg, inbound)

    async def one(ip: str) -> str:
        try:
            out = await asyncio.wait_for(check_host(ip, dom, sender, helo=helo or None, dns=dns), SPF_RECHECK_SECONDS)
        except (asyncio.TimeoutError, ValueError):
            return "temperror"
        return out.result

    results = await asyncio.gather(*(one(ip) for _, ip in hops))  # at once: at most SPF_RECHECK_SECONDS in all
    for (f, ip), result in zip(hops, results):
        if result == "pass":
            now, then = _for_address(inbound), _for_address(f)
            return {"ip": ip, "received": f.text, "received_by": received_by(f.value),
                    "relay": received_from(inbound.value),
                    # the envelope recipient changed on the way: a forward (an alias, a list), not an outbound relay
                    "recipient_changed": bool(now and then and now != then), "first_recipient": then}
    return None


_FOR = re.compile(r"\bfor\s+<?([^\s<>;@]+@[^\s<>;]+?)>?\s*(?:;|$|\s)", re.IGNORECASE)


def _for_address(f: HeaderField) -> str:
    """The envelope recipient a Received line names (``for <a@example.com>``), lower-case; "" when none."""
    m = _FOR.search(strip_comments(unfold(f.value)))
    return m.group(1).lower() if m else ""


def _walk_usable(w: Walk) -> bool:
    """The walk found a record and did not stop early, except at the top-level domain (whose _dmarc
    name many servers refuse to answer; it can't change the organizational domain of what was found)."""
    return bool(w.found) and (w.failed is None or "." not in w.failed.name)


def arc_chain(msg: ParsedMessage) -> list[dict[str, Any]]:
    """The ARC sets of the message: instance, sealer (d=, s=), chain validation (cv=) and the
    authserv-id of its ARC-Authentication-Results."""
    sets: dict[str, dict[str, Any]] = {}
    for f in msg.get_all("ARC-Seal"):
        t = parse_tags(f.value)
        i = t.get("i", "")
        sets.setdefault(i, {"i": i}).update(d=t.get("d"), s=t.get("s"), cv=t.get("cv"))
    for f in msg.get_all("ARC-Authentication-Results"):
        try:
            aar = parse_arc_authentication_results(f.value, recover=True)
        except AuthResultsError:
            continue
        sets.setdefault(str(aar.instance), {"i": str(aar.instance)})["authserv_id"] = aar.authserv_id
    return sorted(sets.values(), key=lambda x: int(x["i"]) if str(x["i"]).isdigit() else 0)
