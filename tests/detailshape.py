"""The typed ``detail`` shapes the cards read directly, checked against what the checks produce.

``problems(value, hint)`` says where a value read back from JSON is not of a type hint (a TypedDict, its
lists, dicts, unions...); ``assert_shape(result)`` sends a ``CheckResult`` through JSON and ``from_json``
(the form the worker process sends and the history stores) and checks its ``detail`` against the shape of
its check. The demo domains run through it in ``tests/core/checks/test_detail_shapes.py``; the STARTTLS, MTA-STS
and BIMI tests (real SMTP and HTTPS servers on loopback) run every result of theirs through it."""

from __future__ import annotations

import json
import types
import typing
from typing import Any, get_args, get_origin, get_type_hints

from inboxready.core.checks.bimi import BimiDetail
from inboxready.core.checks.dkim import DkimDetail
from inboxready.core.checks.dmarc import DmarcDetail
from inboxready.core.checks.dnssec import DnssecDetail
from inboxready.core.checks.mta_sts import MtaStsDetail
from inboxready.core.checks.mx import MxDetail
from inboxready.core.checks.rdns import RdnsDetail
from inboxready.core.checks.spf import SpfDetail
from inboxready.core.checks.starttls import StarttlsDetail
from inboxready.core.checks.tls_rpt import TlsRptDetail
from inboxready.core.mail.details import (
    ArcDetail, CompauthDetail, ContentDetail, DeliveryDetail, MessageDetail, MessageDkimDetail, MessageDmarcDetail,
    MessageSpfDetail,
)
from inboxready.core.mail.message import MessageReport
from inboxready.core.model import CheckResult, Status
from inboxready.core.policy.checklist import ChecklistDetail
from inboxready.core.policy.compliance import ComplianceDetail

SHAPES: dict[str, Any] = {
    "spf": SpfDetail, "dkim": DkimDetail, "dmarc": DmarcDetail, "mx": MxDetail, "mta_sts": MtaStsDetail,
    "tls_rpt": TlsRptDetail, "bimi": BimiDetail, "dnssec": DnssecDetail, "rdns": RdnsDetail,
    "starttls": StarttlsDetail, "checklist": ChecklistDetail, "compliance": ComplianceDetail,
}

# a received message's cards (``MessageReport.checks``, core/mail/details.py)
MESSAGE_SHAPES: dict[str, Any] = {
    "spf": MessageSpfDetail, "dkim": MessageDkimDetail, "dmarc": MessageDmarcDetail, "arc": ArcDetail,
    "compauth": CompauthDetail, "delivery": DeliveryDetail, "content": ContentDetail,
}


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
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not an object"]
        _key, item = get_args(hint)  # JSON keys are strings
        return [p for k, v in value.items() for p in problems(v, item, f"{where}.{k}")]
    if isinstance(hint, type) and hasattr(hint, "__required_keys__"):  # a TypedDict
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not an object"]
        hints = get_type_hints(hint)
        out = [f"{where}: no key {k!r}" for k in sorted(hint.__required_keys__) if k not in value]
        out += [f"{where}: unknown key {k!r}" for k in value if k not in hints]
        return out + [p for k, h in hints.items() if k in value for p in problems(value[k], h, f"{where}.{k}")]
    if hint is bool:
        return [] if isinstance(value, bool) else [f"{where}: {value!r} is not true/false"]
    if hint is int:
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{where}: {value!r} is not an int"]
    if hint is float:  # a JSON number
        return ([] if isinstance(value, (int, float)) and not isinstance(value, bool)
                else [f"{where}: {value!r} is not a number"])
    if hint is str:
        return [] if isinstance(value, str) else [f"{where}: {value!r} is not a string"]
    raise AssertionError(f"no rule for {hint}")


def assert_shape(result: CheckResult, where: str = "") -> bool:
    """``result``'s detail, after a trip through JSON, is its check's shape. False (nothing to check) when
    the check was stopped before it produced any detail (the deadline, a bug: the card shows its findings)."""
    back = CheckResult.from_json(json.loads(json.dumps(result.to_json())))
    if back.status is Status.ERROR and not back.detail:
        return False
    found = problems(back.detail, SHAPES[result.name], f"{where} {result.name}".strip())
    assert not found, found  # (a helper module: pytest doesn't rewrite this assert to show the values)
    return True


def assert_message_shapes(report: MessageReport) -> MessageReport:
    """Every card of ``report`` and its own ``detail``, after a trip through JSON (what the worker sends
    the app, what ``headers --json`` prints), are of their shapes in core/mail/details.py. Returns the
    report read back. A card of a kind with no shape fails: a new card needs one."""
    back = MessageReport.from_json(json.loads(json.dumps(report.to_json())))
    assert set(back.checks) == set(report.checks)
    found = [p for name, card in back.checks.items()
             for p in (problems(card.detail, MESSAGE_SHAPES[name], f"message {name}") if name in MESSAGE_SHAPES
                       else [f"message {name}: no shape for this card"])]
    found += problems(back.detail, MessageDetail, "message detail")
    assert not found, found  # (a helper module: pytest doesn't rewrite this assert to show the values)
    return back
