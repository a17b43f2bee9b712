"""DKIM key generation: the record passes our DKIM check, and dkimpy signs and verifies with the key as
served by the loopback DNS server."""

from __future__ import annotations

import base64
import importlib.util
import stat
from datetime import date
from pathlib import Path

import dkim
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inboxready.core.checks import dkim as dkim_check
from inboxready.core.builders.dkimkeys import (
    DkimKeyError,
    current_key,
    generate_key,
    rotation_plan,
    suggest_selector,
)
from inboxready.core.dns.client import DnsClient
from inboxready.core.model import Status

from tests.conftest import make_ctx, run
from tests.core.builders.test_builders_whatif import fresh_server
from tests.helpers.zones import MAIL_BASE

BASE = "\n" + MAIL_BASE + """@        IN TXT "v=spf1 mx -all"
"""

MESSAGE = (b"From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: key test\r\n"
           b"Message-ID: <1@example.com>\r\nDate: Wed, 25 Nov 2026 00:00:00 +0000\r\n\r\nHello Bob.\r\n")

KEYS = {  # one key of each kind per test session: RSA-4096 generation is slow
    kind: generate_key("example.com", f"t{kind}", kind.split("-")[0], int(kind.split("-")[1]) if "-" in kind else 2048)
    for kind in ("rsa-1024", "rsa-2048", "ed25519")
}


def _publish(server, key) -> None:  # type: ignore[no-untyped-def]
    zone = BASE + key.fix.zone_line.replace(f"{key.fix.host}.", key.fix.host.split(".example.com")[0], 1) + "\n"
    server.add_zone("example.com", zone)


def _served(server, host: str) -> bytes:  # type: ignore[no-untyped-def]
    async def go() -> bytes:
        c = DnsClient([server.address], timeout=1.0)
        try:
            ans = await c.query(host, "TXT")
        finally:
            c.close()
        assert ans.ok, ans
        return b"".join(ans.txt_strings[0])

    return run(go())


def _ed25519_roundtrip(key, served: bytes) -> None:  # type: ignore[no-untyped-def]
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    tags = dict(t.strip().split("=", 1) for t in served.decode().split(";") if "=" in t)
    pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(tags["p"]))
    priv = serialization.load_pem_private_key(key.private_pem, password=None)
    signature = priv.sign(MESSAGE)  # type: ignore[union-attr, call-arg, arg-type]
    pub.verify(signature, MESSAGE)
    with pytest.raises(InvalidSignature):
        pub.verify(signature, MESSAGE + b"x")


@pytest.mark.parametrize("kind", sorted(KEYS))
def test_generated_record_passes_dkim_check_and_dkimpy(dns_server, kind: str) -> None:  # type: ignore[no-untyped-def]
    key = KEYS[kind]
    _publish(dns_server, key)

    async def go():  # type: ignore[no-untyped-def]
        return await dkim_check.check(make_ctx(dns_server, "example.com", dkim_selectors=[key.selector]))

    result = run(go())
    codes = {f.code for f in result.findings}
    if kind == "ed25519":
        assert result.status is Status.WARN and codes == {"dkim.ed25519-only"}
    elif kind == "rsa-1024":
        assert result.status in (Status.PASS, Status.WARN)
        assert not any(f.severity.value == "error" for f in result.findings)
    else:
        assert result.status is Status.PASS, result.findings
    served = _served(dns_server, key.fix.host)
    assert served.decode() == key.fix.value
    if key.key_type == "rsa":
        priv = key.private_pem
        algo = b"rsa-sha256"
    else:
        _ed25519_roundtrip(key, served)  # always: the served key verifies what the private key signs
        if importlib.util.find_spec("nacl") is None:
            return  # dkimpy signs Ed25519 only with PyNaCl installed (not a project dependency)
        priv = key.private_key_base64_raw()
        algo = b"ed25519-sha256"
    sig = dkim.sign(MESSAGE, key.selector.encode(), b"example.com", priv, signature_algorithm=algo,
                    include_headers=[b"from", b"to", b"subject"])
    assert dkim.verify(sig + MESSAGE, dnsfunc=lambda name, timeout=5: served)
    tampered = sig + MESSAGE.replace(b"Hello Bob.", b"Hello Eve.")
    assert not dkim.verify(tampered, dnsfunc=lambda name, timeout=5: served)


def test_rsa_2048_record_is_split_in_zone_line() -> None:
    key = KEYS["rsa-2048"]
    assert key.fix.host == "trsa-2048._domainkey.example.com"
    assert key.fix.value.startswith("v=DKIM1; k=rsa; p=MII")
    assert len(key.fix.value) > 255 and len(key.fix.strings) == 2
    assert all(len(s) <= 255 for s in key.fix.strings)
    assert key.fix.zone_line.count('"') == 4


def test_private_key_saved_0600_never_shown(tmp_path: Path) -> None:
    key = KEYS["ed25519"]
    assert b"PRIVATE" not in repr(key).encode() and "PRIVATE" not in str(key.to_json())
    path = key.save_private_key(tmp_path / "dkim.pem")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == key.private_pem and key.private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    with pytest.raises(DkimKeyError):
        key.save_private_key(path)  # never overwrites a key by accident
    key.save_private_key(path, overwrite=True)
    with pytest.raises(DkimKeyError):
        key.save_private_key(tmp_path / "missing-dir" / "k.pem")


def test_bad_requests() -> None:
    with pytest.raises(DkimKeyError):
        generate_key("example.com", "bad selector!")
    with pytest.raises(DkimKeyError):
        generate_key("example.com", "s", "dsa")
    with pytest.raises(DkimKeyError):
        generate_key("example.com", "s", "rsa", 512)
    assert suggest_selector(date(2026, 11, 25)) == "ir2026-11"
    assert generate_key("Example.COM.", None, "ed25519").selector == suggest_selector()


def test_rotation_plan_removal_fix(dns_server) -> None:  # type: ignore[no-untyped-def]
    old = KEYS["rsa-2048"]
    _publish(dns_server, old)

    async def go() -> str | None:
        c = DnsClient([dns_server.address], timeout=1.0)
        try:
            return await current_key(c, "example.com", old.selector)
        finally:
            c.close()

    old_value = run(go())
    assert old_value == old.fix.value
    new = KEYS["ed25519"]
    steps = rotation_plan(new, old.selector, old_value)
    assert steps[0].fix == new.fix
    removal = [s for s in steps if s.fix is not None and s.fix.action == "remove"]
    assert len(removal) == 1
    assert removal[0].fix is not None
    assert removal[0].fix.host == old.fix.host and removal[0].fix.value == old.fix.value
    assert any(s.wait_hours == 48 for s in steps)
    unknown = rotation_plan(new, "gone", None)
    assert all(s.fix is None or s.fix.action == "publish" for s in unknown)


@given(st.text(max_size=80))
@settings(max_examples=200, deadline=None)
def test_selector_validation_never_raises_anything_else(text: str) -> None:
    from inboxready.core.builders.dkimkeys import _check_selector

    try:
        sel = _check_selector(text)
    except DkimKeyError:
        return
    assert sel and " " not in sel


_SELECTORS = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)


@given(selector=_SELECTORS, kind=st.sampled_from(["ed25519", "rsa"]))
@settings(max_examples=12, deadline=None)
def test_any_generated_record_passes_the_dkim_check(selector: str, kind: str) -> None:
    with fresh_server() as dns_server:
        _any_key(dns_server, selector, kind)


def _any_key(dns_server, selector: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    key = generate_key("example.com", selector, kind)
    dns_server.add_zone("example.com", BASE)
    dns_server.add_records(key.fix.host, "TXT", [key.fix.zone_value])

    async def go():  # type: ignore[no-untyped-def]
        return await dkim_check.check(make_ctx(dns_server, "example.com", dkim_selectors=[selector]))

    result = run(go())
    assert selector in [k["selector"] for k in result.detail["found"]], result.detail
    bad = [f for f in result.findings if f.severity.value in ("error", "unknown")]
    assert not bad, bad
    if kind == "rsa":
        assert not [f for f in result.findings if f.severity.value == "warning"], result.findings


def test_cli_build_dkim(dns_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import io
    import json

    from inboxready.app.cli import main

    old = KEYS["rsa-1024"]
    _publish(dns_server, old)
    out, err = io.StringIO(), io.StringIO()
    key_file = tmp_path / "new.pem"
    code = main(["build", "dkim", "example.com", "--type", "ed25519", "--selector", "new1", "--private-key-out",
                 str(key_file), "--old-selector", old.selector, "-n", dns_server.address, "--json"], out=out, err=err)
    data = json.loads(out.getvalue())
    assert code == 0 and data["host"] == "new1._domainkey.example.com" and data["record"].startswith("v=DKIM1; k=ed25519; p=")
    assert "PRIVATE" not in out.getvalue() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    removal = [s["fix"] for s in data["rotation"] if s["fix"] and s["fix"]["action"] == "remove"]
    assert removal == [dict(removal[0], host=old.fix.host, value=old.fix.value)]
    code = main(["build", "dkim", "example.com", "--private-key-out", str(key_file)], out=io.StringIO(), err=err)
    assert code == 2 and "already exists" in err.getvalue()


def test_old_key_that_cannot_be_looked_up_is_not_a_missing_key(dns_server) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 #6: the rotation plan tells "no key there" from "couldn't look it up"."""
    from inboxready.core.builders.dkimkeys import lookup_current_key

    dns_server.add_zone("example.com", "@ IN MX 10 mx.example.com.\n")
    dns_server.servfail_names.add("old._domainkey.example.com")

    async def go():  # type: ignore[no-untyped-def]
        c = DnsClient([dns_server.address], timeout=0.5)
        try:
            return (await lookup_current_key(c, "example.com", "old"),
                    await lookup_current_key(c, "example.com", "gone"))
        finally:
            c.close()

    (value, state), (gone_value, gone_state) = run(go())
    assert value is None and state not in ("", "missing") and "SERVFAIL" in state
    assert gone_value is None and gone_state == "missing"
    new = KEYS["ed25519"]
    failed = rotation_plan(new, "old", None, old_state=state)[-2].text
    missing = rotation_plan(new, "gone", None, old_state=gone_state)[-2].text
    assert "couldn't look it up" in failed and "no DKIM key" not in failed
    assert "There is no DKIM key at gone._domainkey.example.com" in missing
