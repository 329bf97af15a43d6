"""PPO's loss in numpy, with its gradient by hand: the learner's fast path on the CPU.

``PPO.loss`` (rlkit.algorithms.ppo) is the definition; this is its twin for a Categorical
policy, used where the numpy engine runs the model (rlkit.models.numpy_mlp): there, one
minibatch step of a small MLP costs a third of what torch's autograd takes for the same maths.
``tests/test_numpy_engine.py`` checks the loss, the statistics and every parameter's gradient
against autograd on ``PPO.loss``.

Gradients (N rows, a = advantages, r = ratio, p = softmax(z), l = log p, onehot of a_t):
    d(-mean min(r a, clip(r) a)) / d logp_t = -a_t r_t / N where r_t a_t <= clip(r_t) a_t, else 0
        (torch.min splits ties, but a tie means clip(r) = r, so both halves carry a_t r_t)
    d logp_t / d z = onehot(a_t) - p_t
    d H_t / d z = -p_t (l_t + H_t)
    d 0.5 (v - target)^2 / d v = v - target
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlkit.models.numpy_mlp import log_softmax


def ppo_loss(
    mb: dict[str, Any], logits: np.ndarray, values: np.ndarray, config: dict, clip: float
) -> tuple[float, dict[str, float], np.ndarray, np.ndarray]:
    """PPO.loss for a Categorical policy on a flat minibatch, and its gradient.

    Args:
        mb: the minibatch (CPU tensors): actions [N], action_logp [N], advantages [N],
            value_targets [N], action_dist_inputs [N, n], vf_preds [N] (value clipping).
        logits: [N, n] the model's outputs; values: [N] its value estimates.
        config: the PPO config; clip: the current clip parameter.

    Returns:
        (total loss, statistics as PPO.loss reports them, d total / d logits [N, n],
        d total / d values [N]).
    """
    N = len(logits)
    rows = np.arange(N)
    actions = mb["actions"].numpy().reshape(N).astype(np.int64, copy=False)
    adv = mb["advantages"].numpy()
    if config["normalize_advantages"]:
        adv = (adv - adv.mean()) / (adv.std() + np.float32(1e-8))  # population std, as torch
    log_probs = log_softmax(logits)  # [N, n]
    probs = np.exp(log_probs)
    ratio = np.exp(log_probs[rows, actions] - mb["action_logp"].numpy())  # [N]
    unclipped = ratio * adv
    clipped = np.clip(ratio, 1.0 - clip, 1.0 + clip) * adv
    policy_loss = -np.minimum(unclipped, clipped).mean()
    d_logp = np.where(unclipped <= clipped, -unclipped / N, 0.0).astype(np.float32)  # [N]
    d_logits = -probs * d_logp[:, None]  # [N, n]
    d_logits[rows, actions] += d_logp
    entropy_rows = -(probs * log_probs).sum(axis=1)  # [N]
    entropy = entropy_rows.mean()
    ent_coeff = config["entropy_coeff"]
    if ent_coeff:  # the loss subtracts ent_coeff * mean H
        d_logits += (ent_coeff / N) * probs * (log_probs + entropy_rows[:, None])

    targets = mb["value_targets"].numpy()
    err = values - targets
    vf_err, d_err = err * err, err  # d_err: d (0.5 vf_err) / d values
    if config["vf_clip_param"]:
        c = config["vf_clip_param"]
        old = mb["vf_preds"].numpy()
        clipped_v = old + np.clip(values - old, -c, c)
        err_c = clipped_v - targets
        use_c = err_c * err_c > vf_err  # torch.max: the larger error carries the gradient
        d_err = np.where(use_c, err_c * (np.abs(values - old) <= c), err)
        vf_err = np.maximum(vf_err, err_c * err_c)
    vf_loss = 0.5 * vf_err.mean()
    vf_coeff = config["vf_loss_coeff"]
    d_values = (vf_coeff / N) * d_err

    old_log_probs = log_softmax(mb["action_dist_inputs"].numpy())
    kl = (np.exp(old_log_probs) * (old_log_probs - log_probs)).sum(axis=1).mean()
    stats = {
        "policy_loss": float(policy_loss),
        "vf_loss": float(vf_loss),
        "entropy": float(entropy),
        "kl": float(kl),
        "clip_fraction": float((np.abs(ratio - 1.0) > clip).mean()),
    }
    total = float(policy_loss) + vf_coeff * float(vf_loss) - ent_coeff * float(entropy)
    return (
        total,
        stats,
        d_logits.astype(np.float32, copy=False),
        d_values.astype(np.float32, copy=False),
    )
