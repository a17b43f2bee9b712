"""QA: the repair helpers added for real-world records never raise on arbitrary text, and what they
return is always a valid record of their kind."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from inboxready.core.checks import spf
from inboxready.core.records import dkim_key
from inboxready.core.records.dmarc_parse import DmarcSyntaxError, parse_dmarc, parse_report_uri, repair_dmarc
from inboxready.core.records.spf_parse import parse_record

TEXT = st.text(max_size=200)
RECORDISH = st.one_of(TEXT, st.builds(lambda q, body, q2: f"{q}{body}{q2}", st.sampled_from(['"', "'", "", ' "']),
                                      st.sampled_from(["v=DMARC1; p=none", "v=dmarc1 p=reject", "v=spf1 -all",
                                                       "v=DKIM1; p=", "v=spf1\tmx ~all"]),
                                      st.sampled_from(['"', "'", "", '" '])))


@settings(max_examples=300, deadline=None)
@given(RECORDISH)
def test_repair_dmarc_returns_a_record_or_none(text: str) -> None:
    out = repair_dmarc(text)
    if out is not None:
        parse_dmarc(out)  # raises if not a DMARC record


@settings(max_examples=300, deadline=None)
@given(RECORDISH)
def test_repair_dkim_key_returns_a_key_or_none(text: str) -> None:
    out = dkim_key.repair_dkim_key(text)
    if out is not None:
        dkim_key.parse_dkim_key(out)


@settings(max_examples=300, deadline=None)
@given(RECORDISH)
def test_spf_repairs_return_a_record_or_none(text: str) -> None:
    for out in (spf._repair_lookalike(text), spf._whitespace_repair(text)):
        if out is not None:
            parse_record(out)
    spf._starts_with_term_name(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=60), min_size=1, max_size=4))
def test_spf_boundary_repair_never_raises(parts: list[str]) -> None:
    out = spf._boundary_repair(tuple(p.encode("utf-8") for p in parts))
    if out is not None:
        parse_record(out)


@settings(max_examples=300, deadline=None)
@given(st.builds(lambda a, b: f"mailto:{a}@{b}", TEXT, TEXT) | TEXT)
@example("mailto:.@0.0.")  # a lone dot is no mailbox name: refused, not kept with its ".@"
def test_report_uri_raises_only_its_own_error(text: str) -> None:
    try:
        u = parse_report_uri(text)
    except DmarcSyntaxError:
        return
    if u.trailing_dot:
        assert not (u.domain or "").endswith(".") and "." + "@" not in u.uri
