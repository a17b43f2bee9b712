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


# -- R2: SPF failing on a forward is not "add the sending service to your SPF record" -------------------------

FORWARDER = "relay.uni.example"


def _forwarded(signed: bytes, *, first_for: str = " for <alice@uni.example>", dkim_res: str = "pass",
               dmarc: str = "pass") -> bytes:
    """shop.example's server (192.0.2.10) → mx.uni.example (an alias) → relay.uni.example (198.51.100.7) → Gmail."""
    gmail_in = (f"Received: from {FORWARDER} ({FORWARDER}. [198.51.100.7])\n        by mx.google.com with ESMTPS id y2\n"
                "        for <alice@gmail.example>; Mon, 01 Jan 2024 10:00:05 -0800 (PST)")
    ar = gmail_ar(signed, dkim_res=dkim_res, dmarc=dmarc).replace(
        "spf=pass (google.com: domain of bounce@shop.example designates 192.0.2.10 as permitted sender)",
        "spf=fail (google.com: domain of bounce@shop.example does not designate 198.51.100.7 as permitted sender)")
    alias_in = ("Received: from out.shop.example (out.shop.example [192.0.2.10])\n        by mx.uni.example with ESMTPS id z3"
                f"{first_for}; Mon, 01 Jan 2024 10:00:01 +0000")
    return build([gmail_in, ar, alias_in], signed)


def test_a_forwarded_message_is_not_told_to_add_the_forwarder(shop: DnsTestServer) -> None:
    """Gmail: spf=fail for the forwarder, dkim=pass, dmarc=pass. Before: the SPF card failed with "Add the sending
    service to your SPF record" and the message was a warning; now SPF's card says the message was forwarded and
    DKIM carried it (nothing to fix), and the message passes."""
    signed = sign()
    r = analyze(shop, _forwarded(signed))
    spf = r.checks["spf"]
    assert [f.code for f in spf.findings] == ["msg.spf-forwarded"]
    words = spf.findings[0].message
    assert "don't add the forwarding server" in words and "192.0.2.10" in words and FORWARDER in words
    assert "addressed to alice@uni.example" in words
    assert spf.status is Status.INFO and "forwarded" in spf.summary
    assert spf.detail["our_check"]["forwarded"]["ip"] == "192.0.2.10"
    assert r.checks["dmarc"].status is Status.PASS
    assert r.headline.startswith("The message passed authentication: DMARC passed for shop.example through DKIM")


def test_a_forwarded_message_whose_dkim_broke_still_fails_and_says_dkim_is_the_way(shop: DnsTestServer) -> None:
    signed = sign().replace(b"Hello!", b"Hello! [list footer]")
    r = analyze(shop, _forwarded(signed, dkim_res="fail (body hash did not verify)", dmarc="fail"))
    assert r.status is Status.FAIL
    spf = r.checks["spf"]
    assert [f.code for f in spf.findings] == ["msg.spf-forwarded"] and spf.status is Status.WARN
    assert "only through DKIM" in spf.findings[0].message
    assert not any("Add the sending service" in f.message for f in spf.findings)


def test_an_outbound_gateway_not_in_spf_is_still_an_spf_failure(shop: DnsTestServer) -> None:
    """The same hops without a change of recipient may be the sender's own outbound gateway, which belongs in the
    record: the card keeps failing and says both cases."""
    signed = sign()
    r = analyze(shop, _forwarded(signed, first_for=""))
    spf = r.checks["spf"]
    assert spf.status is Status.FAIL
    assert [f.code for f in spf.findings] == ["msg.spf-relayed"]
    assert "add it to your SPF record" in spf.findings[0].message and "If it is a forwarder" in spf.findings[0].message


def test_no_older_hop_that_passes_keeps_the_plain_spf_failure(shop: DnsTestServer) -> None:
    signed = sign()
    raw = _forwarded(signed).replace(b"[192.0.2.10]", b"[203.0.113.9]")
    r = analyze(shop, raw)
    assert [f.code for f in r.checks["spf"].findings] == ["msg.spf-fail"]
    assert r.checks["spf"].status is Status.FAIL


# -- R3: strict alignment is named as such, never "your DKIM check fails" -------------------------------------


def test_strict_alignment_is_explained_as_strict(shop: DnsTestServer) -> None:
    """From news.shop.example, SPF and DKIM pass for shop.example, and the DMARC record asks for adkim=s; aspf=s.
    Before: "They are not the same domain (shop.example vs shop.example)", "the two don't belong together",
    "Set up DKIM signing with your own domain" and "our own DKIM check fails where the receiver's passed" (it
    passes). Now each says strict alignment is what stops it, and how to meet or relax it."""
    shop.add_zone("news.shop.example", '@ IN TXT "v=spf1 ip4:192.0.2.10 -all"\n'
                  '_dmarc IN TXT "v=DMARC1; p=reject; adkim=s; aspf=s"\n')
    msg = BODY.replace(b"From: Shop <news@shop.example>", b"From: Shop <hello@news.shop.example>")
    signed = sign(msg)
    ar = gmail_ar(signed).replace("header.from=shop.example", "header.from=news.shop.example")
    r = analyze(shop, build([edge(), ar], signed))
    dm = r.checks["dmarc"]
    text = " ".join([dm.detail["alignment"], *(f.message for c in r.checks.values() for f in c.findings)])
    assert "shop.example vs shop.example" not in text
    assert "don't belong together" not in text
    assert "our own DKIM check fails" not in text
    assert "Set up DKIM signing with your own domain" not in text
    assert "aspf=s" in text and "adkim=s" in text and "d=news.shop.example" in text
    assert dm.detail["our_result"] == "fail"
    assert r.checks["dkim"].detail["signatures"][0]["our_result"] == "pass"


# -- R4: the receiver's dmarc=none while the domain has a policy now -------------------------------------------


def test_dmarc_none_from_the_receiver_is_not_you_have_no_policy_when_there_is_one(shop: DnsTestServer) -> None:
    """shop.example publishes p=reject; the receiver wrote dmarc=none (the record came later, or it couldn't read
    it). Before: "shop.example has no DMARC policy ... Publish a DMARC record" on the card and in the headline."""
    signed = sign()
    r = analyze(shop, build([edge(), gmail_ar(signed, dmarc="none", comment="p=NONE")], signed))
    dm = r.checks["dmarc"]
    assert dm.status is Status.WARN
    words = " ".join([r.headline, dm.summary, *(f.message for f in dm.findings)])
    assert "has no DMARC policy" not in words and "Publish a DMARC record" not in words
    assert "p=reject" in dm.findings[0].message and "new test message" in r.headline


def test_dmarc_none_without_a_record_still_asks_to_publish_one(shop: DnsTestServer) -> None:
    shop.add_zone("bare.example", '@ IN TXT "v=spf1 ip4:192.0.2.10 -all"\n')
    msg = BODY.replace(b"From: Shop <news@shop.example>", b"From: Bare <news@bare.example>")
    r = analyze(shop, build([edge(), "Authentication-Results: mx.google.com;\n       spf=pass (google.com: domain of "
                             "b@bare.example designates 192.0.2.10 as permitted sender) smtp.mailfrom=b@bare.example;\n"
                             "       dmarc=none header.from=bare.example"], msg))
    assert "bare.example has no DMARC policy" in r.headline and "Publish a DMARC record" in r.headline
