"""The package's architecture: modules stand on floors and import downwards only.

Every ``import`` inside rlkit, at module level or inside a function (a "lazy" import is still a
dependency), is an edge from the importing module to the imported one; importing
``rlkit.a.b`` also runs the package ``rlkit.a`` (its ``__init__``), so that is an edge too
(a "package-level" edge). The floors below are docs/DESIGN.md's: no module imports one on a
higher floor, and the whole graph has no circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import rlkit

PACKAGE_DIR = Path(rlkit.__file__).parent


def module_name(path: Path, package_dir: Path = PACKAGE_DIR) -> str:
    """``rlkit/models/base.py`` -> ``rlkit.models.base``; ``__init__`` -> the package."""
    parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(package_dir: Path = PACKAGE_DIR) -> dict[str, set[str]]:
    """Each rlkit module -> the rlkit modules it imports (anywhere in its body)."""
    modules = {module_name(p, package_dir): p for p in package_dir.rglob("*.py")}
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
                    graph[name].update(package_edges(name, target))
    return graph


def package_edges(importer: str, target: str) -> list[str]:
    """The packages that importing ``target`` runs and ``importer`` is not already inside.

    ``rlkit.engines.torch_engine`` importing ``rlkit.algorithms.learner`` runs
    ``rlkit/algorithms/__init__.py`` (which imports every algorithm); importing a sibling
    (``rlkit.engines.learner``) runs nothing new. The root ``rlkit`` is light and left out.
    """
    parts = target.split(".")
    out = []
    for i in range(2, len(parts)):
        package = ".".join(parts[:i])
        if not (importer == package or importer.startswith(package + ".")):
            out.append(package)
    return out


# docs/DESIGN.md's floors, lowest first: a module may import its own floor and those below.
FLOORS = [
    ("plumbing", ["rlkit", "rlkit.utils", "rlkit.spaces"]),
    (
        "components",
        ["rlkit.preprocessors", "rlkit.filters", "rlkit.distributions", "rlkit.models"],
    ),
    ("envs", ["rlkit.atari", "rlkit.old_gym", "rlkit.envs"]),
    ("assembly", ["rlkit.trace", "rlkit.catalog"]),
    ("engines", ["rlkit.engines"]),
    ("policy", ["rlkit.policy"]),
    ("data", ["rlkit.sampling", "rlkit.overlap", "rlkit.offline", "rlkit.records"]),
    ("runners", ["rlkit.scaling", "rlkit.scaling.cluster", "rlkit.scaling.runners"]),
    ("algorithms", ["rlkit.algorithms"]),
    (
        "users",
        [
            "rlkit.scaling.sweeps",
            "rlkit.records.video",
            "rlkit.widgets",
            "rlkit.grading",
            "rlkit.examples",
            "rlkit.exercises",
            "rlkit.migrate",
            "rlkit.tour",
            "rlkit.__main__",
        ],
    ),
]


def floor_of(module: str) -> tuple[int, str]:
    """(floor index, floor name) of ``module``: the floor of its longest listed prefix.

    The root ``rlkit`` is listed for itself alone (its ``__init__``), not for what it holds.
    """
    best = None
    for index, (floor, prefixes) in enumerate(FLOORS):
        for prefix in prefixes:
            inside = prefix != "rlkit" and module.startswith(prefix + ".")
            if (module == prefix or inside) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index, floor)
    assert best is not None, f"{module} is on no floor: add it to FLOORS (and docs/DESIGN.md)"
    return best[1], best[2]


def upward_edges(graph: dict[str, set[str]]) -> list[str]:
    """Every edge from a module to one on a higher floor, in words."""
    out = []
    for module, targets in sorted(graph.items()):
        low, floor = floor_of(module)
        for target in sorted(targets):
            high, above = floor_of(target)
            if high > low:
                out.append(f"{module} ({floor}) imports {target} ({above})")
    return out


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


def test_package_edges_see_the_package_an_import_runs():
    assert package_edges("rlkit.engines.torch_engine", "rlkit.algorithms.learner") == [
        "rlkit.algorithms"
    ]
    assert package_edges("rlkit.engines.torch_engine", "rlkit.engines.learner") == []
    assert package_edges("rlkit.engines", "rlkit.engines.numpy.mlp") == ["rlkit.engines.numpy"]


def test_upward_edges_are_found_in_a_function_and_through_a_package(tmp_path):
    # The seam as it was: the torch engine's step imported the algorithms' learner inside
    # a function, which also ran rlkit/algorithms/__init__.py.
    files = {
        "rlkit/__init__.py": "",
        "rlkit/engines/__init__.py": "",
        "rlkit/engines/torch_engine.py": (
            "def step():\n    from rlkit.algorithms.learner import optimise\n"
        ),
        "rlkit/algorithms/__init__.py": "from rlkit.algorithms import learner\n",
        "rlkit/algorithms/learner.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph(tmp_path / "rlkit")
    assert upward_edges(graph) == [
        "rlkit.engines.torch_engine (engines) imports rlkit.algorithms (algorithms)",
        "rlkit.engines.torch_engine (engines) imports rlkit.algorithms.learner (algorithms)",
    ]


def test_no_module_imports_one_on_a_higher_floor():
    upward = upward_edges(import_graph())
    assert not upward, "imports pointing up:\n" + "\n".join(upward)


def test_rlkit_imports_its_own_modules_by_their_paths_not_by_moved_aliases():
    modules = {module_name(p) for p in PACKAGE_DIR.rglob("*.py")}
    stale = []
    for path in PACKAGE_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            stale += [
                f"{module_name(path)} imports {n} (now {rlkit.MOVED[n]})"
                for n in names
                if n.startswith("rlkit") and n not in modules and n in rlkit.MOVED
            ]
    assert not stale, "\n".join(stale)


def test_no_import_cycle_among_rlkit_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_moved_modules_import_from_their_old_paths_as_the_same_module():
    import importlib

    for old, new in rlkit.MOVED.items():
        assert not (PACKAGE_DIR.parent / (old.replace(".", "/") + ".py")).exists(), old
        assert importlib.import_module(old) is importlib.import_module(new), old


# A module a reader can hold in view: the longest today is 400 lines (rlkit/atari.py).
MAX_MODULE_LINES = 400


def test_no_module_is_over_400_lines():
    long = {
        str(p.relative_to(PACKAGE_DIR.parent)): n
        for p in PACKAGE_DIR.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"split these modules (lines): {long}"


def test_algorithms_folder_lists_the_algorithms_and_two_subfolders():
    entries = {p.name for p in (PACKAGE_DIR / "algorithms").iterdir() if p.name != "__pycache__"}
    folders = {name for name in entries if not name.endswith(".py")}
    assert folders == {"common", "config"}  # the base's parts; the config tables
    assert {"pg.py", "a2c.py", "ppo.py", "dqn.py", "bc.py", "base.py"} <= entries
