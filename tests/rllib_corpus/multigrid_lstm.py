"""Recurrent PPO on a grid world where the goal is shown only at the start: a
ComplexInputNetwork base, then an LSTM (RLlib 2.x API, old model stack).

Written for rlkit's migration corpus after ini/multigrid, multigrid/rllib/models.py
(Apache-2.0; see README.md): the same RLlib constructs (TorchComplexInputNetwork with
num_outputs None as a feature extractor, base_model.post_fc_stack.num_outputs,
add_time_dimension(..., framework="torch", time_major=False), state as [B, hidden] tensors
with get_initial_state, lstm_cell_size from the model config), own code and env.
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
from ray.rllib.policy.rnn_sequencing import add_time_dimension
from ray.rllib.utils.framework import try_import_torch

torch, nn = try_import_torch()


class TorchLSTMModel(TorchModelV2, nn.Module):
    """ComplexInputNetwork features -> LSTM -> action logits and value."""

    def __init__(self, obs_space, action_space, num_outputs, model_config, name, **kwargs):
        nn.Module.__init__(self)
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        self.base_model = TorchComplexInputNetwork(
            obs_space, action_space, None, model_config, f"{name}_base"
        )
        self.lstm = nn.LSTM(
            self.base_model.post_fc_stack.num_outputs,
            model_config.get("lstm_cell_size", 256),
            batch_first=True,
        )
        self.action_model = nn.Linear(self.lstm.hidden_size, num_outputs)
        self.value_model = nn.Linear(self.lstm.hidden_size, 1)
        self._features = None

    def forward(self, input_dict, state, seq_lens):
        x, _ = self.base_model(input_dict, state, seq_lens)
        x = add_time_dimension(x, seq_lens=seq_lens, framework="torch", time_major=False)
        h, c = state[0].unsqueeze(0), state[1].unsqueeze(0)
        x, [h, c] = self.lstm(x, [h, c])
        self._features = x.reshape(-1, self.lstm.hidden_size)
        return self.action_model(self._features), [h.squeeze(0), c.squeeze(0)]

    def value_function(self):
        assert self._features is not None, "must call forward() first"
        return self.value_model(self._features).flatten()

    def get_initial_state(self):
        return [torch.zeros(self.lstm.hidden_size), torch.zeros(self.lstm.hidden_size)]


class RememberCorridor(Env):
    """A cue (left or right) is shown at step 0 only; at the corridor's end turn that way."""

    def __init__(self, config=None):
        self.length = (config or {}).get("length", 4)
        self.observation_space = spaces.Dict(
            {
                "image": spaces.Box(0.0, 1.0, (3, 3, 2), np.float32),
                "position": spaces.Discrete(self.length + 1),
            }
        )
        self.action_space = spaces.Discrete(2)

    def _obs(self):
        image = np.zeros((3, 3, 2), np.float32)
        if self.t == 0:
            image[1, 1, self.cue] = 1.0
        return {"image": image, "position": self.t}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.cue, self.t = int(self.np_random.integers(2)), 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        if self.t < self.length:
            return self._obs(), 0.0, False, False, {}
        return self._obs(), 1.0 if action == self.cue else -1.0, True, False, {}


parser = argparse.ArgumentParser()
parser.add_argument("--stop-iters", type=int, default=200)

if __name__ == "__main__":
    args = parser.parse_args()
    ModelCatalog.register_custom_model("lstm_model", TorchLSTMModel)
    config = (
        PPOConfig()
        .environment(RememberCorridor, env_config={"length": 4})
        .env_runners(num_env_runners=0, num_envs_per_env_runner=4, rollout_fragment_length=16)
        .training(
            train_batch_size=64,
            num_sgd_iter=4,
            sgd_minibatch_size=32,
            model={
                "custom_model": "lstm_model",
                "max_seq_len": 8,
                "lstm_cell_size": 16,
                "conv_filters": [[4, [3, 3], 1]],
                "fcnet_hiddens": [8],
                "post_fcnet_hiddens": [16],
            },
        )
        .resources(num_gpus=0)
    )
    algo = config.build()
    for i in range(args.stop_iters):
        result = algo.train()
        print(f"{i}: {result['env_runners']['episode_reward_mean']:.2f}")
    obs, _ = RememberCorridor().reset(seed=0)
    state = algo.get_policy().get_initial_state()
    action, state, _ = algo.compute_single_action(obs, state=state)
    print("first action:", action)
    algo.stop()
