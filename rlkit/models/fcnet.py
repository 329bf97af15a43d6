r"""FullyConnectedNetwork: the default model for flat observations, and the layer helpers.

    obs_flat [B, F] -> fcnet_hiddens (fcnet_activation) -> post_fcnet_hiddens
    (post_fcnet_activation) -> features [B, H] -> logits Linear -> outputs [B, num_outputs]
                                             \\-> value Linear -> value [B]

Initialisation matters for policy-gradient learning speed: hidden layers use normc(1.0)
(each output unit's weight row has norm 1, so activations keep their scale), the logits
layer normc(0.01) (a near-uniform first policy, so early exploration is broad), the value
layer normc(1.0); biases start at zero.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn.utils import skip_init

from rlkit.models.base import Model
from rlkit.utils.seeding import generator, reset_parameters_

_ACTIVATIONS = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "swish": nn.SiLU,
    "silu": nn.SiLU,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
    "linear": nn.Identity,
}


def get_activation(name: str | None) -> nn.Module:
    """Return a fresh activation module for a config name ("tanh", "relu", ..., None)."""
    key = "linear" if name is None else str(name).lower()
    if key not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; use one of {', '.join(_ACTIVATIONS)}")
    return _ACTIVATIONS[key]()


@torch.no_grad()
def normc_(weight: torch.Tensor, std: float = 1.0) -> torch.Tensor:
    """Fill ``weight`` ``[out, *in]`` in place: Gaussian rows rescaled to norm ``std`` each."""
    weight.normal_(0.0, 1.0, generator=generator())
    rows = weight.view(weight.shape[0], -1)  # [out, *in] -> [out, in_total]
    rows.mul_(std / rows.norm(dim=1, keepdim=True))
    return weight


def default_linear(in_size: int, out_size: int) -> nn.Linear:
    """An ``nn.Linear`` with torch's default init, drawn from the trainer's generator."""
    return reset_parameters_(skip_init(nn.Linear, in_size, out_size))


def linear(in_size: int, out_size: int, std: float = 1.0) -> nn.Linear:
    """An ``nn.Linear`` with normc(std) weights and zero bias."""
    # torch's default init, then normc, all from the trainer's generator (rlkit.utils.seeding)
    layer = reset_parameters_(skip_init(nn.Linear, in_size, out_size))
    normc_(layer.weight, std)
    nn.init.zeros_(layer.bias)
    return layer


def mlp(in_size: int, widths: list[int], activations: list[str]) -> tuple[nn.Sequential, int]:
    """Dense layers ``in_size -> widths[0] -> ...`` each followed by its activation.

    Returns:
        (the ``nn.Sequential``, its output width: ``widths[-1]`` or ``in_size`` if none).
    """
    layers: list[nn.Module] = []
    for width, activation in zip(widths, activations):
        layers += [linear(in_size, width, 1.0), get_activation(activation)]
        in_size = width
    return nn.Sequential(*layers), in_size


def num_mean_outputs(num_outputs: int | None, model_config: dict, where: str) -> int | None:
    """Width the network itself must output: half of ``num_outputs`` with free_log_std.

    Raises:
        ValueError: free_log_std with an odd ``num_outputs``.
    """
    if not num_outputs or not model_config["free_log_std"]:
        return num_outputs or None
    if num_outputs % 2:
        raise ValueError(
            f"{where}: free_log_std needs an even num_outputs (means + log stds of a diagonal "
            f"Gaussian); got num_outputs={num_outputs}. Use free_log_std only with Box actions "
            f"and a DiagGaussian-style distribution, or set free_log_std=False"
        )
    return num_outputs // 2


def policy_outputs(
    features: torch.Tensor, logits: nn.Module | None, log_std: torch.Tensor | None
) -> torch.Tensor:
    """``features [B, H]`` -> outputs ``[B, num_outputs]``: logits layer, then free log std."""
    outputs = features if logits is None else logits(features)  # [B, n]
    if log_std is not None:
        # The log std does not depend on the state: one row, broadcast over the batch.
        outputs = torch.cat([outputs, log_std.expand(outputs.shape[0], -1)], dim=1)  # [B, 2n]
    return outputs


def value_branch(
    num_outputs: int | None, share_layers: bool, features: int, build_tower: Callable
) -> tuple[nn.Module | None, nn.Module | None]:
    """The value head, on the shared features or on a tower of its own: (tower, head).

    A feature extractor (``num_outputs`` None or 0) has no heads: the model wrapping it has
    them, so it gets (None, None). ``build_tower()`` returns (tower, its output width).
    """
    if not num_outputs:
        return None, None
    tower, value_in = (None, features) if share_layers else build_tower()
    return tower, linear(value_in, 1, 1.0)


def value_outputs(
    model: Model,
    value_input: torch.Tensor | None,
    tower: nn.Module | None,
    head: nn.Module | None,
) -> torch.Tensor:
    """Values ``[B]`` from what the last forward kept.

    That is the shared features, or the input of a separate value tower.
    """
    if head is None:
        raise ValueError(
            f"model '{model.name}' ({type(model).__name__}) was built as a feature extractor "
            f"(num_outputs=None) and has no value head; ask the model that wraps it"
        )
    if value_input is None:
        raise ValueError(
            f"model '{model.name}' ({type(model).__name__}): call the model on a "
            f"batch before value_function(); it returns the values of that call"
        )
    x = value_input if tower is None else tower(value_input)  # [B, D]
    return head(x).squeeze(1)  # [B, 1] -> [B]


def hidden_plan(model_config: dict) -> tuple[list[int], list[str]]:
    """Widths and activations of fcnet_hiddens followed by post_fcnet_hiddens."""
    hiddens, post = list(model_config["fcnet_hiddens"]), list(model_config["post_fcnet_hiddens"])
    activations = [model_config["fcnet_activation"]] * len(hiddens)
    activations += [model_config["post_fcnet_activation"]] * len(post)
    return hiddens + post, activations


class MLPLayers(NamedTuple):
    """A FullyConnectedNetwork's parts, for code that runs them another way (numpy engine)."""

    hidden: nn.Sequential  # the policy tower: Linear, activation, Linear, activation, ...
    logits: nn.Linear | None  # the output layer; None: the tower's last layer is the output
    value_tower: nn.Sequential | None  # its own tower; None: the head reads the policy features
    value_head: nn.Linear | None  # [D] -> 1; None for a feature extractor (no value)


class FullyConnectedNetwork(Model):
    """A multilayer perceptron over ``obs_flat`` (RLlib's ``FullyConnectedNetwork``).

    | model_config key | effect |
    |---|---|
    | ``fcnet_hiddens``, ``fcnet_activation`` | the hidden layers |
    | ``post_fcnet_hiddens``, ``post_fcnet_activation`` | more layers after them |
    | ``no_final_linear`` | the last hidden layer, width num_outputs, is the output |
    | ``free_log_std`` | outputs num_outputs/2 means + a learned state-independent log std |
    | ``vf_share_layers`` | value head on the shared features (True) or its own MLP |

    ``num_outputs=None`` (or 0) builds a feature extractor: no logits and no value head, and
    ``self.num_outputs`` becomes the last hidden width (used by the LSTM wrapper).

    Shapes: ``input_dict["obs_flat"]: [B, F]`` float32 -> outputs ``[B, num_outputs]``;
    ``value_function() -> [B]``.
    """

    def __init__(self, obs_space, action_space, num_outputs, model_config, name):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        cfg = self.model_config
        self._in_size = int(np.prod(obs_space.shape))
        widths, activations = hidden_plan(cfg)
        num_means = num_mean_outputs(num_outputs, cfg, f"model '{name}'")
        out_widths, out_activations = widths, activations
        if num_means and cfg["no_final_linear"]:
            # The last hidden layer becomes the output layer, keeping its activation.
            last_activation = activations[-1] if activations else cfg["fcnet_activation"]
            out_widths = widths[:-1] + [num_means]
            out_activations = activations[:-1] + [last_activation]
        self._hidden, features = mlp(self._in_size, out_widths, out_activations)
        use_logits = bool(num_means) and not cfg["no_final_linear"]
        self._logits = linear(features, num_means, 0.01) if use_logits else None
        free_log_std = bool(num_means) and cfg["free_log_std"]
        self.log_std = nn.Parameter(torch.zeros(num_means)) if free_log_std else None
        if not num_outputs:
            self.num_outputs = features
        self._value_tower, self._value_head = value_branch(
            num_outputs,
            cfg["vf_share_layers"],
            features,
            lambda: mlp(self._in_size, widths, activations),
        )
        self._value_input = None
        self.layer_shapes = [("obs_flat", (self._in_size,))]
        self.layer_shapes += [(f"fc{i + 1}", (w,)) for i, w in enumerate(out_widths)]
        if use_logits:
            self.layer_shapes.append(("logits", (num_means,)))
        if self.log_std is not None:
            self.layer_shapes.append(("means + log_std", (num_outputs,)))

    def forward(self, input_dict, state, seq_lens):
        """Logits of the MLP. Shapes: obs_flat [B, F] -> [B, num_outputs]; state passed through."""
        obs = input_dict["obs_flat"]  # [B, F]
        if obs.shape[-1] != self._in_size:
            raise ValueError(
                f"model '{self.name}' (FullyConnectedNetwork) was built for {self._in_size} "
                f"input features (obs_space shape {tuple(self.obs_space.shape)}) but got "
                f"obs_flat of shape {list(obs.shape)}; build it with the preprocessed "
                f"observation space"
            )
        features = self._hidden(obs)  # [B, H]
        self._value_input = obs if self._value_tower is not None else features
        return policy_outputs(features, self._logits, self.log_std), state

    def layers(self) -> MLPLayers:
        """The network's parts: hidden tower, output layer, value tower and value head."""
        return MLPLayers(self._hidden, self._logits, self._value_tower, self._value_head)

    def value_function(self) -> torch.Tensor:
        """Return ``[B]`` values for the observations of the last forward call."""
        return value_outputs(self, self._value_input, self._value_tower, self._value_head)

    def value_shares_forward(self) -> bool:
        """True with ``vf_share_layers``: the value head reads the forward's features."""
        return self._value_head is not None and self._value_tower is None
