"""Frozen entry point of the desktop app (``inboxready-gui``)."""

from inboxready.app.gui import main

raise SystemExit(main())
