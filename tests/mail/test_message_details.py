"""The typed shapes of a received message's report (core/mail/details.py) hold for what the code writes.

Every report of tests/mail/test_message.py goes through ``assert_message_shapes`` (the SPF, DKIM, DMARC,
ARC, compauth and delivery cards, the report's own detail); here the cards those tests don't build: the
content card (with and without SpamAssassin, an unreadable body), the report of a message we couldn't read
at all, and a check that the checker itself catches a wrong key or type."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inboxready.core.mail import content as content_mod
from inboxready.core.mail.content import analyze_content, parse_spamassassin_report
from inboxready.core.mail.details import MessageDkimDetail
from inboxready.core.mail.message import MessageReport, _internal_error, analyze_message
from inboxready.core.model import CheckResult, Status

from ..conftest import run
from ..detailshape import MESSAGE_SHAPES, assert_message_shapes, problems
from .test_content import GOOD_HTML, REPORT, newsletter


def _content_report(card: CheckResult) -> MessageReport:
    return MessageReport({"content": card}, "", "", "", "", None)


def test_the_content_card_is_of_its_shape_with_and_without_spamassassin() -> None:
    sa = parse_spamassassin_report(REPORT)
    for card in (analyze_content(newsletter(GOOD_HTML), "flowers.example"),
                 analyze_content(newsletter(GOOD_HTML), "flowers.example", spamassassin=sa, spamassassin_tried=True),
                 analyze_content(newsletter(GOOD_HTML), "flowers.example", spamassassin=None, spamassassin_tried=True),
                 analyze_content(newsletter("<p>only html", text=None, list_unsubscribe=False), "x.example")):
        assert card.detail["subject"]  # a real analysis, not the unreadable card
        assert_message_shapes(_content_report(card))


def test_an_unreadable_body_gives_a_content_card_of_its_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_a: object, **_k: object) -> CheckResult:
        raise ValueError("boom")

    monkeypatch.setattr(content_mod, "_analyze", broken)
    card = analyze_content(newsletter(GOOD_HTML), "flowers.example")
    assert card.status is Status.ERROR and card.detail == {"result": None}
    assert_message_shapes(_content_report(card))


def test_a_whole_message_with_content_is_of_its_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(content_mod.shutil, "which", lambda name: None)
    raw = (b"Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=flowers.example; dkim=none; "
           b"dmarc=pass header.from=flowers.example\r\n"
           b"Received: from out.flowers.example ([192.0.2.7]) by mx.example.net with ESMTPS; "
           b"Mon, 23 Nov 2026 10:00:01 +0000\r\n" + newsletter(GOOD_HTML))
    report = run(analyze_message(raw, content=True, spamassassin=True))
    assert {"spf", "dkim", "dmarc", "delivery", "content"} <= set(report.checks)
    assert_message_shapes(report)


def test_the_report_of_a_message_we_could_not_read_is_of_its_shapes() -> None:
    report = _internal_error(RuntimeError("boom"))
    back = assert_message_shapes(report)
    assert back.detail == {} and all(c.detail["result"] is None for c in back.checks.values())


def test_the_shape_checker_catches_a_missing_key_a_stray_key_and_a_wrong_type() -> None:
    """The checker the message tests rely on is not a no-op."""
    row = {"index": 0, "d": "a.example", "s": "s1", "a": "rsa-sha256", "result": "pass", "receiver_result": "pass",
           "receiver_comment": None, "aligned": True, "our_result": "pass", "our_reason": "ok",
           "our_explanation": "", "agree": True}
    good = {"result": "pass", "authserv_id": "mx", "header": "h", "signatures": [row]}
    assert problems(good, MessageDkimDetail, "dkim") == []
    assert problems({**good, "header": 1}, MessageDkimDetail, "dkim") == ["dkim.header: 1 is none of str | None"]
    assert problems({k: v for k, v in good.items() if k != "header"}, MessageDkimDetail, "dkim") == [
        "dkim: no key 'header'"]
    assert problems({**good, "signatures": [{**row, "aligned": "yes"}]}, MessageDkimDetail, "dkim")
    assert problems({**good, "colour": "red"}, MessageDkimDetail, "dkim") == ["dkim: unknown key 'colour'"]
    unknown = MessageReport({"mystery": CheckResult("mystery", Status.INFO, "")}, "", "", "", "", None)
    with pytest.raises(AssertionError, match="no shape"):
        assert_message_shapes(unknown)
    assert set(MESSAGE_SHAPES) == {"spf", "dkim", "dmarc", "arc", "compauth", "delivery", "content"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400).map(lambda b: newsletter(GOOD_HTML)[:200] + b))
def test_any_body_gives_a_content_card_of_its_shape(raw: bytes) -> None:
    card = analyze_content(raw, "flowers.example")
    assert json.dumps(card.to_json())
    assert_message_shapes(_content_report(card))
