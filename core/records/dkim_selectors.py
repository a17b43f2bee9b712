"""The DKIM selector catalog (``rules/dkim_selectors.json``): the selectors to try and the sending services
that publish keys under them or behind CNAMEs. Read by the DKIM check (discovery) and the DMARC check (is
any DKIM key published before advising enforcement)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from ..dns.client import normalize_name

SELECTOR_FILE = "dkim_selectors.json"


@dataclass(frozen=True)
class Provider:
    """A sending service that publishes DKIM keys under known selectors or CNAME targets."""

    key: str
    name: str
    cname_suffixes: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class SelectorInfo:
    selector: str
    providers: tuple[Provider, ...] = ()

    @property
    def provider_name(self) -> str | None:
        """"Microsoft 365", "SendGrid or Mailchimp", or None for a generic name."""
        if not self.providers:
            return None
        return " or ".join(p.name for p in self.providers)


@dataclass(frozen=True)
class SelectorCatalog:
    providers: dict[str, Provider]
    selectors: tuple[SelectorInfo, ...]

    def info(self, selector: str) -> SelectorInfo | None:
        for s in self.selectors:
            if s.selector == selector:
                return s
        return None

    def provider_for_cname(self, target: str) -> Provider | None:
        """The provider whose key hosting ``target`` (a CNAME target) belongs to, if we know it."""
        t = normalize_name(target)
        for p in self.providers.values():
            for suffix in p.cname_suffixes:
                if t == suffix or t.endswith("." + suffix):
                    return p
        return None


@lru_cache(maxsize=1)
def load_catalog() -> SelectorCatalog:
    """The built-in selector list (``inboxready.core.rules/dkim_selectors.json``)."""
    text = resources.files("inboxready.core.rules").joinpath(SELECTOR_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    providers = {
        key: Provider(key=key, name=str(p["name"]), cname_suffixes=tuple(p.get("cname_suffixes", [])),
                      note=str(p.get("note", "")))
        for key, p in data["providers"].items()
    }
    selectors = tuple(
        SelectorInfo(selector=str(s["selector"]).lower(),
                     providers=tuple(providers[k] for k in s.get("providers", [])))
        for s in data["selectors"]
    )
    return SelectorCatalog(providers=providers, selectors=selectors)


__all__ = ["SELECTOR_FILE", "Provider", "SelectorCatalog", "SelectorInfo", "load_catalog"]
