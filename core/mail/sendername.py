"""The sender's name in From: does it claim a domain or an address the message is not from?

A mail app shows the display name first, often alone: ``"paypal.com" <x@evil.example>`` reads as PayPal,
``"support@bank.example" <x@evil.example>`` as the bank, whatever the address says. DMARC checks only the
address, so such a message can pass everything; Gmail and Yahoo treat a name that imitates another domain as
a sign of phishing. ``display_name_claims`` finds the domains and addresses written in the visible text of a
From header outside its address (the display name and comments, encoded words decoded) that are not of the
From domain's organization; ``display_name_finding`` words the warning.

Written to be hard to dodge: the text is NFKC-normalized (fullwidth ``ｐａｙｐａｌ．ｃｏｍ``, ``＠``), the
other dots IDNA treats as dots (``。``) count as dots, invisible format characters (zero-width spaces, bidi
controls) are dropped before matching, and an internationalized name is compared in its A-label form. A
word with a dot is a domain only when it ends in a real top-level domain (the public-suffix list bundled
with ``tldextract``, read offline) or a special-use one (``example``, ``test``, ``invalid``, ``localhost``),
so "Dr.Smith" or "v2.0" is not one; an address (``@``) counts with any ending.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

import idna

from ..model import Finding, Severity
from .trust import simple_org_domain

SPECIAL_USE_TLDS = frozenset({"example", "test", "invalid", "localhost"})  # RFC 2606 / RFC 6761
MAX_NAME = 1000  # characters of a From header's visible text we look at
MAX_CLAIMS = 5

_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_ADDRESS = re.compile(rf"[\w.+'&%=~!#$*/?^`{{|}}-]{{1,64}}@((?:{_LABEL}\.)+{_LABEL})\.?(?![\w-])")
_DOMAIN = re.compile(rf"(?<![\w@.-])((?:{_LABEL}\.)+{_LABEL})\.?(?![\w@-]|\.[\w-])")


@functools.lru_cache(maxsize=1)
def _extractor() -> Any:
    import tldextract

    # the bundled public-suffix snapshot only: never a download, never a cache file
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False)


def _ascii(domain: str) -> str:
    d = domain.lower().rstrip(".")
    if d.isascii():
        return d
    try:
        return idna.encode(d, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return d


def _unicode(domain: str) -> str:
    try:
        return idna.decode(domain) if "xn--" in domain else domain
    except (idna.IDNAError, UnicodeError, ValueError):
        return domain


def _is_domain(domain: str) -> bool:
    """Ends in a real top-level domain (or a special-use one)."""
    tld = domain.rsplit(".", 1)[-1]
    if tld in SPECIAL_USE_TLDS:
        return True
    r = _extractor()(_unicode(domain))
    return bool(r.suffix and r.domain)


def org_domain(domain: str) -> str:
    """The registered domain by the public-suffix list (``mail.paypal.co.uk`` → ``paypal.co.uk``); the simple
    rule of ``trust`` for a name under no listed suffix (``mail.shop.example`` → ``shop.example``)."""
    r = _extractor()(_unicode(domain))
    if r.suffix and r.domain:
        return _ascii(f"{r.domain}.{r.suffix}")
    return simple_org_domain(domain)


def _visible_text(from_value: str, address: str) -> str:
    """What a reader sees of the From header besides the address: the display name and any comment."""
    text = from_value[:MAX_NAME]
    if address:
        text = re.sub(r"<\s*" + re.escape(address) + r"\s*>", " ", text, flags=re.IGNORECASE)
        text = re.sub(r"(?<![\w.+-])" + re.escape(address) + r"(?![\w-])", " ", text, flags=re.IGNORECASE)
    text = unicodedata.normalize("NFKC", text).translate(_DOTS)
    return "".join(c for c in text if unicodedata.category(c) != "Cf")  # zero-width and bidi controls


def _same_sender(claimed: str, from_domain: str, orgs: dict[str, str]) -> bool:
    if not from_domain:
        return False
    if claimed == from_domain or claimed.endswith("." + from_domain) or from_domain.endswith("." + claimed):
        return True
    ours = {org_domain(from_domain), orgs.get(from_domain, "")} - {""}
    return org_domain(claimed) in ours


def display_name_claims(from_value: str, address: str, from_domain: str,
                        orgs: dict[str, str] | None = None) -> list[str]:
    """The addresses and domains the visible text of a From header (``from_value``, encoded words decoded)
    names outside its ``address`` that are not of ``from_domain``'s organization (``orgs``: organizational
    domains already found by the DNS tree walk), as written (lower-case), at most ``MAX_CLAIMS``."""
    text = _visible_text(from_value, address)
    if "." not in text:
        return []
    found: list[str] = []
    seen: set[str] = set()
    for m in _ADDRESS.finditer(text):
        claimed = _ascii(m.group(1))
        if claimed not in seen and not _same_sender(claimed, from_domain, orgs or {}):
            found.append(m.group(0).rstrip(".").lower())
        seen.add(claimed)
    rest = _ADDRESS.sub(" ", text)
    for m in _DOMAIN.finditer(rest):
        claimed = _ascii(m.group(1))
        if claimed in seen or not _is_domain(claimed):
            continue
        seen.add(claimed)
        if not _same_sender(claimed, from_domain, orgs or {}):
            found.append(m.group(1).lower())
    return found[:MAX_CLAIMS]


def display_name_finding(from_value: str, address: str, from_domain: str,
                         orgs: dict[str, str] | None = None) -> Finding | None:
    """A warning when the sender's name in From names another domain or address (``display_name_claims``)."""
    claims = display_name_claims(from_value, address, from_domain, orgs)
    if not claims or not address:
        return None
    what = claims[0]
    kind = "the address" if "@" in what else "the domain"
    others = f" (and {', '.join(claims[1:])})" if claims[1:] else ""
    return Finding(
        "msg.display-name-imitates", Severity.WARNING,
        f"The sender's name in From shows {kind} {what}{others}, but the message was sent from {address} "
        f"({from_domain}). Mail apps show that name first, so readers take the message for one from {what}; "
        "Gmail and Yahoo treat a name that imitates another domain as a sign of phishing. If this is your "
        "mail, put your brand's name there instead (no domain, no address), or send from an address at the "
        "domain the name shows.",
        f"From: {from_value[:300]}", "RFC 5322 §3.4")


__all__ = ["display_name_claims", "display_name_finding", "org_domain"]
