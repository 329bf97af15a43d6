"""PPO with a hand-written CNN on image observations and continuous actions, configured with
RLlib 2.x's PPOConfig builder and trained from its dict.

Written for rlkit's migration corpus after Farama-Foundation/PettingZoo,
tutorials/Ray/rllib_pistonball.py (MIT; see README.md): the same RLlib constructs
(CNNModelV2(TorchModelV2, nn.Module) taking *args / **kwargs, obs permuted to channels-first,
PPOConfig().environment(env=..., clip_actions=True).rollouts(...).training(lambda_=...,
use_gae=True, grad_clip=None, ...).debugging(log_level=...).framework(framework="torch").resources(
num_gpus=int(os.environ.get("RLLIB_NUM_GPUS", "0"))), config.to_dict()), own code. Pistonball
is multi-agent (PettingZoo + SuperSuit); this script's env is a single-agent stand-in.
"""

import argparse
import os

import numpy as np
import ray
from gymnasium import Env, spaces
from ray.rllib.algorithms.ppo import PPO, PPOConfig
from ray.rllib.models import ModelCatalog
from ray.rllib.models.torch.torch_modelv2 import TorchModelV2
from ray.tune.registry import register_env
from torch import nn


class CNNModelV2(TorchModelV2, nn.Module):
    def __init__(self, obs_space, act_space, num_outputs, *args, **kwargs):
        TorchModelV2.__init__(self, obs_space, act_space, num_outputs, *args, **kwargs)
        nn.Module.__init__(self)
        self.model = nn.Sequential(
            nn.Conv2d(3, 16, [8, 8], stride=(4, 4)),
            nn.ReLU(),
            nn.Conv2d(16, 32, [4, 4], stride=(2, 2)),
            nn.ReLU(),
            nn.Conv2d(32, 32, [3, 3], stride=(1, 1)),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(32, 128),
            nn.ReLU(),
        )
        self.policy_fn = nn.Linear(128, num_outputs)
        self.value_fn = nn.Linear(128, 1)

    def forward(self, input_dict, state, seq_lens):
        model_out = self.model(input_dict["obs"].permute(0, 3, 1, 2))
        self._value_out = self.value_fn(model_out)
        return self.policy_fn(model_out), state

    def value_function(self):
        return self._value_out.flatten()


class PistonImage(Env):
    """Push a ball (a bright square in a 36x36 frame) right with one piston's velocity."""

    def __init__(self, config=None):
        self.observation_space = spaces.Box(0.0, 1.0, (36, 36, 3), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)

    def _obs(self):
        frame = np.zeros((36, 36, 3), np.float32)
        x = int(np.clip(self.x, 0, 32))
        frame[16:20, x : x + 4, :] = 1.0
        return frame

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x, self.t = float(self.np_random.uniform(4, 12)), 0
        return self._obs(), {}

    def step(self, action):
        push = float(np.clip(action[0], -1, 1))
        self.x += 2.0 * push
        self.t += 1
        done = self.x >= 32
        return self._obs(), push - 0.1, done, self.t >= 50, {}


def env_creator(args):
    return PistonImage(args)


parser = argparse.ArgumentParser()
parser.add_argument("--stop-iters", type=int, default=100)

if __name__ == "__main__":
    args = parser.parse_args()
    ray.init()
    env_name = "piston_image"
    register_env(env_name, lambda config: env_creator(config))
    ModelCatalog.register_custom_model("CNNModelV2", CNNModelV2)
    config = (
        PPOConfig()
        .environment(env=env_name, clip_actions=True)
        .rollouts(num_rollout_workers=0, rollout_fragment_length=32)
        .training(
            train_batch_size=64,
            lr=2e-5,
            gamma=0.99,
            lambda_=0.9,
            use_gae=True,
            clip_param=0.4,
            grad_clip=None,
            entropy_coeff=0.1,
            vf_loss_coeff=0.25,
            sgd_minibatch_size=32,
            num_sgd_iter=2,
            model={"custom_model": "CNNModelV2"},
        )
        .debugging(log_level="ERROR", seed=0)
        .framework(framework="torch")
        .resources(num_gpus=int(os.environ.get("RLLIB_NUM_GPUS", "0")), num_cpus=4)
    )
    algo = PPO(config=config.to_dict())
    for i in range(args.stop_iters):
        result = algo.train()
        print(i, result["env_runners"]["episode_return_mean"], result["timesteps_total"])
    widths = algo.workers.foreach_worker(lambda w: w.get_policy().model.policy_fn.out_features)
    print("policy outputs per worker:", widths)
    algo.stop()
    ray.shutdown()
