"""Issue 13, item 13: report addresses that get no reports (javascript:, file:, https:) are not kept in the
suggested record and are refused by ``build dmarc``; a record with an absurd list of addresses (54 KB,
1,900 of them) is warned about, and its outside destinations are not all looked up."""

from __future__ import annotations

import io
import json

import pytest

from inboxready.app.cli import main
from inboxready.core.builders.dmarc import DmarcBuildError, dmarc_ladder, normalize_rua
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import Severity, quote_txt, split_txt

from .test_dmarc import HOST, codes, dmarc, finding, record_fix, republish, serve


def txt(value: str) -> str:
    return " ".join(quote_txt(s) for s in split_txt(value))


def test_fix_drops_javascript_and_file_addresses_the_check_warns_about(dns_server: DnsTestServer) -> None:
    rec = ("v=DMARC1; p=reject; rua=javascript:alert(1),mailto:d@example.com,file:///etc/passwd; "
           "ruf=file:///tmp/x,mailto:f@example.com")
    zone = HOST + f"_dmarc IN TXT {txt(rec)}\n"
    serve(dns_server, example_com=zone)
    r = dmarc(dns_server)
    assert finding(r, "dmarc.non-mailto-uri").severity is Severity.WARNING
    fix = record_fix(r)
    assert "javascript:" not in fix.value and "file:" not in fix.value
    assert "rua=mailto:d@example.com" in fix.value and "ruf=mailto:f@example.com" in fix.value
    assert "not mailto:" in (fix.note or "")
    again = republish(dns_server, "example.com", zone.replace(f"_dmarc IN TXT {txt(rec)}\n", ""), fix)
    assert "dmarc.non-mailto-uri" not in codes(again) and again.status.value in ("pass", "info")
    assert not {f.code for f in again.findings if f.severity is Severity.ERROR}


def test_only_non_mailto_addresses_means_no_reports(dns_server: DnsTestServer) -> None:
    rec = "v=DMARC1; p=none; rua=javascript:alert(1)"
    serve(dns_server, example_com=HOST + f"_dmarc IN TXT {txt(rec)}\n")
    r = dmarc(dns_server)
    assert finding(r, "dmarc.no-rua").severity is Severity.WARNING  # javascript: gets no reports
    fix = record_fix(r)
    assert "javascript:" not in fix.value and "p=none" in fix.value  # no reports yet: not on to quarantine


def test_huge_record_with_1900_addresses_is_warned_about_and_tidied(dns_server: DnsTestServer) -> None:
    addresses = ",".join(f"mailto:rpt{i:04d}@example.com" for i in range(1900))
    rec = f"v=DMARC1; p=reject; rua={addresses}"
    assert len(rec) > 50_000  # 51 KB: answered over TCP
    zone = HOST + f"_dmarc IN TXT {txt(rec)}\n"
    serve(dns_server, example_com=zone)
    r = dmarc(dns_server)
    many = finding(r, "dmarc.many-report-addresses")
    assert many.severity is Severity.WARNING and "1900" in many.message
    assert finding(r, "dmarc.record-too-large").severity is Severity.WARNING
    fix = record_fix(r)
    assert fix.value.count("mailto:") == 2 and len(fix.value) < 300
    assert "keeps the first 2 of its 1900" in (fix.note or "")
    again = republish(dns_server, "example.com", HOST, fix)
    assert not {"dmarc.many-report-addresses", "dmarc.record-too-large"} & codes(again)
    assert not {f.code for f in again.findings if f.severity in (Severity.ERROR, Severity.WARNING)}


def test_three_addresses_is_a_note_not_a_warning(dns_server: DnsTestServer) -> None:
    rec = "v=DMARC1; p=reject; rua=mailto:a@example.com,mailto:b@example.com,mailto:c@example.com"
    serve(dns_server, example_com=HOST + f"_dmarc IN TXT {txt(rec)}\n")
    assert finding(dmarc(dns_server), "dmarc.many-report-addresses").severity is Severity.INFO


def test_outside_destinations_are_verified_for_the_first_ten_only(dns_server: DnsTestServer) -> None:
    rec = "v=DMARC1; p=reject; rua=" + ",".join(f"mailto:r@dest{i}.net" for i in range(40))
    serve(dns_server, example_com=HOST + f"_dmarc IN TXT {txt(rec)}\n")
    r = dmarc(dns_server)
    assert len(r.detail["external_destinations"]) == 10
    assert any("the first 10 only" in f.message for f in r.findings)


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "file:///etc/passwd", "https://reports.example/dmarc",
                                 "ftp://x.example/y"])
def test_build_dmarc_refuses_addresses_that_are_not_mailto(bad: str) -> None:
    with pytest.raises(DmarcBuildError, match="not an e-mail address"):
        normalize_rua([bad])
    out, err = io.StringIO(), io.StringIO()
    code = main(["build", "dmarc", "example.com", "--offline", "--rua", bad], out=out, err=err)
    assert code == 2 and "not an e-mail address" in err.getvalue() and out.getvalue() == ""


def test_build_dmarc_limits_the_list_and_tidies_the_current_record() -> None:
    with pytest.raises(DmarcBuildError, match="too many"):
        normalize_rua([f"r{i}@example.com" for i in range(11)])
    current = "v=DMARC1; p=none; rua=javascript:x,mailto:a@example.com,mailto:b@example.com,mailto:c@example.com"
    steps = dmarc_ladder("example.com", None, current=current)
    assert all("javascript:" not in s.record and "c@example.com" not in s.record for s in steps)
    assert any("not mailto:" in n for n in steps[0].notes)
    out, err = io.StringIO(), io.StringIO()
    code = main(["build", "dmarc", "example.com", "--current", current, "--json"], out=out, err=err)
    assert code == 0 and all("javascript:" not in s["record"] for s in json.loads(out.getvalue())["steps"])
