"""The CLI says what to type on the command line (not the app's screen names), and its status column is
always followed by a space before the summary."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from inboxready.app.cli import main
from inboxready.core import model
from inboxready.core.policy.checklist import build_checklist
from inboxready.core.policy.compliance import evaluate
from inboxready.core.model import Status

APP_WORDS = ("Test a message", "enter it here", "enter it in")


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_the_cli_checklist_and_profile_name_the_commands(tmp_path: Path) -> None:
    code, out, err = _run("check", "--demo", "demo-allgood.example", "--checklist", "--profile", "bulk-sender",
                          "--color", "never", "--report", str(tmp_path / "audit.html"))
    assert "send a test message (inboxready roundtrip)" in out
    assert "Needs a test message (inboxready roundtrip)" in out
    assert "--spam-rate" in out
    for word in APP_WORDS:
        assert word not in out
    report = (tmp_path / "audit.html").read_text(encoding="utf-8")  # the audit report saved by the CLI too
    assert "inboxready roundtrip" in report and "Test a message" not in report
    code, out, _ = _run("check", "--demo", "demo-allgood.example", "--json", "--profile", "bulk-sender")
    text = json.dumps(json.loads(out))
    assert "inboxready roundtrip" in text and "--spam-rate" in text
    for word in APP_WORDS:
        assert word not in text


def test_the_app_keeps_its_own_words() -> None:
    items = build_checklist({}, spam_rate=None).detail["items"]
    whys = " ".join(i["why"] for i in items)
    assert "send a test message (Test a message)" in whys and "enter it here" in whys
    verdict = evaluate("bulk-sender", {})
    assert any("(Test a message)" in r.why for r in verdict.rules)


STATUS_THEN_TEXT = re.compile(r"(Pass|Warning|Fail|Couldn't check|Info|Met|Not met|Not checked) {2,}\S")


def test_a_space_always_separates_the_status_from_the_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = _run("check", "--demo", "demo-timeout.example", "demo-nodmarc.example", "--color", "never",
                        "--quiet", "--profile", "hipaa")
    lines = [line for line in out.splitlines() if re.match(r"\s+[✓!✗?i-] ", line)]
    assert len(lines) > 10
    for line in lines:
        if re.match(r"\s+[✓!✗?i-] (SPF|DKIM|DMARC|MX|MTA-STS|TLS reporting|BIMI|DNSSEC|Reverse DNS)\b", line) \
                or "Profile" not in line and re.search(r"(Couldn't check|Not checked|Met|Not met) ", line):
            assert STATUS_THEN_TEXT.search(line), line
    # a longer status word (another wording, a translation) still leaves the gap
    monkeypatch.setitem(model._STATUS_LABELS, Status.ERROR, "Couldn't check from here")
    code, out, _ = _run("check", "--demo", "demo-timeout.example", "--color", "never", "--quiet", "--only", "spf")
    assert "Couldn't check from here  SPF couldn't be checked" in out
