"""Each request's parameters are checked at one point (``core/worker/params.py``, called by the worker before a
job runs): a missing or wrong parameter is answered with ``failed`` naming it in plain words, never with a
handler's raw cause ("AttributeError: 'NoneType' object has no attribute 'uses_oauth'"). g10 item 5."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

import pytest

from inboxready.core.mail.profiles import ReadProfile, SendProfile
from inboxready.core.model import Fix
from inboxready.core.publish.accounts import DnsAccount
from inboxready.core.publish.zone import ZoneInfo
from inboxready.core.worker.reports import DomainInfo
from inboxready.core.worker import protocol as p
from inboxready.core.worker.handlers import default_handlers
from inboxready.core.worker.params import SCHEMAS, check_params
from inboxready.core.worker.server import Worker
from inboxready.core.worker.values import to_wire

READ = to_wire(ReadProfile(name="r", host="imap.example.com", port=993, username="a@example.com"))
SEND = to_wire(SendProfile(name="s", host="smtp.example.com", port=587, username="a@example.com"))
FIX = to_wire(Fix("_dmarc.example.com", "TXT", "v=DMARC1; p=none"))
ACCOUNT = to_wire(DnsAccount(name="acct", provider="cloudflare"))
RAW_ERRORS = ("AttributeError", "TypeError", "KeyError", "ValueError", "NoneType", "object has no attribute")


def _serve(*requests: dict[str, Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []

    async def lines() -> AsyncIterator[bytes]:
        for r in requests:
            yield p.encode(r)
        await asyncio.sleep(0.3)

    async def go() -> None:
        await Worker(default_handlers(), lambda data: events.append(p.decode(data))).run(lines())

    asyncio.run(go())
    return events


def _failure(events: list[dict[str, Any]], job: int) -> str:
    mine = [e for e in events if e.get("id") == job]
    assert [e["type"] for e in mine] == ["failed"], mine  # refused before it started
    return str(mine[0]["message"])


def test_a_roundtrip_without_profiles_names_the_missing_parameter() -> None:
    """Before: 'The engine couldn't finish this 'roundtrip' request (AttributeError: 'NoneType' object has no
    attribute ...)' after the job had started."""
    events = _serve(p.request(1, "roundtrip"), p.request(2, "roundtrip", send=SEND),
                    p.request(3, "watch_token", read=SEND, token="IRX"), p.request(4, "roundtrip", send=SEND, read=READ,
                                                                              timeout="soon"))
    assert _failure(events, 1) == ("The engine can't run this 'roundtrip' request: the parameter 'send' (the sending "
                                   "profile) is missing.")
    assert "the parameter 'read' (the reading profile) is missing" in _failure(events, 2)
    assert "the parameter 'read' (the reading profile) should be ReadProfile, not a SendProfile" in _failure(events, 3)
    assert "the parameter 'timeout' should be a number, not a string" in _failure(events, 4)
    assert not any(word in e.get("message", "") for e in events for word in RAW_ERRORS)


def test_every_core_job_has_its_parameters_named() -> None:
    assert set(default_handlers()) <= set(SCHEMAS)


GOOD = {"str": "example.com", "strings": ["a"], "bytes": to_wire(b"x"), "text": "x", "id": 1, "int": 3,
        "number": 1.5, "bool": True, "options": {}, "object": {}}
CLASSES = {"ReadProfile": READ, "SendProfile": SEND, "Fix": FIX, "DnsAccount": ACCOUNT,
           "ZoneInfo": to_wire(ZoneInfo("example.com")), "DomainInfo": to_wire(DomainInfo("example.com", 1, 1, 0, 0, 0))}


def _good(spec: Any) -> Any:
    if spec.kind == "wire":
        return CLASSES[spec.classes[0]] if spec.classes else None
    if spec.kind == "wires":
        return [CLASSES[spec.classes[0]]]
    if spec.kind == "fix_rows":
        return to_wire([(Fix("_dmarc.example.com", "TXT", "v=DMARC1; p=none"), "dmarc.no-record", "no DMARC")])
    return GOOD[spec.kind]


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_each_job_refuses_its_missing_and_wrong_parameters_in_words(kind: str) -> None:
    schema = SCHEMAS[kind]
    required = {n: _good(s) for n, s in schema.items() if s.required}
    assert check_params(kind, dict(required)) is None
    for name in required:
        rest = {k: v for k, v in required.items() if k != name}
        assert check_params(kind, rest) == f"the parameter {name!r} ({schema[name].words}) is missing"
    for name, spec in schema.items():
        assert check_params(kind, {**required, name: _good(spec)}) is None, (kind, name)
        for bad in (12345, "x", [1, 2], {"__dc__": "os:system", "f": {}}, {"__dc__": "inboxready.core.model:Fix"}, True,
                    {"__bytes__": "!!"}):
            problem = check_params(kind, {**required, name: bad})
            if problem is not None:
                assert problem.startswith(f"the parameter {name!r}"), (kind, name, bad, problem)
                assert not any(word in problem for word in RAW_ERRORS[:4])
            else:  # taken: only where that value is of the right kind
                assert spec.kind in ("str", "text", "wire", "id", "number", "int", "bool", "strings", "options"), (kind, name, bad)


def test_good_requests_pass_and_null_is_missing() -> None:
    assert check_params("roundtrip", {"send": SEND, "read": READ, "to": None, "timeout": 60,
                                      "unsubscribe_url": None}) is None
    rows = to_wire([(Fix("_dmarc.example.com", "TXT", "v=DMARC1; p=none"), "dmarc.no-record", "no DMARC")])
    assert check_params("publish_plan", {"account": ACCOUNT, "domain": "example.com", "fixes": rows,
                                         "nameservers": None}) is None
    assert check_params("publish_plan", {"account": ACCOUNT, "domain": "example.com"}) is None  # fixes from the checks
    assert check_params("live_watch", {"fix": FIX, "zone": None, "wait": 60.0, "timeout": 3.0}) is None
    assert check_params("bounce", {"raw": to_wire(b"550 5.1.1 nope"), "domain": None}) is None
    assert check_params("bounce", {"raw": "550 5.1.1 nope"}) is None
    assert check_params("check", {"domain": "example.com", "options": {"timeout": 2}}) is None
    assert check_params("demo", {"anything": object()}) is None  # the app's own jobs are not checked here
    assert "'fixes' (the records to publish) should be a list of (Fix, finding code, words)" in str(
        check_params("publish_plan", {"account": ACCOUNT, "domain": "example.com", "fixes": [FIX]}))
    assert "'options' is not usable" in str(check_params("check", {"domain": "example.com", "options": {"timeout": "x"}}))
    assert "'read' (the reading profile) could not be read" in str(
        check_params("watch_token", {"read": {"__dc__": "os:system", "f": {}}, "token": "IRX"}))
    assert check_params("publish_undo", {"account": ACCOUNT, "change_id": 7}) is None
    assert "'change_id'" in str(check_params("publish_undo", {"account": ACCOUNT, "change_id": True}))


def test_a_wrong_password_type_is_never_echoed() -> None:
    problem = check_params("profile_test", {"profile": READ, "password": 987654321})
    assert problem == "the parameter 'password' should be a string, not a number"
