"""The import job: JSON lines out, a clean stop on SIGTERM or when stdin closes, the same result as in-process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from inboxready.core.reports.importjob import (
    JobOutcome,
    main,
    outcome_events,
    outcome_from_events,
    run_import,
)
from inboxready.core.reports.store import ReportStore

from tests.reports.reports_util import good_row, report_xml

JOB = [sys.executable, "-m", "inboxready.core.reports.importjob"]


def _reports(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        rows = [good_row(f"203.0.113.{j % 250 + 1}", j + 1) for j in range(30)]
        (folder / f"r{i:05d}.xml").write_bytes(report_xml("r.test", f"id-{i}", "shop.test", 1_700_000_000 + i, rows))
    (folder / "zz-junk.txt").write_bytes(b"hello")
    return folder


def _events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_lines_and_the_result(tmp_path: Path) -> None:
    folder = _reports(tmp_path / "in", 20)
    proc = subprocess.run([*JOB, "--store", str(tmp_path / "db.sqlite3"), str(folder), str(tmp_path / "missing")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    events = _events(proc.stdout)
    assert events[0] == {"event": "progress", "done": 0, "total": 22, "name": ""}
    out = outcome_from_events(events)
    assert isinstance(out, JobOutcome)
    assert (out.total, out.done, out.cancelled, out.result.files) == (22, 22, False, 21)
    assert len(out.result.imported) == 20
    assert sorted(n for n, _ in out.result.rejected) == sorted(["zz-junk.txt", str(tmp_path / "missing")])
    store = ReportStore(tmp_path / "db.sqlite3")
    assert store.counts() == {"dmarc": 20, "tlsrpt": 0, "rows": 600}
    store.close()
    # again: everything is a duplicate
    again = outcome_from_events(_events(subprocess.run(
        [*JOB, "--store", str(tmp_path / "db.sqlite3"), str(folder)], capture_output=True, text=True,
        timeout=120, check=False).stdout))
    assert isinstance(again, JobOutcome) and len(again.result.duplicate) == 20 and not again.result.imported


def test_progress_fd_and_paths_from(tmp_path: Path) -> None:
    folder = _reports(tmp_path / "in", 3)
    listing = tmp_path / "paths.txt"
    listing.write_text("".join(f"{p}\n" for p in sorted(folder.glob("*.xml"))), encoding="utf-8")
    log = tmp_path / "events.jsonl"
    with open(log, "w") as fh:
        proc = subprocess.run([*JOB, "--store", str(tmp_path / "db.sqlite3"), "--paths-from", str(listing),
                               "--progress-fd", str(fh.fileno())], pass_fds=[fh.fileno()], capture_output=True,
                              text=True, timeout=120, check=False)
    assert proc.returncode == 0 and proc.stdout == ""
    out = outcome_from_events(_events(log.read_text()))
    assert isinstance(out, JobOutcome) and len(out.result.imported) == 3


def test_store_that_cannot_be_opened_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    proc = subprocess.run([*JOB, "--store", str(tmp_path / "file" / "db.sqlite3"), str(tmp_path)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2
    got = outcome_from_events(_events(proc.stdout))
    assert isinstance(got, str) and "could not be opened" in got


def _stop_midway(tmp_path: Path, how: str) -> tuple[JobOutcome, Path]:
    folder = _reports(tmp_path / "in", 3000)
    db = tmp_path / "db.sqlite3"
    proc = subprocess.Popen([*JOB, "--store", str(db), "--stdin-control", "--every", "0.02", str(folder)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    events: list[dict[str, Any]] = []
    for line in proc.stdout:
        ev = json.loads(line)
        events.append(ev)
        if ev["event"] == "progress" and ev["done"] >= 50:
            break
    if how == "sigterm":
        proc.send_signal(signal.SIGTERM)
    elif how == "cancel":
        proc.stdin.write("cancel\n")
        proc.stdin.flush()
    else:
        proc.stdin.close()
    events += [json.loads(line) for line in proc.stdout]
    assert proc.wait(60) == 0
    out = outcome_from_events(events)
    assert isinstance(out, JobOutcome)
    return out, db


def test_sigterm_stops_after_the_current_file_and_keeps_everything(tmp_path: Path) -> None:
    out, db = _stop_midway(tmp_path, "sigterm")
    assert out.cancelled and 50 <= out.done < out.total == 3001
    store = ReportStore(db)
    assert store.counts()["dmarc"] == len(out.result.imported) == out.done  # no half file, nothing lost
    assert store.counts()["rows"] == 30 * out.done
    store.close()


def test_closing_stdin_or_cancel_stops_cleanly(tmp_path: Path) -> None:
    for how in ("close", "cancel"):
        out, db = _stop_midway(tmp_path / how, how)
        assert out.cancelled and out.done < out.total
        store = ReportStore(db)
        assert store.counts()["dmarc"] == out.done
        store.close()


def test_in_process_run_matches_and_cancels(tmp_path: Path) -> None:
    folder = _reports(tmp_path / "in", 40)
    seen: list[tuple[int, int, str]] = []
    with ReportStore(tmp_path / "a.sqlite3") as store:
        out = run_import(store, [folder], progress=seen.append, every=0.0)
    assert out.done == out.total == 41 and not out.cancelled and len(out.result.imported) == 40
    assert seen[0] == (0, 41, "") and seen[-1][0] == 41
    back = outcome_from_events(list(outcome_events(out)))
    assert isinstance(back, JobOutcome) and back.result.imported == out.result.imported
    flag = threading.Event()

    def progress(p: tuple[int, int, str]) -> None:
        if p[0] >= 10:
            flag.set()

    with ReportStore(tmp_path / "b.sqlite3") as store:
        out = run_import(store, [folder], progress=progress, cancel=flag.is_set, every=0.0)
        assert out.cancelled and out.done == 10 and store.counts()["dmarc"] == 10


def test_main_in_process(tmp_path: Path, capsys: Any) -> None:
    folder = _reports(tmp_path / "in", 2)
    t = time.monotonic()
    assert main(["--store", str(tmp_path / "db.sqlite3"), str(folder)]) == 0
    assert time.monotonic() - t < 30
    out = outcome_from_events(_events(capsys.readouterr().out))
    assert isinstance(out, JobOutcome) and len(out.result.imported) == 2
