"""The DMARC record parser: grammar, RFC 9989 vs RFC 7489 behaviour, and robustness on any text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxready.core.records.dmarc_parse import (
    DmarcSyntaxError, format_record, is_dmarc_record, looks_like_dmarc, parse_dmarc, parse_report_uri, tidy_dmarc,
)


@pytest.mark.parametrize("text, code", [
    ("", "empty"),
    ("   ", "empty"),
    ("v=spf1 -all", "spf-record"),
    ("p=none; v=DMARC1", "version-not-first"),
    ("v=dmarc1; p=none", "version-case"),
    ("v=DMARC1 p=none", "missing-separator"),
    ("v=DMARC2; p=none", "bad-version"),
    ("hello", "no-version"),
])
def test_not_a_dmarc_record(text: str, code: str) -> None:
    with pytest.raises(DmarcSyntaxError) as exc:
        parse_dmarc(text)
    assert exc.value.code == code and exc.value.message
    assert not is_dmarc_record(text)


def test_full_record_fields() -> None:
    r = parse_dmarc("v=DMARC1; p=Quarantine; sp=reject; np=reject; t=y; psd=n; adkim=S; aspf=r; "
                    "rua=mailto:a@example.com, mailto:b@example.net; ruf=mailto:f@example.com; fo=1:d;")
    assert r.valid and r.warnings == []
    assert (r.p, r.sp, r.np, r.t, r.psd, r.adkim, r.aspf) == ("quarantine", "reject", "reject", "y", "n", "s", "r")
    assert [u.address for u in r.rua] == ["a@example.com", "b@example.net"]
    assert [u.domain for u in r.rua] == ["example.com", "example.net"]
    assert r.fo == ["1", "d"] and r.testing and r.psd_flag == "n"
    assert r.tags["p"] == "Quarantine" and r.order[:2] == ["v", "p"]


def test_defaults_and_effective_tags() -> None:
    r = parse_dmarc("v=DMARC1; p=reject; sp=quarantine")
    eff = r.effective_tags()
    assert eff["np"] == ("quarantine", False) and eff["sp"] == ("quarantine", True)
    assert eff["adkim"] == ("r", False) and eff["psd"] == ("u", False) and eff["t"] == ("n", False)
    assert r.policy_for(subdomain=False) == "reject"
    assert r.policy_for(subdomain=True, exists=True) == "quarantine"
    assert r.policy_for(subdomain=True, exists=False) == "quarantine"
    assert parse_dmarc("v=DMARC1; p=reject; np=none").policy_for(subdomain=True, exists=False) == "none"


def test_whitespace_and_trailing_semicolon_are_tolerated() -> None:
    r = parse_dmarc("v = DMARC1 ;\tp\t=\treject ; rua = mailto:a@example.com ,\tmailto:b@example.com ;")
    assert r.valid and r.p == "reject" and len(r.rua) == 2


def test_leading_space_warns() -> None:
    r = parse_dmarc(" v=DMARC1; p=none; rua=mailto:a@example.com")
    assert r.valid and r.codes() == ["leading-whitespace"]


def test_historic_tags_are_kept_but_never_validated() -> None:
    r = parse_dmarc("v=DMARC1; p=reject; pct=abc; rf=whatever; ri=-5; rua=mailto:a@example.com")
    assert r.valid and r.historic == {"pct": "abc", "rf": "whatever", "ri": "-5"}
    assert r.codes() == ["historic-tag"] * 3
    assert "pct" not in r.effective_tags()


def test_invalid_policy_falls_back_to_none_only_with_valid_rua() -> None:
    with_rua = parse_dmarc("v=DMARC1; p=block; rua=mailto:a@example.com")
    assert not with_rua.valid and with_rua.fallback_policy == "none" and with_rua.policy_broken
    without = parse_dmarc("v=DMARC1; p=block")
    assert without.fallback_policy is None and set(without.codes()) == {"invalid-policy", "no-policy"}
    sp_bad = parse_dmarc("v=DMARC1; p=reject; np=nope; rua=mailto:a@example.com")
    assert sp_bad.fallback_policy == "none" and sp_bad.policy_for(subdomain=True, exists=False) == "none"


def test_missing_p() -> None:
    assert parse_dmarc("v=DMARC1; rua=mailto:a@example.com").codes() == ["p-missing"]
    assert parse_dmarc("v=DMARC1").codes() == ["no-policy"]


def test_fo_values() -> None:
    assert parse_dmarc("v=DMARC1; p=none; fo=0:1").codes() == ["fo-conflict"]
    for bad in ("fo=01", "fo=x", "fo=d:d", "fo=1:"):
        assert "invalid-value" in parse_dmarc(f"v=DMARC1; p=none; {bad}").codes(), bad


@pytest.mark.parametrize("uri, ok", [
    ("mailto:a@example.com", True),
    ("MAILTO:a@example.com", True),
    ("mailto:a@example.com!10m", True),
    ("mailto:a@example.com!10", True),
    ("mailto:a%2Bb@example.com", True),
    ("mailto:a@example.com?subject=x", True),
    ("https://reports.example.com/dmarc", True),
    ("mailto:a@example.com!", False),
    ("mailto:a@example.com!10p", False),
    ("mailto:a!b@example.com!10m", False),
    ("a@example.com", False),
    ("__mailto:a@example.com", False),
    ("mailto:", False),
    ("mailto:nobody", False),
    ("mailto:a@-bad-.com", False),
    ("mailto:a@localhost", False),
    ("mailto:a b@example.com", False),
    ("", False),
])
def test_report_uris(uri: str, ok: bool) -> None:
    if ok:
        u = parse_report_uri(uri)
        assert u.raw == uri and u.scheme in ("mailto", "https")
    else:
        with pytest.raises(DmarcSyntaxError) as exc:
            parse_report_uri(uri)
        assert exc.value.code == "invalid-uri"


def test_size_suffix_is_kept_apart() -> None:
    u = parse_report_uri("mailto:a@example.com!10G")
    assert u.uri == "mailto:a@example.com" and u.size == "10g" and u.domain == "example.com"


def test_looks_like_dmarc() -> None:
    assert looks_like_dmarc("v=dmarc1; p=none") and looks_like_dmarc(" V = DMARC1 p=none")
    assert not looks_like_dmarc("v=spf1 -all") and not looks_like_dmarc("google-site-verification=x")


def test_format_record() -> None:
    assert format_record([("p", "none"), ("rua", "mailto:a@example.com")]) == \
        "v=DMARC1; p=none; rua=mailto:a@example.com"


# -- robustness: only DmarcSyntaxError may escape ---------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_parse_dmarc_never_raises_anything_else(text: str) -> None:
    try:
        rec = parse_dmarc(text)
    except DmarcSyntaxError:
        return
    rec.effective_tags()
    rec.policy_for(subdomain=True, exists=False)


_TAG = st.sampled_from(["p", "sp", "np", "t", "psd", "adkim", "aspf", "rua", "ruf", "fo", "pct", "rf", "ri",
                        "v", "zz", "P", "", " p"])
_VALUE = st.one_of(st.text(max_size=20),
                   st.sampled_from(["none", "reject", "quarantine", "y", "n", "u", "r", "s", "0:1:d:s",
                                    "mailto:a@example.com!10m", "mailto:a@example.com,x", "100", ""]))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_TAG, st.sampled_from(["=", " = ", "", "=="]), _VALUE), max_size=8),
       st.sampled_from([";", " ; ", ";;", "\t;"]))
def test_parse_dmarc_structured_fuzz(tags: list[tuple[str, str, str]], sep: str) -> None:
    text = "v=DMARC1" + "".join(f"{sep}{k}{eq}{v}" for k, eq, v in tags)
    try:
        rec = parse_dmarc(text)
    except DmarcSyntaxError:
        return
    assert rec.tags["v"] == "DMARC1"
    if rec.valid:
        assert rec.fallback_policy in ("none", "quarantine", "reject")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_report_uri_never_raises_anything_else(text: str) -> None:
    try:
        parse_report_uri(text)
    except DmarcSyntaxError:
        pass


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_TAG, st.sampled_from(["=", " = ", "", "=="]), _VALUE), max_size=8),
       st.sampled_from([";", " ; ", ";;", "\t;", "; ;"]), st.booleans())
def test_tidy_keeps_what_receivers_apply_and_drops_only_tolerated_slips(tags: list[tuple[str, str, str]], sep: str,
                                                                         leading: bool) -> None:
    """tidy_dmarc (the fix offered for a slip receivers tolerate) changes nothing receivers apply: same
    effective tags, same report addresses, the same real mistakes; and no tolerated slip is left."""
    text = (" " if leading else "") + "v=DMARC1" + "".join(f"{sep}{k}{eq}{v}" for k, eq, v in tags)
    try:
        rec = parse_dmarc(text)
    except DmarcSyntaxError:
        return
    tidy = tidy_dmarc(text)
    if tidy is None:
        assert not rec.tolerated_errors and "leading-whitespace" not in rec.codes()
        return
    again = parse_dmarc(tidy)
    assert not again.tolerated_errors and "leading-whitespace" not in again.codes()
    assert {k: v for k, (v, _) in again.effective_tags().items()} == {
        k: v for k, (v, _) in rec.effective_tags().items()}
    assert [u.raw for u in again.rua] == [u.raw for u in rec.rua]
    assert [u.raw for u in again.ruf] == [u.raw for u in rec.ruf]
    assert sorted(e.code for e in again.serious_errors) == sorted(e.code for e in rec.serious_errors)


@pytest.mark.parametrize("text, tolerated", [
    ("v=DMARC1; p=reject;;", True),
    ("v=DMARC1; p=reject; junk", True),
    ("v=DMARC1; p=reject; rua=", True),
    ("v=DMARC1; p=reject; adkim=relaxed", True),
    ("v=DMARC1; p=reject; psd=unknown", True),
    ("v=DMARC1; p=reject; fo=x", True),  # fo= only matters with ruf=
    ("v=DMARC1; p=reject; fo=x; ruf=mailto:f@example.com", False),
    ("v=DMARC1; p=reject; adkim=strict", False),
    ("v=DMARC1; p=reject; t=yes", False),
    ("v=DMARC1; p=reject; rua mailto:a@example.com", False),
    ("v=DMARC1; p=reject; rua1=mailto:a@example.com", False),
    ("v=DMARC1; p=; rua=mailto:a@example.com", False),
    ("v=DMARC1; p=reject; p=reject", False),
])
def test_which_grammar_errors_receivers_tolerate(text: str, tolerated: bool) -> None:
    rec = parse_dmarc(text)
    assert rec.errors and all(e.tolerated is tolerated for e in rec.errors), rec.errors
