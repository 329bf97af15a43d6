"""``python -m rlkit grading build --format {nbgrader,otter} OUT``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rlkit.grading.runtime import GRADED_SECONDS


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The ``grading`` subcommand of ``python -m rlkit``."""
    grading = sub.add_parser("grading", help="build graded releases for nbgrader or Otter")
    actions = grading.add_subparsers(dest="grading_command", required=True)
    build = actions.add_parser("build", help="write an nbgrader course or Otter master notebooks")
    build.add_argument("out", help="the folder to write (created; files it holds are kept)")
    build.add_argument("--format", required=True, choices=("nbgrader", "otter"))
    build.add_argument("--solutions", default=None, help="the teacher's solutions/ folder")
    build.add_argument("--notebooks", default=None, help="the exercise notebooks' folder")
    build.add_argument(
        "--only", default=None, help="comma-separated assignments, e.g. ex05_gae,ex06_ppo_clip_loss"
    )
    build.add_argument(
        "--case-seconds",
        type=float,
        default=GRADED_SECONDS,
        help=f"time limit per graded case (default {GRADED_SECONDS:g})",
    )
    build.add_argument(
        "--cell-timeout",
        type=int,
        default=300,
        help="nbgrader's limit per cell in seconds (default 300: the capstone trains)",
    )


def run(args: argparse.Namespace) -> int:
    """Build the course; returns the exit status (2 with one line on a user error)."""
    from rlkit.grading.course import default_dir, load_course
    from rlkit.grading.formats import write_nbgrader
    from rlkit.grading.otter_format import write_otter

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"python -m rlkit grading build: {out} is a file; give a folder", file=sys.stderr)
        return 2
    if args.case_seconds <= 0 or args.cell_timeout <= 0:
        print("python -m rlkit grading build: time limits must be > 0", file=sys.stderr)
        return 2
    solutions = Path(args.solutions) if args.solutions else default_dir("solutions")
    notebooks = Path(args.notebooks) if args.notebooks else default_dir("notebooks")
    only = [name.strip() for name in args.only.split(",")] if args.only else None
    try:
        course = load_course(solutions, notebooks, only)
    except (FileNotFoundError, ValueError) as err:
        print(f"python -m rlkit grading build: {err}", file=sys.stderr)
        return 2
    if args.format == "nbgrader":
        written = write_nbgrader(course, out, args.case_seconds, args.cell_timeout)
    else:
        written = write_otter(course, out, args.case_seconds)
    points = sum(q.points for a in course for q in a.questions)
    print(
        f"wrote the {args.format} release of {len(course)} assignments "
        f"({sum(len(a.questions) for a in course)} graded checks, {points:g} points) to {out}:"
    )
    for path in written:
        print(f"  {path}")
    return 0
