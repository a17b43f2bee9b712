"""The command line as a script uses it: JSON shape, text output and exit codes."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from inboxready.core.context import ALL_CHECKS, CORE_CHECKS
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import quote_txt, split_txt

from ...conftest import run
from ...helpers.cli import cli


def _key() -> str:
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = k.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return " ".join(quote_txt(s) for s in split_txt("v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()))


GOOD = """
@        SOA ns1 hostmaster 1 3600 600 86400 300
@        MX 10 mx1
mx1      A 192.0.2.1
@        TXT "v=spf1 mx ip4:192.0.2.0/24 -all"
_dmarc   TXT "v=DMARC1; p=reject; rua=mailto:dmarc@good.test"
selector1._domainkey TXT {key}
"""

BAD = """
@        SOA ns1 hostmaster 1 3600 600 86400 300
@        MX 10 mx1
mx1      A 192.0.2.1
@        TXT "v=spf1 +all"
"""


@pytest.fixture
def server(dns_server: DnsTestServer) -> DnsTestServer:
    dns_server.add_zone("good.test", GOOD.format(key=_key()))
    dns_server.add_zone("bad.test", BAD)
    dns_server.add_origin("slow.test")
    dns_server.timeout_names.update({"slow.test", "_dmarc.slow.test"})
    return dns_server




def test_json_shape_and_exit_0_for_a_good_domain(server: DnsTestServer) -> None:
    code, out, _ = cli("check", "good.test", "--json", "--nameserver", server.address)
    data = json.loads(out)
    assert isinstance(data, list) and len(data) == 1
    d = data[0]
    assert d["domain"] == "good.test"
    assert set(d["checks"]) == set(ALL_CHECKS)
    for name, check in d["checks"].items():
        assert isinstance(check["findings"], list)
        if name in CORE_CHECKS:
            assert check["status"] == "pass", (name, check)
    # the optional extras: not set up (info); reverse DNS and STARTTLS can't be checked from this test
    # network (no reverse zone; the MX host is on TEST-NET) and say so, without spoiling the result
    assert {n: d["checks"][n]["status"] for n in ("mta_sts", "tls_rpt", "bimi", "dnssec")} == dict.fromkeys(
        ("mta_sts", "tls_rpt", "bimi", "dnssec"), "info")
    assert d["checks"]["starttls"]["status"] == "error"
    assert "starttls.blocked" in {f["code"] for f in d["checks"]["starttls"]["findings"]}
    assert d["status"] == "pass"
    assert d["queries"] and {"name", "type", "outcome", "elapsed_ms"} <= set(d["queries"][0])
    assert code == 0


def test_only_and_skip_choose_the_checks(server: DnsTestServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli("check", "good.test", "--json", "-n", server.address, "--only", "spf,dmarc")
    assert code == 0 and list(json.loads(out)[0]["checks"]) == ["spf", "dmarc"]
    code, out, _ = cli("check", "good.test", "--json", "-n", server.address, "--skip", "starttls,rdns,mta-sts")
    assert code == 0 and set(json.loads(out)[0]["checks"]) == set(ALL_CHECKS) - {"starttls", "rdns", "mta_sts"}
    code, _, _ = cli("check", "good.test", "--only", "spf,smtp")
    assert code == 2 and "unknown check smtp" in capsys.readouterr().err  # argparse writes usage errors


def test_text_output_says_which_optional_checks_could_not_run(server: DnsTestServer) -> None:
    code, out, _ = cli("check", "good.test", "-n", server.address, "--color", "never")
    assert code == 0
    assert out.splitlines()[0] == "✓ good.test  (Pass)"
    assert "Couldn't check from here: Reverse DNS, STARTTLS" in out
    assert "port 25" in out


def test_findings_exit_1_with_fixes_in_json(server: DnsTestServer) -> None:
    code, out, _ = cli("check", "bad.test", "good.test", "--json", "-n", server.address)
    data = json.loads(out)
    assert [d["domain"] for d in data] == ["bad.test", "good.test"]
    bad = data[0]["checks"]
    assert bad["spf"]["status"] == "fail" and bad["dmarc"]["status"] == "fail"
    codes = {f["code"] for f in bad["spf"]["findings"]}
    assert any("all" in c for c in codes), codes
    fix = next(f["fix"] for f in bad["dmarc"]["findings"] if f["fix"])
    assert fix["host"] == "_dmarc.bad.test" and fix["type"] == "TXT" and fix["value"].startswith("v=DMARC1")
    assert code == 1


def test_text_output_is_readable(server: DnsTestServer) -> None:
    code, out, _ = cli("check", "https://www.bad.test/", "-n", server.address, "--color", "never")
    assert code == 1
    assert out.startswith("✗ bad.test")
    assert "SPF" in out and "DMARC" in out and "_dmarc.bad.test" in out
    assert "\033[" not in out


def test_unreachable_dns_exits_2_and_says_couldnt_check(server: DnsTestServer) -> None:
    code, out, _ = cli("check", "slow.test", "--json", "-n", server.address, "--timeout", "0.3")
    data = json.loads(out)[0]
    assert data["checks"]["spf"]["status"] == "error"
    assert data["checks"]["dmarc"]["status"] == "error"
    assert all(c["status"] != "fail" for c in data["checks"].values())
    assert code in (1, 2)  # the DKIM selectors outside the dropped names answer NXDOMAIN: a warning


def test_dead_dns_server_exits_2() -> None:
    dead = DnsTestServer().start()
    address = dead.address
    dead.stop()
    code, out, _ = cli("check", "example.test", "--json", "-n", address, "--timeout", "0.3")
    data = json.loads(out)[0]
    assert {c["status"] for c in data["checks"].values()} == {"error"}
    assert code == 2


def test_extra_dkim_selector_is_used(server: DnsTestServer) -> None:
    server.add_records("custom._domainkey.bad.test", "TXT", [_key()])
    code, out, _ = cli("check", "bad.test", "--json", "-n", server.address, "--dkim-selector", "custom")
    dkim = json.loads(out)[0]["checks"]["dkim"]
    assert [k["selector"] for k in dkim["detail"]["found"]] == ["custom"]


def test_spf_command_json(server: DnsTestServer) -> None:
    code, out, _ = cli("spf", "good.test", "--ip", "192.0.2.1", "--json", "-n", server.address)
    data = json.loads(out)
    assert data["result"] == "pass" and isinstance(data["trace"], list) and data["trace"]
    assert code == 0
    code, out, _ = cli("spf", "good.test", "--ip", "198.51.100.7", "--sender", "x@good.test", "--json",
                       "-n", server.address)
    assert json.loads(out)["result"] == "fail" and code == 1


def test_spf_command_text(server: DnsTestServer) -> None:
    code, out, _ = cli("spf", "bad.test", "--ip", "203.0.113.9", "-n", server.address, "--color", "never")
    assert out.startswith("SPF pass for 203.0.113.9") and code == 0


# The RFC 7208 test suite's "Initial processing" cases whose result is none (spec 4.3/1): (id, helo, mailfrom).
INITIAL_PROCESSING = [
    ("toolonglabel", "mail.example.net",
     "lyme.eater@A123456789012345678901234567890123456789012345678901234567890123.example.com"),
    ("emptylabel", "mail.example.net", "lyme.eater@A...example.com"),
    ("helo-not-fqdn", "A2345678", ""),
    ("helo-domain-literal", "[1.2.3.5]", ""),
    ("domain-literal", "OEMCOMPUTER", "foo@[1.2.3.5]"),
]


@pytest.mark.parametrize("case, helo, mailfrom", INITIAL_PROCESSING, ids=[c[0] for c in INITIAL_PROCESSING])
def test_spf_command_answers_none_for_a_malformed_domain(dns_server: DnsTestServer, case: str, helo: str,
                                                         mailfrom: str) -> None:
    """Issue 12 #7: a domain SPF can't check is the RFC 7208 §4.3 result none, with the reason, exactly as
    check_host gives it; not a refusal to run."""
    from inboxready.core.dns.client import DnsClient
    from inboxready.core.records.spf_eval import check_host

    domain = mailfrom.rpartition("@")[2] if "@" in mailfrom else helo
    code, out, err = cli("spf", domain, "--ip", "1.2.3.5", "--sender", mailfrom, "--helo", helo, "--json",
                         "-n", dns_server.address, "--timeout", "0.5")
    data = json.loads(out)
    assert (code, data["result"], err) == (1, "none", "")
    assert "RFC 7208 §4.3" in data["explanation"] and data["reason"] and "no SPF record" not in data["reason"]

    async def library() -> str:
        client = DnsClient([dns_server.address], timeout=0.5)
        try:
            return (await check_host("1.2.3.5", domain, mailfrom, helo=helo, dns=client)).result
        finally:
            client.close()
    assert run(library()) == "none"
    code, text, _ = cli("spf", domain, "--ip", "1.2.3.5", "--sender", mailfrom, "--helo", helo, "-n",
                        dns_server.address, "--color", "never")
    assert code == 1 and text.startswith("SPF none for 1.2.3.5") and "RFC 7208 §4.3" in text


@pytest.mark.parametrize(
    "argv",
    [["check"], ["check", "x.test", "--nameserver", "not-an-ip"], ["check", "x.test", "--timeout", "-1"],
     ["spf", "good.test"], ["bogus"], []],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    code, _, _ = cli(*argv)
    assert code == 2


def test_bad_domain_is_reported_and_exits_2() -> None:
    code, out, err = cli("check", "not a domain", "--json", "-n", "127.0.0.1:9")
    assert code == 2 and "not a domain" in err  # and the JSON carries it (never an empty success: [])
    assert json.loads(out) == [{"input": "not a domain", "domain": None,
                                "error": "'not a domain' has a space in it; a domain name cannot."}]


MESSAGE = b"""Authentication-Results: mx.receiver.test; spf=pass smtp.mailfrom=bounce.sender.test;
 dkim=none; dmarc=fail (p=REJECT) header.from=sender.test
Received: from out.sender.test (out.sender.test [192.0.2.7]) by mx.receiver.test; Mon, 2 Nov 2026 10:00:00 +0000
Authentication-Results: mx.receiver.test; dmarc=pass header.from=sender.test
From: Shop <news@sender.test>
To: someone@receiver.test
Subject: Hello
Message-ID: <abc@sender.test>
Date: Mon, 2 Nov 2026 10:00:00 +0000

Hi
"""


def test_headers_command_reads_the_receivers_verdict_not_a_forged_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "message.eml"
    path.write_bytes(MESSAGE)
    code, out, _ = cli("headers", str(path), "--offline", "--json")
    data = json.loads(out)
    assert data["receiver"] == "mx.receiver.test"
    assert data["checks"]["dmarc"]["status"] == "fail" and data["checks"]["dmarc"]["result"] == "fail"
    assert data["checks"]["spf"]["result"] == "pass"
    assert code == 1
    code, out, _ = cli("headers", str(path), "--offline", "--color", "never")
    assert "Judged by: mx.receiver.test" in out and "DMARC" in out


DKIM_BROKE = b"""Received: from out.sender.test (out.sender.test [192.0.2.7]) by mx.receiver.test with ESMTPS
Authentication-Results: mx.receiver.test; dkim=fail (body hash did not verify) header.d=sender.test
 header.s=s1; spf=pass smtp.mailfrom=bounce@sender.test; dmarc=pass header.from=sender.test
From: Shop <news@sender.test>
Subject: Hello
Message-ID: <abc@sender.test>
Date: Mon, 2 Nov 2026 10:00:00 +0000
List-Unsubscribe: <https://sender.test/u>
List-Unsubscribe-Post: List-Unsubscribe=One-Click
"""


def test_headers_command_heads_with_dmarc_first(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 #5: DMARC passed through SPF while DKIM broke is a warning headed in plain words with the
    receiver's own reason, not "authentication failed" with a red mark."""
    path = tmp_path / "message.eml"
    path.write_bytes(DKIM_BROKE)
    code, out, _ = cli("headers", str(path), "--offline", "--color", "never")
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith("! Hello")  # the warning mark, not ✗
    text = " ".join(out.split())
    assert ("Warning: DMARC passed through SPF, but the DKIM signature broke: something changed the body in "
            "transit, or signing is misconfigured. The receiver wrote: dkim=fail (body hash did not verify)."
            in text)
    code, out, _ = cli("headers", str(path), "--offline", "--json")
    data = json.loads(out)
    assert data["status"] == "warn" and data["headline"].startswith("DMARC passed through SPF")
    assert data["checks"]["dkim"]["detail"]["receiver_said"] == "dkim=fail (body hash did not verify)"


def test_headers_command_on_junk_and_missing_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 10)
    code, out, _ = cli("headers", str(junk), "--offline", "--json")
    assert code == 2 and json.loads(out)["status"] == "error"
    code, _, err = cli("headers", str(tmp_path / "nope.eml"))
    assert code == 2 and "can't read" in err


def test_headers_command_links_the_domain_checks_fix(tmp_path, dns_server: DnsTestServer) -> None:  # type: ignore[no-untyped-def]
    dns_server.add_zone("sender.test", '@ MX 10 mx\nmx A 192.0.2.1\n@ TXT "v=spf1 mx -all"\n')
    dns_server.add_origin("test")
    path = tmp_path / "message.eml"
    path.write_bytes(MESSAGE)
    code, out, _ = cli("headers", str(path), "-n", dns_server.address, "--timeout", "1", "--color", "never")
    assert "Publish: TXT record at _dmarc.sender.test" in out
    assert code == 1


def test_self_test_passes_on_the_bundled_demo_zones() -> None:
    code, out, _ = cli("--self-test")
    assert code == 0 and "self-test: pass" in out and out.count("\n") == 1, out


def test_self_test_reports_a_wrong_result(monkeypatch: pytest.MonkeyPatch) -> None:
    from inboxready.app.cli import selftest
    from inboxready.core.model import Status

    wrong = (("demo-allgood.example", "spf", Status.FAIL, None),)
    monkeypatch.setattr(selftest, "SELF_TEST_EXPECT", wrong)
    code, out, _ = cli("--self-test")
    assert code == 1 and "self-test: FAIL" in out and "demo-allgood.example spf" in out


def test_checklist_in_json_and_text_with_the_spam_rate(server: DnsTestServer) -> None:
    code, out, _ = cli("check", "good.test", "--json", "-n", server.address, "--spam-rate", "0.5")
    checklist = json.loads(out)[0]["checklist"]
    items = {i["key"]: i for i in checklist["detail"]["items"]}
    assert items["spam-rate"]["state"] == "not-met" and checklist["detail"]["spam_rate"] == 0.5
    assert items["spf"]["state"] == "met" and items["dmarc"]["state"] == "met"
    assert items["one-click-unsubscribe"]["state"] == "needs-test-message"
    code, out, _ = cli("check", "good.test", "-n", server.address, "--checklist", "--color", "never")
    assert "Sender rules (Google, Yahoo, Microsoft):" in out
    assert "? Can't be seen from here: Spam complaint rate under 0.3%" in out


def test_verify_command_checks_a_saved_report(server: DnsTestServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "good.html"
    code, _, err = cli("check", "good.test", "-n", server.address, "--report", str(path))
    assert code == 0 and "SHA-256" in err
    digest = err.split("SHA-256 ", 1)[1].split(")", 1)[0]
    code, out, _ = cli("verify", str(path), "--sha256", digest)
    assert code == 0 and "intact" in out
    path.write_text(path.read_text(encoding="utf-8").replace("good.test", "goods.test"), encoding="utf-8")
    code, out, _ = cli("verify", str(path))
    assert code == 1 and "changed" in out
    code, _, err = cli("verify", str(tmp_path / "missing.html"))
    assert code == 2 and "can't read" in err
