"""DMARC aggregate and SMTP TLS reports: import, store, summarise."""
