"""A headless tour: the data flow for several spaces, then training with plots.

Run with ``python -m rlkit tour`` (the README's main job when no browser is at hand).
"""

from __future__ import annotations

import math
import os
import time

import gymnasium as gym


def _show_pipeline(title: str, env: gym.Env, model_config: dict) -> None:
    from rlkit.policy import Policy

    policy = Policy(env.observation_space, env.action_space, {"model": model_config})
    obs, _ = env.reset(seed=0)
    print(f"\n== {title} ==")
    print(policy.explain())
    print("trace: " + "  ->  ".join(f"{s.name} {s.shape}" for s in policy.trace(obs)))
    env.close()


def _spaces_tour() -> None:
    from rlkit.envs import make_env

    _show_pipeline(
        "CartPole-v1: Box obs, Discrete actions",
        make_env("CartPole-v1"),
        {"fcnet_hiddens": [64, 64]},
    )
    _show_pipeline(
        "Taxi-v4: Discrete(500) obs is one-hot encoded",
        make_env("Taxi-v4"),
        {"fcnet_hiddens": [64]},
    )
    _show_pipeline(
        "Blackjack-v1: a Tuple obs is flattened", make_env("Blackjack-v1"), {"fcnet_hiddens": [32]}
    )
    _show_pipeline(
        "Pendulum-v1: Box actions -> DiagGaussian",
        make_env("Pendulum-v1"),
        {"fcnet_hiddens": [64, 64]},
    )
    try:
        pong = make_env("ALE/Pong-v5")
    except ImportError as err:
        print(f"\n(skipping Atari: {err})")
    else:
        _show_pipeline("ALE/Pong-v5: frames -> 84x84 -> VisionNetwork", pong, {"dim": 84})


def _train(algo: str, config: dict, stop_reward: float, max_steps: int) -> list[dict]:
    from rlkit.algorithms import ALGORITHMS

    trainer = ALGORITHMS[algo](env="CartPole-v1", config=config)
    history = []
    start = time.perf_counter()
    while True:
        result = trainer.train()
        history.append(result)
        reward = result["episode_reward_mean"]
        if (not math.isnan(reward) and reward >= stop_reward) or result[
            "timesteps_total"
        ] >= max_steps:
            break
    trainer.stop()
    print(
        f"{algo:4s} {config.get('model', {})}: reward {history[-1]['episode_reward_mean']:.1f} "
        f"after {history[-1]['timesteps_total']:,} steps in {time.perf_counter() - start:.1f}s"
    )
    return history


def run_tour(out: str, fast: bool = False) -> int:
    """Print the data flow for several envs, train and plot; returns an exit code."""
    from rlkit.widgets.plots import plot_learning_curves

    os.makedirs(out, exist_ok=True)
    _spaces_tour()
    print("\n== Training on CartPole-v1 (the goal: a mean return of 475) ==")
    budget = 20_000 if fast else 150_000
    runs = {
        "PPO, 64x64 MLP": _train(
            "PPO", {"seed": 0, "model": {"fcnet_hiddens": [64, 64]}}, 475, budget
        ),
        "A2C, 64x64 MLP": _train(
            "A2C", {"seed": 0, "model": {"fcnet_hiddens": [64, 64]}}, 475, budget
        ),
    }
    path = os.path.join(out, "tour_curves.png")
    plot_learning_curves(
        runs, keys=("episode_reward_mean", "entropy"), path=path, title="CartPole-v1"
    )
    print(f"\nlearning curves: {path}")
    print("Next: open the tutorials with  .venv/bin/jupyter lab notebooks/")
    return 0
