"""Frozen entry point of the command line (``inboxready``)."""

from inboxready.app.cli import main

raise SystemExit(main())
