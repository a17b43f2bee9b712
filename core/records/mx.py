"""MX records (RFC 5321 §5.1, RFC 7505 null MX): one record in presentation form, and the addresses a mail
server can't be reached at.

- ``parse_mx(text)`` parses one MX record (``10 mx.example.com.``); it raises only ``MxParseError``.
- ``unreachable_address(addr)``: loopback, private, link-local, shared, multicast and unspecified
  addresses (the documentation ranges are not among them: examples and test zones use them).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

NULL_MX = "0 ."


class MxParseError(ValueError):
    """The text is not an MX record (``<preference> <host>``)."""


@dataclass(frozen=True)
class MxRecord:
    preference: int
    host: str  # lower case, no trailing dot; "." for a null MX target

    @property
    def null(self) -> bool:
        return self.host == "."

    @property
    def text(self) -> str:
        """The record as it is published (``10 mx.example.com.``, ``0 .``)."""
        return f"{self.preference} {self.host}" + ("" if self.null else ".")


def parse_mx(text: str) -> MxRecord:
    """``"10 mx.example.com."`` → ``MxRecord(10, "mx.example.com")``; ``"0 ."`` is a null MX.

    Raises only ``MxParseError``.
    """
    parts = text.split()
    if len(parts) != 2:
        raise MxParseError(f"'{text[:60]}' is not '<preference> <host>'.")
    pref, host = parts
    if not pref.isascii() or not pref.isdigit() or int(pref) > 65535:
        raise MxParseError(f"'{pref[:20]}' is not a preference from 0 to 65535.")
    if host == ".":
        return MxRecord(int(pref), ".")
    name = host.rstrip(".").lower()
    if not name or ".." in name or any(c.isspace() for c in name):
        raise MxParseError(f"'{host[:60]}' is not a host name.")
    return MxRecord(int(pref), name)


# Addresses nobody on the Internet can deliver to. The documentation ranges (192.0.2.0/24,
# 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) are deliberately not here: examples and test zones
# use them.
_UNREACHABLE = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8",
)]


def unreachable_address(addr: str) -> bool:
    """True for loopback, private, link-local, shared, multicast and unspecified addresses."""
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == n.version and ip in n for n in _UNREACHABLE)


__all__ = ["NULL_MX", "MxParseError", "MxRecord", "parse_mx", "unreachable_address"]
