"""Preprocessors: turn a raw gymnasium observation into a float32 array a model can read.

    Environment -> [Preprocessor] -> Filter -> Model -> ActionDistribution -> action

Built-ins, picked by ``get_preprocessor(space)`` from the space type alone:

- ``NoPreprocessor``: Box that is not an image -> same shape, float32.
- ``OneHotPreprocessor``: Discrete(n) -> one-hot ``(n,)``; MultiDiscrete(nvec) -> one-hots
  concatenated ``(sum(nvec),)``; MultiBinary(n) -> ``(n,)`` of 0.0 / 1.0.
- ``ImagePreprocessor``: uint8 Box (H, W, C) -> ``(dim, dim, C)`` scaled to about [-1, 1].
- ``TupleFlatteningPreprocessor`` / ``DictFlatteningPreprocessor``: each leaf by its own
  built-in, concatenated in canonical order. The ``observation_space`` keeps
  ``original_space`` and ``leaf_shapes``, from which ``restore_original_dimensions`` cuts the
  flat model input back into the nested layout.

A custom preprocessor subclasses ``Preprocessor`` and implements ``_init_shape`` and
``transform`` (one observation); ``transform_batch`` then loops over a batch for it. The
built-ins work on whole batches with numpy instead, because they run at every env step.

The package: ``base`` (the base classes), ``leaves`` (plain spaces and the dispatch), ``image``
(frames), ``nested`` (Tuple/Dict and ``restore_original_dimensions``); this module picks one.
"""

from __future__ import annotations

import gymnasium as gym

from rlkit.preprocessors.base import Preprocessor
from rlkit.preprocessors.image import ByteScale, ImagePreprocessor
from rlkit.preprocessors.leaves import (
    AtariRamPreprocessor,
    NoPreprocessor,
    OneHotPreprocessor,
    _check_supported,
    _leaf_class,
    _supported,
    is_atari_ram_space,
)
from rlkit.preprocessors.nested import (
    DictFlatteningPreprocessor,
    TupleFlatteningPreprocessor,
    restore_original_dimensions,
)

__all__ = [
    "AtariRamPreprocessor",
    "ByteScale",
    "DictFlatteningPreprocessor",
    "ImagePreprocessor",
    "NoPreprocessor",
    "OneHotPreprocessor",
    "Preprocessor",
    "TupleFlatteningPreprocessor",
    "_supported",
    "get_preprocessor",
    "is_atari_ram_space",
    "restore_original_dimensions",
]


def get_preprocessor(space: gym.Space) -> type[Preprocessor]:
    """Return the built-in preprocessor class for ``space``.

    Raises:
        ValueError: ``space`` (or a part of it) has no built-in: names the part and the fix.
        TypeError: ``space`` is not a gymnasium space.
    """
    if not isinstance(space, gym.Space):
        raise TypeError(f"get_preprocessor takes a gymnasium space, got {type(space).__name__}")
    _check_supported(space)
    if isinstance(space, gym.spaces.Tuple):
        return TupleFlatteningPreprocessor
    if isinstance(space, gym.spaces.Dict):
        return DictFlatteningPreprocessor
    return _leaf_class(space)
