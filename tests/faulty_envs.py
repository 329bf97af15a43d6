"""Small envs that misbehave on purpose, for the reliability tests (tests/test_reliability.py).

``FaultyEnv`` is a 3-dimensional, 20-step task whose ``env_config`` picks one fault:
    fault "nan_reward" / "inf_reward": that reward at step ``at`` of every episode;
    fault "nan_obs" / "inf_obs": that value in the observation at step ``at``;
    fault "raise": step ``at`` raises RuntimeError, once per ``marker`` file (the file is
        created when it raises, so the fault fires once even across subprocesses);
    fault "old_api": step returns gym's old 4-tuple; "old_reset": reset returns obs alone;
    fault "wrong_shape": a [4] observation;
    ``box``: Box(2) actions instead of Discrete(2).
"""

from __future__ import annotations

import os

import gymnasium as gym
import numpy as np


class FaultyEnv(gym.Env):
    def __init__(self, config=None):
        config = dict(config or {})
        self.fault = config.get("fault")
        self.at = config.get("at", 3)
        self.marker = config.get("marker")
        self.observation_space = gym.spaces.Box(-10.0, 10.0, (3,), np.float32)
        self.action_space = (
            gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
            if config.get("box")
            else gym.spaces.Discrete(2)
        )

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        obs = self.np_random.normal(size=3).astype(np.float32)
        return obs if self.fault == "old_reset" else (obs, {})

    def step(self, action):
        self.t += 1
        obs = self.np_random.normal(size=3).astype(np.float32)
        reward = float(np.sum(np.asarray(action, dtype=np.float64))) * 0.1 + 1.0
        if self.t == self.at:
            fault = self.fault or ""
            if fault.endswith("_reward"):
                reward = float(fault.split("_")[0])
            elif fault.endswith("_obs"):
                obs[1] = float(fault.split("_")[0])
            elif fault == "raise" and not (self.marker and os.path.exists(self.marker)):
                if self.marker:
                    open(self.marker, "w").close()
                raise RuntimeError("the simulator crashed")
            elif fault == "old_api":
                return obs, reward, False, {}
            elif fault == "wrong_shape":
                return np.zeros(4, np.float32), reward, False, False, {}
        return obs, reward, False, self.t >= 20, {}
