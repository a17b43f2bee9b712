"""The entry points: ``inboxready`` and ``inboxready-gui`` (console scripts, ``python -m``, frozen builds).

Users see only what InboxReady means to say: a library's warnings (dnspython's
``CryptographyDeprecationWarning`` with today's ``cryptography``, printed while modules are imported) are
meant for developers. So the entry points hide Python warnings before anything else is imported, unless
``-W`` or ``PYTHONWARNINGS`` asks for them. Nothing else does: the tests import the modules themselves and
still see every warning.
"""

from __future__ import annotations

import sys
import warnings


def quiet_library_warnings() -> None:
    """Hide Python warnings in this process, unless the user asked for them (``-W``, ``PYTHONWARNINGS``)."""
    if not sys.warnoptions:
        warnings.simplefilter("ignore")


def cli() -> int:
    quiet_library_warnings()
    from .cli import main

    return main()


def gui() -> int:
    quiet_library_warnings()
    from .gui import main

    return main()


__all__ = ["cli", "gui", "quiet_library_warnings"]
