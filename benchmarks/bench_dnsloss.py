"""DNS under packet loss (run by hand; the figures go in the README).

    python benchmarks/bench_dnsloss.py [--before main] [--loss 0,0.03,0.05] [--runs 3] [--timeout 2]

20 realistic domains (the zones of ``bench_engine.py``) served by the loopback DNS server in its own
process, with 30 ms added to every answer and a given fraction of UDP queries dropped at random (seeded,
a different seed per run). The whole batch (every DNS check: STARTTLS, which connects to port 25, is left
out) is checked 20 at a time (``run_many``), as ``inboxready check a.com b.com ...`` does, by this tree's
engine and, in the same run, by the engine of ``--before`` (a git ref, loaded from ``git archive`` under
another package name). For each loss rate: the batch time (median
of the runs), how many checks ended as "couldn't check", how many verdicts differ from the lossless run,
and the datagrams sent per query. Then, without loss, one domain's full check (best and median of 7 runs
per engine, alternating): what the rework costs a single check.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from bench_engine import LATENCY, write_zones  # noqa: E402

RUN = r"""
import asyncio, json, sys, time
pkg = sys.argv[1]
core = __import__(pkg + ".core.checks.runner", fromlist=["run_many"])
ctx = __import__(pkg + ".core.context", fromlist=["CheckOptions", "ALL_CHECKS"])
address, timeout, domains = sys.argv[2], float(sys.argv[3]), sys.argv[4].split(",")

async def go():
    t = time.perf_counter()
    checks = tuple(c for c in ctx.ALL_CHECKS if c != "starttls")  # DNS only (STARTTLS connects to port 25)
    opts = ctx.CheckOptions(nameservers=[address], timeout=timeout, checks=checks)
    reports = await core.run_many(domains, opts, concurrency=20)
    elapsed = time.perf_counter() - t
    sent = None
    try:
        dnsmod = __import__(pkg + ".core.dns.client", fromlist=["server_stats"])
        sent = dnsmod.server_stats(address)["sent"]
    except Exception:
        pass
    return elapsed, reports, sent

elapsed, reports, sent = asyncio.run(go())
verdicts = {r.domain: {n: [str(c.status), sorted(f.code for f in c.findings)] for n, c in r.checks.items()}
            for r in reports}
queries = sum(len(r.queries) for r in reports)
print(json.dumps({"elapsed_s": elapsed, "verdicts": verdicts, "queries": queries, "sent": sent,
                  "slowest_query_ms": max((q["elapsed_ms"] for r in reports for q in r.queries), default=0)}))
"""


def start_server(folder: Path, drop: float, seed: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "inboxready.core.dns.server", str(folder), "--latency", str(LATENCY),
         "--drop", str(drop), "--seed", str(seed)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def old_tree(ref: str, into: Path) -> Path:
    """``core/`` of ``ref`` as the package ``irbefore.core`` (core imports itself relatively)."""
    pkg = into / "irbefore"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "core"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(pkg)], input=archive.stdout, check=True)
    return into


def batch(pkg: str, path: Path | None, address: str, timeout: float, domains: list[str]) -> dict[str, object]:
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = str(path) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", RUN, pkg, address, str(timeout), ",".join(domains)],
                         capture_output=True, text=True, env=env, timeout=900)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


SINGLE = r"""
import asyncio, json, sys, time
pkg, address = sys.argv[1], sys.argv[2]
core = __import__(pkg + ".core.checks.runner", fromlist=["run_check"])
ctx = __import__(pkg + ".core.context", fromlist=["CheckOptions", "ALL_CHECKS"])
checks = tuple(c for c in ctx.ALL_CHECKS if c != "starttls")
asyncio.run(core.run_check("bench00.example", ctx.CheckOptions(nameservers=[address], checks=checks)))  # warm
t = time.perf_counter()
asyncio.run(core.run_check("bench00.example", ctx.CheckOptions(nameservers=[address], checks=checks)))
print(json.dumps(time.perf_counter() - t))
"""


def single(engines: dict[str, tuple[str, Path | None]], folder: Path, runs: int = 7) -> None:
    proc, address = start_server(folder, 0.0, seed=1)
    times: dict[str, list[float]] = {name: [] for name in engines}
    try:
        for _ in range(runs):
            for name, (pkg, path) in engines.items():
                env = dict(os.environ)
                if path is not None:
                    env["PYTHONPATH"] = str(path) + os.pathsep + env.get("PYTHONPATH", "")
                out = subprocess.run([sys.executable, "-c", SINGLE, pkg, address], capture_output=True, text=True,
                                     env=env, timeout=300)
                times[name].append(float(out.stdout.strip().splitlines()[-1]))
    finally:
        proc.terminate()
        proc.wait()
    for name, t in times.items():
        print(json.dumps({"single_domain": name, "best_ms": round(min(t) * 1000), "median_ms":
                          round(statistics.median(t) * 1000)}), flush=True)


def couldnt(verdicts: dict[str, dict[str, list[object]]]) -> int:
    return sum(1 for checks in verdicts.values() for v in checks.values() if v[0] == "error")


def differ(a: dict[str, dict[str, list[object]]], b: dict[str, dict[str, list[object]]]) -> int:
    return sum(1 for d in a for n in a[d] if a[d][n] != b.get(d, {}).get(n))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", default="main", help="git ref of the engine to compare with (default main)")
    p.add_argument("--loss", default="0,0.03,0.05", help="comma-separated drop rates")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--timeout", type=float, default=2.0, help="per-query timeout (the issue's figures: 2 s)")
    args = p.parse_args()
    losses = [float(x) for x in args.loss.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="inboxready-loss-"))
    domains = [f"bench{i:02d}.example" for i in range(20)]
    write_zones(tmp, domains)
    before_path = old_tree(args.before, tmp / "before")
    engines = {"before": ("irbefore", before_path), "after": ("inboxready", None)}
    print(f"cores {os.cpu_count()}, load {os.getloadavg()[0]:.2f}; 20 domains, {LATENCY * 1000:g} ms per answer, "
          f"timeout {args.timeout:g} s, {args.runs} runs each; before = {args.before}")
    baseline: dict[str, dict[str, dict[str, list[object]]]] = {}
    for loss in losses:
        for name, (pkg, path) in engines.items():
            times, bad, changed, per_query, slowest = [], [], [], [], []
            for run in range(args.runs):
                proc, address = start_server(tmp, loss, seed=1000 + run)
                try:
                    r = batch(pkg, path, address, args.timeout, domains)
                finally:
                    proc.terminate()
                    proc.wait()
                verdicts = r["verdicts"]  # type: ignore[assignment]
                if loss == 0 and run == 0:
                    baseline[name] = verdicts  # type: ignore[assignment]
                times.append(float(r["elapsed_s"]))  # type: ignore[arg-type]
                bad.append(couldnt(verdicts))  # type: ignore[arg-type]
                changed.append(differ(baseline[name], verdicts))  # type: ignore[arg-type]
                slowest.append(float(r["slowest_query_ms"]))  # type: ignore[arg-type]
                if r.get("sent"):
                    per_query.append(int(r["sent"]) / max(1, int(r["queries"])))  # type: ignore[arg-type]
            print(json.dumps({"loss": loss, "engine": name, "batch_s_median": round(statistics.median(times), 2),
                              "batch_s": [round(t, 2) for t in times], "couldnt_check": bad,
                              "verdicts_changed": changed, "slowest_query_ms": [round(x) for x in slowest],
                              "datagrams_per_query": [round(x, 2) for x in per_query]}), flush=True)
    single(engines, tmp)
    print(f"load {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
