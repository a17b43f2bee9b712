"""The DMARC ladder: every step, published in a test zone, passes the engine's own DMARC check."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inboxready.core.checks import dmarc as dmarc_check
from inboxready.core.builders.dmarc import (
    STAGES,
    DmarcBuildError,
    current_stage,
    dmarc_ladder,
    normalize_rua,
    report_authorization,
)
from inboxready.core.model import Status

from tests.conftest import make_ctx, run
from tests.core.builders.test_builders_whatif import fresh_server
from tests.helpers.zones import MAIL_BASE

BASE = "\n" + MAIL_BASE + """@        IN TXT "v=spf1 mx -all"
"""

REPORTS = """
$TTL 300
@        IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@        IN MX  10 mx
mx       IN A   192.0.2.20
"""


def _check(server, domain: str = "example.com"):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        return await dmarc_check.check(make_ctx(server, domain))

    return run(go())


EXPECTED_STATUS = {"monitor": Status.WARN, "test-quarantine": Status.WARN, "quarantine": Status.PASS,
                   "test-reject": Status.PASS, "reject": Status.PASS}


@pytest.mark.parametrize("stage", STAGES)
def test_each_step_passes_the_dmarc_check(dns_server, stage: str) -> None:  # type: ignore[no-untyped-def]
    step = {s.stage: s for s in dmarc_ladder("example.com", "dmarc@example.com")}[stage]
    dns_server.add_zone("example.com", BASE + f"_dmarc IN TXT {step.fix.zone_value}\n")
    result = _check(dns_server)
    assert result.status is EXPECTED_STATUS[stage], result.findings
    assert not [f for f in result.findings if f.severity.value in ("error", "unknown")]
    assert result.detail["policy"] == step.policy
    assert result.detail["testing"] == step.testing
    assert result.detail["rua"] == ["mailto:dmarc@example.com"]
    assert "pct=" not in step.record
    if step.policy != "none":
        assert result.detail["np"] == "reject"
        assert "dmarc.np-weak" not in {f.code for f in result.findings}
    # The check agrees on where the domain is now.
    assert current_stage(step.record) == stage


def test_ladder_marks_the_current_step_and_keeps_alignment() -> None:
    steps = dmarc_ladder("example.com", None, current="v=DMARC1; p=quarantine; pct=20; adkim=s; rua=mailto:r@example.com")
    assert [s.stage for s in steps if s.current] == ["test-quarantine"]
    assert steps[0].record == "v=DMARC1; p=none; adkim=s; rua=mailto:r@example.com"
    assert steps[-1].record == "v=DMARC1; p=reject; np=reject; adkim=s; rua=mailto:r@example.com"
    assert all(s.fix.action == "replace" and s.fix.host == "_dmarc.example.com" for s in steps)
    assert any("pct" in n for n in steps[0].notes)
    assert [s.stage for s in dmarc_ladder("example.com", "a@example.com", current="v=DMARC1; p=reject")
            if s.current] == ["reject"]
    assert not any(s.current for s in dmarc_ladder("example.com", "a@example.com", current=None))
    none = dmarc_ladder("example.com", [], current=None)
    assert "rua=" not in none[0].record and none[0].notes


def test_sp_and_np_options() -> None:
    steps = dmarc_ladder("example.com", "a@example.com", sp="quarantine", np=None)
    assert steps[-1].record == "v=DMARC1; p=reject; sp=quarantine; rua=mailto:a@example.com"
    with pytest.raises(DmarcBuildError):
        dmarc_ladder("example.com", "a@example.com", sp="maybe")
    with pytest.raises(DmarcBuildError):
        dmarc_ladder("example.com", "not an address")
    with pytest.raises(DmarcBuildError):
        dmarc_ladder("localhost", "a@example.com")


def test_external_reports_need_authorization(dns_server) -> None:  # type: ignore[no-untyped-def]
    steps = dmarc_ladder("example.com", "mailto:ex@reports.example.net")
    auth = steps[0].extra_fixes
    assert [(f.host, f.value) for f in auth] == [("example.com._report._dmarc.reports.example.net", "v=DMARC1")]
    reject = steps[-1]
    dns_server.add_zone("example.com", BASE + f"_dmarc IN TXT {reject.fix.zone_value}\n")
    dns_server.add_zone("reports.example.net", REPORTS)
    without = _check(dns_server)
    assert "dmarc.external-unverified" in {f.code for f in without.findings}
    dns_server.add_records(auth[0].host, "TXT", [auth[0].zone_value])
    with_auth = _check(dns_server)
    assert with_auth.status is Status.PASS, with_auth.findings
    assert with_auth.detail["external_destinations"][0]["authorized"] is True


def test_rua_normalisation() -> None:
    assert normalize_rua("a@example.com, mailto:b@example.org,a@example.com") == [
        "mailto:a@example.com", "mailto:b@example.org"]
    assert normalize_rua(["mailto:a@example.com!10m"]) == ["mailto:a@example.com"]
    assert report_authorization("example.com", ["mailto:a@sub.example.com"]) == []


@given(rua=st.text(max_size=60), current=st.one_of(st.none(), st.text(max_size=80)))
@settings(max_examples=300, deadline=None)
def test_builder_never_raises_anything_else(rua: str, current: str | None) -> None:
    try:
        steps = dmarc_ladder("example.com", rua, current=current)
    except DmarcBuildError:
        return
    assert [s.stage for s in steps] == list(STAGES)
    assert sum(s.current for s in steps) <= 1


_LOCAL = st.from_regex(r"[a-z0-9]([a-z0-9._-]{0,10}[a-z0-9])?", fullmatch=True)


@given(local=_LOCAL, stage=st.sampled_from(STAGES), sp=st.sampled_from([None, "none", "quarantine", "reject"]),
       np=st.sampled_from([None, "quarantine", "reject"]))
@settings(max_examples=15, deadline=None)
def test_any_step_passes_the_check(local: str, stage: str, sp: str | None,  
                                   np: str | None) -> None:
    with fresh_server() as dns_server:
        _any_step(dns_server, local, stage, sp, np)


def _any_step(dns_server, local: str, stage: str, sp: str | None, np: str | None) -> None:  # type: ignore[no-untyped-def]
    step = {s.stage: s for s in dmarc_ladder("example.com", f"{local}@example.com", sp=sp, np=np)}[stage]
    dns_server.add_zone("example.com", BASE)
    dns_server.add_records("_dmarc.example.com", "TXT", [step.fix.zone_value])
    result = _check(dns_server)
    assert not [f for f in result.findings if f.severity.value in ("error", "unknown")], result.findings
    assert result.detail["policy"] == step.policy and result.detail["record"] == step.record


def test_cli_build_dmarc(dns_server) -> None:  # type: ignore[no-untyped-def]
    import io
    import json

    from inboxready.app.cli import main

    dns_server.add_zone("example.com", BASE + '_dmarc IN TXT "v=DMARC1; p=none; rua=mailto:r@example.com"\n')
    out, err = io.StringIO(), io.StringIO()
    code = main(["build", "dmarc", "example.com", "-n", dns_server.address, "--timeout", "1", "--json"], out=out, err=err)
    data = json.loads(out.getvalue())
    assert code == 0 and data["current_stage"] == "monitor"
    assert [s["stage"] for s in data["steps"]] == list(STAGES)
    assert data["steps"][4]["record"] == "v=DMARC1; p=reject; np=reject; rua=mailto:r@example.com"
    out = io.StringIO()
    code = main(["build", "dmarc", "example.com", "--offline", "--rua", "a@reports.example.net", "--stage", "reject"],
                out=out, err=err)
    text = out.getvalue()
    assert code == 0 and "5. Reject" in text and "1. Monitor" not in text
    assert "example.com._report._dmarc.reports.example.net" in text
    out = io.StringIO()
    code = main(["build", "dmarc", "example.com", "--offline", "--rua", "a@example.com", "--ruf", "f@example.com",
                 "--json"], out=out, err=err)
    assert json.loads(out.getvalue())["steps"][0]["record"] == (
        "v=DMARC1; p=none; rua=mailto:a@example.com; ruf=mailto:f@example.com")
    code = main(["build", "dmarc", "example.com", "--offline", "--rua", "nonsense"], out=io.StringIO(), err=err)
    assert code == 2
