"""Turning what people paste into a domain name we can check."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

import dns.name

try:  # IDNA 2008 (RFC 5891) when the idna package is installed; else Python's IDNA 2003 codec
    import idna as _idna
except ImportError:  # pragma: no cover - the idna package comes with requests
    _idna = None  # type: ignore[assignment]

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


class DomainError(ValueError):
    """The text is not something we can turn into a domain name; the message says why, plainly."""


@dataclass(frozen=True)
class DomainInput:
    domain: str  # ASCII (A-label) form, lower case, no trailing dot
    display: str  # what to show the user (Unicode form for internationalized names)
    note: str = ""  # e.g. "Checking example.com (taken from the e-mail address you pasted)"


# Scripts that UTS #39 ("highly restrictive") lets one label mix: Japanese, Chinese and Korean writing with
# Latin. Any other mix (Latin with Cyrillic, Greek with Latin, ...) is how lookalike names are made.
_SCRIPT_SETS = (frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}), frozenset({"LATIN", "HAN", "BOPOMOFO"}),
                frozenset({"LATIN", "HAN", "HANGUL"}))
_SCRIPT_ALIASES = {"CJK": "HAN", "IDEOGRAPHIC": "HAN", "KATAKANA-HIRAGANA": "KATAKANA", "HALFWIDTH": "KATAKANA",
                   "ARABIC-INDIC": "ARABIC", "EXTENDED": "ARABIC"}
# Characters of no script of their own: digits, the hyphen, and the joiners IDNA allows in context.
_COMMON = frozenset("0123456789-\u00b7\u0375\u05f3\u05f4\u30fb")
# The scripts UTS #39 recommends for identifiers (Table 5). A letter of any other script (Cherokee, Lisu,
# Canadian syllabics, ...: "limited use", several of them with letters drawn like Latin capitals) keeps the
# name in its xn-- form, as browsers do.
_RECOMMENDED = frozenset({
    "ARABIC", "ARMENIAN", "BENGALI", "BOPOMOFO", "CYRILLIC", "DEVANAGARI", "ETHIOPIC", "GEORGIAN", "GREEK",
    "GUJARATI", "GURMUKHI", "HAN", "HANGUL", "HEBREW", "HIRAGANA", "KANNADA", "KATAKANA", "KHMER", "LAO", "LATIN",
    "MALAYALAM", "MYANMAR", "ORIYA", "SINHALA", "TAMIL", "TELUGU", "THAANA", "THAI", "TIBETAN"})
# Letters of other scripts that look like Latin letters (as browsers judge whole-script lookalikes): a label
# written only with these, under an ending not of that script, reads as a Latin name (аррӏе is not apple,
# ցօօց is not goog). The endings where such names are ordinary words are listed with each script.
_LATIN_LOOKALIKES = {
    "CYRILLIC": frozenset("аысԁеԍһіюкјӏорԗԛѕԝхуъьҽпгѵѡ"),
    "GREEK": frozenset("αικνρυωηοτχ"),
    "ARMENIAN": frozenset("ագզէլհյոսւցօՙ"),
    "GEORGIAN": frozenset("იოყძხჽჿ"),
    "HEBREW": frozenset("דוחיןסװײ׳ﬦ"),
    "ETHIOPIC": frozenset("ሀሠሰስበነተከዐዕዘጠፐꬅ"),
}
_LOOKALIKE_ENDINGS = {
    "CYRILLIC": frozenset({"bg", "by", "kz", "xn--p1acf", "ru", "su", "ua", "uz"}),  # xn--p1acf: рус
    "GREEK": frozenset({"gr"}), "ARMENIAN": frozenset({"am"}), "GEORGIAN": frozenset({"ge"}),
    "HEBREW": frozenset({"il"}), "ETHIOPIC": frozenset({"er", "et"}),
}
# Latin letters that are not letters of any language's alphabet but phonetic or technical symbols, several
# drawn like ASCII letters (ɑ for a, ᴀ for A, ꞎ): UTS #39 does not allow them in identifiers.
_TECHNICAL_LATIN = ((0x0250, 0x02AF), (0x1D00, 0x1DBF), (0xA720, 0xA7FF), (0xAB30, 0xAB6F))


def _script(ch: str) -> str:
    """The script of one character, from its Unicode name ("" for a mark or a character of no script)."""
    if ch in _COMMON or unicodedata.category(ch).startswith("M"):
        return ""
    word = unicodedata.name(ch, "?").split(" ", 1)[0]
    return _SCRIPT_ALIASES.get(word, word)


def _scripts(label: str) -> set[str]:
    return {s for s in map(_script, label) if s}


def _odd_letters(label: str) -> bool:
    """A letter of a script not recommended for names, a technical Latin letter, or a combining mark put on
    a letter whose dot it would hide or fake (i, j, l, dotless ı: ``paypal`` with a dot above its l)."""
    for i, ch in enumerate(label):
        script = _script(ch)
        if script and script not in _RECOMMENDED:
            return True
        if script == "LATIN" and any(lo <= ord(ch) <= hi for lo, hi in _TECHNICAL_LATIN):
            return True
        if unicodedata.category(ch).startswith("M") and i and label[i - 1] in "ijl\u0131":
            return True
    return False


def _safe_label(label: str, ending_scripts: set[str], ending: str = "") -> bool:
    """Whether a decoded label can be shown as Unicode: one script (or a CJK mix UTS #39 allows) of those
    recommended for names, and not a label of another script's letters that all look Latin."""
    if _odd_letters(label):
        return False
    scripts = _scripts(label)
    if len(scripts) > 1 and not any(scripts <= allowed for allowed in _SCRIPT_SETS):
        return False
    for script, lookalikes in _LATIN_LOOKALIKES.items():
        if scripts == {script} and script not in ending_scripts and ending not in _LOOKALIKE_ENDINGS[script]:
            letters = [c for c in label if _script(c)]
            if letters and all(c in lookalikes for c in letters):
                return False
    return True


def _decode(ascii_name: str) -> str | None:
    """The Unicode form of an ASCII domain name, or None when a label is not a valid IDNA A-label (the
    decoded name must encode back to the same ASCII name)."""
    try:
        if _idna is not None:
            text = _idna.decode(ascii_name)
            back = _idna.encode(text).decode("ascii")
        else:  # pragma: no cover - without the idna package
            text = ascii_name.encode("ascii").decode("idna")
            back = text.encode("idna").decode("ascii")
    except (UnicodeError, ValueError):
        return None
    return text if back.lower() == ascii_name.lower() else None


def display_domain(domain: str) -> str:
    """A domain name as people write it: an internationalized name (``xn--bcher-kva.example``) in its
    Unicode form (``bücher.example``). The ASCII form is kept, whole, when a label doesn't decode as IDNA,
    mixes scripts (``pаypal`` with a Cyrillic а), or is made only of another script's Latin lookalikes: the
    Unicode form would then show a name that looks like another one. DNS records and fixes never use this
    form; only the words around them do."""
    name = domain.rstrip(".")
    if "xn--" not in name.lower() or not name.isascii():
        return domain
    text = _decode(name.lower())
    if text is None:
        return domain
    labels = text.split(".")
    ending = _scripts(labels[-1])
    tld = name.lower().rsplit(".", 1)[-1]
    if not all(_safe_label(label, ending, tld) for label in labels):
        return domain
    return text + ("." if domain.endswith(".") else "")


def to_unicode(domain: str) -> str:
    """The name to show for a checked domain (``display_domain``)."""
    return display_domain(domain)


# A domain name in a sentence that has an A-label (xn--) in it. Not a name that is part of a record, an
# address or a longer name: preceded by "_x." (a record's host: _dmarc.xn--…), "=" or ":" (a tag or an SPF
# term: d=xn--…, include:xn--…), "@" (an address, which must be typed as is), "/" (a URL).
_IDN_IN_TEXT = re.compile(r"(?<![\w.=:@/-])((?:[a-z0-9-]+\.)*xn--[a-z0-9-]+(?:\.[a-z0-9-]+)*)(?![\w@-]|\.[\w-])",
                          re.IGNORECASE | re.ASCII)


def display_names(text: str) -> str:
    """Every internationalized domain name in a sentence in its Unicode form (``display_domain``), for the
    words people read: a summary, a finding's message, a headline. Never for a record, a fix or a detail."""
    if "xn--" not in text.lower():
        return text
    return _IDN_IN_TEXT.sub(lambda m: display_domain(m.group(1)), text)


def _did_you_mean(guess: str) -> str:
    """The sentence " Did you mean example.com?" when the guess is a domain name we could check, else ""."""
    try:
        return f" Did you mean {parse_domain(guess).display}?" if guess else ""
    except DomainError:
        return ""


def parse_domain(text: str) -> DomainInput:
    """Accept ``example.com``, ``https://www.example.com/path``, ``user@example.com``,
    ``mailto:user@example.com``, ``bücher.example`` and return the domain to check.

    ``www.`` is kept when typed as a host on its own, but a URL's ``www.`` host is reduced to the
    domain people send mail from, and the note says so.
    """
    raw = (text or "").strip().strip("<>\"'").strip()
    if not raw:
        raise DomainError("Type a domain name, for example example.com.")
    note = ""
    host = raw
    if raw.lower().startswith("mailto:"):
        host = raw[7:]
    if "://" in host:
        parts = urlsplit(host)
        host = parts.hostname or ""
        if not host:
            raise DomainError(f"There is no domain name in {raw!r}.")
        if host.startswith("www."):
            host = host[4:]
            note = "the web address you pasted, without www"
        else:
            note = "the web address you pasted"
    if "@" in host:
        host = host.rsplit("@", 1)[1]
        note = "the e-mail address you pasted"
    host = host.split("/", 1)[0].split("?", 1)[0]
    if ":" in host and host.count(":") == 1:
        host = host.split(":", 1)[0]
    host = host.strip().rstrip(".")
    if not host:
        raise DomainError(f"There is no domain name in {raw!r}.")
    if any(c.isspace() for c in host):
        raise DomainError(f"{host!r} has a space in it; a domain name cannot.")
    if "," in host:  # a slip of the finger: example,com
        raise DomainError(f"{host!r} has a comma in it; the parts of a domain name are separated by dots."
                          + _did_you_mean(host.replace(",", ".")))
    if host.startswith(".") or ".." in host:
        raise DomainError(f"{host!r} has an empty part (two dots in a row, or a dot at the start); a domain "
                          "name cannot." + _did_you_mean(re.sub(r"\.{2,}", ".", host).strip(".")))
    try:
        name = dns.name.from_unicode(host) if not host.isascii() else dns.name.from_text(host)
        ascii_name = name.to_text(omit_final_dot=True).lower()
    except dns.name.LabelTooLong:
        raise DomainError(f"{host!r} is not a valid domain name: a part between two dots can be at most 63 "
                          "characters long.") from None
    except dns.name.NameTooLong:
        raise DomainError(f"{host!r} is not a valid domain name: it is longer than the 253 characters a domain "
                          "name can have.") from None
    except Exception as exc:
        raise DomainError(f"{host!r} is not a valid domain name ({str(exc).rstrip('.')}).") from None
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise DomainError(f"{host!r} is not a full domain name; add the ending, for example {host}.com.")
    for label in labels:
        if not _LABEL.match(label):
            raise DomainError(f"{host!r} is not a valid domain name (the part {label!r} is not allowed).")
    if labels[-1].isdigit():
        raise DomainError(f"{host!r} looks like an IP address; type the domain name you send mail from.")
    display = to_unicode(ascii_name)
    if display != ascii_name and not note:
        note = f"internationalized name, looked up as {ascii_name}"
    elif not note and ascii_name != host.lower() and "xn--" in ascii_name:  # typed in Unicode, shown as xn--
        note = ("internationalized name shown in its DNS form: its letters mix scripts or look like other "
                "letters, so it could pass for another name")
    return DomainInput(ascii_name, display, note)
