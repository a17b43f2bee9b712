"""Our own second opinion on a received message's DKIM signatures (RFC 6376, RFC 8463, RFC 8301).

Every DKIM-Signature is re-verified with dkimpy. dkimpy asks DNS synchronously, so the keys are fetched
first, concurrently, through the run's ``DnsClient`` (``<s>._domainkey.<d>`` TXT for every signature),
and dkimpy gets a dict-backed ``dnsfunc``. dkimpy verifies Ed25519 only with PyNaCl, which we do not
ship, so ``ed25519-sha256`` signatures are verified with dkimpy's canonicalization and header hashing
and ``cryptography``'s Ed25519.

When the signature does not verify we say why when it can be told: the key is missing or broken now,
the body hash no longer matches (the body changed in transit), a signed header was added or changed after
signing (which one, when the message shows it: a duplicated singleton header, a signed header sitting
above the signature, or a difference from the ``z=`` copy), the signature expired (``x=``), and we warn
about ``l=`` (it lets anyone append content).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import dkim
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from dkim.canonicalization import CanonicalizationPolicy, InvalidCanonicalizationPolicyError

from ..records.dkim_key import DkimKey, DkimKeyError, parse_dkim_key
from ..dns.client import DnsAnswer, DnsClient
from .authres import parse_tags
from .headers import HeaderField, ParsedMessage

MAX_SIGNATURES = 10  # signatures re-verified per message; more are reported as not checked
MIN_RSA_BITS = 1024  # RFC 8301 §3.2: verifiers MUST NOT accept smaller keys
# What a signer publishes is outside text, and RSA verification costs grow with the key: a 500,000-bit
# modulus with an exponent as large made a 29 KB message take 81 s. Keys are bounded before dkimpy sees
# them. RFC 8301 §3.2: verifiers must handle 1024 to 4096 bits (larger MAY be refused; no large receiver
# publishes support for more). The public exponent: every signer in use (OpenSSL, opendkim-genkey,
# rspamd, dkimpy, Go, .NET and the large providers) makes 65537; 3 and 17 are historic. We accept an odd
# exponent from 3 to 2**17+1, which covers those and costs at most 18 modular squarings; anything larger
# is no key a signer makes, so it is reported as "key too large", not verified.
MAX_RSA_BITS = 4096
MAX_RSA_EXPONENT = 2 ** 17 + 1
VERIFY_BUDGET = 10.0  # seconds of re-verification per message; signatures after it are "not checked"
REQUIRED_TAGS = ("v", "a", "b", "bh", "d", "h", "s")
ALGORITHMS = ("rsa-sha256", "rsa-sha1", "ed25519-sha256")
# Fields that a message should carry once: a second copy breaks (or fools) signatures.
SINGLETONS = frozenset({
    "from", "sender", "reply-to", "to", "cc", "subject", "date", "message-id", "in-reply-to", "references",
    "mime-version", "content-type", "content-transfer-encoding", "list-unsubscribe", "list-unsubscribe-post",
})

_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


def dns_name_ok(name: str) -> bool:
    n = name.rstrip(".")
    if not n or len(n) > 253:
        return False
    return all(_LABEL.match(label) for label in n.split("."))


@dataclass
class Signature:
    """One DKIM-Signature field of the message (``index`` 0 = the topmost)."""

    index: int
    field: HeaderField
    tags: dict[str, str]

    def tag(self, name: str) -> str:
        return self.tags.get(name, "")

    @property
    def d(self) -> str:
        return self.tag("d").lower().rstrip(".")

    @property
    def s(self) -> str:
        return self.tag("s").lower()

    @property
    def a(self) -> str:
        return self.tag("a").lower()

    @property
    def headers(self) -> list[str]:
        return [h.strip().lower() for h in self.tag("h").split(":") if h.strip()]

    @property
    def length(self) -> int | None:
        v = self.tag("l")
        return int(v) if v.isdigit() and len(v) <= 76 else None

    @property
    def key_name(self) -> str | None:
        if not self.d or not self.s or not dns_name_ok(self.d) or not dns_name_ok(self.s):
            return None
        return f"{self.s}._domainkey.{self.d}"

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "d": self.d, "s": self.s, "a": self.a, "i": self.tag("i"),
                "c": self.tag("c") or "simple/simple", "l": self.length, "h": self.headers,
                "t": self.tag("t") or None, "x": self.tag("x") or None, "b": self.tag("b")[:12]}


@dataclass
class OwnCheck:
    """Our verdict on one signature.

    ``result``: pass | fail | permerror | temperror | not-checked. ``reason`` (stable):
    ok, body-changed, header-changed, key-missing, key-revoked, key-invalid, key-unreachable, weak-key,
    key-too-large, sha1, expired, future-timestamp, malformed, unsupported-algorithm, unreadable-message,
    no-body, no-dns, too-many, out-of-time.
    """

    result: str
    reason: str
    explanation: str
    detail: str = ""
    body_hash_ok: bool | None = None
    body_length: int | None = None  # canonicalized body length (to compare with l=)
    key_bits: int | None = None
    key_record: str | None = None
    suspects: list[dict[str, str]] = field(default_factory=list)  # headers that explain a failure

    def to_json(self) -> dict[str, Any]:
        return {"result": self.result, "reason": self.reason, "explanation": self.explanation,
                "detail": self.detail, "body_hash_ok": self.body_hash_ok, "body_length": self.body_length,
                "key_bits": self.key_bits, "key_record": self.key_record, "suspects": list(self.suspects)}


def signatures(msg: ParsedMessage) -> list[Signature]:
    return [Signature(i, f, parse_tags(f.value)) for i, f in enumerate(msg.get_all("DKIM-Signature"))]


def not_checked(reason: str, explanation: str) -> OwnCheck:
    return OwnCheck("not-checked", reason, explanation)


async def second_opinion(msg: ParsedMessage, sigs: list[Signature], dns: DnsClient | None) -> list[OwnCheck]:
    """Re-verify every signature; one ``OwnCheck`` per signature, in order."""
    if not sigs:
        return []
    if dns is None:
        return [not_checked("no-dns", "We did not re-check this signature ourselves, because no DNS "
                            "resolver was available to fetch the signer's key.") for _ in sigs]
    if msg.body is None:
        return [not_checked("no-body", "Only the message headers were given, so we can't re-check the "
                            "signature ourselves: it also covers the message body.") for _ in sigs]
    checked = sigs[:MAX_SIGNATURES]
    names = sorted({n for n in (s.key_name for s in checked) if n})
    answers = await asyncio.gather(*(dns.query(n, "TXT") for n in names))
    keys: dict[str, DnsAnswer] = dict(zip(names, answers))
    rest = [not_checked("too-many", f"The message has {len(sigs)} DKIM signatures; we re-checked only the "
                        f"first {MAX_SIGNATURES}.") for _ in sigs[MAX_SIGNATURES:]]
    # CPU work (canonicalization, RSA): in a worker thread, so the event loop keeps answering meanwhile
    return await asyncio.to_thread(verify_all, msg, checked, keys, total=len(sigs)) + rest


def verify_all(msg: ParsedMessage, sigs: list[Signature], keys: dict[str, DnsAnswer],
               total: int | None = None, budget: float = VERIFY_BUDGET) -> list[OwnCheck]:
    """The synchronous part: verify each signature against the prefetched key answers. ``total``: how
    many DKIM-Signature fields the message has (``sigs`` may be the first of them). After ``budget``
    seconds the remaining signatures are reported as not checked (each one alone is bounded by the key
    limits above and the message size)."""
    records: dict[str, bytes | None] = {name: _pick_record(ans) for name, ans in keys.items()}

    def dnsfunc(name: bytes | str, timeout: float = 5) -> bytes | None:
        n = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        return records.get(n.rstrip(".").lower())

    dk: dkim.DKIM | None
    try:
        dk = dkim.DKIM(msg.raw, minkey=MIN_RSA_BITS, logger=_LOGGER)
        dk_sigs = [y for x, y in dk.headers if x.lower() == b"dkim-signature"]
        if len(dk_sigs) != (len(sigs) if total is None else total):
            dk = None
    except Exception:  # dkimpy on a message it cannot split (stray lines in the header block)
        dk = None
    started = time.monotonic()
    out: list[OwnCheck] = []
    for s in sigs:
        spent = time.monotonic() - started
        if out and spent > budget:  # the first signature is always checked
            out.append(not_checked("out-of-time", f"We stopped re-checking the signatures after {spent:.0f} s "
                                   "(the message or its keys make checking slow), so this one was not checked."))
            continue
        out.append(_verify_one(dk, s, keys.get(s.key_name or ""), records.get(s.key_name or ""), dnsfunc))
    return out


_LOGGER = logging.getLogger("inboxready.mail.dkimpy")
_LOGGER.propagate = False  # dkimpy logs every failure at ERROR level; we report them ourselves
_LOGGER.addHandler(logging.NullHandler())


def _pick_record(answer: DnsAnswer) -> bytes | None:
    """The TXT record dkimpy should see: the first that looks like a DKIM key, else the first."""
    if not answer.ok or not answer.txt_strings:
        return None
    joined = [b"".join(strings) for strings in answer.txt_strings]
    for rec in joined:
        if re.search(rb"(^|;)\s*p\s*=", rec):
            return rec
    return joined[0]


def _verify_one(dk: dkim.DKIM | None, sig: Signature, answer: DnsAnswer | None, record: bytes | None,
                dnsfunc: Callable[..., bytes | None]) -> OwnCheck:
    who = sig.d or "the signer"
    missing = [t for t in REQUIRED_TAGS if not sig.tags.get(t)]
    if missing:
        return OwnCheck("permerror", "malformed",
                        f"The DKIM signature from {who} is incomplete (it lacks "
                        f"{', '.join(t + '=' for t in missing)}), so no receiver can check it.",
                        "RFC 6376 §3.5: v=, a=, b=, bh=, d=, h= and s= are required.")
    if sig.a not in ALGORITHMS:
        return OwnCheck("permerror", "unsupported-algorithm",
                        f"The DKIM signature from {who} uses the algorithm '{sig.a[:40]}', which receivers "
                        "don't support.", "RFC 6376 §3.3, RFC 8463: rsa-sha256 or ed25519-sha256.")
    if "from" not in sig.headers:
        return OwnCheck("permerror", "malformed",
                        f"The DKIM signature from {who} does not cover the From header, so receivers "
                        "ignore it.", "RFC 6376 §5.4: the From header field MUST be signed.")
    name = sig.key_name
    if name is None:
        return OwnCheck("permerror", "malformed",
                        f"The DKIM signature names a signing domain or selector that is not a valid DNS "
                        f"name (d={sig.tag('d')[:60]}, s={sig.tag('s')[:60]}).", "RFC 6376 §3.5")
    if answer is None:
        return not_checked("key-unreachable", f"We could not look up the key at {name}.")
    if answer.failed:
        return OwnCheck("temperror", "key-unreachable",
                        f"We couldn't fetch {who}'s DKIM key from DNS ({answer.describe}), so we couldn't "
                        "check this signature ourselves.", f"TXT {name}: {answer.outcome}")
    if record is None:
        return OwnCheck("permerror", "key-missing",
                        f"There is no DKIM key at {name} in DNS now, so this signature can't be verified. "
                        "If the receiver accepted it, the key was most likely removed or rotated since the "
                        "message was sent.", f"TXT {name}: {answer.describe}")
    rec_text = record.decode("utf-8", "replace")
    too_large = rsa_key_too_large(name, record)  # first: no library gets to work on a key this costly
    if too_large:
        return OwnCheck("not-checked", "key-too-large",
                        f"Not verified: {who}'s DKIM key is too large ({too_large}). Receivers are only required "
                        f"to handle keys of up to {MAX_RSA_BITS} bits with the usual exponent 65537, so many will "
                        "not verify this signature either; the signer should publish a 2048-bit key.",
                        "RFC 8301 §3.2", key_record=rec_text[:2000])
    try:
        key = parse_dkim_key(rec_text)
    except DkimKeyError as exc:
        return OwnCheck("permerror", "key-invalid",
                        f"The DKIM key published at {name} is broken: {exc.message}", rec_text[:200],
                        key_record=rec_text)
    if key.revoked:
        return OwnCheck("permerror", "key-revoked",
                        f"The DKIM key at {name} has been revoked (it is published with an empty p=), so "
                        "signatures made with it no longer count.", "RFC 6376 §3.6.1", key_record=rec_text)
    key_problem = _key_mismatch(sig, key)
    if key_problem:
        return OwnCheck("permerror", "key-invalid", f"The DKIM key at {name} can't be used for this "
                        f"signature: {key_problem}", rec_text[:200], key_record=rec_text, key_bits=key.key_bits)
    if dk is None:
        return OwnCheck("permerror", "unreadable-message",
                        "The message's header block has lines that are not header fields, so the signature "
                        "can't be checked.", "dkimpy could not split the message (RFC 5322 §2.2).",
                        key_bits=key.key_bits, key_record=rec_text)

    body_ok, body_len = _body_hash(dk, sig)
    base: dict[str, Any] = {"body_hash_ok": body_ok, "body_length": body_len, "key_bits": key.key_bits,
                            "key_record": rec_text}
    if key.key_type == "rsa" and (key.key_bits or 0) < MIN_RSA_BITS:
        return OwnCheck("fail", "weak-key",
                        f"{who}'s DKIM key is only {key.key_bits} bits; receivers reject keys shorter than "
                        f"{MIN_RSA_BITS} bits (use 2048).", "RFC 8301 §3.2", **base)
    try:
        if key.key_type == "rsa":
            ok = bool(dk.verify(idx=sig.index, dnsfunc=dnsfunc))
        else:
            ok = _verify_ed25519(dk, sig, key)
    except dkim.DKIMException as exc:
        return _classify_exception(str(exc), sig, body_ok, base)
    except Exception as exc:  # dkimpy internals on hostile input
        return OwnCheck("permerror", "malformed", f"The DKIM signature from {who} could not be processed.",
                        f"{type(exc).__name__}: {exc}"[:300], **base)
    if ok:
        if sig.a == "rsa-sha1":
            return OwnCheck("fail", "sha1", f"The signature from {who} verifies, but it uses rsa-sha1, which "
                            "receivers no longer accept; sign with rsa-sha256.", "RFC 8301 §3.1", **base)
        return OwnCheck("pass", "ok", f"The signature from {who} checks out: the signed headers and body "
                        f"are unchanged and the key at {name} matches.", "", **base)
    if body_ok is False:
        return _body_changed(sig, base)
    suspects = header_suspects(dk_fields(dk), sig)
    return OwnCheck("fail", "header-changed", _header_changed_words(who, suspects),
                    "The body hash matches but the signature over the signed header fields does not "
                    "(RFC 6376 §6.1.3).", suspects=suspects, **base)


def rsa_key_too_large(name: str, record: bytes | None) -> str:
    """Why the RSA key in ``record`` is too costly to verify (modulus over ``MAX_RSA_BITS``, exponent over
    ``MAX_RSA_EXPONENT`` or not a usable one), read with dkimpy's own parser (what ``dkim.verify`` would
    use), or "" when it is within bounds (or dkimpy can't read it: it then fails on its own, cheaply)."""
    if not record:
        return ""
    try:
        pk, _size, ktag, _ = dkim.evaluate_pk(name.encode("ascii", "replace"), record)
    except Exception:  # noqa: BLE001 - dkimpy's own parse errors: it reports them itself
        return ""
    if ktag != b"rsa" or not isinstance(pk, dict):
        return ""
    n, e = pk.get("modulus"), pk.get("publicExponent")
    if not isinstance(n, int) or not isinstance(e, int):
        return ""
    bits = n.bit_length()
    if bits > MAX_RSA_BITS:
        return f"{bits} bits; at most {MAX_RSA_BITS} are checked"
    if e > MAX_RSA_EXPONENT:
        return (f"its public exponent has {e.bit_length()} bits; real signers use 65537, and at most "
                f"{MAX_RSA_EXPONENT} is checked")
    return ""


def _key_mismatch(sig: Signature, key: DkimKey) -> str:
    alg_type = sig.a.split("-", 1)[0]
    if key.key_type != alg_type:
        return f"the key is k={key.key_type} but the signature uses {sig.a}."
    hash_name = sig.a.rsplit("-", 1)[-1]
    if key.hashes is not None and hash_name not in key.hashes:
        return f"the key allows only h={':'.join(key.hashes)}, and the signature uses {hash_name}."
    if not key.for_email:
        return f"the key is limited to s={':'.join(key.services)}, not e-mail."
    return ""


def _body_hash(dk: dkim.DKIM, sig: Signature) -> tuple[bool | None, int | None]:
    try:
        policy = CanonicalizationPolicy.from_c_value((sig.tag("c") or "simple/simple").encode("ascii"))
        body = policy.canonicalize_body(dk.body)
        full = len(body)
        if sig.length is not None:
            body = body[:sig.length]
        hasher = hashlib.sha1 if sig.a == "rsa-sha1" else hashlib.sha256
        expected = base64.b64decode(sig.tag("bh"), validate=False)
        return hasher(body).digest() == expected, full
    except (InvalidCanonicalizationPolicyError, binascii.Error, ValueError, UnicodeEncodeError):
        return None, None


def _verify_ed25519(dk: dkim.DKIM, sig: Signature, key: DkimKey) -> bool:
    prep = dk.verify_headerprep(idx=sig.index)  # validates the tags (x=, t=, i=…); raises DKIMException
    if not prep:
        return False
    tags, include, sigheaders = prep
    policy = CanonicalizationPolicy.from_c_value(tags.get(b"c", b"simple/simple"))
    body = policy.canonicalize_body(dk.body)
    if b"l" in tags:
        body = body[:int(tags[b"l"])]
    if hashlib.sha256(body).digest() != base64.b64decode(re.sub(rb"\s+", b"", tags[b"bh"])):
        raise dkim.ValidationError("body hash mismatch")
    include = list(include)
    if b"from" in include:
        include.append(b"from")  # as dkimpy does: an extra From breaks the signature
    h = hashlib.sha256()
    headers = policy.canonicalize_headers(dk.headers)
    dkim.hash_headers(h, policy, headers, include, sigheaders[sig.index], tags)
    signature = base64.b64decode(re.sub(rb"\s+", b"", tags[b"b"]))
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(key.public_key).verify(signature, h.digest())
    except (InvalidSignature, ValueError):
        return False
    return True


def _classify_exception(text: str, sig: Signature, body_ok: bool | None, base: dict[str, Any]) -> OwnCheck:
    who = sig.d or "the signer"
    low = text.lower()
    if "body hash mismatch" in low:
        return _body_changed(sig, base)
    if "x= value is past" in low:
        return OwnCheck("fail", "expired", f"The signature from {who} has expired: it carries an expiry time "
                        f"(x={sig.tag('x')}) that has passed. It may have been valid when the message was "
                        "delivered, but it can't be verified any more.", text[:300], **base)
    if "future" in low:
        return OwnCheck("fail", "future-timestamp", f"The signature from {who} claims to have been made in "
                        "the future (t=), so it is rejected; the signing server's clock is probably wrong.",
                        text[:300], **base)
    if "too small" in low:
        return OwnCheck("fail", "weak-key", f"{who}'s DKIM key is too short for receivers to accept.",
                        text[:300], **base)
    return OwnCheck("permerror", "malformed", f"The DKIM signature from {who} is malformed, so receivers "
                    "can't check it.", text[:300], **base)


def _body_changed(sig: Signature, base: dict[str, Any]) -> OwnCheck:
    who = sig.d or "the signer"
    return OwnCheck("fail", "body-changed",
                    f"The message body is no longer what {who} signed: it was changed after signing, for "
                    "example by a footer or disclaimer added by a mailing list or security gateway, or by "
                    "re-encoding the text.",
                    "The body hash (bh=) does not match the body (RFC 6376 §3.7).", **base)


def _header_changed_words(who: str, suspects: list[dict[str, str]]) -> str:
    head = f"A header that {who} signed was changed or added after signing, so the signature no longer fits."
    if not suspects:
        return head + (" The body is unchanged. Common causes are a subject tag like [EXTERNAL] added by a "
                       "gateway, or a mailing list rewriting headers.")
    parts = [s["words"] for s in suspects[:3]]
    return head + " " + " ".join(parts)


# -- which signed header explains a failure ----------------------------------------------------------


@dataclass(frozen=True)
class SignedField:
    name: str
    value: str
    index: int


def dk_fields(dk: dkim.DKIM) -> list[SignedField]:
    out = []
    for i, (x, y) in enumerate(dk.headers):
        out.append(SignedField(x.decode("utf-8", "replace").strip().lower(), y.decode("utf-8", "replace"), i))
    return out


def header_suspects(fields: list[SignedField], sig: Signature) -> list[dict[str, str]]:
    """Signed header fields that explain a header-hash failure: duplicated singletons, selected instances
    that sit above the signature (added after signing), and differences from the ``z=`` copies."""
    sig_pos = next((f.index for f in fields if f.name == "dkim-signature"
                    and parse_tags(f.value).get("b") == sig.tag("b")), None)
    listed: dict[str, int] = {}
    for h in sig.headers:
        listed[h] = listed.get(h, 0) + 1
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for name, count in listed.items():
        inst = [f for f in fields if f.name == name]
        label = _label(name)
        if name in SINGLETONS and len(inst) > 1:
            out.append({"header": label, "problem": "duplicated",
                        "words": f"The message now has {len(inst)} {label} header fields; a second one was "
                                 "added after signing."})
            seen.add(name)
            continue
        if sig_pos is None:
            continue
        selected = inst[-count:] if count < len(inst) else inst
        above = [f for f in selected if f.index < sig_pos]
        if above and name not in seen:
            value = " ".join(above[0].value.split())[:80]
            out.append({"header": label, "problem": "added-after-signing",
                        "words": f"The {label} header (now \"{value}\") sits above the signature, so it was "
                                 "most likely added or changed after signing."})
            seen.add(name)
    for name, original in _z_copies(sig).items():
        if name in seen:
            continue
        inst = [f for f in fields if f.name == name]
        now = " ".join(inst[-1].value.split()) if inst else None
        if now != original:
            label = _label(name)
            words = (f"The {label} header was \"{original[:60]}\" when signed and is now \"{now[:60]}\"."
                     if now is not None else f"The {label} header that was signed is gone.")
            out.append({"header": label, "problem": "changed", "words": words})
            seen.add(name)
    return out


def _label(name: str) -> str:
    return "-".join(p[:1].upper() + p[1:] for p in name.split("-")) if name != "message-id" else "Message-ID"


def _z_copies(sig: Signature) -> dict[str, str]:
    """``z=`` (RFC 6376 §3.5): copies of the signed header fields, in DKIM quoted-printable."""
    z = sig.tags.get("z", "")
    out: dict[str, str] = {}
    for part in "".join(z.split()).split("|"):
        if ":" not in part:
            continue
        name, val = part.split(":", 1)
        try:
            decoded = re.sub(r"=([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), val)
        except ValueError:
            continue
        out.setdefault(name.strip().lower(), " ".join(decoded.split()))
    return out
