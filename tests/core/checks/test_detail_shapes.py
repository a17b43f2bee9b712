"""The typed ``detail`` shapes the cards read directly (``SpfDetail``, ``DkimDetail``, ``DmarcDetail``,
``MxDetail``, ``MtaStsDetail``, ``TlsRptDetail``, ``BimiDetail``, ``DnssecDetail``, ``RdnsDetail``, and the
checklist's and compliance card's) are what the checks produce: every key there with a value of its type,
no key left undeclared, on every demo domain (a broken MX, a parked domain, too many SPF lookups, one whose
server never answers...) and after a trip through JSON (the form the worker process sends). STARTTLS is not
run in the demo (it would leave the machine): ``test_starttls.py`` checks its shape against loopback SMTP
servers, as ``test_mtasts.py`` and ``test_bimi.py`` do with a policy file, a logo and a mark certificate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from inboxready.app.demo import DemoDnsServer, start_demo_server
from inboxready.core.checks.mx import MxDetail
from inboxready.core.checks.runner import run_check
from inboxready.core.checks.spf import SpfDetail
from inboxready.core.context import CheckOptions
from inboxready.core.model import CheckResult, Status
from inboxready.core.policy.checklist import build_checklist
from inboxready.core.policy.compliance import DEFAULT_PROFILE, evaluate, load_profiles, verdict_result

from ...conftest import run
from ...detailshape import SHAPES, assert_shape, problems


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[DemoDnsServer, Any]]:
    server, demo_set = start_demo_server()
    yield server, demo_set
    server.stop()


def test_every_typed_detail_is_what_the_check_produces(demo: tuple[DemoDnsServer, Any]) -> None:
    server, demo_set = demo
    names = [n for n in SHAPES if n in demo_set.checks]
    checked: dict[str, int] = {name: 0 for name in [*names, "checklist", "compliance"]}
    profiles = list(load_profiles())
    for d in demo_set.domains:
        opts = CheckOptions(nameservers=[server.address], timeout=1.0, deadline=8.0, checks=tuple(names),
                            dkim_selectors=list(d.selectors))
        report = run(run_check(d.domain, opts))
        results = [report.checks[name] for name in names]
        results.append(build_checklist(report.checks, None, spam_rate=0.12 if "allgood" in d.domain else None))
        results.append(build_checklist(None))  # before any check came back: every rule pending
        results += [verdict_result(evaluate(p, report.checks), report.checks) for p in profiles]
        for result in results:
            if assert_shape(result, d.domain):
                checked[result.name] += 1
    assert all(n >= 5 for n in checked.values()), checked  # the assertion ran for every shape
    assert DEFAULT_PROFILE in profiles


def test_the_validator_catches_a_wrong_shape() -> None:
    good = {"hosts": [{"preference": 10, "host": "mx.example.com", "addresses": ["192.0.2.1"], "error": None,
                       "cname": None}], "null_mx": False, "implicit": False, "parked": False}
    assert problems(good, MxDetail, "mx") == []
    assert problems({**good, "parked": "no"}, MxDetail, "mx") == ["mx.parked: 'no' is not true/false"]
    assert problems({k: v for k, v in good.items() if k != "hosts"}, MxDetail, "mx") == ["mx: no key 'hosts'"]
    bad_host = {**good, "hosts": [{**good["hosts"][0], "preference": "10"}]}  # type: ignore[dict-item]
    assert problems(bad_host, MxDetail, "mx") == ["mx.hosts[0].preference: '10' is not an int"]
    assert problems({**good, "extra": 1}, MxDetail, "mx") == ["mx: unknown key 'extra'"]


def test_the_validator_follows_nested_and_optional_keys() -> None:
    node = {"domain": "example.com", "record": "v=spf1 -all", "mechanism": "", "lookups": 0, "total": 0,
            "branch": 0, "error": None, "note": None, "void_lookups": 0, "children": []}
    spf = {"record": "v=spf1 -all", "records": ["v=spf1 -all"], "lookups": 0, "lookup_limit": 10, "void_lookups": 0,
           "void_lookup_limit": 2, "tree": node, "terms": [], "errors": [], "txt_strings": [], "all": "fail",
           "spf_rr": [], "sender_id": [], "merged_record": None, "dmarc_stage": None, "all_advice": None}
    assert problems(spf, SpfDetail, "spf") == []  # 'flattened' and 'lookup_fixes' may be left out
    child = {**node, "children": [{**node, "branch": "1"}]}
    assert problems({**spf, "tree": child}, SpfDetail, "spf") == ["spf.tree.children[0].branch: '1' is not an int"]
    assert problems({**spf, "flattened": [{"include": "x"}]}, SpfDetail, "spf")[0] == \
        "spf.flattened[0]: no key 'current'"


def test_a_check_stopped_before_any_detail_has_nothing_to_check() -> None:
    stopped = CheckResult("spf", Status.ERROR, "SPF could not be finished within the time limit (8 s).")
    assert assert_shape(stopped) is False
    with pytest.raises(AssertionError):
        assert_shape(CheckResult("spf", Status.PASS, "SPF is set up.", detail={"record": 1}))
