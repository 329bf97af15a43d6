"""VisionNetwork: the default model for image observations ``[B, H, W, C]``.

    obs [B, H, W, C] -> permute [B, C, H, W] -> conv_filters ("same" padding, the last layer
    "valid") -> [B, C', H', W'] -> flatten [B, C'*H'*W'] (just [B, C'] when H' = W' = 1)
    -> post_fcnet_hiddens -> logits Linear -> outputs [B, num_outputs]

``conv_filters`` is a list of ``[out_channels, kernel, stride]`` (kernel and stride an int or
``[kh, kw]``). Every layer but the last pads "same" (``out = ceil(in / stride)``), the last
is "valid" (``out = floor((in - kernel) / stride) + 1``), as in RLlib. Every layer's output
size is computed before anything is built, so a stack that does not fit the image is
reported with a stack that does, ready to paste into the config.

Memory layout: the conv weights are kept channels-last (``torch.channels_last``), the layout
the observations already have (``[B, H, W, C]`` permuted to ``[B, C, H, W]`` is a
channels-last view, no copy), so oneDNN runs every conv in NHWC. On 2 CPU cores and one
thread that takes the default 84x84 stack's 256-row forward and backward from 123 to 70 ms
of CPU, the Nature CNN's from 356 to 224 ms, against the same weights in NCHW fed a
contiguous NCHW batch (``benchmarks/README.md``, "Kernels").
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.nn.utils import skip_init

from rlkit.models.base import Model
from rlkit.models.fcnet import (
    get_activation,
    linear,
    mlp,
    num_mean_outputs,
    policy_outputs,
    value_branch,
    value_outputs,
)
from rlkit.utils.seeding import generator, reset_parameters_

# Default stacks by (square) image size; RLlib's, and each tested to fit.
DEFAULT_FILTERS = {
    84: [[16, [8, 8], 4], [32, [4, 4], 2], [256, [11, 11], 1]],
    42: [[16, [4, 4], 2], [32, [4, 4], 2], [256, [11, 11], 1]],
    64: [[32, [4, 4], 2], [64, [4, 4], 2], [128, [4, 4], 2], [256, [4, 4], 2]],
    96: [[16, [8, 8], 4], [32, [4, 4], 2], [256, [11, 11], 2]],
    10: [[16, [5, 5], 2], [32, [5, 5], 2]],
}


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def suggest_conv_filters(h: int, w: int) -> list:
    """Generate a conv stack for an ``h`` x ``w`` image that ends in a 1x1 output.

    Stride-2 4x4 "same" layers halve the image until it is at most 11 pixels a side; a last
    "valid" layer with a kernel the size of what is left reduces it to 1x1.

    Example:
        >>> suggest_conv_filters(7, 7)
        [[16, [3, 3], 1], [256, [7, 7], 1]]
    """
    filters, channels = [], 16
    while max(h, w) > 11:
        filters.append([channels, [4, 4], 2])
        h, w = math.ceil(h / 2), math.ceil(w / 2)
        channels = min(2 * channels, 64)
    if not filters:
        # Small images still get one spatial layer before the layer that covers the image.
        filters.append([channels, [3, 3], 1])
    filters.append([256, [h, w], 1])
    return filters


def get_filter_config(shape) -> list:
    """Default ``conv_filters`` for an observation shape ``(H, W, C)`` (or ``(H, W)``).

    RLlib's stacks for 84x84, 42x42, 64x64, 96x96 and 10x10; any other size gets
    :func:`suggest_conv_filters`.
    """
    h, w = int(shape[0]), int(shape[1])
    if h == w and h in DEFAULT_FILTERS:
        return copy.deepcopy(DEFAULT_FILTERS[h])
    return suggest_conv_filters(h, w)


def conv_output_shapes(input_hw, filters) -> list[tuple[int, int, int]]:
    """Output ``(C, H, W)`` of every layer of ``filters`` on an ``input_hw`` image.

    Raises:
        ValueError: a layer's output would be smaller than 1x1; the message names the layer
            and proposes a stack that fits, as a Python literal for ``conv_filters``.

    Example:
        >>> conv_output_shapes((84, 84), DEFAULT_FILTERS[84])
        [(16, 21, 21), (32, 11, 11), (256, 1, 1)]
    """
    h, w = int(input_hw[0]), int(input_hw[1])
    shapes = []
    for i, (out, kernel, stride) in enumerate(filters):
        (kh, kw), (sh, sw) = _pair(kernel), _pair(stride)
        if i < len(filters) - 1:
            oh, ow = math.ceil(h / sh), math.ceil(w / sw)  # "same"
        else:
            oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1  # "valid"
        if oh < 1 or ow < 1:
            trail = " -> ".join(
                [f"{input_hw[0]}x{input_hw[1]}"] + [f"{sh_}x{sw_}" for _, sh_, sw_ in shapes]
            )
            raise ValueError(
                f"conv_filters layer {i} {list(filters[i])!r} gets a {h}x{w} input (sizes so "
                f"far: {trail}), smaller than its {kh}x{kw} kernel, so this last, unpadded "
                f"('valid') layer has no output. For {input_hw[0]}x{input_hw[1]} images use, "
                f"e.g.:\n"
                f'    "conv_filters": {get_filter_config(input_hw)!r}'
            )
        shapes.append((int(out), oh, ow))
        h, w = oh, ow
    return shapes


def conv_tower(in_channels: int, input_hw, filters, activation: str) -> nn.Sequential:
    """The conv layers of ``filters`` with their padding and activations: [B, C, H, W] in."""
    layers: list[nn.Module] = []
    h, w = int(input_hw[0]), int(input_hw[1])
    shapes = conv_output_shapes((h, w), filters)
    for i, ((out, kernel, stride), (_, oh, ow)) in enumerate(zip(filters, shapes)):
        (kh, kw), (sh, sw) = _pair(kernel), _pair(stride)
        padding = (0, 0)
        if i < len(filters) - 1:
            # "same": pad so that out = ceil(in / stride); like TF, the odd pixel goes
            # bottom/right. An even padding is the conv's own (no padded copy of the input:
            # 35 MB for a 256-row minibatch of 84x84x4 frames); an odd one needs ZeroPad2d.
            ph, pw = max((oh - 1) * sh + kh - h, 0), max((ow - 1) * sw + kw - w, 0)
            if ph % 2 == 0 and pw % 2 == 0:
                padding = (ph // 2, pw // 2)
                if ph or pw:  # keeps the layer numbers (state_dict keys) of the ZeroPad2d
                    layers.append(nn.Identity())
            else:
                layers.append(nn.ZeroPad2d((pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)))
        conv = reset_parameters_(
            skip_init(nn.Conv2d, in_channels, out, (kh, kw), (sh, sw), padding)
        )
        nn.init.orthogonal_(conv.weight, math.sqrt(2), generator=generator())
        nn.init.zeros_(conv.bias)
        layers += [conv, get_activation(activation)]
        in_channels, h, w = out, oh, ow
    return nn.Sequential(*layers)


class VisionNetwork(Model):
    """A conv net over image observations (RLlib's ``VisionNetwork``).

    | model_config key | effect |
    |---|---|
    | ``conv_filters``, ``conv_activation`` | the conv stack (None: ``get_filter_config``) |
    | ``post_fcnet_hiddens``, ``post_fcnet_activation`` | dense layers after the convs |
    | ``no_final_linear`` | the last layer (width num_outputs) is the output |
    | ``free_log_std`` | outputs num_outputs/2 means + a learned log std |
    | ``vf_share_layers`` | value head on the shared features, or its own conv tower |

    Shapes: ``input_dict["obs"]: [B, H, W, C]`` float32 -> outputs ``[B, num_outputs]``;
    ``value_function() -> [B]``. ``num_outputs=None`` builds a feature extractor (no logits,
    no value head; ``self.num_outputs`` becomes the feature width).
    ``self.layer_shapes`` lists ``(layer name, output shape without B)`` for printing.
    """

    def __init__(self, obs_space, action_space, num_outputs, model_config, name):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        cfg = self.model_config
        self._obs_shape = tuple(int(d) for d in obs_space.shape)
        if len(self._obs_shape) != 3:
            raise ValueError(
                f"model '{name}' (VisionNetwork) needs image observations [H, W, C]; got shape "
                f"{self._obs_shape}. Give grayscale frames a channel axis ([H, W, 1]) or use "
                f"FullyConnectedNetwork for flat observations"
            )
        H, W, C = self._obs_shape
        filters = [list(f) for f in (cfg["conv_filters"] or get_filter_config((H, W)))]
        try:
            conv_output_shapes((H, W), filters)
        except ValueError as error:
            raise ValueError(f"model '{name}' (VisionNetwork): {error}") from None
        post = list(cfg["post_fcnet_hiddens"])
        post_activations = [cfg["post_fcnet_activation"]] * len(post)
        num_means = num_mean_outputs(num_outputs, cfg, f"model '{name}'")
        policy_filters, policy_post = filters, post
        if num_means and cfg["no_final_linear"]:
            policy_filters, policy_post = self._output_layer_plan(filters, post, num_means)
        trunk, features, self.layer_shapes = self._trunk(
            policy_filters, policy_post, post_activations
        )
        self._trunk_net = trunk
        use_logits = bool(num_means) and not cfg["no_final_linear"]
        self._logits = linear(features, num_means, 0.01) if use_logits else None
        free_log_std = bool(num_means) and cfg["free_log_std"]
        self.log_std = nn.Parameter(torch.zeros(num_means)) if free_log_std else None
        if use_logits:
            self.layer_shapes.append(("logits", (num_means,)))
        if free_log_std:
            self.layer_shapes.append(("means + log_std", (num_outputs,)))
        if not num_outputs:
            self.num_outputs = features
        self._value_tower, self._value_head = value_branch(
            num_outputs,
            cfg["vf_share_layers"],
            features,
            lambda: self._trunk(filters, post, post_activations)[:2],
        )
        self._value_input = None
        self.to(memory_format=torch.channels_last)  # conv weights only: see the module doc

    def _output_layer_plan(self, filters, post, num_means):
        """no_final_linear: the last dense layer, or else the last conv, gets num_means units."""
        if post:
            return filters, post[:-1] + [num_means]
        filters = copy.deepcopy(filters)
        filters[-1][0] = num_means
        _, h, w = conv_output_shapes(self._obs_shape[:2], filters)[-1]
        if (h, w) != (1, 1):
            raise ValueError(
                f"model '{self.name}' (VisionNetwork): no_final_linear makes the last conv layer "
                f"the output, so it must reach 1x1, but it gives {h}x{w}. Pick conv_filters "
                f"that end at 1x1, e.g. {suggest_conv_filters(*self._obs_shape[:2])!r}, or set "
                f"no_final_linear=False"
            )
        return filters, post

    def _trunk(self, filters, post, post_activations):
        """Convs + flatten + post_fcnet layers: [B, C, H, W] -> [B, D]; returns (net, D, shapes)."""
        H, W, C = self._obs_shape
        shapes = conv_output_shapes((H, W), filters)
        convs = conv_tower(C, (H, W), filters, self.model_config["conv_activation"])
        c, h, w = shapes[-1]
        dense, width = mlp(c * h * w, post, post_activations)
        # [B, C', H', W'] -> [B, C'*H'*W']; at 1x1 this just drops the spatial axes.
        net = nn.Sequential(convs, nn.Flatten(), dense)
        layer_shapes = [("obs [H, W, C]", (H, W, C)), ("permute to [C, H, W]", (C, H, W))]
        for i, (f, shape) in enumerate(zip(filters, shapes)):
            padding = "same" if i < len(filters) - 1 else "valid"
            layer_shapes.append((f"conv{i + 1} {list(f)} {padding}", shape))
        layer_shapes.append(("squeeze 1x1" if (h, w) == (1, 1) else "flatten", (c * h * w,)))
        layer_shapes += [(f"fc{i + 1}", (n,)) for i, n in enumerate(post)]
        return net, width, layer_shapes

    def forward(self, input_dict, state, seq_lens):
        """Logits of the conv stack. Shapes: obs [B, H, W, C] -> [B, num_outputs]."""
        obs = input_dict["obs"]  # [B, H, W, C]
        if tuple(obs.shape[1:]) != self._obs_shape:
            raise ValueError(
                f"model '{self.name}' (VisionNetwork) was built for images "
                f"{list(self._obs_shape)} ([H, W, C]) but got obs of shape {list(obs.shape)}; "
                f"pass a batch [B, {', '.join(map(str, self._obs_shape))}]"
            )
        x = obs.permute(0, 3, 1, 2)  # [B, H, W, C] -> [B, C, H, W]
        features = self._trunk_net(x)  # [B, D]
        self._value_input = x if self._value_tower is not None else features
        return policy_outputs(features, self._logits, self.log_std), state

    def value_function(self) -> torch.Tensor:
        """Return ``[B]`` values for the observations of the last forward call."""
        return value_outputs(self, self._value_input, self._value_tower, self._value_head)

    def value_shares_forward(self) -> bool:
        """True with ``vf_share_layers``: the value head reads the forward's features."""
        return self._value_head is not None and self._value_tower is None
