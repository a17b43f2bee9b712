"""Frozen entry point of the command line (``inboxready``)."""

from inboxready.app.launch import cli

raise SystemExit(cli())
