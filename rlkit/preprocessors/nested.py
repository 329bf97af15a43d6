"""Tuple and Dict observations: each leaf by its own built-in, concatenated; and back.

The flat vector follows the canonical order (depth first, Dict keys sorted). The
``observation_space`` keeps ``original_space`` and ``leaf_shapes``, from which
``restore_original_dimensions`` cuts a flat model input back into the nested layout.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlkit.preprocessors.base import Preprocessor
from rlkit.preprocessors.leaves import _check_supported, _leaf_class
from rlkit.spaces import (
    build_nested,
    check_structure,
    get_at,
    is_nested,
    leaf_paths,
    path_str,
)


class TupleFlatteningPreprocessor(Preprocessor):
    """Tuple/Dict spaces: every leaf preprocessed by its own built-in, outputs concatenated.

    The vector follows the canonical order: depth first, Dict keys sorted.
    """

    _space_type = gym.spaces.Tuple

    def _init_shape(self, obs_space: gym.Space, options: dict) -> tuple:
        if not isinstance(obs_space, self._space_type):
            raise TypeError(
                f"{type(self).__name__} takes a {self._space_type.__name__} space, got {obs_space}"
            )
        _check_supported(obs_space, self._path)
        # One built-in per leaf: (path relative to this space, preprocessor with absolute path).
        self._leaves = [
            (rel, _leaf_class(leaf)(leaf, options, path=self._path + rel))
            for rel, leaf in leaf_paths(obs_space)
        ]
        return (sum(prep.size for _, prep in self._leaves),)

    def transform(self, observation: Any) -> np.ndarray:
        """One nested observation -> float32 (size,)."""
        return self._flatten(observation, batched=False)[0]

    def transform_batch(self, observations: Any) -> np.ndarray:
        """A vector env's nested batch (leaves [B, ...]) -> float32 [B, size]."""
        if type(self).transform is not TupleFlatteningPreprocessor.transform:  # redefined
            return super().transform_batch(observations)
        return self._flatten(observations, batched=True)

    def _flatten(self, obs: Any, batched: bool) -> np.ndarray:
        check_structure(obs, self._obs_space, self._path)
        parts = [prep._checked(get_at(obs, rel), batched) for rel, prep in self._leaves]
        B = parts[0].shape[0]
        for (_, prep), part in zip(self._leaves, parts):
            if part.shape[0] != B:
                raise ValueError(
                    f"{path_str(prep._path)} has a batch of {part.shape[0]} but "
                    f"{path_str(self._leaves[0][1]._path)} has {B}; every part needs the same B"
                )
        return np.concatenate([part.reshape(B, -1) for part in parts], axis=1)  # [B, size]

    def _bounds(self) -> tuple[Any, Any]:
        spaces = [prep.observation_space for _, prep in self._leaves]
        low = np.concatenate([s.low.reshape(-1) for s in spaces])
        return low, np.concatenate([s.high.reshape(-1) for s in spaces])

    def _make_observation_space(self) -> gym.spaces.Box:
        space = super()._make_observation_space()
        space.leaf_shapes = tuple(prep.shape for _, prep in self._leaves)
        return space


class DictFlatteningPreprocessor(TupleFlatteningPreprocessor):
    """Dict spaces: every leaf preprocessed by its own built-in, keys sorted, concatenated."""

    _space_type = gym.spaces.Dict


def restore_original_dimensions(
    obs: torch.Tensor, obs_space: gym.Space, tensorlib: Any = "torch"
) -> Any:
    """Cut a flat model input back into the layout of the raw observation space.

    Args:
        obs: ``[B, size]`` (or ``[B, *obs_space.shape]``), any float dtype and device.
        obs_space: a preprocessor's ``observation_space``.
        tensorlib: RLlib's argument: "torch" or the torch module (rlkit is PyTorch only).

    Returns:
        For a flattened Tuple/Dict space, the same tuple/dict nesting as
        ``obs_space.original_space`` holding views of ``obs``: a Box leaf as
        ``[B, *leaf_shape]`` (after its own preprocessing, e.g. ``[B, 84, 84, 3]``), a Discrete
        leaf one-hot ``[B, n]``. Otherwise ``obs`` reshaped to ``[B, *obs_space.shape]``.
    """
    if tensorlib not in ("torch", torch):
        raise ValueError(
            f"restore_original_dimensions: tensorlib={tensorlib!r}; rlkit is PyTorch only"
        )
    # math.prod, not np.prod: this runs on every minibatch, and on shapes np.prod is 10x slower.
    B, size = obs.shape[0], math.prod(obs.shape[1:])
    leaf_shapes = getattr(obs_space, "leaf_shapes", None)
    expected = math.prod(obs_space.shape)
    if size != expected:
        raise ValueError(
            f"restore_original_dimensions got obs of shape {tuple(obs.shape)} ({size} values per "
            f"row) but {obs_space} has {expected}; pass the preprocessed batch [B, {expected}]"
        )
    original = getattr(obs_space, "original_space", None)
    if leaf_shapes is None or original is None or not is_nested(original):
        return obs.reshape(B, *obs_space.shape)
    flat = obs.reshape(B, size)  # [B, size]
    leaves, start = [], 0
    for shape in leaf_shapes:
        width = int(np.prod(shape, dtype=np.int64))
        leaves.append(flat[:, start : start + width].reshape(B, *shape))  # [B, *leaf_shape]
        start += width
    return build_nested(original, leaves)
