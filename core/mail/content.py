"""What the content of a received test message shows: plain advice, no made-up score.

``analyze_content(raw, from_domain)`` looks at the body the recipient sees: a visible unsubscribe link
(for mail that looks like marketing), a postal address (a heuristic, and said so), how many links and
images there are, links to domains that are not the From domain's organization, URL shorteners
(``rules/url_shorteners.json``), an all-capitals or bait subject, HTML without a plain-text part and
mail that is little more than images. HTML is read with the standard library's ``html.parser``.

``run_spamassassin(raw)`` runs SpamAssassin (when ``spamassassin`` is on PATH) with local tests only
(``-L``: no network lookups) and returns its score, threshold and the rules that fired, or None when it
isn't installed. It blocks: from async code use ``await spamassassin_async(raw)``.

Nothing here raises for odd input: broken MIME, unknown charsets or junk bytes give a result.
"""

from __future__ import annotations

import asyncio
import email
import email.message
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from functools import lru_cache
from html.parser import HTMLParser
from importlib import resources
from typing import Any, Mapping
from urllib.parse import urlsplit

from ..model import CheckResult, Finding, Severity, Status, derive_status
from .trust import simple_org_domain

SHORTENER_FILE = "url_shorteners.json"
MAX_BODY = 2_000_000  # characters of decoded text/HTML we read (a huge message is cut, and said so)
IMAGE_ONLY_TEXT = 40  # characters of text below which a message with pictures is "image only"
IMAGE_TEXT_PER_IMAGE = 25  # ... or fewer characters than this per picture
MARKETING_LINKS = 5  # an HTML message with this many links or more looks like a newsletter

# Words that mark an unsubscribe link, in the languages our users write in most (lower case).
UNSUBSCRIBE_WORDS = (
    "unsubscribe", "opt out", "opt-out", "optout", "manage preferences", "manage your preferences",
    "email preferences", "stop receiving", "abmelden", "abbestellen", "désabonner", "desabonner",
    "désinscri", "desinscri", "darse de baja", "darte de baja", "cancelar suscripción", "uitschrijven",
    "afmelden", "disiscriviti", "cancella l'iscrizione", "descadastr", "cancelar inscrição", "avregistrera",
    "afmeld", "wypisz",
)
# Phrases spam filters associate with spam when they lead a subject. A short, plain list: advice only.
BAIT_PHRASES = (
    "act now", "100% free", "risk-free", "risk free", "you've won", "you have won", "winner", "urgent",
    "click here", "limited time", "once in a lifetime", "cash bonus", "no cost", "guaranteed", "$$$",
    "double your", "earn money", "make money", "miracle", "lowest price", "congratulations",
)

_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"')\]]+", re.I)
_STREET = re.compile(
    r"\b\d{1,5}[a-z]?\s+(?:[A-Z][\w.'-]*\s+){0,4}(?:street|st\.?|road|rd\.?|avenue|ave\.?|boulevard|blvd\.?|"
    r"lane|ln\.?|drive|dr\.?|way|court|ct\.?|place|pl\.?|square|sq\.?|suite|highway|hwy\.?|parkway|pkwy\.?)\b"
    r"|\b[\w-]*(?:straße|strasse|str\.|weg|gasse|platz|allee|laan|straat|gatan|vej|katu)\s+\d{1,5}[a-z]?\b"
    r"|\b\d{1,5},?\s+(?:rue|avenue|boulevard|bd|chemin|allée|place|impasse|quai)\s"
    r"|\b(?:via|viale|piazza|corso|calle|avenida|rua|plaza|carrer)\s+[\w' .-]{2,40}?,?\s+\d{1,5}\b"
    r"|\bp\.?\s?o\.?\s+box\s+\d+|\bpostfach\s+\d+|\bpostbus\s+\d+|\bboîte postale\b",
    re.I)
_POSTCODE = re.compile(
    r"\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b"  # US: state and ZIP
    r"|\b[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2}\b"  # UK postcode
    r"|\b\d{4}\s?[A-Z]{2}\b"  # NL
    r"|\b\d{5}\s+[A-ZÄÖÜ][a-zäöüß]+",  # DE/FR/IT/ES: five digits and a town
)


# -- reading the message ---------------------------------------------------------------------------


class _Html(HTMLParser):
    """Visible text, links (href and their text) and images of an HTML body."""

    _HIDDEN = ("script", "style", "head", "title", "template")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: list[dict[str, str]] = []
        self.images = 0
        self._hidden = 0
        self._link: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag == "a":
            self._link = {"href": a.get("href", "").strip(), "text": ""}
            self.links.append(self._link)
        elif tag == "img":
            self.images += 1
            if self._link is not None and a.get("alt"):
                self._link["text"] += " " + a["alt"]
        elif tag in ("br", "p", "div", "tr", "li", "td"):
            self.text.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            return  # <script/> opens nothing
        self.handle_starttag(tag, attrs)
        if tag == "a":
            self._link = None

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag == "a":
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        self.text.append(data)
        if self._link is not None:
            self._link["text"] += data


@dataclass
class _Body:
    plain: str = ""
    html: str = ""
    has_plain: bool = False
    has_html: bool = False
    image_parts: int = 0
    attachments: int = 0
    cut: bool = False
    problems: list[str] = field(default_factory=list)


def _to_message(raw: bytes | email.message.Message) -> email.message.Message:
    if isinstance(raw, email.message.Message):
        return raw
    data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8", "replace")
    return email.message_from_bytes(data)


def _decode_part(part: email.message.Message, body: _Body) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception as exc:  # broken transfer encoding: read what we can
        body.problems.append(f"{type(exc).__name__} while decoding a part")
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except (LookupError, ValueError):
        body.problems.append(f"unknown charset {charset!r}")
        return payload.decode("utf-8", errors="replace")


def _read_body(msg: email.message.Message) -> _Body:
    body = _Body()
    plain: list[str] = []
    html: list[str] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = (part.get_content_type() or "text/plain").lower()
        disposition = str(part.get("Content-Disposition", "") or "").lower()
        if disposition.startswith("attachment"):
            body.attachments += 1
            continue
        if ctype.startswith("image/"):
            body.image_parts += 1
        elif ctype == "text/plain":
            body.has_plain = True
            plain.append(_decode_part(part, body))
        elif ctype == "text/html":
            body.has_html = True
            html.append(_decode_part(part, body))
        elif not ctype.startswith("text/"):
            body.attachments += 1
    body.plain, body.html = "\n".join(plain), "\n".join(html)
    if len(body.plain) > MAX_BODY or len(body.html) > MAX_BODY:
        body.cut = True
        body.plain, body.html = body.plain[:MAX_BODY], body.html[:MAX_BODY]
    return body


def _header(msg: email.message.Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # a header the email package can't represent
        return ""
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value)))).strip()
    except Exception:
        return str(value).strip()


@lru_cache(maxsize=1)
def load_shorteners() -> dict[str, str]:
    """Shortener domain → service name, from ``rules/url_shorteners.json``."""
    text = resources.files("inboxready.core.rules").joinpath(SHORTENER_FILE).read_text(encoding="utf-8")
    return {str(e["domain"]).lower(): str(e["service"]) for e in json.loads(text)["shorteners"]}


def _host(url: str) -> str:
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    try:
        host = host.encode("idna").decode("ascii") if host and not host.isascii() else host
    except UnicodeError:
        pass
    return host.lower().rstrip(".")


def _shortener(host: str, table: Mapping[str, str]) -> str | None:
    labels = host.split(".")
    for i in range(len(labels) - 1):
        service = table.get(".".join(labels[i:]))
        if service is not None:
            return service
    return None


_HOSTLIKE = re.compile(r"^(?:https?://)?((?:[a-z0-9-]+\.)+[a-z]{2,})(?:[/:?#]\S*)?$", re.I)


# -- the card --------------------------------------------------------------------------------------


def analyze_content(raw: bytes | email.message.Message, from_domain: str, *,
                    org_domains: Mapping[str, str] | None = None,
                    spamassassin: SpamAssassinResult | None = None,
                    spamassassin_tried: bool = False) -> CheckResult:
    """The "content" card for one message. ``from_domain``: the From address's domain;
    ``org_domains``: organizational domains already found by the RFC 9989 tree walk (domain → org),
    used before the simple public-suffix rule; ``spamassassin``: a result of ``run_spamassassin`` to show
    (``spamassassin_tried=True`` with None means it isn't installed, and the card says so)."""
    try:
        return _analyze(raw, from_domain, org_domains or {}, spamassassin, spamassassin_tried)
    except Exception as exc:  # a last guard: the message report never breaks on the content card
        f = Finding("content.unreadable", Severity.UNKNOWN,
                    "We couldn't read the body of this message, so its content wasn't checked.",
                    f"{type(exc).__name__}: {exc}"[:300])
        return CheckResult("content", Status.ERROR, "The message body couldn't be read.", findings=[f],
                           detail={"result": None})


def _org(domain: str, orgs: Mapping[str, str]) -> str:
    domain = domain.lower().rstrip(".")
    return orgs.get(domain) or simple_org_domain(domain)


def _analyze(raw: bytes | email.message.Message, from_domain: str, orgs: Mapping[str, str],
             sa: SpamAssassinResult | None, sa_tried: bool) -> CheckResult:
    msg = _to_message(raw)
    body = _read_body(msg)
    subject = _header(msg, "Subject")
    findings: list[Finding] = []

    parser = _Html()
    if body.html:
        try:
            parser.feed(body.html)
            parser.close()
        except Exception as exc:  # html.parser is lenient; this is a guard only
            body.problems.append(f"HTML: {type(exc).__name__}")
    html_text = re.sub(r"\s+", " ", "".join(parser.text)).strip()
    plain_text = re.sub(r"[ \t\r\f\v]+", " ", body.plain).strip()
    visible = html_text if body.has_html else plain_text

    links: list[dict[str, str]] = [
        lk for lk in parser.links if lk["href"].lower().startswith(("http://", "https://"))]
    if not body.has_html:
        links = [{"href": u.rstrip(".,;:!?"), "text": ""} for u in _URL_IN_TEXT.findall(plain_text)]
    mailto = [lk for lk in parser.links if lk["href"].lower().startswith("mailto:")]
    # inline image parts are usually the pictures the HTML shows (cid:), so don't count them twice
    images = max(parser.images, body.image_parts) if body.has_html else body.image_parts

    from_org = _org(from_domain, orgs) if from_domain else ""
    hosts = [h for h in (_host(lk["href"]) for lk in links) if h]
    link_domains = sorted(set(hosts))
    foreign = sorted({h for h in hosts if from_org and _org(h, orgs) != from_org})
    table = load_shorteners()
    shorteners = sorted({f"{h} ({s})" for h in hosts if (s := _shortener(h, table)) is not None})

    headers_lower = {k.lower() for k in msg.keys()}
    precedence = _header(msg, "Precedence").lower()
    marketing = ("list-unsubscribe" in headers_lower or "list-id" in headers_lower
                 or precedence in ("bulk", "list") or (body.has_html and len(links) >= MARKETING_LINKS))
    unsub_words = [w for w in UNSUBSCRIBE_WORDS if w in visible.lower()]
    unsub_links = [lk for lk in parser.links + links
                   if any(w in (lk["text"] + " " + lk["href"]).lower() for w in UNSUBSCRIBE_WORDS)]
    visible_unsub = bool(unsub_links) or (bool(unsub_words) and bool(links or mailto))
    postal = bool(_STREET.search(visible) or _POSTCODE.search(visible))

    if not visible and not images:
        findings.append(Finding("content.empty", Severity.INFO,
                                "This message has no text we could read in its body, so there was little to "
                                "check. If you meant to test your real mail, send a copy of it."))
    if marketing and not visible_unsub:
        findings.append(Finding("content.no-visible-unsubscribe", Severity.WARNING,
                                "This looks like marketing mail, but we found no unsubscribe link people can see "
                                "in the message. Google, Yahoo and Microsoft ask for a clear one in the body, as "
                                "well as the one-click unsubscribe header.",
                                "Looked for a link whose text or address mentions unsubscribing (in several "
                                "languages). Marketing-looking: a List-Unsubscribe or List-Id header, "
                                f"Precedence: bulk/list, or HTML with {MARKETING_LINKS}+ links.",
                                "Google sender guidelines; Yahoo Sender Best Practices"))
    if marketing and not postal:
        findings.append(Finding("content.no-postal-address", Severity.INFO,
                                "We couldn't spot a postal address in this message. Laws on marketing mail (for "
                                "example CAN-SPAM in the US) ask for your physical address; this is a rough "
                                "guess from the text, so ignore it if your address is there.",
                                "Heuristic: street names with a number, PO boxes and postcode patterns in a few "
                                "countries' styles. It misses many formats.", "CAN-SPAM Act, 15 U.S.C. 7704"))
    if shorteners:
        findings.append(Finding("content.url-shortener", Severity.WARNING,
                                f"The message uses shortened links ({', '.join(shorteners[:5])}). Spam filters "
                                "distrust them because they hide where a link goes; link to your own website "
                                "instead.", "Shortener list: rules/url_shorteners.json"))
    mismatched = _text_mismatches(links)
    if mismatched:
        findings.append(Finding("content.link-text-mismatch", Severity.WARNING,
                                "Some links show one web address but lead to another, which is what phishing "
                                "does, so filters and readers distrust it: " + "; ".join(mismatched[:3]) + ". "
                                "Show the real address, or plain words like 'Read more'.",
                                "The text of the link looks like a domain that differs (by organization) from "
                                "the domain of its href.", ""))
    if foreign and from_org:
        listed = f"{', '.join(foreign[:6])}{'…' if len(foreign) > 6 else ''}"
        if len(link_domains) == 1:
            lead = f"Your links point to a domain other than {from_org}: {listed}."
        elif len(foreign) == 1:
            lead = f"1 of the {len(link_domains)} domains your links point to is not {from_org}: {listed}."
        else:
            lead = f"{len(foreign)} of the {len(link_domains)} domains your links point to are not {from_org}: {listed}."
        findings.append(Finding("content.foreign-link-domains", Severity.INFO,
                                f"{lead} Links "
                                "through your mail service's click tracking are normal; links to unrelated "
                                "domains make mail look less trustworthy. Many services let you track clicks "
                                "under your own domain.",
                                "Compared by organizational domain (RFC 9989 tree walk where we had it, else the "
                                "last two labels, three under well-known two-level suffixes like co.uk)."))
    if subject:
        letters = [c for c in subject if c.isalpha()]
        if len(letters) >= 8 and all(c.isupper() for c in letters):
            findings.append(Finding("content.subject-all-caps", Severity.WARNING,
                                    "The subject is written in capital letters only. That reads as shouting and "
                                    "spam filters count it against the message; write it normally."))
        low = subject.lower()
        bait = [p for p in BAIT_PHRASES if p in low]
        if bait or subject.count("!") >= 3:
            found = bait[:3] + (["!!!"] if subject.count("!") >= 3 else [])
            findings.append(Finding("content.subject-bait", Severity.INFO,
                                    f"The subject uses words or punctuation spam filters watch for "
                                    f"({', '.join(repr(b) for b in found)}). Plain, specific subjects reach the "
                                    "inbox more often."))
    if body.has_html and not body.has_plain:
        findings.append(Finding("content.html-only", Severity.WARNING,
                                "The message is HTML only, with no plain-text version. Some filters count that "
                                "against it and some readers can't show HTML: have your mail tool add a text "
                                "part (usually a 'plain-text version' setting).",
                                "No text/plain part next to text/html (multipart/alternative).", "RFC 2046 §5.1.4"))
    if images and (len(visible) < IMAGE_ONLY_TEXT or len(visible) < IMAGE_TEXT_PER_IMAGE * images):
        findings.append(Finding("content.image-only", Severity.WARNING,
                                f"The message is mostly pictures ({images} image{'' if images == 1 else 's'} and {len(visible)} characters "
                                "of text). Filters can't read pictures and treat such mail with suspicion, and "
                                "many readers block images: put your message in text too."))
    if body.cut:
        findings.append(Finding("content.truncated", Severity.INFO,
                                "The message body is very large; we read only its first two million characters."))

    if sa is not None:
        level = Severity.WARNING if sa.is_spam else Severity.INFO
        findings.append(Finding("content.spamassassin", level,
                                f"SpamAssassin on this computer scores the message {sa.score:g} (it calls mail spam "
                                f"from {sa.required:g}). " + ("It would be filed as spam. " if sa.is_spam else "")
                                + "See the rules that fired below; each is a hint, not a verdict of Gmail or "
                                "Outlook.com, which use their own filters.",
                                "; ".join(f"{r['name']} ({r['score']:+g}): {r['description']}"
                                          for r in sa.rules[:12]), "SpamAssassin (local tests only, -L)"))
    elif sa_tried:
        findings.append(Finding("content.spamassassin-unavailable", Severity.INFO,
                                "SpamAssassin isn't installed on this computer, so there is no SpamAssassin score. "
                                "Install the 'spamassassin' package to see one.", ""))

    detail: dict[str, Any] = {
        "result": None,
        "subject": subject,
        "marketing": marketing,
        "html": body.has_html,
        "text_part": body.has_plain,
        "text_chars": len(visible),
        "links": len(links),
        "link_domains": link_domains,
        "foreign_link_domains": foreign,
        "from_org_domain": from_org or None,
        "images": images,
        "shorteners": shorteners,
        "visible_unsubscribe": visible_unsub,
        "postal_address": postal,
        "postal_address_heuristic": True,
        "attachments": body.attachments,
        "problems": body.problems,
        "spamassassin": sa.to_json() if sa is not None else ({"available": False} if sa_tried else None),
    }
    status = derive_status(findings)
    problems = [f for f in findings if f.severity in (Severity.WARNING, Severity.ERROR)]
    counts = f"{len(links)} link{'s' if len(links) != 1 else ''}, {images} image{'s' if images != 1 else ''}"
    if problems:
        summary = f"{len(problems)} thing{'s' if len(problems) != 1 else ''} in the content may hurt delivery ({counts})."
    else:
        summary = f"Nothing in the content stands out ({counts})."
    return CheckResult("content", status, summary, findings=findings, detail=detail)


def _text_mismatches(links: list[dict[str, str]]) -> list[str]:
    out: list[str] = []
    for lk in links:
        m = _HOSTLIKE.match(lk["text"].strip())
        if m is None:
            continue
        shown = m.group(1).lower()
        real = _host(lk["href"])
        if real and simple_org_domain(shown) != simple_org_domain(real):
            out.append(f"'{shown}' goes to {real}")
    return out


# -- SpamAssassin ----------------------------------------------------------------------------------


@dataclass
class SpamAssassinResult:
    """SpamAssassin's view of one message: ``score`` against ``required`` and the rules that fired."""

    score: float
    required: float
    rules: list[dict[str, Any]]  # {"name", "score", "description"}
    version: str | None = None

    @property
    def is_spam(self) -> bool:
        return self.score >= self.required

    def to_json(self) -> dict[str, Any]:
        return {"available": True, "score": self.score, "required": self.required, "is_spam": self.is_spam,
                "rules": list(self.rules), "version": self.version}


_SA_HEAD = re.compile(r"Content analysis details:\s*\((-?[\d.]+) points?, (-?[\d.]+) required\)")
_SA_RULE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s+(.*)$")
_SA_STATUS = re.compile(r"score=(-?[\d.]+)\s+required=(-?[\d.]+)")
_SA_VERSION = re.compile(r"SpamAssassin version ([\w.]+)")


def parse_spamassassin_report(text: str) -> SpamAssassinResult | None:
    """Read the report ``spamassassin -t`` adds (None when there is none)."""
    head = _SA_HEAD.search(text)
    if head is None:
        status = _SA_STATUS.search(text)
        if status is None:
            return None
        score, required = float(status.group(1)), float(status.group(2))
        return SpamAssassinResult(score, required, [])
    try:
        score, required = float(head.group(1)), float(head.group(2))
    except ValueError:
        return None
    rules: list[dict[str, Any]] = []
    table = False
    for line in text[head.end():].splitlines():
        if line.startswith("----"):
            table = True
            continue
        if not table:
            continue
        if not line.strip():
            if rules:
                break
            continue
        m = _SA_RULE.match(line)
        if m is not None:
            rules.append({"name": m.group(2), "score": float(m.group(1)), "description": m.group(3).strip()})
        elif rules and line.startswith(" "):
            rules[-1]["description"] = (rules[-1]["description"] + " " + line.strip()).strip()
    version = _SA_VERSION.search(text)
    return SpamAssassinResult(score, required, rules, version.group(1) if version else None)


def spamassassin_path() -> str | None:
    return shutil.which("spamassassin")


def run_spamassassin(raw: bytes, *, timeout: float = 30) -> SpamAssassinResult | None:
    """Run ``spamassassin -L -x -t`` (local tests only, no network; don't create a preferences file) on
    ``raw``. None when SpamAssassin is not installed, or when it failed or timed out."""
    path = spamassassin_path()
    if path is None:
        return None
    env = dict(os.environ, LANG="C", LC_ALL="C")
    try:
        proc = subprocess.run([path, "-L", "-x", "-t"], input=raw, capture_output=True, timeout=timeout,
                              env=env, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    result = parse_spamassassin_report(proc.stdout.decode("utf-8", errors="replace"))
    if result is not None and result.version is None:
        result.version = _sa_version(path)
    return result


@lru_cache(maxsize=2)
def _sa_version(path: str) -> str | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = _SA_VERSION.search(out.decode("utf-8", errors="replace"))
    return m.group(1) if m else None


async def spamassassin_async(raw: bytes, *, timeout: float = 30) -> SpamAssassinResult | None:
    """``run_spamassassin`` in a worker thread, for async callers."""
    return await asyncio.to_thread(run_spamassassin, raw, timeout=timeout)


__all__ = ["analyze_content", "run_spamassassin", "spamassassin_async", "spamassassin_path",
           "parse_spamassassin_report", "SpamAssassinResult", "load_shorteners"]
