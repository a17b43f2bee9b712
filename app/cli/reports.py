"""``inboxready reports``: import DMARC aggregate / SMTP TLS reports, summarise them, watch the rua mailbox.

    inboxready reports import PATH... [--json]
    inboxready reports summary DOMAIN [--days N] [--json] [--csv FILE] [--offline]
    inboxready reports watch --read-profile NAME [--folder INBOX] [--move-to FOLDER] [--once] [--every S]

All take ``--store FILE`` (default: reports.sqlite3 in the data folder; a folder is refused). Exit codes: 0 ok;
1 something to look at (files rejected, reports with impossible dates, rows that could not be read or a
conflicting identity; sources that pass but are not aligned); 2 couldn't do it (no store, the store failed:
busy, disk full, read-only; no reports for the domain, mailbox unreachable, usage). Every fault is one
sentence on stderr, never a traceback. While another InboxReady imports into the same store, an import waits
(and says so) for a bounded time.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os

import time
from pathlib import Path
from typing import Any, TextIO

from .out import CR, DNS_TIMEOUT, count, nameserver, seconds, shown, write_json

EXIT_OK, EXIT_FINDINGS, EXIT_UNCHECKED = 0, 1, 2


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]", common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("reports", parents=[common], help="import and read DMARC aggregate and SMTP TLS reports",
                       description="Import DMARC aggregate and SMTP TLS reports, see who sends as your domain, "
                                   "and learn when it is safe to enforce DMARC.")
    p.set_defaults(handler=_no_action, reports_parser=p)
    # leaf options repeat the common ones, but only override what is given after the sub-command
    leaf = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    leaf.add_argument("--json", action="store_true", help="print JSON instead of text")
    leaf.add_argument("--nameserver", "-n", action="append", type=nameserver, metavar="IP[:PORT]",
                      help="ask this DNS server (reverse DNS, the current DMARC record)")
    leaf.add_argument("--timeout", type=DNS_TIMEOUT, metavar="SECONDS",
                      help="time one DNS query may take (at most 60)")
    leaf.add_argument("--store", type=Path, metavar="FILE", help="the report database (default: in the data folder)")
    rsub = p.add_subparsers(dest="reports_command", metavar="ACTION")

    imp = rsub.add_parser("import", parents=[leaf], help="import report files or folders",
                          description="Import XML, .xml.gz, .zip, .eml, mbox and JSON report files, or whole "
                                      "folders. Bad files are listed with the reason and skipped.",
                          epilog="Exit codes: 0 imported; 1 something to look at (rejected, conflicting or "
                                 "impossible-date reports, skipped rows); 2 nothing imported, or the store "
                                 "failed (what was imported before stays).")
    imp.add_argument("paths", nargs="+", metavar="PATH", help="report files or folders (folders are read whole)")
    imp.set_defaults(handler=cmd_import)

    summ = rsub.add_parser("summary", parents=[leaf], help="who sends as DOMAIN, pass rates, safe to enforce?",
                           description="Summarise the stored reports about DOMAIN.")
    summ.add_argument("domain", metavar="DOMAIN", help="the domain the reports are about")
    summ.add_argument("--days", type=count(1, 3660, "number of days"), default=30, metavar="N",
                      help="look at the last N days (default 30)")
    summ.add_argument("--csv", type=Path, metavar="FILE", help="also write the sources table as CSV to FILE")
    summ.add_argument("--csv-table", default="sources",
                      choices=["sources", "services", "daily", "unknown_failing", "not_aligned"],
                      help="which table --csv writes (default: sources)")
    summ.add_argument("--offline", action="store_true",
                      help="no DNS lookups (no reverse DNS, no current DMARC record)")
    summ.set_defaults(handler=cmd_summary)

    w = rsub.add_parser("watch", parents=[leaf],
                        help="the report mailbox: read new report mails from the rua mailbox (IMAP)",
                        description="The report mailbox: read new DMARC and TLS report mails from the mailbox your "
                                    "rua/ruf addresses deliver to, with a reading profile, remembering what "
                                    "was read. The password comes from the keyring or INBOXREADY_IMAP_PASSWORD.")
    w.add_argument("--read-profile", required=True, metavar="NAME",
                   help="the reading profile of the report mailbox ('inboxready profile add NAME --imap ...')")
    w.add_argument("--folder", default="INBOX", help="the folder reports arrive in (default INBOX)")
    w.add_argument("--move-to", metavar="FOLDER", help="move processed report mails to FOLDER")
    w.add_argument("--once", action="store_true", help="read once and stop (default: keep watching)")
    w.add_argument("--every", type=seconds(4.999, 86400, "interval"), default=300.0, metavar="SECONDS",
                   help="when watching, look again every SECONDS (default 300; 5 to 86400)")
    w.set_defaults(handler=cmd_watch)


def _no_action(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    args.reports_parser.print_help(err)
    return EXIT_UNCHECKED


def _open_store(args: argparse.Namespace, err: TextIO) -> Any:
    from inboxready.core.reports.store import ReportStore

    def waiting(message: str) -> None:
        err.write(f"inboxready: {shown(message)}\n")
        err.flush()

    store = ReportStore(getattr(args, "store", None), on_wait=waiting)
    if store.problem:
        err.write(f"inboxready: {shown(store.problem)}\n")
    if not store.available:
        return None
    return store


def _fault(exc: BaseException, store: Any, err: TextIO) -> int:
    """A store failure (``DbProblem``, or an SQLite / OS error, worded by ``sqlitedb``) as one sentence on
    stderr; exit code 2."""
    from inboxready.core.store.sqlitedb import problem_of

    err.write(f"inboxready: {shown(problem_of(exc, 'the report store', store.path))}\n")
    return EXIT_UNCHECKED


def _n(x: int) -> str:
    return f"{x:,}"


def _pct(n: int, total: int) -> str:
    return f"{100.0 * n / total:.0f}%" if total else "–"


def cmd_import(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    store = _open_store(args, err)
    if store is None:
        return EXIT_UNCHECKED
    as_json = getattr(args, "json", False)
    tty = hasattr(err, "isatty") and err.isatty() and not as_json

    def progress(done: int, total: int, name: str) -> None:
        if tty and (done == total or done % 50 == 0):
            err.write(f"{CR}{done}/{total} files…")
            err.flush()

    from inboxready.core.reports.store import ImportResult, ImportStopped

    stopped: ImportStopped | None = None
    try:
        result = store.import_paths(args.paths, on_progress=progress)
    except ImportStopped as exc:
        stopped, result = exc, exc.result
    finally:
        store.close()
    if tty:
        err.write("\n")
    if as_json:
        doc = result.to_json()
        if stopped is not None:
            doc["problem"] = str(stopped)
        write_json(doc, out, ensure_ascii=True)
    else:
        _print_import(result, out)
    if stopped is not None:
        err.write(f"inboxready: {shown(stopped)}\n")
        return EXIT_UNCHECKED
    assert isinstance(result, ImportResult)
    if result.rejected or result.conflicting or result.flagged or result.partial or result.partial_before:
        return EXIT_FINDINGS
    if not (result.imported or result.duplicate or result.repeated):
        return EXIT_UNCHECKED
    return EXIT_OK


def _print_import(result: Any, out: TextIO) -> None:
    dmarc = sum(1 for i in result.imported if i.kind == "dmarc")
    tls = len(result.imported) - dmarc
    out.write(f"Imported {_n(len(result.imported))} report(s) ({_n(dmarc)} DMARC, {_n(tls)} TLS) "
              f"from {_n(result.files)} file(s).\n")
    if result.duplicate:
        out.write(f"{_n(len(result.duplicate))} report(s) were already imported before and were skipped.\n")
    if result.repeated:
        out.write(f"{_n(len(result.repeated))} report(s) came more than once in these files (the same report in "
                  "two files, e.g. a .zip and an .xml.gz); each was imported once.\n")
    if result.conflicting:
        out.write(f"{_n(len(result.conflicting))} report(s) have the same reporter, report id, domain and period as a "
                  "report imported earlier, but other content; the first one was kept and these were skipped:\n")
        for i in result.conflicting[:50]:
            out.write(f"  {shown(i.name)}: {shown(i.org)} report {shown(i.report_id)}\n")
    for infos, said in ((result.partial, "imported report(s) have rows that could not be read; those {rows} row(s) "
                                         "were skipped and the rest imported"),
                        (result.partial_before, "report(s) already imported were stored without rows that could not "
                                                "be read; those {rows} row(s) are not in the figures")):
        if infos:
            rows = _n(sum(i.skipped_rows for i in infos))
            out.write(f"{_n(len(infos))} {said.format(rows=rows)}:\n")
            for i in infos[:50]:
                out.write(f"  {shown(i.name)}: {shown(i.skipped)}\n")
    if result.flagged:
        out.write(f"{_n(len(result.flagged))} imported report(s) have dates that can't be right; they are kept but "
                  "left out of summaries:\n")
        for i in result.flagged[:50]:
            out.write(f"  {shown(i.name)}: {shown(i.problem)}\n")
    if result.rejected:
        out.write(f"{_n(len(result.rejected))} file(s) or part(s) could not be imported:\n")
        for name, reason in result.rejected:
            out.write(f"  {shown(name)}: {shown(reason)}\n")
    unnamed = [i for i in result.imported if i.kind == "tlsrpt" and not i.domain]
    if unnamed:
        out.write(f"{_n(len(unnamed))} TLS report(s) don't say which domain they are about (no policy-domain, and "
                  "neither their mail nor their file name names one); they are imported for an unknown domain, and "
                  "every summary of their period lists them:\n")
        for i in unnamed[:50]:
            out.write(f"  {shown(i.name)}: {shown(i.org)} report {shown(i.report_id)}, {_n(i.messages)} session(s)\n")
    domains = sorted({i.domain for i in result.imported if i.domain})
    if domains:
        out.write("Domains: " + shown(", ".join(domains)) + "\n")
        # the summary looks at the last 30 days by default: reports that all ended before then need --days
        first = [i for i in result.imported if i.domain == domains[0] and i.kind == "dmarc" and not i.problem]
        needed = math.ceil((time.time() - min(i.begin for i in first)) / 86400) + 1 if first else 0
        days = f" --days {needed}" if 30 < needed <= 3660 and all(i.end < time.time() - 30 * 86400 for i in first) else ""
        out.write(f"Next: inboxready reports summary {shown(domains[0])}{days}\n")


async def _lookups(store: Any, domain: str, ips: list[str], nameservers: list[str] | None,
                   timeout: float) -> str | None:
    """Reverse DNS for the sources (cached) and the domain's current DMARC record; bounded in time."""
    from inboxready.core.dns.client import DnsClient
    from inboxready.core.records.dmarc_parse import is_dmarc_record
    from inboxready.core.reports.sources import resolve_sources

    client = DnsClient(nameservers, timeout=timeout, deadline=max(10.0, timeout * 4))
    try:
        record: str | None = None
        try:
            ans = await asyncio.wait_for(client.query(f"_dmarc.{domain}", "TXT"), timeout * 2)
            if ans.ok:
                found = [t for t in ans.txt if is_dmarc_record(t)]
                if len(found) == 1:
                    record = found[0]
        except (asyncio.TimeoutError, OSError):
            record = None
        try:
            await asyncio.wait_for(resolve_sources(store, client, ips, timeout=timeout), timeout * 4)
        except (asyncio.TimeoutError, OSError):
            pass
        return record
    finally:
        close = getattr(client, "close", None)
        if close is not None:
            close()


def _older_hint(store: Any, domain: str, days: int) -> str:
    """" The 3 stored reports about D are older: ... --days N" when the domain's reports all ended before the
    window (a newcomer imports last year's reports and runs the summary the import suggested); "" otherwise."""
    from datetime import datetime, timezone

    (count, begin, end), = store.query(
        "SELECT count(*), min(begin), max(end) FROM reports WHERE kind='dmarc' AND domain=? AND problem IS NULL",
        (domain,))
    if not count or begin is None or end is None:
        return ""

    def day(t: int) -> str:
        return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d")

    needed = math.ceil((time.time() - begin) / 86400) + 1
    if needed <= days:
        return ""
    period = f" The {count:,} stored report(s) about {shown(domain)} are older: from {day(begin)} to {day(end)}."
    if needed > 3660:
        return period + " --days goes back 3660 days at most."
    return f"{period} To see them: inboxready reports summary {shown(domain)} --days {needed}."


def cmd_summary(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.domain import parse_domain
    from inboxready.core.reports.summary import summarize

    try:
        domain = parse_domain(args.domain).domain
    except ValueError as exc:
        err.write(f"inboxready: {shown(exc)}\n")
        return EXIT_UNCHECKED
    if args.days < 1:
        err.write("inboxready: --days must be 1 or more\n")
        return EXIT_UNCHECKED
    store = _open_store(args, err)
    if store is None:
        return EXIT_UNCHECKED
    import sqlite3

    from inboxready.core.store.sqlitedb import DbProblem

    try:
        summary = summarize(store, domain, days=args.days)
        if summary.reports == 0:
            known = store.domains()
            left_out = (f" {summary.flagged_count} report(s) about {shown(domain)} are left out because their dates "
                        f"can't be right ({shown(summary.flagged[0]['problem'])})." if summary.flagged_count else "")
            err.write(f"inboxready: no DMARC reports about {shown(domain)} in the last {args.days} days.{left_out}"
                      + _older_hint(store, domain, args.days)
                      + (f" Reports are stored for: {shown(', '.join(known[:10]))}." if known else
                         " Import some first: inboxready reports import PATH") + "\n")
            if summary.tls.get("reports") or summary.tls.get("unknown_domain"):
                _print_tls(summary, out)
            return EXIT_UNCHECKED
        if not args.offline:
            record = asyncio.run(_lookups(store, domain, [s.ip for s in summary.sources],
                                          getattr(args, "nameserver", None), float(getattr(args, "timeout", 2.0))))
            summary = summarize(store, domain, days=args.days, current_record=record)
        if args.csv is not None:
            try:
                args.csv.write_text(summary.to_csv(args.csv_table), encoding="utf-8")
            except OSError as exc:
                err.write(f"inboxready: could not write {shown(args.csv)}: {shown(exc.strerror or exc)}\n")
                return EXIT_UNCHECKED
    except (DbProblem, sqlite3.Error) as exc:
        return _fault(exc, store, err)
    finally:
        store.close()
    if getattr(args, "json", False):
        write_json(summary.to_json(), out, ensure_ascii=True)
    else:
        _print_summary(summary, out)
    return EXIT_FINDINGS if summary.not_aligned else EXIT_OK


def _print_summary(s: Any, out: TextIO) -> None:
    """The summary as text. Everything from the reports (names, addresses, policies, failure types) is
    written through ``shown`` (control characters escaped)."""
    w, sh = out.write, shown
    w(f"DMARC reports for {sh(s.domain)}, {sh(s.period)}: {_n(s.reports)} report(s), {_n(s.messages)} message(s).\n")
    known = s.evaluated
    w(f"  Passed DMARC: {_pct(s.dmarc_pass, known)}  (SPF aligned {_pct(s.spf_aligned, known)}, "
      f"DKIM aligned {_pct(s.dkim_aligned, known)}; SPF passed {_pct(s.spf_pass, known)}, "
      f"DKIM passed {_pct(s.dkim_pass, known)})" + (f" of the {_n(known)} message(s) whose result is known"
                                                    if s.unknown else "") + "\n")
    for note in s.notes:
        w(f"  Note: {sh(note)}\n")
    for p in s.partial[1:]:  # the first is named in its note
        w(f"    also {sh(p['org'])} report {sh(p['report_id'])} ({sh(p['name'])}): {sh(p['skipped'])}\n")
    if s.policy:
        w(f"  Policy seen by receivers: p={sh(s.policy.get('p')) or '?'}"
          + (f", t={sh(s.policy['testing'])}" if s.policy.get("testing") else "") + "\n")
    w("\nWho sends as you (by service):\n")
    for v in s.services[:15]:
        w(f"  {sh(v.service):<40} {_n(v.messages):>9} messages, {v.sources} source(s), passed DMARC "
          f"{_pct(v.dmarc_pass, v.messages)}\n")
    if s.pending_lookups:
        w(f"  ({s.pending_lookups} source(s) not looked up yet; run without --offline to name them)\n")
    if s.failed_lookups:
        w(f"  ({s.failed_lookups} source(s) couldn't be named: their reverse DNS lookup failed; asked again next "
          "time)\n")
    if s.unknown_failing:
        w("\nUnknown senders that fail (probably forged or forwarded mail; enforcement stops it):\n")
        for r in s.unknown_failing[:10]:
            w(f"  {sh(r.ip):<40} {_n(r.messages):>9} messages" + (f"  ({sh(r.ptr)})" if r.ptr else "") + "\n")
        if len(s.unknown_failing) > 10:
            w(f"  … and {len(s.unknown_failing) - 10} more\n")
    if s.not_aligned:
        w("\nSources that pass SPF or DKIM but not for your domain (fix these before enforcing):\n")
        for n in s.not_aligned[:15]:
            w(f"  - {sh(n.why)}\n    {sh(n.advice)}\n")
            for f in n.fixes:
                w(f"    Publish: {sh(f.host)} {sh(f.type)} {sh(f.value)}\n")
    w("\nSafe to enforce?\n")
    for e in s.enforcement:
        w(f"  p={sh(e.policy)}: {sh(e.message)}\n")
        for name in e.affected_sources[:5]:
            w(f"      affected: {sh(name)}\n")
        if len(e.affected_sources) > 5:
            w(f"      … and {len(e.affected_sources) - 5} more\n")
        if e.next_record is not None:
            f = e.next_record
            w(f"    Next record: {sh(f.host)} TXT \"{sh(f.value)}\"\n")
            if f.note:
                w(f"    {sh(f.note)}\n")
    _print_tls(s, out)


def _print_tls(s: Any, out: TextIO) -> None:
    """The TLS reports part of a summary: the domain's figures (each session once), and the reports of the
    period that name no domain (imported for an unknown domain: said, never left invisible)."""
    w, sh, t = out.write, shown, s.tls
    if t.get("reports"):
        total = t["successful_sessions"] + t["failed_sessions"]
        w(f"\nSMTP TLS reports: {_n(t['reports'])} report(s), {_n(t['failed_sessions'])} of {_n(total)} "
          "encrypted deliveries to you failed")
        w(".\n")
        for k, v in list(t["failure_types"].items())[:5]:
            w(f"  {_n(v)} × {sh(k)}: {sh(t.get('failure_words', {}).get(k, k))}\n")
    unnamed = t.get("unknown_domain") or []
    if unnamed:
        sessions = sum(u["sessions"] for u in unnamed)
        w(f"\n{_n(len(unnamed))} SMTP TLS report(s) of this period don't say which domain they are about "
          f"({_n(sessions)} session(s), not in any domain's figures; they may be about {sh(s.domain)} or another "
          "of your domains):\n")
        for u in unnamed[:10]:
            w(f"  {sh(u['org'])} report {sh(u['report_id'])}: {_n(u['sessions'])} session(s)\n")
        if len(unnamed) > 10:
            w(f"  … and {len(unnamed) - 10} more\n")


def cmd_watch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.mail import profiles as P
    from inboxready.core.reports.report_mailbox import fetch_reports

    try:
        read = P.ProfileStore().get_read(args.read_profile)
    except P.ProfileError as exc:
        err.write(f"inboxready: {shown(exc)}\n")
        return EXIT_UNCHECKED
    store = _open_store(args, err)
    if store is None:
        return EXIT_UNCHECKED
    as_json = getattr(args, "json", False)
    password = os.environ.get("INBOXREADY_IMAP_PASSWORD") or None
    code = EXIT_OK
    try:
        while True:
            outcome = fetch_reports(store, read, password=password, folder=args.folder, move_to=args.move_to,
                                    io_timeout=float(getattr(args, "timeout", 30.0)) if hasattr(args, "timeout")
                                    else 30.0)
            if as_json:
                write_json(outcome.to_json(), out, indent=None, ensure_ascii=True)
            elif outcome.error is not None:
                err.write(f"inboxready: {shown(outcome.error.message)}\n")
            else:
                r = outcome.result
                out.write(f"{time.strftime('%H:%M:%S')} {shown(args.folder)}: read {outcome.read} new mail(s); "
                          f"imported {len(r.imported)} report(s), "
                          f"{len(r.duplicate) + len(r.repeated) + len(r.conflicting)} already known"
                          + (f", moved {outcome.moved} to {shown(args.move_to)}" if outcome.moved else "")
                          + (f", {len(r.rejected)} skipped" if r.rejected else "") + ".\n")
                for name, reason in r.rejected:
                    out.write(f"  {shown(name)}: {shown(reason)}\n")
                for i in r.partial:
                    out.write(f"  {shown(i.name)}: imported; {shown(i.skipped)}\n")
                for i in r.partial_before:
                    out.write(f"  {shown(i.name)}: imported before; {shown(i.skipped)}\n")
            out.flush()
            if outcome.error is not None:
                code = EXIT_UNCHECKED
            elif outcome.result.rejected and code == EXIT_OK:
                code = EXIT_FINDINGS
            if args.once:
                break
            time.sleep(max(5.0, args.every))
    except KeyboardInterrupt:
        pass
    finally:
        store.close()
    return code


__all__ = ["register", "cmd_import", "cmd_summary", "cmd_watch"]

