"""Cards for what the receiver saw (SPF, DKIM, DMARC, and ARC / compauth when present), built from the
Authentication-Results we believe (see ``trust``) and our own second opinion (``dkimcheck``), and the
verdict on the whole message (``message_verdict``: DMARC first, then the rest; see there).

Status follows what the receiver wrote (``dmarc=fail`` → fail, ``temperror`` → couldn't check); our own
findings can only add to it (a warning for ``l=``, an explanation for a failure, a note where we
disagree). Alignment (RFC 9989 §3.2.10 / §4.4): relaxed = the same organizational domain, strict = the
same domain; the organizational domain comes from the RFC 9989 DNS tree walk when a resolver is given,
else from ``trust.simple_org_domain`` (said so in ``detail["org_domain_method"]``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..domain import display_domain
from ..records.dmarc_parse import DmarcRecord
from ..model import CheckResult, Finding, Severity, Status, derive_status
from .authres import MethodResult, ReceivedSpf
from .dkimcheck import OwnCheck, Signature
from .headers import HeaderField, addresses, domain_of
from .trust import Believed, Trusted, match_signature, simple_org_domain

RFC_AR = "RFC 8601"
RFC_SPF = "RFC 7208 §2.6"
RFC_DKIM = "RFC 6376 §6.1"
RFC_DMARC_ALIGN = "RFC 9989 §4.4"
RFC_DMARC = "RFC 9989"
RFC_L = "RFC 6376 §8.2"

_ORDER = [Status.PASS, Status.INFO, Status.WARN, Status.ERROR, Status.FAIL]


def worst(*statuses: Status) -> Status:
    return max(statuses, key=_ORDER.index)


@dataclass
class DmarcPolicy:
    """What our own DNS lookup found for the From domain (None fields: not looked up / not found)."""

    looked_up: bool = False
    failed: str = ""  # "couldn't check": which lookup of the tree walk failed and what to do (a sentence)
    failed_query: str = ""  # that lookup's name (_dmarc.example)
    failed_type: str = "TXT"  # and its type (MX: whether the From domain exists, for np)
    record: DmarcRecord | None = None
    record_domain: str = ""
    policy: str | None = None
    adkim: str = "r"
    aspf: str = "r"


@dataclass
class Evidence:
    """Everything the cards are built from."""

    trusted: Trusted
    from_fields: list[HeaderField]
    from_addresses: list[str]
    from_domain: str
    sigs: list[Signature]
    own: list[OwnCheck]  # one per signature ([] when there are none)
    reverified: bool  # False: no DNS or only headers; own[] then says why
    orgs: dict[str, str] = field(default_factory=dict)
    org_method: str = "simple-rule"
    dmarc: DmarcPolicy = field(default_factory=DmarcPolicy)
    spf_own: dict[str, Any] | None = None  # our own SPF check for the receiver's address (message._spf_recheck)

    @property
    def spf_contradicted(self) -> bool:
        """The receiver says SPF passed, and our own check for the address its Received line names says the
        domain's record doesn't allow it."""
        o = self.spf_own
        return o is not None and o.get("receiver_result") == "pass" and o.get("result") in CONTRADICTS_PASS

    @property
    def dkim_unsigned_pass(self) -> list[Believed]:
        """The receiver's ``dkim=pass`` results about a signature the message doesn't carry."""
        return [b for b in self.trusted.unmatched_dkim if b.result.result == "pass"]

    def org(self, domain: str) -> str:
        return self.orgs.get(domain) or simple_org_domain(domain)

    def aligned(self, domain: str, mode: str) -> bool:
        if not domain or not self.from_domain:
            return False
        if mode == "s":
            return domain == self.from_domain
        return self.org(domain) == self.org(self.from_domain)


def _f(code: str, sev: Severity, message: str, detail: str = "", rfc: str = "") -> Finding:
    return Finding(code=code, severity=sev, message=message, detail=detail, rfc=rfc)


def _base_detail(b: Believed | None, trusted: Trusted) -> dict[str, Any]:
    return {
        "result": b.result.result if b else None,
        "authserv_id": trusted.receiver,
        "header": b.field.text if b else (trusted.top[0].text if trusted.top else None),
        "comment": b.result.comment if b else None,
        "reason": b.result.reason if b else None,
        "properties": dict(b.result.properties) if b else {},
    }


def receiver_said(r: MethodResult | None) -> str:
    """The receiver's own words for one result: ``dkim=fail (body hash did not verify)``."""
    if r is None:
        return ""
    why = "; ".join(dict.fromkeys(x.strip() for x in (r.comment, r.reason) if x and x.strip()))
    return f"{r.method}={r.result}" + (f" ({why[:200]})" if why else "")


def no_results(name: str, trusted: Trusted) -> CheckResult:
    """The card when nothing from the receiving service can be believed."""
    what = {"spf": "SPF", "dkim": "DKIM", "dmarc": "DMARC"}.get(name, name.upper())
    if trusted.outsider is not None:
        claimed = next((str(i["authserv_id"]) for i in trusted.ignored if i.get("authserv_id")), "")
        whose = f" (claiming to be {claimed}'s)" if claimed else ""
        which = "verdict header" if len(trusted.ignored) <= 1 else "topmost verdict header"
        out = trusted.outsider
        summary = (f"The {which}{whose} sits below a Received line written by {out}, so the receiving "
                   "service didn't write it.")
        finding = _f("msg.auth-results-below-outsider", Severity.UNKNOWN,
                     f"This message's {which}{whose} sits below a Received line written by {out}: it was "
                     f"already in the message when {out} received it, so the receiving service didn't write it. "
                     f"Most likely the sender did, to look genuine. It proves nothing about {what}, so we don't "
                     "believe it.",
                     f"Every server adds its Received line on top; the receiving service writes its verdict above "
                     f"(or right under) its own. The Received line by {out} is outside that service.", "RFC 8601 §5")
        return CheckResult(name=name, status=Status.ERROR, summary=summary, findings=[finding],
                           detail={"result": None, "authserv_id": None, "header": None})
    if trusted.unbacked is not None:
        claimed, seen = trusted.unbacked, trusted.seen_by
        which = "verdict header" if len(trusted.ignored) <= 1 else "topmost verdict header"
        where = (f"the server that received it was {seen}, not {claimed}" if seen else
                 "the message has no Received lines at all")
        summary = (f"The {which} claims to be {claimed}'s, but no Received line of {claimed}'s service is in the "
                   f"message ({where}), so nothing shows {claimed} wrote it.")
        finding = _f("msg.auth-results-unbacked", Severity.UNKNOWN,
                     f"This message's {which} claims to be {claimed}'s, but no Received line in the message was "
                     f"written by {claimed}'s service: {where}. A receiving service adds its own Received line when "
                     f"a message comes in, so this header proves nothing about {what}: anyone can write one, "
                     "and a sender can, to look genuine. We don't believe it."
                     + ("" if seen else " If you pasted only part of the headers, paste the whole message as "
                                        "it arrived (\"Show original\" / \"View source\")."),
                     "Every server that receives a message adds its Received line on top; the receiving service "
                     "writes its verdict above (or right under) its own.", "RFC 8601 §5, §7.1")
        return CheckResult(name=name, status=Status.ERROR, summary=summary, findings=[finding],
                           detail={"result": None, "authserv_id": None, "header": None})
    if trusted.unreadable:
        summary = "The receiving service's Authentication-Results header could not be read."
        finding = _f("msg.auth-results-unreadable", Severity.UNKNOWN,
                     f"We couldn't read the receiving service's verdict header, so we can't tell what it "
                     f"decided about {what}.", trusted.unreadable[0]["error"], RFC_AR)
    else:
        summary = "No Authentication-Results header from the receiving service."
        finding = _f("msg.no-auth-results", Severity.UNKNOWN,
                     f"The message has no verdict header from the receiving service, so we can't tell what it "
                     f"decided about {what}. Use a message as it arrived in the mailbox, with all its "
                     "headers.", "No Authentication-Results field with a trusted authserv-id.", RFC_AR)
    return CheckResult(name=name, status=Status.ERROR, summary=summary, findings=[finding],
                       detail={"result": None, "authserv_id": None, "header": None})


def unjudged_spf_card(ev: Evidence) -> CheckResult:
    """The SPF card when no verdict header is believed (``no_results``), with what our own check says of
    the server the topmost Received line names (``message._spf_recheck``, ``ip_source`` "top-received")."""
    card = no_results("spf", ev.trusted)
    own = ev.spf_own
    if own is None or own.get("ip_source") != "top-received":
        return card
    dom, ip, ours = own["domain"], own["ip"], own["result"]
    card.detail["our_check"] = {k: own.get(k) for k in ("ip", "ip_source", "received_by", "domain", "domain_source",
                                                        "result", "mechanism", "explanation")}
    whose = {"return-path": "the Return-Path domain", "from": "the domain in From"}.get(str(own.get("domain_source")), "")
    line = (f"the topmost Received line (written by {own['received_by']})" if own.get("received_by") else
            "the topmost Received line")
    detail = f"check_host({ip}, {dom}) = {ours}" + (f": {own['explanation']}" if own.get("explanation") else "")
    if ours in ("fail", "softfail"):
        card.findings.append(_f(
            "msg.spf-top-hop-not-allowed", Severity.WARNING,
            f"Our own check: {dom}" + (f" ({whose})" if whose else "") + f" does not allow {ip} in its SPF "
            f"record ({ours}), and {ip} is the server {line} says the message came from. Unless the message was "
            f"forwarded, it didn't come from {dom}'s own mail servers.", detail, RFC_SPF))
    elif ours == "pass":
        card.findings.append(_f(
            "msg.spf-top-hop-allowed", Severity.INFO,
            f"Our own check: {dom}'s SPF record allows {ip}, the server {line} says the message came from. "
            "That alone doesn't make the verdict header genuine.", detail, RFC_SPF))
    elif ours in ("neutral", "none", "permerror"):
        card.findings.append(_f(
            "msg.spf-top-hop-unlisted", Severity.INFO,
            f"Our own check: {dom}'s SPF record gives no pass for {ip}, the server {line} says the message came "
            f"from ({ours}).", detail, RFC_SPF))
    return card


# -- SPF -------------------------------------------------------------------------------------------


def _spf_identity(b: Believed) -> tuple[str, str, str]:
    r = b.result
    mailfrom = r.get("smtp.mailfrom") or r.get("smtp.mail") or ""
    helo = r.get("smtp.helo") or ""
    return mailfrom, helo, domain_of(mailfrom) or domain_of(helo)


# Our own SPF results that contradict a receiver's pass (a temperror says nothing).
CONTRADICTS_PASS = ("fail", "softfail", "neutral", "none", "permerror")


def spf_identity(ev: Evidence) -> tuple[str, str]:
    """(MAIL FROM, HELO) the receiver says SPF checked (its AR result, else Received-SPF)."""
    b = pick_spf(ev.trusted)
    if b is not None:
        mailfrom, helo, _ = _spf_identity(b)
        return mailfrom, helo
    if ev.trusted.received_spf is not None:
        rs = ev.trusted.received_spf[1]
        return rs.envelope_from or "", rs.helo or ""
    return "", ""


def spf_said_ip(ev: Evidence) -> str | None:
    """The sending address as the receiver's SPF words give it ("designates 192.0.2.10", client-ip=)."""
    b = pick_spf(ev.trusted)
    rs = ev.trusted.received_spf[1] if ev.trusted.received_spf else None
    for text in (b.result.comment if b else None, rs.comment if rs else None):
        m = _IP.search(text or "")
        if m:
            return m.group(1)
    return rs.client_ip if rs is not None and rs.client_ip else None


def pick_spf(trusted: Trusted) -> Believed | None:
    spf = trusted.find("spf")
    with_mailfrom = [b for b in spf if b.result.get("smtp.mailfrom") or b.result.get("smtp.mail")]
    found = with_mailfrom or spf
    return found[0] if found else None


_IP = re.compile(r"(?:designates|sender IP is|client-ip=)\s*([0-9A-Fa-f:.]+[0-9A-Fa-f])", re.IGNORECASE)


def spf_domain(ev: Evidence) -> tuple[str, str, str | None]:
    """(domain SPF checked, how we know, result) from the AR spf result, else Received-SPF."""
    b = pick_spf(ev.trusted)
    if b is not None:
        return _spf_identity(b)[2], "Authentication-Results", b.result.result
    if ev.trusted.received_spf is not None:
        rs = ev.trusted.received_spf[1]
        return domain_of(rs.envelope_from) or domain_of(rs.helo), "Received-SPF", rs.result
    return "", "", None


_SPF_STATUS = {
    "pass": Status.PASS, "fail": Status.FAIL, "hardfail": Status.FAIL, "softfail": Status.WARN,
    "neutral": Status.WARN, "none": Status.WARN, "temperror": Status.ERROR, "permerror": Status.FAIL,
    "policy": Status.WARN,
}


def spf_card(ev: Evidence) -> CheckResult:
    t = ev.trusted
    b = pick_spf(t)
    rs: ReceivedSpf | None = t.received_spf[1] if t.received_spf else None
    detail = _base_detail(b, t)
    if b is not None:
        mailfrom, helo, dom = _spf_identity(b)
        result = b.result.result
        source = "Authentication-Results"
    elif rs is not None:
        mailfrom, helo = rs.envelope_from or "", rs.helo or ""
        dom = domain_of(mailfrom) or domain_of(helo)
        result = rs.result
        source = "Received-SPF"
        detail.update(result=result, header=t.received_spf[0].text if t.received_spf else None,
                      comment=rs.comment)
    else:
        detail.update(from_domain=ev.from_domain, source=None)
        return CheckResult("spf", Status.INFO, "The receiving service did not report an SPF result.",
                           findings=[_f("msg.spf-not-reported", Severity.INFO,
                                        "The receiving service didn't say whether SPF passed.", "", RFC_AR)],
                           detail=detail)
    ip = None
    for text in (b.result.comment if b else None, rs.comment if rs else None):
        m = _IP.search(text or "")
        if m:
            ip = m.group(1)
            break
    if ip is None and rs is not None:
        ip = rs.client_ip
    mode = ev.dmarc.aspf
    aligned = ev.aligned(dom, mode)
    dkim_carries = _aligned_dkim_pass(ev)
    detail.update(source=source, mailfrom=mailfrom or None, mailfrom_domain=dom or None, helo=helo or None,
                  client_ip=ip, from_domain=ev.from_domain or None, aligned=aligned if dom else None,
                  alignment_mode="strict" if mode == "s" else "relaxed",
                  alignment=spf_alignment_words(ev, dom, result, mode), org_domain_method=ev.org_method,
                  received_spf=rs.to_json() if rs else None,
                  receiver_said=receiver_said(b.result) if b is not None else (
                      f"spf={result}" + (f" ({rs.comment[:200]})" if rs is not None and rs.comment else "")))
    findings: list[Finding] = []
    status = _SPF_STATUS.get(result, Status.INFO)
    name = dom or "the sender's domain"
    if result == "pass":
        if dom and ev.from_domain and not aligned:
            findings.append(_f(
                "msg.spf-not-aligned", Severity.INFO if dkim_carries else Severity.WARNING,
                f"SPF passed for {dom}, but your readers see {ev.from_domain} in From, and "
                + (f"your DMARC record asks for strict SPF alignment (aspf=s), which only a bounce address at "
                   f"{ev.from_domain} itself meets (or relax it to aspf=r)"
                   if mode == "s" and ev.aligned(dom, "r") else "the two don't belong together")
                + ", so SPF doesn't count toward DMARC."
                + (" DKIM covers it here." if dkim_carries else
                   " With no aligned DKIM signature either, DMARC fails."),
                f"MAIL FROM domain {dom} (organizational domain {ev.org(dom)}) vs From domain "
                f"{ev.from_domain} (organizational domain {ev.org(ev.from_domain)}), "
                f"{'strict' if mode == 's' else 'relaxed'} alignment.", RFC_DMARC_ALIGN))
            summary = f"SPF passed for {dom}, which is not your From domain {ev.from_domain}."
        else:
            if aligned and dom == ev.from_domain:
                summary = f"SPF passed for {name}, the domain in your From address."
            elif aligned:
                summary = (f"SPF passed for {name}, which belongs to your From domain {ev.from_domain}, so it "
                           "counts for DMARC.")
            else:
                summary = f"SPF passed for {name}."
    elif result in ("fail", "hardfail"):
        findings.append(_f("msg.spf-fail", Severity.ERROR,
                           f"SPF failed: the server that delivered this message is not on {name}'s list of "
                           "allowed senders. Add the sending service to your SPF record.",
                           _cmt(b, rs), RFC_SPF))
        summary = f"SPF failed for {name}."
    elif result == "softfail":
        findings.append(_f("msg.spf-softfail", Severity.WARNING,
                           f"SPF soft-failed: {name}'s SPF record doesn't list the server that sent this "
                           "message, and asks receivers to be suspicious rather than reject it.",
                           _cmt(b, rs), RFC_SPF))
        summary = f"SPF soft-failed for {name}."
    elif result == "neutral":
        findings.append(_f("msg.spf-neutral", Severity.WARNING,
                           f"SPF gave no verdict: {name}'s SPF record neither allows nor forbids the sending "
                           "server, so SPF didn't help this message.", _cmt(b, rs), RFC_SPF))
        summary = f"SPF gave no verdict (neutral) for {name}."
    elif result == "none":
        findings.append(_f("msg.spf-none", Severity.WARNING,
                           f"{name} has no SPF record, so the receiver had nothing to check the sending server "
                           "against.", _cmt(b, rs), "RFC 7208 §2.6.1"))
        summary = f"No SPF record for {name}."
    elif result == "temperror":
        findings.append(_f("msg.spf-temperror", Severity.UNKNOWN,
                           "The receiver couldn't check SPF because of a temporary DNS problem; it may have "
                           "been a passing glitch, or your DNS may be slow to answer.", _cmt(b, rs),
                           "RFC 7208 §2.6.6"))
        summary = "The receiver couldn't check SPF (temporary error)."
    elif result == "permerror":
        findings.append(_f("msg.spf-permerror", Severity.ERROR,
                           f"{name}'s SPF record is broken (for example too many lookups or a syntax error), "
                           "so receivers treat SPF as failed. Run the domain check to see what to fix.",
                           _cmt(b, rs), "RFC 7208 §2.6.7"))
        summary = f"SPF record of {name} is broken (permerror)."
    elif result == "policy":
        findings.append(_f("msg.spf-policy", Severity.WARNING,
                           "The receiver set the SPF result aside because of its own local policy.",
                           _cmt(b, rs), RFC_AR))
        summary = "The receiver applied a local policy instead of the SPF result."
    else:
        summary = f"The receiver wrote an SPF result we don't know: '{result[:40]}'."
    if ev.spf_own is not None:
        own = ev.spf_own
        detail["our_check"] = {k: own.get(k) for k in ("ip", "ip_source", "received_by", "said_ip", "domain", "result",
                                                         "mechanism", "explanation", "forwarded")}
        fwd = own.get("forwarded")
        if fwd and result in ("fail", "hardfail", "softfail", "neutral"):
            findings = [f for f in findings if f.code not in ("msg.spf-fail", "msg.spf-softfail", "msg.spf-neutral")]
            findings.append(_spf_forwarded(name, own, fwd, dkim_carries, b, rs))
        if fwd and fwd.get("recipient_changed") and result in ("fail", "hardfail", "softfail", "neutral"):
            status = Status.INFO if dkim_carries else Status.WARN
            said = {"softfail": "soft-failed", "neutral": "gave no verdict"}.get(result, "failed")
            summary = (f"SPF {said} for {name} because the message was forwarded: "
                       + ("DKIM carried it, as it should." if dkim_carries else "only DKIM can carry forwarded mail."))
        findings.extend(_spf_own_findings(ev, own))
        if ev.spf_contradicted:
            summary = (f"The receiver says SPF passed for {name}, but {name}'s SPF record doesn't allow "
                       f"{own['ip']}, the server that delivered it.")
    status = worst(status, derive_status(findings))
    return CheckResult("spf", status, summary, findings=findings, detail=detail)


def _spf_forwarded(name: str, own: dict[str, Any], fwd: dict[str, Any], dkim_carries: bool, b: Believed | None,
                   rs: ReceivedSpf | None) -> Finding:
    """SPF failed for the server that delivered the message, but an older hop's address passes the domain's
    record (``message._earlier_pass``). With the envelope recipient changed on the way it was forwarded:
    adding the forwarder is not the fix. Without that sign it may as well be the sender's own outbound
    gateway, which does belong in the record: the finding says both and keeps its weight."""
    relay = f"{fwd['relay']} ({own['ip']})" if fwd.get("relay") and fwd["relay"] != own["ip"] else str(own["ip"])
    by = f" (the Received line by {fwd['received_by']} says so)" if fwd.get("received_by") else ""
    detail = _cmt(b, rs)
    detail = (detail + " " if detail else "") + f"Our own check: check_host({fwd['ip']}, {name}) = pass."
    if not fwd.get("recipient_changed"):
        return _f("msg.spf-relayed", Severity.ERROR if own.get("receiver_result") in ("fail", "hardfail") else
                  Severity.WARNING,
                  f"SPF didn't pass: the message reached the receiver from {relay}, which {name}'s SPF record doesn't "
                  f"list, after it left {fwd['ip']}, which the record does allow{by}. If {relay} is your own "
                  "outbound gateway or sending service, add it to your SPF record. If it is a forwarder (an alias, "
                  "a mailing list, a mailbox that passes mail on), don't: forwarding always breaks SPF, and only "
                  "DKIM can carry forwarded mail.", detail, RFC_SPF)
    first = f" to {fwd['first_recipient']}" if fwd.get("first_recipient") else ""
    text = (f"SPF didn't pass because the message was forwarded: it left {fwd['ip']}, which {name}'s SPF record "
            f"allows, addressed{first}{by}, and reached this mailbox from {relay}, which is not {name}'s server. "
            "Forwarding (an alias, a mailing list, a mailbox that passes mail on) always breaks SPF, so don't add "
            "the forwarding server to your SPF record: it isn't yours, and it would let it send as you. ")
    if dkim_carries:
        text += "Your DKIM signature passed and carried DMARC, which is what it is for: nothing to fix."
    else:
        text += ("Forwarded mail can pass DMARC only through DKIM: sign your mail with DKIM for your own domain, "
                 "and check that nothing on the way changes the message.")
    return _f("msg.spf-forwarded", Severity.INFO if dkim_carries else Severity.WARNING, text, detail, RFC_SPF)


def _spf_own_findings(ev: Evidence, own: dict[str, Any]) -> list[Finding]:
    """Where our own SPF check for the receiver's address disagrees with the receiver's result."""
    dom, ip, ours, theirs = own["domain"], own["ip"], own["result"], own["receiver_result"]
    where = ("the server the receiver's own Received line says delivered this message"
             if own["ip_source"] == "received" else "the server the receiver's header names")
    said = own.get("said_ip")
    also = (f" The header's own words name {said}, not {ip}." if said and own["ip_source"] == "received"
            and said != ip else "")
    detail = f"check_host({ip}, {dom}) = {ours}" + (f": {own['explanation']}" if own.get("explanation") else "")
    if ev.spf_contradicted:
        return [_f("msg.spf-contradicted", Severity.WARNING,
                   f"The receiver's header says SPF passed for {dom}, but {dom}'s SPF record does not allow {ip}, "
                   f"{where} (our own check: {ours}). Either the record changed after the message arrived, or "
                   "this verdict header wasn't written by the receiver: a sender can write one to look genuine."
                   + also, detail, RFC_SPF)]
    if theirs in ("fail", "hardfail", "softfail") and ours == "pass":
        return [_f("msg.spf-disagree", Severity.INFO,
                   f"The receiver says SPF {theirs}ed for {dom}, but {dom}'s SPF record allows {ip} now: the record "
                   "was probably fixed after the message arrived.", detail, RFC_SPF)]
    return []


def _cmt(b: Believed | None, rs: ReceivedSpf | None) -> str:
    c = (b.result.comment if b else None) or (rs.comment if rs else None)
    return f"The receiver wrote: {c}" if c else ""


def spf_alignment_words(ev: Evidence, dom: str, result: str, mode: str) -> str:
    if not ev.from_domain:
        return "The message has no readable From domain, so SPF alignment can't be judged."
    if not dom:
        return "The receiver didn't say which domain SPF checked, so SPF alignment can't be judged."
    rel = "the same domain" if mode == "s" else "part of the same organization"
    if ev.aligned(dom, mode):
        how = ("the same domain" if dom == ev.from_domain else
               f"part of the same organization ({ev.org(dom)})")
        verdict = "so a passing SPF counts for DMARC" if result == "pass" else \
            f"but SPF didn't pass ({result}), so it doesn't help DMARC"
        return (f"SPF checked the bounce address domain {dom}; readers see {ev.from_domain} in From. "
                f"They are {how}, {verdict}.")
    if mode == "s" and ev.aligned(dom, "r"):
        return (f"SPF checked the bounce address domain {dom}; readers see {ev.from_domain} in From. They belong "
                f"to the same organization ({ev.org(dom)}), but your DMARC record asks for strict SPF alignment "
                f"(aspf=s), so only {ev.from_domain} itself counts and SPF can't count for DMARC whatever its result. "
                f"Use a bounce address at {ev.from_domain}, or relax it to aspf=r.")
    return (f"SPF checked the bounce address domain {dom}; readers see {ev.from_domain} in From. "
            f"They are not {rel} ({ev.org(dom)} vs {ev.org(ev.from_domain)}), so SPF can't count for DMARC "
            f"whatever its result. That is normal when a sending service uses its own bounce domain; "
            f"DMARC then depends on DKIM.")


# -- DKIM ------------------------------------------------------------------------------------------


def dkim_result_domain(r: MethodResult) -> str:
    """The signing domain a ``dkim`` result names (``header.d``, else the domain of ``header.i``)."""
    return domain_of(r.get("header.d")) or domain_of(r.get("header.i"))


def match_signatures(dkim_results: list[Believed], sigs: list[Signature]) -> dict[int, int]:
    """Receiver result index → signature index (``trust.match_signature`` for each result in turn)."""
    out: dict[int, int] = {}
    used: set[int] = set()
    tags = [s.tags for s in sigs]
    for ri, b in enumerate(dkim_results):
        si = match_signature(b.result, tags, used)
        if si is not None:
            out[ri] = si
            used.add(si)
    return out


def _aligned_dkim_pass(ev: Evidence) -> bool:
    mode = ev.dmarc.adkim
    for b in ev.trusted.find("dkim"):
        if b.result.result == "pass" and ev.aligned(dkim_result_domain(b.result), mode):
            return True
    return False


_OWN_CODES = {
    "body-changed": "msg.dkim-body-changed", "header-changed": "msg.dkim-header-changed",
    "key-missing": "msg.dkim-key-missing", "key-revoked": "msg.dkim-key-revoked",
    "key-invalid": "msg.dkim-key-invalid", "key-unreachable": "msg.dkim-key-unreachable",
    "weak-key": "msg.dkim-weak-key", "sha1": "msg.dkim-sha1", "expired": "msg.dkim-expired",
    "future-timestamp": "msg.dkim-future-timestamp", "malformed": "msg.dkim-malformed",
    "unsupported-algorithm": "msg.dkim-malformed", "unreadable-message": "msg.dkim-unreadable-message",
}


def dkim_card(ev: Evidence) -> CheckResult:
    t = ev.trusted
    results = t.find("dkim")
    mode = ev.dmarc.adkim
    matches = match_signatures(results, ev.sigs)
    by_sig = {si: ri for ri, si in matches.items()}
    rows: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for sig in ev.sigs:
        own = ev.own[sig.index] if sig.index < len(ev.own) else None
        ri = by_sig.get(sig.index)
        rr = results[ri].result if ri is not None else None
        row: dict[str, Any] = sig.to_json()
        row.update(result=rr.result if rr else None, receiver_result=rr.result if rr else None, receiver_comment=rr.comment if rr else None,
                   aligned=ev.aligned(sig.d, mode), our_result=own.result if own else None,
                   our_reason=own.reason if own else None, our_explanation=own.explanation if own else None,
                   our_detail=own.detail if own else None, body_hash_ok=own.body_hash_ok if own else None,
                   key_bits=own.key_bits if own else None, suspects=own.suspects if own else [],
                   agree=_agree(rr.result if rr else None, own))
        rows.append(row)
        findings.extend(_own_findings(ev, sig, rr, own))
    for ri, b in enumerate(results):
        if ri in matches:
            continue
        d = dkim_result_domain(b.result)
        rows.append({"index": None, "result": b.result.result, "d": d or None, "s": b.result.get("header.s"), "a": b.result.get("header.a"),
                     "receiver_result": b.result.result, "receiver_comment": b.result.comment,
                     "aligned": ev.aligned(d, mode) if d else None, "our_result": None, "our_reason": None,
                     "our_explanation": ("The receiver reported this signature but we don't see it in the "
                                         "message." if d else None), "agree": None})

    detail = _base_detail(results[0] if results else None, t)
    receiver_results = [b.result.result for b in results]
    passing = [b for b in results if b.result.result == "pass"]
    aligned_pass = [b for b in passing if ev.aligned(dkim_result_domain(b.result), mode)]
    result_word = "pass" if passing else (receiver_results[0] if receiver_results else None)
    not_passing = [b for b in results if b.result.result != "pass"]
    said = receiver_said(not_passing[0].result) if not_passing and not aligned_pass else ""
    detail.update(result=result_word, results=receiver_results, signatures=rows, receiver_said=said or None,
                  from_domain=ev.from_domain or None, aligned_pass=bool(aligned_pass),
                  alignment_mode="strict" if mode == "s" else "relaxed",
                  alignment=dkim_alignment_words(ev, results, mode), reverified=ev.reverified,
                  org_domain_method=ev.org_method)
    if ev.sigs and not ev.reverified and ev.own:
        findings.append(_f("msg.dkim-not-reverified", Severity.INFO, ev.own[0].explanation,
                           f"reason: {ev.own[0].reason}", RFC_DKIM))
    for b in t.unmatched_dkim:
        d = dkim_result_domain(b.result)
        if b.result.result != "pass":
            continue
        none_at_all = not ev.sigs
        findings.append(_f(
            "msg.dkim-pass-without-signature", Severity.WARNING,
            f"The receiver's header says DKIM passed{' for ' + d if d else ''}, but the message carries no DKIM "
            f"signature{'' if none_at_all or not d else ' from ' + d}: there was nothing to verify, so that result "
            "is not believed. Either this header wasn't written by the receiver (a sender can write one to look "
            "genuine), or not all of the message's header lines were given.",
            f"The receiver wrote: {receiver_said(b.result)}; DKIM-Signature headers in the message: {len(ev.sigs)}",
            RFC_DKIM))

    if not results:
        if not ev.sigs:
            findings.append(_f("msg.dkim-none", Severity.WARNING,
                               "The message has no DKIM signature. Sign your mail with DKIM (your sending "
                               "service can do it for your domain) so receivers can trust it.", "", RFC_DKIM))
            status, summary = Status.WARN, "The message is not DKIM-signed."
        else:
            findings.append(_f("msg.dkim-not-reported", Severity.INFO,
                               "The receiving service didn't report a DKIM result.", "", RFC_AR))
            status, summary = Status.INFO, "The receiving service did not report a DKIM result."
            own_pass = [s for s in ev.sigs if ev.own and ev.own[s.index].result == "pass"]
            if own_pass:
                summary += f" Our own check: {len(own_pass)} of {len(ev.sigs)} signature(s) verify."
    elif aligned_pass:
        doms = sorted({dkim_result_domain(b.result) for b in aligned_pass})
        status, summary = Status.PASS, f"DKIM passed for {', '.join(doms)}, matching your From domain."
    elif passing:
        doms = sorted({dkim_result_domain(b.result) or "an unnamed domain" for b in passing})
        strict_only = ev.dmarc.adkim == "s" and bool(ev.from_domain) and any(
            ev.aligned(d, "r") for d in doms)
        todo = (f" Your DMARC record asks for strict DKIM alignment (adkim=s): sign with exactly "
                f"d={ev.from_domain}, or relax it to adkim=r." if strict_only else
                " Set up DKIM signing with your own domain at your sending service.")
        findings.append(_f("msg.dkim-not-aligned", Severity.WARNING,
                           f"DKIM passed, but only for {', '.join(doms)}, not for your From domain "
                           f"{ev.from_domain or '(unknown)'}, so it doesn't count toward DMARC." + todo,
                           f"DKIM d= {', '.join(doms)} vs From {ev.from_domain}, "
                           f"{'strict' if ev.dmarc.adkim == 's' else 'relaxed'} alignment.", RFC_DMARC_ALIGN))
        status, summary = Status.WARN, f"DKIM passed for {', '.join(doms)}, which is not your From domain."
    else:
        kinds = set(receiver_results)
        if kinds <= {"none", ""}:
            findings.append(_f("msg.dkim-none", Severity.WARNING,
                               "The receiver found no DKIM signature it could use. Sign your mail with DKIM "
                               "(your sending service can do it for your domain).", "", RFC_DKIM))
            status, summary = Status.WARN, "The receiver saw no DKIM signature."
        elif "temperror" in kinds and not kinds & {"fail", "permerror", "policy", "neutral"}:
            findings.append(_f("msg.dkim-temperror", Severity.UNKNOWN,
                               "The receiver couldn't check DKIM because of a temporary DNS problem fetching "
                               "the key.", "", RFC_DKIM))
            status, summary = Status.ERROR, "The receiver couldn't check DKIM (temporary error)."
        else:
            words = "; ".join(receiver_said(b.result) for b in results)
            if not any(f.severity is Severity.ERROR for f in findings):
                findings.append(_f("msg.dkim-fail", Severity.ERROR,
                                   "DKIM failed: the signature didn't verify at the receiver, so it can't "
                                   f"vouch for your domain. The receiver wrote: {said or words}.",
                                   f"The receiver wrote: {words}", RFC_DKIM))
            doms = sorted({dkim_result_domain(b.result) for b in results} - {""})
            why = f" (the receiver wrote: {said})" if said else ""
            status, summary = Status.FAIL, (f"DKIM failed for {', '.join(doms)}{why}." if doms else
                                            f"DKIM failed{why}.")
    status = worst(status, derive_status(findings))
    return CheckResult("dkim", status, summary, findings=findings, detail=detail)


def _agree(receiver: str | None, own: OwnCheck | None) -> bool | None:
    if receiver is None or own is None or own.result == "not-checked":
        return None
    r = "pass" if receiver == "pass" else "fail"
    o = "pass" if own.result == "pass" else "fail"
    if own.result == "temperror":
        return None
    return r == o


def _own_findings(ev: Evidence, sig: Signature, rr: MethodResult | None, own: OwnCheck | None) -> list[Finding]:
    out: list[Finding] = []
    who = sig.d or "the signer"
    if sig.length is not None:
        extra = ""
        if own and own.body_length is not None and own.body_length > sig.length:
            extra = (f" Here {own.body_length - sig.length} bytes follow the signed part: content was "
                     "appended after signing.")
        out.append(_f("msg.dkim-length-limit", Severity.WARNING,
                      f"The signature from {who} covers only the first {sig.length} bytes of the body (l=), so "
                      "anyone can append text to the message without breaking it. Turn the body-length "
                      "option off at your signer." + extra, f"l={sig.length}", RFC_L))
    if own is not None and own.result == "not-checked" and own.reason in ("key-too-large", "out-of-time"):
        # bounded on purpose (a hostile key or message): say so, never a silent gap
        sev = Severity.WARNING if own.reason == "key-too-large" else Severity.INFO
        out.append(_f("msg.dkim-key-too-large" if own.reason == "key-too-large" else "msg.dkim-not-reverified",
                      sev, own.explanation, own.detail or f"reason: {own.reason}", RFC_DKIM))
        return out
    if own is None or own.result in ("pass", "not-checked"):
        if own is not None and own.result == "pass" and rr is not None and rr.result not in ("pass", ""):
            out.append(_f("msg.dkim-disagree", Severity.INFO,
                          f"The receiver says the signature from {who} {rr.result}ed, but it verifies for us now. "
                          "The key may have been published or fixed after the message arrived, or the receiver "
                          "saw a different copy.", f"receiver: {rr.result}; ours: pass", RFC_DKIM))
        return out
    code = _OWN_CODES.get(own.reason, "msg.dkim-fail")
    receiver_passed = rr is not None and rr.result == "pass"
    if own.reason in ("sha1", "weak-key"):
        sev = Severity.WARNING
    elif own.reason == "key-unreachable":
        sev = Severity.INFO
    elif receiver_passed:
        sev = Severity.INFO
    elif rr is None:
        sev = Severity.WARNING
    else:
        sev = Severity.ERROR
    message = own.explanation
    if receiver_passed:
        message = (f"The receiver accepted the signature from {who}, but we can't confirm it now. "
                   + _disagree_why(own))
    elif rr is not None:
        said = receiver_said(rr)
        message = f"DKIM failed for {who}. {own.explanation}" + (f" (The receiver wrote: {said}.)"
                                                                 if said != f"dkim={rr.result}" else "")
    out.append(_f(code, sev, message, own.detail, RFC_DKIM))
    return out


def _disagree_why(own: OwnCheck) -> str:
    if own.reason == "key-missing":
        return "The key is not in DNS any more: it was most likely rotated or removed after delivery."
    if own.reason == "body-changed":
        return ("The body we have differs from what was signed; the copy we read was probably altered after "
                "delivery (by a mail client, a forward or copy-and-paste), not in transit.")
    if own.reason == "header-changed":
        return "A signed header in our copy differs from what was signed: " + own.explanation
    if own.reason == "expired":
        return "The signature has expired (x=) since then; that is expected when checking later."
    return own.explanation


def dkim_alignment_words(ev: Evidence, results: list[Believed], mode: str) -> str:
    if not ev.from_domain:
        return "The message has no readable From domain, so DKIM alignment can't be judged."
    doms = [d for d in dict.fromkeys(dkim_result_domain(b.result) for b in results) if d]
    if not doms:
        doms = list(dict.fromkeys(s.d for s in ev.sigs if s.d))
    if not doms:
        return f"No DKIM signature names a domain, so nothing can align with {ev.from_domain}."
    parts = []
    for d in doms:
        if ev.aligned(d, mode):
            how = "the same domain" if d == ev.from_domain else f"the same organization ({ev.org(d)})"
            parts.append(f"{d} signed and is {how} as the From domain {ev.from_domain}, so its signature counts "
                         "for DMARC when it passes")
        else:
            parts.append(f"{d} signed, but it is not {'the same domain as' if mode == 's' else 'part of'} "
                         f"{ev.from_domain if mode == 's' else ev.org(ev.from_domain)}, so its signature "
                         "can't count for DMARC")
    return "; ".join(parts) + "."


# -- DMARC -----------------------------------------------------------------------------------------

_POLICY_RE = re.compile(r"\b(p|sp|np|dis|pct)=([A-Za-z0-9]+)")
_DMARC_STATUS = {"pass": Status.PASS, "fail": Status.FAIL, "none": Status.WARN, "temperror": Status.ERROR,
                 "permerror": Status.FAIL, "bestguesspass": Status.WARN, "policy": Status.WARN}


def pick_dmarc(ev: Evidence) -> Believed | None:
    """The receiver's DMARC result about the From domain: one whose ``header.from`` is that domain, else one
    that names no domain. A result for another ``header.from`` is never the From domain's (RFC 9989 judges
    the domain in From): ``other_dmarc`` keeps it, and the card says so."""
    found = ev.trusted.find("dmarc")
    if not ev.from_domain:
        return found[0] if found else None
    for b in found:
        if domain_of(b.result.get("header.from")) == ev.from_domain:
            return b
    return next((b for b in found if not domain_of(b.result.get("header.from"))), None)


def other_dmarc(ev: Evidence) -> Believed | None:
    """A DMARC result of the receiver about a ``header.from`` that is not the message's From domain."""
    if not ev.from_domain:
        return None
    return next((b for b in ev.trusted.find("dmarc")
                 if domain_of(b.result.get("header.from")) not in ("", ev.from_domain)), None)


def our_dmarc(ev: Evidence) -> dict[str, Any]:
    """DMARC computed ourselves: aligned SPF pass (the receiver's SPF result) or aligned DKIM pass (our own
    re-verification where we did it, else the receiver's)."""
    dom, _, spf_result = spf_domain(ev)
    spf_ok = spf_result == "pass" and ev.aligned(dom, ev.dmarc.aspf) and not ev.spf_contradicted
    dkim_ok_doms: list[str] = []
    if ev.reverified:
        for s in ev.sigs:
            if ev.own[s.index].result == "pass" and ev.aligned(s.d, ev.dmarc.adkim):
                dkim_ok_doms.append(s.d)
    else:
        for b in ev.trusted.find("dkim"):
            d = dkim_result_domain(b.result)
            if b.result.result == "pass" and ev.aligned(d, ev.dmarc.adkim):
                dkim_ok_doms.append(d)
    aligned_by = (["spf"] if spf_ok else []) + [f"dkim:{d}" for d in dict.fromkeys(dkim_ok_doms)]
    if not ev.from_domain:
        result = "permerror"
    elif ev.dmarc.looked_up and ev.dmarc.failed:
        result = "temperror"
    elif ev.dmarc.looked_up and ev.dmarc.policy is None:
        result = "none"
    else:
        result = "pass" if aligned_by else "fail"
    return {"result": result, "aligned_by": aligned_by, "dkim_source": "ours" if ev.reverified else "receiver",
            "policy": ev.dmarc.policy, "record": ev.dmarc.record.raw if ev.dmarc.record else None,
            "record_domain": ev.dmarc.record_domain or None, "looked_up": ev.dmarc.looked_up}


def _would(result: str) -> str:
    """Our own DMARC count, to follow "it would": "pass", "fail", "not apply: ...", "stay unknown: ..."."""
    return {"none": "not apply: there is no DMARC policy for it",
            "temperror": "stay unknown: a DNS lookup it needs failed (see below)",
            "permerror": "fail: the DMARC record is broken (permerror)"}.get(result, result)


def _lookup_failed(ev: Evidence) -> Finding:
    """Our own policy discovery stopped on a DNS error (RFC 9989 §4.10.1: the policy is unknown, not absent)."""
    return _f("msg.dmarc-lookup-failed", Severity.UNKNOWN, ev.dmarc.failed,
              f"{ev.dmarc.failed_type} {ev.dmarc.failed_query}: lookup failed", "RFC 9989 §4.10.1")


def dmarc_card(ev: Evidence) -> CheckResult:
    b = pick_dmarc(ev)
    detail = _base_detail(b, ev.trusted)
    findings: list[Finding] = []
    findings.extend(from_findings(ev))
    ours = our_dmarc(ev)
    if ours["result"] == "temperror" and ev.dmarc.failed:  # only where our own count is what is shown
        failed = _lookup_failed(ev)
    else:
        failed = None
    policy: dict[str, str] = {}
    if b is not None:
        for k, v in _POLICY_RE.findall(b.result.comment or ""):
            policy.setdefault(k.lower(), v.lower())
        for key in ("policy.published-domain-policy", "policy.dmarc"):
            if b.result.get(key):
                policy.setdefault("p", (b.result.get(key) or "").lower())
        for key in ("action", "policy.applied-disposition", "policy.evaluated-disposition"):
            if b.result.get(key):
                policy.setdefault("dis", (b.result.get(key) or "").lower())
    dom, _, spf_result = spf_domain(ev)
    detail.update(from_domain=ev.from_domain or None, from_addresses=ev.from_addresses,
                  header_from=b.result.get("header.from") if b else None,
                  policy=policy.get("p") or ev.dmarc.policy, subdomain_policy=policy.get("sp"),
                  disposition=policy.get("dis"),
                  spf={"domain": dom or None, "result": spf_result, "aligned": ev.aligned(dom, ev.dmarc.aspf)
                       if dom else None},
                  dkim=[{"d": dkim_result_domain(x.result) or None, "result": x.result.result,
                         "aligned": ev.aligned(dkim_result_domain(x.result), ev.dmarc.adkim)}
                        for x in ev.trusted.find("dkim")],
                  alignment=dmarc_alignment_words(ev, ours), our_result=ours["result"], ours=ours,
                  receiver_said=receiver_said(b.result) if b is not None else None,
                  alignment_modes={"spf": ev.dmarc.aspf, "dkim": ev.dmarc.adkim},
                  org_domains={d: ev.org(d) for d in _domains(ev)}, org_domain_method=ev.org_method)
    other = other_dmarc(ev) if b is None else None
    if other is not None:
        od = domain_of(other.result.get("header.from"))
        fd = ev.from_domain
        detail.update(other_domain={"header_from": od, "result": other.result.result,
                                    "receiver_said": receiver_said(other.result), "header": other.field.text})
        findings.append(_f(
            "msg.dmarc-other-domain", Severity.WARNING,
            f"The receiver's DMARC result ({receiver_said(other.result)}) is about {od}, not {fd}, the domain in "
            f"this message's From, so it says nothing about {fd}: DMARC is judged for the From domain only. "
            "Either the From header was changed after the message arrived, or that result was written for "
            f"another message. By our own count, DMARC for {fd} would {_would(ours['result'])}"
            + (f" (aligned by {' and '.join(_via(ours['aligned_by']))})." if ours["aligned_by"] else
               f": nothing that passed belongs to {fd}."),
            f"header.from={od}; From: {fd}", RFC_DMARC_ALIGN))
        summary = (f"The receiver's DMARC result is about {od}, not {fd}. By our own count DMARC for {fd} "
                   f"would {_would(ours['result'])}.")
        status = worst(Status.WARN, _DMARC_STATUS.get(ours["result"], Status.INFO))
        if failed is not None:
            findings.append(failed)
        return CheckResult("dmarc", worst(status, derive_status(findings)), _from_summary(ev, findings) or summary,
                           findings=findings, detail=detail)
    if b is None:
        findings.append(_f("msg.dmarc-not-reported", Severity.INFO,
                           "The receiving service didn't report a DMARC result.", "", RFC_AR))
        status = Status.INFO
        summary = f"The receiving service did not report DMARC. By our own count it would {_would(ours['result'])}."
        if failed is not None:
            findings.append(failed)
            summary = (f"The receiving service did not report DMARC, and our own check couldn't finish: the lookup "
                       f"of {ev.dmarc.failed_query} failed.")
        return CheckResult("dmarc", worst(status, derive_status(findings)), _from_summary(ev, findings) or summary,
                           findings=findings, detail=detail)
    result = b.result.result
    status = _DMARC_STATUS.get(result, Status.INFO)
    fd = ev.from_domain or "your domain"
    dis = policy.get("dis")
    if result == "pass":
        via = " and ".join(_via(ours["aligned_by"])) or "an aligned SPF or DKIM result"
        summary = f"DMARC passed for {fd}" + (f" (by {via})." if ours["aligned_by"] else ".")
        if ours["result"] == "fail" and (ev.spf_contradicted or ev.dkim_unsigned_pass):
            summary = f"The receiver says DMARC passed for {fd}, but we can't confirm it."
    elif result == "fail":
        acted = {"reject": "rejected or would reject it", "quarantine": "sent it to spam (quarantine)",
                 "oreject": "would have rejected it but delivered it to spam instead"}.get(dis or "", "")
        findings.append(_f("msg.dmarc-fail", Severity.ERROR,
                           f"DMARC failed for {fd}: neither SPF nor DKIM passed for a domain that matches the "
                           "From address, so the receiver can't tell this message really comes from you."
                           + (f" Following your policy it {acted}." if acted else ""),
                           f"The receiver wrote: {b.result.comment or result}", RFC_DMARC))
        summary = f"DMARC failed for {fd}."
    elif result in ("none", "bestguesspass") and ev.dmarc.record is not None:
        # the receiver found none, our own lookup finds one now: never "you have no DMARC policy"
        now = ev.dmarc.record_domain or fd
        findings.append(_f("msg.dmarc-none", Severity.WARNING,
                           f"The receiver found no DMARC policy for {fd} when this message arrived, but {now} has "
                           f"one now (p={ev.dmarc.policy or ev.dmarc.record.p or 'none'}). It was probably published "
                           "after the message arrived (a DNS change takes up to its TTL to reach every receiver), "
                           "or the receiver couldn't read it then. Send a new test message to see it applied.",
                           f"The receiver wrote: dmarc={result}. Our lookup: {ev.dmarc.record.raw}"[:400], RFC_DMARC))
        summary = f"The receiver found no DMARC policy for {fd}; {now} has one now."
    elif result in ("none", "bestguesspass"):
        findings.append(_f("msg.dmarc-none", Severity.WARNING,
                           f"{fd} has no DMARC policy, so receivers decide alone what to do with mail that "
                           "claims to be from you. Publish a DMARC record (the domain check suggests one).",
                           f"The receiver wrote: dmarc={result}", RFC_DMARC))
        summary = f"No DMARC policy for {fd}."
    elif result == "temperror":
        findings.append(_f("msg.dmarc-temperror", Severity.UNKNOWN,
                           "The receiver couldn't check DMARC because of a temporary DNS problem.", "",
                           RFC_DMARC))
        summary = "The receiver couldn't check DMARC (temporary error)."
    elif result == "permerror":
        findings.append(_f("msg.dmarc-permerror", Severity.ERROR,
                           f"{fd}'s DMARC record is broken, so receivers can't apply it. Run the domain check "
                           "to see what to fix.", "", RFC_DMARC))
        summary = f"DMARC record of {fd} is broken (permerror)."
    else:
        summary = f"The receiver wrote a DMARC result we don't know: '{result[:40]}'."
    if policy.get("p") == "none" and result == "pass":
        findings.append(_f("msg.dmarc-policy-none", Severity.INFO,
                           f"DMARC passed, but {fd}'s policy is p=none (monitoring only): forged mail in your "
                           "name is not blocked yet.", "", RFC_DMARC))
    disagree = _dmarc_disagreement(ev, result, ours)
    if disagree:
        findings.append(disagree)
    status = worst(status, derive_status(findings))
    return CheckResult("dmarc", status, _from_summary(ev, findings, receiver_said(b.result)) or summary,
                       findings=findings, detail=detail)


def _from_summary(ev: Evidence, findings: list[Finding], said: str = "") -> str:
    """The DMARC card's summary when the From header keeps DMARC from judging the message (none, several, or
    one without an address): RFC 9989 judges one author domain, so a message without exactly one is not
    judged normally, and receivers reject or junk it. We count it as a failure, whatever the receiver wrote
    (its words are kept: ``said``). "" when the From header is fine."""
    code = next((f.code for f in findings if f.code in ("msg.no-from", "msg.multiple-from")), None)
    if code is None:
        return ""
    also = f" The receiver wrote {said}, which we don't count." if said else ""
    if code == "msg.multiple-from":
        doms = list(dict.fromkeys(d for f in ev.from_fields for d in (domain_of(a) for a in addresses(f.value)) if d))
        which = f" ({', '.join(doms)})" if doms else ""
        return (f"The message has {len(ev.from_fields)} From headers{which}, so DMARC can't judge it: we count "
                f"it as failing, as receivers reject or junk such mail.{also}")
    return f"The message has no usable From address, so DMARC can't judge it: we count it as failing.{also}"


def _via(aligned_by: list[str]) -> list[str]:
    return ["SPF" if a == "spf" else f"DKIM ({a.split(':', 1)[1]})" for a in aligned_by]


def _domains(ev: Evidence) -> list[str]:
    ds = [ev.from_domain, spf_domain(ev)[0]] + [s.d for s in ev.sigs] + \
        [dkim_result_domain(b.result) for b in ev.trusted.find("dkim")]
    return [d for d in dict.fromkeys(ds) if d]


def _dmarc_disagreement(ev: Evidence, result: str, ours: dict[str, Any]) -> Finding | None:
    mine = ours["result"]
    if result not in ("pass", "fail") or mine not in ("pass", "fail") or result == mine:
        return None
    if result == "pass" and (ev.spf_contradicted or ev.dkim_unsigned_pass):
        fd = ev.from_domain or "the From domain"
        reasons = []
        if ev.spf_contradicted and ev.spf_own is not None:
            reasons.append(f"SPF: {ev.spf_own['domain']}'s record doesn't allow {ev.spf_own['ip']}, the server that "
                           "delivered it")
        if ev.dkim_unsigned_pass:
            reasons.append("DKIM: the header reports a pass, but the message carries no signature for it")
        elif ev.reverified and ev.sigs and not any(o.result == "pass" for o in ev.own):
            reasons.append("DKIM: no signature of the message verifies for us")
        elif not ev.sigs:
            reasons.append("DKIM: the message is not signed")
        return _f("msg.dmarc-unconfirmed", Severity.WARNING,
                  f"The receiver's header says DMARC passed for {fd}, but we can't confirm it: "
                  + "; ".join(reasons) + f". Nothing we can check passes for {fd}, so treat this message as "
                  "unverified: either this verdict header wasn't written by the receiver (a sender can write one "
                  "to look genuine), or the records changed after the message arrived.",
                  f"aligned by: {ours['aligned_by'] or 'nothing'}", RFC_DMARC_ALIGN)
    if result == "pass":
        ours_failed = ev.reverified and any(o.result != "pass" for o in ev.own)
        strict = [n for n, m in (("SPF", ev.dmarc.aspf), ("DKIM", ev.dmarc.adkim)) if m == "s"]
        why = ("we find no aligned pass: "
               + ("our own DKIM check fails where the receiver's passed (see DKIM). " if ours_failed else "")
               + (f"{ev.dmarc.record_domain or ev.from_domain}'s DMARC record asks for strict "
                  f"{' and '.join(strict)} alignment ({', '.join(('aspf=s' if n == 'SPF' else 'adkim=s') for n in strict)}), "
                  "which only the From domain itself meets. " if strict and ev.dmarc.looked_up else "")
               + "The receiver may also have accepted the message on an ARC chain from a forwarder or a "
                 "local rule, or read an older DMARC record.")
    else:
        why = ("we find an aligned pass ("
               + ", ".join(_via(ours["aligned_by"])) + "). "
               + ("Our own DKIM check passes where the receiver's failed: the key may have been fixed or "
                  "published after the message arrived. " if ev.reverified else "")
               + ("The receiver may also use a stricter alignment than the relaxed default we assumed."
                  if not ev.dmarc.looked_up else ""))
    return _f("msg.dmarc-disagree", Severity.INFO,
              f"The receiver's DMARC verdict was {result}, but by our own count it would be {mine}: {why}",
              f"aligned by: {ours['aligned_by'] or 'nothing'}", RFC_DMARC_ALIGN)


def dmarc_alignment_words(ev: Evidence, ours: dict[str, Any]) -> str:
    if not ev.from_domain:
        return "The message has no readable From address, so DMARC can't be applied."
    dom, _, spf_result = spf_domain(ev)
    parts = [spf_alignment_words(ev, dom, spf_result or "", ev.dmarc.aspf) if dom else
             f"Readers see {ev.from_domain} in From; the receiver didn't say which domain SPF checked."]
    parts.append(dkim_alignment_words(ev, ev.trusted.find("dkim"), ev.dmarc.adkim))
    if ours["aligned_by"]:
        parts.append("DMARC passes when at least one of them is aligned and passes: here "
                     + " and ".join(_via(ours["aligned_by"])) + ".")
    else:
        parts.append("DMARC needs at least one of them to pass for a domain that matches the From domain; "
                     "here none does.")
    return " ".join(parts)


def from_findings(ev: Evidence) -> list[Finding]:
    out: list[Finding] = []
    if not ev.from_fields:
        out.append(_f("msg.no-from", Severity.ERROR,
                      "The message has no From header, so DMARC can't be applied and many receivers reject it.",
                      "", "RFC 5322 §3.6"))
    elif len(ev.from_fields) > 1:
        out.append(_f("msg.multiple-from", Severity.ERROR,
                      f"The message has {len(ev.from_fields)} From headers. Receivers reject such mail or "
                      "can't tell which sender to check; send exactly one.", "", "RFC 5322 §3.6, RFC 9989 §4.4"))
    elif not ev.from_domain:
        out.append(_f("msg.no-from", Severity.ERROR,
                      "The From header has no readable e-mail address, so DMARC can't be applied.", "",
                      "RFC 5322 §3.6.2"))
    doms = {domain_of(a) for a in ev.from_addresses} - {""}
    if len(doms) > 1:
        out.append(_f("msg.multiple-from-domains", Severity.WARNING,
                      f"The From header names addresses at {len(doms)} different domains; DMARC can't judge such "
                      "a message, and receivers may reject it.", ", ".join(sorted(doms)), "RFC 9989 §4.4"))
    return out


# -- ARC and compauth (information) -----------------------------------------------------------------


def arc_card(ev: Evidence, chain: list[dict[str, Any]]) -> CheckResult | None:
    found = ev.trusted.find("arc")
    if not found and not chain:
        return None
    b = found[0] if found else None
    detail = _base_detail(b, ev.trusted)
    detail.update(chain=chain)
    n = len({c.get("i") for c in chain})
    if b is None:
        summary = f"The message carries an ARC chain of {n} hop(s); the receiver didn't report an ARC verdict."
    elif b.result.result == "pass":
        summary = (f"The ARC chain ({n} hop(s)) checked out: forwarders on the way vouch for the results "
                   "they saw.")
    elif b.result.result == "none":
        summary = "No ARC chain: the message was not forwarded through an ARC-sealing service."
    else:
        summary = f"The ARC chain did not check out ({b.result.result}); forwarders' results can't be relied on."
    return CheckResult("arc", Status.INFO, summary, detail=detail)


# Microsoft's reason codes (learn.microsoft.com, "Anti-spam message headers", compauth): the first match wins
_COMPAUTH_RANGES = [
    ("000", "the message failed DMARC and the domain's policy is reject or quarantine"),
    ("001", "the message failed implicit authentication (the domain has no DMARC policy that would let it "
            "pass)"),
    ("002", "the receiving organization has a rule that forbids this sender to send as this domain"),
    ("010", "the message failed DMARC with a reject or quarantine policy, and the From domain is one of the "
            "receiving organization's own domains"),
    ("0", "the message failed Microsoft's composite authentication"),
    ("130", "the message passed through a trusted ARC sealer's results, which overrode a DMARC failure"),
    ("1", "the message passed (explicitly or implicitly authenticated)"),
    ("2", "the message soft-passed (not fully authenticated, but not treated as spoofing)"),
    ("3", "the message was not checked for composite authentication"),
    ("4", "the message bypassed composite authentication (an organization rule or allow list)"),
    ("6", "the message failed implicit authentication, and the From domain is one of the receiving "
          "organization's own domains (spoofing from inside)"),
    ("7", "the message passed (explicitly or implicitly authenticated)"),
    ("9", "the message bypassed composite authentication"),
]


def compauth_card(ev: Evidence) -> CheckResult | None:
    found = ev.trusted.find("compauth")
    if not found:
        return None
    b = found[0]
    detail = _base_detail(b, ev.trusted)
    code = (b.result.reason or "").strip()
    meaning = next((m for prefix, m in _COMPAUTH_RANGES if code.startswith(prefix)), None) if code else None
    detail.update(reason_code=code or None, meaning=meaning)
    result = b.result.result
    status = {"pass": Status.PASS, "fail": Status.FAIL, "softpass": Status.WARN}.get(result, Status.INFO)
    findings: list[Finding] = []
    if result == "fail":
        findings.append(_f("msg.compauth-fail", Severity.ERROR,
                           "Microsoft's composite authentication failed: Microsoft 365 / Outlook.com treats "
                           "this message as possibly spoofed" + (f" ({meaning})." if meaning else "."),
                           f"compauth={result} reason={code}", "Microsoft compauth"))
    elif result == "softpass":
        findings.append(_f("msg.compauth-softpass", Severity.WARNING,
                           "Microsoft only soft-passed this message: it couldn't fully confirm it comes from "
                           "your domain.", f"compauth={result} reason={code}", "Microsoft compauth"))
    summary = f"Microsoft composite authentication: {result or 'no result'}" + (f" ({meaning})." if meaning else ".")
    return CheckResult("compauth", worst(status, derive_status(findings)), summary, findings=findings,
                       detail=detail)


# -- the whole message -------------------------------------------------------------------------------

AUTH_CARDS = ("spf", "dkim", "dmarc")
_NO_RECEIVER = {"msg.no-auth-results", "msg.auth-results-unreadable", "msg.auth-results-below-outsider",
                "msg.auth-results-unbacked", "msg.internal-error"}


def _said(card: CheckResult | None) -> str:
    """What the receiver wrote for a card's method, with its own reason text: ``dkim=fail (body hash did
    not verify)``; "" when it wrote nothing."""
    if card is None:
        return ""
    return str(card.detail.get("receiver_said") or "")


def _dkim_broke_words(dkim: CheckResult) -> str:
    """Why the DKIM signature broke, in a receiver's terms (body, headers, key), for the headline."""
    said = _said(dkim).lower()
    rows = [r for r in dkim.detail.get("signatures") or [] if isinstance(r, dict)]
    ours = {str(r.get("our_reason") or "") for r in rows}
    if "body hash" in said or "body-changed" in ours:
        return "something changed the body in transit, or signing is misconfigured"
    if "key" in said and ("not found" in said or "no key" in said or "missing" in said) or "key-missing" in ours:
        return "the signing key isn't published where the signature says, so signing is misconfigured"
    return "something changed the message in transit, or signing is misconfigured"


def message_verdict(checks: dict[str, CheckResult]) -> tuple[Status, str]:
    """The verdict on a whole received message and its headline, DMARC first.

    1. Nobody to believe (no Authentication-Results header of the receiving service): couldn't check.
    2. DMARC, as the receiver reported it (else our own count: ``detail["our_result"]``):
       - ``fail`` or ``permerror``: fail;
       - ``temperror``: couldn't check;
       - ``none`` (no DMARC policy): a warning when SPF or DKIM passed for the From domain, else fail;
       - ``pass``: pass, unless SPF or DKIM did not pass cleanly (a broken DKIM signature, an SPF fail, no
         signature at all): then a warning that says which side broke and what the receiver wrote; and
         never a pass that our own checks contradict (``msg.dmarc-unconfirmed``: the header's SPF pass is
         not what the domain's record says for the address the receiver's Received line names, or its DKIM
         pass is for a signature the message doesn't carry, and nothing else of ours passes): a warning
         headed "Not confirmed".
    3. Then the rest (delivery format, content, compauth, reverse DNS, ..., and a warning on the SPF or DKIM
       card the sentence doesn't name, such as a DKIM l= that lets anyone append text): a problem there turns
       a pass into a warning, never into a failure; a side check that could not run (our own DKIM re-check, reverse
       DNS) never makes the message "couldn't check": its own card says so.
    A From header that is missing or doubled is a failure whatever DMARC says (DMARC can't apply)."""
    spf, dkim, dmarc = (checks.get(n) for n in AUTH_CARDS)
    if dmarc is None or any(f.code in _NO_RECEIVER for f in dmarc.findings):
        why = dmarc.summary if dmarc is not None else "There is nothing to judge."
        return Status.ERROR, f"This message couldn't be judged: {_lower_first(why)}"
    fd = display_domain(str(dmarc.detail.get("from_domain") or "your domain"))
    if any(f.code in ("msg.no-from", "msg.multiple-from") for f in dmarc.findings):
        first = next(f for f in dmarc.findings if f.code in ("msg.no-from", "msg.multiple-from"))
        return Status.FAIL, f"The message failed authentication: {_lower_first(first.message)}"
    result = dmarc.detail.get("result")
    ours = not result
    if ours:
        result = dmarc.detail.get("our_result")
    other = dmarc.detail.get("other_domain")
    other_dom = str(other.get("header_from") or "") if isinstance(other, dict) else ""
    not_reported = (f"the receiver's DMARC result was about {other_dom}, not {fd}" if other_dom else
                    "the receiver didn't report DMARC")
    by_us = f" (by our own count: {not_reported})" if ours else ""
    spf_pass = spf is not None and spf.detail.get("result") == "pass"
    spf_aligned = spf_pass and spf is not None and spf.detail.get("aligned") is True
    dkim_aligned = dkim is not None and bool(dkim.detail.get("aligned_pass"))
    if result in ("fail", "permerror"):
        sides = []
        for name, card in (("SPF", spf), ("DKIM", dkim)):
            words = _said(card) or (f"{name.lower()}={card.detail.get('result')}" if card is not None
                                    and card.detail.get("result") else f"{name} not reported")
            sides.append(words)
        what = ("your DMARC record is broken (permerror)" if result == "permerror" else
                f"neither SPF nor DKIM passed for {fd}, the domain in From")
        return Status.FAIL, f"The message failed DMARC{by_us}: {what}. The receiver wrote: {'; '.join(sides)}."
    if result == "temperror" and ours:
        failed = next((f for f in dmarc.findings if f.code == "msg.dmarc-lookup-failed"), None)
        why = (failed.message if failed is not None else
               f"the DNS lookup of {fd}'s DMARC policy failed. Try again later.")
        return Status.ERROR, (f"{_upper_first(not_reported)}, and we couldn't finish our own DMARC check: "
                              f"{_lower_first(why)}")
    if result == "temperror":
        return Status.ERROR, ("The receiver couldn't check DMARC (a temporary DNS problem), so this message's "
                              "authentication couldn't be judged; try again.")
    if result in ("none", "bestguesspass"):
        found_now = not ours and isinstance(dmarc.detail.get("ours"), dict) and bool(dmarc.detail["ours"].get("record"))
        if found_now:  # the receiver found none; our lookup finds one now
            no_policy, publish = (f"the receiver found no DMARC policy for {fd} (there is one now: send a new test "
                                  "message)", "")
        else:
            no_policy, publish = f"{fd} has no DMARC policy{by_us}", " Publish a DMARC record."
        if spf_aligned or dkim_aligned:
            via = " and ".join(n for n, ok in (("SPF", spf_aligned), ("DKIM", dkim_aligned)) if ok)
            return Status.WARN, (f"{via} passed for {fd}, but {no_policy}, so receivers decide alone what to do "
                                 f"with mail in its name.{publish}")
        return Status.FAIL, (f"Nothing authenticates this message: neither SPF nor DKIM passed for {fd}, and "
                             f"{no_policy}.")
    if result != "pass":
        return Status.ERROR, f"The receiver's DMARC result ('{str(result)[:40]}') is not one we know."
    unconfirmed = next((f for f in dmarc.findings if f.code == "msg.dmarc-unconfirmed"), None)
    if unconfirmed is not None:  # our own checks contradict the header's pass: never shown as a pass
        return Status.WARN, "Not confirmed: " + unconfirmed.message
    # DMARC passed: what else is not right?
    via = " and ".join(n for n, ok in (("SPF", spf_aligned), ("DKIM", dkim_aligned)) if ok) or "an aligned result"
    status, parts = Status.PASS, []
    dkim_result = dkim.detail.get("result") if dkim is not None else None
    if dkim is not None and dkim.status is Status.FAIL:
        said = _said(dkim)
        parts.append(f"DMARC passed through {via}, but the DKIM signature broke: {_dkim_broke_words(dkim)}"
                     + (f". The receiver wrote: {said}" if said else ""))
    elif dkim is not None and dkim.status is Status.INFO:
        pass  # the receiver didn't report DKIM; its card shows our own check
    elif dkim is not None and not dkim_aligned and dkim_result in (None, "none", ""):
        parts.append(f"DMARC passed through {via} alone: the message has no DKIM signature for {fd}, so "
                     "forwarded copies will fail. Sign your mail with DKIM")
    elif dkim is not None and not dkim_aligned and dkim.status in (Status.WARN, Status.FAIL):
        parts.append(f"DMARC passed through {via}, but DKIM didn't pass for {fd}: {dkim.summary.rstrip('.')}")
    elif dkim is not None and dkim.status is Status.ERROR:
        parts.append(f"DMARC passed through {via}, but the receiver couldn't check DKIM")
    told = {"dkim"} if parts else set()  # the cards whose problem the headline already names
    parts_before = len(parts)
    if spf is not None and spf.status in (Status.FAIL, Status.WARN) and not (spf_pass and dkim_aligned):
        said = _said(spf)
        parts.append(f"SPF didn't pass for {fd}: {spf.summary.rstrip('.')}"
                     + (f" (the receiver wrote: {said})" if said else ""))
    elif spf is not None and spf.status is Status.ERROR:
        parts.append("the receiver couldn't check SPF")
    if len(parts) > parts_before:
        told.add("spf")
    if parts:
        status = Status.WARN
        head = _upper_first(parts[0]) + "." + "".join(f" Also, {_lower_first(p)}." for p in parts[1:])
    else:
        head = f"The message passed authentication{by_us}: DMARC passed for {fd} through {via}."
    # a warning on the SPF, DKIM or DMARC card the sentence above doesn't name (From addresses at two domains) (a DKIM pass whose l= lets anyone
    # append text, a weak key...) is still to fix: a card in yellow is never under a green verdict
    side = [c for n, c in checks.items() if (n not in AUTH_CARDS or n not in told)
            and c.status in (Status.WARN, Status.FAIL)]
    if side:
        status = Status.WARN
        names = ", ".join(_side_name(c.name) for c in side)
        head += f" Still to fix: {names} (see below)."
    return status, head


def _lower_first(text: str) -> str:
    """``text`` to follow a comma: its first letter lower-cased, unless its first word is an acronym or a
    name written with capitals inside (SPF, DKIM, DMARC, ARC, TLS, iCloud): "Also, SPF didn't pass"."""
    word = text.split(" ", 1)[0]
    if len(word) > 1 and any(c.isupper() for c in word[1:]):
        return text
    return text[:1].lower() + text[1:]


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _side_name(name: str) -> str:
    return {"spf": "SPF", "dkim": "DKIM", "dmarc": "DMARC", "delivery": "format and delivery", "content": "content", "compauth": "Microsoft's composite "
            "authentication", "rdns": "reverse DNS", "arc": "ARC"}.get(name, name)
