"""The engine process: ``inboxready worker`` runs the asyncio core and talks JSON lines on stdin/stdout.

The GUI (``app/engine.py``) drives one long-lived worker with ``QProcess``; the GUI process itself runs no
asyncio loop and no engine thread. ``protocol`` is the wire format (Qt-free, versioned), ``server`` the
worker's loop (requests, cancel, events), ``handlers`` the long jobs it runs (checks, report imports, the
watch-list run, mail tasks, builders' what-if...). See docs/WORKER.md.
"""
