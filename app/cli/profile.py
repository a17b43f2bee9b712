"""``inboxready profile add|list|test|remove|signin|signout``: the mail accounts that send and read test
messages (``core/mail/profiles.py``). Passwords go to the system keyring only, read from
INBOXREADY_PASSWORD or asked for; never from the command line. Signing in with Microsoft or Google is in
``oauth.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any, TextIO

from . import oauth as cli_oauth
from .out import shown, write_json
from .text import _Style, _use_colour

EXIT_OK, EXIT_FINDINGS, EXIT_UNCHECKED = 0, 1, 2


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    profile = sub.add_parser("profile", help="sending and reading profiles for test messages",
                             description="Manage the mail accounts used to send and read test messages. "
                                         "Passwords go to the system keyring only.")
    psub = profile.add_subparsers(dest="profile_command", metavar="ACTION")
    add = psub.add_parser("add", help="add or replace a profile",
                          description="Add a sending (--smtp) or reading (--imap) profile. The password is read "
                                      "from INBOXREADY_PASSWORD or asked for, and stored in the keyring.")
    where = add.add_mutually_exclusive_group(required=True)
    where.add_argument("--smtp", metavar="HOST[:PORT]", help="a sending profile on this SMTP server")
    where.add_argument("--imap", metavar="HOST[:PORT]", help="a reading profile on this IMAP server")
    add.add_argument("name", metavar="NAME", help="a name for the profile, e.g. shop or inbox")
    add.add_argument("--security", choices=["ssl", "starttls", "none"],
                     help="implicit TLS, STARTTLS, or none (unencrypted: only for testing); default from the port")
    add.add_argument("--user", default="", metavar="USER", help="the account's user name")
    add.add_argument("--from", dest="from_addr", default="", metavar="ADDR", help="From address of test messages")
    add.add_argument("--address", default="", metavar="ADDR",
                     help="reading profile: the mailbox's address (default: the user name)")
    add.add_argument("--ca-file", default="", metavar="PEM",
                     help="also trust the CA certificates in this file (a private CA)")
    add.add_argument("--receiver", action="append", default=[], metavar="AUTHSERV-ID",
                     help="reading profile: the receiving service's Authentication-Results id (repeatable)")
    add.add_argument("--no-password", action="store_true", help="the server needs no password")
    cli_oauth.add_arguments(add)
    lst = psub.add_parser("list", help="list the profiles", description="List the sending and reading profiles "
                                                                        "(never their passwords).")
    lst.add_argument("--json", action="store_true", help="print JSON instead of text")
    test = psub.add_parser("test", parents=[common], help="try to connect and sign in",
                           description="Connect to the profile's server and sign in, without sending anything. Without a "
                                       "keyring, the password comes from INBOXREADY_SMTP_PASSWORD (sending) or "
                                       "INBOXREADY_IMAP_PASSWORD (reading).",
                           epilog="Exit codes: 0 every profile of that name signed in; 1 one couldn't (the reason "
                                  "is printed); 2 no such profile, or bad input.")
    test.add_argument("name", metavar="NAME", help="the profile to try (its sending and reading profile)")
    rm = psub.add_parser("remove", help="remove a profile and its password",
                         description="Remove a profile and its password from the keyring.")
    rm.add_argument("name", metavar="NAME", help="the profile to remove")
    kind = rm.add_mutually_exclusive_group()
    kind.add_argument("--send", action="store_true", help="only the sending profile of that name")
    kind.add_argument("--read", action="store_true", help="only the reading profile of that name")
    cli_oauth.register_actions(psub)
    profile.set_defaults(handler=cmd_profile)


def _password_from_env_or_prompt(err: TextIO, what: str) -> str | None:
    value = os.environ.get("INBOXREADY_PASSWORD")
    if value:
        return value
    if not sys.stdin or not sys.stdin.isatty():
        return None
    import getpass

    return getpass.getpass(f"Password for {what} (stored in the system keyring): ")


def cmd_profile(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inboxready.core.mail import profiles as P
    from inboxready.core.store.credentials import KeyringUnavailable
    from inboxready.core.mail.roundtrip import check_profile

    store = P.ProfileStore()
    if store.problem:
        err.write(f"inboxready: {store.problem}\n")
    action = args.profile_command
    try:
        if action == "add":
            is_send = args.smtp is not None
            host, port = P.split_host_port(args.smtp if is_send else args.imap, 587 if is_send else 993)
            security = P.Security.parse(args.security) if args.security else P.security_for_port(port)
            profile: Any
            oauth = cli_oauth.oauth_fields(args)
            if is_send:
                profile = P.SendProfile(name=args.name, host=host, port=port, security=security,
                                        username=args.user, from_addr=args.from_addr, ca_file=args.ca_file, **oauth)
            else:
                profile = P.ReadProfile(name=args.name, host=host, port=port, security=security,
                                        username=args.user, address=args.address, ca_file=args.ca_file,
                                        authserv_ids=list(args.receiver), **oauth)
            password = None
            if oauth:
                store.put(profile, None)
                kind = "sending" if is_send else "reading"
                out.write(f"Saved {kind} profile '{shown(profile.name)}' ({shown(host)}:{port}, {security}), signing "
                          f"in with {'Microsoft' if profile.oauth_provider == 'microsoft' else 'Google'}.\n")
                if args.no_signin:
                    out.write(f"Sign in when ready: inboxready profile signin {shown(profile.name)}\n")
                    return EXIT_OK
                code = cli_oauth.sign_in(profile, args, out, err)
                if code != EXIT_OK:
                    err.write(f"The profile was saved; sign in later with: inboxready profile signin "
                              f"{shown(profile.name)}\n")
                return code
            if not args.no_password and profile.username:
                password = _password_from_env_or_prompt(err, f"{profile.username} on {host}")
                if password is None:
                    err.write("inboxready: no password: set INBOXREADY_PASSWORD or run this in a terminal to be "
                              "asked (use --no-password if the server needs none)\n")
                    return EXIT_UNCHECKED
            kind = "sending" if is_send else "reading"
            try:
                store.put(profile, password)
            except KeyringUnavailable:
                if password is None:
                    raise
                # no keyring to keep it in: the password is kept nowhere, the rest of the profile is saved and
                # each run takes the password from the environment (never from a file or the command line)
                store.put(profile, None)
                var = "INBOXREADY_SMTP_PASSWORD" if is_send else "INBOXREADY_IMAP_PASSWORD"
                out.write(f"Saved {kind} profile '{shown(profile.name)}' ({shown(host)}:{port}, {security}) without "
                          "its password: there is no keyring on this computer to keep it in, and InboxReady keeps "
                          f"passwords nowhere else.\nFor each run, give the password in {var}, e.g. "
                          f"{var}=... inboxready " + ("roundtrip --send-profile " if is_send else
                                                     "watch --read-profile ") + f"{shown(profile.name)} ...\n")
                err.write("inboxready: to keep the password instead, set up a keyring: "
                          "'python -m keyring diagnose' says which one is in use.\n")
                return EXIT_FINDINGS
            out.write(f"Saved {kind} profile '{shown(profile.name)}' ({shown(host)}:{port}, {security})"
                      + (", password in the system keyring" if password else "") + ".\n")
            for w in profile.warnings:
                err.write(f"inboxready: warning: {shown(w)}\n")
            return EXIT_OK
        if action == "list":
            items = store.all()
            if args.json:
                write_json([dict(p.to_json(), kind=p.kind) for p in items], out)
            elif not items:
                out.write("No profiles yet. Add one with: inboxready profile add NAME --smtp HOST:PORT --user USER\n")
            for p in items if not args.json else []:
                how = f" (sign-in: {p.oauth_provider.title()})" if p.uses_oauth else ""
                out.write(f"{p.kind:<5} {shown(p.name):<20} {shown(p.host)}:{p.port} {p.security} "
                          f"{shown(p.username)}{how}\n")
            return EXIT_OK
        if action == "test":
            found = store.find(args.name)
            if not found:
                err.write(f"inboxready: there is no profile called '{shown(args.name)}'\n")
                return EXIT_UNCHECKED

            def env_password(p: Any) -> str | None:  # as roundtrip and watch take it (a computer without keyring)
                return os.environ.get("INBOXREADY_SMTP_PASSWORD" if p.kind == "send" else "INBOXREADY_IMAP_PASSWORD") \
                    or None

            async def go() -> list[Any]:
                return [await check_profile(p, password=None if p.uses_oauth else env_password(p),
                                            timeout=max(5.0, args.timeout * 3)) for p in found]

            results = asyncio.run(go())
            if args.json:
                write_json([dict(r.to_json(), profile=p.id) for p, r in zip(found, results)], out, ensure_ascii=True)
            else:
                style = _Style(_use_colour(out, args.color))
                for p, r in zip(found, results):
                    mark = style("✓", "32") if r.ok else style("✗", "31")
                    out.write(f"{mark} {p.kind} profile '{shown(p.name)}': {shown(r.message)}\n")
                    hint = cli_oauth.sign_in_hint(r, p.name)
                    if hint:
                        out.write(f"  {hint}\n")
            return EXIT_OK if all(r.ok for r in results) else EXIT_FINDINGS
        if action == "remove":
            found = [p for p in store.find(args.name)
                     if not (args.send and p.kind != "send") and not (args.read and p.kind != "read")]
            if not found:
                err.write(f"inboxready: there is no profile called '{shown(args.name)}'\n")
                return EXIT_UNCHECKED
            for p in found:
                store.remove(p)
                what = "its sign-in (unless another profile uses it)" if p.uses_oauth else "its password"
                out.write(f"Removed {p.kind} profile '{shown(p.name)}' and {what}.\n")
            return EXIT_OK
        if action == "signin":
            return cli_oauth.cmd_signin(store, args, out, err)
        if action == "signout":
            return cli_oauth.cmd_signout(store, args, out, err)
    except (P.ProfileError, KeyringUnavailable) as exc:
        err.write(f"inboxready: {shown(exc)}\n")
        return EXIT_UNCHECKED
    except OSError as exc:  # the profiles file can't be written (a read-only folder, a full disk...)
        err.write(f"inboxready: the profiles could not be saved ({shown(exc.strerror or exc)}); nothing was "
                  "changed\n")
        return EXIT_UNCHECKED
    err.write("inboxready: say what to do: profile add|list|test|remove|signin|signout\n")
    return EXIT_UNCHECKED
