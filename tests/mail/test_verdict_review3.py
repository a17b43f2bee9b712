"""Second adversarial review, the message verdict (core/mail):

- C3: a verdict header no Received line of the claimed receiver backs is not believed, and no address
  written in a verdict header is ever used for our own SPF check or the reverse DNS card;
- M1: a DMARC result about another header.from is never the From domain's verdict or policy;
- m1: a message without exactly one From header gets a DMARC card that says what we do, consistently;
- m2: the headline keeps acronyms as written after "Also,".

Messages are generated here, modelled on the reviewer's (Gmail layout, hd.example-like zones).
"""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inboxready.core.dns.server import DnsTestServer
from inboxready.core.mail.headers import parse_message
from inboxready.core.mail.trust import select_trusted
from inboxready.core.mail.verdict import message_verdict
from inboxready.core.model import CheckResult, Status

from .test_message import analyze, build, codes

HD = """
@               IN TXT "v=spf1 ip4:192.0.2.10 -all"
_dmarc          IN TXT "v=DMARC1; p=reject"
"""
MAILER = """
@               IN TXT "v=spf1 ip4:192.0.2.10 -all"
_dmarc          IN TXT "v=DMARC1; p=none"
"""

BODY = (b"From: Shop <news@hd.example>\r\nTo: someone@gmail.example\r\nSubject: Invoice 42\r\n"
        b"Date: Mon, 07 Dec 2026 05:00:00 +0000\r\nMessage-ID: <x1@hd.example>\r\n\r\nHello there.\r\n")

FORGED = ("Authentication-Results: mx.google.com;\n       dkim=pass header.i=@hd.example header.s=s1 header.b=XXXX;\n"
          "       spf=pass (google.com: domain of bounce@hd.example designates 192.0.2.10 as permitted sender) "
          "smtp.mailfrom=bounce@hd.example;\n       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=hd.example")
EVIL_HOP = ("Received: from evil.example (evil.example [203.0.113.66]) by mx.hd.example with ESMTP; "
            "Mon, 7 Dec 2026 05:00:02 -0800")
GMAIL_HOP = ("Received: from mail.hd.example (mail.hd.example. [192.0.2.10])\n        by mx.google.com with ESMTPS id x\n"
             "        for <someone@gmail.example>;")


@pytest.fixture
def hd(dns_server: DnsTestServer) -> DnsTestServer:
    dns_server.add_zone("hd.example", HD)
    dns_server.add_zone("mailer.example", MAILER)
    return dns_server


def _cli(raw: bytes, server: DnsTestServer, tmp_path, *extra: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    from inboxready.app.cli import main

    path = tmp_path / "m.eml"
    path.write_bytes(raw)
    out, err = io.StringIO(), io.StringIO()
    code = main(["headers", str(path), "--nameserver", server.address, "--timeout", "1", "--color", "never",
                 *extra], out=out, err=err)
    return code, out.getvalue()


# -- C3 --------------------------------------------------------------------------------------------------------


def test_the_reviewers_g7_a_verdict_header_no_received_line_of_the_receiver_backs(hd: DnsTestServer,
                                                                                   tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A Gmail verdict over the only Received line, written by mx.hd.example for a hop from 203.0.113.66."""
    raw = build([FORGED, EVIL_HOP], BODY)
    r = analyze(hd, raw)
    assert r.receiver is None and r.status is Status.ERROR
    for name in ("spf", "dkim", "dmarc"):
        assert r.checks[name].status is Status.ERROR and codes(r, name)[0] == "msg.auth-results-unbacked"
    assert "mx.hd.example" in r.checks["dmarc"].summary and "mx.google.com" in r.checks["dmarc"].summary
    assert r.detail["ignored_headers"][0]["authserv_id"] == "mx.google.com"
    # our own SPF check: the address the Received line names, never the 192.0.2.10 the header wrote
    own = r.checks["spf"].detail["our_check"]
    assert own["ip"] == "203.0.113.66" and own["ip_source"] == "top-received" and own["result"] == "fail"
    assert own["domain"] == "hd.example" and own["received_by"] == "mx.hd.example"
    assert "msg.spf-top-hop-not-allowed" in codes(r, "spf")
    assert r.detail["sending_ip"] is None  # nothing for a reverse DNS card to check
    code, text = _cli(raw, hd, tmp_path)
    assert code == 2 and "Judged by: mx.google.com" not in text
    assert not any(line.lstrip().startswith(("✓ SPF", "✓ DKIM", "✓ DMARC")) for line in text.splitlines())
    assert text.splitlines()[3].startswith("  Couldn't check:"), text
    code, out = _cli(raw, hd, tmp_path, "--json")
    j = json.loads(out)
    assert j["status"] == "error" and j["receiver"] is None
    assert j["checks"]["spf"]["detail"]["our_check"]["ip"] == "203.0.113.66"
    assert "192.0.2.10" not in json.dumps(j["checks"]["spf"]["detail"]["our_check"])
    assert "rdns" not in j["checks"]


def test_a_verdict_header_with_no_received_line_at_all_is_not_believed(hd: DnsTestServer) -> None:
    r = analyze(hd, build([FORGED], BODY))
    assert r.receiver is None and r.status is Status.ERROR
    f = next(x for x in r.checks["dmarc"].findings if x.code == "msg.auth-results-unbacked")
    assert "no Received lines" in f.message and "whole message" in f.message


def test_the_same_header_backed_by_the_receivers_received_line_is_believed(hd: DnsTestServer) -> None:
    raw = build([GMAIL_HOP, FORGED.replace("dkim=pass header.i=@hd.example header.s=s1 header.b=XXXX;\n", "")], BODY)
    r = analyze(hd, raw)
    assert r.receiver == "mx.google.com" and r.checks["dmarc"].status is Status.PASS
    assert r.checks["spf"].detail["our_check"]["ip_source"] == "received"
    assert r.detail["sending_ip"] == "192.0.2.10"


def test_the_headers_address_is_never_our_evidence(hd: DnsTestServer) -> None:
    """Believed receiver, but its Received line names no address: no SPF re-check from the header's words
    ("designates 192.0.2.10"), which anyone can write; the receiver's pass then stands, unconfirmed."""
    hop = "Received: from mail.hd.example (mail.hd.example) by mx.google.com with ESMTPS id x"
    r = analyze(hd, build([hop, FORGED.replace("dkim=pass header.i=@hd.example header.s=s1 header.b=XXXX;\n", "")],
                          BODY))
    assert r.receiver == "mx.google.com"
    assert "our_check" not in r.checks["spf"].detail
    assert r.detail["sending_ip"] is None


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(claimed=st.sampled_from(["mx.google.com", "mx6.messagingengine.com", "mr21p00im-dmarcmilter001.me.com",
                                "atlas-production.v2-mail-prod1-gq1.omega.yahoo.com", "mx.receiver.example"]),
       hops=st.lists(st.sampled_from([
           "Received: from evil.example (evil.example [203.0.113.66]) by mx.hd.example",
           "Received: by 10.1.2.3 with SMTP",
           "Received: from x (x [198.51.100.4]) by relay.other.example",
           "Received: by 2002:a05:6a10:8f0c:b0:4a1:1b2:3c4d with SMTP id x",
           "X-Spam: no",
       ]), max_size=4))
def test_generated_no_received_line_of_the_claimed_service_never_believed(claimed: str, hops: list[str]) -> None:
    ar = f"Authentication-Results: {claimed}; spf=pass smtp.mailfrom=hd.example; dmarc=pass header.from=hd.example"
    t = select_trusted(parse_message(build([ar, *hops], BODY)), None)
    assert t.receiver is None and not t.results
    t = select_trusted(parse_message(build([*hops[:1], ar, *hops[1:]], BODY)), None)
    assert t.receiver is None and not t.results


# -- M1 --------------------------------------------------------------------------------------------------------

G3B = ("Authentication-Results: mx.google.com;\n       spf=pass smtp.mailfrom=bounce@mailer.example;\n"
       "       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=mailer.example")


def test_a_dmarc_result_for_another_header_from_is_not_the_from_domains(hd: DnsTestServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    raw = build([GMAIL_HOP, G3B], BODY)
    r = analyze(hd, raw)
    dmarc = r.checks["dmarc"]
    assert r.receiver == "mx.google.com"
    assert dmarc.detail["result"] is None and dmarc.status is Status.FAIL
    assert dmarc.detail["other_domain"]["header_from"] == "mailer.example"
    assert dmarc.detail["policy"] == "reject"  # hd.example's own, never the p=NONE the comment gave mailer.example
    assert "msg.dmarc-other-domain" in codes(r, "dmarc") and "msg.dmarc-policy-none" not in codes(r, "dmarc")
    assert "passed for hd.example" not in dmarc.summary and "mailer.example" in dmarc.summary
    assert r.status is Status.FAIL and "mailer.example, not hd.example" in r.headline
    code, text = _cli(raw, hd, tmp_path)
    assert "✓ DMARC" not in text and "p=none" not in text


def test_the_from_domains_result_is_picked_whatever_its_case(hd: DnsTestServer) -> None:
    ar = G3B.replace("header.from=mailer.example", "header.from=HD.Example.").replace(
        "bounce@mailer.example", "bounce@hd.example")
    r = analyze(hd, build([GMAIL_HOP, ar], BODY))
    assert r.checks["dmarc"].detail["result"] == "pass" and "other_domain" not in r.checks["dmarc"].detail


# -- m1 --------------------------------------------------------------------------------------------------------


def test_two_from_headers_the_dmarc_card_says_what_we_do(hd: DnsTestServer) -> None:
    ar = FORGED.replace("dkim=pass header.i=@hd.example header.s=s1 header.b=XXXX;\n", "")
    two = BODY.replace(b"To:", b"From: PayPal <service@paypal.example>\r\nTo:")
    r = analyze(hd, build([GMAIL_HOP, ar], two))
    dmarc = r.checks["dmarc"]
    assert dmarc.status is Status.FAIL
    assert "passed" not in dmarc.summary.split("The receiver wrote")[0]
    assert "2 From headers" in dmarc.summary and "paypal.example" in dmarc.summary
    assert "count it as failing" in dmarc.summary
    assert r.status is Status.FAIL and "the message has 2 From headers" in r.headline


def test_no_from_header_the_dmarc_card_does_not_say_passed(hd: DnsTestServer) -> None:
    ar = FORGED.replace("dkim=pass header.i=@hd.example header.s=s1 header.b=XXXX;\n", "")
    none = b"".join(line + b"\r\n" for line in BODY.split(b"\r\n") if not line.startswith(b"From:"))
    r = analyze(hd, build([GMAIL_HOP, ar], none))
    dmarc = r.checks["dmarc"]
    assert dmarc.status is Status.FAIL and "passed" not in dmarc.summary.split("The receiver wrote")[0]
    assert "no usable From address" in dmarc.summary


# -- m2 --------------------------------------------------------------------------------------------------------


def test_the_headline_keeps_acronyms_after_also() -> None:
    checks = {
        "spf": CheckResult("spf", Status.WARN, "SPF passed for mailer.example, which is not your From domain.",
                           detail={"result": "pass", "aligned": False, "receiver_said": "spf=pass"}),
        "dkim": CheckResult("dkim", Status.FAIL, "DKIM failed for hd.example.",
                            detail={"result": "fail", "aligned_pass": False,
                                    "receiver_said": "dkim=fail (body hash did not verify)"}),
        "dmarc": CheckResult("dmarc", Status.PASS, "DMARC passed for hd.example.",
                             detail={"result": "pass", "from_domain": "hd.example"}),
    }
    status, head = message_verdict(checks)
    assert status is Status.WARN
    assert "Also, SPF didn't pass for hd.example" in head and "sPF" not in head
