"""check_host(): results, explanations, limits and the trace (the RFC 7208 suite is in tests/conformance)."""

from __future__ import annotations

import pytest

from inboxready.core.dns.client import DnsClient
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.records.spf_eval import SpfEvaluation, check_helo, check_host
from tests.conftest import run

ZONE = """
@        300 IN TXT "v=spf1 ip4:192.0.2.0/24 include:_spf.example.com mx -all exp=why.example.com"
@        300 IN MX 10 mail.example.com.
mail     300 IN A 198.51.100.25
mail     300 IN AAAA 2001:db8::25
_spf     300 IN TXT "v=spf1 ip4:203.0.113.7 ~all"
why      300 IN TXT "%{i} is not allowed to send for %{d}; see https://example.com/spf?s=%{S}"
helo     300 IN TXT "v=spf1 a -all"
helo     300 IN A 192.0.2.99
loop     300 IN TXT "v=spf1 include:loop2.example.com -all"
loop2    300 IN TXT "v=spf1 include:loop.example.com -all"
slow     300 IN TXT "v=spf1 include:_spf.slow.example.com -all"
many     300 IN TXT "v=spf1 mx -all"
"""
MANY_MX = "".join(f"many 300 IN MX {i} m{i}.example.com.\nm{i} 300 IN A 10.0.0.{i}\n" for i in range(12))


def evaluate(server: DnsTestServer, ip: str, domain: str = "example.com", sender: str = "bob@example.com",
             **kw: object) -> SpfEvaluation:
    server.replace_zone("example.com", ZONE + MANY_MX)
    server.timeout_names.add("_spf.slow.example.com")

    async def go() -> SpfEvaluation:
        return await check_host(ip, domain, sender, dns=DnsClient([server.address], timeout=0.3), **kw)  # type: ignore[arg-type]

    return run(go())


def test_pass_by_ip4_and_json(dns_server: DnsTestServer) -> None:
    ev = evaluate(dns_server, "192.0.2.10")
    assert (ev.result, ev.mechanism) == ("pass", "ip4:192.0.2.0/24")
    assert set(ev.to_json()) == {"result", "explanation", "mechanism", "reason", "trace"}
    assert ev.trace[0].startswith("check_host(ip=192.0.2.10")
    assert "listed" in ev.explanation


def test_include_softfail_does_not_match_and_mx_matches_v6(dns_server: DnsTestServer) -> None:
    ev = evaluate(dns_server, "2001:db8::25")
    assert (ev.result, ev.mechanism) == ("pass", "mx")
    assert any("include:_spf.example.com gave softfail" in t for t in ev.trace)


def test_the_trace_has_a_line_for_every_term_that_did_not_match(dns_server: DnsTestServer) -> None:
    """`spf --ip` shows each step: 'mx' that did not match has its line, as an include has (was: no line)."""
    ev = evaluate(dns_server, "203.0.113.99")
    lines = [t.strip() for t in ev.trace]
    assert "'ip4:192.0.2.0/24': no match" in lines and "'mx': no match" in lines
    assert lines.index("'ip4:192.0.2.0/24': no match") < lines.index("include:_spf.example.com") \
        < lines.index("'mx': no match") < lines.index("'-all' matched: fail")
    assert "'include:_spf.example.com': no match" not in lines  # its 'gave softfail' says it


def test_ipv4_mapped_address_is_ipv4(dns_server: DnsTestServer) -> None:
    assert evaluate(dns_server, "::ffff:192.0.2.10").result == "pass"


def test_fail_uses_exp_text_with_macros(dns_server: DnsTestServer) -> None:
    ev = evaluate(dns_server, "203.0.113.99", sender="Alice+x@example.com")
    assert (ev.result, ev.mechanism) == ("fail", "-all")
    assert ev.explanation == ("203.0.113.99 is not allowed to send for example.com; "
                              "see https://example.com/spf?s=Alice%2Bx%40example.com")
    assert ev.exp_text == ev.explanation


def test_helo_check(dns_server: DnsTestServer) -> None:
    dns_server.replace_zone("example.com", ZONE)

    async def go() -> tuple[SpfEvaluation, SpfEvaluation]:
        client = DnsClient([dns_server.address], timeout=0.5)
        return (await check_helo("192.0.2.99", "helo.example.com", dns=client),
                await check_helo("192.0.2.98", "helo.example.com", dns=client))

    ok, bad = run(go())
    assert (ok.result, ok.mechanism, ok.domain) == ("pass", "a", "helo.example.com")
    assert bad.result == "fail" and bad.exp_text is None


def test_none_permerror_temperror(dns_server: DnsTestServer) -> None:
    assert evaluate(dns_server, "192.0.2.1", domain="nothing.example.com").result == "none"
    assert evaluate(dns_server, "192.0.2.1", domain="localhost").result == "none"
    loop = evaluate(dns_server, "192.0.2.1", domain="loop.example.com")
    assert loop.result == "permerror" and "loops back" in loop.explanation
    slow = evaluate(dns_server, "192.0.2.1", domain="slow.example.com")
    assert slow.result == "temperror" and "temporary" in slow.explanation


def test_mx_limit_is_applied_when_reached(dns_server: DnsTestServer) -> None:
    assert evaluate(dns_server, "10.0.0.3", domain="many.example.com").result == "pass"
    over = evaluate(dns_server, "10.0.0.11", domain="many.example.com")
    assert over.result == "permerror" and "more than 10 mail servers" in over.explanation


def test_bad_ip_is_a_value_error(dns_server: DnsTestServer) -> None:
    with pytest.raises(ValueError):
        evaluate(dns_server, "not-an-ip")
