"""MTA-STS against the loopback DNS server and a loopback HTTPS server with a test CA: one zone per finding.

Every suggested TXT record and policy file is published / hosted and the domain is checked again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxready.core.checks import mta_sts as mtasts
from inboxready.core.records import mta_sts as sts_records
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import CheckResult, Fix, Severity, Status

from ...conftest import make_ctx, run
from ...detailshape import assert_shape
from ...httpsserver import HttpsTestServer, closed_port

D = "example.com"
URL_PATH = "/.well-known/mta-sts.txt"
POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.backup.example.com\r\nmax_age: 604800\r\n"
ZONE = """$TTL 300
@        IN MX  10 mx1.example.com.
@        IN MX  20 mx.backup.example.com.
_mta-sts IN TXT "v=STSv1; id=20240101000000;"
mta-sts  IN A   127.0.0.1
"""


@pytest.fixture
def web(tmp_path: Path) -> Iterator[HttpsTestServer]:
    with HttpsTestServer(tmp_path, ["mta-sts.example.com"]) as server:
        yield server


def check(dns: DnsTestServer, zone: str, web: HttpsTestServer | None = None, *, port: int | None = None,
          **opts: object) -> CheckResult:
    dns.replace_zone(D, zone)
    if web is not None:
        opts.setdefault("ca_file", web.ca_file)
    opts.setdefault("connect_timeout", 2.0)

    async def go() -> CheckResult:
        return await mtasts.check(make_ctx(dns, D, https_port=port or (web.port if web else 443), **opts))

    result = run(go())
    assert assert_shape(result)  # the detail its card reads directly, in every case
    return result


def codes(r: CheckResult) -> list[str]:
    return [f.code for f in r.findings]


def finding(r: CheckResult, code: str):  # type: ignore[no-untyped-def]
    m = [f for f in r.findings if f.code == code]
    assert len(m) == 1, (code, codes(r))
    return m[0]


def with_record(zone: str, fix: Fix) -> str:
    lines = [ln for ln in zone.splitlines() if not ln.startswith("_mta-sts")]
    lines.append(f"_mta-sts IN TXT {fix.zone_value}")
    assert fix.host == "_mta-sts.example.com" and fix.type == "TXT"
    return "\n".join(lines) + "\n"


def recheck_policy_fix(dns: DnsTestServer, zone: str, web: HttpsTestServer, r: CheckResult) -> CheckResult:
    """Host the corrected file, then publish the record it comes with: a new id, or senders that remember the
    old policy never fetch the new file (RFC 8461 §3.1)."""
    pf = r.detail["policy_fix"]
    assert pf["url"] == "https://mta-sts.example.com/.well-known/mta-sts.txt" and pf["content_type"] == "text/plain"
    assert pf["record_host"] == "_mta-sts.example.com"
    new_id = sts_records.parse_sts_record(pf["record"]).id
    assert new_id != r.detail["id"]  # a changed file needs a changed id
    web.route(URL_PATH, pf["text"])
    zone = "".join(ln + "\n" for ln in zone.splitlines() if not ln.startswith("_mta-sts"))
    again = check(dns, zone + f'_mta-sts IN TXT "{pf["record"]}"\n', web)
    assert again.detail["id"] == new_id
    return again


# -- the good case and the shape --------------------------------------------------------------------


def test_enforced_policy_covering_every_mx_passes(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route(URL_PATH, POLICY)
    r = check(dns_server, ZONE, web)
    assert r.status is Status.PASS and r.findings == []
    assert r.detail == {
        "record": "v=STSv1; id=20240101000000;", "id": "20240101000000",
        "policy_url": "https://mta-sts.example.com/.well-known/mta-sts.txt",
        "policy": {"version": "STSv1", "mode": "enforce", "max_age": 604800,
                   "mx": ["mx1.example.com", "*.backup.example.com"], "valid": True},
        "policy_text": POLICY,
        "mx_hosts": [{"host": "mx1.example.com", "matched": True, "pattern": "mx1.example.com"},
                     {"host": "mx.backup.example.com", "matched": True, "pattern": "*.backup.example.com"}],
        "policy_fix": None,
    }
    assert r.records == ["v=STSv1; id=20240101000000;"]
    assert r.summary == "MTA-STS is on and requires encrypted delivery to your 2 mail servers."
    assert web.requests == [("mta-sts.example.com", URL_PATH)]
    assert r.name == "mta_sts" and json.loads(json.dumps(r.to_json()))["detail"] == r.detail


def test_chunked_policy_with_lf_lines_and_charset_passes(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route(URL_PATH, POLICY.replace("\r\n", "\n") * 1, content_type="text/plain; charset=utf-8", chunked=True)
    r = check(dns_server, ZONE, web)
    assert r.status is Status.PASS, r.findings
    assert r.detail["policy"]["mode"] == "enforce"


# -- the TXT record --------------------------------------------------------------------------------


def test_not_published_is_info_with_a_suggested_setup(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    zone = ZONE.replace('_mta-sts IN TXT "v=STSv1; id=20240101000000;"\n', "")
    r = check(dns_server, zone, web)
    assert r.status is Status.INFO and codes(r) == ["mta_sts.not-published"]
    assert r.findings[0].severity is Severity.INFO
    assert r.summary == "MTA-STS is not set up (optional)."
    text = r.detail["policy_fix"]["text"]
    assert text == ("version: STSv1\r\nmode: testing\r\nmx: mx1.example.com\r\nmx: mx.backup.example.com\r\n"
                    "max_age: 604800\r\n")
    assert web.requests == []  # nothing fetched when there is no record
    # Following the advice: host the file, publish the record given with it → MTA-STS in testing mode.
    assert r.detail["policy_fix"]["record_host"] == "_mta-sts.example.com"
    web.route(URL_PATH, text)
    again = check(dns_server, zone + f'_mta-sts IN TXT "{r.detail["policy_fix"]["record"]}"\n', web)
    assert again.status is Status.PASS and codes(again) == ["mta_sts.mode-testing"]


def test_dns_timeout_is_couldnt_check(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    dns_server.timeout_names.add("_mta-sts.example.com/TXT")
    r = check(dns_server, ZONE, web, timeout=0.5)
    assert r.status is Status.ERROR and codes(r) == ["mta_sts.lookup-failed"]
    assert r.findings[0].severity is Severity.UNKNOWN


def test_invalid_record_fails_and_fix_passes(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route(URL_PATH, POLICY)
    zone = ZONE.replace("id=20240101000000;", "id=2024-01-01;")
    r = check(dns_server, zone, web)
    assert r.status is Status.FAIL and codes(r) == ["mta_sts.record-invalid"]
    fix = r.findings[0].fix
    assert fix is not None and fix.action == "replace" and fix.value.startswith("v=STSv1; id=")
    assert r.detail["record"] == "v=STSv1; id=2024-01-01;" and r.detail["id"] is None
    assert check(dns_server, with_record(zone, fix), web).status is Status.PASS


def test_wrong_case_version_is_invalid(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route(URL_PATH, POLICY)
    zone = ZONE.replace("v=STSv1; id=", "v=stsv1; id=")
    r = check(dns_server, zone, web)
    assert codes(r) == ["mta_sts.record-invalid"] and "v=STSv1" in r.findings[0].message


def test_two_records_fail_and_fix_passes(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route(URL_PATH, POLICY)
    zone = ZONE + '_mta-sts IN TXT "v=STSv1; id=2;"\n'
    r = check(dns_server, zone, web)
    assert r.status is Status.FAIL and codes(r) == ["mta_sts.multiple-records"]
    fix = r.findings[0].fix
    assert fix is not None
    assert check(dns_server, with_record(zone, fix), web).status is Status.PASS


# -- fetching the policy ---------------------------------------------------------------------------


def test_policy_missing_404_fails(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    r = check(dns_server, ZONE, web)
    assert r.status is Status.FAIL and codes(r) == ["mta_sts.policy-not-found"]
    assert "404" in r.findings[0].message
    again = recheck_policy_fix(dns_server, ZONE, web, r)
    assert again.status is Status.PASS, again.findings


def test_policy_host_without_address_fails(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    zone = ZONE.replace("mta-sts  IN A   127.0.0.1\n", "")
    r = check(dns_server, zone, web)
    assert r.status is Status.FAIL and codes(r) == ["mta_sts.policy-host-missing"]


def test_certificate_for_another_name_fails(dns_server: DnsTestServer, tmp_path: Path) -> None:
    with HttpsTestServer(tmp_path, ["www.example.org"]) as other:
        other.route(URL_PATH, POLICY)
        r = check(dns_server, ZONE, other)
    assert r.status is Status.FAIL and codes(r) == ["mta_sts.policy-certificate"]
    msg = r.findings[0].message
    assert "www.example.org" in msg and "mta-sts.example.com" in msg


def test_expired_certificate_fails(dns_server: DnsTestServer, tmp_path: Path) -> None:
    with HttpsTestServer(tmp_path, ["mta-sts.example.com"], cert="expired") as old:
        old.route(URL_PATH, POLICY)
        r = check(dns_server, ZONE, old)
    assert r.status is Status.FAIL and codes(r) == ["mta_sts.policy-certificate"]
    assert "expired" in r.findings[0].message


def test_self_signed_certificate_fails(dns_server: DnsTestServer, tmp_path: Path) -> None:
    with HttpsTestServer(tmp_path, ["mta-sts.example.com"], cert="self-signed") as own:
        own.route(URL_PATH, POLICY)
        r = check(dns_server, ZONE, own)
    assert r.status is Status.FAIL and codes(r) == ["mta_sts.policy-certificate"]
    assert "self-signed" in r.findings[0].message


def test_connection_refused_is_couldnt_check(dns_server: DnsTestServer) -> None:
    r = check(dns_server, ZONE, None, port=closed_port())
    assert r.status is Status.ERROR and codes(r) == ["mta_sts.policy-unreachable"]
    assert r.findings[0].severity is Severity.UNKNOWN and "refused" in r.findings[0].message


def test_slow_server_is_couldnt_check(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route(URL_PATH, POLICY, delay=1.5)
    r = check(dns_server, ZONE, web, connect_timeout=0.5)
    assert r.status is Status.ERROR and codes(r) == ["mta_sts.policy-unreachable"]


def test_redirect_is_not_followed_and_fails(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route(URL_PATH, "", status=301, headers={"Location": "https://mta-sts.example.com/policy.txt"})
    web.route("/policy.txt", POLICY)
    r = check(dns_server, ZONE, web)
    assert r.status is Status.FAIL and codes(r) == ["mta_sts.policy-redirect"]
    assert ("mta-sts.example.com", "/policy.txt") not in web.requests


def test_wrong_content_type_fails(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route(URL_PATH, POLICY, content_type="text/html")
    r = check(dns_server, ZONE, web)
    assert r.status is Status.FAIL and codes(r) == ["mta_sts.policy-content-type"]
    web.route(URL_PATH, POLICY, content_type="text/plain")
    assert check(dns_server, ZONE, web).status is Status.PASS


def test_too_large_policy_fails(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route(URL_PATH, POLICY + ("x_pad: " + "a" * 100 + "\r\n") * 700)
    r = check(dns_server, ZONE, web)
    assert r.status is Status.FAIL and codes(r) == ["mta_sts.policy-too-large"]


# -- the policy's content --------------------------------------------------------------------------


def test_invalid_policy_fails_and_corrected_file_passes(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route(URL_PATH, "version: STSv1\r\nmode: enforced\r\nmx: mx1.example.com\r\nmx: *.backup.example.com\r\n")
    r = check(dns_server, ZONE, web)
    assert r.status is Status.FAIL and codes(r) == ["mta_sts.policy-invalid"]
    assert "enforced" in r.findings[0].message and "max_age" in r.findings[0].message
    assert r.detail["policy"]["valid"] is False and r.detail["policy"]["mode"] is None
    assert r.detail["policy_fix"]["text"] == ("version: STSv1\r\nmode: testing\r\nmx: mx1.example.com\r\n"
                                              "mx: *.backup.example.com\r\nmax_age: 604800\r\n")
    again = recheck_policy_fix(dns_server, ZONE, web, r)
    assert again.status is Status.PASS and codes(again) == ["mta_sts.mode-testing"]


def test_mx_not_covered_in_enforce_fails_and_fix_passes(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route(URL_PATH, POLICY.replace("mx: *.backup.example.com\r\n", ""))
    r = check(dns_server, ZONE, web)
    assert r.status is Status.FAIL and codes(r) == ["mta_sts.mx-not-covered"]
    assert "mx.backup.example.com" in r.findings[0].message
    assert r.detail["mx_hosts"][1] == {"host": "mx.backup.example.com", "matched": False, "pattern": None}
    again = recheck_policy_fix(dns_server, ZONE, web, r)
    assert again.status is Status.PASS and again.findings == []


def test_wildcard_matches_one_label_only(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    zone = ZONE.replace("mx.backup.example.com.", "a.mx.backup.example.com.")
    web.route(URL_PATH, POLICY)
    r = check(dns_server, zone, web)
    assert codes(r) == ["mta_sts.mx-not-covered"]


def test_mx_not_covered_in_testing_warns(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route(URL_PATH, POLICY.replace("mode: enforce", "mode: testing").replace("mx: mx1.example.com\r\n", ""))
    r = check(dns_server, ZONE, web)
    assert r.status is Status.WARN and codes(r) == ["mta_sts.mode-testing", "mta_sts.mx-not-covered"]
    assert finding(r, "mta_sts.mx-not-covered").severity is Severity.WARNING
    again = recheck_policy_fix(dns_server, ZONE, web, r)
    assert again.status is Status.PASS and codes(again) == ["mta_sts.mode-testing"]


def test_short_max_age_warns_and_fix_passes(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route(URL_PATH, POLICY.replace("604800", "300"))
    r = check(dns_server, ZONE, web)
    assert r.status is Status.WARN and codes(r) == ["mta_sts.max-age-short"]
    again = recheck_policy_fix(dns_server, ZONE, web, r)
    assert again.status is Status.PASS and again.findings == []


def test_mode_none_is_info(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route(URL_PATH, "version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n")
    r = check(dns_server, ZONE, web)
    assert r.status is Status.PASS and codes(r) == ["mta_sts.mode-none"]
    assert r.summary == "MTA-STS is switched off (mode none)."


def test_duplicate_policy_field_warns(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route(URL_PATH, POLICY + "mode: testing\r\n")
    r = check(dns_server, ZONE, web)
    assert r.status is Status.WARN and codes(r) == ["mta_sts.policy-duplicate-field"]
    assert r.detail["policy"]["mode"] == "enforce"


def test_mx_lookup_failure_is_couldnt_check(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route(URL_PATH, POLICY)
    dns_server.timeout_names.add("example.com/MX")
    r = check(dns_server, ZONE, web, timeout=0.5)
    assert r.status is Status.ERROR and codes(r) == ["mta_sts.mx-lookup-failed"]


def test_no_mx_is_info(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route(URL_PATH, POLICY)
    zone = "\n".join(ln for ln in ZONE.splitlines() if " MX " not in ln) + "\n"
    r = check(dns_server, zone, web)
    assert r.status is Status.PASS and codes(r) == ["mta_sts.no-mx"]


# -- parsers ---------------------------------------------------------------------------------------


def test_parse_record_and_policy_units() -> None:
    rec = sts_records.parse_sts_record("v=STSv1;id=abc123 ; ext=1")
    assert rec.id == "abc123" and rec.extensions == {"ext": "1"}
    for bad in ["", "v=STSv1", "id=1; v=STSv1", "v=STSv1; id=" + "a" * 33, "v=STSv1; id=1; id=2", "v=STSv1; x"]:
        with pytest.raises(sts_records.StsSyntaxError):
            sts_records.parse_sts_record(bad)
    assert sts_records.mx_matches("*.example.com", "MX.Example.com.")
    assert not sts_records.mx_matches("*.example.com", "example.com")
    assert not sts_records.mx_matches("*.example.com", "a.b.example.com")
    pol = sts_records.parse_policy("Version: STSv1\nmode: enforce\nmx: bad..name\nmax_age: 99999999999\n")
    assert len(pol.errors) == 4 and pol.mode == "enforce" and pol.version is None


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parsers_never_raise_anything_else(text: str) -> None:
    try:
        sts_records.parse_sts_record(text)
    except sts_records.StsSyntaxError:
        pass
    pol = sts_records.parse_policy(text)
    assert isinstance(pol.errors, list)
    for p in pol.mx:
        assert sts_records.valid_pattern(p)
    sts_records.mx_matches(text, text)


# -- the HTTPS client underneath -------------------------------------------------------------------


def test_policy_host_dns_timeout_is_couldnt_check(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    web.route(URL_PATH, POLICY)
    dns_server.timeout_names.add("mta-sts.example.com/A")
    dns_server.timeout_names.add("mta-sts.example.com/AAAA")
    r = check(dns_server, ZONE, web, timeout=0.5)
    assert r.status is Status.ERROR and codes(r) == ["mta_sts.policy-unreachable"]


def test_https_client_reads_bodies_and_refuses_plain_http(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    from inboxready.core.net.https import HttpsError, HttpsErrorKind, fetch

    dns_server.replace_zone(D, ZONE)
    web.route("/a", "é" * 10, content_type="text/plain; charset=utf-8")
    web.route("/big", "x" * 5000, chunked=True)

    async def go() -> list[object]:
        ctx = make_ctx(dns_server, D, https_port=web.port, ca_file=web.ca_file, connect_timeout=2.0)
        out: list[object] = []
        r = await fetch(ctx, "https://mta-sts.example.com/a")
        out.append((r.status, r.content_type, r.charset, r.text(), r.chunked))
        for url, limit in [("http://mta-sts.example.com/a", 100), ("https://mta-sts.example.com/big", 1000),
                           ("https://mta-sts.example.com/nothing", 100)]:
            try:
                await fetch(ctx, url, max_bytes=limit)
            except HttpsError as exc:
                out.append(exc.kind)
        return out

    assert run(go()) == [(200, "text/plain", "utf-8", "é" * 10, False), HttpsErrorKind.BAD_URL,
                         HttpsErrorKind.TOO_LARGE, HttpsErrorKind.NOT_FOUND]


# -- wildcard patterns over a single label (RFC 8461 §3.2: sts-policy-mx-value = ["*."] Domain) ---------------


def test_single_label_wildcard_is_valid_and_matched_not_a_file_mistake(dns_server: DnsTestServer,
                                                                       web: HttpsTestServer) -> None:
    # '*.example' is valid syntax (an RFC 5321 Domain may be one label): not a file mistake. It covers
    # mx.example, not mx1.example.com (one label only, §4.1), so the MX hosts here are not covered.
    assert sts_records.valid_pattern("*.example") and sts_records.valid_pattern("*.com")
    assert sts_records.mx_matches("*.example", "mx.example")
    assert not sts_records.mx_matches("*.example", "mail.sts.example")
    pol = sts_records.parse_policy("version: STSv1\r\nmode: enforce\r\nmx: *.example\r\nmax_age: 604800\r\n")
    assert pol.valid and pol.mx == ["*.example"], pol.errors
    web.route(URL_PATH, "version: STSv1\r\nmode: enforce\r\nmx: *.com\r\nmx: *.backup.example.com\r\n"
                        "max_age: 604800\r\n")
    r = check(dns_server, ZONE, web)
    assert "mta_sts.policy-invalid" not in codes(r), r.to_json()
    # '*.com' lets any host one label under .com receive (a warning), and doesn't cover mx1.example.com (two)
    broad = finding(r, "mta_sts.mx-pattern-broad")
    assert broad.severity is Severity.WARNING and "*.com" in broad.message
    assert r.detail["mx_hosts"][0] == {"host": "mx1.example.com", "matched": False, "pattern": None}
    assert finding(r, "mta_sts.mx-not-covered").severity is Severity.ERROR
    # the corrected file names the server instead; hosted, the warning goes and nothing gets worse
    text = r.detail["policy_fix"]["text"]
    assert "mx: *.com" not in text and "mx: mx1.example.com" in text and "mx: *.backup.example.com" in text
    after = recheck_policy_fix(dns_server, ZONE, web, r)
    assert after.status is Status.PASS and codes(after) == [], after.to_json()


def test_the_cli_shows_the_policy_file_and_the_new_record(dns_server: DnsTestServer, web: HttpsTestServer) -> None:
    """The findings say "the corrected file is shown here": the CLI's text shows it, where to host it, and the
    record with a new id to publish after it (it showed neither, so a CLI user had nothing to host)."""
    import io

    from inboxready.app.cli.text import _Style, render_report
    from inboxready.core.model import DomainReport

    web.route(URL_PATH, POLICY.replace("mx: *.backup.example.com\r\n", ""))
    r = check(dns_server, ZONE, web)
    assert codes(r) == ["mta_sts.mx-not-covered"] and "corrected file" in r.findings[0].message
    out = io.StringIO()
    render_report(DomainReport(D, {"mta_sts": r}), out, _Style(False))
    text = out.getvalue()
    pf = r.detail["policy_fix"]
    assert "https://mta-sts.example.com/.well-known/mta-sts.txt" in text and "text/plain" in text
    for line in pf["text"].splitlines():
        assert f"        {line}\n" in text  # every line of the file, whole, on a line of its own
    assert "_mta-sts.example.com" in text and f"        {pf['record']}\n" in text
    assert text.index("mx: mx.backup.example.com") < text.index(pf["record"])  # the file first, then the id
    # --quiet shows one line per check, no file
    out = io.StringIO()
    render_report(DomainReport(D, {"mta_sts": r}), out, _Style(False), quiet=True)
    assert "version: STSv1" not in out.getvalue()
