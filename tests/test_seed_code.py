"""The seed's code blocks run in rlkit after swapping the imports (API.md's promise)."""

from __future__ import annotations

import torch.nn as nn

from rlkit import ModelCatalog  # the seed: from ray.rllib.models import ModelCatalog
from rlkit.algorithms import A2CTrainer, PPOTrainer
from rlkit.models import Model as TorchModelV2


class CustomTorchModel(TorchModelV2):
    def __init__(self, obs_space, action_space, num_outputs, model_config, name):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        self.body = nn.Sequential(nn.Linear(obs_space.shape[0], 16), nn.Tanh())
        self.logits = nn.Linear(16, num_outputs)
        self.value = nn.Linear(16, 1)

    def forward(self, input_dict, state, seq_lens):
        self._features = self.body(input_dict["obs"])
        return self.logits(self._features), state

    def value_function(self):
        return self.value(self._features).squeeze(1)


def test_seed_custom_torch_model_block_with_a2c_and_ppo():
    ModelCatalog.register_custom_model("my_model", CustomTorchModel)
    for trainer_cls in (A2CTrainer, PPOTrainer):
        trainer = trainer_cls(
            env="CartPole-v1",
            config={
                "model": {
                    "custom_model": "my_model",
                    # Extra kwargs to be passed to your model's c'tor.
                    "custom_model_config": {},
                },
                "num_envs": 2,
                "rollout_fragment_length": 16,
            },
        )
        result = trainer.train()
        assert isinstance(trainer.get_policy().model, CustomTorchModel)
        assert result["timesteps_total"] > 0
