"""CountdownEnv, registered as "countdown": episodes whose length and truncation tests choose."""

from __future__ import annotations

import numpy as np
from gymnasium import Env
from gymnasium.spaces import Box, Discrete

from rlkit import register_env


class CountdownEnv(Env):
    """obs = steps left; reward 1 per step; terminates after `length` steps, or is truncated
    at `limit` steps when limit < length."""

    observation_space = Box(0, 100, (1,), np.float32)
    action_space = Discrete(2)

    def __init__(self, config=None):
        config = config or {}
        self.length = config.get("length", 3)
        self.limit = config.get("limit", 100)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([self.length], np.float32), {}

    def step(self, action):
        self.t += 1
        obs = np.array([self.length - self.t], np.float32)
        return obs, 1.0, self.t >= self.length, self.t >= self.limit, {}


register_env("countdown", lambda config: CountdownEnv(config))
