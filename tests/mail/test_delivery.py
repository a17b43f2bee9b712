"""The delivery card: TLS on the way in, RFC 5322 format, one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

from inboxready.core.mail.message import analyze_message
from inboxready.core.model import Status

from ..conftest import run

HEAD = ("Received: from out.shop.example (out.shop.example [192.0.2.10])\n"
        "        by mx.receiver.example with {proto} id x1; Mon, 01 Jan 2024 10:00:01 +0000\n"
        "Authentication-Results: mx.receiver.example; spf=pass smtp.mailfrom=shop.example;\n"
        " dkim=pass header.d=shop.example; dmarc={dmarc} header.from=shop.example\n")
BASE = ("From: Shop <news@shop.example>\nTo: a@receiver.example\nSubject: Sale\n"
        "Date: Mon, 01 Jan 2024 10:00:00 +0000\nMessage-ID: <1@shop.example>\n")


def card(extra: str = "", *, proto: str = "ESMTPS", dmarc: str = "pass", base: str = BASE):  # type: ignore[no-untyped-def]
    raw = (HEAD.format(proto=proto, dmarc=dmarc) + base + extra + "\nHello\n").encode()
    report = run(analyze_message(raw, trusted_authserv_ids=["mx.receiver.example"]))
    return report.checks["delivery"]


def codes(c) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.code for f in c.findings]


# RFC 8058 §4: both headers covered by a DKIM signature (the receiver's dkim=pass is about this one)
ONE_CLICK = ("List-Unsubscribe: <https://shop.example/u/1>, <mailto:u@shop.example>\n"
             "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n"
             "DKIM-Signature: v=1; a=rsa-sha256; d=shop.example; s=s1; c=relaxed/relaxed;\n"
             " h=from:to:subject:date:message-id:list-unsubscribe:list-unsubscribe-post; bh=AAAA; b=BBBB\n")


def test_everything_right() -> None:
    c = card(ONE_CLICK)
    assert c.status is Status.PASS and codes(c) == [] and c.detail["tls"] is True and c.detail["one_click"]


def test_plain_smtp_hop_is_no_tls() -> None:
    c = card(ONE_CLICK, proto="ESMTP")
    assert c.status is Status.FAIL and codes(c) == ["msg.no-tls"] and c.detail["tls"] is False


def test_unsubscribe_without_post_header_or_https_is_not_one_click() -> None:
    c = card("List-Unsubscribe: <mailto:u@shop.example>\n")
    assert c.status is Status.WARN and codes(c) == ["msg.unsubscribe-not-one-click"]
    assert "https" in c.findings[0].message and "List-Unsubscribe-Post" in c.findings[0].message


def test_no_unsubscribe_is_only_advice() -> None:
    c = card()
    assert c.status is Status.PASS and codes(c) == ["msg.no-unsubscribe"]


def test_format_problems() -> None:
    base = BASE.replace("Message-ID: <1@shop.example>\n", "") + "Subject: again\nFrom: other@x.example\n"
    c = card(ONE_CLICK, base=base)
    assert c.status is Status.FAIL
    assert set(codes(c)) == {"msg.from-count", "msg.no-message-id", "msg.duplicate-headers"}


def test_dmarc_failure_is_a_bulk_sender_problem_here_too() -> None:
    c = card(ONE_CLICK, dmarc="fail")
    assert "msg.not-aligned-pass" in codes(c) and c.status is Status.FAIL


# -- RFC 8058 §4: the one-click headers count only under a valid DKIM signature that covers both ------------


def _sig(h: str, d: str = "shop.example") -> str:
    return (f"DKIM-Signature: v=1; a=rsa-sha256; d={d}; s=s1; c=relaxed/relaxed;\n h={h}; bh=AAAA; b=BBBB\n")


HEADERS_ONLY = ("List-Unsubscribe: <https://shop.example/u/1>\n"
                "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n")


def test_one_click_headers_without_any_dkim_signature_are_not_one_click() -> None:
    c = card(HEADERS_ONLY)
    assert c.detail["one_click"] is False and c.detail["one_click_signed"] is False
    f = next(f for f in c.findings if f.code == "msg.unsubscribe-not-one-click")
    assert "no DKIM signature" in f.message and f.rfc == "RFC 8058 §4"
    assert c.status is Status.WARN


def test_one_click_post_header_not_in_the_signature_is_not_one_click() -> None:
    c = card(HEADERS_ONLY + _sig("from:to:subject:date:message-id:list-unsubscribe"))
    assert c.detail["one_click"] is False and c.detail["one_click_signed"] is False
    f = next(f for f in c.findings if f.code == "msg.unsubscribe-not-one-click")
    assert "doesn't cover List-Unsubscribe-Post (it is not in its h= list)" in f.message


def test_one_click_signed_by_a_signature_that_failed_is_not_one_click() -> None:
    head = HEAD.replace("dkim=pass header.d=shop.example", "dkim=fail (signature did not verify) "
                        "header.d=shop.example")
    raw = (head.format(proto="ESMTPS", dmarc="pass") + BASE + HEADERS_ONLY
           + _sig("from:list-unsubscribe:list-unsubscribe-post") + "\nHello\n").encode()
    c = run(analyze_message(raw, trusted_authserv_ids=["mx.receiver.example"])).checks["delivery"]
    assert c.detail["one_click"] is False
    assert "that covers them did not verify" in next(
        f.message for f in c.findings if f.code == "msg.unsubscribe-not-one-click")


def test_one_click_value_must_be_written_exactly() -> None:
    extra = ("List-Unsubscribe: <https://shop.example/u/1>\nList-Unsubscribe-Post: list-unsubscribe=one-click\n"
             + _sig("from:list-unsubscribe:list-unsubscribe-post"))
    c = card(extra)
    assert c.detail["one_click"] is False
    f = next(f for f in c.findings if f.code == "msg.unsubscribe-not-one-click")
    assert "written exactly 'List-Unsubscribe=One-Click'" in f.message


def test_a_receivers_pass_for_a_signature_the_message_lacks_does_not_sign_the_headers() -> None:
    # the receiver's dkim=pass names another domain's signature, which the message doesn't carry
    c = card(HEADERS_ONLY + _sig("from:list-unsubscribe:list-unsubscribe-post", d="other.example"))
    assert c.detail["one_click"] is False
