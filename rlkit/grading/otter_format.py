"""Otter Assign (v1 format) master notebooks, from the same course as the nbgrader release.

Each graded function becomes a question::

    # BEGIN QUESTION            (raw: name, points, all_or_nothing)
    # BEGIN SOLUTION            (raw)
    def gae(...):  ...  # BEGIN SOLUTION / # END SOLUTION inside
    # END SOLUTION              (raw)
    # BEGIN TESTS               (raw)
    one hidden exception-based test per graded case (points from the weights)
    # END TESTS                 (raw)
    # END QUESTION              (raw)

``otter assign master.ipynb dist`` then writes the student notebook (``dist/student``) and the
autograder zip (``dist/autograder``) that ``otter run`` and Gradescope grade with.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_raw_cell

from rlkit.grading.course import Assignment, Question
from rlkit.grading.formats import _notebook, _placed, fill_solution


def assignment_config(assignment: Assignment) -> str:
    """The ``# ASSIGNMENT CONFIG`` cell: exception-based tests, no PDFs, no otter cells."""
    return (
        "# ASSIGNMENT CONFIG\n"
        f"name: {assignment.name}\n"
        "init_cell: false\n"
        "check_all_cell: false\n"
        "export_cell: false\n"
        "solutions_pdf: false\n"
        "template_pdf: false\n"
        "run_tests: false\n"
        "generate:\n"
        "  pdf: false\n"
        "tests:\n"
        "  ok_format: false\n"
    )


def _case_points(question: Question) -> list[float]:
    n = len(question.cases)
    weights = question.weights or (1.0,) * n
    return [round(question.points * w / sum(weights), 4) for w in weights]


def otter_test_source(question: Question, number: int, case: str, points: float, seconds: float):
    """One hidden, exception-based test of one graded case."""
    return (
        '""" # BEGIN TEST CONFIG\n'
        f"points: {points:g}\n"
        "hidden: true\n"
        '""" # END TEST CONFIG\n'
        f"def test_{question.name}_case_{number}({question.name}):\n"
        "    from rlkit.grading import graded_case\n\n"
        f"    case = {case!r}\n"
        f"    graded_case({question.name!r}, {question.name}, case, seconds={seconds:g})"
    )


def _question_cells(question: Question, answer_cell, seconds: float) -> list:
    config = (
        f"# BEGIN QUESTION\nname: {question.name}\npoints: {question.points:g}\n"
        f"all_or_nothing: {'true' if question.weights is None else 'false'}\n"
        "check_cell: false"
    )
    answer = nbformat.from_dict(dict(answer_cell))
    answer.source = fill_solution(
        answer.source, question, "# BEGIN SOLUTION NO PROMPT", "# END SOLUTION", prompt=True
    )
    tests = [
        new_code_cell(otter_test_source(question, n, case, pts, seconds))
        for n, (case, pts) in enumerate(zip(question.cases, _case_points(question)), start=1)
    ]
    return [
        new_raw_cell(config),
        new_raw_cell("# BEGIN SOLUTION"),
        answer,
        new_raw_cell("# END SOLUTION"),
        new_raw_cell("# BEGIN TESTS"),
        *tests,
        new_raw_cell("# END TESTS"),
        new_raw_cell("# END QUESTION"),
    ]


def otter_notebook(assignment: Assignment, seconds: float) -> nbformat.NotebookNode:
    """The Otter Assign master notebook of one assignment."""
    cells, answers, _ = _placed(assignment)
    by_cell = {i: name for name, i in answers.items()}
    out = [new_raw_cell(assignment_config(assignment))]
    for i, cell in enumerate(cells):
        if i in by_cell:
            question = next(q for q in assignment.questions if q.name == by_cell[i])
            out.extend(_question_cells(question, cell, seconds))
        else:
            out.append(nbformat.from_dict(dict(cell)))
    return _notebook(assignment, out)


def write_otter(assignments: list[Assignment], out: Path, seconds: float) -> list[Path]:
    """Write ``out/<a>/<a>.ipynb`` master notebooks; returns the paths."""
    written = []
    for assignment in assignments:
        path = out / assignment.name / f"{assignment.name}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(otter_notebook(assignment, seconds), path)
        written.append(path)
    return written
