"""The record layer: parsers and evaluators of DNS records (SPF, DMARC, DKIM keys, MX) that the checks,
the builders, the message verdict and the publisher share. Nothing here imports a check."""
