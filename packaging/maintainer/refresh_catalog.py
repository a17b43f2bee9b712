#!/usr/bin/env python3
"""Refresh the sending-service facts from the services' published SPF records (maintainers, by hand).

Run with a network, review the diff, commit it. Standard library and dnspython only (no InboxReady import), so it
runs from a plain checkout:

    python packaging/maintainer/refresh_catalog.py                  # report: ranges and lookup costs, live vs stored
    python packaging/maintainer/refresh_catalog.py --write          # also rewrite ip_ranges / lookups (and 'checked')
    python packaging/maintainer/refresh_catalog.py --write --captures tests/core/spf_captures.json
    python packaging/maintainer/refresh_catalog.py --stale          # entries whose 'checked' is over a year old
    python packaging/maintainer/refresh_catalog.py --nameserver 127.0.0.1:5353 ...   # ask one server (tests)

What it does: for every entry of ``core/rules/sending_services.json`` with an ``spf_include`` it walks that SPF
record's include/redirect tree, counting DNS lookups as RFC 7208 §4.6.4 does, and collects the ip4/ip6 ranges it
authorises; for every service of ``core/rules/spf_catalog.json`` with an ``include`` it counts the lookups. A name
that times out or fails (SERVFAIL) leaves that entry as it is ("couldn't check", never "no record"). ``--write``
rewrites only entries whose whole tree was read, and sets their ``checked`` to today. Exit status: 0 fine, 1 stale
entries listed (--stale) or live values differ from the stored ones (report mode), 2 usage error.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import ipaddress
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

RULES = Path(__file__).resolve().parents[2] / "core" / "rules"
RULE_FILES = ("spf_catalog.json", "sending_services.json", "mail_providers.json", "bulk_sender_rules.json",
              "dkim_selectors.json", "url_shorteners.json")
LOOKUP_TERMS = ("include", "a", "mx", "ptr", "exists")  # plus the redirect modifier
MAX_LOOKUPS = 40  # walk a little past the RFC's 10 so an over-limit record is measured, but never without end
MAX_RECORDS = 60


@dataclass
class Walk:
    """One include tree as read from DNS."""

    include: str
    lookups: int = 0
    records: dict[str, str] = field(default_factory=dict)  # name → the v=spf1 record
    ranges: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # couldn't check (timeout, server failure): keep stored values
    problems: list[str] = field(default_factory=list)  # read fine, but broken (no record, loop, too deep)

    @property
    def complete(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {"include": self.include, "lookups": self.lookups, "records": self.records, "ranges": self.ranges,
                "errors": self.errors, "problems": self.problems, "complete": self.complete}


def make_resolver(nameservers: list[str], timeout: float) -> dns.resolver.Resolver:
    if not nameservers:
        r = dns.resolver.Resolver()
    else:
        r = dns.resolver.Resolver(configure=False)
        hosts, port = [], 53
        for ns in nameservers:
            host, _, p = ns.rpartition(":") if ns.count(":") == 1 else (ns, "", "")
            hosts.append(host or ns)
            if p:
                port = int(p)
        r.nameservers = hosts
        r.port = port
    r.timeout = r.lifetime = timeout
    return r


def _txt_spf(resolver: dns.resolver.Resolver, name: str) -> tuple[list[str], str | None]:
    """The v=spf1 records at ``name``; the second value is an error text when DNS couldn't answer."""
    try:
        answer = resolver.resolve(name, "TXT", raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return [], None
    except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout) as exc:
        return [], f"{name}: couldn't check ({type(exc).__name__})"
    except dns.exception.DNSException as exc:
        return [], f"{name}: couldn't check ({type(exc).__name__})"
    out = []
    for rr in answer.rrset or []:
        text = b"".join(rr.strings).decode("utf-8", "replace")
        if text.lower() == "v=spf1" or text.lower().startswith("v=spf1 "):
            out.append(text)
    return out, None


def _norm(name: str) -> str:
    return name.strip().rstrip(".").lower()


def walk(resolver: dns.resolver.Resolver, include: str) -> Walk:
    """Walk ``include`` the way a receiver checking a sender that matches nothing would (every term up to 'all')."""
    w = Walk(include=_norm(include))
    w.lookups = 1  # the include term that names it

    def visit(name: str, path: tuple[str, ...]) -> None:
        if len(w.records) >= MAX_RECORDS or w.lookups > MAX_LOOKUPS:
            w.problems.append(f"{name}: stopped, the tree is too large")
            return
        records, err = _txt_spf(resolver, name)
        if err:
            w.errors.append(err)
            return
        if not records:
            w.problems.append(f"{name}: no SPF record")
            return
        if len(records) > 1:
            w.problems.append(f"{name}: {len(records)} SPF records (a permerror for receivers)")
        record = records[0]
        w.records[name] = record
        redirect = None
        has_all = False
        for term in record.split()[1:]:
            if w.lookups > MAX_LOOKUPS:
                return  # the walk was stopped further down; said once, where it happened
            low = term.lower()
            q = low[0] if low[:1] in "+-~?" else "+"
            body = low[1:] if low[:1] in "+-~?" else low
            if body.startswith("redirect="):
                redirect = body.split("=", 1)[1]
                continue
            if "=" in body.split(":", 1)[0]:
                continue  # another modifier (exp=…)
            mech, _, arg = body.partition(":")
            mech = mech.split("/", 1)[0]
            if mech == "all":
                has_all = True
                break
            if mech in ("ip4", "ip6"):
                if q == "+":
                    try:
                        w.ranges.append(str(ipaddress.ip_network(arg, strict=False)))
                    except ValueError:
                        w.problems.append(f"{name}: bad {mech} range '{arg}'")
                continue
            if mech in LOOKUP_TERMS:
                w.lookups += 1
                if w.lookups > MAX_LOOKUPS:
                    w.problems.append(f"{name}: stopped after {MAX_LOOKUPS} lookups, the tree is too large")
                    return
                if mech == "include" and arg and "%" not in arg:
                    target = _norm(arg)
                    if target in path:
                        w.problems.append(f"{name}: include:{target} loops back")
                    else:
                        visit(target, path + (target,))
        if redirect and not has_all:
            w.lookups += 1
            target = _norm(redirect)
            if "%" not in target and target not in path:
                visit(target, path + (target,))

    visit(w.include, (w.include,))
    w.ranges = list(dict.fromkeys(w.ranges))
    return w


def _load(rules: Path, name: str) -> Any:
    return json.loads((rules / name).read_text(encoding="utf-8"))


def _dump(rules: Path, name: str, data: Any) -> None:
    (rules / name).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def refresh(rules: Path, resolver: dns.resolver.Resolver, *, write: bool, today: str) -> dict[str, Any]:
    """Walk every published include of both catalogs; with ``write``, store what changed."""
    services = _load(rules, "sending_services.json")
    catalog = _load(rules, "spf_catalog.json")
    walks: dict[str, Walk] = {}

    def get(include: str) -> Walk:
        key = _norm(include)
        if key not in walks:
            walks[key] = walk(resolver, key)
        return walks[key]

    report: dict[str, Any] = {"ranges": [], "lookups": [], "walks": []}
    for svc in services.get("services", []):
        inc = str(svc.get("spf_include") or "")
        if not inc:
            continue
        w = get(inc)
        stored = [str(r) for r in svc.get("ip_ranges", [])]
        added = [r for r in w.ranges if r not in stored]
        removed = [r for r in stored if r not in w.ranges]
        report["ranges"].append({"id": svc.get("id"), "include": w.include, "complete": w.complete,
                                 "added": added, "removed": removed, "errors": w.errors, "problems": w.problems})
        if write and w.complete and not w.problems and (added or removed):
            svc["ip_ranges"] = w.ranges
            svc["checked"] = today
            svc["source"] = _with_walk_source(str(svc.get("source", "")), w.include, today)
    for svc in catalog.get("services", []):
        inc = str(svc.get("include") or "")
        if not inc:
            continue
        w = get(inc)
        stored = svc.get("lookups")
        report["lookups"].append({"id": svc.get("id"), "include": w.include, "stored": stored,
                                  "live": w.lookups if w.complete else None, "errors": w.errors,
                                  "problems": w.problems})
        if write and w.complete and not w.problems and w.lookups != stored:
            svc["lookups"] = w.lookups
            svc["lookups_basis"] = "capture"
            svc["checked"] = today
    report["walks"] = [w.to_json() for w in walks.values()]
    if write:
        _dump(rules, "sending_services.json", services)
        _dump(rules, "spf_catalog.json", catalog)
    return report


def _with_walk_source(source: str, include: str, today: str) -> str:
    note = f"TXT {include} walked by packaging/maintainer/refresh_catalog.py on {today}"
    kept = [p for p in source.split("; ") if p and "refresh_catalog.py" not in p]
    return "; ".join([note] + kept)


def write_captures(path: Path, walks: list[dict[str, Any]], today: str) -> None:
    """Rewrite the trees of the captures file (the test data) from complete walks, keeping the others."""
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"trees": []}
    trees = {t["include"]: t for t in data.get("trees", [])}
    for w in walks:
        if w["complete"] and not w["problems"]:
            trees[w["include"]] = {"include": w["include"], "records": w["records"], "ranges_complete": True,
                                   "source": f"Walked by packaging/maintainer/refresh_catalog.py on {today}."}
    data["trees"] = list(trees.values())
    data["checked"] = today
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _entries(data: Any, file: str) -> list[tuple[str, Any]]:
    """(label, entry) for every dated entry of a rules file."""
    out: list[tuple[str, Any]] = [(f"{file}", data)]
    if file == "dkim_selectors.json":
        out += [(f"{file}: provider {k}", v) for k, v in data.get("providers", {}).items()]
    elif file == "bulk_sender_rules.json":
        out += [(f"{file}: source {k}", v) for k, v in data.get("sources", {}).items()]
        out += [(f"{file}: rule {r.get('key')}", r) for r in data.get("rules", [])]
    elif file == "url_shorteners.json":
        out += [(f"{file}: {r.get('domain')}", r) for r in data.get("shorteners", [])]
    else:
        for key in ("services", "providers"):
            out += [(f"{file}: {r.get('id')}", r) for r in data.get(key, []) if isinstance(r, dict)]
    return out


def stale(rules: Path, today: _dt.date, max_age_days: int = 365) -> list[dict[str, str]]:
    """Entries whose 'checked' is missing, not a date, or older than ``max_age_days``."""
    out = []
    for file in RULE_FILES:
        path = rules / file
        if not path.exists():
            continue
        for label, entry in _entries(json.loads(path.read_text(encoding="utf-8")), file):
            checked = str(entry.get("checked", "")) if isinstance(entry, dict) else ""
            try:
                when = _dt.date.fromisoformat(checked)
            except ValueError:
                out.append({"entry": label, "checked": checked, "why": "no date"})
                continue
            age = (today - when).days
            if age > max_age_days:
                out.append({"entry": label, "checked": checked, "why": f"{age} days old"})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rules", type=Path, default=RULES, help="the core/rules folder (default: this checkout's)")
    ap.add_argument("--nameserver", action="append", default=[], metavar="IP[:PORT]",
                    help="ask this DNS server instead of the system's (repeatable)")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per DNS query (default 5)")
    ap.add_argument("--write", action="store_true", help="store live ranges and lookup costs in the rules files")
    ap.add_argument("--captures", type=Path, help="with --write: also rewrite this captures file (test data)")
    ap.add_argument("--stale", action="store_true", help="list entries whose 'checked' date is over a year old")
    ap.add_argument("--max-age-days", type=int, default=365)
    ap.add_argument("--today", help="the date to use (YYYY-MM-DD; default: today)")
    ap.add_argument("--json", action="store_true", help="print JSON")
    args = ap.parse_args(argv)
    try:
        today = _dt.date.fromisoformat(args.today) if args.today else _dt.date.today()
    except ValueError:
        print(f"--today must be a date (YYYY-MM-DD), not {args.today!r}", file=sys.stderr)
        return 2
    if not (args.rules / "spf_catalog.json").exists():
        print(f"{args.rules} is not a rules folder (no spf_catalog.json)", file=sys.stderr)
        return 2
    if args.stale:
        old = stale(args.rules, today, args.max_age_days)
        if args.json:
            print(json.dumps(old, indent=2))
        else:
            for s in old:
                print(f"{s['entry']}: checked {s['checked'] or '(none)'} ({s['why']})")
            print(f"{len(old)} entr{'y' if len(old) == 1 else 'ies'} to re-check." if old else
                  f"Every entry was checked within {args.max_age_days} days.")
        return 1 if old else 0
    report = refresh(args.rules, make_resolver(args.nameserver, args.timeout), write=args.write,
                     today=today.isoformat())
    if args.write and args.captures:
        write_captures(args.captures, report["walks"], today.isoformat())
    differs = any(r["added"] or r["removed"] for r in report["ranges"] if r["complete"]) or \
        any(r["live"] is not None and r["live"] != r["stored"] for r in report["lookups"])
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for r in report["ranges"]:
            state = "couldn't check" if not r["complete"] else ("changed" if r["added"] or r["removed"] else "same")
            print(f"ranges  {r['id']:<18} {r['include']:<32} {state}"
                  + (f"  +{len(r['added'])} -{len(r['removed'])}" if r["added"] or r["removed"] else ""))
            for e in r["errors"] + r["problems"]:
                print(f"          {e}")
        for r in report["lookups"]:
            live = "couldn't check" if r["live"] is None else str(r["live"])
            print(f"lookups {r['id']:<18} {r['include']:<32} stored {r['stored']}, live {live}")
        if args.write:
            print("Written: review the diff of core/rules before committing it.")
    return 1 if differs and not args.write else 0


if __name__ == "__main__":
    sys.exit(main())
