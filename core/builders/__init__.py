"""Record builders: SPF, DMARC, DKIM keys, and "what if" checks of a record before it is published."""
