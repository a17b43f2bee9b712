"""The worker's wire format: one JSON object per line, UTF-8, both ways.

Requests (GUI → worker) carry an ``id`` (a positive integer chosen by the client, unique per worker) and a
``type`` naming the job (``check``, ``demo``, ``import_reports``...) with its ``params``; two control
requests act on other jobs: ``{"type": "cancel", "id": N}`` cancels job ``N`` (answered with ``cancelled``
at once), ``{"type": "stop", "id": N}`` asks it to stop at its next safe point and finish with what it did
(a report import: after the files being read), ``{"type": "shutdown"}`` ends the worker (so does the end of its stdin: a GUI that went away takes its worker with it).

Events (worker → GUI) carry the request's ``id`` and a ``type``: ``started``, ``query`` (a batch of DNS
queries), ``result`` (one check's result), ``progress``, then exactly one of ``finished`` (with ``data``),
``cancelled`` or ``failed`` (with ``message``, plain words). The first line the worker writes is
``{"type": "hello", "version": PROTOCOL_VERSION, "pid": ...}``; a client that sees another version stops
the worker and says so. A line that does not parse is a protocol failure the reader reports; it never
raises out of the reader.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields
from typing import Any

from ..context import CheckOptions

PROTOCOL_VERSION = 1
MAX_LINE = 64 * 1024 * 1024  # a line longer than this is refused (a report with every query fits easily)

# event types
HELLO = "hello"
STARTED = "started"
QUERY = "query"
RESULT = "result"
PROGRESS = "progress"
FINISHED = "finished"
CANCELLED = "cancelled"
FAILED = "failed"
LAST_EVENTS = frozenset({FINISHED, CANCELLED, FAILED})
EVENT_TYPES = frozenset({HELLO, STARTED, QUERY, RESULT, PROGRESS, FINISHED, CANCELLED, FAILED})

# control requests
CANCEL = "cancel"
STOP = "stop"  # a gentler cancel: the job is asked to stop at its next safe point and still finishes
SHUTDOWN = "shutdown"


# The openings of the worker's refusals of a request it can't take now (too much work, one at a time): not a
# fault of InboxReady, so a window shows them as they are (never "an internal problem, please report it").
BUSY = "InboxReady's engine is busy"
ONE_AT_A_TIME = ("A report import is already running", "This report mailbox is already being watched",
                 "This mailbox is already being watched")


def is_refusal(message: str) -> bool:
    """Whether a ``failed`` message is the worker refusing a request it can't take now (``BUSY``...)."""
    return message.startswith((BUSY, *ONE_AT_A_TIME))


class ProtocolError(ValueError):
    """A line that is not one JSON object of the protocol."""


class OverlongLine(bytes):
    """Stands for a line longer than ``MAX_LINE`` that the reader did not keep (only its size so far)."""

    size: int

    def __new__(cls, size: int) -> "OverlongLine":
        self = super().__new__(cls, b"-")
        self.size = size
        return self


def lone_surrogate(value: Any) -> bool:
    """Whether a string anywhere in ``value`` holds a lone UTF-16 surrogate (JSON can escape one, ``"\\ud800"``,
    but it is not text: it can't be written back as UTF-8). Walked without recursion (any depth)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


def _default(obj: Any) -> Any:
    to_json = getattr(obj, "to_json", None)
    if callable(to_json):
        return to_json()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    raise TypeError(f"{type(obj).__name__} is not JSON-able")


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: they become null (a parser on the other side would refuse them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def encode(message: dict[str, Any]) -> bytes:
    """One protocol line (ends with ``\\n``; no raw newline inside: JSON escapes them)."""
    try:
        text = json.dumps(message, default=_default, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(json.loads(json.dumps(message, default=_default))), ensure_ascii=False,
                          separators=(",", ":"))
    try:
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:  # a lone surrogate in some text: escaped (\\udXXX), never an event dropped
        return json.dumps(json.loads(text), ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"


def decode(line: bytes | str) -> dict[str, Any]:
    """The object on one line; raises ``ProtocolError`` (never anything else) when it is not one."""
    if isinstance(line, OverlongLine):
        raise ProtocolError(f"a line of more than {MAX_LINE} bytes is longer than the protocol allows")
    if isinstance(line, bytes):
        if len(line) > MAX_LINE:
            raise ProtocolError(f"a line of {len(line)} bytes is longer than the protocol allows")
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"not UTF-8 text ({exc.reason})") from None
    text = line.strip()
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"not JSON: {str(exc)[:120]}: {text[:80]!r}") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"not a JSON object: {text[:80]!r}")
    kind = value.get("type")
    if not isinstance(kind, str) or not kind:
        raise ProtocolError(f"no type: {text[:80]!r}")
    job = value.get("id")
    if job is not None and (not isinstance(job, int) or isinstance(job, bool)):
        raise ProtocolError(f"the id is not a number: {text[:80]!r}")
    return value


def request(job: int, kind: str, **params: Any) -> dict[str, Any]:
    return {"id": job, "type": kind, "params": params}


def options_to_json(options: CheckOptions) -> dict[str, Any]:
    """A check's options as request parameters (``spf_catalog``, a test-only hook, is not sent)."""
    out: dict[str, Any] = {}
    for f in fields(options):
        if f.name == "spf_catalog":
            continue
        value = getattr(options, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


_STR_LISTS = ("dkim_selectors", "sending_ips", "checks")
_NUMBERS = ("timeout", "deadline", "max_concurrency", "https_port", "smtp_port", "connect_timeout")


def options_from_json(data: Any) -> CheckOptions:
    """The options a request names; unknown keys are ignored, a value of the wrong type raises
    ``ProtocolError`` (never anything else)."""
    if not isinstance(data, dict):
        raise ProtocolError("the options are not an object")
    known = {f.name for f in fields(CheckOptions)} - {"spf_catalog"}
    kwargs: dict[str, Any] = {k: v for k, v in data.items() if k in known}
    for key, value in kwargs.items():
        if key in _STR_LISTS or (key == "nameservers" and value is not None):
            ok = isinstance(value, list) and all(isinstance(x, str) for x in value)
        elif key in _NUMBERS:
            ok = (value is None and key == "deadline") or (
                isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value))
        else:  # ca_file, trust_anchors (str or None), sending_ip_label (str)
            ok = isinstance(value, str) or (value is None and key != "sending_ip_label")
        if not ok:
            raise ProtocolError(f"the option {key} has the wrong type ({type(value).__name__})")
    if "checks" in kwargs:
        kwargs["checks"] = tuple(kwargs["checks"])
    for key in ("max_concurrency", "https_port", "smtp_port"):
        if key in kwargs:
            kwargs[key] = int(kwargs[key])
    return CheckOptions(**kwargs)


__all__ = ["BUSY", "CANCEL", "ONE_AT_A_TIME", "is_refusal", "CANCELLED", "EVENT_TYPES", "FAILED", "FINISHED", "HELLO", "LAST_EVENTS", "PROGRESS",
           "OverlongLine", "PROTOCOL_VERSION", "ProtocolError", "QUERY", "RESULT", "SHUTDOWN", "STARTED", "STOP", "decode", "encode", "lone_surrogate",
           "options_from_json", "options_to_json", "request"]
