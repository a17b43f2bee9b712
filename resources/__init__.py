"""Bundled data: icons, styles and the demo zones.

``path("style.qss")``, ``icon_path("pass")``, ``zones_dir()`` give real file paths (the package is
installed as plain files, never zipped).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def path(name: str) -> Path:
    """A file directly in the resources folder (``style.qss``, ``themes.json``...)."""
    return HERE / name


def icon_path(name: str) -> Path:
    """An SVG icon by name, without the extension (``pass``, ``copy-dark``...)."""
    return HERE / "icons" / f"{name}.svg"


def zones_dir() -> Path:
    """The folder of demo zones (RFC 1035 master files) and their index ``demo.json``."""
    return HERE / "zones"


def read_text(name: str) -> str:
    return path(name).read_text(encoding="utf-8")
