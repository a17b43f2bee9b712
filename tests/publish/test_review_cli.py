"""Review minors in the publishing CLI: no check mark beside a missing record, values whole in the
authoritative view, "couldn't tell" without nested parentheses, no-keyring words for DNS tokens, and the
journal file private (0600 in a 0700 folder)."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

from inboxready.core.dns.server import DnsTestServer

from .conftest import cli

SOA = ("@ IN SOA ns1.{d}. h.{d}. 1 3600 600 86400 300\n@ IN NS ns1.{d}.\nns1 IN A 127.0.0.1\n")
LONG = "v=spf1 " + " ".join(f"ip4:198.51.100.{i}" for i in range(1, 12)) + " -all"


def _check(server: DnsTestServer, domain: str, *extra: str) -> str:
    from inboxready.app.cli import main

    out, err = io.StringIO(), io.StringIO()
    main(["check", domain, "--nameserver", server.address, "--only", "spf,dmarc", "--timeout", "1", "--color",
          "never", *extra], out, err)
    return out.getvalue()


def test_authoritative_view_marks_nothing_as_fine_and_prints_values_whole(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("auth.test", SOA.format(d="auth.test") + f'@ IN TXT "{LONG}"\n@ IN MX 0 .\n')
    text = _check(dns_server, "auth.test", "--authoritative")
    section = text[text.index("Authoritative servers of auth.test"):]
    assert "✓ TXT _dmarc.auth.test" not in section and "– TXT _dmarc.auth.test: no record" in section
    assert any(line.strip() == LONG for line in section.splitlines())  # whole, on its own line


def test_couldnt_tell_the_host_has_no_nested_parentheses(dns_server: DnsTestServer) -> None:
    from inboxready.core.publish.zone import one_level

    assert one_level("did not answer (no answer within 1.0 s (4 tries))") == \
        "did not answer (no answer within 1.0 s, 4 tries)"
    assert one_level("a (b) c (d (e (f)) g)") == "a (b) c (d, e, f g)"
    dns_server.timeout_names.add("slow.test")
    text = _check(dns_server, "slow.test")
    line = " ".join(x.strip() for x in text.splitlines() if "DNS host:" in x)
    assert "DNS host: couldn't tell, because" in line
    depth = max_depth = 0
    for ch in text[text.index("DNS host:"):].split("\n\n")[0]:
        depth += ch == "("
        depth -= ch == ")"
        max_depth = max(max_depth, depth)
    assert max_depth <= 1, text[text.index("DNS host:"):]


def test_no_keyring_for_a_dns_token_says_so_in_its_words(home: Path, no_keyring, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("INBOXREADY_PASSWORD", "abc")
    code, out, err = cli("dns-account", "add", "x", "--provider", "powerdns", "--option",
                         "pdns_server=http://127.0.0.1:1", "--secret", "auth_token")
    assert code == 2 and "API tokens of DNS accounts" in err
    assert "mail password" not in err and "INBOXREADY_PASSWORD" not in err
    assert not (home / "config" / "dns_accounts.json").exists()


def test_the_journal_is_private(home: Path) -> None:
    from inboxready.core.publish.journal import Journal

    j = Journal()
    j.close() if hasattr(j, "close") else None
    files = [p for p in home.rglob("*journal*") if p.is_file()]
    assert files, list(home.rglob("*"))
    for p in files:
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600, (p, oct(os.stat(p).st_mode))
    for d in {p.parent for p in files}:
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700, d


def test_plan_prints_every_record_value_whole_on_its_own_line() -> None:
    """A record the plan leaves out (and one it publishes) is printed whole on a line of its own, so it copies
    as is: never wrapped at the space inside 'v=TLSRPTv1; rua=...' (review M5, in the publish plan too)."""
    from types import SimpleNamespace

    from inboxready.app.cli.publish import _render_plan
    from inboxready.core.model import Fix
    from inboxready.core.checks.posture import lockdown_fixes
    from inboxready.core.publish.plan import Change, LeftOut, Plan

    z = "a-rather-long-shop-name-for-wrapping.example"
    tls = Fix(f"_smtp._tls.{z}", "TXT", f"v=TLSRPTv1; rua=mailto:tls-reports@{z}")
    lock = lockdown_fixes(z)
    group = Fix(lock[0].host, lock[0].type, lock[0].value, title="The lockdown records", also_publish=tuple(lock[1:]))
    dmarc = f"v=DMARC1; p=none; rua=mailto:dmarc-reports@{z}; ruf=mailto:dmarc-failures@{z}; fo=1"
    plan = Plan(z, z, "a", "memory", changes=[Change("add", f"_dmarc.{z}", "TXT", None, dmarc, finding="x")],
                left_out=[LeftOut(tls, "tls_rpt.not-published", "a suggestion, not a problem: right if it fits your "
                                  "domain", "suggestions"),
                          LeftOut(group, "mx.parked-lockdown", "one of the lockdown records", "lockdown")])
    out = io.StringIO()
    _render_plan(SimpleNamespace(plan=plan), out, lambda text, _code: text, "memory")
    lines = [x.strip() for x in out.getvalue().splitlines()]
    assert tls.value in lines, out.getvalue()
    assert "new (TTL 3600): " + dmarc in lines  # nothing after the value on its line
    for r in lock:
        assert any(x == r.value or x.endswith(": " + r.value) for x in lines), (r.value, out.getvalue())
