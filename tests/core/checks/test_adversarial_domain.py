"""Adversarial pass over the domain check (h10): real-world record shapes and hostile zones served by the
loopback DNS server, each compared with what the RFC says receivers do. Every zone here is also replayed by
the fix self-check (tests/fixcheck.py) at the end of the run."""

from __future__ import annotations

from inboxready.core.checks import dmarc, spf
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import CheckResult, Severity, Status

from ...conftest import make_ctx, run


def serve(server: DnsTestServer, zones: dict[str, str]) -> None:
    for tld in ("com", "net", "example"):
        server.add_origin(tld)
    for origin, text in zones.items():
        server.replace_zone(origin, text)


def codes(r: CheckResult) -> list[str]:
    return [f.code for f in r.findings]


def dmarc_check(server: DnsTestServer, domain: str) -> CheckResult:
    async def go() -> CheckResult:
        return await dmarc.check(make_ctx(server, domain))

    return run(go())


def spf_check(server: DnsTestServer, domain: str) -> CheckResult:
    async def go() -> CheckResult:
        return await spf.check(make_ctx(server, domain))

    return run(go())


# -- DMARC: a wildcard TXT is no record at a doubled name ---------------------------------------------------

WILD = """$ORIGIN wild-dmarc.com.
@ MX 10 mx.example.net.
@ TXT "v=spf1 mx -all"
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:d@wild-dmarc.com"
* TXT "v=DMARC1; p=none"
shop A 192.0.2.80
"""


def test_wildcard_dmarc_text_is_not_a_record_at_a_doubled_name(dns_server: DnsTestServer) -> None:
    """``*.wild-dmarc.com`` answers ``_dmarc.shop.wild-dmarc.com.wild-dmarc.com`` (nothing of its own there), but
    nobody published a record at that doubled name: the wildcard answers every made-up name. shop.wild-dmarc.com
    exists, so the wildcard doesn't cover ``_dmarc.shop.wild-dmarc.com`` (RFC 4592) and receivers apply the
    parent's p=reject. Before: "Your DMARC record is published at the doubled name" (an error, status fail) with
    a fix deleting a record that isn't there."""
    serve(dns_server, {"wild-dmarc.com": WILD})
    r = dmarc_check(dns_server, "shop.wild-dmarc.com")
    assert "dmarc.record-at-doubled-name" not in codes(r), r.findings
    assert r.status is not Status.FAIL and r.detail["policy"] == "reject"
    assert not any(f.action == "remove" for f in r.fixes), r.fixes


def test_record_really_at_a_doubled_name_is_still_found_beside_a_wildcard(dns_server: DnsTestServer) -> None:
    """The wildcard probe only drops what the wildcard itself answers: a record typed in at the doubled name
    (its own text) is still found and moved."""
    zone = WILD.replace('* TXT "v=DMARC1; p=none"', '* TXT "google-site-verification=abc"').replace(
        "_dmarc TXT", "_dmarc.shop.wild-dmarc.com TXT")
    zone += '_dmarc.shop.wild-dmarc.com TXT "v=DMARC1; p=quarantine"\n'
    serve(dns_server, {"wild-dmarc.com": zone})
    r = dmarc_check(dns_server, "shop.wild-dmarc.com")
    assert "dmarc.record-at-doubled-name" in codes(r), codes(r)


# -- SPF: an mx rule whose mail server's address can't be looked up ----------------------------------------

MX_DOWN = """$ORIGIN mx-down.com.
@ MX 10 mail.slow-host.net.
@ TXT "v=spf1 mx -all"
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:d@mx-down.com"
"""


def test_mx_rule_whose_server_address_times_out_is_couldnt_check(dns_server: DnsTestServer) -> None:
    """RFC 7208 §5 / §5.4: 'mx' looks up each mail server's addresses; a lookup that fails ends check_host in
    temperror. Before: "SPF is set up" (pass) although receivers get a temporary error for every message
    that isn't from an address listed before the 'mx'."""
    serve(dns_server, {"mx-down.com": MX_DOWN, "slow-host.net": "$ORIGIN slow-host.net.\nmail A 192.0.2.25\n"})
    dns_server.timeout_names.add("mail.slow-host.net")
    r = spf_check(dns_server, "mx-down.com")
    assert r.status is Status.ERROR, (r.status, r.summary)
    lost = [f for f in r.findings if f.severity is Severity.UNKNOWN]
    assert lost and "mail.slow-host.net" in lost[0].message + lost[0].detail


def test_mx_rule_whose_server_address_exists_still_passes(dns_server: DnsTestServer) -> None:
    serve(dns_server, {"mx-down.com": MX_DOWN, "slow-host.net": "$ORIGIN slow-host.net.\nmail A 192.0.2.25\n"})
    r = spf_check(dns_server, "mx-down.com")
    assert r.status is Status.PASS, (r.status, r.findings)


# -- MTA-STS and TLS reporting: a look-alike record beside the real one ------------------------------------

LOOKALIKES = """$ORIGIN sts-twice.com.
@ MX 10 mx.example.net.
_mta-sts TXT "v=STSv1; id=20240101;"
_mta-sts TXT "v=stsv1; id=2023;"
_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@sts-twice.com"
_smtp._tls TXT "V=TLSRPTv1; rua=mailto:old@sts-twice.com"
"""


def test_lookalike_sts_record_beside_the_real_one_is_ignored_not_multiple(dns_server: DnsTestServer) -> None:
    """RFC 8461 §3.1: records not beginning with "v=STSv1;" are discarded first, so exactly one is left and
    MTA-STS works. Before: "You have more than one MTA-STS record, so sending servers ignore all of them and
    MTA-STS is off" (an error) with a fix replacing the working record's id."""
    from inboxready.core.checks import mta_sts

    serve(dns_server, {"sts-twice.com": LOOKALIKES})

    async def go() -> CheckResult:
        return await mta_sts.check(make_ctx(dns_server, "sts-twice.com"))

    r = run(go())
    assert "mta_sts.multiple-records" not in codes(r), codes(r)
    assert r.detail["id"] == "20240101" and r.detail["record"] == "v=STSv1; id=20240101;"
    (ignored,) = [f for f in r.findings if f.code == "mta_sts.record-ignored"]
    assert ignored.fix is not None and ignored.fix.action == "remove" and ignored.fix.value == "v=stsv1; id=2023;"


def test_lookalike_tlsrpt_record_beside_the_real_one_is_ignored_not_multiple(dns_server: DnsTestServer) -> None:
    """RFC 8460 §3: the same rule. Before: "more than one TLS reporting record, so sending servers ignore all of
    them" (fail), fixed by merging the ignored record's address into the working one."""
    from inboxready.core.checks import tls_rpt

    serve(dns_server, {"sts-twice.com": LOOKALIKES})

    async def go() -> CheckResult:
        return await tls_rpt.check(make_ctx(dns_server, "sts-twice.com"))

    r = run(go())
    assert r.status is Status.WARN and r.detail["rua"] == ["mailto:tls@sts-twice.com"], (r.status, codes(r))
    (ignored,) = [f for f in r.findings if f.code == "tls_rpt.record-ignored"]
    assert ignored.fix is not None and ignored.fix.action == "remove"


def test_providers_redirect_to_nothing_names_the_providers_record_once(dns_server: DnsTestServer) -> None:
    """Before: "'redirect=b.spf-chain.net' in the SPF record of a.spf-chain.net record points at ..."."""
    serve(dns_server, {
        "spf-chain.com": '$ORIGIN spf-chain.com.\n@ MX 10 mx.example.net.\n@ TXT "v=spf1 include:a.spf-chain.net -all"\n',
        "spf-chain.net": '$ORIGIN spf-chain.net.\na TXT "v=spf1 redirect=b.spf-chain.net"\n'})
    r = spf_check(dns_server, "spf-chain.com")
    (f,) = [f for f in r.findings if f.code == "spf.redirect-no-record"]
    assert f.message.startswith("'redirect=b.spf-chain.net' in the SPF record of a.spf-chain.net points at "), f.message


# -- DKIM: a key beside a record that isn't one -----------------------------------------------------------


def test_dkim_key_beside_a_foreign_record_offers_to_delete_the_foreign_one(dns_server: DnsTestServer) -> None:
    """A site verification pasted at the selector's name: verifiers that read the first record of the answer
    fail DKIM whenever it comes first. Before: "Keep only the current key" with no record to remove. Now the
    fix deletes the foreign record, and checking again finds the key working."""
    from inboxready.core.checks import dkim
    from inboxready.core.model import Fix

    from ..records.test_dkim_parse import rsa_b64

    key = Fix("x", "TXT", "v=DKIM1; k=rsa; p=" + rsa_b64(2048)).zone_value
    zone = ("$ORIGIN dkim-mixed.com.\n@ MX 10 mx.example.net.\n@ TXT \"v=spf1 mx -all\"\n"
            f"google._domainkey TXT {key}\n")

    async def go() -> CheckResult:
        return await dkim.check(make_ctx(dns_server, "dkim-mixed.com"))

    serve(dns_server, {"dkim-mixed.com": zone + 'google._domainkey TXT "google-site-verification=abc123"\n'})
    r = run(go())
    (f,) = [f for f in r.findings if f.code == "dkim.multiple-records"]
    assert f.fix is not None and f.fix.action == "remove" and f.fix.value == "google-site-verification=abc123"
    assert f.fix.host == "google._domainkey.dkim-mixed.com"
    serve(dns_server, {"dkim-mixed.com": zone})
    again = run(go())
    assert again.status is Status.PASS and "dkim.multiple-records" not in codes(again)


def test_dkim_key_with_version_not_first_is_a_warning_with_the_reordered_key(dns_server: DnsTestServer) -> None:
    """RFC 6376 §3.6.1: v= MUST be the first tag, but verifiers such as dkimpy read the tags in any order.
    Before: "damaged and can't be used, so mail signed with it fails DKIM. Copy the record again" (fail, no
    fix). Now: a warning whose fix is the same key with v=DKIM1 first; published, the key passes."""
    from inboxready.core.checks import dkim
    from inboxready.core.model import Fix

    from ..records.test_dkim_parse import rsa_b64

    p = rsa_b64(2048)
    zone = "$ORIGIN dkim-order.com.\n@ MX 10 mx.example.net.\n@ TXT \"v=spf1 mx -all\"\n"

    async def go() -> CheckResult:
        return await dkim.check(make_ctx(dns_server, "dkim-order.com"))

    serve(dns_server, {"dkim-order.com": zone + "google._domainkey TXT "
                       + Fix("x", "TXT", "k=rsa; v=DKIM1; p=" + p).zone_value + "\n"})
    r = run(go())
    assert r.status is Status.WARN, (r.status, codes(r))
    (f,) = [f for f in r.findings if f.code == "dkim.version-not-first"]
    assert f.fix is not None and f.fix.value == "v=DKIM1; k=rsa; p=" + p and f.fix.action == "publish"
    (old,) = f.fix.also_publish
    assert old.action == "remove" and old.value == "k=rsa; v=DKIM1; p=" + p
    serve(dns_server, {"dkim-order.com": zone + "google._domainkey TXT " + f.fix.zone_value + "\n"})
    again = run(go())
    assert again.status is Status.PASS, codes(again)


def test_many_unrelated_txt_records_at_dmarc_are_said_once(dns_server: DnsTestServer) -> None:
    """A hostile (or just cluttered) zone with 150 other TXT records beside the DMARC record. Before: 150
    identical notes "There is a TXT record at _dmarc... that is not DMARC". Now one note counting them."""
    junk = "".join(f'_dmarc TXT "verification-token-{i}"\n' for i in range(150))
    serve(dns_server, {"cluttered.com": '$ORIGIN cluttered.com.\n@ MX 10 mx.example.net.\n'
                                        '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:d@cluttered.com"\n' + junk})
    r = dmarc_check(dns_server, "cluttered.com")
    (f,) = [f for f in r.findings if f.code == "dmarc.unrelated-txt"]
    assert "150 TXT records" in f.message and r.status is Status.PASS and r.detail["policy"] == "reject"


def test_mx_records_are_listed_by_preference_and_a_huge_address_list_is_cut(dns_server: DnsTestServer) -> None:
    """Google Workspace's five MX records came out in the answer's (random) order, and a mail server with 300
    private addresses had all 300 in one sentence."""
    from inboxready.core.checks import mx

    addresses = "".join(f"mail A 10.{i // 200}.{i % 200}.1\n" for i in range(300))
    serve(dns_server, {"mx-order.com": "$ORIGIN mx-order.com.\n@ MX 10 alt3.mx-order.com.\n@ MX 1 mail.mx-order.com.\n"
                                      "@ MX 5 alt1.mx-order.com.\nalt1 A 192.0.2.1\nalt3 A 192.0.2.3\n" + addresses})

    async def go() -> CheckResult:
        return await mx.check(make_ctx(dns_server, "mx-order.com"))

    r = run(go())
    assert r.records == ["1 mail.mx-order.com.", "5 alt1.mx-order.com.", "10 alt3.mx-order.com."]
    (f,) = [f for f in r.findings if f.code == "mx.target-private"]
    assert "and 295 more" in f.message and len(f.message) < 400


# -- SPF: slips whose meaning is certain get the corrected record -----------------------------------------

import pytest  # noqa: E402 - the parametrized cases below are the only ones that need it


@pytest.mark.parametrize(("record", "fixed"), [
    ("v=spf1 ip4:mail.term-slip.com -all", "v=spf1 a:mail.term-slip.com -all"),
    ("v=spf1 include:192.0.2.10 -all", "v=spf1 ip4:192.0.2.10 -all"),
    ("v=spf1 a:192.0.2.10 mx -all", "v=spf1 ip4:192.0.2.10 mx -all"),
    ("v=spf1 ip4: 192.0.2.10 -all", "v=spf1 ip4:192.0.2.10 -all"),
    ("v=spf1 ip4:192.0.2.10, ip4:192.0.2.11; ~all", "v=spf1 ip4:192.0.2.10 ip4:192.0.2.11 -all"),  # p=reject: -all
    ("v=spf1 include:2001:db8::25 -all", "v=spf1 ip6:2001:db8::25 -all"),
])
def test_spf_slip_with_a_certain_meaning_gets_the_corrected_record(dns_server: DnsTestServer, record: str,
                                                                    fixed: str) -> None:
    """The error message already said what was meant ("use ip4:192.0.2.10 for an address"), but the card said
    "We can't tell what the broken rule was meant to say" and offered nothing. Now the corrected record is the
    fix, and published it passes."""
    zone = ("$ORIGIN term-slip.com.\n@ MX 10 mail\nmail A 192.0.2.10\n"
            '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:d@term-slip.com"\n')
    serve(dns_server, {"term-slip.com": zone + f'@ TXT "{record}"\n'})
    r = spf_check(dns_server, "term-slip.com")
    assert r.status is Status.FAIL
    (f,) = [f for f in r.findings if f.code == "spf.term-slip"]
    assert f.fix is not None and f.fix.value == fixed, f.fix
    serve(dns_server, {"term-slip.com": zone + f"@ TXT {f.fix.zone_value}\n"})
    again = spf_check(dns_server, "term-slip.com")
    assert again.status in (Status.PASS, Status.WARN) and not any(
        x.severity is Severity.ERROR for x in again.findings), again.findings


def test_spf_slip_that_could_mean_two_things_is_not_guessed(dns_server: DnsTestServer) -> None:
    serve(dns_server, {"term-slip.com": '$ORIGIN term-slip.com.\n@ MX 10 mail\nmail A 192.0.2.10\n'
                                        '@ TXT "v=spf1 ipv4:192.0.2.10 -all"\n'})
    r = spf_check(dns_server, "term-slip.com")
    assert "spf.term-slip" not in codes(r) and "spf.syntax-error" in codes(r)


def test_mx_address_lookups_of_a_hostile_tree_are_bounded(dns_server: DnsTestServer) -> None:
    """40 mx: terms, each naming 10 mail servers: looking up every server's addresses would be 800 more
    queries; the walk stops looking after 30 servers (the verdict is the lookup limit anyway). Without the
    cap this test fails (about 870 queries)."""
    terms = " ".join(f"mx:m{i}.mx-storm.net" for i in range(40))
    net = "$ORIGIN mx-storm.net.\n" + "".join(
        f"m{i} MX 10 h{j}.m{i}.mx-storm.net.\n" for i in range(40) for j in range(10))
    from inboxready.core.model import Fix

    record = Fix("x", "TXT", f"v=spf1 {terms} -all").zone_value
    serve(dns_server, {"mx-storm.com": f"$ORIGIN mx-storm.com.\n@ MX 10 mx.example.net.\n@ TXT {record}\n",
                       "mx-storm.net": net})
    before = dns_server.query_count
    r = spf_check(dns_server, "mx-storm.com")
    assert r.status is Status.FAIL and "spf.too-many-lookups" in codes(r)
    # measured: about 250 queries without any address lookup, 290 with the cap, 870 without it
    assert dns_server.query_count - before < 400, dns_server.query_count - before
