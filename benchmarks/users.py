"""rlkit against SB3 as users run them: no thread settings, on a quiet and on a busy machine.

    .venv/bin/python benchmarks/run.py --users              # 3 seeds, 5 to solve, per condition
    .venv/bin/python benchmarks/run.py --users --seeds 1 --solve-seeds 1 --quick   # a smoke run

Nobody sets ``OMP_NUM_THREADS`` in a notebook, so no thread environment variable reaches either
library's process (the harness removes them) and neither worker calls ``set_num_threads``: SB3
runs with torch's defaults, rlkit with its own ``num_threads`` ("auto": one thread for these
MLPs, applied inside its calls). Each figure is measured twice: with the machine as it is
("quiet"), and with a neighbour process keeping one core busy ("busy"; the harness starts it,
and stops it by its PID when that condition's runs are done), which is a shared JupyterHub,
Binder or a laptop with a browser open. rlkit runs with its default engine (``"torch"``: the
code a student reads) and with the opt-in ``engine="numpy"`` twin, so the table shows both
against SB3.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from contextlib import contextmanager

LIBS = ("rlkit", "rlkit-numpy", "sb3")
CONDITIONS = ("quiet", "busy")
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


def users_env() -> dict[str, str]:
    """This process's environment without any thread-count variable."""
    return {k: v for k, v in os.environ.items() if k not in THREAD_VARS}


@contextmanager
def neighbour(condition: str):
    """For "busy", a process that keeps one core busy for the duration of the block."""
    if condition != "busy":
        yield None
        return
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(1.0)  # let it get scheduled before the first measurement
    try:
        yield proc.pid
    finally:
        proc.terminate()  # by its PID, through the Popen handle that started it
        proc.wait(timeout=10)


def worker_args(task: str, lib: str, *rest: str) -> tuple[str, ...]:
    """The worker.py arguments of one measurement of ``lib`` (rlkit-numpy: engine numpy)."""
    engine = ("--engine", "numpy") if lib == "rlkit-numpy" else ()
    name = "sb3" if lib == "sb3" else "rlkit"
    return (task, "--lib", name, *engine, *rest, "--users")


def plan(seeds: int, solve_seeds: int, quick: bool) -> list[tuple[str, tuple[str, ...]]]:
    """(lib, worker arguments) of every measurement, libraries rotating between seeds."""
    cleanrl_steps, zoo_steps = (10_000, 8_000) if quick else (40_000, 25_000)
    jobs = []
    for seed in range(max(seeds, solve_seeds)):
        k = seed % len(LIBS)
        libs = LIBS[k:] + LIBS[:k]
        s = str(seed)
        if seed < seeds:
            for hp, steps in (("cleanrl", cleanrl_steps), ("zoo", zoo_steps)):
                jobs += [(lib, worker_args("throughput", lib, "--hp", hp, "--seed", s,
                                           "--steps", str(steps))) for lib in libs]  # fmt: skip
            jobs += [(lib, worker_args("latency", lib)) for lib in libs]
        if seed < solve_seeds:
            jobs += [(lib, worker_args("solve", lib, "--hp", "zoo", "--seed", s,
                                       "--steps", "100000")) for lib in libs]  # fmt: skip
    return jobs


def run(seeds: int, solve_seeds: int, quick: bool, run_worker) -> list[dict]:
    """Every measurement in both conditions, quiet then busy for each job, so that load from
    other work falls on both alike; each row carries its lib and condition."""
    results = []
    jobs = plan(seeds, solve_seeds, quick)
    for i, (lib, args) in enumerate(jobs):
        for condition in CONDITIONS:
            print(f"[{i + 1}/{len(jobs)} {condition}] {' '.join(args)}", file=sys.stderr,
                  flush=True)  # fmt: skip
            with neighbour(condition):
                row = run_worker(*args, env=users_env())
            results.append({**row, "lib": lib, "condition": condition,
                            "load": os.getloadavg()[0]})  # fmt: skip
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)  # partial runs
    return results


def _median(values: list[float]) -> float:
    values = sorted(values)
    if not values:
        return math.nan
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def summarise(results: list[dict]) -> dict:
    """Medians per (figure, lib, condition): throughput_cleanrl, throughput_zoo, solve_s,
    solved, latency_us; unsolved seeds count as infinitely slow."""
    s: dict = {}
    for cond in CONDITIONS:
        for lib in LIBS:
            rows = [r for r in results if r["condition"] == cond and r["lib"] == lib]
            for hp in ("cleanrl", "zoo"):
                s[f"{lib}_{cond}_{hp}"] = _median(
                    [r["steps_per_s"] for r in rows if r["task"] == "throughput" and r["hp"] == hp]
                )
            solves = [r for r in rows if r["task"] == "solve"]
            s[f"{lib}_{cond}_solve_s"] = _median(
                [math.inf if r["solve_s"] is None else r["solve_s"] for r in solves]
            )
            s[f"{lib}_{cond}_solved"] = (
                sum(r["solved"] for r in solves) / len(solves) if solves else math.nan
            )
            s[f"{lib}_{cond}_latency_us"] = _median(
                [r["latency_us"] for r in rows if r["task"] == "latency"]
            )
    return s


def _ratio(a: float, b: float) -> float:
    return a / b if math.isfinite(a) and math.isfinite(b) and b else math.nan


def _times(ratio: float) -> str:
    return f"{ratio:.2f}x" if math.isfinite(ratio) else "n/a"


def _fmt(x: float, digits: int = 0) -> str:
    if not math.isfinite(x):
        return "not solved" if x > 0 else "n/a"
    return f"{x:,.{digits}f}"


# (name, key, digits, target of the default engine / SB3, its test, target of numpy / SB3, test)
FIGURES = [
    ("Throughput, CleanRL set (env steps/s)", "cleanrl", 0, ">= 2.0x", lambda r: r >= 2.0,
     ">= 2.5x", lambda r: r >= 2.5),
    ("Throughput, Zoo set (env steps/s)", "zoo", 0, ">= 2.0x", lambda r: r >= 2.0,
     ">= 2.5x", lambda r: r >= 2.5),
    ("Time to 475, Zoo set (s)", "solve_s", 1, "<= 0.6x", lambda r: r <= 0.6, "", None),
    ("compute_single_action vs predict (us)", "latency_us", 1, "<= 0.3x", lambda r: r <= 0.3,
     "", None),
]  # fmt: skip


def _met(ratio: float, ok) -> str:
    if ok is None or not math.isfinite(ratio):
        return ""
    return "yes" if ok(ratio) else "no"


def table(s: dict) -> str:
    """Markdown: one row per figure and condition, with the targets and whether they are met.

    "rlkit" is the default engine (torch, the code as written), "numpy" the opt-in twin.
    """
    lines = [
        "| figure | condition | rlkit (torch, default) | rlkit engine=numpy | SB3 | "
        "torch / SB3 | target | met | numpy / SB3 | target | met | torch / numpy |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, key, digits, target, ok, np_target, np_ok in FIGURES:
        for cond in CONDITIONS:
            ours, numpy_, sb3 = (s[f"{lib}_{cond}_{key}"] for lib in LIBS)
            ratio, np_ratio = _ratio(ours, sb3), _ratio(numpy_, sb3)
            lines.append(
                f"| {name} | {cond} | {_fmt(ours, digits)} | {_fmt(numpy_, digits)} | "
                f"{_fmt(sb3, digits)} | {_times(ratio)} | {target} | {_met(ratio, ok)} | "
                f"{_times(np_ratio)} | {np_target} | {_met(np_ratio, np_ok)} | "
                f"{_times(_ratio(ours, numpy_))} |"
            )
    for hp in ("cleanrl", "zoo"):  # the slowdown a busy neighbour causes, per library
        slow = [_ratio(s[f"{lib}_quiet_{hp}"], s[f"{lib}_busy_{hp}"]) for lib in LIBS]
        lines.append(
            f"| Busy / quiet slowdown, {hp} throughput | both | {_times(slow[0])} | "
            f"{_times(slow[1])} | {_times(slow[2])} |  | rlkit <= 1.5x | "
            f"{_met(slow[0], lambda r: r <= 1.5)} |  |  |  |  |"
        )
    for cond in CONDITIONS:
        solved = [_fmt(s[f"{lib}_{cond}_solved"], 2) for lib in LIBS]
        lines.append(
            f"| Seeds solved within 100k steps, Zoo set | {cond} | {solved[0]} | "
            f"{solved[1]} | {solved[2]} |  |  |  |  |  |  |  |"
        )
    return "\n".join(lines)
