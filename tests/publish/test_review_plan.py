"""Review fixes (publishing): a plan never deletes the record it keeps, and a plan whose trial run leaves
the finding it targets in place is refused."""

from __future__ import annotations

import asyncio

from inboxready.core.model import CheckResult, DomainReport, Finding, Fix, Severity, Status
from inboxready.core.publish.plan import make_plan

from .pdns import PowerDns
from .test_publish_pdns import make_zone, publish


class _Host:
    provider = "memory"

    def __init__(self, records: dict[tuple[str, str], list[str]]) -> None:
        self.records = records

    def list(self, rtype: str, host: str) -> list:  # type: ignore[type-arg]
        from inboxready.core.publish.lexicon_adapter import LiveRecord

        return [LiveRecord(rtype, host, v, 3600) for v in self.records.get((host, rtype), [])]


def _two_spf_report(z: str, kept: str) -> DomainReport:
    fix = Fix(z, "TXT", kept, action="replace", note="Replaces all your SPF records with one that keeps every sender.")
    return DomainReport(z, {"spf": CheckResult("spf", Status.FAIL, "x", findings=[
        Finding("spf.multiple-records", Severity.ERROR, "Your domain has 2 SPF records.", fix=fix)])})


def test_two_spf_records_one_already_right_plan_a_single_delete() -> None:
    z = "pub2.example"
    kept = f"v=spf1 include:_spf.{z} ~all"
    for order in ([kept, "v=spf1 +all"], ["v=spf1 +all", kept]):
        host = _Host({(z, "TXT"): order + ["google-site-verification=x"]})
        plan = asyncio.run(make_plan(_two_spf_report(z, kept), z, host, account="a"))  # type: ignore[arg-type]
        assert [(c.action, c.old, c.new) for c in plan.changes] == [("delete", "v=spf1 +all", None)], order
        assert plan.final_sets()[(z, "TXT")] == [kept, "google-site-verification=x"] or \
            sorted(plan.final_sets()[(z, "TXT")]) == sorted([kept, "google-site-verification=x"])


SOA = "@ IN SOA ns1.{d}. h.{d}. 1 3600 600 86400 300\n@ IN NS ns1.{d}.\nns1 IN A 127.0.0.1\n"


def _options(server) -> object:  # type: ignore[no-untyped-def]
    from inboxready.core.context import CheckOptions

    return CheckOptions(nameservers=[server.address], timeout=2, deadline=20, checks=("spf", "dmarc", "mx"))


def _predicted(server, domain: str, records: dict, fixes=None, plan=None):  # type: ignore[no-untyped-def]
    from inboxready.core.checks.runner import run_check
    from inboxready.core.dns.client import DnsClient
    from inboxready.core.publish.plan import predict

    async def go():  # type: ignore[no-untyped-def]
        opts = _options(server)
        client = DnsClient(opts.nameservers, timeout=2, deadline=20)
        try:
            base = await run_check(domain, opts, client=client)
            p = plan if plan is not None else await make_plan(base, domain, _Host(records), account="a",  # type: ignore[arg-type]
                                                             fixes=fixes(base) if fixes else None)
            await predict(p, base, opts, client)
            return base, p
        finally:
            client.close()

    return asyncio.run(go())


def test_a_plan_that_deletes_both_spf_records_is_refused(dns_server) -> None:  # type: ignore[no-untyped-def]
    """The trial run of the reviewer's plan (replace +all by the other record, then delete that record): SPF
    goes from 'two records' (fail) to 'no record' (fail). Not worse by status, but a new error: refused."""
    from inboxready.core.publish.plan import Change, Plan

    z = "pub3.test"
    kept = f"v=spf1 include:_spf.{z} ~all"
    dns_server.add_zone(z, SOA.format(d=z) + f'@ IN TXT "{kept}"\n@ IN TXT "v=spf1 +all"\n@ IN MX 10 mail.{z}.\n'
                        f'mail IN A 192.0.2.1\n_spf IN TXT "v=spf1 ip4:192.0.2.1 -all"\n'
                        f'_dmarc IN TXT "v=DMARC1; p=none; rua=mailto:d@{z}"\n')
    plan = Plan(z, z, "a", "memory", before={(z, "TXT"): [(kept, 300), ("v=spf1 +all", 300)]})
    plan.changes = [Change("replace", z, "TXT", "v=spf1 +all", kept, finding="spf.multiple-records"),
                    Change("delete", z, "TXT", kept, None, finding="spf.multiple-records")]
    base, p = _predicted(dns_server, z, {}, plan=plan)
    assert base.checks["spf"].status is Status.FAIL
    assert p.predicted is not None and p.predicted.checks["spf"].status is Status.FAIL
    assert "worse" in p.problem and "new problem" in p.problem, p.problem


def test_a_plan_that_leaves_its_finding_in_place_is_refused(dns_server) -> None:  # type: ignore[no-untyped-def]
    """A record chosen for a finding that, tried as if published, doesn't remove it: refused, nothing sent."""
    z = "pub4.test"
    dns_server.add_zone(z, SOA.format(d=z) + f'@ IN TXT "v=spf1 ip4:192.0.2.1 -all"\n@ IN MX 10 mail.{z}.\n'
                        'mail IN A 192.0.2.1\n')
    wrong = Fix(f"_dmarc.mail.{z}", "TXT", "v=DMARC1; p=none")  # published at the wrong name

    def choose(base):  # type: ignore[no-untyped-def]
        f = next(f for f in base.checks["dmarc"].findings if f.code == "dmarc.no-record")
        return [(wrong, f.code, f.message)]

    base, plan = _predicted(dns_server, z, {}, fixes=choose)
    assert [c.host for c in plan.changes] == [f"_dmarc.mail.{z}"]
    assert plan.targets and plan.targets[0][:2] == ("dmarc", "dmarc.no-record")
    assert "wouldn't fix" in plan.problem and "dmarc.no-record" in plan.problem, plan.problem
    # the right record, chosen the same way from the app's fix box (which knows only the fix), passes
    right = next(f for f in base.checks["dmarc"].findings if f.code == "dmarc.no-record").fix
    base, plan = _predicted(dns_server, z, {}, fixes=lambda b: [(right, "", right.note)])
    assert plan.changes and not plan.problem, plan.problem
    assert plan.changes[0].finding == "dmarc.no-record"


def test_publish_two_spf_records_at_powerdns_keeps_the_good_one(pdns: PowerDns, account: str,
                                                                zone_name: str) -> None:
    """The reviewer's story end to end: two SPF records, one of them the corrected one. One delete; the SPF
    record survives at the DNS host and the check no longer reports two records."""
    z = zone_name
    kept = f"v=spf1 include:_spf.{z} ~all"
    make_zone(pdns, z, [("@", "TXT", [f'"{kept}"', '"v=spf1 +all"']), ("_spf", "TXT", ['"v=spf1 ip4:192.0.2.1 -all"']),
                        ("@", "MX", [f"10 mail.{z}."]), ("mail", "A", ["192.0.2.1"]),
                        ("_dmarc", "TXT", [f'"v=DMARC1; p=none; rua=mailto:d@{z}"'])])
    code, data, err = publish(z, pdns, "--yes", "--only", "spf", "--wait", "5")
    assert [(s["action"], s["old"], s["new"]) for s in data["plan"]] == [("delete", "v=spf1 +all", None)], data["plan"]
    assert data["applied"] is True, data.get("message")
    assert pdns.rrsets(z)[(z + ".", "TXT")][1] == (f'"{kept}"',)
    spf = data["after"]["checks"]["spf"]
    assert "spf.multiple-records" not in {f["code"] for f in spf["findings"]}
    assert "spf.missing" not in {f["code"] for f in spf["findings"]} and spf["status"] != "fail"
    assert all(p["live"] is True for p in data["propagation"])


def test_a_null_mx_tried_as_if_published_is_a_null_mx(dns_server) -> None:  # type: ignore[no-untyped-def]
    """The trial run of a lockdown plan: the overlay serves '0 .' as the root, not as '@' (which read as a
    mail server named '@' that couldn't be looked up, so MX was 'couldn't check' before publishing)."""
    from inboxready.core.publish.plan import Change, Plan

    z = "parked.test"
    dns_server.add_zone(z, SOA.format(d=z) + "@ IN A 192.0.2.99\n")
    plan = Plan(z, z, "a", "memory", before={})
    plan.changes = [Change("add", z, "MX", None, "0 ."), Change("add", z, "TXT", None, "v=spf1 -all"),
                    Change("add", f"_dmarc.{z}", "TXT", None, "v=DMARC1; p=reject;")]
    base, p = _predicted(dns_server, z, {}, plan=plan)
    mx = p.predicted.checks["mx"]
    assert mx.status is not Status.ERROR and "mx.null-mx" in {f.code for f in mx.findings}, mx.findings


def test_left_out_records_are_listed_once() -> None:
    from inboxready.core.checks.posture import lockdown_fixes
    from inboxready.core.publish.plan import LeftOut, Plan

    fixes = lockdown_fixes("parked.test")
    group = Fix(fixes[2].host, fixes[2].type, fixes[2].value, title="The lockdown records",
                also_publish=(fixes[0], fixes[1], fixes[3]))
    plan = Plan("parked.test", "parked.test", "a", "memory", left_out=[
        LeftOut(fixes[0], "spf.missing", "r", "lockdown"), LeftOut(group, "mx.parked-lockdown", "r", "lockdown"),
        LeftOut(fixes[0], "mx.lockdown-spf", "r", "lockdown"),
        LeftOut(Fix("_smtp._tls.parked.test", "TXT", "v=TLSRPTv1; rua=mailto:t@parked.test"), "tls_rpt.x", "r")])
    once = plan.left_out_once()
    assert [(lo.finding, codes) for lo, codes in once] == [
        ("mx.parked-lockdown", ["mx.parked-lockdown", "spf.missing", "mx.lockdown-spf"]), ("tls_rpt.x", ["tls_rpt.x"])]


def test_a_plan_whose_trial_run_couldnt_check_its_target_is_refused(dns_server) -> None:  # type: ignore[no-untyped-def]
    """A SERVFAIL (or a timeout) in the trial run is "couldn't check", never "it works": the plan for the two
    SPF records, whose new record includes a name that answers SERVFAIL, is not applied."""
    from inboxready.core.publish.plan import Change, Plan

    z = "pub5.test"
    dns_server.add_zone(z, SOA.format(d=z) + '@ IN TXT "v=spf1 ip4:192.0.2.1 -all"\n@ IN TXT "v=spf1 +all"\n'
                        f'@ IN MX 10 mail.{z}.\nmail IN A 192.0.2.1\n')
    dns_server.servfail_names.add(f"_spf.{z}")
    new = f"v=spf1 include:_spf.{z} -all"
    plan = Plan(z, z, "a", "memory", before={(z, "TXT"): [("v=spf1 ip4:192.0.2.1 -all", 300), ("v=spf1 +all", 300)]})
    plan.changes = [Change("replace", z, "TXT", "v=spf1 ip4:192.0.2.1 -all", new, finding="spf.multiple-records"),
                    Change("delete", z, "TXT", "v=spf1 +all", None, finding="spf.multiple-records")]
    plan.targets = [("spf", "spf.multiple-records", "", Fix(z, "TXT", new, action="replace"))]
    base, p = _predicted(dns_server, z, {}, plan=plan)
    assert base.checks["spf"].status is Status.FAIL
    assert p.predicted is not None and p.predicted.checks["spf"].status is Status.ERROR
    assert "couldn't be tried" in p.problem and "spf couldn't be checked" in p.problem, p.problem
