"""Report import memory is bounded whatever the input (issue 13, item 8): each hostile or huge input is made
here, imported by a child process, and must stay under 250 MB peak, with a clear refusal past the limits.
(Times are measured by benchmarks/bench_reports_memory.py, not asserted here.)"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

_BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_reports_memory.py"
_spec = importlib.util.spec_from_file_location("ir_bench_reports_memory", _BENCH)
assert _spec is not None and _spec.loader is not None
bench: Any = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("ir_bench_reports_memory", bench)
_spec.loader.exec_module(bench)

PEAK_MB = 250
MB = 1024 * 1024


def _tiny_records_zip(folder: Path, members: int = 2) -> Path:
    rec = b"<record><row><source_ip>192.0.2.1</source_ip><count>1</count></row></record>"
    p = folder / "tiny-records.zip"
    p.write_bytes(bench._zip([(f"r{i}.xml", bench.HEAD % (b"t-%d" % i) + rec * (45 * MB // len(rec)) + b"</feedback>")
                              for i in range(members)]))
    return p


def _big_plain(folder: Path) -> Path:
    p = folder / "report-60mb.xml"
    with open(p, "wb") as fh:  # refused by its size alone: the rest of it does not matter
        fh.write(bench.realistic(1 * MB))
        fh.write(b" " * (59 * MB))
    return p


CASES = [
    ("tiny-elements.zip", bench.tiny_elements, "parts outside its records"),
    ("tiny-records.zip", _tiny_records_zip, "more than 100,000 rows"),
    ("long-text.xml", bench.long_text, "longer than 64 KB"),
    ("report-60mb.xml", _big_plain, "larger than 50 MB; not opened"),
    ("deep.xml.gz", bench.deep, "nested more than 32 levels"),
    ("report-45mb.xml.gz", bench.report_45_gz, None),   # a real-looking big report: imported
]


@pytest.mark.parametrize("name,make,refusal", CASES, ids=[c[0] for c in CASES])
def test_import_stays_under_250_mb(tmp_path: Path, name: str, make: Any, refusal: str | None) -> None:
    path = make(tmp_path)
    result = bench.measure(path, tmp_path / "store.sqlite3", limit_mb=1500, timeout=300)
    assert not result.get("error"), result
    assert result["maxrss_mb"] < PEAK_MB, result
    if refusal is None:
        assert result["imported"] == 1 and result["rows"] > 90_000, result
    else:
        assert result["imported"] == 0 and any(refusal in r for r in result["rejected"]), result
