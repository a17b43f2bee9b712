"""The DNS host catalog after its fact-check (core/rules/CHECKED.md): every entry names the page read and the
date, says honestly how sure it is, and names a lexicon provider (and options) that exist in the installed
lexicon; and the facts the fact-check corrected stay corrected."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources

import pytest

from inboxready.core.model import Fix
from inboxready.core.publish.hosts import get_host, host_form, load_hosts, match_hosts
from inboxready.core.publish.lexicon_adapter import content_for, provider_config, provider_option_names

CONFIDENCE = ("confirmed", "partly confirmed", "unconfirmed")


def _raw() -> dict:
    return json.loads(resources.files("inboxready.core.rules").joinpath("dns_hosts.json").read_text("utf-8"))


def test_every_entry_has_its_source_date_and_an_honest_confidence() -> None:
    data = _raw()
    assert data["checked"] == "2026-12-07"
    for h in load_hosts():
        assert h.source.startswith("https://"), h.id
        assert all(u.startswith("https://") for u in h.also_read), h.id
        assert h.checked == "2026-12-07" and dt.date.fromisoformat(h.checked), h.id
        assert h.confidence in CONFIDENCE, (h.id, h.confidence)
        if h.confidence != "confirmed":
            assert len(h.confidence_note) > 40, (h.id, "say what is not confirmed")
    raw = {h["id"]: h for h in data["hosts"]}
    assert all("from memory" not in json.dumps(h).lower() for h in raw.values())


@pytest.mark.parametrize("host", [h for h in load_hosts() if h.lexicon], ids=lambda h: h.id)
def test_lexicon_provider_and_its_options_exist_in_the_installed_lexicon(host) -> None:  # type: ignore[no-untyped-def]
    from lexicon._private.discovery import find_providers

    assert host.lexicon in find_providers(), host.id
    names = provider_option_names(host.lexicon)
    for opt in (*host.secrets, *host.options, *(k for k, _ in host.option_defaults)):
        assert opt in names, (host.id, opt, names)
    assert host.secrets and host.permission and host.token_steps, host.id


def test_hosts_without_an_api_say_to_add_the_record_by_hand() -> None:
    for h in load_hosts():
        if not h.lexicon:
            assert not h.secrets and not h.options and "by hand" in h.token_steps, h.id


def test_what_the_fact_check_corrected() -> None:
    # OVHcloud: lexicon lists the account's zones (GET /domain/zone/) before anything else, so a consumer key
    # limited to /domain/zone/DOMAIN/* could never sign in; its assistant takes at most 255 characters
    ovh = get_host("ovh")
    assert ovh is not None and "GET on /domain/zone/" in ovh.permission and ovh.form.max_value == 255
    key = "v=DKIM1; k=rsa; p=" + "A" * 392
    notes = " ".join(host_form(Fix("s1._domainkey.shop.fr", "TXT", key), "shop.fr", ovh).notes)
    assert "at most 255 characters" in notes and "Change in text format" in notes
    assert [h.id for h in match_hosts(["dns200.anycast.me", "ns200.anycast.me"])] == ["ovh"]
    # Hetzner: DNS moved to the Hetzner Console, whose zones use three name-server sets
    for ns in ("hydrogen.ns.hetzner.com", "ns1.first-ns.de", "robotns3.second-ns.com", "ns.second-ns.com"):
        assert [h.id for h in match_hosts([ns])] == ["hetzner"], ns
    assert match_hosts(["ns1.your-dns.com"]) == []  # not a Hetzner name server set
    het = get_host("hetzner")
    assert het is not None and "Hetzner Console" in het.token_steps and "Read & Write" in het.permission
    # Gandi: lexicon's default protocol is the retired XML-RPC API; LiveDNS wants TXT values quoted
    assert provider_config("gandi", {}, {"auth_token": "t"}) == {"api_protocol": "rest", "auth_token": "t"}
    assert provider_config("gandi", {"api_protocol": "rpc"}, {})["api_protocol"] == "rpc"  # the user's choice wins
    assert content_for("gandi", "TXT", "v=DMARC1; p=none") == '"v=DMARC1; p=none"'
    assert content_for("gandi", "TXT", key).count('" "') == 1
    assert content_for("cloudflare", "TXT", "v=DMARC1; p=none") == "v=DMARC1; p=none"
    assert content_for("powerdns", "TXT", "v=spf1 -all") == '"v=spf1 -all"'
    # Azure: names relative to the zone, '@' for the apex; Bluehost: Host Record '@', TTL 14400 (its lowest)
    az, bh = get_host("azure"), get_host("bluehost")
    assert az is not None and ("Name", "@") in host_form(Fix("shop.com", "TXT", "v=spf1 -all"), "shop.com", az).fields
    assert bh is not None and dict(host_form(Fix("shop.com", "TXT", "v=spf1 -all"), "shop.com", bh).fields)["TTL"] == "14400"
    # Wix: Host Name left empty for the domain itself
    wix = get_host("wix")
    assert wix is not None and ("Host Name", "") in host_form(Fix("shop.com", "TXT", "v=spf1 -all"), "shop.com", wix).fields
