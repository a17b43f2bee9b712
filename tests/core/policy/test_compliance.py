"""Compliance profiles: the same domain check judged by different profiles, against loopback zones."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inboxready.core.policy import compliance as C
from inboxready.core.checks.runner import run_check
from inboxready.core.context import CORE_CHECKS, CheckOptions
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import CheckResult, DomainReport, Fix, Status

from ...conftest import run
from ...helpers.compliance import DOMAIN, fake, key_txt, message
from ...helpers.zones import MAIL_BASE


def zone(dmarc: str = "v=DMARC1; p=none; rua=mailto:dmarc@acme.test", bits: int = 1024) -> str:
    return f"""$TTL 300
@        IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@        IN NS  ns1
ns1      IN A   192.0.2.53
@        IN MX  10 mail
mail     IN A   192.0.2.10
@        IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc   IN TXT {Fix("x", "TXT", dmarc).zone_value}
s1._domainkey IN TXT {key_txt(bits)}
"""


def check(server: DnsTestServer, text: str, **opts: Any) -> DomainReport:
    server.add_origin("test")
    server.replace_zone(DOMAIN, text)
    opts.setdefault("checks", CORE_CHECKS)  # the network checks are given as results where a test needs them
    options = CheckOptions(nameservers=[server.address], timeout=float(opts.pop("timeout", 1.0)),
                           dkim_selectors=["s1"], **opts)
    return run(run_check(DOMAIN, options))


def states(v: C.ProfileVerdict) -> dict[str, str]:
    return {r.key: r.state for r in v.rules}


STARTTLS_OK = fake("starttls", Status.PASS, {"blocked": False, "hosts": [
    {"host": "mail.acme.test", "ip": "192.0.2.10", "port": 25, "starttls": True}]})
MTA_STS_ENFORCE = fake("mta_sts", Status.PASS, {"record": "v=STSv1; id=1", "policy": {"mode": "enforce"}})


# -- the same report, three verdicts ----------------------------------------------------------------


def test_pnone_1024_bit_key_meets_bulk_sender_but_not_hipaa(dns_server: DnsTestServer) -> None:
    report = check(dns_server, zone())
    assert report.checks["dmarc"].detail["policy"] == "none"

    bulk = C.evaluate("bulk-sender", report.checks)
    assert bulk.state == C.MET
    assert states(bulk)["spf"] == states(bulk)["dkim"] == states(bulk)["dmarc"] == C.MET
    assert states(bulk)["dmarc-enforced"] == C.NOT_MET  # recommended only: the verdict stays met
    assert states(bulk)["message-tls"] == C.NOT_CHECKED  # needs a message; noted, not blocking
    assert "test message" in bulk.summary

    hipaa = C.evaluate("hipaa", report.checks)
    assert hipaa.state == C.NOT_MET
    s = states(hipaa)
    assert s["dkim"] == C.MET
    assert s["dkim-2048"] == C.NOT_MET and s["dmarc-enforced"] == C.NOT_MET
    assert s["tls-in-transit"] == C.NOT_CHECKED  # the STARTTLS check is not part of this run
    dkim_rule = next(r for r in hipaa.rules if r.key == "dkim-2048")
    assert "1024 bits" in dkim_rule.why
    assert "not legal advice" in hipaa.statement

    soc2 = C.evaluate("soc2", report.checks)
    assert soc2.state == C.INCOMPLETE  # no DMARC reports collected yet
    assert states(soc2)["dmarc-reports-collected"] == C.NOT_CHECKED
    soc2 = C.evaluate("soc2", report.checks, reports_summary={"reports": 14, "messages": 5230, "days": 30})
    assert soc2.state == C.MET
    assert "14 reports" in next(r.why for r in soc2.rules if r.key == "dmarc-reports-collected")
    none_received = C.evaluate("soc2", report.checks, reports_summary={"reports": 0, "messages": 0})
    assert none_received.state == C.NOT_MET


def test_hipaa_fix_for_pnone_republished_meets_the_rule(dns_server: DnsTestServer) -> None:
    report = check(dns_server, zone(bits=2048))
    hipaa = C.evaluate("hipaa", report.checks)
    rule = next(r for r in hipaa.rules if r.key == "dmarc-enforced")
    assert rule.state == C.NOT_MET and rule.fix is not None
    assert rule.fix.host == "_dmarc.acme.test" and rule.fix.type == "TXT"
    assert "p=quarantine" in rule.fix.value

    fixed = check(dns_server, zone(dmarc=rule.fix.value, bits=2048))
    again = C.evaluate("hipaa", fixed.checks)
    assert states(again)["dmarc-enforced"] == C.MET
    assert states(again)["dkim-2048"] == C.MET


def test_hipaa_met_with_tls_evidence(dns_server: DnsTestServer) -> None:
    report = check(dns_server, zone(dmarc="v=DMARC1; p=reject; rua=mailto:dmarc@acme.test", bits=2048))
    checks = dict(report.checks, starttls=STARTTLS_OK, mta_sts=MTA_STS_ENFORCE,
                  dnssec=fake("dnssec", Status.PASS, {"signed": True, "valid": True}),
                  tls_rpt=fake("tls_rpt", Status.PASS, {"record": "v=TLSRPTv1; rua=mailto:t@acme.test",
                                                        "rua": ["mailto:t@acme.test"]}))
    v = C.evaluate("hipaa", checks, message=message(tls=True))
    assert v.state == C.MET, v.summary
    assert all(r.state == C.MET for r in v.rules), states(v)
    # the same domain check without TLS evidence is incomplete, never "met"; half the evidence too
    assert C.evaluate("hipaa", report.checks).state == C.INCOMPLETE
    half = C.evaluate("hipaa", dict(report.checks, starttls=STARTTLS_OK))
    rule = next(r for r in half.rules if r.key == "tls-in-transit")
    assert half.state == C.INCOMPLETE and rule.state == C.NOT_CHECKED and "test message" in rule.why
    half = C.evaluate("hipaa", report.checks, message=message(tls=True))
    assert states(half)["tls-in-transit"] == C.NOT_CHECKED


def test_testing_mode_is_not_enforcement(dns_server: DnsTestServer) -> None:
    report = check(dns_server, zone(dmarc="v=DMARC1; p=quarantine; t=y; rua=mailto:dmarc@acme.test", bits=2048))
    v = C.evaluate("hipaa", report.checks)
    rule = next(r for r in v.rules if r.key == "dmarc-enforced")
    assert rule.state == C.NOT_MET and "t=y" in rule.why
    assert states(C.evaluate("bulk-sender", report.checks))["dmarc"] == C.MET


def test_no_tls_on_a_message_or_mx_is_not_met() -> None:
    checks = {"starttls": fake("starttls", Status.FAIL, {"blocked": False, "hosts": [
        {"host": "mx1.acme.test", "starttls": False}, {"host": "mx2.acme.test", "starttls": True}]})}
    v = C.evaluate("hipaa", checks)
    rule = next(r for r in v.rules if r.key == "tls-in-transit")
    assert rule.state == C.NOT_MET and "mx1.acme.test" in rule.why
    bulk = C.evaluate("bulk-sender", {}, message=message(tls=False, dmarc=Status.FAIL))
    assert states(bulk)["message-tls"] == C.NOT_MET and states(bulk)["message-dmarc-pass"] == C.NOT_MET
    assert bulk.state == C.NOT_MET


def test_starttls_handshake_failure_and_bad_certificate() -> None:
    failing = fake("starttls", Status.FAIL, {"blocked": False, "hosts": [
        {"host": "mail.acme.test", "starttls": True, "tls_version": None, "cert_valid": None,
         "error": "handshake failed"}]})
    assert states(C.evaluate("soc2", {"starttls": failing}))["inbound-tls"] == C.NOT_MET
    bad_cert = fake("starttls", Status.WARN, {"blocked": False, "hosts": [
        {"host": "mail.acme.test", "starttls": True, "tls_version": "TLSv1.3", "cert_valid": False, "error": None}]})
    rule = next(r for r in C.evaluate("soc2", {"starttls": bad_cert}).rules if r.key == "inbound-tls")
    assert rule.state == C.MET and "certificate" in rule.why
    no_mail = fake("starttls", Status.INFO, {"blocked": False, "hosts": []})
    assert states(C.evaluate("soc2", {"starttls": no_mail}))["inbound-tls"] == C.MET


def test_blocked_port_25_is_unknown_not_failure() -> None:
    blocked = fake("starttls", Status.ERROR, {"blocked": True, "hosts": [{"host": "mail.acme.test", "starttls": None}]})
    v = C.evaluate("hipaa", {"starttls": blocked})
    rule = next(r for r in v.rules if r.key == "tls-in-transit")
    assert rule.state == C.UNKNOWN


def test_dns_trouble_is_unknown_and_incomplete(dns_server: DnsTestServer) -> None:
    dns_server.servfail_names.add("_dmarc.acme.test")
    report = check(dns_server, zone(bits=2048), timeout=0.5)
    assert report.checks["dmarc"].status is Status.ERROR
    for profile in ("bulk-sender", "hipaa"):
        v = C.evaluate(profile, report.checks)
        assert states(v)["dmarc" if profile == "bulk-sender" else "dmarc-enforced"] == C.UNKNOWN
        assert v.state in (C.INCOMPLETE, C.NOT_MET)
    assert C.evaluate("bulk-sender", report.checks).state == C.INCOMPLETE


def test_missing_records_are_not_met_with_fixes(dns_server: DnsTestServer) -> None:
    text = MAIL_BASE
    report = check(dns_server, text)
    v = C.evaluate("bulk-sender", report.checks)
    assert v.state == C.NOT_MET
    assert states(v)["spf"] == C.NOT_MET and states(v)["dmarc"] == C.NOT_MET
    dmarc_rule = next(r for r in v.rules if r.key == "dmarc")
    assert dmarc_rule.fix is not None and dmarc_rule.fix.host == "_dmarc.acme.test"
    assert dmarc_rule.fix.value.startswith("v=DMARC1;")


# -- the profile file -------------------------------------------------------------------------------


def test_profile_file_is_complete() -> None:
    profiles = C.load_profiles()
    assert list(profiles)[0] == "bulk-sender"
    assert {"bulk-sender", "soc2", "hipaa"} <= set(profiles)
    raw = json.loads(resources.files("inboxready.core.rules").joinpath(C.PROFILE_FILE).read_text("utf-8"))
    assert "not legal advice" in raw["statement"] and raw["checked"]
    for p in profiles.values():
        assert p.rules and p.sources and p.statement
        assert len({r.key for r in p.rules}) == len(p.rules)
        for r in p.rules:
            assert r.level in ("required", "recommended") and r.reason and r.control and r.checked and r.source
            assert r.if_not_checked in ("incomplete", "note")
    controls = " ".join(r.control for r in profiles["hipaa"].rules)
    for c in ("§164.312(a)(1)", "§164.312(c)(1)", "§164.312(e)(1)"):
        assert c in controls
    assert {"CC6.1", "CC6.6", "CC7.2"} <= {w for r in profiles["soc2"].rules for w in r.control.split()}


def test_unknown_profile_is_a_profile_error() -> None:
    with pytest.raises(C.ProfileError):
        C.evaluate("iso27001", {})


def test_verdict_json_is_plain() -> None:
    v = C.evaluate("soc2", {})
    data = json.loads(json.dumps(v.to_json()))
    assert data["state"] == C.INCOMPLETE and data["profile"] == "soc2"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["profiles", "statement", "default", "x"]), json_values, max_size=4)
       | json_values)
def test_parse_profiles_raises_only_profile_error(data: Any) -> None:
    try:
        C.parse_profiles(data)
    except C.ProfileError:
        pass


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_reports_summary_of_any_shape_never_raises(summary: Any) -> None:
    if not isinstance(summary, dict):
        summary = {"reports": summary}
    v = C.evaluate("soc2", {}, reports_summary=summary)
    assert v.state in (C.MET, C.NOT_MET, C.INCOMPLETE)


def test_real_starttls_check_with_a_closed_port_is_unknown(dns_server: DnsTestServer) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    text = zone(dmarc="v=DMARC1; p=reject; rua=mailto:dmarc@acme.test", bits=2048).replace(
        "mail     IN A   192.0.2.10", "mail     IN A   127.0.0.1")
    report = check(dns_server, text, smtp_port=port, connect_timeout=1.0,
                   checks=("spf", "dkim", "dmarc", "mx", "starttls"))
    assert report.checks["starttls"].status is Status.ERROR
    v = C.evaluate("hipaa", report.checks, message=message(tls=True))
    rule = next(r for r in v.rules if r.key == "tls-in-transit")
    assert rule.state == C.UNKNOWN and v.state == C.INCOMPLETE


def test_reverse_dns_dnssec_and_tls_reporting_rules() -> None:
    def rdns(*hosts: dict[str, Any]) -> CheckResult:
        return fake("rdns", Status.PASS, {"hosts": list(hosts), "capped": False})

    sent_bad = rdns({"ip": "192.0.2.10", "source": "message", "confirmed": False},
                    {"ip": "192.0.2.11", "source": "spf", "confirmed": True})
    v = C.evaluate("bulk-sender", {"rdns": sent_bad})
    assert states(v)["sending-ptr"] == C.NOT_MET and v.state == C.NOT_MET
    spf_only = rdns({"ip": "192.0.2.12", "source": "spf", "confirmed": False})
    assert states(C.evaluate("bulk-sender", {"rdns": spf_only}))["sending-ptr"] == C.UNKNOWN
    good = rdns({"ip": "192.0.2.10", "source": "message", "confirmed": True})
    assert states(C.evaluate("bulk-sender", {"rdns": good}))["sending-ptr"] == C.MET
    assert states(C.evaluate("bulk-sender", {}))["sending-ptr"] == C.NOT_CHECKED
    # only receiving (MX) addresses, whose lookups failed: no evidence about senders, not "couldn't check"
    mx_only = fake("rdns", Status.ERROR, {"hosts": [{"ip": "192.0.2.1", "source": "mx", "confirmed": None}]})
    assert states(C.evaluate("bulk-sender", {"rdns": mx_only}))["sending-ptr"] == C.NOT_CHECKED

    signed = fake("dnssec", Status.PASS, {"signed": True, "valid": True, "chain": []})
    unsigned = fake("dnssec", Status.INFO, {"signed": False, "valid": None, "chain": []})
    assert states(C.evaluate("hipaa", {"dnssec": signed}))["dnssec"] == C.MET
    assert states(C.evaluate("hipaa", {"dnssec": unsigned}))["dnssec"] == C.NOT_MET

    rpt = fake("tls_rpt", Status.PASS, {"record": "v=TLSRPTv1; rua=mailto:tls@acme.test",
                                         "rua": ["mailto:tls@acme.test"]})
    assert states(C.evaluate("soc2", {"tls_rpt": rpt}))["tls-rpt"] == C.MET
    assert states(C.evaluate("soc2", {"tls_rpt": fake("tls_rpt", Status.INFO, {"record": None, "rua": []})}))[
        "tls-rpt"] == C.NOT_MET
