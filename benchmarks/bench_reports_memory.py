"""Report import under hostile and huge inputs: peak memory and time per input file (issue 13, item 8).

    python benchmarks/bench_reports_memory.py [--only NAME ...] [--code DIR] [--limit-mb 3000] [--keep DIR]

Each input is made here (nothing is checked in), then imported into a fresh report store by a child process
(``ReportStore.import_paths``, as ``inboxready reports import`` and the app do); the child reports its peak
RSS (``VmHWM`` from /proc: ``ru_maxrss`` would keep the parent's from before exec), its wall time and what happened to the file (imported reports, or the reason it was
refused). ``--code DIR`` runs another checkout's code instead (a folder holding ``inboxready/`` as a package:
to measure the code before a change); ``--limit-mb`` caps the child's address space so an old, unbounded
version fails with MemoryError instead of swapping the machine. Target: every input under 250 MB, with a
clear refusal past the limits.

Inputs (sizes are what is on disk / what it unpacks to):

* ``tiny-elements.zip``: a 0.1 MB zip of one 50 MB report made of 12 million tiny elements
* ``tiny-records.zip``: ten 45 MB reports of minimal records (the slow path) in one zip
* ``report-45mb.xml``: a real-looking 45 MB report (75,000 records; the fast path)
* ``report-45mb.xml.gz``: the same, gzipped
* ``report-199mb.xml``: a real-looking 199 MiB report (refused unread: over 50 MB)
* ``deep.xml.gz``: 28 MB of nested elements
* ``long-text.xml``: one 45 MB text value
* ``utf16-45mb.xml``: the 45 MB report in UTF-16
* ``mbox-200mb.mbox``: 200 MB of report mails (zipped reports in base64), read one mail at a time
* ``mail-14mb.eml``: one 14 MB mail: 9 MB of other attachments and a zip of four 45 MB reports
* ``tls-huge.json``: a 40 MB TLS report (refused unread: over 5 MB)
"""

from __future__ import annotations

import argparse
import base64
import gzip
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
MB = 1024 * 1024
HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n<feedback><report_metadata><org_name>big.test</org_name>'
        b"<email>a@big.test</email><report_id>%s</report_id><date_range><begin>1764547200</begin>"
        b"<end>1764633599</end></date_range></report_metadata><policy_published><domain>shop.test</domain>"
        b"<p>none</p></policy_published>\n")
RECORD = (b"<record><row><source_ip>203.0.113.%d</source_ip><count>%d</count><policy_evaluated>"
          b"<disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>"
          b"<identifiers><envelope_from>shop.test</envelope_from><header_from>shop.test</header_from></identifiers>"
          b"<auth_results><dkim><domain>shop.test</domain><selector>s1</selector><result>pass</result></dkim>"
          b"<spf><domain>shop.test</domain><scope>mfrom</scope><result>pass</result></spf></auth_results>"
          b"</record>\n")


def realistic(size: int, report_id: bytes = b"big-1") -> bytes:
    """A well-formed report of about ``size`` bytes made of ordinary records."""
    parts = [HEAD % report_id]
    n = 0
    total = len(parts[0])
    while total < size - 20:
        rec = RECORD % (n % 250 + 1, n % 7 + 1)
        parts.append(rec)
        total += len(rec)
        n += 1
    parts.append(b"</feedback>\n")
    return b"".join(parts)


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def tiny_elements(folder: Path) -> Path:
    body = HEAD % b"tiny-1" + b"<x/>" * (12 * MB) + b"</feedback>"
    p = folder / "tiny-elements.zip"
    p.write_bytes(_zip([("report.xml", body[:50 * MB - 1])]))
    return p


def tiny_records(folder: Path) -> Path:
    rec = b"<record><row><source_ip>192.0.2.1</source_ip><count>1</count></row></record>"
    members = []
    for i in range(10):
        body = HEAD % (b"tinyrec-%d" % i) + rec * (45 * MB // len(rec)) + b"</feedback>"
        members.append((f"r{i}.xml", body))
    p = folder / "tiny-records.zip"
    p.write_bytes(_zip(members))
    return p


def report_45(folder: Path) -> Path:
    p = folder / "report-45mb.xml"
    p.write_bytes(realistic(45 * MB))
    return p


def report_45_gz(folder: Path) -> Path:
    p = folder / "report-45mb.xml.gz"
    p.write_bytes(gzip.compress(realistic(45 * MB, b"big-gz"), 6))
    return p


def report_199(folder: Path) -> Path:
    p = folder / "report-199mb.xml"
    with open(p, "wb") as fh:
        fh.write(HEAD % b"big-199")
        chunk = b"".join(RECORD % (n % 250 + 1, 1) for n in range(2000))
        written = 0
        while written < 199 * MB:
            fh.write(chunk)
            written += len(chunk)
        fh.write(b"</feedback>\n")
    return p


def deep(folder: Path) -> Path:
    p = folder / "deep.xml.gz"
    p.write_bytes(gzip.compress(b"<feedback>" + b"<a>" * (4 * MB) + b"</a>" * (4 * MB) + b"</feedback>", 6))
    return p


def long_text(folder: Path) -> Path:
    p = folder / "long-text.xml"
    p.write_bytes((HEAD % b"long-1").replace(b"<org_name>big.test", b"<org_name>" + b"A" * (45 * MB))
                  + RECORD % (1, 1) + b"</feedback>")
    return p


def utf16(folder: Path) -> Path:
    p = folder / "utf16-45mb.xml"
    text = realistic(22 * MB, b"big-16").decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    p.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    return p


def mbox(folder: Path) -> Path:
    p = folder / "mbox-200mb.mbox"
    with open(p, "wb") as fh:
        i = 0
        while fh.tell() < 200 * MB:
            att = base64.encodebytes(_zip([(f"r{i}.xml", realistic(200_000, b"mb-%d" % i))]))
            fh.write(b"From dmarc@big.test Thu Jan  1 00:00:00 2026\nFrom: dmarc@big.test\nSubject: Report %d\n"
                     b"MIME-Version: 1.0\nContent-Type: application/zip; name=r.zip\n"
                     b"Content-Transfer-Encoding: base64\n\n" % i + att + b"\n")
            i += 1
    return p


def big_mail(folder: Path) -> Path:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = "dmarc@big.test"
    msg["Subject"] = "Report with a lot attached"
    msg.set_content("Reports attached.")
    msg.add_attachment(os.urandom(9 * MB), maintype="application", subtype="octet-stream", filename="noise.bin")
    reports = _zip([(f"r{i}.xml", realistic(45 * MB, b"mail-%d" % i)) for i in range(4)])
    msg.add_attachment(reports, maintype="application", subtype="zip", filename="reports.zip")
    p = folder / "mail-14mb.eml"
    p.write_bytes(msg.as_bytes())
    return p


def tls_huge(folder: Path) -> Path:
    p = folder / "tls-huge.json"
    detail = {"result-type": "validation-failure", "sending-mta-ip": "192.0.2.1", "failed-session-count": 1}
    doc = {"organization-name": "big", "report-id": "tls-huge", "contact-info": "a@big.test",
           "date-range": {"start-datetime": "2026-11-01T00:00:00Z", "end-datetime": "2026-11-01T23:59:59Z"},
           "policies": [{"policy": {"policy-type": "sts", "policy-domain": "shop.test"},
                         "summary": {"total-successful-session-count": 1, "total-failure-session-count": 1},
                         "failure-details": [detail] * 500_000}]}
    p.write_text(json.dumps(doc))
    return p


INPUTS: dict[str, Callable[[Path], Path]] = {
    "tiny-elements.zip": tiny_elements, "tiny-records.zip": tiny_records, "report-45mb.xml": report_45,
    "report-45mb.xml.gz": report_45_gz, "report-199mb.xml": report_199, "deep.xml.gz": deep,
    "long-text.xml": long_text, "utf16-45mb.xml": utf16, "mbox-200mb.mbox": mbox, "mail-14mb.eml": big_mail,
    "tls-huge.json": tls_huge,
}

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
limit = int(sys.argv[3]) * 1024 * 1024
if limit:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from inboxready.core.reports.store import ReportStore
t = time.perf_counter()
try:
    store = ReportStore(Path(sys.argv[2]))
    res = store.import_paths([sys.argv[1]])
    out = {"imported": len(res.imported), "rows": store.counts()["rows"],
           "rejected": [r for _n, r in res.rejected][:3], "error": ""}
    store.close()
except BaseException as exc:
    out = {"imported": 0, "rows": 0, "rejected": [], "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
out["seconds"] = time.perf_counter() - t
try:  # this process's own high-water mark (ru_maxrss would keep the parent's from before exec)
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
    out["maxrss_mb"] = int(hwm.split()[1]) / 1024
except (OSError, IndexError, ValueError):
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def measure(path: Path, store: Path, *, code: Path | None = None, limit_mb: int = 0,
            timeout: float = 900) -> dict[str, object]:
    """Import ``path`` into ``store`` in a child process; its peak RSS, time and outcome."""
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD, str(path), str(store), str(limit_mb)], capture_output=True,
                              text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"still running after {timeout:.0f} s", "maxrss_mb": float("nan"), "seconds": timeout}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {"error": f"child failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}",
                "maxrss_mb": float("nan"), "seconds": float("nan")}
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="+", choices=sorted(INPUTS), help="just these inputs")
    ap.add_argument("--code", type=Path, help="run this checkout's code (a folder with inboxready/ in it)")
    ap.add_argument("--limit-mb", type=int, default=3000, help="the child's address-space cap (0: none)")
    ap.add_argument("--keep", type=Path, help="make the inputs in (or reuse them from) this folder")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ir-bench-mem-") as tmp:
        folder = a.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"machine: {os.cpu_count()} cores; load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for name in a.only or list(INPUTS):
            path = folder / name
            if not path.exists():
                INPUTS[name](folder)
            size = path.stat().st_size
            r = measure(path, Path(tmp) / f"{name}.sqlite3", code=a.code, limit_mb=a.limit_mb)
            what = r.get("error") or (f"{r['imported']} report(s), {r['rows']} rows" if r.get("imported") else
                                      f"refused: {'; '.join(map(str, r.get('rejected') or []))[:150]}")
            print(f"{name:<20} {size / MB:8.1f} MB  peak RSS {float(r['maxrss_mb']):7.0f} MB  "  # type: ignore[arg-type]
                  f"{float(r['seconds']):6.1f} s  {what}")  # type: ignore[arg-type]
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
