"""Regenerate ``rlkit/exercises/expected.json``, the answers the checks compare with.

Runs every solution in ``exercise_solutions.py`` on every case of its exercise, exactly as a
check runs a student's function (fresh copies, the same seed, the same inputs requiring grad),
and stores the results and gradients as numbers. Run it after changing a case or a solution:

    .venv/bin/python solutions/make_expected.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from exercise_solutions import SOLUTIONS  # noqa: E402

from rlkit.exercises import EXERCISES  # noqa: E402
from rlkit.exercises.checking import call_on_case, gradients  # noqa: E402
from rlkit.exercises.stored import EXPECTED_PATH, encode  # noqa: E402


def record(name: str) -> dict:
    """{case label: {"result", "grads"}} for one exercise, from its solution."""
    exercise, fn = EXERCISES[name], SOLUTIONS[name]
    answers = {}
    for case in exercise.cases:
        result, inputs = call_on_case(exercise, fn, case)
        entry = {"result": encode(result)}
        if exercise.compare is not None:
            entry["result"].pop("data")  # sampled: judged by statistics, not by these draws
        if exercise.grad_args:
            entry["grads"] = [encode(g) for g in gradients(exercise, inputs, result)]
        answers[case.label] = entry
    return answers


def build() -> dict:
    """Every exercise's stored answers."""
    return {name: record(name) for name in EXERCISES}


def main() -> int:
    EXPECTED_PATH.write_text(json.dumps(build(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {EXPECTED_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
