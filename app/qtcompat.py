"""PySide6 releases the app must not run on.

PySide6 6.12.0 dropped a reference on the ``bool`` that ``Signal.emit()`` returns and on ``None``
returned from a Python override of a C++ virtual (``QLayout.itemAt``, ``QAbstractItemModel.data``...);
on Python 3.11, where ``True`` and ``None`` are not immortal, the interpreter aborts after a few hundred
of them ("deallocating None"). ``pyproject.toml`` excludes that release (``PySide6-Essentials
!=6.12.0``), so the app calls ``signal.emit()`` and returns ``None`` as usual, with no work-around.

A PySide6 installed outside pip's control (a distribution package, a bundled copy) can still be that
release: ``unsupported_pyside()`` says so in plain words, and ``inboxready-gui`` refuses to start with that
message instead of crashing later.
"""

from __future__ import annotations

import PySide6

BAD_RELEASES: dict[str, str] = {
    "6.12.0": "it miscounts references in Signal.emit() and in Python overrides of C++ virtuals, which "
              "crashes the app",
}


def unsupported_pyside(version: str | None = None) -> str | None:
    """A plain-words reason when ``version`` (default: the PySide6 in use) is a release we cannot run on."""
    version = version or PySide6.__version__
    why = BAD_RELEASES.get(version)
    if why is None:
        return None
    return (f"InboxReady cannot run on PySide6 {version}: {why}. Install another release, for example "
            f"with: pip install 'PySide6-Essentials!={version}'.")


__all__ = ["BAD_RELEASES", "unsupported_pyside"]
