"""What PG, A2C and PPO share: advantages, learner batches (flat or sequences) and the loop.

Implementation details (numbers referenced in the code):
1. Advantages by GAE (Schulman et al. 2016, arXiv:1506.02438):
   delta_t = r_t + gamma * V(s_{t+1}) * (1 - terminated_t) - V(s_t)
   A_t = delta_t + gamma * lambda * (1 - done_t) * A_{t+1},  done_t = terminated_t or truncated_t
   A truncated episode bootstraps with V(final obs); a terminated one with 0.
2. Autoreset rows (valid = False) are dropped from every loss.
3. Recurrent models train on sequences: each env's rows are chopped at episode ends and at
   max_seq_len, zero-padded to max_seq_len, and padded steps are masked out of the loss; the
   model gets the real lengths as ``seq_lens`` (RLlib's layout). Each
   sequence starts from the recurrent state the sampler had at its first row.
4. ``Model.custom_loss(loss, loss_inputs)`` gets the algorithm's total loss and returns the loss
   that is optimised; ``Model.metrics()`` is reported in the result.
5. The fast path: where the numpy engine (rlkit.models.numpy_mlp) runs the model and the
   algorithm has a numpy twin of its loss, a gradient step skips torch's autograd: the engine
   runs the model forward, the twin gives the loss and its gradient w.r.t. the model's
   outputs and values, the engine backpropagates that into each parameter's ``.grad``, and
   the same clipping and the same torch optimizer apply it. Same maths, ~3x less time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from rlkit.algorithms.base import Algorithm
from rlkit.algorithms.learner import check_update, model_metrics, optimise
from rlkit.algorithms.numpy_loss import TWINS
from rlkit.distributions import Deterministic
from rlkit.models.base import Model
from rlkit.models.numpy_mlp import NumpyMLP
from rlkit.preprocessors import restore_original_dimensions


def compute_gae(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    gamma: float,
    lam: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimates (detail 1).

    Args: all [T, E] arrays (time-major), next_values = V(s_{t+1}) for every row.
    Returns: (advantages [T, E], value targets = advantages + values [T, E]), float32.
    """
    T = rewards.shape[0]
    not_term = 1.0 - terminated.astype(np.float32)
    not_done = 1.0 - (terminated | truncated).astype(np.float32)
    deltas = rewards + gamma * next_values * not_term - values
    adv = np.zeros_like(deltas, dtype=np.float32)
    last = np.zeros(deltas.shape[1], dtype=np.float32)
    for t in reversed(range(T)):
        last = deltas[t] + gamma * lam * not_done[t] * last
        adv[t] = last
    return adv, (adv + values).astype(np.float32)


def sequence_index(
    eps_id: np.ndarray, max_seq_len: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chop env-major rows into padded sequences (detail 3).

    Args:
        eps_id: [E, T] episode ids (env-major, so each env's rows are contiguous).
        max_seq_len: L.

    Returns:
        index [S, L] int64 rows of the flattened [E*T] batch (a padding step points at the
        sequence's last row; what the model sees there is zeroed, see MODEL_INPUTS),
        mask [S, L] bool, True on real steps, and seq_lens [S] int64, the real lengths.
    """
    from rlkit.models.sequences import sequence_lengths

    flat_ids = eps_id.reshape(-1)  # [E*T]
    seq_lens = sequence_lengths(flat_ids, max_seq_len)
    starts = np.concatenate([[0], np.cumsum(seq_lens)[:-1]])
    offsets = np.arange(max_seq_len)
    mask = offsets[None, :] < seq_lens[:, None]  # [S, L]
    index = np.minimum(starts[:, None] + offsets[None, :], starts[:, None] + seq_lens[:, None] - 1)
    return index.astype(np.int64), mask, seq_lens


# What a recurrent model reads: zero on padding steps, as RLlib pads. The loss columns keep
# the last real row there (masked out of every loss, and never an out-of-range action).
MODEL_INPUTS = ("obs", "prev_actions", "prev_rewards")


class OnPolicyAlgorithm(Algorithm):
    """Sample -> advantages -> minibatch epochs of ``loss``. Subclasses define ``loss``."""

    lam_key = "lambda"

    def check_policy(self) -> None:
        """Policy-gradient maths needs log-probabilities that depend on the model."""
        dist = getattr(self.policy.dist_class, "func", self.policy.dist_class)
        if dist is Deterministic:
            raise ValueError(
                f"{type(self).__name__} cannot train with the Deterministic action distribution: "
                f"its log-probability is constant, so the policy gradient is zero. Use a "
                f"stochastic one (Categorical, DiagGaussian, SquashedGaussian, Beta)"
            )

    def postprocess(self, batch: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """(advantages, value targets), both [T, E]."""
        return compute_gae(
            batch["rewards"],
            batch["vf_preds"],
            batch["next_vf"],
            batch["terminated"],
            batch["truncated"],
            self.config["gamma"],
            self.config[self.lam_key],
        )

    def learner_batch(
        self, batch: dict[str, Any], advantages: np.ndarray, targets: np.ndarray
    ) -> dict[str, Any]:
        """Tensors on the learner device: flat valid rows, or padded sequences (detail 2, 3)."""
        fields = {
            "obs": batch["obs"],
            "actions": batch["actions"],
            "action_logp": batch["action_logp"],
            "advantages": advantages,
            "value_targets": targets,
            "rewards": batch["rewards"],
            "action_dist_inputs": batch["action_dist_inputs"],
            "prev_actions": batch["prev_actions"],
            "prev_rewards": batch["prev_rewards"],
        }
        if "vf_preds" in batch:
            fields["vf_preds"] = batch["vf_preds"]
        dev = self.device
        if not self.policy.is_recurrent():
            valid = batch["valid"].reshape(-1)  # [T*E]
            out = {
                k: torch.as_tensor(v.reshape(-1, *v.shape[2:])[valid], device=dev)
                for k, v in fields.items()
            }
            out["num_rows"] = int(valid.sum())
            return out
        # Env-major so that each env's steps are contiguous: [T, E, ...] -> [E*T, ...].
        em = {k: np.swapaxes(v, 0, 1).reshape(-1, *v.shape[2:]) for k, v in fields.items()}
        index, steps, seq_lens = sequence_index(
            np.swapaxes(batch["eps_id"], 0, 1), self.policy.model_config["max_seq_len"]
        )
        mask = steps & np.swapaxes(batch["valid"], 0, 1).reshape(-1)[index]
        keep = mask.any(axis=1)  # sequences made only of autoreset rows carry nothing
        index, mask, steps, seq_lens = index[keep], mask[keep], steps[keep], seq_lens[keep]
        S, L = index.shape
        out = {k: torch.as_tensor(v[index.reshape(-1)], device=dev) for k, v in em.items()}
        padding = torch.as_tensor(~steps.reshape(-1), device=dev)  # [S*L]
        for k in MODEL_INPUTS:
            out[k][padding] = 0
        state_em = [np.swapaxes(s, 0, 1).reshape(-1, *s.shape[2:]) for s in batch["state_in"]]
        out["state_in"] = [torch.as_tensor(s[index[:, 0]], device=dev) for s in state_em]
        out["mask"] = torch.as_tensor(mask.reshape(-1), device=dev)  # [S*L]
        out["seq_lens"] = torch.as_tensor(seq_lens, dtype=torch.long, device=dev)  # [S] real
        out["max_seq_len"] = L
        out["num_seqs"] = S
        out["num_rows"] = int(mask.sum())
        return out

    def minibatches(self, lb: dict[str, Any], minibatch_size: int | None):
        """Random minibatches of rows (or of whole sequences for recurrent models)."""
        recurrent = "seq_lens" in lb
        n = lb["num_seqs"] if recurrent else lb["num_rows"]
        if recurrent:
            L = lb["max_seq_len"]
            per = max(1, (minibatch_size or n * L) // L)
        else:
            per = minibatch_size or n
        if not recurrent and per >= n:
            # One minibatch of every row (e.g. RL Zoo's PPO settings): the loss is a mean, so
            # the row order does not matter and the batch is used as it is, without a copy.
            mb = {k: v for k, v in lb.items() if isinstance(v, torch.Tensor)}
            mb["state_in"], mb["seq_lens"] = [], None
            yield mb
            return
        perm = torch.randperm(n, device=self.device)
        for start in range(0, n, per):
            idx = perm[start : start + per]
            if recurrent:
                rows = (idx[:, None] * L + torch.arange(L, device=self.device)).reshape(-1)
                mb = {
                    k: v[rows]
                    for k, v in lb.items()
                    if isinstance(v, torch.Tensor) and k not in ("seq_lens",)
                }
                mb["state_in"] = [s[idx] for s in lb["state_in"]]
                mb["seq_lens"] = lb["seq_lens"][idx]
            else:
                mb = {k: v[idx] for k, v in lb.items() if isinstance(v, torch.Tensor)}
                mb["state_in"], mb["seq_lens"] = [], None
            yield mb

    def forward(self, mb: dict[str, Any]) -> tuple[Any, torch.Tensor, dict[str, Any]]:
        """Model forward on a minibatch: (distribution, values [N], loss_inputs)."""
        input_dict = {
            "obs": mb["obs"],
            "prev_actions": mb["prev_actions"],
            "prev_rewards": mb["prev_rewards"],
            "is_training": True,
        }
        with self.policy.lock:  # the forward and the value it caches, uninterrupted
            logits, _ = self.model(input_dict, mb["state_in"], mb["seq_lens"])
            values = self.model.value_function() if self.needs_value else None
        dist = self.policy.dist_class(logits, self.model)
        loss_inputs = dict(mb)
        loss_inputs["obs_flat"] = mb["obs"].reshape(mb["obs"].shape[0], -1)
        loss_inputs["obs"] = restore_original_dimensions(mb["obs"], self.model.obs_space)
        return dist, values, loss_inputs

    def loss(self, mb: dict[str, Any], dist: Any, values: Any) -> tuple[torch.Tensor, dict]:
        raise NotImplementedError

    # The numpy twin of ``loss`` (detail 5): ``numpy_loss(mb, outputs, values) -> (total,
    # stats, d total / d outputs, d total / d values)`` and the ``loss`` it reproduces.
    numpy_loss: Callable | None = None
    numpy_twin_of: Callable | None = None

    def numpy_learner(self) -> NumpyMLP | None:
        """The numpy engine where it computes exactly what forward() + loss() + optimise()
        would: this class's own loss and forward (not a subclass's), a built-in MLP learning
        on the CPU with every parameter trainable, a Categorical or DiagGaussian policy, no
        custom_loss. Otherwise None.
        """
        cls = type(self)
        if self.numpy_loss is None or cls.loss is not cls.numpy_twin_of:
            return None
        if cls.forward is not OnPolicyAlgorithm.forward:
            return None
        model = self.model
        if model is not self.policy.model or self.policy.dist_class not in TWINS:
            return None
        if type(model).custom_loss is not Model.custom_loss:
            return None
        if not all(p.requires_grad for p in model.parameters()):
            return None
        return NumpyMLP.of(model)

    def numpy_step(self, engine: NumpyMLP, mb: dict[str, Any]) -> tuple[float, dict[str, float]]:
        """One gradient step with the numpy engine; returns (loss, statistics)."""
        keep: dict[str, Any] = {}
        outputs, values = engine.forward(mb["obs"].numpy(), keep=keep)
        total, stats, d_outputs, d_values = self.numpy_loss(mb, outputs, values)
        engine.backward(keep, d_outputs, d_values)  # into every parameter's .grad
        # Clipping by infinity computes the norm and scales nothing: the guard needs the norm.
        norm = engine.clip_grads(self.config["grad_clip"] or math.inf)
        check_update(float(total), norm, engine.params)  # the guard optimise() applies too
        self.optimizer.step()
        return total, stats

    def learn(
        self, lb: dict[str, Any], num_epochs: int, minibatch_size: int | None
    ) -> dict[str, float]:
        """Epochs of minibatch gradient steps; returns the mean of each statistic."""
        sums: dict[str, float] = {}
        count = 0
        params = [p for p in self.model.parameters() if p.requires_grad]
        engine = self.numpy_learner()
        self.model.train()
        for _ in range(num_epochs):
            for mb in self.minibatches(lb, minibatch_size):
                if engine is not None:  # the same step without torch (detail 5)
                    loss, stats = self.numpy_step(engine, mb)
                else:
                    dist, values, loss_inputs = self.forward(mb)
                    total, stats = self.loss(mb, dist, values)
                    loss = optimise(
                        self.model,
                        self.optimizer,
                        total,
                        loss_inputs,
                        self.config["grad_clip"],
                        params,
                    )
                stats["total_loss"] = loss
                for k, v in stats.items():
                    sums[k] = sums.get(k, 0.0) + float(v)
                count += 1
        self.model.eval()
        out = {k: v / max(count, 1) for k, v in sums.items()}
        out.update(model_metrics(self.model))
        return out


def masked_mean(x: torch.Tensor, mb: dict[str, Any]) -> torch.Tensor:
    """Mean over real steps: plain mean for flat batches, masked for padded sequences."""
    mask = mb.get("mask")
    if mask is None:
        return x.mean()
    mask = mask.to(x.dtype)
    return (x * mask).sum() / mask.sum().clamp(min=1.0)


def normalize(adv: torch.Tensor, mb: dict[str, Any]) -> torch.Tensor:
    """Standardise advantages over the real steps of a minibatch."""
    mean = masked_mean(adv, mb)
    var = masked_mean((adv - mean) ** 2, mb)
    return (adv - mean) / (var.sqrt() + 1e-8)
