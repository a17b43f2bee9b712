"""Issue 13, item 7: what a sender publishes can't make our DKIM re-check run for minutes. RSA keys over
4096 bits or with a public exponent over 2**17+1 are "not verified: key too large" (a finding), read with
dkimpy's own parser before dkimpy gets the key; the number of signatures and the total time are bounded."""

from __future__ import annotations

import asyncio
import base64
import secrets

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from inboxready.core.dns.client import DnsClient
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.mail import dkimcheck
from inboxready.core.mail.headers import parse_message
from inboxready.core.mail.message import analyze_message
from inboxready.core.model import quote_txt, split_txt

DOMAIN = "big.test"


def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _len(len(body)) + body


def spki(n: int, e: int) -> bytes:
    """A SubjectPublicKeyInfo for any modulus and exponent (no library would make these)."""
    def integer(x: int) -> bytes:
        return _tlv(0x02, x.to_bytes(x.bit_length() // 8 + 1, "big"))
    rsa_key = _tlv(0x30, integer(n) + integer(e))
    algorithm = _tlv(0x30, bytes.fromhex("06092a864886f70d010101") + b"\x05\x00")
    return _tlv(0x30, algorithm + _tlv(0x03, b"\x00" + rsa_key))


def record(der: bytes) -> str:
    return " ".join(quote_txt(s) for s in split_txt("v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()))


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def signed(key: rsa.RSAPrivateKey, selectors: list[str], body: bytes = b"Hello.\r\n") -> bytes:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    msg = (b"From: a@big.test\r\nTo: b@inbox.test\r\nSubject: hi\r\nMessage-ID: <1@big.test>\r\n"
           b"Date: Mon, 01 Dec 2026 10:00:00 +0000\r\n\r\n" + body)
    for sel in selectors:
        msg = dkim.sign(msg, sel.encode(), DOMAIN.encode(), pem, include_headers=[b"from", b"to", b"subject"]) + msg
    return msg


def own_results(server: DnsTestServer, raw: bytes) -> dict[str, dkimcheck.OwnCheck]:
    async def go() -> tuple[list[dkimcheck.Signature], list[dkimcheck.OwnCheck]]:
        client = DnsClient([server.address], timeout=2.0, deadline=30.0)
        try:
            msg = parse_message(raw)
            sigs = dkimcheck.signatures(msg)
            return sigs, await dkimcheck.second_opinion(msg, sigs, client)
        finally:
            client.close()
    sigs, checks = asyncio.run(go())
    return {s.s: c for s, c in zip(sigs, checks)}


def test_keys_beyond_the_bounds_are_not_verified_and_say_so(dns_server: DnsTestServer,
                                                             key: rsa.RSAPrivateKey) -> None:
    n = key.public_key().public_numbers().n
    good = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    big_n = (1 << 8191) | secrets.randbits(8190) | 1
    monster_n = (1 << 120_000) | secrets.randbits(119_000) | 1
    zone = "\n".join([
        "@ SOA ns1 hostmaster 1 3600 600 86400 300",
        f"ok._domainkey TXT {record(good)}",
        f"exp._domainkey TXT {record(spki(n, (1 << 1999) + 1))}",  # the same modulus, a 2000-bit exponent
        f"e3._domainkey TXT {record(spki(n, 2 ** 17 + 3))}",  # just above the bound
        f"wide._domainkey TXT {record(spki(big_n, 65537))}",  # an 8192-bit modulus
        f"monster._domainkey TXT {record(spki(monster_n, monster_n - 2))}",  # 120,000 bits both: hours of CPU
    ]) + "\n"
    dns_server.add_zone(DOMAIN, zone)
    raw = signed(key, ["ok", "exp", "e3", "wide", "monster"])
    results = own_results(dns_server, raw)
    assert results["ok"].result == "pass"
    for sel in ("exp", "e3", "wide", "monster"):
        assert (results[sel].result, results[sel].reason) == ("not-checked", "key-too-large"), sel
        assert results[sel].explanation.startswith("Not verified:")
    assert "8192 bits" in results["wide"].explanation and "exponent" in results["exp"].explanation

    async def analyse() -> list[str]:
        client = DnsClient([dns_server.address], timeout=2.0, deadline=30.0)
        try:
            report = await analyze_message(raw, dns=client)
        finally:
            client.close()
        return [f.code for f in report.checks["dkim"].findings]
    codes = asyncio.run(analyse())
    assert codes.count("msg.dkim-key-too-large") == 4


def test_exponents_in_real_use_are_verified(dns_server: DnsTestServer) -> None:
    for e in (3, 65537):
        k = rsa.generate_private_key(public_exponent=e, key_size=2048)
        der = k.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        dns_server.replace_zone(DOMAIN, f"@ SOA ns1 hostmaster 1 3600 600 86400 300\nk._domainkey TXT {record(der)}\n")
        assert own_results(dns_server, signed(k, ["k"]))["k"].result == "pass", e


def test_signatures_and_time_are_bounded(dns_server: DnsTestServer, key: rsa.RSAPrivateKey) -> None:
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    dns_server.replace_zone(DOMAIN, f"@ SOA ns1 hostmaster 1 3600 600 86400 300\nok._domainkey TXT {record(der)}\n")
    raw = signed(key, ["ok"] * (dkimcheck.MAX_SIGNATURES + 3))
    results = list(own_results(dns_server, raw).values())
    msg = parse_message(raw)
    checks = asyncio.run(_all(dns_server, msg))
    assert [c.reason for c in checks[dkimcheck.MAX_SIGNATURES:]] == ["too-many"] * 3
    assert results  # the same selector each time
    # past the time budget the rest are "not checked", never a wait
    sigs = dkimcheck.signatures(msg)
    answers = asyncio.run(_answers(dns_server))
    bounded = dkimcheck.verify_all(msg, sigs[:4], answers, total=len(sigs), budget=0.0)
    assert bounded[0].result == "pass"
    assert [c.reason for c in bounded[1:]] == ["out-of-time"] * 3


async def _all(server: DnsTestServer, msg: object) -> list[dkimcheck.OwnCheck]:
    client = DnsClient([server.address], timeout=2.0, deadline=30.0)
    try:
        return await dkimcheck.second_opinion(msg, dkimcheck.signatures(msg), client)  # type: ignore[arg-type]
    finally:
        client.close()


async def _answers(server: DnsTestServer) -> dict[str, object]:
    client = DnsClient([server.address], timeout=2.0, deadline=30.0)
    try:
        name = f"ok._domainkey.{DOMAIN}"
        return {name: await client.query(name, "TXT")}
    finally:
        client.close()
