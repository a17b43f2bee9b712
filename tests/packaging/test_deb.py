"""packaging/linux/build-deb.sh on a small stand-in for the frozen app: the .deb's layout is what lintian and
Debian policy want (the real app is built, linted, installed and removed by .ci/run's release check)."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert shutil.which("dpkg-deb"), "dpkg-deb (Debian's dpkg package) is needed to build the .deb"
    work = tmp_path_factory.mktemp("deb")
    app = work / "inboxready"
    internal = app / "_internal"
    (internal / "python3.11" / "lib-dynload").mkdir(parents=True)
    for exe in ("inboxready", "inboxready-gui"):
        (app / exe).write_text("#!/bin/sh\necho inboxready 9.8.7\n", encoding="ascii")
        (app / exe).chmod(0o755)
    # what PyInstaller copies from the build machine: the libraries the distribution provides, and others
    for lib in ("libz.so.1", "libbz2.so.1.0", "libexpat.so.1", "libfreetype.so.6", "libpng16.so.16",
                "libssl.so.3", "libpython3.11.so.1.0", "python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so"):
        (internal / lib).write_bytes(b"\x7fELF stand-in")
        (internal / lib).chmod(0o755)
    out = work / "out"
    out.mkdir()
    env = {**os.environ, "PYTHON": sys.executable, "SOURCE_DATE_EPOCH": "1767225600", "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(["bash", str(ROOT / "packaging" / "linux" / "build-deb.sh"), str(app), "9.8.7", str(out)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    debs = list(out.glob("inboxready_9.8.7_*.deb"))
    assert len(debs) == 1
    return debs[0]


def _field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True).stdout.strip()


def _members(deb: Path, into: Path) -> dict[str, tarfile.TarInfo]:
    subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=(into / "data.tar").open("wb"), check=True)
    with tarfile.open(into / "data.tar") as tar:
        return {m.name.removeprefix("./"): m for m in tar.getmembers()}


def test_the_app_lives_in_usr_lib_with_relative_links_in_usr_bin(deb: Path, tmp_path: Path) -> None:
    members = _members(deb, tmp_path)
    assert not [n for n in members if n.startswith("opt")]  # Debian policy: no package installs into /opt
    assert "usr/lib/inboxready/inboxready" in members and "usr/lib/inboxready/inboxready-gui" in members
    for exe in ("inboxready", "inboxready-gui"):
        link = members[f"usr/bin/{exe}"]
        assert link.issym() and link.linkname == f"../lib/inboxready/{exe}"
        assert members[f"usr/lib/inboxready/{exe}"].mode & 0o111
    assert "usr/share/applications/inboxready.desktop" in members
    assert "usr/share/icons/hicolor/256x256/apps/inboxready.png" in members
    assert all(m.uid == 0 and m.gid == 0 for m in members.values())
    assert {m.mtime for m in members.values()} == {1767225600}  # reproducible: times from SOURCE_DATE_EPOCH


def test_system_libraries_come_from_the_distribution(deb: Path, tmp_path: Path) -> None:
    members = _members(deb, tmp_path)
    for gone in ("libz.so.1", "libbz2.so.1.0", "libexpat.so.1", "libfreetype.so.6", "libpng16.so.16"):
        assert f"usr/lib/inboxready/_internal/{gone}" not in members
    depends = [d.strip() for d in _field(deb, "Depends").split(",")]
    assert {"zlib1g", "libbz2-1.0", "libexpat1", "libfreetype6", "libpng16-16 | libpng16-16t64"} <= set(depends)
    assert any(d.startswith("libc6 (>= ") for d in depends)
    # the rest stays in the bundle, and no shared library is executable
    assert "usr/lib/inboxready/_internal/libssl.so.3" in members
    libs = [m for n, m in members.items() if ".so" in n.rsplit("/", 1)[-1] and m.isfile()]
    assert libs and all(not m.mode & 0o111 for m in libs)


def test_changelog_copyright_and_overrides(deb: Path, tmp_path: Path) -> None:
    members = _members(deb, tmp_path)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path / "x")], check=True)
    doc = tmp_path / "x" / "usr" / "share" / "doc" / "inboxready"
    changelog = gzip.decompress((doc / "changelog.gz").read_bytes()).decode()
    assert changelog.startswith("inboxready (9.8.7) stable; urgency=medium\n")
    assert "\n -- InboxReady <" in changelog and "Thu, 01 Jan 2026 00:00:00 +0000" in changelog
    copyright_ = (doc / "copyright").read_text(encoding="utf-8")
    assert copyright_.startswith("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/")
    assert "\nCopyright: 2026 InboxReady\nLicense: MIT\n" in copyright_ and "Permission is hereby granted" in copyright_
    overrides = (tmp_path / "x" / "usr" / "share" / "lintian" / "overrides" / "inboxready").read_text(encoding="utf-8")
    tags = [line.split()[1] for line in overrides.splitlines() if line and not line.startswith("#")]
    assert tags == ["embedded-library", "library-not-linked-against-libc"]  # each with its reason above it
    assert overrides.count("\n# ") + overrides.startswith("# ") >= 2
    assert members["usr/share/doc/inboxready/copyright"].mode & 0o777 == 0o644
