"""The record builders' jobs (the app's Builders window): each asks DNS with a client of its own and returns
its result as a wire value (``values.to_wire``), or a plain-words string when the input can't be built."""

from __future__ import annotations

import asyncio
from typing import Any

from ..builders import dkimkeys
from ..builders import dmarc as dmarc_builder
from ..builders import spf as spf_builder
from ..builders.whatif import WhatIfError, what_if
from ..dns.client import DEFAULT_TIMEOUT, DnsClient
from . import protocol as p
from .server import Handler, Job
from .values import to_wire


def _client(job: Job) -> DnsClient:
    timeout = float(job.params.get("timeout") or DEFAULT_TIMEOUT)
    return DnsClient(job.params.get("nameservers"), timeout=timeout, deadline=max(30.0, timeout * 8))


def _str_list(job: Job, key: str) -> list[str]:
    value = job.params.get(key) or []
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise p.ProtocolError(f"{key} must be a list of strings")
    return value


def _opt_str(job: Job, key: str) -> str | None:
    value = job.params.get(key)
    return str(value) if value else None


async def spf_count(job: Job) -> Any:
    """The SPF record for the ticked services and IPs, its lookups counted over DNS (merged with the domain's
    current record when ``domain`` is given)."""
    client = _client(job)
    try:
        return to_wire(await spf_builder.build_spf_live(
            _str_list(job, "services"), _str_list(job, "ips"), None, dns=client, domain=_opt_str(job, "domain"),
            all_qualifier=_opt_str(job, "all_qualifier")))
    except spf_builder.SpfBuildError as exc:
        return str(exc)
    finally:
        client.close()


async def spf_flatten(job: Job) -> Any:
    client = _client(job)
    try:
        return to_wire(await spf_builder.flatten(str(job.params.get("record") or "v=spf1 ~all"), client,
                                                 _opt_str(job, "domain")))
    finally:
        client.close()


async def dmarc_ladder(job: Job) -> Any:
    """The DMARC steps for ``domain``, the current record marked: (steps, current, note), or a string (also
    when the current record couldn't be read: no step is offered as if there were no record)."""
    domain = str(job.params.get("domain") or "")
    client = _client(job)
    try:
        now = await dmarc_builder.read_current(client, domain)
    finally:
        client.close()
    if not now.known:
        return now.message
    try:
        steps = dmarc_builder.dmarc_ladder(domain, _opt_str(job, "rua"), current=now.record,
                                           sp=_opt_str(job, "sp"), np=_opt_str(job, "np"), ignored=now.ignored)
    except dmarc_builder.DmarcBuildError as exc:
        return str(exc)
    return to_wire((steps, now.record if now.state == "found" else None, now.message))


async def dkim_generate(job: Job) -> Any:
    """A new DKIM key (generated here: CPU work, off the GUI) and its rotation plan: (key, plan) or a string.
    The private key goes back to the window once, over the pipe; it is never logged."""
    domain = str(job.params.get("domain") or "")
    kind = str(job.params.get("kind") or "rsa")
    bits = int(job.params.get("bits") or 2048)
    selector, old = _opt_str(job, "selector"), _opt_str(job, "old_selector")
    try:
        key = await asyncio.to_thread(dkimkeys.generate_key, domain, selector, kind, bits if kind == "rsa" else 2048)
    except dkimkeys.DkimKeyError as exc:
        return str(exc)
    old_value, old_state = None, None
    if old:
        client = _client(job)
        try:
            old_value, old_state = await dkimkeys.lookup_current_key(client, domain, old)
        finally:
            client.close()
    return to_wire((key, dkimkeys.rotation_plan(key, old, old_value, old_state=old_state)))


async def whatif(job: Job) -> Any:
    """The domain checked as if the record were published: a ``DomainReport``, or a string."""
    options = p.options_from_json(job.params.get("options") or {})
    client = _client(job)
    try:
        return to_wire(await what_if(str(job.params.get("domain") or ""), str(job.params.get("host") or "@"),
                                     str(job.params.get("rdtype") or "TXT"), str(job.params.get("value") or ""),
                                     options, client=client))
    except WhatIfError as exc:
        return str(exc)
    finally:
        client.close()


HANDLERS: dict[str, Handler] = {"spf_count": spf_count, "spf_flatten": spf_flatten, "dmarc_ladder": dmarc_ladder,
                                "dkim_generate": dkim_generate, "whatif": whatif}

__all__ = ["HANDLERS"]
