"""What InboxReady keeps on this computer: settings and folders, the SQLite opening rules, the check
history, and secrets in the OS keyring."""
