"""Files → report payloads, with limits against zip and gzip bombs and hostile files.

Accepted inputs: DMARC aggregate XML, SMTP TLS (RFC 8460) JSON, either of them gzipped (``.xml.gz``,
``.json.gz``) or zipped (``.zip``), an e-mail (``.eml``) with the report attached, an mbox file of such
e-mails, and folders of any of these (walked recursively, in name order). The kind of a file is decided by
its first bytes, not by its name, so a mislabelled attachment still opens (XML and JSON also in UTF-16 or
UTF-32, with or without a byte order mark).

Public API::

    @dataclass class Limits(max_input_bytes=..., max_payload_bytes=..., max_message_bytes=...,
                            max_total_bytes=..., max_members=..., max_depth=..., max_messages=...)
    @dataclass class Payload(name: str, data: bytes, kind: str, report_domain: str = "")  # kind: "xml" | "json"
    @dataclass class Rejected(name: str, reason: str)                   # reason in plain words
    def iter_input_files(paths: Iterable[str | Path | Rejected]) -> Iterator[Path | Rejected]
    def extract_file(path: Path, limits: Limits | None = None, *, units: bool = False)
        -> Iterator[Payload | Rejected]      # units=True: UNIT_END between the mails of an mbox
    def extract_bytes(name: str, data: bytes, limits: Limits | None = None) -> Iterator[Payload | Rejected]
    def clean_name(text: str) -> str     # a file or part name safe to show, store and print

Memory stays bounded whatever the input: a zip is read from the disk member by member (its central
directory is sized before it is parsed), a gzip file is unpacked from the disk, an mbox is read one message
at a time, and only a report itself (at most ``max_payload_bytes``) or one e-mail (at most
``max_message_bytes``) is ever held whole. Every decompression is done in steps with ``max_length``, so no
more than ``max_payload_bytes`` (+1 byte to notice) is produced for one payload, and all payloads coming out
of one input file together may not pass ``max_total_bytes`` (for an mbox: that, or 20 times the file's size
when larger: it is many mails, not one bomb). A zip may hold at most ``max_members`` entries, an mbox at most
``max_messages`` mails; containers nest at most ``max_depth`` levels (zip in e-mail in mbox is 3). Sizes
announced by an archive are never trusted.

Nothing here raises on bad input: any error while reading one file (a damaged archive, an entry with no
name, an unknown compression method, a bug) becomes that file's ``Rejected`` with a reason, and one file
gives at most ``MAX_REJECTED`` rejections (then one line for the rest). Names are cleaned for display:
undecodable bytes and control characters (a hostile subject line or zip entry name) are written as visible
escapes.
"""

from __future__ import annotations

import logging
import email
import email.policy
import io
import os
import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import IO, Iterable, Iterator

from ..textsafe import visible

log = logging.getLogger(__name__)

MB = 1024 * 1024
_STEP = 1 * MB
MAX_REJECTED = 50        # rejections listed for one input file; the rest are counted in one line
_MBOX_GROWTH = 20        # an mbox may unpack to this many times its size (when more than max_total_bytes)
_SMALL_FILE = 4 * MB     # files up to this size are read at once; larger ones are read in steps


@dataclass(frozen=True)
class Limits:
    max_input_bytes: int = 4096 * MB   # a file on disk larger than this is refused unread
    max_payload_bytes: int = 50 * MB   # one report (unpacked, or a plain XML / JSON file)
    max_message_bytes: int = 15 * MB   # one e-mail (an .eml file, one mail of an mbox or of the mailbox)
    max_total_bytes: int = 500 * MB    # everything unpacked from one input file
    max_members: int = 1000            # entries in one zip file
    max_depth: int = 4                 # containers inside containers
    max_messages: int = 100_000        # mails in one mbox file


DEFAULT_LIMITS = Limits()


class Cancelled(Exception):
    """The import was asked to stop (Cancel): raised between reports, between the mails of an mbox, or every
    megabyte or so inside a big report, so a cancelled import lets go of the store within a fraction of a
    second whatever the file. Never a file's fault: nothing turns it into a rejection."""


@dataclass(frozen=True)
class Payload:
    """One report document ready for a parser."""

    name: str   # where it came from, e.g. "mail.eml › report.zip › report.xml"
    data: bytes
    kind: str   # "xml" or "json"
    # the policy domain the mail it came in names (RFC 8460 section 5.3: the TLS-Report-Domain header, else the
    # Subject's "Report Domain:"); "" when not from a mail, not named, or the two disagree
    report_domain: str = ""


@dataclass(frozen=True)
class Rejected:
    name: str
    reason: str


@dataclass
class _Budget:
    limits: Limits
    cap: int
    used: int = 0
    exhausted: bool = False

    def take(self, n: int) -> bool:
        self.used += n
        if self.used > self.cap:
            self.exhausted = True
        return not self.exhausted


class _TooBig(Exception):
    pass


class _UnitEnd:
    """Between the mails of an mbox (``extract_file(units=True)``): the store keeps each mail's reports as
    their own all-or-nothing unit, so a big mailbox file is stored as it is read, not held whole."""

    def __repr__(self) -> str:
        return "UNIT_END"


UNIT_END = _UnitEnd()


def clean_name(text: str) -> str:
    """``text`` safe to show in a terminal or a window, to print as JSON and to store: undecodable bytes (lone
    surrogates from a file name or a mail header), control and bidi-override characters are written as
    visible escapes (``textsafe.visible``: ``\\x1b``, ``\\u202e``, ``\\udcff``)."""
    if text.isascii() and text.isprintable():
        return text  # (nearly every name: nothing to escape)
    return visible(text)


_UTF16_32 = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\xfe\xff", "utf-16-be"),
             (b"\xff\xfe", "utf-16-le"), (b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
             (b"\x00<", "utf-16-be"), (b"<\x00", "utf-16-le"), (b"\x00{", "utf-16-be"), (b"{\x00", "utf-16-le"))


def wide_encoding(data: bytes) -> str | None:
    """The UTF-16 / UTF-32 codec of a document that starts with a byte order mark or with "<" / "{" in one of
    those encodings, or None."""
    if data[1:2] not in (b"\x00", b"\xfe", b"\xff", b"<", b"{"):
        return None  # (nearly every report: "<?" or "<f")
    for mark, codec in _UTF16_32:
        if data.startswith(mark):
            return codec
    return None


def _sniff(data: bytes) -> str:
    """'gzip', 'zip', 'xml', 'json', 'mbox', 'email', 'empty' or 'unknown' from the first bytes."""
    if not data:
        return "empty"
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    head = data[:2048]
    wide = wide_encoding(head)
    if wide is not None:
        text = head[:2048 - 2048 % 4].decode(wide, "ignore").lstrip("\ufeff \t\r\n")
        return "xml" if text.startswith("<") else "json" if text[:1] in ("{", "[") else "unknown"
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


def _gunzip(fh: IO[bytes], cap: int) -> bytes:
    """Decompress all gzip members read from ``fh``; never produce more than ``cap`` + 1 bytes."""
    out = io.BytesIO()  # getvalue() hands over its buffer: the report is held once, not twice
    d = zlib.decompressobj(wbits=31)
    data = fh.read(_STEP)
    while True:
        piece = d.decompress(data, min(_STEP, cap + 1 - out.tell()))  # in steps: other threads keep running
        out.write(piece)
        if out.tell() > cap:
            raise _TooBig()
        if d.eof:
            rest = d.unused_data
            while True:
                rest = rest.lstrip(b"\x00")
                if len(rest) >= 2:
                    break
                more = fh.read(_STEP)
                if not more:
                    break
                rest += more
            if rest[:2] != b"\x1f\x8b":
                return out.getvalue()  # the end (trailing bytes that are not another member are ignored, as gzip does)
            d = zlib.decompressobj(wbits=31)
            data = rest
            continue
        data = d.unconsumed_tail
        if data or piece:
            continue
        data = fh.read(_STEP)
        if not data:
            raise zlib.error("the compressed data ends early")


def _zip_directory(fh: IO[bytes]) -> tuple[int, int] | None:
    """(entries, central directory size) as the zip's end record says, or None when there is none; read
    before ``zipfile`` parses the directory, so a huge one is refused without building it in memory."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    start = max(0, size - (65535 + 22))
    fh.seek(start)
    tail = fh.read(size - start)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    entries, cd_size = struct.unpack_from("<xxxxxxxxxxHI", tail, at)
    if (entries == 0xFFFF or cd_size == 0xFFFFFFFF) and at >= 20 and tail[at - 20:at - 16] == b"PK\x06\x07":
        (z64_at,) = struct.unpack_from("<Q", tail, at - 12)
        if z64_at < size - 56:
            fh.seek(z64_at)
            rec = fh.read(56)
            if rec[:4] == b"PK\x06\x06" and len(rec) == 56:
                entries, cd_size = struct.unpack_from("<QQ", rec, 32)
    return int(entries), int(cd_size)


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    out = io.BytesIO()  # getvalue() hands over its buffer: the report is held once, not twice
    with zf.open(info) as fh:
        while True:
            piece = fh.read(min(1 * MB, cap + 1 - out.tell()))
            if not piece:
                break
            out.write(piece)
            if out.tell() > cap:
                raise _TooBig()
    return out.getvalue()


def _cap_words(n: int) -> str:
    return f"{n // MB} MB" if n >= MB else f"{n} bytes"


def _bomb(name: str, lim: Limits) -> Rejected:
    return Rejected(name, f"unpacks to more than {_cap_words(lim.max_payload_bytes)}; not a real report "
                          "(possibly a 'zip bomb'), skipped")


def extract_bytes(name: str, data: bytes, limits: Limits | None = None) -> Iterator[Payload | Rejected]:
    """The report payloads inside ``data`` (one input file's or one mail's content), or why it was refused."""
    lim = limits or DEFAULT_LIMITS
    name = clean_name(name)
    budget = _Budget(lim, lim.max_total_bytes)
    yield from _guarded(name, _extract(name, data, lim, budget, 0))


def _guarded(name: str, items: Iterator[Payload | Rejected]) -> Iterator[Payload | Rejected]:
    """``items``, with any exception turned into a rejection of the file and at most ``MAX_REJECTED``
    rejections listed (then one line with how many more)."""
    rejected = 0
    try:
        for item in items:
            if isinstance(item, Rejected):
                rejected += 1
                if rejected > MAX_REJECTED:
                    continue
            yield item
    except (MemoryError, RecursionError):
        rejected += 1
        yield Rejected(name, "this file is too large or too deeply nested to read; it was skipped")
    except Exception as exc:  # noqa: BLE001 - one odd file must never stop an import
        rejected += 1
        yield Rejected(name, f"this file could not be read ({type(exc).__name__}: {clean_name(str(exc))[:120]}); "
                             "it was skipped")
    if rejected > MAX_REJECTED:
        yield Rejected(name, f"… and {rejected - MAX_REJECTED:,} more parts of this file could not be imported")


def _extract(name: str, data: bytes, lim: Limits, budget: _Budget, depth: int,
             units: bool = False, hint: str = "") -> Iterator[Payload | Rejected]:
    if depth > lim.max_depth:
        yield Rejected(name, f"archives are nested more than {lim.max_depth} levels deep; not opened")
        return
    kind = _sniff(data)
    if kind == "empty":
        yield Rejected(name, "the file is empty")
    elif kind in ("xml", "json"):
        if len(data) > lim.max_payload_bytes:
            yield Rejected(name, f"the report is larger than {_cap_words(lim.max_payload_bytes)}; not opened")
        else:
            yield Payload(name, data, kind, hint)
    elif kind == "gzip":
        yield from _extract_gzip(name, io.BytesIO(data), lim, budget, depth, hint)
    elif kind == "zip":
        yield from _extract_zip(name, io.BytesIO(data), lim, budget, depth, hint)
    elif kind == "email":
        if len(data) > lim.max_message_bytes:
            yield Rejected(name, f"the e-mail is larger than {_cap_words(lim.max_message_bytes)}; not opened")
        else:
            yield from _extract_email(name, data, lim, budget, depth)
    elif kind == "mbox":
        yield from _extract_mbox(name, io.BytesIO(data), lim, budget, depth, units)
    else:
        yield Rejected(name, "not a DMARC or TLS report (not XML, JSON, gzip, zip or an e-mail)")


def _extract_gzip(name: str, fh: IO[bytes], lim: Limits, budget: _Budget, depth: int,
                  hint: str = "") -> Iterator[Payload | Rejected]:
    try:
        inner = _gunzip(fh, lim.max_payload_bytes)
    except _TooBig:
        yield _bomb(name, lim)
        return
    except (zlib.error, EOFError, ValueError, OSError) as exc:
        yield Rejected(name, f"the gzip file is damaged ({clean_name(str(exc))[:120]})")
        return
    if not budget.take(len(inner)):
        yield Rejected(name, f"everything in this file unpacks to more than {_cap_words(budget.cap)}; "
                             "the rest was skipped")
        return
    yield from _extract(name, inner, lim, budget, depth + 1, hint=hint)  # the same document: keep its file name


def _extract_zip(name: str, fh: IO[bytes], lim: Limits, budget: _Budget, depth: int,
                 hint: str = "") -> Iterator[Payload | Rejected]:
    try:
        directory = _zip_directory(fh)
        if directory is not None and (directory[0] > lim.max_members or directory[1] > lim.max_members * 1024):
            yield Rejected(name, f"the zip file holds {directory[0]} files, more than the {lim.max_members} "
                                 "allowed; not opened")
            return
        fh.seek(0)
        zf = zipfile.ZipFile(fh)
        infos = zf.infolist()
    except Exception as exc:  # noqa: BLE001 - zipfile raises many kinds on hostile input
        yield Rejected(name, f"the zip file is damaged ({clean_name(str(exc))[:120] or type(exc).__name__})")
        return
    files = [i for i in infos if not i.filename.endswith("/")]  # (ZipInfo.is_dir fails on an empty name)
    if len(files) > lim.max_members:
        yield Rejected(name, f"the zip file holds {len(files)} files, more than the {lim.max_members} "
                             "allowed; not opened")
        return
    if not files:
        yield Rejected(name, "the zip file is empty")
        return
    for info in files:
        member = f"{name} › {clean_name(info.filename) or '(an entry with no name)'}"
        if budget.exhausted:
            yield Rejected(member, f"everything in this file unpacks to more than {_cap_words(budget.cap)}; "
                                   "skipped")
            continue
        try:
            inner = _read_member(zf, info, lim.max_payload_bytes)
        except _TooBig:
            yield _bomb(member, lim)
            continue
        except Exception as exc:  # noqa: BLE001 - bad CRC, encryption, unknown method, lzma/bz2 errors, …
            yield Rejected(member, "this entry of the zip file is damaged, encrypted or packed in a way InboxReady "
                                   f"can't read ({clean_name(str(exc))[:120] or type(exc).__name__})")
            continue
        if not budget.take(len(inner)):
            yield Rejected(member, f"everything in this file unpacks to more than {_cap_words(budget.cap)}; "
                                   "skipped")
            continue
        yield from _extract(member, inner, lim, budget, depth + 1, hint=hint)


_REPORT_TYPES = ("application/zip", "application/x-zip", "application/x-zip-compressed", "application/gzip",
                 "application/x-gzip", "application/xml", "text/xml", "application/tlsrpt+json",
                 "application/tlsrpt+gzip", "application/json", "application/octet-stream")


def _email_parts(msg: Message) -> Iterator[tuple[str, bytes]]:
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type().lower()
        try:
            filename = part.get_filename() or ""
        except Exception:  # noqa: BLE001 - a damaged RFC 2231 parameter
            filename = ""
        if not filename and ctype not in _REPORT_TYPES and not ctype.startswith("application/"):
            continue
        if ctype.startswith("text/") and ctype not in ("text/xml",) and not filename:
            continue
        try:
            if _sniff(_head_of(part)) in ("unknown", "empty", "email", "mbox"):
                continue  # not a report: not decoded whole
            payload = part.get_payload(decode=True)
        except Exception:  # noqa: BLE001 - damaged encodings in hostile mail
            log.debug("a MIME part that can't be decoded", exc_info=True)
            continue
        if isinstance(payload, bytes) and payload:
            yield clean_name(str(filename)) or ctype.replace("/", "-"), payload


def _head_of(part: Message) -> bytes:
    """The first few kilobytes of a part, decoded (base64 and quoted-printable), to tell what it is."""
    raw = part.get_payload(decode=False)
    if not isinstance(raw, str):
        return b""
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if cte == "base64":
        import binascii

        text = "".join(raw[:8192].split())
        text = text[:len(text) // 4 * 4]
        try:
            return binascii.a2b_base64(text.encode("ascii", "ignore"))
        except (binascii.Error, ValueError):
            return b""
    if cte == "quoted-printable":
        import quopri

        return quopri.decodestring(raw[:8192].encode("ascii", "ignore"))
    return raw[:8192].encode("utf-8", "surrogateescape")


def _extract_email(name: str, data: bytes, lim: Limits, budget: _Budget, depth: int) -> Iterator[Payload | Rejected]:
    try:
        msg = email.message_from_bytes(data, policy=email.policy.compat32)
        try:
            subject = clean_name(str(msg.get("Subject", "") or "")).strip()
        except Exception:  # noqa: BLE001
            subject = ""
        hint = _report_domain(msg, subject)
        parts = [(fname, payload) for fname, payload in _email_parts(msg)
                 if _sniff(payload) not in ("unknown", "empty", "email", "mbox")]
        del msg  # the parsed mail (several copies of its text) is not needed for the reports in it
    except Exception as exc:  # noqa: BLE001 - the email package can fail in many ways on hostile input
        yield Rejected(name, f"the e-mail could not be read ({type(exc).__name__})")
        return
    if not parts:
        about = f" (subject: {subject[:80]})" if subject else ""
        yield Rejected(name, f"the e-mail has no DMARC or TLS report attached{about}")
        return
    parts.reverse()
    while parts:
        fname, payload = parts.pop()  # each attachment is let go once it is read
        if not budget.take(len(payload)):
            yield Rejected(f"{name} › {fname}", "the e-mail is too large to open")
            return
        yield from _extract(f"{name} › {fname}", payload, lim, budget, depth + 1, hint=hint)
        del payload


_SUBJECT_DOMAIN = re.compile(r"\bReport[ \t]+Domain:[ \t]*(\S+)", re.IGNORECASE)


def _report_domain(msg: Message, subject: str) -> str:
    """The policy domain a TLS report's mail names (RFC 8460 section 5.3): its TLS-Report-Domain header and the
    Subject's "Report Domain: ..."; "" when neither names one, or they name different domains (a hint for
    a report that leaves its own policy-domain out, never a replacement for it)."""
    found: set[str] = set()
    try:
        header = msg.get("TLS-Report-Domain")
    except Exception:  # noqa: BLE001 - a damaged header in hostile mail
        header = None
    if header is not None:
        found.add(clean_name(str(header)).strip().rstrip(".").lower())
    m = _SUBJECT_DOMAIN.search(subject)
    if m is not None:
        found.add(m.group(1).strip().rstrip(".").lower())
    found.discard("")
    return found.pop() if len(found) == 1 else ""


def _mbox_messages(fh: IO[bytes], cap: int) -> Iterator[bytes | None]:
    """The mails of an mbox read from ``fh`` one at a time (without their "From " line); None for a mail
    larger than ``cap``, which is skipped without being held."""
    buf = bytearray()
    too_big = False
    line_start = True
    while True:
        line = fh.readline(_STEP)  # a line longer than a step comes in pieces
        if not line or (line_start and line.startswith(b"From ")):
            if too_big:
                yield None
            elif buf.strip():
                yield bytes(buf)
            if not line:
                return
            buf = bytearray()
            too_big = False
        elif not too_big:
            buf += line
            if len(buf) > cap:
                too_big = True
                buf = bytearray()
        line_start = line.endswith(b"\n")


def _extract_mbox(name: str, fh: IO[bytes], lim: Limits, budget: _Budget, depth: int,
                  units: bool = False) -> Iterator[Payload | Rejected]:
    count = 0
    for body in _mbox_messages(fh, lim.max_message_bytes):
        if units and count:
            yield UNIT_END  # type: ignore[misc]
        count += 1
        part = f"{name} › message {count}"
        if count > lim.max_messages:
            yield Rejected(name, f"the mailbox file holds more than {lim.max_messages:,} mails; the rest was skipped")
            return
        if body is None:
            yield Rejected(part, f"the e-mail is larger than {_cap_words(lim.max_message_bytes)}; not opened")
            continue
        if budget.exhausted:
            yield Rejected(name, f"everything in this file unpacks to more than {_cap_words(budget.cap)}; "
                                 "the rest was skipped")
            return
        yield from _extract_email(part, body, lim, budget, depth + 1)
    if count == 0:
        yield Rejected(name, "the mailbox file holds no messages")


def extract_file(path: Path, limits: Limits | None = None, *,
                 units: bool = False) -> Iterator[Payload | Rejected | _UnitEnd]:
    """The payloads in one file on disk (any of the accepted forms). ``units``: an mbox's mails are separated
    by ``UNIT_END`` (each can be stored on its own)."""
    lim = limits or DEFAULT_LIMITS
    name = clean_name(path.name)
    yield from _guarded(name, _extract_path(path, name, lim, units))


def _extract_path(path: Path, name: str, lim: Limits, units: bool = False) -> Iterator[Payload | Rejected]:
    try:
        fh = open(path, "rb")
    except OSError as exc:
        yield Rejected(name, f"the file could not be read ({exc.strerror or exc})")
        return
    with fh:
        try:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                yield Rejected(name, "not a regular file")
                return
            size = st.st_size
            if size > lim.max_input_bytes:
                yield Rejected(name, f"the file is larger than {_cap_words(lim.max_input_bytes)}; not opened")
                return
            small = size <= _SMALL_FILE and size <= lim.max_payload_bytes and size <= lim.max_message_bytes
            head = fh.read(size + 1 if small else 4096)  # a small file (nearly all reports) is read at once
        except OSError as exc:
            yield Rejected(name, f"the file could not be read ({exc.strerror or exc})")
            return
        kind = _sniff(head)
        budget = _Budget(lim, lim.max_total_bytes)
        if kind == "mbox":
            budget.cap = max(lim.max_total_bytes, _MBOX_GROWTH * size)
        if small and len(head) <= size:
            yield from _extract(name, head, lim, budget, 0, units)
            return
        fh.seek(0)
        if kind == "zip":
            yield from _extract_zip(name, fh, lim, budget, 0)
        elif kind == "gzip":
            yield from _extract_gzip(name, fh, lim, budget, 0)
        elif kind == "mbox":
            yield from _extract_mbox(name, fh, lim, budget, 0, units)
        elif kind in ("empty", "unknown"):
            yield from _extract(name, head, lim, budget, 0)  # refused by its first bytes; the rest is not read
        else:
            cap = lim.max_message_bytes if kind == "email" else lim.max_payload_bytes
            if kind in ("email", "xml", "json") and size > cap:
                what = "e-mail" if kind == "email" else "report"
                yield Rejected(name, f"the {what} is larger than {_cap_words(cap)}; not opened")
                return
            try:
                data = fh.read(min(size, cap) + 1)  # +1 to notice a file that grows
            except OSError as exc:
                yield Rejected(name, f"the file could not be read ({exc.strerror or exc})")
                return
            yield from _extract(name, data, lim, budget, 0)


def iter_input_files(paths: Iterable[str | Path | Rejected]) -> Iterator[Path | Rejected]:
    """Files to import: the given files, and the files in the given folders (recursively, sorted); a
    ``Rejected`` given (from an earlier walk) is passed on as it is. Anything that is not a regular file (a
    named pipe, a device: reading it could block forever) is refused without being opened."""
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
                    full = Path(root) / f
                    if full.is_file():
                        yield full
                    elif full.exists():
                        yield Rejected(clean_name(f), "not a regular file")
                    else:
                        yield Rejected(clean_name(f), "the file could not be read (a broken link?)")
        elif p.is_file():
            yield p
        elif p.exists():
            yield Rejected(clean_name(p.name), "not a regular file")
        else:
            yield Rejected(clean_name(str(p)), "no such file or folder")


__all__ = ["Cancelled", "Limits", "DEFAULT_LIMITS", "Payload", "Rejected", "UNIT_END", "clean_name", "extract_bytes",
           "extract_file", "iter_input_files", "wide_encoding"]
