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


# -- the adversarial pass of followups-2: each made here, imported by a child process, bounded in memory, with a
# clear outcome and nothing stored half

_GOOD = (b"<record><row><source_ip>192.0.2.1</source_ip><count>1</count><policy_evaluated><disposition>none"
         b"</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers><header_from>big.test"
         b"</header_from></identifiers><auth_results><spf><domain>big.test</domain><result>pass</result></spf>"
         b"</auth_results></record>")


def _unreadable_records(folder: Path) -> Path:
    """One good record and a million that can't be read (no <row>): 22 MB, under every size limit."""
    p = folder / "unreadable-records.xml"
    p.write_bytes(bench.HEAD % b"junk-1" + _GOOD + b"<record><row/></record>" * 1_000_000 + b"</feedback>")
    return p


def _tls_million_policies(folder: Path) -> Path:
    import gzip
    import json

    pol = {"policy": {"policy-type": "sts", "policy-domain": "big.test"},
           "summary": {"total-successful-session-count": 1, "total-failure-session-count": 0}}
    doc = {"organization-name": "big", "report-id": "tls-1m", "contact-info": "a@big.test",
           "date-range": {"start-datetime": "2026-11-01T00:00:00Z", "end-datetime": "2026-11-01T23:59:59Z"},
           "policies": [pol] * 1_000_000}
    p = folder / "tls-1m-policies.json.gz"
    p.write_bytes(gzip.compress(json.dumps(doc).encode(), 6))
    return p


def _tls_small_million_policies(folder: Path) -> Path:
    import json

    p = folder / "tls-1m-empty-policies.json"   # 3.9 MB: under the TLS report's 5 MB, refused by its count
    p.write_text(json.dumps({"organization-name": "big", "report-id": "tls-e", "contact-info": "a@big.test",
                             "date-range": {"start-datetime": "2026-11-01T00:00:00Z",
                                            "end-datetime": "2026-11-01T23:59:59Z"}, "policies": [{}] * 1_000_000}))
    return p


def _mbox_10k(folder: Path) -> Path:
    import base64
    import gzip

    p = folder / "10k-reports.mbox"
    with open(p, "wb") as fh:
        for i in range(10_000):
            xml = bench.HEAD % (b"mb-%d" % i) + _GOOD + b"</feedback>"
            fh.write(b"From dmarc@big.test Thu Jan  1 00:00:00 2026\nFrom: dmarc@big.test\nSubject: Report %d\n"
                     b"MIME-Version: 1.0\nContent-Type: application/gzip; name=r.xml.gz\n"
                     b"Content-Transfer-Encoding: base64\n\n" % i + base64.encodebytes(gzip.compress(xml)) + b"\n")
    return p


HOSTILE = [
    ("unreadable-records.xml", _unreadable_records, 0, "more than 100,000 rows (records)"),
    ("tls-1m-policies.json.gz", _tls_million_policies, 0, "unpacks to more than 50 MB"),
    ("tls-1m-empty-policies.json", _tls_small_million_policies, 0, "too many policies"),
    ("10k-reports.mbox", _mbox_10k, 10_000, None),
]


@pytest.mark.parametrize("name,make,imported,refusal", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_imports_end_with_a_clear_outcome_in_bounded_memory(tmp_path: Path, name: str, make: Any,
                                                                    imported: int, refusal: str | None) -> None:
    path = make(tmp_path)
    result = bench.measure(path, tmp_path / "store.sqlite3", limit_mb=1500, timeout=300)
    assert not result.get("error"), result
    assert result["maxrss_mb"] < PEAK_MB, result
    assert result["imported"] == imported, result
    if refusal is None:
        assert not result["rejected"] and result["rows"] == imported, result
    else:
        assert result["rows"] == 0 and any(refusal in r for r in result["rejected"]), result
