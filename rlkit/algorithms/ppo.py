"""PPO: Proximal Policy Optimization (Schulman et al. 2017, arXiv:1707.06347).

Key equation, with ratio r_t = pi(a_t | s_t) / pi_old(a_t | s_t) and advantage A_t (GAE):
    L_clip = -E[ min(r_t A_t, clip(r_t, 1 - eps, 1 + eps) A_t) ]
    L = L_clip + vf_loss_coeff * E[(V(s_t) - V_target_t)^2] - entropy_coeff * E[H(pi(.|s_t))]

Implementation details:
1. GAE advantages and value targets computed once per batch (rlkit.algorithms.onpolicy).
2. ``num_sgd_iter`` epochs over shuffled minibatches of ``sgd_minibatch_size`` rows.
3. Advantages standardised per minibatch.
4. Optional value clipping around the old prediction (``vf_clip_param``).
5. Global gradient-norm clipping (``grad_clip``).
6. Statistics: KL(pi_old || pi) from the distributions, and the fraction of clipped ratios.
"""

from __future__ import annotations

from typing import Any

import torch

from rlkit.algorithms.algorithm_config import PPOConfig  # noqa: F401  (RLlib's ppo.PPOConfig)
from rlkit.algorithms.base import full_default_config, piecewise
from rlkit.algorithms.config.keys import COMMON_KEYS, Key, defaults, override, table
from rlkit.algorithms.onpolicy import OnPolicyAlgorithm, batch_gae, masked_mean, normalize
from rlkit.engines.learner import TwinFn
from rlkit.engines.numpy.loss import ppo_loss


class PPO(OnPolicyAlgorithm):
    """Proximal Policy Optimization: epochs of clipped-ratio minibatch steps on each batch.

    Config keys: ``PPO.KEYS`` below, on top of the on-policy and common ones
    (rlkit.algorithms.config.keys; every key with its default: docs/CONFIG.md).

    Which code runs (rlkit.algorithms.onpolicy, detail 5): by default (``engine="torch"``)
    this ``loss`` itself, e.g. to step through it in a debugger; ``engine="numpy"`` (or
    "auto") opts in to its numpy twin, ``rlkit.engines.numpy.loss.ppo_loss``.
    """

    KEYS = (
        Key("lambda", 0.95, "GAE lambda", "float", 0, 1),
        Key("clip_param", 0.2, "PPO's clip range eps of the ratio", "float", 0, low_open=True),
        Key(
            "clip_param_schedule",
            None,
            "[[timestep, clip_param], ...] piecewise linear; replaces clip_param",
            "schedule",
            0,
            low_open=True,
            none=True,
        ),
        Key("num_sgd_iter", 10, "epochs over each batch", "int", 1),
        Key(
            "sgd_minibatch_size",
            256,
            "rows per gradient step (None: the whole batch)",
            "int",
            1,
            none=True,
        ),
        Key("entropy_coeff", 0.0, "weight of the entropy bonus", "float", 0),
        Key("vf_loss_coeff", 0.5, "weight of the value loss", "float", 0),
        Key(
            "vf_clip_param",
            None,
            "clip the value around its old prediction (None: no clipping)",
            "float",
            0,
            low_open=True,
            none=True,
        ),
        Key("normalize_advantages", True, "standardise advantages per minibatch", "bool"),
        override(COMMON_KEYS["grad_clip"], default=0.5),
        # A separate value network: the value loss's large gradients then cannot swamp the
        # policy's in the shared layers (set vf_share_layers True to compare).
        override(COMMON_KEYS["model"], default={"vf_share_layers": False}),
    )
    DEFAULT_CONFIG: dict[str, Any] = defaults(table(OnPolicyAlgorithm.KEYS, KEYS))

    def setup(self) -> None:
        """``self.clip``: the clip range eps of the current iteration (set at each one)."""
        super().setup()
        self.clip = self.clip_param()

    def clip_param(self) -> float:
        """The clip range eps now: ``clip_param_schedule`` at timesteps_total, if set."""
        schedule = self.config["clip_param_schedule"]
        return piecewise(schedule, self.timesteps_total) if schedule else self.config["clip_param"]

    def training_step(self) -> dict[str, float]:
        """Sample a batch, compute GAE, then ``num_sgd_iter`` epochs of minibatch steps."""
        batch = self.sample(self.steps_per_env)  # onpolicy detail 6
        advantages, targets = batch_gae(batch, self.config["gamma"], self.config["lambda"])  # 1
        lb = self.learner_batch(batch, advantages, targets)
        self.clip = self.clip_param()  # this iteration's eps, read by loss and its twin
        stats = self.learn(lb, self.config["num_sgd_iter"], self.config["sgd_minibatch_size"])
        stats["clip_param"] = self.clip
        return stats

    def loss_twin(self) -> TwinFn | None:
        """``ppo_loss`` (rlkit.engines.numpy.loss) for PPO itself; None for a subclass.

        A subclass may change ``loss`` or the forward that feeds it, so it learns through
        autograd (the torch engine) unless it says otherwise here.
        """
        if type(self) is not PPO:
            return None
        dist_class = self.policy.dist_class
        return lambda mb, outputs, values: ppo_loss(
            mb, outputs, values, self.config, self.clip, dist_class
        )

    def loss(
        self, mb: dict[str, Any], dist: Any, values: torch.Tensor
    ) -> tuple[torch.Tensor, dict]:
        """PPO's clipped surrogate loss, plus the value loss, minus the entropy bonus.

        Args:
            mb: a minibatch of the learner batch; ``actions``, ``advantages``,
                ``action_logp`` (of the sampling policy), ``value_targets`` and
                ``vf_preds`` have one entry per row, ``[N]`` (``[N, A]`` for actions of a
                Box space); ``action_dist_inputs`` ``[N, num_outputs]``.
            dist: the current action distribution of the minibatch's rows.
            values: ``[N]`` the value function's current predictions for those rows.

        Returns:
            (the scalar total loss, its statistics: ``policy_loss``, ``vf_loss`` and
            ``entropy`` detached, ``kl`` and ``clip_fraction``).
        """
        adv = mb["advantages"]
        if self.config["normalize_advantages"]:
            adv = normalize(adv, mb)  # detail 3
        logp = dist.logp(mb["actions"])
        ratio = torch.exp(logp - mb["action_logp"])
        clip = self.clip
        surrogate = torch.min(ratio * adv, ratio.clamp(1.0 - clip, 1.0 + clip) * adv)
        policy_loss = -masked_mean(surrogate, mb)
        vf_err = (values - mb["value_targets"]) ** 2
        if self.config["vf_clip_param"]:  # detail 4
            clipped = mb["vf_preds"] + (values - mb["vf_preds"]).clamp(
                -self.config["vf_clip_param"], self.config["vf_clip_param"]
            )
            vf_err = torch.max(vf_err, (clipped - mb["value_targets"]) ** 2)
        vf_loss = 0.5 * masked_mean(vf_err, mb)
        total = policy_loss + self.config["vf_loss_coeff"] * vf_loss
        if self.config["entropy_coeff"]:
            entropy = masked_mean(dist.entropy(), mb)
            total = total - self.config["entropy_coeff"] * entropy
        else:  # only a statistic: keep it out of the backward pass
            with torch.no_grad():
                entropy = masked_mean(dist.entropy(), mb)
        with torch.no_grad():  # detail 6
            old = self.policy.dist_class(mb["action_dist_inputs"], self.model)
            try:
                kl = masked_mean(old.kl(dist), mb)
            except NotImplementedError:
                kl = masked_mean(mb["action_logp"] - logp, mb)
            clip_fraction = masked_mean(((ratio - 1.0).abs() > clip).float(), mb)
        return total, {
            "policy_loss": policy_loss.detach(),
            "vf_loss": vf_loss.detach(),
            "entropy": entropy.detach(),
            "kl": kl,
            "clip_fraction": clip_fraction,
        }


# RLlib's module-level names (``from ray.rllib.agents import ppo; ppo.PPOTrainer(...)``):
# the trainer class, and the full default config (common keys included), a fresh copy per
# import so that editing it cannot change the class's defaults.
PPOTrainer = PPO
DEFAULT_CONFIG: dict[str, Any] = full_default_config(PPO)
