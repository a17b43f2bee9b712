"""``--json`` never prints an empty success when the command could not do what was asked: ``check BAD
--json`` printed ``[]`` (the reason only on standard error, exit 2), and the other commands printed nothing at
all. Now the JSON carries the error, the exit code stays 2 and the sentence stays on standard error."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from inboxready.app.cli import main
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.store.settings import HOME_ENV

ZONE = """
@        SOA ns1 hostmaster 1 3600 600 86400 300
@        MX 10 mx1
mx1      A 192.0.2.1
@        TXT "v=spf1 mx -all"
_dmarc   TXT "v=DMARC1; p=reject"
"""


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    return tmp_path


def test_check_of_text_that_is_no_domain_prints_the_error_in_the_json_array() -> None:
    code, out, err = cli("check", "exa mple.com", "--json")
    assert code == 2
    assert "has a space in it" in err  # still said on standard error
    assert json.loads(out) == [{"input": "exa mple.com", "domain": None,
                                "error": "'exa mple.com' has a space in it; a domain name cannot."}]


def test_check_keeps_good_and_bad_inputs_in_the_order_given(dns_server: DnsTestServer) -> None:
    dns_server.add_zone("good.test", ZONE)
    code, out, err = cli("check", "bad..test", "good.test", "exa,mple", "--json", "-n", dns_server.address,
                         "--only", "spf,dmarc", "--timeout", "1")
    data = json.loads(out)
    assert [d.get("input") for d in data] == ["bad..test", None, "exa,mple"]
    assert data[1]["domain"] == "good.test" and data[1]["checks"]["spf"]["status"] == "pass"
    assert "empty part" in data[0]["error"] and "comma" in data[2]["error"] and data[0]["domain"] is None
    assert code != 0 and err.count("inboxready: ") == 2  # 1 when the good domain has something to fix, else 2


@pytest.mark.parametrize("argv,words", [
    (["check", "--demo", "nope.example"], "is not one of the demo domains"),
    (["check", "good.test", "--only", "spf", "--skip", "spf"], "leaves no check to run"),
    (["check", "good.test", "--only", "nope"], "unknown check nope"),  # argparse's usage error
    (["headers", "/nonexistent/message.eml"], "can't read /nonexistent/message.eml"),
    (["bounce", "/nonexistent/bounce.eml"], "can't read /nonexistent/bounce.eml"),
    (["verify", "/nonexistent/report.pdf"], "can't read /nonexistent/report.pdf"),
    (["spf", "example.com", "--ip", "not-an-ip"], "'not-an-ip' is not an IP address"),
    (["build", "dmarc", "exa mple.com"], "has a space in it"),
    (["reports", "summary", "exa mple.com"], "has a space in it"),
    (["watchlist", "add", "exa mple.com"], "has a space in it"),
    (["watchlist", "remove", "nope.example"], "is not on the watch list"),
    (["publish", "good.test", "--account", "nope"], "There is no DNS account called 'nope'"),
    (["roundtrip", "--send-profile", "a", "--read-profile", "b"], "There is no sending profile called 'a'"),
    (["watch", "--read-profile", "nope"], "There is no reading profile called 'nope'"),
])
def test_every_command_prints_its_error_as_json(argv: list[str], words: str) -> None:
    code, out, err = cli(*argv, "--json")
    assert code == 2, (out, err)
    assert words in err
    data = json.loads(out)
    assert data["exit_code"] == 2 and words in data["error"] and not data["error"].startswith("inboxready")


def test_without_json_nothing_extra_is_printed() -> None:
    code, out, err = cli("headers", "/nonexistent/message.eml")
    assert code == 2 and out == "" and "can't read" in err


def test_a_hostile_error_text_stays_escaped_in_the_json() -> None:
    code, out, _ = cli("check", "exa mple\x1b[2J.com", "--json")
    assert code == 2 and "\x1b" not in out and "\\u001b" in out
    assert "\x1b[2J" in json.loads(out)[0]["input"]  # the same text once decoded


@pytest.mark.parametrize("argv", [
    ["profile", "add", "mail", "--smtp", "localhost", "--password", "hunter2S3cret"],
    ["profile", "add", "mail", "--smtp", "localhost", "--password=hunter2S3cret"],
    ["profile", "add", "mail", "--smtp", "localhost", "--user", "bob", "hunter2S3cret"],
    ["roundtrip", "--send-profile", "a", "--read-profile", "b", "--imap-password", "hunter2S3cret"],
    ["check", "good.test", "--pass", "hunter2S3cret"],
])
@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_a_secret_typed_on_the_command_line_is_never_repeated(argv: list[str], json_flag: list[str],
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A password typed after an option we don't have (--password) was quoted back in the usage error, on
    standard error and in the JSON: the options are named, the values only counted."""
    code, out, err = cli(*argv, *json_flag)
    seen = capsys.readouterr()  # argparse also writes the usage error to the process's own stderr
    assert code == 2
    for text in (out, err, seen.out, seen.err):
        assert "hunter2S3cret" not in text
    assert "unrecognized arguments" in err and "not repeated" in err
    named = [a.split("=")[0] for a in argv if a.split("=")[0] in ("--password", "--imap-password", "--pass")]
    assert all(option in err for option in named)  # the option we don't have is still named
    if json_flag:
        assert "not repeated" in json.loads(out)["error"]


def test_an_abbreviated_json_option_also_gets_the_error_as_json() -> None:
    """argparse takes --js for --json: the command's output is JSON, so its error must be too."""
    code, out, err = cli("headers", "/nonexistent/message.eml", "--js")
    assert code == 2 and "can't read" in json.loads(out)["error"]


def test_a_reader_gone_before_the_json_error_is_written_is_no_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """``inboxready check BAD --json | true``: the reader has gone before the error's JSON is written; that
    ended in a BrokenPipeError traceback."""
    import os

    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    saved = os.dup(1)  # the fix points the process's stdout at /dev/null, as _main does: keep ours
    try:
        code = main(["headers", "/nonexistent/message.eml", "--json"], out=Closed(), err=io.StringIO())
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    assert code == 2
