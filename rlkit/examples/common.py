"""What every example's ``main`` shares: the command line and the training loop.

    python -m rlkit.examples.<name> --algo PPO --stop-reward 150 --stop-timesteps 100000 --seed 0

``train`` calls ``trainer.train()`` until the mean episode reward reaches ``stop_reward`` or
``stop_timesteps`` env steps have been sampled, printing one line per iteration, and returns
every result so an example (or a test) can look at the learning curve.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from typing import Any


def example_parser(
    description: str,
    algos: Sequence[str],
    stop_reward: float | None,
    stop_timesteps: int | None,
) -> argparse.ArgumentParser:
    """The four options every example takes; ``algos[0]`` is the default algorithm."""
    parser = argparse.ArgumentParser(
        description=description.strip().splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--algo", choices=list(algos), default=algos[0], help="the trainer")
    parser.add_argument(
        "--stop-reward", type=float, default=stop_reward, help="stop at this mean reward"
    )
    parser.add_argument(
        "--stop-timesteps", type=int, default=stop_timesteps, help="stop after this many steps"
    )
    parser.add_argument("--seed", type=int, default=0, help="seeds torch, numpy and the envs")
    return parser


def make_trainer(algo: str, env: Any, config: dict[str, Any]) -> Any:
    """``ALGORITHMS[algo](env=env, config=config)``, imported here so ``--help`` stays fast."""
    from rlkit.algorithms import ALGORITHMS

    return ALGORITHMS[algo](env=env, config=config)


def train(
    trainer: Any,
    stop_reward: float | None,
    stop_timesteps: int,
    show: Sequence[str] = (),
    verbose: bool = True,
) -> list[dict[str, Any]]:
    """Train until the mean reward reaches ``stop_reward`` or ``stop_timesteps`` are used.

    Args:
        trainer: a built rlkit trainer.
        stop_reward: target ``episode_reward_mean`` (None: run to ``stop_timesteps``).
        stop_timesteps: budget of sampled env steps.
        show: extra result keys to print each iteration (e.g. a model metric).
        verbose: print one line per iteration and a final summary.

    Returns:
        The result dict of every iteration, in order.
    """
    history: list[dict[str, Any]] = []
    while True:
        result = trainer.train()
        history.append(result)
        reward, steps = result["episode_reward_mean"], result["timesteps_total"]
        if verbose:
            extras = "".join(f"  {k} {result[k]:.4g}" for k in show if k in result)
            print(
                f"iter {result['training_iteration']:4d}  steps {steps:8,d}  "
                f"reward {reward:8.2f}{extras}",
                flush=True,
            )
        if stop_reward is not None and not math.isnan(reward) and reward >= stop_reward:
            break
        if steps >= stop_timesteps:
            break
    if verbose:
        final = history[-1]
        reached = stop_reward is not None and final["episode_reward_mean"] >= stop_reward
        print(
            f"final: episode_reward_mean {final['episode_reward_mean']:.2f} after "
            f"{final['timesteps_total']:,} steps ({'reached' if reached else 'did not reach'} "
            f"{stop_reward})"
        )
    return history


def steps_to_reach(history: Sequence[dict[str, Any]], reward: float) -> int | None:
    """Env steps of the first iteration whose mean reward is >= ``reward`` (None: never)."""
    for result in history:
        if result["episode_reward_mean"] >= reward:
            return int(result["timesteps_total"])
    return None
