"""SPF record parser and macro-strings: positions, plain-English errors, and fuzzing."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxready.core.records.spf_macro import (
    MacroContext, SpfSyntaxError, expand_macro_string, is_valid_domain_name, parse_macro_string, truncate_domain,
)
from inboxready.core.records.spf_parse import (
    Mechanism, Modifier, is_spf_record, parse_record, parse_record_lenient, parse_term,
)


@pytest.mark.parametrize("text,ok", [
    ("v=spf1", True), ("v=spf1 -all", True), ("V=SpF1 ~all", True), ("v=spf10", False), ("v=spf1-all", False),
    (" v=spf1 -all", False), ("spf2.0/pra -all", False), ("", False), ("v=spf1\t-all", False),
])
def test_version_detection(text: str, ok: bool) -> None:
    assert is_spf_record(text) is ok


def test_terms_have_positions_and_parts() -> None:
    text = "v=spf1  +a:mail.example.com/24//64 ~mx ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.x.test " \
           "ptr exists:%{i}.bl.example.com redirect=_spf.example.com exp=why.%{d} v2=x -all"
    rec = parse_record(text)
    for t in rec.terms:
        assert text[t.start:t.end] == t.text
    a = rec.terms[0]
    assert isinstance(a, Mechanism)
    assert (a.kind, a.qualifier, a.domain_spec, a.ip4_cidr, a.ip6_cidr, a.start) == \
        ("a", "+", "mail.example.com", 24, 64, 8)
    assert rec.terms[1].result == "softfail"  # type: ignore[union-attr]
    ip4 = rec.terms[2]
    assert isinstance(ip4, Mechanism) and ip4.network == ipaddress.ip_network("192.0.2.0/24")
    assert rec.redirect is not None and rec.redirect.value == "_spf.example.com"
    assert rec.exp is not None and rec.exp.value == "why.%{d}"
    assert [m.name for m in rec.unknown_modifiers] == ["v2"]
    assert rec.all is not None and rec.all.result == "fail"
    assert rec.effective_redirect is None  # ignored because of -all
    assert rec.lookup_count == 5  # a, mx, include, ptr, exists
    assert [t["kind"] for t in rec.to_json()["terms"]][-3:] == ["modifier", "modifier", "mechanism"]


@pytest.mark.parametrize("record,position,words", [
    ("v=spf1 ip4:192.0.2 -all", 7, "the term 'ip4:192.0.2' at character 8 is not a valid IPv4 address (all four"),
    ("v=spf1 mx ip4:8.8.8.8~all", 10, "is a space missing before '~all'?"),
    ("v=spf1 ip4:1.2.3.4:8080", 7, "a port number is not allowed"),
    ("v=spf1 ip4:relay.example.net", 7, "use a:relay.example.net"),
    ("v=spf1 ip6:192.0.2.1", 7, "use ip4:192.0.2.1"),
    ("v=spf1 ip4:1.2.3.4/33", 7, "'/33'"),
    ("v=spf1 ip4:1.2.3.4/032", 7, "without leading zeros"),
    ("v=spf1 a:111.222.33.44", 7, "use ip4:111.222.33.44"),
    ("v=spf1 a:museum", 7, "needs at least one dot"),
    ("v=spf1 a:abc.123", 7, "cannot be all digits"),
    ("v=spf1 a/24/64", 7, "invalid prefix length"),
    ("v=spf1 include:", 7, "has nothing after the separator"),
    ("v=spf1 include", 7, "needs a domain after a colon"),
    ("v=spf1 -all/8", 7, "'all' takes nothing after it"),
    ("v=spf1 ptr/0", 7, "'ptr' takes no prefix length"),
    ("v=spf1 moo -all", 7, "is not something SPF understands"),
    ("v=spf1 redirect:x.example", 7, "is written with '='"),
    ("v=spf1 ?redirect=x.example", 7, "qualifier"),
    ("v=spf1 exp=a.example exp=b.example", 21, "appears twice"),
    ("v=spf1 exists:%{x}.example", 14, "unknown letter 'x'"),
    ("v=spf1 exists:%{s0}", 14, "0 parts"),
    ("v=spf1 a:%{c}.example", 9, "only be used in explanation"),
    ("v=spf1 a:foo%.example.com", 12, "'%.'"),
    ("v=spf1 a:ctrl.example.com\rptr", 7, "control character"),
    ("v=spf1 a:\ufeffgarbage.example.net", 7, "non-ASCII"),
    ("v=spf2 -all", 0, "must start with exactly 'v=spf1'"),
])
def test_syntax_errors_are_plain_and_located(record: str, position: int, words: str) -> None:
    with pytest.raises(SpfSyntaxError) as info:
        parse_record(record)
    assert words in str(info.value)
    assert info.value.position == position


def test_lenient_parse_collects_every_error() -> None:
    rec = parse_record_lenient("v=spf1 ip4:1.2.3 mx moo include:_spf.example.com ~all")
    assert [e.term for e in rec.errors] == ["ip4:1.2.3", "moo"]
    assert [t.text for t in rec.terms] == ["mx", "include:_spf.example.com", "~all"]
    assert not rec.valid


def test_domain_spec_edge_cases() -> None:
    assert parse_term("a:foo:bar/baz.example.com").domain_spec == "foo:bar/baz.example.com"  # type: ignore[union-attr]
    assert parse_term("a:foo.example.xn--zckzah").domain_spec == "foo.example.xn--zckzah"  # type: ignore[union-attr]
    assert parse_term("a:mail.example...com").domain_spec == "mail.example...com"  # type: ignore[union-attr]
    assert parse_term("exists:%{i}._spf.%{d}").domain_spec == "%{i}._spf.%{d}"  # type: ignore[union-attr]
    assert parse_term("a:x.1-2").domain_spec == "x.1-2"  # type: ignore[union-attr]
    assert parse_term("exists:a.b%%").domain_spec == "a.b%%"  # type: ignore[union-attr]
    mod = parse_term("moo.cow-far_out=man:dog/cat")
    assert isinstance(mod, Modifier) and mod.name == "moo.cow-far_out"
    for bad in ("a:example.-com", "a:example.com:8080", "mx:foo.example.com\x00", "exists:%{l1r+}._.",
                "exists:%{l1r+}.bad-.", "include:ip5.example.com/24", "exp=-all", "redirect="):
        with pytest.raises(SpfSyntaxError):
            parse_term(bad)


CTX = MacroContext(sender="strong-bad@email.example.com", domain="email.example.com",
                   ip=ipaddress.ip_address("192.0.2.3"), helo="mx.example.org", receiver="mx.receiver.test",
                   validated="mx.example.org", timestamp=1700000000)


@pytest.mark.parametrize("macro,expected", [
    ("%{s}", "strong-bad@email.example.com"), ("%{o}", "email.example.com"), ("%{d2}", "example.com"),
    ("%{dr}", "com.example.email"), ("%{l-}", "strong.bad"), ("%{l1r-}", "strong"),
    ("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"), ("%{h}", "mx.example.org"),
    ("%{p}", "mx.example.org"), ("%%%_%-", "% %20"), ("%{L}", "strong-bad"),
    ("%{S}", "strong-bad%40email.example.com"), ("%{d99999999999}", "email.example.com"),
    ("%{l+-}", "strong.bad"), ("%{dR}", "com.example.email"),
])
def test_macro_expansion(macro: str, expected: str) -> None:
    assert expand_macro_string(macro, CTX) == expected


def test_explanation_only_letters() -> None:
    assert expand_macro_string("%{c} %{r} %{t}", CTX, explain=True) == "192.0.2.3 mx.receiver.test 1700000000"
    with pytest.raises(SpfSyntaxError):
        expand_macro_string("%{c}", CTX)
    with pytest.raises(SpfSyntaxError):
        expand_macro_string("a b", CTX)  # spaces only in explanations
    v6 = MacroContext(sender="a@b.example", domain="b.example", ip=ipaddress.ip_address("2001:db8::cb01"))
    assert expand_macro_string("%{c} %{v}", v6, explain=True) == "2001:db8::cb01 ip6"


def test_url_escaping_of_upper_case_macros() -> None:
    ctx = MacroContext(sender="~jack&jill=up-a_b3.c@e8.example.com", domain="e8.example.com",
                       ip=ipaddress.ip_address("192.0.2.1"))
    assert expand_macro_string("%{L}", ctx) == "~jack%26jill%3Dup-a_b3.c"


def test_domain_helpers() -> None:
    long = ".".join(["a" * 60] * 5) + ".example.com."
    t = truncate_domain(long)
    assert len(t) <= 253 and t.endswith("example.com") and not t.endswith(".")
    assert is_valid_domain_name("example.com") and not is_valid_domain_name("com")
    assert not is_valid_domain_name("a..example.com") and not is_valid_domain_name("[1.2.3.4]")
    assert not is_valid_domain_name("x" * 64 + ".example.com")
    assert is_valid_domain_name("localhost", multi_label=False)


# -- fuzzing: only SpfSyntaxError may escape -------------------------------------------------------

SPFISH = st.text(alphabet=st.sampled_from(list("v=spf1 -+~?allincludeamxptrip46exists:/%{}._-0123456789rdoshl"
                                               "RDOSHLredirectxp\x00\xe9\u2603")), max_size=80)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=120), SPFISH, SPFISH.map(lambda s: "v=spf1 " + s)))
def test_parser_raises_only_its_own_error(text: str) -> None:
    for fn in (parse_record, parse_record_lenient):
        try:
            fn(text)
        except SpfSyntaxError:
            pass
    try:
        parse_term(text.replace(" ", "") or "a")
    except SpfSyntaxError:
        pass
    is_spf_record(text)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=80), SPFISH), st.booleans())
def test_macro_expansion_raises_only_its_own_error(text: str, explain: bool) -> None:
    for ctx in (CTX, MacroContext(sender="", domain="", ip=ipaddress.ip_address("::1"))):
        try:
            out = expand_macro_string(text, ctx, explain=explain)
            assert isinstance(out, str)
        except SpfSyntaxError:
            pass
    try:
        parse_macro_string(text)
    except SpfSyntaxError:
        pass
    truncate_domain(text)
    is_valid_domain_name(text)
