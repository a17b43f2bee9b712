"""Users see only what InboxReady means to say: the entry points print no library warning (dnspython's
CryptographyDeprecationWarning with today's cryptography), while developers still see warnings: importing
the modules (as the tests do) changes no warning filter, and ``-W``/``PYTHONWARNINGS`` shows them again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from inboxready.core.dns.server import DnsTestServer

ZONE = """$TTL 300
@       IN MX  10 mail
mail    IN A   192.0.2.10
@       IN TXT "v=spf1 mx -all"
_dmarc  IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@shop.test"
"""


def _script(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    assert path.exists(), f"{path} is missing: install the project (pip install -e '.[test]') to get it"
    return str(path)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONWARNINGS", "PYTHONDEVMODE")}
    env.update(INBOXREADY_HOME=str(tmp_path), **extra)
    return env


def test_version_prints_nothing_on_stderr(tmp_path: Path) -> None:
    proc = subprocess.run([_script("inboxready"), "--version"], env=_env(tmp_path), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("inboxready ")
    assert proc.stderr == ""


def test_a_full_check_prints_no_library_warning(dns_server: DnsTestServer, tmp_path: Path) -> None:
    """Every check runs (DNSSEC included: it imports dnspython's DNSSEC algorithms, the warnings' source)."""
    dns_server.add_zone("shop.test", ZONE)
    proc = subprocess.run([_script("inboxready"), "check", "shop.test", "--nameserver", dns_server.address,
                           "--timeout", "1", "--skip", "starttls", "--color", "never"],
                          env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1, 2) and "shop.test" in proc.stdout, proc.stdout + proc.stderr
    assert "Warning:" not in proc.stderr and "warn(" not in proc.stderr, proc.stderr
    assert "DeprecationWarning" not in proc.stdout


def test_importing_the_modules_hides_no_warning() -> None:
    code = ("import warnings; before = list(warnings.filters); "
            "import inboxready.app.cli, inboxready.app.gui, inboxready.app.launch, inboxready.core.reports.importjob; "
            "assert warnings.filters == before, warnings.filters; print('same')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "same", proc.stderr


def test_warnings_come_back_when_asked_for() -> None:
    code = ("import warnings; from inboxready.app.launch import quiet_library_warnings; quiet_library_warnings(); "
            "warnings.warn('a library speaks', DeprecationWarning)")
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert quiet.returncode == 0 and quiet.stderr == ""
    loud = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, timeout=60)
    assert "a library speaks" in loud.stderr
