"""Review C2: a forged Authentication-Results header is not believed, and our own SPF / DKIM checks are set
against what a believed header says.

- A header below a Received line written by a server outside the receiving service was in the message
  before that server received it (every hop prepends): it is not the receiver's, whatever it claims.
- ``dkim=pass`` about a signature the message doesn't carry is never believed, from any header.
- Our own SPF check for the address the receiver's own Received line names, set against the header's
  ``spf=pass``: a contradiction is a warning, and a DMARC pass nothing of ours confirms is "Not confirmed".

Real received messages (Gmail through a mailing list, Microsoft 365, a Postfix relay; tests/data/conformance)
are still believed; layouts modelled on Gmail, Outlook.com, Yahoo and Fastmail are believed, and the same
layouts with a forged header written by the sender's side are not.
"""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inboxready.core.dns.server import DnsTestServer
from inboxready.core.mail.headers import parse_message
from inboxready.core.mail.message import MessageReport, analyze_message
from inboxready.core.mail.trust import select_trusted
from inboxready.core.model import Status

from ..conftest import conformance_dir, run
from .test_message import BODY, analyze, bprefix, build, codes, sign, txt, key_txt

BANK = """
@               IN TXT "v=spf1 ip4:192.0.2.10 -all"
_dmarc          IN TXT "v=DMARC1; p=reject"
"""

MESSAGE = (b"From: Bank <alerts@bank.example>\r\nTo: me@gmail.example\r\nSubject: Verify your account\r\n"
           b"Date: Mon, 07 Dec 2026 05:00:00 -0800\r\nMessage-ID: <2@evil.example>\r\n\r\nClick here\r\n")
FORGED_PASS = ("Authentication-Results: mx.google.com; dkim=pass header.i=@bank.example header.s=default; "
               "spf=pass smtp.mailfrom=bank.example; dmarc=pass header.from=bank.example")


@pytest.fixture
def bank(dns_server: DnsTestServer) -> DnsTestServer:
    dns_server.add_zone("bank.example", BANK)
    return dns_server


def _cli(raw: bytes, server: DnsTestServer, tmp_path) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    from inboxready.app.cli import main

    path = tmp_path / "m.eml"
    path.write_bytes(raw)
    out, err = io.StringIO(), io.StringIO()
    code = main(["headers", str(path), "--nameserver", server.address, "--timeout", "1", "--color", "never"],
                out=out, err=err)
    return code, out.getvalue()


def test_the_reviewers_forgery_below_the_senders_received_line(bank: DnsTestServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    raw = build(["Received: from evil.example (evil.example [203.0.113.5])\n        by mx.google.com with ESMTPS id x",
                 "Received: from localhost by evil.example; Mon, 07 Dec 2026 04:59:00 -0800", FORGED_PASS], MESSAGE)
    r = analyze(bank, raw)
    assert r.receiver is None and r.status is Status.ERROR
    assert "msg.auth-results-below-outsider" in codes(r, "dmarc")
    assert "evil.example" in r.headline and "mx.google.com" in r.headline
    assert r.detail["ignored_headers"][0]["authserv_id"] == "mx.google.com"
    code, text = _cli(raw, bank, tmp_path)
    assert code == 2 and "✓" not in text.splitlines()[0] and "Pass:" not in text


def test_the_reviewers_forgery_right_under_the_receivers_line_is_not_confirmed(bank: DnsTestServer,
                                                                               tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The layout can't tell this one (Gmail puts its header right under its own Received line), but the
    message has no DKIM signature and 203.0.113.5 is not in bank.example's SPF record."""
    raw = build(["Received: from evil.example (evil.example [203.0.113.5])\n        by mx.google.com with ESMTPS id x",
                 FORGED_PASS], MESSAGE)
    r = analyze(bank, raw)
    assert r.receiver == "mx.google.com"
    assert r.checks["dkim"].detail["result"] != "pass" and "msg.dkim-pass-without-signature" in codes(r, "dkim")
    spf = r.checks["spf"]
    assert spf.status is Status.WARN and "msg.spf-contradicted" in codes(r, "spf")
    assert spf.detail["our_check"]["ip"] == "203.0.113.5" and spf.detail["our_check"]["result"] == "fail"
    assert spf.detail["our_check"]["ip_source"] == "received"
    dmarc = r.checks["dmarc"]
    assert dmarc.status is Status.WARN and "msg.dmarc-unconfirmed" in codes(r, "dmarc")
    assert dmarc.detail["our_result"] == "fail"
    assert r.status is Status.WARN and r.headline.startswith("Not confirmed:")
    code, text = _cli(raw, bank, tmp_path)
    assert code == 1 and "Pass:" not in text and "Not confirmed" in text


def test_the_same_message_from_the_right_server_passes(bank: DnsTestServer) -> None:
    """The control: the header is believed, 192.0.2.10 is in the record, nothing contradicts."""
    ar = FORGED_PASS.replace("dkim=pass header.i=@bank.example header.s=default; ", "")
    raw = build(["Received: from out.bank.example (out.bank.example [192.0.2.10])\n        by mx.google.com with "
                 "ESMTPS id x", ar], MESSAGE)
    r = analyze(bank, raw)
    assert r.checks["spf"].status is Status.PASS and r.checks["spf"].detail["our_check"]["result"] == "pass"
    assert r.checks["dmarc"].status is Status.PASS
    assert "msg.dmarc-unconfirmed" not in codes(r, "dmarc") and not r.headline.startswith("Not confirmed")


RECEIVED_BY_RECEIVER = "Received: from out.bank.example (out.bank.example [192.0.2.10]) by mx.receiver.example"


def test_dkim_pass_needs_a_signature_even_in_the_receivers_own_header(bank: DnsTestServer) -> None:
    for dkim in ("dkim=pass", "dkim=pass header.d=bank.example", "dkim=pass header.b=AbCdEf12",
                 "dkim=pass header.i=@bank.example header.s=s1 header.b=AbCdEf12"):
        ar = f"Authentication-Results: mx.receiver.example; {dkim}; spf=pass smtp.mailfrom=bank.example"
        t = select_trusted(parse_message(build([ar, RECEIVED_BY_RECEIVER], MESSAGE)), None)
        assert t.receiver == "mx.receiver.example" and not t.find("dkim"), dkim
        assert [b.result.result for b in t.unmatched_dkim] == ["pass"]
    # a failure the receiver saw is still shown in its words (it can only warn)
    t = select_trusted(parse_message(build(["Authentication-Results: mx.receiver.example; dkim=fail (body hash "
                                            "did not verify) header.d=bank.example", RECEIVED_BY_RECEIVER],
                                           MESSAGE)), None)
    assert [b.result.result for b in t.find("dkim")] == ["fail"]


def test_a_signed_message_keeps_its_dkim_pass(dns_server: DnsTestServer) -> None:
    from .test_message import SHOP_ZONE, gmail_ar

    dns_server.add_zone("shop.example", SHOP_ZONE.format(key=txt(key_txt())))
    signed = sign()
    edge = "Received: from out.shop.example (out.shop.example. [192.0.2.10])\n        by mx.google.com with ESMTPS"
    r = analyze(dns_server, build([edge, gmail_ar(signed)], signed))
    assert r.checks["dkim"].status is Status.PASS and r.checks["dkim"].detail["result"] == "pass"
    assert r.checks["dmarc"].status is Status.PASS and not r.headline.startswith("Not confirmed"), r.headline
    # the same header, the signature left out (a forger's copy, or a partial paste): not a pass
    unsigned = build([edge, gmail_ar(signed)], BODY)
    r = analyze(dns_server, unsigned)
    assert r.checks["dkim"].detail["result"] != "pass" and "msg.dkim-pass-without-signature" in codes(r, "dkim")
    assert r.checks["dmarc"].status is Status.PASS  # SPF still carries it: the message is fine otherwise


# -- real messages as they arrived (tests/data/conformance) --------------------------------------------------


def _offline(raw: bytes, trusted: list[str] | None = None) -> MessageReport:
    return run(analyze_message(raw, dns=None, trusted_authserv_ids=trusted))


def test_real_gmail_delivery_through_a_list_is_believed() -> None:
    """As published, the message lacks the Received line Gmail writes for the hop from the list (only Gmail's
    internal ``by 2002:…`` hop is left above its header): nothing then shows Google received it. With that
    line back, as Gmail writes it, the header is believed."""
    raw = (conformance_dir("arc") / "stalwart" / "001.txt").read_bytes().split(b"\n\n", 1)[1]  # after its keys
    trimmed = _offline(raw)
    assert trimmed.receiver is None and "msg.auth-results-unbacked" in [f.code for f in trimmed.checks["dmarc"].findings]
    gmail_line = (b"Received: from mail.ietf.org (mail.ietf.org. [50.223.129.194])\n        by mx.google.com with "
                  b"ESMTPS id k3csp2230702wrd\n        for <jmap@ietf.org>;\n")
    raw = raw.replace(b"Return-Path: <jmap-bounces@ietf.org>\n", b"Return-Path: <jmap-bounces@ietf.org>\n" + gmail_line)
    r = _offline(raw)
    assert r.receiver == "mx.google.com"
    rows = {(x["d"], x["receiver_result"]) for x in r.checks["dkim"].detail["signatures"]}
    assert ("ietf.org", "pass") in rows and ("stalw.art", "neutral") in rows
    assert r.checks["dmarc"].detail["result"] == "fail" and r.checks["spf"].detail["result"] == "pass"
    assert [h["authserv_id"] for h in r.detail["ignored_headers"]] == ["ietfa.amsl.com"]  # the list's own


def test_real_arc_chain_top_header_is_believed() -> None:
    raw = (conformance_dir("arc") / "stalwart" / "002.txt").read_bytes().split(b"\n\n", 1)[1]
    assert _offline(raw).receiver is None  # as published it has no Received line: nothing backs the header
    r = _offline(b"Received: from mx.scamorza.org (mx.scamorza.org [192.0.2.7]) by mx.manchego.org with ESMTPS\n"
                 + raw)
    assert r.receiver == "manchego.org" and r.checks["dkim"].detail["result"] == "pass"


@pytest.mark.parametrize(("name", "receiver", "spf", "ip"), [
    ("parsedmarc/aggregate/mimecast-weird-gzip.eml", "", "pass", "103.13.69.22"),
    ("parsedmarc/aggregate/google.com-report-949348866075514174.eml", "cardinalhealth.mail.onmicrosoft.com",
     "softfail", "199.230.200.198"),
    ("parsedmarc/aggregate/twilight.eml", "relay-twl-01.twlnet.com", None, "209.85.166.201"),
])
def test_real_provider_layouts_are_believed(name: str, receiver: str, spf: str | None, ip: str) -> None:
    from inboxready.core.mail.trust import receiver_inbound

    raw = (conformance_dir("dmarc-reports") / name).read_bytes()
    r = _offline(raw)
    assert r.receiver == receiver, r.detail["ignored_headers"]
    assert r.checks["dmarc"].detail["result"] in ("pass", "fail")
    if spf is not None:
        assert r.checks["spf"].detail["result"] == spf
    msg = parse_message(raw)
    hop = receiver_inbound(msg, select_trusted(msg, None))
    assert hop is not None and hop[1] == ip  # the address the service itself saw the message come from


@pytest.mark.parametrize(("name", "outsider"), [
    # Microsoft's outbound filter wrote "dkim=none" before the message went to mail.stalw.art
    ("stalwart/dmarc-feedback/103.eml", "mail.stalw.art"),
    # the sender's relay (mail.ru) wrote its own header before mail.stalw.art received the message
    ("stalwart/dmarc-feedback/102.eml", "mail.stalw.art"),
])
def test_real_headers_written_before_the_last_hop_are_not_the_receivers(name: str, outsider: str) -> None:
    r = _offline((conformance_dir("dmarc-reports") / name).read_bytes())
    assert r.receiver is None and r.status is Status.ERROR
    assert outsider in r.checks["dmarc"].summary


# -- provider layouts, and the same layouts with a forgery written on the sender's side ----------------------


def _layouts(signed: bytes) -> dict[str, tuple[list[str], str | None]]:
    """How Gmail, Outlook.com, Yahoo and Fastmail leave a message they received from 192.0.2.10 (top first),
    with the authserv-id they write (None: Microsoft's id-less form -> "")."""
    b = bprefix(signed)
    dkim = f"dkim=pass header.i=@shop.example header.s=s1 header.b={b}"
    spf = "spf=pass (domain of bounce@shop.example designates 192.0.2.10 as permitted sender) " \
          "smtp.mailfrom=bounce@shop.example"
    dmarc = "dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=shop.example"
    return {
        "gmail": ([
            "Received: by 2002:a05:6a10:8f0c:b0:4a1:1b2:3c4d with SMTP id x;\n        Mon, 01 Jan 2024 10:00:02 -0800",
            "X-Received: by 2002:a17:90b:4ac6:b0:213:ef82:b111 with SMTP id y",
            "Return-Path: <bounce@shop.example>",
            "Received: from out.shop.example (out.shop.example. [192.0.2.10])\n        by mx.google.com with ESMTPS "
            "id z\n        for <alice@gmail.example>;",
            "Received-SPF: pass (google.com: domain of bounce@shop.example designates 192.0.2.10 as permitted "
            "sender) client-ip=192.0.2.10;",
            f"Authentication-Results: mx.google.com;\n       {dkim};\n       {spf};\n       {dmarc}",
        ], "mx.google.com"),
        "outlook": ([
            "Received: from AM9PR01MB1234.eurprd01.prod.outlook.com (::1) by\n AS8PR01MB5678.eurprd01.prod.outlook.com "
            "with HTTPS",
            "Received: from DU2PR04CA0001.eurprd04.prod.outlook.com (2603:10a6:10:3b::6)\n by "
            "AM9PR01MB1234.eurprd01.prod.outlook.com (2603:10a6:20b:4c6::9) with Microsoft SMTP Server",
            "Received: from DB5PEPF00014B8F.eurprd02.prod.outlook.com\n (2603:10a6:10:3b:cafe::1) by "
            "DU2PR04CA0001.outlook.office365.com (2603:10a6:10:3b::6) with Microsoft SMTP Server",
            f"Authentication-Results: {spf.replace('(domain of', '(sender IP is 192.0.2.10) (domain of')};\n {dkim};"
            f"{dmarc.replace(' (p=REJECT sp=REJECT dis=NONE)', ' action=none')};compauth=pass reason=100",
            "Received-SPF: Pass (protection.outlook.com: domain of shop.example designates 192.0.2.10 as permitted "
            "sender) receiver=protection.outlook.com; client-ip=192.0.2.10; helo=out.shop.example;",
            "Received: from out.shop.example (192.0.2.10) by\n DB5PEPF00014B8F.mail.protection.outlook.com (10.167.8.3) "
            "with Microsoft SMTP Server",
        ], ""),
        "yahoo": ([
            "Received: from 127.0.0.1\n by atlas-production.v2-mail-prod1-gq1.omega.yahoo.com with HTTP",
            f"Authentication-Results: atlas-production.v2-mail-prod1-gq1.omega.yahoo.com;\n {dkim};\n {spf};\n {dmarc}",
            "X-Apparently-To: alice@yahoo.example",
            "Received: from 192.0.2.10 (EHLO out.shop.example)\n by 10.217.151.75 with SMTPs",
        ], "atlas-production.v2-mail-prod1-gq1.omega.yahoo.com"),
        "fastmail": ([
            "Received: from compute1.internal (compute1.nyi.internal [10.202.2.41])\n\t by sloti7d1t06 (Cyrus) with "
            "LMTPA",
            "Received: from mx6 ([10.202.2.205])\n  by compute1.internal (LMTPProxy)",
            f"Authentication-Results: mx6.messagingengine.com;\n    {dkim};\n    {dmarc};\n    {spf}",
            "Received-SPF: pass (shop.example: 192.0.2.10 is authorized to use 'bounce@shop.example' in 'mfrom' "
            "identity)",
            "Received: from out.shop.example (out.shop.example [192.0.2.10])\n\t(using TLSv1.3)\n\tby "
            "mx6.messagingengine.com (Postfix) with ESMTPS",
        ], "mx6.messagingengine.com"),
        # iCloud: one header per filter under me.com ids, its servers named under icloud.com and apple.com
        "icloud": ([
            "Received: from p00-icloudmta-asmtp-us-west-1a-100-percent-8 (p00-icloudmta-asmtp-us-west-1a-100-percent-"
            "8.p00-icloudmta-asmtp-vip.icloud-mail-production.svc.kube.us-west-1a.k8s.cloud.apple.com [17.57.152.1])\n"
            " by p143-mailgateway-smtp-5b.mail.icloud.com (Postfix) with ESMTPS",
            "Received: from mx2.mail.icloud.com by p00-icloudmta-asmtp-us-west-1a-100-percent-8.icloud.com",
            f"Authentication-Results: mr21p00im-dmarcmilter001.me.com; {dmarc}",
            f"Authentication-Results: mr21p00im-dkimmilter005.me.com; {dkim}",
            f"Authentication-Results: mr21p00im-spfmilter010.me.com; {spf}",
            "Received: from out.shop.example (out.shop.example [192.0.2.10])\n by mr21p00im-mx001.mail.icloud.com "
            "(Postfix) with ESMTPS",
        ], "mr21p00im-dmarcmilter001.me.com"),
    }


@pytest.fixture
def shop(dns_server: DnsTestServer) -> DnsTestServer:
    from .test_message import SHOP_ZONE

    dns_server.add_zone("shop.example", SHOP_ZONE.format(key=txt(key_txt())))
    return dns_server


@pytest.mark.parametrize("provider", ["gmail", "outlook", "yahoo", "fastmail", "icloud"])
def test_provider_layouts_are_believed_and_our_checks_agree(shop: DnsTestServer, provider: str) -> None:
    signed = sign()
    fields, receiver = _layouts(signed)[provider]
    r = analyze(shop, build(fields, signed))
    assert r.receiver == receiver
    assert {n: r.checks[n].status for n in ("spf", "dkim", "dmarc")} == {
        "spf": Status.PASS, "dkim": Status.PASS, "dmarc": Status.PASS}, r.headline
    assert r.checks["spf"].detail["our_check"]["ip"] == "192.0.2.10"
    assert r.checks["spf"].detail["our_check"]["ip_source"] == "received"


@pytest.mark.parametrize("provider", ["gmail", "outlook", "yahoo", "fastmail", "icloud"])
def test_provider_layouts_with_the_verdict_written_by_the_sender_are_not_believed(shop: DnsTestServer,
                                                                                   provider: str) -> None:
    """The receiver's own lines on top, then the sender's hop (a Received line its own server wrote), the
    receiver-looking verdict under it: an unsigned message from a server not in the SPF record."""
    signed = sign()
    fields, _ = _layouts(signed)[provider]
    own = [f for f in fields if not f.startswith(("Authentication-Results", "Received-SPF"))]
    verdict = next(f for f in fields if f.startswith("Authentication-Results"))
    raw = build([*own, "Received: from laptop (unknown [10.0.0.5]) by smtp.evil-relay.example with ESMTPSA",
                 verdict], BODY)
    r = analyze(shop, raw)
    assert r.receiver is None and r.status is Status.ERROR and "smtp.evil-relay.example" in r.headline


_SENDER_LINES = st.lists(st.sampled_from([
    "Received: from laptop (unknown [10.0.0.5]) by smtp.evil-relay.example with ESMTPSA",
    "Received: from x by mx.receiver.example",
    "Received: by 10.1.2.3 with SMTP",
    "Received: from out.evil.example (out.evil.example [203.0.113.5]) by out2.evil.example",
    "X-Spam: no",
]), max_size=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(_SENDER_LINES)
def test_a_named_outside_hop_above_any_forgery_sinks_it(shop: DnsTestServer, lines: list[str]) -> None:
    """Generated: the receiver's Received line on top, a server of the sender's below it, then anything, then
    a pass verdict with the receiver's id. Never believed."""
    raw = build(["Received: from out.evil.example (out.evil.example [203.0.113.5]) by mx.receiver.example",
                 "Received: from localhost by out.evil.example", *lines,
                 "Authentication-Results: mx.receiver.example; spf=pass smtp.mailfrom=shop.example; dmarc=pass "
                 "header.from=shop.example"], BODY)
    r = analyze(shop, raw)
    assert r.receiver is None and r.checks["dmarc"].detail["result"] is None
    assert r.status is Status.ERROR


def test_json_says_why(bank: DnsTestServer) -> None:
    raw = build(["Received: from evil.example (evil.example [203.0.113.5])\n        by mx.google.com with ESMTPS id x",
                 FORGED_PASS], MESSAGE)
    j = json.loads(json.dumps(analyze(bank, raw).to_json()))
    assert j["status"] == "warn" and j["checks"]["spf"]["detail"]["our_check"]["result"] == "fail"
    assert any(f["code"] == "msg.dmarc-unconfirmed" for f in j["checks"]["dmarc"]["findings"])
