"""An env's common mistakes give one rlkit message with the cause and the fix, not a raw
library error (numpy's, gymnasium's pickling error and its red worker tracebacks)."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from rlkit.algorithms import PPO


class OddEnv(gym.Env):
    """Returns a shape-(1,) reward ("array_reward") or an info holding a lambda ("lambda")."""

    def __init__(self, config=None):
        self.kind = (config or {}).get("kind")
        self.observation_space = spaces.Box(-1, 1, (2,), np.float32)
        self.action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        return np.zeros(2, np.float32), {}

    def step(self, action):
        info = {"callback": lambda: 1} if self.kind == "lambda" else {}
        reward = np.array([1.0]) if self.kind == "array_reward" else 1.0
        return np.zeros(2, np.float32), reward, False, False, info


def trainer(kind, mode):
    config = {"num_envs": 2, "rollout_fragment_length": 8, "vector_mode": mode}
    return PPO(env=OddEnv, config={**config, "env_config": {"kind": kind}})


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_array_reward_is_named_with_the_fix(mode):
    algo = trainer("array_reward", mode)
    try:
        with pytest.raises(ValueError, match=r"reward.*not one number.*reward\.item\(\)"):
            algo.train()
        assert algo.iteration == 0 and algo.timesteps_total == 0  # nothing half-learned
    finally:
        algo.stop()


def test_unpicklable_info_in_async_mode_is_one_message_without_worker_tracebacks():
    algo = trainer("lambda", "async")
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            with pytest.raises(TypeError, match=r"cannot be sent between processes") as info:
                algo.train()
        assert "picklable" in str(info.value) and "vector_mode 'sync'" in str(info.value)
        assert "Can't pickle" in str(info.value)  # the cause, quoted
        assert not [w for w in seen if "ERROR" in str(w.message)]  # no red worker report
    finally:
        algo.stop()


def test_the_same_info_is_fine_in_sync_mode():
    algo = trainer("lambda", "sync")
    try:
        assert algo.train()["timesteps_total"] == 16
    finally:
        algo.stop()
