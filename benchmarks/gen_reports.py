"""Generate DMARC aggregate reports for the benchmark (deterministic: the same seed gives the same files).

    python benchmarks/gen_reports.py OUT_DIR [--count 10000] [--seed 7] [--rows 1-40]

Files are a mix like real mailboxes get: 50% ``.xml.gz`` (Google, Yahoo style), 30% ``.zip`` (Microsoft,
Google), 20% plain ``.xml``; reporters, sending IPs (some in the sending-service catalog's ranges), SPF/DKIM
results and alignment vary. Names follow the ``org!domain!begin!end.xml`` convention. ``make_report`` is
also used by the tests for made-up reports.
"""

from __future__ import annotations

import argparse
import gzip
import io
import random
import sys
import zipfile
from pathlib import Path
from typing import Iterable, NamedTuple
from xml.sax.saxutils import escape

REPORTERS = ["google.com", "Yahoo", "Outlook.com", "Mail.Ru", "GMX", "WEB.DE", "Fastmail Pty Ltd", "AMAZON-SES",
             "Mimecast", "comcast.net"]
DOMAINS = ["shop.test", "bakery.test", "clinic.test"]
# (ip prefix, dkim domain, spf domain) of senders: own servers, Google, Microsoft, SendGrid, Mailchimp, strangers
SENDERS = [("203.0.113.", None, None), ("209.85.220.", None, None), ("40.107.22.", "{d}.onmicrosoft.com", None),
           ("167.89.10.", "sendgrid.net", "em123.{d}"), ("198.2.140.", "mcsv.net", "mail{n}.mcsv.net"),
           ("192.0.2.", "spoof.example", "spoof.example"), ("198.51.100.", None, "relay.example")]


class Row(NamedTuple):
    ip: str
    count: int
    disposition: str
    dkim: str               # aligned (policy_evaluated)
    spf: str
    header_from: str
    dkim_domain: str | None
    dkim_result: str | None
    spf_domain: str | None
    spf_result: str


def make_report(org: str, report_id: str, domain: str, begin: int, rows: Iterable[Row], *, p: str = "none",
                sp: str | None = None, adkim: str | None = None, aspf: str | None = None,
                testing: str | None = None, end: int | None = None) -> bytes:
    """One aggregate report (RFC 7489-era schema) as UTF-8 XML bytes."""
    out = ['<?xml version="1.0" encoding="UTF-8" ?>\n<feedback>\n  <version>1.0</version>\n  <report_metadata>\n',
           f"    <org_name>{escape(org)}</org_name>\n    <email>noreply-dmarc@{escape(org.lower().replace(' ', ''))}"
           f"</email>\n    <report_id>{escape(report_id)}</report_id>\n",
           f"    <date_range>\n      <begin>{begin}</begin>\n      <end>{end if end is not None else begin + 86399}</end>\n"
           "    </date_range>\n  </report_metadata>\n  <policy_published>\n",
           f"    <domain>{escape(domain)}</domain>\n"]
    if adkim:
        out.append(f"    <adkim>{adkim}</adkim>\n")
    if aspf:
        out.append(f"    <aspf>{aspf}</aspf>\n")
    out.append(f"    <p>{p}</p>\n")
    if sp:
        out.append(f"    <sp>{sp}</sp>\n")
    if testing:
        out.append(f"    <testing>{testing}</testing>\n")
    out.append("  </policy_published>\n")
    for r in rows:
        out.append(f"  <record>\n    <row>\n      <source_ip>{r.ip}</source_ip>\n      <count>{r.count}</count>\n"
                   f"      <policy_evaluated>\n        <disposition>{r.disposition}</disposition>\n"
                   f"        <dkim>{r.dkim}</dkim>\n        <spf>{r.spf}</spf>\n      </policy_evaluated>\n"
                   f"    </row>\n    <identifiers>\n      <header_from>{r.header_from}</header_from>\n"
                   "    </identifiers>\n    <auth_results>\n")
        if r.dkim_domain:
            out.append(f"      <dkim>\n        <domain>{r.dkim_domain}</domain>\n        <selector>s1</selector>\n"
                       f"        <result>{r.dkim_result or 'none'}</result>\n      </dkim>\n")
        out.append(f"      <spf>\n        <domain>{r.spf_domain or r.header_from}</domain>\n"
                   f"        <scope>mfrom</scope>\n        <result>{r.spf_result}</result>\n      </spf>\n")
        out.append("    </auth_results>\n  </record>\n")
    out.append("</feedback>\n")
    return "".join(out).encode("utf-8")


def _random_rows(rng: random.Random, domain: str, n: int) -> list[Row]:
    rows = []
    for _ in range(n):
        prefix, dk, sp = rng.choice(SENDERS)
        ip = f"{prefix}{rng.randint(1, 254)}"
        dk = dk.format(d=domain.split(".")[0], n=rng.randint(1, 9)) if dk else None
        sp = sp.format(d=domain, n=rng.randint(1, 9)) if sp else None
        own = prefix in ("203.0.113.", "209.85.220.")
        dkim_aligned = "pass" if own and rng.random() < 0.95 else "fail"
        spf_aligned = "pass" if own and rng.random() < 0.9 else "fail"
        dkim_dom = domain if own else dk
        dkim_res = dkim_aligned if own else ("pass" if dk and not dk.startswith("spoof") else "fail")
        spf_res = spf_aligned if own else ("pass" if sp and not sp.startswith("spoof") else "fail")
        disposition = "none" if "pass" in (dkim_aligned, spf_aligned) else rng.choice(["none", "quarantine", "reject"])
        rows.append(Row(ip, rng.choice([1, 1, 1, 2, 3, 5, 10, 40, 200]), disposition, dkim_aligned, spf_aligned, domain,
                        dkim_dom, dkim_res, sp if not own else domain, spf_res))
    return rows


def generate(out_dir: Path, count: int = 10000, seed: int = 7, rows: tuple[int, int] = (1, 40),
             start: int = 1_760_000_000) -> list[Path]:
    """Write ``count`` reports into ``out_dir``; returns the paths."""
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for i in range(count):
        org = rng.choice(REPORTERS)
        domain = rng.choice(DOMAINS)
        begin = start + (i % 60) * 86400
        rid = f"{seed}-{i:06d}-{rng.getrandbits(32):08x}"
        xml = make_report(org, rid, domain, begin, _random_rows(rng, domain, rng.randint(*rows)),
                          p=rng.choice(["none", "none", "quarantine"]))
        stem = f"{org.replace(' ', '_')}!{domain}!{begin}!{begin + 86399}!{i}"
        kind = rng.random()
        if kind < 0.5:
            path = out_dir / f"{stem}.xml.gz"
            path.write_bytes(gzip.compress(xml, compresslevel=6, mtime=0))
        elif kind < 0.8:
            path = out_dir / f"{stem}.zip"
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                info = zipfile.ZipInfo(f"{stem}.xml", date_time=(2025, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, xml)
            path.write_bytes(buf.getvalue())
        else:
            path = out_dir / f"{stem}.xml"
            path.write_bytes(xml)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rows", default="1-40", help="rows per report, MIN-MAX")
    a = ap.parse_args(argv)
    lo, hi = (int(x) for x in a.rows.split("-", 1))
    paths = generate(a.out_dir, a.count, a.seed, (lo, hi))
    size = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} reports, {size / 1e6:.1f} MB in {a.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
