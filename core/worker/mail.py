"""The mail jobs (the app's Test a message screen and profile dialog): a round trip, waiting for a message,
pasted headers, a bounce, a connection test and an OAuth sign-in. Arguments and results are wire values
(``values``); progress goes out as ``progress`` events. Passwords are never sent here except the one a
person just typed for a connection test (``password``), which is used once and never logged or echoed;
saved ones are read from the OS keyring in this process, as the CLI does."""

from __future__ import annotations

from typing import Any

from ..dns.client import DnsClient
from .server import Handler, Job
from .values import from_wire, to_wire


def _arg(job: Job, key: str) -> Any:
    return from_wire(job.params.get(key))


def _client(job: Job, wait: float) -> DnsClient:
    kw: dict[str, Any] = {"deadline": wait + 60}
    if job.params.get("dns_timeout") is not None:
        kw["timeout"] = float(job.params["dns_timeout"])
    return DnsClient(job.params.get("nameservers"), **kw)


def _progress(job: Job) -> Any:
    return lambda p: job.progress(to_wire(p))


async def _link(report: Any, client: DnsClient) -> None:
    """Attach the domain check's fixes to the failing cards (the core does the checking)."""
    if report is None:
        return
    from ..mail.links import link_domain_fixes

    await link_domain_fixes(report, client=client)


async def roundtrip(job: Job) -> Any:
    from ..mail.roundtrip import roundtrip as run

    wait = float(job.params.get("timeout") or 120)
    client = _client(job, wait)
    try:
        result = await run(_arg(job, "send"), _arg(job, "read"), to=job.params.get("to"), timeout=wait,
                           on_progress=_progress(job), dns=client, unsubscribe_url=job.params.get("unsubscribe_url"))
        await _link(result.report, client)
        return to_wire(result)
    finally:
        client.close()


async def watch_token(job: Job) -> Any:
    from ..mail.roundtrip import await_message

    wait = float(job.params.get("timeout") or 600)
    client = _client(job, wait)
    try:
        result = await await_message(_arg(job, "read"), str(job.params.get("token") or ""), timeout=wait,
                                       on_progress=_progress(job), dns=client)
        await _link(result.report, client)
        return to_wire(result)
    finally:
        client.close()


async def analyze_paste(job: Job) -> Any:
    from ..mail.message import analyze_message

    raw = _arg(job, "raw")
    if not isinstance(raw, bytes):
        raise ValueError("the pasted message is not bytes")
    client = _client(job, 30.0)
    try:
        report = await analyze_message(raw, dns=client, content=True, spamassassin=True)
        await _link(report, client)
        return to_wire(report)
    finally:
        client.close()


async def bounce(job: Job) -> Any:
    from ..bounce import analyze_bounce
    from . import protocol as p

    raw = _arg(job, "raw")
    options = p.options_from_json(job.params.get("options") or {})
    return to_wire(await analyze_bounce(raw, options=options, domain=job.params.get("domain") or None))


async def profile_test(job: Job) -> Any:
    from ..mail.roundtrip import check_profile

    password = job.params.get("password")
    return to_wire(await check_profile(_arg(job, "profile"), password=str(password) if password else None))


async def sign_in(job: Job) -> Any:
    """OAuth sign-in in the system browser: the provider's page goes to the window as a progress event
    ``{"open_url": url}`` (the window opens it); the loopback listener for the redirect runs here."""
    from ..auth.flows import sign_in as run

    return to_wire(await run(_arg(job, "profile"), open_url=lambda url: job.progress({"open_url": url})))


HANDLERS: dict[str, Handler] = {"roundtrip": roundtrip, "watch_token": watch_token, "analyze_paste": analyze_paste,
                                "bounce": bounce, "profile_test": profile_test, "sign_in": sign_in}

__all__ = ["HANDLERS"]
