"""What a received message shows about the bulk-sender rules that are not SPF/DKIM/DMARC.

Google, Yahoo and Microsoft also ask senders for: TLS on the way in, RFC 5322 format (one From, a
Message-ID, no duplicated single headers) and, for marketing mail, one-click unsubscribe (RFC 8058:
``List-Unsubscribe`` with an https URI plus ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``, both covered by a valid DKIM signature: RFC 8058 §4;
a receiver ignores one-click headers a signature doesn't vouch for, since anyone on the way could have added
them). ``delivery_card`` turns those into one ``CheckResult`` named "delivery".
"""

from __future__ import annotations

import re
from typing import Any

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


ONE_CLICK_VALUE = "List-Unsubscribe=One-Click"
ONE_CLICK_SIGNED = ("list-unsubscribe", "list-unsubscribe-post")


def _one_click_signed(signatures: list[dict[str, Any]]) -> tuple[bool | None, str]:
    """Is there a valid DKIM signature whose ``h=`` covers List-Unsubscribe and List-Unsubscribe-Post?
    ``signatures``: the DKIM card's rows (``h``, ``d``, ``receiver_result``, ``our_result``); a row without
    an ``index`` is a result the receiver reported for a signature the message doesn't carry: no evidence.
    True / False with why not / None when no covering signature could be verified either way."""
    rows = [r for r in signatures if r.get("index") is not None]
    if not rows:
        return False, "the message has no DKIM signature"

    def passed(r: dict[str, Any]) -> bool:
        return "pass" in (r.get("receiver_result"), r.get("our_result"))

    covering = [r for r in rows if all(h in (r.get("h") or []) for h in ONE_CLICK_SIGNED)]
    if any(passed(r) for r in covering):
        return True, ""
    if not covering:
        best = next((r for r in rows if passed(r)), rows[0])
        missing = [n for n, h in zip(("List-Unsubscribe", "List-Unsubscribe-Post"), ONE_CLICK_SIGNED)
                   if h not in (best.get("h") or [])]
        return False, (f"the DKIM signature of {best.get('d') or 'the message'} doesn't cover "
                       f"{' and '.join(missing)} ({'they are' if len(missing) > 1 else 'it is'} not in its h= list)")
    if all(r.get("receiver_result") in (None, "", "temperror")
           and r.get("our_result") in (None, "", "not-checked", "temperror") for r in covering):
        return None, ""
    return False, f"the DKIM signature of {covering[0].get('d') or 'the message'} that covers them did not verify"


def delivery_card(msg: ParsedMessage, *, receiver_received: HeaderField | None,
                  dmarc_passed: bool | None, signatures: list[dict[str, Any]] | None = None) -> CheckResult:
    """The format and delivery items of one received message.

    ``receiver_received``: the Received header the receiving service wrote for the hop from the sender
    (the one that tells whether TLS was used); ``dmarc_passed``: the receiver's DMARC verdict;
    ``signatures``: the DKIM card's signature rows (``detail["signatures"]``), for RFC 8058's signed
    one-click headers."""
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
    https = [u for u in uris if u.strip().lower().startswith("https://")]
    post_value = unfold(post.value).strip() if post is not None else ""
    one_click = post_value == ONE_CLICK_VALUE
    signed, unsigned_why = _one_click_signed(signatures or []) if unsub is not None and https and one_click \
        else (None, "")
    detail["list_unsubscribe"] = uris
    detail["one_click_signed"] = signed
    detail["one_click"] = bool(https and one_click and signed)
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
        if post is not None and post_value.lower().replace(" ", "") == ONE_CLICK_VALUE.lower():
            missing.append(f"List-Unsubscribe-Post written exactly '{ONE_CLICK_VALUE}' (it reads "
                           f"'{post_value[:80]}'; receivers post it back to your link as it is written)")
        elif not one_click:
            missing.append(f"the header 'List-Unsubscribe-Post: {ONE_CLICK_VALUE}'" +
                           (f" (it reads '{post_value[:80]}')" if post is not None else ""))
        findings.append(Finding("msg.unsubscribe-not-one-click", Severity.WARNING,
                                "Unsubscribe is offered but not as one click, which Google and Yahoo require "
                                f"for bulk mail: add {' and '.join(missing)}.",
                                unsub.text + (f"\n{post.text}" if post is not None else ""), RFC_ONE_CLICK))
    elif signed is False:
        findings.append(Finding("msg.unsubscribe-not-one-click", Severity.WARNING,
                                "The one-click unsubscribe headers are there, but " + unsigned_why + ". Receivers "
                                "honour one-click unsubscribe only when a valid DKIM signature covers both "
                                "List-Unsubscribe and List-Unsubscribe-Post: add both to the signed headers in "
                                "your sending service's DKIM settings.",
                                unsub.text + f"\n{post.text}" if post is not None else unsub.text, "RFC 8058 §4"))
    elif signed is None:
        findings.append(Finding("msg.unsubscribe-signing-unknown", Severity.INFO,
                                "The one-click unsubscribe headers are there, and a DKIM signature covers them, "
                                "but neither the receiver nor our own check verified that signature, so we "
                                "can't tell whether receivers will honour them.", "", "RFC 8058 §4"))
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
