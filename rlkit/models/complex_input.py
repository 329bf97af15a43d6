"""ComplexInputNetwork: RLlib's model for Dict / Tuple observations with images among them.

    obs (nested)  -> each leaf by its kind:
        image Box [B, H, W, C]    -> VisionNetwork features (conv_filters, conv_activation)
        Discrete [B] / one-hot    -> one-hot [B, n]       -> FullyConnectedNetwork features
        MultiDiscrete             -> one-hots [B, sum(n)] -> FullyConnectedNetwork features
        other Box [B, *shape]     -> flatten [B, prod]    -> FullyConnectedNetwork features
    concat [B, sum of features] -> post_fc_stack (post_fcnet_hiddens, post_fcnet_activation)
    -> logits Linear [B, num_outputs] and value Linear [B, 1]

As RLlib's (``ray.rllib.models.torch.complex_input_net``): the flat leaves' towers use
``fcnet_hiddens`` / ``fcnet_activation``, ``num_outputs=None`` builds a feature extractor
whose ``num_outputs`` is the post stack's width, and ``self.post_fc_stack.num_outputs`` is
that width. rlkit's catalog does not pick it on its own (a Dict observation is flattened into
a FullyConnectedNetwork unless a model says otherwise); name it as a custom model or build it
inside yours.
"""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from rlkit.models.base import Model
from rlkit.models.fcnet import FullyConnectedNetwork
from rlkit.models.visionnet import VisionNetwork
from rlkit.spaces import get_at, leaf_paths


class ComplexInputNetwork(Model):
    """One tower per observation leaf, concatenated, then a shared FC stack (module doc).

    Shapes: ``input_dict["obs"]``: the nested observation, leaves ``[B, ...]`` ->
    outputs ``[B, num_outputs]``; ``value_function() -> [B]``.
    """

    def __init__(self, obs_space, action_space, num_outputs, model_config, name):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        cfg = self.model_config
        original = getattr(obs_space, "original_space", obs_space)
        self.leaves = leaf_paths(original)  # [(path, space)], Dict keys sorted
        towers, width = [], 0
        for i, (_, space) in enumerate(self.leaves):
            tower = self._tower(space, cfg, f"{name}_leaf{i}")
            towers.append(tower)
            width += tower.num_outputs
        self.towers = nn.ModuleList(towers)
        post = {"fcnet_hiddens": cfg["post_fcnet_hiddens"]}
        post["fcnet_activation"] = cfg["post_fcnet_activation"]
        concat_space = spaces.Box(-np.inf, np.inf, (width,), np.float32)
        self.post_fc_stack = FullyConnectedNetwork(concat_space, None, None, post, f"{name}_post")
        features = self.post_fc_stack.num_outputs
        self.logits_layer = nn.Linear(features, num_outputs) if num_outputs else None
        if not num_outputs:
            self.num_outputs = features
        self.value_layer = nn.Linear(features, 1)
        self._features: torch.Tensor | None = None

    @staticmethod
    def _tower(space: spaces.Space, cfg: dict, name: str) -> Model:
        """The model for one leaf; its ``num_outputs`` is its feature width."""
        if _is_image(space):
            conv = {"conv_filters": cfg["conv_filters"], "conv_activation": cfg["conv_activation"]}
            return VisionNetwork(space, None, None, {**conv, "post_fcnet_hiddens": []}, name)
        size = _flat_size(space)
        flat = spaces.Box(-np.inf, np.inf, (size,), np.float32)
        fc = {"fcnet_hiddens": cfg["fcnet_hiddens"], "fcnet_activation": cfg["fcnet_activation"]}
        return FullyConnectedNetwork(flat, None, None, fc, name)

    def forward(self, input_dict, state, seq_lens):
        """Towers, concat, post stack, logits. Shapes: nested obs -> ``[B, num_outputs]``."""
        obs = input_dict["obs"]
        parts = []
        for (path, space), tower in zip(self.leaves, self.towers):
            x = _leaf_input(get_at(obs, path), space)
            out, _ = tower({"obs": x})
            parts.append(out)  # [B, features of this leaf]
        joined = torch.cat(parts, dim=-1)  # [B, sum of features]
        self._features, _ = self.post_fc_stack({"obs": joined})
        if self.logits_layer is None:
            return self._features, state
        return self.logits_layer(self._features), state

    def value_function(self) -> torch.Tensor:
        """``[B]`` value estimates of the last forward's rows."""
        if self._features is None:
            raise RuntimeError("ComplexInputNetwork.value_function() needs a forward call first")
        return self.value_layer(self._features).squeeze(-1)  # [B, 1] -> [B]


def _is_image(space: spaces.Space) -> bool:
    """RLlib's rule here: any Box of rank 3 is an (H, W, C) image, whatever its dtype."""
    return isinstance(space, spaces.Box) and len(space.shape) == 3


def _flat_size(space: spaces.Space) -> int:
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    if isinstance(space, spaces.MultiDiscrete):
        return int(np.sum(space.nvec))
    return int(np.prod(space.shape))


def _leaf_input(x: torch.Tensor, space: spaces.Space) -> torch.Tensor:
    """A leaf as a flat float tensor ``[B, size]`` (images stay ``[B, H, W, C]``)."""
    x = torch.as_tensor(x)
    if _is_image(space):
        return x.float()
    if isinstance(space, spaces.Discrete) and x.dim() == 1:  # indices [B] -> one-hot [B, n]
        return nn.functional.one_hot(x.long() - int(space.start), int(space.n)).float()
    if isinstance(space, spaces.MultiDiscrete) and x.shape[-1] == len(space.nvec):
        hots = [nn.functional.one_hot(x[:, i].long(), int(n)) for i, n in enumerate(space.nvec)]
        return torch.cat(hots, dim=-1).float()  # [B, sum(nvec)]
    return x.reshape(x.shape[0], -1).float()  # [B, *shape] -> [B, prod(shape)]
