"""``inboxready worker`` under the tests' loopback guard: the worker the tests start (a process of its own,
so the guard of tests/conftest.py does not reach it) refuses every non-loopback destination the same way,
and appends each one it refused to the file named by ``INBOXREADY_TEST_BLOCKED_FILE`` (one per line) so the
test that started it can see it. With ``INBOXREADY_TEST_KEYRING_FILE`` it uses the keyring file it shares
with the test (``tests/sharedkeyring.py``); with ``INBOXREADY_TEST_OAUTH_FILE`` the OAuth endpoints the test
set (``auth.config.endpoint_override``).

    python tests/worker_guarded.py worker
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tests.conftest as guard  # noqa: E402  (installs the socket guard on import)


class _Logged(list):  # type: ignore[type-arg]
    def append(self, item: object) -> None:
        super().append(item)
        path = os.environ.get("INBOXREADY_TEST_BLOCKED_FILE")
        if path:
            with open(path, "a", encoding="utf-8") as f:
                f.write(f"{item!r}\n")


guard.BLOCKED = _Logged()  # type: ignore[assignment]

if os.environ.get("INBOXREADY_TEST_KEYRING_FILE"):  # the test's keyring, never the system's
    import keyring

    from tests.sharedkeyring import SharedKeyring

    keyring.set_keyring(SharedKeyring(os.environ["INBOXREADY_TEST_KEYRING_FILE"]))

if os.environ.get("INBOXREADY_TEST_OAUTH_FILE"):  # the test's loopback sign-in server (endpoint_override)
    from inboxready.core.auth import config as oauth_config

    from tests.sharedkeyring import SharedJsonDict

    oauth_config._OVERRIDES = SharedJsonDict(os.environ["INBOXREADY_TEST_OAUTH_FILE"])

if __name__ == "__main__":
    from inboxready.app.cli import main

    sys.exit(main(sys.argv[1:] or ["worker"]))
