"""``inboxready dns-account`` and ``inboxready publish``: publish the fixes at the DNS host (issue 16).

    inboxready dns-account add NAME --provider PROVIDER [--option KEY=VALUE ...] [--secret KEY ...]
    inboxready dns-account list | test NAME [DOMAIN] | remove NAME
    inboxready publish DOMAIN --account NAME [--only CHECKS] [--skip CHECKS] [--include-suggestions] [--lockdown]
                       [--dry-run] [--yes] [--wait SECONDS] [--nameserver IP[:PORT]] [--json]
    inboxready publish --undo CHANGE_ID --account NAME [--yes] [--nameserver IP[:PORT]] [--json]

A secret's value comes from INBOXREADY_PASSWORD (when one secret is named) or a prompt, and goes only to the
system keyring. Exit codes: 0 done and nothing left to fix, 1 applied (or planned) but something is still to
fix, 2 refused or failed (wrong key, no permission, zone not found, conflict) with nothing changed and a
message that names the cause. Also ``render_host_section`` / ``authoritative_section`` for ``check``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any, TextIO

EXIT_OK, EXIT_FINDINGS, EXIT_FAILED = 0, 1, 2


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    from inboxready.app.cli.check import _check_list
    from inboxready.app.cli.out import DNS_TIMEOUT, nameserver as _nameserver, seconds

    _positive = DNS_TIMEOUT

    acc = sub.add_parser("dns-account", help="accounts at DNS hosts, for publishing records for you",
                         description="Manage the DNS-host accounts InboxReady publishes through (dns-lexicon "
                                     "providers). Secrets (API tokens) go to the system keyring only.")
    asub = acc.add_subparsers(dest="account_command", metavar="ACTION")
    add = asub.add_parser("add", help="add or replace an account",
                          description="Add an account at a DNS host. Options are lexicon's own names for that "
                                      "provider (PowerDNS: pdns_server, pdns_server_id and the secret auth_token). "
                                      "A secret's value comes from INBOXREADY_PASSWORD (when one secret is named) "
                                      "or a prompt.")
    add.add_argument("name", metavar="NAME", help="a name for the account, e.g. cf")
    add.add_argument("--provider", required=True, metavar="PROVIDER", help="lexicon's provider name, e.g. cloudflare")
    add.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="a non-secret option")
    add.add_argument("--secret", action="append", default=[], metavar="KEY",
                     help="an option whose value is secret (asked for, stored in the keyring)")
    add.add_argument("--json", action="store_true", help="print JSON instead of text")
    lst = asub.add_parser("list", help="list the accounts",
                          description="List the DNS-host accounts (never their secrets).")
    lst.add_argument("--json", action="store_true", help="print JSON instead of text")
    test = asub.add_parser("test", help="sign in and read the zone", parents=[common],
                           description="Sign in at the account's DNS host and read the zone, changing nothing.")
    test.add_argument("name", metavar="NAME", help="the account to try")
    test.add_argument("domain", nargs="?", metavar="DOMAIN", help="a domain of the account (default: the last used)")
    rm = asub.add_parser("remove", help="remove an account and its secrets",
                         description="Remove an account and its secrets from the keyring.")
    rm.add_argument("name", metavar="NAME", help="the account to remove")
    acc.set_defaults(handler=cmd_dns_account)

    pub = sub.add_parser("publish", help="publish the fixes at your DNS host, and undo",
                         description="Check DOMAIN, plan the records that fix what is wrong at the DNS host of "
                                     "ACCOUNT, show the plan, and after your confirmation apply it, watch it go live "
                                     "on every authoritative server and check again. Every change is journaled and "
                                     "can be undone with --undo.",
                         epilog="Exit codes: 0 done and nothing left to fix; 1 applied (or planned) but something "
                                "is still to fix; 2 refused or failed, with nothing changed.")
    pub.add_argument("domain", nargs="?", metavar="DOMAIN", help="the domain whose fixes to publish (not with --undo)")
    pub.add_argument("--account", required=True, metavar="NAME",
                     help="the DNS host account to publish with, saved by 'inboxready dns-account add'")
    pub.add_argument("--undo", metavar="CHANGE_ID", help="undo a change from the journal")
    pub.add_argument("--only", type=_check_list, metavar="CHECKS", help="publish fixes of these checks only")
    pub.add_argument("--skip", type=_check_list, default=(), metavar="CHECKS", help="leave these checks' fixes out")
    pub.add_argument("--include-suggestions", action="store_true",
                     help="also publish suggestions: records right only under a condition you confirm (each one's "
                          "note in the plan says which) and improvements that fix no problem; never a starting "
                          "point")
    pub.add_argument("--lockdown", action="store_true",
                     help="for a domain that never sends or receives mail: also publish the lockdown records (null "
                          "MX, SPF 'v=spf1 -all', DMARC p=reject, a revoked DKIM key for every selector); refused for "
                          "a domain with mail servers or senders")
    pub.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    pub.add_argument("--yes", "-y", action="store_true", help="apply without asking")
    wait_type = seconds(0, 7 * 24 * 3600, "wait")

    def _wait(value: str) -> float:
        return 0.0 if value.strip() in ("0", "0.0") else wait_type(value)

    pub.add_argument("--wait", type=_wait, default=0.0, metavar="SECONDS",
                     help="watch the authoritative servers until the change is live, up to this long (default: "
                          "ask once)")
    pub.add_argument("--nameserver", "-n", action="append", type=_nameserver, metavar="IP[:PORT]",
                     help="ask this DNS server (also as the authoritative server to verify on)")
    pub.add_argument("--timeout", type=_positive, default=4.0, metavar="SECONDS", help="time one DNS query may take")
    pub.add_argument("--json", action="store_true", help="print JSON instead of text")
    pub.add_argument("--color", choices=["auto", "always", "never"], default="auto",
                     help="colour the text output (default: when printing to a terminal)")
    pub.set_defaults(handler=cmd_publish)


# -- dns-account ----------------------------------------------------------------------------------------


def _secret_values(names: list[str], err: TextIO, account: str) -> dict[str, str] | None:
    if not names:
        return {}
    env = os.environ.get("INBOXREADY_PASSWORD")
    if len(names) == 1 and env:
        return {names[0]: env}
    if not sys.stdin or not sys.stdin.isatty():
        err.write("inboxready: no secret value: set INBOXREADY_PASSWORD (when one secret is named) or run this in a "
                  "terminal to be asked\n")
        return None
    import getpass

    return {n: getpass.getpass(f"{n} for DNS account {account} (stored in the system keyring): ") for n in names}


def cmd_dns_account(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.publish.accounts import AccountError, AccountStore, DnsAccount, looks_secret
    from inboxready.core.publish.hosts import host_for_provider
    from inboxready.core.publish.lexicon_adapter import PublishError, provider_option_names
    from inboxready.core.store.credentials import KeyringUnavailable

    store = AccountStore()
    if store.problem:
        err.write(f"inboxready: {store.problem}\n")
    action = args.account_command
    try:
        if action == "add":
            known = provider_option_names(args.provider)
            host = host_for_provider(args.provider.strip().lower())
            options: dict[str, str] = {}
            for item in args.option:
                key, eq, value = item.partition("=")
                key = key.strip()
                if not eq or not key:
                    err.write(f"inboxready: --option {item!r}: write it as KEY=VALUE\n")
                    return EXIT_FAILED
                if key not in known:
                    err.write(f"inboxready: {args.provider} has no option {key!r}; its options are: {', '.join(known)}\n")
                    return EXIT_FAILED
                if looks_secret(key) or (host is not None and key in host.secrets):
                    err.write(f"inboxready: {key} is a secret: give it with --secret {key} (its value is then asked "
                              "for or read from INBOXREADY_PASSWORD, and kept only in the system keyring, never in a "
                              "file or your shell history)\n")
                    return EXIT_FAILED
                options[key] = value
            for key in args.secret:
                if key not in known:
                    err.write(f"inboxready: {args.provider} has no option {key!r}; its options are: {', '.join(known)}\n")
                    return EXIT_FAILED
            account = DnsAccount(args.name, args.provider, options, list(args.secret))
            values: dict[str, Any] | None = _secret_values(list(args.secret), err, account.name)
            if values is None:
                return EXIT_FAILED
            store.put(account, values)
            out.write(f"Saved DNS account {account.name!r} ({account.provider})"
                      + (f", {', '.join(account.secrets)} in the system keyring" if account.secrets else "") + ".\n")
            if host is not None:
                missing = [s for s in host.secrets if s not in account.secrets]
                if missing:
                    err.write(f"inboxready: note: {host.name} usually needs the secret(s) {', '.join(missing)}\n")
                if host.permission:
                    out.write(f"Least rights to give this token at {host.name}: {host.permission}.\n")
            return EXIT_OK
        if action == "list":
            items = store.all()
            if args.json:
                from inboxready.app.cli.out import write_json

                write_json([a.to_json() for a in items], out)
                return EXIT_OK
            if not items:
                out.write("No DNS accounts yet. Add one with: inboxready dns-account add NAME --provider PROVIDER "
                          "--secret auth_token\n")
            for a in items:
                opts = " ".join(f"{k}={v}" for k, v in a.options.items())
                secrets = ", ".join(a.secrets)
                out.write(f"{a.name:<16} {a.provider:<14} {opts}" + (f"  (in the keyring: {secrets})" if secrets else "")
                          + "\n")
            return EXIT_OK
        if action == "test":
            return _account_test(store.get(args.name), args, out, err)
        if action == "remove":
            account = store.get(args.name)
            store.remove(account)
            out.write(f"Removed DNS account {account.name!r} and its secrets.\n")
            return EXIT_OK
    except (AccountError, KeyringUnavailable, PublishError) as exc:
        err.write(f"inboxready: {exc}\n")
        return EXIT_FAILED
    err.write("inboxready: say what to do: dns-account add|list|test|remove\n")
    return EXIT_FAILED


def _account_test(account: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.dns.client import DnsClient
    from inboxready.core.publish.lexicon_adapter import ProviderSession, PublishError
    from inboxready.core.publish.zone import find_zone

    domain = args.domain or (account.domains[0] if account.domains else "")
    if not domain:
        err.write("inboxready: say which domain to test with: inboxready dns-account test NAME DOMAIN\n")
        return EXIT_FAILED
    secrets = account.read_secrets()

    async def go() -> str:
        client = DnsClient(args.nameserver, timeout=args.timeout)
        try:
            zone = await find_zone(client, domain)
        finally:
            client.close()
        z = zone.zone or domain

        def sign_in() -> int:
            with ProviderSession(account.provider, account.options, secrets, z) as s:
                return len(s.list("TXT", z))

        n = await asyncio.to_thread(sign_in)
        return f"Signed in at {account.provider} and read the zone {z} ({n} TXT record(s) at its top)."

    try:
        text = asyncio.run(go())
    except PublishError as exc:
        err.write(f"inboxready: {exc}\n")
        return EXIT_FAILED
    out.write(f"✓ DNS account {account.name!r}: {text}\n")
    return EXIT_OK


# -- publish --------------------------------------------------------------------------------------------


def _confirm(args: argparse.Namespace, err: TextIO, question: str) -> bool:
    if args.yes:
        return True
    if args.json or not sys.stdin or not sys.stdin.isatty():
        return False
    err.write(f"{question} [y/N] ")
    err.flush()
    try:
        answer = sys.stdin.readline()
    except (OSError, KeyboardInterrupt):
        return False
    return answer.strip().lower() in ("y", "yes")


def _render_plan(run: Any, out: TextIO, style: Any, host_name: str) -> None:
    plan = run.plan
    if plan is None:
        return
    if not plan.changes:
        out.write("Nothing to publish.\n")
    else:
        out.write(style(f"Plan ({len(plan.changes)} change{'s' if len(plan.changes) != 1 else ''} at {host_name}, "
                        f"zone {plan.zone}):", "1") + "\n")
    from inboxready.app.cli.text import _wrap
    from inboxready.app.cli.out import shown
    from inboxready.core.publish.plan import INCLUDE_WORDS

    for i, c in enumerate(plan.changes, 1):
        chosen = {"suggestions": "  [a suggestion you included]", "lockdown": "  [lockdown, as you asked]"}.get(
            c.included, "")
        out.write(f"  {i}. {c.action} {c.type} {c.host}{chosen}\n")
        if c.old is not None:  # a record's value whole on its line (never wrapped, never cut)
            out.write(f"       old: {shown(c.old)}\n")
        if c.new is not None:
            out.write(f"       new (TTL {c.ttl}): {shown(c.new)}\n")
        out.write("\n".join(_wrap(f"solves: {c.finding}" + (f": {c.why}" if c.why else ""), "       ")) + "\n")
        if c.note:
            out.write("\n".join(_wrap(f"note: {c.note}", "       ")) + "\n")
    if plan.left_out:
        out.write(style("Not published for you:", "1") + "\n")
        for lo, codes in plan.left_out_once():
            recs = lo.fix.records
            what = "; ".join(f"{r.type} {r.host}" for r in recs)
            out.write("\n".join(_wrap(f"- {what}: {lo.reason} ({', '.join(dict.fromkeys(codes))})", "  ",
                                       )) + "\n")
            for r in recs:  # each value whole on a line of its own (never wrapped, so it copies as is)
                out.write(f"      {r.type} {r.host}: {shown(r.value)}\n" if len(recs) > 1 else
                          f"      {shown(r.value)}\n")
        for key, flag in (("suggestions", "--include-suggestions"), ("lockdown", "--lockdown")):
            n = len({(r.host, r.type, r.value) for lo, _ in plan.left_out_once() if lo.include == key
                     for r in lo.fix.records})  # records, not the findings that offer them
            if n:
                out.write("\n".join(_wrap(f"{flag} would publish {'it' if n == 1 else f'these {n} records'} too ("
                                          f"{INCLUDE_WORDS[key]}).", "  ")) + "\n")
    if plan.predicted is not None:
        words = ", ".join(f"{n} {r.status.label.lower()}" for n, r in plan.predicted.checks.items())
        out.write(f"Tried first, as if published: {words}.\n")
    if plan.problem:
        out.write(style(plan.problem, "31") + "\n")


def _exit_for(run: Any) -> int:
    from inboxready.core.model import Status

    if run.error is not None:
        return EXIT_FAILED
    res = run.result
    if res is not None and res.state in ("refused", "failed", "partial") and res.kind not in ("empty",):
        return EXIT_FAILED
    report = run.after or run.before
    if res is None or not res.applied:  # dry run, or nothing to do
        if run.plan is not None and run.plan.changes:
            return EXIT_FINDINGS
        if report is None:
            return EXIT_FINDINGS
        return EXIT_OK if report.status in (Status.PASS, Status.INFO) else EXIT_FINDINGS
    if run.propagation is not None and not run.propagation.live:
        return EXIT_FINDINGS
    if report is not None and report.status in (Status.PASS, Status.INFO):
        return EXIT_OK
    return EXIT_FINDINGS


def _json(run: Any) -> dict[str, Any]:
    from inboxready.app.cli.check import _report_json

    report = run.after or run.before
    res = run.result
    return {
        "domain": run.domain,
        "plan": run.plan.to_json() if run.plan else [],
        "applied": bool(res and res.applied),
        "change_id": (res.change_id or None) if res else None,
        "propagation": [{"server": s["server"], "live": s["live"], "records": s["records"]}
                        for s in run.propagation.to_json()] if run.propagation else [],
        "after": _report_json(report) if report is not None else None,
        "state": res.state if res else ("failed" if run.error else "planned"),
        "message": str(run.error) if run.error else (res.message if res else ""),
        "error": run.error.kind if run.error else (res.kind if res and not res.applied else None),
        "left_out": [lo.to_json() for lo in run.plan.left_out] if run.plan else [],
        "undoes": run.undoing.id if run.undoing else None,
        "dns_host": run.inspection.to_json() if run.inspection else None,
    }


def cmd_publish(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.app.cli.text import _Style, _use_colour
    from inboxready.core.context import ALL_CHECKS, CheckOptions
    from inboxready.core.domain import DomainError, parse_domain
    from inboxready.core.store.credentials import KeyringUnavailable
    from inboxready.core.publish.accounts import AccountError, AccountStore
    from inboxready.core.publish.flow import PUBLISH_CHECKS, Publisher
    from inboxready.core.publish.hosts import host_for_provider
    from inboxready.core.publish.journal import JournalError
    from inboxready.core.publish.lexicon_adapter import PublishError

    from inboxready.app.cli.out import safe_stream

    out, err = safe_stream(out), safe_stream(err)
    style = _Style(_use_colour(out, args.color) and not args.json)
    if not args.undo and not args.domain:
        err.write("inboxready: say which DOMAIN to publish for (or --undo CHANGE_ID)\n")
        return EXIT_FAILED
    try:
        account = AccountStore().get(args.account)
        secrets = account.read_secrets()
    except (AccountError, KeyringUnavailable) as exc:
        err.write(f"inboxready: {exc}\n")
        return EXIT_FAILED
    chosen = args.only or ALL_CHECKS
    checks = tuple(n for n in PUBLISH_CHECKS if n in chosen and n not in args.skip)
    options = CheckOptions(nameservers=args.nameserver, timeout=args.timeout, deadline=60.0, checks=PUBLISH_CHECKS)
    host = host_for_provider(account.provider)
    host_name = host.name if host else account.provider
    quiet = args.json

    def on_step(i: int, c: Any, state: str) -> None:
        if not quiet:
            err.write(f"  {'✓' if state == 'applied' else '✗'} {c.action} {c.type} {c.host}\n")
            err.flush()

    def on_round(p: Any) -> None:
        if not quiet:
            err.write(f"  … {p.summary()}\n")
            err.flush()

    async def go() -> Any:
        async with Publisher(account, options, secrets=secrets, servers=args.nameserver) as pub:
            if args.undo:
                entry = pub.journal.get(args.undo)
                if entry is not None and not args.json:
                    out.write(f"Undo {entry.id} ({entry.created}, {entry.domain}, account {entry.account}):\n")
                    for s in reversed(entry.applied_steps):
                        out.write(f"  - reverse: {s.action} {s.type} {s.host}"
                                  + (f" (back to {s.old_shown})" if s.old else "") + "\n")
                ok = entry is not None and _confirm(args, err, f"Undo {args.undo} at {host_name}?")
                return await pub.undo(args.undo, confirmed=ok, wait=args.wait, on_step=on_step, on_round=on_round)
            domain = parse_domain(args.domain).domain
            include = {k for k, on in (("suggestions", args.include_suggestions), ("lockdown", args.lockdown)) if on}
            run = await pub.plan(domain, checks=checks, include=frozenset(include))
            if run.error is not None or run.plan is None:
                return run
            if not args.json:
                _render_plan(run, out, style, host_name)
            if args.dry_run or not run.plan.changes or run.plan.problem:
                if run.plan.problem:
                    from inboxready.core.publish.plan import ApplyResult

                    run.result = ApplyResult("", False, "refused", run.plan.problem, "worse")
                return run
            ok = _confirm(args, err, f"Apply these {len(run.plan.changes)} changes at {host_name}?")
            return await pub.apply(run, confirmed=ok, wait=args.wait, on_step=on_step, on_round=on_round)

    try:
        run = asyncio.run(go())
    except (DomainError, JournalError, AccountError, KeyringUnavailable) as exc:
        err.write(f"inboxready: {exc}\n")
        return EXIT_FAILED
    except PublishError as exc:
        err.write(f"inboxready: {exc}\n")
        return EXIT_FAILED
    code = _exit_for(run)
    if args.json:
        from inboxready.app.cli.out import write_json

        write_json(_json(run), out)
        return code
    if run.error is not None:
        err.write(f"inboxready: {run.error}\n")
        return code
    res = run.result
    if res is not None:
        (out if res.applied else err).write(("" if res.applied else "inboxready: ") + res.message + "\n")
        if res.change_id:
            out.write(f"Change {res.change_id} is in the journal. Undo it with: inboxready publish --undo "
                      f"{res.change_id} --account {account.name}\n")
    if run.propagation is not None:
        out.write(run.propagation.summary() + "\n")
        for s in run.propagation.servers:
            live = run.propagation.server_live(s)
            out.write(f"  {'✓' if live else ('?' if live is None else '…')} {s.label}: "
                      f"{'serves the new records' if live else ('could not be asked' if live is None else 'not yet')}\n")
    if run.after is not None:
        out.write(f"Checked again: {run.after.status.label}. "
                  + ", ".join(f"{n} {r.status.label.lower()}" for n, r in run.after.checks.items()) + "\n")
    return code


# -- check: the DNS host, each fix in its form, and --authoritative ---------------------------------------


async def inspect_for_check(domains: list[str], nameservers: list[str] | None, timeout: float,
                            selectors: dict[str, list[str]], budget: float | None = None) -> dict[str, Any]:
    """``inspect_domain`` for each domain (zone, host, mistakes), bounded in time (and by ``budget`` seconds,
    what is left of the check's deadline); a failure or a domain not done in time is left out."""
    from inboxready.core.dns.client import DnsClient
    from inboxready.core.publish.flow import inspect_domain

    bound = timeout * 4 + 2 if budget is None else max(0.0, min(timeout * 4 + 2, budget))

    async def one(d: str) -> Any:
        client = DnsClient(nameservers, timeout=timeout, deadline=max(min(2.0, bound), min(timeout * 2, bound)))
        try:
            return await asyncio.wait_for(inspect_domain(d, client, servers=nameservers,
                                                         selectors=selectors.get(d, [])), bound)
        except Exception:
            return None
        finally:
            client.close()

    results = await asyncio.gather(*(one(d) for d in domains))
    return {d: r for d, r in zip(domains, results) if r is not None}


def host_form_for(fix: Any, inspection: Any) -> Any:
    """The fix as the domain's DNS host's form wants it (a ``HostForm``; the CLI prints it with
    ``text.host_form_lines``), or None when the zone isn't known."""
    from inboxready.core.publish.hosts import host_form

    if inspection is None or not inspection.zone.zone:
        return None
    return host_form(fix, inspection.zone.zone, inspection.host)


def attach_host_forms(data: dict[str, Any], inspection: Any) -> None:
    """Add ``host_form`` to every fix of a report's JSON, and ``dns_host`` (zone, host, mistakes)."""
    from inboxready.core.model import Fix
    from inboxready.core.publish.hosts import host_form

    data["dns_host"] = inspection.to_json() if inspection is not None else None
    if inspection is None or not inspection.zone.zone:
        return
    for check in data.get("checks", {}).values():
        fixes = list(check.get("fixes", [])) + [f.get("fix") for f in check.get("findings", []) if f.get("fix")]
        for fx in fixes:
            fix = Fix(fx["host"], fx["type"], fx["value"], int(fx.get("ttl", 3600)), fx.get("action", "publish"))
            fx["host_form"] = host_form(fix, inspection.zone.zone, inspection.host).to_json()


def render_host_section(inspection: Any, out: TextIO, style: Any) -> None:
    from inboxready.app.cli.text import _wrap, host_form_lines
    from inboxready.core.publish.hosts import host_form

    if inspection is None:
        return
    z = inspection.zone
    if not z.zone:
        out.write("\n".join(style(x, "2") for x in _wrap(f"DNS host: couldn't tell, because we {z.problem}.", "  "))
                  + "\n\n")
        return
    if inspection.host is not None:
        also = f" (or {', '.join(h.name for h in inspection.hosts[1:])})" if len(inspection.hosts) > 1 else ""
        out.write(style(f"  DNS host: {inspection.host.name}{also}, zone {z.zone}", "1")
                  + (f"  {inspection.host.console}" if inspection.host.console else "") + "\n")
    else:
        out.write(style(f"  DNS host: not one we know (name servers {', '.join(z.ns_names) or 'unknown'}), "
                        f"zone {z.zone}", "1") + "\n")
    for m in inspection.mistakes:
        lines = _wrap(m.message, "      ")
        out.write(style("    ✗ " + lines[0][6:], "31") + "\n" + "".join(line + "\n" for line in lines[1:]))
        for f in m.fixes:
            out.write("\n".join(host_form_lines(host_form(f, z.zone, inspection.host), "      ")) + "\n")
    out.write("\n")


def authoritative_section(domain: str, report: Any, inspection: Any, nameservers: list[str] | None,
                          timeout: float, out: TextIO, style: Any) -> dict[str, Any]:
    """``check --authoritative``: what every authoritative server serves for the records the check read and
    the fixes it offers, whether they agree, and how long resolvers may keep what they cached."""
    from inboxready.app.cli.out import shown as _shown
    from inboxready.core.publish.propagation import answer_values, ask_server

    if inspection is None or not inspection.zone.servers:
        why = inspection.zone.problem if inspection is not None else "couldn't find the zone"
        out.write(style(f"  Authoritative servers: couldn't ask, because we {why}.", "35") + "\n\n")
        return {"problem": why, "servers": []}
    names = {(domain, "TXT"), (f"_dmarc.{domain}", "TXT"), (domain, "MX")}
    for r in report.checks.values():
        for f in r.fixes:
            if f.type.upper() in ("TXT", "MX", "A", "AAAA", "CNAME"):
                names.add((f.host.rstrip(".").lower(), f.type.upper()))
    questions = sorted(names)

    async def go() -> list[dict[tuple[str, str], Any]]:
        return list(await asyncio.gather(*(ask_server(s, questions, timeout=timeout) for s in inspection.zone.servers)))

    per_server = asyncio.run(go())
    out.write(style(f"  Authoritative servers of {inspection.zone.zone} (asked directly, no cache):", "1") + "\n")
    rows = []
    for (host, rtype) in questions:
        seen = []
        for server, answers in zip(inspection.zone.servers, per_server):
            ans = answers[(host, rtype)]
            values = None if ans.failed else tuple(sorted(answer_values(ans)))
            seen.append((server, values, ans))
        known = {v for _, v, _ in seen if v is not None}
        agree = len(known) <= 1 and all(v is not None for _, v, _ in seen)
        values = next(iter(known)) if len(known) == 1 else ()
        ttl = next((a.ttl for _, _, a in seen if a.ttl), None)
        label = f"{rtype} {host}"
        # values whole, one per line: a record is never cut or wrapped
        if agree and values:
            inline = len(values) == 1 and len(values[0]) <= 60
            out.write(f"    ✓ {label}" + (f": all {len(seen)} serve the same" if len(seen) > 1 else "")
                      + (f": {_shown(values[0])}\n" if inline else ":\n"))
            if len(values) > 1 or len(values[0]) > 60:
                out.write("".join(f"        {_shown(v)}\n" for v in values))
        elif agree:  # nothing there: the servers agree, but a check mark would read as "fine"
            out.write(f"    – {label}: no record" + (f" (all {len(seen)} agree)" if len(seen) > 1 else "") + "\n")
        else:
            out.write(style(f"    ! {label}: the servers don't agree yet", "33") + "\n")
            for server, v, a in seen:
                if v is None or not v:
                    out.write(f"        {server.label}: {a.describe if v is None else 'no record'}\n")
                else:
                    out.write(f"        {server.label}:\n" + "".join(f"          {_shown(x)}\n" for x in v))
        stale = ttl if values else inspection.zone.negative_ttl
        if stale:
            out.write(style(f"        resolvers may keep their cached answer up to {stale} s "
                            f"({'the record TTL' if values else 'the zone negative-caching time'})", "2") + "\n")
        rows.append({"host": host, "type": rtype, "agree": agree, "stale_for": stale,
                     "servers": [{"server": s.address, "name": s.name,
                                  "values": list(v) if v is not None else None,
                                  "error": a.describe if v is None else ""} for s, v, a in seen]})
    out.write("\n")
    return {"zone": inspection.zone.zone, "records": rows}
