"""Writing the course: an nbgrader course folder, or Otter Assign (v1) master notebooks.

Both start from the same transformed notebook: each answer cell holds one graded function,
with the solution between solution markers, and each graded function gets graded cells after
its practice check (the practice check stays, so students keep their feedback).

nbgrader: ``OUT/nbgrader_config.py`` and ``OUT/source/<assignment>/<assignment>.ipynb``; the
answer cell is an "Autograded answer" (``### BEGIN SOLUTION``), the graded cell "Autograded
tests" with its points and the cases between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN
TESTS``.

Otter: ``OUT/<assignment>/<assignment>.ipynb``, a master notebook with an ``ASSIGNMENT CONFIG``
cell and, per function, a question (``BEGIN QUESTION`` .. ``END QUESTION``) whose hidden,
exception-based tests are one per graded case (points per case from the weights; the question
is ``all_or_nothing`` unless the check has weights).
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

from rlkit.grading.course import Assignment, Question

FORMATS = ("nbgrader", "otter")


def _split_answer_cells(cells: list, names: set[str]) -> list:
    """Cells with one top-level ``def`` per graded function (a cell of several is split)."""
    out = []
    for cell in cells:
        defs = _defs(cell, names)
        if len(defs) <= 1:
            out.append(cell)
            continue
        lines = cell.source.splitlines()
        starts = [0] + [node.lineno - 1 for node in defs[1:]] + [len(lines)]
        for a, b in zip(starts, starts[1:]):
            out.append(new_code_cell("\n".join(lines[a:b]).strip("\n")))
    return out


def _defs(cell, names: set[str]) -> list[ast.FunctionDef]:
    if cell.cell_type != "code" or "def " not in cell.source:
        return []
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:
        return []
    return [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in names]


def fill_solution(
    source: str, question: Question, begin: str, end: str, prompt: bool = False
) -> str:
    """The stub's body replaced by ``begin``, the solution's body and ``end``.

    With ``prompt`` (Otter), the stub's own body is kept first as Otter's prompt block, so the
    student notebook shows the stub (``raise NotImplementedError``) rather than ``...``.
    """
    (node,) = [
        n
        for n in ast.parse(source).body
        if isinstance(n, ast.FunctionDef) and n.name == question.name
    ]
    first = node.body[0]
    has_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    start = first.end_lineno if has_doc else node.lineno
    lines = source.splitlines()
    filled = [f"    {begin}", *question.solution, f"    {end}"]
    if prompt:
        stub = lines[start : node.end_lineno]
        filled = ['    """ # BEGIN PROMPT', *stub, '    """ # END PROMPT', *filled]
    return "\n".join(lines[:start] + filled + lines[node.end_lineno :])


def _practice_cell_index(cells: list, answer: int, name: str, names: set[str]) -> int:
    """Where the graded cell goes: after the practice check of ``name``.

    Else after the first code cell past all answer cells (the capstone's check cell), else
    right after the answer cell itself.
    """
    for i in range(answer + 1, len(cells)):
        if cells[i].cell_type == "code" and f"check_{name}(" in cells[i].source:
            return i
    for i in range(answer + 1, len(cells)):
        if cells[i].cell_type == "code" and not _defs(cells[i], names):
            return i
    return answer


def _placed(assignment: Assignment) -> tuple[list, dict[str, int], dict[int, list[Question]]]:
    """(cells, answer cell index per question, questions graded after each cell index)."""
    questions = {q.name: q for q in assignment.questions}
    cells = _split_answer_cells(list(assignment.notebook.cells), set(questions))
    answers, after = {}, {}
    for i, cell in enumerate(cells):
        for node in _defs(cell, set(questions)):
            answers[node.name] = i
    missing = sorted(set(questions) - set(answers))
    if missing:
        raise ValueError(f"{assignment.name}.ipynb has no stub cell defining {missing}")
    for name, i in answers.items():
        where = _practice_cell_index(cells, i, name, set(questions))
        after.setdefault(where, []).append(questions[name])
    return cells, answers, after


def _cases_literal(cases: list[str]) -> str:
    return "[\n" + "".join(f"        {c!r},\n" for c in cases) + "    ]"


def nbgrader_test_source(question: Question, seconds: float) -> str:
    """The graded cell: a visible heading and the hidden call of ``graded_check``."""
    kind = "all or nothing" if question.weights is None else "partial credit by case"
    weights = "" if question.weights is None else f"    weights={list(question.weights)},\n"
    return (
        f"# Graded: {question.name}, {question.points:g} points ({kind}), checked on hidden "
        f"cases when the assignment is graded.\n"
        "### BEGIN HIDDEN TESTS\n"
        "from rlkit.grading import graded_check\n\n"
        f"graded_check(\n    {question.name!r},\n    {question.name},\n"
        f"    {_cases_literal(question.cases)},\n"
        f"    points={question.points:g},\n{weights}    seconds={seconds:g},\n)\n"
        "### END HIDDEN TESTS"
    )


def _nbgrader_meta(grade_id: str, *, solution: bool, points: float | None) -> dict:
    meta = {
        "grade": points is not None,
        "grade_id": grade_id,
        "locked": points is not None,
        "schema_version": 3,
        "solution": solution,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def nbgrader_notebook(assignment: Assignment, seconds: float) -> nbformat.NotebookNode:
    """The nbgrader source notebook of one assignment."""
    cells, answers, after = _placed(assignment)
    by_cell = {i: name for name, i in answers.items()}
    out = []
    for i, cell in enumerate(cells):
        cell = nbformat.from_dict(dict(cell))
        if i in by_cell:
            question = next(q for q in assignment.questions if q.name == by_cell[i])
            cell.source = fill_solution(
                cell.source, question, "### BEGIN SOLUTION", "### END SOLUTION"
            )
            cell.metadata.update(
                _nbgrader_meta(f"answer_{question.name}", solution=True, points=None)
            )
        out.append(cell)
        for question in after.get(i, []):
            test = new_code_cell(nbgrader_test_source(question, seconds))
            test.metadata.update(
                _nbgrader_meta(f"graded_{question.name}", solution=False, points=question.points)
            )
            out.append(test)
    return _notebook(assignment, out)


def _notebook(assignment: Assignment, cells: list) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(metadata=dict(assignment.notebook.metadata), cells=cells)
    for cell in nb.cells:  # a release starts with no outputs
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.validate(nb)
    return nb


NBGRADER_CONFIG = '''\
"""nbgrader configuration of the rlkit course (written by python -m rlkit grading build)."""

c = get_config()  # noqa: F821 (nbgrader provides it)
c.CourseDirectory.course_id = "rlkit"
c.CourseDirectory.assignment_id = ""
# A cell that runs longer than this is stopped (0 points for a graded cell). The graded
# checks stop an endless loop inside a student's function on their own after {seconds:g} s a case.
c.Execute.timeout = {timeout}
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
'''


def write_nbgrader(
    assignments: list[Assignment], out: Path, seconds: float, timeout: int
) -> list[Path]:
    """Write ``out/nbgrader_config.py`` and ``out/source/<a>/<a>.ipynb``; returns the paths."""
    written = [out / "nbgrader_config.py"]
    out.mkdir(parents=True, exist_ok=True)
    written[0].write_text(NBGRADER_CONFIG.format(seconds=seconds, timeout=timeout))
    for assignment in assignments:
        path = out / "source" / assignment.name / f"{assignment.name}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nbgrader_notebook(assignment, seconds), path)
        written.append(path)
    return written
