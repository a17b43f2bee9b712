"""How the DMARC reports window writes numbers: thousands separated, shares as whole percents."""

from __future__ import annotations


def thousands(x: int) -> str:
    """``12,345``."""
    return f"{x:,}"


def percent(n: int, total: int) -> str:
    """``n`` of ``total`` as a whole percent; "–" when there is nothing to count."""
    return f"{100.0 * n / total:.0f}%" if total else "–"


def rate(n: int, total: int) -> str:
    """A percent with the count beside it: ``57%  (3,057)``."""
    return f"{percent(n, total)}  ({thousands(n)})" if total else "–"
