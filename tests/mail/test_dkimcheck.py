"""Our own DKIM re-verification (dkimpy, keys prefetched through DnsClient from the loopback server).

Conformance: ``dkim/cases.yml`` (verify cases: every signature's outcome; sign-then-verify cases signed
here with dkimpy). The two Ed25519 sign-then-verify cases are not run: signing Ed25519 with dkimpy needs
PyNaCl, which we don't ship; Ed25519 *verification* is covered by three verify cases (RFC 8463, Exim,
Stalwart) through our own Ed25519 path.
"""

from __future__ import annotations

import random
import types
from pathlib import Path
from typing import Any

import dkim
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from inboxready.core.dns.client import DnsClient
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.mail.dkimcheck import OwnCheck, Signature, header_suspects, SignedField, second_opinion, signatures
from inboxready.core.mail.headers import parse_message
from inboxready.core.model import quote_txt, split_txt

from ..conftest import conformance_cases, conformance_dir, run


def txt(value: str) -> str:
    return " ".join(quote_txt(s) for s in split_txt(value))


def dkim_dir() -> Path:
    return conformance_dir("dkim")


def key_pem() -> bytes:
    return (dkim_dir() / "dkimpy" / "test.private").read_bytes()


def key_txt() -> str:
    return (dkim_dir() / "dkimpy" / "test.txt").read_text().strip()


def check(server: DnsTestServer, raw: bytes, *, timeout: float = 1.0, dns: bool = True) -> list[OwnCheck]:
    async def go() -> list[OwnCheck]:
        msg = parse_message(raw)
        client = DnsClient([server.address], timeout=timeout) if dns else None
        try:
            return await second_opinion(msg, signatures(msg), client)
        finally:
            if client is not None:
                client.close()
    return run(go())


BODY = (b"From: Shop <news@shop.example>\r\nTo: alice@example.net\r\nSubject: Spring sale\r\n"
        b"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <1@shop.example>\r\n\r\nHello!\r\nBye.\r\n")
SIGNED = [b"from", b"to", b"subject", b"date", b"message-id"]
ZONE = "s1._domainkey IN TXT {key}\n"


def sign(msg: bytes = BODY, *, pem: bytes | None = None, headers: list[bytes] | None = None,
         length: bool = False, alg: bytes = b"rsa-sha256", selector: bytes = b"s1") -> bytes:
    sig = dkim.sign(msg, selector, b"shop.example", pem or key_pem(), include_headers=headers or SIGNED,
                    length=length, signature_algorithm=alg)
    return sig + msg


def publish(server: DnsTestServer, zone: str = ZONE, **values: str) -> None:
    server.add_zone("shop.example", zone.format(key=txt(values.get("key", key_txt()))))


# -- conformance ---------------------------------------------------------------------------------------


def _verify_cases() -> list[dict[str, Any]]:
    return yaml.safe_load((dkim_dir() / "cases.yml").read_text())["verify"]


def _load_verify(case: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    data = (dkim_dir() / case["message"]).read_bytes()
    records = dict(case.get("dns") or {})
    if case["message_format"] == "stalwart":
        head, msg = data.split(b"\n\n", 1)
        for line in head.decode().splitlines():
            name, value = line.split(" ", 1)
            records[name] = value
        msg = msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        return msg, records
    return data, records


def _serve_all(server: DnsTestServer, records: dict[str, str]) -> None:
    zones: dict[str, list[str]] = {}
    for name, value in records.items():
        zones.setdefault(name.split("._domainkey.", 1)[1], []).append(f"{name}. IN TXT {txt(value)}")
    for origin, lines in zones.items():
        server.add_zone(origin, "\n".join(lines) + "\n")


@pytest.mark.parametrize("case", conformance_cases(_verify_cases), ids=lambda c: c["id"])
def test_verify_conformance(dns_server: DnsTestServer, case: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    msg, records = _load_verify(case)
    _serve_all(dns_server, records)
    if "verify_time" in case:
        monkeypatch.setattr(dkim, "time", types.SimpleNamespace(time=lambda: case["verify_time"]))
    got = check(dns_server, msg)
    assert [c.result for c in got] == case["expect"]
    assert all(c.reason == "ok" and c.body_hash_ok for c in got)


def test_expiring_signature_fails_now_and_says_expired(dns_server: DnsTestServer) -> None:
    case = next(c for c in _verify_cases() if c["id"] == "stalwart-005-topicbox-expiring")
    msg, records = _load_verify(case)
    _serve_all(dns_server, records)
    got = check(dns_server, msg)
    assert [c.result for c in got] == case["expect_at_current_time"]
    assert got[0].reason == "expired" and "expired" in got[0].explanation


ROUNDTRIP_KEYS = {
    "dkimpy-rsa-basic": ("test.txt", "pass", "ok"),
    "dkimpy-rsa-implicit-k": ("test2.txt", "pass", "ok"),
    "dkimpy-rsa-bad-version": ("badversion.txt", "fail", "key-invalid"),
    "dkimpy-rsa-unknown-k": ("badk.txt", "fail", "key-invalid"),
    "dkimpy-rsa-unparsable-key": ("test_bad.txt", "fail", "key-invalid"),
}


@pytest.mark.parametrize("case_id", sorted(ROUNDTRIP_KEYS))
def test_roundtrip_key_records(dns_server: DnsTestServer, case_id: str) -> None:
    case = next(c for c in yaml.safe_load((dkim_dir() / "cases.yml").read_text())["roundtrip"] if c["id"] == case_id)
    key_file, expect, reason = ROUNDTRIP_KEYS[case_id]
    assert case["expect"] == expect and case["dns_record"].endswith(key_file)
    msg = (dkim_dir() / case["message"]).read_bytes()
    signed = dkim.sign(msg, case["s"].encode(), case["d"].encode(), key_pem()) + msg
    dns_server.add_zone(case["d"], f"{case['s']}._domainkey IN TXT {txt((dkim_dir() / 'dkimpy' / key_file).read_text().strip())}\n")
    got = check(dns_server, signed)
    assert (got[0].result == "pass") == (expect == "pass")
    assert got[0].reason == reason


def test_roundtrip_altered_body(dns_server: DnsTestServer) -> None:
    publish(dns_server)
    got = check(dns_server, sign() + b"foo")
    assert (got[0].result, got[0].reason, got[0].body_hash_ok) == ("fail", "body-changed", False)
    assert "body" in got[0].explanation


@pytest.mark.parametrize("where", ["top", "bottom"])
def test_roundtrip_extra_from_is_named(dns_server: DnsTestServer, where: str) -> None:
    publish(dns_server)
    signed = sign()
    extra = b'From: "Resident Evil" <sales@spammer.example>\r\n'
    if where == "top":
        raw = extra + signed
    else:
        head, body = signed.split(b"\r\n\r\n", 1)
        raw = head + b"\r\n" + extra + b"\r\n" + body
    got = check(dns_server, raw)
    assert (got[0].result, got[0].reason) == ("fail", "header-changed")
    assert got[0].suspects[0]["header"] == "From" and got[0].suspects[0]["problem"] == "duplicated"
    assert "2 From header fields" in got[0].explanation


def test_roundtrip_unrelated_added_header_still_passes(dns_server: DnsTestServer) -> None:
    publish(dns_server)
    got = check(dns_server, b"X-Foo: bar\r\n" + sign())
    assert got[0].result == "pass"


def test_roundtrip_repeated_received_headers(dns_server: DnsTestServer) -> None:
    msg = (dkim_dir() / "dkimpy" / "message.mbox").read_bytes()
    signer = dkim.DKIM(msg)
    signer.should_not_sign = set()
    names = [x.lower() for x, _ in signer.headers]
    sig = signer.sign(b"test", b"example.com", key_pem(), include_headers=names)
    dns_server.add_zone("example.com", f"test._domainkey IN TXT {txt(key_txt())}\n")
    dns_server.add_origin("kitterman.com")  # the 2011 signer's key is gone: NXDOMAIN
    got = check(dns_server, sig + msg)
    assert got[0].result == "pass"
    assert got[1].result == "permerror" and got[1].reason == "key-missing"


# -- why a signature fails ----------------------------------------------------------------------------


def test_length_tag_passes_with_appended_text_and_reports_it(dns_server: DnsTestServer) -> None:
    publish(dns_server)
    raw = sign(length=True) + b"Click here for a prize!\r\n"
    got = check(dns_server, raw)
    assert got[0].result == "pass"
    sig = signatures(parse_message(raw))[0]
    assert sig.length is not None and got[0].body_length is not None and got[0].body_length > sig.length


def test_oversigned_header_added_above_signature(dns_server: DnsTestServer) -> None:
    publish(dns_server)
    signed = sign(headers=SIGNED + [b"list-unsubscribe"])  # signed while absent: may not be added later
    got = check(dns_server, b"List-Unsubscribe: <https://evil.example/u>\r\n" + signed)
    assert (got[0].result, got[0].reason) == ("fail", "header-changed")
    assert got[0].suspects == [{"header": "List-Unsubscribe", "problem": "added-after-signing",
                                "words": got[0].suspects[0]["words"]}]
    assert "sits above the signature" in got[0].explanation


def test_subject_changed_by_gateway(dns_server: DnsTestServer) -> None:
    publish(dns_server)
    raw = sign().replace(b"Subject: Spring sale", b"Subject: [EXTERNAL] Spring sale")
    got = check(dns_server, raw)
    assert (got[0].result, got[0].reason, got[0].body_hash_ok) == ("fail", "header-changed", True)
    assert "changed or added after signing" in got[0].explanation


def test_z_tag_names_the_changed_header() -> None:
    raw = sign()
    sig = signatures(parse_message(raw))[0]
    sig.tags["z"] = "From:news@shop.example|Subject:Spring=20sale"
    fields = [SignedField("dkim-signature", sig.field.value, 0), SignedField("from", " news@shop.example", 1),
              SignedField("subject", " [EXTERNAL] Spring sale", 2)]
    got = header_suspects(fields, sig)
    assert got == [{"header": "Subject", "problem": "changed", "words": got[0]["words"]}]
    assert '"Spring sale" when signed' in got[0]["words"]


def test_key_missing_now(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("shop.example", "www IN A 192.0.2.1\n")
    got = check(dns_server, sign())
    assert (got[0].result, got[0].reason) == ("permerror", "key-missing")
    assert "rotated" in got[0].explanation


def test_key_revoked(dns_server: DnsTestServer) -> None:
    publish(dns_server, key="v=DKIM1; p=")
    got = check(dns_server, sign())
    assert (got[0].result, got[0].reason) == ("permerror", "key-revoked")


def test_key_type_mismatch(dns_server: DnsTestServer) -> None:
    publish(dns_server, key="v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
    got = check(dns_server, sign())
    assert (got[0].result, got[0].reason) == ("permerror", "key-invalid")
    assert "k=ed25519" in got[0].explanation


def test_key_lookup_timeout_is_temperror(dns_server: DnsTestServer) -> None:
    publish(dns_server)
    dns_server.timeout_names.add("s1._domainkey.shop.example")
    got = check(dns_server, sign(), timeout=0.3)
    assert (got[0].result, got[0].reason) == ("temperror", "key-unreachable")


def _weak_pem() -> tuple[bytes, str]:
    rnd = random.Random(7)

    def prime(bits: int) -> int:
        while True:
            n = rnd.getrandbits(bits) | (1 << (bits - 1)) | 1
            if all(pow(a, n - 1, n) == 1 for a in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)):
                return n

    p, q, e = prime(256), prime(256), 65537
    d = pow(e, -1, (p - 1) * (q - 1))
    key = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p),
                                rsa.RSAPublicNumbers(e, p * q)).private_key(unsafe_skip_rsa_key_validation=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    import base64
    pub = base64.b64encode(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
    return pem, f"v=DKIM1; k=rsa; p={pub}"


def test_weak_key_fails(dns_server: DnsTestServer) -> None:
    pem, record = _weak_pem()
    publish(dns_server, key=record)
    got = check(dns_server, sign(pem=pem))
    assert (got[0].result, got[0].reason) == ("fail", "weak-key")
    assert got[0].key_bits is not None and got[0].key_bits < 1024


def test_rsa_sha1_is_not_accepted(dns_server: DnsTestServer) -> None:
    publish(dns_server)
    got = check(dns_server, sign(alg=b"rsa-sha1"))
    assert (got[0].result, got[0].reason) == ("fail", "sha1")


def test_incomplete_signature_is_malformed(dns_server: DnsTestServer) -> None:
    publish(dns_server)
    raw = b"DKIM-Signature: v=1; a=rsa-sha256; d=shop.example; s=s1; h=from:to; b=AAAA\r\n" + BODY
    got = check(dns_server, raw)
    assert (got[0].result, got[0].reason) == ("permerror", "malformed")
    assert "bh=" in got[0].explanation


def test_signature_without_from_is_malformed(dns_server: DnsTestServer) -> None:
    publish(dns_server)
    raw = b"DKIM-Signature: v=1; a=rsa-sha256; d=shop.example; s=s1; h=to:subject; bh=AAAA; b=AAAA\r\n" + BODY
    got = check(dns_server, raw)
    assert got[0].reason == "malformed" and "From" in got[0].explanation


def test_without_dns_or_body_nothing_is_fetched(dns_server: DnsTestServer) -> None:
    publish(dns_server)
    got = check(dns_server, sign(), dns=False)
    assert (got[0].result, got[0].reason) == ("not-checked", "no-dns")
    headers_only = sign().split(b"\r\n\r\n")[0] + b"\r\n"
    before = dns_server.query_count
    got = check(dns_server, headers_only)
    assert (got[0].result, got[0].reason) == ("not-checked", "no-body")
    assert dns_server.query_count == before


def test_junk_header_line_makes_message_unreadable(dns_server: DnsTestServer) -> None:
    publish(dns_server)
    signed = sign()
    raw = signed.replace(b"To: alice", b"this is not a header\r\nTo: alice")
    got = check(dns_server, raw)
    assert (got[0].result, got[0].reason) == ("permerror", "unreadable-message")


def test_signature_fields_for_the_report() -> None:
    sig: Signature = signatures(parse_message(sign(length=True)))[0]
    j = sig.to_json()
    assert (j["d"], j["s"], j["a"], j["c"]) == ("shop.example", "s1", "rsa-sha256", "relaxed/simple")
    assert j["h"] == ["from", "to", "subject", "date", "message-id"] and isinstance(j["l"], int)
    assert sig.key_name == "s1._domainkey.shop.example"


def test_only_the_first_ten_signatures_are_rechecked(dns_server: DnsTestServer) -> None:
    publish(dns_server)
    raw = BODY
    for _ in range(12):
        raw = dkim.sign(raw, b"s1", b"shop.example", key_pem(), include_headers=SIGNED) + raw
    got = check(dns_server, raw)
    assert [c.result for c in got] == ["pass"] * 10 + ["not-checked"] * 2
    assert got[-1].reason == "too-many"
