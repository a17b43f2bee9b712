"""The conformance data is part of the repository, complete, unchanged, and missing data fails loudly.

A fresh clone has nothing beside it, so every file a test reads lives under ``tests/data/conformance/``
with its source and licence (``SOURCES.md``, ``licenses/``). These tests check that SOURCES.md and the
folder agree file by file (size, and the upstream git blob id for verbatim copies), that no test reads
from outside the repository, and that a clone that lost the data reports failures naming the missing
files instead of skipping them or stopping at collection.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import CONFORMANCE, REPO

ROW = re.compile(r"^\| `([^`]+)` \| (\d+) \| (.*)\|\s*$")


def _listed() -> dict[str, tuple[int, str | None]]:
    """local path -> (bytes, upstream blob id prefix or None) from the tables of SOURCES.md."""
    out: dict[str, tuple[int, str | None]] = {}
    for line in (CONFORMANCE / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            blob = re.search(r"\| `([0-9a-f]{12})`\s*$", "|" + m.group(3).rstrip())
            out[m.group(1)] = (int(m.group(2)), blob.group(1) if blob else None)
    return out


def _git_blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def test_every_listed_file_is_here_unchanged() -> None:
    listed = _listed()
    assert len(listed) > 100, "SOURCES.md lists the files"
    for rel, (size, blob) in sorted(listed.items()):
        path = CONFORMANCE / rel
        assert path.is_file(), f"{rel} is listed in SOURCES.md but missing"
        data = path.read_bytes()
        assert len(data) == size, f"{rel}: {len(data)} bytes, SOURCES.md says {size}"
        if blob is not None:
            assert _git_blob(data).startswith(blob), f"{rel} differs from the upstream file"


def test_every_file_here_is_listed_with_its_licence() -> None:
    listed = _listed()
    present = {p.relative_to(CONFORMANCE).as_posix() for p in CONFORMANCE.rglob("*") if p.is_file()}
    assert present - listed.keys() == {"SOURCES.md"}
    notices = (CONFORMANCE / "licenses" / "NOTICES.txt").read_text(encoding="utf-8")
    for licence in re.findall(r"[\w./-]+(?:LICENSE(?:\.txt)?|COPYING|\.MIT\.txt|Apache-2\.0\.txt)", notices):
        assert (CONFORMANCE / licence).is_file() or (CONFORMANCE / "licenses" / Path(licence).name).is_file(), licence


def test_dkim_cases_name_only_files_that_are_here() -> None:
    cases = yaml.safe_load((CONFORMANCE / "dkim" / "cases.yml").read_text(encoding="utf-8"))
    named = {case[key] for group in cases.values() if isinstance(group, list) for case in group
             for key in ("message", "private_key", "dns_record") if isinstance(case, dict) and key in case}
    assert len(named) > 10
    for rel in sorted(named):
        assert (CONFORMANCE / "dkim" / rel).is_file(), f"dkim/cases.yml names {rel}, which is not here"


def test_no_test_reads_outside_the_repository() -> None:
    outside = re.compile(r"\.\./shared|REPO\.parent|shared\" */ *\"conformance|" + "shared/" + "conformance")
    offenders = [p.relative_to(REPO).as_posix() for p in (REPO / "tests").rglob("*.py")
                 if p.name != Path(__file__).name and outside.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_missing_data_fails_each_test_that_needs_it_and_the_run_goes_on(tmp_path: Path) -> None:
    """A clone without tests/data: pytest collects everything, runs the tests that need no data, and fails
    every test that needs data with the missing file's name. No skip, no collection error."""
    shutil.copytree(REPO / "tests", tmp_path / "tests",
                    ignore=lambda folder, names: [n for n in names if n == "__pycache__"
                                                  or (n == "data" and Path(folder) == REPO / "tests")])
    modules = [f"tests/conformance/{m}" for m in ("test_dmarc_vectors.py", "test_spf_rfc7208.py",
                                                   "test_spf_stalwart.py", "test_spf_vectors.py")]
    modules += ["tests/mail/test_authres.py", "tests/mail/test_dkimcheck.py", "tests/core/records/test_dkim_parse.py"]
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfEs", *modules],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    summary = out.strip().splitlines()[-1]
    assert proc.returncode == 1, out[-3000:]
    assert "error during collection" not in out and "errors during collection" not in out, out[-3000:]
    assert " skipped" not in summary and "SKIPPED" not in out, summary
    assert re.search(r"\b\d+ passed", summary), summary  # the tests that need no data still ran
    missing = set(re.findall(r"test data missing: tests/data/conformance/(\S+)", out))
    assert missing >= {"records/dmarc-record-vectors.yml", "spf/rfc7208-tests.yml", "spf/stalwart",
                       "records/spf-record-vectors.yml", "records/spf-macro-expansion.yml",
                       "auth-results/authentication-results-parsing.yml", "auth-results/real-world-headers.yml",
                       "dkim", "dkim/dkimpy"}, missing
