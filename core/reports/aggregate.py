"""DMARC aggregate report parser (RFC 7489 appendix C era, RFC 9990, and the old dmarc.org draft schema).

The XML is parsed with ``defusedxml``: a document type declaration, entities or external references are
refused (so "billion laughs" and XXE files are rejected, never expanded). XML namespaces are ignored, so
the plain, the RFC 9990 (``urn:ietf:params:xml:ns:dmarc-2.0``) and the 0.1 namespace all read the same way.
Result words are matched without regard to case (``Pass``, ``HardFail``, ``NONE`` are accepted) and
normalised to lower case. Missing optional parts (envelope_from, selector, scope, reasons, version, ...)
become ``None`` or empty lists.

Public API::

    class ReportError(ValueError)            # .reason: plain words; the only exception parse_* raise
    @dataclass class DkimAuth(domain: str, selector: str | None, result: str)
    @dataclass class SpfAuth(domain: str, scope: str | None, result: str)
    @dataclass class Row(source_ip, count, disposition, dkim, spf, reasons, header_from, envelope_from,
                         envelope_to, dkim_auth: list[DkimAuth], spf_auth: list[SpfAuth])
    @dataclass class AggregateReport(org_name, email, report_id, begin, end, domain, adkim, aspf, p, sp, np,
                                     pct, testing, fo, version, schema, errors, rows: list[Row])
        .message_count, .dmarc_pass_count, .org (org_name or e-mail domain)
    def parse_aggregate(data: bytes) -> AggregateReport
"""

from __future__ import annotations

import codecs
import io
import ipaddress
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from xml.etree.ElementTree import Element

import defusedxml
import defusedxml.ElementTree as DET

MAX_ROWS = 1_000_000
MAX_COUNT = 10**12
FEED_STEP = 32 * 1024


class ReportError(ValueError):
    """A report that cannot be read; ``reason`` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


def _no_dtd_possible(data: bytes) -> bool:
    """True when ``data`` certainly has no document type declaration (so no entities can be defined and
    nothing outside can be referenced): an ASCII-compatible encoding that expat reads byte for byte, no NUL
    bytes (UTF-16/32), and no ``<!DOCTYPE`` anywhere."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:4096]:
        return False
    m = _DECL.match(data[:512])
    if m is not None and m.group(1).decode("ascii").lower() not in _SAFE_ENCODINGS:
        return False
    return b"<!DOCTYPE" not in data.upper() if b"<!" in data else True


def _parse_xml(data: bytes) -> Element:
    if _no_dtd_possible(data):
        # Fast path: without a DTD there is nothing for defusedxml to forbid, and the C parser is ~5x faster.
        try:
            parser = ET.XMLParser()
            for i in range(0, len(data), FEED_STEP):  # in steps, so other threads (the UI) get the GIL
                parser.feed(data[i:i + FEED_STEP])
            return parser.close()
        except ET.ParseError:
            pass  # let defusedxml give the error (and check again)
        except Exception:  # noqa: BLE001
            pass
    try:
        root = DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden:
        raise ReportError("the XML declares a document type (DTD); reports never do, so it was refused "
                          "for safety") from None
    except defusedxml.EntitiesForbidden:
        raise ReportError("the XML defines entities; reports never do, so it was refused for safety") from None
    except defusedxml.ExternalReferenceForbidden:
        raise ReportError("the XML refers to outside files; refused for safety") from None
    except DET.ParseError as exc:
        raise ReportError(f"the XML is damaged ({exc})") from None
    except (ValueError, TypeError, LookupError, RecursionError, MemoryError) as exc:
        raise ReportError(f"the XML could not be read ({type(exc).__name__})") from None
    except Exception as exc:  # noqa: BLE001 - expat can raise odd things on hostile bytes
        raise ReportError(f"the XML could not be read ({type(exc).__name__})") from None
    return root


def _recover(raw: bytes, first: ReportError) -> Element:
    """Second chance for two common real-world faults; re-raises ``first`` when neither applies.

    * bytes that are not UTF-8 in a file that says it is (a reporter's bad byte in a domain name): the
      bad bytes become U+FFFD and the rest is read;
    * a report wrapped in an unclosed ``<xs:schema>`` element (seen from some reporters): the
      ``<feedback>`` element alone is read.
    """
    if "DTD" in first.reason or "entities" in first.reason or "outside files" in first.reason:
        raise first
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        try:
            return _parse_xml(text.encode("utf-8"))
        except ReportError:
            raise first from None
    lower = raw.lower()
    start = lower.find(b"<feedback")
    stop = lower.rfind(b"</feedback>")
    if start > 0 and stop > start:
        try:
            return _parse_xml(raw[start:stop + len(b"</feedback>")])
        except ReportError:
            raise first from None
    raise first


def parse_aggregate(data: bytes) -> AggregateReport:
    """Parse one aggregate report; raises only ``ReportError``."""
    if not isinstance(data, (bytes, bytearray)):
        raise ReportError("not bytes")
    if not data.strip():
        raise ReportError("the file is empty")
    raw = bytes(data)
    fast = _fast_parse(raw)
    if fast is not None:
        return fast
    try:
        root = _parse_xml(raw)
    except ReportError as first:
        root = _recover(raw, first)
    try:
        return _build(root)
    except ReportError:
        raise
    except RecursionError:
        raise ReportError("the XML is nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 - last line of defence: never anything but ReportError
        raise ReportError(f"the report could not be read ({type(exc).__name__})") from None


def _build(root: Element, *, with_rows: bool = True) -> AggregateReport:
    ns = root.tag[1:].split("}", 1)[0] if isinstance(root.tag, str) and root.tag.startswith("{") else ""
    if ns:
        _strip_namespaces(root)
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
    if ns.startswith("urn:ietf:params:xml:ns:dmarc-2") or _child(pol, "discovery_method") is not None \
            or _child(pol, "testing") is not None:
        schema = "rfc9990"
    else:
        schema = "rfc7489"  # also the old dmarc.org draft, which reads the same way
    pct = _int(_text(pol, "pct"), "pct", required=False)
    errors = [(e.text or "").strip() for e in _children(meta, "error") if (e.text or "").strip()]
    report = AggregateReport(
        org_name=(_text(meta, "org_name") or ""), email=(_text(meta, "email") or ""), report_id=report_id,
        begin=begin, end=end, domain=domain, adkim=_opt_word(pol, "adkim"), aspf=_opt_word(pol, "aspf"),
        p=_opt_word(pol, "p"), sp=_opt_word(pol, "sp"), np=_opt_word(pol, "np"), pct=pct,
        testing=_opt_word(pol, "testing") or _opt_word(pol, "t"), fo=_text(pol, "fo") or None, version=version,
        schema=schema, errors=errors, extra_contact_info=_text(meta, "extra_contact_info") or None,
        generator=_text(meta, "generator") or None)
    records = _children(root, "record") if with_rows else []
    if len(records) > MAX_ROWS:
        raise ReportError(f"the report has more than {MAX_ROWS} rows")
    for i, rec in enumerate(records, 1):
        report.rows.append(_row(rec, i))
    return report


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
_CHECK_STEP = 256 * 1024


def _fast_parse(raw: bytes, flat: bool = False) -> AggregateReport | None:
    """The report read the fast way, or None when the document is outside the fast path's subset.

    ``flat``: ``rows`` stays empty and ``flat_rows`` holds the store's tuples instead (see ``row_values``)."""
    if b"&" in raw or b"\x00" in raw[:4096] or raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return None
    m = _DECL.match(raw[:512])
    if m is not None:
        declared = m.group(1).decode("ascii").lower()
        if declared not in ("utf-8", "utf8", "us-ascii", "ascii"):
            return None
        if declared in ("us-ascii", "ascii") and not raw.isascii():
            return None
    first = _RECORD_TAG.search(raw)
    if first is None:
        return None
    head = raw[:first.start()]
    # the header goes through a plain (not defused) parser: no DTD there, so nothing to expand or fetch
    if b"<!" in head or head.count(b"<?") > 1:
        return None
    if b"</policy_published" not in head or b"</report_metadata" not in head:
        return None
    body_bytes = raw[first.start():]
    # the records' grammar leaves no room for "<!" or "<?"; "]]>" and U+FFFE/U+FFFF could hide in values
    if (b"]" in body_bytes and b"]]>" in body_bytes) or (
            not body_bytes.isascii() and (b"\xef\xbf\xbe" in body_bytes or b"\xef\xbf\xbf" in body_bytes)):
        return None
    try:
        report = _build(ET.fromstring(head + b"</feedback>"), with_rows=False)
        if len(body_bytes) <= _CHECK_STEP:
            if body_bytes.translate(_CTRL_TO_NUL).find(0) >= 0:
                return None  # a control character XML forbids
            body = body_bytes.decode("utf-8")
            if "\r" in body:
                body = body.replace("\r\n", "\n").replace("\r", "\n")
        else:  # the same in steps, so other threads (the UI) get the GIL
            dec = io.IncrementalNewlineDecoder(codecs.getincrementaldecoder("utf-8")(), translate=True)
            parts: list[str] = []
            for i in range(0, len(body_bytes), _CHECK_STEP):
                piece = body_bytes[i:i + _CHECK_STEP]
                if piece.translate(_CTRL_TO_NUL).find(0) >= 0:
                    return None
                parts.append(dec.decode(piece))
            parts.append(dec.decode(b"", True))
            body = "".join(parts)
    except Exception:  # noqa: BLE001 - the tree path gives the reason
        return None
    n = len(body)
    rows: list[Any] = []
    append = rows.append
    match = _FAST_RECORD.match
    ips = _IP_CACHE
    new = tuple.__new__
    total = 0
    pos = 0
    while True:
        m = match(body, pos)  # one record at a time: other threads get the GIL in between
        if m is None:
            break
        pos = m.end()
        (ip_text, count_text, disposition, dkim, spf, reason_text, env_to, env_from, header_from, has_dkim, d_domain,
         d_selector, d_result, more_dkim, has_spf, s_domain, s_scope, s_result, more_spf) = m.groups("")
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
        if flat and not more_dkim and not more_spf:  # the common case: at most one of each, no lists needed
            append((ip, count, disposition.strip().lower(), dkim.strip().lower(), spf.strip().lower(),
                    header_from.strip().rstrip(".").lower(), env_from.strip().lower() or None,
                    d_domain.strip().lower() if has_dkim else None, (d_selector.strip() or None) if has_dkim else None,
                    d_result.strip().lower() if has_dkim else None,
                    s_domain.strip().lower() if has_spf else None, s_result.strip().lower() if has_spf else None,
                    _reasons_text(reasons)))
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
        row = Row(ip, count, disposition.strip().lower(), dkim.strip().lower(), spf.strip().lower(), reasons,
                  header_from.strip().rstrip(".").lower(), env_from.strip().lower() or None,
                  env_to.strip().lower() or None, dkims, spfs)
        append(row_values(row) if flat else row)
        if len(rows) > MAX_ROWS:
            return None
    tail = _FAST_TAIL.match(body, pos)
    if tail is None or tail.end() != n or not rows or len(rows) > MAX_ROWS:
        return None
    if flat:
        report.flat_rows = rows
        report.flat_messages = total
    else:
        report.rows = rows
    return report


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


def parse_aggregate_flat(data: bytes) -> AggregateReport:
    """``parse_aggregate`` for the store: ``flat_rows`` holds the rows as ``row_values`` tuples and ``rows`` may
    be empty (the fast path makes no row objects); ``flat_messages`` is the message count. Raises only
    ``ReportError``; gives the same tuples as ``row_values`` over ``parse_aggregate(data).rows``."""
    if isinstance(data, (bytes, bytearray)) and data.strip():
        fast = _fast_parse(bytes(data), flat=True)
        if fast is not None:
            return fast
    report = parse_aggregate(data)
    report.flat_rows = [row_values(r) for r in report.rows]
    report.flat_messages = report.message_count
    return report


_IP_CACHE: dict[str, str | None] = {}


def _ip(text: str) -> str | None:
    """The address in canonical form, or None when it is not one (cached: reports repeat addresses)."""
    hit = _IP_CACHE.get(text, _IP_CACHE)
    if hit is not _IP_CACHE:
        return hit  # type: ignore[return-value]
    try:
        value: str | None = str(ipaddress.ip_address(text))
    except ValueError:
        value = None
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
            out.setdefault(c.tag, c)  # type: ignore[arg-type]
    return out


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
        raise ReportError(f"row {i} of the report has no <row> part")
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
    if ip is None:
        raise ReportError(f"row {i} has a source IP address that is not valid ({ip_text[:60]!r})")
    count_text = _t(count_el) if count_el is not None else ""
    count = int(count_text) if count_text.isascii() and count_text.isdigit() and len(count_text) < 15 else \
        _int(count_text or None, f"message count in row {i}")
    assert count is not None
    if not 0 <= count <= MAX_COUNT:
        raise ReportError(f"row {i} has a message count that is out of range ({count})")
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


__all__ = ["ReportError", "DkimAuth", "SpfAuth", "Row", "AggregateReport", "parse_aggregate", "parse_aggregate_flat",
           "row_values"]
