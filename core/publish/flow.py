"""The whole loop in one place for the CLI and the app: check → find the zone and its host → plan → confirm →
apply → verify on the authoritative servers → check again; and undo.

``inspect_domain`` is the read-only part (zone, DNS host, host-form mistakes). ``Publisher`` holds one
account, its secrets (read from the keyring once) and one lexicon session for a run.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any, Callable

from ..checks.runner import run_check
from ..context import CheckOptions
from ..dns.client import DnsClient
from ..model import DomainReport
from .accounts import DnsAccount
from .hosts import DnsHost, host_for_provider, match_hosts
from .journal import Journal, JournalEntry
from .lexicon_adapter import ProviderSession, PublishError
from .mistakes import Mistake, find_mistakes
from .plan import ApplyResult, Change, Plan, apply_plan, make_plan, predict, undo_change, verdict_summary
from .propagation import Expect, Propagation, fill_stale, wait_until_live
from .zone import ZoneInfo, find_zone

# Checks worth re-running before and after publishing: the DNS records (not STARTTLS, reverse DNS, DNSSEC).
PUBLISH_CHECKS = ("spf", "dkim", "dmarc", "mx", "mta_sts", "tls_rpt", "bimi")


@dataclass
class Inspection:
    domain: str
    zone: ZoneInfo
    hosts: list[DnsHost]  # best match first; several when the NS names are shared
    mistakes: list[Mistake]

    @property
    def host(self) -> DnsHost | None:
        return self.hosts[0] if self.hosts else None

    def to_json(self) -> dict[str, Any]:
        return {"zone": self.zone.zone, "nameservers": list(self.zone.ns_names),
                "host": self.host.to_json() if self.host else None,
                "also_possible": [h.name for h in self.hosts[1:]], "problem": self.zone.problem,
                "mistakes": [m.to_json() for m in self.mistakes]}

    def for_audit(self) -> dict[str, Any]:
        """What the audit report keeps of it (``AuditReport.build(dns_host=...)``)."""
        return {"zone": self.zone.zone, "host": self.host.id if self.host else "",
                "host_name": self.host.name if self.host else "", "nameservers": list(self.zone.ns_names)}


async def inspect_domain(domain: str, client: DnsClient, *, servers: list[str] | None = None,
                         selectors: list[str] | None = None, mistakes: bool = True) -> Inspection:
    """The zone of ``domain``, its DNS host from the NS names and (``mistakes``) the host-form mistakes."""
    zone = await find_zone(client, domain, servers=servers)
    hosts = match_hosts(zone.ns_names) if zone.ns_names else []
    found = await find_mistakes(client, domain, zone.zone or domain, selectors=selectors) \
        if mistakes and (zone.zone or not zone.problem) else []
    return Inspection(domain, zone, hosts, found)


def dkim_selectors_found(report: DomainReport) -> list[str]:
    dk = report.checks.get("dkim")
    out = []
    for e in (dk.detail.get("found", []) if dk else []):
        sel = e.get("selector") if isinstance(e, dict) else None
        if isinstance(sel, str) and sel and sel != "*":
            out.append(sel)
    return out


@dataclass
class PublishRun:
    domain: str
    account: str
    before: DomainReport | None = None
    inspection: Inspection | None = None
    plan: Plan | None = None
    result: ApplyResult | None = None
    propagation: Propagation | None = None
    after: DomainReport | None = None
    error: PublishError | None = None
    undoing: JournalEntry | None = None

    @property
    def zone(self) -> ZoneInfo | None:
        return self.inspection.zone if self.inspection else None


class Publisher:
    """Publishing for one account. ``await close()`` (or ``async with``) when done."""

    def __init__(self, account: DnsAccount, options: CheckOptions, *, secrets: dict[str, Any] | None = None,
                 servers: list[str] | None = None, journal: Journal | None = None) -> None:
        self.account = account
        self.options = replace(options, checks=tuple(n for n in options.checks if n in PUBLISH_CHECKS) or PUBLISH_CHECKS)
        self.servers = servers
        self._secrets: dict[str, Any] = secrets if secrets is not None else account.read_secrets()
        self._journal = journal
        self._session: ProviderSession | None = None
        self._zone = ""

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            self._journal = Journal()
        return self._journal

    async def __aenter__(self) -> "Publisher":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            s, self._session = self._session, None
            await asyncio.to_thread(s.__exit__, None, None, None)

    async def session(self, zone: str, *, fresh: bool = False) -> ProviderSession:
        """The signed-in lexicon session for ``zone``; ``fresh`` signs in again (providers cache what they
        listed, and an apply must see what the DNS host has now)."""
        if self._session is not None and self._zone == zone and not fresh:
            return self._session
        await self.close()
        s = ProviderSession(self.account.provider, self.account.options, self._secrets, zone)
        await asyncio.to_thread(s.__enter__)
        self._session, self._zone = s, zone
        return s

    def _client(self) -> DnsClient:
        return DnsClient(self.options.nameservers, timeout=self.options.timeout, deadline=self.options.deadline)

    async def check(self, domain: str) -> DomainReport:
        client = self._client()
        try:
            return await run_check(domain, self.options, client=client)
        finally:
            client.close()

    async def plan(self, domain: str, *, checks: tuple[str, ...] | None = None,
                   fixes: list[tuple[Any, str, str]] | None = None,
                   include: frozenset[str] | set[str] = frozenset()) -> PublishRun:
        run = PublishRun(domain, self.account.name)
        client = self._client()
        try:
            run.before = await run_check(domain, self.options, client=client)
            run.inspection = await inspect_domain(domain, client, servers=self.servers,
                                                  selectors=[*self.options.dkim_selectors,
                                                             *dkim_selectors_found(run.before)])
            zone = run.inspection.zone
            if not zone.zone:
                run.error = PublishError("zone-not-found", zone.problem or f"couldn't find the zone of {domain}")
                return run
            try:
                session = await self.session(zone.zone)
                run.plan = await make_plan(run.before, zone.zone, session, account=self.account.name,
                                           mistakes=run.inspection.mistakes, checks=checks, fixes=fixes,
                                           include=include)
            except PublishError as exc:
                run.error = exc
                return run
            await predict(run.plan, run.before, self.options, client)
        finally:
            client.close()
        return run

    async def apply(self, run: PublishRun, *, confirmed: bool, wait: float = 0.0,
                    on_step: Callable[[int, Change, str], None] | None = None,
                    on_round: Callable[[Propagation], None] | None = None) -> PublishRun:
        assert run.plan is not None and run.inspection is not None
        try:
            session = await self.session(run.plan.zone, fresh=True)
        except PublishError as exc:
            run.error = exc
            return run
        run.result = await apply_plan(run.plan, session, self.journal, confirmed=confirmed,
                                      before=verdict_summary(run.before) if run.before else None, on_step=on_step)
        if run.result.change_id:
            await self._verify(run, run.plan.expectations, wait, on_round)
        return run

    async def _verify(self, run: PublishRun, expectations: list[Expect], wait: float,
                      on_round: Callable[[Propagation], None] | None) -> None:
        assert run.inspection is not None and run.result is not None
        done = [e for e in expectations]
        if run.result.state != "applied":  # only what was applied can be expected
            applied_steps = self.journal.get(run.result.change_id)
            ok = {(s.host, s.type, s.new, s.old) for s in applied_steps.steps if s.state == "applied"} \
                if applied_steps else set()
            done = [e for e in expectations if any(h == e.host and t == e.type and e.value in (n, o)
                                                   for h, t, n, o in ok)]
        if done:
            run.propagation = await wait_until_live(run.inspection.zone, fill_stale(done, run.inspection.zone),
                                                    wait=wait, on_round=on_round)
        run.after = await self.check(run.domain)
        self.journal.set_after(run.result.change_id, after=verdict_summary(run.after),
                               propagation=run.propagation.to_json() if run.propagation else None)
        if run.result.state == "applied":
            from .accounts import AccountStore  # remember which zones this account publishes to

            try:
                store = AccountStore()
                if self.account.name in store.accounts:
                    store.remember_domain(store.accounts[self.account.name], run.plan.zone if run.plan else "")
            except OSError:
                pass

    async def undo(self, change_id: str, *, confirmed: bool, wait: float = 0.0,
                   on_step: Callable[[int, Change, str], None] | None = None,
                   on_round: Callable[[Propagation], None] | None = None) -> PublishRun:
        entry = self.journal.get(change_id)
        if entry is None:
            run = PublishRun("", self.account.name)
            run.error = PublishError("not-found", f"The journal has no change {change_id!r}.")
            return run
        run = PublishRun(entry.domain, self.account.name, undoing=entry)
        if entry.account != self.account.name:
            run.error = PublishError("account", f"{change_id} was applied with the account {entry.account!r}, not "
                                                f"{self.account.name!r}: undo it with that account.")
            return run
        client = self._client()
        try:
            zone = await find_zone(client, entry.zone, servers=self.servers)
        finally:
            client.close()
        run.inspection = Inspection(entry.domain, zone if zone.zone else ZoneInfo(entry.zone, problem=zone.problem),
                                    [], [])
        try:
            session = await self.session(entry.zone, fresh=True)
            run.result, changes = await undo_change(entry, session, self.journal, confirmed=confirmed, on_step=on_step)
        except PublishError as exc:
            run.error = exc
            return run
        run.plan = Plan(entry.domain, entry.zone, entry.account, entry.provider, changes=changes)
        if run.result.change_id:
            await self._verify(run, run.plan.expectations, wait, on_round)
        return run


def token_help(provider: str) -> DnsHost | None:
    """The catalog entry with the token steps and least permission for lexicon's ``provider``."""
    return host_for_provider(provider)


__all__ = ["Inspection", "PublishRun", "Publisher", "inspect_domain", "token_help", "PUBLISH_CHECKS"]
