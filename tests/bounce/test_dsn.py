"""Reading bounces in the forms they come in: standard DSNs, Gmail's and Microsoft's, non-standard text bounces,
other languages, no returned headers, pasted text, and hostile input."""

from __future__ import annotations

import base64

import pytest

from inboxready.core.bounce import read_bounce
from inboxready.core.bounce.dsn import MAX_BOUNCE_BYTES

from .dsnmaker import (
    IP, LOCALIZED, exim_bounce, google_dsn, localized_ndr, microsoft_ndr, old_gmail_bounce, postfix_dsn, qmail_bounce,
    returned_headers,
)

GMAIL_DMARC = ("550-5.7.26 Unauthenticated email from shop.example is not accepted due to domain's DMARC policy. "
               "Please contact the administrator of shop.example domain if this was a legitimate mail. To learn "
               "about the DMARC initiative, go to https://support.google.com/mail/?p=DmarcRejection - gsmtp")
MS_DMARC = ("550 5.7.509 Access denied, sending domain shop.example does not pass DMARC verification and has a "
            "DMARC policy of reject.")


def test_postfix_dsn_with_returned_headers() -> None:
    b = read_bounce(postfix_dsn(GMAIL_DMARC, recipient="alice@gmail.com", remote_mta="gmail-smtp-in.l.google.com"))
    assert b.form == "dsn" and b.returned_form == "text/rfc822-headers"
    m = b.main
    assert m is not None and (m.action, m.status, m.reply_code) == ("failed", "5.7.26", "550")
    assert m.recipient == "alice@gmail.com" and m.remote_mta == "gmail-smtp-in.l.google.com"
    assert m.diagnostic.startswith("Unauthenticated email from shop.example is not accepted due to domain's DMARC")
    assert "550-" not in m.diagnostic and "5.7.26" not in m.diagnostic and m.diagnostic.endswith("gsmtp")
    assert b.reporting_mta == "mail.shop.example" and b.envelope_sender == "news@shop.example"
    f = b.facts
    assert f.from_domain == "shop.example" and f.from_domain_source.startswith("the From address")
    assert [(s.d, s.s) for s in f.signatures] == [("shop.example", "s1")]
    assert f.subject == "Spring sale" and f.message_id == "<1@shop.example>"


def test_returned_as_message_rfc822_and_as_nothing() -> None:
    b = read_bounce(postfix_dsn(GMAIL_DMARC, recipient="alice@gmail.com", remote_mta="gmail-smtp-in.l.google.com",
                                returned="message"))
    assert b.returned_form == "message/rfc822" and b.facts.from_domain == "shop.example"
    none = read_bounce(postfix_dsn(GMAIL_DMARC, recipient="alice@gmail.com", remote_mta="gmail-smtp-in.l.google.com",
                                   returned=None))
    assert none.returned is None and none.main is not None and none.main.status == "5.7.26"
    # no copy of the message: the domain comes from the receiver's own words, then from the bounce's To
    assert none.facts.from_domain == "shop.example" and none.facts.from_domain_source == "the receiver's words"
    plain = read_bounce(postfix_dsn("550 5.1.1 <dave@receiver.example>: Recipient address rejected: User unknown",
                                    recipient="dave@receiver.example", remote_mta="mx.receiver.example", returned=None))
    assert plain.facts.from_domain == "shop.example"
    assert plain.facts.from_domain_source == "the address the bounce was sent to"


def test_gmails_dsn_multipart_alternative_and_html() -> None:
    b = read_bounce(google_dsn("550 5.1.1 <dave@receiver.example>: Recipient address rejected: User unknown",
                               recipient="dave@receiver.example"))
    m = b.main
    assert m is not None and m.status == "5.1.1" and m.recipient == "dave@receiver.example"
    assert m.remote_mta.startswith("mx.receiver.example")
    assert "The response from the remote server was" in b.text
    assert b.returned_form == "message/rfc822" and b.facts.from_domain == "shop.example"


def test_microsoft_ndr_with_embedded_results() -> None:
    ar = ("spf=pass (sender IP is 192.0.2.77) smtp.mailfrom=bounces.shop.example; dkim=fail (no key for signature) "
          "header.d=shop.example;dmarc=fail action=oreject header.from=shop.example;compauth=fail reason=000")
    b = read_bounce(microsoft_ndr(MS_DMARC, recipient="bob@contoso.example",
                                  remote_mta="contoso-example.mail.protection.outlook.com", auth_results=ar))
    m = b.main
    assert m is not None and m.status == "5.7.509" and m.recipient == "bob@contoso.example"
    f = b.facts
    assert f.embedded == {"spf": "pass", "dkim": "fail", "dmarc": "fail", "compauth": "fail"}
    assert f.sending_ip == "192.0.2.77" and "Authentication-Results" in f.sending_ip_source
    assert f.mailfrom_domain == "bounces.shop.example"


def test_results_the_receiver_wrote_into_its_words() -> None:
    yahoo = ("550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo requires all senders "
             "to authenticate with either SPF or DKIM. Authentication results: DKIM = FAILURE - SPF shop.example with "
             f"ip {IP} = FAILURE. See https://senders.yahooinc.com/smtp-error-codes/#authentication-failures")
    b = read_bounce(yahoo)
    assert b.facts.embedded == {"dkim": "fail", "spf": "fail"}
    assert b.facts.sending_ip == IP and b.facts.mailfrom_domain == "shop.example"
    ms = read_bounce("550 5.7.515 Access denied, sending domain shop.example does not meet the required "
                     "authentication level. Spf=Fail Dkim=None Dmarc=Fail")
    assert ms.facts.embedded == {"spf": "fail", "dkim": "none", "dmarc": "fail"}
    assert ms.facts.from_domain == "shop.example"


def test_the_sending_ip_from_the_receivers_received_header() -> None:
    """A bounce the receiving side wrote after accepting: its Received line names the sender's address. The
    sender's own first hop (a laptop on a private network) is never taken for it."""
    extra = ""
    hb = ("Received: from out.shop.example (out.shop.example [192.0.2.99]) by mx.google.com with ESMTPS id x;\r\n"
          "\tMon, 7 Dec 2026 10:00:01 -0800\r\n" + returned_headers())
    b = read_bounce(postfix_dsn("550 5.7.1 rejected", recipient="alice@gmail.com",
                                remote_mta="gmail-smtp-in.l.google.com", headers=hb + extra))
    assert b.facts.sending_ip == "192.0.2.99" and "mx.google.com" in b.facts.sending_ip_source
    own = read_bounce(postfix_dsn("550 5.7.1 rejected", recipient="alice@gmail.com",
                                  remote_mta="gmail-smtp-in.l.google.com"))
    assert own.facts.sending_ip == ""  # the top Received is the sender's own server, from 10.0.0.5


@pytest.mark.parametrize("make", [qmail_bounce, exim_bounce, old_gmail_bounce])
def test_non_standard_bounces(make) -> None:  # type: ignore[no-untyped-def]
    b = read_bounce(make(GMAIL_DMARC, recipient="alice@gmail.com"))
    assert b.form == "text"
    m = b.main
    assert m is not None and m.status == "5.7.26" and m.reply_code == "550" and m.recipient == "alice@gmail.com"
    assert m.diagnostic.startswith("Unauthenticated email from shop.example") and m.permanent
    assert b.returned_form == "inline" and b.facts.from_domain == "shop.example"
    assert [(s.d, s.s) for s in b.facts.signatures] == [("shop.example", "s1")]


@pytest.mark.parametrize("lang", sorted(LOCALIZED))
@pytest.mark.parametrize("multipart", [False, True])
def test_bounces_in_other_languages(lang: str, multipart: bool) -> None:
    b = read_bounce(localized_ndr(lang, MS_DMARC, recipient="bob@contoso.example", multipart=multipart))
    m = b.main
    assert m is not None and m.status == "5.7.509" and m.reply_code == "550"
    assert m.recipient == "bob@contoso.example"
    assert m.diagnostic.startswith("Access denied, sending domain shop.example")
    assert b.returned is not None and b.facts.from_domain == "shop.example"
    assert [(s.d, s.s) for s in b.facts.signatures] == [("shop.example", "s1")]


def test_pasted_error_text_alone() -> None:
    b = read_bounce("  550-5.7.26 This mail has been blocked because the sender is\n550-5.7.26 unauthenticated. "
                    "Gmail requires all senders to authenticate with\n550 5.7.26 either SPF or DKIM. - gsmtp\n")
    assert b.form == "smtp-text" and b.returned is None
    m = b.main
    assert m is not None and m.status == "5.7.26" and m.permanent
    assert m.diagnostic == ("This mail has been blocked because the sender is unauthenticated. Gmail requires all "
                            "senders to authenticate with either SPF or DKIM. - gsmtp")
    assert b.facts.from_domain == ""


def test_delayed_and_delivered_reports() -> None:
    delayed = read_bounce(postfix_dsn(
        "421 4.7.0 [TSS04] Messages from 192.0.2.55 temporarily deferred due to unexpected volume or user complaints"
        " - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes", recipient="carol@yahoo.com",
        remote_mta="mta7.am0.yahoodns.net", action="delayed"))
    m = delayed.main
    assert m is not None and m.failed and m.permanent is False and m.status == "4.7.0"
    assert delayed.facts.sending_ip == "192.0.2.55"
    delivered = read_bounce(postfix_dsn("250 2.0.0 OK", recipient="dave@receiver.example",
                                        remote_mta="mx.receiver.example", action="relayed", status="2.0.0"))
    assert delivered.main is not None and not delivered.main.failed


def test_several_recipients_the_permanent_failure_is_the_main_one() -> None:
    raw = postfix_dsn("452 4.2.2 Over quota", recipient="a@receiver.example", remote_mta="mx.receiver.example")
    second = (b"\r\n\r\nFinal-Recipient: rfc822; b@receiver.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
              b"Diagnostic-Code: smtp; 550 5.1.1 <b@receiver.example>: User unknown\r\n")
    raw = raw.replace(b"\r\n\r\n--BOUNDARY\r\nContent-Description: Undelivered", second
                      + b"\r\n--BOUNDARY\r\nContent-Description: Undelivered", 1)
    b = read_bounce(raw)
    assert [s.recipient for s in b.statuses] == ["a@receiver.example", "b@receiver.example"]
    assert b.main is not None and b.main.recipient == "b@receiver.example" and b.main.status == "5.1.1"


def test_a_forwarded_bounce_is_read_as_the_bounce() -> None:
    inner = postfix_dsn(GMAIL_DMARC, recipient="alice@gmail.com", remote_mta="gmail-smtp-in.l.google.com")
    outer = (b"From: Ann <ann@shop.example>\r\nTo: it@shop.example\r\nSubject: Fwd: Undelivered Mail\r\n"
             b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="F"\r\n\r\n--F\r\n'
             b"Content-Type: text/plain\r\n\r\nWhy does this bounce?\r\n--F\r\nContent-Type: message/rfc822\r\n\r\n"
             + inner + b"\r\n--F--\r\n")
    b = read_bounce(outer)
    assert b.main is not None and b.main.status == "5.7.26" and b.facts.from_domain == "shop.example"


def test_encoded_parts_and_bad_charsets() -> None:
    text = ("<dave@receiver.example>: host mx.receiver.example[198.51.100.20] said: 550 5.1.1 "
            "<dave@receiver.example>: Recipient address rejected: User unknown\n").encode()
    raw = (b"From: MAILER-DAEMON@mail.shop.example\r\nTo: news@shop.example\r\nSubject: Undelivered\r\n"
           b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="X"\r\n\r\n--X\r\n'
           b"Content-Type: text/plain; charset=x-no-such-charset\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes(text) + b"\r\n--X\r\nContent-Type: text/plain; charset=rot13\r\n\r\nhi\xff\xfe\r\n--X--\r\n")
    b = read_bounce(raw)
    assert b.main is not None and b.main.status == "5.1.1" and b.main.recipient == "dave@receiver.example"


# -- hostile input ------------------------------------------------------------------------------------------

def test_a_bounce_carrying_a_hostile_message() -> None:
    """Escape sequences, 10,000 header fields and a fake diagnostic in the returned message: the bounce's own
    status still stands, From is still found, and nothing raises."""
    flood = "".join(f"X-Flood-{i}: \x1b[2J\x1b[32mAll good\x1b[0m\r\n" for i in range(10_000))
    fake = "Diagnostic-Code: smtp; 250 2.0.0 all fine\r\nStatus: 2.0.0\r\n"
    hb = flood + fake + returned_headers(extra="Subject: \x1b]0;pwned\x07\u202eevil\r\n")
    b = read_bounce(postfix_dsn(GMAIL_DMARC, recipient="alice@gmail.com", remote_mta="gmail-smtp-in.l.google.com",
                                headers=hb, returned="message"))
    assert b.main is not None and b.main.status == "5.7.26" and len(b.statuses) == 1
    assert b.facts.from_domain == "shop.example"
    assert [(s.d, s.s) for s in b.facts.signatures] == [("shop.example", "s1")]


def test_deeply_nested_multiparts_are_cut_off() -> None:
    depth = 5000
    nest = "".join(f'--b{i}\r\nContent-Type: multipart/mixed; boundary="b{i + 1}"\r\n\r\n' for i in range(depth))
    bottom = f"--b{depth}\r\nContent-Type: text/plain\r\n\r\n550 5.7.1 deep\r\n" + "".join(
        f"--b{i}--\r\n" for i in range(depth, -1, -1))
    returned = ("From: x@evil.example\r\nMIME-Version: 1.0\r\n"
                'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n' + nest + bottom)
    raw = postfix_dsn(GMAIL_DMARC, recipient="alice@gmail.com", remote_mta="gmail-smtp-in.l.google.com",
                      headers=returned, returned="message")
    b = read_bounce(raw)
    assert b.main is not None and b.main.status == "5.7.26"
    assert any("nests more than" in n for n in b.notes)
    whole = read_bounce(("From: a@b.example\r\nTo: c@d.example\r\nMIME-Version: 1.0\r\n"
                         'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n' + nest + bottom).encode())
    assert whole.form in ("text", "dsn")  # read, not crashed


def test_huge_junk_and_empty_input() -> None:
    big = b"From: a@b.example\r\nTo: c@d.example\r\nSubject: x\r\n\r\n" + b"A" * (MAX_BOUNCE_BYTES + 1000)
    b = read_bounce(big)
    assert b.main is None and any("Only the first" in n for n in b.notes)
    junk = read_bounce(bytes(range(256)) * 4000)
    assert junk.main is None or junk.main.status == ""  # nothing read as a failure from noise
    assert read_bounce(b"").form == "empty" and read_bounce(b"   \r\n").main is None
    assert read_bounce("just some words, no codes at all").main is None
    assert read_bounce(12345).form == "empty"  # type: ignore[arg-type]


def test_ip_addresses_and_versions_are_not_status_codes() -> None:
    b = read_bounce("Hello from 4.16.55.1 and server 10.4.2.1, version 5.7.26.3; see 15.20.8137.28")
    assert b.main is None


def test_the_senders_own_hops_never_give_the_sending_ip() -> None:
    """A Google Workspace user's bounce: the top Received is Google's submission server taking the message from
    the user's home connection. That address is not what the receiver saw."""
    hb = ("Received: from [192.0.2.200] (home.isp.example [192.0.2.200]) by smtp.gmail.com with ESMTPSA id x;\r\n"
          "\tMon, 7 Dec 2026 10:00:00 -0800\r\n" + returned_headers())
    b = read_bounce(google_dsn("550 5.7.1 Delivery not authorized, message refused", recipient="dave@receiver.example",
                               headers=hb))
    assert b.facts.sending_ip == ""


def test_microsofts_id_less_results_in_an_ndr_it_generated() -> None:
    ar = ("spf=pass (sender IP is 209.85.222.48) smtp.mailfrom=shop.example; dkim=fail (no key for signature) "
          "header.d=shop.example;dmarc=fail action=oreject header.from=shop.example;compauth=fail reason=000")
    raw = microsoft_ndr(MS_DMARC, recipient="bob@contoso.example", remote_mta="", auth_results=ar)
    b = read_bounce(raw.replace(b"Remote-MTA: dns;\r\n", b""))
    assert b.facts.sending_ip == "209.85.222.48" and b.facts.embedded["dmarc"] == "fail"
    # the same header under a receiver that is not the one that refused it proves nothing
    other = read_bounce(postfix_dsn("550 5.7.1 rejected", recipient="dave@receiver.example",
                                    remote_mta="mx.receiver.example",
                                    headers=returned_headers(extra="Authentication-Results: mail.shop.example; "
                                                             "spf=pass smtp.mailfrom=shop.example\r\n")))
    assert other.facts.embedded == {}


def test_a_quoted_reply_with_apostrophes_inside_in_a_pasted_ndr() -> None:
    """Outlook shows "Remote Server returned '550-5.7.26 ... domain's DMARC policy ... - gsmtp'": the reply
    is read to its closing quote, not to the first apostrophe."""
    pasted = ("Delivery has failed to these recipients or groups:\n\nalice@gmail.com\nYour message wasn't delivered "
              "because the recipient's email provider rejected it.\n\nDiagnostic information for administrators:\n\n"
              "Generating server: AM0PR01MB1234.eurprd01.prod.outlook.com\n\nalice@gmail.com\nRemote Server returned "
              "'550-5.7.26 Unauthenticated email from shop.example is not accepted due to 550-5.7.26 domain's DMARC "
              "policy. Please contact the administrator of shop.example domain if 550-5.7.26 this was a legitimate "
              "mail. - gsmtp'\n\nOriginal message headers:\n\n" + returned_headers().replace("\r\n", "\n"))
    b = read_bounce(pasted)
    m = b.main
    assert m is not None and m.recipient == "alice@gmail.com"
    assert m.diagnostic == ("Unauthenticated email from shop.example is not accepted due to domain's DMARC policy. "
                            "Please contact the administrator of shop.example domain if this was a legitimate mail. "
                            "- gsmtp")
    assert b.returned_form == "inline" and b.facts.from_domain == "shop.example"


def test_a_flood_of_header_like_lines_is_read_quickly_and_safely() -> None:
    text = "550 5.7.1 rejected\n\n" + "x-a: b\n" * 200_000
    b = read_bounce(text)
    assert b.main is not None and b.main.status == "5.7.1"


def test_codes_inside_the_returned_message_are_never_the_bounces() -> None:
    """A bounce whose own parts say nothing readable: a "550 5.7.1" in the returned message's body is the
    sender's text, not the receiver's reply."""
    raw = (b"From: MAILER-DAEMON@mail.shop.example\r\nTo: news@shop.example\r\nSubject: Undelivered\r\n"
           b'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="R"\r\n\r\n'
           b"--R\r\nContent-Type: image/png\r\n\r\nxx\r\n--R\r\nContent-Type: message/rfc822\r\n\r\n"
           b"From: news@shop.example\r\nSubject: quoting an old error\r\n\r\nThey said: 550 5.7.1 go away\r\n--R--\r\n")
    b = read_bounce(raw)
    assert b.main is None
