"""One measurement in a fresh process; prints one JSON line. ``run.py`` starts these.

    python benchmarks/worker.py throughput --lib rlkit --hp cleanrl --seed 0 --steps 40000
    python benchmarks/worker.py solve --lib sb3 --hp zoo --seed 3 --steps 100000
    python benchmarks/worker.py latency --lib rlkit
    python benchmarks/worker.py import --module rlkit

Every measurement runs in its own process so that peak memory (``ru_maxrss``) belongs to it
alone and one run's caches and allocations cannot help or hurt the next. Wall times
(``time.perf_counter``) are the figures; process CPU times ride along, because a neighbour's
load on a shared machine stretches wall time but barely changes CPU time.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

# --users: run as users do, with each library's own thread settings (no set_num_threads)
USERS = {"on": False}

SOLVED = 475.0  # CartPole-v1 is solved at a last-20-episode mean of 475 (of 500)
LAST = 20


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _last_mean(returns) -> float | None:
    returns = list(returns)
    return sum(returns[-LAST:]) / LAST if len(returns) >= LAST else None


# -- rlkit ------------------------------------------------------------------------------------
def _one_thread() -> None:
    """One torch thread, as the lab figures run; users' conditions leave torch as it starts."""
    import torch

    if not USERS["on"]:
        torch.set_num_threads(1)


def _rlkit_trainer(hp: str, seed: int, budget: int, engine: str = "torch"):
    from setups import rlkit_config

    from rlkit.algorithms import PPO

    _one_thread()
    config = {**rlkit_config(hp, seed, budget), "engine": engine}
    if USERS["on"]:
        del config["num_threads"]  # rlkit's default, "auto", as a user runs it
    return PPO(env="CartPole-v1", config=config)


def rlkit_train(
    hp: str, seed: int, steps: int, stop_when_solved: bool, engine: str = "torch"
) -> dict:
    import rlkit.algorithms  # noqa: F401  (imports are not part of the timed run)

    start = time.perf_counter()
    cpu_start = time.process_time()
    trainer = _rlkit_trainer(hp, seed, steps, engine)
    built = time.perf_counter()
    solved_at = None
    while trainer.timesteps_total < steps:
        trainer.train()
        mean = _last_mean(trainer.sampler.episode_returns)
        if solved_at is None and mean is not None and mean >= SOLVED:
            solved_at = (time.perf_counter() - start, trainer.timesteps_total)
            if stop_when_solved:
                break
    end = time.perf_counter()
    trainer.stop()
    return _train_result(start, built, end, cpu_start, trainer.timesteps_total, solved_at)


# -- Stable-Baselines3 ------------------------------------------------------------------------
def sb3_train(hp: str, seed: int, steps: int, stop_when_solved: bool) -> dict:
    from setups import sb3_ppo
    from stable_baselines3 import PPO  # noqa: F401  (imports are not part of the timed run)
    from stable_baselines3.common.callbacks import BaseCallback

    _one_thread()
    start = time.perf_counter()
    cpu_start = time.process_time()
    model = sb3_ppo(hp, seed)
    built = time.perf_counter()
    found: dict = {}

    class Watch(BaseCallback):
        """Checks the last-20 mean after every vector step (SB3's Monitor fills info)."""

        def __init__(self):
            super().__init__()
            self.returns: list[float] = []

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    self.returns.append(info["episode"]["r"])
            mean = _last_mean(self.returns)
            if "at" not in found and mean is not None and mean >= SOLVED:
                found["at"] = (time.perf_counter() - start, self.num_timesteps)
                return not stop_when_solved
            return True

    model.learn(total_timesteps=steps, callback=Watch())
    end = time.perf_counter()
    return _train_result(start, built, end, cpu_start, model.num_timesteps, found.get("at"))


def _train_result(start, built, end, cpu_start, steps, solved_at) -> dict:
    return {
        "steps": int(steps),
        "setup_s": built - start,
        "train_s": end - built,
        "steps_per_s": steps / (end - built),
        "cpu_s": time.process_time() - cpu_start,
        "solved": solved_at is not None,
        "solve_s": solved_at[0] if solved_at else None,
        "solve_steps": int(solved_at[1]) if solved_at else None,
        "peak_rss_mb": _peak_rss_mb(),
    }


# -- single-observation latency -------------------------------------------------------------
def latency(lib: str, calls: int = 3000, chunk: int = 100, engine: str = "torch") -> dict:
    """Median time per call of compute_single_action (rlkit) / predict (SB3) on real CartPole
    observations, after a short training so that the weights are not the initial ones."""
    import gymnasium as gym
    import numpy as np

    _one_thread()
    env = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=0)
    obs_list = []
    while len(obs_list) < calls:  # observations a random policy meets
        obs_list.append(obs)
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            obs, _ = env.reset()
    if lib == "rlkit":
        trainer = _rlkit_trainer("cleanrl", 0, 10_000, engine)
        trainer.train()
        act = lambda obs: trainer.compute_single_action(obs, explore=False)  # noqa: E731
    else:
        model = __import__("setups").sb3_ppo("cleanrl", 0)
        model.learn(512)
        act = lambda obs: model.predict(obs, deterministic=True)  # noqa: E731
    for obs in obs_list[:300]:  # warm-up
        act(obs)
    per_call = []
    for i in range(0, calls, chunk):
        t0 = time.perf_counter()
        for obs in obs_list[i : i + chunk]:
            act(obs)
        per_call.append((time.perf_counter() - t0) / chunk)
    return {"latency_us": float(np.median(per_call) * 1e6), "peak_rss_mb": _peak_rss_mb()}


# -- import time ------------------------------------------------------------------------------
def import_time(module: str) -> dict:
    """Seconds to import ``module`` in this fresh process, and what came along with it."""
    start = time.perf_counter()
    if module == "rlkit.algorithms.PPO":
        from rlkit.algorithms import PPO  # noqa: F401
    else:
        __import__(module)
    seconds = time.perf_counter() - start
    heavy = [name for name in ("torch", "matplotlib", "ipywidgets") if name in sys.modules]
    return {"import_s": seconds, "loaded": heavy, "peak_rss_mb": _peak_rss_mb()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=["throughput", "solve", "latency", "import"])
    parser.add_argument("--lib", choices=["rlkit", "sb3"], default="rlkit")
    parser.add_argument("--hp", choices=["cleanrl", "zoo", "default"], default="cleanrl")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=40_000)
    parser.add_argument("--module", default="rlkit")
    parser.add_argument(
        "--engine",
        choices=["torch", "numpy", "auto"],
        default="torch",
        help="rlkit's (default: its default)",
    )
    parser.add_argument("--users", action="store_true", help="no set_num_threads calls")
    args = parser.parse_args(argv)
    USERS["on"] = args.users
    if args.task == "import":
        result = import_time(args.module)
    elif args.task == "latency":
        result = latency(args.lib, engine=args.engine)
    elif args.lib == "rlkit":
        solve = args.task == "solve"
        result = rlkit_train(args.hp, args.seed, args.steps, solve, args.engine)
    else:
        result = sb3_train(args.hp, args.seed, args.steps, stop_when_solved=args.task == "solve")
    result.update(vars(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
