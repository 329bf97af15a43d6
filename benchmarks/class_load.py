"""The class load: a room of students running the same PPO cell at once on one small server.

    .venv/bin/python benchmarks/class_load.py                    # 8 processes x 40 iterations
    .venv/bin/python benchmarks/class_load.py --procs 1          # one student alone
    .venv/bin/python benchmarks/class_load.py --engine numpy     # the opt-in twin

Each process is one student's kernel: ``PPO(env="CartPole-v1", config={"seed": i})`` with
rlkit's defaults (so the default engine, torch) trains ``--iterations`` iterations. All start
together (each waits on one shared start time), as users run them: no thread variables (the
harness removes them, as ``run.py --users`` does). Printed per process: wall seconds of its
training (first to last iteration), CPU seconds, env steps; then the median and the slowest
wall time (the student who waits longest) and the machine's load average. On a shared
machine, compare figures from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from users import users_env

STUDENT = """
import json, sys, time
start, seed, iterations = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
engine = sys.argv[4]
from rlkit.algorithms import PPO
config = {"seed": seed} if engine == "default" else {"seed": seed, "engine": engine}
trainer = PPO(env="CartPole-v1", config=config)
while time.time() < start:
    time.sleep(0.01)
wall0, cpu0 = time.time(), time.process_time()
for _ in range(iterations):
    result = trainer.train()
print(json.dumps({
    "seed": seed, "engine": result["engine"], "iterations": iterations,
    "wall_s": time.time() - wall0, "cpu_s": time.process_time() - cpu0,
    "late_s": max(0.0, wall0 - start),
    "timesteps": result["timesteps_total"], "return": result["episode_reward_mean"],
}))
"""


def run(procs: int, iterations: int, engine: str, lead_s: float = 30.0) -> list[dict]:
    """Start ``procs`` students, each training ``iterations`` iterations from one start time.

    ``lead_s`` seconds are left for every process to import rlkit and build its trainer
    before the common start (construction is not timed; a process still building then
    starts late, and its ``late_s`` says by how much).
    """
    start = time.time() + lead_s
    children = [
        subprocess.Popen(
            [sys.executable, "-c", STUDENT, str(start), str(i), str(iterations), engine],
            stdout=subprocess.PIPE,
            env=users_env(),
            text=True,
        )
        for i in range(procs)
    ]
    rows = []
    for child in children:  # each by its own handle: nothing else is touched
        out, _ = child.communicate()
        if child.returncode != 0:
            raise RuntimeError(f"student process {child.pid} failed (exit {child.returncode})")
        rows.append(json.loads(out.strip().splitlines()[-1]))
    return rows


def _median(values: list[float]) -> float:
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def report(rows: list[dict], load_before: float) -> str:
    """Markdown: one row per process, then the median and the slowest wall time."""
    lines = [
        "| student | engine | iterations | env steps | wall s | CPU s | started late (s) | "
        "last return |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: r["seed"]):
        lines.append(
            f"| {r['seed']} | {r['engine']} | {r['iterations']} | {r['timesteps']:,} | "
            f"{r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['late_s']:.1f} | {r['return']:.1f} |"
        )
    walls = sorted(r["wall_s"] for r in rows)
    cpus = sorted(r["cpu_s"] for r in rows)
    lines.append("")
    lines.append(
        f"{len(rows)} processes on {os.cpu_count()} cores: wall median {_median(walls):.1f} s, "
        f"slowest {walls[-1]:.1f} s; CPU median {_median(cpus):.1f} s; load average "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--procs", type=int, default=8, help="students at once (8)")
    parser.add_argument("--iterations", type=int, default=40, help="PPO iterations each (40)")
    parser.add_argument(
        "--engine", default="default", choices=["default", "torch", "numpy", "auto"],
        help="rlkit's engine (default: the config's default, torch)",
    )  # fmt: skip
    parser.add_argument("--out", help="also write every process's row as JSON here")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    rows = run(args.procs, args.iterations, args.engine)
    print(report(rows, load))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
