"""A memory task for recurrent-model tests: say the token you saw `delay` steps ago."""

from __future__ import annotations

import gymnasium as gym


class TokenMemoryEnv(gym.Env):
    """obs: a random token in [0, k) (Discrete, one-hot encoded by the preprocessor).
    Reward +1 when the action equals the token observed `delay` steps earlier (from step
    `delay` on). A memoryless policy can do no better than chance: (length - delay) / k."""

    def __init__(self, config=None):
        config = config or {}
        self.k = config.get("k", 3)
        self.delay = config.get("delay", 2)
        self.length = config.get("length", 20)
        self.observation_space = gym.spaces.Discrete(self.k)
        self.action_space = gym.spaces.Discrete(self.k)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.tokens = [int(self.np_random.integers(self.k))]
        return self.tokens[-1], {}

    def step(self, action):
        reward = 0.0
        if self.t >= self.delay:
            reward = float(int(action) == self.tokens[self.t - self.delay])
        self.t += 1
        self.tokens.append(int(self.np_random.integers(self.k)))
        return self.tokens[-1], reward, False, self.t >= self.length, {}
