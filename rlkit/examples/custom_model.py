"""Custom model: your own network in place of the built-in one (seed: "PyTorch Models").

What the seed says, in plain words: subclass the model base class, implement ``__init__`` and
``forward`` (and ``value_function`` for algorithms with a critic), register the class under a
name with ``ModelCatalog.register_custom_model``, and name it in the config as
``"custom_model"``. Whatever you put in ``"custom_model_config"`` arrives as keyword arguments
of your ``__init__`` (rlkit rejects a key your ``__init__`` does not take, with the list of
those it does).

This model has a policy branch and a separate *value branch*: the critic gets its own layers,
so the value loss never pulls on the features the policy uses.

    obs_flat [B, F] -> policy MLP (hiddens) -> logits Linear -> [B, num_outputs]
    obs_flat [B, F] -> value MLP (value_hiddens) -> Linear -> [B, 1] -> value [B]

Run it:  python -m rlkit.examples.custom_model --algo A2C
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rlkit.catalog import ModelCatalog
from rlkit.examples.common import example_parser, make_trainer, train
from rlkit.models import Model, get_activation
from rlkit.models.fcnet import linear


def tower(in_size: int, widths: list[int], activation: str) -> tuple[nn.Sequential, int]:
    """Dense layers ``in_size -> widths...``, each followed by ``activation``.

    Returns:
        (the layers, the width they output).
    """
    layers: list[nn.Module] = []
    for width in widths:
        # normc(1.0) keeps each layer's output scale near its input's (see models/fcnet.py).
        layers += [linear(in_size, width, 1.0), get_activation(activation)]
        in_size = width
    return nn.Sequential(*layers), in_size


class CustomTorchModel(Model):
    """An MLP policy with its own value branch; sizes come from ``custom_model_config``.

    Args:
        obs_space, action_space, num_outputs, model_config, name: as for every Model.
        hiddens: widths of the policy branch (``custom_model_config["hiddens"]``).
        value_hiddens: widths of the value branch.
        activation: activation of both branches ("tanh", "relu", ...).

    Shapes: ``input_dict["obs_flat"]: [B, F]`` float32 -> logits ``[B, num_outputs]``;
    ``value_function() -> [B]``.
    """

    def __init__(
        self,
        obs_space,
        action_space,
        num_outputs,
        model_config,
        name,
        hiddens=(64, 64),
        value_hiddens=(64,),
        activation="tanh",
    ):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        in_size = int(np.prod(obs_space.shape))
        self.policy_branch, width = tower(in_size, list(hiddens), activation)
        # A small last layer makes the first policy nearly uniform: broad early exploration.
        self.logits = linear(width, num_outputs, 0.01)
        self.value_branch, value_width = tower(in_size, list(value_hiddens), activation)
        self.value_head = linear(value_width, 1, 1.0)
        self._obs = None  # the last forward's input, for value_function()

    def forward(self, input_dict, state, seq_lens):
        """Logits from the policy branch.

        Shapes: input_dict["obs_flat"] [B, F] -> logits [B, num_outputs]; state passed through.
        """
        obs = input_dict["obs_flat"]  # [B, F]
        self._obs = obs
        return self.logits(self.policy_branch(obs)), state  # [B, num_outputs]

    def value_function(self) -> torch.Tensor:
        """Values [B] of the last forward's observations, from the value branch."""
        if self._obs is None:
            raise ValueError(f"model '{self.name}': call the model before value_function()")
        # The value branch reads the raw observation, not the policy's features.
        return self.value_head(self.value_branch(self._obs)).squeeze(1)  # [B, 1] -> [B]


ModelCatalog.register_custom_model("my_model", CustomTorchModel)


def config(seed: int = 0, algo: str = "PPO") -> dict:
    """A trainer config using the registered model, with its kwargs."""
    cfg = {
        "seed": seed,
        "model": {
            "custom_model": "my_model",
            # Extra kwargs to be passed to the model's constructor.
            "custom_model_config": {"hiddens": [64, 64], "value_hiddens": [64]},
        },
    }
    if algo == "A2C":
        cfg.update(lr=3e-3, entropy_coeff=0.0)
    return cfg


def main(argv=None) -> list[dict]:
    """Train with the custom model from the command line; returns every result."""
    args = example_parser(__doc__, ["PPO", "A2C"], 195.0, 200_000).parse_args(argv)
    trainer = make_trainer(args.algo, "CartPole-v1", config(args.seed, args.algo))
    print(trainer.get_policy().explain())
    return train(trainer, args.stop_reward, args.stop_timesteps)


if __name__ == "__main__":
    main()
