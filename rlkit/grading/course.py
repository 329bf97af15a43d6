"""The course, read from one definition per exercise: notebook, solution and graded cases.

For every exercise function the course takes
- the student notebook (``notebooks/exercises/<ex>.ipynb``): its text, its stub, its practice
  check cell;
- the solution (``solutions/exercise_solutions.py``, ``SOLUTIONS[name]``): the body that goes
  between the solution markers;
- the graded check (``solutions/graded.py``, ``GRADED``): hidden cases, points, and weights
  when partial credit is wanted; the expected answers are computed here, from the solution,
  exactly as a check computes a student's.

``load_course`` gathers them into ``Assignment`` objects (one per notebook, the capstone
included) that ``rlkit.grading.formats`` writes as an nbgrader course or Otter master notebooks.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat

from rlkit.exercises.checking import call_on_case, gradients
from rlkit.grading.spec import GradedCheck, pack_case

CAPSTONE = "capstone_ppo"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Question:
    """One graded function of an assignment.

    Attributes:
        name: the function's name.
        solution: the solution's body (indented, without its ``def`` line and docstring).
        cases: the packed graded cases (JSON lines).
        points: what it is worth here.
        weights: per-case weights (None: all or nothing).
    """

    name: str
    solution: list[str]
    cases: list[str]
    points: float
    weights: tuple[float, ...] | None


@dataclass
class Assignment:
    """One notebook of the course, with the functions graded in it.

    Attributes:
        name: the notebook's stem, also the assignment's name.
        notebook: the student notebook, as read.
        questions: the graded functions, in the notebook's order.
    """

    name: str
    notebook: nbformat.NotebookNode
    questions: list[Question] = field(default_factory=list)


def default_dir(kind: str) -> Path:
    """``solutions`` or ``notebooks/exercises`` of the rlkit checkout (or the working folder)."""
    relative = Path("solutions") if kind == "solutions" else Path("notebooks", "exercises")
    for base in (Path.cwd(), ROOT):
        if (base / relative).is_dir():
            return base / relative
    return Path.cwd() / relative


def _import(path: Path) -> ModuleType:
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: building a graded course needs the teacher's solutions folder "
            f"of the rlkit repository (it is not installed with the package); pass "
            f"--solutions DIR"
        )
    spec = importlib.util.spec_from_file_location(f"_rlkit_course_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def solution_body(fn: Any) -> list[str]:
    """The lines of ``fn``'s body after its docstring, indented by four spaces."""
    source = textwrap.dedent(inspect.getsource(fn))
    node = ast.parse(source).body[0]
    body = node.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring stays the notebook's own
    lines = source.splitlines()[body[0].lineno - 1 : node.end_lineno]
    return [line.rstrip() for line in lines]


def pack_cases(check: GradedCheck, solution: Any) -> list[str]:
    """The graded cases with the solution's answers, as JSON lines."""
    from rlkit.exercises import EXERCISES

    exercise = EXERCISES[check.name]
    packed = []
    for case in check.cases:
        result, inputs = call_on_case(exercise, solution, case)
        grads = gradients(exercise, inputs, result) if exercise.grad_args else None
        packed.append(pack_case(case, result, grads, sampled=exercise.compare is not None))
    return packed


def load_course(
    solutions_dir: Path, notebooks_dir: Path, only: list[str] | None = None
) -> list[Assignment]:
    """Every assignment of the course (``only``: these notebook names).

    Raises:
        FileNotFoundError: a definition file or notebook is missing.
        ValueError: a graded check names an unknown exercise or lacks a solution.
    """
    from rlkit.exercises import EXERCISES

    solutions = _import(solutions_dir / "exercise_solutions.py").SOLUTIONS
    graded: list[GradedCheck] = _import(solutions_dir / "graded.py").GRADED
    by_notebook: dict[str, list[Question]] = {}
    for check in graded:
        if check.name not in EXERCISES or check.name not in solutions:
            raise ValueError(
                f"graded.py grades {check.name!r}, which is not an exercise with a solution "
                f"({', '.join(sorted(EXERCISES))})"
            )
        body, cases = solution_body(solutions[check.name]), pack_cases(check, solutions[check.name])
        stem = Path(EXERCISES[check.name].notebook).stem
        question = Question(check.name, body, cases, check.points, check.weights)
        by_notebook.setdefault(stem, []).append(question)
        if check.capstone_points > 0:
            capstone = Question(check.name, body, cases, check.capstone_points, check.weights)
            by_notebook.setdefault(CAPSTONE, []).append(capstone)
    names = sorted(by_notebook) if only is None else only
    unknown = [name for name in names if name not in by_notebook]
    if unknown:
        raise ValueError(f"no graded checks for {unknown}; the course has {sorted(by_notebook)}")
    assignments = []
    for name in names:
        path = notebooks_dir / f"{name}.ipynb"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found; pass --notebooks DIR (the exercises)")
        assignments.append(Assignment(name, nbformat.read(path, as_version=4), by_notebook[name]))
    return assignments
