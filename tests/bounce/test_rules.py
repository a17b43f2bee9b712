"""The reviewed rules file: every rule is sourced and dated, and each one classifies a bounce built from the
provider's own wording (in several forms: a standard DSN, a non-standard bounce, the pasted error text)."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from inboxready.core.bounce import CATEGORIES, classify, detect_provider, load_rules, read_bounce
from inboxready.core.bounce.rules import provider_code
from inboxready.core.checks.registry import CHECKS
from inboxready.core.context import ALL_CHECKS

from .dsnmaker import PLACES, exim_bounce, fill, postfix_dsn, smtp_reply

RULES = load_rules()
RAW = json.loads(resources.files("inboxready.core.rules").joinpath("bounce_codes.json").read_text("utf-8"))


def _classified(raw: bytes | str):  # type: ignore[no-untyped-def]
    b = read_bounce(raw)
    m = b.main
    assert m is not None, "no delivery status was read"
    words = m.diagnostic
    provider = detect_provider(words, m.remote_mta, m.recipient)
    c = classify(status=m.status, reply=m.reply_code, words=words, provider=provider, code=provider_code(words))
    return b, c, provider


def _same(got, rule) -> bool:  # type: ignore[no-untyped-def]
    """The rule itself, or (for a generic rule) another generic rule that says the same thing."""
    if got.rule is not None and got.rule.id == rule.id:
        return True
    return (rule.provider == "any" and got.rule is not None and got.rule.provider == "any"
            and got.category == rule.category and got.part == rule.part)


def test_every_rule_is_reviewed() -> None:
    assert RAW["checked"] == "2026-12-07" and len(RULES) >= 60
    ids = [r["id"] for r in RAW["rules"]]
    assert len(ids) == len(set(ids))
    checks = set(ALL_CHECKS) | set(CHECKS)
    for r in RAW["rules"]:
        assert r["source"].startswith(("https://", "http://")), r["id"]
        assert r["checked"] == "2026-12-07", r["id"]
        assert r["confidence"] in ("confirmed", "reported", "unconfirmed"), r["id"]
        assert r["wording"] in ("exact", "approximate"), r["id"]
        assert r["category"] in CATEGORIES, r["id"]
        assert set(r["checks"]) <= checks, r["id"]
        assert r["meaning"].strip() and r["action"].strip() and r["example"].strip(), r["id"]
        assert r["status"] or r["provider_code"] or r["pattern"] or r["reply"], f"{r['id']} matches everything"
        if r["category"] == "authentication":
            assert r["part"], r["id"]
        if r["category"] in ("mailbox", "content", "tls"):
            assert not r["checks"], f"{r['id']}: no DNS record fixes a {r['category']} bounce"
    for p in RAW["providers"].values():
        assert p["source"].startswith("https://") and p["checked"] == "2026-12-07"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_each_rule_classifies_a_dsn_in_the_providers_wording(rule) -> None:  # type: ignore[no-untyped-def]
    recipient, remote = PLACES[rule.provider]
    text = fill(rule.example, recipient=recipient)
    raw = postfix_dsn(text, recipient=recipient, remote_mta=remote)
    b, c, provider = _classified(raw)
    assert _same(c, rule), (rule.id, c.rule.id if c.rule else None)
    assert c.category == rule.category
    main = b.main
    assert main is not None and main.recipient == recipient and main.failed
    assert provider == (None if rule.provider == "any" else rule.provider)
    if text[:1] in "45" and re.match(r"\d{3}", text):
        assert main.permanent is (text[0] == "5")
    # the receiver's words come back whole, without the SMTP continuation prefixes
    if re.match(r"\d{3}[ -]", text):
        assert main.reply_code == text[:3] and f"{main.reply_code}-" not in main.diagnostic
    assert b.facts.from_domain == "shop.example"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_each_rule_classifies_a_non_standard_bounce(rule) -> None:  # type: ignore[no-untyped-def]
    recipient, _remote = PLACES[rule.provider]
    text = fill(rule.example, recipient=recipient)
    b, c, _provider = _classified(exim_bounce(text, recipient=recipient))
    assert c.category == rule.category, (rule.id, c.rule.id if c.rule else None)
    assert b.main is not None and b.main.recipient == recipient
    assert b.returned is not None and b.facts.from_domain == "shop.example"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_each_rule_classifies_the_pasted_error_text(rule) -> None:  # type: ignore[no-untyped-def]
    """Only the error text, as admins paste it into forums: the category never depends on knowing more."""
    recipient, _remote = PLACES[rule.provider]
    text = smtp_reply(fill(rule.example, recipient=recipient))
    b, c, _provider = _classified(text)
    assert b.form == "smtp-text"
    assert c.category == rule.category, (rule.id, c.rule.id if c.rule else None)


def test_an_unknown_code_is_shown_as_it_is_never_guessed_into_authentication() -> None:
    b, c, _ = _classified("550 5.7.99 Rejected by rule 4711 (ref abc)")
    assert c.rule is None and c.category == "other" and not c.checks
    assert b.main is not None and b.main.status == "5.7.99"
    assert "don't know this code" in c.meaning and "security or policy" in c.meaning
    b2, c2, _ = _classified("554 Transaction failed, reference 12345")
    assert c2.rule is None and c2.category == "other"
    assert b2.main is not None and b2.main.reply_code == "554" and b2.main.permanent is True


def test_a_provider_code_reuse_follows_the_provider() -> None:
    """5.7.27 is SPF at Gmail, 'sender address has null MX' elsewhere (RFC 7505); 5.1.10 is 'not found' at
    Microsoft, 'recipient has null MX' elsewhere."""
    gmail = postfix_dsn("550 5.7.27 SPF did not pass", recipient="alice@gmail.com",
                        remote_mta="gmail-smtp-in.l.google.com")
    other = postfix_dsn("550 5.7.27 Sender address has null MX", recipient="dave@receiver.example",
                        remote_mta="mx.receiver.example")
    assert _classified(gmail)[1].part == "spf"
    assert _classified(other)[1].rule.id == "rfc-5.7.27-null-mx"  # type: ignore[union-attr]
    ms = postfix_dsn("550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
                     recipient="bob@contoso.example", remote_mta="contoso-example.mail.protection.outlook.com")
    got = _classified(ms)
    assert got[2] == "microsoft" and got[1].rule.id == "microsoft-recipient-not-found"  # type: ignore[union-attr]


def test_a_relayed_gmail_rejection_in_a_microsoft_ndr_is_gmails() -> None:
    from .dsnmaker import microsoft_ndr

    rule = next(r for r in RULES if r.id == "google-dmarc-policy")
    raw = microsoft_ndr(fill(rule.example), recipient="alice@gmail.com", remote_mta="gmail-smtp-in.l.google.com")
    _b, c, provider = _classified(raw)
    assert provider == "google" and c.rule is not None and c.rule.id == "google-dmarc-policy"


def test_provider_codes() -> None:
    assert provider_code("421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred") == "TSS04"
    assert provider_code("550 5.7.708 Service unavailable. ... AS(7171)") == "AS(7171)"
    assert provider_code("550 5.1.10 RESOLVER.ADR.RecipientNotFound; not found") == "RESOLVER.ADR.RecipientNotFound"
    assert provider_code("550 5.1.1 user unknown") == ""


@pytest.mark.parametrize("text, category, provider", [
    ("550 5.7.1 Unfortunately, messages from [192.0.2.55] weren't sent. Please contact your Internet service provider "
     "since part of their network is on our block list (OU-002). You can also refer your provider to "
     "http://mail.live.com/mail/troubleshooting.aspx", "reputation", "microsoft"),
    ("550 SC-001 (BAY004-MC1F33) Unfortunately, messages from 192.0.2.55 weren't sent. Please contact your Internet "
     "service provider since part of their network is on our block list.", "reputation", "microsoft"),
    ("554 5.7.1 Service unavailable; Client host [192.0.2.55] blocked using b.barracudacentral.org", "reputation", None),  # a list any receiver may use
    ("550 5.7.26 This mail is unauthenticated, which poses a security risk to the sender and Gmail users, and has been "
     "blocked. The sender must authenticate with at least one of SPF or DKIM. For this message, DKIM checks did not pass "
     "and SPF check for [shop.example] did not pass with ip: [192.0.2.55]. - gsmtp", "authentication", "google"),
    ("450 4.1.8 <news@shop.example>: Sender address rejected: Domain not found", "policy", None),
    ("550 High probability of spam", "content", None),
    ("554 5.7.1 [HM08] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137",
     "policy", "apple"),
    ("451 4.7.1 Greylisting in action, please come back later", "other", None),
    ("550 5.1.1 <x@docomo.example>: Recipient address rejected: User unknown in local recipient table", "mailbox", None),
])
def test_real_world_wordings(text: str, category: str, provider: str | None) -> None:
    _b, c, got_provider = _classified(text)
    assert c.category == category and got_provider == provider, (c.rule.id if c.rule else None)


def test_older_gmail_wording_carries_its_results() -> None:
    b = read_bounce("550-5.7.26 This mail is unauthenticated, which poses a security risk to the sender and Gmail "
                    "users, and has been blocked. The sender must authenticate with at least one of SPF or DKIM. For "
                    "this message, DKIM checks did not pass and SPF check for [shop.example] did not pass with ip: "
                    "[192.0.2.55]. To best protect our users from spam, the message has been blocked. - gsmtp")
    assert b.facts.embedded == {"dkim": "fail", "spf": "fail"}
    assert b.facts.sending_ip == "192.0.2.55" and b.facts.mailfrom_domain == "shop.example"


@pytest.mark.parametrize("text, category", [
    ("552 Message size exceeds fixed maximum message size", "content"),
    ("421 Too many concurrent SMTP connections from this IP address; please try again later", "reputation"),
    ("450 4.7.1 <mail.shop.example>: Helo command rejected: Host not found", "reverse-dns"),
    ("550 5.7.1 Message rejected due to DMARC. Please see the sender's domain policy", "authentication"),
    ("550 5.7.1 Rejected because of SPF: 192.0.2.55 is not permitted", "authentication"),
    ("550 No Such User Here", "mailbox"),
    ("550 Requested action not taken: mailbox unavailable", "mailbox"),
    ("554 5.7.0 Message rejected: Email address is not verified. The following identities failed the check in region "
     "EU-WEST-1: news@shop.example", "policy"),
])
def test_more_wordings_from_other_servers(text: str, category: str) -> None:
    _b, c, _p = _classified(text)
    assert c.category == category, (c.rule.id if c.rule else None)
