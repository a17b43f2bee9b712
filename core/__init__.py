"""InboxReady's check engine: no Qt, asyncio, plain data in and out."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("inboxready")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
