"""Report import benchmark: InboxReady against parsedmarc on the same files, in the same run (offline).

    python benchmarks/bench_reports.py [--count 10000] [--seed 7] [--keep DIR] [--skip-parsedmarc]
                                       [--parsedmarc-python /work/bench-parsedmarc/bin/python]

Files: every file of tests/data/conformance/dmarc-reports (the shared samples, malformed ones included)
plus ``--count`` reports made by ``gen_reports.py`` (50% .xml.gz, 30% .zip, 20% .xml; 1-40 rows each).

* InboxReady runs in a child process: ``ReportStore.import_paths(files, workers=N)`` into a fresh SQLite
  file (WAL, synchronous=FULL, duplicates detected) from a worker thread (once per ``--workers`` value; N > 1
  parses in N extra processes and the CPU time shown is then the main process's only), while the child's asyncio loop ticks every
  10 ms and records the longest stall (what the desktop app's UI would feel). Reported: wall and CPU time,
  files/s, peak RSS (``ru_maxrss``), the longest event-loop stall.
* parsedmarc runs in its own virtual environment (``python3 -m venv /work/bench-parsedmarc &&
  /work/bench-parsedmarc/bin/pip install parsedmarc``) in a child process: ``parse_report_file(path,
  offline=True, always_use_local_files=True)`` for every file (no DNS, no IP database download; it only
  parses, it stores nothing). Reported: wall and CPU time, files/s, peak RSS.

Both children read the same list of files in the same order; the machine's other load affects wall time
more than CPU time, so both are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SAMPLES = REPO / "tests" / "data" / "conformance" / "dmarc-reports"

OURS_CHILD = r"""
import asyncio, json, resource, sys, time
from pathlib import Path
from inboxready.core.reports.store import ReportStore

files = [l for l in Path(sys.argv[1]).read_text().splitlines() if l]
db = Path(sys.argv[2])
workers = int(sys.argv[3])

async def main():
    loop = asyncio.get_running_loop()
    worst = 0.0
    done = False
    async def ticker():
        nonlocal worst
        while not done:
            t = loop.time()
            await asyncio.sleep(0.01)
            worst = max(worst, loop.time() - t - 0.01)
    tick = asyncio.create_task(ticker())
    store = ReportStore(db)
    t0, c0 = time.perf_counter(), time.process_time()
    res = await asyncio.to_thread(store.import_paths, files, workers=workers)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    done = True
    await tick
    counts = store.counts()
    store.close()
    return {"files": res.files, "imported": len(res.imported), "duplicate": len(res.duplicate),
            "rejected": len(res.rejected), "rows": counts["rows"], "wall": wall, "cpu": cpu,
            "max_stall_ms": worst * 1000, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}

print(json.dumps(asyncio.run(main())))
"""

PARSEDMARC_CHILD = r"""
import json, logging, resource, sys, time
from pathlib import Path
logging.disable(logging.CRITICAL)
import parsedmarc
files = [l for l in Path(sys.argv[1]).read_text().splitlines() if l]
ok = bad = records = 0
t0, c0 = time.perf_counter(), time.process_time()
for f in files:
    try:
        r = parsedmarc.parse_report_file(f, offline=True, always_use_local_files=True)
        ok += 1
        rep = r.get("report") if isinstance(r, dict) else None
        if isinstance(rep, dict):
            records += len(rep.get("records", []) or [])
    except Exception:
        bad += 1
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"files": len(files), "parsed": ok, "failed": bad, "records": records, "wall": wall, "cpu": cpu,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def list_files(generated: Path) -> list[str]:
    files: list[str] = []
    if SAMPLES.exists():
        files += [str(p) for p in sorted(SAMPLES.rglob("*")) if p.is_file()]
    files += [str(p) for p in sorted(generated.iterdir()) if p.is_file()]
    return files


def run_child(python: str, code: str, args: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    proc = subprocess.run([python, "-c", code, *args], capture_output=True, text=True, env=env, timeout=7200)
    if proc.returncode != 0:
        raise RuntimeError(f"{python} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", type=Path, help="generate into (or reuse) this folder instead of a temporary one")
    ap.add_argument("--skip-parsedmarc", action="store_true")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                    help="InboxReady runs, one per number of parsing processes (default: 1 and 2)")
    ap.add_argument("--parsedmarc-python", default="/work/bench-parsedmarc/bin/python")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from gen_reports import generate  # noqa: E402

    with tempfile.TemporaryDirectory(prefix="ir-bench-reports-") as tmp:
        gen = a.keep or Path(tmp) / "generated"
        if not (gen.exists() and len(list(gen.iterdir())) == a.count):
            t = time.perf_counter()
            generate(gen, a.count, a.seed)
            print(f"generated {a.count} reports in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        files = list_files(gen)
        listing = Path(tmp) / "files.txt"
        listing.write_text("\n".join(files) + "\n")
        size = sum(os.path.getsize(f) for f in files)
        print(f"{len(files)} files ({size / 1e6:.1f} MB on disk): {len(files) - a.count} shared samples + "
              f"{a.count} generated")
        print(f"machine: {os.cpu_count()} cores; load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())} "
              "(1 / 5 / 15 min) before the runs")
        runs = {}
        for w in a.workers:
            ours = run_child(sys.executable, OURS_CHILD, [str(listing), str(Path(tmp) / f"reports-{w}.sqlite3"), str(w)])
            runs[w] = ours
            print(f"InboxReady ({w} parsing process{'es' if w > 1 else ''}): {ours['files']:.0f} files in "
                  f"{ours['wall']:.1f} s wall / {ours['cpu']:.1f} s CPU (main process) = "
                  f"{ours['files'] / ours['wall']:.0f} files/s; imported {ours['imported']:.0f}, duplicates "
                  f"{ours['duplicate']:.0f}, rejected {ours['rejected']:.0f}, {ours['rows']:.0f} rows stored; peak "
                  f"RSS {ours['maxrss_mb']:.0f} MB (main); longest event-loop stall {ours['max_stall_ms']:.1f} ms")
        if a.skip_parsedmarc:
            return 0
        if not Path(a.parsedmarc_python).exists():
            print(f"parsedmarc: {a.parsedmarc_python} not found (see the docstring to install it)")
            return 2
        pm = run_child(a.parsedmarc_python, PARSEDMARC_CHILD, [str(listing)])
        print(f"parsedmarc : {pm['files']:.0f} files in {pm['wall']:.1f} s wall / {pm['cpu']:.1f} s CPU "
              f"= {pm['files'] / pm['wall']:.0f} files/s wall, {pm['files'] / pm['cpu']:.0f} files/s CPU; "
              f"parsed {pm['parsed']:.0f}, failed {pm['failed']:.0f}, {pm['records']:.0f} records; "
              f"peak RSS {pm['maxrss_mb']:.0f} MB")
        print(f"load average after the runs: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for w, ours in runs.items():
            cpu = (f", {pm['cpu'] / ours['cpu']:.1f}x CPU" if w == 1 else "")
            print(f"speed-up ({w} process{'es' if w > 1 else ''}): {pm['wall'] / ours['wall']:.1f}x wall{cpu} "
                  "(InboxReady parses and stores in SQLite; parsedmarc only parses)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
