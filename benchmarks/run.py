"""rlkit against Stable-Baselines3, side by side: prints one JSON line and a markdown table.

    .venv/bin/python benchmarks/run.py                  # 5 seeds (10 to solve), ~6 min on 2 cores
    .venv/bin/python benchmarks/run.py --seeds 1 --solve-seeds 1 --quick   # a smoke run, 1 min

Every measurement runs in a fresh process (``worker.py``), one at a time, and the two
libraries alternate: for each seed and figure, rlkit then SB3 on even seeds, SB3 then rlkit on
odd ones, so load from other work on the machine falls on both alike. Ratios are of medians
over seeds. Both libraries use one torch thread (``--users``: as users run them, no thread
settings, on a quiet and on a busy machine; see ``users.py``).

Figures:
- throughput: env steps per second of ``train`` at identical hyperparameters (the CleanRL and
  RL Zoo sets of ``setups.py``), construction excluded.
- time to solve: wall seconds and env steps from constructing the trainer to a last-20-episode
  mean >= 475 on CartPole-v1, Zoo's set in both (budget 100k steps, Zoo's own), and rlkit's
  default PPO config (``PPO(env="CartPole-v1", config={"seed": s})``). A seed that does not
  solve within the budget counts as infinitely slow in the median.
- latency: ``compute_single_action(obs)`` against SB3's ``predict(obs, deterministic=True)``.
- import: ``import rlkit`` and ``from rlkit.algorithms import PPO`` against ``import torch``.
- peak memory: the largest ``ru_maxrss`` of a throughput run, per library.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMPORTS = ["torch", "rlkit", "rlkit.algorithms.PPO", "stable_baselines3"]


def run_worker(*args: str, env: dict | None = None) -> dict:
    """One measurement in a fresh process (environment ``env``); returns its JSON line."""
    out = subprocess.run(
        [sys.executable, str(HERE / "worker.py"), *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if out.returncode != 0:
        raise RuntimeError(f"worker {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def plan(seeds: int, solve_seeds: int, quick: bool) -> list[tuple[str, ...]]:
    """The worker argument lists, in the interleaved order they run."""
    cleanrl_steps, zoo_steps = (10_000, 8_000) if quick else (40_000, 25_000)
    jobs: list[tuple[str, ...]] = []
    for seed in range(max(seeds, solve_seeds)):
        libs = ("rlkit", "sb3") if seed % 2 == 0 else ("sb3", "rlkit")
        s = str(seed)
        if seed < seeds:
            for lib in libs:
                jobs.append(("throughput", "--lib", lib, "--hp", "cleanrl", "--seed", s,
                             "--steps", str(cleanrl_steps)))  # fmt: skip
            for lib in libs:
                jobs.append(("throughput", "--lib", lib, "--hp", "zoo", "--seed", s,
                             "--steps", str(zoo_steps)))  # fmt: skip
        if seed < solve_seeds:
            for lib in libs:
                jobs.append(("solve", "--lib", lib, "--hp", "zoo", "--seed", s,
                             "--steps", "100000"))  # fmt: skip
            jobs.append(("solve", "--lib", "rlkit", "--hp", "default", "--seed", s,
                         "--steps", "150000"))  # fmt: skip
        if seed < seeds:
            for lib in libs:
                jobs.append(("latency", "--lib", lib))
            for module in IMPORTS if seed % 2 == 0 else IMPORTS[::-1]:
                jobs.append(("import", "--module", module))
    return jobs


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def summarise(results: list[dict]) -> dict:
    """Medians per figure and library, and the ratios the targets are stated in."""

    def pick(task: str, key: str, lib: str | None = None, **match) -> list[float]:
        rows = [r for r in results if r["task"] == task and (lib is None or r["lib"] == lib)]
        rows = [r for r in rows if all(r[k] == v for k, v in match.items())]
        return [math.inf if r[key] is None else r[key] for r in rows]

    s: dict = {}
    for lib in ("rlkit", "sb3"):
        for hp in ("cleanrl", "zoo"):
            s[f"{lib}_{hp}_steps_per_s"] = median(pick("throughput", "steps_per_s", lib, hp=hp))
        s[f"{lib}_zoo_solve_s"] = median(pick("solve", "solve_s", lib, hp="zoo"))
        s[f"{lib}_zoo_solve_steps"] = median(pick("solve", "solve_steps", lib, hp="zoo"))
        solved = pick("solve", "solved", lib, hp="zoo")
        s[f"{lib}_zoo_solved_fraction"] = sum(solved) / len(solved) if solved else math.nan
        s[f"{lib}_latency_us"] = median(pick("latency", "latency_us", lib))
        s[f"{lib}_peak_rss_mb"] = max(pick("throughput", "peak_rss_mb", lib), default=math.nan)
    s["rlkit_default_solve_s"] = median(pick("solve", "solve_s", "rlkit", hp="default"))
    s["rlkit_default_solve_steps"] = median(pick("solve", "solve_steps", "rlkit", hp="default"))
    solved = pick("solve", "solved", "rlkit", hp="default")
    s["rlkit_default_solved_fraction"] = sum(solved) / len(solved) if solved else math.nan
    for module in IMPORTS:
        s[f"import_{module}_s"] = median(pick("import", "import_s", module=module))
    loaded = {r["module"]: r["loaded"] for r in results if r["task"] == "import"}
    s["import_rlkit_loads"] = loaded.get("rlkit", [])
    s["import_ppo_loads"] = loaded.get("rlkit.algorithms.PPO", [])
    for hp in ("cleanrl", "zoo"):
        s[f"ratio_{hp}_throughput"] = s[f"rlkit_{hp}_steps_per_s"] / s[f"sb3_{hp}_steps_per_s"]
    s["ratio_zoo_solve_time"] = _ratio(s["rlkit_zoo_solve_s"], s["sb3_zoo_solve_s"])
    s["ratio_latency"] = s["rlkit_latency_us"] / s["sb3_latency_us"]
    return s


def json_safe(x):
    """inf and nan -> None (JSON has neither), recursively."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    return x


def _ratio(a: float, b: float) -> float:
    return a / b if math.isfinite(a) and math.isfinite(b) else math.nan


def _fmt(x: float, digits: int = 0) -> str:
    if isinstance(x, float) and not math.isfinite(x):
        return "not solved" if x > 0 else "n/a"
    return f"{x:,.{digits}f}"


def table(s: dict) -> str:
    """The summary as a markdown table: figure, rlkit, SB3, ratio, target, met."""
    torch_s = s["import_torch_s"]
    rows = [
        ("Throughput, CleanRL set (env steps/s)", _fmt(s["rlkit_cleanrl_steps_per_s"]),
         _fmt(s["sb3_cleanrl_steps_per_s"]), s["ratio_cleanrl_throughput"], ">= 2.5x",
         s["ratio_cleanrl_throughput"] >= 2.5),
        ("Throughput, Zoo set (env steps/s)", _fmt(s["rlkit_zoo_steps_per_s"]),
         _fmt(s["sb3_zoo_steps_per_s"]), s["ratio_zoo_throughput"], ">= 2.5x",
         s["ratio_zoo_throughput"] >= 2.5),
        ("Time to 475, Zoo set (s)", _fmt(s["rlkit_zoo_solve_s"], 1),
         _fmt(s["sb3_zoo_solve_s"], 1), s["ratio_zoo_solve_time"], "<= 0.5x",
         s["ratio_zoo_solve_time"] <= 0.5),
        ("Env steps to 475, Zoo set", _fmt(s["rlkit_zoo_solve_steps"]),
         _fmt(s["sb3_zoo_solve_steps"]), _ratio(s["rlkit_zoo_solve_steps"],
         s["sb3_zoo_solve_steps"]), "", None),
        ("Seeds solved within 100k steps, Zoo set", _fmt(s["rlkit_zoo_solved_fraction"], 2),
         _fmt(s["sb3_zoo_solved_fraction"], 2), None, ">= SB3's",
         s["rlkit_zoo_solved_fraction"] >= s["sb3_zoo_solved_fraction"]),
        ("rlkit default PPO config: time to 475 (s)", _fmt(s["rlkit_default_solve_s"], 1), "",
         None, "<= 10 s", s["rlkit_default_solve_s"] <= 10),
        ("rlkit default PPO config: env steps to 475, seeds solved",
         f"{_fmt(s['rlkit_default_solve_steps'])}, {_fmt(s['rlkit_default_solved_fraction'], 2)}",
         "", None, "", None),
        ("compute_single_action vs predict (us)", _fmt(s["rlkit_latency_us"], 1),
         _fmt(s["sb3_latency_us"], 1), s["ratio_latency"], "<= 0.3x", s["ratio_latency"] <= 0.3),
        ("`import rlkit` (s; torch alone: " + _fmt(torch_s, 2) + ")",
         _fmt(s["import_rlkit_s"], 3), _fmt(s["import_stable_baselines3_s"], 2), None,
         "<= torch + 0.3", s["import_rlkit_s"] <= torch_s + 0.3),
        ("`from rlkit.algorithms import PPO` (s)", _fmt(s["import_rlkit.algorithms.PPO_s"], 2),
         "", None, "<= torch + 0.3", s["import_rlkit.algorithms.PPO_s"] <= torch_s + 0.3),
        ("Peak memory of a throughput run (MB)", _fmt(s["rlkit_peak_rss_mb"]),
         _fmt(s["sb3_peak_rss_mb"]), s["rlkit_peak_rss_mb"] / s["sb3_peak_rss_mb"], "", None),
    ]  # fmt: skip
    lines = ["| figure | rlkit | SB3 | rlkit / SB3 | target | met |", "|---|---|---|---|---|---|"]
    for name, ours, theirs, ratio, target, met in rows:
        ratio_text = "" if ratio is None or not math.isfinite(ratio) else f"{ratio:.2f}x"
        met_text = "" if met is None else ("yes" if met else "no")
        lines.append(f"| {name} | {ours} | {theirs} | {ratio_text} | {target} | {met_text} |")
    return "\n".join(lines)


def machine() -> dict:
    import gymnasium
    import stable_baselines3
    import torch

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "gymnasium": gymnasium.__version__,
        "stable_baselines3": stable_baselines3.__version__,
        "torch_threads": 1,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--seeds", type=int, help="seeds per figure (default 5; --users: 3 per condition)"
    )
    parser.add_argument(
        "--solve-seeds",
        type=int,
        help="seeds of the time-to-solve runs (default 20; --users: 5 per condition): the "
        "steps a seed needs vary 2-4x, so a median of 10 still moves by a third",
    )
    parser.add_argument("--quick", action="store_true", help="shorter throughput runs")
    parser.add_argument("--out", help="also write the JSON (summary + every run) to this file")
    parser.add_argument(
        "--users",
        action="store_true",
        help="users' conditions: no thread settings, quiet and with a busy neighbour "
        "(benchmarks/users.py); default seeds 3, solve seeds 5",
    )
    args = parser.parse_args(argv)
    if args.users:
        return users_main(args)
    args.seeds = 5 if args.seeds is None else args.seeds
    args.solve_seeds = 20 if args.solve_seeds is None else args.solve_seeds
    info = {**machine(), "load_before": os.getloadavg()}
    start = time.perf_counter()
    results = []
    jobs = plan(args.seeds, args.solve_seeds, args.quick)
    for i, job in enumerate(jobs):
        print(f"[{i + 1}/{len(jobs)}] {' '.join(job)}", file=sys.stderr, flush=True)
        results.append({**run_worker(*job), "load": os.getloadavg()[0]})
    info["load_after"] = os.getloadavg()
    info["minutes"] = round((time.perf_counter() - start) / 60, 1)
    summary = summarise(results)
    seeds = {"seeds": args.seeds, "solve_seeds": args.solve_seeds}
    print(json.dumps(json_safe({"machine": info, **seeds, "summary": summary})))
    print()
    print(table(summary))
    print(
        f"\n{info['cpu']}, {info['cores']} cores, load average {info['load_before'][0]:.1f} "
        f"before and {info['load_after'][0]:.1f} after; torch {info['torch']} "
        f"(1 thread), gymnasium {info['gymnasium']}, SB3 {info['stable_baselines3']}; "
        f"{args.seeds} seeds ({args.solve_seeds} for time to solve), {info['minutes']} min."
    )
    write_out(args.out, info, summary, results)


def write_out(path: str | None, info: dict, summary: dict, results: list) -> None:
    """With --out, the machine, the summary and every run as JSON."""
    if path:
        Path(path).write_text(
            json.dumps(json_safe({"machine": info, "summary": summary, "runs": results}), indent=1)
        )


def users_main(args: argparse.Namespace) -> None:
    """The users'-conditions run (benchmarks/users.py): JSON line, then the table."""
    import users

    seeds = 3 if args.seeds is None else args.seeds
    solve_seeds = 5 if args.solve_seeds is None else args.solve_seeds
    info = {**machine(), "torch_threads": "default", "load_before": os.getloadavg()}
    start = time.perf_counter()
    results = users.run(seeds, solve_seeds, args.quick, run_worker)
    info["load_after"] = os.getloadavg()
    info["minutes"] = round((time.perf_counter() - start) / 60, 1)
    summary = users.summarise(results)
    counts = {"seeds": seeds, "solve_seeds": solve_seeds, "quick": args.quick}
    print(json.dumps(json_safe({"machine": info, **counts, "summary": summary})))
    print()
    print(users.table(summary))
    print(
        f"\n{info['cpu']}, {info['cores']} cores, load average {info['load_before'][0]:.1f} "
        f"before and {info['load_after'][0]:.1f} after; torch {info['torch']}, gymnasium "
        f"{info['gymnasium']}, SB3 {info['stable_baselines3']}; no thread settings; "
        f"{seeds} seeds ({solve_seeds} to solve) per condition, {info['minutes']} min."
    )
    write_out(args.out, info, summary, results)


if __name__ == "__main__":
    main()
