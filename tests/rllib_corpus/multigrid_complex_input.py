"""PPO on a grid world with Dict observations (an image and a direction), through
ComplexInputNetwork wrapped in a custom model (RLlib 2.x API, old model stack).

Written for rlkit's migration corpus after ini/multigrid, multigrid/rllib/models.py
(Apache-2.0; see README.md): the same RLlib constructs (a TorchModelV2 whose forward and
value_function are those of a TorchComplexInputNetwork, typed gymnasium spaces, **kwargs,
conv_filters for a small image), own code and env.
"""

import argparse

import numpy as np
from gymnasium import Env, spaces
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.models import ModelCatalog
from ray.rllib.models.torch.complex_input_net import (
    ComplexInputNetwork as TorchComplexInputNetwork,
)
from ray.rllib.models.torch.torch_modelv2 import TorchModelV2
from ray.rllib.utils.framework import try_import_torch

torch, nn = try_import_torch()


class TorchModel(TorchModelV2, nn.Module):
    """A wrapper for ComplexInputNetwork that deals with Dict observation spaces."""

    def __init__(
        self,
        obs_space: spaces.Space,
        action_space: spaces.Space,
        num_outputs: int,
        model_config: dict,
        name: str,
        **kwargs,
    ):
        TorchModelV2.__init__(self, obs_space, action_space, num_outputs, model_config, name)
        nn.Module.__init__(self)
        self.model = TorchComplexInputNetwork(
            obs_space, action_space, num_outputs, model_config, name
        )
        self.forward = self.model.forward
        self.value_function = self.model.value_function


class GridGoal(Env):
    """Walk to the goal on a 5x5 grid; the agent sees the grid as an image and its heading."""

    def __init__(self, config=None):
        self.size = 5
        self.observation_space = spaces.Dict(
            {
                "image": spaces.Box(0.0, 1.0, (self.size, self.size, 3), np.float32),
                "direction": spaces.Discrete(4),
            }
        )
        self.action_space = spaces.Discrete(3)  # turn left, turn right, forward

    def _obs(self):
        image = np.zeros((self.size, self.size, 3), np.float32)
        image[tuple(self.agent)][0] = 1.0
        image[tuple(self.goal)][1] = 1.0
        return {"image": image, "direction": self.heading}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.agent = np.array([0, 0])
        self.goal = self.np_random.integers(1, self.size, size=2)
        self.heading, self.t = 0, 0
        return self._obs(), {}

    def step(self, action):
        moves = [(0, 1), (1, 0), (0, -1), (-1, 0)]
        if action == 0:
            self.heading = (self.heading - 1) % 4
        elif action == 1:
            self.heading = (self.heading + 1) % 4
        else:
            self.agent = np.clip(self.agent + moves[self.heading], 0, self.size - 1)
        self.t += 1
        reached = bool((self.agent == self.goal).all())
        return self._obs(), 1.0 if reached else -0.01, reached, self.t >= 30, {}


parser = argparse.ArgumentParser()
parser.add_argument("--stop-iters", type=int, default=100)

if __name__ == "__main__":
    args = parser.parse_args()
    ModelCatalog.register_custom_model("multigrid_model", TorchModel)
    config = (
        PPOConfig()
        .environment(env=GridGoal)
        .env_runners(num_env_runners=0, num_envs_per_env_runner=4, rollout_fragment_length=32)
        .training(
            lr=3e-4,
            train_batch_size=128,
            model={
                "custom_model": "multigrid_model",
                "conv_filters": [[8, [3, 3], 1], [16, [5, 5], 1]],
                "fcnet_hiddens": [16],
                "post_fcnet_hiddens": [32],
            },
        )
    )
    algo = config.build()
    for i in range(args.stop_iters):
        result = algo.train()
        print(i, result["env_runners"]["episode_return_mean"], result["timesteps_total"])
    algo.stop()
