"""The graded course under the real tools (the ``grading`` tier, needs the ``grading`` extra).

Builds the course with ``python -m rlkit grading build``, then, as a teacher would:
nbgrader: ``generate_assignment``, fixture submissions, ``autograde``, the gradebook's scores;
Otter: ``otter assign``, fixture submissions, ``otter run``, the results' scores. Every fixture
(tests/grading_submissions.py) must get its documented score: right -> full, right with a
warning -> full, each known wrong answer -> its score, untouched stub, syntax error and endless
loops -> 0, and no grader crash.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from grading_submissions import (
    EXPECTED,
    EXPECTED_PARTIAL,
    PARTIAL_WEIGHTS,
    SUBMISSIONS,
)

pytest.importorskip("nbgrader", reason="the grading tier needs the 'grading' extra")
pytest.importorskip("otter", reason="the grading tier needs the 'grading' extra")
pytestmark = pytest.mark.grading

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CASE_SECONDS, CELL_TIMEOUT = 5, 40


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # nbgrader runs `alembic`
    env["PYTHONPATH"] = str(ROOT)  # the kernels import this checkout's rlkit
    env["RLKIT_FAST"] = "1"  # the capstone trains with small budgets, as CI runs notebooks
    return env


def _run(args: list, cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    done = subprocess.run(
        args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _build(out: Path, fmt: str, only: list[str], solutions: Path = ROOT / "solutions") -> None:
    _run(
        [sys.executable, "-m", "rlkit", "grading", "build", "--format", fmt, str(out),
         "--only", ",".join(only), "--solutions", str(solutions),
         "--case-seconds", str(CASE_SECONDS), "--cell-timeout", str(CELL_TIMEOUT)],
        ROOT,
    )  # fmt: skip


def _answered(release: nbformat.NotebookNode, answers: dict, is_answer) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(release)
    for cell in nb.cells:
        name = is_answer(cell)
        if name in answers:
            cell.source = answers[name]
    return nb


def _nbgrader_answer(cell) -> str | None:
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
    return grade_id.removeprefix("answer_") if grade_id.startswith("answer_") else None


def _capstone_submissions() -> dict:
    path = ROOT / "solutions" / "exercise_solutions.py"
    spec = importlib.util.spec_from_file_location("_capstone_solutions", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names = ("one_hot", "running_mean_std", "categorical_logp", "categorical_entropy",
             "masked_logits", "gae", "ppo_clip_loss", "chop_sequences")  # fmt: skip
    return {"right": {n: inspect.getsource(module.SOLUTIONS[n]) for n in names}, "stub": {}}


def _nbgrader_course(course: Path, submissions: dict) -> dict:
    """Release, submit, autograde; returns {assignment: {student: score}}."""
    scores = {}
    for assignment, students in submissions.items():
        _run([str(BIN / "nbgrader"), "generate_assignment", assignment, "--create"], course)
        release = nbformat.read(course / "release" / assignment / f"{assignment}.ipynb", 4)
        for student, answers in students.items():
            folder = course / "submitted" / student / assignment
            folder.mkdir(parents=True)
            nbformat.write(
                _answered(release, answers, _nbgrader_answer), folder / f"{assignment}.ipynb"
            )
        timeout = 600 if assignment == "capstone_ppo" else CELL_TIMEOUT  # the capstone trains
        _run(
            [str(BIN / "nbgrader"), "autograde", assignment, "--create",
             f"--Execute.timeout={timeout}"],
            course,
        )  # fmt: skip
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for assignment, students in submissions.items():
            scores[assignment] = {
                s: gradebook.find_submission(assignment, s).score for s in students
            }
    return scores


@pytest.fixture(scope="module")
def nbgrader_scores(tmp_path_factory):
    course = tmp_path_factory.mktemp("nbgrader_course")
    submissions = {**SUBMISSIONS, "capstone_ppo": _capstone_submissions()}
    _build(course, "nbgrader", list(submissions))
    return _nbgrader_course(course, submissions)


@pytest.mark.parametrize(
    "assignment, student",
    [(a, s) for a, students in EXPECTED.items() for s in students],
)
def test_nbgrader_gradebook_gives_each_submission_its_documented_score(
    nbgrader_scores, assignment, student
):
    assert nbgrader_scores[assignment][student] == EXPECTED[assignment][student]


def test_nbgrader_grades_the_capstone_functions(nbgrader_scores):
    assert nbgrader_scores["capstone_ppo"] == {"right": 16, "stub": 0}


def test_nbgrader_partial_credit_follows_the_teachers_weights(tmp_path):
    solutions = tmp_path / "solutions"
    shutil.copytree(ROOT / "solutions", solutions, ignore=shutil.ignore_patterns("__pycache__"))
    with open(solutions / "graded.py", "a", encoding="utf-8") as f:
        f.write(
            "\n\nfor _check in GRADED:  # the test's teacher opts in to partial credit\n"
            f"    if _check.name == 'gae':\n        _check.weights = {PARTIAL_WEIGHTS}\n"
        )
    course = tmp_path / "course"
    _build(course, "nbgrader", ["ex05_gae"], solutions)
    students = {s: SUBMISSIONS["ex05_gae"][s] for s in EXPECTED_PARTIAL}
    scores = _nbgrader_course(course, {"ex05_gae": students})["ex05_gae"]
    assert scores == pytest.approx(EXPECTED_PARTIAL, abs=1e-3)


OTTER_STUDENTS = (
    "right", "right_but_warns", "no_lambda", "untouched_stub", "syntax_error", "endless_loop",
)  # fmt: skip


def _otter_answer(cell) -> str | None:
    return "gae" if "otter_answer_cell" in cell.metadata.get("tags", []) else None


@pytest.fixture(scope="module")
def otter_scores(tmp_path_factory):
    out = tmp_path_factory.mktemp("otter")
    _build(out, "otter", ["ex05_gae"])
    folder = out / "ex05_gae"
    _run([str(BIN / "otter"), "assign", "ex05_gae.ipynb", "dist"], folder)
    (zip_file,) = (folder / "dist" / "autograder").glob("*.zip")
    release = nbformat.read(folder / "dist" / "student" / "ex05_gae.ipynb", 4)
    assert "raise NotImplementedError" in "".join(c.source for c in release.cells)
    scores = {}
    for student in OTTER_STUDENTS:
        nb = _answered(release, SUBMISSIONS["ex05_gae"][student], _otter_answer)
        path = folder / "submissions" / f"{student}.ipynb"
        path.parent.mkdir(exist_ok=True)
        nbformat.write(nb, path)
        results = folder / "results" / student
        results.mkdir(parents=True)
        _run([str(BIN / "otter"), "run", "-a", str(zip_file), "-o", str(results), str(path)],
             folder)  # fmt: skip
        tests = json.loads((results / "results.json").read_text())["tests"]
        scores[student] = {t["name"]: t.get("score") for t in tests}
    return scores


@pytest.mark.parametrize("student", OTTER_STUDENTS)
def test_otter_run_gives_each_submission_its_documented_score(otter_scores, student):
    assert otter_scores[student]["gae"] == EXPECTED["ex05_gae"][student]
