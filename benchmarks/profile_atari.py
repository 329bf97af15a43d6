"""Where an Atari PPO iteration's time goes, in rlkit and in Stable-Baselines3.

    .venv/bin/python benchmarks/profile_atari.py                 # rlkit and SB3, 2 rounds
    .venv/bin/python benchmarks/profile_atari.py --rows rlkit,sb3 --steps 2048 --rounds 1
    .venv/bin/python benchmarks/profile_atari.py --worker rlkit --steps 1024   # one run, JSON

The same runs as ``benchmarks/atari.py`` (its rows, RL Zoo's Atari PPO on ``ALE/Breakout-v5``,
each in a fresh process with the library's own thread settings, the libraries alternating),
with timers wrapped around the calls each library makes, by replacing them on the objects of
the run (nothing in either library is changed). Parts, in seconds per iteration of
8 envs x 128 steps:

- ``env``: the vector env's ``step`` (rlkit: ale-py's native vector env and rlkit's
  ``DeepMindTraining``, whose ``send`` and ``recv`` are what the main thread waits for while
  the two halves overlap, rlkit.overlap; SB3: ``VecFrameStack`` over ``DummyVecEnv`` of
  ``AtariWrapper`` envs).
- ``forward (sampling)``: the policy's forward at every env step (rlkit
  ``Policy.compute_actions``; SB3 ``policy.forward``), and rlkit's one value pass over the
  rollout (``Policy.compute_values``; SB3 computes values inside its forward).
- ``sampling, other``: the rest of the rollout (bookkeeping, copies, stacking the batch).
- ``learner forward``: the model's forward and the loss on the minibatches (what is left of
  the learner once the next two and the batch preparation are taken out).
- ``backward``: ``torch.autograd.backward`` (``loss.backward()``).
- ``optimizer``: the optimizer's ``step`` (gradient clipping is in ``learner forward``).
- ``other``: GAE, the learner batch, the library's loop.

A figure is the median over the rounds of each run's mean per iteration; the first iteration
(warm-up) is left out.
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

PARTS = (
    "env",
    "forward (sampling)",
    "sampling, other",
    "learner forward",
    "backward",
    "optimizer",
    "other",
)


class Timers:
    """Seconds spent in wrapped calls, by name; a call nested in another counts in both."""

    def __init__(self) -> None:
        self.seconds: collections.Counter = collections.Counter()

    def wrap(self, owner: object, name: str, label: str) -> None:
        """Replace ``owner.name`` by a timed call (an instance attribute, or a module's)."""
        inner = getattr(owner, name)

        @functools.wraps(inner)
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start

        setattr(owner, name, timed)


def _parts(t: Timers, total: float) -> dict[str, float]:
    """The PARTS from the raw timers of one iteration (see the module docstring)."""
    forward = t.seconds["forward"] + t.seconds["values"]
    learn = t.seconds["learn"]
    inner = t.seconds["backward"] + t.seconds["optimizer"]
    return {
        "env": t.seconds["env"],
        "forward (sampling)": forward,
        "sampling, other": t.seconds["sample"] - t.seconds["env"] - forward,
        "learner forward": learn - inner,
        "backward": t.seconds["backward"],
        "optimizer": t.seconds["optimizer"],
        "other": total - t.seconds["sample"] - learn,
    }


def profile_rlkit(row: str, steps: int, seed: int) -> dict:
    """Run benchmarks/atari.py's ``row`` under timers; parts per iteration (after the first)."""
    import atari
    import torch

    trainer = atari.build_rlkit(row, seed)
    t = Timers()
    halves = getattr(trainer.sampler, "halves", None)  # rlkit.overlap: send, then recv
    for sampler in halves or [trainer.sampler]:
        for call in ("send", "recv") if halves else ("step",):  # step itself calls both
            t.wrap(sampler.env, call, "env")
    t.wrap(trainer.policy, "compute_actions", "forward")
    t.wrap(trainer.policy, "compute_values", "values")
    t.wrap(trainer.sampler, "sample", "sample")
    t.wrap(trainer, "learn", "learn")
    t.wrap(torch.autograd, "backward", "backward")
    t.wrap(trainer.optimizer, "step", "optimizer")
    iterations = []
    result = {}
    while trainer.timesteps_total < steps:
        t.seconds.clear()
        start, cpu = time.perf_counter(), time.process_time()
        result = trainer.train()
        total = time.perf_counter() - start
        cpu = time.process_time() - cpu
        iterations.append({"total": total, "cpu": cpu, **_parts(t, total)})
    threads = result.get("num_threads", trainer.config["num_threads"])
    trainer.stop()
    return {"iterations": iterations[1:] or iterations, "torch_threads": threads}


def profile_sb3(steps: int, seed: int) -> dict:
    """SB3's PPO of benchmarks/atari.py under timers; parts per iteration (after the first)."""
    import atari
    import torch

    model = atari.build_sb3(seed)
    t = Timers()
    t.wrap(model.env, "step", "env")
    t.wrap(model.policy, "forward", "forward")
    t.wrap(model, "collect_rollouts", "sample")
    t.wrap(model, "train", "learn")
    t.wrap(torch.autograd, "backward", "backward")
    t.wrap(model.policy.optimizer, "step", "optimizer")
    iterations = []
    per_iteration = atari.ZOO["n_envs"] * atari.ZOO["n_steps"]
    for _ in range(max(1, steps // per_iteration)):  # one learn() call per iteration
        t.seconds.clear()
        start, cpu = time.perf_counter(), time.process_time()
        model.learn(total_timesteps=per_iteration, reset_num_timesteps=False)
        total = time.perf_counter() - start
        cpu = time.process_time() - cpu
        iterations.append({"total": total, "cpu": cpu, **_parts(t, total)})
    model.env.close()
    return {"iterations": iterations[1:] or iterations, "torch_threads": torch.get_num_threads()}


def worker(row: str, steps: int, seed: int) -> None:
    """One profiled run in this process; prints one JSON line of seconds per iteration."""
    out = profile_sb3(steps, seed) if row == "sb3" else profile_rlkit(row, steps, seed)
    its = out["iterations"]
    means = {k: statistics.fmean(i[k] for i in its) for k in ("total", "cpu", *PARTS)}
    print(json.dumps({"row": row, "torch_threads": out["torch_threads"], "n": len(its), **means}))


def run_one(row: str, steps: int, seed: int) -> dict:
    """``worker`` in a fresh process without thread environment variables."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    command = [sys.executable, __file__, "--worker", row, "--steps", str(steps)]
    out = subprocess.run(
        command + ["--seed", str(seed)], capture_output=True, text=True, env=env, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"{row} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(runs: list[dict]) -> str:
    """Markdown: one column per row (seconds per iteration, share of the total)."""
    rows = list(dict.fromkeys(r["row"] for r in runs))
    med = {
        row: {
            k: statistics.median(r[k] for r in runs if r["row"] == row)
            for k in ("total", "cpu", *PARTS)
        }
        for row in rows
    }
    threads = {r["row"]: r["torch_threads"] for r in runs}
    head = "| part (s per iteration) | " + " | ".join(
        f"{row} ({threads[row]} thr.)" for row in rows
    )
    lines = [head + " |", "|---" * (len(rows) + 1) + "|"]
    for part in (*PARTS, "total"):
        cells = [f"{med[row][part]:.3f} ({med[row][part] / med[row]['total']:.0%})" for row in rows]
        lines.append(f"| {part} | " + " | ".join(cells) + " |")
    frames = 4 * 1024  # 8 envs x 128 steps x 4 frames
    fps = [f"{frames / med[row]['total']:,.0f}" for row in rows]
    lines.append("| env frames/s | " + " | ".join(fps) + " |")
    cpu = [f"{med[row]['cpu']:.3f}" for row in rows]
    lines.append("| CPU seconds (all threads) | " + " | ".join(cpu) + " |")
    cap = [f"{2 * frames / med[row]['cpu']:,.0f}" for row in rows]
    lines.append("| frames/s if 2 cores did only this work | " + " | ".join(cap) + " |")
    return "\n".join(lines)


def _timed(fn, repeats: int) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds of this process) of ``fn()`` over ``repeats``."""
    fn()  # warm-up: oneDNN picks and caches its kernels on the first call
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def kernels(repeats: int) -> list[dict]:
    """The conv stacks' forward (8 rows) and forward + backward (256 rows) by layout and threads.

    Layouts: "nchw" (weights and a contiguous NCHW batch, as SB3 feeds its CnnPolicy), "nhwc
    view" (rlkit's input, ``[B, H, W, C]`` permuted: channels-last strides, no copy) and
    "nhwc view, weights channels-last" (what VisionNetwork keeps). Each cell is the best of
    ``repeats`` calls (20 times as many for the forward); with one thread the CPU time is the
    figure to compare on a shared machine, since a neighbour stretches the wall time only.
    """
    import atari
    import gymnasium as gym
    import numpy as np
    import torch

    from rlkit.catalog import ModelCatalog

    space = gym.spaces.Box(0.0, 1.0, (84, 84, 4), np.float32)
    nets = {"default VisionNetwork": {}, "Nature CNN widths": atari.NATURE}
    out = []
    for name, extra in nets.items():
        torch.manual_seed(0)
        config = {"vf_share_layers": True, **extra}
        model = ModelCatalog.get_model(space, gym.spaces.Discrete(4), 4, config)
        frames = torch.rand(256, 84, 84, 4)
        layouts = {
            "nchw": (model._trunk_net, frames.permute(0, 3, 1, 2).contiguous(), False),
            "nhwc view": (model._trunk_net, frames.permute(0, 3, 1, 2), False),
            "nhwc view, weights channels-last": (
                model._trunk_net,
                frames.permute(0, 3, 1, 2),
                True,
            ),
        }
        for layout, (net, x, channels_last) in layouts.items():
            net.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)

            def step(net=net, x=x) -> None:
                net.zero_grad(set_to_none=True)
                net(x).square().mean().backward()

            def act(net=net, x=x[:8]) -> None:
                with torch.inference_mode():
                    net(x)

            for threads in (1, 2):
                torch.set_num_threads(threads)
                for what, fn, n in (
                    ("8-row forward", act, 20 * repeats),
                    ("256-row step", step, repeats),
                ):
                    wall, cpu = _timed(fn, n)
                    row = {"net": name, "layout": layout, "threads": threads, "what": what}
                    out.append({**row, "wall_ms": 1e3 * wall, "cpu_ms": 1e3 * cpu})
                    print(json.dumps(out[-1]), flush=True)
    return out


def main() -> None:
    """Profile every row in fresh processes, alternating; print the JSON lines and a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker")
    parser.add_argument("--steps", type=int, default=4_096)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rows", default="rlkit,sb3")
    parser.add_argument("--kernels", action="store_true", help="conv layouts and threads only")
    args = parser.parse_args()
    if args.kernels:
        print(f"load average before: {os.getloadavg()}", flush=True)
        kernels(args.rounds * 2)
        print(f"load average after: {os.getloadavg()}")
        return
    if args.worker:
        worker(args.worker, args.steps, args.seed)
        return
    rows = args.rows.split(",")
    runs = []
    print(f"load average before: {os.getloadavg()}", flush=True)
    for r in range(args.rounds):
        for row in rows if r % 2 == 0 else rows[::-1]:
            runs.append(run_one(row, args.steps, r))
            print(json.dumps(runs[-1]), flush=True)
    print(f"load average after: {os.getloadavg()}\n")
    print(table(runs))


if __name__ == "__main__":
    main()
