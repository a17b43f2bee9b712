"""The release workflow and the installer scripts agree with the repository (what CI here can check:
the workflow itself only runs on GitHub's Windows, macOS and Linux machines)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"


def _workflow() -> dict:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _steps() -> list[dict]:
    return _workflow()["jobs"]["build"]["steps"]


def test_matrix_builds_every_platform() -> None:
    matrix = _workflow()["jobs"]["build"]["strategy"]["matrix"]["include"]
    oses = {m["os"].split("-")[0] for m in matrix}
    assert oses == {"ubuntu", "windows", "macos"}
    assert {m["name"] for m in matrix} >= {"linux-x86_64", "windows-x64", "macos-arm64"}


def test_every_repository_file_the_workflow_names_exists() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    named = set(re.findall(r"packaging/[\w./-]+\.(?:py|sh|iss|spec)", text.replace("\\", "/")))
    assert {"packaging/smoke.py", "packaging/build-linux.sh", "packaging/macos/build-dmg.sh",
            "packaging/windows/inboxready.iss", "packaging/inboxready.spec", "packaging/make-icons.py"} <= named
    for path in named:
        assert (ROOT / path).is_file(), path


def test_each_platform_is_smoke_tested_and_summed() -> None:
    runs = "\n".join(str(s.get("run", "")) for s in _steps())
    assert "build-linux.sh --deb" in runs  # runs smoke.py itself
    assert "smoke.py dist/inboxready" in runs  # Windows, frozen folder
    assert "smoke.py $dir" in runs  # Windows, after a silent per-user install
    assert "smoke.py dist/InboxReady.app/Contents/MacOS" in runs
    assert "sha256sum" in runs and "shasum -a 256" in runs


def test_signing_steps_are_skipped_without_secrets() -> None:
    for step in _steps():
        body = str(step.get("run", ""))
        if "signtool sign" in body or "security import" in body:
            assert "!= ''" in str(step.get("if", "")), step.get("name")
    release = _workflow()["jobs"]["release"]
    assert release["if"].startswith("startsWith(github.ref, 'refs/tags/v')")
    assert release["permissions"] == {"contents": "write"}


def test_inno_setup_installs_per_user_without_admin() -> None:
    iss = (ROOT / "packaging" / "windows" / "inboxready.iss").read_text(encoding="utf-8")
    assert re.search(r"^PrivilegesRequired=lowest$", iss, re.M)
    assert "{autopf}\\InboxReady" in iss and "{autoprograms}\\InboxReady" in iss
    assert re.search(r"^LicenseFile=\.\.\\\.\.\\LICENSE$", iss, re.M) and (ROOT / "LICENSE").is_file()


def test_macos_bundle_in_spec() -> None:
    spec = (ROOT / "packaging" / "inboxready.spec").read_text(encoding="utf-8")
    assert 'name="InboxReady.app"' in spec and "bundle_identifier=" in spec
    assert (ROOT / "packaging" / "macos" / "entitlements.plist").is_file()
