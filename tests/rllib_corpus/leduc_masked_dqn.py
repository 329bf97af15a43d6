"""DQN with an action-masking model on a card game with a Dict observation (RLlib 2.x's
DQNConfig builder, old model stack).

Written for rlkit's migration corpus after Farama-Foundation/PettingZoo,
tutorials/Ray/rllib_leduc_holdem.py (MIT; see README.md): the same RLlib constructs
(TorchMaskedActions(DQNTorchModel) with an action-embedding TorchFC on obs["observation"],
torch.clamp(torch.log(action_mask), -1e10, FLOAT_MAX), try_import_torch, DQNConfig with
hiddens=[] and dueling=False, .rollouts(...), .exploration(exploration_config={"type":
"EpsilonGreedy", ...}), .framework(framework="torch")), own code. Leduc Hold'em is a
PettingZoo multi-agent game; this script's env is a single-agent stand-in.
"""

import argparse
import os

import numpy as np
import ray
from gymnasium import Env
from gymnasium.spaces import Box, Dict, Discrete
from ray.rllib.algorithms.dqn import DQNConfig
from ray.rllib.algorithms.dqn.dqn_torch_model import DQNTorchModel
from ray.rllib.models import ModelCatalog
from ray.rllib.models.torch.fcnet import FullyConnectedNetwork as TorchFC
from ray.rllib.utils.framework import try_import_torch
from ray.rllib.utils.torch_utils import FLOAT_MAX
from ray.tune.registry import register_env

torch, nn = try_import_torch()


class TorchMaskedActions(DQNTorchModel):
    """Q-values of an FC net on obs["observation"], illegal actions pushed to -1e10."""

    def __init__(self, obs_space: Box, action_space: Discrete, num_outputs, model_config, name, **kw):
        DQNTorchModel.__init__(self, obs_space, action_space, num_outputs, model_config, name, **kw)
        real_obs_space = obs_space.original_space["observation"]
        self.action_embed_model = TorchFC(
            real_obs_space, action_space, action_space.n, model_config, name + "_action_embed"
        )

    def forward(self, input_dict, state, seq_lens):
        action_mask = input_dict["obs"]["action_mask"]
        action_logits, _ = self.action_embed_model({"obs": input_dict["obs"]["observation"]})
        inf_mask = torch.clamp(torch.log(action_mask), -1e10, FLOAT_MAX)
        return action_logits + inf_mask, state

    def value_function(self):
        return self.action_embed_model.value_function()


class HighCard(Env):
    """Call, raise or fold with one card; raising is legal only once per hand (an illegal
    raise loses the hand, as PettingZoo's games penalise illegal moves)."""

    def __init__(self, config=None):
        self.observation_space = Dict(
            {"observation": Box(0.0, 1.0, (4,), np.float32), "action_mask": Box(0, 1, (3,), np.int8)}
        )
        self.action_space = Discrete(3)  # 0 fold, 1 call, 2 raise

    def _obs(self):
        card = np.zeros(4, np.float32)
        card[self.card] = 1.0
        card[3] = float(self.raised)
        mask = np.array([1, 1, 0 if self.raised else 1], np.int8)
        return {"observation": card, "action_mask": mask}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.card, self.raised = int(self.np_random.integers(3)), False
        return self._obs(), {}

    def step(self, action):
        if action == 2 and self.raised:
            return self._obs(), -1.0, True, False, {"illegal": True}
        if action == 2:
            self.raised = True
            return self._obs(), 0.0, False, False, {}
        stake = 2.0 if self.raised else 1.0
        win = self.card - 1  # card 0 loses, 1 splits, 2 wins
        return self._obs(), 0.0 if action == 0 else stake * win, True, False, {}


parser = argparse.ArgumentParser()
parser.add_argument("--stop-iters", type=int, default=50)

if __name__ == "__main__":
    args = parser.parse_args()
    ray.init(num_cpus=4)
    ModelCatalog.register_custom_model("pa_model", TorchMaskedActions)
    env_name = "high_card"
    register_env(env_name, lambda config: HighCard(config))
    config = (
        DQNConfig()
        .environment(env=env_name)
        .rollouts(num_rollout_workers=0, rollout_fragment_length=4)
        .training(
            train_batch_size=32,
            hiddens=[],
            dueling=False,
            model={"custom_model": "pa_model", "fcnet_hiddens": [32]},
        )
        .resources(num_gpus=int(os.environ.get("RLLIB_NUM_GPUS", "0")))
        .framework(framework="torch")
        .exploration(
            exploration_config={
                "type": "EpsilonGreedy",
                "initial_epsilon": 0.1,
                "final_epsilon": 0.0,
                "epsilon_timesteps": 100000,
            }
        )
        .reporting(min_sample_timesteps_per_iteration=200)
    )
    algo = config.build()
    for i in range(args.stop_iters):
        result = algo.train()
        print(i, result["env_runners"]["episode_reward_mean"])
    obs, _ = HighCard().reset(seed=1)
    print("greedy action:", algo.compute_single_action(obs, explore=False))
    algo.stop()
    ray.shutdown()
