"""Bounce rules beyond Google / Microsoft / Yahoo (Mimecast, Proofpoint, Apple iCloud, Barracuda), and the
receiving server named in pasted text (Postfix, its log, Exim, Gmail, pasted DSN fields) so the provider is
identified (Proton, Zoho, Fastmail, iCloud...). Real-shaped bounce texts, g10 items 3 and 4."""

from __future__ import annotations

import pytest

from inboxready.core.bounce import analyze_bounce, classify, detect_provider, read_bounce
from inboxready.core.bounce.rules import provider_code
from inboxready.core.context import CheckOptions

from ..conftest import run
from .dsnmaker import exim_bounce, google_dsn, postfix_dsn


def _classified(raw: bytes | str):  # type: ignore[no-untyped-def]
    m = read_bounce(raw).main
    assert m is not None
    provider = detect_provider(m.diagnostic, m.remote_mta, m.recipient)
    return m, provider, classify(status=m.status, reply=m.reply_code, words=m.diagnostic, provider=provider,
                                 code=provider_code(m.diagnostic))


@pytest.mark.parametrize("raw, provider, rule, category", [
    (postfix_dsn("550 Rejected by header based Anti-Spoofing policy: news@shop.example - "
                 "https://community.mimecast.com/docs/DOC-1369#550", recipient="erin@corp.example",
                 remote_mta="eu-smtp-inbound-1.mimecast.com"), "mimecast", "mimecast-anti-spoofing", "policy"),
    ("<erin@corp.example>: host us-smtp-inbound-2.mimecast.com[205.139.110.242] said: 550 Envelope blocked - User "
     "Entry - https://community.mimecast.com/docs/DOC-1369#550 (in reply to RCPT TO command)",
     "mimecast", "mimecast-envelope-blocked", "policy"),
    ("550 Rejected by header based manually Blocked Senders: news@shop.example", "mimecast",
     "mimecast-blocked-senders", "policy"),
    ("host us-smtp-inbound-1.mimecast.com[205.139.110.24] said: 451 Internal resource temporarily unavailable - "
     "https://community.mimecast.com/docs/DOC-1369#451 (in reply to RCPT TO command)", "mimecast",
     "mimecast-internal-resource", "other"),
    (exim_bounce("554 5.7.1 Blocked - see https://ipcheck.proofpoint.com/?ip=192.0.2.55", recipient="frank@corp.example"),
     "proofpoint", "proofpoint-ip-blocked", "reputation"),
    (google_dsn("550 5.7.1 [CS01] Message rejected due to local policy. Please visit "
                "https://support.apple.com/en-us/HT204137", recipient="gina@icloud.com",
                remote_mta="mx01.mail.icloud.com"), "apple", "apple-local-policy", "policy"),
    ("554 5.7.1 [HM08] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137",
     "apple", "apple-local-policy", "policy"),
    ("421 4.7.1 Messages to gina@icloud.com deferred due to excessive volume. Try again later - "
     "https://support.apple.com/en-us/HT204137", "apple", "apple-excessive-volume", "reputation"),
    ("554 Service unavailable; Client host [192.0.2.55] blocked using Barracuda Reputation; "
     "http://bbl.barracudacentral.com/q.cgi?ip=192.0.2.55", None, "barracuda-reputation", "reputation"),
])
def test_vendor_bounces(raw: bytes | str, provider: str | None, rule: str, category: str) -> None:
    _m, got, c = _classified(raw)
    assert got == provider and c.rule is not None and c.rule.id == rule and c.category == category


def test_proofpoint_is_reputation_not_policy_and_says_where_to_look() -> None:
    opts = CheckOptions(nameservers=["127.0.0.1:9"], timeout=0.5, deadline=5.0)
    r = run(analyze_bounce("554 5.7.1 Blocked - see https://ipcheck.proofpoint.com/?ip=192.0.2.55", options=opts))
    assert r.provider == "proofpoint" and r.classification.category == "reputation"
    assert "ipcheck.proofpoint.com" in r.explanation and "under its own policy" not in r.explanation
    assert r.sending_ip == "192.0.2.55"


@pytest.mark.parametrize("text, remote, provider", [
    ("host mail.protonmail.ch[185.70.42.128] said: 550 5.7.1 Message rejected (in reply to end of DATA command)",
     "mail.protonmail.ch", "proton"),
    ("<bob@corp.example>: host mailsec.protonmail.ch[185.70.42.129] said: 550 5.1.1 Address does not exist (in "
     "reply to RCPT TO command)", "mailsec.protonmail.ch", "proton"),
    ("Dec  7 10:00:00 mx postfix/smtp[123]: 4ABC: to=<bob@corp.example>, relay=mx.zoho.eu[185.20.209.31]:25, delay=1, "
     "delays=0/0/0/1, dsn=5.1.1, status=bounced (550 5.1.1 User does not exist - <bob@corp.example>)",
     "mx.zoho.eu", "zoho"),
    ("SMTP error from remote mail server after RCPT TO:<bob@corp.example>:\n  host in1-smtp.messagingengine.com "
     "[103.168.172.216]: 550 5.1.1 <bob@corp.example>: Recipient address rejected", "in1-smtp.messagingengine.com",
     "fastmail"),
    ("Google tried to deliver your message, but it was rejected by the server for the recipient domain corp.example "
     "by mx01.mail.icloud.com. [17.57.154.6].\n\nThe error that the other server returned was:\n550 5.1.1 "
     "<bob@corp.example>: user does not exist", "mx01.mail.icloud.com", "apple"),
    ("Remote-MTA: dns; mail.protonmail.ch\nDiagnostic-Code: smtp; 550 5.7.1 Message rejected", "mail.protonmail.ch",
     "proton"),
    ("mail.protonmail.ch said: 550 5.7.1 Message rejected", "mail.protonmail.ch", "proton"),
])
def test_the_host_in_pasted_text_is_the_remote_server(text: str, remote: str, provider: str) -> None:
    m, got, _c = _classified(text)
    assert m.remote_mta == remote and got == provider


def test_a_dsn_without_remote_mta_takes_the_host_from_its_text() -> None:
    raw = postfix_dsn("550 5.7.1 Message rejected", recipient="bob@corp.example", remote_mta="mail.protonmail.ch")
    raw = b"\r\n".join(ln for ln in raw.split(b"\r\n") if not ln.startswith(b"Remote-MTA:"))
    m, got, _c = _classified(raw)
    assert m.remote_mta == "mail.protonmail.ch" and got == "proton"
    opts = CheckOptions(nameservers=["127.0.0.1:9"], timeout=0.5, deadline=5.0)
    r = run(analyze_bounce(raw, options=opts, skip=("spf", "dkim", "dmarc", "rdns", "mx")))
    assert "Proton Mail (mail.protonmail.ch)" in r.headline


def test_a_dsn_text_about_another_failure_does_not_name_the_server() -> None:
    raw = postfix_dsn("550 5.7.1 Message rejected", recipient="bob@corp.example", remote_mta="mail.protonmail.ch",
                      text="<bob@corp.example>: host mx.other.example[192.0.2.9] said: 452 4.2.2 Mailbox full\n")
    raw = b"\r\n".join(ln for ln in raw.split(b"\r\n") if not ln.startswith(b"Remote-MTA:"))
    m, _got, _c = _classified(raw)
    assert m.status == "5.7.1" and m.remote_mta == ""
