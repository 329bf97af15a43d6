"""What ``Algorithm.train()`` returns: one iteration's figures, in rlkit's and RLlib's places.

rlkit's result is flat (``result["episode_reward_mean"]``, ``result["policy_loss"]``); RLlib's
code reads the learner's statistics under ``result["info"]["learner"]["default_policy"]``
(``learner_stats``, and ``model``: the model's ``metrics()``), and RLlib 2.x's nested names
(``env_runners/episode_return_mean``; rlkit.algorithms.common.rllib_api), so they are there too.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from rlkit.algorithms.common.rllib_api import DEFAULT_POLICY_ID, rllib_result_keys
from rlkit.engines.learner import model_metrics
from rlkit.overlap import overlap_note


def iteration_result(trainer: Any, stats: dict[str, Any], start: float) -> dict[str, Any]:
    """The result of the iteration ``trainer`` just finished.

    Args:
        trainer: the Algorithm (its sampler, counters, engine, learning rate and model).
        stats: the iteration's learner statistics (``training_step``'s, combined).
        start: ``time.perf_counter()`` when the iteration began.
    """
    result = {
        **trainer.sampler.stats(),
        "timesteps_total": trainer.timesteps_total,
        "training_iteration": trainer.iteration,
        "time_total_s": trainer.time_total_s,
        "time_this_iter_s": time.perf_counter() - start,
        "lr": trainer.current_lr(),
        "engine": trainer.engine.name,
        "engine_reason": trainer.engine.reason,
        # num_threads="auto": what this iteration's pools were sized to, and why.
        "num_threads": trainer.policy.threads.learner(),
        "num_threads_sampling": trainer.policy.threads.acting(),
        "num_threads_reason": trainer.policy.threads.describe(),
        "sample_overlap": overlap_note(trainer.sampler),  # rlkit.overlap
        **stats,
    }
    # (A DQN iteration before learning_starts made no update: no metrics to report.)
    learned = stats.get("num_updates", 1) > 0
    policy_info = {
        "learner_stats": dict(stats),
        "model": model_metrics(trainer.model) if learned else {},
        # RLlib's holds what on_learn_on_batch callbacks add; rlkit has no callbacks.
        "custom_metrics": {},
    }
    result["info"] = {"learner": {DEFAULT_POLICY_ID: policy_info}}
    result.update(rllib_result_keys(result))  # RLlib 2.x's nested names too
    return result


def mean_stats(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """One iteration's statistics from several training steps'.

    Each is the mean over the steps that report a finite value (NaN where none does); a
    name or a flag is the last step's.
    """
    out = {}
    for key, last in steps[-1].items():
        if isinstance(last, (bool, str)) or not isinstance(last, (int, float)):
            out[key] = last  # e.g. a name: the last step's
            continue
        values = [float(s[key]) for s in steps if key in s and np.isfinite(s[key])]
        out[key] = float(np.mean(values)) if values else float("nan")
    return out
