"""What a received message shows about the bulk-sender rules that are not SPF/DKIM/DMARC.

Google, Yahoo and Microsoft also ask senders for: TLS on the way in, RFC 5322 format (one From, a
Message-ID, no duplicated single headers) and, for marketing mail, one-click unsubscribe (RFC 8058:
``List-Unsubscribe`` with an https URI plus ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``).
``delivery_card`` turns those into one ``CheckResult`` named "delivery".
"""

from __future__ import annotations

import re

from ..model import CheckResult, Finding, Severity, derive_status
from .authres import unfold
from .headers import HeaderField, ParsedMessage, strip_comments

RFC_FORMAT = "RFC 5322 §3.6"
RFC_ONE_CLICK = "RFC 8058 §3.1"
SINGLE = ("From", "Sender", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To", "In-Reply-To")

_TLS_HINTS = re.compile(
    r"\bwith\s+(?:E?SMTPS|ESMTPSA|UTF8SMTPS|UTF8SMTPSA|LMTPS)\b|version=TLS|\bTLSv?1\.[0-3]\b|cipher=|"
    r"using\s+TLS|\(TLS\)|Microsoft SMTP Server \(version=TLS", re.I)
_PLAIN_HINTS = re.compile(r"\bwith\s+(?:E?SMTP|ESMTPA|UTF8SMTP|SMTP)\b(?!S)", re.I)


def _tls_of(received: HeaderField | None) -> bool | None:
    """True: the hop into the receiver used TLS; False: it clearly did not; None: can't tell."""
    if received is None:
        return None
    text = unfold(received.value)
    if _TLS_HINTS.search(text):
        return True
    if _PLAIN_HINTS.search(strip_comments(text)):
        return False
    return None


def delivery_card(msg: ParsedMessage, *, receiver_received: HeaderField | None,
                  dmarc_passed: bool | None) -> CheckResult:
    """The format and delivery items of one received message.

    ``receiver_received``: the Received header the receiving service wrote for the hop from the sender
    (the one that tells whether TLS was used); ``dmarc_passed``: the receiver's DMARC verdict."""
    findings: list[Finding] = []
    detail: dict[str, object] = {}

    tls = _tls_of(receiver_received)
    detail["tls"] = tls
    detail["received"] = receiver_received.text if receiver_received is not None else None
    if tls is False:
        findings.append(Finding("msg.no-tls", Severity.ERROR,
                                "The message reached the receiver without encryption (no TLS). Google, Yahoo "
                                "and Microsoft require TLS from senders: turn it on at your mail service.",
                                str(detail["received"] or ""), "Google sender guidelines; RFC 3207"))
    elif tls is None:
        findings.append(Finding("msg.tls-unknown", Severity.INFO,
                                "We can't tell from the Received header whether the message came in over an "
                                "encrypted (TLS) connection.", str(detail["received"] or "no Received header")))

    froms = msg.get_all("From")
    if len(froms) != 1:
        findings.append(Finding("msg.from-count", Severity.ERROR,
                                f"The message has {len(froms)} From headers; exactly one is required, and "
                                "receivers reject or junk messages that break this.", "", RFC_FORMAT))
    if msg.first("Message-ID") is None:
        findings.append(Finding("msg.no-message-id", Severity.ERROR,
                                "The message has no Message-ID header. Gmail rejects bulk mail without one; "
                                "your sending software should add it.", "", RFC_FORMAT))
    if msg.first("Date") is None:
        findings.append(Finding("msg.no-date", Severity.ERROR,
                                "The message has no Date header, which every message must have.", "",
                                RFC_FORMAT))
    dups = [n for n in SINGLE if len(msg.get_all(n)) > 1 and n != "From"]
    if dups:
        findings.append(Finding("msg.duplicate-headers", Severity.WARNING,
                                f"These headers appear more than once but may appear only once: "
                                f"{', '.join(dups)}. Receivers may treat the message as malformed.", "",
                                RFC_FORMAT))

    unsub = msg.first("List-Unsubscribe")
    post = msg.first("List-Unsubscribe-Post")
    uris = re.findall(r"<([^>]+)>", unfold(unsub.value)) if unsub is not None else []
    https = [u for u in uris if u.lower().startswith("https://")]
    one_click = post is not None and unfold(post.value).strip().lower() == "list-unsubscribe=one-click"
    detail["list_unsubscribe"] = uris
    detail["one_click"] = bool(https and one_click)
    if unsub is None:
        findings.append(Finding("msg.no-unsubscribe", Severity.INFO,
                                "No List-Unsubscribe header. Marketing and other bulk mail must offer one-click "
                                "unsubscribe (a List-Unsubscribe header with an https link plus "
                                "List-Unsubscribe-Post); personal and transactional mail doesn't need it.",
                                "", RFC_ONE_CLICK))
    elif not (https and one_click):
        missing = []
        if not https:
            missing.append("an https link in List-Unsubscribe")
        if not one_click:
            missing.append("the header 'List-Unsubscribe-Post: List-Unsubscribe=One-Click'")
        findings.append(Finding("msg.unsubscribe-not-one-click", Severity.WARNING,
                                "Unsubscribe is offered but not as one click, which Google and Yahoo require "
                                f"for bulk mail: add {' and '.join(missing)}.", unsub.text, RFC_ONE_CLICK))
    if dmarc_passed is False:
        findings.append(Finding("msg.not-aligned-pass", Severity.ERROR,
                                "The message did not pass DMARC, which bulk senders need (SPF or DKIM passing "
                                "for the domain in From); see the DMARC card.", "", "RFC 9989 §4.4"))

    status = derive_status(findings)
    problems = [f for f in findings if f.severity in (Severity.ERROR, Severity.WARNING)]
    if not problems:
        summary = ("Format and delivery look right: " +
                   ("TLS on the way in, " if tls else "") + "one From, a Message-ID" +
                   (", one-click unsubscribe." if detail["one_click"] else "."))
    else:
        summary = f"{len(problems)} format or delivery item(s) to fix for the bulk-sender rules."
    return CheckResult("delivery", status, summary, findings=findings, detail=detail)
