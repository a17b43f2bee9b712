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


def _all_steps() -> list[tuple[str, dict]]:
    return [(job, step) for job, spec in _workflow()["jobs"].items() for step in spec["steps"]]


def test_signing_steps_run_without_secrets_and_say_so() -> None:
    """A secret can't be used in a step's if:, and each secret only reaches the step that uses it, so each
    signing step checks its own secret and says when it is absent (a fork's pull request has none)."""
    signing = [s for _, s in _all_steps() if "signtool sign" in str(s.get("run", ""))
               or "security import" in str(s.get("run", ""))]
    assert len(signing) == 3
    for step in signing:
        body = str(step["run"])
        assert "::notice::No " in body, step["name"]
        assert ("if (-not $env:WINDOWS_CERT_PFX_BASE64)" in body) or ('if [ -n "$MACOS_CERT_P12_BASE64" ]' in body)
    release = _workflow()["jobs"]["release"]
    assert release["if"].startswith("startsWith(github.ref, 'refs/tags/v')")


# -- hardening (issue 17): what zizmor --offline checks in .ci/run, and the rules it can't see ---------------

PINNED = re.compile(r"^([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$")


def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version() -> None:
    uses = [str(s["uses"]) for _, s in _all_steps() if "uses" in s]
    assert len(uses) >= 5
    text = WORKFLOW.read_text(encoding="utf-8")
    documented = (ROOT / "packaging" / "README.md").read_text(encoding="utf-8")
    for use in uses:
        line = next(line.strip() for line in text.splitlines() if use in line)
        m = PINNED.match(line.removeprefix("- ").removeprefix("uses: ").removeprefix("uses: "))
        assert m, f"not pinned to a commit SHA with its version in a comment: {line}"
        # where the SHA was checked is written down next to the version
        assert re.search(rf"`{re.escape(m[1])}`.*{re.escape(m[3])}.*`{m[2]}`", documented), \
            f"{m[1]}@{m[2]} ({m[3]}) is not in packaging/README.md's list of pinned actions"
    assert {u.split("@")[0] for u in uses} >= {"actions/checkout", "actions/setup-python", "actions/upload-artifact",
                                               "actions/download-artifact", "actions/attest-build-provenance"}


def test_no_permission_by_default_and_write_only_where_the_release_is_published() -> None:
    wf = _workflow()
    assert wf["permissions"] == {}
    jobs = wf["jobs"]
    assert jobs["build"]["permissions"] == {"contents": "read"}
    assert jobs["release"]["permissions"] == {"contents": "write", "id-token": "write", "attestations": "write"}
    for name, job in jobs.items():
        assert "permissions" in job, name
        if name != "release":
            assert "write" not in job["permissions"].values(), name


def test_checkout_does_not_persist_credentials() -> None:
    checkouts = [s for _, s in _all_steps() if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert checkouts
    for step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False


def test_no_expression_is_expanded_inside_a_run_script() -> None:
    for job, step in _all_steps():
        assert "${{" not in str(step.get("run", "")), f"{job}: {step.get('name')}: pass the value through env:"


def test_secrets_reach_only_the_steps_that_sign_or_notarize() -> None:
    wf = _workflow()
    assert "secrets." not in str(wf.get("env", {}))
    for name, job in wf["jobs"].items():
        assert "secrets." not in str(job.get("env", {})), f"job {name} hands secrets to every step"
    for job, step in _all_steps():
        has_secret = "secrets." in str(step.get("env", {})) or "secrets." in str(step.get("with", {}))
        body = str(step.get("run", ""))
        signs = "signtool sign" in body or ("security import" in body and "build-dmg.sh" in body)
        # the sign-in apps' public client IDs, written into the build (they ship inside the app)
        injects = body.strip() == "python packaging/inject_oauth_clients.py"
        assert has_secret == (signs or injects), f"{job}: {step.get('name')}"


def test_builds_from_the_lock_with_sbom_sums_and_provenance() -> None:
    steps = _steps()
    runs = "\n".join(str(s.get("run", "")) for s in steps)
    assert "packaging/build-linux.sh --deb" in runs and "lintian --fail-on error" in runs
    assert "pip install -q -c constraints.txt pyinstaller" in runs
    assert "packaging/lockcheck.py --lock constraints.txt" in runs
    assert "packaging/sbom.py" in runs and "-m cyclonedx_py environment \"$PYI_PY\"" in runs
    assert "out/*.cdx.json" in runs  # Linux's SBOMs (written by build-linux.sh) are uploaded with the artifacts
    # the SBOMs and sums are made after the last step that changes an artifact (signing, stapling)
    names = [s.get("name", "") for s in steps]
    last_change = max(i for i, s in enumerate(steps) if "signtool sign" in str(s.get("run", ""))
                      or "build-dmg.sh" in str(s.get("run", "")))
    assert names.index("SBOM of each artifact (Windows, macOS; Linux's come from build-linux.sh)") > last_change
    assert names.index("SHA-256 sums") > names.index("SBOM of each artifact (Windows, macOS; Linux's come from build-linux.sh)")
    release = _workflow()["jobs"]["release"]["steps"]
    attest = next(s for s in release if str(s.get("uses", "")).startswith("actions/attest-build-provenance@"))
    subjects = set(attest["with"]["subject-path"].split())
    assert subjects == {f"artifacts/*.{ext}" for ext in ("deb", "tar.gz", "exe", "dmg", "cdx.json")}
    order = [str(s.get("uses", s.get("name"))) for s in release]
    assert order.index(attest["uses"]) < order.index("Release")
    assert "sha256sum -c SHA256SUMS.txt" in "\n".join(str(s.get("run", "")) for s in release)
    build = (ROOT / "packaging" / "build-linux.sh").read_text(encoding="utf-8")
    assert "sbom.py" in build and "SHA256SUMS" in build and "lockcheck.py" in build


def test_inno_setup_installs_per_user_without_admin() -> None:
    iss = (ROOT / "packaging" / "windows" / "inboxready.iss").read_text(encoding="utf-8")
    assert re.search(r"^PrivilegesRequired=lowest$", iss, re.M)
    assert "{autopf}\\InboxReady" in iss and "{autoprograms}\\InboxReady" in iss
    assert re.search(r"^LicenseFile=\.\.\\\.\.\\LICENSE$", iss, re.M) and (ROOT / "LICENSE").is_file()


def test_macos_bundle_in_spec() -> None:
    spec = (ROOT / "packaging" / "inboxready.spec").read_text(encoding="utf-8")
    assert 'name="InboxReady.app"' in spec and "bundle_identifier=" in spec
    assert (ROOT / "packaging" / "macos" / "entitlements.plist").is_file()
    # the version the bundle shows is the package's (which the workflow checks against the tag)
    assert 'VERSION = _version("inboxready")' in spec
    assert '"CFBundleShortVersionString": VERSION' in spec and '"CFBundleVersion": VERSION' in spec
    assert 'bundle_identifier="app.inboxready.InboxReady"' in spec and '"CFBundleName": "InboxReady"' in spec
    # the .dmg is built from that bundle with the same version, and its smoke test runs the bundled CLI
    runs = "\n".join(str(s.get("run", "")) for s in _steps())
    assert 'packaging/macos/build-dmg.sh dist "$VERSION"' in runs


def test_inno_setup_names_version_and_uninstall_keeps_the_users_data() -> None:
    iss = (ROOT / "packaging" / "windows" / "inboxready.iss").read_text(encoding="utf-8")
    assert re.search(r"^AppName=InboxReady$", iss, re.M)
    assert re.search(r"^AppVersion=\{#AppVersion\}$", iss, re.M)
    assert re.search(r"^OutputBaseFilename=InboxReady-\{#AppVersion\}-windows-x64-setup$", iss, re.M)
    runs = "\n".join(str(s.get("run", "")) for s in _steps())
    assert '"/DAppVersion=$env:VERSION"' in runs  # the version the build checked against the tag
    assert r"artifacts\*-setup.exe" in runs
    # the uninstaller removes only what the installer put in {app}: never the user's settings, history,
    # reports (platformdirs: %APPDATA%\InboxReady, %LOCALAPPDATA%\InboxReady) or Credential Manager entries
    section = iss.split("[UninstallDelete]", 1)[1].split("\n[", 1)[0]
    targets = re.findall(r'Name:\s*"([^"]+)"', section)
    assert targets and all(t.startswith("{app}\\") for t in targets), targets
    assert not re.search(r"\{(userappdata|localappdata|userdocs|commonappdata)\}", iss)
    assert "uninsdeletekey" not in iss and "uninsdeletevalue" not in iss


def test_ci_audits_the_workflows_and_checks_the_linux_installer_after_the_tests() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    tests_at = ci.index(".venv/bin/python -m pytest")
    block = ci[ci.index("# ==== Release check"):]
    assert ci.index("# ==== Release check") > tests_at
    for needed in ("-c constraints.txt zizmor", "zizmor\" --offline --min-severity low .github/workflows/",
                   "packaging/build-linux.sh --deb", "sha256sum -c SHA256SUMS",
                   "lintian --fail-on error", "dpkg -i \"$deb\"", "/usr/bin/inboxready --self-test",
                   "packaging/smoke.py /usr/lib/inboxready", "dpkg -r inboxready"):
        assert needed in block, needed
    assert block.index("dpkg -i") < block.index("/usr/bin/inboxready --self-test") < block.rindex("dpkg -r inboxready")
    assert block.rstrip().endswith("release_check")
