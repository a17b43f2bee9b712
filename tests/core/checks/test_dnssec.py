"""DNSSEC check against signed test zones: a test root ".", a "test." TLD and the domain, all signed here
with dnspython at test time (ECDSA P-256 keys, so it is fast)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdatatype
import dns.zone
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from inboxready.core.checks import dnssec
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import Severity, Status

from tests.conftest import make_ctx, run

ALG = dns.dnssec.Algorithm.ECDSAP256SHA256


@dataclass
class Key:
    private: ec.EllipticCurvePrivateKey
    dnskey: dns.rdata.Rdata

    def ds(self, owner: str) -> str:
        return dns.dnssec.make_ds(owner, self.dnskey, "SHA256").to_text()


def new_key() -> Key:
    private = ec.generate_private_key(ec.SECP256R1())
    dnskey = dns.dnssec.make_dnskey(private.public_key(), ALG, flags=257)
    return Key(private, dnskey)


def rsasha1_key() -> Key:
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    dnskey = dns.dnssec.make_dnskey(private.public_key(), dns.dnssec.Algorithm.RSASHA1, flags=257)
    return Key(private, dnskey)  # type: ignore[arg-type]


def signed(origin: str, body: str, key: Key | None, *, expired: bool = False) -> str:
    """Master-file text of ``body`` for ``origin``, signed with ``key`` (None: left unsigned)."""
    suffix = "" if origin == "." else origin
    text = f"$TTL 300\n@ SOA ns.{suffix} hostmaster.{suffix} 1 7200 900 1209600 300\n@ NS ns.test.\n{body}"
    zone = dns.zone.from_text(text, origin=origin, relativize=False, check_origin=False)
    if key is not None:
        now = time.time()
        inception, expiration = (now - 10 * 86400, now - 86400) if expired else (now - 3600, now + 7 * 86400)
        dns.dnssec.sign_zone(zone, keys=[(key.private, key.dnskey)], inception=inception,
                             expiration=expiration)
    return zone.to_text(relativize=False)


@dataclass
class Tree:
    root: Key
    tld: Key
    dom: Key

    @property
    def anchors(self) -> str:
        return ". IN DS " + self.root.ds(".")


def build(server: DnsTestServer, *, dom_signed: bool = True, ds: str | None = "auto", expired: bool = False,
          tamper: bool = False, tree: Tree | None = None, tld_signed: bool = True) -> Tree:
    """root -> test. -> example.test.; ``ds``: "auto" (the domain key's DS), None (no DS) or a DS text."""
    t = tree or Tree(new_key(), new_key(), new_key())
    tld_ds = f"test. DS {t.tld.ds('test.')}\n" if tld_signed else ""
    server.add_zone(".", signed(".", f"test. NS ns.test.\n{tld_ds}", t.root))
    delegation = "example.test. NS ns.test.\nns.test. A 127.0.0.1\n"
    if ds == "auto":
        delegation += f"example.test. DS {t.dom.ds('example.test.')}\n"
    elif ds is not None:
        delegation += f"example.test. DS {ds}\n"
    server.add_zone("test.", signed("test.", delegation, t.tld if tld_signed else None))
    body = '@ TXT "v=spf1 -all"\n_dmarc TXT "v=DMARC1; p=reject"\nwww A 192.0.2.1\n'
    text = signed("example.test.", body, t.dom if dom_signed else None, expired=expired)
    if tamper:
        text = text.replace('"v=DMARC1; p=reject"', '"v=DMARC1; p=none"')
    server.add_zone("example.test.", text)
    return t


def check(server: DnsTestServer, tree: Tree | None, *, domain: str = "example.test", anchors: str | None = None,
          **opts: object):  # type: ignore[no-untyped-def]
    """The check of ``domain`` trusting the root of ``tree`` (or the ``anchors`` text; neither: IANA's)."""
    async def go():  # type: ignore[no-untyped-def]
        ctx = make_ctx(server, domain, trust_anchors=tree.anchors if tree is not None else anchors, **opts)
        try:
            return await dnssec.check(ctx)
        finally:
            ctx.dns.close()
    return run(go())


def codes(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.code for f in result.findings}


# -- the server's DNSSEC answers ------------------------------------------------------------------


def test_server_adds_rrsigs_only_with_do(dns_server: DnsTestServer) -> None:
    build(dns_server)
    host, port = dns_server.address.split(":")
    plain = dns.query.udp(dns.message.make_query("example.test.", "TXT"), host, port=int(port), timeout=2)
    assert [r.rdtype for r in plain.answer] == [dns.rdatatype.TXT]
    do = dns.query.udp(dns.message.make_query("example.test.", "TXT", want_dnssec=True), host, port=int(port),
                       timeout=2)
    assert {r.rdtype for r in do.answer} == {dns.rdatatype.TXT, dns.rdatatype.RRSIG}
    assert do.ednsflags & dns.flags.DO


def test_server_proves_nodata_and_nxdomain_with_nsec(dns_server: DnsTestServer) -> None:
    build(dns_server)
    host, port = dns_server.address.split(":")
    nodata = dns.query.tcp(dns.message.make_query("www.example.test.", "TXT", want_dnssec=True), host,
                           port=int(port), timeout=2)
    types = {(r.name.to_text(), r.rdtype) for r in nodata.authority}
    assert ("www.example.test.", dns.rdatatype.NSEC) in types
    assert ("example.test.", dns.rdatatype.SOA) in types
    nx = dns.query.tcp(dns.message.make_query("nope.example.test.", "A", want_dnssec=True), host,
                       port=int(port), timeout=2)
    assert nx.rcode() == dns.rcode.NXDOMAIN
    nsecs = [r for r in nx.authority if r.rdtype == dns.rdatatype.NSEC]
    assert nsecs and any(r.rdtype == dns.rdatatype.RRSIG and r.covers == dns.rdatatype.NSEC for r in nx.authority)


def test_server_proves_a_missing_ds_from_the_parent_zone(dns_server: DnsTestServer) -> None:
    build(dns_server, ds=None)
    host, port = dns_server.address.split(":")
    resp = dns.query.tcp(dns.message.make_query("example.test.", "DS", want_dnssec=True), host,
                         port=int(port), timeout=2)
    assert not resp.answer
    soa = [r for r in resp.authority if r.rdtype == dns.rdatatype.SOA]
    assert [r.name.to_text() for r in soa] == ["test."]
    nsec = [r for r in resp.authority if r.rdtype == dns.rdatatype.NSEC]
    assert [r.name.to_text() for r in nsec] == ["example.test."]
    bitmap = nsec[0][0].to_text().split()[1:]
    assert "NS" in bitmap and "DS" not in bitmap
    sigs = [r for r in resp.authority if r.rdtype == dns.rdatatype.RRSIG and r.covers == dns.rdatatype.NSEC]
    assert sigs and all(s.signer.to_text() == "test." for s in sigs[0])


# -- the check ------------------------------------------------------------------------------------


def test_signed_and_valid(dns_server: DnsTestServer) -> None:
    tree = build(dns_server)
    r = check(dns_server, tree)
    assert r.status is Status.PASS, r.findings
    assert r.detail["signed"] is True and r.detail["valid"] is True
    assert [c["zone"] for c in r.detail["chain"]] == [".", "test", "example.test"]
    assert all(c["ok"] for c in r.detail["chain"])
    assert r.detail["algorithm"] == "ECDSAP256SHA256"
    assert r.findings == []


def test_unsigned_is_information(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("example.com", "@ SOA ns hostmaster 1 7200 900 1209600 300\n@ TXT \"v=spf1 -all\"\n")
    r = check(dns_server, None, domain="example.com")
    assert r.status is Status.INFO
    assert codes(r) == {"dnssec.unsigned"}
    assert r.detail == {"signed": False, "valid": None, "chain": [], "algorithm": None}


def test_a_resolver_that_strips_signatures_is_couldnt_check(dns_server: DnsTestServer) -> None:
    dns_server.add_zone(".", signed(".", "", None))  # a root without signatures, as a stripping resolver shows it
    dns_server.add_records(".", "DNSKEY", [new_key().dnskey.to_text()])
    dns_server.add_zone("example.com", "@ SOA ns hostmaster 1 7200 900 1209600 300\n")
    r = check(dns_server, None, domain="example.com")
    assert r.status is Status.ERROR and codes(r) == {"dnssec.resolver-strips-signatures"}


def test_bad_signature_is_a_warning(dns_server: DnsTestServer) -> None:
    tree = build(dns_server, tamper=True)
    r = check(dns_server, tree)
    assert r.status is Status.WARN
    assert codes(r) == {"dnssec.bad-signature"}
    assert r.detail["valid"] is False
    assert "bounce" in r.findings[0].message


def test_expired_signatures(dns_server: DnsTestServer) -> None:
    tree = build(dns_server, expired=True)
    r = check(dns_server, tree)
    assert r.status is Status.WARN
    assert codes(r) == {"dnssec.expired-signature"}
    assert r.detail["chain"][-1]["zone"] == "example.test" and r.detail["chain"][-1]["ok"] is False


def test_ds_mismatch_and_its_fix(dns_server: DnsTestServer) -> None:
    tree = Tree(new_key(), new_key(), new_key())
    build(dns_server, ds=new_key().ds("example.test."), tree=tree)
    r = check(dns_server, tree)
    assert r.status is Status.WARN
    assert codes(r) == {"dnssec.ds-mismatch"}
    fix = r.findings[0].fix
    assert fix is not None and fix.host == "example.test" and fix.type == "DS" and fix.action == "replace"
    assert fix.value == tree.dom.ds("example.test.")
    assert "registrar" in fix.note
    # Publishing the fix (at the parent) makes the domain validate.
    dns_server.clear()
    build(dns_server, ds=fix.value, tree=tree)
    again = check(dns_server, tree)
    assert again.status is Status.PASS and again.detail["valid"] is True


def test_missing_ds_is_information_with_a_fix(dns_server: DnsTestServer) -> None:
    tree = Tree(new_key(), new_key(), new_key())
    build(dns_server, ds=None, tree=tree)
    r = check(dns_server, tree)
    assert r.status is Status.INFO
    assert codes(r) == {"dnssec.no-ds"}
    fix = r.findings[0].fix
    assert fix is not None and fix.type == "DS" and fix.action == "publish"
    dns_server.clear()
    build(dns_server, ds=fix.value, tree=tree)
    assert check(dns_server, tree).status is Status.PASS


def test_unsigned_parent_breaks_the_chain(dns_server: DnsTestServer) -> None:
    tree = build(dns_server, tld_signed=False)
    r = check(dns_server, tree)
    assert r.status is Status.INFO
    assert codes(r) == {"dnssec.parent-unsigned"}
    assert r.detail["signed"] is True and r.detail["valid"] is False
    assert r.findings[0].fix is None


def test_no_ds_under_an_unsigned_parent_has_no_registrar_fix(dns_server: DnsTestServer) -> None:
    tree = build(dns_server, tld_signed=False, ds=None)
    r = check(dns_server, tree)
    assert codes(r) == {"dnssec.parent-unsigned"} and r.status is Status.INFO
    assert "(test)" in r.findings[0].message


def test_old_algorithm_still_validates_with_advice(dns_server: DnsTestServer) -> None:
    tree = Tree(new_key(), new_key(), rsasha1_key())
    build(dns_server, tree=tree)
    r = check(dns_server, tree)
    assert r.status is Status.PASS and r.detail["valid"] is True
    assert codes(r) == {"dnssec.weak-algorithm"}
    assert r.detail["algorithm"] == "RSASHA1"


def test_missing_domain(dns_server: DnsTestServer) -> None:
    tree = build(dns_server)
    r = check(dns_server, tree, domain="nowhere.test")
    assert r.status is Status.INFO and codes(r) == {"dnssec.not-found"}


def test_unreadable_trust_anchor_setting(dns_server: DnsTestServer) -> None:
    build(dns_server)
    r = check(dns_server, None, anchors=". IN DS nonsense")
    assert r.status is Status.ERROR and codes(r) == {"dnssec.bad-trust-anchor"}


def test_wrong_trust_anchor_is_couldnt_check(dns_server: DnsTestServer) -> None:
    tree = build(dns_server)
    other = Tree(new_key(), tree.tld, tree.dom)
    r = check(dns_server, other)
    assert r.status is Status.ERROR
    assert codes(r) == {"dnssec.anchor-mismatch"}


def test_timeout_is_couldnt_check(dns_server: DnsTestServer) -> None:
    tree = build(dns_server)
    dns_server.timeout_names.add("example.test/DNSKEY")
    r = check(dns_server, tree, timeout=0.5)
    assert r.status is Status.ERROR
    assert codes(r) == {"dnssec.lookup-failed"}
    assert all(f.severity is Severity.UNKNOWN for f in r.findings)


def test_probe_timeout_is_couldnt_check(dns_server: DnsTestServer) -> None:
    build(dns_server)
    dns_server.timeout_names.add("example.test")
    r = check(dns_server, None, timeout=0.5)
    assert r.status is Status.ERROR and r.detail["signed"] is None


def test_detail_is_json(dns_server: DnsTestServer) -> None:
    import json

    tree = build(dns_server)
    r = check(dns_server, tree)
    assert json.loads(json.dumps(r.to_json()))["detail"]["valid"] is True


# -- trust anchors --------------------------------------------------------------------------------


def test_builtin_root_anchors_parse() -> None:
    anchors = dnssec.parse_trust_anchors(dnssec.ROOT_ANCHORS)
    assert sorted(d.key_tag for d in anchors.ds) == [20326, 38696]  # type: ignore[attr-defined]


def test_dnskey_anchor_and_comments() -> None:
    key = new_key()
    text = f"; the test root\n. 172800 IN DNSKEY {key.dnskey.to_text()}\n"
    anchors = dnssec.parse_trust_anchors(text)
    assert len(anchors.dnskey) == 1 and not anchors.ds


def test_bad_anchor_text() -> None:
    for bad in ["", "example.com. DS 1 8 2 00", ". IN A 192.0.2.1", ". DS not a ds"]:
        try:
            dnssec.parse_trust_anchors(bad)
        except dnssec.TrustAnchorError:
            continue
        raise AssertionError(f"accepted {bad!r}")


def test_dnskey_trust_anchor_validates(dns_server: DnsTestServer) -> None:
    tree = build(dns_server)
    assert check(dns_server, None, anchors=f". DNSKEY {tree.root.dnskey.to_text()}").status is Status.PASS


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_anchor_parser_never_raises_anything_else(text: str) -> None:
    try:
        dnssec.parse_trust_anchors(text)
    except dnssec.TrustAnchorError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([".", "IN", "DS", "DNSKEY", "20326", "8", "2", "257", "3", "AwEAAa", "00ff", ";",
                                 "@", "x.", "\n"]), max_size=12))
def test_anchor_parser_on_near_misses(tokens: list[str]) -> None:
    try:
        dnssec.parse_trust_anchors(" ".join(tokens))
    except dnssec.TrustAnchorError:
        pass
