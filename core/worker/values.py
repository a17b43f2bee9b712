"""Typed values on the wire: what a worker job returns to a window (a builder's key and rotation plan, a watch
run's outcomes, a report view), as JSON that comes back as the same objects.

``to_wire(value)`` turns plain data, tuples, paths, dates, bytes, regular expressions, enums and dataclasses
into JSON: a
dataclass becomes ``{"__dc__": "module:Class", "f": {field: value}}`` (its constructor fields only), an
enum ``{"__enum__": "module:Class", "v": value}``. ``from_wire(data)`` rebuilds them, and only ever
constructs dataclasses and enums defined in ``inboxready.core`` (never anything a line names elsewhere,
never a callable): a hostile or broken line gives ``WireError``, never an arbitrary object.

The domain check's own events use the results' public JSON (``to_json``/``from_json``), the same as
``inboxready check --json``; this module is for the other jobs' results, which have no public JSON form.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import importlib
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

ALLOWED_PREFIX = "inboxready.core."
MAX_DEPTH = 64


class WireError(ValueError):
    """A value that can't be rebuilt (an unknown or forbidden type, a wrong shape)."""


def _name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def to_wire(value: Any, _depth: int = 0) -> Any:
    if _depth > MAX_DEPTH:
        raise WireError("a value nested too deeply")
    d = _depth + 1
    if isinstance(value, enum.Enum):  # before str and int: a StrEnum is a str too
        return {"__enum__": _name(type(value)), "v": value.value}
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__dc__": _name(type(value)),
                "f": {f.name: to_wire(getattr(value, f.name), d) for f in dataclasses.fields(value) if f.init}}
    if isinstance(value, list):
        return [to_wire(v, d) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [to_wire(v, d) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"__tuple__": [to_wire(v, d) for v in sorted(value, key=repr)]}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: to_wire(v, d) for k, v in value.items()}
        return {"__map__": [[to_wire(k, d), to_wire(v, d)] for k, v in value.items()]}
    if isinstance(value, datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, date):
        return {"__date__": value.isoformat()}
    if isinstance(value, Path):
        return {"__path__": str(value)}
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, re.Pattern):  # a rule's pattern (a bounce rule)
        return {"__re__": value.pattern, "flags": int(value.flags)}
    if isinstance(value, BaseException):
        return {"__error__": type(value).__name__, "message": str(value)}
    raise WireError(f"a {type(value).__name__} can't be sent")


def _class(name: Any) -> type:
    if not isinstance(name, str) or ":" not in name:
        raise WireError(f"not a type name: {name!r}")
    module, _, qual = name.partition(":")
    if not module.startswith(ALLOWED_PREFIX) or "__" in qual:
        raise WireError(f"{name} is not a type the app sends")
    try:
        obj: Any = importlib.import_module(module)
    except ImportError:
        raise WireError(f"no module {module}") from None
    for part in qual.split("."):
        obj = getattr(obj, part, None)
    if not isinstance(obj, type):
        raise WireError(f"no type {name}")
    return obj


class WireProblem:
    """An exception a job returned as its result (``{"__error__": ...}``): its type name and message."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"WireProblem({self.kind!r}, {self.message!r})"


def from_wire(data: Any, _depth: int = 0) -> Any:
    if _depth > MAX_DEPTH:
        raise WireError("a value nested too deeply")
    d = _depth + 1
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [from_wire(v, d) for v in data]
    if not isinstance(data, dict):
        raise WireError(f"not a wire value: {type(data).__name__}")
    if "__dc__" in data:
        cls = _class(data["__dc__"])
        if not dataclasses.is_dataclass(cls):
            raise WireError(f"{data['__dc__']} is not a data class")
        fields = data.get("f")
        if not isinstance(fields, dict):
            raise WireError("a data class without fields")
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        try:
            return cls(**{k: from_wire(v, d) for k, v in fields.items() if k in known})
        except (TypeError, ValueError) as exc:
            raise WireError(f"{data['__dc__']}: {exc}") from None
    if "__enum__" in data:
        cls = _class(data["__enum__"])
        if not issubclass(cls, enum.Enum):
            raise WireError(f"{data['__enum__']} is not an enum")
        try:
            return cls(from_wire(data.get("v"), d))
        except ValueError as exc:
            raise WireError(str(exc)) from None
    if "__tuple__" in data:
        items = data["__tuple__"]
        if not isinstance(items, list):
            raise WireError("a tuple that is not a list")
        return tuple(from_wire(v, d) for v in items)
    if "__map__" in data:
        pairs = data["__map__"]
        if not isinstance(pairs, list) or not all(isinstance(x, list) and len(x) == 2 for x in pairs):
            raise WireError("a map that is not a list of pairs")
        try:
            return {from_wire(k, d): from_wire(v, d) for k, v in pairs}
        except TypeError as exc:  # an unhashable key
            raise WireError(str(exc)) from None
    try:
        if "__datetime__" in data:
            return datetime.fromisoformat(str(data["__datetime__"]))
        if "__date__" in data:
            return date.fromisoformat(str(data["__date__"]))
    except ValueError as exc:
        raise WireError(str(exc)) from None
    if "__path__" in data:
        return Path(str(data["__path__"]))
    if "__bytes__" in data:
        try:
            return base64.b64decode(str(data["__bytes__"]), validate=True)
        except ValueError as exc:
            raise WireError(str(exc)) from None
    if "__re__" in data:
        try:
            return re.compile(str(data["__re__"]), int(data.get("flags") or 0))
        except (re.error, ValueError, TypeError) as exc:
            raise WireError(f"a pattern that does not compile ({exc})") from None
    if "__error__" in data:
        return WireProblem(str(data["__error__"]), str(data.get("message", "")))
    return {k: from_wire(v, d) for k, v in data.items()}


__all__ = ["WireError", "WireProblem", "from_wire", "to_wire"]
