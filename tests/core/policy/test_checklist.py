"""The bulk-sender checklist: the rules file, each state, partial input, and fixes that pass our checks."""

from __future__ import annotations

import base64
import json
import math
import re
from functools import lru_cache
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxready.core.policy import checklist as cl
from inboxready.core.policy.bulk import bulk_sender_readiness
from inboxready.core.policy.checklist import build_checklist, load_rules, parse_rules
from inboxready.core.checks.runner import run_check
from inboxready.core.context import CheckOptions
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.mail.message import MessageReport, analyze_message
from inboxready.core.model import CheckResult, Fix, Severity, Status, quote_txt, split_txt
from tests.conftest import run

# -- helpers ---------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def dkim_txt(bits: int) -> str:
    if bits < 1024:  # cryptography won't generate keys this weak; a public key only needs a modulus
        public = rsa.RSAPublicNumbers(65537, (1 << (bits - 1)) | 0x1D).public_key()
    else:
        public = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return " ".join(quote_txt(s) for s in split_txt("v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()))


def zone(*, spf: bool = True, dmarc: str | None = "p=reject", bits: int | None = 2048) -> str:
    lines = ["@ 300 IN MX 10 mx1", "mx1 300 IN A 192.0.2.1"]
    if spf:
        lines.append('@ 300 IN TXT "v=spf1 mx ~all"')
    if dmarc is not None:
        lines.append(f'_dmarc 300 IN TXT "v=DMARC1; {dmarc}; rua=mailto:dmarc@shop.test"')
    if bits is not None:
        lines.append(f"s1._domainkey 300 IN TXT {dkim_txt(bits)}")
    return "\n".join(lines) + "\n"


def domain_checks(server: DnsTestServer, text: str, *, timeout: float = 1.0) -> dict[str, CheckResult]:
    server.replace_zone("shop.test", text)
    opts = CheckOptions(nameservers=[server.address], timeout=timeout, deadline=10.0, dkim_selectors=["s1"],
                        checks=("spf", "dkim", "dmarc", "mx"))
    return dict(run(run_check("shop.test", opts)).checks)


RECEIVED = ("Received: from out.shop.test (out.shop.test [192.0.2.1])\n"
            "        by mx.receiver.example with {proto} id x1; Mon, 23 Nov 2026 10:00:01 +0000\n"
            "Authentication-Results: mx.receiver.example; spf=pass smtp.mailfrom=shop.test;\n"
            " dkim=pass header.d=shop.test; dmarc={dmarc} header.from=shop.test\n")
HEADERS = ("From: Shop <news@shop.test>\nTo: a@receiver.example\nSubject: Autumn news\n"
           "Date: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <1@shop.test>\n")
# RFC 8058 §4: one-click counts only with both headers covered by a DKIM signature (the receiver's dkim=pass)
ONE_CLICK = ("List-Unsubscribe: <https://shop.test/u/1>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n"
             "DKIM-Signature: v=1; a=rsa-sha256; d=shop.test; s=s1; c=relaxed/relaxed;\n"
             " h=from:to:subject:date:message-id:list-unsubscribe:list-unsubscribe-post; bh=AAAA; b=BBBB\n")
HTML = ('MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="b"\n\n--b\nContent-Type: text/plain\n\n'
        "Autumn news. Unsubscribe: https://shop.test/u/1\n--b\nContent-Type: text/html\n\n"
        '<p>Autumn news</p><a href="https://shop.test/a">Read</a><p>Shop, 1 Main Street, Springfield</p>'
        '<a href="https://shop.test/u/1">{unsub}</a>\n--b--\n')


def message(*, proto: str = "ESMTPS", dmarc: str = "pass", extra: str = ONE_CLICK, headers: str = HEADERS,
            unsub: str = "Unsubscribe") -> MessageReport:
    raw = (RECEIVED.format(proto=proto, dmarc=dmarc) + headers + extra + HTML.format(unsub=unsub)).encode()
    return run(analyze_message(raw, trusted_authserv_ids=["mx.receiver.example"], content=True))


def status_result(name: str, status: Status) -> CheckResult:
    return CheckResult(name, status, f"{name} is {status}")


def states(result: CheckResult) -> dict[str, str]:
    return {i["key"]: i["state"] for i in result.detail["items"]}


def item(result: CheckResult, key: str) -> dict[str, Any]:
    return next(i for i in result.detail["items"] if i["key"] == key)


def codes(result: CheckResult) -> list[str]:
    return [f.code for f in result.findings]


# -- the rules file --------------------------------------------------------------------------------


def test_the_rules_file_is_complete_and_dated() -> None:
    rules = load_rules()
    keys = [r.key for r in rules.rules]
    assert len(keys) == len(set(keys))
    assert {"spf", "dkim", "dmarc", "alignment", "rdns", "tls", "format", "one-click-unsubscribe",
            "visible-unsubscribe", "dkim-key-size", "spam-rate"} <= set(keys)
    for r in rules.rules:
        assert set(r.who) <= {"google", "yahoo", "microsoft"} and r.applies in ("all", "bulk")
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", r.since) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", r.checked)
        assert r.sources and all(s["url"].startswith("https://") and s["title"] for s in r.sources)
        assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", s["checked"]) for s in r.sources)
        assert r.why and r.label and r.judged.get("how")
        assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) and w in r.who for w, d in r.since_by)
    # Microsoft asks for SPF, DKIM and DMARC from May 5, 2025 (550 5.7.515), Google and Yahoo since February 2024
    assert load_rules().get("spf").since_words == "February 2024 (Microsoft: May 2025)"
    assert dict(load_rules().get("dmarc").since_by)["microsoft"] == "2025-05-05"
    assert "5.7.515" in load_rules().get("dmarc").why
    assert "microsoft" in load_rules().get("dmarc").who
    assert load_rules().get("one-click-unsubscribe").since == "2024-06-01"


def test_the_readiness_bar_uses_the_rules_file_labels() -> None:
    reqs = bulk_sender_readiness({})
    rules = load_rules()
    assert [r.key for r in reqs] == [r.key for r in rules.rules if r.readiness_bar]
    for req in reqs:
        rule = rules.get(req.key)
        assert (req.label, req.required, req.who) == (rule.label, rule.required, rule.who)
        assert req.to_json()["source"] == rule.source


def test_parse_rules_rejects_bad_entries_with_its_own_error() -> None:
    data = json.loads(json.dumps({"sources": {}, "rules": [{"key": "x"}]}))
    with pytest.raises(ValueError):
        parse_rules(data)
    good = json.loads((cl.resources.files("inboxready.core.rules") / cl.RULES_FILE).read_text())
    good["rules"][0]["judged"]["kind"] = "no-such-kind"
    with pytest.raises(ValueError):
        parse_rules(good)


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                   max_size=4), max_leaves=8)


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(st.sampled_from(["rules", "sources", "checked", "x"]), _JSON, max_size=4))
def test_parse_rules_on_arbitrary_data_raises_only_value_error(data: dict[str, Any]) -> None:
    try:
        parse_rules(data)
    except ValueError:
        pass


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["found", "record", "policy", "testing", "stage", "selectors_tried"]), _JSON),
       st.sampled_from(list(Status)), st.one_of(st.none(), st.floats(allow_nan=True)))
def test_odd_check_details_never_break_the_checklist(detail: dict[str, Any], status: Status,
                                                     spam: float | None) -> None:
    checks = {n: CheckResult(n, status, "", detail=dict(detail)) for n in ("spf", "dkim", "dmarc", "rdns")}
    r = build_checklist(checks, spam_rate=spam)
    assert {i["state"] for i in r.detail["items"]} <= set(cl.STATES)
    json.dumps(r.to_json())


# -- partial input ---------------------------------------------------------------------------------


def test_nothing_yet() -> None:
    r = build_checklist(None)
    s = states(r)
    assert s["spf"] == s["dkim"] == s["dmarc"] == s["dkim-key-size"] == "pending"
    assert s["alignment"] == s["format"] == s["one-click-unsubscribe"] == s["visible-unsubscribe"] == \
        "needs-test-message"
    assert s["rdns"] == "needs-test-message" and s["tls"] == "needs-test-message"
    assert s["spam-rate"] == "cant-see"
    assert r.status is Status.INFO and r.findings == [] and r.name == "checklist"
    assert r.summary.startswith("Checking")
    assert r.detail["spam_rate"] is None


def test_items_have_the_promised_shape() -> None:
    r = build_checklist({})
    for i in r.detail["items"]:
        assert {"key", "label", "who", "applies", "since", "source", "state", "why", "fix_check"} <= set(i)
        assert isinstance(i["who"], list) and i["applies"] in ("all", "bulk") and isinstance(i["why"], str)
    json.dumps(r.to_json())


def test_a_good_domain_without_a_message(dns_server: DnsTestServer) -> None:
    r = build_checklist(domain_checks(dns_server, zone()))
    s = states(r)
    assert s["spf"] == s["dkim"] == s["dmarc"] == s["spf-or-dkim"] == s["dkim-key-size"] == "met"
    assert s["enforcement"] == "met"
    assert s["alignment"] == "needs-test-message" and s["spam-rate"] == "cant-see"
    assert r.status is Status.INFO and r.findings == []
    assert "need a test message" in r.summary and "can't be seen from here" in r.summary


def test_everything_met(dns_server: DnsTestServer) -> None:
    checks = domain_checks(dns_server, zone())
    checks["rdns"] = status_result("rdns", Status.PASS)
    r = build_checklist(checks, message(), spam_rate=0.05)
    s = states(r)
    # the forwarders' rule can't be seen on mail you send yourself, and doesn't hold the verdict back
    assert s.pop("forwarding-arc") == "cant-see" and item(r, "forwarding-arc")["conditional"] is True
    assert set(s.values()) == {"met"}, states(r)
    assert r.status is Status.PASS and r.findings == []
    assert r.summary == (f"{len(r.detail['items']) - 1} of {len(r.detail['items'])} sender rules met and 1 can't be "
                         "seen from here.")
    assert "0.05%" in item(r, "spam-rate")["why"] and r.detail["spam_rate"] == 0.05


# -- not met, with the fix from the check ----------------------------------------------------------


def republish(server: DnsTestServer, text: str, fix: Fix) -> str:
    """The zone with ``fix`` applied (TXT records at the same host and of the same kind replaced)."""
    rel = fix.host[: -len(".shop.test")] if fix.host != "shop.test" else "@"
    kind = fix.value.split(";")[0].split(" ")[0].lower()
    kept = [ln for ln in text.splitlines() if not (ln.split()[0] == rel and kind in ln.lower())]
    return "\n".join(kept + [fix.zone_line]) + "\n"


def test_missing_spf_and_dmarc_are_not_met_with_fixes_that_work(dns_server: DnsTestServer) -> None:
    text = zone(spf=False, dmarc=None)
    r = build_checklist(domain_checks(dns_server, text))
    s = states(r)
    assert s["spf"] == "not-met" and s["dmarc"] == "not-met" and s["spf-or-dkim"] == "met"
    assert r.status is Status.WARN  # bulk-sender rules: a warning, not a failure
    spf = next(f for f in r.findings if f.code == "checklist.spf")
    dmarc = next(f for f in r.findings if f.code == "checklist.dmarc")
    assert spf.severity is Severity.WARNING and "SPF record" in spf.message and "Google" in spf.detail
    assert item(r, "spf")["fix_check"] == "spf" and item(r, "dmarc")["fix_check"] == "dmarc"
    assert spf.fix is not None and spf.fix.value.startswith("v=spf1")
    assert dmarc.fix is not None and dmarc.fix.host == "_dmarc.shop.test"
    text = republish(dns_server, text, spf.fix)
    text = republish(dns_server, text, dmarc.fix)
    again = build_checklist(domain_checks(dns_server, text))
    assert states(again)["spf"] == "met" and states(again)["dmarc"] == "met"
    assert "checklist.spf" not in codes(again) and "checklist.dmarc" not in codes(again)


def test_monitoring_dmarc_meets_the_rule_but_not_enforcement(dns_server: DnsTestServer) -> None:
    r = build_checklist(domain_checks(dns_server, zone(dmarc="p=none")))
    assert states(r)["dmarc"] == "met" and states(r)["enforcement"] == "not-met"
    f = next(f for f in r.findings if f.code == "checklist.enforcement")
    assert f.severity is Severity.INFO and "our advice" in f.detail
    assert r.status is Status.INFO  # only a recommendation is open; the rest needs a message


def test_short_dkim_key_is_met_with_advice_and_a_weak_one_is_not(dns_server: DnsTestServer) -> None:
    r = build_checklist(domain_checks(dns_server, zone(bits=1024)))
    assert states(r)["dkim-key-size"] == "met" and "2048 bits is recommended" in item(r, "dkim-key-size")["why"]
    assert item(r, "dkim-key-size")["facts"]["keys"] == [{"selector": "s1", "bits": 1024}]
    weak = build_checklist(domain_checks(dns_server, zone(bits=512)))
    assert states(weak)["dkim-key-size"] == "not-met" and states(weak)["dkim"] == "not-met"
    f = next(f for f in weak.findings if f.code == "checklist.dkim-key-size")
    assert f.severity is Severity.ERROR and "512 bits" in f.message and f.rfc == "RFC 8301 §3.2"  # every sender
    assert weak.status is Status.FAIL


def test_no_dkim_key_found_is_unknown_not_not_met(dns_server: DnsTestServer) -> None:
    r = build_checklist(domain_checks(dns_server, zone(bits=None)))
    assert states(r)["dkim"] == "unknown" and states(r)["dkim-key-size"] == "unknown"
    assert states(r)["spf-or-dkim"] == "met"
    assert "checklist.dkim" not in codes(r) and r.status is Status.ERROR


def test_dns_trouble_is_unknown_never_not_met(dns_server: DnsTestServer) -> None:
    dns_server.timeout_names.add("shop.test/TXT")
    try:
        checks = domain_checks(dns_server, zone(), timeout=0.3)
    finally:
        dns_server.timeout_names.discard("shop.test/TXT")
    assert checks["spf"].status is Status.ERROR
    r = build_checklist(checks)
    assert states(r)["spf"] == "unknown" and "checklist.spf" not in codes(r)
    assert r.status is Status.ERROR


# -- rdns / starttls from their status only --------------------------------------------------------


@pytest.mark.parametrize(("status", "state"), [(Status.PASS, "met"), (Status.INFO, "met"), (Status.WARN, "not-met"),
                                              (Status.FAIL, "not-met"), (Status.ERROR, "unknown")])
def test_rdns_is_judged_from_its_status(status: Status, state: str) -> None:
    r = build_checklist({"rdns": status_result("rdns", status)})
    assert states(r)["rdns"] == state and item(r, "rdns")["fix_check"] == "rdns"
    if state == "not-met":
        f = next(f for f in r.findings if f.code == "checklist.rdns")
        assert f.severity is Severity.ERROR  # every sender needs it


def test_rdns_absent_needs_a_message_or_cant_be_seen() -> None:
    assert states(build_checklist({}))["rdns"] == "needs-test-message"
    assert states(build_checklist({}, message()))["rdns"] == "cant-see"


def test_tls_from_the_message_first_then_starttls() -> None:
    assert states(build_checklist({}, message()))["tls"] == "met"
    no_tls = build_checklist({}, message(proto="ESMTP"))
    assert states(no_tls)["tls"] == "not-met" and "checklist.tls" in codes(no_tls)
    assert states(build_checklist({"starttls": status_result("starttls", Status.PASS)}))["tls"] == "met"
    assert states(build_checklist({"starttls": status_result("starttls", Status.ERROR)}))["tls"] == "unknown"
    assert states(build_checklist({"starttls": status_result("starttls", Status.FAIL)}))["tls"] == "not-met"


# -- message facts ---------------------------------------------------------------------------------


def test_message_problems_are_not_met() -> None:
    m = message(dmarc="fail", extra="List-Unsubscribe: <mailto:u@shop.test>\n",
                headers=HEADERS.replace("Message-ID: <1@shop.test>\n", ""), unsub="Read more")
    r = build_checklist({}, m)
    s = states(r)
    assert s["alignment"] == "not-met" and s["format"] == "not-met"
    assert s["one-click-unsubscribe"] == "not-met" and s["visible-unsubscribe"] == "not-met"
    assert "Message-ID" in item(r, "format")["why"]
    assert {"checklist.alignment", "checklist.format", "checklist.one-click-unsubscribe",
            "checklist.visible-unsubscribe"} <= set(codes(r))
    assert r.status is Status.FAIL  # the format rule is for every sender


def test_a_message_without_a_content_card_cant_show_the_visible_link() -> None:
    raw = (RECEIVED.format(proto="ESMTPS", dmarc="pass") + HEADERS + ONE_CLICK + "\nHello\n").encode()
    m = run(analyze_message(raw, trusted_authserv_ids=["mx.receiver.example"]))
    assert states(build_checklist({}, m))["visible-unsubscribe"] == "cant-see"


def test_an_untrusted_message_gives_unknown_alignment() -> None:
    raw = (HEADERS + ONE_CLICK + "\nHello\n").encode()
    m = run(analyze_message(raw))
    s = states(build_checklist({}, m))
    assert s["alignment"] == "unknown" and s["format"] == "cant-see"


# -- spam rate -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rate", "state"), [(None, "cant-see"), (math.nan, "cant-see"), (-1.0, "cant-see"),
                                            (0.0, "met"), (0.09, "met"), (0.2, "met"), (0.3, "not-met"),
                                            (1.5, "not-met")])
def test_spam_rate(rate: float | None, state: str) -> None:
    r = build_checklist({}, spam_rate=rate)
    assert states(r)["spam-rate"] == state
    if rate == 0.2:
        assert "above the 0.1%" in item(r, "spam-rate")["why"]
    if state == "not-met":
        f = next(f for f in r.findings if f.code == "checklist.spam-rate")
        assert f.severity is Severity.ERROR and "0.3% limit" in f.message
