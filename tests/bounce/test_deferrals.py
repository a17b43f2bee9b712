"""A 4xx is a temporary deferral (the sending server retries), never explained as a refusal; a known
greylisting / "try again later" phrase says so, and no DNS check is asked for (issue g10 item 2)."""

from __future__ import annotations

import re

import pytest

from inboxready.core.bounce import analyze_bounce, classify, load_rules
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.context import CheckOptions

from ..conftest import run
from .dsnmaker import DOMAIN, postfix_dsn, returned_headers

REFUSAL = re.compile(r"\b(?:refused|refuses|rejected|rejects) (?:the |your )?(?:message|mail|connection|it)\b", re.I)


def _report(raw: bytes | str, server: DnsTestServer | None = None):  # type: ignore[no-untyped-def]
    opts = CheckOptions(nameservers=[server.address] if server else ["127.0.0.1:9"], timeout=1.0, deadline=10.0)
    return run(analyze_bounce(raw, options=opts))


@pytest.mark.parametrize("text", [
    "451 4.7.1 Please try again later (TEMPFAIL)",
    "host mx.receiver.example[192.0.2.25] said: 451 4.7.1 Please try again later (TEMPFAIL) (in reply to RCPT TO command)",
    "451 4.7.1 Greylisting in action, please come back later",
    "450 4.2.0 <dave@receiver.example>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/receiver.example.html",
])
def test_greylisting_is_a_deferral_with_nothing_to_fix(text: str) -> None:
    r = _report(text)
    assert r.permanent is False and r.bounced
    assert r.headline.startswith("Temporary failure")
    e = r.explanation
    assert "temporary failure (4xx), not a refusal" in e and "retries it by itself" in e
    assert "greylisting" in e.lower() and "Nothing to fix" in e
    assert not REFUSAL.search(e) and "under its own policy" not in e
    assert r.classification.category == "other" and not r.checks and r.exit_code == 0


def test_an_other_4_7_1_is_held_back_for_now_not_refused() -> None:
    r = _report("451 4.7.1 <dave@receiver.example>: Recipient address rejected: Access denied")
    assert r.classification.rule is not None and r.classification.rule.id == "rfc-4.7.1"
    assert "holding the message back for now" in r.explanation and not REFUSAL.search(r.explanation)
    r5 = _report("550 5.7.1 <dave@receiver.example>: Recipient address rejected: Access denied")
    assert r5.classification.rule is not None and r5.classification.rule.id == "rfc-5.7.1"
    assert "refused the message under its own policy" in r5.explanation and "4xx" not in r5.explanation


@pytest.mark.parametrize("rule", load_rules(), ids=[r.id for r in load_rules()])
def test_no_rule_reads_a_4xx_as_a_refusal(rule) -> None:  # type: ignore[no-untyped-def]
    """Every path a 4xx can take through the rules: a rule's 4.x.x codes, or its words under a 451 (with the
    4.x.x twin of its 5.x.x codes). Whatever rule the classifier picks for it, the meaning is no refusal.
    (Before: a rule with only 5.x.x codes, or one whose words another rule matched, asserted nothing.)"""
    temporary = ([s for s in rule.status if s.startswith("4")]
                 or ["4" + s[1:] for s in rule.status if s.startswith("5")] or ["4.7.0"])
    for status in temporary:
        c = classify(status=status, reply="451", words=rule.example,
                     provider=None if rule.provider == "any" else rule.provider, code="".join(rule.provider_code[:1]))
        assert not REFUSAL.search(c.meaning), (rule.id, status, c.rule.id if c.rule else None, c.meaning)


def test_a_deferral_your_server_gave_up_on_and_a_delay_notice() -> None:
    gave_up = postfix_dsn("451 4.7.1 Please try again later", recipient="dave@receiver.example",
                          remote_mta="mx.receiver.example", action="failed", headers=returned_headers())
    r = _report(gave_up)
    assert r.permanent is False and "given up retrying" in r.explanation and "send it again" in r.explanation
    delayed = postfix_dsn("451 4.7.1 Please try again later", recipient="dave@receiver.example",
                          remote_mta="mx.receiver.example", action="delayed", headers=returned_headers())
    r2 = _report(delayed)
    assert r2.headline.startswith("Delayed") and "delay notice, not a bounce" in r2.explanation
    assert r.from_domain == DOMAIN


def test_a_permanent_failure_gets_no_deferral_words() -> None:
    r = _report("550 5.7.26 Unauthenticated email from shop.example is not accepted due to domain's DMARC policy")
    assert "4xx" not in r.explanation and "retries" not in r.explanation
