"""Third review, bounces: a card that only warns (a DMARC record without a report address) is not named as what
to change for a DMARC rejection whose SPF and DKIM pass from here."""

from __future__ import annotations

import pytest

from inboxready.core.bounce import read_bounce
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import Status

from .test_act import ZONE, analyze, dkim_key, serve, txt

GMAIL_DMARC = ("550-5.7.26 Unauthenticated email from shop.example is not accepted due to\r\n"
               "550-5.7.26 domain's DMARC policy. Please contact the administrator of\r\n"
               "550-5.7.26 shop.example domain if this was a legitimate mail. To learn about\r\n"
               "550-5.7.26 the DMARC initiative, go to\r\n"
               "550 5.7.26  https://support.google.com/mail/?p=DmarcRejection d2e1a72fcca58-7a1234 - gsmtp\r\n")


def test_a_warning_that_cant_cause_the_bounce_is_not_what_to_change(dns_server: DnsTestServer) -> None:
    """Before: "The check below shows what to change: DMARC" with only 'add a report address' on it, which would
    not make the next message pass."""
    zone = ZONE.replace("; rua=mailto:dmarc@shop.example", "") + f"s1._domainkey TXT {txt(dkim_key())}\n"
    serve(dns_server, zone)
    r = analyze(dns_server, GMAIL_DMARC)
    assert r.classification.category == "authentication"
    assert r.checks["dmarc"].status is Status.WARN
    assert all(f.severity.value != "error" for f in r.checks["dmarc"].findings)
    assert "what to change: DMARC" not in r.explanation
    assert "Your records pass from here now" in r.explanation
    assert "Also worth improving, though it didn't cause this bounce: DMARC" in r.explanation


@pytest.mark.parametrize("words", [
    "451 4.7.650 The mail server [192.0.2.77] has been temporarily rate limited due to IP reputation. For e-mail "
    "delivery information, see https://postmaster.live.com (S775)",
    "550 5.7.1 Email rejected due to SPF policy: 192.0.2.77 not permitted by shop.example",
    "550 5.7.23 SPF check failed: 192.0.2.77 is not allowed to send mail from shop.example",
    "554 5.7.1 Blocked - see https://ipcheck.proofpoint.com/?ip=192.0.2.77",
])
def test_the_sending_address_in_more_providers_words(words: str) -> None:
    """Before: no sending address read from these wordings, so no reverse DNS and no SPF check of that server."""
    b = read_bounce(words)
    assert b.facts.sending_ip == "192.0.2.77" and b.facts.sending_ip_source == "the receiver's words"


def test_an_address_in_other_words_is_not_the_sending_ip() -> None:
    assert read_bounce("550 5.1.1 <bob@example.com>: user unknown; 192.0.2.77.in-addr.arpa").facts.sending_ip == ""
