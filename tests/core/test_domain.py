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
