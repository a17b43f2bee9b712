"""The sender's name in From imitating another domain or address (``"paypal.com" <x@evil.example>``): the
address is what DMARC checks and what we show, but the name is what readers see first. A warning says so,
and it turns a passing verdict into a warning; a name of the From domain's own organization, a plain name,
and a name with dots that is no domain ("Dr.Smith", "v2.0") say nothing."""

from __future__ import annotations

import json

import pytest

from inboxready.core.dns.server import DnsTestServer
from inboxready.core.mail.sendername import display_name_claims
from inboxready.core.model import Severity, Status

from .test_message import BODY, analyze, build, edge, gmail_ar, shop, sign  # noqa: F401  (shop: fixture)

EVIL = "x@evil.example"


@pytest.mark.parametrize("value, claims", [
    ('"paypal.com" <x@evil.example>', ["paypal.com"]),
    ('PayPal.com Support <x@evil.example>', ["paypal.com"]),
    ('"support@bank.example" <x@evil.example>', ["support@bank.example"]),
    ("support@bank.example <x@evil.example>", ["support@bank.example"]),  # unquoted @ in the name
    ('"\uff50\uff41\uff59\uff50\uff41\uff4c\uff0e\uff43\uff4f\uff4d" <x@evil.example>', ["paypal.com"]),  # fullwidth
    ('"paypal\u3002com" <x@evil.example>', ["paypal.com"]),  # an ideographic full stop is a dot to IDNA
    ('"pay\u200bpal.com" <x@evil.example>', ["paypal.com"]),  # a zero-width space hides nothing
    ('"PAYPAL.COM." <x@evil.example>', ["paypal.com"]),
    ("x@evil.example (paypal.com)", ["paypal.com"]),  # a comment is shown by some mail apps
    ('"www.paypal.com/signin" <x@evil.example>', ["www.paypal.com"]),
    ('"B\u00fccher.de Team" <x@evil.example>', ["b\u00fccher.de"]),
    ('"Amazon.co.uk" <x@amazon.com>', ["amazon.co.uk"]),  # another organization, even of the same brand
    # nothing to say
    ('"Shop" <x@evil.example>', []),
    ("x@evil.example", []),
    ('"x@evil.example" <x@evil.example>', []),
    ('"Shop.example" <news@mail.shop.example>', []),  # the From domain's own organization
    ('"B\u00fccher.de" <x@xn--bcher-kva.de>', []),  # the same name, in Unicode
    ('"Dr.Smith" <x@evil.example>', []),
    ('"J.R.R. Tolkien" <x@evil.example>', []),
    ('"Version 2.0 Team" <x@evil.example>', []),
    ('"Acme Inc." <x@evil.example>', []),
])
def test_claims(value: str, claims: list[str]) -> None:
    address = value.split("<")[-1].rstrip(">").split(" ")[0]
    assert display_name_claims(value, address, address.rsplit("@", 1)[1].lower()) == claims


def _from(name: str) -> bytes:
    body = BODY.replace(b"From: Shop <news@shop.example>", b"From: " + name.encode())
    signed = sign(body)
    return build([edge(), gmail_ar(signed)], signed)


@pytest.mark.parametrize("name, claim", [
    ('"paypal.com" <news@shop.example>', "the domain paypal.com"),
    ('"support@bank.example" <news@shop.example>', "the address support@bank.example"),
    ("=?utf-8?q?paypal=2Ecom?= <news@shop.example>", "the domain paypal.com"),  # an encoded word
])
def test_imitating_name_is_a_warning_on_a_passing_message(shop: DnsTestServer, name: str, claim: str) -> None:
    r = analyze(shop, _from(name))
    assert r.checks["dmarc"].status is Status.PASS  # the address is shop.example's and passes
    f = next(f for f in r.findings if f.code == "msg.display-name-imitates")
    assert f.severity is Severity.WARNING
    assert claim in f.message and "news@shop.example" in f.message and "phishing" in f.message
    assert r.status is Status.WARN
    assert "sender's name in From" in r.headline
    j = json.loads(json.dumps(r.to_json()))
    assert j["status"] == "warn" and "msg.display-name-imitates" in [x["code"] for x in j["findings"]]


def test_own_name_says_nothing(shop: DnsTestServer) -> None:
    for name in ('"Shop" <news@shop.example>', '"shop.example" <news@shop.example>',
                 '"Shop (shop.example)" <news@shop.example>', '"news@shop.example" <news@shop.example>'):
        r = analyze(shop, _from(name))
        assert not [f for f in r.findings if f.code == "msg.display-name-imitates"], name
        assert "sender's name" not in r.headline


def test_message_with_no_receiver_still_warns() -> None:
    raw = (b'From: "paypal.com" <x@evil.example>\r\nTo: a@b.example\r\nSubject: Verify\r\n'
           b"Message-ID: <1@evil.example>\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n\r\nhi\r\n")
    r = analyze(None, raw)
    assert r.status is Status.ERROR  # nothing to judge authentication by
    assert [f.code for f in r.findings if f.code == "msg.display-name-imitates"]
