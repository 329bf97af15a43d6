"""Recurrent model: a custom LSTM model, next to the built-in ``use_lstm: True``.

What the seed says, in plain words: ``"use_lstm": True`` puts an LSTM on top of whatever model
you use, and that is often enough. When you want more control (your own layers around the
LSTM, several cells for different parts of the input), subclass ``RecurrentModel`` and write
three methods:

- ``__init__``: the layers;
- ``get_initial_state()``: the state an episode starts from, a list of tensors WITHOUT the
  batch dimension (here ``[h, c]``, each ``[cell]``);
- ``forward_rnn(inputs [B, T, F], state, seq_lens)``: run over time and return
  ``(outputs [B, T, num_outputs], new state)``.

``RecurrentModel.forward`` does the folding for you: the trainer hands over ``N = B*T`` rows
(``B`` sequences padded to ``T`` steps) and it reshapes them to ``[B, T, F]`` and back.

The env is ``RepeatAfterMeEnv``: the reward asks for the token seen one step ago, which the
current observation does not show, so only a model with memory can score (a feed-forward
policy gets about 0; the best return is 19).

Run it:  python -m rlkit.examples.recurrent_model --model custom    (or --model use_lstm)
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

import rlkit.examples.envs  # noqa: F401  (registers RepeatAfterMeEnv)
from rlkit.catalog import ModelCatalog
from rlkit.examples.common import example_parser, make_trainer, train
from rlkit.models import RecurrentModel
from rlkit.models.fcnet import linear


class RNNModel(RecurrentModel):
    """Dense layer -> LSTM -> policy logits and value, per time step.

        inputs [B, T, F] -> Linear+ReLU [B, T, fc_size] -> LSTM [B, T, cell]
            -> logits Linear [B, T, num_outputs];  value Linear [B, T, 1]

    Args:
        fc_size: width of the dense layer before the LSTM (``custom_model_config``).
        lstm_state_size: LSTM cell size.
    """

    def __init__(
        self,
        obs_space,
        action_space,
        num_outputs,
        model_config,
        name,
        fc_size=64,
        lstm_state_size=64,
    ):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        self.cell_size = lstm_state_size
        self.fc = linear(int(np.prod(obs_space.shape)), fc_size)
        self.lstm = nn.LSTM(fc_size, lstm_state_size, batch_first=True)
        self.logits = linear(lstm_state_size, num_outputs, 0.01)
        self.value_head = linear(lstm_state_size, 1)
        self._features = None

    def get_initial_state(self) -> list[torch.Tensor]:
        """Zero h and c, each [cell_size] (no batch dimension)."""
        # No batch dimension: the trainer repeats these for every env.
        return [torch.zeros(self.cell_size), torch.zeros(self.cell_size)]

    def forward_rnn(self, inputs, state, seq_lens):
        """Run the LSTM over the padded sequences.

        Shapes: inputs [B, T, F], state [h [B, cell], c [B, cell]], seq_lens [B]
        -> outputs [B, T, num_outputs] and the new [h, c].
        """
        x = torch.relu(self.fc(inputs))  # [B, T, F] -> [B, T, fc_size]
        h, c = state  # [B, cell] each
        # nn.LSTM wants a leading layer axis on the state: [B, cell] -> [1, B, cell].
        out, (h, c) = self.lstm(x, (h.unsqueeze(0), c.unsqueeze(0)))  # out [B, T, cell]
        # Steps past seq_lens are padding: the trainer masks their outputs out of the loss,
        # and the state returned here is only used when sampling, where T = 1 (no padding).
        self._features = out
        return self.logits(out), [h.squeeze(0), c.squeeze(0)]  # [B, T, num_outputs]

    def value_function(self) -> torch.Tensor:
        """Values [B*T] for every step of the last forward."""
        return self.value_head(self._features).reshape(-1)  # [B, T, 1] -> [B*T]


ModelCatalog.register_custom_model("rnn", RNNModel)

MODELS = {
    # Our own RecurrentModel.
    "custom": {"custom_model": "rnn", "max_seq_len": 20},
    # The built-in: a fully connected layer with an LSTM on top.
    "use_lstm": {"use_lstm": True, "fcnet_hiddens": [64], "lstm_cell_size": 64, "max_seq_len": 20},
}


def config(model: str = "custom", seed: int = 0, algo: str = "PPO") -> dict:
    """Trainer config for RepeatAfterMeEnv with either recurrent model."""
    cfg = {"seed": seed, "model": dict(MODELS[model]), "lr": 1e-3}
    if algo == "PPO":
        cfg.update(entropy_coeff=0.01, num_sgd_iter=5, sgd_minibatch_size=512)
    return cfg


def main(argv=None) -> list[dict]:
    """Train on RepeatAfterMeEnv from the command line; returns every result."""
    parser = example_parser(__doc__, ["PPO", "A2C", "PG"], 17.0, 200_000)
    parser.add_argument("--model", choices=list(MODELS), default="custom")
    args = parser.parse_args(argv)
    trainer = make_trainer(args.algo, "RepeatAfterMeEnv", config(args.model, args.seed, args.algo))
    print(trainer.get_policy().explain())
    return train(trainer, args.stop_reward, args.stop_timesteps)


if __name__ == "__main__":
    main()
