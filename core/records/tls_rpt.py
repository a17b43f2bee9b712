"""SMTP TLS Reporting records (RFC 8460 §3): ``parse_tlsrpt(text)`` parses a ``_smtp._tls`` TXT record and
raises only ``TlsRptSyntaxError``; ``uri_problem`` says what is wrong with one report address;
``format_record`` writes one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit


_EXT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}\Z")


_EXT_VALUE = re.compile(r"[\x21-\x3a\x3c\x3e-\x7e]+\Z")


_VERSION_START = re.compile(r"v=TLSRPTv1(?:[ \t]*;|[ \t]*\Z)")


_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]+\Z")


_HOST = re.compile(r"(?=.{1,253}\Z)(?:(?!-)[A-Za-z0-9-]{1,63}(?<!-)\.)+[A-Za-z][A-Za-z0-9-]{0,62}\Z")


class TlsRptSyntaxError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class TlsRptRecord:
    raw: str
    rua: list[str] = field(default_factory=list)  # usable URIs (mailto: or https:)
    bad_uris: list[str] = field(default_factory=list)  # written but unusable
    extensions: dict[str, str] = field(default_factory=dict)


def is_tlsrpt_record(text: str) -> bool:
    return _VERSION_START.match(text or "") is not None


def looks_like_tlsrpt(text: str) -> bool:
    return re.match(r"\s*v\s*=\s*tlsrptv1", text or "", re.IGNORECASE) is not None


def uri_problem(uri: str) -> str | None:
    """Why a ``rua`` URI can't receive reports (``None`` when it can)."""
    scheme, sep, rest = uri.partition(":")
    if not sep:
        return f"'{uri[:60]}' is not an address (it needs mailto: or https:)."
    s = scheme.lower()
    if s == "mailto":
        addr = unquote(rest.split("?")[0])
        local, at, host = addr.rpartition("@")
        if not at or not _LOCAL.match(local) or not _HOST.match(host.rstrip(".")):
            return f"'{uri[:60]}' is not a valid e-mail address."
        return None
    if s == "https":
        try:
            host = urlsplit(uri).hostname or ""
        except ValueError:
            host = ""
        if not host or any(c.isspace() for c in uri):
            return f"'{uri[:60]}' is not a valid https address."
        return None
    return f"'{uri[:60]}' uses '{scheme[:20]}:'; only mailto: and https: addresses receive reports."


def parse_tlsrpt(text: str) -> TlsRptRecord:
    """``"v=TLSRPTv1; rua=mailto:tls@example.com"`` → ``TlsRptRecord``; raises only ``TlsRptSyntaxError``
    (a record senders ignore). Unusable URIs beside usable ones are listed in ``bad_uris``."""
    if not isinstance(text, str):
        raise TlsRptSyntaxError("The record is not text.")
    fields = [f.strip(" \t") for f in text.split(";")]
    if fields and fields[-1] == "":
        fields.pop()
    if not fields or fields[0] != "v=TLSRPTv1":
        raise TlsRptSyntaxError("The record must begin with exactly 'v=TLSRPTv1' followed by ';'.")
    rec = TlsRptRecord(text)
    seen_rua = False
    for part in fields[1:]:
        name, sep, value = part.partition("=")
        if not sep:
            raise TlsRptSyntaxError(f"'{part[:40]}' is not a 'name=value' field.")
        if name == "rua":
            if seen_rua:
                raise TlsRptSyntaxError("The record has more than one 'rua' field; put all addresses in one, "
                                        "separated by commas.")
            seen_rua = True
            for uri in (u.strip(" \t") for u in value.split(",")):
                if not uri:
                    raise TlsRptSyntaxError("The rua field has an empty address (two commas, or a comma at the end).")
                (rec.bad_uris if uri_problem(uri) else rec.rua).append(uri)
        elif name == "v":
            raise TlsRptSyntaxError("The record has more than one 'v' field.")
        else:
            if not _EXT_NAME.match(name) or not _EXT_VALUE.match(value):
                raise TlsRptSyntaxError(f"'{part[:40]}' is not a valid field.")
            rec.extensions.setdefault(name, value)
    if not seen_rua:
        raise TlsRptSyntaxError("The record has no 'rua=' field saying where reports go.")
    if not rec.rua:
        raise TlsRptSyntaxError(uri_problem(rec.bad_uris[0]) or "No usable report address.")
    return rec


def format_record(rua: list[str]) -> str:
    return f"v=TLSRPTv1; rua={','.join(rua)}"


__all__ = [
    "TlsRptRecord", "TlsRptSyntaxError", "format_record", "is_tlsrpt_record", "looks_like_tlsrpt", "parse_tlsrpt",
    "uri_problem",
]
