"""Made-up aggregate reports for the tests (the same writer as benchmarks/gen_reports.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

_GEN = Path(__file__).resolve().parents[2] / "benchmarks" / "gen_reports.py"
_spec = importlib.util.spec_from_file_location("ir_gen_reports", _GEN)
assert _spec is not None and _spec.loader is not None
gen = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("ir_gen_reports", gen)
_spec.loader.exec_module(gen)

Row = gen.Row


def good_row(ip: str, count: int, *, domain: str = "shop.test", dkim: str = "pass", spf: str = "pass",
             dkim_domain: str | None = None, dkim_result: str | None = None, spf_domain: str | None = None,
             spf_result: str | None = None, disposition: str = "none") -> Any:
    """A row; by default mail from ``domain`` that passes aligned DKIM and SPF."""
    return Row(ip, count, disposition, dkim, spf, domain, dkim_domain or domain,
               dkim_result or dkim, spf_domain or domain, spf_result or spf)


def report_xml(org: str, report_id: str, domain: str, begin: int, rows: list[Any], **kw: Any) -> bytes:
    return gen.make_report(org, report_id, domain, begin, rows, **kw)  # type: ignore[no-any-return]
