"""Exercises on autoregressive action distributions: P(a1, a2) = P(a1) * P(a2 | a1).

The student's functions talk to an ``action_model`` with the interface of RLlib's example,
``action_model(context [B, C], a1_vec [B, 1]) -> (a1_logits [B, 2], a2_logits [B, 2])``.
The checks use ``ToyActionModel``, whose probabilities are known exactly: a sampler is judged
by the joint frequencies of its samples, a logp by its values and by the gradients that reach
the model's two logit tables (gradients must flow back to the model).
"""

from __future__ import annotations

import numpy as np
import torch

from rlkit.exercises.checking import Case, Exercise, Mistake, Verdict, run_check, same
from rlkit.exercises.compare import Layout, describe_difference

# Sampled frequencies of 4,000 draws lie within about 0.008 (one standard deviation) of the
# truth; 0.03 is beyond any chance deviation and well below the mistakes' errors.
FREQ_TOL = 0.03


class ToyActionModel:
    """A two-binary-actions model with exactly known probabilities.

    ``context[:, 0]`` is 0 or 1 and picks P(a1 = 1) from ``p_a1``; P(a2 = 1 | a1) is
    ``p_a2[a1]``. Calling it counts the call in ``calls`` (sampling needs two passes, logp one).
    Its logits are rows of two tables, ``a1_table`` [2 contexts, 2] and ``a2_table``
    [2 values of a1, 2]: its ``parameters()``, which the logp check makes require grad.

    Args:
        p_a1: (P(a1 = 1 | context 0), P(a1 = 1 | context 1)).
        p_a2: (P(a2 = 1 | a1 = 0), P(a2 = 1 | a1 = 1)).
    """

    def __init__(self, p_a1: tuple[float, float], p_a2: tuple[float, float]):
        self.p_a1, self.p_a2 = p_a1, p_a2
        self.a1_table = _binary_logits(torch.tensor(p_a1))  # [2 contexts, 2]
        self.a2_table = _binary_logits(torch.tensor(p_a2))  # [2 values of a1, 2]
        self.calls = 0

    def parameters(self) -> list[torch.Tensor]:
        """The two logit tables, the model's 'weights'."""
        return [self.a1_table, self.a2_table]

    def __call__(self, context: torch.Tensor, a1_vec: torch.Tensor):
        """context: [B, 1] float32 (0 or 1); a1_vec: [B, 1] float32 -> two [B, 2] logits."""
        self.calls += 1
        B = context.shape[0]
        a1_vec = torch.as_tensor(a1_vec)
        if tuple(a1_vec.shape) != (B, 1):
            raise ValueError(
                f"action_model takes a1_vec of shape [B, 1] = [{B}, 1] (a1 as a float "
                f"column, e.g. a1.float()[:, None]); got shape {list(a1_vec.shape)}"
            )
        c = context[:, 0].round().long().clamp(0, 1)  # [B]
        a1 = a1_vec[:, 0].round().long().clamp(0, 1)  # [B]
        return self.a1_table[c], self.a2_table[a1]  # [B, 2] each

    def joint(self, context: int) -> np.ndarray:
        """[2, 2] exact P(a1 = i, a2 = j) for a context of 0 or 1."""
        p1 = self.p_a1[context]
        pa1 = np.array([1 - p1, p1])
        pa2 = np.array([[1 - self.p_a2[0], self.p_a2[0]], [1 - self.p_a2[1], self.p_a2[1]]])
        return pa1[:, None] * pa2

    def __repr__(self) -> str:
        return f"ToyActionModel(p_a1={self.p_a1}, p_a2={self.p_a2})"


def _binary_logits(p1: torch.Tensor) -> torch.Tensor:
    """[K] P(x = 1) -> [K, 2] logits: log-probabilities shifted by a constant.

    A softmax ignores the shift, so forgetting to normalise the logits is a visible mistake.
    """
    return (torch.stack([torch.log1p(-p1), torch.log(p1)], dim=1) + 1.5).float()


def _contexts(pattern: list[int], repeat: int = 1) -> torch.Tensor:
    return torch.tensor(pattern * repeat, dtype=torch.float32)[:, None]  # [B] -> [B, 1]


# -- 9. sampling a1, then a2 given a1 ------------------------------------------------------------
def _compare_samples(got, expected, case: Case) -> str | None:
    problem = describe_difference(got, expected, "the result", _SHAPE_ONLY)
    if problem is not None and not problem.startswith("value differs"):
        return problem
    if not bool(((got == 0) | (got == 1)).all()):
        return f"the actions should be 0 or 1; you returned values {got.unique().tolist()}"
    model, context = case.args["action_model"], case.args["context"][:, 0]
    for c in (0, 1):
        rows = got[context == c].numpy()  # [n, 2]
        freq = np.zeros((2, 2))
        np.add.at(freq, (rows[:, 0], rows[:, 1]), 1.0)
        freq /= len(rows)
        truth = model.joint(c)
        i, j = np.unravel_index(np.abs(freq - truth).argmax(), (2, 2))
        if abs(freq[i, j] - truth[i, j]) > FREQ_TOL:
            return (
                f"the samples do not follow P(a1) * P(a2 | a1): where context = {c}, "
                f"P(a1 = {i}, a2 = {j}) is {freq[i, j]:.3f} in your {len(rows)} samples but "
                f"should be {truth[i, j]:.3f}.{_sample_hint(freq, truth)}"
            )
    return None


def _sample_hint(freq: np.ndarray, truth: np.ndarray) -> str:
    p_a1, true_a1 = freq.sum(1), truth.sum(1)
    if abs(p_a1[1] - true_a1[1]) > FREQ_TOL:
        return "\n  Hint: P(a1) itself is off: sample a1 from the a1 logits of action_model."
    cond = freq[:, 1] / np.maximum(p_a1, 1e-9)  # P(a2 = 1 | a1 = i)
    if abs(cond[0] - cond[1]) < FREQ_TOL:
        return (
            "\n  Hint: your a2 does not depend on a1. Call action_model a second time with "
            "the sampled a1 (a1.float()[:, None]) and sample a2 from those a2 logits."
        )
    return ""


SAMPLE_B = 4000
_SHAPE_ONLY = Layout(axes=("row", "part"))

AUTOREGRESSIVE_SAMPLE = Exercise(
    name="autoregressive_sample",
    notebook="ex08_autoregressive.ipynb",
    compare=_compare_samples,
    cases=[
        Case(
            "context 0 and 1, a2 strongly tied to a1",
            {
                "context": _contexts([0, 1], SAMPLE_B),
                "action_model": ToyActionModel((0.3, 0.8), (0.1, 0.75)),
            },
        ),
        Case(
            "another model: a2 = 1 is likelier after a1 = 0",
            {
                "context": _contexts([1, 0], SAMPLE_B),
                "action_model": ToyActionModel((0.6, 0.1), (0.85, 0.3)),
            },
        ),
    ],
)


def check_autoregressive_sample(student_fn, verbose: bool = True) -> Verdict:
    """Check ``autoregressive_sample(context [B, C], action_model) -> [B, 2] int64``."""
    return run_check(AUTOREGRESSIVE_SAMPLE, student_fn, verbose)


# -- 10. log-probability of an autoregressive action, in one pass ---------------------------------
def _log_parts(context, action_model, actions, a1_seen=None) -> tuple[np.ndarray, np.ndarray]:
    """Closed forms from the toy model's probabilities: (log P(a1 | c), log P(a2 | a1_seen)).

    Both are [B] float64; ``a1_seen`` defaults to the action's own a1.
    """
    c = context[:, 0].round().long().numpy()
    a1, a2 = actions[:, 0].numpy(), actions[:, 1].numpy()
    a1_seen = a1 if a1_seen is None else a1_seen
    p1 = np.asarray(action_model.p_a1)[c]
    p2 = np.asarray(action_model.p_a2)[a1_seen]
    return np.log(np.where(a1 == 1, p1, 1 - p1)), np.log(np.where(a2 == 1, p2, 1 - p2))


def _is(combine):
    """A ``Mistake.seen_when`` test: the student's result equals ``combine(log_a1, log_a2)``."""

    def when(got, expected, args) -> bool:
        log_a1, log_a2 = _log_parts(**args)
        zeros = _log_parts(**args, a1_seen=np.zeros(len(args["actions"]), dtype=np.int64))[1]
        wrong = combine(log_a1, log_a2, zeros)
        return same(got, torch.as_tensor(wrong, dtype=torch.float32))

    return when


ALL_PAIRS = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]] * 2)  # [8, 2]
BOTH_TERMS = "log P(a1, a2) = log P(a1) + log P(a2 | a1): add both terms."

AUTOREGRESSIVE_LOGP = Exercise(
    name="autoregressive_logp",
    notebook="ex08_autoregressive.ipynb",
    axes=("row",),
    grad_args=("action_model",),
    cases=[
        Case(
            "every (a1, a2) pair in both contexts",
            {
                "context": _contexts([0, 0, 0, 0, 1, 1, 1, 1]),
                "action_model": ToyActionModel((0.3, 0.8), (0.1, 0.75)),
                "actions": ALL_PAIRS,
            },
        ),
        Case(
            "another model",
            {
                "context": _contexts([1, 0], 4),
                "action_model": ToyActionModel((0.6, 0.1), (0.85, 0.3)),
                "actions": ALL_PAIRS,
            },
        ),
    ],
    mistakes=[
        Mistake.seen_when(
            _is(lambda log_a1, log_a2, log_a2_after_zero: log_a1 + log_a2_after_zero),
            "the a2 logits must come from the action's own a1: call "
            "action_model(context, actions[:, :1].float()), not with zeros.",
        ),
        Mistake.seen_when(_is(lambda log_a1, log_a2, _: log_a1), BOTH_TERMS),
        Mistake.seen_when(_is(lambda log_a1, log_a2, _: log_a2), BOTH_TERMS),
        Mistake.seen_when(
            _is(lambda log_a1, log_a2, _: log_a1 + log_a2 + 3.0),  # each logit is log p + 1.5
            "logits are unnormalised: take the log-probabilities from "
            "torch.log_softmax(logits, dim=1) before picking the actions' entries.",
        ),
    ],
)


def check_autoregressive_logp(student_fn, verbose: bool = True) -> Verdict:
    """Check ``autoregressive_logp(context [B, C], action_model, actions [B, 2]) -> [B]``."""
    return run_check(AUTOREGRESSIVE_LOGP, student_fn, verbose)
