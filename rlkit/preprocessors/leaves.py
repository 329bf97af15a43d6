"""The built-ins for plain (non-nested) spaces, and which one a space gets (``leaf_class``).

- ``NoPreprocessor``: Box that is not an image -> same shape, float32.
- ``AtariRamPreprocessor``: Atari's 128 RAM bytes -> ``(x - 128) / 128``.
- ``OneHotPreprocessor``: Discrete / MultiDiscrete / MultiBinary -> one-hot float32.
- ``ImagePreprocessor`` (rlkit.preprocessors.image): uint8 (H, W, C) frames.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlkit.preprocessors.base import (
    Preprocessor,
    _check_range,
    _LeafPreprocessor,
    _reject_framestack,
)
from rlkit.preprocessors.image import ImagePreprocessor
from rlkit.spaces import (
    children,
    is_image_space,
    leaf_paths,
    one_hot,
    path_str,
)


class NoPreprocessor(_LeafPreprocessor):
    """Box observations that are not images: passed through, cast to float32."""

    def _init_shape(self, obs_space: gym.Space, options: dict) -> tuple:
        _reject_framestack(options)
        if not isinstance(obs_space, gym.spaces.Box):
            raise TypeError(f"NoPreprocessor takes a Box space, got {obs_space}")
        return obs_space.shape

    def _compute(self, batch: np.ndarray) -> np.ndarray:
        return batch.astype(np.float32, copy=False)

    def _bounds(self) -> tuple[Any, Any]:
        with np.errstate(over="ignore"):  # a float64 bound beyond float32 becomes +-inf
            return self._obs_space.low.astype(np.float32), self._obs_space.high.astype(np.float32)


class AtariRamPreprocessor(NoPreprocessor):
    """Atari RAM (``Box(0, 255, (128,), uint8)``): bytes scaled to [-1, 1) as ``(x - 128) / 128``.

    This is RLlib's AtariRamPreprocessor, so the network sees centred inputs of unit scale.
    """

    def _compute(self, batch: np.ndarray) -> np.ndarray:
        return (batch.astype(np.float32) - 128.0) / 128.0  # [B, 128] uint8 -> float32

    def _bounds(self) -> tuple[Any, Any]:
        return np.full(128, -1.0, np.float32), np.full(128, 127 / 128, np.float32)


def is_atari_ram_space(space: gym.Space) -> bool:
    """True for the 128 bytes of an Atari console's RAM (ALE's ``obs_type="ram"``)."""
    return (
        isinstance(space, gym.spaces.Box)
        and space.shape == (128,)
        and space.dtype == np.uint8
        and bool(np.all(space.low == 0) and np.all(space.high == 255))
    )


class OneHotPreprocessor(_LeafPreprocessor):
    """Discrete(n) -> one-hot (n,); MultiDiscrete(nvec) -> one-hots concatenated (sum(nvec),).

    MultiBinary gives its 0/1 entries as float32. Discrete's ``start`` maps to index 0.
    """

    _kinds = "biu"
    _what = "integers"

    def _init_shape(self, obs_space: gym.Space, options: dict) -> tuple:
        _reject_framestack(options)
        if isinstance(obs_space, gym.spaces.Discrete):
            return (int(obs_space.n),)
        if isinstance(obs_space, gym.spaces.MultiDiscrete):
            return (int(obs_space.nvec.sum()),)
        if isinstance(obs_space, gym.spaces.MultiBinary):
            return (int(np.prod(obs_space.shape)),)
        raise TypeError(
            f"OneHotPreprocessor takes Discrete/MultiDiscrete/MultiBinary, got {obs_space}"
        )

    def _compute(self, batch: np.ndarray) -> np.ndarray:
        space, where = self._obs_space, path_str(self._path)
        B = batch.shape[0]
        if isinstance(space, gym.spaces.MultiBinary):
            _check_range(batch, 0, 1, where, space)
            return batch.reshape(B, -1).astype(np.float32)  # [B, prod(shape)]
        if isinstance(space, gym.spaces.Discrete):
            _check_range(batch, space.start, space.start + space.n - 1, where, space)
            return one_hot(batch.astype(np.int64) - space.start, int(space.n))  # [B, n]
        start, nvec = space.start.reshape(-1), space.nvec.reshape(-1)  # [K] each
        values = batch.reshape(B, -1).astype(np.int64)  # [B, K]
        _check_range(values, start, start + nvec - 1, where, space)
        # Each position k owns the columns offsets[k] .. offsets[k] + nvec[k] - 1.
        offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]])  # [K]
        out = np.zeros((B, self.size), dtype=np.float32)
        out[np.arange(B)[:, None], offsets + values - start] = 1.0
        return out

    def _bounds(self) -> tuple[Any, Any]:
        return 0.0, 1.0


def _leaf_class(space: gym.Space) -> type[Preprocessor] | None:
    """The built-in for a non-nested space, or None when there is none."""
    if isinstance(space, (gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)):
        return OneHotPreprocessor
    if isinstance(space, gym.spaces.Box):
        if is_atari_ram_space(space):
            return AtariRamPreprocessor
        return ImagePreprocessor if is_image_space(space) else NoPreprocessor
    return None


def _supported(space: gym.Space) -> bool:
    return all(_leaf_class(leaf) is not None for _, leaf in leaf_paths(space))


def _check_supported(space: gym.Space, prefix: tuple = ()) -> None:
    """Raise ValueError naming the first leaf of ``space`` that no built-in can encode."""
    for path, leaf in leaf_paths(space, prefix):
        if _leaf_class(leaf) is not None:
            continue
        if isinstance(space, gym.spaces.Dict) and not prefix:
            keep = [key for key, child in children(space) if _supported(child)]
            fix = f"gymnasium.wrappers.FilterObservation(env, {keep!r}) to drop it"
        else:
            fix = "a gymnasium.wrappers.TransformObservation that encodes it as a Box"
        raise ValueError(
            f"{path_str(path)} is {leaf}, which has no built-in preprocessor (rlkit encodes Box, "
            "Discrete, MultiDiscrete and MultiBinary, nested in Tuple/Dict). Wrap the env with "
            f"{fix}, or register a custom preprocessor with "
            "ModelCatalog.register_custom_preprocessor(name, cls) and set model config "
            "'custom_preprocessor' to its name"
        )
