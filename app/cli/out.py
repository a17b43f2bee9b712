"""What every ``inboxready`` command prints goes through here, and every option is checked here.

Output. Records, report files, message headers and server replies are written by others, and some are
hostile: a TXT record holding ``ESC [ 2 J`` and a fake "all green" report, a subject whose carriage
return overwrites the verdict line, a bidi override that reverses what is shown. Two layers keep the
terminal ours:

- ``safe_stream(out)`` wraps the output and error streams (``main()`` does it once; the render
  functions do it again, harmlessly, for callers that hand them a bare stream). It writes every control
  or format character it is given as a visible escape (``\\x1b``), except the newline. The colours of our
  own ``_Style`` are written as a token that only this process knows (``ESC``), turned into the real
  escape sequence on the way out, so a record can't pass for our colours, nor colour anything.
- ``shown(text)`` escapes a single-line piece of outside text completely, the newline too, where it is
  put into a line (so a subject can't start a line of its own that reads like ours).

JSON output is ``write_json()``: the same data, with those characters as ``\\uXXXX`` escapes.

Options. ``seconds()``, ``count()``, ``nameserver()`` are the argparse types every command uses, so a
timeout of ``nan`` or ``inf``, a deadline that never ends or a nameserver that is not an address is
refused with one sentence (exit 2) before anything runs. ``add_deadline()`` gives a command its
``--deadline`` and ``run_within()`` holds it to it (``OutOfTime``: said plainly, exit 2).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import secrets
from contextvars import ContextVar
from typing import Any, Callable, Iterable, TextIO

from inboxready.core.dns.client import parse_nameserver
from inboxready.core.textsafe import UNSAFE_BUT_NEWLINE, dumps_json, escape_char, visible

# Our own escape character and carriage return, as tokens nobody else can write (new every run).
_NONCE = secrets.token_hex(12)
ESC = f"\ue000{_NONCE}e\ue001"
CR = f"\ue000{_NONCE}r\ue001"


def shown(value: Any) -> str:
    """One piece of outside text for a line of output: every control character escaped, newline too."""
    return visible(value)


def shown_lines(value: Any) -> str:
    """Outside text that may have several lines: newlines kept, everything else escaped."""
    return visible(value, keep_newlines=True)


_KEEP = "\ue000"  # stands for a space inside a `quoted value` while wrapping (never broken there)


def wrap_lines(text: Any, indent: str, width: int = 100) -> list[str]:
    """Outside text (control characters shown escaped, a newline becomes a space) wrapped at spaces only:
    never inside a `backticked value`, never at a hyphen (a host name such as news.demo-senders.example),
    never inside a word longer than the line (a record, an address): such a line is left long, so what is
    copied from the terminal is whole."""
    import re
    import textwrap

    text = shown_lines(text)
    keep = _KEEP not in text
    if keep:
        text = re.sub(r"`[^`\n]*`", lambda m: m.group(0).replace(" ", _KEEP), text)
    lines = textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent,
                          break_on_hyphens=False, break_long_words=False) or [indent]
    return [line.replace(_KEEP, " ") for line in lines] if keep else lines


class SafeStream:
    """A text stream that shows control characters escaped (see the module docstring). Everything else
    (``flush``, ``isatty``, ``getvalue``...) is the wrapped stream's."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    @property
    def wrapped(self) -> TextIO:
        return self._stream

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            text = str(text)
        clean = UNSAFE_BUT_NEWLINE.sub(lambda m: escape_char(m.group(0)), text)
        if "\ue000" in clean:
            clean = clean.replace(ESC, "\x1b").replace(CR, "\r")
        try:
            self._stream.write(clean)
        except UnicodeEncodeError:  # a terminal that can't show some letters: write them as \\uXXXX
            encoding = getattr(self._stream, "encoding", None) or "ascii"
            self._stream.write(clean.encode(encoding, "backslashreplace").decode(encoding, "replace"))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class Noted(SafeStream):
    """The ``SafeStream`` ``main()`` hands the commands: it notes whether anything was written (``written``)
    and keeps the text written (``text``, at most its last 64 KiB), so ``--json`` can carry an error that
    was said only on the error stream."""

    LIMIT = 1 << 16

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream.wrapped if isinstance(stream, SafeStream) else stream)
        self.written = False
        self._kept: list[str] = []
        self._size = 0

    def write(self, text: str) -> int:
        n = super().write(text)
        if text:
            self.written = True
            self._kept.append(str(text))
            self._size += len(self._kept[-1])
            while self._size > self.LIMIT and len(self._kept) > 1:
                self._size -= len(self._kept.pop(0))
        return n

    @property
    def text(self) -> str:
        return "".join(self._kept)


def json_error(said: str, code: int, **extra: Any) -> dict[str, Any]:
    """The JSON a ``--json`` command prints when it could not do what was asked: ``{"error": "...",
    "exit_code": 2}``; ``error`` is what was said on the error stream (without the "inboxready:" each line
    starts with; an argparse usage error: its "error:" line), or a plain sentence when nothing was said."""
    lines = [line.strip() for line in said.splitlines() if line.strip()]
    usage = [line for line in lines if ": error: " in line]
    if usage:  # argparse: "usage: ..." lines, then "inboxready check: error: ..."
        lines = [usage[-1].split(": error: ", 1)[1]]
    lines = [line.removeprefix("inboxready: ") for line in lines]
    message = "\n".join(lines) or f"The command stopped without a result (exit code {code})."
    return {"error": message, "exit_code": code, **extra}


def safe_stream(stream: TextIO) -> TextIO:
    """``stream`` wrapped once (a ``SafeStream`` is returned as it is)."""
    if isinstance(stream, SafeStream):
        return stream
    return SafeStream(stream)  # type: ignore[return-value]


def write_json(data: Any, out: TextIO, *, indent: int | None = 2, ensure_ascii: bool = False) -> None:
    """``data`` as JSON and a newline; unsafe characters as ``\\uXXXX`` (the same data once decoded)."""
    out.write(dumps_json(data, indent=indent, ensure_ascii=ensure_ascii) + "\n")


# -- option types -------------------------------------------------------------------------------------

def seconds(low: float, high: float, what: str = "time") -> Callable[[str], float]:
    """An argparse type: a number of seconds, more than ``low`` and at most ``high`` (finite)."""
    def parse(value: str) -> float:
        try:
            f = float(value.strip())
        except (ValueError, AttributeError):
            raise argparse.ArgumentTypeError(f"{shown(value)[:40]!s} is not a number of seconds") from None
        if math.isnan(f) or math.isinf(f):
            raise argparse.ArgumentTypeError(f"the {what} must be a number of seconds, not {shown(value)[:20]}")
        if f <= low:
            raise argparse.ArgumentTypeError(f"the {what} must be more than {low:g} seconds")
        if f > high:
            raise argparse.ArgumentTypeError(f"the {what} can be at most {high:g} seconds")
        return f
    parse.__name__ = "seconds"
    return parse


def count(low: int, high: int, what: str = "number") -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``."""
    def parse(value: str) -> int:
        text = value.strip()
        if not text.lstrip("+-").isdigit() or len(text) > 12:
            raise argparse.ArgumentTypeError(f"{shown(value)[:40]} is not a whole number")
        n = int(text)
        if not low <= n <= high:
            raise argparse.ArgumentTypeError(f"the {what} must be from {low} to {high}")
        return n
    parse.__name__ = "count"
    return parse


def nameserver(value: str) -> str:
    """An argparse type: a DNS server as ``IP`` or ``IP:PORT`` (``[IPv6]:PORT``)."""
    try:
        parse_nameserver(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{shown(value)[:60]} is not a DNS server address: give an IP address, or IP:PORT "
            "(e.g. 192.0.2.53 or 192.0.2.53:5353)") from None
    return value.strip()


# The limits every command shares.
DNS_TIMEOUT = seconds(0, 60, "timeout")  # one DNS query
DEADLINE = seconds(0, 3600, "deadline")  # all the lookups of one domain
MAIL_WAIT = seconds(0, 24 * 3600, "waiting time")  # a test message to arrive


# How long past --deadline a command may take to wrap up before it is stopped (the engine's own limits
# end every lookup at the deadline; this is the last guard, whatever the DNS data).
DEADLINE_GRACE = 2.0


def add_deadline(parser: argparse.ArgumentParser, default: float = 60.0, what: str = "a domain's") -> None:
    parser.add_argument("--deadline", type=DEADLINE, default=default, metavar="SECONDS",
                        help=f"give up on {what} remaining lookups after this long (default {default:g}, at "
                             "most 3600)")


class OutOfTime(Exception):
    """A command ran past its deadline (and the grace): said plainly, exit 2."""


def run_within(coro: Any, seconds: float) -> Any:
    """``asyncio.run(coro)``, stopped after ``seconds`` + ``DEADLINE_GRACE`` (raises ``OutOfTime``)."""
    async def bounded() -> Any:
        try:
            return await asyncio.wait_for(coro, seconds + DEADLINE_GRACE)
        except (TimeoutError, asyncio.TimeoutError):
            raise OutOfTime(f"stopped: not finished within the time limit of {seconds:g} s "
                            "(use --deadline to allow more)") from None

    return asyncio.run(bounded())


_STREAMS: ContextVar[tuple[TextIO, TextIO] | None] = ContextVar("inboxready_cli_streams", default=None)


def unknown_arguments(extras: list[str]) -> str:
    """The usage error for arguments no option takes, without their values (one could be a secret)."""
    names = list(dict.fromkeys(a.split("=", 1)[0] for a in extras if a.startswith("-") and len(a) > 1))
    values = sum(1 for a in extras if not (a.startswith("-") and len(a) > 1)) + sum(
        1 for a in extras if a.startswith("-") and "=" in a)
    said = [shown(n)[:60] for n in names[:10]] + ([f"{len(names) - 10} more options"] if len(names) > 10 else [])
    if values:
        said.append(f"{values} value{'s' if values > 1 else ''} (not repeated here: a password or key must never "
                    "be typed on the command line; InboxReady reads it from the environment or asks for it)")
    return "unrecognized arguments: " + ", ".join(said)


class Parser(argparse.ArgumentParser):
    """argparse, with its help, usage and error messages written through a ``SafeStream`` (an option's
    value is quoted back in them), to the streams ``main()`` was given (``using(out, err)``)."""

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:  # type: ignore[override]
        """argparse's, but an argument we don't know is not quoted back: ``--password hunter2`` typed by
        mistake would be repeated on the error stream and in ``--json`` output. The options are named (up
        to an ``=``), the other values only counted."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            self.error(unknown_arguments(extras))
        return parsed

    def _print_message(self, message: str, file: Any = None) -> None:
        if not message:
            return
        import sys

        given = _STREAMS.get()
        stream = file if file is not None else sys.stderr
        streams = [stream]
        if given is not None:
            mine = given[0] if file is sys.stdout else given[1]
            inner = mine.wrapped if isinstance(mine, SafeStream) else mine
            # the caller's stream; a usage error also stays on the process's stderr, where argparse puts it
            streams = [mine] if inner is stream or file is sys.stdout else [mine, stream]
        for s in streams:
            try:
                safe_stream(s).write(message)
            except (OSError, ValueError):
                pass

    @staticmethod
    def using(out: TextIO, err: TextIO) -> Any:
        """Context: argparse's messages go to ``out`` (help) and ``err`` (usage errors)."""
        return _Using(out, err)


class _Using:
    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.streams = (out, err)
        self.token: Any = None

    def __enter__(self) -> None:
        self.token = _STREAMS.set(self.streams)

    def __exit__(self, *exc: object) -> None:
        _STREAMS.reset(self.token)


__all__ = ["CR", "DEADLINE", "DNS_TIMEOUT", "ESC", "MAIL_WAIT", "Parser", "SafeStream", "count", "nameserver",
           "safe_stream", "seconds", "shown", "shown_lines", "write_json"]
