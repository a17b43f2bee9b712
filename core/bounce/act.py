"""From a bounce to the fix: read it, classify it, check the part that failed from the user's network.

    report = await analyze_bounce(raw, options=CheckOptions(nameservers=[...]))
    report.category, report.explanation, report.checks["spf"], report.fixes, report.to_json()

The steps:

1. ``dsn.read_bounce`` reads the bounce (in a worker thread: a 10 MB bounce must not stall the event loop).
2. ``rules.classify`` picks the reviewed rule (``core/rules/bounce_codes.json``); a code no rule knows is
   "other" and shown as it is.
3. The From domain (from the returned message, or the receiver's words, or ``domain=``) is checked with the
   domain engine, but only for what the rule points at: SPF, DKIM (with the selectors the returned message
   was signed with), DMARC, reverse DNS, MX. When the sending server's address is known, its forward-
   confirmed reverse DNS is checked too, and SPF is evaluated for exactly that address (``check_host``):
   when it fails for the user's own domain, the record with that server added (the service's include when
   the address belongs to a known service) is offered, but only after the engine has checked it as if
   published (SPF no worse, the address then passes). That record changes only the sending server, unless
   the SPF card's corrected record fixes a real problem (an error or warning): then it carries that
   correction and its note says every change it makes ("It also removes 'a'"); a suggestion such as '-all'
   to '~all' keeps its own record, built on that one (so publishing it never takes the server away again),
   checked as if published and said in its note. A mailbox, content or TLS bounce runs no check: no DNS record fixes it,
   and the explanation says so. For a reputation or policy bounce the authentication checks run as "worth
   ruling out" (``context``): they don't explain the bounce, but a failure there still needs fixing; the
   refused (block-listed) server is never offered for the SPF record, only named when SPF doesn't list it.
   While the bounced mail fails SPF or DKIM, no stricter DMARC policy is offered (the step says why).
   The domain: the one given, else the From domain the bounce shows, else the domain the receiver checked
   SPF for (Gmail's words name it), said so.
4. Each card gets the bounce's own words for its method (``detail["bounce_said"]``).

``BounceReport.to_json()`` has exactly the keys of issue 20; ``exit_code`` is 0 (nothing to fix), 1
(something to fix) or 2 (couldn't read the bounce, or couldn't check).
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import dataclass, field, replace
from typing import Any

from ..checks.registry import CHECK_TITLES
from ..checks.runner import make_client, run_check
from ..context import CheckContext, CheckOptions
from ..dns.client import DnsClient
from ..domain import DomainError, parse_domain
from ..model import CheckResult, DomainReport, Finding, Fix, Severity, Status
from .dsn import Bounce, DeliveryStatus, read_bounce
from .rules import Classification, classify, detect_provider, provider_code, provider_name

__all__ = ["BounceReport", "analyze_bounce", "JSON_KEYS"]

# Findings about the one server the bounce names, not about the domain's records.
_ABOUT_THE_SERVER = ("bounce.blocked-server-not-in-spf",)
JSON_KEYS = ("bounced", "permanent", "status", "provider_code", "provider", "category", "explanation", "recipient",
             "from_domain", "sending_ip", "embedded_results", "checks", "fixes")
AUTH = ("spf", "dkim", "dmarc")
_ORDER = [Status.PASS, Status.INFO, Status.WARN, Status.ERROR, Status.FAIL]


@dataclass
class BounceReport:
    """The reading of one bounce, its classification, and the checks of the part that failed."""

    bounce: Bounce
    classification: Classification
    provider: str | None
    checks: dict[str, CheckResult] = field(default_factory=dict)
    fixes: list[Fix] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # about the bounce as a whole
    context: bool = False  # the checks are "worth ruling out", not the cause the bounce names
    domain: str = ""  # the domain that was checked ("" when none)
    domain_how: str = ""  # how we know it: given | from | envelope ("" when none)
    domain_report: DomainReport | None = None
    elapsed_ms: float = 0.0

    # -- what was read ----------------------------------------------------------------------------------

    @property
    def main(self) -> DeliveryStatus | None:
        return self.bounce.main

    @property
    def bounced(self) -> bool:
        """The bounce reports a delivery that failed or is being deferred."""
        return self.main is not None and self.main.failed

    @property
    def permanent(self) -> bool | None:
        return self.main.permanent if self.main is not None else None

    @property
    def status(self) -> str | None:
        return (self.main.status or None) if self.main is not None else None

    @property
    def reply_code(self) -> str | None:
        return (self.main.reply_code or None) if self.main is not None else None

    @property
    def diagnostic(self) -> str:
        return self.main.diagnostic if self.main is not None else ""

    @property
    def recipient(self) -> str | None:
        return (self.main.recipient or None) if self.main is not None else None

    @property
    def provider_code(self) -> str | None:
        return provider_code(self.diagnostic) or None

    @property
    def receiving_service(self) -> str:
        """The receiving server, or the provider's name."""
        remote = self.main.remote_mta if self.main is not None else ""
        name = provider_name(self.provider)
        if remote and name:
            return f"{name} ({remote})"
        return remote or name

    @property
    def from_domain(self) -> str | None:
        return self.domain or self.bounce.facts.from_domain or None

    @property
    def from_domain_how(self) -> str:
        """Where the domain shown as "Sent as" comes from, in words: "you gave it", "from the From address of
        the returned message", "the domain SPF was checked for, from the receiver's words"."""
        facts = self.bounce.facts
        if self.domain_how == "given":
            return "you gave it"
        if self.domain_how == "envelope":
            return f"the domain SPF was checked for, from {facts.mailfrom_source}" if facts.mailfrom_source else \
                "the domain SPF was checked for"
        src = facts.from_domain_source
        return f"from {src}" if src else ""

    @property
    def sending_ip(self) -> str | None:
        return self.bounce.facts.sending_ip or None

    @property
    def embedded_results(self) -> dict[str, str]:
        return dict(self.bounce.facts.embedded)

    @property
    def readable(self) -> bool:
        """Something was read: a delivery status (failed or not)."""
        return self.main is not None

    @property
    def status_overall(self) -> Status:
        """The worst status of the checks run (info counts as pass)."""
        worst = Status.PASS
        for r in self.checks.values():
            s = Status.PASS if r.status is Status.INFO else r.status
            if _ORDER.index(s) > _ORDER.index(worst):
                worst = s
        if any(f.severity is Severity.UNKNOWN for f in self.findings) and _ORDER.index(worst) < _ORDER.index(Status.ERROR):
            worst = Status.ERROR
        return worst

    @property
    def exit_code(self) -> int:
        """0 nothing to fix, 1 something to fix, 2 couldn't read the bounce or couldn't check."""
        if not self.readable:
            return 2
        overall = self.status_overall
        if overall in (Status.FAIL, Status.WARN):
            return 1
        if overall is Status.ERROR:
            return 2
        return 0

    @property
    def headline(self) -> str:
        """One line: what kind of failure, the codes, who refused it and for whom."""
        m = self.main
        if m is None:
            return "We couldn't find a delivery failure in what was given."
        if not m.failed:
            return (f"This is a delivery report saying the message was {m.action or 'delivered'}"
                    + (f" to {m.recipient}" if m.recipient else "") + "; nothing bounced.")
        if m.action == "delayed":
            kind = "Delayed, still being retried"
        elif self.permanent is False:
            kind = "Temporary failure" + (", and your server gave up retrying" if m.action == "failed" else "")
        elif self.permanent:
            kind = "Permanent failure"
        else:
            kind = "Delivery failure"
        codes = " ".join(x for x in (m.reply_code, m.status) if x)
        who = self.receiving_service
        others = sum(1 for s in self.bounce.statuses if s.failed and s is not m)
        more = f" (and {others} more recipient{'s' if others > 1 else ''})" if others else ""
        return (f"{kind}" + (f" ({codes})" if codes else "") + (f" from {who}" if who else "")
                + (f" for {m.recipient}" if m.recipient else "") + more + ".")

    @property
    def explanation(self) -> str:
        """What it means in plain words and what to change."""
        c = self.classification
        m = self.main
        if m is None:
            return ("We found no delivery failure (no SMTP error or delivery status) in what was given. Paste the "
                    "whole bounce message, or at least the line with the error code (such as 550 5.7.26).")
        if not m.failed:
            return "The report says the message was delivered; there is nothing to fix."
        parts = [self._deferral, c.meaning, c.action]
        if not c.dns_fixable and "no dns record" not in c.action.lower():
            parts.append("No DNS record will fix this.")
        parts.extend(f.message for f in self.findings if f.code == "bounce.no-domain")
        if self.checks and not self.context:
            # a card that only warns (no report address, ~all) doesn't make mail bounce: it is not "what to change"
            bad = [n for n, r in self.checks.items() if r.status is Status.FAIL or (r.status is Status.WARN and any(
                f.severity is Severity.ERROR for f in r.findings))]
            minor = [n for n, r in self.checks.items() if r.status is Status.WARN and n not in bad]
            unchecked = [n for n, r in self.checks.items() if r.status is Status.ERROR]
            if bad:
                parts.append(("The checks below show" if len(bad) > 1 else "The check below shows")
                             + " what to change: " + _names(bad) + ".")
            elif unchecked:
                parts.append("We couldn't check " + _names(unchecked) + " from here, so we can't say yet what to "
                             "change.")
            else:
                parts.append("Your records pass from here now. If you changed them after this bounce, just send "
                             "again; if not, the message went out through a server or service your records don't "
                             "cover (see below).")
            if minor and not unchecked:
                parts.append(("Also worth improving, though it didn't cause this bounce: " if not bad else
                              "Also worth improving: ") + _names(minor) + ".")
        elif self.checks and self.context:
            bad = [n for n, r in self.checks.items() if r.status in (Status.FAIL, Status.WARN) and any(
                f.severity in (Severity.ERROR, Severity.WARNING) and f.code not in _ABOUT_THE_SERVER
                for f in r.findings)]
            if bad:
                parts.append("Your domain's " + _names(bad) + (" also need" if len(bad) > 1 else " also needs") + " fixing "
                             "(below): that doesn't explain this bounce, but receivers judge unauthenticated mail "
                             "more harshly.")
            elif not self._blocked_server_unlisted:
                parts.append("Your domain's authentication passes from here, so your DNS records are probably not the "
                             "cause.")
            if self._blocked_server_unlisted:
                parts.append(f"The server the receiver refused ({self.sending_ip}) is not in your SPF record: if you "
                             "don't recognise it, someone else may be sending mail in your name (see SPF below).")
        return " ".join(p for p in parts if p)

    @property
    def _deferral(self) -> str:
        """For a 4xx: the receiver deferred the message, it didn't refuse it (and whether it is still retried)."""
        m = self.main
        if m is None or self.permanent is not False:
            return ""
        if m.action == "failed":
            return ("The receiver only deferred the message (a temporary failure, 4xx), but your server has now "
                    "given up retrying, so it was not delivered: send it again (after the change below, if any).")
        if m.action == "delayed":
            return ("This is a delay notice, not a bounce: the receiver deferred the message (a temporary failure, "
                    "4xx) and your server is still retrying it by itself.")
        return ("This is a temporary failure (4xx), not a refusal: the receiver deferred the message, and the "
                "sending server retries it by itself for a while (usually up to a few days); it only bounces if "
                "every retry fails.")

    @property
    def _blocked_server_unlisted(self) -> bool:
        spf = self.checks.get("spf")
        return spf is not None and any(f.code == "bounce.blocked-server-not-in-spf" for f in spf.findings)

    def to_json(self) -> dict[str, Any]:
        """Exactly the keys of issue 20 (``JSON_KEYS``)."""
        return {
            "bounced": self.bounced,
            "permanent": self.permanent,
            "status": self.status,
            "provider_code": self.provider_code,
            "provider": self.provider,
            "category": self.classification.category,
            "explanation": self.explanation,
            "recipient": self.recipient,
            "from_domain": self.from_domain,
            "sending_ip": self.sending_ip,
            "embedded_results": self.embedded_results,
            "checks": {n: r.to_json() for n, r in self.checks.items()},
            "fixes": [f.to_json() for f in self.fixes],
        }

    def detail_json(self) -> dict[str, Any]:
        """Everything else that was read (for the app's details and for support)."""
        c = self.classification
        return {
            "headline": self.headline, "reply_code": self.reply_code, "diagnostic": self.diagnostic,
            "receiving_service": self.receiving_service, "reporting_mta": self.bounce.reporting_mta,
            "form": self.bounce.form, "returned": self.bounce.returned_form,
            "statuses": [s.to_json() for s in self.bounce.statuses], "facts": self.bounce.facts.to_json(),
            "rule": c.rule.to_json() if c.rule is not None else None, "part": c.part, "context": self.context,
            "notes": list(self.bounce.notes), "findings": [f.to_json() for f in self.findings],
        }


def _names(checks: list[str]) -> str:
    """"SPF, DKIM and reverse DNS"."""
    words = [CHECK_TITLES.get(n, n.upper()) for n in checks]
    words = [w if w.isupper() or w[:1].isupper() and w[1:2].isupper() else w[:1].lower() + w[1:] for w in words]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


# -- the act step ----------------------------------------------------------------------------------------------

async def analyze_bounce(raw: bytes | str, *, options: CheckOptions | None = None, client: DnsClient | None = None,
                         domain: str | None = None, skip: tuple[str, ...] = ()) -> BounceReport:
    """Read ``raw``, classify it, and check what it points at (see the module docstring). ``domain``: the
    sending domain when the bounce doesn't show it (or to check another one). ``skip``: checks left out.
    Never raises for bad input; DNS trouble is "couldn't check" on the cards."""
    started = time.monotonic()
    bounce = await asyncio.to_thread(read_bounce, raw)
    main = bounce.main
    words = main.diagnostic if main is not None else ""
    provider = detect_provider(words, main.remote_mta if main else "", main.recipient if main else "")
    cls = classify(status=main.status if main else "", reply=main.reply_code if main else "", words=words,
                   provider=provider, code=provider_code(words))
    report = BounceReport(bounce=bounce, classification=cls, provider=provider)
    for note in bounce.notes:
        report.findings.append(Finding("bounce.partly-read", Severity.INFO, note))
    if main is None or not main.failed:
        report.elapsed_ms = (time.monotonic() - started) * 1000
        return report
    chosen = _checks_for(report)
    chosen = tuple(n for n in chosen if n not in skip)
    if not chosen:
        report.elapsed_ms = (time.monotonic() - started) * 1000
        return report
    target, how = _domain(report, domain)
    if target and how == "envelope":
        report.findings.append(Finding(
            "bounce.domain-from-spf", Severity.INFO,
            f"The bounce carries no copy of the message, so we checked {target}, the domain the receiver checked SPF "
            f"for ({report.bounce.facts.mailfrom_source}). If the From address of your mail uses another domain, "
            "give that one (the domain field in the app, --domain on the command line)."))
    if not target:
        report.findings.append(Finding(
            "bounce.no-domain", Severity.UNKNOWN,
            "We couldn't tell which domain sent the message that bounced (the bounce carries no copy of it), so "
            "we couldn't check it. Give your sending domain (the domain field in the app, --domain on the command "
            "line) or paste the whole bounce with the returned message."))
        report.elapsed_ms = (time.monotonic() - started) * 1000
        return report
    report.domain, report.domain_how = target, how
    options = options or CheckOptions()
    own = client is None
    client = client or make_client(options)
    try:
        await _run_checks(report, chosen, options, client)
    finally:
        if own:
            client.close()
    report.elapsed_ms = (time.monotonic() - started) * 1000
    return report


def _checks_for(report: BounceReport) -> tuple[str, ...]:
    c = report.classification
    ip = report.sending_ip
    if not c.dns_fixable:
        return ()
    if c.checks:
        out = list(c.checks)
        if ip and "rdns" not in out and c.category in ("authentication", "reverse-dns"):
            out.append("rdns")
        return tuple(out)
    status = report.status or ""
    # a code no rule knows in the security/policy class may be about authentication: worth ruling out; a known
    # "other" rule (greylisting, try again later) is not
    if c.category in ("reputation", "policy") or (c.category == "other" and c.rule is None and status[1:3] == ".7"):
        report.context = True
        return (*AUTH, "rdns") if ip else AUTH
    return ()


def _domain(report: BounceReport, given: str | None) -> tuple[str, str]:
    """The domain to check and how we know it ("given", "from", "envelope"): the one the user gave, the From
    domain the bounce shows, else the envelope (SPF) domain the receiver named (Gmail: "SPF [example.com] with
    ip: [...] = did not pass")."""
    def usable(text: str | None) -> str:
        try:
            return parse_domain(text).domain if text else ""
        except (DomainError, ValueError):
            return ""

    facts = report.bounce.facts
    g, f = usable(given), usable(facts.from_domain)
    if g:
        return g, ("from" if g == f else "given")
    if f:
        return f, "from"
    e = usable(facts.mailfrom_domain)
    return (e, "envelope") if e else ("", "")


async def _run_checks(report: BounceReport, chosen: tuple[str, ...], options: CheckOptions,
                      client: DnsClient) -> None:
    facts = report.bounce.facts
    domain = report.domain
    ip = report.sending_ip
    own_sigs = [s for s in facts.signatures if s.d == domain]
    selectors = list(dict.fromkeys([*(s.s for s in own_sigs), *options.dkim_selectors]))
    full_rdns = report.classification.category == "reverse-dns"
    domain_checks = tuple(n for n in chosen if n != "rdns" or full_rdns)
    opts = replace(options, checks=domain_checks, dkim_selectors=selectors,
                   sending_ips=[ip] if ip else [], sending_ip_label="message that bounced")
    rdns_task = None
    if "rdns" in chosen and not full_rdns and ip:
        from ..checks.rdns import check_sending_ips

        rdns_task = asyncio.ensure_future(check_sending_ips(CheckContext(domain, client, opts), [ip],
                                                            "message that bounced"))
    domain_report = await run_check(domain, opts, client=client) if domain_checks else None
    report.domain_report = domain_report
    if domain_report is not None:
        report.checks.update(domain_report.checks)
    if rdns_task is not None:
        report.checks["rdns"] = await rdns_task
    report.checks = {n: report.checks[n] for n in chosen if n in report.checks}
    if "spf" in report.checks and ip:
        await _spf_for_sender(report, client, options)
    if "dkim" in report.checks and not report.context:
        _dkim_signatures(report)
    _hold_stricter_dmarc(report)
    _bounce_words(report)
    seen: list[Fix] = []
    for r in report.checks.values():
        for fx in r.fixes:
            if fx not in seen:
                seen.append(fx)
    report.fixes = seen


# -- SPF for the server that sent the message ---------------------------------------------------------------

def _org(domain: str) -> str:
    from ..mail.trust import simple_org_domain

    return simple_org_domain(domain)


async def _spf_for_sender(report: BounceReport, client: DnsClient, options: CheckOptions) -> None:
    from ..records.spf_eval import check_host

    card = report.checks["spf"]
    ip = report.sending_ip or ""
    facts = report.bounce.facts
    spf_domain = facts.mailfrom_domain or report.domain
    try:
        ipaddress.ip_address(ip)
        spf_domain = parse_domain(spf_domain).domain
    except (ValueError, DomainError):
        return
    ev = await check_host(ip, spf_domain, f"postmaster@{spf_domain}", dns=client)
    ptr = _ptr_name(report, ip)
    server = f"the server that sent this message ({ip}{', ' + ptr if ptr else ''})"
    who = server[0].upper() + server[1:]
    detail = f"check_host({ip}, {spf_domain}) = {ev.result}" + (f"; matched {ev.mechanism}" if ev.mechanism else "")
    card.detail["sending_ip_spf"] = {"ip": ip, "domain": spf_domain, "result": ev.result,
                                     "explanation": ev.explanation, "source": facts.sending_ip_source}
    if ev.result == "pass":
        card.findings.append(Finding(
            "bounce.spf-passes-now", Severity.INFO,
            f"{who} passes SPF for {spf_domain} now. If you changed your SPF record after this bounce, send again; "
            "if not, the receiver may have judged another address or another envelope domain.", detail=detail,
            rfc="RFC 7208 §4"))
        return
    if ev.result == "temperror":
        card.findings.append(Finding(
            "bounce.spf-unchecked", Severity.UNKNOWN,
            f"We couldn't evaluate SPF for {server} as {spf_domain}: {ev.reason or ev.explanation}",
            detail=detail, rfc="RFC 7208 §2.6.6"))
        return
    if ev.result == "permerror":
        card.findings.append(Finding(
            "bounce.spf-broken", Severity.ERROR,
            f"SPF for {spf_domain} is broken, so {server} can't pass it: {ev.reason or ev.explanation} "
            "The SPF card shows the corrected record.", detail=detail, rfc="RFC 7208 §2.6.7"))
        return
    if report.context:  # a block list or the receiver's policy refused it: never offer to authorise that server
        card.findings.append(Finding(
            "bounce.blocked-server-not-in-spf", Severity.WARNING,
            f"{who} is not in the SPF record of {spf_domain} either: SPF gives '{ev.result}' for it. If it is your "
            "own server or a service you use, clear the listing first, then add it to your SPF record (the SPF "
            "builder does it). If you don't recognise it, someone else may be sending mail in your name: don't add "
            "it.", detail=detail, rfc="RFC 7208 §5"))
        if card.status in (Status.PASS, Status.INFO):
            card.status = Status.WARN
            card.summary = f"SPF doesn't list the server the receiver refused ({ip})."
        return
    if _org(spf_domain) != _org(report.domain):
        card.findings.append(Finding(
            "bounce.spf-service-domain", Severity.WARNING,
            f"{who} is not allowed by the SPF record of {spf_domain}, the envelope (bounce) domain it used: SPF "
            f"gives '{ev.result}'. That domain is your mail service's, not yours, so the service has to fix it; for "
            f"DMARC, make DKIM pass for {report.domain} instead.", detail=detail, rfc="RFC 7208 §2.6"))
        return
    fix, why_not = await _spf_fix(report, card, spf_domain, ip, ptr, client, options)
    message = (f"{who} is not in the SPF record of {spf_domain}: SPF gives '{ev.result}' for it. "
               + ("If you recognise this server (your own, or a service you use), publish the record below. "
                  if fix is not None else why_not))
    card.findings.append(Finding("bounce.sender-not-in-spf", Severity.ERROR, message.strip(), detail=detail,
                                 rfc="RFC 7208 §5", fix=fix))
    if card.status in (Status.PASS, Status.INFO, Status.WARN):
        card.status = Status.FAIL
        card.summary = f"SPF doesn't allow the server that sent the bounced message ({ip})."


def _ptr_name(report: BounceReport, ip: str) -> str:
    rd = report.checks.get("rdns")
    for h in (rd.detail.get("hosts") or []) if rd is not None else []:
        if isinstance(h, dict) and h.get("ip") == ip and h.get("ptr"):
            return str(h["ptr"][0])
    return ""


async def _spf_fix(report: BounceReport, card: CheckResult, domain: str, ip: str, ptr: str, client: DnsClient,
                   options: CheckOptions) -> tuple[Fix | None, str]:
    """The SPF record with the sending server added, checked as if published; (None, why) when we can't
    offer one that works."""
    from ..builders.spf import SpfBuildError, build_spf_live
    from ..builders.whatif import OverlayDns, merged_rrset
    from ..records.spf_eval import check_host

    base_fix = next((fx for fx in card.fixes if fx.host == domain and fx.type.upper() == "TXT"
                     and fx.action != "remove" and fx.value.lower().startswith("v=spf1")), None)
    # The card's corrected record is carried over only when it fixes a problem (an error or a warning): a
    # suggestion (such as '-all' to '~all') stays its own choice, so this record changes one thing.
    solved = [f for f in card.findings if base_fix is not None and f.fix == base_fix
              and f.severity in (Severity.ERROR, Severity.WARNING)]
    if not solved:
        base_fix = None
    service = None
    try:
        from ..reports.sources import load_catalog

        service = load_catalog().match(ip, ptr=ptr or None)
    except Exception:  # the catalog is a help, never a requirement
        service = None
    include = service.spf_include if service is not None and service.spf_include else ""
    try:
        existing_value = base_fix.value if base_fix is not None else None
        if include:
            built = await build_spf_live([], None, existing_value, dns=client, domain=domain, extra_includes=[include],
                                           all_advice=False)
        else:
            built = await build_spf_live([], [ip], existing_value, dns=client, domain=domain, all_advice=False)
    except SpfBuildError as exc:
        return None, f"We couldn't build the record: {exc}"
    if built.problems or built.fix is None:
        return None, ("Adding it would break your SPF record (" + "; ".join(built.problems[:2]) + "). "
                      "Use the SPF builder to make room, or ask your provider for a relay that is already listed.")
    existing = await client.query(domain, "TXT")
    if existing.failed:
        return None, "We couldn't read your current SPF record to add it, so try again later."

    async def tried(record: str) -> str:
        """'pass' when ``record``, checked as if published, lets the server pass and SPF gets no worse."""
        overlay = OverlayDns(client, {(domain, "TXT"): merged_rrset(existing, "TXT", record)})
        try:
            after = await run_check(domain, replace(options, checks=("spf",), dkim_selectors=[]), client=overlay)
            ev = await check_host(ip, domain, f"postmaster@{domain}", dns=overlay)
        finally:
            overlay.close()
        new = after.checks.get("spf")
        ceiling = Status.WARN if card.status is Status.FAIL else card.status
        worse = new is None or new.status is Status.FAIL or _ORDER.index(new.status) > _ORDER.index(ceiling)
        return "worse" if ev.result == "pass" and worse else ev.result

    result = await tried(built.record)
    if result != "pass":
        return None, ("We tried adding it, but the record would not pass as published (" + result + "), so we "
                      "don't offer it. Use the SPF builder.")
    what = (f"include:{include} ({service.name})" if include and service is not None
            else ("ip6:" if ":" in ip else "ip4:") + ip)
    live = next((r for r in card.records if r.strip().lower().startswith("v=spf1")), "")
    changes = _spf_changes(live, built.record, added=what.split(" ", 1)[0]) if live else []
    also = (" It also " + "; ".join(changes) + ("" if not solved else " (the correction the SPF card asks for: "
                                                  + "; ".join(_gist(f.message) for f in solved) + ")") + ".") \
        if changes else ""
    note = (f"Adds {what} to your SPF record.{also} Checked as if published: {ip} then passes and nothing else gets "
            "worse. Only publish it if you sent the message that bounced: if you didn't, someone is sending as you, "
            "and this would let them.")
    fix = replace(built.fix, note=note)
    if base_fix is not None:  # ours carries the card's correction too: one record to publish, not two
        card.findings = [replace(f, fix=fix) if f.fix == base_fix else f for f in card.findings]
    if live:  # a suggestion's own SPF record would drop the server ours adds: it builds on ours instead
        card.findings = [await _on_top(f, live, fix, what.split(" ", 1)[0], domain, tried) for f in card.findings]
    return fix, ""


async def _on_top(f: Finding, live: str, ours: Fix, added: str, domain: str, tried: Any) -> Finding:
    """A suggestion about the SPF record (such as '-all' to '~all') whose record replaces the live one would,
    published after ours, take the sending server away again (one SPF record per name: the last one wins). Its
    record becomes ours with the suggestion's change, checked as if published, and its note says so; when that
    doesn't check out, no record is offered for it (the note says what to change, after ours)."""
    options = list(f.options)
    mine = [o for o in options if o.host.lower().rstrip(".") == domain and o.type.upper() == "TXT"
            and o.action != "remove" and o.value.strip().lower().startswith("v=spf1") and o != ours]
    if not mine or f.severity in (Severity.ERROR, Severity.WARNING):
        return f
    out: list[Fix] = []
    for o in options:
        if o not in mine:
            out.append(o)
            continue
        value = _rebase_spf(live, o.value, ours.value)
        if value and value != ours.value and await tried(value) == "pass":
            out.append(replace(o, value=value, note=(o.note + " " if o.note else "") + (
                f"This record also adds {added}, the sending server the record above adds (only if you sent the "
                "message that bounced): publish one of the two, not both (only one SPF record may exist).")))
    if out:
        return replace(f, fix=out[0], alternatives=tuple(out[1:]))
    changes = "; ".join(_spf_changes(live, mine[0].value, added=""))
    return replace(f, fix=None, alternatives=(), no_fix=(
        f"Not offered here: its record would take away {added}, which the record above adds. If you want this "
        f"change, publish the record above first, then {changes or 'make the change'} in it."))


def _rebase_spf(live: str, suggestion: str, ours: str) -> str:
    """``suggestion``'s changes to ``live`` (terms removed, terms added, the 'all' ending) made to ``ours``; ""
    when they can't be told."""
    def terms(v: str) -> list[str]:
        parts = v.split()
        return parts[1:] if parts and parts[0].lower() == "v=spf1" else []

    def is_all(t: str) -> bool:
        return t.lower().lstrip("+-~?") == "all"

    o, s, n = terms(live), terms(suggestion), terms(ours)
    if not o or not s or not n:
        return ""
    lo, ls = {t.lower() for t in o}, {t.lower() for t in s}
    removed = {t.lower() for t in o if t.lower() not in ls and not is_all(t)}
    added = [t for t in s if t.lower() not in lo and not is_all(t)]
    s_all = next((t for t in s if is_all(t)), None)
    n_all = next((t for t in n if is_all(t)), None)
    kept = [t for t in n if t.lower() not in removed and not is_all(t)]
    for t in added:
        if t.lower() not in {k.lower() for k in kept}:
            kept.append(t)
    mechanisms = [t for t in kept if "=" not in t.split(":", 1)[0]]
    modifiers = [t for t in kept if "=" in t.split(":", 1)[0]]
    ending = s_all if s_all is not None else (None if any(is_all(t) for t in o) else n_all)
    return " ".join(["v=spf1", *mechanisms, *([ending] if ending else []), *modifiers])


def _gist(message: str) -> str:
    from ..model import gist

    return gist(message)


def _spf_changes(old: str, new: str, *, added: str) -> list[str]:
    """What ``new`` changes in ``old`` besides adding ``added``, in words ("changes '-all' to '~all'",
    "removes 'a'")."""
    o, n = old.split()[1:], new.split()[1:]
    out: list[str] = []
    o_all = next((t for t in o if t.lower().lstrip("+-~?") == "all"), None)
    n_all = next((t for t in n if t.lower().lstrip("+-~?") == "all"), None)
    if o_all and n_all and o_all != n_all:
        out.append(f"changes '{o_all}' to '{n_all}'")
    lower_n = {t.lower() for t in n}
    removed = [t for t in o if t.lower() not in lower_n and t not in (o_all,)]
    if removed:
        out.append("removes " + ", ".join(f"'{t}'" for t in removed))
    lower_o = {t.lower() for t in o}
    extra = [t for t in n if t.lower() not in lower_o and t != added and t not in (n_all,)]
    if extra:
        out.append("adds " + ", ".join(f"'{t}'" for t in extra))
    return out


# -- DMARC: no tighter policy while this mail fails SPF and DKIM -------------------------------------------------

_RANK = {"none": 0, "quarantine": 1, "reject": 2}


def _dmarc_tags(value: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in value.split(";"):
        k, eq, v = part.partition("=")
        if eq:
            out.setdefault(k.strip().lower(), v.strip().lower())
    return out


def _tightens(live: str, new: str) -> bool:
    """``new`` makes receivers stricter than ``live``: a higher p=, sp= or np=, or t=y dropped."""
    a, b = _dmarc_tags(live), _dmarc_tags(new)
    for tag in ("p", "sp", "np"):
        was = a.get(tag) or (a.get("p") if tag in ("sp", "np") else None) or "none"
        now = b.get(tag) or (b.get("p") if tag in ("sp", "np") else None) or "none"
        if _RANK.get(now, 0) > _RANK.get(was, 0):
            return True
    return a.get("t") == "y" and b.get("t") != "y"


def _failing_auth(report: BounceReport) -> list[str]:
    """SPF / DKIM as this bounce shows them failing for the mail that bounced (the receiver's results, our own
    check of the sending server, the signing key)."""
    out = []
    said = report.embedded_results
    spf, dkim = report.checks.get("spf"), report.checks.get("dkim")
    sender = (spf.detail.get("sending_ip_spf") or {}) if spf is not None else {}
    if said.get("spf") not in (None, "pass") or sender.get("result") not in (None, "pass"):
        out.append("SPF")
    if said.get("dkim") not in (None, "pass") or (dkim is not None and dkim.status in (Status.FAIL, Status.WARN)):
        out.append("DKIM")
    return out


def _hold_stricter_dmarc(report: BounceReport) -> None:
    """A DMARC "next step" (quarantine, reject, t=y dropped) is not offered while the mail that bounced fails SPF
    or DKIM: a stricter policy would have receivers refuse more of it. The finding stays, with why."""
    card = report.checks.get("dmarc")
    failing = _failing_auth(report)
    if card is None or not failing:
        return
    live = next((r for r in card.records if r.strip().lower().startswith("v=dmarc1")), "")
    why = (f"not yet, because the mail that bounced fails {' and '.join(failing)}: a stricter DMARC policy would "
           "have receivers refuse more of it. Make SPF and DKIM pass for it first (above), then come back to this "
           "step.")
    kept = []
    for f in card.findings:
        options = [o for o in f.options if not (live and _tightens(live, o.value))]
        if f.severity is Severity.INFO and len(options) < len(f.options):
            f = replace(f, fix=options[0] if options else None, alternatives=tuple(options[1:]),
                        no_fix=f.no_fix or why if not options else f.no_fix)
        kept.append(f)
    card.findings = kept


# -- DKIM: the signatures the returned message carries ------------------------------------------------------

def _dkim_signatures(report: BounceReport) -> None:
    card = report.checks["dkim"]
    facts = report.bounce.facts
    domain = report.domain
    sigs = facts.signatures
    card.detail["bounced_signatures"] = [s.to_json() for s in sigs]
    if report.bounce.returned is None:
        return
    if not sigs:
        card.findings.append(Finding(
            "bounce.no-signature", Severity.INFO,
            "The copy of the message returned with the bounce carries no DKIM signature. If your mail service signs "
            "on the way out, the copy may not show it; otherwise switch on DKIM signing for your domain there.",
            rfc="RFC 6376 §3.5"))
        return
    own = [s for s in sigs if s.d == domain]
    found = {str(k.get("selector")) for k in card.detail.get("found") or [] if isinstance(k, dict)}
    unchecked = {str(x) for x in card.detail.get("unchecked") or []}  # a lookup that failed is not "no key"
    missing = {s.s for s in own} - found - unchecked
    if missing:
        # we know exactly where the key should be: say that, instead of "we tried N selectors, tell us yours"
        kept = [f for f in card.findings if f.code not in ("dkim.selector-not-found", "dkim.no-key-found")
                or (f.code == "dkim.selector-not-found" and not any(f"'{m}'" in f.message for m in missing))]
        for sel in sorted(missing):
            kept.append(Finding(
                "bounce.signing-key-missing", Severity.ERROR,
                f"The message was signed for {domain} with the selector '{sel}', but there is no DKIM key at "
                f"{sel}._domainkey.{domain}, so receivers can't verify the signature. Publish the key your mail "
                "service gives you for that selector (or switch DKIM on there, if it publishes the key itself).",
                detail=f"DKIM-Signature of the returned message: d={domain} s={sel}", rfc="RFC 6376 §3.6.2.2"))
        card.findings = kept
        card.status = Status.FAIL
        card.summary = (f"No DKIM key at the selector the message was signed with ({', '.join(sorted(missing))}).")
    own_org = _org(domain)
    if not any(_org(s.d) == own_org for s in sigs):
        names = ", ".join(sorted({s.d for s in sigs}))
        card.findings.append(Finding(
            "bounce.signed-by-another-domain", Severity.WARNING,
            f"The message was signed by {names}, not by {domain}: that signature doesn't count for DMARC. Set up "
            f"DKIM for {domain} at the service that sends this mail (it gives you the records to publish).",
            detail="Signatures: " + "; ".join(f"d={s.d} s={s.s}" for s in sigs), rfc="RFC 9989 §4.4"))
        if card.status in (Status.PASS, Status.INFO):
            card.status = Status.WARN


# -- the bounce's own words beside each card ---------------------------------------------------------------

def _bounce_words(report: BounceReport) -> None:
    facts = report.bounce.facts
    words = report.diagnostic
    for name, card in report.checks.items():
        said = facts.embedded.get(name)
        card.detail["bounce_said"] = words
        if said and not report.context:
            card.findings.insert(0, Finding(
                f"bounce.receiver-said-{name}", Severity.INFO,
                f"The receiver reported {CHECK_TITLES.get(name, name.upper())}: {said} (as the bounce says).",
                detail="; ".join(facts.embedded_words)[:600]))
