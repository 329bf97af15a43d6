"""PG: vanilla policy gradient, REINFORCE with reward-to-go (Williams 1992).

Key equation:  L = -E[ log pi(a_t | s_t) * G_t ],  G_t = sum_k gamma^k r_{t+k} (to episode end)

Implementation details:
1. No critic: G_t is the discounted reward-to-go inside the sampled data; an episode still
   running at the end of a batch is cut there (long fragments keep that bias small).
2. G_t is standardised over the batch (``normalize_returns``), a baseline that reduces
   variance without a value network.
3. One gradient step per iteration.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rlkit.algorithms.algorithm_config import PGConfig  # noqa: F401  (RLlib's pg.PGConfig)
from rlkit.algorithms.base import full_default_config
from rlkit.algorithms.config.keys import COMMON_KEYS, Key, defaults, override, table
from rlkit.algorithms.onpolicy import OnPolicyAlgorithm, compute_gae, masked_mean, normalize


def reward_to_go(batch: dict[str, Any], gamma: float) -> np.ndarray:
    """G_t [T, E] of a sampled batch: GAE with lambda 1 and no values (detail 1)."""
    zeros = np.zeros_like(batch["rewards"])
    returns, _ = compute_gae(
        batch["rewards"], zeros, zeros, batch["terminated"], batch["truncated"], gamma, 1.0
    )
    return returns


class PG(OnPolicyAlgorithm):
    """Vanilla policy gradient (REINFORCE with reward-to-go), without a critic.

    Config keys: ``PG.KEYS`` below, on top of the on-policy and common ones
    (rlkit.algorithms.config.keys; every key with its default: docs/CONFIG.md).
    """

    KEYS = (
        Key("normalize_returns", True, "standardise the returns over the batch", "bool"),
        override(COMMON_KEYS["rollout_fragment_length"], default=500),
        override(COMMON_KEYS["lr"], default=4e-3),
    )
    DEFAULT_CONFIG: dict[str, Any] = defaults(table(OnPolicyAlgorithm.KEYS, KEYS))
    needs_value = False

    def training_step(self) -> dict[str, float]:
        """Sample a batch, compute the reward-to-go and take one gradient step on it."""
        batch = self.sample(self.steps_per_env)  # onpolicy detail 6
        returns = reward_to_go(batch, self.config["gamma"])  # detail 1
        lb = self.learner_batch(batch, returns, returns)
        return self.learn(lb, 1, None)

    def loss(self, mb: dict[str, Any], dist: Any, values: Any) -> tuple[torch.Tensor, dict]:
        """REINFORCE loss ``-mean(logp(a) * G)``, G standardised when ``normalize_returns``.

        Args:
            mb: a minibatch of the learner batch; ``actions`` and ``advantages`` (the
                reward-to-go G_t) have one entry per row, ``[N]`` (``[N, A]`` for actions
                of a Box space).
            dist: the action distribution of the minibatch's rows.
            values: unused (PG has no critic: None).

        Returns:
            (the scalar loss, its statistics: ``policy_loss`` and ``entropy``, detached).
        """
        returns = mb["advantages"]
        if self.config["normalize_returns"]:
            returns = normalize(returns, mb)  # detail 2
        policy_loss = -masked_mean(dist.logp(mb["actions"]) * returns, mb)
        entropy = masked_mean(dist.entropy(), mb)
        return policy_loss, {"policy_loss": policy_loss.detach(), "entropy": entropy.detach()}


# RLlib's module-level names (``from ray.rllib.agents import pg; pg.PGTrainer(...)``):
# the trainer class, and the full default config (common keys included), a fresh copy per
# import so that editing it cannot change the class's defaults.
PGTrainer = PG
DEFAULT_CONFIG: dict[str, Any] = full_default_config(PG)
