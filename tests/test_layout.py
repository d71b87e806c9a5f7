"""The layout rules of the developers' guide, checked on the three packages: no import cycles,
modules of at most ~400 lines, functions that fit on a screen (at most ~60 lines).

Read from the source with ``ast`` (nothing is imported). An import inside a function counts like
one at the top: a cycle that only a lazy import hides is still a cycle for the reader.
"""

import ast
from pathlib import Path

import pytest

from coursekit import ROOT

PACKAGES = {
    "coursekit": ROOT / "coursekit",
    "coursegrader": ROOT / "autograder" / "coursegrader",
    "coursetools": ROOT / "tools",
}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# Justified exceptions, "path:function" -> why. Keep it short: split the function instead if you can.
LONG_FUNCTIONS: dict[str, str] = {}
LONG_MODULES: dict[str, str] = {}


def _modules() -> dict[str, Path]:
    """{dotted module name: file} of every module of the three packages."""
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()
TREES = {name: ast.parse(path.read_text(encoding="utf-8"), str(path)) for name, path in MODULES.items()}


def _imports(name: str, tree: ast.Module) -> set[str]:
    """The modules of the three packages that module ``name`` imports (relative imports resolved)."""
    package = name.split(".") if MODULES[name].name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}  # `from pkg import module`
    return {m for m in found if m in MODULES and m != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), i.e. the import cycles."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def _label(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_packages_have_no_import_cycles():
    graph = {name: _imports(name, tree) for name, tree in TREES.items()}
    assert _cycles(graph) == []


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_module_is_longer_than_a_few_screens(package):
    too_long = {
        _label(path): n
        for name, path in MODULES.items()
        if name.split(".")[0] == package
        and (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
        and _label(path) not in LONG_MODULES
    }
    assert too_long == {}, f"split these modules along a seam (one verb per module): {too_long}"


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_every_function_fits_on_a_screen(package):
    too_long = {}
    for name, tree in TREES.items():
        if name.split(".")[0] != package:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                where = f"{_label(MODULES[name])}:{node.name}"
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES and where not in LONG_FUNCTIONS:
                    too_long[where] = lines
    assert too_long == {}, f"split these functions into named helpers: {too_long}"


def test_the_scan_sees_an_import_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
