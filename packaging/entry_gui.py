"""Frozen entry point of the desktop app (``inboxready-gui``)."""

from inboxready.app.launch import gui

raise SystemExit(gui())
