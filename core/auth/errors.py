"""Plain words for the refusals of sign-in providers and of mail servers that take OAuth tokens.

Sources read (December 2026) for the codes and what each means:
- Microsoft Entra authentication and authorization error codes,
  https://learn.microsoft.com/entra/identity-platform/reference-error-codes (AADSTS codes; their current
  text is at https://login.microsoftonline.com/error?code=NNNNN).
- Authenticate an IMAP, POP or SMTP connection using OAuth,
  https://learn.microsoft.com/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth
  (scopes, XOAUTH2, "AUTHENTICATE failed" when the token lacks the scope or the mailbox refuses).
- Enable or disable SMTP AUTH in Exchange Online, and Microsoft's message MC786329 (SMTP AUTH with a
  password off by default from the end of December 2026; ``550 5.7.30 Basic authentication is not
  supported for Client Submission``; ``535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication
  is disabled for the Tenant``; ``535 5.7.3 Authentication unsuccessful``).
- Google: OAuth 2.0 for iOS & Desktop Apps, https://developers.google.com/identity/protocols/oauth2/native-app
  (``invalid_grant``: the refresh token expired or was revoked; ``admin_policy_enforced``; ``access_denied``;
  ``org_internal``), and the XOAUTH2 protocol page, https://developers.google.com/gmail/imap/xoauth2-protocol
  (the JSON error challenge).

Each function returns a ``ConnectionResult`` whose ``code`` the app and the CLI act on:
``conn.oauth-signin-needed`` (show "Sign in again"), ``conn.oauth-consent``, ``conn.oauth-client``,
``conn.oauth-blocked``, ``conn.oauth-refused``, ``conn.oauth-scope``, ``conn.oauth-unavailable``
(couldn't reach the provider: try again; never "wrong"), ``conn.oauth-cancelled``.
"""

from __future__ import annotations

import re

from ..mail.profiles import ConnectionResult
from .config import PROVIDER_NAMES

SIGN_IN_AGAIN = "conn.oauth-signin-needed"
_AADSTS = re.compile(r"AADSTS(\d{4,8})")


def _name(provider: str) -> str:
    return PROVIDER_NAMES.get(provider, provider.title())


def _consent(provider: str, user: str, custom: bool) -> str:
    if provider == "google":
        return (f"Your Google Workspace admin hasn't allowed InboxReady to use mail for {user}. Ask them to trust "
                "the app (Google Admin console > Security > Access and data control > API controls > Manage "
                "third-party app access), or to create their own OAuth client and give you its client ID.")
    own = ("the app registration whose client ID is in this profile" if custom else "InboxReady")
    return (f"Your organisation hasn't approved {own} for {user}: only an admin can allow it (admin consent). "
            "Ask your Microsoft 365 admin to grant consent in the Microsoft Entra admin center (Enterprise "
            "applications > Consent and permissions, or the link from the sign-in page), or to register the "
            "organisation's own app and give you its client ID and tenant to enter in the profile.")


def describe_provider_error(provider: str, error: str, description: str, *, user: str = "", stage: str = "sign-in",
                            custom_client: bool = False, codes: list[int] | tuple[int, ...] = ()) -> ConnectionResult:
    """Plain words for an OAuth error from ``provider``'s authorization or token endpoint (``error`` is
    the OAuth error code, ``description`` its text, where Microsoft puts its AADSTS code)."""
    err = (error or "").strip().lower()
    desc = (description or "").strip()
    who = user or "this account"
    name = _name(provider)
    found = [int(c) for c in _AADSTS.findall(desc)] + [int(c) for c in codes if isinstance(c, int)]
    detail = f"{error}: {desc}"[:600] if desc else error
    again = f"Sign in again with {name} for {who}."

    def r(code: str, text: str) -> ConnectionResult:
        return ConnectionResult(False, code, text, detail, stage="auth")

    aad = set(found)
    if aad & {65001, 90094, 90095, 90099, 900971}:
        return r("conn.oauth-consent", _consent(provider, who, custom_client))
    if aad & {65004}:
        return r("conn.oauth-cancelled", "The permission request was declined in the browser, so nothing was "
                 f"signed in. {again} and accept the request to read and send mail.")
    if aad & {700016, 7000215, 7000218, 50011, 500113, 50194, 700054}:
        what = {700016: "isn't known in your organisation (or was typed wrong)",
                7000218: "isn't set up as a public client (in its registration, Authentication > 'Allow public "
                         "client flows' must be Yes)",
                50011: "doesn't list http://localhost as a redirect URI (add it under Authentication > Mobile and "
                       "desktop applications)",
                500113: "has no redirect URI (add http://localhost under Authentication)",
                50194: "is registered for one organisation only: enter that organisation's tenant in the profile"}
        why = next((what[c] for c in (700016, 7000218, 50011, 500113, 50194) if c in aad), "can't be used")
        if custom_client:
            text = f"The app registration in this profile {why}. Check the client ID and tenant in the profile, or clear them to use InboxReady's own."
        else:
            text = (f"Microsoft refused InboxReady's app registration ({why}). Your organisation may require its "
                    "own: ask your admin for a client ID and tenant to enter in the profile.")
        return r("conn.oauth-client", text)
    if aad & {50076, 50079, 50072, 50074, 50158, 50097}:
        return r(SIGN_IN_AGAIN, "Your organisation asks for an extra sign-in step (multi-factor authentication) "
                 f"that only you can do in the browser. {again}")
    if aad & {53003, 53000, 53001, 530032, 50105}:
        return r("conn.oauth-blocked", f"Your organisation's sign-in rules (Conditional Access) blocked this sign-in "
                 f"for {who}. Ask your Microsoft 365 admin to allow it for InboxReady.")
    if aad & {50020, 50034, 50059, 90072}:
        return r("conn.oauth-client", f"The account {who} isn't part of the organisation this profile signs in to. "
                 "Check the user name, and the tenant in the profile (leave it empty for the usual one).")
    if aad & {50057, 50053}:
        return r("conn.oauth-blocked", f"Microsoft says the account {who} is disabled or locked. Ask your admin.")
    if aad & {500011, 65002}:
        return r("conn.oauth-client", "This organisation has no Exchange Online mail (the mail permissions it was "
                 "asked for don't exist there). Check that the mailbox is at Microsoft 365.")
    if aad & {70008, 700082, 700084, 50173, 50133, 50078, 54005, 70043, 700003}:
        return r(SIGN_IN_AGAIN, f"Your {name} sign-in for {who} has expired or was withdrawn (a password change, "
                 f"a sign-out elsewhere, or months unused). {again}")
    if err == "invalid_grant":
        return r(SIGN_IN_AGAIN, f"Your {name} sign-in for {who} has expired or was withdrawn (a password change, "
                 f"a sign-out elsewhere, or permission removed in the account's security settings). {again}")
    if err == "admin_policy_enforced" or err == "org_internal":
        return r("conn.oauth-consent", _consent(provider, who, custom_client))
    if err in ("access_denied", "consent_required", "interaction_required", "login_required"):
        if "admin" in desc.lower():
            return r("conn.oauth-consent", _consent(provider, who, custom_client))
        return r("conn.oauth-cancelled", "The sign-in was cancelled or not allowed in the browser, so nothing was "
                 f"signed in. {again}")
    if err in ("invalid_client", "unauthorized_client"):
        if custom_client:
            return r("conn.oauth-client", "The client ID in this profile was refused by "
                     f"{name}. Check it (and its client secret for Google), or clear it to use InboxReady's own.")
        return r("conn.oauth-client", f"{name} refused InboxReady's app registration. Update InboxReady; if that "
                 "doesn't help, your admin can register the organisation's own app and give you its client ID.")
    if err in ("invalid_scope",):
        return r("conn.oauth-scope", f"{name} wouldn't grant the mail permissions InboxReady asks for "
                 "(reading and sending mail). If your organisation registered its own app, it needs the "
                 "IMAP.AccessAsUser.All and SMTP.Send permissions (Microsoft) or the https://mail.google.com/ scope "
                 "(Google).")
    if err in ("temporarily_unavailable", "server_error", "slow_down"):
        return r("conn.oauth-unavailable", f"{name}'s sign-in service had a temporary problem. Try again in a "
                 "few minutes.")
    if err == "expired_token":
        return r("conn.oauth-cancelled", f"The sign-in code expired before it was entered. {again}")
    return r("conn.oauth-refused", f"{name} refused the sign-in for {who}. The details below say why; "
             f"{again[0].lower()}{again[1:]}")


def signed_out(provider: str, user: str) -> ConnectionResult:
    name = _name(provider)
    return ConnectionResult(False, SIGN_IN_AGAIN,
                            f"This profile uses sign-in with {name}, and {user or 'the account'} isn't signed in "
                            f"on this computer (or the sign-in was removed). Sign in with {name}.", stage="keyring")


def unreachable(provider: str, exc: BaseException | str) -> ConnectionResult:
    name = _name(provider)
    return ConnectionResult(False, "conn.oauth-unavailable",
                            f"InboxReady couldn't reach {name}'s sign-in service (no answer, or a temporary error on "
                            "its side), so nothing could be checked. Check that this computer is online and try "
                            "again in a few minutes.",
                            str(exc)[:300] if not isinstance(exc, str) else exc[:300], stage="auth")


def server_refused_token(reply: str, *, provider: str, user: str, where: str, kind: str, scope_hint: str = "",
                         refreshed: bool = False) -> ConnectionResult:
    """Plain words for a mail server that refused a fresh access token (SMTP ``535``, IMAP ``AUTHENTICATE
    failed``, a JSON error challenge)."""
    t = reply.lower()
    name = _name(provider)
    if "5.7.139" in t or "smtpclientauthentication is disabled" in t or "smtp_auth_disabled" in t:
        text = (f"{where} accepted your {name} sign-in but sending from mail apps (SMTP AUTH) is turned off for "
                f"{user}. An admin can turn on 'Authenticated SMTP' for this mailbox (Microsoft 365 admin center > "
                "Users > Mail > Manage email apps) and for the organisation, if its policy allows it.")
        if "security defaults" in t:
            text = (f"{where} refused {user}: the organisation's security defaults block sending from mail apps. "
                    "An admin must allow it (Microsoft Entra admin center > Properties > Security defaults).")
        return ConnectionResult(False, "conn.smtp-auth-disabled", text, reply, "auth", server_reply=reply)
    if "insufficient_scope" in t or scope_hint == "scope":
        return ConnectionResult(False, "conn.oauth-scope",
                                f"Your {name} sign-in doesn't include permission to {'send' if kind == 'send' else 'read'} "
                                f"mail for {user}. Sign in again with {name} and allow both reading and sending mail.",
                                reply, "auth", server_reply=reply)
    if kind == "send" and ("5.7.3" in t or "authentication unsuccessful" in t):
        text = (f"{where} refused the {name} sign-in for sending as {user}. Usually sending from mail apps (SMTP "
                "AUTH) is turned off for the mailbox or the organisation: an admin can turn on 'Authenticated SMTP' "
                "(Microsoft 365 admin center > Users > Mail > Manage email apps). Also check that the user name is "
                "the mailbox you signed in with.")
        return ConnectionResult(False, "conn.oauth-refused", text, reply, "auth", server_reply=reply)
    if kind == "read":
        text = (f"{where} refused the {name} sign-in for {user} (\"AUTHENTICATE failed\"). Check that the user "
                "name is the mailbox you signed in with, and that IMAP is turned on for it (Microsoft 365 admin "
                "center > Users > Mail > Manage email apps; Gmail: IMAP access in the Workspace admin console).")
        if refreshed:
            text += f" If it keeps failing, sign in again with {name}."
        return ConnectionResult(False, "conn.oauth-refused", text, reply, "auth", server_reply=reply)
    text = (f"{where} refused the {name} sign-in for {user}. Check that the user name is the mailbox you signed "
            f"in with; if it keeps failing, sign in again with {name}.")
    return ConnectionResult(False, "conn.oauth-refused", text, reply, "auth", server_reply=reply)


def password_profile_refused(reply: str) -> str | None:
    """For a *password* profile: the hint that this server wants sign-in with Microsoft/Google instead
    (``5.7.30``, "basic authentication is disabled"); None when the reply isn't that."""
    t = reply.lower()
    if "5.7.30" in t or "basic authentication is not supported" in t or "basic authentication is disabled" in t \
            or "basicauthblocked" in t:
        return ("This server doesn't accept passwords any more: switch the profile to 'Sign in with Microsoft' "
                "(app: edit the profile; command line: inboxready profile add NAME ... --oauth microsoft).")
    return None


__all__ = ["SIGN_IN_AGAIN", "describe_provider_error", "password_profile_refused", "server_refused_token",
           "signed_out", "unreachable"]
