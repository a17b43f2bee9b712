"""Review fixes, part 1: verdicts and fixes in the domain checks (the adversarial review's C3, C4, M1, M3,
M4, M8, M9 and minor items). Every zone is served by the loopback DNS server; every fix offered is
published into the zone and the domain checked again."""

from __future__ import annotations

import json

from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import CheckResult, Severity, Status

from ...conftest import make_ctx, run
from ...helpers.cli import cli

TTL = "$TTL 300\n"
SOA = "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\n"
MAIL = SOA + "@ IN MX 10 mail\nmail IN A 192.0.2.10\n@ IN TXT \"v=spf1 ip4:192.0.2.10 -all\"\n"


def serve(server: DnsTestServer, **zones: str) -> None:
    for tld in ("com", "net", "org"):
        server.add_origin(tld)
    for origin, text in zones.items():
        server.add_zone(origin.replace("_", "."), TTL + text)


def check(server: DnsTestServer, name: str, domain: str = "example.com", **opts: object) -> CheckResult:
    from inboxready.core.checks.registry import check_function

    async def go() -> CheckResult:
        return await check_function(name)(make_ctx(server, domain, **opts))
    return run(go())


def codes(r: CheckResult) -> set[str]:
    return {f.code for f in r.findings}


def finding(r: CheckResult, code: str):  # type: ignore[no-untyped-def]
    found = [f for f in r.findings if f.code == code]
    assert found, f"{code} not in {sorted(codes(r))}"
    return found[0]




# -- C3: a DNS timeout is "couldn't check", never "no DMARC" ----------------------------------------


def test_dmarc_timeout_leaves_the_stage_unknown_never_none(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=MAIL + '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"\n')
    dns_server.timeout_names.add("_dmarc.example.com")
    r = check(dns_server, "dmarc", timeout=0.5)
    assert r.status is Status.ERROR
    assert r.detail["stage"] == "unknown" and r.detail["next_record"] is None and r.fixes == []


def test_dmarc_failure_up_the_tree_leaves_the_stage_unknown(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=MAIL + "shop IN A 192.0.2.40\n")
    dns_server.servfail_names.add("_dmarc.example.com")
    r = check(dns_server, "dmarc", "shop.example.com")
    assert r.status is Status.ERROR and r.detail["stage"] == "unknown" and r.fixes == []


def test_build_dmarc_refuses_to_start_the_ladder_when_the_record_cant_be_read(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=MAIL + '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"\n')
    dns_server.timeout_names.add("_dmarc.example.com")
    code, out, err = cli("build", "dmarc", "example.com", "-n", dns_server.address, "--timeout", "0.5")
    assert code == 2 and out == ""
    assert "couldn't read your current DMARC record" in err and "weaken" in err and "--current" in err
    assert "p=none" not in err
    code, out, _ = cli("build", "dmarc", "example.com", "-n", dns_server.address, "--timeout", "0.5", "--json")
    data = json.loads(out)
    assert code == 2 and data["steps"] == [] and data["current_stage"] == "unknown"
    # given by hand, the ladder is shown and marks the step
    code, out, _ = cli("build", "dmarc", "example.com", "-n", dns_server.address, "--timeout", "0.5", "--json",
                       "--current", "v=DMARC1; p=reject; rua=mailto:d@example.com")
    assert code == 0 and json.loads(out)["current_stage"] == "reject"


def test_build_dmarc_replaces_records_receivers_ignore(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=MAIL + '_dmarc IN TXT "v=DMARC1; p=reject"\n_dmarc IN TXT "v=DMARC1; p=none"\n'
                                         'x IN MX 10 mail\n_dmarc.x IN TXT "p=reject; v=DMARC1; rua=mailto:d@example.com"\n')
    code, out, _ = cli("build", "dmarc", "example.com", "-n", dns_server.address, "--json")
    data = json.loads(out)
    assert code == 0 and data["current_stage"] is None and "2 DMARC records" in data["note"]
    assert all(s["fix"]["action"] == "replace" for s in data["steps"])
    code, out, _ = cli("build", "dmarc", "x.example.com", "-n", dns_server.address, "--json")
    data = json.loads(out)
    assert code == 0 and data["current_stage"] is None and "v=DMARC1; p=reject" in data["note"]
    steps = {s["stage"]: s for s in data["steps"]}
    assert steps["reject"]["record"] == "v=DMARC1; p=reject; np=reject; rua=mailto:d@example.com"
    assert steps["monitor"]["fix"]["action"] == "replace" and not any(s["current"] for s in data["steps"])


# -- fixes published and checked again (the fix self-check over given zones) ------------------------


def selfcheck(zones: dict[str, str], domains: list[str]) -> int:
    """Publish every fix offered for ``domains`` into a copy of ``zones``, check again: the finding goes away
    and nothing gets worse. Returns how many fixes were tried."""
    import asyncio

    from tests.fixcheck import ZoneSet, self_check

    class Only(ZoneSet):
        def domains(self, limit: int = 4) -> list[str]:
            return domains

    base = ZoneSet.from_zones({o: TTL + t for o, t in zones.items()}, domains[0])
    server = DnsTestServer()
    server.no_zone_record = True  # type: ignore[attr-defined]
    server.start()
    try:
        problems, _, tried = asyncio.run(self_check([Only(base.label, base.origins, base.rrsets)], server))
    finally:
        server.stop()
    assert not problems, "\n".join(problems)
    return tried


# -- M3: the DMARC card agrees with the host-form mistakes -------------------------------------------

DOUBLED = MAIL + '_dmarc.example.com.example.com. IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"\n'


def test_dmarc_record_at_a_doubled_name_is_moved_not_replaced_by_p_none(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=DOUBLED)
    r = check(dns_server, "dmarc")
    assert r.status is Status.FAIL and "typed twice" in r.summary
    f = finding(r, "dmarc.record-at-doubled-name")
    assert f.severity is Severity.ERROR and "_dmarc.example.com.example.com" in f.message
    assert "dmarc.no-record" not in codes(r)
    assert f.fix is not None and f.fix.host == "_dmarc.example.com"
    assert f.fix.value == "v=DMARC1; p=reject; rua=mailto:d@example.com"  # the user's policy, not p=none
    (removal,) = f.fix.also_publish
    assert removal.action == "remove" and removal.host == "_dmarc.example.com.example.com"
    assert all("p=none" not in x.value for x in r.fixes)
    assert selfcheck({"example.com": DOUBLED}, ["example.com"]) >= 1


def test_dmarc_card_and_publish_mistakes_offer_the_same_record(dns_server: DnsTestServer) -> None:
    from inboxready.core.publish.mistakes import find_mistakes

    serve(dns_server, example_com=DOUBLED)
    r = check(dns_server, "dmarc")

    async def go():  # type: ignore[no-untyped-def]
        ctx = make_ctx(dns_server, "example.com")
        return await find_mistakes(ctx.dns, "example.com", "example.com")
    (m,) = [m for m in run(go()) if m.check == "dmarc"]
    assert m.code == "publish.doubled-name"
    mine = {(x.host, x.action, x.value) for x in r.fixes[0].records}
    theirs = {(x.host, x.action, x.value) for x in m.fixes}
    assert mine == theirs


def test_dmarc_record_in_the_wrong_order_is_the_users_record_replaced_in_order(dns_server: DnsTestServer) -> None:
    zone = MAIL + '_dmarc IN TXT "p=reject; v=DMARC1; rua=mailto:d@example.com"\n'
    serve(dns_server, example_com=zone)
    r = check(dns_server, "dmarc")
    assert r.status is Status.FAIL and r.detail["record"] is None  # receivers ignore it: no valid record
    assert "dmarc.no-record" not in codes(r) and "dmarc.unrelated-txt" not in codes(r)
    f = finding(r, "dmarc.invalid-record")
    assert "wrong order" in f.message and "v=DMARC1" in f.message
    # published in order, the old text deleted with it (not "change the existing record", then "delete" it)
    assert f.fix is not None and f.fix.action == "publish"
    assert f.fix.value == "v=DMARC1; p=reject; rua=mailto:d@example.com"  # the same policy, in order
    (removal,) = f.fix.also_publish  # the old text starts with p=, so it is deleted explicitly
    assert removal.action == "remove" and removal.value == "p=reject; v=DMARC1; rua=mailto:d@example.com"
    assert selfcheck({"example.com": zone}, ["example.com"]) >= 1


# -- C4: DNSSEC never says "signed" for a name it couldn't see signed ---------------------------------


def test_dnssec_summary_for_a_domain_that_does_not_exist(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=MAIL)
    r = check(dns_server, "dnssec", "nothere.example.com")
    assert r.detail["signed"] is None
    assert "does not exist" in r.summary and "is signed" not in r.summary


def test_dnssec_summary_when_signatures_are_stripped(dns_server: DnsTestServer) -> None:
    from tests.core.checks.test_dnssec import new_key, signed

    dns_server.add_zone(".", signed(".", "", None))  # a resolver that strips signatures shows the root so
    dns_server.add_records(".", "DNSKEY", [new_key().dnskey.to_text()])
    dns_server.add_zone("example.com", "@ SOA ns hostmaster 1 7200 900 1209600 300\n")
    r = check(dns_server, "dnssec")
    assert r.status is Status.ERROR and "is signed" not in r.summary and "is not signed" not in r.summary


# -- M4: no TLS-RPT (nor MTA-STS, nor DMARC) record offered where it can't work --------------------

NO_INBOX = {
    "null MX": SOA + '@ IN MX 0 .\n@ IN A 192.0.2.99\n@ IN TXT "v=spf1 -all"\n',
    "parked": SOA + "@ IN A 192.0.2.99\nwww IN A 192.0.2.99\n",
}


def test_tls_reporting_is_not_offered_to_a_domain_that_receives_no_mail(dns_server: DnsTestServer) -> None:
    for why, zone in NO_INBOX.items():
        dns_server.clear()
        serve(dns_server, example_com=zone)
        for name in ("tls_rpt", "mta_sts"):
            r = check(dns_server, name)
            assert r.status is Status.INFO and r.fixes == [], (why, name, r.fixes)
            assert f"{name}.not-needed" in codes(r) and "doesn't apply" in r.summary, (why, name, r.summary)
    r = check(dns_server, "tls_rpt", "nothere.example.com")  # a name that doesn't exist
    assert r.fixes == [] and "does not exist" in r.summary


def test_a_tls_reporting_record_at_a_domain_without_mail_is_not_a_pass(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=NO_INBOX["null MX"]
          + '_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@example.com"\n')
    r = check(dns_server, "tls_rpt")
    assert r.status is Status.INFO and "does nothing" in finding(r, "tls_rpt.no-inbox").message


def test_tls_reporting_still_offered_where_mail_is_received(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=MAIL)
    r = check(dns_server, "tls_rpt")
    (fix,) = r.fixes
    assert fix.value == "v=TLSRPTv1; rua=mailto:tls-reports@example.com"


def test_no_dmarc_record_is_offered_for_a_domain_that_does_not_exist(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=MAIL)
    r = check(dns_server, "dmarc", "nothere.example.com")
    assert r.status is Status.FAIL and r.fixes == [] and r.detail["next_record"] is None
    f = finding(r, "dmarc.no-record")
    assert "does not exist" in f.message and f.no_fix


# -- M9: no step towards enforcement without DKIM, or at least not without saying so -----------------


def test_next_step_to_reject_without_dkim_asks_for_dkim_first(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=MAIL + '_dmarc IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@example.com"\n')
    r = check(dns_server, "dmarc")
    (fix,) = r.fixes
    assert fix.value == "v=DMARC1; p=reject; rua=mailto:d@example.com"
    assert fix.kind == "suggestion"  # not published for the user: a person must confirm DKIM signs the mail
    assert fix.note.startswith("Set up DKIM first") and "forwarded" in fix.note


def test_first_enforcing_step_without_dkim_asks_for_dkim_too(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=MAIL + '_dmarc IN TXT "v=DMARC1; p=none; rua=mailto:d@example.com"\n')
    (fix,) = check(dns_server, "dmarc").fixes
    assert "p=quarantine" in fix.value and fix.kind == "suggestion" and "DKIM" in fix.note


def test_next_step_with_a_dkim_key_is_a_plain_record(dns_server: DnsTestServer) -> None:
    from tests.core.checks.test_fix_selfcheck import DKIM

    serve(dns_server, example_com=MAIL + DKIM + '_dmarc IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@example.com"\n')
    (fix,) = check(dns_server, "dmarc").fixes
    assert fix.value == "v=DMARC1; p=reject; rua=mailto:d@example.com"
    assert fix.kind == "record" and "DKIM" not in fix.note
    # a selector only the user knows counts too
    dns_server.clear()
    serve(dns_server, example_com=MAIL + DKIM.replace("default._domainkey", "zz9._domainkey")
          + '_dmarc IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@example.com"\n')
    (fix,) = check(dns_server, "dmarc", dkim_selectors=["zz9"]).fixes
    assert fix.kind == "record"


def test_a_subdomain_signed_with_the_organisational_domains_key_is_not_held(dns_server: DnsTestServer) -> None:
    from tests.core.checks.test_fix_selfcheck import DKIM

    serve(dns_server, example_com=MAIL + DKIM + '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"\n'
          'shop IN MX 10 mail\n_dmarc.shop IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@example.com"\n')
    (fix,) = check(dns_server, "dmarc", "shop.example.com").fixes
    assert "p=reject" in fix.value and fix.kind == "record"  # relaxed alignment: example.com's key signs it


def test_dkim_lookups_that_fail_do_not_hold_the_step(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=MAIL + '_dmarc IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@example.com"\n')
    dns_server.servfail_names.add("default._domainkey.example.com")
    (fix,) = check(dns_server, "dmarc").fixes
    assert fix.kind == "record"  # couldn't check is not "no DKIM"


# -- minor: SPF texts and the SPF builder --------------------------------------------------------------


def test_spf_advice_names_the_ending_the_fix_uses(dns_server: DnsTestServer) -> None:
    base = SOA + "@ IN MX 10 mail\nmail IN A 192.0.2.10\n"
    for dmarc, end in (("p=reject", "-all"), ("p=none", "~all")):
        for record in ("v=spf1 ip4:192.0.2.10", "v=spf1 ip4:192.0.2.10 +all", "v=spf1 ip4:192.0.2.10 ?all"):
            dns_server.clear()
            serve(dns_server, example_com=base + f'@ IN TXT "{record}"\n_dmarc IN TXT "v=DMARC1; {dmarc}; '
                                                 'rua=mailto:d@example.com"\n')
            r = check(dns_server, "spf")
            f = next(f for f in r.findings if f.code in ("spf.no-all", "spf.plus-all", "spf.neutral-all"))
            assert f.fix is not None and f.fix.value.endswith(" " + end), (record, dmarc, f.fix.value)
            assert f"with {end}" in f.message or f"Use {end}" in f.message, (record, dmarc, f.message)
            other = "~all" if end == "-all" else "-all"
            assert other not in f.message


def test_spf_builder_offers_no_replacement_identical_to_the_live_record(dns_server: DnsTestServer) -> None:
    serve(dns_server, example_com=MAIL + '_dmarc IN TXT "v=DMARC1; p=reject"\n')  # at p=reject '-all' stays
    code, out, _ = cli("build", "spf", "--service", "amazonses", "--domain", "example.com", "-n", dns_server.address,
                       "--json")
    data = json.loads(out)
    assert data["record"] == "v=spf1 ip4:192.0.2.10 -all" and data["fix"] is None
    assert any("already says this" in n for n in data["notes"])
    code, out, _ = cli("build", "spf", "--service", "amazonses", "--domain", "example.com", "-n", dns_server.address)
    assert "Replace with" not in out and "nothing to change" in out
    # a service that changes the record still gets its replacement
    code, out, _ = cli("build", "spf", "--ip", "192.0.2.77", "--domain", "example.com", "-n", dns_server.address,
                       "--json")
    assert json.loads(out)["fix"]["value"] == "v=spf1 ip4:192.0.2.10 ip4:192.0.2.77 -all"


# -- minor: MX and reverse DNS say what they could check -----------------------------------------------


def test_reverse_dns_summary_says_how_many_of_how_many(dns_server: DnsTestServer) -> None:
    from inboxready.core.checks.rdns import MAX_ADDRESSES

    n = MAX_ADDRESSES + 15
    zone = SOA + "".join(f"@ IN MX {i} mx{i}\nmx{i} IN A 192.0.2.{i + 1}\n" for i in range(n))
    rev = "".join(f"{i + 1} IN PTR mx{i}.example.com.\n" for i in range(n))
    serve(dns_server, example_com=zone, **{"2_0_192_in-addr_arpa": rev})
    r = check(dns_server, "rdns")
    assert r.detail["capped"] is True and r.detail["found"] == n
    assert f"of {n}" in r.summary and f"All {MAX_ADDRESSES} mail" not in r.summary
    assert "rdns.capped" in codes(r)
