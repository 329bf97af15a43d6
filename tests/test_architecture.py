"""The package's architecture: modules import in one direction only (no import circles).

Every ``import`` inside rlkit, at module level or inside a function (a "lazy" import is still a
dependency), is an edge from the importing module to the imported one. The modules must form a
DAG: a reader can stack them as floors with arrows pointing down only.
"""

from __future__ import annotations

import ast
from pathlib import Path

import rlkit

PACKAGE_DIR = Path(rlkit.__file__).parent


def module_name(path: Path) -> str:
    """``rlkit/models/base.py`` -> ``rlkit.models.base``; ``__init__`` -> the package."""
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """Each rlkit module -> the rlkit modules it imports (anywhere in its body)."""
    modules = {module_name(p): p for p in PACKAGE_DIR.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import: resolve against this module's package
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # `from pkg import sub` imports the submodule when `sub` is one
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in node.names
                ]
            else:
                continue
            for target in targets:
                while target and target not in modules:  # `import rlkit.x.y` -> deepest module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (first == last), or None when the graph is a DAG."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_find_cycle_reports_a_circle_and_accepts_a_dag():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_import_graph_sees_lazy_imports():
    graph = import_graph()
    assert "rlkit.utils.config" in graph["rlkit.catalog"]
    assert len(graph) > 40


def test_no_import_cycle_among_rlkit_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_moved_modules_import_from_their_old_paths_as_the_same_module():
    import importlib

    for old, new in rlkit.MOVED.items():
        assert not (PACKAGE_DIR.parent / (old.replace(".", "/") + ".py")).exists(), old
        assert importlib.import_module(old) is importlib.import_module(new), old
