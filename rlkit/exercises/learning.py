"""Exercises on learning: advantages (GAE), PPO's clipped loss, sequences for an LSTM.

Each ``check_<name>(student_fn)`` runs the student's function on the cases below, prints a
verdict and returns it (``bool(verdict)`` is True when every case matched, ``verdict.score`` is
passed cases / cases). The expected answers are stored numbers (``expected.json``).
"""

from __future__ import annotations

import numpy as np
import torch

from rlkit.exercises.checking import Case, Exercise, Mistake, Verdict, run_check

_rng = np.random.default_rng(11)


# -- 6. generalised advantage estimation --------------------------------------------------------
def _episode(T: int, ends: tuple[int, ...] = (), gamma: float = 0.99, lam: float = 0.95) -> dict:
    terminated = np.zeros(T, dtype=bool)
    terminated[list(ends)] = True
    return {
        "rewards": _rng.uniform(-1, 1, T).astype(np.float32),
        "values": _rng.uniform(-2, 2, T + 1).astype(np.float32),
        "terminated": terminated,
        "gamma": gamma,
        "lam": lam,
    }


def _gae_variant(
    baseline=True, next_offset=1, base_offset=0, reset_carry=True, mask_bootstrap=True, decay="gl"
):
    """A GAE with one of the usual slips, for recognising them in a student's answer.

    ``decay`` names the factors that carry A_{t+1} back: "gl" (gamma * lam), "g" (lam left
    out) or "l" (gamma left out).
    """

    def gae(rewards, values, terminated, gamma, lam):
        T = len(rewards)
        not_done = 1.0 - np.asarray(terminated, dtype=np.float32)
        out = np.zeros(T, dtype=np.float32)
        factor = {"gl": gamma * lam, "g": gamma, "l": lam}[decay]
        last = 0.0
        for t in reversed(range(T)):
            boot = not_done[t] if mask_bootstrap else 1.0
            delta = rewards[t] + gamma * values[t + next_offset] * boot
            if baseline:
                delta -= values[t + base_offset]
            last = delta + factor * (not_done[t] if reset_carry else 1.0) * last
            out[t] = last
        return out

    return gae


def _gae_forward(rewards, values, terminated, gamma, lam):
    not_done = 1.0 - np.asarray(terminated, dtype=np.float32)
    out = np.zeros(len(rewards), dtype=np.float32)
    last = 0.0
    for t in range(len(rewards)):
        delta = rewards[t] + gamma * values[t + 1] * not_done[t] - values[t]
        last = delta + gamma * lam * not_done[t] * last
        out[t] = last
    return out


GAE = Exercise(
    name="gae",
    notebook="ex05_gae.ipynb",
    axes=("t",),
    cases=[
        Case("one episode, no termination (bootstrap from V(s_T))", _episode(5)),
        Case("the episode terminates at t = 2", _episode(6, ends=(2,))),
        Case("lam = 1 (Monte-Carlo advantages)", _episode(5, ends=(4,), lam=1.0)),
        Case("lam = 0 (one-step TD errors)", _episode(4, ends=(1,), lam=0.0)),
        Case("a single step", _episode(1, gamma=0.9)),
    ],
    mistakes=[
        Mistake(
            _gae_variant(baseline=False),
            "the baseline is missing: delta_t = r_t + gamma * V(s_{t+1}) - V(s_t).",
        ),
        Mistake(
            _gae_variant(next_offset=0),
            "off by one: V(s_{t+1}) is values[t + 1] (values has T + 1 entries).",
        ),
        Mistake(
            _gae_variant(base_offset=1),
            "off by one: the baseline V(s_t) is values[t]; values[t + 1] is V(s_{t+1}).",
        ),
        Mistake(
            _gae_variant(next_offset=0, base_offset=-1),
            "off by one: V(s_t) is values[t] and V(s_{t+1}) is values[t + 1] (values[0] is "
            "the value of the first state, values[T] bootstraps the last step).",
        ),
        Mistake(
            _gae_variant(decay="g"),
            "lambda is missing: A_t = delta_t + gamma * lam * (1 - terminated_t) * A_{t+1}.",
        ),
        Mistake(
            _gae_variant(decay="l"),
            "gamma is missing: A_t = delta_t + gamma * lam * (1 - terminated_t) * A_{t+1}.",
        ),
        Mistake(
            _gae_variant(reset_carry=False),
            "after terminated[t] the next step belongs to a new episode: multiply the "
            "carried advantage by (1 - terminated[t]) too.",
        ),
        Mistake(
            _gae_variant(mask_bootstrap=False),
            "a terminated step has no future: drop gamma * V(s_{t+1}) where terminated[t].",
        ),
        Mistake(_gae_forward, "GAE runs backwards in time: for t in reversed(range(T))."),
        Mistake.seen_when(
            lambda got, expected, args: (
                isinstance(got, np.ndarray)
                and got.dtype == np.float64
                and np.allclose(got, expected, rtol=1e-4, atol=1e-5)
            ),
            "np.zeros(T) is float64; make the result with dtype=np.float32.",
        ),
    ],
)


def check_gae(student_fn, verbose: bool = True) -> Verdict:
    """Check ``gae(rewards [T], values [T+1], terminated [T], gamma, lam) -> [T] float32``."""
    return run_check(GAE, student_fn, verbose)


# -- 7. PPO's clipped surrogate loss ------------------------------------------------------------
def _ppo_case(B: int, spread: float, clip_param: float = 0.2) -> dict:
    old = torch.as_tensor(_rng.uniform(-2.0, -0.1, B), dtype=torch.float32)
    logp = old + torch.as_tensor(_rng.uniform(-spread, spread, B), dtype=torch.float32)
    return {
        "logp": logp,  # the check makes it require grad
        "old_logp": old,
        "advantages": torch.as_tensor(_rng.standard_normal(B), dtype=torch.float32),
        "clip_param": clip_param,
    }


def _surrogates(logp, old_logp, advantages, clip_param):
    ratio = torch.exp(logp - old_logp)
    return ratio * advantages, ratio.clamp(1 - clip_param, 1 + clip_param) * advantages


PPO_CLIP_LOSS = Exercise(
    name="ppo_clip_loss",
    grad_args=("logp",),
    notebook="ex06_ppo_clip_loss.ipynb",
    cases=[
        Case("ratios inside the clip range", _ppo_case(6, 0.05)),
        Case("ratios far outside the clip range", _ppo_case(8, 1.0)),
        Case("clip_param = 0.1", _ppo_case(8, 0.5, clip_param=0.1)),
        Case("a batch of one", _ppo_case(1, 0.8)),
    ],
    mistakes=[
        Mistake(
            lambda *a: -torch.max(*_surrogates(*a)).mean(),
            "take the minimum of the two surrogates (the pessimistic bound), not the maximum.",
        ),
        Mistake(
            lambda *a: torch.min(*_surrogates(*a)).mean(),
            "the optimiser minimises the loss: return minus the mean surrogate.",
        ),
        Mistake(
            lambda *a: -torch.min(*_surrogates(*a)).sum(),
            "average over the batch (mean), not the sum: the loss should not grow with B.",
        ),
        Mistake(
            lambda logp, old, adv, eps: (
                -torch.min(
                    torch.exp(logp - old) * adv, torch.exp(logp - old) * adv.clamp(-eps, eps)
                ).mean()
            ),
            "clip the probability ratio, not the advantages.",
        ),
        Mistake(
            lambda logp, old, adv, eps: (
                -torch.min(
                    torch.exp(logp - old) * adv,
                    (torch.exp(logp - old) * adv).clamp(1 - eps, 1 + eps),
                ).mean()
            ),
            "clip the ratio, then multiply: clip(r, 1 - eps, 1 + eps) * A, not clip(r * A, "
            "1 - eps, 1 + eps) (the advantage has its own scale and sign).",
        ),
        Mistake(
            lambda logp, old, adv, eps: (
                -torch.min(logp / old * adv, (logp / old).clamp(1 - eps, 1 + eps) * adv).mean()
            ),
            "the ratio pi / pi_old of log-probabilities is exp(logp - old_logp).",
        ),
    ],
)


def check_ppo_clip_loss(student_fn, verbose: bool = True) -> Verdict:
    """Check ``ppo_clip_loss(logp [B], old_logp [B], advantages [B], clip_param) -> scalar``."""
    return run_check(PPO_CLIP_LOSS, student_fn, verbose)


# -- 8. chopping a rollout into sequences for an LSTM ------------------------------------------
def _fixed_chunks(episode_ids, max_seq_len):
    full, rest = divmod(len(episode_ids), max_seq_len)
    return np.asarray([max_seq_len] * full + ([rest] if rest else []), dtype=np.int64)


def _episode_lengths(episode_ids, max_seq_len):
    ids = np.asarray(episode_ids)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])  # first row of each episode
    return np.diff(np.r_[starts, len(ids)]).astype(np.int64)


CHOP_SEQUENCES = Exercise(
    name="chop_sequences",
    notebook="ex07_chop_sequences.ipynb",
    axes=("sequence",),
    cases=[
        Case(
            "the example: [7, 7, 7, 7, 9, 9], max_seq_len 3",
            {"episode_ids": np.array([7, 7, 7, 7, 9, 9]), "max_seq_len": 3},
        ),
        Case("one long episode", {"episode_ids": np.zeros(7, dtype=np.int64), "max_seq_len": 3}),
        Case(
            "episodes shorter than max_seq_len",
            {"episode_ids": np.array([1, 1, 2, 3, 3, 3]), "max_seq_len": 5},
        ),
        Case("max_seq_len = 1", {"episode_ids": np.array([4, 4, 5]), "max_seq_len": 1}),
        Case(
            "episodes exactly max_seq_len long",
            {"episode_ids": np.array([0, 0, 1, 1]), "max_seq_len": 2},
        ),
    ],
    mistakes=[
        Mistake(
            _fixed_chunks,
            "a sequence must never cross an episode boundary: the LSTM state would carry "
            "one episode's memory into the next.",
        ),
        Mistake(
            _episode_lengths,
            "cut each episode into pieces of at most max_seq_len steps.",
        ),
        Mistake.seen_when(
            lambda got, expected, args: (
                int(np.sum(got)) == int(expected.sum())
                and int(np.max(got)) == args["max_seq_len"] - 1
                and int(expected.max()) == args["max_seq_len"]
            ),
            "off by one: a full piece has max_seq_len steps, not max_seq_len - 1.",
        ),
    ],
)


def check_chop_sequences(student_fn, verbose: bool = True) -> Verdict:
    """Check ``chop_sequences(episode_ids [N], max_seq_len) -> seq_lens [B] int64``."""
    return run_check(CHOP_SEQUENCES, student_fn, verbose)
