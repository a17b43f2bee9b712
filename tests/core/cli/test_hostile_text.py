"""Issue 13, item 3: text from outside (DNS records, report files, message subjects, server replies) never
reaches the terminal raw. Control characters are shown escaped; our own colours are the only escape
sequences printed; JSON stays valid and keeps the data exactly."""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import unicodedata
from email.header import Header
from pathlib import Path

import pytest

from inboxready.app.cli.out import ESC, SafeStream, safe_stream
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.textsafe import UNSAFE, dumps_json, visible
from ...helpers.cli import cli

CSI = "\x1b["
# a record that clears the screen and paints a fake all-green report over it, as the BIMI record of a
# domain with "+all" did
REPAINT = "\x1b[2J\x1b[H\x1b[32m✓ evil.test  (Pass)\x1b[0m\r"
REPAINT_ZONE = "\\027[2J\\027[H\\027[32m✓ evil.test  (Pass)\\027[0m\\013"  # zone escapes are decimal
EVIL = """
@        SOA ns1 hostmaster 1 3600 600 86400 300
@        MX 10 mx1
mx1      A 192.0.2.1
@        TXT "v=spf1 +all"
_dmarc   TXT "v=DMARC1; p=none; rua=mailto:d@evil.test; x={repaint}"
default._bimi TXT "v=BIMI1; l={repaint}; a=\\226\\128\\174gnp.ssap"
"""
OUR_SGR = re.compile(r"\x1b\[[0-9;]*m")




def raw_controls(text: str, *, allow_colour: bool = False) -> list[str]:
    """Control, format and separator characters left in printed text (newlines are fine)."""
    if allow_colour:
        text = OUR_SGR.sub("", text)
    return [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")]


@pytest.fixture
def evil(dns_server: DnsTestServer) -> DnsTestServer:
    dns_server.add_zone("evil.test", EVIL.format(repaint=REPAINT_ZONE))
    return dns_server


def test_visible_covers_every_control_format_and_separator_character() -> None:
    missing = [hex(c) for c in range(0x110000)
               if unicodedata.category(chr(c)) in ("Cc", "Cf", "Cs", "Zl", "Zp") and not UNSAFE.match(chr(c))]
    assert missing == []
    assert visible("a\x1b[2Jb\u202ec\r\n\t") == "a\\x1b[2Jb\\u202ec\\r\\n\\t"
    assert visible("line\nnext\r", keep_newlines=True) == "line\nnext\\r"
    assert visible("IDN: bücher.example, 日本") == "IDN: bücher.example, 日本"  # letters untouched
    data = {"r": "\x1b[2J\u202e\U000e0041\udcff é\n"}
    text = dumps_json(data, indent=2)
    assert json.loads(text) == data and not raw_controls(text)


def test_safe_stream_escapes_everything_but_our_own_colours() -> None:
    buf = io.StringIO()
    out = safe_stream(buf)
    assert safe_stream(out) is out and isinstance(out, SafeStream)
    out.write(f"{ESC}[32mok{ESC}[0m hostile: \x1b[31mred\x1b[0m\rover\u202e\n")
    text = buf.getvalue()
    assert text.startswith("\x1b[32mok\x1b[0m")  # ours, turned into the real escape character
    assert "\\x1b[31mred\\x1b[0m\\rover\\u202e\n" in text
    assert text.count("\x1b") == 2


def test_check_text_output_shows_hostile_records_escaped(evil: DnsTestServer) -> None:
    code, out, err = cli("check", "evil.test", "-n", evil.address, "--timeout", "1", "--color", "never",
                         "--skip", "starttls,rdns")
    assert code == 1  # +all and p=none: things to fix
    assert raw_controls(out + err) == []
    assert "\\x1b[2J\\x1b[H\\x1b[32m✓ evil.test  (Pass)\\x1b[0m" in out  # what was published, visibly
    assert "\\u202e" in out  # the right-to-left override in the BIMI record
    assert "✗ evil.test" in out.splitlines()[0]  # our verdict line is the first line, and it is ours


def test_check_with_colour_prints_only_our_escape_sequences(evil: DnsTestServer) -> None:
    code, out, _ = cli("check", "evil.test", "-n", evil.address, "--timeout", "1", "--color", "always",
                       "--only", "spf,dmarc,bimi")
    assert code == 1
    assert CSI in out  # colours are on
    assert raw_controls(out, allow_colour=True) == []
    assert "\x1b[2J" not in out and "\x1b[H" not in out
    # every escape sequence printed is one of the few we use ourselves
    assert set(OUR_SGR.findall(out)) <= {"\x1b[0m", "\x1b[1m", "\x1b[2m", "\x1b[31m", "\x1b[32m", "\x1b[33m",
                                         "\x1b[35m", "\x1b[36m", "\x1b[1;31m", "\x1b[1;32m", "\x1b[1;33m",
                                         "\x1b[1;35m", "\x1b[1;36m"}


def test_json_output_keeps_the_data_and_no_raw_controls(evil: DnsTestServer) -> None:
    code, out, _ = cli("check", "evil.test", "-n", evil.address, "--timeout", "1", "--json", "--only", "dmarc,bimi")
    assert raw_controls(out) == []
    data = json.loads(out)
    records = data[0]["checks"]["dmarc"]["records"]
    assert any(REPAINT in r for r in records)  # exactly as published


def test_message_subject_and_from_cannot_forge_lines(tmp_path: Path) -> None:
    subject = Header("\x1b[2J\r\n✓ Everything passed\x1b[8m", "utf-8").encode()
    raw = (f"From: =?utf-8?b?{base64.b64encode(chr(0x202e).encode() + b'moc.knab').decode()}?= <a@shop.test>\r\n"
           f"To: b@inbox.test\r\nSubject: {subject}\r\nMessage-ID: <1@shop.test>\r\n"
           "Authentication-Results: mx.google.com; spf=pass smtp.mailfrom=shop.test; dkim=none; "
           "dmarc=fail (p=NONE) header.from=shop.test\x1b[2J\r\n\r\nbody\r\n").encode("utf-8")
    path = tmp_path / "m.eml"
    path.write_bytes(raw)
    code, out, err = cli("headers", str(path), "--offline", "--color", "never")
    assert raw_controls(out + err) == []
    assert "\\x1b[2J ✓ Everything passed\\x1b[8m" in out.splitlines()[0]  # one line, escaped
    assert not any(line.lstrip().startswith("✓ Everything") for line in out.splitlines())
    assert "\\u202emoc.knab" in out
    code, out, _ = cli("headers", str(path), "--offline", "--json")
    assert raw_controls(out) == [] and "\x1b" in json.loads(out)["subject"]


def test_report_files_with_hostile_names_and_fields(tmp_path: Path) -> None:
    xml = ("<?xml version=\"1.0\"?><feedback><report_metadata><org_name>\x1b]0;pwned\x07Evil\x1b[2J</org_name>"
           "<email>a@b.test</email><report_id>r1</report_id><date_range><begin>1700000000</begin>"
           "<end>1700086400</end></date_range></report_metadata><policy_published><domain>shop.test</domain>"
           "<p>none</p></policy_published><record><row><source_ip>192.0.2.1</source_ip><count>3</count>"
           "<policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>fail</spf>"
           "</policy_evaluated></row><identifiers><header_from>shop.test</header_from></identifiers>"
           "<auth_results><spf><domain>shop.test</domain><result>fail</result></spf></auth_results></record>"
           "</feedback>").encode("utf-8")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.xml.gz").write_bytes(gzip.compress(xml))
    (folder / "bad\x1b[2J\u202eevil.xml").write_bytes(b"not a report \x1b[2J")
    store = str(tmp_path / "r.sqlite3")
    code, out, err = cli("reports", "import", str(folder), "--store", store)
    assert code == 1  # one file rejected
    assert raw_controls(out + err) == []
    assert "bad\\x1b[2J\\u202eevil.xml" in out
    code, out, err = cli("reports", "summary", "shop.test", "--store", store, "--offline", "--days", "3650")
    assert raw_controls(out + err) == []


def test_usage_errors_quote_the_value_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli("check", "x.test", "--only", "spf,\x1b[2Jevil")
    assert code == 2
    assert "\x1b" not in err + capsys.readouterr().err
    code, out, err = cli("check", "exa\x1b[2Jmple.com", "--only", "spf", "-n", "127.0.0.1:9", "--timeout", "0.1")
    assert code == 2 and raw_controls(out + err) == [] and "\\x1b[2J" in err


def test_build_whatif_and_spf_show_records_escaped(evil: DnsTestServer) -> None:
    code, out, err = cli("spf", "evil.test", "--ip", "192.0.2.9", "-n", evil.address, "--sender",
                         "x\x1b[2J@evil.test", "--helo", "h\u202eo")
    assert raw_controls(out + err) == [] and "x\\x1b[2J@evil.test" in out
    code, out, err = cli("build", "whatif", "evil.test", "-n", evil.address, "--timeout", "1",
                         "--record", '_dmarc TXT "v=DMARC1; p=reject; x=\\027[2J"')
    assert raw_controls(out + err) == []


def test_a_crlf_line_break_is_shown_as_a_line_break_and_a_lone_cr_stays_visible() -> None:
    from inboxready.core.textsafe import visible

    policy = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n"
    assert visible(policy, keep_newlines=True) == policy.replace("\r\n", "\n")  # the MTA-STS card showed \r
    assert visible("a\rb", keep_newlines=True) == "a\\rb"  # a carriage return that rewrites a line
    assert visible(policy) == policy.replace("\r\n", "\\r\\n")  # one-line output escapes both
