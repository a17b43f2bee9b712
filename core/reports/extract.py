"""Files → report payloads, with limits against zip and gzip bombs.

Accepted inputs: DMARC aggregate XML, SMTP TLS (RFC 8460) JSON, either of them gzipped (``.xml.gz``,
``.json.gz``) or zipped (``.zip``), an e-mail (``.eml``) with the report attached, an mbox file of such
e-mails, and folders of any of these (walked recursively, in name order). The kind of a file is decided by
its first bytes, not by its name, so a mislabelled attachment still opens.

Public API::

    @dataclass class Limits(max_input_bytes=..., max_payload_bytes=..., max_total_bytes=...,
                            max_members=..., max_depth=...)
    @dataclass class Payload(name: str, data: bytes, kind: str)        # kind: "xml" | "json"
    @dataclass class Rejected(name: str, reason: str)                   # reason in plain words
    def iter_input_files(paths: Iterable[str | Path | Rejected]) -> Iterator[Path | Rejected]
    def extract_file(path: Path, limits: Limits | None = None) -> Iterator[Payload | Rejected]
    def extract_bytes(name: str, data: bytes, limits: Limits | None = None) -> Iterator[Payload | Rejected]

Limits: a file larger than ``max_input_bytes`` is not read at all; every decompression is done in steps
with ``max_length`` so no more than ``max_payload_bytes`` (+1 byte to notice) is ever produced for one
payload, and all payloads coming out of one input file together may not pass ``max_total_bytes``; a zip
may hold at most ``max_members`` entries; containers nest at most ``max_depth`` levels (zip in e-mail in
mbox is 3). Sizes announced by the archive itself are never trusted. Nothing here raises on bad input.
"""

from __future__ import annotations

import email
import email.policy
import io
import os
import zipfile
import zlib
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Iterable, Iterator

MB = 1024 * 1024
_STEP = 1 * MB


@dataclass(frozen=True)
class Limits:
    max_input_bytes: int = 200 * MB     # a file on disk larger than this is refused unread
    max_payload_bytes: int = 50 * MB    # one decompressed report
    max_total_bytes: int = 500 * MB     # everything decompressed from one input file
    max_members: int = 1000             # entries in one zip file
    max_depth: int = 4                  # containers inside containers


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Payload:
    """One report document ready for a parser."""

    name: str   # where it came from, e.g. "mail.eml › report.zip › report.xml"
    data: bytes
    kind: str   # "xml" or "json"


@dataclass(frozen=True)
class Rejected:
    name: str
    reason: str


@dataclass
class _Budget:
    limits: Limits
    used: int = 0
    exhausted: bool = False

    def take(self, n: int) -> bool:
        self.used += n
        if self.used > self.limits.max_total_bytes:
            self.exhausted = True
        return not self.exhausted


class _TooBig(Exception):
    pass


def _sniff(data: bytes) -> str:
    """'gzip', 'zip', 'xml', 'json', 'mbox', 'email', 'empty' or 'unknown' from the first bytes."""
    if not data:
        return "empty"
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    head = data[:2048]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    stripped = head.lstrip()
    if stripped.startswith(b"<"):
        return "xml"
    if stripped.startswith(b"{") or stripped.startswith(b"["):
        return "json"
    if head.startswith(b"From "):
        return "mbox"
    first = head.split(b"\n", 1)[0]
    if b":" in first and first.split(b":", 1)[0].strip().replace(b"-", b"").isalnum():
        return "email"
    return "unknown"


def _gunzip(data: bytes, cap: int) -> bytes:
    """Decompress all gzip members of ``data``; never produce more than ``cap`` + 1 bytes."""
    out = bytearray()
    rest = data
    while True:
        d = zlib.decompressobj(wbits=31)
        buf = rest
        while True:
            piece = d.decompress(buf, min(_STEP, cap + 1 - len(out)))  # in steps: other threads keep running
            out += piece
            if len(out) > cap:
                raise _TooBig()
            if d.eof:
                break
            buf = d.unconsumed_tail
            if not buf and not piece:
                raise zlib.error("the compressed data ends early")
        rest = d.unused_data.lstrip(b"\x00")
        if rest[:2] != b"\x1f\x8b":
            return bytes(out)


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    out = bytearray()
    with zf.open(info) as fh:
        while True:
            piece = fh.read(min(1 * MB, cap + 1 - len(out)))
            if not piece:
                break
            out += piece
            if len(out) > cap:
                raise _TooBig()
    return bytes(out)


def _cap_words(n: int) -> str:
    return f"{n // MB} MB" if n >= MB else f"{n} bytes"


def extract_bytes(name: str, data: bytes, limits: Limits | None = None) -> Iterator[Payload | Rejected]:
    """The report payloads inside ``data`` (one input file's content), or why it was refused."""
    lim = limits or DEFAULT_LIMITS
    budget = _Budget(lim)
    yield from _extract(name, data, lim, budget, 0)


def _extract(name: str, data: bytes, lim: Limits, budget: _Budget, depth: int) -> Iterator[Payload | Rejected]:
    if depth > lim.max_depth:
        yield Rejected(name, f"archives are nested more than {lim.max_depth} levels deep; not opened")
        return
    kind = _sniff(data)
    try:
        if kind == "empty":
            yield Rejected(name, "the file is empty")
        elif kind in ("xml", "json"):
            yield Payload(name, data, kind)
        elif kind == "gzip":
            try:
                inner = _gunzip(data, lim.max_payload_bytes)
            except _TooBig:
                yield Rejected(name, f"unpacks to more than {_cap_words(lim.max_payload_bytes)}; "
                                     "not a real report (possibly a 'zip bomb'), skipped")
                return
            except (zlib.error, EOFError, ValueError) as exc:
                yield Rejected(name, f"the gzip file is damaged ({exc})")
                return
            if not budget.take(len(inner)):
                yield Rejected(name, f"everything in this file unpacks to more than "
                                     f"{_cap_words(lim.max_total_bytes)}; the rest was skipped")
                return
            yield from _extract(name, inner, lim, budget, depth + 1)  # the same document: keep its file name
        elif kind == "zip":
            yield from _extract_zip(name, data, lim, budget, depth)
        elif kind == "email":
            yield from _extract_email(name, data, lim, budget, depth)
        elif kind == "mbox":
            yield from _extract_mbox(name, data, lim, budget, depth)
        else:
            yield Rejected(name, "not a DMARC or TLS report (not XML, JSON, gzip, zip or an e-mail)")
    except RecursionError:
        yield Rejected(name, "too deeply nested to open")


def _extract_zip(name: str, data: bytes, lim: Limits, budget: _Budget, depth: int) -> Iterator[Payload | Rejected]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        yield Rejected(name, f"the zip file is damaged ({exc})")
        return
    files = [i for i in infos if not i.is_dir()]
    if len(files) > lim.max_members:
        yield Rejected(name, f"the zip file holds {len(files)} files, more than the {lim.max_members} "
                             "allowed; not opened")
        return
    if not files:
        yield Rejected(name, "the zip file is empty")
        return
    for info in files:
        member = f"{name} › {info.filename}"
        if budget.exhausted:
            yield Rejected(member, f"everything in this file unpacks to more than "
                                   f"{_cap_words(lim.max_total_bytes)}; skipped")
            continue
        try:
            inner = _read_member(zf, info, lim.max_payload_bytes)
        except _TooBig:
            yield Rejected(member, f"unpacks to more than {_cap_words(lim.max_payload_bytes)}; "
                                   "not a real report (possibly a 'zip bomb'), skipped")
            continue
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError,
                zlib.error) as exc:
            yield Rejected(member, f"this entry of the zip file is damaged or encrypted ({exc})")
            continue
        if not budget.take(len(inner)):
            yield Rejected(member, f"everything in this file unpacks to more than "
                                   f"{_cap_words(lim.max_total_bytes)}; skipped")
            continue
        yield from _extract(member, inner, lim, budget, depth + 1)


_REPORT_TYPES = ("application/zip", "application/x-zip", "application/x-zip-compressed", "application/gzip",
                 "application/x-gzip", "application/xml", "text/xml", "application/tlsrpt+json",
                 "application/tlsrpt+gzip", "application/json", "application/octet-stream")


def _email_parts(msg: Message) -> Iterator[tuple[str, bytes]]:
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type().lower()
        filename = part.get_filename() or ""
        if not filename and ctype not in _REPORT_TYPES and not ctype.startswith("application/"):
            continue
        if ctype.startswith("text/") and ctype not in ("text/xml",) and not filename:
            continue
        try:
            payload = part.get_payload(decode=True)
        except Exception:  # noqa: BLE001 - damaged encodings in hostile mail
            continue
        if isinstance(payload, bytes) and payload:
            yield (filename or ctype.replace("/", "-")), payload


def _extract_email(name: str, data: bytes, lim: Limits, budget: _Budget, depth: int) -> Iterator[Payload | Rejected]:
    try:
        msg = email.message_from_bytes(data, policy=email.policy.compat32)
        parts = list(_email_parts(msg))
    except Exception as exc:  # noqa: BLE001 - the email package can fail in many ways on hostile input
        yield Rejected(name, f"the e-mail could not be read ({type(exc).__name__})")
        return
    found = False
    for fname, payload in parts:
        kind = _sniff(payload)
        if kind in ("unknown", "empty", "email", "mbox"):
            continue
        found = True
        if not budget.take(len(payload)):
            yield Rejected(f"{name} › {fname}", "the e-mail is too large to open")
            return
        yield from _extract(f"{name} › {fname}", payload, lim, budget, depth + 1)
    if not found:
        subject = str(msg.get("Subject", "") or "").strip()
        about = f" (subject: {subject[:80]})" if subject else ""
        yield Rejected(name, f"the e-mail has no DMARC or TLS report attached{about}")


def _split_mbox(data: bytes) -> Iterator[bytes]:
    start = 0
    n = len(data)
    while start < n:
        nxt = data.find(b"\nFrom ", start + 1)
        end = n if nxt < 0 else nxt + 1
        chunk = data[start:end]
        # drop the "From " separator line and undo >From quoting is not needed for attachments
        nl = chunk.find(b"\n")
        body = chunk[nl + 1:] if chunk.startswith(b"From ") and nl >= 0 else chunk
        if body.strip():
            yield body
        start = end


def _extract_mbox(name: str, data: bytes, lim: Limits, budget: _Budget, depth: int) -> Iterator[Payload | Rejected]:
    count = 0
    for i, body in enumerate(_split_mbox(data), 1):
        count += 1
        yield from _extract_email(f"{name} › message {i}", body, lim, budget, depth + 1)
    if count == 0:
        yield Rejected(name, "the mailbox file holds no messages")


def _read_capped(path: Path, cap: int) -> bytes:
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > cap:
            raise _TooBig()
        # read(n) reserves n bytes up front: ask for the size on disk (+1 to notice a growing file)
        data = fh.read(size + 1)
    if len(data) > cap:
        raise _TooBig()
    return data


def extract_file(path: Path, limits: Limits | None = None) -> Iterator[Payload | Rejected]:
    """The payloads in one file on disk (any of the accepted forms)."""
    lim = limits or DEFAULT_LIMITS
    name = path.name
    try:
        data = _read_capped(path, lim.max_input_bytes)
    except _TooBig:
        yield Rejected(name, f"the file is larger than {_cap_words(lim.max_input_bytes)}; not opened")
        return
    except OSError as exc:
        yield Rejected(name, f"the file could not be read ({exc.strerror or exc})")
        return
    yield from extract_bytes(name, data, lim)


def iter_input_files(paths: Iterable[str | Path | Rejected]) -> Iterator[Path | Rejected]:
    """Files to import: the given files, and the files in the given folders (recursively, sorted); a
    ``Rejected`` given (from an earlier walk) is passed on as it is."""
    for raw in paths:
        if isinstance(raw, Rejected):
            yield raw
            continue
        p = Path(raw)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for f in sorted(files):
                    if f.startswith("."):
                        continue
                    yield Path(root) / f
        elif p.is_file():
            yield p
        elif p.exists():
            yield Rejected(p.name, "not a regular file")
        else:
            yield Rejected(str(p), "no such file or folder")


__all__ = ["Limits", "DEFAULT_LIMITS", "Payload", "Rejected", "extract_bytes", "extract_file", "iter_input_files"]
