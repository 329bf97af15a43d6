"""Evaluation as RLlib runs it: every ``evaluation_interval`` iterations, a few greedy episodes.

RLlib's keys, with RLlib's meaning:

    evaluation_interval       evaluate after every N-th train() (None or 0: never)
    evaluation_duration       how much: N episodes, or N env steps (the unit below)
    evaluation_duration_unit  "episodes" (RLlib's default) or "timesteps"
    evaluation_config         overrides for the evaluation run: explore (False unless set),
                              env_config, num_envs, seed
    evaluation_num_env_runners  0: rlkit evaluates in this process (older name
                              evaluation_num_workers)

The evaluation env is its own vector env (``evaluation_config["num_envs"]`` copies, default 1)
stepped by the trainer's policy with the observation filter frozen (RLlib does not update
filters while evaluating), so evaluating never changes what training does next. Its figures
land under ``result["evaluation"]``, as RLlib's: ``episode_reward_mean`` (and RLlib 2.x's
``episode_return_mean``), ``episode_len_mean``, ``episodes_this_iter``, ``timesteps_this_iter``
and the same under ``result["evaluation"]["env_runners"]``.
"""

from __future__ import annotations

import functools
from collections import deque
from typing import Any

import numpy as np

from rlkit.algorithms.config.keys import Key

# evaluation_config keys and what they do; any other key there is an error.
EVALUATION_OVERRIDES = {
    "explore": "sample actions (True) or take the distribution's deterministic one (False)",
    "env_config": "the evaluation env's env_config (default: the training one)",
    "num_envs": "env copies stepped at once while evaluating (default 1)",
    "seed": "seed of the evaluation envs' first reset (default: the trainer's seed + 1)",
}


def _check_overrides(value: Any) -> None:
    for name, given in value.items():
        if name not in EVALUATION_OVERRIDES:
            raise ValueError(
                f"evaluation_config key {name!r} is not one rlkit's evaluation uses; it takes "
                f"{', '.join(sorted(EVALUATION_OVERRIDES))} (training keys such as lr change "
                f"nothing while evaluating: set them in the main config)"
            )
        if name == "explore" and not isinstance(given, bool):
            raise ValueError(f"evaluation_config 'explore' takes True or False; got {given!r}")
        if name == "num_envs" and (
            isinstance(given, bool) or not isinstance(given, int) or given < 1
        ):
            raise ValueError(f"evaluation_config 'num_envs' takes an int >= 1; got {given!r}")


EVALUATION_KEYS: tuple[Key, ...] = (
    Key(
        "evaluation_interval",
        None,
        "evaluate after every N-th train() (RLlib's; None or 0: never); results under "
        "result['evaluation']",
        "int",
        0,
        none=True,
    ),
    Key(
        "evaluation_duration",
        10,
        "episodes (or env steps, see evaluation_duration_unit) of one evaluation",
        "int",
        1,
    ),
    Key(
        "evaluation_duration_unit",
        "episodes",
        "unit of evaluation_duration: 'episodes' or 'timesteps'",
        "choice",
        choices=("episodes", "timesteps"),
    ),
    Key(
        "evaluation_config",
        {},
        "overrides while evaluating: explore (default False), env_config, num_envs, seed",
        "dict",
        check_nested=_check_overrides,
    ),
    Key(
        "evaluation_num_env_runners",
        0,
        "RLlib's evaluation workers; rlkit evaluates in this process (0; older name "
        "evaluation_num_workers)",
        "int",
        0,
        0,
        hint="rlkit evaluates in this process: set 0 or leave it out",
    ),
)


def evaluation_due(config: dict[str, Any], iteration: int) -> bool:
    """Whether train() number ``iteration`` (1-based) ends with an evaluation."""
    interval = config["evaluation_interval"]
    return bool(interval) and iteration % interval == 0


class Evaluator:
    """Runs a trainer's policy on an evaluation env of its own; see the module docstring.

    Args:
        env: the trainer's env (anything rlkit.envs.make_env takes).
        policy: the trainer's Policy (its filter is not updated here).
        action_fn: how the algorithm acts (Algorithm.action_fn(): DQN's epsilon-greedy
            becomes greedy with explore False).
        config: the trainer's full config.
    """

    def __init__(self, env: Any, policy: Any, action_fn: Any, config: dict[str, Any]):
        from rlkit.sampling import Sampler

        overrides = config["evaluation_config"]
        self.explore = overrides.get("explore", False)
        seed = overrides.get("seed", None if config["seed"] is None else config["seed"] + 1)
        self.seed = seed
        self.config = config
        self.action_fn = action_fn
        self.sampler = Sampler(
            env,
            policy,
            overrides.get("num_envs", 1),
            overrides.get("env_config", config["env_config"]),
            config["vector_mode"],
            seed,
            config=config,
        )
        self.rounds = 0

    def evaluate(self) -> dict[str, Any]:
        """One evaluation: fresh episodes until the duration is reached; returns its figures."""
        sampler = self.sampler
        # Fresh episodes each time, from a seed that moves on, so two evaluations differ.
        sampler.reset(None if self.seed is None else self.seed + 1000 * self.rounds)
        self.rounds += 1
        first = sampler.episodes_total
        sampler.episode_returns, sampler.episode_lengths = deque(), deque()  # this round's
        act = functools.partial(self.action_fn, explore=self.explore, update_filter=False)
        episodes = self.config["evaluation_duration_unit"] == "episodes"
        target = self.config["evaluation_duration"]
        steps = 0
        while True:
            batch = sampler.sample(1, with_value=False, compute_actions=act)
            steps += int(batch["valid"].sum())
            done = sampler.episodes_total - first
            if (episodes and done >= target) or (not episodes and steps >= target):
                break
        returns, lengths = list(sampler.episode_returns), list(sampler.episode_lengths)
        if episodes:  # several envs may finish together: RLlib reports exactly N episodes
            returns, lengths = returns[:target], lengths[:target]
        return evaluation_result(returns, lengths, steps)

    def close(self) -> None:
        """Close the evaluation envs."""
        self.sampler.close()


def evaluation_result(returns: list, lengths: list, steps: int) -> dict[str, Any]:
    """RLlib's evaluation figures from the episodes' returns and lengths (NaN for none)."""
    mean = float(np.mean(returns)) if returns else float("nan")
    figures = {
        "episode_reward_mean": mean,
        "episode_return_mean": mean,
        "episode_reward_min": float(np.min(returns)) if returns else float("nan"),
        "episode_reward_max": float(np.max(returns)) if returns else float("nan"),
        "episode_len_mean": float(np.mean(lengths)) if lengths else float("nan"),
        "episodes_this_iter": len(returns),
        "num_episodes": len(returns),
        "timesteps_this_iter": steps,
        "hist_stats": {"episode_reward": list(returns), "episode_lengths": list(lengths)},
    }
    return {**figures, "env_runners": dict(figures)}
