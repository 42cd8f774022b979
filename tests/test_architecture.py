"""Architecture checks on the source tree: no import circle in src/swarmjac.

The import graph is built from the source with ``ast`` (nothing is imported): every ``import`` and
``from ... import`` at any depth (module level and inside functions, since a lazy import is still a
dependency), except under ``if TYPE_CHECKING:``. ``from package import name`` counts as an edge to the
submodule ``package.name`` when that is a module, else to ``package``. The implicit import of a parent
package by its submodules is not an edge. Run ``python tests/test_architecture.py`` to print the graph.
"""
from __future__ import annotations

import ast
import os
import sys
from typing import Dict, List, Optional, Set

import pytest

SOURCE_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
PACKAGE = "swarmjac"


def find_modules(root: str = SOURCE_ROOT, package: str = PACKAGE) -> Dict[str, str]:
    """Module name -> file path of every .py/.pyx file of the package (packages by their __init__.py)."""
    modules = {}
    base = os.path.join(root, package)
    for directory, _, files in os.walk(base):
        for file in files:
            if not file.endswith((".py", ".pyx")):
                continue
            relative = os.path.relpath(os.path.join(directory, file), root)
            parts = relative[: relative.rindex(".")].split(os.sep)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = os.path.join(directory, file)
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> List[ast.stmt]:
    """Import statements at any depth, skipping ``if TYPE_CHECKING:`` bodies."""
    found: List[ast.stmt] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> Optional[str]:
    if node.level == 0:
        return node.module
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def import_graph(modules: Optional[Dict[str, str]] = None) -> Dict[str, Set[str]]:
    """Module -> the package's modules it imports."""
    modules = find_modules() if modules is None else modules
    graph: Dict[str, Set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        if path.endswith(".pyx"):
            continue  # Cython: cimports of .pxd files only
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), filename=path)
        is_package = os.path.basename(path) == "__init__.py"
        for node in _imports(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                source = _resolve(name, is_package, node)
                if source is None:
                    continue
                targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                           for alias in node.names]
            for target in targets:
                # "import a.b.c" depends on a.b.c (the innermost module of the package that it names)
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def find_cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Every strongly connected component with more than one module (Tarjan), each as a sorted list."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    on_stack: Set[str] = set()
    stack: List[str] = []
    cycles: List[List[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph) + 100))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_checker_finds_a_circle(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from pkg.a import f\n")
    (package / "a.py").write_text("def f():\n    from .sub import b\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "b.py").write_text("from typing import TYPE_CHECKING\nfrom .. import c\n"
                                          "if TYPE_CHECKING:\n    from pkg import a\n")
    (package / "c.py").write_text("import pkg.a\n")
    graph = import_graph(find_modules(str(tmp_path), "pkg"))
    assert graph["pkg.a"] == {"pkg.sub.b"} and graph["pkg.sub.b"] == {"pkg.c"} and graph["pkg.c"] == {"pkg.a"}
    assert find_cycles(graph) == [["pkg.a", "pkg.c", "pkg.sub.b"]]
    (package / "c.py").write_text("")
    assert find_cycles(import_graph(find_modules(str(tmp_path), "pkg"))) == []


def test_no_import_circle():
    graph = import_graph()
    assert {"swarmjac.pso", "swarmjac.pso.optimizer", "swarmjac.distributed.islands", "swarmjac._layout"} <= set(graph)
    assert find_cycles(graph) == []


def test_the_layout_module_knows_the_kernels_limits():
    """_layout.MAX_LAYERS checks network specs without loading the core; it must be the core's own limit."""
    from swarmjac import _layout

    assert _layout.MAX_LAYERS == _layout.core().MAX_LAYERS
    assert {_layout.mode_code(mode) for mode in _layout.MODES} == {0, 1, 2}


if __name__ == "__main__":
    for module, targets in sorted(import_graph().items()):
        print(f"{module} -> {', '.join(sorted(targets)) or '-'}")
    print("cycles:", find_cycles(import_graph()) or "none")
