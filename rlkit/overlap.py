"""Overlapped sampling: two halves of the envs, each stepping while the other's forward runs.

ale-py's native vector env steps its games on C++ threads: ``send(actions)`` starts a step and
returns at once, ``recv()`` waits for it. With the ``num_envs`` copies split into two vector
envs A and B, one rollout step runs

    forward(B) while A's envs step -> recv(A) -> forward(A, its next obs) while B's envs step
    -> recv(B)

so the emulators and the policy's forward run at the same time, on cores of their own. Each env
still acts on its own latest observation with the current policy, and the rollout stops at its
last step (nothing is sent ahead across ``train()`` calls): the batch is exactly as on-policy
as one stepped in lockstep. What differs from lockstep is the order of the random draws (A's
actions, then B's, step by step) and so the trajectories a seed gives; env ``e`` is still
seeded ``seed + e``.

Config key ``sample_overlap``: False (the default) steps every env in lockstep; True overlaps
(an error names why it cannot); "auto" overlaps where the vector env can send and receive
(ALE ids under ``vector_mode`` "auto"/"vector") with ``num_envs`` >= 2 and no Ray env runners.
``train()`` results say which ran (``sample_overlap``: "on: halves of 4 + 4 envs"). It is not
the default because on the project's 2-core machine it did not pay: the rollout itself ran
~15% faster, but whole PPO iterations ran at +1% quiet and -6% with a busy neighbour (the
envs' threads, the policy's and the learner's compete for two cores; benchmarks/README.md,
Atari). It is for machines with cores to spare.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from rlkit.sampling import Sampler, add_episodes, episode_stats, episodes_since
from rlkit.utils.threads import limit_threads


def can_overlap(vec_env: Any, config: dict) -> str:
    """Why a trainer's envs cannot be overlapped ("" when they can)."""
    if config.get("num_env_runners", 0) > 0:
        return "Ray env runners step the envs (num_env_runners > 0)"
    if config["num_envs"] < 2:
        return f"num_envs is {config['num_envs']}; two halves need at least 2"
    if not (hasattr(vec_env, "send") and hasattr(getattr(vec_env, "env", None), "send")):
        return (
            f"the vector env ({type(vec_env).__name__}) cannot start a step and return; "
            "ale-py's native vector env can (ALE/* ids under vector_mode 'auto' or 'vector')"
        )
    return ""


def overlap_note(sampler: Any) -> str:
    """How a trainer's sampler steps its envs, for ``train()``'s result ``sample_overlap``."""
    halves = getattr(sampler, "halves", None)
    if halves is None:
        return "off: every env steps, then the policy acts for all"
    return f"on: halves of {halves[0].num_envs} + {halves[1].num_envs} envs"


def join_halves(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Batches ``[T, E_i, ...]`` -> one ``[T, sum E_i, ...]``, in order (``last_obs`` on axis 0).

    One array serves ``obs`` and ``unfiltered_obs`` when it did in every part (no filter).
    """
    same = all(p["unfiltered_obs"] is p["obs"] for p in parts)
    out: dict[str, Any] = {}
    for key in parts[0]:
        if key == "state_in":
            out[key] = [
                np.concatenate([p[key][i] for p in parts], axis=1)
                for i in range(len(parts[0][key]))
            ]
        elif key == "last_obs":
            out[key] = np.concatenate([p[key] for p in parts], axis=0)
        elif not (key == "unfiltered_obs" and same):
            out[key] = np.concatenate([p[key] for p in parts], axis=1)
    if same:
        out["unfiltered_obs"] = out["obs"]
    return out


def _half_seeds(seed: int | None, first: int) -> tuple[int | None, int | None]:
    """The halves' first-reset seeds: env ``e`` is seeded ``seed + e``, as in lockstep."""
    return seed, None if seed is None else seed + first


class OverlappedSampler:
    """A ``Sampler``'s interface over two half Samplers whose steps overlap (module docstring).

    Args:
        halves: the two Samplers, over the first and the second half of the envs.
    """

    @classmethod
    def build(cls, env: Any, policy: Any, config: dict, seed: int | None) -> OverlappedSampler:
        """Two Samplers over ``config["num_envs"]`` envs in halves (the larger one second)."""
        n = config["num_envs"]
        sizes = (n // 2, n - n // 2)
        mode = (config["env_config"], config["vector_mode"])
        seeds = _half_seeds(seed, sizes[0])
        return cls([Sampler(env, policy, k, *mode, s, config=config) for k, s in zip(sizes, seeds)])

    def __init__(self, halves: list[Sampler]):
        self.halves = halves
        self.policy = halves[0].policy
        self.num_envs = sum(h.num_envs for h in halves)
        self.episode_returns: deque[float] = deque(maxlen=100)
        self.episode_lengths: deque[int] = deque(maxlen=100)
        self.episodes_total = 0
        self._seen = [h.episodes_total for h in halves]

    @property
    def obs(self) -> Any:
        """The current raw observations of every env, ``[E, ...]``."""
        return np.concatenate([h.obs for h in self.halves])

    @property
    def env(self) -> Any:
        """The first half's vector env (both halves have the same spaces)."""
        return self.halves[0].env

    @property
    def _broken(self) -> bool:
        return any(h._broken for h in self.halves)

    @_broken.setter
    def _broken(self, value: bool) -> None:
        for h in self.halves:
            h._broken = value

    def sample(
        self, num_steps: int, with_value: bool = True, compute_actions: Callable | None = None
    ) -> dict[str, Any]:
        """``num_steps`` steps of every env, as ``Sampler.sample`` returns them."""
        with limit_threads(self.policy.threads.acting()):
            for h in self.halves:
                if h._broken:  # an interrupted step may have left an env half-stepped
                    h.reset()
            self._broken = True
            batch = self._sample(num_steps, with_value, compute_actions)
            self._broken = False
        self._count_episodes()
        return batch

    def _sample(
        self, num_steps: int, with_value: bool, compute_actions: Callable | None
    ) -> dict[str, Any]:
        a, b = self.halves
        compute = compute_actions or self.policy.compute_actions
        values = with_value and not a.value_later(with_value)
        rows: tuple[list, list] = ([], [])
        with self.policy.pin_engine():
            started_a = a.start_step(compute, values, send=True)
            for t in range(num_steps):
                started_b = b.start_step(compute, values, send=True)  # while A's envs step
                rows[0].append(a.finish_step(started_a))
                if t + 1 < num_steps:
                    started_a = a.start_step(compute, values, send=True)  # while B's step
                rows[1].append(b.finish_step(started_b))
            return join_halves([h.assemble(r, with_value) for h, r in zip(self.halves, rows)])

    def _count_episodes(self) -> None:
        """Move the episodes each half finished into this sampler's statistics."""
        for i, h in enumerate(self.halves):
            add_episodes(self, episodes_since(h, self._seen[i]))
            self._seen[i] = h.episodes_total

    def stats(self) -> dict[str, float]:
        """Mean return and length over the last 100 finished episodes (NaN before the first)."""
        return episode_stats(self.episode_returns, self.episode_lengths, self.episodes_total)

    def reset(self, seed: int | None = None) -> None:
        """Fresh episodes in every env (env ``e`` seeded ``seed + e``)."""
        for half, half_seed in zip(self.halves, _half_seeds(seed, self.halves[0].num_envs)):
            half.reset(half_seed)

    def close(self) -> None:
        """Close both halves' envs."""
        for h in self.halves:
            h.close()
