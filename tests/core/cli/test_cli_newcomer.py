"""What a newcomer meets first on the command line: ``inboxready --help`` starts with ``check`` and says how to
begin, every option of ``publish`` says what it is, a typo'd demo domain names the one meant, and a domain
typed with a comma or two dots in a row gets the name it most likely meant (issue g6, the first hour)."""

from __future__ import annotations

import argparse
import io

import pytest

from inboxready.app.cli import build_parser, main


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_help_lists_check_first_and_the_worker_last_and_says_how_to_start() -> None:
    code, out, _ = _run("--help")
    assert code == 0
    (action,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    order = list(action.choices)
    assert order[0] == "check" and order[-1] == "worker"
    assert order.index("reports") > order.index("headers")
    listed = out.index("    check "), out.index("    reports "), out.index("    worker ")
    assert listed == tuple(sorted(listed))
    text = " ".join(out.split())
    assert "inboxready check example.com" in text and "inboxready check --demo" in text


def test_every_publish_option_has_a_help_text() -> None:
    (action,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    publish = action.choices["publish"]
    silent = [a.dest for a in publish._actions if not a.help]
    assert silent == []


@pytest.mark.parametrize("typed,meant", [("demo-allgod.example", "demo-allgood.example"),
                                         ("demo-allgood", "demo-allgood.example"),
                                         ("DEMO-TOOMANY.EXAMPL", "demo-toomany.example")])
def test_a_mistyped_demo_domain_names_the_one_meant(typed: str, meant: str) -> None:
    code, out, err = _run("check", "--demo", typed)
    assert code == 2 and out == ""
    assert f"did you mean {meant}?" in err and "inboxready check --demo' lists them" in err


def test_an_unrelated_name_with_demo_gets_no_guess() -> None:
    code, _, err = _run("check", "--demo", "example.com")
    assert code == 2 and "did you mean" not in err and "not one of the demo domains" in err


@pytest.mark.parametrize("typed,meant", [("example,com", "example.com"), ("example..com", "example.com"),
                                         (".example.com", "example.com"), ("anna@shop,example.org", "shop.example.org")])
def test_a_slip_in_the_domain_is_refused_with_the_name_meant(typed: str, meant: str) -> None:
    code, out, err = _run("check", typed, "--nameserver", "127.0.0.1:9", "--timeout", "0.2")
    assert code == 2 and out == ""
    assert f"Did you mean {meant}?" in err
    assert ".com.com" not in err and "label is empty" not in err.lower()


def test_an_empty_domain_has_no_empty_prefix() -> None:
    code, _, err = _run("check", "  ", "--nameserver", "127.0.0.1:9")
    assert code == 2 and err.startswith("inboxready: Type a domain name") and ": :" not in err


def _parsers(parser: argparse.ArgumentParser, path: str = "inboxready"):  # type: ignore[no-untyped-def]
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, f"{path} {name}")


def test_every_option_and_argument_of_every_command_says_what_it_is() -> None:
    # a newcomer reads 'inboxready COMMAND --help' to learn what a word means: an option listed with no text,
    # or a text cut off mid-sentence, tells nothing (h11: roundtrip's --send-profile, profile add's --receiver)
    silent, cut = [], []
    for path, parser in _parsers(build_parser()):
        for a in parser._actions:
            if isinstance(a, (argparse._HelpAction, argparse._SubParsersAction, argparse._VersionAction)):
                continue
            name = a.option_strings[-1] if a.option_strings else a.dest
            if not a.help or a.help == argparse.SUPPRESS:
                silent.append(f"{path} {name}")
            elif a.help.rstrip().endswith(("'s", " the", " a", " of", " to")):
                cut.append(f"{path} {name}: {a.help}")
    assert silent == [] and cut == []


def test_every_command_says_what_it_does_and_its_exit_codes() -> None:
    for path, parser in _parsers(build_parser()):
        if path == "inboxready":
            continue
        assert parser.description, f"{path} --help says nothing about what it does"
        text = " ".join(f"{parser.description} {parser.epilog or ''}".split())
        top = path.split()[1]
        if top in ("check", "spf", "headers", "bounce", "publish", "roundtrip", "watch", "verify") \
                or path in ("inboxready watchlist run", "inboxready reports import", "inboxready profile test"):
            assert "Exit codes" in text, f"{path} --help does not say what its exit codes mean"
