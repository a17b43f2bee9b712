"""Sign-in with Microsoft or Google for the ``profile`` command (``core.auth``).

    inboxready profile add NAME --imap HOST:PORT --oauth microsoft|google [--client-id ID] [--tenant T] --user U
    inboxready profile signin NAME [--browser | --no-browser]
    inboxready profile signout NAME

Microsoft signs in with a device code by default (open the page shown, type the code: works over SSH and
on a machine without a browser); ``--browser`` uses the browser and a loopback redirect instead. Google
allows no device codes for mail, so it always uses the browser: the address is printed (and opened
unless ``--no-browser``), and the browser must run on this computer (it returns to 127.0.0.1). Tokens go
to the system keyring only; nothing here prints them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from typing import Any, TextIO

from .out import shown

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FINDINGS, EXIT_UNCHECKED = 0, 1, 2


def add_arguments(add: argparse.ArgumentParser) -> None:
    """The sign-in options of ``profile add``."""
    add.add_argument("--oauth", choices=["microsoft", "google"], metavar="microsoft|google",
                     help="sign in with Microsoft (Microsoft 365, Outlook.com) or Google (Gmail, Workspace) instead "
                          "of a password: the sign-in starts right after the profile is saved")
    add.add_argument("--client-id", default="", metavar="ID",
                     help="with --oauth: your organisation's own app registration (its Application (client) ID), "
                          "for organisations that allow only apps their admin approved")
    add.add_argument("--tenant", default="", metavar="TENANT",
                     help="with --oauth microsoft: your organisation's tenant (its domain or tenant ID); default: "
                          "common")
    add.add_argument("--no-signin", action="store_true", help="with --oauth: save the profile, sign in later")
    _browser_options(add)


def _browser_options(p: argparse.ArgumentParser) -> None:
    how = p.add_mutually_exclusive_group()
    how.add_argument("--browser", action="store_true",
                     help="Microsoft: sign in in the browser on this computer instead of with a device code")
    how.add_argument("--no-browser", action="store_true",
                     help="don't open a browser; print the address to open (Google: on this computer)")


def register_actions(psub: Any) -> None:
    """``profile signin`` and ``profile signout``."""
    si = psub.add_parser("signin", help="sign a profile in with Microsoft or Google (again)",
                         description="Sign in the account of an OAuth profile: needed after adding it with "
                                     "--no-signin, after signing out, or when InboxReady says 'sign in again'.")
    si.add_argument("name", metavar="NAME", help="the profile to sign in")
    _browser_options(si)
    so = psub.add_parser("signout", help="forget a profile's Microsoft or Google sign-in",
                         description="Remove the sign-in kept in the system keyring for the profile's account "
                                     "(every profile of that account is signed out).")
    so.add_argument("name", metavar="NAME", help="the profile whose sign-in to forget")


def oauth_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The profile fields ``profile add`` takes for sign-in (empty when --oauth isn't given)."""
    if not getattr(args, "oauth", None):
        if getattr(args, "client_id", "") or getattr(args, "tenant", ""):
            from inboxready.core.mail.profiles import ProfileError

            raise ProfileError("--client-id and --tenant go with --oauth microsoft or --oauth google.")
        return {}
    return {"auth": "oauth", "oauth_provider": args.oauth, "oauth_client_id": args.client_id,
            "oauth_tenant": args.tenant}


def _open_browser(url: str) -> None:
    import webbrowser

    webbrowser.open(url, new=1, autoraise=True)


def sign_in(profile: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run the sign-in for ``profile`` and say how it went."""
    from inboxready.core.auth.flows import DeviceCode
    from inboxready.core.auth.flows import sign_in as core_sign_in

    provider = profile.oauth_provider
    name = "Microsoft" if provider == "microsoft" else "Google"
    use_device = provider == "microsoft" and not getattr(args, "browser", False)
    secret = os.environ.get("INBOXREADY_OAUTH_CLIENT_SECRET") or None  # Google: an organisation's own client

    def show_code(dc: DeviceCode) -> None:
        err.write(f"To sign in with {name} as {shown(profile.username)}: open {shown(dc.url)} in a browser (on any "
                  f"device) and enter the code {shown(dc.user_code)}. Waiting up to {max(1, dc.expires_in // 60)} "
                  "minutes…\n")
        err.flush()

    def open_url(url: str) -> None:
        err.write(f"To sign in with {name} as {shown(profile.username)}, open this address in a browser on this "
                  f"computer (it returns to InboxReady on 127.0.0.1):\n  {shown(url)}\nWaiting…\n")
        err.flush()
        if not getattr(args, "no_browser", False):
            try:
                _open_browser(url)
            except Exception:  # the address is printed
                log.debug("no browser could be opened", exc_info=True)

    async def go() -> Any:
        if use_device:
            return await core_sign_in(profile, device=show_code, client_secret=secret)
        return await core_sign_in(profile, open_url=open_url, client_secret=secret)

    result = asyncio.run(go())
    if result.ok:
        out.write(f"{shown(result.message)}\n")
        return EXIT_OK
    err.write(f"inboxready: {shown(result.message)}\n")
    if result.detail:
        err.write(f"  ({shown(result.detail)[:300]})\n")
    return EXIT_UNCHECKED if result.code in ("conn.oauth-unavailable", "conn.keyring-unavailable") else EXIT_FINDINGS


def cmd_signin(store: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.auth.tokens import key_for

    found = [p for p in store.find(args.name) if p.uses_oauth]
    if not found:
        if store.find(args.name):
            err.write(f"inboxready: the profile '{shown(args.name)}' signs in with a password; add it again with "
                      "--oauth microsoft or --oauth google to use sign-in instead\n")
        else:
            err.write(f"inboxready: there is no profile called '{shown(args.name)}'\n")
        return EXIT_UNCHECKED
    done: set[str] = set()
    code = EXIT_OK
    for p in found:
        key = key_for(p)
        if key in done:  # the sending and reading profiles of one account share the sign-in
            continue
        done.add(key)
        code = max(code, sign_in(p, args, out, err))
    return code


def cmd_signout(store: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.auth.flows import sign_out

    found = [p for p in store.find(args.name) if p.uses_oauth]
    if not found:
        err.write(f"inboxready: there is no profile called '{shown(args.name)}' that signs in with Microsoft or "
                  "Google\n")
        return EXIT_UNCHECKED
    removed = False
    for p in found:
        removed = sign_out(p) or removed
    who = shown(found[0].username)
    out.write(f"Signed out {who}: the sign-in was removed from the system keyring.\n" if removed else
              f"{who} wasn't signed in on this computer; nothing to remove.\n")
    return EXIT_OK


def sign_in_hint(result: Any, name: str) -> str:
    """The command to run when a result says "sign in again" ("" otherwise)."""
    from inboxready.core.auth.errors import SIGN_IN_AGAIN

    if getattr(result, "code", "") == SIGN_IN_AGAIN or getattr(result, "code", "") == "conn.oauth-scope":
        return f"To sign in again: inboxready profile signin {shown(name)}"
    return ""


__all__ = ["add_arguments", "cmd_signin", "cmd_signout", "oauth_fields", "register_actions", "sign_in", "sign_in_hint"]
