"""What people paste into the domain field."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inboxready.core.domain import DomainError, parse_domain


@pytest.mark.parametrize(
    "text,domain",
    [
        ("example.com", "example.com"),
        ("  Example.COM.  ", "example.com"),
        ("https://www.example.com/", "example.com"),
        ("http://shop.example.com:8080/path?q=1", "shop.example.com"),
        ("user@example.com", "example.com"),
        ("mailto:Jane.Doe@Mail.Example.org", "mail.example.org"),
        ("<user@example.com>", "example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("www.example.com", "www.example.com"),
    ],
)
def test_accepts_what_people_paste(text: str, domain: str) -> None:
    assert parse_domain(text).domain == domain


def test_idn_is_shown_in_unicode_with_a_note() -> None:
    d = parse_domain("bücher.example")
    assert d.display == "bücher.example" and "xn--bcher-kva.example" in d.note


def test_url_note_says_www_was_dropped() -> None:
    assert "www" in parse_domain("https://www.example.com/").note


@pytest.mark.parametrize("text", ["", "   ", "localhost", "exa mple.com", "192.0.2.1", "-bad-.com", "http://"])
def test_rejects_with_a_plain_message(text: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_domain(text)
    assert len(str(info.value)) > 10


@given(st.text(max_size=300))
def test_never_raises_anything_but_domain_error(text: str) -> None:
    try:
        parse_domain(text)
    except DomainError:
        pass


@pytest.mark.parametrize("text,meant", [("example,com", "example.com"), ("example..com", "example.com"),
                                        (".example.com", "example.com"), ("mail,example,co.uk", "mail.example.co.uk"),
                                        ("bücher..example", "bücher.example")])
def test_a_slip_of_the_finger_says_what_was_probably_meant(text: str, meant: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_domain(text)
    message = str(info.value)
    assert message.endswith(f"Did you mean {meant}?")
    assert "com.com" not in message and "A DNS label" not in message


def test_no_guess_when_the_repaired_name_is_no_domain_either() -> None:
    with pytest.raises(DomainError) as info:
        parse_domain("ex,,ample")
    assert "Did you mean" not in str(info.value) and "comma" in str(info.value)


def test_a_label_over_63_characters_is_said_in_words() -> None:
    with pytest.raises(DomainError) as info:
        parse_domain("a" * 64 + ".com")
    assert "at most 63 characters" in str(info.value)


# -- internationalized names shown as people write them, lookalikes kept in their xn-- form --------------

def _ace(text: str) -> str:
    import idna
    return idna.encode(text).decode()


@pytest.mark.parametrize("unicode_name", ["bücher.example", "日本語.jp", "ひらがな漢字.example", "ελληνικά.gr",
                                          "кто.example", "l·l.cat", "аррӏе.рф", "한국어.kr", "mail.bücher.example",
                                          "кок.ru", "հայերեն.am", "ქართული.ge", "עברית.co.il", "مثال.example",
                                          "हिन्दी.example", "ไทย.example", "nāve.lv", "çok.com.tr", "москва.com"])
def test_display_domain_shows_a_real_idn_in_unicode(unicode_name: str) -> None:
    from inboxready.core.domain import display_domain
    assert display_domain(_ace(unicode_name)) == unicode_name
    assert display_domain(_ace(unicode_name).upper()) == unicode_name


@pytest.mark.parametrize("unicode_name", ["p\u0430ypal.example",  # Latin with one Cyrillic а
                                          "\u0430\u0440\u0440\u04cf\u0435.example",  # аррӏе: all Latin lookalikes
                                          "g\u03bfogle.example",  # Greek ο among Latin letters
                                          "bücher.p\u0430ypal.example",  # one bad label keeps the whole name
                                          "\u0581\u0585\u0585\u0581.com",  # ցօօց: Armenian letters reading goog
                                          "\u0570\u0561\u0575.com",  # հայ: Armenian letters reading hwj
                                          "\u0501\u043e\u050d.com",  # ԁоԍ: Cyrillic reading doG
                                          "\u03b7\u03c4\u03c4\u03c1.com",  # ηττρ: Greek reading nttp
                                          "\u13b4\u13ac\u13a2.com",  # ᎴᎬᎢ: Cherokee capitals (limited-use script)
                                          "\ua4f2bm.com",  # ꓲbm: a Lisu letter drawn as I
                                          "\u0251pple.com",  # ɑpple: a phonetic (technical) Latin alpha
                                          "\u1d00pple.com",  # ᴀpple: a small-capital A
                                          "paypal\u0307.com",  # paypal with a dot above its l
                                          ])
def test_display_domain_keeps_a_lookalike_in_its_xn_form(unicode_name: str) -> None:
    from inboxready.core.domain import display_domain
    ace = _ace(unicode_name)
    assert display_domain(ace) == ace


@pytest.mark.parametrize("ace", ["xn--a.example", "xn--.example", "xn--bcher-kva-.example", "xn--zzzzzzzzz.example",
                                 "example.com", "xn--BCHER-KVA.example.", ""])
def test_display_domain_keeps_what_does_not_decode(ace: str) -> None:
    from inboxready.core.domain import display_domain
    shown = display_domain(ace)
    assert shown == ace or shown == "bücher.example."  # only a valid A-label decodes (the trailing dot kept)


def test_display_names_changes_only_names_in_words_not_in_records() -> None:
    from inboxready.core.domain import display_names
    ace = _ace("bücher.example")
    text = (f"{ace} has no DMARC record; mail for mail.{ace} goes; publish _dmarc.{ace} with "
            f"rua=mailto:r@{ace}, d={ace}, include:{ace}, https://{ace}/x and {_ace('p' + chr(0x430) + 'ypal.example')}.")
    assert display_names(text) == (
        f"bücher.example has no DMARC record; mail for mail.bücher.example goes; publish _dmarc.{ace} with "
        f"rua=mailto:r@{ace}, d={ace}, include:{ace}, https://{ace}/x and {_ace('p' + chr(0x430) + 'ypal.example')}.")


def test_a_typed_lookalike_is_looked_up_and_shown_in_its_dns_form() -> None:
    d = parse_domain("p\u0430ypal.example")
    assert d.domain == d.display == _ace("p\u0430ypal.example") and "could pass for another name" in d.note


@given(st.text(max_size=80))
def test_display_names_never_raises_and_leaves_text_without_xn_alone(text: str) -> None:
    from inboxready.core.domain import display_names
    shown = display_names(text)
    if "xn--" not in text.lower():
        assert shown == text
