"""The graded checks of the course (for teachers): hidden cases, points and weights.

``python -m rlkit grading build`` reads this file with ``exercise_solutions.py`` and the
exercise notebooks and writes the graded release (nbgrader or Otter). The cases below are not
the practice cases the students' ``check_<name>`` runs: students never see them; they live in
the built release only, never in the installed package. Change them as you like, then rebuild.

Scoring: a check is all or nothing by default (every case must pass, else 0 points). For partial
credit give ``weights``, one per case: the check then earns points * passed weight / total
weight. ``capstone_points`` grades the same check again in the capstone notebook.
"""

from __future__ import annotations

import numpy as np
import torch

from rlkit.exercises import ToyActionModel
from rlkit.exercises.checking import Case
from rlkit.grading import GradedCheck

F32_MIN = float(np.finfo(np.float32).min)
rng = np.random.default_rng(2024)  # other numbers than the practice cases'


def randn(*shape: int) -> torch.Tensor:
    return torch.as_tensor(rng.standard_normal(shape), dtype=torch.float32)


def stats(shape: tuple, count: int) -> dict:
    mean = rng.standard_normal(shape) if count else np.zeros(shape)
    var = rng.uniform(0.3, 3.0, shape) if count else np.zeros(shape)
    return {"count": count, "mean": mean, "var": var}


def episode(T: int, ends=(), gamma: float = 0.99, lam: float = 0.95) -> dict:
    terminated = np.zeros(T, dtype=bool)
    terminated[list(ends)] = True
    return {
        "rewards": rng.uniform(-2, 2, T).astype(np.float32),
        "values": rng.uniform(-3, 3, T + 1).astype(np.float32),
        "terminated": terminated,
        "gamma": gamma,
        "lam": lam,
    }


def ppo(B: int, spread: float, clip_param: float) -> dict:
    old = torch.as_tensor(rng.uniform(-3.0, -0.05, B), dtype=torch.float32)
    logp = old + torch.as_tensor(rng.uniform(-spread, spread, B), dtype=torch.float32)
    return {
        "logp": logp,
        "old_logp": old,
        "advantages": torch.as_tensor(rng.standard_normal(B) * 2, dtype=torch.float32),
        "clip_param": clip_param,
    }


def contexts(pattern: list[int], repeat: int = 1) -> torch.Tensor:
    return torch.tensor(pattern * repeat, dtype=torch.float32)[:, None]


ALL_PAIRS = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]] * 2)

GRADED = [
    GradedCheck(
        "one_hot",
        points=5,
        capstone_points=2,
        cases=[
            Case("4 observations, n = 3", {"x": np.array([2, 0, 2, 1]), "n": 3}),
            Case("int32 input, n = 5", {"x": np.array([4, 4], dtype=np.int32), "n": 5}),
            Case("an empty batch, n = 2", {"x": np.zeros(0, dtype=np.int64), "n": 2}),
            Case("50 observations, n = 7", {"x": rng.integers(0, 7, 50), "n": 7}),
        ],
    ),
    GradedCheck(
        "running_mean_std",
        points=10,
        capstone_points=2,
        cases=[
            Case("the first batch", {**stats((2,), 0), "batch": rng.normal(1, 2, (3, 2))}),
            Case("a later batch of 2", {**stats((4,), 7), "batch": rng.normal(-3, 1, (2, 4))}),
            Case("one observation", {**stats((4,), 1), "batch": rng.normal(0, 5, (1, 4))}),
            Case("(2, 3) observations", {**stats((2, 3), 5), "batch": rng.normal(2, 1, (8, 2, 3))}),
        ],
    ),
    GradedCheck(
        "categorical_logp",
        points=5,
        capstone_points=2,
        cases=[
            Case("3 rows, 5 actions", {"logits": randn(3, 5), "actions": torch.tensor([4, 0, 2])}),
            Case(
                "large logits",
                {"logits": torch.tensor([[-500.0, 500.0, 0.0]]), "actions": torch.tensor([0])},
            ),
            Case(
                "a masked action not taken",
                {"logits": torch.tensor([[F32_MIN, 1.0, 2.0]]), "actions": torch.tensor([2])},
            ),
            Case("a batch of one", {"logits": randn(1, 2), "actions": torch.tensor([1])}),
        ],
    ),
    GradedCheck(
        "categorical_entropy",
        points=5,
        capstone_points=2,
        cases=[
            Case("4 rows, 6 actions", {"logits": randn(4, 6)}),
            Case("a near-certain action", {"logits": torch.tensor([[50.0, 0.0]])}),
            Case("two masked actions", {"logits": torch.tensor([[F32_MIN, 0.0, 1.0, F32_MIN]])}),
            Case("uniform over 7", {"logits": torch.full((1, 7), 3.0)}),
        ],
    ),
    GradedCheck(
        "masked_logits",
        points=5,
        capstone_points=2,
        cases=[
            Case(
                "mixed masks",
                {"logits": randn(3, 5), "mask": torch.tensor([[1.0, 0, 1, 0, 1]] * 3)},
            ),
            Case("all valid", {"logits": randn(2, 2), "mask": torch.ones(2, 2)}),
            Case(
                "one valid action per row",
                {"logits": randn(2, 3), "mask": torch.tensor([[0.0, 1, 0], [1, 0, 0]])},
            ),
            Case(
                "large logits",
                {"logits": torch.tensor([[100.0, 200.0]]), "mask": torch.tensor([[1.0, 0.0]])},
            ),
        ],
    ),
    GradedCheck(
        "gae",
        points=10,
        capstone_points=2,
        cases=[
            Case("7 steps, no termination", episode(7, gamma=0.97, lam=0.9)),
            Case("two terminations", episode(8, ends=(1, 5))),
            Case("the last step terminates, lam = 0.5", episode(5, ends=(4,), lam=0.5)),
            Case("gamma = lam = 1", episode(4, gamma=1.0, lam=1.0)),
            Case("terminates at t = 0", episode(3, ends=(0,))),
        ],
    ),
    GradedCheck(
        "ppo_clip_loss",
        points=10,
        capstone_points=2,
        cases=[
            Case("10 samples, clip 0.2", ppo(10, 0.3, 0.2)),
            Case("far outside the range, clip 0.3", ppo(5, 1.5, 0.3)),
            Case("16 samples, clip 0.05", ppo(16, 0.1, 0.05)),
        ],
    ),
    GradedCheck(
        "chop_sequences",
        points=5,
        capstone_points=2,
        cases=[
            Case(
                "three episodes, L = 2",
                {"episode_ids": np.array([3, 3, 3, 3, 3, 8, 8, 1]), "max_seq_len": 2},
            ),
            Case(
                "one episode of 10, L = 4",
                {"episode_ids": np.zeros(10, dtype=np.int64), "max_seq_len": 4},
            ),
            Case("one-step episodes", {"episode_ids": np.array([1, 2, 3, 4]), "max_seq_len": 3}),
            Case(
                "L longer than the batch", {"episode_ids": np.array([5, 5, 5]), "max_seq_len": 10}
            ),
        ],
    ),
    GradedCheck(
        "autoregressive_sample",
        points=5,
        cases=[
            Case(
                "a2 follows a1",
                {
                    "context": contexts([0, 1], 4000),
                    "action_model": ToyActionModel((0.2, 0.9), (0.2, 0.7)),
                },
            ),
        ],
    ),
    GradedCheck(
        "autoregressive_logp",
        points=5,
        cases=[
            Case(
                "every pair, another model",
                {
                    "context": contexts([0, 1], 4),
                    "action_model": ToyActionModel((0.35, 0.65), (0.9, 0.15)),
                    "actions": ALL_PAIRS,
                },
            ),
        ],
    ),
]
