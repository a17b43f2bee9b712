"""Every domain check by name: a static map from the check's JSON key (``spf``, ``mta_sts``...) to its
``check(ctx)`` coroutine function, and the titles the front ends show for every kind of result.

The runner looks checks up here, never by importing a module by name, so the set of checks is what this
file says (and the frozen app's analysis sees every check module). ``context.ALL_CHECKS`` is the order
they are shown in; the two list the same names (tested).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType

from ..context import CheckContext
from ..model import CheckResult
from . import bimi, dkim, dmarc, dnssec, mta_sts, mx, rdns, spf, starttls, tls_rpt

CheckFn = Callable[[CheckContext], Awaitable[CheckResult]]

CHECKS: Mapping[str, CheckFn] = MappingProxyType({
    "spf": spf.check,
    "dkim": dkim.check,
    "dmarc": dmarc.check,
    "mx": mx.check,
    "mta_sts": mta_sts.check,
    "tls_rpt": tls_rpt.check,
    "bimi": bimi.check,
    "dnssec": dnssec.check,
    "rdns": rdns.check,
    "starttls": starttls.check,
})

# The title of every kind of result the front ends show: the domain checks, the cards of a test message
# (ARC, CompAuth, delivery, content) and the judgements over a domain's checks (checklist, compliance).
CHECK_TITLES: Mapping[str, str] = MappingProxyType({
    "spf": "SPF", "dkim": "DKIM", "dmarc": "DMARC", "mx": "MX", "mta_sts": "MTA-STS", "tls_rpt": "TLS reporting",
    "bimi": "BIMI (logo)", "dnssec": "DNSSEC", "rdns": "Reverse DNS", "starttls": "STARTTLS", "arc": "ARC",
    "compauth": "CompAuth", "delivery": "Delivery", "content": "Content", "checklist": "Bulk-sender checklist",
    "compliance": "Compliance profile",
})


def check_function(name: str) -> CheckFn:
    """``check(ctx)`` of the check called ``name`` (``KeyError`` for a name that is no check)."""
    return CHECKS[name]


def title(name: str) -> str:
    """What a result called ``name`` is shown as (its name in capitals when it has no title)."""
    return CHECK_TITLES.get(name, name.upper())


__all__ = ["CHECKS", "CHECK_TITLES", "CheckFn", "check_function", "title"]
