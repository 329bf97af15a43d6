"""Graded releases of the exercises for nbgrader and Otter, built from one definition each.

    python -m rlkit grading build --format nbgrader course/   # an nbgrader course folder
    python -m rlkit grading build --format otter otter/       # Otter Assign master notebooks

Each exercise function has one definition: its student notebook (``notebooks/exercises``), its
solution (``solutions/exercise_solutions.py``) and its graded check (``solutions/graded.py``:
hidden cases, points, optional per-case weights). The build writes the solution between the
tools' solution markers and the hidden cases, with the solution's answers, into graded cells;
the installed package holds only the code those cells call (``graded_check`` for nbgrader,
``graded_case`` for Otter), never a case or an answer. docs/TEACHING.md ("Grade a class")
walks through a whole term.
"""

from rlkit.grading.runtime import GradedCheckFailed, graded_case, graded_check
from rlkit.grading.spec import GradedCheck

__all__ = ["GradedCheck", "GradedCheckFailed", "graded_case", "graded_check"]
