"""``inboxready spf DOMAIN --ip IP [--sender ADDR] [--helo NAME]``: RFC 7208 ``check_host()`` for one
sending address, and why.

Exit 0 pass; 1 any other result (none, neutral, softfail, fail, permerror); 2 temperror (couldn't check:
DNS didn't answer) or a usage error.
"""

from __future__ import annotations

import argparse
import ipaddress
from typing import Any, TextIO

from inboxready.core.dns.client import DnsClient
from inboxready.core.domain import DomainError, parse_domain

from .out import OutOfTime, add_deadline, run_within, shown, write_json
from .text import _Style, _use_colour, _wrap, render_trouble

EXIT_OK, EXIT_FINDINGS, EXIT_UNCHECKED = 0, 1, 2


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    spf = sub.add_parser("spf", parents=[common], help="evaluate SPF for a sending IP (check_host)",
                         description="Run the RFC 7208 check_host() for IP sending as DOMAIN and say why.",
                         epilog="Exit codes: 0 pass; 1 any other result (fail, softfail, neutral, none, "
                                "permerror); 2 temperror (DNS couldn't answer: try again later), or bad input.")
    spf.add_argument("domain", metavar="DOMAIN", help="the domain to evaluate (usually the MAIL FROM domain)")
    spf.add_argument("--ip", required=True, help="the sending server's IPv4 or IPv6 address")
    spf.add_argument("--sender", help="the MAIL FROM address (default postmaster@DOMAIN)")
    spf.add_argument("--helo", help="the HELO/EHLO name the server used")
    add_deadline(spf, what="the evaluation's")
    spf.set_defaults(handler=cmd_spf)


_SPF_EXIT = {"pass": EXIT_OK, "none": EXIT_FINDINGS, "neutral": EXIT_FINDINGS, "softfail": EXIT_FINDINGS,
             "fail": EXIT_FINDINGS, "permerror": EXIT_FINDINGS, "temperror": EXIT_UNCHECKED}


def cmd_spf(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.checks.spf import check_host

    try:
        ipaddress.ip_address(args.ip)
    except ValueError:
        err.write(f"inboxready: {args.ip!r} is not an IP address\n")
        return EXIT_UNCHECKED
    try:
        domain = parse_domain(args.domain).domain
    except DomainError:
        # Not a usable domain name (a label over 63 octets, an empty label, a domain literal, a HELO that
        # isn't a FQDN): RFC 7208 §4.3 makes the result "none", and check_host says why.
        domain = args.domain.strip()
    sender = args.sender if args.sender is not None else f"postmaster@{domain}"

    async def go() -> Any:
        client = DnsClient(args.nameserver, timeout=args.timeout, deadline=args.deadline)
        try:
            ev = await check_host(args.ip, domain, sender, helo=args.helo, dns=client)
            trouble = await client.diagnose(domain) if ev.result == "temperror" else None
            return ev, trouble
        finally:
            client.close()

    try:
        ev, trouble = run_within(go(), args.deadline)
    except OutOfTime as exc:
        err.write(f"inboxready: SPF for {shown(domain)}: {exc}\n")
        return EXIT_UNCHECKED
    data = ev.to_json()
    if trouble is not None:
        data["dns_trouble"] = trouble.to_json()
    if args.json:
        write_json(data, out)
    else:
        style = _Style(_use_colour(out, args.color))
        code = {"pass": "32", "fail": "31", "softfail": "33", "neutral": "33", "none": "33",
                "temperror": "35", "permerror": "31"}.get(data["result"], "0")
        out.write(style(f"SPF {shown(data['result'])}", f"1;{code}") + f" for {shown(args.ip)} sending as "
                  f"{shown(sender)}\n")
        if data.get("explanation"):
            out.write("\n".join(_wrap(str(data["explanation"]), "  ")) + "\n")
        if data.get("mechanism") and f"'{data['mechanism']}'" not in str(data.get("explanation") or ""):
            out.write(f"  matched: {shown(data['mechanism'])}\n")
        for step in data.get("trace", []):
            out.write(style(f"    {shown(step)}", "2") + "\n")
        if trouble is not None:
            render_trouble(trouble, out, style)
    return _SPF_EXIT.get(data["result"], EXIT_FINDINGS)
