"""Bounce to fix: read a bounce, classify it with the reviewed rules, check the part that failed.

- ``dsn``: reading RFC 3464 DSNs, non-standard bounces and pasted SMTP error text (``read_bounce``);
- ``rules``: the reviewed rules file ``core/rules/bounce_codes.json`` (``classify``, ``detect_provider``);
- ``act``: the domain checks for the part that failed, and the report (``analyze_bounce``, ``BounceReport``).
"""

from .act import JSON_KEYS, BounceReport, analyze_bounce
from .dsn import Bounce, BounceFacts, DeliveryStatus, read_bounce
from .rules import CATEGORIES, Classification, classify, detect_provider, load_rules

__all__ = ["CATEGORIES", "JSON_KEYS", "Bounce", "BounceFacts", "BounceReport", "Classification", "DeliveryStatus",
           "analyze_bounce", "classify", "detect_provider", "load_rules", "read_bounce"]
