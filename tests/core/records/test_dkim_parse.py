"""The DKIM key-record parser (RFC 6376 §3.2, §3.6.1; RFC 8463) and the selector catalog."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxready.core.records.dkim_key import (
    DkimKeyError, describe_foreign_record, normalize_selector, parse_dkim_key, parse_tag_list,
)
from inboxready.core.records.dkim_selectors import load_catalog

from ...conftest import conformance_dir

# An RSA public key of a given size, built from a random odd modulus: no key generation, so it is fast.
# DKIM key discovery only reads the modulus size; it never verifies with the key.


def rsa_b64(bits: int, fmt: str = "spki", seed: int = 1) -> str:
    import random

    rnd = random.Random(seed * 100003 + bits)
    n = rnd.getrandbits(bits) | (1 << (bits - 1)) | 1
    key = rsa.RSAPublicNumbers(65537, n).public_key()
    form = serialization.PublicFormat.SubjectPublicKeyInfo if fmt == "spki" else serialization.PublicFormat.PKCS1
    return base64.b64encode(key.public_bytes(serialization.Encoding.DER, form)).decode()


def ed_b64() -> str:
    raw = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


# -- tag lists --------------------------------------------------------------------------------------


def test_tag_list_keeps_order_and_strips_folding_whitespace() -> None:
    tags = parse_tag_list(" v=DKIM1 ;\tk = rsa; p=AB CD\r\n EF ;")
    assert tags == [("v", "DKIM1"), ("k", "rsa"), ("p", "AB CD\r\n EF")]


@pytest.mark.parametrize(("text", "code"), [
    ("", "empty"), ("  ; ;", "empty"), ("p", "syntax"), ("1x=a", "syntax"), ("p=a;p=b", "duplicate-tag"),
    ("n=caf\u00e9", "syntax"),
])
def test_tag_list_errors(text: str, code: str) -> None:
    with pytest.raises(DkimKeyError) as info:
        parse_tag_list(text)
    assert info.value.code == code


# -- key records ------------------------------------------------------------------------------------


def test_rsa_2048_spki() -> None:
    key = parse_dkim_key(f"v=DKIM1; k=rsa; p={rsa_b64(2048)}")
    assert (key.key_type, key.key_bits, key.key_format) == ("rsa", 2048, "spki")
    assert key.version == "DKIM1" and not key.revoked and not key.testing and key.for_email
    assert key.sha256_allowed and key.hashes is None and key.services == ("*",)


def test_rsa_bare_rsapublickey_form_is_read_too() -> None:
    key = parse_dkim_key(f"p={rsa_b64(1024, 'pkcs1')}")
    assert (key.key_type, key.key_bits, key.key_format) == ("rsa", 1024, "pkcs1")


def test_key_split_over_strings_with_spaces_is_accepted() -> None:
    b64 = rsa_b64(2048)
    key = parse_dkim_key(f"v=DKIM1; p={b64[:100]} {b64[100:200]}\t{b64[200:]}")
    assert key.key_bits == 2048


def test_ed25519_raw_key() -> None:
    key = parse_dkim_key(f"v=DKIM1; k=ed25519; p={ed_b64()}")
    assert (key.key_type, key.key_bits, key.key_format) == ("ed25519", 256, "raw")


def test_ed25519_in_spki_wrapper_is_rejected() -> None:
    spki = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(DkimKeyError) as info:
        parse_dkim_key("v=DKIM1; k=ed25519; p=" + base64.b64encode(spki).decode())
    assert info.value.code == "bad-key" and "32 raw key bytes" in info.value.message


def test_ed25519_key_labelled_rsa_is_rejected() -> None:
    spki = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(DkimKeyError) as info:
        parse_dkim_key("v=DKIM1; p=" + base64.b64encode(spki).decode())
    assert info.value.code == "bad-key" and "k=ed25519" in info.value.message


def test_revoked_key_is_not_an_error() -> None:
    key = parse_dkim_key("v=DKIM1; p=")
    assert key.revoked and key.key_bits is None and key.public_key == b""


def test_flags_hashes_services() -> None:
    key = parse_dkim_key(f"v=DKIM1; h=sha1; s=email:other; t=y:s; n=hello; p={rsa_b64(2048)}")
    assert key.hashes == ("sha1",) and not key.sha256_allowed
    assert key.testing and key.strict and key.for_email and key.notes == "hello"
    assert not parse_dkim_key(f"s=other; p={rsa_b64(2048)}").for_email
    assert parse_dkim_key(f"h=sha1:sha256; p={rsa_b64(2048)}").sha256_allowed


def test_without_testing_flag_keeps_other_flags_and_order() -> None:
    b64 = rsa_b64(2048)
    assert parse_dkim_key(f"v=DKIM1; t=y; k=rsa; p={b64[:50]} {b64[50:]}").without_testing_flag() == \
        f"v=DKIM1; k=rsa; p={b64}"
    assert parse_dkim_key(f"v=DKIM1; t=s:y; p={b64}").without_testing_flag() == f"v=DKIM1; t=s; p={b64}"


@pytest.mark.parametrize(("text", "code"), [
    ("v=spf1 include:_spf.example.net -all", "not-dkim"),
    ("v=DMARC1; p=reject", "not-dkim"),
    ("google-site-verification=abc123", "not-dkim"),
    ("hello world", "not-dkim"),
    ("v=DKIM2; p=", "bad-version"),
    ("k=rsa; v=DKIM1; p=", "bad-version"),
    ("v=DKIM1; k=rsa", "missing-key"),
    ("v=DKIM1; k=dsa; p=AAAA", "unknown-key-type"),
    ("v=DKIM1; p=not*base64!", "bad-base64"),
    ("v=DKIM1; p=QUJD", "bad-key"),
    ("v=DKIM1; k=ed25519; p=QUJD", "bad-key"),
    ("v=DKIM1; p=====", "bad-base64"),
])
def test_key_errors(text: str, code: str) -> None:
    with pytest.raises(DkimKeyError) as info:
        parse_dkim_key(text)
    assert info.value.code == code


def test_describe_foreign_record() -> None:
    assert describe_foreign_record("v=spf1 -all") == "an SPF record"
    assert describe_foreign_record("v=DMARC1; p=none") == "a DMARC record"
    assert describe_foreign_record("v=DKIM1; p=") is None


# -- the conformance keys (dkimpy's test data) -------------------------------------------------------


def test_conformance_key_files() -> None:
    folder = conformance_dir("dkim", "dkimpy")
    read = lambda name: (folder / name).read_text().strip()  # noqa: E731
    assert parse_dkim_key(read("test.txt")).key_bits == 1024
    assert parse_dkim_key(read("test2.txt")).key_type == "rsa"  # k= omitted: rsa by default
    assert parse_dkim_key(read("ed25519test.dns")).key_type == "ed25519"
    assert parse_dkim_key(read("eximtest.dns")).key_bits == 256
    for name, code in (("badk.txt", "unknown-key-type"), ("badversion.txt", "bad-version"),
                       ("test_bad.txt", "bad-key")):
        with pytest.raises(DkimKeyError) as info:
            parse_dkim_key(read(name))
        assert info.value.code == code, name


def test_conformance_cases_dns_records_parse() -> None:
    import yaml

    cases = yaml.safe_load((conformance_dir("dkim") / "cases.yml").read_text())
    records = [rec for case in cases["verify"] for rec in (case.get("dns") or {}).values()]
    assert records, "cases.yml has DNS records"
    for rec in records:
        key = parse_dkim_key(rec)
        assert key.key_type in ("rsa", "ed25519") and not key.revoked


# -- selectors --------------------------------------------------------------------------------------


def test_catalog_has_the_provider_selectors() -> None:
    cat = load_catalog()
    names = [s.selector for s in cat.selectors]
    assert len(names) == len(set(names))
    for sel, provider in (("google", "Google Workspace"), ("selector1", "Microsoft 365"),
                          ("selector2", "Microsoft 365"), ("amazonses", "Amazon SES"), ("s1", "SendGrid"),
                          ("smtpapi", "SendGrid"), ("k1", "Mailchimp"), ("mte1", "Mailchimp Transactional (Mandrill)"),
                          ("mailo", "Mailgun"), ("zmail", "Zoho Mail"), ("fm3", "Fastmail"), ("pm", "Postmark"),
                          ("protonmail3", "Proton Mail"), ("sig1", "iCloud Mail (custom domain)")):
        info = cat.info(sel)
        assert info is not None and info.provider_name == provider, sel
    for generic in ("default", "dkim", "mail", "key1", "key2", "dk", "email", "everlytickey1", "mxvault"):
        assert generic in names
    assert cat.provider_for_cname("selector1-example-com._domainkey.example.onmicrosoft.com").name == "Microsoft 365"  # type: ignore[union-attr]
    assert cat.provider_for_cname("abc._domainkey.dkim.amazonses.com.").name == "Amazon SES"  # type: ignore[union-attr]
    assert cat.provider_for_cname("key.example.org") is None


@pytest.mark.parametrize(("text", "expected"), [
    ("google", "google"), (" S=Google; ", "google"), ("google._domainkey", "google"),
    ("selector1._domainkey.example.com.", "selector1"), ("2024.mail", "2024.mail"), ("abc def", None),
    ("", None), ("-bad", None), ("x" * 64, None),
])
def test_normalize_selector(text: str, expected: str | None) -> None:
    assert normalize_selector(text) == expected


# -- never raise anything but the parser's own error ------------------------------------------------

_dkimish = st.lists(
    st.sampled_from(["v=DKIM1", "k=rsa", "k=ed25519", "p=", "p=QUJD", "h=sha1", "t=y", "s=email", ";", " ",
                     "=", "p=" + rsa_b64(1024)[:60], "\u00e9", "v=spf1"]) | st.text(max_size=8),
    max_size=8).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | _dkimish)
def test_parsers_never_raise_anything_else(text: str) -> None:
    try:
        parse_tag_list(text)
    except DkimKeyError:
        pass
    try:
        key = parse_dkim_key(text)
        key.without_testing_flag()
    except DkimKeyError:
        pass
    describe_foreign_record(text)
    normalize_selector(text)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=600))
def test_key_parser_survives_arbitrary_key_bytes(data: bytes) -> None:
    b64 = base64.b64encode(data).decode()
    for k in ("rsa", "ed25519"):
        try:
            parse_dkim_key(f"v=DKIM1; k={k}; p={b64}")
        except DkimKeyError:
            pass
