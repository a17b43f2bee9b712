"""The test suite itself: no test may pass without running its assertion (project rules).

Read from the source of every module under tests/ (no test is run): a skip that is not for a platform
reason or does not fail under CI, an assert that can't fail (a tuple, a non-empty constant), an assertion
method of a mock that does not exist (``m.called_once_with(...)`` is a new mock attribute: always true),
an ``async def`` test (no asyncio plugin here: pytest would not await it), asserts inside a ``try`` whose
``except`` swallows the failure. (That no test reads outside the repository is
tests/conformance/test_data_files.py's.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import needs

TESTS = Path(__file__).resolve().parent

# The modules that may call pytest.skip: each one fails instead under CI=true (needs.in_ci or its own check).
MAY_SKIP = {"helpers/needs.py", "xserver.py", "publish/pdns.py", "mail/conftest.py", "app/test_xcb.py"}
# A skipif condition must be about the platform, where the test can't mean anything.
PLATFORM_WORDS = ("sys.platform", "hasattr(signal")
MOCK_ASSERTS = {"assert_called", "assert_called_once", "assert_called_with", "assert_called_once_with",
                "assert_any_call", "assert_has_calls", "assert_not_called", "assert_awaited", "assert_awaited_once",
                "assert_awaited_with", "assert_awaited_once_with", "assert_any_await", "assert_has_awaits",
                "assert_not_awaited"}
MISSPELT = {"called_once_with", "called_with", "called_once", "not_called", "has_calls", "any_call",
            "assert_called_once_wiht", "assert_not_called_with", "assert_called_twice", "assret_called_with"}


def _modules() -> list[tuple[str, ast.Module, str]]:
    out = []
    for path in sorted(TESTS.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        out.append((path.relative_to(TESTS).as_posix(), ast.parse(text, str(path)), text))
    assert len(out) > 100, "the scan found no test modules"
    return out


MODULES = _modules()


def _where(rel: str, node: ast.AST) -> str:
    return f"tests/{rel}:{getattr(node, 'lineno', '?')}"


def _call_name(node: ast.Call) -> str:
    return ast.unparse(node.func)


def test_skips_are_for_the_platform_or_fail_under_ci() -> None:
    bad = []
    for rel, tree, _ in MODULES:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _call_name(node)
            if name in ("pytest.importorskip", "importorskip"):
                bad.append(f"{_where(rel, node)}: importorskip (a dependency that is missing is a broken install)")
            elif name in ("pytest.skip", "skip") and rel not in MAY_SKIP:
                bad.append(f"{_where(rel, node)}: pytest.skip (use tests.helpers.needs: it fails under CI)")
            elif name in ("pytest.xfail", "pytest.mark.xfail"):
                bad.append(f"{_where(rel, node)}: xfail hides a failure")
            elif name == "pytest.mark.skipif":
                cond = ast.unparse(node.args[0]) if node.args else ""
                if not any(w in cond for w in PLATFORM_WORDS):
                    bad.append(f"{_where(rel, node)}: skipif({cond}) is not a platform reason")
            elif name == "pytest.mark.skip":
                bad.append(f"{_where(rel, node)}: an unconditional skip")
        for node in ast.walk(tree):  # bare decorators: @pytest.mark.xfail, @pytest.mark.skip
            if isinstance(node, ast.Attribute) and ast.unparse(node) in ("pytest.mark.xfail", "pytest.mark.skip"):
                bad.append(f"{_where(rel, node)}: {ast.unparse(node)}")
    assert sorted(set(bad)) == []


def test_no_assert_can_pass_on_its_own() -> None:
    bad = []
    for rel, tree, _ in MODULES:
        for node in ast.walk(tree):
            if isinstance(node, ast.Assert):
                t = node.test
                if isinstance(t, (ast.Tuple, ast.JoinedStr, ast.List)) or (isinstance(t, ast.Constant) and t.value):
                    bad.append(f"{_where(rel, node)}: assert {ast.unparse(t)[:60]} is always true")
            elif isinstance(node, ast.Attribute) and (node.attr in MISSPELT or (
                    node.attr.startswith("assert_") and node.attr not in MOCK_ASSERTS
                    and isinstance(node.ctx, ast.Load) and _looks_like_a_mock(node))):
                bad.append(f"{_where(rel, node)}: .{node.attr} is not a Mock assertion (always passes)")
    assert bad == []


def _looks_like_a_mock(node: ast.Attribute) -> bool:
    return "mock" in ast.unparse(node.value).lower()


def test_no_exception_handler_swallows_an_assertion() -> None:
    bad = []
    for rel, tree, _ in MODULES:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Try):
                continue
            asserts = any(isinstance(n, ast.Assert) for b in node.body for n in ast.walk(b))
            for h in node.handlers:
                catches_assert = h.type is None or any(
                    name in ast.unparse(h.type) for name in ("AssertionError", "BaseException", "Exception"))
                quiet = all(isinstance(b, (ast.Pass, ast.Continue, ast.Break)) or (
                    isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant)) for b in h.body)
                if asserts and catches_assert and quiet:
                    bad.append(f"{_where(rel, node)}: an assert inside try, its failure swallowed by "
                               f"except {ast.unparse(h.type) if h.type else ''}")
    assert bad == []


def test_every_test_is_a_plain_function_pytest_runs() -> None:
    """No plugin awaits coroutines here: an ``async def test_`` would be collected, never awaited, and pass."""
    bad = [_where(rel, n) + f": async def {n.name}" for rel, tree, _ in MODULES for n in ast.walk(tree)
           if isinstance(n, ast.AsyncFunctionDef) and n.name.startswith("test")]
    assert bad == []


def test_a_missing_program_skips_on_a_desk_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y nothing-here"):
        needs.program("inboxready-no-such-program", "nothing-here")
    for value in ("true", "1", "TRUE"):
        monkeypatch.setenv("CI", value)
        with pytest.raises(pytest.fail.Exception, match="CI=true: this test must not be skipped"):
            needs.program("inboxready-no-such-program", "nothing-here")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        needs.missing("x")
    assert needs.program("sh", "dash").endswith("/sh")


def test_the_scan_sees_what_it_looks_for() -> None:
    """Each check above finds its defect in a sample (so an empty list means none, not a blind scan)."""
    sample = ast.parse(
        "import pytest\n"
        "@pytest.mark.skipif(shutil.which('x') is None, reason='r')\n"
        "def test_a(m):\n"
        "    assert (1, 'why')\n"
        "    m.called_once_with(1)\n"
        "    try:\n"
        "        assert f()\n"
        "    except AssertionError:\n"
        "        pass\n"
        "async def test_b():\n"
        "    pytest.importorskip('x')\n")
    global MODULES
    saved = MODULES
    MODULES = [("sample.py", sample, "")]
    try:
        for check in (test_skips_are_for_the_platform_or_fail_under_ci, test_no_assert_can_pass_on_its_own,
                      test_no_exception_handler_swallows_an_assertion, test_every_test_is_a_plain_function_pytest_runs):
            with pytest.raises(AssertionError):
                check()
    finally:
        MODULES = saved


def test_a_parametrisation_with_no_case_fails_instead_of_skipping(tmp_path: Path) -> None:
    """pytest marks a test whose parameter list came out empty as skipped; tests/conftest.py makes it fail."""
    import subprocess
    import sys

    (tmp_path / "test_empty.py").write_text(
        "import pytest\n\n@pytest.mark.parametrize('x', [])\ndef test_nothing(x):\n    assert x\n", encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
                          str(tmp_path / "test_empty.py")], cwd=TESTS.parent, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode != 0, res.stdout
    assert "produced no case" in res.stdout and "skipped" not in res.stdout, res.stdout
