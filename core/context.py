"""What a protocol check receives: the DNS client for this run and the caller's options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .dns.client import DEFAULT_TIMEOUT, DnsClient
from .model import CORE_CHECKS

# The records every sender needs, then transport security, the logo, DNSSEC and the sending hosts' names.
# STARTTLS is the only one that connects to a mail server (port 25 of each MX host); the HTTPS fetches of
# MTA-STS and BIMI happen only when the domain publishes those records.
ALL_CHECKS: tuple[str, ...] = (*CORE_CHECKS, "mta_sts", "tls_rpt", "bimi", "dnssec", "rdns", "starttls")


@dataclass
class CheckOptions:
    """Everything a caller (app, CLI, test) can set for a run. The core reads no settings itself."""

    nameservers: list[str] | None = None  # "IP[:PORT]"; None: the system's resolvers
    timeout: float = DEFAULT_TIMEOUT  # one query
    deadline: float | None = 60.0  # the whole run, seconds
    dkim_selectors: list[str] = field(default_factory=list)  # added to the built-in list
    checks: tuple[str, ...] = ALL_CHECKS
    max_concurrency: int = 64  # DNS queries in flight per run
    # Network checks beyond DNS (MTA-STS and BIMI over HTTPS, STARTTLS on the MX hosts). Tests point these
    # at loopback servers; users never need to change them.
    https_port: int = 443
    smtp_port: int = 25
    ca_file: str | None = None  # extra CA certificates (PEM) trusted besides the system's
    connect_timeout: float = 8.0  # one TCP/TLS connection or HTTPS fetch
    trust_anchors: str | None = None  # DNSSEC root trust anchors (DS or DNSKEY lines); None: IANA's
    sending_ips: list[str] = field(default_factory=list)  # IPs seen sending (e.g. from a test message)
    sending_ip_label: str = "test message"  # what showed them, for the reverse DNS wording ("bounced message")
    # The sending-service catalog the SPF check reads (``spfcatalog.CatalogService`` entries); None: the
    # shipped ``rules/spf_catalog.json``. Tests pass their own.
    spf_catalog: tuple[Any, ...] | None = None


@dataclass
class CheckContext:
    """Passed to every ``check(ctx)``: the domain (A-label form), the options and the shared DNS
    client (its cache means two checks asking the same name cost one query)."""

    domain: str
    dns: DnsClient
    options: CheckOptions = field(default_factory=CheckOptions)
