"""DMARC aggregate report parser (RFC 7489 appendix C era, RFC 9990, and the old dmarc.org draft schema).

The XML is read as a stream (expat feeding a target that builds only the header and one record at a time;
``defusedxml``'s parser when a document type declaration is possible at all): a document type declaration, entities or external references are refused (so "billion
laughs" and XXE files are rejected, never expanded), and each record is turned into a row as soon as it
ends and dropped from the tree, so memory holds the rows, not the document's elements. Work and memory are
bounded: at most ``MAX_ROWS`` records per report, ``MAX_DEPTH`` levels of nesting, ``MAX_RECORD_PARTS``
elements in one record, ``MAX_HEADER_PARTS`` elements outside the records, ``MAX_ELEMENTS`` elements in all,
``MAX_TEXT`` characters in one value,
and a ``ParseBudget`` shared by every report of one input file (rows and elements); past a limit the report
is refused with the reason. A record that can't be read (a source address that is not one, such as
``unknown``; a count that is negative, over 10^12 or not a number; no ``<row>``) is skipped and the report's
other records are read: ``skipped_rows`` and ``skipped`` (in words, with the first reasons) say so; a report
none of whose records can be read is refused with the reasons. XML namespaces are ignored, so the plain, the
RFC 9990 (``urn:ietf:params:xml:ns:dmarc-2.0``) and the 0.1 namespace all read the same way. Result words are matched
without regard to case (``Pass``, ``HardFail``, ``NONE`` are accepted) and normalised to lower case. Missing
optional parts (envelope_from, selector, scope, reasons, version, ...) become ``None`` or empty lists.

Text encodings: UTF-8 (with or without a byte order mark), UTF-16 and UTF-32 (by their byte order mark, or
by the first "<"), and any text encoding named in the XML declaration (Shift_JIS, ISO-8859-x, windows-125x,
...) are read: such a document is converted to UTF-8 first (in steps), so both ways below apply to it.

Records without a policy-evaluated result (some reporters, e.g. AOL in 2012, left ``<dkim>``/``<spf>`` out
of ``<policy_evaluated>``): the aligned results are worked out from the record's own ``auth_results`` and
its header From domain (``derive_alignment``: a passing DKIM signature or SPF MAIL FROM check counts when
its domain is the From domain, or, with relaxed alignment, when both are the report's domain or below it;
a HELO check never counts for SPF alignment, which is about the MAIL FROM identity),
and the report counts those messages (``derived_messages``) so the summary can say so. When even that is
impossible (no auth results, no header From), the result stays empty: unknown, never a failure.

Public API::

    class ReportError(ValueError)            # .reason: plain words; the only exception parse_* raise
    @dataclass class DkimAuth(domain: str, selector: str | None, result: str)
    @dataclass class SpfAuth(domain: str, scope: str | None, result: str)
    @dataclass class Row(source_ip, count, disposition, dkim, spf, reasons, header_from, envelope_from,
                         envelope_to, dkim_auth: list[DkimAuth], spf_auth: list[SpfAuth])
    @dataclass class AggregateReport(org_name, email, report_id, begin, end, domain, adkim, aspf, p, sp, np,
                                     pct, testing, fo, version, schema, errors, rows: list[Row],
                                     derived_messages, skipped_rows, skipped_messages, skipped)
        .message_count, .dmarc_pass_count, .org (org_name or e-mail domain)
    @dataclass class ParseBudget(rows, elements)   # what one input file may still use
    def parse_aggregate(data: bytes, budget: ParseBudget | None = None) -> AggregateReport
    def parse_aggregate_flat(data: bytes, budget: ParseBudget | None = None) -> AggregateReport
    def date_problem(begin: int, end: int, now: float) -> str | None   # impossible report dates, in words
"""

from __future__ import annotations

import codecs
import ipaddress
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, NamedTuple
from xml.etree.ElementTree import Element

import defusedxml
import defusedxml.ElementTree as DET

from .extract import Cancelled, wide_encoding

MAX_ROWS = 100_000            # records in one report
MAX_COUNT = 10**12
MAX_DEPTH = 32                # nesting of elements (a real report has 5 levels)
MAX_RECORD_PARTS = 1_000      # elements in one record (a real one has 15 to 40)
MAX_HEADER_PARTS = 10_000     # elements outside the records
MAX_ELEMENTS = 5_000_000      # elements in one report
FILE_ROWS = 200_000           # records in all the reports of one input file
FILE_ELEMENTS = 6_000_000     # elements in all the reports of one input file
MAX_TEXT = 64 * 1024          # characters in one value (a real one is a domain name, a date, a comment)
FAST_HEAD = 1024 * 1024       # the fast path reads a header (everything before the first record) up to this size
FEED_STEP = 64 * 1024
FAST_WINDOW = 1024 * 1024     # the fast path decodes and matches the records in pieces of about this size
EARLIEST = 1_325_376_000      # 2012-01-01: no DMARC report can be older
FUTURE_SLACK = 2 * 86400      # a report may end this far after "now" (clocks and time zones)
LONGEST = 32 * 86400          # a report covers a day, or a week; a month at most


class ReportError(ValueError):
    """A report that cannot be read; ``reason`` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _XmlError(ReportError):
    """The XML itself could not be read (a second chance may apply); limits and missing parts are plain
    ``ReportError``s."""


@dataclass
class ParseBudget:
    """What the reports of one input file may still use together (a zip of many huge reports stops here)."""

    rows: int = FILE_ROWS
    elements: int = FILE_ELEMENTS
    # asked every megabyte or so of a report (the import's Cancel): when true, ``Cancelled`` is raised
    cancel: Callable[[], bool] | None = None

    def check(self) -> None:
        if self.cancel is not None and self.cancel():
            raise Cancelled()


class _RowLimit(ReportError):
    """More than ``MAX_ROWS`` records in one report."""


def _too_many_rows() -> ReportError:
    return _RowLimit(f"the report has more than {MAX_ROWS:,} rows (records); InboxReady reads at most that many "
                     "from one report")


def _file_rows_spent() -> ReportError:
    return ReportError(f"this file holds more report data in all than InboxReady reads from one file ({FILE_ROWS:,} "
                       f"rows, {FILE_ELEMENTS:,} XML elements); the rest of it was skipped (import its reports "
                       "separately)")


class DkimAuth(NamedTuple):
    domain: str
    selector: str | None
    result: str


class SpfAuth(NamedTuple):
    domain: str
    scope: str | None
    result: str


@dataclass(slots=True)
class Row:
    source_ip: str
    count: int
    disposition: str          # none / quarantine / reject (pass in some RFC 9990 samples)
    dkim: str                 # policy-evaluated (aligned) DKIM: pass / fail / ""
    spf: str                  # policy-evaluated (aligned) SPF: pass / fail / ""
    reasons: list[tuple[str, str]] = field(default_factory=list)
    header_from: str = ""
    envelope_from: str | None = None
    envelope_to: str | None = None
    dkim_auth: list[DkimAuth] = field(default_factory=list)
    spf_auth: list[SpfAuth] = field(default_factory=list)

    @property
    def dmarc_pass(self) -> bool:
        return self.dkim == "pass" or self.spf == "pass"


@dataclass
class AggregateReport:
    org_name: str
    email: str
    report_id: str
    begin: int
    end: int
    domain: str
    adkim: str | None = None
    aspf: str | None = None
    p: str | None = None
    sp: str | None = None
    np: str | None = None
    pct: int | None = None
    testing: str | None = None
    fo: str | None = None
    version: str | None = None
    schema: str = "rfc7489"   # "rfc7489" (also the old draft) or "rfc9990"
    errors: list[str] = field(default_factory=list)
    extra_contact_info: str | None = None
    generator: str | None = None
    rows: list[Row] = field(default_factory=list)
    derived_messages: int = 0   # messages whose aligned results were worked out from auth_results
    # records that could not be read (an address that is not one, a count out of range): left out, said here
    skipped_rows: int = 0
    skipped_messages: int = 0   # the messages of those whose count could be read
    skipped: str = ""           # in words: how many rows were skipped and why ("" when none)
    # filled by parse_aggregate_flat only (the store's form of the rows); not part of comparisons
    flat_rows: list[tuple[Any, ...]] = field(default_factory=list, compare=False, repr=False)
    flat_messages: int = field(default=0, compare=False, repr=False)

    @property
    def org(self) -> str:
        """Who sent the report: the org_name, or the domain of its e-mail address when that is empty."""
        if self.org_name:
            return self.org_name
        if "@" in self.email:
            return self.email.rsplit("@", 1)[1].lower()
        return self.email or "unknown reporter"

    @property
    def message_count(self) -> int:
        return sum(r.count for r in self.rows)

    @property
    def dmarc_pass_count(self) -> int:
        return sum(r.count for r in self.rows if r.dmarc_pass)

    def policy_json(self) -> dict[str, Any]:
        return {"domain": self.domain, "adkim": self.adkim, "aspf": self.aspf, "p": self.p, "sp": self.sp,
                "np": self.np, "pct": self.pct, "testing": self.testing, "fo": self.fo}


def _local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _child(el: Element | None, name: str) -> Element | None:
    if el is None:
        return None
    return el.find(name)


def _children(el: Element | None, name: str) -> list[Element]:
    if el is None:
        return []
    return el.findall(name)


def _strip_namespaces(root: Element) -> None:
    """Tags without their namespace (``{urn:...}feedback`` → ``feedback``), so every schema reads the same."""
    for el in root.iter():
        tag = el.tag
        if isinstance(tag, str) and tag[:1] == "{":
            el.tag = tag.split("}", 1)[1]


def _text(el: Element | None, name: str) -> str | None:
    c = _child(el, name)
    if c is None:
        return None
    t = (c.text or "").strip()
    return t


def _word(el: Element | None, name: str) -> str:
    t = _text(el, name)
    return t.lower() if t else ""


def _opt_word(el: Element | None, name: str) -> str | None:
    t = _text(el, name)
    return t.lower() if t else None


def _int(value: str | None, what: str, *, required: bool = True) -> int | None:
    if value is None or value == "":
        if required:
            raise ReportError(f"the report has no {what}")
        return None
    v = value.strip()
    try:
        n = int(v)
    except ValueError:
        try:
            f = float(v)
        except ValueError:
            raise ReportError(f"the {what} is not a number ({v[:40]!r})") from None
        if f != f or f in (float("inf"), float("-inf")):
            raise ReportError(f"the {what} is not a number ({v[:40]!r})") from None
        n = int(f)
    return n


_SAFE_ENCODINGS = {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1"}
_UTF8_NAMES = {"utf-8", "utf8", "us-ascii", "ascii"}
_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_DECL_ENC = re.compile(rb"(<\?xml[^>]*?encoding\s*=\s*)([\"'])[A-Za-z0-9._-]+\2")
_STEP = 1024 * 1024


def _no_dtd_possible(data: bytes) -> bool:
    """True when ``data`` certainly has no document type declaration (so no entities can be defined and
    nothing outside can be referenced): an ASCII-compatible encoding that expat reads byte for byte, no NUL
    bytes (UTF-16/32), and no ``<!DOCTYPE`` anywhere (looked for without regard to case, without copying)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:4096]:
        return False
    m = _DECL.match(data[:512])
    if m is not None and m.group(1).decode("ascii").lower() not in _SAFE_ENCODINGS:
        return False
    return b"<!" not in data or _DOCTYPE.search(data) is None


_DOCTYPE = re.compile(rb"<!doctype", re.IGNORECASE)


def _text_codec(name: str) -> str:
    """The Python codec for an XML declaration's encoding name; only text encodings (never a bytes codec such
    as zlib or base64)."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise ReportError(f"the report's text encoding ({name[:40]}) is unknown") from None
    if not getattr(info, "_is_text_encoding", True) or info.name in ("unicode-escape", "raw-unicode-escape",
                                                                      "punycode", "idna"):
        raise ReportError(f"the report's text encoding ({name[:40]}) is not one a report can use")
    return info.name


def to_utf8(raw: bytes) -> bytes:
    """``raw`` as UTF-8: UTF-16/32 (byte order mark or a wide "<") and documents that declare another text
    encoding are converted (in steps; the declaration then says UTF-8); UTF-8 and ASCII are returned as they
    are. Raises ``ReportError`` for an unknown encoding."""
    wide = wide_encoding(raw[:4])
    if wide is not None:
        codec = wide
    else:
        m = _DECL.match(raw[:512])
        if m is None:
            return raw
        declared = m.group(1).decode("ascii").lower()
        if declared in _UTF8_NAMES:
            return raw
        codec = _text_codec(declared)
        if codec == "utf-8":
            return raw
    try:
        dec = codecs.getincrementaldecoder(codec)("replace")
        out = bytearray()
        for i in range(0, len(raw), _STEP):
            out += dec.decode(raw[i:i + _STEP]).encode("utf-8")
        out += dec.decode(b"", True).encode("utf-8")
    except (UnicodeError, ValueError, TypeError, LookupError):
        raise ReportError(f"the report's text could not be read as {codec}") from None
    if out[:3] == b"\xef\xbb\xbf":
        del out[:3]
    head = _DECL_ENC.sub(rb"\1\2UTF-8\2", bytes(out[:600]), count=1)
    return head + bytes(out[600:])


def parse_aggregate(data: bytes, budget: ParseBudget | None = None) -> AggregateReport:
    """Parse one aggregate report; raises only ``ReportError``."""
    return _parse(data, budget, flat=False)


def parse_aggregate_flat(data: bytes, budget: ParseBudget | None = None) -> AggregateReport:
    """``parse_aggregate`` for the store: ``flat_rows`` holds the rows as ``row_values`` tuples and ``rows`` is
    empty; ``flat_messages`` is the message count. Raises only ``ReportError``; gives the same tuples as
    ``row_values`` over ``parse_aggregate(data).rows``."""
    return _parse(data, budget, flat=True)


def _parse(data: bytes, budget: ParseBudget | None, flat: bool) -> AggregateReport:
    if not isinstance(data, (bytes, bytearray)):
        raise ReportError("not bytes")
    raw = bytes(data)
    if not raw or raw.isspace():
        raise ReportError("the file is empty")
    budget = budget if budget is not None else ParseBudget()
    if budget.rows <= 0 or budget.elements <= 0:
        raise _file_rows_spent()
    try:
        raw = to_utf8(raw)
        try:
            fast = _fast_parse(raw, flat=flat, max_rows=budget.rows, budget=budget)
        except _RowLimit:
            budget.rows = max(0, budget.rows - MAX_ROWS)  # the work was done: it counts against the file
            raise
        except ReportError:
            budget.rows = 0  # the file's budget is spent
            raise
        if fast is not None:
            n = len(fast.flat_rows) if flat else len(fast.rows)
            if n > budget.rows:
                budget.rows = 0
                raise _file_rows_spent()
            budget.rows -= n
            return fast
        return _slow_parse(raw, flat, budget)  # (counts its own rows and elements against the budget)
    except (ReportError, Cancelled):
        raise
    except RecursionError:
        raise ReportError("the XML is nested too deeply") from None
    except MemoryError:
        raise ReportError("the report is too large to read") from None
    except Exception as exc:  # noqa: BLE001 - last line of defence: never anything but ReportError
        raise ReportError(f"the report could not be read ({type(exc).__name__})") from None


def _slow_parse(raw: bytes, flat: bool, budget: ParseBudget) -> AggregateReport:
    """The streaming way, for any layout; with the two second chances of ``_recover``."""
    try:
        return _stream(raw, flat, budget)
    except _XmlError as first:
        return _stream(_recover(raw, first), flat, budget)


def _recover(raw: bytes, first: _XmlError) -> bytes:
    """Second chance for two common real-world faults; re-raises ``first`` when neither applies.

    * bytes that are not UTF-8 in a file that says it is (a reporter's bad byte in a domain name): the
      bad bytes become U+FFFD and the rest is read;
    * a report wrapped in an unclosed ``<xs:schema>`` element (seen from some reporters): the
      ``<feedback>`` element alone is read.
    """
    if "DTD" in first.reason or "entities" in first.reason or "outside files" in first.reason:
        raise first
    if not _is_utf8(raw):
        dec = codecs.getincrementaldecoder("utf-8")("replace")
        out = bytearray()
        for i in range(0, len(raw), _STEP):
            out += dec.decode(raw[i:i + _STEP]).encode("utf-8")
        out += dec.decode(b"", True).encode("utf-8")
        return bytes(out)
    start = _FEEDBACK_OPEN.search(raw)
    stop = None
    for stop in _FEEDBACK_CLOSE.finditer(raw):  # noqa: B007 - the last match is the one wanted
        pass
    if start is not None and start.start() > 0 and stop is not None and stop.start() > start.start():
        return raw[start.start():stop.end()]
    raise first


_FEEDBACK_OPEN = re.compile(rb"<feedback", re.IGNORECASE)
_FEEDBACK_CLOSE = re.compile(rb"</feedback>", re.IGNORECASE)


def _is_utf8(raw: bytes) -> bool:
    dec = codecs.getincrementaldecoder("utf-8")()
    try:
        for i in range(0, len(raw), _STEP):
            dec.decode(raw[i:i + _STEP])
        dec.decode(b"", True)
    except UnicodeDecodeError:
        return False
    return True


def _xml_parser(raw: bytes, target: Any) -> Any:
    if _no_dtd_possible(raw):
        # Without a DTD there is nothing for defusedxml to forbid, and the C parser is several times faster.
        return ET.XMLParser(target=target)
    return DET.DefusedXMLParser(target=target, forbid_dtd=True, forbid_entities=True, forbid_external=True)


def _xml_error(exc: BaseException) -> ReportError:
    if isinstance(exc, defusedxml.DTDForbidden):
        return ReportError("the XML declares a document type (DTD); reports never do, so it was refused for safety")
    if isinstance(exc, defusedxml.EntitiesForbidden):
        return ReportError("the XML defines entities; reports never do, so it was refused for safety")
    if isinstance(exc, defusedxml.ExternalReferenceForbidden):
        return ReportError("the XML refers to outside files; refused for safety")
    if isinstance(exc, ET.ParseError):
        return _XmlError(f"the XML is damaged ({exc})")
    return _XmlError(f"the XML could not be read ({type(exc).__name__})")


class _Stream:
    """The parser's target: builds only what is needed (the header, and one record at a time, turned into a row
    when it ends and dropped), counting elements, depth and text against the limits as they arrive."""

    def __init__(self, flat: bool, budget: ParseBudget) -> None:
        self.flat = flat
        self.budget = budget
        self.limit = min(MAX_ELEMENTS, budget.elements)
        self.root: Element | None = None
        self.stack: list[Element] = []
        self.rows: list[Any] = []
        self.pending: list[Row] = []     # rows read before the policy they are judged by (out of schema order)
        self.skips = _Skips()            # records that could not be read (left out, said)
        self.records = 0                 # records seen (read or skipped), to number them
        self.feedback = True
        self.policy: dict[str, str] | None = None
        self.derived = 0
        self.elements = self.kept = 0
        self.rec_el: Element | None = None  # the outermost open <record>
        self.rec_start = 0                  # its element number
        self.rec_top = False                # it is a child of the root (a real record)
        self.chunks: list[str] = []         # the text of the innermost open element, before its first child
        self.text_len = 0
        self.keep: Any = {}.setdefault      # one copy of each repeated string in the rows

    def _flush(self) -> None:
        if self.chunks:
            self.stack[-1].text = "".join(self.chunks)
            self.chunks = []
        self.text_len = 0

    def data(self, text: str) -> None:
        if not self.stack or len(self.stack[-1]):
            return  # text after a child element (a "tail"): a report has none worth keeping
        self.text_len += len(text)
        if self.text_len > MAX_TEXT:
            raise ReportError(f"a value in the report is longer than {MAX_TEXT // 1024} KB; not a real report")
        self.chunks.append(text)

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if self.stack:
            self._flush()
        self.elements += 1
        self.kept += 1
        depth = len(self.stack) + 1
        if depth > MAX_DEPTH:
            raise ReportError(f"the XML is nested more than {MAX_DEPTH} levels deep; not a real report")
        if self.elements > self.limit:
            if self.limit < MAX_ELEMENTS:
                raise _file_rows_spent()
            raise ReportError(f"the report holds more than {self.limit:,} XML elements; not a real report, so it "
                              "was not read further")
        el = Element(tag, attrib)
        if self.stack:
            self.stack[-1].append(el)
        self.stack.append(el)
        if depth == 1:
            self.root = el
            self.feedback = _local(tag) == "feedback"
        elif self.rec_el is not None:
            if self.elements - self.rec_start >= MAX_RECORD_PARTS:
                raise ReportError(f"a record of the report holds more than {MAX_RECORD_PARTS:,} parts; not a real "
                                  "report")
        elif _local(tag) == "record":
            self.rec_el, self.rec_start, self.rec_top = el, self.elements, depth == 2
        elif self.kept > MAX_HEADER_PARTS:
            raise ReportError(f"the report holds more than {MAX_HEADER_PARTS:,} parts outside its records; not a "
                              "real report")

    def end(self, tag: str) -> Element:
        self._flush()
        el = self.stack.pop()
        if el is not self.rec_el:
            if self.policy is None and self.feedback and len(self.stack) == 1 and _local(el.tag) == "policy_published":
                self.policy = _policy_of(el)
            return el
        if self.rec_top and self.feedback:
            _strip_namespaces(el)
            self.records += 1
            if self.records > MAX_ROWS:
                # counted whether readable or not: a report of a million unreadable records is past the limit
                # too, not a partial report of one row
                raise _too_many_rows()
            try:
                row = _row(el, self.records)
            except ReportError as exc:
                self.skips.add(exc)  # the other records are still read; the report says what was left out
            else:
                if self.policy is not None:
                    self.derived += _derive_row(row, self.policy)
                    self.rows.append(_kept(row_values(row), self.keep) if self.flat else row)
                else:
                    self.pending.append(row)
                n = len(self.rows) + len(self.pending)
                if n > MAX_ROWS:
                    raise _too_many_rows()
                if n > self.budget.rows:
                    raise _file_rows_spent()
        if self.stack and len(self.stack[-1]) and self.stack[-1][-1] is el:
            del self.stack[-1][-1]  # the record leaves the tree
        self.kept -= self.elements - self.rec_start + 1
        self.rec_el = None
        return el

    def close(self) -> Element | None:
        return self.root


def _stream(raw: bytes, flat: bool, budget: ParseBudget) -> AggregateReport:
    """Read the report as a stream: each record becomes a row when it ends and leaves the tree."""
    t = _Stream(flat, budget)
    parser = _xml_parser(raw, t)
    try:
        for i in range(0, len(raw), FEED_STEP):
            if i % FAST_WINDOW == 0:
                budget.check()  # Cancel, every megabyte
            parser.feed(raw[i:i + FEED_STEP])   # in steps, so other threads (the UI) get the GIL
        parser.close()
    except (ReportError, Cancelled):
        raise
    except (defusedxml.DefusedXmlException, ET.ParseError) as exc:
        raise _xml_error(exc) from None
    except Exception as exc:  # noqa: BLE001 - expat can raise odd things on hostile bytes
        raise _XmlError(f"the XML could not be read ({type(exc).__name__})") from None
    finally:
        budget.elements = max(0, budget.elements - t.elements)
        budget.rows = max(0, budget.rows - len(t.rows) - len(t.pending))
    if t.root is None:
        raise _XmlError("the XML is damaged (no element found)")
    report = _header_of(t.root)
    t.skips.settle(report, len(t.rows) + len(t.pending))
    pol = {"domain": report.domain, "adkim": report.adkim or "", "aspf": report.aspf or ""}
    rows, derived = t.rows, t.derived
    for row in t.pending:
        derived += _derive_row(row, pol)
        rows.append(_kept(row_values(row), t.keep) if flat else row)
    report.derived_messages = derived
    if flat:
        report.flat_rows = rows
        report.flat_messages = sum(r[1] for r in rows)
    else:
        report.rows = rows
    return report


def _policy_of(pol: Element) -> dict[str, str]:
    """What alignment needs from <policy_published> (the first of each, as the header reads it), read while
    the stream goes on."""
    out: dict[str, str] = {}
    for c in pol:
        tag = _local(c.tag)
        if tag in ("domain", "adkim", "aspf") and tag not in out:
            t = (c.text or "").strip()
            out[tag] = t.rstrip(".").lower() if tag == "domain" else t.lower()
    return {"domain": out.get("domain", ""), "adkim": out.get("adkim", ""), "aspf": out.get("aspf", "")}


def _header_of(root: Element) -> AggregateReport:
    """The report without its rows, from a tree (its namespaces are stripped here)."""
    ns = root.tag[1:].split("}", 1)[0] if isinstance(root.tag, str) and root.tag.startswith("{") else ""
    _strip_namespaces(root)
    return _header(root, ns)


def _header(root: Element, ns: str) -> AggregateReport:
    """The report without its rows, from a tree whose namespaces are stripped (``ns``: the root's)."""
    if _local(root.tag) != "feedback":
        raise ReportError(f"this XML is not a DMARC aggregate report (its top element is <{_local(root.tag)[:40]}>, "
                          "not <feedback>)")
    meta = _child(root, "report_metadata")
    pol = _child(root, "policy_published")
    if meta is None:
        raise ReportError("the report has no report_metadata part")
    if pol is None:
        raise ReportError("the report has no policy_published part")
    report_id = _text(meta, "report_id")
    if not report_id:
        raise ReportError("the report has no report_id")
    dr = _child(meta, "date_range")
    if dr is None:
        raise ReportError("the report has no date_range")
    begin = _int(_text(dr, "begin"), "start date")
    end = _int(_text(dr, "end"), "end date")
    assert begin is not None and end is not None
    if not (0 <= begin < 2**40 and 0 <= end < 2**40):
        raise ReportError("the report dates are out of range")
    domain = (_text(pol, "domain") or "").strip().rstrip(".").lower()
    if not domain:
        raise ReportError("the report does not say which domain it is about (policy_published/domain)")
    version = _text(root, "version")
    if ns.startswith("urn:ietf:params:xml:ns:dmarc-2") or _child(pol, "discovery_method") is not None or _child(pol, "testing") is not None:
        schema = "rfc9990"
    else:
        schema = "rfc7489"  # also the old dmarc.org draft, which reads the same way
    pct = _int(_text(pol, "pct"), "pct", required=False)
    errors = [(e.text or "").strip() for e in _children(meta, "error") if (e.text or "").strip()]
    return AggregateReport(
        org_name=(_text(meta, "org_name") or ""), email=(_text(meta, "email") or ""), report_id=report_id,
        begin=begin, end=end, domain=domain, adkim=_opt_word(pol, "adkim"), aspf=_opt_word(pol, "aspf"),
        p=_opt_word(pol, "p"), sp=_opt_word(pol, "sp"), np=_opt_word(pol, "np"), pct=pct,
        testing=_opt_word(pol, "testing") or _opt_word(pol, "t"), fo=_text(pol, "fo") or None, version=version,
        schema=schema, errors=errors, extra_contact_info=_text(meta, "extra_contact_info") or None,
        generator=_text(meta, "generator") or None)


def date_problem(begin: int, end: int, now: float) -> str | None:
    """Why a report's dates can't be right, in words (None when they can): it ends before it begins, it
    starts before DMARC existed (2012), it ends in the future (``now`` + 2 days), or it covers more than a
    month. Such a report is kept but left out of every summary."""
    def day(ts: int) -> str:
        try:
            return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d")
        except (OverflowError, OSError, ValueError):  # past the year 9999
            return f"the year {1970 + int(ts // 31_556_952)}"
    if end < begin:
        return f"its period ends ({day(end)}) before it begins ({day(begin)})"
    if begin < EARLIEST:
        return f"it is dated {day(begin)}, before DMARC reports existed (2012)"
    if end > now + FUTURE_SLACK:
        return f"it is dated in the future ({day(end)})"
    if end - begin > LONGEST:
        return f"it covers {round((end - begin) / 86400):,} days ({day(begin)} to {day(end)}); a report covers a day or a week"
    return None


# -- fast path for the common layout ---------------------------------------------------------------
#
# Nearly every reporter writes the elements of a record in the schema's order. For such documents one
# regular expression per record (matched in C) replaces building and walking an element tree, which is
# most of the cost of an import. The fast path accepts only a strict subset of well-formed XML, and anything
# outside it makes the whole document go the tree way (defusedxml), so both ways give the same result
# (tests/reports/test_hostile.py compares them, also on thousands of damaged variants):
#
# * UTF-8 (or ASCII when declared so), no NUL bytes, no DTD, comment, CDATA, entity or character reference
#   (no ``<!`` and no ``&`` anywhere), at most one processing instruction (the XML declaration), no ``]]>``;
# * the header (everything before the first ``<record``) is read by the tree code above, which also checks it
#   is well-formed XML (with a closing ``</feedback>`` added);
# * then nothing but records, one after the other, each matching the record pattern exactly (every element
#   name literal, no attributes, no self-closing or namespace-prefixed element, values without ``<``),
#   separated by white space, and finally ``</feedback>`` and XML white space up to the end;
# * no character XML forbids (control characters, U+FFFE, U+FFFF; a strict UTF-8 decode refuses surrogates).
#
# Those rules make the document well-formed by construction (the grammar pins every tag, and the character
# checks cover what is left of XML's well-formedness rules for character data), so no separate XML pass is
# needed. Line ends are normalised (CR LF and CR become LF) as an XML parser does.

_V = r"\s*([^<]*?)\s*</"
# in the record pattern: greedy (a third faster than the lazy form); white space is stripped in Python
_VG = r"([^<]*)</"
_HR = r"(?:<human_result>[^<]*</human_result>\s*)?"
_ONE_DKIM = (r"(?:(<dkim>)\s*<domain>" + _VG + r"domain>\s*(?:<selector>" + _VG + r"selector>\s*)?<result>" + _VG +
             r"result>\s*" + _HR + r"</dkim>\s*)?")
_ONE_SPF = (r"(?:(<spf>)\s*<domain>" + _VG + r"domain>\s*(?:<scope>" + _VG + r"scope>\s*)?<result>" + _VG +
            r"result>\s*" + _HR + r"</spf>\s*)?")
_W = r"\s*[^<]*</"   # a value, not captured
_MORE_DKIM = (r"(?:<dkim>\s*<domain>" + _W + r"domain>\s*(?:<selector>" + _W + r"selector>\s*)?<result>" + _W +
              r"result>\s*" + _HR + r"</dkim>\s*)*")
_MORE_SPF = (r"(?:<spf>\s*<domain>" + _W + r"domain>\s*(?:<scope>" + _W + r"scope>\s*)?<result>" + _W +
             r"result>\s*" + _HR + r"</spf>\s*)*")
_REASONS = r"(?:<reason>\s*<type>" + _W + r"type>\s*(?:<comment>" + _W + r"comment>\s*)?</reason>\s*)*"
_FAST_RECORD = re.compile(
    r"<record>\s*<row>\s*<source_ip>" + _VG + r"source_ip>\s*<count>" + _VG + r"count>\s*"
    r"<policy_evaluated>\s*<disposition>" + _VG + r"disposition>\s*<dkim>" + _VG + r"dkim>\s*<spf>" + _VG +
    r"spf>\s*(" + _REASONS + r")</policy_evaluated>\s*</row>\s*"
    r"<identifiers>\s*(?:<envelope_to>" + _VG + r"envelope_to>\s*)?(?:<envelope_from>" + _VG +
    r"envelope_from>\s*)?<header_from>" + _VG + r"header_from>\s*</identifiers>\s*"
    r"<auth_results>\s*" + _ONE_DKIM + r"(" + _MORE_DKIM + r")" + _ONE_SPF + r"(" + _MORE_SPF + r")"
    r"</auth_results>\s*</record>\s*")
_FAST_DKIM = re.compile(r"<dkim>\s*<domain>" + _V + r"domain>\s*(?:<selector>" + _V + r"selector>\s*)?"
                        r"<result>" + _V + r"result>\s*" + _HR + r"</dkim>")
_FAST_SPF = re.compile(r"<spf>\s*<domain>" + _V + r"domain>\s*(?:<scope>" + _V + r"scope>\s*)?"
                       r"<result>" + _V + r"result>\s*" + _HR + r"</spf>")
_FAST_REASON = re.compile(r"<reason>\s*<type>" + _V + r"type>\s*(?:<comment>" + _V + r"comment>\s*)?</reason>")
_FAST_TAIL = re.compile(r"</feedback>[ \t\n]*")
_RECORD_TAG = re.compile(rb"<record[\s>/]")
# control characters XML 1.0 forbids become NUL (then one search finds any); surrogates cannot come out of a
# strict UTF-8 decode, U+FFFE and U+FFFF are looked for as bytes
_CTRL_TO_NUL = bytes(0 if (b < 0x20 and b not in (0x09, 0x0A, 0x0D)) else b for b in range(256))
_LEAD = re.compile(r"\s*")
_RECORD_END = b"</record>"


def _fast_windows(raw: bytes, start: int) -> Any:
    """``raw[start:]`` in pieces of about ``FAST_WINDOW`` bytes, each ending just after a ``</record>`` (the
    last one at the end): every cut falls between two records, so the pieces are matched one at a time and
    no copy of the whole body (nor its decoded text) is ever made."""
    n = len(raw)
    while start < n:
        stop = start + FAST_WINDOW
        if stop >= n:
            yield raw[start:], True
            return
        cut = raw.rfind(_RECORD_END, start, stop)
        if cut < 0:  # one record longer than a window: not a real one (the stream way says why)
            yield None, True
            return
        end = cut + len(_RECORD_END)
        yield raw[start:end], False
        start = end


def _fast_text(piece: bytes) -> str | None:
    """A piece of the body as text, or None when it holds something XML forbids (the tree way decides)."""
    if (b"]" in piece and b"]]>" in piece) or (
            not piece.isascii() and (b"\xef\xbf\xbe" in piece or b"\xef\xbf\xbf" in piece)):
        return None
    if piece.translate(_CTRL_TO_NUL).find(0) >= 0:
        return None  # a control character XML forbids
    try:
        text = piece.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _fast_parse(raw: bytes, flat: bool = False, max_rows: int = MAX_ROWS,
                budget: ParseBudget | None = None) -> AggregateReport | None:
    """The report read the fast way, or None when the document is outside the fast path's subset (raises
    ``ReportError`` only past ``MAX_ROWS``, which the tree way would refuse too).

    ``flat``: ``rows`` stays empty and ``flat_rows`` holds the store's tuples instead (see ``row_values``).
    ``max_rows``: what the input file's budget still allows (past it: ``_file_rows_spent``)."""
    limit = min(MAX_ROWS, max_rows)
    if b"&" in raw or b"\x00" in raw[:4096] or raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return None
    decl = _DECL.match(raw[:512])
    if decl is not None:
        declared = decl.group(1).decode("ascii").lower()
        if declared not in ("utf-8", "utf8", "us-ascii", "ascii"):
            return None
        if declared in ("us-ascii", "ascii") and not raw.isascii():
            return None
    first = _RECORD_TAG.search(raw)
    if first is None:
        return None
    if first.start() > FAST_HEAD:
        return None
    head = raw[:first.start()]
    # the header goes through a plain (not defused) parser: no DTD there, so nothing to expand or fetch
    if b"<!" in head or head.count(b"<?") > 1 or head.count(b"<") > 2 * MAX_HEADER_PARTS:
        return None
    if b"</policy_published" not in head or b"</report_metadata" not in head:
        return None
    try:
        report = _header_of(ET.fromstring(head + b"</feedback>"))
    except Exception:  # noqa: BLE001 - the tree path gives the reason
        return None
    pol = {"domain": report.domain, "adkim": report.adkim or "", "aspf": report.aspf or ""}
    rows: list[Any] = []
    append = rows.append
    keep = dict[str, str]().setdefault  # one copy of each repeated string (rows read the general way)
    words: dict[str, str] = {}   # value as written → stripped, lower case
    froms: dict[str, str] = {}   # header From as written → stripped, without a final dot, lower case
    sels: dict[str, str | None] = {}  # selector as written → stripped (None when empty)
    word, dom, sel = words.get, froms.get, sels.get
    match = _FAST_RECORD.match
    ips = _IP_CACHE
    new = tuple.__new__
    total = 0
    derived = 0
    for piece, last in _fast_windows(raw, first.start()):
        if budget is not None:
            budget.check()  # Cancel, between two windows of records
        if piece is None:
            return None
        body = _fast_text(piece)
        del piece
        if body is None:
            return None
        n = len(body)
        pos = _LEAD.match(body).end()  # type: ignore[union-attr]
        while True:
            m = match(body, pos)  # one record at a time: other threads get the GIL in between
            if m is None:
                break
            pos = m.end()
            (ip_text, count_text, disposition, dkim, spf, reason_text, env_to, env_from, header_from, has_dkim,
             d_domain, d_selector, d_result, more_dkim, has_spf, s_domain, s_scope, s_result, more_spf) = m.groups("")
            ip_text = ip_text.strip()
            count_text = count_text.strip()
            ip = ips.get(ip_text) or _ip(ip_text)
            if ip is None or not (count_text.isascii() and count_text.isdigit()) or len(count_text) > 12:
                return None
            count = int(count_text)
            total += count
            reasons: list[tuple[str, str]] = []
            if reason_text:
                found = _FAST_REASON.findall(reason_text)
                if len(found) != reason_text.count("<reason>"):
                    return None
                reasons = [(t.lower(), c) for t, c in found]
            # values as written map to their normal form through per-report dictionaries: a repeated value
            # (nearly all of them: "pass", "none", the domain) is normalised once and stored once
            dkim = word(dkim) or _norm_word(words, dkim)
            spf = word(spf) or _norm_word(words, spf)
            if flat and dkim and spf and not more_dkim and not more_spf:
                # the common case: at most one of each, results given: no lists, no objects needed
                append((ip, count, word(disposition) or _norm_word(words, disposition), dkim, spf,
                        dom(header_from) or _norm_from(froms, header_from),
                        (word(env_from) or _norm_word(words, env_from)) or None,
                        (word(d_domain) or _norm_word(words, d_domain)) if has_dkim else None,
                        (sel(d_selector) or _norm_sel(sels, d_selector)) if has_dkim else None,
                        (word(d_result) or _norm_word(words, d_result)) if has_dkim else None,
                        (word(s_domain) or _norm_word(words, s_domain)) if has_spf else None,
                        (word(s_result) or _norm_word(words, s_result)) if has_spf else None,
                        _reasons_text(reasons) if reasons else None))
                if len(rows) > limit:
                    raise _too_many_rows() if limit == MAX_ROWS else _file_rows_spent()
                continue
            dkims: list[DkimAuth] = []
            if has_dkim:  # the first <dkim> is read by the record pattern itself, the others here
                dkims.append(new(DkimAuth, (d_domain.strip().lower(), d_selector.strip() or None,
                                            d_result.strip().lower())))
                if more_dkim:
                    fd = _FAST_DKIM.findall(more_dkim)
                    if len(fd) != more_dkim.count("<dkim>"):
                        return None
                    dkims += [DkimAuth(d.lower(), sel or None, r.lower()) for d, sel, r in fd]
            elif more_dkim:
                return None
            spfs: list[SpfAuth] = []
            if has_spf:
                spfs.append(new(SpfAuth, (s_domain.strip().lower(), s_scope.strip().lower() or None,
                                          s_result.strip().lower())))
                if more_spf:
                    fs = _FAST_SPF.findall(more_spf)
                    if len(fs) != more_spf.count("<spf>"):
                        return None
                    spfs += [SpfAuth(d.lower(), sc.lower() or None, r.lower()) for d, sc, r in fs]
            elif more_spf:
                return None
            row = Row(ip, count, disposition.strip().lower(), dkim, spf, reasons,
                      header_from.strip().rstrip(".").lower(), env_from.strip().lower() or None,
                      env_to.strip().lower() or None, dkims, spfs)
            if not dkim or not spf:
                derived += _derive_row(row, pol)
            append(_kept(row_values(row), keep) if flat else row)
            if len(rows) > limit:
                raise _too_many_rows() if limit == MAX_ROWS else _file_rows_spent()
        if last:
            tail = _FAST_TAIL.match(body, pos)
            if tail is None or tail.end() != n:
                return None
        elif pos != n:
            return None
    if not rows:
        return None
    report.derived_messages = derived
    if flat:
        report.flat_rows = rows
        report.flat_messages = total
    else:
        report.rows = rows
    return report


def _norm_word(cache: dict[str, str], raw: str) -> str:
    v = cache[raw] = raw.strip().lower()
    return v


def _norm_from(cache: dict[str, str], raw: str) -> str:
    v = cache[raw] = raw.strip().rstrip(".").lower()
    return v


def _norm_sel(cache: dict[str, str | None], raw: str) -> str | None:
    v = cache[raw] = raw.strip() or None
    return v


def _kept(values: tuple[Any, ...], keep: Any) -> tuple[Any, ...]:
    """``values`` with each string replaced by the one copy ``keep`` (a dict's setdefault) holds."""
    return tuple(keep(v, v) if v.__class__ is str else v for v in values)


def _reasons_text(reasons: list[tuple[str, str]]) -> str | None:
    return ";".join(f"{t}:{c}" if c else t for t, c in reasons) if reasons else None


def row_values(r: Row) -> tuple[Any, ...]:
    """A row as the store keeps it: (source_ip, count, disposition, dkim, spf, header_from, envelope_from,
    dkim_domain, dkim_selector, dkim_result, spf_domain, spf_result, reasons). The DKIM result shown is the
    first passing one (else the first); the SPF one the first passing MAIL FROM check (else the first MAIL
    FROM check, else the first)."""
    da = r.dkim_auth
    if len(da) == 1:
        dk: DkimAuth | None = da[0]
    else:
        dk = next((d for d in da if d.result == "pass"), da[0] if da else None)
    sa = r.spf_auth
    if len(sa) == 1:
        sp: SpfAuth | None = sa[0]
    else:
        sp = next((s for s in sa if s.result == "pass" and s.scope in (None, "mfrom")),
                  next((s for s in sa if s.scope in (None, "mfrom")), sa[0] if sa else None))
    return (r.source_ip, r.count, r.disposition, r.dkim, r.spf, r.header_from, r.envelope_from,
            dk.domain if dk else None, dk.selector if dk else None, dk.result if dk else None,
            sp.domain if sp else None, sp.result if sp else None, _reasons_text(r.reasons))


def _under(name: str, domain: str) -> bool:
    return name == domain or name.endswith("." + domain)


def _aligned(auth: str, header_from: str, mode: str, domain: str) -> bool:
    """Whether an authenticated domain counts for the From domain: the same name, or (relaxed, the default)
    both at or below the report's domain (their organizational domain then is that domain or above it)."""
    a = auth.rstrip(".").lower()
    if not a:
        return False
    if a == header_from:
        return True
    return mode != "s" and "." in domain and _under(a, domain) and _under(header_from, domain)


def derive_alignment(row: Row, domain: str, adkim: str = "", aspf: str = "") -> bool:
    """Fill in a row's missing policy-evaluated DKIM / SPF results from its own auth results and header From
    (``domain``, ``adkim``, ``aspf``: the report's policy). Returns True when something was filled in. A
    result stays empty (unknown) when the record has no auth results or no header From; SPF also when no
    MAIL FROM check is reported (none at all, or only a ``scope=helo`` one)."""
    if row.dkim and row.spf:
        return False
    hf = row.header_from
    if not hf or not (row.dkim_auth or row.spf_auth):
        return False
    changed = False
    if not row.dkim:
        row.dkim = "pass" if any(d.result == "pass" and _aligned(d.domain, hf, adkim, domain)
                                 for d in row.dkim_auth) else "fail"
        changed = True
    if not row.spf:
        # only the MAIL FROM check (a check whose scope is not given is taken as one): DMARC's SPF alignment is
        # about the MAIL FROM identity (RFC 9989), and a HELO check says nothing about it, so a record with only
        # a scope=helo result leaves aligned SPF unknown, never a pass or a fail
        checks = [s for s in row.spf_auth if s.scope in (None, "mfrom")]
        if checks:
            row.spf = "pass" if any(s.result == "pass" and _aligned(s.domain, hf, aspf, domain)
                                    for s in checks) else "fail"
            changed = True
    return changed


def _derive_row(row: Row, pol: dict[str, str]) -> int:
    """``derive_alignment`` with the report's policy; the messages whose result was worked out."""
    return row.count if derive_alignment(row, pol["domain"], pol["adkim"], pol["aspf"]) else 0


_IP_CACHE: dict[str, str | None] = {}


def _ip(text: str) -> str | None:
    """The address in canonical form (an IPv4-mapped IPv6 address as IPv4), or None when it is not one
    (cached: reports repeat addresses)."""
    hit = _IP_CACHE.get(text, _IP_CACHE)
    if hit is not _IP_CACHE:
        return hit  # type: ignore[return-value]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        value: str | None = None
    else:
        # an IPv4 sender written as IPv6 (::ffff:a.b.c.d, by dual-stack receivers) is that IPv4 server
        mapped = getattr(addr, "ipv4_mapped", None)
        value = str(mapped if mapped is not None else addr)
    if len(_IP_CACHE) > 200_000:
        _IP_CACHE.clear()
    _IP_CACHE[text] = value
    return value


def _t(el: Element) -> str:
    t = el.text
    return t.strip() if t else ""


def _fields(el: Element | None) -> dict[str, Element]:
    """The first child element of each name (one pass over the children)."""
    out: dict[str, Element] = {}
    if el is not None:
        for c in el:
            out.setdefault(c.tag, c)
    return out


class _BadRow(ReportError):
    """One record that can't be read (no address, a count out of range): the record is skipped, the rest of
    the report is read. ``messages``: its count, when that could be read."""

    def __init__(self, reason: str, messages: int | None = None) -> None:
        super().__init__(reason)
        self.messages = messages


SKIP_REASONS = 3   # reasons listed in a report's ``skipped`` sentence (the rest are counted)


class _Skips:
    """The records of one report that could not be read: counted, their first reasons kept.

    One bad record (``<source_ip>unknown</source_ip>``, a negative count) must not lose a report's other
    rows: it is skipped and ``settle`` says so on the report; a report none of whose records can be read is
    refused with the reasons."""

    def __init__(self) -> None:
        self.rows = 0
        self.messages = 0
        self.counted = True      # every skipped row's count could be read
        self.reasons: list[str] = []

    def add(self, exc: ReportError) -> None:
        self.rows += 1
        messages = exc.messages if isinstance(exc, _BadRow) else None
        if messages is None:
            self.counted = False
        else:
            self.messages += messages
        if len(self.reasons) < SKIP_REASONS:
            self.reasons.append(exc.reason)

    def _why(self) -> str:
        more = self.rows - len(self.reasons)
        return "; ".join(self.reasons) + (f"; and {more:,} more" if more else "")

    def settle(self, report: AggregateReport, kept: int) -> None:
        """Write the skipped rows on ``report`` (``kept``: the rows read); raises ``ReportError`` when no row
        at all could be read."""
        if not self.rows:
            return
        total = self.rows + kept
        if not kept:
            raise ReportError(f"the report's only row could not be read: {self._why()}" if total == 1 else
                              f"none of the report's {total:,} rows could be read: {self._why()}")
        report.skipped_rows = self.rows
        report.skipped_messages = self.messages
        held = "" if not self.messages else (f" ({'' if self.counted else 'at least '}{self.messages:,} "
                                             f"message{'s' if self.messages != 1 else ''}, left out of the figures)")
        verb = "was" if self.rows == 1 else "were"
        report.skipped = (f"{self.rows:,} of its {total:,} rows could not be read and {verb} skipped{held}: "
                          f"{self._why()}")


def _row(rec: Element, i: int) -> Row:
    row = ids = ar = None
    for c in rec:
        tag = c.tag
        if tag == "row":
            row = c
        elif tag == "identifiers":
            ids = c
        elif tag == "auth_results":
            ar = c
    if row is None:
        raise _BadRow(f"row {i} of the report has no <row> part")
    ip_el = count_el = pe = None
    for c in row:
        tag = c.tag
        if tag == "source_ip":
            ip_el = c
        elif tag == "count":
            count_el = c
        elif tag == "policy_evaluated":
            pe = c
    ip_text = _t(ip_el) if ip_el is not None else ""
    ip = _ip(ip_text)
    bad_ip = f"row {i} has a source IP address that is not valid ({ip_text[:60]!r})"
    count_text = _t(count_el) if count_el is not None else ""
    try:
        count = int(count_text) if count_text.isascii() and count_text.isdigit() and len(count_text) < 15 else \
            _int(count_text or None, f"message count in row {i}")
    except ReportError as exc:
        raise _BadRow(bad_ip if ip is None else exc.reason) from None
    assert count is not None
    if not 0 <= count <= MAX_COUNT:
        raise _BadRow(bad_ip if ip is None else f"row {i} has a message count that is out of range ({count})")
    if ip is None:
        raise _BadRow(bad_ip, count)
    disposition = dkim = spf = ""
    reasons: list[tuple[str, str]] = []
    if pe is not None:
        for c in pe:
            tag = c.tag
            if tag == "disposition":
                disposition = _t(c).lower()
            elif tag == "dkim":
                dkim = _t(c).lower()
            elif tag == "spf":
                spf = _t(c).lower()
            elif tag == "reason":
                f = _fields(c)
                reasons.append((_t(f["type"]).lower() if "type" in f else "", _t(f["comment"]) if "comment" in f else ""))
    header_from = ""
    env_from = env_to = None
    if ids is not None:
        for c in ids:
            tag = c.tag
            if tag == "header_from" and not header_from:
                header_from = _t(c).rstrip(".").lower()
            elif tag == "envelope_from" and env_from is None:
                env_from = _t(c).lower() or None
            elif tag == "envelope_to" and env_to is None:
                env_to = _t(c).lower() or None
    dkims: list[DkimAuth] = []
    spfs: list[SpfAuth] = []
    if ar is not None:
        for c in ar:
            tag = c.tag
            if tag == "dkim":
                f = _fields(c)
                dkims.append(DkimAuth(_t(f["domain"]).lower() if "domain" in f else "",
                                      (_t(f["selector"]) or None) if "selector" in f else None,
                                      _t(f["result"]).lower() if "result" in f else ""))
            elif tag == "spf":
                f = _fields(c)
                spfs.append(SpfAuth(_t(f["domain"]).lower() if "domain" in f else "",
                                    (_t(f["scope"]).lower() or None) if "scope" in f else None,
                                    _t(f["result"]).lower() if "result" in f else ""))
    return Row(source_ip=ip, count=count, disposition=disposition, dkim=dkim, spf=spf, reasons=reasons,
               header_from=header_from, envelope_from=env_from, envelope_to=env_to, dkim_auth=dkims, spf_auth=spfs)


__all__ = ["ReportError", "DkimAuth", "SpfAuth", "Row", "AggregateReport", "ParseBudget", "date_problem",
           "derive_alignment", "parse_aggregate", "parse_aggregate_flat", "row_values", "to_utf8"]
