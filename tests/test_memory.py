"""Sizes that cannot fit are refused at build, naming the key, the estimate and the limit
(rlkit.algorithms.common.memory); offline lines have a size limit; spaces a nesting limit."""

import json
import os
import time

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from rlkit.algorithms import DQN, PPO
from rlkit.algorithms.common import memory
from rlkit.algorithms.common.memory import ConfigMemoryError, estimate, human
from rlkit.offline import JsonReader
from rlkit.spaces import MAX_SPACE_DEPTH, SpaceNestingError, check_space_depth

GIB = 2**30


@pytest.fixture
def eight_gib(monkeypatch):
    """A machine with 8 GiB available (the estimate is compared with this)."""
    monkeypatch.setattr(memory, "available_memory", lambda: (8 * GIB, "a test's 8 GiB"))


@pytest.mark.parametrize(
    "algo,config,key",
    [
        (PPO, {"rollout_fragment_length": 10**9}, "rollout_fragment_length"),
        (PPO, {"num_envs": 10**7}, "num_envs"),
        (PPO, {"model": {"fcnet_hiddens": [10**6, 10**6]}}, "fcnet_hiddens"),
        (DQN, {"buffer_size": 10**11}, "buffer_size"),
    ],
)
def test_config_that_cannot_fit_is_refused_at_build(eight_gib, algo, config, key):
    start = time.perf_counter()
    with pytest.raises(ConfigMemoryError) as info:
        algo(env="CartPole-v1", config=config)
    message = str(info.value)
    assert f"'{key}' = " in message and f"Lower '{key}'" in message
    assert "8.00 GiB is available" in message
    assert "a test's 8 GiB" in message  # where the limit comes from
    assert time.perf_counter() - start < 20  # at build, not minutes into train()


def test_estimates_are_the_documented_sums():
    obs = spaces.Box(-1, 1, (4,), np.float32)  # 16 bytes as float32
    parts = estimate(
        {
            "num_envs": 8,
            "rollout_fragment_length": 128,
            "vector_mode": "sync",
            "model": {"fcnet_hiddens": [64, 64], "vf_share_layers": False},
            "buffer_size": 1000,
        },
        obs,
        2,
    )
    assert parts["envs"][0] == 8 * (8 * 1024 + 4 * 16)
    assert parts["rollout"][0] == 8 * 128 * (2 * 16 + 64) * 2
    policy = 4 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2
    value = 4 * 64 + 64 + 64 * 64 + 64 + 64 * 1 + 1
    assert parts["model"][0] == (policy + value) * 4 * 5
    assert parts["replay"][0] == 1000 * (2 * 16 + 17)
    assert human(1.46 * 2**40) == "1.46 TiB"


def test_default_configs_fit_and_build(eight_gib):
    for algo in (PPO, DQN):
        algo(env="CartPole-v1", config={"num_envs": 2}).stop()


def test_available_memory_is_the_lower_of_meminfo_and_cgroup(monkeypatch):
    monkeypatch.setattr(memory, "_read_meminfo", lambda: 10 * GIB)
    monkeypatch.setattr(memory, "_cgroup_free", lambda: (3 * GIB, "cgroup v2 memory.max minus use"))
    assert memory.available_memory() == (3 * GIB, "cgroup v2 memory.max minus use")
    monkeypatch.setattr(memory, "_cgroup_free", lambda: None)
    assert memory.available_memory() == (10 * GIB, "MemAvailable in /proc/meminfo")


def test_offline_line_over_the_limit_names_file_and_line(tmp_path):
    good = {
        "env": "CartPole-v1",
        "obs_shape": [1],
        "obs": [[0.0]],
        "actions": [0],
        "rewards": [1.0],
        "terminated": [False],
        "truncated": [False],
        "eps_id": [0],
        "action_logp": [0.0],
    }
    path = tmp_path / "data.jsonl"
    big = {**good, "obs": [[0.5]] * 5000, "obs_shape": [1]}
    with open(path, "w") as f:
        f.write(json.dumps(good) + "\n" + json.dumps(big) + "\n")
    reader = JsonReader(str(path), max_line_chars=10_000)
    assert reader.next()["obs"].shape == (1, 1)  # line 1 is read
    with pytest.raises(ValueError, match=r"data.jsonl, line 2: the line is longer than 10,000"):
        reader.next()
    assert JsonReader(str(path)).max_line_chars == 256 * 2**20  # the documented default


def nested(depth):
    space = spaces.Box(-1, 1, (2,), np.float32)
    for _ in range(depth):
        space = spaces.Dict({"x": space})
    return space


class DeepEnv(gym.Env):
    """An env whose observation space is ``depth`` Dicts deep."""

    def __init__(self, config=None):
        self.observation_space = nested((config or {}).get("depth", 400))
        self.action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 1.0, False, False, {}


@pytest.mark.parametrize("depth", [400, MAX_SPACE_DEPTH + 1])
def test_space_nested_too_deep_is_a_clear_error(depth):
    with pytest.raises(SpaceNestingError, match=r"MAX_SPACE_DEPTH.*flatten"):
        PPO(env=DeepEnv, config={"num_envs": 1, "env_config": {"depth": depth}})


def test_nesting_at_the_limit_is_accepted():
    check_space_depth(nested(MAX_SPACE_DEPTH))
    with pytest.raises(SpaceNestingError, match=r"obs\['x'\]"):
        check_space_depth(nested(MAX_SPACE_DEPTH + 1))
    trainer = PPO(
        env=DeepEnv,
        config={"num_envs": 1, "rollout_fragment_length": 8, "env_config": {"depth": 5}},
    )
    try:
        assert trainer.train()["timesteps_total"] == 8
    finally:
        trainer.stop()
    assert os.getpid()  # the process is still healthy
