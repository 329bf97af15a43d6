"""What a graded cell of a release notebook runs: the hidden cases, quietly, with a time limit.

nbgrader (one test cell per check)::

    graded_check("gae", gae, CASES, points=10)                  # all or nothing
    graded_check("gae", gae, CASES, points=10, weights=[1, 2])  # partial credit: a number

All or nothing (the default): when every case passes the cell prints the verdict and shows no
value, so nbgrader gives the cell's points; otherwise it raises ``GradedCheckFailed`` naming the
first failing case, what differs and the hint, and nbgrader gives 0. With ``weights`` the cell's
value is ``points * passed weight / total weight``, which nbgrader records as partial credit.

Otter (one test per case, in an exception-based test file)::

    graded_case("gae", gae, CASE)      # raises GradedCheckFailed when the case fails

The student's function runs as the practice check runs it (fresh copies of the inputs, the same
seed, gradients where the exercise says they must flow), but ``quietly`` (its warnings, prints
and stderr never reach the cell: nbgrader zeroes a cell that wrote to stderr) and with a time
limit per case (an endless loop fails that case instead of stalling the grader).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from rlkit.exercises.checking import Exercise, run_case
from rlkit.exercises.limits import quietly
from rlkit.grading.spec import unpack_case

GRADED_SECONDS = 10.0


class GradedCheckFailed(AssertionError):
    """A graded check found a wrong answer (the cell's error: 0 points for that cell)."""


def _exercise(name: str) -> Exercise:
    from rlkit.exercises import EXERCISES

    if name not in EXERCISES:
        raise ValueError(
            f"no exercise named {name!r} in this rlkit ({', '.join(EXERCISES)}); the release "
            f"was built for another version: rebuild it with python -m rlkit grading build"
        )
    return EXERCISES[name]


def _judge_cases(
    name: str, student_fn: Any, cases: Sequence[str], seconds: float | None
) -> list[tuple[str, str | None]]:
    """(label, problem or None) for each case; after a timeout the rest are not run."""
    exercise = _exercise(name)
    results: list[tuple[str, str | None]] = []
    if not callable(student_fn):
        problem = f"{name} is {type(student_fn).__name__}, not a function"
        return [(unpack_case(text)[0].label, problem) for text in cases]
    stopped = False
    for text in cases:
        case, answer = unpack_case(text)
        if stopped:
            results.append((case.label, "not run: an earlier case did not return in time"))
            continue
        one = dataclasses.replace(exercise, cases=[case])
        with quietly():
            problem = run_case(one, student_fn, case, answer, seconds)
        stopped = problem is not None and problem.startswith("stopped after")
        results.append((case.label, problem))
    return results


def graded_check(
    name: str,
    student_fn: Any,
    cases: Sequence[str],
    points: float,
    weights: Sequence[float] | None = None,
    seconds: float | None = GRADED_SECONDS,
) -> float | None:
    """Grade ``student_fn`` on the hidden cases (an nbgrader test cell's last line).

    Args:
        name: the exercise function's name.
        student_fn: the student's function.
        cases: the packed cases (``rlkit.grading.spec.pack_case``).
        points: the cell's points.
        weights: per-case weights for partial credit; None: all or nothing.
        seconds: time limit per case.

    Returns:
        None when all or nothing and every case passed (the cell scores its points); with
        weights, the points earned (the cell's value, which nbgrader reads as partial credit).

    Raises:
        GradedCheckFailed: all or nothing, and a case failed.
    """
    results = _judge_cases(name, student_fn, cases, seconds)
    failed = [(i, label, problem) for i, (label, problem) in enumerate(results, 1) if problem]
    total = len(results)
    if weights is None:
        if failed:
            number, label, problem = failed[0]
            raise GradedCheckFailed(
                f"✗ {name}: graded case {number} of {total} ({label}) fails:\n  {problem}\n"
                f"  0/{points:g} points: this check is all or nothing; "
                f"{total - len(failed)} of {total} graded cases pass."
            )
        print(f"✓ {name}: all {total} graded cases pass: {points:g}/{points:g} points.")
        return None
    earned = _weighted(points, weights, [problem is None for _, problem in results])
    print(f"{name}: {earned:g}/{points:g} points ({total - len(failed)} of {total} graded cases).")
    for number, label, problem in failed:
        print(f"  ✗ case {number} ({label}), weight {weights[number - 1]:g}: {problem}")
    return earned


def _weighted(points: float, weights: Sequence[float], passed: Sequence[bool]) -> float:
    if len(weights) != len(passed):
        raise ValueError(f"{len(weights)} weights for {len(passed)} graded cases")
    share = sum(w for w, ok in zip(weights, passed) if ok) / sum(weights)
    return round(points * share, 4)


def graded_case(
    name: str, student_fn: Any, case: str, seconds: float | None = GRADED_SECONDS
) -> None:
    """Grade one hidden case (an Otter test function's body).

    Raises:
        GradedCheckFailed: naming what differs, with the hint.
    """
    ((label, problem),) = _judge_cases(name, student_fn, [case], seconds)
    if problem is not None:
        raise GradedCheckFailed(f"✗ {name}, graded case ({label}):\n  {problem}")
