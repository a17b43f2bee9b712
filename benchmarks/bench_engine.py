"""Engine benchmarks (run by hand; the figures go in the README).

    python benchmarks/bench_engine.py [--setup-checkdmarc] [--skip-checkdmarc] [--big 1000]

1. Batch: 20 domains served by the loopback DNS server with 30 ms added to every answer, checked by
   InboxReady and by checkdmarc (in its own virtual environment, pointed at the same server) in the same
   run. checkdmarc only speaks to port 53, so the server listens on 127.0.0.2:53 (needs root).
2. Critical path: one domain's full check against the longest chain of dependent queries times the
   latency (computed from the zone by the model in ``critical_path``).
3. Memory: 1,000 domains with bounded concurrency (20 at once; the single-threaded test server is the
   bottleneck there, so queries get a generous timeout); peak RSS of the checking process, and how many
   checks could not complete (should be 0).

The DNS server runs in a separate process so that it does not share the GIL with the engine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKDMARC_VENV = HERE / ".venv-checkdmarc"
LATENCY = 0.030
HOST = "127.0.0.2"


def _dkim_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def _txt(value: str) -> str:
    from inboxready.core.model import quote_txt, split_txt

    return " ".join(quote_txt(s) for s in split_txt(value))


def zone_for(domain: str, key: str) -> str:
    """A realistic sending domain: two MX hosts, SPF with nested includes and a/mx mechanisms, DKIM at
    two selectors (one by CNAME, as providers publish them), DMARC at quarantine with reports."""
    return f"""$ORIGIN {domain}.
$TTL 300
@        SOA ns1 hostmaster 1 3600 600 86400 300
@        NS ns1
ns1      A 127.0.0.2
@        MX 10 mx1
@        MX 20 mx2
mx1      A 192.0.2.1
mx2      A 192.0.2.2
@        A 192.0.2.80
@        TXT "v=spf1 mx include:_spf.{domain} include:_spf2.{domain} ~all"
@        TXT "google-site-verification=abc123"
_spf     TXT "v=spf1 ip4:192.0.2.0/24 include:_spf3.{domain} -all"
_spf2    TXT "v=spf1 a:out.{domain} ~all"
_spf3    TXT "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8::/32 -all"
out      A 192.0.2.5
_dmarc   TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@{domain}; adkim=r; aspf=r"
selector1._domainkey TXT {_txt("v=DKIM1; k=rsa; p=" + key)}
google._domainkey CNAME google.keys.{domain}.
google.keys TXT {_txt("v=DKIM1; k=rsa; p=" + key)}
"""


# The longest chain of dependent queries for zone_for(): the SPF tree is the deepest branch:
#   TXT d -> TXT _spf.d -> TXT _spf3.d   (3)   and   TXT d -> MX d (mx mechanism) -> A mx1 (3)
# DMARC: TXT _dmarc.d (1); DKIM: TXT selector (the CNAME is answered in the same response) (1);
# MX: MX d -> A/AAAA mx1 (2).
CRITICAL_PATH_QUERIES = 3


def write_zones(folder: Path, domains: list[str]) -> None:
    key = _dkim_key()
    for d in domains:
        (folder / f"{d}.zone").write_text(zone_for(d, key))


def start_server(folder: Path, host: str, port: int, latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "inboxready.core.dns.server", str(folder), "--host", host, "--port", str(port),
         "--latency", str(latency)],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    address = proc.stdout.readline().strip()
    if not address:
        raise SystemExit("the DNS server did not start (port 53 on 127.0.0.2 needs root)")
    return proc, address


async def _ours(domains: list[str], address: str, concurrency: int) -> tuple[float, list[object]]:
    from inboxready.core.checks.runner import run_many
    from inboxready.core.context import CheckOptions

    opts = CheckOptions(nameservers=[address], timeout=4.0)
    t = time.perf_counter()
    reports = await run_many(domains, opts, concurrency=concurrency)
    return time.perf_counter() - t, reports


def bench_batch(folder: Path, domains: list[str], run_checkdmarc: bool) -> dict[str, object]:
    proc, address = start_server(folder, HOST, 53, LATENCY)
    try:
        ours, reports = asyncio.run(_ours(domains, address, concurrency=20))
        statuses = {r.domain: {k: str(v.status) for k, v in r.checks.items()} for r in reports}  # type: ignore[attr-defined]
        result: dict[str, object] = {"domains": len(domains), "inboxready_s": round(ours, 3),
                                     "sample_statuses": statuses[domains[0]]}
        if run_checkdmarc:
            exe = CHECKDMARC_VENV / "bin" / "checkdmarc"
            if not exe.exists():
                raise SystemExit(f"{exe} is missing: run with --setup-checkdmarc first")
            t = time.perf_counter()
            out = subprocess.run([str(exe), "-n", HOST, "--skip-tls", "-t", "4", *domains],
                                 capture_output=True, text=True, timeout=600)
            theirs = time.perf_counter() - t
            parsed = json.loads(out.stdout) if out.stdout.strip().startswith(("[", "{")) else None
            sample = parsed[0] if isinstance(parsed, list) else parsed
            result["checkdmarc_s"] = round(theirs, 3)
            result["checkdmarc_ok"] = bool(sample and sample.get("spf", {}).get("valid"))
            result["speedup"] = round(theirs / ours, 1)
        return result
    finally:
        proc.terminate()
        proc.wait()


def bench_critical_path(folder: Path, domain: str) -> dict[str, object]:
    proc, address = start_server(folder, "127.0.0.1", 0, LATENCY)
    try:
        from inboxready.core.checks.runner import run_check
        from inboxready.core.context import CheckOptions

        runs = []
        for _ in range(5):
            t = time.perf_counter()
            report = asyncio.run(run_check(domain, CheckOptions(nameservers=[address])))
            runs.append(time.perf_counter() - t)
        best = min(runs)
        critical = CRITICAL_PATH_QUERIES * LATENCY
        return {"queries": len(report.queries), "best_s": round(best, 3), "median_s": round(sorted(runs)[2], 3),
                "critical_path_s": critical, "ratio": round(best / critical, 2)}
    finally:
        proc.terminate()
        proc.wait()


def bench_memory(folder: Path, domains: list[str], concurrency: int) -> dict[str, object]:
    proc, address = start_server(folder, "127.0.0.1", 0, 0.002)
    try:
        code = f"""
import asyncio, resource, time, json
from inboxready.core.checks.runner import run_many
from inboxready.core.context import CheckOptions
domains = {domains!r}
t = time.perf_counter()
reports = asyncio.run(run_many(domains, CheckOptions(nameservers=[{address!r}], timeout=15.0, deadline=120.0), concurrency={concurrency}))
elapsed = time.perf_counter() - t
bad = sum(1 for r in reports for c in r.checks.values() if str(c.status) == 'error')
print(json.dumps({{"elapsed_s": round(elapsed, 2), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), "couldnt_check": bad}}))
"""
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            raise SystemExit(out.stderr)
        data: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
        data.update({"domains": len(domains), "concurrency": concurrency})
        return data
    finally:
        proc.terminate()
        proc.wait()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--setup-checkdmarc", action="store_true", help="create the checkdmarc venv first")
    p.add_argument("--skip-checkdmarc", action="store_true")
    p.add_argument("--big", type=int, default=1000, help="domains for the memory run (0 to skip)")
    args = p.parse_args()
    if args.setup_checkdmarc:
        subprocess.run([sys.executable, "-m", "venv", str(CHECKDMARC_VENV)], check=True)
        subprocess.run([str(CHECKDMARC_VENV / "bin" / "pip"), "install", "-q", "checkdmarc"], check=True)
    tmp = Path(tempfile.mkdtemp(prefix="inboxready-bench-"))
    try:
        small = [f"bench{i:02d}.example" for i in range(20)]
        write_zones(tmp, small)
        print("batch (20 domains, 30 ms per answer):", json.dumps(bench_batch(tmp, small, not args.skip_checkdmarc)))
        print("single domain vs critical path:", json.dumps(bench_critical_path(tmp, small[0])))
        if args.big:
            big_dir = tmp / "big"
            big_dir.mkdir()
            big = [f"load{i:04d}.example" for i in range(args.big)]
            write_zones(big_dir, big)
            print(f"memory ({args.big} domains):", json.dumps(bench_memory(big_dir, big, concurrency=20)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
