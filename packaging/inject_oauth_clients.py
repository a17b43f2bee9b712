"""Write InboxReady's public OAuth client IDs into core/rules/oauth_clients.json before a release build.

The release workflow passes them from its secrets as environment variables (never on a command line):
INBOXREADY_MS_CLIENT_ID (Microsoft Entra app registration: a public client with the redirect URI
http://localhost, delegated permissions IMAP.AccessAsUser.All and SMTP.Send of Office 365 Exchange
Online, offline_access), INBOXREADY_GOOGLE_CLIENT_ID and INBOXREADY_GOOGLE_CLIENT_SECRET (a Google
Cloud "Desktop app" OAuth client with the https://mail.google.com/ scope; Google calls that secret
"not treated as a secret" for installed apps). A variable that is empty or unset leaves the field as it
is (a build without them signs in only with an organisation's own client ID, entered in the profile).
Nothing is printed but which fields were set.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

FILE = Path(__file__).resolve().parent.parent / "core" / "rules" / "oauth_clients.json"
FIELDS = (("microsoft", "client_id", "INBOXREADY_MS_CLIENT_ID"),
          ("google", "client_id", "INBOXREADY_GOOGLE_CLIENT_ID"),
          ("google", "client_secret", "INBOXREADY_GOOGLE_CLIENT_SECRET"))
_OK = re.compile(r"^[A-Za-z0-9._~-]{8,200}$")


def main(path: Path = FILE) -> int:
    data = json.loads(path.read_text(encoding="utf-8"))
    changed = []
    for provider, field, env in FIELDS:
        value = os.environ.get(env, "").strip()
        if not value:
            continue
        if not _OK.match(value):
            print(f"inject_oauth_clients: {env} doesn't look like a client ID or secret; not used", file=sys.stderr)
            return 1
        data["providers"][provider][field] = value
        changed.append(f"{provider}.{field}")
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print("inject_oauth_clients: set " + (", ".join(changed) if changed else "nothing (no secrets given)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
