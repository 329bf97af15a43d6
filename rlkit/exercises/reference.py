"""The answer key: what each exercise's function must compute.

The checks compare a student's function with these. They are written for correctness, not
for teaching; the step-by-step versions for teachers are in ``solutions/`` at the top of the
repository. Each one matches what the corresponding part of rlkit does (named in its
docstring), so an exercise teaches the code the toolkit really runs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

FLOAT32_MIN = float(np.finfo(np.float32).min)


def one_hot(x: np.ndarray, n: int) -> np.ndarray:
    """Discrete observations -> one-hot rows (rlkit.preprocessors.OneHotPreprocessor).

    Args:
        x: [B] integers in [0, n).
        n: the number of categories.

    Returns:
        [B, n] float32, 1.0 in column x[b] of row b, 0.0 elsewhere.
    """
    return np.eye(n, dtype=np.float32)[np.asarray(x, dtype=np.int64)]


def running_mean_std(
    count: int, mean: np.ndarray, var: np.ndarray, batch: np.ndarray
) -> tuple[int, np.ndarray, np.ndarray]:
    """Fold a batch into running statistics (rlkit.filters.RunningStat.push_batch).

    Chan et al.'s parallel update: with delta = batch_mean - mean and total = count + B,
    new_mean = mean + delta * B / total and
    new_var = (var * count + batch_var * B + delta**2 * count * B / total) / total.

    Args:
        count: observations summarised so far.
        mean: [*shape] float64 running mean.
        var: [*shape] float64 running (population, ddof=0) variance.
        batch: [B, *shape] new observations.

    Returns:
        (count + B, new mean [*shape] float64, new variance [*shape] float64).
    """
    batch = np.asarray(batch, dtype=np.float64)
    n_b = batch.shape[0]
    total = count + n_b
    batch_mean, batch_var = batch.mean(axis=0), batch.var(axis=0)
    delta = batch_mean - mean
    new_mean = mean + delta * n_b / total
    m2 = var * count + batch_var * n_b + delta**2 * count * n_b / total
    return total, new_mean, m2 / total


def categorical_logp(logits: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Log pi(a | s) of a softmax policy (rlkit.distributions.Categorical.logp).

    Args:
        logits: [B, n] float32 unnormalised log-probabilities.
        actions: [B] int64 actions in [0, n).

    Returns:
        [B] float32, log softmax(logits)[b, actions[b]].
    """
    log_probs = torch.log_softmax(logits, dim=1)  # [B, n]
    return log_probs.gather(1, actions.long()[:, None])[:, 0]  # [B, 1] -> [B]


def categorical_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of a softmax policy (rlkit.distributions.Categorical.entropy).

    Args:
        logits: [B, n] float32; a masked action's logit may be float32 min.

    Returns:
        [B] float32, -sum_a p(a) log p(a), with 0 * log 0 counted as 0.
    """
    log_probs = torch.log_softmax(logits, dim=1)  # [B, n]
    return -(log_probs.exp() * log_probs).sum(dim=1)


def masked_logits(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Remove invalid actions from a softmax, the seed's parametric-actions idiom.

    Args:
        logits: [B, n] float32.
        mask: [B, n] float32, 1.0 for a valid action, 0.0 for an invalid one.

    Returns:
        [B, n] float32, logits + max(log(mask), float32 min): unchanged where valid, float32
        min where invalid (never -inf, which turns into NaN in a softmax).
    """
    return logits + torch.clamp(torch.log(mask), min=FLOAT32_MIN)


def gae(
    rewards: np.ndarray, values: np.ndarray, terminated: np.ndarray, gamma: float, lam: float
) -> np.ndarray:
    """Generalised advantage estimates for one env (rlkit.algorithms.onpolicy.compute_gae).

    delta_t = r_t + gamma * V(s_{t+1}) * (1 - terminated_t) - V(s_t)
    A_t = delta_t + gamma * lam * (1 - terminated_t) * A_{t+1}

    Args:
        rewards: [T] float32.
        values: [T + 1] float32, V(s_0) .. V(s_T); V(s_T) bootstraps the last step.
        terminated: [T] bool, the episode ended at step t (its V(s_{t+1}) is not used).
        gamma: discount.
        lam: GAE lambda.

    Returns:
        [T] float32 advantages.
    """
    T = len(rewards)
    not_done = 1.0 - np.asarray(terminated, dtype=np.float32)
    advantages = np.zeros(T, dtype=np.float32)
    last = 0.0
    for t in reversed(range(T)):
        delta = rewards[t] + gamma * values[t + 1] * not_done[t] - values[t]
        last = delta + gamma * lam * not_done[t] * last
        advantages[t] = last
    return advantages


def ppo_clip_loss(
    logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, clip_param: float
) -> torch.Tensor:
    """PPO's clipped surrogate loss (rlkit.algorithms.ppo.PPO.loss, its policy part).

    Args:
        logp: [B] float32 log pi(a|s) under the current policy (requires grad).
        old_logp: [B] float32 log pi_old(a|s) when the action was sampled.
        advantages: [B] float32.
        clip_param: epsilon, e.g. 0.2.

    Returns:
        scalar float32 tensor, -mean(min(r * A, clip(r, 1 - eps, 1 + eps) * A)),
        r = exp(logp - old_logp).
    """
    ratio = torch.exp(logp - old_logp)
    clipped = ratio.clamp(1.0 - clip_param, 1.0 + clip_param)
    return -torch.min(ratio * advantages, clipped * advantages).mean()


def chop_sequences(episode_ids: np.ndarray, max_seq_len: int) -> np.ndarray:
    """Sequence lengths for an LSTM (rlkit.models.sequences.sequence_lengths).

    Args:
        episode_ids: [N] episode id of each row; an episode's rows are consecutive.
        max_seq_len: the longest sequence allowed.

    Returns:
        [B] int64 lengths, in row order: each episode cut into pieces of max_seq_len rows and
        a last, shorter piece.
    """
    episode_ids = np.asarray(episode_ids)
    seq_lens: list[int] = []
    run = 0
    for i in range(len(episode_ids)):
        new_episode = i > 0 and episode_ids[i] != episode_ids[i - 1]
        if run and (new_episode or run == max_seq_len):
            seq_lens.append(run)
            run = 0
        run += 1
    if run:
        seq_lens.append(run)
    return np.asarray(seq_lens, dtype=np.int64)


ActionModel = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def autoregressive_sample(context: torch.Tensor, action_model: ActionModel) -> torch.Tensor:
    """Sample a1, then a2 given a1 (the seed's BinaryAutoregressiveOutput.sample).

    Args:
        context: [B, C] float32, the model's output for the observation.
        action_model: ``action_model(context, a1_vec [B, 1] float32)`` returns
            ``(a1_logits [B, 2], a2_logits [B, 2])``; a1_logits do not depend on a1_vec.

    Returns:
        [B, 2] int64, columns a1 and a2.
    """
    B = context.shape[0]
    a1_logits, _ = action_model(context, torch.zeros(B, 1))
    a1 = torch.distributions.Categorical(logits=a1_logits).sample()  # [B]
    _, a2_logits = action_model(context, a1.float()[:, None])  # a1 as [B, 1]
    a2 = torch.distributions.Categorical(logits=a2_logits).sample()  # [B]
    return torch.stack([a1, a2], dim=1)  # 2 x [B] -> [B, 2]


def autoregressive_logp(
    context: torch.Tensor, action_model: ActionModel, actions: torch.Tensor
) -> torch.Tensor:
    """Log P(a1, a2) = log P(a1) + log P(a2 | a1), in one pass (the seed's logp).

    Args:
        context: [B, C] float32.
        action_model: as for ``autoregressive_sample``.
        actions: [B, 2] int64, columns a1 and a2.

    Returns:
        [B] float32.
    """
    a1, a2 = actions[:, 0], actions[:, 1]
    a1_logits, a2_logits = action_model(context, a1.float()[:, None])  # a1 as [B, 1]
    return categorical_logp(a1_logits, a1) + categorical_logp(a2_logits, a2)
