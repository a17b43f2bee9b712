"""packaging/build-linux.sh's last steps on a stand-in build (``--no-build``; the smoke test and the SBOM tools
replaced by stubs): without ``--deb`` the run ends with the sums of the archive and its SBOM and exit 0 (it
ended with "sums failed": ``set -o pipefail`` and an ``ls`` of .deb files that don't exist), and only this
run's artifacts are summed, never a .deb or archive an earlier run left in the output folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# writes the file given after -o (cyclonedx-py and sbom.py both take one), else does nothing: exit 0
STUB = """#!/bin/sh
while [ $# -gt 0 ]; do
  if [ "$1" = "-o" ]; then echo '{"stub": true}' >"$2"; fi
  shift
done
exit 0
"""


def _stub(path: Path, text: str = STUB) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="ascii")
    path.chmod(0o755)


def test_sums_without_deb_are_this_run_s_archive_and_sbom(tmp_path: Path) -> None:
    out = tmp_path / "out"
    app = out / "dist" / "inboxready"
    (app / "_internal").mkdir(parents=True)
    for exe in ("inboxready", "inboxready-gui"):
        _stub(app / exe, "#!/bin/sh\necho inboxready 0\n")
    # left by an earlier run: must not be summed
    (out / "inboxready_0.0.1_amd64.deb").write_bytes(b"old")
    (out / "inboxready-0.0.1-linux-x86_64.tar.gz").write_bytes(b"old")
    venv = tmp_path / "pyi"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)  # it has inboxready installed: the version is read
    sbom = tmp_path / "sbom"
    _stub(sbom / "bin" / "cyclonedx-py")
    _stub(sbom / "bin" / "python")
    stubs = tmp_path / "stubs"
    _stub(stubs / "python3")  # the smoke test (packaging/smoke.py) is the only python3 the script runs here
    env = {**os.environ, "PYI_VENV": str(venv), "SBOM_VENV": str(sbom), "OUT_DIR": str(out),
           "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["bash", str(ROOT / "packaging" / "build-linux.sh"), "--no-build"], env=env,
                          capture_output=True, text=True, timeout=120)
    log = proc.stdout + proc.stderr
    assert "sums failed" not in log, log
    assert proc.returncode == 0, log
    assert "all smoke checks passed" in proc.stdout
    lines = (out / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    names = [line.split(maxsplit=1)[1] for line in lines]
    version = subprocess.run([sys.executable, "-c", "from importlib.metadata import version; "
                              "print(version('inboxready'))"], capture_output=True, text=True).stdout.strip()
    archive = f"inboxready-{version}-linux-{os.uname().machine}.tar.gz"
    assert names == [archive, f"{archive}.cdx.json"]
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
