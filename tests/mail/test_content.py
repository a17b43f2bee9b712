"""The "content" card of a received message, and SpamAssassin when it is installed."""

from __future__ import annotations

import email
import json
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inboxready.core.mail import content as content_mod
from inboxready.core.mail.content import (
    SpamAssassinResult, analyze_content, load_shorteners, parse_spamassassin_report, run_spamassassin,
)
from inboxready.core.mail.message import analyze_message
from inboxready.core.model import CheckResult, Severity, Status
from tests.conftest import run
from tests.helpers import needs

HEAD = ("From: Flower Shop <news@flowers.example>\r\nTo: alice@mail.example\r\nSubject: {subject}\r\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <a1@flowers.example>\r\nMIME-Version: 1.0\r\n")


def newsletter(html: str, *, text: str | None = "Our spring news.", subject: str = "Spring news from the shop",
               list_unsubscribe: bool = True) -> bytes:
    if text is None:
        body = "Content-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n"
    else:
        boundary = "b1"
        body = (f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
                f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
                f"--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--{boundary}--\r\n")
    lu = ("List-Unsubscribe: <https://flowers.example/u/1>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
          if list_unsubscribe else "")
    return (HEAD.format(subject=subject) + lu + body).encode("utf-8")


GOOD_HTML = ('<html><body><p>Tulips are in.</p><a href="https://flowers.example/tulips">See the tulips</a>'
             '<img src="https://flowers.example/t.png" alt="tulips"><p>Flower Shop, 12 Market Street, '
             'Springfield, IL 62701</p><a href="https://flowers.example/unsubscribe?u=1">Unsubscribe</a>'
             "</body></html>")


def codes(r: CheckResult) -> list[str]:
    return [f.code for f in r.findings]


def test_a_tidy_newsletter_has_nothing_to_say() -> None:
    r = analyze_content(newsletter(GOOD_HTML), "flowers.example")
    assert r.name == "content" and r.status is Status.PASS, r.to_json()
    assert codes(r) == []
    d = r.detail
    assert d["marketing"] and d["visible_unsubscribe"] and d["postal_address"] and d["postal_address_heuristic"]
    assert (d["links"], d["images"], d["link_domains"], d["foreign_link_domains"]) == (
        2, 1, ["flowers.example"], [])
    assert d["spamassassin"] is None
    json.dumps(r.to_json())
    assert r.summary == "Nothing in the content stands out (2 links, 1 image)."


def test_marketing_mail_without_a_visible_unsubscribe_link() -> None:
    html = GOOD_HTML.replace('<a href="https://flowers.example/unsubscribe?u=1">Unsubscribe</a>', "")
    r = analyze_content(newsletter(html), "flowers.example")
    assert r.status is Status.WARN and codes(r) == ["content.no-visible-unsubscribe"]
    assert "unsubscribe link" in r.findings[0].message and r.detail["visible_unsubscribe"] is False


def test_unsubscribe_in_another_language_counts() -> None:
    html = GOOD_HTML.replace(">Unsubscribe<", ">Newsletter abbestellen<").replace("unsubscribe?u=1", "x?u=1")
    r = analyze_content(newsletter(html), "flowers.example")
    assert "content.no-visible-unsubscribe" not in codes(r)


def test_personal_mail_needs_no_unsubscribe_link_or_address() -> None:
    raw = (HEAD.format(subject="Lunch on Friday?") + "Content-Type: text/plain\r\n\r\nShall we meet at noon?\r\n")
    r = analyze_content(raw.encode(), "flowers.example")
    assert r.status is Status.PASS and codes(r) == [] and r.detail["marketing"] is False


def test_missing_postal_address_is_a_labelled_guess() -> None:
    html = GOOD_HTML.replace("Flower Shop, 12 Market Street, Springfield, IL 62701", "Flower Shop")
    r = analyze_content(newsletter(html), "flowers.example")
    f = next(f for f in r.findings if f.code == "content.no-postal-address")
    assert f.severity is Severity.INFO and "rough guess" in f.message and "Heuristic" in f.detail
    assert r.status is Status.PASS


@pytest.mark.parametrize("address", ["Blumen GmbH, Hauptstraße 5, 10115 Berlin", "PO Box 123, Leeds LS1 4AP",
                                     "Bloemen BV, Keizersgracht 12, 1015 CJ Amsterdam",
                                     "Fleurs SARL, 8 rue de la Paix, 75002 Paris"])
def test_postal_addresses_in_several_styles(address: str) -> None:
    html = GOOD_HTML.replace("Flower Shop, 12 Market Street, Springfield, IL 62701", address)
    assert analyze_content(newsletter(html), "flowers.example").detail["postal_address"] is True


def test_url_shortener_and_link_text_that_lies() -> None:
    html = GOOD_HTML.replace("https://flowers.example/tulips", "https://bit.ly/3xYz").replace(
        "See the tulips", "flowers.example/tulips")
    r = analyze_content(newsletter(html), "flowers.example")
    assert r.status is Status.WARN
    assert {"content.url-shortener", "content.link-text-mismatch", "content.foreign-link-domains"} <= set(codes(r))
    assert r.detail["shorteners"] == ["bit.ly (Bitly)"]
    assert "bit.ly" in r.detail["foreign_link_domains"]


def test_link_domains_compare_by_organization() -> None:
    html = GOOD_HTML.replace("https://flowers.example/tulips", "https://click.news.flowers.example/t?1")
    html = html.replace('<img src="https://flowers.example/t.png" alt="tulips">',
                        '<a href="https://tracking.mailservice.example/c/9">Offers</a>')
    r = analyze_content(newsletter(html), "mail.flowers.example")
    assert r.detail["from_org_domain"] == "flowers.example"
    assert r.detail["foreign_link_domains"] == ["tracking.mailservice.example"]
    f = next(f for f in r.findings if f.code == "content.foreign-link-domains")
    assert f.severity is Severity.INFO and "1 of the 3 domains" in f.message


def test_org_domain_from_the_dns_tree_walk_is_preferred() -> None:
    html = GOOD_HTML.replace("https://flowers.example/tulips", "https://shop.flowers.example/t")
    orgs = {"news.flowers.example": "news.flowers.example", "shop.flowers.example": "shop.flowers.example"}
    r = analyze_content(newsletter(html), "news.flowers.example", org_domains=orgs)
    assert "shop.flowers.example" in r.detail["foreign_link_domains"]


def test_shouting_and_bait_subject() -> None:
    r = analyze_content(newsletter(GOOD_HTML, subject="ACT NOW: HUGE SPRING SALE!!!"), "flowers.example")
    assert {"content.subject-all-caps", "content.subject-bait"} <= set(codes(r))
    bait = next(f for f in r.findings if f.code == "content.subject-bait")
    assert "'act now'" in bait.message and bait.severity is Severity.INFO


def test_encoded_subject_is_decoded_before_judging() -> None:
    raw = newsletter(GOOD_HTML, subject="=?utf-8?q?GRO=C3=9FER_FR=C3=9CHLINGSVERKAUF?=")
    r = analyze_content(raw, "flowers.example")
    assert r.detail["subject"] == "GROßER FRÜHLINGSVERKAUF"
    assert "content.subject-all-caps" not in codes(r)  # 'ß' has no capital in this text: not all capitals


def test_html_without_a_text_part_and_image_only() -> None:
    html = '<html><body><a href="https://flowers.example/s"><img src="https://flowers.example/a.png"></a></body></html>'
    r = analyze_content(newsletter(html, text=None, list_unsubscribe=False), "flowers.example")
    assert {"content.html-only", "content.image-only"} <= set(codes(r))
    assert r.detail["text_part"] is False and r.detail["images"] == 1


def test_plain_text_links_are_counted() -> None:
    raw = (HEAD.format(subject="Invoice 42") + "Content-Type: text/plain\r\n\r\n"
           "Your invoice: https://billing.flowers.example/i/42. Questions? https://help.other.example/\r\n")
    r = analyze_content(raw.encode(), "flowers.example")
    assert r.detail["links"] == 2 and r.detail["foreign_link_domains"] == ["help.other.example"]


def test_an_email_message_object_is_accepted() -> None:
    msg = MIMEMultipart("alternative")
    msg["From"], msg["Subject"] = "news@flowers.example", "Hello"
    msg.attach(MIMEText("Hi", "plain"))
    msg.attach(MIMEText("<p>Hi</p>", "html"))
    r = analyze_content(msg, "flowers.example")
    assert r.status is Status.PASS and r.detail["html"] and r.detail["text_part"]


def test_broken_charset_and_transfer_encoding_are_survived() -> None:
    raw = (HEAD.format(subject="x") + "Content-Type: text/html; charset=no-such-charset\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n!!!not base64***\r\n").encode()
    r = analyze_content(raw, "flowers.example")
    assert r.status in (Status.PASS, Status.WARN, Status.INFO) and isinstance(r.detail["problems"], list)


def test_empty_body_is_said() -> None:
    r = analyze_content((HEAD.format(subject="x") + "\r\n").encode(), "flowers.example")
    assert codes(r) == ["content.empty"]


def test_shortener_list_has_dates_and_sources() -> None:
    table = load_shorteners()
    assert table["bit.ly"] == "Bitly" and "tinyurl.com" in table
    data = json.loads((content_mod.resources.files("inboxready.core.rules") / "url_shorteners.json").read_text())
    assert all(e["checked"] and e["source"].startswith("https://") for e in data["shorteners"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=600), st.text(max_size=600).map(lambda t: t.encode("utf-8", "replace")),
                 st.text(alphabet="<>/=\"' ahrefimgsrc:.xyz", max_size=300).map(
                     lambda h: (HEAD.format(subject="s") + "Content-Type: text/html\r\n\r\n" + h).encode())),
       st.text(max_size=40))
def test_arbitrary_input_never_raises(raw: bytes, from_domain: str) -> None:
    r = analyze_content(raw, from_domain)
    assert r.name == "content" and "content.unreadable" not in codes(r)
    json.dumps(r.to_json())


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=800))
def test_spamassassin_report_parser_never_raises(text: str) -> None:
    r = parse_spamassassin_report(text)
    assert r is None or isinstance(r, SpamAssassinResult)


REPORT = """Content analysis details:   (6.1 points, 5.0 required)

 pts rule name              description
---- ---------------------- --------------------------------------------------
 1.7 HTML_IMAGE_ONLY_04     BODY: HTML: images with 0-400 bytes of words
 2.5 SOME_LONG_RULE         A description that goes on and on and is
                            continued on the next line
-0.1 DKIM_VALID             Message has at least one valid DKIM or DK signature

"""


def test_spamassassin_report_is_parsed() -> None:
    r = parse_spamassassin_report("message text...\n" + REPORT)
    assert r is not None and (r.score, r.required, r.is_spam) == (6.1, 5.0, True)
    assert [x["name"] for x in r.rules] == ["HTML_IMAGE_ONLY_04", "SOME_LONG_RULE", "DKIM_VALID"]
    assert r.rules[1]["description"].endswith("continued on the next line") and r.rules[2]["score"] == -0.1


def test_spamassassin_result_and_absence_on_the_card() -> None:
    sa = parse_spamassassin_report(REPORT)
    r = analyze_content(newsletter(GOOD_HTML), "flowers.example", spamassassin=sa, spamassassin_tried=True)
    f = next(f for f in r.findings if f.code == "content.spamassassin")
    assert f.severity is Severity.WARNING and "6.1" in f.message and "HTML_IMAGE_ONLY_04" in f.detail
    assert r.detail["spamassassin"]["score"] == 6.1 and r.detail["spamassassin"]["available"] is True
    none = analyze_content(newsletter(GOOD_HTML), "flowers.example", spamassassin=None, spamassassin_tried=True)
    assert "content.spamassassin-unavailable" in codes(none) and none.detail["spamassassin"] == {"available": False}


def test_run_spamassassin_is_none_without_the_program(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(content_mod.shutil, "which", lambda name: None)
    assert run_spamassassin(b"From: a@b.example\r\n\r\nx") is None


def test_real_spamassassin_scores_an_image_only_shortener_mail() -> None:
    needs.program("spamassassin", "spamassassin")  # CI installs it and runs this
    html = '<html><body><a href="https://bit.ly/x">CLICK HERE</a><img src="https://flowers.example/a.png"></body></html>'
    sa = run_spamassassin(newsletter(html, text=None, subject="BUY NOW", list_unsubscribe=False), timeout=60)
    assert sa is not None, "spamassassin is on PATH but gave no report"
    names = {r["name"] for r in sa.rules}
    assert "MIME_HTML_ONLY" in names and sa.required == 5.0 and sa.version


def test_analyze_message_adds_the_content_card_only_when_asked() -> None:
    raw = newsletter(GOOD_HTML)
    plain = run(analyze_message(raw))
    assert "content" not in plain.checks
    with_card = run(analyze_message(raw, content=True))
    card = with_card.checks["content"]
    assert card.status is Status.PASS and card.detail["visible_unsubscribe"] is True
    assert with_card.to_json()["checks"]["content"]["status"] == "pass"
    headers_only = run(analyze_message(raw.split(b"\r\n\r\n")[0] + b"\r\n", content=True))
    assert "content" not in headers_only.checks


def test_analyze_message_says_when_spamassassin_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(content_mod.shutil, "which", lambda name: None)
    r = run(analyze_message(newsletter(GOOD_HTML), content=True, spamassassin=True))
    assert "content.spamassassin-unavailable" in codes(r.checks["content"])


def test_message_from_bytes_roundtrip_of_sample() -> None:
    msg = email.message_from_bytes(newsletter(GOOD_HTML))
    assert analyze_content(msg, "flowers.example").detail["links"] == 2
