"""The plan leaves out fixes that need a person by what the checks say about them (``Fix.kind``), never by
the wording of their note."""

from __future__ import annotations

import asyncio

from inboxready.core.checks.runner import run_check
from inboxready.core.context import CheckOptions
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import CheckResult, DomainReport, Finding, Fix, Severity, Status
from inboxready.core.publish.plan import candidates

SOA = "@ IN SOA ns1.{d}. h.{d}. 1 3600 600 86400 300\n@ IN NS ns1.{d}.\nns1 IN A 127.0.0.1\n"


def _report(*fixes: Fix) -> DomainReport:
    findings = [Finding(f"spf.case{i}", Severity.ERROR, "something to fix", fix=f) for i, f in enumerate(fixes)]
    return DomainReport("shop.test", {"spf": CheckResult("spf", Status.FAIL, "x", findings=findings)})


def test_kind_decides_not_the_note() -> None:
    # the same words the old sentence match looked for, on a record that is fine to publish ...
    plain = Fix("shop.test", "TXT", "v=spf1 include:_spf.example.net -all",
                note="Starting point only was the old wording; this one is complete.")
    # ... and drafts whose notes say nothing the old match knew
    draft = Fix("shop.test", "TXT", "v=spf1 mx -all", note="Covers your mail servers.", kind="starting-point")
    maybe = Fix("shop.test", "MX", "0 .", note="If nobody writes to this domain.", kind="suggestion")
    cands, left = candidates(_report(plain, draft, maybe))
    assert [c.fixes[0] for c in cands] == [plain]
    reasons = {lo.fix.kind: lo.reason for lo in left}
    assert set(reasons) == {"starting-point", "suggestion"}
    assert "complete first" in reasons["starting-point"] and "can't know" in reasons["suggestion"]
    assert draft.to_json()["kind"] == "starting-point" and plain.to_json()["kind"] == "record"


def _check(server: DnsTestServer, domain: str, checks: tuple[str, ...]) -> DomainReport:
    opts = CheckOptions(nameservers=[server.address], timeout=2, deadline=20, checks=checks)
    return asyncio.run(run_check(domain, opts))


def test_the_checks_mark_their_drafts_and_conditional_fixes(dns_server: DnsTestServer) -> None:
    # SPF missing on a domain with mail servers: the record offered covers only those servers
    dns_server.add_zone("draft.test", SOA.format(d="draft.test") + "@ IN MX 10 mail.draft.test.\n"
                                                                  "mail IN A 192.0.2.10\n")
    report = _check(dns_server, "draft.test", ("spf",))
    spf_fix = next(f.fix for f in report.checks["spf"].findings if f.fix is not None)
    assert spf_fix.kind == "starting-point"
    cands, left = candidates(report)
    assert not cands and [lo.fix for lo in left] == [spf_fix]

    # no MX, only a web server address: a null MX is right only if the domain should receive no mail. The old
    # sentence match did not know this note and would have published a null MX for the user.
    dns_server.add_zone("web.test", SOA.format(d="web.test") + "@ IN A 192.0.2.20\n"
                                                              '@ IN TXT "v=spf1 ~all"\n')
    report = _check(dns_server, "web.test", ("mx",))
    implicit = next(f for f in report.checks["mx"].findings if f.code == "mx.implicit")
    assert implicit.severity is Severity.WARNING and implicit.fix is not None
    assert implicit.fix.kind == "suggestion"
    cands, left = candidates(report)
    assert all(c.fixes[0].type != "MX" for c in cands)
    assert any(lo.fix == implicit.fix for lo in left)


def test_a_draft_chosen_from_its_fix_box_is_not_published_either(pdns, account: str, zone_name: str) -> None:  # type: ignore[no-untyped-def]
    from inboxready.core.publish.accounts import AccountStore
    from inboxready.core.publish.flow import Publisher

    from .test_publish_pdns import make_zone

    z = zone_name
    make_zone(pdns, z, [("@", "MX", [f"10 mail.{z}."]), ("mail", "A", ["192.0.2.1"])])
    snapshot = pdns.rrsets(z)
    draft = Fix(z, "TXT", "v=spf1 mx -all", note="Covers your mail server only.", kind="starting-point")
    maybe = Fix(f"_dmarc.{z}", "TXT", "v=DMARC1; p=reject", note="If this domain sends no mail.", kind="suggestion")

    async def go():  # type: ignore[no-untyped-def]
        async with Publisher(AccountStore().get(account), CheckOptions(nameservers=[pdns.nameserver], timeout=2),
                             servers=[pdns.nameserver]) as pub:
            return await pub.plan(z, fixes=[(draft, "spf.missing", "no SPF"), (maybe, "dmarc.no-record", "no DMARC")])

    run = asyncio.run(go())
    assert [(c.host, c.new) for c in run.plan.changes] == [(f"_dmarc.{z}", "v=DMARC1; p=reject")]  # the chosen one
    assert [(lo.fix, lo.to_json()["kind"]) for lo in run.plan.left_out] == [(draft, "starting-point")]
    assert "complete it first" in run.plan.left_out[0].reason
    assert pdns.rrsets(z) == snapshot  # a plan changes nothing
