"""A2C: synchronous advantage actor-critic (Mnih et al. 2016, arXiv:1602.01783).

Key equation: one gradient step per batch on
    L = -E[log pi(a_t | s_t) A_t] + vf_loss_coeff * E[(V(s_t) - V_target_t)^2]
        - entropy_coeff * E[H(pi(.|s_t))]
with A_t from GAE (``lambda`` 1.0 gives the n-step return of the original paper).

Implementation details:
1. Short fragments from many envs (8 x 16 steps by default), bootstrapped with V(s_T).
2. Truncated episodes bootstrap with V(final obs); terminated ones with 0.
3. One gradient step per iteration over the whole batch, gradient-norm clipped.
"""

from __future__ import annotations

from typing import Any

import torch

from rlkit.algorithms.algorithm_config import A2CConfig  # noqa: F401  (RLlib's a2c.A2CConfig)
from rlkit.algorithms.base import full_default_config
from rlkit.algorithms.config.keys import COMMON_KEYS, Key, defaults, override, table
from rlkit.algorithms.onpolicy import OnPolicyAlgorithm, batch_gae, masked_mean
from rlkit.engines.learner import TwinFn
from rlkit.engines.numpy.loss import a2c_loss


class A2C(OnPolicyAlgorithm):
    """Synchronous advantage actor-critic: GAE advantages, one gradient step per (micro)batch.

    Config keys: ``A2C.KEYS`` below, on top of the on-policy and common ones
    (rlkit.algorithms.config.keys; every key with its default: docs/CONFIG.md).

    Which code runs (rlkit.algorithms.onpolicy, detail 5): by default (``engine="torch"``)
    this ``loss`` itself, e.g. to step through it in a debugger; ``engine="numpy"`` (or
    "auto") opts in to its numpy twin, ``rlkit.engines.numpy.loss.a2c_loss``.
    """

    KEYS = (
        Key("lambda", 1.0, "GAE lambda (1.0: n-step returns)", "float", 0, 1),
        Key("entropy_coeff", 0.01, "weight of the entropy bonus", "float", 0),
        Key("vf_loss_coeff", 0.5, "weight of the value loss", "float", 0),
        Key(
            "microbatch_size",
            None,
            "rows per gradient step, several steps per batch (None: one step on the whole batch)",
            "int",
            1,
            none=True,
        ),
        override(COMMON_KEYS["rollout_fragment_length"], default=16),
        override(COMMON_KEYS["lr"], default=1e-3),
        override(COMMON_KEYS["grad_clip"], default=0.5),
        # A separate value network, as for PPO: the value loss cannot swamp the policy's
        # gradient in shared layers.
        override(COMMON_KEYS["model"], default={"vf_share_layers": False}),
    )
    DEFAULT_CONFIG: dict[str, Any] = defaults(table(OnPolicyAlgorithm.KEYS, KEYS))

    def training_step(self) -> dict[str, float]:
        """Sample a batch, compute GAE advantages and value targets, take a gradient step.

        With ``microbatch_size``, one gradient step per microbatch instead.
        """
        batch = self.sample(self.steps_per_env)  # onpolicy detail 6
        advantages, targets = batch_gae(batch, self.config["gamma"], self.config["lambda"])
        lb = self.learner_batch(batch, advantages, targets)
        return self.learn(lb, 1, self.config["microbatch_size"])

    def loss_twin(self) -> TwinFn | None:
        """``a2c_loss`` (rlkit.engines.numpy.loss) for A2C itself; None for a subclass."""
        if type(self) is not A2C:
            return None
        dist_class = self.policy.dist_class
        return lambda mb, outputs, values: a2c_loss(mb, outputs, values, self.config, dist_class)

    def loss(
        self, mb: dict[str, Any], dist: Any, values: torch.Tensor
    ) -> tuple[torch.Tensor, dict]:
        """Actor-critic loss: policy gradient, plus the value loss, minus the entropy bonus.

        Args:
            mb: a minibatch of the learner batch; ``actions``, ``advantages`` and
                ``value_targets`` have one entry per row, ``[N]`` (``[N, A]`` for actions
                of a Box space).
            dist: the action distribution of the minibatch's rows.
            values: ``[N]`` the value function's predictions for those rows.

        Returns:
            (the scalar total loss, its statistics: ``policy_loss``, ``vf_loss`` and
            ``entropy``, detached).
        """
        logp = dist.logp(mb["actions"])
        policy_loss = -masked_mean(logp * mb["advantages"], mb)
        vf_loss = 0.5 * masked_mean((values - mb["value_targets"]) ** 2, mb)
        entropy = masked_mean(dist.entropy(), mb)
        total = (
            policy_loss
            + self.config["vf_loss_coeff"] * vf_loss
            - self.config["entropy_coeff"] * entropy
        )
        return total, {
            "policy_loss": policy_loss.detach(),
            "vf_loss": vf_loss.detach(),
            "entropy": entropy.detach(),
        }


# RLlib's module-level names (``from ray.rllib.agents import a2c; a2c.A2CTrainer(...)``):
# the trainer class, and the full default config (common keys included), a fresh copy per
# import so that editing it cannot change the class's defaults.
A2CTrainer = A2C
DEFAULT_CONFIG: dict[str, Any] = full_default_config(A2C)
