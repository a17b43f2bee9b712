"""The typed ``detail`` shapes the cards read directly (``MxDetail``, ``TlsRptDetail``, ``DnssecDetail``,
``RdnsDetail``) are what the checks produce: every key there with a value of its type, on every demo
domain (a broken MX, a parked domain, one whose server never answers...) and after a trip through JSON
(the form the worker process sends)."""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from typing import Any, get_args, get_origin, get_type_hints

import pytest

from inboxready.app.demo import DemoDnsServer, start_demo_server
from inboxready.core.checks.dnssec import DnssecDetail
from inboxready.core.checks.mx import MxDetail
from inboxready.core.checks.rdns import RdnsDetail
from inboxready.core.checks.runner import run_check
from inboxready.core.checks.tls_rpt import TlsRptDetail
from inboxready.core.context import CheckOptions
from inboxready.core.model import CheckResult, Status

from ..conftest import run

SHAPES: dict[str, Any] = {"mx": MxDetail, "tls_rpt": TlsRptDetail, "dnssec": DnssecDetail, "rdns": RdnsDetail}


def problems(value: Any, hint: Any, where: str) -> list[str]:
    """Where ``value`` (read back from JSON) is not of type ``hint``."""
    origin = get_origin(hint)
    if hint is Any:
        return []
    if hint is type(None):
        return [] if value is None else [f"{where}: {value!r} is not None"]
    if origin in (typing.Union, types.UnionType):
        options = [problems(value, h, where) for h in get_args(hint)]
        return [] if any(not p for p in options) else [f"{where}: {value!r} is none of {hint}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not a list"]
        (item,) = get_args(hint)
        return [p for i, v in enumerate(value) for p in problems(v, item, f"{where}[{i}]")]
    if isinstance(hint, type) and hasattr(hint, "__required_keys__"):  # a TypedDict
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not an object"]
        hints = get_type_hints(hint)
        out = [f"{where}: no key {k!r}" for k in hint.__required_keys__ if k not in value]
        return out + [p for k, h in hints.items() if k in value for p in problems(value[k], h, f"{where}.{k}")]
    if hint is bool:
        return [] if isinstance(value, bool) else [f"{where}: {value!r} is not true/false"]
    if hint is int:
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{where}: {value!r} is not an int"]
    if hint is str:
        return [] if isinstance(value, str) else [f"{where}: {value!r} is not a string"]
    raise AssertionError(f"no rule for {hint}")


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[DemoDnsServer, Any]]:
    server, demo_set = start_demo_server()
    yield server, demo_set
    server.stop()


def test_every_typed_detail_is_what_the_check_produces(demo: tuple[DemoDnsServer, Any]) -> None:
    server, demo_set = demo
    checked: dict[str, int] = {name: 0 for name in SHAPES}
    for d in demo_set.domains:
        opts = CheckOptions(nameservers=[server.address], timeout=1.0, deadline=8.0, checks=tuple(SHAPES),
                            dkim_selectors=list(d.selectors))
        report = run(run_check(d.domain, opts))
        for name, shape in SHAPES.items():
            result = CheckResult.from_json(json.loads(json.dumps(report.checks[name].to_json())))
            if result.status is Status.ERROR and not result.detail:
                continue  # stopped at the deadline or by a bug: no detail at all, the card shows its findings
            assert problems(result.detail, shape, f"{d.domain} {name}") == []
            checked[name] += 1
    assert all(n >= 5 for n in checked.values()), checked  # the assertion above ran for every shape


def test_the_validator_catches_a_wrong_shape() -> None:
    good = {"hosts": [{"preference": 10, "host": "mx.example.com", "addresses": ["192.0.2.1"], "error": None,
                       "cname": None}], "null_mx": False, "implicit": False, "parked": False}
    assert problems(good, MxDetail, "mx") == []
    assert problems({**good, "parked": "no"}, MxDetail, "mx") == ["mx.parked: 'no' is not true/false"]
    assert problems({k: v for k, v in good.items() if k != "hosts"}, MxDetail, "mx") == ["mx: no key 'hosts'"]
    bad_host = {**good, "hosts": [{**good["hosts"][0], "preference": "10"}]}  # type: ignore[dict-item]
    assert problems(bad_host, MxDetail, "mx") == ["mx.hosts[0].preference: '10' is not an int"]
