"""The SPF builder: records for any catalog selection pass the engine's own SPF check (with the catalog's
includes stubbed as zones on the loopback server), merging, live counting and flattening."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inboxready.core.checks import spf as spf_check
from inboxready.core.builders.spf import (
    FLATTEN_WARNING,
    LOOKUP_LIMIT,
    SpfBuildError,
    build_spf,
    build_spf_live,
    count_lookups,
    find_service,
    flatten,
)
from inboxready.core.dns.client import DnsClient
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import Status

from tests.conftest import make_ctx, run
from tests.core.builders.test_builders_whatif import fresh_server
from tests.helpers.spf_catalog import GOOGLE, SERVICES, WITH_INCLUDE, stub_ip, stub_catalog
from tests.helpers.zones import MAIL_BASE

DOMAIN = "\n" + MAIL_BASE


def _check_published(server: DnsTestServer, record: str):  # type: ignore[no-untyped-def]
    server.add_zone("example.com", DOMAIN)
    server.add_records("example.com", "TXT", [" ".join(f'"{p}"' for p in _split(record))])

    async def go():  # type: ignore[no-untyped-def]
        return await spf_check.check(make_ctx(server, "example.com"))

    return run(go())


def _split(record: str) -> list[str]:
    from inboxready.core.model import split_txt

    return split_txt(record)


@given(picks=st.lists(st.sampled_from([s.id for s in SERVICES]), max_size=8, unique=True),
       ips=st.lists(st.ip_addresses(v=4).map(str), max_size=3),
       q=st.just("~"))  # ~all: right at every DMARC stage but reject (the SPF check may advise on -all)
@settings(max_examples=25, deadline=None)
def test_any_catalog_selection_passes_the_spf_check_or_says_why(picks: list[str], ips: list[str], q: str) -> None:
    b = build_spf(picks, ips, all_qualifier=q)
    assert b.lookups_known
    with fresh_server() as server:
        stub_catalog(server)
        result = _check_published(server, b.record)
    assert result.detail["lookups"] == b.lookups, (b.record, result.detail["lookups"])
    codes = {f.code for f in result.findings}
    if b.lookups <= LOOKUP_LIMIT:
        assert b.ok, b.problems
        assert result.status in (Status.PASS, Status.INFO), result.findings
        assert not [f for f in result.findings if f.severity.value in ("error", "unknown", "warning")]
    else:
        assert not b.ok and "receivers stop at 10" in b.problems[0] and b.fix is None
        assert "spf.too-many-lookups" in codes and result.status is Status.FAIL


def test_merge_keeps_existing_terms_and_all(dns_server) -> None:  # type: ignore[no-untyped-def]
    existing = "v=spf1 mx ip4:192.0.2.10 include:_spf.google.com ptr -all exp=explain.example.com"
    b = build_spf(["Google Workspace", "sendgrid"], ["192.0.2.10", "2001:db8::/32"], existing, domain="example.com")
    # SendGrid bounces on its own em… subdomain: nothing of it goes in the root record
    assert b.record == "v=spf1 mx ip4:192.0.2.10 include:_spf.google.com ip6:2001:db8::/32 -all exp=explain.example.com"
    assert any("ptr" in n for n in b.notes)
    assert b.lookups == 1 + GOOGLE
    assert b.fix is not None and b.fix.action == "replace" and b.fix.host == "example.com"
    assert b.dkim_selectors == ["google", "s1", "s2"]
    asked = build_spf(["google"], [], "v=spf1 mx -all", all_qualifier="~")
    assert asked.record == "v=spf1 mx include:_spf.google.com ~all"
    redirected = build_spf(["zendesk"], [], "v=spf1 redirect=_spf.example.net")
    assert redirected.record == "v=spf1 include:_spf.example.net include:mail.zendesk.com ~all"
    assert not redirected.lookups_known and any("At least" in n for n in redirected.notes)


def test_return_path_services_need_no_include() -> None:
    b = build_spf(["mailchimp", "klaviyo"], ["192.0.2.1"])
    assert b.record == "v=spf1 ip4:192.0.2.1 ~all"
    assert b.lookups == 0 and sum("no include on your domain" in n for n in b.notes) == 2
    assert [x.service.id for x in b.setups] == ["mailchimp", "klaviyo"] and "DKIM" in b.setups[0].text
    assert find_service("Amazon SES").include == "amazonses.com"
    assert "MAIL FROM" in find_service("ses").note


def test_bad_input_is_a_plain_error() -> None:
    with pytest.raises(SpfBuildError, match="not in our list"):
        build_spf(["no such service"])
    with pytest.raises(SpfBuildError, match="not an IP"):
        build_spf([], ["192.0.2.300"])
    with pytest.raises(SpfBuildError):
        build_spf([], [], "hello")
    with pytest.raises(SpfBuildError):
        build_spf([], [], extra_includes=["bad domain!"])


def test_too_many_lookups_names_what_to_drop(dns_server) -> None:  # type: ignore[no-untyped-def]
    picks = ["google", "microsoft365", "mailgun", "freshdesk", "zendesk", "brevo"]
    b = build_spf(picks)
    assert b.lookups == sum(find_service(p).lookups for p in picks) > 10
    assert not b.ok
    # offline, a cost is the catalog's, dated (issue 18)
    assert "include:mailgun.org (5, estimate from " in b.problems[0] and f"would bring it to {b.lookups - 5}" in b.problems[0]
    stub_catalog(dns_server)
    result = _check_published(dns_server, b.record)
    assert "spf.too-many-lookups" in {f.code for f in result.findings}


def test_long_record_is_split() -> None:
    ips = [f"192.0.2.{i}" for i in range(1, 30)]
    b = build_spf(["google"], ips, domain="example.com")
    assert len(b.record) > 255 and len(b.strings) == 2
    assert any("255" in n for n in b.notes)
    assert b.fix is not None and b.fix.zone_line.count('"') == 4


def test_live_count_and_merge_with_the_live_record(dns_server) -> None:  # type: ignore[no-untyped-def]
    stub_catalog(dns_server)
    dns_server.add_zone("example.com", DOMAIN + '@ IN TXT "v=spf1 mx include:other.example.com -all"\n'
                        + '_dmarc IN TXT "v=DMARC1; p=reject"\n'  # at p=reject, '-all' is kept as it is
                        + 'other IN TXT "v=spf1 include:deeper.example.com -all"\n'
                        + 'deeper IN TXT "v=spf1 ip4:192.0.2.99 -all"\n')

    async def go():  # type: ignore[no-untyped-def]
        c = DnsClient([dns_server.address], timeout=1.0)
        try:
            return (await build_spf_live(["google"], ["192.0.2.7"], dns=c, domain="example.com"),
                    await build_spf_live(["google"], [], dns=c))
        finally:
            c.close()

    b, anon = run(go())
    assert b.record == "v=spf1 mx include:other.example.com include:_spf.google.com ip4:192.0.2.7 -all"
    assert b.lookups_live and b.lookups == 1 + 2 + GOOGLE and b.ok, b.problems
    assert b.check is not None and b.check.status in (Status.PASS, Status.INFO, Status.WARN)
    assert not [f for f in b.check.findings if f.severity.value in ("error", "unknown")], b.check.findings
    assert anon.lookups_live and anon.lookups == GOOGLE and anon.record == "v=spf1 include:_spf.google.com ~all"


def test_live_count_include_that_does_not_exist(dns_server) -> None:  # type: ignore[no-untyped-def]
    dns_server.add_zone("example.com", DOMAIN)

    async def go():  # type: ignore[no-untyped-def]
        c = DnsClient([dns_server.address], timeout=1.0)
        try:
            return await build_spf_live([], [], "v=spf1 include:missing.example.com -all", dns=c, domain="example.com")
        finally:
            c.close()

    b = run(go())
    assert b.problems and not b.ok


def test_live_count_timeout_is_reported(dns_server) -> None:  # type: ignore[no-untyped-def]
    dns_server.add_zone("example.com", DOMAIN)
    dns_server.timeout_names.add("example.com/TXT")

    async def go():  # type: ignore[no-untyped-def]
        c = DnsClient([dns_server.address], timeout=0.5)
        try:
            return await build_spf_live(["google"], [], dns=c, domain="example.com")
        finally:
            c.close()

    b = run(go())
    assert not b.lookups_live and any("couldn't read" in p for p in b.problems)


def test_flatten(dns_server) -> None:  # type: ignore[no-untyped-def]
    stub_catalog(dns_server)
    dns_server.add_zone("example.com", DOMAIN)

    async def go():  # type: ignore[no-untyped-def]
        c = DnsClient([dns_server.address], timeout=1.0)
        try:
            flat = await flatten("v=spf1 include:_spf.google.com mx exists:%{i}.x.example.com -all", c,
                                 domain="example.com")
            bad = await flatten("v=spf1 include:missing.example.com -all", c)
            result = None
            if flat.record:
                result = await count_lookups(flat.record, c, "example.com")
            return flat, bad, result
        finally:
            c.close()

    flat, bad, result = run(go())
    google = WITH_INCLUDE.index(find_service("google"))
    assert flat.ok and flat.record is not None
    expected = [str(n) for n in ipaddress.collapse_addresses(
        [ipaddress.IPv4Network(stub_ip(google, k)) for k in range(GOOGLE)] + [ipaddress.IPv4Network("192.0.2.10")])]
    assert flat.networks == expected and len(expected) == 2  # the stub addresses in a row collapse to one network
    # each term is replaced where it stood (a '-' rule keeps its place before or after the addresses)
    assert flat.record.startswith(f"v=spf1 ip4:{expected[1].removesuffix('/32')} ip4:192.0.2.10 ")
    assert set(flat.sources) == {"include:_spf.google.com", "mx"}
    assert flat.record.endswith("exists:%{i}.x.example.com -all") and flat.lookups == 1
    assert flat.warning == FLATTEN_WARNING and "change" in flat.warning
    assert result is not None and result.detail["lookups"] == 1
    assert not [f for f in result.findings if f.severity.value in ("error", "unknown")], result.findings
    assert bad.record is None and bad.problems


@given(st.text(max_size=120))
@settings(max_examples=200, deadline=None)
def test_builder_never_raises_anything_else_on_existing_text(text: str) -> None:
    try:
        b = build_spf(["google"], [], text)
    except SpfBuildError:
        return
    assert b.record.startswith("v=spf1 ")


@given(st.lists(st.text(max_size=30), max_size=3), st.lists(st.text(max_size=30), max_size=3))
@settings(max_examples=200, deadline=None)
def test_builder_never_raises_anything_else_on_names(services: list[str], ips: list[str]) -> None:
    try:
        build_spf(services, ips, extra_includes=services)
    except SpfBuildError:
        pass


def _cli(*argv: str) -> tuple[int, str, str]:
    import io

    from inboxready.app.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_build_spf(dns_server) -> None:  # type: ignore[no-untyped-def]
    import json

    code, out, _ = _cli("build", "spf", "--service", "google", "--ip", "192.0.2.1", "--all", "-")
    assert code == 0 and "v=spf1 include:_spf.google.com ip4:192.0.2.1 -all" in out and f"{GOOGLE} of 10" in out
    code, out, err = _cli("build", "spf", "--service", "nope")
    assert code == 2 and "not in our list" in err
    code, out, _ = _cli("build", "spf", "--list-services", "--json")
    assert code == 0 and {s["id"] for s in json.loads(out)} >= {"google", "microsoft365", "amazonses"}
    stub_catalog(dns_server)
    dns_server.add_zone("example.com", DOMAIN + '@ IN TXT "v=spf1 mx -all"\n')
    code, out, _ = _cli("build", "spf", "--domain", "example.com", "--service", "google", "--flatten", "--json",
                        "-n", dns_server.address, "--timeout", "1")
    data = json.loads(out)
    assert code == 0, data
    # no DMARC there yet: '~all', as the check advises (the live record's '-all' is not kept)
    assert data["record"] == "v=spf1 mx include:_spf.google.com ~all" and data["lookups"] == 1 + GOOGLE and data["lookups_live"]
    assert data["fix"]["host"] == "example.com" and data["fix"]["action"] == "replace"
    assert data["flattened"]["record"].startswith("v=spf1 ip4:") and "change" in data["flattened"]["warning"]
    many = ["--service=" + s for s in ("google", "microsoft365", "mailgun", "freshdesk", "zendesk", "brevo")]
    code, out, _ = _cli("build", "spf", *many)
    assert code == 1 and "receivers stop at 10" in out


@pytest.mark.parametrize("how", ["referral", "servfail", "timeout", "nobody"])
def test_builder_with_a_dns_server_that_cannot_answer_never_says_an_include_is_missing(dns_server, how) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 #6: with a DNS server that can't resolve the provider's include, the builder says it couldn't
    look it up; never "has no SPF record… SPF fails for all your mail"."""
    from tests.core.dns.test_dns import ReferralServer

    referral = ReferralServer() if how == "referral" else None
    if how == "servfail":
        dns_server.servfail_names.add("_spf.google.com")
    elif how == "timeout":
        dns_server.timeout_names.add("_spf.google.com")
    if how == "nobody":
        dead = DnsTestServer()
        dead.start()
        address = dead.address
        dead.stop()
    else:
        address = referral.address if referral is not None else dns_server.address

    async def go():  # type: ignore[no-untyped-def]
        c = DnsClient([address], timeout=0.5)
        try:
            return await build_spf_live(["google"], [], dns=c)
        finally:
            c.close()

    try:
        b = run(go())
    finally:
        if referral is not None:
            referral.close()
    text = " ".join(b.problems)
    assert not b.lookups_live and "couldn't" in text
    assert "has no SPF record" not in text and "fails for all your mail" not in text
    assert b.check is not None and not [f for f in b.check.findings if f.severity.value == "error"]
