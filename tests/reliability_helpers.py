"""Shared pieces of the reliability tests: tiny trainers of every algorithm, expert data for
BC, and an exact comparison of a trainer's whole learning state."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import torch
from faulty_envs import FaultyEnv

from rlkit.algorithms import ALGORITHMS
from rlkit.algorithms.common.snapshot import copy_state

ALGOS = ["PG", "A2C", "PPO", "DQN", "BC"]

# Budgets small enough for the fast tier, large enough that each algorithm takes several
# gradient steps per iteration (so "all or nothing" is tested, not "the only step").
TINY = {
    "PG": {},
    "A2C": {"microbatch_size": 4},
    "PPO": {"num_sgd_iter": 2, "sgd_minibatch_size": 8},
    "DQN": {
        "learning_starts": 1,
        "train_batch_size": 8,
        "training_intensity": 32,
        "min_sample_timesteps_per_iteration": 0,  # one training step (16 env steps)
    },
    "BC": {"num_sgd_iter": 3, "sgd_minibatch_size": 8},
}


def expert_file(directory: str, rows: int = 16) -> str:
    """A valid JSON-lines dataset for FaultyEnv (obs [3], Discrete(2) actions)."""
    rng = np.random.default_rng(0)
    line = {
        "env": "FaultyEnv",
        "obs_shape": [3],
        "obs": rng.normal(size=(rows, 3)).round(3).tolist(),
        "actions": rng.integers(0, 2, rows).tolist(),
        "rewards": [1.0] * rows,
        "terminated": [False] * rows,
        "truncated": [False] * rows,
        "eps_id": [0] * rows,
        "action_logp": [-0.69] * rows,
    }
    path = os.path.join(directory, "expert.jsonl")
    with open(path, "w") as f:
        f.write(json.dumps(line) + "\n")
    return path


def make_trainer(algo: str, tmp_path, env_config: dict | None = None, **config):
    """A trainer of ``algo`` on FaultyEnv: 2 envs x 8 steps, seeded, with TINY's settings."""
    cfg = {
        "num_envs": 2,
        "rollout_fragment_length": 8,
        "seed": 0,
        "env_config": env_config or {},
        "model": {"fcnet_hiddens": [8]},
        "vector_mode": "sync",
        **TINY[algo],
    }
    if algo == "BC":
        cfg["input"] = expert_file(str(tmp_path))
    if algo in ("PPO", "A2C") and "model" not in config:
        cfg["model"] = {"fcnet_hiddens": [8], "vf_share_layers": False}
    cfg.update(config)
    return ALGORITHMS[algo](env=FaultyEnv, config=cfg)


def state(trainer) -> dict:
    """The trainer's whole learning state (weights, optimizer, extra, filter, counters)."""
    full = copy_state(trainer)
    full["counters"] = full["counters"][:2]  # time_total_s counts the failed call's time
    sampler = trainer.sampler
    full.update(
        rng=trainer._rng_state.clone(),
        episodes=(sampler.episodes_total, list(sampler.episode_returns)),
    )
    return full


def assert_same(a, b, path: str = "state") -> None:
    """Exact equality of two nested states (tensors bit for bit, NaN equal to NaN)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.shape == b.shape, path
        assert torch.equal(a, b) or bool(((a == b) | (a.isnan() & b.isnan())).all()), path
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: {set(a) ^ set(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), path
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def weights_finite(trainer) -> bool:
    return all(bool(t.isfinite().all()) for t in trainer.model.state_dict().values())
