"""'What if': the overlay client and running the normal checks as if a record were published."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inboxready.core.builders.whatif import (
    OverlayDns,
    WhatIfError,
    absolute_host,
    merged_rrset,
    parse_record_line,
    what_if,
)
from inboxready.core.context import CheckOptions
from inboxready.core.dns.client import DnsClient, Outcome
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import Status

from tests.conftest import run
from tests.helpers.zones import MAIL_BASE

ZONE = "\n" + MAIL_BASE + """@        IN TXT "google-site-verification=abc"
@        IN TXT "v=spf1 ip4:192.0.2.0/24 +all"
alias    IN CNAME mail
"""


@contextmanager
def fresh_server() -> Iterator[DnsTestServer]:
    """A server of its own for one hypothesis example (the fixture's would keep earlier records)."""
    server = DnsTestServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _opts(server, **kw):  # type: ignore[no-untyped-def]
    return CheckOptions(nameservers=[server.address], timeout=1.0, deadline=20.0, **kw)


def test_overlay_answers_overrides_and_delegates(dns_server) -> None:  # type: ignore[no-untyped-def]
    dns_server.add_zone("example.com", ZONE)

    async def go():  # type: ignore[no-untyped-def]
        base = DnsClient([dns_server.address], timeout=1.0)
        ov = OverlayDns(base, {
            ("_dmarc.example.com", "TXT"): ["v=DMARC1; p=none"],
            ("new.example.com", "CNAME"): ["mail.example.com"],
            ("sel._domainkey.example.com", "TXT"): ["v=DKIM1; p=" + "A" * 400],
            ("gone.example.com", "TXT"): [],
        })
        try:
            return (await ov.query("_dmarc.example.com", "TXT"), await ov.query("_dmarc.example.com", "A"),
                    await ov.query("new.example.com", "A"), await ov.query("mail.example.com", "A"),
                    await ov.query("example.com", "TXT"), await ov.query("sel._domainkey.example.com", "TXT"),
                    await ov.query("_domainkey.example.com", "TXT"), await ov.query("nothing.example.com", "A"),
                    ov.queries_json())
        finally:
            base.close()

    dmarc, dmarc_a, cname, mail, apex, dkim, ent, nx, log = run(go())
    assert dmarc.ok and dmarc.txt == ("v=DMARC1; p=none",)
    assert dmarc_a.outcome is Outcome.NODATA  # the name exists once something is published there
    assert cname.ok and cname.records == ("192.0.2.10",) and cname.cname_chain == ("mail.example.com",)
    assert mail.records == ("192.0.2.10",)
    assert len(apex.txt) == 2  # not overridden: the real answer
    assert dkim.ok and [len(s) for s in dkim.txt_strings[0]] == [255, 156]  # split in 255-byte strings
    assert ent.outcome is Outcome.NODATA  # an empty non-terminal above an overlaid name
    assert nx.outcome is Outcome.NXDOMAIN
    names = [q["name"] for q in log]
    assert names.count("example.com") == 1 and "_dmarc.example.com" in names


def test_overlay_rejects_bad_records(dns_server) -> None:  # type: ignore[no-untyped-def]
    async def go() -> None:
        base = DnsClient([dns_server.address], timeout=1.0)
        try:
            with pytest.raises(WhatIfError):
                OverlayDns(base, {("a.example.com", "MX"): ["not an mx"]})
            with pytest.raises(WhatIfError):
                OverlayDns(base, {("a.example.com", "HINFO"): ["x y"]})
        finally:
            base.close()

    run(go())


def test_what_if_spf_replaces_live_record_only(dns_server) -> None:  # type: ignore[no-untyped-def]
    dns_server.add_zone("example.com", ZONE)
    live = run(what_if("example.com", "@", "TXT", "v=spf1 ip4:192.0.2.0/24 +all", _opts(dns_server)))
    assert live.checks["spf"].status is Status.FAIL
    report = run(what_if("example.com", "@", "TXT", "v=spf1 ip4:192.0.2.0/24 -all", _opts(dns_server)))
    spf = report.checks["spf"]
    assert spf.status is Status.PASS, spf.findings
    assert spf.records == ["v=spf1 ip4:192.0.2.0/24 -all"]
    assert set(report.checks) >= {"spf", "dkim", "dmarc", "mx"}
    assert not set(report.checks) & {"starttls", "rdns"}  # nothing connects to the mail servers


def test_what_if_dmarc_record(dns_server) -> None:  # type: ignore[no-untyped-def]
    dns_server.add_zone("example.com", ZONE)
    before = run(what_if("example.com", "nothing", "TXT", "hello", _opts(dns_server)))
    assert before.checks["dmarc"].status is Status.FAIL
    after = run(what_if("example.com", "_dmarc", "TXT", "v=DMARC1; p=reject; rua=mailto:d@example.com",
                        _opts(dns_server)))
    assert after.checks["dmarc"].status is Status.PASS, after.checks["dmarc"].findings
    assert after.checks["dmarc"].detail["policy"] == "reject"


def test_what_if_dkim_selector_is_looked_at(dns_server) -> None:  # type: ignore[no-untyped-def]
    dns_server.add_zone("example.com", ZONE)
    from inboxready.core.builders.dkimkeys import generate_key

    key = generate_key("example.com", "ir2026-11", "rsa")
    report = run(what_if("example.com", key.fix.host, "TXT", key.fix.value, _opts(dns_server)))
    dkim = report.checks["dkim"]
    assert dkim.status is Status.PASS, dkim.findings
    assert "ir2026-11" in str(dkim.detail)


def test_what_if_timeout_is_couldnt_check(dns_server) -> None:  # type: ignore[no-untyped-def]
    dns_server.add_zone("example.com", ZONE)
    dns_server.timeout_names.add("example.com/MX")
    report = run(what_if("example.com", "_dmarc", "TXT", "v=DMARC1; p=reject", CheckOptions(
        nameservers=[dns_server.address], timeout=0.5, deadline=10.0, checks=("mx",))))
    assert report.checks["mx"].status is Status.ERROR


def test_what_if_says_when_the_published_records_could_not_be_read(dns_server) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 #6: when the records already at the name can't be read (SERVFAIL), the what-if result says it
    shows the pasted record alone; and a lookup that fails elsewhere is "couldn't check", never "missing"."""
    dns_server.add_zone("example.com", ZONE)
    dns_server.servfail_names.add("example.com/TXT")
    report = run(what_if("example.com", "@", "TXT", "v=spf1 ip4:192.0.2.0/24 -all", CheckOptions(
        nameservers=[dns_server.address], timeout=0.5, deadline=10.0)))
    note = [f for f in report.checks["spf"].findings if f.code == "whatif.existing-unknown"]
    assert note and "couldn't read the TXT records published at example.com" in note[0].message
    assert report.checks["spf"].status is not Status.FAIL
    dmarc = run(what_if("example.com", "_dmarc", "TXT", "v=DMARC1; p=reject", CheckOptions(
        nameservers=[dns_server.address], timeout=0.5, deadline=10.0)))
    spf = dmarc.checks["spf"]  # the apex TXT SERVFAILs: SPF couldn't be checked, it isn't "missing"
    assert spf.status is Status.ERROR and "spf.missing" not in {f.code for f in spf.findings}


def test_absolute_host_and_merge() -> None:
    assert absolute_host("@", "example.com") == "example.com"
    assert absolute_host("_dmarc", "example.com") == "_dmarc.example.com"
    assert absolute_host("_dmarc.example.com.", "example.com") == "_dmarc.example.com"
    assert absolute_host("s._domainkey.example.com", "example.com") == "s._domainkey.example.com"
    assert absolute_host("other.org.", "example.com") == "other.org"


def test_parse_record_line() -> None:
    assert parse_record_line('_dmarc TXT "v=DMARC1; p=none"') == ("_dmarc", "TXT", "v=DMARC1; p=none")
    assert parse_record_line("@ 300 IN MX 10 mail.example.com") == ("@", "MX", "10 mail.example.com")
    assert parse_record_line("@ TXT v=spf1 -all") == ("@", "TXT", "v=spf1 -all")
    assert parse_record_line('s TXT "v=DKIM1; k=ed25519; " "p=abc"') == ("s", "TXT", "v=DKIM1; k=ed25519; p=abc")
    for bad in ("", "@ TXT", "@ FOO bar", "@ MX nonsense here"):
        with pytest.raises(WhatIfError):
            parse_record_line(bad)


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_parse_record_line_never_raises_anything_else(text: str) -> None:
    try:
        host, rdtype, value = parse_record_line(text)
    except WhatIfError:
        return
    assert host and rdtype and value


@given(st.sampled_from(["TXT", "MX", "CNAME", "A", "AAAA", "NS"]), st.text(max_size=120))
@settings(max_examples=200, deadline=None)
def test_merged_rrset_and_values_never_raise_anything_else(rdtype: str, value: str) -> None:
    from inboxready.core.builders.whatif import _rdata

    assert value in merged_rrset(None, rdtype, value)
    try:
        _rdata(rdtype, value)
    except WhatIfError:
        pass


def test_cli_build_whatif(dns_server) -> None:  # type: ignore[no-untyped-def]
    import io
    import json

    from inboxready.app.cli import main

    dns_server.add_zone("example.com", ZONE)
    out, err = io.StringIO(), io.StringIO()
    code = main(["build", "whatif", "example.com", "--record", "@ TXT v=spf1 ip4:192.0.2.0/24 -all", "-n",
                 dns_server.address, "--timeout", "1", "--json"], out=out, err=err)
    data = json.loads(out.getvalue())
    assert data["checks"]["spf"]["status"] == "pass" and data["what_if"]["type"] == "TXT"
    assert code == 1  # DMARC is still missing in this zone
    out = io.StringIO()
    code = main(["build", "whatif", "example.com", "--record", '_dmarc TXT "v=DMARC1; p=reject"', "-n",
                 dns_server.address, "--timeout", "1"], out=out, err=err)
    assert "As if this were published: _dmarc TXT v=DMARC1; p=reject" in out.getvalue()
    assert code == 1  # SPF is +all in this zone
    code = main(["build", "whatif", "example.com", "--record", "@ BOGUS x"], out=io.StringIO(), err=err)
    assert code == 2
