"""Reviewed data files: DKIM selector list, provider catalog, rules."""
