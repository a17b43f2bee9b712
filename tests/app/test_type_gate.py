"""The type gate (``.ci/typecheck``, run by ``.ci/run`` before the tests) covers every module of the app: no
mypy override in pyproject.toml switches its errors off for part of InboxReady (the windows driving the engine
were excluded while the worker process was being built; that has landed)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_module_is_left_out_of_the_type_gate() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mypy = config["tool"]["mypy"]
    assert not mypy.get("ignore_errors", False)
    overrides = mypy.get("overrides", [])
    assert overrides, "the core's strict override is gone"
    silenced = [o["module"] for o in overrides if o.get("ignore_errors", False)]
    assert silenced == [], f"mypy's errors are switched off for {silenced}"
    excluded = mypy.get("exclude", [])
    assert not [e for e in ([excluded] if isinstance(excluded, str) else excluded) if "app" in e or "core" in e]


def test_the_gate_checks_the_app_and_the_core() -> None:
    script = (ROOT / ".ci" / "typecheck").read_text(encoding="utf-8")
    assert "-p inboxready.core" in script and "-p inboxready.app" in script
