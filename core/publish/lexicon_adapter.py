"""Publishing through dns-lexicon: one ``ProviderSession`` per apply, nothing else contacted.

Lexicon speaks to about a hundred DNS hosts; we never write a provider client by hand. Its zone lookup
(``Client.__init__``) guesses the zone with ``tldextract``, which would try to download the public-suffix list
from the internet. We stop that twice over: ``TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS`` is set empty before
tldextract is imported (so every extractor, lexicon's and the module-level one some providers call, uses only
the snapshot it ships) and the already-made module-level extractor gets no URLs either; its cache goes to
our data folder (``TLDEXTRACT_CACHE_PATH``). Then the zone the DNS walk found is pinned as lexicon's
``domain`` (a config source put first, so lexicon's own guess is never used: it is wrong for zones outside
the public-suffix list). No environment variables or config files of lexicon are read (no ``with_env``):
only the account's options and secrets.

Lexicon is synchronous (``requests``): the async callers run a session in a thread. Every error is turned
into ``PublishError`` with a ``kind`` (``auth``, ``permission``, ``zone-not-found``, ``unreachable``,
``provider``, ``failed``) and plain words, with every secret scrubbed from it.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any, Sequence

from ..store.credentials import Secret, reveal, scrub

log = logging.getLogger(__name__)

os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""  # read by tldextract when an extractor is made

_lock = threading.Lock()
_configured = False


def _offline_tldextract() -> None:
    """Make every tldextract extractor in this process use its bundled snapshot only (no download)."""
    global _configured
    with _lock:
        os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
        from ..store.settings import data_dir

        cache = str(data_dir() / "tldextract")
        os.environ["TLDEXTRACT_CACHE_PATH"] = cache  # lexicon's Client cache
        os.environ["TLDEXTRACT_CACHE"] = cache  # tldextract's own default cache
        if _configured:
            return
        import tldextract.tldextract as tx

        tx.TLD_EXTRACTOR.suffix_list_urls = ()
        tx.TLD_EXTRACTOR.fallback_to_snapshot = True
        logging.getLogger("lexicon").setLevel(logging.WARNING)  # its debug logs print API responses
        _configured = True


class PublishError(RuntimeError):
    """Publishing couldn't go on. ``kind`` is stable; the message names the cause in plain words.
    ``maybe_applied``: the request that failed may have reached the DNS host and been applied (its answer
    was lost: no answer in time, the connection dropped after it was sent)."""

    def __init__(self, kind: str, message: str, *, maybe_applied: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.maybe_applied = maybe_applied


# How long one request to a DNS host's API may take: (connect, read) seconds. lexicon's providers call
# ``requests`` without a time limit, so a host that accepts the connection and never answers would hang
# publishing (and the app's dialog) for ever; every request made for a ``ProviderSession`` gets this limit.
API_TIMEOUT: tuple[float, float] = (10.0, 60.0)
_limits = threading.local()
_patched = False


def _limit_requests() -> None:
    """Give every ``requests`` call made while ``_limits.timeout`` is set on this thread that time limit (when
    the caller set none). Installed once; other code using ``requests`` in the process is not affected."""
    global _patched
    with _lock:
        if _patched:
            return
        import requests.adapters

        original = requests.adapters.HTTPAdapter.send

        def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            limit = getattr(_limits, "timeout", None)
            if limit is not None and not args and kwargs.get("timeout") is None:
                kwargs["timeout"] = limit
            return original(self, request, *args, **kwargs)

        requests.adapters.HTTPAdapter.send = send  # type: ignore[method-assign]
        _patched = True


class _ApiCall:
    """``with _ApiCall():`` around a call into lexicon: its HTTP requests get ``API_TIMEOUT``."""

    def __enter__(self) -> None:
        _limit_requests()
        self._was = getattr(_limits, "timeout", None)
        _limits.timeout = API_TIMEOUT

    def __exit__(self, *exc: object) -> None:
        _limits.timeout = self._was


def available_providers() -> dict[str, bool]:
    """lexicon's providers and whether their extra dependencies are installed."""
    from lexicon._private.discovery import find_providers  # lexicon's own list (what Client validates with)

    return find_providers()


def provider_option_names(provider: str) -> list[str]:
    """The options lexicon's ``provider`` takes, as its command line declares them (``auth_token`` …)."""
    import argparse
    import importlib

    name = provider.strip().lower()
    providers = available_providers()
    if name not in providers:
        from .hosts import load_hosts

        hint = ", ".join(sorted(h.lexicon for h in load_hosts() if h.lexicon))
        raise PublishError("provider", f"dns-lexicon has no provider called {provider!r} (for example: {hint}).")
    module = importlib.import_module(f"lexicon._private.providers.{name}")
    parser = argparse.ArgumentParser(add_help=False)
    module.Provider.configure_parser(parser)
    return [a.dest for a in parser._actions if a.dest and a.dest != "help"]


@dataclass(frozen=True)
class LiveRecord:
    type: str
    name: str  # full name, no final dot
    value: str  # lexicon's content (TXT: the text, unquoted)
    ttl: int | None
    id: str = ""
    raw: str = ""  # the content exactly as lexicon listed it (what a delete must name)
    # TXT: the record's character-strings in order, as the host holds them ('"v=DKIM1; k=rsa; " "p=MIIB…"' is
    # two), when its listing shows them (quoted content); () when the host gives only the joined text.
    strings: tuple[str, ...] = ()


def _parse_txt(text: str) -> tuple[str, ...] | None:
    try:
        import dns.rdata
        import dns.rdataclass
        import dns.rdatatype

        rd = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, text)
        return tuple(s.decode("utf-8", errors="replace") for s in rd.strings)  # type: ignore[attr-defined]
    except Exception:
        return None


def txt_strings(content: str, *, quoted_host: bool = False) -> tuple[str, ...]:
    """The character-strings of lexicon's TXT ``content`` when it is in zone-file form (PowerDNS lists
    '"a" "b"' with only the outer quotes stripped: ``quoted_host``); () when it is plain joined text (the
    host's API doesn't show how the record is split)."""
    c = content.strip()
    if quoted_host or '" "' in c or (c.startswith('"') and c.endswith('"') and len(c) >= 2):
        text = c if c.startswith('"') and c.endswith('"') and len(c) >= 2 else '"' + c + '"'
        return _parse_txt(text) or ()
    return ()


def _txt_text(content: str) -> str:
    """lexicon's TXT content as the plain text: providers that keep the presentation form (PowerDNS:
    '"a" "b"' with only the outer quotes stripped) give the strings joined."""
    c = content.strip()
    if '" "' in c or (c.startswith('"') and c.endswith('"') and len(c) >= 2):
        strings = txt_strings(c)
        return "".join(strings) if strings else c.strip('"')
    return c


def _host(provider: str) -> Any:
    from .hosts import host_for_provider

    return host_for_provider(provider)


def _quoted_api(provider: str) -> bool:
    host = _host(provider)
    return host is not None and host.api_txt == "quoted"


def content_for(provider: str, rtype: str, value: str, strings: "Sequence[str] | None" = None) -> str:
    """The content lexicon gets for a record. Hosts whose API wants TXT content in zone-file form (catalog
    ``api_txt: quoted``: PowerDNS, Gandi's LiveDNS) get quoted strings of at most 255 bytes: lexicon passes
    the content through (PowerDNS: adding only outer quotes), so a long DKIM key would otherwise be one
    over-long string, and an unquoted value would be split at its spaces. ``strings``: the exact
    character-strings to publish (a record put back as it was: '"v=DKIM1; k=rsa; " "p=…"' stays two strings
    split where they were), used only when they make up ``value`` and none is over 255 bytes. Hosts whose API
    takes plain text split it themselves (their listing shows no strings either), so they get the text."""
    if rtype.upper() == "TXT" and _quoted_api(provider):
        from ..model import MAX_TXT_STRING, quote_txt, split_txt

        parts = list(strings) if strings and "".join(strings) == value and all(
            len(s.encode("utf-8")) <= MAX_TXT_STRING for s in strings) else split_txt(value)
        return " ".join(quote_txt(s) for s in parts)
    return value


def provider_config(provider: str, options: dict[str, str], secrets: dict[str, str]) -> dict[str, Any]:
    """lexicon's options for ``provider``: the catalog's ``option_defaults`` (e.g. Gandi: api_protocol=rest,
    its LiveDNS API, not the retired XML-RPC one lexicon defaults to), then the account's options and
    secrets."""
    host = _host(provider)
    defaults = dict(host.option_defaults) if host is not None else {}
    return {**defaults, **options, **secrets}


class _TtlSource:
    """A lexicon config source that answers only ``lexicon:ttl`` (changed per operation)."""

    def __init__(self, ttl: int) -> None:
        self.ttl = ttl

    def resolve(self, config_key: str) -> str | None:
        return str(self.ttl) if config_key == "lexicon:ttl" else None


class ProviderSession:
    """An authenticated lexicon provider for one zone. Use as a context manager (in a worker thread)."""

    def __init__(self, provider: str, options: dict[str, str], secrets: dict[str, "str | Secret"], zone: str,
                 *, ttl: int = 3600) -> None:
        self.provider = provider
        self.zone = zone.strip().rstrip(".").lower()
        self._options = dict(options)
        self._secrets = {k: reveal(v) for k, v in secrets.items()}
        self._ttl = _TtlSource(ttl)
        self._client: Any = None
        self._ops: Any = None

    def _scrub(self, text: str) -> str:
        return scrub(text, *self._secrets.values())

    def __enter__(self) -> "ProviderSession":
        _offline_tldextract()
        from lexicon.client import Client
        from lexicon.config import ConfigResolver, DictConfigSource
        from lexicon.exceptions import ProviderNotAvailableError

        provider_cfg = provider_config(self.provider, self._options, self._secrets)
        config = ConfigResolver().with_dict({"provider_name": self.provider, "domain": self.zone,
                                             "delegated": self.zone, "ttl": 3600, self.provider: provider_cfg})
        try:
            with _ApiCall():
                client = Client(config)
        except ProviderNotAvailableError as exc:
            raise PublishError("provider", self._scrub(str(exc))) from None
        except Exception as exc:
            raise self.classify(exc, "set up the connection") from None
        client.config.add_config_source(DictConfigSource({"domain": self.zone}), 0)  # the zone the DNS walk found
        client.config.add_config_source(self._ttl, 0)  # type: ignore[arg-type]
        try:
            with _ApiCall():
                self._ops = client.__enter__()
        except Exception as exc:
            raise self.classify(exc, "sign in") from None
        self._client = client
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            try:
                with _ApiCall():
                    self._client.__exit__(None, None, None)
            except Exception:
                log.debug("closing the DNS host session failed", exc_info=True)
        self._client = self._ops = None

    def refresh(self) -> None:
        """Sign in again, so that what is read next comes from the DNS host, never from what the provider kept
        of an earlier listing (after a refused call that can be wrong: lexicon's PowerDNS provider takes the
        record out of its copy before the call that fails)."""
        self.__exit__(None, None, None)
        self.__enter__()

    # -- operations ---------------------------------------------------------------------------------

    def _name(self, host: str) -> str:
        return host.strip().rstrip(".").lower()

    def list(self, rtype: str, host: str) -> list[LiveRecord]:
        try:
            with _ApiCall():
                rows = self._ops.list_records(rtype.upper(), self._name(host))
        except Exception as exc:
            raise self.classify(exc, f"read the {rtype} records of {host}") from None
        out = []
        for r in rows or []:
            if str(r.get("type", "")).upper() != rtype.upper():
                continue
            name = str(r.get("name", "")).rstrip(".").lower()
            if name != self._name(host):
                continue
            content = str(r.get("content", ""))
            value = _txt_text(content) if rtype.upper() == "TXT" else content
            ttl = r.get("ttl")
            strings = txt_strings(content, quoted_host=_quoted_api(self.provider)) if rtype.upper() == "TXT" else ()
            if strings and "".join(strings) != value:
                strings = ()
            out.append(LiveRecord(rtype.upper(), name, value, int(ttl) if isinstance(ttl, (int, str)) and
                                  str(ttl).isdigit() else None, str(r.get("id", "")), content, strings))
        return out

    def create(self, rtype: str, host: str, value: str, ttl: int,
               strings: "Sequence[str] | None" = None) -> None:
        """Add one record (``strings``: a TXT record's exact character-strings, see ``content_for``)."""
        self._ttl.ttl = int(ttl)
        try:
            with _ApiCall():
                self._ops.create_record(rtype.upper(), self._name(host),
                                        content_for(self.provider, rtype, value, strings))
        except Exception as exc:
            raise self.classify(exc, f"add the {rtype} record at {host}", write=True) from None

    def delete(self, rtype: str, host: str, value: str, raw: str = "") -> None:
        """Delete one record by type, name and content: ``raw`` as the listing gave it (exactly that record;
        lexicon's ids don't survive a '/' in the content), else the value in the form we create it."""
        try:
            with _ApiCall():
                self._ops.delete_record(None, rtype.upper(), self._name(host),
                                        raw or content_for(self.provider, rtype, value))
        except Exception as exc:
            raise self.classify(exc, f"delete the {rtype} record at {host}", write=True) from None

    def replace_in_set(self, rtype: str, host: str, old: LiveRecord, value: str, ttl: int,
                       strings: "Sequence[str] | None" = None) -> bool:
        """Swap the record ``old`` for ``value`` in ONE request, the name's other records of that type kept,
        where the DNS host can (PowerDNS: a PATCH with ``changetype: REPLACE`` sets a name's whole record set
        at once): no moment has both records (two SPF records are a permerror for whoever looks then) or
        neither. Returns False, having sent nothing, where it can't: lexicon has no such operation (its
        ``update_record`` is a delete and a create at PowerDNS, and differs per provider), so it is done with
        the provider's own signed-in API calls. A ``PublishError`` of kind ``changed`` (nothing sent) when
        ``old`` is no longer there."""
        prov = getattr(self._ops, "provider", None)
        if self.provider != "powerdns" or prov is None or not all(
                hasattr(prov, a) for a in ("_patch", "zone_data", "_clean_content", "_fqdn_name", "_ensure_dot")):
            return False
        up = rtype.upper()
        try:
            with _ApiCall():
                prov._zone_data = None  # what the host has now, not an earlier listing
                rname = str(prov._fqdn_name(self._name(host))).lower()
                rrset = next((r for r in prov.zone_data().get("rrsets", [])
                              if str(r.get("name", "")).lower() == rname and r.get("type") == up), None)
        except Exception as exc:
            raise self.classify(exc, f"read the {rtype} records of {host}") from None

        def text(content: str) -> str:
            return _txt_text(content) if up == "TXT" else content

        records = list(rrset.get("records", [])) if rrset else []
        gone = next((r for r in records if r.get("content") == prov._clean_content(up, old.raw)), None) or next(
            (r for r in records if text(str(r.get("content", ""))) == old.value), None)
        if rrset is None or gone is None:
            raise PublishError("changed", f"The {rtype} record at {host} that was to be replaced is no longer "
                                          "there (it changed at the DNS host meanwhile); nothing was changed.")
        new_content = prov._clean_content(up, content_for(self.provider, rtype, value, strings))
        kept = [{"content": r.get("content"), "disabled": bool(r.get("disabled", False))} for r in records
                if r is not gone]
        if all(r["content"] != new_content for r in kept):
            kept.append({"content": new_content, "disabled": False})
        body = {"rrsets": [{"name": rrset.get("name", rname), "type": up, "ttl": int(rrset.get("ttl") or ttl),
                            "changetype": "REPLACE", "records": kept}]}
        try:
            with _ApiCall():
                prov._patch("/zones/" + prov._ensure_dot(prov.domain), data=body)
        except Exception as exc:
            raise self.classify(exc, f"replace the {rtype} record at {host}", write=True) from None
        finally:
            prov._zone_data = None
        try:
            with _ApiCall():
                prov.notify_slaves()
        except Exception:
            log.debug("notifying secondaries failed", exc_info=True)
        return True

    # -- errors -------------------------------------------------------------------------------------

    def classify(self, exc: BaseException, action: str, *, write: bool = False) -> PublishError:
        """``exc`` in plain words. ``write``: the failed call was meant to change a record (a lost answer then
        means it may have been applied)."""
        import requests

        text = self._scrub(f"{type(exc).__name__}: {exc}")[:400]
        status = None
        retry = ""
        if isinstance(exc, requests.HTTPError) and exc.response is not None:
            status = exc.response.status_code
            try:
                body = _plain_body(self._scrub(exc.response.text), exc.response.headers.get("Content-Type", ""))
                retry = str(exc.response.headers.get("Retry-After", "")).strip()
            except Exception:
                body = ""
            reason = self._scrub(str(exc.response.reason or ""))[:60]
            text = f"HTTP {status}" + (f" {reason}" if reason else "") + (f": {body}" if body else "")
        low = text.lower()
        where = f"the DNS host's API ({self.provider})"
        seconds = f"{API_TIMEOUT[1]:g} s"
        if isinstance(exc, requests.ConnectTimeout) or (
                isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.Timeout)
                and _never_sent(exc)) or "connection refused" in low:
            return PublishError("unreachable", f"Couldn't reach {where} to {action}: nothing was changed by this "
                                               f"step. ({text})")
        if isinstance(exc, (requests.Timeout, requests.ConnectionError)):
            if isinstance(exc, requests.Timeout):
                what = f"{where} didn't answer within {seconds} when asked to {action}"
            else:
                what = f"the connection to {where} was lost when it was asked to {action}"
            if write:
                return PublishError("no-answer", f"{what[0].upper()}{what[1:]}: the change may have been applied "
                                                 "all the same (the journal marks it so, and undo looks at what is "
                                                 f"there). ({text})", maybe_applied=True)
            return PublishError("no-answer", f"{what[0].upper()}{what[1:]}; try again in a few minutes. ({text})")
        if status == 401 or "authentication" in low or "unauthorized" in low or "invalid api key" in low \
                or "invalid token" in low:
            return PublishError("auth", f"{where} refused the key when asked to {action}: the API key or token "
                                        f"is wrong or expired. Add the account again with the right one. ({text})")
        if status == 403 or "forbidden" in low or "permission" in low or "not authorized" in low:
            return PublishError("permission", f"{where} said this key may not {action}: give the token the "
                                              f"permission to edit DNS records of {self.zone}. ({text})")
        if status == 429:
            wait = f" (it asks to wait {retry} s)" if retry.isdigit() else ""
            return PublishError("busy", f"{where} refused to {action} because it got too many requests{wait}: "
                                        f"wait a minute and try again. ({text})")
        if status is not None and status >= 500:
            return PublishError("host-error", f"{where} failed on its side (HTTP {status}) when asked to "
                                              f"{action}; this is not a problem with your records: try again "
                                              f"later. ({text})")
        if status == 404 or "not found" in low or "could not find" in low or "no domain" in low \
                or "domain not found" in low or "zone" in low and "not" in low:
            return PublishError("zone-not-found", f"The zone {self.zone} can't be found at this account of {where} "
                                                  f"(couldn't {action}). Is the domain in this account? ({text})")
        if status is not None and 400 <= status < 500:
            return PublishError("refused", f"{where} refused to {action} (HTTP {status}). It names the reason: "
                                           f"{text}")
        return PublishError("failed", f"{where} failed to {action}: {text}")


def _never_sent(exc: BaseException) -> bool:
    """A ``requests.ConnectionError`` raised before the request reached the server (refused, no route, name not
    found): nothing can have been applied."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        name = type(cur).__name__
        if name in ("NewConnectionError", "NameResolutionError", "ConnectTimeoutError", "ConnectionRefusedError"):
            return True
        for arg in getattr(cur, "args", ()):
            if isinstance(arg, BaseException) and id(arg) not in seen:
                if _never_sent(arg):
                    return True
        reason = getattr(cur, "reason", None)
        if isinstance(reason, BaseException) and id(reason) not in seen:
            cur = reason
            continue
        cur = cur.__cause__ or cur.__context__
    return False


def _plain_body(body: str, content_type: str) -> str:
    """An error answer's body as a short line of words: an HTML error page gives its title (or first heading,
    or its text without markup, scripts and styles); JSON gives its error/message field."""
    import html
    import json
    import re

    b = body.strip()
    if not b:
        return ""
    if "html" in content_type.lower() or b[:1] == "<":
        m = re.search(r"<title[^>]*>(.*?)</title>", b, re.I | re.S) or re.search(r"<h1[^>]*>(.*?)</h1>", b, re.I | re.S)
        if m:
            text = re.sub(r"<[^>]*>", " ", m.group(1))
        else:
            text = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", b, flags=re.I | re.S)
            text = re.sub(r"<[^>]*>", " ", text)
        text = html.unescape(text)
    else:
        text = b
        try:
            data = json.loads(b)
        except ValueError:
            data = None
        if isinstance(data, dict):
            for key in ("error", "message", "detail", "errors", "title"):
                if data.get(key):
                    v = data[key]
                    text = v if isinstance(v, str) else json.dumps(v)
                    break
    text = " ".join(text.split())
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text[:200] + ("…" if len(text) > 200 else "")
