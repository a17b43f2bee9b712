"""The DMARC record vectors of tests/data/conformance/records/dmarc-record-vectors.yml.

Two sets: mox (RFC 7489, strict ABNF) and checkdmarc (RFC 9989 with RFC 7489 compatibility warnings).
We implement RFC 9989, so where the sets disagree RFC 9989 wins. "valid" in a vector means, for us: the
text is a DMARC record (no ``DmarcSyntaxError``) and ``record.errors`` is empty.

Cases we treat differently from a vector, and why
-------------------------------------------------
mox-dmarc-bad-09   "v=DMARC1; sp=reject; p=reject": mox rejects p not directly after v (RFC 7489 ABNF).
                   RFC 9989 allows any order, so it is valid for us, with the p-not-second warning (older
                   receivers may still reject it). checkdmarc-dmarc-p-not-after-v agrees with us.
mox-dmarc-bad-34   "rua=mailto:…!999…9" (a size too big for mox's integer): RFC 9989 keeps "!" 1*DIGIT
                   only as obsolete syntax that reporters ignore, with no upper bound, so the URI is valid
                   (size-limit-obsolete warning) and the record is valid (p missing, rua present → p=none).
mox-dmarc-valid-02 "p=reject; sp=invalid; rua=…": mox accepts it as p=none. We flag it invalid (the sp value
                   breaks the grammar; checkdmarc-dmarc-sp-invalid agrees) but compute the same effective
                   policy as mox: RFC 9989 §4.10.1 says receivers act as if the record were p=none.
Same verdict, different reason (mox validates the historic pct/ri/rf, RFC 9989 does not):
mox-dmarc-bad-16…19, -23, -25, -28, -29 are invalid for us only because they have neither p nor a valid rua
                   (no-policy: receivers skip DMARC); the pct/ri/rf values themselves only get historic-tag
                   warnings. mox-dmarc-bad-15, -24, -30 ("ri=", "rf=", "pct=") are invalid for us because an
                   empty value breaks the RFC 9989 grammar (1*dmarc-value), not because of the tag.
checkdmarc-dmarc-parked-p, -parked-sp: the DMARC check does not decide whether a domain is parked (the MX
                   and SPF checks see whether a domain sends mail), so we only assert the record is valid and
                   read as the vector says; the "parked" warning is out of this module's scope.
checkdmarc-dmarc-sp-none-warning, -missing-rua: these are advice, not parsing, so they run through the
                   whole check against the loopback DNS server (test_advice_vectors_through_the_check).
checkdmarc warning texts are not compared word for word (our messages are our own): each warning maps to
                   one of our problem codes in WARNING_CODES below.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
import yaml

from inboxready.core.checks.dmarc import check
from inboxready.core.records.dmarc_parse import DmarcRecord, DmarcSyntaxError, parse_dmarc, parse_report_uri
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import Severity

from ..conftest import conformance_cases, conformance_dir, make_ctx, run


@functools.lru_cache(maxsize=1)
def _sets() -> dict[str, Any]:
    data = yaml.safe_load((conformance_dir("records", "dmarc-record-vectors.yml")).read_text(encoding="utf-8"))
    return {s["name"]: s for s in data["sets"]}


def _record_cases() -> list[dict[str, Any]]:
    return [c for s in _sets().values() for c in s["cases"]]


def _uri_cases() -> list[dict[str, Any]]:
    return [c for s in _sets().values() for c in s.get("report_uri_cases", [])]


RECORD_CASES = conformance_cases(_record_cases)
URI_CASES = conformance_cases(_uri_cases)

# Where our verdict differs from the vector's (reasons in the module docstring).
DIFFERENT_VALIDITY = {"mox-dmarc-bad-09": True, "mox-dmarc-bad-34": True, "mox-dmarc-valid-02": False}
# Same verdict, but for the reason given here: {id: our exact set of problem codes}.
OUR_REASON = {
    **{f"mox-dmarc-bad-{n}": {"no-policy", "historic-tag"} for n in (16, 17, 18, 19, 23, 25, 28, 29)},
    **{f"mox-dmarc-bad-{n}": {"syntax-error", "no-policy"} for n in (15, 24, 30)},
    "mox-dmarc-bad-09": {"p-not-second"},
    "mox-dmarc-bad-34": {"p-missing", "size-limit-obsolete"},
    "mox-dmarc-valid-02": {"invalid-policy"},
}
CHECKDMARC_ERRORS = {
    "InvalidDMARCReportURI": {"invalid-uri"},
    "InvalidDMARCTagValue": {"invalid-value", "invalid-policy"},
    "DMARCSyntaxError": {"syntax-error"},
    "InvalidDMARCTag": {"duplicate-tag"},
}
WARNING_CODES = {
    "checkdmarc-dmarc-pct-removed": ("historic-tag", "pct"),
    "checkdmarc-dmarc-rf-removed": ("historic-tag", "rf"),
    "checkdmarc-dmarc-ri-removed": ("historic-tag", "ri"),
    "checkdmarc-dmarc-p-missing": ("p-missing", "p"),
    "checkdmarc-dmarc-unknown-tag": ("unknown-tag", "xyz"),
    "checkdmarc-dmarc-pct-not-validated-0": ("historic-tag", "pct"),
    "checkdmarc-dmarc-pct-not-validated-150": ("historic-tag", "pct"),
    "checkdmarc-dmarc-pct-not-validated-minus1": ("historic-tag", "pct"),
    "checkdmarc-dmarc-pct-not-validated-abc": ("historic-tag", "pct"),
    "checkdmarc-dmarc-ri-not-validated": ("historic-tag", "ri"),
    "checkdmarc-dmarc-rf-not-validated": ("historic-tag", "rf"),
    "checkdmarc-dmarc-fo-redundant": ("fo-conflict", "fo"),
    "checkdmarc-dmarc-p-not-after-v": ("p-not-second", "p"),
}
CHECK_LEVEL = {"checkdmarc-dmarc-sp-none-warning", "checkdmarc-dmarc-missing-rua",
               "checkdmarc-dmarc-parked-p", "checkdmarc-dmarc-parked-sp"}


def _parse(text: str) -> tuple[DmarcRecord | None, DmarcSyntaxError | None]:
    try:
        return parse_dmarc(text), None
    except DmarcSyntaxError as exc:
        return None, exc


def test_vector_file_is_there_and_complete() -> None:
    sets = _sets()
    assert set(sets) == {"mox", "checkdmarc"}
    assert len(sets["mox"]["cases"]) == 41 and len(sets["checkdmarc"]["cases"]) == 40
    assert len(_uri_cases()) == 3
    ids = {c["id"] for c in _record_cases()}
    assert set(DIFFERENT_VALIDITY) | set(OUR_REASON) | set(WARNING_CODES) | CHECK_LEVEL <= ids


@pytest.mark.parametrize("case", RECORD_CASES, ids=lambda c: c["id"])
def test_record_vector(case: dict[str, Any]) -> None:
    cid, expect = case["id"], case["expect"]
    rec, exc = _parse(case["record"])
    valid = rec is not None and rec.valid
    assert valid is DIFFERENT_VALIDITY.get(cid, expect["valid"]), (cid, rec.problems if rec else exc)
    if cid in OUR_REASON:
        assert rec is not None and set(rec.codes()) == OUR_REASON[cid], rec.codes()
    err = expect.get("checkdmarc_error")
    if err == "SPFRecordFoundWhereDMARCRecordShouldBe":
        assert exc is not None and exc.code == "spf-record"
    elif err is not None:
        assert rec is not None and set(e.code for e in rec.errors) & CHECKDMARC_ERRORS[err], rec.errors
    if cid in WARNING_CODES:
        code, tag = WARNING_CODES[cid]
        assert rec is not None and any(w.code == code and w.tag == tag for w in rec.warnings), rec.warnings
    if "no_warning_contains" in expect:
        assert rec is not None and "historic-tag" not in rec.codes()
    if "tag_absent" in expect:
        assert rec is not None and expect["tag_absent"] not in rec.effective_tags()
    for tag, want in (expect.get("tags") or {}).items():
        assert rec is not None
        value, explicit = rec.effective_tags()[tag]
        assert value == want["value"]
        if "explicit" in want:
            assert explicit is want["explicit"], (tag, explicit)
    if "record" in expect:
        assert rec is not None
        _compare_mox_record(rec, expect["record"])


def _compare_mox_record(rec: DmarcRecord, want: dict[str, Any]) -> None:
    """mox lists every field with RFC 7489 defaults; compare what RFC 9989 still has, and the historic
    values as written (we don't default them: RFC 9989 has no pct/rf/ri)."""
    assert rec.fallback_policy == want["p"]
    assert rec.sp == want["sp"]
    eff = rec.effective_tags()
    assert eff["adkim"][0] == want["adkim"] and eff["aspf"][0] == want["aspf"]
    assert (rec.fo or ["0"]) == want["fo"]
    for tag in ("rua", "ruf"):
        got = [{"uri": u.uri, **({"max_size": int(u.size.rstrip("kmgt")), "unit": u.size[-1]}
                                 if u.size else {})} for u in getattr(rec, tag)]
        assert got == want[tag]
    if "pct" in rec.historic:
        assert int(rec.historic["pct"]) == want["pct"]
    if "ri" in rec.historic:
        assert int(rec.historic["ri"]) == want["ri"]
    if "rf" in rec.historic:
        assert [x.strip() for x in rec.historic["rf"].split(":")] == want["rf"]


@pytest.mark.parametrize("case", URI_CASES, ids=lambda c: c["id"])
def test_report_uri_vector(case: dict[str, Any]) -> None:
    expect = case["expect"]
    if not expect["valid"]:
        with pytest.raises(DmarcSyntaxError):
            parse_report_uri(case["uri"])
        return
    u = parse_report_uri(case["uri"])
    assert u.address == expect["address"]
    if "scheme" in expect:
        assert u.scheme == expect["scheme"]
    if expect.get("size_limit") is None:
        assert u.size is None
    else:
        assert u.size is not None and u.size in expect["size_limit"]


@pytest.mark.parametrize("cid, wanted", [
    ("checkdmarc-dmarc-sp-none-warning", {"dmarc.sp-weaker": Severity.INFO, "dmarc.np-weak": Severity.WARNING}),
    ("checkdmarc-dmarc-missing-rua", {"dmarc.no-rua": Severity.WARNING}),
])
def test_advice_vectors_through_the_check(dns_server: DnsTestServer, cid: str, wanted: dict[str, Severity]) -> None:
    case = next(c for c in _record_cases() if c["id"] == cid)
    dns_server.add_origin("com")
    # example.com receives mail (an MX): a domain with no MX and no SPF looks unused, and gets other advice.
    dns_server.add_zone("example.com", f'$TTL 300\n_dmarc IN TXT "{case["record"]}"\nwww IN A 192.0.2.1\n'
                                       '@ IN MX 10 mx.example.net.\n')

    async def go():  # type: ignore[no-untyped-def]
        return await check(make_ctx(dns_server, case["domain"]))
    r = run(go())
    got = {f.code: f.severity for f in r.findings}
    for code, sev in wanted.items():
        assert got.get(code) is sev, (code, got)
