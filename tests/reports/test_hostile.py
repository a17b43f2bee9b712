"""Hostile input: gzip and zip bombs, nested archives, XXE and billion laughs, arbitrary bytes."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxready.core.reports.aggregate import ReportError, parse_aggregate
from inboxready.core.reports.extract import Limits, Payload, Rejected, extract_bytes, extract_file
from inboxready.core.reports.store import ReportStore
from inboxready.core.reports.tlsrpt import parse_tlsrpt

MB = 1024 * 1024

GOOD = b"""<?xml version="1.0"?><feedback><report_metadata><org_name>r.test</org_name><email>a@r.test</email>
<report_id>1</report_id><date_range><begin>1700000000</begin><end>1700086399</end></date_range></report_metadata>
<policy_published><domain>shop.test</domain><p>none</p></policy_published>
<record><row><source_ip>192.0.2.1</source_ip><count>3</count><policy_evaluated><disposition>none</disposition>
<dkim>pass</dkim><spf>fail</spf></policy_evaluated></row><identifiers><header_from>shop.test</header_from></identifiers>
<auth_results><dkim><domain>shop.test</domain><result>pass</result></dkim></auth_results></record></feedback>"""


def gzip_of_zeros(size: int) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(MB)
    parts = [comp.compress(chunk) for _ in range(size // MB)]
    parts.append(comp.flush())
    return b"".join(parts)


def zip_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def test_gzip_bomb_of_200_mb_is_refused_without_unpacking_it() -> None:
    bomb = gzip_of_zeros(200 * MB)
    assert len(bomb) < 1 * MB
    tracemalloc.start()
    try:
        items = list(extract_bytes("bomb.xml.gz", bomb, Limits(max_payload_bytes=5 * MB)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(items) == 1 and isinstance(items[0], Rejected)
    assert "unpacks to more than 5 MB" in items[0].reason
    assert peak < 20 * MB  # never more than the cap (+ a step) in memory
    # with the default limits too
    (item,) = extract_bytes("bomb.xml.gz", bomb)
    assert isinstance(item, Rejected) and "zip bomb" in item.reason


def test_zip_bomb_member_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("report.xml", "w") as fh:
            for _ in range(200):
                fh.write(bytes(MB))
    assert path.stat().st_size < 2 * MB
    tracemalloc.start()
    try:
        items = list(extract_file(path, Limits(max_payload_bytes=5 * MB)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [type(i) for i in items] == [Rejected]
    assert "unpacks to more than 5 MB" in items[0].reason  # type: ignore[union-attr]
    assert peak < 20 * MB


def test_zip_with_thousands_of_members_is_refused() -> None:
    data = zip_bytes([(f"r{i}.xml", b"<feedback/>") for i in range(5000)])
    (item,) = extract_bytes("many.zip", data)
    assert isinstance(item, Rejected)
    assert "5000 files" in item.reason


def test_nested_zips_stop_at_the_depth_limit() -> None:
    data = GOOD
    for i in range(10):
        data = zip_bytes([(f"level{i}.zip" if i else "report.xml", data)])
    items = list(extract_bytes("nested.zip", data))
    assert len(items) == 1 and isinstance(items[0], Rejected)
    assert "nested" in items[0].reason
    # two levels are fine
    ok = zip_bytes([("inner.zip", zip_bytes([("report.xml", GOOD)]))])
    (p,) = extract_bytes("two.zip", ok)
    assert isinstance(p, Payload) and parse_aggregate(p.data).message_count == 3


def test_total_budget_per_input_file() -> None:
    members = [(f"r{i}.xml", GOOD + b" " * (900 * 1024)) for i in range(10)]
    items = list(extract_bytes("big.zip", zip_bytes(members), Limits(max_payload_bytes=1 * MB, max_total_bytes=3 * MB)))
    good = [i for i in items if isinstance(i, Payload)]
    bad = [i for i in items if isinstance(i, Rejected)]
    assert len(good) == 3 and len(bad) == 7
    assert all("everything in this file unpacks to more than 3 MB" in b.reason for b in bad)


def test_input_file_too_large_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.xml"
    path.write_bytes(b"<" + b" " * (2 * MB))
    (item,) = extract_file(path, Limits(max_input_bytes=1 * MB))
    assert isinstance(item, Rejected) and "larger than 1 MB" in item.reason


def test_truncated_and_damaged_archives() -> None:
    gz = gzip.compress(GOOD)
    (item,) = extract_bytes("cut.xml.gz", gz[: len(gz) // 2])
    assert isinstance(item, Rejected) and "damaged" in item.reason
    z = zip_bytes([("r.xml", GOOD)])
    (item,) = extract_bytes("cut.zip", z[:40])
    assert isinstance(item, Rejected) and "damaged" in item.reason


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<feedback><report_metadata><org_name>&lol4;</org_name></report_metadata></feedback>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE feedback [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<feedback><report_metadata><org_name>&xxe;</org_name><report_id>1</report_id></report_metadata></feedback>"""

XXE_PARAM = b"""<?xml version="1.0"?>
<!DOCTYPE feedback [<!ENTITY % ext SYSTEM "http://127.0.0.1:9/evil.dtd"> %ext;]><feedback/>"""


def test_billion_laughs_and_xxe_are_refused(tmp_path: Path) -> None:
    for doc in (BILLION_LAUGHS, XXE, XXE_PARAM):
        try:
            parse_aggregate(doc)
        except ReportError as exc:
            assert "refused for safety" in exc.reason
        else:
            raise AssertionError("hostile XML was accepted")
    (tmp_path / "laughs.xml").write_bytes(BILLION_LAUGHS)
    (tmp_path / "xxe.xml").write_bytes(XXE)
    store = ReportStore(tmp_path / "r.sqlite3")
    res = store.import_paths([tmp_path / "laughs.xml", tmp_path / "xxe.xml"])
    assert not res.imported
    assert [n for n, _ in res.rejected] == ["laughs.xml", "xxe.xml"]
    assert all("refused for safety" in r for _, r in res.rejected)
    store.close()


def test_missing_parts_are_reported_plainly() -> None:
    cases = {
        b"<foo/>": "not a DMARC aggregate report",
        b"<feedback/>": "no report_metadata",
        GOOD.replace(b"<report_id>1</report_id>", b""): "no report_id",
        GOOD.replace(b"<count>3</count>", b"<count>many</count>"): "not a number",
        GOOD.replace(b"192.0.2.1", b"not-an-ip"): "source IP",
        GOOD.replace(b"<domain>shop.test</domain><p>", b"<p>"): "which domain",
    }
    for doc, words in cases.items():
        try:
            parse_aggregate(doc)
        except ReportError as exc:
            assert words in exc.reason, (doc[:40], exc.reason)
        else:
            raise AssertionError(f"accepted {doc[:60]!r}")


def test_tls_report_errors() -> None:
    for doc, words in ((b"{}", "not an SMTP TLS report"), (b"{", "damaged"), (b"\x80{}", "UTF-8"), (b"\xff\xfe", "damaged"),
                       (json.dumps({"report-id": "x", "policies": []}).encode(), "date-range")):
        try:
            parse_tlsrpt(doc)
        except ReportError as exc:
            assert words in exc.reason
        else:
            raise AssertionError(doc)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_raise_only_report_error(data: bytes) -> None:
    for parser in (parse_aggregate, parse_tlsrpt):
        try:
            parser(data)
        except ReportError:
            pass
    for item in extract_bytes("x", data):
        assert isinstance(item, (Payload, Rejected))


_tag = st.sampled_from(["feedback", "report_metadata", "policy_published", "record", "row", "count", "source_ip",
                        "date_range", "begin", "end", "report_id", "domain", "policy_evaluated", "dkim", "spf",
                        "auth_results", "result", "identifiers", "header_from", "org_name"])
_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)


def _xml_tree(depth: int) -> st.SearchStrategy[str]:
    if depth == 0:
        return _text.map(lambda t: t.replace("<", "&lt;").replace("&", "&amp;"))
    return st.tuples(_tag, st.lists(_xml_tree(depth - 1), max_size=4)).map(
        lambda tc: f"<{tc[0]}>{''.join(tc[1])}</{tc[0]}>")


@settings(max_examples=150, deadline=None)
@given(st.tuples(_tag, st.lists(_xml_tree(2), max_size=5)).map(lambda tc: f"<feedback>{''.join(tc[1])}</feedback>"))
def test_arbitrary_report_shaped_xml_raises_only_report_error(doc: str) -> None:
    try:
        r = parse_aggregate(doc.encode("utf-8"))
    except ReportError:
        return
    assert r.report_id and r.domain
    assert all(row.count >= 0 for row in r.rows)


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                        st.sampled_from(["report-id", "policies", "date-range", "start-datetime", "end-datetime",
                                         "policy", "summary", "failure-details", "policy-type",
                                         "total-successful-session-count", "x"]), inner, max_size=5),
                    max_leaves=30))
def test_arbitrary_json_raises_only_report_error(doc: object) -> None:
    try:
        parse_tlsrpt(json.dumps(doc).encode())
    except ReportError:
        pass


# -- the fast path for common layouts gives exactly what the tree path gives -------------------------

from inboxready.core.reports import aggregate as _agg  # noqa: E402
from tests.reports.reports_util import gen as _gen  # noqa: E402
from tests.reports.reports_util import good_row  # noqa: E402


def _tree(data: bytes) -> object:
    """The streaming way (what every document outside the fast path's subset takes)."""
    try:
        return _agg._slow_parse(_agg.to_utf8(data), False, _agg.ParseBudget())
    except ReportError as exc:
        return exc.reason
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__


def _whole_tree(data: bytes) -> object:
    """A plain reference: the whole document as one defusedxml tree, read the simplest way (no streaming, no
    limits); the streaming way must give exactly this on every well-formed report of normal size."""
    import defusedxml.ElementTree as DET

    try:
        root = DET.fromstring(data, forbid_dtd=True)
    except Exception:  # noqa: BLE001
        return None  # damaged XML: compared elsewhere
    try:
        report = _agg._header_of(root)
        # a record that can't be read is skipped and said; a report with none readable is refused
        rows, skips = [], _agg._Skips()
        for i, r in enumerate(root.findall("record"), 1):
            try:
                rows.append(_agg._row(r, i))
            except ReportError as exc:
                skips.add(exc)
        skips.settle(report, len(rows))
    except ReportError as exc:
        return exc.reason
    pol = {"domain": report.domain, "adkim": report.adkim or "", "aspf": report.aspf or ""}
    report.derived_messages = sum(_agg._derive_row(r, pol) for r in rows)
    report.rows = rows
    return report


_value = st.text(alphabet=st.sampled_from(list("abcAB.-_:19 \t\n") + ["\u00a0", "\u00e9", "\u2003", "x"]), max_size=8)


@st.composite
def _report_doc(draw: st.DrawFn) -> bytes:
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        rows.append(_gen.Row(draw(st.sampled_from(["192.0.2.1", " 2001:db8::1 ", "bad", "10.0.0.1"])),
                             draw(st.sampled_from([0, 1, 7, 10**13])), draw(_value), draw(_value), draw(_value),
                             draw(_value), draw(st.none() | _value), draw(st.none() | _value), draw(_value),
                             draw(_value)))
    doc = _gen.make_report("org", "id", "shop.test", 1_700_000_000, rows)
    # sprinkle the variations real reporters use
    if draw(st.booleans()):
        doc = doc.replace(b"<selector>s1</selector>", b"")
    if draw(st.booleans()):
        doc = doc.replace(b"<scope>mfrom</scope>", b"<scope/>")
    if draw(st.booleans()):
        doc = doc.replace(b"</auth_results>", b"<dkim><domain>b.test</domain><result>fail</result></dkim></auth_results>", 1)
    if draw(st.booleans()):
        doc = doc.replace(b"</policy_evaluated>", b"<reason><type>forwarded</type></reason></policy_evaluated>", 1)
    if draw(st.booleans()):
        doc = doc.replace(b"<header_from>", b"<envelope_from>e.test</envelope_from><header_from>", 1)
    if draw(st.booleans()):
        doc = doc.replace(b"<feedback>", b'<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">')
    return doc


@settings(max_examples=300, deadline=None)
@given(_report_doc())
def test_fast_path_matches_the_tree_path(doc: bytes) -> None:
    fast = _agg._fast_parse(doc)
    if fast is not None:
        assert fast == _tree(doc)
    whole = _whole_tree(doc)
    if whole is not None:
        assert _tree(doc) == whole


def test_fast_path_matches_on_every_sample_and_generated_reports(tmp_path: Path) -> None:
    from tests.conftest import conformance_dir

    docs = [p.data for f in sorted(conformance_dir("dmarc-reports").rglob("*")) if f.is_file()
            for p in extract_file(f) if isinstance(p, Payload) and p.kind == "xml"]
    paths = _gen.generate(tmp_path / "gen", 200, seed=3)
    docs += [p.data for f in paths for p in extract_file(f) if isinstance(p, Payload)]
    used = 0
    for d in docs:
        fast = _agg._fast_parse(d)
        if fast is not None:
            used += 1
            assert fast == _tree(d)
    assert used >= 200  # the generated reports (and several samples) take the fast path


def _store_form(data: bytes) -> object:
    """What the store keeps for ``data`` by the tree path: the report (rows aside), its row tuples and total."""
    r = _tree(data)
    if not isinstance(r, _agg.AggregateReport):
        return r
    return (dataclasses.replace(r, rows=[]), [_agg.row_values(x) for x in r.rows], r.message_count)


_MUTATIONS = [b"<", b">", b"/", b"\r", b"\r\n", b"\x01", b"\x0c", b"]]>", b"<x>", b"</x>", b"<record>", b"</record>",
              b" ", b"\xc3", b"\xa0", b"\xc2\xa0", b"\xef\xbf\xbe", b"a", b"A", b"<!--c-->", b"&amp;", b"</feedback>",
              b"<?pi?>", b"<dkim><domain>x.test</domain><result>pass</result></dkim>",
              b"<spf><domain>x.test</domain><scope>helo</scope><result>pass</result></spf>",
              b"<reason><type>local_policy</type></reason>", b'<record a="1">', b"<count>2</count>"]


def test_fast_path_is_never_wrong_on_damaged_reports(tmp_path: Path) -> None:
    """The fast path checks well-formedness by its own strict rules (no XML parser pass): on thousands of
    randomly damaged reports it either declines or gives exactly what the defusedxml tree path gives."""
    import random

    paths = _gen.generate(tmp_path / "gen", 40, seed=5)
    docs = [p.data for f in paths for p in extract_file(f) if isinstance(p, Payload)]
    rnd = random.Random(11)
    taken = 0
    for _ in range(3000):
        d = bytearray(rnd.choice(docs))
        for _ in range(rnd.randint(1, 3)):
            pos = rnd.randrange(len(d))
            op = rnd.random()
            if op < 0.4:
                d[pos:pos] = rnd.choice(_MUTATIONS)
            elif op < 0.7:
                del d[pos:pos + rnd.randint(1, 5)]
            else:
                d[pos:pos + 1] = rnd.choice(_MUTATIONS)
        doc = bytes(d)
        fast = _agg._fast_parse(doc)
        flat = _agg._fast_parse(doc, flat=True)
        assert (fast is None) == (flat is None)
        if fast is None or flat is None:
            continue
        taken += 1
        assert fast == _tree(doc)
        assert (dataclasses.replace(flat, rows=[]), flat.flat_rows, flat.flat_messages) == _store_form(doc)
    for _ in range(300):  # the streaming way gives what a whole tree gives, damaged or not
        d = bytearray(rnd.choice(docs))
        pos = rnd.randrange(len(d))
        d[pos:pos] = rnd.choice(_MUTATIONS)
        whole = _whole_tree(bytes(d))
        if whole is not None:
            assert _tree(bytes(d)) == whole
    assert taken > 100  # harmless damage (white space, a changed letter in a value) still goes the fast way


def test_flat_rows_match_the_row_objects_on_samples_and_generated_reports(tmp_path: Path) -> None:
    from tests.conftest import conformance_dir

    docs = [p.data for f in sorted(conformance_dir("dmarc-reports").rglob("*")) if f.is_file()
            for p in extract_file(f) if isinstance(p, Payload) and p.kind == "xml"]
    docs += [p.data for f in _gen.generate(tmp_path / "gen", 100, seed=4) for p in extract_file(f)
             if isinstance(p, Payload)]
    for d in docs:
        try:
            full = parse_aggregate(d)
        except ReportError as exc:
            with pytest.raises(ReportError) as got:
                _agg.parse_aggregate_flat(d)
            assert got.value.reason == exc.reason
            continue
        flat = _agg.parse_aggregate_flat(d)
        assert dataclasses.replace(flat, rows=[]) == dataclasses.replace(full, rows=[])
        assert flat.flat_rows == [_agg.row_values(x) for x in full.rows]
        assert flat.flat_messages == full.message_count


def test_fast_path_declines_what_xml_forbids() -> None:
    base = _gen.make_report("org", "id", "shop.test", 1_700_000_000, [good_row("192.0.2.1", 3)])
    assert _agg._fast_parse(base) is not None
    for bad in (b"\x01", b"\x0b", b"\xef\xbf\xbf", b"]]>"):
        doc = base.replace(b"<count>3", b"<count>" + bad + b"3", 1)
        assert _agg._fast_parse(doc) is None
        with pytest.raises(ReportError):
            parse_aggregate(doc)
    crlf = base.replace(b"\n", b"\r\n")
    assert _agg._fast_parse(crlf) == _tree(crlf)
    junk = base.replace(b"</record>", b"</record><extra/>", 1)
    assert _agg._fast_parse(junk) is None and parse_aggregate(junk).message_count == 3
    for between in (b"<!-- a comment -->", b"<?pi data?>", b"<![CDATA[x]]>"):
        doc = base.replace(b"</record>", b"</record>" + between, 1)
        assert _agg._fast_parse(doc) is None and parse_aggregate(doc).message_count == 3  # the tree way
    laughs = base.replace(b"<feedback>", b'<!DOCTYPE feedback [<!ENTITY a "x">]><feedback>', 1)
    assert _agg._fast_parse(laughs) is None
    with pytest.raises(ReportError):
        parse_aggregate(laughs)
