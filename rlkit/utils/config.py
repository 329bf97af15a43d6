"""Model configuration: RLlib's model keys, their defaults, and validation that teaches.

Every key a user can put under ``config["model"]`` is listed in ``MODEL_DEFAULTS``. An unknown
key is an error that proposes the closest valid key, so a typo such as ``fcnet_hidden`` never
silently falls back to a default.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Mapping
from typing import Any

MODEL_DEFAULTS: dict[str, Any] = {
    # Fully connected network (FullyConnectedNetwork).
    "fcnet_hiddens": [256, 256],
    "fcnet_activation": "tanh",
    # Vision network (VisionNetwork): a list of [out_channels, kernel, stride]; None picks a
    # default stack for the input size.
    "conv_filters": None,
    "conv_activation": "relu",
    # Dense layers after the fcnet/conv stack, before the logits.
    "post_fcnet_hiddens": [],
    "post_fcnet_activation": "relu",
    # For DiagGaussian outputs: learn a state-independent log std instead of outputting it.
    "free_log_std": False,
    # The last hidden layer is the output layer (no extra linear logits layer).
    "no_final_linear": False,
    # Whether the value function shares the hidden layers with the policy.
    "vf_share_layers": True,
    # LSTM wrapper around the model.
    "use_lstm": False,
    "max_seq_len": 20,
    "lstm_cell_size": 256,
    "lstm_use_prev_action": False,
    "lstm_use_prev_reward": False,
    # Image preprocessing.
    "dim": 84,
    "grayscale": False,
    "zero_mean": True,
    # Frames per observation in the DeepMind preprocessing of ALE/* ids (rlkit.atari): True is
    # DeepMind's 4, a number that many, False one frame. Other envs stack in a wrapper.
    "framestack": True,
    # Custom components, by registered name (see ModelCatalog.register_custom_*).
    "custom_model": None,
    "custom_model_config": {},
    "custom_action_dist": None,
    "custom_preprocessor": None,
}

ACTIVATIONS = ("tanh", "relu", "elu", "swish", "silu", "gelu", "sigmoid", "linear")


def suggest(key: str, valid: Iterable[str], cutoff: float = 0.5) -> str:
    """Return ' (did you mean 'x'?)' for the closest valid key, or '' when nothing is close.

    ``cutoff`` is difflib's similarity ratio a suggestion must reach (1.0: identical).
    """
    close = difflib.get_close_matches(key, list(valid), n=1, cutoff=cutoff)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_keys(given: Mapping[str, Any], valid: Iterable[str], where: str) -> None:
    """Raise ValueError for the first key of ``given`` that is not in ``valid``.

    Args:
        given: the user's dict.
        valid: the accepted keys.
        where: how the dict is called in the message, e.g. ``"model config"``.
    """
    valid = list(valid)
    for key in given:
        if key not in valid:
            raise ValueError(
                f"unknown key '{key}' in {where}{suggest(str(key), valid)}; "
                f"valid keys are: {', '.join(sorted(valid))}"
            )


def _is_int_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
    )


def _check_conv_filters(value: Any) -> None:
    if value is None:
        return
    ok = isinstance(value, (list, tuple)) and len(value) > 0
    for layer in value if ok else []:
        if not (isinstance(layer, (list, tuple)) and len(layer) == 3):
            ok = False
            break
        out, kernel, stride = layer
        kernel_ok = (isinstance(kernel, int) and kernel > 0) or (
            _is_int_list(kernel) and len(kernel) == 2
        )
        stride_ok = (isinstance(stride, int) and stride > 0) or (
            _is_int_list(stride) and len(stride) == 2
        )
        if not (isinstance(out, int) and out > 0 and kernel_ok and stride_ok):
            ok = False
            break
    if not ok:
        raise ValueError(
            f"model config key 'conv_filters' takes a list of [out_channels, kernel, stride] "
            f"layers, e.g. [[16, [8, 8], 4], [32, [4, 4], 2]]; got {value!r}"
        )


def merge_model_config(model_config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return MODEL_DEFAULTS updated with ``model_config``, after checking every key and value.

    Raises:
        ValueError: an unknown key (with the closest valid one) or a value of the wrong
            type or range (naming the key and what it takes).
    """
    model_config = dict(model_config or {})
    check_keys(model_config, MODEL_DEFAULTS, "model config")
    merged = copy.deepcopy(MODEL_DEFAULTS)
    merged.update(copy.deepcopy(model_config))

    _check_layer_widths(merged)
    _check_activations(merged)
    _check_scalars(merged)
    _check_conv_filters(merged["conv_filters"])
    if not isinstance(merged["custom_model_config"], Mapping):
        raise ValueError(
            "model config key 'custom_model_config' takes a dict of keyword arguments for the "
            f"custom model; got {merged['custom_model_config']!r}"
        )
    merged["custom_model_config"] = dict(merged["custom_model_config"])
    return merged


def _check_layer_widths(merged: dict[str, Any]) -> None:
    """Check the hidden layer widths, and store them as lists."""
    for key in ("fcnet_hiddens", "post_fcnet_hiddens"):
        if not (
            isinstance(merged[key], (list, tuple))
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in merged[key])
        ):
            raise ValueError(
                f"model config key '{key}' takes a list of positive layer widths such as "
                f"[64, 64]; got {merged[key]!r}"
            )
        merged[key] = list(merged[key])


def _check_activations(merged: dict[str, Any]) -> None:
    """Check the activation names, and store None as "linear"."""
    for key in ("fcnet_activation", "conv_activation", "post_fcnet_activation"):
        value = merged[key]
        if value is None:
            merged[key] = "linear"
        elif value not in ACTIVATIONS:
            raise ValueError(
                f"model config key '{key}' takes one of {', '.join(ACTIVATIONS)}; got "
                f"{value!r}{suggest(str(value), ACTIVATIONS)}"
            )


def _check_scalars(merged: dict[str, Any]) -> None:
    """Check the positive ints, the True/False switches and ``framestack``."""
    for key in ("max_seq_len", "lstm_cell_size", "dim"):
        value = merged[key]
        if not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
            raise ValueError(f"model config key '{key}' takes a positive int; got {value!r}")
    for key in (
        "free_log_std",
        "no_final_linear",
        "vf_share_layers",
        "use_lstm",
        "lstm_use_prev_action",
        "lstm_use_prev_reward",
        "grayscale",
        "zero_mean",
    ):
        if not isinstance(merged[key], bool):
            raise ValueError(f"model config key '{key}' takes True or False; got {merged[key]!r}")
    framestack = merged["framestack"]
    if not (isinstance(framestack, bool) or (isinstance(framestack, int) and framestack > 1)):
        raise ValueError(
            f"model config key 'framestack' takes True (4 frames), False or a number of frames "
            f"> 1; got {framestack!r}"
        )
