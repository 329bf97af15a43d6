"""rlkit models: the networks between the filter and the action distribution.

``Model`` and ``RecurrentModel`` are the base classes for custom models; the built-ins are
``FullyConnectedNetwork`` (flat observations), ``VisionNetwork`` (images) and
``LSTMWrapper`` (``use_lstm``); ``ComplexInputNetwork`` (RLlib's, for Dict/Tuple
observations with images). ``sequences`` cuts rollouts into padded sequences for
recurrent models.
"""

from rlkit.models.base import Model, RecurrentModel
from rlkit.models.complex_input import ComplexInputNetwork
from rlkit.models.fcnet import FullyConnectedNetwork, get_activation
from rlkit.models.lstm import LSTMWrapper
from rlkit.models.sequences import (
    add_time_dimension,
    chop_into_sequences,
    mask,
    pad_batch,
    sequence_lengths,
)
from rlkit.models.visionnet import (
    VisionNetwork,
    conv_output_shapes,
    get_filter_config,
    suggest_conv_filters,
)

__all__ = [
    "Model",
    "RecurrentModel",
    "FullyConnectedNetwork",
    "VisionNetwork",
    "ComplexInputNetwork",
    "LSTMWrapper",
    "get_activation",
    "get_filter_config",
    "conv_output_shapes",
    "suggest_conv_filters",
    "chop_into_sequences",
    "sequence_lengths",
    "pad_batch",
    "mask",
    "add_time_dimension",
]
