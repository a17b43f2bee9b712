"""``inboxready check DOMAIN... [--demo] [--json] [--checklist] [--profile NAME] [--report FILE]``: check
domains (``check_and_judge``: the checks, the bulk-sender checklist and, with --profile, a compliance
profile's verdict), print them as text or JSON, with each fix in the form of the domain's DNS host, and
save an audit report. ``--demo`` checks the bundled demo domains on a loopback DNS server.

Exit 0 all passed; 1 something to fix was found; 2 couldn't check (and nothing to fix), or a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import errno
import importlib.util
import io
import json
import os
import tempfile
import time
from typing import TYPE_CHECKING, Any, Sequence, TextIO, cast

from inboxready.core.context import ALL_CHECKS, CheckOptions
from inboxready.core.domain import DomainError, as_text, parse_domain
from inboxready.core.frontend import CLI
from inboxready.core.model import CheckResult, DomainReport, Status
from inboxready.core.policy.bulk import bulk_sender_readiness

from . import publish
from .out import DEADLINE, count, safe_stream, shown, write_json
from .text import _Style, _status_column, _use_colour, _wrap, render_report, render_trouble

if TYPE_CHECKING:
    from inboxready.core.policy.pipeline import Judged

EXIT_OK, EXIT_FINDINGS, EXIT_UNCHECKED = 0, 1, 2


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    check = sub.add_parser("check", parents=[common], help="check one or more domains",
                           description="Check the SPF, DKIM, DMARC and MX records of each DOMAIN, and the "
                                       "optional extras: MTA-STS, TLS reporting, BIMI, DNSSEC, reverse DNS "
                                       "and STARTTLS on the mail servers.",
                           epilog="Exit codes: 0 everything passed; 1 something to fix was found; 2 something "
                                  "couldn't be checked (a DNS timeout or failure: never read as missing) and "
                                  "nothing to fix was found, or the command was used wrongly.")
    check.add_argument("domains", nargs="*", metavar="DOMAIN",
                       help="a domain, web address or e-mail address (with --demo: a demo domain)")
    check.add_argument("--demo", action="store_true",
                       help="check the bundled example domains, answered by a DNS server built into InboxReady "
                            "(no network needed); without a DOMAIN, list them")
    check.add_argument("--dkim-selector", "-s", action="append", default=[], metavar="NAME",
                       help="also look for a DKIM key at this selector (repeatable)")
    check.add_argument("--deadline", type=DEADLINE, default=60.0, metavar="SECONDS",
                       help="give up on a domain's remaining lookups after this long (default 60, at most 3600)")
    check.add_argument("--concurrency", type=count(1, 100, "concurrency"), default=10, metavar="N",
                       help="domains checked at once (default 10, at most 100)")
    check.add_argument("--quiet", "-q", action="store_true", help="only the one-line summary per check")
    check.add_argument("--checklist", action="store_true",
                       help="also list the Google / Yahoo / Microsoft sender rules one by one (always in --json)")
    check.add_argument("--spam-rate", type=_percent, metavar="PERCENT",
                       help="your spam rate from Google Postmaster Tools, e.g. 0.08, for the checklist")
    check.add_argument("--only", type=_check_list, metavar="LIST",
                       help="run only these checks, e.g. spf,dmarc (names: " + ", ".join(ALL_CHECKS) + ")")
    check.add_argument("--skip", type=_check_list, default=(), metavar="LIST",
                       help="leave these checks out, e.g. starttls when your network blocks port 25")
    check.add_argument("--profile", choices=_profile_names(), metavar="NAME",
                       help="also judge the result against a compliance profile: "
                            + ", ".join(_profile_names()) + " (the report's default: bulk-sender)")
    check.add_argument("--authoritative", action="store_true",
                       help="also ask every authoritative server of the zone directly (no cache) what it serves, "
                            "and how long resolvers may keep the old answer (with --nameserver: that server)")
    check.add_argument("--report", metavar="FILE",
                       help="also save an audit report: FILE.pdf, FILE.html or FILE.json by its extension "
                            "(with several domains, the domain is added to each file name); PDF needs the "
                            "desktop part (PySide6)")
    check.set_defaults(handler=cmd_check)


def _exit_code(reports: Sequence[DomainReport]) -> int:
    """1 when something needs fixing, else 2 when a check every sender needs couldn't run, else 0 (an
    optional check that couldn't run from here, e.g. STARTTLS with port 25 blocked, is on its card only)."""
    statuses = {r.status for rep in reports for r in rep.checks.values()}
    if Status.FAIL in statuses or Status.WARN in statuses:
        return EXIT_FINDINGS
    if any(rep.status is Status.ERROR for rep in reports):
        return EXIT_UNCHECKED
    return EXIT_OK


def _report_json(report: DomainReport) -> dict[str, Any]:
    data = report.to_json()
    data["bulk_sender"] = [r.to_json() for r in bulk_sender_readiness(report.checks)]
    return data


_CHECKLIST_LOOK = {"met": ("✓", "32"), "not-met": ("✗", "31"), "needs-test-message": ("…", "36"),
                   "cant-see": ("?", "2"), "unknown": ("?", "35"), "pending": ("…", "2")}


def render_checklist(result: CheckResult, out: TextIO, style: _Style) -> None:
    """The bulk-sender rules one per line: state, rule, who asks since when, and why."""
    from inboxready.core.policy.checklist import STATE_WORDS, ChecklistDetail

    out = safe_stream(out)
    out.write(style("  Sender rules (Google, Yahoo, Microsoft):", "1") + "\n")
    for item in cast(ChecklistDetail, result.detail)["items"]:  # the checklist's shape
        state = item["state"]
        sym, code = _CHECKLIST_LOOK.get(state, ("?", "2"))
        who = ", ".join(w.capitalize() for w in item["who"]) or "InboxReady's advice"
        scope = "all senders" if item["applies"] == "all" else "bulk senders"
        word = STATE_WORDS.get(state, state)
        out.write(f"    {style(sym + ' ' + word, code)}: {shown(item['label'])} ({shown(who)}, {scope}, since "
                  f"{shown(item['since_text'] or item['since'])})\n")
        if item["why"]:
            out.write("\n".join(_wrap(item["why"], "        ")) + "\n")


def _percent(value: str) -> float:
    try:
        rate = float(value.strip().rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a percentage such as 0.08") from None
    if not 0 <= rate <= 100:
        raise argparse.ArgumentTypeError(f"{value!r} is not between 0 and 100")
    return rate


def _check_list(text: str) -> tuple[str, ...]:
    names = tuple(n.strip().lower().replace("-", "_") for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in ALL_CHECKS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown check {', '.join(unknown) or repr(text)}; the checks are: "
                                         + ", ".join(ALL_CHECKS))
    return names


def chosen_checks(only: Sequence[str] | None, skip: Sequence[str] | None) -> tuple[str, ...]:
    """The checks ``--only`` and ``--skip`` leave, in the usual order (may be empty: the caller says so)."""
    return tuple(n for n in ALL_CHECKS if n in (only or ALL_CHECKS) and n not in (skip or ()))


def nothing_chosen(only: Sequence[str] | None, skip: Sequence[str] | None) -> str:
    """The sentence for ``--only``/``--skip`` that leave no check at all."""
    return (f"--only {','.join(only or ALL_CHECKS)} with --skip {','.join(skip or ())} leaves no check to run; "
            "leave one of them out or name other checks")


async def _check(args: argparse.Namespace) -> tuple[list[Judged], list[tuple[str, str]]]:
    """Check and judge every domain given (``check_and_judge``: the checks, the checklist and, with
    --profile, the profile's verdict); the texts that are no domain come back with the reason."""
    checks = chosen_checks(args.only, args.skip)
    options = CheckOptions(nameservers=args.nameserver, timeout=args.timeout, deadline=args.deadline,
                           dkim_selectors=list(args.dkim_selector), checks=checks)
    domains: list[str] = []
    bad: list[tuple[str, str]] = []
    for text in args.domains:
        try:
            domains.append(parse_domain(text).domain)
        except DomainError as exc:
            bad.append((text, str(exc)))
    from inboxready.core.policy.pipeline import check_and_judge

    own = getattr(args, "domain_selectors", None) or {}  # the demo: each domain's own DKIM selectors
    sem = asyncio.Semaphore(max(1, args.concurrency))
    profile = getattr(args, "profile", None)

    async def one(domain: str) -> Judged:
        selectors = list(dict.fromkeys([*options.dkim_selectors, *own.get(domain, ())]))
        async with sem:
            return await check_and_judge(domain, dataclasses.replace(options, dkim_selectors=selectors),
                                         profile=profile, spam_rate=args.spam_rate, front=CLI)

    return list(await asyncio.gather(*(one(d) for d in domains))), bad


def _profile_names() -> list[str]:
    from inboxready.core.policy.compliance import load_profiles

    return list(load_profiles())


REPORT_TYPES = (".pdf", ".html", ".htm", ".json")
MIN_INSPECTION = 0.5  # seconds: with less left of --deadline, the DNS host section is left out


_STATE_LOOK = {"met": ("✓", "32"), "not-met": ("✗", "31"), "unknown": ("?", "35"), "not-checked": ("-", "2"),
               "incomplete": ("?", "35")}


def render_verdict(verdict: Any, out: TextIO, style: _Style) -> None:
    """A ProfileVerdict as text: the verdict line, then each rule (why, for those not met)."""
    out = safe_stream(out)
    sym, code = _STATE_LOOK.get(verdict.state, ("?", "0"))
    out.write(style(f"  {sym} Profile {shown(verdict.title)}: {shown(verdict.label)}", f"1;{code}") + "\n")
    out.write("\n".join(_wrap(verdict.summary, "    ")) + "\n")
    for r in verdict.rules:
        rsym, rcode = _STATE_LOOK.get(r.state, ("?", "0"))
        label = {"met": "Met", "not-met": "Not met", "unknown": "Couldn't check",
                 "not-checked": "Not checked"}.get(r.state, r.state)
        level = "" if r.level == "required" else " (recommended)"
        out.write(f"    {style(rsym, rcode)} {style(_status_column(label), rcode)}{shown(r.label)}{level}\n")
        if r.state != "met":
            out.write("\n".join(_wrap(r.why, "        ")) + "\n")
        if r.fix is not None:
            verb = {"replace": "Replace with", "remove": "Remove"}.get(r.fix.action, "Publish")
            out.write(style(f"        {verb}: {shown(r.fix.type)} record at {shown(r.fix.host)}", "1") + "\n")
            out.write(f"          {shown(r.fix.value)}\n")
    out.write("\n".join(_wrap(verdict.statement, "    ")) + "\n\n" if verdict.statement else "\n")


def _report_path(path: str, domain: str, many: bool) -> str:
    if not many:
        return path
    base, dot, ext = path.rpartition(".")
    return f"{base}-{domain}.{ext}" if dot else f"{path}-{domain}"


def write_report_file(report: DomainReport, path: str, profile: str, *, inspection: Any = None) -> str:
    """Save the audit report of ``report`` as PDF, HTML or JSON (by extension), with each fix in the form of
    the DNS host ``inspection`` found and the DNS changes published in its period. Raises OSError, or
    ImportError when a PDF is asked for without PySide6."""
    from datetime import UTC, datetime

    from inboxready.core.policy.audit import AuditReport, changes_in_period

    now = datetime.now(UTC)
    dns_host = inspection.for_audit() if inspection is not None and inspection.zone.zone else None
    audit = AuditReport.build(report, profile=profile, generated=now, dns_host=dns_host,
                              changes=changes_in_period(report, generated=now), front=CLI)
    ext = os.path.splitext(path)[1].lower()
    if ext == ".pdf":
        from inboxready.app.pdf import write_audit_pdf  # needs PySide6 (the gui extra)

    # written beside the file and renamed over it when complete: a full disk or a failure half way leaves the
    # report saved there before (last month's audit report) as it was, and no cut-off file
    folder = os.path.dirname(os.path.abspath(path))
    fd, part = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=f".part{ext}", dir=folder)
    try:
        os.close(fd)
        if ext == ".pdf":
            write_audit_pdf(audit, part)
        elif ext == ".json":
            with open(part, "w", encoding="utf-8") as fh:
                json.dump(audit.to_document(), fh, indent=1, ensure_ascii=False)
                fh.write("\n")
        else:
            with open(part, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(audit.to_html())
        if os.path.getsize(part) == 0:
            raise OSError(errno.EIO, "nothing could be written")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(part, 0o666 & ~umask)  # as open() would have made it (mkstemp makes 0600)
        os.replace(part, path)
    except BaseException:
        try:
            os.unlink(part)
        except OSError:
            pass
        raise
    return audit.sha256


def _pyside_missing() -> bool:
    return importlib.util.find_spec("PySide6") is None


def cmd_check_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``check --demo [DOMAIN...]``: the demo domains on the app's loopback DNS server (nothing leaves the
    computer), or the list of them."""
    from inboxready.app.demo import DEMO_DEADLINE, DEMO_TIMEOUT, load_demo, start_demo_server

    demo = load_demo()
    if args.nameserver:
        err.write("inboxready: --demo asks the DNS server built into InboxReady; leave out --nameserver\n")
        return EXIT_UNCHECKED
    if not args.domains:
        if args.json:
            json.dump([{"domain": d.domain, "title": d.title, "story": d.story} for d in demo.domains], out,
                      indent=2, ensure_ascii=False)
            out.write("\n")
            return EXIT_OK
        out.write("The demo domains (answered by a DNS server built into InboxReady; nothing leaves this "
                  "computer):\n")
        width = max(len(d.domain) for d in demo.domains)
        for d in demo.domains:
            out.write(f"  {d.domain:<{width}}  {d.title}. {d.story}\n")
        example = demo.domains[min(1, len(demo.domains) - 1)].domain
        out.write(f"Check one or more of them with, e.g.: inboxready check --demo {example}\n")
        return EXIT_OK
    wanted: list[str] = []
    for text in args.domains:
        try:
            domain = parse_domain(text).domain
        except DomainError:
            domain = text
        if demo.find(domain) is None:
            import difflib

            names = [d.domain for d in demo.domains]
            close = difflib.get_close_matches(domain, names, n=1, cutoff=0.6) or [
                n for n in names if n.split(".")[0] == domain.split(".")[0]]  # demo-allgood: the ending left out
            hint = f"did you mean {close[0]}? " if close else ""
            err.write(f"inboxready: {shown(text)} is not one of the demo domains; {hint}'inboxready check --demo' "
                      "lists them\n")
            return EXIT_UNCHECKED
        wanted.append(domain)
    server, demo = start_demo_server(demo)
    try:
        args.domains = wanted
        args.nameserver = [server.address]
        args.timeout = DEMO_TIMEOUT
        args.deadline = min(args.deadline, DEMO_DEADLINE)
        args.skip = tuple(dict.fromkeys([*args.skip, *demo.skip_checks]))
        args.domain_selectors = {d: demo.find(d).selectors for d in wanted}  # type: ignore[union-attr]
        if not args.json and not args.quiet:
            note = f" {demo.skip_reason}" if demo.skip_reason else ""
            out.write(f"Demo: answered by a DNS server built into InboxReady; nothing leaves this computer.{note}\n\n")
        return _check_domains(args, out, err)
    finally:
        server.stop()


def cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.demo:
        return cmd_check_demo(args, out, err)
    if not args.domains:
        err.write("inboxready check: give the DOMAIN to check, e.g. inboxready check example.com (or try "
                  "inboxready check --demo)\n")
        return EXIT_UNCHECKED
    return _check_domains(args, out, err)


def _check_domains(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if not chosen_checks(args.only, args.skip):
        err.write(f"inboxready: {nothing_chosen(args.only, args.skip)}\n")
        return EXIT_UNCHECKED
    report_to = getattr(args, "report", None)
    if report_to:
        ext = os.path.splitext(report_to)[1].lower()
        if ext not in REPORT_TYPES:
            err.write(f"inboxready: --report {shown(report_to)}: the file name must end in .pdf, .html or .json\n")
            return EXIT_UNCHECKED
        from inboxready.app import cli  # through the package: a test stands in for _pyside_missing there

        if ext == ".pdf" and cli._pyside_missing():
            err.write("inboxready: PDF reports need the desktop part of InboxReady (PySide6), which is not "
                      "installed. Install it with: pip install 'inboxready[gui]', or save an HTML report "
                      "instead (--report FILE.html).\n")
            return EXIT_UNCHECKED
    from inboxready.core.checks.runner import DEADLINE_GRACE

    started = time.monotonic()
    judged, bad = asyncio.run(_check(args))
    for text, why in bad:
        err.write(f"inboxready: {shown(as_text(text)) + ': ' if text.strip() else ''}{shown(why)}\n")
    reports = [j.report for j in judged]
    verdicts = {j.report.domain: j.verdict for j in judged if j.verdict is not None}
    checklists = {j.report.domain: j.checklist for j in judged}
    P = publish

    own = getattr(args, "domain_selectors", {})  # the demo's selectors
    # (not where the DNS server did not answer at all: it would only wait for it again)
    asked = [r.domain for r in reports if r.dns_trouble is None or r.dns_trouble.kind != "resolver"]
    # The DNS host section gets only what is left of --deadline (a round of domains each, at --concurrency at
    # once): on a slow DNS server it is left out rather than keep the user waiting past the deadline.
    rounds = -(-max(1, len(reports)) // max(1, args.concurrency))
    budget = rounds * args.deadline + DEADLINE_GRACE - (time.monotonic() - started)
    inspections = asyncio.run(P.inspect_for_check(
        asked, args.nameserver, args.timeout,
        {d: [*args.dkim_selector, *own.get(d, ())] for d in asked}, budget=budget)) \
        if asked and budget >= MIN_INSPECTION else {}
    if args.json:
        data = [_report_json(r) for r in reports]
        for d, r in zip(data, reports):
            P.attach_host_forms(d, inspections.get(r.domain))
            if getattr(args, "authoritative", False):
                d["authoritative"] = P.authoritative_section(r.domain, r, inspections.get(r.domain), args.nameserver,
                                                             args.timeout, io.StringIO(), _Style(False))
            d["checklist"] = checklists[r.domain].to_json()
            if r.domain in verdicts:
                d["profile"] = verdicts[r.domain].to_json()
        # what is no domain name is in the array too, in the order given, with the reason (also said on
        # standard error): a script never takes "[]" for a success
        no_domain = dict(bad)
        given = iter(data)
        data = [{"input": as_text(text), "domain": None, "error": no_domain[text]} if text in no_domain else next(given)
                for text in args.domains]
        write_json(data, out)
    else:
        style = _Style(_use_colour(out, args.color))
        said = _say_resolver_trouble_once(reports, out, style)
        for r in reports:
            ins = inspections.get(r.domain)
            render_report(r, out, style, quiet=args.quiet, host_form=lambda fix, ins=ins: P.host_form_for(fix, ins),
                          trouble_said=said)
            if not args.quiet:
                P.render_host_section(ins, out, style)
            if getattr(args, "authoritative", False):
                P.authoritative_section(r.domain, r, ins, args.nameserver, args.timeout, out, style)
            if args.checklist:
                render_checklist(checklists[r.domain], out, style)
            if r.domain in verdicts:
                render_verdict(verdicts[r.domain], out, style)
    code = _exit_code(reports)
    if any(v.state == "not-met" for v in verdicts.values()) and code == EXIT_OK:
        code = EXIT_FINDINGS
    if report_to:
        for r in reports:
            path = _report_path(report_to, r.domain, len(reports) > 1)
            try:
                digest = write_report_file(r, path, getattr(args, "profile", None) or "bulk-sender",
                                           inspection=inspections.get(r.domain))
                from inboxready.core.policy.audit import record_export

                file_digest, problem = record_export(path, r.domain, digest)
            except (OSError, ImportError) as exc:
                err.write(f"inboxready: couldn't save the report to {shown(path)}: "
                          f"{shown(getattr(exc, 'strerror', None) or exc)}\n")
                code = EXIT_UNCHECKED
                continue
            # the content hash (printed inside the report) first, then the file's: what verify compares
            err.write(f"Report saved to {shown(path)} (SHA-256 {digest}).\n"
                      f"  File SHA-256: {file_digest}. Keep it: 'inboxready verify {shown(path)} --sha256 "
                      f"{file_digest}' shows whether a copy is byte for byte this file.\n")
            if problem:
                err.write(f"  It could not be kept in this computer's history ({shown(problem)}); note it "
                          "yourself.\n")
            else:
                err.write("  Also kept in this computer's history, with the time and the domain.\n")
    if bad:
        code = max(code, EXIT_UNCHECKED) if code != EXIT_FINDINGS else code
        if not reports:
            code = EXIT_UNCHECKED
    return code


def _say_resolver_trouble_once(reports: Sequence[DomainReport], out: TextIO, style: _Style) -> bool:
    """With several domains and a DNS server that did not answer: say it once, at the top."""
    troubles = [r.dns_trouble for r in reports if r.dns_trouble is not None and r.dns_trouble.kind == "resolver"]
    if len(reports) < 2 or not troubles:
        return False
    for message in dict.fromkeys(t.message for t in troubles):
        render_trouble(next(t for t in troubles if t.message == message), out, style, indent="")
    safe_stream(out).write("\n")
    return True
