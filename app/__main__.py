"""``python -m inboxready.app``: start the desktop app."""

from __future__ import annotations

from .gui import main

raise SystemExit(main())
