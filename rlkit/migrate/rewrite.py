"""Rewrite an RLlib-era script for rlkit with libcst (comments and layout are kept).

What it does, from ``rlkit.migrate.table``: ``from ray... import X`` and ``import ray... as m``
become rlkit imports (a renamed class is renamed where the script uses it); ``ray.init()`` /
``ray.shutdown()`` and an unused ``import ray`` go; ``.compute_action(`` becomes
``.compute_single_action(``; old env ids and ``framework: "tf"`` are updated. What it cannot
map (a name with no rlkit counterpart, a config key rlkit does not take, other ``ray`` uses)
is left as it is and reported with its line number.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from rlkit.migrate.nodes import (
    DropUnusedRay,
    RayUses,
    advice,
    config_assignment,
    dict_key,
    dotted,
    is_gym,
    is_ray_lifecycle,
    to_expr,
    unported_line,
    without_ray_lifecycle,
)
from rlkit.migrate.table import (
    BUILDER_METHODS,
    CONFIG_VALUES,
    METHODS,
    REMOVABLE_KEYS,
    RLLIB_CONFIG_KEYS,
    TUNE_NOTE,
    VALUES,
    lookup,
)

STAND_IN = "kept as a stand-in: using it raises rlkit's RLlibNameError"
# A dict literal with one of these keys is taken for a trainer config and its keys checked.
CONFIG_MARKERS = {"model", "env_config", "lr", "framework", "num_workers", "gamma", "num_gpus"}


@dataclass
class Report:
    """What a migration did and what it left to the user (``line: message``)."""

    rewrites: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The report as lines of text, the things to do by hand last."""
        lines = [f"{len(self.rewrites)} rewrite(s)"]
        lines += [f"  {r}" for r in self.rewrites]
        if self.unmapped:
            lines.append(f"{len(self.unmapped)} thing(s) to do by hand:")
            lines += [f"  {u}" for u in self.unmapped]
        else:
            lines.append("nothing left to do by hand")
        return "\n".join(lines)


def known_config_keys() -> tuple[set[str], set[str]]:
    """(trainer config keys rlkit takes, model config keys)."""
    from rlkit.algorithms import ALGORITHMS
    from rlkit.algorithms.algorithm_config import RENAMES
    from rlkit.algorithms.base import full_default_config
    from rlkit.algorithms.config.rllib_keys import ALIASES, FIXED
    from rlkit.utils.config import MODEL_DEFAULTS

    keys = set(RLLIB_CONFIG_KEYS) | set(ALIASES) | set(FIXED) | set(RENAMES)
    for algorithm in ALGORITHMS.values():
        keys |= set(full_default_config(algorithm))
    return keys, set(MODEL_DEFAULTS)


class Migrator(cst.CSTTransformer):
    """The rewrite (see the module docstring); ``report`` collects what it did and left."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self) -> None:
        super().__init__()
        self.table = lookup()
        self.renames: dict[str, str] = {}
        self.imported_unported = False
        self.report = Report()
        self.config_keys, self.model_keys = known_config_keys()

    def _line(self, node: cst.CSTNode) -> int:
        return self.get_metadata(PositionProvider, node).start.line

    def _did(self, node: cst.CSTNode, what: str) -> None:
        self.report.rewrites.append(f"line {self._line(node)}: {what}")

    def _left(self, node: cst.CSTNode, what: str) -> None:
        self.report.unmapped.append(f"line {self._line(node)}: {what}")

    # -- imports ------------------------------------------------------------------------------
    def leave_SimpleStatementLine(self, original, updated):
        """Rewrite ray imports; drop ray.init() / ray.shutdown() and removable config keys."""
        if len(updated.body) != 1:
            return updated
        stmt, orig = updated.body[0], original.body[0]
        key = config_assignment(stmt) if isinstance(stmt, cst.Assign) else None
        if key in REMOVABLE_KEYS:
            self._did(orig, f"removed config['{key}'] = ... ({REMOVABLE_KEYS[key]})")
            return cst.RemoveFromParent()
        if isinstance(stmt, cst.ImportFrom):
            return self._import_from(orig, stmt, updated)
        if isinstance(stmt, cst.Import):
            return self._import(orig, stmt, updated)
        if is_ray_lifecycle(updated):
            self._did(orig, f"removed {dotted(stmt.value.func)}()")
        return updated

    def leave_Module(self, original, updated):
        """Drop ``ray.init()`` / ``ray.shutdown()``, keeping the blank lines around them."""
        return updated.with_changes(body=without_ray_lifecycle(updated.body))

    def leave_IndentedBlock(self, original, updated):
        """The same inside functions and blocks (an emptied block gets ``pass``)."""
        body = without_ray_lifecycle(updated.body)
        return updated.with_changes(body=body or [cst.SimpleStatementLine([cst.Pass()])])

    def _import_from(self, orig, stmt: cst.ImportFrom, line):
        module = dotted(stmt.module)
        if not stmt.relative and is_gym(module):
            new_module = "gymnasium" + module[len("gym") :]
            self._did(orig, f"from {module} import -> from {new_module} import")
            return line.with_changes(body=[stmt.with_changes(module=to_expr(new_module))])
        if stmt.relative or not (module == "ray" or module.startswith("ray.")):
            return line
        if isinstance(stmt.names, cst.ImportStar):
            self._left(orig, f"from {module} import *: import the names you use")
            return line
        groups: dict[str, list[cst.ImportAlias]] = {}
        kept: list[cst.SimpleStatementLine] = []
        for alias in stmt.names:
            name = dotted(alias.name)
            new, note = self.table.get(f"{module}.{name}", (None, "no rlkit counterpart"))
            if new is None:
                self._left(orig, f"{module}.{name}: {note} ({STAND_IN})")
                bound = alias.asname.name.value if alias.asname else name
                kept.append(unported_line(bound, f"{module}.{name}", note, self._line(orig)))
                continue
            new_module, new_name = new.rsplit(".", 1)
            if alias.asname is None and new_name != name:
                self.renames[name] = new_name
            groups.setdefault(new_module, []).append(
                cst.ImportAlias(name=cst.Name(new_name), asname=alias.asname)
            )
            self._did(orig, f"{module}.{name} -> {new}")
        lines = [
            line.with_changes(body=[cst.ImportFrom(module=to_expr(m), names=names)])
            for m, names in groups.items()
        ]
        if kept:
            kept = [*self._unported_import(), *kept]
            kept[0] = kept[0].with_changes(leading_lines=line.leading_lines if not lines else [])
            lines += kept
        return cst.FlattenSentinel(lines) if lines else cst.RemoveFromParent()

    def _import(self, orig, stmt: cst.Import, line):
        names, stand_ins = [], []
        for alias in stmt.names:
            path = dotted(alias.name)
            new, note = self.table.get(path, (None, ""))
            if is_gym(path):
                bound = alias.asname.name if alias.asname else cst.Name(path.split(".")[0])
                names.append(cst.ImportAlias(to_expr("gymnasium"), asname=cst.AsName(bound)))
                self._did(orig, f"import {path} -> import gymnasium as {bound.value}")
                continue
            if new and alias.asname is not None:
                names.append(alias.with_changes(name=to_expr(new)))
                self._did(orig, f"import {path} -> import {new}")
                continue
            if path.startswith("ray.") or (new is None and note):
                hint = note or "no rlkit counterpart"
                if alias.asname is not None:
                    self._left(
                        orig, f"import {path}: {hint} ({STAND_IN})"
                    )  # `import ray.x as m`: m becomes a stand-in
                    bound = alias.asname.name.value
                    stand_ins.append(unported_line(bound, path, hint, self._line(orig)))
                    continue
                self._left(orig, f"import {path}: {hint}; use 'from rlkit... import' names")
            names.append(alias)
        names = [n.with_changes(comma=cst.MaybeSentinel.DEFAULT) for n in names]
        lines = [line.with_changes(body=[stmt.with_changes(names=names)])] if names else []
        if stand_ins:
            lines += [*self._unported_import(), *stand_ins]
        return cst.FlattenSentinel(lines) if lines else cst.RemoveFromParent()

    def _unported_import(self) -> list[cst.SimpleStatementLine]:
        """The import of ``unported``, the first time a stand-in needs it."""
        if self.imported_unported:
            return []
        self.imported_unported = True
        return [cst.parse_statement("from rlkit.migrate.compat import unported\n")]

    # -- names, methods, values ---------------------------------------------------------------
    def leave_Name(self, original, updated):
        """Rename a use of a class whose import was renamed (TorchModelV2 -> Model)."""
        new = self.renames.get(updated.value)
        return updated.with_changes(value=new) if new else updated

    def leave_Call(self, original, updated):
        """Rename RLlib methods; check builder calls' keys; report Tune calls."""
        func = updated.func
        if isinstance(func, cst.Attribute) and func.attr.value in BUILDER_METHODS:
            return self._builder_call(original, updated)
        if isinstance(func, cst.Attribute) and func.attr.value in METHODS:
            new = METHODS[func.attr.value]
            self._did(original, f".{func.attr.value}() -> .{new}()")
            return updated.with_changes(func=func.with_changes(attr=cst.Name(new)))
        if dotted(func) == "tune.run" or dotted(func).startswith("ray.tune"):
            self._left(original, f"{dotted(func)}: {TUNE_NOTE}")
        return updated

    def leave_SimpleString(self, original, updated):
        """Update old env ids ("CartPole-v0" -> "CartPole-v1")."""
        value = updated.evaluated_value
        if isinstance(value, str) and value in VALUES:
            quote = updated.value[-1]
            self._did(original, f'"{value}" -> "{VALUES[value]}"')
            return updated.with_changes(value=f"{quote}{VALUES[value]}{quote}")
        return updated

    def _builder_call(self, original, updated):
        """``.training(lr=..., log_level=...)``: drop REMOVABLE_KEYS, report unknown keys."""
        kept = []
        for orig, arg in zip(original.args, updated.args):
            name = arg.keyword.value if arg.keyword is not None else None
            if name in REMOVABLE_KEYS:
                self._did(orig, f"removed {name}=... ({REMOVABLE_KEYS[name]})")
                continue
            if name is not None and name not in self.config_keys and name != "env":
                self._left(orig, f"config key '{name}': {advice(name)}")
            kept.append(arg)
        if kept:
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(args=kept)

    # -- config dicts -------------------------------------------------------------------------
    def leave_Dict(self, original, updated):
        """Check a trainer config literal's keys; update framework values."""
        keys = {dict_key(e): e for e in updated.elements if dict_key(e) is not None}
        if not (CONFIG_MARKERS & set(keys)):
            return updated
        elements = []
        for element in updated.elements:
            key = dict_key(element)
            if key in REMOVABLE_KEYS:
                self._did(original, f"removed config key '{key}' ({REMOVABLE_KEYS[key]})")
                continue
            if key is not None and key not in self.config_keys:
                self._left(original, f"config key '{key}': {advice(key)}")
            elements.append(element)
        if elements and len(elements) < len(updated.elements):
            last = elements[-1]
            elements[-1] = last.with_changes(comma=updated.elements[-1].comma)
        updated = updated.with_changes(elements=elements)
        model = keys.get("model")
        if model is not None and isinstance(model.value, cst.Dict):
            for key in filter(None, map(dict_key, model.value.elements)):
                if key not in self.model_keys:
                    self._left(original, f"model config key '{key}': rlkit does not take it")
        return updated.with_changes(elements=[self._config_value(e) for e in updated.elements])

    def _config_value(self, element):
        key = dict_key(element)
        value = getattr(element, "value", None)
        if key in CONFIG_VALUES and isinstance(value, cst.SimpleString):
            new = CONFIG_VALUES[key].get(value.evaluated_value)
            if new:
                self.report.rewrites.append(f"config {key}: {value.evaluated_value} -> {new}")
                return element.with_changes(value=cst.SimpleString(f'"{new}"'))
        return element

    def leave_Assign(self, original, updated):
        """Check ``config["key"] = ...`` assignments' keys."""
        key = config_assignment(updated)
        if key is not None and key not in self.config_keys and key not in REMOVABLE_KEYS:
            self._left(original, f"config key '{key}': {advice(key)}")
        return updated


def migrate_source(source: str) -> tuple[str, Report]:
    """Rewrite one script's source; returns (new source, report).

    Raises:
        SyntaxError: the source does not parse (``lineno``, ``offset`` and one-line ``msg``).
    """
    migrator = Migrator()
    ast.parse(source)  # a SyntaxError with Python's own one-line message and position
    tree = cst.parse_module(source)
    module = MetadataWrapper(tree).visit(migrator)
    uses = RayUses()
    module.visit(uses)
    imports = sum(
        1
        for line in module.body
        if isinstance(line, cst.SimpleStatementLine)
        and isinstance(line.body[0], cst.Import)
        and [dotted(a.name) for a in line.body[0].names] == ["ray"]
    )
    module = module.visit(DropUnusedRay(used=uses.count > imports))
    return module.code, migrator.report
