"""Third adversarial review of the message verdict (core/mail): cases a reviewer ran through the engine
that gave a false verdict or advice. Messages are generated here (the shop.example world of test_message).
"""

from __future__ import annotations

import pytest

from inboxready.core.dns.server import DnsTestServer
from inboxready.core.mail.headers import addresses, domain_of
from inboxready.core.model import Status

from .test_message import BODY, analyze, build, edge, gmail_ar, shop, sign  # noqa: F401  (shop: the fixture)


# -- R1: a display name with an unquoted @ is a display name, not a second mailbox ----------------------------


@pytest.mark.parametrize(("value", "want"), [
    ("ceo@bank.example <news@shop.example>", ["news@shop.example"]),
    ("ceo@bank.example  CEO <news@shop.example>", ["news@shop.example"]),
    ('"ceo@bank.example" <news@shop.example>', ["news@shop.example"]),
    ("Shop <news @ shop.example>", ["news@shop.example"]),
    ("<@relay.example:news@shop.example>", ["news@shop.example"]),
    ("(ceo <x@bank.example>) news@shop.example", ["news@shop.example"]),
    ("a@one.example, Two <b@two.example>", ["a@one.example", "b@two.example"]),
    ("Team: a@one.example, b@two.example;", ["a@one.example", "b@two.example"]),
    ('"Doe, John" <j@shop.example>', ["j@shop.example"]),
])
def test_the_mailbox_is_the_angle_address(value: str, want: list[str]) -> None:
    assert addresses(value) == want


def test_a_from_whose_display_name_holds_an_address_is_judged_for_its_mailbox(shop: DnsTestServer) -> None:
    """From: ceo@bank.example <news@shop.example> is news@shop.example's mail (the receiver's header.from says
    so too): before, the From domain was bank.example, DMARC "couldn't check" and SPF/DKIM "not aligned"."""
    msg = BODY.replace(b"From: Shop <news@shop.example>", b"From: ceo@bank.example <news@shop.example>")
    signed = sign(msg)
    r = analyze(shop, build([edge(), gmail_ar(signed)], signed))
    assert r.from_domain == "shop.example"
    assert [r.checks[n].status for n in ("spf", "dkim", "dmarc")] == [Status.PASS] * 3
    assert "DMARC passed for shop.example" in r.headline
    assert domain_of(addresses("ceo@bank.example <news@shop.example>")[0]) == "shop.example"
