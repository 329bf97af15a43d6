"""The libcst node helpers of ``rlkit.migrate.rewrite``: dotted names, config keys, ray lines.

Pure functions of nodes (and two small visitors); the rewrite itself is in ``rewrite.py``.
"""

from __future__ import annotations

import libcst as cst


def dotted(node: cst.BaseExpression | None) -> str:
    """``a.b.c`` of a Name / Attribute node ("" for anything else)."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted(node.value)
        return f"{head}.{node.attr.value}" if head else ""
    return ""


def to_expr(path: str) -> cst.BaseExpression:
    """``"a.b.c"`` -> the Attribute node for it."""
    expr: cst.BaseExpression = cst.Name(path.split(".")[0])
    for part in path.split(".")[1:]:
        expr = cst.Attribute(value=expr, attr=cst.Name(part))
    return expr


def is_gym(module: str) -> bool:
    """``gym`` or ``gym.<sub>``: the package before gymnasium."""
    return module == "gym" or module.startswith("gym.")


def unported_line(bound: str, rllib_name: str, note: str, line: int) -> cst.SimpleStatementLine:
    """``bound = unported("ray...", "note", line=N)``: a stand-in that raises when used."""
    call = f"{bound} = unported({rllib_name!r}, {note!r}, line={line})\n"
    return cst.parse_statement(call)


def is_ray_lifecycle(line: cst.CSTNode) -> bool:
    """True for a line that is just ``ray.init(...)`` or ``ray.shutdown()``."""
    if not (isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1):
        return False
    stmt = line.body[0]
    return isinstance(stmt, cst.Expr) and dotted(getattr(stmt.value, "func", None)) in (
        "ray.init",
        "ray.shutdown",
    )


def without_ray_lifecycle(body) -> list:
    """Return ``body`` less its ray.init / ray.shutdown lines.

    Their leading blank lines and comments move to the next statement, so the layout stays.
    """
    out, carried = [], []
    for line in body:
        if is_ray_lifecycle(line):
            carried += list(line.leading_lines)
            continue
        if carried and hasattr(line, "leading_lines"):
            line = line.with_changes(leading_lines=[*carried, *line.leading_lines])
            carried = []
        out.append(line)
    return out


def advice(key: str) -> str:
    """What rlkit says about an RLlib config key it does not take."""
    from rlkit.algorithms.config.rllib_keys import rllib_advice

    return rllib_advice(key) or "rlkit does not take it (docs/CONFIG.md lists every key)"


def config_assignment(stmt: cst.Assign) -> str | None:
    """The key of ``config["key"] = ...`` (None for any other assignment)."""
    for target in stmt.targets:
        t = target.target
        if isinstance(t, cst.Subscript) and dotted(t.value) == "config":
            return subscript_key(t)
    return None


def dict_key(element) -> str | None:
    """The string key of a ``{"key": value}`` element (None for any other key)."""
    if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
        value = element.key.evaluated_value
        return value if isinstance(value, str) else None
    return None


def subscript_key(node: cst.Subscript) -> str | None:
    """The string of ``x["key"]`` (None for any other subscript)."""
    if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        value = node.slice[0].slice.value
        if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
            return value.evaluated_value
    return None


class DropUnusedRay(cst.CSTTransformer):
    """Remove ``import ray`` when nothing else in the module says ``ray``."""

    def __init__(self, used: bool) -> None:
        super().__init__()
        self.used = used

    def leave_SimpleStatementLine(self, original, updated):
        """Drop an ``import ray`` line when nothing else uses ray."""
        stmt = updated.body[0] if len(updated.body) == 1 else None
        if (
            not self.used
            and isinstance(stmt, cst.Import)
            and [dotted(a.name) for a in stmt.names] == ["ray"]
        ):
            return cst.RemoveFromParent()
        return updated


class RayUses(cst.CSTVisitor):
    """Counts the names ``ray`` in a module (its imports included)."""

    def __init__(self) -> None:
        self.count = 0

    def visit_Name(self, node: cst.Name) -> None:
        """Count one more ``ray``."""
        self.count += node.value == "ray"
