"""analyze_message: which Authentication-Results we believe, the SPF / DKIM / DMARC cards, our own second
opinion, and robustness on anything that isn't a clean message.

Messages are built as a receiver would leave them: the receiver's own header fields (top, newest first)
above the message as the sender signed it. Keys and DMARC records come from the loopback DNS server.
"""

from __future__ import annotations

import json
from typing import Any

import dkim
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inboxready.core.dns.client import DnsClient
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.mail.authres import parse_tags
from inboxready.core.mail.message import MessageReport, analyze_message
from inboxready.core.mail.trust import simple_org_domain
from inboxready.core.model import Severity, Status, quote_txt, split_txt

from ..conftest import conformance_dir, run
from ..detailshape import assert_message_shapes


def txt(value: str) -> str:
    return " ".join(quote_txt(s) for s in split_txt(value))


def key_pem() -> bytes:
    return (conformance_dir("dkim") / "dkimpy" / "test.private").read_bytes()


def key_txt() -> str:
    return (conformance_dir("dkim") / "dkimpy" / "test.txt").read_text().strip()


SPF = '"v=spf1 ip4:192.0.2.10 -all"'  # the address edge() says the message came from
SHOP_ZONE = """
@               IN TXT "v=spf1 ip4:192.0.2.10 -all"
em              IN TXT "v=spf1 ip4:192.0.2.10 -all"
s1._domainkey   IN TXT {key}
_dmarc          IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@shop.example"
"""

BODY = (b"From: Shop <news@shop.example>\r\nTo: alice@gmail.example\r\nSubject: Spring sale\r\n"
        b"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <1@shop.example>\r\n"
        b"List-Unsubscribe: <https://shop.example/u/1>\r\n\r\nHello!\r\nBye.\r\n")
SIGNED = [b"from", b"to", b"subject", b"date", b"message-id", b"list-unsubscribe", b"list-unsubscribe-post"]


def sign(msg: bytes = BODY, *, headers: list[bytes] | None = None, length: bool = False) -> bytes:
    return dkim.sign(msg, b"s1", b"shop.example", key_pem(), include_headers=headers or SIGNED,
                     length=length) + msg


def bprefix(signed: bytes) -> str:
    value = signed.split(b"\r\n\r\n")[0].decode().split("DKIM-Signature:", 1)[1]
    return parse_tags(value.split("\r\nFrom:")[0])["b"][:8]


def build(fields: list[str], signed: bytes) -> bytes:
    """The receiver's header fields (top first, folded with '\\n ' inside) above the signed message."""
    return "".join(f.replace("\n", "\r\n") + "\r\n" for f in fields).encode() + signed


def edge(host: str = "out.shop.example", by: str = "mx.google.com") -> str:
    return (f"Received: from {host} ({host}. [192.0.2.10])\n        by {by} with ESMTPS id x1\n"
            "        for <alice@gmail.example>; Mon, 01 Jan 2024 10:00:01 -0800 (PST)")


def gmail_ar(signed: bytes, *, dkim_res: str = "pass", spf: str = "pass", mailfrom: str = "bounce@shop.example",
             dmarc: str = "pass", comment: str = "p=REJECT sp=REJECT dis=NONE") -> str:
    return (f"Authentication-Results: mx.google.com;\n       dkim={dkim_res} header.i=@shop.example header.s=s1 "
            f"header.b={bprefix(signed)};\n       spf={spf} (google.com: domain of {mailfrom} designates "
            f"192.0.2.10 as permitted sender) smtp.mailfrom={mailfrom};\n       dmarc={dmarc} ({comment}) "
            "header.from=shop.example")


def analyze(server: DnsTestServer | None, raw: bytes, trusted: list[str] | None = None) -> MessageReport:
    async def go() -> MessageReport:
        client = DnsClient([server.address], timeout=0.5) if server is not None else None
        try:
            report = await analyze_message(raw, dns=client, trusted_authserv_ids=trusted)
            assert_message_shapes(report)  # every report of these tests is of its typed shapes
            return report
        finally:
            if client is not None:
                client.close()
    return run(go())


def codes(report: MessageReport, name: str) -> list[str]:
    return [f.code for f in report.checks[name].findings]


@pytest.fixture
def shop(dns_server: DnsTestServer) -> DnsTestServer:
    dns_server.add_zone("shop.example", SHOP_ZONE.format(key=txt(key_txt())))
    dns_server.add_zone("mailer.example", f"@ IN TXT {SPF}\n")
    return dns_server


# -- the whole picture ----------------------------------------------------------------------------------


def test_gmail_all_aligned_pass(shop: DnsTestServer) -> None:
    signed = sign()
    raw = build([edge(), "Received-SPF: pass (google.com: domain of bounce@shop.example designates 192.0.2.10 "
                 "as permitted sender) client-ip=192.0.2.10;", gmail_ar(signed)], signed)
    r = analyze(shop, raw)
    assert r.receiver == "mx.google.com"
    assert {k: v.status for k, v in r.checks.items() if k != "delivery"} == {"spf": Status.PASS, "dkim": Status.PASS,
                                                          "dmarc": Status.PASS}
    assert all(not v.findings for k, v in r.checks.items() if k != "delivery")
    dk = r.checks["dkim"].detail
    assert dk["signatures"][0]["our_result"] == "pass" and dk["signatures"][0]["agree"] is True
    assert dk["signatures"][0]["d"] == "shop.example" and dk["signatures"][0]["receiver_result"] == "pass"
    dm = r.checks["dmarc"].detail
    assert dm["our_result"] == "pass" and dm["ours"]["aligned_by"] == ["spf", "dkim:shop.example"]
    assert dm["policy"] == "reject" and dm["disposition"] == "none"
    assert dm["org_domain_method"] == "dns-tree-walk"
    spf = r.checks["spf"].detail
    assert (spf["mailfrom_domain"], spf["aligned"], spf["client_ip"]) == ("shop.example", True, "192.0.2.10")
    assert "same domain" in spf["alignment"]


def test_to_json_shape(shop: DnsTestServer) -> None:
    signed = sign()
    r = analyze(shop, build([edge(), gmail_ar(signed)], signed))
    j = json.loads(json.dumps(r.to_json()))
    assert set(j) >= {"checks", "from", "subject", "message_id", "receiver"}
    assert (j["from"], j["subject"], j["message_id"], j["receiver"]) == (
        "Shop <news@shop.example>", "Spring sale", "<1@shop.example>", "mx.google.com")
    for name in ("spf", "dkim", "dmarc"):
        c = j["checks"][name]
        assert set(c) == {"status", "result", "summary", "findings", "detail"}
        assert c["result"] == "pass" and c["detail"]["authserv_id"] == "mx.google.com"
        assert c["detail"]["header"].startswith("Authentication-Results: mx.google.com;")


def test_dkim_broken_in_transit_and_spf_not_aligned(shop: DnsTestServer) -> None:
    signed = sign().replace(b"Hello!", b"Hello! -- Sent through a gateway that adds a disclaimer")
    raw = build([edge("o1.mailer.example"), gmail_ar(signed, dkim_res="fail", mailfrom="bounce@mailer.example",
                                                     dmarc="fail", comment="p=REJECT sp=REJECT dis=REJECT")], signed)
    r = analyze(shop, raw)
    assert r.checks["dkim"].status is Status.FAIL
    assert "msg.dkim-body-changed" in codes(r, "dkim")
    body = next(f for f in r.checks["dkim"].findings if f.code == "msg.dkim-body-changed")
    assert body.message.startswith("DKIM failed for shop.example. The message body") and "footer" in body.message
    assert r.checks["spf"].status is Status.WARN and codes(r, "spf") == ["msg.spf-not-aligned"]
    assert r.checks["dmarc"].status is Status.FAIL and "msg.dmarc-fail" in codes(r, "dmarc")
    fail = next(f for f in r.checks["dmarc"].findings if f.code == "msg.dmarc-fail")
    assert "rejected" in fail.message
    assert r.checks["dmarc"].detail["our_result"] == "fail"


def test_spf_not_aligned_but_dkim_carries_dmarc(shop: DnsTestServer) -> None:
    signed = sign()
    raw = build([edge("o1.mailer.example"), gmail_ar(signed, mailfrom="bounce@mailer.example")], signed)
    r = analyze(shop, raw)
    assert r.checks["spf"].status is Status.PASS
    f = r.checks["spf"].findings[0]
    assert (f.code, f.severity.value) == ("msg.spf-not-aligned", "info")
    assert "mailer.example" in r.checks["spf"].summary and "DKIM covers it" in f.message
    assert r.checks["dmarc"].status is Status.PASS
    assert r.checks["dmarc"].detail["ours"]["aligned_by"] == ["dkim:shop.example"]


def test_relaxed_and_strict_alignment_of_a_subdomain(dns_server: DnsTestServer) -> None:
    for aspf, aligned in (("r", True), ("s", False)):
        dns_server.clear()
        dns_server.add_zone("shop.example", SHOP_ZONE.format(key=txt(key_txt())).replace(
            "p=reject;", f"p=reject; aspf={aspf};"))
        signed = sign()
        raw = build([edge(), gmail_ar(signed, mailfrom="bounce@em.shop.example")], signed)
        r = analyze(dns_server, raw)
        assert r.checks["spf"].detail["aligned"] is aligned, aspf
        assert r.checks["spf"].detail["alignment_mode"] == ("relaxed" if aspf == "r" else "strict")


# -- which headers we believe ----------------------------------------------------------------------------


FORGED = ("Authentication-Results: mx.google.com; dkim=pass header.d=shop.example; spf=pass "
          "smtp.mailfrom=shop.example; dmarc=pass header.from=shop.example; compauth=pass reason=100")


def test_forged_header_right_below_the_real_one_changes_nothing(shop: DnsTestServer) -> None:
    signed = sign().replace(b"Hello!", b"Changed")
    raw = build([edge("evil.example"), gmail_ar(signed, dkim_res="fail", spf="softfail", dmarc="fail"), FORGED],
                signed)
    r = analyze(shop, raw)
    assert r.checks["dkim"].detail["result"] == "fail" and r.checks["dkim"].status is Status.FAIL
    assert r.checks["spf"].detail["result"] == "softfail"
    assert r.checks["dmarc"].detail["result"] == "fail"
    assert r.checks["dmarc"].detail["header"].startswith("Authentication-Results: mx.google.com;\n")


def test_forged_header_below_the_senders_received_is_ignored(shop: DnsTestServer) -> None:
    signed = sign()
    sender_hop = "Received: from laptop (unknown [10.0.0.5]) by smtp.evil-relay.example with ESMTPSA"
    raw = build([edge("smtp.evil-relay.example"), gmail_ar(signed, dkim_res="none", spf="fail", dmarc="fail"),
                 sender_hop, FORGED], signed)
    r = analyze(shop, raw)
    assert "compauth" not in r.checks  # a method only the forged header reported
    assert r.checks["spf"].detail["result"] == "fail"
    assert r.checks["dmarc"].status is Status.FAIL
    ignored = r.detail["ignored_headers"]
    assert len(ignored) == 1 and "below the point" in ignored[0]["reason"]
    assert [f.code for f in r.findings] == ["msg.untrusted-auth-results"]


def _receiver_block(ar: str, edge_host: str = "mx.receiver.example") -> list[str]:
    """A receiver (Proton-, iCloud-, Microsoft-like) that writes its AR header above its own Received line."""
    return [ar, f"Received: from out.sender.example (out.sender.example [192.0.2.10]) by {edge_host} with ESMTPS"]


UNSIGNED = BODY


@pytest.mark.parametrize("forged", [
    "Authentication-Results: mx.receiver.example; dkim=pass header.d=shop.example header.s=s1",
    "Authentication-Results: mx.receiver.example; dkim=pass header.d=shop.example; dmarc=pass "
    "header.from=shop.example; arc=pass",
])
@pytest.mark.parametrize("sender_hops", [0, 1])
def test_forged_header_below_the_receivers_own_received_is_ignored(shop: DnsTestServer, forged: str,
                                                                   sender_hops: int) -> None:
    """Issue 13 #15: only what the receiving system added above its own Received line counts, even with the
    right authserv-id and no Received of the sender's own in between (a sender connecting directly)."""
    real = "Authentication-Results: mx.receiver.example; spf=softfail smtp.mailfrom=shop.example"
    hops = ["Received: from laptop ([10.0.0.5]) by out.sender.example"] * sender_hops
    r = analyze(shop, build([*_receiver_block(real), *hops, forged], UNSIGNED))
    assert r.receiver == "mx.receiver.example"
    assert r.checks["dkim"].detail["result"] is None and r.checks["dkim"].status is not Status.PASS
    assert "msg.dkim-none" in codes(r, "dkim")  # the message has no signature, whatever the forged header says
    assert r.checks["dmarc"].detail["result"] is None and "arc" not in r.checks
    assert [h["authserv_id"] for h in r.detail["ignored_headers"]] == ["mx.receiver.example"]
    assert "Received line the service wrote" in r.detail["ignored_headers"][0]["reason"]


def test_receivers_block_above_its_received_line_is_all_believed(shop: DnsTestServer) -> None:
    signed = sign()
    block = ["Authentication-Results: mx.receiver.example; dkim=pass header.d=shop.example header.s=s1 "
             f"header.b={bprefix(signed)}",
             "Authentication-Results: mx.receiver.example; spf=pass smtp.mailfrom=shop.example",
             "Authentication-Results: mx.receiver.example; dmarc=pass header.from=shop.example"]
    r = analyze(shop, build([*block, *_receiver_block("X-Filter: done")[1:]], signed))
    assert {k: r.checks[k].status for k in ("spf", "dkim", "dmarc")} == {
        "spf": Status.PASS, "dkim": Status.PASS, "dmarc": Status.PASS}
    assert not r.detail["ignored_headers"]


def test_gmail_writes_one_header_so_a_second_is_never_believed(shop: DnsTestServer) -> None:
    """Gmail puts its one AR header under its own Received line: a sender connecting directly can place a
    forged one right under it. No DKIM pass for a message without a signature, no second DMARC verdict."""
    real = ("Authentication-Results: mx.google.com;\n       spf=pass (google.com: domain of bounce@shop.example "
            "designates 192.0.2.10 as permitted sender) smtp.mailfrom=bounce@shop.example")
    forged = ("Authentication-Results: mx.google.com; dkim=pass header.i=@shop.example header.s=s1; "
              "dmarc=pass (p=REJECT) header.from=shop.example")
    r = analyze(shop, build([edge("evil.example"), real, forged], UNSIGNED))
    assert r.checks["dkim"].detail["result"] is None and "msg.dkim-none" in codes(r, "dkim")
    assert r.checks["dmarc"].detail["result"] is None  # the receiver didn't report DMARC
    assert "one Authentication-Results header" in r.detail["ignored_headers"][0]["reason"]


_FORGERY = st.sampled_from([
    "Authentication-Results: mx.receiver.example; dkim=pass header.d=shop.example header.s=s1",
    "Authentication-Results: mx.receiver.example; dmarc=pass header.from=shop.example",
    "Authentication-Results: mx.receiver.example; spf=pass smtp.mailfrom=shop.example; arc=pass",
    "Authentication-Results: receiver.example; compauth=pass reason=100",
    "Authentication-Results: spf=pass (sender IP is 192.0.2.10) smtp.mailfrom=shop.example; dkim=pass",
    "Received: from x by mx.receiver.example",
    "Received-SPF: pass (mx.receiver.example: domain of shop.example designates 192.0.2.10) client-ip=192.0.2.10",
])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(_FORGERY, max_size=6))
def test_nothing_under_the_receivers_received_line_changes_the_verdict(shop: DnsTestServer,
                                                                       forged: list[str]) -> None:
    """Generated messages: whatever a sender writes under the receiver's own Received line (AR headers with
    the receiver's authserv-id, fake Received lines, Received-SPF) believes nothing new."""
    real = "Authentication-Results: mx.receiver.example; spf=softfail smtp.mailfrom=shop.example; dmarc=fail"
    plain = analyze(shop, build(_receiver_block(real), UNSIGNED))
    r = analyze(shop, build([*_receiver_block(real), *forged], UNSIGNED))
    for name in ("spf", "dkim", "dmarc"):
        assert r.checks[name].detail["result"] == plain.checks[name].detail["result"], name
        assert r.checks[name].status is plain.checks[name].status, name
    assert set(r.checks) == set(plain.checks)
    assert len(r.detail["trusted_headers"]) == 1


@pytest.mark.parametrize("flood", [5_000, 10_000, 30_000])
def test_a_flood_of_header_fields_never_hides_from(shop: DnsTestServer, flood: int) -> None:
    """Issue 13 #15: thousands of Authentication-Results headers (generated) push From past the field cap;
    From, Subject and the signature are still read, and the flood is never believed."""
    signed = sign()
    head, _, rest = signed.partition(b"From: ")
    noise = b"".join(b"Authentication-Results: mx.google.com; dkim=pass header.d=evil.example; dmarc=pass "
                     b"header.from=shop.example\r\n" for _ in range(flood))
    raw = build([edge(), gmail_ar(signed)], head + noise + b"From: " + rest)
    r = analyze(shop, raw)
    assert r.from_domain == "shop.example" and r.subject == "Spring sale"
    assert "msg.no-from" not in codes(r, "dmarc")
    assert {k: r.checks[k].status for k in ("spf", "dkim", "dmarc")} == {
        "spf": Status.PASS, "dkim": Status.PASS, "dmarc": Status.PASS}
    assert r.checks["dkim"].detail["signatures"][0]["our_result"] == "pass"
    assert r.checks["delivery"].detail["tls"] is True and "msg.from-count" not in codes(r, "delivery")
    assert any(f.code == "msg.malformed-headers" and "further ones were ignored" in f.detail for f in r.findings)


def test_header_from_another_service_is_ignored(shop: DnsTestServer) -> None:
    signed = sign()
    other = "Authentication-Results: mx.other-provider.example; dkim=pass; spf=pass; dmarc=pass"
    raw = build([edge(), gmail_ar(signed, spf="fail", dmarc="fail", dkim_res="fail"), other], signed)
    r = analyze(shop, raw)
    assert r.checks["spf"].detail["result"] == "fail"
    assert r.detail["ignored_headers"][0]["authserv_id"] == "mx.other-provider.example"


def test_trusted_ids_skip_an_internal_filter_on_top(shop: DnsTestServer) -> None:
    signed = sign()
    top = "Authentication-Results: spamfilter.corp.example; spf=fail smtp.mailfrom=shop.example; dmarc=fail"
    raw = build([top, edge(), gmail_ar(signed)], signed)
    r = analyze(shop, raw, trusted=["google.com"])
    assert r.receiver == "mx.google.com" and r.checks["dmarc"].status is Status.PASS
    # without ids the topmost header's writer would be the receiver, but no Received line of corp.example's
    # backs it, and a lower header is never promoted: couldn't check
    untrusted = analyze(shop, raw)
    assert untrusted.receiver is None and untrusted.status is Status.ERROR
    assert "msg.auth-results-unbacked" in codes(untrusted, "dmarc")
    assert "spamfilter.corp.example" in untrusted.checks["dmarc"].summary
    # with its own Received line (a filter host of corp.example) it is the receiver
    backed = build([top, "Received: from mx.google.com by filter.corp.example", edge(), gmail_ar(signed)], signed)
    r = analyze(shop, backed)
    assert r.receiver == "spamfilter.corp.example" and r.checks["dmarc"].status is Status.FAIL


def test_trusted_ids_that_match_nothing(shop: DnsTestServer) -> None:
    signed = sign()
    r = analyze(shop, build([edge(), gmail_ar(signed)], signed), trusted=["icloud.com"])
    assert r.receiver is None
    assert all(c.status is Status.ERROR for c in r.checks.values())
    assert codes(r, "spf") == ["msg.no-auth-results", "msg.spf-top-hop-allowed"]
    assert r.checks["dkim"].detail["signatures"][0]["our_result"] == "pass"  # our second opinion still runs
    assert "1 of 1 DKIM signature(s) verify" in r.checks["dkim"].summary


MS_AR = ("Authentication-Results: spf=pass (sender IP is 40.107.22.10)\n smtp.mailfrom=shop.example; "
         "dkim=pass (signature was verified)\n header.d=shop.example;dmarc=pass action=none\n "
         "header.from=shop.example;compauth=pass reason=100")


def test_microsoft_365_without_authserv_id(shop: DnsTestServer) -> None:
    signed = sign()
    ms_edge = edge("out.shop.example", "AM0PR01MB1234.eurprd01.prod.outlook.com")
    for trusted in (None, ["outlook.com"], ["contoso.mail.onmicrosoft.com"]):
        r = analyze(shop, build([ms_edge, MS_AR], signed), trusted=trusted)
        assert r.receiver == ""
        assert {k: v.status for k, v in r.checks.items() if k != "delivery"} == {
            "spf": Status.PASS, "dkim": Status.PASS, "dmarc": Status.PASS, "compauth": Status.PASS}
        comp = r.checks["compauth"].detail
        assert comp["reason_code"] == "100" and "passed" in comp["meaning"]
        assert r.checks["dmarc"].detail["disposition"] == "none"
    assert analyze(shop, build([ms_edge, MS_AR], signed), trusted=["google.com"]).receiver is None


def test_microsoft_compauth_fail(shop: DnsTestServer) -> None:
    signed = sign()
    ar = MS_AR.replace("compauth=pass reason=100", "compauth=fail reason=000").replace(
        "dmarc=pass action=none", "dmarc=fail action=quarantine")
    r = analyze(shop, build([edge("out.shop.example", "AM0PR01MB1234.eurprd01.prod.outlook.com"), ar], signed))
    assert r.checks["compauth"].status is Status.FAIL and codes(r, "compauth") == ["msg.compauth-fail"]
    assert "reject or quarantine" in r.checks["compauth"].detail["meaning"]
    assert "spam (quarantine)" in r.checks["dmarc"].findings[0].message


def test_icloud_one_header_per_filter_and_per_signature(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("shop.example", SHOP_ZONE.format(key=txt(key_txt())))
    dns_server.add_zone("mailer.example", f"s1._domainkey IN TXT {txt(key_txt())}\n@ IN TXT {SPF}\n")
    first = sign()
    both = dkim.sign(first, b"s1", b"mailer.example", key_pem(), include_headers=SIGNED) + first
    b_shop, b_mailer = bprefix(first), bprefix(both)
    fields = [
        "Authentication-results: mr21p00im-dmarcmilter001.me.com; dmarc=pass\n header.from=shop.example",
        "Authentication-results: mr21p00im-spfmilter010.me.com; spf=pass\n (mr21p00im-spfmilter010.me.com: domain "
        "of bounce@shop.example\n designates 192.0.2.10 as permitted sender)\n smtp.mailfrom=bounce@shop.example",
        f"Authentication-results: mr21p00im-dkimmilter005.me.com;\tdkim=pass (2048-bit\n key) "
        f"header.d=mailer.example header.i=@mailer.example\n header.b={b_mailer};\tdkim-adsp=pass",
        f"Authentication-results: mr21p00im-dkimmilter005.me.com;\tdkim=pass (2048-bit\n key) "
        f"header.d=shop.example header.i=@shop.example header.b={b_shop};\n\tdkim-adsp=pass",
        edge("out.shop.example", "mr21p00im-spool001.me.com"),
    ]
    for trusted in (None, ["me.com"]):
        r = analyze(dns_server, build(fields, both), trusted=trusted)
        rows = r.checks["dkim"].detail["signatures"]
        assert [(x["d"], x["receiver_result"], x["our_result"]) for x in rows] == [
            ("mailer.example", "pass", "pass"), ("shop.example", "pass", "pass")]
        assert r.checks["dkim"].status is Status.PASS and r.checks["dmarc"].status is Status.PASS
        assert r.checks["spf"].status is Status.PASS


def test_proton_several_headers_same_id(shop: DnsTestServer) -> None:
    signed = sign()
    fields = [
        "Authentication-Results: mail.protonmail.ch; dkim=pass (Good 2048 bit rsa-sha256 signature) "
        f"header.d=shop.example header.a=rsa-sha256 header.b={bprefix(signed)}",
        "Authentication-Results: mail.protonmail.ch; dmarc=pass (p=reject dis=none) header.from=shop.example",
        "Authentication-Results: mail.protonmail.ch; spf=pass smtp.mailfrom=shop.example",
        "Authentication-Results: mail.protonmail.ch; arc=none smtp.remote-ip=192.0.2.10",
        edge("out.shop.example", "mailin.protonmail.ch"),
    ]
    r = analyze(shop, build(fields, signed))
    assert {k: v.status for k, v in r.checks.items() if k != "delivery"} == {
        "spf": Status.PASS, "dkim": Status.PASS, "dmarc": Status.PASS, "arc": Status.INFO}
    assert len(r.detail["trusted_headers"]) == 4


def test_arc_chain_is_reported(shop: DnsTestServer) -> None:
    signed = sign()
    fields = [
        "ARC-Seal: i=1; a=rsa-sha256; t=1604311043; cv=none; d=google.com; s=arc-20160816; b=AAAA",
        "ARC-Authentication-Results: i=1; mx.google.com; dkim=pass header.i=@shop.example",
        edge(),
        gmail_ar(signed).replace("dkim=pass", "arc=pass (i=1);\n       dkim=pass", 1),
    ]
    r = analyze(shop, build(fields, signed))
    arc = r.checks["arc"]
    assert arc.status is Status.INFO and arc.detail["result"] == "pass"
    assert arc.detail["chain"] == [{"i": "1", "d": "google.com", "s": "arc-20160816", "cv": "none",
                                    "authserv_id": "mx.google.com"}]


# -- our own opinion against the receiver's -----------------------------------------------------------------


def test_key_rotated_since_delivery(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("shop.example", f'_dmarc IN TXT "v=DMARC1; p=none"\n@ IN TXT {SPF}\n')
    signed = sign()
    r = analyze(dns_server, build([edge(), gmail_ar(signed, comment="p=NONE sp=NONE dis=NONE")], signed))
    assert r.checks["dkim"].status is Status.PASS
    f = next(x for x in r.checks["dkim"].findings if x.code == "msg.dkim-key-missing")
    assert f.severity.value == "info" and "rotated or removed" in f.message
    assert r.checks["dkim"].detail["signatures"][0]["agree"] is False
    dmarc = r.checks["dmarc"]
    assert "msg.dmarc-policy-none" in codes(r, "dmarc")
    assert dmarc.detail["our_result"] == "pass"  # SPF still aligns


def test_we_disagree_on_dmarc_and_say_why(shop: DnsTestServer) -> None:
    signed = sign().replace(b"Hello!", b"Edited after delivery")
    raw = build([edge("o1.mailer.example"), gmail_ar(signed, mailfrom="bounce@mailer.example")], signed)
    r = analyze(shop, raw)
    assert r.checks["dmarc"].status is Status.PASS
    f = next(x for x in r.checks["dmarc"].findings if x.code == "msg.dmarc-disagree")
    assert "by our own count it would be fail" in f.message
    dkim_f = next(x for x in r.checks["dkim"].findings if x.code == "msg.dkim-body-changed")
    assert dkim_f.severity.value == "info" and "after delivery" in dkim_f.message


def test_length_limit_and_appended_content(shop: DnsTestServer) -> None:
    signed = sign(length=True) + b"P.S. Click https://evil.example for a prize\r\n"
    r = analyze(shop, build([edge(), gmail_ar(signed)], signed))
    assert r.checks["dkim"].status is Status.WARN
    f = next(x for x in r.checks["dkim"].findings if x.code == "msg.dkim-length-limit")
    assert "appended" in f.message and f.rfc == "RFC 6376 §8.2"


def test_header_added_after_signing_is_named(shop: DnsTestServer) -> None:
    msg = BODY.replace(b"List-Unsubscribe: <https://shop.example/u/1>\r\n", b"")
    signed = sign(msg)  # List-Unsubscribe is signed while absent
    tampered = b"List-Unsubscribe: <https://evil.example/u>\r\n" + signed
    ar = gmail_ar(signed, dkim_res="fail", dmarc="fail")
    r = analyze(shop, build([edge(), ar], tampered))
    f = next(x for x in r.checks["dkim"].findings if x.code == "msg.dkim-header-changed")
    assert f.severity.value == "error" and "List-Unsubscribe" in f.message
    assert r.checks["dkim"].detail["signatures"][0]["suspects"][0]["problem"] == "added-after-signing"


def test_without_dns_we_say_we_did_not_recheck(shop: DnsTestServer) -> None:
    signed = sign()
    r = analyze(None, build([edge(), gmail_ar(signed)], signed))
    assert r.checks["dkim"].status is Status.PASS
    assert codes(r, "dkim") == ["msg.dkim-not-reverified"]
    assert r.checks["dkim"].detail["reverified"] is False
    assert r.checks["dmarc"].detail["org_domain_method"] == "simple-rule"
    assert r.checks["dmarc"].detail["our_result"] == "pass"


def test_pasted_headers_only(shop: DnsTestServer) -> None:
    signed = sign()
    raw = build([edge(), gmail_ar(signed)], signed).split(b"\r\n\r\n")[0]
    r = analyze(shop, b"\n\n" + raw)
    assert [f.code for f in r.findings] == ["msg.headers-only"]
    assert r.checks["dkim"].status is Status.PASS and codes(r, "dkim") == ["msg.dkim-not-reverified"]
    assert r.checks["dmarc"].status is Status.PASS and r.subject == "Spring sale"


# -- result mapping -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("spf", "status", "code"), [
    ("fail", Status.FAIL, "msg.spf-fail"), ("softfail", Status.WARN, "msg.spf-softfail"),
    ("neutral", Status.WARN, "msg.spf-neutral"), ("none", Status.WARN, "msg.spf-none"),
    ("temperror", Status.ERROR, "msg.spf-temperror"), ("permerror", Status.FAIL, "msg.spf-permerror"),
])
def test_spf_results(shop: DnsTestServer, spf: str, status: Status, code: str) -> None:
    signed = sign()
    r = analyze(shop, build([edge(), gmail_ar(signed, spf=spf)], signed))
    # shop.example's record allows the sending address today: a failure the receiver saw is noted as fixed since
    assert r.checks["spf"].status is status and codes(r, "spf") == [code] + (
        ["msg.spf-disagree"] if spf in ("fail", "softfail") else [])
    assert r.checks["spf"].detail["result"] == spf


@pytest.mark.parametrize(("dmarc", "status", "code"), [
    ("fail", Status.FAIL, "msg.dmarc-fail"), ("none", Status.WARN, "msg.dmarc-none"),
    ("temperror", Status.ERROR, "msg.dmarc-temperror"), ("permerror", Status.FAIL, "msg.dmarc-permerror"),
])
def test_dmarc_results(shop: DnsTestServer, dmarc: str, status: Status, code: str) -> None:
    signed = sign()
    r = analyze(shop, build([edge(), gmail_ar(signed, dmarc=dmarc)], signed))
    assert r.checks["dmarc"].status is status and code in codes(r, "dmarc")


def test_dkim_temperror_and_unsigned(shop: DnsTestServer) -> None:
    signed = sign()
    r = analyze(shop, build([edge(), gmail_ar(signed, dkim_res="temperror")], signed))
    assert r.checks["dkim"].status is Status.ERROR and "msg.dkim-temperror" in codes(r, "dkim")
    unsigned = build([edge(), "Authentication-Results: mx.google.com; dkim=none; spf=pass "
                      "smtp.mailfrom=shop.example; dmarc=pass header.from=shop.example"], BODY)
    r = analyze(shop, unsigned)
    assert r.checks["dkim"].status is Status.WARN and codes(r, "dkim") == ["msg.dkim-none"]


def test_dkim_passes_only_for_the_sending_service(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("mailer.example", f"s1._domainkey IN TXT {txt(key_txt())}\n@ IN TXT {SPF}\n")
    dns_server.add_origin("shop.example")
    signed = dkim.sign(BODY, b"s1", b"mailer.example", key_pem(), include_headers=SIGNED) + BODY
    ar = ("Authentication-Results: mx.google.com; dkim=pass header.i=@mailer.example header.s=s1; spf=pass "
          "smtp.mailfrom=bounce@mailer.example; dmarc=fail (p=NONE) header.from=shop.example")
    r = analyze(dns_server, build([edge(), ar], signed))
    assert r.checks["dkim"].status is Status.WARN and codes(r, "dkim") == ["msg.dkim-not-aligned"]
    assert "mailer.example signed, but it is not part of shop.example" in r.checks["dkim"].detail["alignment"]
    assert r.checks["spf"].findings[0].severity.value == "warning"  # nothing carries DMARC


def test_two_from_headers(shop: DnsTestServer) -> None:
    signed = sign()
    raw = build([edge(), gmail_ar(signed), "From: other@elsewhere.example"], signed)
    r = analyze(shop, raw)
    assert "msg.multiple-from" in codes(r, "dmarc") and r.checks["dmarc"].status is Status.FAIL


# -- anything that isn't a clean message -------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    b"", b"\x00\xff\xfe" * 500, b"just some text without headers\r\n", b"\r\n\r\n\r\n",
    b"Subject: =?x-unknown?q?caf=E9?=\r\nFrom: \xff\xfe <a@\xe9.example>\r\n\r\nbody",
    b"Authentication-Results: " + b"x" * 300_000 + b"\r\nFrom: a@b.example\r\n\r\n",
    b"Authentication-Results: ;none\r\nFrom: a@b.example\r\n\r\n",
    b" leading continuation\r\nFrom: a@b.example\r\n\r\n",
    b"DKIM-Signature: v=1; a=rsa-sha256; d=\xff; s=..; h=from; bh=x; b=y\r\nFrom: a@b.example\r\n\r\nhi",
], ids=["empty", "binary", "no-headers", "blank", "bad-encoding", "huge-header", "bad-ar", "stray-line",
        "bad-signature"])
def test_malformed_input_gives_a_clear_result(dns_server: DnsTestServer, raw: bytes) -> None:
    r = analyze(dns_server, raw)
    assert set(r.checks) == {"spf", "dkim", "dmarc"}
    assert all(c.status is Status.ERROR for c in r.checks.values())
    assert codes(r, "spf")[0] in ("msg.no-auth-results", "msg.auth-results-unreadable")
    assert r.checks["spf"].summary.endswith("receiving service.") or "could not be read" in r.checks["spf"].summary
    everything = json.dumps(r.to_json())
    assert "msg.internal-error" not in everything


def test_unreadable_top_header_does_not_promote_a_lower_one(shop: DnsTestServer) -> None:
    signed = sign()
    raw = build(["Authentication-Results: ;garbled by a broken filter", edge(), FORGED], signed)
    r = analyze(shop, raw)
    assert r.receiver is None and codes(r, "spf") == ["msg.auth-results-unreadable", "msg.spf-top-hop-allowed"]
    assert r.detail["ignored_headers"][0]["authserv_id"] == "mx.google.com"
    assert "compauth" not in r.checks


def test_no_headers_is_said_plainly() -> None:
    r = analyze(None, b"\x00\x01binary")
    assert [f.code for f in r.findings] == ["msg.no-headers"]


def test_simple_org_domain_rule() -> None:
    assert simple_org_domain("mail.shop.example") == "shop.example"
    assert simple_org_domain("bounce.shop.co.uk") == "shop.co.uk"
    assert simple_org_domain("example") == "example"


_HEADERISH = st.lists(st.sampled_from([
    "Authentication-Results: mx.example.net; dkim=pass header.d=a.example; spf=fail smtp.mailfrom=b.example",
    "Authentication-Results: spf=pass (sender IP is 1.2.3.4) smtp.mailfrom=a.example;dmarc=fail action=none",
    "Authentication-Results: mx.example.net; none", "Received: from x by mx.example.net", "Received: by 10.0.0.1",
    "From: A <a@a.example>", "From: \"broken", "Received-SPF: pass client-ip=1.2.3.4",
    "DKIM-Signature: v=1; a=rsa-sha256; d=a.example; s=s; h=from; bh=AAAA; b=AAAA",
    "DKIM-Signature: garbage", "ARC-Seal: i=x; cv=pass", "ARC-Authentication-Results: i=1; mx; arc=pass",
    " folded continuation", "", "Subject: =?utf-8?b?////?=", "Authentication-Results: (unterminated",
]), max_size=12).map(lambda xs: "\r\n".join(xs).encode() + b"\r\n\r\nbody\r\n")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=300), _HEADERISH))
def test_analyze_never_crashes(raw: bytes) -> None:
    r = run(analyze_message(raw))
    assert_message_shapes(r)
    data: dict[str, Any] = json.loads(json.dumps(r.to_json()))
    assert set(data["checks"]) >= {"spf", "dkim", "dmarc"}
    assert "msg.internal-error" not in json.dumps(data)


def test_huge_inputs_are_read() -> None:
    """How long this takes is a speed target: benchmarks/bench_message.py (the README's figures)."""
    raw = b"\n" * 1_000_000 + b"From: " + b"a" * 2_000_000 + b"@b.example\r\nSubject: " + b"=?utf-8?q?x?= " * 100_000
    r = analyze(None, raw + b"\r\n\r\nbody")
    assert r.checks["spf"].status is Status.ERROR and codes(r, "spf") == ["msg.no-auth-results"]


# -- the verdict on the whole message: DMARC first, then the rest -------------------------------------------


ONE_CLICK = BODY.replace(b"\r\n\r\n", b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n", 1)


def _gmail_dkim_broke(signed: bytes) -> str:
    return (f"Authentication-Results: mx.google.com;\n       dkim=fail (body hash did not verify) "
            f"header.i=@shop.example header.s=s1 header.b={bprefix(signed)};\n       spf=pass (google.com: domain "
            "of bounce@shop.example designates 192.0.2.10 as permitted sender) smtp.mailfrom=bounce@shop.example;"
            "\n       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=shop.example")


@pytest.mark.parametrize("with_dns", [True, False])
def test_dmarc_pass_with_a_broken_dkim_signature_is_a_warning_in_the_receivers_words(shop: DnsTestServer,
                                                                                    with_dns: bool) -> None:
    """Issue 12 #5: SPF aligned pass, DKIM "body hash did not verify", DMARC pass: the message is a warning
    (not "failed"), the headline says which side broke and shows what the receiver wrote."""
    signed = sign().replace(b"Hello!", b"Hello! [footer added by a gateway]")
    r = analyze(shop if with_dns else None, build([edge(), _gmail_dkim_broke(signed)], signed))
    assert r.checks["dmarc"].status is Status.PASS and r.checks["dkim"].status is Status.FAIL
    assert r.status is Status.WARN
    assert r.headline.startswith("DMARC passed through SPF, but the DKIM signature broke: something changed the "
                                 "body in transit, or signing is misconfigured.")
    assert "The receiver wrote: dkim=fail (body hash did not verify)" in r.headline
    assert "body hash did not verify" in r.checks["dkim"].summary
    assert r.checks["dkim"].detail["receiver_said"] == "dkim=fail (body hash did not verify)"
    assert r.to_json()["status"] == "warn" and r.to_json()["headline"] == r.headline


def test_a_passing_message_is_not_unchecked_because_a_side_check_could_not_run(shop: DnsTestServer) -> None:
    """SPF, DKIM and DMARC pass; reverse DNS of the sender can't be looked up here (the loopback server
    refuses reverse names): the message passes, and the reverse-DNS card says it couldn't check."""
    from inboxready.core.mail.links import link_domain_fixes

    signed = sign(ONE_CLICK)
    raw = build([edge(), gmail_ar(signed)], signed)

    async def go() -> MessageReport:
        client = DnsClient([shop.address], timeout=0.5)
        try:
            report = await analyze_message(raw, dns=client)
            await link_domain_fixes(report, client=client)
            return report
        finally:
            client.close()
    r = run(go())
    assert r.checks["rdns"].status is Status.ERROR
    assert r.status is Status.PASS, (r.headline, {k: (c.status, c.summary) for k, c in r.checks.items()})
    assert r.headline == "The message passed authentication: DMARC passed for shop.example through SPF and DKIM."


def test_dkim_key_unreachable_for_our_recheck_does_not_hold_the_verdict(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("shop.example", SHOP_ZONE.format(key=txt(key_txt())))
    dns_server.timeout_names.add("s1._domainkey.shop.example")  # our own re-check can't fetch the key
    signed = sign(ONE_CLICK)
    r = analyze(dns_server, build([edge(), gmail_ar(signed)], signed))
    assert r.checks["dkim"].detail["signatures"][0]["our_result"] != "pass"
    assert r.status is Status.PASS and r.headline.startswith("The message passed authentication")


@pytest.mark.parametrize("dmarc, spf, dkim_res, status, words", [
    ("fail", "softfail", "fail", Status.FAIL, "The message failed DMARC: neither SPF nor DKIM passed for shop.example"),
    ("permerror", "pass", "pass", Status.FAIL, "your DMARC record is broken"),
    ("temperror", "pass", "pass", Status.ERROR, "couldn't check DMARC"),
    ("none", "pass", "pass", Status.WARN, "the receiver found no DMARC policy for shop.example (there is one now"),
    ("none", "fail", "fail", Status.FAIL, "Nothing authenticates this message"),
    ("pass", "softfail", "pass", Status.WARN, "SPF didn't pass for shop.example"),
])
def test_message_verdict_follows_dmarc_first(shop: DnsTestServer, dmarc: str, spf: str, dkim_res: str,
                                             status: Status, words: str) -> None:
    signed = sign()
    r = analyze(shop, build([edge(), gmail_ar(signed, dmarc=dmarc, spf=spf, dkim_res=dkim_res)], signed))
    assert r.status is status, r.headline
    assert words in r.headline


def test_delivery_problem_turns_a_pass_into_a_warning_never_a_failure(shop: DnsTestServer) -> None:
    signed = sign(BODY.replace(b"Message-ID: <1@shop.example>\r\n", b""),
                  headers=[h for h in SIGNED if h != b"message-id"])
    r = analyze(shop, build([edge(), gmail_ar(signed)], signed))
    assert r.checks["delivery"].status is Status.FAIL and r.checks["dmarc"].status is Status.PASS
    assert r.status is Status.WARN and "Still to fix: format and delivery" in r.headline


def test_our_dmarc_lookup_failing_is_couldnt_check_not_no_policy(shop: DnsTestServer) -> None:
    """Issue 12 #6 on the message cards: the receiver didn't report DMARC and our own lookup of the policy
    SERVFAILs: the verdict is "couldn't check", never "no DMARC policy"."""
    shop.servfail_names.add("_dmarc.shop.example")
    signed = sign(ONE_CLICK)
    ar = ("Authentication-Results: mx.google.com;\n       dkim=pass header.i=@shop.example header.s=s1 "
          f"header.b={bprefix(signed)};\n       spf=pass smtp.mailfrom=bounce@shop.example")
    r = analyze(shop, build([edge(), ar], signed))
    assert r.checks["dmarc"].detail["our_result"] == "temperror"
    assert r.status is Status.ERROR and "couldn't finish our own DMARC check" in r.headline
    assert "no DMARC policy" not in r.headline
    assert "_dmarc.shop.example, where shop.example's own DMARC record would be, failed" in r.headline


PLAIN_ZONE = '@ IN TXT "v=spf1 ip4:192.0.2.10 -all"\nnews IN TXT "v=spf1 ip4:192.0.2.10 -all"\n'  # no DMARC anywhere


def _no_dmarc_reported(domain: str) -> bytes:
    """A message From ``domain`` whose receiver reported SPF only (so our own DMARC count is what is shown)."""
    ar = ("Authentication-Results: mx.google.com;\n       spf=pass (google.com: domain of bounce@{d} designates "
          "192.0.2.10 as permitted sender) smtp.mailfrom=bounce@{d}").format(d=domain)
    return build([edge(f"out.{domain}"), ar], BODY.replace(b"shop.example", domain.encode()))


@pytest.mark.parametrize("domain,failing,words", [
    # RFC 9989 §4.10.1: no record at the From domain, then the registry's _dmarc.<tld> doesn't answer: the
    # search didn't end on "there is no record", so the policy is unknown (receivers decide: deliver or defer)
    ("plain.example", "_dmarc.example",
     ["plain.example has no DMARC record of its own", "the next lookup RFC 9989 asks for, _dmarc.example",
      "registry of .example", "not in a record of yours: try again later", "A DMARC record of your own ends "
      "the search"]),
    # a subdomain without a record: its organizational domain's record (which would apply) doesn't answer
    ("news.plain.example", "_dmarc.plain.example",
     ["news.plain.example has no DMARC record of its own", "_dmarc.plain.example (the DMARC record of "
      "plain.example, which applies to news.plain.example when it has none of its own)", "try again later"]),
    # the From domain's own record doesn't answer
    ("plain.example", "_dmarc.plain.example",
     ["the lookup of _dmarc.plain.example, where plain.example's own DMARC record would be, failed",
      "Try again later"]),
])
def test_a_dmarc_lookup_failing_on_the_tree_walk_names_the_lookup(dns_server: DnsTestServer, domain: str,
                                                                  failing: str, words: list[str]) -> None:
    dns_server.add_zone("plain.example", PLAIN_ZONE)
    dns_server.timeout_names.add(failing)
    r = analyze(dns_server, _no_dmarc_reported(domain))
    dmarc = r.checks["dmarc"]
    assert dmarc.detail["our_result"] == "temperror"
    assert r.status is Status.ERROR and dmarc.status is Status.ERROR  # couldn't check, never "no policy"
    for w in words:
        assert w in r.headline, r.headline
    finding = next(f for f in dmarc.findings if f.code == "msg.dmarc-lookup-failed")
    assert finding.severity is Severity.UNKNOWN and words[0].lower() in finding.message.lower()
    assert "did not answer in time" in finding.message  # how it failed, in the DNS client's words
    assert dmarc.summary == ("The receiving service did not report DMARC, and our own check couldn't finish: the "
                             f"lookup of {failing} failed.")
    assert "temperror" not in r.headline + dmarc.summary and "no DMARC policy" not in r.headline


def test_the_registrys_dmarc_name_answering_nxdomain_is_no_policy(dns_server: DnsTestServer) -> None:
    """The same message when every lookup of the walk answers: the set has no record, so DMARC doesn't apply
    (RFC 9989 §4.10.1 MUST NOT): a warning to publish one, not "couldn't check"."""
    dns_server.add_zone("plain.example", PLAIN_ZONE)
    dns_server.add_origin("example")
    r = analyze(dns_server, _no_dmarc_reported("plain.example"))
    assert r.checks["dmarc"].detail["our_result"] == "none"
    assert r.status is not Status.ERROR and "no DMARC policy" in r.headline


def test_dkim_not_reported_is_not_called_unsigned(shop: DnsTestServer) -> None:
    signed = sign(ONE_CLICK)
    ar = ("Authentication-Results: mx.google.com;\n       spf=pass smtp.mailfrom=bounce@shop.example;\n"
          "       dmarc=pass header.from=shop.example")
    r = analyze(shop, build([edge(), ar], signed))
    assert r.checks["dkim"].status is Status.INFO
    assert r.status is Status.PASS and "no DKIM signature" not in r.headline


@pytest.mark.parametrize("result, code, words", [
    ("fail", "601", "spoofing from inside"),  # Microsoft: 6xx failed implicit authentication, an accepted domain
    ("fail", "010", "one of the receiving organization's own domains"),
    ("pass", "130", "ARC"),  # a trusted ARC sealer overrode a DMARC failure
    ("pass", "701", "passed"),
    ("none", "905", "bypassed"),
])
def test_microsoft_compauth_reason_codes_read_as_microsoft_documents_them(shop: DnsTestServer, result: str,
                                                                          code: str, words: str) -> None:
    signed = sign()
    ar = MS_AR.replace("compauth=pass reason=100", f"compauth={result} reason={code}")
    r = analyze(shop, build([edge("out.shop.example", "AM0PR01MB1234.eurprd01.prod.outlook.com"), ar], signed))
    meaning = r.checks["compauth"].detail["meaning"]
    assert words in meaning and "trusted connector" not in meaning


def test_a_dkim_warning_the_headline_does_not_name_is_still_to_fix(shop: DnsTestServer) -> None:
    """A DKIM pass whose l= lets anyone append text (and text was appended): the DKIM card warns, so the verdict
    is no pass; before, the headline said "passed authentication" with nothing left to fix."""
    signed = sign(ONE_CLICK, length=True).replace(b"Bye.\r\n", b"Bye.\r\nClick http://evil.example/ now\r\n")
    received = edge().replace("with ESMTPS id", "with ESMTPS (version=TLS1_3) id")
    r = analyze(shop, build([received, gmail_ar(signed)], signed))
    assert r.checks["dmarc"].status is Status.PASS and r.checks["delivery"].status is Status.PASS
    assert r.checks["dkim"].status is Status.WARN and "msg.dkim-length-limit" in codes(r, "dkim")
    assert r.status is Status.WARN
    assert "Still to fix: DKIM (see below)." in r.headline


def test_from_addresses_at_two_domains_are_not_a_clean_pass(shop: DnsTestServer) -> None:
    """From: news@shop.example, x@evil.example: DMARC can't judge it (its card warns), so the verdict says so
    instead of a clean pass for shop.example."""
    body = ONE_CLICK.replace(b"From: Shop <news@shop.example>", b"From: news@shop.example, x@evil.example")
    signed = sign(body)
    received = edge().replace("with ESMTPS id", "with ESMTPS (version=TLS1_3) id")
    r = analyze(shop, build([received, gmail_ar(signed)], signed))
    assert "msg.multiple-from-domains" in codes(r, "dmarc") and r.checks["dmarc"].status is Status.WARN
    assert r.status is Status.WARN and "Still to fix: DMARC" in r.headline
