"""A message whose From domain is internationalized (``info@bücher.example``, written ``xn--bcher-kva.example``
in the header, as mail software must): the headline and the cards name it as people typed it, in Unicode,
while every record-like value (details, DKIM d=, DMARC tags) keeps the ASCII form. A lookalike name (a
Cyrillic letter among Latin ones) stays in its xn-- form, so it can't pass for the real one."""

from __future__ import annotations

import io
import json

import dkim
import idna
import pytest

from inboxready.app.cli import main
from inboxready.core.dns.client import DnsClient
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.mail.message import MessageReport, analyze_message
from inboxready.core.model import Status, quote_txt, split_txt

from ..conftest import conformance_dir, run

UNICODE = "bücher.example"
ACE = idna.encode(UNICODE).decode()  # xn--bcher-kva.example
LOOKALIKE_ACE = idna.encode("p\u0430ypal.example").decode()  # a Cyrillic а among Latin letters


def _zone() -> str:
    key = (conformance_dir("dkim") / "dkimpy" / "test.txt").read_text().strip()
    return ('@ IN TXT "v=spf1 ip4:192.0.2.10 -all"\n'
            f"s1._domainkey IN TXT {' '.join(quote_txt(s) for s in split_txt(key))}\n"
            '_dmarc IN TXT "v=DMARC1; p=reject"\n')


def _message(domain: str, *, signed: bool = True) -> bytes:
    body = (f"From: Shop <news@{domain}>\r\nTo: alice@gmail.example\r\nSubject: Sale\r\n"
            f"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <1@{domain}>\r\n\r\nHello!\r\n").encode()
    if signed:
        key = (conformance_dir("dkim") / "dkimpy" / "test.private").read_bytes()
        body = dkim.sign(body, b"s1", domain.encode(), key,
                         include_headers=[b"from", b"to", b"subject", b"date", b"message-id"]) + body
    head = (f"Received: from out.{domain} (out.{domain}. [192.0.2.10])\r\n        by mx.google.com with ESMTPS "
            "id x1\r\n        for <alice@gmail.example>; Mon, 01 Jan 2024 10:00:01 -0800 (PST)\r\n"
            f"Authentication-Results: mx.google.com;\r\n       dkim={'pass' if signed else 'none'} "
            f"header.i=@{domain} header.s=s1;\r\n       spf=pass (google.com: domain of bounce@{domain} designates "
            f"192.0.2.10 as permitted sender) smtp.mailfrom=bounce@{domain};\r\n       dmarc=pass "
            f"(p=REJECT sp=REJECT dis=NONE) header.from={domain}\r\n")
    return head.encode() + body


@pytest.fixture
def idn_server(dns_server: DnsTestServer) -> DnsTestServer:
    dns_server.add_zone(ACE, _zone())
    dns_server.add_zone(LOOKALIKE_ACE, _zone())
    return dns_server


def _analyze(server: DnsTestServer, raw: bytes) -> MessageReport:
    async def go() -> MessageReport:
        client = DnsClient([server.address], timeout=0.5)
        try:
            return await analyze_message(raw, dns=client)
        finally:
            client.close()
    return run(go())


def _words(report: MessageReport) -> str:
    """Everything a reader sees: the headline, each card's summary and its findings' messages."""
    return "\n".join([report.headline, *(c.summary for c in report.checks.values()),
                      *(f.message for c in report.checks.values() for f in c.findings)])


def test_idn_from_domain_is_shown_in_unicode_in_the_headline_and_cards(idn_server: DnsTestServer) -> None:
    report = _analyze(idn_server, _message(ACE))
    assert report.status is Status.PASS, report.headline
    assert report.headline == f"The message passed authentication: DMARC passed for {UNICODE} through SPF and DKIM."
    assert report.checks["spf"].summary == f"SPF passed for {UNICODE}, the domain in your From address."
    assert report.checks["dmarc"].summary.startswith(f"DMARC passed for {UNICODE} ")
    assert "xn--" not in _words(report)
    # what a script or a record needs stays ASCII: the From domain, DKIM d=, the SPF domain
    assert report.from_domain == ACE
    dm = report.checks["dmarc"].detail
    assert dm["from_domain"] == ACE and dm["ours"]["aligned_by"] == ["spf", f"dkim:{ACE}"]
    assert report.checks["dkim"].detail["signatures"][0]["d"] == ACE


def test_idn_from_domain_in_a_warning_headline(idn_server: DnsTestServer) -> None:
    report = _analyze(idn_server, _message(ACE, signed=False))
    assert report.status is Status.WARN
    assert f"no DKIM signature for {UNICODE}, so forwarded copies will fail" in report.headline
    assert "xn--" not in _words(report)


def test_a_lookalike_from_domain_keeps_its_xn_form(idn_server: DnsTestServer) -> None:
    report = _analyze(idn_server, _message(LOOKALIKE_ACE))
    assert report.status is Status.PASS
    assert LOOKALIKE_ACE in report.headline and "\u0430" not in _words(report)


def test_cli_headers_shows_the_unicode_from_domain(idn_server: DnsTestServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "m.eml"
    path.write_bytes(_message(ACE, signed=False))
    out, err = io.StringIO(), io.StringIO()
    code = main(["headers", str(path), "-n", idn_server.address, "--color", "never"], out=out, err=err)
    text = out.getvalue()
    assert code == 1, err.getvalue()
    head = text.split("\n  ✓ SPF")[0]  # the headline, above the cards
    assert f"no DKIM signature for {UNICODE}" in " ".join(head.split())
    assert f"SPF passed for {UNICODE}, the domain in your From address." in text
    out = io.StringIO()
    main(["headers", str(path), "-n", idn_server.address, "--json"], out=out, err=io.StringIO())
    data = json.loads(out.getvalue())
    assert UNICODE in data["headline"] and data["from_domain"] == ACE
