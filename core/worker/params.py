"""Every request's parameters, checked at one point (``Worker.handle_line``) before its job runs.

``SCHEMAS`` names, per job type, the parameters its handler reads: which are required and what each must
be (a string, a number, a list of strings, an object, the options of a check, or a wire value that decodes
to one of the named core classes: a reading profile, a DNS account...). A request whose parameter is
missing or of the wrong kind is answered with ``failed`` naming the parameter in plain words ("the
parameter 'read' (the reading profile) is missing"), never with the raw cause a handler would hit later
("AttributeError: 'NoneType' object has no attribute 'uses_oauth'"). ``null`` counts as missing; parameters
a job doesn't name are ignored; a job type without a schema (one the app adds) is not checked here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from . import protocol as p
from .values import WireError, from_wire

__all__ = ["Param", "SCHEMAS", "check_params"]


@dataclass(frozen=True)
class Param:
    """One parameter: ``kind`` is str | int | number | bool | strings | object | options | bytes | text (bytes or
    a string) | id (a string or an integer) | wire (decodes to one of ``classes``; any wire value without
    them) | wires (a list of those) | fix_rows (a list of (Fix, finding code, words), as a plan is given)."""

    kind: str
    required: bool = False
    words: str = ""  # what it is, in the message
    classes: tuple[str, ...] = ()


_KIND_WORDS = {"str": "a string", "int": "a whole number", "number": "a number", "bool": "true or false",
               "strings": "a list of strings", "object": "an object", "options": "the options of a check",
               "bytes": "bytes (a wire value)", "text": "bytes or a string", "id": "a string or a whole number",
               "wire": "a wire value", "wires": "a list of wire values",
               "fix_rows": "a list of (Fix, finding code, words)"}

_DNS = {"nameservers": Param("strings", words="the DNS servers to ask"), "timeout": Param("number")}
_MAILDNS = {"nameservers": Param("strings", words="the DNS servers to ask"), "dns_timeout": Param("number")}
_READ = Param("wire", True, "the reading profile", ("ReadProfile",))
_ACCOUNT = Param("wire", True, "the DNS host account", ("DnsAccount",))

SCHEMAS: dict[str, dict[str, Param]] = {
    "check": {"domain": Param("str", True, "the domain to check"), "options": Param("options"),
              "record": Param("bool"), "profile": Param("str"), "spam_rate": Param("number"), "message": Param("wire")},
    "sleep": {"seconds": Param("number"), "every": Param("number")},
    "detect_host": {"domain": Param("str", True, "the domain"), "servers": Param("strings"), "deadline": Param("number"),
                    **_DNS},
    "reports_summary": {"domain": Param("str", True, "the domain"), "days": Param("int")},
    "watchlist_run": {"options": Param("options"), "all": Param("bool"), "watchlist": Param("str"),
                      "history": Param("str"), "dismissed": Param("str")},
    # the record builders
    "spf_count": {"services": Param("strings"), "ips": Param("strings"), "domain": Param("str"),
                  "all_qualifier": Param("str"), **_DNS},
    "spf_flatten": {"record": Param("str"), "domain": Param("str"), **_DNS},
    "dmarc_ladder": {"domain": Param("str", True, "the domain"), "rua": Param("str"), "sp": Param("str"),
                     "np": Param("str"), **_DNS},
    "dkim_generate": {"domain": Param("str", True, "the domain"), "kind": Param("str"), "bits": Param("int"),
                      "selector": Param("str"), "old_selector": Param("str"), **_DNS},
    "whatif": {"domain": Param("str", True, "the domain"), "host": Param("str"), "rdtype": Param("str"),
               "value": Param("str"), "options": Param("options"), **_DNS},
    # mail
    "roundtrip": {"send": Param("wire", True, "the sending profile", ("SendProfile",)), "read": _READ,
                  "to": Param("str"), "timeout": Param("number"), "unsubscribe_url": Param("str"), **_MAILDNS},
    "watch_token": {"read": _READ, "token": Param("str", True, "the token to look for"), "timeout": Param("number"),
                    **_MAILDNS},
    "analyze_paste": {"raw": Param("bytes", True, "the pasted message"), **_MAILDNS},
    "bounce": {"raw": Param("text", True, "the bounce"), "options": Param("options"), "domain": Param("str")},
    "profile_test": {"profile": Param("wire", True, "the profile", ("ReadProfile", "SendProfile")),
                     "password": Param("str")},
    "sign_in": {"profile": Param("wire", True, "the profile", ("ReadProfile", "SendProfile"))},
    # reports
    "reports_domains": {"store": Param("str")},
    "reports_view": {"store": Param("str"), "domain": Param("str", True, "the domain"), "days": Param("int"),
                     "info": Param("wire", False, "", ("DomainInfo",)), "current_record": Param("str"),
                     "lookup": Param("bool"), "ips": Param("strings"), **_DNS},
    "reports_import": {"store": Param("str"), "paths": Param("strings", True, "the files to import")},
    "reports_watch": {"store": Param("str"), "profile": _READ, "password": Param("str"), "folder": Param("str"),
                      "move_to": Param("str"), "every": Param("number")},
    # publishing
    "publish_plan": {"account": _ACCOUNT, "domain": Param("str", True, "the domain"),
                     "fixes": Param("fix_rows", False, "the records to publish"),
                     "nameservers": Param("strings")},
    "publish_apply": {"account": _ACCOUNT, "key": Param("str", True, "the plan's key"), "wait": Param("number"),
                      "nameservers": Param("strings")},
    "publish_undo": {"account": _ACCOUNT, "change_id": Param("id", True, "the change to undo"), "wait": Param("number"),
                     "journal": Param("str"), "nameservers": Param("strings")},
    "journal_recent": {"journal": Param("str"), "domain": Param("str")},
    "live_watch": {"fix": Param("wire", True, "the record to watch", ("Fix",)),
                   "zone": Param("wire", False, "", ("ZoneInfo",)), "servers": Param("strings"), "wait": Param("number"),
                   **_DNS},
}


def check_params(kind: str, params: dict[str, Any]) -> str | None:
    """What is wrong with ``params`` for a ``kind`` request, in words ("the parameter 'read' (the reading
    profile) is missing"), or None when they will do."""
    schema = SCHEMAS.get(kind)
    if schema is None:
        return None
    for name, spec in schema.items():
        value = params.get(name)
        what = f"the parameter {name!r}" + (f" ({spec.words})" if spec.words else "")
        if value is None:
            if spec.required:
                return f"{what} is missing"
            continue
        problem = _problem(spec, value)
        if problem:
            return f"{what} {problem}"
    return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _problem(spec: Param, value: Any) -> str:
    k = spec.kind
    ok: bool
    if k == "str":
        ok = isinstance(value, str)
    elif k == "int":
        ok = _number(value) and float(value).is_integer()
    elif k == "number":
        ok = _number(value)
    elif k == "bool":
        ok = isinstance(value, bool)
    elif k == "strings":
        ok = isinstance(value, list) and all(isinstance(x, str) for x in value)
    elif k == "object":
        ok = isinstance(value, dict)
    elif k == "id":
        ok = isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
    elif k == "options":
        try:
            p.options_from_json(value)
        except p.ProtocolError as exc:
            return f"is not usable: {exc}"
        return ""
    else:
        return _wire_problem(spec, value)
    return "" if ok else f"should be {_KIND_WORDS[k]}, not {_shown(value)}"


def _wire_problem(spec: Param, value: Any) -> str:
    try:
        decoded = from_wire(value)
    except WireError as exc:
        return f"could not be read ({exc})"
    items: list[Any]
    if spec.kind == "fix_rows":
        rows = decoded if isinstance(decoded, list) else None
        if rows is None or not all(isinstance(r, (tuple, list)) and len(r) == 3 and type(r[0]).__name__ == "Fix"
                                   and isinstance(r[1], str) and isinstance(r[2], str) for r in rows):
            return f"should be {_KIND_WORDS['fix_rows']}"
        return ""
    if spec.kind == "wires":
        if not isinstance(decoded, list):
            return f"should be {_KIND_WORDS['wires']}, not {_shown(value)}"
        items = decoded
    else:
        items = [decoded]
    for item in items:
        if spec.kind == "bytes":
            good = isinstance(item, bytes)
        elif spec.kind == "text":
            good = isinstance(item, (bytes, str))
        else:
            good = not spec.classes or type(item).__name__ in spec.classes
        if not good:
            want = " or ".join(spec.classes) if spec.classes else _KIND_WORDS.get(spec.kind, spec.kind)
            return f"should be {want}, not {_shown_decoded(item)}"
    return ""


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"  # never the value itself: it may be a secret sent in the wrong place
    return type(value).__name__


def _shown_decoded(value: Any) -> str:
    if value is None or isinstance(value, (bool, int, float, str, list, dict)):
        return _shown(value) if value is not None else "null"
    return f"a {type(value).__name__}"
