"""The CLI is a package with one ``register()`` style for every command: each command's sub-parser comes from a
module of ``app/cli/`` listed in ``COMMAND_MODULES`` and names its handler; ``__init__`` keeps only the parser
and ``main`` (issue 15), and ``--self-test`` is ``selftest.py``."""

from __future__ import annotations

import argparse
import importlib

from inboxready.app import cli


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def _handlers(name: str, parser: argparse.ArgumentParser) -> list[tuple[str, object]]:
    """The handler a command sets, or (a command of sub-commands with none of its own: build, reports...)
    those of its sub-commands."""
    if parser.get_default("handler") is not None:
        return [(name, parser.get_default("handler"))]
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert subs, f"{name}: no handler"
    return [h for a in subs for n, p in a.choices.items() for h in _handlers(f"{name} {n}", p)]


def test_every_command_is_registered_by_its_own_module() -> None:
    commands = _commands(cli.build_parser())
    assert {"check", "spf", "headers", "profile", "roundtrip", "watch", "watchlist", "reports", "publish",
            "bounce", "verify"} <= set(commands)
    modules = {m.__name__ for m in cli.COMMAND_MODULES}
    for name, sub in commands.items():
        for where, handler in _handlers(name, sub):
            assert callable(handler), f"{where}: no handler"
            module = getattr(handler, "__module__", "")
            assert module in modules, f"{where}: handled in {module}"
            assert module != cli.__name__, f"{where} is still inline in app/cli/__init__.py"
    for module in cli.COMMAND_MODULES:
        assert callable(module.register)
    for name in ("check", "spf", "headers", "profile", "roundtrip", "watch"):  # named like the command
        assert commands[name].get_default("handler").__module__ == f"{cli.__name__}.{name}"


def test_the_package_keeps_only_the_parser_and_main() -> None:
    inline = [n for n in vars(cli) if n.startswith("cmd_") or n.startswith("render_")]
    assert inline == []
    selftest = importlib.import_module("inboxready.app.cli.selftest")
    assert cli.build_parser().parse_args(["--self-test"]).self_test is True
    assert callable(selftest.cmd_self_test) and selftest.SELF_TEST_EXPECT


def test_profile_actions_reach_the_profile_handler() -> None:
    from inboxready.app.cli.profile import cmd_profile

    for argv in (["profile", "list"], ["profile", "remove", "x"], ["profile", "test", "x"]):
        assert cli.build_parser().parse_args(argv).handler is cmd_profile
