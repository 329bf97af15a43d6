"""Reference solutions to the rlkit classroom exercises (for teachers).

The student notebooks are in ``notebooks/exercises/``; each defines a stub with the same name
and signature as a function below and checks it with ``rlkit.exercises.check_<name>``. These
solutions are written the way a student could write them after the notebook's explanation,
step by step, with the reasoning in comments. Run this file to see every check pass:

    .venv/bin/python solutions/exercise_solutions.py
"""

from __future__ import annotations

import numpy as np
import torch


# -- ex01_one_hot: the one-hot preprocessor --------------------------------------------------------
def one_hot(x, n):
    """x: [B] int -> [B, n] float32 with a 1.0 in column x[b] of row b."""
    out = np.zeros((len(x), n), dtype=np.float32)  # float32: what every model reads
    out[np.arange(len(x)), x] = 1.0  # row b, column x[b]
    return out


# -- ex02_running_mean_std: running mean and variance (MeanStdFilter's statistics) -----------------
def running_mean_std(count, mean, var, batch):
    """Merge a batch [B, *shape] into (count, mean, var) without revisiting old data."""
    b = batch.shape[0]
    batch_mean = batch.mean(axis=0)  # per element, over the batch axis only
    batch_var = batch.var(axis=0)  # population variance (ddof=0), like the running var
    total = count + b
    delta = batch_mean - mean
    new_mean = mean + delta * b / total
    # Sums of squared deviations: each group's own, plus the spread between the two means.
    m2 = var * count + batch_var * b + delta**2 * count * b / total
    return total, new_mean, m2 / total


# -- ex03_categorical: the Categorical distribution's logp and entropy -----------------------------
def categorical_logp(logits, actions):
    """logits: [B, n], actions: [B] -> log pi(actions | s): [B]."""
    log_probs = torch.log_softmax(logits, dim=1)  # normalise over actions, stably
    return log_probs[torch.arange(len(actions)), actions]  # row b, column actions[b]


def categorical_entropy(logits):
    """logits: [B, n] -> entropy [B]."""
    log_p = torch.log_softmax(logits, dim=1)  # finite even for a masked (float32 min) logit
    p = log_p.exp()  # a masked action gets p = 0, and 0 * (finite log_p) = 0
    return -(p * log_p).sum(dim=1)


# -- ex04_masked_logits: masking invalid actions (parametric action spaces) ------------------------
def masked_logits(logits, mask):
    """logits, mask: [B, n] -> logits with invalid actions pushed to float32 min."""
    # log(1) = 0 leaves a valid logit unchanged; log(0) = -inf, clamped to the most negative
    # finite float32 so that a softmax never sees -inf (which can give NaN).
    inf_mask = torch.clamp(torch.log(mask), min=torch.finfo(torch.float32).min)
    return logits + inf_mask


# -- ex05_gae: generalised advantage estimation ----------------------------------------------------
def gae(rewards, values, terminated, gamma, lam):
    """rewards [T], values [T + 1], terminated [T] -> advantages [T] float32."""
    T = len(rewards)
    advantages = np.zeros(T, dtype=np.float32)
    next_advantage = 0.0
    for t in reversed(range(T)):  # each advantage needs the one after it
        alive = 0.0 if terminated[t] else 1.0  # no future after a terminal step
        delta = rewards[t] + gamma * values[t + 1] * alive - values[t]  # TD error
        next_advantage = delta + gamma * lam * alive * next_advantage
        advantages[t] = next_advantage
    return advantages


# -- ex06_ppo_clip_loss: PPO's clipped surrogate loss ----------------------------------------------
def ppo_clip_loss(logp, old_logp, advantages, clip_param):
    """logp, old_logp, advantages: [B] -> scalar loss (to minimise)."""
    ratio = torch.exp(logp - old_logp)  # pi(a|s) / pi_old(a|s)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1 - clip_param, 1 + clip_param) * advantages
    # The minimum is a pessimistic bound: no gain from moving the ratio beyond the clip range.
    return -torch.min(unclipped, clipped).mean()


# -- ex07_chop_sequences: chopping a rollout into sequences for an LSTM ----------------------------
def chop_sequences(episode_ids, max_seq_len):
    """episode_ids [N] -> seq_lens [B] int64: never across an episode, at most max_seq_len."""
    seq_lens = []
    length = 0
    for i in range(len(episode_ids)):
        starts_new_episode = i > 0 and episode_ids[i] != episode_ids[i - 1]
        if length > 0 and (starts_new_episode or length == max_seq_len):
            seq_lens.append(length)  # close the current sequence
            length = 0
        length += 1
    if length > 0:
        seq_lens.append(length)
    return np.array(seq_lens, dtype=np.int64)


# -- ex08_autoregressive: autoregressive actions ---------------------------------------------------
def autoregressive_sample(context, action_model):
    """context [B, C] -> actions [B, 2]: a1 ~ P(a1), then a2 ~ P(a2 | a1)."""
    B = context.shape[0]
    a1_logits, _ = action_model(context, torch.zeros(B, 1))  # a1 does not need a1
    a1 = torch.distributions.Categorical(logits=a1_logits).sample()  # [B]
    a1_vec = a1.float().unsqueeze(1)  # [B] -> [B, 1], the model's input layout
    _, a2_logits = action_model(context, a1_vec)  # second pass: condition on a1
    a2 = torch.distributions.Categorical(logits=a2_logits).sample()  # [B]
    return torch.stack([a1, a2], dim=1)  # [B, 2]


def autoregressive_logp(context, action_model, actions):
    """context [B, C], actions [B, 2] -> log P(a1) + log P(a2 | a1): [B], in one pass."""
    a1, a2 = actions[:, 0], actions[:, 1]
    # Both a1 and a2 are known, so one call gives both sets of logits.
    a1_logits, a2_logits = action_model(context, a1.float().unsqueeze(1))
    rows = torch.arange(len(actions))
    log_p_a1 = torch.log_softmax(a1_logits, dim=1)[rows, a1]  # log P(a1 | context)
    log_p_a2 = torch.log_softmax(a2_logits, dim=1)[rows, a2]  # log P(a2 | a1, context)
    return log_p_a1 + log_p_a2


SOLUTIONS = {
    "one_hot": one_hot,
    "running_mean_std": running_mean_std,
    "categorical_logp": categorical_logp,
    "categorical_entropy": categorical_entropy,
    "masked_logits": masked_logits,
    "gae": gae,
    "ppo_clip_loss": ppo_clip_loss,
    "chop_sequences": chop_sequences,
    "autoregressive_sample": autoregressive_sample,
    "autoregressive_logp": autoregressive_logp,
}


def main() -> int:
    from rlkit.exercises import CHECKS

    results = [bool(CHECKS[name](fn)) for name, fn in SOLUTIONS.items()]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
