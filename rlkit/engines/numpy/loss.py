"""PPO's and A2C's losses in numpy, with their gradients by hand: the learner's fast path.

``PPO.loss`` and ``A2C.loss`` are the definitions; these are their twins for a Categorical
or DiagGaussian policy, used where the numpy engine runs the model
(rlkit.engines.numpy.mlp): there, one minibatch step of a small MLP costs a third of what
torch's autograd takes for the same maths. ``tests/test_engines.py`` checks each loss,
its statistics and every parameter's gradient against autograd on the torch loss.

Both losses are sums of per-row terms in logp_t (the log-probability of the taken action),
H_t (the entropy) and v_t (the value), so a distribution twin supplies logp, H, and the
chain rule from (d loss / d logp_t, d loss / d H_t) to the distribution's inputs.

Gradients (N rows, a = advantages, r = ratio):
    PPO: d(-mean min(r a, clip(r) a)) / d logp_t = -a_t r_t / N where r_t a_t <= clip(r_t)
        a_t, else 0 (torch.min splits ties, but a tie means clip(r) = r, so both halves
        carry a_t r_t)
    A2C: d(-mean logp a) / d logp_t = -a_t / N
    d(-c mean H) / d H_t = -c / N
    d 0.5 (v - target)^2 / d v = v - target
Categorical (p = softmax(z), l = log p):
    d logp_t / d z = onehot(a_t) - p_t;  d H_t / d z = -p_t (l_t + H_t)
DiagGaussian (inputs [mu, s], log std c = clamp(s, -20, 2), z = (a - mu) / exp(c)):
    logp = sum(-z^2 / 2 - c - log(2 pi) / 2);  H = sum(c + log(2 pi e) / 2)
    d logp / d mu = z / exp(c);  d logp / d c = z^2 - 1;  d H / d c = 1
    d c / d s = 1 inside the clamp's bounds (both included, as torch.clamp), else 0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlkit.distributions import Categorical, DiagGaussian
from rlkit.distributions.continuous import LOG_STD_MAX, LOG_STD_MIN
from rlkit.engines.numpy.mlp import HALF_LOG_2PI, gaussian_logp, log_softmax, row_sum


class _CategoricalTwin:
    """Categorical on logits [N, n] and taken actions [N]."""

    def __init__(self, logits: np.ndarray, actions: np.ndarray):
        N = len(logits)
        self.rows = np.arange(N)
        self.actions = actions.reshape(N).astype(np.int64, copy=False)
        self.log_probs = log_softmax(logits)  # [N, n]
        self.probs = np.exp(self.log_probs)
        self.logp = self.log_probs[self.rows, self.actions]  # [N]
        self.entropy = -row_sum(self.probs * self.log_probs)  # [N]

    def grad(self, d_logp: np.ndarray, d_entropy: float) -> np.ndarray:
        """D loss / d logits [N, n].

        From d loss / d logp_t [N] and d loss / d H_t (the same for every row).
        """
        d = -self.probs * d_logp[:, None]
        d[self.rows, self.actions] += d_logp
        if d_entropy:
            d -= d_entropy * self.probs * (self.log_probs + self.entropy[:, None])
        return d

    def kl_from(self, old_logits: np.ndarray) -> np.ndarray:
        """KL(old || this) per row [N]."""
        old = log_softmax(old_logits)
        return row_sum(np.exp(old) * (old - self.log_probs))


class _GaussianTwin:
    """DiagGaussian on inputs [N, 2A] (means, then log stds) and taken actions [N, A]."""

    def __init__(self, inputs: np.ndarray, actions: np.ndarray):
        N = len(inputs)
        self.mean, raw_log_std = np.split(inputs, 2, axis=1)  # 2 x [N, A]
        self.inside = (raw_log_std >= LOG_STD_MIN) & (raw_log_std <= LOG_STD_MAX)
        self.log_std = np.clip(raw_log_std, LOG_STD_MIN, LOG_STD_MAX)
        self.inv_std = np.exp(-self.log_std)
        self.z = (actions.reshape(N, -1) - self.mean) * self.inv_std  # [N, A]
        self.logp = gaussian_logp(self.z, self.log_std)
        self.entropy = row_sum(self.log_std + (0.5 + HALF_LOG_2PI))

    def grad(self, d_logp: np.ndarray, d_entropy: float) -> np.ndarray:
        d_mean = d_logp[:, None] * self.z * self.inv_std
        d_log_std = (d_logp[:, None] * (self.z * self.z - 1.0) + d_entropy) * self.inside
        return np.concatenate([d_mean, d_log_std], axis=1)

    def kl_from(self, old_inputs: np.ndarray) -> np.ndarray:
        """KL(old || this) per row [N], summed over action dims."""
        old_mean, old_log_std = np.split(old_inputs, 2, axis=1)
        old_log_std = np.clip(old_log_std, LOG_STD_MIN, LOG_STD_MAX)
        ratio = np.exp(2.0 * (old_log_std - self.log_std))  # old var / var
        diff = (old_mean - self.mean) * self.inv_std
        return 0.5 * row_sum(ratio + diff * diff - 1.0 - np.log(ratio))


TWINS = {Categorical: _CategoricalTwin, DiagGaussian: _GaussianTwin}


def _value_loss(
    mb: dict[str, Any], values: np.ndarray, clip: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Return (0.5 * squared errors [N], d (0.5 * squared error) / d values [N]).

    With ``clip``, PPO's clipped value loss (the larger of the plain and the clipped error).
    """
    targets = mb["value_targets"].numpy()
    err = values - targets
    vf_err, d_err = err * err, err
    if clip:
        old = mb["vf_preds"].numpy()
        clipped_v = old + np.clip(values - old, -clip, clip)
        err_c = clipped_v - targets
        use_c = err_c * err_c > vf_err  # torch.max: the larger error carries the gradient
        d_err = np.where(use_c, err_c * (np.abs(values - old) <= clip), err)
        vf_err = np.maximum(vf_err, err_c * err_c)
    return 0.5 * vf_err, d_err


def _mean(x: np.ndarray) -> np.ndarray:
    """x.mean() of a 1-D array, the same float32 value without ndarray.mean's Python layer."""
    return x.sum() / len(x)


def _combine(
    config: dict,
    dist: Any,
    policy_loss: np.ndarray,
    d_logp: np.ndarray,
    vf_err: np.ndarray,
    d_err: np.ndarray,
    **more_stats: float,
) -> tuple[float, dict[str, float], np.ndarray, np.ndarray]:
    """What PPO and A2C share: the total loss, its statistics and its gradients.

    total = policy_loss + vf_loss_coeff * mean vf_err - entropy_coeff * mean H; its gradients
    w.r.t. the distribution's inputs and the values, from d policy_loss / d logp_t
    (``d_logp``) and the value errors.
    """
    N = len(d_logp)
    ent_coeff = config["entropy_coeff"]
    vf_coeff = config["vf_loss_coeff"]
    d_inputs = dist.grad(d_logp, -ent_coeff / N)  # the loss subtracts ent_coeff * mean H
    entropy = _mean(dist.entropy)
    vf_loss = _mean(vf_err)
    stats = {
        "policy_loss": float(policy_loss),
        "vf_loss": float(vf_loss),
        "entropy": float(entropy),
        **more_stats,
    }
    total = float(policy_loss) + vf_coeff * float(vf_loss) - ent_coeff * float(entropy)
    return (
        total,
        stats,
        d_inputs.astype(np.float32, copy=False),
        ((vf_coeff / N) * d_err).astype(np.float32, copy=False),
    )


def ppo_loss(
    mb: dict[str, Any],
    inputs: np.ndarray,
    values: np.ndarray,
    config: dict,
    clip: float,
    dist_class: type = Categorical,
) -> tuple[float, dict[str, float], np.ndarray, np.ndarray]:
    """PPO.loss on a flat minibatch, and its gradient.

    Args:
        mb: the minibatch (CPU tensors): actions [N] or [N, A], action_logp [N],
            advantages [N], value_targets [N], action_dist_inputs [N, n], vf_preds [N].
        inputs: [N, n] the model's outputs (the distribution's inputs).
        values: [N] the model's values.
        config: the PPO config.
        clip: the current clip parameter.
        dist_class: Categorical or DiagGaussian.

    Returns:
        (total loss, statistics as PPO.loss reports them, d total / d inputs [N, n],
        d total / d values [N]).
    """
    N = len(inputs)
    dist = TWINS[dist_class](inputs, mb["actions"].numpy())
    adv = mb["advantages"].numpy()
    if config["normalize_advantages"]:
        adv = (adv - _mean(adv)) / (adv.std() + np.float32(1e-8))  # population std, as torch
    ratio = np.exp(dist.logp - mb["action_logp"].numpy())  # [N]
    unclipped = ratio * adv
    clipped = np.clip(ratio, 1.0 - clip, 1.0 + clip) * adv
    policy_loss = -_mean(np.minimum(unclipped, clipped))
    d_logp = np.where(unclipped <= clipped, -unclipped / N, 0.0).astype(np.float32)  # [N]
    vf_err, d_err = _value_loss(mb, values, config["vf_clip_param"])
    return _combine(
        config,
        dist,
        policy_loss,
        d_logp,
        vf_err,
        d_err,
        kl=float(_mean(dist.kl_from(mb["action_dist_inputs"].numpy()))),
        clip_fraction=float(np.count_nonzero(np.abs(ratio - 1.0) > clip) / N),
    )


def a2c_loss(
    mb: dict[str, Any],
    inputs: np.ndarray,
    values: np.ndarray,
    config: dict,
    dist_class: type = Categorical,
) -> tuple[float, dict[str, float], np.ndarray, np.ndarray]:
    """A2C.loss on a flat minibatch, and its gradient (arguments and results as ppo_loss)."""
    N = len(inputs)
    dist = TWINS[dist_class](inputs, mb["actions"].numpy())
    adv = mb["advantages"].numpy()
    policy_loss = -_mean(dist.logp * adv)
    vf_err, d_err = _value_loss(mb, values, None)
    return _combine(config, dist, policy_loss, (-adv / N).astype(np.float32), vf_err, d_err)
