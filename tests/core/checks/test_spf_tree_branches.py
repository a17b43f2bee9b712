"""The include tree's per-branch counts add up to the total the user sees against the limit of 10."""

from __future__ import annotations

from inboxready.core.checks import spf
from inboxready.core.dns.server import DnsTestServer

from ...conftest import make_ctx, run

ZONE = """
@      TXT "v=spf1 a mx include:one.tree.test include:two.tree.test ~all"
@      A 192.0.2.1
@      MX 10 mx
mx     A 192.0.2.2
one    TXT "v=spf1 include:three.tree.test ip4:192.0.2.0/24 -all"
two    TXT "v=spf1 a:host.tree.test exists:x.tree.test -all"
host   A 192.0.2.3
x      A 127.0.0.2
three  TXT "v=spf1 ip4:198.51.100.0/24 -all"
"""


def _check(node: dict) -> None:  # type: ignore[type-arg]
    children = node["children"]
    assert node["total"] == node["lookups"] - len(children) + sum(c["branch"] for c in children)
    for c in children:
        assert c["branch"] == c["total"] + 1
        _check(c)


def test_branches_add_up(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("tree.test", ZONE)

    async def go():  # type: ignore[no-untyped-def]
        return await spf.check(make_ctx(dns_server, "tree.test"))

    result = run(go())
    tree = result.detail["tree"]
    # a, mx, include one (+ include three), include two (+ a, exists) = 7
    assert result.detail["lookups"] == tree["total"] == tree["branch"] == 7
    assert [c["branch"] for c in tree["children"]] == [2, 3]
    _check(tree)
