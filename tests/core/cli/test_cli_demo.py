"""``inboxready check --demo [DOMAIN]``: the app's offline demo on the command line."""

from __future__ import annotations

import io
import json

import pytest

from inboxready.app import demo as demo_module
from inboxready.app.cli import main
from inboxready.app.demo import load_demo
from tests.conftest import BLOCKED


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_without_a_domain_the_demo_domains_are_listed() -> None:
    code, out, err = _run("check", "--demo")
    assert code == 0 and err == ""
    for d in load_demo().domains:
        assert d.domain in out and d.title in out
    assert "inboxready check --demo demo-" in out and "nothing leaves this computer" in out
    code, out, _ = _run("check", "--demo", "--json")
    assert code == 0 and [d["domain"] for d in json.loads(out)] == [d.domain for d in load_demo().domains]


def test_every_demo_domain_is_checked_without_leaving_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    # the demo's server runs in this process beside the engine: on a machine busy with other work its answers
    # can take longer than the demo's 1 s, which is then (rightly) "couldn't check"; this test is about the
    # verdicts, so it waits longer (demo-timeout.example never answers, whatever the wait)
    monkeypatch.setattr(demo_module, "DEMO_TIMEOUT", 3.0)
    blocked = len(BLOCKED)
    domains = [d.domain for d in load_demo().domains]
    code, out, err = _run("check", "--demo", *domains, "--json")
    assert BLOCKED[blocked:] == [], "the demo sent packets off the machine"
    assert err == ""
    reports = {r["domain"]: r for r in json.loads(out)}
    assert list(reports) == domains and code == 1
    assert "starttls" not in reports["demo-allgood.example"]["checks"]  # would connect to real servers
    assert reports["demo-allgood.example"]["checks"]["spf"]["status"] == "pass"
    assert reports["demo-allgood.example"]["checks"]["dkim"]["status"] == "pass"  # the demo's own selectors
    assert any(f["code"] == "spf.too-many-lookups" for f in reports["demo-toomany.example"]["checks"]["spf"]["findings"])
    assert reports["demo-nodmarc.example"]["checks"]["dmarc"]["status"] == "fail"
    assert reports["demo-timeout.example"]["checks"]["spf"]["status"] == "error"  # couldn't check, not "missing"


def test_text_output_says_it_is_the_demo() -> None:
    code, out, err = _run("check", "--demo", "demo-nodmarc.example", "--color", "never")
    assert code == 1 and err == ""
    assert out.startswith("Demo: answered by a DNS server built into InboxReady")
    assert "STARTTLS is not tried in the demo" in out and "demo-nodmarc.example" in out


def test_wrong_uses_are_said_plainly() -> None:
    code, _, err = _run("check", "--demo", "example.com")
    assert code == 2 and "example.com is not one of the demo domains" in err
    code, _, err = _run("check", "--demo", "demo-allgood.example", "--nameserver", "127.0.0.1")
    assert code == 2 and "leave out --nameserver" in err
    code, _, err = _run("check")
    assert code == 2 and "give the DOMAIN to check" in err and "--demo" in err


def test_a_run_without_the_rules_checks_doesnt_say_it_is_still_checking() -> None:
    code, out, _ = _run("check", "--demo", "demo-brokenmx.example", "--only", "mx", "--color", "never")
    assert "Checking against" not in out
    assert "The bulk-sender rules are not judged in this run" in out


def test_each_demo_domains_reverse_dns_card_names_its_own_mail_host() -> None:
    """The demo domains shared one mail address (192.0.2.10), whose PTR named mail.demo-allgood.example, so
    every other demo domain's reverse DNS card talked about demo-allgood. Each mail host now has its own
    address and PTR; the card names the domain's own host and never another demo domain."""
    demo = load_demo()
    domains = [d.domain for d in demo.domains if d.domain not in demo.never_answers]
    code, out, err = _run("check", "--demo", *domains, "--only", "rdns", "--json")
    assert err == ""
    reports = {r["domain"]: r["checks"]["rdns"] for r in json.loads(out)}
    with_hosts = 0
    for domain, card in reports.items():
        others = [d for d in domains if d != domain]
        words = json.dumps([card["summary"], card["records"], card["findings"]])
        assert not [d for d in others if d in words], (domain, card["records"])
        for record in card["records"]:  # "<reverse name> PTR <host>": the host is the domain's own
            assert record.split(" PTR ", 1)[1].rstrip(".").endswith("." + domain), (domain, record)
        if card["records"]:
            with_hosts += 1
            assert card["status"] == "pass", (domain, card["summary"])  # each name points back
    assert with_hosts == len(domains) - 1  # all but the parked domain (no mail host) have one
