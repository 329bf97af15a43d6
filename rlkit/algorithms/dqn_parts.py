"""DQN's parts: epsilon-greedy exploration, replayed transitions, the target (rlkit.algorithms.dqn).

Detail numbers refer to the implementation details in rlkit.algorithms.dqn's docstring.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rlkit.utils.config import check_keys
from rlkit.utils.seeding import generator

EXPLORATION_DEFAULTS: dict[str, Any] = {
    "type": "EpsilonGreedy",
    "initial_epsilon": 1.0,
    "final_epsilon": 0.02,
    "epsilon_timesteps": 10_000,
}


def exploration_settings(exploration_config: dict | None) -> dict[str, Any]:
    """EXPLORATION_DEFAULTS updated with the user's exploration_config, checked (detail 1)."""
    given = dict(exploration_config or {})
    check_keys(given, EXPLORATION_DEFAULTS, "DQN exploration_config")
    e = {**EXPLORATION_DEFAULTS, **given}
    if e["type"] != "EpsilonGreedy":
        raise ValueError(
            f"DQN exploration_config 'type' {e['type']!r} is not supported; rlkit's DQN "
            f"explores with 'EpsilonGreedy'"
        )
    for key in ("initial_epsilon", "final_epsilon"):
        if not (isinstance(e[key], (int, float)) and 0.0 <= e[key] <= 1.0):
            raise ValueError(
                f"DQN exploration_config '{key}' takes a number in [0, 1]; got {e[key]!r}"
            )
    steps = e["epsilon_timesteps"]
    if not (isinstance(steps, int) and steps >= 0):
        raise ValueError(
            f"DQN exploration_config 'epsilon_timesteps' takes an int >= 0; got {steps!r}"
        )
    return e


def epsilon_at(t: int, initial: float, final: float, timesteps: int) -> float:
    """Linear decay from ``initial`` at t = 0 to ``final`` at t = ``timesteps`` (detail 1)."""
    if timesteps <= 0:
        return float(final)
    frac = min(max(t, 0) / timesteps, 1.0)
    return float(initial + frac * (final - initial))


def epsilon_greedy(q: torch.Tensor, epsilon: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Epsilon-greedy actions that never pick a masked action (detail 1).

    Args:
        q: [B, n] Q-values; an entry <= finfo.min / 2 marks an unavailable action.
        epsilon: probability of a uniformly random (available) action.

    Returns:
        actions [B] int64, and their log-probability under the epsilon-greedy policy [B].
    """
    masked = q <= torch.finfo(q.dtype).min / 2  # [B, n]
    num_valid = (~masked).sum(dim=1)  # [B]
    if bool((num_valid == 0).any()):
        rows = torch.nonzero(num_valid == 0)[:, 0].tolist()
        raise ValueError(
            f"every action is masked (Q <= float min / 2) in batch row(s) {rows}; the env or "
            f"custom model must leave at least one action available in every state"
        )
    greedy = q.argmax(dim=1)
    # The argmax of i.i.d. uniform scores over the unmasked actions is a uniform choice of one.
    scores = torch.rand(q.shape, generator=generator()).to(q.device).masked_fill(masked, -1.0)
    random = scores.argmax(dim=1)
    explore = torch.rand(q.shape[0], generator=generator()).to(q.device) < epsilon
    actions = torch.where(explore, random, greedy)
    prob = epsilon / num_valid + (1.0 - epsilon) * (actions == greedy).float()
    return actions, prob.log()


def replay_rows(batch: dict[str, Any]) -> dict[str, np.ndarray]:
    """Transitions of a time-major sampler batch, valid rows only (detail 2).

    Returns: obs, next_obs [N, *obs_shape] float32 (or uint8 frames, Policy.byte_scale);
        actions [N] int64; rewards [N] float32;
        terminated [N] bool (truncated rows stay False, so they bootstrap: detail 3).
    """
    obs = batch["obs"]  # [T, E, *obs_shape]
    next_obs = np.concatenate([obs[1:], batch["last_obs"][None]])  # [T, E, *obs_shape]
    valid = batch["valid"]  # [T, E]
    return {
        "obs": obs[valid],
        "actions": batch["actions"][valid].astype(np.int64),
        "rewards": batch["rewards"][valid],
        "next_obs": next_obs[valid],
        "terminated": batch["terminated"][valid],
    }


def q_targets(
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    q_next_target: torch.Tensor,
    gamma: float,
    q_next_online: torch.Tensor | None = None,
) -> torch.Tensor:
    """Y = r + gamma * (1 - terminated) * Q_target(s', a*) (module equation).

    Args:
        rewards: [B] float32.
        terminated: [B] bool, True where s' ended the episode (no bootstrap).
        q_next_target: [B, n] target-network Q-values of next_obs.
        gamma: the discount factor.
        q_next_online: [B, n] online Q-values of next_obs: double Q picks a* by them; None
            picks a* by the target network (plain DQN).

    Returns:
        [B] targets.
    """
    chooser = q_next_online if q_next_online is not None else q_next_target
    best = chooser.argmax(dim=1)
    q_next = q_next_target.gather(1, best[:, None])[:, 0]  # [B, 1] -> [B]
    # where, not a product: a terminal state's Q may be float min (all masked) or garbage.
    return rewards + gamma * torch.where(terminated, torch.zeros_like(q_next), q_next)


class ReplayBuffer:
    """Fixed-size ring buffer of transitions in numpy (memory: 2 * capacity * obs bytes).

    Args:
        capacity: transitions kept; the oldest are overwritten first.
        obs_shape: shape of one (filtered) observation.
        obs_dtype: how observations are stored: float32, or uint8 for frames kept unscaled
            (Policy.byte_scale; a quarter of the memory).
    """

    def __init__(self, capacity: int, obs_shape: tuple, obs_dtype: type = np.float32):
        self.capacity = int(capacity)
        self.data = {
            "obs": np.zeros((self.capacity, *obs_shape), obs_dtype),
            "next_obs": np.zeros((self.capacity, *obs_shape), obs_dtype),
            "actions": np.zeros(self.capacity, np.int64),
            "rewards": np.zeros(self.capacity, np.float32),
            "terminated": np.zeros(self.capacity, bool),
        }
        self.size = 0
        self.pos = 0

    def __len__(self) -> int:
        return self.size

    def add(self, rows: dict[str, np.ndarray]) -> None:
        """Append ``replay_rows`` output (all [N, ...]); keeps the newest ``capacity``."""
        n = len(rows["rewards"])
        skip = max(0, n - self.capacity)
        index = (self.pos + np.arange(skip, n)) % self.capacity
        for key, store in self.data.items():
            store[index] = rows[key][skip:]
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int) -> dict[str, np.ndarray]:
        """``batch_size`` transitions drawn with replacement by torch's (seeded) RNG."""
        index = torch.randint(0, self.size, (batch_size,), generator=generator()).numpy()
        return {key: store[index] for key, store in self.data.items()}
