"""Guards where data enters rlkit: what envs return, before it reaches a filter or a model.

A NaN reward or observation is stopped at the env step that produced it, with an error that
names the env index, the step and the field; nothing from that step is learned from. The same
check stands at the observation filter (every observation a policy sees passes it), so an
observation passed by hand to ``compute_single_action`` is caught too, and blamed on the
observation, not on the model. Env errors whose cause is a common mistake (the old gym step
API, observations of the wrong shape) are re-raised with that cause named.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class NonFiniteDataError(ValueError):
    """An env (or a caller) supplied a NaN or infinite reward or observation."""


def _all_finite(x: np.ndarray) -> bool:
    """Whether a numeric array holds no NaN/inf: its sum is finite.

    NaN and inf propagate through a sum. A False may come from an overflowing sum; callers
    then check exactly.
    """
    return x.dtype.kind not in "fc" or math.isfinite(np.add.reduce(x, axis=None, dtype=np.float64))


def nonfinite_rows(x: Any) -> tuple[np.ndarray, str]:
    """(sorted batch rows holding NaN/inf, path of the first such leaf) of a batch ``x``.

    ``x``: an array ``[B, ...]`` or nested dicts / tuples of them (vector-env layout). Integer
    leaves (images, discrete observations) cannot hold NaN and are skipped at no cost.
    """
    leaves = [("", x)]
    bad: set[int] = set()
    where = ""
    while leaves:
        path, leaf = leaves.pop()
        if isinstance(leaf, dict):
            leaves += [(f"{path}[{k!r}]", v) for k, v in leaf.items()]
            continue
        if isinstance(leaf, tuple):
            leaves += [(f"{path}[{i}]", v) for i, v in enumerate(leaf)]
            continue
        arr = np.asarray(leaf)
        if arr.dtype.kind not in "fc" or np.isfinite(arr).all():
            continue
        rows = ~np.isfinite(arr.reshape(len(arr), -1)).all(axis=1) if arr.ndim else [0]
        bad.update(np.flatnonzero(rows).tolist() if arr.ndim else [0])
        where = where or path
    return np.array(sorted(bad), dtype=np.int64), where


def check_env_data(obs: Any, rewards: np.ndarray, episode_steps: np.ndarray) -> None:
    """Raise NonFiniteDataError when a vector env step returned a non-finite reward or obs.

    Args:
        obs: the step's observations, vector-env layout (leading axis: env index E).
        rewards: [E] float32.
        episode_steps: [E] the step number within each env's episode (1-based).
    """
    if isinstance(obs, np.ndarray) and _all_finite(obs) and _all_finite(rewards):
        return  # the common case, in a few microseconds per step
    bad_reward = np.flatnonzero(~np.isfinite(rewards))
    if len(bad_reward):
        e = int(bad_reward[0])
        raise NonFiniteDataError(
            f"env {e} returned reward {rewards[e]} at step {int(episode_steps[e])} of its "
            f"episode (env index(es) {bad_reward.tolist()}); nothing from this step was learned. "
            f"Fix the env's reward (or wrap it to replace non-finite rewards) and call train() "
            f"again: the trainer is as it was before this call"
        )
    rows, path = nonfinite_rows(obs)
    if len(rows):
        e = int(rows[0])
        raise NonFiniteDataError(
            f"env {e} returned an observation{path} holding NaN or infinity at step "
            f"{int(episode_steps[e])} of its episode (env index(es) {rows.tolist()}); the env "
            f"produced it, not the model. Fix the env's observation and call train() again: "
            f"the trainer is as it was before this call"
        )


def check_obs_finite(x: np.ndarray, who: str) -> None:
    """Raise NonFiniteDataError when preprocessed observations ``x [B, *shape]`` hold NaN/inf."""
    if not _all_finite(x) and not np.isfinite(x).all():
        rows = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1) if x.ndim else np.array([True])
        raise NonFiniteDataError(
            f"{who} got an observation holding NaN or infinity (batch row(s) "
            f"{np.flatnonzero(rows).tolist()}); the observation is at fault, not the model: "
            f"check what produced it (the env, or the array passed in)"
        )


def explain_env_error(err: Exception, observation_space: Any) -> Exception | None:
    """A clearer error for an exception raised inside a vector env's step or reset.

    Returns None when its cause is not one of the common mistakes recognised here.
    """
    text = str(err)
    if "values to unpack" in text or "cannot unpack" in text:
        return TypeError(
            f"the env's step() or reset() returned the wrong number of values ({text}): "
            f"gymnasium envs return (obs, reward, terminated, truncated, info) from step() "
            f"and (obs, info) from reset(). An old gym env returns (obs, reward, done, info): "
            f"split done into terminated and truncated"
        )
    if "setting an array element with a sequence" in text:  # SyncVectorEnv's reward slot
        return ValueError(
            f"the env's step() returned a reward (or a terminated/truncated flag) that is an "
            f"array, not one number (numpy: {text}); gymnasium's reward is a float and the "
            f"flags bools: return float(reward), e.g. reward.item() for a shape-(1,) array"
        )
    if "pickle" in text.lower():  # AsyncVectorEnv sends each step's results between processes
        return TypeError(
            f"an env in vector_mode 'async' returned something that cannot be sent between "
            f"processes ({type(err).__name__}: {text}): everything step() and reset() return, "
            f"the info dict included, must be picklable. Put plain values (numbers, arrays, "
            f"strings) in info instead of functions or open handles, or use vector_mode 'sync'"
        )
    if "wrong shape" in text or "could not broadcast" in text:
        return ValueError(
            f"the env returned an observation that does not fit its observation_space "
            f"{observation_space} ({text}); return observations of the declared shape and "
            f"dtype, or fix observation_space"
        )
    return None
