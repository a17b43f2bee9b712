"""One pipeline (``check_and_judge``): check → checklist → profile verdict → what changed since the last run,
the same for the CLI, the monitor and the app."""

from __future__ import annotations

import io
import json
from pathlib import Path

from inboxready.app import cli
from inboxready.core.context import CheckOptions
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.frontend import CLI
from inboxready.core.model import CheckResult, Status
from inboxready.core.policy.checklist import build_checklist
from inboxready.core.policy.compliance import evaluate
from inboxready.core.policy.diff import CheckDiff
from inboxready.core.policy.pipeline import check_and_judge
from inboxready.core.store.history import History, StoredCheck

from tests.helpers.zones import MAIL_BASE, SPF_LINE

from ...conftest import run

ZONE = MAIL_BASE + SPF_LINE
DMARC = '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"\n'
CHECKS = ("spf", "dkim", "dmarc", "mx")


def _options(server: DnsTestServer) -> CheckOptions:
    return CheckOptions(nameservers=[server.address], timeout=1.0, deadline=10.0, checks=CHECKS)


def test_check_and_judge_stores_diffs_and_judges(dns_server: DnsTestServer, tmp_path: Path) -> None:
    dns_server.add_zone("example.com", ZONE)
    history = History(tmp_path / "h.sqlite3")
    first = run(check_and_judge("example.com", _options(dns_server), history=history, profile="bulk-sender",
                                spam_rate=0.05, front=CLI))
    assert set(first.report.checks) == set(CHECKS) and first.report.checks["dmarc"].status is Status.FAIL
    assert first.previous is None and first.run_id is not None
    assert all(d.trend == "new" for d in first.diffs.values()) and set(first.diffs) == set(CHECKS)
    # the judgements are those of the policy modules over this very report
    assert first.checklist.to_json() == build_checklist(first.report.checks, spam_rate=0.05, front=CLI).to_json()
    assert first.verdict is not None
    assert first.verdict.to_json() == evaluate("bulk-sender", first.report.checks, front=CLI).to_json()

    dns_server.add_zone("example.com", ZONE + DMARC)
    seen: list[StoredCheck | None] = []
    streamed: list[tuple[CheckResult, CheckDiff | None]] = []
    second = run(check_and_judge("example.com", _options(dns_server), history=history, on_previous=seen.append,
                                 on_result=lambda r, d: streamed.append((r, d))))
    assert seen and seen[0] is not None and seen[0].id == first.run_id == second.previous.id  # type: ignore[union-attr]
    assert second.diffs["dmarc"].trend == "better" and second.diffs["dmarc"].records_added
    assert second.diffs["mx"].trend == "same" and not second.diffs["mx"].changed
    assert {r.name for r, _ in streamed} == set(CHECKS)
    assert all(d is not None and d == second.diffs[r.name] for r, d in streamed)
    assert second.verdict is None  # no profile asked for
    assert [c.id for c in history.runs("example.com")] == [second.run_id, first.run_id]


def test_without_history_nothing_is_read_or_stored(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("example.com", ZONE)
    streamed: list[CheckDiff | None] = []
    judged = run(check_and_judge("example.com", _options(dns_server), on_result=lambda r, d: streamed.append(d)))
    assert judged.previous is None and judged.run_id is None and judged.diffs == {}
    assert streamed == [None] * len(CHECKS)
    assert not History().runs("example.com")  # the (isolated) default history stays empty


def test_the_cli_shows_what_the_pipeline_judged(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("example.com", ZONE)
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["check", "example.com", "--nameserver", dns_server.address, "--only", ",".join(CHECKS),
                     "--profile", "bulk-sender", "--spam-rate", "0.05", "--json"], out=out, err=err)
    data = json.loads(out.getvalue())[0]
    judged = run(check_and_judge("example.com", _options(dns_server), profile="bulk-sender", spam_rate=0.05,
                                 front=CLI))
    assert code == 1 and data["checklist"]["status"] == judged.checklist.to_json()["status"]
    assert [i["state"] for i in data["checklist"]["detail"]["items"]] == \
        [i["state"] for i in judged.checklist.detail["items"]]
    assert data["profile"]["state"] == judged.verdict.state  # type: ignore[union-attr]
