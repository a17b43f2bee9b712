"""QA: SPF records as small businesses have them, with the providers' real include structure."""

from __future__ import annotations

from inboxready.core.checks import spf
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import CheckResult, Fix, Status
from inboxready.core.records.spf_catalog import parse_catalog

from ...conftest import make_ctx, run

PROVIDERS = {
    "google.com": """$ORIGIN google.com.
_spf TXT "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com include:_netblocks3.google.com ~all"
_netblocks TXT "v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip4:66.102.0.0/20 ip4:66.249.80.0/20 ip4:72.14.192.0/18 ~all"
_netblocks2 TXT "v=spf1 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 ip6:2607:f8b0:4000::/36 ~all"
_netblocks3 TXT "v=spf1 ip4:172.217.0.0/19 ip4:172.217.32.0/20 ip4:108.177.96.0/19 ip4:35.191.0.0/16 ~all"
smtp A 142.250.27.26
""",
    "outlook.com": """$ORIGIN outlook.com.
spf.protection TXT "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 ip4:52.100.0.0/15 ip6:2a01:111:f400::/48 -all"
""",
    "mcsv.net": '$ORIGIN mcsv.net.\nservers TXT "v=spf1 ip4:205.201.128.0/20 ip4:198.2.128.0/18 ?all"\n',
    "sendgrid.net": '$ORIGIN sendgrid.net.\n@ TXT "v=spf1 ip4:167.89.0.0/17 ip4:208.117.48.0/20 ~all"\n',
    "zoho.com": """$ORIGIN zoho.com.
@ TXT "v=spf1 include:transmail.net include:zcsend.net include:_spf.zoho.com ~all"
_spf TXT "v=spf1 ip4:136.143.188.0/24 ~all"
mx A 204.141.33.44
mx2 A 204.141.32.121
""",
    "transmail.net": '$ORIGIN transmail.net.\n@ TXT "v=spf1 ip4:136.143.184.0/24 ~all"\n',
    "zcsend.net": '$ORIGIN zcsend.net.\n@ TXT "v=spf1 ip4:135.84.82.0/24 ~all"\n',
    "other.com": "$ORIGIN other.com.\n@ MX 10 mx.other.com.\nmx A 198.51.100.10\nmx AAAA 2001:db8:5::10\n",
}


def check(server: DnsTestServer, origin: str, zone: str, **options: object) -> CheckResult:
    for tld in ("com", "net"):
        server.add_origin(tld)
    for o, text in PROVIDERS.items():
        server.replace_zone(o, text)
    server.replace_zone(origin, zone)

    async def go() -> CheckResult:
        return await spf.check(make_ctx(server, origin, **options))

    return run(go())


def codes(r: CheckResult) -> list[str]:
    return [f.code for f in r.findings]


def republish(server: DnsTestServer, origin: str, zone: str, fix: Fix) -> CheckResult:
    kept = [ln for ln in zone.splitlines() if not (ln.startswith("@ TXT") and "spf1" in ln.lower())]
    return check(server, origin, "\n".join(kept + [fix.zone_line]) + "\n")


def test_google_workspace_counts_its_nested_netblocks(dns_server: DnsTestServer) -> None:
    r = check(dns_server, "gw-bakery.com", '$ORIGIN gw-bakery.com.\n@ MX 1 smtp.google.com.\n'
                                           '@ TXT "v=spf1 include:_spf.google.com ~all"\n')
    assert r.status is Status.PASS and codes(r) == [] and r.detail["lookups"] == 4
    (google,) = r.detail["tree"]["children"]
    assert google["mechanism"] == "include:_spf.google.com" and google["branch"] == 4
    assert [c["domain"] for c in google["children"]] == ["_netblocks.google.com", "_netblocks2.google.com",
                                                        "_netblocks3.google.com"]


def test_microsoft_365_is_one_lookup(dns_server: DnsTestServer) -> None:
    r = check(dns_server, "contoso-law.com", '$ORIGIN contoso-law.com.\n'
                                             '@ TXT "v=spf1 include:spf.protection.outlook.com -all"\n')
    assert r.status is Status.PASS and r.detail["lookups"] == 1 and codes(r) == ["spf.all-hardfail-early"]


QA_CATALOG = parse_catalog({"services": [
    {"id": "mailchimp", "name": "Mailchimp", "include": None, "own_return_path": True, "return_path_domain": "mcsv.net"},
    {"id": "sendgrid", "name": "SendGrid", "include": None, "own_return_path": True,
     "return_path_domain": "sendgrid.net"},
    {"id": "google", "name": "Google Workspace", "include": "_spf.google.com", "lookups": 4},
]})

BUSY = ('$ORIGIN busy-florist.com.\n@ MX 10 mx.zoho.com.\n@ MX 20 mx2.zoho.com.\n@ A 203.0.113.20\n'
        '@ TXT "v=spf1 a mx include:_spf.google.com include:servers.mcsv.net include:sendgrid.net '
        'include:zoho.com ~all"\n')


def test_google_mailchimp_sendgrid_zoho_is_over_the_limit_with_the_costs_named(dns_server: DnsTestServer) -> None:
    r = check(dns_server, "busy-florist.com", BUSY)
    assert r.status is Status.FAIL and r.detail["lookups"] == 12
    f = next(x for x in r.findings if x.code == "spf.too-many-lookups")
    assert "12 DNS lookups" in f.message
    assert "include:_spf.google.com (4)" in f.message and "include:zoho.com (4)" in f.message
    assert "a/mx/ptr/exists rules in your own record (2)" in f.message
    assert sum(c["branch"] for c in r.detail["tree"]["children"]) + 2 == 12
    # issue 12 item 1: records that fit, every sender kept, each checked first. Knowing nothing of the services:
    # Google copied into a record of the domain's own (its four lookups become one), or the two bulk senders
    # moved to their own return-path subdomains; never the mailbox providers (Google, Zoho)
    r = check(dns_server, "busy-florist.com", BUSY, spf_catalog=())
    flat, move = next(x for x in r.findings if x.code == "spf.too-many-lookups").options
    assert flat.value == ("v=spf1 a mx include:_spf.google.com._spf-flat.busy-florist.com include:servers.mcsv.net "
                          "include:sendgrid.net include:zoho.com ~all")
    (copy,) = flat.also_publish
    assert copy.host == "_spf.google.com._spf-flat.busy-florist.com" and "ip4:64.233.160.0/19" in copy.value
    assert "9 of the 10" in flat.note and "snapshot" in flat.note
    assert move.value == "v=spf1 a mx include:_spf.google.com include:zoho.com ~all"
    assert [(x.host, x.value) for x in move.also_publish] == [
        ("bounce-mcsv.busy-florist.com", "v=spf1 include:servers.mcsv.net ~all"),
        ("bounce-sendgrid.busy-florist.com", "v=spf1 include:sendgrid.net ~all")]
    # With the catalog's word that Mailchimp and SendGrid send with their own return path, their includes simply
    # go first (they never make SPF pass for this domain); nothing is left to move
    r2 = check(dns_server, "busy-florist.com", BUSY, spf_catalog=QA_CATALOG)
    f2 = next(x for x in r2.findings if x.code == "spf.too-many-lookups")
    drop, flat2 = f2.options
    assert drop.value == "v=spf1 a mx include:_spf.google.com include:zoho.com ~all" and not drop.also_publish
    assert "Mailchimp sends with its own return path (mcsv.net)" in drop.note and "SendGrid" in drop.note
    assert flat2 == flat
    for option in (flat, move, drop):
        kept = [ln for ln in BUSY.splitlines() if not (ln.startswith("@ TXT") and "spf1" in ln.lower())]
        extra = [x.zone_line for x in option.also_publish]
        after = check(dns_server, "busy-florist.com", "\n".join(kept + [option.zone_line, *extra]) + "\n")
        assert after.status is Status.PASS and after.detail["lookups"] <= 10, after.findings


def test_redirect_setup_counts_the_redirect_and_what_it_uses(dns_server: DnsTestServer) -> None:
    zone = ('$ORIGIN acme-parts.com.\n@ TXT "v=spf1 redirect=_spf.acme-parts.com"\n'
            '_spf TXT "v=spf1 ip4:203.0.113.30 include:_spf.google.com ~all"\n')
    r = check(dns_server, "acme-parts.com", zone)
    assert r.status is Status.PASS and codes(r) == [] and r.detail["lookups"] == 5
    (red,) = r.detail["tree"]["children"]
    assert red["mechanism"] == "redirect=_spf.acme-parts.com" and red["branch"] == 5


def test_upper_case_version_and_terms_are_valid(dns_server: DnsTestServer) -> None:
    r = check(dns_server, "oddcase.com", '$ORIGIN oddcase.com.\n'
                                         '@ TXT "V=SPF1 IP4:203.0.113.40   Include:_SPF.Google.COM  ~ALL"\n')
    assert r.status is Status.PASS and codes(r) == [] and r.detail["lookups"] == 4


def test_record_split_inside_a_word_is_joined_as_receivers_do(dns_server: DnsTestServer) -> None:
    r = check(dns_server, "oddcase2.com", '$ORIGIN oddcase2.com.\n'
                                          '@ TXT "v=spf1 ip4:203.0.113.41 include:_spf.goo" "gle.com ~all"\n')
    assert r.status is Status.PASS and codes(r) == [] and r.detail["lookups"] == 4
    assert r.detail["txt_strings"] == ["v=spf1 ip4:203.0.113.41 include:_spf.goo", "gle.com ~all"]


def test_trailing_dots_in_domain_specs_work(dns_server: DnsTestServer) -> None:
    zone = ('$ORIGIN trailing.com.\n@ TXT "v=spf1 include:_spf.google.com. a:mail.trailing.com. ~all"\n'
            'mail A 203.0.113.50\n')
    r = check(dns_server, "trailing.com", zone)
    assert r.status is Status.PASS and codes(r) == [] and r.detail["lookups"] == 5


def test_macro_include_and_exists_are_counted_and_explained(dns_server: DnsTestServer) -> None:
    zone = ('$ORIGIN macro.com.\n@ TXT "v=spf1 include:%{ir}.%{v}._spf.%{d} exists:%{i}._spf.%{d} -all"\n'
            '*._spf TXT "v=spf1 -all"\n')
    r = check(dns_server, "macro.com", zone)
    assert r.status is Status.PASS and r.detail["lookups"] == 2
    assert codes(r) == ["spf.all-hardfail-early", "spf.macro-include"]  # (no DMARC: ~all advised)
    assert "permanent error" in r.findings[1].message


IP6 = ('$ORIGIN ip6forms.com.\n@ MX 10 mail.ip6forms.com.\nmail A 203.0.113.70\nmail AAAA 2001:db8::25\n'
       '@ A 203.0.113.70\n'
       '@ TXT "v=spf1 ip6:2001:db8::/32 ip6:2001:db8:1::1 ip6:::ffff:192.0.2.1 ip6:2001:DB8:0:0::/64 a/24 '
       'mx:other.com/24//64 ~all"\n')


def test_ip6_forms_cidr_a_and_dual_cidr_mx(dns_server: DnsTestServer) -> None:
    r = check(dns_server, "ip6forms.com", IP6)
    assert r.detail["lookups"] == 2 and r.status is Status.FAIL  # mail from 192.0.2.1 fails SPF
    assert codes(r) == ["spf.ip6-mapped"]  # the only thing wrong: an IPv4 address in IPv6 form
    fix = r.findings[0].fix
    assert fix is not None and fix.value == ("v=spf1 ip6:2001:db8::/32 ip6:2001:db8:1::1 ip4:192.0.2.1 "
                                             "ip6:2001:DB8:0:0::/64 a/24 mx:other.com/24//64 ~all")
    again = republish(dns_server, "ip6forms.com", IP6, fix)
    assert again.status is Status.PASS and codes(again) == []


def test_mapped_prefix_becomes_the_ip4_prefix() -> None:
    from inboxready.core.records.spf_parse import parse_term
    assert spf._mapped_ip4_term(parse_term("-ip6:::ffff:192.0.2.0/120")) == "-ip4:192.0.2.0/24"  # type: ignore[arg-type]
    assert spf._mapped_ip4_term(parse_term("ip6:2001:db8::/32")) is None  # type: ignore[arg-type]


def test_two_records_merge_keeping_every_sender(dns_server: DnsTestServer) -> None:
    zone = ('$ORIGIN two-spf.com.\n@ TXT "v=spf1 include:_spf.google.com ~all"\n'
            '@ TXT "v=spf1 include:servers.mcsv.net -all"\n')
    r = check(dns_server, "two-spf.com", zone)
    assert r.status is Status.FAIL and codes(r)[0] == "spf.multiple-records"
    fix = r.findings[0].fix
    assert fix is not None and fix.value.startswith("v=spf1 include:") and fix.value.endswith(" ~all")
    assert sorted(fix.value.split()[1:3]) == ["include:_spf.google.com", "include:servers.mcsv.net"]
    again = republish(dns_server, "two-spf.com", zone, fix)
    assert again.status is Status.PASS and codes(again) == []


def test_a_rule_without_addresses_is_removed_with_an_accurate_note(dns_server: DnsTestServer) -> None:
    zone = '$ORIGIN sub.hoster.com.\n@ MX 10 mx.other.com.\n@ TXT "v=spf1 mx a ~all"\n'
    r = check(dns_server, "sub.hoster.com", zone)
    assert codes(r) == ["spf.void-lookup"] and r.status is Status.WARN
    fix = r.findings[0].fix
    assert fix is not None and fix.value == "v=spf1 mx ~all"
    assert "do not exist" not in fix.note and "no address" in fix.note
    again = republish(dns_server, "sub.hoster.com", zone, fix)
    assert again.status is Status.PASS


def test_plus_all_alone_is_replaced_by_the_mail_providers_include_not_by_nothing(dns_server: DnsTestServer) -> None:
    zone = '$ORIGIN plusall.com.\n@ MX 1 smtp.google.com.\n@ TXT "v=spf1 +all"\n'
    r = check(dns_server, "plusall.com", zone)
    assert r.status is Status.FAIL and codes(r) == ["spf.plus-all"]
    fix = r.findings[0].fix
    # 'v=spf1 ~all' would make every message of this Google Workspace domain soft-fail.
    assert fix is not None and fix.value == "v=spf1 include:_spf.google.com ~all"
    assert "Google Workspace" in fix.note
    again = republish(dns_server, "plusall.com", zone, fix)
    assert again.status is Status.PASS and codes(again) == []


def test_neutral_all_alone_without_mx_says_it_allows_nobody_yet(dns_server: DnsTestServer) -> None:
    zone = '$ORIGIN neutral.com.\n@ A 192.0.2.5\n@ TXT "v=spf1 ?all"\n'
    r = check(dns_server, "neutral.com", zone)
    fix = r.findings[0].fix
    assert fix is not None and fix.value == "v=spf1 ~all" and "allows none yet" in fix.note


def test_pieces_glued_into_a_valid_looking_include_are_split_again(dns_server: DnsTestServer) -> None:
    # "include:_spf.google.com" "include:sendgrid.net ~all": joined without a space the first include
    # reads 'include:_spf.google.cominclude:sendgrid.net' (valid syntax, a name that doesn't exist).
    # Dropping that include would leave 'v=spf1 ~all'; the missing space is the real fix.
    zone = ('$ORIGIN ws3.com.\n@ MX 1 smtp.google.com.\n'
            '@ TXT "v=spf1 include:_spf.google.com" "include:sendgrid.net ~all"\n')
    r = check(dns_server, "ws3.com", zone)
    assert r.status is Status.FAIL and codes(r) == ["spf.string-join"]
    fix = r.findings[0].fix
    assert fix is not None and fix.value == "v=spf1 include:_spf.google.com include:sendgrid.net ~all"
    again = republish(dns_server, "ws3.com", zone, fix)
    assert again.status is Status.PASS and codes(again) == []


def test_boundary_inside_a_name_is_not_mistaken_for_a_missing_space(dns_server: DnsTestServer) -> None:
    zone = '$ORIGIN split.com.\n@ TXT "v=spf1 a:mx" ".other.com include:_spf.google.com -all"\n'
    r = check(dns_server, "split.com", zone)
    assert "spf.string-join" not in codes(r) and r.detail["record"].startswith("v=spf1 a:mx.other.com ")


def test_a_removed_dead_include_never_leaves_a_record_that_allows_nobody(dns_server: DnsTestServer) -> None:
    zone = '$ORIGIN oldonly.com.\n@ MX 1 smtp.google.com.\n@ TXT "v=spf1 include:spf.gone-provider.com -all"\n'
    r = check(dns_server, "oldonly.com", zone)
    fix = r.findings[0].fix
    assert fix is not None and fix.value == "v=spf1 include:_spf.google.com ~all"  # no DMARC yet: ~all
    assert "no working servers" in fix.note
    again = republish(dns_server, "oldonly.com", zone, fix)
    assert again.status is Status.PASS


def test_tab_between_rules_is_replaced_by_a_space(dns_server: DnsTestServer) -> None:
    zone = '$ORIGIN ws4.com.\n@ TXT "v=spf1 include:_spf.google.com\\009~all"\n'
    r = check(dns_server, "ws4.com", zone)
    assert r.status is Status.FAIL and codes(r) == ["spf.whitespace"]
    fix = r.findings[0].fix
    assert fix is not None and fix.value == "v=spf1 include:_spf.google.com ~all"
    again = republish(dns_server, "ws4.com", zone, fix)
    assert again.status is Status.PASS


def test_tab_after_the_version_is_named_and_repaired(dns_server: DnsTestServer) -> None:
    zone = '$ORIGIN ws.com.\n@ TXT "v=spf1\\009include:_spf.google.com ~all"\n'
    r = check(dns_server, "ws.com", zone)
    assert codes(r) == ["spf.bad-version"] and "tab or line break" in r.findings[0].message
    fix = r.findings[0].fix
    assert fix is not None and fix.value == "v=spf1 include:_spf.google.com ~all"


def test_missing_spf_starter_knows_the_new_microsoft_365_mx_names(dns_server: DnsTestServer) -> None:
    # Microsoft 365 domains with DNSSEC/DANE get MX hosts under mx.microsoft instead of protection.outlook.com.
    zone = "$ORIGIN contoso.com.\n@ MX 0 contoso-com.r-v1.mx.microsoft.\n"
    r = check(dns_server, "contoso.com", zone)
    fix = r.findings[0].fix
    assert codes(r) == ["spf.missing"] and fix is not None
    assert fix.value == "v=spf1 include:spf.protection.outlook.com ~all"


def test_include_of_a_name_in_a_cname_loop_names_the_loop(dns_server: DnsTestServer) -> None:
    """An include whose name is a CNAME loop: "couldn't check" that names the loop and says waiting won't help
    (it said "Until it can be looked up...", as if the DNS server were only slow)."""
    from inboxready.core.checks import spf
    from inboxready.core.model import Severity, Status

    from ...conftest import make_ctx, run

    dns_server.replace_zone("spfloop.com", '$ORIGIN spfloop.com.\n@ TXT "v=spf1 include:_spf.spfloop.com -all"\n'
                                           "_spf CNAME _spf2\n_spf2 CNAME _spf\n")

    async def go():  # type: ignore[no-untyped-def]
        return await spf.check(make_ctx(dns_server, "spfloop.com"))

    r = run(go())
    assert r.status is Status.ERROR
    f = next(f for f in r.findings if f.code == "spf.include-lookup-failed")
    assert f.severity is Severity.UNKNOWN
    assert "loop" in f.message and "Until it can be looked up" not in f.message
