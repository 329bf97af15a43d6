"""RLlib's Q head for DQN: dense layers over the model's output, optionally dueling.

With ``hiddens`` or ``dueling`` set, DQN builds the model as RLlib does, as a feature
extractor of ``F = ([256] + fcnet_hiddens)[-1]`` outputs whose last hidden layer is the output
(``no_final_linear``), and puts this head over it (Wang et al. 2016, arXiv:1511.06581):

    A(s, .) = advantage MLP(features)                 [B, n]   (hiddens, relu, then n)
    V(s)    = value MLP(features)                     [B, 1]   (dueling only)
    Q(s, a) = V(s) + A(s, a) - mean_a' A(s, a')       dueling
    Q(s, a) = A(s, a)                                 otherwise

With ``hiddens: []`` and ``dueling: False`` (rlkit's defaults) there is no head: the model's
outputs are the Q-values, which is what a custom model that masks actions needs (RLlib's
parametric-actions example sets exactly that).
"""

from __future__ import annotations

import torch
from torch import nn

from rlkit.catalog import ModelCatalog
from rlkit.models.base import Model
from rlkit.models.fcnet import mlp
from rlkit.utils.seeding import reset_parameters_

RLLIB_FEATURES = 256  # RLlib's width when fcnet_hiddens is empty


def _default_linear(in_size: int, out_size: int) -> nn.Linear:
    """An ``nn.Linear`` with torch's default init, drawn from the trainer's generator."""
    return reset_parameters_(nn.utils.skip_init(nn.Linear, in_size, out_size))


class QHeadModel(Model):
    """A feature model with RLlib's Q head over it.

    Args:
        base: the model whose outputs [B, F] are the features.
        num_actions: n, the Q-values per row.
        hiddens: widths of the dense relu layers of each stream.
        dueling: add the value stream and combine as V + A - mean(A).
    """

    def __init__(self, base: Model, num_actions: int, hiddens: list[int], dueling: bool):
        super().__init__(
            base.obs_space, base.action_space, num_actions, base.model_config, "q_head"
        )
        self.base = base
        features = base.num_outputs
        relus = ["relu"] * len(hiddens)
        hidden, width = mlp(features, list(hiddens), relus)
        self.advantage = nn.Sequential(hidden, _default_linear(width, num_actions))
        self.value = None
        if dueling:
            hidden, width = mlp(features, list(hiddens), relus)
            self.value = nn.Sequential(hidden, _default_linear(width, 1))

    def forward(self, input_dict, state, seq_lens):
        """Q-values ``[B, n]`` from the base model's features ``[B, F]``."""
        features, state = self.base(input_dict, state, seq_lens)
        advantages = self.advantage(features)  # [B, n]
        if self.value is None:
            return advantages, state
        value = self.value(features)  # [B, 1]
        return value + advantages - advantages.mean(dim=1, keepdim=True), state

    def value_function(self) -> torch.Tensor:
        """The base model's value (DQN does not use it)."""
        return self.base.value_function()

    def metrics(self) -> dict:
        """The base model's metrics."""
        return self.base.metrics()

    def custom_loss(self, policy_loss, loss_inputs):
        """The base model's custom loss."""
        return self.base.custom_loss(policy_loss, loss_inputs)


def build_q_model(policy, hiddens: list[int], dueling: bool) -> QHeadModel:
    """The model a DQN with RLlib's Q head acts and learns with (module docstring).

    Args:
        policy: the Policy built for the env (its spaces and model config are used).
        hiddens: widths of each stream's relu layers (DQN's config key).
        dueling: whether to add the value stream (DQN's config key).
    """
    config = dict(policy.model_config)
    features = ([RLLIB_FEATURES] + list(config["fcnet_hiddens"]))[-1]
    config["no_final_linear"] = True
    base = ModelCatalog.get_model(
        policy.preprocessor.observation_space, policy.action_space, features, config
    )
    return QHeadModel(base, int(policy.action_space.n), hiddens, dueling)
