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
5. Each gradient step is one call, ``self.engine.step(self.learner, mb)``, as for every
   algorithm (rlkit.engines.learner). The default engine, torch, runs ``forward`` -> ``loss``
   -> ``optimise`` as written here: a breakpoint in ``loss`` stops there. ``engine="numpy"``
   (opt-in) runs their exact twin instead (the built-in MLP, PPO's or A2C's loss, gradients
   by hand), ~2x faster.
6. One iteration's batch is ``train_batch_size`` env steps, RLlib's meaning: fragments of
   ``rollout_fragment_length`` steps from each env (``num_envs``, times ``num_env_runners``
   when Ray runners sample) are collected until train_batch_size is reached
   (train_batch_size None: one fragment from each env). The sampler keeps its envs between
   calls, so k fragments in a row are one rollout of k * T steps per env. Left out (or at its
   default), rollout_fragment_length is chosen to reach train_batch_size exactly; set, the
   fragments may overshoot it by at most 10% (RLlib's rule).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from rlkit.algorithms.base import Algorithm
from rlkit.algorithms.config.keys import Key
from rlkit.distributions import Deterministic, dist_class_of
from rlkit.engines.learner import model_metrics
from rlkit.preprocessors import restore_original_dimensions
from rlkit.utils.seeding import generator

NO_INPUT = (
    "only BC trains from offline data (config 'input'); a custom loss can read a dataset "
    "itself (rlkit.examples.supervised_loss)"
)


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


def batch_gae(batch: dict[str, Any], gamma: float, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """compute_gae on a sampled batch (rlkit.sampling's layout).

    Returns:
        (advantages, value targets), both [T, E].
    """
    return compute_gae(
        batch["rewards"],
        batch["vf_preds"],
        batch["next_vf"],
        batch["terminated"],
        batch["truncated"],
        gamma,
        lam,
    )


def minibatches(
    lb: dict[str, Any], minibatch_size: int | None, device: torch.device
) -> Iterator[dict[str, Any]]:
    """Yield random minibatches of a learner batch's rows (whole sequences if recurrent).

    ``minibatch_size`` counts real env steps either way (None: the whole batch); sequences are
    grouped as RLlib slices them: in order, until their real lengths reach minibatch_size
    (sequences [4, 4, 2] with minibatch_size 10 are one minibatch), the groups shuffled.
    """
    recurrent = "seq_lens" in lb
    if recurrent:
        yield from _sequence_minibatches(lb, minibatch_size, device)
        return
    n = lb["num_rows"]
    per = minibatch_size or n
    if per >= n:
        # One minibatch of every row (e.g. RL Zoo's PPO settings): the loss is a mean, so
        # the row order does not matter and the batch is used as it is, without a copy.
        mb = {k: v for k, v in lb.items() if isinstance(v, torch.Tensor)}
        mb["state_in"], mb["seq_lens"] = [], None
        yield mb
        return
    perm = torch.randperm(n, generator=generator()).to(device)
    for start in range(0, n, per):
        idx = perm[start : start + per]
        mb = {k: v[idx] for k, v in lb.items() if isinstance(v, torch.Tensor)}
        mb["state_in"], mb["seq_lens"] = [], None
        yield mb


def sequence_groups(seq_lens: np.ndarray, minibatch_size: int | None) -> list[np.ndarray]:
    """Consecutive sequences whose real lengths add up to minibatch_size (RLlib's slices).

    Example:
        >>> [g.tolist() for g in sequence_groups(np.array([4, 4, 2, 3]), 10)]
        [[0, 1, 2], [3]]
    """
    if not minibatch_size:
        return [np.arange(len(seq_lens))]
    groups, start, total = [], 0, 0
    for i, length in enumerate(seq_lens):
        total += int(length)
        if total >= minibatch_size:
            groups.append(np.arange(start, i + 1))
            start, total = i + 1, 0
    if start < len(seq_lens):
        groups.append(np.arange(start, len(seq_lens)))
    return groups


def _sequence_minibatches(
    lb: dict[str, Any], minibatch_size: int | None, device: torch.device
) -> Iterator[dict[str, Any]]:
    L = lb["max_seq_len"]
    groups = sequence_groups(lb["seq_lens"].cpu().numpy(), minibatch_size)
    for g in torch.randperm(len(groups)).tolist():
        idx = torch.as_tensor(groups[g], device=device)
        rows = (idx[:, None] * L + torch.arange(L, device=device)).reshape(-1)  # [n_seq * L]
        mb = {k: v[rows] for k, v in lb.items() if isinstance(v, torch.Tensor) and k != "seq_lens"}
        mb["state_in"] = [s[idx] for s in lb["state_in"]]
        mb["seq_lens"] = lb["seq_lens"][idx]
        yield mb


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

    KEYS = (
        Key("gamma", 0.99, "discount factor", "float", 0, 1),
        Key(
            "train_batch_size",
            None,
            "env steps per iteration, collected in fragments (detail 6); None: one "
            "fragment from each env, num_envs x rollout_fragment_length",
            "int",
            1,
            none=True,
        ),
    )
    NOT_KEYS = {"input": NO_INPUT}

    def validate(self) -> None:
        """Steps per env per iteration from train_batch_size (detail 6)."""
        c = self.config
        # Every env of every runner (num_env_runners > 0: N runners of num_envs envs each).
        E = c["num_envs"] * max(1, c["num_env_runners"])
        T, B = c["rollout_fragment_length"], c["train_batch_size"]
        if B is None:
            self.steps_per_env = T
            return
        # num_envs at its default counts as left out (RLlib configs copied from DEFAULT_CONFIG
        # carry it), as rollout_fragment_length does below.
        envs_given = c["num_envs"] != self.config_keys()["num_envs"].default
        if not envs_given and c["rollout_fragment_length"] != self.default_length():
            # RLlib's fragments come from one env per worker: with num_envs left out, take
            # the most env copies (<= the default) whose whole fragments fill the batch.
            c["num_envs"] = fitting_num_envs(B, T, c["num_envs"], max(1, c["num_env_runners"]))
            E = c["num_envs"] * max(1, c["num_env_runners"])
        per_env = -(-B // E)  # ceil
        # Set to its default (e.g. copied from DEFAULT_CONFIG), it counts as left out.
        if c["rollout_fragment_length"] == self.default_length():
            rounds = -(-per_env // T)
            T = c["rollout_fragment_length"] = -(-per_env // rounds)
        rounds = -(-B // (E * T))
        if rounds * E * T - B > 0.1 * B:
            raise ValueError(
                f"{type(self).__name__} config: train_batch_size {B} cannot be reached "
                f"within 10% in fragments of {E} envs x rollout_fragment_length {T} = "
                f"{E * T} steps ({rounds} give {rounds * E * T}); set rollout_fragment_length "
                f"to {per_env} (train_batch_size / envs) or leave it out"
            )
        self.steps_per_env = rounds * T

    def default_length(self) -> int:
        """This algorithm's default rollout_fragment_length."""
        return self.config_keys()["rollout_fragment_length"].default

    def check_policy(self) -> None:
        """Policy-gradient maths needs log-probabilities that depend on the model."""
        dist = dist_class_of(self.policy.dist_class)
        if dist is Deterministic:
            raise ValueError(
                f"{type(self).__name__} cannot train with the Deterministic action distribution: "
                f"its log-probability is constant, so the policy gradient is zero. Use a "
                f"stochastic one (Categorical, DiagGaussian, SquashedGaussian, Beta)"
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

    def forward(self, mb: dict[str, Any]) -> tuple[Any, torch.Tensor, dict[str, Any]]:
        """Model forward on a minibatch: (distribution, values [N], loss_inputs)."""
        obs = self.model.decode_obs(mb["obs"])  # uint8 frames are scaled here, on the device
        input_dict = {
            "obs": obs,
            "prev_actions": mb["prev_actions"],
            "prev_rewards": mb["prev_rewards"],
            "is_training": True,
        }
        with self.policy.lock:  # the forward and the value it caches, uninterrupted
            logits, _ = self.model(input_dict, mb["state_in"], mb["seq_lens"])
            values = self.model.value_function() if self.needs_value else None
        dist = self.policy.dist_class(logits, self.model)
        loss_inputs = dict(mb)
        loss_inputs["obs_flat"] = obs.reshape(obs.shape[0], -1)
        loss_inputs["obs"] = restore_original_dimensions(obs, self.model.obs_space)
        return dist, values, loss_inputs

    def step_loss(self, mb: dict[str, Any]) -> tuple[torch.Tensor, dict, dict[str, Any]]:
        """``forward`` then ``loss`` on minibatch ``mb``: (loss, statistics, loss_inputs)."""
        dist, values, loss_inputs = self.forward(mb)
        total, stats = self.loss(mb, dist, values)
        return total, stats, loss_inputs

    def loss(self, mb: dict[str, Any], dist: Any, values: Any) -> tuple[torch.Tensor, dict]:
        """Return (scalar loss, statistics) on minibatch ``mb``; each algorithm defines it.

        ``dist`` is the action distribution of the rows; ``values`` ``[N]`` the value
        predictions, or None when the algorithm has no critic (``needs_value`` False).
        """
        raise NotImplementedError

    def learn(
        self, lb: dict[str, Any], num_epochs: int, minibatch_size: int | None
    ) -> dict[str, float]:
        """Epochs of minibatch gradient steps; returns the mean of each statistic."""
        sums: dict[str, float] = {}
        count = 0
        self.model.train()
        for _ in range(num_epochs):
            for mb in minibatches(lb, minibatch_size, self.device):
                stats = self.engine.step(self.learner, mb)  # forward, loss, optimise (5)
                for k, v in stats.items():
                    sums[k] = sums.get(k, 0.0) + float(v)
                count += 1
        self.model.eval()
        out = {k: v / max(count, 1) for k, v in sums.items()}
        out.update(model_metrics(self.model))
        return out


def fitting_num_envs(batch: int, length: int, most: int, runners: int = 1) -> int:
    """Env copies (<= most) whose fragments of ``length`` fill ``batch`` (detail 6).

    ``most`` when its fragments overshoot by 10% at most (the usual case); else the count with
    the least overshoot, then the most envs; none within 10%: ``most`` (validate then says
    what fits).

    Example:
        >>> fitting_num_envs(100, 5, 8), fitting_num_envs(5, 5, 8), fitting_num_envs(1000, 64, 8)
        (5, 1, 8)
    """
    per_round = most * runners * length
    if -(-batch // per_round) * per_round - batch <= 0.1 * batch:
        return most
    best, best_over = most, None
    for envs in range(most, 0, -1):
        per_round = envs * runners * length
        over = -(-batch // per_round) * per_round - batch
        if over <= 0.1 * batch and (best_over is None or over < best_over):
            best, best_over = envs, over
    return best


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
