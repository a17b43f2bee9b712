"""InboxReady front ends: the command line (cli) and the desktop app (Qt)."""
