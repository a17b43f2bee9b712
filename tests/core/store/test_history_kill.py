"""The history survives a process killed (SIGKILL) in the middle of writing: no damage, and every run
whose ``add`` had returned is still readable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inboxready.core.model import DomainReport
from inboxready.core.store.history import History

WRITER = r"""
import sys
from inboxready.core.store.history import History
from inboxready.core.model import CheckResult, DomainReport, Status

path, tag = sys.argv[1], sys.argv[2]
h = History(__import__("pathlib").Path(path))
assert h.available, h.problem
blob = "v=spf1 " + " ".join(f"ip4:192.0.2.{i % 250}" for i in range(400)) + " -all"  # a fat row
i = 0
while True:
    i += 1
    report = DomainReport(domain=f"d{i}.{tag}.example", started=f"2026-11-01T10:{i % 60:02d}:00+00:00",
                          checks={"spf": CheckResult("spf", Status.PASS, f"run {i}", records=[blob] * 8)})
    rid = h.add(report)
    if rid is None:
        print("FAILED", h.problem, flush=True)
        sys.exit(3)
    print(f"{rid} d{i}.{tag}.example", flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX only")
def test_history_survives_sigkill_mid_write(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    committed: dict[int, str] = {}
    for round_no, delay in enumerate((0.0, 0.013, 0.031, 0.057, 0.0)):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"r{round_no}"], stdout=subprocess.PIPE,
                                text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert proc.stdout is not None
        # wait until it has committed a few runs, then kill it at a moment of its own
        seen = 0
        while seen < 5 + round_no * 3:
            line = proc.stdout.readline()
            assert line and not line.startswith("FAILED"), line
            rid, domain = line.split()
            committed[int(rid)] = domain
            seen += 1
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        for line in proc.stdout:  # anything it reported before dying was committed too
            if line.strip():
                rid, domain = line.split()
                committed[int(rid)] = domain
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL

        h = History(path)
        try:
            assert h.problem == "" and h.moved_to is None, h.problem  # opened as is, nothing moved aside
            assert h._db is not None and h._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            for rid, domain in committed.items():
                run = h.get(rid)
                assert run is not None, f"committed run {rid} lost"
                assert run.domain == domain and run.report["checks"]["spf"]["summary"].startswith("run ")
                json.dumps(run.report)
            # and the file still takes new runs
            assert h.add(DomainReport("after.example", started="2026-11-02T00:00:00+00:00")) is not None
        finally:
            h.close()
    assert len(committed) >= 5 + 8 + 11 + 14 + 17
