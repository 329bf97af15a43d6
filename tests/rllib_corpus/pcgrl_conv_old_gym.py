"""PPO with a conv model and SlimFC heads on a level-design env written for gym < 0.26
(RLlib 1.x API: ray.rllib.agents, DEFAULT_CONFIG.copy(), one env per worker).

Written for rlkit's migration corpus after rohin-dasari/gym-pcgrl (MIT; see README.md),
gym_pcgrl/models/qmix_model.py and its gym environments: the same RLlib constructs
(TorchModelV2 + nn.Module with nn.Module.__init__ first, conv_filters / fc_size as
custom_model_config, SlimFC, override(ModelV2), ModelConfigDict, typing names re-exported by
ray.rllib.utils.typing), an old-API gym env (reset() without seed, 4-tuple step, seed(),
gym.utils.seeding), fragments of 5 steps into a batch of 100; own code.
"""

import argparse
import os
import tempfile
from typing import Dict, List

import gym
import numpy as np
import ray
import ray.rllib.agents.ppo as ppo
from gym import spaces
from gym.utils import seeding
from ray.rllib.models import ModelCatalog
from ray.rllib.models.modelv2 import ModelV2, restore_original_dimensions  # noqa: F401
from ray.rllib.models.torch.misc import SlimFC
from ray.rllib.models.torch.torch_modelv2 import TorchModelV2
from ray.rllib.utils import override
from ray.rllib.utils.typing import ModelConfigDict, TensorType
from ray.tune.registry import register_env
from torch import nn


class CustomFeedForwardModel(TorchModelV2, nn.Module):
    """conv -> flatten -> SlimFC -> (logits, value)."""

    def __init__(
        self,
        obs_space,
        action_space,
        num_outputs,
        model_config: ModelConfigDict,
        name,
        conv_filters=64,
        fc_size=32,
    ):
        nn.Module.__init__(self)
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        h, w, c = obs_space.shape
        self.conv = nn.Conv2d(c, conv_filters, 3, padding=1)
        self.fc = SlimFC(conv_filters * h * w, fc_size, activation_fn=nn.ReLU)
        self.pre_logits = SlimFC(fc_size, num_outputs)
        self.pre_val = SlimFC(fc_size, 1)
        self._features = None

    @override(ModelV2)
    def forward(
        self, input_dict: Dict[str, TensorType], state: List[TensorType], seq_lens: TensorType
    ):
        x = input_dict["obs"].permute(0, 3, 1, 2)  # [B, H, W, C] -> [B, C, H, W]
        x = nn.functional.relu(self.conv(x)).flatten(1)
        self._features = self.fc(x)
        return self.pre_logits(self._features), state

    @override(ModelV2)
    def value_function(self):
        return self.pre_val(self._features).reshape(-1)


class BinaryLevelEnv(gym.Env):
    """Paint a 6x6 map tile by tile; the reward is the change in the number of solid tiles
    whose four neighbours are empty (a toy version of PCGRL's binary problem)."""

    metadata = {"render.modes": ["human"]}

    def __init__(self, config=None):
        self.size = (config or {}).get("size", 6)
        self.observation_space = spaces.Box(0, 1, (self.size, self.size, 2), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.seed()

    def seed(self, seed=None):
        self.np_random, seed = seeding.np_random(seed)
        return [seed]

    def _obs(self):
        obs = np.zeros((self.size, self.size, 2), np.float32)
        obs[..., 0] = self.map
        obs[self.pos // self.size, self.pos % self.size, 1] = 1.0
        return obs

    def _score(self):
        m = np.pad(self.map, 1)
        empty_around = (m[:-2, 1:-1] + m[2:, 1:-1] + m[1:-1, :-2] + m[1:-1, 2:]) == 0
        return float((self.map * empty_around).sum())

    def reset(self):
        self.map = self.np_random.integers(0, 2, (self.size, self.size)).astype(np.float32)
        self.pos = 0
        return self._obs()

    def step(self, action):
        before = self._score()
        self.map[self.pos // self.size, self.pos % self.size] = action
        self.pos += 1
        done = self.pos >= self.size * self.size
        reward = self._score() - before
        if done:
            self.pos -= 1
        return self._obs(), reward, done, {}


parser = argparse.ArgumentParser()
parser.add_argument("--stop-iters", type=int, default=30)

if __name__ == "__main__":
    args = parser.parse_args()
    ray.init()
    register_env("binary-v0", lambda config: BinaryLevelEnv(config))
    ModelCatalog.register_custom_model("feedforward", CustomFeedForwardModel)
    config = ppo.DEFAULT_CONFIG.copy()
    config["log_level"] = "WARN"
    config["num_workers"] = 0
    config["framework"] = "torch"
    config["rollout_fragment_length"] = 5
    config["train_batch_size"] = 100
    config["sgd_minibatch_size"] = 50
    config["num_sgd_iter"] = 2
    config["model"] = {
        "custom_model": "feedforward",
        "custom_model_config": {"conv_filters": 8, "fc_size": 32},
    }
    trainer = ppo.PPOTrainer(config=config, env="binary-v0")
    for i in range(args.stop_iters):
        result = trainer.train()
        print(i, result["episode_reward_mean"], result["timesteps_total"])
    checkpoint = trainer.save(tempfile.mkdtemp())
    print("saved", os.path.basename(os.path.dirname(checkpoint)))
    env = BinaryLevelEnv()
    obs, done, total = env.reset(), False, 0.0
    while not done:
        obs, reward, done, info = env.step(trainer.compute_action(obs))
        total += reward
    print("rollout return", total)
    ray.shutdown()
