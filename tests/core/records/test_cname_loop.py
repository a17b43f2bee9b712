"""records/cname_loop.py: a name whose CNAMEs loop or chain on is "couldn't check" in words that say what to
change and whose DNS it is in, never "try again later"."""

from __future__ import annotations

from inboxready.core.dns.client import CHAIN_ERROR, LOOP_ERROR, DnsAnswer, Outcome
from inboxready.core.records.cname_loop import broken_chain, loop_names, loop_summary, loop_words


def _loop(*names: str) -> DnsAnswer:
    return DnsAnswer(names[0], "TXT", Outcome.ERROR, error=f"{LOOP_ERROR} ({' → '.join(names)})")


def test_a_loop_in_your_own_dns_names_the_cname_that_points_back() -> None:
    a = _loop("_dmarc.x.test", "_d2.x.test", "_d3.x.test", "_d2.x.test")
    assert broken_chain(a) and loop_names(a)[-2:] == ["_d3.x.test", "_d2.x.test"]
    words = loop_words(a, "x.test")
    assert "in your DNS" in words and "CNAME record at _d3.x.test, which points back to _d2.x.test" in words
    assert "try again" not in words.lower() and "Waiting won't fix it" in words
    assert "the CNAME record at _d3.x.test points back to _d2.x.test" in loop_summary(a, "x.test")


def test_a_loop_through_a_service_names_your_own_cname_and_one_outside_names_its_owner() -> None:
    mixed = _loop("s1._domainkey.x.test", "s1.dkim.provider.net", "s1._domainkey.x.test")
    words = loop_words(mixed, "x.test")
    assert "your CNAME record at s1._domainkey.x.test points to s1.dkim.provider.net" in words
    assert "in your DNS" not in words
    theirs = _loop("_dmarc.x.test.", "a.other.net", "b.other.net", "a.other.net")
    words = loop_words(theirs, "x.test")
    assert "by whoever runs b.other.net" in words and "your DNS" not in words
    assert "point your CNAME record at _dmarc.x.test" in words and "leads back" not in words
    assert "in the DNS of b.other.net" in loop_summary(theirs, "x.test")


def test_a_chain_too_long_and_other_failures() -> None:
    chain = DnsAnswer("_dmarc.x.test", "TXT", Outcome.ERROR, cname_chain=("a.x.test", "b.x.test"), error=CHAIN_ERROR)
    assert "Waiting won't fix it" in loop_words(chain, "x.test") and loop_names(chain) == []
    timeout = DnsAnswer("_dmarc.x.test", "TXT", Outcome.TIMEOUT, error="no answer")
    assert not broken_chain(timeout) and loop_words(timeout, "x.test") == "" and loop_summary(timeout, "x") == ""
