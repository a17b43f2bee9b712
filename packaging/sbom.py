"""The SBOM shipped with an installer: what is inside it, in CycloneDX JSON. Standard library only.

    cyclonedx-py environment BUILD_VENV/bin/python --pyproject pyproject.toml --output-reproducible -o env.json
    python packaging/sbom.py env.json --artifact FILE [--bundle APP_DIR] [--python X.Y.Z] -o FILE.cdx.json

``cyclonedx-py environment`` (cyclonedx-bom, pinned in constraints.txt) describes every distribution in the
build venv, with licences and the dependency graph. The build venv also holds the build tools (PyInstaller,
its hooks, pip, setuptools), which are not shipped, so this keeps only the components the app depends on
(reachable from the root component ``inboxready``), then adds:

- the Python interpreter the app was frozen with (``--python``);
- with ``--bundle`` on a Debian/Ubuntu build machine: each system library PyInstaller copied into the bundle
  (``_internal/lib*.so*``, e.g. OpenSSL, zlib, libxcb), as the Debian package it came from and its version
  (``pkg:deb/...``), looked up with dpkg; a library no package owns is listed by file name;
- the artifact's name and SHA-256 (``--artifact``), as a property of the SBOM's metadata.

Run it with the Python of the venv that has cyclonedx-bom and the result is also validated against the
CycloneDX schema. Exit 1 when the input has no root component, the app's own dependencies are missing from
it, or the result is not valid.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

def reachable(bom: dict) -> set[str]:
    graph = {d["ref"]: d.get("dependsOn", []) for d in bom.get("dependencies", [])}
    root = bom.get("metadata", {}).get("component", {}).get("bom-ref")
    if not root or root not in graph:
        raise SystemExit("sbom: the input has no root component with dependencies (use --pyproject)")
    seen: set[str] = set()
    todo = [root]
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        todo.extend(graph.get(ref, []))
    return seen


def _run(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def _os_release() -> dict[str, str]:
    try:
        text = Path("/etc/os-release").read_text(encoding="utf-8")
    except OSError:
        return {}
    return {k: v.strip('"') for k, _, v in (line.partition("=") for line in text.splitlines()) if k}


def system_libraries(bundle: Path) -> list[dict]:
    """Components for the system libraries in a Linux bundle's _internal/ (Debian package and version)."""
    internal = bundle / "_internal"
    libs = sorted(p for p in internal.glob("lib*.so*") if p.is_file() and not p.name.startswith("libpython"))
    if not libs:
        return []
    have_dpkg = shutil.which("dpkg-query") is not None
    distro = _os_release().get("ID", "debian")
    arch = _run("dpkg", "--print-architecture").strip() if have_dpkg else platform.machine()
    comps: dict[str, dict] = {}
    for lib in libs:
        owner = ""
        if have_dpkg:  # "zlib1g:amd64: /lib/x86_64-linux-gnu/libz.so.1" (a library this build machine has)
            lines = [line for line in _run("dpkg-query", "-S", f"*/{lib.name}").splitlines() if ": /" in line]
            lines.sort(key=lambda line: f":{arch}:" not in line)  # this architecture's package first
            if lines:
                owner = lines[0].split(":", 1)[0].strip()
        if owner:
            version = _run("dpkg-query", "-W", "-f=${Version}", f"{owner}:{arch}") or \
                _run("dpkg-query", "-W", "-f=${Version}", owner)
            ref = f"deb:{owner}@{version}"
            epoch, _, upstream = version.rpartition(":")  # package-url: the epoch is a qualifier
            quals = f"arch={arch}" + (f"&epoch={epoch}" if epoch else "")
            comp = comps.setdefault(ref, {
                "type": "library", "bom-ref": ref, "name": owner, "version": version,
                "purl": f"pkg:deb/{distro}/{owner}@{quote(upstream, safe='.-_~')}?{quals}",
                "description": f"{distro} package whose shared libraries the frozen app bundles",
                "properties": []})
        else:
            ref = f"file:{lib.name}"
            comp = comps.setdefault(ref, {
                "type": "file", "bom-ref": ref, "name": lib.name, "properties": [],
                "hashes": [{"alg": "SHA-256", "content": hashlib.sha256(lib.read_bytes()).hexdigest()}]})
        comp["properties"].append({"name": "inboxready:bundled-file", "value": f"_internal/{lib.name}"})
    return list(comps.values())


def build(bom: dict, artifact: Path | None, bundle: Path | None, python: str | None) -> dict:
    keep = reachable(bom)
    root = bom["metadata"]["component"]["bom-ref"]
    bom["components"] = [c for c in bom.get("components", []) if c.get("bom-ref") in keep]
    bom["dependencies"] = [d for d in bom.get("dependencies", []) if d["ref"] in keep]
    added: list[dict] = []
    if python:
        added.append({"type": "platform", "bom-ref": f"cpython@{python}", "name": "CPython", "version": python,
                      "purl": f"pkg:generic/cpython@{python}",
                      "description": "the Python interpreter and standard library frozen into the app"})
    if bundle is not None:
        added += system_libraries(bundle)
    bom["components"] += added
    for d in bom["dependencies"]:
        if d["ref"] == root:
            d["dependsOn"] = sorted(set(d.get("dependsOn", [])) | {c["bom-ref"] for c in added})
    bom["dependencies"] += [{"ref": c["bom-ref"]} for c in added]
    if artifact is not None:
        props = bom["metadata"].setdefault("properties", [])
        props += [{"name": "inboxready:artifact", "value": artifact.name},
                  {"name": "inboxready:artifact-sha256", "value": hashlib.sha256(artifact.read_bytes()).hexdigest()}]
    return bom


def validate(text: str, spec: str) -> str | None:
    """Validate against the CycloneDX schema when cyclonedx-python-lib is importable (the SBOM tool's venv)."""
    try:
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.validation.json import JsonStrictValidator
    except ImportError:
        print("  (cyclonedx-python-lib not importable here: schema validation skipped)")
        return None
    error = JsonStrictValidator(SchemaVersion.from_version(spec)).validate_str(text)
    return str(error).splitlines()[0] if error else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("environment_sbom", type=Path, help="output of cyclonedx-py environment for the build venv")
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--artifact", type=Path, help="the installer or archive this SBOM describes")
    ap.add_argument("--bundle", type=Path, help="the frozen app folder (Linux: also lists bundled system libraries)")
    ap.add_argument("--python", help="version of the Python the app was frozen with")
    ap.add_argument("--require", action="append", default=["dnspython", "cryptography", "keyring"],
                    help="a component that must be in the SBOM")
    args = ap.parse_args(argv)
    bom = build(json.loads(args.environment_sbom.read_text(encoding="utf-8")), args.artifact, args.bundle,
                args.python)
    names = {c.get("name", "").lower() for c in bom["components"]}
    missing = [r for r in args.require if r.lower() not in names]
    if missing:
        print(f"sbom: {', '.join(missing)} missing from the SBOM", file=sys.stderr)
        return 1
    text = json.dumps(bom, indent=1, sort_keys=True) + "\n"
    problem = validate(text, bom.get("specVersion", "1.6"))
    if problem:
        print(f"sbom: not a valid CycloneDX document: {problem}", file=sys.stderr)
        return 1
    args.output.write_text(text, encoding="utf-8")
    kinds: dict[str, int] = {}
    for c in bom["components"]:
        kinds[c["type"]] = kinds.get(c["type"], 0) + 1
    print(f"  SBOM {args.output.name}: {len(bom['components'])} components "
          f"({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
