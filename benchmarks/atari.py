"""PPO with a conv net on Atari frames: rlkit against Stable-Baselines3, as users run them.

    .venv/bin/python benchmarks/atari.py                    # 2 rounds of 4,096 env steps each
    .venv/bin/python benchmarks/atari.py --rounds 1 --steps 2048 --rows rlkit,sb3   # quicker
    .venv/bin/python benchmarks/atari.py --conditions quiet,busy   # and with a busy neighbour

Both libraries train PPO on ``ALE/Breakout-v5`` at RL Zoo's Atari PPO settings: 8 envs x 128
steps, 4 epochs of 256-row minibatches, lr 2.5e-4, clip 0.1, entropy 0.01, value 0.5, gamma
0.99, lambda 0.95, gradient norm 0.5, Adam eps 1e-5; one conv net shared by policy and value.
Each run is a fresh process (``--worker``) with no thread environment variables set (each
library picks its own torch threads, as for a user), one at a time, the libraries alternating
(rlkit first in even rounds). A run trains for a fixed number of env steps; the figure is env
frames (4 per step, the frame skip) per second of training, construction excluded, and the
peak resident memory (``ru_maxrss``) of the process. ``--conditions`` repeats everything with a
neighbour process keeping one core busy ("busy", as on a shared JupyterHub or Binder machine;
benchmarks/users.py's ``neighbour``), after the quiet runs.

Rows:
- ``sb3``: ``make_atari_env`` (its AtariWrapper: no-op reset, frame skip 4 with max-pool,
  episodic life, fire reset, 84x84 gray, reward clipping) + ``VecFrameStack(4)``, ``CnnPolicy``
  (Nature CNN: 32x8x8/4, 64x4x4/2, 64x3x3/1, 512 dense). ``frameskip=1`` in the env so that the
  wrapper's skip of 4 is the only one, as in rlkit.
- ``rlkit-nature``: ``PPO(env="ALE/Breakout-v5")`` with the same conv widths and the 512 dense
  layer (rlkit pads "same" but the last conv, so its maps are a little larger: more work).
- ``rlkit``: the default ``VisionNetwork`` for 84x84 (RLlib's 16x8x8/4, 32x4x4/2, 256x11x11).
- ``rlkit-sync``: ``rlkit-nature`` with gymnasium's wrappers (``vector_mode="sync"``) instead of
  ale-py's native vector env.
- ``rlkit-sb3cnn``: SB3's network itself as an rlkit custom model (``SB3NatureCNN`` below: no
  padding, 3,136 features, 512 dense, shared by policy and value): the same arithmetic per
  frame as SB3, so the row compares the rest (sampling, learner, threads).
- ``rlkit-2threads``: ``rlkit`` with ``num_threads`` 2, what a user on a machine of their own
  may set: faster while the cores are free, slower than 1 thread when a neighbour holds one.
- ``rlkit-overlap``: ``rlkit`` with ``sample_overlap`` True: one half of the envs steps while
  the policy acts for the other (rlkit.overlap), instead of all 8 stepping, then all 8 acting.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

ENV = "ALE/Breakout-v5"
ZOO = {"n_envs": 8, "n_steps": 128, "n_epochs": 4, "batch_size": 256, "lr": 2.5e-4, "clip": 0.1}
NATURE = {
    "conv_filters": [[32, [8, 8], 4], [64, [4, 4], 2], [64, [3, 3], 1]],
    "post_fcnet_hiddens": [512],
}
ROWS = (
    "rlkit-nature",
    "sb3",
    "rlkit",
    "rlkit-sync",
    "rlkit-sb3cnn",
    "rlkit-1thread",
    "rlkit-2threads",
    "rlkit-overlap",
)
DEFAULT_ROWS = ("sb3", "rlkit", "rlkit-overlap", "rlkit-sb3cnn", "rlkit-1thread")


def register_sb3_cnn() -> None:
    """Register SB3's NatureCNN + policy/value heads as rlkit's custom model "sb3_nature_cnn"."""
    import torch
    from torch import nn

    from rlkit.catalog import ModelCatalog
    from rlkit.models import Model

    class SB3NatureCNN(Model):
        """SB3's CnnPolicy network: [B, 84, 84, 4] -> 3 valid convs -> 512 -> logits, value."""

        def __init__(self, obs_space, action_space, num_outputs, model_config, name):
            super().__init__(obs_space, action_space, num_outputs, model_config, name)
            channels = obs_space.shape[-1]
            self.features = nn.Sequential(
                nn.Conv2d(channels, 32, 8, 4),
                nn.ReLU(),
                nn.Conv2d(32, 64, 4, 2),
                nn.ReLU(),
                nn.Conv2d(64, 64, 3, 1),
                nn.ReLU(),
                nn.Flatten(),
                nn.Linear(3136, 512),  # 64 x 7 x 7
                nn.ReLU(),
            )
            self.logits = nn.Linear(512, num_outputs)
            self.value = nn.Linear(512, 1)
            self._latent = None

        def forward(self, input_dict, state, seq_lens):
            x = input_dict["obs"].permute(0, 3, 1, 2)  # [B, H, W, C] -> [B, C, H, W]
            self._latent = self.features(x)
            return self.logits(self._latent), state

        def value_function(self) -> torch.Tensor:
            return self.value(self._latent).squeeze(1)

    ModelCatalog.register_custom_model("sb3_nature_cnn", SB3NatureCNN)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def build_rlkit(row: str, seed: int, threads: object = None):
    """The rlkit PPO trainer of ``row`` (RL Zoo's Atari settings), not yet trained."""
    from rlkit.algorithms import PPO

    model = {"vf_share_layers": True, **(NATURE if row in ("rlkit-nature", "rlkit-sync") else {})}
    if row == "rlkit-sb3cnn":
        register_sb3_cnn()
        model = {"custom_model": "sb3_nature_cnn"}
    config = {
        "seed": seed,
        "num_envs": ZOO["n_envs"],
        "rollout_fragment_length": ZOO["n_steps"],
        "num_sgd_iter": ZOO["n_epochs"],
        "sgd_minibatch_size": ZOO["batch_size"],
        "lr": ZOO["lr"],
        "clip_param": ZOO["clip"],
        "entropy_coeff": 0.01,
        "vf_loss_coeff": 0.5,
        "gamma": 0.99,
        "lambda": 0.95,
        "grad_clip": 0.5,
        "adam_epsilon": 1e-5,
        "vector_mode": "sync" if row == "rlkit-sync" else "auto",
        "model": model,
    }
    if row == "rlkit-2threads":
        config["num_threads"] = 2
    if row == "rlkit-1thread":
        config["num_threads"] = 1
    if row == "rlkit-overlap":
        config["sample_overlap"] = True
    if threads is not None:
        config["num_threads"] = threads
    return PPO(env=ENV, config=config)


def run_rlkit(row: str, steps: int, seed: int) -> dict:
    """Train ``row`` for ``steps`` env steps; seconds of training (construction excluded)."""
    trainer = build_rlkit(row, seed)
    start = time.perf_counter()
    threads = []
    while trainer.timesteps_total < steps:
        threads.append(trainer.train().get("num_threads", trainer.config["num_threads"]))
    seconds = time.perf_counter() - start
    done = trainer.timesteps_total
    trainer.stop()
    return {"steps": done, "seconds": seconds, "torch_threads": _threads_seen(threads)}


def _threads_seen(threads: list) -> str:
    """The thread counts of the iterations: '2', or '2-1' when they changed."""
    return "-".join(str(n) for n in sorted(set(threads), reverse=True))


def build_sb3(seed: int):
    """SB3's PPO at RL Zoo's Atari settings on its AtariWrapper envs, not yet trained."""
    import ale_py
    import gymnasium as gym
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_atari_env
    from stable_baselines3.common.vec_env import VecFrameStack

    gym.register_envs(ale_py)
    env = make_atari_env(ENV, n_envs=ZOO["n_envs"], seed=seed, env_kwargs={"frameskip": 1})
    env = VecFrameStack(env, n_stack=4)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from setups import without_log_folder

    model = PPO(
        "CnnPolicy",
        env,
        n_steps=ZOO["n_steps"],
        n_epochs=ZOO["n_epochs"],
        batch_size=ZOO["batch_size"],
        learning_rate=ZOO["lr"],
        clip_range=ZOO["clip"],
        ent_coef=0.01,
        vf_coef=0.5,
        gamma=0.99,
        gae_lambda=0.95,
        max_grad_norm=0.5,
        seed=seed,
        verbose=0,
    )
    return without_log_folder(model)


def run_sb3(steps: int, seed: int) -> dict:
    """Train SB3 for ``steps`` env steps; seconds of training (construction excluded)."""
    import torch

    model = build_sb3(seed)
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    seconds = time.perf_counter() - start
    done = model.num_timesteps
    model.env.close()
    return {"steps": done, "seconds": seconds, "torch_threads": str(torch.get_num_threads())}


TINY = {"n_envs": 2, "n_steps": 16, "batch_size": 16}  # --tiny: the smoke test's sizes


def worker(row: str, steps: int, seed: int, tiny: bool = False) -> None:
    """One run in this process; prints one JSON line."""
    if tiny:
        ZOO.update(TINY)
    result = run_sb3(steps, seed) if row == "sb3" else run_rlkit(row, steps, seed)
    result.update(row=row, frames_per_s=4 * result["steps"] / result["seconds"], peak_mb=_peak_mb())
    print(json.dumps(result))


def run_one(row: str, steps: int, seed: int, tiny: bool = False) -> dict:
    """``worker`` in a fresh process without thread variables; the load average before it."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    command = [sys.executable, __file__, "--worker", row, "--steps", str(steps)]
    command += ["--seed", str(seed)] + (["--tiny"] if tiny else [])
    load = os.getloadavg()[0]
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{row} failed:\n{out.stderr[-3000:]}")
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "load_before": load}


def summary(runs: list[dict]) -> dict:
    """Per row: median frames/s, ratio to SB3's, peak memory and its ratio, threads, load."""
    rows = list(dict.fromkeys(r["row"] for r in runs))
    out = {}
    for row in rows:
        rs = [r for r in runs if r["row"] == row]
        out[row] = {
            "frames_per_s": statistics.median(r["frames_per_s"] for r in rs),
            "peak_mb": max(r["peak_mb"] for r in rs),
            "torch_threads": "/".join(dict.fromkeys(str(r["torch_threads"]) for r in rs)),
            "load": [round(r["load_before"], 1) for r in rs],
        }
    if "sb3" in out:
        for v in out.values():
            v["vs_sb3"] = v["frames_per_s"] / out["sb3"]["frames_per_s"]
            v["memory_vs_sb3"] = v["peak_mb"] / out["sb3"]["peak_mb"]
    return out


def table(rows: dict) -> str:
    """Markdown of ``summary``'s figures."""
    lines = [
        "| run | env frames/s (median) | vs SB3 | peak memory (MB) | vs SB3 | torch threads "
        "| load average before each run |",
        "|---|---|---|---|---|---|---|",
    ]
    for row, v in rows.items():
        fps, mem = v.get("vs_sb3", float("nan")), v.get("memory_vs_sb3", float("nan"))
        lines.append(
            f"| {row} | {v['frames_per_s']:,.0f} | {fps:.2f}x | {v['peak_mb']:,.0f} | "
            f"{mem:.2f}x | {v['torch_threads']} | {', '.join(map(str, v['load']))} |"
        )
    return "\n".join(lines)


def measure(rows: list[str], steps: int, rounds: int, conditions: list[str], tiny: bool) -> dict:
    """Every row in every condition, fresh processes, rows alternating; summary per condition."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from users import neighbour

    results = {}
    for condition in conditions:
        runs = []
        with neighbour(condition):
            for r in range(rounds):
                for row in rows if r % 2 == 0 else rows[::-1]:
                    runs.append({**run_one(row, steps, r, tiny), "condition": condition})
                    print(json.dumps(runs[-1]), flush=True)
        results[condition] = summary(runs)
    return results


def main() -> None:
    """Run the rows (or one ``--worker`` run) and print the tables and a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", choices=ROWS)
    parser.add_argument("--steps", type=int, default=4_096)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rows", default=",".join(DEFAULT_ROWS))
    parser.add_argument("--conditions", default="quiet", help="quiet, busy or quiet,busy")
    parser.add_argument("--tiny", action="store_true", help="2 envs x 16 steps (smoke test)")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.steps, args.seed, args.tiny)
        return
    unknown = sorted(set(args.rows.split(",")) - set(ROWS))
    if unknown:
        parser.error(f"--rows: unknown {unknown}; rows are {', '.join(ROWS)}")
    start = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results = measure(
        args.rows.split(","), args.steps, args.rounds, args.conditions.split(","), args.tiny
    )
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} cores, from {start}")
    for condition, rows in results.items():
        print(f"\n{condition}:\n\n{table(rows)}")
    print(json.dumps({"summary": results}))


if __name__ == "__main__":
    main()
