"""Profiles: validation, the profiles file, passwords only in the keyring, provider presets, and the
plain-words classification of what servers answer."""

from __future__ import annotations

import json
import socket
import ssl
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from imapclient import exceptions as imap_exc

from inboxready.core.mail import imap
from inboxready.core.store.credentials import (
    KEYRING_SERVICE, KeyringUnavailable, Secret, delete_password, get_password, keyring_status, scrub, set_password,
)
from inboxready.core.mail.profiles import (
    ConnectionResult, ProfileError, ProfileStore, ReadProfile, Security, SendProfile, auth_failure, get_preset, load_presets, network_error, preset_for_domain, preset_for_host, security_for_port, split_host_port, trusted_ids_for,
)

from .conftest import MemoryKeyring


def sp(**kw: object) -> SendProfile:
    args: dict[str, object] = dict(name="shop", host="smtp.example.com", port=587, security="starttls",
                                   username="news@example.com", from_addr="news@example.com")
    args.update(kw)
    return SendProfile(**args)  # type: ignore[arg-type]


def rp(**kw: object) -> ReadProfile:
    args: dict[str, object] = dict(name="seed", host="imap.example.com", port=993, security="ssl",
                                   username="me@example.net")
    args.update(kw)
    return ReadProfile(**args)  # type: ignore[arg-type]


# -- validation -------------------------------------------------------------------------------------

def test_security_words() -> None:
    assert Security.parse("SSL/TLS") is Security.SSL and Security.parse("tls") is Security.SSL
    assert Security.parse("StartTLS") is Security.STARTTLS and Security.parse("none") is Security.NONE
    with pytest.raises(ProfileError, match="ssl, starttls or none"):
        Security.parse("maybe")


@pytest.mark.parametrize("kw, words", [
    ({"name": "  "}, "name"),
    ({"host": "https://smtp.example.com/"}, "without http://"),
    ({"host": ""}, "host name"),
    ({"port": 0}, "port number"),
    ({"port": "abc"}, "port number"),
    ({"from_addr": "not an address"}, "e-mail address"),
    ({"security": "sometimes"}, "ssl, starttls or none"),
])
def test_bad_send_profiles_say_why(kw: dict[str, object], words: str) -> None:
    with pytest.raises(ProfileError, match=words):
        sp(**kw)


def test_profile_basics() -> None:
    p = sp(host="SMTP.Example.com.", security="none")
    assert p.id == "send:shop" and p.host == "SMTP.Example.com" and p.insecure and p.warnings
    assert "no encryption" in p.warnings[0]
    assert sp(from_addr="").sender == "news@example.com"  # the user name is an address
    r = rp(folders=[" INBOX ", "", "Spam"], authserv_ids=["MX.Google.com."])
    assert r.id == "read:seed" and r.folders == ["INBOX", "Spam"] and r.authserv_ids == ["mx.google.com"]
    assert r.mailbox_address == "me@example.net" and not r.insecure
    assert rp(host="[::1]").host == "::1" and rp(host="127.0.0.1").host == "127.0.0.1"
    assert SendProfile.from_json(sp().to_json()) == sp()
    assert ReadProfile.from_json(r.to_json()) == r


def test_host_port_and_defaults() -> None:
    assert split_host_port("smtp.gmail.com:465", 587) == ("smtp.gmail.com", 465)
    assert split_host_port(" mail.example.org ", 993) == ("mail.example.org", 993)
    assert split_host_port("[::1]:2525", 25) == ("::1", 2525) and split_host_port("[::1]", 25) == ("::1", 25)
    with pytest.raises(ProfileError, match="port number"):
        split_host_port("smtp.example.com:smtp", 25)
    assert security_for_port(465) is Security.SSL and security_for_port(993) is Security.SSL
    assert security_for_port(587) is Security.STARTTLS and security_for_port(143) is Security.STARTTLS


def test_trusted_ids_from_profile_or_provider() -> None:
    assert trusted_ids_for(rp(authserv_ids=["mx.example.net"])) == ["mx.example.net"]
    assert trusted_ids_for(rp(host="imap.gmail.com")) == ["google.com"]
    assert trusted_ids_for(rp(preset="fastmail")) == ["messagingengine.com"]
    assert trusted_ids_for(rp()) is None


# -- the store and the keyring ----------------------------------------------------------------------

def test_store_keeps_passwords_out_of_the_file(profile_home: Path, memory_keyring: MemoryKeyring) -> None:
    store = ProfileStore()
    assert store.path == profile_home / "config" / "profiles.json"
    store.put(sp(), password="s3cret-Pa55")
    store.put(rp(name="shop"), password=Secret("imap-Pa55"))  # the same name for both kinds is fine
    text = store.path.read_text()
    assert "s3cret-Pa55" not in text and "imap-Pa55" not in text
    data = json.loads(text)
    assert [p["name"] for p in data["send"]] == ["shop"] and data["read"][0]["host"] == "imap.example.com"
    assert memory_keyring.store[(KEYRING_SERVICE, "send:shop")] == "s3cret-Pa55"
    again = ProfileStore()
    assert again.get_send("shop") == sp() and again.get_read("shop").host == "imap.example.com"
    assert [p.id for p in again.find("shop")] == ["send:shop", "read:shop"]
    pw = get_password("send:shop")
    assert pw is not None and pw.reveal() == "s3cret-Pa55" and "s3cret" not in repr(pw) + str(pw)
    again.remove(again.get_send("shop"))
    assert get_password("send:shop") is None and not delete_password("send:shop")
    assert ProfileStore().send == {} and "read:shop" in {p.id for p in ProfileStore().all()}
    with pytest.raises(ProfileError, match="no sending profile called 'shop'"):
        ProfileStore().get_send("shop")


def test_no_keyring_means_nothing_saved(profile_home: Path, no_keyring: None) -> None:
    ok, words = keyring_status()
    assert not ok and "keyring" in words
    store = ProfileStore()
    with pytest.raises(KeyringUnavailable) as info:
        store.put(sp(), password="s3cret-Pa55")
    text = str(info.value)
    assert "Secret Service" in text and "pip install keyrings.alt" in text and "INBOXREADY_SMTP_PASSWORD" in text
    assert "s3cret-Pa55" not in text
    assert not store.path.exists()  # no silent fallback to a file
    store.put(sp())  # a profile without a password can still be saved
    store.remove(store.get_send("shop"))  # removing works without a keyring too


def test_chainer_without_backends_is_no_keyring(no_keyring: None) -> None:
    import keyring
    from keyring.backends import chainer

    class Empty(chainer.ChainerBackend):
        backends = []  # type: ignore[assignment]

    keyring.set_keyring(Empty())
    with pytest.raises(KeyringUnavailable):
        set_password("send:x", "pw")


def test_a_failing_keyring_is_reported_without_the_password(memory_keyring: MemoryKeyring) -> None:
    def boom(service: str, username: str, password: str) -> None:
        raise RuntimeError(f"locked collection, could not store {password}")

    memory_keyring.set_password = boom  # type: ignore[method-assign]
    with pytest.raises(KeyringUnavailable) as info:
        set_password("send:x", "TopSecret123")
    assert "TopSecret123" not in str(info.value) and "Unlock your keyring" in str(info.value)


def test_damaged_file_is_set_aside(profile_home: Path) -> None:
    path = profile_home / "config" / "profiles.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    store = ProfileStore()
    assert store.send == {} and "damaged" in store.problem
    assert not path.exists() and list(path.parent.glob("profiles.json.damaged-*"))
    path.write_text(json.dumps({"send": [sp().to_json(), {"name": "bad", "host": "", "port": 5}], "read": "x"}))
    store = ProfileStore()
    assert list(store.send) == ["shop"] and "1 mail profile" in store.problem


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=6),
                    max_leaves=20))
def test_profile_json_fuzz(data: object) -> None:
    for cls in (SendProfile, ReadProfile):
        try:
            cls.from_json(data)
        except ProfileError:
            pass
    try:
        Security.parse(str(data))
    except ProfileError:
        pass


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_store_load_fuzz(tmp_path_factory: pytest.TempPathFactory, raw: bytes) -> None:
    folder = tmp_path_factory.mktemp("p")
    path = folder / "profiles.json"
    path.write_bytes(raw)
    store = ProfileStore(path)
    assert isinstance(store.send, dict) and isinstance(store.problem, str)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_auth_failure_fuzz(text: str) -> None:
    r = auth_failure(text, sp())
    assert isinstance(r, ConnectionResult) and not r.ok and r.code.startswith("conn.")


# -- presets ----------------------------------------------------------------------------------------

def test_presets_are_complete_and_usable() -> None:
    presets = {p.id: p for p in load_presets()}
    assert set(presets) >= {"gmail", "microsoft365", "outlook", "yahoo", "icloud", "fastmail", "zoho",
                            "amazon-ses", "sendgrid", "mailgun", "postmark"}
    for p in presets.values():
        assert p.smtp is not None and p.password_help and p.username
        s = p.send_profile("x", username="u@example.com")
        assert s.preset == p.id and s.port == p.smtp.port
        if p.kind == "mailbox":
            assert p.imap is not None and p.authserv_ids
            r = p.read_profile("y", username="u@example.com")
            assert r.authserv_ids == list(p.authserv_ids) and r.security is Security.SSL
        else:
            assert p.imap is None
            with pytest.raises(ProfileError, match="sending service only"):
                p.read_profile("y")
    gmail = presets["gmail"]
    assert (gmail.smtp.host, gmail.smtp.port, gmail.smtp.security) == ("smtp.gmail.com", 465, Security.SSL)  # type: ignore[union-attr]
    assert (587, Security.STARTTLS) in gmail.smtp.alternatives  # type: ignore[union-attr]
    assert presets["sendgrid"].username == "apikey"
    assert preset_for_domain("googlemail.com") is gmail and preset_for_domain("mail.yahoo.com") is presets["yahoo"]
    assert preset_for_host("imap.gmail.com") is gmail and preset_for_host("mx.example.org") is None
    assert get_preset("nope") is None


# -- what servers say, in plain words ---------------------------------------------------------------

@pytest.mark.parametrize("reply, code", [
    ("535-5.7.8 Username and Password not accepted. For more information, go to\n"
     "535 5.7.8  https://support.google.com/mail/?p=BadCredentials x1-2.3 - gsmtp", "conn.wrong-password"),
    ("534-5.7.9 Application-specific password required. For more information, go to\n"
     "534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor", "conn.app-password-needed"),
    ("534-5.7.14 <https://accounts.google.com/signin/continue?x=1> Please log in via your web browser and\n"
     "534-5.7.14 then try again.", "conn.app-password-needed"),
    ("[ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)",
     "conn.app-password-needed"),
    ("[AUTHENTICATIONFAILED] Invalid credentials (Failure)", "conn.wrong-password"),
    ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit "
     "https://aka.ms/smtp_auth_disabled for more information.", "conn.smtp-auth-disabled"),
    ("535 5.7.139 Authentication unsuccessful, basic authentication is disabled. [BN9PR03CA0001]",
     "conn.password-sign-in-disabled"),
    ("535 5.7.139 Authentication unsuccessful, the user credentials were incorrect.", "conn.wrong-password"),
    ("535 5.7.0 (#AUTH005) Too many bad auth attempts.", "conn.wrong-password"),
    ("AUTHENTICATE failed.", "conn.wrong-password"),
    ("454 4.7.0 Temporary authentication failure", "conn.auth-temporary"),
    ("530 5.7.0 Must issue a STARTTLS command first", "conn.tls-required"),
])
def test_provider_replies(reply: str, code: str) -> None:
    r = auth_failure(reply, sp())
    assert r.code == code and r.server_reply == reply and not r.ok


def test_replies_name_the_provider_fix() -> None:
    r = auth_failure("535 5.7.8 Username and Password not accepted.", sp(host="smtp.gmail.com"))
    assert "apppasswords" in r.message  # a wrong password at Gmail: most likely not an app password
    r = auth_failure("AUTHENTICATE failed.", rp(host="outlook.office365.com", preset="microsoft365"))
    assert "Sign in with Microsoft" in r.message  # a password profile at Microsoft 365: switch to sign-in


def test_dovecot_privacy_required_reply() -> None:
    session = imap._Session(rp(security="none"), Secret("pw"), 5)
    exc = imap_exc.LoginError("b'[PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) "
                              "connections.'")
    assert session.classify(exc, "auth").code == "conn.tls-required"


def test_network_errors_in_words() -> None:
    p = sp()
    assert network_error(socket.gaierror(-2, "Name or service not known"), p, stage="connect").code == \
        "conn.host-not-found"  # type: ignore[union-attr]
    assert network_error(OSError(101, "Network is unreachable"), p, stage="connect").code == \
        "conn.unreachable"  # type: ignore[union-attr]
    assert network_error(ConnectionResetError(104, "reset"), p, stage="auth").code == \
        "conn.server-closed"  # type: ignore[union-attr]
    eof = network_error(ssl.SSLEOFError(8, "EOF occurred"), p, stage="tls")
    assert eof is not None and eof.code == "conn.tls-failed"
    assert network_error(ValueError("x"), p, stage="connect") is None
    t = network_error(TimeoutError("timed out"), sp(port=993, security="starttls"), stage="connect", timeout=3)
    assert t is not None and "SSL/TLS" in t.message and "3 seconds" in t.message


def test_scrub_removes_plain_and_base64_forms() -> None:
    import base64

    enc = base64.b64encode(b"hunter2").decode()
    assert scrub(f"pw hunter2 and {enc}", Secret("hunter2")) == "pw *** and ***"
    assert scrub("nothing here", None, "") == "nothing here"
