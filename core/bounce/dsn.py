"""Reading a bounce: what failed, for whom, in the receiver's own words, and what the returned message shows.

``read_bounce(raw)`` takes whatever the user has:

- an RFC 3464 delivery status notification (``multipart/report`` with a ``message/delivery-status`` part,
  the returned message as ``message/rfc822`` or only its headers as ``text/rfc822-headers``), as Google,
  Microsoft, Yahoo, Postfix and most others send; also ``message/global-delivery-status`` (RFC 6533);
- a non-standard bounce: one text part (qmail, Exim, older Gmail, Microsoft NDR text pasted from Outlook),
  with the copy of the message after a separator line such as "--- Below this line is a copy of the
  message." or "Original message headers:", in any language (the status codes are language-free);
- or just the pasted SMTP error text (``550-5.7.26 This mail has been blocked...``).

It returns a ``Bounce``: every recipient's delivery status (``DeliveryStatus``), the returned message's
header fields (parsed by ``mail.headers.parse_message``, which never raises and caps a flood of fields),
and the facts read from them (``BounceFacts``: From domain, envelope domain, sending IP and where it was
read, DKIM signatures, authentication results the receiver embedded).

Hostile input never raises here and never takes long: at most ``MAX_BOUNCE_BYTES`` are read, MIME nesting
past ``MAX_BOUNDARIES`` is cut off before the standard ``email`` parser sees it (deep nesting makes it
recurse), at most ``MAX_PARTS`` parts are looked at, text is decoded with its declared charset or else as
UTF-8 with replacement, and every text kept is capped. What was cut off is said in ``Bounce.notes``.
"""

from __future__ import annotations

import logging
import email
import email.policy
import html
import ipaddress
import re
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from ..mail.authres import AuthResultsError, parse_authentication_results, parse_received_spf, parse_tags
from ..mail.headers import ParsedMessage, addresses, domain_of, parse_message, received_by, received_from
from ..records.dkim_key import normalize_selector
from ..mail.trust import simple_org_domain

log = logging.getLogger(__name__)

__all__ = [
    "MAX_BOUNCE_BYTES", "Bounce", "BounceFacts", "DeliveryStatus", "Signature", "normalize_diagnostic",
    "read_bounce",
]

MAX_BOUNCE_BYTES = 10 * 1024 * 1024  # what we read of a bounce; the rest is ignored (and said so)
MAX_BOUNDARIES = 64  # MIME boundaries the email parser may see (nesting past this is cut off)
MAX_PARTS = 300
MAX_DEPTH = 16
MAX_TEXT = 256 * 1024  # human-readable text kept, all parts together
MAX_DIAGNOSTIC = 4000  # characters of the receiver's words
MAX_RECIPIENTS = 50
MAX_RETURNED = 2 * 1024 * 1024  # bytes of the returned message's header block we parse
MAX_SIGNATURES = 20

# -- status codes -------------------------------------------------------------------------------------------

_ENH = r"[245]\.\d{1,3}\.\d{1,3}"
ENHANCED = re.compile(rf"(?<![\w.])({_ENH})(?!\w|\.\d)")
REPLY_ENHANCED = re.compile(rf"(?<![\w.])([245]\d\d)(?:[ -]+|[ -]*\(?#)\(?#?({_ENH})(?!\w|\.\d)")
_REPLY_AFTER_WORD = re.compile(
    r"(?:said|returned|error|reason|response|answered|replied|smtp;|diagnostic-code:)\W{0,12}#?([245]\d\d)[ -](?=\S)",
    re.IGNORECASE)
_REPLY_LINE = re.compile(r"^[ \t>]*#?([45]\d\d)[ -](?=[^\d\s])", re.MULTILINE)
_IN_REPLY_TO = re.compile(r"\(in reply to [^)]{0,80}\)", re.IGNORECASE)

# Lines after which a non-standard bounce carries the returned message (or its headers). The words vary by
# program and language; what follows is parsed as a message whatever the label said.
_SEPARATORS = re.compile(
    r"^[ \t]*(?:[-=_*#]{2,}[ \t]*)?(?:"
    r"below this line is a copy of the message|this is a copy of the (?:message|headers)|"
    r"the header of the original message is following|original message(?: headers?)?|"
    r"undelivered message headers|returned message|copy of (?:the )?(?:original )?message|"
    r"message headers? follows?|headers of the original message|"
    r"ursprüngliche nachricht|ursprüngliche nachrichtenkopfzeilen|kopfzeilen der (?:ursprünglichen )?nachricht|"
    r"en-têtes (?:du|de) message d.origine|message d.origine|"
    r"encabezados del mensaje original|mensaje original|"
    r"cabeçalhos da mensagem original|mensagem original|"
    r"元のメッセージ(?: ?ヘッダー)?|元のメッセージのヘッダー|オリジナルメッセージ"
    r")[ \t:.\-=_*#]*$",
    re.IGNORECASE | re.MULTILINE)
_HEADERISH = re.compile(r"^([\x21-\x39\x3b-\x7e]{1,76}):[ \t]", re.MULTILINE)
_STRONG_FIELDS = {"received", "from", "message-id", "dkim-signature", "return-path", "authentication-results",
                  "subject", "date", "to", "arc-seal", "received-spf", "mime-version"}

_ADDR = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?){1,10}")
_RCPT_TO = re.compile(r"RCPT TO:?\s*<([^>\s]{3,320})>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]{0,2000}>")
_BLOCK_TAGS = re.compile(r"<\s*(?:br|/p|/div|/tr|/li|/h\d|p|div|tr|li)\b[^>]{0,200}>", re.IGNORECASE)
_STYLE = re.compile(r"<(style|script|head)\b.{0,200000}?</\1\s*>", re.IGNORECASE | re.DOTALL)


@dataclass
class DeliveryStatus:
    """One recipient's delivery status, as the DSN's per-recipient fields say (or as read from the text)."""

    recipient: str = ""
    action: str = ""  # failed | delayed | delivered | relayed | expanded | "" (not said)
    status: str = ""  # the enhanced status code, "5.7.26" ("" when none was given)
    reply_code: str = ""  # the SMTP reply code, "550" ("" when none was given)
    diagnostic: str = ""  # the receiving server's words, one line, continuation prefixes removed
    remote_mta: str = ""
    source: str = ""  # "delivery-status" | "text"

    @property
    def failed(self) -> bool:
        """Not delivered (failed or delayed), by the action, or else by the codes."""
        if self.action in ("delivered", "relayed", "expanded"):
            return False
        if self.action in ("failed", "delayed"):
            return True
        return self.status[:1] in ("4", "5") or self.reply_code[:1] in ("4", "5")

    @property
    def permanent(self) -> bool | None:
        """True for a permanent failure (5.x.x / 5xx), False for a temporary one, None when unknown."""
        code = self.status[:1] or self.reply_code[:1]
        if code == "5":
            return True
        if code == "4":
            return False
        if self.action == "delayed":
            return False
        return None

    def to_json(self) -> dict[str, Any]:
        return {"recipient": self.recipient, "action": self.action, "status": self.status,
                "reply_code": self.reply_code, "diagnostic": self.diagnostic, "remote_mta": self.remote_mta,
                "source": self.source}


@dataclass(frozen=True)
class Signature:
    d: str
    s: str

    def to_json(self) -> dict[str, str]:
        return {"d": self.d, "s": self.s}


@dataclass
class BounceFacts:
    """What the bounce tells about the message that bounced. Each value has its source in words."""

    from_domain: str = ""
    from_domain_source: str = ""
    mailfrom_domain: str = ""  # the envelope (bounce, Return-Path) domain SPF is checked for
    mailfrom_source: str = ""
    sending_ip: str = ""
    sending_ip_source: str = ""
    signatures: list[Signature] = field(default_factory=list)
    embedded: dict[str, str] = field(default_factory=dict)  # method -> result, as the receiver wrote it
    embedded_words: list[str] = field(default_factory=list)  # the receiver's own text for them
    message_id: str = ""
    subject: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"from_domain": self.from_domain, "from_domain_source": self.from_domain_source,
                "mailfrom_domain": self.mailfrom_domain, "mailfrom_source": self.mailfrom_source,
                "sending_ip": self.sending_ip, "sending_ip_source": self.sending_ip_source,
                "signatures": [s.to_json() for s in self.signatures], "embedded": dict(self.embedded),
                "embedded_words": list(self.embedded_words), "message_id": self.message_id, "subject": self.subject}


@dataclass
class Bounce:
    """Everything read from one bounce (see the module docstring)."""

    form: str  # "dsn" (RFC 3464) | "text" (a non-standard bounce message) | "smtp-text" (pasted error) | "empty"
    statuses: list[DeliveryStatus] = field(default_factory=list)
    reporting_mta: str = ""
    envelope_sender: str = ""  # X-Postfix-Sender, or the address the bounce was sent to
    subject: str = ""
    returned: ParsedMessage | None = None
    returned_form: str = ""  # "message/rfc822" | "text/rfc822-headers" | "inline" | ""
    text: str = ""  # the human-readable part(s), capped
    notes: list[str] = field(default_factory=list)
    facts: BounceFacts = field(default_factory=BounceFacts)

    @property
    def main(self) -> DeliveryStatus | None:
        """The status the report is about: the first permanent failure, else the first failure, else the
        first status."""
        failed = [s for s in self.statuses if s.failed]
        for s in failed:
            if s.permanent:
                return s
        return failed[0] if failed else (self.statuses[0] if self.statuses else None)


# -- entry point ---------------------------------------------------------------------------------------------

def read_bounce(raw: bytes | str) -> Bounce:
    """Read ``raw`` (a bounce message or pasted error text). Never raises."""
    try:
        return _read(raw)
    except Exception as exc:  # a last guard: a reader bug is "couldn't read", never a crash
        return Bounce(form="empty", notes=[f"The bounce could not be read ({type(exc).__name__})."])


def _read(raw: bytes | str) -> Bounce:
    if isinstance(raw, str):
        data = raw.encode("utf-8", "surrogateescape")
    elif isinstance(raw, (bytes, bytearray, memoryview)):
        data = bytes(raw)
    else:
        return Bounce(form="empty", notes=["What was given is not text."])
    notes: list[str] = []
    if len(data) > MAX_BOUNCE_BYTES:
        data = data[:MAX_BOUNCE_BYTES]
        notes.append(f"Only the first {MAX_BOUNCE_BYTES // (1024 * 1024)} MB were read.")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        return Bounce(form="empty", notes=notes + ["Nothing was given."])
    if _looks_like_message(data):
        bounce = _read_message(data, notes)
    else:
        text = _decode(data, None)[:MAX_TEXT * 4]
        bounce = Bounce(form="smtp-text", text=text[:MAX_TEXT], notes=notes)
        bounce.statuses = _statuses_from_text(text, exclude=set())
        _inline_returned(bounce, text)
    bounce.facts = _facts(bounce)
    return bounce


def _looks_like_message(data: bytes) -> bool:
    """A header block first (an RFC 5322 message), not pasted error text."""
    head = parse_message(data[:64 * 1024])
    names = {f.lname for f in head.fields[:200]}
    if len(head.fields) < 2:
        return False
    return bool(names & {"from", "to", "subject", "date", "content-type", "mime-version", "received", "return-path",
                         "message-id", "x-failed-recipients", "auto-submitted"})


# -- MIME ------------------------------------------------------------------------------------------------------

_BOUNDARY_PARAM = re.compile(rb"boundary\s*=", re.IGNORECASE)
_RETURNED_PART = re.compile(r"^content-type:\s*(?:message/(?:rfc822|global)|text/(?:rfc822|global)-headers)",
                            re.IGNORECASE | re.MULTILINE)


def _read_message(data: bytes, notes: list[str]) -> Bounce:
    cut = _boundary_cut(data)
    if cut is not None:
        data = data[:cut]
        notes.append(f"The message nests more than {MAX_BOUNDARIES} MIME parts; the deeper ones were not read.")
    bounce = Bounce(form="text", notes=notes)
    try:
        msg = email.message_from_bytes(data, policy=email.policy.compat32)
    except (RecursionError, MemoryError, Exception):  # the standard parser on hostile input
        notes.append("The MIME structure could not be read; the text was searched instead.")
        text = _decode(data, None)[:MAX_TEXT]
        bounce.text = text
        bounce.statuses = _statuses_from_text(text, exclude=set())
        _inline_returned(bounce, text)
        return bounce
    bounce.subject = _header(msg, "Subject")
    bounce_from = _header(msg, "From")
    bounce_to = _header(msg, "To")
    own = {a.lower() for a in addresses(bounce_from) + addresses(bounce_to)}
    to_addrs = addresses(bounce_to)
    failed_rcpts = addresses(_header(msg, "X-Failed-Recipients"))
    plain, htmls = _walk(msg, bounce)
    text = "\n\n".join(plain) if plain else "\n\n".join(_html_to_text(h) for h in htmls)
    bounce.text = text[:MAX_TEXT]
    if not bounce.envelope_sender and to_addrs:
        bounce.envelope_sender = to_addrs[0]
    if bounce.form == "dsn" and bounce.statuses:
        _fill_from_text(bounce, text)
    else:
        found = _statuses_from_text(text, exclude=own)
        if not found and not bounce.statuses:  # a bounce whose text part we couldn't find: the raw text,
            raw_text = _decode(data[:MAX_TEXT * 4], None)  # up to where the returned message starts
            returned = _RETURNED_PART.search(raw_text)
            found = _statuses_from_text(raw_text[:returned.start()] if returned else raw_text, exclude=own)
        if not bounce.statuses:
            bounce.statuses = found
    for st in bounce.statuses:
        if failed_rcpts and (not st.recipient or st.recipient.lower() in own):
            st.recipient = failed_rcpts[0]
    if bounce.returned is None:
        _inline_returned(bounce, text)
    return bounce


def _boundary_cut(data: bytes) -> int | None:
    count = 0
    for m in _BOUNDARY_PARAM.finditer(data):
        count += 1
        if count > MAX_BOUNDARIES:
            # cut at the start of the line that declares it
            start = data.rfind(b"\n", 0, m.start())
            return max(start, 0)
    return None


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:
        return ""
    return str(value)[:4000] if value is not None else ""


def _walk(msg: Message, bounce: Bounce) -> tuple[list[str], list[str]]:
    """Look at the parts in order (depth-first, without recursion); returns the plain and HTML texts."""
    plain: list[str] = []
    htmls: list[str] = []
    size = 0
    todo: list[tuple[Message, int]] = [(msg, 0)]
    seen = 0
    while todo:
        part, depth = todo.pop(0)
        seen += 1
        if seen > MAX_PARTS:
            bounce.notes.append(f"Only the first {MAX_PARTS} MIME parts were read.")
            break
        try:
            ctype = part.get_content_type()
        except Exception:
            log.debug("a MIME part without a readable content type", exc_info=True)
            continue
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            _delivery_status(part, bounce)
            continue
        if ctype in ("message/rfc822", "message/global"):
            sub = _first_sub(part)
            if sub is None:
                continue
            if not bounce.statuses and _is_report(sub) and depth < MAX_DEPTH:
                todo.insert(0, (sub, depth + 1))  # a forwarded bounce: read the bounce itself
                continue
            if bounce.returned is None:
                bounce.returned = parse_message(_header_bytes(sub))
                bounce.returned_form = ctype
            continue
        if ctype in ("text/rfc822-headers", "text/global-headers"):
            if bounce.returned is None:
                payload = _payload(part)
                if payload is not None:
                    bounce.returned = parse_message(payload[:MAX_RETURNED])
                    bounce.returned_form = "text/rfc822-headers"
            continue
        if part.is_multipart():
            if depth >= MAX_DEPTH:
                bounce.notes.append("Some MIME parts are nested too deeply and were not read.")
                continue
            children = part.get_payload()
            if isinstance(children, list):
                todo[0:0] = [(c, depth + 1) for c in children if isinstance(c, Message)]
            continue
        if ctype in ("text/plain", "text/html") and size < MAX_TEXT:
            if _is_attachment(part) and depth > 0:
                continue
            payload = _payload(part)
            if payload is None:
                continue
            text = _decode(payload[:MAX_TEXT], _charset(part))
            size += len(text)
            (plain if ctype == "text/plain" else htmls).append(text)
    return plain, htmls


def _is_report(sub: Message) -> bool:
    try:
        return sub.get_content_type() == "multipart/report"
    except Exception:
        return False


def _is_attachment(part: Message) -> bool:
    try:
        return str(part.get("Content-Disposition", "")).strip().lower().startswith("attachment")
    except Exception:
        return False


def _first_sub(part: Message) -> Message | None:
    try:
        payload = part.get_payload()
    except Exception:
        return None
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    if isinstance(payload, str) and payload.strip():  # not parsed (an encoded message/rfc822): parse it
        try:
            return email.message_from_string(payload[:MAX_RETURNED], policy=email.policy.compat32)
        except Exception:
            return None
    return None


def _header_bytes(sub: Message) -> bytes:
    """The returned message's header block as bytes (the fields as the parser kept them, folding kept)."""
    out: list[bytes] = []
    size = 0
    try:
        items = sub.items()
    except Exception:
        return b""
    for name, value in items:
        line = f"{name}:{value if str(value)[:1] in (' ', chr(9)) else ' ' + str(value)}\n"
        raw = line.encode("utf-8", "surrogateescape")
        size += len(raw)
        if size > MAX_RETURNED:
            break
        out.append(raw)
    return b"".join(out) + b"\n"


def _payload(part: Message) -> bytes | None:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    try:
        raw = part.get_payload()
    except Exception:
        return None
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return None


def _charset(part: Message) -> str | None:
    try:
        cs = part.get_content_charset()
    except Exception:
        return None
    return cs if isinstance(cs, str) else None


def _decode(data: bytes, charset: str | None) -> str:
    if charset:
        try:
            return data.decode(charset, "replace")
        except (LookupError, TypeError, ValueError, UnicodeError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace")


def _html_to_text(text: str) -> str:
    text = _STYLE.sub(" ", text[:MAX_TEXT])
    text = _BLOCK_TAGS.sub("\n", text)
    text = _TAGS.sub(" ", text)
    return html.unescape(text)


# -- message/delivery-status --------------------------------------------------------------------------------

def _delivery_status(part: Message, bounce: Bounce) -> None:
    bounce.form = "dsn"
    blocks: list[dict[str, str]] = []
    try:
        payload = part.get_payload()
    except Exception:
        payload = None
    if isinstance(payload, list):
        for block in payload[: MAX_RECIPIENTS + 1]:
            if isinstance(block, Message):
                try:
                    blocks.append({k.lower(): str(v) for k, v in block.items()[:100]})
                except Exception:
                    log.debug("an unreadable delivery-status block", exc_info=True)
                    continue
    else:
        raw = _payload(part) or b""
        for chunk in re.split(rb"\r?\n[ \t]*\r?\n", raw[:MAX_TEXT])[: MAX_RECIPIENTS + 1]:
            fields = parse_message(chunk + b"\n").fields[:100]
            if fields:
                blocks.append({f.lname: f.unfolded for f in fields})
    if not blocks:
        return
    first = blocks[0]
    if "reporting-mta" in first or "x-postfix-sender" in first or "arrival-date" in first or len(blocks) > 1:
        per_message, recipients = first, blocks[1:]
    else:
        per_message, recipients = {}, blocks
    bounce.reporting_mta = bounce.reporting_mta or _host(_typed(per_message.get("reporting-mta", "")))
    sender = _typed(per_message.get("x-postfix-sender", "") or per_message.get("x-original-sender", ""))
    if sender and "@" in sender:
        bounce.envelope_sender = sender
    for block in recipients:
        if not any(k in block for k in ("final-recipient", "original-recipient", "action", "status")):
            continue
        st = DeliveryStatus(source="delivery-status")
        st.recipient = _address(_typed(block.get("final-recipient", "") or block.get("original-recipient", "")))
        st.action = _unfold(block.get("action", "")).strip().lower()[:20]
        st.remote_mta = _host(_typed(block.get("remote-mta", "")))
        diag = _unfold(block.get("diagnostic-code", ""))
        if ";" in diag[:20]:
            diag = diag.split(";", 1)[1]
        _set_codes(st, _unfold(block.get("status", "")), diag)
        bounce.statuses.append(st)


def _typed(value: str) -> str:
    """``rfc822; user@example.com`` / ``dns; mx.example.com`` → the value."""
    v = _unfold(value).strip()
    if ";" in v:
        v = v.split(";", 1)[1]
    return v.strip().strip("<>").strip()[:320]


def _host(value: str) -> str:
    """``gmail-smtp-in.l.google.com. (2607:f8b0::1, the server for the domain gmail.com.)`` → the host name."""
    first = value.strip().split(None, 1)[0] if value.strip() else ""
    return first.strip("[]()<>;,").rstrip(".").lower()[:255]


def _address(value: str) -> str:
    m = _ADDR.search(value)
    return m.group(0) if m else value[:320]


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n[ \t]+", " ", value or "")


def _set_codes(st: DeliveryStatus, status_field: str, diag: str) -> None:
    """Fill status, reply code and the receiver's words from the Status field and the diagnostic text."""
    m = ENHANCED.search(status_field[:200])
    status = m.group(1) if m else ""
    reply, enh_in_diag, words = _split_diagnostic(diag)
    # A generic Status (X.0.0) next to a specific code from the receiver: the receiver's code says more.
    if enh_in_diag and (not status or status.endswith(".0.0")) and enh_in_diag[:1] == (status[:1] or enh_in_diag[:1]):
        status = enh_in_diag
    st.status = status or enh_in_diag
    st.reply_code = reply
    st.diagnostic = words


def normalize_diagnostic(text: str) -> str:
    """The receiver's words on one line: the repeated ``550-5.7.26`` prefixes of a multi-line SMTP reply,
    Postfix's "(in reply to ... command)" and extra white space removed."""
    t = _IN_REPLY_TO.sub(" ", text[: MAX_DIAGNOSTIC * 2])
    lines = [ln.strip() for ln in t.replace("\r", "\n").split("\n")]
    t = " ".join(ln for ln in lines if ln)
    t = re.sub(r"\s+", " ", t).strip()
    return t[:MAX_DIAGNOSTIC]


def _split_diagnostic(diag: str) -> tuple[str, str, str]:
    """(reply code, enhanced code, the words with every continuation prefix removed) from a diagnostic."""
    text = normalize_diagnostic(diag)
    reply, enh = "", ""
    m = REPLY_ENHANCED.search(text[:400])
    if m:
        reply, enh = m.group(1), m.group(2)
    else:
        m2 = re.match(r"\W{0,4}#?([245]\d\d)(?:[ -]|$)", text)
        if m2:
            reply = m2.group(1)
        m3 = ENHANCED.search(text[:400])
        if m3:
            enh = m3.group(1)
    if reply:
        # remove every "550-5.7.26 " / "550 5.7.26 " / "550-" continuation prefix of this reply
        pat = re.compile(rf"(?<![\w.]){reply}[ -]+(?:#?{re.escape(enh)}\s?)?" if enh else rf"(?<![\w.]){reply}[ -]+")
        text = pat.sub(" ", text)
        text = re.sub(r"\s+", " ", text).strip()
        if enh:
            text = re.sub(rf"^\(?#?{re.escape(enh)}\)?\s*", "", text)
    return reply, enh, text.strip(" '\"")[:MAX_DIAGNOSTIC]


# -- non-standard bounces and pasted text ------------------------------------------------------------------

def _statuses_from_text(text: str, *, exclude: set[str]) -> list[DeliveryStatus]:
    """The failure a non-standard bounce (or pasted error text) reports, read from its words."""
    text = text[: MAX_TEXT * 4]
    body = _before_returned(text)
    m = REPLY_ENHANCED.search(body)
    start = m.start() if m else -1
    if start < 0:
        m2 = _REPLY_AFTER_WORD.search(body) or _REPLY_LINE.search(body)
        if m2:
            start = m2.start(1)
    if start < 0:
        m3 = ENHANCED.search(body)
        if m3 is None:
            return []
        st = DeliveryStatus(source="text", status=m3.group(1))
        st.recipient = _recipient_near(body, m3.start(), exclude)
        return [st]
    chunk = _diagnostic_chunk(body, start)
    st = DeliveryStatus(source="text")
    _set_codes(st, "", chunk)
    if not st.status:  # Exim's "(#5.1.1)" or "Status: 5.1.1" further on
        m4 = ENHANCED.search(body[start:start + 2000])
        if m4:
            st.status = m4.group(1)
    st.recipient = _recipient_near(body, start, exclude)
    st.remote_mta = _remote_in(body[max(0, start - 600):start])
    return [st]


# How pasted text names the server that answered: Postfix "host NAME[IP] said:" (also in its log's "status=bounced
# (host ...)" and "relay=NAME[IP]:25"), Exim "host NAME [IP]:", Gmail "by NAME. [IP].", pasted DSN fields
# "Remote-MTA: dns; NAME", or just "NAME said:". The last one before the reply wins.
_REMOTE = (
    re.compile(r"\bhost\s+([A-Za-z0-9.-]{3,253}?)\.?\s*\["),
    re.compile(r"\brelay=([A-Za-z0-9.-]{3,253}?)\.?\["),
    re.compile(r"\bRemote-MTA:\s*dns;\s*([A-Za-z0-9.-]{3,253})", re.IGNORECASE),
    re.compile(r"\bby\s+([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)\.?\s*\[\d"),
    re.compile(r"(?:^|\s)([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)\.?\s+said:"),
)


def _remote_in(text: str) -> str:
    """The remote server's host name in pasted text before the reply ("" when none is named)."""
    best, at = "", -1
    for pat in _REMOTE:
        for m in pat.finditer(text):
            name = m.group(1).strip(".").lower()
            if "." in name and _host_ok(name) and m.start() >= at:
                best, at = name, m.start()
    return best


def _host_ok(name: str) -> bool:
    return len(name) <= 253 and all(0 < len(label) <= 63 for label in name.split(".")) and not name.replace(".", "").isdigit()


def _fill_from_text(bounce: Bounce, text: str) -> None:
    """A DSN whose per-recipient fields lack the receiver's words: take them from the human text."""
    for st in bounce.statuses:
        if st.diagnostic and st.status and st.remote_mta:
            continue
        found = _statuses_from_text(text, exclude=set())
        if found:
            f = found[0]
            if st.diagnostic and st.status and f.status != st.status:
                continue  # the human text speaks of another failure: only fill from the same one
            st.diagnostic = st.diagnostic or f.diagnostic
            st.reply_code = st.reply_code or f.reply_code
            st.status = st.status or f.status
            st.remote_mta = st.remote_mta or f.remote_mta


def _before_returned(text: str) -> str:
    m = _SEPARATORS.search(text)
    return text[: m.start()] if m else text


def _diagnostic_chunk(text: str, start: int) -> str:
    """From ``start`` to the end of the receiver's reply: a blank line, a separator, or 3000 characters."""
    end = len(text)
    blank = re.search(r"\n[ \t]*\n", text[start:start + 6000])
    if blank:
        end = start + blank.start()
    chunk = text[start:min(end, start + 3000)]
    # Microsoft's NDR quotes the reply: "Remote server returned '550 5.7.509 ...'" (in German "... hat '550 ...'
    # zurückgegeben"): the reply ends at the last quote, whatever apostrophes it has inside ("domain's").
    if start > 0 and text[start - 1:start] in ("'", "‘", "’", '"'):
        q = max(chunk.rfind(text[start - 1]), chunk.rfind("’"))
        if q > 4:
            chunk = chunk[:q]
    return chunk


def _recipient_near(text: str, pos: int, exclude: set[str]) -> str:
    rc = _RCPT_TO.search(text)
    if rc and rc.group(1).lower() not in exclude:
        return str(rc.group(1))
    before = [a for a in _ADDR.findall(text[max(0, pos - 1200):pos]) if a.lower() not in exclude
              and not a.lower().startswith(("mailer-daemon@", "postmaster@"))]
    if before:
        return str(before[-1])
    after = [a for a in _ADDR.findall(text[pos:pos + 600]) if a.lower() not in exclude]
    if after:
        return str(after[0])
    anywhere = [a for a in _ADDR.findall(text[:20000]) if a.lower() not in exclude
                and not a.lower().startswith(("mailer-daemon@", "postmaster@"))]
    return str(anywhere[0]) if anywhere else ""


def _inline_returned(bounce: Bounce, text: str) -> None:
    """A copy of the returned message (or its headers) inside the text, after a separator line or, failing
    that, where a block of header lines starts after the receiver's reply."""
    m = _SEPARATORS.search(text)
    start = -1
    if m:
        start = m.end()
    else:
        diag_at = REPLY_ENHANCED.search(text)
        start = _header_block_start(text, diag_at.end() if diag_at else 0)
    if start < 0:
        return
    rest = text[start:].lstrip("\r\n")
    hb = _header_block_start(rest, 0)
    if hb < 0:
        return
    rest = rest[hb:]
    parsed = parse_message(rest.encode("utf-8", "surrogateescape")[:MAX_RETURNED])
    if parsed.fields:
        bounce.returned = parsed
        bounce.returned_form = "inline"


def _header_block_start(text: str, pos: int) -> int:
    """Where at least three header lines in a row start (one of them a field every message has)."""
    for tries, m in enumerate(_HEADERISH.finditer(text, pos)):
        if m.start() > pos + 200000 or tries > 500:
            return -1
        lines = text[m.start():m.start() + 1500].split("\n")
        names = []
        for ln in lines[:12]:
            if ln[:1] in (" ", "\t"):
                continue
            hm = _HEADERISH.match(ln + " ")
            if not hm:
                break
            names.append(hm.group(1).lower())
        if len(names) >= 3 and _STRONG_FIELDS & set(names):
            return m.start()
    return -1


# -- facts from the returned message and the receiver's words ---------------------------------------------

_IP4 = r"(?:\d{1,3}\.){3}\d{1,3}"
_IP6 = r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?::" + _IP4 + r")?"
_IP_IN_WORDS = [
    re.compile(rf"with ip:?\s*\[?({_IP4}|{_IP6})\]?", re.IGNORECASE),
    re.compile(rf"sender IP is\s*\[?({_IP4}|{_IP6})\]?", re.IGNORECASE),
    re.compile(rf"client-ip=\s*({_IP4}|{_IP6})", re.IGNORECASE),
    re.compile(rf"(?:messages|connections|mail) (?:will not be accepted )?from\s*\[?({_IP4}|{_IP6})\]?", re.IGNORECASE),
    re.compile(rf"(?:banned sending IP|client host|IP address|your IP)\s*\[?({_IP4}|{_IP6})\]?", re.IGNORECASE),
    re.compile(rf"^\[({_IP4}|{_IP6})\]"),  # Gmail: "550-5.7.25 [203.0.113.5] The IP address sending..."
    re.compile(rf"mail server \[?({_IP4}|{_IP6})\]?", re.IGNORECASE),  # Microsoft 4.7.650: "The mail server [IP] has"
    # "SPF policy: 192.0.2.10 not permitted by example.com" (Postfix policyd-spf, Zoho, Fastmail and others)
    re.compile(rf"(?<![\w.:])({_IP4}|{_IP6})\]? (?:is )?not (?:permitted|allowed|authori[sz]ed)", re.IGNORECASE),
    re.compile(rf"[?&]ip=({_IP4}|{_IP6})(?![\w.:])", re.IGNORECASE),  # a block list's look-up link (Proofpoint, Barracuda)
]
_EMBEDDED_PAIR = re.compile(r"(?<![\w.-])(spf|dkim|dmarc|compauth|arc)\s*=\s*([A-Za-z]{2,20})", re.IGNORECASE)
_WORDS_DKIM = re.compile(r"\bDKIM\s*=\s*(did not pass|[A-Za-z]{2,20})", re.IGNORECASE)
_WORDS_SPF = re.compile(rf"\bSPF\s*\[?([A-Za-z0-9._-]{{0,253}})\]?\s*with ip:?\s*\[?({_IP4}|{_IP6})?\]?\s*=\s*"
                        r"(did not pass|[A-Za-z]{2,20})", re.IGNORECASE)
# Gmail's older wording: "DKIM checks did not pass and SPF check for [example.com] did not pass with ip: [192.0.2.1]"
_WORDS_DKIM_OLD = re.compile(r"\bDKIM checks? (did not pass|passed|failed)", re.IGNORECASE)
_WORDS_SPF_OLD = re.compile(rf"\bSPF check for \[?([A-Za-z0-9._-]{{1,253}})\]? (did not pass|passed|failed)"
                            rf"(?: with ip:? \[?({_IP4}|{_IP6})\]?)?", re.IGNORECASE)
_DOMAIN_IN_WORDS = [
    re.compile(r"(?:unauthenticated )?e?mail from ([A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}) is not accepted", re.IGNORECASE),
    re.compile(r"sending domain \[?([A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63})\]? does", re.IGNORECASE),
]
_DOMAIN_OK = re.compile(r"^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}))+$")
RESULT_WORDS = {"did not pass": "fail", "passed": "pass", "failure": "fail", "failed": "fail", "fail": "fail", "hardfail": "fail",
                "success": "pass", "pass": "pass", "none": "none", "neutral": "neutral",
                "softfail": "softfail", "temperror": "temperror", "permerror": "permerror", "policy": "policy",
                "bestguesspass": "bestguesspass"}


def _facts(bounce: Bounce) -> BounceFacts:
    f = BounceFacts()
    main = bounce.main
    words = main.diagnostic if main is not None else ""
    ret = bounce.returned
    remote = main.remote_mta if main is not None else ""
    # the receiver's own words first: they say what it judged
    dk = _WORDS_DKIM.search(words)
    if dk:
        f.embedded.setdefault("dkim", RESULT_WORDS.get(dk.group(1).lower(), dk.group(1).lower()[:20]))
        f.embedded_words.append(dk.group(0))
    sp = _WORDS_SPF.search(words)
    if sp:
        f.embedded.setdefault("spf", RESULT_WORDS.get(sp.group(3).lower(), sp.group(3).lower()[:20]))
        f.embedded_words.append(sp.group(0))
        if sp.group(1) and "." in sp.group(1):
            f.mailfrom_domain, f.mailfrom_source = domain_of(sp.group(1)), "the receiver's words"
    dko = _WORDS_DKIM_OLD.search(words)
    if dko and "dkim" not in f.embedded:
        f.embedded["dkim"] = RESULT_WORDS.get(dko.group(1).lower(), "fail")
        f.embedded_words.append(dko.group(0))
    spo = _WORDS_SPF_OLD.search(words)
    if spo and "spf" not in f.embedded:
        f.embedded["spf"] = RESULT_WORDS.get(spo.group(2).lower(), "fail")
        f.embedded_words.append(spo.group(0))
        if "." in spo.group(1) and not f.mailfrom_domain:
            f.mailfrom_domain, f.mailfrom_source = domain_of(spo.group(1)), "the receiver's words"
        if spo.group(3) and _usable_ip(spo.group(3)) and not f.sending_ip:
            f.sending_ip, f.sending_ip_source = str(ipaddress.ip_address(spo.group(3))), "the receiver's words"
    for m in _EMBEDDED_PAIR.finditer(words):
        method, result = m.group(1).lower(), m.group(2).lower()
        if method in f.embedded:
            continue
        f.embedded[method] = RESULT_WORDS.get(result, result[:20])
        f.embedded_words.append(m.group(0))
    for pat in _IP_IN_WORDS if not f.sending_ip else ():
        hit = pat.search(words)
        if hit and _usable_ip(hit.group(1)):
            f.sending_ip, f.sending_ip_source = str(ipaddress.ip_address(hit.group(1))), "the receiver's words"
            break
    # the returned message
    ar_ids: list[str] = []
    if ret is not None:
        from_fields = ret.get_all("From")
        addrs = addresses(from_fields[0].value) if from_fields else []
        if addrs and domain_of(addrs[0]):
            f.from_domain, f.from_domain_source = domain_of(addrs[0]), "the From address of the returned message"
        subj = ret.first("Subject")
        f.subject = subj.unfolded[:300] if subj else ""
        mid = ret.first("Message-ID")
        f.message_id = mid.unfolded[:300] if mid else ""
        for sig in ret.get_all("DKIM-Signature")[:MAX_SIGNATURES]:
            tags = parse_tags(sig.value)
            d, s = domain_of(tags.get("d", "")), normalize_selector(tags.get("s", "")) or ""
            if d and s and _DOMAIN_OK.match(d) and Signature(d, s) not in f.signatures:
                f.signatures.append(Signature(d, s))
        _embedded_from_headers(f, ret, remote, bounce.reporting_mta, ar_ids)
        if not f.mailfrom_domain:
            rp = ret.first("Return-Path")
            rp_addrs = addresses(rp.value) if rp else []
            if rp_addrs and domain_of(rp_addrs[0]):
                f.mailfrom_domain, f.mailfrom_source = domain_of(rp_addrs[0]), "the Return-Path of the returned message"
        if not f.sending_ip:
            _ip_from_received(f, ret, remote, bounce.reporting_mta)
    if not f.from_domain:
        for pat in _DOMAIN_IN_WORDS:
            hit = pat.search(words)
            if hit and domain_of(hit.group(1)):
                f.from_domain, f.from_domain_source = domain_of(hit.group(1)), "the receiver's words"
                break
    if not f.mailfrom_domain and bounce.envelope_sender and domain_of(bounce.envelope_sender):
        f.mailfrom_domain = domain_of(bounce.envelope_sender)
        f.mailfrom_source = "the address the bounce was sent to"
    if not f.from_domain and f.mailfrom_domain and f.mailfrom_source == "the address the bounce was sent to":
        f.from_domain, f.from_domain_source = f.mailfrom_domain, "the address the bounce was sent to"
    return f


def _usable_ip(text: str) -> bool:
    """An address that can be the one a receiver saw: not private, loopback, link-local or multicast (the
    documentation ranges are kept: they are what examples and tests use)."""
    try:
        ip = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    if ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        return False
    if isinstance(ip, ipaddress.IPv4Address):
        if any(ip in n for n in _PRIVATE4):
            return False
    elif ip in ipaddress.ip_network("fc00::/7") or ip.ipv4_mapped is not None:
        return False
    return True


_PRIVATE4 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                                    "0.0.0.0/8", "240.0.0.0/4"))


def _same_side(host: str, *names: str) -> bool:
    """``host`` is in the same organization as one of ``names`` (the same organizational domain by the
    simple rule, which knows the common two-level suffixes such as co.uk)."""
    h = host.lower().rstrip(".")
    if not h or "." not in h:
        return False
    for n in names:
        n = n.lower().rstrip(".")
        if n and "." in n and (h == n or simple_org_domain(h) == simple_org_domain(n)):
            return True
    return False


_MICROSOFT = ("outlook.com", "office365.com", "hotmail.com")


def _receiver_side(host: str, remote: str, reporting: str) -> bool:
    """``host`` (an authserv-id, a Received ``by`` host) belongs to the server that refused the message: the
    remote MTA's organization, when that is not the reporting (sending) side. The sender's own hops (its
    submission server, its provider's outbound relays) never count: their "from" address is the sender's
    laptop, not the server the receiver saw."""
    if not host or not remote or _same_side(remote, reporting):
        return False
    return _same_side(host, remote)


def _microsoft_side(remote: str, reporting: str) -> bool:
    return any(_same_side(h, m) or h.endswith("." + m) for h in (remote, reporting) if h for m in _MICROSOFT)


def _embedded_from_headers(f: BounceFacts, ret: ParsedMessage, remote: str, reporting: str, ids: list[str]) -> None:
    """The receiving side's Authentication-Results (or Received-SPF) in the returned headers: the topmost
    one, when it is Microsoft's id-less header or was written by the receiving side."""
    for field_ in ret.get_all("Authentication-Results")[:1]:
        try:
            ar = parse_authentication_results(field_.value, recover=True)
        except AuthResultsError:
            continue
        aid = (ar.authserv_id or "").lower()
        # Microsoft's id-less header when Microsoft refused it (or reported it), else the refusing receiver's own
        if not ((not aid and _microsoft_side(remote, reporting)) or _receiver_side(aid, remote, reporting)):
            continue
        ids.append(aid)
        for r in ar.results:
            method = r.method.lower()
            if method in ("spf", "dkim", "dmarc", "compauth", "arc") and method not in f.embedded:
                f.embedded[method] = r.result.lower()
            if method == "spf":
                mf = r.get("smtp.mailfrom") or r.get("smtp.mail")
                if mf and not f.mailfrom_domain and domain_of(mf):
                    f.mailfrom_domain, f.mailfrom_source = domain_of(mf), "the receiver's Authentication-Results"
                m = re.search(rf"sender IP is\s*({_IP4}|{_IP6})", r.comment or "", re.IGNORECASE)
                if m and not f.sending_ip and _usable_ip(m.group(1)):
                    f.sending_ip = str(ipaddress.ip_address(m.group(1)))
                    f.sending_ip_source = "the receiver's Authentication-Results"
            if method == "dmarc" and not f.from_domain:
                hf = r.get("header.from")
                if hf and domain_of(hf):
                    f.from_domain, f.from_domain_source = domain_of(hf), "the receiver's Authentication-Results"
        f.embedded_words.append(field_.unfolded[:600])
    if not f.sending_ip:
        for field_ in ret.get_all("Received-SPF")[:1]:
            try:
                rs = parse_received_spf(field_.value)
            except Exception:
                log.debug("an unreadable Received-SPF field", exc_info=True)
                continue
            receiver = (rs.receiver or "").lower()
            if not (_receiver_side(receiver, remote, reporting)
                    or ("protection.outlook.com" in receiver and _microsoft_side(remote, reporting))):
                continue
            if rs.client_ip and _usable_ip(rs.client_ip):
                f.sending_ip, f.sending_ip_source = str(ipaddress.ip_address(rs.client_ip)), "the Received-SPF header"
            if rs.result and "spf" not in f.embedded:
                f.embedded["spf"] = rs.result.lower()


def _ip_from_received(f: BounceFacts, ret: ParsedMessage, remote: str, reporting: str) -> None:
    """The topmost Received header, when the refusing receiver wrote it (``_receiver_side``): the address
    it received the message from is the server that sent it."""
    rec = ret.get_all("Received")[:1]
    if not rec:
        return
    by = received_by(rec[0].value) or ""
    if not _receiver_side(by, remote, reporting):
        return
    m = re.search(rf"\[(?:IPv6:)?({_IP4}|{_IP6})\]", rec[0].unfolded, re.IGNORECASE)
    ip = m.group(1) if m else (received_from(rec[0].value) or "")
    if ip and _usable_ip(ip):
        f.sending_ip, f.sending_ip_source = str(ipaddress.ip_address(ip)), f"the Received header written by {by}"
