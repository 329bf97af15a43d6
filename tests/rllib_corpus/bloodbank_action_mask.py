"""Action-masked PPO on an inventory env with a Dict observation (RLlib 2.x API).

Written for rlkit's migration corpus after joefarrington/bloodbank_marl,
bloodbank_marl/rllib/models/action_mask.py (Apache-2.0; see README.md): the same RLlib
constructs (TorchModelV2 + nn.Module, an internal TorchFC on obs["observations"], FLOAT_MIN
masking, obs_space.original_space, custom_model_config "no_masking", **kwargs), own code.
"""

import argparse

import gymnasium
import numpy as np
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.models import ModelCatalog
from ray.rllib.models.torch.fcnet import FullyConnectedNetwork as TorchFC
from ray.rllib.models.torch.torch_modelv2 import TorchModelV2
from ray.rllib.utils.framework import try_import_torch
from ray.rllib.utils.torch_utils import FLOAT_MIN
from ray.tune.registry import register_env

torch, nn = try_import_torch()


class TorchActionMaskModel(TorchModelV2, nn.Module):
    """Logits of an FC net on obs["observations"], impossible actions pushed to FLOAT_MIN."""

    def __init__(self, obs_space, action_space, num_outputs, model_config, name, **kwargs):
        orig_space = getattr(obs_space, "original_space", obs_space)
        assert isinstance(orig_space, gymnasium.spaces.Dict)
        assert "action_mask" in orig_space.spaces and "observations" in orig_space.spaces
        TorchModelV2.__init__(self, obs_space, action_space, num_outputs, model_config, name)
        nn.Module.__init__(self)
        self.internal_model = TorchFC(
            orig_space["observations"], action_space, num_outputs, model_config, name + "_internal"
        )
        self.no_masking = model_config["custom_model_config"].get("no_masking", False)

    def forward(self, input_dict, state, seq_lens):
        action_mask = input_dict["obs"]["action_mask"]
        logits, _ = self.internal_model({"obs": input_dict["obs"]["observations"]})
        if self.no_masking:
            return logits, state
        inf_mask = torch.clamp(torch.log(action_mask), min=FLOAT_MIN)
        return logits + inf_mask, state

    def value_function(self):
        return self.internal_model.value_function()


class InventoryEnv(gymnasium.Env):
    """Order 0..4 units a day; orders above the free shelf space are impossible (masked)."""

    def __init__(self, env_config):
        self.capacity = env_config.get("capacity", 6)
        self.max_days = env_config.get("max_days", 20)
        self.action_space = gymnasium.spaces.Discrete(5)
        self.observation_space = gymnasium.spaces.Dict(
            {
                "observations": gymnasium.spaces.Box(0.0, 1.0, (2,), np.float32),
                "action_mask": gymnasium.spaces.Box(0.0, 1.0, (5,), np.float32),
            }
        )

    def _obs(self):
        mask = (np.arange(5) <= self.capacity - self.stock).astype(np.float32)
        state = np.array([self.stock / self.capacity, self.day / self.max_days], np.float32)
        return {"observations": state, "action_mask": mask}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.stock, self.day = 2, 0
        return self._obs(), {}

    def step(self, action):
        if action > self.capacity - self.stock:
            raise ValueError(f"order {action} exceeds free space {self.capacity - self.stock}")
        demand = int(self.np_random.integers(0, 4))
        self.stock += int(action)
        sold = min(self.stock, demand)
        self.stock -= sold
        self.day += 1
        reward = sold - 0.1 * self.stock
        return self._obs(), float(reward), False, self.day >= self.max_days, {}


parser = argparse.ArgumentParser()
parser.add_argument("--stop-iters", type=int, default=50)
parser.add_argument("--no-masking", action="store_true")

if __name__ == "__main__":
    args = parser.parse_args()
    register_env("inventory", lambda config: InventoryEnv(config))
    ModelCatalog.register_custom_model("TorchActionMaskModel", TorchActionMaskModel)
    config = (
        PPOConfig()
        .environment("inventory", env_config={"capacity": 6, "max_days": 20})
        .env_runners(num_env_runners=0, num_envs_per_env_runner=2, rollout_fragment_length=20)
        .training(
            lr=5e-4,
            train_batch_size=80,
            sgd_minibatch_size=40,
            num_sgd_iter=2,
            model={
                "custom_model": "TorchActionMaskModel",
                "fcnet_hiddens": [32],
                "custom_model_config": {"no_masking": args.no_masking},
            },
        )
        .evaluation(evaluation_interval=1, evaluation_duration=2)
        .framework("torch")
    )
    algo = config.build()
    for i in range(args.stop_iters):
        result = algo.train()
        print(f"iter {i}: reward {result['env_runners']['episode_reward_mean']:.2f}")
    print("evaluation:", result["evaluation"]["episode_reward_mean"])
    policy = algo.get_policy(policy_id="default_policy")
    print("model:", type(policy.model).__name__)
    algo.stop()
