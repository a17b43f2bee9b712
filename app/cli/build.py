"""``inboxready build``: the record builders on the command line.

    inboxready build spf --service NAME... [--ip IP]... [--include DOMAIN]... [--domain D] [--all ~|-|?]
                         [--flatten] [--list-services] [--json]
    inboxready build dmarc DOMAIN --rua ADDR [--ruf ADDR] [--stage STAGE] [--sp POLICY] [--np POLICY] [--json]
    inboxready build dkim DOMAIN --private-key-out FILE [--selector S] [--type rsa|ed25519] [--bits N]
                          [--old-selector OLD] [--json]
    inboxready build whatif DOMAIN --record 'HOST TYPE VALUE' [--json]

Exit codes: 0 the record is ready; 1 the record has problems (or, for whatif, the checks found some);
2 something couldn't be looked up, or bad input.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any, TextIO

from inboxready.core.dns.client import DnsClient

from .out import shown, wrap_lines, write_json

EXIT_OK, EXIT_FINDINGS, EXIT_UNCHECKED = 0, 1, 2


def _wrap(text: str, indent: str = "  ", width: int = 100) -> str:
    return "\n".join(wrap_lines(text, indent, width))


def _dump(data: Any, out: TextIO) -> None:
    write_json(data, out)


def _client(args: argparse.Namespace) -> DnsClient:
    return DnsClient(args.nameserver, timeout=args.timeout, deadline=max(30.0, args.timeout * 8))


def _write_fix(fix: Any, out: TextIO) -> None:
    verb = {"replace": "Replace with", "remove": "Remove"}.get(fix.action, "Publish")
    out.write(f"{verb}: {shown(fix.type)} record at {shown(fix.host)}\n  {shown(fix.value)}\n")
    if fix.type.upper() == "TXT" and len(fix.strings) > 1:
        out.write("  Zone-file line (the value split into strings of up to 255 characters):\n")
        out.write(f"  {shown(fix.zone_line)}\n")
    if fix.note:
        out.write(_wrap(fix.note) + "\n")
    for extra in getattr(fix, "also_publish", ()):
        verb = {"replace": "Replace with", "remove": "Remove"}.get(extra.action, "Publish")
        out.write(f"  and {verb.lower()}: {shown(extra.type)} record at {shown(extra.host)}\n    {shown(extra.value)}\n")
        if extra.note:
            out.write(_wrap(extra.note, "    ") + "\n")


# -- spf -------------------------------------------------------------------------------------------


def cmd_spf(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.builders.spf import (
        FLATTEN_WARNING,
        SpfBuildError,
        build_spf,
        build_spf_live,
        flatten,
        load_catalog,
    )
    from inboxready.core.domain import DomainError, parse_domain

    if args.list_services:
        cat = load_catalog()
        if args.json:
            _dump([s.to_json() for s in cat], out)
        else:
            for s in cat:
                inc = (f"include:{s.include} ({s.lookups} lookups, {s.estimate_words})" if s.needs_root_include
                       else "no include (own return path)")
                out.write(f"{s.id:<16} {s.name:<36} {inc}\n")
        return EXIT_OK
    if not args.service and not args.ip and not args.include and not args.domain:
        err.write("inboxready: build spf needs --service, --ip, --include or --domain (see --list-services)\n")
        return EXIT_UNCHECKED
    domain = None
    if args.domain:
        try:
            domain = parse_domain(args.domain).domain
        except DomainError as exc:
            err.write(f"inboxready: {shown(exc)}\n")
            return EXIT_UNCHECKED

    async def go() -> tuple[Any, Any]:
        client = _client(args)
        try:
            if domain or args.flatten:
                b = await build_spf_live(args.service, args.ip, None, dns=client, domain=domain,
                                         all_qualifier=args.all, extra_includes=args.include)
            else:
                b = build_spf(args.service, args.ip, None, all_qualifier=args.all, extra_includes=args.include)
            flat = await flatten(b.record, client, domain) if args.flatten else None
            return b, flat
        finally:
            client.close()

    try:
        b, flat = asyncio.run(go())
    except SpfBuildError as exc:
        err.write(f"inboxready: {shown(exc)}\n")
        return EXIT_UNCHECKED
    couldnt = any("couldn't" in p for p in b.problems) or (flat is not None and flat.record is None)
    code = EXIT_UNCHECKED if couldnt else EXIT_OK if b.ok and (flat is None or flat.ok) else EXIT_FINDINGS
    if args.json:
        data = b.to_json()
        data["flattened"] = flat.to_json() if flat is not None else None
        _dump(data, out)
        return code
    how = ("counted over DNS" if b.lookups_live else "estimated from our list" if b.lookups_known
           else "at least, estimated from our list")
    over = b.lookups > 10
    if domain and b.check is None:
        # The domain's current record couldn't be read (a timeout, SERVFAIL): a record built without it would
        # replace whatever it lists, so no record is shown as one to publish (as `build dmarc` offers no step)
        problem = next((p for p in b.problems if p.startswith("We couldn't read")), "")
        why = problem.partition(f"record of {domain} (")[2].rpartition("), so this record")[0]
        out.write(_wrap(
            f"Not ready to publish: we couldn't read the current SPF record of {shown(domain)}"
            + (f" ({shown(why)})" if why else "") + ". A record built without it would leave out "
            "the servers your current record lists, and their mail would stop passing SPF. Try again later or "
            "with another DNS server (--nameserver), or leave out --domain to see a record of only the services "
            "and addresses you gave.", "") + "\n")
        out.writelines("i " + _wrap(n)[2:] + "\n" for n in b.notes)
        for setup in b.setups:
            for r in setup.records:
                _write_fix(r, out)
        return EXIT_UNCHECKED
    if over:
        out.write(f"This record would need {b.lookups} DNS lookups ({how}); receivers allow 10, so it would not work "
                  f"as it is:\n  {shown(b.record)}\n")
    else:
        out.write(f"SPF record ({b.lookups} of 10 DNS lookups, {how}):\n  {shown(b.record)}\n")
    if b.fix is not None:
        _write_fix(b.fix, out)
    elif len(b.strings) > 1:
        out.write("  As TXT strings: " + " ".join(f'"{shown(s)}"' for s in b.strings) + "\n")
    out.writelines("! " + _wrap(p)[2:] + "\n" for p in b.problems)
    costly = [(t, c) for t, c in b.costs.items() if c]
    if costly and (over or not b.lookups_live):
        out.write("Lookups per rule: " + "; ".join(
            f"{shown(t)} {c if c is not None else '?'}" + (f" ({b.cost_sources[t]})" if t in b.cost_sources else "")
            for t, c in costly) + "\n")
    for i, option in enumerate(b.options, 1):
        out.write(f"\nOption {i}: {option.title or 'a record that fits'}\n")
        _write_fix(option, out)
    out.writelines("i " + _wrap(n)[2:] + "\n" for n in b.notes)
    for setup in b.setups:
        for r in setup.records:
            _write_fix(r, out)
    if b.dkim_selectors:
        out.write(f"DKIM selectors to expect: {shown(', '.join(b.dkim_selectors))}\n")
    if flat is not None:
        out.write("\nFlattened (on request):\n")
        if flat.record:
            out.write(f"  {shown(flat.record)}\n  ({flat.lookups} DNS lookups)\n")
        out.writelines("! " + _wrap(p)[2:] + "\n" for p in flat.problems)
        out.write("! " + _wrap(FLATTEN_WARNING)[2:] + "\n")
    return code


# -- dmarc -----------------------------------------------------------------------------------------


def cmd_dmarc(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.builders.dmarc import CurrentRecord, DmarcBuildError, dmarc_ladder, read_current
    from inboxready.core.domain import DomainError, parse_domain

    try:
        domain = parse_domain(args.domain).domain
    except DomainError as exc:
        err.write(f"inboxready: {shown(exc)}\n")
        return EXIT_UNCHECKED
    current = args.current
    note = ""
    ignored = False
    if current is None and not args.offline:
        async def live() -> CurrentRecord:
            client = _client(args)
            try:
                return await read_current(client, domain)
            finally:
                client.close()
        now = asyncio.run(live())
        if not now.known:  # "couldn't check" is never "no record": no step is offered as if there were none
            hint = " Or give your current record with --current 'v=DMARC1; …' (or none: --offline)."
            if args.json:
                _dump({"domain": domain, "current_record": None, "current_stage": "unknown", "note": now.message,
                       "steps": []}, out)
            else:
                err.write(_wrap(f"inboxready: {now.message}{hint}", "") + "\n")
            return EXIT_UNCHECKED
        current, note, ignored = now.record, now.message, now.ignored
    try:
        steps = dmarc_ladder(domain, args.rua or None, current=current, sp=args.sp, ruf=args.ruf or None,
                             np=None if args.np == "omit" else args.np, ignored=ignored)
    except DmarcBuildError as exc:
        err.write(f"inboxready: {shown(exc)}\n")
        return EXIT_UNCHECKED
    picked = [s for s in steps if s.stage == args.stage] if args.stage else steps
    at = next((s.stage for s in steps if s.current), None)
    if args.json:
        _dump({"domain": domain, "current_record": current, "current_stage": at, "note": note,
               "steps": [s.to_json() for s in picked]}, out)
        return EXIT_OK
    out.write(f"DMARC rollout for {shown(domain)}" + (f" (you are at: {at})" if at else "") + "\n")
    if current and not ignored:
        out.write(f"  Current record: {shown(current)}\n")
    if note:
        out.write(_wrap(note) + "\n")
    for s in picked:
        mark = "  ← you are here" if s.current else ""
        out.write(f"\n{shown(s.title)}{mark}\n")
        out.write(_wrap(s.text) + "\n")
        _write_fix(s.fix, out)
        if s.wait:
            out.write(f"  Stay at this step for {s.wait} while you read the reports.\n")
        out.writelines("i " + _wrap(n)[2:] + "\n" for n in s.notes)
    if picked and picked[0].extra_fixes:
        out.write("\nReport authorization (published by the report destination):\n")
        for f in picked[0].extra_fixes:
            _write_fix(f, out)
    return EXIT_OK


# -- dkim ------------------------------------------------------------------------------------------


def cmd_dkim(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.builders.dkimkeys import (
        DkimKeyError,
        generate_key,
        lookup_current_key,
        rotation_plan,
    )
    from inboxready.core.domain import DomainError, parse_domain

    try:
        domain = parse_domain(args.domain).domain
        key = generate_key(domain, args.selector, args.type, args.bits)
        path = key.save_private_key(args.private_key_out, overwrite=args.overwrite)
    except (DomainError, DkimKeyError) as exc:
        err.write(f"inboxready: {shown(exc)}\n")
        return EXIT_UNCHECKED
    old_value, old_state = None, None
    if args.old_selector:
        async def old() -> tuple[str | None, str]:
            client = _client(args)
            try:
                return await lookup_current_key(client, domain, args.old_selector)
            finally:
                client.close()
        old_value, old_state = asyncio.run(old())
    plan = rotation_plan(key, args.old_selector, old_value, old_state=old_state)
    if args.json:
        data = key.to_json()
        data["private_key_file"] = str(path)
        data["rotation"] = [s.to_json() for s in plan]
        _dump(data, out)
        return EXIT_OK
    out.write(f"New {key.key_type.upper()} key ({key.bits} bits), selector {shown(key.selector)}.\n")
    out.write(f"Private key saved to {shown(path)} (readable by you only). Keep it secret; it never leaves this "
              "computer.\n")
    _write_fix(key.fix, out)
    out.write("\nRotation plan:\n")
    for i, s in enumerate(plan, 1):
        out.write(f"{i}. {shown(s.title)}\n{_wrap(s.text, '   ')}\n")
        if s.fix is not None and s.fix.action == "remove":
            out.write(f"   Remove: {shown(s.fix.type)} record at {shown(s.fix.host)}\n     {shown(s.fix.value)}\n")
    return EXIT_OK


# -- whatif ----------------------------------------------------------------------------------------


def cmd_whatif(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.builders.whatif import WhatIfError, parse_record_line, what_if
    from inboxready.core.context import CheckOptions

    from .check import _exit_code
    from .text import _Style, _use_colour, render_report

    try:
        host, rdtype, value = parse_record_line(args.record)
    except WhatIfError as exc:
        err.write(f"inboxready: {shown(exc)}\n")
        return EXIT_UNCHECKED
    options = CheckOptions(nameservers=args.nameserver, timeout=args.timeout, deadline=60.0,
                           dkim_selectors=list(args.dkim_selector))
    try:
        report = asyncio.run(what_if(args.domain, host, rdtype, value, options))
    except WhatIfError as exc:
        err.write(f"inboxready: {shown(exc)}\n")
        return EXIT_UNCHECKED
    if args.json:
        data = report.to_json()
        data["what_if"] = {"host": host, "type": rdtype, "value": value}
        _dump(data, out)
    else:
        out.write(f"As if this were published: {shown(host)} {shown(rdtype)} {shown(value)}\n\n")
        render_report(report, out, _Style(_use_colour(out, args.color)))
    return _exit_code([report])


# -- registration ----------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("build", parents=[common], help="build SPF, DMARC and DKIM records, or try one first",
                       description="Build the DNS records to publish (SPF, DMARC, a DKIM key) or check a record "
                                   "as if it were published.")
    kinds = p.add_subparsers(dest="build_kind", metavar="KIND", required=True)
    # The common options (--json, --nameserver, ...) belong after KIND: argparse lets the leaf's defaults
    # win over the same options given before it.

    spf = kinds.add_parser("spf", parents=[common], help="one SPF record for the services you send with",
                         description="Build one SPF record for the services you send with and your own servers, "
                                     "with its DNS-lookup count. With --domain, your current record is read and "
                                     "merged in; when it can't be read, nothing is offered to publish.",
                         epilog="Exit codes: 0 the record is ready; 1 the record has problems; 2 something couldn't be looked up (nothing to publish yet), or bad input.")
    spf.add_argument("--service", "-s", action="append", default=[], metavar="NAME",
                     help="a sending service from the list (repeatable; see --list-services)")
    spf.add_argument("--ip", action="append", default=[], metavar="IP", help="your own server's IP or range")
    spf.add_argument("--include", action="append", default=[], metavar="DOMAIN", help="another include")
    spf.add_argument("--domain", "-d", metavar="DOMAIN", help="merge with this domain's live record and count "
                                                              "the lookups over DNS")
    spf.add_argument("--all", choices=["~", "-", "?"], default=None, help="the ending (default: keep, or ~)")
    spf.add_argument("--flatten", action="store_true", help="also show the record with includes replaced by "
                                                            "addresses (read the warning)")
    spf.add_argument("--list-services", action="store_true", help="list the services we know")
    spf.set_defaults(handler=cmd_spf)

    dm = kinds.add_parser("dmarc", parents=[common], help="the DMARC rollout ladder (RFC 9989)",
                        description="The DMARC records to publish step by step, from p=none with reports to "
                                    "p=reject, starting from the record DOMAIN has now (RFC 9989).",
                        epilog="Exit codes: 0 the steps are shown; 2 the current record couldn't be read "
                               "(give it with --current, or --offline), or bad input.")
    dm.add_argument("domain", metavar="DOMAIN", help="your domain (the record goes at _dmarc.DOMAIN)")
    dm.add_argument("--rua", action="append", default=[], metavar="ADDR", help="where aggregate reports go")
    dm.add_argument("--ruf", action="append", default=[], metavar="ADDR",
                    help="where failure reports go (few receivers send them; they may contain message content)")
    dm.add_argument("--stage", choices=["monitor", "test-quarantine", "quarantine", "test-reject", "reject"],
                    help="show only this step of the ladder (default: every step)")
    dm.add_argument("--sp", choices=["none", "quarantine", "reject"], help="policy for existing subdomains")
    dm.add_argument("--np", choices=["none", "quarantine", "reject", "omit"], default="reject",
                    help="policy for subdomains that don't exist (default reject; omit to leave out)")
    dm.add_argument("--current", metavar="RECORD", help="the current record (default: looked up)")
    dm.add_argument("--offline", action="store_true", help="don't look up the current record")
    dm.set_defaults(handler=cmd_dmarc)

    dk = kinds.add_parser("dkim", parents=[common], help="a new DKIM key pair and its DNS record",
                        description="Make a new DKIM key pair on this computer: the private key goes only to "
                                    "the file you name, the public key is the DNS record to publish, with a "
                                    "rotation plan.",
                        epilog="Exit codes: 0 the key is made and saved; 2 it couldn't be (bad input, the file "
                               "exists or can't be written).")
    dk.add_argument("domain", metavar="DOMAIN", help="the domain the key signs for")
    dk.add_argument("--selector", metavar="S", help="default: ir<year>-<month>")
    dk.add_argument("--type", choices=["rsa", "ed25519"], default="rsa",
                    help="the key type (default rsa, which every receiver checks; ed25519 only next to an rsa "
                         "key)")
    dk.add_argument("--bits", type=int, choices=[1024, 2048, 4096], default=2048,
                    help="the RSA key size in bits (default 2048; 1024 is weak)")
    dk.add_argument("--private-key-out", required=True, metavar="FILE", help="where to save the private key")
    dk.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    dk.add_argument("--old-selector", metavar="OLD", help="the selector you sign with now (for the rotation plan)")
    dk.set_defaults(handler=cmd_dkim)

    wi = kinds.add_parser("whatif", parents=[common], help="check a record as if it were published",
                        description="Check DOMAIN as if the record given with --record were already published "
                                    "(nothing is changed anywhere).",
                        epilog="Exit codes: 0 everything would pass; 1 something would still need fixing; 2 "
                               "something couldn't be checked, or bad input.")
    wi.add_argument("domain", metavar="DOMAIN", help="the domain to check")
    wi.add_argument("--record", required=True, metavar="'HOST TYPE VALUE'",
                    help="e.g. '_dmarc TXT \"v=DMARC1; p=reject\"' (HOST relative to DOMAIN, or @)")
    wi.add_argument("--dkim-selector", action="append", default=[], metavar="NAME",
                    help="also look for a DKIM key at this selector (repeatable)")
    wi.set_defaults(handler=cmd_whatif)
