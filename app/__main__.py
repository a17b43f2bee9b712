"""``python -m inboxready.app``: start the desktop app."""

from __future__ import annotations

from .launch import gui

raise SystemExit(gui())
