"""The small teaching environments the examples train on.

Each is a plain ``gymnasium.Env`` built from an ``env_config`` dict, and each is registered
with ``rlkit.register_env`` under its class name, so ``PPO(env="RepeatAfterMeEnv")`` works once
this module is imported.

- ``RepeatAfterMeEnv``: Discrete(2) obs and actions; repeat the token seen ``repeat_delay``
  steps ago (memory, for recurrent models).
- ``NestedSpaceEnv``: ``Dict(cue, sensors=Tuple(Box, Discrete))`` obs, Discrete(3) actions;
  the reward depends on every leaf (nested observations).
- ``ParametricActionsCartPole``: ``Dict(action_mask, avail_actions, cart)`` obs,
  Discrete(max_avail_actions) actions whose meaning moves every step (parametric actions).
- ``CorrelatedActionsEnv``: Discrete(2) obs, ``Tuple(Discrete(2), Discrete(2))`` actions; a2
  must agree with a1 (autoregressive actions).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlkit.envs import register_env


def _config(env_config: dict | None, defaults: dict[str, Any], where: str) -> dict[str, Any]:
    """``env_config`` merged over ``defaults``; an unknown key is an error naming the valid ones."""
    from rlkit.utils.config import check_keys

    env_config = dict(env_config or {})
    check_keys(env_config, defaults, f"{where} env_config")
    return {**defaults, **env_config}


class RepeatAfterMeEnv(gym.Env):
    """Repeat the token you saw ``repeat_delay`` steps ago.

    Every step shows a random bit (``Discrete(2)``). From step ``repeat_delay`` on, the action
    earns +1 when it equals the bit shown ``repeat_delay`` steps earlier, else -1 (the first
    ``repeat_delay`` steps earn 0: nothing to repeat yet). The current observation says nothing
    about the rewarded bit, so a feed-forward policy scores about 0 and only a model with memory
    can reach the maximum, ``episode_len - repeat_delay``.

    env_config: ``repeat_delay`` (1), ``episode_len`` (20).
    """

    def __init__(self, env_config: dict | None = None):
        cfg = _config(env_config, {"repeat_delay": 1, "episode_len": 20}, "RepeatAfterMeEnv")
        self.delay, self.episode_len = int(cfg["repeat_delay"]), int(cfg["episode_len"])
        if not 0 < self.delay < self.episode_len:
            raise ValueError(
                f"RepeatAfterMeEnv needs 0 < repeat_delay < episode_len; got repeat_delay="
                f"{self.delay}, episode_len={self.episode_len}"
            )
        self.observation_space = spaces.Discrete(2)
        self.action_space = spaces.Discrete(2)
        self.max_return = self.episode_len - self.delay

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start an episode (gymnasium API): returns (obs, info)."""
        super().reset(seed=seed)
        self.tokens = [int(self.np_random.integers(2))]
        return self.tokens[-1], {}

    def step(self, action):
        """One step (gymnasium API): returns (obs, reward, terminated, truncated, info)."""
        t = len(self.tokens) - 1  # index of the token the agent is looking at
        reward = 0.0
        if t >= self.delay:
            reward = 1.0 if int(action) == self.tokens[t - self.delay] else -1.0
        self.tokens.append(int(self.np_random.integers(2)))
        terminated = len(self.tokens) > self.episode_len  # the task has episode_len steps
        return self.tokens[-1], reward, terminated, False, {}


class NestedSpaceEnv(gym.Env):
    """A contextual bandit whose observation is a Dict holding a Tuple.

    Observation::

        {"cue": Discrete(3),                       # which of three buttons is lit
         "sensors": Tuple((Box(-1, 1, (2,)),       # a 2-d position; the button is pressed
                           Discrete(2)))}          # a flag: 1 = the buttons are rotated

    The rewarded action is ``(cue + flag) % 3`` when the position's x is >= 0, and
    ``(cue + flag + 1) % 3`` when it is < 0, so every leaf matters. +1 for the rewarded action,
    0 otherwise, ``episode_len`` independent steps: random play scores ``episode_len / 3``,
    perfect play ``episode_len``.

    env_config: ``episode_len`` (10).
    """

    def __init__(self, env_config: dict | None = None):
        cfg = _config(env_config, {"episode_len": 10}, "NestedSpaceEnv")
        self.episode_len = int(cfg["episode_len"])
        self.observation_space = spaces.Dict(
            {
                "cue": spaces.Discrete(3),
                "sensors": spaces.Tuple(
                    (spaces.Box(-1.0, 1.0, (2,), np.float32), spaces.Discrete(2))
                ),
            }
        )
        self.action_space = spaces.Discrete(3)

    def _observe(self) -> dict[str, Any]:
        position = self.np_random.uniform(-1.0, 1.0, 2).astype(np.float32)
        self.obs = {
            "cue": int(self.np_random.integers(3)),
            "sensors": (position, int(self.np_random.integers(2))),
        }
        return self.obs

    def target(self, obs: dict[str, Any]) -> int:
        """The rewarded action for one observation (used by the tests as the closed form)."""
        position, flag = obs["sensors"]
        return (int(obs["cue"]) + int(flag) + int(position[0] < 0)) % 3

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start an episode (gymnasium API): returns (obs, info)."""
        super().reset(seed=seed)
        self.t = 0
        return self._observe(), {}

    def step(self, action):
        """One step (gymnasium API): returns (obs, reward, terminated, truncated, info)."""
        reward = 1.0 if int(action) == self.target(self.obs) else 0.0
        self.t += 1
        return self._observe(), reward, self.t >= self.episode_len, False, {}


class ParametricActionsCartPole(gym.Env):
    """CartPole whose two real actions hide among slots that move every step.

    The two real actions (push left, push right) sit among ``max_avail_actions`` slots: the
    seed's "variable-length / parametric action spaces".

    Observation (a Dict, so a custom model can read each part by name)::

        action_mask   Box(0, 1, (N,))       1.0 where the slot holds a real action
        avail_actions Box(-1, 1, (N, E))    the embedding of each slot's action (zeros if none)
        cart          Box(4,)               CartPole's own observation

    The left and right embeddings are fixed vectors of size E (drawn once from
    ``embedding_seed``, the same in every copy of the env); which slots hold them is drawn anew
    at every step. An action is a slot index: choosing a slot that holds no action raises
    ``ValueError``, so a policy that ever picks a masked slot fails loudly.

    With ``all_valid=True`` every slot holds a real action (each one left or right, both always
    present) and the mask is all ones: the setting where embeddings alone are enough.

    env_config: ``max_avail_actions`` (10), ``embedding_size`` (2), ``embedding_seed`` (0),
    ``all_valid`` (False).
    """

    def __init__(self, env_config: dict | None = None):
        defaults = {
            "max_avail_actions": 10,
            "embedding_size": 2,
            "embedding_seed": 0,
            "all_valid": False,
        }
        cfg = _config(env_config, defaults, "ParametricActionsCartPole")
        n, size = int(cfg["max_avail_actions"]), int(cfg["embedding_size"])
        if n < 2 or size < 1:
            raise ValueError(
                f"ParametricActionsCartPole needs max_avail_actions >= 2 and embedding_size >= "
                f"1; got {n} and {size}"
            )
        self.all_valid = bool(cfg["all_valid"])
        rng = np.random.default_rng(cfg["embedding_seed"])
        # Row 0 pushes left, row 1 pushes right: two fixed random vectors in [-1, 1]^E.
        self.embeddings = rng.uniform(-1.0, 1.0, (2, size)).astype(np.float32)  # [2, E]
        self.cartpole = gym.make("CartPole-v1")
        self.action_space = spaces.Discrete(n)
        self.observation_space = spaces.Dict(
            {
                "action_mask": spaces.Box(0.0, 1.0, (n,), np.float32),
                "avail_actions": spaces.Box(-1.0, 1.0, (n, size), np.float32),
                "cart": self.cartpole.observation_space,
            }
        )

    def _shuffle_slots(self) -> None:
        """Draw which slot holds which action for this step."""
        n = self.action_space.n
        self.slot_action = np.full(n, -1, np.int64)  # -1: no action in this slot
        left, right = self.np_random.choice(n, size=2, replace=False)
        if self.all_valid:
            self.slot_action[:] = self.np_random.integers(2, size=n)
        self.slot_action[left], self.slot_action[right] = 0, 1

    def _observe(self, cart: np.ndarray) -> dict[str, np.ndarray]:
        valid = self.slot_action >= 0
        avail = np.zeros(self.observation_space["avail_actions"].shape, np.float32)  # [N, E]
        avail[valid] = self.embeddings[self.slot_action[valid]]
        return {
            "action_mask": valid.astype(np.float32),
            "avail_actions": avail,
            "cart": np.asarray(cart, np.float32),
        }

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start an episode (gymnasium API): returns (obs, info)."""
        super().reset(seed=seed)
        cart, info = self.cartpole.reset(seed=seed)
        self._shuffle_slots()
        return self._observe(cart), info

    def step(self, action):
        """One step (gymnasium API): returns (obs, reward, terminated, truncated, info)."""
        slot = int(action)
        real = int(self.slot_action[slot])
        if real < 0:
            valid = np.flatnonzero(self.slot_action >= 0).tolist()
            raise ValueError(
                f"ParametricActionsCartPole: action {slot} chose a slot that holds no action "
                f"at this step (valid slots: {valid}); mask invalid slots with obs['action_mask']"
            )
        cart, reward, terminated, truncated, info = self.cartpole.step(real)
        self._shuffle_slots()
        return self._observe(cart), reward, terminated, truncated, info


class CorrelatedActionsEnv(gym.Env):
    """Two binary actions that must agree (RLlib's autoregressive-actions example env).

    Each step shows a random bit ``obs``. The action is ``(a1, a2)``: +5 when ``a1 == obs``,
    +5 when ``a2 == a1``. An episode has 21 steps, so the best return is 210. A policy that
    samples a1 and a2 independently can still score by making both follow ``obs``; a policy
    whose a2 is conditioned on the sampled a1 gets the +5 for agreeing even while a1 explores.

    env_config: ``episode_len`` (21).
    """

    def __init__(self, env_config: dict | None = None):
        cfg = _config(env_config, {"episode_len": 21}, "CorrelatedActionsEnv")
        self.episode_len = int(cfg["episode_len"])
        self.observation_space = spaces.Discrete(2)
        self.action_space = spaces.Tuple((spaces.Discrete(2), spaces.Discrete(2)))
        self.max_return = 10.0 * self.episode_len

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start an episode (gymnasium API): returns (obs, info)."""
        super().reset(seed=seed)
        self.t = 0
        self.last = int(self.np_random.integers(2))
        return self.last, {}

    def step(self, action):
        """One step (gymnasium API): returns (obs, reward, terminated, truncated, info)."""
        a1, a2 = (int(a) for a in action)
        reward = 5.0 * (a1 == self.last) + 5.0 * (a2 == a1)
        self.t += 1
        self.last = int(self.np_random.integers(2))
        return self.last, reward, self.t >= self.episode_len, False, {}


TEACHING_ENVS = {
    cls.__name__: cls
    for cls in (RepeatAfterMeEnv, NestedSpaceEnv, ParametricActionsCartPole, CorrelatedActionsEnv)
}
for _name, _cls in TEACHING_ENVS.items():
    register_env(_name, _cls)
