"""Demo mode: the bundled example domains, served by a loopback ``DnsTestServer`` (no network needed).

Qt-free. ``resources/zones/demo.json`` lists the zone files (RFC 1035 master files, reserved ``.example``
names only), the names whose server never answers (to show "couldn't check"), and the demo domains with
a short story each.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import dns.message
import dns.name

from inboxready import resources
from inboxready.core.context import ALL_CHECKS
from inboxready.core.dns.server import DnsTestServer

DEMO_TIMEOUT = 1.0  # seconds per query in demo mode: the "never answers" domain resolves quickly
DEMO_DEADLINE = 20.0


@dataclass(frozen=True)
class DemoDomain:
    domain: str
    title: str
    story: str
    selectors: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoSet:
    domains: tuple[DemoDomain, ...]
    zone_files: tuple[str, ...]
    never_answers: tuple[str, ...] = field(default_factory=tuple)
    skip_checks: tuple[str, ...] = field(default_factory=tuple)  # checks that would leave the machine
    skip_reason: str = ""

    @property
    def checks(self) -> tuple[str, ...]:
        """The checks the demo runs: every check except those that would connect to real servers."""
        return tuple(n for n in ALL_CHECKS if n not in self.skip_checks)

    def find(self, domain: str) -> DemoDomain | None:
        return next((d for d in self.domains if d.domain == domain), None)


def load_demo() -> DemoSet:
    data = json.loads((resources.zones_dir() / "demo.json").read_text(encoding="utf-8"))
    domains = tuple(DemoDomain(d["domain"], d["title"], d["story"], tuple(d.get("selectors", [])))
                    for d in data["domains"])
    return DemoSet(domains, tuple(data["zones"]), tuple(data.get("never_answers", [])),
                   tuple(data.get("skip_checks", [])), str(data.get("skip_reason", "")))


class DemoDnsServer(DnsTestServer):
    """A ``DnsTestServer`` that also never answers any name at or under the ``never_answers`` names,
    and answers NXDOMAIN (not REFUSED) for the rest of ``.example`` so lookups up the tree behave like
    the real DNS."""

    def __init__(self, never_answers: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.silent = tuple(dns.name.from_text(n) for n in never_answers)

    def answer(self, query: dns.message.Message) -> dns.message.Message | None:
        if query.question:
            qname = query.question[0].name
            if any(qname.is_subdomain(s) for s in self.silent):
                self.query_count += 1
                return None
        return super().answer(query)


def start_demo_server(demo: DemoSet | None = None) -> tuple[DemoDnsServer, DemoSet]:
    """Load every demo zone into a fresh loopback server and start it."""
    demo = demo or load_demo()
    server = DemoDnsServer(demo.never_answers)
    server.add_origin("example")
    for name in demo.zone_files:
        server.add_zone_file(str(resources.zones_dir() / name))
    server.start()
    return server, demo


__all__ = ["DEMO_DEADLINE", "DEMO_TIMEOUT", "DemoDnsServer", "DemoDomain", "DemoSet", "load_demo",
           "start_demo_server"]
