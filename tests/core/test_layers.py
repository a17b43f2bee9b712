"""The core's structure, read from the source (``ast``): no import cycle between modules, no module importing
from a layer above its own, and no Qt or app code anywhere in the core. Every import counts: at the top, inside
a function, and under ``TYPE_CHECKING``. The layer order is the one docs/ARCHITECTURE.md shows."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "core"

# Bottom to top. A module may import from its own layer or a layer below, never from one above. The name is
# the part of the module path under core/ ("checks" for core/checks/spf.py, "model" for core/model.py;
# "core" is core/__init__.py).
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"core", "model", "textsafe", "domain", "frontend", "rules"}),  # plain data and text, no I/O
    frozenset({"dns"}),                                  # the DNS client and the loopback server
    frozenset({"context", "net"}),                       # what a check is given; HTTPS
    frozenset({"records", "store"}),                     # record parsers; settings, SQLite, history, keyring
    frozenset({"checks"}),                               # one module per check, the registry, the runner
    frozenset({"mail", "auth", "builders"}),             # messages and mail accounts (and their sign-in); builders
    frozenset({"bounce", "reports", "publish"}),         # bounces, DMARC/TLS reports, publishing at DNS hosts
    frozenset({"policy"}),                               # checklist, compliance, audit, diff, the pipeline
    frozenset({"monitor"}),                              # the monitor (domains re-checked on a schedule)
    frozenset({"worker"}),                               # the engine process: the jobs the app sends it
)
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(CORE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["core", *parts])


MODULES = {module_name(p): p for p in sorted(CORE.rglob("*.py"))}


def group(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "core"


def imports(module: str) -> Iterator[tuple[str, int]]:
    """Every module of the core that ``module`` imports (with the line), and "<outside>:NAME" for an import
    of the app or of Qt."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            targets = [target] + [f"{target}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        for t in targets:
            if t.startswith("inboxready.core"):
                t = "core" + t[len("inboxready.core"):]
            if t.startswith(("inboxready.app", "PySide6", "shiboken6")):
                yield f"<outside>:{t}", node.lineno
            elif t in MODULES:
                yield t, node.lineno


GRAPH = {m: sorted({t for t, _ in imports(m) if not t.startswith("<")} - {m}) for m in MODULES}


def test_every_part_of_the_core_has_a_layer() -> None:
    assert len(MODULES) > 100  # the walk found the core
    assert {group(m) for m in MODULES} <= set(LAYER_OF), {group(m) for m in MODULES} - set(LAYER_OF)


def test_no_module_imports_from_a_layer_above() -> None:
    wrong = [f"{m}:{line} imports {t} ({group(t)} is above {group(m)})"
             for m in MODULES for t, line in imports(m)
             if not t.startswith("<") and LAYER_OF[group(t)] > LAYER_OF[group(m)]]
    assert wrong == []


def test_the_core_imports_neither_qt_nor_the_app() -> None:
    outside = [f"{m}:{line} imports {t.split(':', 1)[1]}" for m in MODULES for t, line in imports(m)
               if t.startswith("<outside>")]
    assert outside == []


def cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), and modules importing themselves."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle() -> None:
    assert cycles(GRAPH) == []


@pytest.mark.parametrize("graph, expected", [
    ({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}, [["a", "b", "c"]]),
    ({"a": ["b"], "b": [], "c": ["b"]}, []),
])
def test_the_cycle_finder_finds_cycles(graph: dict[str, list[str]], expected: list[list[str]]) -> None:
    assert cycles(graph) == expected


def test_the_import_reader_sees_every_kind_of_import() -> None:
    """Relative, absolute, lazy (inside a function) and TYPE_CHECKING imports all count."""
    seen = dict(imports("core.policy.pipeline"))
    assert "core.checks.runner" in seen and "core.mail.message" in seen  # top level; under TYPE_CHECKING
    lazy = dict(imports("core.mail.profiles"))
    assert "core.auth.tokens" in lazy  # inside ProfileStore.remove
