"""The facts we ship (issue 18): every catalog entry names its source and the date it was checked, the stored
SPF lookup costs agree with a live walk of the services' published records (served from loopback zones built
from dated captures), and the maintainer script that refreshes them works against a DNS server."""

from __future__ import annotations

import datetime as dt
import importlib.util
import ipaddress
import json
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from inboxready.core.checks import spf
from inboxready.core.builders.spf import load_catalog
from inboxready.core.records.dkim_selectors import load_catalog as load_selector_catalog
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.mail.profiles import load_presets
from inboxready.core.reports.sources import load_catalog as load_sources

from ...conftest import make_ctx, run

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
# the captures stay at tests/core/spf_captures.json: the catalogs' sources (core/rules/*.json, CHECKED.md) cite that path
CAPTURES = json.loads((HERE.parent / "spf_captures.json").read_text(encoding="utf-8"))
FILES = ("spf_catalog.json", "sending_services.json", "mail_providers.json", "bulk_sender_rules.json",
         "dkim_selectors.json")
ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def rules(name: str) -> Any:
    return json.loads(resources.files("inboxready.core.rules").joinpath(name).read_text(encoding="utf-8"))


def entries(name: str) -> list[tuple[str, dict[str, Any]]]:
    data = rules(name)
    if name == "dkim_selectors.json":
        return list(data["providers"].items())
    if name == "bulk_sender_rules.json":
        return list(data["sources"].items()) + [(r["key"], r) for r in data["rules"]]
    key = "providers" if name == "mail_providers.json" else "services"
    return [(e["id"], e) for e in data[key]]


def spf_services() -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in rules("spf_catalog.json")["services"]}


# -- every entry: a source and a date --------------------------------------------------------------


@pytest.mark.parametrize("name", FILES)
def test_every_entry_names_its_source_and_the_date_it_was_checked(name: str) -> None:
    text = resources.files("inboxready.core.rules").joinpath(name).read_text(encoding="utf-8")
    assert "offline" not in text.lower(), f"{name} still has offline, unverified entries"
    data = rules(name)
    assert ISO.fullmatch(str(data.get("checked", ""))), name
    for key, e in entries(name):
        assert ISO.fullmatch(str(e.get("checked", ""))), (name, key, e.get("checked"))
        dt.date.fromisoformat(e["checked"])
        assert "verify" not in str(e["checked"]).lower()
        src = str(e.get("source") or e.get("url") or "")
        if name == "bulk_sender_rules.json" and key not in data["sources"]:
            src = "; ".join(data["sources"][k]["url"] for k in e["sources"])
        assert "https://" in src or src.startswith("TXT "), (name, key, src)
        if name != "bulk_sender_rules.json" or key in data["sources"]:
            assert e.get("confidence") in ("confirmed", "partly confirmed", "unconfirmed"), (name, key)
        if e.get("confidence") and e["confidence"] != "confirmed" and name != "dkim_selectors.json":
            assert e.get("confidence_note") or e.get("note"), (name, key, "say what is not confirmed")


def test_spf_catalog_entries_have_the_fields_the_builder_reads() -> None:
    for sid, s in spf_services().items():
        assert {"include", "lookups", "own_return_path", "return_path_domain", "setup", "source", "checked"} <= set(s)
        assert isinstance(s["own_return_path"], bool) and s["setup"].strip(), sid
        assert s["lookups_basis"] in ("capture", "third-party", "estimate", "none"), sid
        if s["include"] is None:
            assert s["lookups"] == 0 and s["lookups_basis"] == "none", sid
        else:
            assert isinstance(s["lookups"], int) and s["lookups"] >= 1, sid
        for k in s["known_includes"]:
            assert k["include"] and (k["lookups"] is None or k["lookups"] >= 1) and k["note"], (sid, k)
    # the loaded catalog (what the builder uses) carries the dates as plain ISO dates
    assert all(ISO.fullmatch(s.checked) for s in load_catalog())


# -- the fact-check's findings -----------------------------------------------------------------------


def test_lookup_costs_from_the_fact_check() -> None:
    s = spf_services()
    assert s["mailgun"]["lookups"] == 5 and "mailgun eu" in s["mailgun"]["aliases"]
    assert s["salesforce"]["lookups"] == 2
    assert s["google"]["lookups"] == 1 and s["microsoft365"]["lookups"] == 1
    assert {"include": "sendgrid.net", "lookups": 2} == {k: v for k, v in s["sendgrid"]["known_includes"][0].items()
                                                         if k in ("include", "lookups")}
    assert s["mimecast"]["include"] == "_netblocks.mimecast.com" and s["mimecast"]["lookups"] == 6
    assert "region" in s["mimecast"]["setup"]
    for region in ("us", "eu", "de", "za", "au"):
        assert s[f"mimecast-{region}"]["include"] == f"{region}._netblocks.mimecast.com"
        assert s[f"mimecast-{region}"]["lookups"] == 1


def test_services_that_bounce_on_their_own_domain_carry_no_root_include() -> None:
    s = spf_services()
    expected = {"amazonses": "amazonses.com", "mandrill": "mandrillapp.com", "sparkpost": "sparkpostmail.com",
                "mailjet": "bnc3.mailjet.com", "brevo": "sender-sib.com", "constantcontact": "ccsend.com",
                "sendgrid": "sendgrid.net", "salesforce": "bnc.salesforce.com"}
    for sid, domain in expected.items():
        assert s[sid]["own_return_path"] is True and s[sid]["return_path_domain"] == domain, sid
    # the ones with nothing to put in any SPF record publish no include at all
    for sid in ("mandrill", "sparkpost", "mailjet", "brevo", "constantcontact", "sendgrid", "shopify"):
        assert s[sid]["include"] is None, sid
    # SES: the include belongs on a custom MAIL FROM subdomain, with its MX
    ses = s["amazonses"]
    assert "MAIL FROM" in ses["setup"] and "feedback-smtp" in ses["setup"]
    assert {r["type"] for r in ses["setup_records"]} == {"MX", "TXT"}
    assert all(r["host"] != "{domain}" for r in ses["setup_records"])
    # Mandrill: DKIM is mte1/mte2 by CNAME now
    assert s["mandrill"]["dkim_selectors"] == ["mte1", "mte2"]
    assert {r["value"] for r in s["mandrill"]["setup_records"]} == {"dkim1.mandrillapp.com", "dkim2.mandrillapp.com"}
    assert "brevo-code" in s["brevo"]["setup"] and "DMARC" in s["brevo"]["setup"]
    assert "no SPF step" in s["constantcontact"]["setup"] and "DMARC" in s["constantcontact"]["setup"]
    assert "em1234" in s["sendgrid"]["setup"]
    assert "Bounce Management" in s["salesforce"]["setup"]
    shopify = s["shopify"]["known_includes"][0]
    assert shopify["include"] == "shops.shopify.com" and shopify["obsolete"] is True


def test_zoho_includes_are_the_zohomail_ones() -> None:
    s = spf_services()
    assert (s["zoho"]["include"], s["zoho-eu"]["include"], s["zoho-in"]["include"]) == \
        ("zohomail.com", "zohomail.eu", "zohomail.in")
    assert load_sources().by_id("zoho").spf_include == "zohomail.com"  # type: ignore[union-attr]


def test_sending_service_ranges_from_the_fact_check() -> None:
    cat = load_sources()

    def nets(sid: str) -> set[str]:
        svc = cat.by_id(sid)
        assert svc is not None, sid
        return {str(n) for n in svc.networks}

    assert "24.110.64.0/18" in nets("amazon-ses") and cat.match("24.110.64.9").id == "amazon-ses"  # type: ignore
    assert "148.105.8.0/21" in nets("mailchimp") and "148.105.0.0/16" not in nets("mailchimp")
    assert cat.match("148.105.200.1") is None  # outside what Mailchimp publishes
    assert {"96.46.150.192/27", "174.137.46.0/24"} <= nets("zendesk")
    assert cat.match("174.137.46.20").id == "zendesk"  # type: ignore[union-attr]
    sf = cat.by_id("salesforce")
    assert sf is not None and "mcdlv.net" not in sf.auth_domains + sf.ptr_suffixes
    assert cat.match("10.0.0.1", auth_domains=["mcdlv.net"]).id == "mailchimp"  # type: ignore[union-attr]
    brevo = cat.by_id("brevo")
    assert brevo is not None and "mailjet.com" not in brevo.auth_domains + brevo.ptr_suffixes
    assert "sender-sib.com" in brevo.auth_domains
    assert cat.match("10.0.0.1", auth_domains=["bnc3.mailjet.com"]).id == "mailjet"  # type: ignore[union-attr]
    assert cat.match("10.0.0.1", auth_domains=["ccsend.com"]).id == "constantcontact"  # type: ignore[union-attr]
    assert "52.100.0.0/14" not in nets("microsoft") and "52.103.0.0/17" in nets("microsoft")


def test_sending_service_ranges_match_the_captured_records() -> None:
    """Where a captured record is complete, the catalog lists exactly its ranges (no more, no fewer)."""
    cat = load_sources()
    trees = {t["include"]: t for t in CAPTURES["trees"]}
    checked = 0
    for svc in cat.services:
        tree = trees.get(svc.spf_include)
        if tree is None:
            continue
        captured = {str(ipaddress.ip_network(term.split(":", 1)[1], strict=False))
                    for rec in tree["records"].values() for term in rec.split() if term.startswith(("ip4:", "ip6:"))}
        stored = {str(n) for n in svc.networks}
        if tree["ranges_complete"]:
            assert stored == captured, svc.id
        else:
            assert captured <= stored, svc.id
        checked += 1
    assert checked >= 6


def test_dkim_selectors_from_the_fact_check() -> None:
    cat = load_selector_catalog()
    by_sel = {s.selector: s for s in cat.selectors}
    assert by_sel["pdk1"].provider_name == by_sel["pdk2"].provider_name == "Mailgun"
    assert cat.provider_for_cname("pdk1._domainkey.abc.dkim1.mailgun.com.").name == "Mailgun"  # type: ignore
    assert cat.provider_for_cname("pdk1._domainkey.f5d8b.dkim2.eu.mgsend.org.").name == "Mailgun"  # type: ignore
    assert cat.provider_for_cname("abc.dkim1.ccsend.com.").name == "Constant Contact"  # type: ignore[union-attr]
    assert cat.provider_for_cname("dkim1.d0d1e838e436.p721.email.myshopify.com.").name == "Shopify"  # type: ignore
    assert by_sel["mte1"].provider_name == "Mailchimp Transactional (Mandrill)"


def test_microsoft_365_sign_in_text_has_the_smtp_auth_timeline() -> None:
    ms = next(p for p in load_presets() if p.id == "microsoft365")
    assert "end of December 2026" in ms.password_help and "second half of 2027" in ms.password_help


# -- stored costs against a live walk of the captured records -----------------------------------------


def serve(server: DnsTestServer, tree: dict[str, Any]) -> None:
    for name in tree["records"]:
        labels = name.split(".")
        for k in range(1, len(labels)):
            server.add_origin(".".join(labels[-k:]))
    for name, record in tree["records"].items():
        server.add_records(name, "TXT", ['"' + record.replace('"', '\\"') + '"'])


def live_cost(server: DnsTestServer, include: str) -> int:
    server.add_zone("probe.test", f'@ TXT "v=spf1 include:{include} -all"\n')

    async def go() -> Any:
        return await spf.check(make_ctx(server, "probe.test"))

    result = run(go())
    assert result.status is not spf.Status.ERROR, (include, result.summary)
    return int(result.detail["lookups"])


@pytest.mark.parametrize("tree", CAPTURES["trees"], ids=lambda t: t["include"])
def test_stored_costs_agree_with_a_walk_of_the_published_record(dns_server: DnsTestServer,
                                                                tree: dict[str, Any]) -> None:
    serve(dns_server, tree)
    live = live_cost(dns_server, tree["include"])
    stored = [(sid, s["lookups"]) for sid, s in spf_services().items() if s["include"] == tree["include"]]
    stored += [(sid, k["lookups"]) for sid, s in spf_services().items() for k in s["known_includes"]
               if k["include"] == tree["include"] and k["lookups"] is not None]
    assert stored, f"no catalog entry uses the captured include {tree['include']}"
    for sid, cost in stored:
        assert cost == live, f"{sid}: the catalog says {cost} lookups, the published record takes {live}"


def test_every_cost_said_to_be_captured_has_its_capture() -> None:
    captured = {t["include"] for t in CAPTURES["trees"]}
    for sid, s in spf_services().items():
        if s["lookups_basis"] == "capture":
            assert s["include"] in captured, sid
    assert ISO.fullmatch(CAPTURES["checked"])
    assert all(t["source"] for t in CAPTURES["trees"])


def test_a_wrong_stored_cost_is_caught(dns_server: DnsTestServer) -> None:
    """The walk really counts nested includes: the old Mailgun cost (3) would fail the comparison."""
    tree = next(t for t in CAPTURES["trees"] if t["include"] == "mailgun.org")
    serve(dns_server, tree)
    assert live_cost(dns_server, "mailgun.org") == 5 != 3


# -- the maintainer script -------------------------------------------------------------------------


def script() -> Any:
    path = ROOT / "packaging" / "maintainer" / "refresh_catalog.py"
    spec = importlib.util.spec_from_file_location("refresh_catalog", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def rules_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    for name in FILES:
        (folder / name).write_text(resources.files("inboxready.core.rules").joinpath(name).read_text("utf-8"), "utf-8")
    return folder


def test_refresh_script_writes_the_published_ranges_and_costs(dns_server: DnsTestServer, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    mod = script()
    folder = rules_copy(tmp_path)
    for tree in CAPTURES["trees"]:
        serve(dns_server, tree)
    # Zendesk moved: a new range, one gone, and a nested include
    dns_server.replace_zone("mail.zendesk.com", '@ TXT "v=spf1 ip4:192.161.144.0/20 ip4:203.0.113.0/24 '
                                                'include:_spf2.mail.zendesk.com ~all"\n'
                                                '_spf2 TXT "v=spf1 ip6:2001:db8:7::/48 ~all"\n')
    ns = dns_server.address
    code = mod.main(["--rules", str(folder), "--nameserver", ns, "--timeout", "1", "--today", "2027-01-05",
                     "--write", "--captures", str(tmp_path / "captures.json")])
    out = capsys.readouterr().out
    assert code == 0, out
    services = {s["id"]: s for s in json.loads((folder / "sending_services.json").read_text())["services"]}
    zd = services["zendesk"]
    assert zd["ip_ranges"] == ["192.161.144.0/20", "203.0.113.0/24", "2001:db8:7::/48"]
    assert zd["checked"] == "2027-01-05" and "refresh_catalog.py on 2027-01-05" in zd["source"]
    catalog = {s["id"]: s for s in json.loads((folder / "spf_catalog.json").read_text())["services"]}
    assert catalog["zendesk"]["lookups"] == 2 and catalog["zendesk"]["checked"] == "2027-01-05"
    assert catalog["mailgun"]["lookups"] == 5 and catalog["mailgun"]["checked"] == "2026-12-07"  # unchanged
    # names the server couldn't answer for (not served here) are "couldn't check" and left as they were
    assert services["proofpoint"]["checked"] == "2026-12-07"
    assert "couldn't check" in out
    trees = {t["include"]: t for t in json.loads((tmp_path / "captures.json").read_text())["trees"]}
    assert "_spf2.mail.zendesk.com" in trees["mail.zendesk.com"]["records"]


def test_refresh_script_survives_loops_and_dead_servers(dns_server: DnsTestServer) -> None:
    mod = script()
    wide = " ".join(f'"include:w{i}.loop.test "' for i in range(70))  # one TXT record of many strings
    dns_server.add_zone("loop.test", '@ TXT "v=spf1 include:b.loop.test ~all"\nb TXT "v=spf1 include:loop.test ~all"\n'
                        f'wide TXT "v=spf1 " {wide} "~all"\n'
                        + "".join(f'w{i} TXT "v=spf1 include:x{i}.loop.test ~all"\n' for i in range(70))
                        + "".join(f'x{i} TXT "v=spf1 ip4:192.0.2.{i} ~all"\n' for i in range(70)))
    ns = dns_server.address
    r = mod.make_resolver([ns], 1.0)
    w = mod.walk(r, "loop.test")
    assert w.complete and any("loops back" in p for p in w.problems) and w.lookups == 3
    wide = mod.walk(r, "wide.loop.test")
    assert any("too large" in p for p in wide.problems) and wide.lookups == mod.MAX_LOOKUPS + 1
    dead = mod.walk(mod.make_resolver(["127.0.0.1:9"], 0.3), "anything.test")
    assert not dead.complete and "couldn't check" in dead.errors[0] and dead.lookups == 1


def test_refresh_script_lists_entries_older_than_a_year(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mod = script()
    folder = rules_copy(tmp_path)
    assert mod.main(["--rules", str(folder), "--stale", "--today", "2027-06-01"]) == 0
    data = json.loads((folder / "spf_catalog.json").read_text())
    data["services"][0]["checked"] = "2025-11-30"
    data["services"][1]["checked"] = "soon"
    (folder / "spf_catalog.json").write_text(json.dumps(data))
    capsys.readouterr()
    assert mod.main(["--rules", str(folder), "--stale", "--today", "2027-06-01", "--json"]) == 1
    old = json.loads(capsys.readouterr().out)
    assert [(o["entry"], o["why"]) for o in old] == [("spf_catalog.json: google", "548 days old"),
                                                    ("spf_catalog.json: microsoft365", "no date")]
    assert mod.main(["--rules", str(tmp_path), "--stale"]) == 2
