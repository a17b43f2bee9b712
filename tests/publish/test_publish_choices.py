"""Review M10: a parked domain's lockdown records are published when the person says the domain never sends
or receives mail (``publish --lockdown``), suggestions when they ask for them (``--include-suggestions``); the
plan says what each flag does and marks what it added; --lockdown is refused for a domain with mail."""

from __future__ import annotations

from .pdns import PowerDns
from .test_publish_pdns import make_zone, publish

PARKED = [("@", "A", ["192.0.2.99"]), ("www", "A", ["192.0.2.99"])]


def test_parked_domain_without_a_choice_publishes_nothing_and_says_how(pdns: PowerDns, account: str,
                                                                       zone_name: str) -> None:
    from .conftest import cli

    z = zone_name
    make_zone(pdns, z, PARKED)
    snapshot = pdns.rrsets(z)
    code, data, err = publish(z, pdns, "--dry-run")
    assert data["plan"] == [] and pdns.rrsets(z) == snapshot
    assert {lo["include"] for lo in data["left_out"]} >= {"lockdown"}
    code, text, err = cli("publish", z, "--account", "pd", "--nameserver", pdns.nameserver, "--timeout", "2",
                          "--dry-run", "--color", "never")
    assert "--lockdown would publish these 4 records too" in " ".join(text.split()) and "null MX" in text


def test_lockdown_publishes_the_four_records_and_they_lock_it_down(pdns: PowerDns, account: str,
                                                                   zone_name: str) -> None:
    z = zone_name
    make_zone(pdns, z, PARKED)
    code, data, err = publish(z, pdns, "--lockdown", "--yes", "--wait", "5")
    assert data["applied"] is True, (data.get("message"), err)
    got = {(c["host"], c["type"], c["new"]) for c in data["plan"]}
    assert got == {(z, "MX", "0 ."), (z, "TXT", "v=spf1 -all"), (f"_dmarc.{z}", "TXT", "v=DMARC1; p=reject;"),
                   (f"*._domainkey.{z}", "TXT", "v=DKIM1; p=")}
    assert all(c["included"] == "lockdown" for c in data["plan"])
    rr = pdns.rrsets(z)
    assert rr[(z + ".", "MX")][1] == ("0 .",) and rr[(f"_dmarc.{z}.", "TXT")][1] == ('"v=DMARC1; p=reject;"',)
    codes = {f["code"] for c in data["after"]["checks"].values() for f in c["findings"]}
    assert "mx.locked-down" in codes and "mx.parked-lockdown" not in codes
    assert data["after"]["checks"]["spf"]["status"] != "fail" and data["after"]["checks"]["dmarc"]["status"] != "fail"


def test_lockdown_is_refused_for_a_domain_with_mail(pdns: PowerDns, account: str, zone_name: str) -> None:
    z = zone_name
    make_zone(pdns, z)  # MX, SPF with a sender, a DKIM key
    snapshot = pdns.rrsets(z)
    code, data, err = publish(z, pdns, "--lockdown", "--yes")
    assert code == 2 and data["applied"] is False and "never sends or receives mail" in data["message"]
    assert pdns.rrsets(z) == snapshot


def test_include_suggestions_adds_them_marked(pdns: PowerDns, account: str, zone_name: str) -> None:
    z = zone_name
    make_zone(pdns, z)
    code, plain, err = publish(z, pdns, "--dry-run")
    assert not any(c["included"] for c in plain["plan"])
    tls = [lo for lo in plain["left_out"] if lo["host"] == f"_smtp._tls.{z}"]
    assert tls and tls[0]["include"] == "suggestions"
    code, data, err = publish(z, pdns, "--dry-run", "--include-suggestions")
    added = [c for c in data["plan"] if c["included"] == "suggestions"]
    assert any(c["host"] == f"_smtp._tls.{z}" and c["note"] for c in added)
    assert not any(lo["kind"] == "suggestion" for lo in data["left_out"])
