"""Every package folder of the app and the core is listed in pyproject.toml's ``packages``: a folder missing
there is left out of a non-editable install, and so out of the frozen build (build-linux.sh builds from one),
while the editable install the tests run from still finds it."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_folder_is_listed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(config["packages"])
    found = set()
    for top, name in config["package-dir"].items():
        base = ROOT / name
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            if "__pycache__" in rel.parts:
                continue
            found.add(".".join([top, *rel.parts]) if rel.parts else top)
    assert "inboxready.app.reports" in found
    assert sorted(found - listed) == []
