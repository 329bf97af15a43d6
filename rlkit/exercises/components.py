"""Exercises on the pipeline's parts: preprocessor, filter, action distribution, masking.

Each ``check_<name>(student_fn)`` runs the student's function on the cases below, prints a
verdict and returns it (``bool(verdict)`` is True when every case matched, ``verdict.score`` is
passed cases / cases). The expected answers are stored numbers (``expected.json``).
"""

from __future__ import annotations

import numpy as np
import torch

from rlkit.exercises.checking import Case, Exercise, Mistake, Verdict, run_check, same

F32_MIN = float(np.finfo(np.float32).min)
_rng = np.random.default_rng(7)


def _randn(*shape: int) -> torch.Tensor:
    return torch.as_tensor(_rng.standard_normal(shape), dtype=torch.float32)


# -- 1. one-hot preprocessor ------------------------------------------------------------------
ONE_HOT = Exercise(
    name="one_hot",
    notebook="ex01_one_hot.ipynb",
    axes=("row", "column"),
    cases=[
        Case("3 observations, n = 4", {"x": np.array([0, 3, 1]), "n": 4}),
        Case("repeated values, n = 2", {"x": np.array([1, 1, 0, 1, 0]), "n": 2}),
        Case("one observation, n = 1", {"x": np.array([0]), "n": 1}),
        Case("int32 input, n = 6", {"x": np.array([5, 2], dtype=np.int32), "n": 6}),
        Case("an empty batch, n = 3", {"x": np.zeros(0, dtype=np.int64), "n": 3}),
    ],
    mistakes=[
        Mistake(
            lambda x, n: np.eye(n)[x],
            "np.eye and np.zeros make float64 unless told otherwise; pass dtype=np.float32, "
            "the dtype every rlkit model reads.",
        ),
        Mistake(
            lambda x, n: np.eye(n, dtype=np.float32)[:, x],
            "one row per observation: the result is [B, n], so index the rows of np.eye(n) "
            "with x (np.eye(n)[x]).",
        ),
        Mistake(
            lambda x, n: np.eye(n, dtype=np.float32)[np.asarray(x) - 1],
            "values start at 0: value k sets column k (not k - 1).",
        ),
        Mistake(
            lambda x, n: np.eye(n + 1, dtype=np.float32)[x],
            "there are exactly n columns, one for each value 0 .. n - 1.",
        ),
    ],
)


def check_one_hot(student_fn, verbose: bool = True) -> Verdict:
    """Check ``one_hot(x: [B] int, n) -> [B, n] float32``."""
    return run_check(ONE_HOT, student_fn, verbose)


# -- 2. running mean / variance (the MeanStdFilter's statistics) --------------------------------
def _stats(shape: tuple, count: int) -> dict:
    mean = _rng.standard_normal(shape) if count else np.zeros(shape)
    var = _rng.uniform(0.5, 2.0, shape) if count else np.zeros(shape)
    return {"count": count, "mean": mean, "var": var}


def _no_cross_term(count, mean, var, batch):
    total = count + len(batch)
    new_mean = mean + (batch.mean(0) - mean) * len(batch) / total
    return total, new_mean, (var * count + batch.var(0) * len(batch)) / total


def _ddof1(count, mean, var, batch):
    n_b, total = len(batch), count + len(batch)
    delta = batch.mean(0) - mean
    m2 = var * count + batch.var(0, ddof=1) * n_b + delta**2 * count * n_b / total
    return total, mean + delta * n_b / total, m2 / total


def _all_axes(count, mean, var, batch):
    n_b, total = len(batch), count + len(batch)
    delta = batch.mean() - mean
    m2 = var * count + batch.var() * n_b + delta**2 * count * n_b / total
    return total, mean + delta * n_b / total, m2 / total


RUNNING_MEAN_STD = Exercise(
    name="running_mean_std",
    notebook="ex02_running_mean_std.ipynb",
    output_names=("count", "mean", "var"),
    cases=[
        Case(
            "the first batch (count = 0)", {**_stats((3,), 0), "batch": _rng.normal(2, 3, (4, 3))}
        ),
        Case("a second batch of 5", {**_stats((3,), 4), "batch": _rng.normal(-1, 2, (5, 3))}),
        Case(
            "a single observation (B = 1)", {**_stats((3,), 10), "batch": _rng.normal(0, 1, (1, 3))}
        ),
        Case(
            "observations of shape (2, 2)",
            {**_stats((2, 2), 3), "batch": _rng.normal(5, 1, (6, 2, 2))},
        ),
    ],
    mistakes=[
        Mistake(
            _no_cross_term,
            "the two groups have different means, and that spread counts too: add "
            "delta**2 * count * B / total to the sum of squares (Chan et al.'s update).",
        ),
        Mistake(
            _ddof1,
            "use the population variance of the batch (np.var's default, ddof=0), the same "
            "kind as the running var.",
        ),
        Mistake(
            _all_axes,
            "average over the batch axis only (batch.mean(axis=0)): every observation "
            "element keeps its own mean and variance.",
        ),
    ],
)


def check_running_mean_std(student_fn, verbose: bool = True) -> Verdict:
    """Check ``running_mean_std(count, mean, var, batch) -> (count, mean, var)``."""
    return run_check(RUNNING_MEAN_STD, student_fn, verbose)


# -- 3. Categorical log-probability ---------------------------------------------------------
def _gather(table: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    return table.gather(1, actions[:, None])[:, 0]


CATEGORICAL_LOGP = Exercise(
    name="categorical_logp",
    grad_args=("logits",),
    notebook="ex03_categorical.ipynb",
    axes=("row",),
    cases=[
        Case(
            "2 rows, 3 actions",
            {
                "logits": torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]),
                "actions": torch.tensor([2, 0]),
            },
        ),
        Case(
            "5 rows, 4 actions", {"logits": _randn(5, 4), "actions": torch.tensor([0, 3, 1, 1, 2])}
        ),
        Case(
            "large logits (exp(1000) overflows float32)",
            {"logits": torch.tensor([[1000.0, 0.0, -1000.0]]), "actions": torch.tensor([1])},
        ),
        Case(
            "a masked action (its logit is float32 min)",
            {"logits": torch.tensor([[0.0, F32_MIN, 0.0]]), "actions": torch.tensor([2])},
        ),
    ],
    mistakes=[
        Mistake(
            lambda logits, actions: _gather(torch.log_softmax(logits, dim=0), actions),
            "normalise over the actions axis (dim=1); dim=0 mixes different observations.",
        ),
        Mistake(
            lambda logits, actions: _gather(logits, actions),
            "logits are unnormalised: gather from torch.log_softmax(logits, dim=1).",
        ),
        Mistake(
            lambda logits, actions: _gather(torch.softmax(logits, dim=1), actions),
            "these are probabilities; the log-probability is their log "
            "(torch.log_softmax computes it in one stable step).",
        ),
        Mistake(
            lambda logits, actions: _gather(torch.log(torch.softmax(logits, dim=1)), actions),
            "log(softmax(x)) rounds a tiny probability to 0 and its log to -inf; "
            "torch.log_softmax computes the same thing without that rounding.",
        ),
    ],
)


def check_categorical_logp(student_fn, verbose: bool = True) -> Verdict:
    """Check ``categorical_logp(logits: [B, n], actions: [B]) -> [B]``."""
    return run_check(CATEGORICAL_LOGP, student_fn, verbose)


# -- 4. Categorical entropy -------------------------------------------------------------------
def _naive_entropy(logits: torch.Tensor) -> torch.Tensor:
    p = torch.softmax(logits, dim=1)
    return -(p * torch.log(p)).sum(dim=1)


CATEGORICAL_ENTROPY = Exercise(
    name="categorical_entropy",
    grad_args=("logits",),
    notebook="ex03_categorical.ipynb",
    axes=("row",),
    cases=[
        Case("uniform over 4 actions", {"logits": torch.zeros(2, 4)}),
        Case("5 rows, 3 actions", {"logits": _randn(5, 3)}),
        Case("a nearly certain action", {"logits": torch.tensor([[20.0, 0.0, 0.0]])}),
        Case(
            "a masked action (logit float32 min)", {"logits": torch.tensor([[0.0, 0.0, F32_MIN]])}
        ),
    ],
    mistakes=[
        Mistake.seen_when(
            lambda got, expected, args: same(got, -expected),
            "entropy is -sum p log p; it is never negative.",
        ),
        Mistake(
            _naive_entropy,
            "a masked action has p = 0 and log p = -inf, and 0 * -inf is nan in floating "
            "point: use log_p = torch.log_softmax(logits, dim=1) (finite) and p = log_p.exp().",
        ),
        Mistake(
            lambda logits: -(torch.softmax(logits, 1) * logits).sum(1),
            "use log p = torch.log_softmax(logits, dim=1), not the raw logits.",
        ),
    ],
)


def check_categorical_entropy(student_fn, verbose: bool = True) -> Verdict:
    """Check ``categorical_entropy(logits: [B, n]) -> [B]``."""
    return run_check(CATEGORICAL_ENTROPY, student_fn, verbose)


# -- 5. masked logits (parametric action spaces) ------------------------------------------------
MASKED_LOGITS = Exercise(
    name="masked_logits",
    grad_args=("logits",),
    # Only the valid actions' gradients matter: a masked logit's never reaches the softmax.
    grad_of=lambda result, inputs: (result * inputs["mask"]).sum(),
    notebook="ex04_masked_logits.ipynb",
    axes=("row", "action"),
    cases=[
        Case(
            "one invalid action in row 0",
            {"logits": _randn(2, 4), "mask": torch.tensor([[1.0, 0, 1, 1], [1, 1, 1, 1]])},
        ),
        Case("every action valid", {"logits": _randn(3, 2), "mask": torch.ones(3, 2)}),
        Case(
            "only one valid action", {"logits": _randn(1, 3), "mask": torch.tensor([[0.0, 0, 1]])}
        ),
        Case(
            "negative logits",
            {"logits": torch.tensor([[-50.0, -60.0, -70.0]]), "mask": torch.tensor([[0.0, 1, 1]])},
        ),
    ],
    mistakes=[
        Mistake(
            lambda logits, mask: logits * mask,
            "multiplying by the mask gives an invalid action the logit 0, which a softmax "
            "still picks; add a huge negative number to it instead.",
        ),
        Mistake(
            lambda logits, mask: logits + torch.log(mask),
            "log(0) is -inf, and a softmax over -inf logits can give nan; clamp it as RLlib's "
            "example does: torch.clamp(torch.log(mask), min=torch.finfo(torch.float32).min).",
        ),
        Mistake(
            lambda logits, mask: logits + torch.clamp(torch.log(1 - mask), min=F32_MIN),
            "the mask is inverted: 1 marks a VALID action (keep its logit), 0 an invalid one.",
        ),
        Mistake(
            lambda logits, mask: torch.where(mask > 0, F32_MIN, logits),
            "the mask is inverted: 1 marks a VALID action (keep its logit), 0 an invalid one.",
        ),
        Mistake(
            lambda logits, mask: torch.where(mask > 0, logits, torch.tensor(-1e9)),
            "follow RLlib's example: add max(log(mask), float32 min), so a masked logit is exactly "
            "float32 min, the value rlkit's Categorical recognises as masked.",
        ),
    ],
)


def check_masked_logits(student_fn, verbose: bool = True) -> Verdict:
    """Check ``masked_logits(logits: [B, n], mask: [B, n]) -> [B, n]``."""
    return run_check(MASKED_LOGITS, student_fn, verbose)
