"""The DKIM check against the loopback DNS server: one zone per finding."""

from __future__ import annotations

import time

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone
import pytest

from inboxready.core.checks import dkim
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import CheckResult, Fix, Status
from inboxready.core.records.dkim_selectors import load_catalog

from ...conftest import make_ctx, run
from ..records.test_dkim_parse import ed_b64, rsa_b64

RSA2048 = rsa_b64(2048)
RSA1024 = rsa_b64(1024)
N_BUILTIN = len(load_catalog().selectors)


def txt(value: str) -> str:
    """A TXT value as zone-file strings (split at 255 bytes)."""
    return Fix("x", "TXT", value).zone_value


BASE = """$TTL 300
@    IN MX  10 mx.example.com.
@    IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
mx   IN A   192.0.2.1
"""


def check(server: DnsTestServer, zone: str, domain: str = "example.com", **opts: object) -> CheckResult:
    server.replace_zone(domain, zone)

    async def go() -> CheckResult:
        return await dkim.check(make_ctx(server, domain, **opts))

    return run(go())


def codes(result: CheckResult) -> list[str]:
    return [f.code for f in result.findings]


def found(result: CheckResult, selector: str) -> dict:  # type: ignore[type-arg]
    for e in result.detail["found"]:
        if e["selector"] == selector:
            return e  # type: ignore[no-any-return]
    raise AssertionError(f"{selector} not in {result.detail['found']}")


def apply_fix(zone_text: str, origin: str, fix: Fix) -> str:
    """The zone with ``fix`` applied (publish adds; replace swaps the whole RRset; remove deletes)."""
    z = dns.zone.from_text(zone_text, origin=origin, relativize=False, check_origin=False)
    rdtype = dns.rdatatype.from_text(fix.type)
    new = dns.rdata.from_text(dns.rdataclass.IN, rdtype, fix.zone_value, origin=dns.name.root,
                               relativize=False)
    node = z.find_node(dns.name.from_text(fix.host), create=True)
    rds = node.find_rdataset(dns.rdataclass.IN, rdtype, create=True)
    if fix.action == "remove":
        assert new in rds, f"{fix.value} is not published"
        rds.discard(new)
    else:
        if fix.action == "replace":
            assert len(rds), "nothing to replace"
            rds.clear()
        rds.add(new, ttl=fix.ttl)
    return z.to_text()


# -- keys that work ---------------------------------------------------------------------------------


def test_good_rsa_key_passes(dns_server: DnsTestServer) -> None:
    r = check(dns_server, BASE + f"google._domainkey IN TXT {txt('v=DKIM1; k=rsa; p=' + RSA2048)}\n")
    assert r.status is Status.PASS, r.findings
    assert r.findings == []
    e = found(r, "google")
    assert e == {"selector": "google", "host": "google._domainkey.example.com", "cname": None, "key_type": "rsa",
                 "key_bits": 2048, "testing": False, "revoked": False, "provider": "Google Workspace",
                 "record": "v=DKIM1; k=rsa; p=" + RSA2048, "status": "pass"}
    assert r.detail["selectors_tried"] == N_BUILTIN == len(r.detail["selectors"])
    assert r.detail["unchecked"] == []
    assert "Google Workspace" in r.summary and r.records[0].startswith("google._domainkey.example.com: v=DKIM1")


def test_key_published_by_cname_reports_target_and_provider(dns_server: DnsTestServer) -> None:
    target = "selector1-example-com._domainkey.example.onmicrosoft.com"
    dns_server.add_zone("onmicrosoft.com", f"$TTL 300\n{target}. IN TXT {txt('v=DKIM1; k=rsa; p=' + RSA2048)}\n")
    r = check(dns_server, BASE + f"selector1._domainkey IN CNAME {target}.\n")
    assert r.status is Status.PASS, r.findings
    e = found(r, "selector1")
    assert e["cname"] == target and e["provider"] == "Microsoft 365" and e["key_bits"] == 2048


def test_bare_rsapublickey_form_passes(dns_server: DnsTestServer) -> None:
    r = check(dns_server, BASE + f"default._domainkey IN TXT {txt('v=DKIM1; p=' + rsa_b64(2048, 'pkcs1'))}\n")
    assert r.status is Status.PASS and found(r, "default")["key_bits"] == 2048


def test_rsa_and_ed25519_together_pass(dns_server: DnsTestServer) -> None:
    r = check(dns_server, BASE + f"s1._domainkey IN TXT {txt('v=DKIM1; p=' + RSA2048)}\n"
                                 f"s2._domainkey IN TXT {txt('v=DKIM1; k=ed25519; p=' + ed_b64())}\n")
    assert r.status is Status.PASS, r.findings
    assert found(r, "s2")["key_type"] == "ed25519" and found(r, "s2")["key_bits"] == 256


def test_user_selector_is_tried_first_and_normalized(dns_server: DnsTestServer) -> None:
    r = check(dns_server, BASE + f"mykey2024._domainkey IN TXT {txt('v=DKIM1; p=' + RSA2048)}\n",
              dkim_selectors=["s=MyKey2024", "mykey2024._domainkey.example.com."])
    assert r.status is Status.PASS, r.findings
    assert r.detail["selectors"][:2] == ["mykey2024", "google"]
    assert r.detail["selectors_tried"] == N_BUILTIN + 1
    assert found(r, "mykey2024")["provider"] is None


def test_user_selector_cname_names_provider(dns_server: DnsTestServer) -> None:
    token = "abcdefghijklmnopqrstuvwxyz234567"
    dns_server.add_zone("amazonses.com", f"$TTL 300\n{token}.dkim.amazonses.com. IN TXT {txt('p=' + RSA2048)}\n")
    r = check(dns_server, BASE + f"{token}._domainkey IN CNAME {token}.dkim.amazonses.com.\n",
              dkim_selectors=[token])
    assert r.status is Status.PASS
    assert found(r, token)["provider"] == "Amazon SES"


# -- keys with problems -----------------------------------------------------------------------------


def test_1024_bit_key_warns(dns_server: DnsTestServer) -> None:
    r = check(dns_server, BASE + f"google._domainkey IN TXT {txt('v=DKIM1; p=' + RSA1024)}\n")
    assert r.status is Status.WARN and codes(r) == ["dkim.short-key"]
    assert found(r, "google")["status"] == "warn" and found(r, "google")["key_bits"] == 1024
    assert "selector 'google' (the selector Google Workspace uses) is 1024 bits" in r.findings[0].message
    assert r.summary == ("DKIM is set up with 1 active key, at selector google (Google Workspace), with "
                         "something to improve.")


# (selector, key record, status, the findings, what the selector's entry says, in the first finding's message,
#  detail and rfc)
KEY_CASES = [
    pytest.param("google", "v=DKIM1; p=" + rsa_b64(768), Status.FAIL, ["dkim.weak-key"], {"status": "fail"}, "", "",
                 "", id="under-1024-bits-fails"),
    pytest.param("google", "v=DKIM1; p=" + rsa_b64(8192), Status.WARN, ["dkim.oversized-key"], {}, "", "", "",
                 id="over-4096-bits-warns"),
    pytest.param("s1", "v=DKIM1; k=ed25519; p=" + ed_b64(), Status.WARN, ["dkim.ed25519-only"], {}, "RSA", "", "",
                 id="ed25519-only-warns"),
    pytest.param("google", "v=DKIM1; t=s; p=" + RSA2048, Status.PASS, ["dkim.strict-subdomains"], {}, "", "", "",
                 id="strict-flag-is-info"),
    pytest.param("google", "v=DKIM1; h=sha1; p=" + RSA2048, Status.FAIL, ["dkim.sha1-only"], {}, "", "",
                 "RFC 8301", id="sha1-only-fails"),
    pytest.param("google", "v=DKIM1; h=md5; p=" + RSA2048, Status.FAIL, ["dkim.unknown-hash"], {}, "", "", "",
                 id="unknown-hash-fails"),
    pytest.param("google", "v=DKIM1; s=other; p=" + RSA2048, Status.FAIL, ["dkim.not-for-email"], {}, "", "", "",
                 id="key-not-for-email-fails"),
    pytest.param("google", "v=DKIM1; p=" + RSA2048[:-10] + "!!", Status.FAIL, ["dkim.malformed-key"],
                 {"status": "fail", "key_type": None, "key_bits": None}, "", "", "", id="malformed-base64-fails"),
    pytest.param("google", "v=DKIM1; p=" + RSA2048[:200], Status.FAIL, ["dkim.malformed-key"], {}, "", "", "",
                 id="truncated-key-fails"),
    # RFC 6376 §3.6.1 wants v= first, but verifiers such as dkimpy read the tags in any order: a warning whose
    # fix puts it first (tests/core/checks/test_adversarial_domain.py publishes it), not "fails DKIM"
    pytest.param("google", "k=rsa; v=DKIM1; p=" + RSA2048, Status.WARN, ["dkim.version-not-first"], {}, "",
                 "first tag", "", id="version-not-first-warns"),
    pytest.param("google", "v=DKIM1; k=ed25519-sha256; p=" + RSA1024, Status.FAIL, ["dkim.unknown-key-type"], {},
                 "", "", "", id="unknown-key-type-fails"),
]


@pytest.mark.parametrize(("selector", "record", "status", "findings", "entry", "says", "detail", "rfc"), KEY_CASES)
def test_key_with_a_problem(dns_server: DnsTestServer, selector: str, record: str, status: Status,
                            findings: list[str], entry: dict[str, object], says: str, detail: str, rfc: str) -> None:
    r = check(dns_server, BASE + f"{selector}._domainkey IN TXT {txt(record)}\n")
    assert r.status is status and codes(r) == findings
    e = found(r, selector)
    assert {k: e[k] for k in entry} == entry
    first = r.findings[0]
    assert says in first.message and detail in first.detail and first.rfc.startswith(rfc)


def test_testing_mode_warns_and_its_fix_passes(dns_server: DnsTestServer) -> None:
    zone = BASE + f"google._domainkey IN TXT {txt('v=DKIM1; t=y; k=rsa; p=' + RSA2048)}\n"
    r = check(dns_server, zone)
    assert r.status is Status.WARN and codes(r) == ["dkim.testing-mode"]
    assert found(r, "google")["testing"] is True
    fix = r.findings[0].fix
    assert fix == Fix("google._domainkey.example.com", "TXT", "v=DKIM1; k=rsa; p=" + RSA2048, action="replace",
                      note=fix.note)  # type: ignore[union-attr]
    again = check(dns_server, apply_fix(zone, "example.com", fix))  # type: ignore[arg-type]
    assert again.status is Status.PASS and again.findings == []


def test_testing_mode_on_provider_cname_has_no_record_fix(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("sendgrid.net", f"$TTL 300\ns1.domainkey.u1.wl.sendgrid.net. IN TXT "
                                        f"{txt('k=rsa; t=y; p=' + RSA2048)}\n")
    r = check(dns_server, BASE + "s1._domainkey IN CNAME s1.domainkey.u1.wl.sendgrid.net.\n")
    assert codes(r) == ["dkim.testing-mode"] and r.findings[0].fix is None
    assert "mail service" in r.findings[0].message and found(r, "s1")["provider"] == "SendGrid"
    assert "selector 's1' (SendGrid)" in r.findings[0].message


def test_two_records_at_one_selector_fail(dns_server: DnsTestServer) -> None:
    r = check(dns_server, BASE + f"google._domainkey IN TXT {txt('v=DKIM1; p=' + RSA2048)}\n"
                                 f"google._domainkey IN TXT {txt('v=DKIM1; p=' + rsa_b64(2048, seed=2))}\n")
    assert r.status is Status.FAIL and codes(r) == ["dkim.multiple-records"]
    assert found(r, "google")["record"].count("v=DKIM1") == 2


def test_spf_record_at_a_selector_is_called_out(dns_server: DnsTestServer) -> None:
    r = check(dns_server, BASE + 'mail._domainkey IN TXT "v=spf1 -all"\n')
    assert r.status is Status.WARN
    assert codes(r) == ["dkim.not-a-key", "dkim.no-key-found"]
    assert "an SPF record" in r.findings[0].message
    assert found(r, "mail")["status"] == "fail"


def test_spf_record_at_the_users_selector_fails(dns_server: DnsTestServer) -> None:
    r = check(dns_server, BASE + 'mine._domainkey IN TXT "v=spf1 -all"\n', dkim_selectors=["mine"])
    assert r.status is Status.FAIL and "dkim.not-a-key" in codes(r)


def test_cname_to_nothing_warns(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("onmicrosoft.com", "$TTL 300\nexample.onmicrosoft.com. IN A 192.0.2.8\n")
    r = check(dns_server, BASE + f"google._domainkey IN TXT {txt('p=' + RSA2048)}\n"
                                 "selector1._domainkey IN CNAME selector1-example-com._domainkey.example.onmicrosoft.com.\n")
    assert r.status is Status.WARN and codes(r) == ["dkim.cname-broken"]
    e = found(r, "selector1")
    assert e["status"] == "fail" and e["cname"] == "selector1-example-com._domainkey.example.onmicrosoft.com"
    assert "Defender" in r.findings[0].message


# -- revoked keys -----------------------------------------------------------------------------------


def test_revoked_key_next_to_active_key_is_info(dns_server: DnsTestServer) -> None:
    r = check(dns_server, BASE + f"selector1._domainkey IN TXT {txt('v=DKIM1; p=' + RSA2048)}\n"
                                 'selector2._domainkey IN TXT "v=DKIM1; p="\n')
    assert r.status is Status.PASS and codes(r) == ["dkim.revoked-key"]
    e = found(r, "selector2")
    assert e["revoked"] is True and e["key_type"] is None and e["status"] == "pass"
    assert "rotat" in r.findings[0].detail or "change" in r.findings[0].message


def test_only_revoked_keys_warns(dns_server: DnsTestServer) -> None:
    r = check(dns_server, BASE + 'selector2._domainkey IN TXT "v=DKIM1; p="\n')
    assert r.status is Status.WARN and codes(r) == ["dkim.revoked-key", "dkim.no-key-found"]
    assert "Only revoked keys" in r.findings[1].detail


def test_revoked_user_selector_warns(dns_server: DnsTestServer) -> None:
    r = check(dns_server, BASE + f"google._domainkey IN TXT {txt('p=' + RSA2048)}\n"
                                 'mine._domainkey IN TXT "v=DKIM1; p="\n', dkim_selectors=["mine"])
    assert r.status is Status.WARN and codes(r) == ["dkim.revoked-key"]


# -- nothing found ----------------------------------------------------------------------------------


def test_no_key_found_warns_honestly(dns_server: DnsTestServer) -> None:
    r = check(dns_server, BASE)
    assert r.status is Status.WARN and codes(r) == ["dkim.no-key-found"]
    assert r.findings[0].message == (
        f"No DKIM key was found among the {N_BUILTIN} selectors we tried. DKIM may still be set up under a "
        "selector we don't know; tell us yours (you can find it in the s= tag of the DKIM-Signature header "
        "of a message you sent).")
    assert "Amazon SES" in r.findings[0].detail and r.findings[0].fix is None
    assert r.detail["found"] == [] and r.detail["unchecked"] == []


def test_users_selector_missing_warns(dns_server: DnsTestServer) -> None:
    r = check(dns_server, BASE + f"google._domainkey IN TXT {txt('p=' + RSA2048)}\n", dkim_selectors=["mine"])
    assert r.status is Status.WARN and codes(r) == ["dkim.selector-not-found"]


def test_invalid_user_selector_is_skipped(dns_server: DnsTestServer) -> None:
    r = check(dns_server, BASE + f"google._domainkey IN TXT {txt('p=' + RSA2048)}\n",
              dkim_selectors=["not a selector"])
    assert r.status is Status.PASS and codes(r) == ["dkim.invalid-selector"]
    assert r.detail["selectors_tried"] == N_BUILTIN


def test_no_key_on_null_mx_domain_is_info_and_fix_passes(dns_server: DnsTestServer) -> None:
    zone = '$TTL 300\n@ IN MX 0 .\n'
    r = check(dns_server, zone)
    assert r.status is Status.INFO and codes(r) == ["dkim.no-mail"]
    fix = r.findings[0].fix
    assert fix is not None and (fix.host, fix.type, fix.value) == ("*._domainkey.example.com", "TXT", "v=DKIM1; p=")
    again = check(dns_server, apply_fix(zone, "example.com", fix))
    assert again.status is Status.INFO and codes(again) == ["dkim.wildcard-revoked", "dkim.no-mail"]
    assert again.fixes == []
    assert [e["selector"] for e in again.detail["found"]] == ["*"]  # reported once, not once per selector


def test_no_key_on_spf_reject_all_domain_is_info(dns_server: DnsTestServer) -> None:
    r = check(dns_server, '$TTL 300\n@ IN TXT "v=spf1 -all"\n')
    assert r.status is Status.INFO and codes(r) == ["dkim.no-mail"]


def test_wildcard_spf_is_reported_once(dns_server: DnsTestServer) -> None:
    r = check(dns_server, BASE + '* IN TXT "v=spf1 -all"\n')
    assert codes(r) == ["dkim.not-a-key", "dkim.no-key-found"]
    assert r.status is Status.WARN and r.detail["found"] == []


def test_real_selector_beside_revoked_wildcard(dns_server: DnsTestServer) -> None:
    r = check(dns_server, BASE + f"google._domainkey IN TXT {txt('p=' + RSA2048)}\n"
                                 '*._domainkey IN TXT "v=DKIM1; p="\n')
    assert r.status is Status.PASS
    assert [e["selector"] for e in r.detail["found"]] == ["google", "*"]


# -- couldn't check ---------------------------------------------------------------------------------


def test_timeout_with_no_key_found_is_couldnt_check(dns_server: DnsTestServer) -> None:
    dns_server.timeout_names.add("google._domainkey.example.com")
    started = time.monotonic()
    r = check(dns_server, BASE, timeout=0.5)
    assert time.monotonic() - started < 5
    assert r.status is Status.ERROR and codes(r) == ["dkim.selectors-unchecked"]
    assert r.detail["unchecked"] == ["google"]
    assert "google" not in [e["selector"] for e in r.detail["found"]]


def test_servfail_with_no_key_found_is_couldnt_check(dns_server: DnsTestServer) -> None:
    dns_server.servfail_names.add("selector1._domainkey.example.com/TXT")
    r = check(dns_server, BASE)
    assert r.status is Status.ERROR and r.detail["unchecked"] == ["selector1"]


def test_timeout_beside_a_good_key_still_passes(dns_server: DnsTestServer) -> None:
    dns_server.timeout_names.add("s1._domainkey.example.com")
    r = check(dns_server, BASE + f"google._domainkey IN TXT {txt('p=' + RSA2048)}\n", timeout=0.5)
    assert r.status is Status.PASS and codes(r) == ["dkim.selectors-unchecked"]
    assert r.detail["unchecked"] == ["s1"]


def test_never_raises_on_a_bad_domain(dns_server: DnsTestServer) -> None:
    async def go() -> CheckResult:
        return await dkim.check(make_ctx(dns_server, "bad..name", timeout=0.5))

    r = run(go())
    assert r.name == "dkim" and r.status is Status.ERROR


def test_a_summary_over_part_of_the_selectors_says_it_is_partial(dns_server: DnsTestServer) -> None:
    """Issue 13 #14: "only Ed25519 keys" while half the selectors couldn't be checked is a claim on partial
    data: the finding and the summary say so."""
    selectors = [s.selector for s in load_catalog().selectors]
    silent = [s for s in selectors if s != "s1"][: len(selectors) // 2]
    dns_server.timeout_names.update(f"{s}._domainkey.example.com" for s in silent)
    r = check(dns_server, BASE + f"s1._domainkey IN TXT {txt('v=DKIM1; k=ed25519; p=' + ed_b64())}\n",
              timeout=0.3)
    assert sorted(r.detail["unchecked"]) == sorted(silent)
    f = next(x for x in r.findings if x.code == "dkim.ed25519-only")
    part = f"{len(silent)} of the {len(selectors)} selectors couldn't be checked"
    assert part in f.message and not f.message.startswith("Your domain only has")
    assert part in r.summary and "there may be more" in r.summary
    assert "dkim.selectors-unchecked" in codes(r)
