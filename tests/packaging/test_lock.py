"""The lock (constraints.txt): every package InboxReady installs is pinned, for every platform we ship and every
Python from 3.11 up; every install builds from it; and the environment these tests run in is the locked one."""

from __future__ import annotations

import importlib.metadata as md
import os
import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker, default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "constraints.txt"
TOOLS = ROOT / "packaging" / "tools.in"
REFRESH = ROOT / "packaging" / "maintainer" / "refresh-lock.sh"
REINSTALL = ".venv/bin/pip install -c constraints.txt -e '.[test]'"

# Every platform we ship (release.yml: ubuntu-22.04, windows-2022, macos-14 arm64, macos-15-intel x86_64) and every
# Python we support.
PLATFORMS = {
    "linux": {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64"},
    "windows": {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt", "platform_machine": "AMD64"},
    "macos-arm64": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix",
                    "platform_machine": "arm64"},
    "macos-x86_64": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix",
                     "platform_machine": "x86_64"},
}
PYTHONS = ["3.11", "3.12", "3.13", "3.14"]


def _env(platform: str, python: str) -> dict[str, str]:
    return {**PLATFORMS[platform], "python_version": python, "python_full_version": f"{python}.0",
            "implementation_name": "cpython", "platform_python_implementation": "CPython",
            "platform_release": "", "platform_version": "", "implementation_version": f"{python}.0", "extra": ""}


ENVS = [(p, v) for p in PLATFORMS for v in PYTHONS]


def _pins() -> list[tuple[str, Version, Marker | None, str]]:
    """(name, version, marker, line) for each pin; a line that is neither a pin nor a comment fails the test."""
    pins = []
    for raw in LOCK.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)\s*(?:;\s*(.+))?", line)
        assert m, f"constraints.txt: not an exact pin: {raw!r}"
        pins.append((canonicalize_name(m[1]), Version(m[2]), Marker(m[3]) if m[3] else None, raw))
    return pins


def _pinned(env: dict[str, str]) -> dict[str, Version]:
    out: dict[str, Version] = {}
    for name, version, marker, _raw in _pins():
        if marker is None or marker.evaluate(env):
            assert name not in out, f"two pins of {name} apply on {env['sys_platform']} {env['python_version']}"
            out[name] = version
    return out


def _project_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in ("gui", "test"):
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    for raw in TOOLS.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            reqs.append(Requirement(line))
    return reqs


def _dist_requirements(name: str) -> list[Requirement] | None:
    """What an installed distribution requires (None when it isn't installed here, e.g. a Windows-only one)."""
    try:
        requires = md.distribution(name).requires or []
    except md.PackageNotFoundError:
        return None
    return [Requirement(r) for r in requires]


def test_lock_is_exact_pins_one_per_package_and_environment() -> None:
    pins = _pins()
    assert len(pins) > 40
    for platform, python in ENVS:
        _pinned(_env(platform, python))  # asserts one pin per package


def _walk(env: dict[str, str], pinned: dict[str, Version], skip: frozenset[str] = frozenset()) -> set[str]:
    """Walk the requirements from pyproject.toml (with the gui and test extras) and packaging/tools.in, through
    the metadata of every installed distribution, under ``env``'s markers: each package reached must be pinned
    for that environment at a version its requirers accept. Returns the names reached."""
    todo = [r for r in _project_requirements() if canonicalize_name(r.name) not in skip
            and (r.marker is None or r.marker.evaluate(env))]
    seen: set[str] = set()
    where = f"{env['sys_platform']} (Python {env['python_version']})"
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        assert name in pinned, f"{req.name} is needed on {where} but not in constraints.txt"
        assert pinned[name] in req.specifier, f"pin {name}=={pinned[name]} does not satisfy {req} on {where}"
        if name in seen:
            continue
        seen.add(name)
        for sub in _dist_requirements(name) or []:
            extras_env = [{**env, "extra": e} for e in req.extras] or [env]
            if sub.marker is None or any(sub.marker.evaluate(e) for e in extras_env):
                todo.append(sub)
    return seen


@pytest.mark.parametrize(("platform", "python"), ENVS, ids=[f"{p}-py{v}" for p, v in ENVS])
def test_every_requirement_is_pinned_on_every_platform(platform: str, python: str) -> None:
    env = _env(platform, python)
    pinned = _pinned(env)
    seen = _walk(env, pinned)
    # what a lock resolved on Linux alone would miss: keyring's and pytest's platform-specific requirements...
    must = {"linux": {"secretstorage", "jeepney"}, "windows": {"pywin32-ctypes", "colorama"}}.get(platform, set())
    assert must <= seen, f"{platform}: {sorted(must - seen)} not reached"
    if python == "3.11":
        assert "importlib-metadata" in seen  # keyring needs it before 3.12
    # ...and PyInstaller's (not installed in the test environment, so its metadata can't be walked here)
    tools = {"windows": {"pefile", "pywin32-ctypes"}, "macos-arm64": {"macholib", "altgraph"},
             "macos-x86_64": {"macholib", "altgraph"}, "linux": {"altgraph"}}[platform]
    assert tools <= set(pinned), f"{platform}: PyInstaller's {sorted(tools - set(pinned))} not pinned"


def test_the_test_environment_is_the_locked_one() -> None:
    """Tests run with the versions the lock names (CI installs with the README's command, which uses it): every
    package the app and its tests need, as installed here, is the locked version."""
    env = _here_env()
    pinned = _pinned(env)
    needed = _walk(env, pinned, skip=frozenset({"pyinstaller", "cyclonedx-bom", "zizmor", "uv"}))
    wrong = []
    for name in sorted(needed):
        try:
            installed = Version(md.version(name))
        except md.PackageNotFoundError:
            wrong.append(f"{name} not installed (lock: {pinned[name]})")
            continue
        if installed != pinned[name]:
            wrong.append(f"{name} {installed} (lock: {pinned[name]})")
    assert not wrong, f"the test environment differs from constraints.txt: {'; '.join(wrong)}. Run {REINSTALL}"
    assert {"pyside6-essentials", "pytest", "dnspython", "cryptography"} <= needed


def _here_env() -> dict[str, str]:
    return {**default_environment(), "extra": ""}


def test_every_install_builds_from_the_lock() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    app = re.search(r"^Run the app.*?```sh\n(.+?)\n```", readme, re.S | re.M)
    tests = re.search(r"^Run the tests.*?```sh\n(.+?)\n```", readme, re.S | re.M)
    assert app and tests, "the README's two set-up commands"
    assert app[1] == "python3 -m venv .venv && .venv/bin/pip install -c constraints.txt -e '.[gui]' && .venv/bin/inboxready-gui"
    assert tests[1] == f"python3 -m venv .venv && {REINSTALL} && .venv/bin/python -m pytest"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    ci_lines = [line.replace(" -q ", " ") for line in ci.splitlines()]
    assert tests[1] in ci_lines, ".ci/run runs the README's test command"
    build = (ROOT / "packaging" / "build-linux.sh").read_text(encoding="utf-8")
    installs = [line for line in build.splitlines()
                if re.search(r"pip\"? install", line) and not line.lstrip().startswith("#")]
    assert installs and all("-c \"$lock\"" in line for line in installs), installs
    workflow = (ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
    installs = [line for line in workflow.splitlines() if re.search(r"pip\"? install", line)]
    assert installs and all("-c constraints.txt" in line for line in installs), installs


def test_refresh_is_documented_and_runnable() -> None:
    head = LOCK.read_text(encoding="utf-8").split("# ---- end of header", 1)[0]
    assert "packaging/maintainer/refresh-lock.sh" in head
    assert REFRESH.is_file() and os.access(REFRESH, os.X_OK)
    script = REFRESH.read_text(encoding="utf-8")
    assert "--universal" in script and "--python-version 3.11" in script and "packaging/tools.in" in script
    assert "refresh-lock.sh" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_upper_bounds_where_a_major_is_known_to_break() -> None:
    deps = {canonicalize_name(Requirement(r).name): Requirement(r) for r in
            tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]}
    crypto = deps["cryptography"].specifier
    pinned = _pinned(_here_env())["cryptography"]
    # DSA is deprecated from 51 on and dnspython imports it with dns.dnssec: the major after it may drop it
    assert pinned in crypto and Version("51.0.1") in crypto and Version("52.0.0") not in crypto
