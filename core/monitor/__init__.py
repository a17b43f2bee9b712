"""Monitoring: the list of domains re-checked on a schedule (the CLI's ``watchlist``) and the reminders
that come from the check history."""
