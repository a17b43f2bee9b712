"""OAuth 2.0 sign-in for mail profiles (Microsoft through msal, Google through google-auth-oauthlib).

``config``: endpoints, scopes and client IDs (``rules/oauth_clients.json``); ``tokens``: the refresh token
in the keyring (split to fit Windows' Credential Manager), access tokens in memory; ``flows``: signing
in (browser with a loopback redirect, or a device code) and renewing; ``sasl``: XOAUTH2 and OAUTHBEARER;
``errors``: the providers' and mail servers' refusals in plain words. Qt-free; blocking library calls
run in worker threads.
"""
