"""PG with a model that adds a self-supervised reward-prediction loss to the policy loss
(RLlib 1.x API: custom_loss in the ModelV2, metrics(), merge_dicts over DEFAULT_CONFIG, the
learner's custom_metrics, policy.export_checkpoint at the end).

Written for rlkit's migration corpus in the RLlib 1.x custom_loss idiom (custom_loss
(policy_loss, loss_inputs) returning a list, SampleBatch column constants,
restore_original_dimensions); no permissively licensed user script of this kind was found
to follow, so it copies no one's structure (see README.md).
"""

import argparse
import tempfile

import gym
import numpy as np
from ray.rllib.agents.pg import DEFAULT_CONFIG, PGTrainer
from ray.rllib.models import ModelCatalog
from ray.rllib.models.modelv2 import ModelV2, restore_original_dimensions
from ray.rllib.models.torch.fcnet import FullyConnectedNetwork as TorchFC
from ray.rllib.models.torch.torch_modelv2 import TorchModelV2
from ray.rllib.policy.sample_batch import SampleBatch
from ray.rllib.utils.annotations import override
from ray.rllib.utils.framework import try_import_torch
from ray.tune.utils import merge_dicts

torch, nn = try_import_torch()


class RewardPredictionModel(TorchModelV2, nn.Module):
    """An FC policy plus a head that predicts the reward of (obs, action); its squared error
    is added to the policy loss with weight aux_weight."""

    def __init__(self, obs_space, action_space, num_outputs, model_config, name, aux_weight=0.5):
        TorchModelV2.__init__(self, obs_space, action_space, num_outputs, model_config, name)
        nn.Module.__init__(self)
        self.fc = TorchFC(obs_space, action_space, num_outputs, model_config, name + "_fc")
        self.reward_head = nn.Linear(obs_space.shape[0] + action_space.n, 1)
        self.aux_weight = aux_weight
        self.aux_loss_value = 0.0

    @override(ModelV2)
    def forward(self, input_dict, state, seq_lens):
        return self.fc(input_dict, state, seq_lens)

    @override(ModelV2)
    def value_function(self):
        return self.fc.value_function()

    @override(ModelV2)
    def custom_loss(self, policy_loss, loss_inputs):
        obs = restore_original_dimensions(
            loss_inputs[SampleBatch.OBS], self.obs_space, tensorlib="torch"
        )
        actions = loss_inputs[SampleBatch.ACTIONS].long()
        one_hot = nn.functional.one_hot(actions, self.action_space.n).float()
        predicted = self.reward_head(torch.cat([obs, one_hot], dim=1)).squeeze(1)
        aux = torch.mean((predicted - loss_inputs[SampleBatch.REWARDS]) ** 2)
        self.aux_loss_value = aux.item()
        return [loss + self.aux_weight * aux for loss in policy_loss]

    def metrics(self):
        return {"reward_prediction_loss": self.aux_loss_value}


class TwoArmedContext(gym.Env):
    """One-step episodes: the observation says which arm pays."""

    def __init__(self, config=None):
        self.observation_space = gym.spaces.Box(0.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.good = int(self.np_random.integers(2))
        return np.eye(2, dtype=np.float32)[self.good], {}

    def step(self, action):
        reward = 1.0 if action == self.good else 0.0
        return np.eye(2, dtype=np.float32)[self.good], reward, True, False, {}


parser = argparse.ArgumentParser()
parser.add_argument("--stop-iters", type=int, default=20)

if __name__ == "__main__":
    args = parser.parse_args()
    ModelCatalog.register_custom_model("reward_prediction", RewardPredictionModel)
    config = merge_dicts(
        DEFAULT_CONFIG,
        {
            "framework": "torch",
            "num_workers": 0,
            "lr": 0.01,
            "train_batch_size": 200,
            "model": {"custom_model": "reward_prediction", "custom_model_config": {"aux_weight": 1.0}},
        },
    )
    trainer = PGTrainer(env=TwoArmedContext, config=config)
    for i in range(args.stop_iters):
        result = trainer.train()
        learner = result["info"]["learner"]["default_policy"]
        print(i, result["episode_reward_mean"], learner["model"], learner["custom_metrics"])
    path = trainer.get_policy().export_checkpoint(tempfile.mkdtemp())
    print("exported", path.rsplit("/", 1)[-1])
